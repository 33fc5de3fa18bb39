"""Global sensitivity of the headline results to the model's assumption parameters (SALib).

What it answers: which assumed numbers (payoff weights, learning rates, effect sizes, decision
temperatures; ranges in ``conf/sensitivity/default.yaml``) drive the drift of the Russian–Turkic
axis (``w_turkic - w_russian`` at the end minus at the start) and the chance that the Russian sphere
still leads at the end. Two stages, as is usual when model runs are costly: Morris elementary
effects screen all parameters cheaply, then Sobol indices (first and total order, bootstrap
confidence intervals, ``calc_second_order=False``) quantify the few that matter.

Replicate noise. The model is stochastic (logit choices), but Morris and Sobol assume a
deterministic ``Y = f(X)``. SALib's maintainers say a noisy ``f`` "will work" but adds "an extra
source of variance that is not accounted for in the sensitivity indices", and advise checking that
the parameters' effects are not "washed out" by it, or treating the random realisation as an
extra input (J. Herman in SALib/SALib#292, "Sobol algorithm for randomized functions"). We
therefore (1) average ``R`` replicates per sample point, (2) use common random numbers — every
point runs with the same seed, so replicate ``r`` draws the same uniforms at every point and the
differences between points come from the parameters, not from fresh noise — and (3) report, per
output, the noise level: the mean variance of a point's replicate mean (``s^2 / R``) relative to the
variance of ``Y`` across the sample (``noise_ratio``; well below 1 means the indices describe the
parameters, near 1 means they describe noise). Sobol's analysis reads only the order of ``Y``
(T. Tupui in SALib/SALib#665), so ``Y`` is always produced from SALib's own ``sample.sobol`` design,
in order; the sampler's scrambling is seeded for reproducibility (SALib/SALib#177, #412).

Cheap variants. The base config is compiled once; a sample point becomes a
``dataclasses.replace`` of that :class:`~alignsim.kernel.spec.Spec` (``align``/``dyn`` dicts,
``weights`` arrays, ``temperature``, and effect tables found linear in the parameter by probing
the compiler), never a Hydra recomposition. A parameter that cannot be applied that way is
recompiled from the base config with the value set (slower, still correct).

The analysis functions take a generic ``evaluate(X) -> Y`` callable, so the tests run a toy
function with a planted influential input through exactly the same code.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf, open_dict

from alignsim.config import conf_dir, to_config
from alignsim.ensemble import MAX_ROWS, PointRun, Trajectory, run_points
from alignsim.kernel.spec import ConfigError, Spec, compile_spec
from alignsim.tools import (
    Option,
    Tool,
    ToolArgs,
    get_config_value,
    hydra_job,
    out_option,
    set_config_values,
    tool_main,
)

Evaluate = Callable[[np.ndarray], np.ndarray]
PROG = "alignsim-sensitivity"


# ------------------------------------------------------------------------------ outputs
def _drift(traj: Trajectory) -> np.ndarray:
    a = traj.axis
    return a[-1] - a[0]


def _leads(sphere: str) -> Callable[[Trajectory], np.ndarray]:
    def measure(traj: Trajectory) -> np.ndarray:
        lead = np.argmax(traj.alignment[-1], axis=-1)
        return (lead == traj.spec.spheres.index(sphere)).astype(float)

    return measure


OUTPUTS: dict[str, tuple[Callable[[Trajectory], np.ndarray], str]] = {
    "drift": (_drift, "axis drift w_turkic - w_russian, end minus start (mean over replicates)"),
    "russian_leads": (_leads("russian"), "P(Russian sphere leads at the end)"),
    "turkic_leads": (_leads("turkic"), "P(Turkic sphere leads at the end)"),
}


# ----------------------------------------------------------------------------- settings
@dataclass(frozen=True)
class Parameter:
    """One assumption parameter: a numeric config key and its uniform range."""

    key: str
    low: float
    high: float
    unit: str = ""
    source: str = ""
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.key


@dataclass(frozen=True)
class Settings:
    """The analysis as configured in ``conf/sensitivity/<name>.yaml`` plus overrides."""

    parameters: tuple[Parameter, ...]
    outputs: tuple[str, ...] = ("drift", "russian_leads")
    replicates: int = 16
    morris_trajectories: int = 10
    morris_levels: int = 4
    top: int = 5
    n: int = 64
    conf_level: float = 0.95
    num_resamples: int = 200
    seed: int = 2026
    out: str | None = None
    name: str = "default"


_SETTING_KEYS = (
    "name", "outputs", "replicates", "morris_trajectories", "morris_levels", "top", "n",
    "conf_level", "num_resamples", "seed", "select", "out", "parameters",
)


def _int(key: str, value: object, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(key, f"must be an integer >= {lo}, got {value!r}")
    return int(value)


def _float(key: str, value: object, lo: float | None = None, hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(key, f"must be a finite number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ConfigError(key, f"must be in [{lo}, {hi}], got {value!r}")
    return float(value)


def _parameters(raw: object) -> list[Parameter]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError("sensitivity.parameters", "must be a non-empty list of {key, low, high}")
    out = []
    for j, p in enumerate(raw):
        key = f"sensitivity.parameters[{j}]"
        if not isinstance(p, dict) or "key" not in p:
            raise ConfigError(key, "must be a mapping with key, low, high, unit, source")
        extra = set(p) - {"key", "low", "high", "unit", "source", "label"}
        if extra:
            raise ConfigError(f"{key}.{sorted(extra)[0]}",
                              "unknown field; allowed: key, label, low, high, source, unit")
        low = _float(f"{key}.low", p.get("low"))
        high = _float(f"{key}.high", p.get("high"))
        if not low < high:
            raise ConfigError(f"{key}.high", f"must be > low ({low}), got {high}")
        out.append(Parameter(str(p["key"]), low, high, str(p.get("unit", "")),
                             str(p.get("source", "")), str(p.get("label") or "")))
    names = [p.name for p in out]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise ConfigError("sensitivity.parameters", f"duplicate parameter {sorted(dup)[0]!r}")
    return out


def load_settings(
    cfg: DictConfig | None = None,
    overrides: Mapping[str, object] | None = None,
    *,
    replicates: int | None = None,
) -> Settings:
    """Read ``conf/sensitivity/<name>.yaml`` and apply overrides.

    ``cfg`` is a composed main config: its ``sensitivity`` node (from ``+sensitivity.x=...`` on the
    command line) overrides the file; ``overrides`` (a plain mapping, for notebooks and tests) is
    applied last. ``replicates``, when given, replaces the file's replicates per point.
    """
    over: dict = {}
    if cfg is not None and "sensitivity" in cfg and cfg.sensitivity is not None:
        node = cfg.sensitivity
        if not isinstance(node, DictConfig):
            raise ConfigError("sensitivity", "must be a mapping of settings")
        over.update(OmegaConf.to_container(node, resolve=True))
    over.update(dict(overrides or {}))
    unknown = sorted(set(over) - set(_SETTING_KEYS))
    if unknown:
        raise ConfigError(f"sensitivity.{unknown[0]}",
                          f"unknown setting; allowed: {', '.join(sorted(_SETTING_KEYS))}")
    name = str(over.get("name", "default"))
    folder = conf_dir() / "sensitivity"
    path = folder / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in folder.glob("*.yaml"))
        raise ConfigError("sensitivity.name", f"no file {name!r}; allowed: {', '.join(have)}")
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    if not isinstance(raw, dict):
        raise ConfigError("sensitivity.name", f"{path.name} must be a mapping of settings "
                          f"(keys: {', '.join(sorted(_SETTING_KEYS))}), got a {type(raw).__name__}")
    raw.update(over)
    for k in raw:
        if k not in _SETTING_KEYS:
            raise ConfigError(f"sensitivity.{k}", f"unknown setting in {path.name}")
    params = _parameters(raw.get("parameters"))
    select = raw.get("select")
    if select is not None:
        if isinstance(select, str):
            select = [select]
        if not isinstance(select, list) or not select:
            raise ConfigError("sensitivity.select", "must be null or a non-empty list of keys")
        known = {p.key: p for p in params} | {p.name: p for p in params}
        for s in select:
            if s not in known:
                raise ConfigError(
                    "sensitivity.select",
                    f"unknown parameter {s!r}; allowed: {', '.join(p.key for p in params)}",
                )
        chosen = {known[s].key for s in select}
        params = [p for p in params if p.key in chosen]
    outputs = raw.get("outputs") or []
    if isinstance(outputs, str):
        outputs = [outputs]
    if not isinstance(outputs, list) or not outputs:
        raise ConfigError("sensitivity.outputs", f"a non-empty list of: {', '.join(OUTPUTS)}")
    for o in outputs:
        if o not in OUTPUTS:
            raise ConfigError("sensitivity.outputs",
                              f"unknown output {o!r}; allowed: {', '.join(OUTPUTS)}")
    n = _int("sensitivity.n", raw.get("n", 64), 2)
    if n & (n - 1):
        raise ConfigError("sensitivity.n", f"must be a power of 2 (Sobol' sequence), got {n}")
    reps = replicates if replicates is not None else raw.get("replicates", 16)
    out = raw.get("out")
    return Settings(
        parameters=tuple(params),
        outputs=tuple(str(o) for o in outputs),
        replicates=_int("replicates", reps, 2),
        morris_trajectories=_int("sensitivity.morris_trajectories",
                                 raw.get("morris_trajectories", 10), 2),
        morris_levels=_int("sensitivity.morris_levels", raw.get("morris_levels", 4), 2),
        top=_int("sensitivity.top", raw.get("top", 5), 1),
        n=n,
        conf_level=_float("sensitivity.conf_level", raw.get("conf_level", 0.95), 0.5, 0.999),
        num_resamples=_int("sensitivity.num_resamples", raw.get("num_resamples", 200), 10),
        seed=_int("sensitivity.seed", raw.get("seed", 2026), 0),
        out=None if out is None else str(out),
        name=name,
    )


def problem(parameters: Sequence[Parameter]) -> dict:
    """The SALib problem dictionary (uniform ranges)."""
    return {
        "num_vars": len(parameters),
        "names": [p.name for p in parameters],
        "bounds": [[p.low, p.high] for p in parameters],
    }


# ------------------------------------------------------------------------ spec variants
_LINEAR_FIELDS = ("effects", "cost", "event_effects")


def _with_value(base: DictConfig, values: Mapping[str, float]) -> Spec:
    """Compile the base config with ``values`` set (the slow, always-correct path)."""
    return compile_spec(to_config(set_config_values(base, values)))


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _changed(a: Spec, b: Spec) -> set[str]:
    return {f.name for f in dataclasses.fields(Spec)
            if not _same(getattr(a, f.name), getattr(b, f.name))}


@dataclass
class _Applier:
    """How one parameter's value reaches a :class:`Spec` variant."""

    kind: str  # "align" | "dyn" | "weight" | "temperature" | "linear" | "recompile"
    key: str
    name: str = ""  # dict key (align/dyn/weight term)
    index: int | np.ndarray = 0  # actor index, or mask of actors (temperature)
    nominal: float = 0.0
    slopes: dict[str, np.ndarray] = field(default_factory=dict)  # linear: d field / d value


def _check_number(base: DictConfig, p: Parameter, j: int) -> float:
    where = f"sensitivity.parameters[{j}].key"
    try:
        value = get_config_value(base, p.key)
    except ConfigError as exc:
        raise ConfigError(where, f"{p.key!r} is not a key of the config ({exc.message})") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(where, f"{p.key!r} is not a number (got {type(value).__name__})")
    return float(value)


def _compile_at(base: DictConfig, params: Sequence[tuple[int, Parameter]], end: str) -> Spec:
    """Compile with every parameter of ``params`` at its ``end`` ("low"/"high"/"mid") value.

    A value the model does not accept is reported against the sensitivity parameter.
    """
    def value(p: Parameter) -> float:
        return {"low": p.low, "high": p.high}.get(end, 0.5 * (p.low + p.high))

    try:
        return _with_value(base, {p.key: value(p) for _, p in params})
    except ConfigError as exc:
        j, p = next(((j, p) for j, p in params if p.key == exc.key), params[0])
        raise ConfigError(f"sensitivity.parameters[{j}].{end}",
                          f"{value(p)} is not allowed for {exc.key}: {exc.message}") from None
    except Exception as exc:  # e.g. a float into an integer field of the schema
        j, p = params[0] if len(params) == 1 else (-1, None)
        where = f"sensitivity.parameters[{j}]" if p else "sensitivity.parameters"
        first = str(exc).splitlines()[0]
        raise ConfigError(where, f"cannot set the {end} values: {first}") from None


def _cheap_kind(spec: Spec, base: DictConfig, p: Parameter, nominal: float) -> _Applier | None:
    """Parameters stored in the Spec as plain values: no compile needed to apply them."""
    parts = p.key.split(".")
    if parts[:2] == ["payoffs", "alignment"] and len(parts) == 3 and parts[2] in spec.align:
        return _Applier("align", p.key, parts[2], nominal=nominal)
    if parts[:2] == ["world", "dynamics"] and len(parts) == 3 and parts[2] in spec.dyn:
        return _Applier("dyn", p.key, parts[2], nominal=nominal)
    if (parts[:2] == ["payoffs", "actors"] and len(parts) == 4 and parts[2] in spec.actors
            and parts[3] in spec.weights and parts[3] != "cost"):  # cost is folded into spec.cost
        return _Applier("weight", p.key, parts[3], spec.actor_index(parts[2]), nominal=nominal)
    if p.key == "policy.temperature":
        fixed = {n for n, o in to_config(base).policy.actors.items() if o.temperature is not None}
        mask = np.array([a not in fixed for a in spec.actors])
        return _Applier("temperature", p.key, index=mask, nominal=nominal)
    return None


def _probe_kind(base: DictConfig, p: Parameter, j: int, nominal: float) -> _Applier:
    """Is the parameter linear in some array tables (e.g. an action's effect size)? Probe it."""
    lo, hi = _compile_at(base, [(j, p)], "low"), _compile_at(base, [(j, p)], "high")
    changed = _changed(lo, hi)
    if changed and changed <= set(_LINEAR_FIELDS):
        span = p.high - p.low
        slopes = {f: (getattr(hi, f) - getattr(lo, f)) / span for f in changed}
        mid = _compile_at(base, [(j, p)], "mid")
        half = 0.5 * span
        if all(np.allclose(getattr(mid, f), getattr(lo, f) + half * s, rtol=1e-9, atol=1e-12)
               for f, s in slopes.items()):
            return _Applier("linear", p.key, nominal=nominal, slopes=slopes)
    return _Applier("recompile", p.key, nominal=nominal)


class SpecVariants:
    """Build the :class:`Spec` of a sample point from one base compile."""

    def __init__(self, base: DictConfig, parameters: Sequence[Parameter]) -> None:
        self.base = base
        self.parameters = tuple(parameters)
        self.spec = compile_spec(to_config(base))
        nominal = [_check_number(base, p, j) for j, p in enumerate(self.parameters)]
        cheap = [_cheap_kind(self.spec, base, p, v) for p, v in zip(self.parameters, nominal,
                                                                     strict=True)]
        plain = [(j, p) for j, p in enumerate(self.parameters) if cheap[j] is not None]
        if plain:  # both ends of every plain range must be valid model input
            _compile_at(base, plain, "low")
            _compile_at(base, plain, "high")
        self.appliers = [
            a if a is not None else _probe_kind(base, p, j, nominal[j])
            for j, (p, a) in enumerate(zip(self.parameters, cheap, strict=True))
        ]

    @property
    def kinds(self) -> dict[str, str]:
        return {p.key: a.kind for p, a in zip(self.parameters, self.appliers, strict=True)}

    def __call__(self, row: Sequence[float]) -> Spec:
        slow = {a.key: v for a, v in zip(self.appliers, row, strict=True) if a.kind == "recompile"}
        spec = _with_value(self.base, slow) if slow else self.spec
        align, dyn = dict(spec.align), dict(spec.dyn)
        weights = {k: v.copy() for k, v in spec.weights.items()}
        temperature = spec.temperature.copy()
        arrays: dict[str, np.ndarray] = {}
        for a, v in zip(self.appliers, row, strict=True):
            v = float(v)
            if a.kind == "align":
                align[a.name] = v
            elif a.kind == "dyn":
                dyn[a.name] = v
            elif a.kind == "weight":
                weights[a.name][a.index] = v
            elif a.kind == "temperature":
                temperature[a.index] = v
            elif a.kind == "linear":
                for f, slope in a.slopes.items():
                    arr = arrays.setdefault(f, getattr(spec, f).copy())
                    arr += (v - a.nominal) * slope
        return dataclasses.replace(spec, align=align, dyn=dyn, weights=weights,
                                   temperature=temperature, **arrays)


class ModelEvaluator:
    """``evaluate(X) -> Y``: run the ensemble at each sample point, common random numbers.

    ``Y[i, k]`` is output ``k`` averaged over ``replicates``; ``last_noise[i, k]`` is the variance
    of that average (replicate variance / R), kept for the noise report. The whole design runs
    as batches of points (at most ``max_rows`` points x replicates per compiled call), with the
    same numbers as one ``run_ensemble`` per point.
    """

    def __init__(
        self,
        base: DictConfig,
        parameters: Sequence[Parameter],
        *,
        replicates: int,
        seed: int | None = None,
        outputs: Sequence[str] = ("drift", "russian_leads"),
        progress: bool = False,
        max_rows: int = MAX_ROWS,
    ) -> None:
        self.variants = SpecVariants(base, parameters)
        self.max_rows = int(max_rows)
        self.replicates = int(replicates)
        self.seed = int(base.seed if seed is None else seed)
        self.outputs = tuple(outputs)
        self.progress = progress
        self.last_noise: np.ndarray | None = None
        self.runs = 0

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """All sample points as batches (:func:`alignsim.ensemble.run_points`: points of one
        structure share a compiled call, ``max_rows`` rows at most); each point's trajectory is
        the one ``run_ensemble(variant, replicates, seed)`` gives, so ``Y`` is too."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        Y = np.empty((len(X), len(self.outputs)))
        noise = np.empty_like(Y)
        points = [PointRun(self.variants(x), self.replicates) for x in X]
        bar = None
        if self.progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(X), desc="sample points", unit="pt", leave=False)
        for i, traj in run_points(points, self.seed, max_rows=self.max_rows):
            for k, o in enumerate(self.outputs):
                v = OUTPUTS[o][0](traj)
                Y[i, k] = v.mean()
                noise[i, k] = v.var(ddof=1) / len(v) if len(v) > 1 else np.nan
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        self.last_noise = noise
        self.runs += len(X)
        return Y


# ---------------------------------------------------------------------- the two stages
@dataclass
class Stage:
    """One SALib stage: its tidy index table, design, outputs and wall time."""

    method: str
    table: pd.DataFrame
    X: np.ndarray
    Y: np.ndarray
    seconds: float
    noise: pd.DataFrame


def _as_2d(Y: np.ndarray, n_out: int) -> np.ndarray:
    Y = np.asarray(Y, dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    if Y.shape[1] != n_out:
        raise ValueError(f"evaluate returned {Y.shape[1]} outputs, expected {n_out}")
    return Y


def noise_report(method: str, outputs: Sequence[str], Y: np.ndarray,
                 noise: np.ndarray | None) -> pd.DataFrame:
    """Per output: variance of Y over the design, mean noise variance of a point, their ratio."""
    rows = []
    for k, o in enumerate(outputs):
        var_y = float(np.var(Y[:, k], ddof=1)) if len(Y) > 1 else float("nan")
        nv = float(np.nanmean(noise[:, k])) if noise is not None else float("nan")
        rows.append({"method": method, "output": o, "var_y": var_y, "noise_var": nv,
                     "noise_ratio": nv / var_y if var_y > 0 else float("nan")})
    return pd.DataFrame(rows)


def morris_screen(
    prob: dict,
    evaluate: Evaluate,
    outputs: Sequence[str],
    *,
    trajectories: int = 10,
    levels: int = 4,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 200,
) -> Stage:
    """Morris elementary effects of every parameter on every output (``mu*`` ranks influence)."""
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    X = morris_sample.sample(prob, trajectories, num_levels=levels, seed=seed)

    def indices(y: np.ndarray) -> dict[str, np.ndarray]:
        res = morris_analyze.analyze(prob, X, y, num_resamples=num_resamples,
                                     conf_level=conf_level, num_levels=levels, seed=seed)
        out = {c: np.asarray(res[c], dtype=float) for c in ("mu", "mu_star", "mu_star_conf",
                                                            "sigma")}
        top = pd.Series(out["mu_star"]).max()  # NaN-skipping, as the ranking reads it
        out["mu_star_norm"] = out["mu_star"] / top if top > 0 else np.zeros_like(out["mu_star"])
        return out

    return _stage("morris", prob, X, evaluate, outputs, indices)


def _stage(method: str, prob: dict, X: np.ndarray, evaluate: Evaluate, outputs: Sequence[str],
           indices: Callable[[np.ndarray], Mapping[str, np.ndarray]]) -> Stage:
    """Both stages' common part: evaluate the design ``X`` (timed), then a table of
    ``indices(y)`` per output (one row per parameter), and the noise report."""
    t0 = time.perf_counter()
    Y = _as_2d(evaluate(X), len(outputs))
    seconds = time.perf_counter() - t0
    frames = [pd.DataFrame({"output": o, "parameter": list(prob["names"]), **indices(Y[:, k])})
              for k, o in enumerate(outputs)]
    noise = noise_report(method, outputs, Y, getattr(evaluate, "last_noise", None))
    return Stage(method, pd.concat(frames, ignore_index=True), X, Y, seconds, noise)


def rank_parameters(morris: pd.DataFrame) -> list[str]:
    """Parameters by influence: the largest normalised ``mu*`` over the outputs, descending."""
    score = morris.groupby("parameter", sort=False)["mu_star_norm"].max()
    return list(score.sort_values(ascending=False, kind="stable").index)


def sobol_indices(
    prob: dict,
    evaluate: Evaluate,
    outputs: Sequence[str],
    *,
    n: int = 64,
    seed: int = 0,
    conf_level: float = 0.95,
    num_resamples: int = 200,
) -> Stage:
    """First- and total-order Sobol indices with bootstrap intervals (no second order)."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    X = sobol_sample.sample(prob, n, calc_second_order=False, seed=seed)
    names = ("S1", "S1_conf", "ST", "ST_conf")

    def indices(y: np.ndarray) -> dict[str, np.ndarray]:
        if np.var(y) == 0:  # a constant output has no variance to share out
            return {c: np.full(prob["num_vars"], np.nan) for c in names}
        res = sobol_analyze.analyze(prob, y, calc_second_order=False,
                                    num_resamples=num_resamples, conf_level=conf_level, seed=seed)
        return {c: np.asarray(res[c], dtype=float) for c in names}

    return _stage("sobol", prob, X, evaluate, outputs, indices)


@dataclass
class Analysis:
    settings: Settings
    morris: Stage
    sobol: Stage
    top: list[Parameter]
    kinds: dict[str, str]

    @property
    def noise(self) -> pd.DataFrame:
        return pd.concat([self.morris.noise, self.sobol.noise], ignore_index=True)

    def summary(self) -> dict:
        s = self.settings
        return {
            "outputs": {o: OUTPUTS[o][1] for o in s.outputs},
            "replicates": s.replicates,
            "parameters": [dataclasses.asdict(p) for p in s.parameters],
            "applied_as": self.kinds,
            "morris": {"trajectories": s.morris_trajectories, "levels": s.morris_levels,
                       "points": len(self.morris.X), "seconds": round(self.morris.seconds, 2),
                       "ranking": rank_parameters(self.morris.table)},
            "sobol": {"n": s.n, "points": len(self.sobol.X),
                      "seconds": round(self.sobol.seconds, 2),
                      "parameters": [p.name for p in self.top]},
            "noise": self.noise.to_dict(orient="records"),
        }


def run_analysis(
    base: DictConfig,
    settings: Settings,
    *,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> Analysis:
    """Morris on all parameters, then Sobol on the ``settings.top`` most influential ones."""
    say = log or (lambda _m: None)
    params = list(settings.parameters)
    ev = ModelEvaluator(base, params, replicates=settings.replicates,
                        outputs=settings.outputs, progress=progress)
    kinds = ev.variants.kinds
    say(f"Morris: {settings.morris_trajectories} trajectories x {len(params) + 1} points, "
        f"{settings.replicates} replicates each ...")
    morris = morris_screen(problem(params), ev, settings.outputs,
                           trajectories=settings.morris_trajectories,
                           levels=settings.morris_levels, seed=settings.seed,
                           conf_level=settings.conf_level, num_resamples=settings.num_resamples)
    say(f"Morris: {len(morris.X)} points in {morris.seconds:.1f} s")
    by_name = {p.name: p for p in params}
    top = [by_name[n] for n in rank_parameters(morris.table)[: settings.top]]
    if len(top) < 2:  # Sobol on a single input is trivially S1 = ST = 1: keep two
        top = [by_name[n] for n in rank_parameters(morris.table)[:2]] if len(params) > 1 else top
    ev_top = ModelEvaluator(base, top, replicates=settings.replicates,
                            outputs=settings.outputs, progress=progress)
    say(f"Sobol: N={settings.n} x {len(top) + 2} points on {', '.join(p.name for p in top)} ...")
    sobol = sobol_indices(problem(top), ev_top, settings.outputs, n=settings.n,
                          seed=settings.seed, conf_level=settings.conf_level,
                          num_resamples=settings.num_resamples)
    say(f"Sobol: {len(sobol.X)} points in {sobol.seconds:.1f} s")
    return Analysis(settings, morris, sobol, top, kinds)


# ------------------------------------------------------------------------- reporting
def indices_figure(analysis: Analysis):
    """Morris ``mu*`` (normalised) and Sobol S1/ST with their intervals, one column per output."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    outputs = analysis.settings.outputs
    fig, axes = plt.subplots(2, len(outputs), figsize=(5.2 * len(outputs), 8.5), squeeze=False)
    morris, sobol = analysis.morris.table, analysis.sobol.table
    for c, o in enumerate(outputs):
        m = morris[morris.output == o].sort_values("mu_star", ascending=False)
        ax = axes[0, c]
        sns.barplot(data=m, x="mu_star", y="parameter", color="#4c72b0", ax=ax)
        ax.errorbar(m["mu_star"], np.arange(len(m)), xerr=m["mu_star_conf"], fmt="none",
                    ecolor="black", capsize=2, lw=0.8)
        ax.set(title=f"Morris screening: {o}", ylabel="",
               xlabel="mu* (mean |elementary effect|, per unit range)")
        s = sobol[sobol.output == o]
        order = list(s.sort_values("ST", ascending=False)["parameter"])
        long = pd.concat([
            pd.DataFrame({"parameter": s.parameter, "index": "S1 (first order)",
                          "value": s.S1, "conf": s.S1_conf}),
            pd.DataFrame({"parameter": s.parameter, "index": "ST (total)",
                          "value": s.ST, "conf": s.ST_conf}),
        ], ignore_index=True)
        ax = axes[1, c]
        hues = ["S1 (first order)", "ST (total)"]
        sns.barplot(data=long, x="value", y="parameter", hue="index", order=order,
                    hue_order=hues, palette=["#55a868", "#c44e52"], ax=ax)
        for k, h in enumerate(hues):
            # bars of hue k sit at row i + offset (seaborn dodges two hues by +-0.2); place the
            # intervals by row rather than by drawn bar, since NaN indices (a constant output
            # at tiny N) draw no bar
            sub = long[long["index"] == h].set_index("parameter").loc[order]
            ys = np.arange(len(order)) + (-0.2 if k == 0 else 0.2)
            ok = np.isfinite(sub["value"].to_numpy()) & np.isfinite(sub["conf"].to_numpy())
            ax.errorbar(sub["value"].to_numpy()[ok], ys[ok], xerr=sub["conf"].to_numpy()[ok],
                        fmt="none", ecolor="black", capsize=2, lw=0.8)
        ax.axvline(0, color="grey", lw=0.6)
        ax.set(title=f"Sobol indices: {o}", xlabel=f"index ({analysis.settings.conf_level:.0%} CI)",
               ylabel="")
        ax.legend(loc="lower right", fontsize=8)
    s = analysis.settings
    fig.suptitle(f"Sensitivity of the end-of-run results ({s.replicates} replicates per point, "
                 f"Morris r={s.morris_trajectories}, Sobol N={s.n})", fontsize=11)
    fig.tight_layout()
    return fig


SOBOL_N_ENOUGH = 256  # base samples below which Sobol indices are flagged as rough (assumption)


def small_sample_warnings(analysis: Analysis) -> list[str]:
    """One line per output whose leading Sobol index is too uncertain to read.

    Why: with a small base sample the bootstrap interval can be as wide as the index itself (an
    S1 of 1.03 ± 0.77 was once printed without comment); the reader must see the interval and
    how to narrow it. Flagged when ``N < SOBOL_N_ENOUGH`` or the interval is wider than half
    the index.
    """
    n = analysis.settings.n
    lines = []
    for output, rows in analysis.sobol.table.groupby("output", sort=False):
        top = rows.sort_values("ST", ascending=False, kind="stable").iloc[0]
        wide = not top.ST_conf <= 0.5 * abs(top.ST)  # NaN intervals count as wide
        if n < SOBOL_N_ENOUGH or wide:
            lines.append(
                f"{PROG}: warning: Sobol N={n} is small for {output}: "
                f"ST({top.parameter}) = {top.ST:.2f} ± {top.ST_conf:.2f} (95 %); "
                f"use +sensitivity.n={max(SOBOL_N_ENOUGH, 4 * n)} or more"
            )
    return lines


def format_tables(analysis: Analysis) -> str:
    """The printed report: Morris ranking, Sobol indices, noise levels, times."""
    fmt = {"float_format": lambda v: f"{v:.4f}"}
    m = analysis.morris.table.sort_values(["output", "mu_star"], ascending=[True, False])
    s = analysis.sobol.table.sort_values(["output", "ST"], ascending=[True, False])
    lines = [
        f"Morris screening ({len(analysis.morris.X)} points, {analysis.morris.seconds:.1f} s):",
        m[["output", "parameter", "mu_star", "mu_star_conf", "mu", "sigma"]].to_string(
            index=False, **fmt),
        "",
        f"Sobol indices ({len(analysis.sobol.X)} points, {analysis.sobol.seconds:.1f} s):",
        s[["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]].to_string(index=False, **fmt),
        "",
        "Replicate noise (variance of a point's replicate mean / variance of Y over the design):",
        analysis.noise.to_string(index=False, float_format=lambda v: f"{v:.3g}"),
    ]
    return "\n".join(lines)


def write_outputs(analysis: Analysis, out_dir: Path, config: object = None) -> list[Path]:
    """Index tables (csv + parquet), the noise table, a JSON summary and the figure; every file
    carries the provenance of ``config`` (the base model config)."""
    from alignsim.plots import save_figure
    from alignsim.results import atomic_write, provenance, write_json, write_parquet

    record = provenance(getattr(config, "seed", None), config)

    out_dir = Path(out_dir)
    written = []
    for name, frame in (("morris", analysis.morris.table), ("sobol", analysis.sobol.table),
                        ("noise", analysis.noise)):
        written.append(atomic_write(out_dir / f"{name}.csv",
                                    lambda p, f=frame: f.to_csv(p, index=False)))
        written.append(write_parquet(frame, out_dir / f"{name}.parquet", record))
    written.append(write_json({**analysis.summary(), "provenance": record},
                              out_dir / "sensitivity.json"))
    written.append(save_figure(indices_figure(analysis), out_dir / "sensitivity.png", dpi=110))
    return written


# ------------------------------------------------------------------------------- CLI
def _replicates_from_command_line() -> int | None:
    """``replicates=R`` given on the command line (else the sensitivity file's value is used)."""
    from hydra.core.hydra_config import HydraConfig

    for o in HydraConfig.get().overrides.task:
        key, _, value = o.lstrip("+~").partition("=")
        if key == "replicates":
            return int(value)
    return None


def model_config(cfg: DictConfig) -> DictConfig:
    """``cfg`` without its ``hydra`` and ``sensitivity`` nodes, still typed by the schema."""
    base = cfg.copy()
    with open_dict(base):
        for k in ("hydra", "sensitivity"):
            if k in base:
                del base[k]
    return base


def _task(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    from alignsim.errors import bad_input
    from alignsim.runner import discard_output_dir

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        settings = load_settings(cfg, replicates=_replicates_from_command_line())
        base = model_config(cfg)
        analysis = run_analysis(base, settings, progress=bool(cfg.get("progress", False)),
                                log=lambda m: print(m, file=sys.stderr, flush=True))
    except ConfigError as exc:
        # Exit here: an exception leaving the task would make Hydra print a second line.
        discard_output_dir(run_dir)
        bad_input(exc, PROG)
    except Exception:  # a crash: leave no empty job folder behind, show the traceback
        discard_output_dir(run_dir)
        raise
    out = Path(settings.out) if settings.out else run_dir
    write_outputs(analysis, out, base)
    print(format_tables(analysis))
    for line in small_sample_warnings(analysis):
        print(line, file=sys.stderr)
    print(f"wrote {out}")


TOOL = Tool(
    prog=PROG,
    summary="""Global sensitivity of the end-of-run results (the drift of the Russian–Turkic axis,
    P(Russian sphere leads), ...) to the assumption parameters and ranges of
    conf/sensitivity/<name>.yaml, with SALib in two stages: Morris elementary effects screen every
    parameter cheaply, then Sobol indices (first and total order, bootstrap intervals) quantify the
    most influential ones. Every sample point averages `replicates` runs under common random
    numbers; the report says how much of the spread is replicate noise. Writes morris, sobol and
    noise tables (.csv, .parquet), sensitivity.json and sensitivity.png.""",
    options=(
        out_option("the output folder (Hydra's run folder, like hydra.run.dir=DIR; default "
                   "outputs/<date>/<time>/); +sensitivity.out=DIR, the older spelling, still works "
                   "(it writes the results there, Hydra's record stays in its run folder)"),
        Option("+sensitivity.KEY=VALUE", "", "a setting of conf/sensitivity/<name>.yaml: name, "
               "select, outputs, morris_trajectories, morris_levels, top, n, conf_level, "
               "num_resamples, seed; replicates=R sets the replicates per point", to_hydra=True),
    ),
    examples=(f"{PROG} replicates=32 +sensitivity.n=64 +sensitivity.top=4 --out outputs/sens",
              f"{PROG} scenario=baseline +sensitivity.select=[align.econ,russia.punish]"),
    hydra_flags=True,
)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point: answer ``--help``, take ``--out``, then run the Hydra job :func:`_task`."""
    tool_main(TOOL, argv, _run)


def _run(args: ToolArgs) -> None:
    out = args.get("out")
    hydra_job(_task, args.hydra + ([f"hydra.run.dir={out}"] if out else []), PROG)


if __name__ == "__main__":
    main()
