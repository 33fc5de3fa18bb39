"""Headline measures (metrics), the tidy time series and atomic writing (results), the runner.

Metrics are checked on a hand-made trajectory whose answers are known; the tidy frame on a short
real run, value by value against the trajectory arrays.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim import metrics
from alignsim.ensemble import Trajectory, run_ensemble
from alignsim.kernel.spec import ConfigError
from alignsim.results import atomic_write, timeseries_frame, write_json, write_parquet
from alignsim.runner import discard_output_dir, format_summary, run_main_job

R0 = [0.5, 0.2, 0.1, 0.2]  # russian, turkic, chinese, western


@pytest.fixture(scope="module")
def synthetic(baseline_spec) -> Trajectory:
    """Three replicates over 4 months with known leaders and axis crossings.

    rep 0: Russian sphere leads throughout; rep 1: Turkic overtakes at step 2 (the axis turns
    positive); rep 2: Western overtakes at step 3 while the axis stays negative.
    """
    spec = dataclasses.replace(baseline_spec, months=4)
    a = np.empty((5, 3, 4))
    a[:, 0] = R0
    a[:, 1] = [R0, [0.4, 0.3, 0.1, 0.2], [0.3, 0.45, 0.1, 0.15], [0.3, 0.45, 0.1, 0.15],
               [0.3, 0.45, 0.1, 0.15]]
    a[:, 2] = [R0, R0, R0, [0.3, 0.1, 0.1, 0.5], [0.3, 0.1, 0.1, 0.5]]
    n = spec.n_actors
    actions = np.zeros((4, 3, n), dtype=np.int64)
    ru = spec.actor_index("russia")
    actions[:3, :, ru] = spec.action_index("summit")
    actions[3, :, ru] = spec.action_index("pipeline_halt")
    payoffs = np.arange(4 * 3 * n, dtype=float).reshape(4, 3, n)
    k = spec.n_routes
    return Trajectory(
        spec=spec,
        replicate_ids=np.array([0, 1, 2]),
        alignment=a,
        share=np.broadcast_to(spec.share0, (5, 3, k)).copy(),
        capacity=np.broadcast_to(spec.capacity0, (5, 3, k)).copy(),
        threat=np.full((5, 3, n), 0.02),
        investment=np.broadcast_to(spec.investment0, (5, 3, n)).copy(),
        relations=np.broadcast_to(spec.relations0, (5, 3, n, n)).copy(),
        pain=np.zeros((5, 3)),
        actions=actions,
        payoffs=payoffs,
    )


@pytest.fixture(scope="module")
def short_run(baseline_spec) -> Trajectory:
    return run_ensemble(dataclasses.replace(baseline_spec, months=6), 3, 5)


# ----------------------------------------------------------------------------- metrics
def test_axis_drift_and_leader(synthetic) -> None:
    ax = metrics.axis(synthetic)
    np.testing.assert_allclose(ax[:, 1], [-0.3, -0.1, 0.15, 0.15, 0.15])
    np.testing.assert_allclose(metrics.drift(synthetic)[:, 1], [0.0, 0.2, 0.45, 0.45, 0.45])
    lead = metrics.leader(synthetic)
    np.testing.assert_array_equal(lead[-1], [0, 1, 3])
    np.testing.assert_array_equal(lead[0], [0, 0, 0])


def test_tipping_and_axis_crossing(synthetic) -> None:
    np.testing.assert_array_equal(metrics.tipping_step(synthetic), [-1, 2, 3])
    np.testing.assert_array_equal(metrics.axis_crossing_step(synthetic), [-1, 2, -1])
    np.testing.assert_array_equal(
        metrics.first_step(np.array([[False, True], [False, True], [True, False]])), [2, 0])


def test_band_is_mean_and_percentiles() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(7, 501))
    b = metrics.band(x)
    np.testing.assert_allclose(b["mean"], x.mean(axis=1))
    np.testing.assert_allclose(b["p05"], np.percentile(x, 5, axis=1))
    np.testing.assert_allclose(b["median"], np.median(x, axis=1))
    np.testing.assert_allclose(b["p95"], np.percentile(x, 95, axis=1))
    assert np.all(b["p05"] <= b["median"]) and np.all(b["median"] <= b["p95"])
    assert metrics.BAND == (5.0, 95.0)


def test_action_frequencies_and_date_index(synthetic) -> None:
    spec = synthetic.spec
    freq = metrics.action_frequencies(synthetic)
    assert freq.shape == (spec.n_actors, spec.n_actions)
    np.testing.assert_allclose(freq.sum(axis=1), 1.0)
    ru = spec.actor_index("russia")
    assert freq[ru, spec.action_index("summit")] == pytest.approx(0.75)
    assert freq[ru, spec.action_index("pipeline_halt")] == pytest.approx(0.25)
    assert freq[spec.swing, 0] == 1.0
    assert metrics.date_index(synthetic, 2022, 3) == 2
    assert metrics.date_index(synthetic, 2021, 1) == 0  # clipped to the start
    assert metrics.date_index(synthetic, 2026, 1) == 4  # clipped to the end


def test_summarise(synthetic) -> None:
    s = metrics.summarise(synthetic)
    json.dumps(s)  # JSON-ready: plain types only
    assert (s["replicates"], s["months"], s["start"]) == (3, 4, "2022-01")
    assert s["end"] == "2022-05" and s["last_month"] == "2022-04"
    assert s["axis"]["start"] == {"mean": -0.3, "p05": -0.3, "median": -0.3, "p95": -0.3}
    assert s["axis"]["end"]["median"] == pytest.approx(-0.2)
    assert s["axis"]["end"]["mean"] == pytest.approx((-0.3 + 0.15 - 0.2) / 3, abs=1e-6)
    assert s["axis"]["end_2025"]["date"] == "2022-05"  # the run ends before 2026
    assert s["leader_end"] == pytest.approx({"russian": 1 / 3, "turkic": 1 / 3,
                                             "chinese": 0.0, "western": 1 / 3}, abs=1e-6)
    assert s["tipping"]["leader_change_share"] == pytest.approx(2 / 3, abs=1e-6)
    assert s["tipping"]["leader_change_median_month"] == 2  # median of months 2 and 3
    assert s["tipping"]["axis_crossing_share"] == pytest.approx(1 / 3, abs=1e-6)
    assert s["most_used_action"]["russia"] == "summit"
    assert s["most_used_action"]["kazakhstan"] == "none"
    # only actions the actor may use are listed
    assert set(s["action_frequencies"]["kazakhstan"]) == {
        "none", "recognition_refusal", "route_diversification", "sanctions_compliance",
        "turkic_format", "balancing_visit", "neutral_mediation"}
    n = synthetic.spec.n_actors
    assert s["mean_payoff"]["kazakhstan"] == pytest.approx(
        synthetic.payoffs[:, :, 0].mean())
    assert len(s["mean_payoff"]) == n


def test_printed_summary_does_not_mislabel_a_short_run(synthetic) -> None:
    summary = {"alignsim_version": "test", "seed": 1, "scenario": "baseline",
               "elapsed_s": 0.0, **metrics.summarise(synthetic)}
    text = format_summary(summary)
    for line in text.splitlines():
        if "end of 2025" in line:
            assert summary["axis"]["end_2025"]["date"] in line, line


# ------------------------------------------------------------------------------ results
def test_timeseries_frame_matches_the_trajectory(short_run) -> None:
    traj, spec = short_run, short_run.spec
    frame = timeseries_frame(traj)
    t1, r = traj.alignment.shape[:2]
    assert len(frame) == t1 * r
    assert list(frame.columns[:3]) == ["replicate", "step", "date"]
    # sorted by replicate then step
    assert frame["replicate"].tolist() == np.repeat(traj.replicate_ids, t1).tolist()
    assert frame["step"].tolist() == np.tile(np.arange(t1), r).tolist()
    for j, rep in enumerate(traj.replicate_ids):
        rows = frame[frame["replicate"] == rep]
        for k, s in enumerate(spec.spheres):
            np.testing.assert_array_equal(rows[f"share_{s}"], traj.alignment[:, j, k])
        np.testing.assert_array_equal(rows["axis"], traj.axis[:, j])
        np.testing.assert_array_equal(rows["drift"], traj.axis[:, j] - traj.axis[0, j])
        for k, route in enumerate(spec.routes):
            np.testing.assert_array_equal(rows[f"route_{route}"], traj.share[:, j, k])
            np.testing.assert_array_equal(rows[f"capacity_{route}"], traj.capacity[:, j, k])
        np.testing.assert_array_equal(rows["revenue_lost"], traj.pain[:, j])
        for i, actor in enumerate(spec.actors):
            np.testing.assert_array_equal(rows[f"threat_{actor}"], traj.threat[:, j, i])
            np.testing.assert_array_equal(rows[f"investment_{actor}"],
                                          traj.investment[:, j, i])
            acts = rows[f"action_{actor}"].astype(str).tolist()
            assert acts[0] == "start"
            assert acts[1:] == [spec.actions[a] for a in traj.actions[:, j, i]]
            pay = rows[f"payoff_{actor}"].to_numpy()
            assert np.isnan(pay[0])
            np.testing.assert_array_equal(pay[1:], traj.payoffs[:, j, i])
        kz, ru = spec.actor_index("kazakhstan"), spec.actor_index("russia")
        np.testing.assert_array_equal(rows["rel_kazakhstan_russia"], traj.relations[:, j, kz, ru])
        assert rows["leader"].astype(str).tolist() == [
            spec.spheres[x] for x in np.argmax(traj.alignment[:, j], axis=1)]
    dates = pd.to_datetime(frame.loc[frame["replicate"] == 0, "date"]).dt.strftime("%Y-%m")
    assert dates.tolist() == [str(spec.start.plus(t)) for t in range(t1)]
    n = spec.n_actors
    assert sum(c.startswith("rel_") for c in frame.columns) == n * (n - 1) // 2


def test_write_parquet_round_trip(short_run, tmp_path) -> None:
    frame = timeseries_frame(short_run)
    path = write_parquet(frame, tmp_path / "sub" / "timeseries.parquet")
    assert path.is_file()
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, frame, check_dtype=False, check_categorical=False)
    assert [p.name for p in path.parent.iterdir()] == ["timeseries.parquet"]  # no temp left


def test_write_json_round_trip(tmp_path) -> None:
    obj = {"a": 1, "b": [1.5, None], "c": {"d": "e"}, "p": Path("x")}
    path = write_json(obj, tmp_path / "summary.json")
    assert json.loads(path.read_text()) == {**obj, "p": "x"}


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path) -> None:
    target = tmp_path / "out.txt"

    def broken(p: Path) -> None:
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert list(tmp_path.iterdir()) == []
    # an existing result survives a failed rewrite intact
    target.write_text("complete")
    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_results_files_honour_the_umask(tmp_path) -> None:
    """mkstemp makes 0600 files; results are meant to be shared like any file the user writes."""
    old = os.umask(0o022)
    try:
        path = write_json({"a": 1}, tmp_path / "summary.json")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


# ------------------------------------------------------------------------------- runner
def test_run_main_job_writes_results(baseline_config, tmp_path) -> None:
    cfg = copy.deepcopy(baseline_config)
    cfg.months, cfg.replicates, cfg.progress = 6, 3, False
    cfg.output.figure = False
    summary = run_main_job(cfg, tmp_path / "job", {"note": "resolved"})
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == [
        "summary.json", "timeseries.parquet"]
    on_disk = json.loads((tmp_path / "job" / "summary.json").read_text())
    assert on_disk["config"] == {"note": "resolved"}
    assert on_disk["seed"] == cfg.seed and summary["replicates"] == 3
    frame = pd.read_parquet(tmp_path / "job" / "timeseries.parquet")
    assert len(frame) == 3 * 7


def test_run_main_job_writes_nothing_on_bad_input(baseline_config, tmp_path) -> None:
    cfg = copy.deepcopy(baseline_config)
    cfg.world.dynamics.threat_prior = 1.5
    with pytest.raises(ConfigError) as info:
        run_main_job(cfg, tmp_path / "job")
    assert info.value.key == "world.dynamics.threat_prior"
    assert not (tmp_path / "job").exists()


def test_discard_output_dir_only_removes_bookkeeping(tmp_path) -> None:
    job = tmp_path / "runs" / "job"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "config.yaml").write_text("x: 1\n")
    (job / "cli.log").write_text("")
    discard_output_dir(job)
    assert not job.exists() and not (tmp_path / "runs").exists()
    kept = tmp_path / "kept"
    (kept / ".hydra").mkdir(parents=True)
    (kept / "timeseries.parquet").write_bytes(b"data")
    discard_output_dir(kept)
    assert (kept / "timeseries.parquet").exists()
    discard_output_dir(tmp_path / "missing")  # no error
