from django.apps import AppConfig


class ZonesConfig(AppConfig):
    name = "innopoints.zones"
    label = "zones"
    verbose_name = "Zones and banks"
