"""Template filters for showing field values by kind (money in 万元 with 2 decimals, ratios as %)."""

from __future__ import annotations

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def fieldvalue(value, kind: str) -> str:
    """Format a value of a catalogue field kind for display ('—' when missing)."""
    if value is None or value == "":
        return "—"
    if kind == "ratio":
        return f"{value * 100:.2f}%"
    if kind == "money":
        return intcomma(f"{value:.2f}")
    if kind == "int":
        return intcomma(int(value))
    if kind == "number":
        return f"{value:g}"
    return str(value)
