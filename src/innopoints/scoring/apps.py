from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "innopoints.scoring"
    label = "scoring"
    verbose_name = "Scoring: model versions, runs, results"
