"""The NumPy kernel run month by month: the test oracle of the compiled kernel.

Every step here is NumPy (:mod:`alignsim.kernel.dynamics`, the NumPy look-ahead
``decisions._lookahead``, :mod:`alignsim.kernel.policies`); nothing calls compiled code, so a
test comparing this to :func:`alignsim.ensemble.run_ensemble` compares two implementations.
"""

from __future__ import annotations

import numpy as np

from alignsim.kernel.decisions import (
    Memory,
    _lookahead,
    apply_forced,
    candidate_pairs,
    decide_actor_numpy,
    remember,
)
from alignsim.kernel.dynamics import step_payoffs
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import initial_state
from alignsim.kernel.step import replicate_uniforms


def expected_payoffs_numpy(state, memory, spec: Spec, t: int) -> np.ndarray:
    """``q (R, N, A)`` by the NumPy look-ahead (every actor; no equilibrium players)."""
    ci, ca = candidate_pairs(spec)
    q = np.full((state.replicates, spec.n_actors, spec.n_actions), -np.inf)
    q[:, ci, ca] = _lookahead(state, memory, spec, t, ci, ca)
    return q


def run_numpy(spec: Spec, replicates: int, seed: int, first: int = 0) -> dict[str, np.ndarray]:
    """Whole runs by the NumPy kernel: states, actions, realised and expected payoffs."""
    ids = list(range(first, first + replicates))
    u = replicate_uniforms(seed, ids, spec.months, spec.n_actors)
    state = initial_state(spec, replicates)
    memory = Memory.initial(spec, replicates)
    out = {k: [getattr(state, k).copy()] for k in ("alignment", "share", "relations", "threat")}
    out.update(actions=[], payoffs=[], expected=[])
    for t in range(spec.months):
        q = expected_payoffs_numpy(state, memory, spec, t)
        chosen = np.empty((replicates, spec.n_actors), dtype=np.int64)
        for i in range(spec.n_actors):
            chosen[:, i], _ = decide_actor_numpy(spec, i, q, memory, u[:, t, i])
        actions = apply_forced(spec, t, chosen)
        state, realised = step_payoffs(state, actions, spec, t)
        memory = remember(memory, actions, realised, q, spec)
        for k in ("alignment", "share", "relations", "threat"):
            out[k].append(getattr(state, k).copy())
        out["actions"].append(actions)
        out["payoffs"].append(realised)
        out["expected"].append(q)
    return {k: np.stack(v) for k, v in out.items()}
