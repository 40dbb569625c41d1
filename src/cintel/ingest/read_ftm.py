"""Watch lists in the FollowTheMoney / OpenSanctions JSON-lines format, read as WATCHLIST rows.

The export is read whole (`cintel.entities.ftm`), because a target's sanction details come from other
lines of the file; `cintel.entities.ftm_targets` keeps only the sanction targets as entries. The list's
name and version come from the command line. Lines that cannot be used (bad JSON, no id or schema, an
unknown schema, a target without a name) are quarantined like any bad row; non-target entities
(associates, addresses, sanctions, ownerships, ...) are counted in the log. Through `cintel ingest`
an export only adds entries; `cintel watchlist import` applies it as a release of the list
(`cintel.entities.watchlists`), and is the only way to apply a delta file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from cintel.domain.records import WATCHLIST, RecordKind
from cintel.entities.ftm import read_export
from cintel.entities.ftm_targets import derive
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.rows import BadRow, Chunk, ReadOptions, fname, printable, string_frame

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
        export = read_export(self.path)
        if export.delta:
            raise IngestError(f"{fname(self.path)} is a delta file (ADD/MOD/DEL): apply it to its list with "
                              "`cintel watchlist import`")
        derived = derive(export.entities, export.line_of, list_name=self.options.list_name or "",
                         list_version=self.options.list_version)
        problems = sorted([*export.problems, *derived.problems], key=lambda p: p.line)
        items: list[tuple[int, dict[str, str | None] | None, BadRow | None]] = [
            (line, row, None) for line, row in zip(derived.row_lines, derived.rows, strict=True)]
        items += [(p.line, None, BadRow(p.line, Problem.MALFORMED_ROW, f"line {p.line}: {p.message}",
                                        printable(p.raw))) for p in problems]
        items = sorted((i for i in items if i[0] > skip), key=lambda i: i[0])
        size = max(self.options.chunk_rows, 1)
        for start in range(0, len(items), size):
            part = items[start:start + size]
            data: dict[str, list[str | None]] = {c: [] for c in self.columns}
            rows = [line for line, row, _ in part if row is not None]
            for _, row, _ in part:
                if row is not None:
                    for c in self.columns:
                        data[c].append(row.get(c))
            yield Chunk(string_frame(self.columns, data, rows), [b for _, _, b in part if b is not None], len(part))
        log.info("%s: %d entries; %d non-target parties and %d entities of other schemata not listed",
                 fname(self.path), len(derived.rows), derived.non_targets_context + derived.non_targets_skipped,
                 sum(c["context"] + c["skipped"] for c in derived.schemata.values()))
