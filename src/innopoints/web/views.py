"""Pages that belong to no single app: home (by role), health check, job progress."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from innopoints.accounts.access import enterprise_id_of, role_of
from innopoints.accounts.models import Role
from innopoints.jobs.access import get_visible_job


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Send each role to its landing page."""
    role = role_of(request.user)
    if role in (Role.ZONE_ADMIN, Role.SUPERVISOR):
        return redirect("enterprise-list")
    if role == Role.ENTERPRISE:
        from innopoints.enterprises.models import Enterprise

        uscc = (
            Enterprise.objects.filter(pk=enterprise_id_of(request.user))
            .values_list("uscc", flat=True)
            .first()
        )
        return redirect("enterprise-detail", uscc=uscc)
    context = {"role": role}
    if role == Role.BANK:  # how many firms its bank may read (consent or an application)
        from innopoints.finance.access import bank_enterprises

        context["bank_firms"] = bank_enterprises(request.user).count()
    return render(request, "web/home.html", context)


def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness probe for load balancers."""
    return HttpResponse("ok", content_type="text/plain")


@login_required
def job_status(request: HttpRequest, job_id: int) -> JsonResponse:
    """Progress of a background job, polled by pages."""
    job = get_visible_job(request.user, job_id)
    if job is None:
        raise Http404
    return JsonResponse(
        {
            "id": job.pk,
            "kind": job.kind,
            "status": job.status,
            "progress": round(job.progress, 3),
            "message": job.message,
            "result": job.result,
        }
    )
