"""One clear line for bad input, exit status 2, no traceback — for every entry point.

Why a wrapper: Hydra prints composition errors over several lines and exits with status 1. We
set ``HYDRA_FULL_ERROR=1`` so that its exceptions reach us instead, then print a single line
naming the key and what is allowed.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import NoReturn

from alignsim.kernel.spec import ConfigError

EXIT_BAD_INPUT = 2
_MISSING_OPTION = re.compile(r"Could not find '([^']+)'")
_OPTIONS = re.compile(r"Available options in '[^']+':\s*((?:\S+\s*)+?)\s*Config search path", re.S)
_MERGING = re.compile(r"Error merging override \+?([^=\s]+)=")


def error_line(exc: BaseException) -> str:
    """A one-line description of ``exc`` naming the offending key where there is one."""
    if isinstance(exc, ConfigError):
        return f"{exc.key}: {exc.message}"
    text = str(exc)
    missing = _MISSING_OPTION.search(text)
    if missing:  # scenario=nosuch: name the group and its options
        group, name = missing.group(1).rsplit("/", 1)
        options = _OPTIONS.search(text)
        allowed = ", ".join(options.group(1).split()) if options else "see conf/" + group
        return f"{group}: unknown option {name!r}; allowed: {allowed}"
    merging = _MERGING.search(text)
    if merging and exc.__cause__ is not None:  # name the override's full key, not its last part
        detail = " ".join(str(getattr(exc.__cause__, "msg", exc.__cause__)).split())
        detail = detail.split(" full_key:")[0]
        if "is not a subclass of" in detail:  # a new entry in a dict of typed records
            detail = ("no such entry, and new entries cannot be created from the command line: "
                      "add them in a YAML file under conf/")
        return f"{merging.group(1)}: {detail}"
    cause = exc.__cause__
    if cause is not None and getattr(cause, "full_key", None):
        return error_line(cause)  # Hydra wraps OmegaConf's precise error (key and type)
    key = getattr(exc, "full_key", None)
    msg = getattr(exc, "msg", None) or str(exc)
    lines = [ln.strip() for ln in str(msg).splitlines() if ln.strip()]
    noise = ("full_key:", "object_type", "reference_type")
    lines = [ln for ln in lines if not ln.startswith(noise)]
    text = " ".join(lines) if lines else type(exc).__name__
    if "Could not override" in text or "Key '" in text:
        text = text.replace("Could not override ", "").replace("To append to your config use +", "")
    if key:
        return f"{key}: {text}"
    return text


def fail(key: str, message: str, prog: str = "alignsim") -> NoReturn:
    print(f"{prog}: error: {key}: {message}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


def bad_input(exc: BaseException, prog: str = "alignsim") -> NoReturn:
    print(f"{prog}: error: {error_line(exc)}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


def check_writable(key: str, path: str | os.PathLike, *, is_file: bool = False) -> None:
    """Fail now, not after the run, if results could not be written to ``path``.

    Probes the nearest existing folder (creating nothing at ``path``) with a temporary file.
    """
    import tempfile
    from pathlib import Path

    target = Path(path).expanduser().absolute()
    folder = target.parent if is_file else target
    if folder.exists() and not folder.is_dir():
        raise ConfigError(key, f"{folder} exists and is not a folder")
    probe = folder
    while not probe.exists():
        probe = probe.parent
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as exc:
        raise ConfigError(key, f"cannot write under {probe} ({exc.strerror or exc})") from None


def run_hydra_cli(task: Callable[[], object], prog: str = "alignsim") -> None:
    """Run a ``@hydra.main`` function so that bad input ends in one line and exit status 2."""
    import yaml  # a config file that does not parse: say which, in one line
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    os.environ["HYDRA_FULL_ERROR"] = "1"
    try:
        task()
    except (ConfigError, OmegaConfBaseException, HydraException, yaml.YAMLError) as exc:
        bad_input(exc, prog)
    except ValueError as exc:
        if "can be specified" not in str(exc):  # Hydra's clash of its own flags, nothing else
            raise
        print(f"{prog}: error: {exc} (at once)", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
