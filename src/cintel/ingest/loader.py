"""Writing a prepared chunk: duplicates and conflicts with the store, quarantine, bulk inserts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
import polars as pl
from sqlalchemy import Connection, Engine, insert, update

from cintel.domain.records import RecordFormat, RecordKind
from cintel.ingest.prepare import Prepared, group_key
from cintel.ingest.problems import Problem
from cintel.ingest.readers import BadRow
from cintel.ingest.validate import ROW
from cintel.store import tables
from cintel.store.bulk import copy_rows, existing


@dataclass
class Outcome:
    stored: int
    duplicate: int
    quarantined: int


class BatchLoader:
    """Stores the chunks of one file as one batch."""

    def __init__(self, engine: Engine, fmt: RecordFormat, batch_id: int, resolves: dict[int, int] | None) -> None:
        self.engine = engine
        self.fmt = fmt
        self.batch_id = batch_id
        # source row -> quarantine id it fixes (replay of an exported quarantine file)
        self.resolves = resolves or {}
        self.table = tables.declarations if fmt.kind is RecordKind.DECLARATIONS else tables.record_tables[fmt.kind]

    def _quarantine_rows(self, raw: pl.DataFrame, problems: pl.DataFrame, bad_rows: list[BadRow],
                         group_rejects: pl.DataFrame) -> list[dict[str, object]]:
        now = datetime.now(UTC)
        key_cols = list(group_key(self.fmt))
        entries: list[dict[str, object]] = []
        if problems.height or group_rejects.height:
            listed = pl.concat([problems, group_rejects]).group_by(ROW, maintain_order=True).agg(
                pl.struct("field", "code", "message").alias("errors"))
            joined = listed.join(raw, on=ROW, how="left")
            for rec in joined.iter_rows(named=True):
                errors = rec.pop("errors")
                row = rec.pop(ROW)
                key = " / ".join(str(rec.get(k)) for k in key_cols)
                entries.append({
                    "batch_id": self.batch_id, "kind": self.fmt.kind.value, "source_row": row,
                    "record_key": key[:500], "field": errors[0]["field"][:64], "code": errors[0]["code"],
                    "message": errors[0]["message"], "errors": orjson.dumps(errors).decode(),
                    "raw": orjson.dumps(rec, default=str).decode(), "status": "open", "created_at": now,
                })
        for bad in bad_rows:
            error = {"field": bad.field, "code": bad.code.value, "message": bad.message}
            entries.append({
                "batch_id": self.batch_id, "kind": self.fmt.kind.value, "source_row": bad.row,
                "record_key": bad.key[:500] if bad.key is not None else None,
                "field": bad.field, "code": bad.code.value, "message": bad.message,
                "errors": orjson.dumps([error]).decode(), "raw": bad.raw, "status": "open", "created_at": now,
            })
        return entries

    def load(self, conn: Connection, prepared: Prepared) -> Outcome:
        """Stores a prepared chunk inside the caller's transaction; returns what happened to its rows."""
        fmt = self.fmt
        chunk, std, problems, hashes = prepared.chunk, prepared.std, prepared.problems, prepared.hashes
        raw = chunk.frame
        group = list(group_key(fmt))

        # Records whose key is already stored: identical ones are duplicates, others conflicts.
        stored = existing(conn, self.table, tuple(group), hashes)
        if stored.height:
            stored = stored.rename({"record_hash": "stored_hash", "batch_id": "stored_batch"})
            compare = hashes.with_columns([pl.col(k).cast(pl.String) for k in group]).join(stored, on=group)
            conflicts = compare.filter(pl.col("record_hash") != pl.col("stored_hash"))
            duplicates = compare.filter(pl.col("record_hash") == pl.col("stored_hash")).select(group)
            if conflicts.height:
                rows = std.with_columns([pl.col(k).cast(pl.String) for k in group]).join(
                    conflicts, on=group).select(
                    pl.col(ROW), pl.lit(group[0]).alias("field"),
                    pl.when(pl.col("stored_batch") == self.batch_id)
                    .then(pl.lit(Problem.SPLIT_DECLARATION.value))
                    .otherwise(pl.lit(Problem.CONFLICTS_WITH_STORED.value)).alias("code"),
                    pl.when(pl.col("stored_batch") == self.batch_id)
                    .then(pl.format("items of {} are not contiguous in the file; part was stored from earlier "
                                    "rows", pl.col(group[0])))
                    .otherwise(pl.format("{} {} is already stored (batch {}) with different content; "
                                         "amend it there instead", pl.lit(group[0]), pl.col(group[0]),
                                         pl.col("stored_batch"))).alias("message"),
                )
                problems = pl.concat([problems, rows])
        else:
            duplicates = pl.DataFrame(schema={k: pl.String for k in group})

        # A record with any bad row is rejected whole; its other rows say why.
        bad_keys = std.join(problems.select(ROW).unique(), on=ROW).select(group)
        unreadable = [b.key for b in chunk.bad_rows if b.key is not None]
        if unreadable and len(group) == 1:
            bad_keys = pl.concat([bad_keys, pl.DataFrame({group[0]: unreadable}).cast(bad_keys.schema)])
        bad_keys = bad_keys.unique()
        rejected = std.join(bad_keys, on=group, how="semi", nulls_equal=True)
        reasons = problems.join(std.select(ROW, *group), on=ROW).select(*group, "message", ROW)
        if unreadable and len(group) == 1:
            keyed = [b for b in chunk.bad_rows if b.key is not None]
            reasons = pl.concat([reasons, pl.DataFrame(
                {group[0]: [b.key for b in keyed], "message": [b.message for b in keyed], ROW: [b.row for b in keyed]},
                schema={group[0]: pl.String, "message": pl.String, ROW: pl.Int64}).cast(reasons.schema)])
        first_error = reasons.sort(ROW).group_by(group).agg(
            pl.col("message").first().alias("why"), pl.col(ROW).min().alias("bad_row"))
        group_rejects = rejected.join(problems.select(ROW).unique(), on=ROW, how="anti").join(
            first_error, on=group).select(
            pl.col(ROW), pl.lit(group[0]).alias("field"), pl.lit(Problem.DECLARATION_REJECTED.value).alias("code"),
            pl.format("rejected with row {} of the same record: {}", pl.col("bad_row"), pl.col("why"))
            .alias("message"),
        )
        entries = self._quarantine_rows(raw.filter(pl.col(ROW).is_in(rejected.get_column(ROW).implode())),
                                        problems.join(std.select(ROW), on=ROW, how="semi"),
                                        chunk.bad_rows, group_rejects)
        if entries:
            conn.execute(insert(tables.quarantine), entries)

        good = std.join(bad_keys, on=group, how="anti", nulls_equal=True)
        dup_rows = good.with_columns([pl.col(k).cast(pl.String) for k in group]).join(duplicates, on=group,
                                                                                        how="semi")
        new = good.join(dup_rows.select(ROW), on=ROW, how="anti").join(hashes, on=group)
        new = new.with_columns(pl.lit(self.batch_id).alias("batch_id"))
        self._store(conn, new)
        self._settle(conn, good.get_column(ROW),
                     rejected.get_column(ROW).to_list() + [b.row for b in chunk.bad_rows])
        return Outcome(stored=new.height, duplicate=dup_rows.height,
                        quarantined=rejected.height + len(chunk.bad_rows))

    def _store(self, conn: Connection, new: pl.DataFrame) -> None:
        if new.height == 0:
            return
        if self.fmt.kind is not RecordKind.DECLARATIONS:
            copy_rows(conn, self.table, new.rename({ROW: "source_row"}))
            return
        headers = new.sort(ROW).group_by("declaration_id", maintain_order=True).agg(
            pl.all().exclude("item_no").first(), pl.len().alias("n_items"), pl.col(ROW).min().alias("source_row"))
        copy_rows(conn, tables.declarations, headers)
        copy_rows(conn, tables.declaration_items, new.rename({ROW: "source_row"}))
        # Containers belong to items; the declaration's are the union of its items'.
        containers = new.select(
            "declaration_id", pl.col("container_numbers").str.split(";").alias("container_number")
        ).explode("container_number").drop_nulls().unique()
        copy_rows(conn, tables.declaration_containers, containers)

    def _settle(self, conn: Connection, passed: pl.Series, failed: list[int]) -> None:
        """In a replay, marks entries whose rows now pass as resolved, and those failing again as superseded
        by their new entry, so each rejected row has exactly one open entry."""
        if not self.resolves:
            return
        for status, rows in (("resolved", passed.to_list()), ("superseded", failed)):
            ids = [self.resolves[r] for r in rows if r in self.resolves]
            for start in range(0, len(ids), 500):
                conn.execute(update(tables.quarantine).where(tables.quarantine.c.id.in_(ids[start:start + 500]))
                             .values(status=status, resolved_batch_id=self.batch_id))
