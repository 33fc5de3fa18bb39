"""The seminar page's charts as SVG text, drawn by the browser (dark, projector-sized).

Why SVG strings and not server-side images: a matplotlib frame costs the server tens of
milliseconds per panel per step, which with a room of 30 students stepping at once is seconds;
building an SVG string costs well under a millisecond and the browser draws it. SVG also gives
hover values (``<title>``), crisp text on a projector and a dark theme for free, and needs no
JavaScript library from a CDN (a seminar room may have no internet).

Every chart has a fixed ``viewBox`` and ``width: 100%``, so it fills the column it sits in.
Event labels never overlap: events are numbered badges at the top, staggered onto a second or
third row when they would touch, and the numbers are explained in a list below the chart.
:func:`png` draws the same series with matplotlib, only when a student downloads a picture.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from alignsim.kernel.calendar import Month

W, H = 960, 470  # viewBox; the page scales it to the column width
LEFT, RIGHT, TOP, BOTTOM = 78, 135, 58, 44  # RIGHT fits "-0.169 History"
BG, FG, GRID, MUTED = "#0f172a", "#e2e8f0", "#334155", "#94a3b8"
FONT = 17
SPHERE_COLOURS = {"russian": "#f87171", "turkic": "#2dd4bf", "chinese": "#fbbf24",
                  "western": "#93c5fd"}
ROUTE_COLOURS = {"cpc": "#f87171", "atyrau_samara": "#fca5a5", "middle_corridor": "#2dd4bf",
                 "china_east": "#fbbf24"}
AXIS_COLOUR = "#c084fc"
GHOST_COLOURS = ("#a3e635", "#f472b6", "#38bdf8", "#fb923c", "#e879f9")
EVENT_COLOUR, INTERVENTION_COLOUR = "#94a3b8", "#facc15"
ACTOR_MARK_COLOURS = {"Russia": "#f87171", "Azerbaijan": "#2dd4bf", "Türkiye": "#5eead4",
                      "China": "#fbbf24", "EU": "#93c5fd", "Kazakhstan": "#e2e8f0"}


@dataclass(frozen=True)
class Line:
    """One series on a time chart (``values[t]`` for months 0..len-1)."""

    label: str
    values: np.ndarray
    colour: str
    width: float = 3.0
    dash: str = ""
    opacity: float = 1.0


@dataclass(frozen=True)
class Mark:
    """A dated mark: an event (numbered badge, dashed line), an intervention, an actor's move."""

    month: int
    kind: str  # "event" | "intervention" | "move"
    badge: str
    title: str
    colour: str = EVENT_COLOUR


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


class TimeFrame:
    """Month → x and value → y for one chart (shared by the lines, the marks and the grid)."""

    def __init__(self, start: Month, months: int, ylim: tuple[float, float]) -> None:
        self.start, self.months, self.ylim = start, months, ylim
        self.pw, self.ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(self, t: float) -> float:
        return LEFT + self.pw * t / self.months

    def y(self, v: float) -> float:
        lo, hi = self.ylim
        return TOP + self.ph * (hi - v) / (hi - lo)

    def points(self, values: np.ndarray) -> str:
        return " ".join(f"{self.x(t):.1f},{self.y(float(v)):.1f}" for t, v in enumerate(values))


def _grid(f: TimeFrame, yticks: Sequence[float], yfmt: str, ylabel: str) -> list[str]:
    out = []
    for v in yticks:
        y = f.y(v)
        out.append(f"<line x1='{LEFT}' x2='{W - RIGHT}' y1='{y:.1f}' y2='{y:.1f}' "
                   f"stroke='{GRID}' stroke-width='1'/>")
        out.append(f"<text x='{LEFT - 8}' y='{y + 6:.1f}' text-anchor='end'>"
                   f"{format(v, yfmt)}</text>")
    for t in range(0, f.months + 1, 12):
        x = f.x(t)
        out.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{TOP}' y2='{H - BOTTOM}' "
                   f"stroke='{GRID}' stroke-width='1'/>")
        out.append(f"<text x='{x:.1f}' y='{H - BOTTOM + 26}' text-anchor='middle'>"
                   f"{f.start.plus(t).year}</text>")
    out.append(f"<text x='18' y='{TOP + f.ph / 2:.0f}' text-anchor='middle' "
               f"transform='rotate(-90 18 {TOP + f.ph / 2:.0f})' fill='{MUTED}'>"
               f"{esc(ylabel)}</text>")
    return out


def _badges(f: TimeFrame, marks: Sequence[Mark]) -> list[str]:
    """Numbered badges above the plot, staggered so that none overlaps its neighbour."""
    out, rows_end = [], [-1e9, -1e9, -1e9]
    for m in sorted(marks, key=lambda m: m.month):
        x = f.x(m.month)
        width = 12 + 10 * len(m.badge)
        row = next((r for r, end in enumerate(rows_end) if x - width / 2 > end + 2), 2)
        rows_end[row] = x + width / 2
        y = 16 + 19 * row
        dash = "6 4" if m.kind == "event" else ""
        out.append(f"<g class='mark mark-{m.kind}'><title>{esc(m.title)}</title>"
                   f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{y + 8}' y2='{H - BOTTOM}' "
                   f"stroke='{m.colour}' stroke-width='{2 if m.kind != 'event' else 1.2}' "
                   f"stroke-dasharray='{dash}' opacity='0.8'/>"
                   f"<rect x='{x - width / 2:.1f}' y='{y - 8}' width='{width}' height='17' "
                   f"rx='8' fill='{m.colour}'/>"
                   f"<text x='{x:.1f}' y='{y + 5}' text-anchor='middle' fill='{BG}' "
                   f"font-size='14' font-weight='bold'>{esc(m.badge)}</text></g>")
    return out


def _moves(f: TimeFrame, moves: Sequence[Mark]) -> list[str]:
    """Actors' own halts and fund launches: triangles along the bottom of the plot."""
    out = []
    for m in moves:
        x, y = f.x(m.month + 0.5), H - BOTTOM - 4
        out.append(f"<g class='mark mark-move'><title>{esc(m.title)}</title>"
                   f"<path d='M{x - 7:.1f},{y:.1f} L{x + 7:.1f},{y:.1f} L{x:.1f},{y - 13:.1f} Z' "
                   f"fill='{m.colour}' stroke='{BG}'/></g>")
    return out


def _hover(f: TimeFrame, lines: Sequence[Line], fmt: str) -> list[str]:
    """One invisible column per month whose tooltip lists every current series' value."""
    if not lines:
        return []
    n = max(len(ln.values) for ln in lines)
    width = f.pw / f.months
    out = ["<g class='hover'>"]
    for t in range(n):
        vals = ", ".join(f"{ln.label} {format(float(ln.values[t]), fmt)}"
                         for ln in lines if t < len(ln.values))
        out.append(f"<rect x='{f.x(t) - width / 2:.1f}' y='{TOP}' width='{width:.1f}' "
                   f"height='{f.ph}' fill='transparent'><title>{f.start.plus(t)}: "
                   f"{esc(vals)}</title></rect>")
    out.append("</g>")
    return out


def _end_labels(f: TimeFrame, lines: Sequence[Line], fmt: str) -> list[str]:
    """The last value of each line at its end, nudged apart vertically so they stay legible."""
    ends = sorted(((f.y(float(ln.values[-1])), ln) for ln in lines if len(ln.values)),
                  key=lambda e: e[0])
    out, last_y = [], -1e9
    for y, ln in ends:
        y = max(y, last_y + 20)
        last_y = y
        x = f.x(len(ln.values) - 1) + 8
        out.append(f"<text class='end-label' x='{x:.1f}' y='{y + 6:.1f}' fill='{ln.colour}' "
                   f"font-weight='bold' opacity='{ln.opacity}'>"
                   f"{format(float(ln.values[-1]), fmt)} {esc(ln.label)}</text>")
    return out


def time_chart(*, name: str, start: Month, months: int, ylim: tuple[float, float],
               yticks: Sequence[float], yfmt: str, ylabel: str, lines: Sequence[Line],
               ghosts: Sequence[Line] = (), marks: Sequence[Mark] = (),
               moves: Sequence[Mark] = (), bands: Sequence[Line] = (),
               zero: bool = False) -> str:
    """A dark time chart: grid, stacked bands, ghost lines, lines, marks, hover, end labels."""
    f = TimeFrame(start, months, ylim)
    out = [f"<svg class='chart chart-{esc(name)}' viewBox='0 0 {W} {H}' width='100%' "
           f"xmlns='http://www.w3.org/2000/svg' font-family='sans-serif' font-size='{FONT}' "
           f"fill='{FG}' style='background:{BG};display:block'>",
           f"<rect width='{W}' height='{H}' fill='{BG}'/>", *_grid(f, yticks, yfmt, ylabel)]
    if zero:
        out.append(f"<line x1='{LEFT}' x2='{W - RIGHT}' y1='{f.y(0):.1f}' y2='{f.y(0):.1f}' "
                   f"stroke='{MUTED}' stroke-width='1.5'/>")
    bottom = None
    for band in bands:  # stacked monthly totals, first at the bottom; value t spans [t, t+1]
        top = band.values if bottom is None else bottom + band.values
        lo = np.zeros_like(top) if bottom is None else bottom
        upper = " ".join(f"{f.x(t + d):.1f},{f.y(float(v)):.1f}"
                         for t, v in enumerate(top) for d in (0, 1))
        lower = " ".join(f"{f.x(t + d):.1f},{f.y(float(v)):.1f}"
                         for t, v in reversed(list(enumerate(lo))) for d in (1, 0))
        out.append(f"<polygon class='band' points='{upper} {lower}' fill='{band.colour}' "
                   f"opacity='0.9'><title>{esc(band.label)}</title></polygon>")
        bottom = top
    for ln in (*ghosts, *lines):
        if len(ln.values) == 0:
            continue
        cls = "ghost" if ln in ghosts else "line"
        out.append(f"<polyline class='{cls}' points='{f.points(ln.values)}' fill='none' "
                   f"stroke='{ln.colour}' stroke-width='{ln.width}' stroke-dasharray='{ln.dash}' "
                   f"opacity='{ln.opacity}' stroke-linejoin='round'>"
                   f"<title>{esc(ln.label)}</title></polyline>")
        if cls == "line":
            x, y = f.x(len(ln.values) - 1), f.y(float(ln.values[-1]))
            out.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='5' fill='{ln.colour}'/>")
    out += _badges(f, marks)
    out += _moves(f, moves)
    out += _hover(f, [*lines, *bands], yfmt)
    out += _end_labels(f, [*lines, *ghosts] if not bands else [], yfmt)
    out.append("</svg>")
    return "".join(out)


def network_chart(labels: Sequence[str], relations: np.ndarray, date: str) -> str:
    """The actors on a circle; each pair joined by a line, blue friendly, red hostile."""
    n = len(labels)
    cx, cy, r = W / 2, H / 2 + 10, 150
    pos = [(cx + r * 1.6 * np.cos(2 * np.pi * i / n - np.pi / 2),
            cy + r * np.sin(2 * np.pi * i / n - np.pi / 2)) for i in range(n)]
    out = [f"<svg class='chart chart-network' viewBox='0 0 {W} {H}' width='100%' "
           f"xmlns='http://www.w3.org/2000/svg' font-family='sans-serif' font-size='{FONT}' "
           f"fill='{FG}' style='background:{BG};display:block'>",
           f"<rect width='{W}' height='{H}' fill='{BG}'/>",
           f"<text x='20' y='30' font-size='20'>Relations in {esc(date)} — blue friendly, red "
           f"hostile, thicker = stronger (hover a line for its value, −1 … +1)</text>"]
    for i in range(n):
        for j in range(i + 1, n):
            v = float(relations[i, j])
            colour = "#60a5fa" if v >= 0 else "#f87171"
            (x1, y1), (x2, y2) = pos[i], pos[j]
            out.append(f"<line x1='{x1:.1f}' y1='{y1:.1f}' x2='{x2:.1f}' y2='{y2:.1f}' "
                       f"stroke='{colour}' stroke-width='{1 + 9 * abs(v):.1f}' opacity='0.8'>"
                       f"<title>{esc(labels[i])} – {esc(labels[j])}: {v:+.2f}</title></line>")
    for (x, y), label in zip(pos, labels, strict=True):
        out.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='46' fill='#1e293b' "
                   f"stroke='{FG}' stroke-width='2'/><text x='{x:.1f}' y='{y + 6:.1f}' "
                   f"text-anchor='middle' font-weight='bold'>{esc(label)}</text>")
    out.append("</svg>")
    return "".join(out)


def png(title: str, start: Month, months: int, panels: Sequence[tuple[str, Sequence[Line],
        tuple[float, float]]]) -> bytes:
    """The page's series as one PNG (matplotlib, dark), drawn only when a student asks."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.2 * len(panels)), dpi=110, facecolor=BG)
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    dates = np.datetime64(f"{start.year:04d}-{start.month:02d}", "M") + np.arange(months + 1)
    for ax, (label, lines, ylim) in zip(axes, panels, strict=True):
        ax.set_facecolor(BG)
        for ln in lines:
            ax.plot(dates[: len(ln.values)], ln.values, color=ln.colour, lw=ln.width / 1.5,
                    alpha=ln.opacity, ls="--" if ln.dash else "-", label=ln.label)
        ax.set_ylim(*ylim)
        ax.set_xlim(dates[0], dates[-1])
        ax.set_ylabel(label, color=FG)
        ax.tick_params(colors=FG)
        ax.grid(color=GRID)
        for side in ax.spines.values():
            side.set_color(GRID)
        ax.legend(fontsize=8, facecolor=BG, labelcolor=FG, edgecolor=GRID, loc="best")
    axes[0].set_title(title, color=FG, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", facecolor=BG)
    return buf.getvalue()
