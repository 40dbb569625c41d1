"""Values computed from the store's resolved parties, kept per engine until the store changes.

Rebuilding a search index or an entity graph takes seconds on a large store, far too slow for a request.
``StateCache`` keeps each value with the *state token* it was computed at: a handful of cheap aggregates
over the tables resolution and screening write (see ``store_token``). A request reads the token (one round
trip of small aggregate queries, trusted for ``TOKEN_TTL`` seconds) and gets the held value while the token
is unchanged; otherwise the value is computed again, once, while concurrent callers wait for it.

With ``refresh_in_background`` (the app's caches), a changed token does not make the request wait when a
value is already held: the previous value is answered while one background thread computes the new one.
A store fed by a stream changes every few seconds; waiting for each rebuild would leave the pages unusable.

What the token watches, and why that is enough:

- ``batches``: the highest batch id and the rows stored - every ingest (declarations, containers,
  inspections, watch lists, parties) adds a batch;
- ``entities``: their count and latest ``updated_at`` - resolution, merge, split and not-same all
  recluster, which rewrites the table with a fresh timestamp;
- ``entity_decisions``: the highest id (an analyst's decision, even one that changes no cluster);
- ``screening_hits`` and ``screening_dispositions``: the highest hit id, the open hits, the dispositions
  and the latest decision - "listed" flags depend on them;
- the setting ``screening_auto_list_score``, which decides which open hits list an entity.

``network.cache`` keeps the entity graph on the same token and the same cache.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from cintel.settings import get_settings
from cintel.store.entity_tables import entities, entity_decisions, screening_dispositions, screening_hits
from cintel.store.tables import batches

log = logging.getLogger(__name__)
T = TypeVar("T")
TOKEN_TTL = 0.5  # seconds a store-state token is trusted before it is read again
Token = tuple[Any, ...]


def store_token(engine: Engine) -> Token:
    """The store state resolved parties depend on, as a tuple of cheap aggregates (see the module doc)."""
    q = select(
        select(func.max(batches.c.id)).scalar_subquery(),
        select(func.coalesce(func.sum(batches.c.rows_stored), 0)).scalar_subquery(),
        select(func.count()).select_from(entities).scalar_subquery(),
        select(func.max(entities.c.updated_at)).scalar_subquery(),
        select(func.max(entity_decisions.c.id)).scalar_subquery(),
        select(func.max(screening_hits.c.id)).scalar_subquery(),
        select(func.count()).select_from(screening_hits).where(screening_hits.c.open.is_(True)).scalar_subquery(),
        select(func.count()).select_from(screening_dispositions).scalar_subquery(),
        select(func.max(screening_dispositions.c.decided_at)).scalar_subquery(),
    )
    with engine.connect() as conn:
        row = conn.execute(q).one()
    return (*(str(v) if v is not None else None for v in row), get_settings().screening_auto_list_score)


class Refresher:
    """Background jobs by key: at most one running per key; a failed job is logged and leaves the value held."""

    def __init__(self) -> None:
        self._threads: dict[Hashable, threading.Thread] = {}
        self._lock = threading.Lock()

    def run(self, key: Hashable, job: Callable[[], object]) -> None:
        """Runs ``job`` in a background thread, unless a job of ``key`` is already running."""
        with self._lock:
            running = self._threads.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._guarded, args=(key, job), daemon=True,
                                      name=f"store-state-refresh-{key}")
            self._threads[key] = thread
            thread.start()

    @staticmethod
    def _guarded(key: Hashable, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:  # a background thread has nobody to raise to: the previous value stays answered
            log.exception("refreshing %s in the background failed; the previous one is still answered", key)

    def running(self) -> bool:
        with self._lock:
            return any(t.is_alive() for t in self._threads.values())

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the jobs running now; True when none is left running."""
        with self._lock:
            running = list(self._threads.values())
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in running:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in running)


class StateCache:
    """Values of one engine's store, each recomputed when ``store_token`` changes (see the module doc)."""

    def __init__(self, engine: Engine, *, token_ttl: float = TOKEN_TTL, refresh_in_background: bool = False) -> None:
        self._engine_ref = weakref.ref(engine)
        self._token_ttl = token_ttl
        self._token: tuple[float, Token] | None = None
        self._values: dict[Hashable, tuple[Token, Any]] = {}
        self._lock = threading.Lock()
        self.background = refresh_in_background
        self.refresher = Refresher()

    @property
    def engine(self) -> Engine:
        engine = self._engine_ref()
        if engine is None:  # pragma: no cover - the cache lives in a dict keyed weakly by the engine
            raise RuntimeError("the engine of this cache is gone")
        return engine

    def token(self) -> Token:
        """The store's state token, read again when the last read is older than ``token_ttl``."""
        held, at = self._token, time.monotonic()
        if held is not None and at - held[0] < self._token_ttl:
            return held[1]
        return self.read_token()

    def read_token(self) -> Token:
        """The store's state token, read now (and trusted for ``token_ttl`` from now)."""
        token = store_token(self.engine)
        self._token = (time.monotonic(), token)
        return token

    def value(self, key: Hashable, compute: Callable[[Engine], T]) -> T:
        """``compute(engine)`` as of the store's current state, computed once per state and ``key``; with
        ``refresh_in_background`` a held value is answered while the new one is computed."""
        token = self.token()
        held = self._values.get(key)
        if held is not None and held[0] == token:
            value: T = held[1]
            return value
        if held is not None and self.background:
            self.refresher.run(("state", key), lambda: self._compute(key, compute))
            stale: T = held[1]
            return stale
        return self._compute(key, compute, token)

    def _compute(self, key: Hashable, compute: Callable[[Engine], T], token: Token | None = None) -> T:
        with self._lock:
            token = token or store_token(self.engine)
            held = self._values.get(key)
            if held is None or held[0] != token:
                held = (token, compute(self.engine))
                self._values[key] = held
            value: T = held[1]
        return value

    def clear(self) -> None:
        """Forget every value and the token: the next call computes afresh, and waits for it."""
        with self._lock:
            self._values.clear()
            self._token = None


_caches: weakref.WeakKeyDictionary[Engine, StateCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def state_cache(engine: Engine) -> StateCache:
    """The one state cache of ``engine`` (created on first use), refreshed in the background."""
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = StateCache(engine, refresh_in_background=True)
        return cache
