"""Helpers of the policies tests: catalogue entries whose outcome on the fixture firms is
known (tests.conftest.registry_frames: in 2024 firm n has revenue 1000n + 100, R&D 60n,
100 staff of whom 20 + n tech staff, n invention patents; firm 1 holds 高新技术企业)."""

from __future__ import annotations

import datetime as dt
from typing import Any

RD_RULE = {">=": [{"field": "rd_expense"}, 100]}  # firms 2 and 3 (120, 180); firm 1 fails (60)
RD_AMOUNT = {"min": [{"*": [0.5, {"field": "rd_expense"}]}, 80]}  # 60, 80 (capped)


def entry(code: str = "rd-subsidy", **extra: Any) -> dict[str, Any]:
    """A valid catalogue entry (no-application R&D subsidy unless overridden)."""
    base = {
        "code": code,
        "title_zh": "研发费用补助",
        "title_en": "R&D subsidy",
        "department": "科技局",
        "document_number": "测试〔2024〕1号",
        "beneficiaries": "研发费用100万元以上的企业",
        "mode": "no_application",
        "rule": RD_RULE,
        "amount": RD_AMOUNT,
        "budget": 1000,
        "effective_from": dt.date(2024, 1, 1),
        "deadline_working_days": 20,
        "address": "政务服务中心",
        "phone": "0311-1234567",
    }
    base.update(extra)
    return base


def published(zone, actor=None, **extra: Any):
    """A policy of `zone` created and published (matched at once); returns the version."""
    from innopoints.policies.actions import do_create_policy, do_publish_version

    version = do_create_policy(actor, zone, entry(**extra))
    return do_publish_version(actor, version)
