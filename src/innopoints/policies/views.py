"""Policy pages: catalogue, one policy (results, versions, batches), edit and publish,
sandbox, import/export, 我的政策 (a firm's results, applications and payouts), payout
batches, applications with deadlines and statistics, attachment downloads. Reads go
through `policies.access`, writes through `policies.actions`."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, Sum
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from innopoints.engine.rules import RuleError, sentence
from innopoints.enterprises.exporting import export_table_response
from innopoints.policies import access, inputs
from innopoints.policies.actions import (
    PolicyError,
    PolicyInputError,
    do_accept_application,
    do_approve_application,
    do_approve_batch,
    do_cancel_batch,
    do_create_policy,
    do_file_payout_objection,
    do_import_policies,
    do_mark_batch_paid,
    do_match_policies,
    do_pay_application,
    do_propose_batch,
    do_publish_version,
    do_reject_application,
    do_resolve_payout_objection,
    do_retire_policy,
    do_save_draft,
    do_submit_application,
    ensure_fresh,
    prefill_for,
    private_root,
    version_values,
)
from innopoints.policies.catalogue import (
    CatalogueFileError,
    read_excel,
    read_yaml,
    write_excel,
    write_yaml,
)
from innopoints.policies.forms import ApplyForm, BatchForm, ImportForm, PolicyForm
from innopoints.policies.models import Application, Payout, PolicyVersion
from innopoints.policies.sandbox import compare
from innopoints.policies.stats import delivery_stats, overdue
from innopoints.standard.catalogue import STAGE_NAMES_EN, STAGE_NAMES_ZH

PAGE_SIZE = 50


def _lang(request: HttpRequest) -> str:
    return "en" if (request.LANGUAGE_CODE or "").startswith("en") else "zh"


def _require_catalogue(request: HttpRequest) -> None:
    if not access.can_view_catalogue(request.user):
        raise PermissionDenied


def _rule_text(version: PolicyVersion, lang: str) -> tuple[str, str]:
    """The version's conditions and amount as sentences (or the error)."""
    try:
        crit = inputs.criterion_of(version, inputs.policy_fields(version.policy.zone))
    except RuleError as exc:
        return str(exc), ""
    amount = sentence(crit.parts[0].value, lang, crit.fields) if crit.parts else ""
    return sentence(crit.rules, lang, crit.fields), amount


# ---------------------------------------------------------------------------- catalogue


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    """Admins and supervisors: every policy of their zones with its results; enterprise
    users: the published policies of their zone with their own result."""
    lang = _lang(request)
    user = request.user
    firm = access.own_firm(user)
    if not access.can_view_catalogue(user) and firm is None:
        raise PermissionDenied
    policies = list(access.visible_policies(user).select_related("zone").order_by("code"))
    versions = {
        v.policy_id: v
        for v in PolicyVersion.objects.filter(policy__in=policies).order_by("policy_id", "number")
    }  # the newest version per policy (ordered by number)
    published = {
        v.policy_id: v
        for v in PolicyVersion.objects.filter(policy__in=policies, status="published")
    }
    counts = {
        r["policy_id"]: r
        for r in access.visible_matches(user)
        .filter(policy__in=policies, version__status="published")
        .values("policy_id")
        .annotate(
            eligible=Count("id", filter=Q(status="eligible")),
            unknown=Count("id", filter=Q(status="unknown")),
            cost=Sum("amount", filter=Q(status="eligible")),
        )
    }
    mine = {}
    if firm is not None:
        ensure_fresh(firm)
        mine = {m.policy_id: m for m in access.visible_matches(user).filter(enterprise=firm)}
    rows = []
    for p in policies:
        v = published.get(p.pk) or versions.get(p.pk)
        if v is None:
            continue
        rows.append({"policy": p, "version": v, "published": published.get(p.pk),
                     "draft": versions.get(p.pk) if versions.get(p.pk) is not v else None,
                     "counts": counts.get(p.pk, {}), "mine": mine.get(p.pk)})  # fmt: skip
    return render(
        request,
        "policies/catalogue.html",
        {
            "rows": rows,
            "lang": lang,
            "can_manage": access.managed_zones(user).exists(),
            "firm": firm,
            "zones": access.managed_zones(user),
        },
    )


@login_required
def policy_detail(request: HttpRequest, policy_id: int) -> HttpResponse:
    """One policy: the published version's fields, the conditions as a sentence, results
    by status (admins, supervisors), versions, batches; enterprise users their result."""
    policy = access.get_visible_policy(request.user, policy_id)
    lang = _lang(request)
    versions = list(access.visible_versions(request.user, policy))
    version = policy.published() or (versions[0] if versions else None)
    if version is None:
        raise Http404("no version")
    if version not in versions:
        version = versions[0]
    rule_text, amount_text = _rule_text(version, lang)
    tab = request.GET.get("tab") or "eligible"
    ctx = {
        "policy": policy,
        "version": version,
        "versions": versions,
        "rule_text": rule_text,
        "amount_text": amount_text,
        "lang": lang,
        "tab": tab,
        "can_manage": access.can_manage_policy(request.user, policy),
        "can_apply": access.can_apply(request.user, policy) and version.mode == "application",
        "batch_form": BatchForm(initial={"period": str(timezone.localdate().year - 1)}),
    }
    if access.can_view_catalogue(request.user):
        matches = access.visible_matches(request.user).filter(
            policy=policy, version__status="published"
        )
        if tab == "near":
            rows = matches.filter(status="ineligible").exclude(near_miss="")
            rows = rows.filter(near_miss_blocked=False)
        elif tab in ("eligible", "unknown", "ineligible"):
            rows = matches.filter(status=tab)
        else:
            rows = matches
        rows = rows.select_related("enterprise").order_by("-amount", "enterprise__uscc")
        if request.GET.get("export") in ("xlsx", "csv"):
            frame = pl.DataFrame(
                list(rows.values_list("enterprise__uscc", "enterprise__name", "year", "status",
                                      "amount", "missing", "reasons", "near_miss")),
                schema=["uscc", "name", "year", "status", "amount", "missing", "reasons",
                        "near_miss"],
                orient="row",
            )  # fmt: skip
            return export_table_response(
                frame, f"policy-{policy.code}", request.GET["export"], lang
            )
        ctx["page"] = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        ctx["summary"] = matches.aggregate(
            eligible=Count("id", filter=Q(status="eligible")),
            unknown=Count("id", filter=Q(status="unknown")),
            ineligible=Count("id", filter=Q(status="ineligible")),
            cost=Sum("amount", filter=Q(status="eligible")),
        )
        ctx["stamp"] = (
            matches.order_by("-computed_at")
            .values("computed_at", "data_version", "version__number")
            .first()
        )
        ctx["stale"] = bool(
            ctx["stamp"]
            and (
                ctx["stamp"]["data_version"] != policy.zone.data_version
                or ctx["stamp"]["version__number"] != version.number
            )
        )
        ctx["batches"] = access.visible_batches(request.user).filter(policy=policy)
        ctx["query"] = f"tab={tab}"
    else:
        firm = access.own_firm(request.user)
        if firm is not None:
            ensure_fresh(firm)
            ctx["mine"] = access.visible_matches(request.user).filter(policy=policy).first()
            ctx["my_applications"] = access.visible_applications(request.user).filter(policy=policy)
    return render(request, "policies/detail.html", ctx)


@login_required
def policy_new(request: HttpRequest) -> HttpResponse:
    """Create a policy (its first version is a draft)."""
    zones = access.managed_zones(request.user)
    if not zones.exists():
        raise PermissionDenied
    form = PolicyForm(
        request.POST or None, initial={"deadline_working_days": 20, "mode": "application"}
    )
    issues = []
    if request.method == "POST" and form.is_valid():
        try:
            version = do_create_policy(request.user, zones.first(), form.entry())
        except PolicyInputError as exc:
            issues = exc.issues
        except PolicyError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Draft saved."))
            return redirect("policies-edit", version.policy_id)
    status = 400 if request.method == "POST" else 200
    return render(request, "policies/edit.html", {"form": form, "issues": issues, "new": True,
                                                  "lang": _lang(request)}, status=status)  # fmt: skip


@login_required
def policy_edit(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Edit the policy's draft (started from the newest version); save or publish."""
    policy = access.get_visible_policy(request.user, policy_id)
    if not access.can_manage_policy(request.user, policy):
        raise PermissionDenied
    latest = policy.versions.order_by("-number").first()
    draft = policy.versions.filter(status="draft").first()
    form = PolicyForm(request.POST or None, initial=PolicyForm.initial_from(version_values(latest)))
    issues = []
    if request.method == "POST" and form.is_valid():
        try:
            draft = do_save_draft(request.user, policy, form.entry())
            if request.POST.get("publish"):
                do_publish_version(request.user, draft)
                messages.success(
                    request, _("Version %(n)s published and matched.") % {"n": draft.number}
                )
                return redirect("policies-detail", policy.pk)
        except PolicyInputError as exc:
            issues = exc.issues
        except PolicyError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Draft saved."))
            if request.POST.get("sandbox"):
                return redirect("policies-sandbox", policy.pk)
            return redirect("policies-edit", policy.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "policies/edit.html", {"form": form, "issues": issues, "policy": policy,
                                                  "draft": draft, "lang": _lang(request)},
                  status=status)  # fmt: skip


@login_required
def policy_sandbox(request: HttpRequest, policy_id: int) -> HttpResponse:
    """The draft (or, without one, the published version) against the published version:
    firms qualifying and cost by stage, industry and pool, budget, gainers and losers."""
    _require_catalogue(request)
    policy = access.get_visible_policy(request.user, policy_id)
    draft = policy.versions.filter(status="draft").first() or policy.published()
    if draft is None:
        raise Http404("no version")
    lang = _lang(request)
    error = ""
    try:
        result = compare(draft)
    except RuleError as exc:
        result, error = None, str(exc)
    stages = STAGE_NAMES_EN if lang == "en" else STAGE_NAMES_ZH
    return render(request, "policies/sandbox.html", {"policy": policy, "draft": draft,
                  "result": result, "error": error, "stages": stages, "lang": lang})  # fmt: skip


@login_required
@require_POST
def policy_publish(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Publish the policy's draft."""
    policy = access.get_visible_policy(request.user, policy_id)
    if not access.can_manage_policy(request.user, policy):
        raise PermissionDenied
    draft = policy.versions.filter(status="draft").first()
    if draft is None:
        messages.error(request, _("There is no draft to publish."))
    else:
        try:
            do_publish_version(request.user, draft)
        except (PolicyError, PolicyInputError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, _("Version %(n)s published and matched.") % {"n": draft.number}
            )
    return redirect("policies-detail", policy.pk)


@login_required
@require_POST
def policy_retire(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Withdraw the policy's published version."""
    policy = access.get_visible_policy(request.user, policy_id)
    if not access.can_manage_policy(request.user, policy):
        raise PermissionDenied
    if do_retire_policy(request.user, policy):
        messages.success(request, _("The policy was withdrawn."))
    return redirect("policies-detail", policy.pk)


@login_required
@require_POST
def match_all(request: HttpRequest) -> HttpResponse:
    """Rematch every published policy of the admin's zones now."""
    zones = list(access.managed_zones(request.user))
    if not zones:
        raise PermissionDenied
    for zone in zones:
        run = do_match_policies(request.user, zone, reason="manual")
        if run is not None:
            messages.success(
                request,
                _("%(p)s policies matched against %(f)s firms in %(s)s s; %(n)s new matches.")
                % {"p": run.policies, "f": run.firms, "s": run.seconds, "n": run.new_matches},
            )
    return redirect("policies-home")


# ---------------------------------------------------------------------------- import / export


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """Import a YAML or Excel catalogue (strict: nothing is written when a row has an
    issue; every issue names row, field and value in Chinese and English)."""
    zones = access.managed_zones(request.user)
    if not zones.exists():
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    file_error = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        name = upload.name or ""
        try:
            data = upload.read(2 * 1024 * 1024 + 1)
            entries = read_excel(data) if name.lower().endswith(".xlsx") else read_yaml(data)
        except CatalogueFileError as exc:
            file_error = exc
        else:
            result = do_import_policies(request.user, zones.first(), entries,
                                        publish=form.cleaned_data["publish"], file_name=name)  # fmt: skip
    status = 400 if (file_error or (result and result.issues)) else 200
    return render(request, "policies/import.html", {"form": form, "result": result,
                  "file_error": file_error, "lang": _lang(request)}, status=status)  # fmt: skip


@login_required
def export(request: HttpRequest) -> HttpResponse:
    """The catalogue (newest version of every policy) as YAML or as the Excel template;
    `?blank=1` gives the empty template."""
    _require_catalogue(request)
    entries = []
    if not request.GET.get("blank"):
        for policy in access.visible_policies(request.user).order_by("code"):
            v = policy.published() or policy.versions.order_by("-number").first()
            if v is not None:
                entries.append(version_values(v))
    if request.GET.get("format") == "yaml":
        response = HttpResponse(
            write_yaml(entries), content_type="application/x-yaml; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="policies.yaml"'
        return response
    response = HttpResponse(
        write_excel(entries),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = "policies-template" if request.GET.get("blank") else "policies"
    response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


# ---------------------------------------------------------------------------- 我的政策


def _field_labels(zone, lang: str) -> dict[str, str]:
    """Field code (and `score:<column>`) → its name, for the data a firm should provide."""
    from innopoints.engine.rules.render import SCORE_NAMES
    from innopoints.standard.catalogue import STANDARD_FIELDS

    labels = {code: f.label(lang) for code, f in STANDARD_FIELDS.items()}
    labels.update({f.code: f.label(lang) for f in inputs.policy_fields(zone)})
    for column, (zh, en) in SCORE_NAMES.items():
        labels[f"score:{column}"] = en if lang == "en" else zh
    return labels


def _firm_page(request: HttpRequest, firm) -> HttpResponse:
    lang = _lang(request)
    ensure_fresh(firm)
    matches = list(
        access.visible_matches(request.user)
        .filter(enterprise=firm, version__status="published")
        .select_related("version", "policy")
        .order_by("-amount")
    )
    latest = max((m.year for m in matches), default=None)
    matches = [m for m in matches if m.year == latest]
    eligible = [m for m in matches if m.status == "eligible"]
    unknown = [m for m in matches if m.status == "unknown"]
    near = [
        m
        for m in matches
        if m.status == "ineligible" and m.near_miss and m.near_miss_blocked is False
    ]
    stamp = max((m.computed_at for m in matches), default=None)
    labels = _field_labels(firm.zone, lang)
    for m in unknown:
        m.missing_labels = [labels.get(c, c) for c in m.missing.split(",") if c]
    return render(
        request,
        "policies/firm.html",
        {
            "firm": firm,
            "eligible": eligible,
            "unknown": unknown,
            "near": near,
            "total": sum(m.amount or 0 for m in eligible),
            "year": latest,
            "stamp": stamp,
            "applications": access.visible_applications(request.user)
            .filter(enterprise=firm)
            .select_related("version", "policy"),
            "payouts": access.visible_payouts(request.user)
            .filter(enterprise=firm)
            .select_related("version", "batch"),
            "lang": lang,
            "own": access.own_firm(request.user) == firm,
        },
    )


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    """我的政策: the enterprise user's own firm."""
    firm = access.own_firm(request.user)
    if firm is None:
        raise PermissionDenied
    return _firm_page(request, firm)


@login_required
def firm_policies(request: HttpRequest, uscc: str) -> HttpResponse:
    """A firm's policy results as its users see them (admins, supervisors, the firm)."""
    return _firm_page(request, access.get_policy_firm(request.user, uscc))


# ---------------------------------------------------------------------------- payouts


@login_required
@require_POST
def batch_propose(request: HttpRequest, policy_id: int) -> HttpResponse:
    """Propose a payout batch of a no-application policy."""
    policy = access.get_visible_policy(request.user, policy_id)
    if not access.can_manage_policy(request.user, policy):
        raise PermissionDenied
    form = BatchForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Check the period and the objection window."))
        return redirect("policies-detail", policy.pk)
    try:
        batch = do_propose_batch(request.user, policy, form.cleaned_data["period"],
                                 shortfall_rule=form.cleaned_data["shortfall_rule"],
                                 objection_days=form.cleaned_data["objection_days"])  # fmt: skip
    except PolicyError as exc:
        messages.error(request, str(exc))
        return redirect("policies-detail", policy.pk)
    return redirect("policies-batch", batch.pk)


@login_required
def batch_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A batch: its lines against the budget; admins approve, cancel, mark paid and
    resolve objections; a firm sees its own line and may object in the window."""
    batch = access.get_visible_batch(request.user, batch_id)
    user = request.user
    manage = access.can_manage_policy(user, batch.policy)
    firm = access.own_firm(user)
    if request.method == "POST":
        what = request.POST.get("do")
        try:
            if what == "object" and firm is not None:
                do_file_payout_objection(user, batch, request.POST.get("reason", ""))
                messages.success(request, _("Your objection was filed."))
            elif not manage:
                raise PermissionDenied
            elif what == "approve":
                do_approve_batch(user, batch)
                messages.success(request, _("Batch approved; the firms were notified."))
            elif what == "cancel":
                do_cancel_batch(user, batch)
            elif what == "paid":
                do_mark_batch_paid(user, batch)
            elif what in ("accept", "reject"):
                objection = access.get_visible_objection(
                    user, int(request.POST.get("objection", 0))
                )
                if objection.batch_id != batch.pk:
                    raise Http404("objection not found")
                do_resolve_payout_objection(user, objection, accept=what == "accept",
                                            resolution=request.POST.get("resolution", ""))  # fmt: skip
        except PolicyError as exc:
            messages.error(request, str(exc))
        return redirect("policies-batch", batch.pk)
    lines = batch.lines.select_related("enterprise")
    objections = batch.objections.select_related("enterprise")
    if not access.can_view_catalogue(user):
        lines = lines.filter(enterprise=firm)
        objections = objections.filter(enterprise=firm)
    return render(request, "policies/batch.html", {
        "batch": batch, "lines": lines, "objections": objections, "can_manage": manage,
        "firm": firm, "lang": _lang(request),
        "window_open": batch.objection_deadline is not None and timezone.localdate() <= batch.objection_deadline,
    })  # fmt: skip


# ---------------------------------------------------------------------------- applications


@login_required
def apply(request: HttpRequest, policy_id: int) -> HttpResponse:
    """An enterprise applies: the form shows the firm's data the policy reads."""
    policy = access.get_visible_policy(request.user, policy_id)
    if not access.can_apply(request.user, policy):
        raise PermissionDenied
    version = policy.published()
    firm = access.own_firm(request.user)
    form = ApplyForm(request.POST or None, initial={"period": str(timezone.localdate().year - 1)})
    if request.method == "POST" and form.is_valid():
        files = request.FILES.getlist("files")
        try:
            app = do_submit_application(request.user, policy, form.cleaned_data["period"],
                                        files=files, note=form.cleaned_data["note"],
                                        contact=form.cleaned_data["contact"])  # fmt: skip
        except PolicyError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Your application was submitted."))
            return redirect("policies-application", app.pk)
    prefill = prefill_for(firm, version) if version else {}
    status = 400 if request.method == "POST" else 200
    return render(request, "policies/apply.html", {"policy": policy, "version": version,
                  "form": form, "prefill": prefill, "lang": _lang(request)}, status=status)  # fmt: skip


@login_required
def applications(request: HttpRequest) -> HttpResponse:
    """Applications with their step deadlines, overdue ones flagged (admins: of their
    zones, with the delivery statistics; firms: their own)."""
    user = request.user
    if not access.can_view_catalogue(user) and access.own_firm(user) is None:
        raise PermissionDenied
    apps = access.visible_applications(user).select_related("policy", "version", "enterprise")
    state = request.GET.get("status", "")
    today = timezone.localdate()
    if state == "overdue":
        apps = apps.filter(status__in=["submitted", "accepted", "approved"], due_on__lt=today)
    elif state in Application.Status.values:
        apps = apps.filter(status=state)
    apps = apps.order_by("due_on", "-submitted_at")
    page = Paginator(apps, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(a, overdue(a, today)) for a in page]
    stats = None
    if access.can_view_catalogue(user):
        stats = delivery_stats(
            access.visible_applications(user), access.visible_payouts(user), today
        )
    return render(request, "policies/applications.html", {"page": page, "rows": rows,
                  "stats": stats, "state": state, "query": f"status={state}",
                  "states": Application.Status.choices, "lang": _lang(request)})  # fmt: skip


@login_required
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    """One application: prefilled data, attachments, steps; admins take the next step."""
    app = access.get_visible_application(request.user, application_id)
    review = access.can_review_application(request.user, app)
    if request.method == "POST":
        if not review:
            raise PermissionDenied
        what = request.POST.get("do")
        try:
            if what == "accept":
                do_accept_application(request.user, app)
            elif what == "approve":
                raw = (request.POST.get("amount") or "").strip()
                do_approve_application(request.user, app, amount=float(raw) if raw else None)
            elif what == "reject":
                do_reject_application(request.user, app, request.POST.get("reason", ""))
            elif what == "pay":
                do_pay_application(request.user, app)
        except (PolicyError, ValueError) as exc:
            messages.error(request, str(exc))
        return redirect("policies-application", app.pk)
    payout = Payout.objects.filter(application=app).first()
    return render(request, "policies/application.html", {"app": app, "review": review,
                  "overdue": overdue(app), "payout": payout, "lang": _lang(request)})  # fmt: skip


@login_required
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """An application's attachment, for the applying firm and the zone's admins and
    supervisors only (404 for everyone else)."""
    attachment = access.get_visible_attachment(request.user, attachment_id)
    root = private_root().resolve()
    path = (root / attachment.stored_path).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404("file not found")
    response = FileResponse(path.open("rb"), as_attachment=True,
                            filename=Path(attachment.original_name).name,
                            content_type=attachment.content_type)  # fmt: skip
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
