"""Counterfactual attribution: how much of the axis drift each event of a scenario made.

Why Shapley values: the events of a scenario interact (the CPC halt teaches a threat that the
June refusal provoked; the shoot-down's rift slows every later move), so "the drift with the event
minus the drift without it" depends on which other events happened. The Shapley value of event
``e`` at date ``d`` averages that difference over every set of other events, weighted as over all
orders in which the events could be added::

    phi_e(d) = sum_{S ⊆ E∖{e}} |S|! (|E|−|S|−1)! / |E|!  · (v(S ∪ {e}, d) − v(S, d))

where ``v(S, d)`` is the axis drift (``w_turkic − w_russian`` at ``d`` minus at the start) of the
scenario with only the events of ``S``. The values add up exactly to ``v(E, d) − v(∅, d)`` (the
``total`` row: the scenario minus the scenario without its events).

**What an event is**: one entry of ``scenario.events`` — its shocks *and* the moves it forces
(the June 2022 refusal, the July halt). Dropping an event drops both; the actor whose move was
forced then chooses freely that month, as in every other month. ``events=`` restricts the
players to some events; the others then stay in every counterfactual (background).

**Paired replicates**: replicate ``r`` of every counterfactual draws the same stream
``SeedSequence(seed, spawn_key=(r,))`` (as :func:`alignsim.ensemble.run_ensemble`), so the
per-replicate differences, and hence the per-replicate Shapley values, carry no between-run
sampling noise. Each replicate's Shapley values are exact and add up to that replicate's total;
the 95 % intervals are percentile bootstraps of their mean over replicates.

**Cost**: exact Shapley values need all ``2^E`` subsets. They are run as a tree over months:
months before an event's date are shared by the subsets that agree on the earlier events, and
the subsets alive in a month are stepped together as one batch (:func:`coalition_axes`), so the
work is ``sum_t (branches alive at t) × R`` replicate-months. Above ``max_exact`` events the
values are estimated from random orders (permutation sampling; still exactly efficient per
order), with their sampling standard error stated.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.ensemble import CHUNK, equilibrium_valuation
from alignsim.kernel.calendar import Month, parse_month
from alignsim.kernel.decisions import Memory
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, Spec, compile_spec
from alignsim.kernel.state import State, initial_state
from alignsim.kernel.step import month_step, replicate_uniforms

PROG = "alignsim-attribute"
END = "end"  # the date word for the run's last month


# ------------------------------------------------------------------------------- settings
@dataclass
class AttributionConf:
    """Run settings of the attribution (``conf/attribution/<name>.yaml``)."""

    name: str = "default"
    dates: list[str] = field(default_factory=lambda: ["2022-12", "2024-12", END])
    events: list[str] = field(default_factory=list)  # players; empty: every event
    replicates: int = 40
    months: int = 48
    level: float = 0.95
    bootstrap: int = 2000
    bootstrap_seed: int = 1
    max_exact: int = 14
    permutations: int = 256
    permutation_seed: int = 1
    max_rows: int = 16384


# --------------------------------------------------------------------------------- events
@dataclass(frozen=True)
class ScenarioEvent:
    """One event of the scenario: its place in ``scenario.events``, its name and month."""

    index: int
    name: str
    month: Month
    t: int  # month index from the start: the event acts during step t (state t -> t + 1)


def scenario_events(config: Config) -> list[ScenarioEvent]:
    """The scenario's events in config order (names default to ``event <j>``, as the compiler)."""
    start = parse_month(config.scenario.start)
    out = []
    for j, ev in enumerate(config.scenario.events):
        try:
            m = parse_month(ev.date)
        except ValueError as exc:
            raise ConfigError(f"scenario.events[{j}].date", str(exc)) from None
        out.append(ScenarioEvent(j, ev.name or f"event {j}", m, m.index_from(start)))
    return out


def select_players(events: Sequence[ScenarioEvent], names: Sequence[str]) -> list[int]:
    """Indices of the named events (all when ``names`` is empty); unknown names are refused."""
    if not names:
        return [e.index for e in events]
    have = [e.name for e in events]
    out = []
    for n in names:
        if n not in have:
            raise ConfigError("events", f"unknown event {n!r}; allowed: {', '.join(have)}")
        if have.index(n) not in out:
            out.append(have.index(n))
    return out


def with_events(config: Config, indices: Sequence[int]) -> Config:
    """A copy of ``config`` whose scenario keeps only the events at ``indices`` (config order)."""
    keep = set(indices)
    events = [ev for j, ev in enumerate(config.scenario.events) if j in keep]
    return dataclasses.replace(config, scenario=dataclasses.replace(config.scenario,
                                                                    events=events))


@dataclass(frozen=True)
class EventRows:
    """Every event compiled on its own: its month, shock vector and forced-move row.

    A counterfactual's spec for month ``t`` is the no-event spec with row ``t`` rebuilt from the
    events of ``t`` that are on, added in config order exactly as :func:`compile_spec` adds them
    (so the all-events and no-events counterfactuals are the compiled scenarios, bit for bit).
    """

    base: Spec
    events: tuple[ScenarioEvent, ...]
    players: tuple[int, ...]  # indices into ``events`` of the attributed events
    effects: np.ndarray  # (E_all, D)
    forced: np.ndarray  # (E_all, N)

    def month_spec(self, t: int, on: Sequence[int]) -> Spec:
        """The spec to step month ``t`` with, the player events ``on`` (indices) switched on."""
        here = [e for e in self.events if e.t == t and (e.index not in self.players
                                                        or e.index in on)]
        if not here:
            return self.base
        effects = self.base.event_effects.copy()
        forced = self.base.forced.copy()
        row, frow = np.zeros(effects.shape[1]), np.full(forced.shape[1], -1, dtype=np.int64)
        for e in here:  # config order, as the compiler
            row += self.effects[e.index]
            frow = np.where(self.forced[e.index] >= 0, self.forced[e.index], frow)
        effects[t], forced[t] = row, frow
        return dataclasses.replace(self.base, event_effects=effects, forced=forced)


def compile_event_rows(config: Config, players: Sequence[int]) -> EventRows:
    """Compile the no-event spec and each event alone (a few ms each)."""
    compile_spec(config)  # the scenario as a whole first: its errors name its own keys
    events = tuple(scenario_events(config))
    base = compile_spec(with_events(config, []))
    effects = np.zeros((len(events), base.layout.size))
    forced = np.full((len(events), base.n_actors), -1, dtype=np.int64)
    for e in events:
        try:
            spec = compile_spec(with_events(config, [e.index]))
        except ConfigError as exc:  # name the event's key in the full scenario
            key = exc.key.replace("scenario.events[0]", f"scenario.events[{e.index}]")
            raise ConfigError(key, exc.message) from None
        effects[e.index] = spec.event_effects[e.t]
        forced[e.index] = spec.forced[e.t]
    return EventRows(base, events, tuple(players), effects, forced)


# --------------------------------------------------------------------- the counterfactuals
def _stack(parts: Sequence[tuple[np.ndarray, Any]], n: int, make: Callable[..., Any]) -> Any:
    """Reassemble row groups ``(rows, State|Memory)`` into one object of ``n`` rows."""
    names = [f.name for f in dataclasses.fields(parts[0][1])]
    out = {}
    for name in names:
        first = getattr(parts[0][1], name)
        arr = np.empty((n, *first.shape[1:]), dtype=first.dtype)
        for rows, obj in parts:
            arr[rows] = getattr(obj, name)
        out[name] = arr
    return make(**out)


@dataclass
class _Frontier:
    """The branches alive at a month: each a set of coalitions agreeing on the events so far."""

    groups: list[np.ndarray]  # per branch: indices of its coalitions
    state: State  # rows branch-major: branch b holds rows b*R .. (b+1)*R - 1
    memory: Memory


def branch_months(coalitions: np.ndarray, months_of_players: Sequence[int], months: int) -> int:
    """Branch-months the tree runs (replicate-months / R): the cost of :func:`coalition_axes`."""
    total = 0
    order = np.asarray(months_of_players)
    for t in range(months):
        cols = np.flatnonzero(order <= t)
        total += len(np.unique(coalitions[:, cols], axis=0)) if len(cols) else 1
    return total


def coalition_axes(
    rows: EventRows,
    coalitions: np.ndarray,
    read_at: Sequence[int],
    replicates: int,
    seed: int,
    *,
    max_rows: int = 16384,
    chunk: int = CHUNK,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """The headline axis ``(C, len(read_at), R)`` of each counterfactual at the state indices
    ``read_at``; coalition ``c`` switches on the players where ``coalitions[c]`` is True.

    Replicate ``r`` of every counterfactual uses the stream of replicate ``r``, as
    :func:`alignsim.ensemble.run_ensemble` does, so its trajectories are those of separate
    ``run_ensemble`` calls on the counterfactual scenarios (paired replicates). Branches are
    split depth-first when a batch would exceed ``max_rows`` rows (memory stays bounded).
    """
    spec, r = rows.base, int(replicates)
    coalitions = np.asarray(coalitions, dtype=bool)
    out = np.full((len(coalitions), len(read_at), r), np.nan)
    where = {int(t): k for k, t in enumerate(read_at)}
    uniforms = replicate_uniforms(seed, list(range(r)), spec.months, spec.n_actors)
    equilibrium = equilibrium_valuation(spec)
    player_t = {p: rows.events[p].t for p in rows.players}
    start = _Frontier([np.arange(len(coalitions))], initial_state(spec, r),
                      Memory.initial(spec, r))
    col_of = {p: j for j, p in enumerate(rows.players)}

    def record(f: _Frontier, t: int) -> None:
        if t in where:
            axis = spec.axis_of(f.state.alignment).reshape(len(f.groups), r)
            for b, g in enumerate(f.groups):
                out[g, where[t], :] = axis[b]

    def split(f: _Frontier, t: int) -> _Frontier:
        now = [p for p in rows.players if player_t[p] == t]
        if not now:
            return f
        cols = [col_of[p] for p in now]
        groups, take = [], []
        for b, g in enumerate(f.groups):
            keys = coalitions[np.ix_(g, cols)]
            for key in np.unique(keys, axis=0):
                groups.append(g[(keys == key).all(axis=1)])
                take.append(np.arange(b * r, (b + 1) * r))
        idx = np.concatenate(take)
        return _Frontier(groups, f.state.take(idx), f.memory.take(idx))

    def step(f: _Frontier, t: int) -> _Frontier:
        now = [p for p in rows.players if player_t[p] == t]
        variants: dict[tuple[int, ...], list[int]] = {}
        for b, g in enumerate(f.groups):
            on = tuple(p for p in now if coalitions[g[0], col_of[p]])
            variants.setdefault(on, []).append(b)
        n = len(f.groups) * r
        s_parts, m_parts = [], []
        for on, branches in variants.items():
            vspec = rows.month_spec(t, on)
            idx = np.concatenate([np.arange(b * r, (b + 1) * r) for b in branches])
            for lo in range(0, len(idx), chunk):
                part = idx[lo: lo + chunk]
                s, m, *_ = month_step(f.state.take(part), f.memory.take(part), vspec, t,
                                      uniforms[part % r, t], equilibrium)
                s_parts.append((part, s))
                m_parts.append((part, m))
        if progress is not None:
            progress(len(f.groups))
        return _Frontier(f.groups, _stack(s_parts, n, State), _stack(m_parts, n, Memory))

    def play(f: _Frontier, t0: int) -> None:
        for t in range(t0, spec.months):
            record(f, t)
            f = split(f, t)
            if len(f.groups) * r > max_rows and len(f.groups) > 1:
                half = len(f.groups) // 2
                for part in (slice(0, half), slice(half, None)):
                    bs = range(len(f.groups))[part]
                    idx = np.concatenate([np.arange(b * r, (b + 1) * r) for b in bs])
                    play_from(_Frontier(f.groups[part], f.state.take(idx), f.memory.take(idx)),
                              t)
                return
            f = step(f, t)
        record(f, spec.months)

    def play_from(f: _Frontier, t: int) -> None:
        """Continue a frontier already split at month ``t``: step it, then play on."""
        if len(f.groups) * r > max_rows and len(f.groups) > 1:
            half = len(f.groups) // 2
            for part in (slice(0, half), slice(half, None)):
                bs = range(len(f.groups))[part]
                idx = np.concatenate([np.arange(b * r, (b + 1) * r) for b in bs])
                play_from(_Frontier(f.groups[part], f.state.take(idx), f.memory.take(idx)), t)
            return
        play(step(f, t), t + 1)

    play(start, 0)
    return out


# ------------------------------------------------------------------------ Shapley values
def all_coalitions(n: int) -> np.ndarray:
    """The ``2^n`` subsets of ``n`` players as rows of booleans; row ``k`` is bitmask ``k``."""
    k = np.arange(2**n)[:, None]
    return ((k >> np.arange(n)[None, :]) & 1).astype(bool)


def shapley_exact(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values ``(E, ...)`` from the values ``(2^E, ...)`` of every subset
    (row ``k`` = bitmask ``k``, as :func:`all_coalitions`)."""
    c = values.shape[0]
    e = round(math.log2(c))
    if 2**e != c:
        raise ValueError(f"need 2^E subset values, got {c}")
    masks = np.arange(c)
    sizes = np.array([bin(m).count("1") for m in masks])
    weight = np.array([math.factorial(s) * math.factorial(e - s - 1) / math.factorial(e)
                       if s < e else 0.0 for s in range(e + 1)])
    out = np.zeros((e, *values.shape[1:]))
    for j in range(e):
        without = masks[(masks >> j) & 1 == 0]
        w = weight[sizes[without]].reshape(-1, *([1] * (values.ndim - 1)))
        out[j] = (w * (values[without | (1 << j)] - values[without])).sum(axis=0)
    return out


def permutation_coalitions(n: int, orders: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct coalitions along the orders ``(M, n)`` and, per order, the index of the
    coalition after each step ``(M, n + 1)`` (column 0: the empty set)."""
    m = len(orders)
    chains = np.zeros((m, n + 1, n), dtype=bool)
    for k in range(1, n + 1):
        chains[:, k] = chains[:, k - 1]
        chains[np.arange(m), k, orders[:, k - 1]] = True
    unique, inverse = np.unique(chains.reshape(-1, n), axis=0, return_inverse=True)
    return unique, inverse.reshape(m, n + 1)


def shapley_sampled(values: np.ndarray, orders: np.ndarray,
                    chain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Permutation estimates ``(E, ...)`` and, per order, the marginal contributions
    ``(M, E, ...)`` (their spread over orders is the sampling error)."""
    m, n = orders.shape
    marg = np.zeros((m, n, *values.shape[1:]))
    for k in range(n):
        gain = values[chain[:, k + 1]] - values[chain[:, k]]
        marg[np.arange(m), orders[:, k]] = gain
    return marg.mean(axis=0), marg


# ------------------------------------------------------------------------------ the result
@dataclass(frozen=True)
class Reading:
    """A date the attribution reads: its label (``YYYY-MM``) and its state index."""

    label: str
    index: int


def parse_dates(words: Sequence[str], start: Month, months: int) -> list[Reading]:
    """``YYYY-MM`` (end of that month) or ``end``; refused outside the run, duplicates merged."""
    out: list[Reading] = []
    last = start.plus(months - 1)
    for w in words:
        w = str(w).strip()
        if w == END:
            m = last
        else:
            try:
                m = parse_month(w)
            except ValueError as exc:
                raise ConfigError("dates", f"{exc}, or {END!r}") from None
        t = m.index_from(start) + 1
        if not 1 <= t <= months:
            raise ConfigError("dates", f"{w!r} is outside the run; allowed: {start} to {last} "
                                       f"or {END!r} (months={months})")
        if all(r.index != t for r in out):
            out.append(Reading(str(m), t))
    if not out:
        raise ConfigError("dates", f"at least one date is required (YYYY-MM or {END!r})")
    return out


@dataclass
class Attribution:
    """Per-replicate Shapley values of the players at each date, and what they add up to."""

    scenario: str
    events: tuple[ScenarioEvent, ...]  # the players, in date order
    dates: tuple[Reading, ...]
    phi: np.ndarray  # (E, D, R) per-replicate Shapley values of the drift
    drift_all: np.ndarray  # (D, R) drift of the scenario (every event on)
    drift_none: np.ndarray  # (D, R) drift with no player event
    method: str  # "exact" or "sampled"
    coalitions: int
    replicates: int
    seed: int
    elapsed_s: float
    branch_months: int
    start: Month
    months: int
    sampling_se: np.ndarray | None = None  # (E, D), sampled only
    background: tuple[str, ...] = ()

    @property
    def total(self) -> np.ndarray:
        """``(D, R)``: the scenario minus the scenario without its (player) events."""
        return self.drift_all - self.drift_none

    @property
    def replicate_months(self) -> int:
        return self.branch_months * self.replicates

    def values(self, event: str, date: str) -> np.ndarray:
        """Per-replicate contributions ``(R,)`` of ``event`` at ``date`` (``total`` too)."""
        d = [r.label for r in self.dates].index(date)
        if event == "total":
            return self.total[d]
        return self.phi[[e.name for e in self.events].index(event), d]


def attribute(config: Config, conf: AttributionConf, *, extra_dates: Sequence[str] = (),
              progress: bool = False) -> Attribution:
    """Shapley values of the scenario's events (``conf.events``, default all) to the drift at
    ``conf.dates`` (plus ``extra_dates``, e.g. the causal patterns' dates)."""
    t0 = time.perf_counter()
    events = scenario_events(config)
    players = sorted(select_players(events, conf.events), key=lambda j: (events[j].t, j))
    start = parse_month(config.scenario.start)
    dates = parse_dates([*conf.dates, *extra_dates], start, int(config.months))
    rows = compile_event_rows(config, players)
    n = len(players)
    read_at = [0, *[d.index for d in dates]]
    orders = chain = None
    if n <= conf.max_exact:
        coalitions, method = all_coalitions(n), "exact"
    else:
        rng = np.random.default_rng(conf.permutation_seed)
        orders = np.array([rng.permutation(n) for _ in range(conf.permutations)])
        coalitions, chain = permutation_coalitions(n, orders)
        method = "sampled"
    cost = branch_months(coalitions, [events[p].t for p in players], int(config.months))
    bar = _bar(progress, cost, config.replicates)
    axes = coalition_axes(rows, coalitions, read_at, int(config.replicates), int(config.seed),
                          max_rows=conf.max_rows, progress=bar.update if bar else None)
    if bar is not None:
        bar.close()
    drift = axes[:, 1:, :] - axes[:, :1, :]  # (C, D, R)
    full = np.flatnonzero(coalitions.all(axis=1))[0]
    empty = np.flatnonzero(~coalitions.any(axis=1))[0]
    se = None
    if method == "exact":
        phi = shapley_exact(drift)
    else:
        phi, marg = shapley_sampled(drift, orders, chain)
        se = marg.mean(axis=-1).std(axis=0, ddof=1) / np.sqrt(len(orders))
    bg = tuple(e.name for e in events if e.index not in players)
    return Attribution(
        scenario=str(config.scenario.name), events=tuple(events[p] for p in players),
        dates=tuple(dates), phi=phi, drift_all=drift[full], drift_none=drift[empty],
        method=method, coalitions=len(coalitions), replicates=int(config.replicates),
        seed=int(config.seed), elapsed_s=time.perf_counter() - t0, branch_months=cost,
        start=start, months=int(config.months), sampling_se=se, background=bg,
    )


def _bar(on: bool, cost: int, replicates: int):
    if not on:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=cost, desc=f"counterfactuals × {replicates} replicates",
                unit="branch-month", leave=False, file=sys.stderr)


# -------------------------------------------------------------------------------- tables
def bootstrap_interval(values: np.ndarray, level: float, draws: int,
                       seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap of the mean over the last axis (replicates), ``(lo, hi)``.

    The same resampled replicates for every row, so the rows' bootstrap means add up as the
    rows do (a replicate's Shapley values are resampled together).
    """
    r = values.shape[-1]
    idx = np.random.default_rng(seed).integers(0, r, size=(draws, r))
    means = values[..., idx].mean(axis=-1)  # (..., draws)
    a = (1.0 - level) / 2.0
    return np.quantile(means, a, axis=-1), np.quantile(means, 1.0 - a, axis=-1)


def attribution_frame(a: Attribution, conf: AttributionConf, dates: Sequence[str] | None = None):
    """The table: one row per event (date order) and a ``total`` row; for each date its mean
    contribution and the bootstrap interval (``contribution_<date>``, ``ci_low_<date>``,
    ``ci_high_<date>``)."""
    import pandas as pd

    labels = [d.label for d in a.dates] if dates is None else list(dates)
    cols = [[d.label for d in a.dates].index(x) for x in labels]
    stacked = np.concatenate([a.phi[:, cols], a.total[None, cols]], axis=0)  # (E+1, D, R)
    lo, hi = bootstrap_interval(stacked, conf.level, conf.bootstrap, conf.bootstrap_seed)
    mean = stacked.mean(axis=-1)
    data: dict[str, list] = {"event": [e.name for e in a.events] + ["total"],
                             "date": [str(e.month) for e in a.events] + [""]}
    for k, label in enumerate(labels):
        data[f"contribution_{label}"] = list(mean[:, k])
        data[f"ci_low_{label}"] = list(lo[:, k])
        data[f"ci_high_{label}"] = list(hi[:, k])
        if a.sampling_se is not None:
            data[f"sampling_se_{label}"] = [*a.sampling_se[:, cols[k]], 0.0]
    return pd.DataFrame(data)


def format_table(frame, dates: Sequence[str]) -> str:
    """The table as fixed-width text: contribution [95 % interval] per date."""
    head = f"{'event':<36} {'date':<8}" + "".join(f"{d:>28}" for d in dates)
    lines = [head, "-" * len(head)]
    for _, row in frame.iterrows():
        cells = "".join(
            f"{row[f'contribution_{d}']:+.4f} [{row[f'ci_low_{d}']:+.4f}, "
            f"{row[f'ci_high_{d}']:+.4f}]".rjust(28) for d in dates)
        if row["event"] == "total":
            lines.append("-" * len(head))
        lines.append(f"{row['event'][:36]:<36} {row['date']:<8}{cells}")
    return "\n".join(lines)


def replicate_frame(a: Attribution):
    """Per-replicate values in long form: event, date, replicate, contribution (and the
    scenario's and the no-event drift as rows ``scenario`` and ``no_events``)."""
    import pandas as pd

    names = [e.name for e in a.events] + ["total", "scenario", "no_events"]
    stacked = np.concatenate([a.phi, a.total[None], a.drift_all[None], a.drift_none[None]])
    e, d, r = np.indices(stacked.shape)
    return pd.DataFrame({
        "event": np.array(names)[e.ravel()],
        "date": np.array([x.label for x in a.dates])[d.ravel()],
        "replicate": r.ravel(),
        "contribution": stacked.ravel(),
    })


# -------------------------------------------------------------------------------- figure
def waterfall_figure(frame, a: Attribution, dates: Sequence[str]):
    """One waterfall per date: the no-event drift, each event's contribution (with its 95 %
    interval) stacked in date order, and the scenario's drift at the end."""
    from alignsim.plots import theme

    plt, _ = theme("notebook")
    fig, axes = plt.subplots(1, len(dates), figsize=(5.2 * len(dates), 0.42 * len(frame) + 2.6),
                             sharey=True, layout="constrained", squeeze=False)
    names = ["no events", *frame["event"][:-1], "scenario"]
    for ax, label in zip(axes[0], dates, strict=True):
        d = [x.label for x in a.dates].index(label)
        base = float(a.drift_none[d].mean())
        contrib = frame[f"contribution_{label}"].to_numpy()[:-1]
        lo = frame[f"ci_low_{label}"].to_numpy()[:-1]
        hi = frame[f"ci_high_{label}"].to_numpy()[:-1]
        left = base + np.concatenate([[0.0], np.cumsum(contrib)[:-1]])
        y = np.arange(len(names))
        ax.barh(y[0], base, color="0.6")
        colors = np.where(contrib >= 0, "C2", "C3")
        ax.barh(y[1:-1], contrib, left=left, color=colors)
        ax.errorbar(left + contrib, y[1:-1], xerr=[contrib - lo, hi - contrib], fmt="none",
                    ecolor="0.2", lw=1, capsize=2)
        ax.barh(y[-1], float(a.drift_all[d].mean()), color="C0")
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"drift to end of {label}", fontsize=10)
        ax.set_xlabel("axis change (w_turkic − w_russian)")
    fig.suptitle(f"Shapley attribution of the drift, scenario {a.scenario} ({a.method}, "
                 f"{a.replicates} paired replicates; green toward Turkic, red toward Russian; "
                 f"bars ± 95 % interval)", fontsize=10)
    return fig


# ----------------------------------------------------------------------- causal patterns
def check_causal(a: Attribution, vconf) -> list:
    """The causal patterns of the validation config (``causal:``) on this attribution; a
    pattern whose event is not a player here is reported as not applicable."""
    from alignsim.validation.patterns import evaluate_contribution

    return [evaluate_contribution(a, name, conf) for name, conf in vconf.causal.items()]


# ---------------------------------------------------------------------------------- CLI
def load_attribution(name: str = "default", overrides: Sequence[str] = ()) -> AttributionConf:
    """``conf/attribution/<name>.yaml`` in the typed schema, with ``KEY=VALUE`` overrides."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from alignsim.config import conf_dir

    folder = conf_dir() / "attribution"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError("attribution", f"no config {name!r}; allowed: {', '.join(have)}")
    try:
        merged = OmegaConf.merge(OmegaConf.structured(AttributionConf), OmegaConf.load(path))
        for item in overrides:
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"attribution.{item}", "expected KEY=VALUE")
            merged = OmegaConf.merge(merged, OmegaConf.from_dotlist([f"{key}={value}"]))
        conf = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        msg = str(getattr(exc, "msg", exc)).splitlines()[0]
        raise ConfigError(f"attribution.{key}", msg) from None
    assert isinstance(conf, AttributionConf)
    _check_conf(conf)
    return conf


def _check_conf(c: AttributionConf) -> None:
    checks = [("replicates", c.replicates >= 2, ">= 2 (intervals need a spread)"),
              ("months", c.months >= 1, ">= 1"), ("level", 0.0 < c.level < 1.0, "in (0, 1)"),
              ("bootstrap", c.bootstrap >= 100, ">= 100"),
              ("max_exact", 1 <= c.max_exact <= 20, "in 1 .. 20 (2^20 subsets)"),
              ("permutations", c.permutations >= 2, ">= 2"),
              ("max_rows", c.max_rows >= 1, ">= 1")]
    for key, ok, allowed in checks:
        if not ok:
            raise ConfigError(f"attribution.{key}", f"must be {allowed}, got {getattr(c, key)}")


def _tool():
    from alignsim.tools import Option, Tool, out_option

    return Tool(
        prog=PROG,
        summary="""Counterfactual attribution: each event's Shapley value in the Russian–Turkic
        axis drift of a scenario (default history) at chosen dates (default end 2022, end 2024,
        the run's end), exact over all subsets of events (sampled orders above max_exact), with
        paired replicates (common random numbers) and 95 % bootstrap intervals over replicates;
        a total row (scenario minus no events) that the events sum to. Checks the causal
        patterns of conf/validation/ (causal:). Writes attribution.csv, attribution.parquet
        (per replicate), attribution.json and attribution.png.""",
        options=(
            out_option("the output folder (default outputs/attribute/<date>/<time>/)"),
            Option("dates", "LIST", "comma-separated dates YYYY-MM (end of that month) or "
                   "'end' (the run's last month), e.g. dates=2022-12,2025-03,end"),
            Option("events", "LIST", "the events to attribute, by name, separated by '|' "
                   "(default: all; the others stay in every counterfactual)"),
            Option("attribution", "NAME", "run settings: conf/attribution/NAME.yaml (default: "
                   "default), and attribution.KEY=VALUE overrides, e.g. "
                   "attribution.bootstrap=5000", prefix=True),
            Option("validation", "NAME", "the causal patterns: conf/validation/NAME.yaml "
                   "(causal:), and validation.KEY=VALUE overrides", prefix=True),
        ),
        examples=(f"{PROG} payoffs=calibrated --out outputs/attribution",
                  f"{PROG} 'events=Invasion of Ukraine|CPC halt' dates=2024-12 replicates=20"),
    )


def main(argv: Sequence[str] | None = None) -> None:
    """``alignsim-attribute``: attribute, check the causal patterns, print, write."""
    from alignsim.tools import tool_main

    tool_main(_tool(), argv, _run)


def inputs(args) -> tuple[AttributionConf, Any, list[str]]:
    """The run settings, the validation config (causal patterns) and the model overrides
    (``replicates``/``months`` from the attribution settings unless given)."""
    from alignsim.tools import has_override
    from alignsim.validation.patterns import load_validation

    extra = list(args.lists.get("attribution", []))
    if "dates" in args.values:
        extra.append(f"dates=[{','.join(_split(args.values['dates'], ','))}]")
    conf = load_attribution(args.get("attribution", "default"), extra)
    if "events" in args.values:
        conf.events = _split(args.values["events"], "|")
    vconf = load_validation(args.get("validation", "default"), args.lists.get("validation", []))
    overrides = list(args.hydra)
    for key in ("months", "replicates"):
        if not has_override(overrides, key):
            overrides.insert(0, f"{key}={getattr(conf, key)}")
    return conf, vconf, overrides


def _split(text: str, sep: str) -> list[str]:
    return [w.strip() for w in text.split(sep) if w.strip()]


def _within(date: str, config: Config) -> bool:
    """Whether ``YYYY-MM`` lies inside the run (a causal pattern's date outside it is n/a)."""
    try:
        t = parse_month(date).index_from(parse_month(str(config.scenario.start))) + 1
    except (ValueError, TypeError, AttributeError):
        return True  # let parse_dates name the bad date
    return 1 <= t <= int(config.months)


def _run(args) -> None:
    from datetime import datetime

    from omegaconf import OmegaConf

    from alignsim.config import compose_dictconfig, to_config

    conf, vconf, overrides = inputs(args)
    dcfg = compose_dictconfig(overrides)
    config = to_config(dcfg)
    if int(config.replicates) < 2:  # a Hydra `replicates=` wins over attribution.replicates
        raise ConfigError("replicates", f"must be >= 2 (intervals need a spread), got "
                                        f"{config.replicates}")
    extra = sorted({str(p.args.get("at", "")) for p in vconf.causal.values()} - {""})
    extra = [d for d in extra if _within(d, config)]  # a pattern dated after the run is n/a
    a = attribute(config, conf, extra_dates=extra, progress=bool(config.progress))
    causal = check_causal(a, vconf)
    stamp = datetime.now().strftime("%Y-%m-%d/%H-%M-%S")
    out_dir = Path(args.get("out") or f"outputs/attribute/{stamp}")
    meta = {"command": [PROG, *args.words], "attribution": dataclasses.asdict(conf),
            "config": OmegaConf.to_container(dcfg, resolve=True)}
    frame, files = write_outputs(a, conf, causal, out_dir, meta, config)
    labels = requested_labels(a, conf)
    print(format_table(frame, labels))
    print(f"\n{summary_line(a)}")
    if causal:
        print("\ncausal patterns:")
        for c in causal:
            print(f"  {c.line()}")
    print("wrote " + ", ".join(files.values()))


def requested_labels(a: Attribution, conf: AttributionConf) -> list[str]:
    """The labels of the dates asked for (not the causal patterns' extra dates)."""
    return [d.label for d in parse_dates(conf.dates, a.start, a.months)]


def summary_line(a: Attribution) -> str:
    """How the values were made and what they cost."""
    err = ""
    if a.sampling_se is not None:
        err = f", sampling error (s.e. over orders) up to {float(a.sampling_se.max()):.4f}"
    bg = f"; background events: {', '.join(a.background)}" if a.background else ""
    return (f"{a.method} Shapley values of {len(a.events)} events ({a.coalitions} "
            f"counterfactual scenarios) × {a.replicates} paired replicates, seed {a.seed}: "
            f"{a.replicate_months:,} replicate-months in {a.elapsed_s:.1f} s "
            f"({a.replicate_months / max(a.elapsed_s, 1e-9):,.0f}/s){err}{bg}. Rows add up to "
            f"the total exactly (per replicate); intervals: 95 % bootstrap over replicates.")


def write_outputs(a: Attribution, conf: AttributionConf, causal: list, out_dir: Path,
                  meta: dict, config: Config) -> tuple[Any, dict[str, str]]:
    """Write the table, the per-replicate values, the figure and the JSON (figure built first:
    a failure leaves no files)."""
    from alignsim.plots import save_figure
    from alignsim.results import atomic_write, provenance, write_json, write_parquet

    labels = requested_labels(a, conf)
    frame = attribution_frame(a, conf, labels)
    fig = waterfall_figure(frame, a, labels)
    record = provenance(a.seed, config)
    out_dir = Path(out_dir)
    files = {"table": str(atomic_write(out_dir / "attribution.csv",
                                       lambda p: frame.to_csv(p, index=False)))}
    files["replicates"] = str(write_parquet(replicate_frame(a), out_dir / "attribution.parquet",
                                            record))
    files["figure"] = str(save_figure(fig, out_dir / "attribution.png"))
    full = attribution_frame(a, conf)
    doc = {"scenario": a.scenario, "method": a.method, "events": len(a.events),
           "coalitions": a.coalitions, "replicates": a.replicates, "seed": a.seed,
           "elapsed_s": round(a.elapsed_s, 2), "replicate_months": a.replicate_months,
           "background": list(a.background),
           "max_abs_efficiency_error": float(np.abs(a.phi.sum(axis=0) - a.total).max()),
           "table": full.to_dict(orient="records"),
           "causal": [c.row() for c in causal], **meta,
           "files": {k: Path(v).name for k, v in files.items()},
           "provenance": record}
    files["json"] = str(write_json(doc, out_dir / "attribution.json"))
    return frame, files


if __name__ == "__main__":
    main()
