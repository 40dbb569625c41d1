"""Migration 0013 adds the inspection records table and the case assigner, filled from the case history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from cintel.store.engine import alembic_config, is_current, make_engine
from tests.conftest import _postgres_engine


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store at revision 0012 with a case assigned twice (to bob by ann, then to tom by sue) and one never
    assigned."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        engines = iter([engine])
    else:
        engines = _postgres_engine()  # migrated to head: step back to 0012
        engine = next(engines)
        command.downgrade(alembic_config(engine), "0012")
    command.upgrade(alembic_config(engine), "0012")
    at = datetime.now(UTC)
    with engine.begin() as conn:
        for case_id, assignee in ((1, "tom"), (2, None)):
            conn.execute(text(
                "INSERT INTO cases (case_id, title, summary, status, origin_kind, origin_ref, created_by, created_at,"
                " assigned_to, updated_at) VALUES (:id, 't', 's', 'open', 'declaration', 'D1', 'ann', :at, :to, :at)"),
                {"id": case_id, "at": at, "to": assignee})
        for who, text_ in (("ann", "assigned to bob"), ("sue", "assigned to tom")):
            conn.execute(text("INSERT INTO case_events (case_id, kind, text, username, at) "
                              "VALUES (1, 'assigned', :text, :who, :at)"), {"text": text_, "who": who, "at": at})
    yield engine
    engine.dispose()
    for _ in engines:
        pass


def test_the_case_assigner_is_taken_from_the_latest_assignment(old_store: Engine) -> None:
    command.upgrade(alembic_config(old_store), "head")
    assert is_current(old_store)
    with old_store.connect() as conn:
        assigners = dict(conn.execute(text("SELECT case_id, assigned_by FROM cases ORDER BY case_id")).all())
        assert assigners == {1: "sue", 2: None}
    assert "inspection_records" in inspect(old_store).get_table_names()


def test_the_migration_goes_back_and_forth(old_store: Engine) -> None:
    command.upgrade(alembic_config(old_store), "head")
    command.downgrade(alembic_config(old_store), "0012")
    assert "inspection_records" not in inspect(old_store).get_table_names()
    assert "assigned_by" not in {c["name"] for c in inspect(old_store).get_columns("cases")}
    command.upgrade(alembic_config(old_store), "head")
    assert is_current(old_store)
