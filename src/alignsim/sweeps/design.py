"""Sampled designs: a sweep over ranges rather than lists (Latin hypercube, scrambled Sobol,
uniform random), for exploratory modelling (``alignsim.sweeps.discover``).

A preset asks for one in its ``experiment.design`` block::

    experiment:
      design:
        kind: lhs          # lhs | sobol | uniform
        n: 1024            # points (a power of two for sobol)
        seed: 7            # the design's own seed (not the replicates')
        ranges:            # override key -> [low, high]
          payoffs.actors.russia.punish: [0.0, 5.0]
        ranges_from: sensitivity/default   # or: the parameters of a conf/ file (key, low, high,
                                           # label), e.g. the sensitivity analysis's ranges

The batched sweeper (:mod:`alignsim.sweeps.batched`) turns it into ``n`` points of overrides,
each with its own values, crossed with any ``key=a,b`` lists on the command line, and runs them
like any sweep point (common random numbers by default: every point's replicate ``r`` draws the
same stream, so two points differ by what their values do). The generators are scipy's
``scipy.stats.qmc`` (Latin hypercube, scrambled Sobol') and NumPy's ``Generator.random``, each
seeded by ``seed``: the same block gives the same points on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from alignsim.kernel.spec import ConfigError

KINDS = ("lhs", "sobol", "uniform")
KEY = "experiment.design"


@dataclass(frozen=True)
class Design:
    """A checked design block."""

    kind: str
    n: int
    seed: int
    ranges: dict[str, tuple[float, float]]
    labels: dict[str, str]  # override key -> short column name (from a ranges_from file)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Design:
        unknown = sorted(set(raw) - {"kind", "n", "seed", "ranges", "ranges_from"})
        if unknown:
            raise ConfigError(f"{KEY}.{unknown[0]}",
                              "unknown key; allowed: kind, n, ranges, ranges_from, seed")
        kind = raw.get("kind", "lhs")
        if kind not in KINDS:
            raise ConfigError(f"{KEY}.kind", f"unknown kind {kind!r}; allowed: {', '.join(KINDS)}")
        n = raw.get("n")
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"{KEY}.n", f"must be an integer >= 1 (points), got {n!r}")
        if kind == "sobol" and n & (n - 1):
            lower = 1 << (n.bit_length() - 1)
            raise ConfigError(f"{KEY}.n", f"a Sobol' design needs a power of two (its balance "
                              f"holds only then), got {n}; try {lower} or {2 * lower}")
        seed = raw.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ConfigError(f"{KEY}.seed", f"must be an integer >= 0, got {seed!r}")
        checked, labels = ranges_file(raw["ranges_from"]) if raw.get("ranges_from") else ({}, {})
        ranges = raw.get("ranges") or {}
        if not isinstance(ranges, Mapping) or not (ranges or checked):
            raise ConfigError(f"{KEY}.ranges", "must map override keys to [low, high] (or give "
                              "ranges_from: a conf/ file with a parameters list)")
        for key, pair in ranges.items():
            checked[str(key)] = _range(f"{KEY}.ranges.{key}", pair)
        return cls(kind=kind, n=n, seed=seed, ranges=checked, labels=labels)

    def unit_sample(self) -> np.ndarray:
        """``(n, d)`` points in the unit cube, reproducible from ``seed``."""
        from scipy.stats import qmc

        d = len(self.ranges)
        if self.kind == "lhs":
            return qmc.LatinHypercube(d=d, seed=self.seed).random(self.n)
        if self.kind == "sobol":
            return qmc.Sobol(d=d, scramble=True, seed=self.seed).random_base2(
                int(np.log2(self.n)))
        return np.random.default_rng(self.seed).random((self.n, d))

    def sample(self) -> np.ndarray:
        """``(n, d)`` points scaled to the ranges (columns in the order of ``ranges``)."""
        lo = np.array([r[0] for r in self.ranges.values()])
        hi = np.array([r[1] for r in self.ranges.values()])
        return lo + self.unit_sample() * (hi - lo)

    def overrides(self) -> list[list[str]]:
        """One list of ``key=value`` overrides per point (values by their shortest repr)."""
        keys = list(self.ranges)
        return [[f"{k}={float(v)!r}" for k, v in zip(keys, row, strict=True)]
                for row in self.sample()]


def ranges_file(name: Any) -> tuple[dict[str, tuple[float, float]], dict[str, str]]:
    """Ranges and labels from the ``parameters`` list of ``conf/<name>.yaml`` (each item with
    ``key``, ``low``, ``high`` and optionally ``label``): one source for the ranges of the
    assumption parameters, shared with the sensitivity analysis."""
    from alignsim.config import conf_dir

    key = f"{KEY}.ranges_from"
    path = conf_dir() / f"{name}.yaml"
    if not isinstance(name, str) or ".." in name or not path.is_file():
        folders = sorted(p.name for p in conf_dir().iterdir() if p.is_dir())
        raise ConfigError(key, f"no file conf/{name}.yaml; give a conf/ file without .yaml "
                          f"(e.g. sensitivity/default); folders: {', '.join(folders)}")
    items = OmegaConf.to_container(OmegaConf.load(path)).get("parameters")  # type: ignore[union-attr]
    if not isinstance(items, list) or not items:
        raise ConfigError(key, f"conf/{name}.yaml has no parameters list (key, low, high)")
    ranges, labels = {}, {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "key" not in item:
            raise ConfigError(f"{key}[{i}]", f"conf/{name}.yaml: item {i} has no key")
        ranges[item["key"]] = _range(f"conf/{name}.yaml: {item['key']}",
                                     (item.get("low"), item.get("high")))
        if item.get("label"):
            labels[item["key"]] = str(item["label"])
    return ranges, labels


def _range(key: str, pair: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in pair)
    except (TypeError, ValueError):
        raise ConfigError(key, f"must be [low, high] (two numbers), got {pair!r}") from None
    if not np.isfinite([lo, hi]).all() or lo >= hi:
        raise ConfigError(key, f"must be [low, high] with low < high, got [{lo}, {hi}]")
    return lo, hi


def design_of(config: DictConfig) -> Design | None:
    """The sweep's design block (None when the preset has none)."""
    raw = OmegaConf.select(config, KEY, default=None)
    if raw is None:
        return None
    if not isinstance(raw, DictConfig):
        raise ConfigError(KEY, "must be a mapping with kind, n, seed and ranges")
    return Design.from_mapping(OmegaConf.to_container(raw, resolve=True))  # type: ignore[arg-type]


def design_points(config: DictConfig) -> list[list[str]]:
    """The design's points as overrides (empty without a design block)."""
    design = design_of(config)
    return [] if design is None else design.overrides()


__all__ = ["Design", "design_of", "design_points"]
