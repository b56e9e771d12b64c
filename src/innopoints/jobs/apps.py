from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "innopoints.jobs"
    label = "jobs"
    verbose_name = "Background jobs"
