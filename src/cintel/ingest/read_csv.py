"""Delimited text with a header row: encoding and delimiter detected or given."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO

from cintel.domain.records import RecordKind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.rows import (
    SURROGATE,
    BadRow,
    Chunk,
    ReadOptions,
    check_columns,
    check_sample,
    fname,
    printable,
    read_sample,
    resolve_kind,
    string_frame,
    text_encoding,
)
from cintel.settings import get_settings

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "TAB": "\t"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


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
        if not line.isascii() and (found := SURROGATE.search(line)):
            return found.group()
    return None


def _is_blank(record: list[str]) -> bool:
    return not record or (len(record) == 1 and not record[0].strip())


class CsvReader:
    """Delimited text with a header row; encoding and delimiter detected or given."""

    def __init__(self, path: Path, options: ReadOptions) -> None:
        self.path = path
        self.options = options
        self.encoding = text_encoding(options.encoding, "utf-8-sig")
        delimiter = _delimiter(options.delimiter)
        sample = read_sample(path)
        check_sample(path, sample, self.encoding, options.encoding)
        text = sample.decode(self.encoding, errors="replace").lstrip("\ufeff")
        header_line = _LINE_BREAK.split(text.lstrip(), maxsplit=1)[0]  # the first line that is not blank
        scores = self._delimiter_scores(header_line)
        sniffed = max(_DELIMITERS, key=lambda d: scores[d])
        self.delimiter = delimiter or sniffed
        header = next(csv.reader([header_line], delimiter=self.delimiter), [])
        self.header = [h.strip().lstrip("\ufeff") for h in header]
        if delimiter and len(self.header) == 1 and sniffed != delimiter and scores[sniffed] > 1:
            raise IngestError(f"{fname(path)}: with --delimiter {printable(repr(delimiter))} the header is one column; "
                              f"the file looks {sniffed!r}-separated")
        self.kind = resolve_kind(self.header, options.kind, path)
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
                    raise IngestError(f"{fname(self.path)}: row {row_no + 1} has a field longer than {limit:,} "
                                      "characters (CINTEL_CSV_FIELD_LIMIT); is a quote not closed?") from None
                if not header_seen:
                    raise IngestError(f"{fname(self.path)}: cannot parse the header row: {exc}") from None
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
                    yield Chunk(string_frame(self.columns, data, rows), bad, len(rows) + len(bad))
            except UnicodeError as exc:  # a codec that cannot even escape what it fails to decode
                raise IngestError(f"{fname(self.path)}: not valid {self.encoding} after row {row_no}: "
                                  f"{printable(exc)}; pass --encoding") from None
