"""Decision rules: their limits, their tie-breaking, learning in textbook games, and the fact that
every rule (and any mix of rules) runs identically in the ensemble and the Mesa drivers."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.decisions import Memory, remember
from alignsim.kernel.policies import RULES, reinforce, rule_temperature
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.model import AlignmentModel
from numpy_kernel.choice import choose, logit_probabilities, sample

Q = np.array([[0.30, 0.10, -np.inf, 0.25, 0.30]])  # two maximisers (0, 4), one disallowed
ALLOWED = np.isfinite(Q[0])


def _choose(rule, q, u, temperature=0.01, propensity=None):
    propensity = np.ones_like(q) if propensity is None else propensity
    return choose(rule, q, u, temperature=temperature, propensity=propensity,
                  allowed=np.isfinite(q[0]))


# ----------------------------------------------------------------------------- limits
def test_logit_tends_to_best_response_as_temperature_falls():
    q = np.array([[0.3, 0.1, -np.inf, 0.25]])
    gaps = [1 - logit_probabilities(q, t)[0, 0] for t in (1.0, 0.1, 0.01, 0.001)]
    assert all(a > b for a, b in itertools.pairwise(gaps))
    assert logit_probabilities(q, 1e-4)[0, 0] == pytest.approx(1.0, abs=1e-12)
    # with a tie, the limit is uniform over the maximisers, like best response
    p = logit_probabilities(Q, 1e-6)[0]
    _, br = _choose("best_response", Q, np.array([0.5]))
    np.testing.assert_allclose(p, br[0], atol=1e-12)
    np.testing.assert_allclose(br[0], [0.5, 0, 0, 0, 0.5])


def test_logit_tends_to_uniform_as_temperature_grows():
    p = logit_probabilities(Q, 1e6)[0]
    np.testing.assert_allclose(p[ALLOWED], 0.25, atol=1e-6)
    assert p[~ALLOWED].item() == 0.0
    np.testing.assert_array_equal(logit_probabilities(Q, np.inf)[0], ALLOWED / 4)


def test_best_response_breaks_ties_at_random():
    u = np.random.default_rng(0).random(20_000)
    choice, _p = _choose("best_response", np.repeat(Q, len(u), axis=0), u)
    assert set(np.unique(choice)) == {0, 4}
    assert abs((choice == 0).mean() - 0.5) < 0.02


def test_sample_never_picks_a_zero_probability_action():
    p = np.array([[0.0, 0.0, 0.3, 0.0, 0.7, 0.0]] * 4)
    u = np.array([0.0, 0.2999, 0.3001, 0.999999])
    np.testing.assert_array_equal(sample(p, u), [2, 2, 4, 4])


def test_equilibrium_rule_samples_at_qre_precision():
    assert rule_temperature("equilibrium", 0.005, 50.0) == pytest.approx(0.02)
    assert rule_temperature("equilibrium", 0.005, 0.0) == np.inf
    assert rule_temperature("logit", 0.005, 50.0) == 0.005
    assert "equilibrium" in RULES


# ------------------------------------------------------------------- textbook learning
MP_ROW = np.array([[1.0, -1.0], [-1.0, 1.0]])  # matching pennies: row wants to match


def test_fictitious_play_converges_to_mixed_equilibrium_of_matching_pennies():
    """Robinson (1951): in a zero-sum game the empirical frequencies of FP converge to the
    equilibrium, here (1/2, 1/2) for both; play itself keeps cycling."""
    r, rounds = 16, 3000
    rng = np.random.default_rng(1)
    payoff = [MP_ROW, -MP_ROW.T]  # player k's payoff [own action, other's action]
    counts = np.ones((r, 2, 2))  # prior of one count per action, as Memory.initial
    switches = np.zeros(r)
    last = np.zeros((r, 2), dtype=int)
    for step in range(rounds):
        belief = counts / counts.sum(axis=2, keepdims=True)
        chosen = np.empty((r, 2), dtype=int)
        for k in range(2):
            q = belief[:, 1 - k, :] @ payoff[k].T  # expected payoff of each own action
            chosen[:, k], _ = _choose("fictitious_play", q, rng.random(r))
        switches += (chosen != last).any(axis=1) & (step > 0)
        last = chosen
        counts[np.arange(r)[:, None], np.arange(2)[None, :], chosen] += 1
    freq = (counts - 1) / rounds
    np.testing.assert_allclose(freq[..., 0], 0.5, atol=0.03)
    assert switches.min() > 20  # it does not settle on a pure profile


def test_fictitious_play_settles_on_dominant_strategy_in_prisoners_dilemma():
    pd = np.array([[3.0, 0.0], [5.0, 1.0]])  # row payoff: cooperate=0, defect=1
    counts = np.ones((4, 2, 2))
    rng = np.random.default_rng(2)
    for _ in range(20):
        belief = counts / counts.sum(axis=2, keepdims=True)
        for k in range(2):
            q = belief[:, 1 - k, :] @ pd.T
            c, _ = _choose("fictitious_play", q, rng.random(4))
            assert (c == 1).all()
            counts[np.arange(4), k, c] += 1


def test_roth_erev_learns_the_better_arm():
    """Propensities fade at ``recency`` and grow by reward: the better arm comes to dominate."""
    r = 200
    rng = np.random.default_rng(3)
    prop = np.ones((r, 2))
    reward = np.array([0.2, 1.0])
    for _ in range(100):
        c, _ = _choose("roth_erev", np.zeros((r, 2)), rng.random(r), propensity=prop)
        prop = reinforce(prop, c, reward[c], recency=0.1)
    share = prop[:, 1] / prop.sum(axis=1)
    assert np.median(share) > 0.8


def test_reinforce_fades_and_adds():
    out = reinforce(np.array([[1.0, 2.0, 4.0]]), np.array([1]), np.array([0.5]), recency=0.5)
    np.testing.assert_allclose(out, [[0.5, 1.5, 2.0]])


def test_remember_reinforces_only_roth_erev_actors():
    cfg = compose_config(["scenario=baseline", "months=2", "policy=mixed"])
    spec = compile_spec(cfg)
    mem = Memory.initial(spec, 1)
    q = np.where(spec.allowed, 0.0, -np.inf)[None]
    actions = np.zeros((1, spec.n_actors), dtype=np.int64)
    new = remember(mem, actions, np.full((1, spec.n_actors), 0.3), q, spec)
    kz, ru = spec.actor_index("kazakhstan"), spec.actor_index("russia")
    assert spec.rules[kz] == "roth_erev" and spec.rules[ru] == "best_response"
    assert new.propensity[0, kz, 0] == pytest.approx(0.9 + 0.3)
    np.testing.assert_array_equal(new.propensity[0, ru], mem.propensity[0, ru])
    assert new.counts[0, ru, 0] == mem.counts[0, ru, 0] + 1


# ---------------------------------------------------------------- both drivers agree
def _both_drivers(overrides, replicates, months, rules=None):
    """Run both drivers; ``rules`` ({actor: rule}) overrides per-actor rules on the Spec (the
    command line cannot add ``policy.actors.<name>`` entries; see the report)."""
    cfg = compose_config(["scenario=baseline", f"months={months}", *overrides])
    spec = compile_spec(cfg)
    if rules:
        spec = replace(spec, rules=tuple(rules.get(a, r) for a, r in zip(spec.actors, spec.rules,
                                                                          strict=True)))
    ens = run_ensemble(spec, replicates, cfg.seed)
    for r in range(replicates):
        m = AlignmentModel(cfg, replicate=r, spec=spec)
        while not m.finished:
            m.step()
        tr = m.trajectory()
        np.testing.assert_array_equal(tr.actions[:, 0], ens.actions[:, r])
        np.testing.assert_array_equal(tr.alignment[:, 0], ens.alignment[:, r])
        np.testing.assert_array_equal(tr.payoffs[:, 0], ens.payoffs[:, r])
    return spec, ens


@pytest.mark.parametrize("policy", ["logit", "best_response", "fictitious_play", "roth_erev",
                                    "mixed"])
def test_every_rule_runs_identically_in_both_drivers(policy):
    spec, _ens = _both_drivers([f"policy={policy}"], replicates=3, months=12)
    if policy == "mixed":
        assert len(set(spec.rules)) >= 3


def test_other_mixes_of_rules():
    spec, _ = _both_drivers(
        ["policy=best_response"], replicates=2, months=8,
        rules={"kazakhstan": "fictitious_play", "china": "roth_erev", "eu": "logit"},
    )
    assert spec.rules[spec.actor_index("kazakhstan")] == "fictitious_play"
    assert spec.rules[spec.actor_index("china")] == "roth_erev"


def test_equilibrium_play_runs_identically_in_both_drivers():
    """Slow (a pygambit solve per month): one replicate, three months, two QRE players."""
    spec, _ens = _both_drivers(["policy=mixed"], replicates=1, months=3,
                              rules={"azerbaijan": "equilibrium", "turkiye": "equilibrium"})
    assert spec.rules.count("equilibrium") == 2


def test_unknown_rule_is_rejected():
    with pytest.raises(ConfigError, match=r"policy\.rule"):
        compile_spec(compose_config(["policy.rule=telepathy"]))
    cfg = compose_config(["policy=mixed"])
    cfg.policy.actors["russia"].rule = "telepathy"
    with pytest.raises(ConfigError, match=r"policy\.actors\.russia\.rule"):
        compile_spec(cfg)
