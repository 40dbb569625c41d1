"""The columns a rule may read, and the field catalogue: each field's name, type, meaning and unit.

Kept apart from the language (which takes any schema) and from scoring (which loads models), so the
rulebook, the CLI, the editor and the scorer check rules against the same list, and the explanation of a
score names its features by the field a rule would test, in the unit a rule compares it in
(``rule_field_for_feature``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from cintel.domain.records import DECLARATIONS, Level
from cintel.risk.feature_spec import FeatureLevel
from cintel.risk.features import rule_columns
from cintel.risk.features_registry import AGGREGATES, FEATURES
from cintel.risk.rule_language import DECLARATION_COLUMNS, ColumnType

# Feature columns named <aggregate>__<column> are the context of an aggregate, built with the declaration row
# for the explanation only: they are not on the item frame rules are evaluated on.
_CONTEXT_MARK = "__"

RULE_SCHEMA: Mapping[str, ColumnType] = {
    **DECLARATION_COLUMNS,
    **{name: ColumnType(kind) for name, kind in rule_columns().items() if _CONTEXT_MARK not in name}}


class Unit(StrEnum):
    """The unit a number is written in, in a rule and in an explanation alike."""

    NONE = ""  # codes, identifiers, text, dates, true/false and ordinals
    NATIONAL_CURRENCY = "national currency"
    INVOICE_CURRENCY = "invoice currency"
    PER_UNIT = "national currency per unit"
    KG = "kg"
    KG_PER_UNIT = "kg per unit"
    QUANTITY = "units of quantity_unit"
    COUNT = "count"
    WEIGHTED_COUNT = "weighted count"
    DAYS = "days"
    SHARE = "share 0–1"
    RATE = "rate 0–1"
    RATIO = "× peer median"
    ROBUST_Z = "robust deviations"
    SCORE = "score 0–1"

    @property
    def hint(self) -> str:
        """How to write a value in this unit, for the editor's field list."""
        return _UNIT_HINTS.get(self, "")


_UNIT_HINTS = {
    Unit.SHARE: "0.25 is 25 %",
    Unit.RATE: "duty rates as fractions: 0.12 is 12 %",
    Unit.RATIO: "1 is the peers' median; 0.5 is half of it",
    Unit.ROBUST_Z: "-3 is three robust deviations below the peers (log scale)",
    Unit.SCORE: "0 nothing known, 1 highest",
}

U = Unit
# The unit of every number a rule can read (a test checks none is missing): declaration fields, then features.
UNITS: Mapping[str, Unit] = {
    "item_no": U.NONE, "quantity": U.QUANTITY, "net_mass_kg": U.KG, "gross_mass_kg": U.KG,
    "invoice_value": U.INVOICE_CURRENCY, "customs_value": U.NATIONAL_CURRENCY, "total_packages": U.COUNT,
    "packages": U.COUNT,
    "unit_value": U.PER_UNIT, "kg_per_unit": U.KG_PER_UNIT, "unit_value_ratio_hs6_origin": U.RATIO,
    "unit_value_robust_z": U.ROBUST_Z, "unit_value_peers": U.COUNT, "mass_per_unit_ratio": U.RATIO,
    "origin_share_hs6": U.SHARE, "duty_rate": U.RATE, "anti_dumping_rate": U.RATE, "preferential_margin": U.RATE,
    "duty_differential_neighbours": U.RATE, "duty_neighbour_rate": U.RATE, "duty_differential_chapter": U.RATE,
    "anti_dumping_elsewhere": U.RATE, "total_customs_value": U.NATIONAL_CURRENCY,
    "importer_declarations_before": U.COUNT, "importer_declarations_90d": U.COUNT,
    "importer_value_90d": U.NATIONAL_CURRENCY, "importer_age_days": U.DAYS, "importer_inspections": U.COUNT,
    "importer_hits": U.COUNT, "importer_hit_rate": U.SHARE, "network_risk": U.SCORE,
    "network_hops_to_offender": U.COUNT, "network_offender_links": U.WEIGHTED_COUNT,
    "network_tied_companies": U.COUNT, "declarant_inspections": U.COUNT, "declarant_hits": U.COUNT,
    "declarant_hit_rate": U.SHARE, "n_transshipment_ports": U.COUNT, "split_siblings": U.COUNT,
    "split_total_value": U.NATIONAL_CURRENCY,
}

# How a declaration-level aggregate relates to the item field it rolls up (cintel.risk.features_registry).
_AMONG_ITEMS = {"min": "lowest among the items", "max": "highest among the items", "any": "some item",
                "first_by_value": "the largest-value item", "count": "number of items"}


@dataclass(frozen=True)
class RuleField:
    """A field a rule can read: its name as a rule writes it, type, meaning, unit and whether it is given per
    item (a declaration hits when any item makes the rule true) or once per declaration."""

    name: str
    type: ColumnType
    meaning: str
    unit: Unit
    per_item: bool

    def format(self, value: Any) -> str:
        """A value as a rule would compare it, with the unit: '0.22 × peer median', '0.19 (share 0–1)', '12 days',
        'CN', 'yes'."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "unknown"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, int | float) and self.type is ColumnType.NUMBER:
            number = f"{value:,.0f}" if abs(value) >= 1_000 else f"{value:.3g}"
            if self.unit in (Unit.NONE, Unit.COUNT):
                return number
            if self.unit in (Unit.SHARE, Unit.RATE, Unit.SCORE):
                return f"{number} ({self.unit.value})"
            return f"{number} {self.unit.value}"
        return str(value)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type.value, "meaning": self.meaning, "unit": self.unit.value,
                "unit_hint": self.unit.hint, "per_item": self.per_item}


@dataclass(frozen=True)
class FeatureField:
    """How a model feature is told in the rule language: the field a rule would test and, for a feature that
    rolls several items up, which item's value it is (``among_items``, e.g. 'lowest among the items')."""

    feature: str
    field: RuleField
    among_items: str = ""

    def label(self, value: Any) -> str:
        """'unit_value_ratio_hs6_origin = 0.22 × peer median (lowest among the items)'."""
        told = f"{self.field.name} = {self.field.format(value)}"
        return f"{told} ({self.among_items})" if self.among_items else told


def _meaning(name: str) -> tuple[str, bool]:
    declared = DECLARATIONS.field_map.get(name)
    if declared is not None:
        return declared.description, declared.level is Level.ITEM
    spec = FEATURES[name]
    return spec.description, spec.level is FeatureLevel.ITEM


@cache
def _catalogue() -> dict[str, RuleField]:
    fields = {}
    for name, kind in sorted(RULE_SCHEMA.items()):
        meaning, per_item = _meaning(name)
        fields[name] = RuleField(name, kind, meaning, UNITS.get(name, Unit.NONE), per_item)
    return fields


def rule_fields() -> list[RuleField]:
    """Every field a rule can read, by name: what the editor lists beside the expression."""
    return list(_catalogue().values())


def rule_field(name: str) -> RuleField | None:
    """One field of the catalogue; None when rules cannot read ``name``."""
    return _catalogue().get(name)


def rule_field_for_feature(feature: str) -> FeatureField | None:
    """The rule-language field a model feature is told as, with its meaning and unit: the field itself when
    rules read the feature directly, the item field it rolls up for an aggregate (``min_unit_value_ratio`` is
    told as ``unit_value_ratio_hs6_origin``, lowest among the items). None for a feature no rule can read."""
    direct = rule_field(feature)
    if direct is not None:
        return FeatureField(feature, direct)
    aggregate = AGGREGATES.get(feature)
    source = rule_field(aggregate.source) if aggregate is not None else None
    if aggregate is None or source is None:
        return None
    return FeatureField(feature, source, _AMONG_ITEMS[aggregate.how])
