"""Headline measures of a run: the Russian–Turkic axis, its drift, leaders and tipping times.

Pure NumPy over a :class:`~alignsim.ensemble.Trajectory` (any number of replicates), so the same
numbers come out of the CLI, the sweeps, the notebooks and the demo.
"""

from __future__ import annotations

import numpy as np

from alignsim.ensemble import Trajectory

BAND = (5.0, 95.0)  # the 90 % band reported everywhere


def axis(traj: Trajectory) -> np.ndarray:
    """``w_turkic - w_russian`` per date and replicate, ``(T+1, R)``; > 0 leans Turkic."""
    return traj.axis


def drift(traj: Trajectory) -> np.ndarray:
    """Change of the axis since the start, ``(T+1, R)``."""
    a = traj.axis
    return a - a[0]


def leader(traj: Trajectory) -> np.ndarray:
    """Index of the sphere with the largest share, ``(T+1, R)``."""
    return np.argmax(traj.alignment, axis=-1)


def first_step(mask: np.ndarray) -> np.ndarray:
    """First date index where ``mask (T+1, R)`` holds, ``-1`` where it never does."""
    hit = mask.any(axis=0)
    return np.where(hit, np.argmax(mask, axis=0), -1)


def tipping_step(traj: Trajectory) -> np.ndarray:
    """First month the leading sphere differs from the start's, ``(R,)``; -1 if never."""
    lead = leader(traj)
    return first_step(lead != lead[0])


def axis_crossing_step(traj: Trajectory) -> np.ndarray:
    """First month the axis changes sign from its start (Turkic overtakes Russian), ``(R,)``."""
    a = traj.axis
    return first_step(np.sign(a) != np.sign(a[0]))


def band(values: np.ndarray, axis_: int = -1) -> dict[str, float | np.ndarray]:
    """Mean and 90 % band (5th, 50th, 95th percentiles) over replicates."""
    lo, hi = np.percentile(values, BAND, axis=axis_)
    return {
        "mean": np.mean(values, axis=axis_),
        "p05": lo,
        "median": np.median(values, axis=axis_),
        "p95": hi,
    }


def action_frequencies(traj: Trajectory) -> np.ndarray:
    """Share of months each actor used each action, ``(N, A)`` (over all replicates)."""
    spec = traj.spec
    out = np.zeros((spec.n_actors, spec.n_actions))
    for i in range(spec.n_actors):
        out[i] = np.bincount(traj.actions[:, :, i].ravel(), minlength=spec.n_actions)
    return out / max(traj.actions.shape[0] * traj.actions.shape[1], 1)


def date_index(traj: Trajectory, year: int, month: int = 1) -> int:
    """Index of the state at the first day of ``year-month`` (clipped to the run)."""
    from alignsim.kernel.calendar import Month

    t = Month(year, month).index_from(traj.spec.start)
    return int(min(max(t, 0), traj.months))


def summarise(traj: Trajectory) -> dict:
    """The run summary as plain Python types (JSON-ready)."""
    spec = traj.spec
    a = traj.axis
    t_2025 = date_index(traj, 2026, 1)  # end of 2025 = state on 1 Jan 2026
    return summary_of(
        spec, int(traj.months), a[[0, t_2025, -1]], t_2025, leader(traj)[-1], tipping_step(traj),
        axis_crossing_step(traj),
        np.array([traj.alignment[-1, :, k].mean() for k in range(spec.n_spheres)]),
        action_frequencies(traj),
        np.array([traj.payoffs[:, :, i].mean() for i in range(spec.n_actors)]),
    )


def summary_of(spec, months: int, axis_at: np.ndarray, t_2025: int, lead_end: np.ndarray,
               tip: np.ndarray, cross: np.ndarray, shares_end: np.ndarray, freq: np.ndarray,
               mean_payoff: np.ndarray) -> dict:
    """The summary dictionary from per-replicate reductions (the axis at the start, the end of
    2025 and the end ``(3, R)``, the end leader, tipping and crossing steps) and per-run means;
    shared by :func:`summarise` and :class:`alignsim.summary.RunSummary`."""

    def b(x: np.ndarray) -> dict[str, float]:
        return {k: round(float(v), 6) for k, v in band(x).items()}

    return {
        "replicates": int(axis_at.shape[1]),
        "months": int(months),
        "start": str(spec.start),
        "end": str(spec.start.plus(months)),  # date of the final state (1st of month)
        "last_month": str(spec.start.plus(months - 1)),  # last month played
        "axis": {
            "start": b(axis_at[0]),
            "end_2025": {**b(axis_at[1]), "date": str(spec.start.plus(t_2025))},
            "end": b(axis_at[2]),
        },
        "drift_end": b(axis_at[2] - axis_at[0]),
        "shares_end": {s: round(float(shares_end[k]), 6) for k, s in enumerate(spec.spheres)},
        "leader_end": {s: round(float((lead_end == k).mean()), 6)
                       for k, s in enumerate(spec.spheres)},
        "tipping": {
            "leader_change_share": round(float((tip >= 0).mean()), 6),
            "leader_change_median_month": (int(np.median(tip[tip >= 0]))
                                           if (tip >= 0).any() else None),
            "axis_crossing_share": round(float((cross >= 0).mean()), 6),
        },
        "most_used_action": {
            actor: spec.actions[int(np.argmax(freq[i]))] for i, actor in enumerate(spec.actors)
        },
        "action_frequencies": {
            actor: {spec.actions[j]: round(float(freq[i, j]), 6)
                    for j in range(spec.n_actions) if spec.allowed[i, j]}
            for i, actor in enumerate(spec.actors)
        },
        "mean_payoff": {actor: round(float(mean_payoff[i]), 6)
                        for i, actor in enumerate(spec.actors)},
    }
