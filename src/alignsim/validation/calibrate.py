"""Calibration: fit the "assumption" parameters to the 2022–2023 patterns with scipy.optimize.

Objective (documented in ``docs/validation.md``)::

    J(θ) = Σ_p e_p(θ)²  +  λ Σ_i ((θ_i − θ_i⁰) / (hi_i − lo_i))²

``e_p`` is pattern ``p``'s normalised error (:func:`alignsim.validation.patterns.evaluate`: signed
distance to the target in tolerances for ``approx``, shortfall in tolerances for one-sided and
most-replicates checks, 0 when met), over the patterns of split ``fit`` only; the 2024–2025
(``holdout``) patterns are then out-of-sample predictions. The second term is a weak pull toward
the lead's first guesses ``θ⁰``: several checks are one-sided, so a region of parameters meets
them equally well, and without the pull the optimiser would pick an arbitrary point of it.

Common random numbers: every candidate runs the same replicates with the same seed and key, so
differences between candidates come from the parameters, not from sampling noise — the search
sees a deterministic function. Candidates are applied by setting the dotted key in a copy of the
typed config and recompiling (~6 ms, exact for any key, and range-checked by the compiler), then
the spec is cut to the months the fit patterns need (the first months of a run do not depend on
its length: events and uniforms are laid out month by month).

Batches. Whenever the candidates the optimiser will ask for next are known in advance, they run
together (:meth:`Objective.prefetch`, through :func:`alignsim.ensemble.run_points`: several
candidates per compiled call) and the objective then answers from that store, in the optimiser's
own order, with the numbers a run per candidate gives. Known in advance are the defaults plus
differential evolution's initial population (read off a run of the same optimiser with
``maxiter=0`` on a stand-in function, which draws the same population from the same seed) or
Nelder–Mead's start simplex, and the start simplex of the polish. The generations of
differential evolution with ``updating="immediate"`` stay one candidate at a time: each trial
is built from the population as updated by the one before, so batching them would need
``updating="deferred"``, another search with other numbers.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from alignsim import __version__
from alignsim.ensemble import MAX_ROWS, PointRun, run_ensemble, run_points
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, Spec, compile_spec
from alignsim.tools import (
    Option,
    Tool,
    ToolArgs,
    get_config_value,
    out_option,
    set_config_value,
    set_config_values,
)
from alignsim.validation.patterns import (
    CalibrationConf,
    PatternConf,
    PatternResult,
    evaluate_all,
    required_months,
)

PROG = "alignsim-calibrate"
METHODS = ("differential_evolution", "nelder_mead")


# ---------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class FreeParameter:
    """A fitted parameter: its dotted config key, bounds and default (first guess)."""

    key: str
    lo: float
    hi: float
    default: float

    def to_unit(self, x: float) -> float:
        return (x - self.lo) / (self.hi - self.lo)

    def from_unit(self, u: float) -> float:
        return self.lo + float(np.clip(u, 0.0, 1.0)) * (self.hi - self.lo)


def free_parameters(cfg: Config, bounds: Mapping[str, Any]) -> list[FreeParameter]:
    """The free parameters of ``bounds`` (``{key: {lo, hi}}``) with defaults read from ``cfg``."""
    out = []
    for key, b in bounds.items():
        lo, hi = float(b.lo), float(b.hi)
        ck = f"validation.calibration.parameters.{key}"
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise ConfigError(ck, f"needs lo < hi, got lo={lo}, hi={hi}")
        default = get_config_value(cfg, key)
        if isinstance(default, bool) or not isinstance(default, int | float):
            raise ConfigError(ck, "is not a numeric config value")
        for v in (lo, hi):  # the compiler's own range checks, at both bounds
            compile_spec(set_config_value(cfg, key, v))
        out.append(FreeParameter(key, lo, hi, float(default)))
    if not out:
        raise ConfigError("validation.calibration.parameters", "at least one parameter is required")
    return out


def truncate_spec(spec: Spec, months: int) -> Spec:
    """The same spec run for its first ``months`` only (cheaper candidates)."""
    months = int(min(max(months, 1), spec.months))
    return dataclasses.replace(
        spec,
        months=months,
        event_effects=spec.event_effects[:months],
        forced=spec.forced[:months],
        event_names=spec.event_names[:months],
    )


# ----------------------------------------------------------------------------- objective
@dataclass
class Evaluation:
    x: np.ndarray
    value: float
    errors: np.ndarray
    seconds: float


@dataclass
class Objective:
    """``J(θ)`` over the ensemble driver with common random numbers (see module docstring)."""

    base: Config
    patterns: Mapping[str, PatternConf]
    params: Sequence[FreeParameter]
    replicates: int
    seed: int
    regularisation: float
    months: int = 0
    history: list[Evaluation] = field(default_factory=list)
    max_rows: int = MAX_ROWS  # candidates x replicates per compiled call of a batch
    runs: int = field(default=0, init=False)  # model runs made (prefetched ones when they ran)
    batched: int = field(default=0, init=False)  # of which in batches (prefetched)
    # prefetched candidates not yet asked for: bits of x -> [evaluation, calls it answers]
    _store: dict[bytes, list] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.patterns:
            raise ConfigError("validation.patterns", "no pattern to fit (split: fit)")
        spec = compile_spec(self.base)
        need = required_months(spec, self.patterns)
        if spec.months < need:
            raise ConfigError("months", f"the patterns need at least {need} months")
        self.months = need

    def config_at(self, x: Sequence[float]) -> Config:
        return set_config_values(self.base, {p.key: v for p, v in zip(self.params, x,
                                                                       strict=True)})

    def spec_at(self, x: Sequence[float]) -> Spec:
        return truncate_spec(compile_spec(self.config_at(x)), self.months)

    def results(self, x: Sequence[float]) -> list[PatternResult]:
        traj = run_ensemble(self.spec_at(x), self.replicates, self.seed)
        return evaluate_all(traj, self.patterns)

    def results_many(self, xs: Sequence[Sequence[float]]
                     ) -> Iterator[tuple[int, list[PatternResult]]]:
        """``(i, results(xs[i]))`` for every candidate, the same numbers, run as batches
        (:func:`alignsim.ensemble.run_points`); yielded as each batch finishes, in call order."""
        points = [PointRun(self.spec_at(x), self.replicates) for x in xs]
        for i, traj in run_points(points, self.seed, max_rows=self.max_rows):
            yield i, evaluate_all(traj, self.patterns)

    def penalty(self, x: Sequence[float]) -> float:
        d = [(v - p.default) / (p.hi - p.lo) for p, v in zip(self.params, x, strict=True)]
        return float(self.regularisation * np.sum(np.square(d)))

    def _evaluation(self, x: Sequence[float], results: list[PatternResult],
                    seconds: float) -> Evaluation:
        errors = np.array([p.error for p in results])
        value = float(np.sum(errors**2)) + self.penalty(x)
        return Evaluation(np.array(x, float), value, errors, seconds)

    def prefetch(self, xs: Sequence[Sequence[float]], *,
                 done: Callable[[Evaluation], None] | None = None) -> int:
        """Run the candidates ``xs`` the optimiser will ask for next, together; as many calls
        for each as it appears in ``xs`` are then answered from the store with the same numbers
        (a candidate asked for more often, or never prefetched, runs on its own). ``done`` sees
        each finished candidate's evaluation. Returns how many candidates ran."""
        uses = Counter(_key(x) for x in xs)
        todo: dict[bytes, list[float]] = {}
        for x in xs:
            k = _key(x)
            if k not in self._store:
                todo.setdefault(k, [float(v) for v in x])
        keys, cands = list(todo), list(todo.values())
        t0 = time.perf_counter()
        finished: dict[int, Evaluation] = {}
        for i, results in self.results_many(cands):
            finished[i] = self._evaluation(cands[i], results, 0.0)
            self.runs += 1
            self.batched += 1
            if done is not None:
                done(finished[i])
        seconds = (time.perf_counter() - t0) / max(len(cands), 1)  # the batch's time, shared
        for i, k in enumerate(keys):
            finished[i].seconds = seconds
            self._store[k] = [finished[i], 0]
        for k, n in uses.items():
            self._store[k][1] += n
        return len(cands)

    def __call__(self, x: Sequence[float]) -> float:
        k = _key(x)
        if k in self._store:
            hit, uses = self._store[k]
            if uses <= 1:
                del self._store[k]
            else:
                self._store[k][1] = uses - 1
            self.history.append(dataclasses.replace(hit, x=np.array(x, float)))
            return hit.value
        t0 = time.perf_counter()
        results = self.results(x)
        self.runs += 1
        ev = self._evaluation(x, results, 0.0)
        ev.seconds = time.perf_counter() - t0
        self.history.append(ev)
        return ev.value

    def unit(self, u: Sequence[float]) -> float:
        """``J`` over the unit cube (each parameter scaled to its bounds)."""
        return self(self.from_unit(u))

    def from_unit(self, u: Sequence[float]) -> list[float]:
        return [p.from_unit(v) for p, v in zip(self.params, u, strict=True)]


def _key(x: Sequence[float]) -> bytes:
    """A candidate's identity in the store: its values' exact bits."""
    return np.asarray(x, dtype=np.float64).tobytes()


@dataclass
class CalibrationResult:
    params: list[FreeParameter]
    x: list[float]
    value: float
    default_value: float
    evaluations: int
    seconds: float
    method: str
    replicates: int
    seed: int
    optimiser_seed: int
    regularisation: float
    fit_patterns: list[str]
    message: str
    batched: int = 0  # candidates run in batches (the rest one at a time)

    @property
    def values(self) -> dict[str, float]:
        return {p.key: v for p, v in zip(self.params, self.x, strict=True)}

    def to_dict(self) -> dict[str, Any]:
        return {
            "alignsim_version": __version__,
            "method": self.method,
            "objective": self.value,
            "objective_at_defaults": self.default_value,
            "evaluations": self.evaluations,
            "seconds": round(self.seconds, 2),
            "replicates": self.replicates,
            "seed": self.seed,
            "optimiser_seed": self.optimiser_seed,
            "regularisation": self.regularisation,
            "fit_patterns": self.fit_patterns,
            "parameters": {
                p.key: {"value": v, "default": p.default, "lo": p.lo, "hi": p.hi}
                for p, v in zip(self.params, self.x, strict=True)
            },
            "message": self.message,
        }


def calibrate(
    base: Config,
    patterns: Mapping[str, PatternConf],
    conf: CalibrationConf,
    *,
    start: Sequence[float] | None = None,
    progress: bool = False,
) -> CalibrationResult:
    """Fit ``conf.parameters`` to the ``fit`` patterns of ``patterns``; see the module docstring.

    ``start`` (values of the parameters) replaces the config's defaults as the starting point
    (the twin experiment starts away from the truth); the regularisation still pulls toward the
    config's defaults.
    """
    from scipy.optimize import differential_evolution, minimize

    if conf.method not in METHODS:
        raise ConfigError("validation.calibration.method",
                          f"unknown method {conf.method!r}; allowed: {', '.join(METHODS)}")
    for name, lo in (("replicates", 1), ("maxiter", 1), ("popsize", 1)):
        if getattr(conf, name) < lo:
            raise ConfigError(f"validation.calibration.{name}", f"must be >= {lo}")
    if conf.regularisation < 0:
        raise ConfigError("validation.calibration.regularisation", "must be >= 0")
    fit = {n: c for n, c in patterns.items() if c.split == "fit"}
    params = free_parameters(base, conf.parameters)
    obj = Objective(base, fit, params, conf.replicates, conf.seed, conf.regularisation)
    x0 = [p.default for p in params] if start is None else [float(v) for v in start]
    u0 = np.clip([p.to_unit(v) for p, v in zip(params, x0, strict=True)], 0.0, 1.0)
    t0 = time.perf_counter()
    bar = _progress(progress, conf)
    lowest = [float("inf")]

    def tick(value: float) -> None:
        lowest[0] = min(lowest[0], value)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(best=f"{lowest[0]:.4g}")

    def f(u: np.ndarray) -> float:
        runs = obj.runs
        v = obj.unit(u)
        if obj.runs > runs:  # prefetched candidates ticked when their batch ran
            tick(v)
        return v

    def prefetch(us: Sequence[Sequence[float]], extra: Sequence[Sequence[float]] = ()) -> None:
        obj.prefetch([*extra, *(obj.from_unit(u) for u in us)], done=lambda e: tick(e.value))

    bounds = [(0.0, 1.0)] * len(params)
    defaults = [p.default for p in params]
    if conf.method == "differential_evolution":
        de = {"x0": u0, "seed": conf.optimiser_seed, "maxiter": conf.maxiter,
              "popsize": conf.popsize, "polish": False, "tol": 0.0, "init": "latinhypercube",
              "updating": "immediate"}
        prefetch(_first_generation(bounds, de), extra=[defaults])
        default_value = obj(defaults)
        res = differential_evolution(f, bounds, **de)
    else:
        simplex = _simplex(u0)
        prefetch(_in_box(simplex), extra=[defaults])
        default_value = obj(defaults)
        res = minimize(f, u0, method="Nelder-Mead", bounds=bounds,
                       options={"maxiter": 40 * conf.maxiter, "xatol": 1e-3, "fatol": 1e-6,
                                "initial_simplex": simplex})
    if conf.method == "differential_evolution" and conf.polish > 0:
        # DE leaves the directions the patterns do not inform where its population happened to
        # be; a short bounded Nelder–Mead from the best point lets the (smooth) pull toward the
        # defaults settle them.
        best_u = [p.to_unit(v) for p, v in zip(params, min(obj.history, key=lambda e: e.value).x,
                                                  strict=True)]
        simplex = _simplex(np.array(best_u), 0.05)
        prefetch(_in_box(simplex)[:conf.polish])  # maxfev: only the first `polish` are run
        minimize(f, best_u, method="Nelder-Mead", bounds=bounds,
                 options={"maxfev": conf.polish, "xatol": 1e-3, "fatol": 1e-6,
                          "initial_simplex": simplex})
    if bar is not None:
        bar.close()
    best = min(obj.history, key=lambda e: e.value)
    return CalibrationResult(
        params=params, x=[float(v) for v in best.x], value=best.value,
        default_value=default_value, evaluations=len(obj.history),
        seconds=time.perf_counter() - t0,
        method=conf.method + (f" + nelder_mead polish ({conf.polish} runs)"
                              if conf.method == "differential_evolution" and conf.polish else ""),
        replicates=conf.replicates,
        seed=conf.seed, optimiser_seed=conf.optimiser_seed, regularisation=conf.regularisation,
        fit_patterns=sorted(fit), message=str(getattr(res, "message", "")),
        batched=obj.batched,
    )


def _simplex(u0: np.ndarray, step: float = 0.15) -> np.ndarray:
    """A Nelder–Mead start simplex with steps of ``step`` of each bound range, kept in the box."""
    n = len(u0)
    pts = [np.array(u0, float)]
    for i in range(n):
        p = np.array(u0, float)
        p[i] = p[i] + step if p[i] + step <= 1.0 else p[i] - step
        pts.append(p)
    return np.array(pts).reshape(n + 1, n)


def _first_generation(bounds: list[tuple[float, float]], de: dict[str, Any]) -> list[np.ndarray]:
    """The candidates ``differential_evolution(f, bounds, **de)`` evaluates first, in order: its
    initial population (``x0`` in it), read off a run with ``maxiter=0`` on a stand-in function
    — the population is drawn before any evaluation, from the optimiser's own seed."""
    from scipy.optimize import differential_evolution

    seen: list[np.ndarray] = []

    def record(u: np.ndarray) -> float:
        seen.append(np.array(u, float))
        return 0.0

    differential_evolution(record, bounds, **{**de, "maxiter": 0})
    return seen


def _in_box(simplex: np.ndarray) -> np.ndarray:
    """The vertices scipy's bounded Nelder–Mead evaluates first: reflected into, then clipped
    to, the unit box (as ``_minimize_neldermead`` does)."""
    sim = np.where(simplex > 1.0, 2.0 - simplex, simplex)
    return np.clip(sim, 0.0, 1.0)


def _progress(on: bool, conf: CalibrationConf):
    if not on:
        return None
    from tqdm.auto import tqdm

    return tqdm(desc="calibration", unit="candidate", leave=False, file=sys.stderr)


# ------------------------------------------------------------------------------ output
PAYOFFS_HEADER = """\
# @package _global_
# Calibrated payoffs: the lead's default payoffs with the parameters fitted by
# `alignsim-calibrate` to the 2022–2023 patterns of conf/validation/{vname}.yaml
# (docs/validation.md). Use as `payoffs=calibrated`. Units and sources of every value are those
# of conf/payoffs/default.yaml (the values not listed as fitted below are its defaults).
#
# Why `@package _global_`: a payoffs group file normally fills `payoffs:` only; this one also
# carries the fitted parameters that live outside `payoffs` (listed under "non-payoff keys"
# below), so selecting `payoffs=calibrated` applies the whole fitted set. They are merged after
# the world/actions groups (payoffs comes later in config.yaml's defaults), and a command-line
# override still wins.
#
# Provenance
#   written:           {date}
#   alignsim version:  {version}
#   method:            scipy.optimize {method} ({evaluations} candidate runs, {seconds:.0f} s)
#   objective J:       {value:.6g}  (at the defaults: {default_value:.6g}); J = sum of squared
#                      normalised errors of the fit patterns + {reg:g} x squared moves from the
#                      defaults in fractions of the bounds
#   fit patterns:      {fit}
#   replicates:        {replicates} per candidate, model seed {seed}, common random numbers
#   optimiser seed:    {oseed}
#   command:           {command}
# Fitted values (default -> fitted, [bounds]):
{lines}
# Non-payoff keys: {nonpayoff}
"""


def calibrated_yaml(base: Config, result: CalibrationResult, vname: str,
                    command: Sequence[str] = ()) -> str:
    """The ``conf/payoffs/calibrated.yaml`` text: provenance comments, the full payoffs group
    with fitted values, and fitted non-payoff keys at their global paths."""
    from omegaconf import OmegaConf

    cfg = set_config_values(base, result.values)
    payoffs = OmegaConf.to_container(OmegaConf.structured(cfg.payoffs))
    payoffs["name"] = "calibrated"
    doc: dict[str, Any] = {"payoffs": payoffs}
    nonpayoff = []
    for p, v in zip(result.params, result.x, strict=True):
        if p.key.startswith("payoffs."):
            continue
        nonpayoff.append(p.key)
        node = doc
        parts = p.key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = float(v)
    lines = "\n".join(f"#   {p.key}: {p.default:g} -> {v:.6g}  [{p.lo:g}, {p.hi:g}]"
                      for p, v in zip(result.params, result.x, strict=True))
    head = PAYOFFS_HEADER.format(
        vname=vname, date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        method=result.method, evaluations=result.evaluations, seconds=result.seconds,
        value=result.value, default_value=result.default_value, reg=result.regularisation,
        fit=", ".join(result.fit_patterns), replicates=result.replicates, seed=result.seed,
        oseed=result.optimiser_seed, command=" ".join(command) or "(library call)", lines=lines,
        nonpayoff=", ".join(nonpayoff) or "none",
    )
    return head + OmegaConf.to_yaml(OmegaConf.create(doc))


# --------------------------------------------------------------------------------- CLI
TOOL = Tool(
    prog=PROG,
    summary="""Fits the assumption parameters listed in conf/validation/<NAME>.yaml (calibration:
    bounds, method, replicates) to the 2022–2023 ("fit") patterns with scipy.optimize, under common
    random numbers, then prints the fitted values and the validation table at the defaults and
    calibrated (the 2024–2025 "holdout" patterns are out of sample). Writes calibration.json and
    calibrated.yaml (a payoffs group: use it as payoffs=calibrated).""",
    options=(
        out_option("the output folder (default outputs/calibrate/<date>/<time>/); out=DIR, the "
                   "older spelling, still works", aliases=("out",)),
        Option("--write", "PATH", "also write calibrated.yaml to PATH, e.g. "
               "conf/payoffs/calibrated.yaml", writable="file"),
        Option("validation", "NAME", "the patterns and calibration settings: "
               "conf/validation/NAME.yaml (default: default), and validation.KEY=VALUE overrides, "
               "e.g. validation.calibration.maxiter=5", prefix=True),
    ),
    examples=(f"{PROG} --write conf/payoffs/calibrated.yaml",
              f"{PROG} validation.calibration.method=nelder_mead replicates=100 --out outputs/cal"),
)


POSTERIOR_FLAG = "--posterior"
POSTERIOR_HELP = ("--posterior: instead of the point fit, a Bayesian posterior by ABC-SMC "
                  "(pyabc; settings under validation.posterior.*): writes posterior.parquet "
                  "(samples, weights), predictive.csv, posterior_draws.csv (for "
                  "payoffs=posterior) and figures")


def with_posterior_help() -> Tool:
    return dataclasses.replace(TOOL, summary=TOOL.summary + " " + POSTERIOR_HELP)


def run_point_fit(args: ToolArgs) -> None:
    from omegaconf import OmegaConf

    from alignsim.config import compose_dictconfig, to_config
    from alignsim.results import atomic_write, provenance, write_json
    from alignsim.validation.validate import format_table, load_inputs, run_validation

    vconf, overrides = load_inputs(args)
    dcfg = compose_dictconfig(overrides)
    base = to_config(dcfg)
    result = calibrate(base, vconf.patterns, vconf.calibration, progress=bool(base.progress))
    write_to = Path(args.values["write"]) if "write" in args.values else None
    command = [PROG, *args.words]
    stamp = datetime.now().strftime("%Y-%m-%d/%H-%M-%S")
    out_dir = Path(args.get("out") or f"outputs/calibrate/{stamp}")
    text = calibrated_yaml(base, result, vconf.name, command)
    atomic_write(out_dir / "calibrated.yaml", lambda p: p.write_text(text))
    if write_to is not None:
        atomic_write(write_to, lambda p: p.write_text(text))
    before = run_validation(base, vconf)
    after = run_validation(set_config_values(base, result.values), vconf)
    doc = {**result.to_dict(), "command": command,
           "validation_default": [p.row() for p in before.results],
           "validation_calibrated": [p.row() for p in after.results],
           "config": OmegaConf.to_container(dcfg, resolve=True)}
    doc["provenance"] = provenance(result.seed, doc["config"])
    write_json(doc, out_dir / "calibration.json")
    print(f"calibration: {result.method}, {result.evaluations} candidates, "
          f"{result.seconds:.1f} s, J {result.default_value:.4g} -> {result.value:.4g}")
    for p, v in zip(result.params, result.x, strict=True):
        print(f"  {p.key:<64} {p.default:>9.4g} -> {v:.4g}")
    print("\nvalidation at the defaults:")
    print(format_table(before.results))
    print("\nvalidation calibrated:")
    print(format_table(after.results))
    print(f"\nwrote {out_dir / 'calibrated.yaml'}, {out_dir / 'calibration.json'}"
          + (f", {write_to}" if write_to else ""))
