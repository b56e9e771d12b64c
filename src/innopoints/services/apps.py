from django.apps import AppConfig


class ServicesConfig(AppConfig):
    name = "innopoints.services"
    label = "services"
    verbose_name = "Zone services"
