"""The pieces of the feature frames that batch scoring and real-time scoring share.

``features.build_features`` (history as raw rows) and ``features_state.state_features`` (history
folded into lookup tables for one day) differ only in where a row's statistics come from; both
prepare items, add the row-wise route features (``ROUTE_COLUMNS``), attach declaration-level features and roll items
up into declarations with the functions here, so the two give the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from cintel.risk.feature_spec import FeatureLevel
from cintel.risk.features_history import importer_key, per_declaration
from cintel.risk.features_network import NetworkContext
from cintel.risk.features_peers import LOG_COLUMNS, UNIT_VALUE_COLUMNS
from cintel.risk.features_registry import AGGREGATES, FEATURES, HEADER_COLUMNS
from cintel.settings import get_settings

ROUND_VALUE_STEP = 100.0  # invoice values that are whole multiples of this look made up rather than invoiced
DECLARATION_FEATURES = [n for n, s in FEATURES.items() if s.level is FeatureLevel.DECLARATION]


@dataclass(frozen=True)
class History:
    """What is known before the scored day(s): past items (columns of ``load_items``), past inspections
    (columns of INSPECTIONS), the tariff (columns of TARIFF) and the entity network."""

    items: pl.DataFrame
    inspections: pl.DataFrame
    tariff: pl.DataFrame
    # The resolved entity network, when the store has one (see ``features_network``).
    network: NetworkContext | None = None


# The columns ``prepare`` adds to items: importer key and the ``UNIT_VALUE_COLUMNS``, then the ``LOG_COLUMNS``.
PREPARE_COLUMNS: tuple[pl.Expr, ...] = (importer_key().alias("importer_key"), *UNIT_VALUE_COLUMNS)


def prepare(items: pl.DataFrame) -> pl.DataFrame:
    """Items with their importer key, HS6, unit basis, unit values and week (see ``UNIT_VALUE_COLUMNS``)."""
    return items.with_columns(PREPARE_COLUMNS).with_columns(LOG_COLUMNS)


def _document_types() -> pl.Expr:
    """The types of the documents an item comes with: its own and its declaration's ('TYPE:REFERENCE' entries)."""
    entries = pl.concat_list([pl.col("item_documents").fill_null("").str.split(";"),
                              pl.col("documents").fill_null("").str.split(";")])
    return entries.list.eval(pl.element().str.split(":").list.first().filter(pl.element() != ""))


def _regime_columns() -> list[pl.Expr]:
    settings = get_settings()
    preference = pl.col("preference_code")
    claimed = (preference.is_not_null() & ~preference.is_in(list(settings.no_preference_codes))).fill_null(False)
    proved = _document_types().list.eval(pl.element().is_in(list(settings.origin_proof_document_types))).list.any()
    return [
        claimed.alias("preference_claimed"),
        (claimed & ~proved.fill_null(False)).alias("preference_without_proof"),
        pl.col("procedure_code").is_in(list(settings.relief_procedure_codes)).fill_null(False)
        .alias("relief_procedure"),
    ]


def _route_columns() -> list[pl.Expr]:
    ports = pl.col("transshipment_ports").fill_null("").str.count_matches(r"[^;]+")  # non-empty ';'-separated parts
    invoice = pl.col("invoice_value")
    return [
        *_regime_columns(),
        pl.col("hs_code").str.slice(0, 2).alias("hs_chapter"),
        (pl.col("country_of_origin") != pl.col("country_of_dispatch")).alias("origin_differs_dispatch"),
        ports.cast(pl.Int64).alias("n_transshipment_ports"),
        (ports > 0).alias("transshipped"),
        (pl.col("port_of_loading").str.slice(0, 2) != pl.col("country_of_dispatch")).fill_null(False)
        .alias("loading_country_differs_dispatch"),
        ((invoice >= ROUND_VALUE_STEP) & ((invoice / ROUND_VALUE_STEP).round(0) * ROUND_VALUE_STEP == invoice))
        .alias("round_value"),
    ]


# The row-wise features: customs regime (preference, proof of origin, relief procedure), HS chapter, route (origin
# vs dispatch, transshipments) and round values.
ROUTE_COLUMNS: tuple[pl.Expr, ...] = tuple(_route_columns())


def finish_items(out: pl.DataFrame, per_decl: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """The item frame: ``out`` (prepared items with ``_order`` and item features) joined to the declaration-level
    features in ``per_decl``, in input order, with the input ``columns`` then the features in FEATURES order
    (a fixed order, so frames built by different paths compare equal)."""
    per_decl = per_decl.select("declaration_id", *[c for c in per_decl.columns if c in DECLARATION_FEATURES])
    out = out.join(per_decl, on="declaration_id", how="left").sort("_order")
    present = set(out.columns)
    return out.select(*columns, *[c for c in FEATURES if c in present and c not in columns])


@lru_cache(maxsize=64)
def _rollup(columns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[pl.Expr, ...]]:
    """What ``declaration_features`` takes from an item frame with ``columns`` (worked out once per layout):
    the header and history columns (first item's value) and the aggregates."""
    header = [c for c in HEADER_COLUMNS if c in columns and c != "declaration_id"]
    history = [c for c in DECLARATION_FEATURES if c in columns and c not in AGGREGATES and c not in header]
    exprs: list[pl.Expr] = []
    for name, agg in AGGREGATES.items():
        exprs += agg.exprs(name)
    return (*header, *history), tuple(exprs)


def declaration_features(item_frame: pl.DataFrame) -> pl.DataFrame:
    """One row per declaration: header fields, item aggregates (worst item, with its context) and the
    declaration-level history, route and split-shipment features; ordered by date and id."""
    first, exprs = _rollup(tuple(item_frame.columns))
    out = per_declaration(item_frame, exprs, first)
    return out.sort("declaration_date", "declaration_id") if out.height > 1 else out
