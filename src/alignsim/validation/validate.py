"""``alignsim-validate``: replay 2022–2025 over many replicates and test it against the patterns.

Usage: ``alignsim-validate [hydra overrides] [validation=NAME] [validation.KEY=VALUE] [--out DIR]``,
e.g. ``alignsim-validate replicates=300 payoffs=calibrated``. Model overrides go to Hydra as for
``alignsim``; ``validation...`` selects and overrides ``conf/validation/<NAME>.yaml`` (the
patterns are not part of the model config, so they are kept out of its schema). Output goes to
``outputs/validate/<date>/<time>/`` (Hydra's run dir) or ``--out DIR`` / ``out=DIR``: a table
``validation.csv`` + ``validation.json`` and a figure ``validation.png``.

Bad input (unknown key, wrong type, unknown pattern metric, a run too short for the patterns)
ends in one line on stderr and exit status 2, before any file is written.
"""

from __future__ import annotations

import sys
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
                      time.perf_counter() - t0)


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    from alignsim.metrics import band

    sns.set_theme(style="whitegrid", context="notebook")
    spec, traj, results = v.traj.spec, v.traj, v.results
    ncol = 5
    nrow = int(np.ceil(len(results) / ncol))
    fig = plt.figure(figsize=(3.3 * ncol, 3.6 + 2.5 * nrow), layout="constrained")
    grid = fig.add_gridspec(1 + nrow, ncol, height_ratios=[1.5] + [1.0] * nrow)
    top = fig.add_subplot(grid[0, :])
    dates = pd.to_datetime([spec.start.plus(t).first_day() for t in range(traj.months + 1)])
    stats = band(traj.axis, axis_=1)
    top.fill_between(dates, stats["p05"], stats["p95"], alpha=0.25, color="C0", label="90 % band")
    top.plot(dates, stats["mean"], color="C0", lw=2, label="mean")
    for p in results:
        x = pd.Timestamp(p.when.plus(1).first_day())
        top.axvline(x, color="C2" if p.passed else "C3", lw=0.8, ls="--", alpha=0.6)
    top.set_ylabel("axis = w_turkic − w_russian")
    top.set_title(title or f"History replay, {v.replicates} replicates: {v.passed}/"
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
    from alignsim.plots import save
    from alignsim.results import atomic_write, write_json

    out_dir = Path(out_dir)
    frame = validation_frame(v.results)
    fig = validation_figure(v)  # built before anything is written: a failure leaves no files
    files = {
        "table": str(atomic_write(out_dir / "validation.csv",
                                  lambda p: frame.to_csv(p, index=False))),
    }
    save(fig, out_dir / "validation.png")
    files["figure"] = str(out_dir / "validation.png")
    doc = {
        "alignsim_version": __version__,
        "replicates": v.replicates,
        "seed": v.seed,
        "elapsed_s": round(v.elapsed_s, 3),
        **v.summary(),
        "patterns": [p.row() for p in v.results],
        **meta,
        "files": files,
    }
    write_json(doc, out_dir / "validation.json")
    files["json"] = str(out_dir / "validation.json")
    return files


# ------------------------------------------------------------------------------- the CLI
@dataclass
class SplitArgs:
    """Command-line words split between the model config (Hydra) and the validation group."""

    hydra: list[str]
    validation_name: str
    validation_overrides: list[str]
    out: str | None


def split_args(argv: Sequence[str]) -> SplitArgs:
    """Separate ``validation=…``, ``validation.k=v`` and ``--out DIR``/``out=DIR`` from the
    words meant for Hydra."""
    hydra_args: list[str] = []
    name, vover, out = "default", [], None
    words = list(argv)
    i = 0
    while i < len(words):
        w = words[i]
        bare = w.lstrip("+")
        if w == "--out":
            if i + 1 >= len(words):
                raise ConfigError("--out", "needs a directory")
            out = words[i + 1]
            i += 2
            continue
        if w.startswith("--out="):
            out = w.split("=", 1)[1]
        elif bare.startswith("out="):
            out = bare.split("=", 1)[1]
        elif bare.startswith("validation="):
            name = bare.split("=", 1)[1]
        elif bare.startswith("validation."):
            vover.append(bare[len("validation."):])
        else:
            hydra_args.append(w)
        i += 1
    if out is not None and not out:
        raise ConfigError("out", "needs a directory")
    return SplitArgs(hydra_args, name, vover, out)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: split the words, load the patterns, then run the Hydra job."""
    import hydra
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import DictConfig, OmegaConf

    from alignsim.config import conf_dir, register, to_config
    from alignsim.errors import bad_input, check_writable, help_requested, run_hydra_cli
    from alignsim.runner import discard_output_dir
    from alignsim.validation.patterns import load_validation

    words = list(sys.argv[1:] if argv is None else argv)
    help_requested(words, PROG, sys.modules[__name__].__doc__)
    try:
        args = split_args(words)
        if args.out:
            check_writable("--out", args.out)
        vconf = load_validation(args.validation_name, args.validation_overrides)
    except ConfigError as exc:
        bad_input(exc, PROG)
    overrides = list(args.hydra)
    if not any(w.lstrip("+").startswith("months=") for w in overrides):
        overrides.insert(0, f"months={vconf.months}")
    run_dir = args.out or "outputs/validate/${now:%Y-%m-%d}/${now:%H-%M-%S}"
    overrides += [f"hydra.run.dir={run_dir}", "hydra.output_subdir=.hydra",
                  "hydra/job_logging=none", "hydra/hydra_logging=none"]
    register()

    @hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
    def task(cfg: DictConfig) -> None:
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
        s = v.summary()
        print(f"\n{s['passed']}/{s['total']} patterns pass (fit {s['by_split']['fit']['passed']}/"
              f"{s['by_split']['fit']['total']}, holdout {s['by_split']['holdout']['passed']}/"
              f"{s['by_split']['holdout']['total']}); {v.replicates} replicates, seed {v.seed}, "
              f"{v.elapsed_s:.1f} s")
        print(f"wrote {files['table']}, {files['json']}, {files['figure']}")

    saved = sys.argv
    sys.argv = [PROG, *overrides]
    try:
        run_hydra_cli(task, PROG)
    finally:
        sys.argv = saved


if __name__ == "__main__":
    main()
