"""Real-time features: everything a scoring day needs from history, folded into small lookup tables.

``build_features`` reads a year of raw history on every call (about a second). For scoring one
declaration as it is lodged, ``feature_state(history, day)`` computes once per day, with the
batch path's own functions, every statistic a declaration of that day can need: peer statistics
of the day's week, the duty features of every code x origin pair of the history, importer and
declarant history and hit rates as of the day, the (importer, HS6) pairs already declared, and the
low-value declarations that may be split-shipment siblings. ``state_features(items, state)`` then
looks each row's statistics up in Python dicts (a join costs ~100 µs in Polars even on one row, a
dict lookup well under one) and applies the batch path's own column expressions (``PREPARE_COLUMNS``,
``PEER_COLUMNS``, ``ROUTE_COLUMNS``, ...) in four Polars calls, so for the items of day D it returns
what ``build_features(items, history_before_D)`` returns, in a few milliseconds.

Same-day declarations already lodged (``same_day``) count as split-shipment siblings, as they do
in a batch call that scores the whole day; the scored items replace same-day declarations with
the same id. Declarations scored must not appear in the history before the day.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import polars as pl

from cintel.risk.features_frame import PREPARE_COLUMNS, ROUTE_COLUMNS, History, declaration_features, prepare
from cintel.risk.features_history import (
    DECLARATION_ROW_COLUMNS,
    DECLARATION_ROW_FIRST,
    NEW_HS6_COLUMN,
    RELIEF_THRESHOLD,
    SPLIT_DAYS,
    declaration_rows,
    first_seen,
    hit_rate_features,
    inspection_events,
    split_column_exprs,
    trader_features,
)
from cintel.risk.features_network import NETWORK_COLUMNS, NetworkContext, network_features
from cintel.risk.features_peers import LOG_COLUMNS, PEER_COLUMNS, PEER_KEYS, PEER_STATS, peer_stats, peer_window
from cintel.risk.features_registry import FEATURES
from cintel.risk.features_tariff import is_dated, tariff_table

Key = tuple[Any, ...]
_UNSEEN = "\x00unseen"  # a key no trader has: its row holds the features of a trader never seen before
_IMPORTER = ("importer_declarations_before", "importer_declarations_90d", "importer_value_90d", "importer_age_days",
             "first_time_importer", "importer_inspections", "importer_hits", "importer_hit_rate", *NETWORK_COLUMNS)
_DECLARANT = ("declarant_inspections", "declarant_hits", "declarant_hit_rate")
_ITEM_KEYS = ("declaration_id", "declaration_date", "hs6", "country_of_origin", "unit_basis", "hs_code",
              "importer_key")
# Item features of rows that carry their looked-up statistics and their declaration's roll-up, history and split
# sums: the batch path's expressions in one with_columns (the declaration's importer key under another name).
_ITEM_COLUMNS = (*PEER_COLUMNS, *ROUTE_COLUMNS, NEW_HS6_COLUMN, *split_column_exprs(pl.col("_decl_importer_key")))
_DECLARATION_ROW = ["declaration_id", *DECLARATION_ROW_FIRST,
                    *[e.meta.output_name() for e in DECLARATION_ROW_COLUMNS]]


_FEW_ROWS = 32  # up to this many rows are fetched as stacked slices rather than with a gather


def _rows(frame: pl.DataFrame, positions: list[int]) -> pl.DataFrame:
    """The rows of ``frame`` at ``positions``. A few are stacked one-row slices (~2 µs a row, no thread pool),
    as a gather costs ~50 µs on a busy machine; more are gathered (fewer chunks for the calls that follow)."""
    if len(positions) > _FEW_ROWS:
        return frame[pl.Series(positions, dtype=pl.UInt32)]
    out = frame.head(0)
    for i in positions:
        out = out.vstack(frame.slice(i, 1))
    return out


@dataclass
class Lookup:
    """A left join done with a dict: ``index`` maps a key tuple (values of ``keys``) to a row of ``values`` (the
    looked-up columns); a key not in ``index`` gets the last row of ``values``, the default (all null, as a join
    miss, unless given). Found rows come back as rows of ``values`` (``_rows``), which keeps the table's types."""

    keys: tuple[str, ...]
    values: pl.DataFrame
    index: dict[Key, int]

    @classmethod
    def of(cls, table: pl.DataFrame, keys: Sequence[str], nulls_equal: bool = False,
           default: Key | None = None) -> Lookup:
        """The lookup of a table with unique keys; without ``nulls_equal`` a null key part never matches."""
        names = [c for c in table.columns if c not in keys]
        index = {k: i for i, k in enumerate(table.select(keys).iter_rows())}
        if not nulls_equal:
            index = {k: i for k, i in index.items() if None not in k}
        values = table.select(names)
        fallback = pl.DataFrame([default if default is not None else (None,) * len(names)], schema=values.schema,
                                orient="row")
        return cls(tuple(keys), pl.concat([values, fallback]), index)

    def take(self, columns: dict[str, list[Any]]) -> pl.DataFrame:
        """The looked-up rows for the keys in ``columns`` (one list per key column, all of one length)."""
        miss = self.values.height - 1
        rows = [self.index.get(k, miss) for k in zip(*(columns[c] for c in self.keys), strict=True)]
        return _rows(self.values, rows)

    def extend(self, other: Lookup) -> None:
        """Adds the keys of ``other`` (same columns) that this lookup lacks, keeping this lookup's default."""
        new = [(k, i) for k, i in other.index.items() if k not in self.index]
        if not new:
            return
        start = self.values.height - 1
        added = other.values[pl.Series([i for _, i in new], dtype=pl.UInt32)]
        self.values = pl.concat([self.values.head(start), added, self.values.tail(1)])
        self.index.update({k: start + j for j, (k, _) in enumerate(new)})


@dataclass(frozen=True)
class FeatureState:
    """What the features of any declaration of ``day`` need from the history before it (see module doc)."""

    day: date
    peers: tuple[Lookup, ...]  # peer statistics of the day's week, one per PEER_STATS table
    tariff: Lookup  # duty features per (hs_code, origin) on the day; extended when a new pair is scored
    first_seen: Lookup  # (importer key, HS6) -> first day declared, pairs declared before the day
    importers: Lookup  # importer key -> history and hit-rate features as of the day
    declarants: Lookup  # declarant -> hit-rate features as of the day
    # (importer key, main HS6) -> low-value declarations (id, day, total) of the SPLIT_DAYS before and the day
    siblings: dict[Key, list[tuple[str, date, float]]]
    tariff_frame: pl.DataFrame = field(repr=False)  # the tariff, to value pairs not yet in ``tariff``


def _tariff_lookup(pairs: pl.DataFrame, tariff: pl.DataFrame, day: date) -> Lookup:
    on = pl.lit(day if is_dated(tariff) else None, pl.Date)
    keys = pairs.select(pl.col("hs_code").alias("code"), pl.col("country_of_origin").alias("origin")).unique()
    table = tariff_table(keys.with_columns(on=on), tariff).drop("on")
    return Lookup.of(table, ["code", "origin"], nulls_equal=True)


def _trader_tables(decls: pl.DataFrame, inspections: pl.DataFrame, day: date,
                   network: NetworkContext | None) -> tuple[Lookup, Lookup]:
    """Importer and declarant features as of ``day``, by the batch functions, for every known trader,
    the null trader and an unseen one (the default of a key not found)."""
    events = inspection_events(inspections.filter(pl.col("inspection_date") < day), decls)
    schema = {"importer_key": pl.String, "declarant_id": pl.String, "declaration_date": pl.Date}

    def query(column: str) -> pl.DataFrame:
        known = decls.get_column(column).drop_nulls().unique().to_list()
        if column == "importer_key" and network is not None:
            # The network knows importers that never declared before (a new front company of a known ring).
            known = sorted(set(known) | set(network.importers.get_column("importer_key").to_list()))
        ids = [*known, None, _UNSEEN]
        other = "declarant_id" if column == "importer_key" else "importer_key"
        return pl.DataFrame({column: ids, other: [None] * len(ids), "declaration_date": [day] * len(ids)},
                            schema=schema)

    importers = network_features(network, hit_rate_features(events, trader_features(decls, query("importer_key"))))
    declarants = hit_rate_features(events, query("declarant_id"))
    out = []
    for table, key, columns in ((importers, "importer_key", _IMPORTER), (declarants, "declarant_id", _DECLARANT)):
        table = table.select(key, *columns)
        unseen = table.filter(pl.col(key) == _UNSEEN).drop(key).row(0)
        out.append(Lookup.of(table.filter(pl.col(key).ne_missing(_UNSEEN)), [key], nulls_equal=True, default=unseen))
    return out[0], out[1]


def _small_declarations(decls: pl.DataFrame) -> dict[Key, list[tuple[str, date, float]]]:
    small = decls.filter(pl.col("total_customs_value") <= RELIEF_THRESHOLD, pl.col("importer_key").is_not_null(),
                         pl.col("main_hs6").is_not_null())
    out: dict[Key, list[tuple[str, date, float]]] = {}
    for decl, day, key, hs6, total in small.select("declaration_id", "declaration_date", "importer_key", "main_hs6",
                                                   "total_customs_value").iter_rows():
        out.setdefault((key, hs6), []).append((decl, day, total))
    return out


def feature_state(history: History, day: date, same_day: pl.DataFrame | None = None) -> FeatureState:
    """The feature state of ``day``: what the features of its declarations need from ``history`` (rows dated
    before the day; later rows are ignored) and from ``same_day``, the day's items already lodged."""
    items = history.items.filter(pl.col("declaration_date") <= day)
    if same_day is not None and same_day.height:
        lodged = same_day.filter(pl.col("declaration_date") == day)
        items = pl.concat([items.filter(~pl.col("declaration_id").is_in(lodged["declaration_id"].implode())),
                           lodged], how="vertical_relaxed")
    rows = prepare(items)
    past = rows.filter(pl.col("declaration_date") < day)
    stats = peer_stats(peer_window(past, day - timedelta(days=day.weekday())))
    decls = declaration_rows(rows)
    past_decls = decls.filter(pl.col("declaration_date") < day)
    importers, declarants = _trader_tables(past_decls, history.inspections, day, history.network)
    return FeatureState(
        day=day,
        peers=tuple(Lookup.of(stats[name], PEER_KEYS[name]) for name in PEER_STATS),
        # Every code x origin of the history valued now, so scoring a declaration does not pay the valuation.
        tariff=_tariff_lookup(rows, history.tariff, day),
        first_seen=Lookup.of(first_seen(past), ["importer_key", "hs6"]),
        importers=importers,
        declarants=declarants,
        siblings=_small_declarations(decls.filter(pl.col("declaration_date") >= day - timedelta(days=SPLIT_DAYS))),
        tariff_frame=history.tariff,
    )


def _value_new_pairs(state: FeatureState, codes: list[Any], origins: list[Any]) -> None:
    """Adds the duty features of code x origin pairs the state has not valued yet (a rare, slower path)."""
    new = {(c, o) for c, o in zip(codes, origins, strict=True) if (c, o) not in state.tariff.index}
    if new:
        pairs = pl.DataFrame({"hs_code": [c for c, _ in new], "country_of_origin": [o for _, o in new]},
                             schema={"hs_code": pl.String, "country_of_origin": pl.String})
        state.tariff.extend(_tariff_lookup(pairs, state.tariff_frame, state.day))


def _split_sums(state: FeatureState, decls: dict[str, list[Any]]) -> tuple[list[int], list[float]]:
    """Per scored declaration: count and value of the low-value declarations of its importer and main HS6 on
    the day and the SPLIT_DAYS before, itself included (the scored versions replace lodged ones)."""
    scored = set(decls["declaration_id"])
    own: dict[Key, list[tuple[str, date, float]]] = {}
    for decl, key, hs6, total in zip(decls["declaration_id"], decls["importer_key"], decls["main_hs6"],
                                     decls["total_customs_value"], strict=True):
        if key is not None and hs6 is not None and total is not None and total <= RELIEF_THRESHOLD:
            own.setdefault((key, hs6), []).append((decl, state.day, total))
    n_sums: list[int] = []
    v_sums: list[float] = []
    for key, hs6 in zip(decls["importer_key"], decls["main_hs6"], strict=True):
        known = [s for s in state.siblings.get((key, hs6), []) if s[0] not in scored] + own.get((key, hs6), [])
        # Summed day by day, most recent first, as the batch path adds its shifted daily totals.
        v = 0.0
        for back in range(SPLIT_DAYS + 1):
            on = state.day - timedelta(days=back)
            v += sum(t for _, d, t in known if d == on)
        n_sums.append(len(known))
        v_sums.append(v)
    return n_sums, v_sums


@lru_cache(maxsize=64)
def _layout(columns: tuple[str, ...], present: tuple[str, ...]) -> list[str]:
    """The columns of the item frame, as ``finish_items`` orders them."""
    have = set(present)
    return [*columns, *[c for c in FEATURES if c in have and c not in columns]]


def state_features(items: pl.DataFrame, state: FeatureState) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(item frame, declaration frame) of ``items``, all dated ``state.day``: the frames ``build_features``
    returns for them against the history the state was built from.

    The batch path's column expressions are applied in four Polars calls (the two steps of ``prepare``, with the
    declaration roll-up as window aggregates beside the second; the item, route and split-shipment features; the
    declaration frame): on a few rows Polars costs ~0.1 ms a call, more than the work itself. Statistics come
    from the state's lookups as rows, and declaration-level values reach their items by position, not by a join.
    """
    prepared = items.with_columns(PREPARE_COLUMNS)
    ids = prepared.get_column("declaration_id").to_list()
    first: dict[Any, int] = {}  # each declaration's first item
    for i, decl in enumerate(ids):
        first.setdefault(decl, i)
    rollup = DECLARATION_ROW_COLUMNS if len(first) == 1 else [e.over("declaration_id")
                                                                for e in DECLARATION_ROW_COLUMNS]
    targets = prepared.with_columns(*LOG_COLUMNS, *rollup)
    keys = {c: targets.get_column(c).to_list() for c in _ITEM_KEYS}
    if any(d != state.day for d in keys["declaration_date"]):
        raise ValueError(f"state_features: items must be dated {state.day} (the day of the feature state)")
    keys["code"], keys["origin"] = keys["hs_code"], keys["country_of_origin"]
    _value_new_pairs(state, keys["code"], keys["origin"])

    # declaration_rows' columns: the first item's values beside the roll-up aggregates
    decls = _rows(targets, list(first.values()))[_DECLARATION_ROW]
    columns = decls.to_dict(as_series=False)
    n_sums, v_sums = _split_sums(state, columns)
    per_decl = pl.concat([state.importers.take(columns), state.declarants.take(columns)], how="horizontal").hstack(
        [decls.get_column("importer_key").alias("_decl_importer_key"), pl.Series("_n_sum", n_sums, dtype=pl.Int64),
         pl.Series("_v_sum", v_sums, dtype=pl.Float64)])
    position = {d: i for i, d in enumerate(columns["declaration_id"])}
    per_item = _rows(per_decl, [position[d] for d in ids])

    found = [lookup.take(keys) for lookup in (*state.peers, state.tariff, state.first_seen)]
    out = pl.concat([targets, *found, per_item], how="horizontal").with_columns(_ITEM_COLUMNS)
    item_frame = out[_layout(tuple(items.columns), tuple(out.columns))]
    return item_frame, declaration_features(item_frame)
