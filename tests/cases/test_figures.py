"""The case PDF's network picture is legible on paper: drawn at the width it is printed, type no smaller than
the minimum there, and no label covering another label or a node."""

from __future__ import annotations

import polars as pl
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation, Text

from cintel.cases import figures
from cintel.cases.export import IMAGE_WIDTH
from cintel.cases.figures import MAX_GRAPH_NODES, MIN_FONT_PT, graph_figure, graph_png

PNG = b"\x89PNG\r\n\x1a\n"


def crowded() -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    """A busy trader's picture at the node cap: 15 companies it pays, each with a phone and an address."""
    companies = [f"entity:C{i}" for i in range(15)]
    phones = [f"phone:+3161234{i:04d}" for i in range(12)]
    addresses = [f"address:Long Street Name {i}, 1234 AB Rotterdam" for i in range(12)]
    ids = ["entity:S", *companies, *phones, *addresses]
    assert len(ids) <= MAX_GRAPH_NODES
    nodes = pl.DataFrame({"node_id": ids, "kind": ["company"] * 16 + ["phone"] * 12 + ["address"] * 12,
                          "label": ["Suspect Holding B.V.", *[f"Trading Company Number {i} B.V." for i in range(15)],
                                    *[i.split(":", 1)[1] for i in phones + addresses]]})
    edges = pl.DataFrame({"src": ["entity:S"] * 15 + [companies[i % 15] for i in range(24)],
                          "dst": [*companies, *phones, *addresses],
                          "kind": ["paid"] * 15 + ["has_phone"] * 12 + ["has_address"] * 12})
    return nodes, edges, {"entity:S", "entity:C1"}


def labels(fig: Figure) -> list[Annotation]:
    return [t for t in fig.axes[0].texts if isinstance(t, Annotation)]


def test_the_picture_is_drawn_at_the_width_the_pdf_prints_it() -> None:
    fig = graph_figure(*crowded())
    width_in = fig.get_size_inches()[0]
    assert width_in * 72 == pytest.approx(IMAGE_WIDTH, abs=0.5)  # 1 pt of type here is 1 pt on paper
    assert figures.DPI >= 150


def test_no_type_on_the_printed_page_is_below_the_minimum() -> None:
    fig = graph_figure(*crowded())
    texts = [*fig.texts, *fig.axes[0].texts, fig.axes[0].title, *[t for legend in fig.legends for t in legend.texts]]
    assert texts
    assert min(t.get_fontsize() for t in texts if t.get_text()) >= MIN_FONT_PT


def test_no_label_covers_another_label_or_a_node_and_the_case_evidence_is_labelled() -> None:
    nodes, edges, seeds = crowded()
    fig = graph_figure(nodes, edges, seeds)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # an annotation's text is placed when drawn
    renderer = canvas.get_renderer()
    placed = labels(fig)
    boxes = [Text.get_window_extent(t, renderer) for t in placed]  # the text, not its leader line
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), "two labels overlap"
    ax = fig.axes[0]
    markers = ax.collections[-1].get_offsets()
    for box in boxes:
        for x, y in markers:
            cx, cy = ax.transData.transform((x, y))
            assert not box.contains(cx, cy), "a label covers a node"
    shown = {t.get_text() for t in placed}
    evidence = sorted(t.get_text() for t in placed if t.get_fontweight() == "bold")  # the seeds' labels
    assert len(evidence) == len(seeds)
    assert evidence[0] == "Suspect Holding B.V."
    assert evidence[1].startswith("Trading Company Number")  # C1's, cut to LABEL_CHARS
    assert "Suspect Holding B.V." in shown
    assert len(placed) >= nodes.height * 2 // 3  # most nodes named
    left_out = nodes.height - len(placed)
    note = fig.texts[-1].get_text()
    assert (f"{left_out} label" in note) if left_out else ("left out" not in note)


def test_graph_png_is_the_figure_as_png_at_print_resolution() -> None:
    png = graph_png(*crowded())
    assert png.startswith(PNG)
    width_px = int.from_bytes(png[16:20], "big")
    assert width_px == int(figures.WIDTH_IN * figures.DPI)
