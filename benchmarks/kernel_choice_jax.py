"""JAX (jit, float64) as a candidate compiled kernel: a whole `history` run per replicate.

The one-month logit rule (`scenario=history policy=logit`) is ported to JAX: `lax.scan` over the
months of one replicate (every allowed (actor, action) candidate valued by a one-month advance,
logit choice by inverse CDF with the month's uniform, forced actions, the real step and the
memory of uses), then `jax.jit(jax.vmap(run_one))` over replicates. The uniforms are alignsim's
own (`replicate_uniforms`), so the trajectories are checked against `run_ensemble` (axis to
1e-9, identical actions) at R = 64 before anything is timed.

Measured: compile time (first call), runs/s at R = 10,000 (median of 3 after compile) as one
batch and in fixed chunks of 256 replicates (the headline figure: one compiled shape for every R,
cache-sized), alignsim's own `run_ensemble` runs/s for reference (whatever kernel the tree has),
determinism (two calls bit-identical; the first 64 replicates of R = 10,000 against the same
replicates run alone), and runs/s with the CPU split into two XLA devices (a child process with
`XLA_FLAGS=--xla_force_host_platform_device_count=2`, each chunk sharded across them). Printed
last: one JSON object with ``jax_runs_per_s``, ``jax_compile_s``, ``replicates``,
``max_axis_diff``, ``actions_identical`` and ``jax_version`` (nulls if JAX is not importable).

JAX is not a dependency of alignsim; it lives in a separate venv:
    python3.12 -m venv /tmp/jaxvenv      # any Python 3.12 (here: under pyenv)
    /tmp/jaxvenv/bin/pip install "jax[cpu]" numpy==2.5.5
    /tmp/jaxvenv/bin/pip install -c constraints.txt -e . --no-deps  (plus alignsim's dependencies)
Usage: /tmp/jaxvenv/bin/python benchmarks/kernel_choice_jax.py [--replicates 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import NamedTuple

import numpy as np

from alignsim.config import compose_config
from alignsim.ensemble import run_ensemble
from alignsim.kernel.anchor import rest_anchor
from alignsim.kernel.spec import Spec, compile_spec
from alignsim.kernel.step import replicate_uniforms

NULL_RESULT = {
    "jax_runs_per_s": None,
    "jax_compile_s": None,
    "replicates": None,
    "max_axis_diff": None,
    "actions_identical": None,
    "jax_version": None,
}

try:
    import jax
    import jax.numpy as jnp
    from jax import lax
except ImportError:  # pragma: no cover - the main venv has no JAX
    jax = None

CHECK_REPLICATES = 64


class JState(NamedTuple):
    """One replicate's world state (no replicate axis); the fields of `alignsim.kernel.State`."""

    alignment: object
    share: object
    capacity: object
    pending: object
    halt: object
    severity: object
    investment: object
    security: object
    relations: object
    affinity: object
    threat: object
    defiance: object
    pain: object
    flow: object
    usage: object


def initial_jstate(spec: Spec) -> JState:
    """The configured start of one replicate, as float64 JAX arrays."""
    k, n, a = spec.n_routes, spec.n_actors, spec.n_actions
    f = lambda x: jnp.asarray(x, dtype=jnp.float64)  # noqa: E731
    return JState(
        alignment=f(spec.alignment0), share=f(spec.share0), capacity=f(spec.capacity0),
        pending=jnp.zeros(k), halt=jnp.zeros(k), severity=jnp.zeros(k),
        investment=f(spec.investment0), security=f(spec.security0), relations=f(spec.relations0),
        affinity=f(spec.affinity0), threat=jnp.full(n, spec.dyn["threat_prior"]),
        defiance=jnp.zeros(()), pain=jnp.zeros(()), flow=f(spec.share0), usage=jnp.zeros((n, a)),
    )


class Kernel:
    """The arithmetic of `numpy_kernel.dynamics` (the tests' NumPy kernel), one replicate, in JAX.

    The spec's tables become constants of the traced program; the candidate (actor, action) pairs
    are fixed index arrays (the same order as `decisions.candidate_pairs`), so every gather has a
    static shape.
    """

    def __init__(self, spec: Spec) -> None:
        if any(r != "logit" for r in spec.rules):
            raise SystemExit("kernel_choice_jax: only the logit rule is ported")
        horizons = spec.horizons if spec.horizons is not None else np.zeros(spec.n_actors)
        if spec.horizon != 1 or np.any(np.asarray(horizons) > 1):
            raise SystemExit("kernel_choice_jax: only the one-month look-ahead is ported")
        self.spec = spec
        self.sl = spec.layout.slices
        self.n = spec.n_actors
        self.ci, self.ca = np.nonzero(spec.allowed)
        self.effects = jnp.asarray(spec.effects)
        m = spec.membership
        self.rel_weights = jnp.asarray((m / m.sum(axis=1, keepdims=True)).T)
        self.anchor = jnp.asarray(rest_anchor(spec))
        repeat = spec.repeat_cost
        self.repeat = None if repeat is None or not repeat.any() else jnp.asarray(repeat)
        ceiling = spec.ceiling
        self.capped = None
        if ceiling is not None and np.isfinite(ceiling).any():
            self.capped = np.isfinite(ceiling)
            self.ceiling = jnp.asarray(np.where(self.capped, ceiling, 1.0))

    # ------------------------------------------------------------------ structure
    def route_target(self, capacity):
        """Alternatives full, the primary route takes the rest (`anchor.route_target`)."""
        p = self.spec.primary_route
        alt = capacity.at[p].set(0.0)
        alt = alt / jnp.maximum(alt.sum(), 1.0)
        return alt.at[p].set(jnp.maximum(1.0 - alt.sum(), 0.0))

    def sphere_utility(self, s: JState):
        """Sphere utilities ``(S,)`` with the rest anchor, and the exposure (a scalar)."""
        spec, a = self.spec, self.spec.align
        m = spec.membership
        ties = (spec.trade + s.share @ spec.route_membership.T
                + (s.investment @ m.T) / spec.dyn["investment_scale_bn"])
        security = s.security @ m.T
        rel = s.relations[spec.swing, :] @ self.rel_weights
        committed = self.route_target(jnp.minimum(s.capacity + s.pending, 1.0))
        at_risk = committed * s.threat[spec.route_via]
        risk = at_risk @ spec.route_membership.T
        u = (a["econ"] * ties + a["security"] * security + a["affinity"] * s.affinity
             + a["relations"] * rel - a["exposure"] * risk)
        return u + self.anchor, at_risk.sum()

    def tension(self, relations):
        """Feuding among the swing state's partners (`numpy_kernel.dynamics.partner_tension`)."""
        swing = self.spec.swing
        friend = jnp.maximum(relations[swing, :], 0.0).at[swing].set(0.0)
        rift = jnp.maximum(self.spec.relations0 - relations, 0.0)
        rift = rift.at[swing, :].set(0.0).at[:, swing].set(0.0)
        return 0.5 * ((rift @ friend) * friend).sum()

    def align_step(self, alignment, utility, tension):
        """Part of the way toward the logit target (`numpy_kernel.dynamics.align_step`)."""
        a = self.spec.align
        z = utility / a["temperature"]
        e = jnp.exp(z - z.max())
        eta = a["inertia"] / (1.0 + a["hedging"] * tension)
        return (1.0 - eta) * alignment + eta * (e / e.sum())

    def built(self, s: JState, committed):
        """Capacity the commitments add, with headroom below a route's ceiling (`_built`)."""
        if self.capped is None:
            return committed
        used = (s.capacity + s.pending) / self.ceiling
        return committed * jnp.where(self.capped, jnp.maximum(1.0 - used, 0.0), 1.0)

    # ------------------------------------------------------------------ transition
    def halts(self, s: JState, delta):
        """Step 2 of `advance`: new halts, the stoppage, pain and flow; also the observed halt."""
        new_months, new_load = delta[self.sl["halt_months"]], delta[self.sl["halt_load"]]
        starting = new_months > 0
        new_sev = jnp.where(starting, new_load / jnp.where(starting, new_months, 1.0), 0.0)
        severity = jnp.where(starting, jnp.maximum(new_sev, s.severity), s.severity)
        halt = jnp.maximum(s.halt, new_months)
        stopped = severity * jnp.minimum(halt, 1.0)
        lost = s.share * stopped
        observed = new_sev * jnp.minimum(new_months, 1.0)
        return severity, halt, stopped, lost.sum(), s.share - lost, observed

    def advance(self, s: JState, delta):
        """One month under effects ``delta (D,)``: ``(next state, utility, exposure)``."""
        spec, sl, d, n, swing = self.spec, self.sl, self.spec.dyn, self.n, self.spec.swing
        rel = s.relations + delta[sl["relations"]].reshape(n, n)
        pending = s.pending + self.built(s, delta[sl["capacity"]])
        threat = s.threat + delta[sl["threat"]]
        severity, halt, stopped, pain, flow, observed = self.halts(s, delta)
        observed = jnp.minimum(observed @ spec.route_actor.T, 1.0)
        prior = d["threat_prior"]
        threat = prior + (threat - prior) * (1.0 - d["threat_decay"])
        threat = jnp.clip(threat + d["threat_learning"] * observed * (1.0 - threat), 0.0, 1.0)
        hurt = jnp.minimum(stopped @ spec.route_actor.T, 1.0) * d["halt_grievance"]
        rel = rel.at[swing, :].add(-hurt).at[:, swing].add(-hurt)
        arriving = pending / d["capacity_lag_months"]
        capacity = jnp.clip(s.capacity + arriving, 0.0, 1.0)
        halt = jnp.maximum(halt - 1.0, 0.0)
        nxt = JState(
            alignment=s.alignment,
            share=s.share + d["share_adjustment"] * (self.route_target(capacity) - s.share),
            capacity=capacity, pending=pending - arriving, halt=halt,
            severity=jnp.where(halt > 0, severity, 0.0),
            investment=_revert(s.investment + delta[sl["investment"]], spec.investment0,
                               d["investment_reversion"], 0.0, None),
            security=_revert(s.security + delta[sl["security"]], spec.security0,
                             d["security_reversion"], 0.0, 1.0),
            relations=_revert(rel, spec.relations0, d["relations_reversion"], -1.0, 1.0),
            affinity=_revert(s.affinity + delta[sl["affinity"]], spec.affinity0,
                             d["affinity_reversion"], 0.0, 1.0),
            threat=threat,
            defiance=(s.defiance + delta[sl["defiance"]][0]) * (1.0 - d["defiance_decay"]),
            pain=pain, flow=flow, usage=s.usage,
        )
        utility, exposure = self.sphere_utility(nxt)
        alignment = self.align_step(s.alignment, utility, self.tension(nxt.relations))
        return nxt._replace(alignment=alignment), utility, exposure

    # ------------------------------------------------------------------ payoffs
    def payoffs(self, s: JState, actions, utility, exposure):
        """Every actor's payoff ``(N,)`` after ``actions (N,)`` (`numpy_kernel`'s `payoffs`)."""
        spec, w = self.spec, self.spec.weights
        sphere = spec.actor_sphere
        own = jnp.where(sphere >= 0, s.alignment[np.maximum(sphere, 0)], 0.0)
        position = (s.alignment * utility).sum()
        autonomy = 1.0 - (s.alignment**2).sum()
        sovereignty = 1.0 - jnp.exp(-jnp.maximum(s.defiance, 0.0))
        punitive = jnp.asarray(spec.punitive)[actions] * s.defiance
        return (w["align"] * own + w["utility"] * position + w["autonomy"] * autonomy
                + w["sovereignty"] * sovereignty + w["revenue"] * (1.0 - s.pain)
                - w["exposure"] * exposure + w["transit"] * (s.flow @ spec.route_actor.T)
                + w["relations"] * s.relations[spec.swing, :] + w["punish"] * punitive
                - self.costs(s, actions))

    def costs(self, s: JState, actions):
        """Action costs raised by remembered uses (`numpy_kernel.dynamics.action_costs`)."""
        n = np.arange(self.n)
        base = jnp.asarray(self.spec.cost)[n, actions]
        if self.repeat is None:
            return base
        return base * (1.0 + self.repeat[actions] * s.usage[n, actions])

    # ------------------------------------------------------------------ decisions
    def expected(self, s: JState, last, event):
        """``q (N, A)``: every allowed candidate's one-month value, ``-inf`` elsewhere."""
        ci, ca = self.ci, self.ca
        e = self.effects[np.arange(self.n), last]  # (N, D) the others' last moves
        others = e.sum(axis=0)[None, :] - e[ci]
        delta = others + (self.effects[ci, ca] + event[None, :])
        acts = jnp.broadcast_to(last, (len(ci), self.n)).at[np.arange(len(ci)), ci].set(ca)

        def value(d, a):
            nxt, utility, exposure = self.advance(s, d)
            return self.payoffs(nxt, a, utility, exposure)

        pay = jax.vmap(value)(delta, acts)[np.arange(len(ci)), ci]
        q = jnp.full((self.n, self.spec.n_actions), -jnp.inf)
        return q.at[ci, ca].set(pay)

    def choose(self, q, u):
        """Logit choice of every actor by inverse CDF (`policies.sample`, `decide_actor`)."""
        temperature = jnp.asarray(self.spec.temperature)[:, None]
        if self.spec.temperature_scale == "spread":
            ok = jnp.isfinite(q)
            hi = jnp.where(ok, q, -jnp.inf).max(axis=1, keepdims=True)
            lo = jnp.where(ok, q, jnp.inf).min(axis=1, keepdims=True)
            temperature = temperature * jnp.maximum(hi - lo, 1e-12)
        z = q / temperature
        e = jnp.exp(z - z.max(axis=1, keepdims=True))
        cdf = jnp.cumsum(e / e.sum(axis=1, keepdims=True), axis=1)
        idx = (cdf <= u[:, None] * cdf[:, -1:]).sum(axis=1)
        return jnp.minimum(idx, q.shape[1] - 1)

    def month(self, carry, xs):
        """One month of one replicate: choose, force, act, remember (`step.month_step`)."""
        s, last = carry
        event, forced, u = xs
        chosen = self.choose(self.expected(s, last, event), u)
        actions = jnp.where(forced >= 0, forced, chosen)
        delta = self.effects[np.arange(self.n), actions].sum(axis=0) + event
        nxt, _, _ = self.advance(s, delta)
        usage = (s.usage * (1.0 - self.spec.dyn.get("usage_decay", 0.1))).at[
            np.arange(self.n), actions].add(1.0)
        return (nxt._replace(usage=usage), actions), (nxt.alignment, actions)

    def run_one(self, uniforms):
        """A whole run of one replicate from its uniforms ``(T, N)``: alignments and actions."""
        spec = self.spec
        start = (initial_jstate(spec), jnp.zeros(self.n, dtype=jnp.int64))
        xs = (jnp.asarray(spec.event_effects), jnp.asarray(spec.forced), uniforms)
        _, (alignment, actions) = lax.scan(self.month, start, xs)
        return alignment, actions


def _revert(x, base, rate, lo, hi):
    """``clip(x + rate * (base - x))`` in `numpy_kernel.dynamics._revert`'s order of operations."""
    x = x * (1.0 - rate) + rate * base
    x = jnp.maximum(x, lo)
    return x if hi is None else jnp.minimum(x, hi)


# ---------------------------------------------------------------------- measurement
def load_spec():
    """The benchmarked configuration: `history` with every actor on the one-month logit rule."""
    cfg = compose_config(["scenario=history", "policy=logit"])
    return cfg, compile_spec(cfg)


def build(spec: Spec, devices: int = 1, chunk: int = 0):
    """``runner(uniforms (R, T, N)) -> (alignment (R, T, S), actions (R, T, N))`` as NumPy.

    With ``devices > 1`` the replicate axis is sharded across that many XLA CPU devices. With
    ``chunk > 0`` replicates run in fixed-size chunks (the last one padded), so one compiled
    shape serves every R and a replicate's bits do not depend on R (XLA's code, hence the last
    bit of a float, differs between batch shapes); small chunks also stay in cache.
    """
    fn = jax.jit(jax.vmap(Kernel(spec).run_one))
    call = fn
    if devices > 1:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(jax.devices()[:devices]), ("r",))
        sharding = NamedSharding(mesh, PartitionSpec("r"))
        call = lambda u: fn(jax.device_put(u, sharding))  # noqa: E731
    if chunk:
        return lambda u: _chunked(call, u, chunk)
    return lambda u: tuple(np.asarray(x) for x in jax.block_until_ready(call(u)))


def _chunked(fn, u: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Run ``fn`` over fixed-size chunks of ``u`` (the last padded by repeating a row)."""
    r = u.shape[0]
    pad = -r % chunk
    padded = np.concatenate([u, np.repeat(u[-1:], pad, axis=0)]) if pad else u
    outs = [fn(padded[lo:lo + chunk]) for lo in range(0, r + pad, chunk)]
    return tuple(np.concatenate([np.asarray(o[i]) for o in outs])[:r] for i in range(2))


def check(spec: Spec, seed: int, runner) -> dict:
    """Compare the JAX run with `run_ensemble` at R = 64: axis difference and actions."""
    traj = run_ensemble(spec, CHECK_REPLICATES, seed)
    u = replicate_uniforms(seed, range(CHECK_REPLICATES), spec.months, spec.n_actors)
    t0 = time.perf_counter()
    alignment, actions = runner(u)
    compile_s = time.perf_counter() - t0
    axis = spec.axis_of(alignment).T  # (T, R)
    diff = float(np.max(np.abs(axis - traj.axis[1:])))
    same = bool(np.array_equal(actions.transpose(1, 0, 2), traj.actions))
    return {"compile_s": compile_s, "max_axis_diff": diff, "actions_identical": same,
            "alignment": alignment, "actions": actions}


def timed(runner, u, repeats: int = 3) -> tuple[float, list, tuple]:
    """Median seconds of ``repeats`` calls (after a compile call), all times, last output."""
    out = runner(u)  # compile for this shape
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = runner(u)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def reference_runs_per_s(spec: Spec, seed: int, replicates: int = 1000) -> float:
    """alignsim's own `run_ensemble` runs/s (whatever kernel the tree has), after a warm-up."""
    run_ensemble(spec, 16, seed)
    t0 = time.perf_counter()
    run_ensemble(spec, replicates, seed)
    return replicates / (time.perf_counter() - t0)


def same_bits(a: tuple, b: tuple) -> bool:
    """Whether two ``(alignment, actions)`` outputs are bit-identical."""
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def prefix_report(out: tuple, small: tuple) -> str:
    """How the first replicates of a large run compare with the same replicates run alone."""
    n = small[0].shape[0]
    diff = float(np.max(np.abs(out[0][:n] - small[0])))
    return (f"bit-identical {same_bits((out[0][:n], out[1][:n]), small)}, max |diff| {diff:.3g}, "
            f"actions identical {bool(np.array_equal(out[1][:n], small[1]))}")


def child(replicates: int, devices: int, chunk: int) -> None:
    """Measure runs/s on ``devices`` forced XLA devices; prints one JSON line."""
    cfg, spec = load_spec()
    runner = build(spec, devices, chunk)
    u = replicate_uniforms(cfg.seed, range(replicates), spec.months, spec.n_actors)
    t0 = time.perf_counter()
    runner(u[:chunk])
    compile_s = time.perf_counter() - t0
    med, times, out = timed(runner, u)
    ref = build(spec, 1, chunk)(u[:CHECK_REPLICATES])
    print(json.dumps({"devices": len(jax.devices()), "compile_s": compile_s,
                      "runs_per_s": replicates / med, "times": times,
                      "same_as_one_device": same_bits((out[0][:CHECK_REPLICATES],
                                                        out[1][:CHECK_REPLICATES]), ref)}))


def sharded(replicates: int, chunk: int, devices: int = 2) -> dict | None:
    """Run :func:`child` in a fresh process with the CPU split into ``devices`` XLA devices."""
    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    cmd = [sys.executable, __file__, "--child", str(devices), "--replicates", str(replicates),
           "--chunk", str(chunk * devices)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        print(f"{devices}-device run failed: {proc.stderr.strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure(spec: Spec, seed: int, r: int, chunk: int, ok: dict) -> float:
    """Runs/s at R = ``r``, one batch and fixed chunks, with the determinism checks printed."""
    u = replicate_uniforms(seed, range(r), spec.months, spec.n_actors)
    small = (ok["alignment"], ok["actions"])
    rates = {}
    for label, size in (("one batch", 0), (f"chunks of {chunk}", chunk)):
        runner = build(spec, chunk=size)
        t0 = time.perf_counter()
        runner(u)
        first = time.perf_counter() - t0
        med, times, out = timed(runner, u)
        rates[size] = r / med
        print(f"R={r}, {label}: first call {first:.2f} s; runs "
              f"{', '.join(f'{t:.2f}' for t in times)} s -> {r / med:.0f} runs/s (median)")
        print(f"  two calls bit-identical: {same_bits(out, runner(u))}")
        alone = runner(u[:CHECK_REPLICATES]) if size else small
        print(f"  first {CHECK_REPLICATES} replicates vs run alone: {prefix_report(out, alone)}")
    return rates[chunk]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=256)
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if jax is None:
        print("kernel_choice_jax: jax is not importable; run it from a venv with jax[cpu] and "
              "alignsim installed (the docstring says how)")
        print(json.dumps(NULL_RESULT))
        return
    jax.config.update("jax_enable_x64", True)
    if args.child:
        child(args.replicates, args.child, args.chunk)
        return
    print(f"jax {jax.__version__}, devices {jax.devices()}, load {os.getloadavg()}")
    cfg, spec = load_spec()
    ok = check(spec, cfg.seed, build(spec))
    print(f"compile (first call, R={CHECK_REPLICATES}): {ok['compile_s']:.2f} s; "
          f"max |axis - run_ensemble| = {ok['max_axis_diff']:.3g}; "
          f"actions identical: {ok['actions_identical']}")
    r = args.replicates
    rate = measure(spec, cfg.seed, r, args.chunk, ok)
    print(f"alignsim run_ensemble (R=1000): {reference_runs_per_s(spec, cfg.seed):.0f} runs/s")
    two = sharded(r, args.chunk)
    if two is not None:
        print(f"2 XLA devices (chunks of {2 * args.chunk} sharded): compile "
              f"{two['compile_s']:.2f} s, {two['runs_per_s']:.0f} runs/s, "
              f"same bits as one device {two['same_as_one_device']}")
    print(f"load after: {os.getloadavg()}")
    print(json.dumps({"jax_runs_per_s": rate, "jax_compile_s": ok["compile_s"],
                      "replicates": r, "max_axis_diff": ok["max_axis_diff"],
                      "actions_identical": ok["actions_identical"],
                      "jax_version": jax.__version__}))


if __name__ == "__main__":
    main()
