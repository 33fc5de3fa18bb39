"""A tiny world for hand-checked tests: small enough to compute every number by hand.

Not a test module (no ``test_`` prefix): the ``test_handchecked_*`` files import it. The world is
built from the schema dataclasses in plain Python (no Hydra), so it does not change when
``conf/`` does.

- actors: ``k`` (the swing state), ``r`` (sphere ``east``), ``t`` (sphere ``west``), and with
  ``three_spheres=True`` also ``c`` (sphere ``south``). A swing state plus two powers is the
  smallest world ``compile_spec`` accepts: every sphere needs a member, and the headline axis
  needs two different spheres (``west − east``).
- routes: ``north`` via ``r`` (share 0.7, capacity 1.0, primary), ``south`` via ``t`` (share 0.3,
  capacity 0.3).
- relations: k–r 0.5, k–t 0.3, r–t 0.2 (k–c 0.0, unlisted).
- every rate of ``world.dynamics`` and every payoff weight is 0 unless a test sets it, so each
  test switches on exactly the term it checks.
"""

from __future__ import annotations

from alignsim.kernel.schema import (
    ActionConf,
    ActorConf,
    ActorPayoffConf,
    AlignmentConf,
    Config,
    DynamicsConf,
    EffectsConf,
    EventConf,
    HaltConf,
    OutputConf,
    PayoffsConf,
    PolicyConf,
    RelationConf,
    RelationDelta,
    RouteConf,
    ScenarioConf,
    SphereConf,
    UseConf,
    WorldConf,
)

ZERO_DYNAMICS = dict(
    capacity_lag_months=1.0,
    share_adjustment=0.0,
    investment_scale_bn=100.0,
    investment_reversion=0.0,
    relations_reversion=0.0,
    affinity_reversion=0.0,
    security_reversion=0.0,
    threat_prior=0.1,
    threat_learning=0.0,
    threat_decay=0.0,
    halt_grievance=0.0,
    defiance_decay=0.0,
)

ZERO_ALIGNMENT = dict(econ=0.0, security=0.0, affinity=0.0, relations=0.0, exposure=0.0,
                      temperature=1.0, inertia=0.0, hedging=0.0, at_rest=False)


def default_actions() -> dict[str, ActionConf]:
    """``none``; ``halt`` (r: north 1 month at severity 0.5, punitive, cost 0.1);
    ``warm`` (r: relation swing–t +0.1, cost 0.02); ``summit`` (t, and c if present: no effect,
    cost 0.05)."""
    return {
        "none": ActionConf(label="none"),
        "halt": ActionConf(
            punitive=True,
            users={"r": UseConf(cost=0.1, scale=1.0)},
            effects=EffectsConf(halt={"north": HaltConf(months=1.0, severity=0.5)}),
        ),
        "warm": ActionConf(
            users={"r": UseConf(cost=0.02, scale=1.0)},
            effects=EffectsConf(relations=[RelationDelta(a="swing", b="t", delta=0.1)]),
        ),
        "summit": ActionConf(users={"t": UseConf(cost=0.05, scale=1.0)}),
    }


def tiny_config(
    *,
    dynamics: dict | None = None,
    alignment: dict | None = None,
    payoffs: dict[str, dict] | None = None,
    actions: dict[str, ActionConf] | None = None,
    events: list[EventConf] | None = None,
    rule: str = "best_response",
    recency: float = 0.3,
    temperature: float = 0.5,
    months: int = 12,
    start: str = "2022-01",
    three_spheres: bool = False,
) -> Config:
    spheres = {"east": SphereConf(affinity=0.5), "west": SphereConf(affinity=0.2)}
    actors = {
        "k": ActorConf(sphere=None),
        "r": ActorConf(sphere="east", trade_share=0.3, investment_bn=10.0, security=0.4),
        "t": ActorConf(sphere="west", trade_share=0.1, investment_bn=5.0, security=0.2),
    }
    initial = {"east": 0.6, "west": 0.4}
    acts = actions if actions is not None else default_actions()
    if three_spheres:
        spheres["south"] = SphereConf(affinity=0.1)
        actors["c"] = ActorConf(sphere="south", trade_share=0.05)
        initial = {"east": 0.5, "west": 0.3, "south": 0.2}
        if "summit" in acts:
            acts["summit"].users = {"r": UseConf(cost=0.01), "t": UseConf(cost=0.05),
                                    "c": UseConf(cost=0.01)}
    world = WorldConf(
        name="tiny",
        swing_state="k",
        spheres=spheres,
        actors=actors,
        routes={
            "north": RouteConf(via="r", share=0.7, capacity=1.0, primary=True),
            "south": RouteConf(via="t", share=0.3, capacity=0.3),
        },
        relations=[
            RelationConf(a="k", b="r", value=0.5),
            RelationConf(a="k", b="t", value=0.3),
            RelationConf(a="r", b="t", value=0.2),
        ],
        initial_alignment=initial,
        axis_positive="west",
        axis_negative="east",
        dynamics=DynamicsConf(**{**ZERO_DYNAMICS, **(dynamics or {})}),
    )
    zero_weights = dict(align=0.0, utility=0.0, autonomy=0.0, sovereignty=0.0, revenue=0.0,
                        exposure=0.0, transit=0.0, relations=0.0, punish=0.0, cost=1.0)
    weights = {name: ActorPayoffConf(**{**zero_weights, **(payoffs or {}).get(name, {})})
               for name in actors}
    return Config(
        seed=5,
        replicates=1,
        months=months,
        progress=False,
        world=world,
        actions=acts,
        payoffs=PayoffsConf(name="tiny", alignment=AlignmentConf(**{**ZERO_ALIGNMENT,
                                                                    **(alignment or {})}),
                            actors=weights),
        policy=PolicyConf(rule=rule, temperature=temperature, recency=recency, qre_lambda=4.0),
        scenario=ScenarioConf(name="tiny", start=start, events=list(events or [])),
        output=OutputConf(timeseries=False, figure=False, summary=False),
    )
