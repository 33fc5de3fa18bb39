"""The room's world: the seminar page's Mesa driver with some actors' moves imposed by people.

Why a subclass and not a second game loop: a human's move enters the world through the very path
the ``history`` scenario uses to replay the record — the Spec's forced moves
(:attr:`alignsim.kernel.spec.Spec.forced`, read by :meth:`alignsim.agents.ActorAgent.act` and
:func:`alignsim.kernel.decisions.apply_forced`). For one month the driver runs with a copy of the
Spec whose forced row also holds the humans' moves; everything else (the model's decision rule
for the other actors, the transition, the payoffs, the memories) is the kernel's, unchanged.
A scheduled move of the scenario still wins over a human's (the record is the record).

The advice a student sees is the same arithmetic the agent runs a moment later: the kernel's
expected payoffs of every allowed action and the rule's draw with this month's uniform
(:func:`~alignsim.kernel.decisions.expected_payoffs`,
:func:`~alignsim.kernel.decisions.decide_actor`),
so "what the model would have chosen" is exactly what the model plays when nobody holds the actor.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from alignsim.config import FLAT_KEYS, flat_world
from alignsim.demo.world import SeminarModel
from alignsim.ensemble import equilibrium_valuation
from alignsim.kernel.decisions import decide_actor, expected_payoffs
from alignsim.kernel.spec import Spec, compile_spec


@dataclass(frozen=True)
class Advice:
    """The model's view of one month: every actor's expected payoffs and the rule's pick."""

    month: int
    expected: np.ndarray  # (N, A) util, -inf where not allowed
    probabilities: np.ndarray  # (N, A)
    pick: np.ndarray  # (N,) the rule's draw (what the model plays for an actor nobody holds)
    forced: np.ndarray  # (N,) the scenario's scheduled move this month, -1 = free

    def best(self, actor: int) -> int:
        return int(np.argmax(self.expected[actor]))


def params_key(params: Mapping[str, object]) -> tuple[tuple[str, float | str], ...]:
    """A hashable form of the flat parameters (scenario name and the numbers)."""
    return tuple((k, params[k] if k == "scenario_name" else float(params[k]))  # type: ignore
                 for k in FLAT_KEYS)


@functools.lru_cache(maxsize=64)
def world_spec(params: tuple[tuple[str, float | str], ...],
               moved: tuple[tuple[int, int], ...] = ()) -> Spec:
    """The Spec for flat parameters ``params`` with scenario events ``moved`` (index → month).

    Moving an event moves its shocks and its forced moves together: the scenario's events are
    re-dated in the config and the config compiled again (cached: a class goes back and forth).
    """
    cfg, spec = flat_world(dict(params))
    if not moved:
        return spec
    events = list(cfg.scenario.events)
    for j, month in moved:
        events[j] = dataclasses.replace(events[j], date=str(spec.start.plus(month)))
    cfg = dataclasses.replace(cfg, scenario=dataclasses.replace(cfg.scenario, events=events))
    return compile_spec(cfg)


class RoomWorld(SeminarModel):
    """One room's world: the seminar driver, with humans' moves imposed month by month."""

    def use_spec(self, spec: Spec) -> None:
        """Put a recompiled Spec in force from this month (a parameter or an event moved)."""
        self.spec = spec
        self.recorder.spec = spec
        self.equilibrium = equilibrium_valuation(spec)
        self._events = None

    def advice(self) -> Advice:
        """The model's expected payoffs and picks for the month about to be played."""
        t, spec = self.month, self.spec
        q = expected_payoffs(self.state, self.memory, spec, t, equilibrium=self.equilibrium)
        picks = np.zeros(spec.n_actors, dtype=np.int64)
        probs = np.zeros((spec.n_actors, spec.n_actions))
        for i in range(spec.n_actors):
            choice, p = decide_actor(spec, i, q, self.memory, self.uniforms[t, i:i + 1])
            picks[i], probs[i] = int(choice[0]), p[0]
        return Advice(t, q[0].copy(), probs, picks, spec.forced[t].copy())

    def play(self, imposed: Mapping[int, int]) -> None:
        """One month with the actions in ``imposed`` (actor index → action index) imposed.

        They go into this month's row of the Spec's forced moves (a copy), where the scenario
        has not already scheduled one; the step is the driver's own.
        """
        base, t = self.spec, self.month
        forced = base.forced.copy()
        for i, a in imposed.items():
            if forced[t, i] < 0:
                forced[t, i] = int(a)
        self.spec = dataclasses.replace(base, forced=forced)
        try:
            self.step()
        finally:
            self.spec = base

    def cumulative_payoffs(self) -> np.ndarray:
        """Each actor's realised payoff summed over the months played, util ``(N,)``."""
        return self.recorder.payoffs[: self.month, 0].sum(axis=0)
