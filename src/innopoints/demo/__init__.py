"""The demo zone: a realistic synthetic high-tech zone for the demo site, tests and benchmarks."""

from innopoints.demo.generator import DemoZone, generate_zone, write_zone

__all__ = ["DemoZone", "generate_zone", "write_zone"]
