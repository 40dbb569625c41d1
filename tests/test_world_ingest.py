"""A simulated world with planted defects, ingested whole: the quarantine catches exactly what was broken."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select

from cintel.demo import INGEST_ORDER
from cintel.ingest.pipeline import ingest_file
from cintel.simulate import simulate_world
from cintel.store import tables


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    simulate_world(out, declarations=1_500, seed=11, formats=("parquet", "csv", "jsonl", "cusdec"), defect_rate=0.03)
    return out


@pytest.mark.parametrize("ext", ["parquet", "csv", "jsonl"])
def test_every_row_of_the_world_is_stored_or_quarantined(engine: Engine, world: Path, ext: str) -> None:
    for kind in INGEST_ORDER:
        report = ingest_file(engine, world / f"{kind.value}.{ext}")
        assert report.rows_read == report.rows_stored + report.rows_duplicate + report.rows_quarantined, kind
        assert report.rows_read > 0, kind


def test_the_quarantine_holds_exactly_the_planted_defects(engine: Engine, world: Path) -> None:
    for kind in INGEST_ORDER:
        ingest_file(engine, world / f"{kind.value}.parquet")
    planted = pl.read_parquet(world / "truth" / "defects.parquet")
    q = tables.quarantine
    with engine.connect() as conn:
        rows = conn.execute(select(q.c.kind, q.c.record_key).where(q.c.code != "DECLARATION_REJECTED")).all()
    caught = {(kind, key) for kind, key in rows}
    expected = set(planted.select("record_kind", "record_key").iter_rows())
    assert caught == expected


def test_the_same_world_in_another_format_adds_nothing(engine: Engine, world: Path) -> None:
    ingest_file(engine, world / "declarations.parquet")
    report = ingest_file(engine, world / "declarations.csv")
    assert report.rows_stored == 0
    assert report.rows_duplicate + report.rows_quarantined == report.rows_read


def test_the_world_as_edifact_cusdec_is_the_same_declarations(engine: Engine, world: Path) -> None:
    flat = ingest_file(engine, world / "declarations.parquet")
    edifact = ingest_file(engine, world / "declarations.edi")
    assert (edifact.rows_read, edifact.rows_stored) == (flat.rows_read, 0)
    assert edifact.rows_duplicate == flat.rows_stored
    assert edifact.rows_quarantined == flat.rows_quarantined
