"""Writes of the policies app. Each runs in one transaction and leaves an audit record.

Catalogue: `do_create_policy`, `do_save_draft`, `do_publish_version` (retires the old
version and rematches the policy), `do_retire_policy`, `do_import_policies` (YAML or
Excel entries; strict: nothing written when any entry has an issue).

Matching: `do_match_policies` evaluates published versions over the zone's firms (or
some firms) in one engine pass, replaces the stored results, stamps them with the
version, the zone's data version, the scoring run and the time, and notifies firms of
new eligible matches. Hooks: `after_scoring_run`, `after_pools_computed`,
`after_import` recompute only the affected policies or firms; `ensure_fresh` rematches
one firm before its results are shown when any stamp is out of date.

Payouts (免申即享): `do_propose_batch` (eligible firms and amounts, the budget applied
pro rata or by rank), `do_approve_batch` (payout records, unique per firm, policy and
period in the database; objection window in working days; firms notified),
`do_cancel_batch`, `do_mark_batch_paid`, `do_file_payout_objection`,
`do_resolve_payout_objection`.

Applications (快申快享): `do_submit_application` (pre-filled, attachments checked and
stored outside the web root), `do_accept_application`, `do_approve_application`,
`do_reject_application`, `do_pay_application`; each step's deadline in working days.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from innopoints.accounts.access import enterprise_id_of
from innopoints.audit.actions import diff_fields, jsonable, record
from innopoints.bulk import bulk_insert_frame
from innopoints.enterprises.access import enterprise_ids
from innopoints.enterprises.models import Enterprise
from innopoints.inbox.actions import notify_many
from innopoints.policies import inputs
from innopoints.policies.catalogue import FIELD_CODES, Issue, check_entry
from innopoints.policies.matching import match_full, match_one_firm
from innopoints.policies.models import (
    Application,
    ApplicationAttachment,
    MatchRun,
    Payout,
    PayoutBatch,
    PayoutLine,
    PayoutObjection,
    Policy,
    PolicyMatch,
    PolicyVersion,
)
from innopoints.portal.actions import private_root
from innopoints.scoring.models import ScoringRun
from innopoints.standard.workdays import CalendarNotCoveredError, add_working_days
from innopoints.zones.models import Zone

log = logging.getLogger(__name__)

ACCEPT_DAYS = 2  # working days to accept (受理) a submitted application (zone default)
REVIEW_DAYS = 10  # working days from acceptance to the decision (zone default)
DEFAULT_OBJECTION_DAYS = 5
MAX_ATTACHMENTS = 8
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
ATTACHMENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CONTENT_FIELDS = tuple(c for c in FIELD_CODES if c != "code")


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


class PolicyError(ValueError):
    """A policies action that cannot be done (the message is for the user); `code` names
    the reason for the API."""

    def __init__(self, message: str, code: str = "bad_request") -> None:
        self.code = code
        super().__init__(message)


class PolicyInputError(ValueError):
    """Catalogue entries with problems; `issues` names row, field, value (zh and en)."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(i) for i in issues[:20]))


# ---------------------------------------------------------------------------- catalogue


def version_values(version: PolicyVersion) -> dict[str, Any]:
    """A version's catalogue fields as an entry (code included)."""
    out = {c: getattr(version, c) for c in CONTENT_FIELDS}
    out["code"] = version.policy.code
    return out


def content_hash(values: dict[str, Any]) -> str:
    """SHA-256 of a version's catalogue content (code excluded)."""
    text = json.dumps(
        {c: jsonable(values.get(c)) for c in CONTENT_FIELDS},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def check_values(zone: Zone, values: dict[str, Any], row: int | None = None) -> dict[str, Any]:
    """Checked, typed catalogue values; raises `PolicyInputError` with every issue."""
    clean, issues = check_entry(values, row, inputs.policy_fields(zone))
    if issues:
        raise PolicyInputError(issues)
    return clean


def _new_version(actor, policy: Policy, clean: dict[str, Any], number: int) -> PolicyVersion:
    content = {c: clean.get(c) for c in CONTENT_FIELDS}
    return PolicyVersion.objects.create(
        policy=policy,
        number=number,
        status=PolicyVersion.Status.DRAFT,
        content_hash=content_hash(content),
        created_by=_user(actor),
        **content,
    )


def do_create_policy(actor, zone: Zone, values: dict[str, Any]) -> PolicyVersion:
    """Create a policy with its first (draft) version; raises `PolicyInputError`."""
    clean = check_values(zone, values)
    if Policy.objects.filter(zone=zone, code=clean["code"]).exists():
        raise PolicyError(
            _("The zone already has a policy with the code %(code)s.") % {"code": clean["code"]},
            "duplicate",
        )
    with transaction.atomic():
        policy = Policy.objects.create(zone=zone, code=clean["code"])
        version = _new_version(actor, policy, clean, 1)
        record(
            actor,
            "policies.policy.create",
            version,
            zone=zone,
            detail={"code": policy.code, "version": 1, "hash": version.content_hash},
        )
    return version


def do_save_draft(actor, policy: Policy, values: dict[str, Any]) -> PolicyVersion:
    """Save a draft of `policy` (update the open draft, or start one from the values).

    `values` holds catalogue fields (code ignored); missing fields are taken from the
    newest version. Raises `PolicyInputError`."""
    latest = policy.versions.order_by("-number").first()
    base = version_values(latest) if latest else {}
    merged = {**base, **{k: v for k, v in values.items() if k != "code"}, "code": policy.code}
    clean = check_values(policy.zone, merged)
    draft = policy.versions.filter(status=PolicyVersion.Status.DRAFT).first()
    with transaction.atomic():
        if draft is None:
            number = (policy.versions.aggregate(n=Max("number"))["n"] or 0) + 1
            draft = _new_version(actor, policy, clean, number)
            record(
                actor,
                "policies.version.create",
                draft,
                zone=policy.zone,
                detail={"code": policy.code, "version": number, "hash": draft.content_hash},
            )
            return draft
        old = {c: jsonable(getattr(draft, c)) for c in CONTENT_FIELDS}
        for c in CONTENT_FIELDS:
            setattr(draft, c, clean.get(c))
        draft.content_hash = content_hash({c: clean.get(c) for c in CONTENT_FIELDS})
        draft.save()
        changes = diff_fields(old, {c: jsonable(getattr(draft, c)) for c in CONTENT_FIELDS})
        if changes:
            record(actor, "policies.version.update", draft, zone=policy.zone, changes=changes)
    return draft


def do_publish_version(actor, version: PolicyVersion, *, rematch: bool = True) -> PolicyVersion:
    """Publish a draft: the published version (if any) is retired; the policy's results
    are recomputed for the zone's firms (new eligible firms are notified)."""
    if version.status != PolicyVersion.Status.DRAFT:
        raise PolicyError(_("Only a draft can be published."), "conflict")
    policy = version.policy
    check_values(policy.zone, version_values(version))
    with transaction.atomic():
        old = policy.versions.filter(status=PolicyVersion.Status.PUBLISHED).first()
        if old is not None:
            old.status = PolicyVersion.Status.RETIRED
            old.save(update_fields=["status"])
        version.status = PolicyVersion.Status.PUBLISHED
        version.published_at = timezone.now()
        version.save(update_fields=["status", "published_at"])
        record(
            actor,
            "policies.version.publish",
            version,
            zone=policy.zone,
            detail={
                "code": policy.code,
                "version": version.number,
                "hash": version.content_hash,
                "replaces": old.number if old else None,
            },
        )
    if rematch:
        try:
            do_match_policies(actor, policy.zone, policies=[policy], reason="publish")
        except Exception:  # matching never undoes a publication; the page shows it stale
            log.exception("matching policy %s after publishing failed", policy.pk)
    return version


def do_retire_policy(actor, policy: Policy) -> bool:
    """Withdraw a policy's published version (its results stop being shown)."""
    version = policy.published()
    if version is None:
        return False
    with transaction.atomic():
        version.status = PolicyVersion.Status.RETIRED
        version.save(update_fields=["status"])
        record(
            actor,
            "policies.version.retire",
            version,
            zone=policy.zone,
            detail={"code": policy.code, "version": version.number},
        )
    return True


@dataclass
class ImportResult:
    """What an import of catalogue entries did (or found)."""

    created: list[str] = field(default_factory=list)
    new_versions: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return bool(self.created or self.new_versions or self.published)


def do_import_policies(
    actor,
    zone: Zone,
    entries: Sequence[tuple[int, dict[str, Any]]],
    *,
    publish: bool = False,
    file_name: str = "",
) -> ImportResult:
    """Import catalogue entries (row, mapping): new codes become policies, changed
    content a new version of the policy, identical content nothing. Strict: when any
    entry has an issue (or a code repeats), nothing is written and all issues return.
    With `publish`, the new versions are published (and matched)."""
    result = ImportResult()
    fields = inputs.policy_fields(zone)
    checked: list[tuple[int, dict[str, Any]]] = []
    seen: dict[str, int] = {}
    for row, raw in entries:
        clean, issues = check_entry(raw, row, fields)
        result.issues += issues
        code = clean.get("code")
        if code:
            if code in seen:
                result.issues.append(
                    Issue(
                        row,
                        "code",
                        code,
                        f"与第{seen[code]}行代码重复",
                        f"the same code as row {seen[code]}",
                    )  # fmt: skip
                )
            seen[code] = row
        checked.append((row, clean))
    if result.issues:
        return result
    to_publish: list[PolicyVersion] = []
    with transaction.atomic():
        existing = {p.code: p for p in Policy.objects.filter(zone=zone)}
        for _row, clean in checked:
            content = {c: clean.get(c) for c in CONTENT_FIELDS}
            digest = content_hash(content)
            policy = existing.get(clean["code"])
            if policy is None:
                policy = Policy.objects.create(zone=zone, code=clean["code"])
                version = _new_version(actor, policy, clean, 1)
                result.created.append(policy.code)
            else:
                latest = policy.versions.order_by("-number").first()
                if latest is not None and latest.content_hash == digest:
                    result.unchanged.append(policy.code)
                    if publish and latest.status == PolicyVersion.Status.DRAFT:
                        to_publish.append(latest)
                    continue
                policy.versions.filter(status=PolicyVersion.Status.DRAFT).delete()
                number = (policy.versions.aggregate(n=Max("number"))["n"] or 0) + 1
                version = _new_version(actor, policy, clean, number)
                result.new_versions.append(policy.code)
            if publish:
                to_publish.append(version)
        record(
            actor,
            "policies.import",
            None,
            zone=zone,
            object_type="policies.policy",
            object_repr=file_name or "policies",
            detail={
                "file": file_name,
                "created": result.created,
                "new_versions": result.new_versions,
                "unchanged": len(result.unchanged),
                "publish": publish,
            },
        )
    for version in to_publish:
        do_publish_version(actor, version, rematch=False)
        result.published.append(version.policy.code)
    if to_publish:
        try:
            do_match_policies(
                actor, zone, policies=[v.policy for v in to_publish], reason="publish"
            )
        except Exception:
            log.exception("matching after the policy import failed")
    return result


# ---------------------------------------------------------------------------- matching


def published_versions(zone: Zone, policies: Sequence[Policy] | None = None) -> list[PolicyVersion]:
    """Published versions of the zone's policies (or of `policies`), by policy code."""
    qs = PolicyVersion.objects.filter(
        policy__zone=zone, status=PolicyVersion.Status.PUBLISHED
    ).select_related("policy")
    if policies is not None:
        qs = qs.filter(policy__in=list(policies))
    return list(qs.order_by("policy__code"))


def _match_rows(
    zin: inputs.ZoneInputs, versions: list[PolicyVersion], usccs: Sequence[str] | None
) -> pl.DataFrame:
    """Engine results for the versions over the zone (or `usccs`), with database ids."""
    panel = zin.panel
    if usccs is not None:
        panel = panel.filter(pl.col("uscc").is_in(list(usccs)))
    scores = zin.scores
    if usccs is not None and len(usccs) == 1:
        compilers = inputs.compiled(versions, zin.fields)
        result = match_one_firm(panel, compilers, zin.year, scores=scores)
        result = result.with_columns(
            pl.lit("").alias("near_miss"),
            pl.lit("").alias("near_miss_en"),
            pl.lit(None, dtype=pl.Boolean).alias("near_miss_blocked"),
        )
        failing = result.filter(pl.col("status") == "ineligible")
        if not failing.is_empty():  # near-misses of the failing policies only
            from innopoints.policies.matching import _with_near_misses

            crits = [c.c for c in compilers if c.c.id in set(failing["criterion"].to_list())]
            result = _with_near_misses(panel, crits, result, zin.year, scores).with_columns(
                pl.col("near_miss").fill_null(""), pl.col("near_miss_en").fill_null("")
            )
    else:
        crits = [inputs.criterion_of(v, zin.fields) for v in versions]
        result = match_full(panel, crits, zin.year, scores=scores)
    ids = pl.DataFrame(
        list(enterprise_ids(zin.zone).items()),
        schema={"uscc": pl.String, "enterprise_id": pl.Int64},
        orient="row",
    )
    vids = pl.DataFrame(
        [(v.criterion_id, v.pk, v.policy_id) for v in versions],
        schema={"criterion": pl.String, "version_id": pl.Int64, "policy_id": pl.Int64},
        orient="row",
    )
    extra = panel.filter(pl.col("year") == zin.year).select(
        "uscc",
        pl.col("stage").cast(pl.String).fill_null("").str.slice(0, 32).alias("stage"),
        pl.col("industry_code").fill_null("").str.slice(0, 1).alias("industry_section"),
    )
    return (
        result.join(vids, on="criterion", how="inner")
        .join(ids, on="uscc", how="inner")
        .join(extra, on="uscc", how="left")
        .select(
            "policy_id",
            "version_id",
            "enterprise_id",
            pl.lit(zin.year, dtype=pl.Int64).alias("year"),
            "status",
            pl.when(pl.col("status") != "ineligible").then(pl.col("amount")).alias("amount"),
            "amount_min",
            "amount_max",
            pl.col("reasons").fill_null(""),
            pl.col("reasons_en").fill_null(""),
            pl.col("missing").fill_null(""),
            pl.col("near_miss").fill_null(""),
            pl.col("near_miss_en").fill_null(""),
            "near_miss_blocked",
            pl.col("stage").fill_null(""),
            pl.col("industry_section").fill_null(""),
        )
    )


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def do_match_policies(
    actor,
    zone: Zone,
    *,
    year: int | None = None,
    policies: Sequence[Policy] | None = None,
    usccs: Sequence[str] | None = None,
    reason: str = "manual",
    notify: bool = True,
) -> MatchRun | None:
    """Match the published versions (of `policies`, default all) against the zone's
    firms (or `usccs`) for `year` (default: the newest data year) and store the results.

    Replaces the stored results of those policies, firms and year in one transaction;
    notifies each firm that became eligible for a policy (one message per firm). None
    when there is nothing to match (no published version or no data)."""
    started = time.perf_counter()
    versions = published_versions(zone, policies)
    if not versions:
        return None
    zone.refresh_from_db(fields=["data_version"])
    zin = inputs.zone_inputs(zone, year)
    if zin is None:
        return None
    frame = _match_rows(zin, versions, usccs)
    policy_ids = [v.policy_id for v in versions]
    old_qs = PolicyMatch.objects.filter(policy_id__in=policy_ids, year=zin.year)
    if usccs is not None:
        old_qs = old_qs.filter(enterprise__uscc__in=list(usccs))
    old = pl.DataFrame(
        list(old_qs.values_list("policy_id", "enterprise_id", "status")),
        schema={"policy_id": pl.Int64, "enterprise_id": pl.Int64, "old": pl.String},
        orient="row",
    )
    new_eligible = (
        frame.filter(pl.col("status") == "eligible")
        .join(old, on=["policy_id", "enterprise_id"], how="left")
        .filter(pl.col("old").is_null() | (pl.col("old") != "eligible"))
        .select("policy_id", "enterprise_id", "amount")
    )
    counts = {
        s: int(n)
        for s, n in frame.group_by("status").len().iter_rows()  # (status, n)
    }
    now = timezone.now()
    with transaction.atomic():
        run = MatchRun.objects.create(
            zone=zone,
            year=zin.year,
            reason=reason[:40],
            data_version=zin.data_version,
            run=zin.run,
            policies=len(versions),
            firms=frame["enterprise_id"].n_unique() if frame.height else 0,
            counts=counts,
            new_matches=new_eligible.height,
            created_by=_user(actor),
        )
        old_qs.delete()
        bulk_insert_frame(
            PolicyMatch,
            frame,
            {
                "data_version": zin.data_version,
                "run_id": zin.run.pk if zin.run else None,
                "match_run_id": run.pk,
                "computed_at": connection.ops.adapt_datetimefield_value(now),
            },
        )
        run.seconds = round(time.perf_counter() - started, 3)
        run.save(update_fields=["seconds"])
        record(
            actor,
            "policies.match",
            run,
            zone=zone,
            detail={
                "year": zin.year,
                "reason": reason,
                "versions": {v.policy.code: v.number for v in versions},
                "data_version": zin.data_version,
                "run": zin.run.pk if zin.run else None,
                "firms": run.firms,
                "counts": counts,
                "new_matches": new_eligible.height,
                "usccs": list(usccs)[:50] if usccs is not None else None,
            },
        )
    if notify and new_eligible.height:
        _notify_new_matches(actor, zone, versions, new_eligible)
    return run


def _notify_new_matches(
    actor, zone: Zone, versions: list[PolicyVersion], new: pl.DataFrame
) -> None:
    titles = {v.policy_id: v.title_zh for v in versions}
    items = []
    for firm, group in new.group_by("enterprise_id"):
        rows = group.sort("policy_id").iter_rows(named=True)
        lines = [f"· {titles[r['policy_id']]}：{_money(r['amount'])} 万元" for r in rows]
        items.append(
            {
                "enterprise_id": firm[0],
                "zone_id": zone.pk,
                "title": f"您有 {group.height} 项新的可享政策 / {group.height} new policy match(es)",
                "body": "\n".join(lines),
                "link": reverse("policies-mine"),
            }
        )
    try:
        notify_many(actor, items, kind="policies.match")
    except Exception:
        log.exception("notifying new policy matches failed")


def is_stale(enterprise: Enterprise, year: int | None = None) -> bool:
    """Whether the firm's stored results are missing or out of date: a policy published
    since, another data version, or another scoring run for score-based policies."""
    zone = enterprise.zone
    zone.refresh_from_db(fields=["data_version"])
    versions = published_versions(zone)
    if not versions:
        return False
    year = year or inputs.latest_year(zone)
    if year is None:
        return False
    stored = {
        m["policy_id"]: m
        for m in PolicyMatch.objects.filter(enterprise=enterprise, year=year).values(
            "policy_id", "version_id", "data_version", "run_id"
        )
    }
    from innopoints.pools.actions import latest_run

    run = None
    for v in versions:
        m = stored.get(v.policy_id)
        if m is None or m["version_id"] != v.pk or m["data_version"] != zone.data_version:
            return True
        if "scores" in inputs.uses(v):
            run = run or latest_run(zone, year)
            if m["run_id"] != (run.pk if run else None):
                return True
    return False


def ensure_fresh(enterprise: Enterprise) -> MatchRun | None:
    """Rematch one firm when its stored results are stale (before they are shown)."""
    if not is_stale(enterprise):
        return None
    return do_match_policies(None, enterprise.zone, usccs=[enterprise.uscc], reason="stale")


def after_scoring_run(run: ScoringRun | int, actor=None) -> MatchRun | None:
    """Hook after a scoring run: rematch the zone's policies that read points or bands
    (those that read pools follow the pools computation the run triggers). Never raises."""
    try:
        run = ScoringRun.objects.get(pk=run if isinstance(run, int) else run.pk)
        if run.status != ScoringRun.Status.DONE:
            return None
        zone = Zone.objects.get(pk=run.zone_id)
        affected = [v.policy for v in published_versions(zone) if "scores" in inputs.uses(v)]
        if not affected:
            return None
        return do_match_policies(actor, zone, year=run.year, policies=affected, reason="scoring")
    except Exception:
        log.exception("matching policies after scoring run %s failed", run)
        return None


def after_pools_computed(zone: Zone, year: int, actor=None) -> MatchRun | None:
    """Hook after a pools computation: rematch the policies that read pool memberships."""
    try:
        affected = [v.policy for v in published_versions(zone) if "pools" in inputs.uses(v)]
        if not affected:
            return None
        return do_match_policies(actor, zone, year=year, policies=affected, reason="pools")
    except Exception:
        log.exception("matching policies after the pools of zone %s failed", zone.pk)
        return None


def after_import(zone: Zone, usccs: Sequence[str] | None, actor=None) -> MatchRun | None:
    """Hook after data were written: rematch every published policy for those firms."""
    try:
        if not published_versions(zone):
            return None
        if usccs is not None and not usccs:
            return None
        return do_match_policies(actor, zone, usccs=usccs, reason="import")
    except Exception:
        log.exception("matching policies after an import into zone %s failed", zone.pk)
        return None


# ---------------------------------------------------------------------------- payouts


def _calendar_error(exc: CalendarNotCoveredError) -> PolicyError:
    return PolicyError(str(exc), "calendar")


def allocate(lines: pl.DataFrame, budget: float | None, rule: str) -> pl.DataFrame:
    """Apply the budget to proposed lines (rank order): `pro_rata` scales every amount by
    budget ÷ requested when short; `by_rank` pays in rank order in full until the budget
    ends (the last firm gets the remainder, the rest nothing). Amounts to 0.01 万元."""
    lines = lines.sort("rank")
    total = float(lines["requested"].sum()) if lines.height else 0.0
    if budget is None or total <= budget + 1e-9:
        return lines.with_columns(pl.col("requested").round(2).alias("amount"))
    if rule == PayoutBatch.Shortfall.PRO_RATA:
        factor = budget / total if total else 0.0
        return lines.with_columns((pl.col("requested") * factor).round(2).alias("amount"))
    before = pl.col("requested").cum_sum() - pl.col("requested")
    return lines.with_columns(
        pl.when(before + pl.col("requested") <= budget + 1e-9)
        .then(pl.col("requested"))
        .when(before < budget)
        .then(pl.lit(budget) - before)
        .otherwise(0.0)
        .round(2)
        .alias("amount")
    )


def do_propose_batch(
    actor,
    policy: Policy,
    period: str,
    *,
    shortfall_rule: str = PayoutBatch.Shortfall.PRO_RATA,
    objection_days: int = DEFAULT_OBJECTION_DAYS,
    year: int | None = None,
) -> PayoutBatch:
    """Propose the payout list of a no-application policy for `period`: the eligible
    firms of the newest data year (rematched first if stale) with their amounts, ranked
    by points (then amount), less firms already paid for the period; the budget applied."""
    version = policy.published()
    if version is None:
        raise PolicyError(_("The policy has no published version."), "not_published")
    if version.mode != PolicyVersion.Mode.NO_APPLICATION:
        raise PolicyError(_("Only no-application policies are paid in batches."), "mode")
    period = (period or "").strip()
    if not period or len(period) > 20:
        raise PolicyError(_("Give the period (at most 20 characters), e.g. 2024."), "period")
    if shortfall_rule not in PayoutBatch.Shortfall.values:
        raise PolicyError(_("Unknown shortfall rule."), "shortfall")
    if not 1 <= int(objection_days) <= 60:
        raise PolicyError(_("The objection window is 1 to 60 working days."), "objection_days")
    zone = policy.zone
    if PayoutBatch.objects.filter(
        policy=policy, period=period, status=PayoutBatch.Status.PROPOSED
    ).exists():
        raise PolicyError(
            _("A proposed batch of this policy and period is waiting for approval."), "conflict"
        )
    zin = inputs.zone_inputs(zone, year)
    if zin is None:
        raise PolicyError(_("The zone has no data."), "no_data")
    stale = PolicyMatch.objects.filter(policy=policy, year=zin.year).exclude(
        version=version, data_version=zone.data_version
    )
    if stale.exists() or not PolicyMatch.objects.filter(policy=policy, year=zin.year).exists():
        do_match_policies(actor, zone, year=zin.year, policies=[policy], reason="payout")
    eligible = pl.DataFrame(
        list(
            PolicyMatch.objects.filter(
                policy=policy, year=zin.year, status=PolicyMatch.Status.ELIGIBLE
            )
            .exclude(amount__isnull=True)
            .values_list("enterprise_id", "enterprise__uscc", "amount")
        ),
        schema={"enterprise_id": pl.Int64, "uscc": pl.String, "requested": pl.Float64},
        orient="row",
    )
    paid = set(
        Payout.objects.filter(policy=policy, period=period).values_list("enterprise_id", flat=True)
    )
    points = zin.scores.select("uscc", pl.col("total").alias("points"))
    lines = (
        eligible.filter(~pl.col("enterprise_id").is_in(list(paid)) & (pl.col("requested") > 0))
        .join(points, on="uscc", how="left")
        .sort(["points", "requested", "uscc"], descending=[True, True, False], nulls_last=True)
        .with_row_index("rank", offset=1)
    )
    lines = allocate(lines, version.budget, shortfall_rule)
    with transaction.atomic():
        batch = PayoutBatch.objects.create(
            policy=policy,
            version=version,
            period=period,
            year=zin.year,
            shortfall_rule=shortfall_rule,
            budget=version.budget,
            requested=round(float(lines["requested"].sum() or 0), 2),
            total=round(float(lines["amount"].sum() or 0), 2),
            firms=int((lines["amount"] > 0).sum()) if lines.height else 0,
            objection_days=int(objection_days),
            data_version=zone.data_version,
            created_by=_user(actor),
        )
        bulk_insert_frame(
            PayoutLine,
            lines.select("enterprise_id", "rank", "points", "requested", "amount"),
            {"batch_id": batch.pk},
        )
        record(
            actor,
            "policies.batch.propose",
            batch,
            zone=zone,
            detail={
                "policy": policy.code,
                "version": version.number,
                "period": period,
                "year": zin.year,
                "firms": batch.firms,
                "requested": batch.requested,
                "total": batch.total,
                "budget": batch.budget,
                "shortfall_rule": shortfall_rule,
                "skipped_already_paid": len(paid),
            },
        )
    return batch


def do_approve_batch(actor, batch: PayoutBatch, *, today: dt.date | None = None) -> PayoutBatch:
    """Approve a proposed batch: one payout record per firm with an amount (the database
    refuses a second payout of a policy to a firm for the same period), the objection
    window set in working days, the firms notified."""
    if batch.status != PayoutBatch.Status.PROPOSED:
        raise PolicyError(_("Only a proposed batch can be approved."), "conflict")
    today = today or timezone.localdate()
    try:
        deadline = add_working_days(today, batch.objection_days)
    except CalendarNotCoveredError as exc:
        raise _calendar_error(exc) from None
    lines = list(batch.lines.filter(amount__gt=0).select_related("enterprise"))
    try:
        with transaction.atomic():
            Payout.objects.bulk_create(
                [
                    Payout(
                        policy_id=batch.policy_id,
                        version_id=batch.version_id,
                        enterprise_id=line.enterprise_id,
                        period=batch.period,
                        amount=line.amount,
                        batch=batch,
                        objection_deadline=deadline,
                    )
                    for line in lines
                ]
            )
            batch.status = PayoutBatch.Status.APPROVED
            batch.approved_by = _user(actor)
            batch.approved_at = timezone.now()
            batch.objection_deadline = deadline
            batch.save(update_fields=["status", "approved_by", "approved_at", "objection_deadline"])
            record(
                actor,
                "policies.batch.approve",
                batch,
                zone=batch.policy.zone,
                detail={
                    "policy": batch.policy.code,
                    "period": batch.period,
                    "payouts": len(lines),
                    "total": batch.total,
                    "objection_deadline": deadline,
                },
            )
    except IntegrityError:
        raise PolicyError(
            _("A firm of this batch has already been paid under this policy for the period."),
            "duplicate_payout",
        ) from None
    version = batch.version
    items = [
        {
            "enterprise_id": line.enterprise_id,
            "zone_id": batch.policy.zone_id,
            "title": f"政策兑现：{version.title_zh} / Payout: {version.title(lang='en')}",
            "body": (
                f"{batch.period} 年度兑现 {_money(line.amount)} 万元（免申即享）。"
                f"如有异议，请于 {deadline.isoformat()} 前提出。\n"
                f"{_money(line.amount)} (10k CNY) for {batch.period}; "
                f"objections until {deadline.isoformat()}."
            ),
            "link": reverse("policies-mine"),
        }
        for line in lines
    ]
    try:
        notify_many(actor, items, kind="policies.payout")
    except Exception:
        log.exception("notifying payout batch %s failed", batch.pk)
    return batch


def do_cancel_batch(actor, batch: PayoutBatch) -> PayoutBatch:
    """Cancel a proposed batch (nothing was paid)."""
    if batch.status != PayoutBatch.Status.PROPOSED:
        raise PolicyError(_("Only a proposed batch can be cancelled."), "conflict")
    with transaction.atomic():
        batch.status = PayoutBatch.Status.CANCELLED
        batch.save(update_fields=["status"])
        record(actor, "policies.batch.cancel", batch, zone=batch.policy.zone,
               detail={"policy": batch.policy.code, "period": batch.period})  # fmt: skip
    return batch


def do_mark_batch_paid(actor, batch: PayoutBatch) -> int:
    """Record that an approved batch's payouts were transferred (open objections stay)."""
    if batch.status != PayoutBatch.Status.APPROVED:
        raise PolicyError(_("Only an approved batch can be paid."), "conflict")
    with transaction.atomic():
        n = batch.payouts.filter(status=Payout.Status.APPROVED).update(
            status=Payout.Status.PAID, paid_at=timezone.now()
        )
        record(actor, "policies.batch.paid", batch, zone=batch.policy.zone,
               detail={"policy": batch.policy.code, "period": batch.period, "payouts": n})  # fmt: skip
    return n


def do_file_payout_objection(
    actor, batch: PayoutBatch, reason: str, *, today: dt.date | None = None
) -> PayoutObjection:
    """An enterprise user objects to an approved batch (its amount, or its omission)
    within the objection window; one open objection per firm and batch."""
    enterprise_id = enterprise_id_of(actor)
    firm = Enterprise.objects.filter(pk=enterprise_id, zone_id=batch.policy.zone_id).first()
    if firm is None:
        raise PolicyError(_("Only a firm of the zone can object."), "not_allowed")
    if batch.status != PayoutBatch.Status.APPROVED or batch.objection_deadline is None:
        raise PolicyError(_("Objections are possible once a batch is approved."), "conflict")
    today = today or timezone.localdate()
    if today > batch.objection_deadline:
        raise PolicyError(
            _("The objection period ended on %(day)s.") % {"day": batch.objection_deadline},
            "deadline_passed",
        )
    reason = (reason or "").strip()
    if not reason:
        raise PolicyError(_("Give the reason for the objection."), "reason_missing")
    if batch.objections.filter(enterprise=firm, status=PayoutObjection.Status.OPEN).exists():
        raise PolicyError(_("Your firm already has an open objection to this batch."), "conflict")
    with transaction.atomic():
        objection = PayoutObjection.objects.create(
            batch=batch,
            enterprise=firm,
            reason=reason[:4000],
            filed_by=_user(actor),
            filed_at=timezone.now(),
        )
        record(actor, "policies.objection.file", objection, zone=batch.policy.zone,
               detail={"batch": batch.pk, "uscc": firm.uscc})  # fmt: skip
    return objection


def do_resolve_payout_objection(
    actor, objection: PayoutObjection, *, accept: bool, resolution: str
) -> PayoutObjection:
    """Accept or reject an open objection with a note (an accepted objection to a paid
    amount withholds the payout until corrected)."""
    if objection.status != PayoutObjection.Status.OPEN:
        raise PolicyError(_("The objection has been resolved already."), "conflict")
    resolution = (resolution or "").strip()
    if not resolution:
        raise PolicyError(_("Give a note for the decision."), "reason_missing")
    with transaction.atomic():
        objection.status = (
            PayoutObjection.Status.ACCEPTED if accept else PayoutObjection.Status.REJECTED
        )
        objection.resolution = resolution
        objection.resolved_at = timezone.now()
        objection.save(update_fields=["status", "resolution", "resolved_at"])
        if accept:
            Payout.objects.filter(
                batch=objection.batch,
                enterprise=objection.enterprise,
                status=Payout.Status.APPROVED,
            ).update(status=Payout.Status.WITHHELD)
        record(actor, "policies.objection.resolve", objection, zone=objection.batch.policy.zone,
               detail={"accept": accept, "resolution": resolution})  # fmt: skip
    return objection


# ---------------------------------------------------------------------------- applications


def _deadline(start: dt.date, days: int) -> tuple[dt.date | None, str]:
    """The date `days` working days after `start`, or (None, the calendar's error)."""
    try:
        return add_working_days(start, days), ""
    except CalendarNotCoveredError as exc:
        return None, str(exc)


def prefill_for(enterprise: Enterprise, version: PolicyVersion) -> dict[str, Any]:
    """What the application form is pre-filled with: the firm's identity, the data year,
    the values of every field the policy reads, and the stored match (status, amount)."""
    zin = inputs.zone_inputs(enterprise.zone)
    out: dict[str, Any] = {"uscc": enterprise.uscc, "name": enterprise.name}
    if zin is None:
        return out
    out["year"] = zin.year
    row = zin.panel.filter((pl.col("uscc") == enterprise.uscc) & (pl.col("year") == zin.year))
    values = {}
    if row.height:
        data = row.row(0, named=True)
        for code in inputs.read_fields(version):
            if code in data:
                values[code] = jsonable(data[code])
    out["values"] = values
    match = PolicyMatch.objects.filter(
        policy=version.policy, enterprise=enterprise, year=zin.year
    ).first()
    if match is not None:
        out["status"] = match.status
        out["amount"] = match.amount
    return out


def check_attachment(upload: Any) -> tuple[str, bytes]:
    """(extension, content) of an acceptable attachment: PDF, JPG, PNG or XLSX whose
    content matches the extension, 1 byte to 10 MB (the portal's check with the policy
    limit). Raises `PolicyError`."""
    from innopoints.portal.actions import check_attachment as check

    return check(upload, MAX_ATTACHMENT_BYTES, PolicyError)


def do_submit_application(
    actor,
    policy: Policy,
    period: str,
    *,
    files: Sequence[Any] = (),
    documents: Sequence[str] = (),
    note: str = "",
    contact: str = "",
    now: dt.datetime | None = None,
    enterprise: Enterprise | None = None,
) -> Application:
    """An enterprise user applies to an application-mode policy for `period`, pre-filled
    from the firm's data; attachments checked and stored outside the web root. The
    acceptance deadline (ACCEPT_DAYS) and the statutory payout limit are set in working
    days; when the calendar does not cover the year the application is still stored and
    the deadline stays open with the calendar's error shown to the zone.

    `enterprise`: assisted handling (帮代办): a zone admin (or the system) submits for a
    firm of the zone."""
    enterprise_id = enterprise_id_of(actor)
    if enterprise is not None:
        from innopoints.accounts.access import admin_zone_ids

        if actor is not None and policy.zone_id not in admin_zone_ids(actor):
            raise PolicyError(_("Only the zone's administrators submit for a firm."), "not_allowed")
        enterprise_id = enterprise.pk
    firm = (
        Enterprise.objects.select_related("zone")
        .filter(pk=enterprise_id, zone_id=policy.zone_id)
        .first()
    )
    if firm is None:
        raise PolicyError(_("Only a firm of the policy's zone can apply."), "not_allowed")
    version = policy.published()
    if version is None:
        raise PolicyError(_("The policy has no published version."), "not_published")
    if version.mode != PolicyVersion.Mode.APPLICATION:
        raise PolicyError(
            _("This policy is paid without application (免申即享)."), "no_application"
        )
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    if today < version.effective_from or (
        version.effective_until and today > version.effective_until
    ):
        raise PolicyError(_("The policy is not in effect on this date."), "not_effective")
    period = (period or "").strip()
    if not period or len(period) > 20:
        raise PolicyError(_("Give the period (at most 20 characters), e.g. 2024."), "period")
    if len(files) > MAX_ATTACHMENTS:
        raise PolicyError(
            _("At most %(n)s files can be attached.") % {"n": MAX_ATTACHMENTS}, "too_many_files"
        )
    if (
        Application.objects.filter(policy=policy, enterprise=firm, period=period)
        .exclude(status=Application.Status.REJECTED)
        .exists()
    ):
        raise PolicyError(
            _("Your firm has already applied to this policy for the period."), "duplicate"
        )
    checked = [(upload, *check_attachment(upload)) for upload in files]
    prefill = prefill_for(firm, version)
    due, error1 = _deadline(today, ACCEPT_DAYS)
    payout_due, error2 = _deadline(today, version.deadline_working_days)
    written: list[Path] = []
    try:
        with transaction.atomic():
            app = Application.objects.create(
                policy=policy,
                version=version,
                enterprise=firm,
                period=period,
                prefill=prefill,
                amount_requested=prefill.get("amount"),
                contact=(contact or "")[:100],
                note=(note or "")[:4000],
                submitted_by=_user(actor),
                submitted_at=now,
                due_on=due,
                payout_due_on=payout_due,
                deadline_error=error1 or error2,
            )
            folder = Path("applications") / str(app.pk)
            (private_root() / folder).mkdir(parents=True, exist_ok=True)
            names = list(documents) + [""] * len(checked)
            for (upload, ext, data), doc in zip(checked, names, strict=False):
                relative = folder / f"{uuid.uuid4().hex}.{ext}"
                path = private_root() / relative
                path.write_bytes(data)
                written.append(path)
                ApplicationAttachment.objects.create(
                    application=app,
                    document=(doc or "")[:200],
                    original_name=Path(upload.name).name[:200],
                    stored_path=str(relative),
                    content_type=ATTACHMENT_TYPES[ext],
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                )
            record(
                actor,
                "policies.application.submit",
                app,
                zone=policy.zone,
                detail={
                    "policy": policy.code,
                    "version": version.number,
                    "period": period,
                    "uscc": firm.uscc,
                    "attachments": len(checked),
                    "due_on": due,
                    "payout_due_on": payout_due,
                    "deadline_error": error1 or error2,
                },
            )
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return app


def _step(actor, app: Application, action: str, changes: dict[str, Any]) -> Application:
    before = {k: jsonable(getattr(app, k)) for k in changes}
    with transaction.atomic():
        for k, v in changes.items():
            setattr(app, k, v)
        app.save(update_fields=list(changes))
        record(
            actor,
            action,
            app,
            zone=app.policy.zone,
            changes=diff_fields(before, {k: jsonable(v) for k, v in changes.items()}),
            detail={"policy": app.policy.code, "uscc": app.enterprise.uscc},
        )
    return app


def do_accept_application(
    actor, app: Application, *, now: dt.datetime | None = None
) -> Application:
    """受理: the zone accepts a submitted application; the review deadline is set."""
    if app.status != Application.Status.SUBMITTED:
        raise PolicyError(_("Only a submitted application can be accepted."), "conflict")
    now = now or timezone.now()
    due, error = _deadline(timezone.localtime(now).date(), REVIEW_DAYS)
    return _step(actor, app, "policies.application.accept", {
        "status": Application.Status.ACCEPTED, "accepted_at": now, "due_on": due,
        "deadline_error": error or app.deadline_error})  # fmt: skip


def do_approve_application(
    actor, app: Application, *, amount: float | None = None, now: dt.datetime | None = None
) -> Application:
    """Approve an accepted application with the amount (default: the requested one); the
    payment is then due by the statutory limit."""
    if app.status != Application.Status.ACCEPTED:
        raise PolicyError(_("Only an accepted application can be approved."), "conflict")
    amount = app.amount_requested if amount is None else float(amount)
    if amount is None or amount < 0:
        raise PolicyError(_("Give the approved amount (10k CNY, not negative)."), "amount")
    return _step(actor, app, "policies.application.approve", {
        "status": Application.Status.APPROVED, "decided_at": now or timezone.now(),
        "amount_approved": round(amount, 2), "due_on": app.payout_due_on})  # fmt: skip


def do_reject_application(
    actor, app: Application, reason: str, *, now: dt.datetime | None = None
) -> Application:
    """Reject a submitted or accepted application with the reason (the firm is told)."""
    if app.status not in (Application.Status.SUBMITTED, Application.Status.ACCEPTED):
        raise PolicyError(_("Only an open application can be rejected."), "conflict")
    reason = (reason or "").strip()
    if not reason:
        raise PolicyError(_("Give the reason for the rejection."), "reason_missing")
    app = _step(actor, app, "policies.application.reject", {
        "status": Application.Status.REJECTED, "decided_at": now or timezone.now(),
        "reject_reason": reason[:4000], "due_on": None})  # fmt: skip
    from innopoints.inbox.actions import do_notify

    do_notify(
        actor,
        enterprise=app.enterprise,
        kind="policies.application",
        title=f"申请未通过：{app.version.title_zh} / Application rejected",
        body=reason,
        link=reverse("policies-application", args=[app.pk]),
    )
    return app


def do_pay_application(actor, app: Application, *, now: dt.datetime | None = None) -> Payout:
    """Pay an approved application: a payout record (unique per firm, policy, period)."""
    if app.status != Application.Status.APPROVED:
        raise PolicyError(_("Only an approved application can be paid."), "conflict")
    now = now or timezone.now()
    try:
        with transaction.atomic():
            payout = Payout.objects.create(
                policy=app.policy,
                version=app.version,
                enterprise=app.enterprise,
                period=app.period,
                amount=app.amount_approved or 0,
                status=Payout.Status.PAID,
                application=app,
                paid_at=now,
            )
            _step(actor, app, "policies.application.pay",
                  {"status": Application.Status.PAID, "paid_at": now, "due_on": None})  # fmt: skip
    except IntegrityError:
        raise PolicyError(
            _("The firm has already been paid under this policy for the period."),
            "duplicate_payout",
        ) from None
    from innopoints.inbox.actions import do_notify

    do_notify(
        actor,
        enterprise=app.enterprise,
        kind="policies.application",
        title=f"政策资金已拨付：{app.version.title_zh} / Paid",
        body=f"{_money(payout.amount)} 万元 / {_money(payout.amount)} (10k CNY)",
        link=reverse("policies-application", args=[app.pk]),
    )
    return payout
