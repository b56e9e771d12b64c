"""What machine a benchmark ran on, for the report."""

from __future__ import annotations

import os
import platform
import resource
import subprocess


def describe() -> str:
    """One line: CPU model, cores, memory, Python and Polars versions."""
    cpu = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages / 2**30:.0f} GiB"
    except (ValueError, OSError):
        memory = "? GiB"
    import polars

    return (
        f"{cpu}, {os.cpu_count()} cores, {memory}; Python {platform.python_version()}, "
        f"Polars {polars.__version__}"
    )


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
