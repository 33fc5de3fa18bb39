"""The sweep report's faster paths give what the plain ones gave.

``load_sweep`` reads the jobs' parquet files with pyarrow and converts them to pandas once; it
must give the frames ``pd.concat`` of ``pd.read_parquet`` gives (so the written tables stay
byte-identical), the same error messages for unreadable files, and fall back when the files'
schemas differ. ``build_report`` draws part of the figures in a forked child; the PNGs must be
those drawn in-process, and a child that fails or hangs must leave the figures to the parent.
"""

from __future__ import annotations

import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alignsim.sweeps.report as report
from alignsim.results import write_parquet
from alignsim.sweeps.report import FIGURES, build_report, load_sweep

SPHERES = ("russian", "turkic", "chinese")
MONTHS = ["2022-01", "2022-02", "2022-03", "2022-04"]


def _point(key: int, rift: float, punish: float, n: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(key)
    shares = rng.dirichlet(np.ones(len(SPHERES)), n)
    return pd.DataFrame({
        "punish": punish, "rift": rift,
        "point_key": np.full(n, key, dtype=np.int64), "replicate": np.arange(n, dtype=np.int64),
        "drift_end": rng.normal(rift - punish, 0.1, n), "axis_end": rng.normal(0, 0.1, n),
        "leader_end": [SPHERES[i] for i in shares.argmax(axis=1)],
        **{f"share_{s}_end": shares[:, i] for i, s in enumerate(SPHERES)},
    })


def _trajectory(key: int, rift: float, punish: float) -> pd.DataFrame:
    mean = np.linspace(0.0, rift - punish, len(MONTHS))
    return pd.DataFrame({
        "punish": punish, "rift": rift, "point_key": np.full(len(MONTHS), key, dtype=np.int64),
        "step": np.arange(len(MONTHS), dtype=np.int64), "month": MONTHS,
        "axis_mean": mean, "axis_p05": mean - 0.1, "axis_p95": mean + 0.1,
    })


@pytest.fixture
def sweep_dir(tmp_path: Path) -> Path:
    """Four completed points written as the jobs write them, one failed point."""
    grid = [(rift, punish) for rift in (0.0, 0.5) for punish in (0.0, 0.1)]
    for num, (rift, punish) in enumerate(grid):
        key, job = 100 + num, tmp_path / str(num)
        prov = {"seed": 1, "point_key": key}
        write_parquet(_point(key, rift, punish), job / "point.parquet", prov)
        write_parquet(_trajectory(key, rift, punish), job / "trajectory.parquet", prov)
        (job / "point.json").write_text(json.dumps({
            "status": "completed", "experiment": "demo", "question": "q", "heatmap": [],
            "params": {"rift": rift, "punish": punish}, "point_key": key, "elapsed_s": 1.0,
            "overrides": [f"experiment.rift={rift}", f"punish={punish}"], "seed": 1}))
    failed = tmp_path / str(len(grid))
    failed.mkdir()
    (failed / "point.json").write_text(json.dumps({
        "status": "failed", "experiment": "demo", "overrides": ["experiment.rift=-1"],
        "point_key": 9, "error": "experiment.rift: must be >= 0", "elapsed_s": 0.1}))
    return tmp_path


def _plain(directory: Path, name: str) -> pd.DataFrame:
    """What the report read before: ``pd.concat`` of ``pd.read_parquet``, in job order."""
    paths = sorted(directory.glob(f"*/{name}"), key=lambda p: int(p.parent.name))
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def _assert_same(frame: pd.DataFrame, plain: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(frame, plain, check_exact=True)
    assert frame.columns.dtype == plain.columns.dtype and frame.attrs == plain.attrs


def _read_back(sweep_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    sweep = load_sweep(sweep_dir)
    order = ["point_key", "replicate"]
    return (sweep.results.sort_values(order, ignore_index=True),
            sweep.trajectories.sort_values(["point_key", "step"], ignore_index=True))


def test_load_sweep_reads_what_pandas_reads(sweep_dir: Path) -> None:
    results, trajectories = _read_back(sweep_dir)
    plain = _plain(sweep_dir, "point.parquet")
    _assert_same(results, plain[results.columns].sort_values(["point_key", "replicate"],
                                                             ignore_index=True))
    _assert_same(trajectories, _plain(sweep_dir, "trajectory.parquet")
                 [trajectories.columns].sort_values(["point_key", "step"], ignore_index=True))


def test_files_of_different_schemas_are_read_as_pandas_would(sweep_dir: Path) -> None:
    # one point with an extra column, one with an int32 column, one written by pandas itself
    extra = pd.read_parquet(sweep_dir / "1" / "point.parquet").assign(extra=1.5)
    write_parquet(extra, sweep_dir / "1" / "point.parquet")
    narrow = pd.read_parquet(sweep_dir / "2" / "point.parquet")
    narrow["replicate"] = narrow["replicate"].astype("int32")
    narrow.to_parquet(sweep_dir / "2" / "point.parquet")
    results = load_sweep(sweep_dir).results.sort_values(["point_key", "replicate"],
                                                        ignore_index=True)
    plain = _plain(sweep_dir, "point.parquet")
    _assert_same(results, plain[results.columns].sort_values(["point_key", "replicate"],
                                                             ignore_index=True))
    assert results["extra"].isna().sum() == 15


def test_attrs_are_kept_as_pd_concat_keeps_them(sweep_dir: Path) -> None:
    for job in ("0", "1", "2", "3"):
        frame = pd.read_parquet(sweep_dir / job / "point.parquet")
        frame.attrs = {"note": {"a": 1}}
        frame.to_parquet(sweep_dir / job / "point.parquet", index=False)
    assert load_sweep(sweep_dir).results.attrs == {"note": {"a": 1}}
    # the jobs' own provenance differs point by point: none is kept, as pd.concat keeps none
    assert _plain(sweep_dir, "trajectory.parquet").attrs == {}
    assert load_sweep(sweep_dir).trajectories.attrs == {}


@pytest.mark.parametrize("content", [b"", b"not a parquet file", None])
def test_an_unreadable_point_keeps_the_pandas_message(sweep_dir: Path, content) -> None:
    path = sweep_dir / "1" / "point.parquet"
    if content is None:
        path.unlink()
    else:
        path.write_bytes(content)
    with pytest.raises((OSError, ValueError)) as raised:
        pd.read_parquet(path)
    failures = load_sweep(sweep_dir).failures
    assert failures["error"].tolist() == [f"point.parquet unreadable: {raised.value}",
                                          "experiment.rift: must be >= 0"]


ON_LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"),
                              reason="the report forks on Linux only")


def _pngs(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FIGURES}


@pytest.fixture
def drawn_here(sweep_dir: Path, tmp_path_factory, monkeypatch) -> dict[str, bytes]:
    """The figures drawn without a child (as on a single CPU)."""
    copy = tmp_path_factory.mktemp("in_process")
    for job in sweep_dir.iterdir():
        for f in job.iterdir():
            (copy / job.name).mkdir(exist_ok=True)
            (copy / job.name / f.name).write_bytes(f.read_bytes())
    with monkeypatch.context() as m:
        m.setattr(report, "_cpus", lambda: 1)
        build_report(copy)
    return _pngs(copy)


@ON_LINUX
def test_figures_drawn_in_a_child_are_those_drawn_here(sweep_dir: Path, drawn_here,
                                                       monkeypatch) -> None:
    monkeypatch.setattr(report, "_cpus", lambda: 2)
    forks, delivered = [], []
    start, result = report._ForkedFigures.start, report._ForkedFigures.result
    monkeypatch.setattr(report._ForkedFigures, "start",
                        classmethod(lambda cls, *a: forks.append(start(*a)) or forks[-1]))
    monkeypatch.setattr(report._ForkedFigures, "result",
                        lambda self: delivered.append(result(self)) or delivered[-1])
    sweep = build_report(sweep_dir)
    assert forks and forks[0] is not None and forks[0].done
    assert delivered and sorted(delivered[0]) == ["drift.png"]  # drawn by the child, not here
    assert _pngs(sweep_dir) == drawn_here
    assert [Path(f).name for f in sweep.files] == [
        "results.parquet", "trajectories.parquet", "points.csv", "failures.csv", *FIGURES]
    assert not [p for p in sweep_dir.iterdir() if p.name.endswith(".tmp")]


@ON_LINUX
def test_a_figure_that_fails_in_the_child_raises_here(sweep_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(report, "_cpus", lambda: 2)

    def broken(sweep):
        raise ValueError("drift: no such column")

    monkeypatch.setattr(report, "drift_figure", broken)
    with pytest.raises(ValueError, match=r"^drift: no such column$"):
        build_report(sweep_dir)


@ON_LINUX
def test_a_hung_child_is_ended_and_its_figures_drawn_here(sweep_dir: Path, drawn_here,
                                                          monkeypatch) -> None:
    monkeypatch.setattr(report, "_cpus", lambda: 2)
    monkeypatch.setattr(report, "CHILD_GRACE_S", 0.5)
    parent, render = os.getpid(), report.render_figure

    def hang_in_child(sweep, name):
        if os.getpid() != parent:
            time.sleep(600)
        return render(sweep, name)

    monkeypatch.setattr(report, "render_figure", hang_in_child)
    forks = []
    fork = report._ForkedFigures.start
    monkeypatch.setattr(report._ForkedFigures, "start",
                        classmethod(lambda cls, *a: forks.append(fork(*a)) or forks[-1]))
    start = time.monotonic()
    build_report(sweep_dir)
    assert forks and forks[0] is not None  # a child was started, and hung
    assert time.monotonic() - start < 60
    assert _pngs(sweep_dir) == drawn_here


@ON_LINUX
def test_a_childs_warnings_are_issued_here(sweep_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(report, "_cpus", lambda: 2)
    drift = report.drift_figure

    def warning_drift(sweep):
        if os.getpid() != parent:
            warnings.warn("few replicates for a bootstrap", UserWarning, stacklevel=1)
        return drift(sweep)

    parent = os.getpid()
    monkeypatch.setattr(report, "drift_figure", warning_drift)
    with pytest.warns(UserWarning, match="few replicates for a bootstrap"):
        build_report(sweep_dir)
