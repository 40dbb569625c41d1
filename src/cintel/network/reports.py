"""Link analysis on the store's cached graph, as the workspace shows it: the paths between two references an
analyst typed, the ranked suspected rings (each with its drawing and what ties it, in words), and the rings
an entity belongs to. JSON-ready dicts: the pages and the API render the same answers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine

from cintel.entities.search import search_entities
from cintel.network.cache import network_cache
from cintel.network.graph import NetworkError
from cintel.network.queries import shortest_paths
from cintel.network.rings import Ring, ring_elements, ring_ties, rings
from cintel.network.service import node_of, party_graph
from cintel.network.store_graph import StoreNetwork, entity_node
from cintel.network.ties import ring_communities

MAX_RINGS = 50  # rings ranked per graph: the network page shows the top ones, the entity page looks in all
PATH_LIMIT = 5


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: _iso(v) for k, v in row.items()} for row in frame.iter_rows(named=True)]


def resolve_ref(engine: Engine, network: StoreNetwork, ref: str) -> str:
    """The node an analyst's reference names: an id the graph knows (entity, declaration or node id), or else
    the best entity a name search finds. ``NetworkError`` when neither works."""
    try:
        return node_of(network, ref)
    except NetworkError:
        found = search_entities(engine, ref, limit=1)
        if found:
            return entity_node(found[0]["entity_id"])
        raise


def path_report(engine: Engine, source: str, target: str, *, limit: int = PATH_LIMIT) -> dict[str, Any]:
    """The shortest chains of ties between two references, each step with its kind, date and provenance."""
    network = network_cache(engine).network()
    a, b = resolve_ref(engine, network, source), resolve_ref(engine, network, target)
    found = shortest_paths(network.graph, a, b, limit=limit)
    labels = dict(network.graph.nodes.filter(pl.col("node_id").is_in(
        sorted({n for p in found for n in p.nodes} | {a, b}))).select("node_id", "label").iter_rows())
    paths = []
    for p in found:
        steps = _rows(p.edges.select("step", "src", "dst", "kind", "date", "source_kind", "source_key", "records"))
        for s in steps:
            s["src_label"], s["dst_label"] = labels.get(s["src"]), labels.get(s["dst"])
        paths.append({"hops": p.hops, "nodes": [{"id": n, "label": labels.get(n)} for n in p.nodes],
                      "steps": steps})
    return {"source": {"id": a, "label": labels.get(a)}, "target": {"id": b, "label": labels.get(b)},
            "paths": paths}


def _rank(network: StoreNetwork) -> list[Ring]:
    graph = party_graph(network.graph)
    return rings(graph, ring_communities(graph, seed=0), min_size=2, top=MAX_RINGS)


def ranked_rings(engine: Engine) -> list[Ring]:
    """The ``MAX_RINGS`` most suspicious rings of the cached graph (``network.service.ring_report``'s ranking),
    ranked once per graph."""
    return network_cache(engine).derived(("rings", MAX_RINGS), _rank)


def _ring(rank: int, r: Ring) -> dict[str, Any]:
    members = r.members.with_columns(entity_id=pl.col("node_id").str.strip_prefix("entity:"))
    return {"ring_id": r.ring_id, "rank": rank, "score": round(r.score, 3), "summary": r.summary,
            "parts": {k: round(v, 3) for k, v in r.parts.items()},
            "members": _rows(members.select("node_id", "entity_id", "kind", "label", "seized", "watchlisted",
                                            "first_seen")),
            "ties": [{**t, "since": _iso(t["since"])} for t in ring_ties(r)],
            "elements": ring_elements(r), "evidence": _rows(r.evidence)}


def ring_list(engine: Engine, top: int = 20) -> list[dict[str, Any]]:
    """The ``top`` ranked rings, best first: rank, score and its parts, summary, members, what ties them
    (``ties``), the drawing (``elements``, Cytoscape.js) and the raw ``evidence`` (both edges' provenance)."""
    return [_ring(n, r) for n, r in enumerate(ranked_rings(engine)[:top], start=1)]


def rings_of(engine: Engine, entity_id: str) -> list[dict[str, Any]]:
    """The ranked rings ``entity_id`` is a member of (rank, ring id, score, summary), best first."""
    node = entity_node(entity_id)
    return [{"ring_id": r.ring_id, "rank": n, "score": round(r.score, 3), "summary": r.summary}
            for n, r in enumerate(ranked_rings(engine), start=1) if node in set(r.members["node_id"].to_list())]
