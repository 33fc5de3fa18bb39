"""What the room's screens show, as HTML and SVG text (no Solara here: the benchmark uses it too).

Why text built once per change: thirty students look at the same month. The parts every screen
shares (status, chart, log, scoreboard) are built once per room version and handed to every
session (:func:`shared`); only a student's own panel (their options, their payoff) is built per
person. Everything a person typed (names) is escaped here, at the one place it is shown.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence

import numpy as np

from alignsim.demo import charts
from alignsim.demo.charts import Line, Mark
from alignsim.room.room import MonthRecord, Player, Room

STATUS_WORDS = {"lobby": "Waiting to start", "playing": "Choosing", "paused": "Paused",
                "ended": "Game over"}
BY_WORDS = {"human": "chosen by", "fallback": "nobody chose — the model's rule played",
            "model": "played by the model", "scenario": "scheduled by the scenario (the record)"}


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def qr_svg(url: str, scale: int = 5) -> str:
    """The join address as an inline SVG QR code (segno; drawn here, no network)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=scale, dark="#0f172a",
                                    light="#ffffff", border=3, xmldecl=False, svgclass="room-qr")
    return buf.getvalue().decode()


def action_label(room: Room, action: str) -> str:
    spec = room.spec
    return spec.action_labels[spec.action_index(action)]


def fmt_util(value: float) -> str:
    """A payoff in util, 3 significant figures, never in exponent notation."""
    if not np.isfinite(value):
        return "—"
    return np.format_float_positional(value, precision=3, unique=False, fractional=False,
                                      trim="-", sign=True)


# --------------------------------------------------------------------------------- shared
def shared(room: Room) -> dict[str, str]:
    """The parts every screen shows, built once per room version (under the room's lock)."""
    with room.lock:
        cache = getattr(room, "_views", None)
        if cache is not None and cache[0] == room.version:
            return cache[1]
        parts = {"status": status_html(room), "chart": axis_chart(room) + marks_html(room),
                 "log": log_html(room), "scores": scoreboard_html(room)}
        room._views = (room.version, parts)  # type: ignore[attr-defined]
        return parts


def status_html(room: Room) -> str:
    w = room.world
    axis = room.axis_series()
    change = f"{axis[-1] - axis[-2]:+.3f} last month" if len(axis) > 1 else "start"
    status = STATUS_WORDS[room.status]
    return (f"<div class='room-status'><b class='room-date'>{esc(w.date)}</b> · month "
            f"<span class='room-month'>{w.month}</span> of {room.spec.months} · "
            f"<span class='room-state room-state-{room.status}'>{status}</span> · axis "
            f"<b class='room-axis'>{axis[-1]:+.3f}</b> ({change})</div>")


def event_marks(room: Room) -> list[Mark]:
    """The chart's badges: the scenario's events at the dates in force (a moved event at its new
    month, :meth:`Room.events`) and the teacher's changes."""
    marks = [Mark(t, "event", str(i + 1), f"{room.spec.start.plus(t)} {name}: {desc}")
             for i, (t, name, desc, _src) in enumerate(room.events())]
    marks += [Mark(c.month, "intervention", f"★{i + 1}", f"{room.spec.start.plus(c.month)} "
                   f"teacher: {c.text}", charts.INTERVENTION_COLOUR)
              for i, c in enumerate(room.changes)]
    return marks


def marks_html(room: Room, everything: bool = False) -> str:
    """What the chart's numbered badges and stars are (those on the chart's time range)."""
    extent = room.spec.months if everything else min(
        room.spec.months, 12 * -(-(room.world.month + 12) // 12))
    items = [f"<b>{esc(m.badge)}</b> "
             f"{esc(m.title if m.kind == 'intervention' else m.title.split(':')[0])}"
             for m in event_marks(room) if m.month <= extent]
    return ("<div class='room-marks quiet'>" + " · ".join(items)
            + " · ▲ a student's move</div>") if items else ""


def human_moves(room: Room) -> list[Mark]:
    """The students' own non-trivial moves as triangles along the bottom."""
    return [Mark(r.month, "move", "", f"{r.date}: {room.label(m.actor)} "
                 f"{action_label(room, m.action)} (students)",
                 charts.ACTOR_MARK_COLOURS.get(room.label(m.actor), charts.FG))
            for r in room.months for m in r.moves if m.by == "human" and m.action != "none"]


def axis_chart(room: Room, extra: Sequence[Line] = (), name: str = "room-axis") -> str:
    """The class's axis so far, events and the teacher's changes marked; ``extra`` lines (the
    debrief's ensemble band and history) behind it, over the whole run.

    Without ``extra`` the time axis shows the year ahead, not all six years: a class plays a
    dozen months in a seminar, and on the full run's axis they would be a smudge at the left.
    """
    spec = room.spec
    axis = room.axis_series()
    extent = spec.months if extra else min(spec.months, 12 * -(-(room.world.month + 12) // 12))
    ylim, yticks = _zoom([axis, *(ln.values for ln in extra)])
    return charts.time_chart(
        name=name, start=spec.start, months=extent, ylim=ylim, yticks=yticks,
        yfmt="+.2f", ylabel="Turkic − Russian share",
        lines=[Line("class", axis, charts.AXIS_COLOUR, 4.0)], ghosts=list(extra),
        marks=[m for m in event_marks(room) if m.month <= extent],
        moves=[m for m in human_moves(room) if m.month < extent], zero=True)


def _zoom(values: Sequence[np.ndarray]) -> tuple[tuple[float, float], tuple[float, ...]]:
    data = np.concatenate([np.asarray(v, dtype=float) for v in values if len(v)])
    lo, hi = float(data.min()), float(data.max())
    mid, half = (lo + hi) / 2, max(hi - lo, 0.2) / 2 * 1.15
    step = next(s for s in (0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if 2 * half / s <= 6)
    lo, hi = np.floor((mid - half) / step) * step, np.ceil((mid + half) / step) * step
    return (float(lo), float(hi)), tuple(float(v) for v in np.arange(lo, hi + step / 2, step))


def move_html(room: Room, m) -> str:
    who = room.label(m.actor)
    text = f"<b>{esc(who)}</b>: {esc(action_label(room, m.action))}"
    if m.by == "human":
        tag = f"{BY_WORDS['human']} {esc(', '.join(m.players))}" if m.players else "students"
    else:
        tag = BY_WORDS[m.by]
    why = ""
    if m.by in ("human", "fallback") and m.advised != m.action:
        why = f" — the model would have chosen {esc(action_label(room, m.advised))}"
        why += (" (this move was the best option by expected payoff; the rule draws by "
                "probability)" if m.gap <= 0 else f" (this move {m.gap:.3g} util below the best "
                f"option, {esc(action_label(room, m.best))})")
    elif m.by == "human":
        why = " — as the model advised"
    return (f"<div class='room-move room-by-{m.by}'>{text} <i>({tag})</i>{why} · payoff "
            f"{fmt_util(m.payoff)} util</div>")


def month_html(room: Room, rec: MonthRecord,
               events: Sequence[tuple[int, str, str, str]] | None = None) -> str:
    """One closed month: the events (at the dates in force), the teacher's changes, every move
    that did something. ``events``: :meth:`Room.events`, if the caller already has it."""
    events = room.events() if events is None else events
    rows = [f"<div class='room-event'>Event: <b>{esc(name)}</b> — {esc(desc)}</div>"
            for t, name, desc, _src in events if t == rec.month]
    rows += [f"<div class='room-change'>★ Teacher, from this month: {esc(c.text)}</div>"
             for c in room.changes if c.month == rec.month]
    humans = set(room.settings.humans)
    rows += [move_html(room, m) for m in rec.moves
             if m.actor in humans or m.action != "none"]
    closed = "timer ran out" if rec.closed_by == "timer" else "closed by the teacher"
    return (f"<div class='room-month-log' data-month='{rec.month}'><b>{esc(rec.date)}</b> "
            f"<span class='quiet'>({closed}; axis after: {rec.axis:+.3f})</span>"
            f"{''.join(rows)}</div>")


def log_html(room: Room, months: int | None = None) -> str:
    """The narrated log, newest month first, then the room's own notes (joins, fallbacks)."""
    recs = list(reversed(room.months))[:months]
    events = room.events()  # once for the whole log
    body = "".join(month_html(room, r, events) for r in recs) or (
        "<p class='quiet'>No month played yet.</p>")
    notes = "".join(f"<li>{esc(n)}</li>" for n in reversed(room.notes[-12:]))
    return (f"<div class='room-log'>{body}</div><details class='room-notes'><summary>Room "
            f"notes</summary><ul>{notes}</ul></details>")


def scoreboard_html(room: Room) -> str:
    """Each human-played country: who plays it, whether it has chosen, its payoff so far."""
    pay = room.human_payoffs()
    rows = []
    for actor in room.settings.humans:
        names = esc(", ".join(p.name for p in room.members(actor))) or "<i>nobody yet</i>"
        sched = room.scheduled(actor)
        if sched:
            state = "the record decides"
        elif actor in room.pending:
            state = "✔ chosen"
        else:
            state = "… choosing" if room.status == "playing" else "—"
        rows.append(f"<tr class='room-score' data-actor='{esc(actor)}'><td><b>"
                    f"{esc(room.label(actor))}</b></td><td>{names}"
                    f"</td><td class='room-chosen'>{state}</td><td class='room-payoff'>"
                    f"{fmt_util(pay[actor])}</td></tr>")
    return ("<table class='room-scores'><tr><th>Country</th><th>Players</th><th>This month</th>"
            f"<th>Payoff so far (util)</th></tr>{''.join(rows)}</table>")


# ------------------------------------------------------------------------------ personal
def options(room: Room, actor: str) -> list[tuple[str, str, str]]:
    """A country's options this month: (action, label, the model's advice in words)."""
    with room.lock:
        adv = room.advice()
        i = room.spec.actor_index(actor)
        q = adv.expected[i]
        best = float(np.max(q[np.isfinite(q)]))
        out = []
        for a in room.options(actor):
            k = room.spec.action_index(a)
            note = f"expected {fmt_util(q[k])} util"
            note += " · best" if q[k] >= best - 1e-15 else f" ({fmt_util(q[k] - best)} vs best)"
            if int(adv.pick[i]) == k:
                note += " · the model would choose this"
            out.append((a, action_label(room, a), note))
        return out


def player_html(room: Room, player: Player) -> str:
    """A student's own header: name, country, payoff, what they chose this month (read under
    the room's lock: other sessions change the players and choices meanwhile)."""
    with room.lock:
        return _player_html(room, player)


def _player_html(room: Room, player: Player) -> str:
    if player.actor is None:
        return (f"<div class='room-me'>You are <b>{esc(player.name)}</b>. Pick a country "
                "below.</div>")
    pend = room.pending.get(player.actor)
    pay = room.human_payoffs()[player.actor]
    mine = (f"Your country's choice this month: <b class='room-my-choice'>"
            f"{esc(action_label(room, pend.action))}</b> (by {esc(pend.player)})"
            if pend else "No choice yet this month.")
    sched = room.scheduled(player.actor)
    if sched:
        mine = (f"This month the historical record decides: <b>{esc(action_label(room, sched))}"
                "</b>.")
    team = [p.name for p in room.members(player.actor) if p.pid != player.pid]
    with_ = f" with {esc(', '.join(team))}" if team else ""
    return (f"<div class='room-me'>You are <b>{esc(player.name)}</b>, playing "
            f"<b class='room-country'>{esc(room.label(player.actor))}</b>{with_}. Payoff so far: "
            f"<b class='room-my-payoff'>{fmt_util(pay)}</b> util. {mine}</div>")


def timer_html(room: Room) -> str:
    left = room.seconds_left()
    if left is None:
        return "<span class='room-timer quiet'>no timer</span>"
    word = "left" if room.status == "playing" else "left (paused)"
    return f"<span class='room-timer'>Timer: <b>{int(np.ceil(left))}</b> s {word}</span>"
