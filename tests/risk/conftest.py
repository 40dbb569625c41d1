"""A small simulated world loaded into a store on each back end, shared by the risk engine's tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from cintel.demo import INGEST_ORDER
from cintel.demo_rules import install
from cintel.domain.access import AccessContext
from cintel.domain.roles import Role
from cintel.ingest.pipeline import ingest_file
from cintel.risk.rulebook import record_backtest, rule_versions
from cintel.simulate import simulate_world
from tests.conftest import loaded_store

END = date(2025, 6, 30)
AUTHOR = AccessContext(user="ann", purpose="tests", roles=frozenset({Role.TARGETING_OFFICER}))
APPROVER = AccessContext(user="bob", purpose="tests", roles=frozenset({Role.SUPERVISOR}))
# Figures as cintel.risk.review.candidate_backtests reports them, for tests whose store holds no declarations
# to replay (tests/risk/test_service.py and the workspace tests backtest real ones).
REPORT = {"declarations": 1_000, "hits": 12, "labelled": 5, "frauds": 2, "revenue": 1_500.0, "new_hits": 3,
          "overlap": [{"rule_id": "OTHER", "shared": 9, "share_of_candidate": 0.75}]}


def backtested(engine: Engine, rule_id: str, version: int | None = None, by: str = "bob") -> None:
    """Records a backtest of a rule's latest (or given) version with REPORT's figures, as the rules page would."""
    versions = rule_versions(engine, rule_id)
    rule = versions[-1] if version is None else versions[version - 1]
    record_backtest(engine, AccessContext(user=by, purpose="tests"), rule, date(2024, 1, 1), date(2024, 2, 25),
                    REPORT)


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("risk-world")
    simulate_world(out, declarations=6_000, seed=11, formats=("parquet",), defect_rate=0.0, end_date=END, months=10)
    return out


def _load(engine: Engine, world: Path) -> Engine:
    for kind in INGEST_ORDER:
        path = world / f"{kind.value}.parquet"
        if path.exists():
            ingest_file(engine, path)
    install(engine, AUTHOR, APPROVER)
    return engine


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def risk_store(request: pytest.FixtureRequest, small_world: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A migrated store holding the small world and the demo rulebook (approved), on each back end."""
    yield from loaded_store(request.param, tmp_path_factory, lambda engine: _load(engine, small_world))
