"""Risk features of declarations, point in time: the one entry point rules, models and backtests use.

``build_features(items, history)`` scores the declaration items in ``items`` against ``history``
(everything known before them). Features of a declaration of day D use only rows dated before D
- peer prices, trader history, inspection results - so the same call serves daily scoring (items
of one day, history before it) and training over a long window (items of many days, history
before the window) with identical values. The computations live in ``features_peers`` (value and
mass against peers), ``features_tariff`` (duty incentives) and ``features_history`` (traders,
declarants, split shipments); ``features_registry`` says what each column means and how to explain it.
"""

from __future__ import annotations

import polars as pl

from cintel.domain.records import DECLARATIONS
from cintel.risk.feature_spec import FeatureKind, FeatureLevel
from cintel.risk.features_frame import ROUTE_COLUMNS, History, declaration_features, finish_items, prepare
from cintel.risk.features_history import (
    NEW_HS6_COLUMN,
    declaration_rows,
    first_seen,
    hit_rate_features,
    inspection_events,
    split_features,
    trader_features,
)
from cintel.risk.features_history import labels as labels
from cintel.risk.features_network import network_features
from cintel.risk.features_peers import peer_features
from cintel.risk.features_registry import AGGREGATES, FEATURES
from cintel.risk.features_state import FeatureState, feature_state, state_features
from cintel.risk.features_tariff import tariff_features

__all__ = ["FEATURES", "FeatureState", "History", "build_features", "categorical_features", "declaration_features",
           "feature_state", "item_features", "labels", "model_features", "rule_columns", "state_features"]


def item_features(items: pl.DataFrame, history: History) -> pl.DataFrame:
    """One row per input item, in input order: the input columns plus every item-level feature and the
    declaration-level history features of its declaration (rules see those on each item)."""
    targets = prepare(items).with_row_index("_order")
    scored = targets.get_column("declaration_id").unique()
    past = prepare(history.items.filter(~pl.col("declaration_id").is_in(scored.implode())))
    keep = ["declaration_id", "declaration_date", "importer_key", "declarant_id", "hs6", "customs_value",
            "country_of_origin", "unit_basis", "log_uv", "log_kpu"]
    timeline = pl.concat([past.select(keep), targets.select(keep)], how="vertical_relaxed")

    out = peer_features(targets, timeline)
    out = tariff_features(out, history.tariff)
    out = (out.join(first_seen(timeline), on=["importer_key", "hs6"], how="left")
           .with_columns(*ROUTE_COLUMNS, NEW_HS6_COLUMN).drop("first_seen"))

    decls = declaration_rows(timeline)
    wanted = decls.filter(pl.col("declaration_id").is_in(scored.implode()))
    per_decl = trader_features(decls, wanted)
    per_decl = hit_rate_features(inspection_events(history.inspections, decls), per_decl)
    per_decl = network_features(history.network, per_decl)
    per_decl = split_features(decls, per_decl)
    return finish_items(out, per_decl, items.columns)


def build_features(items: pl.DataFrame, history: History) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(item frame, declaration frame) of ``items`` scored against ``history``."""
    item_frame = item_features(items, history)
    return item_frame, declaration_features(item_frame)


def model_features() -> list[str]:
    """Declaration-level columns a model may learn from."""
    return [n for n, s in FEATURES.items() if s.model_input and (s.level is FeatureLevel.DECLARATION)]


def categorical_features() -> list[str]:
    """The model features that are categories (strings), for LightGBM's categorical handling."""
    return [n for n in model_features() if FEATURES[n].kind is FeatureKind.CATEGORY]


_RULE_TYPES = {FeatureKind.NUMBER: "number", FeatureKind.CATEGORY: "string", FeatureKind.FLAG: "bool"}


def rule_columns() -> dict[str, str]:
    """Columns of the item frame a rule may test: the declaration's own fields and every feature on items."""
    out: dict[str, str] = {}
    for f in DECLARATIONS.fields:
        kind = f.kind.value
        out[f.name] = "date" if kind == "date" else "number" if kind in ("decimal", "integer") else "string"
    for name, spec in FEATURES.items():
        if name not in AGGREGATES:
            out[name] = _RULE_TYPES[spec.kind]
    return out
