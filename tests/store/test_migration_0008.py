"""Migration 0008 moves containers from the declaration header to its items and keeps every stored value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, text

from cintel.store.engine import alembic_config, is_current, make_engine
from tests.conftest import _postgres_engine

HEADER = {"declaration_id": "26NL1", "declaration_date": "2025-06-01", "declaration_type": "IM",
          "office_code": "NL1", "importer_name": "Acme BV", "importer_country": "NL", "exporter_name": "Shenzhen Co",
          "exporter_country": "CN",
          "country_of_dispatch": "CN", "transport_mode": "1", "container_numbers": "MSCU1234566;TGHU7654320",
          "invoice_currency": "EUR", "n_items": 2, "batch_id": 1, "source_row": 1, "record_hash": "h"}


def _item(no: int) -> dict[str, object]:
    return {"declaration_id": "26NL1", "item_no": no, "country_of_origin": "CN", "hs_code": "85171200",
            "goods_description": "phones", "net_mass_kg": 10.0, "gross_mass_kg": 12.0, "invoice_value": 100.0,
            "customs_value": 100.0, "batch_id": 1, "source_row": no}


def _insert(conn: object, table: str, row: dict[str, object]) -> None:
    columns = ", ".join(row)
    values = ", ".join(":" + c for c in row)
    conn.execute(text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A store at revision 0007 holding one two-item declaration with header-level containers."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
        engines = iter([engine])
    else:
        engines = _postgres_engine()  # migrated to head: step back to 0007
        engine = next(engines)
        command.downgrade(alembic_config(engine), "0007")
    command.upgrade(alembic_config(engine), "0007")
    with engine.begin() as conn:
        _insert(conn, "declarations", HEADER)
        _insert(conn, "declaration_items", _item(1))
        _insert(conn, "declaration_items", _item(2))
        _insert(conn, "entity_records", {"record_id": "r1", "entity_type": "company", "name": "Acme BV",
                                         "tax_id": "NL123"})
    yield engine
    next(engines, None)  # PostgreSQL: drop the schema


def test_upgrading_gives_each_item_the_containers_its_declaration_had(old_store: Engine) -> None:
    command.upgrade(alembic_config(old_store), "head")
    assert is_current(old_store)
    with old_store.connect() as conn:
        items = conn.execute(text("SELECT item_no, container_numbers FROM declaration_items ORDER BY item_no")).all()
        columns = set(conn.execute(text("SELECT * FROM declarations")).keys())
        identifiers = conn.execute(text("SELECT identifiers FROM entity_records")).scalar_one()
    assert [tuple(r) for r in items] == [(1, "MSCU1234566;TGHU7654320"), (2, "MSCU1234566;TGHU7654320")]
    assert "container_numbers" not in columns
    assert "country_of_destination" in columns
    assert identifiers == "NL123"


def test_downgrading_puts_the_union_of_the_items_containers_back_on_the_header(old_store: Engine) -> None:
    command.upgrade(alembic_config(old_store), "head")
    with old_store.begin() as conn:
        conn.execute(text("UPDATE declaration_items SET container_numbers = 'TGHU7654320' WHERE item_no = 2"))
        conn.execute(text("UPDATE declaration_items SET container_numbers = 'MSCU1234566;TGHU7654320' "
                          "WHERE item_no = 1"))
    command.downgrade(alembic_config(old_store), "0007")
    with old_store.connect() as conn:
        header = conn.execute(text("SELECT container_numbers FROM declarations")).scalar_one()
    assert header == "MSCU1234566;TGHU7654320"
