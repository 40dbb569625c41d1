"""The rule language: what it accepts, how it evaluates (batch and one row), and how it refuses hostile text."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest

from cintel.domain.codes import Channel, DeclarationType
from cintel.risk.rule_language import (
    DECLARATION_COLUMNS,
    MAX_DEPTH,
    ColumnType,
    RuleError,
    check_rule,
)
from cintel.risk.rules import (
    Rule,
    evaluate,
    evaluate_rules,
    hit_expr,
    matches,
    score_declaration,
    to_polars,
)

SCHEMA = DECLARATION_COLUMNS | {"unit_value_ratio_hs6_origin": ColumnType.NUMBER, "new_trader": ColumnType.BOOL}
LOOKUPS = {"high_risk_traders": frozenset({"T1", "T9"})}


def item(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"declaration_id": "D1", "item_no": 1, "declaration_date": date(2024, 5, 1),
                            "declaration_type": "IM", "office_code": "OF1", "importer_id": "T1",
                            "hs_code": "851712", "country_of_origin": "CN", "customs_value": 100.0,
                            "net_mass_kg": 10.0, "goods_description": "Phones", "unit_value_ratio_hs6_origin": 0.3,
                            "new_trader": False}
    return base | kw


def both(expression: str, rows: list[dict[str, Any]]) -> list[bool | None]:
    """The rule on each row, asserting the Polars and Python paths agree."""
    rule = check_rule(expression, SCHEMA, LOOKUPS)
    frame = pl.DataFrame(rows, infer_schema_length=None)
    batch = frame.with_columns(to_polars(rule, LOOKUPS).alias("r"))["r"].to_list()
    single = [evaluate(rule, r, LOOKUPS) for r in rows]
    assert batch == single
    return single


def error_of(expression: str, **kw: Any) -> RuleError:
    with pytest.raises(RuleError) as info:
        check_rule(expression, SCHEMA, kw.get("lookups", LOOKUPS))
    return info.value


# ---------------------------------------------------------------- what the language accepts


def test_the_issue_example_hits_cheap_chinese_phones_only() -> None:
    rows = [item(), item(unit_value_ratio_hs6_origin=0.9), item(country_of_origin="VN"), item(hs_code="620342")]
    assert both("hs_code LIKE '8517%' AND country_of_origin = 'CN' AND unit_value_ratio_hs6_origin < 0.5",
                rows) == [True, False, False, False]


def test_a_checked_rule_names_the_columns_and_lookups_it_reads() -> None:
    rule = check_rule("importer_id IN LOOKUP('high_risk_traders') AND quantity > 1", SCHEMA, LOOKUPS)
    assert rule.columns == {"importer_id", "quantity"}
    assert rule.lookups == {"high_risk_traders"}


def test_the_schema_is_injected_so_feature_columns_are_one_union_away() -> None:
    assert DECLARATION_COLUMNS["hs_code"] is ColumnType.STRING
    assert DECLARATION_COLUMNS["customs_value"] is ColumnType.NUMBER
    assert DECLARATION_COLUMNS["declaration_date"] is ColumnType.DATE
    with pytest.raises(RuleError):
        check_rule("unit_value_ratio_hs6_origin < 0.5")
    check_rule("unit_value_ratio_hs6_origin < 0.5", DECLARATION_COLUMNS | {"unit_value_ratio_hs6_origin":
                                                                            ColumnType.NUMBER})


def test_null_comparisons_are_unknown_and_unknown_is_no_hit() -> None:
    rows = [item(importer_id=None), item(importer_id="X")]
    assert both("importer_id = 'X'", rows) == [None, True]
    assert both("NOT importer_id = 'X'", rows) == [None, False]
    assert both("importer_id = 'X' OR hs_code = '851712'", rows) == [True, True]
    assert both("importer_id = 'X' AND hs_code = '000000'", rows) == [False, False]
    assert both("importer_id IS NULL", rows) == [True, False]
    assert both("importer_id IN ('X', 'Y')", rows) == [None, True]
    assert not matches(check_rule("importer_id = 'X'", SCHEMA), rows[0])


def test_like_prefix_suffix_contains_and_single_character() -> None:
    rows = [item(hs_code="851712"), item(hs_code="620342"), item(hs_code="8517")]
    assert both("hs_code LIKE '8517%'", rows) == [True, False, True]
    assert both("hs_code LIKE '%12'", rows) == [True, False, False]
    assert both("hs_code LIKE '%034%'", rows) == [False, True, False]
    assert both("hs_code LIKE '85_7%'", rows) == [True, False, True]
    assert both("hs_code NOT LIKE '8517%'", rows) == [False, True, False]
    assert both("goods_description ILIKE '%PHONE%'", [item(), item(goods_description="Shoes (a.b*)")]) == [True, False]
    assert both("goods_description LIKE '%(a.b*)'", [item(), item(goods_description="Shoes (a.b*)")]) == [False, True]


def test_arithmetic_functions_between_dates_and_lookups() -> None:
    rows = [item(), item(customs_value=5.0, net_mass_kg=0.0), item(importer_id="T2", declaration_date=date(2023, 1, 1))]
    assert both("customs_value / net_mass_kg < 20", rows) == [True, None, True]
    assert both("abs(-customs_value) + 1 BETWEEN 50 AND 200", rows) == [True, False, True]
    assert both("length(lower(goods_description)) = 6 AND left(upper(hs_code), 4) = '8517'", rows) == [True] * 3
    assert both("coalesce(importer_id, 'none') IN LOOKUP('high_risk_traders')", rows) == [True, True, False]
    assert both("declaration_date >= '2024-01-01'", rows) == [True, True, False]
    assert both("new_trader OR new_trader = FALSE", rows) == [True, True, True]


# ---------------------------------------------------------------- errors that point at the token


def test_an_unknown_column_is_named_with_its_position_and_the_nearest_column() -> None:
    e = error_of("hs_code LIKE '85%' AND\n  countryof_origin = 'CN'")
    assert str(e) == "unknown column 'countryof_origin' at 2:3 (did you mean 'country_of_origin'?)"
    assert (e.token, e.line, e.col) == ("countryof_origin", 2, 3)


def test_comparing_text_with_a_number_is_a_type_error_at_the_literal() -> None:
    e = error_of("hs_code = 8517")
    assert "cannot compare string 'hs_code' with number '8517'" in str(e)
    assert (e.line, e.col) == (1, 1)


@pytest.mark.parametrize(("expression", "message"), [
    ("customs_value", "must be true or false"),
    ("hs_code LIKE hs_code", "pattern must be text"),
    ("importer_id = NULL", "use IS NULL"),
    ("importer_id IN LOOKUP('nope')", "unknown lookup list 'nope'"),
    ("LOOKUP('high_risk_traders')", "only allowed after IN"),
    ("customs_value IN LOOKUP('high_risk_traders')", "lookup lists hold text"),
    ("declaration_date > '2024-02-30'", "is not a date"),
    ("left(hs_code, net_mass_kg) = '85'", "whole number"),
    ("coalesce(hs_code, 1) = '1'", "coalesce mixes"),
    ("new_trader > TRUE", "only be compared with = or <>"),
    ("sum(customs_value) > 1", "unknown function 'sum'"),
    ("hs_code IN ('85', 1)", "is not a string"),
    ("hs_code = ", "incomplete"),
    ("", "empty"),
])
def test_refused_rules_say_what_is_wrong(expression: str, message: str) -> None:
    assert message in str(error_of(expression))


# ---------------------------------------------------------------- hostile text


@pytest.mark.parametrize(("expression", "message", "position"), [
    ("1=1; DROP TABLE declarations", "';' is not allowed", (1, 4)),
    ("hs_code = '' OR 1=1 --", "comments are not allowed", (1, 19)),
    ("hs_code = 'x' /* */ OR TRUE", "comments are not allowed", (1, 11)),
    ("(SELECT 1)", "'SELECT' is not allowed", (1, 2)),
    ("hs_code IN (SELECT hs_code FROM declarations)", "'SELECT' is not allowed", (1, 13)),
    ("pg_sleep(10)", "unknown function 'pg_sleep'", (1, 1)),
    ("load_extension('x')", "unknown function 'load_extension'", (1, 1)),
    ("*", "'*' is not allowed", (1, 1)),
    ("`hs_code` = '1'", "'`' is not allowed", (1, 1)),
    ('"hs_code" = \'1\'', "is not allowed", (1, 1)),
    ("declarations.hs_code = '1'", "'.' is not allowed", (1, 13)),
    ("hs_code = $1", "'$' is not allowed", (1, 11)),
    ("hs_code = E'\\x27'", "not allowed", (1, 11)),
    ("hs_code = $$x$$", "not allowed", (1, 11)),
    ("CAST(customs_value AS TEXT) = '1'", "'AS' is not allowed", (1, 20)),
    ("hs_code = 'a' || 'b'", "'||' is not allowed", (1, 15)),
    ("customs_value > 1e400", "out of range", (1, 17)),
    ("customs_value > 99999999999999999999", "out of range", (1, 17)),
])
def test_hostile_rules_are_refused_at_the_token(expression: str, message: str, position: tuple[int, int]) -> None:
    e = error_of(expression)
    assert message in str(e)
    assert (e.line, e.col) == position


def test_a_unicode_homoglyph_column_is_unknown_and_the_real_one_suggested() -> None:
    e = error_of("hs_cοde = '1'")  # Greek omicron
    assert "unknown column 'hs_cοde'" in str(e)
    assert "did you mean 'hs_code'" in str(e)


def test_a_megabyte_literal_is_refused_before_parsing() -> None:
    assert "limit is 4,000" in str(error_of("hs_code = '" + "x" * 1_000_000 + "'"))


def test_a_long_literal_within_the_length_limit_is_refused() -> None:
    assert "limit is 256" in str(error_of("hs_code = '" + "x" * 1_000 + "'"))


@pytest.mark.parametrize("expression", [
    "(" * 10_000 + "TRUE" + ")" * 10_000,
    "(" * (MAX_DEPTH + 1) + "TRUE" + ")" * (MAX_DEPTH + 1),
    "NOT " * 900 + "TRUE",
    "- " * 1_500 + "1 = 1",
    "abs(" * 600 + "1" + ")" * 600 + " = 1",
])
def test_deep_nesting_is_a_rule_error_not_a_recursion_error(expression: str) -> None:
    assert "nested deeper" in str(error_of(expression)) or "limit is 4,000" in str(error_of(expression))


def test_a_long_flat_chain_of_conditions_is_not_nesting() -> None:
    check_rule(" AND ".join(["hs_code <> '0'"] * 200), SCHEMA)


# ---------------------------------------------------------------- rules and batch scoring


def rule(rule_id: str, expression: str, **kw: Any) -> Rule:
    kw.setdefault("weight", None if "channel" in kw else 1.0)
    return Rule(rule_id=rule_id, version=kw.pop("version", 1), expression=expression, reason="test", author="ann",
                **kw)


def test_a_rule_has_exactly_one_of_weight_and_channel() -> None:
    with pytest.raises(RuleError, match="exactly one"):
        Rule("R1", 1, "TRUE", "r", "ann", weight=1.0, channel=Channel.RED)
    with pytest.raises(RuleError, match="exactly one"):
        Rule("R1", 1, "TRUE", "r", "ann")
    with pytest.raises(RuleError, match="yellow or red"):
        Rule("R1", 1, "TRUE", "r", "ann", channel=Channel.GREEN)
    with pytest.raises(RuleError, match="before valid_from"):
        Rule("R1", 1, "TRUE", "r", "ann", weight=1, valid_from=date(2024, 2, 1), valid_to=date(2024, 1, 1))


def test_applies_to_checks_validity_office_and_regime() -> None:
    r = rule("R1", "TRUE", valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31), offices=frozenset({"OF1"}),
             regimes=frozenset({DeclarationType.IMPORT}))
    assert r.applies_to(date(2024, 6, 1), "OF1", "IM")
    assert not r.applies_to(date(2023, 12, 31), "OF1", "IM")
    assert not r.applies_to(date(2025, 1, 1), "OF1", "IM")
    assert not r.applies_to(date(2024, 6, 1), "OF2", "IM")
    assert not r.applies_to(date(2024, 6, 1), "OF1", "EX")


def declarations() -> list[dict[str, Any]]:
    return [
        item(declaration_id="D1", item_no=1, hs_code="620342"),
        item(declaration_id="D1", item_no=2, hs_code="851712"),  # one item hitting is enough
        item(declaration_id="D2", country_of_origin="VN", office_code="OF2"),
        item(declaration_id="D3", importer_id="T2", declaration_type="EX", declaration_date=date(2023, 1, 1)),
        item(declaration_id="D4", importer_id=None, hs_code="000000", country_of_origin=None),
    ]


RULES = [
    rule("PHONES", "hs_code LIKE '8517%' AND country_of_origin = 'CN'", weight=0.5),
    rule("TRADERS", "importer_id IN LOOKUP('high_risk_traders')", weight=0.25, valid_from=date(2024, 1, 1)),
    rule("OF2-ALL", "TRUE", channel=Channel.YELLOW, offices=frozenset({"OF2"})),
    rule("EXPORTS", "hs_code IS NOT NULL", channel=Channel.RED, regimes=frozenset({DeclarationType.EXPORT})),
    rule("YELLOW-T1", "importer_id = 'T1'", channel=Channel.YELLOW),
]


def test_evaluate_rules_gives_hits_score_and_strongest_channel_per_declaration() -> None:
    result = evaluate_rules(RULES, pl.DataFrame(declarations(), infer_schema_length=None), LOOKUPS, SCHEMA)
    assert result["rule_ids"].to_list() == [["PHONES", "TRADERS", "YELLOW-T1"], ["TRADERS", "OF2-ALL", "YELLOW-T1"],
                                            ["PHONES", "EXPORTS"], []]
    assert result.drop("rule_ids").to_dicts() == [
        {"declaration_id": "D1", "rule_hits": [{"rule_id": "PHONES", "version": 1},
                                               {"rule_id": "TRADERS", "version": 1},
                                               {"rule_id": "YELLOW-T1", "version": 1}],
         "rule_score": 0.75, "rule_channel": "yellow"},
        {"declaration_id": "D2", "rule_hits": [{"rule_id": "TRADERS", "version": 1},
                                               {"rule_id": "OF2-ALL", "version": 1},
                                               {"rule_id": "YELLOW-T1", "version": 1}],
         "rule_score": 0.25, "rule_channel": "yellow"},
        {"declaration_id": "D3", "rule_hits": [{"rule_id": "PHONES", "version": 1},
                                               {"rule_id": "EXPORTS", "version": 1}],
         "rule_score": 0.5, "rule_channel": "red"},
        {"declaration_id": "D4", "rule_hits": [], "rule_score": 0.0, "rule_channel": None},
    ]


def test_one_declaration_in_real_time_scores_as_the_batch_does() -> None:
    rows = declarations()
    batch = {r["declaration_id"]: r for r in evaluate_rules(RULES, pl.DataFrame(rows, infer_schema_length=None),
                                                            LOOKUPS, SCHEMA).to_dicts()}
    for d in ("D1", "D2", "D3", "D4"):
        one = score_declaration(RULES, [r for r in rows if r["declaration_id"] == d], LOOKUPS, SCHEMA)
        assert [{"rule_id": k, "version": v} for k, v in one.hits] == batch[d]["rule_hits"]
        assert one.score == batch[d]["rule_score"]
        assert (one.channel.value if one.channel else None) == batch[d]["rule_channel"]
        assert [k for k, _ in one.hits] == batch[d]["rule_ids"]


def test_no_rules_scores_every_declaration_zero() -> None:
    result = evaluate_rules([], pl.DataFrame(declarations(), infer_schema_length=None))
    assert result["declaration_id"].to_list() == ["D1", "D2", "D3", "D4"]
    assert result["rule_score"].to_list() == [0.0] * 4
    assert result["rule_hits"].to_list() == [[]] * 4
    assert result["rule_ids"].to_list() == [[]] * 4


def test_more_than_64_rules_use_several_masks() -> None:
    many = [rule(f"R{i}", f"item_no = {i % 3}", weight=1.0) for i in range(130)]
    rows = [item(declaration_id="A", item_no=1), item(declaration_id="B", item_no=2)]
    result = evaluate_rules(many, pl.DataFrame(rows, infer_schema_length=None), LOOKUPS, SCHEMA)
    assert [len(h) for h in result["rule_hits"].to_list()] == [43, 43]
    assert result["rule_hits"][0][-1]["rule_id"] == "R127"


def test_a_rule_that_fails_the_check_names_the_rule() -> None:
    with pytest.raises(RuleError, match=r"rule BAD v1: unknown column 'hs_cod'"):
        evaluate_rules([rule("BAD", "hs_cod = '1'")], pl.DataFrame(declarations(), infer_schema_length=None))


def test_hit_expr_counts_unknown_as_no_hit() -> None:
    frame = pl.DataFrame([item(importer_id=None), item()], infer_schema_length=None)
    assert frame.select(hit_expr(check_rule("importer_id = 'T1'"))).to_series().to_list() == [False, True]
