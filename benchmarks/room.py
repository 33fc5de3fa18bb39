"""Benchmark: a seminar room of 30 scripted students (issue 16). Aim: under 1 s.

What is timed: from the teacher closing a month (:meth:`Room.close_month`: the world steps,
the file is saved) to the moment every one of the 30 clients has built its new screen — the
shared parts (status, chart SVG, log, scores; built once per version for all) and its own
(header, options with the model's advice). Each client is a thread waiting on the room exactly
as a browser session's watcher does (:meth:`Room.wait`). Not timed: the websocket and the
browser's drawing (the Playwright test prints those for four real browsers).

    .venv/bin/python benchmarks/room.py [--students 30] [--months 12]

Prints one line per month and, last, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

from alignsim.room import views
from alignsim.room.registry import Registry
from alignsim.room.room import Room, Settings

ACTORS = ("kazakhstan", "russia", "azerbaijan", "turkiye", "china", "eu")


class Client(threading.Thread):
    """One scripted student: waits for the room to change, builds its screen, chooses."""

    def __init__(self, room: Room, token: str, actor: str, seed: int) -> None:
        super().__init__(daemon=True)
        self.room, self.token, self.actor = room, token, actor
        self.rng = random.Random(seed)
        self.seen_month = -1
        self.updated: dict[int, float] = {}  # month → when its screen was built (perf_counter)
        self.stop = threading.Event()

    def run(self) -> None:
        seen = -1
        while not self.stop.is_set():
            version = self.room.wait(seen, timeout=0.5)
            if version == seen:
                continue
            seen = version
            month = self.room.world.month
            screen = views.shared(self.room)  # the parts every screen shows
            player = self.room.player_of(self.token)
            mine = views.player_html(self.room, player)
            opts = views.options(self.room, self.actor) if not self.room.world.finished else []
            assert screen["chart"].startswith("<svg") and mine
            if month not in self.updated:
                self.updated[month] = time.perf_counter()
            if (month != self.seen_month and opts and self.room.status == "playing"
                    and self.room.scheduled(self.actor) is None):
                self.seen_month = month
                self.room.choose(self.token, self.rng.choice(opts)[0])


def run(students: int, months: int, seed: int = 20220101) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="alignsim-rooms-"))
    reg = Registry(folder)
    room, secret = reg.open("", Settings.checked("history", str(seed), ACTORS, "0"))
    clients = []
    for k in range(students):
        actor = ACTORS[k % len(ACTORS)]
        _, token = room.join(room.code, f"Student {k + 1}")
        room.pick(token, actor)
        clients.append(Client(room, token, actor, k))
    room.start(secret)
    for c in clients:
        c.start()
    latencies, closes = [], []
    for month in range(months):
        _wait(lambda m=month: all(m in c.updated for c in clients)
              and all(room.scheduled(a) is not None or a in room.pending for a in ACTORS))
        t0 = time.perf_counter()
        room.close_month(secret)
        closes.append(time.perf_counter() - t0)
        _wait(lambda m=month: all(m + 1 in c.updated for c in clients))
        latency = max(c.updated[month + 1] for c in clients) - t0
        latencies.append(latency)
        print(f"{room.months[-1].date}: close {closes[-1] * 1000:6.1f} ms, every client "
              f"updated {latency * 1000:6.1f} ms")
    for c in clients:
        c.stop.set()
    ordered = sorted(latencies)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return {"benchmark": "room", "students": students, "months": months,
            "median_s": round(statistics.median(latencies), 4), "p95_s": round(p95, 4),
            "max_s": round(max(latencies), 4),
            "close_median_s": round(statistics.median(closes), 4), "aim_s": 1.0,
            "met": max(latencies) < 1.0}


def _wait(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("benchmark: the scripted clients stalled")
        time.sleep(0.002)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--students", type=int, default=30)
    p.add_argument("--months", type=int, default=12)
    args = p.parse_args()
    print(json.dumps(run(args.students, args.months)))


if __name__ == "__main__":
    main()
