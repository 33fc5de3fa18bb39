"""Regenerate the reference run of ``tests/test_reference_run.py``: ``summary.json`` here.

Run it only on purpose, when a change of results is intended, and say why in the commit:

    .venv/bin/python tests/reference/make_reference.py

What is kept (as KTAB keeps reference runs): for the ``history`` and ``baseline`` scenarios with
the default config, seed ``SEED`` and ``REPLICATES`` replicates of the ensemble driver, plus
replicate 0 of ``history`` through the Mesa driver, the run summary (``metrics.summarise``) and,
at full precision, the axis at every state of every replicate, the final alignment, threat and
capacities, the revenue lost every month, the mean payoff of every actor and, as exact
strings, every action played.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "summary.json"
SEED = 20220101
REPLICATES = 4
MESA_MONTHS = 72
COMMAND = ".venv/bin/python tests/reference/make_reference.py"


def record(traj) -> dict:
    """The reference numbers of one trajectory (plain JSON types; floats at full precision)."""
    from alignsim.metrics import summarise

    spec = traj.spec
    return {
        "summary": summarise(traj),
        "axis": traj.axis.T.tolist(),  # (R, T+1)
        "alignment_end": traj.alignment[-1].tolist(),  # (R, S)
        "threat_end": traj.threat[-1].tolist(),  # (R, N)
        "capacity_end": traj.capacity[-1].tolist(),  # (R, K)
        "pain": traj.pain.T.tolist(),  # (R, T+1): revenue lost in the month before each state
        "mean_payoff": {a: float(traj.payoffs[:, :, i].mean()) for i, a in enumerate(spec.actors)},
        # one string per replicate and actor: the action index of every month (all < 10)
        "actions": {a: ["".join(str(int(x)) for x in traj.actions[:, r, i])
                        for r in range(traj.actions.shape[1])]
                    for i, a in enumerate(spec.actors)},
    }


def build() -> dict:
    """Run the reference jobs (about a second) and return what ``summary.json`` holds."""
    from alignsim import __version__
    from alignsim.config import compose_config
    from alignsim.ensemble import run_ensemble
    from alignsim.kernel.spec import compile_spec
    from alignsim.model import AlignmentModel

    out: dict = {"seed": SEED, "replicates": REPLICATES, "regenerate": COMMAND,
                 "alignsim_version_when_made": __version__, "runs": {}}
    for scenario in ("history", "baseline"):
        config = compose_config([f"scenario={scenario}", f"seed={SEED}"])
        spec = compile_spec(config)
        traj = run_ensemble(spec, REPLICATES, SEED)
        out["runs"][f"{scenario}/ensemble"] = record(traj)
        if scenario == "history":
            model = AlignmentModel(config, replicate=0)
            for _ in range(MESA_MONTHS):
                model.step()
            out["runs"][f"{scenario}/mesa_replicate_0"] = record(model.trajectory())
    return out


def main() -> None:
    data = build()
    OUT.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes); say why the results changed in the commit",
          file=sys.stderr)


if __name__ == "__main__":
    main()
