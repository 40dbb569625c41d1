"""Watch lists in the FollowTheMoney / OpenSanctions JSON-lines format, read as WATCHLIST rows.

Each line is one FtM entity; `cintel.entities.ftm` maps the legal entities and vessels to
watch-list entries. The list's name and version come from the command line (an export does not
carry them in a form every publisher fills). Lines that cannot be used (bad JSON, no id, no
name, an unknown schema) are quarantined like any bad row; entities of schemas that name nobody
(Sanction, Address, Ownership, ...) are passed over and counted in the log, as the export holds
them beside the entries by design.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from cintel.domain.records import WATCHLIST, RecordKind
from cintel.entities.ftm import parse_line
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.rows import BadRow, Chunk, ReadOptions, batches, fname, printable, string_frame

log = logging.getLogger(__name__)


class FtmReader:
    """FtM entities, one JSON object per line, UTF-8."""

    kind = RecordKind.WATCHLIST
    fmt = WATCHLIST

    def __init__(self, path: Path, options: ReadOptions) -> None:
        if options.kind not in (None, RecordKind.WATCHLIST):
            raise IngestError(f"{fname(path)}: the ftm format holds watch lists, not {options.kind}")
        if not options.list_name:
            raise IngestError(f"{fname(path)}: an FtM export needs the list's name (--list NAME)")
        self.path = path
        self.options = options
        self.columns = [f.name for f in WATCHLIST.fields]

    def chunks(self, skip: int = 0) -> Iterator[Chunk]:
        skipped = 0
        with self.path.open("rb") as fh:
            row_no = skip
            for batch in batches(iter(fh), skip, self.options.chunk_rows):
                data: dict[str, list[str | None]] = {c: [] for c in self.columns}
                rows: list[int] = []
                bad: list[BadRow] = []
                for line in batch:
                    row_no += 1
                    row, problem, skip_line = parse_line(line, row_no, list_name=self.options.list_name or "",
                                                         list_version=self.options.list_version)
                    skipped += skip_line
                    if problem is not None:
                        raw = printable(line.decode("utf-8", errors="backslashreplace").rstrip("\r\n"))
                        bad.append(BadRow(row_no, Problem.MALFORMED_ROW, f"line {row_no}: {problem.message}", raw))
                    elif row is not None:
                        rows.append(row_no)
                        for c in self.columns:
                            data[c].append(row.get(c))
                yield Chunk(string_frame(self.columns, data, rows), bad, len(batch))
        log.info("%s: %d entities of schemas that name no party passed over", fname(self.path), skipped)
