"""One entity graph per store, kept in memory between requests and rebuilt only when the store changed.

``load_network`` rebuilds the whole graph from the store (seconds at 100 k declarations, a minute at a
million), far too slow for a click in the browser. ``NetworkCache`` keeps the last ``StoreNetwork`` of an
engine with the *state token* it was built at: a handful of cheap aggregates over the tables the graph is
made from. Each request reads the token (one round trip of small aggregate queries); when it is unchanged
the cached graph is answered, otherwise the graph is rebuilt once, under a lock, while concurrent callers
wait for that one build instead of starting their own.

With ``refresh_in_background`` (the app's caches), a changed token does not make the request wait when a
graph is already held: the previous graph is answered while one background thread builds the new one
(stale while it refreshes). A store fed by a stream changes every few seconds; waiting a minute for each
rebuild at a million declarations would leave the pages unusable. The graph is then at most one build
behind the store, and a rebuild starts only once the graph held is older than its own build took, so
that rebuilding takes at most half of the time. Only the first build, and the one after ``invalidate``
(an analyst's own merge or split, which they expect to see at once), are waited for.

What the token watches, and why that is enough:

- ``batches``: the highest batch id and the rows stored - every ingest (declarations, containers,
  inspections, watch lists, parties) adds a batch;
- ``entities``: their count and latest ``updated_at`` - resolution, merge, split and not-same all
  recluster, which rewrites the table with a fresh timestamp;
- ``entity_decisions``: the highest id (an analyst's decision, even one that changes no cluster);
- ``screening_hits`` and ``screening_dispositions``: the highest hit id, the open hits, the dispositions
  and the latest decision - "listed" flags depend on them;
- the setting ``screening_auto_list_score``, which decides which open hits list an entity.

Values derived from the graph (the party graph, ranked rings, a name index) are cached alongside it with
``derived``: they are dropped with the graph when the token changes.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine, func, select

from cintel.network.store_graph import StoreNetwork, load_network
from cintel.settings import get_settings
from cintel.store.entity_tables import entities, entity_decisions, screening_dispositions, screening_hits
from cintel.store.tables import batches

log = logging.getLogger(__name__)
T = TypeVar("T")
TOKEN_TTL = 0.5  # seconds a store-state token is trusted before it is read again
Token = tuple[Any, ...]


def store_token(engine: Engine) -> Token:
    """The store state the entity graph depends on, as a tuple of cheap aggregates (see the module doc)."""
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


@dataclass
class _Entry:
    token: Token
    network: StoreNetwork
    built_at: float
    seconds: float
    derived: dict[Hashable, Any] = field(default_factory=dict)


class NetworkCache:
    """The entity graph of one engine, rebuilt when ``store_token`` changes.

    ``loader`` builds the graph (``load_network`` by default; tests count its calls). The token is read at
    most once per ``token_ttl`` seconds: a burst of clicks costs one token read, and a change made outside
    this process is seen within that time (changes made through the app call ``invalidate``)."""

    def __init__(self, engine: Engine, loader: Callable[[Engine], StoreNetwork] = load_network, *,
                 token_ttl: float = TOKEN_TTL, refresh_in_background: bool = False) -> None:
        self._engine_ref = weakref.ref(engine)
        self._token_ttl = token_ttl
        self._token: tuple[float, Token] | None = None
        self._loader = loader
        self._background = refresh_in_background
        self._entry: _Entry | None = None
        self._build_lock = threading.Lock()
        self._derived_lock = threading.Lock()
        self._state: dict[Hashable, tuple[Token, Any]] = {}
        self._state_lock = threading.Lock()
        self._refreshes: dict[Hashable, threading.Thread] = {}
        self._refreshes_lock = threading.Lock()
        self.builds = 0

    @property
    def engine(self) -> Engine:
        engine = self._engine_ref()
        if engine is None:  # pragma: no cover - the cache lives in a dict keyed weakly by the engine
            raise RuntimeError("the engine of this network cache is gone")
        return engine

    @property
    def refreshes_in_background(self) -> bool:
        return self._background

    def token(self) -> Token:
        """The store's state token, read again when the last read is older than ``token_ttl``."""
        held, at = self._token, time.monotonic()
        if held is not None and at - held[0] < self._token_ttl:
            return held[1]
        token = store_token(self.engine)
        self._token = (at, token)
        return token

    def _current(self) -> _Entry:
        token = self.token()
        entry = self._entry
        if entry is not None and entry.token == token:
            return entry
        if entry is not None and self._background:
            # Rest at least as long as the last build took: rebuilding never takes more than half the time.
            if time.time() - entry.built_at >= entry.seconds:
                self._refresh_later("graph", self._refresh_graph)
            return entry
        with self._build_lock:
            entry = self._entry  # another request may have built it while this one waited
            if entry is not None and entry.token == token:
                return entry
            return self._build(token)

    def _build(self, token: Token) -> _Entry:
        """Builds the graph of the store at ``token`` and keeps it; the caller holds the build lock."""
        started = time.perf_counter()
        network = self._loader(self.engine)
        # Read the token again after the build: a change that landed during the build must not be
        # hidden behind the older token (the next request then rebuilds).
        after = store_token(self.engine)
        seconds = time.perf_counter() - started
        entry = _Entry(token=token if after == token else (*token, "stale"), network=network,
                       built_at=time.time(), seconds=seconds)
        self._entry = entry
        self.builds += 1
        log.info("entity graph built in %.2f s: %s", seconds, getattr(network, "graph", network))
        return entry

    def _refresh_graph(self) -> None:
        with self._build_lock:
            token = store_token(self.engine)
            self._token = (time.monotonic(), token)
            entry = self._entry
            if entry is None or entry.token != token:
                self._build(token)

    def _refresh_later(self, key: Hashable, job: Callable[[], object]) -> None:
        """Runs ``job`` in a background thread, unless a refresh of ``key`` is already running."""
        with self._refreshes_lock:
            running = self._refreshes.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._guarded, args=(key, job), daemon=True,
                                      name=f"network-cache-refresh-{key}")
            self._refreshes[key] = thread
            thread.start()

    @staticmethod
    def _guarded(key: Hashable, job: Callable[[], object]) -> None:
        try:
            job()
        except Exception:  # a background thread has nobody to raise to: the previous value stays answered
            log.exception("refreshing %s in the background failed; the previous one is still answered", key)

    def wait_for_refreshes(self, timeout: float | None = None) -> bool:
        """Waits for the background refreshes running now; True when none is left running."""
        with self._refreshes_lock:
            running = list(self._refreshes.values())
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in running:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in running)

    def status(self) -> dict[str, Any]:
        """When the graph held was built (epoch seconds), how long that took, and whether a newer one is
        being built: what a page shows next to a graph that may be one build behind the store."""
        entry = self._entry
        with self._refreshes_lock:
            refreshing = any(t.is_alive() for t in self._refreshes.values())
        return {"built_at": entry.built_at if entry else None, "seconds": entry.seconds if entry else None,
                "refreshing": refreshing}

    def network(self) -> StoreNetwork:
        """The graph of the store as it is now (built now if the store changed since the last build), or
        with ``refresh_in_background`` the graph held while a newer one is built."""
        return self._current().network

    def derived(self, key: Hashable, compute: Callable[[StoreNetwork], T]) -> T:
        """``compute(network)`` for the current graph, computed once per graph and ``key``."""
        entry = self._current()
        if key in entry.derived:
            value: T = entry.derived[key]
            return value
        with self._derived_lock:
            if key not in entry.derived:
                entry.derived[key] = compute(entry.network)
            value = entry.derived[key]
        return value

    def by_state(self, key: Hashable, compute: Callable[[Engine], T]) -> T:
        """``compute(engine)`` cached until the store token changes, without building the graph (a name
        index for search needs the store's state, not the graph). Refreshed in the background as the
        graph is, when the cache does so and a value is held."""
        token = self.token()
        held = self._state.get(key)
        if held is not None and held[0] == token:
            value: T = held[1]
            return value
        if held is not None and self._background:
            self._refresh_later(("state", key), lambda: self._compute_state(key, compute))
            stale: T = held[1]
            return stale
        return self._compute_state(key, compute, token)

    def _compute_state(self, key: Hashable, compute: Callable[[Engine], T], token: Token | None = None) -> T:
        with self._state_lock:
            token = token or store_token(self.engine)
            held = self._state.get(key)
            if held is None or held[0] != token:
                held = (token, compute(self.engine))
                self._state[key] = held
            value: T = held[1]
        return value

    def invalidate(self) -> None:
        """Forget the graph: the next call rebuilds it, and waits for it (the token would notice anyway;
        this saves a build that a writer knows to be useless, and shows the writer their change)."""
        with self._build_lock:
            self._entry = None
            self._token = None
        with self._state_lock:
            self._state.clear()


_caches: weakref.WeakKeyDictionary[Engine, NetworkCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def network_cache(engine: Engine) -> NetworkCache:
    """The one graph cache of ``engine`` (created on first use), refreshed in the background."""
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = NetworkCache(engine, refresh_in_background=True)
        return cache


def cached_network(engine: Engine) -> StoreNetwork:
    """The entity graph of the store, from the cache when the store has not changed."""
    return network_cache(engine).network()
