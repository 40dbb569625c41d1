"""Account services: names, password policy, argon2id hashes, tokens kept only as hashes."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import Engine, select, update

from cintel.errors import CintelError
from cintel.store.web_tables import api_tokens, users
from cintel.web.accounts import (
    AccountError,
    LoginFailed,
    add_user,
    create_api_token,
    disable_user,
    list_users,
    reset_password,
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
    assert not PasswordHasher().check_needs_rehash(stored)


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
