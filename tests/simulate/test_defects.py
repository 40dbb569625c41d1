"""Deliberate defects: each listed one is really broken, and nothing unlisted is."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cintel.domain.records import RecordKind
from cintel.simulate import SimulationSummary
from tests.simulate.conftest import read, violations

KEYS = {RecordKind.DECLARATIONS: "declaration_id", RecordKind.PARTIES: "party_id",
        RecordKind.MANIFESTS: "bl_number", RecordKind.EVENTS: "event_id", RecordKind.FINANCIAL: "record_id"}


def _broken_keys(world: Path, kind: RecordKind) -> set[str]:
    frame = read(world, kind)
    rows = violations(kind, frame)["row"].unique().to_list()
    return set(frame[KEYS[kind]].gather(rows).to_list())


@pytest.mark.parametrize("kind", list(KEYS))
def test_the_records_listed_as_defective_are_exactly_the_invalid_ones(
        dirty_world: tuple[Path, SimulationSummary], kind: RecordKind) -> None:
    out, _ = dirty_world
    listed = pl.read_parquet(out / "truth" / "defects.parquet").filter(pl.col("record_kind") == kind.value)
    assert listed.height > 0
    assert set(listed["record_key"]) == _broken_keys(out, kind)


def test_defect_rate_is_roughly_the_share_of_broken_records(dirty_world: tuple[Path, SimulationSummary]) -> None:
    out, summary = dirty_world
    listed = pl.read_parquet(out / "truth" / "defects.parquet")
    declarations = listed.filter(pl.col("record_kind") == "declarations").height
    assert 0.03 <= declarations / summary.declarations <= 0.07
    assert summary.defects == listed.height


def test_defects_span_the_kinds_quarantine_must_handle(dirty_world: tuple[Path, SimulationSummary]) -> None:
    out, _ = dirty_world
    codes = set(pl.read_parquet(out / "truth" / "defects.parquet")["defect"])
    assert {"invalid_country", "bad_container_check_digit", "net_mass_exceeds_gross", "missing_required",
            "unparsable_date", "negative_value", "unknown_currency", "bad_hs_code"} <= codes
