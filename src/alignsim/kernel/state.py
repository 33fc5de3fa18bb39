"""The world state as arrays with a leading replicate axis.

One replicate (the Mesa driver, the demo) is simply ``R = 1``; the ensemble driver steps thousands
at once, and the decision step tiles the state to evaluate every candidate action in one batch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from alignsim.kernel.spec import Spec


@dataclass
class State:
    """Arrays of shape ``(R, ...)``; see ``docs/model.md`` (ODD, state variables) for units."""

    alignment: np.ndarray  # (R, S) swing state's alignment, on the simplex
    share: np.ndarray  # (R, K) share of oil exports by route, sums to 1
    capacity: np.ndarray  # (R, K) most each route can carry, fraction of exports
    pending: np.ndarray  # (R, K) committed capacity not yet operating
    halt: np.ndarray  # (R, K) months of stoppage remaining
    severity: np.ndarray  # (R, K) fraction of the route's flow stopped while halted
    investment: np.ndarray  # (R, N) investment stock in the swing state, USD bn
    security: np.ndarray  # (R, N) security provided to the swing state, index
    relations: np.ndarray  # (R, N, N) symmetric relations in [-1, 1]
    affinity: np.ndarray  # (R, S) swing state's cultural affinity to each sphere
    threat: np.ndarray  # (R, N) perceived monthly probability that actor n coerces
    defiance: np.ndarray  # (R,) fading autonomy signal of the swing state
    pain: np.ndarray  # (R,) fraction of oil revenue lost in the last month
    flow: np.ndarray  # (R, K) share of exports that actually flowed in the last month
    usage: np.ndarray  # (R, N, A) fading count of each actor's recent uses of each action

    @property
    def replicates(self) -> int:
        return self.alignment.shape[0]

    def map(self, fn) -> State:
        """Apply ``fn`` to every array (e.g. ``np.copy``, ``lambda a: a[idx]``)."""
        return State(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def repeat(self, times: int) -> State:
        """Each replicate repeated ``times`` times, replicate-major (row = r * times + c)."""
        return self.map(lambda a: np.repeat(a, times, axis=0))

    def take(self, index) -> State:
        return self.map(lambda a: a[index])

    def copy(self) -> State:
        return self.map(np.copy)


def initial_state(spec: Spec, replicates: int) -> State:
    """The start of a run: every replicate begins from the configured world."""
    r = int(replicates)

    def tile(a: np.ndarray) -> np.ndarray:
        return np.broadcast_to(a, (r, *np.shape(a))).astype(float, copy=True)

    k = spec.n_routes
    return State(
        alignment=tile(spec.alignment0),
        share=tile(spec.share0),
        capacity=tile(spec.capacity0),
        pending=np.zeros((r, k)),
        halt=np.zeros((r, k)),
        severity=np.zeros((r, k)),
        investment=tile(spec.investment0),
        security=tile(spec.security0),
        relations=tile(spec.relations0),
        affinity=tile(spec.affinity0),
        threat=np.full((r, spec.n_actors), spec.dyn["threat_prior"]),
        defiance=np.zeros(r),
        pain=np.zeros(r),
        flow=tile(spec.share0),
        usage=np.zeros((r, spec.n_actors, spec.n_actions)),
    )
