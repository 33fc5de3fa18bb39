"""The debrief: the class's game against the model's ensemble, the history replay and the rule.

* **Ensemble band.** Model-only replicates 1..R of the room's seed (the class played replicate
  0 of the same seed family) with the teacher's changes in force from the same months: the Spec
  of each month is the one the room had (:meth:`Room.schedule`). Without changes this is exactly
  :func:`alignsim.ensemble.run_ensemble`; with changes the months are stepped by the same
  kernel call it makes (:func:`alignsim.kernel.step.month_step`) with each month's Spec.
* **History.** The ``history`` scenario at default settings, this seed, model only
  (:func:`alignsim.demo.world.history_record`, the seminar page's reference line).
* **The rule in your place.** For each human-played country, the game replayed with that
  country played by the model's rule and every other move as the class made it.
* **Where advice and people differed most**: the moves with the largest gap between the best
  option's expected payoff and the chosen one's.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass

import numpy as np

from alignsim.demo import charts
from alignsim.demo.charts import Line
from alignsim.demo.world import history_record
from alignsim.ensemble import equilibrium_valuation, run_ensemble
from alignsim.kernel.decisions import Memory
from alignsim.kernel.spec import Spec
from alignsim.kernel.state import initial_state
from alignsim.kernel.step import month_step, replicate_uniforms
from alignsim.room.room import MonthRecord, Move, Room
from alignsim.room.views import _zoom, action_label, axis_chart, esc, fmt_util, marks_html
from alignsim.room.world import RoomWorld

REPLICATES = 200  # model-only replicates in the band (the example)
CACHED_STATES = 4  # debriefs kept per room (assumption: a teacher toggles undo a few times)
BAND = (5, 95)  # percentiles of the band


def ensemble_axis(schedule: list[Spec], seed: int, replicates: int = REPLICATES) -> np.ndarray:
    """Axis ``(T+1, R)`` of model-only replicates 1..R, month ``t`` played under ``schedule[t]``."""
    first = schedule[0]
    if all(s is first for s in schedule):
        return run_ensemble(first, replicates, seed, first_replicate=1).axis
    ids = list(range(1, replicates + 1))
    u = replicate_uniforms(seed, ids, first.months, first.n_actors)
    state, memory = initial_state(first, replicates), Memory.initial(first, replicates)
    axis = np.empty((first.months + 1, replicates))
    axis[0] = first.axis_of(state.alignment)
    for t, spec in enumerate(schedule):
        state, memory, *_ = month_step(state, memory, spec, t, u[:, t],
                                       equilibrium_valuation(spec))
        axis[t + 1] = spec.axis_of(state.alignment)
    return axis


def rule_in_place(room: Room, actor: str) -> float:
    """The payoff ``actor`` would have had with the model's rule playing it (others as played)."""
    with room.lock:
        months = list(room.months)
        specs = [room.spec_at(rec.month) for rec in months]
    return replay_with_rule(room.settings.scenario, room.settings.seed, months, specs, actor)


def replay_with_rule(scenario: str, seed: int, months: list[MonthRecord], specs: list[Spec],
                     actor: str) -> float:
    """:func:`rule_in_place` on a copy of the room's record (``specs[k]`` in force in
    ``months[k]``): runs without the room's lock, so the class can play on meanwhile."""
    world = RoomWorld(scenario_name=scenario, seed=seed)
    i = world.spec.actor_index(actor)
    for rec, spec in zip(months, specs, strict=True):
        if spec is not world.spec:
            world.use_spec(spec)
        imposed = {world.spec.actor_index(m.actor): world.spec.action_index(m.action)
                   for m in rec.moves if m.by in ("human", "fallback") and m.actor != actor}
        world.play(imposed)
    return float(world.cumulative_payoffs()[i])


@dataclass
class Debrief:
    months: int
    axis: np.ndarray  # the class's, (t+1,)
    band: np.ndarray  # (3, T+1): low, median, high percentiles of the ensemble
    history: np.ndarray
    percentile: float  # % of model-only replicates with an axis below the class's, at month t
    payoffs: dict[str, tuple[float, float]]  # actor → (class, rule in its place), util
    differed: list[tuple[str, Move]]  # (date, move), largest gaps first
    replicates: int


def debrief(room: Room, replicates: int = REPLICATES, top: int = 5) -> Debrief:
    """Everything the debrief view shows (about 4 s for 200 replicates and 3 countries).

    What it needs is copied under the room's lock (a moment); the ensemble and the replays run
    outside it, so students' clicks and the month timer do not wait for the debrief.
    """
    with room.lock:
        t = room.world.month
        axis = room.axis_series().copy()
        schedule = room.schedule()
        scenario, seed, humans = room.settings.scenario, room.settings.seed, room.settings.humans
        pays = room.human_payoffs()
        months = list(room.months)
        specs = [room.spec_at(rec.month) for rec in months]
    ens = ensemble_axis(schedule, seed, replicates)
    band = np.percentile(ens, [BAND[0], 50, BAND[1]], axis=1)
    pct = float(100 * np.mean(ens[t] < axis[t]))
    hist = history_record(seed).series["axis"]
    payoffs = {a: (pays[a], replay_with_rule(scenario, seed, months, specs, a)) for a in humans}
    moves = [(r.date, m) for r in months for m in r.moves if m.by == "human"]
    moves.sort(key=lambda dm: -dm[1].gap)
    differed = [dm for dm in moves if dm[1].gap > 0][:top]
    return Debrief(t, axis, band, hist, pct, payoffs, differed, replicates)


_CACHE: dict[str, dict[tuple, Debrief]] = {}  # room code → state key → debrief
_CACHE_LOCK = threading.Lock()  # guards the dicts only, never held while computing
_ROOM_LOCKS: dict[str, threading.Lock] = {}  # one computation at a time per room


def cached(room: Room) -> Debrief:
    """The room's debrief for its current state, computed once for all its screens.

    Keyed on :meth:`Room.state_key` (the moves and changes by value), so undo followed by a
    different move never serves the old game's debrief. Each room computes under its own lock:
    one room's debrief does not hold up another's.
    """
    key = room.state_key()
    with _CACHE_LOCK:
        found = _CACHE.get(room.code, {}).get(key)
        if found is not None:
            return found
        lock = _ROOM_LOCKS.setdefault(room.code, threading.Lock())
    with lock:
        with _CACHE_LOCK:
            found = _CACHE.get(room.code, {}).get(key)
        if found is not None:
            return found
        d = debrief(room, REPLICATES)  # read now: a test may lower it
        if room.state_key() != key:  # the game moved on while computing: do not keep it
            return d
        with _CACHE_LOCK:
            states = _CACHE.setdefault(room.code, {})
            while len(states) >= CACHED_STATES:
                del states[next(iter(states))]
            states[key] = d
        return d


def band_lines(d: Debrief) -> list[Line]:
    lo, mid, hi = d.band
    # short labels: they are printed at the lines' ends, in the chart's right margin
    return [Line(f"{BAND[0]}th pct", lo, charts.MUTED, 2.0, "4 4", 0.9),
            Line("median", mid, "#e2e8f0", 2.0, "8 4", 0.8),
            Line(f"{BAND[1]}th pct", hi, charts.MUTED, 2.0, "4 4", 0.9),
            Line("history", d.history, "#a3e635", 2.5, "2 4", 0.9)]


def debrief_html(room: Room, d: Debrief) -> str:
    """The projector view: chart, percentile, payoffs against the rule, where people differed."""
    chart = axis_chart(room, band_lines(d), name="room-debrief") + marks_html(room, True)
    rows = "".join(
        f"<tr><td><b>{esc(room.label(a))}</b></td><td>{fmt_util(c)}</td><td>{fmt_util(r)}</td>"
        f"<td class='{'room-better' if c >= r else 'room-worse'}'>{fmt_util(c - r)}</td></tr>"
        for a, (c, r) in d.payoffs.items())
    diffs = "".join(_differed_html(room, date, m) for date, m in d.differed) or (
        "<li>The class always took the best option.</li>")
    axis_t = d.axis[d.months]
    return (
        f"<div class='room-debrief'><h3>Debrief — {esc(room.world.date)}</h3>{chart}"
        f"<p class='room-percentile'>At {esc(room.spec.start.plus(d.months))} the class's axis is "
        f"<b>{axis_t:+.3f}</b>: above <b>{d.percentile:.0f} %</b> of {d.replicates} model-only "
        f"runs of the same seed family with the same changes (band: {BAND[0]}th–{BAND[1]}th "
        f"percentile, dashed; green dotted: the history replay).</p>"
        "<table class='room-payoffs'><tr><th>Country</th><th>Class payoff (util)</th>"
        "<th>The rule in its place</th><th>Difference</th></tr>"
        f"{rows}</table><h4>Where the class differed most from the model's advice</h4>"
        f"<ol class='room-differed'>{diffs}</ol></div>")


def _differed_html(room: Room, date: str, m: Move) -> str:
    advised, best = action_label(room, m.advised), action_label(room, m.best)
    why = (f"the model advised {esc(advised)}, the best option by {m.gap:.3g} util"
           if m.advised == m.best else f"the model advised {esc(advised)}; the best option, "
           f"{esc(best)}, was worth {m.gap:.3g} util more")
    return (f"<li>{esc(date)}: <b>{esc(room.label(m.actor))}</b> ({esc(', '.join(m.players))}) "
            f"chose {esc(action_label(room, m.action))}; {why}</li>")


def moves_csv(room: Room) -> str:
    """Every move of the game, one row per month and actor (the teacher's export)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["room", "month", "date", "actor", "action", "by", "players", "model_pick",
                "best_option", "gap_util", "payoff_util", "axis_after", "closed_by"])
    with room.lock:
        for r in room.months:
            for m in r.moves:
                w.writerow([room.code, r.month, r.date, m.actor, m.action, m.by,
                            csv_text("; ".join(m.players)), m.advised, m.best, f"{m.gap:.6g}",
                            f"{m.payoff:.6g}", f"{r.axis:.6g}", r.closed_by])
    return buf.getvalue()


def csv_text(text: str) -> str:
    """A typed text as a spreadsheet cell: a leading ``=+-@`` would make it a formula (a name
    ``=1+2`` shows 3, or worse), so such cells get a leading apostrophe."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def debrief_png(room: Room, d: Debrief) -> bytes:
    """The debrief chart as a PNG (matplotlib; drawn only when the teacher downloads it)."""
    lines = [*band_lines(d), Line("class", d.axis, charts.AXIS_COLOUR, 4.0)]
    ylim = _zoom([ln.values for ln in lines])[0]
    return charts.png(f"alignsim room {room.code} — class vs {d.replicates} model runs",
                      room.spec.start, room.spec.months, [("Turkic − Russian", lines, ylim)])
