"""Four eyes for lookup changes and retirements on the command line: one authenticated officer asks, with a
reason; the change waits (`cintel rules changes pending`) until another officer confirms or refuses it; the one
who asked cannot confirm it; the history says who did what and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from cintel.domain.roles import Role
from cintel.risk.rulebook import approve_rule, load_lookups, rule_versions
from tests.cli_runner import Cli, assert_one_line_error
from tests.conftest import migrated_sqlite
from tests.risk.conftest import APPROVER, backtested
from tests.test_cli_auth import account, signed_in


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, migrated_sqlite())


@pytest.fixture
def tokens(cli: Cli) -> dict[str, str]:
    """ann and tom are targeting officers, sue a supervisor."""
    return {"ann": account(cli, "ann", Role.TARGETING_OFFICER), "tom": account(cli, "tom", Role.TARGETING_OFFICER),
            "sue": account(cli, "sue", Role.SUPERVISOR)}


def _watch_list(cli: Cli, tokens: dict[str, str]) -> None:
    """A list 'watch' holding T1 (asked by ann, confirmed by tom) and an approved fixed-red rule on it."""
    with signed_in(cli, tokens["ann"]):
        cli.json("rules", "lookup", "create", "watch", "--kind", "trader", "--description", "sanctions")
        change = cli.json("rules", "lookup", "add", "watch", "T1", "--reason", "listed")
        cli.json("rules", "add", "WATCH", "--expr", "importer_id IN LOOKUP('watch')", "--reason", "listed party",
                 "--channel", "red")
    with signed_in(cli, tokens["tom"]):
        cli.json("rules", "changes", "confirm", str(change["change_id"]))
    engine = cli.store()
    backtested(engine, "WATCH")
    approve_rule(engine, APPROVER, "WATCH")
    engine.dispose()


def _values(cli: Cli) -> frozenset[str]:
    engine = cli.store()
    try:
        return load_lookups(engine)["watch"]
    finally:
        engine.dispose()


def test_one_officer_removing_a_value_changes_nothing_until_another_confirms(cli: Cli,
                                                                            tokens: dict[str, str]) -> None:
    _watch_list(cli, tokens)
    with signed_in(cli, tokens["ann"]):
        asked = cli("rules", "lookup", "add", "watch", "T1", "--remove", "--reason", "delisted")
        assert asked.returncode == 0, asked.stderr
        assert "takes effect once another officer confirms it" in asked.stdout
        (pending,) = cli.json("rules", "changes", "pending")
        own = cli("rules", "changes", "confirm", str(pending["change_id"]))
    assert_one_line_error(own)
    assert "another officer must confirm it (four eyes)" in own.stderr
    assert _values(cli) == {"T1"}
    with signed_in(cli, tokens["sue"]):
        done = cli.json("rules", "changes", "confirm", str(pending["change_id"]), "--comment", "checked")
    assert (done["status"], done["decided_by"], done["effect"]) == ("confirmed", "sue", {"added": 0, "removed": 1})
    assert _values(cli) == frozenset()
    history = cli.json("rules", "changes", "history", "--lookup", "watch")
    assert [(c["requested_by"], c["reason"], c["decided_by"]) for c in history] == [
        ("ann", "delisted", "sue"), ("ann", "listed", "tom")]


def test_a_lookup_change_or_retirement_without_a_reason_is_refused(cli: Cli, tokens: dict[str, str]) -> None:
    _watch_list(cli, tokens)
    with signed_in(cli, tokens["ann"]):
        missing = cli("rules", "lookup", "add", "watch", "T2")
        empty = cli("rules", "lookup", "add", "watch", "T2", "--reason", " ")
        retire = cli("rules", "retire", "WATCH", "--reason", "")
    assert missing.returncode == 2
    assert "--reason" in missing.stderr
    for done in (empty, retire):
        assert_one_line_error(done)
        assert "give the reason" in done.stderr
    assert cli.json("rules", "changes", "pending") == []


def test_a_single_officer_cannot_retire_an_approved_rule(cli: Cli, tokens: dict[str, str]) -> None:
    _watch_list(cli, tokens)
    with signed_in(cli, tokens["ann"]):
        asked = cli.json("rules", "retire", "WATCH", "--reason", "screening covers it")
    assert asked["status"] == "pending"
    engine = cli.store()
    assert [r.status.value for r in rule_versions(engine, "WATCH")] == ["approved"]
    engine.dispose()
    with signed_in(cli, tokens["tom"]):
        refused = cli.json("rules", "changes", "refuse", str(asked["change_id"]), "--comment", "not yet")
    assert (refused["status"], refused["decision_comment"]) == ("refused", "not yet")
    with signed_in(cli, tokens["ann"]):
        again = cli.json("rules", "retire", "WATCH", "--reason", "screening covers it now")
    with signed_in(cli, tokens["sue"]):
        cli.json("rules", "changes", "confirm", str(again["change_id"]))
    [shown] = cli.json("rules", "show", "WATCH")
    assert (shown["status"], shown["retired_by"]) == ("retired", "sue")


def test_the_requester_withdraws_and_a_list_is_dropped_with_four_eyes(cli: Cli, tokens: dict[str, str]) -> None:
    with signed_in(cli, tokens["ann"]):
        cli.json("rules", "lookup", "create", "old", "--kind", "country", "--description", "unused")
        asked = cli.json("rules", "lookup", "add", "old", "CN", "--reason", "start")
        assert cli.json("rules", "changes", "withdraw", str(asked["change_id"]))["status"] == "withdrawn"
        drop = cli.json("rules", "lookup", "drop", "old", "--reason", "nobody uses it")
    with signed_in(cli, tokens["tom"]):
        cli.json("rules", "changes", "confirm", str(drop["change_id"]))
    assert [lk["name"] for lk in cli.json("rules", "lookup", "list")] == []
    assert [c["status"] for c in cli.json("rules", "changes", "history", "--lookup", "old")] == [
        "confirmed", "withdrawn"]
