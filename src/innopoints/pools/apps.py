from django.apps import AppConfig


class PoolsConfig(AppConfig):
    name = "innopoints.pools"
    label = "pools"
    verbose_name = "Cultivation pools"
