"""Per-replicate uniforms, bit-identical to NumPy's ``default_rng(SeedSequence(...))``, in numba.

:func:`alignsim.kernel.step.replicate_uniforms` builds one ``SeedSequence`` and one ``Generator``
per replicate in Python, ~16 µs each: a million replicates cost 16 s on one core. Here the three
stages NumPy runs for each replicate are reimplemented in compiled code, run in parallel over
replicates, and produce the same bits:

1. ``SeedSequence(seed, spawn_key=(*key, r))``: entropy assembly, ``mix_entropy`` and
   ``generate_state(4, np.uint64)`` (numpy/random/bit_generator.pyx);
2. ``PCG64`` seeded from those four words (``pcg64_set_seed``) and its XSL-RR 64-bit output;
3. ``Generator.random()``: ``(next64 >> 11) * 2**-53``, filling ``(months, actors)`` in C order.

Numba has no 128-bit integers, so a PCG64 state is a pair of ``uint64`` (high, low) and the
128-bit multiply is built from 32-bit halves. Numba promotes ``uint64`` with ``int64`` to
``float64`` and widens ``uint32`` arithmetic to 64 bits, so every constant below is a typed
``np.uint64`` and 32-bit wrap-around is an explicit mask. The replicate's stream is a pure
function of ``(seed, key, r)``: a replicate draws the same numbers whatever else is in the batch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

import numba
import numpy as np

POOL_SIZE = 4
M32 = np.uint64(0xFFFFFFFF)
INIT_A = np.uint64(0x43B0D7E5)
MULT_A = np.uint64(0x931E8875)
INIT_B = np.uint64(0x8B51F9DD)
MULT_B = np.uint64(0x58F38DED)
MIX_MULT_L = np.uint64(0xCA01F9DD)
MIX_MULT_R = np.uint64(0x4973F715)
XSHIFT = np.uint64(16)
PCG_MULT_HI = np.uint64(2549297995355413924)
PCG_MULT_LO = np.uint64(4865540595714422341)
U0, U1, U11, U32, U58, U63 = (np.uint64(v) for v in (0, 1, 11, 32, 58, 63))
TWO_M53 = 2.0**-53
MAX_U64 = 2**64 - 1

# ---------------------------------------------------------------- SeedSequence (32-bit words)


@numba.njit(cache=True, inline="always")
def _hashmix(value: np.uint64, hash_const: np.uint64) -> tuple[np.uint64, np.uint64]:
    """``hashmix`` of bit_generator.pyx on 32-bit words held in uint64; returns the new const."""
    value = (value ^ hash_const) & M32
    hash_const = (hash_const * MULT_A) & M32
    value = (value * hash_const) & M32
    return value ^ (value >> XSHIFT), hash_const


@numba.njit(cache=True, inline="always")
def _mix(x: np.uint64, y: np.uint64) -> np.uint64:
    """``mix`` of bit_generator.pyx: ``L*x - R*y`` mod 2**32, then an xorshift."""
    result = (MIX_MULT_L * x - MIX_MULT_R * y) & M32
    return result ^ (result >> XSHIFT)


@numba.njit(cache=True)
def mix_entropy(entropy_words: np.ndarray) -> np.ndarray:
    """The SeedSequence pool (4 words, as uint64 < 2**32) from the assembled entropy words."""
    pool = np.empty(POOL_SIZE, dtype=np.uint64)
    h = INIT_A
    for i in range(POOL_SIZE):
        word = np.uint64(entropy_words[i]) if i < entropy_words.size else U0
        pool[i], h = _hashmix(word, h)
    for i_src in range(POOL_SIZE):
        for i_dst in range(POOL_SIZE):
            if i_src != i_dst:
                hashed, h = _hashmix(pool[i_src], h)
                pool[i_dst] = _mix(pool[i_dst], hashed)
    for i_src in range(POOL_SIZE, entropy_words.size):
        for i_dst in range(POOL_SIZE):
            hashed, h = _hashmix(np.uint64(entropy_words[i_src]), h)
            pool[i_dst] = _mix(pool[i_dst], hashed)
    return pool


@numba.njit(cache=True)
def generate_state(pool: np.ndarray) -> np.ndarray:
    """``SeedSequence.generate_state(4, np.uint64)``: 8 words, paired little-endian."""
    state = np.empty(POOL_SIZE, dtype=np.uint64)
    h = INIT_B
    for i in range(2 * POOL_SIZE):
        word = (pool[i % POOL_SIZE] ^ h) & M32
        h = (h * MULT_B) & M32
        word = (word * h) & M32
        word ^= word >> XSHIFT
        if i % 2 == 0:
            state[i // 2] = word
        else:
            state[i // 2] |= word << U32
    return state


@numba.njit(cache=True)
def seed_state(entropy_words: np.ndarray) -> np.ndarray:
    """The four uint64 words PCG64 is seeded with, from SeedSequence's assembled entropy."""
    return generate_state(mix_entropy(entropy_words))


@numba.njit(cache=True)
def replicate_entropy(prefix: np.ndarray, replicate: np.uint64) -> np.ndarray:
    """Assembled entropy of replicate ``replicate``: ``prefix`` then the id's 32-bit words."""
    replicate = np.uint64(replicate)
    n_id = 2 if replicate >> U32 else 1
    words = np.empty(prefix.size + n_id, dtype=np.uint32)
    words[: prefix.size] = prefix
    words[prefix.size] = np.uint32(replicate & M32)
    if n_id == 2:
        words[prefix.size + 1] = np.uint32(replicate >> U32)
    return words


# ---------------------------------------------------------------- PCG64 on (high, low) uint64


@numba.njit(cache=True, inline="always")
def _mulhi64(a: np.uint64, b: np.uint64) -> np.uint64:
    """High 64 bits of the 128-bit product ``a * b``, from 32-bit halves (no uint128 in numba)."""
    a_lo, a_hi = a & M32, a >> U32
    b_lo, b_hi = b & M32, b >> U32
    lo_lo = a_lo * b_lo
    mid1 = a_hi * b_lo + (lo_lo >> U32)
    mid2 = a_lo * b_hi + (mid1 & M32)
    return a_hi * b_hi + (mid1 >> U32) + (mid2 >> U32)


@numba.njit(cache=True, inline="always")
def _step(
    s_hi: np.uint64, s_lo: np.uint64, i_hi: np.uint64, i_lo: np.uint64
) -> tuple[np.uint64, np.uint64]:
    """One LCG step ``state * MULT + inc`` mod 2**128."""
    hi = _mulhi64(s_lo, PCG_MULT_LO) + s_lo * PCG_MULT_HI + s_hi * PCG_MULT_LO
    lo = s_lo * PCG_MULT_LO
    new_lo = lo + i_lo
    carry = U1 if new_lo < lo else U0
    return hi + i_hi + carry, new_lo


@numba.njit(cache=True, inline="always")
def _output(s_hi: np.uint64, s_lo: np.uint64) -> np.uint64:
    """XSL-RR: ``rotr64(hi ^ lo, state >> 122)``."""
    x = s_hi ^ s_lo
    rot = s_hi >> U58
    return (x >> rot) | (x << ((np.uint64(64) - rot) & U63))


@numba.njit(cache=True)
def pcg64_seed(state4: np.ndarray) -> np.ndarray:
    """``pcg64_set_seed(seed=state4[0:2], inc=state4[2:4])``: ``[state_hi, state_lo, inc_hi,
    inc_lo]`` after ``pcg_setseq_128_srandom_r`` (two steps, the seed added between them)."""
    i_hi = (state4[2] << U1) | (state4[3] >> U63)
    i_lo = (state4[3] << U1) | U1
    s_hi, s_lo = _step(U0, U0, i_hi, i_lo)
    s_lo = s_lo + state4[1]
    s_hi = s_hi + state4[0] + (U1 if s_lo < state4[1] else U0)
    s_hi, s_lo = _step(s_hi, s_lo, i_hi, i_lo)
    return np.array([s_hi, s_lo, i_hi, i_lo], dtype=np.uint64)


@numba.njit(cache=True)
def fill_uniforms(state4: np.ndarray, out2d: np.ndarray) -> None:
    """Fill ``out2d`` in C order as ``default_rng(ss).random(out2d.shape)`` would, where
    ``state4 = ss.generate_state(4, np.uint64)`` (see :func:`seed_state`)."""
    rng = pcg64_seed(state4)
    s_hi, s_lo, i_hi, i_lo = rng[0], rng[1], rng[2], rng[3]
    for t in range(out2d.shape[0]):
        for a in range(out2d.shape[1]):
            s_hi, s_lo = _step(s_hi, s_lo, i_hi, i_lo)
            out2d[t, a] = np.float64(_output(s_hi, s_lo) >> U11) * TWO_M53


@numba.njit(cache=True, parallel=True)
def fill_replicates(prefix: np.ndarray, replicates: np.ndarray, out: np.ndarray) -> None:
    """``out[j]`` = replicate ``replicates[j]``'s uniforms; parallel, each replicate alone."""
    for j in numba.prange(replicates.size):
        fill_uniforms(seed_state(replicate_entropy(prefix, replicates[j])), out[j])


# ---------------------------------------------------------------- Python side


def _nonneg_int(value: object, name: str) -> int:
    """``value`` as a Python int; ValueError unless a non-negative integer (bool is not one)."""
    if isinstance(value, bool | np.bool_) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    return operator.index(value)


def int_words(n: int) -> list[int]:
    """NumPy's ``_int_to_uint32_array``: 32-bit little-endian words, ``0 -> [0]``."""
    words = [n & 0xFFFFFFFF]
    n >>= 32
    while n:
        words.append(n & 0xFFFFFFFF)
        n >>= 32
    return words


def entropy_prefix(seed: int, key: Iterable[int] = ()) -> np.ndarray:
    """Assembled entropy before the replicate id: seed words padded to the pool size with zeros
    (NumPy pads because a spawn key is present) then each key element's words."""
    words = int_words(seed)
    words += [0] * (POOL_SIZE - len(words))
    for k in key:
        words += int_words(k)
    return np.array(words, dtype=np.uint32)


def assembled_entropy(seed: int, spawn_key: Iterable[int] = ()) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=...)``'s assembled entropy words (padding only if keyed)."""
    spawn_key = tuple(spawn_key)
    if spawn_key:
        return entropy_prefix(seed, spawn_key)
    return np.array(int_words(seed), dtype=np.uint32)


def _fits_int64(ids: range) -> bool:
    """Whether a range's ids fit int64, so ``np.arange`` can build it without Python objects."""
    return not ids or -(2**63) <= min(ids[0], ids[-1]) <= max(ids[0], ids[-1]) < 2**63


def _replicate_ids(replicates: range | Iterable[int] | np.ndarray) -> list[int] | np.ndarray:
    """Replicate ids as a uint64 array, or a validated list of ints if one exceeds uint64."""
    if isinstance(replicates, range) and _fits_int64(replicates):
        ids = np.arange(replicates.start, replicates.stop, replicates.step, dtype=np.int64)
    else:
        ids = np.asarray(replicates)
    if ids.ndim != 1:
        raise ValueError(f"replicates must be a 1-D sequence of ids, got shape {ids.shape}")
    if ids.size == 0:
        return np.empty(0, dtype=np.uint64)
    if ids.dtype.kind in "iu":
        if ids.min() < 0:
            raise ValueError(f"replicates must be non-negative integers, got {ids.min()}")
        return ids.astype(np.uint64)
    # Mixed sizes (NumPy makes them float64 or object), or not integers: check one by one.
    elements = ids if isinstance(replicates, np.ndarray) else replicates
    values = [_nonneg_int(r, "replicates") for r in elements]
    return np.array(values, dtype=np.uint64) if max(values) <= MAX_U64 else values


def _numpy_loop(
    seed: int, replicates: Iterable[int], months: int, actors: int, key: tuple[int, ...]
) -> np.ndarray:
    """The reference: one SeedSequence and Generator per replicate (step.py's loop)."""
    replicates = list(replicates)
    out = np.empty((len(replicates), months, actors))
    for j, r in enumerate(replicates):
        ss = np.random.SeedSequence(seed, spawn_key=(*key, int(r)))
        out[j] = np.random.default_rng(ss).random((months, actors))
    return out


def replicate_uniforms(
    seed: int,
    replicates: range | list[int] | np.ndarray,
    months: int,
    actors: int,
    key: tuple[int, ...] = (),
) -> np.ndarray:
    """Uniforms ``(R, months, actors)``, bit-identical to step.py's NumPy loop, in parallel.

    Replicate ``r`` draws from ``SeedSequence(seed, spawn_key=(*key, r))``, so its numbers do not
    depend on which other replicates are drawn beside it. Ids of 2**64 or more (not a uint64)
    take the NumPy loop, so the result is always NumPy's.
    """
    seed = _nonneg_int(seed, "seed")
    months = _nonneg_int(months, "months")
    actors = _nonneg_int(actors, "actors")
    if isinstance(key, str | bytes) or not isinstance(key, Iterable):
        raise ValueError(f"key must be a tuple of non-negative integers, got {key!r}")
    key = tuple(_nonneg_int(k, "key") for k in key)
    ids = _replicate_ids(replicates)
    if isinstance(ids, list):
        return _numpy_loop(seed, ids, months, actors, key)
    out = np.empty((ids.size, months, actors))
    if out.size:
        fill_replicates(entropy_prefix(seed, key), ids, out)
    return out
