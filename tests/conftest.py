"""Shared fixtures: the composed default config and its spec, and a runner for the CLI.

Composing the config costs ~100 ms and compiling it a few more, so both are session-scoped. The
session objects are shared: a test that needs a variant must mutate a *copy* (``make_config``) or
derive a new spec with ``dataclasses.replace``.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from alignsim.config import compose_config
from alignsim.kernel.schema import Config, ScenarioConf
from alignsim.kernel.spec import Spec, compile_spec

BIN = Path(sys.executable).parent


def cli_path(name: str = "alignsim") -> Path:
    """The console script of the project's virtualenv (the one running pytest)."""
    path = BIN / name
    if not path.exists():  # pragma: no cover - a broken install, not a test result
        raise FileNotFoundError(f"{path} not found: install the package (pip install -e .)")
    return path


def cli_env() -> dict[str, str]:
    """Environment for CLI subprocesses: a screenless matplotlib, no inherited Hydra debugging."""
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env["MPLBACKEND"] = "Agg"
    return env


def run_cli(
    args: Sequence[str],
    *,
    cwd: Path,
    program: str = "alignsim",
    timeout: float = 300.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``program args`` in ``cwd`` (so stray Hydra folders land in a temporary dir)."""
    return subprocess.run(
        [str(cli_path(program)), *args],
        cwd=cwd,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def default_config() -> Config:
    """The composed default config (history scenario, 72 months). Do not mutate: copy it."""
    return compose_config()


@pytest.fixture(scope="session")
def default_spec(default_config: Config) -> Spec:
    return compile_spec(default_config)


@pytest.fixture(scope="session")
def baseline_config(default_config: Config) -> Config:
    """The default world with no scheduled events (free play). Do not mutate: copy it."""
    cfg = copy.deepcopy(default_config)
    cfg.scenario = ScenarioConf(name="baseline", start="2022-01", events=[])
    return cfg


@pytest.fixture(scope="session")
def baseline_spec(baseline_config: Config) -> Spec:
    return compile_spec(baseline_config)


@pytest.fixture
def make_config(default_config: Config) -> Callable[..., Config]:
    """A factory of private copies of the default config, with top-level fields overridden."""

    def make(**top) -> Config:
        cfg = copy.deepcopy(default_config)
        for key, value in top.items():
            if not hasattr(cfg, key):
                raise AttributeError(f"Config has no field {key!r}")
            setattr(cfg, key, value)
        return cfg

    return make


@pytest.fixture(scope="session")
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """The :func:`run_cli` helper as a fixture (for test files that prefer fixtures)."""
    return run_cli
