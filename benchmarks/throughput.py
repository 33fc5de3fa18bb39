"""Runs per second of the Mesa driver, the compiled ensemble driver and the NumPy oracle.

All three run the `history` scenario (72 months) with the one-month look-ahead rule
(`policy=logit`); the ensemble also with the default policy (`foresight`: Kazakhstan looks 12
months ahead). The Mesa driver steps one replicate with six agents (choose, act, DataCollector)
through the same compiled kernel, a month at a time; the ensemble driver runs R = 10,000
replicates in one compiled call (groups of 64 as SIMD lanes, a group per parallel iteration);
the NumPy reference is the test oracle (`tests/numpy_oracle.py`: the NumPy kernel month by
month over a replicate axis), in this same process. Compilation is excluded (a warm-up call
first; numba caches compiled code on disk, so a new process loads it in ~1 s). Printed last:
one JSON object with ``mesa_runs_per_s``, ``ensemble_runs_per_s``, ``ensemble_runs_per_s_default``,
``numpy_reference_runs_per_s``, ``ratio_to_numpy``, ``ratio_to_mesa``, ``replicates``, ``threads``.
Usage: .venv/bin/python benchmarks/throughput.py [--replicates 10000] [--mesa-runs 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numba

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import compile_spec
from alignsim.model import AlignmentModel

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the oracle lives there
from numpy_oracle import run_numpy


def rate(fn, runs: int, repeat: int = 3) -> tuple[float, list[float]]:
    """Median runs per second of ``fn()`` (which runs ``runs`` replicates) over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return runs / sorted(times)[len(times) // 2], times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10_000)
    parser.add_argument("--mesa-runs", type=int, default=20)
    parser.add_argument("--numpy-replicates", type=int, default=1000)
    args = parser.parse_args()

    config = compose_config(["scenario=history", "policy=logit"])
    spec = compile_spec(config)
    default_spec = compile_spec(compose_config(["scenario=history"]))
    seed, months = config.seed, spec.months
    run_ensemble(spec, 8, seed)  # warm-up: load the compiled code
    run_ensemble(default_spec, 8, seed)

    def mesa() -> None:
        for r in range(args.mesa_runs):
            AlignmentModel(config, replicate=r, spec=spec).run_for(months)

    AlignmentModel(config, replicate=0, spec=spec).run_for(months)  # warm-up: its month calls
    mesa_rate, mesa_t = rate(mesa, args.mesa_runs, repeat=1)
    ens_rate, ens_t = rate(lambda: run_ensemble(spec, args.replicates, seed), args.replicates)
    def_rate, def_t = rate(lambda: run_ensemble(default_spec, args.replicates, seed),
                           args.replicates)
    np_rate, np_t = rate(lambda: run_numpy(spec, args.numpy_replicates, seed),
                         args.numpy_replicates, repeat=1)

    print(f"history scenario, {months} months per run, {numba.get_num_threads()} threads")
    print(f"Mesa driver:      {args.mesa_runs} runs in {mesa_t[0]:.2f} s -> {mesa_rate:.1f} runs/s")
    print(f"ensemble (logit): {args.replicates} runs, median of "
          f"{', '.join(f'{x:.2f}' for x in ens_t)} s -> {ens_rate:.0f} runs/s")
    print(f"ensemble (default policy, foresight): median of "
          f"{', '.join(f'{x:.2f}' for x in def_t)} s -> {def_rate:.0f} runs/s")
    print(f"NumPy reference:  {args.numpy_replicates} runs in {np_t[0]:.2f} s -> "
          f"{np_rate:.0f} runs/s")
    print(f"compiled / NumPy reference: {ens_rate / np_rate:.1f}x; "
          f"compiled / Mesa: {ens_rate / mesa_rate:.0f}x")
    print(json.dumps({
        "mesa_runs_per_s": round(mesa_rate, 2),
        "ensemble_runs_per_s": round(ens_rate, 1),
        "ensemble_runs_per_s_default": round(def_rate, 1),
        "numpy_reference_runs_per_s": round(np_rate, 1),
        "ratio_to_numpy": round(ens_rate / np_rate, 2),
        "ratio_to_mesa": round(ens_rate / mesa_rate, 1),
        "months": months,
        "replicates": args.replicates,
        "threads": numba.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
