"""User accounts, sign-in and API tokens: the service functions behind `cintel users` and the web app.

Passwords are hashed with argon2id (re-hashed on sign-in when the parameters change); API tokens
and session tokens are random and stored only as their SHA-256. Sign-in is throttled: after
``web_login_max_failures`` failures for one username or one address within
``web_login_window_minutes``, every attempt is refused unchecked until the window has passed.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from cintel.domain.roles import Role
from cintel.errors import CintelError
from cintel.settings import Settings, get_settings
from cintel.store.web_tables import api_tokens, login_attempts, users

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")


@cache
def _hasher_for(time_cost: int, memory_kib: int) -> tuple[PasswordHasher, str]:
    """The argon2id hasher for these parameters, and a hash checked against when the username is unknown (so
    both cases cost one verification)."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> PasswordHasher:
    s = get_settings()
    return _hasher_for(s.password_hash_time_cost, s.password_hash_memory_kib)[0]


def _dummy_hash() -> str:
    s = get_settings()
    return _hasher_for(s.password_hash_time_cost, s.password_hash_memory_kib)[1]


class AccountError(CintelError):
    """A user account request that cannot be honoured (bad name, weak password, unknown user, ...)."""


class LoginFailed(AccountError):
    """Wrong username or password, or a disabled account; deliberately does not say which."""


class LoginThrottled(AccountError):
    """Too many failed sign-ins for a username or an address: refused until the window passes."""


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    roles: frozenset[Role]
    disabled: bool
    created_at: datetime
    password_changed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name,
                "roles": sorted(r.value for r in self.roles), "disabled": self.disabled,
                "created_at": self.created_at.isoformat(), "password_changed_at": self.password_changed_at.isoformat()}


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    """Usernames are case-insensitive: letters, digits, '.', '_' and '-', 3 to 64 characters."""
    if not USERNAME.fullmatch(username):
        raise AccountError(f"username '{username[:80]}' is not valid: use 3 to 64 letters, digits, '.', '_' or '-'")
    return username.lower()


def parse_roles(roles: Iterable[str]) -> frozenset[Role]:
    parsed = set()
    for code in roles:
        try:
            parsed.add(Role(code))
        except ValueError:
            raise AccountError(f"unknown role '{code}'; use one of {', '.join(Role.codes())}") from None
    if not parsed:
        raise AccountError("a user needs at least one role")
    return frozenset(parsed)


def check_password(password: str, settings: Settings | None = None) -> None:
    minimum = (settings or get_settings()).web_password_min_length
    if len(password) < minimum:
        raise AccountError(f"password too short: at least {minimum} characters are required")
    if len(password) > 1024:
        raise AccountError("password too long: at most 1024 characters")


def _user(row: Any) -> User:
    return User(username=row.username, display_name=row.display_name,
                roles=frozenset(Role(r) for r in json.loads(row.roles)), disabled=bool(row.disabled),
                created_at=as_utc(row.created_at), password_changed_at=as_utc(row.password_changed_at))


def add_user(engine: Engine, username: str, password: str, roles: Iterable[str], display_name: str | None = None,
             *, settings: Settings | None = None) -> User:
    """Creates an account; the password is kept only as its argon2id hash."""
    name = normalise_username(username)
    parsed = parse_roles(roles)
    check_password(password, settings)
    at = now()
    row = {"username": name, "display_name": (display_name or name).strip()[:200] or name,
           "password_hash": _hasher().hash(password), "roles": json.dumps(sorted(r.value for r in parsed)),
           "disabled": False, "created_at": at, "password_changed_at": at}
    try:
        with engine.begin() as conn:
            conn.execute(insert(users).values(**row))
    except IntegrityError:
        raise AccountError(f"user '{name}' already exists") from None
    return get_user(engine, name)


def get_user(engine: Engine, username: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username.lower())).first()
    if row is None:
        raise AccountError(f"no user '{username[:80]}'")
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def disable_user(engine: Engine, username: str) -> User:
    """Disables an account: it can no longer sign in, and its sessions and tokens stop working."""
    from cintel.store.web_tables import web_sessions

    user = get_user(engine, username)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == user.username).values(disabled=True))
        conn.execute(web_sessions.delete().where(web_sessions.c.username == user.username))
    return get_user(engine, user.username)


def reset_password(engine: Engine, username: str, password: str, *, settings: Settings | None = None) -> User:
    """Sets a new password and ends the user's open sessions."""
    from cintel.store.web_tables import web_sessions

    user = get_user(engine, username)
    check_password(password, settings)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == user.username)
                     .values(password_hash=_hasher().hash(password), password_changed_at=now()))
        conn.execute(web_sessions.delete().where(web_sessions.c.username == user.username))
    return get_user(engine, user.username)


def _recent_failures(engine: Engine, username: str, address: str, since: datetime) -> int:
    failed = (login_attempts.c.attempted_at >= since) & ~login_attempts.c.succeeded \
        & (login_attempts.c.outcome != "throttled")
    q = select(login_attempts.c.username, login_attempts.c.address).where(
        failed & or_(login_attempts.c.username == username, login_attempts.c.address == address))
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    by_user = sum(1 for r in rows if r.username == username)
    by_address = sum(1 for r in rows if r.address == address)
    return max(by_user, by_address)


def _record_attempt(engine: Engine, username: str, address: str, outcome: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(login_attempts).values(username=username, address=address, attempted_at=now(),
                                                   succeeded=outcome == "ok", outcome=outcome))


def verify_login(engine: Engine, username: str, password: str, address: str, *,
                 settings: Settings | None = None) -> User:
    """Checks a sign-in; records the attempt whatever its outcome. Raises LoginThrottled while too many
    recent attempts failed for this username or address, LoginFailed for a wrong name or password."""
    cfg = settings or get_settings()
    name = username.strip().lower()[:64]
    address = address[:64]
    window = timedelta(minutes=cfg.web_login_window_minutes)
    if _recent_failures(engine, name, address, now() - window) >= cfg.web_login_max_failures:
        _record_attempt(engine, name, address, "throttled")
        raise LoginThrottled(f"too many failed sign-ins for this account or address: sign-in is refused "
                             f"until {cfg.web_login_window_minutes:g} minutes have passed without failures")
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == name)).first()
    stored = row.password_hash if row is not None else _dummy_hash()
    ok: bool
    try:
        ok = _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    outcome = "ok" if ok and row is not None and not row.disabled else (
        "unknown_user" if row is None else "disabled" if row.disabled else "bad_password")
    _record_attempt(engine, name, address, outcome)
    if outcome != "ok" or row is None:
        raise LoginFailed("wrong username or password")
    if _hasher().check_needs_rehash(stored):
        with engine.begin() as conn:
            conn.execute(update(users).where(users.c.username == name).values(password_hash=_hasher().hash(password)))
    return _user(row)


# --- API tokens --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedToken:
    token_id: str
    token: str  # shown once, never stored
    username: str
    label: str

    def to_dict(self) -> dict[str, str]:
        return {"token_id": self.token_id, "token": self.token, "username": self.username, "label": self.label}


def create_api_token(engine: Engine, username: str, label: str) -> IssuedToken:
    """Issues a bearer token for a user; the raw token is returned once, only its SHA-256 is stored."""
    user = get_user(engine, username)
    if user.disabled:
        raise AccountError(f"user '{user.username}' is disabled")
    label = label.strip()[:200]
    if not label:
        raise AccountError("a token needs a label saying what it is for")
    token_id, token = secrets.token_hex(8), "cin_" + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(insert(api_tokens).values(token_id=token_id, token_hash=sha256_hex(token), username=user.username,
                                               label=label, created_at=now(), revoked=False))
    return IssuedToken(token_id=token_id, token=token, username=user.username, label=label)


def revoke_api_token(engine: Engine, token_id: str) -> None:
    with engine.begin() as conn:
        done = conn.execute(update(api_tokens).where(api_tokens.c.token_id == token_id).values(revoked=True))
    if done.rowcount == 0:
        raise AccountError(f"no API token '{token_id[:40]}'")


def user_for_token(engine: Engine, token: str) -> User | None:
    """The enabled user a live (not revoked) bearer token belongs to, or None."""
    q = (select(users).join(api_tokens, api_tokens.c.username == users.c.username)
         .where(api_tokens.c.token_hash == sha256_hex(token), ~api_tokens.c.revoked, ~users.c.disabled))
    with engine.connect() as conn:
        row = conn.execute(q).first()
    return _user(row) if row is not None else None
