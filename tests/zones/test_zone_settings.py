"""Zone custom fields and people: defined by admins, audited, carried by import and export."""

from __future__ import annotations

import polars as pl
import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from innopoints.audit.models import AuditEvent
from innopoints.enterprises.actions import do_import_file
from innopoints.enterprises.exporting import registry_frames, write_registry
from innopoints.enterprises.models import YearlyData
from innopoints.zones.actions import do_define_custom_field
from tests.conftest import uscc


def test_admin_defines_a_custom_field_through_the_page(client_for, zone, users):
    client = client_for("admin")
    response = client.post(
        "/zones/Z1/",
        {
            "form": "field",
            "field-code": "incubator_area",
            "field-label_zh": "孵化面积",
            "field-label_en": "Incubator area",
            "field-kind": "number",
            "field-unit_zh": "平方米",
            "field-unit_en": "m²",
            "field-minimum": "0",
            "field-maximum": "",
            "field-choices": "",
        },
    )
    assert response.status_code == 302
    field = zone.customfield_set.get()
    assert field.code == "incubator_area" and field.minimum == 0
    event = AuditEvent.objects.get(action="custom_field.create")
    assert event.actor == users["admin"] and event.changes["code"] == [None, "incubator_area"]


def test_custom_field_codes_may_not_collide_with_the_standard(zone):
    with pytest.raises(ValidationError):
        do_define_custom_field(
            None, zone, code="revenue", label_zh="x", label_en="x", kind="number"
        )


def test_custom_field_values_are_imported_validated_and_exported(zone, firms, tmp_path):
    do_define_custom_field(
        None,
        zone,
        code="incubator_area",
        label_zh="孵化面积",
        label_en="Incubator area",
        kind="number",
        unit_zh="平方米",
        minimum=0,
    )
    zone.refresh_from_db()
    frame = pl.DataFrame(
        {
            "统一社会信用代码": [uscc(1), uscc(2)],
            "年度": [2024, 2024],
            "孵化面积（平方米）": ["1200", "-5"],
        }
    )
    path = tmp_path / "custom.csv"
    frame.write_csv(path)
    outcome = do_import_file(None, zone, path, mode="valid-rows")
    assert [i.field for i in outcome.issues if i.severity == "error"] == ["incubator_area"]
    row = YearlyData.objects.get(enterprise__uscc=uscc(1), year=2024)
    assert row.custom == {"incubator_area": 1200.0}
    assert registry_frames(zone)["yearly"].filter(pl.col("uscc") == uscc(1))[
        "incubator_area"
    ].to_list() == [None, 1200.0]
    exported = write_registry(zone, tmp_path / "out.xlsx", fmt="xlsx")[0]
    again = do_import_file(None, zone, exported)
    assert again.errors == 0 and not again.batch.written


def test_admin_creates_an_enterprise_account(client_for, zone, firms):
    response = client_for("admin").post(
        "/zones/Z1/",
        {
            "form": "person",
            "person-username": "finance2",
            "person-password": "a-long-password",
            "person-role": "enterprise",
            "person-enterprise": uscc(2),
            "person-display_name": "",
            "person-bank": "",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="finance2")
    assert user.profile.enterprise.uscc == uscc(2)
    refused = client_for("admin").post(
        "/zones/Z1/",
        {
            "form": "person",
            "person-username": "sneaky",
            "person-password": "a-long-password",
            "person-role": "enterprise",
            "person-enterprise": uscc(9),
        },
    )
    assert refused.status_code == 200
    assert not get_user_model().objects.filter(username="sneaky").exists()
