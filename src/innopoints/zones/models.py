"""Zones (园区), banks shared across zones, their partnerships, and zone custom fields."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from innopoints.standard.catalogue import Field, Kind, custom_field
from innopoints.standard.stages import DEFAULT_STAGE_SCHEME, StageScheme


class Zone(models.Model):
    """A high-tech zone that runs the platform for its enterprises."""

    class Level(models.TextChoices):
        NATIONAL = "national", _("National high-tech zone")
        PROVINCIAL = "provincial", _("Provincial high-tech zone")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150, blank=True)
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.NATIONAL)
    region_code = models.CharField(max_length=6)
    stage_scheme = models.JSONField(null=True, blank=True)
    data_version = models.PositiveBigIntegerField(default=0)
    # bumped by every pool create/update (`pools.actions`): the live path's pool cache key
    pools_version = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def stage_scheme_obj(self) -> StageScheme:
        """The zone's stage scheme, or the project default."""
        return (
            StageScheme.from_data(self.stage_scheme) if self.stage_scheme else DEFAULT_STAGE_SCHEME
        )

    def custom_fields(self) -> list[Field]:
        """The zone's custom fields as catalogue fields."""
        return [cf.as_field() for cf in self.customfield_set.all()]


class Bank(models.Model):
    """A bank organisation; shared across zones, partnering with some of them."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    name_en = models.CharField(max_length=150, blank=True)
    zones = models.ManyToManyField(Zone, through="Partnership", related_name="banks")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Partnership(models.Model):
    """A bank's partnership with a zone."""

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE)
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE)
    since = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bank", "zone"], name="unique_bank_zone"),
        ]

    def __str__(self) -> str:
        return f"{self.bank_id}↔{self.zone_id}"


class CustomField(models.Model):
    """A zone's own yearly field (自定义字段)."""

    zone = models.ForeignKey(Zone, on_delete=models.CASCADE)
    code = models.CharField(max_length=40)
    label_zh = models.CharField(max_length=60)
    label_en = models.CharField(max_length=80)
    kind = models.CharField(
        max_length=10,
        choices=[
            (k.value, k.value)
            for k in (
                Kind.INT,
                Kind.MONEY,
                Kind.NUMBER,
                Kind.RATIO,
                Kind.TEXT,
                Kind.ENUM,
                Kind.BOOL,
                Kind.DATE,
            )
        ],
    )
    unit_zh = models.CharField(max_length=20, blank=True)
    unit_en = models.CharField(max_length=20, blank=True)
    minimum = models.FloatField(null=True, blank=True)
    maximum = models.FloatField(null=True, blank=True)
    choices = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["zone", "code"], name="unique_zone_custom_field"),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def as_field(self) -> Field:
        """This custom field as a catalogue `Field`."""
        return custom_field(
            self.code,
            self.label_zh,
            self.label_en,
            self.kind,
            self.unit_zh,
            self.unit_en,
            self.minimum,
            self.maximum,
            tuple(self.choices or ()),
        )
