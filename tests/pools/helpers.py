"""Shared helpers of the pools tests: rules whose outcome on the fixture firms is known.

Fixture firm n (tests.conftest.registry_frames) has, in 2023, revenue 1000n and R&D 60n
(R&D intensity 6 %); in 2024 revenue 1000n + 100 (firm 1: 5.45 %, firm 2: 5.71 %,
firm 3: 5.81 %); 100 staff of whom 20 + n are tech staff; firm 1 holds 高新技术企业.
"""

from __future__ import annotations

RD_RULE = {">=": [{"field": "rd_intensity"}, 0.056]}  # 2024: firm 1 fails narrowly
REVENUE_RULE = {">=": [{"field": "revenue"}, 2050]}  # 2023: firm 3; 2024: firms 2 and 3
STAFF_RULE = {">=": [{"field": "tech_staff_ratio"}, 0.22]}  # firm 1 fails: 21 of 100


def custom_pool(zone, code: str, rule, actor=None, **extra):
    """A pool of `zone` with a custom rule."""
    from innopoints.pools.actions import do_create_pool

    return do_create_pool(
        actor, zone, code=code, name_zh=f"测试{code}", name_en=f"Test {code}", rule=rule, **extra
    )
