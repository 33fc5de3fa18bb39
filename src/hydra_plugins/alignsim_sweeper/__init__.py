"""Hydra's entry point for alignsim's batched sweeper (``hydra/sweeper=batched``, the default).

Hydra accepts sweepers only from the ``hydra_plugins`` namespace and imports every module here at
start-up, so this module stays small: the sweep's logic is :mod:`alignsim.sweeps.batched`,
imported when a multirun starts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.plugins.launcher import Launcher
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger("alignsim.sweeps.batched")


class BatchedSweeper(Sweeper):
    """Hydra's basic sweep (and a preset's sampled design), run as ``batches`` jobs that each
    run many points in-process (:mod:`alignsim.sweeps.batched`)."""

    def __init__(self, batches: int | None = None, params: dict[str, str] | None = None) -> None:
        super().__init__()
        self.batches = batches
        self.params = dict(params or {})
        self.hydra_context: HydraContext | None = None
        self.config: DictConfig | None = None
        self.launcher: Launcher | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction,
              config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        self.hydra_context = hydra_context
        self.config = config
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config)

    def _is_group(self, key: str) -> bool:
        assert self.hydra_context is not None
        repo = getattr(self.hydra_context.config_loader, "repository", None)
        return bool(repo is not None and repo.group_exists(key))

    def sweep(self, arguments: list[str]) -> Any:
        from alignsim.sweeps.batched import (
            BATCH_KEY,
            BATCHES_DIR,
            plan_sweep,
            release_workers,
            write_manifest,
        )

        assert self.config is not None and self.launcher is not None
        assert self.hydra_context is not None
        parser = OverridesParser.create(config_loader=self.hydra_context.config_loader)
        parsed = parser.parse_overrides([*(f"{k}={v}" for k, v in self.params.items()),
                                         *arguments])
        plan = plan_sweep(parsed, self._is_group, self.config, self.batches)
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(self.config, sweep_dir / "multirun.yaml")
        write_manifest(sweep_dir, plan)
        jobs = [[*plan.fixed, f"+{BATCH_KEY}={b}", f"hydra.sweep.subdir={BATCHES_DIR}/{b}"]
                for b in range(plan.batches)]
        # bad fixed input: one line and exit 2, before any job. The jobs differ only in their
        # batch number and folder, so composing the first checks them all (~0.4 s a job)
        self.validate_batch_is_legal(jobs[:1])
        log.info("sweep: %d points in %d batched jobs", len(plan.points), plan.batches)
        try:
            returns = self.launcher.launch(jobs, initial_job_idx=0)
        except Exception as exc:  # a worker died (joblib then raises for every job)
            # what the jobs wrote is kept; the report names every point left unfinished
            log.error("the sweep's jobs stopped: %s", " ".join(str(exc).split())[:300])
            return []
        finally:
            release_workers(self.launcher)
        for b, r in enumerate(returns):
            try:
                _ = r.return_value  # a job that raised: the report names its unfinished points
            except Exception as exc:  # the other jobs' points are kept
                log.error("batch %d of the sweep failed: %s", b, exc)
        return [returns]
