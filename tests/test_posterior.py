"""Bayesian calibration: the ABC-SMC posterior recovers a planted parameter (twin experiment),
``alignsim-calibrate --posterior`` writes its files on a tiny budget, and a run that draws its
parameters from stored posterior draws gives each replicate one draw on its own stream."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.tools import set_config_values
from alignsim.validation import posterior as post
from alignsim.validation.calibrate import free_parameters
from alignsim.validation.patterns import (
    ParameterConf,
    PatternConf,
    PosteriorConf,
    evaluate_all,
    load_validation,
)

CAPACITY = "actions.route_diversification.effects.capacity.middle_corridor"


def test_weighted_quantiles_and_resampling():
    v = np.array([0.0, 1.0, 2.0, 3.0])
    w = np.array([0.0, 0.5, 0.5, 0.0])
    lo, mid, hi = post.weighted_quantiles(v, w, [0.05, 0.5, 0.95])
    assert 1.0 <= lo <= mid <= hi <= 2.0 and mid == pytest.approx(1.5)
    res = post.PosteriorResult([], v[:, None], w, [], 0, 0.0, 1, 1, 4, "")
    draws = post.resample(res, 100, seed=3)
    assert set(draws[:, 0]) == {1.0, 2.0}
    assert abs((draws[:, 0] == 1.0).mean() - 0.5) <= 0.02


def test_stream_key_is_distinct_per_particle_and_stable():
    assert post.stream_key([0.1, 0.2]) == post.stream_key([0.1, 0.2])
    assert post.stream_key([0.1, 0.2]) != post.stream_key([0.1, 0.2000001])
    assert 0 <= post.stream_key([1.0]) < 2**63


@pytest.mark.slow
def test_twin_experiment_recovers_a_planted_parameter():
    """Targets made by the model itself at a planted capacity effort (0.003): the posterior's
    90 % interval must contain it, and be narrower than the prior's."""
    pytest.importorskip("pyabc")
    base = compose_config(["policy=logit", "scenario=history_endogenous", "months=36",
                           "payoffs=calibrated", "progress=false"])
    planted = 0.003
    truth = run_ensemble(compile_spec(set_config_values(base, {CAPACITY: planted})), 16, 99)
    tonnes = PatternConf(metric="route_tonnes", args={"route": "middle_corridor", "year": 2023},
                         check="approx", target=0.0, tolerance=0.03, split="fit")
    tonnes.target = evaluate_all(truth, {"t": tonnes})[0].mean
    params = free_parameters(base, {CAPACITY: ParameterConf(0.0, 0.004)})
    sim = post.PatternSimulator(base, {"t": tonnes}, params, 4, 7)
    conf = PosteriorConf(population=30, simulations=200, generations=4, seed=2)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = post.run_abc(sim, conf, Path(tmp) / "abc.db")
    s = res.summary()[CAPACITY]
    assert s["q05"] <= planted <= s["q95"], s
    assert s["q95"] - s["q05"] < 0.5 * 0.004
    assert res.simulations >= 30 and len(res.generations) >= 2


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alignsim.validation.calibrate_cli", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


TINY = ("--posterior", "progress=false", "policy=logit", "validation.posterior.replicates=2",
        "validation.posterior.population=6", "validation.posterior.simulations=12",
        "validation.posterior.generations=2", "validation.posterior.predictive_draws=2",
        "validation.posterior.predictive_replicates=2", "validation.posterior.stored_draws=5")


@pytest.mark.slow
def test_posterior_cli_writes_its_files(tmp_path):
    pytest.importorskip("pyabc")
    out = tmp_path / "post"
    res = _cli(*TINY, "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "posterior: pyabc ABC-SMC" in res.stdout and "of draws meet it" in res.stdout
    frame = pd.read_parquet(out / "posterior.parquet")
    vconf = load_validation()
    assert list(frame.columns) == [*vconf.calibration.parameters, "weight"]
    assert frame["weight"].sum() == pytest.approx(1.0)
    assert frame.attrs["alignsim"]["seed"] is not None
    pred = pd.read_csv(out / "predictive.csv")
    hold = {n for n, c in vconf.patterns.items() if c.split == "holdout"}
    assert set(pred["pattern"]) == hold
    assert pred["share_meeting"].between(0, 1).all()
    for name in ("marginals", "pairs", "predictive_bands"):
        assert (out / f"posterior_{name}.png").stat().st_size > 5_000
    doc = json.loads((out / "posterior.json").read_text())
    assert doc["simulations"] >= 12 and doc["provenance"]["config_hash"]
    keys, draws = post.read_draws(out / "posterior_draws.csv")
    assert keys == list(vconf.calibration.parameters) and draws.shape == (5, len(keys))


def test_posterior_cli_bad_input_is_one_line_exit_2(tmp_path):
    res = _cli(*TINY, "validation.posterior.population=1", "--out", str(tmp_path / "p"),
               cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "validation.posterior.population" in lines[0], res.stderr
    assert not (tmp_path / "p").exists()


# ------------------------------------------------------------------ runs from the draws
def _draws_file(path: Path, values: list[list[float]], keys: list[str]) -> Path:
    lines = ["# test draws", ",".join(["draw", *keys])]
    lines += [",".join([str(i), *map(str, v)]) for i, v in enumerate(values)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_each_replicate_takes_one_draw_on_its_own_stream(tmp_path):
    cfg = compose_config(["policy=logit", "scenario=baseline", "months=8", "replicates=5",
                          "progress=false"])
    keys = ["payoffs.alignment.inertia", "payoffs.actors.russia.punish"]
    path = _draws_file(tmp_path / "d.csv", [[0.02, 0.5], [0.12, 3.0]], keys)
    traj, which = post.posterior_ensemble(cfg, path)
    assert list(which) == [0, 1, 0, 1, 0]
    assert list(traj.replicate_ids) == [0, 1, 2, 3, 4]
    for d, values in enumerate(([0.02, 0.5], [0.12, 3.0])):
        spec = compile_spec(set_config_values(copy.deepcopy(cfg), dict(zip(keys, values,
                                                                           strict=True))))
        ref = run_ensemble(spec, 5, cfg.seed)  # replicate r of a plain run: stream (r,)
        rows = np.flatnonzero(which == d)
        assert np.array_equal(traj.alignment[:, rows], ref.alignment[:, rows])
    # a sweep point's replicates: its own key and first replicate
    part, which = post.posterior_ensemble(cfg, path, replicates=2, key=(3,), first_replicate=5)
    assert list(which) == [1, 0] and list(part.replicate_ids) == [5, 6]
    spec = compile_spec(set_config_values(copy.deepcopy(cfg), dict(zip(keys, [0.12, 3.0],
                                                                       strict=True))))
    ref = run_ensemble(spec, 1, cfg.seed, key=(3,), first_replicate=5)
    assert np.array_equal(part.alignment[:, :1], ref.alignment)


def test_a_missing_or_malformed_draws_file_names_the_key(tmp_path):
    cfg = compose_config(["scenario=baseline", "months=4", "replicates=2", "progress=false"])
    with pytest.raises(ConfigError) as err:
        post.posterior_ensemble(cfg, tmp_path / "none.csv")
    assert err.value.key == "payoffs.draws"
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError):
        post.posterior_ensemble(cfg, tmp_path / "bad.csv")
    path = _draws_file(tmp_path / "k.csv", [[1.0]], ["payoffs.alignment.nosuch"])
    with pytest.raises(ConfigError) as err:
        post.posterior_ensemble(cfg, path)
    assert "nosuch" in err.value.key


def test_payoffs_posterior_main_job_records_each_replicates_draw(tmp_path):
    """``payoffs=posterior``: the main job draws per replicate and says so in its summary."""
    from alignsim.runner import run_main_job

    cfg = compose_config(["payoffs=posterior", "scenario=baseline", "months=6", "replicates=4",
                          "progress=false", "output.figure=false"])
    summary = run_main_job(cfg, tmp_path)
    assert "parameter uncertainty" in summary["band"]
    _keys, draws = post.read_draws(cfg.payoffs.draws)
    assert summary["draw_of_replicate"] == [r % len(draws) for r in range(4)]
    frame = pd.read_parquet(tmp_path / "timeseries.parquet")
    assert (frame.groupby("replicate")["draw"].first().to_numpy() == [0, 1, 2, 3]).all()


def test_a_drawn_key_cannot_also_be_set(tmp_path, cli):
    """``payoffs=posterior`` with an override of a drawn key: one line naming it, exit 2 (the
    draw would silently replace the value asked for)."""
    proc = cli(["payoffs=posterior", "payoffs.actors.russia.punish=0.5", "scenario=baseline",
                "months=6", "replicates=2", f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "alignsim: error: payoffs.actors.russia.punish: is drawn per replicate")
    assert not (tmp_path / "run").exists()
