from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "innopoints.portal"
    label = "portal"
    verbose_name = "Zone portal: dashboard, rankings, portraits"
