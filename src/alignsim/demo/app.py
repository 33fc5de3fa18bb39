"""The seminar page: a Mesa SolaraViz over :class:`~alignsim.model.AlignmentModel`.

Served by ``alignsim-demo`` (see :mod:`alignsim.demo.serve`) and displayable in Jupyter
(``Page()`` as the last expression of a cell). What is here and why:

* :class:`SeminarModel` — the Mesa driver with *flat* keyword arguments. SolaraViz's Reset
  rebuilds the model with ``type(model)(**params)`` from the sidebar controls, so every control
  must be an ``__init__`` keyword. Each parameter set is turned into Hydra overrides of ``conf/``
  and composed once (cached: composing costs ~0.6 s here, and Hydra's global state must not be
  entered by two sessions at once, hence the lock).
* Panels (:class:`SpherePanel`, :class:`AxisPanel`, :class:`RoutePanel`, :class:`NetworkPanel`)
  and :func:`log_html` — plain objects and functions of a model, so the benchmark and the tests
  can time and check exactly what the page draws (:class:`PageViews`). Figures are matplotlib,
  blitted and sent as JPEG frames from the server: Solara's Altair/Vega widget fetches Vega from
  a CDN, which a seminar room without internet (or this build machine) does not have.
* :func:`Page` — the Solara entry point. It builds its model inside the component
  (``use_memo``), so every browser session (Solara virtual kernel) gets its own world; a
  module-level model would be shared by everyone connected until someone pressed Reset.

Sliders, like everywhere in Mesa's SolaraViz, take effect when Reset is pressed: Reset rebuilds
the world from the current controls and returns it to January 2022.
"""

from __future__ import annotations

import html
import io
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import networkx as nx
import numpy as np
import PIL.Image
import solara
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from mesa.visualization.utils import update_counter

from alignsim.kernel.schema import Config
from alignsim.kernel.spec import ConfigError, Spec, compile_spec, rebalanced_routes
from alignsim.model import AlignmentModel

matplotlib.use("Agg")

SCENARIOS = ("baseline", "history")  # conf/scenario/*.yaml offered on the page
SWING_ROUTE = "cpc"  # the route whose share the CPC slider sets
BALANCING_ROUTE = "china_east"  # the route that absorbs the difference (see SeminarModel)
FUND_USERS = {
    "fund_az_bn": "azerbaijan",
    "fund_tr_bn": "turkiye",
    "fund_cn_bn": "china",
    "fund_eu_bn": "eu",
}
SPHERE_COLOURS = {
    "russian": "#c0392b",
    "turkic": "#16a085",
    "chinese": "#f39c12",
    "western": "#2c3e50",
}
ROUTE_COLOURS = {
    "cpc": "#c0392b",
    "atyrau_samara": "#e6a0a0",
    "middle_corridor": "#16a085",
    "china_east": "#f39c12",
}
FIG_SIZE = (5.6, 3.3)  # inches; with DPI ~ 560x330 px per panel
DPI = 100
IMAGE_FORMAT = "jpeg"  # panels are sent as JPEG frames (see Panel.frame)

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
    from alignsim.config import compose_config  # Hydra only when a world is built

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
    back to the configured ones in the first months (``spec.rebalanced_routes``, shared with the
    sweep presets).
    """
    if scenario_name not in SCENARIOS:
        raise ConfigError(
            "scenario", f"unknown scenario {scenario_name!r}; allowed: " + ", ".join(SCENARIOS)
        )
    routes = _compose(()).world.routes  # the configured routes (cached)
    out = [
        f"scenario={scenario_name}",
        f"seed={seed}",
        *(f"world.routes.{k}={v:.6g}" for k, v in
          rebalanced_routes(routes, SWING_ROUTE, cpc_share, BALANCING_ROUTE, "cpc_share").items()),
        f"actions.pipeline_halt.effects.halt.{SWING_ROUTE}.severity={halt_severity:.6g}",
        f"payoffs.actors.russia.punish={coercion_appetite:.6g}",
        f"policy.temperature={temperature:.6g}",
    ]
    out += [
        f"actions.investment_fund.users.{FUND_USERS[k]}.scale={v:.6g}"
        for k, v in sorted(funds.items())
    ]
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
        given = {
            "fund_az_bn": fund_az_bn,
            "fund_tr_bn": fund_tr_bn,
            "fund_cn_bn": fund_cn_bn,
            "fund_eu_bn": fund_eu_bn,
        }
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
            scenario_name=p["scenario_name"],
            seed=p["seed"],
            cpc_share=p["cpc_share"],
            halt_severity=p["halt_severity"],
            coercion_appetite=p["coercion_appetite"],
            funds={k: p[k] for k in FUND_USERS},
            temperature=p["temperature"],
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
        "scenario_name": {
            "type": "Select",
            "value": d.scenario_name,
            "values": list(SCENARIOS),
            "label": "Scenario",
        },
        "seed": {"type": "InputText", "value": str(d.seed), "label": "Seed"},
        "cpc_share": Slider(
            "CPC share of oil exports", d.cpc_share, 0.30, round(d.max_cpc_share, 2), 0.01
        ),
        "halt_severity": Slider(
            "Halt severity (share of CPC flow stopped)", d.halt_severity, 0.0, 1.0, 0.05
        ),
        "coercion_appetite": Slider(
            "Russia's appetite for coercion", d.coercion_appetite, 0.0, 0.5, 0.005
        ),
        "fund_az_bn": Slider("Azerbaijan fund (USD bn)", d.funds["fund_az_bn"], 0.0, 5.0, 0.05),
        "fund_tr_bn": Slider("Türkiye fund (USD bn)", d.funds["fund_tr_bn"], 0.0, 5.0, 0.05),
        "fund_cn_bn": Slider("China fund (USD bn)", d.funds["fund_cn_bn"], 0.0, 5.0, 0.05),
        "fund_eu_bn": Slider("EU fund (USD bn)", d.funds["fund_eu_bn"], 0.0, 5.0, 0.05),
        "temperature": Slider("Logit temperature", d.temperature, 0.0005, 0.05, 0.0005),
    }


# -------------------------------------------------------------------------------- views
# Each panel keeps one matplotlib Figure for the life of a model and only updates its artists
# after a step: with fixed axes limits nothing has to be laid out again, which makes a redraw
# several times cheaper than building the figure anew (constrained layout alone costs more than
# our whole model step). Frames are rendered on the server (Agg, blitted), no JavaScript plotting.
def _dates(spec: Spec, n: int) -> np.ndarray:
    start = np.datetime64(f"{spec.start.year:04d}-{spec.start.month:02d}", "M")
    return start + np.arange(n)


def _figure() -> tuple[Figure, Any]:
    fig = Figure(figsize=FIG_SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def _time_axes(
    spec: Spec, title: str, ylabel: str, ylim: tuple[float, float]
) -> tuple[Figure, Any]:
    fig, ax = _figure()
    fig.subplots_adjust(left=0.12, right=0.98, bottom=0.1, top=0.9)
    full = _dates(spec, spec.months + 1)
    ax.set_xlim(full[0], full[-1])
    ax.set_ylim(*ylim)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(alpha=0.3)
    return fig, ax


class Panel(ABC):
    """One view of the page: a figure built once per model, updated after every step.

    Rendering is blitted: the static part (axes, ticks, titles, legends, event marks) is drawn
    once and kept as a pixel buffer; after a step only the artists that move (``dynamic()``) are
    drawn over a copy of it and the result is encoded by Pillow. A full ``savefig`` costs
    100–180 ms per panel here, a blitted frame a few ms, which keeps a page step under 100 ms.
    """

    name = "panel"
    fig: Figure
    _background: Any = None

    @abstractmethod
    def update(self, model: AlignmentModel) -> None:
        """Move this panel's artists to the model's current month."""

    @abstractmethod
    def dynamic(self) -> list[Any]:
        """The artists ``update`` changes; they are left out of the cached background."""

    def frame(self) -> bytes:
        canvas = self.fig.canvas
        if self._background is None:
            for artist in self.dynamic():
                artist.set_animated(True)
            canvas.draw()  # draws everything but the animated artists
            self._background = canvas.copy_from_bbox(self.fig.bbox)
        canvas.restore_region(self._background)
        renderer = canvas.get_renderer()
        for artist in self.dynamic():
            artist.set_animated(True)
            artist.draw(renderer)
        frame = PIL.Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
        buf = io.BytesIO()
        frame.save(buf, format=IMAGE_FORMAT, quality=90)  # JPEG: ~1.5 ms vs ~9 ms for PNG
        return buf.getvalue()


class SpherePanel(Panel):
    """Kazakhstan's alignment: the share of each sphere, month by month."""

    name = "spheres"

    def __init__(self, spec: Spec) -> None:
        self.fig, ax = _time_axes(spec, "Alignment of Kazakhstan by sphere", "share", (0.0, 1.0))
        self.lines = {
            s: ax.plot([], [], label=label, color=SPHERE_COLOURS.get(s), lw=1.8, marker="o", ms=2)[
                0
            ]
            for s, label in zip(spec.spheres, spec.sphere_labels, strict=True)
        }
        ax.legend(fontsize=7, ncol=4, loc="upper center")

    def update(self, model: AlignmentModel) -> None:
        data = model.datacollector.get_model_vars_dataframe()
        x = _dates(model.spec, len(data))
        for s, line in self.lines.items():
            line.set_data(x, data[f"share_{s}"].to_numpy())

    def dynamic(self) -> list[Any]:
        return list(self.lines.values())


class AxisPanel(Panel):
    """The Russian–Turkic axis (turkic minus russian share), the scenario's events marked."""

    name = "axis"

    def __init__(self, spec: Spec) -> None:
        title = "Russian \u2013 Turkic axis (+1 = Turkic), events dashed"
        self.fig, ax = _time_axes(spec, title, "turkic \u2212 russian", (-1.0, 1.0))
        dates = _dates(spec, spec.months + 1)
        for t, names in enumerate(spec.event_names):
            if not names:
                continue
            ax.axvline(dates[t], color="#7f8c8d", lw=0.8, ls="--", alpha=0.7)
            ax.text(
                dates[t],
                0.97,
                "; ".join(names),
                rotation=90,
                fontsize=6,
                va="top",
                ha="right",
                color="#555555",
                transform=ax.get_xaxis_transform(),
            )
        ax.axhline(0.0, color="black", lw=0.6)
        self.line = ax.plot([], [], color="#8e44ad", lw=2.0, marker="o", ms=2)[0]

    def update(self, model: AlignmentModel) -> None:
        data = model.datacollector.get_model_vars_dataframe()
        self.line.set_data(_dates(model.spec, len(data)), data["axis"].to_numpy())

    def dynamic(self) -> list[Any]:
        return [self.line]


class RoutePanel(Panel):
    """Oil export shares by route, stacked."""

    name = "routes"

    def __init__(self, spec: Spec) -> None:
        self.fig, self.ax = _time_axes(spec, "Oil export routes", "share of exports", (0.0, 1.0))
        self.routes = spec.routes
        self.labels = list(spec.route_labels)
        self.colours = [ROUTE_COLOURS.get(r, "#999999") for r in spec.routes]
        # one polygon per route, reshaped after each step (cheaper than a new stackplot)
        self.stack = [
            self.ax.fill(np.zeros(1), np.zeros(1), color=c, alpha=0.85, lw=0)[0]
            for c in self.colours
        ]
        self.legend = self.ax.legend(
            handles=[
                Patch(color=c, label=lb) for c, lb in zip(self.colours, self.labels, strict=True)
            ],
            fontsize=6,
            loc="lower left",
        )

    def update(self, model: AlignmentModel) -> None:
        data = model.datacollector.get_model_vars_dataframe()
        x = _dates(model.spec, len(data))
        if len(data) < 2:  # one point: show it as a one-month wide band
            x = np.concatenate([x, x + np.timedelta64(1, "M")])
            data = data.iloc[[0, 0]]
        xs = mdates.date2num(x.astype("datetime64[D]"))
        top = np.cumsum([data[f"route_{r}"].to_numpy() for r in self.routes], axis=0)
        bottom = np.vstack([np.zeros_like(xs), top[:-1]])
        for poly, lo, hi in zip(self.stack, bottom, top, strict=True):
            poly.set_xy(np.column_stack([np.r_[xs, xs[::-1]], np.r_[hi, lo[::-1]]]))

    def dynamic(self) -> list[Any]:
        return [*self.stack, self.legend]  # the legend stays on top of the bands


class NetworkPanel(Panel):
    """Relations among the actors: edge colour = relation (red hostile, blue friendly)."""

    name = "network"

    def __init__(self, spec: Spec) -> None:
        self.fig, self.ax = _figure()
        self.fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9)
        g = nx.complete_graph(len(spec.actors))
        self.pos = nx.circular_layout(g)
        self.pairs = list(g.edges())
        cmap = matplotlib.colormaps["RdBu"]
        self.edges = LineCollection(
            [(self.pos[i], self.pos[j]) for i, j in self.pairs],
            cmap=cmap,
            norm=Normalize(-1.0, 1.0),
            zorder=1,
        )
        self.ax.add_collection(self.edges)
        self.nodes = nx.draw_networkx_nodes(
            g, self.pos, ax=self.ax, node_color="#ecf0f1", edgecolors="#2c3e50", node_size=900
        )
        self.labels = list(
            nx.draw_networkx_labels(
                g, self.pos, ax=self.ax, font_size=7, labels=dict(enumerate(spec.actor_labels))
            ).values()
        )
        self.fig.colorbar(self.edges, ax=self.ax, shrink=0.8, label="relation")
        self.title = self.ax.set_title("", fontsize=10)
        self.ax.set_xlim(-1.3, 1.3)
        self.ax.set_ylim(-1.25, 1.25)
        self.ax.set_axis_off()

    def update(self, model: AlignmentModel) -> None:
        g = relations_graph(model)
        values = np.array([g.edges[i, j]["value"] for i, j in self.pairs])
        self.edges.set_array(values)
        self.edges.set_linewidths(0.5 + 3.0 * np.abs(values))
        self.title.set_text(f"Relations in {model.date}")

    def dynamic(self) -> list[Any]:
        return [self.edges, self.nodes, *self.labels, self.title]  # nodes drawn over edges


PANELS: tuple[type[Panel], ...] = (SpherePanel, AxisPanel, RoutePanel, NetworkPanel)


def relations_graph(model: AlignmentModel) -> nx.Graph:
    """The actors and their current bilateral relations (edge attribute ``value``, -1..1)."""
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


def log_html(model: AlignmentModel, months: int = 12) -> str:
    """The narrated log, newest month first: what each actor did and why."""
    head = (
        f"<div class='alignsim-status'><b>{html.escape(model.date)}</b> — step "
        f"<span class='alignsim-step'>{model.month}</span> of {model.spec.months}</div>"
    )
    describe = getattr(model, "describe", None)
    if describe is not None:
        head += f"<div class='alignsim-world' style='font-size:80%'>{html.escape(describe())}</div>"
    head += (
        "<div style='font-size:80%;color:#666'>Sliders apply when you press Reset "
        "(it restarts in January 2022).</div>"
    )
    if not model.log:
        body = "<p class='alignsim-empty'>No moves yet: press Step or ▶.</p>"
    else:
        shown = sorted({e.month for e in model.log}, reverse=True)[:months]
        rows = []
        for month in shown:
            rows.append(f"<div class='alignsim-month' style='margin-top:6px'><b>{month}</b></div>")
            for e in (e for e in model.log if e.month == month):
                why = (
                    f"<div style='font-size:75%;color:#555'>{html.escape(e.why)}</div>"
                    if e.why
                    else ""
                )
                tag = " <i>(scheduled)</i>" if e.forced and e.actor != "scenario" else ""
                rows.append(f"<div class='alignsim-entry'>{html.escape(e.text)}{tag}{why}</div>")
        body = "".join(rows)
    return f"<div class='alignsim-log' style='overflow-y:auto;max-height:340px'>{head}{body}</div>"


# ---------------------------------------------------------------------------- components
def _panel_view(model: AlignmentModel, kind: type[Panel]) -> None:
    """Render one panel; called from a Solara component (it uses hooks).

    The panel lives as long as the model (a Reset makes a new model, hence new panels); it is
    updated once per month. ``update_counter`` is what SolaraViz bumps after Step/Play.
    """
    update_counter.get()
    panel = solara.use_memo(lambda: kind(model.spec), [model])
    solara.use_memo(lambda: panel.update(model), [model, model.month])
    with solara.Div(classes=[f"alignsim-{kind.name}"]):
        frame = solara.use_memo(panel.frame, [model, model.month])
        solara.Image(frame, format=IMAGE_FORMAT)


# Real components (not plain functions): SolaraViz would otherwise wrap each one in a fresh
# component on every render, and the panels would be rebuilt every time.
@solara.component
def SphereView(model: AlignmentModel):
    _panel_view(model, SpherePanel)


@solara.component
def AxisView(model: AlignmentModel):
    _panel_view(model, AxisPanel)


@solara.component
def RouteView(model: AlignmentModel):
    _panel_view(model, RoutePanel)


@solara.component
def NetworkView(model: AlignmentModel):
    _panel_view(model, NetworkPanel)


@solara.component
def NarratedLog(model: AlignmentModel):
    """The log panel: newest month first, each move with its narration and its why."""
    update_counter.get()
    solara.HTML(tag="div", unsafe_innerHTML=log_html(model))


COMPONENTS = [(AxisView, 0), (NarratedLog, 0), (SphereView, 0), (RouteView, 0), (NetworkView, 0)]


class PageViews:
    """What the page computes for one model, outside Solara (benchmark, tests, notebook)."""

    def __init__(self, model: AlignmentModel) -> None:
        self.model = model
        self.panels = [kind(model.spec) for kind in PANELS]

    def render(self) -> dict[str, bytes]:
        """Update every panel to the model's month and render it as the page does (JPEG frames)."""
        out = {}
        for panel in self.panels:
            panel.update(self.model)
            out[panel.name] = panel.frame()
        out["log"] = log_html(self.model).encode()
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
