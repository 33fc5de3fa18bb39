"""The Mesa model follows Mesa's conventions, so Mesa's own tools can drive it.

``mesa.batch_run`` builds models as ``AlignmentModel(**parameters, rng=seed)``: the seeding
keyword ``rng`` and the seminar page's flat parameters must be accepted, and a seed must mean
the same trajectory as replicate 0 of the ensemble driver.
"""

from __future__ import annotations

import mesa
import numpy as np
import pytest

from alignsim.config import compose_config, flat_defaults
from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.model import AlignmentModel

MONTHS = 8


def _run(model: AlignmentModel, months: int) -> AlignmentModel:
    for _ in range(months):
        model.step()
    return model


@pytest.mark.parametrize("seed", [0, 42])
def test_rng_gives_the_ensemble_replicate_zero(seed: int):
    model = _run(AlignmentModel(rng=seed), MONTHS)
    assert model.config.seed == seed
    mine = model.trajectory()
    ens = run_ensemble(model.spec, 1, seed)
    np.testing.assert_array_equal(mine.actions, ens.actions[:MONTHS])
    np.testing.assert_array_equal(mine.alignment, ens.alignment[: MONTHS + 1])
    np.testing.assert_array_equal(mine.payoffs, ens.payoffs[:MONTHS])


def test_rng_replaces_the_seed_of_a_full_config():
    cfg = compose_config(["months=40"])
    model = AlignmentModel(cfg, rng=7)
    assert model.config.seed == 7 and cfg.seed != 7  # the caller's config is left alone
    assert model.spec.months == 40


def test_flat_parameters_build_the_config():
    model = AlignmentModel(cpc_share=0.6, halt_severity=0.5, fund_tr_bn=1.25, temperature=0.01,
                           coercion_appetite=0.2, scenario_name="baseline", rng=3)
    cfg = model.config
    d = flat_defaults()
    assert cfg.world.routes["cpc"].share == pytest.approx(0.6)
    # the balancing route takes the difference, so the shares still sum to one
    assert sum(r.share for r in cfg.world.routes.values()) == pytest.approx(1.0)
    assert cfg.actions["pipeline_halt"].effects.halt["cpc"].severity == pytest.approx(0.5)
    assert cfg.actions["investment_fund"].users["turkiye"].scale == pytest.approx(1.25)
    assert cfg.actions["investment_fund"].users["china"].scale == pytest.approx(
        d.funds["fund_cn_bn"])
    assert cfg.payoffs.actors["russia"].punish == pytest.approx(0.2)
    assert cfg.policy.temperature == pytest.approx(0.01)
    assert cfg.scenario.name == "baseline" and cfg.seed == 3


def test_flat_parameters_match_the_seminar_page():
    app = pytest.importorskip("alignsim.demo.app")
    page = _run(app.SeminarModel(cpc_share=0.6, halt_severity=0.5, seed=5), 6)
    mine = _run(AlignmentModel(cpc_share=0.6, halt_severity=0.5, rng=5), 6)
    np.testing.assert_array_equal(page.trajectory().alignment, mine.trajectory().alignment)


def test_batch_run_drives_the_model():
    results = mesa.batch_run(
        AlignmentModel,
        parameters={"cpc_share": [0.5, 0.8], "halt_severity": 1.0},
        rng=[1, 2],
        max_steps=MONTHS,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    rows = [r for r in results if r["AgentID"] == 1]  # one agent's rows: one per step and run
    runs = {(r["cpc_share"], r["rng"]) for r in rows}
    assert runs == {(0.5, 1), (0.5, 2), (0.8, 1), (0.8, 2)}
    steps = {r["Step"] for r in rows}
    assert steps == set(range(MONTHS + 1))
    start = {r["cpc_share"]: r["route_cpc"] for r in rows if r["Step"] == 0}
    assert start == pytest.approx({0.5: 0.5, 0.8: 0.8})
    last = {(r["cpc_share"], r["rng"]): r["axis"] for r in rows if r["Step"] == MONTHS}
    direct = _run(AlignmentModel(cpc_share=0.8, halt_severity=1.0, rng=2), MONTHS).axis
    assert last[(0.8, 2)] == direct
    assert {r["action"] for r in results} <= set(compile_spec(compose_config()).actions)


def test_datacollector_dataframes():
    model = _run(AlignmentModel(rng=11, temperature=0.01), 5)
    frame = model.datacollector.get_model_vars_dataframe()
    assert len(frame) == 6  # the start and five months
    assert {"axis", "share_russian", "share_turkic", "route_cpc"} <= set(frame.columns)
    assert frame["axis"].iloc[-1] == model.axis
    np.testing.assert_allclose(frame["axis"], model.trajectory().axis[:, 0])
    agents = model.datacollector.get_agent_vars_dataframe()
    assert agents.index.names == ["Step", "AgentID"]
    assert len(agents) == 6 * len(model.actors)
    assert {"action", "payoff"} <= set(agents.columns)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"rng": -1}, "rng"),
        ({"rng": 1.5}, "rng"),
        ({"rng": np.random.default_rng(1)}, "rng"),
        ({"cpc_share": "high"}, "cpc_share"),
        ({"cpc_share": 0.99}, "cpc_share"),
        ({"scenario_name": "nosuch"}, "scenario"),
    ],
)
def test_bad_keywords_name_the_key(kwargs: dict, key: str):
    with pytest.raises(ConfigError) as err:
        AlignmentModel(**kwargs)
    assert err.value.key == key


def test_flat_parameters_and_config_do_not_mix():
    with pytest.raises(ConfigError) as err:
        AlignmentModel(compose_config(), cpc_share=0.5)
    assert err.value.key == "cpc_share"


def test_batch_run_iterations_are_different_runs_that_can_be_repeated():
    """``rng=[None] * n`` (what Mesa's deprecated ``iterations=n`` means): as in Mesa, each
    ``None`` is a fresh seed, recorded in the model's config, so n iterations are n runs (not one
    run counted n times)."""
    rows = mesa.batch_run(AlignmentModel, parameters={"cpc_share": [0.8]}, rng=[None] * 3,
                          max_steps=12, number_processes=1, data_collection_period=-1,
                          display_progress=False)
    assert len({round(r["axis"], 12) for r in rows}) == 3
    fresh = AlignmentModel(rng=None)
    again = AlignmentModel(rng=fresh.config.seed)
    _run(fresh, 6), _run(again, 6)
    assert fresh.axis == again.axis
    assert AlignmentModel().config.seed == compose_config().seed  # left out: the config's
