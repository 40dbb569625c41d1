"""Tables of entity resolution and screening.

A *party record* is one distinct way a party appears in the sources (a name with the country,
identifiers and contact details given with it); `entity_record_sources` says where each was seen.
Resolution scores pairs of records (`entity_links`, with the match weights that explain them),
clusters them into `entities` and obeys the analysts' `entity_decisions`, which outlive every
re-run. Screening hits against watch lists, and the dispositions analysts give them, are kept
per party record and list entry so a pair judged a false positive does not alert again.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from cintel.store.tables import metadata

entity_records = Table(
    "entity_records",
    metadata,
    Column("record_id", String(32), primary_key=True, comment="hash of the record's entity type and values"),
    Column("entity_type", String(16), nullable=False, comment="company, person or vessel"),
    Column("name", Text, comment="name as given (standardised by ingest)"),
    Column("country", String(2)),
    Column("tax_id", String(64), comment="EORI, VAT or register number"),
    Column("address", Text),
    Column("phone", String(32)),
    Column("email", String(254)),
    Column("iban", String(34)),
    Column("imo", String(7)),
    Column("first_seen", Date, comment="earliest date of a source record that gives it"),
    Column("entity_id", String(32), comment="entities.entity_id it is resolved to; null until resolved"),
    Index("ix_entity_records_entity_id", "entity_id"),
)

entity_record_sources = Table(
    "entity_record_sources",
    metadata,
    Column("source_kind", String(32), primary_key=True, comment="record kind of the source (declarations, ...)"),
    Column("source_key", String(160), primary_key=True, comment="key of the source record"),
    Column("role", String(32), primary_key=True, comment="importer, exporter, payer, director, subject, ..."),
    Column("record_id", String(32), nullable=False, comment="entity_records.record_id"),
    Column("seen_on", Date, comment="date of the source record"),
    Index("ix_entity_record_sources_record_id", "record_id"),
)

entity_links = Table(
    "entity_links",
    metadata,
    Column("record_a", String(32), primary_key=True, comment="the smaller record_id of the pair"),
    Column("record_b", String(32), primary_key=True),
    Column("probability", Double, nullable=False, comment="match probability from the resolution model"),
    Column("match_weight", Double, nullable=False, comment="log2 Bayes factor, summed over the comparisons"),
    Column("explanation", Text, nullable=False, comment="JSON: per compared field, the level reached and its weight"),
    Column("model_id", String(32), nullable=False),
    Index("ix_entity_links_record_b", "record_b"),
)

entity_decisions = Table(
    "entity_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_a", String(32), nullable=False),
    Column("record_b", String(32), nullable=False),
    Column("decision", String(16), nullable=False, comment="same or not_same; overrides the model"),
    Column("reason", Text, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Index("ix_entity_decisions_pair", "record_a", "record_b"),
)

entities = Table(
    "entities",
    metadata,
    Column("entity_id", String(32), primary_key=True),
    Column("entity_type", String(16), nullable=False),
    Column("label", Text, nullable=False, comment="most frequent name among its records"),
    Column("country", String(2)),
    Column("records", Integer, nullable=False),
    Column("first_seen", Date),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

entity_models = Table(
    "entity_models",
    metadata,
    Column("model_id", String(32), primary_key=True, comment="resolution-vN"),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False, comment="active or retired"),
    Column("settings", Text, nullable=False, comment="the trained Splink model (JSON), dialect-neutral"),
    Column("trained_on", Integer, nullable=False, comment="party records the model was trained on"),
    Column("created_by", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

screening_hits = Table(
    "screening_hits",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(32), nullable=False, comment="party record screened"),
    Column("list_name", String(128), nullable=False),
    Column("entry_id", String(128), nullable=False),
    Column("list_version", String(64)),
    Column("score", Double, nullable=False),
    Column("matched_name", Text, nullable=False),
    Column("explanation", Text, nullable=False, comment="JSON: feature -> value behind the score"),
    Column("screened_at", DateTime(timezone=True), nullable=False),
    Column("open", Boolean, nullable=False, comment="false once a disposition is recorded"),
    Index("ix_screening_hits_record", "record_id"),
    Index("ix_screening_hits_entry", "list_name", "entry_id"),
)

screening_dispositions = Table(
    "screening_dispositions",
    metadata,
    Column("record_id", String(32), primary_key=True),
    Column("list_name", String(128), primary_key=True),
    Column("entry_id", String(128), primary_key=True),
    Column("disposition", String(16), nullable=False, comment="true_hit or false_positive"),
    Column("reason", Text, nullable=False),
    Column("decided_by", String(64), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
