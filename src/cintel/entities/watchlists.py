"""Watch lists as publishers release them: a release replaces the list, a delta file amends it.

`import_release` reads one file of a list (an FtM / OpenSanctions export or delta file, or a flat
watchlist CSV / JSON lines / Parquet file), works out the list as it now stands and applies the
difference in one transaction:

* entries **added**, **changed** ones updated, **unchanged** ones left as they are (a new release is
  not a conflict with the old one), entries no longer present **delisted**: moved out of
  ``watchlist_entries`` into ``watchlist_delistings`` with the date and the release, so every screen,
  seed and lookup stops seeing them at once;
* open screening hits on delisted entries are closed with that reason, and the values of the
  ``listed_parties`` targeting lookup that only delisted entries supported are removed;
* bad lines and entries the store cannot hold are quarantined; a target whose new version cannot
  be used keeps its stored version (a publisher's typo does not delist anyone);
* the release is recorded (``watchlist_releases``) with every line accounted for.

The same file is one release per list: imported again under the same list it is skipped (``force``
applies it again); under another list name it is imported. A release with no entries while the list
holds some, a release of another publisher's dataset and a delta without a prior release are refused.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from sqlalchemy import Connection, Engine, delete, insert, select, update

from cintel.domain.access import AccessContext
from cintel.domain.records import WATCHLIST, RecordKind
from cintel.entities.ftm import FtmProblem, apply_operations, read_export
from cintel.entities.ftm_targets import ContextRow, Derived, derive, rows_frame
from cintel.errors import CintelError
from cintel.ingest.pipeline import file_sha256
from cintel.ingest.prepare import prepare
from cintel.ingest.problems import IngestError, Problem
from cintel.ingest.readers import Chunk, ReadOptions, detect_format, open_reader, printable
from cintel.ingest.validate import ROW
from cintel.settings import get_settings
from cintel.store import tables
from cintel.store.bulk import copy_rows
from cintel.store.entity_tables import (
    entity_records,
    screening_dispositions,
    screening_hits,
    watchlist_context,
    watchlist_delistings,
    watchlist_entities,
    watchlist_releases,
    watchlists,
)
from cintel.store.frames import load_table
from cintel.store.risk_tables import risk_lookup_values, risk_lookups

LISTED_LOOKUP = "listed_parties"
# What is compared to tell a changed entry from an unchanged one: everything the publisher says.
COMPARED = [f.name for f in WATCHLIST.fields if f.name not in ("list_version",)]
_LIST_NAME = re.compile(r"^[\w .:/()&+-]{1,128}$")
_IN_CHUNK = 500


class WatchlistError(CintelError):
    """A list import the user has to fix: a wrong list name, a release that would empty the list, ..."""


@dataclass
class ReleaseReport:
    """What importing one file of a list did; ``lines`` = the sum of what became of each line."""

    list_name: str
    version: str | None
    mode: str  # full or delta
    status: str  # applied or skipped
    path: str
    format: str
    sha256: str
    release_id: int | None = None
    batch_id: int | None = None
    lines: int = 0
    blank: int = 0
    quarantined: int = 0  # lines that could not be used
    invalid: int = 0  # targets the store cannot hold (quarantined; their stored version is kept)
    operations: int = 0
    unknown_deletes: int = 0
    entries: int = 0  # listed after the release
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    delisted: int = 0
    non_targets_context: int = 0
    non_targets_skipped: int = 0
    schemata: dict[str, dict[str, int]] = field(default_factory=dict)
    context: int = 0
    hits_closed: int = 0
    lookup_values_removed: int = 0
    delisted_ids: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def accounted(self) -> int:
        """Lines the report accounts for; equals ``lines`` for every applied release."""
        if self.mode == "delta":
            return self.blank + self.quarantined + self.operations + self.unknown_deletes
        return (self.blank + self.quarantined + self.added + self.changed + self.unchanged + self.invalid
                + self.non_targets_context + self.non_targets_skipped
                + sum(c["context"] + c["skipped"] for c in self.schemata.values()))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        # The ingest report's names, for scripts written against `cintel ingest`.
        out.update(rows_read=self.lines, rows_stored=self.added + self.changed,
                   rows_duplicate=self.unchanged, rows_quarantined=self.quarantined + self.invalid)
        return out


@dataclass
class _Release:
    """A release worked out, before it touches the store."""

    rows: pl.DataFrame  # validated entries (WATCHLIST columns + raw twins + ROW + record_hash)
    targets: set[str]  # every target of the list as it now stands (valid or not)
    problems: list[FtmProblem]  # lines that could not be used
    invalid: list[dict[str, Any]]  # quarantine entries of targets the store cannot hold
    derived: Derived | None
    entities: dict[str, dict[str, Any]] | None  # the list's FtM entities after the release
    datasets: list[str]
    lines: int
    delta: bool = False
    blank: int = 0
    operations: int = 0
    unknown_deletes: int = 0


def _validated(rows: pl.DataFrame, lines: list[int], list_name: str) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Entries that pass the WATCHLIST checks (with their record hash), and quarantine entries for the others."""
    frame = rows.with_columns(pl.Series(ROW, lines, dtype=pl.Int64))
    prepared = prepare(Chunk(frame, [], frame.height), WATCHLIST)
    bad = prepared.problems.group_by(ROW, maintain_order=True).agg(pl.struct("field", "code", "message"))
    bad_rows = set(bad[ROW].to_list())
    invalid = []
    by_row = {r[ROW]: r for r in frame.filter(pl.col(ROW).is_in(sorted(bad_rows))).iter_rows(named=True)}
    for row_no, errors in bad.iter_rows():
        raw = {k: v for k, v in by_row[row_no].items() if k != ROW}
        invalid.append(_quarantine_entry(row_no, f"{list_name} / {raw.get('entry_id')}", errors[0]["field"],
                                         errors[0]["code"], errors[0]["message"], orjson.dumps(raw).decode(), errors))
    good = prepared.std.filter(~pl.col(ROW).is_in(sorted(bad_rows)))
    return good.join(prepared.hashes, on=list(WATCHLIST.key), how="left"), invalid


def _quarantine_entry(row: int, key: str | None, field_name: str, code: str, message: str, raw: str,
                      errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"source_row": row, "record_key": key[:500] if key else None, "field": field_name[:64], "code": code,
            "message": message, "raw": raw,
            "errors": orjson.dumps(errors or [{"field": field_name, "code": code, "message": message}]).decode()}


def _stored_entities(conn: Connection, list_name: str) -> dict[str, dict[str, Any]]:
    rows = conn.execute(select(watchlist_entities.c.entity_id, watchlist_entities.c.data)
                        .where(watchlist_entities.c.list_name == list_name)).all()
    return {r[0]: orjson.loads(r[1]) for r in rows}


def _ftm_release(conn: Connection, path: Path, list_name: str, version: str | None) -> _Release:
    export = read_export(path)
    if export.delta:
        state = _stored_entities(conn, list_name)
        if not state:
            raise WatchlistError(f"{printable(path)} is a delta file, but list '{list_name}' has no full release to "
                                 "apply it to; import a full export first")
        entities, unknown = apply_operations(state, export.operations)
        touched = {op.entity_id: op.line for op in export.operations}
        line_of = {i: touched.get(i, 0) for i in entities}
    else:
        entities, unknown, line_of = export.entities, [], export.line_of
    derived = derive(entities, line_of, list_name=list_name, list_version=version)
    rows, invalid = _validated(rows_frame(derived.rows), derived.row_lines, list_name)
    problems = list(export.problems)
    if export.delta:
        # A target of the stored state without a name was quarantined when its release came in.
        invalid += [_quarantine_entry(p.line, f"{list_name} / ?", "name", Problem.MISSING_VALUE.value, p.message, p.raw)
                    for p in derived.problems if p.line]
    else:
        problems += derived.problems
    return _Release(rows=rows, targets=derived.target_ids, problems=problems, invalid=invalid, derived=derived,
                    entities=entities, datasets=export.datasets, lines=export.lines, blank=export.blank,
                    delta=export.delta,
                    operations=len(export.operations) - len(unknown), unknown_deletes=len(unknown))


def _flat_release(path: Path, file_format: str | None, list_name: str | None, version: str | None
                  ) -> tuple[str, _Release]:
    """A watchlist CSV / JSON lines / Parquet file: its rows are the list's entries."""
    reader = open_reader(path, file_format, ReadOptions(kind=RecordKind.WATCHLIST, list_name=list_name,
                                                        list_version=version))
    frames, problems, lines = [], [], 0
    for chunk in reader.chunks(0):
        lines += chunk.frame.height + len(chunk.bad_rows)
        frames.append(chunk.frame)
        problems += [FtmProblem(b.row, b.code.value, b.message, b.raw) for b in chunk.bad_rows]
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    names = sorted({str(n) for n in frame["list_name"].to_list()}) if "list_name" in frame.columns else []
    if list_name is None:
        if len(names) != 1:
            raise WatchlistError(f"{printable(path)} holds {len(names)} lists ({', '.join(names[:5])}); a release "
                                 "is one list: pass --list NAME")
        list_name = names[0]
    rows = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns if c != ROW)
    other = rows.filter(pl.col("list_name") != list_name) if "list_name" in rows.columns else rows.clear()
    problems += [FtmProblem(r[ROW], Problem.INVALID_CODE.value, f"row {r[ROW]} belongs to list {r['list_name']!r}, "
                            f"not {list_name!r}", orjson.dumps(r).decode()) for r in other.iter_rows(named=True)]
    rows = rows.join(other.select(ROW), on=ROW, how="anti")
    if version is not None:
        rows = rows.with_columns(list_version=pl.lit(version))
    lines_of = rows[ROW].to_list()
    targets = {str(i) for i in rows["entry_id"].to_list()} if "entry_id" in rows.columns else set()
    good, invalid = _validated(rows.drop(ROW), lines_of, list_name)
    return list_name, _Release(rows=good, targets=targets, problems=problems, invalid=invalid, derived=None,
                               entities=None, datasets=[], lines=lines)


def _diff(stored: pl.DataFrame, new: pl.DataFrame, targets: set[str]) -> tuple[list[str], list[str], list[str],
                                                                               list[str]]:
    """(added, changed, unchanged, delisted) entry ids between the stored entries and the release's."""
    def signature(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select(pl.col("entry_id").cast(pl.String), pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("\x00") if c in frame.columns else pl.lit("\x00") for c in COMPARED],
            separator="\x1f").alias("sig"))
    old, fresh = signature(stored), signature(new)
    both = fresh.join(old, on="entry_id", how="inner", suffix="_old")
    added = fresh.join(old, on="entry_id", how="anti")["entry_id"].to_list()
    changed = both.filter(pl.col("sig") != pl.col("sig_old"))["entry_id"].to_list()
    unchanged = both.filter(pl.col("sig") == pl.col("sig_old"))["entry_id"].to_list()
    delisted = sorted(set(old["entry_id"].to_list()) - targets)
    return added, changed, unchanged, delisted


def _chunks(ids: list[str]) -> list[list[str]]:
    return [ids[i:i + _IN_CHUNK] for i in range(0, len(ids), _IN_CHUNK)]


def _listed_tax_ids(conn: Connection, list_name: str | None, entry_ids: list[str] | None) -> set[str]:
    """Tax ids of party records a hit makes listed (a confirmed hit, or an open one strong enough) on the
    given entries, or, with ``entry_ids`` None, on any entry listed now."""
    hits, records, verdicts = screening_hits, entity_records, screening_dispositions
    entries = tables.record_tables[RecordKind.WATCHLIST]
    strong = get_settings().screening_auto_list_score
    base = (select(records.c.tax_id).distinct().join(hits, hits.c.record_id == records.c.record_id)
            .outerjoin(verdicts, (verdicts.c.record_id == hits.c.record_id)
                       & (verdicts.c.list_name == hits.c.list_name) & (verdicts.c.entry_id == hits.c.entry_id))
            .where(records.c.tax_id.is_not(None), (verdicts.c.disposition == "true_hit")
                   | (verdicts.c.disposition.is_(None) & hits.c.open.is_(True) & (hits.c.score >= strong))))
    if entry_ids is None:
        query = base.join(entries, (entries.c.list_name == hits.c.list_name) & (entries.c.entry_id == hits.c.entry_id))
        return {r[0] for r in conn.execute(query)}
    found: set[str] = set()
    for part in _chunks(entry_ids):
        found |= {r[0] for r in conn.execute(base.where(hits.c.list_name == list_name, hits.c.entry_id.in_(part)))}
    return found


def refresh_listed_lookup(conn: Connection, list_name: str, delisted: list[str]) -> int:
    """Removes from the ``listed_parties`` lookup the traders only delisted entries made listed (values an
    officer added by hand, or that another listed entry supports, stay). Call before the hits are closed."""
    if not delisted or conn.execute(select(risk_lookups.c.name).where(risk_lookups.c.name == LISTED_LOOKUP)
                                    ).first() is None:
        return 0
    candidates = _listed_tax_ids(conn, list_name, delisted)
    if not candidates:
        return 0
    # Runs after the delisted entries left watchlist_entries: what remains listed is what still supports a value.
    remaining = _listed_tax_ids(conn, None, None)
    gone = sorted(candidates - remaining)
    removed = 0
    for part in _chunks(gone):
        result = conn.execute(delete(risk_lookup_values).where(risk_lookup_values.c.name == LISTED_LOOKUP,
                                                               risk_lookup_values.c.value.in_(part)))
        removed += int(result.rowcount or 0)
    return removed


def _apply(conn: Connection, report: ReleaseReport, release: _Release, ctx: AccessContext, size: int) -> None:
    """Writes the release: batch, quarantine, entries, delistings, hits, lookup, entities, context, list."""
    now = datetime.now(UTC)
    entries_table = tables.record_tables[RecordKind.WATCHLIST]
    name = report.list_name
    batch_id = conn.execute(insert(tables.batches).values(
        kind=RecordKind.WATCHLIST.value, source_path=report.path, source_format=report.format, sha256=report.sha256,
        size_bytes=size, status="completed", started_at=now, finished_at=now, rows_read=report.lines,
        rows_stored=report.added + report.changed, rows_duplicate=report.unchanged,
        rows_quarantined=report.quarantined + report.invalid, rows_committed=report.lines)).inserted_primary_key
    assert batch_id is not None
    report.batch_id = int(batch_id[0])
    release_id = conn.execute(insert(watchlist_releases).values(
        list_name=name, version=report.version, mode=report.mode, sha256=report.sha256, batch_id=report.batch_id,
        source_path=report.path, source_format=report.format, lines=report.lines, blank=report.blank,
        quarantined=report.quarantined, operations=report.operations, unknown_deletes=report.unknown_deletes,
        entries=report.entries, added=report.added, changed=report.changed, unchanged=report.unchanged,
        delisted=report.delisted, kept=report.invalid, non_targets_context=report.non_targets_context,
        non_targets_skipped=report.non_targets_skipped, schemata=json.dumps(report.schemata, sort_keys=True),
        hits_closed=0, imported_by=ctx.user, imported_at=now)).inserted_primary_key
    assert release_id is not None
    report.release_id = int(release_id[0])
    quarantine = [_quarantine_entry(p.line, f"{name} / line {p.line}", "(row)", Problem.MALFORMED_ROW.value,
                                    f"{p.message} [{p.code}]", p.raw or "") for p in release.problems]
    quarantine += release.invalid
    if quarantine:
        conn.execute(insert(tables.quarantine), [{**q, "batch_id": report.batch_id, "kind": RecordKind.WATCHLIST.value,
                                                  "status": "open", "created_at": now} for q in quarantine])
    stored = load_table(conn, entries_table, entries_table.c.list_name == name)
    keep_ids = set(release.targets) - set(release.rows["entry_id"].to_list())
    kept = stored.filter(pl.col("entry_id").is_in(sorted(keep_ids)))
    delisted = stored.filter(pl.col("entry_id").is_in(report.delisted_ids))
    if delisted.height:
        conn.execute(insert(watchlist_delistings), [{
            "list_name": name, "entry_id": r["entry_id"], "name": r["name"], "entity_type": r["entity_type"],
            "delisted_on": now.date(), "release_id": report.release_id, "version": report.version,
            "entry": orjson.dumps(r, default=str).decode()} for r in delisted.iter_rows(named=True)])
    conn.execute(delete(entries_table).where(entries_table.c.list_name == name))
    copy_rows(conn, entries_table, release.rows.rename({ROW: "source_row"}).with_columns(
        batch_id=pl.lit(report.batch_id)))
    copy_rows(conn, entries_table, kept)
    for part in _chunks(release.rows["entry_id"].to_list()):
        conn.execute(update(watchlist_delistings).where(
            watchlist_delistings.c.list_name == name, watchlist_delistings.c.entry_id.in_(part),
            watchlist_delistings.c.relisted_in_release.is_(None)).values(relisted_in_release=report.release_id))
    report.lookup_values_removed = refresh_listed_lookup(conn, name, report.delisted_ids)
    reason = f"entry delisted: release {report.version or report.release_id} of list {name} no longer holds it"
    for part in _chunks(report.delisted_ids):
        result = conn.execute(update(screening_hits).where(
            screening_hits.c.list_name == name, screening_hits.c.entry_id.in_(part), screening_hits.c.open.is_(True)
        ).values(open=False, closed_reason=reason, closed_at=now))
        report.hits_closed += int(result.rowcount or 0)
    if release.entities is not None:
        conn.execute(delete(watchlist_entities).where(watchlist_entities.c.list_name == name))
        copy_rows(conn, watchlist_entities, pl.DataFrame({
            "list_name": [name] * len(release.entities), "entity_id": list(release.entities),
            "schema": [str(e.get("schema")) for e in release.entities.values()],
            "data": [orjson.dumps(e).decode() for e in release.entities.values()],
            "release_id": [report.release_id] * len(release.entities)}, schema={
            "list_name": pl.String, "entity_id": pl.String, "schema": pl.String, "data": pl.String,
            "release_id": pl.Int64}))
    context: list[ContextRow] = release.derived.context if release.derived else []
    conn.execute(delete(watchlist_context).where(watchlist_context.c.list_name == name))
    if context:
        copy_rows(conn, watchlist_context, pl.DataFrame(
            [(name, c.entry_id, c.entity_id, c.schema, c.relation[:160], c.caption or None, report.release_id)
             for c in context], orient="row", schema={"list_name": pl.String, "entry_id": pl.String,
                                                      "entity_id": pl.String, "schema": pl.String,
                                                      "relation": pl.String, "caption": pl.String,
                                                      "release_id": pl.Int64}).unique(
            ["list_name", "entry_id", "entity_id"]))
    conn.execute(update(watchlist_releases).where(watchlist_releases.c.id == report.release_id)
                 .values(hits_closed=report.hits_closed))
    previous = conn.execute(select(watchlists.c.source).where(watchlists.c.list_name == name)).scalar()
    source = ";".join(sorted((set((previous or "").split(";")) | set(release.datasets)) - {""})) or None
    conn.execute(delete(watchlists).where(watchlists.c.list_name == name))
    conn.execute(insert(watchlists).values(list_name=name, source=source, current_version=report.version,
                                           current_release=report.release_id, entries=report.entries,
                                           updated_at=now))


def import_release(engine: Engine, ctx: AccessContext, path: Path, *, list_name: str | None,
                   version: str | None = None, file_format: str | None = None, force: bool = False) -> ReleaseReport:
    """Imports one release (or delta file) of a watch list; see the module docstring."""
    if list_name is not None and not _LIST_NAME.match(list_name):
        raise WatchlistError(f"list name {printable(list_name)[:60]!r} must be 1-128 letters, digits, spaces or "
                             "._:/()&+-")
    if version is not None and (not version.strip() or len(version) > 64 or not version.isprintable()):
        raise WatchlistError("--version must be 1-64 printable characters")
    if not path.is_file():
        raise IngestError(f"{printable(path)}: no such file")
    fmt = detect_format(path, file_format)
    if fmt == "cusdec":
        raise WatchlistError(f"{printable(path)}: a watch list is ftm, csv, jsonl or parquet, not cusdec")
    if fmt == "ftm" and not list_name:
        raise WatchlistError("an FtM export needs the list's name (--list NAME)")
    sha = file_sha256(path)
    with engine.begin() as conn:
        if fmt == "ftm":
            assert list_name is not None
            release = _ftm_release(conn, path, list_name, version)
        else:
            list_name, release = _flat_release(path, fmt, list_name, version)
        report = ReleaseReport(list_name=list_name, version=version, mode="delta" if release.delta else "full",
                               status="applied", path=printable(path), format=fmt, sha256=sha)
        previous = conn.execute(select(watchlist_releases.c.id, watchlist_releases.c.version).where(
            watchlist_releases.c.list_name == list_name, watchlist_releases.c.sha256 == sha)
            .order_by(watchlist_releases.c.id.desc())).first()
        if previous is not None and not force:
            report.status, report.release_id = "skipped", int(previous[0])
            report.message = (f"already imported as release {previous[0]} of list {list_name}; use --force to apply "
                              "it again")
            return report
        source = conn.execute(select(watchlists.c.source).where(watchlists.c.list_name == list_name)).scalar()
        if source and release.datasets and not set(source.split(";")) & set(release.datasets):
            raise WatchlistError(f"{printable(path)} is a release of {', '.join(release.datasets[:3])}, but list "
                                 f"'{list_name}' is released from {source.replace(';', ', ')}; import it under "
                                 "another --list")
        entries_table = tables.record_tables[RecordKind.WATCHLIST]
        stored = load_table(conn, entries_table, entries_table.c.list_name == list_name)
        if not release.targets and release.lines > release.blank and \
                len(release.problems) + len(release.invalid) >= release.lines - release.blank:
            # Nothing usable at all: a wrong --format, most likely. Recording it would lock the file.
            raise WatchlistError(f"no line of {printable(path)} could be used as a {fmt} watch list "
                                 f"({len(release.problems) + len(release.invalid):,} bad); check --format; "
                                 "nothing changed")
        if not release.targets and stored.height:
            raise WatchlistError(f"{printable(path)} holds no entries for list '{list_name}' ({len(release.problems)} "
                                 f"bad lines): applying it would delist all {stored.height:,} entries; nothing "
                                 "changed (check --format and the file)")
        added, changed, unchanged, delisted = _diff(stored, release.rows, release.targets)
        derived = release.derived
        report.lines, report.blank = release.lines, release.blank
        report.quarantined, report.invalid = len(release.problems), len(release.invalid)
        report.operations, report.unknown_deletes = release.operations, release.unknown_deletes
        report.added, report.changed, report.unchanged = len(added), len(changed), len(unchanged)
        report.delisted, report.delisted_ids = len(delisted), delisted
        report.entries = release.rows.height + len(set(release.targets) & set(stored["entry_id"].to_list())
                                                   - set(release.rows["entry_id"].to_list()))
        if derived is not None:
            report.non_targets_context, report.non_targets_skipped = (derived.non_targets_context,
                                                                      derived.non_targets_skipped)
            report.schemata, report.context = derived.schemata, len(derived.context)
        _apply(conn, report, release, ctx, path.stat().st_size)
    return report


def list_releases(engine: Engine, ctx: AccessContext, list_name: str | None = None) -> pl.DataFrame:
    """Every release imported (of one list, or all), newest first."""
    del ctx
    releases = load_table(engine, watchlist_releases)
    if list_name is not None:
        releases = releases.filter(pl.col("list_name") == list_name)
    return releases.sort("id", descending=True)


def delistings(engine: Engine, ctx: AccessContext, list_name: str | None = None) -> pl.DataFrame:
    """Entries delisted by a release, newest first."""
    del ctx
    rows = load_table(engine, watchlist_delistings)
    if list_name is not None:
        rows = rows.filter(pl.col("list_name") == list_name)
    return rows.drop("entry").sort("id", descending=True)

