"""Calibration: candidates are applied exactly, common random numbers make the objective a
deterministic function, a twin experiment recovers known parameters, and the calibrated
payoffs file composes as ``payoffs=calibrated``."""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf

from alignsim.config import compose_config, conf_dir
from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.tools import get_config_value, set_config_value
from alignsim.validation.calibrate import (
    CalibrationResult,
    Objective,
    calibrate,
    calibrated_yaml,
    free_parameters,
    truncate_spec,
)
from alignsim.validation.patterns import (
    CalibrationConf,
    ParameterConf,
    PatternConf,
    load_validation,
)

CAP = "actions.route_diversification.effects.capacity.middle_corridor"
INERTIA = "payoffs.alignment.inertia"
R = 16


@functools.cache
def base():
    return compose_config(["months=48", f"replicates={R}", "progress=false"])


@pytest.mark.parametrize(
    ("key", "value"),
    [(CAP, 0.0013), (INERTIA, 0.09), ("payoffs.actors.russia.punish", 0.2),
     ("world.dynamics.threat_learning", 0.3)],
)
def test_candidate_applied_to_config_equals_hydra_override(key, value):
    """Setting the key in the typed tree and recompiling is the same model as composing with
    the override on the command line."""
    cheap = run_ensemble(compile_spec(set_config_value(base(), key, value)), 4, 3)
    composed = compose_config(["months=48", f"{key}={value}"])
    ref = run_ensemble(compile_spec(composed), 4, 3)
    np.testing.assert_array_equal(cheap.alignment, ref.alignment)
    np.testing.assert_array_equal(cheap.actions, ref.actions)
    assert get_config_value(set_config_value(base(), key, value), key) == value
    assert get_config_value(base(), key) != value  # the base is not modified


def test_bad_parameter_keys_are_refused():
    with pytest.raises(ConfigError) as e:
        set_config_value(base(), "payoffs.alignment.stubbornness", 1.0)
    assert e.value.key == "payoffs.alignment.stubbornness" and "inertia" in e.value.message
    with pytest.raises(ConfigError):
        set_config_value(base(), "scenario.name", 1.0)  # not a number
    with pytest.raises(ConfigError) as e:  # the compiler's range check, at the bound
        free_parameters(base(), {INERTIA: ParameterConf(0.01, 1.5)})
    assert e.value.key == INERTIA
    with pytest.raises(ConfigError):
        free_parameters(base(), {INERTIA: ParameterConf(0.2, 0.1)})


def test_truncated_spec_reproduces_the_first_months():
    spec = compile_spec(base())
    full = run_ensemble(spec, 6, 11)
    short = run_ensemble(truncate_spec(spec, 24), 6, 11)
    np.testing.assert_array_equal(short.alignment, full.alignment[:25])
    np.testing.assert_array_equal(short.actions, full.actions[:24])


def test_objective_is_deterministic_under_common_random_numbers():
    v = load_validation("default")
    fit = {n: c for n, c in v.patterns.items() if c.split == "fit"}
    params = free_parameters(base(), {CAP: ParameterConf(0.0, 0.004)})
    obj = Objective(base(), fit, params, 8, 5, 0.1)
    assert obj.months == 24  # fit patterns end in Dec 2023
    assert obj([0.001]) == obj([0.001])
    assert obj([0.0]) != obj([0.004])
    # the pull toward the default is zero at the default
    assert obj.penalty([0.002]) == 0.0 and obj.penalty([0.0]) == pytest.approx(0.1 * 0.25)


def test_twin_experiment_recovers_known_parameters():
    """Generate pattern targets with known parameters, fit from elsewhere, recover them."""
    truth = [0.001, 0.08]
    bounds = {CAP: ParameterConf(0.0, 0.004), INERTIA: ParameterConf(0.01, 0.15)}
    patterns = {
        "tonnes": PatternConf(split="fit", metric="route_tonnes", check="approx",
                              args={"route": "middle_corridor", "year": 2023}, tolerance=0.05),
        "axis": PatternConf(split="fit", metric="axis_change", check="approx",
                            args={"from": "2022-01", "to": "2023-12"}, tolerance=0.005),
    }
    params = free_parameters(base(), bounds)
    twin = Objective(base(), patterns, params, R, 7, 0.0)
    for p in twin.results(truth):
        patterns[p.name].target = p.mean
    conf = CalibrationConf(replicates=R, seed=7, method="nelder_mead", maxiter=3,
                           regularisation=0.0, parameters=bounds)
    res = calibrate(base(), patterns, conf, start=[0.003, 0.03])
    assert res.value < 0.01
    for p, got, want in zip(res.params, res.x, truth, strict=True):
        assert abs(got - want) <= 0.03 * (p.hi - p.lo), (p.key, got, want)


def test_calibrated_yaml_composes_and_applies_every_fitted_value(tmp_path, monkeypatch):
    params = free_parameters(base(), {CAP: ParameterConf(0.0, 0.004),
                                      INERTIA: ParameterConf(0.01, 0.15)})
    result = CalibrationResult(
        params=params, x=[0.0007, 0.06], value=0.5, default_value=7.0, evaluations=3,
        seconds=1.0, method="test", replicates=R, seed=1, optimiser_seed=1,
        regularisation=0.1, fit_patterns=["a"], message="",
    )
    text = calibrated_yaml(base(), result, "default")
    assert text.startswith("# @package _global_") and "objective J" in text
    tree = shutil.copytree(conf_dir(), tmp_path / "conf")
    (tree / "payoffs" / "twin.yaml").write_text(text)
    monkeypatch.setenv("ALIGNSIM_CONF", str(tree))
    cfg = compose_config(["payoffs=twin"])
    assert cfg.payoffs.name == "calibrated"
    assert get_config_value(cfg, CAP) == pytest.approx(0.0007)
    assert get_config_value(cfg, INERTIA) == pytest.approx(0.06)
    # everything else in payoffs is the default group's
    assert cfg.payoffs.actors["russia"].align == base().payoffs.actors["russia"].align


def test_committed_calibrated_payoffs_compose():
    path = conf_dir() / "payoffs" / "calibrated.yaml"
    if not path.exists():
        pytest.skip("conf/payoffs/calibrated.yaml not written yet (run alignsim-calibrate)")
    text = path.read_text()
    for field in ("objective J", "alignsim version", "model seed", "written"):
        assert field in text
    cfg = compose_config(["payoffs=calibrated"])
    data = OmegaConf.load(path)
    assert cfg.payoffs.name == "calibrated"
    assert cfg.payoffs.alignment.inertia == data.payoffs.alignment.inertia
    compile_spec(cfg)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("alignsim-calibrate")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("validation.calibration.method=magic",), "validation.calibration.method"),
        (("validation.calibration.replicates=few",), "validation.calibration.replicates"),
        (("payoffs.alignment.inertia=2.0",), "payoffs.alignment.inertia"),
    ],
)
def test_calibrate_cli_bad_input_is_one_line_exit_2(tmp_path, args, key):
    res = _cli(*args, "progress=false", "--out", str(tmp_path / "cal"), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alignsim-calibrate: error: "), res.stderr
    assert key in lines[0]
    assert not (tmp_path / "cal").exists()


@pytest.mark.slow
def test_calibrate_cli_small_run(tmp_path):
    out = tmp_path / "cal"
    res = _cli("replicates=8", "progress=false", "validation.calibration.replicates=4",
               "validation.calibration.maxiter=1", "validation.calibration.popsize=1",
               "validation.calibration.polish=0", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "validation calibrated:" in res.stdout
    doc = OmegaConf.load(out / "calibrated.yaml")
    assert doc.payoffs.name == "calibrated" and CAP.split(".")[0] in doc
    assert (out / "calibration.json").exists()
