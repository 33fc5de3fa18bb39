"""Bayesian calibration: a posterior over the assumption parameters by ABC-SMC (pyabc).

Why a posterior: the point calibration (:mod:`alignsim.validation.calibrate`) reports one value per
parameter and says nothing of how well the patterns pin it down — several checks are one-sided,
so whole regions meet them equally well. Approximate Bayesian computation keeps every parameter
set whose simulated patterns come close enough to the record, and sequential Monte Carlo
(ABC-SMC, pyabc) tightens "close enough" population by population.

- **Priors**: uniform over the calibration's bounds (``calibration.parameters`` of
  ``conf/validation/<name>.yaml``).
- **Data**: the ``fit`` patterns (2022–2023). A simulation runs ``posterior.replicates``
  replicates of the model under test (the validation's ``model:`` list, ``history_endogenous``)
  on a fresh stream (keyed by a hash of the parameter values) and reads each fit pattern's
  normalised error (:func:`alignsim.validation.patterns.evaluate`: 0 when met, in tolerances
  otherwise).
- **Distance**: the root sum of squares of those errors (the calibration's J without the pull
  toward the defaults); 0 means every fit pattern is met.
- **Posterior predictive**: ``predictive_draws`` draws of the final population (by weight), each
  run over the whole period with ``predictive_replicates`` replicates; for every ``holdout``
  pattern the share of draws whose ensemble meets it (``predictive.csv``).

``payoffs=posterior`` (``conf/payoffs/posterior.yaml``) names a stored file of equally weighted
draws; :func:`posterior_ensemble` gives replicate ``r`` draw ``r mod n`` (its own compiled spec)
on its own stream ``spawn_key=(r,)``, so the band of such a run includes parameter uncertainty.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.draws import posterior_ensemble, read_draws  # noqa: F401 - re-exported (tests, notebooks)
from alignsim.ensemble import run_ensemble
from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, compile_spec
from alignsim.tools import set_config_values
from alignsim.validation.calibrate import FreeParameter, free_parameters, truncate_spec
from alignsim.validation.patterns import (
    PatternConf,
    PatternResult,
    evaluate_all,
    required_months,
)

PROG = "alignsim-calibrate"


# -------------------------------------------------------------------------- the simulator
@dataclass
class PatternSimulator:
    """θ -> the fit patterns' normalised errors, on a fresh replicate stream per simulation."""

    base: Config
    patterns: Mapping[str, PatternConf]
    params: Sequence[FreeParameter]
    replicates: int
    seed: int
    months: int = 0
    calls: int = 0

    def __post_init__(self) -> None:
        if not self.patterns:
            raise ConfigError("validation.patterns", "no pattern to fit (split: fit)")
        self.months = required_months(compile_spec(self.base), self.patterns)

    def results(self, x: Sequence[float], key: int) -> list[PatternResult]:
        cfg = set_config_values(self.base, dict(zip([p.key for p in self.params], x,
                                                    strict=True)))
        spec = truncate_spec(compile_spec(cfg), self.months)
        traj = run_ensemble(spec, self.replicates, self.seed, key=(int(key),))
        return evaluate_all(traj, self.patterns)

    def __call__(self, x: Sequence[float]) -> np.ndarray:
        """Errors of the fit patterns (sorted by date, name) for one simulation, on the stream
        keyed by the parameter values (distinct per particle, the same in any worker process)."""
        self.calls += 1
        return np.array([p.error for p in self.results(x, stream_key(x))])


def stream_key(x: Sequence[float]) -> int:
    """A replicate-stream key from parameter values: a hash of their bytes (63 bits)."""
    import hashlib

    digest = hashlib.sha256(np.asarray(x, dtype=np.float64).tobytes()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def distance(errors: np.ndarray) -> float:
    """The ABC distance: the root sum of squared normalised errors (0: all patterns met)."""
    return float(np.sqrt(np.sum(np.square(errors))))


def safe_name(key: str) -> str:
    """A parameter key as a pyabc parameter name (pyabc stores names in SQL columns)."""
    return key.replace(".", "__")


# ---------------------------------------------------------------------------- ABC-SMC
@dataclass
class PosteriorResult:
    """The final ABC-SMC population, its history and what it cost."""

    params: list[FreeParameter]
    samples: np.ndarray  # (P, k) parameter values of the final population
    weights: np.ndarray  # (P,) normalised importance weights
    generations: list[dict[str, Any]]  # per population: t, epsilon, particles, simulations
    simulations: int
    seconds: float
    replicates: int
    seed: int
    population: int
    database: str

    def frame(self):
        import pandas as pd

        cols = {p.key: self.samples[:, j] for j, p in enumerate(self.params)}
        return pd.DataFrame({**cols, "weight": self.weights})

    def summary(self) -> dict[str, dict[str, float]]:
        """Weighted mean, sd and 5/50/95 % quantiles of each parameter, with its bounds."""
        out = {}
        for j, p in enumerate(self.params):
            v = self.samples[:, j]
            q = weighted_quantiles(v, self.weights, [0.05, 0.5, 0.95])
            mean = float(np.sum(self.weights * v))
            sd = float(np.sqrt(np.sum(self.weights * (v - mean) ** 2)))
            out[p.key] = {"mean": mean, "sd": sd, "q05": q[0], "median": q[1], "q95": q[2],
                          "lo": p.lo, "hi": p.hi, "default": p.default}
        return out


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: Sequence[float]) -> list:
    """Quantiles of a weighted sample (the inverse of its weighted empirical CDF, midpoints)."""
    keep = np.asarray(weights) > 0
    order = np.argsort(np.asarray(values)[keep])
    v, w = np.asarray(values)[keep][order], np.asarray(weights)[keep][order]
    cdf = (np.cumsum(w) - 0.5 * w) / np.sum(w)
    return [float(np.interp(q, cdf, v)) for q in qs]


def run_abc(sim: PatternSimulator, conf: Any, database: Path, *,
            progress: bool = False) -> PosteriorResult:
    """ABC-SMC with pyabc: uniform priors on the bounds, the pattern distance, a median
    epsilon schedule, stopping at ``conf.simulations`` simulations or ``conf.generations``
    populations or ``conf.min_epsilon``."""
    import logging

    import pyabc

    for name in ("ABC", "Epsilon", "Data_plot", "History", "Sampler", "Population",
                 "Distance", "Acceptor", "Transition", "Redis"):
        logging.getLogger(f"ABC.{name}" if name != "ABC" else name).setLevel(logging.WARNING)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    names = [safe_name(p.key) for p in sim.params]
    prior = pyabc.Distribution(**{n: pyabc.RV("uniform", p.lo, p.hi - p.lo)
                                  for n, p in zip(names, sim.params, strict=True)})

    def model(par) -> dict:
        return {"errors": sim([float(par[n]) for n in names])}

    def dist(x, x0) -> float:
        return distance(x["errors"])

    np.random.seed(int(conf.seed))  # noqa: NPY002  (pyabc draws from numpy's global generator)
    if int(conf.processes) > 1:  # forked workers; the population then depends on their timing
        sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=int(conf.processes),
                                                             check_max_eval=True)
    else:
        sampler = pyabc.sampler.SingleCoreSampler(check_max_eval=True)
    sampler.show_progress = bool(progress)
    abc = pyabc.ABCSMC(model, prior, dist, population_size=int(conf.population),
                       sampler=sampler)
    database = Path(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    if database.exists():
        database.unlink()
    t0 = time.perf_counter()
    abc.new(f"sqlite:///{database}", {"errors": np.zeros(len(sim.patterns))})
    history = abc.run(minimum_epsilon=float(conf.min_epsilon),
                      max_nr_populations=int(conf.generations),
                      max_total_nr_simulations=int(conf.simulations))
    return result_from_history(history, sim.params, conf, sim.replicates, sim.seed,
                               time.perf_counter() - t0)


def result_from_history(history, params: Sequence[FreeParameter], conf: Any, replicates: int,
                        seed: int, seconds: float | None = None) -> PosteriorResult:
    """The last completed population of a pyabc history (also of an interrupted run: pyabc
    writes each population to its SQLite database as it completes)."""
    names = [safe_name(p.key) for p in params]
    frame, weights = history.get_distribution(m=0, t=history.max_t)
    samples = np.column_stack([frame[n].to_numpy(float) for n in names])
    pops = history.get_all_populations()
    gens = [{"t": int(r.t), "epsilon": float(r.epsilon), "particles": int(r.particles),
             "simulations": int(r.samples)} for r in pops.itertuples() if r.t >= 0]
    if seconds is None:  # from the database's own clock: the populations' wall times
        seconds = float(pops["wall_time"].sum())
    return PosteriorResult(
        params=list(params), samples=samples, weights=np.asarray(weights) / np.sum(weights),
        generations=gens, simulations=int(history.total_nr_simulations), seconds=seconds,
        replicates=int(replicates), seed=int(seed), population=int(conf.population),
        database=Path(str(history.db).removeprefix("sqlite:///")).name,
    )


def load_history(database: str | Path):
    """Open a pyabc SQLite history (``validation.posterior.resume_from``)."""
    import pyabc

    path = Path(database)
    if not path.is_file():
        raise ConfigError("validation.posterior.resume_from", f"no database {str(path)!r}")
    return pyabc.History(f"sqlite:///{path.absolute()}")


def resample(result: PosteriorResult, n: int, seed: int) -> np.ndarray:
    """``n`` equally weighted draws ``(n, k)`` from the weighted population (systematic)."""
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(result.weights)
    cdf[-1] = 1.0
    u = (rng.random() + np.arange(n)) / n
    return result.samples[np.searchsorted(cdf, u)]


# ------------------------------------------------------------------ posterior predictive
def predictive(base: Config, patterns: Mapping[str, PatternConf], params: Sequence[FreeParameter],
               draws: np.ndarray, replicates: int, seed: int):
    """For each draw, the holdout patterns on its ensemble: a long frame (draw, pattern, date,
    statistic, mean, passed) and the summary per pattern (share of draws meeting it)."""
    import pandas as pd

    hold = {n: c for n, c in patterns.items() if c.split == "holdout"}
    rows = []
    spec0 = compile_spec(base)
    need = required_months(spec0, hold)
    for d, x in enumerate(draws):
        cfg = set_config_values(base, dict(zip([p.key for p in params], x, strict=True)))
        traj = run_ensemble(truncate_spec(compile_spec(cfg), need), replicates, seed)
        for p in evaluate_all(traj, hold):
            rows.append({"draw": d, "pattern": p.name, "date": str(p.when),
                         "statistic": p.statistic, "mean": p.mean, "passed": p.passed})
    long = pd.DataFrame(rows)
    table = (long.groupby(["pattern", "date"], sort=False)
             .agg(share_meeting=("passed", "mean"), statistic_mean=("statistic", "mean"),
                  statistic_q05=("statistic", lambda s: s.quantile(0.05)),
                  statistic_q95=("statistic", lambda s: s.quantile(0.95)),
                  mean_q05=("mean", lambda s: s.quantile(0.05)),
                  mean_q95=("mean", lambda s: s.quantile(0.95)))
             .reset_index().sort_values(["date", "pattern"]))
    table.insert(2, "target", [_target(hold[n]) for n in table["pattern"]])
    table.insert(3, "source", [hold[n].source for n in table["pattern"]])
    table["draws"] = len(draws)
    table["replicates_per_draw"] = int(replicates)
    return long, table


def _target(c: PatternConf) -> str:
    from alignsim.validation.patterns import PatternResult

    dummy = PatternResult("", c, None, 0, 0, 0, 0, False, 0, np.zeros(0))  # type: ignore[arg-type]
    return dummy.target_text


# -------------------------------------------------------------------------------- figures
def marginals_figure(result: PosteriorResult):
    """Weighted histograms of each parameter over its prior range (the default marked)."""
    from alignsim.plots import theme

    plt, _ = theme("notebook")
    k = len(result.params)
    fig, axes = plt.subplots(1, k, figsize=(3.6 * k, 3.2), layout="constrained", squeeze=False)
    summ = result.summary()
    for j, (ax, p) in enumerate(zip(axes[0], result.params, strict=True)):
        ax.hist(result.samples[:, j], bins=25, range=(p.lo, p.hi), weights=result.weights,
                color="C0", alpha=0.8, density=True, label="posterior")
        ax.axhline(1.0 / (p.hi - p.lo), color="0.5", ls=":", label="prior (uniform)")
        s = summ[p.key]
        ax.axvspan(s["q05"], s["q95"], color="C1", alpha=0.15, label="90 % interval")
        ax.axvline(p.default, color="C3", ls="--", lw=1, label="default")
        ax.set_xlim(p.lo, p.hi)
        ax.set_title(p.key.split(".")[-1] if "capacity" not in p.key else "capacity effort",
                     fontsize=9)
        ax.set_xlabel(p.key, fontsize=6)
        ax.tick_params(labelsize=7)
    axes[0][0].legend(fontsize=6, loc="upper right")
    fig.suptitle(f"ABC-SMC posterior ({result.simulations} simulations, "
                 f"{len(result.generations)} populations of {result.population})", fontsize=10)
    return fig


def pairs_figure(result: PosteriorResult):
    """Pairwise scatter of the final population (point size by weight), histograms on the
    diagonal: where the patterns trade one parameter against another."""
    from alignsim.plots import theme

    plt, _ = theme("notebook")
    k = len(result.params)
    fig, axes = plt.subplots(k, k, figsize=(2.6 * k, 2.6 * k), layout="constrained",
                             squeeze=False)
    size = 4 + 400 * result.weights / result.weights.max() / np.sqrt(len(result.weights))
    for i, pi in enumerate(result.params):
        for j, pj in enumerate(result.params):
            ax = axes[i][j]
            if i == j:
                ax.hist(result.samples[:, i], bins=20, range=(pi.lo, pi.hi),
                        weights=result.weights, color="C0")
            else:
                ax.scatter(result.samples[:, j], result.samples[:, i], s=size, alpha=0.4,
                           color="C0", lw=0)
                ax.set_ylim(pi.lo, pi.hi)
            ax.set_xlim(pj.lo, pj.hi)
            ax.tick_params(labelsize=6)
            if i == k - 1:
                ax.set_xlabel(pj.key.split(".")[-1], fontsize=7)
            if j == 0:
                ax.set_ylabel(pi.key.split(".")[-1], fontsize=7)
    fig.suptitle("posterior pairs (final population)", fontsize=10)
    return fig


def predictive_figure(long, table, patterns: Mapping[str, PatternConf]):
    """Per holdout pattern: the posterior-predictive spread of the ensemble statistic (over
    draws) against the target, and the share of draws meeting the pattern."""
    from alignsim.plots import theme

    plt, _ = theme("notebook")
    names = list(table["pattern"])
    ncol = 5
    nrow = int(np.ceil(len(names) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.8 * nrow), layout="constrained",
                             squeeze=False)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    for ax, name in zip(axes.ravel(), names, strict=False):
        c = patterns[name]
        sub = long[long["pattern"] == name]
        col = "statistic" if c.check.startswith("share") else "mean"
        v = sub[col].to_numpy(float)
        lo, hi = np.quantile(v, [0.05, 0.95])
        ax.hist(v, bins=20, color="C0", alpha=0.7)
        ax.axvspan(lo, hi, color="C0", alpha=0.1)
        if c.check.startswith("share"):
            ax.axvline(c.min_fraction, color="C1", lw=2, ls="--")
            ax.set_xlabel("share of replicates meeting it", fontsize=7)
        else:
            ax.axvspan(c.target - c.tolerance, c.target + c.tolerance, color="C1", alpha=0.2)
            ax.axvline(c.target, color="C1", lw=2)
            ax.set_xlabel(f"ensemble mean ({c.unit})", fontsize=7)
        share = float(table.loc[table["pattern"] == name, "share_meeting"].iloc[0])
        ax.set_title(f"{name}\n{share:.0%} of draws meet it", fontsize=8,
                     color="C2" if share >= 0.5 else "C3")
        ax.tick_params(labelsize=6)
    fig.suptitle("posterior predictive, holdout patterns (orange: target / threshold; band: "
                 "90 % of draws)", fontsize=10)
    return fig


# ------------------------------------------------------------------------- draws files
DRAWS_COLUMNS = ("draw",)


def write_draws(result: PosteriorResult, path: Path, n: int, seed: int, meta: dict) -> Path:
    """Store ``n`` equally weighted draws (CSV: ``draw`` and one column per dotted key) with a
    commented provenance header, small enough for git (a few kB)."""
    from alignsim.results import atomic_write, canonical_json

    draws = resample(result, n, seed)
    keys = [p.key for p in result.params]
    lines = [f"# {line}" for line in canonical_json(meta).splitlines()]
    lines.append(",".join(["draw", *keys]))
    lines += [",".join([str(i), *(f"{v:.9g}" for v in row)]) for i, row in enumerate(draws)]
    return atomic_write(Path(path), lambda p: p.write_text("\n".join(lines) + "\n"))


# ---------------------------------------------------------------------------- the tool
@dataclass
class PosteriorOutputs:
    files: dict[str, str] = field(default_factory=dict)


def run_posterior(base: Config, vconf: Any, out_dir: Path, meta: dict, *,
                  progress: bool = False) -> dict:
    """The whole ``--posterior`` job: ABC-SMC, predictive, figures, files; returns the JSON."""
    from alignsim.plots import save_figure
    from alignsim.results import atomic_write, provenance, write_json, write_parquet

    conf = vconf.posterior
    _check(conf)
    fit = {n: c for n, c in vconf.patterns.items() if c.split == "fit"}
    params = free_parameters(base, vconf.calibration.parameters)
    sim = PatternSimulator(base, fit, params, int(conf.replicates), int(base.seed))
    out_dir = Path(out_dir)
    if conf.resume_from:  # summarise a run already made (or interrupted) instead of sampling
        result = result_from_history(load_history(conf.resume_from), params, conf,
                                     int(conf.replicates), int(base.seed))
    else:
        result = run_abc(sim, conf, out_dir / "abc.db", progress=progress)
    t0 = time.perf_counter()
    draws = resample(result, int(conf.predictive_draws), int(conf.seed))
    long, table = predictive(base, vconf.patterns, params, draws,
                             int(conf.predictive_replicates), int(base.seed))
    pred_s = time.perf_counter() - t0
    figs = {"marginals": marginals_figure(result), "pairs": pairs_figure(result),
            "predictive_bands": predictive_figure(long, table, vconf.patterns)}
    record = provenance(base.seed, base, posterior_seed=int(conf.seed))
    files = {"posterior": str(write_parquet(result.frame(), out_dir / "posterior.parquet",
                                            record)),
             "predictive": str(atomic_write(out_dir / "predictive.csv",
                                            lambda p: table.to_csv(p, index=False)))}
    for name, fig in figs.items():
        files[name] = str(save_figure(fig, out_dir / f"posterior_{name}.png"))
    draws_meta = {"what": "equally weighted ABC-SMC posterior draws (systematic resample)",
                  "simulations": result.simulations, "provenance": record}
    files["draws"] = str(write_draws(result, out_dir / "posterior_draws.csv",
                                     int(conf.stored_draws), int(conf.seed), draws_meta))
    doc = {"method": "pyabc ABC-SMC", "simulations": result.simulations,
           "seconds": round(result.seconds, 1), "predictive_seconds": round(pred_s, 1),
           "population": result.population, "replicates_per_simulation": result.replicates,
           "generations": result.generations, "summary": result.summary(),
           "fit_patterns": sorted(fit), "predictive": table.to_dict(orient="records"),
           "posterior_conf": dataclasses.asdict(conf) if dataclasses.is_dataclass(conf)
           else dict(conf), **meta, "files": {k: Path(v).name for k, v in files.items()},
           "provenance": record}
    write_json(doc, out_dir / "posterior.json")
    files["json"] = str(out_dir / "posterior.json")
    return doc


def _check(conf: Any) -> None:
    for key, lo in (("replicates", 1), ("population", 2), ("simulations", 1), ("generations", 1),
                    ("processes", 1),
                    ("predictive_draws", 1), ("predictive_replicates", 1), ("stored_draws", 1)):
        if int(getattr(conf, key)) < lo:
            raise ConfigError(f"validation.posterior.{key}", f"must be >= {lo}, "
                              f"got {getattr(conf, key)}")
    if float(conf.min_epsilon) < 0:
        raise ConfigError("validation.posterior.min_epsilon", "must be >= 0")


def format_summary(doc: dict) -> str:
    """The printed summary: cost, epsilon schedule, parameters, predictive table."""
    lines = [f"posterior: pyabc ABC-SMC, {doc['simulations']} simulations × "
             f"{doc['replicates_per_simulation']} replicates in {doc['seconds']:.0f} s "
             f"({len(doc['generations'])} populations of {doc['population']}; epsilon "
             + " → ".join(f"{g['epsilon']:.3g}" for g in doc["generations"]) + ")"]
    lines.append(f"  {'parameter':<62} {'default':>8} {'mean':>9} {'median':>9} "
                 f"{'90 % interval':>22}  bounds")
    for key, s in doc["summary"].items():
        lines.append(f"  {key:<62} {s['default']:>8.4g} {s['mean']:>9.4g} {s['median']:>9.4g} "
                     f"  [{s['q05']:.4g}, {s['q95']:.4g}]".ljust(22) + f"  [{s['lo']:g}, "
                     f"{s['hi']:g}]")
    lines.append(f"\nposterior predictive (held-out patterns; {doc['predictive'][0]['draws']} "
                 f"draws × {doc['predictive'][0]['replicates_per_draw']} replicates, "
                 f"{doc['predictive_seconds']:.0f} s):")
    for row in doc["predictive"]:
        lines.append(f"  {row['pattern']:<28} {row['date']}  {row['target']:<44} "
                     f"{row['share_meeting']:>5.0%} of draws meet it")
    return "\n".join(lines)


def main_posterior(args: Any, prog: str = PROG) -> None:
    """``alignsim-calibrate --posterior``: compose, run, write, print."""
    from datetime import datetime

    from omegaconf import OmegaConf

    from alignsim.config import compose_dictconfig, to_config
    from alignsim.validation.validate import load_inputs

    vconf, overrides = load_inputs(args)
    dcfg = compose_dictconfig(overrides)
    base = to_config(dcfg)
    stamp = datetime.now().strftime("%Y-%m-%d/%H-%M-%S")
    out_dir = Path(args.get("out") or f"outputs/posterior/{stamp}")
    meta = {"command": [prog, *args.words], "config": OmegaConf.to_container(dcfg, resolve=True)}
    doc = run_posterior(base, vconf, out_dir, meta, progress=bool(base.progress))
    print(format_summary(doc))
    print("wrote " + ", ".join(doc["files"].values()), file=sys.stdout)
