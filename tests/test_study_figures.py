"""The studies' figures read at a glance (issue 23, point 5): a legend only where there is more than
one thing to tell apart, ticks in the axes' units, lines that coincide still visible and named,
point labels that never overlap. Each figure is drawn from small hand-built numbers (the
drawing is under test, not the numbers) and inspected as rendered."""

import io
import itertools
import warnings

from matplotlib.text import Text

from xharness_studies.figures import figure, place_labels


def rendered(drawn):
    """Draw the figure as it is saved (a PNG in memory), failing on any matplotlib warning (a glyph
    the font lacks, a layout that failed); returns its renderer."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drawn.savefig(io.BytesIO(), format="png", dpi=drawn.dpi)
    return drawn.canvas.get_renderer()


def tick_texts(axis) -> list[str]:
    """The tick labels shown (within the view: matplotlib also formats ticks just outside it)."""
    low, high = sorted(axis.get_view_interval())
    return [tick.label1.get_text() for tick in axis.get_major_ticks() if low - 1e-9 <= tick.get_loc() <= high + 1e-9]


def legend_texts(axes) -> list[str]:
    legend = axes.get_legend()
    return [] if legend is None else [text.get_text() for text in legend.get_texts()]


# --------------------------------------------------------------------------------- point labels


def test_label_placement_is_deterministic_and_keeps_free_labels_next_to_their_points():
    def place():
        drawn = figure(4, 3)
        axes = drawn.subplots()
        points = [(0.0, 0.0), (0.01, 0.0), (0.0, 0.01), (1.0, 1.0)] + [(0.5, 0.5)] * 40
        axes.scatter(*zip(*points), s=14)
        drawn.tight_layout()
        labels = place_labels(axes, points, [f"p{i}" for i in range(len(points))])
        renderer = rendered(drawn)
        return [tuple(Text.get_window_extent(label, renderer).extents) for label in labels], labels

    boxes, labels = place()
    assert place()[0] == boxes
    assert not any(a.overlaps(b) for a, b in itertools.combinations(
        [Text.get_window_extent(label) for label in labels], 2))
    alone = labels[3]  # (1, 1) has no neighbour: its label sits beside it, no leader line
    assert alone.arrow_patch is None and max(abs(v) for v in alone.xyann) < 10
    assert any(label.arrow_patch is not None for label in labels[4:])  # 40 labels for one point: leaders
