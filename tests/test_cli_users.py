"""`cintel users` in a subprocess: accounts managed from the shell, passwords from stdin, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cintel.web.accounts import LoginFailed, user_for_token, verify_login
from tests.test_cli import Cli, assert_one_line_error

PASSWORD = "correct horse battery staple"


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


def run(cli: Cli, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cintel.cli", *args], cwd=cli.folder, env=cli.env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


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


def test_a_token_is_shown_once_and_can_be_revoked(cli: Cli) -> None:
    add(cli, "ann", "analyst")
    issued = cli.json("users", "token", "create", "ann", "--label", "nightly export")
    assert issued["username"] == "ann"
    assert user_for_token(cli.store(), issued["token"]) is not None
    done = cli("users", "token", "revoke", issued["token_id"])
    assert done.returncode == 0, done.stderr
    assert user_for_token(cli.store(), issued["token"]) is None
    assert_one_line_error(cli("users", "token", "revoke", "nope"))


def test_serve_is_a_command(cli: Cli) -> None:
    done = cli("serve", "--help")
    assert done.returncode == 0
    assert "--port" in done.stdout
