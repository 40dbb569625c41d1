"""The entity graph: who is tied to whom, by which record, since when.

``EntityGraph.from_frames`` turns the store's two frames (nodes, edges) into one undirected graph for
analysis. The frames stay the source of truth for display: vertex ``i`` is row ``i`` of ``nodes`` and
edge ``j`` is row ``j`` of ``edges`` (direction ``src -> dst``, kind, date and provenance kept), so every
result maps back to the records that evidence it.

Two indexes are built lazily from integer arrays, never by a Python loop per edge:

- a CSR adjacency (``indptr``, ``neighbour``, ``edge``) as numpy arrays, used by the interactive queries
  (neighbourhood, paths), which filter by edge kind and date on the few edges they touch;
- an ``igraph.Graph`` (edge attribute ``weight``), used by the batch analytics (communities, centrality,
  propagation).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from functools import cached_property

import igraph as ig
import numpy as np
import polars as pl

from cintel.domain.codes import CodeList
from cintel.errors import CintelError

log = logging.getLogger(__name__)

NODE_COLUMNS = ("node_id", "kind", "label")
EDGE_COLUMNS = ("src", "dst", "kind")
FLAG_COLUMNS = {"seized": pl.Boolean, "watchlisted": pl.Boolean, "first_seen": pl.Date}
EDGE_DEFAULTS = {"date": pl.Date, "source_kind": pl.String, "source_key": pl.String}
MISSING_SHOWN = 5  # how many offending ids an error message lists
NO_DATE = np.iinfo(np.int32).min  # an undated edge: evidenced for as long as we know of it


class NetworkError(CintelError):
    """A graph built from inconsistent frames, or a query naming a node the graph does not hold."""


class NodeKind(CodeList):
    """What a node of the entity graph stands for."""

    COMPANY = ("company", "A legal entity: importer, exporter, broker, forwarder, carrier")
    PERSON = ("person", "A natural person: director, owner, declarant, contact")
    VESSEL = ("vessel", "A ship, keyed by IMO number")
    ADDRESS = ("address", "A normalised postal address")
    PHONE = ("phone", "A telephone number (E.164)")
    EMAIL = ("email", "An e-mail address")
    ACCOUNT = ("account", "A bank account (IBAN or national number)")
    CONTAINER = ("container", "A freight container (ISO 6346 number)")
    DECLARATION = ("declaration", "A customs declaration (MRN)")


class EdgeKind(CodeList):
    """How two nodes are tied; ``src -> dst`` reads as the description says."""

    IMPORTER_OF = ("importer_of", "company -> declaration: the company is the importer (consignee) declared")
    EXPORTER_OF = ("exporter_of", "company -> declaration: the company is the exporter (consignor) declared")
    DECLARED_BY = ("declared_by", "declaration -> company/person: the declarant or customs broker who lodged it")
    DIRECTOR_OF = ("director_of", "person -> company: the person is a director or legal representative")
    HAS_ADDRESS = ("has_address", "company/person -> address: registered or declared address")
    HAS_PHONE = ("has_phone", "company/person -> phone: contact phone number")
    HAS_EMAIL = ("has_email", "company/person -> email: contact e-mail address")
    HAS_ACCOUNT = ("has_account", "company/person -> account: holds or uses the bank account")
    PAID = ("paid", "account/company -> account/company: a payment between them")
    CARRIED_BY = ("carried_by", "declaration/container -> vessel: the goods travelled on the vessel")
    IN_CONTAINER = ("in_container", "declaration -> container: the goods were declared in the container")
    MENTIONED_IN_REPORT = ("mentioned_in_report", "node -> node: both named in one intelligence report")
    SAME_AS = ("same_as", "node -> node: two records resolved as the same real-world entity")


# Identifiers that, shared by two companies, tie them more than business does (rings.py scores them).
SHARED_IDENTIFIER_KINDS = frozenset({EdgeKind.DIRECTOR_OF, EdgeKind.HAS_ADDRESS, EdgeKind.HAS_PHONE,
                                     EdgeKind.HAS_EMAIL, EdgeKind.HAS_ACCOUNT})


def _few(values: Iterable[object]) -> str:
    shown = [str(v) for v in list(values)[:MISSING_SHOWN]]
    return ", ".join(shown)


def _check_columns(frame: pl.DataFrame, required: Iterable[str], what: str) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise NetworkError(f"{what} frame lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns)}")


def _check_kinds(values: pl.Series, allowed: type[CodeList], what: str) -> None:
    unknown = sorted(set(values.unique().drop_nulls().to_list()) - set(allowed.codes()))
    if unknown or values.null_count():
        shown = _few(unknown) if unknown else "null"
        raise NetworkError(f"unknown {what} kind(s): {shown}; expected one of {', '.join(allowed.codes())}")


def _prepare_nodes(nodes: pl.DataFrame) -> pl.DataFrame:
    _check_columns(nodes, NODE_COLUMNS, "nodes")
    _check_kinds(nodes["kind"], NodeKind, "node")
    if nodes["node_id"].null_count():
        raise NetworkError("nodes frame has a null node_id")
    dup = nodes["node_id"].filter(nodes["node_id"].is_duplicated()).unique()
    if dup.len():
        raise NetworkError(f"{dup.len()} node_id(s) appear more than once in nodes, e.g. {_few(dup.sort())}")
    extra = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in FLAG_COLUMNS.items() if name not in nodes.columns]
    out = nodes.with_columns(extra) if extra else nodes
    return out.with_columns(pl.col("seized").fill_null(False), pl.col("watchlisted").fill_null(False))


def _prepare_edges(edges: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Edges with integer endpoints ``s``/``t``, duplicates (src, dst, kind) merged: earliest date and its
    provenance kept, ``weight`` summed (= the number of records when weights default to 1),
    ``records`` counted."""
    _check_columns(edges, EDGE_COLUMNS, "edges")
    _check_kinds(edges["kind"], EdgeKind, "edge")
    extra = [pl.lit(None, dtype=dtype).alias(name) for name, dtype in EDGE_DEFAULTS.items()
             if name not in edges.columns]
    if "weight" not in edges.columns:
        extra.append(pl.lit(1.0).alias("weight"))
    e = edges.with_columns(extra).with_columns(pl.col("weight").cast(pl.Float64).fill_null(1.0))
    e = (e.join(ids.rename({"node_id": "src", "index": "s"}), on="src", how="left")
         .join(ids.rename({"node_id": "dst", "index": "t"}), on="dst", how="left"))
    bad = e.filter(pl.col("s").is_null() | pl.col("t").is_null())
    if bad.height:
        missing = pl.concat([bad.filter(pl.col("s").is_null())["src"], bad.filter(pl.col("t").is_null())["dst"]])
        missing = missing.unique().sort()
        raise NetworkError(f"{bad.height} edge(s) name node(s) absent from nodes: {missing.len()} id(s), "
                           f"e.g. {_few(missing)}")
    e = e.sort("date", nulls_last=True, maintain_order=True)
    merged = e.group_by("s", "t", "kind", maintain_order=True).agg(
        pl.col("src").first(), pl.col("dst").first(), pl.col("date").first(),
        pl.col("source_kind").first(), pl.col("source_key").first(),
        pl.col("weight").sum(), pl.len().cast(pl.Int64).alias("records"))
    return merged.select("src", "dst", "kind", "date", "source_kind", "source_key", "weight", "records", "s", "t")


def csr_positions(indptr: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Positions in the CSR arrays (``EntityGraph.csr``) of every adjacency entry of ``vertices``: their
    ranges ``indptr[v]:indptr[v+1]`` concatenated, without a Python loop."""
    starts = indptr[vertices]
    lengths = indptr[vertices + 1] - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    offsets = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    return offsets + np.arange(total, dtype=np.int64)


class EntityGraph:
    """The entity graph: ``nodes`` (row i = vertex i) and ``edges`` (row j = edge j, with integer endpoints
    ``s``/``t``), analysed as undirected. Build it with ``from_frames``; the indexes are built on first use."""

    def __init__(self, nodes: pl.DataFrame, edges: pl.DataFrame) -> None:
        self.nodes = nodes
        self.edges = edges

    @classmethod
    def from_frames(cls, nodes: pl.DataFrame, edges: pl.DataFrame) -> EntityGraph:
        """The graph of the store's frames. Raises ``NetworkError`` on a missing column, an unknown kind, a
        duplicate node id or an edge naming a node that ``nodes`` does not hold (a few ids listed)."""
        n = _prepare_nodes(nodes)
        ids = n.select("node_id", pl.int_range(pl.len(), dtype=pl.Int64).alias("index"))
        e = _prepare_edges(edges, ids)
        log.debug("entity graph: %d nodes, %d edges (%d records)", n.height, e.height, edges.height)
        return cls(n, e)

    # ---- sizes and lookups -------------------------------------------------------------------------------------

    @property
    def n_nodes(self) -> int:
        return self.nodes.height

    @property
    def n_edges(self) -> int:
        return self.edges.height

    @cached_property
    def _index(self) -> dict[str, int]:
        return dict(zip(self.nodes["node_id"].to_list(), range(self.nodes.height), strict=True))

    def index_of(self, node_id: str) -> int:
        """The vertex index of ``node_id``; ``NetworkError`` if the graph does not hold it."""
        try:
            return self._index[node_id]
        except KeyError:
            raise NetworkError(f"node {node_id!r} is not in the graph ({self.n_nodes} nodes)") from None

    def indices_of(self, node_ids: pl.Series | Iterable[str]) -> np.ndarray:
        """Vertex indices of many node ids at once; ``NetworkError`` listing a few unknown ones."""
        ids = node_ids if isinstance(node_ids, pl.Series) else pl.Series(list(node_ids), dtype=pl.String)
        looked = ids.to_frame("node_id").join(
            self.nodes.select("node_id", pl.int_range(pl.len(), dtype=pl.Int64).alias("index")),
            on="node_id", how="left", maintain_order="left")
        unknown = looked.filter(pl.col("index").is_null())["node_id"]
        if unknown.len():
            raise NetworkError(f"{unknown.len()} node id(s) not in the graph, e.g. {_few(unknown.unique().sort())}")
        return looked["index"].to_numpy()

    def node_ids(self, index: np.ndarray) -> list[str]:
        return self.nodes["node_id"].gather(index).to_list()

    # ---- integer arrays ----------------------------------------------------------------------------------------

    @cached_property
    def endpoints(self) -> tuple[np.ndarray, np.ndarray]:
        """(s, t): the vertex indices of every edge's src and dst."""
        return self.edges["s"].to_numpy(), self.edges["t"].to_numpy()

    @cached_property
    def edge_kinds(self) -> list[str]:
        """The edge kinds present, in the order of ``edge_kind_codes``."""
        return sorted(self.edges["kind"].unique().to_list())

    @cached_property
    def edge_kind_codes(self) -> np.ndarray:
        """Per edge, the position of its kind in ``edge_kinds`` (int16)."""
        if not self.n_edges:
            return np.zeros(0, dtype=np.int16)
        return self.edges["kind"].cast(pl.Enum(self.edge_kinds)).to_physical().to_numpy().astype(np.int16)

    @cached_property
    def edge_days(self) -> np.ndarray:
        """Per edge, its date as days since 1970-01-01 (int32); ``NO_DATE`` when undated."""
        return self.edges["date"].cast(pl.Int32).fill_null(NO_DATE).to_numpy()

    def kind_codes(self, kinds: Iterable[str]) -> np.ndarray:
        """The codes of ``kinds`` (kinds absent from the graph match nothing); ``NetworkError`` on a kind
        that is not an ``EdgeKind``."""
        wanted = {str(k) for k in kinds}
        unknown = wanted - set(EdgeKind.codes())
        if unknown:
            raise NetworkError(f"unknown edge kind(s): {_few(sorted(unknown))}")
        return np.array([i for i, k in enumerate(self.edge_kinds) if k in wanted], dtype=np.int16)

    @cached_property
    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indptr, neighbour, edge): the neighbours of vertex v are ``neighbour[indptr[v]:indptr[v+1]]``,
        reached through edges ``edge[...]``; each edge is listed from both ends."""
        s, t = self.endpoints
        n, m = self.n_nodes, self.n_edges
        ends = np.concatenate([s, t])
        order = np.argsort(ends, kind="stable")
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends, minlength=n), out=indptr[1:])
        dtype = np.int32 if max(n, m) < np.iinfo(np.int32).max else np.int64
        neighbour = np.concatenate([t, s]).astype(dtype)[order]
        edge = (order % m).astype(dtype) if m else np.zeros(0, dtype=dtype)
        return indptr, neighbour, edge

    @cached_property
    def degree(self) -> np.ndarray:
        """Per vertex, the number of edges touching it (all kinds, all dates; a self-loop counts twice)."""
        return np.diff(self.csr[0])

    @cached_property
    def graph(self) -> ig.Graph:
        """The undirected igraph graph: vertex i = nodes row i, edge j = edges row j, attribute ``weight``."""
        s, t = self.endpoints
        g = ig.Graph(n=self.n_nodes, directed=False)
        g.add_edges(list(zip(s.tolist(), t.tolist(), strict=True)))
        g.es["weight"] = self.edges["weight"].to_list()
        return g

    # ---- views -------------------------------------------------------------------------------------------------

    def subgraph_edges(self, keep: np.ndarray) -> EntityGraph:
        """The same nodes with only the edges where ``keep`` (a boolean array over edges) is true."""
        return EntityGraph(self.nodes, self.edges.filter(pl.Series(keep)))

    def as_of(self, day: date) -> EntityGraph:
        """The graph as it was known on the morning of ``day``: edges dated before ``day`` or undated;
        every node is kept (a node without edges yet is isolated)."""
        days = self.edge_days
        cut = (day - date(1970, 1, 1)).days
        return self.subgraph_edges(days < cut)

    def with_edge_kinds(self, kinds: Iterable[str] | None) -> EntityGraph:
        """The same nodes with only edges of ``kinds`` (None: all)."""
        if kinds is None:
            return self
        return self.subgraph_edges(np.isin(self.edge_kind_codes, self.kind_codes(kinds)))

    def __repr__(self) -> str:
        return f"EntityGraph({self.n_nodes} nodes, {self.n_edges} edges)"
