"""Equilibrium analysis of the normal-form stage games produced by the kernel.

The simulation kernel reduces one decision round of the geopolitical model to a
payoff tensor of shape ``(N, m_1, ..., m_N)``: ``payoffs[i, a_1, ..., a_N]`` is
the payoff to actor ``i`` when every actor ``j`` plays action ``a_j``.  This
module is the analysis layer on top of that tensor.  It wraps the tensor in a
validated :class:`StageGame`, converts it to a :mod:`pygambit` game and asks
Gambit's solvers for

* all pure Nash equilibria (:func:`pure_nash`),
* all extreme mixed equilibria of two-actor games (:func:`mixed_nash_2p`),
* logit quantal response equilibria (:func:`logit_qre`, :func:`qre_path`),

and returns plain numpy results (:class:`Equilibrium`) so that callers never
have to touch Gambit objects.  :func:`pure_nash_numpy` is a vectorised
best-response check that needs no Gambit game at all; it is the fast path for
hot loops and the cross-check for :func:`pure_nash`.

The module deliberately depends on numpy and pygambit only (plus the kernel's
``ConfigError``), so it can be used (and tested) without the agent-based machinery.
pygambit is an optional extra (``pip install 'alignsim[game]'``: it has no wheel for every
Python, and compiling it takes minutes): it is imported on first use, and its absence is one
:class:`MissingExtra` error naming the extra, which every entry point prints as one line.
Everything that needs no Gambit game (:class:`StageGame`, :func:`pure_nash_numpy`, the QRE
Newton corrector) works without it.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from alignsim.kernel.spec import ConfigError

if TYPE_CHECKING:
    import pygambit as gbt

__all__ = [
    "Equilibrium",
    "MissingExtra",
    "StageGame",
    "expected_payoffs",
    "logit_qre",
    "mixed_nash_2p",
    "pure_nash",
    "pure_nash_numpy",
    "qre_path",
    "restrict",
    "to_gambit",
]

GAME_EXTRA = "pip install 'alignsim[game]'"


class MissingExtra(ConfigError):
    """An optional dependency is missing: printed as ``needs pygambit: pip install …``.

    A :class:`ConfigError`, so that every entry point (``alignsim`` with the ``equilibrium``
    rule, ``alignsim-equilibria``) already reports it as one line with exit status 2.
    """


def pygambit() -> ModuleType:
    """Import pygambit on first use, or raise :class:`MissingExtra` naming the extra."""
    try:
        import pygambit as module
    except ImportError:
        raise MissingExtra("needs pygambit", GAME_EXTRA) from None
    return module


#: A strategy whose largest probability is >= 1 - PURE_TOL counts as pure.
PURE_TOL = 1e-9
#: Relative tolerance for accepting the lambda Gambit actually reached.
_LAMBDA_RTOL = 1e-6


# --------------------------------------------------------------------------
# Game description
# --------------------------------------------------------------------------


def _readonly(array: np.ndarray) -> np.ndarray:
    """Return a read-only float copy, so frozen dataclasses are really frozen."""
    out = np.array(array, dtype=float, copy=True)
    out.setflags(write=False)
    return out


def _check_names(names: Sequence[str], what: str) -> tuple[str, ...]:
    """Validate a list of labels; later lookups by name need them unique."""
    names = tuple(names)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{what} names must be non-empty strings, got {name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"{what} names must be unique, got {names}")
    return names


def _check_payoff_tensor(payoffs: np.ndarray | Sequence) -> np.ndarray:
    """Coerce to a finite float tensor whose leading axis indexes the players.

    Shared by :class:`StageGame` and :func:`pure_nash_numpy` so both reject
    the same malformed inputs with the same messages.
    """
    raw = np.asarray(payoffs)
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"payoffs must be a real numeric array, got dtype {raw.dtype}")
    arr = raw.astype(float)
    if arr.ndim < 2:
        raise ValueError(f"payoffs must have shape (N, m_1, ..., m_N); got a {arr.ndim}-d array")
    n_players = arr.shape[0]
    if arr.ndim != n_players + 1:
        raise ValueError(
            f"payoffs has shape {arr.shape}: leading axis says {n_players} players, "
            f"so {n_players + 1} dimensions are needed, not {arr.ndim}"
        )
    if 0 in arr.shape[1:]:
        raise ValueError(f"every player needs at least one action; shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("payoffs must be finite (no NaN or inf)")
    return arr


@dataclass(frozen=True, eq=False)
class StageGame:
    """A finite normal-form game with named players and actions.

    Names travel with the tensor so that results can be reported in the
    model's vocabulary ("Russia: pipeline_halt") instead of indices.  The
    payoff array is copied and made read-only because games are shared between
    analyses and must not change underneath them.  Equality is identity
    (``eq=False``): element-wise array comparison has no single truth value.

    Attributes:
        players: Player names, in tensor-axis order.
        actions: ``actions[i]`` lists player ``i``'s action names, in the order
            of tensor axis ``i + 1``.
        payoffs: Float array of shape ``(N, m_1, ..., m_N)``.
    """

    players: tuple[str, ...]
    actions: tuple[tuple[str, ...], ...]
    payoffs: np.ndarray

    def __post_init__(self) -> None:
        """Validate that names and tensor shape describe the same game."""
        players = _check_names(self.players, "player")
        if len(self.actions) != len(players):
            raise ValueError(f"got {len(players)} players but action lists for {len(self.actions)}")
        actions = tuple(
            _check_names(acts, f"action (player {p!r})")
            for p, acts in zip(players, self.actions, strict=True)
        )
        payoffs = _check_payoff_tensor(self.payoffs)
        expected = (len(players), *(len(a) for a in actions))
        if payoffs.shape != expected:
            raise ValueError(
                f"payoffs has shape {payoffs.shape}, but players/actions imply "
                f"{expected} (N, m_1, ..., m_N)"
            )
        object.__setattr__(self, "players", players)
        object.__setattr__(self, "actions", actions)
        object.__setattr__(self, "payoffs", _readonly(payoffs))

    @classmethod
    def from_payoffs(
        cls,
        payoffs: np.ndarray,
        players: Sequence[str] | None = None,
        actions: Sequence[Sequence[str]] | None = None,
    ) -> StageGame:
        """Build a game from a bare tensor, inventing names where none are given.

        Handy for tests and for kernel code that has not named its actions
        yet: players default to ``P1..PN``, actions to ``a0..a{m-1}``.
        """
        arr = _check_payoff_tensor(payoffs)
        n = arr.shape[0]
        if players is None:
            players = tuple(f"P{i + 1}" for i in range(n))
        if actions is None:
            actions = tuple(tuple(f"a{k}" for k in range(m)) for m in arr.shape[1:])
        return cls(tuple(players), tuple(tuple(a) for a in actions), arr)

    @property
    def n_players(self) -> int:
        """Number of players N."""
        return len(self.players)

    @property
    def shape(self) -> tuple[int, ...]:
        """Action counts ``(m_1, ..., m_N)``."""
        return tuple(len(a) for a in self.actions)

    def player_index(self, name: str) -> int:
        """Axis index of player ``name`` (ValueError if unknown)."""
        try:
            return self.players.index(name)
        except ValueError:
            raise ValueError(f"unknown player {name!r}; known: {self.players}") from None

    def action_index(self, player: str | int, action: str | int) -> int:
        """Index of ``action`` for ``player``; accepts a name or an index."""
        i = player if isinstance(player, int) else self.player_index(player)
        acts = self.actions[i]
        if isinstance(action, str):
            if action not in acts:
                raise ValueError(
                    f"unknown action {action!r} for {self.players[i]!r}; known: {acts}"
                )
            return acts.index(action)
        index = int(action)
        if not 0 <= index < len(acts):
            raise ValueError(
                f"action index {index} out of range for {self.players[i]!r} ({len(acts)} actions)"
            )
        return index


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


def expected_payoffs(payoffs: np.ndarray, strategies: Sequence[np.ndarray]) -> np.ndarray:
    """Expected payoff of every player under independent mixed strategies.

    Contracting one player axis at a time (last axis first, via ``@``) keeps
    memory at the size of the tensor, which matters more than elegance for
    6-player games.
    """
    out = np.asarray(payoffs, dtype=float)
    for strategy in reversed(strategies):
        out = out @ np.asarray(strategy, dtype=float)
    return out


@dataclass(frozen=True, eq=False)
class Equilibrium:
    """A (possibly mixed) strategy profile returned by one of the solvers.

    Solver output is converted to numpy straight away so downstream code
    (logging, plotting, the kernel) never holds Gambit objects, whose lifetime
    is tied to the Gambit game they came from.

    Attributes:
        strategies: ``strategies[i][k]`` is the probability that player ``i``
            plays action ``k``.
        payoffs: Expected payoff of each player, shape ``(N,)``.
        lam: Logit precision for quantal response equilibria; ``None`` for
            Nash equilibria.
    """

    strategies: tuple[np.ndarray, ...]
    payoffs: np.ndarray
    lam: float | None = None

    def __post_init__(self) -> None:
        """Freeze the arrays and check that the pieces fit together."""
        strategies = tuple(_readonly(s) for s in self.strategies)
        if any(s.ndim != 1 for s in strategies):
            raise ValueError("each strategy must be a 1-d probability vector")
        payoffs = _readonly(self.payoffs)
        if payoffs.shape != (len(strategies),):
            raise ValueError(
                f"payoffs shape {payoffs.shape} does not match {len(strategies)} strategies"
            )
        object.__setattr__(self, "strategies", strategies)
        object.__setattr__(self, "payoffs", payoffs)

    @classmethod
    def from_strategies(
        cls,
        game: StageGame,
        strategies: Sequence[Sequence[float]],
        lam: float | None = None,
    ) -> Equilibrium:
        """Build an equilibrium, computing expected payoffs from the game."""
        strategies = tuple(np.asarray(s, dtype=float) for s in strategies)
        return cls(strategies, expected_payoffs(game.payoffs, strategies), lam)

    @classmethod
    def from_pure(cls, game: StageGame, profile: Sequence[int]) -> Equilibrium:
        """Build a degenerate equilibrium from a pure action profile.

        Payoffs are read straight from the tensor, so they are exact.
        """
        strategies = tuple(np.eye(m)[a] for m, a in zip(game.shape, profile, strict=True))
        return cls(strategies, game.payoffs[(slice(None), *profile)])

    def pure_profile(self, tol: float = PURE_TOL) -> tuple[int, ...] | None:
        """Action indices if every player plays one action with prob. >= 1 - tol.

        Returns ``None`` for genuinely mixed profiles, so callers can tell pure
        outcomes (which map to a single joint action in the simulation) from
        lotteries.
        """
        profile = tuple(int(np.argmax(s)) for s in self.strategies)
        pure = all(s[a] >= 1.0 - tol for s, a in zip(self.strategies, profile, strict=True))
        return profile if pure else None

    def describe(self, game: StageGame, min_prob: float = 0.005) -> str:
        """One-line human-readable summary in the game's own vocabulary.

        Example: ``"Russia: pipeline_halt (1.00); Kazakhstan: 0.50 none /
        0.50 route_diversification | payoffs Russia=1.00, Kazakhstan=0.50"``.
        Actions played with probability below ``min_prob`` are omitted to keep
        the line readable.
        """
        if tuple(len(s) for s in self.strategies) != game.shape:
            raise ValueError(
                f"equilibrium shape {tuple(len(s) for s in self.strategies)} "
                f"does not match game shape {game.shape}"
            )
        parts = [
            f"{name}: {_describe_strategy(strategy, acts, min_prob)}"
            for name, acts, strategy in zip(
                game.players, game.actions, self.strategies, strict=True
            )
        ]
        pay = ", ".join(
            f"{name}={value:.2f}" for name, value in zip(game.players, self.payoffs, strict=True)
        )
        text = "; ".join(parts) + f" | payoffs {pay}"
        if self.lam is not None:
            text += f" | lam={self.lam:g}"
        return text


def _describe_strategy(strategy: np.ndarray, actions: Sequence[str], min_prob: float) -> str:
    """Render one player's mixed strategy ("a (1.00)" or "0.50 a / 0.50 b")."""
    best = int(np.argmax(strategy))
    if strategy[best] >= 1.0 - PURE_TOL:
        return f"{actions[best]} ({strategy[best]:.2f})"
    shown = [(p, a) for p, a in zip(strategy, actions, strict=True) if p >= min_prob]
    return " / ".join(f"{p:.2f} {a}" for p, a in shown)


# --------------------------------------------------------------------------
# Conversion to Gambit
# --------------------------------------------------------------------------


def _gambit_labels(names: Sequence[str], prefix: str) -> list[str]:
    """Map names onto labels that pygambit 16.7 accepts.

    Gambit only allows printable ASCII, no leading/trailing or double spaces,
    and unique labels, so e.g. "Türkiye" would be rejected.  Labels are
    cosmetic here (results are mapped back by index), so we fold to ASCII and
    fall back to positional labels rather than refusing the game.
    """
    labels: list[str] = []
    for k, name in enumerate(names):
        folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        label = " ".join("".join(c for c in folded if c.isprintable()).split())
        if not label or label in labels:
            label = f"{label or prefix}#{k + 1}"
        labels.append(label)
    return labels


def _nfg_number(value: float) -> str:
    """Exact positional decimal for a float.

    Gambit's parser rejects exponent notation ("1e+16"), which is also why
    ``Game.from_arrays`` fails on payoffs with ``abs(x) >= 1e16``; the
    shortest round-trip digits written positionally avoid both problems and
    give the same value ``from_arrays`` would store.  ``repr`` is tried first
    because it is ~20x faster and already positional for ordinary payoffs.
    ``+ 0.0`` turns -0.0 into 0.
    """
    text = repr(value + 0.0)
    if "e" in text:
        text = np.format_float_positional(value, unique=True, trim="-")
    return text


def _nfg_text(payoffs: np.ndarray) -> str:
    """Serialise a payoff tensor as an NFG 'payoff list' (player 1 fastest)."""
    n = payoffs.shape[0]
    per_profile = np.moveaxis(payoffs, 0, -1)  # (m_1..m_N, N)
    ordered = per_profile.transpose((*range(n - 1, -1, -1), n)).reshape(-1)
    body = " ".join(_nfg_number(x) for x in ordered.tolist())
    players = " ".join(f'"{i + 1}"' for i in range(n))
    counts = " ".join(str(m) for m in payoffs.shape[1:])
    return f'NFG 1 R "" {{ {players} }} {{ {counts} }}\n\n{body}\n'


def to_gambit(game: StageGame, title: str = "stage game") -> gbt.Game:
    """Convert a :class:`StageGame` into a labelled pygambit strategic game.

    The payoffs are handed to Gambit's NFG parser in one call instead of via
    ``Game.from_arrays``: that is ~3x faster for the ~600-profile games of the
    model (its per-cell Python loop dominates) and, unlike ``from_arrays``,
    copes with large magnitudes.  Values are stored as exact decimals, so
    Gambit compares payoffs exactly as numpy does.  Players and strategies are
    labelled with (ASCII-folded) model names, then the title is set.
    """
    g = pygambit().read_nfg(io.StringIO(_nfg_text(np.asarray(game.payoffs))))
    g.title = title
    players = list(g.players)
    for player, label in zip(players, _gambit_labels(game.players, "player"), strict=True):
        player.label = label
    for player, acts in zip(players, game.actions, strict=True):
        for strategy, label in zip(player.strategies, _gambit_labels(acts, "action"), strict=True):
            strategy.label = label
    return g


def _profile_strategies(game: gbt.Game, profile: object) -> list[list[float]]:
    """Extract per-player probability lists from a Gambit mixed profile.

    pygambit 16.7 dropped integer indexing of players/strategies, so we
    iterate and index the profile by ``Strategy`` objects.
    """
    return [[float(profile[s]) for s in player.strategies] for player in game.players]


# --------------------------------------------------------------------------
# Nash equilibria
# --------------------------------------------------------------------------


def pure_nash_numpy(payoffs: np.ndarray, atol: float = 0.0) -> list[tuple[int, ...]]:
    """All pure Nash equilibria of a payoff tensor, by vectorised best responses.

    A profile is an equilibrium when every player's payoff there equals the
    maximum along that player's own action axis.  This costs O(N * size) numpy
    work and no Gambit game, so it is the method to use inside simulation
    loops; :func:`pure_nash` gives the same answer via Gambit.

    Args:
        payoffs: Tensor of shape ``(N, m_1, ..., m_N)``.
        atol: Slack for "is a best response".  The default 0 matches Gambit's
            exact comparison; use a small positive value for payoffs that come
            out of floating-point arithmetic and should tie.

    Returns:
        Equilibrium action profiles, in lexicographic order.
    """
    arr = _check_payoff_tensor(payoffs)
    is_ne = np.ones(arr.shape[1:], dtype=bool)
    for i in range(arr.shape[0]):
        best = arr[i].max(axis=i, keepdims=True)
        is_ne &= arr[i] >= best - atol
    return [tuple(int(a) for a in idx) for idx in np.argwhere(is_ne)]


def pure_nash(game: StageGame) -> list[Equilibrium]:
    """All pure-strategy Nash equilibria, via Gambit's ``enumpure_solve``.

    Enumeration visits every profile, which is cheap at the model's size (a
    6-player 4x4x3x3x2x2 game, 576 profiles, solves in ~1.5 ms; building the
    Gambit game costs tens of ms, so prefer :func:`pure_nash_numpy` in loops).
    Results are sorted lexicographically by action profile so runs are
    reproducible, and payoffs are read from the tensor exactly.
    """
    g = to_gambit(game)
    result = pygambit().nash.enumpure_solve(g)
    profiles = sorted(
        tuple(int(np.argmax(s)) for s in _profile_strategies(g, eq)) for eq in result.equilibria
    )
    return [Equilibrium.from_pure(game, p) for p in profiles]


def mixed_nash_2p(game: StageGame, rational: bool = False) -> list[Equilibrium]:
    """All extreme-point Nash equilibria of a two-player game (``enummixed``).

    Vertex enumeration only exists for two players, hence the ValueError for
    other N; it is fast for the small action sets used here.  In degenerate
    games the equilibrium set can contain continua, of which only the extreme
    points are returned.  Floating-point enumeration (``rational=False``) is
    the default because kernel payoffs are floats; ``rational=True`` computes
    exactly on the decimal payoffs and is better for degenerate games.
    """
    if game.n_players != 2:
        raise ValueError(
            f"mixed_nash_2p needs exactly 2 players, got {game.n_players}; "
            "use restrict() to take a two-actor slice first"
        )
    g = to_gambit(game)
    result = pygambit().nash.enummixed_solve(g, rational=rational)
    return [
        Equilibrium.from_strategies(game, _profile_strategies(g, eq)) for eq in result.equilibria
    ]


# --------------------------------------------------------------------------
# Quantal response equilibria
# --------------------------------------------------------------------------


def _check_lambdas(lams: Sequence[float]) -> list[float]:
    """Lambdas must be finite and non-negative (lam = 0 is uniform play)."""
    values = [float(lam) for lam in lams]
    for lam in values:
        if not math.isfinite(lam) or lam < 0.0:
            raise ValueError(f"lambda must be finite and >= 0, got {lam}")
    return values


def _centroid(game: StageGame) -> Equilibrium:
    """The logit QRE at lam = 0: every player mixes uniformly."""
    return Equilibrium.from_strategies(game, [np.full(m, 1.0 / m) for m in game.shape], lam=0.0)


def _lambda_reached(requested: float, reached: float) -> bool:
    """Did Gambit stop at (numerically) the requested lambda?"""
    return abs(reached - requested) <= _LAMBDA_RTOL * max(1.0, requested)


def _action_values(payoffs: np.ndarray, sigma: Sequence[np.ndarray], i: int) -> np.ndarray:
    """Expected payoff ``(m_i,)`` of each of player i's actions against ``sigma``."""
    out = payoffs[i]
    for j in reversed(range(len(sigma))):  # last axis first keeps axis numbers valid
        if j != i:
            out = np.tensordot(out, sigma[j], axes=([j], [0]))
    return out


def _value_jacobian(payoffs: np.ndarray, sigma: Sequence[np.ndarray], i: int, j: int) -> np.ndarray:
    """``d v_i / d sigma_j`` as an ``(m_i, m_j)`` matrix (payoffs are multilinear)."""
    out = payoffs[i]
    for k in reversed(range(len(sigma))):
        if k not in (i, j):
            out = np.tensordot(out, sigma[k], axes=([k], [0]))
    return out if i < j else out.T


def _split(x: np.ndarray, shape: Sequence[int]) -> list[np.ndarray]:
    """Cut a flat vector into per-player pieces."""
    return np.split(x, np.cumsum(shape)[:-1])


def _logit_system(
    payoffs: np.ndarray, x: np.ndarray, lam: float, shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Residual, Jacobian and lambda-derivative of the logit QRE equations.

    Unknowns are log-probabilities ``x``; the equations are
    ``x_i = lam * v_i(sigma) - logsumexp(lam * v_i(sigma))`` with
    ``sigma = exp(x)``.  Log coordinates keep tiny probabilities at large lam
    representable, as in Gambit's own tracer.
    """
    sigma = [np.exp(xi) for xi in _split(x, shape)]
    offsets = np.concatenate([[0], np.cumsum(shape)])
    residual = np.empty_like(x)
    d_lam = np.empty_like(x)
    jac = np.eye(len(x))
    for i in range(len(shape)):
        v = _action_values(payoffs, sigma, i)
        z = lam * v
        top = z.max()
        log_norm = top + np.log(np.exp(z - top).sum())
        pi = np.exp(z - log_norm)
        rows = slice(offsets[i], offsets[i + 1])
        residual[rows] = x[rows] - (z - log_norm)
        d_lam[rows] = -(v - pi @ v)
        for j in range(len(shape)):
            if j != i:
                dv = _value_jacobian(payoffs, sigma, i, j)
                jac[rows, offsets[j] : offsets[j + 1]] = -lam * (dv - pi @ dv) * sigma[j]
    return residual, jac, d_lam


def _correct(
    payoffs: np.ndarray, x: np.ndarray, lam: float, shape: Sequence[int]
) -> np.ndarray | None:
    """Newton-correct ``x`` onto the QRE at ``lam``; ``None`` unless it converges fast.

    A predictor close to the branch converges in a few iterations; needing
    more is the sign of a step too long to trust, so the caller shortens it.
    """
    for _ in range(8):
        if not np.all(np.isfinite(x)) or x.max() > 1.0:  # log-probabilities ~<= 0
            return None
        residual, jac, _ = _logit_system(payoffs, x, lam, shape)
        if np.abs(residual).max() < 1e-11:
            return x
        try:
            x = x - np.linalg.solve(jac, residual)
        except np.linalg.LinAlgError:
            return None
    return None


def _continue_branch(
    payoffs: np.ndarray,
    start: Sequence[np.ndarray],
    lam0: float,
    lam1: float,
    max_dist: float = 0.05,
) -> list[np.ndarray]:
    """Follow the QRE branch from ``(lam0, start)`` to ``lam1``, parametrised by lam.

    This is the fallback for where Gambit's tracer gives up.  In exactly
    symmetric games the principal branch meets a pitchfork bifurcation (e.g.
    symmetric chicken at lam ~ 0.489); Gambit tries to push past it with a
    small perturbation but can stall just beyond it.  Steps here are
    tangent-predictor / Newton-corrector, and a step is only accepted if the
    corrector moved less than ``max_dist`` (in log-probability), which keeps
    the tracer from jumping to another QRE where the branch bends sharply.
    Started from a symmetric point the iteration stays on the symmetric
    branch, the only continuation that does not break the game's symmetry
    arbitrarily.  Every point returned solves the logit equations to ~1e-11.
    Turning points (lam decreasing along the branch) cannot be passed with lam
    as the parameter: the step shrinks to nothing and RuntimeError is raised.
    """
    shape = [len(s) for s in start]
    x = np.log(np.clip(np.concatenate(start), 1e-300, None))
    polished = _correct(payoffs, x, lam0, shape)
    x = x if polished is None else polished
    lam, step = lam0, 0.05 * max(lam0, 1.0)
    while lam < lam1:
        target = min(lam1, lam + step)
        _, jac, d_lam = _logit_system(payoffs, x, lam, shape)
        try:
            tangent = -np.linalg.solve(jac, d_lam)
        except np.linalg.LinAlgError:
            tangent = np.zeros_like(x)
        predicted = x + (target - lam) * tangent
        solution = _correct(payoffs, predicted, target, shape)
        if solution is None or np.abs(solution - predicted).max() > max_dist:
            step /= 2.0
            if step < 1e-9 * max(1.0, lam1):
                raise RuntimeError(f"QRE continuation stalled at lambda={lam} (target {lam1})")
            continue
        x, lam, step = solution, target, step * 1.5
    sigma = [np.exp(xi) for xi in _split(x, shape)]
    return [s / s.sum() for s in sigma]


def _solve_at(game: StageGame, g: gbt.Game, lam: float) -> list[np.ndarray]:
    """Strategies of the principal-branch QRE at one positive ``lam``.

    Gambit traces from lam = 0 and returns a point labelled with the lambda it
    actually reached.  If its tracer gave up early (it stalls at bifurcations
    of exactly symmetric games, then returns that point as if it were the
    answer), :func:`_continue_branch` finishes the job from where it stopped.
    """
    (point,) = pygambit().qre.logit_solve_lambda(g, [lam], use_strategic=True)
    strategies = [np.array(s) for s in _profile_strategies(g, point.profile)]
    if _lambda_reached(lam, point.lam):
        return strategies
    if 0.0 < point.lam < lam:  # a genuine point of the branch, short of the target
        return _continue_branch(game.payoffs, strategies, point.lam, lam)
    uniform = [np.full(m, 1.0 / m) for m in game.shape]
    return _continue_branch(game.payoffs, uniform, 0.0, lam)


def qre_path(game: StageGame, lams: Sequence[float]) -> list[Equilibrium]:
    """Logit QREs on the principal branch at each requested precision.

    The principal branch starts at uniform play (lam = 0) and, as lam grows,
    converges to a Nash equilibrium (Gambit's ``logit_solve`` selection);
    following that single branch is what makes QRE a unique prediction at
    every lam.  Lambda is not rescaled: choice probabilities are proportional
    to ``exp(lam * expected_payoff)``, so lam is in inverse payoff units.

    Each distinct lam is traced separately from lam = 0 (one
    ``pygambit.qre.logit_solve_lambda`` call each).  Gambit can trace a whole
    list in one call, but in symmetric games the arm it picks after a
    bifurcation then depends on which other lambdas were requested; separate
    calls make every result a function of ``(game, lam)`` alone, so
    ``qre_path(g, [..., lam, ...])`` always agrees with ``logit_qre(g, lam)``.
    Separate calls also sidestep Gambit's requirement that listed lambdas be
    strictly increasing.  Results come back in the order of ``lams``.
    """
    values = _check_lambdas(lams)
    solved: dict[float, Equilibrium] = {0.0: _centroid(game)}
    targets = sorted({lam for lam in values if lam > 0.0})
    if targets:
        g = to_gambit(game)
        for lam in targets:
            solved[lam] = Equilibrium.from_strategies(game, _solve_at(game, g, lam), lam=lam)
    return [solved[lam] for lam in values]


def logit_qre(game: StageGame, lam: float) -> Equilibrium:
    """The logit QRE at precision ``lam`` on the principal branch.

    Uses ``pygambit.qre.logit_solve_lambda``, which traces the branch from
    lam = 0 and stops accurately at ``lam`` (with a numpy continuation where
    Gambit's tracer gives up, see :func:`_continue_branch`); ``lam == 0`` is
    answered analytically (uniform mixing) because Gambit cannot stop at its
    start.  For a 6-player 4x4x3x3x2x2 game expect tens of milliseconds.
    """
    return qre_path(game, [lam])[0]


# --------------------------------------------------------------------------
# Sub-games
# --------------------------------------------------------------------------


def restrict(
    game: StageGame,
    keep: Sequence[str],
    others: Mapping[str, int | str],
) -> StageGame:
    """Slice out the game among ``keep`` with everyone else's action fixed.

    Used to study a bilateral relation (e.g. Russia vs Kazakhstan) with the
    two-player tools while the other actors' behaviour is held constant.
    Players appear in the order given by ``keep``; ``others`` must give an
    action (index or name) for every player not kept, and nothing else.
    """
    kept = [game.player_index(name) for name in keep]
    if not kept or len(set(kept)) != len(kept):
        raise ValueError(f"keep must name distinct players, got {tuple(keep)}")
    rest = {name for k, name in enumerate(game.players) if k not in kept}
    if set(others) != rest:
        raise ValueError(
            f"others must fix exactly the players not kept: expected "
            f"{sorted(rest)}, got {sorted(others)}"
        )
    index: list[int | slice] = [slice(None)] * game.n_players
    for name, action in others.items():
        index[game.player_index(name)] = game.action_index(name, action)
    sliced = game.payoffs[(slice(None), *index)]  # (N, kept axes in game order)
    in_game_order = sorted(kept)
    axes = [in_game_order.index(k) for k in kept]
    tensor = sliced[kept].transpose((0, *(a + 1 for a in axes)))
    return StageGame(
        tuple(game.players[k] for k in kept),
        tuple(game.actions[k] for k in kept),
        tensor,
    )
