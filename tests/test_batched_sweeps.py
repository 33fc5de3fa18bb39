"""The batched sweeper: many points per Hydra job, the same results as one job per point.

End to end through ``alignsim -m`` (subprocesses), kept tiny: 12 months of the event-free
baseline, 3 replicates a point.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from alignsim.kernel.spec import ConfigError
from alignsim.sweeps.batched import batch_count, expand, plan_sweep

TINY = ["+experiment=pipeline_leverage", "experiment.replicates=3", "months=12",
        "scenario=baseline", "actions.pipeline_halt.effects.halt.cpc.severity=0.5"]
GRID = ["experiment.cpc_share=0.6,0.7,0.8", "payoffs.actors.russia.punish=0.05,0.5"]
NO_FIGURES = "hydra.callbacks.sweep_report.figures=false"


def _sweep(cli, d: Path, *extra: str):
    proc = cli(["-m", *TINY, *GRID, NO_FIGURES, f"hydra.sweep.dir={d}", *extra], cwd=d.parent)
    return proc


@pytest.fixture(scope="module")
def one_batch(tmp_path_factory, cli):
    d = tmp_path_factory.mktemp("batched") / "one"
    proc = _sweep(cli, d)
    assert proc.returncode == 0, proc.stderr
    return d, proc


def test_points_share_one_job_and_keep_their_own_folders(one_batch):
    d, proc = one_batch
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["batches"] == 1 and len(manifest["points"]) == 6
    assert "6 points in 1 batched jobs" in proc.stdout + proc.stderr
    # one Hydra job folder, six point folders, each a complete point
    assert sorted(p.name for p in (d / "batches").iterdir()) == ["0"]
    for p in manifest["points"]:
        rec = json.loads((d / p["dir"] / "point.json").read_text())
        assert rec["status"] == "completed" and rec["replicates"] == 3
    res = pd.read_parquet(d / "results.parquet")
    assert len(res) == 18 and res["point_key"].nunique() == 6
    assert sorted(res["cpc_share"].unique()) == [0.6, 0.7, 0.8]


def test_batch_count_and_launcher_give_byte_identical_tables(one_batch, tmp_path, cli):
    d, _ = one_batch
    three = tmp_path / "three"
    assert _sweep(cli, three, "hydra.sweeper.batches=3").returncode == 0
    joblib = tmp_path / "joblib"
    assert _sweep(cli, joblib, "hydra/launcher=joblib").returncode == 0
    basic = tmp_path / "basic"  # Hydra's own sweeper: one job per point
    assert _sweep(cli, basic, "hydra/sweeper=basic").returncode == 0
    want = (d / "results.parquet").read_bytes()
    for other in (three, joblib, basic):
        assert (other / "results.parquet").read_bytes() == want, other.name
    assert json.loads((three / "manifest.json").read_text())["batches"] == 3


def test_a_plain_multirun_is_aggregated(tmp_path, cli):
    d = tmp_path / "plain"
    proc = cli(["-m", "scenario=baseline", "months=12", "replicates=4", NO_FIGURES,
                "payoffs.actors.russia.punish=0.0,1.0", "policy=logit,foresight",
                f"hydra.sweep.dir={d}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = pd.read_parquet(d / "results.parquet")
    # a swept group (policy) is composed per choice; both parameters are columns
    assert set(res["policy"]) == {"logit", "foresight"}
    assert len(res) == 16 and res.groupby("point_key").size().eq(4).all()
    assert (d / "points.csv").is_file() and not list(d.rglob("timeseries.parquet"))


def test_a_bad_point_is_named_and_the_others_kept(tmp_path, cli):
    d = tmp_path / "bad"
    proc = cli(["-m", *TINY, NO_FIGURES, "experiment.cpc_share=0.6,0.95",
                "payoffs.actors.russia.punish=0.05", "payoffs.actors.russia.punsh=0.1,0.2",
                f"hydra.sweep.dir={d}"], cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    fails = pd.read_csv(d / "failures.csv")
    assert len(fails) == 4  # an unknown key in every point: each named, none run
    assert fails["error"].str.contains("punsh").all()
    d2 = tmp_path / "bad2"
    proc = cli(["-m", *TINY, NO_FIGURES, "experiment.cpc_share=0.6,0.95",
                "payoffs.actors.russia.punish=0.05", f"hydra.sweep.dir={d2}"], cwd=tmp_path)
    assert proc.returncode == 2
    res = pd.read_parquet(d2 / "results.parquet")
    assert sorted(res["cpc_share"].unique()) == [0.6]
    assert "experiment.cpc_share=0.95" in pd.read_csv(d2 / "failures.csv").loc[0, "overrides"]


def test_an_unfinished_point_is_named_from_the_manifest(one_batch, tmp_path):
    import shutil

    from alignsim.sweeps.report import load_sweep

    d, _ = one_batch
    copy = tmp_path / "copy"
    shutil.copytree(d, copy)
    shutil.rmtree(copy / "4")  # as if its batch had been killed before reaching it
    sweep = load_sweep(copy)
    assert len(sweep.failures) == 1 and sweep.failures.loc[0, "job"] == "4"
    assert "did not finish" in sweep.failures.loc[0, "error"]
    assert "experiment.cpc_share=0.8" in sweep.failures.loc[0, "overrides"]


def test_bad_batch_count_is_one_line(tmp_path, cli):
    proc = cli(["-m", *TINY, "hydra.sweeper.batches=0", f"hydra.sweep.dir={tmp_path / 'x'}"],
               cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "alignsim: error: hydra.sweeper.batches: must be an integer >= 1")


# ------------------------------------------------------------------------------ units
def test_batch_count_defaults_to_the_launchers_workers():
    from omegaconf import OmegaConf

    basic = OmegaConf.create({"hydra": {"launcher": {
        "_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}}})
    joblib = OmegaConf.create({"hydra": {"launcher": {"_target_": "x.JoblibLauncher",
                                                      "n_jobs": 3}}})
    assert batch_count(None, basic, 10) == 1
    assert batch_count(None, joblib, 10) == 3
    assert batch_count(None, joblib, 2) == 2  # never more jobs than points
    assert batch_count(5, basic, 10) == 5
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ConfigError, match=r"hydra\.sweeper\.batches"):
            batch_count(bad, basic, 10)


def test_expand_is_hydras_order_crossed_with_the_design():
    grid = expand([["a=1", "a=2"], ["b=x", "b=y"]], [])
    assert grid == [["a=1", "b=x"], ["a=1", "b=y"], ["a=2", "b=x"], ["a=2", "b=y"]]
    both = expand([["a=1", "a=2"]], [["c=0.1"], ["c=0.2"]])
    assert both == [["a=1", "c=0.1"], ["a=1", "c=0.2"], ["a=2", "c=0.1"], ["a=2", "c=0.2"]]


def test_the_command_line_replaces_a_presets_list_of_the_same_key():
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    parsed = OverridesParser.create().parse_overrides(
        ["a=1,2,3", "b=4,5", "a=9", "+experiment=x"])
    cfg = OmegaConf.create({"hydra": {"launcher": {"_target_": "BasicLauncher"}}})
    plan = plan_sweep(parsed, lambda k: k == "experiment", cfg, None)
    assert plan.fixed == ["a=9", "+experiment=x"] and plan.points == [["b=4"], ["b=5"]]
    assert plan.batches == 1 and plan.groups == set() and plan.swept == {"b"}
    # a ++ spelling replaces the same key too (the later one wins)
    plan = plan_sweep(OverridesParser.create().parse_overrides(["a=1,2", "++a=3"]),
                      lambda k: False, cfg, None)
    assert plan.fixed == ["++a=3"] and plan.points == [[]]


def test_a_swept_seed_is_a_point_of_its_own(tmp_path, cli):
    d = tmp_path / "seeds"
    proc = cli(["-m", "scenario=baseline", "months=6", "replicates=2", NO_FIGURES,
                "seed=1,2", f"hydra.sweep.dir={d}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(d / "points.csv")
    assert list(table["seed"]) == [1.0, 2.0] and list(table["replicates"]) == [2, 2]


def test_a_design_runs_end_to_end_and_checks_its_keys(tmp_path, cli):
    base = ["-m", "+experiment=tipping_conditions", "experiment.design.n=3",
            "experiment.replicates=2", "scenario=baseline", "months=6", NO_FIGURES]
    d = tmp_path / "design"
    proc = cli([*base, f"hydra.sweep.dir={d}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    res = pd.read_parquet(d / "results.parquet")
    assert res["point_key"].nunique() == 3 and "russia.punish" in res.columns
    assert "experiment.design.n" not in res.columns  # a design setting is not a parameter
    for extra, key in (["payoffs.actors.russia.punish=1"], "payoffs.actors.russia.punish"), \
            (["experiment.design.seed=1,2"], "experiment.design.seed"), \
            (["+experiment.design.ranges.nosuch=[0,1]"], "experiment.design.ranges.nosuch"):
        proc = cli([*base, *extra, f"hydra.sweep.dir={tmp_path / 'x'}"], cwd=tmp_path)
        assert proc.returncode == 2, (extra, proc.stderr)
        assert proc.stderr.strip().splitlines()[-1].startswith(f"alignsim: error: {key}:")
