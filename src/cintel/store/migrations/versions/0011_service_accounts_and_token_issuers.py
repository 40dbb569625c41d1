"""service accounts and token issuers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

Accounts get a kind: a person signs in with a password; a service account has no password hash at
all (the check constraint makes one imply the other) and is used only through API tokens. Tokens keep
who issued them, when they were last used and who revoked them; tokens issued before this revision
keep a null issuer ("not recorded"). The access log says which API token a request was made with.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

OUTCOME_BEFORE = "ok, bad_password, unknown_user, disabled or throttled (refused unchecked)"
OUTCOME_AFTER = ("ok, bad_password, unknown_user, disabled, service (an account without password) or "
                 "throttled (refused unchecked)")
HASH_COMMENT_BEFORE = "argon2id hash (PHC string)"
HASH_COMMENT_AFTER = "argon2id hash (PHC string); null for a service account"
# Not a PHC string: argon2 refuses it, so a service account kept through a downgrade cannot sign in.
UNUSABLE_HASH = "!service-account"


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), server_default="person", nullable=False,
                                      comment="cintel.domain.roles.UserKind: person or service (no password, "
                                              "no sign-in)"))
        batch_op.add_column(sa.Column("created_by", sa.String(length=64), nullable=True,
                                      comment="administrator who created the account; null: the command line"))
        batch_op.alter_column("password_hash", existing_type=sa.Text(), nullable=True,
                              comment=HASH_COMMENT_AFTER, existing_comment=HASH_COMMENT_BEFORE)
        batch_op.create_check_constraint("ck_users_password_iff_person",
                                         "(kind = 'service') = (password_hash IS NULL)")

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.alter_column("created_at", existing_type=sa.DateTime(timezone=True), existing_nullable=False,
                              comment="when it was issued")
        batch_op.add_column(sa.Column(
            "issued_by", sa.String(length=64), nullable=True,
            comment="who issued it: the owner, or an administrator for a service account; null: not recorded "
                    "(issued before 0011)"))
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True,
                                      comment="last request authenticated with it"))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_by", sa.String(length=64), nullable=True,
                                      comment="who revoked it (the owner or an administrator)"))
        batch_op.create_foreign_key(op.f("fk_api_tokens_issued_by_users"), "users", ["issued_by"], ["username"])
        batch_op.create_index("ix_api_tokens_username", ["username"], unique=False)

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_id", sa.String(length=32), nullable=True,
                                      comment="the API token the request was made with; null: a session or the CLI"))

    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=16), existing_nullable=False,
                              comment=OUTCOME_AFTER, existing_comment=OUTCOME_BEFORE)


def downgrade() -> None:
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.alter_column("outcome", existing_type=sa.String(length=16), existing_nullable=False,
                              comment=OUTCOME_BEFORE, existing_comment=OUTCOME_AFTER)

    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_column("token_id")

    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_api_tokens_username")
        batch_op.drop_constraint(op.f("fk_api_tokens_issued_by_users"), type_="foreignkey")
        batch_op.drop_column("revoked_by")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("issued_by")
        batch_op.alter_column("created_at", existing_type=sa.DateTime(timezone=True), existing_nullable=False,
                              comment=None, existing_comment="when it was issued")

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("ck_users_password_iff_person", type_="check")
    op.execute(sa.text("UPDATE users SET password_hash = :unusable WHERE password_hash IS NULL")
               .bindparams(unusable=UNUSABLE_HASH))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("password_hash", existing_type=sa.Text(), nullable=False,
                              comment=HASH_COMMENT_BEFORE, existing_comment=HASH_COMMENT_AFTER)
        batch_op.drop_column("created_by")
        batch_op.drop_column("kind")
