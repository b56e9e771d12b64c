"""Run a job in the background (a thread of this process) and report its progress.

The embedded default needs no broker: a daemon thread runs the job and writes progress
to the `Job` row, which the page polls. With INNOPOINTS_JOBS_INLINE=1 (tests) the job
runs synchronously in the caller.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from innopoints.jobs.models import Job

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]


def progress_writer(job: Job) -> Progress:
    """A callback that stores progress (0..1) and a message on the job, at most ~50 times."""
    last = {"value": -1.0}

    def report(fraction: float, message: str = "") -> None:
        if fraction - last["value"] >= 0.02 or fraction >= 1.0:
            last["value"] = fraction
            Job.objects.filter(pk=job.pk).update(progress=min(fraction, 1.0), message=message[:300])

    return report


def _run(job_id: int, work: Callable[[Progress], dict[str, Any]], *, collect: bool) -> None:
    try:
        _run_job(job_id, work)
    finally:
        if collect:
            # a job leaves frames, querysets and reference cycles behind by the hundred
            # thousand: the job's thread pays for collecting them, not the web request
            # the collector would otherwise land on (a pause of up to ~0.3 s)
            gc.collect()


def _run_job(job_id: int, work: Callable[[Progress], dict[str, Any]]) -> None:
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING)
    try:
        result = work(progress_writer(job))
    except Exception as exc:  # the job's failure is shown to the user, not raised
        log.exception("job %s failed", job_id)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED, message=str(exc)[:300], finished_at=timezone.now()
        )
        return
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.DONE, progress=1.0, result=result or {}, finished_at=timezone.now()
    )


def start_job(
    kind: str, work: Callable[[Progress], dict[str, Any]], *, user=None, zone=None
) -> Job:
    """Create a job and run `work(progress)` in the background (inline in tests)."""
    job = Job.objects.create(kind=kind, created_by=user, zone=zone)
    if settings.JOBS_INLINE:
        _run(job.pk, work, collect=False)
    else:

        def target() -> None:
            try:
                _run(job.pk, work, collect=True)
            finally:
                close_old_connections()

        threading.Thread(target=target, name=f"job-{job.pk}", daemon=True).start()
    job.refresh_from_db()
    return job
