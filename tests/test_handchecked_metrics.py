"""Metrics, the run summary and a sweep point's outcomes on a trajectory small enough to check
by hand: three replicates, four months (states on 1 Oct 2025 .. 1 Feb 2026), three spheres.

The trajectory is built directly (no run), so every expected number below is arithmetic on the
literals of ``ALIGNMENT``, ``ACTIONS`` and ``PAYOFFS``. Percentiles are NumPy's default (linear):
of three sorted values ``x0 <= x1 <= x2`` the 5th is ``x0 + 0.1 (x1 - x0)``, the 95th
``x1 + 0.9 (x2 - x1)``.
"""

from __future__ import annotations

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import Trajectory
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.metrics import (
    action_frequencies,
    axis,
    axis_crossing_step,
    band,
    date_index,
    drift,
    leader,
    summarise,
    tipping_step,
)
from alignsim.sweeps.point import Experiment, neutrality, outcome_frame, trajectory_frame
from handchecked_world import tiny_config

TOL = 1e-12

# spheres (east, west, south); the axis is west - east. Rows: states 0..4 (2025-10 .. 2026-02)
ALIGNMENT = np.array([
    # replicate 0: west overtakes east on 1 Jan 2026 (state 3)
    [[0.5, 0.3, 0.2], [0.6, 0.2, 0.2], [0.4, 0.3, 0.3]],
    [[0.5, 0.3, 0.2], [0.6, 0.2, 0.2], [0.3, 0.28, 0.42]],
    [[0.42, 0.38, 0.2], [0.6, 0.2, 0.2], [0.25, 0.3, 0.45]],
    [[0.3, 0.5, 0.2], [0.55, 0.25, 0.2], [0.3, 0.32, 0.38]],
    [[0.35, 0.45, 0.2], [0.5, 0.3, 0.2], [0.2, 0.25, 0.55]],
])
# axis per state (rows) and replicate (columns), west - east:
AXIS = [[-0.2, -0.4, -0.1], [-0.2, -0.4, -0.02], [-0.04, -0.4, 0.05], [0.2, -0.3, 0.02],
        [0.1, -0.2, 0.05]]
NONE, HALT, WARM, SUMMIT = 0, 1, 2, 3
# actors (k, r, t, c); months 0..3
ACTIONS = np.zeros((4, 3, 4), dtype=np.int64)
ACTIONS[:, 0, 1] = [SUMMIT, SUMMIT, NONE, SUMMIT]  # r, replicate 0
ACTIONS[:, 1, 1] = [NONE, HALT, NONE, SUMMIT]
ACTIONS[:, 2, 1] = [SUMMIT, NONE, NONE, NONE]
ACTIONS[:, 0, 2] = [SUMMIT, SUMMIT, SUMMIT, NONE]  # t
ACTIONS[:, 1, 2] = [SUMMIT, SUMMIT, NONE, SUMMIT]
ACTIONS[:, 2, 2] = [NONE, SUMMIT, SUMMIT, SUMMIT]
# payoffs[t, r, i] = 0.01 * (12 t + 4 r + i): the mean over t and r is 0.01 * (18 + 4 + i)
PAYOFFS = 0.01 * np.arange(48, dtype=float).reshape(4, 3, 4)


def approx(values):
    return pytest.approx(np.asarray(values, dtype=float), abs=TOL)


@pytest.fixture(scope="module")
def traj() -> Trajectory:
    spec = compile_spec(tiny_config(three_spheres=True, start="2025-10", months=4))
    assert spec.spheres == ("east", "west", "south") and spec.actors == ("k", "r", "t", "c")
    assert spec.actions == ("none", "halt", "warm", "summit")
    n = spec.n_actors
    return Trajectory(
        spec=spec,
        replicate_ids=np.array([0, 1, 2]),
        alignment=ALIGNMENT.copy(),
        share=np.zeros((5, 3, 2)),
        capacity=np.zeros((5, 3, 2)),
        threat=np.zeros((5, 3, n)),
        investment=np.zeros((5, 3, n)),
        relations=np.zeros((5, 3, n, n)),
        pain=np.zeros((5, 3)),
        actions=ACTIONS.copy(),
        payoffs=PAYOFFS.copy(),
    )


# ------------------------------------------------------------------------- the metrics
def test_axis_and_drift(traj) -> None:
    assert axis(traj) == approx(AXIS)
    # drift = axis - axis at the start (-0.2, -0.4, -0.1)
    assert drift(traj)[-1] == approx([0.3, 0.2, 0.15])
    assert drift(traj)[3] == approx([0.4, 0.1, 0.12])


def test_leader_tipping_and_crossing(traj) -> None:
    # leaders: r0 east, east, east (0.42 > 0.38), west, west; r1 east throughout;
    # r2 east, then south
    assert leader(traj).T.tolist() == [[0, 0, 0, 1, 1], [0] * 5, [0, 2, 2, 2, 2]]
    assert tipping_step(traj).tolist() == [3, -1, 1]
    # axis signs: r0 - - - + +, r1 never positive, r2 - - + + +
    assert axis_crossing_step(traj).tolist() == [3, -1, 2]


def test_band_by_hand() -> None:
    b = band(np.array([-0.2, -0.4, -0.1]))
    # sorted -0.4, -0.2, -0.1: p05 = -0.4 + 0.1 * 0.2, p95 = -0.2 + 0.9 * 0.1
    assert b["mean"] == pytest.approx(-0.7 / 3, abs=TOL)
    assert b["p05"] == pytest.approx(-0.38, abs=TOL)
    assert b["median"] == pytest.approx(-0.2, abs=TOL)
    assert b["p95"] == pytest.approx(-0.11, abs=TOL)


def test_action_frequencies_by_hand(traj) -> None:
    # 12 replicate-months per actor. r: none 6, halt 1, warm 0, summit 5; t: none 3, summit 9
    assert action_frequencies(traj) == approx([
        [1.0, 0.0, 0.0, 0.0],
        [6 / 12, 1 / 12, 0.0, 5 / 12],
        [3 / 12, 0.0, 0.0, 9 / 12],
        [1.0, 0.0, 0.0, 0.0],
    ])


def test_date_index_is_clipped_to_the_run(traj) -> None:
    assert date_index(traj, 2026, 1) == 3
    assert date_index(traj, 2025, 10) == 0
    assert date_index(traj, 2020, 1) == 0 and date_index(traj, 2030, 1) == 4


# ------------------------------------------------------------------------- the summary
def test_summary_by_hand(traj) -> None:
    r6 = lambda x: round(x, 6)  # noqa: E731 - the summary rounds to 6 decimals
    expected = {
        "replicates": 3,
        "months": 4,
        "start": "2025-10",
        "end": "2026-02",
        "last_month": "2026-01",
        "axis": {
            # state 0: (-0.2, -0.4, -0.1)
            "start": {"mean": r6(-0.7 / 3), "p05": -0.38, "median": -0.2, "p95": -0.11},
            # state 3 = 1 Jan 2026: (0.2, -0.3, 0.02); sorted -0.3, 0.02, 0.2
            "end_2025": {"mean": r6(-0.08 / 3), "p05": -0.3 + 0.1 * 0.32, "median": 0.02,
                         "p95": 0.02 + 0.9 * 0.18, "date": "2026-01"},
            # state 4: (0.1, -0.2, 0.05); sorted -0.2, 0.05, 0.1
            "end": {"mean": r6(-0.05 / 3), "p05": -0.175, "median": 0.05, "p95": 0.095},
        },
        # axis end - start: (0.3, 0.2, 0.15); sorted 0.15, 0.2, 0.3
        "drift_end": {"mean": r6(0.65 / 3), "p05": 0.155, "median": 0.2, "p95": 0.29},
        # mean shares in the final state
        "shares_end": {"east": 0.35, "west": r6(1.0 / 3), "south": r6(0.95 / 3)},
        # final leaders: west, east, south
        "leader_end": {"east": r6(1 / 3), "west": r6(1 / 3), "south": r6(1 / 3)},
        # tipping steps (3, -1, 1): median of (3, 1) = 2; crossings (3, -1, 2)
        "tipping": {"leader_change_share": r6(2 / 3), "leader_change_median_month": 2,
                    "axis_crossing_share": r6(2 / 3)},
        "most_used_action": {"k": "none", "r": "none", "t": "summit", "c": "none"},
        "action_frequencies": {
            "k": {"none": 1.0},
            "r": {"none": 0.5, "halt": r6(1 / 12), "warm": 0.0, "summit": r6(5 / 12)},
            "t": {"none": 0.25, "summit": 0.75},
            "c": {"none": 1.0, "summit": 0.0},
        },
        "mean_payoff": {"k": 0.22, "r": 0.23, "t": 0.24, "c": 0.25},
    }
    got = summarise(traj)
    assert list(got) == list(expected)
    _assert_close(got, expected, "summary")


def _assert_close(got, expected, where: str) -> None:
    if isinstance(expected, dict):
        assert isinstance(got, dict) and sorted(got) == sorted(expected), where
        for k in expected:
            _assert_close(got[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, float):
        assert isinstance(got, float), where
        assert got == pytest.approx(round(expected, 6), abs=1e-9), where
    else:
        assert got == expected and type(got) is type(expected), where


# ----------------------------------------------------------------- a sweep point's rows
def test_neutrality_by_hand() -> None:
    # (1 - sum w^2) / (1 - 1/3): (0.35, 0.45, 0.2) -> (1 - 0.365) * 1.5
    assert neutrality(np.array([0.35, 0.45, 0.2])) == pytest.approx(0.9525, abs=TOL)
    assert neutrality(np.array([1 / 3, 1 / 3, 1 / 3])) == pytest.approx(1.0, abs=TOL)
    assert neutrality(np.array([0.0, 1.0, 0.0])) == pytest.approx(0.0, abs=TOL)
    assert neutrality(np.array([0.7, 0.3])) == pytest.approx((1 - 0.58) * 2, abs=TOL)


def test_outcome_frame_by_hand(traj) -> None:
    exp = Experiment(name="hand", window={"start": "2025-11", "months": 2})
    f = outcome_frame(traj, {"rift": 0.5}, 7, exp)
    assert f["rift"].tolist() == [0.5] * 3
    assert f["point_key"].tolist() == [7] * 3 and f["replicate"].tolist() == [0, 1, 2]
    assert f["axis_start"].to_numpy() == approx([-0.2, -0.4, -0.1])
    # end of 2025 = the state on 1 Jan 2026 = state 3 (not 1 Dec 2025, state 2)
    assert f["axis_2025"].to_numpy() == approx([0.2, -0.3, 0.02])
    assert f["drift_2025"].to_numpy() == approx([0.4, 0.1, 0.12])
    assert f["axis_end"].to_numpy() == approx([0.1, -0.2, 0.05])
    assert f["drift_end"].to_numpy() == approx([0.3, 0.2, 0.15])
    assert f["leader_end"].tolist() == ["west", "east", "south"]
    assert f["share_east_end"].to_numpy() == approx([0.35, 0.5, 0.2])
    assert f["share_south_end"].to_numpy() == approx([0.2, 0.2, 0.55])
    # final states: sum of squares 0.365, 0.38, 0.405, times 1.5
    assert f["neutrality_end"].to_numpy() == approx([0.635 * 1.5, 0.62 * 1.5, 0.595 * 1.5])
    assert f["tipping_step"].tolist() == [3, -1, 1]
    assert f["axis_crossing_step"].tolist() == [3, -1, 2]
    assert f["n_summit"].tolist() == [6, 4, 4]  # r + t summits per replicate
    assert f["n_halt"].tolist() == [0, 1, 0] and f["n_warm"].tolist() == [0, 0, 0]
    # window: from state 1 (1 Nov 2025) to state 1 + 2 = 3 (1 Jan 2026)
    assert f["window_axis_before"].to_numpy() == approx([-0.2, -0.4, -0.02])
    assert f["window_axis_after"].to_numpy() == approx([0.2, -0.3, 0.02])
    assert f["window_drift"].to_numpy() == approx([0.4, 0.1, 0.04])
    # neutrality at state 3 minus state 1: r0 0.93 - 0.93; r1 (1 - 0.405) 1.5 - (1 - 0.44) 1.5;
    # r2 (1 - 0.3368) 1.5 - (1 - 0.3448) 1.5
    assert f["window_neutrality_change"].to_numpy() == approx(
        [0.0, (0.44 - 0.405) * 1.5, (0.3448 - 0.3368) * 1.5])


def test_outcome_window_defaults_to_three_months(traj) -> None:
    f = outcome_frame(traj, {}, 1, Experiment(name="hand", window={"start": "2025-10"}))
    assert f["window_axis_before"].to_numpy() == approx([-0.2, -0.4, -0.1])  # state 0
    assert f["window_axis_after"].to_numpy() == approx([0.2, -0.3, 0.02])  # state 3


def test_outcome_window_outside_the_run_is_bad_input(traj) -> None:
    exp = Experiment(name="hand", window={"start": "2025-12", "months": 3})
    with pytest.raises(ConfigError) as err:
        outcome_frame(traj, {}, 1, exp)
    assert str(err.value) == ("experiment.window: 2025-12 + 3 months lies outside the run "
                              "(2025-10 + 4 months)")


def test_shootdown_window_is_december_2024_to_april_2025() -> None:
    # the preset measures from the state on 1 Dec 2024 (month index 35 from 2022-01, before
    # the shoot-down month) to 4 months later, 1 Apr 2025 (index 39)
    cfg = compose_config(["+experiment=shootdown_shock"])
    exp = Experiment.from_config(cfg.experiment)
    assert exp.window == {"start": "2024-12", "months": 4}
    spec = compile_spec(tiny_config(start="2022-01", months=48))
    steps = np.arange(49) * 0.01  # axis (west - east) = 0.01 * state index
    alignment = np.stack([0.5 - steps / 2, 0.5 + steps / 2], axis=-1)[:, None, :]
    n = spec.n_actors
    long = Trajectory(spec, np.array([0]), alignment, np.zeros((49, 1, 2)),
                      np.zeros((49, 1, 2)), np.zeros((49, 1, n)), np.zeros((49, 1, n)),
                      np.zeros((49, 1, n, n)), np.zeros((49, 1)),
                      np.zeros((48, 1, n), dtype=np.int64), np.zeros((48, 1, n)))
    f = outcome_frame(long, {}, 1, exp)
    assert f["window_axis_before"].to_numpy() == approx([0.35])
    assert f["window_axis_after"].to_numpy() == approx([0.39])
    assert f["axis_2025"].to_numpy() == approx([0.48])  # 1 Jan 2026 = index 48


def test_trajectory_frame_by_hand(traj) -> None:
    f = trajectory_frame(traj, {"rift": 0.5}, 7)
    assert f["month"].tolist() == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02"]
    assert f["step"].tolist() == [0, 1, 2, 3, 4]
    assert f["axis_mean"].to_numpy() == approx(
        [-0.7 / 3, -0.62 / 3, -0.39 / 3, -0.08 / 3, -0.05 / 3])
    assert f["axis_median"].to_numpy() == approx([-0.2, -0.2, -0.04, 0.02, 0.05])
    assert f["share_east_mean"].to_numpy()[-1] == pytest.approx(0.35, abs=TOL)
