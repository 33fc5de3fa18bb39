"""Counterfactual attribution: Shapley arithmetic, paired counterfactual runs, the table, the
causal patterns (each fails on a config built to break it) and ``alignsim-attribute``."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.schema import Config, EffectsConf, EventConf, RelationDelta
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.validation import attribution as at
from alignsim.validation.patterns import load_validation

R = 6


@functools.cache
def history(months: int = 39) -> Config:
    return compose_config(["payoffs=calibrated", f"months={months}", f"replicates={R}",
                           "progress=false"])


def _toy(*events: EventConf, months: int = 12) -> Config:
    cfg = copy.deepcopy(history())
    cfg.months = months
    cfg.scenario.name = "toy"
    cfg.scenario.events = list(events)
    return cfg


def _cut(name: str, delta: float = -0.2, date: str = "2022-02") -> EventConf:
    return EventConf(date=date, name=name, effects=EffectsConf(
        relations=[RelationDelta("kazakhstan", "russia", delta)]))


def _conf(**kw) -> at.AttributionConf:
    return at.AttributionConf(**{"dates": ["2022-06", "end"], "replicates": R, **kw})


# -------------------------------------------------------------------------- Shapley maths
def _brute_force(values: dict[frozenset, float], n: int) -> list[float]:
    """Shapley values as the average of marginal contributions over all n! orders."""
    out = [0.0] * n
    for order in itertools.permutations(range(n)):
        have: frozenset = frozenset()
        for j in order:
            out[j] += values[have | {j}] - values[have]
            have = have | {j}
    return [v / math.factorial(n) for v in out]


def test_shapley_exact_matches_all_orders_on_a_random_game():
    rng = np.random.default_rng(3)
    n = 4
    table = rng.normal(size=2**n)
    values = {frozenset(j for j in range(n) if k >> j & 1): table[k] for k in range(2**n)}
    got = at.shapley_exact(table)
    assert np.allclose(got, _brute_force(values, n), atol=1e-12)
    assert got.sum() == pytest.approx(table[-1] - table[0], abs=1e-12)


def test_shapley_two_player_game_by_hand():
    # v(∅)=0, v(a)=1, v(b)=2, v(ab)=4: a gets (1 + 2)/2, b gets (2 + 3)/2
    assert np.allclose(at.shapley_exact(np.array([0.0, 1.0, 2.0, 4.0])), [1.5, 2.5])


def test_sampled_shapley_is_efficient_and_near_exact():
    rng = np.random.default_rng(5)
    n = 5
    table = rng.normal(size=2**n)
    orders = np.array([rng.permutation(n) for _ in range(4000)])
    coalitions, chain = at.permutation_coalitions(n, orders)
    index = {tuple(c): k for k, c in enumerate(coalitions)}
    values = np.array([table[sum(1 << j for j in range(n) if c[j])] for c in coalitions])
    est, marg = at.shapley_sampled(values, orders, chain)
    assert est.sum() == pytest.approx(table[-1] - table[0], abs=1e-12)
    assert np.allclose(marg.sum(axis=1), table[-1] - table[0])  # every order is efficient
    se = marg.std(axis=0, ddof=1) / np.sqrt(len(orders))
    assert np.all(np.abs(est - at.shapley_exact(table)) < 5 * se + 1e-12)
    assert index[(False,) * n] == chain[0, 0]


# ------------------------------------------------------------- counterfactual simulations
def test_counterfactuals_are_the_compiled_scenarios_with_paired_replicates():
    """Each counterfactual's replicates are bit for bit those of run_ensemble on the scenario
    with those events dropped (replicate r draws stream r in all of them), whatever the
    frontier size (depth-first splits)."""
    cfg = history(39)
    events = at.scenario_events(cfg)
    players = [1, 3, 5, 10]  # invasion, parade, CPC halt, shoot-down; the others background
    rows = at.compile_event_rows(cfg, players)
    coalitions = at.all_coalitions(len(players))
    read_at = [0, 6, 13, 36, 39]
    big = at.coalition_axes(rows, coalitions, read_at, R, 11)
    small = at.coalition_axes(rows, coalitions, read_at, R, 11, max_rows=2 * R)
    assert np.array_equal(big, small)
    for c in (0, 5, 10, 15):
        keep = [p for j, p in enumerate(players) if coalitions[c, j]]
        keep += [e.index for e in events if e.index not in players]
        traj = run_ensemble(compile_spec(at.with_events(cfg, keep)), R, 11)
        assert np.array_equal(traj.axis[read_at], big[c])


def test_paired_replicates_remove_the_between_run_noise():
    """The event's per-replicate effect is with-event minus without-event on the same stream;
    drawn from different streams the same difference scatters more."""
    cfg = _toy(_cut("cut", -0.05), months=12)
    a = at.attribute(cfg, _conf())
    without = compile_spec(at.with_events(cfg, []))
    same = run_ensemble(without, R, cfg.seed).axis[-1]
    other = run_ensemble(without, R, cfg.seed + 1).axis[-1]
    with_event = a.drift_all[-1] + compile_spec(cfg).axis_of(compile_spec(cfg).alignment0)
    assert np.allclose(with_event - same, a.total[-1], atol=1e-15)
    assert a.total[-1].std() < (with_event - other).std()


def test_one_event_gets_the_whole_total():
    a = at.attribute(_toy(_cut("only")), _conf())
    assert a.phi.shape == (1, 2, R)
    assert np.array_equal(a.phi[0], a.total)
    assert np.abs(a.total[-1]).min() > 0  # the cut moves the axis


def test_identical_events_share_equally_and_rows_sum_to_the_total():
    cfg = _toy(_cut("first"), _cut("second"), _cut("later", -0.1, "2022-04"))
    a = at.attribute(cfg, _conf())
    assert np.allclose(a.phi[0], a.phi[1], rtol=0, atol=1e-15)  # symmetry, per replicate
    assert np.allclose(a.phi.sum(axis=0), a.total, rtol=0, atol=1e-14)  # efficiency
    frame = at.attribution_frame(a, _conf())
    for d in ("2022-06", "2022-12"):
        col = frame[f"contribution_{d}"]
        assert col.iloc[:-1].sum() == pytest.approx(col.iloc[-1], abs=1e-14)


def test_an_event_after_a_date_contributes_nothing_there():
    cfg = _toy(_cut("early"), _cut("late", -0.3, "2022-09"))
    a = at.attribute(cfg, _conf())
    assert np.all(a.values("late", "2022-06") == 0.0)
    assert np.abs(a.values("late", "2022-12")).max() > 0


def test_the_table_layout():
    a = at.attribute(_toy(_cut("a"), _cut("b", date="2022-03")), _conf())
    frame = at.attribution_frame(a, _conf())
    cols = ["event", "date"]
    for d in ("2022-06", "2022-12"):
        cols += [f"contribution_{d}", f"ci_low_{d}", f"ci_high_{d}"]
    assert list(frame.columns) == cols
    assert list(frame["event"]) == ["a", "b", "total"]
    assert list(frame["date"]) == ["2022-02", "2022-03", ""]
    assert (frame["ci_low_2022-12"] <= frame["contribution_2022-12"]).all()
    assert (frame["contribution_2022-12"] <= frame["ci_high_2022-12"]).all()


def test_many_events_are_sampled_with_a_stated_error():
    events = [_cut(f"e{j}", -0.02, f"2022-{j + 2:02d}") for j in range(4)]
    a = at.attribute(_toy(*events), _conf(max_exact=3, permutations=24))
    assert a.method == "sampled" and a.sampling_se is not None
    assert np.allclose(a.phi.sum(axis=0), a.total, atol=1e-14)
    exact = at.attribute(_toy(*events), _conf())
    assert np.all(np.abs(a.phi.mean(-1) - exact.phi.mean(-1)) <= 5 * a.sampling_se + 1e-9)


@pytest.mark.parametrize(("words", "key"), [
    ({"dates": ["2031-01"]}, "dates"), ({"dates": ["soon"]}, "dates"),
    ({"events": ["Nothing happened"]}, "events"),
])
def test_bad_dates_and_events_name_their_key(words, key):
    with pytest.raises(ConfigError) as err:
        at.attribute(_toy(_cut("a")), _conf(**words))
    assert err.value.key == key


# ----------------------------------------------------------------------- causal patterns
VCONF = load_validation("default")
PLAYERS = ["Invasion of Ukraine", "CPC halt", "Airliner shoot-down"]


def _edit(name: str, *relations: RelationDelta) -> Config:
    cfg = copy.deepcopy(history(39))
    for ev in cfg.scenario.events:
        if ev.name == name:
            ev.effects.relations = [*ev.effects.relations, *relations]
    return cfg


# each causal pattern, with a config that must make it fail and one it must pass on
BREAKERS = {
    # the invasion draws Kazakhstan closer to Moscow instead of away from it
    "invasion_toward_turkic_2024": (_edit("Invasion of Ukraine",
                                          RelationDelta("kazakhstan", "russia", 0.6)),
                                    _edit("Invasion of Ukraine",
                                          RelationDelta("kazakhstan", "russia", -0.6))),
    # the halt wins Astana over (coercion that works) instead of pushing it away
    "cpc_halt_toward_turkic_2024": (_edit("CPC halt", RelationDelta("kazakhstan", "russia", 0.6)),
                                    history(39)),
    # Kazakhstan takes Baku's side after the shoot-down instead of staying neutral
    "shootdown_neutral_quarter": (_edit("Airliner shoot-down",
                                        RelationDelta("kazakhstan", "russia", -1.5),
                                        RelationDelta("kazakhstan", "azerbaijan", 1.0)),
                                  history(39)),
}


@functools.cache
def _causal(pattern: str, which: int) -> dict:
    cfg = BREAKERS[pattern][which]
    a = at.attribute(cfg, _conf(dates=["2024-12", "2025-03"], events=PLAYERS))
    return {c.name: c for c in at.check_causal(a, VCONF)}


def test_every_causal_pattern_has_a_breaker():
    assert set(BREAKERS) == set(VCONF.causal)
    for conf in VCONF.causal.values():
        assert conf.source and conf.args["event"] in PLAYERS


@pytest.mark.parametrize("pattern", sorted(BREAKERS))
def test_causal_pattern_fails_on_its_breaker_and_passes_without(pattern):
    assert _causal(pattern, 0)[pattern].passed is False
    assert _causal(pattern, 1)[pattern].passed is True


def test_a_causal_pattern_whose_event_is_absent_is_not_applicable():
    cfg = compose_config(["scenario=history_endogenous", "months=39", f"replicates={R}",
                          "progress=false"])
    a = at.attribute(cfg, _conf(dates=["2024-12", "2025-03"],
                                events=["Invasion of Ukraine", "Airliner shoot-down"]))
    res = {c.name: c for c in at.check_causal(a, VCONF)}
    assert not res["cpc_halt_toward_turkic_2024"].applicable
    assert "not attributed" in res["cpc_halt_toward_turkic_2024"].line()
    assert res["shootdown_neutral_quarter"].applicable


# ---------------------------------------------------------------------------------- CLI
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alignsim.validation.attribution", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300)


SMALL = ("scenario=history_endogenous", "months=39", "replicates=4", "progress=false",
         "events=Invasion of Ukraine|EU energy pledge")


@pytest.mark.slow
def test_attribute_cli_end_to_end(tmp_path):
    out = tmp_path / "att"
    res = _cli(*SMALL, "dates=2022-12,end", "--out", str(out), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Invasion of Ukraine" in res.stdout and "total" in res.stdout
    assert "causal patterns" in res.stdout and "n/a" in res.stdout  # no CPC halt event here
    lines = (out / "attribution.csv").read_text().splitlines()
    assert lines[0] == ("event,date,contribution_2022-12,ci_low_2022-12,ci_high_2022-12,"
                        "contribution_2025-03,ci_low_2025-03,ci_high_2025-03")
    assert [ln.split(",")[0] for ln in lines[1:]] == ["Invasion of Ukraine", "EU energy pledge",
                                                      "total"]
    doc = json.loads((out / "attribution.json").read_text())
    assert doc["replicates"] == 4 and doc["coalitions"] == 4
    assert doc["max_abs_efficiency_error"] < 1e-12
    assert doc["provenance"]["seed"] == doc["seed"] and doc["provenance"]["config_hash"]
    assert (out / "attribution.png").stat().st_size > 10_000
    import pandas as pd

    reps = pd.read_parquet(out / "attribution.parquet")
    assert reps.attrs["alignsim"]["seed"] == doc["seed"]
    assert set(reps["event"]) >= {"Invasion of Ukraine", "total", "scenario", "no_events"}


@pytest.mark.parametrize(("args", "key"), [
    (("events=Nothing happened",), "events"),
    (("dates=2031-05",), "dates"),
    (("attribution.nosuch=1",), "attribution.nosuch"),
    (("attribution=nothing",), "attribution"),
    (("payoffs.alignment.nosuch=1",), "payoffs.alignment.nosuch"),
])
def test_attribute_cli_bad_input_is_one_line_exit_2(tmp_path, args, key):
    out = tmp_path / "att"
    res = _cli(*SMALL, *args, "--out", str(out), cwd=tmp_path)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("alignsim-attribute: error: "), res.stderr
    assert key in lines[0]
    assert not out.exists()


def test_one_replicate_given_to_hydra_is_refused(tmp_path, cli):
    """``replicates=1`` (Hydra's key, which wins over attribution.replicates) cannot give an
    interval: one line naming it, exit 2, nothing written."""
    proc = cli(["replicates=1", "scenario=baseline", "months=6", "dates=end", "--out",
                str(tmp_path / "out")], cwd=tmp_path, program="alignsim-attribute")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("alignsim-attribute: error: replicates: must be >= 2 "
                                   "(intervals need a spread), got 1")
    assert not (tmp_path / "out").exists()
