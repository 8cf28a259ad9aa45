"""An SVG chart of a tuning job: the selected measurement per trial, and the metric per epoch.

Left: each trial's `final_measurement` as a bar, in trial order, titled by what the job selects
(`measurement_selection`: the best of its epochs, or the last one), the best trial in a strong
colour, trials tied with it too (and the title says they tie). A trial that ended without a
final value (collapsed, diverged, failed, stopped, infeasible) is a hatched bar at the best
value it did report (none: an empty slot), labelled with how it ended. Right: one line per trial
through its measurements (x = `step_count`, the epoch), each with its own marker, dashed for a
trial that ended early, the best one bold; curves that coincide (trials flat at chance) are
named in the legend, since they draw over each other.

Drawn by hand with the standard library (no plotting package: the workflow jobs that write it
install light). Every string that comes from the job (names, trial ids, metric ids, reasons) is
cleaned of what XML cannot hold and escaped, so the document parses whatever the job says.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from google.cloud.aiplatform_v1 import HyperparameterTuningJob, StudySpec, Trial

from scripts.results.trials import best_trial, final_value, objective, outcome

BEST_COLOUR = "#d62728"
OTHER_COLOUR = "#9ecae1"
ENDED_EARLY_COLOUR = "#bdbdbd"
# Line colours of the other trials: the tab10 palette without its red, which marks the best.
LINE_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
MARKERS = ("o", "s", "^", "v", "D", "P", "X", "<", ">", "*")


@dataclass
class Bar:
    trial_id: str
    value: float | None  # the selected value; for a trial without one, the best it reported
    selected: bool  # a final measurement the job selected (not a stand-in value)
    best: bool
    mark: str  # "" for a succeeded trial, else how it ended ("collapsed", "failed", ...)


@dataclass
class ChartData:
    metric: str
    selection: str  # "best" or "last"
    bars: list[Bar]
    best_ids: list[str]
    best_value: float | None
    overlapping: list[list[str]] = field(default_factory=list)  # trials whose curves coincide

    @property
    def title(self) -> str:
        title = f"{self.metric} per trial: {self.selection} measurement (as the job selects)"
        if self.best_value is None:
            return title
        if len(self.best_ids) > 1:
            return f"{title}\nbest: trials {', '.join(self.best_ids)} tied at {self.best_value:.4g}"
        return f"{title}\nbest: trial {self.best_ids[0]}, {self.best_value:.4g}"


def _selection(job: HyperparameterTuningJob) -> str:
    best = StudySpec.MeasurementSelectionType.BEST_MEASUREMENT
    return "best" if job.study_spec.measurement_selection_type == best else "last"


def _curve(trial: Trial) -> tuple[list[int], list[float]]:
    """The trial's reports (step, value), leaving out values that are not finite numbers."""
    reports = [
        (int(m.step_count), m.metrics[0].value)
        for m in trial.measurements
        if m.metrics and math.isfinite(m.metrics[0].value)
    ]
    return [step for step, _ in reports], [value for _, value in reports]


def chart_data(job: HyperparameterTuningJob) -> ChartData:
    """What the chart shows, computed without drawing (the same best pick as the summary)."""
    goal = objective(job)
    metric = goal.metric_id
    best = best_trial(job)
    best_value = final_value(best, metric) if best is not None else None
    bars, best_ids = [], []
    for trial in job.trials:
        value = final_value(trial, metric) if trial.state == Trial.State.SUCCEEDED else None
        is_best = value is not None and best_value is not None and value == best_value
        if is_best:
            best_ids.append(trial.id)
        if value is not None:
            bars.append(Bar(trial.id, value, True, is_best, ""))
            continue
        _, points = _curve(trial)
        reported = (min(points) if not goal.maximize else max(points)) if points else None
        bars.append(Bar(trial.id, reported, False, False, str(outcome(trial, metric))))
    by_curve: dict[tuple, list[str]] = {}
    for trial in job.trials:
        steps, points = _curve(trial)
        if points:
            by_curve.setdefault((tuple(steps), tuple(round(p, 6) for p in points)), []).append(trial.id)
    overlapping = [ids for ids in by_curve.values() if len(ids) > 1]
    return ChartData(metric, _selection(job), bars, best_ids, best_value, overlapping)


SVG_NAMESPACE = "http://www.w3.org/2000/svg"
WIDTH, HEIGHT = 1100, 420
HATCH = "url(#ended)"  # the fill of a trial that ended without a selected value
HATCH_LINE_COLOUR = "#636363"
AXIS_COLOUR = "#333333"
GRID_COLOUR = "#e5e5e5"
# The two plot areas (left, top, right, bottom) and the legend under the right one.
BAR_AREA = (78, 92, 510, 330)
LINE_AREA = (630, 92, 1075, 330)
LEGEND_TOP, LEGEND_ROW = 392, 16
LEGEND_MOST = 20  # entries; past that, the best and the noted trials first, then "and N more"
CHAR_WIDTH = 0.56  # of the font size: an average for a sans-serif face, a little generous
# Marker outlines around (0, 0), about 4.5 pixels across; by name, as MARKERS orders them.
_MARKER_PATHS = {
    "s": "M-3.2 -3.2H3.2V3.2H-3.2Z",
    "^": "M0 -4.2L3.8 2.8H-3.8Z",
    "v": "M0 4.2L3.8 -2.8H-3.8Z",
    "D": "M0 -4.4L3.4 0L0 4.4L-3.4 0Z",
    "P": "M-1.3 -4H1.3V-1.3H4V1.3H1.3V4H-1.3V1.3H-4V-1.3H-1.3Z",
    "X": "M-3.8 -2L-2 -3.8L0 -1.8L2 -3.8L3.8 -2L1.8 0L3.8 2L2 3.8L0 1.8L-2 3.8L-3.8 2L-1.8 0Z",
    "<": "M-4.2 0L2.8 -3.8V3.8Z",
    ">": "M4.2 0L-2.8 -3.8V3.8Z",
    "*": "M0 -4.6L1.1 -1.5L4.4 -1.4L1.8 0.6L2.7 3.7L0 1.9L-2.7 3.7L-1.8 0.6L-4.4 -1.4L-1.1 -1.5Z",
}
# What XML 1.0 cannot hold even escaped (control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_chart(job: HyperparameterTuningJob, path: Path | str) -> Path:
    """Draw the chart of `job` (with its trials) into the SVG file `path`; the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_svg(job), encoding="utf-8")
    return path


def render_svg(job: HyperparameterTuningJob) -> str:
    """The chart of `job` as an SVG document."""
    data = chart_data(job)
    curves = []
    for index, trial in enumerate(job.trials):
        steps, points = _curve(trial)
        if points:
            curves.append(_Curve(index, trial.id, steps, points))
    legend = _legend_items(data, curves)
    height = max(HEIGHT, LEGEND_TOP + (math.ceil(len(legend) / _legend_columns(legend)) + 1) * LEGEND_ROW)
    name = job.display_name or job.name or "tuning job"
    parts = [
        _element("title", text=f"{name}: {data.metric} per trial and per epoch"),
        _element("desc", text=data.title.replace("\n", "; ")),
        _DEFS,
        _element("rect", width=WIDTH, height=height, fill="#ffffff"),
        _text(WIDTH / 2, 24, _fit(name, WIDTH - 40, 16), 16, anchor="middle", font_weight="bold"),
        *_bar_panel(data),
        *_line_panel(data, curves),
        *_legend(legend),
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="{SVG_NAMESPACE}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" font-family="sans-serif" fill="#222222">\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )


@dataclass
class _Curve:
    index: int  # the trial's place in the job: its colour and marker
    trial_id: str
    steps: list[int]
    points: list[float]


@dataclass
class _LegendItem:
    label: str
    colour: str
    marker: str
    width: float
    dashed: bool


def _bar_panel(data: ChartData) -> list[str]:
    left, top, right, bottom = BAR_AREA
    parts = _panel_title(data.title, left, right)
    values = [bar.value for bar in data.bars if bar.value is not None and math.isfinite(bar.value)]
    low, high = min([0.0, *values]), max([0.0, *values]) if values else 1.0
    low, high, ticks = _ticks(low, high)  # a value's label over the top may stand above the frame
    y = _scale(low, high, bottom, top)
    ticks = ticks if data.bars else []
    parts += _y_axis(ticks, y, BAR_AREA, f"{data.metric} ({data.selection} measurement)")
    parts.append(
        _text(
            (left + right) / 2,
            bottom + 42,
            "trial (hatched: ended without a selected value, drawn at its best report)",
            11,
            anchor="middle",
        )
    )
    if not data.bars:
        parts.append(_text((left + right) / 2, (top + bottom) / 2, "no trials", 14, anchor="middle"))
        return [*parts, _frame(BAR_AREA)]
    slot = (right - left) / len(data.bars)
    every = max(1, math.ceil(len(data.bars) * 11 * CHAR_WIDTH * 5 / (right - left)))
    for place, bar in enumerate(data.bars):
        middle = left + slot * (place + 0.5)
        value = bar.value if bar.value is not None and math.isfinite(bar.value) else None
        base = y(min(max(0.0, low), high))
        if value is not None:
            end = y(value)
            fill = BEST_COLOUR if bar.best else (OTHER_COLOUR if bar.selected else HATCH)
            reading = f"trial {bar.trial_id}: {value:.4g}" + (" (best)" if bar.best else "")
            if not bar.selected:
                reading = f"trial {bar.trial_id}: {bar.mark}, best report {value:.4g}"
            parts.append(
                _element(
                    "rect",
                    x=_r(middle - 0.4 * slot),
                    y=_r(min(base, end)),
                    width=_r(0.8 * slot),
                    height=_r(abs(base - end)),
                    fill=fill,
                    stroke=HATCH_LINE_COLOUR if not bar.selected else None,
                    class_="bar" + (" best" if bar.best else "") + ("" if bar.selected else " ended"),
                    data_trial=bar.trial_id,
                    children=[_element("title", text=reading)],
                )
            )
        else:
            end = base
            parts.append(
                _element(
                    "rect",
                    x=_r(middle - 0.4 * slot),
                    y=_r(base - 1),
                    width=_r(0.8 * slot),
                    height=1,
                    fill=HATCH_LINE_COLOUR,
                    class_="bar empty",
                    data_trial=bar.trial_id,
                    children=[_element("title", text=f"trial {bar.trial_id}: {bar.mark}, no value")],
                )
            )
        label = f"{value:.3f}" if bar.selected and value is not None else bar.mark
        if not bar.selected and value is None:
            label = f"{bar.mark}, no value"
        above = min(base, end) - 4
        if len(label) * 10 * CHAR_WIDTH <= slot:
            parts.append(_text(middle, above, label, 10, anchor="middle"))
        elif not bar.selected or slot >= 12:  # upright, when the slot is too narrow to read across
            label = _fit(label, max(above - top + 60, 30), 10)
            parts.append(_text(middle + 3.5, above, label, 10, rotate=True))
        if place % every == 0:
            parts.append(
                _text(middle, bottom + 16, _fit(bar.trial_id, slot * every, 11), 11, anchor="middle")
            )
    return [*parts, _frame(BAR_AREA)]


def _line_panel(data: ChartData, curves: list[_Curve]) -> list[str]:
    left, top, right, bottom = LINE_AREA
    title = f"{data.metric} per epoch"
    if data.overlapping:
        title += "\nsame curve, drawn over each other: " + "; ".join(
            "trials " + ", ".join(ids) for ids in data.overlapping
        )
    parts = _panel_title(title, left, right)
    parts.append(_text((left + right) / 2, bottom + 42, "epoch (step)", 11, anchor="middle"))
    if not curves:
        parts += _y_axis([], None, LINE_AREA, f"{data.metric} (every report)")
        parts.append(
            _text((left + right) / 2, (top + bottom) / 2, "no measurements reported", 14, anchor="middle")
        )
        return [*parts, _frame(LINE_AREA)]
    steps = [step for curve in curves for step in curve.steps]
    points = [point for curve in curves for point in curve.points]
    x_low, x_high, x_ticks = _ticks(min(steps), max(steps), integer=True)
    pad = 0.03 * (x_high - x_low)
    x = _scale(x_low - pad, x_high + pad, left, right)
    y_low, y_high, y_ticks = _ticks(min(points), max(points))
    pad = 0.03 * (y_high - y_low)
    y = _scale(y_low - pad, y_high + pad, bottom, top)
    parts += _y_axis(y_ticks, y, LINE_AREA, f"{data.metric} (every report)")
    for tick in x_ticks:
        parts.append(
            _element("line", x1=_r(x(tick)), y1=bottom, x2=_r(x(tick)), y2=bottom + 4, stroke=AXIS_COLOUR)
        )
        parts.append(_text(x(tick), bottom + 16, _number(tick), 11, anchor="middle"))
    ended_early = {bar.trial_id for bar in data.bars if not bar.selected}
    best = [curve for curve in curves if curve.trial_id in data.best_ids]
    for curve in [curve for curve in curves if curve not in best] + best:  # the best on top
        is_best = curve in best
        colour = BEST_COLOUR if is_best else LINE_COLOURS[curve.index % len(LINE_COLOURS)]
        marker = MARKERS[curve.index % len(MARKERS)]
        coordinates = [(x(step), y(point)) for step, point in zip(curve.steps, curve.points, strict=True)]
        children = [_element("title", text=f"trial {curve.trial_id}")]
        children.append(
            _element(
                "polyline",
                points=" ".join(f"{_r(a)},{_r(b)}" for a, b in coordinates),
                fill="none",
                stroke=colour,
                stroke_width=2.5 if is_best else 1.2,
                stroke_dasharray="6 3" if curve.trial_id in ended_early else None,
                stroke_linejoin="round",
            )
        )
        children += [_marker(marker, a, b, colour) for a, b in coordinates]
        parts.append(
            _element(
                "g",
                class_="curve" + (" best" if is_best else ""),
                data_trial=curve.trial_id,
                children=children,
            )
        )
    return [*parts, _frame(LINE_AREA)]


def _legend_items(data: ChartData, curves: list[_Curve]) -> list[_LegendItem]:
    marks = {bar.trial_id: bar.mark for bar in data.bars}
    ended_early = {bar.trial_id for bar in data.bars if not bar.selected}
    same = {trial_id: ids for ids in data.overlapping for trial_id in ids}
    items, noted = [], []
    for curve in curves:
        is_best = curve.trial_id in data.best_ids
        notes = ["best"] if is_best else []
        if marks.get(curve.trial_id):
            notes.append(marks[curve.trial_id])
        others = [other for other in same.get(curve.trial_id, []) if other != curve.trial_id]
        if others:
            notes.append(f"same as {', '.join(others)}")
        label = f"trial {curve.trial_id}" + (f" ({'; '.join(notes)})" if notes else "")
        colour = BEST_COLOUR if is_best else LINE_COLOURS[curve.index % len(LINE_COLOURS)]
        marker = MARKERS[curve.index % len(MARKERS)]
        items.append(
            _LegendItem(label, colour, marker, 2.5 if is_best else 1.2, curve.trial_id in ended_early)
        )
        noted.append(bool(notes))
    if len(items) <= LEGEND_MOST:
        return items
    kept = sorted(sorted(range(len(items)), key=lambda place: (not noted[place], place))[:LEGEND_MOST])
    more = _LegendItem(
        f"and {len(items) - len(kept)} more trials (a line's tooltip names it)", "", "", 0, False
    )
    return [*(items[place] for place in kept), more]


def _legend_columns(items: list[_LegendItem]) -> int:
    """Two columns under the line panel, or one when a label would not fit in half of it."""
    left, _, right, _ = LINE_AREA
    longest = max((len(item.label) for item in items if item.colour), default=0)
    return 2 if longest * 11 * CHAR_WIDTH <= (right - left) / 2 - 36 else 1


def _legend(items: list[_LegendItem]) -> list[str]:
    left, _, right, _ = LINE_AREA
    columns = _legend_columns(items)
    column = (right - left) / columns
    entries = []
    for place, item in enumerate(items):
        x0 = left + column * (place % columns)
        y0 = LEGEND_TOP + LEGEND_ROW * (place // columns)
        if not item.colour:  # the closing "and N more": a row of its own
            y0 += LEGEND_ROW if place % columns else 0
            entries.append(_text(left, y0, _fit(item.label, right - left, 11), 11))
            continue
        entries.append(
            _element(
                "g",
                class_="legend-item",
                children=[
                    _element(
                        "line",
                        x1=_r(x0),
                        y1=y0 - 4,
                        x2=_r(x0 + 24),
                        y2=y0 - 4,
                        stroke=item.colour,
                        stroke_width=item.width,
                        stroke_dasharray="6 3" if item.dashed else None,
                    ),
                    _marker(item.marker, x0 + 12, y0 - 4, item.colour),
                    _text(x0 + 30, y0, _fit(item.label, column - 36, 11), 11),
                ],
            )
        )
    return [_element("g", class_="legend", children=entries)] if entries else []


def _panel_title(title: str, left: float, right: float) -> list[str]:
    lines = title.split("\n")
    first = 52 if len(lines) > 1 else 68
    return [
        _text((left + right) / 2, first + 16 * row, _fit(line, right - left + 60, 13), 13, anchor="middle")
        for row, line in enumerate(lines[:2])
    ]


def _y_axis(ticks: list[float], y, area: tuple[float, float, float, float], label: str) -> list[str]:
    left, top, right, bottom = area
    parts = []
    for tick in ticks:
        at = y(tick)
        parts.append(_element("line", x1=left, y1=_r(at), x2=right, y2=_r(at), stroke=GRID_COLOUR))
        parts.append(_element("line", x1=left - 4, y1=_r(at), x2=left, y2=_r(at), stroke=AXIS_COLOUR))
        parts.append(_text(left - 7, at + 4, _number(tick), 11, anchor="end"))
    middle = (top + bottom) / 2
    parts.append(_text(left - 52, middle, _fit(label, bottom - top, 11), 11, anchor="middle", rotate=True))
    return parts


def _frame(area: tuple[float, float, float, float]) -> str:
    left, top, right, bottom = area
    return _element(
        "rect", x=left, y=top, width=right - left, height=bottom - top, fill="none", stroke=AXIS_COLOUR
    )


def _marker(name: str, x: float, y: float, colour: str) -> str:
    if name not in _MARKER_PATHS:  # "o"
        return _element("circle", cx=_r(x), cy=_r(y), r=3.2, fill=colour)
    return _element("path", d=_MARKER_PATHS[name], transform=f"translate({_r(x)} {_r(y)})", fill=colour)


def _ticks(
    low: float, high: float, *, integer: bool = False, count: int = 5
) -> tuple[float, float, list[float]]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [low, high]: (from, to, ticks)."""
    if not high > low:
        spread = 1.0 if integer else (abs(low) * 0.1 or 0.5)
        low, high = low - spread, high + spread
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if raw <= m * power * (1 + 1e-9))
    if integer:
        step = max(1, math.ceil(step))
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    ticks = [round(i * step, 12) for i in range(first, last + 1)]
    return ticks[0], ticks[-1], ticks


def _scale(low: float, high: float, start: float, end: float):
    return lambda value: start + (value - low) / (high - low) * (end - start)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _r(value: float) -> str:
    """A coordinate, to a tenth of a pixel."""
    return f"{value:.1f}".removesuffix(".0")


def _fit(text: str, width: float, size: float) -> str:
    """`text` shortened with an ellipsis to about `width` pixels at font size `size`."""
    most = max(1, int(width / (size * CHAR_WIDTH)))
    return text if len(text) <= most else text[: most - 1] + "…"


def _text(
    x: float, y: float, text: str, size: float, *, anchor: str = "start", rotate: bool = False, **attributes
) -> str:
    return _element(
        "text",
        x=_r(x),
        y=_r(y),
        font_size=size,
        text_anchor=anchor if anchor != "start" else None,
        transform=f"rotate(-90 {_r(x)} {_r(y)})" if rotate else None,
        text=text,
        **attributes,
    )


def _clean(value: object) -> str:
    return _NOT_XML.sub("\ufffd", str(value))


def _element(tag: str, *, text: str | None = None, children: list[str] | None = None, **attributes) -> str:
    """One element, its attributes (`font_size` -> `font-size`, `class_` -> `class`; None: left
    out) and its text cleaned and escaped, whatever they hold."""
    attrs = "".join(
        f' {name.rstrip("_").replace("_", "-")}="{escape(_clean(value), {chr(34): "&quot;"})}"'
        for name, value in attributes.items()
        if value is not None
    )
    if text is None and not children:
        return f"<{tag}{attrs}/>"
    inner = escape(_clean(text)) if text is not None else ""
    if children:
        inner += "".join(children)
    return f"<{tag}{attrs}>{inner}</{tag}>"


_DEFS = (
    "<defs>"
    + _element(
        "pattern",
        id="ended",
        patternUnits="userSpaceOnUse",
        width=6,
        height=6,
        patternTransform="rotate(45)",
        children=[
            _element("rect", width=6, height=6, fill=ENDED_EARLY_COLOUR),
            _element("line", x1=0, y1=0, x2=0, y2=6, stroke=HATCH_LINE_COLOUR, stroke_width=2),
        ],
    )
    + "</defs>"
)
