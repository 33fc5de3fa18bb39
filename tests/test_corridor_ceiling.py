"""Diminishing returns toward a route's ceiling (``world.routes.<r>.ceiling``), and Kazakhstan's
own moves as catalogue actions (``actions=kazakhstan_moves``), checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.kernel.state import initial_state
from numpy_kernel.dynamics import transition

NEW_MOVES = ("sanctions_compliance", "turkic_format", "balancing_visit",
             "neutral_mediation")


def _commit(spec, route: str, amount: float) -> np.ndarray:
    delta = np.zeros((1, spec.layout.size))
    sl = spec.layout.slices["capacity"]
    delta[0, sl.start + spec.routes.index(route)] = amount
    return delta


def test_a_commitment_is_scaled_by_the_headroom_below_the_ceiling() -> None:
    # middle corridor: capacity 0.01, ceiling 0.05: headroom 1 - 0.01 / 0.05 = 0.8, so a
    # commitment of 0.01 adds 0.008 to pending (before the month's arrival of pending / lag)
    spec = compile_spec(compose_config(["scenario=baseline",
                                        "world.routes.middle_corridor.ceiling=0.05"]))
    mc = spec.routes.index("middle_corridor")
    lag = spec.dyn["capacity_lag_months"]
    nxt = transition(initial_state(spec, 1), _commit(spec, "middle_corridor", 0.01), spec)
    assert nxt.pending[0, mc] + nxt.capacity[0, mc] - 0.01 == pytest.approx(0.008, rel=1e-12)
    assert nxt.capacity[0, mc] == pytest.approx(0.01 + 0.008 / lag, rel=1e-12)
    # at the ceiling nothing more is built
    s = initial_state(spec, 1)
    s.capacity[0, mc] = 0.03
    s.pending[0, mc] = 0.02
    nxt = transition(s, _commit(spec, "middle_corridor", 0.01), spec)
    assert nxt.capacity[0, mc] + nxt.pending[0, mc] == pytest.approx(0.05, rel=1e-12)


def test_without_a_ceiling_commitments_count_in_full() -> None:
    spec = compile_spec(compose_config(["scenario=baseline"]))
    assert np.isinf(spec.ceiling).all()
    mc = spec.routes.index("middle_corridor")
    nxt = transition(initial_state(spec, 1), _commit(spec, "middle_corridor", 0.01), spec)
    assert nxt.pending[0, mc] + nxt.capacity[0, mc] == pytest.approx(0.02, rel=1e-12)


def test_repeated_effort_approaches_the_ceiling_and_never_passes_it() -> None:
    spec = compile_spec(compose_config(["scenario=baseline",
                                        "world.routes.middle_corridor.ceiling=0.04"]))
    mc = spec.routes.index("middle_corridor")
    s = initial_state(spec, 1)
    built = []
    for _ in range(120):
        s = transition(s, _commit(spec, "middle_corridor", 0.004), spec)
        built.append(s.capacity[0, mc] + s.pending[0, mc])
    gains = np.diff(built)
    assert (gains > 0).all() and (np.diff(gains) < 0).all()  # diminishing returns
    assert built[-1] <= 0.04 + 1e-12 and built[-1] > 0.039


@pytest.mark.parametrize(("value", "message"), [
    ("0.005", "must be >= its capacity 0.01"),
    ("1.5", "must be <= 1.0, got 1.5"),
])
def test_a_bad_ceiling_is_refused(value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        compile_spec(compose_config([f"world.routes.middle_corridor.ceiling={value}"]))
    assert err.value.key == "world.routes.middle_corridor.ceiling"
    assert err.value.message == message


def test_kazakhstans_moves_are_its_own_catalogue_actions() -> None:
    spec = compile_spec(compose_config(["scenario=history_endogenous",
                                        "actions=kazakhstan_moves", "months=36"]))
    kz = spec.swing
    for move in NEW_MOVES:
        a = spec.action_index(move)
        assert spec.allowed[:, a].tolist() == [i == kz for i in range(spec.n_actors)], move
    # no sanctions circumvention is an autonomy signal of 0.3 and brings Kazakhstan closer to the EU
    move = spec.effects[kz, spec.action_index("sanctions_compliance")]
    assert move[spec.layout.slices["defiance"]][0] == pytest.approx(0.3)
    rel = move[spec.layout.slices["relations"]].reshape(spec.n_actors, spec.n_actors)
    assert rel[kz, spec.actor_index("eu")] == pytest.approx(0.03)
    # the 4 Jul 2022 energy offer is history_endogenous's scheduled pledge, not also a choice
    assert "energy_offer" not in spec.actions
    traj = run_ensemble(spec, 4, 1)
    chosen = {spec.actions[a] for a in np.unique(traj.actions[:, :, kz])}
    assert chosen & set(NEW_MOVES)  # the swing state uses them
