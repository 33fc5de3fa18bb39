"""The sweep report's statistics on two points of three replicates, worked out by hand.

The job folders are written here as a sweep leaves them (``point.json`` + ``point.parquet``), then
read through the public functions (``load_sweep``, ``point_table``, ``build_report``,
``format_report``, ``main``). Per point, with replicates' ``drift_end`` d:

- point 11 (rift 0.0): d = (0.1, 0.4, 0.1): mean 0.2, median 0.1, deviations (-0.1, 0.2, -0.1),
  sd = sqrt(0.06 / 2) = sqrt(0.03); 95 % interval 1.96 sd / sqrt(3) = 1.96 sqrt(0.01) = 0.196;
- point 22 (rift 0.5): d = (-0.5, 0.1, 0.1): mean -0.1, median 0.1, deviations (-0.4, 0.2, 0.2),
  sd = sqrt(0.24 / 2) = sqrt(0.12); interval 1.96 sqrt(0.04) = 0.392.

Means and medians differ, and sd / sqrt(n) differs from sd / n, on purpose.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.sweeps.report import build_report, format_report, load_sweep, main, point_table

TOL = 1e-12

POINTS = {
    11: dict(rift=0.0, drift_end=[0.1, 0.4, 0.1], axis_end=[0.0, 0.1, 0.2],
             leader_end=["turkic", "russian", "turkic"], window_drift=[0.1, 0.2, 0.6],
             window_neutrality_change=[0.01, 0.02, 0.03]),
    22: dict(rift=0.5, drift_end=[-0.5, 0.1, 0.1], axis_end=[-0.3, -0.2, -0.1],
             leader_end=["russian", "russian", "chinese"], window_drift=[0.0, 0.0, 0.3],
             window_neutrality_change=[-0.03, 0.0, 0.0]),
}


def _frame(key: int, p: dict) -> pd.DataFrame:
    return pd.DataFrame({
        "rift": [p["rift"]] * 3,
        "point_key": np.full(3, key, dtype=np.int64),
        "replicate": np.arange(3, dtype=np.int64),
        "drift_end": p["drift_end"],
        "axis_end": p["axis_end"],
        "leader_end": p["leader_end"],
        "share_russian_end": [0.5, 0.4, 0.3],
        "share_turkic_end": [0.2, 0.3, 0.4],
        "share_chinese_end": [0.3, 0.3, 0.3],
        "window_drift": p["window_drift"],
        "window_neutrality_change": p["window_neutrality_change"],
    })


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    for num, (key, p) in enumerate(POINTS.items()):
        job = tmp_path / str(num)
        job.mkdir()
        _frame(key, p).to_parquet(job / "point.parquet")
        (job / "point.json").write_text(json.dumps({
            "status": "completed", "experiment": "demo", "question": "q", "heatmap": [],
            "params": {"rift": p["rift"]}, "overrides": [f"experiment.rift={p['rift']}"],
            "point_key": key, "elapsed_s": 0.5 * (num + 1)}))
    failed = tmp_path / "2"
    failed.mkdir()
    (failed / "point.json").write_text(json.dumps({
        "status": "failed", "experiment": "demo", "overrides": ["experiment.rift=-1"],
        "point_key": 33, "error": "experiment.rift: must be >= 0 (a drop in relations), got -1.0",
        "elapsed_s": 0.25}))
    return tmp_path


def test_point_table_by_hand(sweep_dir: Path) -> None:
    table = point_table(load_sweep(sweep_dir))
    assert table["rift"].tolist() == [0.0, 0.5]
    assert table["point_key"].tolist() == [11, 22]
    assert table["replicates"].tolist() == [3, 3]
    expected = {
        "drift_end_mean": [0.2, -0.1],
        "drift_end_sd": [math.sqrt(0.03), math.sqrt(0.12)],
        "drift_end_ci95": [0.196, 0.392],
        "axis_end_mean": [0.1, -0.2],
        # leaders: point 11 turkic, russian, turkic; point 22 russian, russian, chinese
        "p_leader_russian": [1 / 3, 2 / 3],
        "p_leader_turkic": [2 / 3, 0.0],
        "p_leader_chinese": [0.0, 1 / 3],
        "window_drift_mean": [0.3, 0.1],
        "window_neutrality_change_mean": [0.02, -0.01],
    }
    for col, values in expected.items():
        assert table[col].to_numpy() == pytest.approx(np.array(values), abs=TOL), col


def test_points_csv_and_the_printed_report_by_hand(sweep_dir: Path) -> None:
    sweep = build_report(sweep_dir, figures=False)
    csv = pd.read_csv(sweep_dir / "points.csv")
    assert csv["drift_end_mean"].tolist() == pytest.approx([0.2, -0.1], abs=1e-6)
    assert csv["drift_end_ci95"].tolist() == pytest.approx([0.196, 0.392], abs=1e-6)
    assert csv["p_leader_turkic"].tolist() == pytest.approx([2 / 3, 0.0], abs=1e-6)
    failures = pd.read_csv(sweep_dir / "failures.csv")
    assert failures.to_dict("records") == [{
        "job": 2, "overrides": "experiment.rift=-1",
        "error": "experiment.rift: must be >= 0 (a drop in relations), got -1.0"}]
    # all six drifts: sum 0.6 - 0.3 = 0.3, mean 0.05 (the median would be 0.1);
    # leaders over six runs: chinese 1, russian 3, turkic 2; jobs' time 0.5 + 1.0 + 0.25
    assert format_report(sweep).splitlines() == [
        f"alignsim-report: experiment 'demo' in {sweep_dir}: 2 of 3 points completed, 6 runs, "
        "1 failed or unfinished (jobs' own time 1.8 s)",
        "  swept: rift; drift of the axis by the end: mean +0.050, range of point means "
        "-0.100 .. +0.200",
        "  leading sphere at the end: chinese 17%, russian 50%, turkic 33%",
        "  FAILED job 2 (experiment.rift=-1): experiment.rift: must be >= 0 (a drop in "
        "relations), got -1.0",
        "  wrote: results.parquet, points.csv, failures.csv",
    ]


def test_report_cli_on_a_missing_folder(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "nosuch"
    with pytest.raises(SystemExit) as end:
        main([str(missing)])
    assert end.value.code == 2
    assert capsys.readouterr().err == f"alignsim-report: error: DIR: no such folder: {missing}\n"


def test_report_cli_on_a_folder_without_jobs(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as end:
        main([str(tmp_path)])
    assert end.value.code == 2
    assert capsys.readouterr().err == (
        f"alignsim-report: error: DIR: no experiment job (*/point.json) under {tmp_path}\n")
