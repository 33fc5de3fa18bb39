"""Compile a validated :class:`~alignsim.kernel.schema.Config` into the arrays the kernel runs on.

Why a compile step: the kernel is vectorised over replicates and must not look names up while it
runs. Everything named in config (actors, spheres, routes, actions, dates) is resolved here once,
to integer indices and dense tables, and every check the type system cannot express is made here,
raising :class:`ConfigError` that names the offending key and what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from alignsim.kernel.calendar import Month, parse_month
from alignsim.kernel.policies import RULES, TEMPERATURE_SCALES
from alignsim.kernel.schema import (
    ActionConf,
    Config,
    EffectsConf,
    PayoffsConf,
    PolicyConf,
    RouteConf,
    ScenarioConf,
    WorldConf,
)

SHARE_TOL = 1e-6


class ConfigError(ValueError):
    """Invalid input: ``key`` is the dotted config key, ``message`` says what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def _allowed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


@dataclass(frozen=True)
class Layout:
    """Positions of each state field inside a flat effect vector.

    Actions and events are compiled to vectors in this layout so that a joint action's effect is a
    gather-and-sum over a table, the same for one replicate or thousands.
    """

    n_actors: int
    n_spheres: int
    n_routes: int

    def _sizes(self) -> list[tuple[str, int]]:
        n, s, k = self.n_actors, self.n_spheres, self.n_routes
        return [
            ("relations", n * n),
            ("affinity", s),
            ("investment", n),
            ("security", n),
            ("capacity", k),
            ("threat", n),
            ("defiance", 1),
            ("halt_months", k),
            ("halt_load", k),
        ]

    @cached_property
    def slices(self) -> dict[str, slice]:  # read on every transition: computed once
        out, start = {}, 0
        for name, size in self._sizes():
            out[name] = slice(start, start + size)
            start += size
        return out

    @property
    def size(self) -> int:
        return sum(size for _, size in self._sizes())


@dataclass(frozen=True)
class Spec:
    """Everything the kernel needs, as arrays and index maps (read-only by convention)."""

    actors: tuple[str, ...]
    actor_labels: tuple[str, ...]
    spheres: tuple[str, ...]
    sphere_labels: tuple[str, ...]
    routes: tuple[str, ...]
    route_labels: tuple[str, ...]
    actions: tuple[str, ...]
    action_labels: tuple[str, ...]
    narrations: tuple[str, ...]
    swing: int
    actor_sphere: np.ndarray  # (N,) int, -1 for the swing state
    membership: np.ndarray  # (S, N) float, 1 where actor n belongs to sphere s
    route_via: np.ndarray  # (K,) int actor index
    route_membership: np.ndarray  # (S, K) float, 1 where route k runs through sphere s
    route_actor: np.ndarray  # (N, K) float, 1 where route k runs through actor n
    primary_route: int
    trade: np.ndarray  # (S,) non-oil trade share by sphere
    # initial state
    alignment0: np.ndarray
    share0: np.ndarray
    capacity0: np.ndarray
    investment0: np.ndarray
    security0: np.ndarray
    relations0: np.ndarray
    affinity0: np.ndarray
    # dynamics and alignment parameters (scalars, floats)
    dyn: dict[str, float]
    align: dict[str, float]
    # payoff weights, (N,) each
    weights: dict[str, np.ndarray]
    # actions
    allowed: np.ndarray  # (N, A) bool
    cost: np.ndarray  # (N, A) utility units (already times the actor's cost weight)
    punitive: np.ndarray  # (A,) bool
    effects: np.ndarray  # (N, A, D) flat effect vectors
    layout: Layout
    # decision rules
    rules: tuple[str, ...]  # (N,) rule name per actor
    temperature: np.ndarray  # (N,)
    recency: float
    qre_lambda: float
    # calendar and scenario
    start: Month
    months: int
    event_effects: np.ndarray  # (T, D) shocks applied during step t+1
    forced: np.ndarray  # (T, N) int action index, -1 = free choice
    event_names: tuple[tuple[str, ...], ...]  # (T,) names of the events of each month
    oil_exports_mt_per_year: float = 70.0
    oil_revenue_bn_per_month: float = 3.0
    axis_pair: tuple[int, int] = (1, 0)  # (positive, negative) sphere of the headline axis
    temperature_scale: str = "absolute"  # "spread": temperatures are relative to payoff spreads
    ceiling: np.ndarray | None = None  # (K,) most capacity each route can be built to; inf: none
    horizon: int = 1  # months an actor looks ahead when it values an action (the default)
    horizons: np.ndarray | None = None  # (N,) int, actors' own horizons; 0 (or None): `horizon`
    discount: float = 0.9  # per month, for the look-ahead
    repeat_cost: np.ndarray | None = None  # (A,) cost added per remembered use, fraction
    extra: dict = field(default_factory=dict)

    @property
    def n_actors(self) -> int:
        return len(self.actors)

    @property
    def n_spheres(self) -> int:
        return len(self.spheres)

    @property
    def n_routes(self) -> int:
        return len(self.routes)

    @property
    def n_actions(self) -> int:
        return len(self.actions)

    def actor_index(self, name: str) -> int:
        return self.actors.index(name)

    def action_index(self, name: str) -> int:
        return self.actions.index(name)

    def sphere_of(self, actor: int) -> int:
        return int(self.actor_sphere[actor])

    def axis_of(self, alignment: np.ndarray) -> np.ndarray:
        """The headline axis ``w[axis_positive] - w[axis_negative]`` of alignments ``(..., S)``."""
        pos, neg = self.axis_pair
        return alignment[..., pos] - alignment[..., neg]


def actor_horizons(spec: Spec) -> np.ndarray:
    """Each actor's look-ahead in months ``(N,)`` (``policy.actors.<i>.horizon`` or the default)."""
    default = np.full(spec.n_actors, int(spec.horizon), dtype=np.int64)
    if spec.horizons is None:
        return default
    own = np.asarray(spec.horizons, dtype=np.int64)
    return np.where(own > 0, own, default)



# --------------------------------------------------------------------------------- checks
def _check_range(key: str, value: float, lo: float | None, hi: float | None) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not np.isfinite(value):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    if lo is not None and value < lo:
        raise ConfigError(key, f"must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(key, f"must be <= {hi}, got {value}")
    return float(value)


def _check_name(key: str, name: str, allowed: Iterable[str], what: str) -> str:
    allowed = list(allowed)
    if name not in allowed:
        raise ConfigError(key, f"unknown {what} {name!r}; allowed: {_allowed(allowed)}")
    return name


# world.dynamics fields that are rates or probabilities per month, each in [0, 1]
DYNAMICS_RATES = (
    "share_adjustment",
    "investment_reversion",
    "relations_reversion",
    "affinity_reversion",
    "security_reversion",
    "threat_prior",
    "threat_learning",
    "threat_decay",
    "halt_grievance",
    "defiance_decay",
    "usage_decay",
)

PAYOFF_TERMS = (
    "align",
    "utility",
    "autonomy",
    "sovereignty",
    "revenue",
    "exposure",
    "transit",
    "relations",
    "punish",
    "cost",
)


def rebalanced_routes(
    routes: Mapping[str, RouteConf], route: str, share: float, balance: str, key: str
) -> dict[str, float]:
    """Set one route's starting share, the ``balance`` route taking the difference.

    Returns the dotted settings under ``world.routes`` (``"<route>.share"``, ``"<balance>.share"``,
    ``"<balance>.capacity"``) so that callers can apply them to a config or turn them into Hydra
    overrides (the sweep presets, the seminar page). The balancing route's capacity is set to its
    new share: the route dynamics fill alternatives up to capacity, so a larger capacity would
    pull the shares straight back toward the configured ones.
    """
    _check_name(f"{key}.route", route, routes, "route")
    _check_name(f"{key}.balance", balance, [r for r in routes if r != route], "route")
    pool = routes[route].share + routes[balance].share
    value = _check_range(key, share, 0.0, None)
    if value > pool + SHARE_TOL:
        raise ConfigError(key, f"must be <= {pool:g} ({route} + {balance} at the start), "
                               f"got {value:g}")
    rest = max(pool - value, 0.0)
    return {f"{route}.share": value, f"{balance}.share": rest, f"{balance}.capacity": rest}


def compile_spec(cfg: Config) -> Spec:
    """Check ``cfg`` and compile it. Raises :class:`ConfigError` on the first problem found.

    A short sequence of named steps, in the order a reader meets the config: the run settings,
    the world (actors and spheres, alignment, routes, relations, dynamics), the payoffs, the
    action catalogue (costs are weighted by the payoffs' cost weights), the decision rules and
    the scenario's dated events (which may force catalogue actions).
    """
    _check_run(cfg)
    world = _compile_world(cfg.world)
    payoffs = _compile_payoffs(cfg.payoffs, world.names.actors)
    actions = _compile_actions(cfg.actions, world, payoffs["weights"])
    policy = _compile_policy(cfg.policy, world.names.actors)
    scenario = _compile_scenario(cfg.scenario, int(cfg.months), world, actions)
    return Spec(**world.fields, **payoffs, **actions, **policy, **scenario)


def _check_run(cfg: Config) -> None:
    """The run settings: how many replicates and months, and the seed."""
    _check_range("replicates", cfg.replicates, 1, 10_000_000)
    _check_range("months", cfg.months, 1, 1200)
    _check_range("seed", cfg.seed, 0, 2**63 - 1)


@dataclass(frozen=True)
class _World:
    """The compiled world: the names later steps resolve against, and its :class:`Spec` fields."""

    names: _Names
    layout: Layout
    fields: dict[str, Any]


def _compile_world(w: WorldConf) -> _World:
    """Actors and spheres, the initial alignment and axis, routes, relations and dynamics."""
    actors, spheres, swing, actor_sphere, membership = _actors_and_spheres(w)
    routes = _routes(w, actors, swing, membership)
    names = _Names(actors, spheres, tuple(w.routes), swing, actor_sphere)
    fields: dict[str, Any] = dict(
        actors=actors,
        actor_labels=tuple(a.label or n for n, a in w.actors.items()),
        spheres=spheres,
        sphere_labels=tuple(s.label or n for n, s in w.spheres.items()),
        route_labels=tuple(r.label or n for n, r in w.routes.items()),
        swing=swing,
        actor_sphere=actor_sphere,
        membership=membership,
        trade=membership @ np.array([a.trade_share for a in w.actors.values()]),
        alignment0=_initial_alignment(w, spheres),
        investment0=np.array([a.investment_bn for a in w.actors.values()], dtype=float),
        security0=np.array([a.security for a in w.actors.values()], dtype=float),
        relations0=_relations(w, actors),
        affinity0=np.array([s.affinity for s in w.spheres.values()], dtype=float),
        dyn=_dynamics(w),
        oil_exports_mt_per_year=float(w.oil_exports_mt_per_year),
        oil_revenue_bn_per_month=float(w.oil_revenue_bn_per_month),
        axis_pair=(spheres.index(w.axis_positive), spheres.index(w.axis_negative)),
        **routes,
    )
    layout = Layout(len(actors), len(spheres), len(w.routes))
    return _World(names=names, layout=layout, fields=fields)


def _actors_and_spheres(
    w: WorldConf,
) -> tuple[tuple[str, ...], tuple[str, ...], int, np.ndarray, np.ndarray]:
    """Names, the swing state, each actor's sphere and the membership table ``(S, N)``."""
    spheres = tuple(w.spheres)
    if not spheres:
        raise ConfigError("world.spheres", "at least one sphere is required")
    actors = tuple(w.actors)
    _check_name("world.swing_state", w.swing_state, actors, "actor")
    swing = actors.index(w.swing_state)
    actor_sphere = np.full(len(actors), -1, dtype=np.int64)
    for i, (name, a) in enumerate(w.actors.items()):
        key = f"world.actors.{name}"
        if i == swing:
            if a.sphere is not None:
                raise ConfigError(f"{key}.sphere", "the swing state belongs to no sphere: null")
        else:
            if a.sphere is None:
                raise ConfigError(f"{key}.sphere", f"required; allowed: {_allowed(spheres)}")
            _check_name(f"{key}.sphere", a.sphere, spheres, "sphere")
            actor_sphere[i] = spheres.index(a.sphere)
        _check_range(f"{key}.trade_share", a.trade_share, 0.0, 1.0)
        _check_range(f"{key}.investment_bn", a.investment_bn, 0.0, None)
        _check_range(f"{key}.security", a.security, 0.0, 1.0)
    membership = np.zeros((len(spheres), len(actors)))
    for i, s in enumerate(actor_sphere):
        if s >= 0:
            membership[s, i] = 1.0
    for s, name in enumerate(spheres):
        if membership[s].sum() == 0:
            raise ConfigError(f"world.spheres.{name}", "no actor belongs to this sphere")
        _check_range(f"world.spheres.{name}.affinity", w.spheres[name].affinity, 0.0, 1.0)
    trade_total = sum(a.trade_share for a in w.actors.values())
    if trade_total > 1 + SHARE_TOL:
        raise ConfigError("world.actors.*.trade_share", f"must sum to <= 1, got {trade_total:g}")
    return actors, spheres, swing, actor_sphere, membership


def _initial_alignment(w: WorldConf, spheres: tuple[str, ...]) -> np.ndarray:
    """The swing state's alignment vector at the start (sums to 1), and the headline axis."""
    align0 = np.zeros(len(spheres))
    for name, v in w.initial_alignment.items():
        _check_name(f"world.initial_alignment.{name}", name, spheres, "sphere")
        align0[spheres.index(name)] = _check_range(f"world.initial_alignment.{name}", v, 0, 1)
    if abs(align0.sum() - 1.0) > SHARE_TOL:
        raise ConfigError("world.initial_alignment", f"shares must sum to 1, got {align0.sum():g}")
    _check_name("world.axis_positive", w.axis_positive, spheres, "sphere")
    _check_name("world.axis_negative", w.axis_negative, spheres, "sphere")
    if w.axis_positive == w.axis_negative:
        raise ConfigError("world.axis_negative", "must differ from world.axis_positive")
    return align0


def _routes(
    w: WorldConf, actors: tuple[str, ...], swing: int, membership: np.ndarray
) -> dict[str, Any]:
    """Export routes: who each runs through, their initial shares and capacities."""
    routes = tuple(w.routes)
    if not routes:
        raise ConfigError("world.routes", "at least one route is required")
    route_via = np.zeros(len(routes), dtype=np.int64)
    share0 = np.zeros(len(routes))
    capacity0 = np.zeros(len(routes))
    ceiling = np.full(len(routes), np.inf)
    primaries = []
    for k, (name, r) in enumerate(w.routes.items()):
        key = f"world.routes.{name}"
        _check_name(f"{key}.via", r.via, [a for i, a in enumerate(actors) if i != swing], "actor")
        route_via[k] = actors.index(r.via)
        share0[k] = _check_range(f"{key}.share", r.share, 0.0, 1.0)
        capacity0[k] = _check_range(f"{key}.capacity", r.capacity, 0.0, 1.0)
        if r.ceiling is not None:
            ceiling[k] = _check_range(f"{key}.ceiling", r.ceiling, 1e-9, 1.0)
            if ceiling[k] < capacity0[k]:
                raise ConfigError(f"{key}.ceiling", f"must be >= its capacity {capacity0[k]:g}")
        if r.primary:
            primaries.append(k)
    if abs(share0.sum() - 1.0) > SHARE_TOL:
        raise ConfigError("world.routes.*.share", f"must sum to 1, got {share0.sum():g}")
    if len(primaries) != 1:
        raise ConfigError("world.routes.*.primary", "exactly one route must be primary: true")
    route_actor = np.zeros((len(actors), len(routes)))
    route_actor[route_via, np.arange(len(routes))] = 1.0
    return dict(
        routes=routes,
        route_via=route_via,
        route_membership=membership @ route_actor,  # (S, K)
        route_actor=route_actor,
        primary_route=primaries[0],
        share0=share0,
        capacity0=capacity0,
        ceiling=ceiling,
    )


def _relations(w: WorldConf, actors: tuple[str, ...]) -> np.ndarray:
    """The symmetric relations matrix ``(N, N)`` in [-1, 1] at the start."""
    relations0 = np.zeros((len(actors), len(actors)))
    for j, rel in enumerate(w.relations):
        key = f"world.relations[{j}]"
        _check_name(f"{key}.a", rel.a, actors, "actor")
        _check_name(f"{key}.b", rel.b, actors, "actor")
        if rel.a == rel.b:
            raise ConfigError(key, "a relation needs two different actors")
        v = _check_range(f"{key}.value", rel.value, -1.0, 1.0)
        ia, ib = actors.index(rel.a), actors.index(rel.b)
        relations0[ia, ib] = relations0[ib, ia] = v
    return relations0


def _dynamics(w: WorldConf) -> dict[str, float]:
    """The world's rates and scales (and a check of the oil figures used by the patterns)."""
    d = w.dynamics
    dyn = {
        "capacity_lag_months": _check_range(
            "world.dynamics.capacity_lag_months", d.capacity_lag_months, 1.0, None
        ),
        "investment_scale_bn": _check_range(
            "world.dynamics.investment_scale_bn", d.investment_scale_bn, 1e-9, None
        ),
    }
    for name in DYNAMICS_RATES:
        dyn[name] = _check_range(f"world.dynamics.{name}", getattr(d, name), 0.0, 1.0)
    _check_range("world.oil_exports_mt_per_year", w.oil_exports_mt_per_year, 1e-9, None)
    _check_range("world.oil_revenue_bn_per_month", w.oil_revenue_bn_per_month, 0.0, None)
    return dyn


def _compile_payoffs(p: PayoffsConf, actors: tuple[str, ...]) -> dict[str, Any]:
    """The alignment dynamics' weights and every actor's payoff weights ``(N,)`` per term."""
    al = p.alignment
    align = {}
    for name in ("econ", "security", "affinity", "relations", "exposure", "hedging"):
        align[name] = _check_range(f"payoffs.alignment.{name}", getattr(al, name), 0.0, None)
    align["temperature"] = _check_range("payoffs.alignment.temperature", al.temperature, 1e-6, None)
    align["inertia"] = _check_range("payoffs.alignment.inertia", al.inertia, 0.0, 1.0)
    align["at_rest"] = 1.0 if al.at_rest else 0.0
    weights = {t: np.zeros(len(actors)) for t in PAYOFF_TERMS}
    weights["cost"][:] = 1.0
    for name, actor in p.actors.items():
        _check_name(f"payoffs.actors.{name}", name, actors, "actor")
        i = actors.index(name)
        for t in PAYOFF_TERMS:
            lo = 0.0 if t == "cost" else None
            weights[t][i] = _check_range(f"payoffs.actors.{name}.{t}", getattr(actor, t), lo, None)
    return dict(align=align, weights=weights)


def _compile_actions(
    catalogue: Mapping[str, ActionConf], world: _World, weights: dict[str, np.ndarray]
) -> dict[str, Any]:
    """The action catalogue: who may use what, at which cost, with which effect vector."""
    if "none" not in catalogue:
        raise ConfigError("actions", "the catalogue must contain the action 'none'")
    actors = world.names.actors
    actions = ("none", *[a for a in catalogue if a != "none"])
    allowed = np.zeros((len(actors), len(actions)), dtype=bool)
    allowed[:, 0] = True
    cost = np.zeros((len(actors), len(actions)))
    punitive = np.zeros(len(actions), dtype=bool)
    repeat_cost = np.zeros(len(actions))
    effects = np.zeros((len(actors), len(actions), world.layout.size))
    for a_idx, a_name in enumerate(actions):
        act = catalogue[a_name]
        punitive[a_idx] = bool(act.punitive)
        repeat_cost[a_idx] = _check_range(f"actions.{a_name}.repeat_cost", act.repeat_cost, 0.0,
                                          None)
        for user, use in act.users.items():
            key = f"actions.{a_name}.users.{user}"
            _check_name(key, user, actors, "actor")
            i = actors.index(user)
            allowed[i, a_idx] = True
            c = _check_range(f"{key}.cost", use.cost, 0.0, None)
            cost[i, a_idx] = c * weights["cost"][i]
            scale = _check_range(f"{key}.scale", use.scale, 0.0, None)
            effects[i, a_idx] = effect_vector(
                act.effects, world.layout, world.names, f"actions.{a_name}.effects", user=i,
                scale=scale,
            )
        if a_name == "none" and (act.users or _nonzero_effects(act.effects)):
            raise ConfigError("actions.none", "'none' has no users list and no effects")
    return dict(
        actions=actions,
        action_labels=tuple(catalogue[a].label or a for a in actions),
        narrations=tuple(catalogue[a].narration for a in actions),
        allowed=allowed,
        cost=cost,
        punitive=punitive,
        repeat_cost=repeat_cost,
        effects=effects,
        layout=world.layout,
    )


def _compile_policy(pol: PolicyConf, actors: tuple[str, ...]) -> dict[str, Any]:
    """Each actor's decision rule and temperature (the default, then per-actor overrides)."""
    _check_name("policy.rule", pol.rule, RULES, "decision rule")
    _check_range("policy.temperature", pol.temperature, 1e-9, None)
    _check_name("policy.temperature_scale", pol.temperature_scale, TEMPERATURE_SCALES, "scale")
    _check_range("policy.horizon", pol.horizon, 1, 120)
    _check_range("policy.discount", pol.discount, 0.0, 1.0)
    _check_range("policy.recency", pol.recency, 0.0, 1.0)
    _check_range("policy.qre_lambda", pol.qre_lambda, 0.0, None)
    rules = [pol.rule] * len(actors)
    temperature = np.full(len(actors), float(pol.temperature))
    horizons = np.zeros(len(actors), dtype=np.int64)  # 0: the default policy.horizon
    for name, over in pol.actors.items():
        _check_name(f"policy.actors.{name}", name, actors, "actor")
        i = actors.index(name)
        if over.rule is not None:
            rules[i] = _check_name(f"policy.actors.{name}.rule", over.rule, RULES, "decision rule")
        if over.temperature is not None:
            temperature[i] = _check_range(
                f"policy.actors.{name}.temperature", over.temperature, 1e-9, None
            )
        if over.horizon is not None:
            horizons[i] = int(_check_range(f"policy.actors.{name}.horizon", over.horizon, 1, 120))
    return dict(
        rules=tuple(rules),
        temperature=temperature,
        recency=float(pol.recency),
        qre_lambda=float(pol.qre_lambda),
        temperature_scale=pol.temperature_scale,
        horizon=int(pol.horizon),
        horizons=horizons if horizons.any() else None,
        discount=float(pol.discount),
    )


def _compile_scenario(
    sc: ScenarioConf, months: int, world: _World, actions: dict[str, Any]
) -> dict[str, Any]:
    """Dated events: their shocks by month ``(T, D)`` and the actions they force ``(T, N)``."""
    actors, names = world.names.actors, actions["actions"]
    allowed = actions["allowed"]
    start = _parse_month("scenario.start", sc.start)
    event_effects = np.zeros((months, world.layout.size))
    forced = np.full((months, len(actors)), -1, dtype=np.int64)
    event_names: list[list[str]] = [[] for _ in range(months)]
    end = start.plus(months)
    for j, ev in enumerate(sc.events):
        key = f"scenario.events[{j}]"
        when = _parse_month(f"{key}.date", ev.date)
        t = when.index_from(start)
        if not 0 <= t < months:
            raise ConfigError(
                f"{key}.date",
                f"{ev.date!r} is outside the run; allowed: {start} to {end.plus(-1)}",
            )
        event_effects[t] += effect_vector(
            ev.effects, world.layout, world.names, f"{key}.effects", user=None
        )
        for actor, action in ev.forced.items():
            _check_name(f"{key}.forced.{actor}", actor, actors, "actor")
            _check_name(f"{key}.forced.{actor}", action, names, "action")
            i, a_idx = actors.index(actor), names.index(action)
            if not allowed[i, a_idx]:
                users = [actors[u] for u in np.flatnonzero(allowed[:, a_idx])]
                raise ConfigError(
                    f"{key}.forced.{actor}",
                    f"{actor} may not use {action!r}; its users: {_allowed(users)}",
                )
            forced[t, i] = a_idx
        event_names[t].append(ev.name or f"event {j}")
    return dict(
        start=start,
        months=months,
        event_effects=event_effects,
        forced=forced,
        event_names=tuple(tuple(n) for n in event_names),
    )


def _parse_month(key: str, text: str) -> Month:
    try:
        return parse_month(text)
    except ValueError as exc:
        raise ConfigError(key, str(exc)) from None


def _nonzero_effects(e: EffectsConf) -> bool:
    return bool(
        e.relations
        or e.affinity
        or e.investment_bn
        or e.security
        or e.capacity
        or e.threat
        or e.defiance
        or e.halt
    )


@dataclass(frozen=True)
class _Names:
    actors: tuple[str, ...]
    spheres: tuple[str, ...]
    routes: tuple[str, ...]
    swing: int
    actor_sphere: np.ndarray

    def actor(self, key: str, name: str, user: int | None) -> int:
        if name == "self":
            if user is None:
                raise ConfigError(key, "'self' is only allowed in an action's effects")
            return user
        if name == "swing":
            return self.swing
        allowed = [*self.actors, "swing"] + (["self"] if user is not None else [])
        _check_name(key, name, allowed, "actor")
        return self.actors.index(name)

    def sphere(self, key: str, name: str, user: int | None) -> int:
        if name == "self":
            if user is None or self.actor_sphere[user] < 0:
                raise ConfigError(key, "'self' sphere needs a user that belongs to a sphere")
            return int(self.actor_sphere[user])
        allowed = [*self.spheres] + (["self"] if user is not None else [])
        _check_name(key, name, allowed, "sphere")
        return self.spheres.index(name)

    def route(self, key: str, name: str) -> int:
        _check_name(key, name, self.routes, "route")
        return self.routes.index(name)


def effect_vector(
    e: EffectsConf,
    layout: Layout,
    names: _Names,
    key: str,
    *,
    user: int | None,
    scale: float = 1.0,
) -> np.ndarray:
    """Compile one :class:`EffectsConf` into a flat vector (see :class:`Layout`).

    Additive fields are multiplied by ``scale`` (e.g. the size of a fund); halts are not.
    """
    sl = layout.slices
    n = layout.n_actors
    vec = np.zeros(layout.size)
    rel = vec[sl["relations"]].reshape(n, n)
    for j, r in enumerate(e.relations):
        a = names.actor(f"{key}.relations[{j}].a", r.a, user)
        b = names.actor(f"{key}.relations[{j}].b", r.b, user)
        if a == b:
            raise ConfigError(f"{key}.relations[{j}]", "a relation needs two different actors")
        dv = _check_range(f"{key}.relations[{j}].delta", r.delta, -2.0, 2.0) * scale
        rel[a, b] += dv
        rel[b, a] += dv
    vec[sl["relations"]] = rel.ravel()
    _add(vec, sl["affinity"], e.affinity, lambda k, x: names.sphere(k, x, user), key, "affinity",
         scale)
    _add(vec, sl["investment"], e.investment_bn, lambda k, x: names.actor(k, x, user), key,
         "investment_bn", scale)
    _add(vec, sl["security"], e.security, lambda k, x: names.actor(k, x, user), key, "security",
         scale)
    _add(vec, sl["capacity"], e.capacity, lambda k, x: names.route(k, x), key, "capacity", scale)
    _add(vec, sl["threat"], e.threat, lambda k, x: names.actor(k, x, user), key, "threat", scale)
    vec[sl["defiance"]] = _check_range(f"{key}.defiance", e.defiance, None, None) * scale
    # A halt is stored as its length and its load (length x severity), so that a halt expected
    # with probability p (a belief-weighted sum of effect vectors) keeps its severity and
    # scales its expected stoppage by p.
    hm, hl = vec[sl["halt_months"]], vec[sl["halt_load"]]
    for route, h in e.halt.items():
        k = names.route(f"{key}.halt.{route}", route)
        hm[k] = _check_range(f"{key}.halt.{route}.months", h.months, 0.0, 120.0)
        hl[k] = hm[k] * _check_range(f"{key}.halt.{route}.severity", h.severity, 0.0, 1.0)
    vec[sl["halt_months"]] = hm
    vec[sl["halt_load"]] = hl
    return vec


def _add(
    vec: np.ndarray,
    sl: slice,
    entries: Mapping[str, float],
    index,
    key: str,
    field_name: str,
    scale: float,
) -> None:
    part = vec[sl]
    for name, value in entries.items():
        k = f"{key}.{field_name}.{name}"
        part[index(k, name)] += _check_range(k, value, None, None) * scale
    vec[sl] = part
