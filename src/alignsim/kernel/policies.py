"""Decision rules: how an actor turns expected payoffs into a choice.

A catalogue of small interchangeable rules (as strategies are in the ``axelrod`` library), each a
pure function of arrays with a leading replicate axis. A rule sees the expected payoff ``q (R, A)``
of each action (``-inf`` where the actor may not use it), one uniform draw per replicate ``u (R,)``
and, for learning rules, its memory; it returns the chosen action index ``(R,)`` and the choice
probabilities ``(R, A)`` it sampled from (kept for explanations and equilibrium comparisons).

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

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TIE_TOL = 1e-12
TEMPERATURE_SCALES = ("spread", "absolute")


def sample(probabilities: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one index per row from ``probabilities (R, A)`` with ``u (R,)``."""
    cdf = np.cumsum(probabilities, axis=1)
    # ``<=`` so that a draw of exactly 0 skips leading zero-probability actions
    idx = (cdf <= u[:, None] * cdf[:, -1:]).sum(axis=1)
    return np.minimum(idx, probabilities.shape[1] - 1)


def logit_probabilities(q: np.ndarray, temperature: float) -> np.ndarray:
    """Quantal response: ``P(a) ∝ exp(q_a / T)`` over allowed actions (``q = -inf`` gets 0).

    As ``T -> 0`` this tends to best response, as ``T -> inf`` to uniform over allowed actions
    (``T = inf`` is accepted and gives exactly uniform).
    """
    if np.isscalar(temperature) and np.isinf(temperature):
        ok = np.isfinite(q)
        return ok / ok.sum(axis=1, keepdims=True)
    z = q / temperature
    z = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def payoff_spread(q: np.ndarray) -> np.ndarray:
    """Best minus worst expected payoff over the allowed actions of each row, ``(R, 1)``.

    Floored at ``TIE_TOL`` so that an actor whose options are all worth the same chooses
    uniformly instead of dividing by zero."""
    ok = np.isfinite(q)
    hi = np.where(ok, q, -np.inf).max(axis=1, keepdims=True)
    lo = np.where(ok, q, np.inf).min(axis=1, keepdims=True)
    return np.maximum(hi - lo, TIE_TOL)


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
    belief: str  # "last", "empirical" or "equilibrium"
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
    "equilibrium": Rule(
        "equilibrium",
        "equilibrium",
        "logit QRE play of the current stage game (policy.qre_lambda); slow: few replicates",
        _logit,
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
