"""Typed configuration schemas.

These dataclasses are the *only* shape of input the model accepts. Hydra registers them in its
ConfigStore (see :mod:`alignsim.config`) so that a wrong type or an unknown key is rejected
when the config is composed; :func:`alignsim.kernel.spec.compile_spec` then checks what types cannot
say (ranges, names that must exist, shares that must sum to one) and turns the config into arrays.

The module imports neither Hydra nor OmegaConf: the kernel and the Mesa driver can be fed a
config built in plain Python (tests, notebooks) exactly as one composed by Hydra.
Units and sources of every default number live in ``conf/``, next to the value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# ----------------------------------------------------------------------------------- world
@dataclass
class SphereConf:
    """A sphere of influence the swing state can align with."""

    label: str = ""
    affinity: float = 0.0  # swing state's cultural affinity to the sphere, index in [0, 1]


@dataclass
class ActorConf:
    """One actor. ``sphere`` is empty for the swing state (it belongs to no sphere)."""

    label: str = ""
    sphere: str | None = None
    trade_share: float = 0.0  # share of the swing state's non-oil trade, fraction
    investment_bn: float = 0.0  # investment stock in the swing state, USD bn
    security: float = 0.0  # security provided to the swing state, index in [0, 1]


@dataclass
class RouteConf:
    """An oil export route of the swing state, running through one actor's territory."""

    label: str = ""
    via: str = ""
    share: float = 0.0  # share of the swing state's oil exports at the start, fraction
    capacity: float = 1.0  # most the route can carry, fraction of exports
    primary: bool = False  # the default route that takes whatever the others cannot
    ceiling: float | None = None  # most capacity it can be built to (ports, tankers); None: none


@dataclass
class RelationConf:
    """A bilateral relation, symmetric, in [-1, 1]."""

    a: str = ""
    b: str = ""
    value: float = 0.0


@dataclass
class DynamicsConf:
    """Rates of the slow structural processes (per month)."""

    capacity_lag_months: float = 12.0
    share_adjustment: float = 0.2
    investment_scale_bn: float = 100.0
    investment_reversion: float = 0.01
    relations_reversion: float = 0.02
    affinity_reversion: float = 0.01
    security_reversion: float = 0.03
    threat_prior: float = 0.02
    threat_learning: float = 0.5
    threat_decay: float = 0.03
    halt_grievance: float = 0.15
    defiance_decay: float = 0.3
    usage_decay: float = 0.1


@dataclass
class WorldConf:
    """Actors, spheres, routes and the initial state of the reference case."""

    name: str = "kazakhstan2022"
    swing_state: str = "kazakhstan"
    spheres: dict[str, SphereConf] = field(default_factory=dict)
    actors: dict[str, ActorConf] = field(default_factory=dict)
    routes: dict[str, RouteConf] = field(default_factory=dict)
    relations: list[RelationConf] = field(default_factory=list)
    initial_alignment: dict[str, float] = field(default_factory=dict)
    axis_positive: str = "turkic"  # the headline axis is w[axis_positive] - w[axis_negative]
    axis_negative: str = "russian"
    oil_exports_mt_per_year: float = 70.0
    oil_revenue_bn_per_month: float = 3.0
    dynamics: DynamicsConf = field(default_factory=DynamicsConf)


# --------------------------------------------------------------------------------- actions
@dataclass
class RelationDelta:
    """Change of a bilateral relation. ``a``/``b`` may be ``self`` (the user) or ``swing``."""

    a: str = ""
    b: str = ""
    delta: float = 0.0


@dataclass
class HaltConf:
    """Stoppage of a route: how many months and what fraction of its flow."""

    months: float = 1.0
    severity: float = 1.0


@dataclass
class EffectsConf:
    """What an action or an event does to the state (additive changes, except halts).

    Actor keys may be ``self`` (the actor using the action) or ``swing`` (the swing state);
    sphere keys may be ``self`` (the user's sphere).
    """

    relations: list[RelationDelta] = field(default_factory=list)
    affinity: dict[str, float] = field(default_factory=dict)
    investment_bn: dict[str, float] = field(default_factory=dict)
    security: dict[str, float] = field(default_factory=dict)
    capacity: dict[str, float] = field(default_factory=dict)
    threat: dict[str, float] = field(default_factory=dict)
    defiance: float = 0.0
    halt: dict[str, HaltConf] = field(default_factory=dict)


@dataclass
class UseConf:
    """How one actor uses an action: its cost (utility units) and a scale on the effects."""

    cost: float = 0.0
    scale: float = 1.0


@dataclass
class ActionConf:
    """A leverage action of the catalogue."""

    label: str = ""
    narration: str = ""
    punitive: bool = False
    repeat_cost: float = 0.0
    users: dict[str, UseConf] = field(default_factory=dict)
    effects: EffectsConf = field(default_factory=EffectsConf)


# --------------------------------------------------------------------------------- payoffs
@dataclass
class AlignmentConf:
    """How the swing state values each sphere and how fast its alignment moves."""

    econ: float = 1.0
    security: float = 1.0
    affinity: float = 1.0
    relations: float = 1.0
    exposure: float = 2.0
    temperature: float = 1.5
    inertia: float = 0.05
    hedging: float = 2.0
    at_rest: bool = True


@dataclass
class ActorPayoffConf:
    """Weights of one actor's utility; a weight of zero switches a term off."""

    align: float = 0.0
    utility: float = 0.0
    autonomy: float = 0.0
    sovereignty: float = 0.0
    revenue: float = 0.0
    exposure: float = 0.0
    transit: float = 0.0
    relations: float = 0.0
    punish: float = 0.0
    cost: float = 1.0


@dataclass
class PayoffsConf:
    name: str = "default"
    alignment: AlignmentConf = field(default_factory=AlignmentConf)
    actors: dict[str, ActorPayoffConf] = field(default_factory=dict)
    # a file of posterior draws (conf/payoffs/posterior.yaml; relative paths: to the working
    # folder or conf/): replicate r takes draw r mod n (alignsim.validation.posterior); "" = none
    draws: str = ""


# ---------------------------------------------------------------------------------- policy
@dataclass
class ActorPolicyConf:
    """Per-actor override of the decision rule (empty fields inherit the global ones)."""

    rule: str | None = None
    temperature: float | None = None
    horizon: int | None = None  # months this actor looks ahead; None: policy.horizon


@dataclass
class PolicyConf:
    """The decision rule every actor uses unless overridden in ``actors``."""

    rule: str = "logit"
    temperature: float = 0.005
    temperature_scale: str = "absolute"
    horizon: int = 1
    discount: float = 0.9
    recency: float = 0.1
    qre_lambda: float = 50.0
    actors: dict[str, ActorPolicyConf] = field(default_factory=dict)


# -------------------------------------------------------------------------------- scenario
@dataclass
class EventConf:
    """A dated exogenous event: shocks to the state and actions it forces."""

    date: str = ""
    name: str = ""
    source: str = ""
    description: str = ""
    forced: dict[str, str] = field(default_factory=dict)
    effects: EffectsConf = field(default_factory=EffectsConf)


@dataclass
class ScenarioConf:
    name: str = "baseline"
    start: str = "2022-01"
    description: str = ""
    events: list[EventConf] = field(default_factory=list)


# ---------------------------------------------------------------------------------- output
@dataclass
class OutputConf:
    timeseries: bool = True
    figure: bool = True
    summary: bool = True


@dataclass
class Config:
    """The whole run: the world, its actions, payoffs, decision rule and scenario."""

    seed: int = 20220101
    replicates: int = 200
    months: int = 72
    progress: bool = True
    world: WorldConf = field(default_factory=WorldConf)
    actions: dict[str, ActionConf] = field(default_factory=dict)
    payoffs: PayoffsConf = field(default_factory=PayoffsConf)
    policy: PolicyConf = field(default_factory=PolicyConf)
    scenario: ScenarioConf = field(default_factory=ScenarioConf)
    output: OutputConf = field(default_factory=OutputConf)
    experiment: Any = None  # filled by ``+experiment=NAME`` (sweep presets, conf/experiment/)
    validation: Any = None  # filled by ``+validation=NAME`` (alignsim-validate, conf/validation/)
    sensitivity: Any = None  # filled by ``+sensitivity=NAME`` (alignsim-sensitivity)
