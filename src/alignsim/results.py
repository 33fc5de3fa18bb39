"""Tidy tables of a run (pandas), written atomically.

One row per replicate and date; columns are named after what they measure (``share_turkic``,
``route_cpc``, ``action_russia``...). Files are first written to a temporary name in the same folder
and then renamed, so a crash never leaves a half-written result behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from alignsim.ensemble import Trajectory
from alignsim.kernel.calendar import first_days


def step_dates(traj: Trajectory) -> pd.DatetimeIndex:
    """The dates of a run's steps 0 .. months: each month's first day (tables and figures)."""
    return pd.to_datetime(first_days(traj.spec.start, traj.months + 1))


def timeseries_frame(traj: Trajectory) -> pd.DataFrame:
    """The run as a tidy frame: ``replicate, step, date`` and one column per variable.

    Actions and payoffs of month ``t`` are on the row of step ``t + 1`` (the state they produced);
    step 0 (the start) has action ``"start"`` and payoff NaN.
    """
    spec = traj.spec
    t1, r = traj.alignment.shape[:2]
    steps = np.repeat(np.arange(t1), r)
    dates = step_dates(traj)
    cols: dict[str, np.ndarray] = {
        "replicate": np.tile(traj.replicate_ids, t1),
        "step": steps,
        "date": np.repeat(dates.values, r),
    }
    for k, s in enumerate(spec.spheres):
        cols[f"share_{s}"] = traj.alignment[:, :, k].ravel()
    cols["axis"] = traj.axis.ravel()
    cols["drift"] = (traj.axis - traj.axis[0]).ravel()
    cols["leader"] = pd.Categorical.from_codes(
        np.argmax(traj.alignment, axis=-1).ravel(), categories=list(spec.spheres)
    )
    for k, name in enumerate(spec.routes):
        cols[f"route_{name}"] = traj.share[:, :, k].ravel()
    for k, name in enumerate(spec.routes):
        cols[f"capacity_{name}"] = traj.capacity[:, :, k].ravel()
    cols["revenue_lost"] = traj.pain.ravel()
    for i, a in enumerate(spec.actors):
        cols[f"threat_{a}"] = traj.threat[:, :, i].ravel()
    for i, a in enumerate(spec.actors):
        cols[f"investment_{a}"] = traj.investment[:, :, i].ravel()
    n = spec.n_actors
    for i in range(n):
        for j in range(i + 1, n):
            cols[f"rel_{spec.actors[i]}_{spec.actors[j]}"] = traj.relations[:, :, i, j].ravel()
    labels = np.array(["start", *spec.actions])
    for i, a in enumerate(spec.actors):
        acts = np.concatenate([np.full((1, r), -1), traj.actions[:, :, i]]) + 1
        cols[f"action_{a}"] = pd.Categorical.from_codes(acts.ravel(), categories=list(labels))
    for i, a in enumerate(spec.actors):
        pay = np.concatenate([np.full((1, r), np.nan), traj.payoffs[:, :, i]])
        cols[f"payoff_{a}"] = pay.ravel()
    frame = pd.DataFrame(cols)
    return frame.sort_values(["replicate", "step"], kind="stable").reset_index(drop=True)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through ``write(tmp_path)`` then rename onto ``path`` (same folder, so atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_json(obj: dict, path: Path) -> Path:
    def dump(p: Path) -> None:
        p.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")

    return atomic_write(path, dump)
