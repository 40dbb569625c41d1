"""The entity, screening, watch-list and network commands through the real `cintel` entry point, with
one-line errors for bad and hostile input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cintel.domain.roles import Role
from tests.conftest import migrated_sqlite
from tests.entities.conftest import FIRST, LATER, load_kinds
from tests.test_cli import Cli, assert_one_line_error
from tests.test_cli_auth import account, signed_in


@pytest.fixture(scope="module")
def cli(entity_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Cli:
    """A store holding the entity world, resolved and screened through the CLI."""
    runner = Cli(tmp_path_factory.mktemp("cli-entities"), migrated_sqlite())
    engine = runner.store()
    load_kinds(engine, entity_world, (*FIRST, *LATER))
    engine.dispose()
    report = runner.json("entities", "resolve")
    assert report["mode"] == "full"
    assert report["entities"] > 0
    screened = runner.json("screen")
    assert screened["hits"] > 0
    return runner


@pytest.fixture(scope="module")
def analyst(cli: Cli) -> str:
    """The API token of an analyst: merges, splits and disposals are a person's acts."""
    return account(cli, "ann", Role.ANALYST)


def _a_ring(cli: Cli) -> dict[str, object]:
    rings = cli.json("network", "rings", "--top", "3")
    assert rings, "the entity world plants rings"
    return rings[0]


def test_show_and_explain_an_entity(cli: Cli) -> None:
    ring = _a_ring(cli)
    company = next(m["node_id"] for m in ring["members"] if m["kind"] == "company").removeprefix("entity:")
    shown = cli.json("entities", "show", company)
    assert shown["entity"]["entity_id"] == company
    assert shown["records"]
    assert shown["sources"]
    explained = cli.json("entities", "explain", company)
    assert explained["entity_id"] == company
    human = cli("entities", "explain", company)
    assert human.returncode == 0


def test_merge_then_split_back(cli: Cli, analyst: str) -> None:
    ring = _a_ring(cli)
    a, b = [m["node_id"].removeprefix("entity:") for m in ring["members"] if m["kind"] == "company"][:2]
    with signed_in(cli, analyst):
        merged = cli.json("entities", "merge", a, b, "--reason", "same owner per chamber of commerce")
    survivor = merged["entity_id"]
    records = [r["record_id"] for r in cli.json("entities", "show", survivor)["records"]]
    with signed_in(cli, analyst):
        split = cli.json("entities", "split", survivor, "--record", records[0], "--reason", "other VAT number")
    assert len(split["entities"]) == 2


def test_network_commands(cli: Cli, tmp_path: Path) -> None:
    ring = _a_ring(cli)
    companies = [m["node_id"] for m in ring["members"] if m["kind"] == "company"]
    near = cli.json("network", "neighbours", companies[0], "--hops", "2", "--edge-kind", "has_address",
                    "--edge-kind", "director_of", "--edge-kind", "has_phone", "--edge-kind", "has_account")
    assert set(companies[1:]) & {n["node_id"] for n in near["nodes"]}
    path = cli.json("network", "path", companies[0], companies[1])
    assert path
    assert path[0]["steps"]
    out = tmp_path / "graph.json"
    exported = cli.json("network", "export", companies[0], "--out", str(out))
    elements = json.loads(out.read_text())
    assert len(elements["nodes"]) == exported["nodes"] > 0
    assert cli.json("network", "communities", "--top", "3")["communities"] > 0
    assert cli.json("network", "risk", "--as-of", "2025-06-30", "--top", "5")


def test_watchlist_hits_and_disposition(cli: Cli, analyst: str) -> None:
    hits = cli.json("watchlist", "hits", "--top", "5")
    assert hits
    with signed_in(cli, analyst):
        done = cli.json("watchlist", "dispose", str(hits[0]["id"]), "false_positive", "--reason", "namesake")
    assert done["disposition"] == "false_positive"


def test_watchlist_import_ftm(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "list.json"
    target = {"id": "x-1", "schema": "Company", "target": True,
              "properties": {"name": ["Acme Trading BV"], "country": ["nl"]}}
    associate = {"id": "x-2", "schema": "Company", "properties": {"name": ["Acme Holding BV"], "country": ["nl"]}}
    path.write_text(json.dumps(target) + "\n" + json.dumps(associate) + "\n" + "{broken\n", encoding="utf-8")
    report = cli.json("watchlist", "import", str(path), "--format", "ftm", "--list", "TEST", "--version", "1")
    assert (report["rows_stored"], report["rows_quarantined"]) == (1, 1)


@pytest.mark.parametrize("args", [
    ("entities", "show", "ENT99999999"),
    ("entities", "show", "<script>alert(1)</script>"),
    ("entities", "merge", "ENT1", "ENT1", "--reason", "x"),
    ("entities", "split", "ENT99999999", "--record", "r", "--reason", "x"),
    ("entities", "merge", "ENT1", "ENT2", "--reason", " "),
    ("network", "neighbours", "nobody\x07here\u202e"),
    ("network", "neighbours", "ENT1", "--since", "2025-13-40"),
    ("network", "path", "ENT1", "ENT2"),
    ("network", "communities", "--method", "magic"),
    ("screen", "--list", "NO-SUCH-LIST"),
    ("watchlist", "dispose", "999999", "false_positive", "--reason", "x"),
    ("watchlist", "dispose", "1", "maybe", "--reason", "x"),
    ("watchlist", "import", "missing.json", "--format", "ftm", "--list", "L"),
    ("watchlist", "import", "missing.json", "--format", "ftm"),
])
def test_bad_input_gets_one_line_errors(cli: Cli, analyst: str, args: tuple[str, ...]) -> None:
    with signed_in(cli, analyst):  # so that a person's act reaches the check of its input
        done = cli(*args)
    assert_one_line_error(done)
    assert "authenticated" not in done.stderr
