"""The compiled kernel's borrowed views (``compiled._borrowed``): the same memory, no counts.

The hot functions rebind their arguments to views whose owner pointer is null, so numba skips
their reference counts (docs/model.md §7.15). A view must read and write its owner's memory,
tuples must be borrowed member by member, and anything numba counts other than an array must be
refused (it would be released once too often).
"""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from alignsim.kernel.compiled import _borrowed


@njit
def _write_through(a, t):
    v = _borrowed(a)
    tv = _borrowed(t)
    v[0] = 5.0
    tv[0][1] = 7.0
    return v.sum() + tv[0].sum() + tv[1]


@njit
def _strings(s):
    return _borrowed((s, 1))


def test_views_read_and_write_their_owners_memory():
    a, b = np.zeros(3), np.zeros(2)
    assert _write_through(a, (b, 2)) == 5.0 + 7.0 + 2
    assert a.tolist() == [5.0, 0.0, 0.0] and b.tolist() == [0.0, 7.0]


def test_members_numba_counts_other_than_arrays_are_refused():
    with pytest.raises(TypingError, match="arrays, numbers or tuples"):
        _strings("a string")
