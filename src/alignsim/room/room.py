"""A seminar room: the state machine of one game, its rules of who may do what, and its file.

Why the room is a plain Python object and not Solara state: Solara's reactive values are per
browser session, and a room is shared by a teacher and a class, each in a session of their own.
So the room lives here, guarded by one lock; every change bumps :attr:`Room.version` and wakes
whoever waits in :meth:`Room.wait` (each browser session has a watcher thread that does).

What is stored is what people decided, not what the model computed: the settings, the players,
the teacher's changes (with the month they apply from), and for every month played the humans'
moves. The world is always derived from them by replaying from the seed
(:meth:`Room.rebuild`), which makes saving, resuming after a restart and undo the same code.
The file is JSON, written to a temporary file and renamed over the old one after every change.

Secrets (the teacher's, each student's) are kept only as SHA-256 hashes, so the file does not
hand out the controls; the join code is short and meant to be read off a projector.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.demo.world import CONTROL_BY_KEY, LIVE_KEYS, SCENARIOS, default_values, parse_seed
from alignsim.kernel.spec import ConfigError
from alignsim.room.world import Advice, RoomWorld, params_key, world_spec

FORMAT = "alignsim-room/1"
NAME_MAX = 24  # characters in a student's name (assumption: fits a badge on a projector)
TITLE_MAX = 60  # characters in a room's title (assumption: one line of the projector's header)
STATUSES = ("lobby", "playing", "paused", "ended")
MAX_PLAYERS = 60  # per room (assumption: a large seminar group)
TEAM_MAX = 6  # students sharing one country (assumption: a table of a seminar room)
DEFAULT_TIMER_S = 120  # s per month (assumption: time to read the options and agree as a team)
TIMER_MAX_S = 1800  # s (assumption: no month takes longer than half a seminar hour)
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
SAVE_EVERY_S = 10.0  # s between saves of a running timer (assumption: a restart may lose this)


class RoomError(ValueError):
    """Refused input or a forbidden action: ``field`` names what was wrong, in the page's words."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def clean_name(text: object) -> str:
    """A student's name: printable characters, spaces collapsed, 1..NAME_MAX characters.

    Escaping happens where names are shown (every view escapes); this keeps the stored name
    short and free of control characters.
    """
    if not isinstance(text, str):
        raise RoomError("Name", "type your name")
    name = "".join(c for c in text if unicodedata.category(c)[0] != "C")
    name = " ".join(name.split())
    if not name:
        raise RoomError("Name", "type your name")
    if len(name) > NAME_MAX:
        raise RoomError("Name", f"at most {NAME_MAX} characters (got {len(name)})")
    return name


def clean_title(text: object) -> str:
    """A room's optional title: like a name (printable, spaces collapsed), but its own field and
    limit, so a long title is not refused as a student's "Name"."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return ""
    if not isinstance(text, str):
        raise RoomError("Title", "must be text")
    title = " ".join("".join(c for c in text if unicodedata.category(c)[0] != "C").split())
    if len(title) > TITLE_MAX:
        raise RoomError("Title", f"at most {TITLE_MAX} characters (got {len(title)})")
    return title


def _whole_number(value: object) -> int | None:
    """``value`` as a whole number ≥ 0 if it is one written in ASCII digits, else None.

    ``str.isdigit`` accepts "²" and other digits ``int`` refuses; ``isdecimal`` plus ASCII keeps
    the check and the conversion in agreement, so a bad box is one message, not a ValueError.
    """
    text = str(value).strip()
    if isinstance(value, bool) or not (text.isascii() and text.isdecimal()):
        return None
    try:
        return int(text)
    except ValueError:
        return None


@dataclass
class Settings:
    """How the teacher opened the room."""

    scenario: str
    seed: int
    humans: tuple[str, ...]  # actor names (conf ids) played by students
    timer_s: int = DEFAULT_TIMER_S  # 0 = no timer
    advice: bool = True
    title: str = ""
    # countries fixed once the game starts: a student cannot rejoin under another name and take
    # another team's country mid-game; after the start only the teacher assigns (reassign)
    lock_countries: bool = True

    @classmethod
    def checked(cls, scenario: object, seed: object, humans: Iterable[str],
                timer_s: object = DEFAULT_TIMER_S, advice: bool = True,
                title: object = "") -> Settings:
        """Settings from a form; bad input raises :class:`RoomError` naming the field."""
        if scenario not in SCENARIOS:
            raise RoomError("Scenario", f"choose one of {', '.join(SCENARIOS)} (got {scenario!r})")
        if isinstance(seed, str) and seed.strip() and _whole_number(seed) is None:
            raise RoomError("Random seed", f"must be a whole number 0, 1, 2, … (got "
                            f"{seed.strip()!r})")
        try:
            seed_value = parse_seed(seed)
        except ConfigError as err:
            raise RoomError("Random seed", err.message) from None
        except ValueError:  # parse_seed's own digit check let through what int() refuses
            raise RoomError("Random seed", f"must be a whole number 0, 1, 2, … (got "
                            f"{str(seed).strip()!r})") from None
        actors = world_spec(params_key(default_values() | {"scenario_name": scenario})).actors
        chosen = tuple(a for a in actors if a in set(humans))
        unknown = sorted(set(humans) - set(actors))
        if unknown:
            raise RoomError("Countries played by students", f"unknown actor {unknown[0]!r}")
        if not chosen:
            raise RoomError("Countries played by students", "tick at least one country")
        title_text = clean_title(title)
        return cls(str(scenario), seed_value, chosen, check_timer(timer_s), bool(advice),
                   title_text)


def check_timer(value: object) -> int:
    """The month timer in whole seconds, 0 (off) .. TIMER_MAX_S."""
    text = str(value).strip()
    seconds = _whole_number(value)
    if seconds is None:
        raise RoomError("Timer", f"must be a whole number of seconds, 0 = off (got {text!r})")
    if seconds > TIMER_MAX_S:
        raise RoomError("Timer", f"at most {TIMER_MAX_S} s (got {text})")
    return seconds


def control_value(key: str, text: object) -> float:
    """The number a teacher typed for a live control, in the control's own units: controls
    shown as percentages take a percentage ("40" or "40 %" is 0.40)."""
    control = CONTROL_BY_KEY.get(key)
    if control is None:
        raise RoomError("Parameter", f"unknown parameter {key!r}")
    try:
        x = float(str(text).replace("%", "").strip())
    except ValueError:
        raise RoomError(control.label, f"must be a number (got {text!r})") from None
    return x / 100 if control.percent else x


@dataclass
class Player:
    pid: int
    name: str
    token_hash: str
    actor: str | None = None


@dataclass
class Change:
    """A teacher's change in force from month ``month``: a parameter, or an event moved."""

    month: int
    kind: str  # "param" | "event"
    key: str  # control key, or the event's index as text
    old: float
    new: float
    text: str


@dataclass
class Move:
    """One actor's move in a closed month, and why it is what it is."""

    actor: str
    action: str
    by: str  # "human" | "fallback" | "model" | "scenario"
    players: tuple[str, ...] = ()
    advised: str = ""  # the model's pick (its rule's draw) in this actor's place
    best: str = ""  # the option with the highest expected payoff
    gap: float = 0.0  # util: expected payoff of the best option minus that of the move
    payoff: float = 0.0  # util realised this month


@dataclass
class MonthRecord:
    month: int
    date: str
    moves: list[Move]
    closed_by: str  # "teacher" | "timer"
    axis: float  # after the month (checked on replay)


@dataclass
class Pending:
    action: str
    player: str  # the chooser's name, as logged
    pid: int = 0  # the chooser's player number (names need not be unique): 0 = unknown


def _check_move(spec: Any, actor: object, action: object, actors: Iterable[str]) -> None:
    """A saved move names an actor of the room and an action of the model (or ValueError)."""
    if actor not in set(actors):
        raise ValueError(f"unknown actor {actor!r}")
    if action not in spec.actions:
        raise ValueError(f"unknown action {action!r} for {actor!r}")


class Room:
    """One game: settings, players, the month being chosen, the months played, the world."""

    def __init__(self, code: str, settings: Settings, teacher_hash: str,
                 folder: Path | None = None, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.code = code
        self.settings = settings
        self.teacher_hash = teacher_hash
        self.folder = folder
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.version = 0
        self.status = "lobby"  # lobby → playing ⇄ paused → ended
        self.players: dict[int, Player] = {}
        self.pending: dict[str, Pending] = {}
        self.months: list[MonthRecord] = []
        self.changes: list[Change] = []
        self.notes: list[str] = []  # the room's own log: joins, kicks, undo, timer fallbacks
        self.deadline: float | None = None
        self.remaining: float | None = None  # timer left while paused, s
        self.created = time.strftime("%Y-%m-%d %H:%M:%S")
        self.world: RoomWorld = self._new_world()
        self._advice: tuple[tuple[int, int, int], Advice] | None = None
        self._saved_at: float | None = None  # clock of the last save (the timer's periodic save)
        self.debrief_shown = False  # the teacher put the debrief on the board before the end

    # ----------------------------------------------------------------------- construction
    @classmethod
    def open(cls, settings: Settings, folder: Path | None = None, code: str | None = None,
             clock: Callable[[], float] = time.monotonic) -> tuple[Room, str]:
        """A new room and the teacher's secret (shown once, in the teacher's link)."""
        secret = secrets.token_urlsafe(16)
        code = code or "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        room = cls(code, settings, _hash(secret), folder, clock)
        room.note(f"Room opened: {settings.scenario}, seed {settings.seed}, students play "
                  + ", ".join(room.label(a) for a in settings.humans) + ".")
        room.save()
        return room, secret

    def _new_world(self) -> RoomWorld:
        return RoomWorld(scenario_name=self.settings.scenario, seed=self.settings.seed)

    @property
    def spec(self):
        return self.world.spec

    def label(self, actor: str) -> str:
        return self.spec.actor_labels[self.spec.actor_index(actor)]

    # ------------------------------------------------------------------------ notification
    def _bump(self) -> None:
        self.version += 1
        self.changed.notify_all()

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the version differs from ``seen`` (or ``timeout`` s): the watchers' call."""
        with self.changed:
            self.changed.wait_for(lambda: self.version != seen, timeout=timeout)
            return self.version

    def note(self, *parts: str) -> None:
        """A line of the room's own log, dated (by default the month being chosen)."""
        date, text = (parts if len(parts) == 2 else (self.world.date, parts[0]))
        self.notes.append(f"{date}: {text}")

    # ---------------------------------------------------------------------------- secrets
    def is_teacher(self, secret: object) -> bool:
        return isinstance(secret, str) and hmac.compare_digest(_hash(secret), self.teacher_hash)

    def _teacher(self, secret: object) -> None:
        if not self.is_teacher(secret):
            raise RoomError("Teacher secret", "wrong or missing: open the teacher's link")

    def player_of(self, token: object) -> Player:
        """The player holding ``token``. Under the lock: page code calls it from many sessions
        while joins and kicks change the players (iterating a dict being changed raises)."""
        if isinstance(token, str) and token:
            h = _hash(token)
            with self.lock:
                for p in self.players.values():
                    if hmac.compare_digest(p.token_hash, h):
                        return p
        raise RoomError("Player", "not in this room (removed by the teacher, or an old link): "
                        "join again with the room code")

    # ----------------------------------------------------------------------------- players
    def join(self, code: object, name: object) -> tuple[Player, str]:
        """A student joins with the room's code and a name; returns the player and its token."""
        if not isinstance(code, str) or not hmac.compare_digest(
                code.strip().upper().encode(), self.code.encode()):
            raise RoomError("Room code", "wrong code: read it off the teacher's screen")
        name = clean_name(name)
        with self.lock:
            if self.status == "ended":
                raise RoomError("Room", "the game has ended")
            if len(self.players) >= MAX_PLAYERS:
                raise RoomError("Room", f"full ({MAX_PLAYERS} players)")
            token = secrets.token_urlsafe(16)
            pid = max(self.players, default=0) + 1
            player = Player(pid, name, _hash(token))
            self.players[pid] = player
            self.note(f"{name} joined.")
            self._changed()
            return player, token

    def members(self, actor: str) -> list[Player]:
        """The players of ``actor`` (a copy, taken under the lock: see :meth:`player_of`)."""
        with self.lock:
            return [p for p in self.players.values() if p.actor == actor]

    def player_list(self) -> list[Player]:
        """Every player, a copy taken under the lock (for the teacher's list)."""
        with self.lock:
            return list(self.players.values())

    def free_countries(self) -> list[str]:
        with self.lock:
            return [a for a in self.settings.humans if not self.members(a)]

    def pick(self, token: object, actor: object) -> None:
        """A student takes a country (free, or a team's below TEAM_MAX).

        With :attr:`Settings.lock_countries` (the default) only in the lobby: otherwise a
        student could rejoin under another name mid-game and play another team's country.
        """
        with self.lock:
            player = self.player_of(token)
            if self.settings.lock_countries and self.status != "lobby" \
                    and actor in self.settings.humans:  # (a model's country: its own message)
                raise RoomError("Country", "countries are fixed once the game has started: "
                                "ask the teacher to give you one")
            self._seat(player, actor, "Country")
            self._changed()

    def _seat(self, player: Player, actor: object, field_name: str) -> None:
        if actor is None:
            player.actor = None
            return
        if actor not in self.settings.humans:
            raise RoomError(field_name, f"{actor!r} is played by the model in this room")
        if player.actor != actor and len(self.members(str(actor))) >= TEAM_MAX:
            raise RoomError(field_name, f"{self.label(str(actor))} already has {TEAM_MAX} players")
        player.actor = str(actor)
        self.note(f"{player.name} plays {self.label(str(actor))}.")

    def kick(self, secret: object, pid: int) -> None:
        with self.lock:
            self._teacher(secret)
            player = self._player(pid)
            del self.players[pid]
            for actor, pend in list(self.pending.items()):
                # by player number, not name: two students may share a name
                if pend.pid == player.pid and actor == player.actor:
                    del self.pending[actor]
            self.note(f"The teacher removed {player.name}.")
            self._changed()

    def set_country_lock(self, secret: object, on: bool) -> None:
        """Whether students may pick a country after the start (off: they may, as in the lobby)."""
        with self.lock:
            self._teacher(secret)
            self.settings.lock_countries = bool(on)
            self.note("Countries fixed after the start: the teacher assigns them." if on
                      else "Students may pick a country during the game.")
            self._changed()

    def reassign(self, secret: object, pid: int, actor: str | None) -> None:
        with self.lock:
            self._teacher(secret)
            self._seat(self._player(pid), actor, "Reassign")
            self._changed()

    def _player(self, pid: object) -> Player:
        if not isinstance(pid, int) or pid not in self.players:
            raise RoomError("Player", f"no player number {pid!r} in this room")
        return self.players[pid]

    # ------------------------------------------------------------------------ the month
    def advice(self) -> Advice:
        """The model's advice for the month being chosen (computed once per version)."""
        with self.lock:
            key = (id(self.world), self.world.month, id(self.world.spec))
            if self._advice is None or self._advice[0] != key:
                self._advice = (key, self.world.advice())
            return self._advice[1]

    def options(self, actor: str) -> list[str]:
        i = self.spec.actor_index(actor)
        return [a for k, a in enumerate(self.spec.actions) if self.spec.allowed[i, k]]

    def scheduled(self, actor: str) -> str | None:
        """The scenario's move for ``actor`` this month, if the record decides it."""
        if self.world.finished:
            return None
        k = int(self.spec.forced[self.world.month, self.spec.actor_index(actor)])
        return self.spec.actions[k] if k >= 0 else None

    def choose(self, token: object, action: object) -> None:
        """A student's choice for the country they hold, for the month being chosen."""
        with self.lock:
            player = self.player_of(token)
            if player.actor is None:
                raise RoomError("Country", "pick a country first")
            if self.status != "playing":
                raise RoomError("Move", {"lobby": "the game has not started yet",
                                         "paused": "the teacher has paused the game",
                                         "ended": "the game has ended"}[self.status])
            if action not in self.options(player.actor):
                raise RoomError("Move", f"{self.label(player.actor)} cannot use {action!r}")
            if self.scheduled(player.actor) is not None:
                raise RoomError("Move", "this month the historical record decides for "
                                f"{self.label(player.actor)}")
            self.pending[player.actor] = Pending(str(action), player.name, player.pid)
            self._changed()  # saved: a restart mid-month keeps the choices made so far

    def close_month(self, secret: object | None = None, by: str = "teacher") -> MonthRecord:
        """Play the month: humans' moves imposed, the unchosen fall back to the rule, logged."""
        with self.lock:
            if by == "teacher":
                self._teacher(secret)
            if self.status == "lobby":
                raise RoomError("Close month", "press Start first")
            if self.status == "ended" or self.world.finished:
                raise RoomError("Close month", "the game has ended")
            advice = self.advice()
            imposed: dict[int, int] = {}
            fallback = []
            for actor in self.settings.humans:
                i = self.spec.actor_index(actor)
                if advice.forced[i] >= 0:
                    continue  # the record decides this month
                if actor in self.pending:
                    imposed[i] = self.spec.action_index(self.pending[actor].action)
                else:
                    imposed[i] = int(advice.pick[i])
                    fallback.append(actor)
            date = self.world.date
            record = self._play(imposed, advice, by, set(fallback))
            if fallback:
                why = "Timer ran out" if by == "timer" else "Month closed"
                self.note(date, f"{why}: no choice from "
                          + ", ".join(self.label(a) for a in fallback)
                          + "; the model's rule played for them.")
            self.pending.clear()
            if self.world.finished:
                self.status = "ended"
                self.deadline = None
            else:
                self._start_timer()
            self._changed()
            return record

    def _play(self, imposed: dict[int, int], advice: Advice, by: str,
              fallback: set[str]) -> MonthRecord:
        t, spec = self.world.month, self.spec
        date = self.world.date
        self.world.play(imposed)
        payoffs = self.world.recorder.payoffs[t, 0]
        moves = []
        for i, actor in enumerate(spec.actors):
            action = int(self.world.recorder.actions[t, 0, i])
            if advice.forced[i] >= 0:
                who = "scenario"
            elif actor in fallback:
                who = "fallback"
            elif i in imposed:
                who = "human"
            else:
                who = "model"
            q = advice.expected[i]
            best = advice.best(i)
            players = tuple(p.name for p in self.members(actor)) if who == "human" else ()
            if who == "human" and actor in self.pending:
                players = (self.pending[actor].player,
                           *(n for n in players if n != self.pending[actor].player))
            moves.append(Move(actor, spec.actions[action], who, players,
                              spec.actions[int(advice.pick[i])], spec.actions[best],
                              float(q[best] - q[action]), float(payoffs[i])))
        record = MonthRecord(t, date, moves, by, self.world.axis)
        self.months.append(record)
        return record

    def tick(self) -> bool:
        """Close the month if its timer ran out (the registry's ticker calls it); True if so."""
        with self.lock:
            if self.status == "playing" and self.deadline is not None:
                now = self.clock()
                if now >= self.deadline:
                    self.close_month(by="timer")
                    return True
                if self._saved_at is not None and now - self._saved_at >= SAVE_EVERY_S:
                    self.save()  # so a restart resumes the timer near where it was
            return False

    def seconds_left(self) -> float | None:
        with self.lock:
            if self.deadline is not None:
                return max(0.0, self.deadline - self.clock())
            return self.remaining

    def _start_timer(self) -> None:
        self.remaining = None
        self.deadline = (self.clock() + self.settings.timer_s
                         if self.settings.timer_s > 0 and self.status == "playing" else None)

    # --------------------------------------------------------------------- teacher controls
    def start(self, secret: object) -> None:
        """Start (from the lobby) or resume (after a pause)."""
        with self.lock:
            self._teacher(secret)
            if self.status == "ended":
                raise RoomError("Start", "the game has ended")
            was, self.status = self.status, "playing"
            if was == "paused" and self.remaining is not None:
                self.deadline, self.remaining = self.clock() + self.remaining, None
            elif was != "playing":
                self._start_timer()
            self.note("The teacher started the game." if was == "lobby" else "Resumed.")
            self._changed()

    def pause(self, secret: object) -> None:
        with self.lock:
            self._teacher(secret)
            if self.status != "playing":
                raise RoomError("Pause", "the game is not running")
            self.status = "paused"
            if self.deadline is not None:
                self.remaining, self.deadline = max(0.0, self.deadline - self.clock()), None
            self.note("Paused by the teacher.")
            self._changed()

    def end(self, secret: object) -> None:
        with self.lock:
            self._teacher(secret)
            self.status, self.deadline, self.remaining = "ended", None, None
            self.note("The teacher ended the game.")
            self._changed()

    def set_timer(self, secret: object, seconds: object) -> None:
        """The month timer (s, 0 = off); it restarts now for the month being chosen (a teacher
        sets it when the room waits for someone who has gone)."""
        with self.lock:
            self._teacher(secret)
            self.settings.timer_s = check_timer(seconds)
            if self.status == "paused":
                self.remaining = float(self.settings.timer_s) or None
            else:
                self._start_timer()
            self.note(f"Timer set to {self.settings.timer_s} s." if self.settings.timer_s
                      else "Timer off.")
            self._changed()

    def show_debrief(self, secret: object, on: bool = True) -> None:
        """Put the debrief on the board (and the teacher's screen) before the game ends: a
        room-wide flag, since the board is another browser session than the teacher's."""
        with self.lock:
            self._teacher(secret)
            self.debrief_shown = bool(on)
            self._changed(save=False)

    def set_advice(self, secret: object, on: bool) -> None:
        with self.lock:
            self._teacher(secret)
            self.settings.advice = bool(on)
            self.note("Advice shown to students." if on else "Advice hidden from students.")
            self._changed()

    def undo(self, secret: object) -> None:
        """Take back the last month: its humans' moves become pending choices again.

        Changes the teacher made after that month was closed are dropped with it (they were
        stamped for the month that no longer follows).
        """
        with self.lock:
            self._teacher(secret)
            if not self.months:
                raise RoomError("Undo", "no month has been played yet")
            last = self.months.pop()
            dropped = [c for c in self.changes if c.month > last.month]
            self.changes = [c for c in self.changes if c.month <= last.month]
            self.rebuild()
            self.pending = {m.actor: self._pending_of(m) for m in last.moves if m.by == "human"}
            if self.status == "ended" and not self.world.finished:
                self.status = "paused"
            self._start_timer()
            self.note(f"The teacher took back {last.date}"
                      + (f" and {len(dropped)} change(s) made after it." if dropped else "."))
            self._changed()

    def _pending_of(self, move: Move) -> Pending:
        """A closed human move as a pending choice again (undo), its chooser found by name."""
        name = move.players[0] if move.players else ""
        pid = next((p.pid for p in self.members(move.actor) if p.name == name), 0)
        return Pending(move.action, name, pid)

    def change_parameter(self, secret: object, key: str, value: object) -> Change | None:
        """A live control of the seminar page, from the month being chosen on."""
        with self.lock:
            self._teacher(secret)
            control = CONTROL_BY_KEY.get(key)
            if control is None or key not in LIVE_KEYS:
                raise RoomError("Parameter", f"{key!r} cannot be changed mid-game; allowed: "
                                + ", ".join(LIVE_KEYS))
            try:
                new = float(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise RoomError(control.label, f"must be a number (got {value!r})") from None
            if not control.lo - 1e-9 <= new <= control.hi + 1e-9:
                raise RoomError(control.label, f"must be between {control.show(control.lo)} and "
                                f"{control.show(control.hi)} (got {control.show(new)})")
            old = float(self._params()[key])
            if abs(new - old) < 1e-12:
                return None
            change = Change(self.world.month, "param", key, old, new,
                            f"{control.label}: {control.show(old)} → {control.show(new)}")
            return self._apply_change(change)

    def move_event(self, secret: object, index: int, month: int) -> Change:
        """Trigger a scheduled event that has not happened yet earlier or later."""
        with self.lock:
            self._teacher(secret)
            events = self.world.config.scenario.events
            if not isinstance(index, int) or not 0 <= index < len(events):
                raise RoomError("Event", f"no event number {index!r} in this scenario")
            now = self.world.month
            current = self._moved().get(index, self._event_month(index))
            if current < now:
                raise RoomError("Event", f"{events[index].name!r} has already happened")
            if not isinstance(month, int) or not now <= month < self.spec.months:
                raise RoomError("Event month", f"must be from {self.world.date} to "
                                f"{self.spec.start.plus(self.spec.months - 1)}")
            change = Change(now, "event", str(index), float(current), float(month),
                            f"Event {events[index].name!r}: {self.spec.start.plus(current)} → "
                            f"{self.spec.start.plus(month)}")
            return self._apply_change(change)  # type: ignore[return-value]

    def param(self, key: str) -> float:
        """A live control's value in force now."""
        return float(self._params()[key])

    def events(self) -> list[tuple[int, str, str, str]]:
        """The scenario's events at the dates in force (the teacher's moves applied):
        (month index, name, description, source), those inside the run.

        Why not ``self.world.events()``: the world reads its config, which keeps the scenario's
        original dates; a moved event must be shown and narrated at its new month.
        """
        with self.lock:
            evs = self.world.config.scenario.events
            return [(t, ev.name, ev.description, ev.source)
                    for (t, _), ev in zip(self.event_months(), evs, strict=True)
                    if 0 <= t < self.spec.months]

    def state_key(self) -> tuple:
        """What the game's derived results depend on: every closed month's moves and every
        change, by value. A counter of months or changes is not enough: undo plus a different
        move gives the same counts and another game."""
        with self.lock:
            return (self.code, self.settings.scenario, self.settings.seed,
                    tuple((r.month, r.axis, tuple((m.actor, m.action, m.by) for m in r.moves))
                          for r in self.months),
                    tuple((c.month, c.kind, c.key, c.new) for c in self.changes))

    def event_months(self) -> list[tuple[int, str]]:
        """Each scenario event's month now (after the teacher's moves) and its name."""
        moved = self._moved()
        return [(moved.get(j, self._event_month(j)), ev.name)
                for j, ev in enumerate(self.world.config.scenario.events)]

    def _event_month(self, index: int) -> int:
        from alignsim.kernel.calendar import parse_month

        base = world_spec(params_key(self._params(0)))
        date = self.world.config.scenario.events[index].date
        return parse_month(date).index_from(base.start)

    def _apply_change(self, change: Change) -> Change:
        self.changes.append(change)
        self.world.use_spec(self.spec_at(self.world.month))
        self.world.interventions = self.marks()
        self.note(f"The teacher changed, from {self.world.date}: {change.text}.")
        self._changed()
        return change

    # --------------------------------------------------------------- schedule and replay
    def _params(self, month: int | None = None) -> dict[str, Any]:
        """The flat parameters in force at ``month`` (default: now)."""
        month = self.world.month if month is None else month
        p = default_values() | {"scenario_name": self.settings.scenario}
        for c in self.changes:
            if c.kind == "param" and c.month <= month:
                p[c.key] = c.new
        return p

    def _moved(self, month: int | None = None) -> dict[int, int]:
        month = self.world.month if month is None else month
        return {int(c.key): int(c.new) for c in self.changes if c.kind == "event"
                and c.month <= month}

    def spec_at(self, month: int):
        """The Spec in force at ``month``: base settings plus the changes made up to then."""
        return world_spec(params_key(self._params(month)),
                          tuple(sorted(self._moved(month).items())))

    def schedule(self) -> list:
        """The Spec of every month of the run (the model-only ensemble replays it)."""
        months = self.world.spec.months
        return [self.spec_at(min(t, self.world.month)) for t in range(months)]

    def marks(self) -> list:
        """The teacher's changes as the seminar page's interventions (marked on the charts)."""
        from alignsim.demo.world import Intervention

        return [Intervention(c.month, str(self.spec.start.plus(c.month)),
                             ((c.key, c.old, c.new),)) for c in self.changes
                if c.kind == "param"]

    def rebuild(self) -> None:
        """Replay the world from the seed: settings, the changes at their months, the moves."""
        world = self._new_world()
        for rec in self.months:
            spec = self.spec_at(rec.month)
            if spec is not world.spec:
                world.use_spec(spec)
            imposed = {world.spec.actor_index(m.actor): world.spec.action_index(m.action)
                       for m in rec.moves if m.by in ("human", "fallback")}
            world.play(imposed)
            if abs(world.axis - rec.axis) > 1e-9:
                raise RoomError("Saved game", f"replay differs from the record at {rec.date} "
                                "(the model changed since the game was saved)")
        spec = self.spec_at(world.month)
        if spec is not world.spec:
            world.use_spec(spec)
        self.world = world
        self.world.interventions = self.marks()
        self._advice = None

    # ------------------------------------------------------------------------- saving
    def _changed(self, save: bool = True) -> None:
        if save:
            self.save()
        self._bump()

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "code": self.code, "created": self.created,
            "teacher_hash": self.teacher_hash, "settings": asdict(self.settings),
            "status": self.status, "players": [asdict(p) for p in self.players.values()],
            "pending": {a: asdict(p) for a, p in self.pending.items()},
            "changes": [asdict(c) for c in self.changes],
            "months": [asdict(m) for m in self.months], "notes": self.notes,
            "remaining": self.seconds_left(),
        }

    def save(self) -> None:
        """Write the room's file atomically (temporary file, then rename)."""
        if self.folder is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.code}.json"
        tmp = path.with_suffix(".json.tmp")
        with self.lock:
            text = json.dumps(self.to_json(), ensure_ascii=False, indent=1)
            self._saved_at = self.clock()
        tmp.write_text(text)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path, clock: Callable[[], float] = time.monotonic) -> Room:
        """A saved room, its world replayed; a running game comes back paused.

        Whatever is wrong with the file (not JSON, a field missing or of the wrong type, an
        unknown actor or action, an event that does not exist, a replay that differs) is one
        :class:`RoomError` naming the file and the field, never a traceback on the page.
        """
        where = "the file"
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError(f"not an alignsim room file (a {type(data).__name__})")
            if data.get("format") != FORMAT:
                raise ValueError(f"not an alignsim room file ({data.get('format')!r})")
            where = "settings"
            s = data["settings"]
            settings = Settings(s["scenario"], int(s["seed"]), tuple(s["humans"]),
                                int(s["timer_s"]), bool(s["advice"]), str(s.get("title", "")),
                                bool(s.get("lock_countries", True)))
            if settings.scenario not in SCENARIOS:
                raise ValueError(f"unknown scenario {settings.scenario!r}")
            where = "code"
            room = cls(str(data["code"]), settings, str(data["teacher_hash"]), path.parent,
                       clock)
            spec = room.spec
            unknown = set(settings.humans) - set(spec.actors)
            if unknown:
                raise ValueError(f"unknown actor {sorted(unknown)[0]!r}")
            where = "created"
            room.created = str(data["created"])
            where = "players"
            room.players = {int(p["pid"]): Player(**p) for p in data["players"]}
            for p in room.players.values():
                if p.actor is not None and p.actor not in settings.humans:
                    raise ValueError(f"{p.name!r} plays {p.actor!r}, not a students' country")
            where = "pending"
            room.pending = {a: Pending(**p) for a, p in data["pending"].items()}
            for a, pend in room.pending.items():
                _check_move(spec, a, pend.action, settings.humans)
            where = "changes"
            room.changes = [Change(**c) for c in data["changes"]]
            n_events = len(room.world.config.scenario.events)
            for c in room.changes:
                if c.kind == "param" and c.key not in CONTROL_BY_KEY:
                    raise ValueError(f"unknown parameter {c.key!r}")
                if c.kind == "event" and not (c.key.isdecimal() and int(c.key) < n_events
                                              and 0 <= int(c.new) < spec.months):
                    raise ValueError(f"no event number {c.key!r} (or month {c.new!r})")
                if c.kind not in ("param", "event"):
                    raise ValueError(f"unknown kind {c.kind!r}")
            where = "months"
            room.months = [MonthRecord(int(m["month"]), str(m["date"]),
                                       [Move(**{**mv, "players": tuple(mv["players"])})
                                        for mv in m["moves"]], str(m["closed_by"]),
                                       float(m["axis"]))
                           for m in data["months"]]
            for rec in room.months:
                for mv in rec.moves:
                    _check_move(spec, mv.actor, mv.action, spec.actors)
            where = "notes"
            room.notes = [str(n) for n in data["notes"]]
            where = "status"
            status = data["status"]
            if status not in STATUSES:
                raise ValueError(f"must be one of {', '.join(STATUSES)} (got {status!r})")
            where = "remaining"
            remaining = data.get("remaining")
            remaining = None if remaining is None else max(0.0, float(remaining))
            where = "months (replay)"
            room.rebuild()
        except RoomError as err:
            raise RoomError("Saved game", f"{path.name}, {where}: {err.message}") from None
        except KeyError as err:
            raise RoomError("Saved game", f"{path.name} cannot be read ({where}: field "
                            f"{err.args[0]!r} missing)") from None
        except (OSError, ValueError, TypeError, IndexError, AttributeError) as err:
            raise RoomError("Saved game", f"{path.name} cannot be read ({where}: {err})"
                            ) from None
        room.status = "paused" if status == "playing" else status
        room.remaining = remaining
        if status == "playing":
            room.note("Server restarted: the game resumes paused.")
        return room

    # ------------------------------------------------------------------------- reading
    def human_payoffs(self) -> dict[str, float]:
        totals = self.world.cumulative_payoffs()
        return {a: float(totals[self.spec.actor_index(a)]) for a in self.settings.humans}

    def axis_series(self) -> np.ndarray:
        return self.world.series()["axis"]
