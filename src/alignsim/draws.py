"""Replicates with parameter uncertainty: replicate ``r`` runs with draw ``r mod n`` of a file of
posterior draws (``payoffs.draws``, written by ``alignsim-calibrate --posterior``).

A driver-level helper beside :mod:`alignsim.ensemble`, used by the main job and the sweeps, and
kept below them (and below :mod:`alignsim.validation`, which writes the draws) so that nothing
imports in a circle.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

from alignsim.ensemble import Trajectory, run_ensemble
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.tools import set_config_values


def read_draws(path: str | Path) -> tuple[list[str], np.ndarray]:
    """The dotted keys and the draws ``(n, k)`` of a draws file (see :func:`write_draws`)."""
    import pandas as pd

    from alignsim.config import conf_dir

    p = Path(path)
    if not p.is_file() and not p.is_absolute() and (conf_dir() / p).is_file():
        p = conf_dir() / p  # as conf/payoffs/posterior.yaml names it: relative to conf/
    if not p.is_file():
        raise ConfigError("payoffs.draws", f"no draws file {str(path)!r} (relative paths: to "
                                           "the working folder or to conf/)")
    frame = pd.read_csv(p, comment="#")
    if "draw" not in frame.columns or len(frame.columns) < 2 or frame.empty:
        raise ConfigError("payoffs.draws", f"{path}: expected columns draw,<dotted key>...")
    keys = [c for c in frame.columns if c != "draw"]
    return keys, frame[keys].to_numpy(float)


def check_not_overridden(draws_path: str | Path, overrides: list[str]) -> None:
    """Refuse an override of a key the draws set (``payoffs=posterior`` with
    ``payoffs.actors.russia.punish=0.5``, or a sweep over it): the draw would silently replace
    the value asked for, so the run would not be what the command line says."""
    keys, _ = read_draws(draws_path)
    given = {o.partition("=")[0].lstrip("+~") for o in overrides}
    for key in keys:
        if key in given:
            raise ConfigError(key, "is drawn per replicate from the posterior (payoffs.draws = "
                              f"{draws_path}): choose other payoffs to set it, or drop it")


def posterior_ensemble(config: Config, draws_path: str | Path, *, replicates: int | None = None,
                       key: tuple[int, ...] = (), first_replicate: int = 0,
                       progress: bool = False) -> tuple[Trajectory, np.ndarray]:
    """Run ``replicates`` (default ``config.replicates``) replicates from ``first_replicate``
    on, replicate ``r`` with draw ``r mod n`` of the draws file: parameter uncertainty beside
    replicate noise.

    Each draw's replicates run with their own compiled spec and keep their own stream
    ``spawn_key=(*key, r)`` (so replicate ``r`` is the same run whatever else ran; ``key`` is a
    sweep point's stream key). Returns the combined trajectory (its ``spec`` is the first draw's:
    names and calendar are common) and each replicate's draw index ``(R,)``. The sweeps call
    it with their point's ``replicates``, ``key`` and ``first_replicate``.
    """
    keys, draws = read_draws(draws_path)
    n = len(draws)
    r = int(config.replicates if replicates is None else replicates)
    ids = np.arange(first_replicate, first_replicate + r)
    which = ids % n
    parts: list[tuple[np.ndarray, Trajectory]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=r, desc="replicates (posterior draws)", leave=False, file=sys.stderr)
    for d in np.unique(which):
        spec = compile_spec(set_config_values(config, dict(zip(keys, draws[d], strict=True))))
        for i in np.flatnonzero(which == d):
            parts.append((np.array([i]), run_ensemble(spec, 1, config.seed, key=key,
                                                      first_replicate=int(ids[i]))))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return _combine(parts, r), which


def _combine(parts: list[tuple[np.ndarray, Trajectory]], r: int) -> Trajectory:
    first = parts[0][1]
    out = {}
    for f in dataclasses.fields(Trajectory):
        v = getattr(first, f.name)
        if f.name in ("spec", "extra") or v is None:
            continue
        if f.name == "replicate_ids":
            arr = np.empty(r, dtype=v.dtype)
            for idx, t in parts:
                arr[idx] = t.replicate_ids
        else:
            arr = np.empty((v.shape[0], r, *v.shape[2:]), dtype=v.dtype)
            for idx, t in parts:
                arr[:, idx] = getattr(t, f.name)
        out[f.name] = arr
    return Trajectory(spec=first.spec, **out)


__all__ = ["check_not_overridden", "posterior_ensemble", "read_draws"]
