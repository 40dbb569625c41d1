"""Looking back on the store: backtests of the rulebook and models over a window, a candidate rule
before approval, and the fairness of who got inspected. The I/O shell around ``backtest`` and
``fairness``. It only reads, but for recording each backtest of a stored rule version, with the declarations
it hit (approval needs one)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine

from cintel.domain.access import AccessContext
from cintel.risk.backtest import backtest, hit_declarations, rule_backtest
from cintel.risk.fairness import fairness_report
from cintel.risk.features import labels
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rulebook import Backtest, load_lookups, record_backtest, rule_version
from cintel.risk.rules import Rule, evaluate_rules
from cintel.risk.scoring import assess
from cintel.risk.selection import SelectionPolicy
from cintel.risk.service import feature_window, last_declaration_day, load_scorer
from cintel.store.frames import load_inspections

DEFAULT_BACKTEST_DAYS = 56  # eight weeks: enough inspected declarations for a hit rate, quick to replay


def default_window(engine: Engine) -> tuple[date, date]:
    """The last eight weeks of stored declarations, both days included (RiskError while there are none)."""
    last = last_declaration_day(engine)
    return last - timedelta(days=DEFAULT_BACKTEST_DAYS - 1), last


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


def _replays(engine: Engine, rules: Sequence[Rule], start: date | None,
             end: date | None) -> list[tuple[dict[str, Any], pl.DataFrame]]:
    """Per rule, its candidate_backtests report and the declarations it hit (backtest.hit_declarations)."""
    lookups = load_lookups(engine)  # the values in effect: a change waiting for a second officer is not in them
    item_frame, frame = scored_window(engine, start, end, use_model=False)
    first: date = start or frame["declaration_date"].min()  # type: ignore[assignment]
    last: date = end - timedelta(days=1) if end else frame["declaration_date"].max()  # type: ignore[assignment]
    ids = frame.select("declaration_id")
    replays = []
    for rule in rules:
        hits = evaluate_rules([rule], item_frame, lookups, RULE_SCHEMA).select(
            "declaration_id", hit=pl.col("rule_ids").list.len() > 0)
        hit = ids.join(hits, on="declaration_id", how="left")["hit"].fill_null(False)
        report = rule_backtest(frame, hit)
        replays.append(({"rule_id": rule.rule_id, "expression": rule.expression, "declarations": frame.height,
                         "from": first.isoformat(), "to": last.isoformat(), **report},
                        hit_declarations(frame, hit)))
    return replays


def candidate_backtests(engine: Engine, rules: Sequence[Rule], start: date | None,
                        end: date | None) -> list[dict[str, Any]]:
    """How each draft rule would have done over [start, end) (the whole store where a bound is None): hits,
    load, hit rate on what was inspected, revenue, and overlap with the approved rules. The window is
    scored once for all of them. Each report carries the days replayed as ``from`` and ``to`` (included)."""
    return [report for report, _ in _replays(engine, rules, start, end)]


def candidate_backtest(engine: Engine, rule: Rule, start: date | None, end: date | None) -> dict[str, Any]:
    """One rule's candidate_backtests report (the rules editor shows this before approval)."""
    return candidate_backtests(engine, [rule], start, end)[0]


def backtest_stored_rules(engine: Engine, actor: AccessContext, rules: Sequence[Rule], start: date | None,
                          end: date | None) -> list[tuple[dict[str, Any], Backtest]]:
    """Backtests stored rule versions and records each run in the rulebook, where approval looks for it, with
    the declarations it hit."""
    replays = _replays(engine, rules, start, end)
    return [(report, record_backtest(engine, actor, rule, date.fromisoformat(report["from"]),
                                     date.fromisoformat(report["to"]), report, hits))
            for rule, (report, hits) in zip(rules, replays, strict=True)]


def backtest_stored_rule(engine: Engine, actor: AccessContext, rule_id: str, version: int | None,
                         start: date | None, end: date | None) -> dict[str, Any]:
    """Backtests one version of a stored rule (the latest by default) and records the run: the report with
    the version, its status and author, and the recorded ``backtest_id`` and ``run_by``. RulebookError
    for an unknown rule or version."""
    rule = rule_version(engine, rule_id, version)
    ((report, recorded),) = backtest_stored_rules(engine, actor, [rule], start, end)
    return {**report, "version": rule.version, "status": rule.status.value, "author": rule.author,
            "backtest_id": recorded.backtest_id, "run_by": recorded.run_by, "listed_hits": recorded.listed_hits}


def fairness_window(engine: Engine, start: date | None, end: date | None, *,
                    ratio_threshold: float = 1.5) -> pl.DataFrame:
    """Inspection rate and hit rate per importer country, trader size and office over [start, end),
    with the groups whose burden the model's risk does not explain flagged."""
    _, frame = scored_window(engine, start, end)
    frame = frame.with_columns(inspected=pl.col("is_fraud").is_not_null())
    return fairness_report(frame, ratio_threshold=ratio_threshold)
