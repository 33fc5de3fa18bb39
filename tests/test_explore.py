"""Exploratory modelling: sampled designs and scenario discovery (PRIM) on toy outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.kernel.spec import ConfigError
from alignsim.sweeps.design import Design, ranges_file
from alignsim.sweeps.discover import DiscoveryError, cases, discover

pytest.importorskip("ema_workbench")

RANGES = {"a": [0.0, 2.0], "b": [10.0, 20.0], "c": [-1.0, 1.0]}


# ------------------------------------------------------------------------------ designs
@pytest.mark.parametrize("kind", ["lhs", "sobol", "uniform"])
def test_designs_cover_their_ranges_and_repeat_by_seed(kind):
    d = Design.from_mapping({"kind": kind, "n": 64, "seed": 3, "ranges": RANGES})
    x = d.sample()
    assert x.shape == (64, 3)
    for j, (lo, hi) in enumerate(d.ranges.values()):
        assert lo <= x[:, j].min() and x[:, j].max() <= hi
        assert x[:, j].max() - x[:, j].min() > 0.8 * (hi - lo)  # spread over the range
    again = Design.from_mapping({"kind": kind, "n": 64, "seed": 3, "ranges": RANGES}).sample()
    other = Design.from_mapping({"kind": kind, "n": 64, "seed": 4, "ranges": RANGES}).sample()
    assert np.array_equal(x, again) and not np.array_equal(x, other)


def test_a_latin_hypercube_has_one_point_in_each_stratum():
    d = Design.from_mapping({"kind": "lhs", "n": 50, "seed": 1, "ranges": RANGES})
    u = d.unit_sample()
    for j in range(u.shape[1]):
        assert sorted(np.floor(u[:, j] * 50).astype(int)) == list(range(50))


def test_design_overrides_read_back_as_the_sampled_numbers():
    d = Design.from_mapping({"kind": "uniform", "n": 5, "seed": 0, "ranges": {"x.y": [0, 1]}})
    values = [float(o[0].split("=", 1)[1]) for o in d.overrides()]
    assert values == list(d.sample()[:, 0])


@pytest.mark.parametrize(("raw", "key"), [
    ({"kind": "grid", "n": 4, "ranges": RANGES}, "experiment.design.kind"),
    ({"kind": "sobol", "n": 100, "ranges": RANGES}, "experiment.design.n"),
    ({"kind": "lhs", "n": 0, "ranges": RANGES}, "experiment.design.n"),
    ({"kind": "lhs", "n": 4, "ranges": {"a": [1, 1]}}, "experiment.design.ranges.a"),
    ({"kind": "lhs", "n": 4, "ranges": {"a": "wide"}}, "experiment.design.ranges.a"),
    ({"kind": "lhs", "n": 4}, "experiment.design.ranges"),
    ({"kind": "lhs", "n": 4, "ranges": RANGES, "size": 3}, "experiment.design.size"),
    ({"kind": "lhs", "n": 4, "ranges_from": "nosuch/file"}, "experiment.design.ranges_from"),
])
def test_bad_design_blocks_name_their_key(raw, key):
    with pytest.raises(ConfigError) as err:
        Design.from_mapping(raw)
    assert err.value.key == key


def test_ranges_come_from_the_sensitivity_file():
    ranges, labels = ranges_file("sensitivity/default")
    assert ranges["payoffs.actors.russia.punish"] == (0.0, 3.0)
    assert labels["payoffs.actors.russia.punish"] == "russia.punish"


# ------------------------------------------------------------------------------ PRIM
def _toy_sweep(tmp_path: Path, n: int = 400, reps: int = 4) -> Path:
    """A fake sweep table: a planted box (a > 1.2 and b < 13) where the outcome holds; c inert."""
    d = Design.from_mapping({"kind": "lhs", "n": n, "seed": 11, "ranges": RANGES})
    x = d.sample()
    inside = (x[:, 0] > 1.2) & (x[:, 1] < 13.0)
    rows = []
    for i in range(n):
        for r in range(reps):
            rows.append({"a": x[i, 0], "b": x[i, 1], "c": x[i, 2], "point_key": i,
                         "replicate": r, "leader_end": "turkic" if inside[i] else "russian",
                         "drift_end": float(inside[i]) - 0.5})
    path = tmp_path / "toy"
    path.mkdir()
    pd.DataFrame(rows).to_parquet(path / "results.parquet")
    return path


def test_prim_finds_a_planted_box_and_ignores_an_inert_parameter(tmp_path):
    sweep = _toy_sweep(tmp_path)
    s = discover(sweep, "leader_end == 'turkic'", figures=False)
    box = pd.read_csv(sweep / "discovery" / "leader_end_turkic" / "boxes.csv")
    restricted = dict(zip(box["parameter"], zip(box["low"], box["high"], strict=True),
                          strict=True))
    assert set(restricted) == {"a", "b"}  # c is inert: never restricted
    assert restricted["a"][0] == pytest.approx(1.2, abs=0.1)
    assert restricted["b"][1] == pytest.approx(13.0, abs=0.5)
    assert box["density"].iloc[0] >= 0.8 and box["coverage"].iloc[0] >= 0.8
    scores = {f["parameter"]: f["score"] for f in s["features"]}
    assert scores["c"] < min(scores["a"], scores["b"])
    rec = json.loads((sweep / "discovery" / "leader_end_turkic" / "discovery.json").read_text())
    res = pd.read_parquet(sweep / "results.parquet")
    planted = int(res.groupby("point_key")["leader_end"].first().eq("turkic").sum())
    assert rec["cases"] == planted and rec["units"] == 400
    assert rec["unit"] == "point" and "provenance" in rec


def test_cases_are_points_thresholded_or_runs(tmp_path):
    res = pd.DataFrame({"a": [0.0, 0.0, 1.0, 1.0], "point_key": [1, 1, 2, 2],
                        "replicate": [0, 1, 0, 1], "drift_end": [1.0, -1.0, 1.0, 1.0]})
    per_point = cases(res, "drift_end > 0", threshold=0.5)
    assert list(per_point.share) == [0.5, 1.0] and list(per_point.y) == [True, True]
    strict = cases(res, "drift_end > 0", threshold=0.75)
    assert list(strict.y) == [False, True]
    runs = cases(res, "drift_end > 0", per_replicate=True)
    assert list(runs.y) == [True, False, True, True] and runs.unit == "replicate"


@pytest.mark.parametrize(("where", "needle"), [
    ("nosuch > 1", "cannot evaluate"),
    ("drift_end +", "cannot evaluate"),
    ("drift_end * 2", "not a true/false condition"),
    ("drift_end > 100", "holds in 0 of"),
])
def test_bad_conditions_are_one_line_and_write_nothing(tmp_path, where, needle, cli):
    sweep = _toy_sweep(tmp_path, n=40, reps=1)
    proc = cli([str(sweep), "--where", where], cwd=tmp_path, program="alignsim-discover")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and needle in proc.stderr
    assert not (sweep / "discovery").exists()


def test_discover_needs_a_sweep_table(tmp_path):
    with pytest.raises(DiscoveryError, match=r"no results\.parquet"):
        discover(tmp_path, "drift_end > 0")


def test_discover_cli_writes_tables_and_figures(tmp_path, cli):
    sweep = _toy_sweep(tmp_path, n=120, reps=2)
    proc = cli([str(sweep), "--where", "drift_end > 0", "--name", "up"], cwd=tmp_path,
               program="alignsim-discover")
    assert proc.returncode == 0, proc.stderr
    out = sweep / "discovery" / "up"
    for name in ("boxes.csv", "trajectory.csv", "features.csv", "tradeoff.png", "pairs.png",
                 "discovery.json"):
        assert (out / name).stat().st_size > 0
    assert "box 1: coverage" in proc.stdout
