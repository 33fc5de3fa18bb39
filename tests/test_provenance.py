"""Provenance travels with results: every parquet and summary says what made it.

Read back the way a stranger would (pyarrow's schema metadata, pandas' ``attrs``, the JSON),
never through the writer's own objects: a table copied out of its folder must still carry the
package version, the git commit and dirty flag, Python and key dependency versions, the seed and
the hash of the resolved config.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from alignsim import __version__
from alignsim.config import compose_dictconfig, to_config
from alignsim.results import (
    CHECKOUT,
    PROVENANCE_KEY,
    RUN_SWITCHES,
    canonical_json,
    config_hash,
    git_state,
    provenance,
    read_provenance,
    write_parquet,
)
from alignsim.runner import run_main_job
from alignsim.sweeps.point import run_point
from alignsim.sweeps.report import build_report

FIELDS = ("alignsim_version", "git_commit", "git_dirty", "python", "dependencies", "seed",
          "config_hash")
DEPS = ("numpy", "mesa", "hydra-core", "pandas")


def metadata_of(path: Path) -> dict:
    """The provenance exactly as pyarrow reads it from the file's schema metadata."""
    meta = pq.read_schema(path).metadata
    assert meta is not None and PROVENANCE_KEY.encode() in meta, sorted(meta or {})
    return json.loads(meta[PROVENANCE_KEY.encode()])


def check_fields(record: dict, seed: int | None) -> None:
    assert set(FIELDS) <= set(record), sorted(record)
    assert record["alignsim_version"] == __version__
    assert record["python"].count(".") == 2
    for dep in DEPS:
        assert record["dependencies"][dep], dep
    assert record["seed"] == seed
    assert re.fullmatch(r"[0-9a-f]{64}", record["config_hash"])
    if (CHECKOUT / ".git").exists():  # run from a checkout (tests always are, CI a fresh clone)
        head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert record["git_commit"] == head
        assert isinstance(record["git_dirty"], bool)


@pytest.fixture(scope="module")
def main_job(tmp_path_factory, baseline_config):
    cfg = copy.deepcopy(baseline_config)
    cfg.months, cfg.replicates, cfg.progress = 6, 2, False
    cfg.output.figure = False
    out = tmp_path_factory.mktemp("main")
    summary = run_main_job(cfg, out, {"note": "resolved"})
    return cfg, out, summary


def test_main_job_files_carry_provenance(main_job):
    cfg, out, summary = main_job
    record = metadata_of(out / "timeseries.parquet")
    check_fields(record, cfg.seed)
    assert record["config_hash"] == config_hash(cfg)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["provenance"] == record == summary["provenance"]
    # pandas users see it too, and the data is as before
    frame = pd.read_parquet(out / "timeseries.parquet")
    assert frame.attrs[PROVENANCE_KEY] == record
    assert read_provenance(out / "timeseries.parquet") == record


def test_config_hash_is_stable_and_tells_configs_apart(baseline_config):
    a, b = copy.deepcopy(baseline_config), copy.deepcopy(baseline_config)
    assert config_hash(a) == config_hash(b) == config_hash(a)
    plain = {k: v for k, v in dataclasses.asdict(a).items() if k not in RUN_SWITCHES}
    assert config_hash(a) == hashlib.sha256(canonical_json(plain).encode()).hexdigest()
    # switches that cannot change a result leave the hash alone (same results, same files)
    b.progress, b.output.figure = not b.progress, not b.output.figure
    assert config_hash(b) == config_hash(a)
    b.world.dynamics.threat_prior = b.world.dynamics.threat_prior / 2
    assert config_hash(b) != config_hash(a)
    c = copy.deepcopy(baseline_config)
    c.seed += 1
    assert config_hash(c) != config_hash(a)
    # a resolved DictConfig and a mapping hash through the same canonical text
    cfg = compose_dictconfig(["scenario=baseline"])
    assert json.loads(canonical_json(cfg))["scenario"]["name"] == "baseline"  # JSON, no repr
    assert config_hash(cfg) == config_hash(compose_dictconfig(["scenario=baseline"]))
    assert config_hash(cfg) != config_hash(compose_dictconfig(["scenario=baseline", "seed=1"]))
    assert config_hash({"b": 1, "a": [1.5, "x"]}) == config_hash({"a": [1.5, "x"], "b": 1})


def test_write_parquet_adds_metadata_only(tmp_path, main_job):
    _, out, _ = main_job
    frame = pd.read_parquet(out / "timeseries.parquet")
    frame.attrs = {}
    plain = tmp_path / "plain.parquet"
    frame.to_parquet(plain, index=False)  # how the package wrote tables before provenance
    ours = write_parquet(frame, tmp_path / "ours.parquet", provenance(seed=3))
    assert pq.read_table(ours).equals(pq.read_table(plain))  # same schema and data
    assert metadata_of(ours)["seed"] == 3
    # without a record the environment is still stamped (validation tables, sensitivity)
    bare = metadata_of(write_parquet(frame, tmp_path / "bare.parquet"))
    assert bare["alignsim_version"] == __version__ and bare["config_hash"] is None


def test_git_state_outside_a_checkout(tmp_path):
    assert git_state(tmp_path) == (None, None)


def test_sweep_files_carry_provenance(tmp_path):
    over = ["+experiment=shootdown_shock", "experiment.replicates=2", "months=40"]
    for num, rift in enumerate((0.2, 0.4)):
        point = [*over, f"experiment.rift={rift}"]
        cfg = compose_dictconfig(point)
        run_point(to_config(cfg), cfg, tmp_path / str(num), overrides=point)
    hashes = {}
    for num in range(2):
        job = tmp_path / str(num)
        rec = json.loads((job / "point.json").read_text())
        for name in ("point.parquet", "trajectory.parquet"):
            meta = metadata_of(job / name)
            check_fields(meta, rec["seed"])
            assert meta == rec["provenance"]
            assert meta["config_hash"] == rec["config_hash"]
            assert meta["point_key"] == rec["point_key"]
        hashes[str(rec["point_key"])] = rec["config_hash"]
    assert len(set(hashes.values())) == 2  # two configs, two hashes
    build_report(tmp_path, figures=False)
    for name in ("results.parquet", "trajectories.parquet"):
        meta = metadata_of(tmp_path / name)
        check_fields(meta, rec["seed"])
        assert meta["point_config_hashes"] == dict(sorted(hashes.items()))
        assert meta["config_hash"] == hashlib.sha256(
            canonical_json(dict(sorted(hashes.items()))).encode()).hexdigest()
        assert meta["experiment"] == "shootdown_shock" and len(meta["point_environments"]) == 1


def _tool(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    import os
    import sys

    exe = Path(sys.executable).with_name(name)
    return subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})


def test_validation_and_null_reports_carry_provenance(tmp_path: Path) -> None:
    """validation.json and nulls.json say which version, commit, seed and config made them."""
    out = tmp_path / "val"
    r = _tool("alignsim-validate", "replicates=3", "seed=11", "progress=false", "--out",
              str(out), "--nulls=passive", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("validation.json", "nulls.json"):
        record = json.loads((out / name).read_text())["provenance"]
        check_fields(record, 11)
        assert re.fullmatch(r"[0-9a-f]{64}", record["config_hash"]), name


def test_sensitivity_outputs_carry_provenance(tmp_path: Path) -> None:
    out = tmp_path / "sens"
    r = _tool("alignsim-sensitivity", "replicates=2", "scenario=baseline", "months=6",
              "seed=5", "progress=false", "--out", str(out),
              "+sensitivity.select=[align.econ,align.exposure]",
              "+sensitivity.morris_trajectories=2", "+sensitivity.n=2", "+sensitivity.top=2",
              "+sensitivity.num_resamples=10", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    check_fields(json.loads((out / "sensitivity.json").read_text())["provenance"], 5)
    check_fields(metadata_of(out / "morris.parquet"), 5)
