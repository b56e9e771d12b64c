"""Policy actions: catalogue versions, matching with stamps, notifications, payouts,
applications with working-day deadlines, the sandbox and statistics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import IntegrityError, transaction

from innopoints.audit.models import AuditEvent
from innopoints.policies.models import (
    Application,
    Payout,
    PolicyMatch,
    PolicyVersion,
)
from tests.conftest import uscc
from tests.policies.helpers import entry, published

pytestmark = pytest.mark.django_db


def test_create_publish_and_match(users, zone):
    from innopoints.policies.actions import PolicyInputError, do_create_policy

    admin = users["admin"]
    with pytest.raises(PolicyInputError) as err:
        do_create_policy(admin, zone, entry(rule={">=": [{"field": "rd_expens"}, 1]}, budget=-1))
    fields = {i.field for i in err.value.issues}
    assert fields == {"rule", "budget"}
    text = str(err.value)
    assert "rd_expens" in text and "预算" in text and "Budget" in text

    version = published(zone, admin)
    assert version.status == PolicyVersion.Status.PUBLISHED
    matches = {m.enterprise.uscc: m for m in PolicyMatch.objects.filter(policy=version.policy)}
    assert {u: m.status for u, m in matches.items()} == {
        uscc(1): "ineligible", uscc(2): "eligible", uscc(3): "eligible"}  # fmt: skip
    assert matches[uscc(2)].amount == pytest.approx(60)
    assert matches[uscc(3)].amount == pytest.approx(80)
    assert matches[uscc(1)].amount is None
    m1 = matches[uscc(1)]
    assert "研发费用" in m1.reasons and "R&D expense" in m1.reasons_en
    assert "研发费用" in m1.near_miss and "+40" in m1.near_miss
    assert m1.version_id == version.pk and m1.data_version == zone.data_version
    assert AuditEvent.objects.filter(action="policies.match").exists()


def test_new_matches_notify_the_firm(users, zone, firms):
    from innopoints.inbox.models import Notification
    from innopoints.policies.actions import do_match_policies

    published(zone, users["admin"], rule={">=": [{"field": "rd_expense"}, 50]})
    notes = Notification.objects.filter(user=users["enterprise"])
    assert notes.count() == 1  # firm 1 now qualifies (60 ≥ 50)
    assert "研发费用补助" in notes.first().body
    # rematching with no change notifies nobody again
    do_match_policies(None, zone, reason="manual")
    assert notes.count() == 1


def test_new_version_and_stale_results(users, zone, firms):
    from innopoints.policies.actions import (
        do_publish_version,
        do_save_draft,
        ensure_fresh,
        is_stale,
    )

    admin = users["admin"]
    v1 = published(zone, admin)
    draft = do_save_draft(admin, v1.policy, {"rule": {">=": [{"field": "rd_expense"}, 150]}})
    assert draft.number == 2 and draft.status == "draft"
    firm2 = firms[uscc(2)]
    assert not is_stale(firm2)
    do_publish_version(admin, draft, rematch=False)
    v1.refresh_from_db()
    assert v1.status == "retired"
    assert is_stale(firm2)
    run = ensure_fresh(firm2)
    assert run is not None and run.reason == "stale" and run.firms == 1
    m = PolicyMatch.objects.get(policy=v1.policy, enterprise=firm2)
    assert m.version_id == draft.pk and m.status == "ineligible"
    assert not is_stale(firm2)


def test_import_hook_rematches_changed_firms(users, zone, firms):
    from tests.conftest import load

    v = published(zone, users["admin"], rule={">=": [{"field": "rd_expense"}, 50]})
    before = PolicyMatch.objects.get(policy=v.policy, enterprise=firms[uscc(1)]).computed_at
    load(zone, [1])  # unchanged data: nothing written, but the hook runs harmlessly
    from innopoints.policies.actions import after_import

    run = after_import(zone, [uscc(1)])
    assert run.firms == 1
    after = PolicyMatch.objects.get(policy=v.policy, enterprise=firms[uscc(1)]).computed_at
    assert after >= before


def test_payout_batch_budget_and_uniqueness(users, zone, firms):
    from innopoints.policies.actions import (
        PolicyError,
        do_approve_batch,
        do_file_payout_objection,
        do_propose_batch,
    )

    admin = users["admin"]
    v = published(zone, admin, budget=70)
    batch = do_propose_batch(admin, v.policy, "2024", shortfall_rule="pro_rata")
    lines = {line.enterprise.uscc: line for line in batch.lines.all()}
    assert set(lines) == {uscc(2), uscc(3)}
    assert batch.requested == pytest.approx(140)
    assert batch.total == pytest.approx(70)
    assert lines[uscc(2)].amount == pytest.approx(30)
    batch = do_approve_batch(admin, batch, today=dt.date(2026, 9, 28))
    # 5 working days after Mon 28 Sep 2026 across the National Day holiday (1–7 Oct):
    # 29, 30 Sep, 8, 9 Oct and the adjusted working Saturday 10 Oct
    assert batch.objection_deadline == dt.date(2026, 10, 10)
    assert Payout.objects.filter(batch=batch).count() == 2
    with pytest.raises(IntegrityError), transaction.atomic():
        Payout.objects.create(
            policy=v.policy, version=v, enterprise=firms[uscc(2)], period="2024", amount=1
        )
    again = do_propose_batch(admin, v.policy, "2024", shortfall_rule="by_rank")
    assert again.lines.count() == 0  # both already paid for 2024
    with pytest.raises(PolicyError):
        do_file_payout_objection(users["enterprise"], batch, "漏报", today=dt.date(2026, 10, 11))
    objection = do_file_payout_objection(
        users["enterprise"], batch, "我司研发费用已更正", today=dt.date(2026, 10, 10)
    )
    assert objection.enterprise.uscc == uscc(1)


def test_by_rank_allocation():
    import polars as pl

    from innopoints.policies.actions import allocate

    lines = pl.DataFrame({"rank": [1, 2, 3], "requested": [50.0, 40.0, 30.0]})
    out = allocate(lines, 70, "by_rank")["amount"].to_list()
    assert out == [50.0, 20.0, 0.0]
    assert allocate(lines, 60, "pro_rata")["amount"].to_list() == [25.0, 20.0, 15.0]
    assert allocate(lines, None, "by_rank")["amount"].to_list() == [50.0, 40.0, 30.0]


def test_application_flow_with_working_day_deadlines(users, zone, firms, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from innopoints.policies.actions import (
        PolicyError,
        do_accept_application,
        do_approve_application,
        do_pay_application,
        do_submit_application,
    )
    from innopoints.policies.stats import delivery_stats

    settings.PRIVATE_FILES_DIR = tmp_path
    admin, firm_user = users["admin"], users["enterprise"]
    v = published(zone, admin, code="talent", mode="application",
                  rule={">=": [{"field": "rd_expense"}, 50]})  # fmt: skip
    now = timezone.make_aware(dt.datetime(2026, 9, 29, 10))
    bad = SimpleUploadedFile("x.exe", b"MZ...")
    with pytest.raises(PolicyError):
        do_submit_application(firm_user, v.policy, "2024", files=[bad], now=now)
    pdf = SimpleUploadedFile("证明.pdf", b"%PDF-1.4 test")
    app = do_submit_application(firm_user, v.policy, "2024", files=[pdf], now=now)
    assert app.status == "submitted"
    assert app.due_on == dt.date(2026, 10, 8)  # 2 working days: 30 Sep, then 8 Oct
    assert app.payout_due_on is not None and app.prefill["values"]["rd_expense"] == 60
    assert app.amount_requested == pytest.approx(30)
    stored = app.attachments.get()
    assert (tmp_path / stored.stored_path).read_bytes() == b"%PDF-1.4 test"
    with pytest.raises(PolicyError):
        do_submit_application(firm_user, v.policy, "2024", now=now)
    app = do_accept_application(admin, app, now=now)
    app = do_approve_application(admin, app, now=now)
    payout = do_pay_application(admin, app, now=now + dt.timedelta(days=14))
    assert payout.amount == pytest.approx(30)
    stats = delivery_stats(Application.objects.all(), Payout.objects.all(),
                           today=dt.date(2026, 10, 20))  # fmt: skip
    assert stats["paid"] == 1 and stats["online"] == 1
    assert stats["days_avg"] == 6  # 29 Sep → 13 Oct: 30 Sep, 8, 9, 10 (Sat, adjusted), 12, 13
    assert stats["saved_share"] == pytest.approx(1 - 6 / 20)
    assert len(mail.outbox) == 0 or all("@" in m.to[0] for m in mail.outbox)


def test_uncovered_calendar_year_is_loud(users, zone, firms, settings, tmp_path):
    from django.utils import timezone

    from innopoints.policies.actions import do_submit_application

    settings.PRIVATE_FILES_DIR = tmp_path
    v = published(zone, users["admin"], code="talent", mode="application")
    app = do_submit_application(
        users["enterprise"], v.policy, "2024", now=timezone.make_aware(dt.datetime(2026, 12, 30))
    )
    assert app.payout_due_on is None
    assert "2027" in app.deadline_error and "chinese-calendar" in app.deadline_error


def test_sandbox_compares_draft_with_published(users, zone, firms):
    from innopoints.policies.actions import do_save_draft
    from innopoints.policies.sandbox import compare

    v = published(zone, users["admin"])
    draft = do_save_draft(users["admin"], v.policy, {"rule": {">=": [{"field": "rd_expense"}, 50]},
                                                      "budget": 100})  # fmt: skip
    out = compare(draft)
    assert out["total"]["current"] == 2 and out["total"]["draft"] == 3
    assert out["total"]["cost_current"] == pytest.approx(140)
    assert out["total"]["cost_draft"] == pytest.approx(170)
    assert out["over_budget"] is True
    assert [g["uscc"] for g in out["gained"]] == [uscc(1)] and out["lost"] == []
    assert sum(r["draft"] for r in out["by_industry"]) == 3


def test_pool_based_policy_follows_pool_computations_and_overrides(users, zone, firms):
    from innopoints.pools.actions import do_add_override, do_compute_pools, do_delete_override
    from tests.pools.helpers import RD_RULE, custom_pool

    admin = users["admin"]
    pool = custom_pool(zone, "rd", RD_RULE, actor=admin)  # 2024: firms 2 and 3
    v = published(zone, admin, code="pool-award", rule={"field": "pool_rd"}, amount=10)

    def statuses():
        return dict(
            PolicyMatch.objects.filter(policy=v.policy).values_list("enterprise__uscc", "status")
        )

    assert set(statuses().values()) == {"unknown"}  # pool not computed yet: never "no"
    do_compute_pools(admin, zone, 2024)
    assert statuses() == {uscc(1): "ineligible", uscc(2): "eligible", uscc(3): "eligible"}
    override = do_add_override(admin, pool, firms[uscc(1)], 2024, "add", "管委会决定")
    assert statuses()[uscc(1)] == "eligible"
    do_delete_override(admin, override)
    assert statuses()[uscc(1)] == "ineligible"


def test_attachments_are_checked_with_the_policy_size_limit() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from innopoints.policies.actions import PolicyError, check_attachment

    pdf = b"%PDF-1.7\n" + b"0" * (6 * 1024 * 1024)  # above the portal's 5 MB, below 10 MB
    assert check_attachment(SimpleUploadedFile("a.pdf", pdf))[0] == "pdf"
    with pytest.raises(PolicyError) as caught:
        check_attachment(SimpleUploadedFile("b.pdf", b"%PDF-1.7\n" + b"0" * (10 * 1024 * 1024)))
    assert caught.value.code == "attachment_size" and "10" in str(caught.value)
    with pytest.raises(PolicyError) as caught:
        check_attachment(SimpleUploadedFile("c.pdf", b"not a pdf at all"))
    assert caught.value.code == "attachment_type"
