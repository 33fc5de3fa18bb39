"""The seminar page: a Mesa SolaraViz over :class:`~alignsim.model.AlignmentModel`.

Served by ``alignsim-demo`` (see :mod:`alignsim.demo`) and displayable in Jupyter (``Page()`` as
the last expression of a cell). What is here and why:

* :class:`SeminarModel` — the Mesa driver with *flat* keyword arguments. SolaraViz's Reset
  rebuilds the model with ``type(model)(**params)`` from the sidebar controls, so every control
  must be an ``__init__`` keyword. Each parameter set is turned into Hydra overrides of ``conf/``
  and composed once (cached: composing costs ~100 ms, and Hydra's global state must not be
  entered by two sessions at once, hence the lock).
* View functions (:func:`sphere_figure`, :func:`axis_figure`, :func:`route_figure`,
  :func:`network_figure`, :func:`log_html`) — plain functions of a model, so the benchmark and the
  tests can time and check exactly what the page draws. Figures are matplotlib, rendered to PNG on
  the server: Solara's Altair/Vega widget fetches Vega from a CDN, which a seminar room without
  internet (or this build machine) does not have.
* :func:`Page` — the Solara entry point. It builds its model inside the component
  (``use_memo``), so every browser session (Solara virtual kernel) gets its own world; a
  module-level model would be shared by everyone connected until someone pressed Reset.

Sliders, like everywhere in Mesa's SolaraViz, take effect when Reset is pressed: Reset rebuilds
the world from the current controls and returns it to January 2022.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import matplotlib
import networkx as nx
import numpy as np
import solara
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from mesa.visualization.utils import update_counter

from alignsim.model import AlignmentModel
from alignsim.schema import Config
from alignsim.spec import ConfigError, Spec, compile_spec

matplotlib.use("Agg")

SCENARIOS = ("baseline", "history")  # conf/scenario/*.yaml offered on the page
SWING_ROUTE = "cpc"  # the route whose share the CPC slider sets
BALANCING_ROUTE = "china_east"  # the route that absorbs the difference (see SeminarModel)
FUND_USERS = {"fund_az_bn": "azerbaijan", "fund_tr_bn": "turkiye", "fund_cn_bn": "china",
              "fund_eu_bn": "eu"}
SPHERE_COLOURS = {"russian": "#c0392b", "turkic": "#16a085", "chinese": "#f39c12",
                  "western": "#2c3e50"}
ROUTE_COLOURS = {"cpc": "#c0392b", "atyrau_samara": "#e6a0a0", "middle_corridor": "#16a085",
                 "china_east": "#f39c12"}
FIG_SIZE = (5.6, 3.3)  # inches; with DPI ~ 560x330 px per panel
DPI = 100

_COMPOSE_LOCK = threading.Lock()


# ------------------------------------------------------------------------------ configs
@dataclass(frozen=True)
class Defaults:
    """The values of the page's controls as ``conf/`` sets them (read, never restated here)."""

    scenario_name: str
    seed: int
    cpc_share: float
    halt_severity: float
    coercion_appetite: float
    funds: dict[str, float]
    temperature: float
    fixed_route_share: float  # the routes that neither the slider nor the balance touch

    @property
    def max_cpc_share(self) -> float:
        return 1.0 - self.fixed_route_share


@lru_cache(maxsize=1)
def defaults() -> Defaults:
    """Read the page's default control values from the composed default config."""
    cfg = _compose(())
    routes = cfg.world.routes
    fixed = sum(r.share for k, r in routes.items() if k not in (SWING_ROUTE, BALANCING_ROUTE))
    users = cfg.actions["investment_fund"].users
    return Defaults(
        scenario_name=str(cfg.scenario.name),
        seed=int(cfg.seed),
        cpc_share=float(routes[SWING_ROUTE].share),
        halt_severity=float(cfg.actions["pipeline_halt"].effects.halt[SWING_ROUTE].severity),
        coercion_appetite=float(cfg.payoffs.actors["russia"].punish),
        funds={k: float(users[a].scale) for k, a in FUND_USERS.items()},
        temperature=float(cfg.policy.temperature),
        fixed_route_share=float(fixed),
    )


@lru_cache(maxsize=64)
def _compose(overrides: tuple[str, ...]) -> Config:
    from alignsim.hydra_store import compose_config  # Hydra only when a world is built

    with _COMPOSE_LOCK:  # Hydra's GlobalHydra is process-wide: one composition at a time
        return compose_config(list(overrides))


@lru_cache(maxsize=64)
def world(overrides: tuple[str, ...]) -> tuple[Config, Spec]:
    """Compose and compile one parameter set, once (the Spec is frozen, safe to share)."""
    cfg = _compose(overrides)
    return cfg, compile_spec(cfg)


def parse_seed(seed: int | str | None) -> int:
    """The seed box holds text; accept a non-negative integer, refuse anything else."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return defaults().seed
    try:
        value = int(str(seed).strip())
    except ValueError:
        raise ConfigError("seed", f"must be a non-negative integer, got {seed!r}") from None
    if value < 0:
        raise ConfigError("seed", f"must be a non-negative integer, got {value}")
    return value


def overrides_for(
    *,
    scenario_name: str,
    seed: int,
    cpc_share: float,
    halt_severity: float,
    coercion_appetite: float,
    funds: dict[str, float],
    temperature: float,
) -> tuple[str, ...]:
    """Hydra overrides of ``conf/`` for one setting of the page's controls.

    The CPC share moves the balancing route (eastward to China) the other way so that export
    shares still sum to one; the balancing route's capacity is set to its new share, otherwise
    the route dynamics (alternatives full, CPC takes the rest) would pull the shares straight
    back to the configured ones in the first months.
    """
    d = defaults()
    if scenario_name not in SCENARIOS:
        raise ConfigError("scenario", f"unknown scenario {scenario_name!r}; allowed: "
                          + ", ".join(SCENARIOS))
    if not 0.0 <= cpc_share <= d.max_cpc_share + 1e-9:
        raise ConfigError("cpc_share", f"must be in [0, {d.max_cpc_share:g}], got {cpc_share:g}")
    balance = max(0.0, 1.0 - d.fixed_route_share - cpc_share)
    out = [
        f"scenario={scenario_name}",
        f"seed={seed}",
        f"world.routes.{SWING_ROUTE}.share={cpc_share:.6g}",
        f"world.routes.{BALANCING_ROUTE}.share={balance:.6g}",
        f"world.routes.{BALANCING_ROUTE}.capacity={balance:.6g}",
        f"actions.pipeline_halt.effects.halt.{SWING_ROUTE}.severity={halt_severity:.6g}",
        f"payoffs.actors.russia.punish={coercion_appetite:.6g}",
        f"policy.temperature={temperature:.6g}",
    ]
    out += [f"actions.investment_fund.users.{FUND_USERS[k]}.scale={v:.6g}"
            for k, v in sorted(funds.items())]
    return tuple(out)


# -------------------------------------------------------------------------------- model
class SeminarModel(AlignmentModel):
    """The Mesa driver with one flat keyword per seminar control (what SolaraViz's Reset needs).

    ``None`` means "as in conf/". The scenario keyword is ``scenario_name``, not ``scenario``:
    every Mesa 3.5 model already has a ``scenario`` attribute (a ``mesa`` Scenario object), and
    SolaraViz's Reset would pass one of those in place of our name.
    """

    def __init__(
        self,
        scenario_name: str | None = None,
        seed: int | str | None = None,
        cpc_share: float | None = None,
        halt_severity: float | None = None,
        coercion_appetite: float | None = None,
        fund_az_bn: float | None = None,
        fund_tr_bn: float | None = None,
        fund_cn_bn: float | None = None,
        fund_eu_bn: float | None = None,
        temperature: float | None = None,
    ) -> None:
        d = defaults()
        given = {"fund_az_bn": fund_az_bn, "fund_tr_bn": fund_tr_bn, "fund_cn_bn": fund_cn_bn,
                 "fund_eu_bn": fund_eu_bn}
        self.params: dict[str, Any] = {
            "scenario_name": scenario_name or d.scenario_name,
            "seed": parse_seed(seed),
            "cpc_share": _pick(cpc_share, d.cpc_share),
            "halt_severity": _pick(halt_severity, d.halt_severity),
            "coercion_appetite": _pick(coercion_appetite, d.coercion_appetite),
            **{k: _pick(v, d.funds[k]) for k, v in given.items()},
            "temperature": _pick(temperature, d.temperature),
        }
        p = self.params
        ov = overrides_for(
            scenario_name=p["scenario_name"], seed=p["seed"], cpc_share=p["cpc_share"],
            halt_severity=p["halt_severity"], coercion_appetite=p["coercion_appetite"],
            funds={k: p[k] for k in FUND_USERS}, temperature=p["temperature"],
        )
        cfg, spec = world(ov)
        super().__init__(cfg, spec=spec)

    def describe(self) -> str:
        """One line naming this world's settings (shown on the page, checked by the tests)."""
        p = self.params
        return (
            f"scenario {p['scenario_name']}, seed {p['seed']}, CPC share {p['cpc_share']:.2f}, "
            f"halt severity {p['halt_severity']:.2f}, coercion appetite "
            f"{p['coercion_appetite']:.3f}, funds (bn) AZ {p['fund_az_bn']:.2f} "
            f"TR {p['fund_tr_bn']:.2f} CN {p['fund_cn_bn']:.2f} EU {p['fund_eu_bn']:.2f}, "
            f"temperature {p['temperature']:.4f}"
        )


def _pick(value: float | None, default: float) -> float:
    return float(default if value is None else value)


def model_params() -> dict[str, Any]:
    """SolaraViz controls. Ranges are teaching choices; the starting values come from conf/."""
    from mesa.visualization import Slider  # lazily: mesa.visualization loads solara widgets

    d = defaults()
    return {
        "scenario_name": {"type": "Select", "value": d.scenario_name, "values": list(SCENARIOS),
                          "label": "Scenario"},
        "seed": {"type": "InputText", "value": str(d.seed), "label": "Seed"},
        "cpc_share": Slider("CPC share of oil exports", d.cpc_share, 0.30,
                            round(d.max_cpc_share, 2), 0.01),
        "halt_severity": Slider("Halt severity (share of CPC flow stopped)", d.halt_severity,
                                0.0, 1.0, 0.05),
        "coercion_appetite": Slider("Russia's appetite for coercion", d.coercion_appetite,
                                    0.0, 0.5, 0.005),
        "fund_az_bn": Slider("Azerbaijan fund (USD bn)", d.funds["fund_az_bn"], 0.0, 3.0, 0.05),
        "fund_tr_bn": Slider("Türkiye fund (USD bn)", d.funds["fund_tr_bn"], 0.0, 3.0, 0.05),
        "fund_cn_bn": Slider("China fund (USD bn)", d.funds["fund_cn_bn"], 0.0, 5.0, 0.05),
        "fund_eu_bn": Slider("EU fund (USD bn)", d.funds["fund_eu_bn"], 0.0, 5.0, 0.05),
        "temperature": Slider("Logit temperature", d.temperature, 0.0005, 0.05, 0.0005),
    }


# -------------------------------------------------------------------------------- views
def _dates(spec: Spec, n: int) -> np.ndarray:
    start = np.datetime64(f"{spec.start.year:04d}-{spec.start.month:02d}", "M")
    return start + np.arange(n)


def _frame_axes(spec: Spec, title: str, ylabel: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=FIG_SIZE, dpi=DPI, layout="constrained")
    ax = fig.subplots()
    full = _dates(spec, spec.months + 1)
    ax.set_xlim(full[0], full[-1])
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    return fig, ax


def sphere_figure(model: AlignmentModel) -> Figure:
    """Kazakhstan's alignment: the share of each sphere, month by month."""
    spec = model.spec
    data = model.datacollector.get_model_vars_dataframe()
    fig, ax = _frame_axes(spec, "Alignment of Kazakhstan by sphere", "share")
    x = _dates(spec, len(data))
    for s, label in zip(spec.spheres, spec.sphere_labels, strict=True):
        ax.plot(x, data[f"share_{s}"], label=label, color=SPHERE_COLOURS.get(s), lw=1.8)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=4, loc="upper center")
    return fig


def axis_figure(model: AlignmentModel) -> Figure:
    """The Russian–Turkic axis (turkic minus russian share) with the scenario's events marked."""
    spec = model.spec
    data = model.datacollector.get_model_vars_dataframe()
    fig, ax = _frame_axes(spec, "Russian \u2013 Turkic axis (+1 = Turkic)", "turkic \u2212 russian")
    dates = _dates(spec, spec.months + 1)
    for t, names in enumerate(spec.event_names):
        if not names:
            continue
        ax.axvline(dates[t], color="#7f8c8d", lw=0.8, ls="--", alpha=0.7)
        ax.text(dates[t], 0.97, "; ".join(names), rotation=90, fontsize=6, va="top",
                ha="right", color="#555555", transform=ax.get_xaxis_transform())
    ax.axhline(0.0, color="black", lw=0.6)
    ax.plot(_dates(spec, len(data)), data["axis"], color="#8e44ad", lw=2.0)
    ax.set_ylim(-1, 1)
    return fig


def route_figure(model: AlignmentModel) -> Figure:
    """Oil export shares by route, stacked."""
    spec = model.spec
    data = model.datacollector.get_model_vars_dataframe()
    fig, ax = _frame_axes(spec, "Oil export routes", "share of exports")
    x = _dates(spec, len(data))
    ys = [data[f"route_{r}"].to_numpy() for r in spec.routes]
    ax.stackplot(x, ys, labels=list(spec.route_labels),
                 colors=[ROUTE_COLOURS.get(r, "#999999") for r in spec.routes], alpha=0.85)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6, loc="lower left")
    return fig


def relations_graph(model: AlignmentModel) -> nx.Graph:
    """The six actors and their current bilateral relations (edge attribute ``value``)."""
    spec = model.spec
    rel = model.state.relations[0]
    g = nx.Graph()
    for i, label in enumerate(spec.actor_labels):
        g.add_node(i, label=label)
    n = len(spec.actors)
    for i in range(n):
        for j in range(i + 1, n):
            g.add_edge(i, j, value=float(rel[i, j]))
    return g


def network_figure(model: AlignmentModel) -> Figure:
    """Relations among the actors: edge colour = relation (red hostile, blue friendly)."""
    g = relations_graph(model)
    fig = Figure(figsize=FIG_SIZE, dpi=DPI, layout="constrained")
    ax = fig.subplots()
    pos = nx.circular_layout(g)
    values = [d["value"] for _, _, d in g.edges(data=True)]
    norm = Normalize(-1.0, 1.0)
    nx.draw_networkx_edges(g, pos, ax=ax, edge_color=values, edge_cmap=matplotlib.colormaps["RdBu"],
                           edge_vmin=-1.0, edge_vmax=1.0,
                           width=[0.5 + 3.0 * abs(v) for v in values])
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#ecf0f1", edgecolors="#2c3e50",
                           node_size=900)
    nx.draw_networkx_labels(g, pos, ax=ax, labels=nx.get_node_attributes(g, "label"),
                            font_size=7)
    fig.colorbar(ScalarMappable(norm, matplotlib.colormaps["RdBu"]), ax=ax, shrink=0.8,
                 label="relation")
    ax.set_title(f"Relations in {model.date}", fontsize=10)
    ax.set_axis_off()
    ax.margins(0.15)
    return fig


def log_html(model: AlignmentModel, months: int = 12) -> str:
    """The narrated log, newest month first: what each actor did and why."""
    head = (
        f"<div class='alignsim-status'><b>{html.escape(model.date)}</b> — step "
        f"<span class='alignsim-step'>{model.month}</span> of {model.spec.months}</div>"
    )
    describe = getattr(model, "describe", None)
    if describe is not None:
        head += f"<div class='alignsim-world' style='font-size:80%'>{html.escape(describe())}</div>"
    head += ("<div style='font-size:80%;color:#666'>Sliders apply when you press Reset "
             "(it restarts in January 2022).</div>")
    if not model.log:
        body = "<p class='alignsim-empty'>No moves yet: press Step or ▶.</p>"
    else:
        shown = sorted({e.month for e in model.log}, reverse=True)[:months]
        rows = []
        for month in shown:
            rows.append(f"<div class='alignsim-month' style='margin-top:6px'><b>{month}</b></div>")
            for e in (e for e in model.log if e.month == month):
                why = (f"<div style='font-size:75%;color:#555'>{html.escape(e.why)}</div>"
                       if e.why else "")
                tag = " <i>(scheduled)</i>" if e.forced and e.actor != "scenario" else ""
                rows.append(f"<div class='alignsim-entry'>{html.escape(e.text)}{tag}{why}</div>")
        body = "".join(rows)
    return f"<div class='alignsim-log' style='overflow-y:auto;max-height:560px'>{head}{body}</div>"


# ---------------------------------------------------------------------------- components
def _figure_component(build: Callable[[AlignmentModel], Figure], name: str):
    """A Solara component drawing ``build(model)``, redrawn when the model steps or is reset.

    It is a real ``@solara.component`` (not a plain function) so that SolaraViz does not wrap
    it in a fresh component on every render; it subscribes to Mesa's ``update_counter`` itself.
    """

    def view(model: AlignmentModel):
        update_counter.get()  # re-render after Step/Play (SolaraViz bumps this counter)
        fig = solara.use_memo(lambda: build(model), [model, model.month])
        with solara.Div(classes=[f"alignsim-{name}"]):
            solara.FigureMatplotlib(fig, dependencies=[model, model.month], format="png")

    view.__name__ = view.__qualname__ = f"{name.title()}View"
    return solara.component(view)


@solara.component
def NarratedLog(model: AlignmentModel):
    """The log panel: newest month first, each move with its narration and its why."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=log_html(model))


COMPONENTS = [
    (_figure_component(sphere_figure, "spheres"), 0),
    (_figure_component(axis_figure, "axis"), 0),
    (_figure_component(route_figure, "routes"), 0),
    (_figure_component(network_figure, "network"), 0),
    (NarratedLog, 0),
]


def render_views(model: AlignmentModel) -> list[bytes]:
    """Everything the page computes after a step, as the server does it (PNG bytes + log HTML).

    Used by the benchmark to time a full page step; mirrors the components above.
    """
    import io

    out = []
    for build in (sphere_figure, axis_figure, route_figure, network_figure):
        buf = io.BytesIO()
        build(model).savefig(buf, format="png")
        out.append(buf.getvalue())
    out.append(log_html(model).encode())
    return out


@solara.component
def Page():
    """One seminar world per browser session (the model is created inside the component)."""
    from mesa.visualization import SolaraViz

    model = solara.use_memo(SeminarModel, [])
    return SolaraViz(
        model,
        components=list(COMPONENTS),
        model_params=model_params(),
        name="alignsim — Kazakhstan between Russia and the Turkic world",
    )
