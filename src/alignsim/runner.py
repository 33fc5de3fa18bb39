"""The main job: run a scenario over many replicates, write results, print a summary.

Kept apart from the ``@hydra.main`` entry point so that notebooks and tests call it directly.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from alignsim import __version__
from alignsim.ensemble import run_ensemble
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.metrics import summarise
from alignsim.results import provenance, timeseries_frame, write_json, write_parquet
from alignsim.summary import run_summary


def run_main_job(config: Config, out_dir: Path, resolved: dict | None = None) -> dict:
    """Check, run and record one scenario. Returns the summary written to ``summary.json``.

    Bad input raises :class:`ConfigError` before anything is written; the files are written
    atomically, ``summary.json`` last, so its presence means the job completed. Both files carry
    the same provenance record (versions, git commit, seed, hash of the typed resolved config:
    :func:`alignsim.results.provenance`), so either one, copied elsewhere, says what made it.
    """
    t0 = time.perf_counter()
    spec = compile_spec(config)
    draws = traj = reduced = None
    if config.payoffs.draws:  # payoffs=posterior: each replicate takes one posterior draw
        from alignsim.draws import posterior_ensemble

        traj, draws = posterior_ensemble(config, config.payoffs.draws, progress=config.progress)
    elif not config.output.timeseries:  # summaries only: memory does not grow with months x runs
        reduced = run_summary(spec, config.replicates, config.seed, progress=config.progress)
    else:
        traj = run_ensemble(spec, config.replicates, config.seed, progress=config.progress)
    elapsed = time.perf_counter() - t0
    out_dir = Path(out_dir)
    record = provenance(seed=config.seed, config=config)
    summary = {
        "alignsim_version": __version__,
        "seed": int(config.seed),
        "scenario": config.scenario.name,
        "elapsed_s": round(elapsed, 3),
        **(summarise(traj) if traj is not None else reduced.summary()),
        "band": band_text(config, draws),
        "provenance": record,
        "config": resolved,
    }
    if draws is not None:
        summary["draws_file"] = str(config.payoffs.draws)
        summary["draw_of_replicate"] = [int(d) for d in draws]
    files = {}
    if config.output.timeseries:
        frame = timeseries_frame(traj)
        if draws is not None:
            frame["draw"] = draws[frame["replicate"].to_numpy()]
        path = write_parquet(frame, out_dir / "timeseries.parquet", record)
        files["timeseries"] = str(path)
    if config.output.figure:
        from alignsim.plots import drift_figure, save_figure

        title = (f"Kazakhstan's Russian–Turkic axis — scenario {config.scenario.name}, "
                 f"{config.replicates} replicates")
        fig = (drift_figure(traj, title) if traj is not None else  # binned bands, summaries only
               drift_figure(None, title, spec=spec, stats=reduced.monthly_bands(),
                            replicates=config.replicates))
        files["figure"] = str(save_figure(fig, out_dir / "drift.png"))
    summary["files"] = files
    if config.output.summary:
        write_json(summary, out_dir / "summary.json")
    return summary


def band_text(config: Config, draws) -> str:
    """What the headline band shows: replicate noise only, or parameter uncertainty too."""
    if draws is None:
        return "replicate noise only (one parameter set)"
    return (f"replicate noise and parameter uncertainty ({len(set(draws.tolist()))} posterior "
            f"draws from {config.payoffs.draws}, one per replicate)")


def discard_output_dir(out_dir: Path) -> None:
    """Remove a job folder that holds only Hydra's own bookkeeping (bad input: write nothing)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return
    ours = [p for p in out_dir.iterdir() if p.name != ".hydra" and p.suffix != ".log"]
    if not ours:
        shutil.rmtree(out_dir, ignore_errors=True)
        parent = out_dir.parent
        if parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()


def format_summary(summary: dict) -> str:
    """The printed summary: axis bands, leading spheres, each actor's most used action."""
    ax = summary["axis"]

    def row(name: str, b: dict) -> str:
        return (f"  {name:<22} {b['median']:+.3f}  (90 % band {b['p05']:+.3f} .. {b['p95']:+.3f},"
                f" mean {b['mean']:+.3f})")

    lines = [
        f"alignsim {summary['alignsim_version']} — scenario '{summary['scenario']}', "
        f"{summary['replicates']} replicates, {summary['months']} months "
        f"({summary['start']} to {summary['last_month']}), seed {summary['seed']}, "
        f"{summary['elapsed_s']:.2f} s",
        "Russian–Turkic axis (w_turkic − w_russian; > 0 leans Turkic), median:",
        row(f"start ({summary['start']})", ax["start"]),
        *([row("end of 2025", ax["end_2025"])] if ax["end_2025"]["date"] == "2026-01" else []),
        row(f"end ({summary['last_month']})", ax["end"]),
        "Leading sphere at the end (share of replicates): "
        + ", ".join(f"{k} {v:.0%}" for k, v in summary["leader_end"].items()),
        "Mean alignment at the end: "
        + ", ".join(f"{k} {v:.3f}" for k, v in summary["shares_end"].items()),
        "Most used action: "
        + ", ".join(f"{k} {v}" for k, v in summary["most_used_action"].items()),
        *([f"Band: {summary['band']}"] if "band" in summary else []),
    ]
    if summary.get("files"):
        lines.append("Wrote: " + ", ".join(summary["files"].values()) + " and summary.json")
    return "\n".join(lines)


__all__ = ["ConfigError", "discard_output_dir", "format_summary", "run_main_job"]
