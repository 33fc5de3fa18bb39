"""Tidy tables of a run (pandas), written atomically, each carrying its provenance.

One row per replicate and date; columns are named after what they measure (``share_turkic``,
``route_cpc``, ``action_russia``...). Files are first written to a temporary name in the same folder
and then renamed, so a crash never leaves a half-written result behind.

Why provenance inside each file: a table copied out of its run folder (sent by mail, loaded in a
notebook months later) must still say what made it. Every parquet written here carries, in the
schema's key-value metadata under the key ``alignsim`` (and, for pandas users, in
``pd.read_parquet(path).attrs["alignsim"]``), the package version, the git commit and whether the
tree was dirty when run from a checkout, the Python and key dependency versions, and, when the
writer knows them, the seed and the hash of the resolved config (:func:`provenance`). JSON results
carry the same dict under ``"provenance"``. The data pages are untouched: only metadata is added.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

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


# ------------------------------------------------------------------------------ provenance
PROVENANCE_KEY = "alignsim"  # the parquet schema metadata key (as pandas uses ``pandas``)
PANDAS_ATTRS_KEY = "PANDAS_ATTRS"  # pandas >= 2.1 restores ``DataFrame.attrs`` from this key
DEPENDENCIES = ("numpy", "mesa", "hydra-core", "omegaconf", "pandas", "pyarrow", "scipy")
CHECKOUT = Path(__file__).resolve().parents[2]  # src/alignsim/results.py -> the repository


# Top-level config keys that cannot change a result (a progress bar, which files to write): left
# out of the config hash, so that two runs with the same results carry the same provenance.
RUN_SWITCHES = frozenset({"progress", "output"})


def plain_config(config: Any) -> Any:
    """A config as plain JSON-able data: a dataclass via :func:`dataclasses.asdict`, an OmegaConf
    node resolved; anything else as it is."""
    from omegaconf import OmegaConf

    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if OmegaConf.is_config(config):  # before Mapping: a DictConfig is one, json cannot dump it
        return OmegaConf.to_container(config, resolve=True)
    return config


def canonical_json(obj: Any) -> str:
    """The one JSON text of some data: keys sorted, default separators, ASCII, ``str`` for the
    rest (dates, paths). Deterministic for equal data, whatever the insertion order."""
    return json.dumps(plain_config(obj), sort_keys=True, default=str)


def config_hash(config: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of the resolved config, less :data:`RUN_SWITCHES`.

    Same hash, same results: the sweeps' resume check relies on it. Hashes the typed dataclass
    tree where there is one: resolving the DictConfig costs ~0.3 s a job here,
    ``dataclasses.asdict`` a few ms.
    """
    plain = plain_config(config)
    if isinstance(plain, Mapping):
        plain = {k: v for k, v in plain.items() if k not in RUN_SWITCHES}
    return hashlib.sha256(canonical_json(plain).encode()).hexdigest()


@functools.cache
def git_state(root: Path = CHECKOUT) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the checkout the package runs from; ``(None, None)`` otherwise.

    Only when ``root`` (the folder above ``src/``) is a git work tree: an installed wheel sits in
    ``site-packages`` and reports none. ``dirty`` counts tracked changes only (as
    ``git describe --dirty``): untracked files do not change what ran. ``--no-optional-locks``
    keeps ``git status`` from rewriting the index, so recording provenance changes nothing.
    Cached per process: a sweep asks once per job, and a job is its own process or worker.
    """
    if not (root / ".git").exists():
        return None, None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), "--no-optional-locks", *args],
                                 capture_output=True, text=True, timeout=10, env=env,
                                 check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout if out.returncode == 0 else None

    head = git("rev-parse", "HEAD")
    if head is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return head.strip(), (None if status is None else bool(status.strip()))


@functools.cache
def environment() -> dict[str, Any]:
    """What ran, independent of the run: versions of alignsim, git, Python and key packages."""
    from alignsim import __version__

    commit, dirty = git_state()
    deps: dict[str, str | None] = {}
    for name in DEPENDENCIES:
        try:
            deps[name] = version(name)
        except PackageNotFoundError:
            deps[name] = None
    return {
        "alignsim_version": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "dependencies": deps,
    }


def provenance(seed: int | None = None, config: Any = None, **extra: Any) -> dict[str, Any]:
    """The provenance record of a result: :func:`environment`, the seed and the config's hash.

    ``config`` is the resolved config (the typed ``Config`` or a mapping); ``config_hash`` is
    :func:`config_hash` of it, None when not given. ``extra`` adds keys (a sweep's point key).
    Nothing here depends on the time, the host or the launcher, so files stay byte-identical
    whatever ran them.
    """
    record = dict(environment())  # a copy: the cached record must not change
    record["dependencies"] = dict(record["dependencies"])
    record["seed"] = None if seed is None else int(seed)
    record["config_hash"] = None if config is None else config_hash(config)
    record.update(extra)
    return record


def read_provenance(path: Path | str) -> dict[str, Any] | None:
    """The provenance record of a parquet written here (None when it has none)."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(PROVENANCE_KEY.encode())
    return None if raw is None else json.loads(raw)


def write_parquet(frame: pd.DataFrame, path: Path,
                  provenance_record: Mapping[str, Any] | None = None) -> Path:
    """Write ``frame`` (no index) with its provenance in the schema metadata.

    Without ``provenance_record`` the file still carries :func:`environment` (versions, commit).
    The table is built and compressed as ``DataFrame.to_parquet`` does (pyarrow, snappy), so the
    data pages are those of before; only the key-value metadata is added.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    record = dict(provenance_record) if provenance_record is not None else provenance()
    text = json.dumps(record, sort_keys=True, default=str)

    def write(p: Path) -> None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[PROVENANCE_KEY.encode()] = text.encode()
        meta[PANDAS_ATTRS_KEY.encode()] = json.dumps({PROVENANCE_KEY: record}, sort_keys=True,
                                                     default=str).encode()
        pq.write_table(table.replace_schema_metadata(meta), p, compression="snappy")

    return atomic_write(path, write)


def write_json(obj: dict, path: Path) -> Path:
    def dump(p: Path) -> None:
        p.write_text(json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")

    return atomic_write(path, dump)
