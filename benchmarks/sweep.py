"""Wall time of a 10,000-run experiment sweep against one Hydra job per run.

Runs, as a user would, ``alignsim -m +experiment=pipeline_leverage`` over a grid of 200 points
(5 CPC shares x 8 halt severities x 5 appetites for coercion) with 50 replicates each (48 months,
Jan 2022 .. Dec 2025, the presets' horizon), through the batched sweeper (the default: the points
are shared among the launcher's workers, each job running its points in-process), once with the
one-month look-ahead rule (``policy=logit``: ``sweep_s``) and once with the default rule
(``policy=foresight``: ``sweep_s_default``). Interpreter and Hydra start, the results table and
the figures are part of the time. ``per_point_jobs_s`` is the same sweep with Hydra's basic
sweeper (one job per point, as before 0.4.0), measured on ``--points-per-job-sample`` points and
scaled to 200.

The naive way — one Hydra job per point *and replicate*, 10,000 jobs — is measured on a sample
(one point: one single-replicate job, then ``--naive-sample`` of them) and extrapolated
linearly from the per-job slope; running it whole would take hours here.

``--points N`` runs only the first N points of the grid and scales the sweep's time to 200
points linearly (flagged in the output as ``sweep_extrapolated``). The last line printed is
one JSON object with ``sweep_s``, ``sweep_s_default``, ``points``, ``replicates_per_point``,
``per_point_jobs_s``, ``naive_s`` and ``speedup`` (naive over ``sweep_s``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ALIGNSIM = Path(sys.executable).parent / "alignsim"
CPC = [0.5, 0.6, 0.7, 0.8, 0.9]  # fraction of oil exports
SEVERITY = [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0]  # fraction of CPC flow
PUNISH = [0.0, 0.025, 0.05, 0.075, 0.1]  # utility units
KEYS = ("experiment.cpc_share", "actions.pipeline_halt.effects.halt.cpc.severity",
        "payoffs.actors.russia.punish")


def grid_overrides(points: int) -> list[str]:
    """Sweep overrides covering the first ``points`` points of the 200-point grid."""
    full = list(itertools.product(CPC, SEVERITY, PUNISH))
    if points >= len(full):
        return [f"{k}={','.join(map(str, v))}" for k, v in zip(KEYS, (CPC, SEVERITY, PUNISH),
                                                                strict=True)]
    # a sub-grid: as many whole CPC slices as fit, then severities, keeping a product shape
    n_pun = min(len(PUNISH), points)
    n_sev = min(len(SEVERITY), max(points // n_pun, 1))
    n_cpc = max(points // (n_pun * n_sev), 1)
    return [f"{KEYS[0]}={','.join(map(str, CPC[:n_cpc]))}",
            f"{KEYS[1]}={','.join(map(str, SEVERITY[:n_sev]))}",
            f"{KEYS[2]}={','.join(map(str, PUNISH[:n_pun]))}"]


def run(args: list[str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    t0 = time.perf_counter()
    proc = subprocess.run([str(ALIGNSIM), "-m", *args], env=env, capture_output=True, text=True,
                          check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"benchmark: alignsim failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=200, help="points to run (200 = whole grid)")
    p.add_argument("--replicates", type=int, default=50, help="replicates per point")
    p.add_argument("--launcher", default="joblib", choices=["basic", "joblib", "submitit_local"])
    p.add_argument("--naive-sample", type=int, default=10,
                   help="single-replicate jobs in the naive sample (compared with one job)")
    p.add_argument("--points-per-job-sample", type=int, default=20,
                   help="points run with one Hydra job each (Hydra's basic sweeper)")
    a = p.parse_args()
    total_runs = 200 * a.replicates
    launcher = [f"hydra/launcher={a.launcher}"]
    over = grid_overrides(a.points)
    base = ["+experiment=pipeline_leverage", f"experiment.replicates={a.replicates}", *launcher]
    with tempfile.TemporaryDirectory(prefix="alignsim-bench-") as tmp:
        tmp = Path(tmp)
        sweeps = {}
        for rule in ("logit", "foresight"):
            d = tmp / f"sweep-{rule}"
            wall = run([*base, *over, f"policy={rule}", f"hydra.sweep.dir={d}"])
            res = pd.read_parquet(d / "results.parquet")
            points = int(res["point_key"].nunique())
            model_s = float(sum(json.loads(f.read_text())["elapsed_s"]
                                for f in d.glob("*/point.json")))
            extrapolated = points < 200
            sweeps[rule] = wall * 200 / points if extrapolated else wall
            print(f"sweep ({rule}): {points} points x {a.replicates} replicates = {len(res)} runs "
                  f"in {wall:.1f} s wall ({a.launcher}, batched); the points' own time "
                  f"{model_s:.1f} s ({len(res) / max(model_s, 1e-9):.0f} runs/s inside the jobs)"
                  + (f"; scaled to 200 points: {sweeps[rule]:.1f} s" if extrapolated else ""))
        sample = grid_overrides(a.points_per_job_sample)
        d = tmp / "per-point-jobs"
        wall = run([*base, *sample, "policy=logit", "hydra/sweeper=basic",
                    f"hydra.sweep.dir={d}"])
        n = int(pd.read_parquet(d / "results.parquet")["point_key"].nunique())
        per_point_jobs_s = wall * 200 / n
        print(f"one Hydra job per point (hydra/sweeper=basic, logit): {n} points in {wall:.1f} s"
              f" -> {per_point_jobs_s:.0f} s for 200")

        point = [f"{KEYS[0]}=0.8", f"{KEYS[1]}=1.0", f"{KEYS[2]}=0.05"]
        walls = {}
        for k in (1, a.naive_sample):
            walls[k] = run(["+experiment=pipeline_leverage", *point, "experiment.replicates=1",
                            f"experiment.first_replicate={','.join(map(str, range(k)))}",
                            "policy=logit", "hydra/sweeper=basic", *launcher,
                            f"hydra.sweep.dir={tmp / f'naive{k}'}"])
        k = a.naive_sample
        per_job = (walls[k] - walls[1]) / (k - 1)
        method = "slope"
        if per_job <= 0:  # the box's noise swamped the difference: use the mean (an upper bound)
            per_job, method = walls[k] / k, "mean"
        naive_s = walls[1] + per_job * (total_runs - 1)
        print(f"naive: 1 single-replicate job {walls[1]:.1f} s, {k} jobs {walls[k]:.1f} s "
              f"-> {per_job:.2f} s per extra job ({method}); extrapolated to {total_runs} jobs: "
              f"{naive_s:.0f} s")
    out = {
        "sweep_s": round(sweeps["logit"], 2),
        "sweep_s_default": round(sweeps["foresight"], 2),
        "points": 200,  # the sweep's size (points_run: how many ran; scaled when fewer)
        "replicates_per_point": a.replicates,
        "per_point_jobs_s": round(per_point_jobs_s, 1),
        "naive_s": round(naive_s, 1),
        "speedup": round(naive_s / sweeps["logit"], 1),
        "runs": total_runs,
        "points_run": points,
        "months": 48,
        "launcher": a.launcher,
        "sweep_extrapolated": extrapolated,
        "naive_extrapolated": True,
        "naive_per_job_s": round(per_job, 3),
        "naive_method": method,
        "cpus": os.cpu_count(),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
