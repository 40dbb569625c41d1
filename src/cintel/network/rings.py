"""Rings: communities that look like one organisation behind several "different" companies.

A community (from ``communities``) is a candidate ring when it has between ``min_size`` and ``max_size``
companies and persons, at least two companies, and at least one shared identifier: a director, address,
phone, e-mail or bank account tied to two or more of its companies (``SHARED_IDENTIFIER_KINDS``). Huge
communities are trading ecosystems, not rings, hence ``max_size``.

Candidates are ranked by a score in [0, 1], every part normalised by size so that large communities do
not win by bulk:

- ``ties`` (weight ``W_TIES``): the share of company pairs that share at least one identifier;
- ``variety`` (``W_VARIETY``): distinct kinds of shared identifier (director, address, phone, ...) over
  ``VARIETY_FULL``, capped at 1 - sharing a director *and* an address *and* a phone is rarely chance;
- ``flags`` (``W_FLAGS``): (seized + ``WATCHLIST_FACTOR`` * watch-listed members) / members, capped at 1;
- ``young`` (``W_YOUNG``): the share of companies first seen within ``YOUNG_DAYS`` before ``as_of``
  (default: the latest ``first_seen`` in the graph) - front companies are young.

The weighted sum is scaled by ``companies / SIZE_FULL`` (at most 1): two companies that share a phone
are worth a look, but less than three that do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from cintel.network.graph import SHARED_IDENTIFIER_KINDS, EdgeKind, EntityGraph, NetworkError, NodeKind

W_TIES, W_VARIETY, W_FLAGS, W_YOUNG = 0.4, 0.2, 0.25, 0.15
VARIETY_FULL = 3  # this many distinct kinds of shared identifier score the full variety part
WATCHLIST_FACTOR = 0.5  # a watch-list hit counts as half a seizure
YOUNG_DAYS = 730
SIZE_FULL = 3  # a pair of companies is a weaker ring than three: its score is scaled by companies / SIZE_FULL
SUMMARY_IDENTIFIERS = 3  # identifiers named in a ring's summary
MEMBER_KINDS = (NodeKind.COMPANY.value, NodeKind.PERSON.value)
PHRASE = {EdgeKind.DIRECTOR_OF.value: "director", EdgeKind.HAS_ADDRESS.value: "address",
          EdgeKind.HAS_PHONE.value: "phone", EdgeKind.HAS_EMAIL.value: "e-mail", EdgeKind.HAS_ACCOUNT.value: "account"}
KIND_ORDER = list(PHRASE)


@dataclass(frozen=True)
class Ring:
    """A ranked candidate ring: ``members`` (company and person nodes: node_id, kind, label, seized,
    watchlisted, first_seen), ``evidence`` (one row per pair of member companies and identifier they share,
    with both edges' provenance), a one-line ``summary`` and the ``parts`` of the ``score``."""

    ring_id: str
    community: int
    score: float
    members: pl.DataFrame
    evidence: pl.DataFrame
    summary: str
    parts: dict[str, float] = field(default_factory=dict)


def _links(g: EntityGraph) -> pl.DataFrame:
    """Company -> identifier links of the shared-identifier kinds, whichever way the edge points."""
    kinds = g.nodes.select("node_id", "kind", "label")
    e = (g.edges.filter(pl.col("kind").is_in(sorted(SHARED_IDENTIFIER_KINDS)))
         .select("src", "dst", pl.col("kind").alias("edge_kind"), "date", "source_kind", "source_key")
         .join(kinds.rename({"node_id": "src", "kind": "src_kind", "label": "src_label"}), on="src")
         .join(kinds.rename({"node_id": "dst", "kind": "dst_kind", "label": "dst_label"}), on="dst"))
    company = NodeKind.COMPANY.value
    rest = ["edge_kind", "date", "source_kind", "source_key"]
    forward = e.filter((pl.col("src_kind") == company) & (pl.col("dst_kind") != company)).select(
        pl.col("src").alias("company"), pl.col("dst").alias("identifier"), pl.col("dst_kind").alias("identifier_kind"),
        pl.col("dst_label").alias("identifier_label"), *rest)
    backward = e.filter((pl.col("dst_kind") == company) & (pl.col("src_kind") != company)).select(
        pl.col("dst").alias("company"), pl.col("src").alias("identifier"), pl.col("src_kind").alias("identifier_kind"),
        pl.col("src_label").alias("identifier_label"), *rest)
    return pl.concat([forward, backward]).sort("date", nulls_last=True).unique(
        ["company", "identifier"], keep="first", maintain_order=True)


def _evidence(links: pl.DataFrame, labels: pl.DataFrame) -> pl.DataFrame:
    """Pairs of companies of one community sharing an identifier (company_a < company_b)."""
    shared = links.group_by("community", "identifier").agg(pl.len().alias("n")).filter(pl.col("n") >= 2)
    tied = links.join(shared.select("community", "identifier"), on=["community", "identifier"], how="semi")
    right = tied.select("community", "identifier", pl.col("company").alias("company_b"),
                        pl.col("date").alias("date_b"), pl.col("source_kind").alias("source_kind_b"),
                        pl.col("source_key").alias("source_key_b"))
    pairs = tied.join(right, on=["community", "identifier"]).filter(pl.col("company") < pl.col("company_b"))
    named = labels.rename({"node_id": "company", "label": "company_label"})
    return (pairs.join(named, on="company", how="left")
            .join(named.rename({"company": "company_b", "company_label": "company_b_label"}), on="company_b",
                  how="left")
            .select("community", pl.col("company").alias("company_a"), pl.col("company_label").alias("company_a_label"),
                    "company_b", "company_b_label", "identifier", "identifier_kind", "identifier_label", "edge_kind",
                    pl.max_horizontal("date", "date_b").alias("date"),
                    pl.col("source_kind").alias("source_kind_a"), pl.col("source_key").alias("source_key_a"),
                    "source_kind_b", "source_key_b")
            .sort("community", "company_a", "company_b", "identifier"))


def _summary(members: pl.DataFrame, evidence: pl.DataFrame) -> str:
    companies = members.filter(pl.col("kind") == NodeKind.COMPANY.value)
    n = companies.height
    first, last = companies["first_seen"].min(), companies["first_seen"].max()
    if companies["first_seen"].null_count() == 0 and isinstance(first, date) and isinstance(last, date):
        span = (last - first).days
        months = max(1, math.ceil(span / 30.44))
        head = f"{n} companies registered within {months} month{'s' if months > 1 else ''}"
    else:
        head = f"{n} companies"
    shared = (evidence.group_by("identifier", "identifier_label", "edge_kind")
              .agg(pl.concat_list("company_a", "company_b").explode().n_unique().alias("companies"))
              .with_columns(pl.col("edge_kind").replace_strict(KIND_ORDER, list(range(len(KIND_ORDER))),
                                                               default=len(KIND_ORDER)).alias("order"))
              .sort(["companies", "order", "identifier"], descending=[True, False, False])
              .unique("edge_kind", keep="first", maintain_order=True)
              .head(SUMMARY_IDENTIFIERS))
    phrases = [f"{PHRASE.get(r['edge_kind'], r['edge_kind'])} {r['identifier_label']}"
               + ("" if r["companies"] == n else f" ({r['companies']} of them)")
               for r in shared.iter_rows(named=True)]
    text = head + " share " + (", ".join(phrases[:-1]) + " and " + phrases[-1] if len(phrases) > 1 else phrases[0])
    flags = []
    if (seized := int(members["seized"].sum())) > 0:
        flags.append(f"{seized} seized")
    if (listed := int(members["watchlisted"].sum())) > 0:
        flags.append(f"{listed} watch-listed")
    return text + ("; " + ", ".join(flags) if flags else "")


def rings(g: EntityGraph, comms: pl.DataFrame, *, min_size: int = 3, max_size: int = 200, top: int = 20,
          as_of: date | None = None) -> list[Ring]:
    """The ``top`` communities of ``comms`` (``node_id``, ``community``) most likely to be fraud rings,
    best first (see the module docstring for the score). ``as_of`` dates the "young company" part
    (default: the latest ``first_seen`` in the graph)."""
    missing = [c for c in ("node_id", "community") if c not in comms.columns]
    if missing:
        raise NetworkError(f"communities frame lacks column(s) {', '.join(missing)}")
    nodes = g.nodes.select("node_id", "kind", "label", "seized", "watchlisted", "first_seen")
    if as_of is None:
        latest = nodes["first_seen"].max()
        as_of = latest if isinstance(latest, date) else date.today()
    young_since = as_of - timedelta(days=YOUNG_DAYS)
    members = (comms.select("node_id", pl.col("community").cast(pl.Int64))
               .join(nodes, on="node_id").filter(pl.col("kind").is_in(MEMBER_KINDS)))
    is_company = pl.col("kind") == NodeKind.COMPANY.value
    stats = (members.group_by("community").agg(
        pl.len().alias("n_members"), is_company.sum().alias("n_companies"),
        pl.col("seized").sum().alias("seized"), pl.col("watchlisted").sum().alias("watchlisted"),
        (is_company & (pl.col("first_seen") >= young_since)).sum().alias("young"))
        .filter(pl.col("n_members").is_between(min_size, max_size) & (pl.col("n_companies") >= 2)))
    company_community = members.filter(is_company).select("node_id", "community").join(
        stats.select("community"), on="community", how="semi")
    links = _links(g).join(company_community.rename({"node_id": "company"}), on="company")
    evidence = _evidence(links, nodes.select("node_id", "label"))
    ties = (evidence.select("community", "company_a", "company_b").unique().group_by("community")
            .agg(pl.len().alias("tied_pairs")))
    variety = evidence.group_by("community").agg(pl.col("edge_kind").n_unique().alias("kinds"))
    pairs = pl.col("n_companies") * (pl.col("n_companies") - 1) / 2
    scored = (stats.join(ties, on="community").join(variety, on="community")
              .with_columns((pl.col("tied_pairs") / pairs).alias("ties"),
                            (pl.col("kinds") / VARIETY_FULL).clip(upper_bound=1.0).alias("variety"),
                            ((pl.col("seized") + WATCHLIST_FACTOR * pl.col("watchlisted")) / pl.col("n_members"))
                            .clip(upper_bound=1.0).alias("flags"),
                            (pl.col("young") / pl.col("n_companies")).alias("young"))
              .with_columns(((W_TIES * pl.col("ties") + W_VARIETY * pl.col("variety") + W_FLAGS * pl.col("flags")
                              + W_YOUNG * pl.col("young"))
                             * (pl.col("n_companies") / SIZE_FULL).clip(upper_bound=1.0)).alias("score"))
              .sort(["score", "community"], descending=[True, False]).head(top))
    out = []
    for row in scored.iter_rows(named=True):
        c = row["community"]
        ring_members = members.filter(pl.col("community") == c).drop("community").sort("kind", "node_id")
        ring_evidence = evidence.filter(pl.col("community") == c).drop("community")
        out.append(Ring(ring_id=f"ring-{c}", community=c, score=float(row["score"]), members=ring_members,
                        evidence=ring_evidence, summary=_summary(ring_members, ring_evidence),
                        parts={k: float(row[k]) for k in ("ties", "variety", "flags", "young")}))
    return out


# ---- a ring as the pages show it ----------------------------------------------------------------------------------

# The provenance of a tie in an analyst's words (an identifier tie comes from the party records themselves).
SOURCE_WORDS = {"parties": "company register", "declarations": "declaration", "financial": "payment",
                "intel_reports": "intelligence report", "entity_records": None}


def _source(kind: str | None, key: str | None) -> str:
    words = SOURCE_WORDS.get(kind or "", kind)
    return f"{words} {key}" if words else "the companies' own records"


def ring_ties(ring: Ring) -> list[dict[str, Any]]:
    """What ties the ring, one row per shared identifier (most companies first): ``kind`` in words
    ("director", "phone"), ``label``, the ``companies`` sharing it (labels), ``since`` (the earliest tie) and
    ``sources`` in words ("company register NL123", "the companies' own records")."""
    e = ring.evidence
    sides = pl.concat([
        e.select("identifier", "identifier_label", "edge_kind", pl.col("company_a_label").alias("company"), "date",
                 pl.col("source_kind_a").alias("source_kind"), pl.col("source_key_a").alias("source_key")),
        e.select("identifier", "identifier_label", "edge_kind", pl.col("company_b_label").alias("company"), "date",
                 pl.col("source_kind_b").alias("source_kind"), pl.col("source_key_b").alias("source_key"))])
    out = []
    for (identifier, label, kind), part in sides.group_by("identifier", "identifier_label", "edge_kind"):
        companies = sorted({str(c) for c in part["company"].drop_nulls().to_list()})
        sources = sorted({_source(k, v) for k, v in part.select("source_kind", "source_key").iter_rows()})
        out.append({"identifier": identifier, "kind": PHRASE.get(str(kind), str(kind)), "edge_kind": kind,
                    "label": label or identifier, "companies": companies, "since": part["date"].min(),
                    "sources": sources})
    order = {k: i for i, k in enumerate(KIND_ORDER)}
    return sorted(out, key=lambda t: (-len(t["companies"]), order.get(t["edge_kind"], len(order)), t["identifier"]))


def ring_elements(ring: Ring) -> dict[str, list[dict[str, Any]]]:
    """The ring drawn as Cytoscape.js elements: its member companies (with ``entity_id``, ``caught`` and
    ``listed``) and the identifiers they share, one edge per company and identifier it shares (a director's
    edge runs person -> company, as in the entity graph). JSON-ready."""
    nodes: dict[str, dict[str, Any]] = {}
    for m in ring.members.iter_rows(named=True):
        nodes[m["node_id"]] = {"id": m["node_id"], "label": m["label"] or m["node_id"], "kind": m["kind"],
                               "member": True, "caught": bool(m["seized"]), "listed": bool(m["watchlisted"]),
                               "entity_id": m["node_id"].removeprefix("entity:")
                               if m["node_id"].startswith("entity:") else None}
    e = ring.evidence
    links = pl.concat([e.select(pl.col("company_a").alias("company"), "identifier", "identifier_kind",
                                "identifier_label", "edge_kind", "date"),
                       e.select(pl.col("company_b").alias("company"), "identifier", "identifier_kind",
                                "identifier_label", "edge_kind", "date")])
    links = links.group_by("company", "identifier", "identifier_kind", "identifier_label", "edge_kind").agg(
        pl.col("date").min()).sort("identifier", "company")
    edges = []
    for n, row in enumerate(links.iter_rows(named=True)):
        identifier = row["identifier"]
        if identifier not in nodes:
            nodes[identifier] = {"id": identifier, "label": row["identifier_label"] or identifier,
                                 "kind": row["identifier_kind"], "member": False, "caught": False, "listed": False,
                                 "entity_id": identifier.removeprefix("entity:")
                                 if identifier.startswith("entity:") else None}
        director = row["edge_kind"] == EdgeKind.DIRECTOR_OF.value
        source, target = (identifier, row["company"]) if director else (row["company"], identifier)
        edges.append({"data": {"id": f"{ring.ring_id}-e{n}", "source": source, "target": target,
                               "kind": row["edge_kind"], "date": row["date"].isoformat() if row["date"] else None}})
    return {"nodes": [{"data": d} for d in nodes.values()], "edges": edges}
