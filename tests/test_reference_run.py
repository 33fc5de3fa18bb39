"""The reference run: today's results must equal the committed ones (tests/reference/).

``tests/reference/summary.json`` holds the summary and full-precision series of small runs of the
``history`` and ``baseline`` scenarios (fixed seed, both drivers for one replicate), written by
``tests/reference/make_reference.py``. Any change of results fails here, floats beyond 1e-12 and
any discrete output (an action, a leader, a date). A change that is meant must be made on purpose:
regenerate the file and say why in the commit.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

REFERENCE = Path(__file__).resolve().parent / "reference"
TOL = 1e-12


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_reference",
                                                  REFERENCE / "make_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MAKER = _load_maker()
HOW = (f"results changed: if intended, run `{MAKER.COMMAND}` and say why in the commit "
       "(tests/reference/summary.json is the committed reference run)")


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads((REFERENCE / "summary.json").read_text())


@pytest.fixture(scope="module")
def fresh() -> dict:
    return json.loads(json.dumps(MAKER.build()))  # the same JSON types as the stored file


def differences(got, want, where: str = "") -> list[str]:
    """Every place where ``got`` differs from ``want``: floats beyond 1e-12, anything else."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or list(got) != list(want):
            return [f"{where}: keys {list(got) if isinstance(got, dict) else got!r} "
                    f"!= {list(want)}"]
        return [d for k in want for d in differences(got[k], want[k], f"{where}.{k}")]
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: {got!r} != {want!r}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True))
                for d in differences(g, w, f"{where}[{i}]")]
    if isinstance(want, float) and isinstance(got, float | int) and not isinstance(got, bool):
        if math.isclose(got, want, rel_tol=TOL, abs_tol=TOL):
            return []
        return [f"{where}: {got!r} != {want!r}"]
    if type(got) is not type(want) or got != want:
        return [f"{where}: {got!r} != {want!r}"]
    return []


def test_reference_file_was_made_by_the_script(stored) -> None:
    assert stored["regenerate"] == MAKER.COMMAND
    assert stored["seed"] == MAKER.SEED and stored["replicates"] == MAKER.REPLICATES
    assert list(stored["runs"]) == ["history/ensemble", "history/mesa_replicate_0",
                                    "baseline/ensemble"]


@pytest.mark.parametrize("run", ["history/ensemble", "history/mesa_replicate_0",
                                 "baseline/ensemble"])
def test_results_equal_the_reference_run(stored, fresh, run: str) -> None:
    diffs = differences(fresh["runs"][run], stored["runs"][run], run)
    assert not diffs, HOW + f"\n{len(diffs)} difference(s), the first:\n" + "\n".join(diffs[:12])


def test_the_drivers_agree_in_the_reference_run(stored) -> None:
    ens, mesa = stored["runs"]["history/ensemble"], stored["runs"]["history/mesa_replicate_0"]
    assert mesa["axis"][0] == ens["axis"][0]
    assert {a: v[0] for a, v in ens["actions"].items()} == {
        a: v[0] for a, v in mesa["actions"].items()}


def test_the_cpc_halt_bites_in_july_2022(stored) -> None:
    # forced in July (month index 6): no loss in the month before 1 Jul, the whole CPC share
    # (about 0.8) lost in the month before 1 Aug, nothing the month after (a 30-day halt)
    for pain in stored["runs"]["history/ensemble"]["pain"]:
        assert pain[6] == 0.0 and pain[7] > 0.75 and pain[8] == 0.0
    # action 1 is pipeline_halt (the catalogue's order after 'none'), played in month 6 only
    for played in stored["runs"]["history/ensemble"]["actions"]["russia"]:
        assert played[6] == "1" and "1" not in played[:6] + played[7:8]
