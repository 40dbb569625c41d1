"""`cintel users` as scripts use it: accounts (people and service accounts) managed from the shell, passwords
from stdin, API tokens issued only by an authenticated owner (or an administrator, for a service account),
one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cintel.web.accounts import LoginFailed, list_api_tokens, user_for_token, verify_login
from tests.conftest import migrated_sqlite
from tests.test_cli import Cli, assert_one_line_error

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, migrated_sqlite())


def run(cli: Cli, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return cli(*args, stdin=stdin)


def add(cli: Cli, username: str, *roles: str, password: str = PASSWORD,
        display_name: str | None = None) -> subprocess.CompletedProcess[str]:
    args = ["users", "add", username, *[a for r in roles for a in ("--role", r)], "--password-stdin"]
    if display_name:
        args += ["--display-name", display_name]
    return run(cli, *args, stdin=password + "\n")


def test_users_add_takes_the_password_from_stdin(cli: Cli) -> None:
    done = add(cli, "ann", "analyst", "supervisor", display_name="Ann Lee")
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout
    assert verify_login(cli.store(), "ann", PASSWORD, "127.0.0.1").display_name == "Ann Lee"


def test_users_list_json(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    add(cli, "ada", "administrator")
    listed = cli.json("users", "list")
    assert [(u["username"], u["roles"], u["disabled"]) for u in listed] == [
        ("ada", ["administrator"], False), ("ann", ["analyst"], False)]
    assert all("password_hash" not in u for u in listed)


def test_users_disable(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    done = cli("users", "disable", "ann")
    assert done.returncode == 0, done.stderr
    assert cli.json("users", "list")[0]["disabled"] is True
    with pytest.raises(LoginFailed):
        verify_login(cli.store(), "ann", PASSWORD, "127.0.0.1")


def test_users_reset_password(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    done = run(cli, "users", "reset-password", "ann", "--password-stdin", stdin="another long passphrase\n")
    assert done.returncode == 0, done.stderr
    assert verify_login(cli.store(), "ann", "another long passphrase", "127.0.0.1").username == "ann"


def test_a_short_password_is_refused_in_one_line(cli: Cli) -> None:
    done = add(cli, "ann", "analyst", password="short")
    assert_one_line_error(done)
    assert "at least 12 characters" in done.stderr
    assert cli.json("users", "list") == []


def test_a_duplicate_user_is_refused_in_one_line(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    done = add(cli, "Ann", "analyst")
    assert_one_line_error(done)
    assert "already exists" in done.stderr


def test_an_unknown_role_is_refused_in_one_line(cli: Cli) -> None:
    done = add(cli, "ann", "superuser")
    assert_one_line_error(done)
    assert "unknown role 'superuser'" in done.stderr


def run_json(cli: Cli, *args: str, stdin: str = "") -> Any:
    done = run(cli, *args, "--json", stdin=stdin)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def issue(cli: Cli, username: str, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    """`cintel users token create USERNAME --label ... *args --password-stdin` with ``password`` on stdin."""
    return run(cli, "users", "token", "create", username, "--label", "nightly export", *args, "--password-stdin",
               stdin=password + "\n")


def test_a_token_is_shown_once_and_can_be_revoked(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    issued = run_json(cli, "users", "token", "create", "ann", "--label", "nightly export", "--password-stdin",
                      stdin=PASSWORD + "\n")
    assert (issued["username"], issued["issued_by"]) == ("ann", "ann")
    assert user_for_token(cli.store(), issued["token"]) is not None
    assert_one_line_error(cli("users", "token", "revoke", issued["token_id"]))  # revoking is an act too
    assert user_for_token(cli.store(), issued["token"]) is not None
    done = run(cli, "users", "token", "revoke", issued["token_id"], "--as", "ann", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert user_for_token(cli.store(), issued["token"]) is None
    assert_one_line_error(run(cli, "users", "token", "revoke", "nope", "--as", "ann", "--password-stdin",
                              stdin=PASSWORD + "\n"))


def test_issuing_a_token_needs_the_issuers_password(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    refused = issue(cli, "ann", password="not ann's password at all")
    assert_one_line_error(refused)
    assert "cannot act as ann" in refused.stderr
    assert list_api_tokens(cli.store()) == []


def test_nobody_issues_a_token_for_another_person_not_even_an_administrator(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    add(cli, "ada", "administrator")
    refused = issue(cli, "ann", "--as", "ada")
    assert_one_line_error(refused)
    assert "issued only by that person" in refused.stderr
    assert list_api_tokens(cli.store()) == []


def test_an_administrator_issues_a_service_accounts_token(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    add(cli, "ada", "administrator")
    assert_one_line_error(run(cli, "users", "add", "etl-bot", "--role", "analyst", "--service"))
    added = run(cli, "users", "add", "etl-bot", "--role", "analyst", "--service", "--as", "ada", "--password-stdin",
                stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    assert [u["created_by"] for u in cli.json("users", "list") if u["username"] == "etl-bot"] == ["ada"]
    alone = issue(cli, "etl-bot")
    assert_one_line_error(alone)
    assert "an administrator issues its tokens" in alone.stderr
    assert_one_line_error(issue(cli, "etl-bot", "--as", "ann"))  # not an administrator
    done = issue(cli, "etl-bot", "--as", "ada")
    assert done.returncode == 0, done.stderr
    [token] = list_api_tokens(cli.store())
    assert (token.username, token.issued_by) == ("etl-bot", "ada")


def test_a_token_cannot_issue_a_token(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    first = run_json(cli, "users", "token", "create", "ann", "--label", "laptop", "--password-stdin",
                     stdin=PASSWORD + "\n")
    cli.env["CINTEL_TOKEN"] = first["token"]
    refused = run(cli, "users", "token", "create", "ann", "--label", "another")
    assert_one_line_error(refused)
    assert "CINTEL_TOKEN" in refused.stderr
    assert len(list_api_tokens(cli.store())) == 1


def test_token_list_shows_who_issued_each_and_when_it_was_last_used(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    issued = run_json(cli, "users", "token", "create", "ann", "--label", "laptop", "--password-stdin",
                      stdin=PASSWORD + "\n")
    user_for_token(cli.store(), issued["token"])
    [listed] = cli.json("users", "token", "list")
    assert {k: listed[k] for k in ("token_id", "username", "label", "issued_by", "created_at", "revoked")} == {
        "token_id": issued["token_id"], "username": "ann", "label": "laptop", "issued_by": "ann",
        "created_at": issued["created_at"], "revoked": False}
    assert listed["last_used_at"] is not None
    assert "token" not in listed
    assert cli.json("users", "token", "list", "nobody") == []


def test_a_service_account_is_added_without_a_password_and_cannot_sign_in(cli: Cli) -> None:
    robot = run_json(cli, "users", "add", "etl-bot", "--role", "analyst", "--service")
    assert (robot["kind"], robot["roles"]) == ("service", ["analyst"])
    assert [u["kind"] for u in cli.json("users", "list")] == ["service"]
    with pytest.raises(LoginFailed):
        verify_login(cli.store(), "etl-bot", "", "127.0.0.1")


def test_a_service_account_cannot_be_given_a_password(cli: Cli) -> None:
    both = run(cli, "users", "add", "etl-bot", "--role", "analyst", "--service", "--password-stdin",
               stdin=PASSWORD + "\n")
    assert_one_line_error(both)
    assert "has no password" in both.stderr
    run(cli, "users", "add", "etl-bot", "--role", "analyst", "--service")
    reset = run(cli, "users", "reset-password", "etl-bot", "--password-stdin", stdin=PASSWORD + "\n")
    assert_one_line_error(reset)
    assert "service account" in reset.stderr
    with pytest.raises(LoginFailed):
        verify_login(cli.store(), "etl-bot", PASSWORD, "127.0.0.1")


def test_users_enable(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    cli("users", "disable", "ann")
    done = cli("users", "enable", "ann")
    assert done.returncode == 0, done.stderr
    assert verify_login(cli.store(), "ann", PASSWORD, "127.0.0.1").username == "ann"


def test_serve_is_a_command(cli: Cli) -> None:
    done = cli("serve", "--help")
    assert done.returncode == 0
    assert "--port" in done.stdout


def test_once_an_administrator_exists_accounts_are_managed_only_by_an_authenticated_one(cli: Cli) -> None:
    add(cli, "ada", "administrator")
    add(cli, "bob", "supervisor")  # refused: nobody proved being an administrator
    assert [u["username"] for u in cli.json("users", "list")] == ["ada"]
    for args in (("users", "reset-password", "ada", "--password-stdin"), ("users", "disable", "ada"),
                 ("users", "enable", "ada")):
        refused = run(cli, *args, stdin="another long passphrase\n")
        assert_one_line_error(refused)
    verify_login(cli.store(), "ada", PASSWORD, "127.0.0.1")  # the password was not reset

    done = run(cli, "users", "add", "bob", "--role", "supervisor", "--as", "ada", "--password-stdin",
               stdin=f"{PASSWORD}\nbob's long passphrase\n")
    assert done.returncode == 0, done.stderr
    assert verify_login(cli.store(), "bob", "bob's long passphrase", "127.0.0.1").username == "bob"

    # A supervisor is not an administrator, even with the right password: no second supervisor from the shell.
    sneaky = run(cli, "users", "add", "eve", "--role", "supervisor", "--as", "bob", "--password-stdin",
                 stdin="bob's long passphrase\neve's long passphrase\n")
    assert_one_line_error(sneaky)
    assert "administrator" in sneaky.stderr
    wrong = run(cli, "users", "reset-password", "bob", "--as", "ada", "--password-stdin",
                stdin="not ada's password\nanother long passphrase\n")
    assert_one_line_error(wrong)
    assert [u["username"] for u in cli.json("users", "list")] == ["ada", "bob"]
    assert verify_login(cli.store(), "bob", "bob's long passphrase", "127.0.0.1").username == "bob"
