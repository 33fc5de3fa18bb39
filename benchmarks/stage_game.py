"""Time building and solving the stage game at the history scenario's start (all six actors).

Prints, per call: the kernel build (tiling the state over all 2268 profiles of the default
catalogue, one ``step_payoffs``), the conversion to a Gambit game, the pure Nash equilibria
(Gambit's ``enumpure`` and the NumPy check), the logit QRE at ``policy.qre_lambda``, and one month
of the ``equilibrium`` rule (``qre_expected_payoffs``, which restricts the month's scheduled moves).
Last line: one JSON object with the medians in milliseconds.

    .venv/bin/python benchmarks/stage_game.py [repeats]
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import numpy as np

from alignsim.config import compose_config
from alignsim.game.equilibrium import logit_qre, pure_nash, pure_nash_numpy, to_gambit
from alignsim.game.stage_game import _QRE_CACHE, build_stage_game, qre_expected_payoffs
from alignsim.kernel.spec import compile_spec
from alignsim.kernel.state import initial_state


def timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times), out


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    spec = compile_spec(compose_config(["scenario=history"]))
    state = initial_state(spec, 1)
    t = 0
    build_ms, game = timed(lambda: build_stage_game(spec, state, t), max(repeats, 10))
    gambit_ms, _ = timed(lambda: to_gambit(game), repeats)
    pure_ms, pure = timed(lambda: pure_nash(game), repeats)
    pure_np_ms, pure_np = timed(lambda: pure_nash_numpy(game.payoffs), max(repeats, 10))
    qre_ms, qre = timed(lambda: logit_qre(game, spec.qre_lambda), repeats)

    def rule_month():
        _QRE_CACHE.clear()
        return qre_expected_payoffs(spec, state, t)

    rule_ms, _ = timed(rule_month, repeats)
    profiles = int(np.prod(game.shape))
    print(f"stage game at {spec.start} (history), {game.n_players} actors, {profiles} profiles, "
          f"median of {repeats}+ calls")
    print(f"  build (kernel, tiled)   {build_ms:8.1f} ms")
    print(f"  to_gambit               {gambit_ms:8.1f} ms")
    print(f"  pure NE (gambit)        {pure_ms:8.1f} ms  -> {len(pure)} equilibria "
          "(includes to_gambit)")
    print(f"  pure NE (numpy)         {pure_np_ms:8.2f} ms  -> {len(pure_np)} equilibria")
    print(f"  logit QRE λ={spec.qre_lambda:g}       {qre_ms:8.1f} ms  (includes to_gambit)")
    print(f"  equilibrium rule, 1 month {rule_ms:6.1f} ms  (scheduled moves fixed: smaller game)")
    print(f"  QRE: {qre.describe(game)}")
    print(json.dumps({
        "benchmark": "stage_game",
        "actors": game.n_players,
        "profiles": profiles,
        "repeats": repeats,
        "build_ms": round(build_ms, 2),
        "to_gambit_ms": round(gambit_ms, 2),
        "pure_nash_ms": round(pure_ms, 2),
        "pure_nash_numpy_ms": round(pure_np_ms, 3),
        "qre_ms": round(qre_ms, 2),
        "qre_lambda": spec.qre_lambda,
        "equilibrium_rule_month_ms": round(rule_ms, 2),
        "pure_equilibria": len(pure),
    }))


if __name__ == "__main__":
    main()
