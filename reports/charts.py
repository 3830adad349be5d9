"""Hand-made inline SVG charts: no plotting library, no external assets.

Every chart returns :class:`markupsafe.Markup`; every piece of text in it (candidate names,
labels) goes through :func:`markupsafe.escape`, so the template never needs ``|safe``. Each
mark carries ``data-*`` attributes with its values, which the tests read back.
"""

from __future__ import annotations

import math
from typing import Callable

from markupsafe import Markup, escape

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
           "#ff9da7", "#bab0ac"]
INK, MUTED, GRID = "#1f2937", "#6b7280", "#e5e7eb"
NO_DATA = "No data for this chart in this run."
FONT = "font-family=\"-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Sans CJK SC',sans-serif\""


def colour_map(names: list[str]) -> dict[str, str]:
    return {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About n round tick values covering [lo, hi]."""
    if hi <= lo:
        hi = lo + (abs(lo) or 1.0)
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        ticks.append(round(t, 10))
        t += step
    if ticks[-1] < hi:
        ticks.append(round(t, 10))
    return ticks


def _tick_fmt(ticks: list[float]) -> Callable[[float], str]:
    """Just enough decimals to tell the ticks apart (step 0.25 -> 2, 0.1 -> 1, 50 -> 0)."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = max(0, math.ceil(-math.log10(step)))
    if abs(step * 10 ** digits - round(step * 10 ** digits)) > 1e-6:
        digits += 1
    return lambda v: f"{0.0 if abs(v) < step * 1e-6 else v:.{digits}f}"


def text_width(s: str, size: float = 12) -> float:
    """Approximate rendered width in px: CJK characters are about 1 em wide, Latin ones about 0.55 em."""
    return sum(size * (1.0 if ord(c) >= 0x2E80 else 0.56) for c in s)


def _text(x: float, y: float, s: str, size: int = 12, anchor: str = "start", fill: str = INK,
          weight: str = "normal", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
            f'font-weight="{weight}" {extra}>{escape(s)}</text>')


def _svg(chart_id: str, width: int, height: int, title: str, body: list[str]) -> Markup:
    return Markup(f'<svg class="chart" data-chart="{escape(chart_id)}" viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}" '
                  f'xmlns="http://www.w3.org/2000/svg" {FONT}><title>{escape(title)}</title>'
                  + "".join(body) + "</svg>")


def empty(chart_id: str, message: str, width: int = 640, height: int = 80) -> Markup:
    return _svg(chart_id, width, height, message, [f'<desc data-empty="1">{escape(message)}</desc>',
        f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="#f9fafb" stroke="{GRID}" rx="6"/>',
        _text(width / 2, height / 2 + 4, message, 13, "middle", MUTED)])


class Axes:
    """A plotting frame: data -> pixel mapping, grid, ticks and axis titles."""

    def __init__(self, width: int, height: int, xr: tuple[float, float], yr: tuple[float, float],
                 left: int = 64, right: int = 20, top: int = 16, bottom: int = 48):
        self.w, self.h = width, height
        self.l, self.r, self.t, self.b = left, width - right, top, height - bottom
        self.xt, self.yt = nice_ticks(*xr), nice_ticks(*yr)
        self.x0, self.x1 = self.xt[0], self.xt[-1]
        self.y0, self.y1 = self.yt[0], self.yt[-1]

    def x(self, v: float) -> float:
        return self.l + (v - self.x0) / ((self.x1 - self.x0) or 1) * (self.r - self.l)

    def y(self, v: float) -> float:
        return self.b - (v - self.y0) / ((self.y1 - self.y0) or 1) * (self.b - self.t)

    def frame(self, x_title: str, y_title: str, x_ticks: bool = True) -> list[str]:
        out, fy = [], _tick_fmt(self.yt)
        for v in self.yt:
            out.append(f'<line x1="{self.l}" x2="{self.r}" y1="{self.y(v):.1f}" y2="{self.y(v):.1f}" '
                       f'stroke="{GRID}"/>')
            out.append(_text(self.l - 8, self.y(v) + 4, fy(v), 11, "end", MUTED))
        if x_ticks:
            fx = _tick_fmt(self.xt)
            for v in self.xt:
                out.append(f'<line x1="{self.x(v):.1f}" x2="{self.x(v):.1f}" y1="{self.t}" y2="{self.b}" '
                           f'stroke="{GRID}" stroke-dasharray="2 3"/>')
                out.append(_text(self.x(v), self.b + 16, fx(v), 11, "middle", MUTED))
        out.append(f'<line x1="{self.l}" x2="{self.r}" y1="{self.b}" y2="{self.b}" stroke="{MUTED}"/>')
        out.append(f'<line x1="{self.l}" x2="{self.l}" y1="{self.t}" y2="{self.b}" stroke="{MUTED}"/>')
        out.append(_text((self.l + self.r) / 2, self.h - 8, x_title, 12, "middle", INK))
        cy = (self.t + self.b) / 2
        out.append(_text(16, cy, y_title, 12, "middle", INK, extra=f'transform="rotate(-90 16 {cy:.1f})"'))
        return out


def pareto_front(points: list[dict]) -> list[dict]:
    """Points no other point beats on both lower x (latency) and higher y (accuracy), by x."""
    front, best_y = [], -math.inf
    for p in sorted(points, key=lambda p: (p["x"], -p["y"])):
        if p["y"] > best_y:
            front.append(p)
            best_y = p["y"]
    return front


def _label_spot(cx: float, cy: float, w: float, placed: list, ax: "Axes") -> tuple[float, float, str]:
    """A label position next to (cx, cy) that overlaps no label or point placed so far."""
    h = 14.0
    for dx, dy, anchor in ((10, -8, "start"), (10, 16, "start"), (-10, -8, "end"), (-10, 16, "end"),
                           (10, -22, "start"), (10, 30, "start")):
        x0 = cx + dx if anchor == "start" else cx + dx - w
        box = (x0, cy + dy - 11, w, h)
        clear = all(box[0] + box[2] < b[0] or b[0] + b[2] < box[0] or box[1] + box[3] < b[1] or b[1] + b[3] < box[1]
                    for b in placed)
        if clear and ax.l <= x0 and x0 + w <= ax.w and box[1] >= 0:
            placed.append(box)
            return cx + dx, cy + dy, anchor
    return cx + 10, cy - 8, "start"


def pareto(points: list[dict], x_title: str, y_title: str, front_label: str, title: str,
        no_data: str = NO_DATA) -> Markup:
    """Scatter of {name, x, y, x_lo, x_hi, y_lo, y_hi, color} with the Pareto front as a step line."""
    if not points:
        return empty("pareto", no_data)
    xs = [v for p in points for v in (p["x"], p.get("x_hi") or p["x"])]
    ys = [v for p in points for v in (p["y"], p.get("y_lo") or p["y"], p.get("y_hi") or p["y"])]
    ax = Axes(640, 360, (0.0, max(xs) * 1.08), (min(0.0, min(ys)), max(ys) * 1.08), right=96)
    out = ax.frame(x_title, y_title)
    front = pareto_front(points)
    if len(front) > 1:
        path = [f"M{ax.x(front[0]['x']):.1f},{ax.y(front[0]['y']):.1f}"]
        for a, b in zip(front, front[1:]):
            path.append(f"H{ax.x(b['x']):.1f}V{ax.y(b['y']):.1f}")
        out.append(f'<path d="{"".join(path)}" fill="none" stroke="{INK}" stroke-width="1.5" '
                   f'stroke-dasharray="5 4" data-role="pareto-front" data-n="{len(front)}"/>')
    front_names = {p["name"] for p in front}
    placed: list[tuple[float, float, float, float]] = [(ax.x(p["x"]) - 7, ax.y(p["y"]) - 7, 14, 14) for p in points]
    for p in points:
        cx, cy, c = ax.x(p["x"]), ax.y(p["y"]), p["color"]
        if p.get("y_lo") is not None and p.get("y_hi") is not None:
            out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{ax.y(p["y_lo"]):.1f}" y2="{ax.y(p["y_hi"]):.1f}" '
                       f'stroke="{c}" stroke-width="2" opacity="0.55"/>')
        if p.get("x_lo") is not None and p.get("x_hi") is not None:
            out.append(f'<line x1="{ax.x(p["x_lo"]):.1f}" x2="{ax.x(p["x_hi"]):.1f}" y1="{cy:.1f}" y2="{cy:.1f}" '
                       f'stroke="{c}" stroke-width="2" opacity="0.55"/>')
        on_front = p["name"] in front_names
        out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{7 if on_front else 6}" fill="{c}" '
                   f'stroke="{"#111827" if on_front else "#fff"}" stroke-width="{2 if on_front else 1.5}" '
                   f'data-name="{escape(p["name"])}" data-x="{p["x"]:.6g}" data-y="{p["y"]:.6g}" '
                   f'data-front="{int(on_front)}"><title>{escape(p["name"])}: {escape(p["label"])}</title></circle>')
        lx, ly, anchor = _label_spot(cx, cy, text_width(p["name"]) + 4, placed, ax)
        out.append(_text(lx, ly, p["name"], 12, anchor, INK, "600"))
    lx = ax.r + 10
    out.append(f'<path d="M{lx},{ax.t + 8}h22" stroke="{INK}" stroke-dasharray="5 4" stroke-width="1.5"/>')
    out.append(_text(lx, ax.t + 26, front_label, 11, "start", MUTED))
    return _svg("pareto", 640, 360, title, out)


def bars(chart_id: str, items: list[dict], y_title: str, title: str, fmt: Callable[[float], str],
        no_data: str = NO_DATA) -> Markup:
    """Vertical bars of {name, value, lo, hi, color}; negative values hang below a zero line."""
    if all(i["value"] is None for i in items):
        return empty(chart_id, no_data)
    vals = [v for i in items if i["value"] is not None for v in (i["value"], i.get("lo"), i.get("hi")) if v is not None]
    lo, hi = min(0.0, min(vals)), max(0.0, max(vals))
    pad = (hi - lo) * 0.12 or 0.1
    ax = Axes(640, 320, (0, 1), (lo - (pad if lo < 0 else 0), hi + (pad if hi > 0 else 0)))
    out = ax.frame("", y_title, x_ticks=False)
    slot = (ax.r - ax.l) / len(items)
    bw = min(56.0, slot * 0.6)
    zero = ax.y(0.0)
    for k, i in enumerate(items):
        cx = ax.l + slot * (k + 0.5)
        out.append(_text(cx, ax.b + 18, i["name"], 12, "middle", INK))
        if i["value"] is None:
            out.append(_text(cx, ax.y(0.0) - 6, "n/a", 11, "middle", MUTED, extra=f'data-na="{escape(i["name"])}"'))
            continue
        top, v = ax.y(i["value"]), i["value"]
        y, h = (top, zero - top) if v >= 0 else (zero, top - zero)
        out.append(f'<rect x="{cx - bw / 2:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{max(h, 1):.1f}" rx="3" '
                   f'fill="{i["color"]}" data-name="{escape(i["name"])}" data-value="{v:.6g}">'
                   f'<title>{escape(i["name"])}: {escape(fmt(v))}</title></rect>')
        if i.get("lo") is not None and i.get("hi") is not None:
            y1, y2 = ax.y(i["lo"]), ax.y(i["hi"])
            out.append(f'<path d="M{cx:.1f},{y1:.1f}V{y2:.1f}M{cx - 6:.1f},{y1:.1f}h12M{cx - 6:.1f},{y2:.1f}h12" '
                       f'stroke="{INK}" stroke-width="1.2" fill="none"/>')
        ty = (min(top, ax.y(i["hi"]) if i.get("hi") is not None else top) - 6 if v >= 0
              else max(top, ax.y(i["lo"]) if i.get("lo") is not None else top) + 15)
        out.append(_text(cx, ty, fmt(v), 11, "middle", INK, "600"))
    out.append(f'<line x1="{ax.l}" x2="{ax.r}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="{INK}" stroke-width="1.2"/>')
    return _svg(chart_id, 640, 320, title, out)


def grouped_bars(chart_id: str, names: list[str], series: list[dict], y_title: str, title: str,
                 fmt: Callable[[float], str], no_data: str = NO_DATA) -> Markup:
    """Bars per candidate, one per series {label, color, values: {name: v or None}}, with a legend."""
    vals = [v for s in series for v in s["values"].values() if v is not None]
    if not vals or not names:
        return empty(chart_id, no_data)
    ax = Axes(640, 330, (0, 1), (0.0, max(max(vals), 1e-9) * 1.15), top=34)
    out = ax.frame("", y_title, x_ticks=False)
    slot = (ax.r - ax.l) / len(names)
    bw = min(30.0, slot * 0.8 / len(series))
    for k, name in enumerate(names):
        cx = ax.l + slot * (k + 0.5)
        for j, s in enumerate(series):
            v = s["values"].get(name)
            x = cx + (j - len(series) / 2) * bw
            if v is None:
                out.append(_text(x + bw / 2, ax.b - 4, "n/a", 10, "middle", MUTED))
                continue
            out.append(f'<rect x="{x:.1f}" y="{ax.y(v):.1f}" width="{bw - 2:.1f}" '
                       f'height="{max(ax.b - ax.y(v), 1):.1f}" rx="2" fill="{s["color"]}" data-name="{escape(name)}" '
                       f'data-series="{escape(s["label"])}" data-value="{v:.6g}"><title>{escape(name)}, '
                       f'{escape(s["label"])}: {escape(fmt(v))}</title></rect>')
            out.append(_text(x + bw / 2 - 1, ax.y(v) - 4, fmt(v), 10, "middle", INK))
        out.append(_text(cx, ax.b + 18, name, 12, "middle", INK))
    lx = ax.l
    for s in series:
        out.append(f'<rect x="{lx}" y="8" width="12" height="12" rx="2" fill="{s["color"]}"/>')
        out.append(_text(lx + 18, 18, s["label"], 12))
        lx += 34 + text_width(s["label"])
    return _svg(chart_id, 640, 330, title, out)


def _heat(v: float) -> str:
    """0 -> pale, 1 -> deep teal (linear in RGB)."""
    a, b = (240, 244, 248), (22, 101, 112)
    return "#" + "".join(f"{round(x + (y - x) * v):02x}" for x, y in zip(a, b))


def heatmap(rows: list[str], cols: list[tuple[str, str]], cells: dict, title: str,
        no_data: str = NO_DATA) -> Markup:
    """Rows = candidates, cols = (metric, label); cells[(row, metric)] = (normalised or None, text)."""
    if not rows or not cols:
        return empty("overview", no_data)
    cw, ch, left, top = 74, 30, 96, 132
    width, height = left + cw * len(cols) + 70, top + ch * len(rows) + 12
    out = []
    for j, (_m, label) in enumerate(cols):
        x = left + cw * j + cw / 2
        out.append(_text(x, top - 8, label, 11, "start", INK, extra=f'transform="rotate(-55 {x:.1f} {top - 8})"'))
    for i, row in enumerate(rows):
        y = top + ch * i
        out.append(_text(left - 8, y + ch / 2 + 4, row, 12, "end", INK, "600"))
        for j, (m, _label) in enumerate(cols):
            norm, text = cells.get((row, m), (None, "n/a"))
            x = left + cw * j
            fill = "#f3f4f6" if norm is None else _heat(norm)
            ink = "#ffffff" if norm is not None and norm > 0.55 else INK
            out.append(f'<rect x="{x + 1}" y="{y + 1}" width="{cw - 2}" height="{ch - 2}" rx="3" fill="{fill}" '
                       f'data-name="{escape(row)}" data-metric="{escape(m)}" '
                       f'data-norm="{"" if norm is None else f"{norm:.3f}"}"><title>{escape(row)} · {escape(m)}: '
                       f'{escape(text)}</title></rect>')
            out.append(_text(x + cw / 2, y + ch / 2 + 4, text, 11, "middle", ink if norm is not None else MUTED))
    return _svg("overview", width, height, title, out)


def lines(chart_id: str, series: list[dict], x_title: str, y_title: str, title: str,
        no_data: str = NO_DATA) -> Markup:
    """Line series {name, color, dash (bool), points [[x, y], ...]} with a legend of names."""
    series = [s for s in series if s["points"]]
    if not series:
        return empty(chart_id, no_data)
    xs = [p[0] for s in series for p in s["points"]]
    ys = [p[1] for s in series for p in s["points"]]
    ax = Axes(640, 340, (min(0, min(xs)), max(xs)), (min(0.0, min(ys)), max(ys) * 1.05), right=120)
    out = ax.frame(x_title, y_title)
    for s in series:
        dash = 'stroke-dasharray="6 4" ' if s["dash"] else ""
        d = "M" + "L".join(f"{ax.x(x):.1f},{ax.y(y):.1f}" for x, y in s["points"])
        out.append(f'<path d="{d}" fill="none" stroke="{s["color"]}" stroke-width="2" '
                   f'{dash}data-name="{escape(s["name"])}" '
                   f'data-kind="{"heldout" if s["dash"] else "train"}" data-n="{len(s["points"])}" '
                   f'data-last="{s["points"][-1][1]:.6g}"><title>{escape(s["name"])}</title></path>')
    ly = ax.t + 6
    for name, color in dict((s["name"], s["color"]) for s in series).items():
        out.append(f'<path d="M{ax.r + 12},{ly}h20" stroke="{color}" stroke-width="3"/>')
        out.append(_text(ax.r + 38, ly + 4, name, 12))
        ly += 20
    return _svg(chart_id, 640, 340, title, out)


def resource_panels(panels: list[dict], title: str,
        no_data: str = NO_DATA) -> Markup:
    """2x2 small multiples of horizontal bars: {label, values: {name: v or None}, fmt, colors}."""
    if not panels:
        return empty("resources", no_data)
    pw, ph, gap = 400, 170, 20
    width, height = pw * 2 + gap, (ph + gap) * ((len(panels) + 1) // 2)
    out = []
    for k, panel in enumerate(panels):
        ox, oy = (k % 2) * (pw + gap), (k // 2) * (ph + gap)
        out.append(_text(ox, oy + 14, panel["label"], 13, "start", INK, "700"))
        names = list(panel["values"])
        vmax = max([v for v in panel["values"].values() if v is not None] or [1]) or 1
        bh = min(18.0, (ph - 30) / max(len(names), 1) - 4)
        for i, name in enumerate(names):
            y = oy + 26 + i * (bh + 4)
            v = panel["values"][name]
            out.append(_text(ox + 70, y + bh - 4, name, 11, "end", INK))
            if v is None:
                out.append(_text(ox + 76, y + bh - 4, "n/a", 11, "start", MUTED))
                continue
            w = max((pw - 150) * v / vmax, 1.5)
            out.append(f'<rect x="{ox + 76}" y="{y:.1f}" width="{w:.1f}" height="{bh:.1f}" rx="2" '
                       f'fill="{panel["colors"][name]}" data-panel="{escape(panel["id"])}" data-name="{escape(name)}" '
                       f'data-value="{v:.6g}"><title>{escape(name)}: {escape(panel["fmt"](v))}</title></rect>')
            out.append(_text(ox + 80 + w, y + bh - 4, panel["fmt"](v), 11, "start", MUTED))
    return _svg("resources", width, height, title, out)
