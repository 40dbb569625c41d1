"""simulate_world: its files, their columns and types, its summary, determinism, and bad input."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from cintel.domain.records import FieldKind, RecordKind, record_format
from cintel.simulate import SimulationError, SimulationSummary, simulate_world
from tests.simulate.conftest import END, read

TRUTH_FILES = ("declarations_truth", "items_truth", "parties_truth", "defects")


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
@pytest.mark.parametrize("kind", list(RecordKind))
def test_every_file_has_exactly_the_columns_of_its_record_format(world: Path, kind: RecordKind, ext: str) -> None:
    frame = read(world, kind, ext)
    assert frame.columns == [f.name for f in record_format(kind).fields]
    assert frame.height > 0


@pytest.mark.parametrize("kind", list(RecordKind))
def test_parquet_columns_are_typed_for_their_field_kind(world: Path, kind: RecordKind) -> None:
    schema = read(world, kind).schema
    expected = {FieldKind.INTEGER: pl.Int64, FieldKind.DECIMAL: pl.Float64, FieldKind.LATITUDE: pl.Float64,
                FieldKind.LONGITUDE: pl.Float64, FieldKind.BOOLEAN: pl.Boolean}
    for f in record_format(kind).fields:
        assert schema[f.name] == expected.get(f.kind, pl.String), f.name


def test_summary_counts_the_rows_and_files_written(clean_world: tuple[Path, SimulationSummary]) -> None:
    out, summary = clean_world
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["seed"] == 7
    for kind in RecordKind:
        assert data["records"][kind.value] == read(out, kind).height
    assert all((out / name).exists() for name in data["files"])
    assert {f"truth/{name}.parquet" for name in TRUTH_FILES} <= set(data["files"])
    assert data["defects"] == 0
    assert sum(data["schemes"].values()) > 0


def test_declarations_carry_about_two_and_a_half_items_each(world: Path) -> None:
    declarations = read(world, RecordKind.DECLARATIONS)
    per = declarations.height / declarations["declaration_id"].n_unique()
    assert 2.0 <= per <= 3.0


def test_same_seed_and_parameters_give_identical_parquet_bytes(tmp_path: Path) -> None:
    first = simulate_world(tmp_path / "a", declarations=1_500, seed=3, end_date=END)
    simulate_world(tmp_path / "b", declarations=1_500, seed=3, end_date=END)
    for name in first.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_another_seed_gives_another_world(tmp_path: Path) -> None:
    simulate_world(tmp_path / "a", declarations=500, seed=1, end_date=END)
    simulate_world(tmp_path / "b", declarations=500, seed=2, end_date=END)
    a = pl.read_parquet(tmp_path / "a" / "declarations.parquet")
    b = pl.read_parquet(tmp_path / "b" / "declarations.parquet")
    assert not a.equals(b)


def test_end_date_defaults_to_yesterday(tmp_path: Path) -> None:
    summary = simulate_world(tmp_path, declarations=300)
    assert summary.end_date == (date.today() - timedelta(days=1)).isoformat()
    dates = pl.read_parquet(tmp_path / "declarations.parquet")["declaration_date"]
    assert dates.max() <= summary.end_date


def test_progress_reports_every_stage_and_completion(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    simulate_world(tmp_path, declarations=300, end_date=END, progress=lambda *a: seen.append(a))
    assert seen[-1][1] == seen[-1][2]
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"formats": ("xml",)}, "formats"),
    ({"defect_rate": 1.5}, "defect_rate"),
    ({"declarations": 0}, "declarations"),
    ({"end_date": date.today() + timedelta(days=2)}, "end_date"),
    ({"months": 0}, "months"),
])
def test_bad_parameters_are_rejected_with_the_field_named(tmp_path: Path, kwargs: dict[str, object],
                                                          field: str) -> None:
    with pytest.raises(SimulationError, match=field):
        simulate_world(tmp_path, **kwargs)  # type: ignore[arg-type]


def test_a_configured_world_plants_schemes_at_the_configured_rates(tmp_path: Path) -> None:
    from dataclasses import replace

    from cintel.simulate import Scheme, SimulationConfig, simulate_configured_world

    base = SimulationConfig(declarations=1_000, seed=5, end_date=END, defect_rate=0.0)
    schemes = dict(base.schemes)
    schemes[Scheme.UNDERVALUATION.value] = replace(schemes[Scheme.UNDERVALUATION.value], rate=0.1)
    summary = simulate_configured_world(replace(base, schemes=schemes), tmp_path)
    assert summary.schemes[Scheme.UNDERVALUATION.value] == 100
