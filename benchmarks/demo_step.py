"""How long one step of the seminar page takes, for 1, 10 and 30 students at once (issue 15).

Two kinds of figure:

* **in process** — ``SeminarModel.step`` alone, and a full page step as the page computes it
  (model step, the SVG of the chart on screen, the status line, the new month of the log);
* **through the page's own protocol** — ``alignsim-demo`` is started on a free port and N
  scripted clients connect to it as browsers do (an HTTP GET for the session cookie, then the
  Jupyter-kernel websocket: ``solara.control`` "run", then a ``click`` event on the Step
  button's widget). Each client has its own world and clicks Step again as soon as the server
  has finished the previous click (the kernel's ``idle`` status for that message), so N
  clients keep N steps in flight: a room of students all clicking at once (*continuous*); then
  all N click at the same moment, round after round (*together*). The time per step
  is from sending the click to that ``idle``, i.e. the server's whole work for the step,
  including every widget update it sends back.

Target: under 0.5 s per step with 30 students at once. Prints one line per figure; the last
line is one JSON object::

    .venv/bin/python benchmarks/demo_step.py            # 1, 10, 30 clients, 12 steps each
    .venv/bin/python benchmarks/demo_step.py --clients 1 5 --steps 6
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.demo import app
from alignsim.demo.world import SeminarModel

START_TIMEOUT_S = 180.0
REPLY_TIMEOUT_S = 120.0


def _stats(ms: list[float]) -> tuple[float, float]:
    a = np.asarray(ms)
    return float(a.mean()), float(np.percentile(a, 95))


# ------------------------------------------------------------------------------ in process
def time_in_process() -> tuple[list[float], list[float]]:
    """Per-step ms of the model alone and of the model plus what the page builds after it."""
    model_ms, page_ms = [], []
    model = SeminarModel()
    model.step()  # warm-up
    while not model.finished:
        t0 = time.perf_counter()
        model.step()
        model_ms.append(1e3 * (time.perf_counter() - t0))
    model = SeminarModel()
    model.step()
    while not model.finished:
        t0 = time.perf_counter()
        model.step()
        app.chart_svg("Axis", model, [])
        app.status_html(model)
        app.month_html(model, model.month - 1)
        page_ms.append(1e3 * (time.perf_counter() - t0))
    return model_ms, page_ms


# -------------------------------------------------------------------- the page's protocol
def _decode(frame: str | bytes) -> dict[str, Any]:
    """A Jupyter websocket message: JSON text, or the binary framing with buffers."""
    if isinstance(frame, str):
        return json.loads(frame)
    n = struct.unpack("!i", frame[:4])[0]
    offsets = struct.unpack("!" + "I" * n, frame[4 : 4 * (n + 1)])
    end = offsets[1] if n > 1 else None
    return json.loads(frame[offsets[0] : end].decode("utf8"))


def _message(session: str, msg_type: str, content: dict[str, Any]) -> tuple[str, str]:
    msg_id = uuid.uuid4().hex
    msg = {"header": {"msg_id": msg_id, "msg_type": msg_type, "username": "bench",
                      "session": session, "date": "2026-01-01T00:00:00Z", "version": "5.3"},
           "parent_header": {}, "metadata": {}, "channel": "shell", "content": content,
           "buffers": []}
    return msg_id, json.dumps(msg)


class Student:
    """One scripted browser: its own session cookie, kernel and world."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = uuid.uuid4().hex
        self.ws: Any = None
        self.step_button = ""

    async def connect(self) -> None:
        import websockets

        cookie = await asyncio.to_thread(self._cookie)
        kernel = uuid.uuid4().hex
        url = (self.base.replace("http", "ws", 1)
               + f"jupyter/api/kernels/{kernel}/channels?session_id={self.session}")
        self.ws = await websockets.connect(url, additional_headers={"Cookie": cookie},
                                           max_size=None)
        comm = uuid.uuid4().hex
        await self.ws.send(_message(self.session, "comm_open", {
            "comm_id": comm, "target_name": "solara.control", "data": {}})[1])
        await self.ws.send(_message(self.session, "comm_msg", {"comm_id": comm, "data": {
            "method": "run", "args": {"path": "", "appName": "__default__"}}})[1])
        widgets: dict[str, dict[str, Any]] = {}
        while True:
            m = _decode(await asyncio.wait_for(self.ws.recv(), REPLY_TIMEOUT_S))
            kind = m["header"]["msg_type"]
            if kind == "comm_open":
                widgets[m["content"]["comm_id"]] = m["content"]["data"].get("state", {})
            elif kind == "comm_msg" and m["content"]["data"].get("method") == "finished":
                break
        self.step_button = next(k for k, s in widgets.items()
                                if s.get("_model_name") == "BtnModel"
                                and s.get("children") == ["Step"])

    def _cookie(self) -> str:
        with urllib.request.urlopen(self.base, timeout=REPLY_TIMEOUT_S) as r:
            return "; ".join(c.split(";")[0] for c in r.headers.get_all("set-cookie") or [])

    async def step(self) -> float:
        """Click Step; seconds until the server is idle again after that click."""
        msg_id, text = _message(self.session, "comm_msg", {"comm_id": self.step_button, "data": {
            "method": "custom", "content": {"event": "click", "data": {}}}})
        t0 = time.perf_counter()
        await self.ws.send(text)
        while True:
            frame = await asyncio.wait_for(self.ws.recv(), REPLY_TIMEOUT_S)
            if msg_id not in (frame if isinstance(frame, str) else frame.decode("latin-1")):
                continue  # cheap filter: only our click's own replies are parsed
            m = _decode(frame)
            if (m["header"]["msg_type"] == "status"
                    and m["parent_header"].get("msg_id") == msg_id
                    and m["content"]["execution_state"] == "idle"):
                return time.perf_counter() - t0

    async def close(self) -> None:
        await self.ws.close()


async def room(base: str, clients: int, steps: int) -> tuple[list[float], list[float]]:
    """``clients`` students connect, then step at once in two ways; ms per step of each.

    *continuous*: every student clicks again the moment its step is done (the worst case, a
    room that never pauses); *together*: all click at the same moment ("everybody, Step!"),
    and the next round starts when the last has its answer.
    """
    students = [Student(base) for _ in range(clients)]
    for s in students:  # connect one by one, as a room does; then step all at once
        await s.connect()

    async def run(s: Student) -> list[float]:
        return [1e3 * await s.step() for _ in range(steps)]

    try:
        continuous = await asyncio.gather(*(run(s) for s in students))
        together: list[float] = []
        for _ in range(steps):
            together += [1e3 * t for t in await asyncio.gather(*(s.step() for s in students))]
    finally:
        await asyncio.gather(*(s.close() for s in students))
    return [ms for r in continuous for ms in r], together


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    script = Path(sys.executable).with_name("alignsim-demo")
    cmd = ([str(script)] if script.exists() else [sys.executable, "-m", "alignsim.demo.serve"])
    proc = subprocess.Popen([*cmd, "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo_step: alignsim-demo exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"demo_step: alignsim-demo did not answer within {START_TIMEOUT_S:.0f} s")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, nargs="+", default=[1, 10, 30])
    p.add_argument("--steps", type=int, default=12, help="steps per client (default 12)")
    args = p.parse_args(argv)

    model_ms, page_ms = time_in_process()
    m_mean, m_p95 = _stats(model_ms)
    p_mean, p_p95 = _stats(page_ms)
    print(f"SeminarModel.step: mean {m_mean:.1f} ms, p95 {m_p95:.1f} ms")
    print(f"page step in process (model + axis SVG + status + log month): mean {p_mean:.1f} ms, "
          f"p95 {p_p95:.1f} ms")
    out: dict[str, Any] = {"step_ms_mean": round(m_mean, 2), "step_ms_p95": round(m_p95, 2),
                           "page_step_ms_mean": round(p_mean, 2),
                           "page_step_ms_p95": round(p_p95, 2), "steps_per_client": args.steps,
                           "clients": {}}
    proc, url = start_server()
    try:
        asyncio.run(room(url, 1, 2))  # warm-up: imports, first composition, caches
        for n in args.clients:
            continuous, together = asyncio.run(room(url, n, args.steps))
            out["clients"][str(n)] = {}
            for how, ms in (("continuous", continuous), ("together", together)):
                mean, p95 = _stats(ms)
                print(f"{n:3d} students, {how:10s}: page step mean {mean:.0f} ms, "
                      f"p95 {p95:.0f} ms, max {max(ms):.0f} ms ({len(ms)} steps)")
                out["clients"][str(n)][how] = {"mean_ms": round(mean, 1),
                                               "p95_ms": round(p95, 1),
                                               "max_ms": round(max(ms), 1)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
