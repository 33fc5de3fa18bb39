"""How the package meets its users: ``alignsim --help``, and the optional ``game`` extra.

pygambit is optional (``pip install 'alignsim[game]'``): without it the equilibrium tools must
say so in one line and exit 2, and everything else must run. Its absence is simulated in a
subprocess by ``sys.modules['pygambit'] = None`` (``import pygambit`` then raises ImportError).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

MISSING = "needs pygambit: pip install 'alignsim[game]'"


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    env.pop("ALIGNSIM_CONF", None)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def _without_pygambit(main: str, argv: list[str]) -> str:
    return ("import sys\nsys.modules['pygambit'] = None\n"
            f"sys.argv = {argv!r}\n{main}\n")


def test_help_names_the_app_and_its_groups(tmp_path: Path):
    bindir = Path(sys.executable).parent
    out = subprocess.run([str(bindir / "alignsim"), "--help"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("alignsim: ")
    assert "powered by Hydra" not in text and "cli is" not in text
    assert "docs/sources.md" in text and "README.md" in text
    assert "== Configuration groups ==" in text
    assert "scenario: baseline, history" in text
    assert "policy: " in text and "equilibrium" in text
    assert "experiment: investment_race, pipeline_leverage, shootdown_shock" in text
    assert not list(tmp_path.iterdir())  # help writes nothing


def test_model_runs_without_pygambit(tmp_path: Path):
    code = _without_pygambit(
        "from alignsim.cli import main\nmain()",
        ["alignsim", "scenario=baseline", "replicates=3", "months=4", "progress=false"],
    )
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Russian–Turkic axis" in out.stdout


@pytest.mark.slow
def test_equilibria_tool_names_the_extra(tmp_path: Path):
    code = _without_pygambit("from alignsim.game.cli import main\nmain()",
                             ["alignsim-equilibria", "+date=2022-03", "replicates=2"])
    out = _python(code, tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == f"alignsim-equilibria: error: {MISSING}"


@pytest.mark.slow
def test_equilibrium_rule_names_the_extra(tmp_path: Path):
    code = _without_pygambit(
        "from alignsim.cli import main\nmain()",
        ["alignsim", "scenario=baseline", "policy=equilibrium", "replicates=1", "months=2",
         "progress=false"],
    )
    out = _python(code, tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().splitlines()[-1] == f"alignsim: error: {MISSING}"
    assert "Traceback" not in out.stderr
    assert not list((tmp_path / "outputs").rglob("*.parquet"))  # nothing written


def test_stage_game_without_pygambit_needs_no_gambit(tmp_path: Path):
    """The pure-NumPy parts of the game layer import and work without pygambit."""
    code = ("import sys\nsys.modules['pygambit'] = None\nimport numpy as np\n"
            "from alignsim.game.equilibrium import StageGame, pure_nash_numpy\n"
            "g = StageGame.from_payoffs(np.array([[[3, 0], [5, 1]], [[3, 5], [0, 1]]]))\n"
            "print(pure_nash_numpy(g.payoffs))\n")
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[(1, 1)]"


def test_conf_dir_falls_back_to_the_packaged_copy(tmp_path: Path, monkeypatch):
    """Without a source tree (a plain install) the copy inside the package is used."""
    import alignsim.config as config

    packaged = tmp_path / "alignsim" / "conf"
    packaged.mkdir(parents=True)
    (packaged / "config.yaml").write_text("seed: 1\n")
    monkeypatch.delenv("ALIGNSIM_CONF", raising=False)
    monkeypatch.setattr(config, "_SOURCE_CONF", tmp_path / "no_checkout" / "conf")
    monkeypatch.setattr(config, "_PACKAGED_CONF", packaged)
    assert config.conf_dir() == packaged
    monkeypatch.setenv("ALIGNSIM_CONF", str(tmp_path))
    assert config.conf_dir() == tmp_path  # the environment variable still wins


def test_citation_file_is_cff_1_2_0():
    import yaml

    root = Path(__file__).resolve().parents[1]
    cff = yaml.safe_load((root / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0"
    assert cff["message"] and cff["title"] and cff["authors"]
    assert all("name" in a or "family-names" in a for a in cff["authors"])
    import tomllib

    meta = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["version"] == meta["version"]  # a release bumps both
    assert f"## {meta['version']}" in (root / "CHANGELOG.md").read_text(encoding="utf-8")


def test_constraints_pin_every_dependency() -> None:
    """A fresh machine gets the versions the tests passed with: every dependency of the package
    and of its extras is pinned (``name==version``) in constraints.txt, which bootstrap uses."""
    import re
    import tomllib

    root = Path(__file__).resolve().parents[1]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = {}
    for line in (root / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, line
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    wanted = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted += [r for r in extra if not r.startswith("alignsim")]
    for req in wanted:
        name = re.sub(r"[-_.]+", "-", re.split(r"[\s<>=!~\[;]", req, maxsplit=1)[0]).lower()
        assert name in pins, f"{req} is not pinned in constraints.txt (run make lock)"
    assert "-c constraints.txt" in (root / "scripts" / "bootstrap.sh").read_text()
