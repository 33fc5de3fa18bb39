"""The seminar room in a real browser (issue 16): a teacher and three students, each in a
browser context of their own (separate cookies, separate Solara sessions), play six months of
``history`` on a real ``alignsim-demo --room`` server.

Checked each month: every screen still connected shows the same month, axis and log. Türkiye's
student closes the tab after month 3; the teacher starts a short timer, the month closes by
itself and the log says the model's rule played for Türkiye. Kazakhstan's student reloads and
keeps the country. The debrief renders on the teacher's and a student's screen, the moves
download as CSV, and no page logs a console error. The screenshots for the README are taken
at 1024x768 (written to docs/img only with ALIGNSIM_UPDATE_SCREENSHOT=1).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from browser_support import ARGS, CHROMIUM, UI_TIMEOUT_MS, needs_chromium, serving

ROOT = Path(__file__).resolve().parents[1]
IMG = ROOT / "docs" / "img"
UPDATE = os.environ.get("ALIGNSIM_UPDATE_SCREENSHOT") == "1"
HOST_KEY = "test-host-key"
MOVES = {  # what each student plays when the record leaves the choice to them
    "russia": ["summit", "pipeline_halt", "summit", "security_guarantee", "summit", "none"],
    "kazakhstan": ["turkic_format", "neutral_mediation", "turkic_format", "balancing_visit",
                   "turkic_format", "route_diversification"],
    "turkiye": ["investment_fund", "summit", "summit", "summit", "summit", "summit"],
}
DROP_OUT_MONTH = 3  # Türkiye's student is gone from this month on

pytestmark = needs_chromium


@contextlib.contextmanager
def _serve(rooms: Path) -> Iterator[str]:
    """``alignsim-demo --room`` on a free port, games saved in ``rooms``; stopped at the end."""
    env = {**os.environ, "ALIGNSIM_ROOM_HOST_KEY": HOST_KEY}
    with serving(lambda port: [sys.executable, "-m", "alignsim.demo.serve", "--room", "--port",
                               str(port), "--rooms-dir", str(rooms)], env) as url:
        yield url


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    with _serve(tmp_path_factory.mktemp("rooms")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield b
        finally:
            b.close()


class Screen:
    """One person's browser context and tab, collecting console errors."""

    def __init__(self, browser, url: str) -> None:
        self.context = browser.new_context(viewport={"width": 1024, "height": 768},
                                           accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text)
                     if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)

    def wait(self, js: str) -> None:
        self.page.wait_for_function(js, timeout=UI_TIMEOUT_MS)

    def wait_month(self, n: int) -> None:
        """Until the status and the log both show month ``n`` (they may arrive apart)."""
        last = "" if n == 0 else f" && document.querySelector('.room-month-log')?.dataset.month" \
            f" === '{n - 1}'"
        self.wait(f"document.querySelector('.room-month')?.textContent === '{n}'{last}")

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def all_text(self, selector: str) -> str:
        """textContent (also of collapsed parts, e.g. the room notes)."""
        return self.page.locator(selector).first.evaluate("e => e.textContent")

    def button(self, name: str):
        return self.page.get_by_role("button", name=name, exact=True)

    def state(self) -> tuple[str, str]:
        """What must agree across screens: the status line and the newest month of the log."""
        return self.text(".room-status"), self.text(".room-month-log")


def _join(browser, url: str, code: str, name: str, actor: str) -> Screen:
    s = Screen(browser, f"{url}?room={code}")
    s.page.get_by_label("Your name (up to 24 characters)").fill(name)
    s.button("Join").click()
    s.page.wait_for_selector(f".room-pick-{actor}", timeout=UI_TIMEOUT_MS)
    assert "token=" in s.page.url  # the address now carries the student's own token
    s.page.locator(f".room-pick-{actor}").click()
    s.page.wait_for_selector(".room-country", timeout=UI_TIMEOUT_MS)
    return s


def _open_room(browser, url: str) -> tuple[Screen, str]:
    t = Screen(browser, f"{url}?host={HOST_KEY}")
    t.page.get_by_label("Timer per month (s, 0 = off)").fill("0")
    t.button("Open room").click()
    t.page.wait_for_selector(".room-code", timeout=UI_TIMEOUT_MS)
    assert "teacher=" in t.page.url
    assert t.page.locator("svg.room-qr").count() == 1
    return t, t.text(".room-code").strip()


def _choose(s: Screen, actor: str, month: int) -> bool:
    """Click this month's move if the record leaves the choice to the student."""
    if s.page.locator(".room-choose").count() == 0:  # the record decides this month
        return False
    s.page.locator(f".room-choose-{MOVES[actor][month]}").click()
    s.wait("document.querySelector('.room-my-choice') !== null")
    return True


def test_a_class_plays_six_months_of_history(server: str, browser) -> None:
    teacher, code = _open_room(browser, server)
    students = {"russia": _join(browser, server, code, "Rus <i>", "russia"),
                "kazakhstan": _join(browser, server, code, "Kaz", "kazakhstan"),
                "turkiye": _join(browser, server, code, "Tur", "turkiye")}
    screens = [teacher, *students.values()]
    teacher.wait("document.querySelector('.room-scores')?.textContent.includes('Tur')")
    assert "Rus &lt;i&gt;" in teacher.page.content()  # a typed name is shown as text
    teacher.button("Start").click()
    for s in screens:
        s.wait("document.querySelector('.room-state')?.textContent === 'Choosing'")
    delays = []
    for month in range(6):
        for s in screens:  # a student's screen must be on this month before they choose
            s.wait_month(month)
        for actor, s in students.items():
            if s in screens and _choose(s, actor, month):
                teacher.wait(f"document.querySelector(\"[data-actor='{actor}'] .room-chosen\")"
                             "?.textContent === '✔ chosen'")
        if month == DROP_OUT_MONTH:
            teacher.page.get_by_label("Timer per month (s, 0 = off)").fill("3")
            teacher.button("Set").click()
            start = None  # closed by the timer, nobody clicks
        else:
            start = time.monotonic()
            teacher.button("Close month").click()
        for s in screens:
            s.wait_month(month + 1)
        if start is not None:
            delays.append(time.monotonic() - start)
        states = [s.state() for s in screens]
        assert all(st == states[0] for st in states), "\n".join(map(repr, states))
        if month == DROP_OUT_MONTH - 1:
            students["turkiye"].context.close()  # the student closes the tab
            screens.remove(students["turkiye"])
        if month == DROP_OUT_MONTH:
            newest = teacher.all_text(".room-month-log")
            assert "timer ran out" in newest
            assert re.search("Türkiye: [^(]*[(]nobody chose — the model's rule played[)]",
                             newest), newest
            assert "Timer ran out: no choice from Türkiye" in teacher.all_text(".room-notes")
            teacher.page.get_by_label("Timer per month (s, 0 = off)").fill("0")
            teacher.button("Set").click()
            teacher.wait("document.querySelector('.room-timer')?.textContent === 'no timer'")
        if month == 4:  # Kazakhstan's student reloads: same address, same country
            kaz = students["kazakhstan"]
            kaz.page.reload()
            kaz.page.wait_for_selector(".room-country", timeout=UI_TIMEOUT_MS)
            assert kaz.text(".room-country") == "Kazakhstan"
            _screenshots(teacher, students["russia"])
    log = teacher.all_text(".room-log")
    assert "Russia: summit (chosen by Rus <i>)" in log
    teacher.button("End game").click()
    for s in (teacher, students["russia"]):
        s.page.wait_for_selector(".room-debrief .room-percentile", timeout=UI_TIMEOUT_MS)
        text = s.text(".room-debrief")
        assert "model-only runs" in text and "The rule in its place" in text
        assert s.page.locator(".chart-room-debrief").count() == 1
    if UPDATE:
        teacher.page.locator(".room-debrief").scroll_into_view_if_needed()
        teacher.page.screenshot(path=str(IMG / "room_debrief.png"))
    with teacher.page.expect_download() as download:
        teacher.button("Download all moves (CSV)").click()
    rows = Path(download.value.path()).read_text().strip().splitlines()
    assert len(rows) == 1 + 6 * 6 and any(re.search(",turkiye,[a-z_]+,fallback,", r) for r in rows)
    digest = [r.split(",")[1:6] for r in rows[1:] if r.split(",")[3] in MOVES]
    print("\nroom moves:", digest, rows[-1].split(",")[11])
    print(f"room browser test: close → every screen updated, s: "
          f"{', '.join(f'{d:.2f}' for d in delays)}")
    for s in screens:
        assert s.errors == [], s.errors
    teacher.context.close()
    students["russia"].context.close()
    students["kazakhstan"].context.close()


def _screenshots(teacher: Screen, student: Screen) -> None:
    folder = IMG if UPDATE else Path(tempfile.mkdtemp())
    teacher.page.screenshot(path=str(folder / "room_teacher.png"))
    student.page.screenshot(path=str(folder / "room_student.png"))
    assert (folder / "room_teacher.png").stat().st_size > 10_000


@pytest.mark.slow
def test_a_game_resumes_after_the_server_restarts(browser, tmp_path: Path) -> None:
    """Stop the server mid-game, start a new one on the same rooms folder: the teacher's and
    the student's addresses bring the game back, paused, at the month it had reached."""
    with _serve(tmp_path) as url:
        teacher, code = _open_room(browser, url)
        student = _join(browser, url, code, "Ana", "russia")
        teacher.button("Start").click()
        teacher.wait("document.querySelector('.room-state')?.textContent === 'Choosing'")
        teacher.button("Close month").click()
        for s in (teacher, student):
            s.wait_month(1)
        before = teacher.text(".room-month-log")
        addresses = [teacher.page.url.replace(url, ""), student.page.url.replace(url, "")]
        teacher.context.close()
        student.context.close()
    with _serve(tmp_path) as url:
        teacher, student = (Screen(browser, url + a) for a in addresses)
        for s in (teacher, student):
            s.page.wait_for_selector(".room-month", timeout=UI_TIMEOUT_MS)
            s.wait_month(1)
            assert s.text(".room-state") == "Paused"
            assert s.text(".room-month-log") == before
        assert student.text(".room-country") == "Russia"
        teacher.button("Resume").click()
        teacher.button("Close month").click()
        for s in (teacher, student):
            s.wait_month(2)
        assert teacher.errors == [] and student.errors == []
        teacher.context.close()
        student.context.close()


def _pick(s: Screen, label: str, option: str) -> None:
    """Choose ``option`` in the Vuetify select labelled ``label``.

    As a person would, it clicks the select again if its menu did not open: a click that lands
    while the page redraws after a month closes can leave the menu shut (seen in about one full
    run in three)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wanted = s.page.get_by_role("option", name=option)
    for _ in range(3):
        s.page.get_by_label(label).click(force=True)
        try:
            wanted.wait_for(state="visible", timeout=UI_TIMEOUT_MS // 3)
            break
        except PlaywrightTimeout:
            s.page.keyboard.press("Escape")
    wanted.click()


def test_the_teachers_controls_in_the_browser(server: str, browser) -> None:
    """Change a parameter (★ on the chart), a bad value (one message), move an event, undo,
    kick a student (whose screen then says so)."""
    teacher, code = _open_room(browser, server)
    student = _join(browser, server, code, "Anna", "russia")
    teacher.button("Start").click()
    teacher.wait("document.querySelector('.room-state')?.textContent === 'Choosing'")
    teacher.button("Close month").click()
    teacher.wait_month(1)
    teacher.page.get_by_text("Change the world from this month").click()
    teacher.page.get_by_label("Parameter").wait_for(timeout=UI_TIMEOUT_MS)
    _pick(teacher, "Parameter", "How much of the CPC flow a halt stops")
    teacher.page.get_by_label("New value", exact=False).fill("40")
    teacher.button("Apply").click()
    for s in (teacher, student):
        s.wait("document.querySelector('.room-marks')?.textContent.includes('★1')")
    assert "100 % of CPC flow → 40 % of CPC flow" in teacher.text(".room-marks")
    teacher.page.get_by_label("New value", exact=False).fill("abc")
    teacher.button("Apply").click()
    teacher.page.wait_for_selector(".room-error", timeout=UI_TIMEOUT_MS)
    assert teacher.text(".room-error") == ("How much of the CPC flow a halt stops: must be a "
                                           "number (got 'abc')")
    _pick(teacher, "Event", "CPC halt")
    _pick(teacher, "New month", "2022-09")
    teacher.button("Move event").click()
    teacher.wait("document.querySelector('.room-notes')?.textContent"
                 ".includes(\"Event 'CPC halt': 2022-07 → 2022-09\")")
    teacher.button("Undo last month").click()
    for s in (teacher, student):
        s.wait_month(0)
    assert "★1" not in teacher.text(".room-marks")  # changes made after the month go with it
    teacher.button("Kick").click()
    student.page.wait_for_selector(".room-error", timeout=UI_TIMEOUT_MS)
    assert student.text(".room-error").startswith("Player: not in this room")
    assert teacher.errors == [] and student.errors == []
    teacher.context.close()
    student.context.close()


def test_the_board_is_the_projectors_screen_without_controls(server: str, browser) -> None:
    """The board (what the plan projects) follows the game, shows the debrief when the teacher
    asks, and has neither controls nor the teacher's secret in its address."""
    teacher, code = _open_room(browser, server)
    link = teacher.page.locator(".room-board-link a").get_attribute("href")
    assert link == f"/?room={code}&view=board"
    board = Screen(browser, server.rstrip("/") + link)
    board.page.wait_for_selector(".room-code", timeout=UI_TIMEOUT_MS)
    assert board.text(".room-code").strip() == code and "teacher=" not in board.page.url
    teacher.button("Start").click()
    board.wait("document.querySelector('.room-state')?.textContent === 'Choosing'")
    teacher.button("Close month").click()
    board.wait_month(1)
    for name in ("Start", "Resume", "Pause", "Close month", "Undo last month", "End game",
                 "Kick", "Show the debrief now"):
        assert board.button(name).count() == 0, name
    teacher.button("Show the debrief now").click()
    board.page.wait_for_selector(".room-debrief", timeout=UI_TIMEOUT_MS)
    assert teacher.errors == [] and board.errors == []
    teacher.context.close()
    board.context.close()
