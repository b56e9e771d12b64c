from django.apps import AppConfig


class EnterprisesConfig(AppConfig):
    name = "innopoints.enterprises"
    label = "enterprises"
    verbose_name = "Enterprise data"
