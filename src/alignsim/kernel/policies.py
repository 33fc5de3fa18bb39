"""Decision rules: how an actor turns expected payoffs into a choice.

A catalogue of small interchangeable rules (as strategies are in the ``axelrod`` library). A rule
sees the expected payoff ``q (R, A)`` of each action (``-inf`` where the actor may not use it),
one uniform draw per replicate ``u (R,)`` and, for learning rules, its memory; it gives the chosen
action index ``(R,)`` and the choice probabilities ``(R, A)`` it sampled from (kept for
explanations and equilibrium comparisons). The draws run in the compiled kernel
(:func:`alignsim.kernel.rows.choose`); this module holds the catalogue the rest of the package
reads (each rule's name and belief model, :data:`RULE_TABLE`), the temperature a rule samples at
and the Roth–Erev update. (The same draws in NumPy, the compiled kernel's test oracle, are test
code: ``tests/numpy_kernel/choice.py``.)

Rules also say what the actor *believes* the others will do when it computes ``q``: the others'
last actions (``last``), their empirical frequencies so far (``empirical``, fictitious play), or
their strategies in the logit quantal response equilibrium of the current stage game
(``equilibrium``; see :mod:`alignsim.game.stage_game`).

The catalogue (``policy.rule``, or per actor ``policy.actors.<name>.rule``):

``logit``
    Quantal response ``P(a) ∝ exp(q_a / T)`` to the payoffs expected if the others repeat their
    last actions. With ``policy.temperature_scale: spread`` ``T`` is
    ``policy.temperature`` times the spread of the actor's expected payoffs that month (best minus
    worst allowed action), so the noise is on the scale of what is at stake: the same knob means
    the same rationality for an actor whose options differ by 0.001 and one whose options differ
    by 1. With ``absolute``, ``T = policy.temperature`` in utility units.
``best_response``
    The maximiser of ``q`` (same beliefs as ``logit``); ties broken uniformly at random.
``fictitious_play``
    Best response (ties at random) to the empirical frequencies of the others' past actions
    (Brown 1951): ``q`` is computed against the belief-weighted mixture of their moves.
``roth_erev``
    Reinforcement learning (Roth & Erev 1995, with forgetting): the choice probability is
    proportional to a propensity that fades at ``policy.recency`` per month and grows by the
    realised payoff above the worst option's expected payoff (:func:`reinforce`, applied in
    :func:`alignsim.kernel.decisions.remember`). ``q`` is not used to choose, only as the baseline.
``equilibrium``
    Equilibrium play: at the current state, the normal-form stage game among all actors is
    built and its logit QRE at precision ``λ = policy.qre_lambda`` solved with pygambit; ``q``
    is each action's expected payoff against the others' QRE strategies, and the actor draws
    from ``P(a) ∝ exp(λ q_a)`` — which, at the fixed point, *is* its QRE strategy. One solve
    per replicate per month (about half a second with six actors): for analysis with few
    replicates, not for ensembles of thousands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEMPERATURE_SCALES = ("spread", "absolute")


@dataclass(frozen=True)
class Rule:
    """A named decision rule and its belief model (its draw: the compiled kernel's ``_choose``)."""

    name: str
    belief: str  # "last", "empirical" or "equilibrium"
    doc: str


RULE_TABLE: dict[str, Rule] = {
    "logit": Rule("logit", "last", "quantal (logit) response to expected payoffs"),
    "best_response": Rule("best_response", "last", "best response, ties broken at random"),
    "fictitious_play": Rule(
        "fictitious_play",
        "empirical",
        "best response to the empirical frequencies of the others' past actions",
    ),
    "roth_erev": Rule(
        "roth_erev",
        "last",
        "Roth–Erev reinforcement: propensities grow with realised payoffs, and fade",
    ),
    "equilibrium": Rule(
        "equilibrium",
        "equilibrium",
        "logit QRE play of the current stage game (policy.qre_lambda); slow: few replicates",
    ),
}
RULES: tuple[str, ...] = tuple(RULE_TABLE)


def rule_temperature(rule: str, temperature: float, qre_lambda: float) -> float:
    """The temperature a rule samples at: ``1 / qre_lambda`` for equilibrium play, else ``T``.

    Equilibrium play draws from ``exp(λ q)``; ``λ = 0`` (the QRE's uniform end) gives ``inf``.
    (The QRE's precision is on the payoffs' own scale, so it is never made relative.)
    """
    if RULE_TABLE[rule].belief == "equilibrium":
        return float("inf") if qre_lambda <= 0 else 1.0 / float(qre_lambda)
    return float(temperature)


def reinforce(
    propensity: np.ndarray, chosen: np.ndarray, reward: np.ndarray, recency: float
) -> np.ndarray:
    """Roth–Erev update for one actor: fade all propensities, add the reward to the chosen one.

    ``reward`` must be non-negative; callers pass the payoff relative to the worst action's
    expected payoff so that doing better than the worst option is what reinforces.
    """
    out = (1.0 - recency) * propensity
    out[np.arange(out.shape[0]), chosen] += reward
    return out
