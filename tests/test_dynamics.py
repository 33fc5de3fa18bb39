"""The NumPy kernel (``tests/numpy_kernel/``, the compiled kernel's oracle) one function at a
time, and the decision rules.

Causal claims (a halt bites and backfires, capacity arrives with a lag...) are tested
with a controlled joint-action sequence played through ``dynamics.step_payoffs``: the decision
rules are not involved, so a failure here is a failure of the dynamics.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from alignsim.kernel.anchor import route_target
from alignsim.kernel.decisions import Memory, expected_payoffs
from alignsim.kernel.policies import RULES, reinforce
from alignsim.kernel.spec import Spec, compile_spec
from alignsim.kernel.state import State, initial_state
from numpy_kernel import dynamics
from numpy_kernel.choice import (
    best_response_probabilities,
    choose,
    logit_probabilities,
    propensity_probabilities,
    sample,
)


# ---------------------------------------------------------------------------------- helpers
def joint(spec: Spec, replicates: int = 1, **moves: str) -> np.ndarray:
    """A joint action ``(R, N)``: everyone plays 'none' except the actors named."""
    acts = np.zeros((replicates, spec.n_actors), dtype=np.int64)
    for actor, action in moves.items():
        acts[:, spec.actor_index(actor)] = spec.action_index(action)
    return acts


def play(state: State, spec: Spec, sequence: list[np.ndarray]) -> list[State]:
    """States after each joint action of ``sequence`` (no events: ``t=None``)."""
    out = []
    for acts in sequence:
        state, _ = dynamics.step_payoffs(state, acts, spec)
        out.append(state)
    return out


def with_dyn(spec: Spec, **dyn: float) -> Spec:
    return dataclasses.replace(spec, dyn={**spec.dyn, **dyn})


def on_simplex(x: np.ndarray, tol: float = 1e-9) -> bool:
    return bool(np.all(x >= -tol) and np.allclose(x.sum(axis=-1), 1.0, atol=tol, rtol=0))


def random_state(spec: Spec, replicates: int, seed: int) -> State:
    """A state away from the start: random joint actions of allowed moves for a few months."""
    rng = np.random.default_rng(seed)
    state = initial_state(spec, replicates)
    for _ in range(6):
        acts = np.zeros((replicates, spec.n_actors), dtype=np.int64)
        for i in range(spec.n_actors):
            acts[:, i] = rng.choice(np.flatnonzero(spec.allowed[i]), size=replicates)
        state, _ = dynamics.step_payoffs(state, acts, spec)
    return state


# ----------------------------------------------------------------------------------- routes
def test_route_target_rows_sum_to_one_and_respect_capacity() -> None:
    rng = np.random.default_rng(1)
    cap = rng.uniform(0.0, 1.0, size=(500, 4))
    cap[:50, 1:] *= 0.1  # alternatives with room to spare
    cap[50:60] = 0.0
    cap[60:70] = 1.0  # alternatives that could carry everything: scaled down
    for primary in range(4):
        tgt = route_target(cap, primary)
        np.testing.assert_allclose(tgt.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(tgt >= -1e-12) and np.all(tgt <= 1 + 1e-12)
        alt = np.arange(4) != primary
        assert np.all(tgt[:, alt] <= cap[:, alt] + 1e-12), "an alternative exceeds its capacity"
        room = cap[:, alt].sum(axis=1) <= 1.0
        # with room for all, alternatives run full and the primary takes the rest
        np.testing.assert_allclose(tgt[room][:, alt], cap[room][:, alt], atol=1e-12)
        # over-subscribed alternatives are cut pro rata and the primary carries nothing
        over = ~room
        np.testing.assert_allclose(tgt[over][:, primary], 0.0, atol=1e-12)
        ratio = tgt[over][:, alt] / cap[over][:, alt]
        np.testing.assert_allclose(ratio, ratio[:, :1].repeat(3, axis=1), rtol=1e-12)


def test_route_target_shares_are_never_negative() -> None:
    """Shares are fractions: not even a rounding error below zero (found by hypothesis)."""
    cap = np.array([[0.0, 1.0, 0.7064675648829365, 0.125]])
    assert np.all(route_target(cap, 0) >= 0.0)
    rng = np.random.default_rng(0)
    assert np.all(route_target(rng.uniform(0, 1, (10_000, 4)), 0) >= 0.0)


def test_route_target_does_not_modify_its_input() -> None:
    cap = np.array([[1.0, 0.08, 0.01, 0.11]])
    before = cap.copy()
    np.testing.assert_allclose(route_target(cap, 0), [[0.80, 0.08, 0.01, 0.11]])
    np.testing.assert_array_equal(cap, before)


# ------------------------------------------------------------------------------- transition
def test_transition_with_zero_delta_keeps_shares_on_the_simplex(baseline_spec) -> None:
    spec = baseline_spec
    for state in (initial_state(spec, 3), random_state(spec, 16, seed=2)):
        nxt = state
        for _ in range(24):
            nxt = dynamics.transition(nxt, np.zeros((state.replicates, spec.layout.size)), spec)
            assert on_simplex(nxt.alignment)
            assert on_simplex(nxt.share)
            assert np.all(nxt.pain >= 0)
        # no action, no halt: nothing is lost and relations stay in range
        assert np.all(nxt.halt == 0) and np.all(nxt.pain == 0)
        assert np.all(np.abs(nxt.relations) <= 1.0)


def test_transition_does_not_mutate_its_input(baseline_spec) -> None:
    spec = baseline_spec
    state = random_state(spec, 4, seed=3)
    before = state.copy()
    dynamics.step_payoffs(state, joint(spec, 4, russia="pipeline_halt",
                                       kazakhstan="route_diversification"), spec)
    for f in dataclasses.fields(State):
        np.testing.assert_array_equal(getattr(state, f.name), getattr(before, f.name))


# ------------------------------------------------------------------------------------ halt
@pytest.fixture(scope="module")
def halt_world(baseline_spec):
    """The first month with and without Russia's halt on the CPC, then 12 quiet months each."""
    spec = baseline_spec
    s0 = initial_state(spec, 1)
    quiet = [joint(spec)] * 12
    with_halt = play(s0, spec, [joint(spec, russia="pipeline_halt"), *quiet])
    without = play(s0, spec, [joint(spec), *quiet])
    return spec, s0, with_halt, without


def test_halt_pain_is_cpc_share_times_severity(baseline_config) -> None:
    for severity in (1.0, 0.6):
        cfg = copy.deepcopy(baseline_config)
        cfg.actions["pipeline_halt"].effects.halt["cpc"].severity = severity
        spec = compile_spec(cfg)
        s0 = initial_state(spec, 1)
        cpc = spec.routes.index("cpc")
        first, second = play(s0, spec, [joint(spec, russia="pipeline_halt"), joint(spec)])
        assert first.pain[0] == pytest.approx(s0.share[0, cpc] * severity, rel=1e-12)
        assert first.flow[0, cpc] == pytest.approx(s0.share[0, cpc] * (1 - severity))
        assert second.pain[0] == 0.0  # a one-month halt (30 days, Jul 2022) is over


def test_a_longer_halt_keeps_biting(baseline_config) -> None:
    cfg = copy.deepcopy(baseline_config)
    cfg.actions["pipeline_halt"].effects.halt["cpc"].months = 3.0
    spec = compile_spec(cfg)
    states = play(initial_state(spec, 1), spec, [joint(spec, russia="pipeline_halt")]
                  + [joint(spec)] * 3)
    assert [s.pain[0] > 0.5 for s in states] == [True, True, True, False]


def test_halt_raises_threat_and_hurts_relations(halt_world) -> None:
    spec, _, with_halt, without = halt_world
    ru, kz = spec.actor_index("russia"), spec.swing
    h, n = with_halt[0], without[0]
    assert h.threat[0, ru] > n.threat[0, ru] + 0.1
    # the swing state learns only about the coercer
    others = [i for i in range(spec.n_actors) if i != ru]
    np.testing.assert_allclose(h.threat[0, others], n.threat[0, others])
    assert h.relations[0, kz, ru] < n.relations[0, kz, ru]
    assert h.relations[0, ru, kz] == h.relations[0, kz, ru]


def test_halt_pushes_away_from_the_coercer_in_the_month_it_bites(halt_world) -> None:
    """No compliance: the halt teaches a threat at once, which raises the exposure of the
    Russian routes, so the Russian share is lower than in the same month without the halt."""
    spec, _, with_halt, without = halt_world
    russian = spec.spheres.index("russian")
    assert with_halt[0].alignment[0, russian] < without[0].alignment[0, russian]


def test_halt_backfires_once_the_threat_is_learned(halt_world) -> None:
    """Twelve months after the halt the learned threat has pushed alignment away from Russia."""
    spec, _, with_halt, without = halt_world
    russian = spec.spheres.index("russian")
    assert with_halt[12].alignment[0, russian] < without[12].alignment[0, russian]
    assert with_halt[12].threat[0, spec.actor_index("russia")] > spec.dyn["threat_prior"] * 5


def test_a_halt_never_raises_the_coerced_states_own_payoff(baseline_spec) -> None:
    """Coercion is not a gift: Kazakhstan's payoff in the month a halt bites is below its payoff
    in the same month without the halt (revenue lost, exposure up, no welfare from yielding)."""
    spec = baseline_spec
    s0 = initial_state(spec, 1)
    _, u_halt = dynamics.step_payoffs(s0, joint(spec, russia="pipeline_halt"), spec)
    _, u_none = dynamics.step_payoffs(s0, joint(spec), spec)
    assert u_halt[0, spec.swing] < u_none[0, spec.swing]


# ---------------------------------------------------------------------------- at rest
def _quiet_run(spec, months: int) -> list[State]:
    return play(initial_state(spec, 1), spec, [joint(spec)] * months)


def test_the_start_is_at_rest(baseline_spec) -> None:
    """With no events and nobody acting, nothing moves: every state variable after 36 months
    equals its start (the rest anchor makes the configured alignment its own target)."""
    spec = baseline_spec
    s0 = initial_state(spec, 1)
    end = _quiet_run(spec, 36)[-1]
    for name in ("alignment", "share", "capacity", "investment", "security", "relations",
                 "affinity", "threat"):
        np.testing.assert_allclose(getattr(end, name), getattr(s0, name), atol=1e-12,
                                   err_msg=name)


def test_without_the_rest_anchor_the_alignment_slides(baseline_config) -> None:
    """The anchor is what holds the start: switched off, the structure's own target pulls the
    alignment toward Russia with nobody acting (the slide the anchor removes)."""
    cfg = copy.deepcopy(baseline_config)
    cfg.payoffs.alignment.at_rest = False
    spec = compile_spec(cfg)
    end = _quiet_run(spec, 12)[-1]
    assert spec.axis_of(end.alignment)[0] < spec.axis_of(spec.alignment0[None, :])[0] - 0.01


def test_rest_anchor_makes_the_start_its_own_target(baseline_spec) -> None:
    spec = baseline_spec
    u, _ = dynamics.sphere_utility(initial_state(spec, 1), spec)
    target = dynamics.softmax(u, spec.align["temperature"])
    np.testing.assert_allclose(target[0], spec.alignment0, rtol=1e-12)


# ------------------------------------------------------------------------ diversification
def test_route_diversification_capacity_arrives_with_the_lag(baseline_spec) -> None:
    spec = baseline_spec
    mc = spec.routes.index("middle_corridor")
    lag = spec.dyn["capacity_lag_months"]
    committed = spec.effects[spec.swing, spec.action_index("route_diversification")][
        spec.layout.slices["capacity"]][mc]
    assert committed > 0
    s0 = initial_state(spec, 1)
    quiet = [joint(spec)] * 24
    div = play(s0, spec, [joint(spec, kazakhstan="route_diversification"), *quiet])
    base = play(s0, spec, [joint(spec), *quiet])
    gains = np.array([d.capacity[0, mc] - b.capacity[0, mc] for d, b in zip(div, base,
                                                                             strict=True)])
    months = np.arange(1, len(gains) + 1)
    # exponential arrival: after m months, committed * (1 - (1 - 1/lag)^m) operates
    np.testing.assert_allclose(gains, committed * (1 - (1 - 1 / lag) ** months), rtol=1e-9)
    assert gains[0] < committed / 2  # not all at once
    pending = np.array([d.pending[0, mc] for d in div])
    np.testing.assert_allclose(pending + gains, committed, rtol=1e-9)
    # and exports follow: the middle corridor's share rises relative to no commitment
    share_gain = np.array([d.share[0, mc] - b.share[0, mc] for d, b in zip(div, base,
                                                                           strict=True)])
    assert np.all(share_gain > 0)
    assert np.all(np.diff(share_gain[:12]) > 0)
    assert on_simplex(div[-1].share)


# -------------------------------------------------------------------- funds and summits
@pytest.mark.parametrize("user", ["azerbaijan", "turkiye", "china", "eu"])
def test_investment_fund_raises_the_givers_stock_by_its_scale(baseline_config, user) -> None:
    spec = compile_spec(baseline_config)
    scale = baseline_config.actions["investment_fund"].users[user].scale
    i = spec.actor_index(user)
    s0 = initial_state(spec, 1)
    still = with_dyn(spec, investment_reversion=0.0)
    (nxt,) = play(s0, still, [joint(spec, **{user: "investment_fund"})])
    change = nxt.investment[0] - s0.investment[0]
    assert change[i] == pytest.approx(scale, rel=1e-12)
    assert np.all(np.delete(change, i) == 0)
    # with reversion toward the start, the month's reversion is taken off the new stock
    (nxt,) = play(s0, spec, [joint(spec, **{user: "investment_fund"})])
    rev = spec.dyn["investment_reversion"]
    assert nxt.investment[0, i] - s0.investment[0, i] == pytest.approx(scale * (1 - rev))


@pytest.mark.parametrize("user", ["turkiye", "azerbaijan", "russia", "china", "eu"])
def test_summit_raises_affinity_of_the_users_sphere(baseline_config, user) -> None:
    spec = compile_spec(baseline_config)
    scale = baseline_config.actions["summit"].users[user].scale
    per_unit = baseline_config.actions["summit"].effects.affinity["self"]
    sphere = spec.actor_sphere[spec.actor_index(user)]
    s0 = initial_state(spec, 1)
    (nxt,) = play(s0, with_dyn(spec, affinity_reversion=0.0), [joint(spec, **{user: "summit"})])
    change = nxt.affinity[0] - s0.affinity[0]
    assert change[sphere] == pytest.approx(per_unit * scale, rel=1e-12)
    assert np.all(np.delete(change, sphere) == 0)


# ---------------------------------------------------------------- defiance and punishment
def test_recognition_refusal_sets_defiance_and_invites_punishment(baseline_spec) -> None:
    spec = baseline_spec
    ru = spec.actor_index("russia")
    punish = spec.weights["punish"][ru]
    assert punish > 0
    s0 = initial_state(spec, 1)
    (defiant,) = play(s0, spec, [joint(spec, kazakhstan="recognition_refusal")])
    d = float(defiant.defiance[0])
    assert d == pytest.approx(1.0 * (1 - spec.dyn["defiance_decay"]))
    meek = defiant.copy()
    meek.defiance[:] = 0.0

    def gap(state: State, action: str = "pipeline_halt") -> float:
        act = dynamics.payoffs(state, joint(spec, russia=action), spec)[0, ru]
        rest = dynamics.payoffs(state, joint(spec), spec)[0, ru]
        return float(act - rest)

    # the punish term: Russia's payoff of the (punitive) halt rises by punish x defiance
    assert gap(defiant) - gap(meek) == pytest.approx(punish * d, rel=1e-9)
    assert gap(defiant, "summit") == pytest.approx(gap(meek, "summit"))  # not punitive
    no_appetite = dataclasses.replace(
        spec, weights={**spec.weights, "punish": np.zeros(spec.n_actors)})

    def gap0(state: State) -> float:
        u = dynamics.payoffs(state, joint(spec, russia="pipeline_halt"), no_appetite)[0, ru]
        return float(u - dynamics.payoffs(state, joint(spec), no_appetite)[0, ru])

    assert gap0(defiant) == pytest.approx(gap0(meek), abs=1e-12)  # the term switched off

    # and Russia's expected payoff of a halt (one-month look-ahead) rises the same way
    halt = spec.action_index("pipeline_halt")
    mem = Memory.initial(spec, 1)
    q_def = expected_payoffs(defiant, mem, spec, 0)[0, ru]
    q_meek = expected_payoffs(meek, mem, spec, 0)[0, ru]
    carried = d * (1 - spec.dyn["defiance_decay"])
    assert (q_def[halt] - q_def[0]) - (q_meek[halt] - q_meek[0]) == pytest.approx(
        punish * carried, rel=1e-9)


# ------------------------------------------------------------------------------ payoffs
def test_payoffs_include_minus_the_actions_cost(baseline_spec) -> None:
    spec = baseline_spec
    state = random_state(spec, 8, seed=4)
    rng = np.random.default_rng(5)
    free = dataclasses.replace(spec, cost=np.zeros_like(spec.cost))
    n = np.arange(spec.n_actors)
    for _ in range(10):
        acts = np.stack([rng.choice(np.flatnonzero(spec.allowed[i]), size=8)
                         for i in range(spec.n_actors)], axis=1)
        paid = dynamics.payoffs(state, acts, spec)
        gratis = dynamics.payoffs(state, acts, free)
        # the base cost, raised by the fraction repeat_cost per remembered use (attention)
        rows = np.arange(8)[:, None]
        cost = spec.cost[n[None, :], acts] * (1 + spec.repeat_cost[acts]
                                             * state.usage[rows, n[None, :], acts])
        np.testing.assert_allclose(gratis - paid, cost, atol=1e-12)
    # the escalation is exercised: some action with a repeat cost was used before
    assert np.any(spec.cost > 0)
    assert np.any(state.usage[:, :, spec.repeat_cost > 0] > 0)


def test_cost_weight_scales_the_cost(baseline_config) -> None:
    cfg = copy.deepcopy(baseline_config)
    cfg.payoffs.actors["russia"].cost = 2.5
    spec = compile_spec(cfg)
    ru, halt = spec.actor_index("russia"), spec.action_index("pipeline_halt")
    assert spec.cost[ru, halt] == pytest.approx(2.5 * cfg.actions["pipeline_halt"].users[
        "russia"].cost)


def test_payoffs_are_finite_and_shaped(baseline_spec) -> None:
    spec = baseline_spec
    state = random_state(spec, 5, seed=6)
    u = dynamics.payoffs(state, joint(spec, 5), spec)
    assert u.shape == (5, spec.n_actors) and np.all(np.isfinite(u))


# ---------------------------------------------------------------------------- alignment
def test_softmax_and_align_step_stay_on_the_simplex(baseline_spec) -> None:
    spec = baseline_spec
    rng = np.random.default_rng(7)
    r, s = 400, spec.n_spheres
    for scale in (1e-3, 1.0, 50.0, 1e4):
        utility = rng.normal(scale=scale, size=(r, s))
        p = dynamics.softmax(utility, spec.align["temperature"])
        assert np.all(np.isfinite(p)) and on_simplex(p, 1e-12)
        alignment = rng.dirichlet(np.ones(s) * 0.3, size=r)
        tension = rng.exponential(size=r) * (rng.random(r) < 0.5)
        nxt = dynamics.align_step(alignment, utility, tension, spec)
        assert on_simplex(nxt, 1e-12)
    # the move is part of the way to the target, and feuding partners slow it
    alignment = np.full((1, s), 1.0 / s)
    utility = np.array([[2.0, 0.0, 0.0, 0.0]])
    calm = dynamics.align_step(alignment, utility, np.zeros(1), spec)
    tense = dynamics.align_step(alignment, utility, np.ones(1), spec)
    assert calm[0, 0] > tense[0, 0] > alignment[0, 0]
    target = dynamics.softmax(utility, spec.align["temperature"])
    eta = spec.align["inertia"]
    np.testing.assert_allclose(calm, (1 - eta) * alignment + eta * target)


def test_partner_tension(baseline_spec) -> None:
    """Zero without rifts; positive when two friends of Kazakhstan fall out (000, Dec 2024)."""
    spec = baseline_spec
    kz, ru, az, cn, eu = (spec.actor_index(a) for a in ("kazakhstan", "russia", "azerbaijan",
                                                         "china", "eu"))
    rel0 = spec.relations0

    def tension(rel: np.ndarray) -> float:
        return float(dynamics.partner_tension(rel[None], rel0, kz)[0])

    assert tension(rel0) == 0.0
    better = np.clip(rel0 + 0.1, -1, 1)
    np.fill_diagonal(better, 0.0)
    assert tension(better) == 0.0  # warmer relations are no feud
    # two friends of Kazakhstan turn hostile (Russia and Azerbaijan after the shoot-down)
    feud = rel0.copy()
    feud[ru, az] = feud[az, ru] = -0.5
    t = tension(feud)
    assert t > 0
    assert t == pytest.approx(rel0[kz, ru] * (rel0[ru, az] + 0.5) * rel0[kz, az])
    deeper = feud.copy()
    deeper[ru, az] = deeper[az, ru] = -0.9
    assert tension(deeper) > t
    # a feud with someone who is no friend of Kazakhstan creates no tension
    enemy = feud.copy()
    enemy[kz, az] = enemy[az, kz] = -0.2
    assert tension(enemy) == 0.0
    # nor does Kazakhstan's own quarrel with a partner
    own = rel0.copy()
    own[kz, cn] = own[cn, kz] = -0.9
    assert tension(own) == 0.0
    # the invasion event (Russia-EU -0.6) sets two friends against each other
    war = rel0.copy()
    war[ru, eu] = war[eu, ru] = rel0[ru, eu] - 0.6
    assert tension(war) == pytest.approx(rel0[kz, ru] * 0.6 * rel0[kz, eu])


def test_feuding_partners_slow_the_alignment_move(baseline_spec) -> None:
    spec = baseline_spec
    s0 = initial_state(spec, 1)
    s0.alignment[0] = [0.30, 0.30, 0.20, 0.20]  # away from its target, so that it moves
    ru, az = spec.actor_index("russia"), spec.actor_index("azerbaijan")
    feud = s0.copy()
    feud.relations[0, ru, az] = feud.relations[0, az, ru] = -0.5
    calm, _ = dynamics.step_payoffs(s0, joint(spec), spec)
    tense, _ = dynamics.step_payoffs(feud, joint(spec), spec)
    moved_calm = np.abs(calm.alignment - s0.alignment).sum()
    moved_tense = np.abs(tense.alignment - s0.alignment).sum()
    assert 0 < moved_tense < moved_calm


# ------------------------------------------------------------------------- joint effects
def test_joint_effects_sum_the_actors_effect_vectors(baseline_spec) -> None:
    spec = baseline_spec
    acts = joint(spec, russia="pipeline_halt", kazakhstan="route_diversification",
                 china="investment_fund")
    expected = (spec.effects[spec.actor_index("russia"), spec.action_index("pipeline_halt")]
                + spec.effects[spec.swing, spec.action_index("route_diversification")]
                + spec.effects[spec.actor_index("china"), spec.action_index("investment_fund")])
    np.testing.assert_allclose(dynamics.joint_effects(spec, acts)[0], expected)
    np.testing.assert_array_equal(dynamics.joint_effects(spec, joint(spec)), 0.0)


def test_step_payoffs_adds_the_months_scheduled_events(default_spec) -> None:
    spec = default_spec
    s0 = initial_state(spec, 1)
    t = 1  # Feb 2022: the invasion raises the threat of Russia
    ru = spec.actor_index("russia")
    with_event, _ = dynamics.step_payoffs(s0, joint(spec), spec, t)
    without, _ = dynamics.step_payoffs(s0, joint(spec), spec)
    assert with_event.threat[0, ru] > without.threat[0, ru]
    assert with_event.relations[0, ru, spec.actor_index("eu")] < -0.5


# ------------------------------------------------------------------------------ policies
def test_logit_probabilities_sum_to_one_and_zero_disallowed() -> None:
    rng = np.random.default_rng(8)
    q = rng.normal(size=(300, 7))
    q[rng.random(q.shape) < 0.3] = -np.inf
    q[:, 0] = rng.normal(size=300)  # 'none' is always allowed
    for temperature in (1e-9, 0.005, 1.0, 1e6, np.inf):
        p = logit_probabilities(q, temperature)
        assert np.all(np.isfinite(p))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(p[np.isinf(q)] == 0.0)
        assert np.all(p >= 0)
    # order follows q; infinite temperature is uniform over allowed actions
    p = logit_probabilities(np.array([[0.0, 1.0, 2.0, -np.inf]]), 1.0)
    assert p[0, 0] < p[0, 1] < p[0, 2] and p[0, 3] == 0
    np.testing.assert_allclose(p[0, :3], np.exp([0, 1, 2]) / np.exp([0, 1, 2]).sum())
    u = logit_probabilities(np.array([[0.0, 1.0, 2.0, -np.inf]]), np.inf)
    np.testing.assert_allclose(u, [[1 / 3, 1 / 3, 1 / 3, 0.0]])


def test_best_response_breaks_ties_at_random() -> None:
    q = np.array([[0.0, 1.0, 1.0, -np.inf, 0.5]])
    p = best_response_probabilities(q)
    np.testing.assert_allclose(p, [[0.0, 0.5, 0.5, 0.0, 0.0]])
    grid = (np.arange(200) + 0.5) / 200
    choice, probs = choose("best_response", np.repeat(q, 200, axis=0), grid, temperature=1.0,
                           propensity=np.ones((200, 5)), allowed=np.isfinite(q[0]))
    assert set(choice.tolist()) == {1, 2}
    assert abs((choice == 1).mean() - 0.5) < 0.02
    np.testing.assert_allclose(probs, np.repeat(p, 200, axis=0))
    # a unique maximum is always chosen
    choice, _ = choose("best_response", np.repeat([[0.0, 2.0, 1.0]], 50, axis=0),
                       np.linspace(0, 0.999, 50), temperature=1.0,
                       propensity=np.ones((50, 3)), allowed=np.ones(3, bool))
    assert np.all(choice == 1)


def test_sample_is_inverse_cdf() -> None:
    p = np.array([[0.2, 0.0, 0.5, 0.3]])
    cases = {0.0: 0, 0.1: 0, 0.19999: 0, 0.2: 2, 0.5: 2, 0.69999: 2, 0.7: 3, 0.99999: 3}
    for u, expected in cases.items():
        assert sample(p, np.array([u]))[0] == expected, u
    # a draw of exactly 0 skips leading impossible actions; a draw near 1 trailing ones
    lead = np.array([[0.0, 0.0, 0.4, 0.6, 0.0]])
    assert sample(lead, np.array([0.0]))[0] == 2
    assert sample(lead, np.array([1.0 - 1e-12]))[0] == 3
    # frequencies of stratified uniforms reproduce the probabilities
    rng = np.random.default_rng(9)
    probs = rng.dirichlet(np.ones(6), size=1)
    probs[0, 3] = 0.0
    probs /= probs.sum()
    m = 20_000
    grid = (np.arange(m) + 0.5) / m
    draws = sample(np.repeat(probs, m, axis=0), grid)
    freq = np.bincount(draws, minlength=6) / m
    np.testing.assert_allclose(freq, probs[0], atol=1.5 / m)
    assert freq[3] == 0.0
    # unnormalised rows are handled too
    np.testing.assert_array_equal(sample(np.array([[2.0, 6.0]]), np.array([0.3])), [1])


def test_roth_erev_probabilities_and_reinforcement() -> None:
    allowed = np.array([True, True, False, True])
    prop = np.array([[1.0, 3.0, 5.0, 0.0]])
    p = propensity_probabilities(prop, allowed)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p[0, 2] == 0.0 and p[0, 3] > 0  # floor keeps allowed actions possible
    assert p[0, 1] == pytest.approx(0.75, rel=1e-9)
    new = reinforce(prop.copy(), np.array([0]), np.array([2.0]), recency=0.1)
    np.testing.assert_allclose(new, [[0.9 + 2.0, 2.7, 4.5, 0.0]])


def test_every_rule_gives_probabilities_on_the_simplex() -> None:
    rng = np.random.default_rng(10)
    q = rng.normal(size=(50, 5))
    q[:, 3] = -np.inf
    allowed = np.isfinite(q[0])
    for rule in RULES:
        choice, p = choose(rule, q, rng.random(50), temperature=0.1,
                           propensity=rng.random((50, 5)) + 0.1, allowed=allowed)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)
        assert np.all(p[:, 3] == 0) and np.all(choice != 3), rule


def test_payoffs_reflect_the_state_as_it_is(baseline_spec) -> None:
    """A state edited in place (a what-if, a test) must be valued as it now is.

    (Regression: ``payoffs`` once reused a sphere utility cached on the State by ``transition``;
    the outlook is now handed on explicitly by ``advance``/``step_payoffs``.)
    """
    spec = baseline_spec
    kz, ru = spec.swing, spec.actor_index("russia")
    nxt, _ = dynamics.step_payoffs(initial_state(spec, 1), joint(spec), spec)
    nxt.relations[0, kz, ru] = nxt.relations[0, ru, kz] = -0.9
    acts = joint(spec)
    np.testing.assert_allclose(dynamics.payoffs(nxt, acts, spec),
                               dynamics.payoffs(nxt.copy(), acts, spec))
