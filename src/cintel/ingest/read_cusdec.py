"""EDIFACT CUSDEC files as chunks of flat declaration rows; the parsing is in `edifact`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cintel.domain.records import RecordKind, record_format
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.rows import BadRow, Chunk, ReadOptions, batches, fname, printable, string_frame, text_encoding


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
            text_encoding(options.encoding, "latin-1")
        if path.stat().st_size == 0:
            raise IngestError(f"{fname(path)}: the file is empty")
        from cintel.ingest.edifact import EdifactError, profile_choice

        try:  # an unknown --profile or a broken profile file stops the file before anything is read
            self.choice = profile_choice(options.profile)
        except EdifactError as exc:
            raise IngestError(printable(exc)) from None

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        from cintel.ingest.edifact import EdifactError, iter_cusdec

        columns = [f.name for f in self.fmt.fields]
        stream = self.path.open("rb")
        records = iter_cusdec(stream, self.options.encoding, choice=self.choice)
        try:
            for batch in batches(records, skip, self.options.chunk_rows):
                data: dict[str, list[str | None]] = {c: [] for c in columns}
                rows: list[int] = []
                bad: list[BadRow] = []
                sources: dict[int, str] = {}
                texts: dict[str, str] = {}  # one printable copy per message, shared by its items
                for rec in batch:
                    source = texts.setdefault(rec.raw, printable(rec.raw))
                    sources[rec.line] = source
                    if rec.values is None:
                        where, code, message = rec.error or ("(message)", "EDIFACT_ERROR", "unreadable message")
                        bad.append(BadRow(rec.line, Problem.EDIFACT_ERROR, printable(f"{code}: {message}"),
                                          source, printable(where)))
                        continue
                    rows.append(rec.line)
                    for c in columns:
                        data[c].append(rec.values.get(c))
                yield Chunk(string_frame(columns, data, rows), bad, len(batch), sources)
        except EdifactError as exc:
            raise IngestError(f"{fname(self.path)}: {printable(exc)}") from None
        finally:
            stream.close()
