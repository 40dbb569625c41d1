"""Shipping lanes, vessels and sailings of the world.

A lane is one carrier's weekly service from a loading port to a Dutch port of discharge, either
direct or through a transshipment hub. Each lane owns as many vessels as its round trip takes
weeks, so a vessel's sailings never overlap: the sailing of week ``w`` is made by vessel
``w mod rotation``. A declaration finds its sailing by arithmetic on the week number, which
keeps routing vectorised however many declarations there are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from cintel.simulate.catalogue import DISCHARGE_PORTS, HUBS, PARTNERS
from cintel.simulate.identifiers import imo_numbers
from cintel.simulate.names import CARRIERS, vessel_names
from cintel.simulate.seaports import SEAPORTS

SEA_KM_PER_DAY = 16 * 1.852 * 24  # a container ship at 16 knots
HUB_CODES: tuple[str, ...] = tuple(HUBS)
CARRIER_COUNTRIES = ("DK", "CH", "SG", "FR", "GB", "CN", "DE", "US", "AU", "CL", "GR", "AE")


@dataclass(frozen=True)
class Lanes:
    """Lane attributes as arrays indexed by lane number, plus the vessels they sail."""

    partner: np.ndarray  # index into PARTNERS
    loading: np.ndarray  # UN/LOCODE
    hub: np.ndarray  # UN/LOCODE or ""
    discharge: np.ndarray
    carrier: np.ndarray  # index into CARRIERS
    weight: np.ndarray  # share of the partner's sea trade
    first_leg_days: np.ndarray  # loading -> hub (or -> discharge when direct)
    hub_dwell_days: np.ndarray
    transit_days: np.ndarray  # loading -> discharge, dwell included
    phase: np.ndarray  # weekday of departure
    rotation: np.ndarray  # weeks per round trip = vessels on the lane
    vessel_offset: np.ndarray  # first vessel of the lane in ``vessels``
    feeder_offset: np.ndarray  # first of the lane's two feeder vessels (hub lanes)
    vessels: pl.DataFrame  # name, imo, carrier

    def __len__(self) -> int:
        return len(self.loading)


@dataclass(frozen=True)
class Sailings:
    """Where and when the declarations' goods sailed, one entry per declaration."""

    vessel: np.ndarray  # index into Lanes.vessels (the ship arriving in the Netherlands)
    feeder: np.ndarray  # feeder vessel of the first leg, -1 when direct
    voyage: pl.Series
    departure: np.ndarray  # day number at the loading port
    hub_arrival: np.ndarray  # day number at the hub (== arrival when direct)
    hub_departure: np.ndarray
    arrival: np.ndarray  # day number at the port of discharge


def _km_to_hub(port: str, hub: str) -> float:
    return float(SEAPORTS[port][3][HUB_CODES.index(hub)])


def build_lanes(rng: np.random.Generator) -> Lanes:
    """The carriers' services from every partner port to the Netherlands."""
    regions = sorted({p.region for p in PARTNERS})
    # Each carrier serves a handful of regions; every region ends up with at least two carriers.
    serves = rng.random((len(CARRIERS), len(regions))) < 0.4
    for r in range(len(regions)):
        while serves[:, r].sum() < 2:
            serves[rng.integers(len(CARRIERS)), r] = True
    carrier_size = rng.lognormal(0.0, 0.6, len(CARRIERS))
    discharge_codes = np.array(list(DISCHARGE_PORTS))
    discharge_p = np.array([w for w, _ in DISCHARGE_PORTS.values()])
    rows: list[tuple[int, str, str, str, int, float]] = []
    for pi, partner in enumerate(PARTNERS):
        carriers = np.flatnonzero(serves[:, regions.index(partner.region)])
        for rank, port in enumerate(partner.ports):
            port_share = 0.55 if rank == 0 else 0.45 / max(len(partner.ports) - 1, 1)
            if len(partner.ports) == 1:
                port_share = 1.0
            hubs = [h for h, served in HUBS.items() if partner.region in served and h[:2] != partner.code]
            feeder_port = rank > 0 or partner.weight < 1.0
            for c in carriers:
                via = hubs and rng.random() < (0.6 if feeder_port else 0.15)
                hub = str(rng.choice(hubs)) if via else ""
                pod = str(discharge_codes[np.searchsorted(np.cumsum(discharge_p), rng.random() * discharge_p.sum())])
                share = port_share * carrier_size[c] / carrier_size[carriers].sum()
                rows.append((pi, port, hub, pod, int(c), share))
    partners = np.array([r[0] for r in rows])
    loading = np.array([r[1] for r in rows])
    hubs_of_lane = np.array([r[2] for r in rows])
    first_km = np.array([_km_to_hub(p, h) if h else SEAPORTS[p][2]
                         for p, h in zip(loading, hubs_of_lane, strict=True)])
    second_km = np.array([SEAPORTS[h][2] if h else 0.0 for h in hubs_of_lane])
    dwell = np.where(hubs_of_lane != "", rng.integers(2, 7, len(rows)), 0)
    first_leg = np.ceil(first_km / SEA_KM_PER_DAY).astype(np.int64) + 1
    transit = first_leg + dwell + np.ceil(second_km / SEA_KM_PER_DAY).astype(np.int64)
    rotation = np.ceil((2 * transit + 7) / 7).astype(np.int64)
    vessel_offset = np.concatenate([[0], np.cumsum(rotation)[:-1]])
    feeders = np.where(hubs_of_lane != "", 2, 0)
    feeder_offset = rotation.sum() + np.concatenate([[0], np.cumsum(feeders)[:-1]])
    n_vessels = int(rotation.sum() + feeders.sum())
    carrier = np.array([r[4] for r in rows])
    vessel_carrier = np.concatenate([np.repeat(carrier, rotation), np.repeat(carrier, feeders)])
    vessels = pl.DataFrame({
        "name": vessel_names(rng, n_vessels).str.to_uppercase(),
        "imo": imo_numbers(rng, n_vessels),
        "carrier": vessel_carrier,
    })
    return Lanes(
        partner=partners, loading=loading, hub=hubs_of_lane, discharge=np.array([r[3] for r in rows]), carrier=carrier,
        weight=np.array([r[5] for r in rows]), first_leg_days=first_leg, hub_dwell_days=dwell,
        transit_days=transit, phase=rng.integers(0, 7, len(rows)), rotation=rotation,
        vessel_offset=vessel_offset, feeder_offset=feeder_offset, vessels=vessels,
    )


def lane_choice_matrix(lanes: Lanes) -> np.ndarray:
    """(partner x lane) probabilities: which lane a partner's sea shipment takes."""
    matrix = np.zeros((len(PARTNERS), len(lanes)))
    matrix[lanes.partner, np.arange(len(lanes))] = lanes.weight
    return matrix


def sail(lanes: Lanes, lane: np.ndarray, latest_arrival: np.ndarray) -> Sailings:
    """The latest sailing of each lane that arrives on or before the given day."""
    transit = lanes.transit_days[lane]
    phase = lanes.phase[lane]
    week = np.floor_divide(latest_arrival - transit - phase, 7)
    departure = week * 7 + phase
    rotation = lanes.rotation[lane]
    has_hub = lanes.hub[lane] != ""
    hub_arrival = departure + lanes.first_leg_days[lane]
    hub_departure = hub_arrival + lanes.hub_dwell_days[lane]
    voyage_no = pl.Series(np.floor_divide(week, rotation) % 1000).cast(pl.String).str.zfill(3)
    return Sailings(
        vessel=lanes.vessel_offset[lane] + week % rotation,
        feeder=np.where(has_hub, lanes.feeder_offset[lane] + week % 2, -1),
        voyage=voyage_no + "W",
        departure=departure,
        hub_arrival=hub_arrival,
        hub_departure=hub_departure,
        arrival=departure + transit,
    )
