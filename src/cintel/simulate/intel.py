"""Intelligence reports and watch lists.

Reports are graded with the 5x5x5 system and carry a TLP handling code. Most concern real
wrongdoing in the world (rings, listed parties, relabelling, concealment, undervaluation) and
name their subjects the way informants do, misspelt; the rest are low-grade noise about honest
traders. The watch list holds the listed importers and exporters with some of their aliases,
their directors, a few sanctioned vessels and many names that never trade here.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from cintel.domain.codes import EntityType, HandlingCode, InfoCredibility, SourceReliability
from cintel.domain.records import INTEL_REPORTS, WATCHLIST
from cintel.simulate.actors import Actors
from cintel.simulate.catalogue import CONCEALMENT_COVERS, PARTNERS, catalogue
from cintel.simulate.config import Scheme, SimulationConfig, WatchlistConfig
from cintel.simulate.declarations import Draft
from cintel.simulate.names import company_names, person_names
from cintel.simulate.noise import N_VARIANTS
from cintel.simulate.routes import Lanes
from cintel.simulate.sampling import date_strings, day_number, in_format

_CODES = np.array([p.code for p in PARTNERS])
_SOURCES = ("Customs intelligence unit", "Financial intelligence unit", "National police", "Partner customs "
            "administration", "Port community informant", "Anonymous tip-off", "Tax administration")
# Topic -> (share of reports, reliability options, credibility options, text template).
_TOPICS: dict[str, tuple[float, str, str, str]] = {
    "ring": (0.25, "BBC", "223", "{a} and {b} share a director ({d}) and business premises; suspected front "
             "companies that succeed one another and declare {goods} at very low values."),
    "watchlisted": (0.2, "ABB", "122", "{a} is reported to keep trading with the Netherlands under variant "
                    "spellings of its name to avoid sanctions screening."),
    "origin": (0.15, "BCC", "233", "{goods} made in China are said to be relabelled as {country} origin by {a} "
               "at {port} to evade anti-dumping duty."),
    "concealment": (0.1, "BCD", "234", "Information indicates that shipments of {goods} from {country} to {a} "
                    "may be used to smuggle prohibited goods ({hidden})."),
    "undervaluation": (0.15, "BCC", "233", "{a} is suspected of under-invoicing imports of {goods}; the supplier "
                       "{b} reportedly receives additional payments outside the invoice."),
    "noise": (0.15, "CDE", "345", "Unverified allegation that {a} is involved in irregular imports of {goods}."),
}


def _variant(actors: Actors, row: int, rng: np.random.Generator) -> str:
    """An informant's spelling of a registered party's name."""
    return str(actors.variants["name"][row * N_VARIANTS + int(rng.integers(0, N_VARIANTS))])


def intel_frame(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors) -> pl.DataFrame:
    """Intelligence reports, columns as INTEL_REPORTS (one Python step per report; there are few)."""
    cat = catalogue()
    n_reports = max(20, config.declarations // 400)
    start, end = day_number(config.start_date), day_number(config.end_date)
    register = actors.register
    register["name"]
    directors = register["directors"]
    topics = list(_TOPICS)
    shares = np.array([t[0] for t in _TOPICS.values()])
    topic = rng.choice(len(topics), n_reports, p=shares / shares.sum())
    pools = {
        "ring": actors.ring_importers,
        "watchlisted": np.concatenate([np.flatnonzero(actors.importer_watch),
                                       actors.exporter_row[np.flatnonzero(actors.exporter_watch)]]),
        "origin": np.flatnonzero(draft.scheme == Scheme.ORIGIN_MISDECLARATION.code),
        "concealment": np.flatnonzero(draft.scheme == Scheme.CONCEALMENT.code),
        "undervaluation": np.flatnonzero(draft.scheme == Scheme.UNDERVALUATION.code),
        "noise": np.flatnonzero(~actors.importer_prone & (actors.importer_ring < 0) & ~actors.importer_watch),
    }
    rows: list[dict[str, str]] = []
    for t in topic:
        name = topics[int(t)]
        _, reliability, credibility, template = _TOPICS[name]
        pool = pools[name]
        if len(pool) == 0:
            name, pool = "noise", pools["noise"]
            _, reliability, credibility, template = _TOPICS["noise"]
        pick = int(pool[rng.integers(0, len(pool))])
        fields: dict[str, str] = {"goods": "goods", "country": "", "port": "", "hidden": "", "b": "", "d": ""}
        subjects: list[str] = []
        if name == "ring":
            ring = actors.importer_ring[pick]
            mates = actors.ring_importers[actors.importer_ring[actors.ring_importers] == ring]
            other = int(mates[rng.integers(0, len(mates))])
            fields.update(a=_variant(actors, pick, rng), b=_variant(actors, other, rng),
                          d=str(directors[pick]).split(";")[0])
            fields["goods"] = str(cat.description[actors.importer_products[pick, 0]]).lower()
            subjects = [fields["a"], fields["b"], fields["d"]]
        elif name in ("watchlisted", "noise"):
            fields["a"] = _variant(actors, pick, rng)
            product = actors.importer_products[pick, 0] if pick < len(actors.importer_row) else \
                actors.exporter_product[pick - len(actors.importer_row)]
            fields["goods"] = str(cat.description[product]).lower()
            subjects = [fields["a"]]
        else:  # topics about a declaration's parties
            exporter_row = int(actors.exporter_row[draft.declared_exporter[pick]])
            importer_row = int(max(draft.importer_row[pick], 0))
            fields.update(goods=str(cat.description[draft.product[pick]]).lower(),
                          country=str(_CODES[draft.declared_partner[pick]]),
                          b=_variant(actors, exporter_row, rng))
            fields["a"] = fields["b"] if name == "origin" else _variant(actors, importer_row, rng)
            if name == "origin":
                fields["port"] = str(PARTNERS[int(draft.declared_partner[pick])].ports[0])
            if name == "concealment":
                fields["hidden"] = list(CONCEALMENT_COVERS.values())[int(draft.hidden[pick])][1].lower()
            subjects = [fields["a"]] if name != "undervaluation" else [fields["a"], fields["b"]]
        rows.append({
            "source_reliability": reliability[int(rng.integers(0, len(reliability)))],
            "info_credibility": credibility[int(rng.integers(0, len(credibility)))],
            "subject_entities": ";".join(s for s in subjects if s),
            "text": template.format(**fields),
            "source": _SOURCES[int(rng.integers(0, len(_SOURCES)))],
        })
    handling = np.array([HandlingCode.AMBER.value, HandlingCode.AMBER.value, HandlingCode.GREEN.value,
                         HandlingCode.AMBER_STRICT.value, HandlingCode.RED.value])
    frame = pl.DataFrame(rows).with_columns(
        report_id="IR" + pl.Series(np.arange(1, n_reports + 1)).cast(pl.String).str.zfill(6),
        report_date=date_strings(np.sort(rng.integers(start, end + 1, n_reports))),
        handling_code=pl.Series(handling[rng.integers(0, len(handling), n_reports)]),
    )
    assert set(frame["source_reliability"]) <= set(SourceReliability.codes())
    assert set(frame["info_credibility"]) <= set(InfoCredibility.codes())
    return in_format(frame, INTEL_REPORTS)


def _birth_dates(rng: np.random.Generator, config: SimulationConfig, n: int) -> pl.Series:
    """Dates of birth of adults. The record format rejects dates before 1990, so listed persons are
    born from 1990 on (and have no date where the world is too early for that)."""
    first = day_number(date(1990, 1, 1))
    last = day_number(config.start_date) - 20 * 365
    if last <= first:
        return pl.Series([None] * n, dtype=pl.String)
    return date_strings(rng.integers(first, last, n))


def watchlist_frame(rng: np.random.Generator, config: SimulationConfig, actors: Actors, lanes: Lanes) -> pl.DataFrame:
    """Watch-list entries, columns as WATCHLIST."""
    wl = config.scheme(Scheme.WATCHLISTED_PARTY)
    assert isinstance(wl, WatchlistConfig)
    register = actors.register
    start = day_number(config.start_date)
    listed = np.concatenate([np.flatnonzero(actors.importer_watch),
                             actors.exporter_row[np.flatnonzero(actors.exporter_watch)]])
    # Listed companies: registered name, a couple of known aliases, their identifier.
    alias_a = actors.variants["name"].gather(listed * N_VARIANTS + 1)
    alias_b = actors.variants["name"].gather(listed * N_VARIANTS + 3)
    companies = pl.DataFrame({
        "name": register["name"].gather(listed), "entity_type": EntityType.COMPANY.value,
        "aliases": alias_a + ";" + alias_b, "country": register["country"].gather(listed),
        "birth_date": pl.Series([None] * len(listed), dtype=pl.String),
        "imo": pl.Series([None] * len(listed), dtype=pl.String),
        "identifiers": register["party_id"].gather(listed), "program": "Customs fraud and sanctions evasion",
    })
    people = pl.DataFrame({
        "name": register["directors"].gather(listed).str.split(";").list.first(),
        "entity_type": EntityType.PERSON.value,
        "aliases": pl.Series([None] * len(listed), dtype=pl.String),
        "country": register["country"].gather(listed),
        "birth_date": _birth_dates(rng, config, len(listed)),
        "imo": pl.Series([None] * len(listed), dtype=pl.String),
        "identifiers": pl.Series([None] * len(listed), dtype=pl.String), "program": "Director of a listed company",
    })
    ships = rng.choice(lanes.vessels.height, size=min(wl.vessels, lanes.vessels.height), replace=False)
    vessels = pl.DataFrame({
        "name": lanes.vessels["name"].gather(ships), "entity_type": EntityType.VESSEL.value,
        "aliases": pl.Series([None] * len(ships), dtype=pl.String),
        "country": pl.Series([None] * len(ships), dtype=pl.String),
        "birth_date": pl.Series([None] * len(ships), dtype=pl.String),
        "imo": lanes.vessels["imo"].gather(ships), "identifiers": pl.Series([None] * len(ships), dtype=pl.String),
        "program": "Sanctioned vessel (ship-to-ship transfers)",
    })
    n_decoys = wl.decoy_entries or max(50, config.declarations // 200)
    countries = _CODES[rng.integers(0, len(_CODES), n_decoys)]
    decoy_names = company_names(rng, countries, pl.Series(["Trading"] * n_decoys))["name"]
    is_person = rng.random(n_decoys) < 0.4
    decoys = pl.DataFrame({
        "name": pl.select(pl.when(pl.Series(is_person)).then(person_names(rng, countries))
                          .otherwise(decoy_names)).to_series(),
        "entity_type": np.where(is_person, EntityType.PERSON.value, EntityType.COMPANY.value),
        "aliases": pl.Series([None] * n_decoys, dtype=pl.String), "country": countries,
        "birth_date": pl.select(pl.when(pl.Series(is_person)).then(_birth_dates(rng, config, n_decoys))).to_series(),
        "imo": pl.Series([None] * n_decoys, dtype=pl.String),
        "identifiers": pl.Series([None] * n_decoys, dtype=pl.String), "program": "Sanctions",
    })
    entries = pl.concat([companies, people, vessels, decoys])
    k = entries.height
    in_world = np.arange(k) < 2 * len(listed) + len(ships)
    entries = entries.with_columns(list_name=pl.Series(
        np.where(in_world | (rng.random(k) < 0.5), "SIM-SANCTIONS", "SIM-HIGH-RISK")))
    # Shuffled, so an entry's position does not tell whether it trades in the world.
    entries = entries[rng.permutation(k)]
    listed_on = rng.integers(start - 8 * 365, start - 30, k)
    frame = entries.with_columns(
        entry_id="SIM-" + pl.Series(np.arange(1, k + 1)).cast(pl.String).str.zfill(6),
        listed_on=date_strings(listed_on),
        list_version=pl.lit((config.end_date - timedelta(days=int(rng.integers(0, 30)))).isoformat()),
    )
    return in_format(frame, WATCHLIST)
