"""The two drivers agree exactly, and a replicate's path depends only on (seed, key, index).

The Mesa driver (one replicate, agents choosing one by one) and the ensemble driver (all
replicates at once, all actors in one batch) must give bit-identical trajectories: comparisons
here use ``np.array_equal``, not a tolerance.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import Trajectory, run_ensemble
from alignsim.kernel.schema import Config, ScenarioConf
from alignsim.kernel.spec import compile_spec
from alignsim.kernel.step import replicate_uniforms
from alignsim.model import AlignmentModel

ARRAYS = ("alignment", "share", "capacity", "threat", "investment", "relations", "pain",
          "actions", "payoffs")
HISTORY_MONTHS = 40  # the history scenario's last event is in Jan 2025 (month 36)
BASELINE_MONTHS = 18


def history_config(default_config: Config, months: int = HISTORY_MONTHS) -> Config:
    cfg = copy.deepcopy(default_config)
    cfg.months = months
    return cfg


def baseline_config(default_config: Config, months: int = BASELINE_MONTHS) -> Config:
    cfg = copy.deepcopy(default_config)
    cfg.months = months
    cfg.scenario = ScenarioConf(name="baseline", start="2022-01", events=[])
    return cfg


def run_mesa(cfg: Config, replicate: int) -> AlignmentModel:
    model = AlignmentModel(cfg, replicate=replicate)
    steps = 0
    while model.running and steps <= cfg.months:
        model.step()
        steps += 1
    assert steps == cfg.months and model.finished and not model.running
    before = model.trajectory()
    model.step()  # a step past the end changes nothing
    assert model.month == cfg.months
    assert np.array_equal(model.trajectory().alignment, before.alignment)
    return model


def assert_same_replicate(a: Trajectory, i: int, b: Trajectory, j: int) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name)[:, i], getattr(b, name)[:, j]
        assert x.shape == y.shape, name
        assert np.array_equal(x, y), f"{name} differs"


@pytest.fixture(scope="module")
def scenarios(default_config):
    """Per scenario: its config and an ensemble of 4 replicates keeping expected payoffs."""
    out = {}
    for name, cfg in (("history", history_config(default_config)),
                      ("baseline", baseline_config(default_config))):
        spec = compile_spec(cfg)
        out[name] = (cfg, run_ensemble(spec, 4, cfg.seed, keep_expected=True))
    return out


@pytest.mark.parametrize("scenario", ["history", "baseline"])
@pytest.mark.parametrize("replicate", [0, 1, 3])
def test_mesa_driver_equals_ensemble_replicate(scenarios, scenario, replicate) -> None:
    cfg, ens = scenarios[scenario]
    model = run_mesa(cfg, replicate)
    mt = model.trajectory()
    assert mt.months == cfg.months
    assert mt.replicate_ids.tolist() == [replicate]
    assert_same_replicate(mt, 0, ens, replicate)
    assert np.array_equal(mt.expected[:, 0], ens.expected[:, replicate])
    # the model's own views agree with its trajectory
    assert model.axis == pytest.approx(float(mt.axis[-1, 0]), abs=0)
    assert model.date == str(model.spec.start.plus(cfg.months))


def test_replicates_play_differently(scenarios) -> None:
    """Sanity for the equality tests above: replicates are not all the same path."""
    _, ens = scenarios["baseline"]
    assert not np.array_equal(ens.actions[:, 0], ens.actions[:, 1])
    assert len(np.unique(ens.actions)) > 2


def test_mesa_equals_ensemble_with_learning_rules(default_config) -> None:
    """Roth–Erev, best response and fictitious play (policy=mixed) through both drivers."""
    cfg = compose_config(["policy=mixed", f"months={BASELINE_MONTHS}", "scenario=baseline"])
    spec = compile_spec(cfg)
    assert set(spec.rules) == {"roth_erev", "best_response", "fictitious_play", "logit"}
    ens = run_ensemble(spec, 3, cfg.seed)
    for r in (0, 2):
        assert_same_replicate(run_mesa(cfg, r).trajectory(), 0, ens, r)


def test_replicate_does_not_depend_on_the_batch(scenarios) -> None:
    cfg, _ = scenarios["history"]
    spec = compile_spec(cfg)
    three = run_ensemble(spec, 3, cfg.seed)
    alone = run_ensemble(spec, 1, cfg.seed, first_replicate=2)
    assert alone.replicate_ids.tolist() == [2]
    assert_same_replicate(alone, 0, three, 2)
    # and two halves make the whole
    half = run_ensemble(spec, 2, cfg.seed, first_replicate=1)
    assert_same_replicate(half, 0, three, 1)
    assert_same_replicate(half, 1, three, 2)


def test_same_seed_same_ensemble_other_seed_or_key_differs(scenarios) -> None:
    cfg, _ = scenarios["baseline"]
    spec = compile_spec(cfg)
    a = run_ensemble(spec, 3, 11)
    b = run_ensemble(spec, 3, 11)
    for name in ARRAYS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    c = run_ensemble(spec, 3, 12)
    d = run_ensemble(spec, 3, 11, key=(1,))
    assert not np.array_equal(a.actions, c.actions)
    assert not np.array_equal(a.actions, d.actions)


def test_replicate_uniforms_are_per_replicate_streams() -> None:
    u = replicate_uniforms(5, range(4), 6, 3)
    assert u.shape == (4, 6, 3) and np.all((u >= 0) & (u < 1))
    np.testing.assert_array_equal(replicate_uniforms(5, [2], 6, 3)[0], u[2])
    ss = np.random.SeedSequence(5, spawn_key=(2,))
    np.testing.assert_array_equal(u[2], np.random.default_rng(ss).random((6, 3)))
    assert not np.array_equal(replicate_uniforms(5, [2], 6, 3, key=(0,))[0], u[2])


def test_forced_actions_are_played_in_both_drivers(scenarios) -> None:
    cfg, ens = scenarios["history"]
    spec = compile_spec(cfg)
    forced = spec.forced
    t, i = np.nonzero(forced >= 0)
    assert len(t) >= 6
    assert np.all(ens.actions[t, :, i] == forced[t, i][:, None])
    model = run_mesa(cfg, 1)
    assert np.all(model.trajectory().actions[t, 0, i] == forced[t, i])


def test_mesa_log_and_datacollector(scenarios) -> None:
    cfg, _ = scenarios["history"]
    model = run_mesa(cfg, 0)
    halt = [e for e in model.log if e.action == "pipeline_halt" and e.month == "2022-07"]
    assert len(halt) == 1 and halt[0].forced and halt[0].actor == "Russia"
    assert "CPC" in halt[0].text
    events = [e for e in model.log if e.actor == "scenario"]
    assert {e.text for e in events} >= {"Event: CPC halt.", "Event: Airliner shoot-down."}
    free = [e for e in model.log if not e.forced]
    assert free and all(e.why.startswith("expected payoffs:") for e in free)
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == cfg.months + 1
    mt = model.trajectory()
    np.testing.assert_array_equal(frame["axis"].to_numpy(), mt.axis[:, 0])
    np.testing.assert_array_equal(frame["share_turkic"].to_numpy(),
                                  mt.alignment[:, 0, model.spec.spheres.index("turkic")])
    agents = model.datacollector.get_agent_vars_dataframe()
    assert set(agents["action"].dropna()) <= set(model.spec.actions)


def test_partial_mesa_trajectory_is_a_prefix(scenarios) -> None:
    cfg, ens = scenarios["baseline"]
    model = AlignmentModel(cfg, replicate=3)
    for _ in range(5):
        model.step()
    part = model.trajectory()
    assert part.months == 5 and part.alignment.shape[0] == 6
    for name in ARRAYS:
        assert np.array_equal(getattr(part, name)[:, 0], getattr(ens, name)[: getattr(
            part, name).shape[0], 3]), name


def test_mesa_equals_ensemble_on_the_validated_model() -> None:
    """The model alignsim-validate tests (history_endogenous, calibrated: Russia chooses its halt,
    attention costs bite) runs the same on both drivers, replicate by replicate."""
    cfg = compose_config(["scenario=history_endogenous", "payoffs=calibrated", "months=36"])
    ens = run_ensemble(compile_spec(cfg), 3, cfg.seed)
    ru = ens.spec.actor_index("russia")
    assert (ens.actions[:, :, ru] == ens.spec.action_index("pipeline_halt")).any()  # a chosen halt
    for r in (0, 2):
        assert_same_replicate(run_mesa(cfg, r).trajectory(), 0, ens, r)
