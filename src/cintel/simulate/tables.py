"""Assembling the declarations and parties files and their ground truth from the draft.

Names on declarations are the spellings chosen per mention (see ``noise``); identifiers are
omitted where real declarations omit them (exporters often have none, private persons never).
The truth tables say what really happened: scheme, true value, heading, origin, entities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cintel.domain.codes import DeclarationType
from cintel.domain.records import DECLARATIONS, PARTIES
from cintel.simulate.actors import Actors, Consumers
from cintel.simulate.catalogue import (
    CONCEALMENT_COVERS,
    DISCHARGE_PORTS,
    IMPORTING_COUNTRY,
    MODE_OFFICES,
    PARTNERS,
    catalogue,
)
from cintel.simulate.config import Scheme, SimulationConfig, WatchlistConfig
from cintel.simulate.declarations import SEA, Draft
from cintel.simulate.items import CURRENCIES, INCOTERM_CODES
from cintel.simulate.noise import choose_variants, variant_names
from cintel.simulate.routes import Lanes
from cintel.simulate.sampling import date_strings, in_format, lookup
from cintel.simulate.transport import PORTS, Transport
from cintel.simulate.valuation import Valuation

_CODES = np.array([p.code for p in PARTNERS])
SCHEME_NAMES = np.array([""] + [s.value for s in Scheme])
_HIDDEN = np.array([v[1] for v in CONCEALMENT_COVERS.values()])


@dataclass(frozen=True)
class Mentions:
    """How each declaration names its parties (reused by manifests and financial records)."""

    declaration_id: pl.Series
    importer_name: pl.Series
    exporter_name: pl.Series
    importer_entity: pl.Series
    exporter_entity: pl.Series  # true exporter
    declared_exporter_entity: pl.Series


def declaration_ids(rng: np.random.Generator, draft: Draft) -> pl.Series:
    """MRN-style references: 2-digit year, 'NL', 14 digits increasing with the lodging date."""
    order = np.argsort(draft.date, kind="stable")
    seq = np.empty(draft.n, dtype=np.int64)
    seq[order] = np.arange(draft.n) * 7 + rng.integers(0, 7, draft.n) + 10_000_000
    year = pl.Series(draft.date).cast(pl.Int32).cast(pl.Date).dt.year() % 100
    return year.cast(pl.String).str.zfill(2) + "NL" + pl.Series(seq).cast(pl.String).str.zfill(14)


def mention_names(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors,
                  consumers: Consumers, ids: pl.Series) -> Mentions:
    """Choose, per declaration, the spelling of the importer's and the exporter's names."""
    wl = config.scheme(Scheme.WATCHLISTED_PARTY)
    assert isinstance(wl, WatchlistConfig)
    register_entity = actors.register["entity_id"]
    business = ~draft.person
    imp_rate = np.where(actors.importer_watch[draft.trader] & business, wl.noise_rate, config.name_noise_rate)
    imp_variant = choose_variants(rng, draft.importer, imp_rate)
    company = variant_names(actors.variants, np.maximum(draft.importer_row, 0), imp_variant)
    consumer = np.where(draft.person, draft.importer, 0)
    person = variant_names(consumers.variants, consumer, imp_variant)
    exp_rows = actors.exporter_row[draft.declared_exporter]
    exp_rate = np.where(actors.exporter_watch[draft.declared_exporter], wl.noise_rate, config.name_noise_rate)
    exporter = variant_names(actors.variants, exp_rows, choose_variants(rng, exp_rows, exp_rate))
    is_person = pl.Series(draft.person)
    return Mentions(
        declaration_id=ids,
        importer_name=pl.select(pl.when(is_person).then(person).otherwise(company)).to_series(),
        exporter_name=exporter,
        importer_entity=pl.select(pl.when(is_person).then(consumers.entity_id.gather(consumer))
                                  .otherwise(register_entity.gather(np.maximum(draft.importer_row, 0)))
                                  ).to_series(),
        exporter_entity=register_entity.gather(actors.exporter_row[draft.exporter]),
        declared_exporter_entity=register_entity.gather(exp_rows),
    )


def declarations_frame(rng: np.random.Generator, draft: Draft, actors: Actors, consumers: Consumers,
                       lanes: Lanes, transport: Transport, valuation: Valuation, mentions: Mentions) -> pl.DataFrame:
    """The declarations file: one row per item, header fields repeated, columns as DECLARATIONS."""
    cat = catalogue()
    n = draft.n
    register = actors.register
    business = ~draft.person
    importer_row = np.where(business, draft.importer_row, -1)
    broker = actors.importer_broker[draft.trader]
    declarant = np.where(broker >= 0, actors.broker_row[np.maximum(broker, 0)], importer_row)
    declarant = np.where(business, declarant, -1)  # the postal operator declares parcels
    # Office: the port of discharge's for sea, the mode's office otherwise.
    offices = [office for _, office in DISCHARGE_PORTS.values()] + list(MODE_OFFICES.values())
    port_office = {PORTS.index(p): i for i, p in enumerate(DISCHARGE_PORTS)}
    mode_office = {int(mode.value): len(DISCHARGE_PORTS) + i for i, mode in enumerate(MODE_OFFICES)}
    by_port = np.full(len(PORTS) + 1, -1)
    for port, i in port_office.items():
        by_port[port] = i
    by_mode = np.array([mode_office.get(m, 0) for m in range(10)])
    office = np.where((draft.mode == SEA) & (transport.discharge >= 0), by_port[transport.discharge],
                      by_mode[draft.mode])
    # Many declarations leave the exporter's identifier out.
    exporter_row = np.where(rng.random(n) < 0.8, actors.exporter_row[draft.declared_exporter], -1)
    header = pl.DataFrame({
        "declaration_id": mentions.declaration_id,
        "declaration_date": date_strings(draft.date),
        "declaration_type": DeclarationType.IMPORT.value,
        "office_code": lookup(offices, office),
        "importer_id": lookup(register["party_id"], importer_row),
        "importer_name": mentions.importer_name,
        "importer_country": IMPORTING_COUNTRY,
        "exporter_name": mentions.exporter_name,
        "exporter_country": lookup(_CODES, actors.exporter_partner[draft.declared_exporter]),
        "declarant_id": lookup(register["party_id"], declarant),
        "country_of_dispatch": lookup(_CODES, draft.declared_partner),
        "port_of_loading": lookup(PORTS, transport.loading),
        "port_of_discharge": lookup(PORTS, transport.discharge),
        "transport_mode": pl.Series(draft.mode).cast(pl.String),
        "vessel_imo": lookup(lanes.vessels["imo"], transport.vessel),
        "invoice_currency": lookup(CURRENCIES, draft.currency),
        "incoterm": lookup(INCOTERM_CODES, draft.incoterm),
        "importer_address": pl.select(pl.when(pl.Series(draft.person)).then(
            consumers.addresses.gather(np.where(draft.person, draft.importer, 0)))
            .otherwise(lookup(register["address"], importer_row))).to_series(),
        "exporter_id": lookup(register["party_id"], exporter_row),
        "voyage": transport.voyage,
        "transshipment_ports": lookup(PORTS, transport.hub),
        "bl_number": transport.document,
        "country_of_destination": IMPORTING_COUNTRY,
        "documents": _documents(mentions.declaration_id, transport.document),
    })
    items = draft.items
    item_frame = pl.DataFrame({
        "item_no": items["item_no"].astype(np.int64),
        "country_of_origin": lookup(_CODES, items["declared_origin"]),
        "hs_code": lookup(cat.hs_code, items["declared_product"]),
        "goods_description": lookup(cat.description, items["declared_product"]),
        "quantity": items["quantity"].astype(float),
        "quantity_unit": lookup(cat.unit, items["declared_product"]),
        "net_mass_kg": items["net"],
        "gross_mass_kg": items["gross"],
        "invoice_value": valuation.invoice_value,
        "customs_value": valuation.customs_value,
        "container_numbers": item_containers(transport.containers, items["decl"], items["item_no"]),
        "procedure_code": "40",  # release for free circulation
        "previous_procedure": "00",
        "preference_code": "100",  # third-country duty, no preference claimed
        "duties": _duties(valuation.customs_value, valuation.declared_duty),
        "packages": np.maximum(1, np.round(items["gross"] / 25.0)).astype(np.int64),
        "package_kind": "CT",
    })
    frame = pl.concat([header[items["decl"]], item_frame], how="horizontal")
    frame = frame.with_columns(total_packages=pl.col("packages").sum().over("declaration_id"))
    # The parties the simulated trade does not name (representative, consignee, seller, buyer) stay empty.
    return in_format(frame, DECLARATIONS)


VAT_RATE = 0.21  # the importing country's standard rate


def _duties(customs_value: np.ndarray, duty: np.ndarray) -> pl.Series:
    """Import duty (A00) and VAT (B00) as assessed on each item, in the flat format's TYPE:BASE:RATE:AMOUNT."""
    value = pl.Series(np.round(customs_value, 2))
    paid = pl.Series(np.round(duty, 2))
    rate = pl.Series(np.where(customs_value > 0, np.round(duty / np.maximum(customs_value, 1e-9), 4), 0.0))
    vat_base = pl.Series(np.round(customs_value + duty, 2))
    vat = pl.Series(np.round((customs_value + duty) * VAT_RATE, 2))
    return pl.select(pl.concat_str([pl.lit("A00:"), value, pl.lit(":"), rate, pl.lit(":"), paid,
                                    pl.lit(";B00:"), vat_base, pl.lit(f":{VAT_RATE}:"), vat])).to_series()


def _documents(declaration_id: pl.Series, transport_document: pl.Series) -> pl.Series:
    """The commercial invoice (380) of every declaration and, where there is one, the transport document (705)."""
    invoice = pl.lit("380:INV") + declaration_id.str.slice(-8)
    return pl.select(pl.when(transport_document.is_not_null())
                     .then(pl.concat_str([invoice, pl.lit(";705:"), transport_document]))
                     .otherwise(invoice)).to_series()


def item_containers(containers: pl.DataFrame, decl: np.ndarray, item_no: np.ndarray) -> pl.Series:
    """Each item's containers (';'-joined): a declaration's containers dealt out over its items in turn, and
    an item left without one shares a container with an earlier item, so the union is the declaration's."""
    items = pl.DataFrame({"decl": decl, "item_no": item_no.astype(np.int64)}).with_row_index("_i")
    n_items = items.group_by("decl").agg(pl.len().alias("n_items"))
    boxes = (containers.with_columns(j=pl.int_range(pl.len()).over("decl"), n_boxes=pl.len().over("decl"))
             .join(n_items, on="decl"))
    dealt = boxes.select("decl", (pl.col("j") % pl.col("n_items") + 1).alias("item_no"), "container")
    shared = (items.join(boxes.filter(pl.col("j") == 0).select("decl", "n_boxes", "n_items"), on="decl")
              .filter(pl.col("item_no") > pl.col("n_boxes"))
              .join(boxes.select("decl", "j", "container"), on="decl")
              .filter(pl.col("j") == (pl.col("item_no") - 1) % pl.col("n_boxes"))
              .select("decl", "item_no", "container"))
    per_item = (pl.concat([dealt, shared]).group_by("decl", "item_no", maintain_order=True)
                .agg(pl.col("container").str.join(";")))
    return items.join(per_item, on=["decl", "item_no"], how="left").sort("_i")["container"]


def parties_frame(actors: Actors) -> pl.DataFrame:
    """The trader register, columns as PARTIES."""
    return actors.register.with_columns(registered_on=date_strings(actors.register["registered_on"])).select(
        [f.name for f in PARTIES.fields])


def parties_truth(actors: Actors) -> pl.DataFrame:
    """Register row -> true entity, ring and watch-list membership."""
    return actors.register.select(
        "party_id", "entity_id", "role",
        pl.when(pl.col("ring_id") >= 0).then(pl.col("ring_id")).alias("ring_id"),
        "watchlisted")


def declarations_truth(draft: Draft, actors: Actors, valuation: Valuation, mentions: Mentions) -> pl.DataFrame:
    """One row per declaration: fraud label, scheme, true value, revenue at risk, true goods and parties."""
    cat = catalogue()
    items = draft.items
    first = np.searchsorted(items["decl"], np.arange(draft.n))
    ring = np.where(draft.person, -1, actors.importer_ring[draft.trader])
    return pl.DataFrame({
        "declaration_id": mentions.declaration_id,
        "is_fraud": draft.scheme > 0,
        "scheme": lookup(SCHEME_NAMES, np.where(draft.scheme > 0, draft.scheme, -1)),
        "true_customs_value": np.round(valuation.decl_true_value, 2),
        "declared_customs_value": np.round(valuation.decl_customs_value, 2),
        "revenue_at_risk": valuation.decl_revenue_at_risk,
        "true_hs_code": lookup(cat.hs_code, items["product"][first]),
        "true_origin": lookup(_CODES, items["origin"][first]),
        "importer_entity_id": mentions.importer_entity,
        "exporter_entity_id": mentions.exporter_entity,
        "declared_exporter_entity_id": mentions.declared_exporter_entity,
        "ring_id": pl.Series(ring).replace(-1, None),
        "split_group": pl.Series(draft.split_group).replace(-1, None),
        "hidden_goods": lookup(_HIDDEN, draft.hidden),
    })


def items_truth(draft: Draft, valuation: Valuation, mentions: Mentions) -> pl.DataFrame:
    """One row per item: true and declared heading, origin and value."""
    cat = catalogue()
    items = draft.items
    return pl.DataFrame({
        "declaration_id": mentions.declaration_id.gather(items["decl"]),
        "item_no": items["item_no"].astype(np.int64),
        "true_hs_code": lookup(cat.hs_code, items["product"]),
        "declared_hs_code": lookup(cat.hs_code, items["declared_product"]),
        "true_origin": lookup(_CODES, items["origin"]),
        "declared_origin": lookup(_CODES, items["declared_origin"]),
        "true_customs_value": valuation.true_customs_value,
        "customs_value": valuation.customs_value,
        "true_duty": valuation.true_duty,
        "declared_duty": valuation.declared_duty,
        "revenue_at_risk": valuation.revenue_at_risk,
    })
