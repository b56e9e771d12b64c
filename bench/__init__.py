"""Benchmarks: `python -m bench` runs every `bench_*.py`, each in its own process."""
