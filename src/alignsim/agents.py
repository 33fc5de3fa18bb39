"""The actors as Mesa agents: each one weighs its options, chooses, then acts and explains why.

Agents hold no dynamics of their own: an agent asks the kernel for the expected payoff of each
of its actions (its own row of :func:`alignsim.kernel.decisions.expected_payoffs`), picks one by its
decision rule with its own uniform draw, and reports what it did. The model resolves the joint
move. This keeps the agents readable and guarantees the same trajectory as the ensemble driver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from alignsim.kernel.decisions import decide_actor, expected_payoffs

if TYPE_CHECKING:
    from alignsim.model import AlignmentModel


class ActorAgent(mesa.Agent):
    """One actor (a state or the EU): its name, sphere, and this month's choice and reasons."""

    model: AlignmentModel

    def __init__(self, model: AlignmentModel, index: int) -> None:
        super().__init__(model)
        spec = model.spec
        self.index = int(index)
        self.name = spec.actors[self.index]
        self.label = spec.actor_labels[self.index]
        s = spec.actor_sphere[self.index]
        self.sphere = spec.spheres[s] if s >= 0 else None
        self.expected = np.full(spec.n_actions, -np.inf)  # expected payoff of each action
        self.probabilities = np.zeros(spec.n_actions)
        self.intended = 0  # what it chose
        self.action = 0  # what it did (a scheduled event may force it)
        self.forced = False
        self.payoff = float("nan")

    @property
    def action_name(self) -> str:
        return self.model.spec.actions[self.action]

    def choose(self) -> None:
        """Weigh every allowed action by its expected payoff and pick one by the decision rule."""
        m = self.model
        q = expected_payoffs(
            m.state, m.memory, m.spec, m.month, actors=[self.index], equilibrium=m.equilibrium
        )
        u = m.uniforms[m.month, self.index : self.index + 1]
        choice, p = decide_actor(m.spec, self.index, q, m.memory, u)
        self.expected = q[0, self.index]
        self.probabilities = p[0]
        self.intended = int(choice[0])

    def act(self) -> None:
        """Commit to the chosen action, unless the scenario forces one this month."""
        forced = int(self.model.spec.forced[self.model.month, self.index])
        self.forced = forced >= 0
        self.action = forced if self.forced else self.intended
        self.model.commit(self.index, self.action)

    def why(self) -> str:
        """The chosen action's expected payoff against the alternatives the actor weighed."""
        spec = self.model.spec
        if self.forced:
            return "scheduled by the scenario (historical record)"
        order = np.argsort(-self.expected)
        parts = [
            f"{spec.actions[a]} {self.expected[a]:+.4f} (p={self.probabilities[a]:.2f})"
            for a in order
            if np.isfinite(self.expected[a])
        ]
        return "expected payoffs: " + ", ".join(parts)
