"""Actors are data: a seventh actor added by YAML alone (a user's config folder, no code) runs
under every decision rule, on both drivers, and its moves reach the world."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.policies import RULES
from alignsim.kernel.spec import compile_spec
from alignsim.model import AlignmentModel

CONF = Path(__file__).resolve().parents[1] / "conf"

UZBEK = """
  uzbekistan:
    label: Uzbekistan
    sphere: turkic
    trade_share: 0.03       # fraction; test value
    investment_bn: 0.5      # USD bn; test value
    security: 0.05          # index; test value
"""
ACTIONS = """\
defaults:
  - leverage
  - _self_
summit:
  users:
    uzbekistan: {cost: 0.004, scale: 0.6}
investment_fund:
  users:
    uzbekistan: {cost: 0.004, scale: 0.15}
"""
PAYOFFS = """\
defaults:
  - default
  - _self_
actors:
  uzbekistan: {align: 40.0, relations: 0.2}
"""


@pytest.fixture(scope="module")
def user_conf(tmp_path_factory) -> Path:
    """A user's config folder: the reference world with Uzbekistan added, its actions and its
    payoff weights — three YAML files and nothing else."""
    root = tmp_path_factory.mktemp("user_conf")
    world = (CONF / "world" / "kazakhstan2022.yaml").read_text(encoding="utf-8")
    world = world.replace("name: kazakhstan2022", "name: seven_actors", 1)
    world = world.replace("\nroutes:", UZBEK + "\nroutes:", 1)
    world = world.replace("\nrelations:", "\nrelations:\n  - {a: kazakhstan, b: uzbekistan, "
                                          "value: 0.5}", 1)
    for group, name, text in (("world", "seven_actors", world), ("actions", "seven", ACTIONS),
                              ("payoffs", "seven", PAYOFFS)):
        (root / group).mkdir()
        (root / group / f"{name}.yaml").write_text(text, encoding="utf-8")
    return root


def _config(user_conf: Path, *extra: str):
    return compose_config([f"hydra.searchpath=[file://{user_conf}]", "world=seven_actors",
                           "actions=seven", "payoffs=seven", "scenario=baseline", "months=12",
                           "replicates=4",
                           *extra])


def test_the_seventh_actor_is_in_the_compiled_world(user_conf: Path) -> None:
    spec = compile_spec(_config(user_conf))
    assert spec.n_actors == 7 and spec.actors[-1] == "uzbekistan"
    uz = spec.actor_index("uzbekistan")
    assert spec.spheres[spec.actor_sphere[uz]] == "turkic"
    allowed = {spec.actions[a] for a in np.flatnonzero(spec.allowed[uz])}
    assert allowed == {"none", "summit", "investment_fund"}
    assert spec.weights["align"][uz] == 40.0
    assert spec.relations0[spec.swing, uz] == 0.5


@pytest.mark.parametrize("rule", [r for r in RULES if r != "equilibrium"])
def test_every_rule_plays_the_seventh_actor(user_conf: Path, rule: str) -> None:
    cfg = _config(user_conf, f"policy.rule={rule}")
    spec = compile_spec(cfg)
    uz = spec.actor_index("uzbekistan")
    traj = run_ensemble(spec, 4, cfg.seed)
    assert traj.actions.shape == (12, 4, 7)
    assert np.isfinite(traj.payoffs[:, :, uz]).all()
    # it acts: some month, some replicate, it chooses an action other than none
    assert (traj.actions[:, :, uz] != 0).any(), rule
    # and the Mesa driver plays the same seventh actor the same way
    model = AlignmentModel(config=cfg, spec=spec)
    for _ in range(12):
        model.step()
    np.testing.assert_array_equal(model.trajectory().actions[:, 0], traj.actions[:, 0])


def test_the_equilibrium_rule_plays_the_seventh_actor(user_conf: Path) -> None:
    pytest.importorskip("pygambit")
    cfg = _config(user_conf, "policy.rule=equilibrium", "months=2", "replicates=1")
    spec = compile_spec(cfg)
    traj = run_ensemble(spec, 1, cfg.seed)
    assert traj.actions.shape == (2, 1, 7)
    assert np.isfinite(traj.payoffs).all()
