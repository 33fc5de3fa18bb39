"""Hydra wiring: the typed schema in the ConfigStore, and composing configs outside ``@hydra.main``.

The schema (:class:`alignsim.kernel.schema.Config`) is registered as ``alignsim_schema`` and
listed first in ``conf/config.yaml``'s defaults, so every YAML group is merged into typed nodes:
a wrong type or an unknown key fails at composition, before anything runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, ListConfig, OmegaConf

from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError

SCHEMA_NAME = "alignsim_schema"


def conf_dir() -> Path:
    """The ``conf/`` tree: ``$ALIGNSIM_CONF`` if set, else the repository's top-level ``conf/``."""
    env = os.environ.get("ALIGNSIM_CONF")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "conf"


def register() -> None:
    ConfigStore.instance().store(name=SCHEMA_NAME, node=Config)


# Top-level keys that tools add with ``+key=...`` beside the model's own schema.
TOOL_KEYS = frozenset({"experiment", "validation", "sensitivity", "calibration", "date", "out"})


def check_known_keys(cfg: DictConfig, prefix: str = "") -> None:
    """Reject keys the schema does not define, which ``+key=value`` would otherwise slip in.

    Hydra's ``+`` adds a key even to a typed node, and ``OmegaConf.to_object`` then drops it
    silently: a typo such as ``+payoffs.actors.russia.punsh=1`` would run as if never given.
    """
    node_type = OmegaConf.get_type(cfg)
    if dataclasses.is_dataclass(node_type):
        names = {f.name for f in dataclasses.fields(node_type)}
        for key in cfg:
            if key not in names and not (prefix == "" and key in TOOL_KEYS | {"hydra"}):
                allowed = ", ".join(sorted(names))
                raise ConfigError(f"{prefix}{key}", f"unknown key; allowed: {allowed}")
    for key in cfg:
        if prefix == "" and key in TOOL_KEYS | {"hydra"}:
            continue
        child = cfg._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none():
            check_known_keys(child, f"{prefix}{key}.")
        elif isinstance(child, ListConfig) and not child._is_none():
            for i, item in enumerate(child):
                if isinstance(item, DictConfig):
                    check_known_keys(item, f"{prefix}{key}[{i}].")


def to_config(cfg: DictConfig) -> Config:
    """A composed DictConfig (without its ``hydra`` node) as the typed dataclass tree."""
    check_known_keys(cfg)
    if "hydra" in cfg:
        cfg = OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"])
    obj = OmegaConf.to_object(cfg)
    assert isinstance(obj, Config)
    return obj


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> Config:
    """Compose ``conf/`` with command-line style overrides (tests, notebooks, the demo)."""
    return to_config(compose_dictconfig(overrides, config_name))


def compose_dictconfig(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    register()
    with initialize_config_dir(str(conf_dir()), version_base="1.3"):
        return compose(config_name, overrides=list(overrides))
