"""The seminar page's log lists each played month once, newest first: for a surviving mutant."""

from __future__ import annotations

from alignsim.demo.app import log_html
from alignsim.demo.world import SeminarModel


def test_log_lists_each_played_month_once_newest_first() -> None:
    m = SeminarModel()
    for _ in range(3):
        m.step()
    page = log_html(m)
    start = m.spec.start
    headers = [f"<div class='alignsim-month'><b>{start.plus(t)}</b>" for t in (2, 1, 0)]
    assert page.count("<div class='alignsim-month'>") == 3
    positions = [page.index(h) for h in headers]
    assert positions == sorted(positions)  # month 2, then 1, then 0
    assert f"<b>{start.plus(-1)}</b>" not in page  # nothing before the start
    last_two = log_html(m, months=2)
    assert last_two.count("<div class='alignsim-month'>") == 2
    assert headers[2] not in last_two
