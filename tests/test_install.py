"""A plain (non-editable) install runs from any folder: the wheel carries the config tree.

Builds the wheel from a copy of the sources (so the work tree gets no ``build/`` folder), installs
it into a fresh venv that sees the project venv's dependencies through a ``.pth`` line (nothing
recompiled; pip's cache serves the build backend), and runs the entry points from an empty
folder. A ``.pth`` line adds a folder to ``sys.path`` without running *its* ``.pth`` files, so the
editable install of the project venv stays inactive: ``alignsim`` is imported from the wheel.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "src", "conf")


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{' '.join(cmd)}\n{out.stdout}\n{out.stderr}"
    return out


@pytest.mark.slow
def test_wheel_installs_and_runs(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("ALIGNSIM_CONF", "PYTHONPATH")}
    env["MPLBACKEND"] = "Agg"
    src = tmp_path / "src_copy"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)],
         tmp_path, env)
    (wheel,) = dist.glob("alignsim-*.whl")

    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    py = target / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()"
                              "['purelib'])"], capture_output=True, text=True,
                             check=True).stdout.strip()
    Path(purelib, "project_deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
          str(wheel)], tmp_path, env)

    work = tmp_path / "elsewhere"
    work.mkdir()
    where = _run([str(py), "-c", "import alignsim, alignsim.config as c; "
                  "print(alignsim.__file__); print(c.conf_dir())"], work, env).stdout.split()
    assert all(Path(p).is_relative_to(target) for p in where), where  # from the wheel
    assert Path(where[1], "config.yaml").is_file()

    bindir = target / "bin"
    out = _run([str(bindir / "alignsim"), "replicates=5", "months=6", "scenario=baseline",
                "progress=false"], work, env)
    assert "Russian–Turkic axis" in out.stdout
    assert list((work / "outputs").rglob("timeseries.parquet"))

    # a user's --config-dir adds to the packaged tree (here: one more scenario)
    extra = work / "myconf" / "scenario"
    extra.mkdir(parents=True)
    extra.joinpath("quiet.yaml").write_text(
        "name: quiet\nstart: \"2022-01\"\ndescription: no events\nevents: []\n")
    out = _run([str(bindir / "alignsim"), "--config-dir", str(work / "myconf"),
                "scenario=quiet", "replicates=2", "months=3", "progress=false"], work, env)
    assert "scenario 'quiet'" in out.stdout

    for tool in ("alignsim-validate", "alignsim-demo"):
        out = _run([str(bindir / tool), "--help"], work, env)
        assert "usage" in out.stdout.lower()
