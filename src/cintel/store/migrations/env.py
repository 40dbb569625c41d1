"""Alembic environment: runs migrations on the engine handed over by cintel.store.engine."""

from __future__ import annotations

from alembic import context

import cintel.store  # noqa: F401  (registers every table on the metadata)
from cintel.store.tables import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
