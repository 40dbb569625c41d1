"""Declaration headers: who imports what from whom, when and by which mode of transport.

The draft holds one numpy array per attribute (header arrays have one entry per declaration,
item arrays one per item) so that schemes, routing and writing all work on whole columns.
Dates follow a seasonal curve with quiet weekends; importers are drawn by their heavy-tailed
size; a declaration ships one of the importer's product lines from that line's exporter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cintel.domain.codes import TransportMode
from cintel.simulate.actors import SLOT_WEIGHTS, Actors
from cintel.simulate.catalogue import PARTNERS, catalogue
from cintel.simulate.config import Scheme, SimulationConfig, WatchlistConfig
from cintel.simulate.sampling import choose_rows, day_number, pick_in_groups, weighted

SEA, RAIL, ROAD, AIR, POST = (int(m.value) for m in (TransportMode.SEA, TransportMode.RAIL, TransportMode.ROAD,
                                                      TransportMode.AIR, TransportMode.POST))
POST_SHARE = 0.03  # parcels to private persons, the e-commerce flow
_PARTNER_CODES = np.array([p.code for p in PARTNERS])
_HAS_PORTS = np.array([bool(p.ports) for p in PARTNERS])
_LAND = np.array([p.land for p in PARTNERS])
_RAIL = np.array([p.rail for p in PARTNERS])


@dataclass
class Draft:
    """The declarations under construction (header arrays of length n, item arrays of length items)."""

    n: int
    date: np.ndarray
    person: np.ndarray  # bool: consignee is a private person (importer = index into consumers)
    importer: np.ndarray  # importer index (or consumer index when person)
    importer_row: np.ndarray  # register row used on the declaration (an alias row for some)
    exporter: np.ndarray  # true exporter index
    declared_exporter: np.ndarray  # exporter named on the declaration
    product: np.ndarray  # main product of the shipment
    partner: np.ndarray  # true partner country (index into PARTNERS)
    declared_partner: np.ndarray  # dispatch country as declared
    mode: np.ndarray  # transport mode as an int
    scheme: np.ndarray  # Scheme.code or 0
    factor: np.ndarray  # declared / true value (undervaluation), 1.0 otherwise
    split_group: np.ndarray  # split-shipment group or -1
    hidden: np.ndarray  # index into CONCEALMENT_COVERS or -1
    # Set when items are built: invoice currency, its EUR rate and the incoterm index per declaration.
    currency: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    fx: np.ndarray = field(default_factory=lambda: np.empty(0))
    incoterm: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    items: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def trader(self) -> np.ndarray:
        """Importer index usable on the actors' arrays (0 for parcels to private persons: mask them)."""
        return np.where(self.person, 0, self.importer)


def _daily_weights(start: int, end: int) -> np.ndarray:
    """Relative number of declarations per day: yearly season, pre-Christmas peak, quiet weekends."""
    days = np.arange(start, end + 1)
    day_of_year = (days - day_number_jan1(days)) / 365.25
    season = 1.0 + 0.12 * np.sin(2 * np.pi * (day_of_year - 0.3)) + 0.18 * np.exp(-((day_of_year - 0.83) / 0.06) ** 2)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    weights: np.ndarray = season * np.where(weekday >= 5, 0.12, 1.0)
    return weights


def day_number_jan1(days: np.ndarray) -> np.ndarray:
    """Day number of the 1 January of each day's year."""
    years = days.astype("datetime64[D]").astype("datetime64[Y]")
    return years.astype("datetime64[D]").astype(np.int64)


def _modes(rng: np.random.Generator, partner: np.ndarray, product: np.ndarray) -> np.ndarray:
    """Mode of transport from the partner's geography and the goods' value density."""
    cat = catalogue()
    u = rng.random(len(partner))
    air_p = np.where(cat.air[product], 0.3, 0.02)
    road_p = np.where(_LAND[partner], np.where(_PARTNER_CODES[partner] == "TR", 0.2, 0.65), 0.0)
    road_p = np.where(~_HAS_PORTS[partner], 1.0 - air_p, road_p)
    rail_p = np.where(_RAIL[partner], 0.03, 0.0)
    return np.select([u < air_p, u < air_p + road_p, u < air_p + road_p + rail_p], [AIR, ROAD, RAIL], SEA)


def build_headers(rng: np.random.Generator, config: SimulationConfig, actors: Actors, consumers: int) -> Draft:
    """Dates, parties, goods lines and modes of all declarations, before any scheme is planted."""
    n = config.declarations
    start, end = day_number(config.start_date), day_number(config.end_date)
    weights = _daily_weights(start, end)
    date = start + weighted(rng, weights, n)
    person = rng.random(n) < POST_SHARE

    # Ring members and listed importers only trade through the planted assignments below,
    # so the schemes' rates are what the configuration says.
    natural = np.where((actors.importer_ring >= 0) | actors.importer_watch, 0.0, actors.importer_weight)
    importer = weighted(rng, natural, n)

    front = config.scheme(Scheme.FRONT_COMPANY)
    share = front.rate / max(getattr(front, "undervalue_share", 1.0), 1e-9)
    ring_decl = np.flatnonzero(~person & (rng.random(n) < share))
    members = actors.ring_importers
    if len(members) and len(ring_decl):
        ring_of = actors.importer_ring[members]
        chosen_ring = rng.integers(0, actors.rings, len(ring_decl))
        first = np.searchsorted(ring_of, chosen_ring, side="left")
        last = np.searchsorted(ring_of, chosen_ring, side="right")
        # Phoenix succession: the member trading on a date is the latest one registered before it.
        reg = actors.importer_registered[members]
        pos = first.copy()
        for k in range(1, int((last - first).max(initial=1))):
            later = (first + k < last) & (reg[np.minimum(first + k, len(members) - 1)] <= date[ring_decl])
            pos = np.where(later, first + k, pos)
        importer[ring_decl] = members[pos]
    # No trader declares before it exists.
    registered = actors.importer_registered[importer]
    late = ~person & (date < registered + 3)
    date = np.where(late, np.minimum(registered + 3 + (rng.random(n) * np.maximum(end - registered - 3, 0)), end),
                    date).astype(np.int64)

    slot = weighted(rng, SLOT_WEIGHTS, n)
    product = actors.importer_products[importer, slot]
    exporter = actors.importer_exporters[importer, slot]

    wl = config.scheme(Scheme.WATCHLISTED_PARTY)
    assert isinstance(wl, WatchlistConfig)
    # Listed parties trade only here: half the planted declarations name a listed importer,
    # half a listed exporter selling its own line.
    free = np.flatnonzero(~person & (actors.importer_ring[importer] < 0))
    pick = rng.choice(free, size=min(round(wl.rate * n), len(free)), replace=False)
    by_importer, by_exporter = pick[: len(pick) // 2], pick[len(pick) // 2:]
    listed_importers = np.flatnonzero(actors.importer_watch)
    importer[by_importer] = listed_importers[rng.integers(0, len(listed_importers), len(by_importer))]
    product[by_importer] = actors.importer_products[importer[by_importer], slot[by_importer]]
    exporter[by_importer] = actors.importer_exporters[importer[by_importer], slot[by_importer]]
    listed_exporters = np.flatnonzero(actors.exporter_watch)
    exporter[by_exporter] = listed_exporters[rng.integers(0, len(listed_exporters), len(by_exporter))]
    product[by_exporter] = actors.exporter_product[exporter[by_exporter]]

    partner = actors.exporter_partner[exporter]
    mode = _modes(rng, partner, product)

    # Parcels to private persons: small consumer goods, mostly from China, by post or courier.
    cat = catalogue()
    n_post = int(person.sum())
    post_products = np.flatnonzero(cat.post)
    pp = post_products[weighted(rng, cat.popularity[post_products], n_post)]
    post_partner = choose_rows(rng, cat.origin_weights, pp)
    pair = actors.exporter_partner * len(cat) + actors.exporter_product
    by_country = pick_in_groups(rng, actors.exporter_partner, post_partner)
    post_exporter = pick_in_groups(rng, pair, post_partner * len(cat) + pp, by_country)
    importer[person] = rng.integers(0, consumers, n_post)
    product[person] = pp
    exporter[person] = post_exporter
    partner[person] = actors.exporter_partner[post_exporter]
    mode[person] = np.where(rng.random(n_post) < 0.8, POST, AIR)

    alias = actors.importer_alias_row[np.where(person, 0, importer)]
    importer_row = np.where(~person & (alias >= 0) & (rng.random(n) < 0.3), alias,
                            actors.importer_row[np.where(person, 0, importer)])
    importer_row = np.where(person, -1, importer_row)
    return Draft(
        n=n, date=date, person=person, importer=importer, importer_row=importer_row, exporter=exporter,
        declared_exporter=exporter.copy(), product=product, partner=partner, declared_partner=partner.copy(),
        mode=mode, scheme=np.zeros(n, dtype=np.int64), factor=np.ones(n), split_group=np.full(n, -1),
        hidden=np.full(n, -1),
    )
