"""Run every benchmark module (`bench/bench_*.py`) in its own process and print its report.

Each module is runnable alone (`python -m bench.bench_import`) and prints a Markdown
section with the machine, the timings, the reference implementation's timings and the
ratio; paste the sections into docs/benchmarks.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("bench_*.py"))
    status = 0
    for name in names:
        print(f"\n<!-- {name} -->", flush=True)
        result = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=HERE.parent)
        status = status or result.returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
