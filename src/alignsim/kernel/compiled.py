"""The compiled kernel: whole runs, one replicate per parallel iteration (numba).

Why numba (docs/model.md §7.10 has the measurements): the month is a few thousand scalar
operations on ~150 numbers per replicate, repeated for every candidate action; as NumPy over a
replicate axis each operation is a tiny array temporary, so the interpreter and memory traffic
dominate. Compiled, a replicate's whole state sits in cache, the loop over candidates and months
runs without temporaries, and replicates are spread over cores with ``prange``. The arithmetic is
the NumPy kernel's (the tests' oracle, ``tests/numpy_kernel/``: ``dynamics``, ``lookahead``,
``choice``), operation for operation; ``tests/test_compiled.py`` checks that
the two agree within 1e-9 on every decision rule. ``fastmath`` is off, so results are
deterministic and do not depend on the number of threads or on which rows share a call.

Layout. A replicate's state is one flat vector (offsets in :class:`Packed`); a row of a batch
carries the index of its parameter point, so one call runs P points x R replicates, each point
with its own numeric parameters (weights, costs, effects, rates, initial state, event magnitudes)
and a shared structure (actors, spheres, routes, actions, event dates, rules, horizons).
"""

from __future__ import annotations

import math

import numpy as np
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


# ------------------------------------------------------------------------------ routes
@njit(**_INLINE)
def _route_target(cap, co, out, oo, n_k, primary):
    """:func:`alignsim.kernel.anchor.route_target` of capacities ``cap[co:co+K]`` into
    ``out[oo:oo+K]`` (offsets, not slices: a slice is an array object, with its reference count,
    built on every call)."""
    total = 0.0
    for k in range(n_k):
        out[oo + k] = 0.0 if k == primary else cap[co + k]
        total += out[oo + k]
    d = max(total, 1.0)
    s = 0.0
    for k in range(n_k):
        out[oo + k] = out[oo + k] / d
        s += out[oo + k]
    out[oo + primary] = max(1.0 - s, 0.0)


# --------------------------------------------------------------------------- alignment
@njit(**_INLINE)
def _utility(x, ofs, sc, trade, anchor, st, util, tmp, o):
    """Sphere utilities (incl. the rest anchor) into ``util``; returns the exposure.

    ``st`` is the structure tuple; ``tmp[o:o+2K]`` scratch."""
    swing, primary, membership, mnorm, route_via, route_membership = st[0], st[1], st[3], st[4], \
        st[5], st[6]
    n_s, n_n = membership.shape
    n_k = route_via.shape[0]
    c = o + n_k  # committed shares, then the revenue at risk on each route
    for k in range(n_k):
        tmp[o + k] = min(x[ofs[O_CAP] + k] + x[ofs[O_PEND] + k], 1.0)
    _route_target(tmp, o, tmp, c, n_k, primary)
    exposure = 0.0
    for k in range(n_k):
        tmp[c + k] = tmp[c + k] * x[ofs[O_THR] + route_via[k]]  # at risk
        exposure += tmp[c + k]
    rel_row = ofs[O_REL] + swing * n_n
    for s in range(n_s):
        route_ties = 0.0
        risk = 0.0
        for k in range(n_k):
            route_ties += x[ofs[O_SHARE] + k] * route_membership[s, k]
            risk += tmp[c + k] * route_membership[s, k]
        inv = 0.0
        sec = 0.0
        rel = 0.0
        for n in range(n_n):
            inv += x[ofs[O_INV] + n] * membership[s, n]
            sec += x[ofs[O_SEC] + n] * membership[s, n]
            rel += x[rel_row + n] * mnorm[s, n]
        ties = trade[s] + route_ties + inv / sc[INV_SCALE]
        u = (sc[A_ECON] * ties + sc[A_SEC] * sec + sc[A_AFF] * x[ofs[O_AFF] + s]
             + sc[A_REL] * rel - sc[A_EXP] * risk)
        util[s] = u + anchor[s]
    return exposure


@njit(**_INLINE)
def _tension(x, ofs, rel0, swing, n_n):
    """``numpy_kernel.dynamics.partner_tension`` of one replicate."""
    row = ofs[O_REL] + swing * n_n
    total = 0.0
    for i in range(n_n):
        fi = 0.0 if i == swing else max(x[row + i], 0.0)
        if i == swing or fi == 0.0:
            continue
        pulled = 0.0
        for j in range(n_n):
            if j == swing:
                continue
            fj = max(x[row + j], 0.0)
            rift = max(rel0[i, j] - x[ofs[O_REL] + i * n_n + j], 0.0)
            pulled += rift * fj
        total += pulled * fi
    return 0.5 * total


# --------------------------------------------------------------------------- transition
@njit(**_JIT)
def _advance(x, delta, out, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, st,
             util, tmp):
    """``numpy_kernel.dynamics.advance`` of one replicate: ``x`` -> ``out``.

    Writes the new state's sphere utilities into ``util``; returns ``(exposure, tension)``.
    ``usage`` is carried over unchanged (the played actions move it, in :func:`_play`).
    ``tmp``: scratch of at least 4K + 2N floats; on return ``tmp[2K:2K+N]`` holds each actor's
    grievance loss and ``tmp[2K+N:2K+2N]`` the coercion the swing state saw (the look-ahead's
    patches reuse them, :func:`_patch`)."""
    x, delta, out, ofs, dofs, sc = (_borrowed(x), _borrowed(delta), _borrowed(out), _borrowed(ofs),
                                    _borrowed(dofs), _borrowed(sc))
    trade, anchor, rel0, aff0, inv0, sec0 = (_borrowed(trade), _borrowed(anchor), _borrowed(rel0),
                                             _borrowed(aff0), _borrowed(inv0), _borrowed(sec0))
    ceiling, st, util, tmp = _borrowed(ceiling), _borrowed(st), _borrowed(util), _borrowed(tmp)
    # offsets as local integers: loads the compiler cannot hoist past stores otherwise
    o_share = ofs[O_SHARE]
    o_cap = ofs[O_CAP]
    o_pend = ofs[O_PEND]
    o_halt = ofs[O_HALT]
    o_sev = ofs[O_SEV]
    o_inv = ofs[O_INV]
    o_sec = ofs[O_SEC]
    o_rel = ofs[O_REL]
    o_aff = ofs[O_AFF]
    o_thr = ofs[O_THR]
    o_def = ofs[O_DEF]
    o_pain = ofs[O_PAIN]
    o_flow = ofs[O_FLOW]
    o_use = ofs[O_USE]
    o_end = ofs[O_END]
    d_rel = dofs[D_REL]
    d_aff = dofs[D_AFF]
    d_inv = dofs[D_INV]
    d_sec = dofs[D_SEC]
    d_cap = dofs[D_CAP]
    d_thr = dofs[D_THR]
    d_def = dofs[D_DEF]
    d_hm = dofs[D_HM]
    d_hl = dofs[D_HL]
    swing, primary, route_actor = st[0], st[1], st[7]
    n_n = route_actor.shape[0]
    n_k = route_actor.shape[1]
    n_s = trade.shape[0]
    sv, so, ho = 0, n_k, 2 * n_k  # tmp: new severities, stopped fractions, grievance, seen
    # 1. additive effects
    for j in range(n_n * n_n):
        out[o_rel + j] = x[o_rel + j] + delta[d_rel + j]
    for s in range(n_s):
        out[o_aff + s] = x[o_aff + s] + delta[d_aff + s]
    for n in range(n_n):
        out[o_inv + n] = x[o_inv + n] + delta[d_inv + n]
        out[o_sec + n] = x[o_sec + n] + delta[d_sec + n]
        out[o_thr + n] = x[o_thr + n] + delta[d_thr + n]
    for k in range(n_k):
        committed = delta[d_cap + k]
        if math.isfinite(ceiling[k]):  # diminishing returns toward the route's ceiling
            used = (x[o_cap + k] + x[o_pend + k]) / ceiling[k]
            committed = committed * max(1.0 - used, 0.0)
        out[o_pend + k] = x[o_pend + k] + committed
    defiance = x[o_def] + delta[d_def]
    # 2. halts
    pain = 0.0
    for k in range(n_k):
        months = delta[d_hm + k]
        sev = x[o_sev + k]
        tmp[sv + k] = 0.0
        if months > 0:
            tmp[sv + k] = delta[d_hl + k] / months
            sev = max(tmp[sv + k], sev)
        halt = max(x[o_halt + k], months)
        tmp[so + k] = sev * min(halt, 1.0)
        lost = x[o_share + k] * tmp[so + k]
        pain += lost
        out[o_flow + k] = x[o_share + k] - lost
        out[o_halt + k] = halt
        out[o_sev + k] = sev
    out[o_pain] = pain
    # 3. threat learned, grievance
    prior = sc[PRIOR]
    for n in range(n_n):
        seen = 0.0
        hurt = 0.0
        for k in range(n_k):
            seen += tmp[sv + k] * min(delta[d_hm + k], 1.0) * route_actor[n, k]
            hurt += tmp[so + k] * route_actor[n, k]
        seen = min(seen, 1.0)
        tmp[ho + n_n + n] = seen
        th = prior + (out[o_thr + n] - prior) * (1.0 - sc[DECAY])
        th = th + sc[LEARN] * seen * (1.0 - th)
        out[o_thr + n] = min(max(th, 0.0), 1.0)
        tmp[ho + n] = min(hurt, 1.0) * sc[GRIEV]
    for j in range(n_n):
        out[o_rel + swing * n_n + j] -= tmp[ho + j]
    for i in range(n_n):
        out[o_rel + i * n_n + swing] -= tmp[ho + i]
    # 4. reversion toward the starting structure
    rr = sc[REL_REV]
    for i in range(n_n):
        for j in range(n_n):
            v = out[o_rel + i * n_n + j] * (1.0 - rr) + rr * rel0[i, j]
            out[o_rel + i * n_n + j] = min(max(v, -1.0), 1.0)
    for s in range(n_s):
        v = out[o_aff + s] * (1.0 - sc[AFF_REV]) + sc[AFF_REV] * aff0[s]
        out[o_aff + s] = min(max(v, 0.0), 1.0)
    for n in range(n_n):
        v = out[o_inv + n] * (1.0 - sc[INV_REV]) + sc[INV_REV] * inv0[n]
        out[o_inv + n] = max(v, 0.0)
        v = out[o_sec + n] * (1.0 - sc[SEC_REV]) + sc[SEC_REV] * sec0[n]
        out[o_sec + n] = min(max(v, 0.0), 1.0)
    out[o_def] = defiance * (1.0 - sc[DEF_DECAY])
    # 5. capacity arrives, halts run down, shares follow capacity
    for k in range(n_k):
        pend = out[o_pend + k]
        arriving = pend / sc[LAG]
        out[o_cap + k] = min(max(x[o_cap + k] + arriving, 0.0), 1.0)
        out[o_pend + k] = pend - arriving
        halt = max(out[o_halt + k] - 1.0, 0.0)
        out[o_halt + k] = halt
        if not halt > 0:
            out[o_sev + k] = 0.0
    _route_target(out, o_cap, tmp, sv, n_k, primary)  # reuse: target of the new capacity
    for k in range(n_k):
        sh = x[o_share + k]
        out[o_share + k] = sh + sc[SHARE_ADJ] * (tmp[sv + k] - sh)
    for j in range(o_use, o_end):
        out[j] = x[j]
    # 6. alignment follows the utilities of the new structure
    return _align(x, out, ofs, sc, trade, anchor, rel0, st, util, tmp, ho + 2 * n_n)


@njit(**_INLINE)
def _align(x, out, ofs, sc, trade, anchor, rel0, st, util, tmp, o):
    """Step 6 of :func:`_advance`: the new structure's utilities and tension move the alignment
    of ``x`` part of the way to its logit target, into ``out``; ``(exposure, tension)``."""
    swing = st[0]
    n_n = st[7].shape[0]
    n_s = trade.shape[0]
    exposure = _utility(out, ofs, sc, trade, anchor, st, util, tmp, o)
    tension = _tension(out, ofs, rel0, swing, n_n)
    temp = sc[A_TEMP]
    zmax = -np.inf
    for s in range(n_s):
        zmax = max(zmax, util[s] / temp)
    esum = 0.0
    for s in range(n_s):
        tmp[o + s] = math.exp(util[s] / temp - zmax)
        esum += tmp[o + s]
    eta = sc[A_INERTIA] / (1.0 + sc[A_HEDGE] * tension)
    for s in range(n_s):
        out[ofs[O_ALIGN] + s] = (1.0 - eta) * x[ofs[O_ALIGN] + s] + eta * (tmp[o + s] / esum)
    return exposure, tension


@njit(**_INLINE)
def _patch(x, base, dd, d, out, ofs, dofs, sc, rel0, aff0, inv0, sec0, ceiling, st, aux):
    """Recompute the one entry of ``out`` (the base next state) that effect entry ``d`` moves,
    for the month's effects ``base[d] + dd`` instead of ``base[d]``: the same operations as
    :func:`_advance` on that entry, so the result equals a full advance. Returns 1 if route
    capacity moved (the shares must then follow), -1 if ``d`` is a halt entry (not patchable:
    halts couple routes, threat and relations), else 0."""
    swing = st[0]
    n_n = st[7].shape[0]
    v0 = base[d] + dd
    if d >= dofs[D_HM]:
        return -1
    if d >= dofs[D_DEF]:
        out[ofs[O_DEF]] = (x[ofs[O_DEF]] + v0) * (1.0 - sc[DEF_DECAY])
    elif d >= dofs[D_THR]:
        n = d - dofs[D_THR]
        prior = sc[PRIOR]
        th = prior + (x[ofs[O_THR] + n] + v0 - prior) * (1.0 - sc[DECAY])
        th = th + sc[LEARN] * aux[n_n + n] * (1.0 - th)  # aux: grievance, then seen
        out[ofs[O_THR] + n] = min(max(th, 0.0), 1.0)
    elif d >= dofs[D_CAP]:
        k = d - dofs[D_CAP]
        committed = v0
        if math.isfinite(ceiling[k]):
            used = (x[ofs[O_CAP] + k] + x[ofs[O_PEND] + k]) / ceiling[k]
            committed = committed * max(1.0 - used, 0.0)
        pend = x[ofs[O_PEND] + k] + committed
        arriving = pend / sc[LAG]
        out[ofs[O_CAP] + k] = min(max(x[ofs[O_CAP] + k] + arriving, 0.0), 1.0)
        out[ofs[O_PEND] + k] = pend - arriving
        return 1
    elif d >= dofs[D_SEC]:
        n = d - dofs[D_SEC]
        v = (x[ofs[O_SEC] + n] + v0) * (1.0 - sc[SEC_REV]) + sc[SEC_REV] * sec0[n]
        out[ofs[O_SEC] + n] = min(max(v, 0.0), 1.0)
    elif d >= dofs[D_INV]:
        n = d - dofs[D_INV]
        v = (x[ofs[O_INV] + n] + v0) * (1.0 - sc[INV_REV]) + sc[INV_REV] * inv0[n]
        out[ofs[O_INV] + n] = max(v, 0.0)
    elif d >= dofs[D_AFF]:
        s = d - dofs[D_AFF]
        v = (x[ofs[O_AFF] + s] + v0) * (1.0 - sc[AFF_REV]) + sc[AFF_REV] * aff0[s]
        out[ofs[O_AFF] + s] = min(max(v, 0.0), 1.0)
    else:
        j = d - dofs[D_REL]
        r, c = j // n_n, j % n_n
        v = x[ofs[O_REL] + j] + v0
        if r == swing:
            v -= aux[c]
        if c == swing:
            v -= aux[r]
        v = v * (1.0 - sc[REL_REV]) + sc[REL_REV] * rel0[r, c]
        out[ofs[O_REL] + j] = min(max(v, -1.0), 1.0)
    return 0


# ------------------------------------------------------------------------------ payoffs
@njit(**_INLINE)
def _payoff(x, ofs, i, act_i, util, exposure, wts, cost, repeat, st):
    """Actor ``i``'s payoff (``numpy_kernel.dynamics.payoffs``) having played ``act_i``."""
    swing, actor_sphere, route_actor, punitive = st[0], st[2], st[7], st[8]
    n_n, n_k = route_actor.shape
    n_a = cost.shape[1]
    n_s = util.shape[0]
    sph = actor_sphere[i]
    own = x[ofs[O_ALIGN] + sph] if sph >= 0 else 0.0
    position = 0.0
    sq = 0.0
    for s in range(n_s):
        a = x[ofs[O_ALIGN] + s]
        position += a * util[s]
        sq += a * a
    sovereignty = 1.0 - math.exp(-max(x[ofs[O_DEF]], 0.0))
    transit = 0.0
    for k in range(n_k):
        transit += x[ofs[O_FLOW] + k] * route_actor[i, k]
    punish = punitive[act_i] * x[ofs[O_DEF]]
    c = cost[i, act_i] * (1.0 + repeat[act_i] * x[ofs[O_USE] + i * n_a + act_i])
    return (wts[W_ALIGN, i] * own + wts[W_UTIL, i] * position + wts[W_AUTON, i] * (1.0 - sq)
            + wts[W_SOV, i] * sovereignty + wts[W_REV, i] * (1.0 - x[ofs[O_PAIN]])
            - wts[W_EXP, i] * exposure + wts[W_TRANSIT, i] * transit
            + wts[W_REL, i] * x[ofs[O_REL] + swing * n_n + i] + wts[W_PUNISH, i] * punish - c)


# ------------------------------------------------------------------------- decisions
@njit(**_JIT)
def _believed(effects, last, counts, empirical, e, e_sum):
    """Belief-weighted effect vector of each actor into ``e (N, D)`` and their sum ``e_sum``:
    the last actions' effects, or (``empirical``) the effects weighted by past frequencies."""
    n_n, n_a, n_d = effects.shape
    for d in range(n_d):
        e_sum[d] = 0.0
    for n in range(n_n):
        if empirical:
            tot = 0.0
            for a in range(n_a):
                tot += counts[n, a]
            for d in range(n_d):
                v = 0.0
                for a in range(n_a):
                    v += counts[n, a] / tot * effects[n, a, d]
                e[n, d] = v
        else:
            for d in range(n_d):
                e[n, d] = effects[n, last[n], d]
        for d in range(n_d):
            e_sum[d] += e[n, d]


@njit(**_JIT)
def _values(x, last, counts, t, pp, st, ctl, q, work):
    """Expected payoff ``q (N, A)`` of every candidate (``numpy_kernel.lookahead.
    lookahead``): its own effects and the month's events plus the others' believed effects,
    one month (or the actor's horizon, playing ``none`` afterwards, discounted).

    Why it is fast: with ``last`` beliefs every candidate's month is one base month (everyone
    repeats their last action) plus the few entries in which the candidate's action differs from
    its last one (an action moves 3-9 of ~70 entries), so the base month is advanced once and
    each candidate patches a copy (:func:`_patch`) and recomputes only what depends on all
    entries (utilities, tension, alignment); a candidate repeating its last action is the base
    itself. A candidate touching a halt (which couples routes, threat and relations) and
    empirical beliefs take the full advance."""
    x, last, counts, q = _borrowed(x), _borrowed(last), _borrowed(counts), _borrowed(q)
    pp, st, ctl, work = _borrowed(pp), _borrowed(st), _borrowed(ctl), _borrowed(work)
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, wts, cost, repeat, effects, \
        events = pp
    cand_i, cand_a, rules, horizons, any_emp = ctl[0], ctl[1], ctl[2], ctl[3], ctl[4]
    e_last, s_last, e_emp, s_emp, others = work[0], work[1], work[2], work[3], work[4]
    xc, util, tmp, base, xb, ub, aux = work[6], work[9], work[10], work[11], work[12], work[13], \
        work[14]
    n_n, n_d = effects.shape[0], effects.shape[2]
    n_k = ceiling.shape[0]
    _believed(effects, last, counts, False, e_last, s_last)
    if any_emp:
        _believed(effects, last, counts, True, e_emp, s_emp)
    for d in range(n_d):
        base[d] = s_last[d] + events[t, d]
    exposure_b, _ = _advance(x, base, xb, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0,
                             ceiling, st, ub, tmp)
    for n in range(2 * n_n):
        aux[n] = tmp[2 * n_k + n]
    for n in range(q.shape[0]):
        for a in range(q.shape[1]):
            q[n, a] = -np.inf
    for j in range(cand_i.shape[0]):
        i, a = cand_i[j], cand_a[j]
        emp = rules[i] == 2
        e = e_emp if emp else e_last
        es = s_emp if emp else s_last
        for d in range(n_d):
            others[d] = es[d] - e[i, d]
        exposure = _candidate_state(x, i, a, last[i], emp, base, xb, exposure_b, ub, aux, e,
                                    others, t, pp, st, ctl, work)
        v = _payoff(xc, ofs, i, a, util, exposure, wts, cost, repeat, st)
        if horizons[i] > 1:
            v = _rollout(v, i, horizons[i], pp, st, work)
        q[i, a] = v


@njit(**_INLINE)
def _candidate_state(x, i, a, last_i, emp, base, xb, exposure_b, ub, aux, e, others, t, pp, st,
                     ctl, work):
    """Candidate ``(i, a)``'s next state into ``work[6]`` and its utilities into ``work[9]``;
    returns its exposure. Patches the base month where it can (see :func:`_values`)."""
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling = pp[:10]
    effects, events = pp[13], pp[14]
    nz, nz_len = ctl[5], ctl[6]
    delta, xc, util, tmp = work[5], work[6], work[9], work[10]
    n_d, n_s, n_k = effects.shape[2], trade.shape[0], ceiling.shape[0]
    for j in range(xb.shape[0]):
        xc[j] = xb[j]
    full = emp
    moved = False
    if not full:
        for pass_ in range(2):  # the entries of the candidate's action, then of its last one
            act = a if pass_ == 0 else last_i
            for m in range(nz_len[i, act]):
                d = nz[i, act, m]
                dd = effects[i, a, d] - effects[i, last_i, d]
                if dd == 0.0:
                    continue
                code = _patch(x, base, dd, d, xc, ofs, dofs, sc, rel0, aff0, inv0, sec0,
                              ceiling, st, aux)
                if code < 0:
                    full = True
                    break
                moved = True
                if code == 1:
                    _route_target(xc, ofs[O_CAP], tmp, 0, n_k, st[1])
                    for k in range(n_k):
                        sh = x[ofs[O_SHARE] + k]
                        xc[ofs[O_SHARE] + k] = sh + sc[SHARE_ADJ] * (tmp[k] - sh)
            if full:
                break
    if full:
        for d in range(n_d):
            delta[d] = others[d] + (effects[i, a, d] + events[t, d])
        exposure, _ = _advance(x, delta, xc, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0,
                               sec0, ceiling, st, util, tmp)
        return exposure
    if not moved:  # repeats its last action: the base month itself
        for s in range(n_s):
            util[s] = ub[s]
        return exposure_b
    exposure, _ = _align(x, xc, ofs, sc, trade, anchor, rel0, st, util, tmp, 0)
    return exposure


@njit(**_INLINE)
def _rollout(v, i, h_max, pp, st, work):
    """The discounted value over ``h_max`` months of a candidate whose first month is in
    ``work[6]`` with payoff ``v``: actor ``i`` plays ``none`` after it, the others as believed
    (``work[4]``), and no later event is foreseen."""
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, wts, cost, repeat = pp[:13]
    others, xc, xr, xs, util, tmp = work[4], work[6], work[7], work[8], work[9], work[10]
    d_disc = sc[DISCOUNT]
    for j in range(xc.shape[0]):
        xr[j] = xc[j]
    total = 0.0
    for h in range(1, h_max):
        exposure, _ = _advance(xr, others, xs, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0,
                               sec0, ceiling, st, util, tmp)
        total += d_disc ** h * _payoff(xs, ofs, i, 0, util, exposure, wts, cost, repeat, st)
        for j in range(xs.shape[0]):
            xr[j] = xs[j]
    dsum = 0.0
    for h in range(h_max):
        dsum += d_disc ** h
    return (v + total) / dsum


@njit(**_JIT)
def _choose(q_row, rule, temperature, spread, prop_row, allowed_row, u, p):
    """One actor's draw (``numpy_kernel.choice.choose``): probabilities into ``p``,
    then the inverse-CDF index of ``u``."""
    n_a = q_row.shape[0]
    if rule == 3:  # roth_erev
        for a in range(n_a):
            p[a] = max(prop_row[a], 1e-12) if allowed_row[a] else 0.0
    elif rule == 1 or rule == 2:  # best response, ties at random
        mx = -np.inf
        for a in range(n_a):
            mx = max(mx, q_row[a])
        for a in range(n_a):
            p[a] = 1.0 if q_row[a] >= mx - TIE_TOL else 0.0
    else:  # logit
        temp = temperature
        if spread:
            hi, lo = -np.inf, np.inf
            for a in range(n_a):
                if math.isfinite(q_row[a]):
                    hi = max(hi, q_row[a])
                    lo = min(lo, q_row[a])
            temp = temp * max(hi - lo, TIE_TOL)
        if math.isinf(temp) and not spread:
            for a in range(n_a):
                p[a] = 1.0 if math.isfinite(q_row[a]) else 0.0
        else:
            zmax = -np.inf
            for a in range(n_a):
                zmax = max(zmax, q_row[a] / temp)
            for a in range(n_a):
                p[a] = math.exp(q_row[a] / temp - zmax)
    total = 0.0
    for a in range(n_a):
        total += p[a]
    cdf = 0.0
    for a in range(n_a):
        p[a] = p[a] / total
    cdf_last = 0.0
    for a in range(n_a):
        cdf_last += p[a]
    idx = 0
    for a in range(n_a):
        cdf += p[a]
        if cdf <= u * cdf_last:
            idx += 1
    return min(idx, n_a - 1)


@njit(**_JIT)
def _play(x, acts, t, xn, pp, st, real, work):
    """The month under the final joint action (``numpy_kernel.dynamics.step_payoffs``):
    ``x -> xn``, realised payoffs into ``real``, uses remembered."""
    x, acts, xn, real = _borrowed(x), _borrowed(acts), _borrowed(xn), _borrowed(real)
    pp, st, work = _borrowed(pp), _borrowed(st), _borrowed(work)
    ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0, ceiling, wts, cost, repeat, effects, \
        events = pp
    delta, util, tmp = work[5], work[9], work[10]
    n_n, n_a, n_d = effects.shape
    for d in range(n_d):
        v = 0.0
        for n in range(n_n):
            v += effects[n, acts[n], d]
        delta[d] = v + events[t, d] if t >= 0 else v
    exposure, _ = _advance(x, delta, xn, ofs, dofs, sc, trade, anchor, rel0, aff0, inv0, sec0,
                           ceiling, st, util, tmp)
    for n in range(n_n):
        real[n] = _payoff(xn, ofs, n, acts[n], util, exposure, wts, cost, repeat, st)
    keep = 1.0 - sc[USE_DECAY]
    for j in range(n_n * n_a):
        xn[ofs[O_USE] + j] = x[ofs[O_USE] + j] * keep
    for n in range(n_n):
        xn[ofs[O_USE] + n * n_a + acts[n]] += 1.0


@njit(**_JIT)
def _remember(acts, real, q, rules, recency, last, counts, prop):
    """:func:`alignsim.kernel.decisions.remember` for one replicate, in place."""
    n_n, n_a = q.shape
    for n in range(n_n):
        last[n] = acts[n]
        counts[n, acts[n]] += 1.0
        if rules[n] == 3:
            worst = np.inf
            for a in range(n_a):
                if math.isfinite(q[n, a]):
                    worst = min(worst, q[n, a])
            reward = max(real[n] - worst, 0.0)
            for a in range(n_a):
                prop[n, a] = (1.0 - recency) * prop[n, a]
            prop[n, acts[n]] += reward


# ---------------------------------------------------------------------------- the run
@njit(**_JIT)
def _point(pk, p):
    """Point ``p``'s parameters (the shared offsets, then each per-point array's row ``p``)."""
    return (pk[0], pk[1], pk[2][p], pk[3][p], pk[4][p], pk[5][p], pk[6][p], pk[7][p], pk[8][p],
            pk[9][p], pk[10][p], pk[11][p], pk[12][p], pk[13][p], pk[14][p])


@njit(**_JIT)
def _work(n_n, n_d, n_l, n_s):
    """Scratch arrays of one replicate (allocated once per row, reused every month)."""
    return (np.empty((n_n, n_d)), np.empty(n_d), np.empty((n_n, n_d)), np.empty(n_d),
            np.empty(n_d), np.empty(n_d), np.empty(n_l), np.empty(n_l), np.empty(n_l),
            np.empty(n_s), np.empty(8 * n_l), np.empty(n_d), np.empty(n_l), np.empty(n_s),
            np.empty(2 * n_n))


@njit(parallel=True, **_JIT)
def _simulate(point, uniforms, x0, pk, st, ctl, allowed, forced, spread, temps, rec):
    """Run every row ``b`` of the batch from its point's initial state through all months.

    ``pk``: the per-point parameter arrays (leading axis P); row ``b`` uses point ``point[b]``
    and the uniforms ``uniforms[b] (T, N)``. ``rec``: output arrays, each of size 0 when not
    asked for: states ``(T+1, B, F)`` at the flat indices ``rec[0]``, actions, realised payoffs,
    expected payoffs, per-row action counts and payoff sums, final states."""
    n_n, n_a, n_l = forced.shape[1], allowed.shape[1], x0.shape[1]
    n_d = pk[13].shape[3]
    for b in prange(point.shape[0]):
        p = point[b]
        # the row's own arrays live here, for the whole of :func:`_row` (which borrows them)
        own = (x0[p].copy(), np.empty(n_l), np.zeros(n_n, dtype=np.int64),
               allowed.astype(np.float64), allowed.astype(np.float64), np.empty((n_n, n_a)),
               np.empty(n_n, dtype=np.int64), np.empty(n_n), np.empty(n_a))
        _row(b, p, own, _work(n_n, n_d, n_l, pk[3].shape[1]), uniforms, pk, st, ctl, allowed,
             forced, spread, temps, rec)


@njit(**_JIT)
def _row(b, p, own, work, uniforms, pk, st, ctl, allowed, forced, spread, temps, rec):
    """Row ``b`` (point ``p``) through all months; ``own``: its state, memory and scratch."""
    own, work, uniforms, pk, st, ctl = (_borrowed(own), _borrowed(work), _borrowed(uniforms),
                                        _borrowed(pk), _borrowed(st), _borrowed(ctl))
    allowed, forced, temps, rec = (_borrowed(allowed), _borrowed(forced), _borrowed(temps),
                                   _borrowed(rec))
    x, xn, last, counts, prop, q, acts, real, pr = own
    idx, r_x, r_act, r_pay, r_q, r_counts, r_paysum, r_final = rec
    n_t, n_n = uniforms.shape[1], forced.shape[1]  # the run's months (pack checks forced)
    n_l = x.shape[0]
    pp = _point(pk, p)
    if r_x.shape[0] > 0:
        for f in range(idx.shape[0]):
            r_x[0, b, f] = x[idx[f]]
    for t in range(n_t):
        _values(x, last, counts, t, pp, st, ctl, q, work)
        for i in range(n_n):
            acts[i] = _choose(q[i], ctl[2][i], temps[p, i], spread, prop[i], allowed[i],
                              uniforms[b, t, i], pr)
            if forced[t, i] >= 0:
                acts[i] = forced[t, i]
        _play(x, acts, t, xn, pp, st, real, work)
        _remember(acts, real, q, ctl[2], pk[2][p][RECENCY], last, counts, prop)
        for j in range(n_l):
            x[j] = xn[j]
        if r_x.shape[0] > 0:
            for f in range(idx.shape[0]):
                r_x[t + 1, b, f] = x[idx[f]]
        if r_act.shape[0] > 0:
            for i in range(n_n):
                r_act[t, b, i] = acts[i]
                r_pay[t, b, i] = real[i]
        if r_q.shape[0] > 0:
            r_q[t, b] = q
        if r_counts.shape[0] > 0:
            for i in range(n_n):
                r_counts[b, i, acts[i]] += 1
                r_paysum[b, i] += real[i]
    if r_final.shape[0] > 0:
        for j in range(n_l):
            r_final[b, j] = x[j]


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


# ------------------------------------------------------- one month, for the step-wise users
@njit(parallel=True, **_JIT)
def values_rows(xs, last, counts, t, pk, point, st, ctl, q):
    """Expected payoffs ``q (R, N, A)`` of rows ``xs (R, L)`` at month ``t`` (the Mesa driver,
    the stage game's replay, the room: one month at a time, the same arithmetic as a run)."""
    n_n, n_d = pk[13].shape[1], pk[13].shape[3]
    for b in prange(xs.shape[0]):
        work = _work(n_n, n_d, xs.shape[1], pk[3].shape[1])
        _values(xs[b], last[b], counts[b], t, _point(pk, point[b]), st, ctl, q[b], work)


@njit(parallel=True, **_JIT)
def play_rows(xs, acts, t, pk, point, st, out, real):
    """Rows ``xs`` one month on under joint actions ``acts (R, N)`` (``t < 0``: no events)."""
    n_n, n_d = pk[13].shape[1], pk[13].shape[3]
    for b in prange(xs.shape[0]):
        work = _work(n_n, n_d, xs.shape[1], pk[3].shape[1])
        _play(xs[b], acts[b], t, out[b], _point(pk, point[b]), st, real[b], work)


@njit(**_JIT)
def choose_rows(q, rule, temperature, spread, prop, allowed, u, choice, p):
    """One actor's draws over rows: ``choice (R,)`` and the probabilities ``p (R, A)``."""
    for b in range(q.shape[0]):
        choice[b] = _choose(q[b], rule, temperature, spread, prop[b], allowed, u[b], p[b])
