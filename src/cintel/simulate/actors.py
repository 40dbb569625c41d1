"""The world's parties: importers, exporters, brokers and carriers, with the rings and listed ones.

Importers are Dutch companies whose sizes follow a Pareto law (a few importers lodge a large
share of declarations), each buying a few product lines from a few exporters abroad and using
a customs broker. Front-company rings are groups of recently registered importers that share
directors, an address, a phone number or a bank account, and succeed one another in time
(phoenix companies). Some importers and exporters are on a watch list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from cintel.domain.codes import EntityType, PartyRole
from cintel.simulate.catalogue import IMPORTING_COUNTRY, PARTNERS, catalogue, industry_words
from cintel.simulate.config import FrontCompanyConfig, Scheme, SimulationConfig, WatchlistConfig
from cintel.simulate.identifiers import iban_supported, ibans
from cintel.simulate.names import (
    CARRIERS,
    addresses,
    company_names,
    emails,
    person_names,
    phones,
)
from cintel.simulate.noise import name_variants
from cintel.simulate.routes import CARRIER_COUNTRIES
from cintel.simulate.sampling import choose_rows, day_number, pick_in_groups, weighted, zipf_weights

SLOTS = 4  # product lines per importer
SLOT_WEIGHTS = np.array([0.55, 0.25, 0.12, 0.08])
_BROKER_WORDS = ("Customs Services", "Douane Expediteurs", "Forwarding", "Customs Brokers", "Logistics")


@dataclass(frozen=True)
class Actors:
    """All parties; role arrays index into ``register`` rows."""

    register: pl.DataFrame  # PARTIES columns + truth: entity_id, ring_id, watchlisted, role, legal_form
    variants: pl.DataFrame  # name spellings per register row (see noise.name_variants)
    importer_row: np.ndarray
    importer_alias_row: np.ndarray  # second registration of the same company, or -1
    importer_weight: np.ndarray
    importer_products: np.ndarray  # (importers, SLOTS) product indices
    importer_exporters: np.ndarray  # (importers, SLOTS) exporter indices
    importer_broker: np.ndarray  # broker index, -1 when the importer declares itself
    importer_registered: np.ndarray  # day number
    importer_ring: np.ndarray  # ring number or -1
    importer_watch: np.ndarray  # bool
    importer_prone: np.ndarray  # bool: undervalues habitually
    exporter_row: np.ndarray
    exporter_partner: np.ndarray  # index into PARTNERS
    exporter_product: np.ndarray  # main product
    exporter_price: np.ndarray  # persistent price level of the exporter
    exporter_watch: np.ndarray
    broker_row: np.ndarray
    carrier_row: np.ndarray
    rings: int

    @property
    def ring_importers(self) -> np.ndarray:
        """Importer indices of ring members, ordered by ring then registration date."""
        members = np.flatnonzero(self.importer_ring >= 0)
        return members[np.lexsort((self.importer_registered[members], self.importer_ring[members]))]


def _counts(config: SimulationConfig) -> tuple[int, int, int]:
    n = config.declarations
    return (max(150, round(n * config.importers_per_declaration)),
            max(150, round(n * config.exporters_per_declaration)),
            max(8, round(n * config.brokers_per_declaration)))


def _exporters(rng: np.random.Generator, n_target: int) -> tuple[np.ndarray, np.ndarray]:
    """Exporters per (country, product) in proportion to the trade in that pair; at least one each."""
    cat = catalogue()
    pair = cat.popularity[:, None] * cat.origin_weights
    counts = np.where(pair > 0, np.maximum(1, np.round(pair / pair.sum() * n_target)), 0).astype(np.int64)
    product, partner = np.nonzero(counts)
    reps = counts[product, partner]
    return np.repeat(partner, reps), np.repeat(product, reps)


def _ids(rng: np.random.Generator, n: int, prefix: np.ndarray | str, digits: int) -> pl.Series:
    """Distinct identifiers: a country prefix and a fixed number of digits."""
    numbers = rng.choice(9 * 10 ** (digits - 1), size=n, replace=False) + 10 ** (digits - 1)
    prefixes = pl.Series(np.broadcast_to(np.asarray(prefix), (n,)).astype(str))
    return prefixes + pl.Series(numbers).cast(pl.String)


def _industry(rng: np.random.Generator, products: np.ndarray) -> pl.Series:
    cat = catalogue()
    words = [industry_words(str(code)) for code in cat.hs_code]
    pick = rng.random(len(products))
    return pl.Series([words[p][int(u * len(words[p]))] for p, u in zip(products, pick, strict=True)])


def _bank_accounts(rng: np.random.Generator, countries: np.ndarray) -> pl.Series:
    out = np.full(len(countries), None, dtype=object)
    for country in np.unique(countries):
        if iban_supported(str(country)):
            rows = np.flatnonzero(countries == country)
            out[rows] = ibans(rng, str(country), len(rows))
    return pl.Series(out.tolist(), dtype=pl.String)


def _directors(rng: np.random.Generator, countries: np.ndarray) -> pl.Series:
    """One to three directors per company, ';'-separated."""
    n = len(countries)
    count = rng.choice([1, 1, 2, 2, 3], n)
    people = [person_names(rng, countries) for _ in range(3)]
    frame = pl.DataFrame({f"d{i}": people[i] for i in range(3)}).with_columns(pl.Series("k", count))
    return frame.select(pl.concat_str(
        [pl.col("d0"), pl.when(pl.col("k") >= 2).then(pl.col("d1")), pl.when(pl.col("k") >= 3).then(pl.col("d2"))],
        separator=";", ignore_nulls=True)).to_series()


def _company_rows(rng: np.random.Generator, countries: np.ndarray, products: np.ndarray, role: PartyRole,
                  party_ids: pl.Series, registered: np.ndarray, names: pl.DataFrame | None = None) -> pl.DataFrame:
    """Register rows for companies of one role."""
    names = names if names is not None else company_names(rng, countries, _industry(rng, products))
    domestic = countries == IMPORTING_COUNTRY
    # Dutch VAT numbers: NL + 9 digits + B + 2 digits; we reuse the EORI digits as traders often do.
    vat = pl.select(pl.when(pl.Series(domestic)).then(party_ids + "B01")).to_series()
    return pl.DataFrame({
        "party_id": party_ids,
        "name": names["name"],
        "country": countries.astype(str),
        "entity_type": EntityType.COMPANY.value,
        "roles": role.value,
        "eori": pl.select(pl.when(pl.Series(domestic)).then(party_ids)).to_series(),
        "vat": vat,
        "address": addresses(rng, countries),
        "phone": phones(rng, countries),
        "email": emails(rng, names["stem"], countries),
        "iban": _bank_accounts(rng, countries),
        "directors": _directors(rng, countries),
        "registered_on": registered,
        "legal_form": names["legal_form"],
        "stem": names["stem"],
    })


def _rings(rng: np.random.Generator, config: SimulationConfig, weight: np.ndarray,
           registered: np.ndarray) -> np.ndarray:
    """Ring number per importer (-1 outside rings); members are small importers, registered anew."""
    cfg = config.scheme(Scheme.FRONT_COMPANY)
    assert isinstance(cfg, FrontCompanyConfig)
    n_rings = cfg.rings or max(3, config.declarations // 2_500)
    sizes = rng.integers(cfg.min_members, cfg.max_members + 1, n_rings)
    candidates = np.flatnonzero(weight < np.quantile(weight, 0.9))
    members = rng.choice(candidates, size=min(int(sizes.sum()), len(candidates) // 4), replace=False)
    ring = np.full(len(weight), -1)
    ring[members] = np.repeat(np.arange(n_rings), sizes)[: len(members)]
    # Phoenix succession: members register one after another during the period.
    start = day_number(config.start_date)
    span = max(day_number(config.end_date) - start, 30)
    ring_start = start - 60 + rng.integers(0, span // 3, n_rings)
    rank = np.zeros(len(weight), dtype=np.int64)
    order = members[np.argsort(ring[members], kind="stable")]
    first = np.searchsorted(ring[order], ring[order], side="left")
    rank[order] = np.arange(len(order)) - first
    registered[members] = ring_start[ring[members]] + rank[members] * (span // cfg.max_members) \
        + rng.integers(0, 20, len(members))
    return ring


def _share_ring_identifiers(rng: np.random.Generator, register: pl.DataFrame, rows: np.ndarray,
                            ring: np.ndarray) -> pl.DataFrame:
    """Make ring members share directors, address, phone or bank account with their ring's first member."""
    if len(rows) == 0:
        return register
    order = np.lexsort((register["registered_on"].to_numpy()[rows], ring))
    rows, ring = rows[order], ring[order]
    leader = rows[np.searchsorted(ring, ring, side="left")]
    share = rng.random((len(rows), 4)) < np.array([0.8, 0.6, 0.5, 0.4])  # director, address, phone, iban
    share[~share.any(axis=1), 0] = True
    updated = {}
    for k, col in enumerate(("directors", "address", "phone", "iban")):
        values = register[col].to_numpy().astype(object)
        take = rows[share[:, k]]
        source = leader[share[:, k]]
        if col == "directors":  # the shared director joins the member's own board
            own = np.array([str(v).split(";")[0] for v in values[take]], dtype=object)
            lead = np.array([str(v).split(";")[0] for v in values[source]], dtype=object)
            values[take] = np.where(take == source, values[take], lead + ";" + own)
        else:
            values[take] = values[source]
        updated[col] = pl.Series(col, values.tolist(), dtype=pl.String)
    # Half the rings are phoenixes: successors trade under the founder's name stem.
    stems = register["stem"].to_numpy().astype(object)
    names = register["name"].to_numpy().astype(object)
    phoenix = (ring % 2 == 0) & (rows != leader)
    for member, lead in zip(rows[phoenix], leader[phoenix], strict=True):
        names[member] = str(names[member]).replace(str(stems[member]), str(stems[lead]), 1)
    updated["name"] = pl.Series("name", names.tolist(), dtype=pl.String)
    return register.with_columns(**updated)


def build_actors(rng: np.random.Generator, config: SimulationConfig) -> Actors:
    """Create every party of the world and their trading relationships."""
    cat = catalogue()
    n_imp, n_exp_target, n_brk = _counts(config)
    start, end = day_number(config.start_date), day_number(config.end_date)
    partner_codes = np.array([p.code for p in PARTNERS])

    exporter_partner, exporter_product = _exporters(rng, n_exp_target)
    n_exp = len(exporter_partner)

    weight = zipf_weights(rng, n_imp, config.importer_size_exponent)
    registered = np.where(rng.random(n_imp) < config.new_trader_share, rng.integers(start - 90, end - 30, n_imp),
                          rng.integers(day_number(date(1995, 1, 1)), start - 365, n_imp))
    ring = _rings(rng, config, weight, registered)

    # Product lines: a main product by popularity, then related products of the same chapter.
    products = np.empty((n_imp, SLOTS), dtype=np.int64)
    products[:, 0] = weighted(rng, cat.popularity, n_imp)
    chapter = np.array([int(code[:2]) for code in cat.hs_code])
    for s in range(1, SLOTS):
        related = pick_in_groups(rng, chapter, chapter[products[:, 0]])
        products[:, s] = np.where(rng.random(n_imp) < 0.6, related, weighted(rng, cat.popularity, n_imp))
    wl = config.scheme(Scheme.WATCHLISTED_PARTY)
    assert isinstance(wl, WatchlistConfig)
    exporter_watch = rng.random(n_exp) < wl.exporter_share
    if not exporter_watch.any():  # even a small world has a listed exporter to find
        exporter_watch[rng.integers(n_exp)] = True
    # Listed exporters are kept out of ordinary trade: they only appear where the scheme plants them.
    origin = choose_rows(rng, cat.origin_weights, products.ravel())
    pair_of_exporter = np.where(exporter_watch, -1, exporter_partner * len(cat) + exporter_product)
    by_country = pick_in_groups(rng, np.where(exporter_watch, -1, exporter_partner), origin)
    exporters = pick_in_groups(rng, pair_of_exporter, origin * len(cat) + products.ravel(), by_country)
    exporters = exporters.reshape(n_imp, SLOTS)

    broker_weight = zipf_weights(rng, n_brk, 0.8)
    broker = weighted(rng, broker_weight, n_imp)
    broker = np.where(weight >= np.quantile(weight, 0.98), -1, broker)  # the largest declare themselves

    free = (ring < 0) & (weight < np.quantile(weight, 0.95))
    importer_watch = free & (rng.random(n_imp) < wl.importer_share / 0.95)
    if not importer_watch.any():  # even a small world has a listed importer to find
        importer_watch[rng.choice(np.flatnonzero(free))] = True
    uv = config.scheme(Scheme.UNDERVALUATION)
    prone_share = getattr(uv, "trader_share", 0.06)
    importer_prone = free & ~importer_watch & (rng.random(n_imp) < prone_share)

    # Register: importers, exporters, brokers, carriers, then second registrations of some importers.
    imp_ids = _ids(rng, n_imp + n_brk, IMPORTING_COUNTRY, 9)
    importers = _company_rows(rng, np.full(n_imp, IMPORTING_COUNTRY), products[:, 0], PartyRole.IMPORTER,
                              imp_ids[:n_imp], registered)
    exp_countries = partner_codes[exporter_partner]
    exporters_reg = _company_rows(rng, exp_countries, exporter_product, PartyRole.EXPORTER,
                                  _ids(rng, n_exp, exp_countries, 10),
                                  rng.integers(day_number(date(1992, 1, 1)), start - 180, n_exp))
    brk_names = company_names(rng, np.full(n_brk, IMPORTING_COUNTRY),
                              pl.Series(np.asarray(_BROKER_WORDS)[rng.integers(0, len(_BROKER_WORDS), n_brk)]))
    brokers = _company_rows(rng, np.full(n_brk, IMPORTING_COUNTRY), np.zeros(n_brk, dtype=np.int64),
                            PartyRole.DECLARANT, imp_ids[n_imp:], rng.integers(start - 9000, start - 400, n_brk),
                            names=brk_names)
    n_car = len(CARRIERS)
    car_countries = np.array(CARRIER_COUNTRIES[:n_car])
    carrier_names = pl.DataFrame({"name": [c[0] for c in CARRIERS], "stem": [c[0].split()[0] for c in CARRIERS],
                                  "legal_form": [""] * n_car})
    carriers = _company_rows(rng, car_countries, np.zeros(n_car, dtype=np.int64), PartyRole.CARRIER,
                             _ids(rng, n_car, car_countries, 8), rng.integers(start - 15000, start - 3000, n_car),
                             names=carrier_names)
    register = pl.concat([importers, exporters_reg, brokers, carriers])
    n_reg = register.height
    entity = np.arange(n_reg)
    ring_all = np.concatenate([ring, np.full(n_reg - n_imp, -1)])
    watch_all = np.concatenate([importer_watch, exporter_watch, np.zeros(n_brk + n_car, dtype=bool)])
    role_all = np.concatenate([np.full(n_imp, "importer"), np.full(n_exp, "exporter"),
                               np.full(n_brk, "declarant"), np.full(n_car, "carrier")])
    register = _share_ring_identifiers(rng, register, np.flatnonzero(ring >= 0), ring[ring >= 0])

    # A few importers registered twice (a re-registration under a new number, the name respelt).
    dup = np.flatnonzero((rng.random(n_imp) < config.duplicate_registration_share) & (ring < 0))
    if len(dup) == 0:  # even a small world has one, so entity resolution has something to find
        dup = rng.choice(np.flatnonzero(ring < 0), size=1)
    variants = name_variants(rng, register["name"], register["legal_form"], np.zeros(n_reg, dtype=bool))
    dup_rows = register[dup].with_columns(
        party_id=_ids(rng, len(dup), IMPORTING_COUNTRY, 10),
        name=variants["name"].gather(dup * 5 + 1),
        # Re-registered some time between the first registration and the simulated period.
        registered_on=pl.col("registered_on") + ((pl.lit(start) - pl.col("registered_on")).clip(lower_bound=0)
                                                 * pl.Series(rng.uniform(0.2, 0.9, len(dup)))).cast(pl.Int64),
    ).with_columns(eori=pl.col("party_id"), vat=pl.lit(None, dtype=pl.String))
    register = pl.concat([register, dup_rows])
    dup_variants = name_variants(rng, dup_rows["name"], dup_rows["legal_form"], np.zeros(len(dup), dtype=bool))
    variants = pl.concat([variants, dup_variants.with_columns(pl.col("party") + n_reg)])
    alias = np.full(n_imp, -1)
    alias[dup] = n_reg + np.arange(len(dup))

    # Every registration date lies between 1990 and the end of the period, however short the world.
    first_day = day_number(date(1990, 1, 2))
    register = register.with_columns(
        registered_on=pl.col("registered_on").clip(first_day, end).cast(pl.Int64),
        entity_id="E" + pl.Series(np.concatenate([entity, dup])).cast(pl.String).str.zfill(7),
        ring_id=pl.Series(np.concatenate([ring_all, ring_all[dup]])),
        watchlisted=pl.Series(np.concatenate([watch_all, watch_all[dup]])),
        role=pl.Series(np.concatenate([role_all, role_all[dup]])),
    )
    return Actors(
        register=register, variants=variants, importer_row=np.arange(n_imp), importer_alias_row=alias,
        importer_weight=weight, importer_products=products, importer_exporters=exporters,
        importer_broker=broker, importer_registered=registered, importer_ring=ring,
        importer_watch=importer_watch, importer_prone=importer_prone,
        exporter_row=n_imp + np.arange(n_exp), exporter_partner=exporter_partner,
        exporter_product=exporter_product, exporter_price=rng.lognormal(0.0, 0.12, n_exp),
        exporter_watch=exporter_watch, broker_row=n_imp + n_exp + np.arange(n_brk),
        carrier_row=n_imp + n_exp + n_brk + np.arange(n_car), rings=int(ring.max()) + 1,
    )


@dataclass(frozen=True)
class Consumers:
    """Private persons receiving parcels (no trader identifier)."""

    names: pl.Series
    addresses: pl.Series
    variants: pl.DataFrame
    entity_id: pl.Series


def build_consumers(rng: np.random.Generator, config: SimulationConfig) -> Consumers:
    """Private parcel recipients in the importing country, with the spellings their names take."""
    n = max(200, config.declarations // 50)
    countries = np.full(n, IMPORTING_COUNTRY)
    names = person_names(rng, countries)
    return Consumers(
        names=names,
        addresses=addresses(rng, countries),
        variants=name_variants(rng, names, pl.Series([""] * n), np.ones(n, dtype=bool)),
        entity_id="P" + pl.Series(np.arange(n)).cast(pl.String).str.zfill(7),
    )
