"""Decision rules and memory on fixed, asymmetric inputs, against probabilities worked by hand.

Deliberately asymmetric: payoffs ``q`` differ action by action (no ties unless a tie is the
point), the recency is 0.3 (so ``1 - r != r``), counts and last actions disagree, so that a
swapped argument or a wrong axis shows as a wrong number. See docs/model.md §7.10-7.13.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alignsim.kernel.decisions import Memory, decide_actor, expected_payoffs, remember
from alignsim.kernel.policies import reinforce, rule_temperature
from alignsim.kernel.schema import ActorPolicyConf
from alignsim.kernel.spec import compile_spec
from alignsim.kernel.state import initial_state
from handchecked_world import tiny_config
from numpy_kernel.choice import (
    best_response_probabilities,
    choose,
    logit_probabilities,
    propensity_probabilities,
    sample,
)
from numpy_kernel.lookahead import beliefs

TOL = 1e-12
NEG = -np.inf
K, R, T = 0, 1, 2


def approx(values):
    return pytest.approx(np.asarray(values, dtype=float), abs=TOL)


# ---------------------------------------------------------------------- the rules alone
def test_logit_probabilities_by_hand() -> None:
    # q = (0.3, -inf, 0.1, 0.25), T = 0.1: weights exp(0), 0, exp(-2), exp(-0.5)
    q = np.array([[0.3, NEG, 0.1, 0.25]])
    z = 1.0 + math.exp(-2.0) + math.exp(-0.5)
    expected = [1.0 / z, 0.0, math.exp(-2.0) / z, math.exp(-0.5) / z]
    assert logit_probabilities(q, 0.1)[0] == approx(expected)
    _, p = choose("logit", q, np.array([0.0]), temperature=0.1, propensity=np.ones((1, 4)),
                  allowed=np.array([True, False, True, True]))
    assert p[0] == approx(expected)
    # T = inf: uniform over the allowed actions
    assert logit_probabilities(q, math.inf)[0] == approx([1 / 3, 0.0, 1 / 3, 1 / 3])


def test_best_response_breaks_near_ties_uniformly() -> None:
    # 0.3 and 0.3 + 5e-13 are within the 1e-12 tie tolerance; 0.1 is not a maximiser
    q = np.array([[0.3, 0.3 + 5e-13, NEG, 0.1], [0.1, 0.2, NEG, 0.0]])
    assert best_response_probabilities(q) == approx([[0.5, 0.5, 0.0, 0.0], [0, 1.0, 0, 0]])
    _, p = choose("fictitious_play", q, np.zeros(2), temperature=1.0,
                  propensity=np.ones((2, 4)), allowed=np.array([True, True, False, True]))
    assert p == approx([[0.5, 0.5, 0.0, 0.0], [0, 1.0, 0, 0]])


def test_roth_erev_probabilities_are_proportional_to_propensity() -> None:
    # propensities (2, 0.5, [not allowed], 1.5): total 4 -> (0.5, 0.125, 0, 0.375); q unused
    prop = np.array([[2.0, 0.5, 7.0, 1.5]])
    allowed = np.array([True, True, False, True])
    assert propensity_probabilities(prop, allowed)[0] == approx([0.5, 0.125, 0.0, 0.375])
    _, p = choose("roth_erev", np.array([[9.0, 0.0, NEG, 0.0]]), np.array([0.5]),
                  temperature=1.0, propensity=prop, allowed=allowed)
    assert p[0] == approx([0.5, 0.125, 0.0, 0.375])


def test_equilibrium_rule_samples_at_one_over_lambda() -> None:
    assert rule_temperature("equilibrium", 0.005, 4.0) == 0.25
    assert rule_temperature("equilibrium", 0.005, 0.0) == math.inf
    assert rule_temperature("logit", 0.005, 4.0) == 0.005
    q = np.array([[0.5, 0.25, NEG]])
    _, p = choose("equilibrium", q, np.array([0.5]), temperature=0.25,
                  propensity=np.ones((1, 3)), allowed=np.array([True, True, False]))
    # exp(4 * q): 1 : exp(-1)
    assert p[0] == approx([1 / (1 + math.exp(-1)), math.exp(-1) / (1 + math.exp(-1)), 0.0])


def test_sample_is_an_inverse_cdf_draw() -> None:
    # cdf of (0.5, 0.125, 0, 0.375) = (0.5, 0.625, 0.625, 1.0); index = #(cdf <= u)
    p = np.tile([0.5, 0.125, 0.0, 0.375], (5, 1))
    u = np.array([0.0, 0.49, 0.5, 0.625, 0.99])
    assert sample(p, u).tolist() == [0, 0, 1, 3, 3]


def test_reinforce_fades_by_the_recency_then_adds_the_reward() -> None:
    # recency 0.3: (1 - 0.3) * (1, 2, 0) = (0.7, 1.4, 0), then +0.5 on the chosen action 1
    out = reinforce(np.array([[1.0, 2.0, 0.0]]), np.array([1]), np.array([0.5]), 0.3)
    assert out[0] == approx([0.7, 1.9, 0.0])


# -------------------------------------------------------------------- memory and beliefs
def spec_of(**kw):
    return compile_spec(tiny_config(**kw))


def test_memory_starts_with_one_count_per_allowed_action() -> None:
    spec = spec_of()
    m = Memory.initial(spec, 2)
    # actions: none, halt, warm, summit; k: none; r: none, halt, warm; t: none, summit
    prior = [[1, 0, 0, 0], [1, 1, 1, 0], [1, 0, 0, 1]]
    assert m.counts.tolist() == [prior, prior]
    assert m.propensity.tolist() == [prior, prior]
    assert m.last.tolist() == [[0, 0, 0], [0, 0, 0]]


def test_empirical_beliefs_normalise_each_actors_counts() -> None:
    spec = spec_of()
    m = Memory.initial(spec, 1)
    m.counts[0] = [[1, 0, 0, 0], [1, 2, 5, 0], [3, 0, 0, 1]]
    b = beliefs(m, "empirical")
    # each actor's counts over its own actions: r (1, 2, 5)/8, t (3, 1)/4
    assert b[0] == approx([[1, 0, 0, 0], [0.125, 0.25, 0.625, 0], [0.75, 0, 0, 0.25]])


def test_last_beliefs_are_one_hot_on_the_last_action() -> None:
    spec = spec_of()
    m = Memory.initial(spec, 1)
    m.last[0] = [0, 2, 3]
    assert beliefs(m, "last")[0].tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]


def test_remember_counts_the_played_actions() -> None:
    spec = spec_of()
    m = Memory.initial(spec, 1)
    q = np.zeros((1, 3, 4))
    new = remember(m, np.array([[0, 2, 3]]), np.zeros((1, 3)), q, spec)
    assert new.last.tolist() == [[0, 2, 3]]
    assert new.counts[0].tolist() == [[2, 0, 0, 0], [1, 1, 2, 0], [1, 0, 0, 2]]
    assert new.propensity[0].tolist() == m.propensity[0].tolist()  # no roth_erev actor


def test_roth_erev_reinforces_the_payoff_above_the_worst_option() -> None:
    # r plays roth_erev with recency 0.3. q_r = (0.4 none, 1.0 halt, 0.6 warm, -inf summit);
    # worst = 0.4. r played warm and realised 0.9: reward = 0.9 - 0.4 = 0.5.
    # propensity (1, 1, 1, 0) -> (0.7, 0.7, 0.7 + 0.5, 0)
    cfg = tiny_config(rule="best_response", recency=0.3)
    cfg.policy.actors = {"r": ActorPolicyConf(rule="roth_erev")}
    spec = compile_spec(cfg)
    assert spec.rules == ("best_response", "roth_erev", "best_response")
    m = Memory.initial(spec, 1)
    q = np.full((1, 3, 4), NEG)
    q[0, R, :3] = [0.4, 1.0, 0.6]
    q[0, K, 0] = 0.0
    q[0, T, [0, 3]] = [0.2, 0.1]
    realised = np.array([[0.0, 0.9, 0.3]])
    new = remember(m, np.array([[0, 2, 0]]), realised, q, spec)
    assert new.propensity[0, R] == approx([0.7, 0.7, 1.2, 0.0])
    assert new.propensity[0, T] == approx([1, 0, 0, 1])  # t is no roth_erev actor
    # doing worse than the worst option reinforces nothing (the reward is floored at 0)
    new = remember(m, np.array([[0, 1, 0]]), np.array([[0.0, 0.1, 0.0]]), q, spec)
    assert new.propensity[0, R] == approx([0.7, 0.7, 0.7, 0.0])


# ------------------------------------------------------------- beliefs in the look-ahead
def test_fictitious_play_values_actions_against_frequencies_not_last_moves() -> None:
    # t's payoff is only its relation with k (weight 1), which starts at 0.3 and does not
    # revert. r's 'warm' raises it by 0.1. r's counts: none 1, halt 0, warm 3 -> P(warm) = 3/4,
    # while r's last action was 'none'. Under fictitious play t expects
    #   q_t(none) = 0.3 + 0.75 * 0.1 = 0.375, q_t(summit) = 0.375 - 0.05 (its cost) = 0.325.
    # Believing r repeats 'none' (logit) gives 0.3 and 0.25; believing 'warm', 0.4 and 0.35.
    kw = dict(payoffs=dict(t=dict(relations=1.0)))
    fp = compile_spec(tiny_config(rule="fictitious_play", **kw))
    m = Memory.initial(fp, 1)
    m.counts[0, R] = [1, 0, 3, 0]
    s = initial_state(fp, 1)
    q = expected_payoffs(s, m, fp, 0)
    assert q[0, T, [0, 3]] == approx([0.375, 0.325])
    assert np.isneginf(q[0, T, [1, 2]]).all()
    lg = compile_spec(tiny_config(rule="logit", **kw))
    assert expected_payoffs(s, m, lg, 0)[0, T, [0, 3]] == approx([0.3, 0.25])
    m.last[0, R] = 2
    assert expected_payoffs(s, m, lg, 0)[0, T, [0, 3]] == approx([0.4, 0.35])
    assert expected_payoffs(s, m, fp, 0)[0, T, [0, 3]] == approx([0.375, 0.325])


def test_decide_actor_uses_the_actors_own_temperature() -> None:
    # q_r = (0.0, -0.1, -0.02) for none, halt, warm (only costs); per-actor T = 0.02:
    # weights exp(0), exp(-5), exp(-1)
    cfg = tiny_config(rule="logit", temperature=0.5)
    cfg.policy.actors = {"r": ActorPolicyConf(temperature=0.02)}
    spec = compile_spec(cfg)
    m = Memory.initial(spec, 1)
    q = expected_payoffs(initial_state(spec, 1), m, spec, 0)
    assert q[0, R, :3] == approx([0.0, -0.1, -0.02])
    choice, p = decide_actor(spec, R, q, m, np.array([0.999]))
    z = 1 + math.exp(-5) + math.exp(-1)
    assert p[0] == approx([1 / z, math.exp(-5) / z, math.exp(-1) / z, 0.0])
    assert choice.tolist() == [2]
    # t at the global T = 0.5: q_t = (0, -0.05) -> weights 1 : exp(-0.1)
    _, p = decide_actor(spec, T, q, m, np.array([0.0]))
    assert p[0] == approx([1 / (1 + math.exp(-0.1)), 0, 0, math.exp(-0.1) / (1 + math.exp(-0.1))])
