"""Selectivity rules at work: a checked expression compiled to Polars for batch scoring and evaluated
in Python for one declaration (identical results, SQL three-valued logic); what a rule is (weight or
fixed channel, scope, validity, approval state); and how a set of rules scores declarations.

The language (grammar, types, the whitelist check) is `cintel.risk.rule_language`; the store of rules,
lookup lists and profiles is `cintel.risk.rulebook`; docs/rules.md is the officers' reference.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import polars as pl

from cintel.domain.codes import Channel, DeclarationType
from cintel.risk.rule_language import (
    DECLARATION_COLUMNS,
    Arith,
    BoolOp,
    CheckedRule,
    Column,
    ColumnType,
    Compare,
    Func,
    InList,
    InLookup,
    IsNull,
    Like,
    Literal,
    Node,
    Not,
    RuleError,
    check_rule,
)

# ---------------------------------------------------------------- LIKE patterns

_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def like_regex(pattern: str) -> str:
    """The LIKE pattern as a regular expression body, valid for both Python `re` and Rust `regex`."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch in _REGEX_META:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _like_plan(pattern: str) -> tuple[str, str]:
    """How to match a pattern fast: ('eq'|'prefix'|'suffix'|'contains'|'regex', argument)."""
    if "_" not in pattern:
        core = pattern.strip("%")
        if "%" not in core:
            lead, trail = pattern.startswith("%"), pattern.endswith("%")
            if not core:
                return ("any", "") if pattern else ("eq", "")
            if lead and trail:
                return ("contains", core)
            if trail:
                return ("prefix", core)
            if lead:
                return ("suffix", core)
            return ("eq", core)
    return ("regex", like_regex(pattern))


# ---------------------------------------------------------------- Polars


def _sorted_values(values: Collection[Any]) -> list[Any]:
    return sorted(values, key=lambda v: (str(type(v)), v))


def to_polars(rule: CheckedRule, lookups: Mapping[str, frozenset[str]] | None = None) -> pl.Expr:
    """The rule as a Polars expression over an item frame: true, false or null (unknown) per row.

    A rule that reads no column (e.g. TRUE) is a scalar: use it in `with_columns` or `filter`, which
    broadcast it, or next to another column in `select`.
    """
    return _polars(rule.tree, lookups or {})


def hit_expr(rule: CheckedRule, lookups: Mapping[str, frozenset[str]] | None = None) -> pl.Expr:
    """True where the rule hits; unknown (null) counts as no hit."""
    return to_polars(rule, lookups).fill_null(False)


_PL_TYPES = {ColumnType.STRING: pl.String, ColumnType.NUMBER: pl.Float64, ColumnType.DATE: pl.Date,
             ColumnType.BOOL: pl.Boolean}
_PL_COMPARE: dict[str, Callable[[pl.Expr, pl.Expr], pl.Expr]] = {
    "=": lambda a, b: a == b, "<>": lambda a, b: a != b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def _reads_columns(n: Node) -> bool:
    if isinstance(n, Column):
        return True
    children: tuple[Node, ...] = ()
    if isinstance(n, Compare | Arith):
        children = (n.left, n.right)
    elif isinstance(n, BoolOp | Func):
        children = n.args if isinstance(n, Func) else n.items
    elif isinstance(n, Not | IsNull | InList | InLookup | Like):
        children = (n.item,)
    return any(_reads_columns(c) for c in children)


def _polars(n: Node, lookups: Mapping[str, frozenset[str]]) -> pl.Expr:
    if not isinstance(n, Literal) and not _reads_columns(n):
        # Fold a part that reads no column with the Python evaluator: Polars would give some constant
        # expressions (e.g. 'a' IN ('a')) one row instead of broadcasting them, and folding keeps the two
        # paths identical by construction.
        return pl.lit(_eval(n, {}, lookups), dtype=_PL_TYPES[n.type])
    if isinstance(n, Column):
        col = pl.col(n.name).cast(_PL_TYPES[n.type])
        # NaN is not a value SQL knows: treat it as unknown, as the Python evaluator does.
        return col.fill_nan(None) if n.type is ColumnType.NUMBER else col
    if isinstance(n, Literal):
        return pl.lit(n.value, dtype=_PL_TYPES[n.type])
    if isinstance(n, Compare):
        return _PL_COMPARE[n.op](_polars(n.left, lookups), _polars(n.right, lookups))
    if isinstance(n, BoolOp):
        parts = [_polars(i, lookups) for i in n.items]
        result = parts[0]
        for p in parts[1:]:
            result = result & p if n.op == "and" else result | p
        return result
    if isinstance(n, Not):
        return ~_polars(n.item, lookups)
    if isinstance(n, IsNull):
        inner = _polars(n.item, lookups)
        return inner.is_not_null() if n.negated else inner.is_null()
    if isinstance(n, InList | InLookup):
        item = _polars(n.item, lookups)
        if isinstance(n, InLookup):
            if n.lookup not in lookups:
                raise RuleError(f"unknown lookup list '{n.lookup}'")
            values: list[Any] = sorted(lookups[n.lookup])
        else:
            values = _sorted_values(set(n.values))
        series = pl.Series(values, dtype=_PL_TYPES[n.item.type])
        return pl.when(item.is_null()).then(pl.lit(None, pl.Boolean)).otherwise(item.is_in(series.implode()))
    if isinstance(n, Like):
        item = _polars(n.item, lookups)
        pattern = n.pattern
        if n.case_insensitive:
            item, pattern = item.str.to_lowercase(), pattern.lower()
        how, arg = _like_plan(pattern)
        if how == "any":
            return item.is_not_null()
        if how == "eq":
            return item == pl.lit(arg, pl.String)
        if how == "prefix":
            return item.str.starts_with(arg)
        if how == "suffix":
            return item.str.ends_with(arg)
        if how == "contains":
            return item.str.contains(arg, literal=True)
        return item.str.contains(f"(?s)^{arg}$")
    if isinstance(n, Arith):
        a, b = _polars(n.left, lookups), _polars(n.right, lookups)
        r = _ARITH[n.op](a, b) if n.op in _ARITH else pl.when(b == 0).then(pl.lit(None, pl.Float64)).otherwise(a / b)
        return r.fill_nan(None)
    if isinstance(n, Func):
        args = [_polars(a, lookups) for a in n.args]
        if n.name == "lower":
            return args[0].str.to_lowercase()
        if n.name == "upper":
            return args[0].str.to_uppercase()
        if n.name == "length":
            return args[0].str.len_chars().cast(pl.Float64)
        if n.name == "abs":
            return args[0].abs()
        if n.name == "neg":
            return -args[0]
        if n.name == "left":
            return args[0].str.head(n.n)
        if n.name == "coalesce":
            return pl.coalesce(args)
    raise AssertionError(f"unhandled node {n!r}")  # the checker builds no other node


# ---------------------------------------------------------------- one row in Python


def evaluate(rule: CheckedRule, row: Mapping[str, Any], lookups: Mapping[str, frozenset[str]] | None = None,
             ) -> bool | None:
    """The rule on one row (column -> value): True, False or None (unknown), as SQL would say."""
    value = _eval(rule.tree, row, lookups or {})
    assert value is None or isinstance(value, bool)
    return value


def matches(rule: CheckedRule, row: Mapping[str, Any], lookups: Mapping[str, frozenset[str]] | None = None) -> bool:
    """Whether the rule hits one row: only a TRUE result is a hit."""
    return evaluate(rule, row, lookups) is True


def _number(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _cmp(op: str, a: Any, b: Any) -> bool:
    if op == "=":
        return bool(a == b)
    if op == "<>":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _eval(n: Node, row: Mapping[str, Any], lookups: Mapping[str, frozenset[str]]) -> Any:
    if isinstance(n, Column):
        v = row.get(n.name)
        if v is None:
            return None
        if n.type is ColumnType.NUMBER:
            return _number(v)
        if n.type is ColumnType.DATE and not isinstance(v, date):
            return date.fromisoformat(str(v)[:10])
        return v
    if isinstance(n, Literal):
        return n.value
    if isinstance(n, Compare):
        a, b = _eval(n.left, row, lookups), _eval(n.right, row, lookups)
        return None if a is None or b is None else _cmp(n.op, a, b)
    if isinstance(n, BoolOp):
        # Kleene logic: a FALSE decides AND, a TRUE decides OR, otherwise any unknown makes it unknown.
        decisive = n.op == "or"
        unknown = False
        for item in n.items:
            v = _eval(item, row, lookups)
            if v is decisive:
                return decisive
            unknown = unknown or v is None
        return None if unknown else not decisive
    if isinstance(n, Not):
        v = _eval(n.item, row, lookups)
        return None if v is None else not v
    if isinstance(n, IsNull):
        v = _eval(n.item, row, lookups)
        return (v is not None) if n.negated else (v is None)
    if isinstance(n, InList):
        v = _eval(n.item, row, lookups)
        return None if v is None else v in n.values
    if isinstance(n, InLookup):
        v = _eval(n.item, row, lookups)
        if n.lookup not in lookups:
            raise RuleError(f"unknown lookup list '{n.lookup}'")
        return None if v is None else v in lookups[n.lookup]
    if isinstance(n, Like):
        v = _eval(n.item, row, lookups)
        if v is None:
            return None
        pattern = n.pattern
        if n.case_insensitive:
            v, pattern = v.lower(), pattern.lower()
        return re.fullmatch(like_regex(pattern), v, flags=re.DOTALL) is not None
    if isinstance(n, Arith):
        a, b = _eval(n.left, row, lookups), _eval(n.right, row, lookups)
        if a is None or b is None or (n.op == "/" and b == 0):
            return None
        r = _ARITH[n.op](a, b) if n.op in _ARITH else a / b
        return None if math.isnan(r) else r
    if isinstance(n, Func):
        args = [_eval(a, row, lookups) for a in n.args]
        if n.name == "coalesce":
            return next((a for a in args if a is not None), None)
        a = args[0]
        if a is None:
            return None
        if n.name == "lower":
            return a.lower()
        if n.name == "upper":
            return a.upper()
        if n.name == "length":
            return float(len(a))
        if n.name == "abs":
            return abs(a)
        if n.name == "neg":
            return -a
        if n.name == "left":
            return a[: n.n]
    raise AssertionError(f"unhandled node {n!r}")


# ---------------------------------------------------------------- rules

RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}")
FIXED_CHANNELS = (Channel.YELLOW, Channel.RED)
_CHANNEL_STRENGTH = {Channel.YELLOW: 1, Channel.RED: 2}


# The same operators on Polars expressions and on Python numbers; division is special on both paths
# (by zero is NULL).
_ARITH: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}
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
    retired_by: str | None = None
    retired_at: datetime | None = None

    def __post_init__(self) -> None:
        if not RULE_ID.fullmatch(self.rule_id):
            raise RuleError(f"rule id '{self.rule_id}' must be 1-64 letters, digits, '_', '.' or '-'")
        if (self.weight is None) == (self.channel is None):
            raise RuleError(f"rule {self.rule_id} needs exactly one of a weight or a fixed channel")
        if self.weight is not None and not (math.isfinite(self.weight) and 0 < self.weight <= 1):
            # The scorer reads a weight as the chance a hit is fraudulent (noisy-OR with the model).
            raise RuleError(f"rule {self.rule_id}: the weight must be a number in (0, 1], the share of its hits "
                            f"expected to be fraudulent")
        if self.channel is not None and self.channel not in FIXED_CHANNELS:
            raise RuleError(f"rule {self.rule_id}: a fixed channel is yellow or red, not {self.channel}")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise RuleError(f"rule {self.rule_id}: valid_to {self.valid_to} is before valid_from {self.valid_from}")
        if not self.reason.strip():
            raise RuleError(f"rule {self.rule_id} needs a reason officers can read")
        if self.offices is not None and not self.offices:
            raise RuleError(f"rule {self.rule_id}: an empty office list would never apply; omit it for all offices")
        if self.regimes is not None and not self.regimes:
            raise RuleError(f"rule {self.rule_id}: an empty regime list would never apply; omit it for all")

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
                            col=exc.col, hint=exc.hint) from None
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
        raise RuleError(f"unknown regime in {list(codes)}; use {', '.join(DeclarationType.codes())}") from None


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
