"""The selectivity rule language: a small SQL-like boolean expression checked against a whitelist.

A rule is parsed with sqlglot, then rebuilt node by node into a tiny typed tree (`Node`) that
only knows the operators and functions of the language. Anything sqlglot understands but the
language does not (statements, subqueries, casts, parameters, comments, quoted identifiers)
fails the check with a `RuleError` that points at the token. Two back ends read the tree: a
Polars expression for batch scoring and a Python evaluator for one declaration; both follow SQL
three-valued logic, so a NULL comparison is unknown and a rule hits only when it is TRUE. The back
ends live in `cintel.risk.rules`.

docs/rules.md is the reference for officers; keep it in step with this module.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token, TokenType

from cintel.domain.records import DECLARATIONS, FieldKind
from cintel.errors import CintelError

DIALECT = "postgres"
MAX_EXPRESSION_CHARS = 4_000
MAX_DEPTH = 32  # nesting of parentheses, NOT and functions; AND/OR chains are flat and do not count
MAX_STRING_CHARS = 256  # longest identifier, HS code or B/L number is far shorter
MAX_NUMBER = 1e15  # beyond any customs value; keeps float arithmetic exact enough to compare
MAX_IN_VALUES = 1_000  # longer lists belong in a lookup
LOOKUP_FUNCTION = "LOOKUP"


class ColumnType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    BOOL = "bool"


def _column_type(kind: FieldKind) -> ColumnType:
    if kind in (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.LATITUDE, FieldKind.LONGITUDE):
        return ColumnType.NUMBER
    if kind in (FieldKind.DATE, FieldKind.DATETIME):
        return ColumnType.DATE
    if kind is FieldKind.BOOLEAN:
        return ColumnType.BOOL
    return ColumnType.STRING


# Header and item fields of a declaration, as they appear on an item-level frame. Feature modules
# extend it: `DECLARATION_COLUMNS | {"unit_value_ratio_hs6_origin": ColumnType.NUMBER}`.
DECLARATION_COLUMNS: Mapping[str, ColumnType] = {f.name: _column_type(f.kind) for f in DECLARATIONS.fields}


class RuleError(CintelError):
    """A rule the language refuses, with the offending token and where it is: 1-based line and column of
    its first character, and its span in the text as 0-based offsets ``start`` (included) and ``end``
    (excluded), so an editor can mark it. All are 0 / None when the error has no place (an empty rule).
    ``field`` names the part of a rule that is wrong: the expression, or another field of the rule (its id,
    weight, channel, reason, validity or scope), so a form shows the error beside it."""

    def __init__(self, message: str, *, token: str = "", line: int = 0, col: int = 0, hint: str = "",
                 start: int | None = None, end: int | None = None, field: str = "expression") -> None:
        self.message = message
        self.field = field
        self.token = token
        self.line = line
        self.col = col
        self.hint = hint
        self.start = start
        self.end = end
        where = f" at {line}:{col}" if line else ""
        super().__init__(f"{message}{where}" + (f" ({hint})" if hint else ""))


# ---------------------------------------------------------------- the checked tree


@dataclass(frozen=True)
class Node:
    type: ColumnType


@dataclass(frozen=True)
class Column(Node):
    name: str


@dataclass(frozen=True)
class Literal(Node):
    value: str | float | date | bool


@dataclass(frozen=True)
class Compare(Node):
    op: str  # = <> < <= > >=
    left: Node
    right: Node


@dataclass(frozen=True)
class BoolOp(Node):
    op: str  # and, or
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not(Node):
    item: Node


@dataclass(frozen=True)
class IsNull(Node):
    item: Node
    negated: bool


@dataclass(frozen=True)
class InList(Node):
    item: Node
    values: tuple[str | float | date | bool, ...]


@dataclass(frozen=True)
class InLookup(Node):
    item: Node
    lookup: str


@dataclass(frozen=True)
class Like(Node):
    item: Node
    pattern: str
    case_insensitive: bool


@dataclass(frozen=True)
class Arith(Node):
    op: str  # + - * /
    left: Node
    right: Node


@dataclass(frozen=True)
class Func(Node):
    name: str  # lower upper length abs left coalesce neg
    args: tuple[Node, ...]
    n: int = 0  # left(): number of characters


@dataclass(frozen=True)
class CheckedRule:
    """A rule that passed the check: its text, its tree and what it reads."""

    expression: str
    tree: Node
    columns: frozenset[str]
    lookups: frozenset[str]


# ---------------------------------------------------------------- checking

_ALLOWED_TOKENS = frozenset({
    TokenType.VAR, TokenType.NUMBER, TokenType.STRING, TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA,
    TokenType.EQ, TokenType.NEQ, TokenType.LT, TokenType.LTE, TokenType.GT, TokenType.GTE, TokenType.AND,
    TokenType.OR, TokenType.NOT, TokenType.IS, TokenType.NULL, TokenType.TRUE, TokenType.FALSE, TokenType.IN,
    TokenType.BETWEEN, TokenType.LIKE, TokenType.ILIKE, TokenType.PLUS, TokenType.DASH, TokenType.STAR,
    TokenType.SLASH, TokenType.LEFT,
})
_TOKEN_ADVICE = {
    TokenType.SEMICOLON: "a rule is one expression, not statements",
    TokenType.IDENTIFIER: "write column names bare, without quotes",
    TokenType.UNKNOWN: "not part of the rule language",
    TokenType.PARAMETER: "parameters are not allowed",
    TokenType.PLACEHOLDER: "parameters are not allowed",
}
_COMPARE: dict[type[exp.Expr], str] = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">",
                                        exp.GTE: ">="}
_ARITH: dict[type[exp.Expr], str] = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/"}
_STRING_FUNCTIONS: dict[type[exp.Expr], str] = {exp.Lower: "lower", exp.Upper: "upper"}
FUNCTIONS = ("lower", "upper", "length", "abs", "left", "coalesce", "LOOKUP")


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class _Checker:
    def __init__(self, text: str, schema: Mapping[str, ColumnType], lookups: Collection[str] | None) -> None:
        self.text = text
        self.schema = schema
        self.known_lookups = lookups
        self.columns: set[str] = set()
        self.lookups: set[str] = set()

    # -- errors pointing into the text

    def error_at(self, message: str, offset: int, token: str = "", hint: str = "", end: int | None = None) -> RuleError:
        start = max(offset, 0)
        line, col = _position(self.text, start)
        stop = min(max(end if end is not None else start + len(token), start + 1), len(self.text))
        return RuleError(message, token=token, line=line, col=col, hint=hint, start=start, end=stop)

    def error(self, message: str, node: exp.Expr, hint: str = "") -> RuleError:
        # Operators carry no position in sqlglot; their leftmost identifier or literal does.
        placed = [n for n in node.walk() if "start" in n.meta]
        if placed:
            first = min(placed, key=lambda n: int(n.meta["start"]))
            return self.error_at(message, int(first.meta["start"]), str(first.name or first.sql()), hint,
                                 end=int(first.meta.get("end", first.meta["start"])) + 1)
        return RuleError(message, token=node.sql()[:40], hint=hint)

    def parse_error_span(self, line: int, col: int, highlight: str) -> tuple[int, int] | None:
        """[start, end) of the token a sqlglot ParseError highlights; sqlglot's col is its last character."""
        if line < 1 or col < 1 or not highlight:
            return None
        lines = self.text.split("\n")
        if line > len(lines):
            return None
        last = sum(len(x) + 1 for x in lines[:line - 1]) + col - 1
        start = last + 1 - len(highlight)
        if start < 0 or self.text[start:last + 1] != highlight:
            return None
        return start, last + 1

    # -- text and tokens, before any recursion

    def tokens(self) -> list[Token]:
        try:
            tokens = Dialect.get_or_raise(DIALECT).tokenize(self.text)
        except TokenError as exc:
            message = f"cannot read the rule: {str(exc).splitlines()[0]}"
            # sqlglot gives no position; with an odd number of quotes the last one is the one left open.
            if self.text.count("'") % 2:
                raise self.error_at(message, self.text.rfind("'"), "'", "is a quote left open?") from None
            raise RuleError(message, hint="is a quote left open?") from None
        depth = 0
        for t in tokens:
            if t.comments:
                raise self.error_at("comments are not allowed", t.start, t.text, "remove '--' or '/* */'", t.end + 1)
            if t.token_type not in _ALLOWED_TOKENS:
                raise self.error_at(f"'{t.text[:40]}' is not allowed", t.start, t.text,
                                    _TOKEN_ADVICE.get(t.token_type, "not part of the rule language"), t.end + 1)
            if t.token_type is TokenType.STRING and len(t.text) > MAX_STRING_CHARS:
                raise self.error_at(f"text literal of {len(t.text):,} characters; the limit is {MAX_STRING_CHARS}",
                                    t.start, t.text[:40], end=t.end + 1)
            if t.token_type is TokenType.L_PAREN:
                depth += 1
                if depth > MAX_DEPTH:
                    raise self.error_at(f"nested deeper than {MAX_DEPTH} levels", t.start, "(")
            elif t.token_type is TokenType.R_PAREN:
                depth -= 1
        return tokens

    def parse(self) -> Node:
        if len(self.text) > MAX_EXPRESSION_CHARS:
            raise RuleError(f"the rule is {len(self.text):,} characters long; the limit is {MAX_EXPRESSION_CHARS:,}")
        if not self.text.strip():
            raise RuleError("the rule is empty")
        self.tokens()
        try:
            parsed = sqlglot.parse(self.text, read=DIALECT)
        except ParseError as exc:
            first = exc.errors[0] if exc.errors else {}
            desc = str(first.get("description") or "not a valid expression")
            if desc.startswith("Required keyword"):
                desc = "the expression is incomplete"
            token = str(first.get("highlight") or "")
            line, col = int(first.get("line") or 0), int(first.get("col") or 0)
            span = self.parse_error_span(line, col, token)
            if span is None:
                raise RuleError(f"cannot read the rule: {desc}", token=token, line=line, col=col) from None
            raise self.error_at(f"cannot read the rule: {desc}", span[0], token, end=span[1]) from None
        except RecursionError:
            raise RuleError(f"nested deeper than {MAX_DEPTH} levels") from None
        if len(parsed) != 1 or parsed[0] is None:
            raise RuleError("a rule is exactly one expression")
        tree = self.node(parsed[0], 0)
        if tree.type is not ColumnType.BOOL:
            raise self.error(f"a rule must be true or false, not a {tree.type.value}", parsed[0],
                             "compare it with something, e.g. '= ...' or 'IS NULL'")
        return tree

    # -- the tree

    def node(self, e: exp.Expr, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"nested deeper than {MAX_DEPTH} levels", e)
        d = depth + 1
        if isinstance(e, exp.Paren):
            return self.node(e.this, d)
        if isinstance(e, exp.And | exp.Or):
            return self.boolop(e, depth)
        if isinstance(e, exp.Not):
            return Not(ColumnType.BOOL, self.expect(e.this, ColumnType.BOOL, d))
        if isinstance(e, exp.Column):
            return self.column(e)
        if isinstance(e, exp.Literal | exp.Boolean):
            return self.literal(e)
        if isinstance(e, exp.Null):
            raise self.error("NULL is only allowed in 'IS NULL' and 'IS NOT NULL'", e)
        if type(e) in _COMPARE:
            return self.compare(_COMPARE[type(e)], e.this, e.expression, e, d)
        if isinstance(e, exp.Is):
            if not isinstance(e.expression, exp.Null):
                raise self.error("IS must be followed by NULL or NOT NULL", e)
            return IsNull(ColumnType.BOOL, self.node(e.this, d), bool(e.args.get("negate")))
        if isinstance(e, exp.Between):
            item = e.this
            low = self.compare(">=", item, e.args["low"], e, d)
            high = self.compare("<=", item, e.args["high"], e, d)
            return BoolOp(ColumnType.BOOL, "and", (low, high))
        if isinstance(e, exp.In):
            return self.in_(e, d)
        if isinstance(e, exp.Like | exp.ILike):
            return self.like(e, d)
        if type(e) in _ARITH:
            left = self.expect(e.this, ColumnType.NUMBER, d)
            right = self.expect(e.expression, ColumnType.NUMBER, d)
            return Arith(ColumnType.NUMBER, _ARITH[type(e)], left, right)
        if isinstance(e, exp.Neg):
            inner = e.this
            if isinstance(inner, exp.Literal) and not inner.is_string:
                return self.number(inner, negative=True)
            return Func(ColumnType.NUMBER, "neg", (self.expect(inner, ColumnType.NUMBER, d),))
        if isinstance(e, exp.Func):
            return self.function(e, d)
        if isinstance(e, exp.Star):
            raise self.error("'*' is not allowed", e, "name the columns")
        raise self.error(f"'{e.sql(dialect=DIALECT)[:40]}' is not allowed in a rule", e,
                         "see docs/rules.md for the operators and functions")

    def boolop(self, e: exp.Expr, depth: int) -> Node:
        # A long AND/OR chain is a left-deep tree in sqlglot; flatten it without recursion so that
        # 200 conditions joined by AND do not count as 200 levels of nesting.
        kind = type(e)
        operands: list[exp.Expr] = []
        stack = [e]
        while stack:
            cur = stack.pop()
            if type(cur) is kind:
                stack += [cur.expression, cur.this]
            else:
                operands.append(cur)
        items = tuple(self.expect(o, ColumnType.BOOL, depth + 1) for o in operands)
        return BoolOp(ColumnType.BOOL, "and" if kind is exp.And else "or", items)

    def expect(self, e: exp.Expr, want: ColumnType, depth: int) -> Node:
        n = self.node(e, depth)
        if n.type is not want:
            raise self.error(f"expected {want.value}, found {n.type.value} '{e.sql(dialect=DIALECT)[:40]}'", e)
        return n

    def column(self, e: exp.Column) -> Node:
        if e.table or not isinstance(e.this, exp.Identifier):
            raise self.error(f"'{e.sql(dialect=DIALECT)[:40]}' is not a column", e, "write column names bare")
        name = e.this.this
        if name not in self.schema:
            near = difflib.get_close_matches(name.lower(), list(self.schema), n=1, cutoff=0.6)
            raise self.error(f"unknown column '{name}'", e, f"did you mean '{near[0]}'?" if near else "")
        self.columns.add(name)
        return Column(self.schema[name], name)

    def literal(self, e: exp.Expr) -> Literal:
        if isinstance(e, exp.Boolean):
            return Literal(ColumnType.BOOL, bool(e.this))
        assert isinstance(e, exp.Literal)
        if e.is_string:
            return Literal(ColumnType.STRING, e.this)
        return self.number(e, negative=False)

    def number(self, e: exp.Literal, *, negative: bool) -> Literal:
        text = e.this
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"'{text[:40]}' is not a number", e) from None
        if len(text) > 32 or not math.isfinite(value) or abs(value) > MAX_NUMBER:
            raise self.error(f"number '{text[:40]}' is out of range (at most {MAX_NUMBER:.0e})", e)
        return Literal(ColumnType.NUMBER, -value if negative else value)

    def coerce(self, e: exp.Expr, want: ColumnType, depth: int) -> Node:
        """The node of e; a text literal compared with a date is read as a date (YYYY-MM-DD)."""
        if want is ColumnType.DATE and isinstance(e, exp.Literal) and e.is_string:
            try:
                return Literal(ColumnType.DATE, date.fromisoformat(e.this))
            except ValueError:
                raise self.error(f"'{e.this[:40]}' is not a date", e, "write dates as 'YYYY-MM-DD'") from None
        return self.node(e, depth)

    def compare(self, op: str, left_e: exp.Expr, right_e: exp.Expr, whole: exp.Expr,
                depth: int) -> Node:
        if isinstance(right_e, exp.Null) or isinstance(left_e, exp.Null):
            raise self.error(f"'{op} NULL' is never true", whole, "use IS NULL or IS NOT NULL")
        left = self.node(left_e, depth)
        right = self.coerce(right_e, left.type, depth)
        if isinstance(left, Literal) and left.type is ColumnType.STRING and right.type is ColumnType.DATE:
            left = self.coerce(left_e, ColumnType.DATE, depth)
        if left.type is not right.type:
            raise self.error(f"cannot compare {left.type.value} '{left_e.sql(dialect=DIALECT)[:40]}' with "
                             f"{right.type.value} '{right_e.sql(dialect=DIALECT)[:40]}'", whole)
        if left.type is ColumnType.BOOL and op not in ("=", "<>"):
            raise self.error(f"true/false values can only be compared with = or <>, not {op}", whole)
        return Compare(ColumnType.BOOL, op, left, right)

    def in_(self, e: exp.In, depth: int) -> Node:
        item = self.node(e.this, depth)
        field = e.args.get("field")
        if e.args.get("query") or e.args.get("unnest"):
            raise self.error("subqueries are not allowed", e)
        if field is not None:
            if not (isinstance(field, exp.Anonymous) and str(field.this).upper() == LOOKUP_FUNCTION):
                raise self.error("IN takes a list of values in parentheses or LOOKUP('name')", e)
            args = field.expressions
            if len(args) != 1 or not (isinstance(args[0], exp.Literal) and args[0].is_string):
                raise self.error("LOOKUP takes one list name in quotes, e.g. LOOKUP('high_risk_traders')", field)
            name = args[0].this
            if self.known_lookups is not None and name not in self.known_lookups:
                near = difflib.get_close_matches(name, list(self.known_lookups), n=1)
                raise self.error(f"unknown lookup list '{name}'", args[0], f"did you mean '{near[0]}'?" if near else
                                 "create it with 'cintel rules lookup create'")
            if item.type is not ColumnType.STRING:
                raise self.error(f"lookup lists hold text; '{e.this.sql(dialect=DIALECT)[:40]}' is "
                                 f"{item.type.value}", e)
            self.lookups.add(name)
            return InLookup(ColumnType.BOOL, item, name)
        values = e.expressions
        if not values:
            raise self.error("IN needs at least one value", e)
        if len(values) > MAX_IN_VALUES:
            raise self.error(f"IN lists more than {MAX_IN_VALUES:,} values", e, "use a lookup list")
        literals: list[str | float | date | bool] = []
        for v in values:
            while isinstance(v, exp.Paren):
                v = v.this
            if not isinstance(v, exp.Literal | exp.Boolean | exp.Neg):
                raise self.error("IN lists literal values only", v)
            lit = self.coerce(v, item.type, depth + 1)
            if not isinstance(lit, Literal) or lit.type is not item.type:
                raise self.error(f"'{v.sql(dialect=DIALECT)[:40]}' is not a {item.type.value}", v)
            literals.append(lit.value)
        return InList(ColumnType.BOOL, item, tuple(literals))

    def like(self, e: exp.Like | exp.ILike, depth: int) -> Node:
        if e.args.get("escape"):
            raise self.error("LIKE ... ESCAPE is not supported", e)
        item = self.expect(e.this, ColumnType.STRING, depth)
        pattern = e.expression
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            raise self.error("the LIKE pattern must be text in quotes, e.g. '8517%'", pattern)
        node: Node = Like(ColumnType.BOOL, item, pattern.this, isinstance(e, exp.ILike))
        return Not(ColumnType.BOOL, node) if e.args.get("negate") else node

    def function(self, e: exp.Func, depth: int) -> Node:
        d = depth + 1
        if type(e) in _STRING_FUNCTIONS:
            return Func(ColumnType.STRING, _STRING_FUNCTIONS[type(e)], (self.expect(e.this, ColumnType.STRING, d),))
        if isinstance(e, exp.Length):
            return Func(ColumnType.NUMBER, "length", (self.expect(e.this, ColumnType.STRING, d),))
        if isinstance(e, exp.Abs):
            return Func(ColumnType.NUMBER, "abs", (self.expect(e.this, ColumnType.NUMBER, d),))
        if isinstance(e, exp.Left):
            n = e.expression
            if not (isinstance(n, exp.Literal) and not n.is_string and n.this.isdigit() and int(n.this) <= 1000):
                raise self.error("left(text, n) takes a whole number n from 0 to 1000", e)
            return Func(ColumnType.STRING, "left", (self.expect(e.this, ColumnType.STRING, d),), int(n.this))
        if isinstance(e, exp.Coalesce):
            first = self.node(e.this, d)
            rest = [self.coerce(a, first.type, d) for a in e.expressions]
            if not rest:
                raise self.error("coalesce needs at least two values", e)
            for a, n in zip(e.expressions, rest, strict=True):
                if n.type is not first.type:
                    raise self.error(f"coalesce mixes {first.type.value} and {n.type.value}", a)
            return Func(first.type, "coalesce", (first, *rest))
        name = str(e.this) if isinstance(e, exp.Anonymous) else e.sql_name()
        if name.upper() == LOOKUP_FUNCTION:
            raise self.error("LOOKUP('name') is only allowed after IN", e, "e.g. importer_id IN LOOKUP('name')")
        raise self.error(f"unknown function '{name.lower()}'", e, "allowed: " + ", ".join(FUNCTIONS))


def not_text_at(value: str) -> int | None:
    """Where ``value`` holds a lone surrogate (a code point that is not a character: JSON can carry one, UTF-8
    cannot, so no store, page or log could hold it); None when it is all text."""
    return next((i for i, ch in enumerate(value) if "\ud800" <= ch <= "\udfff"), None)


def check_rule(expression: str, schema: Mapping[str, ColumnType] = DECLARATION_COLUMNS,
               lookups: Collection[str] | None = None) -> CheckedRule:
    """Checks a rule against the columns of schema and, when given, the names of the lookup lists.

    Raises RuleError, and nothing else, for any text that is not a valid rule.
    """
    if not isinstance(expression, str):
        raise RuleError("a rule is text")
    bad = not_text_at(expression)
    if bad is not None:
        # Said without the character itself, which no answer could carry.
        line, col = _position(expression, bad)
        raise RuleError("the rule holds a code point that is not a character (a lone surrogate)", line=line,
                        col=col, start=bad, end=bad + 1)
    checker = _Checker(expression, schema, lookups)
    try:
        tree = checker.parse()
    except RecursionError:
        raise RuleError(f"nested deeper than {MAX_DEPTH} levels") from None
    return CheckedRule(expression, tree, frozenset(checker.columns), frozenset(checker.lookups))
