"""The two pictures of a case for its PDF: the network around its entities and the routes of its
declarations, as PNG bytes drawn with matplotlib's object API (a ``Figure`` rendered by Agg, never
pyplot: no display, no global figure state shared between request threads).

Both are drawn at the size the PDF prints them (``PRINT_WIDTH_MM``), so a font size here is the
size on paper, and never below ``MIN_FONT_PT``. The network keeps to ``MAX_GRAPH_NODES`` nodes and labels
them without overlap: the case's own evidence first, then parties, then identifiers; a label that finds no
free place beside its node is left out, and the picture says how many were.

A case with nothing to draw gets a picture saying so, never an error. Labels are drawn with
``parse_math=False``: a party called ``$x^2$`` is text, not a formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import igraph as ig
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.transforms import Bbox
from sqlalchemy import Engine, select

from cintel.cases.service import CaseDetail
from cintel.domain.codes import CaseItemKind
from cintel.movement import geography
from cintel.network.cache import cached_network
from cintel.network.graph import NetworkError
from cintel.network.queries import neighbourhood
from cintel.store.tables import declaration_containers, declarations

POINTS_PER_INCH = 72
PRINT_WIDTH_MM = 170.0  # the width the case PDF prints a picture at (cases.export.IMAGE_WIDTH)
WIDTH_IN = PRINT_WIDTH_MM / 25.4  # drawn at that width: 1 pt of a font here is 1 pt on paper
HEIGHT_IN = WIDTH_IN * 0.75
DPI = 200  # print quality
MIN_FONT_PT = 7.0  # the smallest type on the printed page
LABEL_PT, SEED_LABEL_PT, LEGEND_PT, TITLE_PT = 7.5, 8.5, 7.5, 10.0
NEIGHBOURS_PER_SEED = 12  # a seed's first-degree neighbours drawn at most (busy traders have hundreds)
MAX_GRAPH_NODES = 40  # beyond this the printed picture is unreadable: seeds first, then neighbours in order found
MAX_ROUTES = 60
LABEL_CHARS = 24
# Where a label may go beside its node (points, from the node's centre), tried in this order: close first,
# then farther out (a label a little away from its node beats no label).
LABEL_OFFSETS = tuple((dx * k, dy * k) for k in (1, 2, 3)
                      for dx, dy in ((6, 4), (6, -10), (-6, 4), (-6, -10), (0, 9), (0, -15)))
NEAR_POINTS = 16  # |dx| + |dy| of the nearest places
LABEL_PRIORITY = {"company": 1, "person": 1, "vessel": 2}  # after the seeds (0); identifiers and the rest 3

NODE_COLOURS = {"company": "#1f5fa8", "person": "#b35900", "vessel": "#5b3f8c", "address": "#2e7d32",
                "phone": "#00838f", "email": "#ad1457", "account": "#6d4c41", "container": "#546e7a",
                "declaration": "#37474f"}
EDGE_COLOURS = {"importer_of": "#1f5fa8", "exporter_of": "#4f8fd8", "declared_by": "#7986cb",
                "director_of": "#b35900", "has_address": "#2e7d32", "has_phone": "#00838f", "has_email": "#ad1457",
                "has_account": "#6d4c41", "paid": "#c62828", "carried_by": "#5b3f8c", "in_container": "#546e7a",
                "mentioned_in_report": "#f9a825", "same_as": "#000000"}
OTHER = "#9e9e9e"


@dataclass(frozen=True)
class CaseFigures:
    graph_png: bytes
    map_png: bytes
    graph_nodes: int
    routes: int


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _message(title: str, text: str) -> bytes:
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN / 2))
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title, parse_math=False, fontsize=TITLE_PT)
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=11, wrap=True, parse_math=False)
    return _png(fig)


def _short(label: Any, fallback: str) -> str:
    text = str(label) if label not in (None, "") else fallback
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


# ---- the network ------------------------------------------------------------------------------------------------

def seed_nodes(case: CaseDetail) -> list[str]:
    """Graph node ids of the case's evidence: its entities (and ring members), declarations and containers."""
    return ([f"entity:{e}" for e in [*case.refs(CaseItemKind.ENTITY), *case.refs(CaseItemKind.RING)]]
            + [f"declaration:{d}" for d in case.refs(CaseItemKind.DECLARATION)]
            + [f"container:{c}" for c in case.refs(CaseItemKind.CONTAINER)])


def case_subgraph(engine: Engine, case: CaseDetail) -> tuple[pl.DataFrame, pl.DataFrame, set[str]]:
    """(nodes, edges, seeds): the case's nodes and their first-degree neighbours, capped, and the edges among them."""
    wanted = seed_nodes(case)
    if not wanted:
        empty = pl.DataFrame(schema=dict.fromkeys(("node_id", "kind", "label"), pl.String))
        return empty, pl.DataFrame(schema=dict.fromkeys(("src", "dst", "kind"), pl.String)), set()
    g = cached_network(engine).graph  # built once per store state, shared with the network pages
    known = set(g.nodes.filter(pl.col("node_id").is_in(wanted))["node_id"].to_list())
    seeds = [s for s in dict.fromkeys(wanted) if s in known]
    chosen: dict[str, None] = dict.fromkeys(seeds)
    for seed in seeds:
        try:
            sub = neighbourhood(g, seed, hops=1, max_nodes=NEIGHBOURS_PER_SEED + 1)
        except NetworkError:
            continue
        chosen.update(dict.fromkeys(sub.nodes["node_id"].to_list()))
    ids = list(chosen)[:MAX_GRAPH_NODES]
    nodes = g.nodes.filter(pl.col("node_id").is_in(ids))
    edges = g.edges.filter(pl.col("src").is_in(ids) & pl.col("dst").is_in(ids)).unique(["src", "dst", "kind"])
    return nodes, edges, set(seeds)


def _place_label(ax: Any, renderer: Any, xy: tuple[float, float], text: str, taken: list[Bbox],
                 size: float, weight: str) -> bool:
    """Draws a label beside its node at the first offset where it stays in the picture and covers no label or
    node already drawn (its box is added to ``taken``); False, and nothing drawn, when every place is taken."""
    width, height, descent = renderer.get_text_width_height_descent(text, FontProperties(size=size, weight=weight),
                                                                    ismath=False)
    x, y = ax.transData.transform(xy)
    px = renderer.points_to_pixels(1.0)
    frame = ax.bbox
    for dx, dy in LABEL_OFFSETS:
        x0 = x + dx * px - (width if dx < 0 else width / 2 if dx == 0 else 0)
        y0 = y + dy * px - descent  # annotate's default: the offset is the text's baseline
        box = Bbox.from_extents(x0, y0, x0 + width, y0 + height).padded(1.5 * px)
        inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        if inside and not any(box.overlaps(other) for other in taken):
            # A label set farther out than the nearest places gets a thin leader line to its node.
            leader = {"arrowstyle": "-", "color": "#757575", "linewidth": 0.5, "shrinkA": 0, "shrinkB": 3} \
                if abs(dx) + abs(dy) > NEAR_POINTS else None
            label = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", annotation_clip=False,
                                ha="left" if dx > 0 else "right" if dx < 0 else "center", zorder=3, fontsize=size,
                                fontweight=weight, arrowprops=leader)
            label.set_parse_math(False)  # annotate has no parse_math argument before matplotlib 3.8
            taken.append(box)
            return True
    return False


def graph_figure(nodes: pl.DataFrame, edges: pl.DataFrame, seeds: Iterable[str], title: str = "Network") -> Figure:
    """The network at print size: nodes laid out by igraph (Fruchterman-Reingold, seeded: the same case draws
    the same picture), coloured by kind, edges coloured by kind, case evidence drawn larger with a black ring;
    labels placed without overlap, most important first (see the module docstring)."""
    seeds = set(seeds)
    ids = nodes["node_id"].to_list()
    index = {n: i for i, n in enumerate(ids)}
    pairs = [(index[s], index[d]) for s, d in zip(edges["src"].to_list(), edges["dst"].to_list(), strict=True)]
    graph = ig.Graph(n=len(ids), edges=pairs)
    layout = graph.layout_fruchterman_reingold(seed=[[float(i % 7), float(i // 7)] for i in range(len(ids))],
                                               niter=500)
    xy = layout.coords
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(title, parse_math=False, fontsize=TITLE_PT)
    fig.subplots_adjust(left=0.02, right=0.78, top=0.92, bottom=0.07)
    ax.add_collection(LineCollection([(xy[s], xy[d]) for s, d in pairs], linewidths=0.8, alpha=0.6, zorder=1,
                                     colors=[EDGE_COLOURS.get(k, OTHER) for k in edges["kind"].to_list()]))
    kinds = nodes["kind"].to_list()
    labels = nodes["label"].to_list() if "label" in nodes.columns else [None] * len(ids)
    is_seed = [n in seeds for n in ids]
    sizes = [120.0 if seed else 45.0 for seed in is_seed]
    ax.scatter([p[0] for p in xy], [p[1] for p in xy], s=sizes, c=[NODE_COLOURS.get(k, OTHER) for k in kinds],
               edgecolors=["black" if seed else "white" for seed in is_seed],
               linewidths=[1.5 if seed else 0.5 for seed in is_seed], zorder=2)
    ax.margins(0.12)
    ax.autoscale_view()  # the data limits are final before any position is turned into pixels
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    taken = []
    for i in range(len(ids)):  # every node is an obstacle for every label
        cx, cy = ax.transData.transform(xy[i])
        radius = renderer.points_to_pixels(sizes[i] ** 0.5 / 2)
        taken.append(Bbox.from_extents(cx - radius, cy - radius, cx + radius, cy + radius))
    order = sorted(range(len(ids)), key=lambda i: (0 if is_seed[i] else LABEL_PRIORITY.get(kinds[i], 3), i))
    left_out = sum(not _place_label(ax, renderer, xy[i], _short(labels[i], ids[i].split(":", 1)[-1]), taken,
                                    SEED_LABEL_PT if is_seed[i] else LABEL_PT, "bold" if is_seed[i] else "normal")
                   for i in order)
    node_handles = [Line2D([], [], marker="o", linestyle="", color=NODE_COLOURS.get(k, OTHER), label=k)
                    for k in sorted(set(kinds))]
    edge_handles = [Line2D([], [], color=EDGE_COLOURS.get(k, OTHER), label=k.replace("_", " "))
                    for k in sorted(set(edges["kind"].to_list()))]
    fig.legend(handles=[*node_handles, *edge_handles], loc="upper right", fontsize=LEGEND_PT, frameon=False,
               title="nodes and ties", title_fontsize=LEGEND_PT)
    note = f"{len(ids)} nodes, case evidence ringed in black"
    if left_out:
        note += f"; {left_out} label{'s' if left_out > 1 else ''} left out where {'they' if left_out > 1 else 'it'}" \
                " would cover another"
    fig.text(0.02, 0.02, note, fontsize=LEGEND_PT, parse_math=False)
    return fig


def graph_png(nodes: pl.DataFrame, edges: pl.DataFrame, seeds: Iterable[str], title: str = "Network") -> bytes:
    """``graph_figure`` as PNG bytes; a picture saying so when there is nothing to draw."""
    if nodes.height == 0:
        return _message(title, "No entities of this case are in the network.")
    return _png(graph_figure(nodes, edges, seeds, title))


# ---- the map ----------------------------------------------------------------------------------------------------

def case_routes(engine: Engine, case: CaseDetail) -> list[dict[str, Any]]:
    """One route per declaration of the case (its own, and those naming its containers): from the port of
    loading (else the country of dispatch) to the port of discharge (else the importer's country)."""
    ids = case.refs(CaseItemKind.DECLARATION)
    containers = case.refs(CaseItemKind.CONTAINER)
    d = declarations.c
    with engine.connect() as conn:
        if containers:
            ids += conn.execute(select(declaration_containers.c.declaration_id).where(
                declaration_containers.c.container_number.in_(containers))).scalars().all()
        ids = list(dict.fromkeys(ids))[:MAX_ROUTES]
        rows = conn.execute(select(d.declaration_id, d.port_of_loading, d.port_of_discharge, d.country_of_dispatch,
                                   d.importer_country).where(d.declaration_id.in_(ids))).mappings().all()
    routes = []
    for r in rows:
        start = _place(r["port_of_loading"], r["country_of_dispatch"])
        end = _place(r["port_of_discharge"], r["importer_country"])
        if start and end:
            routes.append({"declaration_id": r["declaration_id"], "from": start, "to": end})
    return sorted(routes, key=lambda r: r["declaration_id"])


def _place(locode: str | None, country: str | None) -> tuple[str, float, float] | None:
    """(name, latitude, longitude) of a port, else of the country's centre."""
    found = geography.port(locode)
    if found is not None:
        return (found.locode, found.latitude, found.longitude)
    centre = geography.country_centre(country)
    return (country or "", centre[0], centre[1]) if centre else None


def _outlines(ax: Any) -> None:
    """Country outlines (outer rings) as one collection: one draw call instead of one per polygon."""
    rings = []
    for feature in geography.countries_geojson()["features"]:
        geometry = feature["geometry"]
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        rings += [polygon[0] for polygon in polygons]
    ax.add_collection(PolyCollection(rings, facecolors="#eeeeee", edgecolors="#9e9e9e", linewidths=0.4, zorder=0))


def map_png(routes: list[dict[str, Any]], title: str = "Routes") -> bytes:
    """The routes as straight lines over the country outlines, framed on the routes; ports labelled."""
    if not routes:
        return _message(title, "No declaration of this case has a known route.")
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN))
    ax = fig.subplots()
    ax.set_title(title, parse_math=False)
    _outlines(ax)
    places: dict[str, tuple[float, float]] = {}
    for route in routes:
        (a, alat, alon), (b, blat, blon) = route["from"], route["to"]
        ax.annotate("", xy=(blon, blat), xytext=(alon, alat), zorder=2,
                    arrowprops={"arrowstyle": "->", "color": "#8b0000", "linewidth": 1.2, "alpha": 0.8})
        places[a], places[b] = (alon, alat), (blon, blat)
    lons = [p[0] for p in places.values()]
    lats = [p[1] for p in places.values()]
    for name, (lon, lat) in places.items():
        ax.plot([lon], [lat], marker="o", color="#0b4f8a", markersize=5, zorder=3)
        ax.text(lon, lat, f" {name}", fontsize=8, zorder=4, parse_math=False)
    pad = 8.0
    west, east = max(-180.0, min(lons) - pad), min(180.0, max(lons) + pad)
    south, north = max(-90.0, min(lats) - pad), min(90.0, max(lats) + pad)
    # At least 40 degrees wide, so one short route still shows where on Earth it is.
    if east - west < 40:
        mid = (east + west) / 2
        west, east = max(-180.0, mid - 20), min(180.0, mid + 20)
    # Then grown to the picture's 3:2, so the equal-aspect map fills it rather than a thin strip.
    height = max(north - south, (east - west) / 1.5)
    width = max(east - west, height * 1.5)
    mid_lat, mid_lon = (north + south) / 2, (east + west) / 2
    south, north = max(-90.0, mid_lat - height / 2), min(90.0, mid_lat + height / 2)
    west, east = max(-180.0, mid_lon - width / 2), min(180.0, mid_lon + width / 2)
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_facecolor("#dfefff")
    ax.legend(handles=[Line2D([], [], color="#8b0000", label=f"declared route ({len(routes)})"),
                       Line2D([], [], marker="o", linestyle="", color="#0b4f8a", label="port or country")],
              loc="lower left", fontsize=8)
    fig.tight_layout()
    return _png(fig)


def case_figures(engine: Engine, case: CaseDetail) -> CaseFigures:
    """Both pictures of a case."""
    nodes, edges, seeds = case_subgraph(engine, case)
    routes = case_routes(engine, case)
    return CaseFigures(graph_png=graph_png(nodes, edges, seeds, f"Network around case {case.case['case_id']}"),
                       map_png=map_png(routes, f"Routes of case {case.case['case_id']}'s declarations"),
                       graph_nodes=nodes.height, routes=len(routes))
