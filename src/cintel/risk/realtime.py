"""Real-time scoring of one declaration, as it is lodged: validate, features from the day's feature
state, rules, model, reasons. Everything history-dependent is prepared once per day
(``RealtimeScorer.from_store``), so a call only does the work of one declaration; ``RealtimeScorers``
keeps the prepared scorers of the app's most recent days.

The result is the same as the day's batch scoring would give the declaration (the feature state is
tested equal to the batch features, the scalar rule evaluator to the vectorised one).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, func, select

from cintel.domain.records import DECLARATIONS
from cintel.errors import CintelError
from cintel.ingest.validate_row import validate_declaration
from cintel.risk.features import FeatureState, feature_state, state_features
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rules import score_declaration
from cintel.risk.scoring import Scorer, combine, explain_reasons, rule_complement
from cintel.store.frames import item_schema
from cintel.store.risk_tables import risk_rules

MAX_ITEMS = 999  # the item_no range of the format


class DeclarationRejected(CintelError):
    """The declaration does not pass validation; ``problems`` lists every one found."""

    def __init__(self, problems: Sequence[Mapping[str, Any]]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"declaration rejected: {first.get('field')}: {first.get('message')}{more}")


@dataclass
class RealtimeScorer:
    """Rules, models and the feature state of one day, ready to score declarations one by one."""

    scorer: Scorer
    state: FeatureState

    @classmethod
    def from_store(cls, engine: Engine, day: date | None = None) -> RealtimeScorer:
        """Prepared for ``day`` (default: today) from the store: what was known before it, and what has
        been lodged on it so far (same-day declarations count for split shipments)."""
        from cintel.risk.service import history_before, load_scorer
        from cintel.store.frames import load_items

        day = day or date.today()
        same_day = load_items(engine, day, day + timedelta(days=1))
        return cls(load_scorer(engine, day), feature_state(history_before(engine, day), day, same_day=same_day))

    def score(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Score one declaration given as its item rows (header fields repeated on each item, as in the
        flat format). Raises DeclarationRejected with every problem when it does not validate."""
        rows = _validated(items, self.state.day)
        frame = pl.DataFrame(rows, schema=item_schema(), orient="row") if rows else pl.DataFrame()
        item_frame, decl = state_features(frame, self.state)
        feature_rows = item_frame.rows(named=True)
        hits = score_declaration(self.scorer.rules, feature_rows, self.scorer.lookups, RULE_SCHEMA)
        rule_ids = [rule_id for rule_id, _ in hits.hits]
        model, revenue_model = self.scorer.fraud_model, self.scorer.revenue_model
        probability = model.predict_proba(decl) if model is not None else None
        revenue = revenue_model.predict_revenue(decl) if revenue_model is not None else None
        risk = combine(probability, np.array([rule_complement(self.scorer.rules, rule_ids)]))
        priority = self.scorer.priority(risk, revenue)
        reasons = explain_reasons(decl, pl.Series([rule_ids], dtype=pl.List(pl.String)), self.scorer)[0]
        return {
            "declaration_id": hits.declaration_id, "day": self.state.day,
            "probability": None if probability is None else float(probability[0]),
            "expected_revenue": None if revenue is None else float(revenue[0]),
            "risk": float(risk[0]), "priority": float(priority[0]),
            "rule_hits": [list(h) for h in hits.hits], "rule_score": hits.score,
            "rule_channel": str(hits.channel) if hits.channel else None,
            "reasons": [r.text for r in reasons],
        }


class NoModel(CintelError):
    """No fraud model is active: real-time scoring needs one."""


class RealtimeScorers:
    """The app's real-time scorers: one `RealtimeScorer` per declaration day (the feature state is a
    day's), the most recent ``max_days`` kept, loaded lazily on first use under a lock and dropped when
    the active models or the approved rules change (checked at most every ``check_seconds``)."""

    def __init__(self, engine: Engine, *, max_days: int = 2, check_seconds: float = 5.0) -> None:
        self.engine = engine
        self.max_days = max_days
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._scorers: OrderedDict[date, tuple[RealtimeScorer, threading.Lock]] = OrderedDict()
        self._fingerprint: tuple[Any, ...] | None = None
        self._checked = -math.inf

    def _current(self) -> tuple[Any, ...]:
        """What the scorers depend on beyond the day: the active models and the rulebook's last change."""
        from cintel.risk.service import model_ids

        r = risk_rules
        with self.engine.connect() as conn:
            rules = tuple(conn.execute(select(func.count(), func.max(r.c.approved_at), func.max(r.c.retired_at))
                                       ).one())
        return tuple(sorted(model_ids(self.engine).items())), rules

    def _scorer(self, day: date) -> tuple[RealtimeScorer, threading.Lock]:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_seconds:
                fingerprint = self._current()
                self._checked = now
                if fingerprint != self._fingerprint:
                    self._scorers.clear()
                    self._fingerprint = fingerprint
            assert self._fingerprint is not None
            if not any(name == "fraud" for name, _ in self._fingerprint[0]):
                raise NoModel("no model is trained yet: run cintel train")
            if day in self._scorers:
                self._scorers.move_to_end(day)
            else:
                self._scorers[day] = (RealtimeScorer.from_store(self.engine, day), threading.Lock())
                while len(self._scorers) > self.max_days:
                    self._scorers.popitem(last=False)
            return self._scorers[day]

    def score(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Scores one declaration (its item rows) with the scorer of its declaration date (today when the
        date cannot be read: validation then says why); raises DeclarationRejected or NoModel."""
        if not items or len(items) > MAX_ITEMS:
            raise DeclarationRejected([{"field": "items", "message": f"a declaration has 1 to {MAX_ITEMS} items"}])
        scorer, lock = self._scorer(lodged_on(items) or date.today())
        # A scorer's feature state grows when it meets a new (HS code, origin) pair: one call at a time.
        with lock:
            return scorer.score(items)


def _validated(items: Sequence[Mapping[str, Any]], day: date) -> list[dict[str, Any]]:
    if not items:
        raise DeclarationRejected([{"field": "items", "message": "a declaration needs at least one item"}])
    if len(items) > MAX_ITEMS:
        raise DeclarationRejected([{"field": "items", "message": f"more than {MAX_ITEMS} items"}])
    clean, problems = validate_declaration(items, today=day)
    if problems:
        raise DeclarationRejected([{"field": p.field, "code": str(p.code), "message": p.message} for p in problems])
    wrong_day = {str(r["declaration_date"]) for r in clean} - {day.isoformat()}
    if wrong_day:
        raise DeclarationRejected([{"field": "declaration_date",
                                    "message": f"dated {sorted(wrong_day)[0]}, but the scorer is prepared for {day}"}])
    columns = list(item_schema())
    return [{c: r.get(c) for c in columns} for r in clean]


def lodged_on(items: Sequence[Mapping[str, Any]]) -> date | None:
    """The declaration date the items give, when it is a readable date (validation reports it otherwise)."""
    value = items[0].get("declaration_date") if items else None
    try:
        return date.fromisoformat(str(value)[:10]) if value is not None else None
    except ValueError:
        return None


def read_declaration(path: Path) -> list[dict[str, Any]]:
    """Item rows from a JSON file: a list of item objects, or {"items": [...]} with optional header fields
    that are copied onto every item."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CintelError(f"cannot read the declaration {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        header = {k: v for k, v in data.items() if k != "items"}
        data = [{**header, **item} if isinstance(item, dict) else item for item in data["items"]]
    if not isinstance(data, list) or not all(isinstance(i, dict) for i in data):
        raise CintelError(f"{path}: expected a list of item objects or {{\"items\": [...]}} "
                          f"with the columns of the {DECLARATIONS.kind} format")
    return data
