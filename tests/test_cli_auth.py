"""Who acts on the command line: a person's act (approving, retiring, lookup and profile changes, merging,
splitting, disposing of hits) is done only by an account proved by its API token (CINTEL_TOKEN) or its
password (`--as USER`: a hidden prompt on a terminal, or `--password-stdin`), holding a role the act needs,
with the four-eyes rule as on the web. Reads and batch runs keep working for the local operator."""

from __future__ import annotations

import io
import os
import pty
import select
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cintel.cli import entities as entity_commands
from cintel.cli import rules as rule_commands
from cintel.cli.common import TOKEN_ENV, Act, NotAuthorised, UserError, acting_context
from cintel.demo import DemoError, demo_actor, demo_username
from cintel.domain.access import AccessContext, local_operator
from cintel.domain.roles import Role
from cintel.risk.rulebook import list_rules, rule_versions
from cintel.web.accounts import add_service_account, add_user, create_api_token, disable_user, get_user
from tests.cli_runner import PYTHON_M, Cli, assert_one_line_error
from tests.conftest import Workspace, migrated_sqlite
from tests.risk.conftest import backtested

PASSWORD = "correct horse battery staple"
PHONES = "hs_code LIKE '8517%' AND country_of_origin = 'CN'"
APPROVE = Act("approving a rule", "tests", frozenset({Role.TARGETING_OFFICER, Role.SUPERVISOR}))
READ = Act("reading", "tests", person=False)


def person(engine: Engine, username: str, *roles: Role) -> str:
    """Creates a person's account with PASSWORD and returns an API token they issued for themself."""
    add_user(engine, username, PASSWORD, [r.value for r in roles])
    return create_api_token(engine, username, "command line").token


def service(engine: Engine, username: str, *roles: Role) -> str:
    """Creates a service account and returns a token an administrator issued for it."""
    add_user(engine, "ada", PASSWORD, [Role.ADMINISTRATOR.value])
    add_service_account(engine, username, [r.value for r in roles])
    return create_api_token(engine, username, "nightly job", issued_by="ada").token


def account(cli: Cli, username: str, *roles: Role) -> str:
    """``person`` in the command's store: the API token of a new account."""
    engine = cli.store()
    try:
        return person(engine, username, *roles)
    finally:
        engine.dispose()


@contextmanager
def signed_in(cli: Cli, token: str) -> Iterator[Cli]:
    """``cli`` with CINTEL_TOKEN set to ``token`` for the commands run inside the block."""
    saved = cli.env
    cli.env = {**saved, TOKEN_ENV: token}
    try:
        yield cli
    finally:
        cli.env = saved


# ---------------------------------------------------------------- the access context holds Role members


def test_access_context_roles_are_role_members() -> None:
    ctx = AccessContext(user="ann", purpose="p", roles=frozenset({"targeting_officer"}))  # type: ignore[arg-type]
    assert ctx.roles == {Role.TARGETING_OFFICER}
    assert all(isinstance(r, Role) for r in ctx.roles)


@pytest.mark.parametrize("code", ["targeting", "operator", "approver"])
def test_an_unknown_role_code_is_refused_with_the_codes(code: str) -> None:
    with pytest.raises(ValueError, match=f"unknown role '{code}'; use one of analyst, targeting_officer"):
        AccessContext(user="ann", purpose="p", roles=frozenset({code}))  # type: ignore[arg-type]


def test_the_local_operator_is_the_os_user_without_a_role() -> None:
    ctx = local_operator("quarantine review")
    assert ctx.roles == frozenset()
    assert ctx.user


# ---------------------------------------------------------------- acting_context on every back end


def test_a_persons_act_without_credentials_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(NotAuthorised, match="approving a rule needs an authenticated person: set CINTEL_TOKEN"):
        acting_context(engine, APPROVE, None)


def test_a_read_without_credentials_acts_as_the_local_operator(engine: Engine,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    assert acting_context(engine, READ, None) == local_operator("tests")


def test_the_token_proves_its_owner_with_their_stored_roles(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, person(engine, "bob", Role.SUPERVISOR, Role.ANALYST))
    ctx = acting_context(engine, APPROVE, None)
    assert (ctx.user, ctx.roles, ctx.purpose) == ("bob", {Role.SUPERVISOR, Role.ANALYST}, "tests")
    assert acting_context(engine, APPROVE, "BOB").user == "bob"  # usernames are case-insensitive


def test_a_token_of_one_user_cannot_act_as_another(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    person(engine, "bob", Role.SUPERVISOR)
    monkeypatch.setenv(TOKEN_ENV, person(engine, "ann", Role.TARGETING_OFFICER))
    with pytest.raises(NotAuthorised, match="the API token in CINTEL_TOKEN is ann's, not bob's"):
        acting_context(engine, APPROVE, "bob")
    with pytest.raises(NotAuthorised, match="is ann's, not bob's"):
        acting_context(engine, READ, "bob")  # --as always means that account, even to read


@pytest.mark.parametrize("token", ["cin_not-a-token", "x" * 5000])
def test_an_unknown_token_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv(TOKEN_ENV, token)
    with pytest.raises(NotAuthorised, match="CINTEL_TOKEN is not a live API token"):
        acting_context(engine, READ, None)


def test_the_password_on_stdin_proves_the_account(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    person(engine, "bob", Role.TARGETING_OFFICER)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    assert acting_context(engine, APPROVE, "bob", password_stdin=True).roles == {Role.TARGETING_OFFICER}


def test_a_wrong_password_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    person(engine, "bob", Role.SUPERVISOR)
    monkeypatch.setattr(sys, "stdin", io.StringIO("not bob's password\n"))
    with pytest.raises(NotAuthorised, match="cannot act as bob: wrong username or password"):
        acting_context(engine, APPROVE, "bob", password_stdin=True)


def test_without_a_terminal_the_password_must_come_from_stdin(engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    person(engine, "bob", Role.SUPERVISOR)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))  # not a terminal
    with pytest.raises(NotAuthorised, match="no terminal to ask the password of bob: pipe it with --password-stdin"):
        acting_context(engine, APPROVE, "bob")


def test_ambiguous_credentials_are_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    with pytest.raises(UserError, match="--password-stdin needs --as USER"):
        acting_context(engine, READ, None, password_stdin=True)
    monkeypatch.setenv(TOKEN_ENV, person(engine, "bob", Role.SUPERVISOR))
    with pytest.raises(UserError, match="give CINTEL_TOKEN or --password-stdin, not both"):
        acting_context(engine, APPROVE, "bob", password_stdin=True)


def test_a_user_without_the_role_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, person(engine, "ivan", Role.INSPECTOR, Role.ANALYST))
    with pytest.raises(NotAuthorised, match="approving a rule needs the role supervisor or targeting_officer; "
                                            "ivan has analyst, inspector"):
        acting_context(engine, APPROVE, None)


def test_a_disabled_account_is_refused(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    token = person(engine, "bob", Role.SUPERVISOR)
    disable_user(engine, "bob")
    monkeypatch.setenv(TOKEN_ENV, token)
    with pytest.raises(NotAuthorised, match="not a live API token"):
        acting_context(engine, APPROVE, None)
    monkeypatch.delenv(TOKEN_ENV)
    monkeypatch.setattr(sys, "stdin", io.StringIO(PASSWORD + "\n"))
    with pytest.raises(NotAuthorised, match="cannot act as bob"):
        acting_context(engine, APPROVE, "bob", password_stdin=True)


def test_a_service_account_does_batch_runs_but_no_persons_act(engine: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, service(engine, "etl", Role.SUPERVISOR))
    with pytest.raises(NotAuthorised, match="etl is a service account: approving a rule needs a person"):
        acting_context(engine, APPROVE, None)
    assert acting_context(engine, READ, None).user == "etl"  # its runs are attributed to it


def test_the_command_line_asks_the_roles_the_workspace_asks() -> None:
    from cintel.risk.rulebook_policy import RULE_APPROVERS, RULE_EDITORS
    from cintel.web import entity_pages

    assert {act.roles for act in (rule_commands.WRITE, rule_commands.LOOKUP, rule_commands.PROFILE)} == {RULE_EDITORS}
    assert {act.roles for act in (rule_commands.APPROVE, rule_commands.RETIRE, rule_commands.BACKTEST)} == {
        RULE_APPROVERS}
    assert all(act.person for act in (rule_commands.WRITE, rule_commands.APPROVE, rule_commands.RETIRE))
    assert {act.roles for act in (entity_commands.MERGE, entity_commands.SPLIT, entity_commands.NOT_SAME,
                                  entity_commands.DISPOSE)} == {frozenset(entity_pages.ENTITY_EDITORS)}


# ---------------------------------------------------------------- the demo acts through its real accounts


def test_the_demo_acts_as_its_accounts_with_their_roles(engine: Engine) -> None:
    ctx = demo_actor(engine, Role.SUPERVISOR, "demo rulebook")
    assert (ctx.user, ctx.roles) == ("demo-supervisor", {Role.SUPERVISOR})
    assert demo_actor(engine, Role.SUPERVISOR, "again").user == "demo-supervisor"  # not created twice
    disable_user(engine, demo_username(Role.SUPERVISOR))
    with pytest.raises(DemoError, match="demo account demo-supervisor is disabled"):
        demo_actor(engine, Role.SUPERVISOR, "demo rulebook")


def test_the_demo_rulebook_is_written_and_approved_by_two_real_accounts(workspace: Workspace) -> None:
    rules = list_rules(workspace.engine)
    assert rules
    for rule in rules:
        author, approver = get_user(workspace.engine, rule.author), get_user(workspace.engine, rule.approved_by or "")
        assert Role.TARGETING_OFFICER in author.roles
        assert Role.SUPERVISOR in approver.roles
        assert author.username != approver.username


# ---------------------------------------------------------------- the real commands


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, migrated_sqlite())


@pytest.fixture
def tokens(cli: Cli) -> dict[str, str]:
    """ann writes rules, bob approves them, ivan inspects, sue supervises (and reviews entities)."""
    return {"ann": account(cli, "ann", Role.TARGETING_OFFICER), "bob": account(cli, "bob", Role.TARGETING_OFFICER),
            "ivan": account(cli, "ivan", Role.INSPECTOR), "sue": account(cli, "sue", Role.SUPERVISOR)}


def _draft_by_ann(cli: Cli, tokens: dict[str, str]) -> None:
    with signed_in(cli, tokens["ann"]):
        assert cli.json("rules", "add", "PHONES", "--expr", PHONES, "--reason", "cheap phones",
                        "--weight", "0.2")["author"] == "ann"
    engine = cli.store()
    backtested(engine, "PHONES", by="bob")
    engine.dispose()


def _status(cli: Cli) -> tuple[str, str | None]:
    engine = cli.store()
    [rule] = rule_versions(engine, "PHONES")
    engine.dispose()
    return rule.status.value, rule.approved_by


def test_approving_as_another_user_without_their_credentials_fails(cli: Cli, tokens: dict[str, str]) -> None:
    _draft_by_ann(cli, tokens)
    for done in (cli("rules", "approve", "PHONES", "--as", "bob"),  # no terminal, no password
                 cli("rules", "approve", "PHONES"),
                 cli("rules", "approve", "PHONES", "--as", "bob", "--password-stdin", stdin="guess\n")):
        assert_one_line_error(done)
        assert done.returncode == 2
    with signed_in(cli, tokens["ann"]):
        forged = cli("rules", "approve", "PHONES", "--as", "bob")
    assert "the API token in CINTEL_TOKEN is ann's, not bob's" in forged.stderr
    assert _status(cli) == ("draft", None)


def test_four_eyes_hold_on_the_command_line(cli: Cli, tokens: dict[str, str]) -> None:
    _draft_by_ann(cli, tokens)
    with signed_in(cli, tokens["ann"]):
        own = cli("rules", "approve", "PHONES")
    assert_one_line_error(own)
    assert "another officer must approve" in own.stderr
    own_password = cli("rules", "approve", "PHONES", "--as", "ann", "--password-stdin", stdin=PASSWORD + "\n")
    assert "another officer must approve" in own_password.stderr
    assert _status(cli) == ("draft", None)


def test_a_second_officer_approves_with_their_token(cli: Cli, tokens: dict[str, str]) -> None:
    _draft_by_ann(cli, tokens)
    with signed_in(cli, tokens["bob"]):
        approved = cli.json("rules", "approve", "PHONES")
    assert (approved["status"], approved["approved_by"]) == ("approved", "bob")


def test_a_supervisor_approves_with_the_password_on_stdin(cli: Cli, tokens: dict[str, str]) -> None:
    _draft_by_ann(cli, tokens)
    done = cli("rules", "approve", "PHONES", "--as", "sue", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert _status(cli) == ("approved", "sue")
    assert PASSWORD not in done.stdout + done.stderr


def test_an_inspector_is_refused_every_rulebook_act(cli: Cli, tokens: dict[str, str]) -> None:
    _draft_by_ann(cli, tokens)
    with signed_in(cli, tokens["ivan"]):
        for args in (("rules", "approve", "PHONES"), ("rules", "retire", "PHONES", "--reason", "r"),
                     ("rules", "add", "X", "--expr", PHONES, "--reason", "r", "--weight", "0.1"),
                     ("rules", "backtest", "PHONES"),
                     ("rules", "lookup", "create", "watched", "--kind", "trader", "--description", "d"),
                     ("rules", "lookup", "add", "watched", "NL1", "--remove", "--reason", "r"),
                     ("rules", "lookup", "drop", "watched", "--reason", "r"),
                     ("rules", "changes", "confirm", "1"), ("rules", "changes", "refuse", "1", "--comment", "no"),
                     ("rules", "profile", "add", "p", "--threat", "narcotics")):
            done = cli(*args)
            assert_one_line_error(done)
            assert "ivan has inspector" in done.stderr, args
    assert _status(cli) == ("draft", None)


def test_a_supervisor_may_approve_but_not_write_lookups(cli: Cli, tokens: dict[str, str]) -> None:
    with signed_in(cli, tokens["sue"]):
        done = cli("rules", "lookup", "create", "watched", "--kind", "trader", "--description", "d")
    assert "changing a lookup list needs the role targeting_officer; sue has supervisor" in done.stderr
    with signed_in(cli, tokens["ann"]):
        assert cli.json("rules", "lookup", "create", "watched", "--kind", "trader", "--description", "d") == {
            "name": "watched", "kind": "trader"}


def test_a_service_account_token_cannot_approve(cli: Cli, tokens: dict[str, str]) -> None:
    _draft_by_ann(cli, tokens)
    engine = cli.store()
    etl = service(engine, "etl", Role.SUPERVISOR)
    engine.dispose()
    with signed_in(cli, etl):
        done = cli("rules", "approve", "PHONES")
    assert_one_line_error(done)
    assert "etl is a service account: approving a rule needs a person" in done.stderr
    assert _status(cli) == ("draft", None)


def test_entity_decisions_and_dispositions_need_an_entity_editor(cli: Cli, tokens: dict[str, str]) -> None:
    for args in (("entities", "merge", "ENT1", "ENT2", "--reason", "same owner"),
                 ("entities", "split", "ENT1", "--record", "r1", "--reason", "other VAT"),
                 ("entities", "not-same", "ENT1", "ENT2", "--reason", "namesakes"),
                 ("watchlist", "dispose", "1", "false_positive", "--reason", "namesake")):
        anonymous = cli(*args)
        assert_one_line_error(anonymous)
        assert "needs an authenticated person" in anonymous.stderr
        with signed_in(cli, tokens["ann"]):
            officer = cli(*args)
        assert "needs the role analyst or supervisor; ann has targeting_officer" in officer.stderr


def test_reads_and_batch_runs_still_work_for_the_local_operator(cli: Cli, tokens: dict[str, str]) -> None:
    assert cli.json("rules", "list") == []
    assert cli.json("watchlist", "releases") == []


def test_as_on_a_read_names_an_account_that_must_be_proved(cli: Cli, tokens: dict[str, str]) -> None:
    refused = cli("watchlist", "releases", "--as", "bob")
    assert_one_line_error(refused)
    assert "no terminal to ask the password of bob" in refused.stderr
    with signed_in(cli, tokens["bob"]):
        assert cli.json("watchlist", "releases", "--as", "bob") == []


def test_the_password_is_asked_without_echo_on_a_terminal(cli: Cli, tokens: dict[str, str]) -> None:
    """The real command in a pseudo-terminal: the prompt, the typed password not echoed, the approval."""
    _draft_by_ann(cli, tokens)
    output = _run_in_terminal(cli, ("rules", "approve", "PHONES", "--as", "sue"), PASSWORD)
    assert "password of sue:" in output
    assert PASSWORD not in output
    assert "approved by sue" in output
    assert _status(cli) == ("approved", "sue")


def _run_in_terminal(cli: Cli, args: tuple[str, ...], typed: str) -> str:
    """Runs `python -m cintel.cli *args` with a pseudo-terminal as its terminal, types ``typed`` and Enter at
    the password prompt, and returns everything the terminal showed."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: becomes the command, and never returns into pytest
        try:
            os.chdir(cli.folder)
            os.execve(sys.executable, [*PYTHON_M, *args], cli.env)
        finally:
            os._exit(127)
    shown, typed_in, deadline = b"", False, time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not typed_in and b"password of" in shown:
                os.write(fd, typed.encode() + b"\n")
                typed_in = True
    finally:
        os.close(fd)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, shown.decode(errors="replace")
    return shown.decode(errors="replace")


