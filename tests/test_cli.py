"""The ``alignsim`` command end to end, as a user runs it (subprocesses, MPLBACKEND=Agg).

Every CLI run of this file is started once, concurrently, by the module fixture ``runs`` (each
process spends most of its ~2.5 s importing; on 2 cores running them side by side halves the
wall time); the tests then only read the results.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alignsim

RESULT_FILES = ("timeseries.parquet", "summary.json", "drift.png")
REPLICATES = 20
ACTORS = ("kazakhstan", "russia", "azerbaijan", "turkiye", "china", "eu")
SPHERES = ("russian", "turkic", "chinese", "western")
QUICK = ("replicates=2", "progress=false")


@dataclass(frozen=True)
class Case:
    """A CLI run: its overrides, and for bad input the key the error line must name."""

    args: tuple[str, ...]
    key: str | None = None
    fragment: str | None = None


GOOD = {
    "a": Case((f"replicates={REPLICATES}", "progress=false")),
    # same seed as "a"; no figure (it does not touch the time series, and costs ~1 s)
    "b": Case((f"replicates={REPLICATES}", "progress=false", "output.figure=false")),
    "c": Case((f"replicates={REPLICATES}", "progress=false", "seed=7", "output.figure=false")),
}

BAD = {
    "wrong type": Case(("payoffs.alignment.inertia=high",), "payoffs.alignment.inertia", "high"),
    "negative cost": Case(("actions.pipeline_halt.users.russia.cost=-0.1",),
                          "actions.pipeline_halt.users.russia.cost", ">= 0"),
    "route shares": Case(("world.routes.cpc.share=0.5",), "world.routes", "sum to 1"),
    "probability": Case(("world.dynamics.threat_prior=1.5",), "world.dynamics.threat_prior",
                        "<= 1"),
    "initial alignment": Case(("world.initial_alignment.russian=0.6",),
                              "world.initial_alignment", "sum to 1"),
    "unknown key": Case(("+payoffs.foo=1",), "payoffs.foo", "unknown key"),
    "unknown nested key": Case(("+payoffs.actors.russia.punsh=1",),
                               "payoffs.actors.russia.punsh", "unknown key"),
    "unknown forced actor": Case(("+scenario.events.0.forced.mars=summit",),
                                 "scenario.events.0.forced.mars", "unknown actor"),
    "unknown forced action": Case(("scenario.events.0.forced.russia=nosuch",),
                                  "scenario.events.0.forced.russia", "unknown action"),
    "event after the run": Case(("scenario.events.0.date=2031-01",), "scenario.events.0.date",
                                "outside the run"),
    "event month 13": Case(("scenario.events.0.date=2022-13",), "scenario.events.0.date",
                           "13"),
    "unknown scenario": Case(("scenario=nosuch",), "scenario", "nosuch"),
    "unknown decision rule": Case(("policy.rule=nosuch",), "policy.rule",
                                  "unknown decision rule"),
    # a single (not multirun) run of a preset point: its bad input exits 2 like the main job's
    "bad preset knob": Case(("+experiment=pipeline_leverage", "experiment.streams=shared"),
                            "experiment.streams", "allowed: common, independent"),
}

# Cases once wrong (see their tests), run here so that they need no process of their own.
KNOWN = {
    # a user added with '+' used to end in OmegaConf's error about a bare 'mars' node
    "plus unknown user": Case(("+actions.summit.users.mars.cost=0.1",),
                              "actions.summit.users.mars", "mars"),
}


@dataclass
class Run:
    proc: subprocess.CompletedProcess[str]
    out: Path


def _launch(cli, cwd: Path, name: str, args: Sequence[str], quick: bool) -> Run:
    out = cwd / name.replace(" ", "_") / "x"
    base = QUICK if quick else ()
    proc = cli([*base, *args, f"hydra.run.dir={out}"], cwd=cwd)
    return Run(proc, out)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli) -> dict[str, Run]:
    cwd = tmp_path_factory.mktemp("cli")
    jobs = [(n, c.args, False) for n, c in GOOD.items()]
    jobs += [(n, c.args, True) for n, c in {**BAD, **KNOWN}.items()]
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {n: pool.submit(_launch, cli, cwd, n, a, q) for n, a, q in jobs}
        results = {n: f.result() for n, f in futures.items()}
    results["_cwd"] = cwd  # type: ignore[assignment]
    return results


def _good(runs: dict[str, Run], name: str) -> Run:
    run = runs[name]
    assert run.proc.returncode == 0, run.proc.stderr[-3000:]
    return run


def _error_line(run: Run) -> str:
    proc = run.proc
    assert "Traceback" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, f"expected one line, got:\n{proc.stderr}"
    return lines[0]


# -------------------------------------------------------------------------- the main job
def test_cli_writes_results_and_exits_zero(runs) -> None:
    run = _good(runs, "a")
    for name in RESULT_FILES:
        assert (run.out / name).is_file(), name
    assert "Traceback" not in run.proc.stderr


def test_cli_timeseries_is_tidy(runs, default_spec) -> None:
    run = _good(runs, "a")
    frame = pd.read_parquet(run.out / "timeseries.parquet")
    months = default_spec.months
    assert len(frame) == REPLICATES * (months + 1)
    for col in ("replicate", "step", "date", "axis", "drift", "leader", "revenue_lost",
                *(f"share_{s}" for s in SPHERES), *(f"action_{a}" for a in ACTORS),
                *(f"payoff_{a}" for a in ACTORS), "route_cpc", "route_middle_corridor",
                "capacity_middle_corridor", "threat_russia", "investment_eu",
                "rel_kazakhstan_russia"):
        assert col in frame.columns, col
    assert sorted(frame["replicate"].unique()) == list(range(REPLICATES))
    counts = frame.groupby("replicate")["step"].agg(["min", "max", "count"])
    assert (counts["min"] == 0).all() and (counts["max"] == months).all()
    assert (counts["count"] == months + 1).all()
    dates = pd.to_datetime(frame.loc[frame["replicate"] == 0, "date"])
    assert dates.iloc[0] == pd.Timestamp("2022-01-01")
    assert dates.iloc[-1] == pd.Timestamp("2028-01-01")
    assert (dates.dt.day == 1).all() and dates.is_monotonic_increasing
    shares = frame[[f"share_{s}" for s in SPHERES]].to_numpy()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(frame["axis"], frame["share_turkic"] - frame["share_russian"],
                               atol=1e-12)
    start = frame[frame["step"] == 0]
    assert (start["action_russia"] == "start").all() and start["payoff_russia"].isna().all()
    later = frame[frame["step"] > 0]
    assert set(later["action_russia"].astype(str)) <= set(default_spec.actions)
    assert later["payoff_russia"].notna().all()
    # the CPC halt of July 2022 is on the row of the state it produced (1 Aug 2022)
    aug = frame[pd.to_datetime(frame["date"]) == pd.Timestamp("2022-08-01")]
    assert (aug["action_russia"] == "pipeline_halt").all()
    assert (aug["revenue_lost"] > 0.5).all()


def test_cli_summary_json(runs, default_spec) -> None:
    run = _good(runs, "a")
    summary = json.loads((run.out / "summary.json").read_text())
    assert summary["seed"] == 20220101
    assert summary["alignsim_version"] == alignsim.__version__
    assert summary["replicates"] == REPLICATES and summary["months"] == default_spec.months
    assert summary["config"]["replicates"] == REPLICATES
    assert summary["config"]["scenario"]["name"] == "history"
    assert "hydra" not in summary["config"]
    for when in ("start", "end_2025", "end"):
        band = summary["axis"][when]
        assert band["p05"] <= band["median"] <= band["p95"], when
        assert band["p05"] <= band["mean"] <= band["p95"], when
    assert summary["axis"]["start"]["p05"] == summary["axis"]["start"]["p95"]  # one start
    assert summary["axis"]["end_2025"]["date"] == "2026-01"
    assert set(summary["leader_end"]) == set(SPHERES)
    assert sum(summary["leader_end"].values()) == pytest.approx(1.0)
    assert set(summary["most_used_action"]) == set(ACTORS)
    for actor, action in summary["most_used_action"].items():
        i, a = default_spec.actor_index(actor), default_spec.action_index(action)
        assert default_spec.allowed[i, a], (actor, action)
        freq = summary["action_frequencies"][actor]
        assert freq[action] == max(freq.values())
    # the summary agrees with the time series it comes with
    frame = pd.read_parquet(run.out / "timeseries.parquet")
    end = frame.loc[frame["step"] == default_spec.months, "axis"]
    assert summary["axis"]["end"]["median"] == pytest.approx(float(end.median()), abs=1e-6)
    assert summary["axis"]["end"]["mean"] == pytest.approx(float(end.mean()), abs=1e-6)


def test_cli_drift_figure_is_a_png(runs) -> None:
    png = _good(runs, "a").out / "drift.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_cli_prints_the_summary(runs) -> None:
    run = _good(runs, "a")
    text = run.proc.stdout
    summary = json.loads((run.out / "summary.json").read_text())
    assert "start (2022-01)" in text and "end of 2025" in text and "end (2027-12)" in text
    for when in ("start", "end_2025", "end"):
        b = summary["axis"][when]
        assert (f"{b['median']:+.3f}  (90 % band {b['p05']:+.3f} .. {b['p95']:+.3f}"
                in text), when
    lead = next(ln for ln in text.splitlines() if ln.startswith("Leading sphere"))
    for sphere, share in summary["leader_end"].items():
        assert f"{sphere} {share:.0%}" in lead
    used = next(ln for ln in text.splitlines() if ln.startswith("Most used action"))
    for actor, action in summary["most_used_action"].items():
        assert f"{actor} {action}" in used
    assert f"seed {summary['seed']}" in text and f"{REPLICATES} replicates" in text


def test_same_seed_gives_identical_timeseries(runs) -> None:
    a = _good(runs, "a").out / "timeseries.parquet"
    b = _good(runs, "b").out / "timeseries.parquet"
    assert a.read_bytes() == b.read_bytes()


def test_other_seed_gives_other_timeseries(runs) -> None:
    a = pd.read_parquet(_good(runs, "a").out / "timeseries.parquet")
    c_run = _good(runs, "c")
    c = pd.read_parquet(c_run.out / "timeseries.parquet")
    assert not (c_run.out / "drift.png").exists()  # output.figure=false is honoured
    assert json.loads((c_run.out / "summary.json").read_text())["seed"] == 7
    assert a.shape == c.shape and list(a.columns) == list(c.columns)
    # same start, different paths
    pd.testing.assert_frame_equal(a[a["step"] == 0], c[c["step"] == 0])
    assert not np.array_equal(a["axis"].to_numpy(), c["axis"].to_numpy())


def test_cli_leaves_the_working_directory_clean(runs) -> None:
    """Everything went to hydra.run.dir: no outputs/ or multirun/ in the working directory."""
    cwd = runs["_cwd"]
    assert not (cwd / "outputs").exists() and not (cwd / "multirun").exists()


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", list(BAD))
def test_bad_input_is_one_line_exit_2_and_no_files(runs, name) -> None:
    case, run = BAD[name], runs[name]
    assert run.proc.returncode == 2, run.proc.stderr
    line = _error_line(run)
    assert line.startswith("alignsim: error: ")
    dotted = re.sub(r"\[(\d+)\]", r".\1", line)  # events[0].date names events.0.date
    assert case.key in dotted, line
    assert case.fragment in line, line
    assert run.proc.stdout.strip() == ""
    for name_ in RESULT_FILES:
        assert not (run.out / name_).exists(), name_


def test_adding_an_unknown_user_names_the_full_key(runs) -> None:
    run, case = runs["plus unknown user"], KNOWN["plus unknown user"]
    assert run.proc.returncode == 2
    line = _error_line(run)
    assert line.startswith(f"alignsim: error: {case.key}")
