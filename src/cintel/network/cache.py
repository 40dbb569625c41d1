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

The token, the background refreshes and the values derived from the store alone (a name index for
search) are those of ``entities.state``: the graph is one more value of the same store state.

Values derived from the graph (the party graph, ranked rings, the risk per node) are cached alongside it with
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

from sqlalchemy import Engine

from cintel.entities.state import TOKEN_TTL, StateCache, Token, state_cache, store_token
from cintel.network.store_graph import StoreNetwork, load_network

log = logging.getLogger(__name__)
T = TypeVar("T")
__all__ = ["TOKEN_TTL", "NetworkCache", "Token", "cached_network", "network_cache", "store_token"]


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
    this process is seen within that time (changes made through the app call ``invalidate``). ``state`` is
    the store-state cache the token and ``by_state`` values come from (a private one by default; the app's
    graph shares ``entities.state.state_cache`` with search)."""

    def __init__(self, engine: Engine, loader: Callable[[Engine], StoreNetwork] = load_network, *,
                 token_ttl: float = TOKEN_TTL, refresh_in_background: bool = False,
                 state: StateCache | None = None) -> None:
        self._state = state or StateCache(engine, token_ttl=token_ttl, refresh_in_background=refresh_in_background)
        self._loader = loader
        self._background = refresh_in_background
        self._entry: _Entry | None = None
        self._build_lock = threading.Lock()
        self._derived_lock = threading.Lock()
        self.builds = 0

    @property
    def engine(self) -> Engine:
        return self._state.engine

    @property
    def refreshes_in_background(self) -> bool:
        return self._background

    def token(self) -> Token:
        """The store's state token, read again when the last read is older than ``token_ttl``."""
        return self._state.token()

    def _current(self) -> _Entry:
        token = self.token()
        entry = self._entry
        if entry is not None and entry.token == token:
            return entry
        if entry is not None and self._background:
            # Rest at least as long as the last build took: rebuilding never takes more than half the time.
            if time.time() - entry.built_at >= entry.seconds:
                self._state.refresher.run("graph", self._refresh_graph)
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
            token = self._state.read_token()
            entry = self._entry
            if entry is None or entry.token != token:
                self._build(token)

    def wait_for_refreshes(self, timeout: float | None = None) -> bool:
        """Waits for the background refreshes running now; True when none is left running."""
        return self._state.refresher.wait(timeout)

    def status(self) -> dict[str, Any]:
        """When the graph held was built (epoch seconds), how long that took, and whether a newer one is
        being built: what a page shows next to a graph that may be one build behind the store."""
        entry = self._entry
        return {"built_at": entry.built_at if entry else None, "seconds": entry.seconds if entry else None,
                "refreshing": self._state.refresher.running()}

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
        """``compute(engine)`` cached until the store token changes, without building the graph (see
        ``entities.state.StateCache.value``)."""
        return self._state.value(key, compute)

    def invalidate(self) -> None:
        """Forget the graph and the store-state values: the next call rebuilds them, and waits for it (the
        token would notice anyway; this saves a build that a writer knows to be useless, and shows the writer
        their change)."""
        with self._build_lock:
            self._entry = None
            self._state.clear()


_caches: weakref.WeakKeyDictionary[Engine, NetworkCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def network_cache(engine: Engine) -> NetworkCache:
    """The one graph cache of ``engine`` (created on first use), refreshed in the background, on the engine's
    store-state cache (shared with search's name index)."""
    with _caches_lock:
        cache = _caches.get(engine)
        if cache is None:
            cache = _caches[engine] = NetworkCache(engine, refresh_in_background=True, state=state_cache(engine))
        return cache


def cached_network(engine: Engine) -> StoreNetwork:
    """The entity graph of the store, from the cache when the store has not changed."""
    return network_cache(engine).network()
