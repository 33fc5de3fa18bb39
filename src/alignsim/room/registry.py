"""The rooms of one server: open, find by code, load saved games, run the month timers.

One registry per server process (:func:`registry`), shared by every browser session. Rooms are
looked up by their code; a code not in memory is looked for in the rooms folder (a game saved
before a restart). One daemon thread ticks every room's timer, so a month closes when its time
is up even if no browser is connected at all: a lost connection never blocks the month.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path

from alignsim.room.room import CODE_ALPHABET, CODE_LENGTH, Room, RoomError, Settings

ROOMS_DIR_ENV = "ALIGNSIM_ROOMS_DIR"  # where games are saved (alignsim-demo --rooms-dir)
HOST_KEY_ENV = "ALIGNSIM_ROOM_HOST_KEY"  # who may open rooms (printed by alignsim-demo --room)
JOIN_BASE_ENV = "ALIGNSIM_ROOM_JOIN_BASE"  # the address students open (printed, QR code)
DEFAULT_ROOMS_DIR = "outputs/rooms"
TICK_S = 0.2  # s between timer checks (assumption: a timer may run 0.2 s over, unnoticed)
log = logging.getLogger("alignsim.room")
_CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


class Registry:
    """All rooms of the server, by code, behind one lock."""

    def __init__(self, folder: Path | None, host_key: str = "") -> None:
        self.folder = folder
        self.host_key = host_key
        self.lock = threading.Lock()
        self.rooms: dict[str, Room] = {}
        self._ticker: threading.Thread | None = None

    def open(self, key: object, settings: Settings) -> tuple[Room, str]:
        """A new room (needs the server's host key when one is set) and its teacher secret."""
        if self.host_key and key != self.host_key:
            raise RoomError("Host key", "wrong or missing: use the link alignsim-demo printed")
        with self.lock:
            code = new_code()
            while code in self.rooms or self._saved(code).exists():
                code = new_code()
            room, secret = Room.open(settings, self.folder, code=code)
            self.rooms[room.code] = room
        self.start_ticker()
        return room, secret

    def _saved(self, code: str) -> Path:
        return (self.folder or Path(os.devnull)) / f"{code}.json"

    def get(self, code: object) -> Room:
        """The room with this code: in memory, else resumed from its saved file."""
        text = code.strip().upper() if isinstance(code, str) else ""
        if not _CODE.match(text):
            raise RoomError("Room code", f"{CODE_LENGTH} letters and digits, as on the teacher's "
                            "screen")
        with self.lock:
            if text in self.rooms:
                return self.rooms[text]
            path = self._saved(text)
            if self.folder is None or not path.exists():
                raise RoomError("Room code", "no room with this code")
            room = Room.load(path)
            self.rooms[text] = room
        self.start_ticker()
        return room

    def saved_codes(self) -> list[str]:
        if self.folder is None or not self.folder.exists():
            return []
        return sorted(p.stem for p in self.folder.glob("*.json") if _CODE.match(p.stem))

    def tick(self) -> None:
        for room in list(self.rooms.values()):
            try:
                room.tick()
            except RoomError:  # e.g. the game ended in the same instant
                pass
            except Exception:  # a broken room must not stop the other rooms' timers
                log.exception("room %s: timer failed", room.code)

    def start_ticker(self) -> None:
        with self.lock:
            if self._ticker is None or not self._ticker.is_alive():
                self._ticker = threading.Thread(target=self._run, name="alignsim-room-timer",
                                                daemon=True)
                self._ticker.start()

    def _run(self) -> None:
        while True:
            time.sleep(TICK_S)
            self.tick()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


_REGISTRY: Registry | None = None
_LOCK = threading.Lock()


def registry() -> Registry:
    """The server's registry, configured from the environment alignsim-demo sets."""
    global _REGISTRY
    with _LOCK:
        if _REGISTRY is None:
            folder = Path(os.environ.get(ROOMS_DIR_ENV, DEFAULT_ROOMS_DIR))
            _REGISTRY = Registry(folder, os.environ.get(HOST_KEY_ENV, ""))
        return _REGISTRY
