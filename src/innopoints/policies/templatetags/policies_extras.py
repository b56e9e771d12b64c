"""Small filters of the policy pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def sub(a: Any, b: Any) -> float:
    """a − b (missing values count as 0)."""
    return (a or 0) - (b or 0)


@register.filter
def get(mapping: Any, key: Any) -> Any:
    """mapping[key] or ''."""
    return (mapping or {}).get(key, "")


@register.filter
def breakdowns(result: dict) -> list[tuple[str, list, str]]:
    """The sandbox's breakdowns as (title, rows, kind)."""
    return [
        (_("By stage"), result["by_stage"], "stage"),
        (_("By industry section"), result["by_industry"], "industry"),
        (_("By cultivation pool"), result["by_pool"], "pool"),
    ]
