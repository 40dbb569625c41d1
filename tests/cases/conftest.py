"""A small store for case tests: two declarations (with containers), three entities and users of every kind."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from cintel.domain.access import AccessContext
from cintel.ingest.pipeline import ingest_file
from cintel.store.entity_tables import entities
from cintel.store.web_tables import users
from tests.factories import declaration, write_csv

HOSTILE = "<script>alert(1)</script> <b>bold</b> & =HYPERLINK(\"http://x\")"
ENTITIES = ("ENT00000001", "ENT00000002", "ENT00000003")


def ctx(user: str, *roles: str) -> AccessContext:
    return AccessContext(user=user, purpose="case tests", roles=frozenset(roles))


ANN = ctx("ann", "analyst")
SUE = ctx("sue", "supervisor")
TOM = ctx("tom", "targeting_officer")
IVAN = ctx("ivan", "inspector")
ADA = ctx("ada", "administrator")


@pytest.fixture
def store(engine: Engine, tmp_path: Path) -> Engine:
    ingest_file(engine, write_csv(tmp_path / "d.csv", [*declaration(1), *declaration(2, port_of_loading="CNSHA")]))
    at = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(entities), [{"entity_id": e, "entity_type": "company", "label": f"Company {e}",
                                         "country": "NL", "records": 1, "first_seen": date(2024, 1, 1),
                                         "updated_at": at} for e in ENTITIES])
        # Written directly (no one signs in here): argon2 hashing would cost more than the tests.
        conn.execute(insert(users), [{"username": name, "display_name": name.title(), "password_hash": "-",
                                      "roles": json.dumps([role]), "disabled": name == "dora", "created_at": at,
                                      "password_changed_at": at}
                                     for name, role in (("ann", "analyst"), ("sue", "supervisor"),
                                                        ("tom", "targeting_officer"), ("ivan", "inspector"),
                                                        ("ada", "administrator"), ("dora", "analyst"))])
    return engine
