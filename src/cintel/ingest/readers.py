"""Readers per file format: stream a file in chunks of rows with bounded memory.

A reader checks the file as a whole first (encoding, header, columns) and raises `IngestError`
with one actionable line when it cannot be read at all. Afterwards it never raises for a single
bad row: a row that cannot be parsed comes back as a `BadRow`, to be quarantined verbatim.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cintel.domain.records import RecordFormat, RecordKind, detect_kind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.validate import ROW
from cintel.settings import get_settings

FORMATS = ("csv", "jsonl", "parquet", "cusdec")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet", ".edi": "cusdec", ".cusdec": "cusdec",
               ".edifact": "cusdec"}
_DELIMITERS = (",", ";", "\t", "|")


@dataclass(frozen=True)
class BadRow:
    row: int
    code: Problem
    message: str
    raw: str
    field: str = "(row)"
    key: str | None = None  # the record (declaration) the row belongs to, when it can be read


@dataclass
class Chunk:
    frame: pl.DataFrame  # columns as read, all present fields, plus ROW
    bad_rows: list[BadRow] = field(default_factory=list)
    records: int = 0  # source records in this chunk (good and bad): the resume cursor advances by this


@dataclass(frozen=True)
class ReadOptions:
    kind: RecordKind | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignore_extra_columns: bool = False
    chunk_rows: int = 100_000


class Reader(Protocol):
    kind: RecordKind
    fmt: RecordFormat

    def chunks(self, skip: int = 0) -> Iterator[Chunk]: ...


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise IngestError(f"unknown format '{given}'; use one of {', '.join(FORMATS)}")
        return given
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    raise IngestError(f"{path.name}: cannot tell the format from the extension; pass --format ({', '.join(FORMATS)})")


def _resolve_kind(columns: list[str], given: RecordKind | None, path: Path) -> RecordKind:
    if given is not None:
        return given
    kind = detect_kind(columns)
    if kind is None:
        best = min((record_format(k) for k in RecordKind),
                   key=lambda f: len(set(f.required_columns) - set(columns)))
        missing = sorted(set(best.required_columns) - set(columns))
        raise IngestError(
            f"{path.name}: columns match no record format; closest is {best.kind.value}, missing: {', '.join(missing)}"
        )
    return kind


def check_columns(columns: list[str], fmt: RecordFormat, ignore_extra: bool, path: Path) -> list[str]:
    """The usable columns of a file; raises naming missing, duplicate or unknown columns."""
    seen: set[str] = set()
    duplicates = sorted({c for c in columns if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if duplicates:
        raise IngestError(f"{path.name}: duplicate column(s): {', '.join(duplicates)}")
    missing = [c for c in fmt.required_columns if c not in seen]
    if missing:
        raise IngestError(f"{path.name}: missing required column(s) for {fmt.kind.value}: {', '.join(missing)}")
    extra = [c for c in columns if c not in fmt.field_map]
    if extra and not ignore_extra:
        raise IngestError(
            f"{path.name}: unknown column(s) {', '.join(repr(c)[:60] for c in extra[:10])}"
            f"{' ...' if len(extra) > 10 else ''}; remove them or pass --ignore-extra-columns"
        )
    return [c for c in columns if c in fmt.field_map]


def _frame(columns: list[str], data: dict[str, list[Any]], rows: list[int]) -> pl.DataFrame:
    return pl.DataFrame({ROW: rows, **{c: data[c] for c in columns}},
                        schema={ROW: pl.Int64, **{c: pl.String for c in columns}})


class CsvReader:
    """Delimited text with a header row; encoding and delimiter detected or given."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.encoding = options.encoding or "utf-8-sig"
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise IngestError(f"unknown encoding '{self.encoding}'") from None
        with path.open("rb") as fh:
            sample = fh.read(1 << 20)
        if not sample.strip():
            raise IngestError(f"{path.name}: the file is empty")
        self._check_encoding(sample)
        header_line = sample.decode(self.encoding, errors="replace").splitlines()[0]
        self.delimiter = options.delimiter or self._sniff_delimiter(header_line)
        self.header = [h.strip() for h in next(csv.reader([header_line], delimiter=self.delimiter))]
        self.kind = _resolve_kind(self.header, options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = check_columns(self.header, self.fmt, options.ignore_extra_columns, path)

    def _check_encoding(self, sample: bytes) -> None:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        try:
            decoder.decode(sample, final=False)
        except UnicodeDecodeError as exc:
            hint = " If it is Latin-1 (Windows export), run again with --encoding latin-1." \
                if self.options.encoding is None else ""
            raise IngestError(
                f"{self.path.name}: not valid {self.encoding} "
                f"(byte 0x{sample[exc.start]:02x} at offset {exc.start}).{hint}"
            ) from None

    def _sniff_delimiter(self, header_line: str) -> str:
        known = set(record_format(self.options.kind).field_map) if self.options.kind else \
            {f for k in RecordKind for f in record_format(k).field_map}
        scores = {d: len(known & {c.strip() for c in header_line.split(d)}) for d in _DELIMITERS}
        return max(_DELIMITERS, key=lambda d: scores[d])

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        csv.field_size_limit(get_settings().csv_field_limit)
        positions = [self.header.index(c) for c in self.columns]
        width = len(self.header)
        group = self.fmt.group[0] if self.fmt.group else None
        key_at = self.header.index(group) if group in self.header else None
        with self.path.open("r", encoding=self.encoding, newline="", errors="strict") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter, strict=True)
            row_no = 0
            try:
                next(reader)
                while True:
                    data: dict[str, list[str | None]] = {c: [] for c in self.columns}
                    rows: list[int] = []
                    bad: list[BadRow] = []
                    count = 0
                    for record in reader:
                        if not record:
                            continue  # blank line: not a record
                        row_no += 1
                        if row_no <= skip:
                            continue
                        count += 1
                        if len(record) != width:
                            key = record[key_at].strip() if key_at is not None and key_at < len(record) else None
                            bad.append(BadRow(row_no, Problem.MALFORMED_ROW,
                                              f"row {row_no} has {len(record)} fields but the header has {width}",
                                              self.delimiter.join(record), key=key))
                        else:
                            rows.append(row_no)
                            for c, p in zip(self.columns, positions, strict=True):
                                data[c].append(record[p])
                        if count >= self.options.chunk_rows:
                            break
                    if count == 0:
                        return
                    yield Chunk(_frame(self.columns, data, rows), bad, count)
            except csv.Error as exc:
                raise IngestError(f"{self.path.name}: cannot read row {row_no + 1}: {exc}") from None
            except UnicodeDecodeError as exc:
                raise IngestError(f"{self.path.name}: not valid {self.encoding} after row {row_no}: {exc.reason}; "
                                  "pass --encoding") from None


def _json_value(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return ";".join(str(v) for v in value)
    raise ValueError("holds a nested object or list")


class JsonLinesReader:
    """One JSON object per line (UTF-8)."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        first: dict[str, object] | None = None
        with path.open("rb") as fh:
            for line in islice(fh, 1000):
                try:
                    obj = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(obj, dict):
                    first = obj
                    break
        if path.stat().st_size == 0:
            raise IngestError(f"{path.name}: the file is empty")
        if first is None and options.kind is None:
            raise IngestError(f"{path.name}: no JSON object found in the first 1000 lines; is it JSON Lines?")
        self.kind = _resolve_kind(list(first or {}), options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = [f.name for f in self.fmt.fields]

    def _parse(self, row_no: int, line: bytes) -> dict[str, str | None] | BadRow:
        raw = line.decode("utf-8", errors="replace")
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            return BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no} is not valid JSON: {exc}", raw)
        if not isinstance(obj, dict):
            return BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no} is not a JSON object", raw)
        group = obj.get(self.fmt.group[0]) if self.fmt.group else None
        key = group.strip() if isinstance(group, str) else None
        unknown = [k for k in obj if k not in self.fmt.field_map]
        if unknown and not self.options.ignore_extra_columns:
            return BadRow(row_no, Problem.UNKNOWN_FIELD,
                          f"line {row_no} has unknown field(s): {', '.join(repr(k)[:40] for k in unknown[:5])}",
                          raw, unknown[0][:64], key)
        values: dict[str, str | None] = {}
        for name in self.columns:
            try:
                values[name] = _json_value(obj.get(name))
            except ValueError as exc:
                return BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no}: {name} {exc}", raw, name, key)
        return values

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        with self.path.open("rb") as fh:
            lines = (line for line in fh if line.strip())
            row_no = skip
            for _ in islice(lines, skip):
                pass
            while True:
                batch = list(islice(lines, self.options.chunk_rows))
                if not batch:
                    return
                data: dict[str, list[str | None]] = {c: [] for c in self.columns}
                rows: list[int] = []
                bad: list[BadRow] = []
                for line in batch:
                    row_no += 1
                    parsed = self._parse(row_no, line)
                    if isinstance(parsed, BadRow):
                        bad.append(parsed)
                        continue
                    rows.append(row_no)
                    for c in self.columns:
                        data[c].append(parsed[c])
                yield Chunk(_frame(self.columns, data, rows), bad, len(batch))


class ParquetReader:
    """Apache Parquet, read in record batches; typed columns are kept for fast validation."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(f"{path.name}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        header = self.file.schema_arrow.names
        self.kind = _resolve_kind(header, options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = check_columns(header, self.fmt, options.ignore_extra_columns, path)

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
                frame = frame.with_columns(
                    [pl.col(c).cast(pl.List(pl.String)).list.join(";") for c, t in frame.schema.items()
                     if isinstance(t, pl.List)]
                ).with_columns(pl.int_range(start + 1, start + 1 + frame.height, dtype=pl.Int64).alias(ROW))
                start = end
                yield Chunk(frame, [], frame.height)
        except (pa.ArrowException, OSError) as exc:
            raise IngestError(f"{self.path.name}: Parquet data unreadable after row {start} "
                              f"({str(exc).splitlines()[0]})") from None


class CusdecReader:
    """EDIFACT CUSDEC declarations, mapped item by item to the flat declaration format."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.kind = RecordKind.DECLARATIONS
        self.fmt = record_format(self.kind)
        if options.kind not in (None, RecordKind.DECLARATIONS):
            raise IngestError("EDIFACT files carry declarations (CUSDEC) only")
        if path.stat().st_size == 0:
            raise IngestError(f"{path.name}: the file is empty")

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        from cintel.ingest.edifact import EdifactError, read_cusdec

        columns = [f.name for f in self.fmt.fields]
        records = read_cusdec(self.path, self.options.encoding)
        try:
            for _ in islice(records, skip):
                pass
            while True:
                batch = list(islice(records, self.options.chunk_rows))
                if not batch:
                    return
                data: dict[str, list[str | None]] = {c: [] for c in columns}
                rows: list[int] = []
                bad: list[BadRow] = []
                for rec in batch:
                    if rec.values is None:
                        where, code, message = rec.error or ("(message)", "EDIFACT_ERROR", "unreadable message")
                        bad.append(BadRow(rec.line, Problem.EDIFACT_ERROR, f"{code}: {message}", rec.raw, where))
                        continue
                    rows.append(rec.line)
                    for c in columns:
                        data[c].append(rec.values.get(c))
                yield Chunk(_frame(columns, data, rows), bad, len(batch))
        except EdifactError as exc:
            raise IngestError(f"{self.path.name}: {exc}") from None


def open_reader(path: Path, file_format: str | None, options: ReadOptions) -> Reader:
    """The reader for a file; raises IngestError when the file cannot be read at all."""
    if not path.exists():
        raise IngestError(f"{path}: no such file")
    if not path.is_file():
        raise IngestError(f"{path}: not a regular file")
    fmt = detect_format(path, file_format)
    readers: dict[str, type[CsvReader | JsonLinesReader | ParquetReader | CusdecReader]] = {
        "csv": CsvReader, "jsonl": JsonLinesReader, "parquet": ParquetReader, "cusdec": CusdecReader,
    }
    try:
        return readers[fmt](path, options)
    except OSError as exc:
        raise IngestError(f"{path.name}: cannot open ({exc.strerror})") from None


def raw_json(values: dict[str, object]) -> str:
    """A row as JSON text for quarantine, values as read."""
    return orjson.dumps(values, default=str).decode()


__all__ = ["FORMATS", "BadRow", "Chunk", "ReadOptions", "Reader", "detect_format", "open_reader", "raw_json"]
