"""``alignsim``: the main job, and the sweep jobs of ``alignsim -m +experiment=NAME``.

Thin on purpose: Hydra composes and validates the config; this file dispatches to the runner.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from alignsim.config import conf_dir, register, to_config
from alignsim.errors import bad_input, check_writable, error_line, run_hydra_cli
from alignsim.kernel.spec import ConfigError
from alignsim.runner import discard_output_dir, format_summary, run_main_job

register()
_BAD_JOBS: list[str] = []  # bad-input jobs of this process's multirun (basic launcher)


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def task(cfg: DictConfig) -> object:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    if cfg.get("batch") is not None:  # a job of the batched sweeper: many points in-process
        from alignsim.sweeps.batched import run_batch

        return run_batch(cfg, int(cfg.batch), Path(HydraConfig.get().sweep.dir))
    try:
        config = to_config(cfg)
        if config.experiment is not None:
            from alignsim.sweeps.point import run_point

            single = HydraConfig.get().mode != RunMode.MULTIRUN
            result = run_point(config, cfg, out_dir, log_failure=not single)
            if result["status"] == "failed" and single:
                # a single run of a preset point: bad input is exit status 2, as for the main job
                print(f"alignsim: error: {result['error']}", file=sys.stderr)
                discard_output_dir(out_dir)
                sys.exit(2)
            return result
        resolved = OmegaConf.to_container(cfg, resolve=True)
        if config.payoffs.draws:  # payoffs=posterior: a drawn key cannot also be set
            from alignsim.draws import check_not_overridden

            check_not_overridden(config.payoffs.draws, list(HydraConfig.get().overrides.task))
        summary = run_main_job(config, out_dir, resolved)
    except ConfigError as exc:
        if HydraConfig.get().mode == RunMode.MULTIRUN:
            # one bad point must not stop the sweep: say so, record it, go on
            print(f"alignsim: error: {error_line(exc)}", file=sys.stderr)
            _BAD_JOBS.append(error_line(exc))
            if cfg.get("experiment") is not None:
                from alignsim.sweeps.point import record_failure

                return record_failure(out_dir, exc, cfg=cfg)
            discard_output_dir(out_dir)
            return None
        # exit here, inside the job: Hydra would add its own multi-line report otherwise
        discard_output_dir(out_dir)
        bad_input(exc)
    print(format_summary(summary))
    return summary["axis"]["end"]["median"]


def _check_output_folder(argv: list[str]) -> None:
    """Refuse an output folder that cannot be written before Hydra creates it (Hydra's own
    ``mkdir`` fails outside the job, with a traceback). Checks the literal part of the folder,
    up to its first interpolation: ``outputs/${now:...}`` checks ``outputs``."""
    multirun = "-m" in argv or "--multirun" in argv
    key = "hydra.sweep.dir" if multirun else "hydra.run.dir"
    folder = "multirun" if multirun else "outputs"
    for word in argv:
        if word.startswith(f"{key}="):
            folder = word.split("=", 1)[1]
    literal = folder.split("${", 1)[0].rstrip("/") or "."
    try:
        check_writable(key, literal)
    except ConfigError as exc:
        bad_input(exc)


def main() -> None:
    _check_output_folder(sys.argv[1:])
    run_hydra_cli(task)
    failed = sys.modules.get("alignsim.sweeps.callbacks")
    if failed is not None and failed.FAILED_POINTS:  # the others' results are kept and reported
        print(f"alignsim: {len(failed.FAILED_POINTS)} point(s) of the sweep failed "
              "(see the lines above and failures.csv)", file=sys.stderr)
        sys.exit(2)
    if _BAD_JOBS:  # the sweep went on, but its input was not all good: say so in the status
        print(f"alignsim: {len(_BAD_JOBS)} job(s) had bad input (see the lines above)",
              file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
