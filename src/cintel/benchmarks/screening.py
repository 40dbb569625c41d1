"""Screening benchmark: throughput and recall of watch-list screening against an exact-name baseline.

A synthetic list of ``entries`` names (60 % companies from ``simulate.names.company_names``, 40 %
people from ``person_names``) is indexed, and ``queries`` names are screened against it: half are
listed names spelt as the simulator misspells parties on declarations (``noise.name_variants``:
typos, case, legal forms, abbreviations, transliteration, reordering), half are names not on the
list. Index build and screening are timed in one process (rapidfuzz with ``workers=1``), and the
exact baseline (``exact_screen``: equal casefolded names) runs on the same queries in the same run.

Recall counts a noisy listed query as found when one of its hits is an entry whose listed name is
the query's source name (the synthetic list repeats common person names, so any entry of that name
is as right as another). The false-positive rate is the share of unlisted queries with any hit.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import polars as pl

from cintel.entities.normalise import name_key
from cintel.entities.screen import build_index, exact_screen, screen
from cintel.simulate.names import CALLING_CODES, company_names, person_names
from cintel.simulate.noise import N_VARIANTS, name_variants

log = logging.getLogger(__name__)

PERSON_SHARE = 0.4
_INDUSTRIES = ("Trading", "Electronics", "Textiles", "Logistics", "Machinery", "Import Export", "Industries",
               "Global", "Furniture", "Chemicals", "Fresh Produce", "International")


def _names(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """n synthetic party names: columns name, legal_form, is_person, country."""
    codes = np.asarray(sorted(CALLING_CODES))
    countries = codes[rng.integers(0, len(codes), n)]
    is_person = rng.random(n) < PERSON_SHARE
    industry = pl.Series(np.asarray(_INDUSTRIES)[rng.integers(0, len(_INDUSTRIES), n)])
    companies = company_names(rng, countries, industry)
    people = person_names(rng, countries)
    person = pl.Series(is_person)
    return pl.DataFrame({
        "name": pl.select(pl.when(person).then(people).otherwise(companies["name"])).to_series(),
        "legal_form": pl.select(pl.when(person).then(pl.lit("")).otherwise(companies["legal_form"])).to_series(),
        "is_person": is_person, "country": countries,
    })


def _watchlist(names: pl.DataFrame) -> pl.DataFrame:
    n = names.height
    return pl.DataFrame({
        "list_name": "BENCH", "entry_id": [f"B{i:07d}" for i in range(n)], "name": names["name"],
        "entity_type": np.where(names["is_person"].to_numpy(), "person", "company"),
        "aliases": pl.Series([None] * n, dtype=pl.String), "country": names["country"],
        "list_version": "bench",
    })


def run_screening(entries: int = 100_000, queries: int = 20_000, seed: int = 0) -> dict[str, Any]:
    """Time index build, screening and the exact baseline; measure recall and false positives (JSON-ready)."""
    rng = np.random.default_rng(seed)
    listed = _names(rng, entries)
    watchlist = _watchlist(listed)
    n_noisy = queries // 2
    picked = rng.choice(entries, size=min(n_noisy, entries), replace=False)
    source = listed[picked]
    variants = name_variants(rng, source["name"], source["legal_form"], source["is_person"].to_numpy())
    choice = np.arange(len(picked)) * N_VARIANTS + rng.integers(1, N_VARIANTS, len(picked))
    noisy = pl.DataFrame({"party_key": [f"N{i}" for i in range(len(picked))],
                          "name": variants["name"].gather(choice), "source": source["name"],
                          "country": source["country"], "is_person": source["is_person"]})
    # Unlisted: fresh names whose key is on no listed name (a fresh name can repeat a listed one).
    listed_keys = {name_key(x) for x in listed["name"]}
    fresh = _names(rng, (queries - len(picked)) * 2)
    fresh = fresh.filter(pl.Series([name_key(x) not in listed_keys for x in fresh["name"]])).head(queries - len(picked))
    unlisted = pl.DataFrame({"party_key": [f"U{i}" for i in range(fresh.height)], "name": fresh["name"],
                             "source": pl.Series([None] * fresh.height, dtype=pl.String),
                             "country": fresh["country"], "is_person": fresh["is_person"]})
    parties = pl.concat([noisy, unlisted])

    t0 = time.perf_counter()
    index = build_index(watchlist)
    index_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    hits = screen(index, parties.select("party_key", "name", "country",
                                        pl.when("is_person").then(pl.lit("person")).otherwise(pl.lit("company"))
                                        .alias("entity_type")))
    screen_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = exact_screen(watchlist, parties.select("party_key", "name"))
    baseline_seconds = time.perf_counter() - t0

    names_by_entry = watchlist.select("entry_id", pl.col("name").alias("entry_name"))

    def recall(found: pl.DataFrame, person: bool | None = None) -> float:
        wanted = noisy if person is None else noisy.filter(pl.col("is_person") == person)
        right = found.join(names_by_entry, on="entry_id").join(wanted.select("party_key", "source"), on="party_key")
        ok = right.filter(pl.col("entry_name") == pl.col("source"))["party_key"].n_unique()
        return round(ok / max(wanted.height, 1), 4)

    def false_positives(person: bool | None = None) -> float:
        clean = unlisted if person is None else unlisted.filter(pl.col("is_person") == person)
        alerted = hits.join(clean.select("party_key"), on="party_key")["party_key"].n_unique()
        return round(alerted / max(clean.height, 1), 4)

    out: dict[str, Any] = {
        "entries": entries, "queries": parties.height,
        "index_seconds": round(index_seconds, 3), "screen_seconds": round(screen_seconds, 3),
        "screenings_per_second": round(parties.height / screen_seconds, 1),
        "baseline_screenings_per_second": round(parties.height / max(baseline_seconds, 1e-9), 1),
        "ratio_to_exact": round(screen_seconds / max(baseline_seconds, 1e-9), 1),
        "recall_on_noisy_listed": recall(hits),
        "exact_recall_on_noisy_listed": recall(exact),
        "false_positive_rate": false_positives(),
        # The same split by kind: the simulator's person-name pools are small, so at list sizes in the
        # tens of thousands nearly every "unlisted" person name is a listed one, reordered or respelt.
        "recall_companies": recall(hits, False), "recall_persons": recall(hits, True),
        "false_positive_rate_companies": false_positives(False), "false_positive_rate_persons": false_positives(True),
    }
    log.info("screening benchmark: %s", out)
    return out
