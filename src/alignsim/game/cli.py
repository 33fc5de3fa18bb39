"""``alignsim-equilibria``: the equilibria of the stage game at a date of a scenario.

The scenario is replayed with the ensemble driver (``replicates`` of them, default from the
config; the replicate with the median Russian–Turkic axis at the date is kept) up to the start of
the month, then the month's normal-form game among all actors is built by the kernel (the month's
scheduled shocks included, every actor free to choose) and solved with pygambit: the pure Nash
equilibria, the logit QRE at a few precisions, and all mixed equilibria of the Russia vs
Kazakhstan slice with the other actors held at ``none``. Nothing is written to disk, so the tool
has no ``--out``. ``alignsim-equilibria --help`` lists the words.

Why compose instead of ``@hydra.main``: the command only prints, and ``@hydra.main`` would create
an output folder per call. Bad input (an unknown key, a wrong type, an unknown or out-of-range
date) is one line on stderr and exit status 2.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from alignsim.tools import Option, Tool, ToolArgs, tool_main

PROG = "alignsim-equilibria"
SLICE = ("russia", "kazakhstan")
TOOL = Tool(
    prog=PROG,
    summary="""Replays a scenario up to the start of a month (the replicate with the median
    Russian–Turkic axis of `replicates`), builds that month's normal-form game among all six
    actors (the month's scheduled shocks included, every actor free to choose) and solves it with
    pygambit: the pure Nash equilibria, the logit QRE at a few precisions, and all mixed equilibria
    of the Russia vs Kazakhstan slice with the others held at none. Prints only; writes nothing.""",
    options=(Option("+date", "YYYY-MM", "the month of the game (default: the scenario's start); "
                    "date=YYYY-MM works too"),),
    examples=(f"{PROG} +date=2022-07",
              f"{PROG} scenario=baseline +date=2024-03 seed=3 replicates=50"),
)


def qre_lambdas(qre_lambda: float) -> list[float]:
    """A few precisions from near-uniform play to the configured one and beyond."""
    return sorted({1.0, 10.0, float(qre_lambda), 4.0 * float(qre_lambda)} - {0.0})


def _profile_text(game, strategies, min_prob: float = 0.005) -> str:
    parts = []
    for name, acts, s in zip(game.players, game.actions, strategies, strict=True):
        best = int(np.argmax(s))
        if s[best] >= 1.0 - 1e-9:
            parts.append(f"{name}={acts[best]}")
        else:
            mix = " / ".join(f"{p:.2f} {a}" for p, a in zip(s, acts, strict=True) if p >= min_prob)
            parts.append(f"{name}=({mix})")
    return ", ".join(parts)


def _payoff_text(game, payoffs) -> str:
    return ", ".join(f"{n} {v:.4f}" for n, v in zip(game.players, payoffs, strict=True))


def report(cfg, date_text: str | None) -> str:
    """Replay, build, solve; return the printed text. Raises ConfigError on bad input."""
    from alignsim.game.equilibrium import logit_qre, mixed_nash_2p, pure_nash, qre_path
    from alignsim.game.stage_game import build_stage_game, replay_state
    from alignsim.kernel.calendar import parse_month
    from alignsim.kernel.spec import ConfigError, compile_spec

    spec = compile_spec(cfg)
    last = spec.start.plus(spec.months - 1)
    when = spec.start
    if date_text is not None:
        try:
            when = parse_month(str(date_text))
        except ValueError as exc:
            raise ConfigError("date", f"{exc} (the run covers {spec.start} to {last})") from None
    t = when.index_from(spec.start)
    if not 0 <= t < spec.months:
        raise ConfigError("date", f"{when} is outside the run; allowed: {spec.start} to {last}")

    out: list[str] = []
    t0 = time.perf_counter()
    state, rep = replay_state(spec, cfg.seed, t, replicates=int(cfg.replicates))
    t_replay = time.perf_counter() - t0
    axis = float(spec.axis_of(state.alignment)[0])
    out.append(f"Stage game at {when} — scenario {cfg.scenario.name}, seed {cfg.seed}, "
               f"replicate {rep} (median axis of {cfg.replicates}; replay {t_replay:.2f} s)")
    shares = ", ".join(f"{s} {w:.3f}" for s, w in zip(spec.spheres, state.alignment[0],
                                                       strict=True))
    out.append(f"Alignment of {spec.actor_labels[spec.swing]}: {shares} (axis {axis:+.3f})")
    if spec.event_names[t]:
        out.append("Events this month (shocks included in the game): "
                   + "; ".join(spec.event_names[t]))
    sched = [f"{spec.actors[i]} {spec.actions[a]}" for i, a in enumerate(spec.forced[t]) if a >= 0]
    if sched:
        out.append("Scheduled moves (not imposed here: every actor chooses): " + ", ".join(sched))

    t0 = time.perf_counter()
    game = build_stage_game(spec, state, t)
    t_build = time.perf_counter() - t0
    n_prof = int(np.prod(game.shape))
    out.append(f"Players and actions ({n_prof} profiles, built in {t_build * 1e3:.0f} ms):")
    for name, acts in zip(game.players, game.actions, strict=True):
        out.append(f"  {name}: {', '.join(acts)}")

    t0 = time.perf_counter()
    pure = pure_nash(game)
    out.append(f"\nPure Nash equilibria: {len(pure)} ({time.perf_counter() - t0:.2f} s)")
    for k, e in enumerate(pure, 1):
        out.append(f"  {k}. {_profile_text(game, e.strategies)}")
        out.append(f"     payoffs: {_payoff_text(game, e.payoffs)}")

    out.append("\nLogit QRE (principal branch; λ in 1/utility units, "
               f"policy.qre_lambda = {spec.qre_lambda:g}):")
    lams = qre_lambdas(spec.qre_lambda)
    t0 = time.perf_counter()
    try:
        path = qre_path(game, lams)  # one trace along the branch through all the lambdas
    except RuntimeError:  # Gambit's tracer can stop at a bifurcation: try each on its own
        path = []
        for lam in lams:
            try:
                path.append(logit_qre(game, lam))
            except RuntimeError as exc:
                path.append(exc)
    out[-1] += f" {time.perf_counter() - t0:.2f} s"
    for lam, e in zip(lams, path, strict=True):
        if isinstance(e, Exception):
            out.append(f"  λ={lam:g}: not reached ({e})")
            continue
        out.append(f"  λ={lam:g}: {_profile_text(game, e.strategies)}")
        out.append(f"     expected payoffs: {_payoff_text(game, e.payoffs)}")

    pair = build_stage_game(spec, state, t, actors=list(SLICE))
    held = ", ".join(a for a in spec.actors if a not in SLICE)
    t0 = time.perf_counter()
    mixed = mixed_nash_2p(pair)
    out.append(f"\nAll Nash equilibria of the {' vs '.join(pair.players)} slice "
               f"({held} held at none): {len(mixed)} ({time.perf_counter() - t0:.2f} s)")
    for k, e in enumerate(mixed, 1):
        out.append(f"  {k}. {_profile_text(pair, e.strategies)}")
        out.append(f"     payoffs: {_payoff_text(pair, e.payoffs)}")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: answer ``--help``, take ``+date=`` out, compose, replay, solve, print."""
    tool_main(TOOL, argv, _run)


def _run(args: ToolArgs) -> None:
    from alignsim.config import compose_config

    print(report(compose_config(args.hydra), args.get("date")))


if __name__ == "__main__":
    main()
