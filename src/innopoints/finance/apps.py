from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "innopoints.finance"
    label = "finance"
    verbose_name = "Finance"
