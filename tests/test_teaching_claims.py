"""Every numeric claim of docs/teaching.md, checked against runs of the model (issue 15).

The seminar plan tells students what they will see; when the model changes, the plan must
change with it. Each test reads its numbers *from the document* (a regular expression over the
sentence that states them) and compares them with a run, at the precision the document
prints. A sentence that is rewritten so that its pattern no longer matches fails too, with a
message saying which claim to re-check here: the plan cannot drift silently.

Runs use the ensemble driver (replicate 0 is the page's trajectory, checked once below against
the page's own ``SeminarModel``), with the page's controls turned into a config by
:func:`alignsim.config.flat_world`, as the page does. Dates follow the document's convention:
"after the June 2022 step" is the state after that month's step, which the page shows as
2022-07; "crosses zero in 2026-06" means the step of June 2026 took the axis above zero.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from alignsim.config import flat_defaults, flat_world
from alignsim.ensemble import Trajectory, run_ensemble

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "teaching.md"
MONTHS = {m: i for i, m in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"), start=1)}


@cache
def text() -> str:
    """The document with line breaks as spaces (claims wrap across lines)."""
    return re.sub(r"\s+", " ", DOC.read_text(encoding="utf-8"))


def claim(pattern: str) -> re.Match[str]:
    found = re.search(pattern, text())
    assert found, (f"docs/teaching.md no longer states this claim in the form checked here: "
                   f"{pattern!r} — re-measure it and update tests/test_teaching_claims.py")
    return found


def number(s: str) -> float:
    return float(s.replace("−", "-"))


def same(measured: float, written: str) -> bool:
    """Equal at the precision the document prints (half a unit of its last digit)."""
    decimals = len(written.split(".")[1]) if "." in written else 0
    return abs(measured - number(written)) <= 0.5 * 10.0 ** -decimals + 1e-12


@cache
def run(scenario: str, seed: int | None = None, **controls: float) -> Trajectory:
    cfg, spec = flat_world({"scenario_name": scenario, **controls})
    return run_ensemble(spec, 1, cfg.seed if seed is None else seed)


def axis(tr: Trajectory) -> np.ndarray:
    return tr.spec.axis_of(tr.alignment[:, 0])


def russian(tr: Trajectory) -> np.ndarray:
    return tr.alignment[:, 0, tr.spec.spheres.index("russian")]


def after_step(tr: Trajectory, year: int, month: int) -> int:
    """Index of the state after the step of ``year-month``."""
    start = tr.spec.start
    return (year - start.year) * 12 + (month - start.month) + 1


def times(tr: Trajectory, actor: str, action: str) -> np.ndarray:
    """The months (step indices) in which ``actor`` took ``action``."""
    a, n = tr.spec.actions.index(action), tr.spec.actors.index(actor)
    return np.flatnonzero(tr.actions[:, 0, n] == a)


def crossing(tr: Trajectory) -> str | None:
    """The month whose step first took the axis above zero (None: never by the end)."""
    above = np.flatnonzero(axis(tr) > 0)
    return str(tr.spec.start.plus(int(above[0]) - 1)) if above.size else None


# --------------------------------------------------------------------------- exercise 1
def test_the_default_seed_is_the_one_the_plan_measured() -> None:
    m = claim(r"Measured on the page's defaults, seed (\d+):")
    assert int(m.group(1)) == flat_defaults().seed


def test_exercise_1_the_halt_month() -> None:
    m = claim(r"([0-9.]+) after the June 2022 step, ([0-9.]+) after the July step, when the page "
              r"shows 2022-08, where the axis reads ([−\-0-9.]+) against ([−\-0-9.]+) after a "
              r"0\.2 halt")
    full, mild = run("history", halt_severity=1.0), run("history", halt_severity=0.2)
    june, july = after_step(full, 2022, 6), after_step(full, 2022, 7)
    assert same(russian(full)[june], m.group(1)) and same(russian(full)[july], m.group(2))
    assert same(axis(full)[july], m.group(3)) and same(axis(mild)[july], m.group(4))
    assert "in the month it bites the Russian share falls" in text()
    assert russian(full)[july] < russian(full)[june]


def test_exercise_1_the_page_shows_the_same_run() -> None:
    from alignsim.demo.world import SeminarModel

    page = SeminarModel(scenario_name="history", halt_severity=1.0)
    for _ in range(7):
        page.step()
    assert page.date == "2022-08"
    assert page.axis == pytest.approx(axis(run("history", halt_severity=1.0))[7], abs=1e-12)


def test_exercise_1_the_harsher_halt_backfires() -> None:
    m = claim(r"by December 2023 it is ([0-9.]+) after a full halt against ([0-9.]+) after a "
              r"0\.2 halt")
    full, mild = run("history", halt_severity=1.0), run("history", halt_severity=0.2)
    t = after_step(full, 2023, 12)
    assert same(russian(full)[t], m.group(1)), (russian(full)[t], m.group(1))
    assert same(russian(mild)[t], m.group(2)), (russian(mild)[t], m.group(2))
    assert russian(full)[t] < russian(mild)[t]


def test_exercise_1_coercion_appetite_after_a_full_halt() -> None:
    m = claim(r"from ([0-9.]+) to ([0-9.]+) the shares and the single halt stay the same")
    base = run("history", halt_severity=1.0)
    for appetite in (number(m.group(1)), number(m.group(2))):
        tr = run("history", halt_severity=1.0, coercion_appetite=appetite)
        np.testing.assert_array_equal(tr.alignment, base.alignment)
        assert times(tr, "russia", "pipeline_halt").size == 1


def test_exercise_1_a_mild_halt_invites_repetition() -> None:
    m = claim(r"at the top of the slider, ([0-9.]+), with a mild halt of 0\.2, Russia halts again "
              r"on its own, (\w+) times from (\w+) (\d{4}) to (\w+) (\d{4}).*?the axis ends 2027 "
              r"at ([−\-0-9.]+), against ([−\-0-9.]+) with the default appetite")
    from alignsim.demo.world import CONTROL_BY_KEY

    assert number(m.group(1)) == CONTROL_BY_KEY["coercion_appetite"].hi
    tr = run("history", halt_severity=0.2, coercion_appetite=number(m.group(1)))
    free = [t for t in times(tr, "russia", "pipeline_halt") if tr.spec.forced[t, 1] < 0]
    words = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
    assert len(free) == words[m.group(2)]
    assert str(tr.spec.start.plus(free[0])) == f"{m.group(4)}-{MONTHS[m.group(3)]:02d}"
    assert str(tr.spec.start.plus(free[-1])) == f"{m.group(6)}-{MONTHS[m.group(5)]:02d}"
    assert same(axis(tr)[-1], m.group(7))
    assert same(axis(run("history", halt_severity=0.2))[-1], m.group(8))


# --------------------------------------------------------------------------- exercise 2
SEEDS = {"the default seed": None, "seed 2": 2, "seed 3": 3}


def funds(size: float) -> dict[str, float]:
    return {"fund_az_bn": size, "fund_tr_bn": size}


def test_exercise_2_tipping_sizes() -> None:
    m = claim(r"at USD ([0-9.]+) bn per launch the axis does not cross zero by December 2027 for "
              r"the default seed, seed 2 or seed 3; at ([0-9.]+) bn only seed 2 crosses, in "
              r"(\w+) (\d{4}); at ([0-9.]+) bn all three cross, seed 2 in (\w+) (\d{4}), seed 3 "
              r"in (\w+) (\d{4}), the default seed in (\w+) (\d{4}); at ([0-9.]+) bn all three "
              r"cross in (\w+)–(\w+) (\d{4}); at ([0-9.]+) bn the axis ends near ([−\-0-9.]+)\.")
    g = m.groups()

    def date(month: str, year: str) -> str:
        return f"{year}-{MONTHS[month]:02d}"

    none = [crossing(run("baseline", s, **funds(number(g[0])))) for s in SEEDS.values()]
    assert none == [None, None, None]
    some = {k: crossing(run("baseline", s, **funds(number(g[1])))) for k, s in SEEDS.items()}
    assert some == {"the default seed": None, "seed 2": date(g[2], g[3]), "seed 3": None}
    all3 = {k: crossing(run("baseline", s, **funds(number(g[4])))) for k, s in SEEDS.items()}
    assert all3 == {"seed 2": date(g[5], g[6]), "seed 3": date(g[7], g[8]),
                    "the default seed": date(g[9], g[10])}
    early = [crossing(run("baseline", s, **funds(number(g[11])))) for s in SEEDS.values()]
    assert all(c is not None and date(g[12], g[14]) <= c <= date(g[13], g[14]) for c in early)
    ends = [axis(run("baseline", s, **funds(number(g[15]))))[-1] for s in SEEDS.values()]
    assert all(abs(e - number(g[16])) <= 0.05 for e in ends), ends  # "near"


def test_exercise_2_sliders_reach_the_tipping_sizes() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY

    m = claim(r"The sliders go to ([0-9.]+) bn\.")
    assert CONTROL_BY_KEY["fund_tr_bn"].hi == CONTROL_BY_KEY["fund_az_bn"].hi == number(m[1])


def test_exercise_2_larger_funds_are_chosen_more_often() -> None:
    m = claim(r"Larger funds are chosen \*more\* often.*?at ([0-9.]+) bn Azerbaijan launches in "
              r"(\d+) of the 72 months and Türkiye in (\d+); at ([0-9.]+) bn in (\d+) and (\d+)")
    small, large = (run("baseline", **funds(number(m[1]))), run("baseline", **funds(number(m[4]))))
    assert number(m[1]) == flat_defaults().funds["fund_tr_bn"]  # the page's starting value
    assert [times(small, a, "investment_fund").size for a in ("azerbaijan", "turkiye")] == [
        int(m[2]), int(m[3])]
    assert [times(large, a, "investment_fund").size for a in ("azerbaijan", "turkiye")] == [
        int(m[5]), int(m[6])]


# ---------------------------------------------------------------------- what it points to
def test_every_path_the_plan_names_exists() -> None:
    """Readers have the repository, not the authors' machines (no ``shared/seeds/``)."""
    body = DOC.read_text(encoding="utf-8")
    assert "shared/" not in body
    for target in re.findall(r"\]\(([^)#:]+)\)", body):
        assert (DOC.parent / target).exists(), target
    for path in re.findall(r"`([\w./-]+/[\w./-]*)`", body):
        assert (ROOT / path).exists(), path


def test_the_page_controls_the_plan_names() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY, LIVE_KEYS

    m = claim(r"Set the CPC share low \(([0-9.]+)\)")
    cpc = CONTROL_BY_KEY["cpc_share"]
    assert cpc.lo <= number(m[1]) <= cpc.hi
    # how the page behaves (checked in a browser by tests/test_demo_browser.py)
    claim(r"\*\*Live sliders apply from the next month\.\*\*")
    claim(r"Scenario, seed and the CPC share set how the world \*starts\*")
    assert "cpc_share" not in LIVE_KEYS and "halt_severity" in LIVE_KEYS
    assert "Sliders take effect when you press Reset" not in text()
    from alignsim.demo.app import PLAY_INTERVAL_S

    claim(r"\*\*▶ Play\*\* plays one month a second")
    assert PLAY_INTERVAL_S == 1.0


def test_the_log_words_the_plan_quotes_are_the_pages() -> None:
    """The plan quotes option names as the log prints them (action labels, not config keys)."""
    labels = run("history").spec.action_labels
    for quoted in re.findall(r'"✔ ([a-z ]+)"', text()) + re.findall(r"lines for ([a-z ]+)\.",
                                                                       text()):
        assert quoted in labels, quoted
