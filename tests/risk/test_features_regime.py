"""Customs-regime features: preference claims, proof of origin and tax-relief procedures, in officer words."""

from __future__ import annotations

import polars as pl

from cintel.risk.features import FEATURES, build_features
from cintel.risk.features_state import feature_state, state_features
from tests.risk.test_features_units import DAY, empty_history, frame, item


def _declaration(rows: list[dict[str, object]]) -> dict[str, object]:
    _, decls = build_features(frame(rows), empty_history())
    return decls.row(0, named=True)


def test_a_preference_claimed_without_a_proof_of_origin_is_flagged_and_named() -> None:
    decl = _declaration([item("D1", "61091000", "TR", preference_code="300", item_documents="380:INV-1")])
    assert decl["any_preference_without_proof"] is True
    assert FEATURES["any_preference_without_proof"].reason(decl) == \
        "preference 300 claimed for origin TR without a proof of origin"


def test_a_proof_of_origin_on_the_item_or_the_declaration_clears_the_flag() -> None:
    on_item = item("D1", "61091000", "TR", preference_code="300", item_documents="N954:EUR1-77")
    on_header = item("D2", "61091000", "TR", preference_code="300", documents="380:INV-2;861:CO-9")
    items, _ = build_features(frame([on_item, on_header]), empty_history())
    assert items["preference_claimed"].to_list() == [True, True]
    assert items["preference_without_proof"].to_list() == [False, False]


def test_no_preference_code_is_no_claim() -> None:
    items, _ = build_features(frame([item("D1", "61091000", preference_code="100"), item("D2", "61091000")]),
                              empty_history())
    assert items["preference_claimed"].to_list() == [False, False]
    assert items["preference_without_proof"].to_list() == [False, False]


def test_a_relief_procedure_is_flagged_with_its_code() -> None:
    decl = _declaration([item("D1", "61091000", procedure_code="40"),
                         item("D1", "61091000", procedure_code="42") | {"item_no": 2}])
    assert decl["any_relief_procedure"] is True
    assert FEATURES["any_relief_procedure"].reason(decl) == "released under procedure 42 (tax relief)"


def test_real_time_features_give_the_same_regime_flags() -> None:
    rows = frame([item("D1", "61091000", "TR", preference_code="300", procedure_code="42")])
    batch, _ = build_features(rows, empty_history())
    state = feature_state(empty_history(), DAY)
    live, _ = state_features(rows, state)
    columns = ["preference_claimed", "preference_without_proof", "relief_procedure"]
    assert live.select(columns).equals(batch.select(columns))
    assert batch.select(pl.all_horizontal(columns)).item() is True
