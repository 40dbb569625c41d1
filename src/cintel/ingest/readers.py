"""Readers per file format: stream a file in chunks of rows with bounded memory.

A reader checks the file as a whole first (encoding, header, columns, column types) and raises
`IngestError` with one actionable line when it cannot be read at all. Afterwards it never raises
for a single bad row: a row that cannot be parsed comes back as a `BadRow`, to be quarantined
verbatim, with the key of the record it belongs to when that can be read.

This module picks the reader for a file; the readers are in `read_csv`, `read_json` (JSON Lines, arrays
and wrapped arrays, sniffed from the content, on top of `read_jsonl`; DCSA events mapped by `read_dcsa`,
detected by their shape or chosen with --format dcsa), `read_parquet`, `read_cusdec` and `read_ftm`
(FollowTheMoney watch lists, chosen with --format ftm), and what they share (`BadRow`, `Chunk`,
`ReadOptions`, ...) is in `rows`, re-exported here.

`json` and `jsonl` both sniff the layout: the extension does not decide whether a file is JSON Lines or
one JSON document, its content does.
"""

from __future__ import annotations

from pathlib import Path

from cintel.ingest.problems import IngestError
from cintel.ingest.read_csv import CsvReader
from cintel.ingest.read_cusdec import CusdecReader
from cintel.ingest.read_ftm import FtmReader
from cintel.ingest.read_json import JsonReader
from cintel.ingest.read_jsonl import JsonLinesReader
from cintel.ingest.read_parquet import ParquetReader
from cintel.ingest.rows import BadRow, Chunk, Reader, ReadOptions, check_columns, fname, printable

FORMATS = ("csv", "jsonl", "json", "parquet", "cusdec", "ftm", "dcsa")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
               ".json": "json", ".parquet": "parquet", ".pq": "parquet", ".edi": "cusdec", ".cusdec": "cusdec",
               ".edifact": "cusdec"}


def detect_format(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise IngestError(f"unknown format '{printable(given)}'; use one of {', '.join(FORMATS)}")
        return given
    suffixes = [s.lower() for s in path.suffixes]
    for suffix in reversed(suffixes):
        if suffix in _EXTENSIONS:
            return _EXTENSIONS[suffix]
    raise IngestError(f"{fname(path)}: cannot tell the format from the extension; "
                      f"pass --format ({', '.join(FORMATS)})")


def open_reader(path: Path, file_format: str | None, options: ReadOptions) -> Reader:
    """The reader for a file; raises IngestError when the file cannot be read at all."""
    if not path.exists():
        raise IngestError(f"{printable(path)}: no such file")
    if not path.is_file():
        raise IngestError(f"{printable(path)}: not a regular file")
    fmt = detect_format(path, file_format)
    readers: dict[str, type[CsvReader | JsonReader | ParquetReader | CusdecReader | FtmReader]] = {
        "csv": CsvReader, "jsonl": JsonReader, "json": JsonReader, "parquet": ParquetReader,
        "cusdec": CusdecReader, "ftm": FtmReader,
    }
    try:
        if fmt == "dcsa":
            return JsonReader(path, options, dcsa=True)
        return readers[fmt](path, options)
    except OSError as exc:
        raise IngestError(f"{fname(path)}: cannot open ({exc.strerror or exc})") from None


__all__ = [
    "FORMATS", "BadRow", "Chunk", "CsvReader", "CusdecReader", "JsonLinesReader", "JsonReader", "ParquetReader",
    "ReadOptions",
    "Reader", "check_columns", "detect_format", "open_reader", "printable",
]
