"""Writes of the portrait app: data corrections. Each runs in one transaction and is audited.

- `do_submit_correction`: the firm asks to change one yearly field of one year.
- `do_approve_correction`: a zone admin approves; the value is written through the import
  action (`apply_registry` with a one-row frame, which audits old and new value) under an
  import batch named after the correction, then the year is re-scored with a new scoring
  run (`do_start_scoring_run`, after the commit).
- `do_reject_correction`: a zone admin rejects with a reason; the data stay as they are.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

import polars as pl
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from innopoints.audit.actions import record
from innopoints.enterprises.actions import apply_registry
from innopoints.enterprises.models import ImportBatch
from innopoints.portrait.models import Correction
from innopoints.scoring.actions import ScoringError, do_start_scoring_run
from innopoints.standard.catalogue import YEARLY_FIELDS, Field, Kind

CORRECTABLE_KINDS = (Kind.INT, Kind.MONEY, Kind.NUMBER, Kind.RATIO, Kind.ENUM)


class CorrectionError(ValueError):
    """A correction that cannot be submitted or reviewed (the message is for the user)."""


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def correctable_fields() -> dict[str, Field]:
    """The yearly fields of the data standard a firm may ask to correct."""
    return {f.code: f for f in YEARLY_FIELDS if f.code != "year" and f.kind in CORRECTABLE_KINDS}


def parse_value(field: Field, value: Any) -> Any:
    """A submitted value typed by the field's kind and checked against its bounds.

    An empty value means "no value" (None). Raises `CorrectionError`.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None
    if field.kind == Kind.ENUM:
        text = str(value).strip()
        if text not in field.choices:
            raise CorrectionError(
                _("%(value)s is not one of: %(choices)s")
                % {"value": text, "choices": ", ".join(field.choices)}
            )
        return text
    try:
        number = float(str(value).strip().replace(",", "")) if isinstance(value, str) else value
        number = float(number)
    except (TypeError, ValueError) as exc:
        raise CorrectionError(_("%(value)s is not a number.") % {"value": value}) from exc
    if not math.isfinite(number):
        raise CorrectionError(_("%(value)s is not a number.") % {"value": value})
    if field.kind == Kind.INT:
        if number != int(number):
            raise CorrectionError(_("%(value)s is not a whole number.") % {"value": value})
        number = int(number)
    if field.minimum is not None and number < field.minimum:
        raise CorrectionError(
            _("The value must be at least %(min)s.") % {"min": f"{field.minimum:g}"}
        )
    if field.maximum is not None and number > field.maximum:
        raise CorrectionError(
            _("The value must be at most %(max)s.") % {"max": f"{field.maximum:g}"}
        )
    return number


def current_value(enterprise, year: int, field: str) -> Any:
    """The firm's stored value of a yearly field (None when the year or value is absent)."""
    row = enterprise.years.filter(year=year).values_list(field, flat=True).first()
    return None if row == "" else row


def do_submit_correction(
    actor, enterprise, year: int, field: str, value: Any, note: str = ""
) -> Correction:
    """Record the firm's request to change `field` of `year` to `value` (audited)."""
    fields = correctable_fields()
    if field not in fields:
        raise CorrectionError(_("%(field)s is not a yearly data field.") % {"field": field})
    if not 2000 <= int(year) <= 2100:
        raise CorrectionError(_("The year must be between 2000 and 2100."))
    new = parse_value(fields[field], value)
    old = current_value(enterprise, year, field)
    if old == new or (
        isinstance(old, float) and isinstance(new, int | float) and math.isclose(old, new)
    ):
        raise CorrectionError(_("The new value is the same as the stored one."))
    with transaction.atomic():
        correction = Correction.objects.create(
            zone_id=enterprise.zone_id,
            enterprise=enterprise,
            year=year,
            field=field,
            old_value=old,
            new_value=new,
            note=(note or "").strip()[:2000],
            submitted_by=_user(actor),
        )
        record(
            actor,
            "portrait.correction.submit",
            correction,
            zone=enterprise.zone,
            object_repr=f"{enterprise.uscc} {year} {field}",
            changes={field: [old, new]},
            detail={"uscc": enterprise.uscc, "year": year, "note": correction.note},
        )
    return correction


def _one_row_frame(uscc: str, year: int, field: Field, value: Any) -> pl.DataFrame:
    return pl.DataFrame(
        {"uscc": [uscc], "year": [year], field.code: [value]},
        schema={"uscc": pl.String, "year": pl.Int64, field.code: field.polars_dtype},
    )


def do_approve_correction(actor, correction: Correction) -> Correction:
    """Apply a submitted correction through the import action and re-score its year.

    The write and the review are one transaction; the new scoring run starts after the
    commit (a correction is still applied when no model is activated for the year: the
    run is then missing and `rescore_error` on the returned object says why).
    """
    with transaction.atomic():
        correction = (
            Correction.objects.select_for_update()
            .select_related("enterprise", "zone")
            .get(pk=correction.pk)
        )
        if correction.status != Correction.Status.SUBMITTED:
            raise CorrectionError(_("This correction has already been reviewed."))
        field = correctable_fields()[correction.field]
        enterprise, zone = correction.enterprise, correction.zone
        before = current_value(enterprise, correction.year, correction.field)
        payload = json.dumps(
            {
                "correction": correction.pk,
                "uscc": enterprise.uscc,
                "year": correction.year,
                "field": correction.field,
                "value": correction.new_value,
            },
            sort_keys=True,
        )
        batch = ImportBatch.objects.create(
            zone=zone,
            file_name=f"correction #{correction.pk}: {enterprise.uscc} {correction.year} "
            f"{correction.field}"[:255],
            sha256=hashlib.sha256(payload.encode()).hexdigest(),
            mode=ImportBatch.Mode.STRICT,
            created_by=_user(actor),
        )
        frame = _one_row_frame(enterprise.uscc, correction.year, field, correction.new_value)
        try:
            with transaction.atomic():
                counts = apply_registry(actor, zone, {"yearly": frame}, batch)
        except IntegrityError as exc:
            raise CorrectionError(
                _("The value contradicts the firm's other data (e.g. a part above its total).")
            ) from exc
        batch.counts = counts
        batch.written = any(c["created"] or c["changed"] for c in counts.values())
        batch.save(update_fields=["counts", "written"])
        correction.status = Correction.Status.APPROVED
        correction.reviewer = _user(actor)
        correction.reviewed_at = timezone.now()
        correction.import_batch = batch
        correction.save()
        record(
            actor,
            "portrait.correction.approve",
            correction,
            zone=zone,
            object_repr=f"{enterprise.uscc} {correction.year} {correction.field}",
            changes={correction.field: [before, correction.new_value]},
            detail={"uscc": enterprise.uscc, "year": correction.year, "import_batch": batch.pk},
        )
    correction.rescore_error = ""
    try:
        run = do_start_scoring_run(actor, zone, correction.year)
    except ScoringError as exc:
        correction.rescore_error = str(exc)
    else:
        Correction.objects.filter(pk=correction.pk).update(run=run)
        correction.run = run
    return correction


def do_reject_correction(actor, correction: Correction, reason: str) -> Correction:
    """Reject a submitted correction with a reason; the data are not changed."""
    reason = (reason or "").strip()
    if not reason:
        raise CorrectionError(_("Give the reason for the rejection."))
    with transaction.atomic():
        correction = (
            Correction.objects.select_for_update()
            .select_related("enterprise", "zone")
            .get(pk=correction.pk)
        )
        if correction.status != Correction.Status.SUBMITTED:
            raise CorrectionError(_("This correction has already been reviewed."))
        correction.status = Correction.Status.REJECTED
        correction.reviewer = _user(actor)
        correction.reviewed_at = timezone.now()
        correction.reason = reason[:2000]
        correction.save()
        record(
            actor,
            "portrait.correction.reject",
            correction,
            zone=correction.zone,
            object_repr=f"{correction.enterprise.uscc} {correction.year} {correction.field}",
            detail={"uscc": correction.enterprise.uscc, "year": correction.year, "reason": reason},
        )
    return correction
