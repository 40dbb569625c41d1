"""Network features of a declaration's importer: how close it sits to parties already caught or listed.

Computed per ISO week, as of the Monday of the declaration's week: only links dated before that day
and seeds (an inspection's finding, a watch-list entry) known before it count, so a declaration never
learns from its own inspection or a later one. Resolved identities themselves are timeless: that two
records name one company is a fact about the company, not an event.

- ``network_risk``: risk spread from the seeds by personalised PageRank with decay over time
  (`cintel.network.propagation`), 0 when nothing risky is near.
- ``network_hops_to_offender``: ties to the nearest seed (null when none within reach).
- ``network_offender_links``: identifiers (director, address, phone, e-mail, account) the importer
  shares with a caught or listed company, each weighted by how telling it is (`cintel.network.ties`:
  a phone two companies share counts more than a director's name fifteen share).
- ``network_tied_companies``: companies tied to the importer by shared identifiers strongly enough to
  be one ring (`cintel.network.ties`), whether or not any of them was caught yet.

Without a resolved network (``History.network`` None) every column is null: models and rules then
work as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import polars as pl

from cintel.network.graph import EntityGraph, NodeKind
from cintel.network.propagation import propagate_risk
from cintel.network.ties import MIN_TIE, company_ties, weighted_links

NETWORK_COLUMNS: dict[str, pl.DataType] = {
    "network_risk": pl.Float64(), "network_hops_to_offender": pl.Int64(), "network_offender_links": pl.Float64(),
    "network_tied_companies": pl.Int64(),
}


@dataclass(frozen=True)
class NetworkContext:
    """The party graph, the dated seeds and which entity each importer key names."""

    graph: EntityGraph  # parties and the identifiers, directors, payments and reports tying them
    seeds: pl.DataFrame  # node_id, weight, date
    importers: pl.DataFrame  # importer_key, node_id
    half_life_days: float = 180.0
    _weeks: dict[date, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def week(self, as_of: date) -> pl.DataFrame:
        """Per company node, the network columns as of ``as_of`` (computed once per week, then reused)."""
        if as_of not in self._weeks:
            self._weeks[as_of] = _week_table(self, as_of)
        return self._weeks[as_of]


def _week_table(context: NetworkContext, as_of: date) -> pl.DataFrame:
    graph = context.graph.as_of(as_of)
    known = context.seeds.filter(pl.col("date") < as_of)
    companies = graph.nodes.filter(pl.col("kind") == NodeKind.COMPANY.value).select("node_id")
    if known.height:
        risk = propagate_risk(context.graph, known, as_of=as_of, half_life_days=context.half_life_days).select(
            "node_id", pl.col("risk").alias("network_risk"),
            pl.col("hops_to_seed").cast(pl.Int64).alias("network_hops_to_offender"))
        links = weighted_links(graph)
        offenders = links.join(known.select(pl.col("node_id").alias("offender")).unique(),
                               left_on="company", right_on="offender").select("thing", offender="company")
        shared = (links.join(offenders, on="thing").filter(pl.col("company") != pl.col("offender"))
                  .unique(["company", "thing"]).group_by(pl.col("company").alias("node_id"))
                  .agg(pl.col("w").sum().alias("network_offender_links")))
    else:
        risk = pl.DataFrame(schema={"node_id": pl.String, "network_risk": pl.Float64,
                                    "network_hops_to_offender": pl.Int64})
        shared = pl.DataFrame(schema={"node_id": pl.String, "network_offender_links": pl.Float64})
    ties = company_ties(graph).filter(pl.col("tie") >= MIN_TIE)
    tied = (pl.concat([ties.select(node_id="a"), ties.select(node_id="b")]).group_by("node_id")
            .agg(pl.len().cast(pl.Int64).alias("network_tied_companies")))
    return (companies.join(risk, on="node_id", how="left").join(shared, on="node_id", how="left")
            .join(tied, on="node_id", how="left")
            .with_columns(pl.col("network_risk").fill_null(0.0), pl.col("network_offender_links").fill_null(0.0),
                          pl.col("network_tied_companies").fill_null(0)))


def network_features(context: NetworkContext | None, frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` (with ``importer_key`` and ``declaration_date``) with the NETWORK_COLUMNS added, in order."""
    if context is None or frame.is_empty():
        return frame.with_columns(*[pl.lit(None, dtype=t).alias(n) for n, t in NETWORK_COLUMNS.items()])
    keyed = frame.with_row_index("_row").with_columns(
        _week=pl.col("declaration_date").dt.truncate("1w")).join(context.importers, on="importer_key", how="left")
    parts = [keyed.filter(pl.col("_week").is_null() | pl.col("node_id").is_null())]
    for week in keyed.get_column("_week").drop_nulls().unique().sort().to_list():
        rows = keyed.filter((pl.col("_week") == week) & pl.col("node_id").is_not_null())
        if rows.height:
            parts.append(rows.join(context.week(week), on="node_id", how="left"))
    out = pl.concat(parts, how="diagonal_relaxed").sort("_row")
    # An importer known to the network but far from every risk has risk 0; one it cannot place stays null.
    return out.select(*frame.columns, *[pl.col(n).cast(t) if n in out.columns else pl.lit(None, dtype=t).alias(n)
                                        for n, t in NETWORK_COLUMNS.items()])
