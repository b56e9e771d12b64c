from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "innopoints.web"
    label = "web"
    verbose_name = "Web pages shared by all apps"
