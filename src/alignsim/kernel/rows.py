"""The compiled kernel one month at a time, on :class:`~alignsim.kernel.state.State` batches.

The Mesa driver, the stage game's replay, the seminar room and the attribution step the world
month by month (a human or a valuation may act between months); they call these functions, which
run the very same compiled code as a whole run (:func:`alignsim.kernel.batch.run_rows`), so a
replicate stepped here matches the ensemble driver's bit for bit.
"""

from __future__ import annotations

import numpy as np

from alignsim.kernel import compiled as ck
from alignsim.kernel.batch import COMPILED_LOCK, Packed, pack
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import State

CACHE_SIZE = 64  # Specs packed for step-wise use kept at once (a room makes one per month)
_PACKED: dict[int, tuple[Spec, Packed]] = {}


def packed_of(spec: Spec) -> Packed:
    """The Spec packed for month-at-a-time use, computed once per Spec object (the last
    :data:`CACHE_SIZE` kept: the cache holds its Specs, so an id cannot be reused while cached)."""
    hit = _PACKED.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    packed = pack([spec], stepwise=True)
    while len(_PACKED) >= CACHE_SIZE:
        _PACKED.pop(next(iter(_PACKED)))
    _PACKED[id(spec)] = (spec, packed)
    return packed


def _check_month(spec: Spec, t: int) -> int:
    """The compiled kernel reads month ``t``'s events without bounds checks: refuse others."""
    if not 0 <= int(t) < spec.months:
        raise IndexError(f"month {t} is outside the run (0 .. {spec.months - 1})")
    return int(t)


def to_flat(state: State, packed: Packed) -> np.ndarray:
    """Rows of the flat compiled state ``(R, L)`` from a :class:`State`."""
    r = state.replicates
    out = np.empty((r, int(packed.ofs[-1])))
    for i, name in enumerate(ck.STATE_FIELDS):
        out[:, packed.ofs[i]:packed.ofs[i + 1]] = getattr(state, name).reshape(r, -1)
    return out


def from_flat(xs: np.ndarray, like: State, packed: Packed) -> State:
    """The :class:`State` of flat rows ``xs`` (shapes as in ``like``)."""
    r = xs.shape[0]
    parts = {}
    for i, name in enumerate(ck.STATE_FIELDS):
        shape = (r, *getattr(like, name).shape[1:])
        parts[name] = xs[:, packed.ofs[i]:packed.ofs[i + 1]].reshape(shape).copy()
    return State(**parts)


def lookahead_values(state: State, last: np.ndarray, counts: np.ndarray, spec: Spec, t: int,
                     actors: list[int] | None = None) -> np.ndarray:
    """``q (R, N, A)`` of the candidates of ``actors`` (default all but ``equilibrium`` players);
    ``-inf`` elsewhere."""
    packed = packed_of(spec)
    ctl = packed.control
    if actors is not None:
        keep = np.isin(ctl[0], np.asarray(actors, dtype=np.int64))
        ctl = (ctl[0][keep], ctl[1][keep], *ctl[2:])
    xs = to_flat(state, packed)
    q = np.empty((state.replicates, spec.n_actors, spec.n_actions))
    t = _check_month(spec, t)
    with COMPILED_LOCK:
        ck.values_rows(xs, np.ascontiguousarray(last, np.int64),
                       np.ascontiguousarray(counts, float), t, packed.params,
                       np.zeros(len(xs), np.int64), packed.structure, ctl, q)
    return q


def play(state: State, actions: np.ndarray, spec: Spec, t: int | None = None):
    """One month under the final joint action ``actions (R, N)``: ``(next_state, payoffs)``;
    ``t`` adds that month's scheduled events."""
    packed = packed_of(spec)
    xs = to_flat(state, packed)
    out = np.empty_like(xs)
    real = np.empty((state.replicates, spec.n_actors))
    month = -1 if t is None else _check_month(spec, t)
    with COMPILED_LOCK:
        ck.play_rows(xs, np.ascontiguousarray(actions, np.int64), month, packed.params,
                     np.zeros(len(xs), np.int64), packed.structure, out, real)
    return from_flat(out, state, packed), real


def choose(spec: Spec, actor: int, q: np.ndarray, propensity: np.ndarray, u: np.ndarray,
           temperature: float, spread: bool) -> tuple[np.ndarray, np.ndarray]:
    """Actor ``actor``'s draws over rows of its payoffs ``q (R, A)``: ``(choice, probs)``."""
    packed = packed_of(spec)
    r = q.shape[0]
    choice = np.empty(r, np.int64)
    p = np.empty((r, spec.n_actions))
    ck.choose_rows(np.ascontiguousarray(q, float), int(packed.control[2][actor]),
                   float(temperature), bool(spread), np.ascontiguousarray(propensity, float),
                   packed.allowed[actor], np.ascontiguousarray(u, float), choice, p)
    return choice, p
