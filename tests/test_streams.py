"""The numba streams are NumPy's streams, bit for bit, stage by stage and end to end.

Every comparison is ``np.array_equal`` (exact): the point of the kernel is that a replicate's
uniforms do not change when the drawing moves from NumPy's per-replicate loop to compiled code.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignsim.kernel import step, streams  # noqa: F401 (step: the production entry point)

SEEDS = [0, 1, 20220101, 2**32 - 1, 2**32, 2**40 + 7, 2**63 - 1]
KEYS = [(), (3,), (1, 2**33)]
IDS = [0, 1, 2, 2**31, 2**32 - 1, 2**32, 2**63 + 5, 2**64 - 1]


def numpy_loop(seed, replicates, months, actors, key=()):
    """The reference: step.py's per-replicate SeedSequence + default_rng loop."""
    return streams._numpy_loop(seed, list(replicates), months, actors, tuple(key))


@pytest.mark.parametrize("key", [*KEYS, (5, 0, 2**64 + 3)])
@pytest.mark.parametrize("seed", [*SEEDS, 2**64, 2**100 + 1])
def test_seed_state_is_seedsequence(seed, key):
    for spawn_key in (key, (*key, 2**32 + 9)):
        ss = np.random.SeedSequence(seed, spawn_key=spawn_key)
        entropy = streams.assembled_entropy(seed, spawn_key)
        assert np.array_equal(streams.mix_entropy(entropy), ss.pool.astype(np.uint64))
        assert np.array_equal(streams.seed_state(entropy), ss.generate_state(4, np.uint64))


@pytest.mark.parametrize("seed", SEEDS)
def test_pcg64_seed_and_output_are_numpy(seed):
    ss = np.random.SeedSequence(seed, spawn_key=(7,))
    state4 = ss.generate_state(4, np.uint64)
    s_hi, s_lo, i_hi, i_lo = (int(w) for w in streams.pcg64_seed(state4))
    numpy_state = np.random.PCG64(ss).state["state"]
    assert (s_hi << 64 | s_lo, i_hi << 64 | i_lo) == (numpy_state["state"], numpy_state["inc"])
    raw = np.random.PCG64(ss).random_raw(257)
    out = np.empty((1, 257))
    streams.fill_uniforms(state4, out)
    assert np.array_equal(out[0], (raw >> np.uint64(11)) * 2.0**-53)
    assert np.array_equal(out[0], np.random.default_rng(ss).random(257))


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("seed", SEEDS)
def test_replicate_uniforms_match_numpy_loop(seed, key):
    ids = [*IDS, 12345]
    assert np.array_equal(
        streams.replicate_uniforms(seed, ids, 12, 6, key=key), numpy_loop(seed, ids, 12, 6, key)
    )


@pytest.mark.parametrize(("months", "actors"), [(1, 1), (72, 6), (3, 1), (1, 7), (0, 6), (5, 0)])
def test_shapes(months, actors):
    got = streams.replicate_uniforms(20220101, range(3), months, actors, key=(2,))
    assert got.shape == (3, months, actors) and got.dtype == np.float64
    assert np.array_equal(got, numpy_loop(20220101, range(3), months, actors, (2,)))


@pytest.mark.parametrize(
    "replicates",
    [
        range(0),
        [],
        range(500),
        range(2**31 - 3, 2**31 + 3),
        range(10, 0, -3),
        list(range(0, 3000, 7)),
        np.array([5, 2**31, 0, 5], dtype=np.int64),
        np.array([2**63, 2**64 - 1], dtype=np.uint64),
        np.array([1, 2], dtype=np.uint32),
        [2**63, 1],  # NumPy would make this list float64
        range(2**64 - 2, 2**64 + 1),  # ids past uint64 take the NumPy loop
        [2**70, 3],
    ],
    ids=repr,
)
def test_replicate_id_forms(replicates):
    got = streams.replicate_uniforms(1, replicates, 4, 3, key=(1, 2**33))
    assert np.array_equal(got, numpy_loop(1, replicates, 4, 3, (1, 2**33)))


def test_large_seed_and_key_words():
    for seed, key in [(2**64, ()), (2**64 + 1, (2**64,)), (2**200 - 1, (0, 0, 0, 0, 2**32))]:
        ids = [0, 2**32, 9]
        assert np.array_equal(
            streams.replicate_uniforms(seed, ids, 3, 2, key), numpy_loop(seed, ids, 3, 2, key)
        )


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**64 + 10),
    key=st.lists(st.integers(0, 2**40), max_size=3).map(tuple),
    ids=st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=6),
    months=st.integers(1, 5),
    actors=st.integers(1, 4),
)
def test_matches_numpy_property(seed, key, ids, months, actors):
    assert np.array_equal(
        streams.replicate_uniforms(seed, ids, months, actors, key),
        numpy_loop(seed, ids, months, actors, key),
    )


def test_batch_invariance():
    batch = streams.replicate_uniforms(20220101, range(10_000), 72, 6, key=(3,))
    rng = np.random.default_rng(0)
    for r in (0, 1, 4_999, 9_999, *rng.integers(0, 10_000, 20)):
        alone = streams.replicate_uniforms(20220101, [int(r)], 72, 6, key=(3,))
        assert np.array_equal(batch[r], alone[0])
    picked = [9_999, 3, 3, 512]
    assert np.array_equal(
        batch[picked], streams.replicate_uniforms(20220101, picked, 72, 6, key=(3,))
    )
    assert np.array_equal(batch[:200], numpy_loop(20220101, range(200), 72, 6, (3,)))


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "7"}, "seed"),
        ({"seed": True}, "seed"),
        ({"months": -2}, "months"),
        ({"months": 2.0}, "months"),
        ({"actors": -1}, "actors"),
        ({"actors": None}, "actors"),
        ({"key": (1, -3)}, "key"),
        ({"key": (1.0,)}, "key"),
        ({"key": 5}, "key"),
        ({"key": "ab"}, "key"),
        ({"replicates": [0, -1]}, "replicates"),
        ({"replicates": range(-2, 3)}, "replicates"),
        ({"replicates": np.array([1, -1])}, "replicates"),
        ({"replicates": [0.5]}, "replicates"),
        ({"replicates": np.array([1.0, 2.0])}, "replicates"),
        ({"replicates": [2**63, -1]}, "replicates"),
        ({"replicates": [[0, 1]]}, "replicates"),
        ({"replicates": 3}, "replicates"),
        ({"replicates": ["a"]}, "replicates"),
    ],
    ids=repr,
)
def test_bad_inputs_raise_value_error_naming_the_argument(kwargs, name):
    args = {"seed": 1, "replicates": range(2), "months": 2, "actors": 2, "key": ()} | kwargs
    with pytest.raises(ValueError, match=name):
        streams.replicate_uniforms(**args)


def test_kernels_compose_inside_other_njit_code():
    @numba.njit
    def one_replicate(prefix, r, out2d):
        streams.fill_uniforms(streams.seed_state(streams.replicate_entropy(prefix, r)), out2d)

    out = np.empty((72, 6))
    one_replicate(streams.entropy_prefix(20220101, (3,)), np.uint64(2**32 + 1), out)
    assert np.array_equal(out, numpy_loop(20220101, [2**32 + 1], 72, 6, (3,))[0])
