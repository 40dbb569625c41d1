"""Readers per file format: stream a file in chunks of rows with bounded memory.

A reader checks the file as a whole first (encoding, header, columns, column types) and raises
`IngestError` with one actionable line when it cannot be read at all. Afterwards it never raises
for a single bad row: a row that cannot be parsed comes back as a `BadRow`, to be quarantined
verbatim, with the key of the record it belongs to when that can be read.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import IO, Any, Protocol

import orjson
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from cintel.domain.records import FieldKind, RecordFormat, RecordKind, detect_kind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.validate import ROW
from cintel.settings import get_settings

FORMATS = ("csv", "jsonl", "parquet", "cusdec")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".json": "jsonl", ".parquet": "parquet", ".pq": "parquet", ".edi": "cusdec", ".cusdec": "cusdec",
               ".edifact": "cusdec"}
_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "TAB": "\t"}
_SAMPLE_BYTES = 1 << 20  # the start of a text file checked for its encoding before reading
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_SURROGATE = re.compile("[\ud800-\udfff]")  # what surrogateescape makes of undecodable bytes
# Field kinds whose values are numbers; a typed value of any other kind is read as its text.
_NUMERIC_KINDS = frozenset({FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.LATITUDE, FieldKind.LONGITUDE})


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


# ---------------------------------------------------------------- shared


def printable(text: object) -> str:
    """Text fit for a message or any store: undecodable bytes (read as lone surrogates) and NUL, which
    PostgreSQL text cannot hold, shown as escapes (\\xNN)."""
    value = str(text)
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if value.isascii() or not _SURROGATE.search(value):
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _name(path: Path) -> str:
    return printable(path.name)


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise IngestError(f"unknown format '{printable(given)}'; use one of {', '.join(FORMATS)}")
        return given
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    raise IngestError(f"{_name(path)}: cannot tell the format from the extension; "
                      f"pass --format ({', '.join(FORMATS)})")


def _resolve_kind(columns: list[str], given: RecordKind | None, path: Path) -> RecordKind:
    if given is not None:
        return given
    kind = detect_kind(columns)
    if kind is None:
        best = min((record_format(k) for k in RecordKind),
                   key=lambda f: len(set(f.required_columns) - set(columns)))
        missing = sorted(set(best.required_columns) - set(columns))
        raise IngestError(f"{_name(path)}: columns match no record format; closest is {best.kind.value}, "
                          f"missing: {', '.join(missing)}")
    return kind


def check_columns(columns: list[str], fmt: RecordFormat, ignore_extra: bool, path: Path) -> list[str]:
    """The usable columns of a file; raises naming missing, duplicate or unknown columns."""
    seen: set[str] = set()
    duplicates = sorted({c for c in columns if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if duplicates:
        raise IngestError(f"{_name(path)}: duplicate column(s): {', '.join(printable(c)[:60] for c in duplicates)}")
    missing = [c for c in fmt.required_columns if c not in seen]
    if missing:
        raise IngestError(f"{_name(path)}: missing required column(s) for {fmt.kind.value}: {', '.join(missing)}")
    extra = [c for c in columns if c not in fmt.field_map]
    if extra and not ignore_extra:
        raise IngestError(
            f"{_name(path)}: unknown column(s) {', '.join(printable(repr(c))[:60] for c in extra[:10])}"
            f"{' ...' if len(extra) > 10 else ''}; remove them or pass --ignore-extra-columns"
        )
    return [c for c in columns if c in fmt.field_map]


def _frame(columns: list[str], data: dict[str, list[Any]], rows: list[int]) -> pl.DataFrame:
    return pl.DataFrame({ROW: rows, **{c: data[c] for c in columns}},
                        schema={ROW: pl.Int64, **{c: pl.String for c in columns}})


def _text_encoding(given: str | None, default: str) -> str:
    """The codec to decode a text file with; raises unless the name is a text encoding."""
    encoding = given or default
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):  # rot13, base64, ... are not
        raise IngestError(f"unknown encoding '{printable(encoding)}'; use e.g. utf-8, latin-1 or cp1252")
    return encoding


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _read_sample(path: Path) -> bytes:
    """The start of a text file; raises when the file holds nothing but white space."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if not sample.replace(codecs.BOM_UTF8, b"").strip():
        raise IngestError(f"{_name(path)}: the file is empty")
    return sample


def _check_sample(path: Path, sample: bytes, encoding: str, given: str | None) -> None:
    """Raises one actionable line when the start of a text file is not in the expected encoding."""
    if given is not None and sample.startswith(codecs.BOM_UTF8) and not _is_utf8(given):
        raise IngestError(f"{_name(path)}: the file starts with a UTF-8 byte order mark, "
                          f"but --encoding {printable(given)} was given; drop --encoding")
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError as exc:
        hint = " If it is Latin-1 (Windows export), run again with --encoding latin-1." if given is None else ""
        raise IngestError(
            f"{_name(path)}: not valid {encoding} (byte 0x{sample[exc.start]:02x} at offset {exc.start}).{hint}"
        ) from None


# ---------------------------------------------------------------- CSV


def _delimiter(given: str | None) -> str | None:
    if given is None:
        return None
    delimiter = _DELIMITER_NAMES.get(given, given)
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise IngestError(f"--delimiter must be one character such as ',', ';', '|' or '\\t', "
                          f"not {printable(repr(given))}")
    return delimiter


def _recording(lines: Iterable[str], taken: list[str]) -> Iterator[str]:
    """Passes lines on, keeping those of the record being parsed so that a bad record is kept verbatim."""
    for line in lines:
        taken.append(line)
        yield line


def _undecodable(lines: list[str]) -> str | None:
    """The first undecodable character in lines read with surrogateescape, if any."""
    for line in lines:
        if not line.isascii() and (found := _SURROGATE.search(line)):
            return found.group()
    return None


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


class CsvReader:
    """Delimited text with a header row; encoding and delimiter detected or given."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.encoding = _text_encoding(options.encoding, "utf-8-sig")
        delimiter = _delimiter(options.delimiter)
        sample = _read_sample(path)
        _check_sample(path, sample, self.encoding, options.encoding)
        text = sample.decode(self.encoding, errors="replace").lstrip("\ufeff")
        header_line = _LINE_BREAK.split(text.lstrip(), maxsplit=1)[0]  # the first line that is not blank
        scores = self._delimiter_scores(header_line)
        sniffed = max(_DELIMITERS, key=lambda d: scores[d])
        self.delimiter = delimiter or sniffed
        header = next(csv.reader([header_line], delimiter=self.delimiter), [])
        self.header = [h.strip().lstrip("\ufeff") for h in header]
        if delimiter and len(self.header) == 1 and sniffed != delimiter and scores[sniffed] > 1:
            raise IngestError(f"{_name(path)}: with --delimiter {printable(repr(delimiter))} the header is one column; "
                              f"the file looks {sniffed!r}-separated")
        self.kind = _resolve_kind(self.header, options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = check_columns(self.header, self.fmt, options.ignore_extra_columns, path)

    def _delimiter_scores(self, header_line: str) -> dict[str, int]:
        """For each usual delimiter, how many known column names the header splits into."""
        known = set(record_format(self.options.kind).field_map) if self.options.kind else \
            {f for k in RecordKind for f in record_format(k).field_map}
        return {d: len(known & {c.strip().strip('"') for c in header_line.split(d)}) for d in _DELIMITERS}

    @staticmethod
    def _key(record: list[str], key_at: int | None) -> str | None:
        return printable(record[key_at].strip()) if key_at is not None and key_at < len(record) else None

    def _unparsable(self, row_no: int, raw: str, exc: csv.Error, key_at: int | None) -> BadRow:
        """A record the CSV parser rejects (stray or unclosed quote), kept verbatim with its key if readable."""
        reason = str(exc)
        if "unexpected end of data" in reason:
            reason = "a quoted field is not closed before the end of the file (truncated file or stray quote)"
        elif "expected after" in reason:
            reason = f"text follows a closing quote ({reason}); quote whole fields and double quotes inside them"
        fields = next(csv.reader([raw.rstrip("\r\n")], delimiter=self.delimiter), [])
        return BadRow(row_no, Problem.MALFORMED_ROW, f"row {row_no} cannot be parsed: {reason}", printable(raw),
                      key=self._key(fields, key_at))

    def _records(self, fh: IO[str], key_at: int | None) -> Iterator[tuple[list[str], BadRow | None]]:
        """The non-blank records after the header, numbered from 1; an unreadable one comes with a BadRow."""
        limit = get_settings().csv_field_limit
        csv.field_size_limit(limit)
        taken: list[str] = []
        reader = csv.reader(_recording(fh, taken), delimiter=self.delimiter, strict=True)
        row_no = 0
        header_seen = False
        while True:
            try:
                record = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if "field limit" in str(exc):
                    raise IngestError(f"{_name(self.path)}: row {row_no + 1} has a field longer than {limit:,} "
                                      "characters (CINTEL_CSV_FIELD_LIMIT); is a quote not closed?") from None
                if not header_seen:
                    raise IngestError(f"{_name(self.path)}: cannot parse the header row: {exc}") from None
                row_no += 1
                raw = "".join(taken)
                taken.clear()
                yield [], self._unparsable(row_no, raw, exc, key_at)
                continue
            if _is_blank(record):
                taken.clear()
                continue
            if not header_seen:
                header_seen = True
                taken.clear()
                continue
            row_no += 1
            problem: BadRow | None = None
            if len(record) != len(self.header):
                problem = BadRow(row_no, Problem.MALFORMED_ROW,
                                 f"row {row_no} has {len(record)} fields but the header has {len(self.header)}",
                                 printable("".join(taken)), key=self._key(record, key_at))
            elif (bad := _undecodable(taken)) is not None:
                problem = BadRow(row_no, Problem.MALFORMED_ROW,
                                 f"row {row_no} is not valid {self.encoding} (byte 0x{ord(bad) - 0xDC00:02x}); "
                                 "if the file is Latin-1, pass --encoding latin-1",
                                 printable("".join(taken)), key=self._key(record, key_at))
            taken.clear()
            yield record, problem

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        positions = [self.header.index(c) for c in self.columns]
        group = self.fmt.group[0] if self.fmt.group else None
        key_at = self.header.index(group) if group in self.header else None
        # Undecodable bytes become lone surrogates, so that only the rows holding them are rejected.
        with self.path.open("r", encoding=self.encoding, newline="", errors="surrogateescape") as fh:
            records = self._records(fh, key_at)
            row_no = 0
            try:
                for _ in islice(records, skip):
                    row_no += 1
                while True:
                    data: dict[str, list[str | None]] = {c: [] for c in self.columns}
                    rows: list[int] = []
                    bad: list[BadRow] = []
                    for record, problem in islice(records, self.options.chunk_rows):
                        row_no += 1
                        if problem is not None:
                            bad.append(problem)
                            continue
                        rows.append(row_no)
                        for c, p in zip(self.columns, positions, strict=True):
                            data[c].append(record[p])
                    if not rows and not bad:
                        return
                    yield Chunk(_frame(self.columns, data, rows), bad, len(rows) + len(bad))
            except UnicodeError as exc:  # a codec that cannot even escape what it fails to decode
                raise IngestError(f"{_name(self.path)}: not valid {self.encoding} after row {row_no}: "
                                  f"{printable(exc)}; pass --encoding") from None


# ---------------------------------------------------------------- JSON Lines


class _Unreadable(ValueError):
    """A line that is not a JSON value; the message says why."""


def _json_float(text: str) -> float | str:
    """A JSON number as a float, or its text when it does not fit one (1e400), so the check can name it."""
    value = float(text)
    return value if math.isfinite(value) else text


def _json_scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # 85171200.0 from a float column is the code 85171200, not 85171200.0 (whose '.' a check would drop).
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    raise ValueError("holds a nested object or list; expected text, a number or a list of them")


def _json_value(value: object) -> str | None:
    """A JSON value as the text a flat field holds; lists become ';'-separated, nulls in them dropped."""
    if isinstance(value, list):
        items = [text for text in (_json_scalar(v) for v in value) if text is not None]
        return ";".join(items) if items else None
    return _json_scalar(value)


def _strings(obj: dict[str, Any]) -> Iterator[str]:
    for key, value in obj.items():
        yield key
        if isinstance(value, str):
            yield value
        elif isinstance(value, list):
            yield from (v for v in value if isinstance(v, str))


class JsonLinesReader:
    """One JSON object per line; UTF-8 unless --encoding says otherwise."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.encoding = _text_encoding(options.encoding, "utf-8")
        self.binary = _is_utf8(self.encoding)  # UTF-8 lines go to orjson as bytes, without decoding first
        sample = _read_sample(path)
        _check_sample(path, sample, "utf-8-sig" if self.binary else self.encoding, options.encoding)
        first: dict[str, Any] | None = None
        with self._open() as fh:
            try:
                for line in islice(self._lines(fh), 1000):
                    try:
                        obj = self._load(line)
                    except _Unreadable:
                        continue
                    if isinstance(obj, dict):
                        first = obj
                        break
            except UnicodeDecodeError as exc:
                raise IngestError(f"{_name(path)}: not valid {self.encoding}: {exc.reason}; pass --encoding") from None
        if first is None and options.kind is None:
            raise IngestError(f"{_name(path)}: no JSON object found in the first 1000 lines; is it JSON Lines?")
        self.kind = _resolve_kind([printable(k) for k in first or {}], options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = [f.name for f in self.fmt.fields]

    def _open(self) -> IO[Any]:
        if self.binary:
            return self.path.open("rb")
        return self.path.open("r", encoding=self.encoding, errors="strict")

    @staticmethod
    def _lines(fh: IO[Any]) -> Iterator[bytes | str]:
        """Non-blank lines, without a byte order mark on the first."""
        for n, line in enumerate(fh):
            if n == 0:
                line = line.removeprefix(codecs.BOM_UTF8 if isinstance(line, bytes) else "\ufeff")
            if line.strip():
                yield line

    @staticmethod
    def _load(line: bytes | str) -> Any:
        """The JSON value of a line; raises _Unreadable saying why there is none."""
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            error = exc
        if isinstance(line, bytes):
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _Unreadable(f"is not valid UTF-8 (byte 0x{line[exc.start]:02x} at position {exc.start}); "
                                  "if the file is Latin-1, pass --encoding latin-1") from None
        else:
            text = line
        # orjson refuses NaN, Infinity and numbers beyond a double; read them as their text for the checks.
        try:
            obj = json.loads(text, parse_constant=str, parse_float=_json_float, parse_int=str)
        except (ValueError, RecursionError):
            raise _Unreadable(f"is not valid JSON: {error}") from None
        if isinstance(obj, dict) and any(_SURROGATE.search(s) for s in _strings(obj)):
            raise _Unreadable("is not valid JSON: it escapes half of a UTF-16 surrogate pair (\\ud800-\\udfff)")
        return obj

    def _parse(self, row_no: int, line: bytes | str) -> dict[str, str | None] | BadRow:
        raw = printable((line.decode("utf-8", errors="backslashreplace") if isinstance(line, bytes) else line)
                    .rstrip("\r\n"))
        try:
            obj = self._load(line)
        except _Unreadable as exc:
            return BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no} {exc}", raw)
        if not isinstance(obj, dict):
            return BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no} is not a JSON object", raw)
        key = None
        if self.fmt.group:
            try:
                group = _json_scalar(obj.get(self.fmt.group[0]))
                key = printable(group.strip()) if group is not None else None
            except ValueError:
                key = None
        unknown = [k for k in obj if k not in self.fmt.field_map]
        if unknown and not self.options.ignore_extra_columns:
            return BadRow(row_no, Problem.UNKNOWN_FIELD,
                          f"line {row_no} has unknown field(s): {', '.join(repr(k)[:40] for k in unknown[:5])}",
                          raw, printable(unknown[0])[:64], key)
        values: dict[str, str | None] = {}
        for name in self.columns:
            try:
                values[name] = _json_value(obj.get(name))
            except ValueError as exc:
                return BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no}: {name} {exc}", raw, name, key)
        return values

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        with self._open() as fh:
            lines = self._lines(fh)
            row_no = skip
            try:
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
            except UnicodeDecodeError as exc:
                raise IngestError(f"{_name(self.path)}: not valid {self.encoding} after line {row_no}: "
                                  f"{exc.reason}; pass --encoding") from None


# ---------------------------------------------------------------- Parquet

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
            raise IngestError(f"{_name(path)}: not a readable Parquet file ({_first_line(exc)})") from None
        header = schema.names
        self.kind = _resolve_kind(header, options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = check_columns(header, self.fmt, options.ignore_extra_columns, path)
        odd = [f"{c} ({schema.field(c).type})" for c in self.columns if not _readable(schema.field(c).type)]
        if odd:
            raise IngestError(f"{_name(path)}: column(s) {', '.join(odd)[:300]} hold nested or binary-coded values "
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
            raise IngestError(f"{_name(self.path)}: Parquet data unreadable after row {start} "
                              f"({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return printable(lines[0]) if lines else type(exc).__name__


# ---------------------------------------------------------------- EDIFACT


class CusdecReader:
    """EDIFACT CUSDEC declarations, mapped item by item to the flat declaration format."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.kind = RecordKind.DECLARATIONS
        self.fmt = record_format(self.kind)
        if options.kind not in (None, RecordKind.DECLARATIONS):
            raise IngestError("EDIFACT files carry declarations (CUSDEC) only")
        if options.encoding is not None:
            _text_encoding(options.encoding, "latin-1")
        if path.stat().st_size == 0:
            raise IngestError(f"{_name(path)}: the file is empty")

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
                        bad.append(BadRow(rec.line, Problem.EDIFACT_ERROR, printable(f"{code}: {message}"),
                                          printable(rec.raw), printable(where)))
                        continue
                    rows.append(rec.line)
                    for c in columns:
                        data[c].append(rec.values.get(c))
                yield Chunk(_frame(columns, data, rows), bad, len(batch))
        except EdifactError as exc:
            raise IngestError(f"{_name(self.path)}: {printable(exc)}") from None


def open_reader(path: Path, file_format: str | None, options: ReadOptions) -> Reader:
    """The reader for a file; raises IngestError when the file cannot be read at all."""
    if not path.exists():
        raise IngestError(f"{printable(path)}: no such file")
    if not path.is_file():
        raise IngestError(f"{printable(path)}: not a regular file")
    fmt = detect_format(path, file_format)
    readers: dict[str, type[CsvReader | JsonLinesReader | ParquetReader | CusdecReader]] = {
        "csv": CsvReader, "jsonl": JsonLinesReader, "parquet": ParquetReader, "cusdec": CusdecReader,
    }
    try:
        return readers[fmt](path, options)
    except OSError as exc:
        raise IngestError(f"{_name(path)}: cannot open ({exc.strerror or exc})") from None


def raw_json(values: dict[str, object]) -> str:
    """A row as JSON text for quarantine, values as read."""
    return orjson.dumps(values, default=str).decode()


__all__ = [
    "FORMATS", "BadRow", "Chunk", "ReadOptions", "Reader", "detect_format", "open_reader", "printable", "raw_json",
]
