"""Small hand-built entity graphs for the network tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl

from cintel.network import EntityGraph

KIND_PREFIX = {"entity": "company", "person": "person", "address": "address", "phone": "phone", "iban": "account",
               "email": "email", "vessel": "vessel", "container": "container", "declaration": "declaration"}


def node_frame(ids: list[str], flags: dict[str, dict[str, Any]] | None = None) -> pl.DataFrame:
    """Nodes whose kind follows the id prefix ("entity:" = company, "iban:" = account, ...), label = the id's
    tail; ``flags`` sets seized / watchlisted / first_seen per node."""
    flags = flags or {}
    rows = [{"node_id": i, "kind": KIND_PREFIX[i.split(":")[0]], "label": i.split(":", 1)[1],
             "seized": flags.get(i, {}).get("seized", False), "watchlisted": flags.get(i, {}).get("watchlisted", False),
             "first_seen": flags.get(i, {}).get("first_seen")} for i in ids]
    return pl.DataFrame(rows, schema={"node_id": pl.String, "kind": pl.String, "label": pl.String,
                                      "seized": pl.Boolean, "watchlisted": pl.Boolean, "first_seen": pl.Date})


def edge_frame(edges: Sequence[tuple[str, str, str, date | None]]) -> pl.DataFrame:
    """Edges (src, dst, kind, date); provenance ``source_kind`` = "parties", ``source_key`` = "rec-<n>"."""
    rows = [{"src": s, "dst": d, "kind": k, "date": day, "source_kind": "parties", "source_key": f"rec-{n}"}
            for n, (s, d, k, day) in enumerate(edges)]
    return pl.DataFrame(rows,
                        schema={"src": pl.String, "dst": pl.String, "kind": pl.String, "date": pl.Date,
                                "source_kind": pl.String, "source_key": pl.String})


def build(edges: Sequence[tuple[str, str, str, date | None]], extra_nodes: list[str] | None = None,
          flags: dict[str, dict[str, Any]] | None = None) -> EntityGraph:
    """The graph of ``edges``, its nodes being every endpoint plus ``extra_nodes``."""
    ids = list(dict.fromkeys([x for s, d, _, _ in edges for x in (s, d)] + (extra_nodes or [])))
    return EntityGraph.from_frames(node_frame(ids, flags), edge_frame(edges))
