"""User accounts, sign-in and API tokens: the service functions behind `cintel users`, the administrator's
users page and the web app.

An account is a person (signs in with a password) or a service account (no password at all, so it cannot
sign in; it is used only through API tokens an administrator issues for it). Passwords are hashed with
argon2id (re-hashed on sign-in when the parameters change); API tokens and session tokens are random and
stored only as their SHA-256. A token is issued by its owner for themself, or by an administrator for a
service account, and keeps who issued it, when, and when it was last used.

Sign-in is throttled so that nobody can lock a known user out: failures count against the pair
(username, address) only. The first ``web_login_free_failures`` cost nothing; then each attempt from that
address waits ``web_login_delay_seconds``, doubled with every further failure, at most
``web_login_max_delay_seconds``. The owner signing in from another address is not slowed; a success clears
the count. Password spraying meets a ceiling per address: ``web_login_address_max_failures`` failures within
``web_login_window_minutes`` refuse the address until the oldest of them leaves the window.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from cintel.domain.roles import Role, UserKind
from cintel.errors import CintelError
from cintel.settings import Settings, get_settings
from cintel.store.web_tables import api_tokens, login_attempts, users, web_sessions

USERNAME = re.compile(r"[A-Za-z0-9._-]{3,64}")
THROTTLED = "throttled"


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
    """A user account request that cannot be honoured (bad name, weak password, unknown user, ...); ``field``
    names the form field at fault, when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TokenRefused(AccountError):
    """A token that this issuer may not issue (for another person, or a service account's own)."""


class LoginFailed(AccountError):
    """Wrong username or password, or a disabled account; deliberately does not say which."""


class LoginThrottled(AccountError):
    """Too many failed sign-ins for a username from this address, or from this address at all: refused
    unchecked for ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class User:
    username: str
    display_name: str
    roles: frozenset[Role]
    disabled: bool
    created_at: datetime
    password_changed_at: datetime
    kind: UserKind = UserKind.PERSON
    created_by: str | None = None

    @property
    def is_service(self) -> bool:
        return self.kind is UserKind.SERVICE

    def to_dict(self) -> dict[str, Any]:
        return {"username": self.username, "display_name": self.display_name, "kind": self.kind.value,
                "roles": sorted(r.value for r in self.roles), "disabled": self.disabled,
                "created_at": self.created_at.isoformat(), "created_by": self.created_by,
                "password_changed_at": None if self.is_service else self.password_changed_at.isoformat()}


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
        raise AccountError(f"username '{username[:80]}' is not valid: use 3 to 64 letters, digits, '.', '_' or '-'",
                           field="username")
    return username.lower()


def parse_roles(roles: Iterable[str]) -> frozenset[Role]:
    parsed = set()
    for code in roles:
        try:
            parsed.add(Role(code))
        except ValueError:
            raise AccountError(f"unknown role '{code[:80]}'; use one of {', '.join(Role.codes())}",
                               field="roles") from None
    if not parsed:
        raise AccountError("a user needs at least one role", field="roles")
    return frozenset(parsed)


def check_password(password: str, settings: Settings | None = None) -> None:
    minimum = (settings or get_settings()).web_password_min_length
    if len(password) < minimum:
        raise AccountError(f"password too short: at least {minimum} characters are required", field="password")
    if len(password) > 1024:
        raise AccountError("password too long: at most 1024 characters", field="password")


def _display_name(display_name: str | None, name: str) -> str:
    return (display_name or name).strip()[:200] or name


def _user(row: Any) -> User:
    return User(username=row.username, display_name=row.display_name,
                roles=frozenset(Role(r) for r in json.loads(row.roles)), disabled=bool(row.disabled),
                created_at=as_utc(row.created_at), password_changed_at=as_utc(row.password_changed_at),
                kind=UserKind(row.kind), created_by=row.created_by)


def _administrator(engine: Engine, username: str) -> User:
    """The enabled administrator (a person) ``username``, or an AccountError saying what they are not."""
    user = get_user(engine, username)
    if user.disabled or user.is_service or Role.ADMINISTRATOR not in user.roles:
        raise AccountError(f"'{user.username}' is not an enabled administrator")
    return user


def _insert_user(engine: Engine, row: dict[str, Any]) -> User:
    try:
        with engine.begin() as conn:
            conn.execute(insert(users).values(**row))
    except IntegrityError:
        raise AccountError(f"user '{row['username']}' already exists", field="username") from None
    return get_user(engine, row["username"])


def add_user(engine: Engine, username: str, password: str, roles: Iterable[str], display_name: str | None = None,
             *, settings: Settings | None = None, created_by: str | None = None) -> User:
    """Creates a person's account; the password is kept only as its argon2id hash. ``created_by`` is the
    administrator doing it on the users page (None: the command line)."""
    name = normalise_username(username)
    parsed = parse_roles(roles)
    check_password(password, settings)
    creator = _administrator(engine, created_by).username if created_by is not None else None
    at = now()
    return _insert_user(engine, {
        "username": name, "display_name": _display_name(display_name, name), "kind": UserKind.PERSON.value,
        "password_hash": _hasher().hash(password), "roles": json.dumps(sorted(r.value for r in parsed)),
        "disabled": False, "created_at": at, "password_changed_at": at, "created_by": creator})


def add_service_account(engine: Engine, username: str, roles: Iterable[str], display_name: str | None = None,
                        *, created_by: str | None = None) -> User:
    """Creates a service account: no password (so no sign-in), used only through API tokens an administrator
    issues for it. ``created_by`` is the administrator doing it on the users page (None: the command line)."""
    name = normalise_username(username)
    parsed = parse_roles(roles)
    creator = _administrator(engine, created_by).username if created_by is not None else None
    at = now()
    return _insert_user(engine, {
        "username": name, "display_name": _display_name(display_name, name), "kind": UserKind.SERVICE.value,
        "password_hash": None, "roles": json.dumps(sorted(r.value for r in parsed)), "disabled": False,
        "created_at": at, "password_changed_at": at, "created_by": creator})


def get_user(engine: Engine, username: str) -> User:
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == username.strip().lower())).first()
    if row is None:
        raise AccountError(f"no user '{username[:80]}'", field="username")
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


def set_roles(engine: Engine, username: str, roles: Iterable[str], *, by: str | None = None) -> User:
    """Replaces an account's roles; they apply to its open sessions and tokens at their next request. An
    administrator cannot take the administrator role from themself (someone must be left to give it back)."""
    user = get_user(engine, username)
    parsed = parse_roles(roles)
    if by is not None and _administrator(engine, by).username == user.username and Role.ADMINISTRATOR not in parsed:
        raise AccountError("you cannot remove your own administrator role: another administrator has to",
                           field="roles")
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == user.username)
                     .values(roles=json.dumps(sorted(r.value for r in parsed))))
    return get_user(engine, user.username)


def disable_user(engine: Engine, username: str, *, by: str | None = None) -> User:
    """Disables an account: it can no longer sign in, and its sessions and tokens stop working. An
    administrator cannot disable themself."""
    user = get_user(engine, username)
    if by is not None and _administrator(engine, by).username == user.username:
        raise AccountError("you cannot disable your own account: another administrator has to")
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == user.username).values(disabled=True))
        conn.execute(web_sessions.delete().where(web_sessions.c.username == user.username))
    return get_user(engine, user.username)


def enable_user(engine: Engine, username: str) -> User:
    """Enables a disabled account again: its password and its tokens that are not revoked work again."""
    user = get_user(engine, username)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == user.username).values(disabled=False))
    return get_user(engine, user.username)


def reset_password(engine: Engine, username: str, password: str, *, settings: Settings | None = None) -> User:
    """Sets a new password and ends the user's open sessions. A service account cannot be given one."""
    user = get_user(engine, username)
    if user.is_service:
        raise AccountError(f"'{user.username}' is a service account: it has no password and cannot be given one",
                           field="password")
    check_password(password, settings)
    with engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == user.username)
                     .values(password_hash=_hasher().hash(password), password_changed_at=now()))
        conn.execute(web_sessions.delete().where(web_sessions.c.username == user.username))
    return get_user(engine, user.username)


# --- sign-in -----------------------------------------------------------------------------------------------------

def pair_delay(failures: int, settings: Settings) -> float:
    """Seconds to wait after ``failures`` consecutive failures for one username from one address."""
    extra = failures - settings.web_login_free_failures
    if extra < 0:
        return 0.0
    # Bounded before exponentiation, so thousands of failures cannot overflow the float.
    return min(settings.web_login_delay_seconds * 2.0 ** min(extra, 64), settings.web_login_max_delay_seconds)


def retry_after(engine: Engine, username: str, address: str, at: datetime, settings: Settings) -> float:
    """Seconds until ``username`` may try to sign in from ``address``; 0 when an attempt is allowed now."""
    window = timedelta(minutes=settings.web_login_window_minutes)
    counted = (login_attempts.c.attempted_at >= at - window) & (login_attempts.c.outcome != THROTTLED) \
        & (login_attempts.c.address == address)
    limit = settings.web_login_address_max_failures
    with engine.connect() as conn:
        # The pair's attempts: a handful, since the growing delay bounds them.
        pair = conn.execute(select(login_attempts.c.attempted_at, login_attempts.c.succeeded)
                            .where(counted & (login_attempts.c.username == username))
                            .order_by(login_attempts.c.attempted_at, login_attempts.c.id)).all()
        latest = conn.execute(select(login_attempts.c.attempted_at).where(counted & ~login_attempts.c.succeeded)
                              .order_by(login_attempts.c.attempted_at.desc()).limit(limit)).scalars().all()
    waits = [0.0]
    if len(latest) >= limit:  # refused until the limit-th latest failure has left the window
        waits.append((as_utc(latest[-1]) + window - at).total_seconds())
    failures: list[datetime] = []
    for attempted_at, succeeded in pair:
        failures = [] if succeeded else [*failures, as_utc(attempted_at)]
    if failures:
        waits.append((failures[-1] + timedelta(seconds=pair_delay(len(failures), settings)) - at).total_seconds())
    return max(waits)


def _record_attempt(engine: Engine, username: str, address: str, outcome: str, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(insert(login_attempts).values(username=username, address=address, attempted_at=at,
                                                   succeeded=outcome == "ok", outcome=outcome))


def verify_login(engine: Engine, username: str, password: str, address: str, *,
                 settings: Settings | None = None) -> User:
    """Checks a sign-in; records the attempt whatever its outcome. Raises LoginThrottled while this username
    must wait at this address (or the address is refused), LoginFailed for a wrong name or password, a
    disabled account or a service account (which has no password)."""
    cfg = settings or get_settings()
    name = username.strip().lower()[:64]
    address = address[:64]
    at = now()
    wait = retry_after(engine, name, address, at, cfg)
    if wait > 0:
        _record_attempt(engine, name, address, THROTTLED, at)
        seconds = math.ceil(wait)
        raise LoginThrottled(f"too many failed sign-ins: wait {seconds} s before trying again", seconds)
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.username == name)).first()
    # Unknown names and service accounts are checked against a dummy hash: every refusal costs the same.
    stored = row.password_hash if row is not None and row.password_hash is not None else _dummy_hash()
    ok: bool
    try:
        ok = _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        ok = False
    outcome = ("unknown_user" if row is None else "service" if row.password_hash is None
               else "disabled" if row.disabled else "ok" if ok else "bad_password")
    _record_attempt(engine, name, address, outcome, at)
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
    issued_by: str
    created_at: datetime

    def to_dict(self) -> dict[str, str]:
        return {"token_id": self.token_id, "token": self.token, "username": self.username, "label": self.label,
                "issued_by": self.issued_by, "created_at": self.created_at.isoformat()}


@dataclass(frozen=True)
class ApiToken:
    """A token as the store keeps it (never the token itself)."""

    token_id: str
    username: str
    label: str
    created_at: datetime
    issued_by: str | None  # None: issued before issuers were recorded
    last_used_at: datetime | None
    revoked: bool
    revoked_at: datetime | None
    revoked_by: str | None

    def to_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {"token_id": self.token_id, "username": self.username, "label": self.label,
                "created_at": iso(self.created_at), "issued_by": self.issued_by,
                "last_used_at": iso(self.last_used_at), "revoked": self.revoked, "revoked_at": iso(self.revoked_at),
                "revoked_by": self.revoked_by}


@dataclass(frozen=True)
class TokenUse:
    """Who a bearer token proves, and which token it was (for the access log)."""

    user: User
    token_id: str


def create_api_token(engine: Engine, username: str, label: str, *, issued_by: str | None = None) -> IssuedToken:
    """Issues a bearer token for ``username``; the raw token is returned once, only its SHA-256 is stored.

    A person's token is issued only by that person (``issued_by`` None or their own name: the caller has
    authenticated them); a service account's only by an enabled administrator. Nobody else may issue one:
    an administrator minting a token for a person could act as them."""
    owner = get_user(engine, username)
    if owner.disabled:
        raise AccountError(f"user '{owner.username}' is disabled", field="username")
    issuer = owner.username if issued_by is None else get_user(engine, issued_by).username
    if owner.is_service:
        if issuer == owner.username:
            raise TokenRefused(f"'{owner.username}' is a service account: an administrator issues its tokens",
                               field="username")
        try:
            _administrator(engine, issuer)
        except AccountError as exc:
            raise TokenRefused(f"only an administrator issues tokens for a service account: {exc}",
                               field="username") from None
    elif issuer != owner.username:
        raise TokenRefused(f"a person's API token is issued only by that person: {owner.username} signs in and "
                           "issues it (administrators issue tokens for service accounts)", field="username")
    label = label.strip()[:200]
    if not label:
        raise AccountError("a token needs a label saying what it is for", field="label")
    token_id, token, at = secrets.token_hex(8), "cin_" + secrets.token_urlsafe(32), now()
    with engine.begin() as conn:
        conn.execute(insert(api_tokens).values(token_id=token_id, token_hash=sha256_hex(token), username=owner.username,
                                               label=label, created_at=at, revoked=False, issued_by=issuer))
    return IssuedToken(token_id=token_id, token=token, username=owner.username, label=label, issued_by=issuer,
                       created_at=at)


def _token(row: Any) -> ApiToken:
    def utc(value: datetime | None) -> datetime | None:
        return as_utc(value) if value is not None else None

    return ApiToken(token_id=row.token_id, username=row.username, label=row.label, created_at=as_utc(row.created_at),
                    issued_by=row.issued_by, last_used_at=utc(row.last_used_at), revoked=bool(row.revoked),
                    revoked_at=utc(row.revoked_at), revoked_by=row.revoked_by)


def list_api_tokens(engine: Engine, username: str | None = None) -> list[ApiToken]:
    """The tokens of ``username`` (None: of everyone), newest first, revoked ones included."""
    q = select(api_tokens).order_by(api_tokens.c.created_at.desc(), api_tokens.c.token_id)
    if username is not None:
        q = q.where(api_tokens.c.username == username.strip().lower())
    with engine.connect() as conn:
        return [_token(r) for r in conn.execute(q)]


def _stored_token(engine: Engine, token_id: str) -> ApiToken | None:
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.token_id == token_id[:32])).first()
    return _token(row) if row is not None else None


def revoke_api_token(engine: Engine, token_id: str, *, by: str | None = None) -> ApiToken:
    """Revokes a token: requests carrying it are refused from now on. ``by`` is who does it, the owner or an
    administrator (None: the command line); to anyone else another's token does not exist."""
    found = _stored_token(engine, token_id)
    revoker = by.strip().lower() if by is not None else None
    if found is not None and revoker is not None and found.username != revoker:
        try:
            _administrator(engine, revoker)
        except AccountError:
            found = None
    if found is None:
        raise AccountError(f"no API token '{token_id[:40]}'")
    with engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.token_id == found.token_id, ~api_tokens.c.revoked)
                     .values(revoked=True, revoked_at=now(), revoked_by=revoker))
    revoked = _stored_token(engine, found.token_id)
    assert revoked is not None
    return revoked


def token_use(engine: Engine, token: str) -> TokenUse | None:
    """The enabled user a live (not revoked) bearer token belongs to, and the token's id; records the use."""
    q = (select(users, api_tokens.c.token_id).join(api_tokens, api_tokens.c.username == users.c.username)
         .where(api_tokens.c.token_hash == sha256_hex(token), ~api_tokens.c.revoked, ~users.c.disabled))
    with engine.connect() as conn:
        row = conn.execute(q).first()
    if row is None:
        return None
    with engine.begin() as conn:
        conn.execute(update(api_tokens).where(api_tokens.c.token_id == row.token_id).values(last_used_at=now()))
    return TokenUse(user=_user(row), token_id=row.token_id)


def user_for_token(engine: Engine, token: str) -> User | None:
    """The enabled user a live (not revoked) bearer token belongs to, or None; records the use."""
    use = token_use(engine, token)
    return use.user if use is not None else None
