"""The ensemble driver: many replicates stepped at once through the same kernel.

Randomness: each replicate ``r`` owns a stream ``SeedSequence(seed, spawn_key=(*key, r))`` from
which it draws all its uniforms up front. A replicate's trajectory therefore depends only on the
seed, the key and its index — not on how many replicates run beside it, in which process, or in
which order; the Mesa driver draws the very same stream for the same replicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from alignsim.kernel.decisions import Memory, Valuation, uses_equilibrium
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import State, initial_state
from alignsim.kernel.step import month_step, replicate_uniforms


def equilibrium_valuation(spec: Spec) -> Valuation | None:
    """The stage game's QRE valuation if some actor plays ``equilibrium``, else ``None``.

    This is where the game layer is handed to the kernel: imported only when needed, so the other
    rules never load pygambit, and the kernel never imports the layer above it.
    """
    if not uses_equilibrium(spec):
        return None
    from alignsim.game.stage_game import qre_expected_payoffs

    return qre_expected_payoffs



@dataclass
class Trajectory:
    """Recorded run: states at ``T + 1`` dates, actions and payoffs in ``T`` months."""

    spec: Spec
    replicate_ids: np.ndarray  # (R,)
    alignment: np.ndarray  # (T+1, R, S)
    share: np.ndarray  # (T+1, R, K)
    capacity: np.ndarray  # (T+1, R, K)
    threat: np.ndarray  # (T+1, R, N)
    investment: np.ndarray  # (T+1, R, N)
    relations: np.ndarray  # (T+1, R, N, N)
    pain: np.ndarray  # (T+1, R)
    actions: np.ndarray  # (T, R, N) int
    payoffs: np.ndarray  # (T, R, N)
    expected: np.ndarray | None = None  # (T, R, N, A) expected payoffs, if kept
    extra: dict = field(default_factory=dict)

    @property
    def months(self) -> int:
        return self.actions.shape[0]

    @property
    def axis(self) -> np.ndarray:
        """The headline axis ``w_turkic - w_russian`` (``world.axis_*``), ``(T+1, R)``."""
        return self.spec.axis_of(self.alignment)


class Recorder:
    """Collects states month by month into preallocated arrays.

    The state fields are views of one block ``(T+1, R, F)`` in the compiled kernel's record
    order (:data:`alignsim.kernel.batch.TRAJECTORY_FIELDS`), so a compiled call writes its rows
    straight into them (:meth:`rows`): no second copy of a large ensemble's records."""

    FIELDS = ("alignment", "share", "capacity", "threat", "investment", "relations", "pain")

    def __init__(self, spec: Spec, replicates: int, keep_expected: bool) -> None:
        t, r = spec.months, replicates
        n, s, k, a = spec.n_actors, spec.n_spheres, spec.n_routes, spec.n_actions
        self.spec = spec
        shapes = {"alignment": (s,), "share": (k,), "capacity": (k,), "threat": (n,),
                  "investment": (n,), "relations": (n, n), "pain": ()}
        sizes = [int(np.prod(shapes[f], dtype=np.int64)) for f in self.FIELDS]
        self.block = np.empty((t + 1, r, sum(sizes)))
        start = 0
        for name, size in zip(self.FIELDS, sizes, strict=True):
            view = (self.block[:, :, start] if not shapes[name]
                    else self.block[:, :, start:start + size].reshape(t + 1, r, *shapes[name]))
            assert view.base is not None and np.shares_memory(view, self.block)
            setattr(self, name, view)
            start += size
        self.actions = np.empty((t, r, n), dtype=np.int64)
        self.payoffs = np.empty((t, r, n))
        self.expected = np.empty((t, r, n, a)) if keep_expected else None

    def rows(self):
        """These arrays as the records of a compiled call (:class:`alignsim.kernel.batch.Rows`),
        for :func:`~alignsim.kernel.batch.run_rows` to write into (``into=``, ``at=``)."""
        from alignsim.kernel.batch import TRAJECTORY_FIELDS, Rows

        if TRAJECTORY_FIELDS != self.FIELDS:  # the block's layout is the kernel's record order
            raise RuntimeError(f"Recorder.FIELDS {self.FIELDS} != {TRAJECTORY_FIELDS}")
        return Rows(states=self.block, index=np.zeros(0, np.int64), actions=self.actions,
                    payoffs=self.payoffs,
                    expected=(self.expected if self.expected is not None
                              else np.zeros((0, 0, 0, 0))),
                    action_counts=np.zeros((0, 0, 0), np.int64), payoff_sums=np.zeros((0, 0)),
                    final=np.zeros((0, 0)))

    def state(self, t: int, s: State) -> None:
        self.alignment[t] = s.alignment
        self.share[t] = s.share
        self.capacity[t] = s.capacity
        self.threat[t] = s.threat
        self.investment[t] = s.investment
        self.relations[t] = s.relations
        self.pain[t] = s.pain

    def move(self, t: int, actions: np.ndarray, u: np.ndarray, q: np.ndarray) -> None:
        self.actions[t] = actions
        self.payoffs[t] = u
        if self.expected is not None:
            self.expected[t] = q

    def absorb(self, other: Recorder, rows: slice) -> None:
        """Copy a chunk's records into replicate ``rows`` of this recorder."""
        for name in ("alignment", "share", "capacity", "threat", "investment", "relations",
                     "pain", "actions", "payoffs"):
            getattr(self, name)[:, rows] = getattr(other, name)
        if self.expected is not None:
            self.expected[:, rows] = other.expected

    def absorb_rows(self, rows, fields: tuple[str, ...], at: slice) -> None:
        """Copy a compiled call's records (:class:`alignsim.kernel.batch.Rows`) into rows ``at``."""
        start = 0
        for name in fields:
            size = int(np.prod(getattr(self, name).shape[2:], dtype=np.int64))
            block = rows.states[:, :, start:start + size]
            getattr(self, name)[:, at] = block.reshape(block.shape[:2]
                                                       + getattr(self, name).shape[2:])
            start += size
        self.actions[:, at] = rows.actions
        self.payoffs[:, at] = rows.payoffs
        if self.expected is not None:
            self.expected[:, at] = rows.expected

    def trajectory(self, replicate_ids: np.ndarray) -> Trajectory:
        return Trajectory(
            spec=self.spec,
            replicate_ids=replicate_ids,
            alignment=self.alignment,
            share=self.share,
            capacity=self.capacity,
            threat=self.threat,
            investment=self.investment,
            relations=self.relations,
            pain=self.pain,
            actions=self.actions,
            payoffs=self.payoffs,
            expected=self.expected,
        )



CHUNK = 256  # replicates per month-at-a-time step (the equilibrium rule's path)
COMPILED_CHUNK = 8192  # replicates per compiled call: a progress tick and bounded scratch


def run_ensemble(
    spec: Spec,
    replicates: int,
    seed: int,
    *,
    key: tuple[int, ...] = (),
    first_replicate: int = 0,
    keep_expected: bool = False,
    progress: bool = False,
    chunk: int = CHUNK,
) -> Trajectory:
    """Run replicates ``first_replicate .. first_replicate + replicates - 1`` together.

    Whole runs go through the compiled kernel (:func:`alignsim.kernel.batch.run_rows`), groups of
    replicates as SIMD lanes, a group per parallel iteration; a run with an ``equilibrium``
    player steps month by month (the stage game values its actions between months) in chunks of
    ``chunk``. Either way a
    replicate's trajectory depends only on the seed, the key and its index.
    """
    ids = np.arange(first_replicate, first_replicate + replicates)
    if uses_equilibrium(spec):
        return _run_stepwise(spec, ids, seed, key, keep_expected, progress, chunk)
    return _run_compiled(spec, ids, seed, key, keep_expected, progress)


def _run_compiled(spec: Spec, ids: np.ndarray, seed: int, key: tuple[int, ...],
                  keep_expected: bool, progress: bool) -> Trajectory:
    from alignsim.kernel.batch import TRAJECTORY_FIELDS, pack, run_rows

    packed = pack([spec])
    rec = Recorder(spec, len(ids), keep_expected)
    into = rec.rows()
    starts = range(0, len(ids), COMPILED_CHUNK)
    bar = _bar(progress, len(ids), "replicates", f"{len(ids)} replicates")
    for lo in starts:
        part = ids[lo:lo + COMPILED_CHUNK]
        u = replicate_uniforms(seed, part.tolist(), spec.months, spec.n_actors, key)
        run_rows(packed, np.zeros(len(part), np.int64), u, fields=TRAJECTORY_FIELDS,
                 expected=keep_expected, into=into, at=lo)
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.close()
    return rec.trajectory(ids)


def _bar(progress: bool, total: int, unit: str, desc: str):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def _run_stepwise(spec: Spec, ids: np.ndarray, seed: int, key: tuple[int, ...],
                  keep_expected: bool, progress: bool, chunk: int) -> Trajectory:
    replicates = len(ids)
    rec = Recorder(spec, replicates, keep_expected)
    equilibrium = equilibrium_valuation(spec)
    starts = range(0, replicates, max(int(chunk), 1))
    bar = _bar(progress, spec.months * len(starts), "month", f"{replicates} replicates")
    for lo in starts:
        hi = min(lo + chunk, replicates)
        part = ids[lo:hi]
        uniforms = replicate_uniforms(seed, part.tolist(), spec.months, spec.n_actors, key)
        state = initial_state(spec, len(part))
        memory = Memory.initial(spec, len(part))
        sub = Recorder(spec, len(part), keep_expected)
        sub.state(0, state)
        for t in range(spec.months):
            state, memory, actions, realised, q = month_step(
                state, memory, spec, t, uniforms[:, t], equilibrium
            )
            sub.state(t + 1, state)
            sub.move(t, actions, realised, q)
            if bar is not None:
                bar.update(1)
        rec.absorb(sub, slice(lo, hi))
    if bar is not None:
        bar.close()
    return rec.trajectory(ids)


@dataclass(frozen=True)
class PointRun:
    """One parameter point of a batched call: its Spec and which replicate streams it runs."""

    spec: Spec
    replicates: int
    key: tuple[int, ...] = ()
    first_replicate: int = 0


MAX_ROWS = 4096  # rows (points x replicates) per compiled call of a sweep: bounds the records


def run_points(points: list[PointRun], seed: int, *, max_rows: int = MAX_ROWS,
               errors: str = "raise"):
    """Run many parameter points through the compiled kernel, several points per call.

    Points sharing a structure (:func:`alignsim.kernel.batch.pack`) are stacked on the batch
    axis, ``max_rows`` rows at most per call (a point of more replicates runs alone), so the
    records held at any time do not grow with the sweep. Yields ``(index, Trajectory)`` as each
    call finishes (in call order); each point's trajectory equals ``run_ensemble(spec,
    replicates, seed, key=key, first_replicate=...)`` bit for bit, whatever shares its call, and
    carries its share of the call's time in ``extra["simulate_s"]``. ``errors="yield"``: a call
    that fails yields ``(index, exception)`` for each of its points and the others go on.
    """
    from alignsim.kernel.batch import _structure_key

    groups: dict[str, list[int]] = {}
    for n, p in enumerate(points):
        if uses_equilibrium(p.spec):
            groups.setdefault(f"stepwise-{n}", []).append(n)
        else:
            groups.setdefault(repr(_structure_key(p.spec)), []).append(n)
    for name, members in groups.items():
        calls = [members] if name.startswith("stepwise-") else _calls(members, points, max_rows)
        for call in calls:
            try:
                done = list(_stepwise(call[0], points, seed) if name.startswith("stepwise-")
                            else _run_call(call, points, seed))
            except Exception as exc:
                if errors != "yield":
                    raise
                done = [(n, exc) for n in call]
            yield from done


def _stepwise(n: int, points: list[PointRun], seed: int):
    """A point with an ``equilibrium`` player, stepped month by month (run alone)."""
    p = points[n]
    t0 = time.perf_counter()
    traj = run_ensemble(p.spec, p.replicates, seed, key=p.key, first_replicate=p.first_replicate)
    traj.extra["simulate_s"] = time.perf_counter() - t0
    yield n, traj


def _calls(members: list[int], points: list[PointRun], max_rows: int) -> list[list[int]]:
    """Consecutive points, at most ``max_rows`` rows a call (a larger point alone)."""
    calls: list[list[int]] = []
    rows = 0
    for n in members:
        if calls and rows + points[n].replicates <= max_rows:
            calls[-1].append(n)
            rows += points[n].replicates
        else:
            calls.append([n])
            rows = points[n].replicates
    return calls


def _run_call(call: list[int], points: list[PointRun], seed: int):
    from alignsim.kernel.batch import TRAJECTORY_FIELDS, pack, run_rows

    packed = pack([points[n].spec for n in call])
    spec = packed.spec
    ids = [np.arange(points[n].first_replicate, points[n].first_replicate + points[n].replicates)
           for n in call]
    drawn: dict[tuple, np.ndarray] = {}  # common random numbers: points share their streams
    for n in call:
        p = points[n]
        at = (p.key, p.first_replicate, p.replicates)
        if at not in drawn:
            drawn[at] = replicate_uniforms(seed, range(p.first_replicate,
                                                       p.first_replicate + p.replicates),
                                           spec.months, spec.n_actors, p.key)
    u = np.concatenate([drawn[(points[n].key, points[n].first_replicate, points[n].replicates)]
                        for n in call])
    where = np.repeat(np.arange(len(call)), [len(i) for i in ids])
    t0 = time.perf_counter()
    rows = run_rows(packed, where, u)
    spent = time.perf_counter() - t0
    lo = 0
    for j, n in enumerate(call):
        hi = lo + len(ids[j])
        rec = Recorder(points[n].spec, hi - lo, keep_expected=False)
        sub = _slice_rows(rows, slice(lo, hi))
        rec.absorb_rows(sub, TRAJECTORY_FIELDS, slice(0, hi - lo))
        traj = rec.trajectory(ids[j])
        traj.extra["simulate_s"] = spent * (hi - lo) / max(len(where), 1)  # its rows' share
        yield n, traj
        lo = hi


def _slice_rows(rows, at: slice):
    """Rows ``at`` of a call's records (only the monthly ones: a sweep asks for no others)."""
    from alignsim.kernel.batch import Rows

    assert rows.expected.size == rows.action_counts.size == rows.final.size == 0
    return Rows(states=rows.states[:, at], index=rows.index, actions=rows.actions[:, at],
                payoffs=rows.payoffs[:, at], expected=rows.expected,
                action_counts=rows.action_counts, payoff_sums=rows.payoff_sums, final=rows.final)
