"""Pattern-oriented validation: the documented facts of 2022–2025 as executable checks.

Why patterns: the seeds give few numbers but several qualitative regularities (the axis drifts
toward the Turkic sphere while Russia stays first; oil shifts to BTC; Kazakhstan stays neutral
after the Dec 2024 shoot-down). Pattern-oriented modelling tests a model against several such
regularities at once rather than against one fitted curve. Each pattern here is

- a **metric**: one number per replicate read off a :class:`~alignsim.ensemble.Trajectory`
  (e.g. the axis change between two dates, the tonnes shipped on a route in a year), and
- a **check** on the ensemble: the mean near a target (``approx``), above or below a bound
  (``at_least``/``at_most``), or a condition that must hold in most replicates
  (``share_above``/``share_below``/``share_within``),

with its target, tolerance and seed source in ``conf/validation/*.yaml`` (never in code).

Dates: ``from`` is the first day of its month (the state before that month is played), ``to``,
``at`` and ``month`` are the last day of their month (the state after it). A year's tonnes sum the
route share at the start of each month of that year times exports / 12 (the share at the start of
a month is what flows during it).

Each pattern has a ``kind`` (:data:`KINDS`) and each check a **per-replicate** reading
(:func:`replicate_passes`): whether one replicate on its own looks like the record, which the
null-model report (:mod:`alignsim.validation.nulls`) uses to give each pattern's power.

Each check also yields a **normalised error** (0 when met, in units of its tolerance), which the
calibration (:mod:`alignsim.validation.calibrate`) sums in squares.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignsim.ensemble import Trajectory
from alignsim.kernel.calendar import Month, parse_month
from alignsim.kernel.spec import ConfigError, Spec
from alignsim.metrics import BAND

SPLITS = ("fit", "holdout")
CHECKS = ("approx", "at_least", "at_most", "share_above", "share_below", "share_within")
# What a pattern is about, so that the null-model report (:mod:`alignsim.validation.nulls`) can
# say which kinds of evidence the game supplies: ``drift`` = a change of the axis or of the
# sphere shares over a period (the headline outcome); ``change`` = a change of another quantity
# (a relation, economic ties); ``level`` = a value at a date; ``frequency`` = how often
# something happens in a window (halt months, uses of an action).
KINDS = ("drift", "change", "level", "frequency")


# ------------------------------------------------------------------------------ config schema
@dataclass
class PatternConf:
    """One documented fact: which metric, which check, its target and tolerance, its source."""

    description: str = ""
    source: str = ""  # seed file(s), e.g. "003"
    split: str = "fit"  # fit: used by the calibration; holdout: out-of-sample prediction
    metric: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    check: str = "approx"
    target: float = 0.0  # approx/at_*: target of the mean; share_*: per-replicate threshold
    tolerance: float = 1.0  # approx: pass band; otherwise the shortfall counted as one error unit
    min_fraction: float = 0.6  # share_*: fraction of replicates that must meet the condition
    unit: str = ""
    kind: str = "level"  # one of KINDS: drift, change, level, frequency


@dataclass
class ParameterConf:
    """A free parameter of the calibration: a dotted config key and its search bounds."""

    lo: float = 0.0
    hi: float = 1.0


@dataclass
class CalibrationConf:
    """How the calibration searches (see :mod:`alignsim.validation.calibrate`)."""

    replicates: int = 64  # per candidate; the same replicate keys for every candidate (CRN)
    seed: int = 20220101
    method: str = "differential_evolution"  # or "nelder_mead"
    maxiter: int = 8
    popsize: int = 5
    regularisation: float = 0.1
    polish: int = 0  # DE only: candidate runs of a final bounded Nelder–Mead from the best point
    optimiser_seed: int = 1
    parameters: dict[str, ParameterConf] = field(default_factory=dict)


@dataclass
class PosteriorConf:
    """How the ABC-SMC posterior is sampled (see :mod:`alignsim.validation.posterior`)."""

    replicates: int = 8  # per simulation, on a fresh stream keyed by the parameter values
    population: int = 200  # particles per ABC-SMC population
    simulations: int = 10000  # stop after this many simulations in total
    generations: int = 30  # or after this many populations
    min_epsilon: float = 0.0  # or when the distance threshold reaches this
    seed: int = 1  # seed of pyabc's sampling (numpy's global generator) and of the resampling
    predictive_draws: int = 200  # posterior-predictive draws (by weight)
    predictive_replicates: int = 16  # replicates per predictive draw
    stored_draws: int = 200  # equally weighted draws written to posterior_draws.csv
    processes: int = 1  # pyabc worker processes (1: single-core, reproducible)
    resume_from: str = ""  # a pyabc SQLite database: summarise its last population, no sampling


@dataclass
class ValidationConf:
    name: str = "default"
    months: int = 48  # length of the replay; must reach the last pattern date
    # config overrides that make the model under test (e.g. scenario=history_endogenous); the
    # command line wins for any key it sets itself
    model: list[str] = field(default_factory=list)
    patterns: dict[str, PatternConf] = field(default_factory=dict)
    calibration: CalibrationConf = field(default_factory=CalibrationConf)
    # the seeds' causal account, checked on a counterfactual attribution (alignsim-attribute):
    # metric ``contribution`` (an event's Shapley value in the drift), see
    # :func:`evaluate_contribution`
    causal: dict[str, PatternConf] = field(default_factory=dict)
    posterior: PosteriorConf = field(default_factory=PosteriorConf)


# ------------------------------------------------------------------------------------ metrics
@dataclass(frozen=True)
class Reading:
    """A metric's per-replicate values and where it sits on the timeline."""

    values: np.ndarray  # (R,)
    when: Month  # month the metric refers to (its last month)
    end_index: int  # last state index it reads


class _Args:
    """Typed access to a pattern's ``args`` with one-line errors naming the key."""

    def __init__(self, args: Mapping[str, Any], key: str, spec: Spec, allowed: tuple[str, ...]):
        self.args, self.key, self.spec = dict(args), key, spec
        for name in self.args:
            if name not in allowed:
                raise ConfigError(
                    f"{key}.{name}", f"unknown argument; allowed: {', '.join(allowed)}"
                )

    def _get(self, name: str) -> Any:
        if name not in self.args:
            raise ConfigError(f"{self.key}.{name}", "required argument is missing")
        return self.args[name]

    def month(self, name: str) -> Month:
        try:
            return parse_month(str(self._get(name)))
        except ValueError as exc:
            raise ConfigError(f"{self.key}.{name}", str(exc)) from None

    def start_index(self, name: str) -> tuple[int, Month]:
        m = self.month(name)
        return self._index(name, m, m.index_from(self.spec.start)), m

    def end_index(self, name: str) -> tuple[int, Month]:
        m = self.month(name)
        return self._index(name, m, m.index_from(self.spec.start) + 1), m

    def _index(self, name: str, m: Month, t: int) -> int:
        if t < 0:
            raise ConfigError(f"{self.key}.{name}", f"{m} is before the start {self.spec.start}")
        return t

    def name(self, name: str, allowed: tuple[str, ...], what: str) -> int:
        value = str(self._get(name))
        if value not in allowed:
            raise ConfigError(
                f"{self.key}.{name}", f"unknown {what} {value!r}; allowed: {', '.join(allowed)}"
            )
        return allowed.index(value)

    def number(self, name: str, default: float) -> float:
        v = self.args.get(name, default)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ConfigError(f"{self.key}.{name}", f"must be a number, got {v!r}")
        return float(v)

    def year(self, name: str) -> int:
        v = self._get(name)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ConfigError(f"{self.key}.{name}", f"must be a year like 2023, got {v!r}")
        return int(v)


def _axis_change(traj: Trajectory, a: _Args) -> Reading:
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    ax = _rows(traj, traj.axis, max(t0, t1))
    return Reading(ax[t1] - ax[t0], m1, max(t0, t1))


def _sphere_margin(traj: Trajectory, a: _Args) -> Reading:
    """Share of a sphere minus the largest other share: > 0 where it leads."""
    s = a.name("sphere", traj.spec.spheres, "sphere")
    t, m = a.end_index("at")
    al = _rows(traj, traj.alignment, t)[t]
    others = np.delete(al, s, axis=1).max(axis=1)
    return Reading(al[:, s] - others, m, t)


def _route_tonnes(traj: Trajectory, a: _Args) -> Reading:
    """Mt shipped on a route in a calendar year: sum of start-of-month shares x exports / 12."""
    k = a.name("route", traj.spec.routes, "route")
    year = a.year("year")
    first = Month(year, 1).index_from(traj.spec.start)
    if first < 0:
        raise ConfigError(f"{a.key}.year", f"{year} starts before the run ({traj.spec.start})")
    last = first + 11
    share = _rows(traj, traj.share, last)[first : last + 1, :, k]
    tonnes = share.sum(axis=0) * traj.spec.oil_exports_mt_per_year / 12.0
    return Reading(tonnes, Month(year, 12), last)


def _route_share(traj: Trajectory, a: _Args) -> Reading:
    k = a.name("route", traj.spec.routes, "route")
    t, m = a.end_index("at")
    return Reading(_rows(traj, traj.share, t)[t, :, k], m, t)


def _revenue_lost(traj: Trajectory, a: _Args) -> Reading:
    """Fraction of oil revenue lost during a month (recorded on the state after it)."""
    t, m = a.end_index("month")
    return Reading(_rows(traj, traj.pain, t)[t], m, t)


def _max_revenue_lost(traj: Trajectory, a: _Args) -> Reading:
    """The largest fraction of oil revenue lost in any month of a window (how hard a halt bit,
    whenever in the window it came: the halt's month is the actors' choice)."""
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    pain = _rows(traj, traj.pain, t1)[t0 + 1 : t1 + 1]
    return Reading(pain.max(axis=0), m1, t1)


def _halt_months(traj: Trajectory, a: _Args) -> Reading:
    """Months in a window whose revenue loss exceeds ``threshold`` (a coercive halt biting)."""
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    thr = a.number("threshold", 0.05)
    pain = _rows(traj, traj.pain, t1)[t0 + 1 : t1 + 1]
    return Reading((pain > thr).sum(axis=0).astype(float), m1, t1)


def _relation(traj: Trajectory, a: _Args) -> Reading:
    i = a.name("a", traj.spec.actors, "actor")
    j = a.name("b", traj.spec.actors, "actor")
    t, m = a.end_index("at")
    return Reading(_rows(traj, traj.relations, t)[t, :, i, j], m, t)


def _relation_change(traj: Trajectory, a: _Args) -> Reading:
    i = a.name("a", traj.spec.actors, "actor")
    j = a.name("b", traj.spec.actors, "actor")
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    rel = _rows(traj, traj.relations, max(t0, t1))
    return Reading(rel[t1, :, i, j] - rel[t0, :, i, j], m1, max(t0, t1))


def _sphere_change(traj: Trajectory, a: _Args) -> Reading:
    """Change of one sphere's alignment share between two dates (the drift's composition)."""
    s = a.name("sphere", traj.spec.spheres, "sphere")
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    al = _rows(traj, traj.alignment, max(t0, t1))
    return Reading(al[t1, :, s] - al[t0, :, s], m1, max(t0, t1))


def _ties(traj: Trajectory, s: int, t: int) -> np.ndarray:
    """Economic ties of the swing state with sphere ``s`` at state ``t``, ``(R,)``.

    The ``ties`` term of :func:`alignsim.kernel.anchor.structural_utility` (non-oil trade share +
    export share on the sphere's routes + its members' investment / scale), recomputed from the
    recorded shares and investment stocks because the trajectory does not keep it.
    """
    spec = traj.spec
    routes = traj.share[t] @ spec.route_membership[s]
    invest = traj.investment[t] @ spec.membership[s] / spec.dyn["investment_scale_bn"]
    return spec.trade[s] + routes + invest


def _ties_change(traj: Trajectory, a: _Args) -> Reading:
    """Relative change of the economic ties with a sphere between two dates (0.05 = +5 %)."""
    s = a.name("sphere", traj.spec.spheres, "sphere")
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    _rows(traj, traj.share, max(t0, t1))
    before = _ties(traj, s, t0)
    return Reading(_ties(traj, s, t1) / before - 1.0, m1, max(t0, t1))


def _action_months(traj: Trajectory, a: _Args) -> Reading:
    """Months in a window in which an actor used an action (forced uses included)."""
    i = a.name("actor", traj.spec.actors, "actor")
    k = a.name("action", traj.spec.actions, "action")
    t0, _ = a.start_index("from")
    t1, m1 = a.end_index("to")
    if t1 - 1 >= traj.actions.shape[0]:
        _rows(traj, traj.pain, t1)  # the same one-line error as the state metrics
    used = traj.actions[t0:t1, :, i] == k
    return Reading(used.sum(axis=0).astype(float), m1, t1)


def _rows(traj: Trajectory, arr: np.ndarray, t: int) -> np.ndarray:
    if t >= arr.shape[0]:
        raise ConfigError(
            "months",
            f"the run ends at state {arr.shape[0] - 1} ({traj.spec.start.plus(arr.shape[0] - 1)}) "
            f"but a pattern reads state {t}; allowed: months >= {t}",
        )
    return arr


METRICS: dict[str, tuple[Callable[[Trajectory, _Args], Reading], tuple[str, ...]]] = {
    "axis_change": (_axis_change, ("from", "to")),
    "sphere_margin": (_sphere_margin, ("sphere", "at")),
    "route_tonnes": (_route_tonnes, ("route", "year")),
    "route_share": (_route_share, ("route", "at")),
    "revenue_lost": (_revenue_lost, ("month",)),
    "max_revenue_lost": (_max_revenue_lost, ("from", "to")),
    "halt_months": (_halt_months, ("from", "to", "threshold")),
    "relation": (_relation, ("a", "b", "at")),
    "relation_change": (_relation_change, ("a", "b", "from", "to")),
    "sphere_change": (_sphere_change, ("sphere", "from", "to")),
    "ties_change": (_ties_change, ("sphere", "from", "to")),
    "action_months": (_action_months, ("actor", "action", "from", "to")),
}


# ------------------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class PatternResult:
    """One pattern evaluated on an ensemble."""

    name: str
    conf: PatternConf
    when: Month
    mean: float  # mean of the per-replicate metric
    p05: float
    p95: float
    statistic: float  # what the check tests: the mean, or the fraction meeting the condition
    passed: bool
    error: float  # normalised error: 0 when met, in units of the tolerance (signed for approx)
    values: np.ndarray

    @property
    def replicate_pass(self) -> np.ndarray:
        """Per-replicate pass/fail ``(R,)``: see :func:`replicate_passes`."""
        return replicate_passes(self.conf, self.values)

    @property
    def target_text(self) -> str:
        c, u = self.conf, f" {self.conf.unit}" if self.conf.unit else ""
        if c.check == "approx":
            return f"≈ {c.target:g} ± {c.tolerance:g}{u}"
        if c.check == "at_least":
            return f"mean ≥ {c.target:g}{u}"
        if c.check == "at_most":
            return f"mean ≤ {c.target:g}{u}"
        cond = {"share_above": f"> {c.target:g}", "share_below": f"< {c.target:g}",
                "share_within": f"|x| ≤ {c.target:g}"}[c.check]
        return f"{cond}{u} in ≥ {c.min_fraction:.0%} of replicates"

    def row(self) -> dict[str, Any]:
        """A flat, JSON-ready row of the validation table."""
        return {
            "pattern": self.name,
            "split": self.conf.split,
            "date": str(self.when),
            "source": self.conf.source,
            "metric": self.conf.metric,
            "check": self.conf.check,
            "target": self.target_text,
            "mean": float(self.mean),
            "p05": float(self.p05),
            "p95": float(self.p95),
            "statistic": float(self.statistic),
            "error": float(self.error),
            "passed": bool(self.passed),
            "unit": self.conf.unit,
            "description": self.conf.description,
            "kind": self.conf.kind,
        }


def check_conf(name: str, conf: PatternConf, section: str = "patterns") -> None:
    """Checks a pattern's config that need no trajectory (names, ranges); ``section`` is
    ``patterns`` (trajectory metrics) or ``causal`` (the attribution's ``contribution``)."""
    key = f"validation.{section}.{name}"
    metrics = CAUSAL_METRICS if section == "causal" else METRICS
    if conf.split not in SPLITS:
        raise ConfigError(
            f"{key}.split", f"unknown split {conf.split!r}; allowed: {', '.join(SPLITS)}"
        )
    if conf.metric not in metrics:
        raise ConfigError(
            f"{key}.metric",
            f"unknown metric {conf.metric!r}; allowed: {', '.join(sorted(metrics))}",
        )
    if conf.check not in CHECKS:
        raise ConfigError(
            f"{key}.check", f"unknown check {conf.check!r}; allowed: {', '.join(CHECKS)}"
        )
    if conf.kind not in KINDS:
        raise ConfigError(
            f"{key}.kind", f"unknown kind {conf.kind!r}; allowed: {', '.join(KINDS)}"
        )
    if not np.isfinite(conf.target):
        raise ConfigError(f"{key}.target", "must be a finite number")
    if not (np.isfinite(conf.tolerance) and conf.tolerance > 0):
        raise ConfigError(f"{key}.tolerance", f"must be > 0, got {conf.tolerance}")
    if not 0.0 < conf.min_fraction <= 1.0:
        raise ConfigError(f"{key}.min_fraction", f"must be in (0, 1], got {conf.min_fraction}")


def read_metric(traj: Trajectory, name: str, conf: PatternConf) -> Reading:
    check_conf(name, conf)
    fn, allowed = METRICS[conf.metric]
    return fn(traj, _Args(conf.args, f"validation.patterns.{name}.args", traj.spec, allowed))


def replicate_passes(conf: PatternConf, values: np.ndarray) -> np.ndarray:
    """Whether each replicate, on its own, meets the pattern: ``(R,)`` bool.

    Why: a null model is judged by how often a single history of it looks like the record, not
    only by its ensemble. For ``approx`` a replicate passes inside ``target ± tolerance``; for
    ``at_least``/``at_most`` when its value is on the right side of the target (the bound the
    mean is held to); for ``share_*`` when it meets the per-replicate condition.
    """
    v = np.asarray(values, dtype=float)
    c = conf
    if c.check == "approx":
        return np.abs(v - c.target) <= c.tolerance
    if c.check == "at_least":
        return v >= c.target
    if c.check == "at_most":
        return v <= c.target
    if c.check == "share_above":
        return v > c.target
    if c.check == "share_below":
        return v < c.target
    return np.abs(v) <= c.target


def evaluate(traj: Trajectory, name: str, conf: PatternConf) -> PatternResult:
    """Evaluate one pattern on an ensemble trajectory."""
    r = read_metric(traj, name, conf)
    return judge(name, conf, r.values, r.when)


def judge(name: str, conf: PatternConf, values: np.ndarray, when: Month) -> PatternResult:
    """Apply a pattern's check to per-replicate values (a trajectory metric's or another's)."""
    v = np.asarray(values, dtype=float)
    mean = float(v.mean())
    lo, hi = (float(x) for x in np.percentile(v, BAND))
    c = conf
    if c.check == "approx":
        stat, err = mean, (mean - c.target) / c.tolerance
        passed = abs(mean - c.target) <= c.tolerance
    elif c.check == "at_least":
        stat, err = mean, max(0.0, c.target - mean) / c.tolerance
        passed = mean >= c.target
    elif c.check == "at_most":
        stat, err = mean, max(0.0, mean - c.target) / c.tolerance
        passed = mean <= c.target
    else:
        ok = replicate_passes(c, v)
        stat = float(ok.mean())
        err = max(0.0, c.min_fraction - stat) / c.tolerance
        passed = stat >= c.min_fraction
    return PatternResult(name, conf, when, mean, lo, hi, stat, bool(passed), float(err), v)


def evaluate_all(
    traj: Trajectory, patterns: Mapping[str, PatternConf], split: str | None = None
) -> list[PatternResult]:
    """Evaluate every pattern (or only those of ``split``), in date order."""
    out = [evaluate(traj, n, c) for n, c in patterns.items() if split in (None, c.split)]
    return sorted(out, key=lambda p: (p.when, p.name))


def required_months(spec: Spec | Month, patterns: Mapping[str, PatternConf]) -> int:
    """Months a run needs so that every pattern's dates are inside it (``spec`` or its start)."""
    if isinstance(spec, Month):
        spec = _StartOnly(spec)  # type: ignore[assignment]
    need = 0
    for name, conf in patterns.items():
        check_conf(name, conf)
        allowed = METRICS[conf.metric][1]
        a = _Args(conf.args, f"validation.patterns.{name}.args", spec, allowed)
        for key in ("to", "at", "month"):
            if key in conf.args:
                need = max(need, a.end_index(key)[0])
        if "from" in conf.args:
            need = max(need, a.start_index("from")[0])
        if "year" in conf.args:
            need = max(need, Month(a.year("year"), 12).index_from(spec.start))
    return need


@dataclass(frozen=True)
class _StartOnly:
    """Stands in for a spec where only the start month is needed (before compiling)."""

    start: Month


def objective_terms(results: list[PatternResult]) -> np.ndarray:
    """Normalised errors of the patterns, the terms the calibration squares and sums."""
    return np.array([p.error for p in results], dtype=float)


# -------------------------------------------------------------------------------- loading
def load_validation(
    name: str = "default", overrides: list[str] | tuple[str, ...] = ()
) -> ValidationConf:
    """Load ``conf/validation/<name>.yaml`` merged into the typed schema, with dotlist overrides.

    ``overrides`` are ``key=value`` strings relative to the validation group (``months=60``,
    ``patterns.mc_tonnes_2023.tolerance=0.3``). A wrong type or unknown key raises
    :class:`ConfigError` naming ``validation.<key>``.
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from alignsim.config import conf_dir

    groups = conf_dir() / "validation"
    path = groups / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in groups.glob("*.yaml"))
        raise ConfigError("validation", f"no config {name!r}; allowed: {', '.join(have)}")
    try:
        schema = OmegaConf.structured(ValidationConf)
        merged = OmegaConf.merge(schema, OmegaConf.load(path))
        for item in overrides:
            if "=" not in item:
                raise ConfigError(f"validation.{item}", "expected key=value")
            key, value = item.split("=", 1)
            key = key.lstrip("+")
            node = OmegaConf.from_dotlist([f"{key}={value}"])
            merged = OmegaConf.merge(merged, node)
        conf = OmegaConf.to_object(merged)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None) or "?"
        msg = str(getattr(exc, "msg", exc)).splitlines()[0]
        raise ConfigError(f"validation.{key}", msg) from None
    assert isinstance(conf, ValidationConf)
    for pname, pconf in conf.patterns.items():
        check_conf(pname, pconf)
    for pname, pconf in conf.causal.items():
        check_causal_conf(pname, pconf)
    if conf.months < 1:
        raise ConfigError("validation.months", f"must be >= 1, got {conf.months}")
    return conf


# ------------------------------------------------------------------------ causal patterns
# The seeds' causal account read off a counterfactual attribution
# (:mod:`alignsim.validation.attribution`): ``contribution`` is an event's per-replicate Shapley
# value in the axis drift from the start to the end of month ``at``. The checks are those of the
# trajectory patterns, applied to those values (``share_above 0``: the event pushes toward the
# Turkic sphere in most replicates; ``share_within``: near zero in most replicates).
CAUSAL_METRICS = ("contribution",)
CAUSAL_ARGS = ("event", "at")


def check_causal_conf(name: str, conf: PatternConf) -> None:
    """A causal pattern's config: the checks of :func:`check_conf` and its two arguments."""
    check_conf(name, conf, section="causal")
    key = f"validation.causal.{name}.args"
    for arg in conf.args:
        if arg not in CAUSAL_ARGS:
            raise ConfigError(f"{key}.{arg}",
                              f"unknown argument; allowed: {', '.join(CAUSAL_ARGS)}")
    for arg in CAUSAL_ARGS:
        if arg not in conf.args:
            raise ConfigError(f"{key}.{arg}", "required argument is missing")
    try:
        parse_month(str(conf.args["at"]))
    except ValueError as exc:
        raise ConfigError(f"{key}.at", str(exc)) from None


@dataclass(frozen=True)
class CausalResult:
    """A causal pattern on one attribution: its result, or why it does not apply there."""

    name: str
    conf: PatternConf
    result: PatternResult | None  # None: the event is not attributed in this scenario
    note: str = ""

    @property
    def applicable(self) -> bool:
        return self.result is not None

    @property
    def passed(self) -> bool | None:
        return None if self.result is None else self.result.passed

    def line(self) -> str:
        """``name  event @ date: mean [90 % band], stat -> pass`` (or ``n/a: why``)."""
        args = self.conf.args
        head = f"{self.name:<34} {args.get('event', '')!s:<22} @ {args.get('at')}"
        if self.result is None:
            return f"{head}: n/a ({self.note})"
        p = self.result
        return (f"{head}: {p.target_text}; mean {p.mean:+.4f} [{p.p05:+.4f}, {p.p95:+.4f}], "
                f"{p.statistic:.0%} meet -> {'pass' if p.passed else 'FAIL'}  ({p.conf.source})")

    def row(self) -> dict[str, Any]:
        base = {"pattern": self.name, "event": self.conf.args.get("event"),
                "date": str(self.conf.args.get("at")), "source": self.conf.source,
                "description": self.conf.description, "applicable": self.applicable,
                "note": self.note}
        if self.result is None:
            return base | {"passed": None}
        return base | {k: v for k, v in self.result.row().items() if k not in base}


def evaluate_contribution(attribution: Any, name: str, conf: PatternConf) -> CausalResult:
    """Check causal pattern ``name`` on an :class:`~alignsim.validation.attribution.Attribution`
    (``at`` must be one of its dates: ``alignsim-attribute`` adds the patterns' dates)."""
    check_causal_conf(name, conf)
    event, at = str(conf.args["event"]), str(parse_month(str(conf.args["at"])))
    players = [e.name for e in attribution.events]
    if event not in players:
        why = (f"event {event!r} is not attributed in scenario {attribution.scenario!r}; "
               f"its events: {', '.join(players) or 'none'}")
        return CausalResult(name, conf, None, why)
    labels = [d.label for d in attribution.dates]
    if at not in labels:  # alignsim-attribute adds every pattern date inside the run
        why = (f"dated {at}, not a date of this attribution ({', '.join(labels)}): outside "
               "the run, or not asked for")
        return CausalResult(name, conf, None, why)
    values = attribution.values(event, at)
    return CausalResult(name, conf, judge(name, conf, values, parse_month(at)))
