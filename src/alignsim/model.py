"""The Mesa model: one replicate of the world, stepped by its agents.

``AlignmentModel`` is the thin scheduling layer over the kernel: each month every agent chooses
(``choose``) and then every agent acts (``act``) — simultaneous moves — and the model resolves the
joint action with :func:`alignsim.kernel.rows.play` (the compiled kernel's month). A
DataCollector records the headline series, and a narration log says who did what and why (the
demo reads it).

For the same ``config.seed`` and ``replicate`` it gives exactly the trajectory of replicate
``replicate`` of :func:`alignsim.ensemble.run_ensemble`: both draw their uniforms from
``SeedSequence(seed, spawn_key=(replicate,))`` and run the same kernel.

Mesa's conventions hold, so ``mesa.batch_run`` can drive it: ``rng=`` (Mesa 3.5's seeding
keyword) sets the seed, and the flat parameters of the seminar page (``cpc_share``,
``halt_severity``, ``coercion_appetite``, ``fund_az_bn`` … ``fund_eu_bn``, ``temperature``,
``scenario_name``) are keyword arguments, turned into a config by
:func:`alignsim.config.flat_world` (the same code the page uses). ``config=`` still takes the
full typed config for everything else::

    mesa.batch_run(AlignmentModel, parameters={"cpc_share": [0.5, 0.8]}, rng=[1, 2],
                   max_steps=48, number_processes=1)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import mesa
import numpy as np

from alignsim.agents import ActorAgent
from alignsim.ensemble import Recorder, Trajectory, equilibrium_valuation
from alignsim.kernel.decisions import Memory, remember
from alignsim.kernel.rows import play
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, Spec, compile_spec
from alignsim.kernel.state import initial_state
from alignsim.kernel.step import replicate_uniforms

CONFIG_SEED = object()  # ``rng`` left out: keep the config's seed


@dataclass(frozen=True)
class LogEntry:
    """One line of the narrated log."""

    month: str
    actor: str
    action: str
    text: str
    why: str
    forced: bool


class AlignmentModel(mesa.Model):
    """Kazakhstan and the powers around it, one month per step."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        replicate: int = 0,
        spec: Spec | None = None,
        rng: int | object | None = CONFIG_SEED,
        scenario_name: str | None = None,
        cpc_share: float | None = None,
        halt_severity: float | None = None,
        coercion_appetite: float | None = None,
        fund_az_bn: float | None = None,
        fund_tr_bn: float | None = None,
        fund_cn_bn: float | None = None,
        fund_eu_bn: float | None = None,
        temperature: float | None = None,
    ) -> None:
        """Build one replicate.

        ``config``/``spec``: the full typed config (default: ``conf/`` as composed) and, if
        already compiled, its Spec. ``rng``: the seed (replaces ``config.seed``); left out, the
        config's seed; ``None``, as in Mesa, a fresh seed from the system's entropy, recorded in
        ``config.seed`` so the run can be repeated (``mesa.batch_run(..., iterations=n)`` passes
        ``rng=None`` and so gets ``n`` different runs). The flat keywords (``None`` = as in
        ``conf/``) build the config from ``conf/`` instead and cannot be combined with
        ``config``/``spec``. Bad input raises :class:`~alignsim.kernel.spec.ConfigError` naming
        the keyword.
        """
        flat = {
            "scenario_name": scenario_name, "cpc_share": cpc_share,
            "halt_severity": halt_severity, "coercion_appetite": coercion_appetite,
            "fund_az_bn": fund_az_bn, "fund_tr_bn": fund_tr_bn, "fund_cn_bn": fund_cn_bn,
            "fund_eu_bn": fund_eu_bn, "temperature": temperature,
        }
        flat = {k: v for k, v in flat.items() if v is not None}
        seed = _seed_of(rng)
        if flat or (config is None and spec is None):
            if config is not None or spec is not None:
                raise ConfigError(next(iter(flat)), "cannot be combined with config= or spec= "
                                  "(set the value in the config instead)")
            from alignsim.config import flat_world  # Hydra only when a config must be composed

            config, spec = flat_world(flat)
        elif config is None:
            raise ConfigError("config", "spec= needs the config it was compiled from")
        if seed is not None and seed != config.seed:
            config = dataclasses.replace(config, seed=seed)  # the Spec does not depend on it
        super().__init__(rng=int(config.seed))
        self.config = config
        self.spec = spec if spec is not None else compile_spec(config)
        self.replicate = int(replicate)
        self.month = 0
        self.state = initial_state(self.spec, 1)
        self.memory = Memory.initial(self.spec, 1)
        self.equilibrium = equilibrium_valuation(self.spec)
        self.uniforms = replicate_uniforms(
            config.seed, [self.replicate], self.spec.months, self.spec.n_actors
        )[0]
        self._joint = np.zeros((1, self.spec.n_actors), dtype=np.int64)
        self.recorder = Recorder(self.spec, 1, keep_expected=True)
        self.recorder.state(0, self.state)
        self.log: list[LogEntry] = []
        ActorAgent.create_agents(self, self.spec.n_actors, list(range(self.spec.n_actors)))
        self.actors: list[ActorAgent] = sorted(self.agents, key=lambda a: a.index)
        self.datacollector = mesa.DataCollector(
            model_reporters={
                **{f"share_{s}": _share(k) for k, s in enumerate(self.spec.spheres)},
                "axis": lambda m: m.axis,
                **{f"route_{r}": _route(k) for k, r in enumerate(self.spec.routes)},
            },
            agent_reporters={"action": "action_name", "payoff": "payoff"},
        )
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ readable views
    @property
    def date(self) -> str:
        return str(self.spec.start.plus(self.month))

    @property
    def axis(self) -> float:
        return float(self.spec.axis_of(self.state.alignment)[0])

    @property
    def finished(self) -> bool:
        return self.month >= self.spec.months

    # ------------------------------------------------------------------------- the step
    def commit(self, actor: int, action: int) -> None:
        """Called by an agent's ``act``: its part of this month's joint action."""
        self._joint[0, actor] = action

    def step(self) -> None:
        """One month: all agents choose, all act, the world responds."""
        if self.finished:
            self.running = False
            return
        t = self.month
        self.agents.do("choose")
        self.agents.do("act")
        actions = self._joint.copy()
        before = self.state
        self.state, realised = play(before, actions, self.spec, t)
        q = np.stack([a.expected for a in self.actors])[None]
        self.memory = remember(self.memory, actions, realised, q, self.spec)
        for a in self.actors:
            a.payoff = float(realised[0, a.index])
        self.recorder.state(t + 1, self.state)
        self.recorder.move(t, actions, realised, q)
        self._narrate(t)
        self.month += 1
        self.datacollector.collect(self)
        if self.finished:
            self.running = False

    def trajectory(self) -> Trajectory:
        """The run so far as a :class:`Trajectory` (same layout as the ensemble driver's)."""
        tr = self.recorder.trajectory(np.array([self.replicate]))
        t = self.month
        return Trajectory(
            spec=dataclasses.replace(self.spec, months=t),
            replicate_ids=tr.replicate_ids,
            alignment=tr.alignment[: t + 1],
            share=tr.share[: t + 1],
            capacity=tr.capacity[: t + 1],
            threat=tr.threat[: t + 1],
            investment=tr.investment[: t + 1],
            relations=tr.relations[: t + 1],
            pain=tr.pain[: t + 1],
            actions=tr.actions[:t],
            payoffs=tr.payoffs[:t],
            expected=None if tr.expected is None else tr.expected[:t],
        )

    # ------------------------------------------------------------------------ narration
    def _narrate(self, t: int) -> None:
        spec = self.spec
        month = str(spec.start.plus(t))
        for name in spec.event_names[t]:
            self.log.append(LogEntry(month, "scenario", "event", f"Event: {name}.", "", True))
        for a in self.actors:
            if a.action == 0 and not a.forced:
                continue
            self.log.append(
                LogEntry(month, a.label, a.action_name, self._text(a), a.why(), a.forced)
            )

    def _text(self, agent: ActorAgent) -> str:
        spec = self.spec
        a = agent.action
        sl = spec.layout.slices
        eff = spec.effects[agent.index, a]
        halted = np.flatnonzero(eff[sl["halt_months"]] > 0)
        route = spec.route_labels[halted[0]] if halted.size else ""
        amount = float(eff[sl["investment"]].sum())
        fields = {
            "actor": agent.label,
            "target": spec.actor_labels[spec.swing],
            "route": route,
            "loss_pct": 100.0 * float(self.state.pain[0]),
            "loss_bn": float(self.state.pain[0]) * spec.oil_revenue_bn_per_month,
            "amount_bn": amount,
        }
        try:
            return spec.narrations[a].format(**fields) or f"{agent.label}: {spec.actions[a]}."
        except (KeyError, IndexError, ValueError):
            return f"{agent.label}: {spec.actions[a]}."


def _share(k: int):
    return lambda m: float(m.state.alignment[0, k])


def _route(k: int):
    return lambda m: float(m.state.share[0, k])


def _seed_of(rng: object) -> int | None:
    """Mesa's ``rng=`` as our seed: a non-negative integer; ``None`` (Mesa's "unseeded") draws
    a fresh one; left out (:data:`CONFIG_SEED`), ``None`` here, i.e. the config's.

    Only integers: every stream is ``SeedSequence(seed, spawn_key=(replicate,))``, shared with
    the ensemble driver, so a Generator or SeedSequence could not give the same trajectory.
    """
    if rng is CONFIG_SEED:
        return None
    if rng is None:
        return int(np.random.SeedSequence().entropy % 2**63)
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise ConfigError("rng", f"must be a non-negative integer (the seed), got {rng!r}")
    value = int(rng)
    if not 0 <= value <= 2**63 - 1:
        raise ConfigError("rng", f"must be between 0 and 2**63 - 1, got {value}")
    return value
