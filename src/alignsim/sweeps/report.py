"""Aggregate an experiment sweep: one tidy table, a failures table and seaborn figures.

``alignsim-report DIR`` rebuilds them for any sweep folder; the Hydra callback
(:mod:`alignsim.sweeps.callbacks`) calls :func:`build_report` at the end of every experiment
multirun.

Why read the jobs' files rather than Hydra's job returns: under the joblib and submitit launchers
the parent process never sees the jobs' return values in ``on_job_end``; what every launcher
leaves behind is the folder of each job (``<sweep dir>/<job num>/point.json``, ``point.parquet``).

Written into ``DIR``: ``results.parquet`` (one row per point × replicate, sorted so that the file
is byte-identical whatever the launcher or job order), ``trajectories.parquet`` (per point and
month: axis mean and 90 % band), ``points.csv`` (per point: mean drift and leading-sphere
probabilities), ``failures.csv`` (only when a point failed or never finished) and the figures
``drift.png``, ``leader_heatmap.png`` and ``trajectories.png``.

The two parquet tables carry the sweep's provenance in their schema metadata
(:func:`sweep_provenance`: the versions and commit of the process that wrote them, the seed, each
completed point's config hash, a hash over those, and the distinct environments the points ran
in, read from their ``point.json``). It depends on the points only, never on the launcher, the
time or the job order, so the tables stay byte-identical whatever ran the sweep.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import json
import os
import pickle
import selectors
import signal
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
import pyarrow as pa

from alignsim.kernel.calendar import month_first_day
from alignsim.results import (
    PANDAS_ATTRS_KEY,
    atomic_write,
    canonical_json,
    provenance,
    write_parquet,
)
from alignsim.sweeps.point import POINT_JSON, POINT_PARQUET, TRAJECTORY_PARQUET, read_record

MANIFEST = "manifest.json"  # alignsim.sweeps.batched.MANIFEST (not imported: that loads Hydra)

RESULTS = "results.parquet"
TRAJECTORIES = "trajectories.parquet"
POINTS = "points.csv"
FAILURES = "failures.csv"
FIGURES = ("drift.png", "leader_heatmap.png", "trajectories.png")
KEY_COLUMNS = ("point_key", "replicate")


class ReportError(Exception):
    """A sweep folder that cannot be reported on (one line, exit status 2)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


@dataclass
class Sweep:
    """What the jobs of a sweep left behind."""

    directory: Path
    experiment: str | None
    question: str
    params: list[str]  # parameter columns (all points' overrides)
    swept: list[str]  # those that take more than one value
    heatmap: list[str]
    results: pd.DataFrame
    trajectories: pd.DataFrame
    failures: pd.DataFrame
    n_jobs: int
    elapsed_s: float
    files: list[str] = field(default_factory=list)
    # per completed point (by point key): its point.json provenance record
    point_provenance: dict[int, dict] = field(default_factory=dict)
    # jobs that ran a point another job had already run (the same resolved values, e.g.
    # `punish=0.5` and `punish=.50`): read once, so their replicates are not counted twice
    repeats: list[str] = field(default_factory=list)


def job_dirs(sweep_dir: Path) -> list[Path]:
    """Point folders: those holding a ``point.json`` or Hydra's ``.hydra/`` record, and those the
    batched sweeper's ``manifest.json`` lists (its jobs' own folders, ``batches/*``, hold no
    point)."""
    from alignsim.sweeps.batched import BATCHES_DIR, read_manifest

    found = {p.parent for p in sweep_dir.rglob(POINT_JSON)}
    found |= {p.parent.parent for p in sweep_dir.rglob(".hydra/overrides.yaml")}
    manifest = read_manifest(sweep_dir)
    if manifest is not None:
        found |= {sweep_dir / p["dir"] for p in manifest.get("points", [])}
    found = {p for p in found if p != sweep_dir
             and p.relative_to(sweep_dir).parts[0] != BATCHES_DIR}

    def order(p: Path) -> tuple:
        rel = p.relative_to(sweep_dir).parts
        return tuple((0, int(x), "") if x.isdigit() else (1, 0, x) for x in rel)

    return sorted(found, key=order)


def hydra_overrides(job: Path) -> list[str]:
    """A job's overrides from Hydra's record, or from the batched sweeper's manifest (for points
    that died before writing point.json)."""
    path = job / ".hydra" / "overrides.yaml"
    if not path.is_file():
        from alignsim.sweeps.batched import read_manifest

        manifest = read_manifest(job.parent) or {}
        for p in manifest.get("points", []):
            if p.get("dir") == job.name:
                return list(p.get("overrides", []))
        return []
    from omegaconf import OmegaConf

    return [str(x) for x in OmegaConf.load(path)]


def sort_frame(frame: pd.DataFrame, params: list[str], extra: tuple[str, ...]) -> pd.DataFrame:
    """Rows in a deterministic order (parameters, then point key and replicate or step)."""
    by = [c for c in (*params, *extra) if c in frame.columns]
    if frame.empty or not by:
        return frame.reset_index(drop=True)
    return frame.sort_values(by, kind="mergesort", na_position="last").reset_index(drop=True)


def read_table(path: Path) -> pa.Table:
    """A job's parquet file as ``pd.read_parquet`` reads it, left in Arrow (:func:`concat_tables`
    converts all of a sweep's at once).

    Why ``ParquetFile``: the dataset machinery behind ``pq.read_table`` (what pandas calls) costs
    three times as much on a small file (0.5 against 0.18 s for 400 files). A file it cannot read
    goes through that very call, so the errors keep the messages ``pd.read_parquet`` gives.
    """
    import pyarrow.parquet as pq

    try:
        with pq.ParquetFile(path) as handle:
            table = handle.read(use_pandas_metadata=True, use_threads=False)
    except (OSError, ValueError):
        table = pq.read_table(str(path), use_pandas_metadata=True)
    for key in (b"pandas", PANDAS_ATTRS_KEY.encode()):  # converted later, with the others: a
        raw = (table.schema.metadata or {}).get(key)  # file whose metadata cannot be is
        if raw is not None:  # unreadable now (a ValueError), as pd.read_parquet would make it
            json.loads(raw)
    return table


def concat_tables(tables: list[pa.Table], paths: list[Path]) -> pd.DataFrame:
    """``pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)``, converted once.

    Why: converting 400 small tables to pandas one by one was two thirds of the report's reading
    time (0.8 of 1.2 s on 200 points). Tables that share one schema, pandas metadata included,
    convert to the same frame concatenated as one by one; the result is also checked against
    what ``pd.read_parquet`` makes of the first file (its columns and dtypes), and anything else
    is read as before. ``attrs`` follow ``pd.concat``: kept when every file has the same.
    """
    if not tables:
        return pd.DataFrame()
    if _one_schema(tables):
        frame = pa.concat_tables(tables).to_pandas()
        if _same_layout(frame, pd.read_parquet(paths[0])):
            frame.attrs = _common_attrs(tables)
            return frame
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def _one_schema(tables: list[pa.Table]) -> bool:
    """Whether the tables have one Arrow schema and one pandas metadata (how to convert)."""
    first = tables[0].schema
    pandas_meta = (first.metadata or {}).get(b"pandas")
    return all(t.schema.equals(first) and (t.schema.metadata or {}).get(b"pandas") == pandas_meta
               for t in tables[1:])


def _same_layout(frame: pd.DataFrame, like: pd.DataFrame) -> bool:
    """Same columns (and their index's dtype), dtypes and kind of index."""
    return (frame.columns.equals(like.columns) and frame.columns.dtype == like.columns.dtype
            and frame.dtypes.equals(like.dtypes) and type(frame.index) is type(like.index))


def _common_attrs(tables: list[pa.Table]) -> dict:
    """The ``attrs`` pd.concat gives the frames ``pd.read_parquet`` restores them on (from the
    ``PANDAS_ATTRS`` metadata): theirs if all have the same non-empty ones, else none."""
    raw = [(t.schema.metadata or {}).get(PANDAS_ATTRS_KEY.encode()) for t in tables]
    if any(r is None for r in raw):
        return {}
    attrs = [json.loads(r) for r in raw]
    return copy.deepcopy(attrs[0]) if all(a and a == attrs[0] for a in attrs) else {}


def load_sweep(sweep_dir: Path | str) -> Sweep:
    """Read every job of ``sweep_dir``; completed points into tables, the others as failures."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.is_dir():
        raise ReportError("DIR", f"no such folder: {sweep_dir}")
    jobs = job_dirs(sweep_dir)
    if not any((j / POINT_JSON).is_file() for j in jobs) and not (sweep_dir / MANIFEST).is_file():
        raise ReportError("DIR", f"no experiment job (*/{POINT_JSON}) under {sweep_dir}")
    frames: list[pa.Table] = []
    trajs: list[pa.Table] = []
    frame_paths: list[Path] = []
    traj_paths: list[Path] = []
    failures: list[dict] = []
    params: set[str] = set()
    experiment, question, heatmap = None, "", []
    elapsed = 0.0
    prov: dict[int, dict] = {}
    repeats: list[str] = []
    seen: set[tuple[int, str | None]] = set()  # (point key, config hash) of the points read
    for job in jobs:
        rel = str(job.relative_to(sweep_dir))
        rec = read_record(job / POINT_JSON)
        if rec is None:
            failures.append({"job": rel, "overrides": " ".join(hydra_overrides(job)),
                             "error": "no point.json: the job did not finish (killed or running)"})
            continue
        experiment = experiment or rec.get("experiment")
        question = question or rec.get("question", "")
        heatmap = heatmap or list(rec.get("heatmap") or [])
        elapsed += float(rec.get("elapsed_s", 0.0))
        if rec.get("status") != "completed":
            failures.append({"job": rel, "overrides": " ".join(rec.get("overrides", [])),
                             "error": rec.get("error", f"status {rec.get('status')!r}")})
            continue
        # the same point with the same config again (e.g. `punish=0.5` and `punish=.50`): its rows
        # are already in. A job that shares only the key (another seed, months, replicate range:
        # keys leave those out) is a different run and is kept.
        ident = (int(rec["point_key"]), rec.get("config_hash"))
        if ident in seen:
            repeats.append(rel)
            continue
        seen.add(ident)
        try:
            frame = read_table(job / POINT_PARQUET)
        except (OSError, ValueError) as exc:
            failures.append({"job": rel, "overrides": " ".join(rec.get("overrides", [])),
                             "error": f"{POINT_PARQUET} unreadable: {exc}"})
            continue
        params |= set(rec.get("params", {}))
        frames.append(frame)
        frame_paths.append(job / POINT_PARQUET)
        prov[int(rec["point_key"])] = {"seed": rec.get("seed"),
                                       "config_hash": rec.get("config_hash"),
                                       **(rec.get("provenance") or {})}
        if (job / TRAJECTORY_PARQUET).is_file():
            trajs.append(read_table(job / TRAJECTORY_PARQUET))
            traj_paths.append(job / TRAJECTORY_PARQUET)
    plist = sorted(params)
    results = concat_tables(frames, frame_paths)
    if not results.empty:
        lead = [c for c in (*plist, *KEY_COLUMNS) if c in results.columns]
        results = results[lead + [c for c in results.columns if c not in lead]]
    results = sort_frame(results, plist, KEY_COLUMNS)
    trajectories = sort_frame(concat_tables(trajs, traj_paths), plist, ("point_key", "step"))
    swept = [p for p in plist if p in results.columns and results[p].nunique(dropna=False) > 1]
    heatmap = [h for h in heatmap if h in swept] or swept[:2]
    return Sweep(
        directory=sweep_dir, experiment=experiment, question=question, params=plist,
        swept=swept, heatmap=heatmap[:2], results=results, trajectories=trajectories,
        failures=pd.DataFrame(failures, columns=["job", "overrides", "error"]),
        n_jobs=len(jobs), elapsed_s=elapsed, point_provenance=dict(sorted(prov.items())),
        repeats=repeats,
    )


def sweep_provenance(sweep: Sweep) -> dict:
    """The provenance record of a sweep's tables (see the module docstring).

    ``config_hash`` is the SHA-256 of the canonical JSON of ``{point key: point config hash}``:
    two tables with the same hash were made from the same configs, point by point. ``seed`` is
    the points' common seed (None if they differ; all of them are in ``seeds``).
    """
    points = {str(k): p.get("config_hash") for k, p in sweep.point_provenance.items()}
    seeds = sorted({p["seed"] for p in sweep.point_provenance.values()
                    if p.get("seed") is not None})
    envs: dict[str, dict] = {}
    for p in sweep.point_provenance.values():
        env = {k: v for k, v in p.items() if k not in ("seed", "config_hash", "point_key")}
        if env:
            envs.setdefault(canonical_json(env), env)
    return provenance(
        seed=seeds[0] if len(seeds) == 1 else None,
        config_hash=hashlib.sha256(canonical_json(points).encode()).hexdigest(),
        experiment=sweep.experiment,
        seeds=seeds,
        point_config_hashes=points,
        point_environments=[envs[k] for k in sorted(envs)],
    )


def spheres_of(results: pd.DataFrame) -> list[str]:
    return [c[len("share_"):-len("_end")] for c in results.columns
            if c.startswith("share_") and c.endswith("_end")]


def point_table(sweep: Sweep) -> pd.DataFrame:
    """Per point: replicates, mean drift (and its 95 % normal interval), leader probabilities."""
    res = sweep.results
    by = [p for p in sweep.params if p in res.columns] + ["point_key"]
    g = res.groupby(by, sort=True, dropna=False)
    table = g.agg(replicates=("replicate", "size"), drift_end_mean=("drift_end", "mean"),
                  drift_end_sd=("drift_end", "std"), axis_end_mean=("axis_end", "mean"))
    table["drift_end_ci95"] = 1.96 * table["drift_end_sd"].fillna(0) / np.sqrt(
        table["replicates"])
    keys = [res[c] for c in by]  # a groupby mean of the 0/1 hits, not a Python call per group
    for s in spheres_of(res):
        table[f"p_leader_{s}"] = (res["leader_end"] == s).groupby(keys, sort=True,
                                                                   dropna=False).mean()
    if "window_drift" in res.columns:
        table["window_drift_mean"] = g["window_drift"].mean()
        table["window_neutrality_change_mean"] = g["window_neutrality_change"].mean()
    return table.reset_index()


# ------------------------------------------------------------------------------- figures
def _plt():
    """pyplot and seaborn in the report's look (the package's theme at "paper" size)."""
    from alignsim.plots import theme

    return theme("paper")


MAX_LEVELS = 12  # a parameter with more values than this was sampled (a design): it is binned
BINS = 8  # quantile bins of a sampled parameter in the figures


def is_sampled(res: pd.DataFrame, p: str) -> bool:
    return pd.api.types.is_numeric_dtype(res[p]) and res[p].nunique() > MAX_LEVELS


def levels(res: pd.DataFrame, p: str) -> pd.Series:
    """``p`` as the figures show it: its values on a grid, the midpoints of ``BINS`` quantile
    bins when it was sampled (thousands of distinct values would make one point each)."""
    if not is_sampled(res, p):
        return res[p]
    bins = pd.qcut(res[p], BINS, duplicates="drop")
    return bins.map(lambda b: float(f"{b.mid:.4g}")).astype(float)


def partner(sweep: Sweep, p: str) -> str | None:
    """The parameter drawn as one line per value beside ``p`` (grids only): the other heatmap
    parameter, else the first other swept one with a handful of values."""
    res = sweep.results
    others = [q for q in (*sweep.heatmap, *sweep.swept) if q != p and not is_sampled(res, q)]
    return others[0] if others and not is_sampled(res, p) else None


def caption(sweep: Sweep, p: str, hue: str | None) -> str:
    """What a panel averaged over (the interaction it can and cannot show)."""
    rest = [q for q in sweep.swept if q not in (p, hue)]
    over = f"{len(rest)} other parameter(s)" if len(rest) > 2 else ", ".join(rest)
    head = (f"{BINS} quantile bins" if is_sampled(sweep.results, p) else
            f"one line per {hue}" if hue else "")
    tail = f"mean over {over} and replicates" if rest else "mean over replicates"
    return "; ".join(x for x in (head, tail) if x)


def drift_figure(sweep: Sweep):
    """Drift of the axis against each swept parameter, mean with a 95 % bootstrap band.

    Why one line per value of a second parameter: pooled over the other parameters, an effect
    that lives in one corner of a grid shows as a main effect; the lines show where it lives.
    Sampled parameters are binned (their other parameters are spread evenly by the design, so a
    binned line is the parameter's main effect). Each panel's caption says what it averaged over.
    """
    plt, sns = _plt()
    res = sweep.results
    outcomes = [("drift_end", "drift of the axis by the end")]
    if "window_drift" in res.columns:
        outcomes += [("window_drift", "axis change in the window"),
                     ("window_neutrality_change", "neutrality change in the window")]
    params = sweep.swept or sweep.params[:1]
    ncol = max(min(len(params), 4), 1)
    rows_per = -(-max(len(params), 1) // ncol)
    fig, axes = plt.subplots(len(outcomes) * rows_per, ncol, squeeze=False,
                             figsize=(3.6 * ncol, 3.0 * len(outcomes) * rows_per))
    for ax in axes.flat:
        ax.set_visible(False)
    for i, (col, label) in enumerate(outcomes):
        for j, p in enumerate(params):
            ax = axes[i * rows_per + j // ncol][j % ncol]
            ax.set_visible(True)
            hue = partner(sweep, p) if p in res.columns else None
            data = res.assign(**{p: levels(res, p)}) if p in res.columns else res
            sns.lineplot(data=data, x=p, y=col, hue=hue, errorbar=("ci", 95), n_boot=300,
                         seed=0, marker="o", ax=ax, palette="viridis" if hue else None)
            ax.axhline(0.0, color="0.5", lw=0.8, ls=":")
            ax.set_ylabel(label if j % ncol == 0 else "")
            if p in res.columns:
                ax.set_title(caption(sweep, p, hue), fontsize=7)
            if hue:
                ax.legend(title=hue, fontsize=6, title_fontsize=6)
    fig.suptitle(f"{sweep.experiment}: Russian–Turkic axis (> 0 leans Turkic), mean and 95 % CI "
                 f"over {len(res)} runs", fontsize=9)
    fig.tight_layout()
    return fig


def leader_heatmap_figure(sweep: Sweep):
    """Probability that each sphere leads at the end, over two swept parameters."""
    plt, sns = _plt()
    res = sweep.results
    spheres = spheres_of(res)
    if len(sweep.heatmap) >= 2:
        x, y = sweep.heatmap[:2]
        fig, axes = plt.subplots(1, len(spheres), figsize=(3.4 * len(spheres), 3.2),
                                 squeeze=False)
        binned = res.assign(**{x: levels(res, x), y: levels(res, y)})
        for ax, s in zip(axes[0], spheres, strict=True):
            grid = (binned.assign(lead=(res["leader_end"] == s).astype(float))
                    .pivot_table(index=y, columns=x, values="lead", aggfunc="mean"))
            sns.heatmap(grid.sort_index(ascending=False), vmin=0, vmax=1, cmap="mako",
                        annot=grid.size <= 36, fmt=".2f", cbar=ax is axes[0][-1], ax=ax)
            ax.set_title(f"P({s} leads at the end)")
    else:
        p = (sweep.swept or sweep.params or ["point_key"])[0]
        grid = pd.DataFrame({s: (res["leader_end"] == s).groupby(levels(res, p)).mean()
                             for s in spheres}).T
        fig, ax = plt.subplots(figsize=(4 + 0.4 * grid.shape[1], 3))
        sns.heatmap(grid, vmin=0, vmax=1, cmap="mako", annot=grid.size <= 60, fmt=".2f", ax=ax)
        ax.set_title("P(sphere leads at the end)")
    sampled = [p for p in sweep.heatmap if p in res.columns and is_sampled(res, p)]
    fig.suptitle(f"{sweep.experiment}: leading sphere at the end (share of replicates, "
                 f"other parameters pooled"
                 + (f"; {', '.join(sampled)} in {BINS} quantile bins" if sampled else "") + ")",
                 fontsize=9)
    fig.tight_layout()
    return fig


def trajectories_figure(sweep: Sweep):
    """Example trajectories: the points with the lowest, median and highest mean drift."""
    plt, sns = _plt()
    table = point_table(sweep).sort_values(["drift_end_mean", "point_key"], kind="mergesort")
    picks = table.iloc[sorted({0, len(table) // 2, len(table) - 1})]
    tr = sweep.trajectories
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    palette = sns.color_palette("deep", len(picks))
    ranks = ["lowest", "median", "highest"] if len(picks) == 3 else ["lowest", "highest"][
        :len(picks)]
    for color, rank, (_, row) in zip(palette, ranks, picks.iterrows(), strict=True):
        d = tr[tr["point_key"] == row["point_key"]]
        when = pd.to_datetime([month_first_day(m) for m in d["month"]])
        if len(sweep.swept) <= 3:  # the values fit in a legend; else the key finds them
            label = ", ".join(f"{p}={row[p]:g}" if isinstance(row[p], float) else f"{p}={row[p]}"
                              for p in sweep.swept) or "point"
        else:
            label = f"{rank} mean drift: point_key {int(row['point_key'])} (values in points.csv)"
        ax.plot(when, d["axis_mean"], color=color, label=label)
        ax.fill_between(when, d["axis_p05"], d["axis_p95"], color=color, alpha=0.15)
    ax.axhline(0.0, color="0.5", lw=0.8, ls=":")
    ax.set_ylabel("axis w_turkic − w_russian")
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{sweep.experiment}: mean axis and 90 % band — lowest, median and highest "
                 f"mean drift", fontsize=9)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------- report
def build_report(sweep_dir: Path | str, figures: bool = True) -> Sweep:
    """Write the tables (and figures) of a sweep folder; return what was read.

    Why a child process: the figures are most of the report's time (2.4 of 3.4 s on 200 points)
    and pure Python under one interpreter lock, so with two CPUs a forked child draws
    ``FORKED`` (about half of it) while this process writes the tables and draws the others.
    What the child does not deliver (no fork, an error, a crash, a hang) is drawn here, so a
    figure's error is raised here as it always was.
    """
    sweep = load_sweep(sweep_dir)
    draw = figures and not sweep.results.empty
    child = _ForkedFigures.start(sweep, FORKED) if draw else None
    try:
        files = write_tables(sweep)
        if draw:
            files += write_figures(sweep, child)
    finally:
        if child is not None:
            child.stop()
    sweep.files = files
    return sweep


def write_tables(sweep: Sweep) -> list[str]:
    """Write the parquet tables, points.csv and failures.csv (remove those with nothing in)."""
    d = sweep.directory
    files = []
    if not sweep.results.empty:
        prov = sweep_provenance(sweep)
        files.append(str(write_parquet(sweep.results, d / RESULTS, prov)))
        if not sweep.trajectories.empty:
            files.append(str(write_parquet(sweep.trajectories, d / TRAJECTORIES, prov)))
        table = point_table(sweep)
        files.append(str(atomic_write(d / POINTS,
                                      lambda p: table.to_csv(p, index=False, float_format="%.6g"))))
    else:
        for name in (RESULTS, TRAJECTORIES, POINTS):
            (d / name).unlink(missing_ok=True)
    if len(sweep.failures):
        files.append(str(atomic_write(d / FAILURES,
                                      lambda p: sweep.failures.to_csv(p, index=False))))
    else:
        (d / FAILURES).unlink(missing_ok=True)
    return files


def write_figures(sweep: Sweep, child: _ForkedFigures | None = None) -> list[str]:
    """Draw and write ``FIGURES``: those ``child`` draws taken from it, each other one written as
    soon as drawn here (an error in one leaves those drawn before it written, and none of the
    child's)."""
    def write(name: str, png: bytes) -> str:
        return str(atomic_write(sweep.directory / name, lambda p: p.write_bytes(png)))

    files = {name: write(name, render_figure(sweep, name)) for name in FIGURES
             if child is None or name not in child.names}
    pngs = (child.result() if child is not None else None) or {}
    for name in FIGURES:
        if name not in files:
            files[name] = write(name, pngs[name] if name in pngs else render_figure(sweep, name))
    return [files[name] for name in FIGURES]


def render_figure(sweep: Sweep, name: str) -> bytes:
    """The PNG of figure ``name`` (one of ``FIGURES``)."""
    from alignsim.plots import figure_png

    make = {"drift.png": drift_figure, "leader_heatmap.png": leader_heatmap_figure,
            "trajectories.png": trajectories_figure}[name]
    return figure_png(make(sweep), dpi=110, tight=True)


FORKED = ("drift.png",)  # the child's share: ~1.2 s of the 2.4 s the figures take on 200 points
CHILD_GRACE_S = 60.0  # how long past 3 × its expected time a child is waited for (then: a hang)


@dataclass
class _ForkedFigures:
    """A forked child drawing ``names``; its PNGs (and warnings) come back through a pipe.

    The child only draws and writes its pickled result to the pipe, then leaves by ``os._exit``
    (no exit handlers, no flushing of buffers it shares with this process); the files are
    written here. It inherits the sweep as read and the plotting stack imported, so nothing is
    pickled or imported again.
    """

    pid: int
    fd: int  # read end of the pipe
    names: tuple[str, ...]
    started: float
    done: bool = False

    @classmethod
    def start(cls, sweep: Sweep, names: tuple[str, ...]) -> _ForkedFigures | None:
        """Fork the child; None (draw everything here) with a single CPU, or off Linux: fork is
        Linux's default way to start processes, while macOS's system libraries are not safe in
        a forked child, and Windows has no fork."""
        if not sys.platform.startswith("linux") or _cpus() < 2:
            return None
        try:  # imported here first: a module lock that another thread (the callback's preload)
            # holds at the fork would stay held in the child, and hang its import
            import alignsim.plots  # noqa: F401
        except Exception:  # drawn here, after the tables: the error is raised then
            return None
        read, write = os.pipe()
        parent = os.getpid()
        try:
            pid = _fork()
        except OSError:
            os.close(read)
            os.close(write)
            return None
        if pid == 0:  # the child: never returns
            try:
                os.close(read)
                _child_main(sweep, names, write, parent)
            finally:
                os._exit(1)
        os.close(write)
        return cls(pid, read, names, time.monotonic())

    def result(self) -> dict[str, bytes] | None:
        """The child's PNGs, its warnings issued again here; None if it failed, died or hung."""
        timeout = CHILD_GRACE_S + 3 * (time.monotonic() - self.started)
        data = _read_pipe(self.fd, timeout)
        self.stop(kill=data is None)  # delivered: it is leaving by itself
        try:
            pngs, caught = pickle.loads(data) if data else (None, [])
        except Exception:  # cut short: the child died while writing
            return None
        for message, category, filename, lineno in caught:
            warnings.warn_explicit(message, category, filename, lineno)
        return pngs

    def stop(self, kill: bool = True) -> None:
        """Close the pipe, end the child (``kill``) and reap it (once). A child that delivered
        is not signalled: reaped elsewhere (a SIGCHLD handler), its number could be another's."""
        if self.done:
            return
        self.done = True
        os.close(self.fd)
        if kill:  # not yet reaped: it has not delivered, so it cannot have been waited for
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # reaped by a SIGCHLD handler
            os.waitpid(self.pid, 0)


def _cpus() -> int:
    """CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _fork() -> int:
    """``os.fork()``, without Python 3.12's warning about forking a process that has threads.

    Why it is safe here: this process's other threads are native pools (BLAS, Arrow) that
    register their own fork handlers, and the plotting stack is imported before the fork
    (see :meth:`_ForkedFigures.start`); should a child still hang, it is killed after
    ``CHILD_GRACE_S`` and its figures are drawn here.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r".*use of fork\(\) may lead to deadlocks",
                                DeprecationWarning)
        return os.fork()


def _child_main(sweep: Sweep, names: tuple[str, ...], fd: int, parent: int) -> NoReturn:
    """Draw ``names``, write ``(pngs, warnings)`` pickled to ``fd``, and exit at once.

    The child dies with its parent (a parent killed while the child hangs would otherwise leave
    it holding the parent's output pipes open)."""
    code = 1
    try:
        _die_with_parent(parent)
        with warnings.catch_warnings(record=True) as caught:
            pngs = {name: render_figure(sweep, name) for name in names}
        payload = pickle.dumps((pngs, [(w.message, w.category, w.filename, w.lineno)
                                       for w in caught]))
        with open(fd, "wb") as pipe:
            pipe.write(payload)
        code = 0
    except BaseException:  # the parent draws these figures itself, and raises their error
        pass
    finally:
        os._exit(code)


def _die_with_parent(parent: int) -> None:
    """Ask Linux to kill this process when its parent ``parent`` ends (``PR_SET_PDEATHSIG``)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent ended before the request
        os._exit(1)


def _read_pipe(fd: int, timeout: float) -> bytes | None:
    """All of ``fd`` up to its end, or None if it has not ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    chunks = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while selector.select(max(deadline - time.monotonic(), 0.0)):
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    return None


def format_report(sweep: Sweep) -> str:
    res = sweep.results
    n_points = res["point_key"].nunique() if not res.empty else 0
    lines = [f"alignsim-report: experiment '{sweep.experiment or 'sweep'}' in {sweep.directory}: "
             f"{n_points} of {sweep.n_jobs - len(sweep.repeats)} points completed, "
             f"{len(res)} runs, "
             f"{len(sweep.failures)} failed or unfinished (jobs' own time {sweep.elapsed_s:.1f} s)"]
    if sweep.repeats:
        lines.append(f"  {len(sweep.repeats)} job(s) repeat a point another job ran (the same "
                     f"resolved values), counted once: {', '.join(sweep.repeats)}")
    if not res.empty:
        lines.append(f"  swept: {', '.join(sweep.swept) or '(one point)'}; drift of the axis by "
                     f"the end: mean {res['drift_end'].mean():+.3f}, range of point means "
                     f"{res.groupby('point_key')['drift_end'].mean().min():+.3f} .. "
                     f"{res.groupby('point_key')['drift_end'].mean().max():+.3f}")
        lead = res["leader_end"].value_counts(normalize=True).sort_index()
        lines.append("  leading sphere at the end: "
                     + ", ".join(f"{k} {v:.0%}" for k, v in lead.items()))
    for _, f in sweep.failures.iterrows():
        lines.append(f"  FAILED job {f['job']} ({f['overrides']}): {f['error']}")
    if sweep.files:
        lines.append("  wrote: " + ", ".join(Path(f).name for f in sweep.files))
    return "\n".join(lines)


class _OneLineParser(argparse.ArgumentParser):
    """argparse with the project's error convention: one line, exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    parser = _OneLineParser(
        prog="alignsim-report",
        description="Rebuild results.parquet, failures and figures of an experiment sweep folder.")
    parser.add_argument("directory", metavar="DIR", help="the sweep folder (hydra.sweep.dir)")
    parser.add_argument("--no-figures", action="store_true", help="write the tables only")
    parser.add_argument("--json", action="store_true",
                        help="also print a JSON line with counts and files")
    args = parser.parse_args(argv)
    try:
        sweep = build_report(Path(args.directory), figures=not args.no_figures)
    except ReportError as exc:
        print(f"alignsim-report: error: {exc.key}: {exc.message}", file=sys.stderr)
        sys.exit(2)
    print(format_report(sweep))
    if args.json:
        print(json.dumps({"points": int(sweep.results["point_key"].nunique())
                          if not sweep.results.empty else 0,
                          "runs": len(sweep.results), "failures": len(sweep.failures),
                          "files": sweep.files}))


if __name__ == "__main__":
    main()
