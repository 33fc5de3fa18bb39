"""One month of the game for a batch of replicates, and the replicates' random streams.

Both drivers call these two functions and nothing else of the month's logic, so the ensemble
driver (many replicates) and the Mesa driver (one replicate, readable agents) cannot drift apart:
for the same seed and replicate they draw the same uniforms and take the same step.
"""

from __future__ import annotations

import numpy as np

from alignsim.kernel import streams
from alignsim.kernel.decisions import (
    Memory,
    Valuation,
    apply_forced,
    decide_actor,
    expected_payoffs,
    remember,
)
from alignsim.kernel.rows import play
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import State


def replicate_uniforms(
    seed: int, replicates: range | list[int], months: int, actors: int, key: tuple[int, ...] = ()
) -> np.ndarray:
    """Uniforms ``(R, T, N)``: one per replicate, month and actor, from per-replicate streams.

    Replicate ``r`` draws from ``SeedSequence(seed, spawn_key=(*key, r))`` (PCG64), so its
    numbers do not depend on which other replicates are drawn beside it. Computed by the
    compiled re-implementation of SeedSequence and PCG64 (:mod:`alignsim.kernel.streams`), bit
    for bit the NumPy numbers, ~10x faster and in parallel.
    """
    return streams.replicate_uniforms(seed, replicates, months, actors, key)


def month_step(
    state: State,
    memory: Memory,
    spec: Spec,
    t: int,
    u: np.ndarray,
    equilibrium: Valuation | None = None,
) -> tuple[State, Memory, np.ndarray, np.ndarray, np.ndarray]:
    """One simultaneous move of all actors in all replicates (choose all, then act all).

    ``equilibrium`` values the actions of actors playing the ``equilibrium`` rule; the driver
    hands it in (the stage game lives above the kernel), see :func:`expected_payoffs`.
    """
    q = expected_payoffs(state, memory, spec, t, equilibrium=equilibrium)
    chosen = np.empty((state.replicates, spec.n_actors), dtype=np.int64)
    for i in range(spec.n_actors):
        chosen[:, i], _ = decide_actor(spec, i, q, memory, u[:, i])
    actions = apply_forced(spec, t, chosen)
    nxt, realised = play(state, actions, spec, t)
    return nxt, remember(memory, actions, realised, q, spec), actions, realised, q
