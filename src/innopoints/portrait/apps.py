from django.apps import AppConfig


class PortraitConfig(AppConfig):
    name = "innopoints.portrait"
    label = "portrait"
    verbose_name = "Enterprise portrait (一企一像), guidance, corrections"
