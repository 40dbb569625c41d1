"""Transport of each declaration: ports, sailing, vessel, transport document and containers.

Sea shipments take a lane of the declared dispatch country and its sailing that arrived a day or
three before the declaration; relabelled (origin-fraud) goods first travel from a Chinese port to
the relabelling port. Containers belong to the lane's carrier and are reused in date order, so a
container is never in two places at once. Air, road, rail and parcel shipments get their own
document numbers (air waybill, CMR, CIM, UPU S10 with check digits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cintel.simulate.catalogue import AIR_DISCHARGE_PORT, PARTNERS
from cintel.simulate.config import Scheme
from cintel.simulate.declarations import AIR, RAIL, ROAD, SEA, Draft
from cintel.simulate.identifiers import container_numbers
from cintel.simulate.names import CARRIERS
from cintel.simulate.routes import SEA_KM_PER_DAY, Lanes, lane_choice_matrix, sail
from cintel.simulate.sampling import choose_rows, lookup
from cintel.simulate.seaports import SEAPORTS

_CODES = np.array([p.code for p in PARTNERS])
_FIRST_PORT = np.array([p.ports[0] if p.ports else "" for p in PARTNERS])
_CN_PORTS = np.array(PARTNERS[int(np.flatnonzero(_CODES == "CN")[0])].ports)
_AIRLINE_PREFIXES = np.array(["074", "020", "057", "176", "157", "618", "999", "784", "160", "235"])
_CONTAINER_KG = 24_000.0  # cargo a 40' container takes before a second one is needed
_CONTAINER_REUSE_DAYS = 120  # a container is back in service about four months later


@dataclass(frozen=True)
class Transport:
    """Per-declaration transport arrays (ports as indices into ``PORTS``, documents as strings)."""

    loading: np.ndarray  # port of loading, index into PORTS (-1 none)
    discharge: np.ndarray
    hub: np.ndarray  # transshipment port or -1
    vessel: np.ndarray  # vessel index into lanes.vessels, -1 unless sea
    voyage: pl.Series
    document: pl.Series  # bill of lading, air waybill, CMR/CIM or parcel number
    containers: pl.DataFrame  # decl, container (one row per container)
    lane: np.ndarray  # -1 unless sea
    departure: np.ndarray  # day numbers (sea only; 0 elsewhere)
    hub_arrival: np.ndarray
    hub_departure: np.ndarray
    arrival: np.ndarray
    feeder: np.ndarray
    origin_port: np.ndarray  # port relabelled goods really came from (origin fraud), else -1
    origin_departure: np.ndarray  # day the relabelled goods left China
    original_document: pl.Series  # the first-leg bill of lading of relabelled goods
    restuffed: np.ndarray  # bool: relabelled goods moved to a new container at the relabelling port


def _km(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Sea distance estimate between ports from their coordinates (great circle x 1.3)."""
    lat1, lon1 = np.radians([[SEAPORTS[p][0] for p in a], [SEAPORTS[p][1] for p in a]])
    lat2, lon2 = np.radians([[SEAPORTS[p][0] for p in b], [SEAPORTS[p][1] for p in b]])
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    km: np.ndarray = 1.3 * 2 * 6371 * np.arcsin(np.sqrt(h))
    return km


def _digits(values: np.ndarray, width: int) -> pl.Series:
    return pl.Series(values.astype(np.int64)).cast(pl.String).str.zfill(width)


def _s10(serial: np.ndarray, countries: pl.Series) -> pl.Series:
    """UPU S10 parcel numbers: 'RR', 8 digits, check digit, origin country."""
    digits = np.stack([(serial // 10 ** (7 - i)) % 10 for i in range(8)], axis=1)
    check = 11 - (digits * np.array([8, 6, 4, 2, 3, 5, 9, 7])).sum(axis=1) % 11
    check = np.where(check == 10, 0, np.where(check == 11, 5, check))
    return "RR" + _digits(serial, 8) + _digits(check, 1) + countries


def _document_numbers(rng: np.random.Generator, draft: Draft, lanes: Lanes, lane: np.ndarray) -> pl.Series:
    n = draft.n
    # An affine map modulo 10^10 scrambles the sequence yet keeps every number distinct.
    serial = (rng.permutation(n) * 7_919_333 + rng.integers(0, 10**10)) % 10**10
    owner = lookup([c[1] for c in CARRIERS], lanes.carrier[np.maximum(lane, 0)])
    bl = owner + _digits(serial % 10**10, 10)
    awb_serial = serial % 10**7
    awb = (lookup(_AIRLINE_PREFIXES, rng.integers(0, len(_AIRLINE_PREFIXES), n)) + "-"
           + _digits(awb_serial, 7) + _digits(awb_serial % 7, 1))
    cmr = "CMR" + _digits(serial % 10**8, 8)
    cim = "CIM" + _digits(serial % 10**8, 8)
    parcel = _s10(serial % 10**8, lookup(_CODES, draft.declared_partner))
    mode = pl.Series(draft.mode)
    return pl.select(
        pl.when(mode == SEA).then(bl).when(mode == AIR).then(awb).when(mode == ROAD).then(cmr)
        .when(mode == RAIL).then(cim).otherwise(parcel)
    ).to_series()


def _containers(rng: np.random.Generator, draft: Draft, lanes: Lanes, lane: np.ndarray,
                departure: np.ndarray) -> pl.DataFrame:
    sea = np.flatnonzero(draft.mode == SEA)
    gross = np.bincount(draft.items["decl"], weights=draft.items["gross"], minlength=draft.n)[sea]
    count = (np.ceil(gross / _CONTAINER_KG) + (rng.random(len(sea)) < 0.2)).clip(1, 6).astype(np.int64)
    decl = np.repeat(sea, count)
    carrier = lanes.carrier[lane[decl]]
    # Rank each carrier's containers by departure; rank modulo the carrier's pool size is its box.
    order = np.lexsort((decl, departure[decl], carrier))
    per_carrier = np.bincount(carrier, minlength=len(CARRIERS))
    starts = np.concatenate([[0], np.cumsum(per_carrier)[:-1]])
    rank = np.empty(len(decl), dtype=np.int64)
    rank[order] = np.arange(len(decl)) - starts[carrier[order]]
    span = max(int(draft.date.max() - draft.date.min()), 30)
    pool = np.maximum(500, np.ceil(per_carrier * _CONTAINER_REUSE_DAYS / span)).astype(np.int64)
    box = rank % pool[carrier]
    # An affine bijection spreads a carrier's boxes over its whole serial range.
    serial = (box * 7919 + 1_234 + carrier * 97_001) % 1_000_000
    return pl.DataFrame({"decl": decl, "container": container_numbers([c[1] for c in CARRIERS], carrier, serial)})


PORTS: tuple[str, ...] = tuple(SEAPORTS)
_PORT_INDEX = {code: i for i, code in enumerate(PORTS)}


def port_index(codes: np.ndarray) -> np.ndarray:
    """Index into ``PORTS`` of each UN/LOCODE ('' -> -1)."""
    return np.array([_PORT_INDEX.get(str(c), -1) for c in codes], dtype=np.int64)


def route_shipments(rng: np.random.Generator, draft: Draft, lanes: Lanes) -> Transport:
    """Ports, sailings, documents and containers for every declaration."""
    n = draft.n
    sea = draft.mode == SEA
    lane = np.full(n, -1)
    lane[sea] = choose_rows(rng, lane_choice_matrix(lanes), draft.declared_partner[sea])
    some_lane = np.maximum(lane, 0)
    latest = draft.date - rng.integers(0, 4, n)
    sailing = sail(lanes, some_lane, latest)
    on = np.where(sea, 1, 0)

    relabelled = sea & (draft.scheme == Scheme.ORIGIN_MISDECLARATION.code)
    pol = np.where(sea, port_index(lanes.loading)[some_lane], -1)
    cn_ports = port_index(_CN_PORTS)
    cn_port = np.where(relabelled, cn_ports[rng.integers(0, len(cn_ports), n)], -1)
    rows = np.flatnonzero(relabelled)
    pre_days = np.zeros(n, dtype=np.int64)
    ports = np.array(PORTS)
    pre_days[rows] = np.ceil(_km(ports[cn_port[rows]], ports[pol[rows]]) / SEA_KM_PER_DAY).astype(np.int64) + 1
    origin_departure = sailing.departure - pre_days - np.where(relabelled, rng.integers(4, 15, n), 0)

    hub = np.where(sea, port_index(lanes.hub)[some_lane], -1)
    air_pol = port_index(_FIRST_PORT)[draft.declared_partner]
    is_air = draft.mode == AIR
    loading = np.select([sea, is_air], [pol, air_pol], -1)
    discharge = np.select([sea, is_air], [port_index(lanes.discharge)[some_lane], _PORT_INDEX[AIR_DISCHARGE_PORT]],
                          -1)
    document = _document_numbers(rng, draft, lanes, lane)
    # The first leg travelled under another carrier's bill of lading.
    other = lookup([c[1] for c in CARRIERS], rng.integers(0, len(CARRIERS), n))
    original = pl.select(pl.when(pl.Series(relabelled)).then(other + document.str.slice(3).str.reverse())).to_series()
    return Transport(
        loading=loading,
        discharge=discharge,
        hub=hub,
        vessel=np.where(sea, sailing.vessel, -1),
        voyage=pl.select(pl.when(pl.Series(sea)).then(sailing.voyage)).to_series(),
        document=document,
        containers=_containers(rng, draft, lanes, lane, sailing.departure * on),
        lane=lane,
        departure=sailing.departure * on,
        hub_arrival=sailing.hub_arrival * on,
        hub_departure=sailing.hub_departure * on,
        arrival=sailing.arrival * on,
        feeder=np.where(sea & (hub >= 0), sailing.feeder, -1),
        origin_port=cn_port,
        origin_departure=origin_departure * on,
        original_document=original,
        restuffed=relabelled & (rng.random(n) < 0.3),
    )
