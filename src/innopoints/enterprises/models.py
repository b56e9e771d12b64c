"""Enterprises, their yearly data, qualifications and negative records (data standard §1–§2).

The yearly columns are generated from the field catalogue, so the standard is written
down once (`innopoints.standard.catalogue.YEARLY_FIELDS`). Zone custom fields live in
`YearlyData.custom` (a JSON object keyed by field code). Derived indicators are never
stored: `innopoints.standard.derived.derive` computes them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from innopoints.standard.catalogue import (
    NEGATIVE_TYPES,
    QUALIFICATION_TYPES,
    YEARLY_FIELDS,
    Field,
    Kind,
)

ENTERPRISE_COLUMNS = (
    "uscc",
    "name",
    "industry_code",
    "region_code",
    "registered_on",
    "registered_capital",
    "listing_status",
    "niche_years",
)
YEARLY_COLUMNS = tuple(f.code for f in YEARLY_FIELDS if f.code != "year")


def _localised(names: dict[str, tuple[str, str]], code: str) -> str:
    """The (Chinese, English) name of a code in the active language; the code if unknown."""
    zh, en = names.get(code, (code, code))
    return en if (get_language() or "").startswith("en") else zh


class ImportBatch(models.Model):
    """One import of a file: what it was, how it went, and its error report."""

    class Mode(models.TextChoices):
        STRICT = "strict"
        VALID_ROWS = "valid-rows"

    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT)
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    mode = models.CharField(max_length=12, choices=Mode.choices)
    dry_run = models.BooleanField(default=False)
    created_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    counts = models.JSONField(default=dict)
    errors = models.PositiveIntegerField(default=0)
    warnings = models.PositiveIntegerField(default=0)
    written = models.BooleanField(default=False)
    report_path = models.CharField(max_length=500, blank=True)
    file_error = models.JSONField(null=True, blank=True)
    issue_sample = models.JSONField(default=list, blank=True)  # the first issues, for the page

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"


class Enterprise(models.Model):
    """An enterprise of a zone; `uscc` is the registry's key across zones."""

    class Listing(models.TextChoices):
        NONE = "none", _("Not listed")
        RESERVE = "reserve", _("Listing reserve")
        LISTED = "listed", _("Listed")

    uscc = models.CharField(max_length=18, unique=True)
    name = models.CharField(max_length=100, db_index=True)
    zone = models.ForeignKey("zones.Zone", on_delete=models.PROTECT, related_name="enterprises")
    industry_code = models.CharField(max_length=5, blank=True, db_index=True)
    region_code = models.CharField(max_length=6, blank=True)
    registered_on = models.DateField(null=True, blank=True)
    registered_capital = models.FloatField(null=True, blank=True)
    listing_status = models.CharField(max_length=8, choices=Listing.choices, blank=True, default="")
    niche_years = models.FloatField(null=True, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(registered_capital__isnull=True) | Q(registered_capital__gte=0),
                name="enterprise_capital_nonnegative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def industry_section(self) -> str:
        return self.industry_code[:1]


def _model_field(f: Field) -> models.Field:
    if f.kind == Kind.INT:
        return models.BigIntegerField(null=True, blank=True)
    if f.kind in (Kind.MONEY, Kind.NUMBER, Kind.RATIO):
        return models.FloatField(null=True, blank=True)
    if f.kind == Kind.ENUM:
        return models.CharField(
            max_length=16, blank=True, default="", choices=[(c, c) for c in f.choices]
        )
    raise TypeError(f"no model column for {f.code} ({f.kind})")


def _not_above(low: str, high: str) -> Q:
    return (
        Q(**{f"{low}__isnull": True})
        | Q(**{f"{high}__isnull": True})
        | Q(**{f"{low}__lte": F(high)})
    )


_CROSS_FIELD = (
    ("tech_staff", "staff_total"),
    ("rd_staff", "staff_total"),
    ("main_revenue", "revenue"),
    ("high_tech_revenue", "revenue"),
    ("export_revenue", "revenue"),
    ("rd_expense_domestic", "rd_expense"),
)


class YearlyData(models.Model):
    """One enterprise's data for one year; columns generated from the catalogue."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField()
    custom = models.JSONField(default=dict, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["enterprise_id", "year"]
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "year"], name="unique_enterprise_year"),
            models.CheckConstraint(condition=Q(year__gte=2000), name="yearly_year_from_2000"),
            *[
                models.CheckConstraint(
                    condition=_not_above(low, high), name=f"yearly_{low}_le_{high}"
                )
                for low, high in _CROSS_FIELD
            ],
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{f.code}__isnull": True}) | Q(**{f"{f.code}__gte": 0}),
                    name=f"yearly_{f.code}_nonnegative",
                )
                for f in YEARLY_FIELDS
                if f.code != "year" and f.minimum == 0
            ],
        ]

    def __str__(self) -> str:
        return f"{self.enterprise_id}/{self.year}"


for _field in YEARLY_FIELDS:
    if _field.code != "year":
        YearlyData.add_to_class(_field.code, _model_field(_field))


class Qualification(models.Model):
    """A qualification (资质) held between `valid_from` and `valid_until` inclusive."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="qualifications"
    )
    type = models.CharField(max_length=32)
    certificate_no = models.CharField(max_length=64, blank=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["enterprise_id", "type", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "type", "valid_from"], name="unique_qualification"
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="qualification_validity_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type_label} {self.valid_from}–{self.valid_until or ''}"

    @property
    def type_label(self) -> str:
        return _localised(QUALIFICATION_TYPES, self.type)

    def valid_on(self, day) -> bool:
        """Whether the qualification counts on `day`."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class NegativeRecord(models.Model):
    """A negative record (负面记录), active from `occurred_on` until `cleared_on`."""

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="negatives")
    type = models.CharField(max_length=32, choices=[(k, v[1]) for k, v in NEGATIVE_TYPES.items()])
    occurred_on = models.DateField()
    cleared_on = models.DateField(null=True, blank=True)
    import_batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["enterprise_id", "occurred_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise", "type", "occurred_on"], name="unique_negative_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type_label} {self.occurred_on}"

    @property
    def type_label(self) -> str:
        return _localised(NEGATIVE_TYPES, self.type)
