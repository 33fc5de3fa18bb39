"""Benchmark of the sensitivity analysis: wall time of Morris and Sobol at a stated size.

Run: ``.venv/bin/python benchmarks/sensitivity.py [--replicates 16] [--trajectories 10]
[--n 64] [--top 5] [--months 72]``. Defaults are those of ``conf/sensitivity/default.yaml``.
Prints the times, the Morris ranking and the Sobol indices; the last line is one JSON object.
Each stage runs its whole design as batches of sample points (:func:`alignsim.ensemble.run_points`,
at most ``rows_per_call`` points x replicates per compiled call), with the numbers of one run per
point.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from alignsim.config import compose_dictconfig
from alignsim.ensemble import MAX_ROWS
from alignsim.validation.sensitivity import (
    format_tables,
    load_settings,
    rank_parameters,
    run_analysis,
)


def main() -> None:
    defaults = load_settings()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=defaults.replicates)
    ap.add_argument("--trajectories", type=int, default=defaults.morris_trajectories)
    ap.add_argument("--n", type=int, default=defaults.n)
    ap.add_argument("--top", type=int, default=defaults.top)
    ap.add_argument("--months", type=int, default=72)
    args = ap.parse_args()
    settings = load_settings(overrides={"morris_trajectories": args.trajectories, "n": args.n,
                                        "top": args.top}, replicates=args.replicates)
    base = compose_dictconfig([f"months={args.months}"])
    d = len(settings.parameters)
    print(f"size: {d} parameters, Morris r={settings.morris_trajectories} "
          f"({settings.morris_trajectories * (d + 1)} points), Sobol N={settings.n} on top "
          f"{settings.top} ({settings.n * (settings.top + 2)} points), "
          f"{settings.replicates} replicates x {args.months} months per point, "
          f"{os.cpu_count()} cores")
    t0 = time.perf_counter()
    a = run_analysis(base, settings, log=print)
    total = time.perf_counter() - t0
    print(format_tables(a))
    per_point = (a.morris.seconds + a.sobol.seconds) / (len(a.morris.X) + len(a.sobol.X))
    print(f"Morris {a.morris.seconds:.1f} s, Sobol {a.sobol.seconds:.1f} s, total {total:.1f} s, "
          f"{per_point * 1000:.0f} ms per sample point")
    sob = a.sobol.table
    drift = sob[sob.output == settings.outputs[0]].sort_values("ST", ascending=False)
    print(json.dumps({
        "benchmark": "sensitivity",
        "parameters": d,
        "replicates": settings.replicates,
        "months": args.months,
        "rows_per_call": MAX_ROWS,
        "morris_points": len(a.morris.X),
        "morris_seconds": round(a.morris.seconds, 2),
        "sobol_points": len(a.sobol.X),
        "sobol_seconds": round(a.sobol.seconds, 2),
        "ms_per_point": round(per_point * 1000, 1),
        "morris_ranking": rank_parameters(a.morris.table)[:5],
        f"sobol_ST_{settings.outputs[0]}": {r.parameter: round(r.ST, 3)
                                           for r in drift.itertuples()},
        "noise_ratio": {f"{r.method}.{r.output}": round(r.noise_ratio, 4)
                        for r in a.noise.itertuples()},
    }))


if __name__ == "__main__":
    main()
