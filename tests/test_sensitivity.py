"""Global sensitivity analysis: the SALib machinery, the cheap Spec variants, and the CLI."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alignsim.config import compose_dictconfig
from alignsim.kernel.spec import ConfigError
from alignsim.validation.sensitivity import (
    ModelEvaluator,
    Parameter,
    SpecVariants,
    _with_value,
    load_settings,
    morris_screen,
    problem,
    rank_parameters,
    run_analysis,
    sobol_indices,
)

TOY = (Parameter("x1", 0.0, 1.0), Parameter("x2", 0.0, 1.0), Parameter("x3", 0.0, 1.0))


class Toy:
    """``f = 5 x1 + 0 x2 + x3 + noise``: the planted influence, an inert input, a weak one.

    Noise is the mean of 8 replicate draws per point, from the same stream at every point
    (common random numbers), like the model evaluator; ``last_noise`` feeds the noise report.
    """

    def __init__(self, sd: float = 0.3, replicates: int = 8) -> None:
        self.sd, self.replicates = sd, replicates
        self.last_noise: np.ndarray | None = None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        eps = np.random.default_rng(11).normal(0.0, self.sd, (len(X), self.replicates))
        reps = (5.0 * X[:, 0] + 0.0 * X[:, 1] + 1.0 * X[:, 2])[:, None] + eps
        self.last_noise = (reps.var(axis=1, ddof=1) / self.replicates)[:, None]
        return reps.mean(axis=1)


def test_morris_and_sobol_find_the_planted_parameter_and_ignore_the_inert_one() -> None:
    prob = problem(TOY)
    toy = Toy()
    m = morris_screen(prob, toy, ["y"], trajectories=20, seed=3)
    mu = m.table.set_index("parameter")["mu_star"]
    assert rank_parameters(m.table) == ["x1", "x3", "x2"]
    assert mu["x1"] == pytest.approx(5.0, rel=0.15)  # linear: every elementary effect is 5
    assert mu["x2"] < 0.1 * mu["x1"]
    s = sobol_indices(prob, toy, ["y"], n=256, seed=3)
    t = s.table.set_index("parameter")
    # Var = 25/12 + 1/12: S1(x1) = 25/26, S1(x3) = 1/26, x2 contributes nothing.
    assert t.loc["x1", "ST"] == pytest.approx(25 / 26, abs=0.08)
    assert t.loc["x1", "S1"] == pytest.approx(25 / 26, abs=0.1)
    assert abs(t.loc["x2", "ST"]) < 0.03
    assert abs(t.loc["x2", "S1"]) < max(0.05, t.loc["x2", "S1_conf"])
    assert t.loc["x3", "ST"] < t.loc["x1", "ST"]
    assert (t[["S1_conf", "ST_conf"]] > 0).all().all()
    noise = s.noise.iloc[0]
    assert noise["noise_var"] == pytest.approx(0.3**2 / 8, rel=0.3)
    assert 0 < noise["noise_ratio"] < 0.05


def test_cheap_variants_equal_a_full_recompile() -> None:
    base = compose_dictconfig([])
    settings = load_settings()
    variants = SpecVariants(base, settings.parameters)
    assert "recompile" not in variants.kinds.values()
    row = [p.low + 0.37 * (p.high - p.low) for p in settings.parameters]
    cheap = variants(row)
    full = _with_value(base, {p.key: v for p, v in zip(settings.parameters, row, strict=True)})
    for f in dataclasses.fields(cheap):
        a, b = getattr(cheap, f.name), getattr(full, f.name)
        if isinstance(a, dict):
            assert a.keys() == b.keys(), f.name
            for k in a:
                np.testing.assert_allclose(a[k], b[k], rtol=1e-12, err_msg=f"{f.name}.{k}")
        elif isinstance(a, np.ndarray):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f.name)
        else:
            assert a == b, f.name
    assert variants.spec.align["econ"] == 1.0  # the base Spec is left untouched


def test_bad_parameters_are_config_errors() -> None:
    base = compose_dictconfig([])
    with pytest.raises(ConfigError) as e:
        SpecVariants(base, [Parameter("payoffs.alignment.bogus", 0.0, 1.0)])
    assert e.value.key == "sensitivity.parameters[0].key"
    with pytest.raises(ConfigError) as e:
        SpecVariants(base, [Parameter("payoffs.alignment.econ", 0.5, 1.0),
                            Parameter("payoffs.alignment.inertia", 0.0, 2.0)])
    assert e.value.key == "sensitivity.parameters[1].high"
    with pytest.raises(ConfigError) as e:
        load_settings(overrides={"select": ["payoffs.alignment.nope"]})
    assert e.value.key == "sensitivity.select"
    with pytest.raises(ConfigError) as e:
        load_settings(overrides={"n": 48})
    assert e.value.key == "sensitivity.n"
    with pytest.raises(ConfigError) as e:
        load_settings(overrides={"bogus": 1})
    assert e.value.key == "sensitivity.bogus"


def test_small_real_analysis_returns_finite_indices_of_the_right_shape() -> None:
    base = compose_dictconfig(["scenario=baseline", "months=24"])  # tiny: 2 years, no events
    settings = load_settings(overrides={
        "select": ["payoffs.alignment.econ", "payoffs.alignment.exposure",
                   "payoffs.alignment.inertia"],
        "outputs": ["drift"], "morris_trajectories": 3, "top": 2, "n": 4, "num_resamples": 20,
    }, replicates=4)
    a = run_analysis(base, settings)
    assert a.morris.table.shape[0] == 3 and a.sobol.table.shape[0] == 2
    assert len(a.morris.X) == 3 * 4 and len(a.sobol.X) == 4 * (2 + 2)
    assert np.isfinite(a.morris.table[["mu_star", "mu_star_conf", "sigma"]].to_numpy()).all()
    assert np.isfinite(a.sobol.table[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    assert np.isfinite(a.noise["noise_ratio"]).all()
    # common random numbers: the same point gives the same output
    ev = ModelEvaluator(base, settings.parameters[:1], replicates=4, outputs=["drift"])
    y = ev(np.array([[1.0], [1.0], [2.0]]))
    assert y[0, 0] == y[1, 0] and y[0, 0] != y[2, 0]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("alignsim-sensitivity")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


def test_cli_end_to_end_tiny(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = _cli("replicates=3", "scenario=baseline", "months=24", "progress=false", "--out", str(out),
             "+sensitivity.select=[align.econ,align.exposure,russia.punish]",
             "+sensitivity.morris_trajectories=2", "+sensitivity.n=2", "+sensitivity.top=2",
             "+sensitivity.num_resamples=20", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("morris.csv", "morris.parquet", "sobol.csv", "sobol.parquet", "noise.csv",
                 "sensitivity.json", "sensitivity.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / ".hydra" / "config.yaml").is_file()  # --out is Hydra's run folder
    assert "Sobol indices" in r.stdout and "align.econ" in r.stdout
    warned = [line for line in r.stderr.splitlines() if ": warning: " in line]
    assert len(warned) == 2  # one per output (drift, russian_leads), N = 2 is far too small
    assert all(w.startswith("alignsim-sensitivity: warning: Sobol N=2 is small for ")
               and w.endswith("(95 %); use +sensitivity.n=256 or more") for w in warned)


def test_cli_bad_parameter_name_is_one_line_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    r = _cli(f"hydra.run.dir={out}", "+sensitivity.select=[payoffs.alignment.nope]",
             cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("alignsim-sensitivity: error: sensitivity.select: unknown")
    assert not out.exists()


def test_out_is_hydra_run_folder_and_the_old_spelling_still_reaches_hydra(monkeypatch,
                                                                          tmp_path: Path) -> None:
    from alignsim.validation import sensitivity

    seen = []
    monkeypatch.setattr(sensitivity, "hydra_job", lambda task, over, prog: seen.append(over))
    sensitivity.main(["--out", str(tmp_path / "o"), "+sensitivity.out=old", "seed=3"])
    assert seen == [["+sensitivity.out=old", "seed=3", f"hydra.run.dir={tmp_path / 'o'}"]]


def test_a_settings_file_that_is_not_a_mapping_is_one_clear_error(tmp_path: Path,
                                                                  monkeypatch) -> None:
    import shutil

    conf = tmp_path / "conf"
    shutil.copytree(Path(__file__).resolve().parents[1] / "conf", conf)
    (conf / "sensitivity" / "listy.yaml").write_text("- a\n- b\n")
    monkeypatch.setenv("ALIGNSIM_CONF", str(conf))
    with pytest.raises(ConfigError) as e:
        load_settings(overrides={"name": "listy"})
    assert e.value.key == "sensitivity.name"
    assert e.value.message.startswith("listy.yaml must be a mapping of settings (keys: ")
    assert e.value.message.endswith("got a list")
