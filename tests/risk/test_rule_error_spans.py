"""A refused rule says where the offending token is as a span of the text, so an editor can mark it."""

from __future__ import annotations

import pytest

from cintel.risk.rule_language import DECLARATION_COLUMNS, RuleError, check_rule


def error_of(expression: str) -> RuleError:
    with pytest.raises(RuleError) as info:
        check_rule(expression, DECLARATION_COLUMNS, {"high_risk_traders"})
    return info.value


@pytest.mark.parametrize(("expression", "token", "line", "col"), [
    ("customs_value > AND 3", "AND", 1, 17),  # a parse error: sqlglot's column is the token's last character
    ("customs_value >\n  AND 3", "AND", 2, 3),
    ("hs_code LIKE '85%' AND\n  hs_cod = 'CN'", "hs_cod", 2, 3),  # a check on the tree
    ("1=1; DROP TABLE declarations", ";", 1, 4),  # a token the language refuses
    ("importer_id IN LOOKUP('nope')", "'nope'", 1, 23),
    ("lower(customs_value) = 'x'", "customs_value", 1, 7),
    ("hs_code = 'open", "'", 1, 11),  # the quote left open
])
def test_the_error_span_covers_the_offending_token(expression: str, token: str, line: int, col: int) -> None:
    e = error_of(expression)
    assert e.start is not None
    assert e.end is not None
    assert expression[e.start:e.end] == token
    assert (e.line, e.col) == (line, col)


@pytest.mark.parametrize("expression", ["", "   ", "x" * 5_000])
def test_an_error_without_a_place_has_no_span(expression: str) -> None:
    e = error_of(expression)
    assert (e.start, e.end, e.line) == (None, None, 0)
