"""Build step of the wheel: ship the repository's top-level ``conf/`` as ``alignsim/conf``.

Everything else is declared in ``pyproject.toml``. Why a build step: the Hydra config tree stays
at the top of the repository, where users edit it and the docs point, but a plain
``pip install .`` must carry it too (``alignsim.config.conf_dir`` falls back to the packaged
copy when there is no source tree). Package data cannot reach outside the package folder, so
the tree is copied into the build folder after the Python files. Editable installs skip the
copy: they read ``conf/`` in place.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONF = Path(__file__).resolve().parent / "conf"


class BuildPyWithConf(build_py):
    """``build_py`` plus a copy of ``conf/`` (YAML only) into ``<build>/alignsim/conf``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "alignsim" / "conf"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(CONF, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithConf})
