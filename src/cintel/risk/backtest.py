"""Replay a scored window: how well would the score, the rules and the channel selection have targeted it?

Inputs are one row per declaration: ``declaration_id``, ``score`` (the priority the ranking uses),
``is_fraud`` (bool; null = not inspected, so unknown), ``revenue`` (revenue recovered or at risk; null
counts as 0), ``rule_ids`` (list of rules hit), ``importer_id``; for the capacity replay also
``declaration_date`` and, when present, ``rule_channel``, ``rule_score``, ``probability`` and the
historical ``channel``.

Labels exist only where someone inspected, so every rate here is measured on labelled declarations and
is an estimate biased towards what past targeting chose to look at; the counts of labelled rows are
reported next to the rates so a reader can see how thin the evidence is. The random sample of
:mod:`cintel.risk.selection` is what eventually removes that bias.

"Honest traders stopped": an importer is honest in the window when none of its declarations is known to
be fraudulent; the share is honest importers with at least one declaration selected, over all honest
importers. For the top n % that population is the importers with a labelled declaration (the ranking is
over labelled rows, as in the DATE definitions); for the capacity replay it is every importer.

Everything returned is JSON-ready (undefined rates are ``None``), so a run can store it as is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from cintel.risk.metrics import LEVELS, targeting_report, top_mask
from cintel.risk.selection import SelectionPolicy, select

REQUIRED_COLUMNS: tuple[str, ...] = ("declaration_id", "score", "is_fraud", "revenue", "rule_ids", "importer_id")
INSPECTED_CHANNELS: tuple[str, ...] = ("red", "yellow")


def _check(frame: pl.DataFrame, extra: tuple[str, ...] = ()) -> None:
    missing = [c for c in (*REQUIRED_COLUMNS, *extra) if c not in frame.columns]
    if missing:
        raise ValueError(f"backtest: frame lacks columns {missing}; expected {[*REQUIRED_COLUMNS, *extra]}")


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _clean(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _with_revenue(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("revenue").cast(pl.Float64).fill_null(0.0).fill_nan(0.0))


def honest_stopped(importer_id: pl.Series, is_fraud: pl.Series, selected: pl.Series) -> float | None:
    """Share of importers with no known fraud that had at least one declaration selected (None if none)."""
    per = (pl.DataFrame({"imp": importer_id, "fraud": is_fraud.fill_null(False), "sel": selected.fill_null(False)})
           .group_by("imp").agg(pl.col("fraud").any(), pl.col("sel").any())
           .filter(~pl.col("fraud")))
    return _ratio(int(per["sel"].sum()), per.height)


def targeting(frame: pl.DataFrame, levels: tuple[float, ...] = LEVELS) -> dict[str, float | None]:
    """Precision, recall and revenue @n % (DATE top n % by score, on labelled rows), AUC, revenue per
    inspection and the share of honest importers stopped in each top n %."""
    labelled = _with_revenue(frame.filter(pl.col("is_fraud").is_not_null()))
    y = labelled["is_fraud"].cast(pl.Float64).to_numpy()
    s = labelled["score"].cast(pl.Float64).fill_null(-np.inf).to_numpy()
    r = labelled["revenue"].to_numpy()
    report: dict[str, float | None] = {k: _clean(v) for k, v in targeting_report(y, s, r, levels).items()}
    for n in levels:
        mask = top_mask(s, n)
        report[f"revenue_per_inspection@{n:g}%"] = _ratio(r[mask].sum(), mask.sum()) if mask.size else None
        report[f"honest_stopped@{n:g}%"] = honest_stopped(labelled["importer_id"], labelled["is_fraud"],
                                                          pl.Series(mask))
    return report


def rule_table(frame: pl.DataFrame) -> pl.DataFrame:
    """One row per rule: hits, load (share of all declarations), labelled hits, frauds, hit rate, revenue found.

    Revenue found is the revenue of the rule's hits known to be fraudulent.
    """
    n = frame.height
    hits = (_with_revenue(frame).select("declaration_id", "rule_ids", "is_fraud", "revenue")
            .explode("rule_ids").drop_nulls("rule_ids").unique(["declaration_id", "rule_ids"]))
    return (hits.group_by(pl.col("rule_ids").alias("rule_id"))
            .agg(hits=pl.len(), labelled=pl.col("is_fraud").count(), frauds=pl.col("is_fraud").sum(),
                 revenue=pl.col("revenue").filter(pl.col("is_fraud").fill_null(False)).sum())
            .with_columns(load=pl.col("hits") / n if n else pl.lit(None, dtype=pl.Float64),
                          hit_rate=pl.when(pl.col("labelled") > 0).then(pl.col("frauds") / pl.col("labelled")))
            .select("rule_id", "hits", "load", "labelled", "frauds", "hit_rate", "revenue")
            .sort("hits", "rule_id", descending=[True, False]))


def outcome(frame: pl.DataFrame, selected: pl.Series) -> dict[str, float | int | None]:
    """What a set of selected declarations found: counts, precision on labelled ones, revenue and its share."""
    f = _with_revenue(frame).with_columns(sel=selected.fill_null(False))
    fraud = pl.col("is_fraud").fill_null(False)
    row = f.select(
        selected=pl.col("sel").sum(), labelled=(pl.col("sel") & pl.col("is_fraud").is_not_null()).sum(),
        frauds=(pl.col("sel") & fraud).sum(), revenue=pl.col("revenue").filter(pl.col("sel") & fraud).sum(),
        total_revenue=pl.col("revenue").filter(fraud).sum(), total_frauds=fraud.sum(),
    ).row(0, named=True)
    return {
        "selected": int(row["selected"]), "labelled": int(row["labelled"]), "frauds": int(row["frauds"]),
        "precision": _ratio(row["frauds"], row["labelled"]), "recall": _ratio(row["frauds"], row["total_frauds"]),
        "revenue": float(row["revenue"]), "revenue_share": _ratio(row["revenue"], row["total_revenue"]),
        "revenue_per_inspection": _ratio(row["revenue"], row["selected"]),
        "honest_stopped": honest_stopped(f["importer_id"], f["is_fraud"], f["sel"]),
    }


def replay_selection(frame: pl.DataFrame, policy: SelectionPolicy) -> pl.DataFrame:
    """Run :func:`select` on each ``declaration_date`` of the window with the same policy; the score is the
    priority. Returns the frame with ``selected_channel`` and ``selection_reason`` added."""
    _check(frame, ("declaration_date",))
    defaults = {"rule_channel": pl.lit(None, dtype=pl.String), "rule_score": pl.lit(0.0),
                "probability": pl.lit(None, dtype=pl.Float64)}
    day_input = frame.select(
        "declaration_id", "declaration_date", pl.col("score").alias("priority"), "rule_ids",
        *[pl.col(c) if c in frame.columns else e.alias(c) for c, e in defaults.items()])
    parts = [select(day.drop("declaration_date"), policy).select(
        "declaration_id", pl.col("channel").alias("selected_channel"), "selection_reason")
        for day in day_input.partition_by("declaration_date", maintain_order=True)]
    chosen = pl.concat(parts) if parts else pl.DataFrame(
        schema={"declaration_id": frame.schema["declaration_id"], "selected_channel": pl.String,
                "selection_reason": pl.String})
    return frame.join(chosen, on="declaration_id", how="left", maintain_order="left")


def backtest(frame: pl.DataFrame, capacities: SelectionPolicy | None = None,
             levels: tuple[float, ...] = LEVELS) -> dict[str, Any]:
    """Replay a window: targeting @n %, per-rule hit rate and load, and with ``capacities`` the channels
    :func:`select` would have chosen day by day and what they would have found.

    Keys: ``n``, ``labelled``, ``frauds``, ``targeting`` (see :func:`targeting`), ``rules`` (rows of
    :func:`rule_table`), ``selection`` (None without capacities; else ``by_channel`` for red, yellow and
    ``inspected`` = both, ``by_reason``, and ``historical`` when the frame has the ``channel`` actually used).
    """
    _check(frame)
    report: dict[str, Any] = {
        "n": frame.height, "labelled": frame["is_fraud"].count(), "frauds": int(frame["is_fraud"].sum() or 0),
        "targeting": targeting(frame, levels), "rules": rule_table(frame).to_dicts(), "selection": None,
    }
    if capacities is not None:
        replay = replay_selection(frame, capacities)
        ch, why = replay["selected_channel"], replay["selection_reason"]
        selection: dict[str, Any] = {
            "by_channel": {c: outcome(replay, ch == c) for c in INSPECTED_CHANNELS}
            | {"inspected": outcome(replay, ch.is_in(INSPECTED_CHANNELS))},
            "by_reason": {r: outcome(replay, why == r) for r in ("rule", "random", "score", "exploration")},
        }
        if "channel" in frame.columns:
            selection["historical"] = outcome(frame, frame["channel"].cast(pl.String).is_in(INSPECTED_CHANNELS))
        report["selection"] = selection
    return report


def rule_backtest(frame: pl.DataFrame, hits: pl.Series) -> dict[str, Any]:
    """How one candidate rule would have done over a window, for the rules editor.

    ``hits`` is a boolean series aligned with ``frame`` (the candidate's evaluation). Returns its hits, load,
    labelled hits, frauds, hit rate, revenue found and share of all fraud revenue, the hits no existing rule
    already catches (``new_hits``), and per existing rule how many of the candidate's hits it shares.
    """
    _check(frame)
    if hits.len() != frame.height:
        raise ValueError(f"rule_backtest: hits has {hits.len()} rows, frame has {frame.height}")
    hit = hits.cast(pl.Boolean).fill_null(False)
    found = outcome(frame, hit)
    n_hits = int(hit.sum())
    covered = frame["rule_ids"].list.len().fill_null(0) > 0
    overlap = (frame.filter(hit).select("declaration_id", "rule_ids").explode("rule_ids").drop_nulls("rule_ids")
               .unique().group_by(pl.col("rule_ids").alias("rule_id")).agg(shared=pl.len())
               .with_columns(share_of_candidate=pl.col("shared") / max(n_hits, 1))
               .sort("shared", "rule_id", descending=[True, False]))
    return {
        "hits": n_hits, "load": _ratio(n_hits, frame.height), "labelled": found["labelled"],
        "frauds": found["frauds"], "hit_rate": found["precision"], "revenue": found["revenue"],
        "revenue_share": found["revenue_share"], "new_hits": int((hit & ~covered).sum()),
        "overlap": overlap.to_dicts(),
    }


def hit_declarations(frame: pl.DataFrame, hits: pl.Series) -> pl.DataFrame:
    """The declarations a candidate rule hit (``hits`` aligned with ``frame``), as a recorded backtest lists
    them: declaration_id, declaration_date, is_fraud (null if never inspected) and revenue found."""
    _check(frame, ("declaration_date",))
    if hits.len() != frame.height:
        raise ValueError(f"hit_declarations: hits has {hits.len()} rows, frame has {frame.height}")
    return (frame.filter(hits.cast(pl.Boolean).fill_null(False))
            .select("declaration_id", pl.col("declaration_date").cast(pl.Date), pl.col("is_fraud").cast(pl.Boolean),
                    pl.col("revenue").cast(pl.Float64)))
