"""Working days follow the State Council schedule, adjusted weekends included."""

import datetime as dt

import pytest

from innopoints.standard.workdays import (
    CalendarNotCoveredError,
    add_working_days,
    covered_years,
    is_working_day,
    working_days_between,
)

D = dt.date


def test_adjusted_working_weekends_and_holidays_2025() -> None:
    # 2025 Spring Festival: 1/28–2/4 off; Sunday 1/26 and Saturday 2/8 are working days.
    assert is_working_day(D(2025, 1, 26))
    assert is_working_day(D(2025, 2, 8))
    assert not is_working_day(D(2025, 1, 28))
    assert not is_working_day(D(2025, 2, 4))
    # National Day 2025: 10/1–10/8 off; Sunday 9/28 and Saturday 10/11 are working days.
    assert is_working_day(D(2025, 9, 28))
    assert is_working_day(D(2025, 10, 11))
    assert not is_working_day(D(2025, 10, 8))
    # An ordinary weekend.
    assert not is_working_day(D(2025, 11, 15))


def test_add_working_days_skips_the_golden_week() -> None:
    # Received Tuesday 30 Sep 2025; 10/1–10/8 are holidays, Thu 10/9 is working day 1.
    assert add_working_days(D(2025, 9, 30), 1) == D(2025, 10, 9)
    # Day 3 is Saturday 10/11 (adjusted working day), day 4 is Monday 10/13.
    assert add_working_days(D(2025, 9, 30), 3) == D(2025, 10, 11)
    assert add_working_days(D(2025, 9, 30), 4) == D(2025, 10, 13)
    assert add_working_days(D(2025, 9, 30), 0) == D(2025, 9, 30)


def test_between_is_the_inverse_of_add() -> None:
    start = D(2025, 1, 20)
    for days in (0, 1, 5, 15, 20, 60):
        assert working_days_between(start, add_working_days(start, days)) == days
    assert working_days_between(D(2025, 3, 10), D(2025, 3, 3)) == 0


def test_uncovered_years_fail_loudly_in_both_languages() -> None:
    first, last = covered_years()
    assert first <= 2025 <= last
    with pytest.raises(CalendarNotCoveredError) as caught:
        is_working_day(D(last + 1, 3, 2))
    message = str(caught.value)
    assert str(last + 1) in message and "节假日" in message and "holiday" in message
    with pytest.raises(CalendarNotCoveredError):
        add_working_days(D(last, 12, 20), 30)
    with pytest.raises(ValueError):
        add_working_days(D(2025, 1, 2), -1)
