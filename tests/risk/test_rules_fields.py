"""The field catalogue: every field a rule can read has a meaning and, for numbers, a unit; every feature the
model explains is told by the field a rule would test, in the same unit; explanation-only columns are not
rule fields."""

from __future__ import annotations

import pytest

from cintel.risk.features_registry import AGGREGATES, FEATURES
from cintel.risk.rule_language import ColumnType, RuleError, check_rule
from cintel.risk.rule_schema import RULE_SCHEMA, UNITS, Unit, rule_field, rule_field_for_feature, rule_fields


def test_every_field_a_rule_can_read_is_listed_with_its_meaning() -> None:
    listed = rule_fields()
    assert [f.name for f in listed] == sorted(RULE_SCHEMA)
    assert all(f.meaning.strip() for f in listed)
    assert {f.name: f.type for f in listed} == dict(RULE_SCHEMA)


def test_every_number_a_rule_can_read_has_a_unit() -> None:
    numbers = {name for name, kind in RULE_SCHEMA.items() if kind is ColumnType.NUMBER}
    assert numbers - set(UNITS) == set()
    assert set(UNITS) - set(RULE_SCHEMA) == set()  # no unit for a field that does not exist


def test_fields_given_per_item_say_so() -> None:
    value, total = rule_field("customs_value"), rule_field("total_customs_value")
    assert value is not None
    assert total is not None
    assert (value.per_item, value.unit) == (True, Unit.NATIONAL_CURRENCY)
    assert (total.per_item, total.unit) == (False, Unit.NATIONAL_CURRENCY)
    assert rule_field("nope") is None


def test_every_feature_the_model_explains_is_told_by_a_field_a_rule_can_use() -> None:
    for name, spec in FEATURES.items():
        if not spec.model_input:
            continue
        told = rule_field_for_feature(name)
        assert told is not None, name
        assert told.field.name in RULE_SCHEMA, name
        check_rule(f"{told.field.name} IS NOT NULL", RULE_SCHEMA)  # a rule can really be written on it


@pytest.mark.parametrize(("feature", "field", "among"), [
    ("unit_value_ratio_hs6_origin", "unit_value_ratio_hs6_origin", ""),
    ("min_unit_value_ratio", "unit_value_ratio_hs6_origin", "lowest among the items"),
    ("max_duty_differential_neighbours", "duty_differential_neighbours", "highest among the items"),
    ("any_round_value", "round_value", "some item"),
    ("main_origin", "country_of_origin", "the largest-value item"),
])
def test_an_aggregate_is_told_as_the_item_field_it_rolls_up(feature: str, field: str, among: str) -> None:
    told = rule_field_for_feature(feature)
    assert told is not None
    assert (told.field.name, told.among_items) == (field, among)
    if feature in AGGREGATES:
        assert AGGREGATES[feature].source == field


@pytest.mark.parametrize(("feature", "value", "label"), [
    ("min_unit_value_ratio", 0.2249, "unit_value_ratio_hs6_origin = 0.225 × peer median (lowest among the items)"),
    ("declarant_hit_rate", 0.19, "declarant_hit_rate = 0.19 (share 0–1)"),
    ("importer_age_days", 12, "importer_age_days = 12 days"),
    ("total_customs_value", 125_000.4, "total_customs_value = 125,000 national currency"),
    ("importer_inspections", 4, "importer_inspections = 4"),
    ("any_round_value", True, "round_value = yes (some item)"),
    ("country_of_dispatch", "CN", "country_of_dispatch = CN"),
    ("network_risk", None, "network_risk = unknown"),
])
def test_an_explained_value_is_written_as_a_rule_compares_it(feature: str, value: object, label: str) -> None:
    told = rule_field_for_feature(feature)
    assert told is not None
    assert told.label(value) == label


def test_columns_kept_only_for_the_explanation_are_not_rule_fields() -> None:
    # They exist on the declaration row the model explains, not on the item rows rules are evaluated on.
    assert not any("__" in name for name in RULE_SCHEMA)
    with pytest.raises(RuleError, match="unknown column 'min_unit_value_ratio__hs6'"):
        check_rule("min_unit_value_ratio__hs6 = '851712'", RULE_SCHEMA)


def test_a_lone_surrogate_is_refused_where_it_is_without_echoing_it() -> None:
    # JSON can carry one; no store, page or log can: the language says so before anything else reads it.
    with pytest.raises(RuleError, match="lone surrogate") as refused:
        check_rule("hs_code = '\ud800'", RULE_SCHEMA)
    assert (refused.value.line, refused.value.col, refused.value.start, refused.value.token) == (1, 12, 11, "")
    str(refused.value).encode("utf-8")  # the message itself is text
