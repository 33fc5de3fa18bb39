"""Validation at the defaults, the calibration (timed), and validation of the calibrated model.

Prints the pattern table for the default and the calibrated parameters, the out-of-sample
(2024–2025, ``holdout``) results, the time the calibration takes, and whether the committed
``conf/payoffs/calibrated.yaml`` matches this run's fit. Last line: one JSON object.

The calibration runs the candidates it knows in advance as batches (the defaults with the
initial population of differential evolution, the polish's start simplex: several candidates per
compiled call, :func:`alignsim.ensemble.run_points`), the generations one candidate at a time
(``updating="immediate"``); ``batched_candidates`` says how many ran in batches. The numbers are
those of one run per candidate.

Run: ``.venv/bin/python benchmarks/calibration.py [replicates]`` (validation replicates, 200).
"""

from __future__ import annotations

import json
import sys
import time

from alignsim.config import compose_config, conf_dir
from alignsim.validation.calibrate import calibrate, get_config_value, set_config_value
from alignsim.validation.patterns import load_validation
from alignsim.validation.validate import format_table, run_validation


def holdout(v) -> dict:
    rs = [p for p in v.results if p.conf.split == "holdout"]
    return {"passed": sum(p.passed for p in rs), "total": len(rs),
            "failed": [p.name for p in rs if not p.passed]}


def main() -> None:
    replicates = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    vconf = load_validation("default")
    base = compose_config([*vconf.model, f"months={vconf.months}", f"replicates={replicates}",
                           "progress=false"])

    default = run_validation(base, vconf)
    print(f"== validation at the defaults ({replicates} replicates, seed {base.seed}, "
          f"{default.elapsed_s:.1f} s) ==")
    print(format_table(default.results))

    cal = vconf.calibration
    print(f"\n== calibration: {cal.method}, {len(cal.parameters)} free parameters, "
          f"{cal.replicates} replicates per candidate (common random numbers) ==")
    t0 = time.perf_counter()
    result = calibrate(base, vconf.patterns, cal)
    seconds = time.perf_counter() - t0
    print(f"{result.evaluations} candidate runs ({result.batched} in batches) in {seconds:.1f} s "
          f"({seconds / result.evaluations * 1000:.0f} ms each); "
          f"J {result.default_value:.4g} at the defaults -> {result.value:.4g}")
    for p, v in zip(result.params, result.x, strict=True):
        print(f"  {p.key:<64} {p.default:>8.4g} -> {v:.4g}   [{p.lo:g}, {p.hi:g}]")

    fitted = base
    for p, v in zip(result.params, result.x, strict=True):
        fitted = set_config_value(fitted, p.key, v)
    calibrated = run_validation(fitted, vconf)
    print(f"\n== validation calibrated ({replicates} replicates) ==")
    print(format_table(calibrated.results))

    h0, h1 = holdout(default), holdout(calibrated)
    print("\n== out of sample (2024–2025 patterns, not used by the fit) ==")
    print(f"defaults:   {h0['passed']}/{h0['total']} pass; failing: {h0['failed'] or 'none'}")
    print(f"calibrated: {h1['passed']}/{h1['total']} pass; failing: {h1['failed'] or 'none'}")
    for name in ("mc_tonnes_2024", "cpc_still_dominant_2024"):
        a = next(p for p in default.results if p.name == name)
        b = next(p for p in calibrated.results if p.name == name)
        print(f"  {name}: target {b.target_text}; defaults {a.mean:.3f}, calibrated {b.mean:.3f}")

    committed = None
    path = conf_dir() / "payoffs" / "calibrated.yaml"
    if path.exists():
        cfg = compose_config(["payoffs=calibrated"])
        committed = {p.key: float(get_config_value(cfg, p.key)) for p in result.params}
        same = all(abs(committed[p.key] - v) <= 1e-9 * max(1.0, abs(v))
                   for p, v in zip(result.params, result.x, strict=True))
        print(f"\nconf/payoffs/calibrated.yaml {'matches' if same else 'DIFFERS from'} this fit")

    print(json.dumps({
        "benchmark": "calibration",
        "validation_replicates": replicates,
        "calibration_seconds": round(seconds, 1),
        "calibration_evaluations": result.evaluations,
        "batched_candidates": result.batched,
        "ms_per_candidate": round(seconds / result.evaluations * 1000, 1),
        "objective_default": round(result.default_value, 5),
        "objective_calibrated": round(result.value, 5),
        "fitted": {p.key: round(v, 6) for p, v in zip(result.params, result.x, strict=True)},
        "passed_default": default.passed,
        "passed_calibrated": calibrated.passed,
        "total": len(default.results),
        "holdout_default": h0["passed"],
        "holdout_calibrated": h1["passed"],
        "holdout_total": h0["total"],
        "committed_matches": committed is not None and all(
            abs(committed[p.key] - v) <= 1e-9 * max(1.0, abs(v))
            for p, v in zip(result.params, result.x, strict=True)),
    }))


if __name__ == "__main__":
    main()
