"""Tests for alignsim.game.equilibrium: textbook games with known equilibria, QRE
properties, the numpy cross-check and input validation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alignsim.game.equilibrium import (
    Equilibrium,
    StageGame,
    expected_payoffs,
    logit_qre,
    mixed_nash_2p,
    pure_nash,
    pure_nash_numpy,
    qre_path,
    restrict,
    to_gambit,
)


def two_player(name_a: str, name_b: str, acts: list[str], row: list[list[float]]) -> StageGame:
    """Symmetric 2-player game from the row player's matrix."""
    a = np.array(row, dtype=float)
    return StageGame((name_a, name_b), (tuple(acts), tuple(acts)), np.stack([a, a.T]))


@pytest.fixture
def prisoners() -> StageGame:
    return two_player("Row", "Col", ["cooperate", "defect"], [[3, 0], [5, 1]])


@pytest.fixture
def chicken() -> StageGame:
    return two_player("Russia", "Kazakhstan", ["swerve", "straight"], [[0, -1], [1, -10]])


@pytest.fixture
def stag_hunt() -> StageGame:
    return two_player("A", "B", ["stag", "hare"], [[4, 0], [3, 3]])


@pytest.fixture
def pennies() -> StageGame:
    m = np.array([[1.0, -1.0], [-1.0, 1.0]])
    return StageGame(("Even", "Odd"), (("heads", "tails"),) * 2, np.stack([m, -m]))


@pytest.fixture
def coordination3() -> StageGame:
    """Three players gain 2 if all pick 'x', 1 if all pick 'y', else 0."""
    u = np.zeros((2, 2, 2))
    u[0, 0, 0], u[1, 1, 1] = 2.0, 1.0
    return StageGame(("A", "B", "C"), (("x", "y"),) * 3, np.stack([u, u, u]))


def profiles(eqs: list[Equilibrium]) -> list[tuple[int, ...] | None]:
    return [e.pure_profile() for e in eqs]


def logit_residual(game: StageGame, eq: Equilibrium, lam: float) -> float:
    """Max |sigma - logit response to sigma|: zero exactly at a logit QRE."""
    worst = 0.0
    for i, sigma in enumerate(eq.strategies):
        values = game.payoffs[i]
        for j in reversed(range(game.n_players)):  # last axis first keeps indices valid
            if j != i:
                values = np.tensordot(values, eq.strategies[j], axes=([j], [0]))
        z = np.exp(lam * (values - values.max()))
        worst = max(worst, float(np.abs(sigma - z / z.sum()).max()))
    return worst


# ----------------------------------------------------------------- Nash equilibria
def test_prisoners_dilemma_unique_pure_ne(prisoners: StageGame) -> None:
    eqs = pure_nash(prisoners)
    assert profiles(eqs) == [(1, 1)]
    np.testing.assert_array_equal(eqs[0].payoffs, [1.0, 1.0])
    assert profiles(mixed_nash_2p(prisoners)) == [(1, 1)]


def test_chicken_two_pure_and_one_mixed(chicken: StageGame) -> None:
    assert profiles(pure_nash(chicken)) == [(0, 1), (1, 0)]
    eqs = mixed_nash_2p(chicken)
    assert len(eqs) == 3
    assert sorted(p for p in profiles(eqs) if p is not None) == [(0, 1), (1, 0)]
    (mixed,) = [e for e in eqs if e.pure_profile() is None]
    for s in mixed.strategies:
        np.testing.assert_allclose(s, [0.9, 0.1], atol=1e-12)
    np.testing.assert_allclose(mixed.payoffs, [-0.1, -0.1], atol=1e-12)


@pytest.mark.parametrize("rational", [False, True])
def test_stag_hunt_pure_and_known_mixed(stag_hunt: StageGame, rational: bool) -> None:
    assert profiles(pure_nash(stag_hunt)) == [(0, 0), (1, 1)]
    eqs = mixed_nash_2p(stag_hunt, rational=rational)
    assert sorted(p for p in profiles(eqs) if p is not None) == [(0, 0), (1, 1)]
    (mixed,) = [e for e in eqs if e.pure_profile() is None]
    # indifference: 4 p = 3  =>  p(stag) = 3/4, worth 3 to each player
    for s in mixed.strategies:
        if rational:
            np.testing.assert_array_equal(s, [0.75, 0.25])
        else:
            np.testing.assert_allclose(s, [0.75, 0.25], atol=1e-12)
    np.testing.assert_allclose(mixed.payoffs, [3.0, 3.0], atol=1e-12)


def test_matching_pennies_only_mixed(pennies: StageGame) -> None:
    assert pure_nash(pennies) == []
    assert pure_nash_numpy(pennies.payoffs) == []
    (eq,) = mixed_nash_2p(pennies)
    for s in eq.strategies:
        np.testing.assert_allclose(s, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(eq.payoffs, [0.0, 0.0], atol=1e-12)


def test_three_player_coordination(coordination3: StageGame) -> None:
    eqs = pure_nash(coordination3)
    assert profiles(eqs) == [(0, 0, 0), (1, 1, 1)]
    np.testing.assert_array_equal(eqs[0].payoffs, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(eqs[1].payoffs, [1.0, 1.0, 1.0])
    assert pure_nash_numpy(coordination3.payoffs) == [(0, 0, 0), (1, 1, 1)]


def test_mixed_nash_requires_two_players(coordination3: StageGame) -> None:
    with pytest.raises(ValueError, match="exactly 2 players"):
        mixed_nash_2p(coordination3)


def test_pure_nash_numpy_atol_merges_near_ties() -> None:
    u = np.array([[1.0, 0.0], [1.0 - 1e-12, -1.0]])  # vs left, top wins by 1e-12 only
    payoffs = np.stack([u, np.zeros((2, 2))])  # column player is indifferent
    assert pure_nash_numpy(payoffs) == [(0, 0), (0, 1)]
    assert pure_nash_numpy(payoffs, atol=1e-9) == [(0, 0), (0, 1), (1, 0)]


# Small random games; integer payoffs in 0..2 force many ties (the subtle case),
# and unrounded floats check that Gambit stores exactly the values numpy compares.
@st.composite
def payoff_tensors(draw: st.DrawFn) -> np.ndarray:
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=2, max_size=4)))
    full = (len(shape), *shape)
    if draw(st.booleans()):
        return draw(arrays(np.int64, full, elements=st.integers(0, 2))).astype(float)
    floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    return draw(arrays(np.float64, full, elements=floats))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(payoff_tensors())
def test_pure_nash_agrees_with_numpy(payoffs: np.ndarray) -> None:
    game = StageGame.from_payoffs(payoffs)
    assert profiles(pure_nash(game)) == pure_nash_numpy(payoffs)


# ----------------------------------------------------------------- quantal response
def test_qre_at_zero_and_tiny_lambda_is_uniform(chicken: StageGame) -> None:
    at_zero = logit_qre(chicken, 0.0)
    for s in at_zero.strategies:
        np.testing.assert_array_equal(s, [0.5, 0.5])
    for s in logit_qre(chicken, 1e-6).strategies:
        np.testing.assert_allclose(s, [0.5, 0.5], atol=1e-5)


def test_qre_approaches_strict_ne(prisoners: StageGame) -> None:
    eq = logit_qre(prisoners, 50.0)
    assert eq.lam == 50.0
    for s in eq.strategies:
        assert s[1] > 0.99
    assert eq.pure_profile(tol=1e-6) == (1, 1)


def test_qre_matching_pennies_stays_centred(pennies: StageGame) -> None:
    for eq in qre_path(pennies, [0.1, 1.0, 10.0, 100.0]):
        for s in eq.strategies:
            np.testing.assert_allclose(s, [0.5, 0.5], atol=1e-8)


def test_qre_is_logit_fixed_point_unscaled_lambda() -> None:
    """Gambit's lambda multiplies raw payoffs; check the fixed point directly."""
    rng = np.random.default_rng(7)
    game = StageGame.from_payoffs(rng.normal(size=(3, 3, 2, 2)))
    for eq, lam in zip(qre_path(game, [0.5, 3.0]), [0.5, 3.0], strict=True):
        assert eq.lam == lam
        assert logit_residual(game, eq, lam) < 1e-6
        np.testing.assert_allclose(eq.payoffs, expected_payoffs(game.payoffs, eq.strategies))


def test_qre_pd_known_value(prisoners: StageGame) -> None:
    """At lam=2 the symmetric QRE solves p = 1/(1+exp(-2(1+(1-p)))) for p(defect)."""
    p = logit_qre(prisoners, 2.0).strategies[0][1]
    assert p == pytest.approx(1.0 / (1.0 + np.exp(-2.0 * (2.0 - p))), abs=1e-8)
    assert p == pytest.approx(0.900212, abs=1e-6)


def test_qre_symmetric_chicken_past_bifurcation(chicken: StageGame) -> None:
    """Gambit's tracer stalls at the pitchfork (lam ~ 0.489) of this symmetric
    game; the result must still be a QRE at the requested lam, stay symmetric,
    tend to the symmetric mixed NE (0.9, 0.1), and not depend on which other
    lambdas were requested."""
    path = qre_path(chicken, [0.3, 1.0, 5.0, 500.0])
    for eq in path:
        assert logit_residual(chicken, eq, eq.lam) < 1e-9
        np.testing.assert_allclose(eq.strategies[0], eq.strategies[1], atol=1e-9)
    np.testing.assert_allclose(path[-1].strategies[0], [0.9, 0.1], atol=1e-3)
    alone = logit_qre(chicken, 1.0)
    np.testing.assert_allclose(alone.strategies[0], path[1].strategies[0], atol=1e-12)


def test_numpy_continuation_matches_gambit() -> None:
    """The fallback tracer and Gambit agree where both work (generic game)."""
    from alignsim.game.equilibrium import _continue_branch

    rng = np.random.default_rng(11)
    game = StageGame.from_payoffs(rng.normal(size=(3, 2, 3, 2)))
    uniform = [np.full(m, 1.0 / m) for m in game.shape]
    ours = _continue_branch(game.payoffs, uniform, 0.0, 2.0)
    for mine, theirs in zip(ours, logit_qre(game, 2.0).strategies, strict=True):
        np.testing.assert_allclose(mine, theirs, atol=1e-7)


def test_qre_path_keeps_requested_order(prisoners: StageGame) -> None:
    """Gambit needs increasing lambdas; qre_path must sort internally."""
    path = qre_path(prisoners, [2.0, 0.5, 0.0, 2.0])
    assert [e.lam for e in path] == [2.0, 0.5, 0.0, 2.0]
    defect = [e.strategies[0][1] for e in path]
    assert defect[1] < defect[0]
    assert defect[2] == 0.5
    assert defect[3] == defect[0]


@pytest.mark.parametrize("lam", [-1.0, float("nan"), float("inf")])
def test_qre_rejects_bad_lambda(prisoners: StageGame, lam: float) -> None:
    with pytest.raises(ValueError, match="lambda"):
        logit_qre(prisoners, lam)


# ----------------------------------------------------------------- results & helpers
def test_describe_names_actions(chicken: StageGame) -> None:
    pure = Equilibrium.from_pure(chicken, (1, 0))
    assert pure.describe(chicken) == (
        "Russia: straight (1.00); Kazakhstan: swerve (1.00) | payoffs Russia=1.00, Kazakhstan=-1.00"
    )
    (mixed,) = [e for e in mixed_nash_2p(chicken) if e.pure_profile() is None]
    text = mixed.describe(chicken)
    assert text.startswith("Russia: 0.90 swerve / 0.10 straight; Kazakhstan: 0.90 swerve")
    assert "payoffs Russia=-0.10" in text
    assert logit_qre(chicken, 1.0).describe(chicken).endswith("| lam=1")


def test_describe_rejects_wrong_game(chicken: StageGame, coordination3: StageGame) -> None:
    with pytest.raises(ValueError, match="does not match"):
        pure_nash(chicken)[0].describe(coordination3)


def test_results_are_immutable(prisoners: StageGame) -> None:
    eq = pure_nash(prisoners)[0]
    with pytest.raises(ValueError, match="read-only"):
        eq.payoffs[0] = 9.0
    with pytest.raises(ValueError, match="read-only"):
        prisoners.payoffs[0, 0, 0] = 9.0


def test_to_gambit_roundtrip_and_labels() -> None:
    rng = np.random.default_rng(3)
    payoffs = rng.normal(size=(3, 2, 3, 4))
    payoffs[0, 0, 0, 0], payoffs[1, 0, 0, 0], payoffs[2, 1, 2, 3] = 1e20, -1e-7, -0.0
    game = StageGame(
        ("Türkiye", "Russia", "Russia "),
        (("a", "b"), ("x", "y", "z"), ("p", "q", "r", "s")),
        payoffs,
    )
    g = to_gambit(game, title="test game")
    assert g.title == "test game"
    assert [p.label for p in g.players] == ["Turkiye", "Russia", "Russia#3"]
    assert [s.label for s in list(g.players)[1].strategies] == ["x", "y", "z"]
    for i, table in enumerate(g.to_arrays(dtype=float)):
        np.testing.assert_array_equal(np.asarray(table, dtype=float), payoffs[i])


def test_restrict_slices_and_reorders() -> None:
    rng = np.random.default_rng(5)
    game = StageGame.from_payoffs(rng.normal(size=(3, 2, 3, 4)), players=("A", "B", "C"))
    sub = restrict(game, keep=("C", "A"), others={"B": "a2"})
    assert sub.players == ("C", "A")
    assert sub.actions == (game.actions[2], game.actions[0])
    np.testing.assert_array_equal(sub.payoffs[0], game.payoffs[2, :, 2, :].T)
    np.testing.assert_array_equal(sub.payoffs[1], game.payoffs[0, :, 2, :].T)
    same = restrict(game, keep=("A", "C"), others={"B": 2})
    np.testing.assert_array_equal(same.payoffs, game.payoffs[[0, 2]][:, :, 2, :])


@pytest.mark.parametrize(
    ("keep", "others", "match"),
    [
        (("A", "B"), {}, "exactly the players not kept"),
        (("A", "B"), {"C": 0, "A": 0}, "exactly the players not kept"),
        (("A", "A"), {"B": 0, "C": 0}, "distinct"),
        (("A", "Z"), {"B": 0, "C": 0}, "unknown player"),
        (("A", "B"), {"C": "nope"}, "unknown action"),
        (("A", "B"), {"C": 4}, "out of range"),
    ],
)
def test_restrict_errors(keep: tuple[str, ...], others: dict, match: str) -> None:
    game = StageGame.from_payoffs(np.zeros((3, 2, 3, 4)), players=("A", "B", "C"))
    with pytest.raises(ValueError, match=match):
        restrict(game, keep=keep, others=others)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("players", "actions", "payoffs", "match"),
    [
        (("A", "B"), (("x", "y"), ("x", "y")), np.zeros((2, 2, 3)), r"shape \(2, 2, 3\)"),
        (("A", "B"), (("x", "y"), ("x", "y")), np.zeros((3, 2, 2)), "leading axis says 3"),
        (("A", "B"), (("x", "y"),), np.zeros((2, 2, 2)), "action lists for 1"),
        (("A", "A"), (("x", "y"), ("x", "y")), np.zeros((2, 2, 2)), "unique"),
        (("A", "B"), (("x", "x"), ("x", "y")), np.zeros((2, 2, 2)), "unique"),
        (("A", ""), (("x", "y"), ("x", "y")), np.zeros((2, 2, 2)), "non-empty"),
        (("A", "B"), (("x", "y"), ("x", "y")), np.full((2, 2, 2), np.nan), "finite"),
        (("A", "B"), (("x", "y"), ("x", "y")), np.full((2, 2, 2), "a"), "numeric"),
        (("A",), (("x",),), np.zeros(1), "1-d array"),
    ],
)
def test_stage_game_validation(
    players: tuple, actions: tuple, payoffs: np.ndarray, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        StageGame(players, actions, payoffs)


def test_pure_nash_numpy_validates_shape() -> None:
    with pytest.raises(ValueError, match="3 dimensions are needed"):
        pure_nash_numpy(np.zeros((2, 2, 2, 2)))


def test_equilibrium_validation() -> None:
    with pytest.raises(ValueError, match="does not match"):
        Equilibrium((np.array([1.0, 0.0]),), np.zeros(2))
    with pytest.raises(ValueError, match="1-d"):
        Equilibrium((np.eye(2),), np.zeros(1))
