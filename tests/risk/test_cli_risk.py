"""The risk commands through the `cintel` entry point (run in this process by tests/cli_runner.py): train, select,
score, explain, monitor, features, rule backtests, one-declaration scoring, and one-line errors for bad input."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from cintel.demo import INGEST_ORDER
from cintel.demo_rules import install
from cintel.domain.roles import Role
from cintel.ingest.pipeline import ingest_file
from tests.conftest import migrated_sqlite
from tests.risk.conftest import APPROVER, AUTHOR, END
from tests.test_cli import Cli, assert_one_line_error
from tests.test_cli_auth import account, signed_in

DAY = (END - timedelta(days=3)).isoformat()


@pytest.fixture(scope="module")
def cli(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A store holding the small world and the demo rulebook, then a model trained through the CLI."""
    runner = Cli(tmp_path_factory.mktemp("cli-risk"), migrated_sqlite())
    engine = runner.store()
    for kind in INGEST_ORDER:
        path = small_world / f"{kind.value}.parquet"
        if path.exists():
            ingest_file(engine, path)
    install(engine, AUTHOR, APPROVER)
    engine.dispose()
    report = runner.json("train", "--to", (END - timedelta(days=30)).isoformat())
    assert report["fraud_model_id"] == "fraud-v1"
    return runner


@pytest.fixture(scope="module")
def officers(cli: Cli) -> dict[str, str]:
    """API tokens of two targeting officers: ann writes rules, bob backtests and approves them."""
    return {name: account(cli, name, Role.TARGETING_OFFICER) for name in ("ann", "bob")}


def test_select_prints_the_red_list_and_respects_capacity(cli: Cli) -> None:
    result = cli.json("select", "--date", DAY, "--red-capacity", "2", "--yellow-capacity", "3",
                      "--random-share", "0", "--exploration-share", "0")
    red = result["summary"]["counts"].get("red", {})
    assert red.get("score", 0) <= 2
    assert all(row["channel"] == "red" for row in result["shown"])
    assert result["model_id"] == "fraud-v1"
    assert ["R06", 1] in [list(v) for v in result["rule_versions"]]


def test_score_then_explain_a_declaration(cli: Cli) -> None:
    scored = cli.json("score", "--date", DAY, "--top", "3")
    assert len(scored["shown"]) == 3
    top = scored["shown"][0]["declaration"]
    explained = cli.json("explain", top)
    assert explained["declaration_id"] == top
    assert explained["reasons"]
    human = cli("explain", top)
    assert human.returncode == 0
    assert "reasons" in human.stdout


def test_features_build_writes_parquet(cli: Cli) -> None:
    out = cli.folder / "features.parquet"
    result = cli.json("features", "build", "--out", str(out), "--from", (END - timedelta(days=7)).isoformat(),
                      "--to", END.isoformat())
    frame = pl.read_parquet(out)
    assert frame.height == result["declarations"] > 0
    assert "min_unit_value_ratio" in frame.columns


def test_monitor_reports_drift_and_fairness(cli: Cli) -> None:
    report = cli.json("monitor", "--weeks", "4")
    assert report["measurements"] > 0
    assert "flagged" in report["fairness"]


def test_rules_backtest_of_a_stored_rule_and_of_an_expression(cli: Cli, officers: dict[str, str]) -> None:
    with signed_in(cli, officers["bob"]):
        stored = cli.json("rules", "backtest", "R06")
    assert stored["hits"] > 0
    candidate = cli.json("rules", "backtest", "--expr", "customs_value > 100000", "--from", "2025-01-01")
    assert candidate["rule_id"] == "candidate"
    bad = cli("rules", "backtest", "--expr", "customs_valu > 1")
    assert_one_line_error(bad)
    assert "did you mean 'customs_value'" in bad.stderr


@pytest.mark.parametrize("args", [
    ("explain", "NO-SUCH-DECLARATION"),
    ("select", "--date", "1999-01-01"),
    ("select", "--date", "not-a-date"),
    ("select", "--red-capacity", "-1"),
    ("score", "--declaration", "missing.json"),
    ("features", "build", "--out", "x.parquet", "--from", "2025-02-01", "--to", "2025-01-01"),
    ("rules", "backtest"),
])
def test_bad_input_is_one_line_and_non_zero(cli: Cli, args: tuple[str, ...]) -> None:
    assert_one_line_error(cli(*args))


def test_one_declaration_is_scored_in_real_time_from_json(cli: Cli, small_world: Path) -> None:
    items = pl.read_parquet(small_world / "declarations.parquet").filter(
        pl.col("declaration_date").cast(pl.String) == DAY)
    first = items.filter(pl.col("declaration_id") == items["declaration_id"][0])
    path = cli.folder / "one.json"
    path.write_text(json.dumps(first.to_dicts(), default=str), encoding="utf-8")
    result = cli.json("score", "--declaration", str(path))
    assert result["declaration_id"] == first["declaration_id"][0]
    assert 0 <= result["probability"] <= 1
    hostile = cli.folder / "hostile.json"
    hostile.write_text(json.dumps([{**first.to_dicts()[0], "hs_code": "<script>", "invoice_value": "NaN"}],
                                  default=str), encoding="utf-8")
    rejected = cli("score", "--declaration", str(hostile))
    assert_one_line_error(rejected)
    assert "rejected" in rejected.stderr
    garbage = cli.folder / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    assert_one_line_error(cli("score", "--declaration", str(garbage)))


def test_a_draft_is_backtested_then_approved_by_a_second_officer(cli: Cli, officers: dict[str, str]) -> None:
    # Last in this module: the approved rule scores from now on (it hits nothing in this world).
    with signed_in(cli, officers["ann"]):
        cli.json("rules", "add", "HUGE", "--expr", "customs_value > 1e12", "--reason", "implausible value",
                 "--weight", "0.5")
    with signed_in(cli, officers["bob"]):
        untested = cli("rules", "approve", "HUGE")
        assert_one_line_error(untested)
        assert "has not been backtested" in untested.stderr
        run = cli.json("rules", "backtest", "HUGE", "--from", "2025-05-01", "--to", "2025-06-30")
        assert (run["version"], run["hits"], run["from"], run["to"]) == (1, 0, "2025-05-01", "2025-06-30")
        assert run["declarations"] > 0
        human = cli("rules", "backtest", "HUGE", "--version", "1")
        assert f"recorded as backtest {run['backtest_id'] + 1} of v1" in human.stdout
        approved = cli.json("rules", "approve", "HUGE")
    assert (approved["status"], approved["approved_by"]) == ("approved", "bob")
