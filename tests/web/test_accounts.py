"""Account services: names, password policy, argon2id hashes, service accounts, tokens kept only as hashes
and issued only by their owner (or an administrator, for a service account), and the sign-in throttle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from cintel.domain.roles import Role, UserKind
from cintel.errors import CintelError
from cintel.settings import Settings, get_settings
from cintel.store.web_tables import api_tokens, login_attempts, users
from cintel.web.accounts import (
    AccountError,
    LoginFailed,
    LoginThrottled,
    TokenRefused,
    add_service_account,
    add_user,
    create_api_token,
    disable_user,
    list_api_tokens,
    list_users,
    pair_delay,
    reset_password,
    revoke_api_token,
    set_roles,
    token_use,
    user_for_token,
    verify_login,
)
from tests.web.conftest import PASSWORD


def test_a_user_is_stored_with_an_argon2id_hash(engine: Engine) -> None:
    user = add_user(engine, "Ann.Lee", PASSWORD, ["analyst", "supervisor"])
    assert user.username == "ann.lee"
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert [u.username for u in list_users(engine)] == ["ann.lee"]


@pytest.mark.parametrize("name", ["ab", "a" * 65, "ann lee", "ann/../x", "<b>", "ann@x"])
def test_bad_usernames_are_refused(engine: Engine, name: str) -> None:
    with pytest.raises(AccountError, match="username"):
        add_user(engine, name, PASSWORD, ["analyst"])


def test_short_passwords_unknown_roles_and_duplicates_are_refused(engine: Engine) -> None:
    with pytest.raises(AccountError, match="at least 12"):
        add_user(engine, "ann", "elevenchars", ["analyst"])
    with pytest.raises(AccountError, match="unknown role 'god'"):
        add_user(engine, "ann", PASSWORD, ["god"])
    add_user(engine, "ann", PASSWORD, ["analyst"])
    with pytest.raises(AccountError, match="already exists"):
        add_user(engine, "ANN", PASSWORD, ["analyst"])
    assert issubclass(AccountError, CintelError)


def test_a_password_hashed_with_old_parameters_is_rehashed_on_sign_in(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with engine.begin() as conn:
        conn.execute(update(users).values(password_hash=weak))
    verify_login(engine, "ann", PASSWORD, "10.0.0.1")
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert stored != weak
    configured = get_settings()
    assert not PasswordHasher(time_cost=configured.password_hash_time_cost,
                              memory_cost=configured.password_hash_memory_kib).check_needs_rehash(stored)


def test_disabled_users_cannot_sign_in_nor_use_tokens(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    issued = create_api_token(engine, "ann", "etl")
    assert user_for_token(engine, issued.token) is not None
    disable_user(engine, "ann")
    with pytest.raises(LoginFailed):
        verify_login(engine, "ann", PASSWORD, "10.0.0.1")
    assert user_for_token(engine, issued.token) is None


def test_a_reset_password_replaces_the_old_one(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    reset_password(engine, "ann", "a brand new passphrase")
    with pytest.raises(LoginFailed):
        verify_login(engine, "ann", PASSWORD, "10.0.0.1")
    assert verify_login(engine, "ann", "a brand new passphrase", "10.0.0.1").username == "ann"


def test_only_the_hash_of_an_api_token_is_stored(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    issued = create_api_token(engine, "ann", "etl")
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens)).mappings().one()
    assert issued.token not in row.values()
    assert row["token_hash"] != issued.token
    assert len(row["token_hash"]) == 64


# --- service accounts --------------------------------------------------------------------------------------------

def test_a_service_account_has_no_password_and_cannot_sign_in(engine: Engine) -> None:
    robot = add_service_account(engine, "etl-bot", ["analyst"], "Nightly export")
    assert robot.kind is UserKind.SERVICE
    with engine.connect() as conn:
        assert conn.execute(select(users.c.password_hash)).scalar_one() is None
    for guess in ("", "anything at all here", "None"):
        with pytest.raises(LoginFailed, match="wrong username or password"):
            verify_login(engine, "etl-bot", guess, "10.0.0.1")
    with engine.connect() as conn:
        outcomes = conn.execute(select(login_attempts.c.outcome)).scalars().all()
    assert outcomes == ["service"] * 3


def test_a_service_account_cannot_be_given_a_password(engine: Engine) -> None:
    add_service_account(engine, "etl-bot", ["analyst"])
    with pytest.raises(AccountError, match="service account"):
        reset_password(engine, "etl-bot", PASSWORD)
    with engine.connect() as conn:
        assert conn.execute(select(users.c.password_hash)).scalar_one() is None


def test_the_store_refuses_a_person_without_a_password_or_a_service_account_with_one(engine: Engine) -> None:
    at = datetime.now(UTC)
    row = {"display_name": "x", "roles": '["analyst"]', "disabled": False, "created_at": at,
           "password_changed_at": at}
    for bad in ({"username": "nopass", "kind": "person", "password_hash": None},
                {"username": "haspass", "kind": "service", "password_hash": "$argon2id$v=19$m=8,t=1,p=1$x$y"}):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert(users).values(**row, **bad))


# --- who may issue a token ---------------------------------------------------------------------------------------

def test_a_person_issues_their_own_token_and_the_issuer_and_time_are_kept(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    before = datetime.now(UTC)
    issued = create_api_token(engine, "ann", "etl", issued_by="ANN")
    [stored] = list_api_tokens(engine, "ann")
    assert (stored.token_id, stored.issued_by, stored.label, stored.revoked) == (issued.token_id, "ann", "etl", False)
    assert before <= stored.created_at <= datetime.now(UTC)
    assert stored.last_used_at is None


def test_an_administrator_cannot_issue_a_token_for_a_person(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    add_user(engine, "ada", PASSWORD, ["administrator"])
    with pytest.raises(TokenRefused, match="issued only by that person"):
        create_api_token(engine, "ann", "act as ann", issued_by="ada")
    assert list_api_tokens(engine) == []


def test_only_an_administrator_issues_a_service_accounts_tokens(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    add_user(engine, "ada", PASSWORD, ["administrator"])
    add_service_account(engine, "etl-bot", ["analyst"])
    with pytest.raises(TokenRefused, match="administrator"):
        create_api_token(engine, "etl-bot", "nightly", issued_by="ann")
    with pytest.raises(TokenRefused, match="an administrator issues its tokens"):
        create_api_token(engine, "etl-bot", "nightly")  # the account itself
    disable_user(engine, "ada")
    with pytest.raises(TokenRefused, match="not an enabled administrator"):
        create_api_token(engine, "etl-bot", "nightly", issued_by="ada")
    add_user(engine, "bea", PASSWORD, ["administrator"])
    issued = create_api_token(engine, "etl-bot", "nightly", issued_by="bea")
    assert (issued.username, issued.issued_by) == ("etl-bot", "bea")
    assert user_for_token(engine, issued.token) is not None


def test_every_use_of_a_token_is_recorded_with_its_id(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    issued = create_api_token(engine, "ann", "etl")
    use = token_use(engine, issued.token)
    assert use is not None
    assert (use.user.username, use.token_id) == ("ann", issued.token_id)
    [stored] = list_api_tokens(engine, "ann")
    assert stored.last_used_at is not None
    assert token_use(engine, "cin_not-a-token") is None


def test_a_token_is_revoked_by_its_owner_or_an_administrator_who_are_recorded(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    add_user(engine, "ivan", PASSWORD, ["inspector"])
    add_user(engine, "ada", PASSWORD, ["administrator"])
    anns = create_api_token(engine, "ann", "etl")
    with pytest.raises(AccountError, match="no API token"):  # someone else's token does not exist for ivan
        revoke_api_token(engine, anns.token_id, by="ivan")
    assert user_for_token(engine, anns.token) is not None
    revoked = revoke_api_token(engine, anns.token_id, by="ada")
    assert (revoked.revoked, revoked.revoked_by) == (True, "ada")
    assert revoked.revoked_at is not None
    assert user_for_token(engine, anns.token) is None
    own = create_api_token(engine, "ivan", "handheld")
    assert revoke_api_token(engine, own.token_id, by="ivan").revoked_by == "ivan"


def test_an_administrator_keeps_their_own_administrator_role_and_account(engine: Engine) -> None:
    add_user(engine, "ada", PASSWORD, ["administrator"])
    with pytest.raises(AccountError, match="own administrator role") as refused:
        set_roles(engine, "ada", ["analyst"], by="ada")
    assert refused.value.field == "roles"
    with pytest.raises(AccountError, match="own account"):
        disable_user(engine, "ada", by="ada")
    assert set_roles(engine, "ada", ["administrator", "supervisor"], by="ada").roles == {
        Role.ADMINISTRATOR, Role.SUPERVISOR}


# --- sign-in throttle --------------------------------------------------------------------------------------------

THROTTLE = Settings(web_login_free_failures=3, web_login_delay_seconds=2, web_login_max_delay_seconds=60,
                    web_login_address_max_failures=20)


def age_attempts(engine: Engine, seconds: float) -> None:
    """Moves every recorded sign-in attempt ``seconds`` into the past (in Python: SQLite has no date arithmetic
    on stored timestamps)."""
    with engine.begin() as conn:
        for row in conn.execute(select(login_attempts.c.id, login_attempts.c.attempted_at)).all():
            conn.execute(update(login_attempts).where(login_attempts.c.id == row.id)
                         .values(attempted_at=row.attempted_at - timedelta(seconds=seconds)))


def fail(engine: Engine, username: str, address: str, times: int = 1) -> None:
    for _ in range(times):
        with pytest.raises(LoginFailed):
            verify_login(engine, username, "not the password at all", address, settings=THROTTLE)


def test_the_wait_doubles_with_each_failure_past_the_free_ones_up_to_the_cap() -> None:
    assert [pair_delay(n, THROTTLE) for n in range(8)] == [0, 0, 0, 2, 4, 8, 16, 32]
    assert pair_delay(9, THROTTLE) == pair_delay(10_000, THROTTLE) == 60


def test_an_attacker_cannot_lock_a_known_user_out(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    fail(engine, "ann", "203.0.113.9", times=3)
    with pytest.raises(LoginThrottled) as wait:
        verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE)
    assert wait.value.retry_after == 2
    # Ann, from her own address, is neither refused nor slowed.
    assert verify_login(engine, "ann", PASSWORD, "198.51.100.7", settings=THROTTLE).username == "ann"


def test_the_wait_passes_and_then_grows(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    fail(engine, "ann", "203.0.113.9", times=3)
    age_attempts(engine, 2.5)  # the 2 s wait has passed: one more try, wrong again
    fail(engine, "ann", "203.0.113.9")
    with pytest.raises(LoginThrottled) as wait:
        verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE)
    assert wait.value.retry_after == 4
    age_attempts(engine, 4.5)
    assert verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE).username == "ann"
    fail(engine, "ann", "203.0.113.9", times=3)  # the success cleared the count: three free failures again


def test_refused_attempts_are_recorded_but_do_not_lengthen_the_wait(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    fail(engine, "ann", "203.0.113.9", times=3)
    for _ in range(5):
        with pytest.raises(LoginThrottled):
            verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE)
    age_attempts(engine, 2.5)
    assert verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE).username == "ann"
    with engine.connect() as conn:
        outcomes = conn.execute(select(login_attempts.c.outcome).order_by(login_attempts.c.id)).scalars().all()
    assert outcomes == ["bad_password"] * 3 + ["throttled"] * 5 + ["ok"]


def test_unknown_usernames_are_throttled_like_known_ones(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    fail(engine, "ann", "203.0.113.9", times=3)
    fail(engine, "nobody", "203.0.113.9", times=3)
    for name in ("ann", "nobody"):
        with pytest.raises(LoginThrottled) as wait:
            verify_login(engine, name, PASSWORD, "203.0.113.9", settings=THROTTLE)
        assert wait.value.retry_after == 2


def test_password_spraying_from_one_address_is_refused_until_the_window_passes(engine: Engine) -> None:
    add_user(engine, "ann", PASSWORD, ["analyst"])
    for i in range(20):
        fail(engine, f"user{i:02d}", "203.0.113.9")
    with pytest.raises(LoginThrottled) as wait:
        verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE)
    assert 14 * 60 < wait.value.retry_after <= 15 * 60
    assert verify_login(engine, "ann", PASSWORD, "198.51.100.7", settings=THROTTLE).username == "ann"
    age_attempts(engine, 15 * 60 + 1)
    assert verify_login(engine, "ann", PASSWORD, "203.0.113.9", settings=THROTTLE).username == "ann"
