"""The tools' shared helpers (``alignsim.tools``): splitting their words, ``--help``, one-line
errors, setting dotted config values; and the figure helpers every tool saves through."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from alignsim.config import compose_config, compose_dictconfig
from alignsim.ensemble import run_ensemble
from alignsim.game import cli as equilibria
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.plots import save_figure
from alignsim.results import step_dates
from alignsim.tools import (
    Option,
    Tool,
    UsageError,
    get_config_value,
    has_override,
    out_option,
    set_config_value,
    set_config_values,
    tool_main,
)
from alignsim.validation import calibrate_cli, sensitivity, validate

TOY = Tool(
    prog="toy",
    summary="Does a toy thing.",
    options=(out_option("where", aliases=("out",)), Option("--write", "PATH", "a file"),
             Option("+date", "YYYY-MM", "a month"), Option("validation", "NAME", "v", prefix=True),
             Option("+toy.KEY=VALUE", "", "left to Hydra", to_hydra=True)),
    examples=("toy --out x", "toy +date=2022-07"),
)
TOOLS = {"validate": validate, "calibrate": calibrate_cli, "sensitivity": sensitivity,
         "equilibria": equilibria}


# ---------------------------------------------------------------------------- splitting
def test_parse_splits_own_words_from_hydra_overrides_in_order() -> None:
    args = TOY.parse(["seed=3", "--out", "d", "+date=2022-07", "validation=x", "+toy.n=4",
                      "validation.patterns.p.tolerance=0.3", "--write=f.yaml", "~a.b"])
    assert args.hydra == ["seed=3", "+toy.n=4", "~a.b"]
    assert args.values == {"out": "d", "date": "2022-07", "validation": "x", "write": "f.yaml"}
    assert args.lists == {"validation": ["patterns.p.tolerance=0.3"]}


@pytest.mark.parametrize(("words", "value"), [(["out=d"], "d"), (["+out=d"], "d"),
                                              (["--out=d"], "d"), (["date=2022-07"], None)])
def test_aliases_and_plus_spellings(words: list[str], value: str | None) -> None:
    args = TOY.parse(words)
    assert args.get("out") == value
    assert args.get("date") == (None if value else "2022-07")


@pytest.mark.parametrize(
    ("words", "message"),
    [(["--nope"], "--nope: unknown option; allowed: --help, --out, --write"),
     (["-m"], "-m: unknown option"),
     (["--out"], "--out: needs a value (DIR)"),
     (["--out", "--write", "x"], "--out: needs a value (DIR)"),
     (["--out="], "--out: needs a value (DIR)"),
     (["+date="], "date: needs a value (YYYY-MM)")],
)
def test_bad_words_are_usage_errors(words: list[str], message: str) -> None:
    with pytest.raises(UsageError) as e:
        TOY.parse(words)
    assert str(e.value).startswith(message)


def test_hydra_flags_pass_through_only_for_tools_that_run_a_hydra_job() -> None:
    job = dataclasses.replace(TOY, hydra_flags=True)
    assert job.parse(["--cfg", "job", "-m", "seed=1,2"]).hydra == ["--cfg", "job", "-m", "seed=1,2"]
    with pytest.raises(UsageError):
        TOY.parse(["--cfg", "job"])


def test_has_override() -> None:
    assert has_override(["+months=3"], "months") and has_override(["months=3"], "months")
    assert not has_override(["monthsx=3", "a.months=3"], "months")


# ------------------------------------------------------------------------ help, errors
def test_help_is_answered_before_anything_runs(capsys) -> None:
    def body(_args):  # pragma: no cover - must not run
        raise AssertionError("the body ran")

    tool_main(TOY, ["seed=abc", "--nope", "--help"], body)
    text = capsys.readouterr().out
    assert text.startswith("usage: toy [-h] [--out DIR] [--write PATH] [+date=YYYY-MM]")
    for part in ("Does a toy thing.", "options:", "  --out DIR", "examples:", "  toy --out x",
                 "Hydra override"):
        assert part in text


@pytest.mark.parametrize("name", sorted(TOOLS))
def test_every_tool_help_is_short_and_complete(name: str, capsys) -> None:
    TOOLS[name].main(["--help"])
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert len(lines) < 40 and max(map(len, lines)) <= 100, text
    assert lines[0].startswith(f"usage: {TOOLS[name].PROG} [-h]")
    assert "options:" in text and "examples:" in text and "Hydra override" in text
    examples = lines[lines.index("examples:") + 1:]
    assert sum(ln.startswith(f"  {TOOLS[name].PROG} ") for ln in examples) == 2
    if name != "equilibria":  # the only tool that writes nothing
        assert "--out DIR" in text


def test_sensitivity_help_names_its_methods(capsys) -> None:
    sensitivity.main(["-h"])
    text = capsys.readouterr().out
    assert "Morris" in text and "Sobol" in text and "+sensitivity.out=DIR" in text


@pytest.mark.parametrize("name", sorted(TOOLS))
@pytest.mark.parametrize("words", [["--nope"], ["--out"]])
def test_bad_words_are_one_line_exit_2(name: str, words: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as e:
        TOOLS[name].main(words)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{TOOLS[name].PROG}: error: {words[0]}: "), err


@pytest.mark.parametrize("name", ["validate", "calibrate", "sensitivity"])
def test_unwritable_out_is_refused_before_the_run(name: str, tmp_path: Path, capsys) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(SystemExit) as e:
        TOOLS[name].main(["--out", str(tmp_path / "file")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err == f"{TOOLS[name].PROG}: error: --out: {tmp_path / 'file'} exists and is not a " \
                  "folder\n"


def test_sensitivity_help_as_a_command_is_short() -> None:
    exe = Path(sys.executable).with_name("alignsim-sensitivity")
    res = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stderr == ""
    assert len(res.stdout.splitlines()) < 40 and "Morris" in res.stdout


# ----------------------------------------------------------------- dotted config values
KEY = "payoffs.alignment.inertia"


def test_set_config_value_on_typed_and_dict_configs_agree() -> None:
    typed = set_config_value(compose_config([]), KEY, 0.07)
    composed = set_config_value(compose_dictconfig([]), KEY, 0.07)
    assert get_config_value(typed, KEY) == get_config_value(composed, KEY) == 0.07
    assert get_config_value(compose_config([]), KEY) != 0.07  # the base is not modified
    hydra = compose_config([f"{KEY}=0.07"])
    assert typed == hydra


def test_set_config_values_reach_list_entries_and_refuse_non_numbers() -> None:
    cfg = compose_dictconfig([])
    out = set_config_values(cfg, {"payoffs.actors.russia.punish": 0.5, KEY: 0.1})
    assert out.payoffs.actors.russia.punish == 0.5 and out.payoffs.alignment.inertia == 0.1
    with pytest.raises(ConfigError) as e:
        set_config_value(cfg, "scenario.name", 1.0)
    assert e.value.key == "scenario.name" and "not a number" in e.value.message
    with pytest.raises(ConfigError) as e:
        set_config_value(cfg, "scenario.events.999.date", 1.0)
    assert "allowed: 0 to" in e.value.message
    with pytest.raises(ConfigError) as e:
        get_config_value(cfg, "payoffs.alignment.stubbornness")
    assert "inertia" in e.value.message


# ------------------------------------------------------------------------------ figures
def test_step_dates_are_first_days_of_the_months() -> None:
    spec = compile_spec(compose_config(["scenario=baseline", "months=14", "replicates=2"]))
    traj = run_ensemble(spec, 2, 1)
    dates = step_dates(traj)
    assert len(dates) == 15 and dates[0] == pd.Timestamp(f"{spec.start}-01")
    assert dates[-1] == pd.Timestamp(f"{spec.start.plus(14)}-01")


def test_save_figure_writes_a_png_atomically_and_closes_it(tmp_path: Path) -> None:
    fig, ax = plt.subplots()
    ax.plot(np.arange(3))
    path = save_figure(fig, tmp_path / "sub" / "f.png", dpi=50, tight=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in path.parent.iterdir()] == ["f.png"]  # no temporary file left
