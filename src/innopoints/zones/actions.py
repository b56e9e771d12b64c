"""Zone configuration writes: custom fields (自定义字段). Each is audited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F

from innopoints.audit.actions import record
from innopoints.standard.catalogue import custom_field
from innopoints.zones.models import CustomField, Zone


@transaction.atomic
def do_define_custom_field(
    actor,
    zone: Zone,
    *,
    code: str,
    label_zh: str,
    label_en: str,
    kind: str,
    unit_zh: str = "",
    unit_en: str = "",
    minimum: float | None = None,
    maximum: float | None = None,
    choices: list[str] | None = None,
) -> CustomField:
    """Add a custom yearly field to a zone; it is then imported, exported and validated."""
    try:
        custom_field(
            code, label_zh, label_en, kind, unit_zh, unit_en, minimum, maximum, tuple(choices or ())
        )
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    if CustomField.objects.filter(zone=zone, code=code).exists():
        raise ValidationError(f"字段代码已存在 / field code already exists: {code}")
    if minimum is not None and maximum is not None and minimum > maximum:
        raise ValidationError("最小值大于最大值 / minimum is greater than maximum")
    field = CustomField.objects.create(
        zone=zone,
        code=code,
        label_zh=label_zh,
        label_en=label_en,
        kind=kind,
        unit_zh=unit_zh,
        unit_en=unit_en,
        minimum=minimum,
        maximum=maximum,
        choices=list(choices or []),
    )
    Zone.objects.filter(pk=zone.pk).update(data_version=F("data_version") + 1)
    record(
        actor,
        "custom_field.create",
        field,
        zone=zone,
        changes={
            "code": [None, code],
            "kind": [None, kind],
            "label_zh": [None, label_zh],
            "label_en": [None, label_en],
            "minimum": [None, minimum],
            "maximum": [None, maximum],
        },
    )
    return field


@transaction.atomic
def do_remove_custom_field(actor, field: CustomField) -> None:
    """Remove a custom field definition (stored values stay in the yearly rows' JSON)."""
    zone = field.zone
    record(
        actor,
        "custom_field.delete",
        field,
        zone=zone,
        changes={"code": [field.code, None], "kind": [field.kind, None]},
    )
    field.delete()
    Zone.objects.filter(pk=zone.pk).update(data_version=F("data_version") + 1)
