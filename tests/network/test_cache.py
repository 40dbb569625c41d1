"""The graph cache: one graph per store, rebuilt only when the store changed, built once under concurrency."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, update

from cintel.network.cache import NetworkCache, network_cache, store_token
from cintel.network.store_graph import StoreNetwork, load_network
from cintel.store.entity_tables import entities, entity_decisions
from cintel.store.tables import batches
from tests.conftest import Workspace


class CountingLoader:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    def __call__(self, engine: Engine) -> StoreNetwork:
        self.calls += 1
        time.sleep(self.delay)
        return object()  # type: ignore[return-value]  # the cache never looks inside


def _rested(cache: NetworkCache) -> None:
    """Waits until the graph held is older than its build took: only then does a refresh start (a loaded
    machine can make a build, token reads included, outlast the test's own insert)."""
    status = cache.status()
    time.sleep(max(0.0, status["seconds"] - (time.time() - status["built_at"])) + 0.01)


def _batch(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(insert(batches).values(kind="declarations", source_path="x.csv", source_format="csv",
                                            sha256="0" * 64, size_bytes=1, status="completed",
                                            started_at=datetime.now(UTC), rows_read=1, rows_stored=1))


def test_an_unchanged_store_answers_the_same_graph(engine: Engine) -> None:
    loader = CountingLoader()
    cache = NetworkCache(engine, loader, token_ttl=0)
    assert cache.network() is cache.network()
    assert loader.calls == 1


def test_a_new_batch_rebuilds_the_graph(engine: Engine) -> None:
    loader = CountingLoader()
    cache = NetworkCache(engine, loader, token_ttl=0)
    first = cache.network()
    _batch(engine)
    assert cache.network() is not first
    assert loader.calls == 2


def test_an_analysts_decision_or_a_recluster_rebuilds_the_graph(engine: Engine) -> None:
    loader = CountingLoader()
    cache = NetworkCache(engine, loader, token_ttl=0)
    cache.network()
    with engine.begin() as conn:
        conn.execute(insert(entity_decisions).values(record_a="a", record_b="b", decision="same", reason="why",
                                                     decided_by="ann", decided_at=datetime.now(UTC)))
    cache.network()
    assert loader.calls == 2
    with engine.begin() as conn:  # what a merge's recluster does: the entities rewritten, freshly dated
        conn.execute(insert(entities).values(entity_id="E1", entity_type="company", label="A", records=1,
                                             updated_at=datetime(2025, 1, 1, tzinfo=UTC)))
    cache.network()
    with engine.begin() as conn:
        conn.execute(update(entities).values(updated_at=datetime(2025, 1, 2, tzinfo=UTC)))
    cache.network()
    assert loader.calls == 4


def test_concurrent_requests_build_once(engine: Engine) -> None:
    loader = CountingLoader(delay=0.3)
    cache = NetworkCache(engine, loader, token_ttl=0)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(cache.network())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert loader.calls == 1
    assert len({id(g) for g in got}) == 1


def test_derived_values_follow_the_graph(engine: Engine) -> None:
    cache = NetworkCache(engine, CountingLoader(), token_ttl=0)
    computed: list[int] = []

    def compute(network: object) -> int:
        computed.append(1)
        return len(computed)

    assert cache.derived("k", compute) == 1
    assert cache.derived("k", compute) == 1
    _batch(engine)
    assert cache.derived("k", compute) == 2
    token = store_token(engine)
    assert cache.by_state("s", lambda e: token) == token


def test_the_token_is_trusted_for_its_time_to_live(engine: Engine) -> None:
    loader = CountingLoader()
    cache = NetworkCache(engine, loader, token_ttl=60)
    first = cache.network()
    _batch(engine)
    assert cache.network() is first  # within the time to live: the same graph
    cache.invalidate()  # what the app's own writers do
    assert cache.network() is not first
    assert loader.calls == 2


def test_the_cached_graph_equals_an_uncached_load(workspace: Workspace) -> None:
    cached = network_cache(workspace.engine).network()
    assert network_cache(workspace.engine) is network_cache(workspace.engine)
    fresh = load_network(workspace.engine)
    assert cached.graph.nodes.sort("node_id").equals(fresh.graph.nodes.sort("node_id"))
    columns = ["src", "dst", "kind", "date", "source_kind", "source_key", "records"]
    cached_edges, fresh_edges = (n.graph.edges.select(columns).sort(columns[:3]) for n in (cached, fresh))
    assert cached_edges.equals(fresh_edges)
    assert cached.seeds.equals(fresh.seeds)


class GatedLoader(CountingLoader):
    """Builds the first graph at once; later builds wait for ``release``, so a test sees what is answered
    while a refresh runs."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def __call__(self, engine: Engine) -> StoreNetwork:
        if self.calls:
            assert self.release.wait(30)
        return super().__call__(engine)


def test_in_the_background_the_held_graph_is_answered_while_a_newer_one_builds(engine: Engine) -> None:
    loader = GatedLoader()
    cache = NetworkCache(engine, loader, token_ttl=0, refresh_in_background=True)
    first = cache.network()
    _batch(engine)
    _rested(cache)
    assert cache.network() is first  # answered at once, though the store changed
    assert cache.network() is first  # and one refresh at a time
    assert cache.status()["refreshing"]
    loader.release.set()
    assert cache.wait_for_refreshes(30)
    assert cache.network() is not first
    assert loader.calls == 2
    assert cache.status()["refreshing"] is False


def test_after_invalidate_the_next_request_waits_for_the_new_graph(engine: Engine) -> None:
    loader = CountingLoader()
    cache = NetworkCache(engine, loader, token_ttl=0, refresh_in_background=True)
    first = cache.network()
    cache.invalidate()  # an analyst's own merge: they must see it on the next page
    assert cache.network() is not first
    assert loader.calls == 2


def test_a_failed_refresh_keeps_the_held_graph_and_is_tried_again(engine: Engine,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def flaky(engine: Engine) -> StoreNetwork:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk gone")
        return object()  # type: ignore[return-value]

    cache = NetworkCache(engine, flaky, token_ttl=0, refresh_in_background=True)
    first = cache.network()
    _batch(engine)
    _rested(cache)
    assert cache.network() is first
    assert cache.wait_for_refreshes(30)
    assert "disk gone" in caplog.text
    assert cache.network() is first  # still answered, and a new refresh starts
    assert cache.wait_for_refreshes(30)
    assert cache.network() is not first
    assert len(calls) == 3


def test_state_values_are_refreshed_in_the_background_too(engine: Engine) -> None:
    cache = NetworkCache(engine, CountingLoader(), token_ttl=0, refresh_in_background=True)
    computed: list[int] = []

    def compute(engine: Engine) -> int:
        computed.append(1)
        return len(computed)

    assert cache.by_state("index", compute) == 1
    _batch(engine)
    assert cache.by_state("index", compute) == 1  # the held value while it is computed again
    assert cache.wait_for_refreshes(30)
    assert cache.by_state("index", compute) == 2


def test_the_apps_cache_refreshes_in_the_background(engine: Engine) -> None:
    assert network_cache(engine).status() == {"built_at": None, "seconds": None, "refreshing": False}
    assert network_cache(engine).refreshes_in_background
