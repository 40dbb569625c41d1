"""Shared fixtures: a store on every back end, and small files to ingest.

Stores are copied, not rebuilt: the session migrates one template store per back end from the current
migrations (never cached across runs), and each test gets a copy of it (a SQLite file copy, or a PostgreSQL
database created from it as template), far cheaper than running Alembic per test. A store that many tests
need in the same loaded state is built once the same way (``store_template``) and copied per test.

Under pytest-xdist the session-wide worlds (the workspace, the resolved entity world) are built once for the
whole run, by whichever worker needs them first, and shared with the other workers through the run's common
temporary folder; the PostgreSQL databases of the run share one prefix and the controller drops them all at
the end.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from cintel.settings import get_settings
from cintel.store.engine import make_engine, upgrade

if TYPE_CHECKING:
    from cintel.entities.service import ResolutionReport

# Cheap settings for the whole session and the commands it starts (they inherit the environment): argon2id
# with one pass over 32 KiB, the least argon2 accepts with its 4 lanes, instead of 3 passes over 64 MiB; and
# resolution's u probabilities from 200,000 random pairs instead of 2 million (the test worlds hold a few
# thousand records: same F1 on the entity smoke world, a quarter of the time). Nothing reads the settings on
# import; the cache is cleared in case something did.
TEST_SETTINGS = {"CINTEL_PASSWORD_HASH_TIME_COST": "1", "CINTEL_PASSWORD_HASH_MEMORY_KIB": "32",
                 "CINTEL_RESOLUTION_U_SAMPLE_PAIRS": "2e5"}
for _name, _value in TEST_SETTINGS.items():
    os.environ.setdefault(_name, _value)
get_settings.cache_clear()

POSTGRES_URL = os.environ.get("CINTEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
T = TypeVar("T")


class _Postgres:
    """Databases of this session on the PostgreSQL server: created (from a template) and dropped by name."""

    def __init__(self) -> None:
        self._admin: Engine | None = None
        # Unique per run (shared by its xdist workers), so concurrent runs never touch each other's databases.
        self.prefix = run_prefix(os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex)

    def admin(self) -> Engine:
        if self._admin is None:
            self._admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        return self._admin

    def url(self, database: str) -> str:
        return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:12]}"
        source = f' TEMPLATE "{template}"' if template else ""
        try:
            with self.admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
        except Exception as exc:  # the suite needs the server: fail loudly rather than skip
            raise RuntimeError(f"PostgreSQL at {POSTGRES_URL} is needed for the store tests: {exc}") from exc
        return name

    def seal(self, database: str) -> None:
        """Ends every session on ``database`` (CREATE DATABASE ... TEMPLATE needs it unused)."""
        with self.admin().connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": database})

    def drop(self, database: str) -> None:
        with self.admin().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))

    def drop_run(self, prefix: str) -> None:
        """Drops every database of the run named by ``prefix`` (its workers' shared templates among them)."""
        with self.admin().connect() as conn:
            names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                 {"p": prefix + "\\_%"}).scalars().all()
        for name in names:
            self.drop(name)

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()
            self._admin = None


def run_prefix(run_id: str) -> str:
    return f"cintel_{run_id[:8]}"


def _is_xdist_worker() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


def pytest_configure(config: pytest.Config) -> None:
    # The controller picks the run id its workers get, so that it knows the prefix of their databases.
    if not _is_xdist_worker() and getattr(config.option, "numprocesses", None) and not config.option.testrunuid:
        config.option.testrunuid = uuid.uuid4().hex


def pytest_sessionfinish(session: pytest.Session) -> None:
    run_id = getattr(session.config.option, "testrunuid", None)
    if not _is_xdist_worker() and run_id:
        _POSTGRES.drop_run(run_prefix(run_id))
        _POSTGRES.close()


_POSTGRES = _Postgres()


@dataclass
class StoreTemplate:
    """A store built once per session, copied for each user: a SQLite file, or a PostgreSQL database used as
    the template of new ones."""

    backend: str
    location: str  # the SQLite file, or the PostgreSQL database name

    @contextmanager
    def copy(self, folder: Path | None = None, name: str = "store.db") -> Iterator[Engine]:
        """A fresh store holding what the template holds (``folder``: where a SQLite copy goes), dropped after."""
        if self.backend == "sqlite":
            if folder is None:
                raise ValueError("a SQLite copy needs a folder")
            path = folder / name
            shutil.copyfile(self.location, path)
            engine = make_engine(f"sqlite:///{path}")
            try:
                yield engine
            finally:
                engine.dispose()
            return
        database = _POSTGRES.create(template=self.location)
        engine = make_engine(_POSTGRES.url(database))
        try:
            yield engine
        finally:
            engine.dispose()
            _POSTGRES.drop(database)


def _seal(engine: Engine) -> None:
    """Makes a store usable as a template: everything written into its main file (or database), no session left."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
    else:
        engine.dispose()
        _POSTGRES.seal(str(engine.url.database))


@dataclass
class _Templates:
    """The session's template stores: the migrated one per back end, and loaded ones built from it."""

    folder: Path | None = None
    shared_folder: Path | None = None  # under xdist: the run's folder, common to its workers
    migrated: dict[str, StoreTemplate] = field(default_factory=dict)
    built: list[StoreTemplate] = field(default_factory=list)

    def _folder(self) -> Path:
        if self.folder is None:
            raise RuntimeError("the template stores are set up by the session fixture _store_templates")
        return self.folder

    def migrated_store(self, backend: str) -> StoreTemplate:
        """The store at the current head of the migrations, built on first use in this session."""
        if backend not in self.migrated:
            if backend == "sqlite":
                path = self._folder() / f"migrated-{uuid.uuid4().hex[:8]}.db"
                engine = make_engine(f"sqlite:///{path}")
                template = StoreTemplate("sqlite", str(path))
            else:
                database = _POSTGRES.create()
                engine = make_engine(_POSTGRES.url(database))
                template = StoreTemplate("postgres", database)
            self.built.append(template)
            upgrade(engine)
            _seal(engine)
            self.migrated[backend] = template
        return self.migrated[backend]

    def build(self, backend: str, load: Callable[[Engine], T]) -> tuple[StoreTemplate, T]:
        """A new template: the migrated store filled by ``load``; returns it and what ``load`` returned."""
        migrated = self.migrated_store(backend)
        if backend == "sqlite":
            path = self._folder() / f"loaded-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(migrated.location, path)
            engine = make_engine(f"sqlite:///{path}")
            template = StoreTemplate("sqlite", str(path))
        else:
            database = _POSTGRES.create(template=migrated.location)
            engine = make_engine(_POSTGRES.url(database))
            template = StoreTemplate("postgres", database)
        self.built.append(template)
        try:
            result = load(engine)
        finally:
            _seal(engine)
        return template, result

    def shared(self, key: str, build: Callable[[], T]) -> T:
        """What ``build`` returns (picklable), built once per run: under xdist the first worker to ask builds it
        (the others wait on a lock) and leaves it for the controller to drop; otherwise built here."""
        if self.shared_folder is None:
            return build()
        done = self.shared_folder / f"{key}.pickle"
        with open(self.shared_folder / f"{key}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if done.exists():
                result: T = pickle.loads(done.read_bytes())
                return result
            before = len(self.built)
            result = build()
            del self.built[before:]  # the run's, not this worker's: the controller drops them
            done.write_bytes(pickle.dumps(result))
            return result

    def close(self) -> None:
        for template in self.built:
            if template.backend == "postgres":
                _POSTGRES.drop(template.location)
        self.built.clear()
        self.migrated.clear()
        _POSTGRES.close()


TEMPLATES = _Templates()


@pytest.fixture(scope="session", autouse=True)
def _store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Templates]:
    """Where the session's template stores live; PostgreSQL ones are dropped at the end of the session."""
    TEMPLATES.folder = tmp_path_factory.mktemp("templates")
    if _is_xdist_worker():
        TEMPLATES.shared_folder = tmp_path_factory.getbasetemp().parent
    yield TEMPLATES
    TEMPLATES.close()


def migrated_sqlite() -> Path:
    """The session's migrated SQLite store, to copy (e.g. as a command line test's store)."""
    return Path(TEMPLATES.migrated_store("sqlite").location)


def _postgres_engine() -> Iterator[Engine]:
    """A fresh PostgreSQL store at the head of the migrations, dropped when the generator is closed."""
    with TEMPLATES.migrated_store("postgres").copy() as engine:
        yield engine


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A fresh, migrated store on each back end: embedded SQLite and PostgreSQL."""
    with TEMPLATES.migrated_store(request.param).copy(tmp_path) as eng:
        yield eng


def store_template(backend: str, load: Callable[[Engine], T]) -> tuple[StoreTemplate, T]:
    """A store in a state many tests start from, built once: the migrated store filled by ``load``. Each test
    takes its own ``copy()`` of it, so tests may change their copy freely."""
    return TEMPLATES.build(backend, load)


@pytest.fixture(scope="session")
def entity_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated world (3,000 declarations, with rings and listed parties) for entity and network tests."""
    from datetime import date

    from cintel.simulate import simulate_world

    def build() -> Path:
        out = tmp_path_factory.mktemp("entity-world")
        simulate_world(out, declarations=3_000, seed=5, formats=("parquet",), defect_rate=0.0,
                       end_date=date(2025, 6, 30), months=8)
        return out

    return TEMPLATES.shared("entity-world", build)


def _resolve_world(engine: Engine, world: Path) -> ResolutionReport:
    from cintel.entities.screening_service import screen_store
    from cintel.entities.service import resolve_store
    from tests.entities.conftest import ANALYST, FIRST, LATER, load_kinds

    load_kinds(engine, world, (*FIRST, *LATER))
    report = resolve_store(engine, ANALYST)
    screen_store(engine, ANALYST)
    return report


def loaded_store(backend: str, tmp_path_factory: pytest.TempPathFactory, load: Callable[[Engine], Engine]
                 ) -> Iterator[Engine]:
    """A migrated store on ``backend`` (sqlite or postgres) filled by ``load``, for module-scoped fixtures."""
    with TEMPLATES.migrated_store(backend).copy(tmp_path_factory.mktemp("store")) as engine:
        yield load(engine)


@pytest.fixture(scope="session", params=BACKENDS)
def resolved_world(request: pytest.FixtureRequest, entity_world: Path) -> tuple[StoreTemplate, ResolutionReport]:
    """The entity world ingested, resolved (all record kinds in one full run: its report) and screened, built
    once per back end."""
    return TEMPLATES.shared(f"resolved-{request.param}", lambda: store_template(
        request.param, lambda engine: _resolve_world(engine, entity_world)))


@pytest.fixture(scope="module")
def resolved_store(resolved_world: tuple[StoreTemplate, ResolutionReport],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The entity world ingested, resolved and screened, on each back end (a copy per module); tests must not
    change it."""
    with resolved_world[0].copy(tmp_path_factory.mktemp("resolved")) as engine:
        yield engine


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


_WORKSPACES: dict[str, tuple[StoreTemplate, Workspace]] = {}


@contextmanager
def workspace_copy(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """A private copy of the workspace world on ``backend``; the world itself is built once per session."""
    if backend not in _WORKSPACES:
        world = tmp_path_factory.getbasetemp() / "workspace-world"

        def build() -> tuple[StoreTemplate, Workspace]:
            template, built = store_template(backend, lambda engine: _build_workspace(engine, world))
            return template, replace(built, engine=None)  # type: ignore[arg-type]  # an engine is not picklable

        _WORKSPACES[backend] = TEMPLATES.shared(f"workspace-{backend}", build)
    template, built = _WORKSPACES[backend]
    with template.copy(tmp_path_factory.mktemp("workspace")) as engine:
        yield replace(built, engine=engine)


@pytest.fixture(scope="session", params=BACKENDS)
def workspace(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The workspace world on each back end, built once per session. Tests may add to it (cases, outcomes,
    assignments) but must not assume they are alone in it, and must not delete or rewrite what the demo made."""
    with workspace_copy(request.param, tmp_path_factory) as built:
        yield built
