"""Cargo manifests (one bill of lading per sea declaration) and container movement events.

A container's events follow its sailing: gate-in and load at the port of loading, discharge
and load again at a transshipment hub, discharge and gate-out in the Netherlands. Goods
relabelled for origin fraud betray themselves here: unless they were moved to a new box, their
container was loaded in China under another bill of lading and discharged at the relabelling
port before the declared voyage began. Events after the end date have not happened yet.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cintel.domain.codes import EventType
from cintel.domain.records import EVENTS, MANIFESTS
from cintel.simulate.actors import Actors
from cintel.simulate.catalogue import IMPORTING_COUNTRY, PARTNERS, catalogue
from cintel.simulate.config import SimulationConfig
from cintel.simulate.declarations import SEA, Draft
from cintel.simulate.names import CARRIERS
from cintel.simulate.noise import choose_variants, variant_names
from cintel.simulate.routes import Lanes
from cintel.simulate.sampling import date_strings, datetime_strings, day_number, in_format, lookup
from cintel.simulate.seaports import SEAPORTS
from cintel.simulate.transport import PORTS, Transport

_CODES = np.array([p.code for p in PARTNERS])
_LAT = np.array([SEAPORTS[p][0] for p in PORTS])
_LON = np.array([SEAPORTS[p][1] for p in PORTS])
_EVENT_CODES = (EventType.GATE_IN.value, EventType.LOAD.value, EventType.DISCHARGE.value, EventType.GATE_OUT.value)
GTIN, LOAD, DISC, GTOT = range(4)


def manifests_frame(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors,
                    lanes: Lanes, transport: Transport) -> pl.DataFrame:
    """One manifest line per sea shipment, columns as MANIFESTS."""
    cat = catalogue()
    sea = np.flatnonzero(draft.mode == SEA)
    items = draft.items
    first = np.searchsorted(items["decl"], sea)
    gross = np.bincount(items["decl"], weights=items["gross"], minlength=draft.n)[sea]
    # The B/L names the parties independently of the declaration, with their own misspellings.
    shipper_rows = actors.exporter_row[draft.declared_exporter[sea]]
    consignee_rows = np.maximum(draft.importer_row[sea], 0)
    rate = config.name_noise_rate
    broker = actors.importer_broker[draft.trader[sea]]
    notify = np.where(broker >= 0, actors.broker_row[np.maximum(broker, 0)], -1)
    containers = (transport.containers.group_by("decl", maintain_order=True)
                  .agg(pl.col("container").str.join(";")))
    container_list = pl.Series([None] * draft.n, dtype=pl.String).scatter(containers["decl"],
                                                                          containers["container"])
    hs = lookup(cat.hs_code, items["declared_product"][first]).str.slice(0, 6)
    frame = pl.DataFrame({
        "bl_number": transport.document.gather(sea),
        "vessel_imo": lookup(lanes.vessels["imo"], transport.vessel[sea]),
        "voyage": transport.voyage.gather(sea),
        "carrier_name": lookup([c[0] for c in CARRIERS], lanes.carrier[transport.lane[sea]]),
        "shipper_name": variant_names(actors.variants, shipper_rows, choose_variants(rng, shipper_rows, rate)),
        "shipper_country": lookup(_CODES, draft.declared_partner[sea]),
        "consignee_name": variant_names(actors.variants, consignee_rows, choose_variants(rng, consignee_rows, rate)),
        "consignee_country": IMPORTING_COUNTRY,
        "notify_name": lookup(actors.register["name"], notify),
        "port_of_loading": lookup(PORTS, transport.loading[sea]),
        "port_of_discharge": lookup(PORTS, transport.discharge[sea]),
        "transshipment_ports": lookup(PORTS, transport.hub[sea]),
        "container_numbers": container_list.gather(sea),
        "goods_description": lookup(cat.description, items["declared_product"][first]).str.to_uppercase(),
        "hs_code": pl.select(pl.when(pl.Series(rng.random(len(sea)) < 0.5)).then(hs)).to_series(),
        "gross_mass_kg": np.round(gross, 2),
        "packages": np.ceil(gross / rng.uniform(200, 800, len(sea))).astype(np.int64),
        "loading_date": date_strings(transport.departure[sea]),
        "arrival_date": date_strings(transport.arrival[sea]),
    })
    return in_format(frame, MANIFESTS)


def _block(rows: np.ndarray, kind: int, port: np.ndarray, day: np.ndarray, vessel: np.ndarray,
           feeder_leg: bool | np.ndarray, original: bool) -> dict[str, np.ndarray]:
    """One event per given container row (feeder_leg: the event's vessel is a feeder)."""
    n = len(rows)
    return {"row": rows, "kind": np.full(n, kind), "port": port, "day": day, "vessel": vessel,
            "feeder": np.broadcast_to(feeder_leg, (n,)), "original": np.full(n, original)}


def events_frame(rng: np.random.Generator, config: SimulationConfig, draft: Draft, lanes: Lanes,
                 transport: Transport) -> pl.DataFrame:
    """Container events of every sea shipment, columns as EVENTS."""
    boxes = transport.containers
    decl = boxes["decl"].to_numpy()
    rows = np.arange(len(decl))
    t = transport
    hub = t.hub[decl]
    via_hub = hub >= 0
    relabel = t.origin_port[decl] >= 0
    pre_leg = relabel & ~t.restuffed[decl]
    first_vessel = np.where(via_hub, t.feeder[decl], t.vessel[decl])
    dwell_at_pol = (t.departure[decl] - t.origin_departure[decl]) * rng.uniform(0.3, 0.6, len(decl))
    blocks = [
        # Relabelled goods: loaded in China under the original bill, discharged at the relabelling port.
        _block(rows[pre_leg], GTIN, t.origin_port[decl][pre_leg], t.origin_departure[decl][pre_leg]
               - rng.integers(1, 4, int(pre_leg.sum())), np.full(int(pre_leg.sum()), -1), False, True),
        _block(rows[pre_leg], LOAD, t.origin_port[decl][pre_leg], t.origin_departure[decl][pre_leg],
               np.full(int(pre_leg.sum()), -1), True, True),
        _block(rows[pre_leg], DISC, t.loading[decl][pre_leg],
               (t.departure[decl] - dwell_at_pol).astype(np.int64)[pre_leg], np.full(int(pre_leg.sum()), -1),
               True, True),
        _block(rows[~pre_leg], GTIN, t.loading[decl][~pre_leg],
               t.departure[decl][~pre_leg] - rng.integers(1, 6, int((~pre_leg).sum())),
               np.full(int((~pre_leg).sum()), -1), False, False),
        _block(rows, LOAD, t.loading[decl], t.departure[decl], first_vessel, via_hub, False),
        _block(rows[via_hub], DISC, hub[via_hub], t.hub_arrival[decl][via_hub], first_vessel[via_hub], True,
               False),
        _block(rows[via_hub], LOAD, hub[via_hub], t.hub_departure[decl][via_hub], t.vessel[decl][via_hub], False,
               False),
        _block(rows, DISC, t.discharge[decl], t.arrival[decl], t.vessel[decl], False, False),
        _block(rows, GTOT, t.discharge[decl], t.arrival[decl] + rng.integers(1, 7, len(rows)),
               np.full(len(rows), -1), False, False),
    ]
    ev = {key: np.concatenate([b[key] for b in blocks]) for key in blocks[0]}
    seconds = ev["day"] * 86_400 + rng.integers(0, 86_400, len(ev["day"]))
    # Within a day, keep each container's events in their physical order.
    seconds = np.where(ev["kind"] == LOAD, seconds + 3_600, seconds)
    keep = seconds < (day_number(config.end_date) + 1) * 86_400
    # Events are numbered in time order; a container's events never share a day, so this is
    # also each container's physical order.
    order = np.lexsort((ev["kind"], ev["row"], seconds))
    order = order[keep[order]]
    ev = {key: value[order] for key, value in ev.items()}
    seconds = seconds[order]
    box_decl = decl[ev["row"]]
    document = pl.select(pl.when(pl.Series(ev["original"])).then(t.original_document.gather(box_decl))
                         .otherwise(t.document.gather(box_decl))).to_series()
    voyage = t.voyage.gather(box_decl)
    frame = pl.DataFrame({
        "event_id": "EV" + pl.Series(np.arange(1, len(seconds) + 1)).cast(pl.String).str.zfill(10),
        "event_type": lookup(_EVENT_CODES, ev["kind"]),
        "event_time": datetime_strings(seconds),
        "container_number": boxes["container"].gather(ev["row"]),
        "vessel_imo": lookup(lanes.vessels["imo"], ev["vessel"]),
        "locode": lookup(PORTS, ev["port"]),
        "latitude": _LAT[ev["port"]],
        "longitude": _LON[ev["port"]],
        "bl_number": document,
        "voyage": pl.select(pl.when(pl.Series(ev["vessel"] >= 0) & ~pl.Series(ev["feeder"]))
                            .then(voyage)
                            .when(pl.Series(ev["vessel"] >= 0)).then("F" + voyage)).to_series(),
    })
    return in_format(frame, EVENTS)
