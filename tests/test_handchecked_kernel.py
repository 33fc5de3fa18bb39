"""Each term of the kernel, one at a time, against numbers worked out by hand (the NumPy kernel,
``tests/numpy_kernel/``, which the compiled kernel is checked against, and the rest anchor).

The world is ``handchecked_world.tiny_config``: a swing state ``k`` and two powers ``r`` (sphere
``east``, route ``north``: share 0.7, primary) and ``t`` (sphere ``west``, route ``south``: share
0.3, capacity 0.3). Every rate and weight is 0 unless the test switches it on, so each expected
value below follows from the one equation of docs/model.md §7 named in the test, and is written
out as arithmetic on the inputs (never computed by the code under test).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from alignsim.ensemble import run_ensemble
from alignsim.kernel.anchor import committed_shares, rest_anchor, route_target
from alignsim.kernel.schema import EffectsConf, EventConf, RelationConf
from alignsim.kernel.spec import compile_spec
from alignsim.kernel.state import initial_state
from handchecked_world import tiny_config
from numpy_kernel.dynamics import partner_tension, payoffs, sphere_utility, transition

TOL = 1e-12
K, R, T = 0, 1, 2  # actor indices: swing state, east power, west power
NORTH, SOUTH = 0, 1  # routes
EAST, WEST = 0, 1  # spheres


def world(**kw):
    spec = compile_spec(tiny_config(**kw))
    return spec, initial_state(spec, 1)


def zero_delta(spec) -> np.ndarray:
    return np.zeros((1, spec.layout.size))


def put(spec, delta: np.ndarray, field: str, index: int, value: float) -> np.ndarray:
    """Set one entry of a flat effect vector (``field`` as in the Layout)."""
    sl = spec.layout.slices[field]
    delta[0, sl.start + index] = value
    return delta


def approx(values) -> object:
    return pytest.approx(values, abs=TOL)


# ------------------------------------------------------------------------ threat (§7.4)
def test_threat_decays_toward_its_prior_not_toward_zero() -> None:
    # prior 0.1, decay 0.2, nothing observed: theta' = 0.1 + (theta - 0.1) * (1 - 0.2)
    spec, s = world(dynamics=dict(threat_prior=0.1, threat_decay=0.2))
    s.threat[0] = [0.1, 0.5, 0.3]
    nxt = transition(s, zero_delta(spec), spec)
    assert nxt.threat[0] == approx([0.1, 0.1 + 0.4 * 0.8, 0.1 + 0.2 * 0.8])  # 0.1, 0.42, 0.26


def test_threat_learning_from_a_new_halt_and_a_threat_shock() -> None:
    # r halts north (via r) for 1 month at severity 0.5: observed_r = 0.5 * min(1, 1) = 0.5.
    # r: decayed 0.1 + 0 * 0.8 = 0.1, then + 0.5 (learning) * 0.5 * (1 - 0.1) = 0.325.
    # t gets a threat shock +0.2: 0.3 decays to 0.1 + 0.2 * 0.8 = 0.26, nothing observed.
    spec, s = world(dynamics=dict(threat_prior=0.1, threat_decay=0.2, threat_learning=0.5))
    delta = spec.effects[R, spec.action_index("halt")][None, :].copy()
    put(spec, delta, "threat", T, 0.2)
    nxt = transition(s, delta, spec)
    assert nxt.threat[0] == approx([0.1, 0.1 + 0.5 * 0.5 * 0.9, 0.26])


# ------------------------------------------------------------------------- halts (§7.3)
def test_a_halt_stops_flow_and_costs_revenue() -> None:
    # north (share 0.7) stopped at severity 0.5 for its one month:
    # stopped = 0.5, pain = 0.7 * 0.5 = 0.35, flow = (0.35, 0.3); the halt is over next month.
    # grievance 0.2: relation k-r falls by 0.2 * min(1, 0.5) = 0.1, both directions.
    spec, s = world(dynamics=dict(halt_grievance=0.2, threat_learning=0.5))
    delta = spec.effects[R, spec.action_index("halt")][None, :].copy()
    nxt = transition(s, delta, spec)
    assert nxt.pain[0] == pytest.approx(0.35, abs=TOL)
    assert nxt.flow[0] == approx([0.35, 0.3])
    assert nxt.halt[0] == approx([0.0, 0.0])
    assert nxt.severity[0] == approx([0.0, 0.0])
    assert nxt.relations[0, K, R] == pytest.approx(0.4, abs=TOL)
    assert nxt.relations[0, R, K] == pytest.approx(0.4, abs=TOL)
    assert nxt.relations[0, K, T] == pytest.approx(0.3, abs=TOL)  # t's route was not halted


def test_a_halt_of_one_and_a_half_months_bites_fully_then_half() -> None:
    # months 1.5 at severity 1 (load 1.5): month 1 stops all of north (pain 0.7) and leaves
    # 0.5 months at severity 1; month 2 stops 1 * min(0.5, 1) = half of north (pain 0.35).
    spec, s = world()
    delta = zero_delta(spec)
    put(spec, delta, "halt_months", NORTH, 1.5)
    put(spec, delta, "halt_load", NORTH, 1.5)
    one = transition(s, delta, spec)
    assert one.pain[0] == pytest.approx(0.7, abs=TOL)
    assert one.halt[0] == approx([0.5, 0.0])
    assert one.severity[0] == approx([1.0, 0.0])
    two = transition(one, zero_delta(spec), spec)
    assert two.pain[0] == pytest.approx(0.35, abs=TOL)
    assert two.halt[0] == approx([0.0, 0.0]) and two.severity[0] == approx([0.0, 0.0])


def test_a_new_halt_does_not_add_to_an_ongoing_one() -> None:
    # ongoing: 2 months left at severity 0.5; new: 1 month at severity 1.
    # severity = max(1, 0.5) = 1, months = max(2, 1) = 2, stopped = 1; next: 1 month left.
    spec, s = world()
    s.halt[0, NORTH], s.severity[0, NORTH] = 2.0, 0.5
    delta = zero_delta(spec)
    put(spec, delta, "halt_months", NORTH, 1.0)
    put(spec, delta, "halt_load", NORTH, 1.0)
    nxt = transition(s, delta, spec)
    assert nxt.pain[0] == pytest.approx(0.7, abs=TOL)
    assert nxt.halt[0] == approx([1.0, 0.0])
    assert nxt.severity[0] == approx([1.0, 0.0])


# --------------------------------------------------------------------- reversion (§7.5)
def test_reversion_pulls_each_variable_back_to_its_start() -> None:
    spec, s = world(dynamics=dict(relations_reversion=0.1, affinity_reversion=0.2,
                                  investment_reversion=0.5, security_reversion=0.25,
                                  defiance_decay=0.3))
    s.relations[0, K, T] = s.relations[0, T, K] = 0.0  # start 0.3
    s.relations[0, R, T] = s.relations[0, T, R] = -0.9  # start 0.2; a -0.5 shock overshoots
    s.affinity[0] = [0.9, 0.0]  # start (0.5, 0.2)
    s.investment[0] = [0.0, 20.0, 1.0]  # start (0, 10, 5)
    s.security[0] = [0.0, 0.8, 0.2]  # start (0, 0.4, 0.2)
    s.defiance[0] = 1.0
    delta = zero_delta(spec)
    n = spec.n_actors
    put(spec, delta, "relations", R * n + T, -0.5)
    put(spec, delta, "relations", T * n + R, -0.5)
    nxt = transition(s, delta, spec)
    assert nxt.relations[0, K, T] == pytest.approx(0.0 + 0.1 * 0.3, abs=TOL)
    # -1.4 + 0.1 * (0.2 + 1.4) = -1.24, clipped to -1
    assert nxt.relations[0, R, T] == pytest.approx(-1.0, abs=TOL)
    assert nxt.affinity[0] == approx([0.9 + 0.2 * (0.5 - 0.9), 0.0 + 0.2 * 0.2])  # 0.82, 0.04
    assert nxt.investment[0] == approx([0.0, 15.0, 3.0])  # 20 + 0.5 (10 - 20); 1 + 0.5 * 4
    assert nxt.security[0] == approx([0.0, 0.7, 0.2])  # 0.8 + 0.25 * (0.4 - 0.8)
    assert nxt.defiance[0] == pytest.approx(0.7, abs=TOL)  # 1.0 * (1 - 0.3)


# ----------------------------------------------------- capacity and route shares (§7.6)
def test_committed_capacity_arrives_with_the_lag_and_shares_follow() -> None:
    # pending south 0.08 + a commitment of 0.04 = 0.12; lag 4: 0.03 arrives.
    # capacity south 0.3 + 0.03 = 0.33, pending 0.09; target (0.67, 0.33);
    # shares move half-way (share_adjustment 0.5): south 0.3 + 0.5 * 0.03 = 0.315, north 0.685.
    spec, s = world(dynamics=dict(capacity_lag_months=4.0, share_adjustment=0.5))
    s.pending[0, SOUTH] = 0.08
    delta = put(spec, zero_delta(spec), "capacity", SOUTH, 0.04)
    nxt = transition(s, delta, spec)
    assert nxt.capacity[0] == approx([1.0, 0.33])
    assert nxt.pending[0] == approx([0.0, 0.09])
    assert nxt.share[0] == approx([0.685, 0.315])


def test_route_target_runs_alternatives_full_scaled_pro_rata() -> None:
    # alternatives could carry 0.8 + 0.4 = 1.2 > 1: scaled to 2/3 and 1/3; primary gets 0.
    assert route_target(np.array([[0.5, 0.8, 0.4]]), 0)[0] == approx([0.0, 0.8 / 1.2, 0.4 / 1.2])
    # alternatives 0.2 + 0.1: run full, primary (route 1) takes the rest whatever its capacity
    assert route_target(np.array([[0.2, 0.05, 0.1]]), 1)[0] == approx([0.2, 0.7, 0.1])


def test_committed_shares_count_pending_capacity() -> None:
    # capacity south 0.3 + pending 0.1 = 0.4 -> committed shares (0.6, 0.4)
    spec, s = world()
    s.pending[0, SOUTH] = 0.1
    assert committed_shares(s, spec)[0] == approx([0.6, 0.4])


# ------------------------------------------------------------------ sphere utility (§7.7)
def test_sphere_utility_econ_term() -> None:
    # ties = trade + routes through members + investment / 100:
    # east 0.3 + 0.7 + 10/100 = 1.1, west 0.1 + 0.3 + 5/100 = 0.45; weight 2
    spec, s = world(alignment=dict(econ=2.0))
    u, _ = sphere_utility(s, spec)
    assert u[0] == approx([2.2, 0.9])


def test_sphere_utility_security_affinity_relations_terms() -> None:
    for weight, expected in (("security", [0.4, 0.2]), ("affinity", [0.5, 0.2]),
                             ("relations", [0.5, 0.3])):
        spec, s = world(alignment={weight: 1.0})
        assert sphere_utility(s, spec)[0][0] == approx(expected), weight


def test_sphere_terms_sum_and_average_over_members() -> None:
    # move c into west (with relation k-c 0.1): security sums (0.2 + 0), relations average
    # ((0.3 + 0.1) / 2 = 0.2), ties sum (0.1 + 0.05 + 0.3 + (5 + 0) / 100 = 0.5)
    cfg = tiny_config(three_spheres=True, alignment=dict(security=1.0))
    del cfg.world.spheres["south"]
    cfg.world.actors["c"].sphere = "west"
    cfg.world.initial_alignment = {"east": 0.6, "west": 0.4}
    cfg.world.relations.append(RelationConf(a="k", b="c", value=0.1))
    for weights, expected in ((dict(security=1.0), [0.4, 0.2]),
                              (dict(relations=1.0), [0.5, 0.2]),
                              (dict(econ=1.0), [1.1, 0.5])):
        cfg.payoffs.alignment.security = 0.0
        for name, value in weights.items():
            setattr(cfg.payoffs.alignment, name, value)
        spec = compile_spec(cfg)
        u, _ = sphere_utility(initial_state(spec, 1), spec)
        assert u[0] == approx(expected), weights
        for name in weights:
            setattr(cfg.payoffs.alignment, name, 0.0)


def test_sphere_utility_exposure_term_and_total_exposure() -> None:
    # committed shares (0.7, 0.3) times threat (prior 0.1): at risk (0.07, 0.03), E = 0.1
    spec, s = world(alignment=dict(exposure=1.0))
    u, e = sphere_utility(s, spec)
    assert u[0] == approx([-0.07, -0.03]) and e[0] == pytest.approx(0.1, abs=TOL)
    # pending south 0.1 -> committed (0.6, 0.4); threat of r 0.5: at risk (0.3, 0.04)
    s.pending[0, SOUTH] = 0.1
    s.threat[0, R] = 0.5
    u, e = sphere_utility(s, spec)
    assert u[0] == approx([-0.3, -0.04]) and e[0] == pytest.approx(0.34, abs=TOL)


def test_rest_anchor_makes_the_start_its_own_target() -> None:
    # U0 = affinity (0.5, 0.2); alignment0 (0.6, 0.4), temperature 0.5: the anchor is
    # 0.5 * ln(0.6) - 0.5 and 0.5 * ln(0.4) - 0.2, so U = 0.5 * ln(alignment0) and the logit
    # target is alignment0 itself; with inertia 0.1 and nothing happening nothing moves
    spec, s = world(alignment=dict(affinity=1.0, temperature=0.5, inertia=0.1, at_rest=True))
    np.testing.assert_allclose(rest_anchor(spec), [0.5 * math.log(0.6) - 0.5,
                                                   0.5 * math.log(0.4) - 0.2], rtol=1e-12)
    assert sphere_utility(s, spec)[0][0] == approx([0.5 * math.log(0.6), 0.5 * math.log(0.4)])
    nxt = transition(s, zero_delta(spec), spec)
    assert nxt.alignment[0] == approx([0.6, 0.4])


# ------------------------------------------------------- tension and alignment (§7.8)
def test_partner_tension_counts_fresh_rifts_between_friends() -> None:
    spec, s = world()
    rel = s.relations.copy()
    rel[0, R, T] = rel[0, T, R] = -0.3  # start 0.2: a rift of 0.5
    # friends 0.5 (r) and 0.3 (t): 1/2 * (0.5 * 0.5 * 0.3 + 0.3 * 0.5 * 0.5) = 0.075
    assert partner_tension(rel, spec.relations0, K)[0] == pytest.approx(0.075, abs=TOL)
    rel[0, K, T] = rel[0, T, K] = -0.2  # t is no friend: no tension
    assert partner_tension(rel, spec.relations0, K)[0] == pytest.approx(0.0, abs=TOL)
    rel = s.relations.copy()
    rel[0, R, T] = rel[0, T, R] = 0.6  # better than usual: no rift
    assert partner_tension(rel, spec.relations0, K)[0] == pytest.approx(0.0, abs=TOL)


def test_alignment_moves_toward_the_logit_target_slowed_by_tension() -> None:
    # U = affinity (0.5, 0.2), temperature 0.5: target = softmax(1.0, 0.4);
    # tension 0.075 (r-t at -0.3), hedging 2: eta = 0.1 / (1 + 2 * 0.075)
    spec, s = world(alignment=dict(affinity=1.0, temperature=0.5, inertia=0.1, hedging=2.0))
    s.relations[0, R, T] = s.relations[0, T, R] = -0.3
    nxt = transition(s, zero_delta(spec), spec)
    east = 1.0 / (1.0 + math.exp(-0.6))
    eta = 0.1 / 1.15
    expected = [(1 - eta) * 0.6 + eta * east, (1 - eta) * 0.4 + eta * (1 - east)]
    assert nxt.alignment[0] == approx(expected)


# ------------------------------------------------------------------------ payoffs (§7.9)
def pay(spec, s, **played) -> np.ndarray:
    actions = np.zeros((1, spec.n_actors), dtype=np.int64)
    for actor, action in played.items():
        actions[0, spec.actor_index(actor)] = spec.action_index(action)
    return payoffs(s, actions, spec)[0]


def test_payoff_align_term_is_the_own_sphere_share() -> None:
    spec, s = world(payoffs=dict(k=dict(align=4.0), r=dict(align=2.0), t=dict(align=5.0)))
    assert pay(spec, s) == approx([0.0, 2.0 * 0.6, 5.0 * 0.4])  # the swing state has no sphere


def test_payoff_utility_term_is_the_alignment_weighted_sphere_utility() -> None:
    # U = affinity (0.5, 0.2): position = 0.6 * 0.5 + 0.4 * 0.2 = 0.38
    spec, s = world(alignment=dict(affinity=1.0), payoffs=dict(k=dict(utility=1.0)))
    assert pay(spec, s) == approx([0.38, 0.0, 0.0])


def test_payoff_autonomy_term_is_one_minus_herfindahl() -> None:
    # 1 - (0.6^2 + 0.4^2) = 0.48, weight 0.3
    spec, s = world(payoffs=dict(k=dict(autonomy=0.3)))
    assert pay(spec, s) == approx([0.3 * 0.48, 0.0, 0.0])
    s.alignment[0] = [1.0, 0.0]  # all in one sphere: no autonomy
    assert pay(spec, s) == approx([0.0, 0.0, 0.0])


def test_payoff_sovereignty_term() -> None:
    spec, s = world(payoffs=dict(k=dict(sovereignty=2.0)))
    s.defiance[0] = 0.5
    assert pay(spec, s) == approx([2.0 * (1.0 - math.exp(-0.5)), 0.0, 0.0])
    s.defiance[0] = -0.3  # negative defiance counts as none
    assert pay(spec, s) == approx([0.0, 0.0, 0.0])


def test_payoff_revenue_term() -> None:
    spec, s = world(payoffs=dict(k=dict(revenue=0.5)))
    s.pain[0] = 0.35
    assert pay(spec, s) == approx([0.5 * 0.65, 0.0, 0.0])


def test_payoff_exposure_term() -> None:
    # E = 0.7 * 0.1 + 0.3 * 0.1 = 0.1 (does not depend on payoffs.alignment.exposure)
    spec, s = world(payoffs=dict(k=dict(exposure=3.0)))
    assert pay(spec, s) == approx([-0.3, 0.0, 0.0])


def test_payoff_transit_term_is_paid_on_flows_not_shares() -> None:
    # shares (0.7, 0.3) but north flowed only 0.35 this month: transit r = 2 * 0.35
    spec, s = world(payoffs=dict(r=dict(transit=2.0), t=dict(transit=1.0)))
    s.flow[0] = [0.35, 0.3]
    assert pay(spec, s) == approx([0.0, 0.7, 0.3])


def test_payoff_relations_term() -> None:
    spec, s = world(payoffs=dict(r=dict(relations=1.0), t=dict(relations=2.0)))
    assert pay(spec, s) == approx([0.0, 0.5, 0.6])


def test_payoff_punish_term_only_for_punitive_actions() -> None:
    # defiance 0.5, weight 2, cost weight 0 (so only the punish term counts)
    spec, s = world(payoffs=dict(r=dict(punish=2.0, cost=0.0)))
    s.defiance[0] = 0.5
    assert pay(spec, s, r="halt") == approx([0.0, 1.0, 0.0])
    assert pay(spec, s, r="warm") == approx([0.0, 0.0, 0.0])


def test_payoff_cost_term_times_the_cost_weight() -> None:
    spec, s = world(payoffs=dict(r=dict(cost=2.0)))
    assert pay(spec, s, r="halt", t="summit") == approx([0.0, -0.2, -0.05])
    assert pay(spec, s, r="warm") == approx([0.0, -0.04, 0.0])


# --------------------------------------------------------------- event dating (§2.4, §6)
def test_an_event_dated_july_acts_in_julys_step_and_shows_on_august_first() -> None:
    # start 2022-01: July is month index 6. The event adds 2 bn to r's investment and forces
    # r's 'warm' (relation k-t +0.1). Investment reverts 10 % a month toward 10 bn:
    # state 7 (1 Aug) = 12 * 0.9 + 1 = 11.8; state 8 (1 Sep) = 11.8 * 0.9 + 1 = 11.62.
    # 8 months = states 0..8. Every free choice is 'none' (all other payoffs are 0, every
    # other action costs).
    event = EventConf(date="2022-07", name="fund", forced={"r": "warm"},
                      effects=EffectsConf(investment_bn={"r": 2.0}))
    spec = compile_spec(tiny_config(events=[event], months=8,
                                    dynamics=dict(investment_reversion=0.1)))
    assert str(spec.start.plus(6)) == "2022-07" and str(spec.start.plus(7)) == "2022-08"
    assert spec.event_names[6] == ("fund",)
    assert all(names == () for t, names in enumerate(spec.event_names) if t != 6)
    assert spec.forced[:, R].tolist() == [-1] * 6 + [spec.action_index("warm")] + [-1]
    traj = run_ensemble(spec, 2, seed=3)
    assert traj.investment[:, 0, R] == approx([10.0] * 7 + [11.8, 11.62])
    assert traj.relations[:, 0, K, T] == approx([0.3] * 7 + [0.4] * 2)
    played = np.zeros((8, 2, 3), dtype=np.int64)
    played[6, :, R] = spec.action_index("warm")
    np.testing.assert_array_equal(traj.actions, played)


def test_history_schedules_the_cpc_halt_in_july_2022(default_spec) -> None:
    # history starts 2022-01: the CPC halt (2022-07) is month index 6, where Russia is forced
    # to halt; the CSTO deployment (2022-01) is index 0. Kazakhstan's gestures of the record are
    # forced catalogue moves: no circumvention (2022-03, index 2), the refusal (2022-06, 5), the
    # Moscow-then-Paris visits (2022-11, 10)
    spec = default_spec
    russia = spec.forced[:, spec.actor_index("russia")].tolist()
    halt = spec.action_index("pipeline_halt")
    assert russia[:12] == [spec.action_index("security_guarantee"), -1, -1, -1, -1, -1, halt,
                           -1, -1, -1, -1, -1]
    kz = spec.forced[:, spec.swing].tolist()
    a = spec.action_index
    assert kz[:12] == [-1, -1, a("sanctions_compliance"), -1, -1, a("recognition_refusal"), -1,
                       -1, -1, -1, a("balancing_visit"), -1]
    assert kz[36] == a("neutral_mediation")  # the black boxes, 2025-01
    assert spec.event_names[6] == ("CPC halt",)
