"""Opening the store: engine creation, SQLite pragmas and migrations to the latest schema."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from cintel.settings import get_settings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers (web app, analysts) work while an ingest writes; NORMAL sync is safe with WAL.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A page cache large enough for the indexes being appended to keeps bulk loads from thrashing.
    cursor.execute(f"PRAGMA cache_size=-{get_settings().sqlite_cache_mb * 1024}")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for the store at url (default: CINTEL_DATABASE_URL), creating the SQLite folder."""
    url = url or get_settings().database_url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we ship (it gives us COPY); plain postgresql:// would pick psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def is_current(engine: Engine) -> bool:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


def upgrade(engine: Engine) -> None:
    """Bring the store's schema to the latest migration."""
    if not is_current(engine):
        log.info("migrating store %s", engine.url.render_as_string(hide_password=True))
        command.upgrade(alembic_config(engine), "head")


def open_store(url: str | None = None) -> Engine:
    """An engine on an up-to-date store: the one call every command makes before touching data."""
    engine = make_engine(url)
    upgrade(engine)
    return engine
