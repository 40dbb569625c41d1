"""What every reader shares: the row and chunk types, read options, and the checks of a file as a whole.

The per-format readers (`read_csv`, `read_jsonl`, `read_parquet`, `read_cusdec`) build on this module;
`readers` is the front door that picks one and re-exports these names.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Protocol, TypeVar

import polars as pl

from cintel.domain.records import RecordFormat, RecordKind, detect_kind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.validate import ROW

T = TypeVar("T")

_SAMPLE_BYTES = 1 << 20  # the start of a text file checked for its encoding before reading
SURROGATE = re.compile("[\ud800-\udfff]")  # what surrogateescape makes of undecodable bytes


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
    # Source row -> the source text the row was mapped from, for formats whose row is not the source
    # itself (the segments of an EDIFACT message); a quarantined row keeps it as source_text.
    sources: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadOptions:
    kind: RecordKind | None = None
    encoding: str | None = None
    delimiter: str | None = None
    ignore_extra_columns: bool = False
    chunk_rows: int = 100_000
    list_name: str | None = None  # watch lists in a format that does not name the list (ftm)
    list_version: str | None = None
    profile: str | None = None  # CUSDEC mapping profile forced by the user; default: chosen per message (UNH)


class Reader(Protocol):
    kind: RecordKind
    fmt: RecordFormat

    def chunks(self, skip: int = 0) -> Iterator[Chunk]: ...



def printable(text: object) -> str:
    """Text fit for a message or any store: undecodable bytes (read as lone surrogates) and NUL, which
    PostgreSQL text cannot hold, shown as escapes (\\xNN)."""
    value = str(text)
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if value.isascii() or not SURROGATE.search(value):
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def fname(path: Path) -> str:
    return printable(path.name)


def resolve_kind(columns: list[str], given: RecordKind | None, path: Path) -> RecordKind:
    if given is not None:
        return given
    kind = detect_kind(columns)
    if kind is None:
        best = min((record_format(k) for k in RecordKind),
                   key=lambda f: len(set(f.required_columns) - set(columns)))
        missing = sorted(set(best.required_columns) - set(columns))
        raise IngestError(f"{fname(path)}: columns match no record format; closest is {best.kind.value}, "
                          f"missing: {', '.join(missing)}")
    return kind


def check_columns(columns: list[str], fmt: RecordFormat, ignore_extra: bool, path: Path) -> list[str]:
    """The usable columns of a file; raises naming missing, duplicate or unknown columns."""
    seen: set[str] = set()
    duplicates = sorted({c for c in columns if c in seen or seen.add(c)})  # type: ignore[func-returns-value]
    if duplicates:
        raise IngestError(f"{fname(path)}: duplicate column(s): {', '.join(printable(c)[:60] for c in duplicates)}")
    missing = [c for c in fmt.required_columns if c not in seen]
    if missing:
        raise IngestError(f"{fname(path)}: missing required column(s) for {fmt.kind.value}: {', '.join(missing)}")
    extra = [c for c in columns if c not in fmt.field_map]
    if extra and not ignore_extra:
        raise IngestError(
            f"{fname(path)}: unknown column(s) {', '.join(printable(repr(c))[:60] for c in extra[:10])}"
            f"{' ...' if len(extra) > 10 else ''}; remove them or pass --ignore-extra-columns"
        )
    return [c for c in columns if c in fmt.field_map]


def string_frame(columns: list[str], data: dict[str, list[Any]], rows: list[int]) -> pl.DataFrame:
    return pl.DataFrame({ROW: rows, **{c: data[c] for c in columns}},
                        schema={ROW: pl.Int64, **{c: pl.String for c in columns}})


def text_encoding(given: str | None, default: str) -> str:
    """The codec to decode a text file with; raises unless the name is a text encoding."""
    encoding = given or default
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):  # rot13, base64, ... are not
        raise IngestError(f"unknown encoding '{printable(encoding)}'; use e.g. utf-8, latin-1 or cp1252")
    return encoding


def is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def read_sample(path: Path) -> bytes:
    """The start of a text file; raises when the file holds nothing but white space."""
    with path.open("rb") as fh:
        sample = fh.read(_SAMPLE_BYTES)
    if not sample.replace(codecs.BOM_UTF8, b"").strip():
        raise IngestError(f"{fname(path)}: the file is empty")
    return sample


def check_sample(path: Path, sample: bytes, encoding: str, given: str | None) -> None:
    """Raises one actionable line when the start of a text file is not in the expected encoding."""
    if given is not None and sample.startswith(codecs.BOM_UTF8) and not is_utf8(given):
        raise IngestError(f"{fname(path)}: the file starts with a UTF-8 byte order mark, "
                          f"but --encoding {printable(given)} was given; drop --encoding")
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=False)
    except UnicodeDecodeError as exc:
        hint = " If it is Latin-1 (Windows export), run again with --encoding latin-1." if given is None else ""
        raise IngestError(
            f"{fname(path)}: not valid {encoding} (byte 0x{sample[exc.start]:02x} at offset {exc.start}).{hint}"
        ) from None


def batches(items: Iterator[T], skip: int, size: int) -> Iterator[list[T]]:
    """Lists of up to `size` items, after passing over the first `skip` (already committed) ones."""
    for _ in islice(items, skip):
        pass
    while batch := list(islice(items, size)):
        yield batch
