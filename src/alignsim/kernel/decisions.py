"""Expected payoffs of every candidate action, and the simultaneous choice of all actors.

An actor values an action by the payoffs it expects over its horizon (one month, or
``policy.actors.<i>.horizon`` months discounted): the kernel's transition is run with its own
action plus what it believes the others will do (their belief-weighted effects).
:func:`expected_payoffs` and :func:`decide_actor` run the compiled kernel
(:mod:`alignsim.kernel.rows`); its NumPy oracle (all candidates of all actors in one batch by
tiling the state) is test code, ``tests/numpy_kernel/lookahead.py``. What the actors remember
(:class:`Memory`, :func:`remember`) is kept here: the drivers update it between months.

Actors playing ``equilibrium`` value their actions differently: against the others' strategies in
the logit QRE of the month's stage game. That valuation lives in the game layer above the kernel
(:func:`alignsim.game.stage_game.qre_expected_payoffs`); the driver hands it in as a
:data:`Valuation`, so the kernel never imports upward.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alignsim.kernel.policies import RULE_TABLE, reinforce, rule_temperature
from alignsim.kernel.spec import ConfigError, Spec
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
    if (~eq).any():  # the compiled kernel's look-ahead
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
