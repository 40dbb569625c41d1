"""What every risk feature declares about itself, so rules, models and explanations can use it
without knowing how it is computed (the interface later issues add network and movement features to).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FeatureKind(StrEnum):
    NUMBER = "number"  # float; null when unknown
    CATEGORY = "category"  # string code (country, HS chapter, office, trader id)
    FLAG = "flag"  # boolean


class FeatureLevel(StrEnum):
    ITEM = "item"  # one value per declaration item (rules see it per item)
    DECLARATION = "declaration"  # one value per declaration


@dataclass(frozen=True)
class FeatureSpec:
    """A feature: its column name, meaning and how to say, for one declaration, why it raised the risk.

    ``reason`` receives the declaration's feature row (every feature column, plus the declaration's
    own fields) and returns a sentence an officer understands, e.g.
    "unit value 78 % below peers for HS 851712 from CN"; None when the value says nothing worth telling.
    """

    name: str
    description: str
    kind: FeatureKind
    level: FeatureLevel
    reason: Callable[[Mapping[str, Any]], str | None]
    # Whether a model may use it (identifiers kept for rules and explanations only are not).
    model_input: bool = True
