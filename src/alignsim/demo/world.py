"""The seminar page's world, without Solara: controls, the model, interventions, runs, exports.

What is here and why:

* :data:`CONTROLS` — every control of the page with a label a student understands, its unit,
  its range and the technical name (shown as a tooltip). Starting values come from ``conf/``
  (:func:`alignsim.config.flat_defaults`); the flat parameters → config code is
  :mod:`alignsim.config`'s, the same one ``AlignmentModel``'s keywords use.
* :class:`SeminarModel` — the Mesa driver with one keyword per control. It also keeps what the
  page shows and the plain driver does not record: the oil that actually flowed, each actor's
  weighed options and probabilities, and *interventions* — a "live" control moved mid-run
  applies from the next month (the world's Spec is swapped; the state carries on).
* :class:`RunRecord` — a finished or abandoned run kept for comparison (ghost lines) after Reset.
* :func:`run_csv` — the run's data as CSV (the page's download button).

Bad input raises :class:`~alignsim.kernel.spec.ConfigError` naming the control; the page turns
it into one message (:func:`user_message`) and keeps the last good world.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignsim.config import FLAT_KEYS, flat_defaults, flat_world, scenario_names
from alignsim.ensemble import equilibrium_valuation
from alignsim.kernel.spec import ConfigError
from alignsim.model import AlignmentModel

SCENARIOS = ("history", "baseline")  # conf/scenario/*.yaml offered on the page
MAX_GHOSTS = 5  # earlier runs kept as ghost lines


@dataclass(frozen=True)
class Control:
    """One control: what a student reads, what the model calls it, and its range.

    ``live`` controls apply from the next month when moved mid-run (an intervention); the
    others (scenario, seed, CPC share: how the world *starts*) apply at Reset.
    """

    key: str
    label: str
    tooltip: str
    unit: str
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.01
    live: bool = True
    percent: bool = False  # shown as a percentage (the value is a fraction)

    def show(self, value: float) -> str:
        """The value with its unit, as the page prints it beside the slider."""
        if self.percent:
            return f"{100 * value:.0f} {self.unit}"
        digits = max(0, -math.floor(math.log10(self.step)))
        return f"{value:.{digits}f} {self.unit}"


_FUND_ACTORS = {"fund_az_bn": "Azerbaijan", "fund_tr_bn": "Türkiye", "fund_cn_bn": "China",
                "fund_eu_bn": "EU"}
CONTROLS: tuple[Control, ...] = (
    Control("cpc_share", "Oil exported through Russia (CPC pipeline)",
            "cpc_share — the share of Kazakhstan's oil exports on the CPC pipeline at the start; "
            "the eastward route to China takes the difference. Applies at Reset.",
            "% of exports", 0.30, 0.80, 0.01, live=False, percent=True),
    Control("halt_severity", "How much of the CPC flow a halt stops",
            "halt_severity — the fraction of the CPC flow stopped during a pipeline halt",
            "% of CPC flow", 0.0, 1.0, 0.05, percent=True),
    Control("coercion_appetite", "How much Russia gains from punishing defiance",
            "coercion_appetite (payoffs.actors.russia.punish) — Russia's payoff from punishing "
            "a defiant Kazakhstan, utility units (calibrated on the record: about 1.5)", "util",
            0.0, 3.0, 0.01),
    *(Control(k, f"{who}'s investment fund (size of one launch)",
              f"{k} — the size of one investment-fund launch by {who}; a launch costs {who} "
              f"the same whatever its size, more if it launched recently", "USD bn", 0.0, 5.0,
              0.05)
      for k, who in _FUND_ACTORS.items()),
    Control("temperature", "Randomness of the actors' choices",
            "temperature (logit temperature, policy.temperature) — near 0 every actor takes its "
            "best option; larger values let lower-ranked options be drawn more often",
            "util", 0.0005, 0.05, 0.0005),
)
CONTROL_BY_KEY = {c.key: c for c in CONTROLS}
LIVE_KEYS = tuple(c.key for c in CONTROLS if c.live)


def parse_seed(seed: object) -> int:
    """The seed box holds text: accept a whole number ≥ 0, refuse anything else by name."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return flat_defaults().seed
    text = str(seed).strip()
    if isinstance(seed, bool) or not text.isdigit():
        raise ConfigError("seed", f"must be a whole number 0, 1, 2, … (got {text!r})")
    value = int(text)
    if value > 2**63 - 1:
        raise ConfigError("seed", f"must be at most 2**63 - 1 (got {text!r})")
    return value


def user_message(err: ConfigError) -> str:
    """One line for the page: the control's label (or key) and what is allowed."""
    names = {"seed": "Random seed", "scenario": "Scenario", "rng": "Random seed"}
    control = CONTROL_BY_KEY.get(err.key)
    name = control.label if control else names.get(err.key, err.key)
    return f"{name}: {err.message}. The world was not changed."


def default_values() -> dict[str, Any]:
    """Every control's starting value, read from ``conf/`` (seed as text, as in the box)."""
    d = flat_defaults()
    return {
        "scenario_name": d.scenario_name if d.scenario_name in SCENARIOS else SCENARIOS[0],
        "seed": str(d.seed), "cpc_share": d.cpc_share, "halt_severity": d.halt_severity,
        "coercion_appetite": d.coercion_appetite, **d.funds, "temperature": d.temperature,
    }


@dataclass(frozen=True)
class Intervention:
    """A live control moved mid-run: it applies from month ``month`` (0-based step index)."""

    month: int
    date: str
    changes: tuple[tuple[str, float, float], ...]  # (key, old, new)

    def text(self) -> str:
        return "; ".join(f"{CONTROL_BY_KEY[k].label}: {CONTROL_BY_KEY[k].show(a)} → "
                         f"{CONTROL_BY_KEY[k].show(b)}" for k, a, b in self.changes)


@dataclass(frozen=True)
class Choice:
    """One actor's month: the options it weighed, their probabilities, what it did."""

    actor: str
    expected: np.ndarray  # (A,) expected payoff, util; -inf where not allowed
    probabilities: np.ndarray  # (A,)
    intended: int
    action: int
    forced: bool


class SeminarModel(AlignmentModel):
    """The Mesa driver with one flat keyword per seminar control; ``None`` = as in ``conf/``.

    The scenario keyword is ``scenario_name``: every Mesa 3.5 model has a ``scenario``
    attribute of its own. ``seed`` may be text (the seed box); bad values raise ConfigError.
    """

    def __init__(self, scenario_name: str | None = None, seed: object = None,
                 cpc_share: float | None = None, halt_severity: float | None = None,
                 coercion_appetite: float | None = None, fund_az_bn: float | None = None,
                 fund_tr_bn: float | None = None, fund_cn_bn: float | None = None,
                 fund_eu_bn: float | None = None, temperature: float | None = None) -> None:
        given = dict(scenario_name=scenario_name, cpc_share=cpc_share,
                     halt_severity=halt_severity, coercion_appetite=coercion_appetite,
                     fund_az_bn=fund_az_bn, fund_tr_bn=fund_tr_bn, fund_cn_bn=fund_cn_bn,
                     fund_eu_bn=fund_eu_bn, temperature=temperature)
        if scenario_name is not None and scenario_name not in scenario_names():
            raise ConfigError("scenario", f"unknown scenario {scenario_name!r}; allowed: "
                              + ", ".join(scenario_names()))
        seed_value = parse_seed(seed)
        for key, value in given.items():
            control = CONTROL_BY_KEY.get(key)
            if control is not None and value is not None:
                _check_range(control, value)
        cfg, spec = flat_world({k: v for k, v in given.items() if v is not None})
        super().__init__(cfg, spec=spec, rng=seed_value)
        d = default_values()
        self.params: dict[str, Any] = {k: (d[k] if given.get(k) is None else given[k])
                                       for k in FLAT_KEYS}
        self.params["scenario_name"] = self.config.scenario.name
        self.params["seed"] = seed_value
        for key in FLAT_KEYS[1:]:
            self.params[key] = float(self.params[key])
        self.start_params = dict(self.params)
        self.interventions: list[Intervention] = []
        self.flows: list[np.ndarray] = [self.state.flow[0].copy()]
        self.choices: list[tuple[Choice, ...]] = []
        self._events: list[tuple[int, str, str, str]] | None = None

    def step(self) -> None:
        """One month, keeping the flow and every actor's weighed options for the page."""
        if self.finished:
            self.running = False
            return
        super().step()
        self.flows.append(self.state.flow[0].copy())
        self.choices.append(tuple(
            Choice(a.label, a.expected.copy(), a.probabilities.copy(), a.intended, a.action,
                   a.forced) for a in self.actors))

    def intervene(self, **changes: float) -> Intervention | None:
        """Change live controls from the next month on (marked on the charts).

        The world's Spec is recompiled for the new values and swapped in; the state, the
        memories and the random draws carry on, so the run is the same up to this month.
        """
        unknown = sorted(set(changes) - set(LIVE_KEYS))
        if unknown:
            raise ConfigError(unknown[0], "applies at Reset only (it sets how the world starts)")
        diff = tuple((k, float(self.params[k]), float(v)) for k, v in changes.items()
                     if not math.isclose(float(v), float(self.params[k]), abs_tol=1e-12))
        if not diff:
            return None
        for key, _, new in diff:
            _check_range(CONTROL_BY_KEY[key], new)
        params = {k: self.params[k] for k in FLAT_KEYS} | {k: new for k, _, new in diff}
        _, spec = flat_world(params)
        self.spec = spec
        self.recorder.spec = spec
        self.equilibrium = equilibrium_valuation(spec)
        self.params.update({k: new for k, _, new in diff})
        if self.month == 0:  # nothing has happened yet: these are the run's settings
            self.start_params.update({k: new for k, _, new in diff})
            return None
        if self.interventions and self.interventions[-1].month == self.month:
            diff = _merge(self.interventions.pop().changes, diff)  # a slider dragged: one mark
        mark = Intervention(self.month, self.date, diff)
        self.interventions.append(mark)
        return mark

    # ------------------------------------------------------------------ what the page reads
    def describe(self) -> str:
        """The settings in force now, in one line (the status line)."""
        return describe(self.params)

    def settings(self) -> str:
        """The settings the run started with (a ghost line's legend, the CSV)."""
        return describe(self.start_params)

    def series(self) -> dict[str, np.ndarray]:
        """The run so far: axis, sphere shares, route flows (month 0 … now)."""
        t = self.month
        rec = self.recorder
        out = {"axis": self.spec.axis_of(rec.alignment[: t + 1, 0])}
        for k, s in enumerate(self.spec.spheres):
            out[f"share_{s}"] = rec.alignment[: t + 1, 0, k]
        flows = np.array(self.flows)
        for k, r in enumerate(self.spec.routes):
            out[f"flow_{r}"] = flows[:, k]
            out[f"share_route_{r}"] = rec.share[: t + 1, 0, k]
        return out

    def own_moves(self, actions: tuple[str, ...] = ("pipeline_halt", "investment_fund")
                  ) -> list[tuple[int, str, str]]:
        """The actors' own (not scheduled) halts and fund launches: (month, actor, action)."""
        return [(t, c.actor, self.spec.actions[c.action])
                for t, month in enumerate(self.choices) for c in month
                if not c.forced and self.spec.actions[c.action] in actions]

    def events(self) -> list[tuple[int, str, str, str]]:
        """The scenario's events in the run: (month index, name, description, source).

        Computed once per model (the scenario does not change mid-run; an intervention keeps
        it), since the page asks for it after every step.
        """
        if self._events is None:
            index = {str(self.spec.start.plus(t)): t for t in range(self.spec.months)}
            self._events = [(index[ev.date], ev.name, ev.description, ev.source)
                            for ev in self.config.scenario.events if ev.date in index]
        return self._events


def describe(p: Mapping[str, Any]) -> str:
    """Settings in one line, in the page's words (short forms)."""
    return (f"{p['scenario_name']}, seed {p['seed']}, CPC {100 * p['cpc_share']:.0f} %, "
            f"halt {100 * p['halt_severity']:.0f} %, coercion {p['coercion_appetite']:.3f}, "
            f"funds AZ {p['fund_az_bn']:.2f} TR {p['fund_tr_bn']:.2f} "
            f"CN {p['fund_cn_bn']:.2f} EU {p['fund_eu_bn']:.2f} bn, "
            f"randomness {p['temperature']:.4f}")


def _merge(old: tuple[tuple[str, float, float], ...],
           new: tuple[tuple[str, float, float], ...]) -> tuple[tuple[str, float, float], ...]:
    """Changes made in the same month as one intervention: first old value, last new value."""
    out = {k: (a, b) for k, a, b in old}
    for k, a, b in new:
        out[k] = (out[k][0] if k in out else a, b)
    return tuple((k, a, b) for k, (a, b) in out.items() if not math.isclose(a, b, abs_tol=1e-12))


def _check_range(control: Control, value: object) -> None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(control.key, f"must be a number, got {value!r}") from None
    if not control.lo - 1e-9 <= x <= control.hi + 1e-9:
        raise ConfigError(control.key, f"must be between {control.show(control.lo)} and "
                          f"{control.show(control.hi)}, got {control.show(x)}")


@dataclass
class RunRecord:
    """An earlier run kept after Reset: its settings and its series (ghost lines, CSV)."""

    number: int
    settings: str
    end_date: str
    series: dict[str, np.ndarray]
    interventions: list[Intervention] = field(default_factory=list)
    name: str = ""  # a label of its own (the history reference); default "Run <number>"

    @classmethod
    def of(cls, model: SeminarModel, number: int, name: str = "") -> RunRecord:
        return cls(number, model.settings(), model.date, model.series(),
                   list(model.interventions), name)

    @property
    def label(self) -> str:
        return self.name or f"Run {self.number}"


@functools.lru_cache(maxsize=16)
def history_record(seed: int) -> RunRecord:
    """The ``history`` scenario at the page's default settings and this seed, run to its end:
    the reference a class compares its own run with ("compare with history").

    Cached per seed: a room of students on one seed builds it once (about 0.7 s).
    """
    model = SeminarModel(scenario_name="history", seed=seed)
    while not model.finished:
        model.step()
    return RunRecord.of(model, 0, name="History")


def run_csv(model: SeminarModel, earlier: list[RunRecord] = ()) -> str:  # type: ignore[assignment]
    """The current run (and the kept earlier ones) as CSV, one row per run and month."""
    buf = io.StringIO()
    series = model.series()
    cols = list(series)
    actors = list(model.spec.actor_labels)
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["run", "settings", "month", *cols, *(f"action_{a}" for a in actors)])
    runs = [(r.label, r.settings, r.series, None) for r in earlier]
    runs.append((f"Run {len(earlier) + 1} (current)", model.settings(), series, model))
    for label, settings, s, m in runs:
        n = len(s["axis"])
        for t in range(n):
            acts = ([m.spec.actions[c.action] for c in m.choices[t]] if m is not None
                    and t < len(m.choices) else [""] * len(actors))
            w.writerow([label, settings, str(model.spec.start.plus(t)),
                        *(f"{float(s[c][t]):.12g}" if c in s and t < len(s[c]) else ""
                          for c in cols), *acts])
    return buf.getvalue()
