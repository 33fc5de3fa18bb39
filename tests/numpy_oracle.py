"""The NumPy kernel run month by month: the test oracle of the compiled kernel.

Every step here is NumPy (``tests/numpy_kernel/``: the transition and payoffs of
:mod:`numpy_kernel.dynamics`, the look-ahead and draw of :mod:`numpy_kernel.lookahead` and
:mod:`numpy_kernel.choice`); nothing of the month calls compiled code, so a test comparing this
to :func:`alignsim.ensemble.run_ensemble` compares two implementations. (Shared with production:
the rest anchor, :func:`alignsim.kernel.anchor.rest_anchor`, computed once per point; the
uniforms, :func:`alignsim.kernel.step.replicate_uniforms`; the memory update,
:func:`alignsim.kernel.decisions.remember`.)
"""

from __future__ import annotations

import numpy as np

from alignsim.kernel.decisions import Memory, apply_forced, remember
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import initial_state
from alignsim.kernel.step import replicate_uniforms
from numpy_kernel.dynamics import step_payoffs
from numpy_kernel.lookahead import decide_actor_numpy, expected_payoffs_numpy


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
