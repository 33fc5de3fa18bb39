"""The model's clock: months, their arithmetic and parsing of config dates."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignsim.kernel.calendar import Month, first_days, month_first_day, parse_month

months = st.builds(Month, st.integers(1900, 2200), st.integers(1, 12))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-07", Month(2022, 7)),
        ("2022-01", Month(2022, 1)),
        ("2027-12", Month(2027, 12)),
        ("2022-07-05", Month(2022, 7)),  # the day is checked, then ignored
        ("  2024-12 ", Month(2024, 12)),
    ],
)
def test_parse_month_accepts_year_month_and_dates(text: str, expected: Month) -> None:
    assert parse_month(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2022-13", "no month 13"),
        ("2022-00", "no month 0"),
        ("2022-7", "not a date"),
        ("July 2022", "not a date"),
        ("", "not a date"),
        ("2022/07", "not a date"),
    ],
)
def test_parse_month_rejects_with_a_message_saying_what_is_allowed(text: str, fragment) -> None:
    with pytest.raises(ValueError, match=fragment) as info:
        parse_month(text)
    assert "allowed" in str(info.value)


def test_parse_month_checks_the_day() -> None:
    with pytest.raises(ValueError):
        parse_month("2022-02-30")
    assert parse_month("2024-02-29") == Month(2024, 2)  # leap year


def test_plus_crosses_years_both_ways() -> None:
    jan = Month(2022, 1)
    assert jan.plus(0) == jan
    assert jan.plus(11) == Month(2022, 12)
    assert jan.plus(12) == Month(2023, 1)
    assert jan.plus(72) == Month(2028, 1)
    assert jan.plus(-1) == Month(2021, 12)
    assert jan.plus(-13) == Month(2020, 12)


def test_index_from_counts_months_between() -> None:
    start = Month(2022, 1)
    assert Month(2022, 7).index_from(start) == 6  # the CPC halt is month 6 of the run
    assert Month(2026, 1).index_from(start) == 48
    assert Month(2021, 12).index_from(start) == -1


def test_str_first_day_and_order() -> None:
    m = Month(2022, 7)
    assert str(m) == "2022-07"
    assert str(Month(987, 3)) == "0987-03"
    assert m.first_day() == date(2022, 7, 1)
    assert Month(2022, 12) < Month(2023, 1) < Month(2023, 2)
    assert sorted([Month(2023, 1), Month(2022, 12)]) == [Month(2022, 12), Month(2023, 1)]


@settings(max_examples=50, deadline=None, derandomize=True)
@given(months, st.integers(-2400, 2400))
def test_plus_and_index_from_are_inverse(start: Month, n: int) -> None:
    end = start.plus(n)
    assert 1 <= end.month <= 12
    assert end.index_from(start) == n
    assert end.plus(-n) == start
    assert parse_month(str(end)) == end


def test_first_days_date_the_steps_across_a_year_end() -> None:
    assert first_days(Month(2022, 11), 3) == [date(2022, 11, 1), date(2022, 12, 1),
                                              date(2023, 1, 1)]
    assert first_days(Month(2022, 11), 0) == []


def test_month_first_day_reads_a_stored_label() -> None:
    assert month_first_day("2024-03") == date(2024, 3, 1)
    with pytest.raises(ValueError):
        month_first_day("March 2024")


@given(months, st.integers(0, 40))
@settings(max_examples=50, deadline=None)
def test_first_days_agree_with_plus(start: Month, n: int) -> None:
    days = first_days(start, n)
    assert [month_first_day(f"{d:%Y-%m}") for d in days] == days
    assert all(start.plus(t).first_day() == d for t, d in enumerate(days))
