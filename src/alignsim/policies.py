"""Decision rules: how an actor turns expected payoffs into a choice.

A catalogue of small interchangeable rules (as strategies are in the ``axelrod`` library), each a
pure function of arrays with a leading replicate axis. A rule sees the expected payoff ``q (R, A)``
of each action (``-inf`` where the actor may not use it), one uniform draw per replicate ``u (R,)``
and, for learning rules, its memory; it returns the chosen action index ``(R,)`` and the choice
probabilities ``(R, A)`` it sampled from (kept for explanations and equilibrium comparisons).

Rules also say what the actor *believes* the others will do when it computes ``q``: the others'
last actions (``last``) or their empirical frequencies so far (``empirical``, fictitious play).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TIE_TOL = 1e-12


def sample(probabilities: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one index per row from ``probabilities (R, A)`` with ``u (R,)``."""
    cdf = np.cumsum(probabilities, axis=1)
    idx = (cdf < u[:, None] * cdf[:, -1:]).sum(axis=1)
    return np.minimum(idx, probabilities.shape[1] - 1)


def logit_probabilities(q: np.ndarray, temperature: float) -> np.ndarray:
    """Quantal response: ``P(a) ∝ exp(q_a / T)`` over allowed actions (``q = -inf`` gets 0).

    As ``T -> 0`` this tends to best response, as ``T -> inf`` to uniform over allowed actions.
    """
    z = q / temperature
    z = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def best_response_probabilities(q: np.ndarray) -> np.ndarray:
    """Uniform over the maximisers (so that sampling breaks ties at random)."""
    best = q >= np.max(q, axis=1, keepdims=True) - TIE_TOL
    return best / best.sum(axis=1, keepdims=True)


def propensity_probabilities(propensity: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Roth–Erev: choice probability proportional to accumulated propensity."""
    p = np.where(allowed[None, :], np.maximum(propensity, 1e-12), 0.0)
    return p / p.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Rule:
    """A named decision rule: its belief model and how it maps payoffs to probabilities."""

    name: str
    belief: str  # "last" or "empirical"
    doc: str
    probabilities: Callable[..., np.ndarray]


def _logit(q, temperature, propensity, allowed):
    return logit_probabilities(q, temperature)


def _best(q, temperature, propensity, allowed):
    return best_response_probabilities(q)


def _roth_erev(q, temperature, propensity, allowed):
    return propensity_probabilities(propensity, allowed)


RULE_TABLE: dict[str, Rule] = {
    "logit": Rule("logit", "last", "quantal (logit) response to expected payoffs", _logit),
    "best_response": Rule(
        "best_response", "last", "best response, ties broken at random", _best
    ),
    "fictitious_play": Rule(
        "fictitious_play",
        "empirical",
        "best response to the empirical frequencies of the others' past actions",
        _best,
    ),
    "roth_erev": Rule(
        "roth_erev",
        "last",
        "Roth–Erev reinforcement: propensities grow with realised payoffs, and fade",
        _roth_erev,
    ),
}
RULES: tuple[str, ...] = tuple(RULE_TABLE)


def choose(
    rule: str,
    q: np.ndarray,
    u: np.ndarray,
    *,
    temperature: float,
    propensity: np.ndarray,
    allowed: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``rule`` for one actor over all replicates: ``(choice (R,), probabilities (R, A))``."""
    p = RULE_TABLE[rule].probabilities(q, temperature, propensity, allowed)
    return sample(p, u), p


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
