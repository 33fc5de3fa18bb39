"""Memory that does not grow with months x runs: what is recorded when only summaries are kept."""

from __future__ import annotations

import numpy as np
import pytest

import alignsim.kernel.batch as batch
import alignsim.summary as summary_module
from alignsim.config import compose_config
from alignsim.ensemble import PointRun, run_ensemble, run_points
from alignsim.kernel.spec import compile_spec
from alignsim.metrics import band, summarise
from alignsim.summary import run_summary

SEED = 11


@pytest.fixture()
def calls(monkeypatch):
    """Every compiled call's recorded arrays (their shapes), in call order."""
    seen: list[dict[str, tuple]] = []
    real = batch.run_rows

    def spy(*args, **kwargs):
        rows = real(*args, **kwargs)
        seen.append({k: getattr(rows, k).shape for k in ("states", "actions", "payoffs",
                                                         "expected", "final")})
        return rows

    monkeypatch.setattr(batch, "run_rows", spy)
    monkeypatch.setattr(summary_module, "run_rows", spy)
    return seen


def test_summary_records_one_chunk_of_alignment_only(calls):
    spec = compile_spec(compose_config(["policy=logit", "scenario=baseline", "months=30"]))
    reduced = run_summary(spec, 300, SEED, chunk=64)
    assert len(calls) == 5  # 64 + 64 + 64 + 64 + 44
    for shape in calls:
        assert shape["states"][1] <= 64 and shape["states"][2] == spec.n_spheres
        assert shape["actions"] == (0, 0, 0) and shape["payoffs"] == (0, 0, 0)
    # nothing kept grows with months x replicates
    for name, value in vars(reduced).items():
        if isinstance(value, np.ndarray):
            assert value.size <= max(3 * 300, (spec.months + 1) * 4001,
                                     spec.n_actors * spec.n_actions), name
    full = run_ensemble(spec, 300, SEED)
    assert reduced.summary() == summarise(full)
    exact = band(full.axis, axis_=1)
    bands = reduced.monthly_bands()
    np.testing.assert_allclose(bands["mean"], exact["mean"], atol=1e-12)
    for q in ("p05", "median", "p95"):
        np.testing.assert_allclose(bands[q], exact[q], atol=1e-3)


def test_a_sweep_holds_at_most_max_rows_of_records(calls):
    specs = [compile_spec(compose_config(["policy=logit", "scenario=baseline", "months=12",
                                          f"payoffs.alignment.inertia={v}"]))
             for v in (0.02, 0.04, 0.06, 0.08, 0.1)]
    points = [PointRun(s, 4) for s in specs]
    got = dict(run_points(points, SEED, max_rows=8))
    assert sorted(got) == list(range(5))
    assert [c["states"][1] for c in calls] == [8, 8, 4]  # two points a call, then one
    for n, spec in enumerate(specs):
        ref = run_ensemble(spec, 4, SEED)
        assert np.array_equal(got[n].alignment, ref.alignment)
        assert np.array_equal(got[n].actions, ref.actions)


def test_main_job_without_time_series_gives_the_same_summary(tmp_path):
    from alignsim.runner import run_main_job

    common = ["policy=logit", "scenario=history", "replicates=40", "progress=false"]
    full = run_main_job(compose_config(common), tmp_path / "full")
    lean = run_main_job(compose_config([*common, "output.timeseries=false"]), tmp_path / "lean")
    assert not (tmp_path / "lean" / "timeseries.parquet").exists()
    assert (tmp_path / "lean" / "drift.png").stat().st_size > 10_000
    for key in ("axis", "drift_end", "shares_end", "leader_end", "tipping", "most_used_action",
                "action_frequencies", "mean_payoff", "replicates", "months"):
        assert lean[key] == full[key], key
