"""The compiled kernel against its NumPy oracle, and the determinism that survives batching.

Oracle: ``tests/numpy_oracle.py`` runs the NumPy kernel month by month. Agreement is asked within
1e-9 on every state and payoff and exactly on every action, for each decision rule the compiled
kernel runs, on the ``history`` and ``baseline`` scenarios.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.batch import pack, run_rows
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.kernel.step import replicate_uniforms
from numpy_oracle import run_numpy

SEED = 20220101
TOL = 1e-9

RULES = [
    ["policy=logit"],
    ["policy=best_response"],
    ["policy=fictitious_play"],
    ["policy=roth_erev"],
    ["policy=mixed"],
    [],  # the default: foresight (the swing state looks 12 months ahead)
    ["policy=logit", "policy.temperature_scale=spread", "policy.temperature=0.3"],
    ["policy=roth_erev", "policy.temperature_scale=spread"],
]


def _spec(*overrides: str):
    return compile_spec(compose_config(list(overrides)))


def _agree(spec, replicates: int) -> None:
    traj = run_ensemble(spec, replicates, SEED, keep_expected=True)
    ref = run_numpy(spec, replicates, SEED)
    assert np.array_equal(traj.actions, ref["actions"])
    for name in ("alignment", "share", "relations", "threat"):
        np.testing.assert_allclose(getattr(traj, name), ref[name], rtol=0, atol=TOL, err_msg=name)
    np.testing.assert_allclose(traj.payoffs, ref["payoffs"], rtol=0, atol=TOL)
    finite = np.isfinite(ref["expected"])
    assert np.array_equal(np.isfinite(traj.expected), finite)
    np.testing.assert_allclose(traj.expected[finite], ref["expected"][finite], rtol=0, atol=TOL)


@pytest.mark.parametrize("scenario", ["history", "baseline"])
@pytest.mark.parametrize("rule", RULES, ids=lambda r: "-".join(r) or "foresight")
def test_compiled_kernel_agrees_with_numpy_oracle(scenario, rule):
    _agree(_spec(f"scenario={scenario}", *rule), 4)


def test_oracle_agreement_with_finite_ceilings_and_no_rest_anchor():
    spec = _spec("scenario=baseline", "policy=logit", "months=36",
                 "payoffs.alignment.at_rest=false",
                 "world.routes.middle_corridor.ceiling=0.2")
    assert np.isfinite(spec.ceiling).any()
    _agree(spec, 6)


def test_a_replicate_alone_equals_it_in_a_batch_of_ten_thousand():
    spec = _spec("scenario=baseline", "policy=logit", "months=8")
    packed = pack([spec])
    ids = [0, 1, 4321, 9999]
    big = run_rows(packed, np.zeros(10_000, np.int64),
                   replicate_uniforms(SEED, range(10_000), 8, spec.n_actors))
    for r in ids:
        alone = run_rows(packed, np.zeros(1, np.int64),
                         replicate_uniforms(SEED, [r], 8, spec.n_actors))
        assert np.array_equal(alone.states[:, 0], big.states[:, r])
        assert np.array_equal(alone.actions[:, 0], big.actions[:, r])


def test_points_on_the_batch_axis_equal_each_point_alone():
    specs = [_spec("scenario=baseline", "policy=logit", "months=24",
                   f"payoffs.alignment.inertia={v}", f"world.dynamics.threat_learning={w}")
             for v, w in [(0.05, 0.5), (0.02, 0.9), (0.1, 0.1)]]
    u = replicate_uniforms(SEED, range(5), 24, specs[0].n_actors)
    together = pack(specs)
    point = np.repeat(np.arange(3), 5)  # 3 points x 5 replicates, common random numbers
    rows = run_rows(together, point, np.tile(u, (3, 1, 1)))
    for p, spec in enumerate(specs):
        alone = run_rows(pack([spec]), np.zeros(5, np.int64), u)
        assert np.array_equal(rows.states[:, p * 5:(p + 1) * 5], alone.states)
        assert np.array_equal(rows.payoffs[:, p * 5:(p + 1) * 5], alone.payoffs)
    assert not np.array_equal(rows.states[:, :5], rows.states[:, 5:10])  # the points differ


def test_points_of_different_structure_are_refused_naming_the_field():
    with pytest.raises(ConfigError, match="rules"):
        pack([_spec("policy=logit"), _spec("policy=roth_erev")])
    with pytest.raises(ConfigError, match="months"):
        pack([_spec("scenario=baseline", "months=12"), _spec("scenario=baseline", "months=24")])


def test_whole_compiled_runs_refuse_the_equilibrium_rule_in_one_line():
    pytest.importorskip("pygambit")
    with pytest.raises(ConfigError, match=r"policy\.rule.*stage game"):
        pack([_spec("policy=equilibrium")])


def test_summaries_without_monthly_records_match_the_full_record():
    spec = _spec("scenario=baseline", "policy=logit", "months=12")
    packed = pack([spec])
    u = replicate_uniforms(SEED, range(7), 12, spec.n_actors)
    full = run_rows(packed, np.zeros(7, np.int64), u)
    lean = run_rows(packed, np.zeros(7, np.int64), u, fields=(), moves=False, totals=True,
                    final=True)
    assert lean.states.size == 0 and lean.actions.size == 0
    counts = np.stack([(full.actions == a).sum(axis=0) for a in range(spec.n_actions)], axis=-1)
    assert np.array_equal(lean.action_counts, counts)
    np.testing.assert_allclose(lean.payoff_sums, full.payoffs.sum(axis=0), rtol=1e-12)
    n_s = spec.n_spheres
    assert np.array_equal(lean.final[:, :n_s], full.states[-1, :, :n_s])


def test_step_wise_cache_is_bounded():
    from alignsim.kernel import rows

    base = _spec("scenario=baseline", "policy=logit", "months=6")
    specs = [dataclasses.replace(base) for _ in range(rows.CACHE_SIZE + 20)]
    for s in specs:
        rows.packed_of(s)
    assert len(rows._PACKED) <= rows.CACHE_SIZE
    assert rows.packed_of(specs[-1]) is rows.packed_of(specs[-1])


def test_a_month_outside_the_run_is_refused_not_read_past_the_tables():
    from alignsim.kernel.decisions import Memory, expected_payoffs
    from alignsim.kernel.rows import play
    from alignsim.kernel.state import initial_state

    spec = _spec("scenario=baseline", "policy=logit", "months=6")
    state, memory = initial_state(spec, 1), Memory.initial(spec, 1)
    for t in (6, 500, -1):
        with pytest.raises(IndexError, match="outside the run"):
            expected_payoffs(state, memory, spec, t)
    with pytest.raises(IndexError, match="outside the run"):
        play(state, np.zeros((1, spec.n_actors), np.int64), spec, 6)


def test_a_failing_call_fails_only_its_own_points(monkeypatch):
    import alignsim.ensemble as ens

    specs = [_spec("scenario=baseline", "policy=logit", "months=6",
                   f"payoffs.alignment.inertia={v}") for v in (0.02, 0.04, 0.06)]
    real = ens._run_call

    def flaky(call, points, seed):
        if 1 in call:
            raise RuntimeError("boom")
        return real(call, points, seed)

    monkeypatch.setattr(ens, "_run_call", flaky)
    got = dict(ens.run_points([ens.PointRun(s, 3) for s in specs], SEED, max_rows=3,
                              errors="yield"))
    assert isinstance(got[1], RuntimeError)
    assert not isinstance(got[0], BaseException) and not isinstance(got[2], BaseException)
    with pytest.raises(RuntimeError):
        list(ens.run_points([ens.PointRun(s, 3) for s in specs], SEED, max_rows=3))
