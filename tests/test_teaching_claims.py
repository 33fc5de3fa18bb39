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
Claims about the page's *why* lines (expected payoffs, chances, attention costs) are measured on
the page's own ``SeminarModel``, which keeps what the log prints.
"""

from __future__ import annotations

import itertools
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


def free(tr: Trajectory, actor: str, action: str) -> list[str]:
    """The months (``YYYY-MM``) in which ``actor`` chose ``action`` itself (not scheduled)."""
    n = tr.spec.actors.index(actor)
    return [str(tr.spec.start.plus(int(t))) for t in times(tr, actor, action)
            if tr.spec.forced[t, n] < 0]


def month_of(month: str, year: str) -> str:
    return f"{year}-{MONTHS[month]:02d}"


def page(months: int | None = None, **controls: float):
    """The page's world (``SeminarModel``) after ``months`` steps (None: the whole run)."""
    from alignsim.demo.world import SeminarModel

    model = SeminarModel(**controls)
    while not model.finished and (months is None or model.month < months):
        model.step()
    return model


@cache
def whole_page(**controls: float):
    return page(None, **controls)


def choice(model, t: int, actor: str):
    """What ``actor`` weighed and did in month ``t`` (its *why* line on the page)."""
    c = model.choices[t][model.spec.actors.index(actor)]
    assert c.actor == model.spec.actor_labels[model.spec.actors.index(actor)], c.actor
    return c


# -------------------------------------------------------------------------- what it is
def forced_moves(tr: Trajectory) -> dict[tuple[str, str], str]:
    """The scenario's scheduled moves: (month, actor) -> action."""
    spec = tr.spec
    return {(str(spec.start.plus(t)), spec.actors[n]): spec.actions[spec.forced[t, n]]
            for t in range(spec.months) for n in range(spec.n_actors) if spec.forced[t, n] >= 0}


def test_what_history_schedules() -> None:
    m = claim(r"The `history` scenario replays the dated events of 2022–2025 from the source "
              r"articles: the CSTO deployment, the refusal to recognise Donetsk and Luhansk, the "
              r"July 2022 CPC halt, the BTC deal, the Baku fund, the airliner shoot-down\. Where "
              r"the record has Kazakhstan act, the scenario schedules Kazakhstan's own move from "
              r"the catalogue, with that move's effects: the promise not to help anyone around the "
              r"sanctions \((\w+) (\d{4})\), the refusal of recognition \((\w+) (\d{4})\), the "
              r"balancing visits, "
              r"Moscow then Paris \((\w+) (\d{4})\), and neutral mediation, the black boxes sent "
              r"to Brazil \((\w+) (\d{4})\)\. After 2025 the actors play freely until December "
              r"2027\. `baseline` has no scheduled events\.")
    tr = run("history")
    forced = forced_moves(tr)
    promise, refusal, visits, mediation = (month_of(m[i], m[i + 1]) for i in (1, 3, 5, 7))
    assert {d: a for (d, who), a in forced.items() if who == "kazakhstan"} == {
        promise: "sanctions_compliance", refusal: "recognition_refusal",
        visits: "balancing_visit", mediation: "neutral_mediation"}
    # the others' scheduled moves are the CSTO deployment, the halt and the Baku fund: the hosts
    # of the visits hold no scheduled summits
    assert {k: a for k, a in forced.items() if k[1] != "kazakhstan"} == {
        ("2022-01", "russia"): "security_guarantee", ("2022-07", "russia"): "pipeline_halt",
        ("2024-03", "azerbaijan"): "investment_fund"}
    # the promise and the mediation are the catalogue moves alone: their events add nothing
    for month in (promise, mediation):
        assert not tr.spec.event_effects[month_index(tr, month)].any(), month
    cfg, _ = flat_world({"scenario_name": "history"})
    events = {e.name: str(e.date) for e in cfg.scenario.events}
    for name, date in (("CSTO deployment", "2022-01"), ("No sanctions circumvention", promise),
                       ("Recognition refusal and rail link", refusal), ("CPC halt", "2022-07"),
                       ("BTC agreement, Moscow then Paris", visits),
                       ("Tokayev in Baku, USD 300 M fund", "2024-03"),
                       ("Airliner shoot-down", "2024-12"), ("Black boxes to Brazil", mediation)):
        assert events[name] == date, name
    assert max(events.values()) < "2026-01" and max(d for d, _ in forced) < "2026-01"
    assert str(tr.spec.start.plus(tr.months - 1)) == "2027-12"
    base = run("baseline")
    assert not forced_moves(base) and not base.spec.event_effects.any()
    assert not flat_world({"scenario_name": "baseline"})[0].scenario.events


# ------------------------------------------------------------------------ how it works
def test_the_default_catalogue_has_kazakhstans_own_moves() -> None:
    claim(r"Kazakhstan's own gestures of the record: a promise not to help anyone around the "
          r"sanctions, a Turkic format, balancing visits \(Moscow first, then Paris\), "
          r"neutral mediation\.")
    spec = run("history").spec
    for key in ("sanctions_compliance", "turkic_format", "balancing_visit", "neutral_mediation"):
        a = spec.actions.index(key)
        users = [spec.actors[n] for n in range(spec.n_actors) if spec.allowed[n, a]]
        assert users == ["kazakhstan"], (key, users)


def test_kazakhstan_looks_twelve_months_ahead_the_powers_one() -> None:
    from alignsim.kernel.spec import actor_horizons

    claim(r"The powers look one month ahead\. Kazakhstan looks twelve: it values a lever by its "
          r"discounted mean payoff over the coming year, as if it then kept still and the others "
          r"kept their last moves")
    spec = run("history").spec
    assert 0.0 < spec.discount < 1.0  # discounted
    horizon = dict(zip(spec.actors, actor_horizons(spec).tolist(), strict=True))
    assert horizon.pop("kazakhstan") == 12
    assert set(horizon.values()) == {1}


def test_attention_costs_as_the_plan_states_them() -> None:
    m = claim(r"Each use the actor still remembers adds (\w+) times the lever's base cost "
              r"\(`repeat_cost: (\d+)`\), and the memory fades by a (\w+) a month "
              r"\(`world\.dynamics\.usage_decay`\).*?Building an export route is exempt")
    words = {"ten": 10, "tenth": 0.1}
    spec = run("history").spec
    assert words[m[1]] == int(m[2])
    assert spec.dyn["usage_decay"] == pytest.approx(words[m[3]])
    for a, name in enumerate(spec.actions):
        expected = 0.0 if name in ("none", "route_diversification") else float(m[2])
        assert spec.repeat_cost[a] == expected, name


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


def test_exercise_1_the_erosion_stops_and_turns() -> None:
    m = claim(r"As the threat fades without new halts, the erosion stops and slowly turns: after "
              r"a full halt the Russian share is lowest, ([0-9.]+), after the (\w+) (\d{4}) step, "
              r"and is back at ([0-9.]+) by December 2027\.")
    full = run("history", halt_severity=1.0)
    r = russian(full)
    low = int(np.argmin(r))
    assert low == after_step(full, int(m[3]), MONTHS[m[2]]), str(full.spec.start.plus(low - 1))
    assert same(r[low], m[1]) and same(r[-1], m[4]) and r[-1] > r[low]
    assert free(full, "russia", "pipeline_halt") == []  # no new halts
    assert np.all(np.diff(r[low:]) > -1e-3)  # it turns, and slowly: no new fall


WORDS = {"once": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10,
         "fourteen": 14, "thirty": 30}


def appetite_slider():
    from alignsim.demo.world import CONTROL_BY_KEY

    return CONTROL_BY_KEY["coercion_appetite"]


def on_slider(value: float) -> bool:
    """``value`` is one the appetite slider can be set to (within range, on its step)."""
    c = appetite_slider()
    k = (value - c.lo) / c.step
    return c.lo <= value <= c.hi and abs(k - round(k)) < 1e-9


def month_index(tr: Trajectory, month: str) -> int:
    """The step index of ``YYYY-MM``."""
    return after_step(tr, int(month[:4]), int(month[5:])) - 1


def previous(tr: Trajectory, month: str) -> str:
    return str(tr.spec.start.plus(month_index(tr, month) - 1))


def test_exercise_1_coercion_appetite_after_a_full_halt() -> None:
    m = claim(r"changes nothing after a full halt on the default seed until it passes ([0-9.]+) "
              r"\(from ([0-9.]+) to ([0-9.]+) the shares and the single halt stay the same\); "
              r"the slider goes to ([0-9.]+)\. After a mild halt less is needed: from ([0-9.]+)\.")
    c = appetite_slider()
    assert number(m[2]) == c.lo and number(m[4]) == c.hi and m[1] == m[3]
    base = run("history", halt_severity=1.0)
    assert times(base, "russia", "pipeline_halt").size == 1  # the record's, scheduled
    for appetite in (number(m[2]), number(m[3])):
        assert on_slider(appetite)
        tr = run("history", halt_severity=1.0, coercion_appetite=appetite)
        np.testing.assert_array_equal(tr.alignment, base.alignment)
        assert times(tr, "russia", "pipeline_halt").size == 1, appetite
    # ... and one slider step beyond, Russia halts on its own
    above = round(number(m[3]) + c.step, 6)
    assert free(run("history", halt_severity=1.0, coercion_appetite=above), "russia",
                "pipeline_halt")
    # after a mild halt (0.2) the first own halt comes at a lower appetite
    mild = number(m[5])
    assert on_slider(mild) and mild < number(m[1])
    assert free(run("history", halt_severity=0.2, coercion_appetite=mild), "russia",
                "pipeline_halt")
    assert not free(run("history", halt_severity=0.2,
                        coercion_appetite=round(mild - c.step, 6)), "russia", "pipeline_halt")


SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹"


def superscript(s: str) -> int:
    return int("".join(str(SUPERSCRIPT.index(ch)) for ch in s))


def kazakh_moves(tr: Trajectory, action: str) -> list[str]:
    """The months in which Kazakhstan played ``action``, chosen or scheduled."""
    return [str(tr.spec.start.plus(int(t))) for t in times(tr, "kazakhstan", action)]


def scheduled(tr: Trajectory, actor: str, month: str) -> str | None:
    """The move the scenario forces on ``actor`` in ``month`` (None: a free choice)."""
    a = tr.spec.forced[month_index(tr, month), tr.spec.actors.index(actor)]
    return tr.spec.actions[a] if a >= 0 else None


def all_halts(tr: Trajectory) -> list[str]:
    """Every halt of the run, the record's and Russia's own."""
    return [str(tr.spec.start.plus(int(t))) for t in times(tr, "russia", "pipeline_halt")]


def next_month(tr: Trajectory, month: str) -> str:
    return str(tr.spec.start.plus(month_index(tr, month) + 1))


@cache
def mild_mid() -> dict[str, float]:
    """The mild halt (0.2) at the appetite the plan's attention-cost lesson uses."""
    m = claim(r"At ([0-9.]+), with a mild halt of 0\.2, Russia halts on its own")
    assert on_slider(number(m[1])) and number(m[1]) < appetite_slider().hi
    return {"halt_severity": 0.2, "coercion_appetite": number(m[1])}


def test_exercise_1_the_record_promise_is_punished_first() -> None:
    m = claim(r"What such an appetite punishes first is the record itself: the March 2022 promise "
              r"not to help anyone around the sanctions is scheduled as Kazakhstan's own move, and "
              r"that move signals autonomy \(defiance ([0-9.]+), against ([0-9.]+) for a "
              r"refusal\)\.")
    cfg, _ = flat_world({"scenario_name": "history"})
    assert cfg.actions["sanctions_compliance"].effects.defiance == number(m[1]) > 0
    assert cfg.actions["recognition_refusal"].effects.defiance == number(m[2]) > number(m[1])
    assert scheduled(run("history"), "kazakhstan", "2022-03") == "sanctions_compliance"
    # the lowest appetite at which a mild halt brings one of Russia's own: it answers that promise
    low = number(claim(r"After a mild halt less is needed: from ([0-9.]+)\.")[1])
    tr = run("history", halt_severity=0.2, coercion_appetite=low)
    first = free(tr, "russia", "pipeline_halt")[0]
    assert scheduled(tr, "kazakhstan", previous(tr, first)) == "sanctions_compliance", first


def test_exercise_1_a_mild_halt_invites_two() -> None:
    m = claim(r"At ([0-9.]+), with a mild halt of 0\.2, Russia halts on its own (\w+): in (\w+) "
              r"(\d{4}), the month after that scheduled promise and (\w+) months before the "
              r"record's halt, and again only in (\w+) (\d{4}), the month after Kazakhstan "
              r"promises once more in (\w+) and (\w+) (\d{4}) \(the log shows \"✔ pipeline halt\" "
              r"in its \*why\*\); the halts teach Kazakhstan more: the axis ends 2027 at "
              r"([−\-0-9.]+), against ([−\-0-9.]+) with the default appetite\. Students who "
              r"expect a string of halts at this appetite will not see one: that is the attention "
              r"cost\.")
    assert number(m[1]) == mild_mid()["coercion_appetite"]
    tr = run("history", **mild_mid())
    halts = free(tr, "russia", "pipeline_halt")
    first, late = month_of(m[3], m[4]), month_of(m[6], m[7])
    assert halts == [first, late] and len(halts) == {"twice": 2}[m[2]], halts
    assert scheduled(tr, "kazakhstan", previous(tr, first)) == "sanctions_compliance"
    assert scheduled(tr, "russia", "2022-07") == "pipeline_halt"
    assert month_index(tr, "2022-07") - month_index(tr, first) == WORDS[m[5]]
    promised = [month_of(m[8], m[10]), month_of(m[9], m[10])]
    assert month_index(tr, promised[1]) - month_index(tr, promised[0]) == 1
    assert all(p in free(tr, "kazakhstan", "sanctions_compliance") for p in promised), promised
    assert previous(tr, late) == promised[1]
    assert same(axis(tr)[-1], m[11]) and axis(tr)[-1] > axis(run("history", halt_severity=0.2))[-1]
    assert same(axis(run("history", halt_severity=0.2))[-1], m[12])
    # a full halt invites none at this appetite: the run is the default one
    full = run("history", halt_severity=1.0, coercion_appetite=mild_mid()["coercion_appetite"])
    assert free(full, "russia", "pipeline_halt") == []
    np.testing.assert_array_equal(full.alignment, run("history", halt_severity=1.0).alignment)


def test_exercise_1_the_attention_cost_of_a_third_halt() -> None:
    from numpy_kernel.dynamics import action_costs

    sup = f"([{SUPERSCRIPT}]+)"
    m = claim(r"Kazakhstan had already made a promise in (\w+) (\d{4}), and Russia let it pass: "
              r"with the halts of (\w+) and (\w+) (\d{4}) still remembered, a third halt would "
              rf"have cost it ([0-9.]+) × \(1 \+ (\d+) × \(([0-9.]+){sup} \+ ([0-9.]+){sup}\)\) "
              r"≈ ([0-9.]+) utility units instead of ([0-9.]+), and that surcharge alone kept the "
              r"halt from being Russia's best option\. By (\w+) (\d{4}) the memory has faded and a "
              r"mild halt pays again; a full halt still does not")
    tr = run("history", **mild_mid())
    promised, late = month_of(m[1], m[2]), month_of(m[14], m[15])
    own = free(tr, "russia", "pipeline_halt")
    # the first promise after Russia's own halt, let pass; the late halt is the last one
    assert next(p for p in free(tr, "kazakhstan", "sanctions_compliance") if p > own[0]) == promised
    assert next_month(tr, promised) not in all_halts(tr) and own[-1] == late
    remembered = [h for h in all_halts(tr) if h < promised]
    assert remembered == [month_of(m[3], m[5]), month_of(m[4], m[5])], remembered
    # the formula is the model's: base cost, repeat_cost, fading, months since each halt
    spec = tr.spec
    ru, h = spec.actors.index("russia"), spec.actions.index("pipeline_halt")
    base = spec.cost[ru, h]
    assert base == pytest.approx(number(m[6])) and number(m[13]) == number(m[6])
    assert spec.repeat_cost[h] == int(m[7])
    assert 1.0 - spec.dyn["usage_decay"] == pytest.approx(number(m[8])) == number(m[10])
    t = month_index(tr, promised) + 1  # the month after the promise: its index
    faded = [t - month_index(tr, x) - 1 for x in remembered]  # remembered as 1 after, fading
    assert faded == [superscript(m[9]), superscript(m[11])], faded
    formula = base * (1 + int(m[7]) * sum(number(m[8]) ** k for k in faded))
    assert same(formula, m[12]), formula
    # ... and what the page's world charges in the month after the promise
    world = page(t, scenario_name="history", **mild_mid())
    acts = np.zeros((1, spec.n_actors), dtype=np.int64)
    acts[0, ru] = h
    assert action_costs(world.state, acts, world.spec)[0, ru] == pytest.approx(formula)
    # not Russia's best then, but it would have been at the base cost
    c = choice(whole_page(scenario_name="history", **mild_mid()), t, "russia")
    others = max(e for a, e in enumerate(c.expected) if a != h)
    assert c.expected[h] < others < c.expected[h] + (formula - base), c
    # in the late month the mild halt is Russia's best, a full halt at the same appetite is not
    month = month_index(tr, late)
    for controls, halts in ((mild_mid(), True),
                            ({"halt_severity": 1.0,
                              "coercion_appetite": mild_mid()["coercion_appetite"]}, False)):
        c = choice(whole_page(scenario_name="history", **controls), month, "russia")
        assert (int(np.argmax(c.expected)) == h) == halts, (controls, c)


def test_exercise_1_just_past_the_threshold_and_the_calibrated_appetite() -> None:
    import yaml

    m = claim(r"Just past the threshold, at ([0-9.]+), Russia halts on its own after a full halt "
              r"as well: in (\w+) (\d{4}), (\w+) (\d{4}) and (\w+) (\d{4}), each the month after a "
              r"refusal, and the axis ends 2027 at ([−\-0-9.]+)\. The value fitted to the record "
              r"in `conf/payoffs/calibrated\.yaml`, ([0-9.]+) \(which also fits other parameters "
              r"that the page keeps at their defaults\), lies below that threshold: on the page, "
              r"after a full halt, it changes nothing\.")
    threshold = number(claim(r"until it passes ([0-9.]+) ")[1])
    assert number(m[1]) == pytest.approx(threshold + appetite_slider().step)
    tr = run("history", halt_severity=1.0, coercion_appetite=number(m[1]))
    halts = free(tr, "russia", "pipeline_halt")
    assert halts == [month_of(m[2], m[3]), month_of(m[4], m[5]), month_of(m[6], m[7])], halts
    refusals = free(tr, "kazakhstan", "recognition_refusal")
    assert all(previous(tr, x) in refusals for x in halts), (halts, refusals)
    assert same(axis(tr)[-1], m[8])
    fitted = yaml.safe_load((ROOT / "conf/payoffs/calibrated.yaml").read_text(encoding="utf-8"))
    default = yaml.safe_load((ROOT / "conf/payoffs/default.yaml").read_text(encoding="utf-8"))
    value = fitted["payoffs"]["actors"]["russia"]["punish"]
    assert same(value, m[9]) and on_slider(number(m[9])) and number(m[9]) < threshold
    assert fitted["payoffs"]["alignment"]["exposure"] != default["alignment"]["exposure"]
    calibrated = run("history", halt_severity=1.0, coercion_appetite=number(m[9]))
    np.testing.assert_array_equal(calibrated.alignment, run("history").alignment)
    assert free(calibrated, "russia", "pipeline_halt") == []


@cache
def top() -> Trajectory:
    """``history`` at the page's defaults (a full halt) with the appetite at the slider's top."""
    return run("history", coercion_appetite=appetite_slider().hi)


def test_exercise_1_a_string_of_halts_at_the_top() -> None:
    m = claim(r"At the top of the slider, ([0-9.]+), Russia halts on its own (\w+) times: in (\w+) "
              r"(\d{4}), the month after Kazakhstan's (\w+) promise not to help anyone around the "
              r"sanctions and (\w+) months before the record's halt; and the month after (\w+) of "
              r"Kazakhstan's (\w+) refusals, which come (\w+) to (\w+) months apart from (\w+) "
              r"(\d{4})\. The halts breed refusals: at the default appetite Kazakhstan refuses on "
              r"its own only once, in (\w+) (\d{4})\.")
    assert number(m[1]) == appetite_slider().hi and flat_defaults().halt_severity == 1.0
    tr = top()
    halts, refusals = (free(tr, "russia", "pipeline_halt"),
                       free(tr, "kazakhstan", "recognition_refusal"))
    assert len(halts) == WORDS[m[2]], halts
    first = month_of(m[3], m[4])
    assert halts[0] == first
    assert previous(tr, first) in free(tr, "kazakhstan", "sanctions_compliance")
    assert previous(tr, first) == month_of(m[5], m[4])
    assert [h for h in all_halts(tr) if h not in halts] == ["2022-07"]  # the record's
    assert scheduled(tr, "russia", "2022-07") == "pipeline_halt"
    assert month_index(tr, "2022-07") - month_index(tr, first) == WORDS[m[6]]
    # the rest: each the month after a refusal, the refusals spaced as the plan says
    assert len(refusals) == WORDS[m[8]] and refusals[0] == month_of(m[11], m[12]), refusals
    gaps = [month_index(tr, b) - month_index(tr, a) for a, b in itertools.pairwise(refusals)]
    assert (min(gaps), max(gaps)) == (WORDS[m[9]], WORDS[m[10]]), gaps
    punished = [r for r in refusals if next_month(tr, r) in halts]
    assert halts[1:] == [next_month(tr, r) for r in punished]
    assert len(punished) == WORDS[m[7]], punished
    assert free(run("history"), "kazakhstan", "recognition_refusal") == [month_of(m[13], m[14])]


def test_exercise_1_attention_rations_the_halts_at_the_top() -> None:
    m = claim(r"The attention cost still rations the halts\. Russia lets the refusal of (\w+) "
              r"(\d{4}) pass, (\w+) months? after its halt of (\w+) (\d{4}), and it lets every "
              r"later promise pass — the record's own of (\w+) (\d{4}) and those of (\w+) "
              r"(\d{4}), (\w+) (\d{4}) and (\w+) (\d{4}) — each within (\w+) months of its last "
              r"halt; without the surcharge for the halts it still remembers, each of them would "
              r"have brought another\.")
    tr = top()
    halts = all_halts(tr)

    def punished(month: str) -> bool:
        return next_month(tr, month) in halts

    def last_halt(month: str) -> str:
        return [h for h in halts if h <= month][-1]

    refusals = free(tr, "kazakhstan", "recognition_refusal")
    passed = [r for r in refusals if not punished(r)]
    assert passed == [month_of(m[1], m[2])], passed
    assert last_halt(passed[0]) == month_of(m[4], m[5])
    assert month_index(tr, passed[0]) - month_index(tr, last_halt(passed[0])) == WORDS[m[3]]
    promises = kazakh_moves(tr, "sanctions_compliance")
    record = month_of(m[6], m[7])
    later = [record, month_of(m[8], m[9]), month_of(m[10], m[11]), month_of(m[12], m[13])]
    assert scheduled(tr, "kazakhstan", record) == "sanctions_compliance"
    # every promise after the first (February 2022, punished: the sentences before)
    assert punished(promises[0]) and promises[1:] == later, promises
    assert not any(punished(p) for p in later)
    assert max(month_index(tr, p) - month_index(tr, last_halt(p)) for p in later) == WORDS[m[14]]
    # what Russia weighed the month after each: the halt second, but first without the surcharge
    world = whole_page(scenario_name="history", coercion_appetite=appetite_slider().hi)
    spec = world.spec
    ru, h = spec.actors.index("russia"), spec.actions.index("pipeline_halt")
    decay = 1.0 - spec.dyn["usage_decay"]
    for month in passed + later:
        t = month_index(tr, month) + 1
        c = choice(world, t, "russia")
        surcharge = spec.cost[ru, h] * spec.repeat_cost[h] * sum(
            decay ** (t - month_index(tr, x) - 1) for x in halts if month_index(tr, x) < t)
        others = max(e for a, e in enumerate(c.expected) if a != h)
        assert c.expected[h] < others < c.expected[h] + surcharge, (month, c)


def test_exercise_1_coercion_at_the_top_on_the_default_seed() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY

    m = claim(r"Each halt teaches Kazakhstan more: the Russian share ends 2027 at ([0-9.]+) and "
              r"the axis at ([−\-0-9.]+), nearer zero than the Turkic funds at the top of their "
              r"sliders bring it in `history` \(([−\-0-9.]+)\), but on the default seed it does "
              r"not cross\.")
    tr = top()
    assert same(russian(tr)[-1], m[1]) and same(axis(tr)[-1], m[2])
    assert crossing(tr) is None
    hi = CONTROL_BY_KEY["fund_tr_bn"].hi
    assert CONTROL_BY_KEY["fund_az_bn"].hi == hi
    rich = run("history", **funds(hi))
    assert same(axis(rich)[-1], m[3]) and axis(rich)[-1] < axis(tr)[-1] < 0


def test_exercise_1_the_top_over_ten_seeds() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY

    m = claim(r"That is one draw: over seeds (\d+) to (\d+) at ([0-9.]+) the axis crosses zero on "
              r"(\w+) of them \(((?:\d+, )*\d+ and \d+)\) and ends 2027 between ([−\-0-9.]+) and "
              r"([−\-0-9.]+), so coercion can tip Kazakhstan where no fund on the page does "
              r"\(Exercise 2\)\. On all (\w+) Russia's first own halt comes in (\w+) or (\w+) "
              r"(\d{4}), the month after a promise not to help anyone around the sanctions — on "
              r"(\w+) of them the record's promise of (\w+) (\d{4})\.")
    assert number(m[3]) == appetite_slider().hi
    seeds = range(int(m[1]), int(m[2]) + 1)
    assert len(seeds) == WORDS[m[8]]
    runs = {s: run("history", s, coercion_appetite=number(m[3])) for s in seeds}
    crossed = [s for s, tr in runs.items() if crossing(tr) is not None]
    named = [int(x) for x in re.split(r", | and ", m[5])]
    assert crossed == named and len(crossed) == WORDS[m[4]], crossed
    ends = [axis(tr)[-1] for tr in runs.values()]
    assert same(min(ends), m[6]) and same(max(ends), m[7]), ends
    # no fund on the page tips: the Turkic funds at the top of their sliders, either scenario
    hi = CONTROL_BY_KEY["fund_tr_bn"].hi
    for scenario in ("history", "baseline"):
        assert crossing(run(scenario, **funds(hi))) is None, scenario
    # the first own halt: early 2022, answering a promise, mostly the record's
    months = {month_of(m[9], m[11]), month_of(m[10], m[11])}
    record = month_of(m[13], m[14])
    answers = []
    for s, tr in runs.items():
        first = free(tr, "russia", "pipeline_halt")[0]
        assert first in months, (s, first)
        assert previous(tr, first) in kazakh_moves(tr, "sanctions_compliance"), (s, first)
        answers.append(previous(tr, first))
    assert scheduled(runs[seeds[0]], "kazakhstan", record) == "sanctions_compliance"
    assert answers.count(record) == WORDS[m[12]], answers


# --------------------------------------------------------------------------- exercise 2
SEEDS = {"the default seed": None, "seed 2": 2, "seed 3": 3}


def funds(size: float) -> dict[str, float]:
    return {"fund_az_bn": size, "fund_tr_bn": size}


def test_exercise_2_no_size_on_the_page_tips() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY

    m = claim(r"at ((?:[0-9.]+, )*[0-9.]+ and [0-9.]+) bn per launch the axis does not cross zero "
              r"by December 2027 for the default seed, seed 2 or seed 3; it ends 2027 between "
              r"([−\-0-9.]+) and ([−\-0-9.]+) at the starting ([0-9.]+) bn and between "
              r"([−\-0-9.]+) and ([−\-0-9.]+) at ([0-9.]+) bn, the higher the larger the fund\.")
    sizes = [number(x) for x in re.split(r", | and ", m[1])]
    hi = CONTROL_BY_KEY["fund_tr_bn"].hi
    assert max(sizes) == hi and number(m[7]) == hi
    for size in sizes:
        assert [crossing(run("baseline", s, **funds(size))) for s in SEEDS.values()] == [
            None, None, None], size
    assert number(m[4]) == flat_defaults().funds["fund_tr_bn"] == flat_defaults().funds[
        "fund_az_bn"]
    for size, lo, up in ((m[4], m[2], m[3]), (m[7], m[5], m[6])):
        ends = [axis(run("baseline", s, **funds(number(size))))[-1] for s in SEEDS.values()]
        low, high = sorted((number(lo), number(up)))
        assert all(low - 0.005 <= e <= high + 0.005 for e in ends), (size, ends)
        assert same(min(ends), f"{low:.2f}") and same(max(ends), f"{high:.2f}"), (size, ends)
    for s in SEEDS.values():  # the higher the larger the fund
        ends = [axis(run("baseline", s, **funds(x)))[-1] for x in [number(m[4]), *sizes]]
        assert ends == sorted(ends), (s, ends)


def test_exercise_2_beyond_the_sliders() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY

    m = claim(r"Beyond them, with `AlignmentModel` or the `alignsim` CLI, ([0-9.]+) bn is still "
              r"not enough, and at ([0-9.]+) bn all three seeds cross in (\w+)–(\w+) (\d{4})\.")
    assert CONTROL_BY_KEY["fund_tr_bn"].hi < number(m[1]) < number(m[2])
    assert [crossing(run("baseline", s, **funds(number(m[1])))) for s in SEEDS.values()] == [
        None, None, None]
    cross = [crossing(run("baseline", s, **funds(number(m[2])))) for s in SEEDS.values()]
    assert all(c is not None for c in cross), cross
    assert min(cross) == month_of(m[3], m[5]) and max(cross) == month_of(m[4], m[5]), cross


def test_exercise_2_the_search_ends_at_the_top_of_the_sliders() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY, SeminarModel
    from alignsim.kernel.spec import ConfigError

    claim(r"On the page no size tips Kazakhstan: the search ends at the top of the sliders with "
          r"the axis still well below zero\.")
    m = claim(r"The sliders go to ([0-9.]+) bn\.")
    hi = number(m[1])
    assert CONTROL_BY_KEY["fund_tr_bn"].hi == CONTROL_BY_KEY["fund_az_bn"].hi == hi
    # the search cannot go on past the top: the page refuses a larger fund, at Reset or mid-run
    step = CONTROL_BY_KEY["fund_tr_bn"].step
    with pytest.raises(ConfigError):
        SeminarModel(scenario_name="baseline", fund_tr_bn=hi + step)
    with pytest.raises(ConfigError):
        SeminarModel(scenario_name="baseline").intervene(fund_az_bn=hi + step)
    # no size on the page tips: the axis stays below zero all run, whole-bn sizes to the top
    for size in np.arange(0.0, hi + 1e-9, 1.0):
        assert axis(run("baseline", **funds(float(size)))).max() < 0.0, size
    # ... and at the top it is still well below zero (at least 0.1) for all three seeds
    for s in SEEDS.values():
        assert axis(run("baseline", s, **funds(hi))).max() <= -0.1, s


def test_exercise_2_larger_funds_are_chosen_more_often() -> None:
    m = claim(r"even a 5 bn fund is launched only about (\w+) a year \(default seed: at ([0-9.]+) "
              r"bn Azerbaijan launches in (\d+) of the 72 months and Türkiye in (\d+); at "
              r"([0-9.]+) bn in (\d+) and (\d+)\)\. Larger funds are still chosen \*more\* often")
    small, large = (run("baseline", **funds(number(m[2]))), run("baseline", **funds(number(m[5]))))
    assert number(m[2]) == flat_defaults().funds["fund_tr_bn"]  # the page's starting value
    assert number(m[5]) == 5.0
    assert large.months == 72
    counts = [times(large, a, "investment_fund").size for a in ("azerbaijan", "turkiye")]
    assert [times(small, a, "investment_fund").size for a in ("azerbaijan", "turkiye")] == [
        int(m[3]), int(m[4])]
    assert counts == [int(m[6]), int(m[7])]
    assert m[1] == "twice" and all(1.5 <= c / 6 <= 2.5 for c in counts)
    assert int(m[6]) > int(m[3]) and int(m[7]) > int(m[4])
    # the same cost whatever the size: the fund's base cost does not scale with it
    f = small.spec.actions.index("investment_fund")
    np.testing.assert_array_equal(small.spec.cost[:, f], large.spec.cost[:, f])


def test_exercise_2_a_funds_chance_drops_after_a_launch() -> None:
    claim(r"A fund's chance drops right after a launch and climbs back as the memory fades: watch "
          r"the \*why\* lines for investment fund\.")
    world = whole_page(scenario_name="baseline", **funds(5.0))
    f = world.spec.actions.index("investment_fund")
    for actor in ("azerbaijan", "turkiye"):
        p = np.array([choice(world, t, actor).probabilities[f] for t in range(world.month)])
        launches = [t for t in range(world.month) if choice(world, t, actor).action == f]
        assert len(launches) >= 5
        for a, b in itertools.pairwise(launches):
            if b > a + 1:
                assert p[a + 1] < p[a] and p[b] > p[a + 1], (actor, a, b)


def test_exercise_2_the_seeds_agree_on_the_end() -> None:
    m = claim(r"The three seeds end within ([0-9.]+) of each other")
    ends = [axis(run("baseline", s, **funds(5.0)))[-1] for s in SEEDS.values()]
    assert max(ends) - min(ends) <= number(m[1]), ends


def test_exercise_2_other_funds_go_to_their_own_spheres() -> None:
    from alignsim.demo.world import CONTROL_BY_KEY

    claim(r"Try the same with the EU or China fund and see how the Chinese and Western shares, "
          r"not the Turkic one, absorb the money\.")
    base = run("baseline")
    spheres = base.spec.spheres
    for key, sphere in (("fund_eu_bn", "western"), ("fund_cn_bn", "chinese")):
        tr = run("baseline", **{key: CONTROL_BY_KEY[key].hi})
        gain = tr.alignment[-1, 0] - base.alignment[-1, 0]
        assert gain[spheres.index(sphere)] > 0.03, (key, gain)
        assert gain[spheres.index("turkic")] <= 0.0, (key, gain)


# --------------------------------------------------------------------------- exercise 3
def test_exercise_3_kazakhstans_own_moves_in_2022() -> None:
    from alignsim.demo.app import month_html

    m = claim(r"on the default seed it pays balancing visits in (\w+), (\w+) and (\w+) 2022 "
              r"\(the articles date the visit to Moscow, then Paris, to (\w+), 004, where the "
              r"scenario schedules it\), promises no sanctions circumvention in (\w+), a month "
              r"before its scheduled promise, and offers neutral mediation in (\w+) and (\w+) "
              r"2022, a stance the articles describe only after the December 2024 airliner crash "
              r"\(000\), which the scenario schedules in (\w+) (\d{4})")
    tr = run("history")

    def in_2022(action: str) -> list[str]:
        return [d for d in free(tr, "kazakhstan", action) if d.startswith("2022-")]

    assert in_2022("balancing_visit") == [month_of(x, "2022") for x in m.groups()[:3]]
    assert scheduled(tr, "kazakhstan", month_of(m[4], "2022")) == "balancing_visit"
    promise = month_of(m[5], "2022")
    assert in_2022("sanctions_compliance") == [promise]
    assert scheduled(tr, "kazakhstan", next_month(tr, promise)) == "sanctions_compliance"
    assert in_2022("neutral_mediation") == [month_of(x, "2022") for x in m.groups()[5:7]]
    assert scheduled(tr, "kazakhstan", month_of(m[8], m[9])) == "neutral_mediation"
    assert "neutral_mediation" not in {a for (d, _), a in forced_moves(tr).items() if d < m[9]}
    labels = tr.spec.action_labels
    for action, words in (("balancing_visit", "balancing visits"),
                          ("sanctions_compliance", "no sanctions circumvention"),
                          ("neutral_mediation", "neutral mediation")):
        assert labels[tr.spec.actions.index(action)] == words
    cfg, _ = flat_world({"scenario_name": "history"})
    events = {e.name: str(e.date) for e in cfg.scenario.events}
    assert events["Airliner shoot-down"] == "2024-12"
    # the log shows the event and, marked "(scheduled)", the move that carries it out
    claim(r'reading each scheduled event \(the dashed lines, the "Event:" lines in the log, and '
          r'the moves marked "\(scheduled\)" that carry them out\)')
    t = month_index(tr, next_month(tr, promise))
    html = month_html(page(t + 1, scenario_name="history"), t)
    assert "Event: <b>No sanctions circumvention</b>" in html
    assert re.search(r"will not help anyone get around the sanctions\.\s*<i>\(scheduled\)</i>",
                     html), html


# ---------------------------------------------------------------------- things to notice
def test_most_choices_are_clear_but_one_in_five_is_not() -> None:
    m = claim(r"in half of the free choices the best option gets more than (\d+) % of the "
              r"chance\. But about one free choice in (\w+) goes to a lesser option, and (\w+) of "
              r"those are Kazakhstan's")
    world = whole_page(scenario_name="history")
    free_choices = [c for month in world.choices for c in month if not c.forced]
    best = np.array([c.probabilities.max() for c in free_choices])
    lesser = [c for c in free_choices if c.action != int(np.argmax(c.expected))]
    assert np.median(best) > int(m[1]) / 100
    assert {"five": 5}[m[2]] and abs(len(lesser) / len(free_choices) - 1 / 5) <= 0.03
    kazakh = [c for c in lesser if c.actor == choice(world, 0, "kazakhstan").actor]
    assert m[3] == "half" and 0.4 <= len(kazakh) / len(lesser) <= 0.6


def test_seeds_move_the_months_more_than_the_end() -> None:
    m = claim(r"over seeds (\d+) to (\d+) of `history` the axis ends 2027 between ([−\-0-9.]+) "
              r"and ([−\-0-9.]+)\.")
    ends = [axis(run("history", s))[-1] for s in range(int(m[1]), int(m[2]) + 1)]
    assert same(min(ends), m[3]) and same(max(ends), m[4]), ends


# ---------------------------------------------------------------------- what it points to
def test_every_path_the_plan_names_exists() -> None:
    """Readers have the repository, not the authors' machines (no ``shared/seeds/``)."""
    body = DOC.read_text(encoding="utf-8")
    assert "shared/" not in body
    for target in re.findall(r"\]\(([^)#:]+)\)", body):
        assert (DOC.parent / target).exists(), target
    for path in re.findall(r"`([\w./-]+/[\w./-]*)`", body):
        assert (ROOT / path).exists(), path


@cache
def page_turned(scenario: str, date: str, **changes: float):
    """The page's world, with ``changes`` made when it shows ``date``, run to the end."""
    from alignsim.demo.world import SeminarModel

    model = SeminarModel(scenario_name=scenario)
    while model.date != date:
        model.step()
    assert model.intervene(**changes) is not None or model.month == 0
    while not model.finished:
        model.step()
    return model


def own_halts(model) -> list[str]:
    return [str(model.spec.start.plus(t)) for t, _, _ in model.own_moves(("pipeline_halt",))]


def test_turning_coercion_up_mid_run_in_history() -> None:
    from alignsim.demo.app import INFO_MD

    m = claim(r"Turn Russia's coercion up mid-run, as the page's Info panel suggests, and watch "
              r"what follows the ★\. In `history` at the other defaults, set it to ([0-9.]+) when "
              r"the page shows any month from (\d{4}-\d{2}) to (\d{4}-\d{2}): the first halt comes "
              r"only in (\w+) (\d{4}), the month after Kazakhstan promises not to help anyone "
              r"around the sanctions; the others in (\w+) (\d{4}) and (\w+) (\d{4}), and the axis "
              r"ends 2027 at ([−\-0-9.]+) against ([−\-0-9.]+)\. The appetite only matters when "
              r"there is defiance to punish\. Set it at (\d{4}-\d{2}) or (\d{4}-\d{2}) instead and "
              r"you get the run at the top of the slider from Exercise 1; set it between "
              r"(\d{4}-\d{2}) and (\d{4}-\d{2}) and the first halt answers the (\w+) (\d{4}) "
              r"refusal, and the axis ends 2027 at ([−\-0-9.]+), nearer zero than with ([0-9.]+) "
              r"from the start\.")
    assert "Turn Russia's coercion up mid-run" in INFO_MD
    value, first, last = number(m[1]), m[2], m[3]
    assert value == appetite_slider().hi == number(m[19])
    halts = [month_of(m[4], m[5]), month_of(m[6], m[7]), month_of(m[8], m[9])]
    default = run("history")
    assert same(axis(default)[-1], m[11])
    # the first own halt is the month after a promise (in the run without intervention)
    assert previous(default, halts[0]) in free(default, "kazakhstan", "sanctions_compliance")
    for date in (first, last):
        model = page_turned("history", date, coercion_appetite=value)
        assert own_halts(model) == halts, (date, own_halts(model))
        assert same(model.series()["axis"][-1], m[10]), date
    np.testing.assert_allclose(page_turned("history", first, coercion_appetite=value).series()[
        "axis"], page_turned("history", last, coercion_appetite=value).series()["axis"],
        atol=1e-12)

    def around(a: str, b: str) -> tuple[str, str]:
        return previous(default, a), next_month(default, b)

    # the range is exact: a month earlier or later the run is another one
    for date in around(first, last):
        assert own_halts(page_turned("history", date, coercion_appetite=value)) != halts, date
    # set earlier, it is the run at the top of the slider (set from the start), and only then
    for date in (m[12], m[13]):
        model = page_turned("history", date, coercion_appetite=value)
        np.testing.assert_allclose(model.series()["axis"], axis(top()), atol=1e-12)
    after = page_turned("history", next_month(default, m[13]), coercion_appetite=value)
    assert not np.allclose(after.series()["axis"], axis(top()), atol=1e-9)
    # set in between, the first halt answers the refusal, and the run ends nearer zero
    refusal = month_of(m[16], m[17])
    assert refusal in free(default, "kazakhstan", "recognition_refusal")
    ends = []
    for date in (m[14], m[15]):
        model = page_turned("history", date, coercion_appetite=value)
        assert own_halts(model)[0] == next_month(default, refusal), (date, own_halts(model))
        ends.append(model.series()["axis"][-1])
        assert same(ends[-1], m[18]) and abs(ends[-1]) < abs(axis(top())[-1]), date
    assert ends[0] == pytest.approx(ends[1], abs=1e-12)
    for date in around(m[14], m[15]):
        ax = page_turned("history", date, coercion_appetite=value).series()["axis"][-1]
        assert not same(ax, m[18]), date


def test_turning_coercion_up_mid_run_in_baseline() -> None:
    m = claim(r"In `baseline`, set from (\d{4}-\d{2}) on, nothing follows at all: Kazakhstan does "
              r"not refuse recognition again in that run, and Russia lets its promises of (\w+) "
              r"(\d{4}) and (\w+) (\d{4}) pass\.")
    default = run("baseline")
    refusals = free(default, "kazakhstan", "recognition_refusal")
    assert refusals and all(r < m[1] for r in refusals), refusals
    promises = [p for p in free(default, "kazakhstan", "sanctions_compliance") if p >= m[1]]
    assert promises == [month_of(m[2], m[3]), month_of(m[4], m[5])], promises
    top_value = appetite_slider().hi
    for date in (m[1], "2026-01"):
        model = page_turned("baseline", date, coercion_appetite=top_value)
        assert own_halts(model) == [], (date, own_halts(model))
        np.testing.assert_allclose(model.series()["axis"], axis(default), atol=1e-12)
    # a month earlier, the refusal of the month before is still punished
    earlier = str(default.spec.start.plus(month_index(default, m[1]) - 1))
    assert own_halts(page_turned("baseline", earlier, coercion_appetite=top_value))


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
