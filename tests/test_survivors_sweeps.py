"""Sweep aggregation and figure layout on tables built by hand: written for surviving mutants.

The figures are judged on what a reader sees of their layout: the size of the figure (one panel
of fixed size per parameter and outcome, so panels do not shrink as the grid grows) and where the
heat maps' shared colour bar sits (right of the last panel, not between panels).
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from alignsim.config import compose_dictconfig, to_config
from alignsim.ensemble import Trajectory
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.sweeps.point import Experiment, outcome_frame, run_point
from alignsim.sweeps.report import (
    Sweep,
    drift_figure,
    hydra_overrides,
    leader_heatmap_figure,
    point_table,
    sort_frame,
)
from handchecked_world import tiny_config

matplotlib.use("Agg")


def test_sort_frame_without_sort_columns_renumbers_and_adds_no_column() -> None:
    frame = pd.DataFrame({"a": [2, 1]}, index=[5, 7])
    out = sort_frame(frame, ["nosuch"], ("point_key",))
    assert list(out.columns) == ["a"]
    assert out.index.tolist() == [0, 1]
    assert out["a"].tolist() == [2, 1]  # the order is kept
    empty = sort_frame(pd.DataFrame(), ["x"], ("point_key",))
    assert list(empty.columns) == [] and len(empty) == 0


def test_sort_frame_sorts_by_parameters_then_keys() -> None:
    frame = pd.DataFrame({"point_key": [2, 1, 1], "replicate": [0, 1, 0], "x": [0.5, 0.1, 0.1]},
                         index=[10, 11, 12])
    out = sort_frame(frame, ["x"], ("point_key", "replicate"))
    assert out.to_dict("list") == {"point_key": [1, 1, 2], "replicate": [0, 1, 0],
                                   "x": [0.1, 0.1, 0.5]}
    assert out.index.tolist() == [0, 1, 2]


def _sweep(params: list[str], heatmap: list[str], results: pd.DataFrame) -> Sweep:
    return Sweep(directory=Path("."), experiment="exp", question="", params=params,
                 swept=params, heatmap=heatmap, results=results, trajectories=pd.DataFrame(),
                 failures=pd.DataFrame(columns=["job", "overrides", "error"]), n_jobs=0,
                 elapsed_s=0.0)


def _results(xs: list[float], ys: list[float]) -> pd.DataFrame:
    rows = []
    key = 0
    for x in xs:
        for y in ys:
            for rep in range(2):
                lead = "east" if (x + y + rep) % 2 else "west"
                rows.append({"x": x, "y": y, "point_key": key, "replicate": rep,
                             "drift_end": 0.1 * x - y + 0.01 * rep, "window_drift": 0.02 * rep,
                             "window_neutrality_change": -0.01 * rep, "leader_end": lead,
                             "share_east_end": 0.5, "share_west_end": 0.5})
            key += 1
    return pd.DataFrame(rows)


def test_drift_figure_is_one_fixed_size_panel_per_parameter_and_outcome() -> None:
    fig = drift_figure(_sweep(["x", "y"], [], _results([0.0, 1.0], [0.0, 1.0])))
    try:
        # 3 outcomes (drift_end, window_drift, window_neutrality_change) x 2 parameters,
        # each panel 3.6 in wide and 3.0 in high
        assert len(fig.axes) == 6
        assert tuple(fig.get_size_inches()) == pytest.approx((7.2, 9.0))
    finally:
        plt.close(fig)


def test_two_parameter_heatmaps_share_one_colour_bar_right_of_the_last_panel() -> None:
    fig = leader_heatmap_figure(_sweep(["x", "y"], ["x", "y"],
                                       _results([0.0, 1.0, 2.0], [0.0, 1.0])))
    try:
        assert tuple(fig.get_size_inches()) == pytest.approx((6.8, 3.2))  # 2 spheres x 3.4 in
        panels = [ax for ax in fig.axes if ax.get_title().startswith("P(")]
        bars = [ax for ax in fig.axes if ax not in panels]
        assert [ax.get_title() for ax in panels] == ["P(east leads at the end)",
                                                     "P(west leads at the end)"]
        assert len(bars) == 1
        right_edge = max(ax.get_position().x1 for ax in panels)
        assert bars[0].get_position().x0 >= right_edge
    finally:
        plt.close(fig)


def test_one_parameter_heatmap_widens_with_the_parameter_values() -> None:
    fig = leader_heatmap_figure(_sweep(["x"], [], _results([0.0, 1.0, 2.0, 3.0, 4.0], [0.0])))
    try:
        # 5 values of x: 4 + 0.4 x 5 = 6.0 in wide, 3 in high
        assert tuple(fig.get_size_inches()) == pytest.approx((6.0, 3.0))
    finally:
        plt.close(fig)


def test_point_table_rows_are_in_parameter_order() -> None:
    # results deliberately out of order: point 2 (x = 0.5) first, then point 1 (x = 0.1)
    results = pd.DataFrame({
        "x": [0.5, 0.5, 0.1, 0.1], "point_key": [2, 2, 1, 1], "replicate": [0, 1, 0, 1],
        "drift_end": [0.2, 0.4, -0.1, 0.1], "axis_end": [0.3, 0.5, 0.0, 0.2],
        "leader_end": ["west", "west", "east", "west"],
        "share_east_end": [0.4, 0.3, 0.6, 0.45], "share_west_end": [0.6, 0.7, 0.4, 0.55],
    })
    table = point_table(_sweep(["x"], [], results))
    assert table["x"].tolist() == [0.1, 0.5]
    assert table["point_key"].tolist() == [1, 2]
    assert table["replicates"].tolist() == [2, 2]
    assert table["drift_end_mean"].tolist() == pytest.approx([0.0, 0.3], abs=1e-12)
    assert table["p_leader_east"].tolist() == [0.5, 0.0]
    assert table["p_leader_west"].tolist() == [0.5, 1.0]


def test_hydra_overrides_read_from_the_job_record(tmp_path: Path) -> None:
    job = tmp_path / "3"
    (job / ".hydra").mkdir(parents=True)
    (job / ".hydra" / "overrides.yaml").write_text("- experiment.rift=0.3\n- months=12\n")
    assert hydra_overrides(job) == ["experiment.rift=0.3", "months=12"]
    assert hydra_overrides(tmp_path / "4") == []  # no record: nothing to report


def test_window_past_the_end_of_the_run_is_a_config_error() -> None:
    spec = compile_spec(tiny_config(start="2022-01", months=2))
    n, r = spec.n_actors, 2
    traj = Trajectory(
        spec=spec, replicate_ids=np.arange(r), alignment=np.tile([0.6, 0.4], (3, r, 1)),
        share=np.zeros((3, r, 2)), capacity=np.zeros((3, r, 2)), threat=np.zeros((3, r, n)),
        investment=np.zeros((3, r, n)), relations=np.zeros((3, r, n, n)), pain=np.zeros((3, r)),
        actions=np.zeros((2, r, n), dtype=np.int64), payoffs=np.zeros((2, r, n)))
    # states 0..2 = 1 Jan .. 1 Mar 2022: a window of 2 months from January ends on the last state
    ok = outcome_frame(traj, {}, 0, Experiment(name="w", window={"start": "2022-01",
                                                                 "months": 2}))
    assert ok["window_drift"].tolist() == [0.0, 0.0]
    with pytest.raises(ConfigError) as err:
        outcome_frame(traj, {}, 0, Experiment(name="w", window={"start": "2022-02",
                                                                "months": 2}))
    assert (err.value.key, err.value.message) == (
        "experiment.window", "2022-02 + 2 months lies outside the run (2022-01 + 2 months)")


def test_point_json_records_the_mean_drift_of_the_point_table(tmp_path: Path) -> None:
    over = ["+experiment=shootdown_shock", "experiment.replicates=2", "experiment.rift=0.3"]
    cfg = compose_dictconfig(over)
    assert run_point(to_config(cfg), cfg, tmp_path, overrides=over)["status"] == "completed"
    rec = json.loads((tmp_path / "point.json").read_text())
    frame = pd.read_parquet(tmp_path / "point.parquet")
    drift = frame["axis_end"] - frame["axis_start"]
    assert frame["drift_end"].tolist() == pytest.approx(drift.tolist(), abs=1e-12)
    assert rec["drift_end_mean"] == round(float(drift.mean()), 6)
    assert rec["drift_end_mean"] != 0.0  # the run moves the axis


def test_drift_figure_of_a_sweep_without_parameters_has_one_empty_panel() -> None:
    results = _results([0.0], [0.0]).drop(columns=["x", "y"])
    fig = drift_figure(_sweep([], [], results))
    try:
        # 3 outcomes x max(0 parameters, 1) column: 3 panels, 3.6 in wide, 9 in high
        assert len(fig.axes) == 3
        assert tuple(fig.get_size_inches()) == pytest.approx((3.6, 9.0))
    finally:
        plt.close(fig)


def test_heatmap_cells_are_the_share_of_replicates_each_sphere_leads() -> None:
    results = _results([0.0, 1.0, 2.0], [0.0, 1.0])
    # east leads where x >= 1 in both replicates, and also at x = 0, y = 1 in replicate 1
    results["leader_end"] = ["east" if r.x >= 1 or (r.y == 1 and r.replicate == 1) else "west"
                             for r in results.itertuples()]
    fig = leader_heatmap_figure(_sweep(["x", "y"], ["x", "y"], results))
    try:
        east, west = (ax for ax in fig.axes if ax.get_title().startswith("P("))
        # rows y = 1, 0 (highest first), columns x = 0, 1, 2
        assert east.collections[0].get_array().reshape(2, 3).tolist() == [[0.5, 1.0, 1.0],
                                                                          [0.0, 1.0, 1.0]]
        assert west.collections[0].get_array().reshape(2, 3).tolist() == [[0.5, 0.0, 0.0],
                                                                          [1.0, 0.0, 0.0]]
    finally:
        plt.close(fig)
