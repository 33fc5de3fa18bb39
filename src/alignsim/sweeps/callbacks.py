"""The Hydra callback that aggregates an experiment sweep when the multirun ends.

Registered in ``conf/config.yaml`` under ``hydra.callbacks``. Why ``on_multirun_end`` and the
files on disk: under the joblib and submitit launchers ``on_job_end`` runs in the workers (or the
parent sees no return values), so the only view every launcher shares is the sweep folder,
``config.hydra.sweep.dir``, where each job wrote its ``point.json``/``point.parquet``.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

# Failed points of the sweeps this process ran. The callback runs in the parent process under
# every launcher, so ``alignsim.cli.main`` reads it to end a sweep with failures non-zero.
FAILED_POINTS: list[str] = []


class SweepReport(Callback):
    """Build ``results.parquet``, ``failures.csv`` and the figures at the end of a sweep.

    Every sweep of the batched sweeper is reported (it leaves ``manifest.json``); under another
    sweeper, only experiment sweeps (a top-level ``experiment`` key) are.
    """

    def __init__(self, figures: bool = True) -> None:
        self.figures = figures

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        """Import the report's plotting stack while the jobs run (~2 s of the report's time
        here: seaborn, scipy.stats, pyplot), in a thread the parent would otherwise spend
        waiting; an import that fails there fails again, and is reported, at the end. Not under
        the basic launcher: its jobs run in this process, and the import would hold the
        interpreter during the first one (and inflate its recorded times)."""
        launcher = str(OmegaConf.select(config, "hydra.launcher._target_", default=""))
        if self.figures and not launcher.endswith("BasicLauncher"):
            threading.Thread(target=_preload_plots, name="alignsim-preload", daemon=True).start()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from alignsim.sweeps.batched import MANIFEST
        from alignsim.sweeps.report import ReportError, build_report, format_report

        sweep_dir = Path(str(config.hydra.sweep.dir))
        if (OmegaConf.select(config, "experiment", default=None) is None
                and not (sweep_dir / MANIFEST).is_file()):
            return
        try:
            sweep = build_report(sweep_dir, figures=self.figures)
        except ReportError as exc:
            print(f"alignsim: error: {exc.key}: {exc.message}", file=sys.stderr)
            return
        print(format_report(sweep), flush=True)
        for _, f in sweep.failures.iterrows():
            line = f"point failed ({f['job']}: {f['overrides']}): {f['error']}"
            FAILED_POINTS.append(line)
            print(f"alignsim: error: {line}", file=sys.stderr)


def _preload_plots() -> None:
    """Import :mod:`alignsim.plots` and the report ahead of :meth:`SweepReport.on_multirun_end`."""
    try:
        import alignsim.plots
        import alignsim.sweeps.report  # noqa: F401
    except Exception:  # imported again, and reported, at the end
        pass
