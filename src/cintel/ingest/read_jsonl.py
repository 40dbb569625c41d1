"""JSON Lines: one JSON object per line; the base of the JSON document reader (`read_json`).

A record that has the shape of a DCSA event (`read_dcsa.is_dcsa_event`) makes the file a DCSA
file: every record is then mapped by the DCSA profile to the `events` format.
"""

from __future__ import annotations

import codecs
import json
import math
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

import orjson

from cintel.domain.records import RecordKind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.read_dcsa import is_dcsa_event, map_event
from cintel.ingest.rows import (
    SURROGATE,
    BadRow,
    Chunk,
    ReadOptions,
    batches,
    check_sample,
    fname,
    is_utf8,
    printable,
    read_sample,
    resolve_kind,
    string_frame,
    text_encoding,
)


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
    """One JSON object per line; UTF-8 unless --encoding says otherwise.

    `dcsa`: True reads every record as a DCSA event, None decides by the shape of the first object.
    """

    unit = "line"  # what a source row is called in messages

    def __init__(self, path: Path, options: ReadOptions, dcsa: bool | None = None) -> None:
        self.path = path
        self.options = options
        self.encoding = text_encoding(options.encoding, "utf-8")
        self.binary = is_utf8(self.encoding)  # UTF-8 lines go to orjson as bytes, without decoding first
        sample = read_sample(path)
        check_sample(path, sample, "utf-8-sig" if self.binary else self.encoding, options.encoding)
        self._setup(path, options, dcsa)

    def _setup(self, path: Path, options: ReadOptions, dcsa: bool | None) -> None:
        """Finds the first object among the first 1000 records and from it the record kind."""
        first: dict[str, Any] | None = None
        with self._open() as fh:
            try:
                for line in islice(self._records(fh), 1000):
                    try:
                        obj = self._load(line)
                    except _Unreadable:
                        continue
                    if isinstance(obj, dict):
                        first = obj
                        break
            except UnicodeDecodeError as exc:
                raise IngestError(f"{fname(path)}: not valid {self.encoding}: {exc.reason}; pass --encoding") from None
        if first is None and options.kind is None:
            raise IngestError(f"{fname(path)}: no JSON object found in the first 1000 {self.unit}s; "
                              f"{'is it JSON Lines?' if self.unit == 'line' else 'expected an array of objects'}")
        self.dcsa = is_dcsa_event(first) if dcsa is None else dcsa
        if self.dcsa:
            if options.kind not in (None, RecordKind.EVENTS):
                raise IngestError(f"{fname(path)}: a DCSA file holds events, not {options.kind}")
            self.kind = RecordKind.EVENTS
        else:
            self.kind = resolve_kind([printable(k) for k in first or {}], options.kind, path)
        self.fmt = record_format(self.kind)
        self.columns = [f.name for f in self.fmt.fields]

    def _open(self) -> IO[Any]:
        if self.binary:
            return self.path.open("rb")
        return self.path.open("r", encoding=self.encoding, errors="strict")

    def _records(self, fh: IO[Any]) -> Iterator[bytes | str]:
        """The source records, each the text of one JSON value."""
        return self._lines(fh)

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
        if isinstance(obj, dict) and any(SURROGATE.search(s) for s in _strings(obj)):
            raise _Unreadable("is not valid JSON: it escapes half of a UTF-16 surrogate pair (\\ud800-\\udfff)")
        return obj

    def _parse(self, row_no: int, line: bytes | str) -> dict[str, str | None] | BadRow:
        raw = printable((line.decode("utf-8", errors="backslashreplace") if isinstance(line, bytes) else line)
                    .rstrip("\r\n"))
        where = f"{self.unit} {row_no}"
        try:
            obj = self._load(line)
        except _Unreadable as exc:
            return BadRow(row_no, Problem.MALFORMED_ROW, f"{where} {exc}", raw)
        if not isinstance(obj, dict):
            return BadRow(row_no, Problem.MALFORMED_ROW, f"{where} is not a JSON object", raw)
        if self.dcsa:
            if not is_dcsa_event(obj):
                return BadRow(row_no, Problem.MALFORMED_ROW, f"{where} is not a DCSA event (no eventClassification, "
                              "nor eventType and eventClassifierCode)", raw)
            obj = map_event(obj)
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
                          f"{where} has unknown field(s): {', '.join(repr(k)[:40] for k in unknown[:5])}",
                          raw, printable(unknown[0])[:64], key)
        values: dict[str, str | None] = {}
        for name in self.columns:
            try:
                values[name] = _json_value(obj.get(name))
            except ValueError as exc:
                return BadRow(row_no, Problem.MALFORMED_ROW, f"{where}: {name} {exc}", raw, name, key)
        return values

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        with self._open() as fh:
            lines = self._records(fh)
            row_no = skip
            try:
                for batch in batches(lines, skip, self.options.chunk_rows):
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
                    yield Chunk(string_frame(self.columns, data, rows), bad, len(batch))
            except UnicodeDecodeError as exc:
                raise IngestError(f"{fname(self.path)}: not valid {self.encoding} after line {row_no}: "
                                  f"{exc.reason}; pass --encoding") from None
