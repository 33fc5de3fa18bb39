"""Null models: each is what it says (passive, frozen, uniformly random), runs with the model's
random numbers, and the power report flags the patterns a null passes; ``--nulls`` end to end."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import Trajectory, run_ensemble
from alignsim.kernel.decisions import Memory, decide_actor, expected_payoffs
from alignsim.kernel.spec import ConfigError, Spec, compile_spec
from alignsim.kernel.state import initial_state
from alignsim.validation.nulls import (
    NULLS,
    null_spec,
    parse_nulls,
    pattern_power,
    run_nulls,
    split_nulls_option,
)
from alignsim.validation.patterns import (
    PatternConf,
    check_conf,
    evaluate,
    evaluate_all,
    load_validation,
    replicate_passes,
)
from numpy_kernel.dynamics import sphere_utility

R = 12
SEED = 20220101


@functools.cache
def spec(*overrides: str) -> Spec:
    """The history replay to Dec 2025 (the Mar 2024 forced fund included)."""
    return compile_spec(compose_config(["months=48", "progress=false", *overrides]))


@functools.cache
def play() -> Trajectory:
    return run_ensemble(spec(), R, SEED)


@functools.cache
def null_run(name: str) -> Trajectory:
    return run_ensemble(null_spec(spec(), name), R, SEED)


# ------------------------------------------------------------------- each null is what it says
def test_passive_takes_no_voluntary_action():
    s, traj = spec(), null_run("passive")
    forced = s.forced[None, :, :].transpose(1, 0, 2)  # (T, 1, N)
    free = np.broadcast_to(forced < 0, traj.actions.shape)
    assert (traj.actions[free] == s.action_index("none")).all()
    # the record's forced moves are kept: the CPC halt, the Mar 2024 fund, ...
    assert (traj.actions[~free] == np.broadcast_to(forced, traj.actions.shape)[~free]).all()
    assert (~free).any() and (traj.pain[7] > 0.5).all()  # the Jul 2022 halt still bites
    # while the model with play does act voluntarily (else the test would prove nothing)
    assert (play().actions[free] != 0).mean() > 0.2


def test_frozen_alignment_stays_at_its_start():
    s, traj = spec(), null_run("frozen")
    assert np.array_equal(traj.alignment, np.broadcast_to(s.alignment0, traj.alignment.shape))
    assert np.ptp(play().alignment, axis=0).max() > 0.01  # the play moves it


@pytest.mark.parametrize("scale", ["absolute", "spread"])
def test_random_draws_exactly_uniform_probabilities(scale):
    s = null_spec(dataclasses.replace(spec(), temperature_scale=scale), "random")
    state, memory = initial_state(s, 3), Memory.initial(s, 3)
    q = expected_payoffs(state, memory, s, 0)
    for i in range(s.n_actors):
        _, p = decide_actor(s, i, q, memory, np.full(3, 0.5))
        k = s.allowed[i].sum()
        assert np.array_equal(p, np.broadcast_to(s.allowed[i] / k, p.shape)), s.actors[i]


def _uniformity_gap(traj: Trajectory, s: Spec) -> float:
    """Largest |frequency - 1/k| of any actor's allowed action over its free months."""
    free = (s.forced < 0)[:, None, :]  # (T, 1, N)
    gap = 0.0
    for i in range(s.n_actors):
        acts = traj.actions[:, :, i][np.broadcast_to(free[:, :, i], traj.actions.shape[:2])]
        k = np.flatnonzero(s.allowed[i])
        freq = np.array([(acts == a).mean() for a in k])
        assert freq.sum() == pytest.approx(1.0), s.actors[i]  # nothing outside allowed
        gap = max(gap, float(np.abs(freq - 1.0 / len(k)).max()))
    return gap


def test_random_action_frequencies_are_uniform_over_allowed_actions():
    """~570 free draws per actor: a frequency's standard error is <= 0.021, so a 0.07 band is
    > 3 standard errors wide, while the model with play misses it by far (most months are
    `none` for the powers, whom attention costs keep from repeating gestures), so the check cannot
    pass by accident."""
    s = spec()
    traj = null_run("random")
    assert _uniformity_gap(traj, s) < 0.07
    assert _uniformity_gap(play(), s) > 0.2


def test_nulls_use_the_models_random_numbers():
    """Common random numbers: the random null's draws do not depend on the run beside it."""
    a = run_ensemble(null_spec(spec(), "random"), 4, SEED, first_replicate=3)
    assert np.array_equal(a.actions, null_run("random").actions[:, 3:7])


def test_nulls_leave_the_spec_alone():
    s = spec()
    before = (s.allowed.copy(), dict(s.align), s.rules, s.temperature.copy())
    for name in NULLS:
        null_spec(s, name)
    assert np.array_equal(s.allowed, before[0]) and s.align == before[1]
    assert s.rules == before[2] and np.array_equal(s.temperature, before[3])


# --------------------------------------------------------------------------- power report
def test_pattern_passed_by_a_null_is_non_discriminating():
    vconf = load_validation("default")
    # the Russia–Azerbaijan rift follows from the scheduled shoot-down: every null passes it
    pats = {"shootdown_rift_ru_az": vconf.patterns["shootdown_rift_ru_az"]}
    report = run_nulls(spec(), pats, R, SEED, play=evaluate_all(play(), pats))
    (power,) = report.powers
    assert power.passed_by == tuple(NULLS) and not power.discriminating and not power.evidence
    assert report.summary()["non_discriminating"] == ["shootdown_rift_ru_az"]
    assert all(v == 0.0 for v in power.fail_share.values())


def test_a_drift_pattern_rejects_the_frozen_null():
    """Hand-built: with a strong Turkic affinity the axis climbs in 2022 with play; frozen
    alignment cannot move, so every one of its replicates fails the drift pattern."""
    s = spec("world.spheres.turkic.affinity=1.0")
    pat = {"drift": PatternConf(metric="axis_change", kind="drift", check="share_above",
                                target=0.0, args={"from": "2022-01", "to": "2022-12"})}
    played = evaluate_all(run_ensemble(s, R, SEED), pat)
    assert played[0].passed and played[0].statistic == 1.0
    report = run_nulls(s, pat, R, SEED, nulls=("frozen",), play=played)
    (power,) = report.powers
    assert power.rejects == ("frozen",) and power.fail_share["frozen"] == 1.0
    assert power.discriminating and power.evidence
    assert report.summary()["separated_by"] == {"frozen": ["drift"]}


def test_power_table_with_unequal_results():
    """pattern_power reads ensemble passes and per-replicate fail shares per null."""
    conf = PatternConf(metric="axis_change", check="share_above", target=0.0,
                       args={"from": "2022-01", "to": "2022-12"})
    traj = play()
    res = evaluate(traj, "p", conf)
    strict = PatternConf(**{**conf.__dict__, "target": 10.0})
    fails = evaluate(traj, "p", strict)
    (pw,) = pattern_power({"a": [res], "b": [fails]}, play=[res])
    assert pw.null_passed == {"a": res.passed, "b": False}
    assert pw.fail_share["b"] == 1.0 and "b" in pw.rejects


@pytest.mark.parametrize(
    ("check", "target", "tol", "expected"),
    [
        ("approx", 1.0, 0.5, [False, True, True, False]),
        ("at_least", 1.0, 1.0, [False, True, True, True]),
        ("at_most", 1.0, 1.0, [True, True, False, False]),
        ("share_above", 1.0, 1.0, [False, False, True, True]),
        ("share_below", 1.0, 1.0, [True, False, False, False]),
        ("share_within", 1.0, 1.0, [True, True, False, False]),
    ],
)
def test_replicate_passes(check, target, tol, expected):
    values = np.array([0.0, 1.0, 1.5, 2.0])
    got = replicate_passes(PatternConf(check=check, target=target, tolerance=tol), values)
    assert got.tolist() == expected


def test_share_statistic_is_the_mean_of_replicate_passes():
    conf = load_validation("default").patterns["axis_toward_turkic_2024"]
    res = evaluate(play(), "axis_toward_turkic_2024", conf)
    assert res.statistic == pytest.approx(res.replicate_pass.mean())


# ---------------------------------------------------------------------- new metrics, conf
def test_action_months_counts_forced_moves_and_only_them_when_passive():
    conf = load_validation("default").patterns["azerbaijan_fund_once_2024"]
    res = evaluate(null_run("passive"), "azerbaijan_fund_once_2024", conf)
    assert (res.values == 1.0).all()  # the Mar 2024 fund, forced by the record
    rnd = evaluate(null_run("random"), "azerbaijan_fund_once_2024", conf)
    assert rnd.mean > 3.0  # 1 forced + about 11 / 3 drawn


# the patterns added for the nulls (2026-12): a run under which each fails, and one under which it
# passes (a check that never fails, or never passes, tests nothing; tests/test_patterns.py does
# the same for the first 15 with configs built to break them)
# without the rest anchor the structure's own target pulls; with a Turkophile affinity, toward
# the Turkic sphere from the first month (with the anchor, a static affinity is absorbed)
TURKOPHILE = ("payoffs.alignment.at_rest=false", "world.spheres.turkic.affinity=1.0",
              "world.spheres.russian.affinity=0.0", "payoffs.alignment.inertia=0.15")
# without attention costs a one-time cost buys a lasting gain: summits and funds every few months
UNLIMITED_SUMMITS = ("actions.summit.repeat_cost=0",)
UNLIMITED_FUNDS = ("actions.investment_fund.repeat_cost=0",)
NEW_PATTERNS = {
    "axis_turkic_feb_jun_2022": ("play", TURKOPHILE),
    "western_share_up_2024": ("frozen", "play"),
    "chinese_share_up_2024": ("frozen", "play"),
    "azerbaijan_fund_once_2024": (UNLIMITED_FUNDS, "play"),
    "turkiye_summits_2023": (UNLIMITED_SUMMITS, "play"),
    "russia_summits_2023": (UNLIMITED_SUMMITS, "play"),
}


def _run(which: str | tuple[str, ...]) -> Trajectory:
    if which == "play":
        return play()
    if isinstance(which, str):
        return null_run(which)
    return run_ensemble(spec(*which), R, SEED)


@pytest.mark.parametrize("name", sorted(NEW_PATTERNS))
def test_new_pattern_can_fail_and_can_pass(name):
    conf = load_validation("default").patterns[name]
    fails_in, passes_in = NEW_PATTERNS[name]
    assert not evaluate(_run(fails_in), name, conf).passed, (name, fails_in)
    assert evaluate(_run(passes_in), name, conf).passed, (name, passes_in)


def test_ties_metric_is_the_kernels_ties_term():
    """The ties_change metric recomputes the ``ties`` term of sphere_utility; with every other
    alignment weight at 0 and econ at 1, sphere_utility is that term."""
    s = spec()
    only_ties = dataclasses.replace(
        s, align={**{k: 0.0 for k in s.align}, "econ": 1.0, "temperature": 1.0})
    traj = run_ensemble(only_ties, 3, SEED)
    state = initial_state(only_ties, 3)
    u0, _ = sphere_utility(state, only_ties)
    conf = PatternConf(metric="ties_change", args={"sphere": "turkic", "from": "2022-01",
                                                   "to": "2022-01"})
    res = evaluate(traj, "t", conf)
    turkic = s.spheres.index("turkic")
    after = u0[:, turkic] * (1.0 + res.values)
    state.share, state.investment = traj.share[1], traj.investment[1]
    assert after == pytest.approx(sphere_utility(state, only_ties)[0][:, turkic], rel=1e-12)


def test_every_pattern_has_a_kind_and_drift_patterns_read_changes():
    for name, c in load_validation("default").patterns.items():
        check_conf(name, c)
        if c.kind == "drift":
            assert c.metric in ("axis_change", "sphere_change"), name


def test_bad_kind_is_refused():
    with pytest.raises(ConfigError) as e:
        check_conf("x", PatternConf(metric="axis_change", kind="trend"))
    assert e.value.key == "validation.patterns.x.kind"


# ------------------------------------------------------------------------------ the option
def test_split_nulls_option():
    assert split_nulls_option(["a=1", "--nulls", "b=2"]) == (["a=1", "b=2"], tuple(NULLS))
    assert split_nulls_option(["--nulls=random,passive"]) == ([], ("random", "passive"))
    assert split_nulls_option(["x=1"]) == (["x=1"], None)
    assert parse_nulls("all") == tuple(NULLS)


@pytest.mark.parametrize("words", [["--nulls=bogus"], ["--nulls", "--nulls"],
                                   ["--nulls=frozen,frozen"], ["--nullsx"]])
def test_split_nulls_option_refuses(words):
    with pytest.raises(ConfigError):
        split_nulls_option(words)


@pytest.mark.slow
def test_validate_cli_nulls_end_to_end(tmp_path: Path, cli):
    out = tmp_path / "val"
    res = cli(["replicates=6", "progress=false", "--nulls", "--out", str(out)],
                  cwd=tmp_path, program="alignsim-validate")
    assert res.returncode == 0, res.stderr
    assert "non-discriminating" in res.stdout and "passive" in res.stdout
    table = (out / "nulls.csv").read_text().splitlines()
    npat = len(load_validation("default").patterns)
    assert table[0].startswith("pattern,kind,split,play_passed") and len(table) == 1 + npat
    doc = json.loads((out / "nulls.json").read_text())
    assert doc["replicates"] == 6 and doc["seed"] == SEED and doc["alignsim_version"]
    assert doc["config"]["seed"] == SEED and "--nulls" in doc["command"]
    assert set(doc["nulls"]) == set(NULLS) and len(doc["powers"]) == npat
    assert (out / "validation.csv").exists()  # the ordinary validation is still written


@pytest.mark.parametrize("arg", ["--nulls=bogus", "--nulls=passive,passive"])
def test_validate_cli_bad_nulls_is_one_line_exit_2(tmp_path: Path, arg: str, cli):
    out = tmp_path / "val"
    res = cli(["progress=false", arg, "--out", str(out)], cwd=tmp_path,
                  program="alignsim-validate")
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alignsim-validate: error: --nulls"), lines
    assert not out.exists()
