"""Evaluating a checked rule: compiled to a Polars expression for batch scoring, or evaluated in Python
on one row for real-time scoring. Both follow SQL three-valued logic and give identical results
(property-tested); a rule hits only where the expression is TRUE.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Collection, Mapping
from datetime import date
from typing import Any

import polars as pl

from cintel.risk.rule_language import (
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
)

# The same operators on Polars expressions and on Python numbers; division is special on both paths
# (by zero is NULL).
_ARITH: dict[str, Callable[[Any, Any], Any]] = {"+": operator.add, "-": operator.sub, "*": operator.mul}

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
        if how == "any":  # '%' matches every string, and NULL LIKE '%' is NULL, as everywhere in SQL
            return pl.when(item.is_null()).then(pl.lit(None, pl.Boolean)).otherwise(pl.lit(True))
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
