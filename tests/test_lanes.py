"""The compiled kernel's SIMD lanes: a replicate computes alone whoever shares its group.

Rows of one point run as the lanes of a group (``compiled.lane_groups``), every operation a loop
over lanes. A lane's result must not depend on its neighbours (their last actions decide which
entries the look-ahead patches and whether it takes the full advance), on the group's width, or
on where the driver writes its records. ``_exp`` replaces ``math.exp`` in the kernel: its error
is bounded here.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

import alignsim.ensemble as ensemble
from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel import compiled as ck
from alignsim.kernel.batch import pack, run_rows
from alignsim.kernel.spec import compile_spec
from alignsim.kernel.step import replicate_uniforms

SEED = 7


@njit
def _exp_all(xs):
    out = np.empty_like(xs)
    for i in range(xs.shape[0]):
        out[i] = ck._exp(xs[i])
    return out


def test_exp_is_within_two_ulp_of_math_exp_over_the_kernels_range():
    xs = np.concatenate([np.linspace(-708.0, 0.0, 200_001), -np.logspace(-12, 2, 5001),
                         np.linspace(0.0, 709.0, 20_001)])
    got = _exp_all(xs)
    want = np.array([math.exp(x) for x in xs])
    rel = np.abs(got - want) / want
    assert rel.max() < 4.5e-16  # two ulp of double precision
    assert _exp_all(np.array([0.0]))[0] == 1.0


def test_exp_limits_are_exact():
    got = _exp_all(np.array([-np.inf, -800.0, -708.5, 710.0, np.inf, np.nan]))
    assert got[:5].tolist() == [0.0, 0.0, 0.0, np.inf, np.inf] and np.isnan(got[5])


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-708.0, max_value=709.0, allow_nan=False))
def test_exp_agrees_with_math_exp_everywhere(x):
    got = _exp_all(np.array([x]))[0]
    assert abs(got - math.exp(x)) <= 4.5e-16 * math.exp(x)


def test_lane_groups_cover_each_row_once_one_point_per_group():
    point = np.array([2, 0, 2, 1, 0, 2, 2, 2, 0], np.int64)
    order, groups = ck.lane_groups(point, lanes=2)
    assert sorted(order.tolist()) == list(range(len(point)))
    seen = []
    for p, start, size in groups:
        assert 1 <= size <= 2
        rows = order[start:start + size]
        assert (point[rows] == p).all()
        seen += rows.tolist()
    assert seen == order.tolist()
    assert order.tolist() == [1, 4, 8, 3, 0, 2, 5, 6, 7]  # stable within a point


def _spec(*overrides, months=24):
    return compile_spec(compose_config(["scenario=baseline", f"months={months}", *overrides]))


@pytest.mark.parametrize("rule", [
    ["policy=logit", "policy.temperature=3.0"],  # near-random play: halts in some lanes only
    ["policy=fictitious_play"],
    ["policy=roth_erev"],
    ["policy=best_response"],
    ["policy=mixed"],
    ["policy=logit", "policy.temperature_scale=spread", "policy.temperature=0.3"],
    ["policy=logit", "world.routes.middle_corridor.ceiling=0.2"],  # diminishing capacity
    [],  # foresight: rollouts
], ids=["hot-logit", "fictitious_play", "roth_erev", "best_response", "mixed", "spread",
        "ceiling", "foresight"])
def test_a_lane_is_the_same_alone_and_among_any_neighbours(rule):
    spec = _spec(*rule)
    packed = pack([spec])
    n = 2 * ck.LANES + 3  # two full groups and a narrow one
    u = replicate_uniforms(SEED, range(n), spec.months, spec.n_actors)
    together = run_rows(packed, np.zeros(n, np.int64), u, expected=True)
    russia = spec.actors.index("russia")
    if any("ceiling" in r for r in rule):
        assert np.isfinite(spec.ceiling).any()
    if "policy.temperature=3.0" in rule:  # the case this is about: neighbours that halt
        halts = (together.actions[:, :, russia] == 1)
        assert halts.any() and not halts.all(axis=1).any()
    for r in (0, ck.LANES - 1, ck.LANES + 5, n - 1):
        alone = run_rows(packed, np.zeros(1, np.int64), u[r:r + 1], expected=True)
        assert np.array_equal(alone.states[:, 0], together.states[:, r])
        assert np.array_equal(alone.actions[:, 0], together.actions[:, r])
        assert np.array_equal(alone.payoffs[:, 0], together.payoffs[:, r])
        assert np.array_equal(alone.expected[:, 0], together.expected[:, r])


def test_the_group_width_changes_no_bit(monkeypatch):
    spec = _spec("policy=logit", "policy.temperature=3.0")
    packed = pack([spec])
    u = replicate_uniforms(SEED, range(40), spec.months, spec.n_actors)
    wide = run_rows(packed, np.zeros(40, np.int64), u, expected=True)
    monkeypatch.setattr(ck, "LANES", 3)
    narrow = run_rows(packed, np.zeros(40, np.int64), u, expected=True)
    for name in ("states", "actions", "payoffs", "expected"):
        assert np.array_equal(getattr(wide, name), getattr(narrow, name)), name


def test_records_written_in_chunks_equal_one_call(monkeypatch):
    spec = _spec("policy=logit")
    whole = run_ensemble(spec, 23, SEED)
    monkeypatch.setattr(ensemble, "COMPILED_CHUNK", 5)
    chunked = run_ensemble(spec, 23, SEED)
    for name in ("alignment", "share", "relations", "pain", "actions", "payoffs"):
        assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name
    rec = ensemble.Recorder(spec, 3, keep_expected=False)
    assert np.shares_memory(rec.relations, rec.block) and rec.relations.shape[2:] == (6, 6)


def test_records_that_cannot_hold_the_rows_are_refused():
    spec = _spec("policy=logit", months=6)
    rec = ensemble.Recorder(spec, 4, keep_expected=False)
    u = replicate_uniforms(SEED, range(3), spec.months, spec.n_actors)
    packed = pack([spec])
    with pytest.raises(ValueError, match=r"cannot hold rows 2\.\.4"):
        run_rows(packed, np.zeros(3, np.int64), u, into=rec.rows(), at=2)
    short = dataclasses.replace(rec.rows(), actions=rec.actions[:-1].copy())
    with pytest.raises(ValueError, match=r"into\.actions is \(5, 4, 6\), not \(6, 4, 6\)"):
        run_rows(packed, np.zeros(3, np.int64), u, into=short)
    no_payoffs = dataclasses.replace(rec.rows(), payoffs=np.zeros((0, 0, 0)))
    with pytest.raises(ValueError, match=r"into\.payoffs"):
        run_rows(packed, np.zeros(3, np.int64), u, into=no_payoffs)
    totals = dataclasses.replace(rec.rows(), action_counts=np.zeros((4, 6, 11), np.int64))
    with pytest.raises(ValueError, match="totals"):
        run_rows(packed, np.zeros(3, np.int64), u, into=totals)
    done = run_rows(packed, np.zeros(3, np.int64), u, into=rec.rows(), at=1)
    assert done.states is rec.block and done.index.size == rec.block.shape[2]
    alone = run_rows(packed, np.zeros(3, np.int64), u)
    assert np.array_equal(rec.block[:, 1:4], alone.states)
    assert np.array_equal(rec.actions[:, 1:4], alone.actions)
