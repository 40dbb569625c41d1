"""Entity-graph expansion benchmark: p50/p95/p99 of GET /api/v1/network/expand over HTTP, the first (cold,
cache-building) call apart, and the ratio to the same expansion run directly on the cached in-memory graph;
then, after the store changes, the first call and the p95 while the graph is rebuilt in the background,
against the build a waiting request would have paid.

HTTP is FastAPI's TestClient: the real app (session check, role check, query validation, the store-state
token read, the expansion, JSON, the access-log write) driven in-process through ASGI, so network and
uvicorn are not in the figure.

The store is `bench/web_world.py`'s world, copied (the cached world is shared and is not changed: every
expansion writes an access-log row). Nodes are entity nodes drawn at random (seeded) plus the ten with the
most ties (hubs: their answer is capped at ``limit``); a third of the requests filter by edge kind and a
third by a date window, as the page's checkboxes and date inputs do. ``--warmup`` requests are not timed.
The baseline runs ``cintel.network.expansion.expand`` for the same requests on the cached graph.

    python bench/bench_web_graph.py                         # 1 M declarations
    python bench/bench_web_graph.py --declarations 20000 --json
    python bench/bench_web_graph.py --smoke                 # tiny demo store in a temporary folder (tests)
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine, text

from cintel.store.engine import make_engine, upgrade
from web_world import percentiles

PASSWORD = "bench password not secret"
log = logging.getLogger("bench_web_graph")
MAX_CALLS_DURING_REFRESH = 20_000
KIND_SETS = [["importer_of", "exporter_of"], ["has_address", "has_phone", "has_email", "has_account", "director_of"],
             ["paid", "mentioned_in_report"]]


@contextmanager
def store_copy(declarations_n: int, seed: int, smoke: bool) -> Iterator[tuple[Engine, str]]:
    """A private SQLite store: a copy of the cached web world, or a tiny demo store for --smoke."""
    with tempfile.TemporaryDirectory(dir=None if smoke else "var/bench") as tmp:
        path = Path(tmp) / "store.db"
        if smoke:
            # The graph needs ingest, resolution and screening only: no models to train.
            from cintel.demo import INGEST_ORDER, run_entities
            from cintel.ingest.pipeline import ingest_file
            from cintel.simulate import simulate_world

            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            world = Path(tmp) / "world"
            simulate_world(world, declarations=declarations_n, seed=seed, formats=("parquet",), months=3)
            for kind in INGEST_ORDER:
                if (world / f"{kind.value}.parquet").exists():
                    ingest_file(engine, world / f"{kind.value}.parquet")
            run_entities(engine)
            source = f"a simulated world of {declarations_n} declarations, resolved (smoke)"
        else:
            import sys

            sys.path.insert(0, str(Path(__file__).parent))
            from web_world import CACHE, web_world

            if not (CACHE / f"web-world-{declarations_n}-{seed}" / "complete.json").exists():
                # web_world() would (re)build it from scratch, wiping a build another process may be running.
                raise SystemExit(f"the web world of {declarations_n} declarations is not built: run "
                                 f"`python bench/web_world.py --declarations {declarations_n}` first")
            shared = web_world(declarations_n, seed)
            with shared.begin() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            original = Path(str(shared.url.database))
            shared.dispose()
            shutil.copyfile(original, path)
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            source = f"web_world({declarations_n}, seed={seed}), copied"
        try:
            yield engine, source
        finally:
            engine.dispose()


def record_batch(engine: Engine) -> None:
    """A completed ingest batch, as the store-state token sees one: the graph's inputs changed."""
    from cintel.store.tables import batches

    with engine.begin() as conn:
        conn.execute(batches.insert().values(kind="declarations", source_path="bench-change.csv", source_format="csv",
                                             sha256="0" * 64, size_bytes=1, status="completed",
                                             started_at=datetime.now(UTC), rows_read=1, rows_stored=1))


def requests(network: Any, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` expansion requests: random entity nodes with ties, the ten biggest hubs among them, filters mixed."""
    rng = random.Random(seed)
    g = network.graph
    degree = g.degree
    ids = g.nodes["node_id"]
    entity_rows = np.flatnonzero(ids.str.starts_with("entity:").to_numpy() & (degree > 0))
    hubs = entity_rows[np.argsort(-degree[entity_rows])[:10]]
    days = g.edges["date"].drop_nulls()
    last = days.max() if days.len() else date.today()
    assert isinstance(last, date)
    out = []
    for i in range(n):
        row = int(hubs[i % len(hubs)]) if i % 20 == 0 else int(rng.choice(entity_rows.tolist()))
        req: dict[str, Any] = {"node": str(ids[row])}
        if i % 3 == 1:
            req["kinds"] = rng.choice(KIND_SETS)
        elif i % 3 == 2:
            req["since"] = (last - timedelta(days=rng.choice([30, 90, 365]))).isoformat()
            req["until"] = last.isoformat()
        out.append(req)
    return out


def run(declarations_n: int, seed: int, calls: int, warmup: int, smoke: bool) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from cintel.network.cache import TOKEN_TTL, network_cache
    from cintel.network.expansion import expand, node_risk
    from cintel.settings import Settings
    from cintel.web.accounts import add_user
    from cintel.web.app import create_app
    from cintel.web.serve import sign_in

    with store_copy(declarations_n, seed, smoke) as (engine, source):
        add_user(engine, "bench-analyst", PASSWORD, ["analyst"], "Bench Analyst")
        app = create_app(engine, settings=Settings(web_secure_cookies=True))
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            assert sign_in(client, "bench-analyst", PASSWORD).status_code == 303
            with engine.connect() as conn:
                first_entity = conn.execute(text("SELECT entity_id FROM entities ORDER BY records DESC LIMIT 1")
                                            ).scalar_one()
            started = time.perf_counter()
            cold = client.get("/api/v1/network/expand", params={"node": f"entity:{first_entity}"})
            cold_s = time.perf_counter() - started
            assert cold.status_code == 200, cold.text
            network = network_cache(engine).network()
            risk = node_risk(engine)
            plan = requests(network, warmup + calls, seed)
            for req in plan[:warmup]:
                client.get("/api/v1/network/expand", params=req)
            http, sizes = [], []
            for req in plan[warmup:]:
                t = time.perf_counter()
                answer = client.get("/api/v1/network/expand", params=req)
                http.append(time.perf_counter() - t)
                assert answer.status_code == 200, answer.text
                sizes.append(len(answer.json()["nodes"]))
            # The store changes (a batch lands, as a stream ingest does every few seconds): the cache keeps
            # answering the graph it holds while one background build catches up, instead of making the
            # next click wait for a whole build.
            record_batch(engine)
            cache = network_cache(engine)
            held = cache.status()
            # A rebuild starts once the graph held is older than its own build took, and the change is seen
            # once the state token read last has expired: wait for both.
            time.sleep(max(TOKEN_TTL, held["built_at"] + held["seconds"] - time.time()))
            t = time.perf_counter()
            answer = client.get("/api/v1/network/expand", params=plan[warmup])
            after_change_s = time.perf_counter() - t
            assert answer.status_code == 200, answer.text
            refreshing_seen = bool(answer.json()["graph"]["refreshing"])
            during: list[float] = []
            while answer.json()["graph"]["refreshing"] and len(during) < MAX_CALLS_DURING_REFRESH:
                req = plan[warmup + len(during) % calls]
                t = time.perf_counter()
                answer = client.get("/api/v1/network/expand", params=req)
                during.append(time.perf_counter() - t)
                assert answer.status_code == 200, answer.text
            assert cache.wait_for_refreshes(3_600)
            rebuilt = cache.status()["built_at"] != held["built_at"]
            direct = []
            for req in plan[warmup:]:
                t = time.perf_counter()
                expand(network, req["node"], kinds=req.get("kinds"),
                       since=date.fromisoformat(req["since"]) if "since" in req else None,
                       until=date.fromisoformat(req["until"]) if "until" in req else None, limit=50, risk=risk)
                direct.append(time.perf_counter() - t)
        graph = network.graph
        build_s = float(network_cache(engine).status()["seconds"] or 0.0)
        http_p, direct_p = percentiles(http), percentiles(direct)
        return {
            "benchmark": "entity-graph expansion over HTTP (TestClient, in-process ASGI)",
            "store": source, "declarations": declarations_n,
            "graph": {"nodes": graph.n_nodes, "edges": graph.n_edges,
                      "build_seconds": round(build_s, 2)},
            "cold_first_call_ms": round(cold_s * 1000, 1),
            "after_store_change": {"first_call_ms": round(after_change_s * 1000, 1),
                                   "calls_while_rebuilding": len(during),
                                   "http_ms": percentiles(during or [after_change_s]),
                                   "refreshing_seen": refreshing_seen, "rebuilt": rebuilt,
                                   "ratio_first_call_to_build": round(after_change_s / max(build_s, 1e-3), 4)},
            "calls": calls, "warmup": warmup, "neighbours_shown": {"mean": round(statistics.fmean(sizes), 1),
                                                                   "max": max(sizes)},
            "http_ms": http_p, "direct_ms": direct_p,
            "ratio_p50": round(http_p["p50"] / max(direct_p["p50"], 1e-3), 1),
            "ratio_p95": round(http_p["p95"] / max(direct_p["p95"], 1e-3), 1),
            "target_p95_ms": 200, "meets_target": http_p["p95"] <= 200,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--smoke", action="store_true", help="a tiny demo store in a temporary folder")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON document")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    if args.smoke:
        args.declarations, args.calls, args.warmup = 400, 20, 3
    result = run(args.declarations, args.seed, args.calls, args.warmup, args.smoke)
    if args.json:
        print(json.dumps(result))
        return
    print(f"{result['benchmark']} on {result['store']}")
    print(f"graph: {result['graph']['nodes']:,} nodes, {result['graph']['edges']:,} edges, built in "
          f"{result['graph']['build_seconds']} s; first (cold) call {result['cold_first_call_ms']} ms")
    for name in ("http_ms", "direct_ms"):
        p = result[name]
        print(f"{name:10} p50 {p['p50']:8.2f}  p95 {p['p95']:8.2f}  p99 {p['p99']:8.2f}  mean {p['mean']:8.2f}")
    print(f"ratio HTTP / direct: p50 {result['ratio_p50']}x, p95 {result['ratio_p95']}x; "
          f"target p95 <= 200 ms: {'met' if result['meets_target'] else 'NOT met'}")
    change = result["after_store_change"]
    print(f"after a store change: first call {change['first_call_ms']} ms (a waited rebuild: "
          f"{result['graph']['build_seconds']} s; ratio {change['ratio_first_call_to_build']}); "
          f"{change['calls_while_rebuilding']} calls while the graph rebuilt in the background, p50 "
          f"{change['http_ms']['p50']:.2f} p95 {change['http_ms']['p95']:.2f} p99 {change['http_ms']['p99']:.2f} ms; "
          f"refreshing seen {change['refreshing_seen']}, rebuilt {change['rebuilt']}")


if __name__ == "__main__":
    pl.Config.set_tbl_rows(5)
    main()
