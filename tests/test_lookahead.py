"""The actors' look-ahead (``policy.horizon``, ``policy.discount``) and payoff-scaled decision
noise (``policy.temperature_scale: spread``), each checked against a rollout or formula written
out here, not against the code under test."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.kernel.decisions import Memory, decide_actor, expected_payoffs
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.kernel.state import initial_state
from numpy_kernel.choice import logit_probabilities, payoff_spread
from numpy_kernel.dynamics import advance, payoffs


@pytest.fixture(scope="module")
def spec():
    # policy=logit: every actor at the one default horizon, which the tests then vary
    return compile_spec(compose_config(["scenario=history", "policy=logit"]))


def _rollout_value(spec, actor: int, action: int, horizon: int, discount: float) -> float:
    """Month 1: ``action`` with everyone else at their last action (``none`` at the start) and
    month 0's events; months 2..H: the actor plays ``none``, the others still ``none``, no
    events. Discounted mean of the actor's payoffs."""
    s = initial_state(spec, 1)
    delta = spec.effects[actor, action] + spec.event_effects[0]
    acts = np.zeros((1, spec.n_actors), dtype=np.int64)
    acts[0, actor] = action
    s, view = advance(s, delta[None, :], spec)
    total = payoffs(s, acts, spec, view)[0, actor]
    acts[0, actor] = 0
    for h in range(1, horizon):
        s, view = advance(s, np.zeros((1, spec.layout.size)), spec)
        total += discount**h * payoffs(s, acts, spec, view)[0, actor]
    return total / sum(discount**h for h in range(horizon))


@pytest.mark.parametrize(("horizon", "discount"), [(1, 0.9), (4, 0.8), (12, 0.95)])
def test_expected_payoff_is_the_discounted_mean_of_a_rollout(spec, horizon, discount) -> None:
    sp = dataclasses.replace(spec, horizon=horizon, discount=discount)
    q = expected_payoffs(initial_state(sp, 1), Memory.initial(sp, 1), sp, 0)
    kz = sp.swing
    div = sp.action_index("route_diversification")
    assert q[0, kz, div] == pytest.approx(_rollout_value(sp, kz, div, horizon, discount),
                                          rel=1e-12, abs=1e-14)


def test_under_threat_a_longer_horizon_makes_exits_pay(spec) -> None:
    """Route building pays only once capacity operates (12-month lag), and more the more the
    route it bypasses is threatened: at a Russian threat of 0.2 one month of effort is worth
    less than doing nothing to a one-month look-ahead and more to a 12-month one (measured:
    -1.7e-3 and +1.5e-3), and its value rises with the threat."""
    kz, div = spec.swing, spec.action_index("route_diversification")
    ru = spec.actor_index("russia")

    def gain(h: int, threat: float) -> float:
        sp = dataclasses.replace(spec, horizon=h, discount=0.95)
        s = initial_state(sp, 1)
        s.threat[0, ru] = threat
        q = expected_payoffs(s, Memory.initial(sp, 1), sp, 1)
        return float(q[0, kz, div] - q[0, kz, 0])

    assert gain(1, 0.2) < 0 < gain(12, 0.2)
    assert gain(12, 0.02) < gain(12, 0.2) < gain(12, 0.5) < gain(12, 0.9)


def test_spread_scaled_noise_is_invariant_to_the_payoffs_unit() -> None:
    """``spread``: multiplying every expected payoff by 1000 changes no probability; the
    temperature is 0.2 of the spread (best minus worst allowed)."""
    q = np.array([[0.0, 0.003, 0.001, -np.inf]])
    np.testing.assert_allclose(payoff_spread(q), [[0.003]])
    p_small = logit_probabilities(q, 0.2 * payoff_spread(q))
    p_big = logit_probabilities(1000 * q, 0.2 * payoff_spread(1000 * q))
    np.testing.assert_allclose(p_small, p_big, rtol=1e-12)
    # by hand: exp((q - max) / (0.2 * 0.003)) = exp(-5), 1, exp(-10/3), 0
    w = np.array([np.exp(-5.0), 1.0, np.exp(-10.0 / 3.0), 0.0])
    np.testing.assert_allclose(p_small[0], w / w.sum(), rtol=1e-12)


def test_spread_scaled_noise_in_the_decision(spec) -> None:
    sp = dataclasses.replace(spec, temperature_scale="spread",
                             temperature=np.full(spec.n_actors, 0.2))
    q = np.full((1, sp.n_actors, sp.n_actions), -np.inf)
    kz = sp.swing
    allowed = np.flatnonzero(sp.allowed[kz])
    q[0, kz, allowed] = np.linspace(0.0, 0.01, len(allowed))
    _, p = decide_actor(sp, kz, q, Memory.initial(sp, 1), np.array([0.5]))
    expected = np.exp((q[0, kz, allowed] - 0.01) / (0.2 * 0.01))
    np.testing.assert_allclose(p[0, allowed], expected / expected.sum(), rtol=1e-12)


@pytest.mark.parametrize(
    ("override", "key"),
    [("policy.horizon=0", "policy.horizon"), ("policy.discount=1.5", "policy.discount"),
     ("policy.temperature_scale=huge", "policy.temperature_scale")],
)
def test_bad_lookahead_settings_are_refused(override, key) -> None:
    with pytest.raises(ConfigError) as err:
        compile_spec(compose_config([override]))
    assert err.value.key == key
