"""The seminar page without a browser: controls → config, interventions, runs, views, the CLI.

What the browser sees (bad seed message, sliders by mouse, marks, ghost lines, downloads) is
checked in tests/test_demo_browser.py; here the same logic is checked directly and fast.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from alignsim.demo import app, charts
from alignsim.demo import serve as demo
from alignsim.demo.world import (
    CONTROL_BY_KEY,
    CONTROLS,
    RunRecord,
    SeminarModel,
    default_values,
    parse_seed,
    run_csv,
    user_message,
)
from alignsim.kernel.spec import ConfigError
from alignsim.model import AlignmentModel


@pytest.fixture(scope="module")
def model() -> SeminarModel:
    return SeminarModel()


def test_defaults_come_from_conf(model: SeminarModel) -> None:
    cfg = model.config
    assert model.params["seed"] == cfg.seed
    assert model.params["cpc_share"] == pytest.approx(cfg.world.routes["cpc"].share)
    assert model.params["coercion_appetite"] == pytest.approx(cfg.payoffs.actors["russia"].punish)
    assert model.params["temperature"] == pytest.approx(cfg.policy.temperature)
    assert model.params["scenario_name"] == cfg.scenario.name
    values = default_values()
    assert SeminarModel(**values).spec is model.spec  # the page's start values = conf/


def test_page_uses_the_config_modules_flat_parameters() -> None:
    """One flat-parameters → config code (alignsim.config), not a copy in the page."""
    import alignsim.demo.app as page
    import alignsim.demo.world as world

    for name in ("Defaults", "defaults", "overrides_for", "_compose", "world", "FUND_USERS",
                 "SWING_ROUTE", "BALANCING_ROUTE", "_COMPOSE_LOCK"):
        assert not hasattr(page, name), name
        assert name == "world" or not hasattr(world, name), name
    m = SeminarModel(cpc_share=0.6, halt_severity=0.5, seed=5)
    plain = AlignmentModel(cpc_share=0.6, halt_severity=0.5, rng=5)
    assert m.spec is plain.spec
    for _ in range(4):
        m.step()
        plain.step()
    np.testing.assert_array_equal(m.state.alignment, plain.state.alignment)
    assert [e.text for e in m.log] == [e.text for e in plain.log]


def test_controls_reach_the_config() -> None:
    m = SeminarModel(scenario_name="baseline", seed="7", cpc_share=0.6, halt_severity=0.25,
                     coercion_appetite=0.2, fund_eu_bn=2.0, temperature=0.01)
    cfg = m.config
    routes = cfg.world.routes
    assert cfg.seed == 7 and cfg.scenario.name == "baseline"
    assert routes["cpc"].share == pytest.approx(0.6)
    assert sum(r.share for r in routes.values()) == pytest.approx(1.0)
    assert cfg.actions["pipeline_halt"].effects.halt["cpc"].severity == pytest.approx(0.25)
    assert cfg.payoffs.actors["russia"].punish == pytest.approx(0.2)
    assert cfg.actions["investment_fund"].users["eu"].scale == pytest.approx(2.0)
    assert cfg.policy.temperature == pytest.approx(0.01)


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        ({"seed": "abc"}, "seed", "Random seed: must be a whole number 0, 1, 2, … (got 'abc')"),
        ({"seed": "-1"}, "seed", "Random seed: must be a whole number 0, 1, 2, … (got '-1')"),
        ({"seed": "1.5"}, "seed", "Random seed: must be a whole number 0, 1, 2, … (got '1.5')"),
        ({"scenario_name": "mars"}, "scenario", "Scenario: unknown scenario 'mars'; allowed:"),
        ({"halt_severity": 1.5}, "halt_severity",
         "How much of the CPC flow a halt stops: must be between 0 % of CPC flow and 100 % of "
         "CPC flow, got 150 % of CPC flow"),
        ({"fund_tr_bn": "x"}, "fund_tr_bn", "Türkiye's investment fund (size of one launch): "
         "must be a number, got 'x'"),
    ],
)
def test_bad_controls_give_one_message_naming_the_control(kwargs: dict, key: str,
                                                          message: str) -> None:
    with pytest.raises(ConfigError) as err:
        SeminarModel(**kwargs)
    assert err.value.key == key
    text = user_message(err.value)
    assert text.startswith(message) and text.endswith("The world was not changed.")
    assert "\n" not in text


def test_seed_box_accepts_whole_numbers() -> None:
    assert parse_seed(" 42 ") == 42 and parse_seed(0) == 0
    assert str(parse_seed("")) == str(parse_seed(None)) == default_values()["seed"]


def test_reset_with_a_bad_seed_keeps_the_world() -> None:
    session = app.Session()
    session.step()
    before = session.model
    messages: list[str] = []
    app.guarded(lambda: session.reset({**default_values(), "seed": "-1"}), messages.append)
    assert session.model is before and session.model.month == 1
    assert messages == ["Random seed: must be a whole number 0, 1, 2, … (got '-1'). The world "
                        "was not changed."]
    app.guarded(lambda: session.reset(default_values()), messages.append)
    assert session.model is not before and messages[-1] == ""
    assert [g.label for g in session.ghosts] == ["Run 1"]


def test_every_control_has_a_label_a_unit_and_its_technical_name() -> None:
    for c in CONTROLS:
        assert c.key in c.tooltip and c.unit and c.lo < c.hi
        assert c.unit in c.show(c.lo)
    assert CONTROL_BY_KEY["fund_tr_bn"].hi == 5.0
    assert CONTROL_BY_KEY["halt_severity"].show(0.3) == "30 % of CPC flow"


def test_a_mid_run_change_applies_from_the_next_month() -> None:
    a, b = SeminarModel(), SeminarModel()
    for _ in range(3):
        a.step()
        b.step()
    mark = a.intervene(temperature=0.05)
    assert mark is not None and mark.month == 3 and mark.date == "2022-04"
    np.testing.assert_array_equal(a.state.alignment, b.state.alignment)  # nothing yet
    assert a.params["temperature"] == 0.05 and a.start_params["temperature"] != 0.05
    a.intervene(temperature=0.04)  # a slider dragged in the same month: one mark
    assert len(a.interventions) == 1 and a.interventions[0].changes[0][2] == 0.04
    for _ in range(12):
        a.step()
        b.step()
    assert not np.array_equal(a.state.alignment, b.state.alignment)
    assert "You changed, from this month" in app.month_html(a, 3)
    assert "★1" in app.axis_chart(a)
    with pytest.raises(ConfigError) as err:
        a.intervene(cpc_share=0.5)
    assert err.value.key == "cpc_share"


def test_a_change_before_the_first_step_is_a_setting_not_an_intervention() -> None:
    m = SeminarModel()
    assert m.intervene(halt_severity=0.2) is None and m.interventions == []
    assert m.start_params["halt_severity"] == 0.2 and "halt 20 %" in m.settings()


def test_views_show_numbers_reasons_events_and_flow() -> None:
    m = SeminarModel(scenario_name="history")
    for _ in range(8):
        m.step()
    status = app.status_html(m)
    assert "2022-09" in status and f"{m.axis:+.3f}" in status and "Russian" in status
    july = app.month_html(m, 6)  # 2022-07: the CPC halt, its description and source
    assert "Event: <b>CPC halt</b>" in july and "(source 000, 001, 002)" in july
    assert "expected payoffs, 2 significant figures" in app.log_html(m)
    assert "✔" in app.log_html(m) and "util" in app.log_html(m)
    # the oil that actually flowed dips in the July 2022 halt; the stacked chart shows it
    total = np.array(m.flows).sum(axis=1)
    assert total[7] < total[6] - 0.3 and "chart-flow" in app.flow_chart(m)
    # the log keeps every month, and filters by actor
    assert all(f"<b>{m.spec.start.plus(t)}</b>" in app.log_html(m) for t in range(8))
    russia = app.month_html(m, 6, "Russia")
    assert "Russia halts" in russia and "Türkiye" not in russia


def test_sig2_has_two_significant_figures() -> None:
    assert [app.sig2(v) for v in (12.345, -0.0031234, 0.0, 1.0)] == ["12", "-0.0031", "0", "1"]


def test_ghost_runs_and_csv() -> None:
    m = SeminarModel()
    for _ in range(3):
        m.step()
    ghost = RunRecord.of(m, 1)
    new = SeminarModel(seed=2)
    new.step()
    svg = app.axis_chart(new, [ghost])
    assert svg.count("class='ghost'") == 1 and "Run 1" in svg
    assert "Run 1</span>: history, seed" in app.ghost_legend_html([ghost])
    rows = list(csv.DictReader(io.StringIO(run_csv(new, [ghost]))))
    assert [r["run"] for r in rows] == ["Run 1"] * 4 + ["Run 2 (current)"] * 2
    assert float(rows[-1]["axis"]) == pytest.approx(new.axis, abs=1e-10)


def test_event_badges_do_not_overlap() -> None:
    f = charts.TimeFrame(SeminarModel().spec.start, 72, (-1, 1))
    marks = [charts.Mark(t, "event", str(i + 1), "e") for i, t in enumerate((0, 1, 2, 4, 5))]
    svg = "".join(charts._badges(f, marks))
    import re

    boxes = [(float(x), float(y), float(w)) for x, y, w in
             re.findall(r"<rect x='([-\d.]+)' y='([-\d.]+)' width='([\d.]+)'", svg)]
    for i, (x1, y1, w1) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1:]:
            assert y1 != y2 or x1 + w1 <= x2 or x2 + w2 <= x1


def test_page_views_for_notebooks(model: SeminarModel) -> None:
    views = app.PageViews(model)
    assert views.render()["axis"][:8] == b"\x89PNG\r\n\x1a\n"
    assert set(views.svg()) == {"Axis", "Spheres", "Oil flow", "Relations"}


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


def test_compare_with_history_overlays_the_recorded_scenario_at_the_same_seed() -> None:
    """The "Compare with history" switch adds the history scenario (default settings, this
    run's seed, run to the end) as a labelled ghost line; it is the ensemble's replicate 0."""
    from alignsim.demo.world import history_record

    session = app.Session()
    session.reset({**default_values(), "scenario_name": "baseline", "seed": "4"})
    session.step()
    assert app.shown_ghosts(session) == []
    session.reference.value = True
    (ghost,) = app.shown_ghosts(session)
    assert ghost.label == "History" and ghost is history_record(4)  # cached per seed
    reference = SeminarModel(scenario_name="history", seed=4)
    for _ in range(reference.spec.months):
        reference.step()
    np.testing.assert_array_equal(ghost.series["axis"], reference.series()["axis"])
    assert len(ghost.series["axis"]) == reference.spec.months + 1
    svg = app.axis_chart(session.model, app.shown_ghosts(session))
    assert svg.count("class='ghost'") == 1 and "History" in svg
    assert "History</span>: history, seed 4" in app.ghost_legend_html([ghost])
