"""The network context the risk features read: the party graph of the store, its dated seeds, and which
entity each importer key of a declaration names.

It lives in ``risk`` (which reads the network), not in ``network``: the network package depends on nothing of
risk, so the two never import each other."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine, func, select

from cintel.network.service import party_graph
from cintel.network.store_graph import load_network
from cintel.risk.features_history import importer_key
from cintel.risk.features_network import NetworkContext
from cintel.settings import get_settings
from cintel.store.entity_tables import entity_records
from cintel.store.frames import load_table


def importer_keys(records: pl.DataFrame) -> pl.DataFrame:
    """``importer_key`` (as the risk features key importers: the identifier, else "name:" and the lower-cased
    name) -> ``node_id`` of the entity most of the records giving that key belong to."""
    keyed = (records.drop_nulls("entity_id").rename({"tax_id": "importer_id", "name": "importer_name"})
             .select(importer_key().alias("importer_key"), "entity_id").drop_nulls())
    return (keyed.group_by("importer_key", "entity_id").len()
            .sort(["importer_key", "len", "entity_id"], descending=[False, True, False])
            .unique("importer_key", keep="first", maintain_order=True)
            .select("importer_key", (pl.lit("entity:") + pl.col("entity_id")).alias("node_id")))


def network_context(engine: Engine) -> NetworkContext | None:
    """The context of the store's resolved network; None when no entity has been resolved yet."""
    with engine.connect() as conn:
        resolved = conn.execute(select(func.count()).select_from(entity_records)
                                .where(entity_records.c.entity_id.is_not(None))).scalar_one()
    if not resolved:
        return None
    network = load_network(engine)
    graph = party_graph(network.graph)
    # Listed vessels are seeds of the whole network, but the party graph the features read has no vessels.
    seeds = network.seeds.join(graph.nodes.select("node_id"), on="node_id", how="semi")
    return NetworkContext(graph=graph, seeds=seeds.select("node_id", "weight", "date"),
                          importers=importer_keys(load_table(engine, entity_records)),
                          half_life_days=get_settings().network_half_life_days)
