"""Runs per second of the Mesa driver and of the ensemble driver on the `history` scenario.

Both run the same kernel; the Mesa driver steps one replicate with six agents (choose, then act,
DataCollector), the ensemble driver steps R = 1000 replicates at once. Measured with the
one-month look-ahead rule (`policy=logit`, every actor one month ahead) and, for the ensemble,
also with the default policy (`foresight`: Kazakhstan looks 12 months ahead). Printed last: one
JSON object with ``mesa_runs_per_s``, ``ensemble_runs_per_s``, ``ensemble_runs_per_s_default``
and ``speedup`` (ensemble over Mesa, one-month rule).
Usage: .venv/bin/python benchmarks/throughput.py [--mesa-runs 10] [--replicates 1000]
"""

from __future__ import annotations

import argparse
import json
import time

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import compile_spec
from alignsim.model import AlignmentModel


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mesa-runs", type=int, default=10)
    parser.add_argument("--replicates", type=int, default=1000)
    args = parser.parse_args()

    config = compose_config(["scenario=history", "policy=logit"])
    spec = compile_spec(config)
    default_spec = compile_spec(compose_config(["scenario=history"]))
    months = spec.months

    run_ensemble(spec, 10, config.seed)  # warm-up (imports, caches)
    t0 = time.perf_counter()
    for r in range(args.mesa_runs):
        model = AlignmentModel(config, replicate=r, spec=spec)
        model.run_for(months)
    mesa_s = time.perf_counter() - t0
    mesa_rate = args.mesa_runs / mesa_s

    # three timed ensemble runs, median reported: the first large run also pays for first-touch
    # page faults of its arrays (~40 % more here), which the Mesa runs amortise over many runs
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run_ensemble(spec, args.replicates, config.seed)
        times.append(time.perf_counter() - t0)
    ens_s = sorted(times)[1]
    ens_rate = args.replicates / ens_s
    default_times = []
    for _ in range(3):  # median of three, as above
        t0 = time.perf_counter()
        run_ensemble(default_spec, args.replicates, config.seed)
        default_times.append(time.perf_counter() - t0)
    default_rate = args.replicates / sorted(default_times)[1]

    print(f"history scenario, {months} months per run")
    print(f"Mesa driver:     {args.mesa_runs} runs in {mesa_s:.2f} s -> {mesa_rate:.2f} runs/s")
    print(f"ensemble driver: {args.replicates} runs in {ens_s:.2f} s (median of "
          f"{', '.join(f'{x:.2f}' for x in times)} s) -> {ens_rate:.1f} runs/s")
    print(f"speedup: {ens_rate / mesa_rate:.0f}x (one-month rule)")
    print(f"ensemble driver, default policy (foresight): {default_rate:.1f} runs/s")
    print(json.dumps({
        "mesa_runs_per_s": round(mesa_rate, 3),
        "ensemble_runs_per_s": round(ens_rate, 1),
        "ensemble_runs_per_s_default": round(default_rate, 1),
        "speedup": round(ens_rate / mesa_rate, 1),
        "months": months,
        "replicates": args.replicates,
    }))


if __name__ == "__main__":
    main()
