"""Invariants over random valid configurations (hypothesis).

Variants are built by mutating a deepcopy of the composed Config dataclass and compiling it, so
every example also passes through compile_spec's checks. Runs are short (3 replicates, a few
months; the history scenario needs 37 months to contain its last event) to keep the suite fast.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignsim.ensemble import run_ensemble
from alignsim.kernel.schema import Config, ScenarioConf
from alignsim.kernel.spec import DYNAMICS_RATES, Spec, compile_spec
from alignsim.kernel.state import State, initial_state
from numpy_kernel import dynamics

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
RULES = ("logit", "best_response", "fictitious_play", "roth_erev")
ALIGN_WEIGHTS = ("econ", "security", "affinity", "relations", "exposure", "hedging")
RATES = DYNAMICS_RATES

unit = st.floats(0.0, 1.0, allow_nan=False)
weight = st.floats(0.0, 10.0, allow_nan=False)


@st.composite
def simplex(draw, size: int) -> list[float]:
    """A point of the simplex, corners and faces included."""
    raw = draw(st.lists(unit, min_size=size, max_size=size).filter(lambda v: sum(v) > 1e-3))
    total = sum(raw)
    return [v / total for v in raw]


@st.composite
def variant(draw, base: Config) -> Config:
    cfg = copy.deepcopy(base)
    al = cfg.payoffs.alignment
    for name in ALIGN_WEIGHTS:
        setattr(al, name, draw(weight))
    al.temperature = draw(st.floats(1e-3, 10.0))
    al.inertia = draw(unit)
    dyn = cfg.world.dynamics
    for name in RATES:
        setattr(dyn, name, draw(unit))
    dyn.capacity_lag_months = draw(st.floats(1.0, 48.0))
    dyn.investment_scale_bn = draw(st.floats(1.0, 1000.0))
    for sphere, v in zip(cfg.world.initial_alignment, draw(simplex(len(cfg.world.spheres))),
                         strict=True):
        cfg.world.initial_alignment[sphere] = v
    routes = cfg.world.routes
    for route, v in zip(routes, draw(simplex(len(routes))), strict=True):
        routes[route].share = v
        routes[route].capacity = draw(unit)
    for action in cfg.actions.values():
        for use in action.users.values():
            use.cost = draw(st.floats(0.0, 0.2))
            use.scale = draw(st.floats(0.0, 5.0))
    halt = cfg.actions["pipeline_halt"].effects.halt["cpc"]
    halt.months = draw(st.floats(0.0, 6.0))
    halt.severity = draw(unit)
    cfg.policy.rule = draw(st.sampled_from(RULES))
    cfg.policy.temperature = 10.0 ** draw(st.floats(-6.0, 1.0))
    cfg.seed = draw(st.integers(0, 2**32))
    if draw(st.booleans()):
        cfg.scenario = ScenarioConf(name="baseline", start="2022-01", events=[])
        cfg.months = 8
    else:
        cfg.months = 37  # the history's last event is in Jan 2025
    return cfg


def check_trajectory_invariants(traj, spec: Spec) -> None:
    for name in ("alignment", "share", "capacity", "threat", "investment", "relations", "pain",
                 "payoffs"):
        arr = getattr(traj, name)
        assert np.all(np.isfinite(arr)), f"{name} has NaN or inf"
    a = traj.alignment
    assert np.all(a >= 0.0), "negative alignment"
    np.testing.assert_allclose(a.sum(axis=-1), 1.0, atol=1e-9, rtol=0)
    sh = traj.share
    assert np.all(sh >= 0.0) and np.all(sh <= 1.0)
    np.testing.assert_allclose(sh.sum(axis=-1), 1.0, atol=1e-9, rtol=0)
    assert np.all(np.abs(traj.relations) <= 1.0)
    assert np.all((traj.capacity >= 0) & (traj.capacity <= 1))
    assert np.all((traj.threat >= 0) & (traj.threat <= 1))
    assert np.all((traj.pain >= -1e-12) & (traj.pain <= 1 + 1e-12))  # rounding, as above
    assert np.all(traj.investment >= 0)
    assert np.all((traj.actions >= 0) & (traj.actions < spec.n_actions))
    n = np.arange(spec.n_actors)
    assert spec.allowed[n[None, None, :], traj.actions].all(), "a disallowed action was played"


def test_strategy_produces_valid_configs(default_config) -> None:
    """The generator itself: every drawn variant compiles (sanity of the property tests)."""

    @SETTINGS
    @given(variant(default_config))
    def compiles(cfg: Config) -> None:
        spec = compile_spec(cfg)
        assert abs(spec.alignment0.sum() - 1) < 1e-9 and abs(spec.share0.sum() - 1) < 1e-9

    compiles()


def test_trajectories_stay_valid_over_random_configs(default_config) -> None:
    @SETTINGS
    @given(variant(default_config))
    def run(cfg: Config) -> None:
        spec = compile_spec(cfg)
        traj = run_ensemble(spec, 3, cfg.seed)
        check_trajectory_invariants(traj, spec)

    run()


def _random_delta(spec: Spec, rng: np.random.Generator, r: int, scale: float) -> np.ndarray:
    """Arbitrary shocks in the effect layout, halts well-formed (load = months x severity)."""
    sl = spec.layout.slices
    delta = rng.normal(scale=scale, size=(r, spec.layout.size))
    n = spec.n_actors
    rel = delta[:, sl["relations"]].reshape(r, n, n)
    rel = rel + rel.transpose(0, 2, 1)
    rel[:, np.arange(n), np.arange(n)] = 0.0
    delta[:, sl["relations"]] = rel.reshape(r, -1)
    months = np.where(rng.random((r, spec.n_routes)) < 0.3,
                      rng.integers(0, 6, size=(r, spec.n_routes)), 0).astype(float)
    delta[:, sl["halt_months"]] = months
    delta[:, sl["halt_load"]] = months * rng.random((r, spec.n_routes))
    return delta


def test_compiled_month_equals_the_oracle_from_random_states(default_config) -> None:
    """The compiled month the drivers use (``rows.play``) is the NumPy oracle's, for random
    configs, from states reached by random play, under random joint actions and months."""
    from alignsim.kernel.rows import play

    @SETTINGS
    @given(variant(default_config), st.integers(0, 2**32))
    def month(cfg: Config, seed: int) -> None:
        spec = compile_spec(cfg)
        rng = np.random.default_rng(seed)
        state: State = initial_state(spec, 4)
        for _ in range(5):
            acts = np.stack([rng.choice(np.flatnonzero(spec.allowed[i]), size=4)
                             for i in range(spec.n_actors)], axis=1)
            t = int(rng.integers(0, spec.months))
            want, want_u = dynamics.step_payoffs(state, acts, spec, t)
            got, got_u = play(state, acts, spec, t)
            for f in dataclasses.fields(State):
                np.testing.assert_allclose(getattr(got, f.name), getattr(want, f.name),
                                           atol=1e-12, rtol=0, err_msg=f.name)
            np.testing.assert_allclose(got_u, want_u, atol=1e-12, rtol=0)
            state = want

    month()


def test_transition_invariants_under_arbitrary_shocks(default_config) -> None:
    """Whatever actions and events do to the state, the world stays well-formed."""

    @SETTINGS
    @given(variant(default_config), st.integers(0, 2**32), st.floats(0.0, 3.0))
    def shock(cfg: Config, seed: int, scale: float) -> None:
        spec = compile_spec(cfg)
        rng = np.random.default_rng(seed)
        state: State = initial_state(spec, 4)
        for _ in range(6):
            acts = np.stack([rng.choice(np.flatnonzero(spec.allowed[i]), size=4)
                             for i in range(spec.n_actors)], axis=1)
            delta = dynamics.joint_effects(spec, acts) + _random_delta(spec, rng, 4, scale)
            state = dynamics.transition(state, delta, spec)
            u = dynamics.payoffs(state, acts, spec)
            for f in dataclasses.fields(State):
                assert np.all(np.isfinite(getattr(state, f.name))), f.name
            assert np.all(np.isfinite(u))
            assert np.all(state.alignment >= 0)
            np.testing.assert_allclose(state.alignment.sum(axis=1), 1.0, atol=1e-9, rtol=0)
            assert np.all((state.share >= -1e-12) & (state.share <= 1))
            np.testing.assert_allclose(state.share.sum(axis=1), 1.0, atol=1e-9, rtol=0)
            assert np.all(np.abs(state.relations) <= 1.0)
            np.testing.assert_array_equal(state.relations, state.relations.transpose(0, 2, 1))
            assert np.all((state.threat >= 0) & (state.threat <= 1))
            assert np.all((state.pain >= -1e-12) & (state.pain <= 1 + 1e-12))
            assert np.all(state.halt >= 0) and np.all((state.severity >= 0)
                                                      & (state.severity <= 1))

    shock()
