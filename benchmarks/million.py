"""A million runs of `history` (72 months) through the command line: wall time and peak memory.

Runs ``alignsim scenario=history policy=logit replicates=1000000 output.timeseries=false`` (the
one-month look-ahead rule; summaries and the figure only, so memory does not grow with months x
runs: alignsim.summary) as a user would, in a fresh process, counting interpreter, Hydra and
loading the cached compiled code; then the default rule (foresight) on ``--default-runs``
replicates (1/10 of the million unless told: it is ~3x slower a run). Peak RSS is the child's
``ru_maxrss``. Printed last: one JSON object with ``million_s``, ``runs``, ``peak_rss_mb``,
``runs_per_s`` and the same for the default rule (``default_*``).
Usage: .venv/bin/python benchmarks/million.py [--runs 1000000] [--default-runs 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_cli(runs: int, extra: list[str]) -> tuple[float, float, dict]:
    """Wall seconds, peak RSS (MB) and the summary of one ``alignsim`` run in a new process."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(Path(sys.executable).with_name("alignsim")), "scenario=history",
               f"replicates={runs}", "output.timeseries=false", "progress=false",
               f"hydra.run.dir={tmp}/run", *extra]
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PEAK, *cmd], check=True,
                              capture_output=True, text=True, env={**os.environ})
        wall = time.perf_counter() - t0
        summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
    return wall, int(done.stdout.strip().splitlines()[-1]) / 1024.0, summary


# a wrapper process per run, so that each run's own peak RSS (KB on Linux) is reported
PEAK = ("import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--default-runs", type=int, default=100_000)
    args = parser.parse_args()
    wall, peak, summary = run_cli(args.runs, ["policy=logit"])
    print(f"one-month rule: {args.runs} runs in {wall:.1f} s ({args.runs / wall:.0f} runs/s), "
          f"peak RSS {peak:.0f} MB; axis end median {summary['axis']['end']['median']:+.3f}")
    d_wall, d_peak, _ = run_cli(args.default_runs, [])
    print(f"default rule (foresight): {args.default_runs} runs in {d_wall:.1f} s "
          f"({args.default_runs / d_wall:.0f} runs/s), peak RSS {d_peak:.0f} MB")
    print(json.dumps({
        "million_s": round(wall, 1), "runs": args.runs, "peak_rss_mb": round(peak, 0),
        "runs_per_s": round(args.runs / wall, 0),
        "default_s": round(d_wall, 1), "default_runs": args.default_runs,
        "default_peak_rss_mb": round(d_peak, 0),
        "default_runs_per_s": round(args.default_runs / d_wall, 0),
    }))


if __name__ == "__main__":
    main()
