"""The studies' figures read at a glance (issue 23, point 5): a legend only where there is more than
one thing to tell apart, ticks in the axes' units, lines that coincide still visible and named,
point labels that never overlap. Each figure is drawn from small hand-built numbers (the
drawing is under test, not the numbers) and inspected as rendered."""

import io
import itertools
import random
import warnings

from matplotlib.text import Text

from xharness_studies import alignment, granularity, scale, typology, uriel
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


# ---------------------------------------------------------------------------------- granularity


def groups(values: dict[tuple[str, str], float], target="tatoeba", model="tiny"):
    return {(model, variant, group, target): value for (variant, group), value in values.items()}


def test_granularity_chart_with_every_delta_zero_has_no_legend_and_says_so():
    every_zero = groups({("english", "span"): 0.0, ("english", "pair"): 0.0, ("multilingual", "span"): 0.0,
                         ("multilingual", "pair"): 0.0})
    drawn = granularity.chart(every_zero, "tiny", ["tatoeba"], ["english", "multilingual"])
    rendered(drawn)
    (axes,) = drawn.axes
    assert axes.get_legend() is None
    assert any("every Δ is 0" in text.get_text() and "4 groups, 1 target" in text.get_text() for text in axes.texts)


def test_granularity_chart_names_only_the_groups_it_draws():
    drawn = granularity.chart(groups({("english", "span"): 1.5, ("english", "pair"): 0.0,
                                      ("multilingual", "pair"): -0.7}),
                              "tiny", ["tatoeba"], ["english", "multilingual"])
    rendered(drawn)
    (axes,) = drawn.axes
    # token and choice have no number: no legend entry for a bar that is not there; the Δ of 0 is
    # drawn (a stroke on the zero line), so its entry names something visible
    assert legend_texts(axes) == ["span (english)", "pair (english)", "pair (multilingual)"]
    assert axes.collections and axes.collections[0].get_segments()  # the stroke of pair (english)
    assert "(points)" in axes.get_ylabel()
    assert {"+1", "0", "−0.5"} <= set(tick_texts(axes.yaxis))  # a Δ axis: signed, in points

    alone = granularity.chart(groups({("english", "span"): 1.5}), "tiny", ["tatoeba"], ["english"])
    rendered(alone)
    assert alone.axes[0].get_legend() is None  # one group: nothing to tell apart; the title names it
    assert alone.axes[0].get_title().endswith("· span (english)")


# ---------------------------------------------------------------------------------------- scale


def test_scale_chart_legend_only_with_several_targets_and_coinciding_lines_named():
    models = ["tiny", "tiny-large"]
    one = scale.chart({("tiny", "squad", "udpos"): {"delta": 0.4}, ("tiny-large", "squad", "udpos"): {"delta": 1.2}},
                      models, ["udpos"], "squad")
    rendered(one)
    assert one.axes[0].get_legend() is None and one.axes[0].get_title().endswith("· udpos")
    assert "(points)" in one.axes[0].get_ylabel()
    assert tick_texts(one.axes[0].xaxis) == models

    same = {(m, "squad", t): {"delta": 0.0} for m in models for t in ("udpos", "panx")}
    two = scale.chart(same, models, ["udpos", "panx"], "squad")
    rendered(two)
    assert legend_texts(two.axes[0]) == ["udpos", "panx (same line as udpos)"]
    first, second = two.axes[0].get_lines()[:2]
    assert (first.get_marker(), first.get_linestyle()) != (second.get_marker(), second.get_linestyle())
    assert second.get_markersize() < first.get_markersize() and second.get_zorder() > first.get_zorder()


# ------------------------------------------------------------------------------------ alignment


def test_alignment_chart_ticks_are_layers_and_percent_and_hidden_lines_are_named():
    # the tiny encoder: embeddings and 2 layers; squad's curve lies exactly on the pretrained one
    curves = {("tiny", "pretrained"): [[1.0, 5.0, 3.0]], ("tiny", "squad"): [[1.0, 5.0, 3.0]],
              ("tiny", "mnli"): [[0.5, 6.0, 2.0], [0.5, 6.0, 2.0]]}
    gaps = {("tiny", "pretrained"): [[0.01, 0.05, 0.03]], ("tiny", "squad"): [[0.01, 0.05, 0.03]],
            ("tiny", "mnli"): [[0.02, 0.06, 0.04], [0.02, 0.06, 0.04]]}
    drawn = alignment.chart(curves, gaps, "tiny")
    rendered(drawn)
    left, right = drawn.axes
    for axes in (left, right):  # whole layers, not 0.25 of a layer
        assert tick_texts(axes.xaxis) == ["0", "1", "2"]
    recall = tick_texts(left.yaxis)
    assert recall and all(text.endswith("%") for text in recall)  # recall@1 is in percent
    assert legend_texts(left) == ["pretrained", "mnli", "squad (same line as pretrained)"]
    lines = {line.get_label(): line for line in left.get_lines()}
    hidden, under = lines["squad (same line as pretrained)"], lines["pretrained"]
    assert list(hidden.get_ydata()) == list(under.get_ydata())
    assert hidden.get_marker() != under.get_marker() and hidden.get_linestyle() != under.get_linestyle()
    assert hidden.get_zorder() > under.get_zorder()

    alone = alignment.chart({("tiny", "pretrained"): [[1.0, 5.0, 3.0]]},
                            {("tiny", "pretrained"): [[0.01, 0.05, 0.03]]}, "tiny")
    rendered(alone)
    assert alone.axes[0].get_legend() is None and alone._suptitle.get_text().endswith("· pretrained")


# ------------------------------------------------------------------------------------- typology


def crowded(rows=("none", "squad"), n=41, seed=0):
    """XTREME-R's 41 Tatoeba languages on every distance type, piled up: the genetic-like x takes
    two values and the degradations lie within a few points, so naive labels would overlap."""
    rng = random.Random(seed)
    langs = sorted(uriel.ISO639_3)[:n]
    scatter = {}
    for row, kind in itertools.product(rows, uriel.DISTANCES):
        x = [rng.choice([0.0, 1.0]) if kind == "genetic" else round(rng.uniform(0.4, 0.5), 3) for _ in langs]
        scatter[("tiny", "tatoeba", row, kind)] = (langs, x, [50 + rng.uniform(0, 3) for _ in langs])
    return scatter, langs


def test_typology_labels_never_overlap():
    scatter, langs = crowded()
    drawn = typology.chart(scatter, "tiny", "tatoeba")
    renderer = rendered(drawn)
    labels = [text for axes in drawn.axes for text in axes.texts]
    assert sorted(label.get_text() for label in labels) == sorted(langs * len(uriel.DISTANCES))
    boxes = [Text.get_window_extent(label, renderer) for label in labels]  # the text, not its leader line
    assert not [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(zip(labels, boxes), 2)
                if box_a.overlaps(box_b)]
    legend = drawn.legends[0].get_window_extent(renderer)  # above the panels, covering no label
    assert not any(box.overlaps(legend) for box in boxes)
    assert [t.get_text() for t in drawn.legends[0].get_texts()] == ["none", "squad"]
    # the same language twice stays visible: the baseline's point filled, squad's hollow around it, on top
    none, squad = drawn.axes[0].collections[:2]
    assert none.get_facecolor()[0][3] == 1 and len(squad.get_facecolor()) == 0  # filled; hollow
    assert squad.get_sizes()[0] > none.get_sizes()[0] and squad.get_zorder() > none.get_zorder()


def test_typology_chart_of_the_baseline_alone_has_no_legend():
    alone = typology.chart(crowded(rows=("none",), n=5)[0], "tiny", "tatoeba")
    rendered(alone)
    assert not alone.legends and all(axes.get_legend() is None for axes in alone.axes)
    assert alone._suptitle.get_text().endswith("· none")
