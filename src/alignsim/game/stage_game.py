"""The stage game: the normal-form game the actors play in one month, built by the kernel.

At a model state, every actor's payoff for every joint action is what
:func:`alignsim.kernel.rows.play` gives one month later. Instead of stepping profile by
profile, the state is tiled once per profile of allowed actions (rows = profiles) and the kernel
is called *once*: with the default catalogue that is ``7*4*3*3*3*3 = 2268`` rows, about 25 ms.
The payoff tensor ``(N, m_1, ..., m_N)`` is then handed to :mod:`alignsim.game.equilibrium`
(pygambit) for pure Nash equilibria, logit QRE and, for two-actor slices, all mixed equilibria.

Why build it from the kernel rather than write payoff tables: the game analysed is then exactly
the one the simulated actors face (same effects, same scheduled shocks of month ``t``, same
utilities), so "how often do learners play their equilibrium actions" is a meaningful question.

A *slice* keeps some actors as players and holds the others at given actions (``others``;
"none" by default) — e.g. Russia vs Kazakhstan with the rest passive.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alignsim.kernel.decisions import Memory, uses_equilibrium
from alignsim.kernel.rows import play
from alignsim.kernel.spec import ConfigError, Spec
from alignsim.kernel.state import State, initial_state
from alignsim.kernel.step import month_step, replicate_uniforms


@dataclass(frozen=True)
class StagePayoffs:
    """Payoff tensors of one stage game (or one per replicate), before any solver sees them.

    ``players`` are actor indices; ``actions[k]`` the action indices player ``k`` may use;
    ``fixed`` the (N,) joint action of non-players (``-1`` for players); ``tensor`` has shape
    ``(R, N_all, m_1, ..., m_k)``: the payoff of *every* actor (players first-class, the held
    actors' payoffs kept for reporting) at each profile of the players' actions.
    """

    players: tuple[int, ...]
    actions: tuple[np.ndarray, ...]
    fixed: np.ndarray
    tensor: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(a) for a in self.actions)

    def player_tensor(self, replicate: int = 0) -> np.ndarray:
        """``(k, m_1, ..., m_k)``: the players' payoffs only (the normal form proper)."""
        return self.tensor[replicate][list(self.players)]


def _actor_index(spec: Spec, key: str, who: int | str) -> int:
    if isinstance(who, str):
        if who not in spec.actors:
            raise ConfigError(key, f"unknown actor {who!r}; allowed: {', '.join(spec.actors)}")
        return spec.actors.index(who)
    i = int(who)
    if not 0 <= i < spec.n_actors:
        raise ConfigError(key, f"actor index {i} out of range 0..{spec.n_actors - 1}")
    return i


def _action_index(spec: Spec, key: str, actor: int, what: int | str) -> int:
    names = [spec.actions[a] for a in np.flatnonzero(spec.allowed[actor])]
    a = spec.actions.index(what) if isinstance(what, str) and what in spec.actions else what
    if isinstance(a, str) or not (0 <= int(a) < spec.n_actions) or not spec.allowed[actor, a]:
        raise ConfigError(key, f"{spec.actors[actor]} cannot play {what!r}; allowed: "
                               + ", ".join(names))
    return int(a)


def resolve_players(
    spec: Spec,
    actors: Sequence[int | str] | None = None,
    others: Mapping[int | str, int | str] | None = None,
    restrict: Mapping[int, Sequence[int]] | None = None,
) -> tuple[tuple[int, ...], tuple[np.ndarray, ...], np.ndarray]:
    """Players (actor indices, in model order), their action sets and the held joint action.

    ``others`` maps non-players (name or index) to the action they are held at (default
    ``none``); ``restrict`` narrows a player's action set (used for scheduled, forced moves).
    """
    players = (
        tuple(range(spec.n_actors))
        if actors is None
        else tuple(sorted({_actor_index(spec, "actors", a) for a in actors}))
    )
    if not players:
        raise ConfigError("actors", "a stage game needs at least one player")
    fixed = np.zeros(spec.n_actors, dtype=np.int64)
    fixed[list(players)] = -1
    for who, what in (others or {}).items():
        i = _actor_index(spec, f"others.{who}", who)
        if i in players:
            raise ConfigError(f"others.{who}", "is a player; it cannot also be held fixed")
        fixed[i] = _action_index(spec, f"others.{who}", i, what)
    restrict = restrict or {}
    acts = tuple(
        np.asarray(restrict[i], dtype=np.int64) if i in restrict
        else np.flatnonzero(spec.allowed[i])
        for i in players
    )
    return players, acts, fixed


def profiles(
    players: Sequence[int], actions: Sequence[np.ndarray], fixed: np.ndarray
) -> np.ndarray:
    """All joint actions ``(P, N)`` in C order of the players' action sets (last varies fastest)."""
    grid = np.array(list(itertools.product(*actions)), dtype=np.int64).reshape(-1, len(players))
    joint = np.repeat(fixed[None, :], len(grid), axis=0)
    joint[:, list(players)] = grid
    return joint


def stage_payoffs(
    spec: Spec,
    state: State,
    t: int | None = None,
    actors: Sequence[int | str] | None = None,
    others: Mapping[int | str, int | str] | None = None,
    restrict: Mapping[int, Sequence[int]] | None = None,
) -> StagePayoffs:
    """Payoff tensors of the stage game at ``state`` (any number of replicates ``R``).

    One kernel call: the state is tiled over all ``P`` profiles (rows ``r * P + p``) and stepped
    with month ``t``'s scheduled shocks (``t = None``: none). Row ``p`` equals
    ``play(state, profile_p, spec, t)``: the game is the model's one-month game.
    """
    if t is not None and not 0 <= int(t) < spec.months:
        raise ConfigError("t", f"month index {t} outside the run 0..{spec.months - 1}")
    players, acts, fixed = resolve_players(spec, actors, others, restrict)
    joint = profiles(players, acts, fixed)
    p, r = len(joint), state.replicates
    _, u = play(state.repeat(p), np.tile(joint, (r, 1)), spec, t)
    shape = tuple(len(a) for a in acts)
    tensor = np.moveaxis(u.reshape(r, *shape, spec.n_actors), -1, 1)
    return StagePayoffs(players, acts, fixed, np.ascontiguousarray(tensor))


def build_stage_game(
    spec: Spec,
    state: State,
    t: int | None = None,
    actors: Sequence[int | str] | None = None,
    others: Mapping[int | str, int | str] | None = None,
):
    """The stage game at ``state`` (one replicate) as a
    :class:`alignsim.game.equilibrium.StageGame`.

    Players are ``actors`` (all by default) in model order, with their allowed actions by name;
    non-players are held at ``others`` (default ``none``). ``t`` adds that month's scheduled shocks.
    """
    from alignsim.game.equilibrium import StageGame

    if state.replicates != 1:
        raise ConfigError("state", f"build_stage_game takes one replicate, got {state.replicates}")
    sp = stage_payoffs(spec, state, t, actors, others)
    return StageGame(
        players=[spec.actors[i] for i in sp.players],
        actions=[[spec.actions[a] for a in acts] for acts in sp.actions],
        payoffs=sp.player_tensor(0),
    )


def replay_state(spec: Spec, seed: int, t: int, replicates: int = 1) -> tuple[State, int]:
    """The state at the start of month ``t`` of a run, and the id of the replicate it comes from.

    Steps the kernel's own :func:`alignsim.kernel.step.month_step` with the drivers' per-replicate
    uniforms, so replicate ``r`` here is replicate ``r`` of ``run_ensemble`` (whose trajectory
    does not keep the full state). With several replicates, the one whose Russian–Turkic axis
    at ``t`` is the median is returned: a typical history rather than an arbitrary one.
    """
    if not 0 <= int(t) < spec.months:
        raise ConfigError("date", f"month index {t} outside the run 0..{spec.months - 1}")
    uniforms = replicate_uniforms(seed, list(range(replicates)), max(int(t), 1), spec.n_actors)
    state, memory = initial_state(spec, replicates), Memory.initial(spec, replicates)
    equilibrium = qre_expected_payoffs if uses_equilibrium(spec) else None
    for m in range(int(t)):
        state, memory, *_ = month_step(state, memory, spec, m, uniforms[:, m], equilibrium)
    axis = spec.axis_of(state.alignment)
    r = int(np.argsort(axis, kind="stable")[(replicates - 1) // 2])
    return state.take([r]), r


def pure_equilibrium_actions(
    spec: Spec, state: State, t: int | None = None, sp: StagePayoffs | None = None
) -> np.ndarray:
    """``(R, N, A)`` bool: action ``a`` of actor ``i`` is played in some pure Nash equilibrium of
    replicate ``r``'s stage game (all actors free). All-False rows: no pure equilibrium.

    One kernel call for all replicates and the NumPy best-response check
    (:func:`alignsim.game.equilibrium.pure_nash_numpy`, ties within ``1e-12``): cheap enough to
    ask every month of every replicate how often learners play equilibrium actions.
    """
    from alignsim.game.equilibrium import pure_nash_numpy

    sp = stage_payoffs(spec, state, t) if sp is None else sp
    out = np.zeros((state.replicates, spec.n_actors, spec.n_actions), dtype=bool)
    for r in range(state.replicates):
        for profile in pure_nash_numpy(sp.player_tensor(r), atol=1e-12):
            for k, i in enumerate(sp.players):
                out[r, i, sp.actions[k][profile[k]]] = True
    return out


def dominant_actions(
    spec: Spec, state: State, t: int | None = None, sp: StagePayoffs | None = None
) -> np.ndarray:
    """``(R, N)`` int: each actor's weakly dominant action in replicate ``r``'s stage game (one
    that is a best response, within ``1e-12``, to *every* joint action of the others), or ``-1``.

    Where an actor has one, learning about the others cannot matter to it in this game: any rule
    that best-responds to any belief plays it, which is worth knowing before reading "learners
    play the equilibrium" as a result.
    """
    sp = stage_payoffs(spec, state, t) if sp is None else sp
    out = np.full((state.replicates, spec.n_actors), -1, dtype=np.int64)
    for k, i in enumerate(sp.players):
        own = sp.tensor[:, i]  # (R, m_1, ..., m_k)
        best = own.max(axis=1 + k, keepdims=True)
        ok = np.all(own >= best - 1e-12, axis=tuple(a for a in range(1, own.ndim) if a != 1 + k))
        for r in range(state.replicates):
            hits = np.flatnonzero(ok[r])
            if hits.size:
                out[r, i] = sp.actions[k][hits[0]]
    return out


# ------------------------------------------------------------------ expectations under mixing
def deviation_payoffs(
    tensor: np.ndarray, strategies: Sequence[np.ndarray], player: int
) -> np.ndarray:
    """Expected payoff ``(m_player,)`` of each pure action of player ``player`` against the
    others' mixed ``strategies``; ``tensor (m_1, ..., m_k)`` is one payoff owner's table.

    With the owner's own payoffs this is the vector a logit or best response maps to a strategy
    (in a textbook game, fictitious play passes the empirical frequencies as ``strategies``)."""
    out = np.asarray(tensor, dtype=float)
    # contract the last axes first so that the remaining axis numbers stay valid
    for k in range(len(strategies) - 1, -1, -1):
        if k == player:
            continue
        out = np.tensordot(out, np.asarray(strategies[k], dtype=float), axes=([k], [0]))
    return out


def qre_action_values(game, lam: float) -> list[np.ndarray]:
    """Each player's expected payoff of each own action against the others' logit-QRE strategies
    at precision ``lam`` (``lam = 0``: against uniform play).

    These are the ``q`` vectors of the ``equilibrium`` rule: ``softmax(lam * q_i)`` is player
    ``i``'s QRE strategy (the QRE fixed point), so sampling by the rule is sampling the QRE.
    """
    from alignsim.game.equilibrium import logit_qre

    sigma = [np.asarray(x, dtype=float) for x in logit_qre(game, float(lam)).strategies]
    return [deviation_payoffs(game.payoffs[k], sigma, k) for k in range(game.n_players)]


_QRE_CACHE: OrderedDict[tuple, tuple[Spec, np.ndarray]] = OrderedDict()
_QRE_CACHE_SIZE = 64


def _state_key(state: State, r: int) -> bytes:
    h = hashlib.blake2b(digest_size=16)
    for name in state.__dataclass_fields__:
        h.update(np.ascontiguousarray(getattr(state, name)[r]).tobytes())
    return h.digest()


def qre_expected_payoffs(spec: Spec, state: State, t: int) -> np.ndarray:
    """``q (R, N, A)`` for equilibrium play: each action's expected payoff against the others'
    strategies in the logit QRE (``λ = spec.qre_lambda``) of the stage game of month ``t``.

    All actors are players; an actor whose move month ``t`` schedules is restricted to it (the
    others know it is coming), so its row is finite only there. ``exp(λ q_i)`` normalised is
    actor ``i``'s QRE strategy (the fixed point), which is what the ``equilibrium`` rule samples.
    One pygambit solve per replicate; results are cached by (spec, month, state) so that the Mesa
    agents, which each ask for their own row, share one solve.
    """
    from alignsim.game.equilibrium import StageGame

    forced = spec.forced[t]
    restrict = {i: [int(forced[i])] for i in range(spec.n_actors) if forced[i] >= 0}
    q = np.full((state.replicates, spec.n_actors, spec.n_actions), -np.inf)
    todo = []
    for r in range(state.replicates):
        key = (id(spec), int(t), float(spec.qre_lambda), _state_key(state, r))
        hit = _QRE_CACHE.get(key)
        if hit is not None and hit[0] is spec:
            _QRE_CACHE.move_to_end(key)
            q[r] = hit[1]
        else:
            todo.append((r, key))
    if not todo:
        return q
    sp = stage_payoffs(spec, state.take([r for r, _ in todo]), t, restrict=restrict)
    names = [spec.actors[i] for i in sp.players]
    labels = [[spec.actions[a] for a in acts] for acts in sp.actions]
    for j, (r, key) in enumerate(todo):
        game = StageGame(players=names, actions=labels, payoffs=sp.player_tensor(j))
        row = np.full((spec.n_actors, spec.n_actions), -np.inf)
        for k, values in enumerate(qre_action_values(game, spec.qre_lambda)):
            row[sp.players[k], sp.actions[k]] = values
        q[r] = row
        _QRE_CACHE[key] = (spec, row)
        if len(_QRE_CACHE) > _QRE_CACHE_SIZE:
            _QRE_CACHE.popitem(last=False)
    return q
