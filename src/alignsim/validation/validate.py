"""``alignsim-validate``: run 2022–2025 over many replicates and test it against the patterns.

The model under test is the composed config with the validation file's ``model:`` overrides
(``conf/validation/default.yaml``: ``scenario=history_endogenous``, where only the exogenous
shocks are scheduled and every move is chosen); a key given on the command line wins, e.g.
``scenario=history`` tests the replay of the record.

Model overrides go to Hydra as for ``alignsim``; ``validation=NAME`` and ``validation.KEY=VALUE``
select and override ``conf/validation/<NAME>.yaml`` (the patterns are not part of the model
config, so they are kept out of its schema). Output goes to Hydra's run folder
(``outputs/validate/<date>/<time>/`` or ``--out DIR``): a table ``validation.csv`` +
``validation.json`` and a figure ``validation.png``. ``alignsim-validate --help`` lists the words.

Bad input (unknown key, wrong type, unknown pattern metric, a run too short for the patterns)
ends in one line on stderr and exit status 2, before any file is written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alignsim import __version__
from alignsim.ensemble import Trajectory, run_ensemble
from alignsim.kernel.calendar import parse_month
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.tools import Option, Tool, ToolArgs, has_override, hydra_job, out_option, tool_main
from alignsim.validation.patterns import (
    PatternResult,
    ValidationConf,
    evaluate_all,
    required_months,
)

PROG = "alignsim-validate"


# ------------------------------------------------------------------------------ the check
@dataclass
class Validation:
    """A validated replay: the ensemble, its pattern results and the run's settings."""

    traj: Trajectory
    results: list[PatternResult]
    replicates: int
    seed: int
    elapsed_s: float
    scenario: str = ""

    @property
    def passed(self) -> int:
        return sum(p.passed for p in self.results)

    def summary(self) -> dict:
        by_split = {}
        for split in ("fit", "holdout"):
            rs = [p for p in self.results if p.conf.split == split]
            by_split[split] = {"passed": sum(p.passed for p in rs), "total": len(rs)}
        return {"passed": self.passed, "total": len(self.results), "by_split": by_split}


def run_validation(config: Config, vconf: ValidationConf, *, progress: bool = False) -> Validation:
    """Replay ``config`` over ``config.replicates`` replicates and evaluate every pattern.

    Raises :class:`ConfigError` (before running) if the run is too short for the patterns.
    """
    try:
        start = parse_month(config.scenario.start)
    except ValueError as exc:
        raise ConfigError("scenario.start", str(exc)) from None
    need = required_months(start, vconf.patterns)
    if config.months < need:
        raise ConfigError("months", f"the patterns need at least {need} months (to the last "
                          f"pattern date); got {config.months}")
    spec = compile_spec(config)
    t0 = time.perf_counter()
    traj = run_ensemble(spec, config.replicates, config.seed, progress=progress)
    results = evaluate_all(traj, vconf.patterns)
    return Validation(traj, results, int(config.replicates), int(config.seed),
                      time.perf_counter() - t0, str(config.scenario.name))


def validation_frame(results: Sequence[PatternResult]):
    """The validation table as a DataFrame, one row per pattern."""
    import pandas as pd

    return pd.DataFrame([p.row() for p in results])


def format_table(results: Sequence[PatternResult]) -> str:
    """A fixed-width text table: pattern, split, date, target, mean [90 % band], result."""
    head = (f"{'pattern':<28} {'split':<7} {'date':<7} {'target':<44} "
            f"{'model mean [90% band]':<30} {'stat':>6}  result")
    lines = [head, "-" * len(head)]
    for p in results:
        band = f"{p.mean:.3f} [{p.p05:.3f}, {p.p95:.3f}]"
        stat = f"{p.statistic:.2f}" if p.conf.check.startswith("share") else ""
        lines.append(
            f"{p.name:<28} {p.conf.split:<7} {p.when!s:<7} {p.target_text:<44} {band:<30} "
            f"{stat:>6}  {'pass' if p.passed else 'FAIL'}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------- figure
def validation_figure(v: Validation, title: str | None = None):
    """The axis band over 2022–2025 with the pattern dates, and one panel per pattern
    (model mean and 90 % band against the target and its tolerance), in date order."""
    import pandas as pd

    from alignsim.metrics import band
    from alignsim.plots import theme
    from alignsim.results import step_dates

    plt, sns = theme("notebook")
    traj, results = v.traj, v.results
    ncol = 5
    nrow = int(np.ceil(len(results) / ncol))
    fig = plt.figure(figsize=(3.3 * ncol, 3.6 + 2.5 * nrow), layout="constrained")
    grid = fig.add_gridspec(1 + nrow, ncol, height_ratios=[1.5] + [1.0] * nrow)
    top = fig.add_subplot(grid[0, :])
    dates = step_dates(traj)
    stats = band(traj.axis, axis_=1)
    top.fill_between(dates, stats["p05"], stats["p95"], alpha=0.25, color="C0", label="90 % band")
    top.plot(dates, stats["mean"], color="C0", lw=2, label="mean")
    for p in results:
        x = pd.Timestamp(p.when.plus(1).first_day())  # a pattern is read at its month's end
        top.axvline(x, color="C2" if p.passed else "C3", lw=0.8, ls="--", alpha=0.6)
    top.set_ylabel("axis = w_turkic − w_russian")
    top.set_title(title or f"Scenario {v.scenario}, {v.replicates} replicates: {v.passed}/"
                  f"{len(results)} patterns pass (dashed: pattern dates, green pass, red fail)")
    top.legend(loc="upper left")
    for j, p in enumerate(results):
        ax = fig.add_subplot(grid[1 + j // ncol, j % ncol])
        c = p.conf
        color = "C2" if p.passed else "C3"
        sns.stripplot(x=np.zeros(len(p.values)), y=p.values, ax=ax, color="0.6", size=2,
                      jitter=0.25, native_scale=True)
        # the mean may lie outside the 5–95 % band of a skewed metric: draw them separately
        ax.vlines(0, p.p05, p.p95, color=color, lw=3, label="model 90 % band")
        ax.plot([0], [p.mean], "o", color=color, ms=8, label="model mean")
        if c.check == "approx":
            ax.axhspan(c.target - c.tolerance, c.target + c.tolerance, color="C1", alpha=0.2)
            ax.axhline(c.target, color="C1", lw=2, label="target ± tolerance")
        elif c.check == "share_within":
            ax.axhspan(-c.target, c.target, color="C1", alpha=0.2)
        else:
            ax.axhline(c.target, color="C1", lw=2, ls="--", label="threshold")
        ax.set_xticks([])
        ax.set_xlim(-1, 1)
        extra = f", {p.statistic:.0%} meet" if c.check.startswith("share") else ""
        ax.set_title(f"{p.when} · {p.name}\n{c.split}: {'pass' if p.passed else 'FAIL'}{extra}",
                     fontsize=8, color=color)
        ax.set_ylabel(c.unit, fontsize=8)
        ax.tick_params(labelsize=7)
    return fig


# ---------------------------------------------------------------------------- writing
def write_outputs(v: Validation, out_dir: Path, meta: dict) -> dict[str, str]:
    """Write ``validation.csv``, ``validation.json`` (rows + summary + meta) and the figure."""
    from alignsim.plots import save_figure
    from alignsim.results import atomic_write, provenance, write_json

    out_dir = Path(out_dir)
    frame = validation_frame(v.results)
    fig = validation_figure(v)  # built before anything is written: a failure leaves no files
    files = {
        "table": str(atomic_write(out_dir / "validation.csv",
                                  lambda p: frame.to_csv(p, index=False))),
    }
    files["figure"] = str(save_figure(fig, out_dir / "validation.png"))
    doc = {
        "alignsim_version": __version__,
        "replicates": v.replicates,
        "seed": v.seed,
        "elapsed_s": round(v.elapsed_s, 3),
        **v.summary(),
        "patterns": [p.row() for p in v.results],
        **meta,
        "files": files,
        "provenance": provenance(v.seed, meta.get("config")),
    }
    write_json(doc, out_dir / "validation.json")
    files["json"] = str(out_dir / "validation.json")
    return files


# ------------------------------------------------------------------------------- the CLI
OUT = out_option("the output folder (Hydra's run folder; default outputs/validate/<date>/<time>/); "
                 "out=DIR, the older spelling, still works", aliases=("out",))
VALIDATION = Option("validation", "NAME", "the patterns: conf/validation/NAME.yaml (default: "
                    "default), and validation.KEY=VALUE overrides of that file, e.g. "
                    "validation.patterns.mc_tonnes_2023.tolerance=0.3", prefix=True)
TOOL = Tool(
    prog=PROG,
    summary="""Runs the model under test (history_endogenous, where every move is chosen, by
    default; scenario=history for the replay) over many replicates with the ensemble
    driver and tests it against the patterns documented in the seeds (conf/validation/): for each
    pattern its target, the model's mean and 90 % band, and pass or FAIL, fit (2022–2023) and
    holdout (2024–2025) apart. Writes validation.csv, validation.json and validation.png.""",
    options=(OUT, VALIDATION),
    examples=(f"{PROG} replicates=300 payoffs=calibrated --out outputs/val-cal",
              f"{PROG} validation.patterns.mc_tonnes_2023.tolerance=0.3"),
    hydra_flags=True,
)


def load_inputs(args: ToolArgs) -> tuple[ValidationConf, list[str]]:
    """The patterns named by the tool's words, and the model overrides (the run covers the
    patterns' months unless ``months=`` is given) — shared with ``alignsim-calibrate``."""
    from alignsim.validation.patterns import load_validation

    vconf = load_validation(args.get("validation", "default"), args.lists.get("validation", []))
    overrides = list(args.hydra)
    if not has_override(overrides, "months"):
        overrides.insert(0, f"months={vconf.months}")
    model = [w for w in vconf.model if not has_override(overrides, w.lstrip("+").partition("=")[0])]
    return vconf, [*model, *overrides]


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: take out ``--nulls``, split the words, load the patterns, run the Hydra job."""
    import dataclasses
    import sys

    from alignsim.tools import usage_error
    from alignsim.validation.nulls import help_option, split_nulls_option

    words = list(sys.argv[1:] if argv is None else argv)
    try:
        rest, nulls = split_nulls_option(words)
    except ConfigError as exc:
        usage_error(PROG, f"{exc.key}: {exc.message}")
    tool = dataclasses.replace(TOOL, options=(*TOOL.options, help_option()))
    tool_main(tool, rest, lambda args: _run(args, nulls, words))


def _run(args: ToolArgs, nulls: tuple[str, ...] | None = None,
         words: list[str] | None = None) -> None:
    vconf, overrides = load_inputs(args)
    run_dir = args.get("out") or "outputs/validate/${now:%Y-%m-%d}/${now:%H-%M-%S}"
    overrides += [f"hydra.run.dir={run_dir}", "hydra.output_subdir=.hydra",
                  "hydra/job_logging=none", "hydra/hydra_logging=none"]
    hydra_job(lambda cfg: _task(cfg, vconf, words or args.words, nulls), overrides, PROG)


def _task(cfg, vconf: ValidationConf, words: list[str],
          nulls: tuple[str, ...] | None = None) -> None:
    """The Hydra job: validate, write, print; then the null models if asked (``--nulls``)."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from alignsim.config import to_config
    from alignsim.errors import bad_input
    from alignsim.runner import discard_output_dir

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        config = to_config(cfg)
        v = run_validation(config, vconf, progress=bool(config.progress))
    except ConfigError as exc:
        # exit here (SystemExit passes through Hydra's job runner, which would otherwise
        # print its own "Error executing job" line before ours)
        discard_output_dir(out_dir)
        bad_input(exc, PROG)
    meta = {
        "validation": OmegaConf.to_container(OmegaConf.structured(vconf)),
        "config": OmegaConf.to_container(cfg, resolve=True),
        "command": [PROG, *words],
    }
    files = write_outputs(v, out_dir, meta)
    print(format_table(v.results))
    print(f"\n{summary_line(v)}")
    print(f"wrote {files['table']}, {files['json']}, {files['figure']}")
    if nulls:  # the same compiled spec, seed and replicates: common random numbers
        from alignsim.validation.nulls import report_nulls

        report_nulls(v.traj.spec, vconf.patterns, v.results, replicates=v.replicates,
                     seed=v.seed, nulls=nulls, out_dir=out_dir, meta=meta)


def summary_line(v: Validation) -> str:
    """``15/15 patterns pass (fit 6/6, holdout 9/9); R replicates, seed S, T s``."""
    s = v.summary()
    fit, hold = s["by_split"]["fit"], s["by_split"]["holdout"]
    return (f"{s['passed']}/{s['total']} patterns pass (fit {fit['passed']}/{fit['total']}, "
            f"holdout {hold['passed']}/{hold['total']}); {v.replicates} replicates, seed {v.seed}, "
            f"{v.elapsed_s:.1f} s")


if __name__ == "__main__":
    main()
