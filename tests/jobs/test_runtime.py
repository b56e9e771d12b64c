"""Process-level memory management: the server's start-up freeze and background jobs
collecting their own reference cycles."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from django.test import override_settings

from innopoints.jobs.models import Job
from innopoints.jobs.tasks import start_job
from innopoints.site.runtime import settle_heap


class _Node:
    """An object that can sit in a reference cycle and be weakly referenced."""

    def __init__(self) -> None:
        self.me = self


def test_settle_heap_freezes_what_is_alive_at_start_up():
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        settle_heap()
        assert gc.get_freeze_count() > 10_000  # Django, the apps, the URL patterns
    finally:
        gc.unfreeze()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("inline", [False, True])
def test_a_background_job_collects_the_cycles_it_left(inline):
    """With automatic collection off, only the job runner's own collection can free a
    cycle the job made; inline jobs (tests, command line) leave that to the caller."""
    refs: list[weakref.ref] = []

    def work(progress):
        node = _Node()
        refs.append(weakref.ref(node))
        return {"made": 1}

    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with override_settings(JOBS_INLINE=inline):
            job = start_job("test", work)
            if not inline:
                for thread in threading.enumerate():
                    if thread.name == f"job-{job.pk}":
                        thread.join(timeout=30)
        assert Job.objects.get(pk=job.pk).status == Job.Status.DONE
        assert refs and (refs[0]() is None) is (not inline)
    finally:
        if was_enabled:
            gc.enable()
        gc.collect()
