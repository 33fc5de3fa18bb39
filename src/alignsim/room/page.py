"""The seminar room's Solara page: host, join, the student's screen, the teacher's screen.

Thin on purpose: the game is :class:`alignsim.room.room.Room` (shared by every session of the
server through :func:`alignsim.room.registry.registry`), the pictures and text are
:mod:`alignsim.room.views` and :mod:`alignsim.room.debrief`. Who sees which screen is decided by
the address, so a student who closes the tab gets their country back by opening it again:

* ``/?host=KEY`` — open a room (the key is printed by ``alignsim-demo --room``);
* ``/?room=CODE`` — join: a name, then a country;
* ``/?room=CODE&token=…`` — a student's screen (the token is theirs alone, kept in the address);
* ``/?room=CODE&teacher=…`` — the teacher's screen and controls (keep it on the laptop: the
  address holds the teacher's secret);
* ``/?room=CODE&view=board`` — the board: what to project (join code, QR, status, timer,
  scores, chart, log, debrief), no controls and no secret in the address.

Each session runs a watcher thread that waits on the room (:meth:`Room.wait`) and re-renders
when it changes; a timer component refreshes its countdown once a second while a timer runs.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, quote

import solara

from alignsim.demo.world import CONTROL_BY_KEY, LIVE_KEYS, SCENARIOS
from alignsim.room import briefing, views
from alignsim.room import debrief as debriefs
from alignsim.room.registry import JOIN_BASE_ENV, registry
from alignsim.room.room import (
    DEFAULT_TIMER_S,
    NAME_MAX,
    Room,
    RoomError,
    Settings,
    control_value,
)
from alignsim.room.views import esc

log = logging.getLogger("alignsim.room")
DEFAULT_HUMANS = ("russia", "kazakhstan", "turkiye")  # the three roles (assumption)

CSS = """
.room { font-size: 17px; line-height: 1.35; color: #e2e8f0; background: #0f172a; }
.room-cols { display: flex; gap: 14px; align-items: flex-start; }
.room-side { flex: 0 0 360px; width: 360px; }
.room-main { flex: 1 1 auto; min-width: 0; }
.room-status { font-size: 20px; }
.room-axis { color: #c084fc; font-size: 24px; }
.room-state-paused, .room-state-ended { color: #fb923c; font-weight: bold; }
.room-timer { font-size: 20px; color: #facc15; }
.room-error { background: #7f1d1d; color: #fff; padding: 8px 12px; border-radius: 6px;
  font-size: 18px; margin: 6px 0; }
.room-me { font-size: 18px; margin: 6px 0; }
.room-country, .room-my-choice { color: #facc15; }
.room-code { font-size: 44px; letter-spacing: 6px; font-weight: bold; color: #facc15; }
.room-join { font-size: 15px; word-break: break-all; }
.room-qr { display: block; margin: 6px 0; }
.room-scores { border-collapse: collapse; font-size: 16px; width: 100%; }
.room-scores td, .room-scores th, .room-payoffs td, .room-payoffs th { padding: 2px 8px;
  border-bottom: 1px solid #334155; text-align: left; }
.room-log { overflow-y: auto; max-height: 300px; font-size: 15px; border-top: 1px solid #334155; }
.room-month-log { margin-top: 6px; }
.room-move { margin-left: 10px; }
.room-by-human { color: #facc15; }
.room-by-fallback { color: #fb923c; }
.room-event, .room-change { margin-left: 10px; color: #cbd5e1; }
.room-change { color: #facc15; }
.room-option { margin: 3px 0; }
.room-option .quiet { display: block; font-size: 14px; margin-left: 4px; }
.room-better { color: #4ade80; } .room-worse { color: #f87171; }
.room .quiet { color: #94a3b8; font-size: 14px; }
.room .v-btn { font-size: 15px; }
.room-notes { font-size: 14px; color: #94a3b8; }
"""


# -------------------------------------------------------------------------------- helpers
def guarded(action: Callable[[], None], set_error: Callable[[str], None]) -> None:
    """Run a click's action: a refusal becomes one line naming the field, never a traceback."""
    try:
        action()
        set_error("")
    except RoomError as err:
        set_error(str(err))
    except Exception as err:  # the page must never show a traceback
        log.exception("room page: action failed")
        set_error(f"Something went wrong ({type(err).__name__}). The game was kept; the details "
                  "are in the server's log.")


def use_room(room: Room) -> int:
    """Re-render whenever the room changes: a watcher thread per session waits on it."""
    version, set_version = solara.use_state(room.version)

    def watch(cancel: threading.Event) -> None:
        closed = _session_closed()
        seen = room.version
        while not cancel.is_set() and not closed.is_set():
            now = room.wait(seen, timeout=1.0)
            if now != seen:
                seen = now
                set_version(now)

    solara.use_thread(watch, dependencies=[room.code], intrusive_cancel=False)
    return version


def _session_closed() -> threading.Event:
    """Set when this browser session's kernel closes (a watcher must not outlive its tab)."""
    try:
        from solara.server import kernel_context

        return kernel_context.get_current_context().closed_event
    except Exception:  # outside a Solara server (a notebook, a test): never closed
        return threading.Event()


@solara.component
def Timer(room: Room, version: int) -> None:
    """The countdown, refreshed every second while a timer runs (its own small thread)."""
    _, set_tick = solara.use_state(0)

    def run(cancel: threading.Event) -> None:
        closed = _session_closed()
        n = 0
        while not cancel.wait(1.0) and not closed.is_set():
            if room.deadline is not None:
                n += 1
                set_tick(n)

    solara.use_thread(run, dependencies=[room.code], intrusive_cancel=False)
    solara.HTML(tag="span", unsafe_innerHTML=views.timer_html(room))


@solara.component
def ErrorBox(error: str) -> None:
    if error:
        solara.HTML(tag="div", classes=["room-error"], unsafe_innerHTML=esc(error))


@solara.component
def Shared(room: Room, version: int) -> None:
    """Status, scores, chart and log: the same on every screen (built once per version).

    Every component that reads the room takes ``version``: reacton skips a component whose
    arguments compare equal (closures included), and the room object itself never changes.
    """
    parts = views.shared(room)
    solara.HTML(tag="div", unsafe_innerHTML=parts["scores"])
    solara.HTML(tag="div", classes=["room-chart"], unsafe_innerHTML=parts["chart"])
    solara.HTML(tag="div", unsafe_innerHTML=parts["log"])


def debrief_key(room: Room) -> tuple:
    """What the debrief depends on: the months played and the teacher's changes by value (not
    who has chosen what this month), so a student's click does not recompute it."""
    return room.state_key()


def cached_debrief(room: Room) -> debriefs.Debrief:
    """One debrief per game state, shared by the room's screens (:func:`debrief.cached`)."""
    return debriefs.cached(room)


def offered(value: str, values: list[str]) -> str:
    """A select's remembered value if still offered, else the first offered: a month or an
    event that has passed drops out of the list, and the stale value must not be used."""
    return value if value in values else values[0]


@solara.component
def DebriefView(room: Room, version: int, downloads: bool) -> None:
    """The class against the ensemble (computed in a thread: about 4 s, see docs/room.md)."""
    result = solara.use_thread(lambda: cached_debrief(room), dependencies=[debrief_key(room)])
    if result.state != solara.ResultState.FINISHED or result.value is None:
        if result.error is not None:
            solara.HTML(tag="div", classes=["room-error"], unsafe_innerHTML=esc(
                f"Debrief: could not be computed ({type(result.error).__name__})."))
        else:
            solara.HTML(tag="p", classes=["quiet"], unsafe_innerHTML="Computing the debrief "
                        f"({debriefs.REPLICATES} model-only runs)…")
        return
    d = result.value
    solara.HTML(tag="div", unsafe_innerHTML=debriefs.debrief_html(room, d))
    if downloads:
        with solara.Row():
            solara.FileDownload(lambda: debriefs.moves_csv(room),
                                filename=f"alignsim-room-{room.code}.csv",
                                label="Download all moves (CSV)", mime_type="text/csv")
            solara.FileDownload(lambda: debriefs.debrief_png(room, d),
                                filename=f"alignsim-room-{room.code}-debrief.png",
                                label="Download debrief figure (PNG)", mime_type="image/png")


# ------------------------------------------------------------------------------- student
@solara.component
def StudentView(room: Room, token: str) -> None:
    version = use_room(room)
    error, set_error = solara.use_state("")
    try:
        player = room.player_of(token)
    except RoomError as err:
        solara.HTML(tag="div", classes=["room-error"], unsafe_innerHTML=esc(str(err)))
        JoinForm(room.code)
        return
    parts = views.shared(room)
    with solara.Div(classes=["room-cols"]):
        with solara.Div(classes=["room-side"]):
            solara.HTML(tag="div", unsafe_innerHTML=parts["status"])
            Timer(room, version)
            ErrorBox(error)
            solara.HTML(tag="div", unsafe_innerHTML=views.player_html(room, player))
            if player.actor is None:
                CountryPicker(room, token, set_error, version)
            else:
                Options(room, token, player.actor, set_error, version)
                with solara.Details("Your briefing card"):
                    solara.Markdown(briefing.card_of(player.actor))
        with solara.Div(classes=["room-main"]):
            if room.status == "ended":
                DebriefView(room, version, False)
            Shared(room, version)


@solara.component
def CountryPicker(room: Room, token: str, set_error: Callable[[str], None],
                  version: int) -> None:
    solara.HTML(tag="p", unsafe_innerHTML="Countries played by students:")
    for actor in room.settings.humans:
        team = [p.name for p in room.members(actor)]
        label = f"{room.label(actor)} ({'team: ' + ', '.join(team) if team else 'free'})"
        solara.Button(label, on_click=lambda a=actor: guarded(lambda: room.pick(token, a),
                                                              set_error),
                      classes=["room-pick", f"room-pick-{actor}"], block=True)


@solara.component
def Options(room: Room, token: str, actor: str, set_error: Callable[[str], None],
            version: int) -> None:
    """The country's options this month, with the model's advice when the teacher allows it."""
    if room.status != "playing" or room.world.finished or room.scheduled(actor):
        if room.status in ("lobby", "paused"):
            solara.HTML(tag="p", classes=["quiet"], unsafe_innerHTML=(
                "Waiting for the teacher to start." if room.status == "lobby" else "Paused."))
        return
    pend = room.pending.get(actor)
    solara.HTML(tag="p", unsafe_innerHTML="Your move this month:" + (
        "" if room.settings.advice else " <span class='quiet'>(advice off)</span>"))
    for action, label, note in views.options(room, actor):
        with solara.Div(classes=["room-option"]):
            solara.Button(label, on_click=lambda a=action: guarded(
                lambda: room.choose(token, a), set_error),
                color="primary" if pend and pend.action == action else None,
                classes=["room-choose", f"room-choose-{action}"], block=True)
            if room.settings.advice:
                solara.HTML(tag="span", classes=["quiet"], unsafe_innerHTML=esc(note))


# ------------------------------------------------------------------------------- teacher
@solara.component
def TeacherView(room: Room, secret: str) -> None:
    version = use_room(room)
    error, set_error = solara.use_state("")
    if not room.is_teacher(secret):
        solara.HTML(tag="div", classes=["room-error"], unsafe_innerHTML=esc(
            "Teacher secret: wrong or missing: open the teacher's link"))
        return
    parts = views.shared(room)

    def do(fn: Callable[[], object]) -> None:
        guarded(lambda: (fn(), None)[1], set_error)

    with solara.Div(classes=["room-cols"]):
        with solara.Div(classes=["room-side"]):
            JoinPanel(room)
            solara.HTML(tag="div", classes=["room-board-link"], unsafe_innerHTML=(
                f"<a href='{esc(board_path(room))}' target='_blank'>Open the board</a> "
                "<span class='quiet'>(project that one: this screen's address holds your "
                "secret)</span>"))
            Controls(room, secret, do, version)
            Interventions(room, secret, do, version)
            Players(room, secret, do, version)
        with solara.Div(classes=["room-main"]):
            solara.HTML(tag="div", unsafe_innerHTML=parts["status"])
            Timer(room, version)
            ErrorBox(error)
            if room.status == "ended" or room.debrief_shown:
                DebriefView(room, version, True)
            elif room.months:
                solara.Button("Show the debrief now", on_click=lambda: do(
                    lambda: room.show_debrief(secret)), classes=["room-show-debrief"])
            Shared(room, version)


@solara.component
def BoardView(room: Room) -> None:
    """The projector's screen: everything the class shares, no controls, no secret.

    Why a screen of its own: the teacher's address carries the teacher's secret, and whatever
    is projected can be photographed; this one carries only the room code, already public.
    """
    version = use_room(room)
    parts = views.shared(room)
    with solara.Div(classes=["room-cols", "room-board"]):
        with solara.Div(classes=["room-side"]):
            JoinPanel(room)
        with solara.Div(classes=["room-main"]):
            solara.HTML(tag="div", unsafe_innerHTML=parts["status"])
            Timer(room, version)
            if room.status == "ended" or room.debrief_shown:
                DebriefView(room, version, False)
            Shared(room, version)


def board_path(room: Room) -> str:
    """The board's address (relative): the room code only."""
    return f"/?room={room.code}&view=board"


@solara.component
def JoinPanel(room: Room) -> None:  # the code never changes
    base = os.environ.get(JOIN_BASE_ENV, "http://127.0.0.1:8765/").rstrip("/")
    url = f"{base}/?room={room.code}"
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"<div>Join at</div><div class='room-join'>{esc(url)}</div>{views.qr_svg(url, 4)}"
        f"<div>Room code</div><div class='room-code'>{esc(room.code)}</div>"))


@solara.component
def Controls(room: Room, secret: str, do: Callable[[Callable[[], object]], None],
             version: int) -> None:
    timer, set_timer = solara.use_state(str(room.settings.timer_s))
    with solara.Row(style={"flex-wrap": "wrap"}):
        label = "Start" if room.status == "lobby" else "Resume"
        solara.Button(label, on_click=lambda: do(lambda: room.start(secret)),
                      disabled=room.status in ("playing", "ended"), color="success")
        solara.Button("Pause", on_click=lambda: do(lambda: room.pause(secret)),
                      disabled=room.status != "playing")
        solara.Button("Close month", on_click=lambda: do(lambda: room.close_month(secret)),
                      disabled=room.status not in ("playing", "paused"), color="primary")
    with solara.Row(style={"flex-wrap": "wrap"}):
        solara.Button("Undo last month", on_click=lambda: do(lambda: room.undo(secret)),
                      disabled=not room.months)
        solara.Button("End game", on_click=lambda: do(lambda: room.end(secret)),
                      disabled=room.status == "ended", color="error")
    solara.Switch(label="Show the model's advice to students", value=room.settings.advice,
                  on_value=lambda v: do(lambda: room.set_advice(secret, v)))
    solara.Switch(label="Countries fixed after the start (you assign them)",
                  value=room.settings.lock_countries,
                  on_value=lambda v: do(lambda: room.set_country_lock(secret, v)))
    with solara.Row():
        solara.InputText("Timer per month (s, 0 = off)", value=timer, on_value=set_timer,
                         continuous_update=True)
        solara.Button("Set", on_click=lambda: do(lambda: room.set_timer(secret, timer)))


@solara.component
def Players(room: Room, secret: str, do: Callable[[Callable[[], object]], None],
            version: int) -> None:
    players = room.player_list()
    solara.HTML(tag="h4", unsafe_innerHTML=f"Players ({len(players)})")
    choices = ["(none)", *(room.label(a) for a in room.settings.humans)]
    by_label = {room.label(a): a for a in room.settings.humans}
    for p in players:
        with solara.Row(classes=["room-player"]):
            solara.HTML(tag="span", unsafe_innerHTML=esc(p.name))
            solara.Select("country", values=choices,
                          value=room.label(p.actor) if p.actor else "(none)",
                          on_value=lambda v, pid=p.pid: do(
                              lambda: room.reassign(secret, pid, by_label.get(v))))
            solara.Button("Kick", on_click=lambda pid=p.pid: do(lambda: room.kick(secret, pid)),
                          small=True, classes=["room-kick"])


@solara.component
def Interventions(room: Room, secret: str, do: Callable[[Callable[[], object]], None],
                  version: int) -> None:
    """Change a parameter from this month; move a scheduled event earlier or later."""
    key, set_key = solara.use_state(LIVE_KEYS[0])
    value, set_value = solara.use_state("")
    upcoming = [(j, name) for j, (t, name) in enumerate(room.event_months())
                if t >= room.world.month]
    event, set_event = solara.use_state(upcoming[0][1] if upcoming else "")
    when, set_when = solara.use_state(room.world.date)
    dates = [str(room.spec.start.plus(t)) for t in range(room.world.month, room.spec.months)]
    labels = {CONTROL_BY_KEY[k].label: k for k in LIVE_KEYS}
    with solara.Details("Change the world from this month"):
        with solara.Column():
            solara.Select("Parameter", values=list(labels), value=CONTROL_BY_KEY[key].label,
                          on_value=lambda v: set_key(labels[v]))
            current = CONTROL_BY_KEY[key].show(float(room.param(key)))
            solara.InputText(f"New value (now {current})", value=value, on_value=set_value,
                             continuous_update=True)
            solara.Button("Apply", on_click=lambda: do(lambda: room.change_parameter(
                secret, key, control_value(key, value))))
        if upcoming and dates:
            names = [n for _, n in upcoming]
            with solara.Column():
                solara.Select("Event", values=names, value=offered(event, names),
                              on_value=set_event)
                solara.Select("New month", values=dates, value=offered(when, dates),
                              on_value=set_when)
                solara.Button("Move event", on_click=lambda: do(lambda: room.move_event(
                    secret, dict((n, j) for j, n in upcoming)[offered(event, names)],
                    dates.index(offered(when, dates)) + room.world.month)))


# ------------------------------------------------------------------------ host and join
@solara.component
def HostForm(key: str) -> None:
    router = solara.use_router()
    title, set_title = solara.use_state("")
    scenario, set_scenario = solara.use_state(SCENARIOS[0])
    seed, set_seed = solara.use_state("20220101")
    timer, set_timer = solara.use_state(str(DEFAULT_TIMER_S))
    advice, set_advice = solara.use_state(True)
    humans, set_humans = solara.use_state(list(DEFAULT_HUMANS))
    error, set_error = solara.use_state("")
    actors = registry_actors()
    if registry().host_key and key != registry().host_key:
        solara.HTML(tag="div", classes=["room-error"], unsafe_innerHTML=esc(
            "Host key: wrong or missing: use the link alignsim-demo printed"))
        return

    def open_room() -> None:
        settings = Settings.checked(scenario, seed, humans, timer, advice, title)
        room, secret = registry().open(key, settings)
        router.push(f"/?room={room.code}&teacher={quote(secret)}")

    solara.HTML(tag="h3", unsafe_innerHTML="Open a seminar room")
    ErrorBox(error)
    solara.InputText("Title (optional)", value=title, on_value=set_title)
    solara.Select("Scenario", values=list(SCENARIOS), value=scenario, on_value=set_scenario)
    solara.InputText("Random seed (whole number ≥ 0)", value=seed, on_value=set_seed,
                     continuous_update=True)
    solara.HTML(tag="div", unsafe_innerHTML="Countries played by students (the model plays "
                "the others):")
    with solara.Row():
        for a, label in actors:
            solara.Checkbox(label=label, value=a in humans, on_value=lambda v, a=a: set_humans(
                [x for x in humans if x != a] + ([a] if v else [])))
    solara.InputText("Timer per month (s, 0 = off)", value=timer, on_value=set_timer,
                     continuous_update=True)
    solara.Switch(label="Show the model's advice to students", value=advice,
                  on_value=set_advice)
    solara.Button("Open room", on_click=lambda: guarded(open_room, set_error), color="primary",
                  classes=["room-open"])


def registry_actors() -> list[tuple[str, str]]:
    from alignsim.demo.world import default_values
    from alignsim.room.world import params_key, world_spec

    spec = world_spec(params_key(default_values()))
    return list(zip(spec.actors, spec.actor_labels, strict=True))


@solara.component
def JoinForm(code: str = "") -> None:
    router = solara.use_router()
    code_text, set_code = solara.use_state(code)
    name, set_name = solara.use_state("")
    error, set_error = solara.use_state("")

    def join() -> None:
        room = registry().get(code_text)
        _, token = room.join(code_text, name)
        router.push(f"/?room={room.code}&token={quote(token)}")

    solara.HTML(tag="h3", unsafe_innerHTML="Join the seminar room")
    ErrorBox(error)
    solara.InputText("Room code (on the teacher's screen)", value=code_text, on_value=set_code,
                     continuous_update=True)
    solara.InputText(f"Your name (up to {NAME_MAX} characters)", value=name, on_value=set_name,
                     continuous_update=True)
    solara.Button("Join", on_click=lambda: guarded(join, set_error), color="primary",
                  classes=["room-join-button"])


@solara.component
def Page() -> None:
    """Which screen: decided by the address (see the module's docstring)."""
    router = solara.use_router()
    q = {k: v[0] for k, v in parse_qs(router.search or "").items()}
    solara.Style(CSS)
    with solara.v.Sheet(dark=True, class_="room pa-2"):
        solara.HTML(tag="h2", unsafe_innerHTML="alignsim — seminar room")
        if "room" not in q:
            if "host" in q:
                HostForm(q["host"])
            else:
                JoinForm("")
            return
        try:
            room = registry().get(q["room"])
        except RoomError as err:
            solara.HTML(tag="div", classes=["room-error"], unsafe_innerHTML=esc(str(err)))
            JoinForm("")
            return
        if q.get("view") == "board":
            BoardView(room)
        elif "teacher" in q:
            TeacherView(room, q["teacher"])
        elif "token" in q:
            StudentView(room, q["token"])
        else:
            JoinForm(room.code)
