"""watch-list releases

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 09:00:00

A watch list is a dataset with releases: `watchlists` (the release in force), `watchlist_releases`
(what each release added, changed, delisted, kept as context or skipped), `watchlist_entities` (the
publisher's entities as last released, which a delta file applies to), `watchlist_context` (non-target
entities kept beside an entry) and `watchlist_delistings` (entries a release removed, dated). Entries
carry their sanction details (authority, end of listing, reason, topics, source URL); a screening hit
closed because its entry was delisted says so.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RAW = "verbatim value when it differs"
ENTRY_COLUMNS: list[tuple[str, sa.types.TypeEngine[str], str | None]] = [
    ("authority", sa.Text(), None),
    ("authority_raw", sa.Text(), RAW),
    ("listed_until", sa.String(length=10), None),
    ("reason", sa.Text(), None),
    ("reason_raw", sa.Text(), RAW),
    ("topics", sa.Text(), None),
    ("topics_raw", sa.Text(), RAW),
    ("source_url", sa.Text(), None),
    ("source_url_raw", sa.Text(), RAW),
]


def _count(name: str, comment: str | None = None) -> sa.Column[int]:
    return sa.Column(name, sa.Integer(), nullable=False, comment=comment)


def upgrade() -> None:
    with op.batch_alter_table("watchlist_entries", schema=None) as batch_op:
        for name, kind, comment in ENTRY_COLUMNS:
            batch_op.add_column(sa.Column(name, kind, nullable=True, comment=comment))
    with op.batch_alter_table("screening_hits", schema=None) as batch_op:
        batch_op.alter_column("open", existing_type=sa.Boolean(), existing_nullable=False,
                              comment="false once a disposition is recorded or the entry delisted")
        batch_op.add_column(sa.Column("closed_reason", sa.Text(), nullable=True,
                                      comment="why the hit was closed without a disposition (the entry was delisted)"))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "watchlists",
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("source", sa.Text(), nullable=True,
                  comment="publisher's datasets the list's releases come from, ';'-joined"),
        sa.Column("current_version", sa.String(length=64), nullable=True, comment="version of the release in force"),
        sa.Column("current_release", sa.Integer(), nullable=True, comment="watchlist_releases.id in force"),
        sa.Column("entries", sa.Integer(), nullable=False, comment="entries listed now"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("list_name", name=op.f("pk_watchlists")),
    )
    op.create_table(
        "watchlist_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("mode", sa.String(length=8), nullable=False,
                  comment="full (replaces the list) or delta (ADD/MOD/DEL)"),
        sa.Column("sha256", sa.String(length=64), nullable=False,
                  comment="of the file: the same file is one release per list"),
        sa.Column("batch_id", sa.Integer(), nullable=False,
                  comment="batches.id of the import (provenance, quarantine)"),
        sa.Column("source_path", sa.Text(), nullable=False),
        sa.Column("source_format", sa.String(length=16), nullable=False),
        _count("lines", "lines (or rows) of the file, every one accounted for"),
        _count("blank"),
        _count("quarantined", "lines that could not be used"),
        _count("operations", "delta operations applied"),
        _count("unknown_deletes", "DEL of an entity the list did not hold"),
        _count("entries", "entries listed after the release"),
        _count("added"),
        _count("changed"),
        _count("unchanged"),
        _count("delisted"),
        _count("kept", "targets whose new version could not be used: old one kept"),
        _count("non_targets_context", "non-target parties kept as context"),
        _count("non_targets_skipped", "non-target parties tied to no target"),
        sa.Column("schemata", sa.Text(), nullable=False, comment="JSON: other schema -> {context, skipped}"),
        _count("hits_closed", "open hits on delisted entries closed"),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_releases")),
    )
    op.create_index("ix_watchlist_releases_list_name_sha256", "watchlist_releases", ["list_name", "sha256"])
    op.create_table(
        "watchlist_entities",
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("entity_id", sa.String(length=128), nullable=False),
        sa.Column("schema", sa.String(length=64), nullable=False),
        sa.Column("data", sa.Text(), nullable=False,
                  comment="the FtM entity as released (JSON, values cut to 4,096 chars)"),
        sa.Column("release_id", sa.Integer(), nullable=False, comment="release that last gave it"),
        sa.PrimaryKeyConstraint("list_name", "entity_id", name=op.f("pk_watchlist_entities")),
    )
    op.create_table(
        "watchlist_context",
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False, comment="the entry it belongs to"),
        sa.Column("entity_id", sa.String(length=128), nullable=False, comment="the non-target entity"),
        sa.Column("schema", sa.String(length=64), nullable=False, comment="Address, Sanction, Ownership, Person, ..."),
        sa.Column("relation", sa.String(length=160), nullable=False,
                  comment="the property that ties it (Ownership.owner, ...)"),
        sa.Column("caption", sa.Text(), nullable=True),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("list_name", "entry_id", "entity_id", name=op.f("pk_watchlist_context")),
    )
    op.create_table(
        "watchlist_delistings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_name", sa.String(length=128), nullable=False),
        sa.Column("entry_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("entity_type", sa.String(length=16), nullable=True),
        sa.Column("delisted_on", sa.Date(), nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False, comment="release that no longer held it"),
        sa.Column("version", sa.String(length=64), nullable=True, comment="version of that release"),
        sa.Column("entry", sa.Text(), nullable=False, comment="JSON: the entry as it was last listed"),
        sa.Column("relisted_in_release", sa.Integer(), nullable=True, comment="a later release that listed it again"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_delistings")),
    )
    op.create_index("ix_watchlist_delistings_list_name_entry_id", "watchlist_delistings", ["list_name", "entry_id"])


def downgrade() -> None:
    op.drop_index("ix_watchlist_delistings_list_name_entry_id", table_name="watchlist_delistings")
    op.drop_table("watchlist_delistings")
    op.drop_table("watchlist_context")
    op.drop_table("watchlist_entities")
    op.drop_index("ix_watchlist_releases_list_name_sha256", table_name="watchlist_releases")
    op.drop_table("watchlist_releases")
    op.drop_table("watchlists")
    with op.batch_alter_table("screening_hits", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("closed_reason")
        batch_op.alter_column("open", existing_type=sa.Boolean(), existing_nullable=False,
                              comment="false once a disposition is recorded")
    with op.batch_alter_table("watchlist_entries", schema=None) as batch_op:
        for name, _, _ in reversed(ENTRY_COLUMNS):
            batch_op.drop_column(name)
