"""Calibration and sensitivity run their candidates as batches
(:func:`alignsim.ensemble.run_points`) with exactly the numbers of one ``run_ensemble`` per
candidate."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import alignsim.validation.calibrate as cal
from alignsim.config import compose_config, compose_dictconfig
from alignsim.ensemble import run_ensemble
from alignsim.validation.calibrate import Objective, calibrate, free_parameters
from alignsim.validation.patterns import CalibrationConf, ParameterConf, PatternConf
from alignsim.validation.sensitivity import OUTPUTS, ModelEvaluator, Parameter

MONTHS = ["months=12", "scenario=baseline", "progress=false"]
SEED = 5
CAP = "actions.route_diversification.effects.capacity.middle_corridor"
INERTIA = "payoffs.alignment.inertia"


# ------------------------------------------------------------------------ sensitivity
SENS = (Parameter("payoffs.alignment.econ", 0.5, 2.0, label="econ"),
        Parameter("payoffs.actors.russia.punish", 0.0, 4.0, label="punish"),
        Parameter("world.dynamics.threat_learning", 0.05, 0.5, label="threat"))


def _loop(ev: ModelEvaluator, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The former evaluation: one run_ensemble per sample point."""
    Y = np.empty((len(X), len(ev.outputs)))
    noise = np.empty_like(Y)
    for i, x in enumerate(X):
        traj = run_ensemble(ev.variants(x), ev.replicates, ev.seed)
        for k, o in enumerate(ev.outputs):
            v = OUTPUTS[o][0](traj)
            Y[i, k] = v.mean()
            noise[i, k] = v.var(ddof=1) / len(v)
    return Y, noise


@pytest.mark.parametrize("max_rows", [4096, 8, 1])  # one call, two points a call, one a call
def test_batched_sensitivity_equals_a_run_per_point(max_rows):
    base = compose_dictconfig(MONTHS)
    ev = ModelEvaluator(base, SENS, replicates=4, seed=SEED,
                        outputs=("drift", "russian_leads", "turkic_leads"), max_rows=max_rows)
    rng = np.random.default_rng(0)
    lo, hi = np.array([p.low for p in SENS]), np.array([p.high for p in SENS])
    X = lo + rng.random((5, len(SENS))) * (hi - lo)
    X[3] = X[1]  # a repeated point gets the same numbers
    Y = ev(X)
    want_y, want_noise = _loop(ev, X)
    np.testing.assert_array_equal(Y, want_y)
    np.testing.assert_array_equal(ev.last_noise, want_noise)
    np.testing.assert_array_equal(Y[3], Y[1])
    assert ev.runs == len(X)
    ev.progress = True  # the progress bar (per finished point) changes nothing
    np.testing.assert_array_equal(ev(X[:2]), want_y[:2])
    assert np.var(Y[:, 0]) > 0  # the points differ: the check compares something


# ------------------------------------------------------------------------ calibration
@functools.cache
def _base():
    return compose_config(MONTHS)


PATTERNS = {
    "tonnes": PatternConf(split="fit", metric="route_tonnes", check="approx",
                          args={"route": "middle_corridor", "year": 2022}, tolerance=0.05,
                          target=0.5),
    "axis": PatternConf(split="fit", metric="axis_change", check="approx",
                        args={"from": "2022-01", "to": "2022-09"}, tolerance=0.005,
                        target=0.01),
}
BOUNDS = {CAP: ParameterConf(0.0, 0.004), INERTIA: ParameterConf(0.01, 0.15)}


def _objective() -> Objective:
    return Objective(_base(), PATTERNS, free_parameters(_base(), BOUNDS), 4, SEED, 0.1)


def test_prefetched_objective_equals_a_run_per_candidate():
    xs = [[0.001, 0.05], [0.003, 0.12], [0.0, 0.01], [0.001, 0.05]]
    batched, single = _objective(), _objective()
    assert batched.months <= 12  # the fit patterns fit inside the short run
    assert batched.prefetch(xs) == 3  # the repeated candidate runs once
    assert batched.runs == 3
    for x in xs:  # both asks for the repeated candidate come from the store
        assert batched(x) == single(x)
    assert batched.runs == 3 and not batched._store
    for a, b in zip(batched.history, single.history, strict=True):
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.errors, b.errors)
        assert a.value == b.value
    assert batched([0.002, 0.08]) == single([0.002, 0.08])  # not prefetched: runs on its own
    assert batched.runs == 4
    assert len({e.value for e in single.history}) == 4  # the candidates differ


def _spy(monkeypatch) -> tuple[list[int], list[int]]:
    """Count candidates run in batches and on their own."""
    batches: list[int] = []
    singles: list[int] = []
    real_points, real_one = cal.run_points, cal.run_ensemble

    def points(pts, seed, **kw):
        batches.append(len(pts))
        return real_points(pts, seed, **kw)

    def one(*a, **kw):
        singles.append(1)
        return real_one(*a, **kw)

    monkeypatch.setattr(cal, "run_points", points)
    monkeypatch.setattr(cal, "run_ensemble", one)
    return batches, singles


@pytest.mark.parametrize(
    ("method", "polish"), [("differential_evolution", 3), ("nelder_mead", 0)])
def test_batched_calibration_equals_one_candidate_at_a_time(monkeypatch, method, polish):
    conf = CalibrationConf(replicates=4, seed=SEED, method=method, maxiter=1, popsize=1,
                           polish=polish, regularisation=0.1, optimiser_seed=3,
                           parameters=BOUNDS)
    with monkeypatch.context() as m:  # the former path: nothing known in advance
        m.setattr(Objective, "prefetch", lambda self, xs, done=None: 0)
        ref = calibrate(_base(), PATTERNS, conf, start=[0.003, 0.03])
    batches, singles = _spy(monkeypatch)
    got = calibrate(_base(), PATTERNS, conf, start=[0.003, 0.03])
    assert got.x == ref.x and got.value == ref.value
    assert got.default_value == ref.default_value
    assert got.evaluations == ref.evaluations and got.message == ref.message
    assert ref.batched == 0 and got.batched == sum(batches)
    n = len(BOUNDS)
    if method == "differential_evolution":
        # defaults + initial population (scipy: at least 5 members), then the polish simplex
        assert batches == [1 + 5, n + 1]
        assert len(singles) == got.evaluations - sum(batches)
    else:
        assert batches == [1 + n + 1]  # defaults + the start simplex
        assert len(singles) == got.evaluations - sum(batches)
