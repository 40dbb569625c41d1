"""`cintel rules` as scripts use it: add, check with a pointed error, four-eyes approval after a backtest, list as
JSON (tests/risk/test_cli_risk.py backtests and approves on a store with declarations). The acting officers are
accounts proved by their API tokens (tests/test_cli_auth.py covers the authentication itself)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cintel.domain.roles import Role
from tests.conftest import migrated_sqlite
from tests.test_cli import Cli, assert_one_line_error
from tests.test_cli_auth import account, signed_in


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, migrated_sqlite())


@pytest.fixture
def ann(cli: Cli) -> str:
    """The API token of ann, a targeting officer."""
    return account(cli, "ann", Role.TARGETING_OFFICER)


@pytest.fixture
def bob(cli: Cli) -> str:
    """The API token of bob, a second targeting officer."""
    return account(cli, "bob", Role.TARGETING_OFFICER)


PHONES = "hs_code LIKE '8517%' AND country_of_origin = 'CN'"


def test_add_saves_a_draft_version_by_the_acting_user(cli: Cli, ann: str) -> None:
    with signed_in(cli, ann):
        rule = cli.json("rules", "add", "PHONES", "--expr", PHONES, "--reason", "cheap phones", "--weight", "0.2",
                        "--office", "OF1", "--regime", "IM")
        again = cli.json("rules", "add", "PHONES", "--expr", PHONES, "--reason", "red now", "--channel", "red")
    assert {k: rule[k] for k in ("rule_id", "version", "status", "author", "weight", "offices", "regimes")} == {
        "rule_id": "PHONES", "version": 1, "status": "draft", "author": "ann", "weight": 0.2, "offices": ["OF1"],
        "regimes": ["IM"]}
    assert (again["version"], again["channel"]) == (2, "red")


def test_check_prints_ok_or_the_error_with_its_position(cli: Cli) -> None:
    ok = cli("rules", "check", "--expr", PHONES)
    assert (ok.returncode, ok.stdout.strip()) == (0, "OK")
    bad = cli("rules", "check", "--expr", "hs_cod LIKE '85%'")
    assert_one_line_error(bad)
    assert bad.returncode == 2
    assert "unknown column 'hs_cod' at 1:1 (did you mean 'hs_code'?)" in bad.stderr
    hostile = cli("rules", "check", "--expr", "1=1; DROP TABLE declarations")
    assert_one_line_error(hostile)
    assert "';' is not allowed at 1:4" in hostile.stderr


def test_a_bad_rule_is_not_saved(cli: Cli, ann: str) -> None:
    with signed_in(cli, ann):
        done = cli("rules", "add", "BAD", "--expr", "customs_value > 'x'", "--reason", "r", "--weight", "1")
    assert_one_line_error(done)
    assert "cannot compare number 'customs_value' with string" in done.stderr
    assert cli.json("rules", "list") == []


def test_approval_needs_a_second_officer_and_a_backtest(cli: Cli, ann: str, bob: str) -> None:
    with signed_in(cli, ann):
        cli.json("rules", "add", "PHONES", "--expr", PHONES, "--reason", "cheap phones", "--weight", "0.2")
        refused = cli("rules", "approve", "PHONES")
    assert_one_line_error(refused)
    assert refused.returncode == 2
    assert "another officer must approve" in refused.stderr
    with signed_in(cli, bob):
        untested = cli("rules", "approve", "PHONES")
        empty = cli("rules", "backtest", "PHONES")  # this store holds no declarations to replay
        no_version = cli("rules", "backtest", "PHONES", "--version", "9")
    assert_one_line_error(untested)
    assert "PHONES' v1 has not been backtested; run a backtest (`cintel rules backtest PHONES`" in untested.stderr
    assert_one_line_error(empty)
    assert "no declarations stored" in empty.stderr
    assert_one_line_error(no_version)
    assert "needs an authenticated person" not in no_version.stderr
    assert_one_line_error(cli("rules", "backtest", "--expr", PHONES, "--version", "1"))
    [listed] = cli.json("rules", "list")
    assert (listed["status"], listed["approved_by"]) == ("draft", None)


def test_retire_and_show_keep_the_history(cli: Cli, ann: str, bob: str) -> None:
    with signed_in(cli, ann):
        cli.json("rules", "add", "PHONES", "--expr", PHONES, "--reason", "cheap phones", "--weight", "0.2")
    with signed_in(cli, bob):
        cli.json("rules", "retire", "PHONES", "--reason", "never used")
    [shown] = cli.json("rules", "show", "PHONES")
    assert (shown["status"], shown["retired_by"]) == ("retired", "bob")
    assert cli.json("rules", "list", "--status", "approved") == []
    human = cli("rules", "show", "PHONES")
    assert human.returncode == 0
    assert "PHONES v1" in human.stdout


def test_weight_or_channel_is_required(cli: Cli) -> None:
    done = cli("rules", "add", "X", "--expr", "TRUE", "--reason", "r")
    assert_one_line_error(done)
    assert "exactly one of --weight or --channel" in done.stderr


def test_lookup_lists_and_profiles(cli: Cli, ann: str, bob: str) -> None:
    with signed_in(cli, ann):
        cli.json("rules", "lookup", "create", "high_risk_traders", "--kind", "trader", "--description", "seizures")
        change = cli.json("rules", "lookup", "add", "high_risk_traders", "T1", "T2", "--reason", "seizures")
    with signed_in(cli, bob):  # a lookup change takes a second officer (tests/risk/test_rules_cli_four_eyes.py)
        assert cli.json("rules", "changes", "confirm", str(change["change_id"]))["effect"]["added"] == 2
    assert cli.json("rules", "lookup", "list", "high_risk_traders")["values"] == ["T1", "T2"]
    assert cli("rules", "check", "--expr", "importer_id IN LOOKUP('high_risk_traders')").returncode == 0
    unknown = cli("rules", "check", "--expr", "importer_id IN LOOKUP('high_risk_trader')")
    assert "did you mean 'high_risk_traders'" in unknown.stderr
    with signed_in(cli, ann):
        cli.json("rules", "add", "TRADERS", "--expr", "importer_id IN LOOKUP('high_risk_traders')", "--reason", "r",
                 "--channel", "yellow")
        cli.json("rules", "profile", "add", "undervaluation", "--threat", "undervaluation", "--rule", "TRADERS")
    [profile] = cli.json("rules", "profile", "list")
    assert (profile["threat"], profile["rules"]) == ("undervaluation", ["TRADERS"])
