"""Figures of a run (seaborn on matplotlib's Agg backend, so they render without a screen)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from alignsim.ensemble import Trajectory
from alignsim.kernel.calendar import first_days
from alignsim.metrics import band
from alignsim.results import step_dates


def theme(context: str = "notebook"):
    """Seaborn's white grid at ``context`` ("notebook", "paper"); returns ``(plt, sns)``.

    Every figure of the package starts here, so they all share one look (and the Agg backend,
    set when this module is imported, so they render without a screen).
    """
    sns.set_theme(style="whitegrid", context=context)
    return plt, sns


def drift_figure(traj: Trajectory | None, title: str | None = None, *,
                 spec=None, stats: dict | None = None, replicates: int | None = None
                 ) -> plt.Figure:
    """The Russian–Turkic axis over time: median, 90 % band, and the scheduled events marked.

    From a trajectory, or (``traj=None``) from a Spec and monthly ``stats`` already reduced
    (:meth:`alignsim.summary.RunSummary.monthly_bands`, a run kept without its time series)."""
    if traj is not None:
        spec, stats, replicates = traj.spec, band(traj.axis, axis_=1), traj.axis.shape[1]
    theme("notebook")
    dates = (step_dates(traj) if traj is not None
             else pd.to_datetime(first_days(spec.start, len(stats["median"]))))
    fig, ax = plt.subplots(figsize=(11, 5.2), layout="constrained")
    ax.fill_between(dates, stats["p05"], stats["p95"], alpha=0.25, color="C0",
                    label="90 % band over replicates")
    ax.plot(dates, stats["median"], color="C0", lw=2, label="median")
    ax.axhline(0.0, color="0.3", lw=0.8)
    ymin, ymax = float(np.min(stats["p05"])), float(np.max(stats["p95"]))
    pad = 0.08 * max(ymax - ymin, 0.05)
    ax.set_ylim(ymin - pad, ymax + 3 * pad)
    for t, names in enumerate(spec.event_names):
        if not names:
            continue
        # an event of month t acts during that month: mark it at the month's start
        x = dates[t]
        ax.axvline(x, color="C3", lw=0.8, ls="--", alpha=0.7)
        ax.text(x, ymax + 2.8 * pad, "; ".join(names), rotation=90, va="top", ha="right",
                fontsize=7, color="C3")
    ax.set_ylabel("axis = w_turkic − w_russian  (> 0: Turkic)")
    ax.set_xlabel("date")
    ax.set_title(title or f"Kazakhstan's Russian–Turkic axis — {replicates} replicates")
    ax.legend(loc="lower right")
    return fig


def figure_png(fig: plt.Figure, *, dpi: int = 130, tight: bool = False) -> bytes:
    """``fig`` as PNG bytes, then closed: what :func:`save_figure` writes (the sweep report
    draws some figures in a child process and writes their bytes in the parent).

    ``tight`` crops to the drawn area (the sweep report's figures); closing frees the figure,
    which matters in sweeps and notebooks that draw many.
    """
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, dpi=dpi, format="png", **({"bbox_inches": "tight"} if tight else {}))
    finally:
        plt.close(fig)
    return buffer.getvalue()


def save_figure(fig: plt.Figure, path, *, dpi: int = 130, tight: bool = False) -> Path:
    """Write ``fig`` as a PNG (:func:`figure_png`) atomically: no half-written file on a crash."""
    from alignsim.results import atomic_write

    png = figure_png(fig, dpi=dpi, tight=tight)
    return atomic_write(path, lambda p: p.write_bytes(png))
