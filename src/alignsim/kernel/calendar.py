"""Months as the model's clock: one step is one month from the scenario's start."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month. Steps and dates convert through :meth:`plus` and :meth:`index_from`."""

    year: int
    month: int

    def plus(self, months: int) -> Month:
        k = self.year * 12 + (self.month - 1) + int(months)
        return Month(k // 12, k % 12 + 1)

    def index_from(self, start: Month) -> int:
        return (self.year - start.year) * 12 + (self.month - start.month)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def parse_month(text: str) -> Month:
    """Parse ``YYYY-MM`` (or ``YYYY-MM-DD``, the day is ignored) into a :class:`Month`."""
    m = _MONTH.match(str(text).strip())
    if not m:
        raise ValueError(f"{text!r} is not a date; allowed: YYYY-MM or YYYY-MM-DD")
    year, month = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} has no month {month}; allowed: 01 to 12")
    if m.group(3) is not None:
        date(year, month, int(m.group(3)))  # validates the day
    return Month(year, month)


def first_days(start: Month, months: int) -> list[date]:
    """The first day of each of ``months`` months from ``start``: the dates of steps 0, 1, ...

    Step ``t`` is the state at the start of month ``start + t``; tables and figures date it by
    that month's first day. One helper, so that every table and figure dates a step alike.
    """
    return [start.plus(t).first_day() for t in range(int(months))]


def month_first_day(text: str) -> date:
    """The first day of the month a ``YYYY-MM`` label names (the months of stored tables)."""
    return parse_month(text).first_day()
