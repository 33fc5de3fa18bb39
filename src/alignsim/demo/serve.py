"""``alignsim-demo``: serve the seminar page (:mod:`alignsim.demo.app`) with Solara.

    alignsim-demo                      # http://127.0.0.1:8765
    alignsim-demo --host 0.0.0.0 --port 8000   # reachable from the seminar room's network
    alignsim-demo --room --host 0.0.0.0        # the seminar room (issue 16): students play

With ``--room`` the page is the seminar room (:mod:`alignsim.room.page`): the command prints the
teacher's link to open a room (it carries a host key made for this server run, so a student
cannot open rooms) and the join address students will see; games are saved under
``--rooms-dir`` (default ``outputs/rooms``) and resumed from there after a restart.

The page is ``alignsim.demo.app:Page``; each browser that connects gets its own world. The server is
Solara's own (``solara run ... --production``), started in this process with ``exec`` so that the
process id the caller sees is the server's (a test or a supervisor can stop it by that id).
Options are checked here first: a bad port or host ends with one ``alignsim: error:`` line and
exit status 2, before Solara starts.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

APP = "alignsim.demo.app:Page"
ROOM_APP = "alignsim.room.page:Page"
# the names alignsim.room.registry reads (not imported: it would load the model before exec)
ROOMS_DIR_ENV, HOST_KEY_ENV, JOIN_BASE_ENV = ("ALIGNSIM_ROOMS_DIR", "ALIGNSIM_ROOM_HOST_KEY",
                                              "ALIGNSIM_ROOM_JOIN_BASE")
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
    p.add_argument("--room", action="store_true",
                   help="serve the seminar room (students play countries) instead of the demo")
    p.add_argument("--rooms-dir", type=_rooms_dir, default=Path("outputs/rooms"),
                   help="where --room saves games (default outputs/rooms)")
    return p


def _rooms_dir(text: str) -> Path:
    """A folder for the saved games: created if missing; refused if it cannot be written."""
    path = Path(text)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise argparse.ArgumentTypeError(f"cannot create {text!r} ({err.strerror})") from None
    if not path.is_dir() or not os.access(path, os.W_OK):
        raise argparse.ArgumentTypeError(f"{text!r} is not a writable folder")
    return path


def lan_address(host: str) -> str:
    """The address students type: the machine's address on the room's network when serving
    on all interfaces (a UDP socket's local end; nothing is sent), else the host given."""
    if host not in ("0.0.0.0", "::"):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def command(host: str, port: int, app: str = APP) -> list[str]:
    """The Solara command line that serves the page."""
    return [
        sys.executable, "-m", "solara", "run", app,
        "--host", host, "--port", str(port),
        "--production", "--no-open", "--log-level", "warning",
    ]  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    app = ROOM_APP if args.room else APP
    cmd = command(args.host, args.port, app)
    sys.stdout.write(f"alignsim-demo: serving {app} on http://{args.host}:{args.port}\n")
    if args.room:
        key = os.environ.get(HOST_KEY_ENV) or secrets.token_urlsafe(12)
        base = f"http://{lan_address(args.host)}:{args.port}/"
        os.environ.update({HOST_KEY_ENV: key, JOIN_BASE_ENV: base,
                           ROOMS_DIR_ENV: str(args.rooms_dir.resolve())})
        # Solara's corner banner covers the room's log on a 1024 px projector
        os.environ.setdefault("SOLARA_THEME_SHOW_BANNER", "false")
        os.environ.setdefault("SOLARA_THEME_TITLE", "alignsim seminar room")
        sys.stdout.write(f"alignsim-demo: teacher, open a room at {base}?host={key}\n"
                         f"alignsim-demo: students join at {base} (games saved in "
                         f"{args.rooms_dir})\n")
    sys.stdout.flush()
    os.execv(cmd[0], cmd)


if __name__ == "__main__":
    main()
