"""``alignsim``: the main job, and the sweep jobs of ``alignsim -m +experiment=NAME``.

Thin on purpose: Hydra composes and validates the config; this file dispatches to the runner.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from alignsim.errors import bad_input, run_hydra_cli
from alignsim.hydra_store import conf_dir, register, to_config
from alignsim.runner import discard_output_dir, format_summary, run_main_job
from alignsim.spec import ConfigError

register()


@hydra.main(config_path=str(conf_dir()), config_name="config", version_base="1.3")
def task(cfg: DictConfig) -> object:
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        config = to_config(cfg)
        if config.experiment is not None:
            from alignsim.sweep import run_point

            return run_point(config, cfg, out_dir)
        resolved = OmegaConf.to_container(cfg, resolve=True)
        summary = run_main_job(config, out_dir, resolved)
    except ConfigError as exc:
        # exit here, inside the job: Hydra would add its own multi-line report otherwise
        discard_output_dir(out_dir)
        bad_input(exc)
    print(format_summary(summary))
    return summary["axis"]["end"]["median"]


def main() -> None:
    run_hydra_cli(task)


if __name__ == "__main__":
    main()
