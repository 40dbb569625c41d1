"""JSON files of any common layout: JSON Lines, an array of records, or one object wrapping the array.

The layout is sniffed from the content, not the extension (`sniff`):

* **lines**: the first non-blank line is a complete JSON value and another line follows, or the
  first line is broken but the second is a complete object (JSON Lines with a bad first line);
  read line by line by `JsonLinesReader`, a bad line being a bad row.
* **array** `[{...}, {...}]`, pretty-printed or not; row numbers are the 1-based index of the record
  in the array.
* **object**: `{"events": [...]}`, `{"data": [...]}`: the one member whose value is an array of
  objects holds the records; other members (metadata) are passed over. An object with no such
  member is a single record; `{"events": []}` holds none.

A document is streamed with bounded memory: `_Scanner` finds the structural characters outside
strings with NumPy, block by block, and cuts the text of each record out, which orjson parses (the
JSON-lines reader's `_load`, so NaN and numbers beyond a double are kept as text for the checks).
A record that cannot be parsed is a bad row; a broken document (truncated, text after its end, a
missing comma between records, an empty value) is one `IngestError` naming the line, column and
byte. The end of the file is checked before any record is read, so a truncated file or trailing
text fails before anything is stored. One record may be at most `MAX_RECORD_BYTES`.

Why not ijson: its `items()` builds a prefix string per parse event, so memory grows with the
square of the nesting depth (a 30,000-deep record took 2.2 GB); the scanner's cost does not
depend on depth, and orjson bounds nesting (1,024 levels) per record.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from cintel.ingest.problems import IngestError
from cintel.ingest.read_jsonl import JsonLinesReader, _Unreadable
from cintel.ingest.rows import ReadOptions, check_sample, fname, is_utf8, printable, read_sample, text_encoding

MAX_RECORD_BYTES = 64 << 20  # one record of an array; larger means it is not a file of records
_BLOCK = 1 << 22  # bytes scanned at a time
_TAIL = 1 << 16  # the end of the file checked before reading

_STRUCTURAL = np.zeros(256, dtype=bool)
_STRUCTURAL[list(b"[]{},:")] = True
_DEPTH = np.zeros(256, dtype=np.int64)
_DEPTH[list(b"[{")] = 1
_DEPTH[list(b"]}")] = -1
_WHITE = b" \t\r\n"


class Layout(StrEnum):
    LINES = "lines"
    ARRAY = "array"
    OBJECT = "object"


class DocumentError(ValueError):
    """The document as a whole is not valid JSON at byte `offset`."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


def _value(line: bytes) -> object:
    """The JSON value of a line alone, or _NOT_ONE when the line is not a complete JSON value."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        try:
            return JsonLinesReader._load(line)
        except _Unreadable:
            return _NOT_ONE


_NOT_ONE = object()


def _is_wrapper(value: object) -> bool:
    """Whether an object wraps records: a key holds an array of objects, or its one key an empty array."""
    if not isinstance(value, dict):
        return False
    if len(value) == 1 and next(iter(value.values())) == []:
        return True
    return any(isinstance(v, list) and v and isinstance(v[0], dict) for v in value.values())


def sniff(sample: bytes, whole: bool, closed: bool = False) -> Layout:
    """The layout of a JSON file from its start (`whole`: the sample is the entire file; `closed`: its last
    non-blank character closes what its first opens, ']' for '[' or '}' for '{')."""
    text = sample.removeprefix(codecs.BOM_UTF8)
    lead = text.lstrip(_WHITE)[:1]
    if lead not in (b"[", b"{"):
        return Layout.LINES
    head, sep, rest = text.lstrip(_WHITE).partition(b"\n")
    first = _value(head) if sep or whole else _NOT_ONE  # a first line longer than the sample is no line
    second = next((line for line in rest.split(b"\n", 64)[:64] if line.strip(_WHITE)), None)
    if first is not _NOT_ONE:
        if second is not None:
            return Layout.LINES
        if isinstance(first, list):
            return Layout.ARRAY
        return Layout.OBJECT if _is_wrapper(first) else Layout.LINES
    if not closed and second is not None and second.lstrip(_WHITE)[:1] == b"{" and isinstance(_value(second), dict):
        return Layout.LINES  # JSON Lines whose first line is broken (or a stray '[')
    return Layout.ARRAY if lead == b"[" else Layout.OBJECT


class _Scanner:
    """Cuts the records out of a JSON document read block by block (see the module docstring)."""

    def __init__(self, fh: IO[bytes], layout: Layout, max_record: int = MAX_RECORD_BYTES,
                 block: int = _BLOCK) -> None:
        self.fh = fh
        self.layout = layout
        self.max_record = max_record
        self.block = block
        self.records = 0  # records found so far

    def _blocks(self) -> Iterator[tuple[int, bytes]]:
        offset = 0
        first = True
        while data := self.fh.read(self.block):
            if first and data.startswith(codecs.BOM_UTF8):
                data, offset = data[3:], 3
            first = False
            yield offset, data
            offset += len(data)

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        """(text of a record, byte offset where it starts), in order."""
        limit = 1 if self.layout is Layout.ARRAY else 2  # depths of the structure above a record
        in_string, backslashes, depth = False, 0, 0
        buf, buf_start = b"", 0
        state, record_depth = "start", 1
        start = 0  # where the current record (or key, or value) starts
        in_array = 0  # values of the current array seen
        records_here: bool | None = None  # whether the current array holds the records
        found, done_at, members, empty_array, opened = False, -1, 0, False, False
        end = 0
        for offset, data in self._blocks():
            end = offset + len(data)
            if done_at >= 0:
                if data.strip(_WHITE):
                    raise DocumentError("has text after the end of the JSON document",
                                        offset + len(data) - len(data.lstrip(_WHITE)))
                continue
            a = np.frombuffer(data, dtype=np.uint8)
            quotes = np.flatnonzero(a == 0x22)
            if quotes.size:
                before = quotes - 1
                if backslashes or (a == 0x5C).any():
                    idx = np.arange(a.size)
                    last_plain = np.maximum.accumulate(np.where(a == 0x5C, -1, idx))
                    lp = last_plain[np.maximum(before, 0)]
                    run = np.where(before < 0, 0, before - lp) + np.where((before < 0) | (lp == -1), backslashes, 0)
                    quotes = quotes[(run & 1) == 0]
            trailing = len(data) - len(data.rstrip(b"\\"))
            backslashes = backslashes + len(data) if trailing == len(data) else trailing
            pos = np.flatnonzero(_STRUCTURAL[a])
            if pos.size and quotes.size:
                pos = pos[((np.searchsorted(quotes, pos) + in_string) & 1) == 0]
            elif in_string:
                pos = pos[:0]
            in_string = bool((int(in_string) + quotes.size) & 1)
            chars = a[pos]
            delta = _DEPTH[chars]
            levels = depth + np.cumsum(delta) - delta
            depth += int(delta.sum())
            keep = levels <= limit
            if not buf:
                buf_start = offset
            buf += data
            events = zip((pos[keep] + offset).tolist(), chars[keep].tolist(), levels[keep].tolist(), strict=True)
            for p, c, level in events:
                if state == "done":
                    raise DocumentError("has text after the end of the JSON document", p)
                if state == "start":
                    if level != 0 or c not in b"[{":
                        raise DocumentError("does not start with '[' or '{'", p)
                    if c == 0x5B:
                        state, record_depth, start, in_array, records_here = "array", 1, p + 1, 0, True
                    else:
                        state, start = "key", p + 1
                elif state == "array":
                    if level != record_depth or c == 0x3A:
                        continue
                    if c in b"[{":
                        if opened:
                            raise DocumentError("has two values without ',' between them (JSON Lines in "
                                                "brackets?)", p)
                        opened = True
                        continue
                    opened = False
                    if c == 0x7D:
                        raise DocumentError("closes an array with '}'", p)
                    text = buf[start - buf_start:p - buf_start]
                    if text.strip(_WHITE):
                        in_array += 1
                        if records_here is None:
                            records_here = text.lstrip(_WHITE)[:1] == b"{"
                            if records_here and found:
                                raise DocumentError("has a second array of records; expected one key holding "
                                                    "the records", start)
                            found = found or records_here
                        if records_here:
                            self.records += 1
                            yield text, start
                    elif c == 0x2C or in_array:
                        raise DocumentError(f"has an empty value before '{chr(c)}' (a stray comma?)", p)
                    elif record_depth == 2:
                        empty_array = True
                    start = p + 1
                    if c == 0x5D:
                        state = "done" if record_depth == 1 else "value"
                        if state == "done":
                            done_at = p
                elif state == "key":
                    if level != 1:
                        continue
                    text = buf[start - buf_start:p - buf_start]
                    if c == 0x7D and not text.strip(_WHITE):
                        state, done_at = "done", p
                        continue
                    if c != 0x3A:
                        raise DocumentError("expected a key and ':' in the object", p)
                    try:
                        key = orjson.loads(text)
                    except orjson.JSONDecodeError:
                        key = None
                    if not isinstance(key, str):
                        raise DocumentError("expected a key (a string) before ':'", start)
                    state, start, members = "value", p + 1, members + 1
                elif state == "value":
                    if level != 1:
                        continue
                    if c == 0x5B:
                        state, record_depth, start, in_array, records_here = "array", 2, p + 1, 0, None
                    elif c == 0x2C:
                        state, start = "key", p + 1
                    elif c == 0x7D:
                        state, done_at = "done", p
                    elif c == 0x3A:
                        raise DocumentError("has ':' where ',' or '}' is expected", p)
            if done_at >= 0:
                after = buf[done_at + 1 - buf_start:]
                if after.strip(_WHITE):
                    raise DocumentError("has text after the end of the JSON document",
                                        done_at + 1 + len(after) - len(after.lstrip(_WHITE)))
                buf, buf_start = b"", end
            elif state in ("array", "key"):
                buf, buf_start = buf[start - buf_start:], start
                if len(buf) > self.max_record:
                    raise DocumentError(f"has a record larger than {self.max_record >> 20} MiB", start)
            else:
                buf, buf_start = b"", end
        if done_at < 0:
            what = "array" if self.layout is Layout.ARRAY or state == "array" else "object"
            raise DocumentError(f"ends inside the JSON {what} after {self.records} record(s): is it truncated?", end)
        if self.layout is Layout.OBJECT and not found and not (members == 1 and empty_array):
            yield self._whole()

    def _whole(self) -> tuple[bytes, int]:
        """The whole document as one record: an object wrapping no array of records."""
        self.fh.seek(0)
        data = self.fh.read(self.max_record + 1)
        if len(data) > self.max_record:
            raise DocumentError(f"is one object larger than {self.max_record >> 20} MiB, wrapping no array of "
                                "records", 0)
        self.records = 1
        bom = 3 if data.startswith(codecs.BOM_UTF8) else 0
        return data[bom:], bom


def position(path: Path, offset: int) -> str:
    """Line, column and byte of an offset of a file, for messages."""
    line, column = 1, offset + 1
    with path.open("rb") as fh:
        done = 0
        while done < offset:
            data = fh.read(min(_BLOCK, offset - done))
            if not data:
                break
            newlines = data.count(b"\n")
            if newlines:
                line += newlines
                column = offset - (done + data.rindex(b"\n"))
            done += len(data)
    return f"line {line}, column {column} (byte {offset})"


def _closed(path: Path, sample: bytes) -> bool:
    """Whether the last non-blank character of a file closes the bracket its first opens."""
    lead = sample.removeprefix(codecs.BOM_UTF8).lstrip(_WHITE)[:1]
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - _TAIL))
        end = fh.read().rstrip(_WHITE)[-1:]
    return (lead, end) in ((b"[", b"]"), (b"{", b"}"))


class JsonReader(JsonLinesReader):
    """A JSON file of any layout (see the module docstring); UTF-8 for documents, as RFC 8259 requires."""

    def __init__(self, path: Path, options: ReadOptions, dcsa: bool | None = None,
                 layout: Layout | None = None) -> None:
        sample = read_sample(path)
        if layout is None and options.encoding is not None and not is_utf8(text_encoding(options.encoding, "utf-8")):
            layout = Layout.LINES  # a JSON document is UTF-8; another encoding means JSON Lines
        self.layout = layout or sniff(sample, whole=path.stat().st_size <= len(sample), closed=_closed(path, sample))
        if self.layout is Layout.LINES:
            super().__init__(path, options, dcsa)
            return
        self.unit = "record"
        self.path = path
        self.options = options
        self.encoding = text_encoding(options.encoding, "utf-8")
        if not is_utf8(self.encoding):
            raise IngestError(f"{fname(path)}: a JSON {self.layout.value} must be UTF-8 (RFC 8259), "
                              f"not {printable(self.encoding)}; convert it or send it as JSON Lines")
        self.binary = True
        check_sample(path, sample, "utf-8-sig", options.encoding)
        self._check_end()
        try:
            self._setup(path, options, dcsa)
        except DocumentError as exc:
            raise self._error(exc) from None

    def _check_end(self) -> None:
        """Refuses a document whose last character does not close it (truncated, or text after it)."""
        size = self.path.stat().st_size
        with self.path.open("rb") as fh:
            fh.seek(max(0, size - _TAIL))
            tail = fh.read()
        stripped = tail.rstrip(_WHITE)
        closing = b"]" if self.layout is Layout.ARRAY else b"}"
        if not stripped.endswith(closing):
            last = stripped.rsplit(b"\n", 1)[-1].lstrip(_WHITE)[-40:]
            offset = size - len(tail) + len(stripped) - len(last)
            shown = printable(last.decode("utf-8", errors="backslashreplace"))
            raise IngestError(f"{fname(self.path)}: not valid JSON: ends with {shown!r} at "
                              f"{position(self.path, max(offset, 0))} where '{closing.decode()}' closing the "
                              f"{self.layout.value} is expected: is it truncated, or is there text after it?")

    def _error(self, exc: DocumentError) -> IngestError:
        return IngestError(f"{fname(self.path)}: not valid JSON: {exc} at {position(self.path, exc.offset)}")

    def _records(self, fh: IO[Any]) -> Iterator[bytes | str]:
        if self.layout is Layout.LINES:
            yield from self._lines(fh)
            return
        try:
            for text, _ in _Scanner(fh, self.layout):
                yield text
        except DocumentError as exc:
            raise self._error(exc) from None
