"""The seminar page without a browser: controls -> config, views, the CLI's option checks.

That each browser session gets its own world is checked in a real browser
(tests/test_demo_browser.py, two browser contexts).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from alignsim.demo import app
from alignsim.demo import serve as demo
from alignsim.kernel.spec import ConfigError


@pytest.fixture(scope="module")
def model() -> app.SeminarModel:
    return app.SeminarModel()


def test_defaults_come_from_conf(model: app.SeminarModel) -> None:
    cfg = model.config
    assert model.params["seed"] == cfg.seed
    assert model.params["cpc_share"] == pytest.approx(cfg.world.routes["cpc"].share)
    assert model.params["coercion_appetite"] == pytest.approx(cfg.payoffs.actors["russia"].punish)
    assert model.params["temperature"] == pytest.approx(cfg.policy.temperature)
    assert model.params["scenario_name"] == cfg.scenario.name


def test_controls_reach_the_config() -> None:
    m = app.SeminarModel(
        scenario_name="baseline",
        seed="7",
        cpc_share=0.6,
        halt_severity=0.25,
        coercion_appetite=0.2,
        fund_eu_bn=2.0,
        temperature=0.01,
    )
    cfg = m.config
    routes = cfg.world.routes
    assert cfg.seed == 7 and cfg.scenario.name == "baseline"
    assert routes["cpc"].share == pytest.approx(0.6)
    assert sum(r.share for r in routes.values()) == pytest.approx(1.0)
    # the balancing route's capacity follows its share, so the shares stay where they were put
    assert routes["china_east"].capacity == pytest.approx(routes["china_east"].share)
    assert cfg.actions["pipeline_halt"].effects.halt["cpc"].severity == pytest.approx(0.25)
    assert cfg.payoffs.actors["russia"].punish == pytest.approx(0.2)
    assert cfg.actions["investment_fund"].users["eu"].scale == pytest.approx(2.0)
    assert cfg.policy.temperature == pytest.approx(0.01)
    assert m.state.share[0, m.spec.routes.index("cpc")] == pytest.approx(0.6)
    for _ in range(6):
        m.step()
    assert m.state.share[0, m.spec.routes.index("cpc")] < 0.7  # does not snap back to 0.8


def test_parameter_sets_are_composed_once() -> None:
    a = app.SeminarModel(halt_severity=0.5)
    b = app.SeminarModel(halt_severity=0.5)
    assert a.spec is b.spec and a.config is b.config


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"seed": "abc"}, "seed"),
        ({"seed": "-1"}, "seed"),
        ({"scenario_name": "mars"}, "scenario"),
        ({"cpc_share": 0.99}, "cpc_share"),
    ],
)
def test_bad_controls_name_the_key(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        app.SeminarModel(**kwargs)
    assert err.value.key == key


def test_model_params_fit_the_model_signature(model: app.SeminarModel) -> None:
    from mesa.visualization.solara_viz import _check_model_params

    params = app.model_params()
    _check_model_params(model, params)  # raises on an unknown or missing keyword
    assert set(params) == set(inspect.signature(app.SeminarModel.__init__).parameters) - {"self"}
    # Reset rebuilds with type(model)(**values): the default values give the default world
    values = {k: (v.value if hasattr(v, "value") else v["value"]) for k, v in params.items()}
    assert app.SeminarModel(**values).spec is model.spec


def test_same_world_as_the_plain_driver() -> None:
    from alignsim.model import AlignmentModel

    m = app.SeminarModel()
    plain = AlignmentModel(m.config)
    for _ in range(4):
        m.step()
        plain.step()
    np.testing.assert_array_equal(m.state.alignment, plain.state.alignment)
    assert [e.text for e in m.log] == [e.text for e in plain.log]


def test_views_render_and_follow_the_model() -> None:
    m = app.SeminarModel()
    views = app.PageViews(m)
    first = views.render()
    assert set(first) == {"spheres", "axis", "routes", "network", "log"}
    for name in ("spheres", "axis", "routes", "network"):
        assert first[name][:3] == b"\xff\xd8\xff"  # JPEG frame
    assert b"No moves yet" in first["log"]
    m.step()
    second = views.render()
    assert second["log"] != first["log"] and b"expected payoffs:" in second["log"]
    assert second["axis"] != first["axis"] and second["network"] != first["network"]


def test_log_is_escaped_and_newest_first() -> None:
    m = app.SeminarModel()
    for _ in range(3):
        m.step()
    text = app.log_html(m)
    assert text.index("2022-03") < text.index("2022-01")
    assert "Moscow&#x27;s" in text or "'republics'" not in text  # quotes escaped if present
    assert "<script" not in text


def test_relations_graph(model: app.SeminarModel) -> None:
    g = app.relations_graph(model)
    n = len(model.spec.actors)
    assert g.number_of_nodes() == n and g.number_of_edges() == n * (n - 1) // 2
    rel = model.state.relations[0]
    assert all(d["value"] == pytest.approx(rel[i, j]) for i, j, d in g.edges(data=True))


def test_demo_cli_rejects_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--port", "abc"], ["--port", "70000"], ["--bogus"], ["--host", ""]):
        with pytest.raises(SystemExit) as exc:
            demo.main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("alignsim-demo: error:"), err
    cmd = demo.command("127.0.0.1", 8123)
    assert cmd[1:5] == ["-m", "solara", "run", demo.APP] and "--production" in cmd
    assert cmd[cmd.index("--port") + 1] == "8123"
