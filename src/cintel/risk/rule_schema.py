"""The columns a rule may read: the declaration's own fields and every item-level feature.

Kept apart from the language (which takes any schema) and from scoring (which loads models), so
the rulebook, the CLI and the scorer check rules against the same list.
"""

from __future__ import annotations

from collections.abc import Mapping

from cintel.risk.features import rule_columns
from cintel.risk.rule_language import DECLARATION_COLUMNS, ColumnType

RULE_SCHEMA: Mapping[str, ColumnType] = {**DECLARATION_COLUMNS,
                                         **{name: ColumnType(kind) for name, kind in rule_columns().items()}}
