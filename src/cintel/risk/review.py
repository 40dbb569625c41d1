"""Looking back on the store: backtests of the rulebook and models over a window, a candidate rule
before approval, and the fairness of who got inspected. The I/O shell around ``backtest`` and
``fairness``; like ``service`` it only reads."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
from sqlalchemy import Engine

from cintel.risk.backtest import backtest, rule_backtest
from cintel.risk.fairness import fairness_report
from cintel.risk.features import labels
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rulebook import load_lookups
from cintel.risk.rules import Rule, evaluate_rules
from cintel.risk.scoring import assess
from cintel.risk.selection import SelectionPolicy
from cintel.risk.service import feature_window, load_scorer
from cintel.store.frames import load_inspections


def _outcomes(engine: Engine) -> pl.DataFrame:
    """Per inspected declaration: outcome label, revenue found and the channel that was used."""
    inspections = load_inspections(engine, None)
    channel = inspections.group_by("declaration_id").agg(pl.col("channel").cast(pl.String).max())
    return labels(inspections).join(channel, on="declaration_id", how="left")


def scored_window(engine: Engine, start: date | None, end: date | None, *, on: date | None = None,
                  use_model: bool = True) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(item features, scored declarations with their recorded outcomes) for [start, end).

    Declarations never inspected have a null ``is_fraud``: nothing is known about them."""
    item_frame, decl = feature_window(engine, start, end)
    last: date = decl["declaration_date"].max()  # type: ignore[assignment]
    scorer = load_scorer(engine, on or last, use_model=use_model)
    assessed = assess(item_frame, decl, scorer, explain=False)
    frame = (decl.select("declaration_id", "declaration_date", "importer_id", "importer_country", "office_code")
             .join(assessed, on="declaration_id", how="left")
             .join(_outcomes(engine), on="declaration_id", how="left")
             .with_columns(score=pl.col("priority"), revenue=pl.col("additional_duty")))
    return item_frame, frame


def backtest_window(engine: Engine, start: date | None, end: date | None,
                    policy: SelectionPolicy | None = None, *, use_model: bool = True) -> dict[str, Any]:
    """Replays [start, end) with today's approved rules (and the active model): targeting @n %, hit rate
    and load per rule and, with a policy, what day-by-day selection under capacity would have found."""
    _, frame = scored_window(engine, start, end, use_model=use_model)
    return backtest(frame, policy)


def candidate_backtest(engine: Engine, rule: Rule, start: date | None, end: date | None) -> dict[str, Any]:
    """How a draft rule would have done over [start, end): hits, load, hit rate on what was inspected,
    revenue, and overlap with the approved rules (the rules editor shows this before approval)."""
    lookups = load_lookups(engine)
    item_frame, frame = scored_window(engine, start, end, use_model=False)
    hits = evaluate_rules([rule], item_frame, lookups, RULE_SCHEMA).select(
        "declaration_id", hit=pl.col("rule_ids").list.len() > 0)
    aligned = frame.select("declaration_id").join(hits, on="declaration_id", how="left")
    report = rule_backtest(frame, aligned["hit"].fill_null(False))
    return {"rule_id": rule.rule_id, "expression": rule.expression, "declarations": frame.height, **report}


def fairness_window(engine: Engine, start: date | None, end: date | None, *,
                    ratio_threshold: float = 1.5) -> pl.DataFrame:
    """Inspection rate and hit rate per importer country, trader size and office over [start, end),
    with the groups whose burden the model's risk does not explain flagged."""
    _, frame = scored_window(engine, start, end)
    frame = frame.with_columns(inspected=pl.col("is_fraud").is_not_null())
    return fairness_report(frame, ratio_threshold=ratio_threshold)
