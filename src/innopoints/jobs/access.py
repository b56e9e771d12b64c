"""A user sees the jobs they started."""

from __future__ import annotations

from innopoints.jobs.models import Job


def get_visible_job(user, job_id: int) -> Job | None:
    """The job if the user started it, else None."""
    return Job.objects.filter(pk=job_id, created_by=user).first()
