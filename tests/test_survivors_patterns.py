"""Pattern metrics and target texts on a trajectory built by hand: written for surviving mutants.

The tiny world (``handchecked_world``) starts on 1 Jan 2022 and runs four months, so the states
are 0..4 = 1 Jan .. 1 May 2022. ``from: 2022-01`` reads state 0 (before January is played) and
``to: 2022-03`` reads state 3 (after March). Spheres: east (member r, trade 0.3, route north),
west (member t, trade 0.1, route south); the investment scale is 100 bn.
"""

from __future__ import annotations

import numpy as np
import pytest

from alignsim.ensemble import Trajectory
from alignsim.kernel.calendar import Month
from alignsim.kernel.spec import compile_spec
from alignsim.validation.patterns import CHECKS, PatternConf, PatternResult, evaluate, read_metric
from handchecked_world import tiny_config

R = 2  # replicates


@pytest.fixture(scope="module")
def traj() -> Trajectory:
    spec = compile_spec(tiny_config(months=4, start="2022-01"))
    assert spec.spheres == ("east", "west") and spec.actors == ("k", "r", "t")
    assert spec.routes == ("north", "south")
    n = spec.n_actors
    share = np.tile([0.7, 0.3], (5, R, 1))
    share[3, 0] = [0.6, 0.4]  # replicate 0: south gained 0.1 by 1 Apr
    investment = np.tile([0.0, 10.0, 5.0], (5, R, 1))
    investment[3, 1] = [0.0, 10.0, 25.0]  # replicate 1: t's stock grew from 5 to 25 bn
    pain = np.zeros((5, R))
    pain[:, 0] = [0.0, 0.1, 0.0, 0.2, 0.3]  # state 4 (April) lies outside Jan..Mar
    pain[:, 1] = [0.5, 0.0, 0.06, 0.04, 0.9]  # state 0 lies before January
    return Trajectory(
        spec=spec, replicate_ids=np.arange(R), alignment=np.tile([0.6, 0.4], (5, R, 1)),
        share=share, capacity=share.copy(), threat=np.zeros((5, R, n)), investment=investment,
        relations=np.zeros((5, R, n, n)), pain=pain, actions=np.zeros((4, R, n), dtype=np.int64),
        payoffs=np.zeros((4, R, n)),
    )


def test_halt_months_counts_the_window_months_above_the_threshold(traj) -> None:
    conf = PatternConf(metric="halt_months",
                       args={"from": "2022-01", "to": "2022-03", "threshold": 0.05})
    r = read_metric(traj, "halts", conf)
    # months Jan, Feb, Mar = states 1, 2, 3; replicate 0: 0.1, 0.0, 0.2 -> 2;
    # replicate 1: 0.0, 0.06, 0.04 -> 1
    assert r.values.tolist() == [2.0, 1.0]
    assert (r.when, r.end_index) == (Month(2022, 3), 3)


def test_ties_change_is_the_relative_change_of_trade_routes_and_investment(traj) -> None:
    conf = PatternConf(metric="ties_change", args={"sphere": "west", "from": "2022-01",
                                                   "to": "2022-03"})
    r = read_metric(traj, "ties", conf)
    # before (state 0): trade 0.1 + south share 0.3 + t's 5 bn / 100 = 0.45
    # replicate 0 (state 3): 0.1 + 0.4 + 0.05 = 0.55 -> 0.55 / 0.45 - 1 = 2/9
    # replicate 1 (state 3): 0.1 + 0.3 + 0.25 = 0.65 -> 0.65 / 0.45 - 1 = 4/9
    assert r.values == pytest.approx([2 / 9, 4 / 9], abs=1e-12)
    assert (r.when, r.end_index) == (Month(2022, 3), 3)
    east = read_metric(traj, "ties", PatternConf(
        metric="ties_change", args={"sphere": "east", "from": "2022-01", "to": "2022-03"}))
    # east before: 0.3 + 0.7 + 10 / 100 = 1.1; replicate 0 after: 0.3 + 0.6 + 0.1 = 1.0
    assert east.values == pytest.approx([1.0 / 1.1 - 1.0, 0.0], abs=1e-12)


def test_a_ties_pattern_that_the_ensemble_misses_fails(traj) -> None:
    conf = PatternConf(metric="ties_change", check="at_least", target=0.5, tolerance=0.1,
                       args={"sphere": "west", "from": "2022-01", "to": "2022-03"})
    res = evaluate(traj, "ties_up", conf)
    # mean (2/9 + 4/9) / 2 = 1/3 < 0.5: failed by (0.5 - 1/3) / 0.1 = 5/3 tolerance units
    assert res.mean == pytest.approx(1 / 3, abs=1e-12)
    assert res.passed is False
    assert res.error == pytest.approx(5 / 3, abs=1e-9)


def _result(check: str, unit: str = "") -> PatternResult:
    conf = PatternConf(metric="halt_months", check=check, target=0.25, tolerance=0.5,
                       min_fraction=0.75, unit=unit)
    return PatternResult("p", conf, Month(2022, 3), 0.0, 0.0, 0.0, 0.0, True, 0.0,
                         np.zeros(1))


@pytest.mark.parametrize(("check", "text"), [
    ("approx", "≈ 0.25 ± 0.5 pp"),
    ("at_least", "mean ≥ 0.25 pp"),
    ("at_most", "mean ≤ 0.25 pp"),
    ("share_above", "> 0.25 pp in ≥ 75% of replicates"),
    ("share_below", "< 0.25 pp in ≥ 75% of replicates"),
    ("share_within", "|x| ≤ 0.25 pp in ≥ 75% of replicates"),
])
def test_target_text_of_each_check(check: str, text: str) -> None:
    assert _result(check, "pp").target_text == text
    assert _result(check, "pp").row()["target"] == text


def test_every_check_has_a_target_text_case() -> None:
    assert CHECKS == ("approx", "at_least", "at_most", "share_above", "share_below",
                      "share_within")
    assert _result("at_most").target_text == "mean ≤ 0.25"


def test_an_at_least_pattern_met_exactly_passes(traj) -> None:
    # halt months [2, 1]: mean 1.5, exactly the bound
    conf = PatternConf(metric="halt_months", check="at_least", target=1.5, tolerance=1.0,
                       args={"from": "2022-01", "to": "2022-03", "threshold": 0.05})
    res = evaluate(traj, "halts", conf)
    assert (res.mean, res.passed, res.error) == (1.5, True, 0.0)
    above = evaluate(traj, "halts", PatternConf(**{**conf.__dict__, "target": 1.75}))
    assert (above.passed, above.error) == (False, 0.25)
