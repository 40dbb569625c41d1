"""SQLAlchemy tables, generated from the record formats of `cintel.domain.records`.

Every stored record carries its provenance: the batch that loaded it, the source row, and a
content hash used to recognise the same record when it is ingested again.

The high-volume record tables declare no foreign keys: PostgreSQL checks one with a trigger per
inserted row, which cost 40 % of a bulk load in our benchmark. The loader writes a declaration's
header, items and containers from one frame in one transaction, and `cintel.store.integrity`
verifies the references (`cintel db check`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from cintel.domain.records import (
    DECLARATIONS,
    FORMATS,
    Field,
    FieldKind,
    RecordFormat,
    RecordKind,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

K = FieldKind
_FIXED_WIDTH: dict[FieldKind, int] = {
    K.COUNTRY: 2, K.CURRENCY: 3, K.HS_CODE: 10, K.LOCODE: 5, K.CONTAINER: 11, K.IMO: 7,
    K.IBAN: 34, K.EMAIL: 254, K.PHONE: 16, K.CODE: 32,
}
# Kinds whose text is standardised; the verbatim value is kept beside it when it differs.
RAW_KEPT = frozenset({K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST})


def column_type(f: Field) -> TypeEngine[Any]:
    """SQL type for a field of the domain model."""
    if f.kind in _FIXED_WIDTH:
        return String(_FIXED_WIDTH[f.kind])
    if f.kind is K.ID:
        return String(f.max_length)
    if f.kind in (K.NAME, K.TEXT, K.LIST, K.ENTRY_LIST, K.LOCODE_LIST, K.CONTAINER_LIST):
        return Text()
    if f.kind is K.DATE:
        return Date()
    if f.kind is K.DATETIME:
        return DateTime(timezone=True)
    if f.kind is K.INTEGER:
        return BigInteger()
    if f.kind in (K.DECIMAL, K.LATITUDE, K.LONGITUDE):
        return Double()
    if f.kind is K.BOOLEAN:
        return Boolean()
    raise ValueError(f"no column type for {f.kind}")


def stored_columns(fields: list[Field] | tuple[Field, ...]) -> list[str]:
    """Names of the stored columns for fields, raw twins included, in table order."""
    names: list[str] = []
    for f in fields:
        names.append(f.name)
        if f.kind in RAW_KEPT:
            names.append(f"{f.name}_raw")
    return names


def _field_columns(fields: list[Field] | tuple[Field, ...], key: tuple[str, ...]) -> list[Column[Any]]:
    cols: list[Column[Any]] = []
    for f in fields:
        cols.append(Column(f.name, column_type(f), primary_key=f.name in key, nullable=f.nullable))
        if f.kind in RAW_KEPT:
            cols.append(Column(f"{f.name}_raw", Text(), nullable=True, comment="verbatim value when it differs"))
    return cols


def _provenance() -> list[Column[Any]]:
    return [
        Column("batch_id", Integer, nullable=False, comment="batches.id that loaded the record"),
        Column("source_row", BigInteger, nullable=False, comment="1-based data row in the source file"),
        Column("record_hash", String(32), nullable=False, comment="hash of the standardised record"),
    ]


batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("source_path", Text, nullable=False),
    Column("source_format", String(16), nullable=False),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size_bytes", BigInteger, nullable=False),
    Column("status", String(16), nullable=False, comment="running, completed, interrupted, failed"),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("rows_read", BigInteger, nullable=False, default=0),
    Column("rows_stored", BigInteger, nullable=False, default=0),
    Column("rows_duplicate", BigInteger, nullable=False, default=0, comment="already in the store, identical"),
    Column("rows_quarantined", BigInteger, nullable=False, default=0),
    Column("rows_committed", BigInteger, nullable=False, default=0, comment="source rows fully processed"),
    Column("replay_of", Integer, ForeignKey("batches.id"), comment="batch whose quarantine this replays"),
    Column("error", Text),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("source_row", BigInteger, nullable=False),
    Column("record_key", Text, comment="key of the record the row belongs to, when readable"),
    Column("field", String(64), nullable=False),
    Column("code", String(48), nullable=False, index=True),
    Column("message", Text, nullable=False),
    Column("errors", Text, nullable=False, comment="JSON list of every problem found in the row"),
    Column("raw", Text, nullable=False, comment="the row exactly as read, JSON object or raw text"),
    Column("source_text", Text, comment="the source the row was mapped from, when it is not the row itself "
           "(the segments of an EDIFACT message)"),
    Column("status", String(16), nullable=False, default="open", comment="open or resolved"),
    Column("resolved_batch_id", Integer, ForeignKey("batches.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _record_table(fmt: RecordFormat) -> Table:
    return Table(fmt.table, metadata, *_field_columns(fmt.fields, fmt.key), *_provenance())


declarations = Table(
    DECLARATIONS.table,
    metadata,
    *_field_columns(DECLARATIONS.header_fields, ("declaration_id",)),
    Column("n_items", Integer, nullable=False),
    *_provenance(),
    Index("ix_declarations_date", "declaration_date"),
    Index("ix_declarations_importer_id", "importer_id"),
)

declaration_items = Table(
    DECLARATIONS.item_table,
    metadata,
    Column("declaration_id", String(64), primary_key=True, comment="declarations.declaration_id"),
    *_field_columns(DECLARATIONS.item_fields, DECLARATIONS.key),
    Column("batch_id", Integer, nullable=False, comment="batches.id that loaded the item"),
    Column("source_row", BigInteger, nullable=False),
    Index("ix_declaration_items_hs_code", "hs_code"),
    # The risk queue's HS chapter and origin filters probe a declaration's items from this index alone.
    Index("ix_declaration_items_declaration_hs_origin", "declaration_id", "hs_code", "country_of_origin"),
)

declaration_containers = Table(
    "declaration_containers",
    metadata,
    # Container first: the primary key then also serves "which declarations moved this container".
    Column("container_number", String(11), primary_key=True),
    Column("declaration_id", String(64), primary_key=True, comment="declarations.declaration_id"),
)

record_tables: dict[RecordKind, Table] = {
    kind: _record_table(fmt) for kind, fmt in FORMATS.items() if kind is not RecordKind.DECLARATIONS
}
