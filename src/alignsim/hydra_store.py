"""Hydra wiring: the typed schema in the ConfigStore, and composing configs outside ``@hydra.main``.

The schema (:class:`alignsim.schema.Config`) is registered as ``alignsim_schema`` and listed first
in ``conf/config.yaml``'s defaults, so every YAML group is merged into typed nodes: a wrong type or
an unknown key fails at composition, before anything runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

from alignsim.schema import Config

SCHEMA_NAME = "alignsim_schema"


def conf_dir() -> Path:
    """The ``conf/`` tree: ``$ALIGNSIM_CONF`` if set, else the repository's top-level ``conf/``."""
    env = os.environ.get("ALIGNSIM_CONF")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "conf"


def register() -> None:
    ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)


def to_config(cfg: DictConfig) -> Config:
    """A composed DictConfig (without its ``hydra`` node) as the typed dataclass tree."""
    if "hydra" in cfg:
        cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    obj = OmegaConf.to_object(cfg)
    assert isinstance(obj, Config)
    return obj


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> Config:
    """Compose ``conf/`` with command-line style overrides (tests, notebooks, the demo)."""
    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        cfg = compose(config_name, overrides=list(overrides))
    return to_config(cfg)


def compose_dictconfig(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose(config_name, overrides=list(overrides))
