"""The stage game: textbook games solved through the code the model uses, and the kernel-built
game checked profile by profile against stepping the kernel under each joint action."""

from __future__ import annotations

import numpy as np
import pytest

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.game.equilibrium import (
    StageGame,
    logit_qre,
    mixed_nash_2p,
    pure_nash,
    pure_nash_numpy,
    restrict,
)
from alignsim.game.stage_game import (
    build_stage_game,
    deviation_payoffs,
    dominant_actions,
    pure_equilibrium_actions,
    qre_action_values,
    qre_expected_payoffs,
    replay_state,
    stage_payoffs,
)
from alignsim.kernel import compiled as ck
from alignsim.kernel.calendar import parse_month
from alignsim.kernel.decisions import Memory, decide_actor, expected_payoffs
from alignsim.kernel.policies import rule_temperature
from alignsim.kernel.spec import ConfigError, compile_spec
from numpy_kernel.dynamics import step_payoffs


def two_player(row: list[list[float]], col: list[list[float]]) -> StageGame:
    return StageGame.from_payoffs(np.array([row, col], dtype=float))


# (row, column) payoffs; action 0 / 1 as named in each comment
PD = two_player([[3, 0], [5, 1]], [[3, 5], [0, 1]])  # cooperate, defect
CHICKEN = two_player([[0, -1], [1, -10]], [[0, 1], [-1, -10]])  # swerve, straight
STAG = two_player([[4, 0], [3, 3]], [[4, 3], [0, 3]])  # stag, hare
PENNIES = two_player([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])  # heads, tails


def pure_profiles(game):
    return [e.pure_profile() for e in pure_nash(game)]


def mixed_sets(game):
    return sorted(
        tuple(round(float(s[0]), 6) for s in e.strategies) for e in mixed_nash_2p(game)
    )


# ------------------------------------------------------------------------ textbook games
def test_prisoners_dilemma_has_only_mutual_defection():
    assert pure_profiles(PD) == [(1, 1)]
    assert mixed_sets(PD) == [(0.0, 0.0)]
    assert logit_qre(PD, 20.0).strategies[0][1] > 0.99  # defection dominates at any precision


def test_chicken_two_pure_and_one_mixed():
    assert pure_profiles(CHICKEN) == [(0, 1), (1, 0)]
    # mixed: swerve with p, indifference 0*p - (1-p) = p - 10(1-p) -> p = 0.9
    assert mixed_sets(CHICKEN) == [(0.0, 1.0), (0.9, 0.9), (1.0, 0.0)]


def test_stag_hunt_two_pure_and_one_mixed():
    assert pure_profiles(STAG) == [(0, 0), (1, 1)]
    # stag with p: 4p = 3 -> p = 3/4
    assert mixed_sets(STAG) == [(0.0, 0.0), (0.75, 0.75), (1.0, 1.0)]
    # the QRE principal branch selects the risk-dominant equilibrium, hare
    assert logit_qre(STAG, 50.0).pure_profile(1e-3) == (1, 1)


def test_matching_pennies_only_the_mixed_equilibrium_and_qre_stays_there():
    assert pure_profiles(PENNIES) == []
    assert mixed_sets(PENNIES) == [(0.5, 0.5)]
    for lam in (0.5, 5.0, 50.0):
        np.testing.assert_allclose(np.stack(logit_qre(PENNIES, lam).strategies), 0.5, atol=1e-6)


def test_three_player_coordination_game():
    """Each of three players gets 1 if all choose the same side, else 0: the two unanimous
    profiles are the pure equilibria, and any profile with a lone deviator is not."""
    t = np.zeros((3, 2, 2, 2))
    t[:, 0, 0, 0] = 1.0
    t[:, 1, 1, 1] = 1.0
    game = StageGame.from_payoffs(t, players=["a", "b", "c"])
    assert pure_profiles(game) == [(0, 0, 0), (1, 1, 1)]
    assert pure_nash_numpy(game.payoffs) == [(0, 0, 0), (1, 1, 1)]
    # and one with a unique equilibrium, by dominance: each prefers 1 whatever the others do
    d = np.zeros((3, 2, 2, 2))
    for i in range(3):
        d[i] = np.moveaxis(np.broadcast_to(np.array([0.0, 1.0]), (2, 2, 2)), -1, i)
    d[:, 1, 1, 1] -= 0.5  # still dominant (1 - 0.5 > 0)
    assert pure_profiles(StageGame.from_payoffs(d)) == [(1, 1, 1)]


@pytest.mark.parametrize(
    ("game", "lam"),
    # chicken at 0.4: Gambit's tracer stops at the symmetric branch's bifurcation (lam ~ 0.49)
    [(PD, 2.0), (CHICKEN, 0.4), (STAG, 2.0), (PENNIES, 2.0)],
    ids=["pd", "chicken", "stag", "mp"],
)
def test_equilibrium_rule_samples_the_qre(game, lam):
    """The equilibrium rule's probabilities are the QRE strategies (fixed point): the same
    code the model runs (qre_action_values -> the compiled kernel's draw) on textbook games."""
    sigma = logit_qre(game, lam).strategies
    u = np.random.default_rng(0).random(40_000)
    for k, q in enumerate(qre_action_values(game, lam)):
        choice, p = np.empty(len(u), np.int64), np.empty((len(u), 2))
        ck.choose_rows(np.repeat(np.asarray(q, float)[None], len(u), axis=0), ck.EQUILIBRIUM_CODE,
                       rule_temperature("equilibrium", 0.0, lam), False, np.ones((len(u), 2)),
                       np.ones(2, bool), u, choice, p)
        np.testing.assert_allclose(p[0], sigma[k], atol=1e-6)
        assert abs((choice == 0).mean() - sigma[k][0]) < 0.01


def test_deviation_payoffs_in_a_three_player_game():
    rng = np.random.default_rng(4)
    t = rng.normal(size=(2, 3, 4))
    s = [rng.dirichlet(np.ones(m)) for m in t.shape]
    np.testing.assert_allclose(deviation_payoffs(t, s, 1), np.einsum("abc,a,c->b", t, s[0], s[2]))
    np.testing.assert_allclose(deviation_payoffs(t, s, 2), np.einsum("abc,a,b->c", t, s[0], s[1]))


# ----------------------------------------------------------------- the model's stage game
@pytest.fixture(scope="module")
def history():
    """The history scenario replayed by the ensemble driver to July 2022 (the CPC halt)."""
    spec = compile_spec(compose_config(["months=40"]))
    t = parse_month("2022-07").index_from(spec.start)
    st, r = replay_state(spec, 7, t)
    traj = run_ensemble(spec, 1, 7)
    assert r == 0
    np.testing.assert_array_equal(st.alignment, traj.alignment[t])
    np.testing.assert_array_equal(st.relations, traj.relations[t])
    return spec, st, t


def test_replay_state_picks_the_median_replicate():
    spec = compile_spec(compose_config(["scenario=baseline", "months=6"]))
    st, r = replay_state(spec, 3, 5, replicates=5)
    traj = run_ensemble(spec, 5, 3)
    axis = traj.axis[5]
    assert axis[r] == np.median(axis)
    np.testing.assert_array_equal(st.alignment[0], traj.alignment[5, r])


def test_default_catalogue_gives_2268_profiles(history):
    """Kazakhstan 7 moves (none, refusal, diversification and its four moves of the record),
    Russia 4, the others 3: 7 * 4 * 3**4 = 2268 joint actions."""
    spec, st, t = history
    assert int(np.prod(spec.allowed.sum(axis=1))) == 2268
    game = build_stage_game(spec, st, t)
    assert game.shape == (7, 4, 3, 3, 3, 3)
    assert game.players == spec.actors
    assert game.actions[1] == ("none", "pipeline_halt", "security_guarantee", "summit")


def test_tiled_build_equals_stepping_each_profile(history):
    spec, st, t = history
    game = build_stage_game(spec, st, t)
    allowed = [np.flatnonzero(a) for a in spec.allowed]
    rng = np.random.default_rng(5)
    for flat in rng.choice(2268, size=40, replace=False):
        idx = np.unravel_index(flat, game.shape)
        joint = np.array([[allowed[i][k] for i, k in enumerate(idx)]])
        _, u = step_payoffs(st, joint, spec, t)
        np.testing.assert_allclose(game.payoffs[(slice(None), *idx)], u[0], rtol=0, atol=1e-12)


def test_slice_russia_vs_kazakhstan_equals_restricting_the_full_game(history):
    spec, st, t = history
    full = build_stage_game(spec, st, t)
    pair = build_stage_game(spec, st, t, actors=["russia", "kazakhstan"],
                            others={"china": "summit"})
    assert pair.players == ("kazakhstan", "russia")  # model order
    held = {a: "none" for a in spec.actors if a not in ("russia", "kazakhstan")}
    held["china"] = "summit"
    cut = restrict(full, ["kazakhstan", "russia"], held)
    np.testing.assert_allclose(pair.payoffs, cut.payoffs, atol=1e-12)
    assert mixed_nash_2p(pair)  # a finite game has at least one equilibrium
    for e in mixed_nash_2p(pair):  # and each is one: no profitable pure deviation
        for k in range(2):
            dev = deviation_payoffs(pair.payoffs[k], e.strategies, k)
            assert dev.max() <= e.payoffs[k] + 1e-9


def test_pure_nash_agree_between_gambit_and_numpy(history):
    spec, st, t = history
    game = build_stage_game(spec, st, t)
    assert [e.pure_profile() for e in pure_nash(game)] == pure_nash_numpy(game.payoffs)


def test_pure_equilibrium_actions_mark_the_pure_nash_profiles(history):
    spec, st, t = history
    mask = pure_equilibrium_actions(spec, st.repeat(2), t)
    game = build_stage_game(spec, st, t)
    expect = np.zeros_like(mask[0])
    allowed = [np.flatnonzero(a) for a in spec.allowed]
    for profile in pure_nash_numpy(game.payoffs, atol=1e-12):
        for i, k in enumerate(profile):
            expect[i, allowed[i][k]] = True
    np.testing.assert_array_equal(mask[0], expect)
    np.testing.assert_array_equal(mask[1], expect)
    assert expect.any()


def test_dominant_actions_match_a_brute_force_check(history):
    spec, st, t = history
    game = build_stage_game(spec, st, t)
    dom = dominant_actions(spec, st, t)[0]
    allowed = [np.flatnonzero(a) for a in spec.allowed]
    for i in range(spec.n_actors):
        own = np.moveaxis(game.payoffs[i], i, -1).reshape(-1, game.shape[i])
        always = np.flatnonzero((own >= own.max(axis=1, keepdims=True) - 1e-12).all(axis=0))
        assert dom[i] == (allowed[i][always[0]] if always.size else -1)
    # a dominant action is played in every pure equilibrium
    mask = pure_equilibrium_actions(spec, st, t)[0]
    for i in np.flatnonzero(dom >= 0):
        assert mask[i, dom[i]] and mask[i].sum() == 1


def test_bad_slices_are_config_errors(history):
    spec, st, t = history
    with pytest.raises(ConfigError, match="unknown actor 'mars'"):
        build_stage_game(spec, st, t, actors=["mars"])
    with pytest.raises(ConfigError, match="cannot play 'pipeline_halt'"):
        build_stage_game(spec, st, t, actors=["kazakhstan"], others={"eu": "pipeline_halt"})
    with pytest.raises(ConfigError, match="outside the run"):
        stage_payoffs(spec, st, 99)


def test_equilibrium_rule_in_the_model_plays_the_stage_game_qre(history):
    """Through decisions.expected_payoffs/decide_actor, an equilibrium actor's probabilities are
    its strategy in the QRE of the month's stage game (forced moves fixed)."""
    spec, st, t = history
    from dataclasses import replace

    spec = replace(spec, rules=("equilibrium",) * spec.n_actors, qre_lambda=20.0)
    mem = Memory.initial(spec, 1)
    q = expected_payoffs(st, mem, spec, t, actors=[0], equilibrium=qre_expected_payoffs)
    _, p = decide_actor(spec, 0, q, mem, np.array([0.5]))
    ru = spec.actor_index("russia")
    assert spec.forced[t, ru] == spec.action_index("pipeline_halt")
    others = {"russia": "pipeline_halt"}
    game = build_stage_game(spec, st, t, actors=[a for a in spec.actors if a != "russia"],
                            others=others)
    sigma = logit_qre(game, 20.0).strategies[0]
    np.testing.assert_allclose(p[0, spec.allowed[0]], sigma, atol=1e-6)
    # a forced actor's row is finite only at its scheduled move
    q_all = qre_expected_payoffs(spec, st, t)
    assert np.isfinite(q_all[0, ru]).sum() == 1


def test_equilibrium_rule_without_a_valuation_is_a_config_error(history):
    """The kernel does not import the game layer: called without the driver's valuation, an
    equilibrium actor is refused with one message naming the rule, not valued some other way."""
    spec, st, t = history
    from dataclasses import replace

    spec = replace(spec, rules=("equilibrium",) * spec.n_actors)
    with pytest.raises(ConfigError) as err:
        expected_payoffs(st, Memory.initial(spec, 1), spec, t, actors=[0])
    assert err.value.key == "policy.rule"
    assert "equilibrium" in err.value.message
