"""Process start-up of the web server: settle the heap before serving.

A Django process holds hundreds of thousands of long-lived Python objects (modules,
settings, URL patterns, model metadata, Polars' Python layer). CPython's cyclic garbage
collector walks all of them at every full collection, and a request that allocates many
short-lived objects (one firm × 300 pools with reasons builds tens of thousands)
triggers such collections now and then: a pause of several milliseconds that lands on
whichever request is running. `gc.freeze()` (the CPython documentation's advice for
servers) moves the start-up objects out of the collector's reach; collection of
everything allocated afterwards is unchanged.
"""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Load the URL configuration, collect once, then freeze what is alive."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - importing every view module now, not on first request
    gc.collect()
    gc.freeze()
