"""What the entity and network tests share: who acts, which record kinds come first, how to load them.

The world itself (``entity_world``) and the stores (``engine``, ``resolved_store``) are fixtures of the
root conftest, so the network tests use them too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from cintel.domain.access import AccessContext
from cintel.domain.records import RecordKind
from cintel.ingest.pipeline import ingest_file
from cintel.ingest.readers import ReadOptions

END = date(2025, 6, 30)
ANALYST = AccessContext(user="ann", purpose="tests", roles=frozenset({"analyst"}))
FIRST = (RecordKind.PARTIES, RecordKind.DECLARATIONS)
LATER = (RecordKind.MANIFESTS, RecordKind.FINANCIAL, RecordKind.INTEL_REPORTS, RecordKind.WATCHLIST,
         RecordKind.INSPECTIONS)


Loader = Callable[[tuple[RecordKind, ...]], None]


def load_kinds(engine: Engine, world: Path, kinds: tuple[RecordKind, ...]) -> None:
    for kind in kinds:
        path = world / f"{kind.value}.parquet"
        if path.exists():
            ingest_file(engine, path, options=ReadOptions(kind=kind))
