"""Attention costs (``actions.<a>.repeat_cost``, ``world.dynamics.usage_decay``) and per-actor
look-ahead horizons (``policy.actors.<i>.horizon``), each checked against numbers worked out
here rather than against the code under test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.kernel.decisions import Memory, expected_payoffs
from alignsim.kernel.spec import ConfigError, actor_horizons, compile_spec
from alignsim.kernel.state import initial_state
from numpy_kernel.dynamics import action_costs, remember_uses, step_payoffs


@pytest.fixture(scope="module")
def spec():
    # policy=logit: every actor at the default one-month horizon
    return compile_spec(compose_config(["scenario=baseline", "months=12", "policy=logit"]))


def _joint(spec, **moves: str) -> np.ndarray:
    acts = np.zeros((1, spec.n_actors), dtype=np.int64)
    for actor, action in moves.items():
        acts[0, spec.actor_index(actor)] = spec.action_index(action)
    return acts


def test_the_catalogue_prices_repeats_of_gestures_not_of_route_building(spec) -> None:
    rc = dict(zip(spec.actions, spec.repeat_cost, strict=True))
    assert rc == {"none": 0.0, "pipeline_halt": 10.0, "recognition_refusal": 10.0,
                  "investment_fund": 10.0, "route_diversification": 0.0,
                  "security_guarantee": 10.0, "summit": 10.0, "sanctions_compliance": 10.0,
                  "turkic_format": 10.0, "balancing_visit": 10.0, "neutral_mediation": 10.0}
    assert spec.dyn["usage_decay"] == pytest.approx(0.1)


def test_repeated_summits_cost_more_by_the_remembered_uses(spec) -> None:
    """Türkiye's summit costs 0.004. A month is priced at the uses remembered *before* it; the
    memory then fades by 0.1 and counts the month's use. Month 1: no use, 0.004. Then 1 use:
    0.004 x (1 + 10 x 1) = 0.044. Then 1 x 0.9 + 1 = 1.9 uses: 0.004 x (1 + 19) = 0.080."""
    tr = spec.actor_index("turkiye")
    summit = _joint(spec, turkiye="summit")
    state = initial_state(spec, 1)
    paid = []
    for _ in range(3):
        paid.append(float(action_costs(state, summit, spec)[0, tr]))
        state, _ = step_payoffs(state, summit, spec)
    assert paid == pytest.approx([0.004, 0.044, 0.080], rel=1e-12)
    assert state.usage[0, tr, spec.action_index("summit")] == pytest.approx(0.81 + 0.9 + 1.0)


def test_the_realised_payoff_pays_the_escalated_cost(spec) -> None:
    tr = spec.actor_index("turkiye")
    summit, none = _joint(spec, turkiye="summit"), _joint(spec)
    fresh = initial_state(spec, 1)
    used = fresh.copy()
    used.usage[0, tr, spec.action_index("summit")] = 2.0
    gap_fresh = step_payoffs(fresh, summit, spec)[1] - step_payoffs(fresh, none, spec)[1]
    gap_used = step_payoffs(used, summit, spec)[1] - step_payoffs(used, none, spec)[1]
    # the same effects, a cost 0.004 x 10 x 2 = 0.08 higher; the other actors are untouched
    assert gap_fresh[0, tr] - gap_used[0, tr] == pytest.approx(0.08, rel=1e-9)
    others = np.arange(spec.n_actors) != tr
    np.testing.assert_allclose(gap_used[0, others], gap_fresh[0, others], rtol=0, atol=1e-15)


def test_uses_fade_and_count_every_played_action(spec) -> None:
    usage = np.zeros((2, spec.n_actors, spec.n_actions))
    usage[0, 0, 2] = 1.0
    acts = np.array([[2, 0, 0, 0, 0, 0], [1, 3, 0, 0, 0, 0]])
    out = remember_uses(usage, acts, spec)
    assert out[0, 0, 2] == pytest.approx(0.9 + 1.0)
    assert out[1, 0, 1] == 1.0 and out[1, 1, 3] == 1.0
    assert out[:, 2:, 0].tolist() == [[1.0] * 4, [1.0] * 4]  # `none` is counted too (cost 0)
    assert usage[0, 0, 2] == 1.0  # the input is not changed


def test_without_repeat_costs_the_cost_table_is_exact(spec) -> None:
    sp = dataclasses.replace(spec, repeat_cost=np.zeros(spec.n_actions))
    state = initial_state(sp, 1)
    state.usage[:] = 5.0
    acts = _joint(sp, turkiye="summit", russia="pipeline_halt")
    n = np.arange(sp.n_actors)[None, :]
    assert np.array_equal(action_costs(state, acts, sp), sp.cost[n, acts])


def test_the_look_ahead_prices_this_months_move_at_the_remembered_uses(spec) -> None:
    """Türkiye's expected payoff of a summit falls by exactly the extra cost (H = 1)."""
    tr, summit = spec.actor_index("turkiye"), spec.action_index("summit")
    fresh = initial_state(spec, 1)
    used = fresh.copy()
    used.usage[0, tr, summit] = 1.0
    memory = Memory.initial(spec, 1)
    q0 = expected_payoffs(fresh, memory, spec, 0)
    q1 = expected_payoffs(used, memory, spec, 0)
    assert q0[0, tr, summit] - q1[0, tr, summit] == pytest.approx(0.004 * 10.0, rel=1e-9)
    assert q1[0, tr, 0] == q0[0, tr, 0]


@pytest.mark.parametrize(("key", "value", "message"), [
    ("actions.summit.repeat_cost", "-1", "must be >= 0.0, got -1.0"),
    ("world.dynamics.usage_decay", "1.5", "must be <= 1.0, got 1.5"),
    ("policy.actors.kazakhstan.horizon", "0", "must be >= 1, got 0"),
])
def test_bad_values_name_their_key(key, value, message) -> None:
    with pytest.raises(ConfigError) as err:
        compile_spec(compose_config(["scenario=baseline", f"{key}={value}"]))
    assert err.value.key == key.lstrip("+")
    assert err.value.message == message


def test_an_actors_own_horizon_gives_its_row_of_the_global_horizon(spec) -> None:
    """Kazakhstan at H = 12 by its own key values its moves as it does when everyone looks 12
    months ahead; every other actor values its moves as at the default H = 1."""
    own = compile_spec(compose_config(["scenario=baseline", "months=12", "policy=logit",
                                       "policy.actors.kazakhstan.horizon=12"]))
    assert actor_horizons(own).tolist() == [12, 1, 1, 1, 1, 1]
    everyone = dataclasses.replace(spec, horizon=12)
    state, memory = initial_state(spec, 2), Memory.initial(spec, 2)
    q_own = expected_payoffs(state, memory, own, 0)
    q_all = expected_payoffs(state, memory, everyone, 0)
    q_one = expected_payoffs(state, memory, spec, 0)
    kz = spec.swing
    np.testing.assert_allclose(q_own[:, kz], q_all[:, kz], rtol=1e-12, atol=1e-15)
    others = np.arange(spec.n_actors) != kz
    np.testing.assert_allclose(q_own[:, others], q_one[:, others], rtol=1e-12, atol=1e-15)


def test_the_foresight_preset_is_the_swing_state_planning_a_year(spec) -> None:
    sp = compile_spec(compose_config(["policy=foresight", "scenario=baseline", "months=12"]))
    assert actor_horizons(sp).tolist() == [12, 1, 1, 1, 1, 1]
    assert sp.rules == ("logit",) * 6
