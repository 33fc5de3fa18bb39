"""The compiled kernel: whole runs, the replicates of a point as SIMD lanes (numba).

Why numba (docs/model.md §7.15 has the measurements): the month is a few thousand scalar
operations on ~150 numbers per replicate, repeated for every candidate action; as NumPy over a
replicate axis each operation is a tiny array temporary, so the interpreter and memory traffic
dominate. Compiled, a group of replicates' state sits in cache, the loop over candidates and
months runs without temporaries, and groups are spread over cores with ``prange``. The arithmetic
is the NumPy kernel's (the tests' oracle, ``tests/numpy_kernel/``: ``dynamics``, ``lookahead``,
``choice``), operation for operation except ``exp`` (:func:`_exp`); ``tests/test_compiled.py``
checks that the two agree within 1e-9 on every decision rule. ``fastmath`` is off, so results
are deterministic and do not depend on the number of threads, on the group width or on which
rows share a call (``tests/test_lanes.py``).

Layout. A replicate's state is one flat vector (offsets in :class:`Packed`), held as a column of
``x (L, W)`` for the W replicates (lanes) of one group, all of one parameter point; a row of a
batch carries the index of its point, so one call runs P points x R replicates, each point with
its own numeric parameters (weights, costs, effects, rates, initial state, event magnitudes) and
a shared structure (actors, spheres, routes, actions, event dates, rules, horizons).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange
from numba.core import cgutils, types
from numba.core.errors import TypingError
from numba.extending import intrinsic

RULE_CODES = {"logit": 0, "best_response": 1, "fictitious_play": 2, "roth_erev": 3}
EQUILIBRIUM_CODE = 4  # valued by the stage game (above the kernel), drawn as logit at 1 / lambda
TIE_TOL = 1e-12

# scalar parameters of a point, in this order (``Packed.scal[p]``)
SCALARS = (
    "capacity_lag_months", "investment_scale_bn", "share_adjustment", "investment_reversion",
    "relations_reversion", "affinity_reversion", "security_reversion", "threat_prior",
    "threat_learning", "threat_decay", "halt_grievance", "defiance_decay", "usage_decay",
    "a_econ", "a_security", "a_affinity", "a_relations", "a_exposure", "a_hedging",
    "a_temperature", "a_inertia", "discount", "recency",
)
(LAG, INV_SCALE, SHARE_ADJ, INV_REV, REL_REV, AFF_REV, SEC_REV, PRIOR, LEARN, DECAY, GRIEV,
 DEF_DECAY, USE_DECAY, A_ECON, A_SEC, A_AFF, A_REL, A_EXP, A_HEDGE, A_TEMP, A_INERTIA, DISCOUNT,
 RECENCY) = range(len(SCALARS))
WEIGHTS = ("align", "utility", "autonomy", "sovereignty", "revenue", "exposure", "transit",
           "relations", "punish")
W_ALIGN, W_UTIL, W_AUTON, W_SOV, W_REV, W_EXP, W_TRANSIT, W_REL, W_PUNISH = range(len(WEIGHTS))
# flat state fields, in this order (offsets: ``Packed.ofs``; ``STATE_FIELDS[i]`` starts at ofs[i])
STATE_FIELDS = ("alignment", "share", "capacity", "pending", "halt", "severity", "investment",
                "security", "relations", "affinity", "threat", "defiance", "pain", "flow", "usage")
(O_ALIGN, O_SHARE, O_CAP, O_PEND, O_HALT, O_SEV, O_INV, O_SEC, O_REL, O_AFF, O_THR, O_DEF,
 O_PAIN, O_FLOW, O_USE, O_END) = range(len(STATE_FIELDS) + 1)
# effect-vector fields (``Spec.layout``), offsets in ``Packed.dofs``
DELTA_FIELDS = ("relations", "affinity", "investment", "security", "capacity", "threat",
                "defiance", "halt_months", "halt_load")
D_REL, D_AFF, D_INV, D_SEC, D_CAP, D_THR, D_DEF, D_HM, D_HL = range(len(DELTA_FIELDS))

_JIT = dict(cache=True, error_model="numpy", nogil=True)
_INLINE = dict(_JIT, inline="always")  # small hot helpers: no call overhead, no refcounts


# ----------------------------------------------------------------------- borrowed views
def _without_owner(context, builder, ty, value):
    """``value`` (an array, or a tuple holding arrays) with every array's owner pointer null."""
    if isinstance(ty, types.Array):
        ary = context.make_array(ty)(context, builder, value=value)
        ary.meminfo = cgutils.get_null_value(ary.meminfo.type)
        ary.parent = cgutils.get_null_value(ary.parent.type)
        return ary._getvalue()
    if isinstance(ty, types.BaseTuple):
        for i, item in enumerate(ty):
            part = _without_owner(context, builder, item, builder.extract_value(value, i))
            value = builder.insert_value(value, part, i)
    return value


def _borrowable(ty) -> bool:
    """Arrays, numbers and booleans, or tuples of them: nothing else that numba counts."""
    if isinstance(ty, types.BaseTuple):
        return all(_borrowable(t) for t in ty)
    return isinstance(ty, types.Array | types.Number | types.Boolean)


@intrinsic
def _borrowed(typingctx, obj):
    """Views of the arrays in ``obj`` that carry no reference count.

    Why: numba counts references to every array a variable binds, with an atomic operation in a
    function it may not inline; the inlined helpers of the candidate loop rebind a few dozen
    arrays per candidate, and those counts took ~40 % of a run (measured on one core: 817 runs/s
    as written, 1,429 with numba's counting compiled out, 1,443 with these views). A view without
    owner skips the count (numba checks for a null owner first). Safe only while the owner is
    alive: borrow a function's *arguments* (the caller holds them for the whole call), never an
    array made in the same function (numba frees it right after its last use, the borrow itself);
    no view is returned or stored. Other counted members (strings, lists) are refused: returned
    uncounted, they would be released once too often."""
    if not _borrowable(obj):
        raise TypingError(f"_borrowed takes arrays, numbers or tuples of them, not {obj}")

    def codegen(context, builder, sig, args):
        return _without_owner(context, builder, sig.args[0], args[0])
    return obj(obj), codegen


# -------------------------------------------------------------------------------- lanes
# Every state-like array has a trailing lane axis: ``x (L, W)`` holds W replicates of one point,
# and every operation is a loop over the lanes ``for w in range(nw)`` innermost, which LLVM turns
# into SIMD instructions (the trip count is the array's, so W = 1 runs the same operations
# scalar). Each lane's arithmetic is the same sequence of IEEE operations whatever W is and
# whoever shares the group (no reduction runs across lanes, no fused multiply-add: ``fastmath``
# off), so a replicate's trajectory does not depend on its neighbours (tests/test_lanes.py).
LANES = 64  # replicates of one point per group (AVX-512 holds 8 doubles)
# rows of the per-group vector scratch ``vec (N_VEC, W)``: one row per live temporary
(V_RT0, V_RT1, V_EXPO, V_TENS, V_ROUTE, V_RISK, V_INV, V_SEC, V_RELR, V_PULL, V_ZMAX, V_ESUM,
 V_ETA, V_DEF, V_PAIN, V_SEEN, V_HURT, V_POS, V_SQ, V_TRANS, V_PAY, V_EXPB, V_DD, V_VAL, V_TOT,
 V_CNT, V_HI, V_LO, V_TEMP, V_CDF, V_CDFL, V_IDX, V_TENSB, N_VEC) = range(34)


# ------------------------------------------------------------------------------- exp
@intrinsic
def _as_float(typingctx, bits):
    """The float64 whose IEEE bits are the int64 ``bits`` (a bit cast, which vectorises)."""
    if not isinstance(bits, types.Integer) or bits.bitwidth != 64:
        raise TypingError(f"_as_float takes a 64-bit integer, not {bits}")

    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(bits), codegen


LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: k * LN2_HI is exact for |k| < 2**20
LN2_LO = 1.90821492927058770002e-10
EXP_LO, EXP_HI = -708.0, 709.0  # below: 0 (|error| < 3e-308); above: inf (the kernel's x <= 0)


@njit(**_INLINE)
def _exp(x):
    """``exp(x)`` within 2 ulp on [-708, 709] (tested), in operations LLVM vectorises.

    Why not ``math.exp``: it is a libm call per element (~7 ns), and the kernel makes ~200 per
    replicate-month (utilities, sovereignty, the logit choice): a third of a run. This is the
    classic reduction ``x = k ln 2 + r``, ``|r| <= ln 2 / 2`` (Cody-Waite), the Taylor series of
    ``exp(r)`` to degree 13 by Horner (next term < 5e-18) and ``2**k`` built from its bits, all
    branch-free; the same IEEE operations in every lane, so results do not depend on the SIMD
    width. The NumPy oracle (``np.exp``) agrees within 1e-9 (tests/test_compiled.py), and
    tests/test_lanes.py bounds the error against ``math.exp``; NaN stays NaN."""
    xc = min(max(x, EXP_LO), EXP_HI)
    kf = np.floor(xc * LOG2E + 0.5)
    r = (xc - kf * LN2_HI) - kf * LN2_LO
    p = 1.6059043836821613e-10
    p = p * r + 2.08767569878681e-09
    p = p * r + 2.505210838544172e-08
    p = p * r + 2.755731922398589e-07
    p = p * r + 2.7557319223985893e-06
    p = p * r + 2.48015873015873e-05
    p = p * r + 0.0001984126984126984
    p = p * r + 0.001388888888888889
    p = p * r + 0.008333333333333333
    p = p * r + 0.041666666666666664
    p = p * r + 0.16666666666666666
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    y = p * _as_float((np.int64(kf) + 1023) << 52)
    y = 0.0 if x < EXP_LO else y
    y = np.inf if x > EXP_HI else y
    return y if x == x else x


# ------------------------------------------------------------------------------ routes
@njit(**_INLINE)
def _route_target(cap, co, out, oo, n_k, primary, vec):
    """:func:`alignsim.kernel.anchor.route_target` of capacities ``cap[co:co+K]`` into
    ``out[oo:oo+K]``, every lane (offsets, not slices: a slice is an array object, with its
    reference count, built on every call)."""
    nw = cap.shape[1]
    for w in range(nw):
        vec[V_RT0, w] = 0.0
    for k in range(n_k):
        if k == primary:
            for w in range(nw):
                out[oo + k, w] = 0.0
        else:
            for w in range(nw):
                out[oo + k, w] = cap[co + k, w]
        for w in range(nw):
            vec[V_RT0, w] += out[oo + k, w]
    for w in range(nw):
        vec[V_RT0, w] = max(vec[V_RT0, w], 1.0)
        vec[V_RT1, w] = 0.0
    for k in range(n_k):
        for w in range(nw):
            out[oo + k, w] = out[oo + k, w] / vec[V_RT0, w]
            vec[V_RT1, w] += out[oo + k, w]
    for w in range(nw):
        out[oo + primary, w] = max(1.0 - vec[V_RT1, w], 0.0)


# --------------------------------------------------------------------------- alignment
M_ROUTES, M_INV, M_SEC, M_REL = 1, 2, 4, 8  # what a patched candidate moved (:func:`_utility`)
M_CAPACITY = 16  # ... and whether its route shares must follow its capacity


@njit(**_INLINE)
def _utility(x, ofs, sc, trade, anchor, st, util, tmp, o, vec, acc, mode, moved):
    """Sphere utilities (incl. the rest anchor) into ``util``, the exposure into
    ``vec[V_EXPO]``. ``st`` is the structure tuple; ``tmp[o:o+2K]`` scratch.

    Each utility is a weighted sum of five per-sphere sums (route ties, revenue at risk,
    investment, security, relations); ``acc (5S + 1, W)`` keeps the base month's (and its
    exposure). ``mode`` 0: compute; 1: compute and keep them in ``acc``; 2: a patched candidate,
    recompute only the sums whose inputs it ``moved`` (:data:`M_ROUTES` ...) and take the others
    from ``acc``: the same values, so the same bits."""
    swing, primary, membership, mnorm, route_via, route_membership = st[0], st[1], st[3], st[4], \
        st[5], st[6]
    n_s, n_n = membership.shape
    n_k = route_via.shape[0]
    nw = x.shape[1]
    o_cap, o_pend, o_thr, o_share = ofs[O_CAP], ofs[O_PEND], ofs[O_THR], ofs[O_SHARE]
    o_inv, o_sec, o_aff = ofs[O_INV], ofs[O_SEC], ofs[O_AFF]
    inv_scale, a_econ, a_sec, a_aff = sc[INV_SCALE], sc[A_ECON], sc[A_SEC], sc[A_AFF]
    a_rel, a_exp = sc[A_REL], sc[A_EXP]
    routes = mode < 2 or (moved & M_ROUTES) != 0
    inv_on = mode < 2 or (moved & M_INV) != 0
    sec_on = mode < 2 or (moved & M_SEC) != 0
    rel_on = mode < 2 or (moved & M_REL) != 0
    c = o + n_k  # committed shares, then the revenue at risk on each route
    ex = 5 * n_s  # acc's exposure row
    if routes:
        for k in range(n_k):
            for w in range(nw):
                tmp[o + k, w] = min(x[o_cap + k, w] + x[o_pend + k, w], 1.0)
        _route_target(tmp, o, tmp, c, n_k, primary, vec)
        for w in range(nw):
            vec[V_EXPO, w] = 0.0
        for k in range(n_k):
            via = o_thr + route_via[k]
            for w in range(nw):
                tmp[c + k, w] = tmp[c + k, w] * x[via, w]  # at risk
                vec[V_EXPO, w] += tmp[c + k, w]
    else:
        for w in range(nw):
            vec[V_EXPO, w] = acc[ex, w]
    if mode == 1:
        for w in range(nw):
            acc[ex, w] = vec[V_EXPO, w]
    rel_row = ofs[O_REL] + swing * n_n
    for s in range(n_s):
        if routes:
            for w in range(nw):
                vec[V_ROUTE, w] = 0.0
                vec[V_RISK, w] = 0.0
            for k in range(n_k):
                rm = route_membership[s, k]
                for w in range(nw):
                    vec[V_ROUTE, w] += x[o_share + k, w] * rm
                    vec[V_RISK, w] += tmp[c + k, w] * rm
        else:
            for w in range(nw):
                vec[V_ROUTE, w] = acc[s, w]
                vec[V_RISK, w] = acc[n_s + s, w]
        _member_sum(x, o_inv, membership, s, n_n, inv_on, vec, V_INV, acc, 2 * n_s + s)
        _member_sum(x, o_sec, membership, s, n_n, sec_on, vec, V_SEC, acc, 3 * n_s + s)
        _member_sum(x, rel_row, mnorm, s, n_n, rel_on, vec, V_RELR, acc, 4 * n_s + s)
        if mode == 1:
            for w in range(nw):
                acc[s, w] = vec[V_ROUTE, w]
                acc[n_s + s, w] = vec[V_RISK, w]
                acc[2 * n_s + s, w] = vec[V_INV, w]
                acc[3 * n_s + s, w] = vec[V_SEC, w]
                acc[4 * n_s + s, w] = vec[V_RELR, w]
        tr, an = trade[s], anchor[s]
        for w in range(nw):
            ties = tr + vec[V_ROUTE, w] + vec[V_INV, w] / inv_scale
            u = (a_econ * ties + a_sec * vec[V_SEC, w] + a_aff * x[o_aff + s, w]
                 + a_rel * vec[V_RELR, w] - a_exp * vec[V_RISK, w])
            util[s, w] = u + an


@njit(**_INLINE)
def _member_sum(x, o, weights, s, n_n, on, vec, row, acc, kept):
    """``vec[row] = sum_n x[o + n] * weights[s, n]`` (or, if not ``on``, the kept ``acc[kept]``)."""
    nw = x.shape[1]
    if on:
        for w in range(nw):
            vec[row, w] = 0.0
        for n in range(n_n):
            m = weights[s, n]
            for w in range(nw):
                vec[row, w] += x[o + n, w] * m
    else:
        for w in range(nw):
            vec[row, w] = acc[kept, w]


@njit(**_INLINE)
def _tension(x, ofs, rel0, swing, n_n, vec):
    """``numpy_kernel.dynamics.partner_tension`` of every lane, into ``vec[V_TENS]``."""
    nw = x.shape[1]
    o_rel = ofs[O_REL]
    row = o_rel + swing * n_n
    for w in range(nw):
        vec[V_TENS, w] = 0.0
    for i in range(n_n):
        if i == swing:
            continue
        for w in range(nw):
            vec[V_PULL, w] = 0.0
        for j in range(n_n):
            if j == swing:
                continue
            r0 = rel0[i, j]
            for w in range(nw):
                fj = max(x[row + j, w], 0.0)
                rift = max(r0 - x[o_rel + i * n_n + j, w], 0.0)
                vec[V_PULL, w] += rift * fj
        for w in range(nw):  # a partner without ties (fi = 0) adds a zero: the sum unchanged
            vec[V_TENS, w] += vec[V_PULL, w] * max(x[row + i, w], 0.0)
    for w in range(nw):
        vec[V_TENS, w] = 0.5 * vec[V_TENS, w]


# --------------------------------------------------------------------------- transition
@njit(**_JIT)
def _advance(x, delta, out, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, st,
             util, tmp, vec, acc, keep_sums):
    """``numpy_kernel.dynamics.advance`` of every lane: ``x`` -> ``out``.

    Writes the new state's sphere utilities into ``util``, the exposure into ``vec[V_EXPO]`` and
    the tension into ``vec[V_TENS]``; with ``keep_sums`` (the base month) the utilities' sums
    into ``acc`` too (:func:`_utility`). ``usage`` is not written: no step reads it from ``out``
    (the payoffs read it from the month's start, and :func:`_play` writes it).
    ``tmp``: scratch of at least 4K + 2N + 2S rows; on return ``tmp[2K:2K+N]`` holds each
    actor's grievance loss and ``tmp[2K+N:2K+2N]`` the coercion the swing state saw (the
    look-ahead's patches reuse them, :func:`_patch`)."""
    x, delta, out, ofs, dofs, sc = (_borrowed(x), _borrowed(delta), _borrowed(out), _borrowed(ofs),
                                    _borrowed(dofs), _borrowed(sc))
    trade, anchor, rel0, aff0, inv0, sec0 = (_borrowed(trade), _borrowed(anchor), _borrowed(rel0),
                                             _borrowed(aff0), _borrowed(inv0), _borrowed(sec0))
    ceiling, st, util, tmp = _borrowed(ceiling), _borrowed(st), _borrowed(util), _borrowed(tmp)
    vec, acc = _borrowed(vec), _borrowed(acc)
    nw = x.shape[1]
    # offsets as local integers: loads the compiler cannot hoist past stores otherwise
    o_share, o_cap, o_pend, o_halt, o_sev = (ofs[O_SHARE], ofs[O_CAP], ofs[O_PEND], ofs[O_HALT],
                                             ofs[O_SEV])
    o_inv, o_sec, o_rel, o_aff, o_thr = ofs[O_INV], ofs[O_SEC], ofs[O_REL], ofs[O_AFF], ofs[O_THR]
    o_def, o_pain, o_flow = ofs[O_DEF], ofs[O_PAIN], ofs[O_FLOW]
    d_rel, d_aff, d_inv, d_sec, d_cap = dofs[D_REL], dofs[D_AFF], dofs[D_INV], dofs[D_SEC], \
        dofs[D_CAP]
    d_thr, d_def, d_hm, d_hl = dofs[D_THR], dofs[D_DEF], dofs[D_HM], dofs[D_HL]
    swing, primary, route_actor = st[0], st[1], st[7]
    n_n = route_actor.shape[0]
    n_k = route_actor.shape[1]
    n_s = trade.shape[0]
    sv, so, ho = 0, n_k, 2 * n_k  # tmp: new severities, stopped fractions, grievance, seen
    # Each entry's steps (additive effect, grievance, reversion, clamps) in one pass, in the order
    # of ``numpy_kernel.dynamics.advance``; the halts first, since the threat and the relations
    # of the month depend on them and they on nothing else of it.
    # 1. halts (a halt's stopped fraction and fresh severity), then their running down
    for w in range(nw):
        vec[V_PAIN, w] = 0.0
    for k in range(n_k):
        for w in range(nw):
            months = delta[d_hm + k, w]
            started = months > 0
            fresh = delta[d_hl + k, w] / months if started else 0.0
            sev = max(fresh, x[o_sev + k, w]) if started else x[o_sev + k, w]
            tmp[sv + k, w] = fresh
            halt = max(x[o_halt + k, w], months)
            stopped = sev * min(halt, 1.0)
            tmp[so + k, w] = stopped
            lost = x[o_share + k, w] * stopped
            vec[V_PAIN, w] += lost
            out[o_flow + k, w] = x[o_share + k, w] - lost
            left = max(halt - 1.0, 0.0)
            out[o_halt + k, w] = left
            out[o_sev + k, w] = sev if left > 0 else 0.0
    for w in range(nw):
        out[o_pain, w] = vec[V_PAIN, w]
    # 2. threat learned, grievance
    prior, keep, learn, griev = sc[PRIOR], 1.0 - sc[DECAY], sc[LEARN], sc[GRIEV]
    for n in range(n_n):
        for w in range(nw):
            vec[V_SEEN, w] = 0.0
            vec[V_HURT, w] = 0.0
        for k in range(n_k):
            ra = route_actor[n, k]
            for w in range(nw):
                vec[V_SEEN, w] += tmp[sv + k, w] * min(delta[d_hm + k, w], 1.0) * ra
                vec[V_HURT, w] += tmp[so + k, w] * ra
        for w in range(nw):
            seen = min(vec[V_SEEN, w], 1.0)
            tmp[ho + n_n + n, w] = seen
            th = prior + (x[o_thr + n, w] + delta[d_thr + n, w] - prior) * keep
            th = th + learn * seen * (1.0 - th)
            out[o_thr + n, w] = min(max(th, 0.0), 1.0)
            tmp[ho + n, w] = min(vec[V_HURT, w], 1.0) * griev
    # 3. relations: effect, the swing state's grievance (its row, then its column), reversion
    rr = sc[REL_REV]
    for i in range(n_n):
        for j in range(n_n):
            r0, at, dat = rel0[i, j], o_rel + i * n_n + j, d_rel + i * n_n + j
            if i == swing or j == swing:
                for w in range(nw):
                    v = x[at, w] + delta[dat, w]
                    if i == swing:
                        v -= tmp[ho + j, w]
                    if j == swing:
                        v -= tmp[ho + i, w]
                    v = v * (1.0 - rr) + rr * r0
                    out[at, w] = min(max(v, -1.0), 1.0)
            else:
                for w in range(nw):
                    v = (x[at, w] + delta[dat, w]) * (1.0 - rr) + rr * r0
                    out[at, w] = min(max(v, -1.0), 1.0)
    # 4. affinity, investment, security, defiance: effect and reversion
    ar = sc[AFF_REV]
    for s in range(n_s):
        a0 = aff0[s]
        for w in range(nw):
            v = (x[o_aff + s, w] + delta[d_aff + s, w]) * (1.0 - ar) + ar * a0
            out[o_aff + s, w] = min(max(v, 0.0), 1.0)
    ir, sr = sc[INV_REV], sc[SEC_REV]
    for n in range(n_n):
        i0, s0 = inv0[n], sec0[n]
        for w in range(nw):
            v = (x[o_inv + n, w] + delta[d_inv + n, w]) * (1.0 - ir) + ir * i0
            out[o_inv + n, w] = max(v, 0.0)
            v = (x[o_sec + n, w] + delta[d_sec + n, w]) * (1.0 - sr) + sr * s0
            out[o_sec + n, w] = min(max(v, 0.0), 1.0)
    dk = 1.0 - sc[DEF_DECAY]
    for w in range(nw):
        out[o_def, w] = (x[o_def, w] + delta[d_def, w]) * dk
    # 5. capacity committed (diminishing toward a ceiling) and arriving; shares follow capacity
    lag = sc[LAG]
    for k in range(n_k):
        ceil = ceiling[k]
        finite = math.isfinite(ceil)
        for w in range(nw):
            committed = delta[d_cap + k, w]
            if finite:
                used = (x[o_cap + k, w] + x[o_pend + k, w]) / ceil
                committed = committed * max(1.0 - used, 0.0)
            pend = x[o_pend + k, w] + committed
            arriving = pend / lag
            out[o_cap + k, w] = min(max(x[o_cap + k, w] + arriving, 0.0), 1.0)
            out[o_pend + k, w] = pend - arriving
    _route_target(out, o_cap, tmp, sv, n_k, primary, vec)  # reuse: target of the new capacity
    adj = sc[SHARE_ADJ]
    for k in range(n_k):
        for w in range(nw):
            sh = x[o_share + k, w]
            out[o_share + k, w] = sh + adj * (tmp[sv + k, w] - sh)
    # 6. alignment follows the utilities of the new structure
    _align(x, out, ofs, sc, trade, anchor, rel0, st, util, tmp, ho + 2 * n_n, vec, False, acc,
           1 if keep_sums else 0, 0)


@njit(**_INLINE)
def _align(x, out, ofs, sc, trade, anchor, rel0, st, util, tmp, o, vec, tension_known, acc,
           mode, moved):
    """Step 6 of :func:`_advance`: the new structure's utilities and tension move the alignment
    of ``x`` part of the way to its logit target, into ``out``; exposure and tension into
    ``vec[V_EXPO]``, ``vec[V_TENS]`` (``tension_known``: already there, the relations being
    those of a state whose tension it is; ``acc, mode, moved``: see :func:`_utility`)."""
    swing = st[0]
    n_n = st[7].shape[0]
    n_s = trade.shape[0]
    nw = x.shape[1]
    o_align = ofs[O_ALIGN]
    _utility(out, ofs, sc, trade, anchor, st, util, tmp, o, vec, acc, mode, moved)
    if not tension_known:
        _tension(out, ofs, rel0, swing, n_n, vec)
    temp, inertia, hedge = sc[A_TEMP], sc[A_INERTIA], sc[A_HEDGE]
    for w in range(nw):
        vec[V_ZMAX, w] = -np.inf
        vec[V_ESUM, w] = 0.0
    for s in range(n_s):
        for w in range(nw):
            vec[V_ZMAX, w] = max(vec[V_ZMAX, w], util[s, w] / temp)
    for s in range(n_s):
        for w in range(nw):
            tmp[o + s, w] = _exp(util[s, w] / temp - vec[V_ZMAX, w])
            vec[V_ESUM, w] += tmp[o + s, w]
    for w in range(nw):
        vec[V_ETA, w] = inertia / (1.0 + hedge * vec[V_TENS, w])
    for s in range(n_s):
        for w in range(nw):
            eta = vec[V_ETA, w]
            out[o_align + s, w] = (1.0 - eta) * x[o_align + s, w] + eta * (tmp[o + s, w]
                                                                          / vec[V_ESUM, w])


@njit(**_INLINE)
def _patch(x, base, d, out, ofs, dofs, sc, rel0, aff0, inv0, sec0, ceiling, st, aux, vec):
    """Recompute the one entry of ``out`` (the base next state) that effect entry ``d`` moves,
    for the month's effects ``base[d] + vec[V_DD]`` instead of ``base[d]``, every lane: the same
    operations as :func:`_advance` on that entry, so the result equals a full advance (and a
    lane whose difference is 0 gets its base entry back, bit for bit). Returns 1 if route
    capacity moved (the shares must then follow), -1 if ``d`` is a halt entry (not patchable:
    halts couple routes, threat and relations), else 0."""
    swing = st[0]
    n_n = st[7].shape[0]
    nw = x.shape[1]
    if d >= dofs[D_HM]:
        return -1
    if d >= dofs[D_DEF]:
        at, dk = ofs[O_DEF], 1.0 - sc[DEF_DECAY]
        for w in range(nw):
            out[at, w] = (x[at, w] + (base[d, w] + vec[V_DD, w])) * dk
    elif d >= dofs[D_THR]:
        n = d - dofs[D_THR]
        at = ofs[O_THR] + n
        prior, keep, learn = sc[PRIOR], 1.0 - sc[DECAY], sc[LEARN]
        for w in range(nw):
            th = prior + (x[at, w] + (base[d, w] + vec[V_DD, w]) - prior) * keep
            th = th + learn * aux[n_n + n, w] * (1.0 - th)  # aux: grievance, then seen
            out[at, w] = min(max(th, 0.0), 1.0)
    elif d >= dofs[D_CAP]:
        k = d - dofs[D_CAP]
        o_cap, o_pend, ceil, lag = ofs[O_CAP] + k, ofs[O_PEND] + k, ceiling[k], sc[LAG]
        finite = math.isfinite(ceil)
        for w in range(nw):
            committed = base[d, w] + vec[V_DD, w]
            if finite:
                used = (x[o_cap, w] + x[o_pend, w]) / ceil
                committed = committed * max(1.0 - used, 0.0)
            pend = x[o_pend, w] + committed
            arriving = pend / lag
            out[o_cap, w] = min(max(x[o_cap, w] + arriving, 0.0), 1.0)
            out[o_pend, w] = pend - arriving
        return 1
    elif d >= dofs[D_SEC]:
        n = d - dofs[D_SEC]
        at, sr, s0 = ofs[O_SEC] + n, sc[SEC_REV], sec0[n]
        for w in range(nw):
            v = (x[at, w] + (base[d, w] + vec[V_DD, w])) * (1.0 - sr) + sr * s0
            out[at, w] = min(max(v, 0.0), 1.0)
    elif d >= dofs[D_INV]:
        n = d - dofs[D_INV]
        at, ir, i0 = ofs[O_INV] + n, sc[INV_REV], inv0[n]
        for w in range(nw):
            v = (x[at, w] + (base[d, w] + vec[V_DD, w])) * (1.0 - ir) + ir * i0
            out[at, w] = max(v, 0.0)
    elif d >= dofs[D_AFF]:
        s = d - dofs[D_AFF]
        at, ar, a0 = ofs[O_AFF] + s, sc[AFF_REV], aff0[s]
        for w in range(nw):
            v = (x[at, w] + (base[d, w] + vec[V_DD, w])) * (1.0 - ar) + ar * a0
            out[at, w] = min(max(v, 0.0), 1.0)
    else:
        j = d - dofs[D_REL]
        r, c = j // n_n, j % n_n
        at, rr, r0 = ofs[O_REL] + j, sc[REL_REV], rel0[r, c]
        for w in range(nw):
            v = x[at, w] + (base[d, w] + vec[V_DD, w])
            if r == swing:
                v -= aux[c, w]
            if c == swing:
                v -= aux[r, w]
            v = v * (1.0 - rr) + rr * r0
            out[at, w] = min(max(v, -1.0), 1.0)
    return 0


# ------------------------------------------------------------------------------ payoffs
@njit(**_INLINE)
def _payoff(x, use, ofs, i, acts, row, util, wts, cost, repeat, st, vec):
    """Actor ``i``'s payoff (``numpy_kernel.dynamics.payoffs``) in each lane, having played
    ``acts[row, w]``, into ``vec[V_PAY]``; the exposure is read from ``vec[V_EXPO]`` and the
    action's use count from ``use``, the month's starting state."""
    swing, actor_sphere, route_actor, punitive = st[0], st[2], st[7], st[8]
    n_n, n_k = route_actor.shape
    n_a = cost.shape[1]
    n_s = util.shape[0]
    nw = x.shape[1]
    o_align, o_def, o_flow, o_pain = ofs[O_ALIGN], ofs[O_DEF], ofs[O_FLOW], ofs[O_PAIN]
    o_use = ofs[O_USE] + i * n_a
    rel_at = ofs[O_REL] + swing * n_n + i
    sph = actor_sphere[i]
    has_sphere = sph >= 0
    own_at = o_align + max(sph, 0)
    w_align, w_util, w_auton, w_sov = wts[W_ALIGN, i], wts[W_UTIL, i], wts[W_AUTON, i], \
        wts[W_SOV, i]
    w_rev, w_exp, w_transit, w_rel, w_punish = wts[W_REV, i], wts[W_EXP, i], wts[W_TRANSIT, i], \
        wts[W_REL, i], wts[W_PUNISH, i]
    for w in range(nw):
        vec[V_POS, w] = 0.0
        vec[V_SQ, w] = 0.0
        vec[V_TRANS, w] = 0.0
    for s in range(n_s):
        for w in range(nw):
            a = x[o_align + s, w]
            vec[V_POS, w] += a * util[s, w]
            vec[V_SQ, w] += a * a
    for k in range(n_k):
        ra = route_actor[i, k]
        for w in range(nw):
            vec[V_TRANS, w] += x[o_flow + k, w] * ra
    for w in range(nw):
        act = acts[row, w]
        own = x[own_at, w] if has_sphere else 0.0
        sovereignty = 1.0 - _exp(-max(x[o_def, w], 0.0))
        punish = punitive[act] * x[o_def, w]
        c = cost[i, act] * (1.0 + repeat[act] * use[o_use + act, w])
        vec[V_PAY, w] = (w_align * own + w_util * vec[V_POS, w] + w_auton * (1.0 - vec[V_SQ, w])
                         + w_sov * sovereignty + w_rev * (1.0 - x[o_pain, w])
                         - w_exp * vec[V_EXPO, w] + w_transit * vec[V_TRANS, w]
                         + w_rel * x[rel_at, w] + w_punish * punish - c)


# ------------------------------------------------------------------------- decisions
@njit(**_JIT)
def _believed(effects, last, counts, empirical, e, e_sum, vec):
    """Belief-weighted effect vectors summed over actors into ``e_sum (D, W)``: the last actions'
    effects, or (``empirical``) the effects weighted by past frequencies, each actor's then kept
    in ``e (N, D, W)``."""
    n_n, n_a, n_d = effects.shape
    nw = last.shape[1]
    for d in range(n_d):
        for w in range(nw):
            e_sum[d, w] = 0.0
    for n in range(n_n):
        if empirical:
            for w in range(nw):
                vec[V_CNT, w] = 0.0
            for a in range(n_a):
                for w in range(nw):
                    vec[V_CNT, w] += counts[n, a, w]
            for d in range(n_d):
                for w in range(nw):
                    e[n, d, w] = 0.0
                for a in range(n_a):
                    eff = effects[n, a, d]
                    for w in range(nw):
                        e[n, d, w] += counts[n, a, w] / vec[V_CNT, w] * eff
            for d in range(n_d):
                for w in range(nw):
                    e_sum[d, w] += e[n, d, w]
        else:  # the last actions' effects are rows of ``effects``: summed, not stored
            for d in range(n_d):
                for w in range(nw):
                    e_sum[d, w] += effects[n, last[n, w], d]


@njit(**_JIT)
def _values(x, last, counts, t, pp, st, ctl, q, work):
    """Expected payoff ``q (N, A, W)`` of every candidate in every lane (``numpy_kernel.
    lookahead.lookahead``): its own effects and the month's events plus the others' believed
    effects, one month (or the actor's horizon, playing ``none`` afterwards, discounted).

    Why it is fast: with ``last`` beliefs every candidate's month is one base month (everyone
    repeats their last action) plus the few entries in which the candidate's action differs from
    its last one (an action moves 3-9 of ~70 entries), so the base month is advanced once and
    each candidate patches a copy (:func:`_patch`) and recomputes only what depends on all
    entries (utilities, tension, alignment); a candidate every lane repeats is the base itself.
    A candidate touching a halt in some lane (halts couple routes, threat and relations) and
    empirical beliefs take the full advance."""
    x, last, counts, q = _borrowed(x), _borrowed(last), _borrowed(counts), _borrowed(q)
    pp, st, ctl, work = _borrowed(pp), _borrowed(st), _borrowed(ctl), _borrowed(work)
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, wts, cost, repeat, effects, \
        events = pp
    cand_i, cand_a, rules, horizons, any_emp = ctl[0], ctl[1], ctl[2], ctl[3], ctl[4]
    s_last, e_emp, s_emp, others = work[1], work[2], work[3], work[4]
    xc, util, tmp, base, xb, ub, aux, vec, ca = work[6], work[9], work[10], work[11], work[12], \
        work[13], work[14], work[15], work[16]
    n_n, n_d = effects.shape[0], effects.shape[2]
    n_k = ceiling.shape[0]
    nw = x.shape[1]
    _believed(effects, last, counts, False, e_emp, s_last, vec)  # ``e`` unused here
    if any_emp:
        _believed(effects, last, counts, True, e_emp, s_emp, vec)
    for d in range(n_d):
        ev = events[t, d]
        for w in range(nw):
            base[d, w] = s_last[d, w] + ev
    _advance(x, base, xb, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, st, ub,
             tmp, vec, work[19], True)
    for w in range(nw):
        vec[V_EXPB, w] = vec[V_EXPO, w]
        vec[V_TENSB, w] = vec[V_TENS, w]
    work[18][0] = -1  # a new base month: the candidates' copy of it is stale
    for n in range(2 * n_n):
        for w in range(nw):
            aux[n, w] = tmp[2 * n_k + n, w]
    for n in range(q.shape[0]):
        for a in range(q.shape[1]):
            for w in range(nw):
                q[n, a, w] = -np.inf
    for j in range(cand_i.shape[0]):
        i, a = cand_i[j], cand_a[j]
        emp = rules[i] == 2
        if emp:  # the others' believed effects: for the full advance and the rollout only
            for d in range(n_d):
                for w in range(nw):
                    others[d, w] = s_emp[d, w] - e_emp[i, d, w]
        elif horizons[i] > 1:
            for d in range(n_d):
                for w in range(nw):
                    others[d, w] = s_last[d, w] - effects[i, last[i, w], d]
        _candidate_state(x, i, a, last, emp, base, xb, ub, aux, others, t, pp, st, ctl, work)
        for w in range(nw):
            ca[0, w] = a
        _payoff(xc, x, ofs, i, ca, 0, util, wts, cost, repeat, st, vec)
        if horizons[i] > 1:
            _rollout(i, horizons[i], x, pp, st, work)
            for w in range(nw):
                q[i, a, w] = vec[V_VAL, w]
        else:
            for w in range(nw):
                q[i, a, w] = vec[V_PAY, w]


@njit(**_INLINE)
def _candidate_state(x, i, a, last, emp, base, xb, ub, aux, others, t, pp, st, ctl, work):
    """Candidate ``(i, a)``'s next state into ``work[6]``, its utilities into ``work[9]`` and its
    exposure into ``vec[V_EXPO]``, every lane. Patches the base month where it can (see
    :func:`_values`): the entries of ``a`` and of each lane's last action, with each lane's own
    difference (0 where a lane repeats), so a lane's result is its own whoever shares the group;
    if some lane's difference touches a halt, every lane takes the full advance of base + its
    difference, which equals its patched state."""
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling = pp[:10]
    effects, events = pp[13], pp[14]
    nz, nz_len = ctl[5], ctl[6]
    delta, xc, util, tmp, vec, seen = work[5], work[6], work[9], work[10], work[15], work[17]
    dirty = work[18]
    n_d, n_s, n_k, n_a = effects.shape[2], trade.shape[0], ceiling.shape[0], effects.shape[1]
    nw = x.shape[1]
    _restore(xc, xb, dirty, ofs[O_USE])
    full = emp
    moved = False
    relations_moved = False
    sums = 0  # which of the utilities' sums the patches moved (:func:`_utility`)
    swing, n_n = st[0], st[7].shape[0]
    if not full:
        for b in range(n_a):
            seen[b] = False
        for pass_ in range(nw + 1):  # the entries of the candidate's action, then the lasts'
            act = a if pass_ == 0 else last[i, pass_ - 1]
            if pass_ > 0 and (act == a or seen[act]):
                continue
            seen[act] = True
            for m in range(nz_len[i, act]):
                d = nz[i, act, m]
                differs = False
                here = effects[i, a, d]
                for w in range(nw):
                    dd = here - effects[i, last[i, w], d]
                    vec[V_DD, w] = dd
                    differs = differs or dd != 0.0
                if not differs:
                    continue
                code = _patch(x, base, d, xc, ofs, dofs, sc, rel0, aff0, inv0, sec0, ceiling, st,
                              aux, vec)
                if code < 0:
                    full = True
                    break
                moved = True
                if code == 1:  # the shares follow, once all entries are patched
                    k = d - dofs[D_CAP]
                    _mark(dirty, ofs[O_CAP] + k)
                    _mark(dirty, ofs[O_PEND] + k)
                else:
                    _mark(dirty, _entry_row(d, ofs, dofs))
                sums |= _sums_moved(d, dofs, swing, n_n)
                relations_moved = relations_moved or d < dofs[D_AFF]
            if full:
                break
    if full:
        if emp:
            for d in range(n_d):
                here = effects[i, a, d] + events[t, d]
                for w in range(nw):
                    delta[d, w] = others[d, w] + here
        else:
            for d in range(n_d):
                here = effects[i, a, d]
                for w in range(nw):
                    delta[d, w] = base[d, w] + (here - effects[i, last[i, w], d])
        _advance(x, delta, xc, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, st,
                 util, tmp, vec, work[19], False)
        dirty[0] = -1
        return
    if not moved:  # every lane repeats its last action: the base month itself
        for s in range(n_s):
            for w in range(nw):
                util[s, w] = ub[s, w]
        for w in range(nw):
            vec[V_EXPO, w] = vec[V_EXPB, w]
        return
    if sums & M_CAPACITY:  # capacity moved: the shares follow
        _route_target(xc, ofs[O_CAP], tmp, 0, n_k, st[1], vec)
        adj, o_share = sc[SHARE_ADJ], ofs[O_SHARE]
        for k in range(n_k):
            for w in range(nw):
                sh = x[o_share + k, w]
                xc[o_share + k, w] = sh + adj * (tmp[k, w] - sh)
            _mark(dirty, o_share + k)
    if not relations_moved:  # the tension reads only the relations: the base month's
        for w in range(nw):
            vec[V_TENS, w] = vec[V_TENSB, w]
    _align(x, xc, ofs, sc, trade, anchor, rel0, st, util, tmp, 0, vec, not relations_moved,
           work[19], 2, sums)
    for s in range(n_s):
        _mark(dirty, ofs[O_ALIGN] + s)


@njit(**_INLINE)
def _restore(xc, xb, dirty, n_rows):
    """Make ``xc`` the base next state ``xb`` again (rows below ``n_rows``): only the rows the
    last candidate wrote (``dirty[1:1 + dirty[0]]``), or all of them after a full advance or a
    new base month (``dirty[0] < 0``). Cheaper than a copy per candidate: a patch writes 5-12
    of ~80 rows."""
    nw = xc.shape[1]
    if dirty[0] < 0:
        for j in range(n_rows):
            for w in range(nw):
                xc[j, w] = xb[j, w]
    else:
        for m in range(1, dirty[0] + 1):
            j = dirty[m]
            for w in range(nw):
                xc[j, w] = xb[j, w]
    dirty[0] = 0


@njit(**_INLINE)
def _mark(dirty, row):
    """Note that the candidate wrote ``row`` (all rows, if the list is full)."""
    if dirty[0] >= 0:
        if dirty[0] + 1 < dirty.shape[0]:
            dirty[0] += 1
            dirty[dirty[0]] = row
        else:
            dirty[0] = -1


@njit(**_INLINE)
def _sums_moved(d, dofs, swing, n_n):
    """Which sums of the utilities (:func:`_utility`) a patch of effect entry ``d`` moves."""
    if d >= dofs[D_DEF]:
        return 0
    if d >= dofs[D_THR]:
        return M_ROUTES  # the revenue at risk, not the shares
    if d >= dofs[D_CAP]:
        return M_ROUTES | M_CAPACITY
    if d >= dofs[D_SEC]:
        return M_SEC
    if d >= dofs[D_INV]:
        return M_INV
    if d >= dofs[D_AFF]:
        return 0
    return M_REL if (d - dofs[D_REL]) // n_n == swing else 0


@njit(**_INLINE)
def _entry_row(d, ofs, dofs):
    """The state row a non-halt, non-capacity effect entry ``d`` patches (:func:`_patch`)."""
    if d >= dofs[D_DEF]:
        return ofs[O_DEF]
    if d >= dofs[D_THR]:
        return ofs[O_THR] + d - dofs[D_THR]
    if d >= dofs[D_SEC]:
        return ofs[O_SEC] + d - dofs[D_SEC]
    if d >= dofs[D_INV]:
        return ofs[O_INV] + d - dofs[D_INV]
    if d >= dofs[D_AFF]:
        return ofs[O_AFF] + d - dofs[D_AFF]
    return ofs[O_REL] + d - dofs[D_REL]


@njit(**_INLINE)
def _rollout(i, h_max, x, pp, st, work):
    """The discounted value over ``h_max`` months, into ``vec[V_VAL]``, of a candidate whose first
    month is in ``work[6]`` with payoff ``vec[V_PAY]``: actor ``i`` plays ``none`` after it, the
    others as believed (``work[4]``), and no later event is foreseen."""
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, wts, cost, repeat = pp[:13]
    others, xc, xr, xs, util, tmp, vec, ca = work[4], work[6], work[7], work[8], work[9], \
        work[10], work[15], work[16]
    nw = x.shape[1]
    o_use = ofs[O_USE]
    d_disc = sc[DISCOUNT]
    for j in range(o_use):
        for w in range(nw):
            xr[j, w] = xc[j, w]
    for w in range(nw):
        vec[V_VAL, w] = vec[V_PAY, w]
        vec[V_TOT, w] = 0.0
        ca[0, w] = 0
    for h in range(1, h_max):
        _advance(xr, others, xs, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling,
                 st, util, tmp, vec, work[19], False)
        _payoff(xs, x, ofs, i, ca, 0, util, wts, cost, repeat, st, vec)
        dh = d_disc ** h
        for w in range(nw):
            vec[V_TOT, w] += dh * vec[V_PAY, w]
        for j in range(o_use):
            for w in range(nw):
                xr[j, w] = xs[j, w]
    dsum = 0.0
    for h in range(h_max):
        dsum += d_disc ** h
    for w in range(nw):
        vec[V_VAL, w] = (vec[V_VAL, w] + vec[V_TOT, w]) / dsum


@njit(**_JIT)
def _choose(q, i, rule, temperature, spread, prop, allowed_row, u, acts, p, vec):
    """Actor ``i``'s draw in every lane (``numpy_kernel.choice.choose``): probabilities over its
    actions into ``p (A, W)`` from ``q (N, A, W)`` (or the propensities ``prop``), then the
    inverse-CDF index of ``u[w]`` into ``acts[i, w]``."""
    q, prop, allowed_row, u = _borrowed(q), _borrowed(prop), _borrowed(allowed_row), _borrowed(u)
    acts, p, vec = _borrowed(acts), _borrowed(p), _borrowed(vec)
    n_a, nw = q.shape[1], q.shape[2]
    if rule == 3:  # roth_erev
        for a in range(n_a):
            on = allowed_row[a]
            for w in range(nw):
                p[a, w] = max(prop[i, a, w], 1e-12) if on else 0.0
    elif rule == 1 or rule == 2:  # best response, ties at random
        for w in range(nw):
            vec[V_HI, w] = -np.inf
        for a in range(n_a):
            for w in range(nw):
                vec[V_HI, w] = max(vec[V_HI, w], q[i, a, w])
        for a in range(n_a):
            for w in range(nw):
                p[a, w] = 1.0 if q[i, a, w] >= vec[V_HI, w] - TIE_TOL else 0.0
    elif math.isinf(temperature) and not spread:  # logit at infinite temperature: uniform
        for a in range(n_a):
            for w in range(nw):
                p[a, w] = 1.0 if math.isfinite(q[i, a, w]) else 0.0
    else:  # logit
        for w in range(nw):
            vec[V_TEMP, w] = temperature
        if spread:
            for w in range(nw):
                vec[V_HI, w] = -np.inf
                vec[V_LO, w] = np.inf
            for a in range(n_a):
                for w in range(nw):
                    v = q[i, a, w]
                    fin = math.isfinite(v)
                    vec[V_HI, w] = max(vec[V_HI, w], v) if fin else vec[V_HI, w]
                    vec[V_LO, w] = min(vec[V_LO, w], v) if fin else vec[V_LO, w]
            for w in range(nw):
                vec[V_TEMP, w] = temperature * max(vec[V_HI, w] - vec[V_LO, w], TIE_TOL)
        for w in range(nw):
            vec[V_ZMAX, w] = -np.inf
        for a in range(n_a):
            for w in range(nw):
                vec[V_ZMAX, w] = max(vec[V_ZMAX, w], q[i, a, w] / vec[V_TEMP, w])
        for a in range(n_a):
            for w in range(nw):
                p[a, w] = _exp(q[i, a, w] / vec[V_TEMP, w] - vec[V_ZMAX, w])
    for w in range(nw):
        vec[V_ESUM, w] = 0.0
        vec[V_CDFL, w] = 0.0
        vec[V_CDF, w] = 0.0
        vec[V_IDX, w] = 0.0
    for a in range(n_a):
        for w in range(nw):
            vec[V_ESUM, w] += p[a, w]
    for a in range(n_a):
        for w in range(nw):
            p[a, w] = p[a, w] / vec[V_ESUM, w]
            vec[V_CDFL, w] += p[a, w]
    for a in range(n_a):
        for w in range(nw):
            vec[V_CDF, w] += p[a, w]
            vec[V_IDX, w] += 1.0 if vec[V_CDF, w] <= u[w] * vec[V_CDFL, w] else 0.0
    for w in range(nw):
        acts[i, w] = min(int(vec[V_IDX, w]), n_a - 1)


@njit(**_JIT)
def _play(x, acts, t, xn, pp, st, real, work):
    """The month under the final joint action (``numpy_kernel.dynamics.step_payoffs``), every
    lane: ``x -> xn``, realised payoffs ``real (N, W)``, uses remembered."""
    x, acts, xn, real = _borrowed(x), _borrowed(acts), _borrowed(xn), _borrowed(real)
    pp, st, work = _borrowed(pp), _borrowed(st), _borrowed(work)
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, wts, cost, repeat, effects, \
        events = pp
    delta, util, tmp, vec = work[5], work[9], work[10], work[15]
    n_n, n_a, n_d = effects.shape
    nw = x.shape[1]
    o_use = ofs[O_USE]
    for d in range(n_d):
        for w in range(nw):
            delta[d, w] = 0.0
        for n in range(n_n):
            for w in range(nw):
                delta[d, w] += effects[n, acts[n, w], d]
        if t >= 0:
            ev = events[t, d]
            for w in range(nw):
                delta[d, w] = delta[d, w] + ev
    _advance(x, delta, xn, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, st,
             util, tmp, vec, work[19], False)
    for n in range(n_n):
        _payoff(xn, x, ofs, n, acts, n, util, wts, cost, repeat, st, vec)
        for w in range(nw):
            real[n, w] = vec[V_PAY, w]
    keep = 1.0 - sc[USE_DECAY]
    for j in range(n_n * n_a):
        for w in range(nw):
            xn[o_use + j, w] = x[o_use + j, w] * keep
    for n in range(n_n):
        for w in range(nw):
            xn[o_use + n * n_a + acts[n, w], w] += 1.0


@njit(**_JIT)
def _remember(acts, real, q, rules, recency, last, counts, prop):
    """:func:`alignsim.kernel.decisions.remember` for every lane, in place."""
    n_n, n_a, nw = q.shape
    for n in range(n_n):
        for w in range(nw):
            act = acts[n, w]
            last[n, w] = act
            counts[n, act, w] += 1.0
        if rules[n] == 3:
            for w in range(nw):
                worst = np.inf
                for a in range(n_a):
                    if math.isfinite(q[n, a, w]):
                        worst = min(worst, q[n, a, w])
                reward = max(real[n, w] - worst, 0.0)
                for a in range(n_a):
                    prop[n, a, w] = (1.0 - recency) * prop[n, a, w]
                prop[n, acts[n, w], w] += reward


# ---------------------------------------------------------------------------- the run
@njit(**_JIT)
def _point(pk, p):
    """Point ``p``'s parameters (the shared offsets, then each per-point array's row ``p``)."""
    return (pk[0], pk[1], pk[2][p], pk[3][p], pk[4][p], pk[5][p], pk[6][p], pk[7][p], pk[8][p],
            pk[9][p], pk[10][p], pk[11][p], pk[12][p], pk[13][p], pk[14][p])


@njit(**_JIT)
def _work(n_n, n_a, n_d, n_l, n_s, n_k, nw):
    """Scratch arrays of one group of ``nw`` lanes (allocated once per group, reused every
    month)."""
    return (np.empty((0, 0, 0)), np.empty((n_d, nw)), np.empty((n_n, n_d, nw)),
            np.empty((n_d, nw)), np.empty((n_d, nw)), np.empty((n_d, nw)), np.empty((n_l, nw)),
            np.empty((n_l, nw)), np.empty((n_l, nw)), np.empty((n_s, nw)),
            np.empty((4 * n_k + 2 * n_n + 2 * n_s, nw)), np.empty((n_d, nw)),
            np.empty((n_l, nw)), np.empty((n_s, nw)), np.empty((2 * n_n, nw)),
            np.empty((N_VEC, nw)), np.zeros((1, nw), dtype=np.int64),
            np.zeros(n_a, dtype=np.bool_), np.full(n_l + 1, -1, dtype=np.int64),
            np.empty((5 * n_s + 1, nw)))


@njit(**_JIT)
def _group_work(pk, st, n_l, nw):
    """:func:`_work` for the batch's shapes."""
    n_n, n_a, n_d = pk[13].shape[1], pk[13].shape[2], pk[13].shape[3]
    return _work(n_n, n_a, n_d, n_l, pk[3].shape[1], st[7].shape[1], nw)


@njit(parallel=True, **_JIT)
def _simulate(order, groups, uniforms, x0, pk, st, ctl, allowed, forced, spread, temps, rec):
    """Run every row of the batch from its point's initial state through all months.

    ``pk``: the per-point parameter arrays (leading axis P). Group ``g`` runs the rows
    ``order[groups[g, 1]:groups[g, 1] + groups[g, 2]]`` (at most :data:`LANES`, all of point
    ``groups[g, 0]``) as lanes; row ``b`` draws from ``uniforms[b] (T, N)``. ``rec``: output
    arrays, each of size 0 when not asked for: states ``(T+1, B, F)`` at the flat indices
    ``rec[0]``, actions, realised payoffs, expected payoffs, per-row action counts and payoff
    sums, final states; then ``rec[8]``, the output row of row 0 (row ``b`` is recorded at
    ``rec[8] + b``)."""
    n_n, n_a, n_l = forced.shape[1], allowed.shape[1], x0.shape[1]
    for g in prange(groups.shape[0]):
        p, start, nw = groups[g, 0], groups[g, 1], groups[g, 2]
        x = np.empty((n_l, nw))
        counts = np.empty((n_n, n_a, nw))
        prop = np.empty((n_n, n_a, nw))
        for w in range(nw):
            for j in range(n_l):
                x[j, w] = x0[p, j]
            for n in range(n_n):
                for a in range(n_a):
                    counts[n, a, w] = 1.0 if allowed[n, a] else 0.0
                    prop[n, a, w] = counts[n, a, w]
        # the group's own arrays live here, for the whole of :func:`_group` (which borrows them)
        own = (x, np.empty((n_l, nw)), np.zeros((n_n, nw), dtype=np.int64), counts, prop,
               np.empty((n_n, n_a, nw)), np.empty((n_n, nw), dtype=np.int64),
               np.empty((n_n, nw)), np.empty((n_a, nw)), np.empty(nw),
               order[start:start + nw].copy())
        _group(p, own, _group_work(pk, st, n_l, nw), uniforms, pk, st, ctl, allowed, forced,
               spread, temps, rec)


@njit(**_JIT)
def _group(p, own, work, uniforms, pk, st, ctl, allowed, forced, spread, temps, rec):
    """One group's rows (lanes ``w`` = rows ``own[10][w]``, all of point ``p``) through all
    months; ``own``: their state, memory and scratch."""
    own, work, uniforms, pk, st, ctl = (_borrowed(own), _borrowed(work), _borrowed(uniforms),
                                        _borrowed(pk), _borrowed(st), _borrowed(ctl))
    allowed, forced, temps, rec = (_borrowed(allowed), _borrowed(forced), _borrowed(temps),
                                   _borrowed(rec))
    x, xn, last, counts, prop, q, acts, real, pr, u_row, rows = own
    idx, r_x, r_final, at = rec[0], rec[1], rec[7], rec[8]
    n_t, n_n = uniforms.shape[1], forced.shape[1]  # the run's months (pack checks forced)
    n_l, nw = x.shape[0], x.shape[1]
    rules = ctl[2]
    pp = _point(pk, p)
    if r_x.shape[0] > 0:
        for w in range(nw):
            for f in range(idx.shape[0]):
                r_x[0, at + rows[w], f] = x[idx[f], w]
    for t in range(n_t):
        _values(x, last, counts, t, pp, st, ctl, q, work)
        for i in range(n_n):
            for w in range(nw):
                u_row[w] = uniforms[rows[w], t, i]
            _choose(q, i, rules[i], temps[p, i], spread, prop, allowed[i], u_row, acts, pr,
                    work[15])
            if forced[t, i] >= 0:
                for w in range(nw):
                    acts[i, w] = forced[t, i]
        _play(x, acts, t, xn, pp, st, real, work)
        _remember(acts, real, q, rules, pp[2][RECENCY], last, counts, prop)
        for j in range(n_l):
            for w in range(nw):
                x[j, w] = xn[j, w]
        _record(t, x, acts, real, q, rows, rec)
    if r_final.shape[0] > 0:
        for w in range(nw):
            for j in range(n_l):
                r_final[at + rows[w], j] = x[j, w]


@njit(**_INLINE)
def _record(t, x, acts, real, q, rows, rec):
    """Month ``t``'s records of the group's rows (each output array is empty when not asked)."""
    idx, r_x, r_act, r_pay, r_q, r_counts, r_paysum, _, at = rec
    n_n, n_a, nw = q.shape
    for w in range(nw):
        b = at + rows[w]
        if r_x.shape[0] > 0:
            for f in range(idx.shape[0]):
                r_x[t + 1, b, f] = x[idx[f], w]
        if r_act.shape[0] > 0:
            for i in range(n_n):
                r_act[t, b, i] = acts[i, w]
                r_pay[t, b, i] = real[i, w]
        if r_q.shape[0] > 0:
            for i in range(n_n):
                for a in range(n_a):
                    r_q[t, b, i, a] = q[i, a, w]
        if r_counts.shape[0] > 0:
            for i in range(n_n):
                r_counts[b, i, acts[i, w]] += 1
                r_paysum[b, i] += real[i, w]


# ------------------------------------------------------------------------ Python side
def state_offsets(n_s: int, n_k: int, n_n: int, n_a: int) -> np.ndarray:
    """Start of each :data:`STATE_FIELDS` entry in the flat state, plus the total length."""
    sizes = (n_s, n_k, n_k, n_k, n_k, n_k, n_n, n_n, n_n * n_n, n_s, n_n, 1, 1, n_k, n_n * n_a)
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def field_index(ofs: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Flat-state indices of the named fields, concatenated in the given order."""
    parts = [np.arange(ofs[STATE_FIELDS.index(f)], ofs[STATE_FIELDS.index(f) + 1]) for f in names]
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def unsupported_rules(spec) -> list[str]:
    """Rules the compiled kernel does not run (the stage game's ``equilibrium``)."""
    return sorted({r for r in spec.rules if r not in RULE_CODES})


def lane_groups(point: np.ndarray, lanes: int = LANES) -> tuple[np.ndarray, np.ndarray]:
    """The rows of each point in groups of at most ``lanes``: ``(order, groups)``, ``order`` the
    rows sorted by point (stable), ``groups[g] = (point, start in order, size)``. Which rows
    share a group changes no result (each lane computes alone); it only sets the SIMD width."""
    order = np.argsort(point, kind="stable").astype(np.int64)
    sorted_points = point[order]
    cuts = np.flatnonzero(np.diff(sorted_points)) + 1
    groups = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(point)], strict=True):
        for start in range(int(lo), int(hi), lanes):
            groups.append((int(sorted_points[lo]), start, min(lanes, int(hi) - start)))
    return order, np.asarray(groups, dtype=np.int64).reshape(-1, 3)


# ------------------------------------------------------- one month, for the step-wise users
@njit(parallel=True, **_JIT)
def values_rows(xs, last, counts, t, pk, point, st, ctl, q):
    """Expected payoffs ``q (R, N, A)`` of rows ``xs (R, L)`` at month ``t`` (the Mesa driver,
    the stage game's replay, the room: one month at a time, the same arithmetic as a run, each
    row a group of one lane)."""
    n_l, n_n, n_a = xs.shape[1], q.shape[1], q.shape[2]
    for b in prange(xs.shape[0]):
        x = np.empty((n_l, 1))
        lb = np.empty((n_n, 1), dtype=np.int64)
        cb = np.empty((n_n, n_a, 1))
        qb = np.empty((n_n, n_a, 1))
        for j in range(n_l):
            x[j, 0] = xs[b, j]
        for n in range(n_n):
            lb[n, 0] = last[b, n]
            for a in range(n_a):
                cb[n, a, 0] = counts[b, n, a]
        _values(x, lb, cb, t, _point(pk, point[b]), st, ctl, qb, _group_work(pk, st, n_l, 1))
        for n in range(n_n):
            for a in range(n_a):
                q[b, n, a] = qb[n, a, 0]


@njit(parallel=True, **_JIT)
def play_rows(xs, acts, t, pk, point, st, out, real):
    """Rows ``xs`` one month on under joint actions ``acts (R, N)`` (``t < 0``: no events)."""
    n_l, n_n = xs.shape[1], acts.shape[1]
    for b in prange(xs.shape[0]):
        x = np.empty((n_l, 1))
        xn = np.empty((n_l, 1))
        ab = np.empty((n_n, 1), dtype=np.int64)
        rb = np.empty((n_n, 1))
        for j in range(n_l):
            x[j, 0] = xs[b, j]
        for n in range(n_n):
            ab[n, 0] = acts[b, n]
        _play(x, ab, t, xn, _point(pk, point[b]), st, rb, _group_work(pk, st, n_l, 1))
        for j in range(n_l):
            out[b, j] = xn[j, 0]
        for n in range(n_n):
            real[b, n] = rb[n, 0]


@njit(**_JIT)
def choose_rows(q, rule, temperature, spread, prop, allowed, u, choice, p):
    """One actor's draws over rows: ``choice (R,)`` and the probabilities ``p (R, A)`` (the rows
    as the lanes of one group)."""
    n_r, n_a = q.shape
    ql = np.empty((1, n_a, n_r))
    pl = np.empty((1, n_a, n_r))
    for b in range(n_r):
        for a in range(n_a):
            ql[0, a, b] = q[b, a]
            pl[0, a, b] = prop[b, a]
    acts = np.empty((1, n_r), dtype=np.int64)
    probs = np.empty((n_a, n_r))
    _choose(ql, 0, rule, temperature, spread, pl, allowed, u, acts, probs, np.empty((N_VEC, n_r)))
    for b in range(n_r):
        choice[b] = acts[0, b]
        for a in range(n_a):
            p[b, a] = probs[a, b]
