"""Scenario discovery on a sweep: under which assumptions does a condition hold?

    alignsim-discover SWEEP_DIR --where "leader_end == 'turkic'"
    alignsim-discover SWEEP_DIR --where "share_russian_end < 0.35" --threshold 0.25
    alignsim-discover SWEEP_DIR --where "drift_end < 0" --per-replicate

Why PRIM (Friedman & Fisher 1999; Bryant & Lempert 2010, scenario discovery): a policy analyst
wants a few ranges of the uncertain inputs -- a box -- inside which the outcome of interest is
likely (density) and which holds most of the cases where it happens (coverage), not a black-box
classifier. The implementation is EMA Workbench's (``ema_workbench.analysis.prim``, Kwakkel
2017), not a hand-written one; so are the feature scores (extra trees, Jaxa-Rozen & Kwakkel 2018).

By default the unit is the *point*: the share of a point's replicates meeting the condition,
thresholded (``--threshold``, default 0.5), so that replicate noise does not peel boxes around
lucky draws; ``--per-replicate`` uses each run instead. Only the swept parameters (those that take
more than one value) are inputs. The box kept from PRIM's peeling trajectory is the one with the
largest coverage among those with density of at least ``--min-density`` (default 0.8; the densest
box if none reaches it); ``--boxes N`` looks for up to N boxes, each on the cases the earlier ones
left.

Writes into ``SWEEP_DIR/discovery/<name>/`` (``--name``, default a slug of the condition):
``boxes.csv`` (per box and restricted parameter: its range in the box, the range its values were
observed over, PRIM's quasi-p-value of each restricted side (NaN for a side left open), and the
box's coverage, density, mass), ``trajectory.csv`` (the peeling trajectory), ``features.csv``
(feature scores), ``tradeoff.png`` (coverage against density along the peeling, the kept box
marked), ``pairs.png`` (the most influential parameters, points coloured by the condition) and
``discovery.json`` (the condition, the settings, the sweep's provenance). Bad input -- a folder
without results, a condition that does not parse or names no outcome column -- is one line and
exit status 2, before anything is written.
"""

from __future__ import annotations

import argparse
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alignsim.results import provenance, read_provenance, write_json

RESULTS = "results.parquet"


class DiscoveryError(Exception):
    """Bad input to the discovery (one line, exit status 2)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message


@dataclass(frozen=True)
class Cases:
    """PRIM's inputs: one row per unit (point or run), its parameters and whether it is a case."""

    x: pd.DataFrame  # swept parameters
    y: np.ndarray  # bool, the condition holds (for a point: share >= threshold)
    share: np.ndarray  # for a point: share of its replicates meeting the condition
    unit: str  # "point" or "replicate"


# ------------------------------------------------------------------------------ inputs
def read_results(sweep_dir: Path) -> pd.DataFrame:
    path = Path(sweep_dir) / RESULTS
    if not path.is_file():
        raise DiscoveryError("SWEEP_DIR", f"no {RESULTS} in {sweep_dir} (run the sweep, or "
                             "alignsim-report on its folder)")
    return pd.read_parquet(path)


def parameter_columns(results: pd.DataFrame) -> list[str]:
    """The swept parameters: the columns before ``point_key`` (the report puts them first) that
    take more than one value and are numbers."""
    if "point_key" not in results.columns:
        raise DiscoveryError("SWEEP_DIR", f"{RESULTS} has no point_key column: not a sweep table")
    lead = list(results.columns[: list(results.columns).index("point_key")])
    swept = [c for c in lead if results[c].nunique(dropna=False) > 1]
    numeric = [c for c in swept if pd.api.types.is_numeric_dtype(results[c])]
    if not numeric:
        raise DiscoveryError("SWEEP_DIR", "the sweep varies no numeric parameter: nothing to "
                             "discover")
    return numeric


def condition(results: pd.DataFrame, where: str, params: list[str]) -> pd.Series:
    """The condition per run, evaluated by pandas on the results table."""
    outcomes = [c for c in results.columns if c not in (*params, "point_key", "replicate")]
    try:
        holds = results.eval(where, engine="python")
    except Exception as exc:
        detail = " ".join(str(exc).split())[:160]
        raise DiscoveryError("--where", f"cannot evaluate {where!r} ({detail}); columns: "
                             + ", ".join(outcomes)) from None
    if not isinstance(holds, pd.Series) or not pd.api.types.is_bool_dtype(holds):
        raise DiscoveryError("--where", f"{where!r} is not a true/false condition (compare a "
                             "column: leader_end == 'turkic', drift_end < 0)")
    return holds.fillna(False)


def cases(results: pd.DataFrame, where: str, threshold: float = 0.5,
          per_replicate: bool = False) -> Cases:
    """Cases per point (share of replicates meeting ``where`` >= ``threshold``) or per run."""
    if not 0.0 < threshold <= 1.0:
        raise DiscoveryError("--threshold", f"must be in (0, 1], got {threshold}")
    params = parameter_columns(results)
    holds = condition(results, where, params)
    if per_replicate:
        x = results[params].reset_index(drop=True).astype(float)
        y = holds.to_numpy(bool)
        return Cases(x, y, y.astype(float), "replicate")
    frame = results[[*params, "point_key"]].assign(_holds=holds.to_numpy(float))
    g = frame.groupby("point_key", sort=True)
    x = g[params].first().reset_index(drop=True).astype(float)
    share = g["_holds"].mean().to_numpy()
    return Cases(x, share >= threshold, share, "point")


# ------------------------------------------------------------------------------ PRIM
def _quiet_import():
    """EMA Workbench warns at import about optional parallel back-ends we do not use."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from ema_workbench.analysis import feature_scoring, prim
        except ImportError:
            raise DiscoveryError("alignsim-discover", "needs EMA Workbench: pip install "
                                 "'alignsim[explore]'") from None
    return prim, feature_scoring


def chosen_index(trajectory: pd.DataFrame, min_density: float) -> int:
    """The box kept from a peeling trajectory: most coverage at density >= ``min_density``, else
    the densest."""
    ok = trajectory[trajectory["density"] >= min_density]
    if len(ok):
        return int(ok.sort_values(["coverage", "density"], ascending=False).index[0])
    return int(trajectory["density"].idxmax())


def box_table(box: Any, i: int, number: int) -> pd.DataFrame:
    """The restricted ranges of box ``i`` of a PRIM box's trajectory, with its statistics."""
    lims, full = box.box_lims[i], box.box_lims[0]
    qp = box.p_values[i] if i < len(box.p_values) else {}
    row = box.peeling_trajectory.iloc[i]
    rows = []
    for p in lims.columns:
        lo, hi = float(lims[p].iloc[0]), float(lims[p].iloc[1])
        if lo == float(full[p].iloc[0]) and hi == float(full[p].iloc[1]):
            continue
        q = qp.get(p, [np.nan, np.nan]) if isinstance(qp, dict) else [np.nan, np.nan]
        rows.append({"box": number, "parameter": p, "low": lo, "high": hi,
                     "observed_low": float(full[p].iloc[0]),
                     "observed_high": float(full[p].iloc[1]),
                     "qp_low": _quasi_p(q[0]), "qp_high": _quasi_p(q[1])})
    stats = {"box": number, "step": i, "coverage": float(row["coverage"]),
             "density": float(row["density"]), "mass": float(row["mass"]),
             "res_dim": int(row["res_dim"])}
    out = pd.DataFrame(rows, columns=["box", "parameter", "low", "high", "observed_low",
                                      "observed_high", "qp_low", "qp_high"])
    for k, v in stats.items():
        if k != "box":
            out[k] = v
    return out if len(out) else pd.DataFrame([{**stats, "parameter": None}])


def _quasi_p(value: Any) -> float:
    """PRIM's quasi-p-value of one side of a restriction; NaN for a side it did not restrict
    (EMA Workbench marks those -1)."""
    if value is None or float(value) < 0:
        return float("nan")
    return float(value)


def run_prim(c: Cases, *, boxes: int = 1, min_density: float = 0.8, peel_alpha: float = 0.05,
             mass_min: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame, list[Any]]:
    """PRIM boxes for the cases: ``(boxes table, peeling trajectories, PrimBox objects)``."""
    prim, _ = _quiet_import()
    import logging

    logging.getLogger("EMA").setLevel(logging.WARNING)
    with warnings.catch_warnings():  # its own pandas deprecations, not ours to act on
        warnings.simplefilter("ignore")
        alg = prim.Prim(c.x, c.y, peel_alpha=peel_alpha, mass_min=mass_min)
    tables, trajs, found = [], [], []
    for number in range(1, boxes + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = alg.find_box()
        if box is None or len(box.peeling_trajectory) < 2:
            break
        i = chosen_index(box.peeling_trajectory, min_density)
        box.select(i)
        tables.append(box_table(box, i, number))
        trajs.append(box.peeling_trajectory.assign(box=number, kept=lambda t, i=i: t.index == i))
        found.append(box)
    if not tables:
        raise DiscoveryError("--where", "PRIM found no box (too few cases?)")
    return pd.concat(tables, ignore_index=True), pd.concat(trajs, ignore_index=True), found


def feature_scores(c: Cases, seed: int = 0) -> pd.DataFrame:
    """Extra-trees feature scores of every swept parameter for the condition (sum to one)."""
    _, fs = _quiet_import()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores, _ = fs.get_ex_feature_scores(c.x, c.y.astype(int), random_state=seed,
                                             mode=fs.RuleInductionType.CLASSIFICATION)
    scores = scores.reset_index()
    scores.columns = ["parameter", "score"]
    return scores.sort_values("score", ascending=False, kind="mergesort").reset_index(drop=True)


# ------------------------------------------------------------------------------ figures
def tradeoff_figure(trajectory: pd.DataFrame, where: str):
    from alignsim.plots import theme

    plt, sns = theme("paper")
    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    several = trajectory["box"].nunique() > 1
    sns.scatterplot(data=trajectory, x="coverage", y="density", hue="res_dim",
                    style="box" if several else None, palette="viridis", ax=ax, s=28)
    kept = trajectory[trajectory["kept"]]
    ax.scatter(kept["coverage"], kept["density"], s=160, facecolors="none", edgecolors="crimson",
               linewidths=1.6, label="kept box")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_title(f"PRIM peeling: {where}", fontsize=9)
    ax.legend(fontsize=7, title="restricted parameters" + (" / box" if several else ""),
              title_fontsize=7, loc="lower left")
    fig.tight_layout()
    return fig


def pairs_figure(c: Cases, scores: pd.DataFrame, where: str, top: int = 4):
    from alignsim.plots import theme

    _, sns = theme("paper")
    cols = list(scores["parameter"][: max(2, min(top, len(scores)))])
    frame = c.x[cols].assign(condition=np.where(c.y, "holds", "does not"))
    grid = sns.pairplot(frame, hue="condition", hue_order=["does not", "holds"],
                        palette={"does not": "0.7", "holds": "crimson"}, corner=True,
                        plot_kws={"s": 10, "alpha": 0.7, "linewidth": 0}, height=1.9)
    grid.figure.suptitle(f"{where}: the {len(cols)} most influential parameters, one dot per "
                         f"{c.unit}", fontsize=9, y=1.01)
    return grid.figure


# ------------------------------------------------------------------------------ the command
def slug(text: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return s[:60] or "condition"


def discover(sweep_dir: Path | str, where: str, *, name: str | None = None,
             threshold: float = 0.5, per_replicate: bool = False, boxes: int = 1,
             min_density: float = 0.8, top: int = 4, figures: bool = True) -> dict:
    """Run the discovery and write its files (see the module docstring); returns a summary."""
    sweep_dir = Path(sweep_dir)
    results = read_results(sweep_dir)
    c = cases(results, where, threshold, per_replicate)
    n_cases = int(c.y.sum())
    if n_cases in (0, len(c.y)):
        raise DiscoveryError("--where", f"{where!r} holds in {n_cases} of {len(c.y)} "
                             f"{c.unit}s: PRIM needs cases and non-cases (try --threshold or "
                             "--per-replicate)")
    table, traj, _ = run_prim(c, boxes=boxes, min_density=min_density)
    scores = feature_scores(c)
    out = sweep_dir / "discovery" / (name or slug(where))
    from alignsim.results import atomic_write

    for fname, frame in (("boxes.csv", table), ("trajectory.csv", traj),
                         ("features.csv", scores)):
        atomic_write(out / fname, lambda p, f=frame: f.to_csv(p, index=False))
    files = ["boxes.csv", "trajectory.csv", "features.csv"]
    if figures:
        from alignsim.plots import save_figure

        save_figure(tradeoff_figure(traj, where), out / "tradeoff.png")
        save_figure(pairs_figure(c, scores, where, top), out / "pairs.png", tight=True)
        files += ["tradeoff.png", "pairs.png"]
    summary = {
        "where": where, "unit": c.unit, "threshold": None if per_replicate else threshold,
        "units": len(c.y), "cases": n_cases, "min_density": min_density,
        "parameters": list(c.x.columns), "boxes": table.to_dict("records"),
        "features": scores.to_dict("records"), "files": files,
        "provenance": provenance(sweep=read_provenance(sweep_dir / RESULTS)),
    }
    write_json(summary, out / "discovery.json")
    summary["directory"] = str(out)
    return summary


def preset_conditions(sweep_dir: Path) -> dict[str, tuple[str, float | None]]:
    """The conditions the sweep's preset lists (``experiment.conditions`` in ``multirun.yaml``):
    name -> (condition, its threshold or None). An entry is a condition, or a mapping with
    ``where`` and ``threshold`` (a rare outcome asks for a lower share of replicates)."""
    from omegaconf import OmegaConf

    path = Path(sweep_dir) / "multirun.yaml"
    raw = None
    if path.is_file():
        raw = OmegaConf.select(OmegaConf.load(path), "experiment.conditions", default=None)
    if not raw:
        raise DiscoveryError("--where", f"required: {sweep_dir} has no experiment.conditions in "
                             "multirun.yaml to default to")
    out: dict[str, tuple[str, float | None]] = {}
    for name, entry in OmegaConf.to_container(raw).items():  # type: ignore[union-attr]
        if isinstance(entry, dict):
            if "where" not in entry:
                raise DiscoveryError(f"experiment.conditions.{name}", "needs a where: condition")
            out[str(name)] = (str(entry["where"]), entry.get("threshold"))
        else:
            out[str(name)] = (str(entry), None)
    return out


def format_summary(s: dict) -> str:
    lines = [f"alignsim-discover: {s['where']!r} holds in {s['cases']} of {s['units']} "
             f"{s['unit']}s" + (f" (share of replicates >= {s['threshold']})"
                                if s["threshold"] is not None else "")]
    by_box: dict[int, list[dict]] = {}
    for row in s["boxes"]:
        by_box.setdefault(int(row["box"]), []).append(row)
    for number, rows in by_box.items():
        r0 = rows[0]
        lines.append(f"  box {number}: coverage {r0['coverage']:.2f}, density "
                     f"{r0['density']:.2f}, mass {r0['mass']:.2f}, {r0['res_dim']} restricted")
        for r in rows:
            if r.get("parameter"):
                lines.append(f"    {r['parameter']:<48} {r['low']:.4g} .. {r['high']:.4g}  "
                             f"(sampled {r['observed_low']:.4g} .. {r['observed_high']:.4g})")
    lines.append("  feature scores: " + ", ".join(f"{f['parameter']} {f['score']:.2f}"
                                                  for f in s["features"][:5]))
    lines.append(f"  wrote: {', '.join(s['files'])}, discovery.json in {s['directory']}")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    p = _Parser(prog="alignsim-discover", description=__doc__.splitlines()[0])
    p.add_argument("sweep_dir", metavar="SWEEP_DIR", type=Path)
    p.add_argument("--where", help="condition on the outcome columns, e.g. \"leader_end == "
                   "'turkic'\" (default: every condition of the preset's experiment.conditions)")
    p.add_argument("--threshold", type=float, default=None,
                   help="a point is a case if this share of its replicates meets the condition "
                   "(default 0.5, or the preset's threshold for the condition)")
    p.add_argument("--per-replicate", action="store_true", help="one case per run, not point")
    p.add_argument("--boxes", type=int, default=1, help="boxes to look for (default 1)")
    p.add_argument("--min-density", type=float, default=0.8,
                   help="keep the widest box at least this dense (default 0.8)")
    p.add_argument("--top", type=int, default=4, help="parameters in the pairs plot")
    p.add_argument("--name", help="folder name under SWEEP_DIR/discovery (default: from --where)")
    p.add_argument("--no-figures", action="store_true")
    a = p.parse_args(argv)
    if a.boxes < 1:
        p.error("--boxes: must be >= 1")
    if not 0.0 < a.min_density <= 1.0:
        p.error(f"--min-density: must be in (0, 1], got {a.min_density}")
    try:
        todo = {a.name: (a.where, None)} if a.where else preset_conditions(a.sweep_dir)
    except DiscoveryError as exc:
        sys.stderr.write(f"alignsim-discover: error: {exc.key}: {exc.message}\n")
        raise SystemExit(2) from None
    ran = 0
    for name, (where, preset_threshold) in todo.items():
        threshold = a.threshold if a.threshold is not None else (preset_threshold or 0.5)
        try:
            s = discover(a.sweep_dir, where, name=name, threshold=threshold,
                         per_replicate=a.per_replicate, boxes=a.boxes,
                         min_density=a.min_density, top=a.top, figures=not a.no_figures)
        except DiscoveryError as exc:
            if a.where or exc.key != "--where" or " holds in " not in exc.message:
                sys.stderr.write(f"alignsim-discover: error: {exc.key}: {exc.message}\n")
                raise SystemExit(2) from None
            print(f"alignsim-discover: {name}: {exc.message}")  # a finding, not bad input
            continue
        ran += 1
        print(format_summary(s))
    if not ran:
        sys.stderr.write("alignsim-discover: error: --where: no condition of the preset has "
                         "both cases and non-cases\n")
        raise SystemExit(2)


if __name__ == "__main__":
    main()
