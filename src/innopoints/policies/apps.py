from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "innopoints.policies"
    label = "policies"
    verbose_name = "Policies"
