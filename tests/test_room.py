"""The seminar room's logic without a browser (issue 16): rules, timer fallback, undo, resume,
two rooms, escaping, teacher's changes, the debrief, and that humans' moves go through the
same kernel as the model's."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from alignsim.ensemble import run_ensemble
from alignsim.room import debrief as debriefs
from alignsim.room import views
from alignsim.room.registry import Registry
from alignsim.room.room import NAME_MAX, Room, RoomError, Settings
from alignsim.room.world import RoomWorld

HUMANS = ("russia", "kazakhstan", "turkiye")


class Clock:
    """A clock the test moves by hand (the room's timer reads it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _room(tmp_path: Path | None = None, timer: int = 0, seed: int = 7,
          scenario: str = "history", clock=None) -> tuple[Room, str]:
    settings = Settings.checked(scenario, str(seed), HUMANS, str(timer))
    kwargs = {"clock": clock} if clock is not None else {}
    return Room.open(settings, tmp_path, **kwargs)


def _seat(room: Room, name: str, actor: str) -> str:
    _, token = room.join(room.code, name)
    room.pick(token, actor)
    return token


# --------------------------------------------------------------------------- one kernel
def test_humans_who_follow_the_advice_reproduce_the_model_only_run() -> None:
    """A class that always plays the rule's pick gets replicate 0 of the ensemble exactly:
    the humans' moves enter through the kernel's forced-move path, nothing else changes."""
    room, secret = _room(seed=11)
    tokens = {a: _seat(room, a.title(), a) for a in HUMANS}
    room.start(secret)
    for _ in range(8):
        adv = room.advice()
        for actor, token in tokens.items():
            if room.scheduled(actor) is None:
                room.choose(token, room.spec.actions[int(adv.pick[room.spec.actor_index(actor)])])
        room.close_month(secret)
    reference = run_ensemble(room.spec, 1, 11).axis[:9, 0]
    np.testing.assert_allclose(room.axis_series(), reference, rtol=0, atol=1e-12)
    assert all(m.by in ("human", "scenario", "model") for r in room.months for m in r.moves)


def test_a_human_move_is_what_the_world_plays_and_changes_it() -> None:
    room, secret = _room(seed=3)
    token = _seat(room, "Anna", "russia")
    room.start(secret)
    room.close_month(secret)  # Jan 2022: the record decides Russia's move
    assert room.months[0].moves[1].by == "scenario"
    room.choose(token, "pipeline_halt")
    rec = room.close_month(secret)
    russia = next(m for m in rec.moves if m.actor == "russia")
    assert (russia.action, russia.by, russia.players) == ("pipeline_halt", "human", ("Anna",))
    assert room.world.recorder.actions[1, 0, room.spec.actor_index("russia")] == \
        room.spec.action_index("pipeline_halt")
    model_only = RoomWorld(scenario_name="history", seed=3)
    model_only.step()
    model_only.step()
    assert model_only.axis != pytest.approx(room.world.axis, abs=1e-12)


# ------------------------------------------------------------------------------- rules
def test_joining_needs_the_code_and_controls_need_the_teacher_secret() -> None:
    room, secret = _room()
    with pytest.raises(RoomError, match="Room code"):
        room.join("WRONG1", "Anna")
    token = _seat(room, "Anna", "russia")
    before = room.to_json()
    for control in (lambda s: room.start(s), lambda s: room.close_month(s),
                    lambda s: room.undo(s), lambda s: room.end(s),
                    lambda s: room.change_parameter(s, "halt_severity", 0.5),
                    lambda s: room.kick(s, 1), lambda s: room.pause(s),
                    lambda s: room.set_timer(s, "30"), lambda s: room.set_advice(s, False),
                    lambda s: room.reassign(s, 1, "turkiye"),
                    lambda s: room.move_event(s, 0, 5),
                    lambda s: room.set_country_lock(s, False),
                    lambda s: room.show_debrief(s)):
        for bad in (None, "", token, secret + "x"):
            with pytest.raises(RoomError, match="Teacher secret"):
                control(bad)
    assert room.status == "lobby" and len(room.players) == 1
    assert room.to_json() == before  # nothing changed: not the timer, advice, seats, events
    assert not room.debrief_shown
    room.show_debrief(secret)
    assert room.debrief_shown  # room-wide: the board shows it too


def test_a_student_acts_only_for_their_own_country() -> None:
    room, secret = _room()
    anna = _seat(room, "Anna", "russia")
    _, nobody = room.join(room.code, "Bob")
    room.start(secret)
    room.close_month(secret)
    with pytest.raises(RoomError, match="Country: pick a country first"):
        room.choose(nobody, "summit")
    with pytest.raises(RoomError, match="played by the model"):
        room.pick(nobody, "china")
    with pytest.raises(RoomError, match="Russia cannot use 'investment_fund'"):
        room.choose(anna, "investment_fund")
    with pytest.raises(RoomError, match="Player"):
        room.choose("forged-token", "summit")
    room.choose(anna, "summit")
    assert set(room.pending) == {"russia"}


def test_teams_share_a_country_and_kick_removes_a_player() -> None:
    room, secret = _room()
    a = _seat(room, "Anna", "turkiye")
    _seat(room, "Ben", "turkiye")
    assert [p.name for p in room.members("turkiye")] == ["Anna", "Ben"]
    room.start(secret)
    room.choose(a, "summit")
    room.kick(secret, 1)
    assert "turkiye" not in room.pending  # the removed player's choice goes with them
    with pytest.raises(RoomError, match="Player"):
        room.choose(a, "summit")
    room.reassign(secret, 2, "kazakhstan")
    assert [p.name for p in room.members("kazakhstan")] == ["Ben"]


# ---------------------------------------------------------------------- timer fallback
def test_the_timer_closes_the_month_and_unchosen_countries_fall_back_to_the_rule() -> None:
    clock = Clock()
    room, secret = _room(timer=30, clock=clock)
    anna = _seat(room, "Anna", "russia")
    _seat(room, "Ben", "turkiye")  # Ben never chooses (closed the tab)
    room.start(secret)
    room.close_month(secret)
    advice = room.advice()
    room.choose(anna, "summit")
    clock.now += 29.0
    assert not room.tick() and room.world.month == 1
    clock.now += 1.5
    assert room.tick()
    rec = room.months[-1]
    assert rec.closed_by == "timer" and room.world.month == 2
    moves = {m.actor: m for m in rec.moves}
    assert moves["russia"].by == "human"
    for actor in ("turkiye", "kazakhstan"):
        i = room.spec.actor_index(actor)
        assert moves[actor].by == "fallback"
        assert moves[actor].action == room.spec.actions[int(advice.pick[i])]
    assert "Timer ran out" in room.notes[-1] and "Türkiye" in room.notes[-1]
    assert "nobody chose" in views.shared(room)["log"]
    assert room.seconds_left() == pytest.approx(30.0)  # the next month's timer started


def test_pause_stops_the_timer() -> None:
    clock = Clock()
    room, secret = _room(timer=30, clock=clock)
    anna = _seat(room, "Anna", "russia")  # in the lobby: countries are fixed after the start
    room.start(secret)
    clock.now += 10
    room.pause(secret)
    clock.now += 100
    assert not room.tick() and room.seconds_left() == pytest.approx(20.0)
    with pytest.raises(RoomError, match="paused"):
        room.choose(anna, "summit")
    room.start(secret)
    clock.now += 20.5
    assert room.tick() and room.world.month == 1


# ------------------------------------------------------------------------ undo, resume
def test_undo_takes_back_the_last_month_and_keeps_the_humans_choices() -> None:
    room, secret = _room(seed=5)
    anna = _seat(room, "Anna", "russia")
    room.start(secret)
    room.close_month(secret)
    axis_after_1 = room.world.axis
    room.choose(anna, "pipeline_halt")
    first = room.close_month(secret)
    room.undo(secret)
    assert room.world.month == 1 and room.world.axis == pytest.approx(axis_after_1, abs=0)
    assert room.pending["russia"].action == "pipeline_halt"
    again = room.close_month(secret)
    assert again.axis == pytest.approx(first.axis, abs=1e-12)
    room.undo(secret)
    room.undo(secret)
    with pytest.raises(RoomError, match="Undo: no month"):
        room.undo(secret)


def test_a_saved_game_resumes_after_a_restart(tmp_path: Path) -> None:
    room, secret = _room(tmp_path, timer=60, seed=9)
    anna = _seat(room, "Anna", "russia")
    room.start(secret)
    room.close_month(secret)
    room.change_parameter(secret, "halt_severity", 0.4)
    room.choose(anna, "pipeline_halt")
    room.close_month(secret)
    room.close_month(secret)
    saved = json.loads((tmp_path / f"{room.code}.json").read_text())
    assert "Anna" in json.dumps(saved) and anna not in json.dumps(saved)  # tokens only hashed
    assert secret not in json.dumps(saved)
    back = Registry(tmp_path).get(room.code)  # a new server: only the file
    assert back is not room and back.world.month == 3
    np.testing.assert_array_equal(back.axis_series(), room.axis_series())
    assert back.status == "paused"  # a running game comes back paused, its timer kept
    assert back.is_teacher(secret) and back.player_of(anna).actor == "russia"
    assert back.param("halt_severity") == pytest.approx(0.4)
    back.start(secret)
    assert back.close_month(secret).axis == pytest.approx(room.close_month(secret).axis)


def test_a_broken_save_gives_one_message(tmp_path: Path) -> None:
    (tmp_path / "ABCDEF.json").write_text("{not json")
    with pytest.raises(RoomError, match=r"Saved game: ABCDEF\.json cannot be read"):
        Registry(tmp_path).get("abcdef")
    with pytest.raises(RoomError, match="Room code: no room"):
        Registry(tmp_path).get("ZZZZZZ")
    with pytest.raises(RoomError, match="Room code: 6 letters"):
        Registry(tmp_path).get("<b>")


def test_two_rooms_do_not_mix(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    a, sa = reg.open("", Settings.checked("history", "1", HUMANS, "0"))
    b, sb = reg.open("", Settings.checked("history", "1", HUMANS, "0"))
    assert a.code != b.code and reg.get(a.code) is a and reg.get(b.code) is b
    ta, tb = _seat(a, "Anna", "russia"), _seat(b, "Ben", "russia")
    with pytest.raises(RoomError, match="Room code"):
        b.join(a.code, "Eve")
    with pytest.raises(RoomError, match="Teacher secret"):
        b.start(sa)
    a.start(sa)
    b.start(sb)  # b playing: a refusal can only be for the token, not "not started yet"
    b.close_month(sb)
    with pytest.raises(RoomError, match="Player: not in this room"):
        b.choose(ta, "summit")
    assert b.pending == {}
    a.close_month(sa)
    for room, secret, token, action in ((a, sa, ta, "pipeline_halt"), (b, sb, tb, "summit")):
        room.choose(token, action)
        room.close_month(secret)
    assert a.months[1].moves[1].action == "pipeline_halt" and b.months[1].moves[1].action \
        == "summit"
    assert a.axis_series()[-1] != b.axis_series()[-1]
    assert [p.name for p in a.players.values()] == ["Anna"]


# ------------------------------------------------------------------------ input, escaping
def test_names_are_limited_cleaned_and_escaped() -> None:
    room, _ = _room()
    with pytest.raises(RoomError, match=f"Name: at most {NAME_MAX}"):
        room.join(room.code, "x" * (NAME_MAX + 1))
    with pytest.raises(RoomError, match="Name: type your name"):
        room.join(room.code, " \t\n")
    player, token = room.join(room.code, "<script>alert(1)</b>\x00")
    assert player.name == "<script>alert(1)</b>"
    room.pick(token, "turkiye")
    html = views.shared(room)["scores"] + views.player_html(room, player) + views.shared(
        room)["log"]
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/b&gt;" in html


def test_bad_settings_and_controls_name_the_field() -> None:
    with pytest.raises(RoomError, match="Random seed: must be a whole number"):
        Settings.checked("history", "-1", HUMANS)
    with pytest.raises(RoomError, match="Scenario"):
        Settings.checked("mars", "1", HUMANS)
    with pytest.raises(RoomError, match="Countries played by students: tick"):
        Settings.checked("history", "1", [])
    with pytest.raises(RoomError, match="Timer: must be a whole number"):
        Settings.checked("history", "1", HUMANS, "ten")
    room, secret = _room()
    with pytest.raises(RoomError, match="How much of the CPC flow a halt stops: must be between"):
        room.change_parameter(secret, "halt_severity", 2.0)
    with pytest.raises(RoomError, match="Parameter: 'cpc_share' cannot be changed"):
        room.change_parameter(secret, "cpc_share", 0.5)
    with pytest.raises(RoomError, match="Close month: press Start first"):
        room.close_month(secret)


# ------------------------------------------------------------------- teacher's changes
def test_a_parameter_change_applies_from_its_month_and_is_marked() -> None:
    room, secret = _room(seed=2)
    room.start(secret)
    room.close_month(secret)
    room.change_parameter(secret, "coercion_appetite", 3.0)
    assert room.spec.weights is not room.spec_at(0).weights
    assert room.spec_at(0) is not room.spec_at(1) and room.spec_at(1) is room.spec
    assert room.schedule()[0] is room.spec_at(0) and room.schedule()[-1] is room.spec
    assert "★1" in views.shared(room)["chart"]
    room.close_month(secret)
    log = views.shared(room)["log"]
    assert "★ Teacher, from this month: How much Russia gains from punishing defiance" in log


def test_an_event_moved_later_happens_later() -> None:
    room, secret = _room(seed=4)
    room.start(secret)
    months = room.event_months()
    halt = next(j for j, (_, name) in enumerate(months) if name == "CPC halt")
    assert months[halt][0] == 6
    room.move_event(secret, halt, 8)
    for _ in range(9):
        room.close_month(secret)
    russia = [r.moves[1] for r in room.months]
    assert russia[8].action == "pipeline_halt" and russia[8].by == "scenario"
    assert russia[6].by != "scenario"
    with pytest.raises(RoomError, match="already happened"):
        room.move_event(secret, halt, 20)


# ------------------------------------------------------------------------------ debrief
def test_the_debrief_compares_the_class_with_the_ensemble_and_the_rule() -> None:
    room, secret = _room(seed=6)
    anna = _seat(room, "Anna", "russia")
    room.start(secret)
    room.close_month(secret)
    for _ in range(3):
        room.choose(anna, "pipeline_halt")
        room.close_month(secret)
    d = debriefs.debrief(room, replicates=24)
    assert d.band.shape == (3, room.spec.months + 1)
    assert np.all(d.band[0] <= d.band[1]) and np.all(d.band[1] <= d.band[2])
    assert 0.0 <= d.percentile <= 100.0
    cls, rule = d.payoffs["russia"]
    assert cls == pytest.approx(room.human_payoffs()["russia"]) and cls != pytest.approx(rule)
    assert d.payoffs["turkiye"][0] == pytest.approx(d.payoffs["turkiye"][1])  # rule played it
    assert d.differed and d.differed[0][1].action == "pipeline_halt"
    html = debriefs.debrief_html(room, d)
    assert "model-only" in html and "Russia" in html
    rows = debriefs.moves_csv(room).strip().splitlines()
    assert len(rows) == 1 + 4 * room.spec.n_actors and "pipeline_halt,human,Anna" in rows[-5]
    assert debriefs.debrief_png(room, d)[:4] == b"\x89PNG"


def test_the_segmented_ensemble_is_the_ensemble_when_nothing_changed() -> None:
    room, _ = _room(seed=8)
    spec = room.spec
    import dataclasses

    copies = [dataclasses.replace(spec) for _ in range(spec.months)]  # same values, new objects
    np.testing.assert_array_equal(debriefs.ensemble_axis(copies, 8, 6),
                                  run_ensemble(spec, 6, 8, first_replicate=1).axis)


def test_the_join_qr_code_is_inline_svg() -> None:
    svg = views.qr_svg("http://10.0.0.5:8765/?room=ABCDEF")
    assert svg.startswith("<svg") and "room-qr" in svg and "http" not in svg.split(">", 1)[1]


def test_setting_the_timer_restarts_it_for_the_month_being_chosen() -> None:
    clock = Clock()
    room, secret = _room(timer=0, clock=clock)
    room.start(secret)
    assert room.seconds_left() is None
    room.set_timer(secret, "5")
    assert room.seconds_left() == pytest.approx(5.0)
    clock.now += 5
    assert room.tick() and room.months[-1].closed_by == "timer"
    room.set_timer(secret, 0)
    assert room.seconds_left() is None


def test_a_typed_control_value_is_read_in_the_controls_units() -> None:
    from alignsim.room.room import control_value

    assert control_value("halt_severity", "40 %") == pytest.approx(0.40)
    assert control_value("coercion_appetite", " 2.5 ") == pytest.approx(2.5)
    with pytest.raises(RoomError, match="How much of the CPC flow a halt stops: must be a number"):
        control_value("halt_severity", "lots")


# ----------------------------------------------------------------- review fixes (issue 16)
def _seated_room(tmp_path: Path | None = None, timer: int = 0, seed: int = 7,
                 clock=None) -> tuple[Room, str, dict[str, str]]:
    room, secret = _room(tmp_path, timer=timer, seed=seed, clock=clock)
    return room, secret, {a: _seat(room, a.title(), a) for a in HUMANS}


def test_a_moved_event_is_shown_and_narrated_at_its_new_month() -> None:
    room, secret = _room(seed=4)
    room.start(secret)
    halt = next(j for j, (_, name) in enumerate(room.event_months()) if name == "CPC halt")
    room.move_event(secret, halt, 8)
    for _ in range(9):
        room.close_month(secret)
    log = views.log_html(room)
    month = {int(m): body for m, body in re.findall(
        r"data-month='(\d+)'>(.*?)(?=<div class='room-month-log'|</div><details)", log, re.S)}
    assert "Event: <b>CPC halt</b>" not in month[6]
    assert "Event: <b>CPC halt</b>" in month[8]
    badges = {m.title.split(" ", 1)[1].split(":")[0]: m.month for m in views.event_marks(room)
              if m.kind == "event"}
    assert badges["CPC halt"] == 8
    assert "2022-09 CPC halt" in views.marks_html(room, True)


def test_the_debrief_does_not_hold_the_rooms_lock_while_computing(monkeypatch) -> None:
    """A student's choose while the ensemble runs returns at once (the lock is free)."""
    room, secret, tokens = _seated_room(seed=6)
    room.start(secret)
    room.close_month(secret)
    done: list[float] = []
    real = debriefs.ensemble_axis

    def slow_ensemble(*args, **kwargs):
        t0 = time.monotonic()
        worker = threading.Thread(target=lambda: (room.choose(tokens["turkiye"], "summit"),
                                                  done.append(time.monotonic() - t0)))
        worker.start()
        worker.join(timeout=10.0)  # generous: a loaded 2-core machine
        return real(*args, **kwargs)

    monkeypatch.setattr(debriefs, "ensemble_axis", slow_ensemble)
    debriefs.debrief(room, replicates=4)
    assert done and done[0] < 10.0
    assert room.pending["turkiye"].action == "summit"


def test_the_debrief_cache_follows_the_game_not_its_counts(monkeypatch) -> None:
    """Undo and a different change: same number of months, changes and last axis, another
    game; the cached debrief must be recomputed."""
    monkeypatch.setattr(debriefs, "REPLICATES", 12)
    room, secret = _room(seed=3)
    room.start(secret)
    room.close_month(secret)
    room.change_parameter(secret, "halt_severity", 0.3)
    first_key = room.state_key()
    first = debriefs.cached(room)
    assert debriefs.cached(room) is first  # cached for the same state
    room.undo(secret)  # drops the change made after month 0
    room.close_month(secret)
    room.change_parameter(secret, "halt_severity", 0.9)
    assert len(room.changes) == 1 and room.state_key() != first_key
    second = debriefs.cached(room)
    assert second is not first
    assert not np.array_equal(second.band, first.band)


def test_a_remembered_select_value_that_is_gone_falls_back_to_the_first() -> None:
    from alignsim.room.page import offered

    assert offered("CPC halt", ["Turkmen gas deal", "Other"]) == "Turkmen gas deal"
    assert offered("Other", ["Turkmen gas deal", "Other"]) == "Other"


def test_the_board_view_carries_no_secret() -> None:
    from alignsim.room import page

    room, secret = _room()
    assert page.board_path(room) == f"/?room={room.code}&view=board"
    assert secret not in page.board_path(room)


def test_countries_are_fixed_once_the_game_has_started() -> None:
    room, secret = _room()
    anna = _seat(room, "Anna", "russia")
    _, eve = room.join(room.code, "Eve")  # joins in the lobby, picks nothing yet
    room.start(secret)
    for token in (anna, eve):
        with pytest.raises(RoomError, match="Country: countries are fixed once the game has "
                           "started: ask the teacher"):
            room.pick(token, "turkiye")
    _, late = room.join(room.code, "Anna again")  # rejoining under another name: no seat
    with pytest.raises(RoomError, match="countries are fixed"):
        room.pick(late, "kazakhstan")
    assert room.player_of(anna).actor == "russia" and room.members("kazakhstan") == []
    room.reassign(secret, room.player_of(eve).pid, "turkiye")  # the teacher still assigns
    assert room.player_of(eve).actor == "turkiye"
    room.set_country_lock(secret, False)
    room.pick(late, "kazakhstan")
    assert room.player_of(late).actor == "kazakhstan"


def test_a_restart_mid_month_keeps_the_choice_and_the_timer(tmp_path: Path) -> None:
    clock = Clock()
    room, secret, tokens = _seated_room(tmp_path, timer=120, clock=clock)
    room.start(secret)
    room.close_month(secret)
    clock.now += 30
    room.choose(tokens["turkiye"], "summit")
    back = Room.load(tmp_path / f"{room.code}.json", clock=clock)  # crash now: only the file
    assert back.pending["turkiye"].action == "summit"
    assert back.status == "paused" and back.seconds_left() == pytest.approx(90.0)
    clock.now += 5
    room.tick()  # no save yet: less than SAVE_EVERY_S since the choice
    back = Room.load(tmp_path / f"{room.code}.json", clock=clock)
    assert back.seconds_left() == pytest.approx(90.0)
    clock.now += 5
    room.tick()  # a running timer is saved every SAVE_EVERY_S
    back = Room.load(tmp_path / f"{room.code}.json", clock=clock)
    assert back.seconds_left() == pytest.approx(80.0)
    clock.now += 3
    room.pause(secret)
    back = Room.load(tmp_path / f"{room.code}.json", clock=clock)
    assert back.seconds_left() == pytest.approx(77.0)
    back.start(secret)
    clock.now += 76
    assert not back.tick()
    clock.now += 1.5
    assert back.tick()
    assert next(m for m in back.months[-1].moves if m.actor == "turkiye").action == "summit"


def _saved(tmp_path: Path) -> tuple[Path, dict]:
    room, secret, tokens = _seated_room(tmp_path, seed=5)
    room.start(secret)
    room.close_month(secret)
    room.move_event(secret, 5, 7)  # the CPC halt, a month later
    room.choose(tokens["turkiye"], "summit")
    room.close_month(secret)
    path = tmp_path / f"{room.code}.json"
    return path, json.loads(path.read_text())


@pytest.mark.parametrize(("damage", "field"), [
    (lambda d: d["months"][1]["moves"][1].update(action="teleport"), "months"),
    (lambda d: d["months"][1]["moves"][1].update(actor="atlantis"), "months"),
    (lambda d: d["pending"].update(russia={"action": "teleport", "player": "x"}), "pending"),
    (lambda d: d.pop("status"), "status"),
    (lambda d: d.update(status="dancing"), "status"),
    (lambda d: d["changes"][0].update(key="99"), "changes"),
    (lambda d: d["changes"][0].update(key="x"), "changes"),
    (lambda d: d["settings"].update(humans=["atlantis"]), "code"),
    (lambda d: d["settings"].update(seed="abc"), "settings"),
    (lambda d: d["players"][0].update(actor="china"), "players"),
    (lambda d: d["months"][0].update(axis=0.123), "replay"),
    (lambda d: d.update(remaining="soon"), "remaining"),
    (lambda d: d["months"].append(7), "months"),
])
def test_every_broken_save_is_one_message_naming_the_file_and_field(
        tmp_path: Path, damage, field: str) -> None:
    path, data = _saved(tmp_path)
    damage(data)
    path.write_text(json.dumps(data))
    with pytest.raises(RoomError, match=rf"^Saved game: {path.name}.*{field}") as err:
        Room.load(path)
    assert type(err.value) is RoomError


def test_a_save_that_is_not_an_object_is_one_message(tmp_path: Path) -> None:
    path = tmp_path / "ABCDEF.json"
    for text in ("[1, 2]", "null", "3"):
        path.write_text(text)
        with pytest.raises(RoomError, match=r"^Saved game: ABCDEF\.json cannot be read .*not an"):
            Room.load(path)


def test_page_code_reads_the_players_under_the_lock() -> None:
    """player_of and members wait for the lock, so they never iterate a changing dict."""
    room, _ = _room()
    token = _seat(room, "Anna", "russia")
    def hold(held: threading.Event, release: threading.Event) -> None:
        with room.lock:
            held.set()
            release.wait(10.0)

    for read in (lambda: room.player_of(token), lambda: room.members("russia"),
                 room.player_list, lambda: views.player_html(room, room.players[1])):
        held, release = threading.Event(), threading.Event()
        holder = threading.Thread(target=hold, args=(held, release))
        holder.start()
        held.wait(10.0)
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(timeout=0.2)
        assert reader.is_alive(), "read the players without the room's lock"
        release.set()
        reader.join(10.0)
        holder.join(10.0)
        assert not reader.is_alive()


def test_reading_players_while_others_join_and_leave() -> None:
    room, secret = _room()
    token = _seat(room, "Anna", "russia")
    errors: list[BaseException] = []
    stop = threading.Event()

    def churn() -> None:
        try:
            while not stop.is_set():
                player, _ = room.join(room.code, "Churn")
                room.kick(secret, player.pid)
        except BaseException as err:  # reported below
            errors.append(err)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    worker = threading.Thread(target=churn)
    worker.start()
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            room.player_of(token)
            room.members("russia")
            room.free_countries()
    finally:
        stop.set()
        worker.join(10.0)
        sys.setswitchinterval(old)
    assert errors == []


def test_title_timer_and_seed_have_their_own_messages() -> None:
    from alignsim.room.room import TITLE_MAX, check_timer

    title = "Seminar 3: Central Asia, spring"  # longer than a name, fine as a title
    assert len(title) > NAME_MAX
    assert Settings.checked("history", "1", HUMANS, "0", title=title).title == title
    with pytest.raises(RoomError, match=f"^Title: at most {TITLE_MAX} characters"):
        Settings.checked("history", "1", HUMANS, "0", title="x" * (TITLE_MAX + 1))
    for bad in ("²", "１２", "1.5", "-3", "", True):
        with pytest.raises(RoomError, match=r"^Timer: must be a whole number"):
            check_timer(bad)
        with pytest.raises(RoomError, match=r"^Timer: must be a whole number"):
            Settings.checked("history", "1", HUMANS, bad)
    for bad in ("²", "３", "1e3", "-1"):
        with pytest.raises(RoomError, match=r"^Random seed: must be a whole number"):
            Settings.checked("history", bad, HUMANS, "0")
    assert check_timer(" 90 ") == 90


def test_the_csv_export_keeps_typed_names_as_text() -> None:
    room, secret = _room()
    token = _seat(room, "=1+2", "russia")
    _seat(room, "@SUM(A1)", "turkiye")
    room.start(secret)
    room.close_month(secret)
    room.choose(token, "summit")
    room.close_month(secret)
    rows = list(csv.reader(io.StringIO(debriefs.moves_csv(room))))
    players = {r[3]: r[6] for r in rows[1:] if r[1] == "1"}
    assert players["russia"] == "'=1+2"
    assert debriefs.csv_text("-x") == "'-x" and debriefs.csv_text("Anna") == "Anna"


def test_kick_drops_only_the_kicked_players_choice_even_with_the_same_name() -> None:
    room, secret = _room()
    first = _seat(room, "Sam", "turkiye")
    _seat(room, "Sam", "turkiye")
    room.start(secret)
    room.choose(first, "summit")
    room.kick(secret, 2)  # the other Sam
    assert room.pending["turkiye"].action == "summit"
    room.kick(secret, 1)
    assert "turkiye" not in room.pending
