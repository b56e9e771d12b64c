from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "innopoints.inbox"
    label = "inbox"
    verbose_name = "Inbox"
