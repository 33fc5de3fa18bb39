"""``alignsim-equilibria``: readable equilibria at a date; bad input is one line, exit 2."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from alignsim.game.cli import TOOL, main, qre_lambdas


def test_reports_pure_qre_and_slice_equilibria_at_a_date(capsys):
    main(["scenario=history", "months=40", "replicates=3", "seed=3", "+date=2022-07"])
    out = capsys.readouterr().out
    assert out.startswith("Stage game at 2022-07 — scenario history, seed 3, replicate ")
    assert "(median axis of 3;" in out
    assert "Events this month (shocks included in the game): CPC halt" in out
    assert "Scheduled moves (not imposed here: every actor chooses): russia pipeline_halt" in out
    assert "(2268 profiles" in out
    assert "russia: none, pipeline_halt, security_guarantee, summit" in out
    n_pure = int(re.search(r"Pure Nash equilibria: (\d+)", out).group(1))
    assert len(re.findall(r"^  \d+\. kazakhstan=", out, re.M)) >= n_pure
    for lam in qre_lambdas(50.0):
        assert f"  λ={lam:g}: kazakhstan=" in out
    assert re.search(r"All Nash equilibria of the kazakhstan vs russia slice .*: [1-9]", out)
    assert "expected payoffs: kazakhstan " in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["+date=2031-01"], "alignsim-equilibria: error: date: 2031-01 is outside the run; "
                            "allowed: 2022-01 to 2027-12"),
        (["date=July"], "alignsim-equilibria: error: date: 'July' is not a date"),
        (["seed=abc"], "alignsim-equilibria: error: seed: "),
        (["+colour=red"], "alignsim-equilibria: error: colour: unknown key"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(message), err


def test_entry_point_exit_status():
    proc = subprocess.run(
        [sys.executable, "-m", "alignsim.game.cli", "+date=1999-01"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "alignsim-equilibria: error: date: 1999-01 is outside the run; allowed: 2022-01 to 2027-12"
    ]


def test_the_date_is_taken_out_of_the_overrides():
    args = TOOL.parse(["+date=2022-07", "seed=3"])
    assert (args.get("date"), args.hydra) == ("2022-07", ["seed=3"])
    args = TOOL.parse(["date=2023-01", "scenario=history"])
    assert (args.get("date"), args.hydra) == ("2023-01", ["scenario=history"])
    assert TOOL.parse(["scenario=history"]).get("date") is None


def test_help_is_printed_without_composing(capsys, monkeypatch):
    import alignsim.config

    monkeypatch.setattr(alignsim.config, "compose_config", None)  # would fail if called
    main(["+date=2031-01", "--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: alignsim-equilibria [-h] [+date=YYYY-MM]")
    assert "pure Nash" in out and "alignsim-equilibria +date=2022-07" in out


def test_unknown_option_is_one_line_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--date", "2022-07"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "alignsim-equilibria: error: --date: unknown option; allowed: --help\n")
