"""Experiment sweeps: point identity and seeds, failures, resume, launchers, the report.

The end-to-end tests run real ``alignsim -m +experiment=...`` multiruns as subprocesses, kept tiny
(two points, three replicates, 12 months of the event-free baseline): Hydra costs seconds a job on
this loaded box, the model itself a fraction of a second.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.config import compose_dictconfig, to_config
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.sweeps.point import (
    Experiment,
    apply_experiment,
    point_key,
    point_overrides,
    point_params,
    run_point,
)
from alignsim.sweeps.report import build_report, load_sweep

PRESETS = ("pipeline_leverage", "investment_race", "shootdown_shock")

# two good points, and a third that run_point must reject (cpc share above cpc + china_east)
NO_FIGURES = "hydra.callbacks.sweep_report.figures=false"  # tables only: faster, same parquet
TINY = [
    "+experiment=pipeline_leverage",
    "experiment.replicates=3",
    "months=12",
    "scenario=baseline",
    "experiment.cpc_share=0.6,0.8,0.95",
    "actions.pipeline_halt.effects.halt.cpc.severity=0.5",
    "payoffs.actors.russia.punish=0.05",
]


# ------------------------------------------------------------------------ point identity
def test_point_key_ignores_bookkeeping_and_order():
    a = ["b=2", "a=1", "+experiment=x", "seed=3", "experiment.replicates=9", "months=12"]
    b = ["a=1", "b=2", "hydra/launcher=joblib", "experiment.first_replicate=4"]
    assert point_overrides(a) == ["a=1", "b=2"]
    assert point_key(a) == point_key(b)
    assert point_key(["a=1", "b=3"]) != point_key(b)
    assert 0 <= point_key(a) < 2**63


def test_point_params_are_typed_and_labelled():
    cfg = compose_dictconfig(["+experiment=pipeline_leverage", "experiment.cpc_share=0.7",
                              "payoffs.actors.russia.punish=0"])
    params = point_params(["experiment.cpc_share=0.7", "payoffs.actors.russia.punish=0",
                           "+experiment=pipeline_leverage", "seed=5"], cfg,
                          {"experiment.cpc_share": "cpc_share"})
    assert params == {"cpc_share": 0.7, "payoffs.actors.russia.punish": 0.0}


# --------------------------------------------------------------------- experiment knobs
@pytest.mark.parametrize("name", PRESETS)
def test_presets_compose_and_compile(name):
    config = to_config(compose_dictconfig([f"+experiment={name}"]))
    exp = Experiment.from_config(config.experiment)
    assert exp.name == name and exp.replicates >= 1 and exp.question
    assert config.months == 48  # Jan 2022 .. Dec 2025
    compile_spec(apply_experiment(config, exp))


def test_cpc_share_keeps_route_shares_summing_to_one():
    config = to_config(compose_dictconfig(["+experiment=pipeline_leverage",
                                           "experiment.cpc_share=0.55"]))
    out = apply_experiment(config, Experiment.from_config(config.experiment))
    routes = out.world.routes
    assert routes["cpc"].share == pytest.approx(0.55)
    assert sum(r.share for r in routes.values()) == pytest.approx(1.0)
    assert routes["china_east"].capacity >= routes["china_east"].share
    assert config.world.routes["cpc"].share == pytest.approx(0.80)  # the input is not mutated
    compile_spec(out)


def test_cpc_share_out_of_range_is_a_config_error():
    config = to_config(compose_dictconfig(["+experiment=pipeline_leverage",
                                           "experiment.cpc_share=0.95"]))
    with pytest.raises(ConfigError, match=r"experiment.cpc_share: must be <= 0.91"):
        apply_experiment(config, Experiment.from_config(config.experiment))


def test_rift_found_by_event_name():
    config = to_config(compose_dictconfig(["+experiment=shootdown_shock", "experiment.rift=0.8"]))
    out = apply_experiment(config, Experiment.from_config(config.experiment))
    (event,) = [e for e in out.scenario.events if e.name == "Airliner shoot-down"]
    (rel,) = [r for r in event.effects.relations if {r.a, r.b} == {"russia", "azerbaijan"}]
    assert rel.delta == pytest.approx(-0.8)
    bad = dataclasses.replace(Experiment.from_config(config.experiment), rift_event="No such")
    with pytest.raises(ConfigError, match=r"experiment\.rift_event: no event named 'No such'"):
        apply_experiment(config, bad)


def test_investment_race_interpolates_fund_sizes():
    config = to_config(compose_dictconfig(["+experiment=investment_race",
                                           "experiment.turkic_fund_bn=1.2",
                                           "experiment.rival_fund_bn=2.0"]))
    users = config.actions["investment_fund"].users
    assert users["azerbaijan"].scale == users["turkiye"].scale == 1.2
    assert users["china"].scale == users["eu"].scale == 2.0


def test_experiment_metadata_checked():
    with pytest.raises(ConfigError, match=r"experiment\.replicates"):
        Experiment.from_config({"name": "x", "replicates": 0})
    with pytest.raises(ConfigError, match=r"experiment\.name"):
        Experiment.from_config({"replicates": 3})


# ------------------------------------------------------------------ run_point in-process
def test_run_point_writes_resumes_and_records_failures(tmp_path: Path):
    over = ["+experiment=shootdown_shock", "experiment.replicates=4", "experiment.rift=0.3"]
    cfg = compose_dictconfig(over)
    config = to_config(cfg)
    job = tmp_path / "0"
    assert run_point(config, cfg, job, overrides=over)["status"] == "completed"
    rec = json.loads((job / "point.json").read_text())
    assert rec["status"] == "completed" and rec["params"] == {"rift": 0.3}
    assert rec["overrides"] == ["experiment.rift=0.3"]
    frame = pd.read_parquet(job / "point.parquet")
    assert list(frame["replicate"]) == [0, 1, 2, 3]
    assert {"window_drift", "window_neutrality_change", "drift_end", "axis_2025",
            "leader_end", "tipping_step"} <= set(frame.columns)
    assert frame["rift"].eq(0.3).all()
    # replicate r does not depend on how many replicates run together
    cfg2 = compose_dictconfig([*over, "experiment.replicates=2", "experiment.first_replicate=2"])
    run_point(to_config(cfg2), cfg2, tmp_path / "1", overrides=[*over[:1], "experiment.rift=0.3",
                                                                 "experiment.first_replicate=2"])
    part = pd.read_parquet(tmp_path / "1" / "point.parquet")
    pd.testing.assert_frame_equal(part.reset_index(drop=True),
                                  frame.iloc[2:].reset_index(drop=True))
    # resume: the same point and config return at once, leaving the files untouched
    mtime = (job / "point.json").stat().st_mtime_ns
    assert run_point(config, cfg, job, overrides=over)["status"] == "skipped"
    assert (job / "point.json").stat().st_mtime_ns == mtime
    # a bad point is recorded, not raised, and its stale results are removed
    bad = [*over[:2], "experiment.rift=-1"]
    cfgb = compose_dictconfig(bad)
    assert run_point(to_config(cfgb), cfgb, job, overrides=bad)["status"] == "failed"
    rec = json.loads((job / "point.json").read_text())
    assert rec["error"] == "experiment.rift: must be >= 0 (a drop in relations), got -1.0"
    assert not (job / "point.parquet").exists()


# --------------------------------------------------------------------- end to end (CLI)
@pytest.fixture(scope="module")
def basic_sweep(tmp_path_factory, cli) -> tuple[Path, object]:
    d = tmp_path_factory.mktemp("basic") / "sweep"
    proc = cli(["-m", *TINY, f"hydra.sweep.dir={d}"], cwd=d.parent)
    return d, proc


def test_failed_point_does_not_stop_the_sweep(basic_sweep):
    d, proc = basic_sweep
    # the good points are kept and reported; the failed one is named and the status says so
    assert proc.returncode == 2, proc.stderr
    assert "point failed" in proc.stderr and "experiment.cpc_share" in proc.stderr
    assert "Traceback" not in proc.stderr
    res = pd.read_parquet(d / "results.parquet")
    assert sorted(res["cpc_share"].unique()) == [0.6, 0.8]  # the good points, 3 replicates each
    assert len(res) == 6 and res["halt_severity"].eq(0.5).all()
    fails = pd.read_csv(d / "failures.csv")
    assert len(fails) == 1
    assert "experiment.cpc_share=0.95" in fails.loc[0, "overrides"]
    assert fails.loc[0, "error"].startswith("experiment.cpc_share: must be <= 0.91")
    assert "FAILED job 2" in proc.stdout
    for name in ("drift.png", "leader_heatmap.png", "trajectories.png", "points.csv"):
        assert (d / name).stat().st_size > 0


def test_results_table_is_tidy_and_sorted(basic_sweep):
    d, _ = basic_sweep
    res = pd.read_parquet(d / "results.parquet")
    # swept parameters (labelled), other point overrides (scenario=baseline), then the keys
    order = ["cpc_share", "halt_severity", "russia_punish", "scenario", "point_key", "replicate"]
    assert list(res.columns[:6]) == order
    assert res["scenario"].eq("baseline").all()
    assert res.equals(res.sort_values(order).reset_index(drop=True))
    assert res["drift_end"].equals(res["axis_end"] - res["axis_start"])
    assert set(res["leader_end"]) <= {"russian", "turkic", "chinese", "western"}
    assert not any(str(t).startswith("datetime") for t in res.dtypes)  # no timestamps


@pytest.mark.slow
def test_joblib_gives_byte_identical_results(basic_sweep, tmp_path, cli):
    d, _ = basic_sweep
    other = tmp_path / "joblib"
    proc = cli(["-m", *TINY, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", NO_FIGURES,
                f"hydra.sweep.dir={other}"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr  # the same failing point as the basic sweep
    assert (other / "results.parquet").read_bytes() == (d / "results.parquet").read_bytes()


def test_rerun_resumes_completed_points(basic_sweep, cli):
    d, _ = basic_sweep
    before = {p.parent.name: p.stat().st_mtime_ns for p in d.glob("*/point.json")}
    status = {p.parent.name: json.loads(p.read_text())["status"] for p in d.glob("*/point.json")}
    proc = cli(["-m", *TINY, NO_FIGURES, f"hydra.sweep.dir={d}"], cwd=d.parent)
    assert proc.returncode == 2, proc.stderr  # the failed point is retried and fails again
    after = {p.parent.name: p.stat().st_mtime_ns for p in d.glob("*/point.json")}
    log = proc.stdout + proc.stderr
    assert log.count("skipped") == 2
    for job, st in status.items():
        if st == "completed":
            assert after[job] == before[job]  # untouched
        else:
            assert after[job] > before[job]  # a failed point is tried again


def test_report_rebuilds(basic_sweep, tmp_path, cli):
    d, _ = basic_sweep
    copy = tmp_path / "copy"
    import shutil

    shutil.copytree(d, copy)
    expected = (copy / "results.parquet").read_bytes()
    for name in ("results.parquet", "failures.csv", "drift.png", "leader_heatmap.png"):
        (copy / name).unlink()
    proc = cli([str(copy)], cwd=tmp_path, program="alignsim-report")
    assert proc.returncode == 0, proc.stderr
    assert (copy / "results.parquet").read_bytes() == expected
    assert (copy / "failures.csv").exists() and (copy / "drift.png").stat().st_size > 0
    assert "1 failed" in proc.stdout


def test_report_on_a_folder_without_jobs(tmp_path, cli):
    proc = cli([str(tmp_path)], cwd=tmp_path, program="alignsim-report")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"alignsim-report: error: DIR: no experiment job (*/point.json) under {tmp_path}"]


def test_bad_experiment_name_is_one_line_exit_2(tmp_path, cli):
    proc = cli(["-m", "+experiment=no_such_preset", f"hydra.sweep.dir={tmp_path / 's'}"],
               cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("alignsim: error: ") and "no_such_preset" in lines[0]
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_submitit_local_gives_identical_results(basic_sweep, tmp_path, cli):
    d, _ = basic_sweep
    other = tmp_path / "submitit"
    proc = cli(["-m", *TINY, "hydra/launcher=submitit_local", NO_FIGURES,
                f"hydra.sweep.dir={other}"], cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr  # the failing point, found from its files
    # submitit reports failed jobs as completed (hydra#1928): the report checks the files
    sweep = load_sweep(other)
    assert len(sweep.failures) == 1
    assert (other / "results.parquet").read_bytes() == (d / "results.parquet").read_bytes()


def test_build_report_on_a_partial_sweep(basic_sweep, tmp_path):
    """A job that never wrote point.json (killed) is named, the others are kept."""
    import shutil

    copy = tmp_path / "partial"
    shutil.copytree(basic_sweep[0], copy)
    (copy / "0" / "point.json").unlink()
    sweep = build_report(copy, figures=False)
    assert sweep.results["point_key"].nunique() == 1
    assert "did not finish" in " ".join(sweep.failures["error"])


# ------------------------------------------------- common random numbers, resolved point keys
def test_point_key_reads_resolved_values_not_spellings():
    fixed = ["+experiment=pipeline_leverage"]
    keys = set()
    for spelling in ("0.50", ".5", "5e-1", "0.5"):
        over = [f"payoffs.actors.russia.punish={spelling}", *fixed]
        keys.add(point_key(over, compose_dictconfig(over)))
    assert len(keys) == 1
    other = ["payoffs.actors.russia.punish=0.6", *fixed]
    assert point_key(other, compose_dictconfig(other)) not in keys
    # an int spelling of a float value is the same point too
    one = ["payoffs.actors.russia.punish=1", *fixed]
    one_f = ["payoffs.actors.russia.punish=1.0", *fixed]
    assert point_key(one, compose_dictconfig(one)) == point_key(one_f, compose_dictconfig(one_f))


def _rows(directory, streams: str):
    from alignsim.sweeps.point import run_grid
    from alignsim.sweeps.report import load_sweep

    run_grid("pipeline_leverage", {"payoffs.actors.russia.punish": [0.0, 0.001]}, directory,
             overrides=["experiment.replicates=6", "months=18", "scenario=baseline",
                        f"experiment.streams={streams}"])
    return load_sweep(directory).results


def test_common_random_numbers_make_an_inert_parameter_exactly_inert(tmp_path):
    """In `baseline` nobody defies Russia in 18 months at the defaults, so a punish of 0 or
    0.001 changes nothing: with common random numbers the two points' rows are equal, replicate
    by replicate; with independent streams they differ (the draws do)."""
    common = _rows(tmp_path / "c", "common")
    p0, p1 = (common[common["russia_punish"] == v] for v in (0.0, 0.001))
    outcomes = [c for c in common.columns if c.endswith("_end") or c.startswith("drift")]
    assert outcomes
    for c in outcomes:
        np.testing.assert_array_equal(p0[c].to_numpy(), p1[c].to_numpy(), err_msg=c)
    assert p0["drift_end"].std() > 0  # the replicates differ: the equality is not trivial
    indep = _rows(tmp_path / "i", "independent")
    q0, q1 = (indep[indep["russia_punish"] == v] for v in (0.0, 0.001))
    assert not np.array_equal(q0["drift_end"].to_numpy(), q1["drift_end"].to_numpy())


def test_common_streams_are_the_main_jobs_replicates(tmp_path):
    """Replicate r of a sweep point is replicate r of a plain run of the same config."""
    from alignsim.config import compose_config
    from alignsim.ensemble import run_ensemble
    from alignsim.kernel.spec import compile_spec
    from alignsim.sweeps.point import Experiment, apply_experiment

    rows = _rows(tmp_path / "c", "common")
    p0 = rows[rows["russia_punish"] == 0.0].sort_values("replicate")
    cfg = compose_config(["+experiment=pipeline_leverage", "experiment.replicates=6", "months=18",
                          "scenario=baseline", "payoffs.actors.russia.punish=0.0"])
    spec = compile_spec(apply_experiment(cfg, Experiment.from_config(cfg.experiment)))
    traj = run_ensemble(spec, 6, cfg.seed)
    np.testing.assert_array_equal(p0["drift_end"].to_numpy(), traj.axis[-1] - traj.axis[0])


def test_unknown_streams_value_is_refused():
    from alignsim.sweeps.point import Experiment

    with pytest.raises(ConfigError) as err:
        Experiment.from_config({"name": "x", "streams": "shared"})
    assert err.value.key == "experiment.streams"
    assert err.value.message == "unknown value 'shared'; allowed: common, independent"


def test_a_plain_replicates_override_sets_a_points_replicates(tmp_path):
    """`alignsim -m +experiment=X replicates=5 ...` runs 5 replicates per point (it used to be
    silently ignored for the preset's experiment.replicates); both keys at odds is one error."""
    import json as _json

    from alignsim.config import compose_dictconfig as _compose
    from alignsim.sweeps.point import run_point

    over = ["+experiment=pipeline_leverage", "replicates=5", "months=6", "scenario=baseline"]
    cfg = _compose(over)
    run_point(to_config(cfg), cfg, tmp_path / "a", overrides=over)
    rec = _json.loads((tmp_path / "a" / "point.json").read_text())
    assert rec["status"] == "completed" and rec["replicates"] == 5
    assert len(pd.read_parquet(tmp_path / "a" / "point.parquet")) == 5
    both = [*over, "experiment.replicates=7"]
    cfg = _compose(both)
    run_point(to_config(cfg), cfg, tmp_path / "b", overrides=both)
    rec = _json.loads((tmp_path / "b" / "point.json").read_text())
    assert rec["status"] == "failed"
    assert rec["error"] == ("replicates: 5 contradicts experiment.replicates=7; give the "
                            "replicate count once")


def test_a_point_spelled_twice_is_counted_once(tmp_path):
    """`punish=0` and `punish=0.0` are one point: the report reads its replicates once and says
    which job repeated it (before, the two spellings were two keys and the rows counted twice)."""
    from alignsim.sweeps.point import run_grid
    from alignsim.sweeps.report import format_report

    fixed = ["experiment.replicates=3", "months=40", "experiment.cpc_share=0.8"]
    run_grid("pipeline_leverage", {"payoffs.actors.russia.punish": ["0", "0.0"]}, tmp_path,
             overrides=fixed)
    sweep = load_sweep(tmp_path)
    assert len(sweep.results) == 3 and sweep.results["point_key"].nunique() == 1
    assert sweep.results["replicate"].tolist() == [0, 1, 2]
    assert sweep.repeats == ["1"]
    text = format_report(sweep)
    assert "1 of 1 points completed, 3 runs" in text
    assert ("1 job(s) repeat a point another job ran (the same resolved values), counted "
            "once: 1") in text


def test_jobs_that_share_only_a_key_are_all_kept(tmp_path):
    """Keys leave out the replicate range and the seed: a point split over jobs by
    experiment.first_replicate, or run at two seeds, is several runs, all reported."""
    from alignsim.sweeps.point import run_grid

    fixed = ["experiment.replicates=3", "months=40", "experiment.cpc_share=0.8"]
    run_grid("pipeline_leverage", {"experiment.first_replicate": [0, 3]}, tmp_path / "split",
             overrides=fixed)
    split = load_sweep(tmp_path / "split")
    assert split.repeats == [] and split.results["replicate"].tolist() == [0, 1, 2, 3, 4, 5]
    run_grid("pipeline_leverage", {"seed": [1, 2]}, tmp_path / "seeds", overrides=fixed)
    seeds = load_sweep(tmp_path / "seeds")
    assert seeds.repeats == [] and len(seeds.results) == 6


def test_grid_text_values_get_the_command_line_key():
    """run_grid reads "0.8" as Hydra reads a command-line value, so a notebook's point has the
    key of the same point in an `alignsim -m` sweep (experiment.cpc_share is an untyped node)."""
    from omegaconf import OmegaConf

    from alignsim.sweeps.point import command_line_value

    over = ["experiment.cpc_share=0.8", "+experiment=pipeline_leverage"]
    cli_key = point_key(over, compose_dictconfig(over))
    base = compose_dictconfig(["+experiment=pipeline_leverage"])
    for given in ("0.8", 0.8, "8e-1", ".8"):
        cfg = base.copy()
        OmegaConf.update(cfg, "experiment.cpc_share", command_line_value(given), merge=False)
        assert point_key(over, cfg) == cli_key, given
    assert command_line_value("[1,2]") == [1, 2] and command_line_value("abc") == "abc"


def test_a_failed_point_gets_the_key_a_completed_one_would(tmp_path):
    from alignsim.sweeps.point import record_failure

    over = ["payoffs.actors.russia.punish=1", "+experiment=pipeline_leverage"]
    cfg = compose_dictconfig(over)
    rec = record_failure(tmp_path, ConfigError("x", "y"), overrides=over, cfg=cfg)
    assert rec["point_key"] == point_key(over, cfg)
