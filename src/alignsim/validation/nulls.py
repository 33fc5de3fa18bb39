"""Null models the validation must reject: the same history without the game.

Why: a pattern is evidence for the model's mechanism only if a model *without* that mechanism
misses it. The review of 2026-12-01 found the patterns passed with every voluntary action priced
out, with the alignment frozen, and half of them under random play. Each null here is the
compiled :class:`~alignsim.kernel.spec.Spec` with one thing switched off, run through the same
ensemble driver with the same seed and replicate keys as the model with play (common random
numbers: replicate ``r`` of a null draws the very uniforms replicate ``r`` of the model drew), so
a difference between them is the switched-off mechanism and not noise.

``passive``
    Every voluntary action barred: ``allowed`` keeps only ``none``. Scheduled shocks and the
    scenario's forced moves stay (they are the record, not the play).
``frozen``
    The alignment never moves: ``payoffs.alignment.inertia = 0``, so every step keeps the start.
``random``
    Each actor draws uniformly among its allowed actions every month: every rule set to
    ``logit`` at an infinite temperature, which the compiled kernel's draw
    (:func:`alignsim.kernel.rows.choose`) turns into exactly uniform probabilities over the
    allowed actions. Forced moves stay.

A pattern that some null passes is **non-discriminating**: it does not count as evidence. Its
**power** is which nulls it rejects (fails at the ensemble level) and, per null, the share of
that null's replicates that fail it one by one
(:func:`alignsim.validation.patterns.replicate_passes`).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignsim.ensemble import run_ensemble
from alignsim.kernel.spec import ConfigError, Spec
from alignsim.validation.patterns import PatternConf, PatternResult, evaluate_all

OPTION = "--nulls"
OPTION_HELP = ("also run the null models (passive, frozen, random; --nulls=LIST for some, e.g. "
               "--nulls=passive,frozen) with the same seed, print each pattern's power and write "
               "nulls.csv and nulls.json; a pattern some null passes is non-discriminating")


# ------------------------------------------------------------------------- the null models
def passive(spec: Spec) -> Spec:
    """Only ``none`` is allowed; the forced moves of ``spec.forced`` still override it."""
    allowed = np.zeros_like(spec.allowed)
    allowed[:, spec.action_index("none")] = True
    return dataclasses.replace(spec, allowed=allowed)


def frozen(spec: Spec) -> Spec:
    """Alignment inertia 0: the alignment step (``compiled._align``) then returns the alignment it
    is given, every month."""
    return dataclasses.replace(spec, align={**spec.align, "inertia": 0.0})


def uniform_random(spec: Spec) -> Spec:
    """Every actor plays ``logit`` at ``T = inf``: exactly uniform over its allowed actions.

    Learning (``roth_erev``) and ``equilibrium`` rules are replaced too: their choice would
    depend on payoffs, which this null is meant to ignore. Temperatures are absolute here
    whatever ``policy.temperature_scale`` says: scaled by a payoff spread, an infinite
    temperature times the ``-inf`` of a barred action is not a number, and the draw was not
    uniform (found in review; it fell on ``none`` almost always).
    """
    return dataclasses.replace(
        spec,
        rules=("logit",) * spec.n_actors,
        temperature=np.full(spec.n_actors, np.inf),
        temperature_scale="absolute",
    )


@dataclass(frozen=True)
class NullModel:
    """A named transformation of the compiled spec and what it switches off."""

    name: str
    doc: str
    transform: Callable[[Spec], Spec]


NULLS: dict[str, NullModel] = {
    "passive": NullModel("passive", "every voluntary action barred (forced moves kept)", passive),
    "frozen": NullModel("frozen", "alignment frozen at its start (inertia 0)", frozen),
    "random": NullModel("random", "uniform random play over allowed actions", uniform_random),
}


def null_spec(spec: Spec, name: str) -> Spec:
    """The spec of null ``name`` (a ``ConfigError`` naming the option if unknown)."""
    if name not in NULLS:
        raise ConfigError(OPTION, f"unknown null {name!r}; allowed: {', '.join(NULLS)}")
    return NULLS[name].transform(spec)


# -------------------------------------------------------------------------- the option
def parse_nulls(text: str) -> tuple[str, ...]:
    """``""``/``"all"`` -> every null; ``"passive,random"`` -> those, in the given order."""
    if text.strip() in ("", "all"):
        return tuple(NULLS)
    names = tuple(n.strip() for n in text.split(","))
    for n in names:
        if n not in NULLS:
            raise ConfigError(OPTION, f"unknown null {n!r}; allowed: all, {', '.join(NULLS)}")
    if len(set(names)) != len(names):
        raise ConfigError(OPTION, f"a null is named twice in {text!r}")
    return names


def help_option() -> Any:
    """``--nulls`` as a documented-only :class:`alignsim.tools.Option` for the tool's ``--help``
    (the words themselves are taken out before the tool parses, by :func:`split_nulls_option`:
    a bare ``--nulls`` takes no value, which the tool's ``--flag VALUE`` options cannot say)."""
    from alignsim.tools import Option

    return Option(OPTION, "[=LIST]", OPTION_HELP, to_hydra=True)


def split_nulls_option(words: Sequence[str]) -> tuple[list[str], tuple[str, ...] | None]:
    """Take ``--nulls`` / ``--nulls=LIST`` out of the command line: ``(other words, nulls)``.

    ``None`` when the option is absent. A list is comma-separated (``--nulls=passive,frozen``);
    a bare ``--nulls`` means all. Given twice, or with a bad name: :class:`ConfigError`.
    """
    rest: list[str] = []
    chosen: tuple[str, ...] | None = None
    for w in words:
        if w == OPTION or w.startswith(OPTION + "="):
            if chosen is not None:
                raise ConfigError(OPTION, "given more than once")
            chosen = parse_nulls(w.split("=", 1)[1] if "=" in w else "")
        elif w.startswith(OPTION):
            raise ConfigError(w, f"unknown option; allowed: {OPTION}, {OPTION}=LIST")
        else:
            rest.append(w)
    return rest, chosen


# ---------------------------------------------------------------------------- running
def run_null(
    spec: Spec, name: str, patterns: Mapping[str, PatternConf], replicates: int, seed: int,
    key: tuple[int, ...] = (),
) -> list[PatternResult]:
    """Evaluate ``patterns`` on null ``name`` with the model's seed and keys (CRN)."""
    traj = run_ensemble(null_spec(spec, name), replicates, seed, key=key)
    return evaluate_all(traj, patterns)


@dataclass(frozen=True)
class PatternPower:
    """How well one pattern tells the model with play from the nulls."""

    name: str
    kind: str
    split: str
    play_passed: bool | None  # the model with play (None if not run)
    play_fail_share: float | None  # share of the play's replicates failing it on their own
    null_passed: dict[str, bool]  # ensemble-level pass of each null
    fail_share: dict[str, float]  # share of each null's replicates failing it on their own

    @property
    def rejects(self) -> tuple[str, ...]:
        return tuple(n for n, ok in self.null_passed.items() if not ok)

    @property
    def passed_by(self) -> tuple[str, ...]:
        return tuple(n for n, ok in self.null_passed.items() if ok)

    @property
    def discriminating(self) -> bool:
        """Every null fails it: only then may it count as evidence for the play."""
        return not self.passed_by

    @property
    def evidence(self) -> bool:
        """Discriminating and passed by the model with play."""
        return self.discriminating and bool(self.play_passed)

    def row(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "pattern": self.name, "kind": self.kind, "split": self.split,
            "play_passed": self.play_passed,
            "play_fail_share": (None if self.play_fail_share is None
                                else round(self.play_fail_share, 4)),
        }
        for n in self.null_passed:
            out[f"{n}_passed"] = self.null_passed[n]
            out[f"{n}_fail_share"] = round(self.fail_share[n], 4)
        out["rejects"] = ",".join(self.rejects)
        out["discriminating"] = self.discriminating
        out["evidence"] = self.evidence
        return out


def pattern_power(
    null_results: Mapping[str, Sequence[PatternResult]],
    play: Sequence[PatternResult] | None = None,
) -> list[PatternPower]:
    """One :class:`PatternPower` per pattern, in the order of the first null's results."""
    by_null = {n: {p.name: p for p in rs} for n, rs in null_results.items()}
    played = {p.name: p for p in play} if play is not None else {}
    first = next(iter(null_results.values()))
    out = []
    for p in first:
        mine = played.get(p.name)
        out.append(PatternPower(
            name=p.name, kind=p.conf.kind, split=p.conf.split,
            play_passed=None if mine is None else mine.passed,
            play_fail_share=None if mine is None else _fail_share(mine),
            null_passed={n: by_null[n][p.name].passed for n in by_null},
            fail_share={n: _fail_share(by_null[n][p.name]) for n in by_null},
        ))
    return out


def _fail_share(result: PatternResult) -> float:
    return float(1.0 - result.replicate_pass.mean())


@dataclass
class NullReport:
    """The nulls' results next to the model with play, for one config and seed."""

    nulls: tuple[str, ...]
    null_results: dict[str, list[PatternResult]]
    play: list[PatternResult] | None
    powers: list[PatternPower]
    replicates: int
    seed: int
    elapsed_s: float

    def summary(self) -> dict[str, Any]:
        total = len(self.powers)
        disc = [p for p in self.powers if p.discriminating]
        out: dict[str, Any] = {
            "total": total,
            "discriminating": len(disc),
            "non_discriminating": [p.name for p in self.powers if not p.discriminating],
            "null_passes": {n: sum(p.passed for p in rs) for n, rs in self.null_results.items()},
        }
        if self.play is not None:
            out["play_passes"] = sum(p.passed for p in self.play)
            out["evidence"] = [p.name for p in self.powers if p.evidence]
            out["discriminating_failed_by_play"] = [
                p.name for p in disc if not p.play_passed
            ]
            # what tells each null from the play: patterns the play passes and the null fails;
            # a null with none is indistinguishable from the model by this pattern set
            out["separated_by"] = {
                n: [p.name for p in self.powers if p.play_passed and not p.null_passed[n]]
                for n in self.nulls
            }
        return out


def run_nulls(
    spec: Spec,
    patterns: Mapping[str, PatternConf],
    replicates: int,
    seed: int,
    nulls: Sequence[str] = tuple(NULLS),
    play: Sequence[PatternResult] | None = None,
    key: tuple[int, ...] = (),
) -> NullReport:
    """Run every null of ``nulls`` on ``spec`` (the model's compiled spec) with its seed."""
    t0 = time.perf_counter()
    results = {n: run_null(spec, n, patterns, replicates, seed, key) for n in nulls}
    return NullReport(tuple(nulls), results, list(play) if play is not None else None,
                      pattern_power(results, play), int(replicates), int(seed),
                      time.perf_counter() - t0)


# ---------------------------------------------------------------------------- output
def format_power_table(report: NullReport) -> str:
    """Pattern, kind, play, then each null's result and failing share, and the verdict."""
    cols = "".join(f" {n:>12}" for n in report.nulls)
    head = f"{'pattern':<32} {'kind':<9} {'play':<5}{cols}  verdict"
    lines = [head, "-" * len(head)]
    for p in report.powers:
        play = "" if p.play_passed is None else ("pass" if p.play_passed else "FAIL")
        cells = "".join(
            f" {('pass' if p.null_passed[n] else 'FAIL') + f' {p.fail_share[n]:.2f}':>12}"
            for n in report.nulls
        )
        verdict = ("discriminating" + (", evidence" if p.evidence else "")
                   if p.discriminating else f"non-discriminating ({', '.join(p.passed_by)})")
        lines.append(f"{p.name:<32} {p.kind:<9} {play:<5}{cells}  {verdict}")
    return "\n".join(lines)


def summary_lines(report: NullReport) -> list[str]:
    """The few lines printed under the table."""
    s = report.summary()
    passes = ", ".join(f"{n} {k}/{s['total']}" for n, k in s["null_passes"].items())
    lines = [f"nulls pass: {passes}; {s['discriminating']}/{s['total']} patterns "
             f"discriminating (every null fails them)"]
    if report.play is not None:
        lines.append(f"model with play: {s['play_passes']}/{s['total']} pass; evidence "
                     f"(discriminating and passed): {len(s['evidence'])}"
                     + (f" ({', '.join(s['evidence'])})" if s["evidence"] else ""))
        if s["discriminating_failed_by_play"]:
            lines.append("discriminating but failed by the model with play: "
                         + ", ".join(s["discriminating_failed_by_play"]))
        for n, names in s["separated_by"].items():
            lines.append(f"{n}: " + (f"told from the play by {len(names)} pattern(s) the play "
                                     f"passes and it fails ({', '.join(names)})" if names else
                                     "NOT told from the play: it fails no pattern the play passes"))
    lines.append("cell = ensemble result and share of that null's replicates failing the "
                 f"pattern on their own; {report.replicates} replicates, seed {report.seed}, "
                 f"common random numbers, {report.elapsed_s:.1f} s")
    return lines


def write_nulls(report: NullReport, out_dir: Path, meta: Mapping[str, Any]) -> dict[str, str]:
    """Write ``nulls.csv`` (one row per pattern) and ``nulls.json`` (rows, summary, provenance)."""
    import pandas as pd

    from alignsim import __version__
    from alignsim.results import atomic_write, provenance, write_json

    out_dir = Path(out_dir)
    frame = pd.DataFrame([p.row() for p in report.powers])
    files = {"nulls_table": str(atomic_write(out_dir / "nulls.csv",
                                             lambda p: frame.to_csv(p, index=False)))}
    doc = {
        "alignsim_version": __version__,
        "replicates": report.replicates,
        "seed": report.seed,
        "elapsed_s": round(report.elapsed_s, 3),
        "nulls": {n: NULLS[n].doc for n in report.nulls},
        **report.summary(),
        "powers": [p.row() for p in report.powers],
        "null_results": {n: [p.row() for p in rs] for n, rs in report.null_results.items()},
        **meta,
        "provenance": provenance(report.seed, meta.get("config")),
    }
    write_json(doc, out_dir / "nulls.json")
    files["nulls_json"] = str(out_dir / "nulls.json")
    return files


def report_nulls(
    spec: Spec,
    patterns: Mapping[str, PatternConf],
    play: Sequence[PatternResult],
    *,
    replicates: int,
    seed: int,
    nulls: Sequence[str],
    out_dir: Path,
    meta: Mapping[str, Any],
) -> NullReport:
    """What ``alignsim-validate --nulls`` does after the validation: run, print, write."""
    report = run_nulls(spec, patterns, replicates, seed, nulls, play)
    files = write_nulls(report, out_dir, meta)
    print("\nnull models (" + "; ".join(f"{n}: {NULLS[n].doc}" for n in report.nulls) + ")")
    print(format_power_table(report))
    print("\n".join(summary_lines(report)))
    print(f"wrote {files['nulls_table']}, {files['nulls_json']}")
    return report
