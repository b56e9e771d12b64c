from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "innopoints.audit"
    label = "audit"
    verbose_name = "Audit trail"
