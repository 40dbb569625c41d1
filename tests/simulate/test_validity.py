"""With defect_rate=0, every value of every file satisfies its field's rule."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cintel.domain.records import RecordKind
from tests.simulate.conftest import END, read, violations


@pytest.mark.parametrize("kind", list(RecordKind))
def test_clean_world_has_no_invalid_value(world: Path, kind: RecordKind) -> None:
    broken = violations(kind, read(world, kind))
    assert broken.height == 0, broken.group_by("field").len()


def test_keys_are_unique(world: Path) -> None:
    declarations = read(world, RecordKind.DECLARATIONS)
    assert declarations.select("declaration_id", "item_no").is_unique().all()
    for kind, key in [(RecordKind.PARTIES, "party_id"), (RecordKind.MANIFESTS, "bl_number"),
                      (RecordKind.EVENTS, "event_id"), (RecordKind.INSPECTIONS, "inspection_id"),
                      (RecordKind.FINANCIAL, "record_id"), (RecordKind.INTEL_REPORTS, "report_id")]:
        assert read(world, kind)[key].is_unique().all(), kind


def test_no_date_lies_in_the_future_or_before_1990(world: Path) -> None:
    dates = read(world, RecordKind.DECLARATIONS)["declaration_date"]
    assert dates.min() >= "1990-01-01"
    assert dates.max() <= END.isoformat()
    events = read(world, RecordKind.EVENTS)["event_time"]
    assert events.max() < f"{END.isoformat()}T99"


def test_transport_modes_are_border_modes_one_to_five(world: Path) -> None:
    modes = set(read(world, RecordKind.DECLARATIONS)["transport_mode"].unique())
    assert modes <= {"1", "2", "3", "4", "5"}
    assert {"1", "4", "5"} <= modes


def test_declarations_use_eight_digit_codes_of_real_chapters(world: Path) -> None:
    hs = read(world, RecordKind.DECLARATIONS)["hs_code"]
    assert (hs.str.len_chars() == 8).all()
    assert not hs.str.starts_with("77").any()


def test_sea_declarations_name_vessel_containers_and_a_manifested_bill(world: Path) -> None:
    sea = read(world, RecordKind.DECLARATIONS).filter(pl.col("transport_mode") == "1")
    assert sea["vessel_imo"].null_count() == 0
    assert sea["container_numbers"].null_count() == 0
    manifested = set(read(world, RecordKind.MANIFESTS)["bl_number"])
    assert set(sea["bl_number"]) <= manifested
