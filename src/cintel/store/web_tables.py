"""Tables of the web workspace: user accounts, server-side sessions, API tokens, sign-in attempts
and the log of who viewed what, when and why.

Secrets are never stored: a session is keyed by the SHA-256 of its random cookie token, an API token
by the SHA-256 of the token, a password by its argon2id hash. Roles are a JSON text list, read and
written whole. A service account has no password hash at all: it cannot sign in, only use the API
tokens an administrator issued for it; every token keeps who issued it, when, and when it was last used.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Table, Text

from cintel.store.tables import metadata

users = Table(
    "users",
    metadata,
    Column("username", String(64), primary_key=True, comment="lower case: letters, digits, '.', '_', '-'"),
    Column("display_name", Text, nullable=False),
    Column("password_hash", Text, comment="argon2id hash (PHC string); null for a service account"),
    Column("roles", Text, nullable=False, comment="JSON list of role codes (cintel.domain.roles.Role)"),
    Column("disabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("password_changed_at", DateTime(timezone=True), nullable=False),
    Column("kind", String(16), nullable=False, server_default="person",
           comment="cintel.domain.roles.UserKind: person or service (no password, no sign-in)"),
    Column("created_by", String(64), comment="administrator who created the account; null: the command line"),
    CheckConstraint("(kind = 'service') = (password_hash IS NULL)", name="ck_users_password_iff_person"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True, comment="SHA-256 (hex) of the cookie token; never the token"),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, comment="for the idle expiry"),
    Column("expires_at", DateTime(timezone=True), nullable=False, comment="absolute expiry"),
    Column("csrf_token", String(64), nullable=False, comment="per-session token required on unsafe requests"),
    Index("ix_web_sessions_username", "username"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True, comment="public id, used to revoke"),
    Column("token_hash", String(64), nullable=False, unique=True, comment="SHA-256 (hex) of the bearer token"),
    Column("username", String(64), ForeignKey("users.username"), nullable=False),
    Column("label", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, comment="when it was issued"),
    Column("revoked", Boolean, nullable=False),
    Column("issued_by", String(64), ForeignKey("users.username"),
           comment="who issued it: the owner, or an administrator for a service account; null: not recorded "
                   "(issued before 0011)"),
    Column("last_used_at", DateTime(timezone=True), comment="last request authenticated with it"),
    Column("revoked_at", DateTime(timezone=True)),
    Column("revoked_by", String(64), comment="who revoked it (the owner or an administrator)"),
    Index("ix_api_tokens_username", "username"),
)

login_attempts = Table(
    "login_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, comment="as typed (lower-cased, truncated), known or not"),
    Column("address", String(64), nullable=False, comment="client address"),
    Column("attempted_at", DateTime(timezone=True), nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Column("outcome", String(16), nullable=False,
           comment="ok, bad_password, unknown_user, disabled, service (an account without password) or "
                   "throttled (refused unchecked)"),
    Index("ix_login_attempts_username_time", "username", "attempted_at"),
    Index("ix_login_attempts_address_time", "address", "attempted_at"),
)

access_log = Table(
    "access_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("viewed_at", DateTime(timezone=True), nullable=False),
    Column("object_kind", String(32), nullable=False, comment="queue, declaration, entity, case, ..."),
    Column("object_id", String(128), comment="the object viewed (for the queue: the run id)"),
    Column("purpose", Text, nullable=False, comment="why the user looked, as stated"),
    Column("route", String(256), nullable=False, comment="the page or API route that showed it"),
    Column("token_id", String(32), comment="the API token the request was made with; null: a session or the CLI"),
    Index("ix_access_log_username_time", "username", "viewed_at"),
)
