"""The NumPy kernel: one month of the world, as pure NumPy functions over a replicate axis.

The model runs in the compiled kernel (:mod:`alignsim.kernel.compiled`), which performs these
functions' operations on one replicate at a time; these functions are its test oracle
(``tests/numpy_oracle.py``, ``tests/test_compiled.py``: agreement within 1e-9, actions identical)
and the readable statement of the maths. They live under ``tests/`` because production never
calls them: the one NumPy piece production needs, the rest anchor computed once per parameter
point when a Spec is packed, is :mod:`alignsim.kernel.anchor` (with the structural utility and the
route shares it is built from, used here too). Every function takes arrays shaped ``(R, ...)``
and returns new arrays; none keeps state, none draws random numbers.

The causal story the seeds tell, and that these functions encode:
dependence gives leverage -> a halt raises the perceived threat (``threat``) and so the exposure
of the coercer's routes -> diversification pays, capacity arrives after a lag -> shares, ties and
leverage fall -> drift. (An earlier version also let a halt pull the alignment toward the coercer
in the month it bit, "compliance"; no source supports it and no pattern identified it, so it is
gone: docs/model.md §12.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alignsim.kernel.anchor import rest_anchor, route_target, structural_utility
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import State


@dataclass(frozen=True)
class Outlook:
    """Quantities derived from a state that payoffs and narration reuse."""

    utility: np.ndarray  # (R, S) swing state's utility of each sphere (incl. the rest anchor)
    exposure: np.ndarray  # (R,) revenue fraction at risk per month on committed routes
    tension: np.ndarray  # (R,) feuding among the swing state's partners


# --------------------------------------------------------------------------- alignment
def sphere_utility(state: State, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """The swing state's utility of each sphere ``(R, S)`` (structure plus the rest anchor) and
    its exposure ``(R,)``: what moves its alignment and what its own payoff values."""
    u, exposure = structural_utility(state, spec)
    return u + rest_anchor(spec)[None, :], exposure


def partner_tension(relations: np.ndarray, relations0: np.ndarray, swing: int) -> np.ndarray:
    """How much the swing state's friends have fallen out with each other, ``(R,)``.

    Sum over pairs of partners of ``friend_i * friend_j * rift_ij``, where a rift is how far a
    relation has fallen below its usual (starting) level: the Dec 2024 shoot-down set two partners
    of Kazakhstan against each other, and a state caught in the middle hedges (000). Chronic
    hostility the swing state is used to does not count; a fresh rift does, and heals as the
    relation reverts.
    """
    friend = np.maximum(relations[:, swing, :], 0.0)
    friend[:, swing] = 0.0
    rift = np.maximum(relations0 - relations, 0.0)
    rift[:, swing, :] = 0.0
    rift[:, :, swing] = 0.0
    pulled = np.matmul(rift, friend[:, :, None])[:, :, 0]  # (R, N)
    return 0.5 * (pulled * friend).sum(axis=1)


def softmax(x: np.ndarray, temperature: float | np.ndarray) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def align_step(alignment: np.ndarray, utility: np.ndarray, tension: np.ndarray, spec: Spec):
    """Move alignment part of the way toward its logit target; stays on the simplex.

    A convex combination of two points of the simplex is on the simplex, so no renormalising is
    needed; feuding partners slow the move (hedging).
    """
    target = softmax(utility, spec.align["temperature"])
    eta = spec.align["inertia"] / (1.0 + spec.align["hedging"] * tension)
    return (1.0 - eta[:, None]) * alignment + eta[:, None] * target


# --------------------------------------------------------------------------- transition
def joint_effects(spec: Spec, actions: np.ndarray) -> np.ndarray:
    """Sum of the effect vectors of a joint action ``(R, N)`` -> ``(R, D)``."""
    n = np.arange(spec.n_actors)
    return spec.effects[n[None, :], actions].sum(axis=1)


def expected_effects(spec: Spec, beliefs: np.ndarray) -> np.ndarray:
    """Belief-weighted effect vector of each actor, ``(R, N, A)`` -> ``(R, N, D)``."""
    return np.einsum("rna,nad->rnd", beliefs, spec.effects)


def transition(state: State, delta: np.ndarray, spec: Spec) -> State:
    """One month: apply the actions' and events' effects ``delta (R, D)``, then let the world
    respond (halts bite, threat is learned, capacity arrives, shares and alignment move).

    The actors' memory of their own recent moves (``usage``, attention costs) is carried over
    unchanged: effects do not say who played what, so only :func:`step_payoffs`, which knows the
    joint action, moves it on (``remember_uses``). The look-ahead relies on this: a candidate's
    month is priced at the uses remembered before it."""
    return advance(state, delta, spec)[0]


def advance(state: State, delta: np.ndarray, spec: Spec) -> tuple[State, Outlook]:
    """:func:`transition`, also returning the new state's :class:`Outlook`.

    The sphere utilities are computed anyway to move the alignment; handing them on saves the
    payoff step from computing them again (they do not depend on the alignment itself)."""
    sl = spec.layout.slices
    d = spec.dyn
    r, n = state.replicates, spec.n_actors
    swing = spec.swing

    # 1. additive effects of this month's actions and events
    rel = state.relations + delta[:, sl["relations"]].reshape(r, n, n)
    affinity = state.affinity + delta[:, sl["affinity"]]
    investment = state.investment + delta[:, sl["investment"]]
    security = state.security + delta[:, sl["security"]]
    pending = state.pending + _built(state, delta[:, sl["capacity"]], spec)
    threat = state.threat + delta[:, sl["threat"]]
    defiance = state.defiance + delta[:, sl["defiance"]][:, 0]

    # 2. halts: a new halt lasts at least its months at its severity
    new_months = delta[:, sl["halt_months"]]
    new_load = delta[:, sl["halt_load"]]
    starting = new_months > 0
    new_sev = np.where(starting, new_load / np.where(starting, new_months, 1.0), 0.0)
    severity = np.where(starting, np.maximum(new_sev, state.severity), state.severity)
    halt = np.maximum(state.halt, new_months)
    stopped = severity * np.minimum(halt, 1.0)  # (R, K) fraction of each route's flow stopped
    lost = state.share * stopped
    pain = lost.sum(axis=1)
    flow = state.share - lost

    # 3. the swing state learns who coerces it, and resents it
    observed = np.minimum((new_sev * np.minimum(new_months, 1.0)) @ spec.route_actor.T, 1.0)
    prior = d["threat_prior"]
    threat = prior + (threat - prior) * (1.0 - d["threat_decay"])
    threat = threat + d["threat_learning"] * observed * (1.0 - threat)
    np.minimum(np.maximum(threat, 0.0, out=threat), 1.0, out=threat)
    hurt = np.minimum(stopped @ spec.route_actor.T, 1.0) * d["halt_grievance"]  # (R, N)
    rel[:, swing, :] -= hurt
    rel[:, :, swing] -= hurt

    # 4. slow pull back toward the starting structure (in place: these arrays are ours)
    rel = _revert(rel, spec.relations0, d["relations_reversion"], -1.0, 1.0)
    affinity = _revert(affinity, spec.affinity0, d["affinity_reversion"], 0.0, 1.0)
    investment = _revert(investment, spec.investment0, d["investment_reversion"], 0.0, None)
    security = _revert(security, spec.security0, d["security_reversion"], 0.0, 1.0)
    defiance = defiance * (1.0 - d["defiance_decay"])

    # 5. committed capacity comes on line; halts run down; shares follow capacity
    arriving = pending / d["capacity_lag_months"]
    capacity = state.capacity + arriving
    np.minimum(np.maximum(capacity, 0.0, out=capacity), 1.0, out=capacity)
    pending = pending - arriving
    halt = np.maximum(halt - 1.0, 0.0)
    severity = np.where(halt > 0, severity, 0.0)
    share = state.share + d["share_adjustment"] * (route_target(capacity, spec.primary_route)
                                                   - state.share)

    nxt = State(
        alignment=state.alignment,
        share=share,
        capacity=capacity,
        pending=pending,
        halt=halt,
        severity=severity,
        investment=investment,
        security=security,
        relations=rel,
        affinity=affinity,
        threat=threat,
        defiance=defiance,
        pain=pain,
        flow=flow,
        usage=state.usage,  # moved on by the played actions, not by effects (`remember_uses`)
    )
    # 6. alignment follows the utilities of the new structure (a halt acts through the threat it
    #    teaches, hence the exposure of the coercer's routes)
    utility, exposure = sphere_utility(nxt, spec)
    tension = partner_tension(rel, spec.relations0, swing)
    nxt.alignment = align_step(state.alignment, utility, tension, spec)
    return nxt, Outlook(utility, exposure, tension)


def _built(state: State, committed: np.ndarray, spec: Spec) -> np.ndarray:
    """Capacity a month's commitments add ``(R, K)``, with diminishing returns toward a route's
    ceiling: each addition is scaled by the headroom ``1 - (capacity + pending) / ceiling``.

    Why: a corridor is limited by what its ports and tankers can handle (003, 004), so the more
    is built or under way, the less the next effort adds, and nothing beyond the ceiling. Routes
    without a ceiling take every commitment in full (the arrays are returned unchanged).
    """
    ceiling = spec.ceiling
    if ceiling is None or not np.isfinite(ceiling).any():
        return committed
    capped = np.isfinite(ceiling)
    headroom = np.ones_like(committed)
    used = (state.capacity[:, capped] + state.pending[:, capped]) / ceiling[capped]
    headroom[:, capped] = np.maximum(1.0 - used, 0.0)
    return committed * headroom


def _revert(x: np.ndarray, base: np.ndarray, rate: float, lo: float, hi: float | None):
    """``clip(x + rate * (base - x))`` computed in place on ``x`` (a fresh array of ours)."""
    x *= 1.0 - rate
    x += rate * base
    np.maximum(x, lo, out=x)
    if hi is not None:
        np.minimum(x, hi, out=x)
    return x


# ------------------------------------------------------------------------------ payoffs
def payoffs(
    state: State, actions: np.ndarray, spec: Spec, view: Outlook | None = None
) -> np.ndarray:
    """Each actor's utility ``(R, N)`` in ``state`` after playing ``actions (R, N)``.

    One formula for all actors, switched by the weights in ``conf/payoffs``: the powers value the
    swing state's alignment to their sphere, transit through their routes, relations with it and
    (for the punitive ones) punishing its defiance; the swing state values its alignment-weighted
    sphere utility, balance, sovereignty, revenue received and safety from coercion. Every actor
    pays its action's cost. ``view`` is the state's :class:`Outlook` if already known (from
    :func:`advance`); it is recomputed otherwise.
    """
    w = spec.weights
    utility, exposure = (view.utility, view.exposure) if view is not None else sphere_utility(
        state, spec
    )
    own = np.where(
        spec.actor_sphere[None, :] >= 0,
        state.alignment[:, np.maximum(spec.actor_sphere, 0)],
        0.0,
    )
    position = (state.alignment * utility).sum(axis=1)
    autonomy = 1.0 - (state.alignment**2).sum(axis=1)
    sovereignty = 1.0 - np.exp(-np.maximum(state.defiance, 0.0))
    revenue = 1.0 - state.pain
    transit = state.flow @ spec.route_actor.T
    rel_swing = state.relations[:, spec.swing, :]
    punitive = spec.punitive[actions] * state.defiance[:, None]
    cost = action_costs(state, actions, spec)
    return (
        w["align"] * own
        + w["utility"] * position[:, None]
        + w["autonomy"] * autonomy[:, None]
        + w["sovereignty"] * sovereignty[:, None]
        + w["revenue"] * revenue[:, None]
        - w["exposure"] * exposure[:, None]
        + w["transit"] * transit
        + w["relations"] * rel_swing
        + w["punish"] * punitive
        - cost
    )


def action_costs(state: State, actions: np.ndarray, spec: Spec) -> np.ndarray:
    """Each actor's cost ``(R, N)`` of playing ``actions``, raised by its recent uses of them.

    Why: a summit, a fund or a refusal repeated month after month does not buy what the first
    one bought; the actor's attention and political capital are spent. Each remembered use
    (``state.usage``, fading by ``world.dynamics.usage_decay`` a month) adds the fraction
    ``actions.<a>.repeat_cost`` of the base cost. With every ``repeat_cost`` 0 this is the base
    cost table exactly.
    """
    n = np.arange(spec.n_actors)[None, :]
    base = spec.cost[n, actions]
    if spec.repeat_cost is None or not spec.repeat_cost.any():
        return base
    r = np.arange(actions.shape[0])[:, None]
    return base * (1.0 + spec.repeat_cost[actions] * state.usage[r, n, actions])


def remember_uses(usage: np.ndarray, actions: np.ndarray, spec: Spec) -> np.ndarray:
    """Recent uses ``(R, N, A)`` after a month in which ``actions (R, N)`` were played."""
    out = usage * (1.0 - spec.dyn.get("usage_decay", 0.1))
    r, n = np.indices(actions.shape)
    out[r, n, actions] += 1.0
    return out


def step_payoffs(state: State, actions: np.ndarray, spec: Spec, t: int | None = None):
    """Play one month under a joint action: ``(next_state, payoffs (R, N))``.

    The NumPy reference of a joint move (the compiled `rows.play` is what the drivers use).
    ``t`` adds the scheduled events of month ``t`` (no forced actions: ``actions`` is final).
    """
    delta = joint_effects(spec, actions)
    if t is not None:
        delta = delta + spec.event_effects[t][None, :]
    nxt, view = advance(state, delta, spec)
    realised = payoffs(nxt, actions, spec, view)  # priced at the uses before this month's
    nxt.usage = remember_uses(state.usage, actions, spec)
    return nxt, realised
