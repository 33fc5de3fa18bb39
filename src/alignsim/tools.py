"""What the tools share: their command line, how they run Hydra, and setting a dotted config value.

``alignsim-validate``, ``-calibrate``, ``-sensitivity`` and ``-equilibria`` take Hydra overrides
mixed with a few words of their own (``--out DIR``, ``--write PATH``, ``+date=YYYY-MM``,
``validation.KEY=VALUE``). Each tool declares those words once, as a :class:`Tool`;
:func:`tool_main` then answers ``--help`` before Hydra composes anything (Hydra would read
``--help`` as its own and print hundreds of lines of config), splits the tool's words from the
overrides, refuses an unknown option, a missing value or an unwritable output path in one line
(``PROG: error: ...``, exit 2), and maps bad overrides to one line too
(:func:`alignsim.errors.run_hydra_cli`).

Why one place: the four tools used to split their words and word their help each their own way,
so the same mistake was answered four ways and the output folder had several spellings. The
sensitivity analysis and the calibration both vary numeric config values by their dotted keys;
:func:`set_config_value` is their one way of doing it.
"""

from __future__ import annotations

import copy
import dataclasses
import sys
import textwrap
from collections.abc import Callable, Mapping, MutableSequence, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from alignsim.errors import EXIT_BAD_INPUT, check_writable, run_hydra_cli
from alignsim.kernel.spec import ConfigError

WIDTH = 100
HELP_WORDS = ("-h", "--help")
# Hydra's own flags, handed to Hydra by the tools that run a Hydra job (their values, e.g. the
# ``job`` of ``--cfg job``, are plain words and go to Hydra anyway).
HYDRA_FLAGS = frozenset({"--cfg", "-c", "--resolve", "--package", "-p", "--info", "-i",
                         "--multirun", "-m", "--hydra-help"})
OVERRIDES_LINE = ("Any other word is a Hydra override of the model config, as for `alignsim` "
                  "(key=value, +key=value, ~key; e.g. scenario=baseline seed=7); "
                  "`alignsim --cfg job` prints every key.")
HYDRA_FLAGS_LINE = "Hydra's own flags (--cfg job, --resolve, --info, -m) are passed to Hydra."


class UsageError(Exception):
    """Words a tool cannot take (unknown option, missing value): one line, exit status 2."""


# ------------------------------------------------------------------------- declaring words
@dataclass(frozen=True)
class Option:
    """One of a tool's own words, kept away from Hydra.

    ``name`` is ``--name`` (followed by its value, or ``--name=VALUE``) or a bare key such as
    ``date`` (given as ``date=VALUE`` or ``+date=VALUE``). ``aliases`` are older ``KEY=VALUE``
    spellings still accepted; ``prefix`` lets a key also take ``KEY.SUB=VALUE`` words (collected
    in order); ``writable`` ("dir"/"file") refuses a path results could not be written to before
    anything runs; ``to_hydra`` options are documented only and left to Hydra as overrides.
    """

    name: str
    metavar: str
    help: str
    aliases: tuple[str, ...] = ()
    prefix: bool = False
    writable: str = ""
    to_hydra: bool = False

    @property
    def dest(self) -> str:
        return self.name.lstrip("+-")

    @property
    def spelling(self) -> str:
        """How the help shows it: ``--out DIR``, ``+date=YYYY-MM``, ``validation=NAME, ...``."""
        if self.to_hydra:
            return self.name
        if self.name.startswith("--"):
            return f"{self.name} {self.metavar}"
        text = f"{self.name}={self.metavar}"
        return f"{text}, {self.name}.KEY=VALUE" if self.prefix else text

    @property
    def usage(self) -> tuple[str, ...]:
        """Its place in the usage line: ``[--out DIR]``, ``[validation.KEY=VALUE ...]``."""
        if self.to_hydra:
            return (f"[{self.name} ...]",)
        first = f"[{self.spelling.split(', ')[0]}]"
        return (first, f"[{self.name}.KEY=VALUE ...]") if self.prefix else (first,)


@dataclass
class ToolArgs:
    """A tool's words, split: its own options' values, and the words meant for Hydra."""

    words: list[str]
    hydra: list[str] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)

    def get(self, dest: str, default: str | None = None) -> str | None:
        return self.values.get(dest, default)


@dataclass(frozen=True)
class Tool:
    """A tool's command line: what it does, its own options, two examples (for ``--help``)."""

    prog: str
    summary: str
    options: tuple[Option, ...]
    examples: tuple[str, ...]
    hydra_flags: bool = False  # runs a Hydra job: Hydra's own flags are passed through

    def usage(self) -> str:
        """``usage: PROG [-h] [--out DIR] ... [Hydra overrides ...]``, wrapped between groups."""
        groups = ["[-h]", *(g for o in self.options for g in o.usage), "[Hydra overrides ...]"]
        lines, indent = [f"usage: {self.prog}"], " " * (len(self.prog) + 7)
        for g in groups:
            if len(lines[-1]) + 1 + len(g) > WIDTH:
                lines.append(indent)
            lines[-1] += " " + g
        return "\n".join(lines)

    def help_text(self) -> str:
        """Usage, the paragraph, the options, the examples and the line about overrides."""
        rows = [("-h, --help", "show this help and exit (nothing is composed or run)")]
        rows += [(o.spelling, o.help) for o in self.options]
        pad = min(max(len(name) for name, _ in rows), 24) + 4
        lines = [self.usage(), "", textwrap.fill(" ".join(self.summary.split()), WIDTH), "",
                 "options:"]
        for name, text in rows:
            lines += _option_lines(name, text, pad)
        lines += ["", "examples:", *(f"  {e}" for e in self.examples), ""]
        tail = OVERRIDES_LINE + (" " + HYDRA_FLAGS_LINE if self.hydra_flags else "")
        lines.append(textwrap.fill(tail, WIDTH))
        return "\n".join(lines)

    def parse(self, words: Sequence[str]) -> ToolArgs:
        """Split ``words``; raises :class:`UsageError` on an unknown option or a missing value."""
        args = ToolArgs(list(words))
        flags = {o.name: o for o in self.options if o.name.startswith("--") and not o.to_hydra}
        keys = {o.name.lstrip("+"): o for o in self.options
                if not o.name.startswith("-") and not o.to_hydra}
        keys.update({a: o for o in self.options for a in o.aliases})
        i = 0
        while i < len(args.words):
            word = args.words[i]
            if word.startswith("-"):
                i = self._take_flag(args, flags, i)
                continue
            key, sep, value = word.lstrip("+").partition("=")
            head = key.split(".", 1)[0]
            if sep and key in keys:
                _set(args, keys[key], value, word)
            elif sep and head != key and head in keys and keys[head].prefix:
                args.lists.setdefault(keys[head].dest, []).append(f"{key[len(head) + 1:]}={value}")
            else:
                args.hydra.append(word)
            i += 1
        return args

    def _take_flag(self, args: ToolArgs, flags: Mapping[str, Option], i: int) -> int:
        """Read the ``--name`` word at ``i`` (and its value); return the index of the next word."""
        word = args.words[i]
        name, sep, value = word.partition("=")
        if name in flags:
            if not sep:
                if i + 1 >= len(args.words) or args.words[i + 1].startswith("-"):
                    raise UsageError(f"{name}: needs a value ({flags[name].metavar})")
                value, i = args.words[i + 1], i + 1
            _set(args, flags[name], value, word)
        elif self.hydra_flags and name in HYDRA_FLAGS:
            args.hydra.append(word)
        else:
            allowed = ", ".join(["--help", *flags])
            if self.hydra_flags:
                allowed += " and Hydra's own: " + ", ".join(sorted(f for f in HYDRA_FLAGS
                                                                   if f.startswith("--")))
            raise UsageError(f"{name}: unknown option; allowed: {allowed}")
        return i + 1


def _option_lines(name: str, text: str, pad: int) -> list[str]:
    """An option's rows in the help: its spelling, then its wrapped help from column ``pad``
    (on the next row when the spelling is too long for the column)."""
    body = textwrap.wrap(" ".join(text.split()), WIDTH - pad)
    if len(name) > pad - 4:
        return [f"  {name}", *(" " * pad + ln for ln in body)]
    return [f"  {name:<{pad - 2}}{body[0]}", *(" " * pad + ln for ln in body[1:])]


def _set(args: ToolArgs, option: Option, value: str, word: str) -> None:
    """Record ``option``'s value; an empty one (``--out=``, ``date=``) is a missing value."""
    if not value:
        raise UsageError(f"{word.lstrip('+').split('=')[0]}: needs a value ({option.metavar})")
    args.values[option.dest] = value


def out_option(help: str, aliases: tuple[str, ...] = ()) -> Option:
    """``--out DIR``, the one spelling of the output folder across the tools."""
    return Option("--out", "DIR", help, aliases=aliases, writable="dir")


# ------------------------------------------------------------------------------- running
def usage_error(prog: str, message: str) -> NoReturn:
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(EXIT_BAD_INPUT)


def tool_main(tool: Tool, argv: Sequence[str] | None, body: Callable[[ToolArgs], object]) -> None:
    """A tool's entry point: help first, then its words split and checked, then ``body(args)``.

    Bad words and bad overrides end in one line on stderr and exit status 2, before anything is
    composed, run or written.
    """
    words = list(sys.argv[1:] if argv is None else argv)
    if any(w in HELP_WORDS for w in words):
        print(tool.help_text())
        return
    try:
        args = tool.parse(words)
    except UsageError as exc:
        usage_error(tool.prog, str(exc))

    def run() -> None:
        for option in tool.options:  # fail now, not after the run, if results cannot be written
            if option.writable and args.get(option.dest):
                check_writable(option.name, args.values[option.dest],
                               is_file=option.writable == "file")
        body(args)

    run_hydra_cli(run, tool.prog)


def hydra_job(task: Callable[[Any], object], overrides: Sequence[str], prog: str) -> None:
    """Run ``task(cfg)`` as a ``@hydra.main`` job over ``overrides`` (its run folder, its flags).

    ``sys.argv`` is what Hydra parses, so it is set to the overrides for the call and restored.
    """
    import hydra

    from alignsim.config import conf_dir, register

    register()
    job = hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")(task)
    saved = sys.argv
    sys.argv = [prog, *overrides]
    try:
        job()
    finally:
        sys.argv = saved


def has_override(overrides: Sequence[str], key: str) -> bool:
    """Whether ``key=...`` (or ``+key=``/``++key=``) is among the overrides."""
    return any(w.lstrip("+").partition("=")[0] == key for w in overrides)


# ------------------------------------------------------------------ dotted config values
def get_config_value(cfg: Any, key: str) -> Any:
    """Read a dotted key (``payoffs.alignment.inertia``) from a typed config or a DictConfig."""
    node = cfg
    for part in key.split("."):
        node = _child(node, part, key)
    return node


def set_config_value(cfg: Any, key: str, value: float) -> Any:
    """A deep copy of ``cfg`` with the numeric dotted ``key`` set to ``float(value)``.

    Works on the typed tree (calibration) and on a composed DictConfig (sensitivity), so both
    tools vary parameters the same way: the key must exist and hold a number, and the base
    config is never modified.
    """
    return set_config_values(cfg, {key: value})


def set_config_values(cfg: Any, values: Mapping[str, float]) -> Any:
    """A deep copy of ``cfg`` with every dotted key of ``values`` set (see set_config_value)."""
    out = copy.deepcopy(cfg)
    for key, value in values.items():
        parts = key.split(".")
        parent = out
        for part in parts[:-1]:
            parent = _child(parent, part, key)
        last = parts[-1]
        old = _child(parent, last, key)
        if isinstance(old, bool) or not isinstance(old, int | float):
            raise ConfigError(key, f"is not a number (found {type(old).__name__}); "
                                   "only numbers can be varied")
        if isinstance(parent, Mapping):
            parent[last] = float(value)
        elif isinstance(parent, MutableSequence):
            parent[int(last)] = float(value)
        else:
            setattr(parent, last, float(value))
    return out


def _child(node: Any, part: str, key: str) -> Any:
    """``node``'s entry ``part``, or a ConfigError naming what is allowed there."""
    if isinstance(node, Mapping):
        if part not in node:
            raise ConfigError(key, f"no {part!r} here; allowed: {', '.join(map(str, node))}")
        return node[part]
    if isinstance(node, Sequence) and not isinstance(node, str):
        if not part.isdigit() or int(part) >= len(node):
            raise ConfigError(key, f"no {part!r} here; allowed: 0 to {len(node) - 1}")
        return node[int(part)]
    names = [f.name for f in dataclasses.fields(node)] if dataclasses.is_dataclass(node) else []
    if part in names:
        return getattr(node, part)
    raise ConfigError(key, f"no {part!r} here; allowed: {', '.join(names) or 'nothing'}")
