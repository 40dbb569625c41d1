"""Writing the world: one file per record kind and format, and the ground truth beside it.

Columns are exactly those of the record's format, in its order, typed for the file: strings for
codes, identifiers and dates; floats for decimals and coordinates; integers; booleans.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl

from cintel.domain.records import FieldKind, RecordKind, record_format

log = logging.getLogger(__name__)
FLAT_FORMATS = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}
FORMATS = (*FLAT_FORMATS, "cusdec")
_DTYPES = {FieldKind.INTEGER: pl.Int64, FieldKind.DECIMAL: pl.Float64, FieldKind.LATITUDE: pl.Float64,
           FieldKind.LONGITUDE: pl.Float64, FieldKind.BOOLEAN: pl.Boolean}
# Row groups of a fixed size keep the Parquet bytes identical from run to run.
_ROW_GROUP = 256 * 1024


def typed(kind: RecordKind, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with exactly the format's columns, in order, with their file types."""
    fmt = record_format(kind)
    return frame.select([pl.col(f.name).cast(_DTYPES.get(f.kind, pl.String)) for f in fmt.fields])


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """Parquet written the same way every time (fixed row groups, zstd, single writer)."""
    frame.write_parquet(path, compression="zstd", row_group_size=_ROW_GROUP, statistics=True)


def write_record_files(out_dir: Path, kind: RecordKind, frame: pl.DataFrame, formats: Sequence[str]) -> list[Path]:
    """Write one record kind in each requested format; returns the files written."""
    frame = typed(kind, frame)
    written = []
    for fmt in formats:
        if fmt not in FLAT_FORMATS:
            continue
        path = out_dir / f"{kind.value}.{FLAT_FORMATS[fmt]}"
        if fmt == "csv":
            frame.write_csv(path)
        elif fmt == "jsonl":
            frame.write_ndjson(path)
        else:
            write_parquet(frame, path)
        log.debug("wrote %s (%d rows)", path, frame.height)
        written.append(path)
    if kind is RecordKind.DECLARATIONS and "cusdec" in formats:
        # Imported here so the simulator works before (and without) the EDIFACT writer.
        from cintel.ingest.edifact import write_cusdec

        path = out_dir / "declarations.edi"
        # Stamped with the last declaration day, not the clock, so the same seed gives the same bytes.
        last_day = frame.get_column("declaration_date").cast(pl.String).str.to_date("%Y-%m-%d", strict=False).max()
        stamp = datetime.combine(last_day, time(), UTC) if isinstance(last_day, date) else None
        write_cusdec(frame, path, prepared_at=stamp)
        written.append(path)
    return written


def write_truth(truth_dir: Path, tables: dict[str, pl.DataFrame], parameters: dict[str, object]) -> list[Path]:
    """Write the ground-truth tables (Parquet) and the world's parameters (JSON)."""
    truth_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in tables.items():
        path = truth_dir / f"{name}.parquet"
        write_parquet(frame, path)
        written.append(path)
    path = truth_dir / "schemes.json"
    path.write_text(json.dumps(parameters, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    written.append(path)
    return written
