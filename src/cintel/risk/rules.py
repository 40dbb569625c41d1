"""Selectivity rules at work: what a rule is (weight or fixed channel, scope, validity, approval
state) and how a set of rules scores declarations, vectorised for a batch and one by one in real time.

The language (grammar, types, the whitelist check) is `cintel.risk.rule_language`, its evaluation
`cintel.risk.rule_eval`; the store of rules, lookup lists and profiles is `cintel.risk.rulebook`;
docs/rules.md is the officers' reference.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import polars as pl

from cintel.domain.codes import Channel, DeclarationType
from cintel.risk.rule_eval import evaluate, hit_expr, like_regex, matches, to_polars
from cintel.risk.rule_language import (
    DECLARATION_COLUMNS,
    CheckedRule,
    ColumnType,
    RuleError,
    check_rule,
    not_text_at,
)

__all__ = ["DeclarationHits", "Rule", "RuleStatus", "evaluate", "evaluate_rules", "hit_expr", "like_regex",
           "matches", "regimes_of", "score_declaration", "to_polars"]

# ---------------------------------------------------------------- rules

RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
FIXED_CHANNELS = (Channel.YELLOW, Channel.RED)
_CHANNEL_STRENGTH = {Channel.YELLOW: 1, Channel.RED: 2}


_CHECKED: dict[tuple[str, int, frozenset[str] | None], tuple[Mapping[str, ColumnType], CheckedRule]] = {}
_CHECKED_MAX = 10_000


class RuleStatus(StrEnum):
    DRAFT = "draft"  # written, not yet scoring
    APPROVED = "approved"  # approved by a second officer; scores declarations while valid
    RETIRED = "retired"  # no longer scores; kept for audit and backtests


@dataclass(frozen=True)
class Rule:
    """One version of a rule. A rule adds its weight to the score when it hits, or fixes the channel."""

    rule_id: str
    version: int
    expression: str
    reason: str
    author: str
    weight: float | None = None
    channel: Channel | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    offices: frozenset[str] | None = None  # None: every office
    regimes: frozenset[DeclarationType] | None = None  # None: every declaration type
    status: RuleStatus = RuleStatus.DRAFT
    created_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_comment: str | None = None  # what the approver noted
    retired_by: str | None = None
    retired_at: datetime | None = None

    def __post_init__(self) -> None:
        if not RULE_ID.fullmatch(self.rule_id):
            raise RuleError(f"rule id '{self.rule_id}' must be 1-64 letters, digits, '_', '.' or '-'",
                            field="rule_id")
        if (self.weight is None) == (self.channel is None):
            raise RuleError(f"rule {self.rule_id} needs exactly one of a weight or a fixed channel", field="weight")
        if self.weight is not None and not (math.isfinite(self.weight) and 0 < self.weight <= 1):
            # The scorer reads a weight as the chance a hit is fraudulent (noisy-OR with the model).
            raise RuleError(f"rule {self.rule_id}: the weight must be a number in (0, 1], the share of its hits "
                            f"expected to be fraudulent", field="weight")
        if self.channel is not None and self.channel not in FIXED_CHANNELS:
            raise RuleError(f"rule {self.rule_id}: a fixed channel is yellow or red, not {self.channel}",
                            field="channel")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise RuleError(f"rule {self.rule_id}: valid_to {self.valid_to} is before valid_from {self.valid_from}",
                            field="valid_to")
        if not self.reason.strip():
            raise RuleError(f"rule {self.rule_id} needs a reason officers can read", field="reason")
        if not_text_at(self.reason) is not None or any(not_text_at(o) is not None for o in self.offices or ()):
            raise RuleError(f"rule {self.rule_id}: its reason or offices hold a code point that is not a character "
                            "(a lone surrogate)", field="reason")
        if self.offices is not None and not self.offices:
            raise RuleError(f"rule {self.rule_id}: an empty office list would never apply; omit it for all offices",
                            field="offices")
        if self.regimes is not None and not self.regimes:
            raise RuleError(f"rule {self.rule_id}: an empty regime list would never apply; omit it for all",
                            field="regimes")

    @property
    def key(self) -> tuple[str, int]:
        return (self.rule_id, self.version)

    def applies_to(self, on: date, office: str | None = None, regime: str | None = None) -> bool:
        """Whether the rule is valid on that date and its scope covers the office and declaration type."""
        if self.valid_from and on < self.valid_from:
            return False
        if self.valid_to and on > self.valid_to:
            return False
        if self.offices is not None and office not in self.offices:
            return False
        return self.regimes is None or regime in self.regimes

    def check(self, schema: Mapping[str, ColumnType] = DECLARATION_COLUMNS,
              lookups: Mapping[str, frozenset[str]] | None = None) -> CheckedRule:
        """The checked expression (RuleError if it does not pass), against the lookup names when given."""
        names = None if lookups is None else frozenset(lookups)
        key = (self.expression, id(schema), names)
        cached = _CHECKED.get(key)
        # Checking costs milliseconds and scoring one declaration has ten: a rule is checked once per
        # schema and set of lookup names (the schema object is kept to rule out a reused id).
        if cached is not None and cached[0] is schema:
            return cached[1]
        try:
            checked = check_rule(self.expression, schema, names)
        except RuleError as exc:
            raise RuleError(f"rule {self.rule_id} v{self.version}: {exc.message}", token=exc.token, line=exc.line,
                            col=exc.col, hint=exc.hint, field=exc.field) from None
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.clear()
        _CHECKED[key] = (schema, checked)
        return checked

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["offices"] = sorted(self.offices) if self.offices is not None else None
        d["regimes"] = sorted(str(r) for r in self.regimes) if self.regimes is not None else None
        d["channel"] = str(self.channel) if self.channel else None
        d["status"] = str(self.status)
        return d


def regimes_of(codes: Sequence[str] | None) -> frozenset[DeclarationType] | None:
    """Declaration types from their codes (IM, EX, TR); RuleError names a code that is not one."""
    if codes is None:
        return None
    try:
        return frozenset(DeclarationType(c.upper()) for c in codes)
    except ValueError:
        raise RuleError(f"unknown regime in {list(codes)}; use {', '.join(DeclarationType.codes())}",
                        field="regimes") from None


@dataclass(frozen=True)
class DeclarationHits:
    """What the rules say about one declaration."""

    declaration_id: str
    hits: tuple[tuple[str, int], ...]  # (rule_id, version), in the order the rules were given
    score: float  # sum of the weights of the weighted rules hit
    channel: Channel | None  # strongest fixed channel hit (red > yellow), None if none


# ---------------------------------------------------------------- batch


def _scope_expr(rule: Rule) -> pl.Expr | None:
    conditions: list[pl.Expr] = []
    if rule.valid_from or rule.valid_to:
        day = pl.col("declaration_date").cast(pl.Date)
        if rule.valid_from:
            conditions.append(day >= rule.valid_from)
        if rule.valid_to:
            conditions.append(day <= rule.valid_to)
    if rule.offices is not None:
        conditions.append(pl.col("office_code").cast(pl.String).is_in(pl.Series(sorted(rule.offices)).implode()))
    if rule.regimes is not None:
        codes = pl.Series(sorted(str(r) for r in rule.regimes), dtype=pl.String)
        conditions.append(pl.col("declaration_type").cast(pl.String).is_in(codes.implode()))
    if not conditions:
        return None
    scope = conditions[0]
    for c in conditions[1:]:
        scope = scope & c
    return scope.fill_null(False)


def evaluate_rules(rules: Sequence[Rule], items: pl.DataFrame | pl.LazyFrame,
                   lookups: Mapping[str, frozenset[str]] | None = None,
                   schema: Mapping[str, ColumnType] = DECLARATION_COLUMNS) -> pl.DataFrame:
    """Scores every declaration of an item frame (one row per item) with the rules, in one vectorised pass.

    A declaration hits a rule when any of its items does and the rule applies on its date, office and
    type. Returns one row per declaration_id, sorted by it: `rule_ids` (ids of the rules hit, in the
    order of rules), `rule_hits` (the same as {rule_id, version}), `rule_score` (sum of the weights
    hit, 0 if none) and `rule_channel` (strongest fixed channel hit: red, yellow or null). The frame
    needs declaration_id, the columns the rules read, and declaration_date, office_code or
    declaration_type when a rule is limited by validity or scope. Pass the schema with the feature
    columns the rules use.
    """
    lookups = lookups or {}
    frame = items.lazy()
    # Each item gets one 64-bit mask per 64 rules (bit i: rule i hits); a declaration ORs its items'
    # masks. Hits, score and channel depend only on the mask, and a day's declarations share few
    # distinct masks, so they are worked out once per mask instead of once per declaration.
    masks: list[pl.Expr] = []
    for chunk_start in range(0, len(rules), 64):
        bits = []
        for bit, rule in enumerate(rules[chunk_start:chunk_start + 64]):
            hit = hit_expr(rule.check(schema, lookups), lookups)
            scope = _scope_expr(rule)
            hit = hit & scope if scope is not None else hit
            bits.append(pl.when(hit).then(pl.lit(1 << bit, pl.UInt64)).otherwise(pl.lit(0, pl.UInt64)))
        masks.append(pl.sum_horizontal(bits).alias(f"_m{chunk_start // 64}"))
    names = [f"_m{i}" for i in range(len(masks))]
    per_declaration = (frame.select(pl.col("declaration_id"), *masks)
                       .group_by("declaration_id").agg([pl.col(n).bitwise_or() for n in names])
                       .collect())
    distinct = per_declaration.select(names).unique() if names else pl.DataFrame()
    outcomes = [_outcome(rules, row) for row in distinct.iter_rows()]
    table = distinct.with_columns(
        pl.Series("rule_ids", [[h["rule_id"] for h in o.hits] for o in outcomes], dtype=pl.List(pl.String)),
        pl.Series("rule_hits", [o.hits for o in outcomes], dtype=pl.List(_HIT)),
        pl.Series("rule_score", [o.score for o in outcomes], dtype=pl.Float64),
        pl.Series("rule_channel", [o.channel for o in outcomes], dtype=pl.String),
    ) if names else None
    if table is None:
        result = per_declaration.with_columns(rule_ids=pl.lit([], dtype=pl.List(pl.String)),
                                              rule_hits=pl.lit([], dtype=pl.List(_HIT)), rule_score=pl.lit(0.0),
                                              rule_channel=pl.lit(None, pl.String))
    else:
        result = per_declaration.join(table, on=names, how="left")
    return result.select("declaration_id", "rule_ids", "rule_hits", "rule_score", "rule_channel").sort(
        "declaration_id")


@dataclass(frozen=True)
class _Outcome:
    hits: list[dict[str, Any]]
    score: float
    channel: str | None


def _outcome(rules: Sequence[Rule], masks: tuple[int, ...]) -> _Outcome:
    hit = [r for i, r in enumerate(rules) if masks[i // 64] >> (i % 64) & 1]
    return _Outcome(hits=[{"rule_id": r.rule_id, "version": r.version} for r in hit],
                    score=_score(hit), channel=_strongest(hit))


def _score(hit: Sequence[Rule]) -> float:
    # Summed in rule order from 0.0 on both paths, so batch and real time give the same float.
    score = 0.0
    for r in hit:
        if r.weight is not None:
            score += r.weight
    return score


def _strongest(hit: Sequence[Rule]) -> str | None:
    channels = [r.channel for r in hit if r.channel is not None]
    return str(max(channels, key=_CHANNEL_STRENGTH.__getitem__)) if channels else None


_HIT = pl.Struct({"rule_id": pl.String, "version": pl.Int32})


# ---------------------------------------------------------------- one declaration, real time


def _in_scope(rule: Rule, head: Mapping[str, Any]) -> bool:
    day = head.get("declaration_date")
    if isinstance(day, datetime):
        day = day.date()
    elif isinstance(day, str):
        day = date.fromisoformat(day[:10])
    if day is None:
        # Without a date only an unlimited rule can apply, as in the batch path (null date: out of validity).
        if rule.valid_from or rule.valid_to:
            return False
        day = date.min
    return rule.applies_to(day, head.get("office_code"), head.get("declaration_type"))


def score_declaration(rules: Sequence[Rule], items: Sequence[Mapping[str, Any]],
                      lookups: Mapping[str, frozenset[str]] | None = None,
                      schema: Mapping[str, ColumnType] = DECLARATION_COLUMNS) -> DeclarationHits:
    """The rules on one declaration given as its item rows (header fields repeated on each), without Polars.

    Gives the same hits, score and channel as `evaluate_rules` on the same rows.
    """
    if not items:
        raise RuleError("a declaration needs at least one item to score")
    lookups = lookups or {}
    head = items[0]
    declaration_id = str(head.get("declaration_id"))
    hit: list[Rule] = []
    for rule in rules:
        checked = rule.check(schema, lookups)
        if _in_scope(rule, head) and any(evaluate(checked, item, lookups) is True for item in items):
            hit.append(rule)
    channel = _strongest(hit)
    return DeclarationHits(declaration_id, tuple(r.key for r in hit), _score(hit),
                           Channel(channel) if channel else None)
