"""Working days under the State Council holiday schedule (国务院办公厅节假日安排).

Statutory time limits (兑现时限, 办结时限) are counted in working days: weekends and public
holidays do not count, and the adjusted working weekends (调休上班日) do. The schedule comes
from the maintained `chinese-calendar` package, which carries each year's official notice.
A year the package does not cover raises `CalendarNotCoveredError` instead of guessing: a
deadline computed from weekends alone would be wrong around every holiday.

Counting convention (as official limits are usually read): the day a matter is received is
day 0; a limit of *n* working days ends on the *n*-th working day after it.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import chinese_calendar

__all__ = [
    "CalendarNotCoveredError",
    "add_working_days",
    "covered_years",
    "is_working_day",
    "working_days_between",
]


class CalendarNotCoveredError(ValueError):
    """The holiday calendar has no official schedule for a year that a count needs."""

    def __init__(self, year: int) -> None:
        first, last = covered_years()
        self.year = year
        super().__init__(
            f"节假日安排未收录 {year} 年（chinese-calendar 收录 {first}–{last} 年），"
            f"无法按工作日计算期限；请升级 chinese-calendar。 / "
            f"The holiday schedule for {year} is not in the calendar "
            f"(chinese-calendar covers {first}–{last}); working-day deadlines cannot be "
            f"computed. Upgrade chinese-calendar."
        )


@lru_cache(maxsize=1)
def covered_years() -> tuple[int, int]:
    """The first and last year whose official holiday schedule the calendar holds."""
    years = sorted({day.year for day in chinese_calendar.holidays})
    return years[0], years[-1]


def _check_covered(day: dt.date) -> None:
    first, last = covered_years()
    if not first <= day.year <= last:
        raise CalendarNotCoveredError(day.year)


@lru_cache(maxsize=4096)
def is_working_day(day: dt.date) -> bool:
    """Whether `day` is a working day (adjusted working weekends included)."""
    _check_covered(day)
    return bool(chinese_calendar.is_workday(day))


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date `days` working days after `start` (`start` itself is day 0).

    Raises `CalendarNotCoveredError` if the count runs into a year the calendar lacks.
    """
    if days < 0:
        raise ValueError("days must be ≥ 0 / 工作日数不能为负")
    _check_covered(start)
    current = start
    remaining = days
    while remaining:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            remaining -= 1
    return current


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after `start` up to and including `end` (0 if `end` ≤ `start`).

    This is the number of working days a matter received on `start` and finished on
    `end` took, so `working_days_between(d, add_working_days(d, n)) == n`.
    """
    if end <= start:
        return 0
    _check_covered(start)
    _check_covered(end)
    count = 0
    current = start
    while current < end:
        current += dt.timedelta(days=1)
        if is_working_day(current):
            count += 1
    return count
