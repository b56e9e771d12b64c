"""The catalogue as documents: entry checks with bilingual row/field errors, YAML and
Excel round trips, the shipped demo catalogue, and the import action (strict, versions)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from innopoints.policies.catalogue import (
    CatalogueFileError,
    check_entry,
    read_excel,
    read_yaml,
    shipped_catalogue,
    write_excel,
    write_yaml,
)
from tests.policies.helpers import entry


def test_entry_issues_name_row_field_and_value_in_both_languages():
    raw = entry(mode="sometimes", budget="lots", effective_from="2024-13-01",
                amount={"min": [{"field": "rd_expnse"}, 10]}, extra="x")  # fmt: skip
    _clean, issues = check_entry(raw, row=7)
    by_field = {i.field: i for i in issues}
    assert set(by_field) == {"mode", "budget", "effective_from", "amount", "extra"}
    budget = by_field["budget"]
    assert budget.row == 7 and budget.value == "lots"
    assert str(budget).startswith("第7行 预算（万元）：") and "row 7, Budget (10k CNY): " in str(
        budget
    )
    assert (
        "rd_expnse" in by_field["amount"].en and "did you mean rd_expense" in by_field["amount"].en
    )
    assert by_field["amount"].zh.startswith("amount.min[0].field")


def test_shipped_catalogue_is_valid_and_large_enough():
    entries = read_yaml(shipped_catalogue().read_bytes())
    assert len(entries) >= 20
    from innopoints.policies.matching import extra_fields

    fields = extra_fields([("gazelle", "瞪羚", "g"), ("tech_leader", "领军", "t")])
    for row, raw in entries:
        _clean, issues = check_entry(raw, row, fields)
        assert issues == [], [str(i) for i in issues]
    modes = {raw["mode"] for _row, raw in entries}
    assert modes == {"no_application", "application"}


def test_yaml_round_trip():
    clean, issues = check_entry(entry(required_documents=["合同", "发票"]))
    assert not issues
    back = read_yaml(write_yaml([clean]))
    again, issues = check_entry(back[0][1])
    assert not issues and again == clean


def test_excel_template_round_trip_and_errors():
    clean, _ = check_entry(entry(effective_until=dt.date(2026, 12, 31)))
    data = write_excel([clean])
    rows = read_excel(data)
    assert rows[0][0] == 2  # Excel row numbers
    again, issues = check_entry(rows[0][1], rows[0][0])
    assert not issues and again == clean
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    sheet = book["政策清单"]
    sheet["K2"] = "很多"  # budget
    sheet["I2"] = "{>=: ["  # rule: broken YAML
    out = io.BytesIO()
    book.save(out)
    [(row, raw)] = read_excel(out.getvalue())
    _clean, issues = check_entry(raw, row)
    assert {(i.row, i.field) for i in issues} == {(2, "budget"), (2, "rule")}
    with pytest.raises(CatalogueFileError) as err:
        read_excel(b"not a workbook")
    assert "xlsx" in err.value.zh and "xlsx" in err.value.en
    assert write_excel([])  # the blank template


@pytest.mark.django_db
def test_import_is_strict_and_versions_changed_content(users, zone, firms):
    from innopoints.policies.actions import do_import_policies
    from innopoints.policies.models import Policy, PolicyVersion

    admin = users["admin"]
    bad = do_import_policies(admin, zone, [(1, entry()), (2, entry(budget=-5)), (3, entry())])
    assert {(i.row, i.field) for i in bad.issues} == {(2, "budget"), (2, "code"), (3, "code")}
    assert not Policy.objects.exists()
    ok = do_import_policies(admin, zone, [(1, entry()), (2, entry(code="b"))], publish=True)
    assert ok.created == ["rd-subsidy", "b"] and ok.published == ["rd-subsidy", "b"]
    same = do_import_policies(admin, zone, [(1, entry())])
    assert same.unchanged == ["rd-subsidy"] and not same.written
    changed = do_import_policies(admin, zone, [(1, entry(budget=10))], publish=True)
    assert changed.new_versions == ["rd-subsidy"]
    versions = PolicyVersion.objects.filter(policy__code="rd-subsidy").order_by("number")
    assert [(v.number, v.status) for v in versions] == [(1, "retired"), (2, "published")]
