"""Apache Parquet, read in record batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cintel.domain.records import FieldKind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.rows import BadRow, Chunk, ReadOptions, check_columns, fname, printable, resolve_kind
from cintel.ingest.validate import ROW

# Field kinds whose values are numbers; a typed value of any other kind is read as its text.
_NUMERIC_KINDS = frozenset({FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.LATITUDE, FieldKind.LONGITUDE})

_T = pa.types
_SCALAR_TYPES: tuple[Callable[[pa.DataType], bool], ...] = (
    _T.is_string, _T.is_large_string, _T.is_integer, _T.is_floating, _T.is_decimal, _T.is_boolean, _T.is_date,
    _T.is_timestamp, _T.is_time, _T.is_null,
)
_BINARY_TYPES: tuple[Callable[[pa.DataType], bool], ...] = (
    _T.is_binary, _T.is_large_binary, _T.is_fixed_size_binary,
)
_LIST_TYPES: tuple[Callable[[pa.DataType], bool], ...] = (_T.is_list, _T.is_large_list, _T.is_fixed_size_list)


def _is(checks: tuple[Callable[[pa.DataType], bool], ...], dtype: pa.DataType) -> bool:
    if _T.is_dictionary(dtype):
        dtype = dtype.value_type
    return any(check(dtype) for check in checks)


def _readable(dtype: pa.DataType) -> bool:
    """Whether cintel reads a Parquet column of this type: text, numbers, dates, bytes, or lists of them."""
    if _is(_SCALAR_TYPES + _BINARY_TYPES, dtype):
        return True
    return _is(_LIST_TYPES, dtype) and _is(_SCALAR_TYPES, dtype.value_type)


def _bytes_as_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


class ParquetReader:
    """Apache Parquet, read in record batches; typed columns are kept for fast validation."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        try:
            self.file = pq.ParquetFile(path)
            schema = self.file.schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(f"{fname(path)}: not a readable Parquet file ({_first_line(exc)})") from None
        header = schema.names
        self.kind = resolve_kind(header, options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = check_columns(header, self.fmt, options.ignore_extra_columns, path)
        odd = [f"{c} ({schema.field(c).type})" for c in self.columns if not _readable(schema.field(c).type)]
        if odd:
            raise IngestError(f"{fname(path)}: column(s) {', '.join(odd)[:300]} hold nested or binary-coded values "
                              "cintel cannot read; write them as text, numbers, dates or lists of text")

    def _as_read(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[BadRow]]:
        """Columns as the validator takes them: lists joined, whole floats of text fields as integers,
        bytes decoded (a row whose bytes are not UTF-8 becomes a BadRow)."""
        exprs: list[pl.Expr] = []
        for name, dtype in frame.schema.items():
            if name == ROW:
                continue
            col = pl.col(name)
            if isinstance(dtype, pl.Array):
                col, dtype = col.arr.to_list(), pl.List(dtype.inner)
            if isinstance(dtype, pl.List):
                exprs.append(col.cast(pl.List(pl.String)).list.join(";").alias(name))
            elif (dtype.is_float() or isinstance(dtype, pl.Decimal)) and \
                    self.fmt.field(name).kind not in _NUMERIC_KINDS:
                number = col.cast(pl.Float64)
                whole = number.is_finite() & (number == number.round(0)) & (number.abs() < 1e15)
                exprs.append(pl.when(whole).then(number.cast(pl.Int64, strict=False).cast(pl.String))
                             .otherwise(col.cast(pl.String)).alias(name))
        if exprs:
            frame = frame.with_columns(exprs)
        return self._decoded(frame)

    def _decoded(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[BadRow]]:
        binary = [name for name, dtype in frame.schema.items() if dtype == pl.Binary]
        if not binary:
            return frame, []
        original = frame
        undecodable: dict[int, str] = {}  # position -> first column that is not UTF-8
        for name in binary:
            texts: list[str | None] = []
            for i, value in enumerate(frame.get_column(name).to_list()):
                try:
                    texts.append(None if value is None else value.decode("utf-8"))
                except UnicodeDecodeError:
                    texts.append(None)
                    undecodable.setdefault(i, name)
            frame = frame.with_columns(pl.Series(name, texts, dtype=pl.String))
        group = self.fmt.group[0] if self.fmt.group else None
        bad: list[BadRow] = []
        for i, name in sorted(undecodable.items()):
            row = original.row(i, named=True)
            key = frame.get_column(group)[i] if group in frame.columns else None
            bad.append(BadRow(row[ROW], Problem.MALFORMED_ROW, f"row {row[ROW]}: {name} is not valid UTF-8 text",
                              orjson.dumps({k: v for k, v in row.items() if k != ROW},
                                           default=_bytes_as_text).decode(),
                              name, None if key is None else printable(key)))
        rows = pl.Series([original.get_column(ROW)[i] for i in undecodable], dtype=pl.Int64)
        return frame.filter(~pl.col(ROW).is_in(rows.implode())), bad

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        start = 0
        try:
            for batch in self.file.iter_batches(batch_size=self.options.chunk_rows, columns=self.columns):
                end = start + batch.num_rows
                if end <= skip:
                    start = end
                    continue
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                if start < skip:
                    frame = frame.slice(skip - start)
                    start = skip
                frame = frame.with_columns(pl.int_range(start + 1, start + 1 + frame.height, dtype=pl.Int64)
                                           .alias(ROW))
                records = frame.height
                frame, bad = self._as_read(frame)
                start = end
                yield Chunk(frame, bad, records)
        except (pa.ArrowException, OSError, pl.exceptions.PolarsError) as exc:
            raise IngestError(f"{fname(self.path)}: Parquet data unreadable after row {start} "
                              f"({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return printable(lines[0]) if lines else type(exc).__name__
