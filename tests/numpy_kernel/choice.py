"""The decision rules' draws in NumPy: expected payoffs -> choice probabilities -> an action.

The test oracle of the compiled kernel's ``_choose`` (:mod:`alignsim.kernel.compiled`, driven by
:func:`alignsim.kernel.rows.choose`). The catalogue itself (each rule's name, belief model and
description), the equilibrium rule's temperature and the Roth–Erev update stay in production,
:mod:`alignsim.kernel.policies`; this module holds only how a rule turns ``q (R, A)`` (``-inf``
where the actor may not use an action), one uniform per replicate ``u (R,)`` and, for learning
rules, its propensities into ``(choice (R,), probabilities (R, A))``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TIE_TOL = 1e-12


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


def _logit(q, temperature, propensity, allowed):
    return logit_probabilities(q, temperature)


def _best(q, temperature, propensity, allowed):
    return best_response_probabilities(q)


def _roth_erev(q, temperature, propensity, allowed):
    return propensity_probabilities(propensity, allowed)


PROBABILITIES: dict[str, Callable[..., np.ndarray]] = {
    "logit": _logit,
    "best_response": _best,
    "fictitious_play": _best,
    "roth_erev": _roth_erev,
    "equilibrium": _logit,  # drawn as logit at 1 / qre_lambda (policies.rule_temperature)
}
"""Each rule of :data:`alignsim.kernel.policies.RULE_TABLE`: how it maps payoffs to
probabilities, called as ``(q, temperature, propensity, allowed)``."""


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
    p = PROBABILITIES[rule](q, temperature, propensity, allowed)
    return sample(p, u), p
