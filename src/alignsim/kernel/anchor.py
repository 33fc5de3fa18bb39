"""The rest anchor: the constant per-sphere utility that puts the configured start at rest.

Why this module exists: the compiled kernel (:mod:`alignsim.kernel.compiled`) adds the anchor to
the sphere utilities every month but never computes it; it is computed here once per parameter
point, when a Spec is packed (:func:`alignsim.kernel.batch.pack`), from the structural utilities
of the initial state. This module holds :func:`rest_anchor` and only what it needs (the
structural utility, the committed route shares); the rest of the NumPy statement of the month,
the compiled kernel's test oracle, lives under ``tests/numpy_kernel/``.
"""

from __future__ import annotations

import numpy as np

from alignsim.kernel.spec import Spec
from alignsim.kernel.state import State, initial_state


def route_target(capacity: np.ndarray, primary: int) -> np.ndarray:
    """Shares exports would settle at: alternative routes full, the primary takes the rest.

    Alternatives are preferred because each one was built to avoid the primary route; if they
    could carry more than everything, they are scaled down pro rata. Rows sum to one.
    """
    alt = capacity.copy()
    alt[:, primary] = 0.0
    total = alt.sum(axis=1, keepdims=True)
    alt = alt / np.maximum(total, 1.0)
    alt[:, primary] = np.maximum(1.0 - alt.sum(axis=1), 0.0)  # never -1e-16 from rounding
    return alt


def committed_shares(state: State, spec: Spec) -> np.ndarray:
    """Route shares once all committed capacity operates: what a forward-looking actor counts."""
    return route_target(np.minimum(state.capacity + state.pending, 1.0), spec.primary_route)


def structural_utility(state: State, spec: Spec) -> tuple[np.ndarray, np.ndarray]:
    """What each sphere is worth to the swing state given the world's structure, ``(R, S)``, and
    its exposure ``(R,)``: ``econ*ties + security*sec + affinity*aff + relations*rel
    - exposure*risk``.

    Ties are trade, oil routes and investment from the sphere's members; risk is the revenue at
    risk on committed routes through members, times their perceived threat.
    """
    a = spec.align
    m = spec.membership  # (S, N)
    ties = (
        spec.trade[None, :]
        + state.share @ spec.route_membership.T
        + (state.investment @ m.T) / spec.dyn["investment_scale_bn"]
    )
    security = state.security @ m.T
    rel = state.relations[:, spec.swing, :] @ (m / m.sum(axis=1, keepdims=True)).T
    at_risk = committed_shares(state, spec) * state.threat[:, spec.route_via]  # (R, K)
    risk = at_risk @ spec.route_membership.T
    u = (
        a["econ"] * ties
        + a["security"] * security
        + a["affinity"] * state.affinity
        + a["relations"] * rel
        - a["exposure"] * risk
    )
    return u, at_risk.sum(axis=1)


def rest_anchor(spec: Spec) -> np.ndarray:
    """Per-sphere utility ``(S,)`` of the ties the model does not represent, set so that the
    configured start is at rest: ``softmax((U0 + anchor) / T) = alignment0``.

    Why: the initial alignment comes from the record, the structural utilities from separate
    assumptions; without this constant the two disagree and the alignment slides toward the
    structure's own target before any event happens (the axis fell from -0.300 to -0.330 by
    Jul 2022 with nobody acting). With it, a world where nobody acts and nothing happens does not
    move, and every drift is caused by an action or an event. ``payoffs.alignment.at_rest=false``
    switches it off (anchor 0).
    """
    if not spec.align.get("at_rest", 0.0):
        return np.zeros(spec.n_spheres)
    u0, _ = structural_utility(initial_state(spec, 1), spec)
    a0 = np.maximum(spec.alignment0, 1e-12)
    return spec.align["temperature"] * np.log(a0) - u0[0]
