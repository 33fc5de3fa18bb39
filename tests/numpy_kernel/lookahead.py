"""The look-ahead and the choice in NumPy: the compiled kernel's decision step, as its test oracle.

Production values and draws actions with the compiled kernel
(:func:`alignsim.kernel.decisions.expected_payoffs` runs
:func:`alignsim.kernel.rows.lookahead_values`, :func:`alignsim.kernel.decisions.decide_actor` runs
:func:`alignsim.kernel.rows.choose`); this is the same arithmetic in NumPy, all candidates of all
actors in one batch by tiling the state (:func:`lookahead`), and the rule's draw
(:func:`decide_actor_numpy`).
"""

from __future__ import annotations

import numpy as np

from alignsim.kernel.decisions import Memory, candidate_pairs
from alignsim.kernel.policies import RULE_TABLE, rule_temperature
from alignsim.kernel.spec import Spec, actor_horizons
from alignsim.kernel.state import State
from numpy_kernel.choice import choose, payoff_spread
from numpy_kernel.dynamics import advance, expected_effects, payoffs


def beliefs(memory: Memory, kind: str) -> np.ndarray:
    """Probabilities ``(R, N, A)`` the holder of ``memory`` assigns to each actor's next action:
    the empirical frequencies of its past actions (``empirical``), else its last action."""
    if kind == "empirical":
        return memory.counts / memory.counts.sum(axis=2, keepdims=True)
    onehot = np.zeros_like(memory.counts)
    r, n = np.indices(memory.last.shape)
    onehot[r, n, memory.last] = 1.0
    return onehot


def believed_effects(spec: Spec, memory: Memory, kind: str) -> np.ndarray:
    """Belief-weighted effect vector of each actor, ``(R, N, D)``.

    For ``last`` beliefs (one-hot) this is a gather of each actor's last action's effects, which
    equals the belief-weighted sum exactly (the other terms are exact zeros) at a fraction of
    the cost of the weighted sum.
    """
    if kind == "last":
        return spec.effects[np.arange(spec.n_actors)[None, :], memory.last]
    return expected_effects(spec, beliefs(memory, kind))


def lookahead(
    state: State, memory: Memory, spec: Spec, t: int, ci: np.ndarray, ca: np.ndarray
) -> np.ndarray:
    """``(R, c)``: the payoff actor ``ci[j]`` expects from playing ``ca[j]`` this month while the
    others play as it believes (belief-weighted effects; their last actions in the payoff).

    With a horizon H > 1 (the actor's own, ``policy.actors.<i>.horizon``, else ``policy.horizon``;
    only those rows are rolled on) the actor looks H months ahead: after this month it plays
    ``none`` and the others keep playing as believed, and the value is the discounted mean
    ``sum_h d^h u_h / sum_h d^h`` (``d = policy.discount``). Why: a route commitment operates only
    after a lag (``capacity_lag_months``) and a learned threat fades over years, so a one-month
    look-ahead cannot see what building exits or coercing is worth. Only this month's scheduled
    shocks are seen; later events are not foreseen.
    """
    r = state.replicates
    c = len(ci)
    kinds = {RULE_TABLE[spec.rules[i]].belief for i in set(ci.tolist())}
    own = spec.effects[ci, ca] + spec.event_effects[t][None, :]  # (c, D)
    if len(kinds) == 1:  # everyone holds the same belief model: build in place
        e = believed_effects(spec, memory, kinds.pop())  # (R, N, D)
        others = e.sum(axis=1)[:, None, :] - e[:, ci, :]  # (R, c, D)
    else:
        others = np.empty((r, c, spec.layout.size))
        for k in kinds:
            e = believed_effects(spec, memory, k)
            sel = np.array([RULE_TABLE[spec.rules[i]].belief == k for i in ci])
            others[:, sel, :] = e.sum(axis=1, keepdims=True) - e[:, ci[sel], :]
    delta = others + own[None, :, :]
    tiled = state.repeat(c)
    nxt, view = advance(tiled, delta.reshape(r * c, -1), spec)
    acts = np.repeat(memory.last, c, axis=0)
    rows = np.arange(r * c)
    cols = np.tile(ci, r)
    acts[rows, cols] = np.tile(ca, r)
    value = payoffs(nxt, acts, spec, view)[rows, cols]
    horizon = np.tile(actor_horizons(spec)[ci], r)  # (R * c,) the deciding actor's H
    far = horizon > 1  # only these rows are rolled on (a one-month actor's value is complete)
    if far.any():
        value[far] += continuation(nxt.take(far), others.reshape(r * c, -1)[far], acts[far],
                                   np.arange(int(far.sum())), cols[far], spec, horizon[far])
        value[far] /= discount_sums(spec.discount, horizon[far])
    return value.reshape(r, c)


def discount_sums(discount: float, horizon: np.ndarray) -> np.ndarray:
    """``sum_{h < H} d^h`` for each row's horizon ``H``, summed in month order (as the value)."""
    out = np.zeros(horizon.shape)
    for h in range(int(horizon.max())):
        out += np.where(h < horizon, discount**h, 0.0)
    return out


def continuation(
    state: State, others: np.ndarray, acts: np.ndarray, rows: np.ndarray, cols: np.ndarray,
    spec: Spec, horizon: np.ndarray,
) -> np.ndarray:
    """Discounted payoffs of months 2..H to the deciding actor of each row, who plays ``none``
    while the others keep their believed moves ``others (rows, D)``; row ``j`` counts only the
    months within its actor's horizon ``horizon[j]`` (the rollout runs to the longest)."""
    acts = acts.copy()
    acts[rows, cols] = 0  # none
    total = np.zeros(len(rows))
    for h in range(1, int(horizon.max())):
        state, view = advance(state, others, spec)
        total += np.where(h < horizon, spec.discount**h, 0.0) * payoffs(state, acts, spec,
                                                                         view)[rows, cols]
    return total


def expected_payoffs_numpy(state: State, memory: Memory, spec: Spec, t: int) -> np.ndarray:
    """``q (R, N, A)`` by the NumPy look-ahead (every actor; no equilibrium players): the oracle
    of :func:`alignsim.kernel.decisions.expected_payoffs`."""
    ci, ca = candidate_pairs(spec)
    q = np.full((state.replicates, spec.n_actors, spec.n_actions), -np.inf)
    q[:, ci, ca] = lookahead(state, memory, spec, t, ci, ca)
    return q


def decide_actor_numpy(
    spec: Spec, actor: int, q: np.ndarray, memory: Memory, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`alignsim.kernel.decisions.decide_actor` in NumPy (:mod:`numpy_kernel.choice`)."""
    rule = spec.rules[actor]
    qa = q[:, actor, :]
    temperature = rule_temperature(rule, float(spec.temperature[actor]), spec.qre_lambda)
    if spec.temperature_scale == "spread" and RULE_TABLE[rule].belief != "equilibrium":
        temperature = temperature * payoff_spread(qa)
    return choose(rule, qa, u, temperature=temperature,
                  propensity=memory.propensity[:, actor, :], allowed=spec.allowed[actor])
