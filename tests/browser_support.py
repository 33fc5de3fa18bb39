"""What the browser tests share: Debian's Chromium, and an ``alignsim-demo`` server on a free
port, waited for until it answers and stopped at the end (the demo page's and the room's tests)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 180  # the server imports mesa, solara and the model: slow on a busy 2-core box
UI_TIMEOUT_MS = 60_000
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="/usr/bin/chromium is missing (apt-get install -y chromium)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(proc: subprocess.Popen, url: str, log) -> None:
    """Until ``url`` answers 200; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"alignsim-demo exited with {proc.returncode}: {log.read()[-2000:]!r}")
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"alignsim-demo did not answer on {url} within {START_TIMEOUT_S} s")
        time.sleep(0.5)


@contextlib.contextmanager
def serving(command: Callable[[int], list[str]],
            env: Mapping[str, str] | None = None) -> Iterator[str]:
    """``command(port)`` started on a free port, its URL yielded once it answers; stopped (then
    killed if it does not stop) at the end."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command(port), stdout=log, stderr=subprocess.STDOUT,
                                env=None if env is None else dict(env))
        try:
            wait_until_serving(proc, url, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)
