"""Tables of entity resolution and screening.

A *party record* is one distinct way a party appears in the sources (a name with the country,
identifiers and contact details given with it); `entity_record_sources` says where each was seen.
Resolution scores pairs of records (`entity_links`, with the match weights that explain them),
clusters them into `entities` and obeys the analysts' `entity_decisions`, which outlive every
re-run. Screening hits against watch lists, and the dispositions analysts give them, are kept
per party record and list entry so a pair judged a false positive does not alert again.

Watch lists are datasets with releases (`cintel.entities.watchlists`): `watchlists` holds each list's
current release, `watchlist_releases` what every release changed, `watchlist_entities` the
publisher's entities as last released (a delta file applies to them), `watchlist_context` the
non-target entities kept beside an entry, and `watchlist_delistings` the entries a release removed.
`watchlist_entries` (a record table, `cintel.store.tables`) holds only the entries listed now.
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
    Column("identifiers", Text,
           comment="every identifier the record gives (tax, VAT, EORI, register, ...), ';'-joined"),
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
    Column("open", Boolean, nullable=False, comment="false once a disposition is recorded or the entry delisted"),
    Column("closed_reason", Text, comment="why the hit was closed without a disposition (the entry was delisted)"),
    Column("closed_at", DateTime(timezone=True)),
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

watchlists = Table(
    "watchlists",
    metadata,
    Column("list_name", String(128), primary_key=True),
    Column("source", Text, comment="publisher's datasets the list's releases come from, ';'-joined"),
    Column("current_version", String(64), comment="version of the release in force"),
    Column("current_release", Integer, comment="watchlist_releases.id in force"),
    Column("entries", Integer, nullable=False, comment="entries listed now"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

watchlist_releases = Table(
    "watchlist_releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", String(128), nullable=False),
    Column("version", String(64)),
    Column("mode", String(8), nullable=False, comment="full (replaces the list) or delta (ADD/MOD/DEL)"),
    Column("sha256", String(64), nullable=False, comment="of the file: the same file is one release per list"),
    Column("batch_id", Integer, nullable=False, comment="batches.id of the import (provenance, quarantine)"),
    Column("source_path", Text, nullable=False),
    Column("source_format", String(16), nullable=False),
    Column("lines", Integer, nullable=False, comment="lines (or rows) of the file, every one accounted for"),
    Column("blank", Integer, nullable=False),
    Column("quarantined", Integer, nullable=False, comment="lines that could not be used"),
    Column("operations", Integer, nullable=False, comment="delta operations applied"),
    Column("unknown_deletes", Integer, nullable=False, comment="DEL of an entity the list did not hold"),
    Column("entries", Integer, nullable=False, comment="entries listed after the release"),
    Column("added", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("unchanged", Integer, nullable=False),
    Column("delisted", Integer, nullable=False),
    Column("kept", Integer, nullable=False, comment="targets whose new version could not be used: old one kept"),
    Column("non_targets_context", Integer, nullable=False, comment="non-target parties kept as context"),
    Column("non_targets_skipped", Integer, nullable=False, comment="non-target parties tied to no target"),
    Column("schemata", Text, nullable=False, comment="JSON: other schema -> {context, skipped}"),
    Column("hits_closed", Integer, nullable=False, comment="open hits on delisted entries closed"),
    Column("imported_by", String(64), nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Index("ix_watchlist_releases_list_name_sha256", "list_name", "sha256"),
)

watchlist_entities = Table(
    "watchlist_entities",
    metadata,
    Column("list_name", String(128), primary_key=True),
    Column("entity_id", String(128), primary_key=True),
    Column("schema", String(64), nullable=False),
    Column("data", Text, nullable=False, comment="the FtM entity as released (JSON, values cut to 4,096 chars)"),
    Column("release_id", Integer, nullable=False, comment="release that last gave it"),
)

watchlist_context = Table(
    "watchlist_context",
    metadata,
    Column("list_name", String(128), primary_key=True),
    Column("entry_id", String(128), primary_key=True, comment="the entry it belongs to"),
    Column("entity_id", String(128), primary_key=True, comment="the non-target entity"),
    Column("schema", String(64), nullable=False, comment="Address, Sanction, Ownership, Person, ..."),
    Column("relation", String(160), nullable=False, comment="the property that ties it (Ownership.owner, ...)"),
    Column("caption", Text),
    Column("release_id", Integer, nullable=False),
)

watchlist_delistings = Table(
    "watchlist_delistings",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("list_name", String(128), nullable=False),
    Column("entry_id", String(128), nullable=False),
    Column("name", Text),
    Column("entity_type", String(16)),
    Column("delisted_on", Date, nullable=False),
    Column("release_id", Integer, nullable=False, comment="release that no longer held it"),
    Column("version", String(64), comment="version of that release"),
    Column("entry", Text, nullable=False, comment="JSON: the entry as it was last listed"),
    Column("relisted_in_release", Integer, comment="a later release that listed it again"),
    Index("ix_watchlist_delistings_list_name_entry_id", "list_name", "entry_id"),
)
