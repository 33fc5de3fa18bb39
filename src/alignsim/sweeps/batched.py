"""Hydra sweeps that batch: many parameter points in each Hydra job.

Why: a Hydra job costs about a second here before the model runs (the launcher composes and sets
up every job, and the basic sweeper composes each one once more to check it), while the points of
a sweep differ in a few values only. The ``batched`` sweeper (the default:
``conf/hydra/sweeper/batched.yaml``) expands a sweep exactly as Hydra's basic sweeper does -- the
cartesian product of every ``key=a,b,c``, the first key varying slowest, then the points of a
preset's sampled ``design:`` (:mod:`alignsim.sweeps.design`) -- and hands the points to
``hydra.sweeper.batches`` jobs (default: the launcher's workers; 1 for the basic launcher).

Each job composes its config once, then, for each of its points, applies the point's overrides
in-process with Hydra's own override rules (a point that changes a config group, such as
``policy=logit,foresight``, is composed afresh, once per distinct group choice), checks it with
the same schema, and runs it as one point of the sweep in ``<sweep dir>/<point number>/`` --
the same files, resume and failure isolation as a one-point job (:func:`run_point`): a bad point
is recorded and named, the others go on. Which job ran a point never changes its result (its
replicates' streams depend on the seed, the replicate and, with independent streams, the point's
resolved values only), so the tables are byte-identical whatever the launcher or batch count.

A plain multirun (no ``+experiment``) is a sweep too: each point is run as the main job's
scenario over ``replicates`` replicates and recorded as a point (summaries and monthly bands,
not the full trajectory), so every multirun ends with ``results.parquet``, ``points.csv`` and
figures. ``manifest.json`` in the sweep folder lists every point and its folder, so the report
can name the points that never ran (a batch killed midway).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from alignsim.kernel.spec import ConfigError
from alignsim.results import write_json

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
BATCH_KEY = "batch"  # the top-level key (``+batch=N``) that tells a job which points are its own
BATCHES_DIR = "batches"  # the jobs' own Hydra folders (logs, .hydra), apart from the points'


# --------------------------------------------------------------------------- the sweep
def launcher_workers(config: DictConfig) -> int:
    """How many jobs the configured launcher runs at once (the default batch count)."""
    target = str(OmegaConf.select(config, "hydra.launcher._target_", default="") or "")
    if target.endswith("BasicLauncher"):
        return 1
    n = OmegaConf.select(config, "hydra.launcher.n_jobs", default=None)
    if isinstance(n, int) and n > 0:
        return n
    return os.cpu_count() or 1


def batch_count(batches: Any, config: DictConfig, points: int) -> int:
    """The number of jobs: ``hydra.sweeper.batches`` or the launcher's workers, at most one per
    point."""
    if batches is None:
        batches = launcher_workers(config)
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise ConfigError("hydra.sweeper.batches",
                          f"must be an integer >= 1 or null (the launcher's workers), "
                          f"got {batches!r}")
    return max(1, min(batches, points))


def expand(lists: list[list[str]], design: list[list[str]]) -> list[list[str]]:
    """The points: the cartesian product of the swept lists (first key slowest), each combined
    with every point of the sampled design (if any)."""
    import itertools

    grid = [list(p) for p in itertools.product(*lists)]
    if not design:
        return grid
    return [[*g, *d] for g in grid for d in design]


def write_manifest(sweep_dir: Path, plan: SweepPlan) -> None:
    """``manifest.json``: every point, its overrides, its folder and its batch (round robin, so
    that a slow corner of a grid is shared by every job)."""
    rows = []
    for num, point in enumerate(plan.points):
        keys = [p.split("=", 1)[0].lstrip("+~") for p in point]
        rows.append({
            "num": num, "dir": str(num), "batch": num % plan.batches,
            "overrides": [*plan.fixed, *point],
            "groups": [p for p, k in zip(point, keys, strict=True) if k in plan.groups],
            "values": [p for p, k in zip(point, keys, strict=True) if k not in plan.groups],
        })
    write_json({"fixed": plan.fixed, "batches": plan.batches, "swept": sorted(plan.swept),
                "points": rows}, sweep_dir / MANIFEST)


def read_manifest(sweep_dir: Path) -> dict | None:
    try:
        return json.loads((Path(sweep_dir) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep runs: the overrides every point shares, each point's own, and the jobs."""

    fixed: list[str]
    points: list[list[str]]  # each point's own overrides (grid, then design)
    groups: set[str]  # swept keys that choose a config group (composed per choice)
    swept: set[str]  # every key that varies between points
    batches: int


def plan_sweep(parsed: list, is_group: Callable[[str], bool], config: DictConfig,
               batches: Any) -> SweepPlan:
    """Split parsed overrides into the fixed ones and the points (grid x design), and choose the
    batch count."""
    from alignsim.sweeps.design import design_points

    # one entry per key, the last given winning (a preset's hydra.sweeper.params come first, the
    # command line after), in the order keys first appear: Hydra's basic sweeper does the same
    # (keyed without Hydra's +, ++ and ~ prefixes: `++k=3` replaces a preset's `k: 1,2`)
    entries: dict[str, list[str]] = {}
    groups: set[str] = set()
    for o in parsed:
        key = o.get_key_element()
        bare = key.lstrip("+~")
        if o.is_sweep_override():
            if not o.is_discrete_sweep():
                raise ConfigError(key, "only lists (a,b,c), choice() and range() can be swept "
                                  "here; give ranges to a preset's experiment.design block")
            if bare.startswith("experiment.design"):
                raise ConfigError(bare, "the design is drawn once per sweep: give one value "
                                  "(run one sweep per design setting)")
            entries.pop(bare, None)  # the later spelling of a key wins, in its new place
            entries[bare] = [f"{key}={v}" for v in o.sweep_string_iterator()]
            if is_group(o.key_or_group) or o.package is not None:
                groups.add(bare)
        else:
            entries.pop(bare, None)
            entries[bare] = [f"{key}={o.get_value_element_as_str()}"]
            groups.discard(bare)
    fixed = [v[0] for v in entries.values() if len(v) == 1]
    lists = [v for v in entries.values() if len(v) > 1]
    swept = {k for k, v in entries.items() if len(v) > 1}
    design = design_points(config)
    if design:
        sampled = [d.split("=", 1)[0] for d in design[0]]
        clash = sorted(set(entries) & set(sampled))
        if clash:
            raise ConfigError(clash[0], "is sampled by the preset's experiment.design: "
                              "give it there, not on the command line")
        missing = object()
        for key in sampled:  # once here, not once per point
            if OmegaConf.select(config, key, default=missing) is missing:
                raise ConfigError(f"experiment.design.ranges.{key}",
                                  "no such key in the config (see alignsim --cfg job)")
        swept |= set(sampled)
    points = expand(lists, design)
    return SweepPlan(fixed, points, groups, swept, batch_count(batches, config, len(points)))


def release_workers(launcher: Any) -> None:
    """Stop the joblib launcher's worker processes once every job has returned (they are idle).

    Why: loky keeps its workers for reuse (until 300 s idle), and the interpreter's exit, after
    the report, waited ~0.5 s here for them to stop, while they held memory. Stopped without
    killing: any other joblib work of this process finishes first. Other launchers are left
    alone; a joblib without the executor this reads is too."""
    if type(launcher).__name__ != "JoblibLauncher":
        return
    try:
        from joblib.externals.loky import reusable_executor
    except ImportError:
        return
    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        with contextlib.suppress(Exception):
            executor.shutdown(wait=True)


# ------------------------------------------------------------------------- one batch job
@dataclass
class BaseConfig:
    """A job's composed config as a sweep's points start from it.

    ``blob``: the config pickled (a point's private copy loads in about a third of the time of
    ``copy.deepcopy``, ~13 ms against ~43 ms here); ``checked``: whether its own keys passed the
    schema's unknown-key check, so that a point needs only its overridden keys checked;
    ``typed``: its typed :class:`~alignsim.kernel.schema.Config`, pickled, when no value of the
    config is an interpolation, so that a point's typed config is this one with the point's
    values set (:func:`point_config`) rather than a whole ``OmegaConf.to_object`` (~17 ms);
    ``scratch``: the job's one working copy of the config, for the points that only set values
    in place (:func:`composed_point`), loaded when first needed."""

    blob: bytes
    checked: bool
    typed: bytes | None = None
    scratch: DictConfig | None = None
    busy: bool = False  # a point is set in :attr:`scratch` (a nested point gets its own copy)

    @classmethod
    def of(cls, cfg: DictConfig) -> BaseConfig:
        from alignsim.config import check_known_keys, to_config

        try:
            check_known_keys(cfg)
            checked = True
        except ConfigError:  # every point reports it, by the full check
            checked = False
        typed = None
        if checked and not _interpolates(OmegaConf.to_container(cfg, resolve=False)):
            with contextlib.suppress(Exception):  # a base that does not convert: points report it
                typed = pickle.dumps(to_config(cfg, changed=[]))
        return cls(pickle.dumps(cfg), checked, typed)

    def copy(self) -> DictConfig:
        """A private copy of the config, without the sweeper's ``batch`` key."""
        cfg = pickle.loads(self.blob)
        with open_dict(cfg):
            cfg.pop(BATCH_KEY, None)
        return cfg

    def in_place(self, parsed: list) -> list[tuple[str, Any]] | None:
        """The values that ``parsed`` would replace in :attr:`scratch` (to set them back), or
        ``None`` when a point cannot be set in place: its base is not clean (see ``typed``), or
        an override adds, deletes or merges a node, or names no existing plain value."""
        if self.typed is None or self.busy:
            return None
        if self.scratch is None:
            self.scratch = self.copy()
        saved = []
        for o in parsed:
            if (o.package is not None or o.is_delete() or o.is_add() or o.is_force_add()
                    or isinstance(o.value(), dict | list)):
                return None
            try:
                old = OmegaConf.select(self.scratch, o.key_or_group, default=_ABSENT,
                                       throw_on_missing=True)
            except Exception:  # a missing value (``???``), or a path through a plain value
                return None
            if old is _ABSENT or isinstance(old, DictConfig | ListConfig):
                return None
            saved.append((o.key_or_group, old))
        return saved

    def set_back(self, saved: list[tuple[str, Any]], experiment: str) -> None:
        """Undo a point on :attr:`scratch`: its values, and the default experiment if it got one
        (``experiment``: ``"absent"`` or ``"none"``, what the key was before; ``"kept"``: a
        preset's, untouched). A copy that does not read back as before is dropped (the next
        point loads a fresh one)."""
        cfg = self.scratch
        self.busy = False
        try:
            for key, old in reversed(saved):
                OmegaConf.update(cfg, key, old, merge=True)
            if experiment == "absent":
                with open_dict(cfg):
                    cfg.pop("experiment", None)
            elif experiment == "none":
                cfg.experiment = None
            same = all(_same(OmegaConf.select(cfg, key, default=_ABSENT), old)
                       for key, old in saved)
            same = same and _experiment_state(cfg) == experiment
        except Exception:
            same = False
        if not same:
            self.scratch = None


def _experiment_state(cfg: DictConfig) -> str:
    """``"absent"``, ``"none"`` or ``"kept"`` (a preset's): see :meth:`BaseConfig.set_back`."""
    if "experiment" not in cfg:
        return "absent"
    return "none" if OmegaConf.select(cfg, "experiment") is None else "kept"


_ABSENT = object()


def _same(value: Any, old: Any) -> bool:
    return type(value) is type(old) and repr(value) == repr(old)


def _interpolates(value: Any) -> bool:
    """Whether a plain container (``OmegaConf.to_container(resolve=False)``) holds ``${...}``."""
    if isinstance(value, dict):
        return any(_interpolates(v) for v in value.values())
    if isinstance(value, list):
        return any(_interpolates(v) for v in value)
    return isinstance(value, str) and "${" in value


def compose_point(job_cfg: DictConfig, fixed: list[str], groups: list[str], values: list[str],
                  cache: dict[tuple[str, ...], BaseConfig]) -> tuple[DictConfig, list | None]:
    """The point's config: the job's own config (or, for a point that chooses config groups, the
    config composed with them, once per distinct choice) with the point's values applied by
    Hydra's own override rules (``key=v`` must exist, ``+key=v`` must not, ``++`` either).

    Also returns the point's parsed overrides (Hydra's ``Override``), whose keys are all that
    :func:`alignsim.config.to_config` must check (``None``: check the whole config, its base not
    being clean)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    cfg = _base(job_cfg, fixed, groups, cache).copy()
    parsed = OverridesParser.create().parse_overrides(values)
    ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)  # Hydra's rules (pinned < 1.4)
    return cfg, (parsed if cache[tuple(groups)].checked else None)


def _base(job_cfg: DictConfig, fixed: list[str], groups: list[str],
          cache: dict[tuple[str, ...], BaseConfig]) -> BaseConfig:
    key = tuple(groups)
    if key not in cache:
        if groups:
            from hydra import compose

            cache[key] = BaseConfig.of(compose("config", overrides=[*fixed, *groups]))
        else:  # the job's own config (Hydra gives the task no hydra node)
            cache[key] = BaseConfig.of(job_cfg)
    return cache[key]


def point_config(job_cfg: DictConfig, fixed: list[str], groups: list[str], values: list[str],
                 cache: dict[tuple[str, ...], BaseConfig]) -> tuple[DictConfig, Any]:
    """A point's composed config and its typed ``Config`` (checked as a whole job's would be).

    The typed config is the base's with the point's values set where the base allows it (no
    interpolation anywhere, no deletion among the overrides, every key's parent already in the
    base); otherwise it is converted whole. Both give equal configs (tested)."""
    from alignsim.config import check_changed_keys, to_config

    cfg, parsed = compose_point(job_cfg, fixed, groups, values, cache)
    keys = _with_experiment(cfg, parsed or [])
    if parsed is None:
        return cfg, to_config(cfg)
    typed = cache[tuple(groups)].typed
    if typed is not None and not any(o.is_delete() for o in parsed):
        check_changed_keys(cfg, keys)
        return cfg, _typed_point(typed, keys, cfg)
    return cfg, to_config(cfg, changed=keys)


@contextlib.contextmanager
def composed_point(job_cfg: DictConfig, fixed: list[str], groups: list[str], values: list[str],
                   cache: dict[tuple[str, ...], BaseConfig]) -> Iterator[tuple[DictConfig, Any]]:
    """:func:`point_config`, for use inside the ``with`` block only.

    Why: most points of a sweep only set a few existing values of a clean base. Such a point's
    config is the job's one working copy of the base (:attr:`BaseConfig.scratch`) with its
    values set by Hydra's rules, checked as :func:`point_config` checks them, and set back when
    the block ends, raise or not. No copy of the whole config is made (~13 ms a point here).
    Any other point gets its own copy, from :func:`point_config`. Both give equal configs and
    the same errors (tested)."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl

    from alignsim.config import check_changed_keys

    base = _base(job_cfg, fixed, groups, cache)
    parsed = OverridesParser.create().parse_overrides(values)
    saved = base.in_place(parsed)
    if saved is None:
        yield point_config(job_cfg, fixed, groups, values, cache)
        return
    cfg = base.scratch
    base.busy = True
    experiment = _experiment_state(cfg)
    try:
        ConfigLoaderImpl._apply_overrides_to_config(parsed, cfg)  # Hydra's rules (pinned < 1.4)
        keys = _with_experiment(cfg, parsed)
        check_changed_keys(cfg, keys)
        yield cfg, _typed_point(base.typed, keys, cfg)
    finally:
        base.set_back(saved, experiment)


def _with_experiment(cfg: DictConfig, parsed: list) -> list[str]:
    """Give a plain multirun's point its default experiment (:func:`default_experiment`); the
    keys a point changed, to check and set: its overrides', and ``experiment`` if it was given."""
    added = OmegaConf.select(cfg, "experiment", default=None) is None
    default_experiment(cfg)
    return [o.key_or_group for o in parsed] + (["experiment"] if added else [])


def _typed_point(typed: bytes, keys: list[str], cfg: DictConfig) -> Any:
    """The base's typed config with ``keys`` set to their values in ``cfg`` (checked)."""
    from alignsim.config import to_config

    config = pickle.loads(typed)
    try:
        for key in keys:
            _set_typed(config, key, cfg)
        return config
    except (KeyError, AttributeError, IndexError, ValueError, TypeError):
        # a key the base's typed config has no place for: convert whole (checked already)
        return to_config(cfg, changed=[])


def _set_typed(config: Any, key: str, cfg: DictConfig) -> None:
    """Set ``key`` of the typed ``config`` to its value in ``cfg`` (validated by the schema as
    Hydra applied the override); a key it has no place for raises (``KeyError``,
    ``AttributeError``), and the caller converts the config whole."""
    parts = key.split(".")
    value = OmegaConf.select(cfg, key, throw_on_missing=True)
    if isinstance(value, DictConfig | ListConfig):
        value = OmegaConf.to_object(value)
    obj = config
    for part in parts[:-1]:
        obj = obj[part] if isinstance(obj, dict) else (
            obj[int(part)] if isinstance(obj, list) else getattr(obj, part))
    last = parts[-1]
    if isinstance(obj, dict):
        if last not in obj:
            raise KeyError(last)
        obj[last] = value
    elif isinstance(obj, list):
        obj[int(last)] = value
    else:
        if not hasattr(obj, last):
            raise AttributeError(last)
        setattr(obj, last, value)


def default_experiment(cfg: DictConfig) -> None:
    """Make a point of a plain multirun a point of a sweep named ``sweep``: the main job's
    scenario over ``replicates`` replicates, on common random numbers."""
    if OmegaConf.select(cfg, "experiment", default=None) is None:
        with open_dict(cfg):
            cfg.experiment = {"name": "sweep", "replicates": int(cfg.replicates),
                              "streams": "common"}


def run_batch(job_cfg: DictConfig, batch: int, sweep_dir: Path) -> dict:
    """Run the points of ``manifest.json`` assigned to ``batch`` (in this process).

    Each point is composed and checked on its own; then the points' simulations share compiled
    calls, their parameters on the batch axis (:func:`alignsim.ensemble.run_points`). Never
    raises for a bad point: each failure is recorded in the point's folder and logged.
    """
    manifest = read_manifest(sweep_dir)
    if manifest is None:
        raise ConfigError(BATCH_KEY, f"no {MANIFEST} in {sweep_dir}: +batch is set by the "
                          "batched sweeper, not by hand")
    mine = [p for p in manifest["points"] if p["batch"] == batch]
    keep = frozenset(manifest.get("swept", []))
    cache: dict[tuple[str, ...], BaseConfig] = {}
    counts = {"completed": 0, "skipped": 0, "failed": 0}
    t0 = time.perf_counter()
    for lo in range(0, len(mine), PREPARE_CHUNK):  # Specs of a chunk at a time: bounded memory
        for status in _run_points_of(mine[lo:lo + PREPARE_CHUNK], job_cfg, manifest, sweep_dir,
                                     keep, cache):
            counts[status] = counts.get(status, 0) + 1
    words = {"completed": "run", "skipped": "already done", "failed": "failed"}
    log.info("batch %d: %d points in %.2f s (%s)", batch, len(mine), time.perf_counter() - t0,
             ", ".join(f"{v} {words.get(k, k)}" for k, v in counts.items() if v))
    return {"batch": batch, "points": len(mine), **counts}


PREPARE_CHUNK = 512  # points composed and compiled at a time (a history Spec holds ~84 KB)


def _run_points_of(mine: list[dict], job_cfg: DictConfig, manifest: dict, sweep_dir: Path,
                   keep: frozenset, cache: dict) -> Iterator[str]:
    """Compose, check and prepare these manifest points, then simulate them together; yields
    each point's status."""
    from alignsim.errors import error_line
    from alignsim.sweeps.point import prepare_point, record_failure

    jobs = []
    for p in mine:
        out = sweep_dir / p["dir"]
        out.mkdir(parents=True, exist_ok=True)
        try:
            with composed_point(job_cfg, manifest["fixed"], p["groups"], p["values"],
                                cache) as (cfg, config):
                job = prepare_point(config, cfg, out, overrides=p["overrides"], keep=keep)
        except Exception as exc:  # prepare_point records its own failures: this is the config's
            record_failure(out, exc, overrides=p["overrides"], keep=keep)
            log.debug("point %s: %s", p["num"], error_line(exc))
            yield "failed"
            continue
        if job["status"] == "ready":
            jobs.append(job)
        else:
            yield job["status"]
    yield from simulate_jobs(jobs)


def simulate_jobs(jobs: list[dict]) -> Iterator[str]:
    """Simulate prepared points, many per compiled call, and write each one as it finishes;
    yields each point's final status. A failing call fails only its own points."""
    from alignsim.ensemble import run_points
    from alignsim.sweeps.point import point_run, simulate_point

    for job in jobs:
        if point_run(job) is None:  # posterior draws: one replicate per draw, run alone
            t0 = time.perf_counter()
            try:
                traj = simulate_point(job)
            except Exception as exc:  # recorded, never raised
                yield _fail(job, exc)
                continue
            yield _finish(job, traj, time.perf_counter() - t0)
    by_seed: dict[int, list[dict]] = {}
    for job in jobs:
        if point_run(job) is not None:
            by_seed.setdefault(int(job["config"].seed), []).append(job)
    for seed, group in by_seed.items():
        for n, result in run_points([point_run(j) for j in group], seed, errors="yield"):
            if isinstance(result, BaseException):
                yield _fail(group[n], result)
            else:
                yield _finish(group[n], result, result.extra.get("simulate_s"))


def _finish(job: dict, traj, simulate_s: float | None) -> str:
    from alignsim.sweeps.point import finish_point

    try:
        return finish_point(job, traj, simulate_s=simulate_s)["status"]
    except Exception as exc:  # a point that cannot even be recorded is counted, never raised
        log.error("point %s could not be recorded: %s", job["out_dir"], exc)
        return "failed"


def _fail(job: dict, exc: BaseException) -> str:
    from alignsim.sweeps.point import fail_point

    try:
        return fail_point(job, exc)["status"]
    except Exception as inner:  # the failure record itself failed (a full disk): still counted
        log.error("point %s failed (%s) and could not be recorded: %s", job["out_dir"], exc,
                  inner)
        return "failed"


def run_in_process(experiment: str, directory: Path | str, overrides: list[str] | tuple = (),
                   grid: dict[str, list] | None = None) -> Path:
    """Run ``grid`` (override key -> values; a config group such as ``policy`` too) crossed with
    the preset's sampled design, if it has one, in this process: one folder per point, the same
    point keys and replicate streams as ``alignsim -m +experiment=NAME KEY=a,b`` would give.

    The preset's own ``hydra.sweeper.params`` lists are not used: the grid is the one given here.
    For notebooks and tests; read the folder with :func:`alignsim.sweeps.report.load_sweep` (or
    :func:`~alignsim.sweeps.report.build_report` for the tables and figures).
    """
    from alignsim.config import compose_dictconfig, conf_dir
    from alignsim.sweeps.design import design_points
    from alignsim.sweeps.point import command_line_value, prepare_point, record_failure

    directory = Path(directory)
    fixed = [f"+experiment={experiment}", *overrides]
    base = compose_dictconfig(fixed)
    grid = dict(grid or {})
    lists = [[f"{k}={command_line_value(v)}" for v in vs] for k, vs in grid.items()]
    groups = {k for k in grid if (conf_dir() / k.lstrip("+~")).is_dir()}
    design = design_points(base)
    keep = frozenset({k for k, vs in grid.items() if len(vs) > 1}
                     | {d.split("=", 1)[0] for d in (design[0] if design else [])})
    cache: dict[tuple[str, ...], BaseConfig] = {}
    jobs = []
    for num, point in enumerate(expand(lists, design)):
        out = directory / str(num)
        chosen = [p for p in point if p.split("=", 1)[0] in groups]
        values = [p for p in point if p.split("=", 1)[0] not in groups]
        try:
            with _compose_context(), composed_point(base, fixed, chosen, values,
                                                    cache) as (cfg, config):
                job = prepare_point(config, cfg, out, overrides=[*fixed, *point], keep=keep)
        except Exception as exc:  # prepare_point records its own failures: this is the config's
            record_failure(out, exc, overrides=[*fixed, *point], keep=keep)
            continue
        if job["status"] == "ready":
            jobs.append(job)
    for _ in simulate_jobs(jobs):
        pass
    return directory


@contextlib.contextmanager
def _compose_context() -> Iterator[None]:
    """Hydra's global state for :func:`compose_point` outside a Hydra app (notebooks, tests)."""
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        yield
        return
    from hydra import initialize_config_dir

    from alignsim.config import _COMPOSE_LOCK, conf_dir, register

    register()
    with _COMPOSE_LOCK, initialize_config_dir(str(conf_dir()), version_base="1.3"):
        yield


__all__ = ["SweepPlan", "batch_count", "compose_point", "composed_point", "expand", "plan_sweep",
           "point_config", "release_workers", "run_batch", "run_in_process", "write_manifest"]
