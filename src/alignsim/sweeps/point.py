"""One parameter point of an experiment sweep (``alignsim -m +experiment=NAME``).

Why one point per Hydra job, many replicates per point: a Hydra job costs about 1 s here (the
config is composed twice per job; measured in experiments/README.md, "Speed") while the ensemble
driver steps all replicates of a point at once; one replicate per job would spend most of a
sweep in Hydra.

Why common random numbers: by default (``experiment.streams: common``) replicate ``r`` of every
point runs on ``SeedSequence(seed, spawn_key=(r,))`` -- the very stream replicate ``r`` of the main
job, the validation and the calibration draw -- so the difference between two points is the
difference their parameters make, not sampling noise (with a stream per point, three values of a
parameter with no effect gave 0.0264 / 0.0218 / 0.0252). ``experiment.streams: independent``
gives each point its own streams, ``spawn_key=(point_key, r)``, for designs that want independent
samples. Either way results do not depend on the launcher, the number of workers or the order of
the jobs, and a point keeps its replicates when more are added.

Why a point key from resolved values: ``point_key`` is a stable hash of the point's overrides
(bookkeeping keys such as ``seed`` or ``replicates`` left out) with each value read back from the
composed config, so ``punish=0.50`` and ``punish=.5`` are one point (one key: the report counts
its rows once), whatever the spelling.

What a job leaves in its folder (written atomically, the marker last):
``point.parquet`` (one row per replicate: swept parameters, outcomes), ``trajectory.parquet``
(mean and 90 % band of the axis per month) and ``point.json`` (status, overrides, point key,
config hash, elapsed time, or the error line of a failed point). Each carries the point's
provenance (:func:`alignsim.results.provenance`: versions, git commit, seed, config hash, point
key) — in the parquet schema metadata, under ``"provenance"`` in the JSON. A failed point never
raises: the sweep goes on and the report names it. A job whose ``point.json`` already says
``completed`` for the same point key and config returns at once (re-running a sweep resumes it).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, ListConfig, OmegaConf

from alignsim import __version__
from alignsim.ensemble import Trajectory, run_ensemble
from alignsim.errors import error_line
from alignsim.kernel.calendar import Month, parse_month
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, compile_spec, rebalanced_routes
from alignsim.metrics import axis_crossing_step, band, leader, tipping_step
from alignsim.results import config_hash, provenance, write_json, write_parquet

log = logging.getLogger(__name__)

POINT_JSON = "point.json"
POINT_PARQUET = "point.parquet"
TRAJECTORY_PARQUET = "trajectory.parquet"

# Overrides that do not define the point: how many replicates, the base seed, the horizon (the
# same point key over a longer horizon draws the same uniforms for the common months), output and
# progress switches, and the choice of the experiment itself (common random numbers across
# presets that share a point).
NOT_POINT_KEYS = frozenset({
    "seed", "replicates", "months", "progress", "experiment", "batch",
    "experiment.replicates", "experiment.first_replicate",
})
NOT_POINT_PREFIXES = ("hydra", "output.", "experiment.design", "experiment.conditions")
# Of those, the ones a sweep may vary from point to point (a plain `alignsim -m seed=1,2,3`): when
# swept they define the point after all (a column of the results, part of its key), else two
# seeds would be read as one point with twice the replicates.
SWEEPABLE_BOOKKEEPING = frozenset({"seed", "replicates", "months", "experiment.replicates",
                                   "experiment.first_replicate"})


# ------------------------------------------------------------------------------ experiment meta
@dataclass(frozen=True)
class Experiment:
    """The ``experiment:`` block of a preset, checked (unknown knobs are rejected)."""

    name: str
    question: str = ""
    replicates: int = 50
    first_replicate: int = 0
    cpc_share: float | None = None
    balance_route: str = "china_east"
    rift: float | None = None
    rift_event: str = "Airliner shoot-down"
    rift_pair: tuple[str, str] = ("russia", "azerbaijan")
    window: dict[str, Any] | None = None
    labels: dict[str, str] = field(default_factory=dict)
    heatmap: tuple[str, ...] = ()
    streams: str = "common"  # "common": replicate r of every point on one stream; "independent"
    design: dict[str, Any] | None = None  # a sampled design (alignsim.sweeps.design), if any
    conditions: dict[str, str] = field(default_factory=dict)  # alignsim-discover's defaults
    extra: dict[str, Any] = field(default_factory=dict)

    FIELDS = ("name", "question", "replicates", "first_replicate", "cpc_share", "balance_route",
              "rift", "rift_event", "rift_pair", "window", "labels", "heatmap", "streams",
              "design", "conditions")
    STREAMS = ("common", "independent")

    def stream_key(self, point: int) -> tuple[int, ...]:
        """The ``spawn_key`` prefix of the point's replicate streams (empty: common numbers)."""
        return () if self.streams == "common" else (point,)

    @classmethod
    def from_config(cls, raw: Any) -> Experiment:
        if not isinstance(raw, dict):
            raise ConfigError("experiment", "must be a mapping with at least 'name'")
        if not raw.get("name"):
            raise ConfigError("experiment.name", "required (the preset's name)")
        known = {k: v for k, v in raw.items() if k in cls.FIELDS}
        # free parameters of a preset (swept values read through interpolations in its YAML)
        extra = {k: v for k, v in raw.items() if k not in cls.FIELDS}
        reps = known.get("replicates", 50)
        if not isinstance(reps, int) or isinstance(reps, bool) or reps < 1:
            raise ConfigError("experiment.replicates", f"must be an integer >= 1, got {reps!r}")
        first = known.get("first_replicate", 0)
        if not isinstance(first, int) or isinstance(first, bool) or first < 0:
            raise ConfigError("experiment.first_replicate",
                              f"must be an integer >= 0, got {first!r}")
        streams = known.get("streams", "common")
        if streams not in cls.STREAMS:
            raise ConfigError("experiment.streams",
                              f"unknown value {streams!r}; allowed: {', '.join(cls.STREAMS)}")
        if known.get("design") is not None:  # the design's parameters get its short labels
            from alignsim.sweeps.design import Design

            known["labels"] = {**Design.from_mapping(known["design"]).labels,
                               **(known.get("labels") or {})}
        for k in ("rift_pair", "heatmap"):
            if k in known and known[k] is not None:
                known[k] = tuple(known[k])
        if known.get("rift_pair") is not None and len(known["rift_pair"]) != 2:
            raise ConfigError("experiment.rift_pair", "must name two actors")
        return cls(**known, extra=extra)


# ------------------------------------------------------------------------------ point identity
def split_override(text: str) -> tuple[str, str]:
    """``'+a.b=1'`` -> ``('a.b', '1')`` (Hydra's ``+``, ``++`` and ``~`` prefixes dropped)."""
    key, _, value = text.partition("=")
    return key.lstrip("+~"), value


def is_point_override(key: str, keep: frozenset[str] = frozenset()) -> bool:
    """Whether an override key defines the point; ``keep``: bookkeeping keys the sweep varies
    (:data:`SWEEPABLE_BOOKKEEPING`), which then do."""
    if key in keep and key in SWEEPABLE_BOOKKEEPING:
        return True
    return key not in NOT_POINT_KEYS and not key.startswith(NOT_POINT_PREFIXES) and "/" not in key


def point_overrides(overrides: list[str], keep: frozenset[str] = frozenset()) -> list[str]:
    """The overrides that define the point, sorted (the order on the command line is irrelevant)."""
    return sorted(o for o in overrides if is_point_override(split_override(o)[0], keep))


def point_key(overrides: list[str], cfg: DictConfig | None = None,
              keep: frozenset[str] = frozenset()) -> int:
    """A stable 63-bit integer identifying the point (and, with independent streams, seeding it).

    With the composed ``cfg`` each point key's value is read back from it, so the key depends on
    the resolved values, not on how an override was spelled (``0.50``, ``.5`` and ``5e-1`` are one
    point). Without it (a job whose config could not be composed) the override text is used.
    """
    points = point_overrides(overrides, keep)
    if cfg is None:
        text = "\n".join(o.lstrip("+") for o in points)
    else:
        text = "\n".join(_resolved(cfg, o) for o in sorted(points, key=_sort_key))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def _sort_key(override: str) -> str:
    return split_override(override)[0]


def _resolved(cfg: DictConfig, override: str) -> str:
    """``key=<canonical value>`` read back from the composed config; the override's own text
    (``+``/``~`` dropped) where the config has no value there (a deleted key, a group that fills
    another node) or it cannot be resolved, so that no two different points share ``null``."""
    key = split_override(override)[0]
    try:
        value = OmegaConf.select(cfg, key, default=None)
        if isinstance(value, DictConfig | ListConfig):
            value = OmegaConf.to_container(value, resolve=True)
    except Exception:  # an interpolation that does not resolve: keep the spelling
        value = None
    if value is None:
        return override.lstrip("+~")
    return f"{key}={_canonical(value)}"


def _canonical(value: Any) -> str:
    """A spelling-free text of a config value: JSON with sorted keys, numbers as floats by their
    shortest repr (an int that means a float, ``1``, is ``1.0``), at every depth."""
    def norm(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        return v

    return json.dumps(norm(value), sort_keys=True, default=str)


def point_params(overrides: list[str], cfg: DictConfig, labels: dict[str, str],
                 keep: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Column name -> value of each point override, typed as in the composed config."""
    out: dict[str, Any] = {}
    for o in point_overrides(overrides, keep):
        key, raw = split_override(o)
        value = OmegaConf.select(cfg, key, default=None)
        if not isinstance(value, bool | int | float | str):
            value = raw  # a group choice or a container: keep the override's text
        if isinstance(value, int) and not isinstance(value, bool):
            value = float(value)  # a swept number is a float column whatever its spelling
        out[labels.get(key, key)] = value
    return dict(sorted(out.items()))


def job_overrides() -> list[str]:
    """The job's task overrides (empty outside a Hydra run, e.g. in a notebook)."""
    try:
        from hydra.core.hydra_config import HydraConfig

        return list(HydraConfig.get().overrides.task)
    except (ImportError, ValueError):
        return []


# ------------------------------------------------------------------------- experiment knobs
def point_replicates(exp: Experiment, overrides: list[str], replicates: int) -> Experiment:
    """The preset with the replicate count the command line gave, however it was spelled.

    Why: a preset's ``experiment.replicates`` sets how many replicates each point runs, and a
    plain ``replicates=20`` (the main job's key, ``replicates`` here as the typed config holds
    it) used to be silently ignored in a sweep. Now ``replicates=N`` sets it too; given both ways
    with different counts, the point fails with a message naming both keys.
    """
    given = {split_override(o)[0] for o in overrides}
    if "replicates" not in given:
        return exp
    if "experiment.replicates" in given and exp.replicates != replicates:
        raise ConfigError("replicates", f"{replicates} contradicts experiment.replicates="
                          f"{exp.replicates}; give the replicate count once")
    return dataclasses.replace(exp, replicates=int(replicates))


def apply_experiment(config: Config, exp: Experiment) -> Config:
    """A copy of ``config`` with the preset's derived knobs applied (route share, event rift).

    Only what the knobs change is copied (the routes, the events); the rest is shared with
    ``config``, which nothing changes afterwards: a whole ``deepcopy`` cost a few ms a point."""
    config = copy.copy(config)
    config.world = copy.copy(config.world)
    config.world.routes = routes = copy.deepcopy(config.world.routes)
    if exp.rift is not None:
        config.scenario = copy.copy(config.scenario)
        config.scenario.events = copy.deepcopy(config.scenario.events)
    if exp.cpc_share is not None:
        try:
            value = float(exp.cpc_share)
        except (TypeError, ValueError):
            raise ConfigError("experiment.cpc_share",
                              f"must be a fraction of exports, got {exp.cpc_share!r}") from None
        settings = rebalanced_routes(routes, "cpc", value, exp.balance_route,
                                     "experiment.cpc_share")
        for dotted, v in settings.items():
            name, attr = dotted.split(".")
            setattr(routes[name], attr, v)
    if exp.rift is not None:
        rift = float(exp.rift)
        if rift < 0:
            raise ConfigError("experiment.rift", f"must be >= 0 (a drop in relations), got {rift}")
        events = [e for e in config.scenario.events if e.name == exp.rift_event]
        if not events:
            names = ", ".join(repr(e.name) for e in config.scenario.events) or "none"
            raise ConfigError("experiment.rift_event",
                              f"no event named {exp.rift_event!r} in scenario "
                              f"{config.scenario.name!r}; events: {names}")
        pair = set(exp.rift_pair)
        rels = [r for r in events[0].effects.relations if {r.a, r.b} == pair]
        if not rels:
            raise ConfigError("experiment.rift_pair",
                              f"event {exp.rift_event!r} has no relation delta for "
                              f"{'–'.join(exp.rift_pair)}")
        rels[0].delta = -rift
    return config


# ------------------------------------------------------------------------------- outcomes
def neutrality(alignment: np.ndarray) -> np.ndarray:
    """Balance of alignment, ``(1 - Herfindahl) / (1 - 1/S)``: 1 = equal shares, 0 = one sphere."""
    s = alignment.shape[-1]
    return (1.0 - np.sum(alignment**2, axis=-1)) / (1.0 - 1.0 / s)


def state_index(traj: Trajectory, month: Month) -> int | None:
    """Index of the state on the first day of ``month``; None outside the run."""
    t = month.index_from(traj.spec.start)
    return t if 0 <= t <= traj.months else None


def outcome_frame(traj: Trajectory, params: dict[str, Any], key: int,
                  exp: Experiment) -> pd.DataFrame:
    """One row per replicate: the point's parameters, then its outcomes."""
    spec = traj.spec
    a = traj.axis
    r = a.shape[1]
    cols: dict[str, Any] = {name: np.repeat(np.asarray([v]), r) for name, v in params.items()}
    cols["point_key"] = np.full(r, key, dtype=np.int64)
    cols["replicate"] = traj.replicate_ids.astype(np.int64)
    cols["axis_start"] = a[0]
    t25 = state_index(traj, Month(2026, 1))  # end of 2025 = state on 1 Jan 2026
    cols["axis_2025"] = a[t25] if t25 is not None else np.full(r, np.nan)
    cols["drift_2025"] = cols["axis_2025"] - a[0]
    cols["axis_end"] = a[-1]
    cols["drift_end"] = a[-1] - a[0]
    lead = leader(traj)[-1]
    cols["leader_end"] = np.asarray(spec.spheres, dtype=object)[lead]
    for k, s in enumerate(spec.spheres):
        cols[f"share_{s}_end"] = traj.alignment[-1, :, k]
    cols["neutrality_end"] = neutrality(traj.alignment[-1])
    cols["tipping_step"] = tipping_step(traj).astype(np.int64)
    cols["axis_crossing_step"] = axis_crossing_step(traj).astype(np.int64)
    for j, name in enumerate(spec.actions):
        if name != "none":
            cols[f"n_{name}"] = (traj.actions == j).sum(axis=(0, 2)).astype(np.int64)
    if exp.window:
        start = exp.window.get("start")
        months = int(exp.window.get("months", 3))
        try:
            t0 = state_index(traj, parse_month(str(start)))
        except (ValueError, TypeError) as exc:
            raise ConfigError("experiment.window.start", f"a month 'YYYY-MM', got {start!r}") \
                from exc
        if t0 is None or t0 + months > traj.months:
            raise ConfigError("experiment.window",
                              f"{start} + {months} months lies outside the run "
                              f"({spec.start} + {traj.months} months)")
        t1 = t0 + months
        nt = neutrality(traj.alignment)
        cols["window_axis_before"] = a[t0]
        cols["window_axis_after"] = a[t1]
        cols["window_drift"] = a[t1] - a[t0]
        cols["window_neutrality_change"] = nt[t1] - nt[t0]
    return pd.DataFrame(cols)


def trajectory_frame(traj: Trajectory, params: dict[str, Any], key: int) -> pd.DataFrame:
    """Per month: mean and 90 % band of the axis, mean shares (for example-trajectory plots)."""
    spec = traj.spec
    t1 = traj.alignment.shape[0]
    b = band(traj.axis, axis_=1)
    cols: dict[str, Any] = {name: np.repeat(np.asarray([v]), t1) for name, v in params.items()}
    cols["point_key"] = np.full(t1, key, dtype=np.int64)
    cols["step"] = np.arange(t1, dtype=np.int64)
    cols["month"] = [str(spec.start.plus(t)) for t in range(t1)]
    cols["axis_mean"] = b["mean"]
    cols["axis_p05"] = b["p05"]
    cols["axis_median"] = b["median"]
    cols["axis_p95"] = b["p95"]
    for k, s in enumerate(spec.spheres):
        cols[f"share_{s}_mean"] = traj.alignment[:, :, k].mean(axis=1)
    return pd.DataFrame(cols)


# ------------------------------------------------------------------------------- the job
def read_record(path: Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def is_complete(out_dir: Path, key: int, chash: str, streams: str = "common") -> bool:
    """Whether ``out_dir`` already holds this very point, completed (resume)."""
    rec = read_record(out_dir / POINT_JSON)
    return bool(
        rec and rec.get("status") == "completed" and rec.get("point_key") == key
        and rec.get("config_hash") == chash and (out_dir / POINT_PARQUET).is_file()
        and rec.get("streams", "independent") == streams  # before 0.3.0: a stream per point
    )


def run_point(config: Config, cfg: DictConfig, out_dir: Path,
              overrides: list[str] | None = None, log_failure: bool = True,
              keep: frozenset[str] = frozenset()) -> dict:
    """Run one parameter point over the preset's replicates and record it in ``out_dir``.

    Never raises for a bad point (its error line goes to ``point.json``), so that one failure
    neither stops the sweep nor, under Hydra's basic launcher, skips the report at the end.
    ``overrides`` defaults to the Hydra job's task overrides; ``keep``: the bookkeeping keys the
    sweep varies (see :data:`SWEEPABLE_BOOKKEEPING`). A batch of points runs the same steps with
    the simulations of many points in one compiled call (:func:`alignsim.sweeps.batched.run_batch`).
    """
    job = prepare_point(config, cfg, out_dir, overrides, keep, log_failure)
    if job["status"] != "ready":
        return job
    try:
        traj = simulate_point(job)
    except Exception as exc:  # a failed point is recorded, never raised (see docstring)
        return fail_point(job, exc, log_failure)
    return finish_point(job, traj, log_failure)


def prepare_point(config: Config, cfg: DictConfig, out_dir: Path,
                  overrides: list[str] | None = None,
                  keep: frozenset[str] = frozenset(), log_failure: bool = True) -> dict:
    """Everything about a point but its simulation: ``status`` ``ready`` (with its record,
    experiment, parameters and config), ``skipped`` (already done) or ``failed`` (recorded)."""
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    overrides = job_overrides() if overrides is None else list(overrides)
    key = point_key(overrides, cfg, keep)
    chash = config_hash(config)
    prov = provenance(seed=config.seed, config=config, point_key=key)
    record: dict[str, Any] = {
        "alignsim_version": __version__,
        "experiment": None,
        "overrides": point_overrides(overrides, keep),
        "all_overrides": overrides,
        "point_key": key,
        "config_hash": chash,
        "seed": int(config.seed),
        "provenance": prov,
    }
    raw = config.experiment if isinstance(config.experiment, dict) else {}
    if is_complete(out_dir, key, chash, str(raw.get("streams", "common"))):
        log.info("skipped %s: already completed (%s)", out_dir, " ".join(record["overrides"]))
        return {"status": "skipped", "point_key": key}
    for name in (POINT_JSON, POINT_PARQUET, TRAJECTORY_PARQUET):
        (out_dir / name).unlink(missing_ok=True)  # a stale point must not pass for this one
    job = {"status": "ready", "point_key": key, "record": record, "prov": prov, "t0": t0,
           "out_dir": out_dir, "config": config, "overrides": overrides}
    try:
        exp = point_replicates(Experiment.from_config(config.experiment), overrides,
                               int(config.replicates))
        record["experiment"] = exp.name
        record["question"] = exp.question
        record["heatmap"] = list(exp.heatmap)
        params = point_params(overrides, cfg, exp.labels, keep)
        record["params"] = params
        record["replicates"] = exp.replicates
        record["first_replicate"] = exp.first_replicate
        record["streams"] = exp.streams
        job.update(exp=exp, params=params, point_config=apply_experiment(config, exp))
        if config.payoffs.draws:
            from alignsim.draws import check_not_overridden

            check_not_overridden(config.payoffs.draws, overrides)
        else:
            job["spec"] = compile_spec(job["point_config"])
    except Exception as exc:  # recorded, never raised
        return fail_point(job, exc, log_failure)
    job["prepare_s"] = time.perf_counter() - t0
    return job


def point_run(job: dict):
    """The point as a :class:`alignsim.ensemble.PointRun` (None: posterior draws, run alone)."""
    from alignsim.ensemble import PointRun

    if "spec" not in job:
        return None
    exp = job["exp"]
    return PointRun(job["spec"], exp.replicates, exp.stream_key(job["point_key"]),
                    exp.first_replicate)


def simulate_point(job: dict) -> Trajectory:
    """The point's replicates on their own (a batch runs many points at once instead)."""
    config, exp, record = job["config"], job["exp"], job["record"]
    if config.payoffs.draws:  # payoffs=posterior: each replicate takes one posterior draw
        from alignsim.draws import posterior_ensemble

        traj, which = posterior_ensemble(job["point_config"], config.payoffs.draws,
                                         replicates=exp.replicates,
                                         key=exp.stream_key(job["point_key"]),
                                         first_replicate=exp.first_replicate)
        record["draws_file"] = str(config.payoffs.draws)
        record["draw_of_replicate"] = [int(d) for d in which]
        record["band"] = ("replicate noise and parameter uncertainty (posterior draws, "
                          "one per replicate)")
        return traj
    return run_ensemble(job["spec"], exp.replicates, config.seed,
                        key=exp.stream_key(job["point_key"]),
                        first_replicate=exp.first_replicate)


def finish_point(job: dict, traj: Trajectory, log_failure: bool = True,
                 simulate_s: float | None = None) -> dict:
    """Write a simulated point's tables and its ``point.json`` (a failure to write is recorded).

    ``simulate_s``: the point's share of a batched call's time (its rows over the call's), so
    that the points' ``elapsed_s`` add up to the work done; left out, the time since prepared."""
    record, out_dir = job["record"], job["out_dir"]
    t_write = time.perf_counter()
    try:
        write_parquet(outcome_frame(traj, job["params"], job["point_key"], job["exp"]),
                      out_dir / POINT_PARQUET, job["prov"])
        write_parquet(trajectory_frame(traj, job["params"], job["point_key"]),
                      out_dir / TRAJECTORY_PARQUET, job["prov"])
    except Exception as exc:  # recorded, never raised
        return fail_point(job, exc, log_failure)
    record["status"] = "completed"
    record["drift_end_mean"] = round(float((traj.axis[-1] - traj.axis[0]).mean()), 6)
    if simulate_s is None:
        record["elapsed_s"] = round(time.perf_counter() - job["t0"], 3)
    else:
        record["elapsed_s"] = round(job.get("prepare_s", 0.0) + simulate_s
                                    + time.perf_counter() - t_write, 3)
    write_json(record, out_dir / POINT_JSON)
    log.info("point done in %.2f s: %s", record["elapsed_s"], " ".join(record["overrides"]))
    return {"status": "completed", "point_key": job["point_key"]}


def fail_point(job: dict, exc: BaseException, log_failure: bool = True) -> dict:
    """Record a point whose run failed: its error line in ``point.json``, no tables."""
    record, out_dir = job["record"], job["out_dir"]
    for name in (POINT_PARQUET, TRAJECTORY_PARQUET):
        (out_dir / name).unlink(missing_ok=True)
    record["status"] = "failed"
    record["error"] = error_line(exc)
    record["error_type"] = type(exc).__name__
    if log_failure:  # a single run reports it itself, as one line (alignsim.cli)
        log.error("point failed (%s): %s", " ".join(record["overrides"]), record["error"])
    record["elapsed_s"] = round(time.perf_counter() - job["t0"], 3)
    write_json(record, out_dir / POINT_JSON)
    return {"status": "failed", "point_key": job["point_key"], "error": record["error"]}


def record_failure(out_dir: Path, exc: BaseException,
                   overrides: list[str] | None = None, cfg: DictConfig | None = None,
                   keep: frozenset[str] = frozenset()) -> dict:
    """Record a job whose config could not even be read (bad input to one point of a sweep).

    Written like any failed point, so the report names it and a re-run retries it.
    """
    overrides = job_overrides() if overrides is None else list(overrides)
    key = point_key(overrides, cfg, keep)  # the composed config, where there is one: same key
    record = {
        "alignsim_version": __version__,
        "experiment": None,
        "overrides": point_overrides(overrides, keep),
        "all_overrides": overrides,
        "point_key": key,
        "status": "failed",
        "error": error_line(exc),
        "error_type": type(exc).__name__,
        "provenance": provenance(point_key=key),  # no config could be read: no seed, no hash
    }
    write_json(record, Path(out_dir) / POINT_JSON)
    log.error("point failed (%s): %s", " ".join(record["overrides"]), record["error"])
    return {"status": "failed", "point_key": key}


def command_line_value(value: Any) -> Any:
    """``value`` as Hydra reads it on the command line if it is text (``"8e-1"`` -> 0.8, ``"[1,2]"``
    -> a list), else unchanged."""
    if not isinstance(value, str):
        return value
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_override(f"x={value}").value()


def run_grid(experiment: str, grid: dict[str, list], directory: Path | str,
             overrides: list[str] | tuple[str, ...] = ()) -> Path:
    """Run a preset's points in this process, one job folder each, as ``alignsim -m`` would.

    For notebooks and tests: ``grid`` maps override keys to lists of values (their cartesian
    product is swept, the first key varying slowest, as in Hydra's basic sweeper); ``overrides``
    are fixed ones (``"experiment.replicates=20"``). The point keys come from the resolved values,
    as on the command line, so a point gives the same replicates here and in a CLI sweep. Read
    the folder with
    :func:`alignsim.sweeps.report.load_sweep`.
    """
    import itertools

    from alignsim.config import compose_dictconfig, to_config

    directory = Path(directory)
    fixed = [f"+experiment={experiment}", *overrides]
    base = compose_dictconfig(fixed)
    keys = list(grid)
    for num, values in enumerate(itertools.product(*(grid[k] for k in keys))):
        # a value given as text is read as Hydra reads a command-line value ("0.8" is 0.8), so the
        # point has the key it would have in an `alignsim -m` sweep
        values = [command_line_value(v) for v in values]
        point = [f"{k}={v}" for k, v in zip(keys, values, strict=True)]
        cfg = copy.deepcopy(base)
        for k, v in zip(keys, values, strict=True):
            OmegaConf.update(cfg, k, v, merge=False)
        run_point(to_config(cfg), cfg, directory / str(num), overrides=[*point, *fixed])
    return directory


__all__ = [
    "Experiment", "apply_experiment", "config_hash", "outcome_frame", "point_key",
    "point_overrides", "point_params", "run_grid", "run_point", "trajectory_frame",
]
