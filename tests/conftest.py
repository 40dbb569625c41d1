"""Shared fixtures: a store on every back end, and small files to ingest."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text

from cintel.store.engine import make_engine, upgrade

POSTGRES_URL = os.environ.get("CINTEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_engine() -> Iterator[Engine]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the suite needs the server: fail loudly rather than skip
        raise RuntimeError(f"PostgreSQL at {POSTGRES_URL} is needed for the store tests: {exc}") from exc
    engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated store on each back end: embedded SQLite and PostgreSQL."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
    else:
        yield from _postgres_engine()


@pytest.fixture(scope="session")
def entity_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated world (3,000 declarations, with rings and listed parties) for entity and network tests."""
    from datetime import date

    from cintel.simulate import simulate_world

    out = tmp_path_factory.mktemp("entity-world")
    simulate_world(out, declarations=3_000, seed=5, formats=("parquet",), defect_rate=0.0, end_date=date(2025, 6, 30),
                   months=8)
    return out


def _resolve_world(engine: Engine, world: Path) -> Engine:
    from cintel.entities.screening_service import screen_store
    from cintel.entities.service import resolve_store
    from tests.entities.conftest import ANALYST, FIRST, LATER, load_kinds

    load_kinds(engine, world, (*FIRST, *LATER))
    resolve_store(engine, ANALYST)
    screen_store(engine, ANALYST)
    return engine


def loaded_store(backend: str, tmp_path_factory: pytest.TempPathFactory, load: Callable[[Engine], Engine]
                 ) -> Iterator[Engine]:
    """A migrated store on ``backend`` (sqlite or postgres) filled by ``load``, for module-scoped fixtures."""
    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('store') / 'store.db'}")
        upgrade(engine)
        yield load(engine)
        engine.dispose()
    else:
        for engine in _postgres_engine():
            yield load(engine)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def resolved_store(request: pytest.FixtureRequest, entity_world: Path,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The entity world ingested, resolved and screened, on each back end; tests must not change it."""
    yield from loaded_store(request.param, tmp_path_factory, lambda engine: _resolve_world(engine, entity_world))


@dataclass(frozen=True)
class Workspace:
    """The demo on a small world: ingested, resolved, screened, trained and the last day selected, with one
    demo user per role (``users``: username -> {role, password})."""

    engine: Engine
    users: dict[str, dict[str, str]]
    demo: dict[str, Any]

    def user(self, role: str) -> tuple[str, str]:
        """(username, password) of the demo user holding ``role``."""
        return next((name, u["password"]) for name, u in self.users.items() if u["role"] == role)


def _build_workspace(engine: Engine, world: Path) -> Workspace:
    from contextlib import nullcontext

    from cintel.demo import demo_users, run_demo

    demo = run_demo(engine, declarations=WORKSPACE_DECLARATIONS, seed=7, world=world, months=3,
                    progress=lambda *_: nullcontext(lambda _n: None))
    return Workspace(engine=engine, users=demo_users(engine), demo=demo)


WORKSPACE_DECLARATIONS = 5_000


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace world on each back end, built once per session. Tests may add to it (cases, outcomes,
    assignments) but must not assume they are alone in it, and must not delete or rewrite what the demo made."""
    world = tmp_path_factory.getbasetemp() / "workspace-world"
    for engine in loaded_store(request.param, tmp_path_factory, lambda e: e):
        yield _build_workspace(engine, world)
