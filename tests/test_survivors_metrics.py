"""The run summary's final leader on a trajectory built by hand: written for a surviving mutant.

Two months of the tiny world (states 1 Jan .. 1 Mar 2022), two replicates, spheres (east, west).
The leader changes in the last month in replicate 0 only, so the final state and the one before
it give different answers.
"""

from __future__ import annotations

import numpy as np

from alignsim.ensemble import Trajectory
from alignsim.kernel.spec import compile_spec
from alignsim.metrics import summarise
from handchecked_world import tiny_config


def test_summary_leader_is_read_on_the_final_state() -> None:
    spec = compile_spec(tiny_config(start="2022-01", months=2))
    n, r = spec.n_actors, 2
    alignment = np.array([
        [[0.6, 0.4], [0.45, 0.55]],  # 1 Jan: east, west lead
        [[0.6, 0.4], [0.55, 0.45]],  # 1 Feb: east, east
        [[0.4, 0.6], [0.55, 0.45]],  # 1 Mar (final): west, east
    ])
    traj = Trajectory(
        spec=spec, replicate_ids=np.arange(r), alignment=alignment, share=np.zeros((3, r, 2)),
        capacity=np.zeros((3, r, 2)), threat=np.zeros((3, r, n)), investment=np.zeros((3, r, n)),
        relations=np.zeros((3, r, n, n)), pain=np.zeros((3, r)),
        actions=np.zeros((2, r, n), dtype=np.int64), payoffs=np.zeros((2, r, n)))
    s = summarise(traj)
    assert s["end"] == "2022-03"
    assert s["leader_end"] == {"east": 0.5, "west": 0.5}
    # final shares: east (0.4 + 0.55) / 2 = 0.475, west (0.6 + 0.45) / 2 = 0.525
    assert s["shares_end"] == {"east": 0.475, "west": 0.525}
