"""Parameters on the batch axis: pack one or many compiled Specs for the compiled kernel.

A batch shares its structure — actors, spheres, routes, the action catalogue, which actions each
actor may use, forced moves, months, decision rules and horizons — and lets every
numeric parameter differ by row: payoff weights, costs and effects of actions, dynamics and
alignment rates, the initial state, route shares and ceilings, event magnitudes, temperatures.
:func:`pack` stacks P Specs along a leading point axis (refusing, with the field named, Specs
whose structure differs); :func:`run_rows` runs rows ``(point[b], uniforms[b])`` in one call.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numba
import numpy as np

from alignsim.kernel import compiled as ck
from alignsim.kernel.anchor import rest_anchor
from alignsim.kernel.policies import RULE_TABLE
from alignsim.kernel.spec import ConfigError, Spec, actor_horizons

# One compiled parallel call at a time per process: numba's `workqueue` threading layer (used where
# no OpenMP or TBB runtime is found) aborts the process when two threads enter parallel code at
# once (the room serves several rooms from threads).
COMPILED_LOCK = threading.RLock()
TRAJECTORY_FIELDS = ("alignment", "share", "capacity", "threat", "investment", "relations", "pain")


@dataclass(frozen=True)
class Packed:
    """P parameter points of one structure, as the compiled kernel takes them."""

    spec: Spec  # the first point's Spec (names, calendar, structure)
    ofs: np.ndarray  # (len(STATE_FIELDS) + 1,) flat-state offsets
    x0: np.ndarray  # (P, L) initial flat state of each point
    params: tuple  # per-point arrays, leading axis P (see compiled._simulate)
    structure: tuple  # shared index maps
    control: tuple  # candidates, rule codes, horizons, empirical flag
    allowed: np.ndarray  # (N, A) bool
    forced: np.ndarray  # (T, N) int
    spread: bool
    temperatures: np.ndarray  # (P, N)

    @property
    def points(self) -> int:
        return self.x0.shape[0]


def _structure_key(spec: Spec) -> dict:
    """What must be equal across the points of a batch (compared field by field)."""
    return {
        "actors": spec.actors, "spheres": spec.spheres, "routes": spec.routes,
        "actions": spec.actions, "swing": spec.swing, "primary_route": spec.primary_route,
        "actor_sphere": spec.actor_sphere.tolist(), "membership": spec.membership.tolist(),
        "route_via": spec.route_via.tolist(), "route_membership": spec.route_membership.tolist(),
        "route_actor": spec.route_actor.tolist(), "allowed": spec.allowed.tolist(),
        "punitive": spec.punitive.tolist(), "rules": spec.rules,
        "horizons": actor_horizons(spec).tolist(), "months": spec.months, "start": str(spec.start),
        "forced": spec.forced.tolist(), "temperature_scale": spec.temperature_scale,
    }


def _scalars(spec: Spec) -> np.ndarray:
    d, a = spec.dyn, spec.align
    values = [d[k] for k in ck.SCALARS[:12]] + [d.get("usage_decay", 0.1)]
    values += [a["econ"], a["security"], a["affinity"], a["relations"], a["exposure"],
               a["hedging"], a["temperature"], a["inertia"], spec.discount, spec.recency]
    return np.asarray(values, dtype=float)


def initial_flat(spec: Spec, ofs: np.ndarray) -> np.ndarray:
    """The configured start as one flat state (:data:`compiled.STATE_FIELDS`)."""
    x = np.zeros(ofs[-1])
    put = {
        "alignment": spec.alignment0, "share": spec.share0, "capacity": spec.capacity0,
        "investment": spec.investment0, "security": spec.security0,
        "relations": spec.relations0.ravel(), "affinity": spec.affinity0,
        "threat": np.full(spec.n_actors, spec.dyn["threat_prior"]), "flow": spec.share0,
    }
    for name, value in put.items():
        i = ck.STATE_FIELDS.index(name)
        x[ofs[i]:ofs[i + 1]] = value
    return x


def _point_arrays(spec: Spec) -> tuple:
    n_k = spec.n_routes
    ceiling = np.full(n_k, np.inf) if spec.ceiling is None else np.asarray(spec.ceiling, float)
    repeat = (np.zeros(spec.n_actions) if spec.repeat_cost is None
              else np.asarray(spec.repeat_cost, float))
    weights = np.stack([np.asarray(spec.weights[k], float) for k in ck.WEIGHTS])
    return (_scalars(spec), spec.trade, rest_anchor(spec), spec.relations0, spec.affinity0,
            spec.investment0, spec.security0, ceiling, weights, spec.cost, repeat,
            spec.effects, spec.event_effects[:spec.months])


def _nonzero_entries(effects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Effect entries each action moves at some point: ``(N, A, M)`` indices, ``(N, A)`` counts
    (the look-ahead patches only these, :func:`alignsim.kernel.compiled._values`)."""
    moved = (effects != 0).any(axis=0)  # (N, A, D)
    counts = moved.sum(axis=2)
    out = np.zeros((*moved.shape[:2], max(int(counts.max()), 1)), dtype=np.int64)
    for n, a in np.ndindex(*moved.shape[:2]):
        idx = np.flatnonzero(moved[n, a])
        out[n, a, :idx.size] = idx
    return out, counts.astype(np.int64)


def check_supported(spec: Spec) -> None:
    """Refuse, in one line, a rule the compiled kernel does not run."""
    bad = ck.unsupported_rules(spec)
    if bad:
        raise ConfigError("policy.rule", f"the compiled kernel runs {', '.join(ck.RULE_CODES)}; "
                          f"{', '.join(bad)} runs through the stage game")


def pack(specs: Sequence[Spec], *, stepwise: bool = False) -> Packed:
    """Stack Specs sharing one structure along a leading point axis.

    ``stepwise``: for month-at-a-time use (:mod:`alignsim.kernel.rows`), where actors playing
    ``equilibrium`` are valued by the stage game above the kernel: they are left out of the
    candidates and drawn as logit at ``1 / qre_lambda``. Whole compiled runs refuse that rule."""
    first = specs[0]
    if not stepwise:
        check_supported(first)
    key = _structure_key(first)
    for n, spec in enumerate(specs[1:], start=1):
        other = _structure_key(spec)
        for field_name, value in key.items():
            if other[field_name] != value:
                raise ConfigError(field_name, f"point {n} differs from point 0 in its structure "
                                  f"({field_name}); a batch shares actors, actions, routes, "
                                  "forced moves, months and rules")
    for spec in specs:  # the kernel indexes months without bounds checks: refuse short tables
        if len(spec.forced) < spec.months or len(spec.event_effects) < spec.months:
            raise ValueError(f"a Spec of {spec.months} months has forced moves for "
                             f"{len(spec.forced)} and events for {len(spec.event_effects)}")
    ofs = ck.state_offsets(first.n_spheres, first.n_routes, first.n_actors, first.n_actions)
    sl = first.layout.slices
    dofs = np.array([sl[f].start for f in ck.DELTA_FIELDS], dtype=np.int64)
    per_point = [_point_arrays(s) for s in specs]
    stacked = tuple(np.ascontiguousarray(np.stack([pa[j] for pa in per_point]), dtype=float)
                    for j in range(len(per_point[0])))
    equilibrium = np.array([RULE_TABLE[r].belief == "equilibrium" for r in first.rules])
    ci, ca = np.nonzero(first.allowed & ~equilibrium[:, None])
    rules = np.array([ck.RULE_CODES.get(r, ck.EQUILIBRIUM_CODE) for r in first.rules],
                     dtype=np.int64)
    empirical = any(RULE_TABLE[r].belief == "empirical" for r in first.rules)
    mnorm = first.membership / first.membership.sum(axis=1, keepdims=True)
    structure = (int(first.swing), int(first.primary_route),
                 np.asarray(first.actor_sphere, np.int64), np.asarray(first.membership, float),
                 mnorm, np.asarray(first.route_via, np.int64),
                 np.asarray(first.route_membership, float),
                 np.ascontiguousarray(first.route_actor, float),
                 np.asarray(first.punitive, float))
    nz, nz_len = _nonzero_entries(stacked[11])
    control = (ci.astype(np.int64), ca.astype(np.int64), rules,
               actor_horizons(first).astype(np.int64), bool(empirical), nz, nz_len)
    return Packed(
        spec=first, ofs=ofs, x0=np.stack([initial_flat(s, ofs) for s in specs]),
        params=(ofs, dofs, *stacked), structure=structure, control=control,
        allowed=np.ascontiguousarray(first.allowed, bool),
        forced=np.ascontiguousarray(first.forced[:first.months], np.int64),
        spread=first.temperature_scale == "spread",
        temperatures=np.stack([np.asarray(s.temperature, float) for s in specs]),
    )


@dataclass
class Rows:
    """What one call recorded for its rows (arrays of size 0 for what was not asked for)."""

    states: np.ndarray  # (T+1, B, F) at ``index``
    index: np.ndarray  # (F,) flat-state indices recorded
    actions: np.ndarray  # (T, B, N) int
    payoffs: np.ndarray  # (T, B, N)
    expected: np.ndarray  # (T, B, N, A)
    action_counts: np.ndarray  # (B, N, A) int
    payoff_sums: np.ndarray  # (B, N)
    final: np.ndarray  # (B, L)


def lane_width(rows: int) -> int:
    """Lanes per group for a call of ``rows`` rows: :data:`compiled.LANES`, narrower (at least 8)
    when that would leave a thread without a group. The width changes no result (each lane
    computes alone, tests/test_lanes.py), only how the work is spread."""
    threads = numba.get_num_threads()
    return int(min(ck.LANES, max(8, -(-rows // threads))))


def run_rows(packed: Packed, point: np.ndarray, uniforms: np.ndarray, *,
             fields: tuple[str, ...] = TRAJECTORY_FIELDS, moves: bool = True,
             expected: bool = False, totals: bool = False, final: bool = False,
             into: Rows | None = None, at: int = 0) -> Rows:
    """Run rows ``b`` (point ``point[b]``, uniforms ``uniforms[b] (T, N)``) in one compiled call.

    ``fields``: state fields recorded every month (none: ``()``); ``moves``: actions and realised
    payoffs every month; ``expected``: every candidate's expected payoff; ``totals``: per-row
    action counts and payoff sums (summaries without monthly records); ``final``: end states.
    ``into``: write the records into these (larger) arrays instead, row ``b`` at ``at + b`` (the
    ensemble driver's recorder, :meth:`alignsim.ensemble.Recorder.rows`); what it holds, not
    ``moves``/``expected``/``final``, says what is recorded, and it is returned.
    """
    spec = packed.spec
    n_b, n_t, n_n, n_a = len(point), spec.months, spec.n_actors, spec.n_actions
    point = np.ascontiguousarray(point, dtype=np.int64)
    uniforms = np.ascontiguousarray(uniforms, dtype=float)
    if uniforms.shape != (n_b, n_t, n_n):
        raise ValueError(f"uniforms must be (rows, months, actors) = {(n_b, n_t, n_n)}, "
                         f"got {uniforms.shape}")
    if n_b and (point.min() < 0 or point.max() >= packed.points):
        raise ValueError(f"point indices must be in 0..{packed.points - 1}")
    idx = ck.field_index(packed.ofs, tuple(fields))

    def arr(on: bool, shape: tuple, dtype=float) -> np.ndarray:
        return np.zeros(shape if on else (0,) * len(shape), dtype=dtype)

    rows = into if into is not None else Rows(
        states=arr(bool(fields), (n_t + 1, n_b, len(idx))), index=idx,
        actions=arr(moves, (n_t, n_b, n_n), np.int64), payoffs=arr(moves, (n_t, n_b, n_n)),
        expected=arr(expected, (n_t, n_b, n_n, n_a)),
        action_counts=arr(totals, (n_b, n_n, n_a), np.int64),
        payoff_sums=arr(totals, (n_b, n_n)), final=arr(final, (n_b, int(packed.ofs[-1]))),
    )
    if into is not None:
        rows = _check_into(into, idx, n_b, at, n_t, n_n, n_a, int(packed.ofs[-1]))
    if n_b:
        with COMPILED_LOCK:
            order, groups = ck.lane_groups(point, lane_width(n_b))
            ck._simulate(order, groups, uniforms, packed.x0, packed.params, packed.structure,
                         packed.control, packed.allowed, packed.forced, packed.spread,
                         packed.temperatures,
                         (idx, rows.states, rows.actions, rows.payoffs, rows.expected,
                          rows.action_counts, rows.payoff_sums, rows.final, int(at)))
    return rows


def _check_into(into: Rows, idx: np.ndarray, n_b: int, at: int, n_t: int, n_n: int, n_a: int,
                n_l: int) -> Rows:
    """``into`` with this call's record index, or a ValueError if the kernel could write past it.

    The kernel writes an array when its leading axis is not empty (actions with payoffs, counts
    with payoff sums), without bounds checks; so each such array must have the full shape, rows
    ``at .. at + n_b`` included. Per-row totals accumulate (``+=``): they are refused here."""
    rows = into.states.shape[1] if into.states.shape[0] else into.actions.shape[1]
    want = {"states": (n_t + 1, rows, len(idx)), "actions": (n_t, rows, n_n),
            "payoffs": (n_t, rows, n_n), "expected": (n_t, rows, n_n, n_a),
            "final": (rows, n_l)}
    if into.action_counts.shape[0] or into.payoff_sums.shape[0]:
        raise ValueError("into= takes no per-row totals (they accumulate); leave them empty")
    for name, shape in want.items():
        arr = getattr(into, name)
        writes = arr.shape[0] > 0 or (name == "payoffs" and into.actions.shape[0] > 0)
        if writes and (arr.shape != shape or not arr.flags.c_contiguous):
            raise ValueError(f"into.{name} is {arr.shape}, not {shape} (C order)")
    if at < 0 or at + n_b > rows:
        raise ValueError(f"into= holds {rows} rows: it cannot hold rows {at}..{at + n_b - 1}")
    return dataclasses.replace(into, index=idx)
