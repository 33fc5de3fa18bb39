"""The seminar page: a Solara page of its own over the Mesa model (:mod:`alignsim.demo.world`).

Served by ``alignsim-demo`` (:mod:`alignsim.demo.serve`), displayable in Jupyter (``Page()`` as
the last expression of a cell). Why not Mesa's SolaraViz: its developer widgets (Render
Interval, Use Threads, the "PAGE 0" tab, "Time: 7.0", draggable panels) are traps in a room of
students, its sliders only apply at Reset, and its Reset replaces the page with a traceback on a
bad seed. This page keeps Mesa's model and DataCollector and draws its own controls:

* each control has a label a student understands, its value and unit beside it, and its
  technical name in a tooltip (:data:`~alignsim.demo.world.CONTROLS`);
* "live" controls moved mid-run apply from the next month and are marked on the charts as
  interventions; the start controls (scenario, seed, CPC share) say "applies at Reset" while
  they differ from the world in force;
* bad input gives one message in the page, naming the control; the last good world stays;
* charts are SVG drawn by the browser (:mod:`alignsim.demo.charts`), only the one shown is
  built, the log is one element per year, and page state lives in per-session reactive values
  read by small components, so a step re-renders only what changed: it costs the server ~12 ms
  (a room of 30 students shares one process; ``benchmarks/demo_step.py``);
* Reset keeps the run it ends as a ghost line (up to five) with its settings in a legend.

Each browser session (Solara virtual kernel) builds its own world inside :func:`Page`.
"""

from __future__ import annotations

import html
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import solara

from alignsim.demo import charts
from alignsim.demo.charts import Line, Mark
from alignsim.demo.world import (
    CONTROLS,
    MAX_GHOSTS,
    SCENARIOS,
    Control,
    RunRecord,
    SeminarModel,
    default_values,
    history_record,
    run_csv,
    user_message,
)
from alignsim.kernel.spec import ConfigError

log = logging.getLogger("alignsim.demo")
VIEWS = ("Axis", "Spheres", "Oil flow", "Relations", "Info")
PLAY_INTERVAL_S = 1.0  # s between months on Play: readable aloud, and 30 players ≈ 30 steps/s
ALL = "All actors"

LOGIT_SENTENCE = ("Each actor draws its move by probability (the logit rule): the option with the "
                  "highest expected payoff is the likeliest, not certain, so a lower-ranked "
                  "option is sometimes drawn — that is what the seed decides.")
__all__ = ["Page", "PageViews", "SeminarModel", "log_html"]


# ----------------------------------------------------------------------------- formatting
def sig2(value: float) -> str:
    """Two significant figures, never in exponent notation (read aloud in a seminar)."""
    if not np.isfinite(value):
        return "—"
    if value == 0:
        return "0"
    return np.format_float_positional(value, precision=2, unique=False, fractional=False,
                                      trim="-")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


# ---------------------------------------------------------------------------------- charts
def _event_marks(model: SeminarModel) -> list[Mark]:
    marks = [Mark(t, "event", str(i + 1), f"{model.spec.start.plus(t)} {name}: {desc} "
                  f"(source {src})") for i, (t, name, desc, src) in enumerate(model.events())]
    marks += [Mark(iv.month, "intervention", f"★{i + 1}", f"{iv.date} you changed: {iv.text()}",
                   charts.INTERVENTION_COLOUR) for i, iv in enumerate(model.interventions)]
    return marks


def _move_marks(model: SeminarModel) -> list[Mark]:
    words = {"pipeline_halt": "halts the CPC pipeline", "investment_fund": "launches a fund"}
    return [Mark(t, "move", "", f"{model.spec.start.plus(t)}: {actor} {words[action]} (own "
                 "choice)", charts.ACTOR_MARK_COLOURS.get(actor, charts.FG))
            for t, actor, action in model.own_moves()]


def _ghosts(ghosts: Sequence[RunRecord], key: str, colour: str | None = None) -> list[Line]:
    return [Line(g.label, g.series[key], colour or charts.GHOST_COLOURS[i % len(
        charts.GHOST_COLOURS)], 2.0, "7 5", 0.75) for i, g in enumerate(ghosts)]


def zoom(values: Sequence[np.ndarray], min_span: float = 0.2) -> tuple[tuple[float, float],
                                                                        tuple[float, ...]]:
    """A y range that fits the data (so a +0.004 change is visible) and round ticks for it."""
    data = np.concatenate([np.asarray(v, dtype=float) for v in values if len(v)])
    lo, hi = float(data.min()), float(data.max())
    mid, half = (lo + hi) / 2, max(hi - lo, min_span) / 2 * 1.15
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if 2 * half / s <= 6)
    lo, hi = np.floor((mid - half) / step) * step, np.ceil((mid + half) / step) * step
    return (float(lo), float(hi)), tuple(float(v) for v in np.arange(lo, hi + step / 2, step))


def axis_chart(model: SeminarModel, ghosts: Sequence[RunRecord] = ()) -> str:
    """The headline: Russian–Turkic axis, events, interventions, actors' own moves, ghosts."""
    s = model.spec
    axis = model.series()["axis"]
    ghost_lines = _ghosts(ghosts, "axis")
    ylim, yticks = zoom([axis, *(g.values for g in ghost_lines)])
    return charts.time_chart(
        name="axis", start=s.start, months=s.months, ylim=ylim,
        yticks=yticks, yfmt="+.3f", ylabel="Turkic − Russian share",
        lines=[Line("axis", axis, charts.AXIS_COLOUR, 4.0)],
        ghosts=ghost_lines, marks=_event_marks(model), moves=_move_marks(model),
        zero=True)


def spheres_chart(model: SeminarModel, ghosts: Sequence[RunRecord] = ()) -> str:
    s, series = model.spec, model.series()
    lines = [Line(label, series[f"share_{k}"], charts.SPHERE_COLOURS.get(k, charts.FG))
             for k, label in zip(s.spheres, s.sphere_labels, strict=True)]
    ghost_lines = [Line(f"{g.label} {label}", g.series[f"share_{k}"],
                        charts.SPHERE_COLOURS.get(k, charts.FG), 1.5, "7 5", 0.55)
                   for g in ghosts for k, label in zip(s.spheres, s.sphere_labels, strict=True)
                   if k in ("russian", "turkic")]
    ylim, yticks = zoom([ln.values for ln in (*lines, *ghost_lines)])
    return charts.time_chart(
        name="spheres", start=s.start, months=s.months, ylim=ylim,
        yticks=yticks, yfmt=".3f", ylabel="share of alignment",
        lines=lines, ghosts=ghost_lines, marks=_event_marks(model))


def flow_chart(model: SeminarModel) -> str:
    """The oil that actually flowed each month, stacked by route, the CPC on top.

    A month's bar is what flowed during that month, so the July 2022 halt is a notch in the
    total in July. The CPC (through Russia) is stacked last so a halt cuts the top off.
    """
    s, series = model.spec, model.series()
    order = sorted(range(len(s.routes)), key=lambda k: s.routes[k] == "cpc")
    bands = [Line(f"{s.route_labels[k]}: oil that flowed", series[f"flow_{s.routes[k]}"][1:],
                  charts.ROUTE_COLOURS.get(s.routes[k], charts.MUTED)) for k in order]
    return charts.time_chart(
        name="flow", start=s.start, months=s.months, ylim=(0.0, 1.05),
        yticks=(0, 0.25, 0.5, 0.75, 1.0), yfmt=".3f", ylabel="oil flowing (1 = all exports)",
        lines=[], bands=bands, marks=_event_marks(model), moves=_move_marks(model))


def network_chart(model: SeminarModel) -> str:
    return charts.network_chart(model.spec.actor_labels, model.state.relations[0], model.date)


def chart_svg(view: str, model: SeminarModel, ghosts: Sequence[RunRecord]) -> str:
    """The SVG of one view (only the view on screen is built after a step)."""
    if view == "Spheres":
        return spheres_chart(model, ghosts)
    if view == "Oil flow":
        return flow_chart(model)
    if view == "Relations":
        return network_chart(model)
    return axis_chart(model, ghosts)


def colour_key_html(view: str, model: SeminarModel) -> str:
    """Which colour is which route or sphere (the lines also carry their names on hover)."""
    s = model.spec
    if view == "Oil flow":
        items = [(charts.ROUTE_COLOURS.get(k, charts.MUTED), lb)
                 for k, lb in zip(s.routes, s.route_labels, strict=True)]
    elif view == "Spheres":
        items = [(charts.SPHERE_COLOURS.get(k, charts.FG), lb)
                 for k, lb in zip(s.spheres, s.sphere_labels, strict=True)]
    else:
        return ""
    return "<div class='alignsim-key'>" + " ".join(
        f"<span style='color:{c}'>■ {esc(lb)}</span>" for c, lb in items) + "</div>"


def chart_png(model: SeminarModel, ghosts: Sequence[RunRecord]) -> bytes:
    """Axis, spheres and oil flow as one PNG (the download button; drawn only on request)."""
    s, series = model.spec, model.series()
    axis = [*_ghosts(ghosts, "axis"), Line("this run", series["axis"], charts.AXIS_COLOUR)]
    spheres = [Line(label, series[f"share_{k}"], charts.SPHERE_COLOURS.get(k, charts.FG))
               for k, label in zip(s.spheres, s.sphere_labels, strict=True)]
    flows = [Line(label, series[f"flow_{k}"], charts.ROUTE_COLOURS.get(k, charts.MUTED))
             for k, label in zip(s.routes, s.route_labels, strict=True)]
    return charts.png(f"alignsim — {model.describe()} — to {model.date}", s.start, s.months,
                      [("Turkic − Russian", axis, (-1, 1)), ("share", spheres, (0, 0.8)),
                       ("oil flowing", flows, (0, 1.05))])


# ------------------------------------------------------------------------------ text views
def status_html(model: SeminarModel) -> str:
    """Where the run is, in figures: date, month, the axis and its change, the shares."""
    s = model.spec
    series = model.series()
    axis = series["axis"]
    change = f"{axis[-1] - axis[-2]:+.3f} since last month" if len(axis) > 1 else "start"
    lead = "Turkic ahead" if axis[-1] > 0 else "Russian ahead"
    shares = " · ".join(f"<span class='share' style='color:{charts.SPHERE_COLOURS.get(k)}'>"
                        f"{esc(label)} {100 * series[f'share_{k}'][-1]:.1f} %</span>"
                        for k, label in zip(s.spheres, s.sphere_labels, strict=True))
    end = (f" <b class='alignsim-ended'>Run ended: axis {axis[-1]:+.3f}.</b>"
           if model.finished else "")
    return (f"<div class='alignsim-status'><b class='alignsim-date'>{esc(model.date)}</b> · "
            f"month <span class='alignsim-step'>{model.month}</span> of {s.months} · "
            f"axis <b class='alignsim-axis-value'>{axis[-1]:+.3f}</b> ({lead}; {change})"
            f"{end}<div class='alignsim-shares'>{shares}</div></div>")


def why_html(model: SeminarModel, t: int, n: int) -> str:
    """One actor's reasons in month ``t``: payoffs (util, 2 s.f.), probabilities, the choice."""
    c = model.choices[t][n]
    s = model.spec
    if c.forced:
        return "scheduled by the scenario (historical record)"
    order = [a for a in np.argsort(-c.expected) if np.isfinite(c.expected[a])]
    if not order:
        return ""
    best = float(c.expected[order[0]])
    parts = []
    for rank, a in enumerate(order):
        chance = f"{100 * c.probabilities[a]:.0f} %"
        value = (f"{sig2(best)} util, best" if rank == 0
                 else f"{sig2(float(c.expected[a]) - best)} util vs best")
        text = f"{esc(s.action_labels[a])} {value} ({chance})"
        parts.append(f"<b class='chosen'>✔ {text}</b>" if a == c.action else text)
    note = ""
    if c.action != order[0]:
        note = " — drawn although not ranked first: the logit rule draws by probability"
    return ("expected payoffs, 2 significant figures (chance of being drawn): "
            + " · ".join(parts) + note)


def month_html(model: SeminarModel, t: int, actor: str = ALL) -> str:
    """One month of the log: the scenario's events (description, source) and the actors' moves."""
    s = model.spec
    date = str(s.start.plus(t))
    rows = []
    if actor in (ALL, "Scenario events"):
        for tt, name, desc, src in model.events():
            if tt == t:
                rows.append(f"<div class='alignsim-entry alignsim-event'>Event: <b>{esc(name)}"
                            f"</b> — {esc(desc)} <span class='source'>(source {esc(src)})"
                            "</span></div>")
    for iv in model.interventions:
        if iv.month == t and actor == ALL:
            rows.append(f"<div class='alignsim-entry alignsim-intervention'>★ You changed, "
                        f"from this month: {esc(iv.text())}</div>")
    by_actor = {e.actor: e for e in model.log if e.month == date and e.actor != "scenario"}
    for n, c in enumerate(model.choices[t]):
        if actor not in (ALL, c.actor) or (c.action == 0 and not c.forced and actor == ALL):
            continue
        entry = by_actor.get(c.actor)
        text = entry.text if entry else f"{c.actor}: {s.action_labels[c.action]}."
        tag = " <i>(scheduled)</i>" if c.forced else ""
        rows.append(f"<div class='alignsim-entry'>{esc(text)}{tag}"
                    f"<div class='why'>{why_html(model, t, n)}</div></div>")
    if not rows:
        rows.append("<div class='alignsim-entry quiet'>No moves.</div>")
    return f"<div class='alignsim-month'><b>{date}</b>{''.join(rows)}</div>"


def log_html(model: Any, months: int | None = None) -> str:
    """The whole log as one HTML string, newest month first (notebooks, tests)."""
    head = (f"<div class='alignsim-status'><b>{esc(model.date)}</b> — step "
            f"<span class='alignsim-step'>{model.month}</span> of {model.spec.months}</div>")
    if not hasattr(model, "choices"):  # a plain model: the narration lines only
        body = "".join(f"<div class='alignsim-entry'>{esc(e.text)}"
                       f"{' <i>(scheduled)</i>' if e.forced and e.actor != 'scenario' else ''}"
                       f"{_plain_why(e.why)}</div>" for e in reversed(model.log))
        return f"<div class='alignsim-log'>{head}{body}</div>"
    shown = list(range(model.month - 1, -1, -1))[:months]
    body = "".join(month_html(model, t) for t in shown) or (
        "<p class='alignsim-empty'>No moves yet: press Step or ▶.</p>")
    return f"<div class='alignsim-log'>{head}{body}</div>"


def _plain_why(why: str) -> str:
    return f"<div class='why'>{esc(why)}</div>" if why else ""


def ghost_legend_html(ghosts: Sequence[RunRecord]) -> str:
    """The earlier runs on the charts: colour, label, settings, end value, interventions."""

    def changes(g: RunRecord) -> str:
        return ("; interventions: " + " | ".join(iv.text() for iv in g.interventions)
                if g.interventions else "")

    items = "".join(
        f"<li class='alignsim-ghost'><span style='color:"
        f"{charts.GHOST_COLOURS[i % len(charts.GHOST_COLOURS)]}'>╌╌ {esc(g.label)}</span>: "
        f"{esc(g.settings)}; to {esc(g.end_date)}, axis {g.series['axis'][-1]:+.3f}"
        f"{esc(changes(g))}"
        "</li>" for i, g in enumerate(ghosts))
    return f"<ul class='alignsim-ghosts'>{items}</ul>" if items else ""


def marks_legend_html(model: SeminarModel) -> str:
    """What the numbered badges and triangles on the charts mean."""
    events = "".join(f"<li><b>{i + 1}</b> {model.spec.start.plus(t)} {esc(name)} — {esc(desc)} "
                     f"<span class='source'>(source {esc(src)})</span></li>"
                     for i, (t, name, desc, src) in enumerate(model.events()))
    ivs = "".join(f"<li class='alignsim-intervention'><b>★{i + 1}</b> {esc(iv.date)}: "
                  f"{esc(iv.text())}</li>" for i, iv in enumerate(model.interventions))
    return (f"<ul class='alignsim-marks'>{events}{ivs}<li class='quiet'>▲ along the bottom: an "
            "actor's own pipeline halt or fund launch (hover for who).</li></ul>")


INFO_MD = """
### What is this?
A model of **Kazakhstan** between four spheres — Russian, Turkic, Chinese and Western. Each month
six actors (Kazakhstan, Russia, Azerbaijan, Türkiye, China, the EU) each pick one lever: halt a
pipeline, refuse to recognise a "republic", launch an investment fund, build a new export route,
offer security, hold a summit, or — Kazakhstan's own gestures — keep to the sanctions rules, join
a Turkic format, visit Moscow then Paris, mediate neutrally; or do nothing.

### How it works
Each actor computes the *expected payoff* (in utility units, *util*) of every lever open to it:
the powers look one month ahead, Kazakhstan twelve (a new route pays only once it is built).
A gesture repeated soon costs more than the first one (attention costs). Each actor then
**draws** one lever by probability (the *logit rule*): the better an option, the likelier it is,
but not certain. Kazakhstan's alignment moves toward the sphere that is worth most to it now.
The headline number is the **axis**: Turkic share minus Russian share.

### How to use the page
* **Step** advances one month, **▶ Play** runs on, **Reset** starts again in January 2022 with
  the settings in the sidebar. Reset keeps the run it ends as a dashed *ghost line*.
* Sliders marked *live* change the world **from the next month** when moved mid-run; the change
  is marked ★ on the charts. Scenario, seed and the CPC share set how the world *starts*: they
  apply at Reset.
* Hover a chart for the values of a month, a badge for the event and its source.

### Things to notice
* Read the *why* lines: when two options are close, the draw decides; the seed decides the draws.
* A halt buys no compliance: it teaches a threat, and Kazakhstan builds routes around Russia
  (watch the Oil flow view).

### Things to try
* Run `history` twice with halt severity 100 % and 20 %; compare the ghost lines.
* In `baseline`, raise the Türkiye and Azerbaijan funds: how far does the axis move, and how
  often do they launch?
* Turn Russia's coercion up mid-run and watch what follows the ★ mark.

### Extending the model
New levers go in `conf/actions/`, new dated events in `conf/scenario/` — no code needed.
"""

CSS = """
.alignsim { font-size: 17px; line-height: 1.35; color: #e2e8f0; background: #0f172a; }
.alignsim-layout { display: flex; gap: 14px; align-items: flex-start; }
.alignsim-sidebar { flex: 0 0 300px; width: 300px; }
.alignsim-main { flex: 1 1 auto; min-width: 0; }
.alignsim-control { margin-bottom: 4px; }
.alignsim-control .label { font-size: 15px; cursor: help; }
.alignsim-control .value { font-weight: bold; color: #facc15; font-size: 16px; }
.alignsim-control .pending { color: #fb923c; font-size: 14px; }
.alignsim-status { font-size: 21px; }
.alignsim-shares { font-size: 19px; }
.alignsim-axis-value { color: #c084fc; font-size: 26px; }
.alignsim-error { background: #7f1d1d; color: #fff; padding: 8px 12px; border-radius: 6px;
  font-size: 18px; margin: 6px 0; }
.alignsim-log { overflow-y: auto; max-height: 320px; font-size: 16px;
  border-top: 1px solid #334155; }
.alignsim-month { margin-top: 6px; }
.alignsim-entry .why { font-size: 14px; color: #94a3b8; }
.alignsim-entry .chosen { color: #facc15; }
.alignsim-event { color: #cbd5e1; }
.alignsim-intervention { color: #facc15; }
.alignsim .source, .alignsim .quiet { color: #94a3b8; font-size: 14px; }
.alignsim-marks, .alignsim-ghosts { font-size: 14px; margin: 4px 0; padding-left: 18px; }
.alignsim-info { font-size: 18px; max-width: 60em; }
.alignsim-key { font-size: 17px; margin: 2px 0; }
.alignsim-key span { margin-right: 14px; }
.alignsim .v-btn { font-size: 16px; }
"""


# ---------------------------------------------------------------------------- the session
class Session:
    """One browser session's world and page state.

    The page state lives in per-session :class:`solara.Reactive` values read by the small
    components that show them, so a step re-renders only the status, the chart on screen, the
    log and the buttons — not the sidebar or the page around them (a room of 30 students
    shares one server process). ``tick`` changes after every step, ``world`` after a Reset or
    an intervention.
    """

    def __init__(self) -> None:
        self.model = SeminarModel()
        self.ghosts: list[RunRecord] = []
        self.runs = 1
        self.lock = threading.Lock()
        self.tick = solara.Reactive(0)
        self.finished = solara.Reactive(False)
        self.world = solara.Reactive(0)
        self.values: solara.Reactive[dict[str, Any]] = solara.Reactive(default_values())
        self.error = solara.Reactive("")
        self.playing = solara.Reactive(False)
        self.view = solara.Reactive(VIEWS[0])
        self.compare = solara.Reactive(True)
        self.reference = solara.Reactive(False)
        self._months: dict[tuple[int, int, str, int], str] = {}

    def step(self) -> None:
        with self.lock:
            self.model.step()

    def reset(self, values: dict[str, Any]) -> None:
        """A new world from the controls; raises ConfigError (the old world is kept)."""
        new = SeminarModel(**values)
        with self.lock:
            if self.model.month > 0:
                self.ghosts = [*self.ghosts, RunRecord.of(self.model, self.runs)][-MAX_GHOSTS:]
                self.runs += 1
            self.model = new
            self._months.clear()

    def intervene(self, key: str, value: float) -> None:
        with self.lock:
            self.model.intervene(**{key: value})

    def month_html(self, t: int, actor: str) -> str:
        """A past month's log HTML, built once (it cannot change, except by a new mark)."""
        m = self.model
        key = (id(m), t, actor, sum(iv.month == t for iv in m.interventions))
        if key not in self._months:
            self._months[key] = month_html(m, t, actor)
        return self._months[key]

    def act(self, action: Callable[[], None], world: bool = False) -> None:
        """Run a page action (bad input → one message, see :func:`guarded`), then redraw."""
        # No process-wide lock here: tried, it cut the mean of 30 simultaneous clicks by a
        # quarter but, being unfair, let a student who clicks continuously wait 1.4 s.
        guarded(action, self.error.set)
        self.tick.set(self.tick.value + 1)
        self.finished.set(self.model.finished)
        if world:
            self.world.set(self.world.value + 1)


def guarded(action: Callable[[], None], set_error: Callable[[str], None]) -> None:
    """Run a page action; bad input becomes one message, anything else too (logged in full)."""
    try:
        action()
        set_error("")
    except ConfigError as err:
        log.warning("seminar page: refused input: %s", err)
        set_error(user_message(err))
    except Exception as err:  # the page must never show a traceback
        log.exception("seminar page: action failed")
        set_error(f"Something went wrong ({type(err).__name__}: {err}). The world was kept; "
                  "the details are in the server's log.")


# ---------------------------------------------------------------------------- components
@solara.component
def ControlRow(control: Control, value: float, on_value: Callable[[float], None],
               pending: bool) -> None:
    """A slider with its label (technical name in the tooltip), its value and unit."""
    with solara.Div(classes=["alignsim-control", f"alignsim-control-{control.key}"]):
        tag = "" if control.live else " · applies at Reset"
        pend = " <span class='pending'>⟳ not yet in force: press Reset</span>" if pending else ""
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"<span class='label' title='{esc(control.tooltip)}'>{esc(control.label)}</span> "
            f"<span class='value'>{esc(control.show(value))}</span>"
            f"<span class='quiet'>{tag}</span>{pend}"))
        solara.SliderFloat("", value=value, min=control.lo, max=control.hi, step=control.step,
                           on_value=on_value, thumb_label=False)


@solara.component
def Sidebar(session: Session) -> None:
    """The controls. Live sliders intervene at once; start controls wait for Reset."""
    values = session.values.value
    session.world.value  # noqa: B018 - re-render after a Reset (the pending marks)
    start = session.model.start_params

    def set_value(key: str, value: Any) -> None:
        session.values.set({**session.values.value, key: value})

    def live(key: str) -> Callable[[float], None]:
        def on_value(v: float) -> None:
            set_value(key, v)
            session.act(lambda: session.intervene(key, v), world=True)
        return on_value

    with solara.Div(classes=["alignsim-sidebar"]):
        solara.Select("Scenario (what happens)", values=list(SCENARIOS),
                      value=values["scenario_name"],
                      on_value=lambda v: set_value("scenario_name", v))
        solara.InputText("Random seed (whole number ≥ 0)", value=str(values["seed"]),
                         on_value=lambda v: set_value("seed", v), continuous_update=True)
        if (values["scenario_name"] != start["scenario_name"]
                or str(values["seed"]).strip() != str(start["seed"])):
            solara.HTML(tag="div", classes=["alignsim-control"], unsafe_innerHTML=(
                "<span class='pending'>⟳ scenario/seed not yet in force: press Reset</span>"))
        for control in CONTROLS:
            on_value = live(control.key) if control.live else (
                lambda v, k=control.key: set_value(k, v))
            pending = not control.live and abs(values[control.key] - start[control.key]) > 1e-9
            ControlRow(control, float(values[control.key]), on_value, pending)


@solara.component
def Buttons(session: Session) -> None:
    """Step, Play/Pause, Reset. Re-rendered only when the run ends or restarts, not per step."""
    finished = session.finished.value
    playing = session.playing.value

    def reset() -> None:
        session.playing.set(False)
        session.act(lambda: session.reset(session.values.value), world=True)

    with solara.Row(classes=["alignsim-buttons"]):
        solara.Button("Step", on_click=lambda: session.act(session.step),
                      disabled=finished or playing, color="primary")
        solara.Button("❚❚ Pause" if playing else "▶ Play",
                      on_click=lambda: session.playing.set(not playing),
                      disabled=finished and not playing)
        solara.Button("Reset", on_click=reset, color="warning")


@solara.component
def Player(session: Session) -> None:
    """Steps the world every PLAY_INTERVAL_S while ▶ Play is on (a thread per session)."""
    playing = session.playing.value

    def play(cancel: threading.Event) -> None:
        while playing and not cancel.is_set() and not session.model.finished:
            session.act(session.step)
            cancel.wait(PLAY_INTERVAL_S)
        if playing and session.model.finished:
            session.playing.set(False)

    solara.use_thread(play, dependencies=[playing], intrusive_cancel=False)


@solara.component
def Status(session: Session) -> None:
    """The error message (if any), the figures of the month and the settings in force.

    One HTML element, not three: every element re-rendered after a step costs the server
    reconciliation time, multiplied by a room of students.
    """
    session.tick.value  # noqa: B018
    error = session.error.value
    box = f"<div class='alignsim-error'>{esc(error)}</div>" if error else ""
    solara.HTML(tag="div", unsafe_innerHTML=(
        f"{box}{status_html(session.model)}<div class='alignsim-world quiet'>In force: "
        f"{esc(session.model.describe())}</div>"))


def shown_ghosts(session: Session) -> list[RunRecord]:
    """The dashed lines on the charts: the earlier runs (switch "Earlier runs") and the
    ``history`` scenario at default settings with this run's seed (switch "Compare with
    history"), so a class can set its own run against the record."""
    ghosts = list(session.ghosts) if session.compare.value else []
    if session.reference.value:
        ghosts.append(history_record(int(session.model.params["seed"])))
    return ghosts


@solara.component
def ViewPicker(session: Session) -> None:
    with solara.Row():
        solara.ToggleButtonsSingle(session.view.value, values=list(VIEWS),
                                   on_value=session.view.set)
        solara.Switch(label="Earlier runs", value=session.compare.value,
                      on_value=session.compare.set)
        solara.Switch(label="Compare with history",
                      value=session.reference.value, on_value=session.reference.set)


@solara.component
def Charts(session: Session) -> None:
    """Only the view on screen is built; it is SVG text, drawn by the browser."""
    session.tick.value  # noqa: B018
    view = session.view.value
    model = session.model
    ghosts = shown_ghosts(session)
    if view == "Info":
        with solara.Div(classes=["alignsim-info"]):
            solara.Markdown(INFO_MD)
        return
    marks = marks_legend_html(model) + ghost_legend_html(ghosts) if view != "Relations" else ""
    solara.HTML(tag="div", classes=["alignsim-chart"], unsafe_innerHTML=(
        colour_key_html(view, model) + chart_svg(view, model, ghosts) + marks))


@solara.component
def Downloads(session: Session) -> None:
    with solara.Row():
        solara.FileDownload(lambda: run_csv(session.model, session.ghosts),
                            filename="alignsim-run.csv", label="Download data (CSV)",
                            mime_type="text/csv")
        solara.FileDownload(lambda: chart_png(session.model, shown_ghosts(session)),
                            filename="alignsim-charts.png", label="Download charts (PNG)",
                            mime_type="image/png")


@solara.component
def LogPanel(session: Session) -> None:
    """The log: every month, newest first, filterable by actor, scrollable."""
    session.world.value  # noqa: B018 - a Reset may bring other actors
    actor, set_actor = solara.use_state(ALL)
    choices = [ALL, "Scenario events", *session.model.spec.actor_labels]
    solara.Select("Show moves of", values=choices, value=actor, on_value=set_actor)
    solara.HTML(tag="div", classes=["quiet"], unsafe_innerHTML=esc(LOGIT_SENTENCE))
    LogBody(session, actor)


@solara.component
def LogBody(session: Session, actor: str) -> None:
    """The months of the log (re-rendered after each step)."""
    session.tick.value  # noqa: B018
    model = session.model
    with solara.Div(classes=["alignsim-log"]):
        if model.month == 0:
            solara.HTML(tag="p", classes=["alignsim-empty"],
                        unsafe_innerHTML="No moves yet: press Step or ▶ Play.")
        # one element per year (newest first): few widgets to reconcile, and a step changes
        # only the current year's element
        months = list(range(model.month - 1, -1, -1))
        years: dict[int, list[int]] = {}
        for t in months:
            years.setdefault(model.spec.start.plus(t).year, []).append(t)
        for year, ts in years.items():
            solara.HTML(tag="div", unsafe_innerHTML="".join(
                session.month_html(t, actor) for t in ts)).key(f"{id(model)}-{year}-{actor}")


@solara.component
def Page():
    """One seminar world per browser session (built inside the component, not at import)."""
    session = solara.use_memo(Session, [])
    solara.Style(CSS)
    Player(session)
    with solara.v.Sheet(dark=True, class_="alignsim pa-2"):
        solara.HTML(tag="h2", unsafe_innerHTML="alignsim — Kazakhstan between Russia and the "
                    "Turkic world")
        with solara.Div(classes=["alignsim-layout"]):
            Sidebar(session)
            with solara.Div(classes=["alignsim-main"]):
                Buttons(session)
                Status(session)
                ViewPicker(session)
                Charts(session)
                Downloads(session)
                LogPanel(session)


class PageViews:
    """What the page shows for one model, outside Solara (benchmark, tests, notebooks).

    ``render()`` gives the pictures a student can download (PNG, per view) and the log's HTML;
    ``svg()`` gives what the page sends after a step (the SVG of each view).
    """

    def __init__(self, model: SeminarModel, ghosts: Sequence[RunRecord] = ()) -> None:
        self.model = model
        self.ghosts = list(ghosts)

    def svg(self) -> dict[str, str]:
        return {v: chart_svg(v, self.model, self.ghosts) for v in VIEWS[:4]}

    def render(self) -> dict[str, bytes]:
        png = chart_png(self.model, self.ghosts)
        return {"axis": png, "log": log_html(self.model).encode()}
