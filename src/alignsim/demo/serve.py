"""``alignsim-demo``: serve the seminar page (:mod:`alignsim.demo.app`) with Solara.

    alignsim-demo                      # http://127.0.0.1:8765
    alignsim-demo --host 0.0.0.0 --port 8000   # reachable from the seminar room's network

The page is ``alignsim.demo.app:Page``; each browser that connects gets its own world. The server is
Solara's own (``solara run ... --production``), started in this process with ``exec`` so that the
process id the caller sees is the server's (a test or a supervisor can stop it by that id).
Options are checked here first: a bad port or host ends with one ``alignsim: error:`` line and
exit status 2, before Solara starts.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence

APP = "alignsim.demo.app:Page"
DEFAULT_HOST = "127.0.0.1"  # localhost only unless asked: the page runs code for every visitor
DEFAULT_PORT = 8765  # Solara's usual port


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (house style), no usage dump
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be in 0..65535, got {value}")
    return value


def _host(text: str) -> str:
    """A host this machine can bind to: an address, or a name that resolves (e.g. localhost)."""
    if not text.strip() or any(c.isspace() for c in text):
        raise argparse.ArgumentTypeError(f"must be a host name or address, got {text!r}")
    try:
        socket.getaddrinfo(text, None)
    except (socket.gaierror, UnicodeError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an address or a name that resolves here "
            "(e.g. 127.0.0.1, 0.0.0.0, localhost)"
        ) from None
    return text


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="alignsim-demo", description="Serve the alignsim seminar page (SolaraViz).")
    p.add_argument("--host", type=_host, default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    return p


def command(host: str, port: int) -> list[str]:
    """The Solara command line that serves the page."""
    return [
        sys.executable, "-m", "solara", "run", APP,
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--log-level", "warning",
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    cmd = command(args.host, args.port)
    sys.stdout.write(f"alignsim-demo: serving {APP} on http://{args.host}:{args.port}\n")
    sys.stdout.flush()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
