"""Patterns: each check can fail (on a config built to break it), the metrics read the right
dates, bad pattern configs are refused with one line, and ``alignsim-validate`` works end to end."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.schema import Config, RelationDelta
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.tools import set_config_value
from alignsim.validation.patterns import (
    PatternConf,
    evaluate,
    evaluate_all,
    load_validation,
    required_months,
)

R = 16
VCONF = load_validation("default")


@functools.cache
def base() -> Config:
    """The model the validation tests: its ``model:`` overrides (history_endogenous) with the
    calibrated payoffs."""
    return compose_config([*VCONF.model, "payoffs=calibrated", "months=48", f"replicates={R}",
                           "progress=false"])


def _set(*pairs: tuple[str, float]) -> Config:
    cfg = base()
    for k, v in pairs:
        cfg = set_config_value(cfg, k, v)
    return cfg


def _events(edit) -> Config:
    cfg = copy.deepcopy(base())
    for ev in cfg.scenario.events:
        edit(ev)
    return cfg


def _no_shootdown(ev) -> None:
    if ev.name == "Airliner shoot-down":
        ev.effects.relations = []


def _jump_after_shootdown(ev) -> None:
    # Kazakhstan takes Baku's side outright after the shoot-down instead of staying neutral
    if ev.name == "Airliner shoot-down":
        ev.effects.relations = [*ev.effects.relations,
                                RelationDelta("kazakhstan", "russia", -1.5),
                                RelationDelta("kazakhstan", "azerbaijan", 1.0)]


def _rupture(ev) -> None:
    # the invasion breaks Kazakhstan's relation with Russia outright
    if ev.name == "Invasion of Ukraine":
        ev.effects.relations = [RelationDelta("kazakhstan", "russia", -1.5)]


def _early_pledge(ev) -> None:
    # the EU energy pledge (an autonomy signal Russia punishes) made in March, not July
    if ev.name == "EU energy pledge":
        ev.date = "2022-03"


BREAKERS = {
    "weak_halt": lambda: _set(("actions.pipeline_halt.effects.halt.cpc.severity", 0.3)),
    "frozen_alignment": lambda: _set(("payoffs.alignment.inertia", 0.0)),
    "relentless_russia": lambda: _set(("payoffs.actors.russia.punish", 5.0),
                                      ("actions.pipeline_halt.repeat_cost", 0.0)),
    "rupture": lambda: _events(_rupture),
    "fast_corridor": lambda: _set(
        ("actions.route_diversification.effects.capacity.middle_corridor", 0.008)),
    "no_shootdown": lambda: _events(_no_shootdown),
    "jump_after_shootdown": lambda: _events(_jump_after_shootdown),
    "early_pledge": lambda: _events(_early_pledge),
}

# every pattern of conf/validation/default.yaml, with a config that must make it fail
BROKEN_BY = {
    "cpc_halt_2022": "weak_halt",
    "no_halt_before_june_2022": "early_pledge",
    "axis_toward_turkic_2022": "frozen_alignment",
    "axis_toward_turkic_2024": "frozen_alignment",
    "russia_first_2023": "relentless_russia",
    "russia_first_2024": "relentless_russia",
    "russia_first_2025": "relentless_russia",
    "no_repeat_halt_2022_2023": "relentless_russia",
    "no_repeat_halt_2024": "relentless_russia",
    "no_rupture_with_russia_2023": "rupture",
    "no_rupture_with_russia_2025": "rupture",
    "mc_tonnes_2023": "fast_corridor",
    "mc_tonnes_2024": "fast_corridor",
    "cpc_still_dominant_2024": "fast_corridor",
    "shootdown_rift_ru_az": "no_shootdown",
    "neutrality_after_shootdown": "jump_after_shootdown",
}


@functools.cache
def results_of(breaker: str | None) -> dict:
    cfg = base() if breaker is None else BREAKERS[breaker]()
    traj = run_ensemble(compile_spec(cfg), R, cfg.seed)
    return {p.name: p for p in evaluate_all(traj, VCONF.patterns)}


# patterns whose natural breakers are the null models (spec transforms, not config edits): their
# can-fail / can-pass cases are tests/test_nulls.py::test_new_pattern_can_fail_and_can_pass
NULL_TESTED = {"axis_turkic_feb_jun_2022", "western_share_up_2024", "chinese_share_up_2024",
               "russia_summits_2023", "turkiye_summits_2023", "azerbaijan_fund_once_2024"}


def test_every_pattern_has_a_breaker():
    assert set(BROKEN_BY) | NULL_TESTED == set(VCONF.patterns)
    assert not set(BROKEN_BY) & NULL_TESTED


@pytest.mark.parametrize("pattern", sorted(BROKEN_BY))
def test_pattern_fails_on_a_config_built_to_break_it(pattern):
    broken = results_of(BROKEN_BY[pattern])[pattern]
    assert not broken.passed, f"{pattern} still passes under {BROKEN_BY[pattern]}"
    assert abs(broken.error) > 0  # signed for approx checks


# configs under which a check passes (absent = the calibrated model itself, which passes them
# all; the Feb–Jun 2022 pattern, which it fails, is tested in tests/test_nulls.py); the 2024
# tonnage sits near its upper edge, so a 16-replicate sample of it is checked a little slower
PASSES_WITH = {"mc_tonnes_2024": "steady_corridor"}
BREAKERS["steady_corridor"] = lambda: _set(
    ("actions.route_diversification.effects.capacity.middle_corridor", 0.003))


@pytest.mark.parametrize("pattern", sorted(BROKEN_BY))
def test_pattern_passes_somewhere(pattern):
    """A check that never passes tests nothing: each passes under some plausible config."""
    assert results_of(PASSES_WITH.get(pattern))[pattern].passed, pattern


# ------------------------------------------------------------------------- metrics, dates
@functools.cache
def default_traj():
    return run_ensemble(compile_spec(base()), R, base().seed)


def test_tonnes_are_start_of_month_shares_times_exports():
    traj = default_traj()
    conf = PatternConf(metric="route_tonnes", args={"route": "middle_corridor", "year": 2023},
                       check="approx", target=1.0, tolerance=1.0)
    got = evaluate(traj, "t", conf).values
    k = traj.spec.routes.index("middle_corridor")
    # Jan 2023 is month index 12; its start-of-month state is index 12
    want = traj.share[12:24, :, k].sum(axis=0) * traj.spec.oil_exports_mt_per_year / 12
    np.testing.assert_allclose(got, want)


def test_revenue_lost_reads_the_state_after_the_month():
    traj = default_traj()
    conf = PatternConf(metric="revenue_lost", args={"month": "2022-07"}, check="approx",
                       target=0.8, tolerance=0.05)
    np.testing.assert_allclose(evaluate(traj, "x", conf).values, traj.pain[7])


def test_max_revenue_lost_reads_the_worst_month_of_the_window_and_only_it():
    """Hand-set pain on a copy of a trajectory: the state after month t holds month t's loss, so
    a window Jun–Dec 2022 reads states 6..12 (after Jun .. after Dec); losses just outside it
    (the state after May, index 5, and after Jan 2023, index 13) do not count."""
    import dataclasses

    traj = default_traj()
    pain = np.zeros_like(traj.pain)
    pain[5, 0] = 0.9   # May 2022: before the window
    pain[6, 1] = 0.3   # June 2022: first month of the window
    pain[12, 2] = 0.6  # December 2022: last month of the window
    pain[13, 3] = 0.9  # January 2023: after it
    t = dataclasses.replace(traj, pain=pain)
    conf = PatternConf(metric="max_revenue_lost", args={"from": "2022-06", "to": "2022-12"},
                       check="share_above", target=0.75, min_fraction=0.6, tolerance=0.1)
    values = evaluate(t, "x", conf).values
    assert values[:4].tolist() == [0.0, 0.3, 0.6, 0.0]
    assert (values[4:] == 0.0).all()


def test_share_check_statistic_is_the_fraction_of_replicates():
    traj = default_traj()
    conf = PatternConf(metric="axis_change", args={"from": "2022-01", "to": "2024-12"},
                       check="share_above", target=0.0, min_fraction=0.6, tolerance=0.1)
    p = evaluate(traj, "x", conf)
    assert p.statistic == pytest.approx(np.mean(traj.axis[36] - traj.axis[0] > 0))
    assert p.passed == (p.statistic >= 0.6)


def test_required_months_reaches_the_last_pattern():
    spec = compile_spec(base())
    assert required_months(spec, VCONF.patterns) == 48  # end of Dec 2025


def test_run_too_short_is_refused():
    traj = default_traj()
    conf = PatternConf(metric="relation", args={"a": "kazakhstan", "b": "russia",
                                                 "at": "2026-06"}, check="share_above")
    with pytest.raises(ConfigError) as e:
        evaluate(traj, "late", conf)
    assert e.value.key == "months"


@pytest.mark.parametrize(
    ("conf", "key"),
    [
        (PatternConf(metric="nope"), "validation.patterns.x.metric"),
        (PatternConf(metric="axis_change", check="roughly"), "validation.patterns.x.check"),
        (PatternConf(metric="axis_change", split="train"), "validation.patterns.x.split"),
        (PatternConf(metric="axis_change", args={"from": "2022-01", "to": "2022-13"}),
         "validation.patterns.x.args.to"),
        (PatternConf(metric="axis_change", args={"from": "2022-01"}),
         "validation.patterns.x.args.to"),
        (PatternConf(metric="route_share", args={"route": "suez", "at": "2023-01"}),
         "validation.patterns.x.args.route"),
        (PatternConf(metric="relation", args={"a": "kazakhstan", "b": "russia", "at": "2023-01",
                                              "when": 1}), "validation.patterns.x.args.when"),
        (PatternConf(metric="axis_change", tolerance=0.0), "validation.patterns.x.tolerance"),
    ],
)
def test_bad_pattern_config_names_its_key(conf, key):
    with pytest.raises(ConfigError) as e:
        evaluate(default_traj(), "x", conf)
    assert e.value.key == key


def test_validation_overrides_and_type_errors():
    v = load_validation("default", ["patterns.mc_tonnes_2023.tolerance=0.3", "months=50"])
    assert v.patterns["mc_tonnes_2023"].tolerance == 0.3 and v.months == 50
    with pytest.raises(ConfigError) as e:
        load_validation("default", ["patterns.mc_tonnes_2023.tolerance=wide"])
    assert e.value.key.startswith("validation.")
    with pytest.raises(ConfigError):
        load_validation("nonexistent")


# ---------------------------------------------------------------------------------- CLI
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("alignsim-validate")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.mark.slow
def test_validate_cli_end_to_end(tmp_path):
    out = tmp_path / "val"
    res = _cli("replicates=8", "progress=false", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    for pattern in VCONF.patterns:
        assert pattern in res.stdout
    assert (out / "validation.png").stat().st_size > 10_000
    table = (out / "validation.csv").read_text().splitlines()
    assert table[0].startswith("pattern,split,date") and len(table) == 1 + len(VCONF.patterns)
    doc = json.loads((out / "validation.json").read_text())
    assert doc["replicates"] == 8 and doc["total"] == len(VCONF.patterns)
    assert {r["pattern"] for r in doc["patterns"]} == set(VCONF.patterns)


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (("validation.patterns.mc_tonnes_2023.metric=nope",),
         "validation.patterns.mc_tonnes_2023.metric"),
        (("replicates=many",), "replicates"),
        (("months=20",), "months"),
        (("validation=nothing",), "validation"),
    ],
)
def test_validate_cli_bad_input_is_one_line_exit_2(tmp_path, args, key):
    out = tmp_path / "val"
    res = _cli(*args, "progress=false", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alignsim-validate: error: "), res.stderr
    assert key in lines[0]
    assert not out.exists() or not any(p.name.startswith("validation") for p in out.iterdir())


def test_validate_words_reach_hydra_with_the_patterns_months(monkeypatch, tmp_path):
    from alignsim.validation import validate

    seen = []
    monkeypatch.setattr(validate, "hydra_job", lambda task, over, prog: seen.append(over))
    validate.main([f"out={tmp_path}", "seed=3", "validation.patterns.mc_tonnes_2023.tolerance=0.3"])
    assert seen[0][:4] == ["scenario=history_endogenous", f"months={VCONF.months}", "seed=3",
                           f"hydra.run.dir={tmp_path}"]
    # a key of the model under test given on the command line wins
    validate.main(["months=60", "scenario=history", "--out", str(tmp_path)])
    assert seen[1][:3] == ["months=60", "scenario=history", f"hydra.run.dir={tmp_path}"]
