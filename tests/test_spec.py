"""compile_spec: names resolved to arrays, and every check types cannot express.

Error cases mutate a private copy of the composed Config dataclass (as a notebook would) and expect
a ConfigError naming the key; the same checks seen through the CLI are in test_cli.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from omegaconf.errors import ValidationError

from alignsim.config import compose_config
from alignsim.kernel.calendar import Month
from alignsim.kernel.schema import EventConf, RelationConf, RelationDelta, UseConf
from alignsim.kernel.spec import ConfigError, compile_spec


# ------------------------------------------------------------------------------ structure
def test_default_spec_names_and_shapes(default_spec) -> None:
    s = default_spec
    assert s.actors == ("kazakhstan", "russia", "azerbaijan", "turkiye", "china", "eu")
    assert s.spheres == ("russian", "turkic", "chinese", "western")
    assert s.routes == ("cpc", "atyrau_samara", "middle_corridor", "china_east")
    assert s.actions[0] == "none"
    assert set(s.actions) == {
        "none", "pipeline_halt", "recognition_refusal", "investment_fund",
        "route_diversification", "security_guarantee", "summit", "sanctions_compliance",
        "turkic_format", "balancing_visit", "neutral_mediation",
    }
    n, a, k = s.n_actors, s.n_actions, s.n_routes
    assert s.actors[s.swing] == "kazakhstan"
    assert s.allowed.shape == s.cost.shape == (n, a)
    assert s.effects.shape == (n, a, s.layout.size)
    assert s.forced.shape == (s.months, n)
    assert s.event_effects.shape == (s.months, s.layout.size)
    assert s.start == Month(2022, 1) and s.months == 72
    assert s.routes[s.primary_route] == "cpc"
    assert [s.actors[i] for i in s.route_via] == ["russia", "russia", "azerbaijan", "china"]
    assert s.actor_sphere[s.swing] == -1
    assert s.membership.sum(axis=0)[s.swing] == 0  # the swing state belongs to no sphere
    np.testing.assert_allclose(s.membership.sum(axis=0)[np.arange(n) != s.swing], 1.0)
    assert s.layout.size == n * n + 4 + n + n + k + n + 1 + k + k


def test_initial_state_arrays_on_their_simplexes(default_spec) -> None:
    s = default_spec
    assert s.alignment0.sum() == pytest.approx(1.0)
    assert s.share0.sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(s.relations0, s.relations0.T)
    assert np.all(np.diag(s.relations0) == 0)
    i, j = s.actor_index("kazakhstan"), s.actor_index("russia")
    assert s.relations0[i, j] == pytest.approx(0.60)
    # trade by sphere = members' trade shares
    assert s.trade[s.spheres.index("turkic")] == pytest.approx(0.01 + 0.04)


def test_allowed_and_cost_follow_the_users_lists(default_spec) -> None:
    s = default_spec
    assert s.allowed[:, 0].all()  # 'none' is open to everyone, for free
    assert np.all(s.cost[:, 0] == 0)
    halt = s.action_index("pipeline_halt")
    assert [s.actors[i] for i in np.flatnonzero(s.allowed[:, halt])] == ["russia"]
    assert s.cost[s.actor_index("russia"), halt] == pytest.approx(0.30)
    assert s.punitive[halt] and s.punitive.sum() == 1
    refusal = s.action_index("recognition_refusal")
    assert [s.actors[i] for i in np.flatnonzero(s.allowed[:, refusal])] == ["kazakhstan"]
    # costs of actions an actor may not use are zero and never used (q = -inf there)
    assert np.all(s.cost[~s.allowed] == 0)


def test_effect_vectors_resolve_self_swing_and_scale(default_spec) -> None:
    s = default_spec
    sl = s.layout.slices
    n = s.n_actors
    kz, ru, az = (s.actor_index(a) for a in ("kazakhstan", "russia", "azerbaijan"))
    halt = s.effects[ru, s.action_index("pipeline_halt")]
    cpc = s.routes.index("cpc")
    assert halt[sl["halt_months"]][cpc] == 1.0 and halt[sl["halt_load"]][cpc] == 1.0
    rel = halt[sl["relations"]].reshape(n, n)
    assert rel[ru, kz] == rel[kz, ru] == pytest.approx(-0.05)  # self -> russia, swing -> kz
    fund = s.action_index("investment_fund")
    # scale multiplies additive effects: Azerbaijan's fund is USD 0.15 bn on its own stock
    inv = s.effects[az, fund][sl["investment"]]
    assert inv[az] == pytest.approx(0.15) and inv.sum() == pytest.approx(0.15)
    rel_az = s.effects[az, fund][sl["relations"]].reshape(n, n)
    assert rel_az[az, kz] == pytest.approx(0.02 * 0.15)
    summit = s.action_index("summit")
    aff = s.effects[az, summit][sl["affinity"]]
    assert aff[s.spheres.index("turkic")] == pytest.approx(0.01 * 0.6)
    assert np.count_nonzero(aff) == 1


def test_history_events_are_compiled_to_their_months(default_spec) -> None:
    s = default_spec
    t = Month(2022, 7).index_from(s.start)
    ru = s.actor_index("russia")
    assert s.forced[t, ru] == s.action_index("pipeline_halt")
    assert "CPC halt" in s.event_names[t]
    assert s.forced[0, ru] == s.action_index("security_guarantee")
    assert s.forced[Month(2022, 6).index_from(s.start), s.swing] == s.action_index(
        "recognition_refusal"
    )
    # months without an event have no shock and no forced action
    free = [t for t, names in enumerate(s.event_names) if not names]
    assert free and np.all(s.event_effects[free] == 0) and np.all(s.forced[free] == -1)
    sl = s.layout.slices
    mc = s.routes.index("middle_corridor")
    nov = Month(2022, 11).index_from(s.start)
    assert s.event_effects[nov][sl["capacity"]][mc] == pytest.approx(0.012)
    assert s.event_effects[nov][sl["defiance"]][0] == pytest.approx(0.5)


def test_baseline_scenario_has_no_events(baseline_spec) -> None:
    assert np.all(baseline_spec.forced == -1)
    assert np.all(baseline_spec.event_effects == 0)


def test_per_actor_policy_overrides() -> None:
    spec = compile_spec(compose_config(["policy=mixed"]))
    rules = dict(zip(spec.actors, spec.rules, strict=True))
    assert rules["kazakhstan"] == "roth_erev"
    assert rules["russia"] == "best_response"
    assert rules["eu"] == "fictitious_play"
    assert rules["china"] == "logit"


def test_compose_config_applies_overrides() -> None:
    cfg = compose_config(["replicates=7", "months=12", "scenario=baseline", "seed=3",
                          "policy.actors.russia.rule=best_response"])
    assert (cfg.replicates, cfg.months, cfg.seed, cfg.scenario.name) == (7, 12, 3, "baseline")
    spec = compile_spec(cfg)
    assert spec.months == 12
    assert dict(zip(spec.actors, spec.rules, strict=True))["russia"] == "best_response"
    assert set(spec.rules) == {"logit", "best_response"}


def test_compose_config_rejects_bad_types_and_unknown_keys() -> None:
    with pytest.raises(Exception) as info:
        compose_config(["payoffs.alignment.inertia=high"])
    assert isinstance(info.value.__cause__, ValidationError) or isinstance(
        info.value, ValidationError
    )
    with pytest.raises(ConfigError) as unknown:
        compose_config(["+payoffs.actors.russia.punsh=1"])
    assert unknown.value.key == "payoffs.actors.russia.punsh"


# ------------------------------------------------------------------------------- errors
def _mutators():
    """(id, function mutating a Config copy, expected key, fragment of the message)."""

    def neg_cost(c):
        c.actions["pipeline_halt"].users["russia"].cost = -0.1

    def routes_not_one(c):
        c.world.routes["cpc"].share = 0.5

    def threat_prior(c):
        c.world.dynamics.threat_prior = 1.5

    def alignment_not_one(c):
        c.world.initial_alignment["russian"] = 0.6

    def alignment_unknown_sphere(c):
        c.world.initial_alignment["martian"] = 0.0

    def unknown_user(c):
        c.actions["summit"].users["mars"] = UseConf(cost=0.1)

    def unknown_forced_actor(c):
        c.scenario.events[0].forced["mars"] = "summit"

    def unknown_forced_action(c):
        c.scenario.events[0].forced["russia"] = "invasion"

    def forced_not_allowed(c):
        c.scenario.events[0].forced["kazakhstan"] = "pipeline_halt"

    def event_after_run(c):
        c.scenario.events[0].date = "2031-01"

    def event_before_run(c):
        c.scenario.events[0].date = "2021-12"

    def event_bad_month(c):
        c.scenario.events[0].date = "2022-13"

    def bad_start(c):
        c.scenario.start = "January"

    def unknown_rule(c):
        c.policy.rule = "tit_for_tat"

    def unknown_actor_rule(c):
        from alignsim.kernel.schema import ActorPolicyConf

        c.policy.actors["russia"] = ActorPolicyConf(rule="tit_for_tat")

    def policy_unknown_actor(c):
        from alignsim.kernel.schema import ActorPolicyConf

        c.policy.actors["mars"] = ActorPolicyConf(rule="logit")

    def payoff_unknown_actor(c):
        from alignsim.kernel.schema import ActorPayoffConf

        c.payoffs.actors["mars"] = ActorPayoffConf()

    def negative_temperature(c):
        c.policy.temperature = -1.0

    def inertia_above_one(c):
        c.payoffs.alignment.inertia = 1.5

    def nan_weight(c):
        c.payoffs.alignment.econ = float("nan")

    def two_primaries(c):
        c.world.routes["middle_corridor"].primary = True

    def route_via_swing(c):
        c.world.routes["middle_corridor"].via = "kazakhstan"

    def swing_with_sphere(c):
        c.world.actors["kazakhstan"].sphere = "turkic"

    def actor_unknown_sphere(c):
        c.world.actors["china"].sphere = "martian"

    def relation_self(c):
        c.world.relations.append(RelationConf(a="russia", b="russia", value=0.1))

    def relation_range(c):
        c.world.relations[0].value = 1.5

    def none_with_users(c):
        c.actions["none"].users["russia"] = UseConf()

    def no_none(c):
        del c.actions["none"]

    def effect_unknown_route(c):
        c.actions["route_diversification"].effects.capacity["caspian_sea"] = 0.1

    def self_in_event(c):
        c.scenario.events[0].effects.relations.append(RelationDelta(a="self", b="swing",
                                                                    delta=0.1))

    def halt_severity(c):
        c.actions["pipeline_halt"].effects.halt["cpc"].severity = 2.0

    def zero_months(c):
        c.months = 0

    def unknown_swing(c):
        c.world.swing_state = "uzbekistan"

    def trade_over_one(c):
        c.world.actors["eu"].trade_share = 0.9

    def capacity_lag(c):
        c.world.dynamics.capacity_lag_months = 0.5

    return [
        ("negative cost", neg_cost, "actions.pipeline_halt.users.russia.cost", ">= 0"),
        ("route shares", routes_not_one, "world.routes.*.share", "sum to 1"),
        ("probability > 1", threat_prior, "world.dynamics.threat_prior", "<= 1"),
        ("alignment sum", alignment_not_one, "world.initial_alignment", "sum to 1"),
        ("alignment sphere", alignment_unknown_sphere, "world.initial_alignment.martian",
         "unknown sphere"),
        ("unknown user", unknown_user, "actions.summit.users.mars", "unknown actor 'mars'"),
        ("forced actor", unknown_forced_actor, "scenario.events[0].forced.mars",
         "unknown actor 'mars'"),
        ("forced action", unknown_forced_action, "scenario.events[0].forced.russia",
         "unknown action 'invasion'"),
        ("forced not allowed", forced_not_allowed, "scenario.events[0].forced.kazakhstan",
         "may not use 'pipeline_halt'"),
        ("event after run", event_after_run, "scenario.events[0].date", "outside the run"),
        ("event before run", event_before_run, "scenario.events[0].date", "outside the run"),
        ("event month 13", event_bad_month, "scenario.events[0].date", "no month 13"),
        ("bad start", bad_start, "scenario.start", "not a date"),
        ("unknown rule", unknown_rule, "policy.rule", "unknown decision rule"),
        ("unknown actor rule", unknown_actor_rule, "policy.actors.russia.rule",
         "unknown decision rule"),
        ("policy actor", policy_unknown_actor, "policy.actors.mars", "unknown actor"),
        ("payoff actor", payoff_unknown_actor, "payoffs.actors.mars", "unknown actor"),
        ("temperature", negative_temperature, "policy.temperature", ">="),
        ("inertia", inertia_above_one, "payoffs.alignment.inertia", "<= 1"),
        ("nan", nan_weight, "payoffs.alignment.econ", "finite"),
        ("two primaries", two_primaries, "world.routes.*.primary", "exactly one"),
        ("route via swing", route_via_swing, "world.routes.middle_corridor.via", "unknown actor"),
        ("swing sphere", swing_with_sphere, "world.actors.kazakhstan.sphere", "no sphere"),
        ("actor sphere", actor_unknown_sphere, "world.actors.china.sphere", "unknown sphere"),
        ("relation self", relation_self, "world.relations[15]", "two different actors"),
        ("relation range", relation_range, "world.relations[0].value", "<= 1"),
        ("none users", none_with_users, "actions.none", "no users"),
        ("no none", no_none, "actions", "'none'"),
        ("effect route", effect_unknown_route,
         "actions.route_diversification.effects.capacity.caspian_sea", "unknown route"),
        ("self in event", self_in_event, "scenario.events[0].effects.relations[0].a", "'self'"),
        ("halt severity", halt_severity, "actions.pipeline_halt.effects.halt.cpc.severity",
         "<= 1"),
        ("months", zero_months, "months", ">= 1"),
        ("swing", unknown_swing, "world.swing_state", "unknown actor"),
        ("trade", trade_over_one, "world.actors.*.trade_share", "sum to <= 1"),
        ("capacity lag", capacity_lag, "world.dynamics.capacity_lag_months", ">= 1"),
    ]


@pytest.mark.parametrize(
    ("mutate", "key", "fragment"),
    [pytest.param(m, k, f, id=i) for i, m, k, f in _mutators()],
)
def test_compile_spec_rejects_bad_input_naming_the_key(make_config, mutate, key, fragment):
    cfg = make_config()
    mutate(cfg)
    with pytest.raises(ConfigError) as info:
        compile_spec(cfg)
    err = info.value
    assert err.key == key
    assert fragment in err.message
    assert str(err) == f"{key}: {err.message}"
    assert "\n" not in str(err)


def test_compile_spec_does_not_touch_the_config(make_config) -> None:
    cfg = make_config()
    before = dataclasses.asdict(cfg)
    compile_spec(cfg)
    assert dataclasses.asdict(cfg) == before


def test_forced_event_adds_the_events_effects(make_config) -> None:
    cfg = make_config(months=48)
    cfg.scenario.events.append(EventConf(date="2023-02", name="test", forced={"china": "summit"}))
    spec = compile_spec(cfg)
    t = Month(2023, 2).index_from(spec.start)
    assert spec.forced[t, spec.actor_index("china")] == spec.action_index("summit")
    assert spec.event_names[t] == ("test",)


def test_spec_is_frozen(default_spec) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        default_spec.months = 3  # type: ignore[misc]
    short = dataclasses.replace(default_spec, months=3)
    assert short.months == 3 and default_spec.months == 72
