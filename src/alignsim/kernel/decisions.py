"""Expected payoffs of every candidate action, and the simultaneous choice of all actors.

An actor values an action by the payoffs it expects over its horizon (one month, or
``policy.actors.<i>.horizon`` months discounted): the kernel's transition is run with its own
action plus what it believes the others will do (their belief-weighted effects).
:func:`expected_payoffs` and :func:`decide_actor` run the compiled kernel
(:mod:`alignsim.kernel.rows`); ``_lookahead`` and :func:`decide_actor_numpy` are its NumPy oracle
(all candidates of all actors in one batch by tiling the state), kept for the tests.

Actors playing ``equilibrium`` value their actions differently: against the others' strategies in
the logit QRE of the month's stage game. That valuation lives in the game layer above the kernel
(:func:`alignsim.game.stage_game.qre_expected_payoffs`); the driver hands it in as a
:data:`Valuation`, so the kernel never imports upward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alignsim.kernel.dynamics import advance, expected_effects, payoffs
from alignsim.kernel.policies import (
    RULE_TABLE,
    choose,
    payoff_spread,
    reinforce,
    rule_temperature,
)
from alignsim.kernel.spec import ConfigError, Spec, actor_horizons
from alignsim.kernel.state import State

Valuation = Callable[[Spec, State, int], np.ndarray]
"""Expected payoffs ``q (R, N, A)`` of every actor's actions at month ``t`` (the stage game's)."""


@dataclass
class Memory:
    """What the actors remember between months (arrays with a leading replicate axis)."""

    last: np.ndarray  # (R, N) last action index of each actor
    counts: np.ndarray  # (R, N, A) how often each actor used each action (with a prior of 1)
    propensity: np.ndarray  # (R, N, A) Roth–Erev propensities

    @classmethod
    def initial(cls, spec: Spec, replicates: int) -> Memory:
        allowed = spec.allowed.astype(float)
        return cls(
            last=np.zeros((replicates, spec.n_actors), dtype=np.int64),
            counts=np.broadcast_to(allowed, (replicates, *allowed.shape)).copy(),
            propensity=np.broadcast_to(allowed, (replicates, *allowed.shape)).copy(),
        )

    def take(self, index) -> Memory:
        return Memory(self.last[index], self.counts[index], self.propensity[index])

    def beliefs(self, kind: str, spec: Spec) -> np.ndarray:
        """Probabilities ``(R, N, A)`` the holder assigns to each actor's next action."""
        if kind == "empirical":
            return self.counts / self.counts.sum(axis=2, keepdims=True)
        onehot = np.zeros_like(self.counts)
        r, n = np.indices(self.last.shape)
        onehot[r, n, self.last] = 1.0
        return onehot


def candidate_pairs(spec: Spec, actors: list[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All (actor, action) pairs the actors in ``actors`` may choose, in a fixed order."""
    mask = spec.allowed.copy()
    if actors is not None:
        keep = np.zeros(spec.n_actors, dtype=bool)
        keep[actors] = True
        mask &= keep[:, None]
    ci, ca = np.nonzero(mask)
    return ci, ca


def expected_payoffs(
    state: State,
    memory: Memory,
    spec: Spec,
    t: int,
    actors: list[int] | None = None,
    equilibrium: Valuation | None = None,
) -> np.ndarray:
    """``q (R, N, A)``: each actor's expected payoff of each action (``-inf`` if not allowed).

    The month's scheduled shocks are included (the actors see them as they choose); the others'
    moves enter as their belief-weighted effects, the belief model being the deciding actor's
    rule's (``last`` actions or ``empirical`` frequencies). ``actors`` restricts the work to some
    actors (an agent computing only its own row); their rows are identical to a full call.
    Actors with the ``equilibrium`` rule get their rows from ``equilibrium`` (the stage game's
    logit QRE, handed in by the driver).
    """
    ci, ca = candidate_pairs(spec, actors)
    eq = np.array([RULE_TABLE[spec.rules[i]].belief == "equilibrium" for i in ci], dtype=bool)
    q = np.full((state.replicates, spec.n_actors, spec.n_actions), -np.inf)
    if (~eq).any():  # the compiled kernel's look-ahead (``_lookahead`` is its NumPy oracle)
        from alignsim.kernel.rows import lookahead_values

        wanted = sorted(set(ci[~eq].tolist()))
        q[:, ci[~eq], ca[~eq]] = lookahead_values(state, memory.last, memory.counts, spec, t,
                                                  wanted)[:, ci[~eq], ca[~eq]]
    if eq.any():
        if equilibrium is None:
            raise ConfigError(
                "policy.rule",
                "the 'equilibrium' rule needs the stage game's valuation; run it through a driver "
                "(alignsim.ensemble.run_ensemble or alignsim.model.AlignmentModel)",
            )
        qe = equilibrium(spec, state, t)
        q[:, ci[eq], ca[eq]] = qe[:, ci[eq], ca[eq]]
    return q


def _lookahead(
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
        e = _believed_effects(spec, memory, kinds.pop())  # (R, N, D)
        others = e.sum(axis=1)[:, None, :] - e[:, ci, :]  # (R, c, D)
    else:
        others = np.empty((r, c, spec.layout.size))
        for k in kinds:
            e = _believed_effects(spec, memory, k)
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
        value[far] += _continuation(nxt.take(far), others.reshape(r * c, -1)[far], acts[far],
                                    np.arange(int(far.sum())), cols[far], spec, horizon[far])
        value[far] /= _discount_sums(spec.discount, horizon[far])
    return value.reshape(r, c)


def _discount_sums(discount: float, horizon: np.ndarray) -> np.ndarray:
    """``sum_{h < H} d^h`` for each row's horizon ``H``, summed in month order (as the value)."""
    out = np.zeros(horizon.shape)
    for h in range(int(horizon.max())):
        out += np.where(h < horizon, discount**h, 0.0)
    return out


def _continuation(
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


def _believed_effects(spec: Spec, memory: Memory, kind: str) -> np.ndarray:
    """Belief-weighted effect vector of each actor, ``(R, N, D)``.

    For ``last`` beliefs (one-hot) this is a gather of each actor's last action's effects, which
    equals the belief-weighted sum exactly (the other terms are exact zeros) at a fraction of
    the cost of the weighted sum.
    """
    if kind == "last":
        return spec.effects[np.arange(spec.n_actors)[None, :], memory.last]
    return expected_effects(spec, memory.beliefs(kind, spec))


def uses_equilibrium(spec: Spec) -> bool:
    """Whether some actor values its actions by the stage game (the ``equilibrium`` rule)."""
    return any(RULE_TABLE[r].belief == "equilibrium" for r in spec.rules)


def decide_actor(
    spec: Spec, actor: int, q: np.ndarray, memory: Memory, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One actor's choice over all replicates by its configured rule: ``(choice, probs)``."""
    from alignsim.kernel.rows import choose as compiled_choose

    rule = spec.rules[actor]
    temperature = rule_temperature(rule, float(spec.temperature[actor]), spec.qre_lambda)
    spread = spec.temperature_scale == "spread" and RULE_TABLE[rule].belief != "equilibrium"
    return compiled_choose(spec, actor, q[:, actor, :], memory.propensity[:, actor, :],
                           np.asarray(u, float).reshape(-1), temperature, spread)


def decide_actor_numpy(
    spec: Spec, actor: int, q: np.ndarray, memory: Memory, u: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decide_actor` in NumPy (:mod:`alignsim.kernel.policies`): the tests' oracle."""
    rule = spec.rules[actor]
    qa = q[:, actor, :]
    temperature = rule_temperature(rule, float(spec.temperature[actor]), spec.qre_lambda)
    if spec.temperature_scale == "spread" and RULE_TABLE[rule].belief != "equilibrium":
        temperature = temperature * payoff_spread(qa)
    return choose(rule, qa, u, temperature=temperature,
                  propensity=memory.propensity[:, actor, :], allowed=spec.allowed[actor])


def apply_forced(spec: Spec, t: int, actions: np.ndarray) -> np.ndarray:
    """Scheduled actions of month ``t`` override the actors' choices."""
    forced = spec.forced[t]
    return np.where(forced[None, :] >= 0, forced[None, :], actions)


def remember(
    memory: Memory, actions: np.ndarray, realised: np.ndarray, q: np.ndarray, spec: Spec
) -> Memory:
    """Update what actors remember after a month: last actions, counts, propensities."""
    r, n = np.indices(actions.shape)
    counts = memory.counts.copy()
    counts[r, n, actions] += 1.0
    propensity = memory.propensity.copy()
    worst = np.where(np.isfinite(q), q, np.inf).min(axis=2)  # (R, N)
    for i in range(spec.n_actors):
        if spec.rules[i] == "roth_erev":
            reward = np.maximum(realised[:, i] - worst[:, i], 0.0)
            propensity[:, i, :] = reinforce(
                propensity[:, i, :], actions[:, i], reward, spec.recency
            )
    return Memory(actions.copy(), counts, propensity)
