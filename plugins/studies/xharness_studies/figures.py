"""What the studies' figures share, so each reads at a glance: a figure without pyplot, legends
only where there is something to tell apart, lines that stay visible where they coincide, axis
units, and point labels that never overlap.

Each study builds its figure with a function that returns it (tests inspect the drawn figure)
and saves it with :func:`save`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: Figures are laid out, measured and saved at this resolution: label placement measures text in
#: pixels, so the saved file must be drawn at the dpi the labels were placed at.
DPI = 100
#: Δ this close to zero is no change (as ``xharness report`` counts ties).
ZERO = 1e-9
#: Score-based axes: every score the harness records is on a 0–100 scale (accuracy, F1, recall … in %).
DELTA_UNITS = "points"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
DASHES = ("-", "--", "-.", ":")


def figure(width: float, height: float):
    """A figure with its own Agg canvas: no pyplot, so no global backend or state, and a renderer to
    measure text with (``figure.canvas.get_renderer()``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    drawn = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(drawn)
    return drawn


def save(drawn, path) -> None:
    drawn.savefig(path, dpi=DPI)


def distinct_labels(axes_list) -> tuple[list, list[str]]:
    """The labelled artists of ``axes_list``, one per label (a label drawn on several axes, or
    twice, is one thing), in drawing order."""
    found: dict[str, object] = {}
    for axes in axes_list:
        for handle, label in zip(*axes.get_legend_handles_labels()):
            found.setdefault(label, handle)
    return list(found.values()), list(found)


def legend(axes, **options):
    """A legend where it tells something apart — two or more distinct labels — and none otherwise:
    an empty box, or one naming the only thing drawn, tells the reader nothing (the caller names a
    lone series in the title instead, see :func:`lone_label`). Returns the legend or None."""
    handles, labels = distinct_labels([axes])
    if len(labels) < 2:
        if axes.get_legend() is not None:
            axes.get_legend().remove()
        return None
    return axes.legend(handles, labels, **options)


def lone_label(axes_list) -> str | None:
    """The label of the only labelled series drawn (what a title should name, having no legend)."""
    _, labels = distinct_labels(axes_list)
    return labels[0] if len(labels) == 1 else None


def coinciding(series: Sequence[tuple[str, Sequence[float]]], tolerance: float = 0.0) -> dict[str, str]:
    """label → the label of an earlier series it coincides with: the same points missing, and every
    other point within ``tolerance`` (a line drawn exactly over another would hide it)."""
    same: dict[str, str] = {}
    for index, (label, values) in enumerate(series):
        for other_label, other in series[:index]:
            if len(values) == len(other) and all(
                    (math.isnan(a) and math.isnan(b)) or abs(a - b) <= tolerance
                    for a, b in zip(map(float, values), map(float, other))):
                same[label] = same.get(other_label, other_label)
                break
    return same


def lines(axes, x: Sequence[float], series: Sequence[tuple[str, Sequence[float]]]) -> dict[str, str]:
    """Each (label, values) series as a line in its own colour, marker and dash; later series are
    drawn thinner, with smaller markers, on top — so a line that lies on another still shows both
    (the dashes and the marker inside the larger one). A series that coincides with an earlier one
    (within 0.2 % of the plotted range) says so in its legend label. Returns label → the label it
    coincides with."""
    finite = [float(v) for _, values in series for v in values if not math.isnan(float(v))]
    span = (max(finite) - min(finite)) if finite else 0.0
    same = coinciding(series, max(ZERO, 0.002 * span))
    for index, (label, values) in enumerate(series):
        shown = f"{label} (same line as {same[label]})" if label in same else label
        axes.plot(x, values, label=shown, color=f"C{index}",
                  marker=MARKERS[index % len(MARKERS)], markersize=max(3.0, 8.0 - 1.5 * index),
                  linestyle=DASHES[index % len(DASHES)], linewidth=max(0.8, 2.2 - 0.4 * index), zorder=2 + index)
    return same


def integer_ticks(axis, values: Sequence[int]) -> None:
    """Ticks at whole numbers only (layers, counts): a tick at 0.25 of a layer means nothing. Every
    value is ticked when there are few; otherwise whole-number steps."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    values = sorted(set(values))
    axis.set_major_locator(FixedLocator(values) if len(values) <= 13 else MaxNLocator(integer=True))


def percent_ticks(axis) -> None:
    """Tick labels with a % sign (``40%``, ``42.5%``), for an axis whose values are percentages (0–100)."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:g}%"))


def signed_ticks(axis) -> None:
    """Tick labels of a Δ axis with their sign (+1, 0, −1): a change, not a level."""
    from matplotlib.ticker import FuncFormatter

    def text(value, _position):
        if abs(value) < ZERO:
            return "0"
        return f"{value:+g}".replace("-", "−")

    axis.set_major_formatter(FuncFormatter(text))


# ------------------------------------------------------------------------------ point labels

#: Directions tried around a point, in order of preference (up-right first, as a label usually sits).
_DIRECTIONS = tuple((math.cos(math.radians(a)), math.sin(math.radians(a)))
                    for a in (45, 0, 90, 135, 315, 180, 270, 225, 22.5, 67.5, 112.5, 157.5, 202.5, 247.5, 292.5,
                              337.5))


def place_labels(axes, points: Sequence[tuple[float, float]], texts: Sequence[str], *, fontsize: float = 6,
                 avoid=(), gap: float = 6.5, marker: float = 3.5):
    """Label each point of ``points`` (data coordinates) with its text so that no two labels
    overlap: deterministic, measured with the figure's renderer, no extra dependency.

    Call it once the figure's layout is final (after ``tight_layout``; the figure saved without
    ``bbox_inches="tight"``): labels are placed in pixels of the laid-out axes. The axes' limits are
    fixed here so that nothing drawn later moves the points under their labels.

    For each label in turn, candidate boxes are tried around its point on rings of growing radius
    (``gap`` pixels from the point, then one text height further each), in 16 directions, up-right
    first; the first is kept that overlaps no label placed before (nor a box of ``avoid``, display
    coordinates) and, where possible, stays inside the axes and covers no point (``marker``: half the
    side of the box a marker covers, in pixels; 3.5 for a scatter marker of size 22 at 100 dpi). A
    label that lands away from its point gets a leader line. Offsets are in typographic points, so a
    file saved at another dpi keeps the arrangement. Returns the annotations, in the order of
    ``points``.
    """
    import numpy as np
    from matplotlib.text import Text

    axes.set_xlim(axes.get_xlim())  # autoscaling would move the points after they are labelled
    axes.set_ylim(axes.get_ylim())
    renderer = axes.figure.canvas.get_renderer()
    scale = 72.0 / axes.figure.dpi  # pixels → points
    points = [(float(x), float(y)) for x, y in points]
    at = axes.transData.transform(np.array(points).reshape(-1, 2))
    frame = axes.get_window_extent(renderer)
    dots = np.column_stack([at - marker, at + marker])
    taken = [np.asarray(getattr(box, "extents", box), dtype=float) for box in avoid]
    placed = []
    for xy, (px, py), text in zip(points, at, texts):
        style = {"xycoords": "data", "textcoords": "offset points", "fontsize": fontsize, "ha": "left",
                 "va": "bottom", "annotation_clip": False}
        label = axes.annotate(text, xy, xytext=(0, 0), **style)
        size = Text.get_window_extent(label, renderer)  # the text alone (an Annotation's adds its arrow)
        box, near = _free_box(px, py, size.width, size.height, gap, frame, np.array(taken).reshape(-1, 4), dots)
        if not near:  # away from its point: a leader line says whose label it is
            label.remove()
            label = axes.annotate(text, xy, xytext=(0, 0), arrowprops={
                "arrowstyle": "-", "color": "0.5", "linewidth": 0.4, "shrinkA": 0, "shrinkB": 2}, **style)
        label.xyann = ((box[0] - px) * scale, (box[1] - py) * scale)
        taken.append(box)
        placed.append(label)
    return placed


def _free_box(px, py, width, height, gap, frame, taken, dots):
    """(x0, y0, x1, y1) of the first free box for a label of this size at (px, py), and whether it
    sits next to its point. Three passes, each looser: inside the axes and covering no point; inside
    the axes; anywhere (always succeeds: far enough to the right, nothing is in the way)."""
    import numpy as np

    step = max(height, 4.0)
    reach = math.hypot(frame.width, frame.height)
    if len(taken):
        reach = max(reach, float(np.max(np.hypot(taken[:, [0, 2]] - px, taken[:, [1, 3]] - py))))
    radius = gap + step * np.arange(int(reach / step) + 3)[:, None]
    ux = np.array([d[0] for d in _DIRECTIONS])[None, :]
    uy = np.array([d[1] for d in _DIRECTIONS])[None, :]
    # the box's corner (or the middle of its edge) nearest the point lies `radius` from it, in its direction
    x0 = px + radius * ux - np.where(ux > 1e-6, 0.0, np.where(ux < -1e-6, width, width / 2))
    y0 = py + radius * uy - np.where(uy > 1e-6, 0.0, np.where(uy < -1e-6, height, height / 2))
    boxes = np.stack(np.broadcast_arrays(x0, y0, x0 + width, y0 + height), axis=-1).reshape(-1, 4)
    pad = 1.0  # a pixel between labels, so rounding at draw time cannot make them touch

    def hits(boxes, others):
        if not len(others):
            return np.zeros(len(boxes), dtype=bool)
        return ((boxes[:, None, 0] < others[None, :, 2] + pad) & (boxes[:, None, 2] + pad > others[None, :, 0])
                & (boxes[:, None, 1] < others[None, :, 3] + pad) & (boxes[:, None, 3] + pad > others[None, :, 1])
                ).any(axis=1)

    def first_free(boxes, strict_only):
        clear = ~hits(boxes, taken)
        inside = ((boxes[:, 0] >= frame.x0) & (boxes[:, 2] <= frame.x1) & (boxes[:, 1] >= frame.y0)
                  & (boxes[:, 3] <= frame.y1))
        for allowed in (clear & inside & ~hits(boxes, dots),) + (() if strict_only else (clear & inside, clear)):
            chosen = np.flatnonzero(allowed)
            if len(chosen):
                return int(chosen[0])
        return None

    # most labels find a place on the inner rings: try those alone first (the same first choice,
    # for a fraction of the work)
    inner = 8 * len(_DIRECTIONS)
    index = first_free(boxes[:inner], strict_only=True)
    if index is None:
        index = first_free(boxes, strict_only=False)
    if index is None:
        raise AssertionError("a label found no free place")  # unreachable: the outermost ring is clear
    return boxes[index], index < 2 * len(_DIRECTIONS)  # the first two rings: next to the point


def finish_delta_axes(drawn, axis, title: str, *, fontsize: float = 7) -> None:
    """The y axis of a Δ chart (signed ticks, in points), a legend where there are several things to
    tell apart or else the lone series named in the title, and the layout."""
    signed_ticks(axis.yaxis)
    axis.set_ylabel(f"Δ against no intermediate task ({DELTA_UNITS})", fontsize=9)
    if legend(axis, fontsize=fontsize) is None and (lone := lone_label([axis])) is not None:
        title += f" · {lone}"
    axis.set_title(title, fontsize=10)
    drawn.tight_layout()
