"""Risk-queue page benchmark: p50/p95/p99 of the queue page over HTTP on a 1 M-declaration store, and the
ratio to the same page's SQL run directly (no HTTP, no templating) in the same process.

HTTP is FastAPI's TestClient: the real app (middleware, session check, CSRF, templates, access log) driven
in-process through its ASGI interface, so network and uvicorn are not in the figure.

The store is `bench/web_world.py`'s world, copied (the cached world is shared with other benchmarks and
is not changed). Its latest run scores one day (a few thousand declarations at 1 M); the worst case is a
run over many more, so a synthetic selection run of ``--synthetic`` assessments over the most recent
declarations is added to the copy and becomes the queue (the output says so). Each of ``--loads`` page
loads mixes sorts, filters (channel, office, HS chapter, origin, rule) and pages (first, second, middle,
last), after ``--warmup`` loads that are not timed. The baseline executes, for the same requests, the
queries the page runs: the latest run, the count, the page and the access-log write.

    python bench/bench_web_queue.py                          # 1 M declarations, 100 000 assessments
    python bench/bench_web_queue.py --declarations 20000 --synthetic 20000 --json
    python bench/bench_web_queue.py --simulated --declarations 150000   # declarations only, no demo pipeline
    python bench/bench_web_queue.py --smoke                  # tiny store in a temporary folder (tests)
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine, func, insert, select, text

from cintel.store.engine import make_engine, upgrade
from cintel.store.risk_tables import risk_assessments, risk_runs
from cintel.store.tables import declarations
from web_world import percentiles

PASSWORD = "bench password not secret"
log = logging.getLogger("bench_web_queue")


@contextmanager
def store_copy(declarations_n: int, seed: int, simulated: bool) -> Iterator[tuple[Engine, str]]:
    """A private SQLite store to benchmark on: a copy of the cached web world, or (``simulated``) a store of
    freshly simulated declarations only, without the demo pipeline (--smoke, --simulated)."""
    with tempfile.TemporaryDirectory(dir=None if simulated else "var/bench") as tmp:
        path = Path(tmp) / "store.db"
        if simulated:
            from cintel.ingest.pipeline import ingest_file
            from cintel.simulate import simulate_world

            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            simulate_world(Path(tmp) / "world", declarations=declarations_n, seed=seed, formats=("parquet",))
            ingest_file(engine, Path(tmp) / "world" / "declarations.parquet")
            source = f"a simulated world of {declarations_n} declarations (declarations only, no demo pipeline)"
        else:
            import sys

            sys.path.insert(0, str(Path(__file__).parent))
            from web_world import web_world

            shared = web_world(declarations_n, seed)
            with shared.begin() as conn:
                conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            original = Path(str(shared.url.database))
            shared.dispose()
            started = time.perf_counter()
            shutil.copyfile(original, path)
            log.info("copied %s in %.1f s", original, time.perf_counter() - started)
            engine = make_engine(f"sqlite:///{path}")
            upgrade(engine)
            source = f"web_world({declarations_n}, seed={seed}), copied"
        try:
            yield engine, source
        finally:
            engine.dispose()


def add_synthetic_run(engine: Engine, n: int, seed: int) -> dict[str, Any]:
    """A selection run over the ``n`` most recent declarations, shaped like a real one (channels by rank,
    reasons and rule hits drawn from the store's real runs when there are any)."""
    rng = np.random.default_rng(seed)
    with engine.connect() as conn:
        ids = conn.execute(select(declarations.c.declaration_id).order_by(
            declarations.c.declaration_date.desc(), declarations.c.declaration_id).limit(n)).scalars().all()
        hit_lists = conn.execute(select(risk_assessments.c.rule_hits).distinct().limit(200)).scalars().all()
        reason_lists = conn.execute(select(risk_assessments.c.reasons).where(risk_assessments.c.reasons != "[]")
                                    .limit(200)).scalars().all()
    hit_lists = list(hit_lists) or ['[["R01", 1]]', '[["R02", 1], ["R06", 1]]', '[["R04", 1]]']
    reason_lists = list(reason_lists) or ['["unit value 60 % below peers"]']
    m = len(ids)
    priority = rng.lognormal(0, 1, m)
    order = np.argsort(-priority, kind="stable")
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(1, m + 1)
    red, yellow = max(1, m // 50), max(1, m // 20)
    rows = []
    for k in range(m):
        r = int(rank[k])
        channel = "red" if r <= red else "yellow" if r <= red + yellow else "green"
        reason = "none" if channel == "green" else str(rng.choice(["score", "score", "score", "rule", "random",
                                                                   "exploration"]))
        hits = hit_lists[int(rng.integers(len(hit_lists)))] if rng.random() < 0.4 else "[]"
        rows.append({"run_id": None, "declaration_id": ids[k], "probability": float(1 / (1 + np.exp(-priority[k] + 2))),
                     "expected_revenue": float(priority[k] * 100), "priority": float(priority[k]), "rank": r,
                     "rule_score": 0.0, "rule_hits": hits, "channel": channel, "selection_reason": reason,
                     "selection_detail": None, "reasons": reason_lists[int(rng.integers(len(reason_lists)))]})
    summary = {"n": m, "synthetic": True}
    with engine.begin() as conn:
        run_id = conn.execute(insert(risk_runs).values(
            kind="select", run_date=datetime.now(UTC).date(), created_at=datetime.now(UTC), created_by="bench",
            model_id=None, revenue_model_id=None, rule_versions="[]",
            parameters=json.dumps({"red_capacity": red, "yellow_capacity": yellow}), summary=json.dumps(summary),
        ).returning(risk_runs.c.run_id)).scalar_one()
        for start in range(0, m, 20_000):
            chunk = rows[start:start + 20_000]
            for row in chunk:
                row["run_id"] = run_id
            conn.execute(insert(risk_assessments), chunk)
        # The value, HS code and origin the queue shows, from the declarations' items, as a real run stores them.
        conn.execute(text(_migration("0014_stored_explanations_and_queue_facts").FILL))
    return {"run_id": int(run_id), "assessments": m}


def _migration(name: str) -> Any:
    import importlib

    return importlib.import_module(f"cintel.store.migrations.versions.{name}")


def requests(engine: Engine, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` queue requests mixing sorts, filters and pages (first, second, middle, last)."""
    from cintel.risk.queue import SORT_COLUMNS, count, filter_clauses, filter_options, latest_run

    run = latest_run(engine)
    assert run is not None
    options = filter_options(engine, run["run_id"])
    rng = random.Random(seed)
    combos: list[dict[str, str]] = [{}, {"channel": "red"}, {"channel": "yellow"}, {"channel": "green"}]
    for key, name in (("offices", "office"), ("chapters", "chapter"), ("origins", "origin"), ("rules", "rule")):
        for value in options[key][:3]:
            combos.append({name: value})
    if options["chapters"] and options["origins"]:
        combos.append({"channel": "green", "chapter": options["chapters"][0], "origin": options["origins"][0]})
    totals = {}
    for combo in combos:
        filters = as_filters(combo)
        totals[json.dumps(combo)] = count(engine, run["run_id"], filters,
                                          filter_clauses(engine, run["run_id"], filters))
    out = []
    for _ in range(n):
        combo = rng.choice(combos)
        size = rng.choice([50, 50, 100, 200])
        pages = max(1, -(-totals[json.dumps(combo)] // size))
        page = rng.choice([1, 1, 2, max(1, pages // 2), pages])
        sort = rng.choice([*SORT_COLUMNS, *(f"-{c}" for c in SORT_COLUMNS)])
        out.append({**combo, "page": page, "size": size, "sort": sort})
    return out


def as_filters(params: dict[str, Any]) -> Any:
    from cintel.domain.codes import Channel
    from cintel.risk.queue import QueueFilters

    return QueueFilters(channel=Channel(params["channel"]) if params.get("channel") else None,
                        office=params.get("office"), chapter=params.get("chapter"), origin=params.get("origin"),
                        rule=params.get("rule"))


def direct(engine: Engine, params: dict[str, Any]) -> None:
    """The baseline: the queue page's queries executed directly, without HTTP or templating."""
    from cintel.domain.access import AccessContext
    from cintel.risk.queue import filter_clauses, latest_run, page_query
    from cintel.store.access_log import record_view

    run = latest_run(engine)
    assert run is not None
    filters = as_filters(params)
    with engine.connect() as conn:
        conn.execute(select(func.count()).select_from(risk_assessments)
                     .where(*filter_clauses(engine, run["run_id"], filters))).scalar_one()
        conn.execute(page_query(engine, run["run_id"], page=params["page"], size=params["size"],
                                sort=params["sort"], filters=filters)).all()
    record_view(engine, AccessContext(user="bench-officer", purpose="bench", roles=frozenset({"targeting_officer"})),
                object_kind="queue", object_id=str(run["run_id"]), route="/queue")


def drop_queue_indexes(engine: Engine) -> list[str]:
    """Drops migration 0006's indexes from the private copy, to measure what they are worth."""
    migration = _migration("0006_risk_queue_indexes")
    with engine.begin() as conn:
        for name in migration.INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))  # names from the migration, not from input
    return list(migration.INDEXES)


def run(declarations_n: int, seed: int, loads: int, warmup: int, synthetic: int, simulated: bool,
        without_indexes: bool = False) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from cintel.settings import Settings
    from cintel.web.accounts import add_user
    from cintel.web.app import create_app
    from cintel.web.serve import sign_in

    with store_copy(declarations_n, seed, simulated) as (engine, source):
        with engine.connect() as conn:
            n_decl = conn.execute(select(func.count()).select_from(declarations)).scalar_one()
            last = conn.execute(select(risk_runs.c.run_id, func.count(risk_assessments.c.declaration_id))
                                .select_from(risk_runs.outerjoin(risk_assessments))
                                .group_by(risk_runs.c.run_id).order_by(risk_runs.c.run_id.desc()).limit(1)).first()
        latest = {"run_id": last[0], "assessments": int(last[1])} if last else None
        synthetic_run = None
        if latest is None or latest["assessments"] < synthetic:
            started = time.perf_counter()
            synthetic_run = add_synthetic_run(engine, synthetic, seed)
            synthetic_run["insert_seconds"] = round(time.perf_counter() - started, 1)
        dropped = drop_queue_indexes(engine) if without_indexes else []
        add_user(engine, "bench-officer", PASSWORD, ["targeting_officer"], "Bench officer")
        add_user(engine, "bench-inspector", PASSWORD, ["inspector"], "Bench inspector")
        mix = requests(engine, warmup + loads, seed)
        app = create_app(engine, settings=Settings(web_secure_cookies=True))
        http: list[float] = []
        base: list[float] = []
        by_filter: dict[str, list[float]] = {}
        by_sort: dict[str, list[float]] = {}
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            assert sign_in(client, "bench-officer", PASSWORD).status_code == 303
            for i, params in enumerate(mix):
                started = time.perf_counter()
                answer = client.get("/queue", params=params)
                took = time.perf_counter() - started
                assert answer.status_code == 200, (params, answer.status_code, answer.text[:300])
                started = time.perf_counter()
                direct(engine, params)
                took_direct = time.perf_counter() - started
                if i >= warmup:
                    http.append(took)
                    base.append(took_direct)
                    kind = "+".join(k for k in params if k not in ("page", "size", "sort")) or "no filter"
                    by_filter.setdefault(kind, []).append(took)
                    by_sort.setdefault(params["sort"].removeprefix("-"), []).append(took)
        page_ms, base_ms = percentiles(http), percentiles(base)
        return {
            "store": source, "declarations": int(n_decl), "latest_world_run": latest,
            "synthetic_run": synthetic_run,
            "note": ("the queue shows a synthetic run of many assessments (the worst case), added to the copy"
                     if synthetic_run else "the queue shows the world's own latest run"),
            "queue_indexes_dropped": dropped,
            "http": "FastAPI TestClient (in-process ASGI)", "loads": loads, "warmup": warmup,
            "page_ms": page_ms, "baseline_direct_sql_ms": base_ms,
            "page_ms_by_filter": {k: {"n": len(v), **percentiles(v)} for k, v in sorted(by_filter.items())},
            "page_ms_by_sort": {k: {"n": len(v), **percentiles(v)} for k, v in sorted(by_sort.items())},
            "ratio_p95": round(page_ms["p95"] / base_ms["p95"], 2) if base_ms["p95"] else None,
            "target_p95_ms": 300, "meets_target": page_ms["p95"] <= 300,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--loads", type=int, default=200, help="timed page loads")
    parser.add_argument("--warmup", type=int, default=20, help="untimed page loads first")
    parser.add_argument("--synthetic", type=int, default=100_000,
                        help="assessments of the synthetic run added when the latest run has fewer")
    parser.add_argument("--without-indexes", action="store_true",
                        help="drop migration 0006's queue indexes from the copy first (to compare)")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--simulated", action="store_true",
                        help="simulate and ingest --declarations declarations only (no demo pipeline) instead of "
                             "using web_world: quicker to build, same queue tables")
    parser.add_argument("--smoke", action="store_true", help="a tiny store in a temporary folder, few loads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING if args.json else logging.INFO, format="%(asctime)s %(message)s")
    if args.smoke:
        args.declarations, args.loads, args.warmup, args.synthetic = 600, 20, 3, 600
    result = run(args.declarations, args.seed, args.loads, args.warmup, args.synthetic,
                 args.smoke or args.simulated, args.without_indexes)
    if args.json:
        print(json.dumps(result))
        return
    p, b = result["page_ms"], result["baseline_direct_sql_ms"]
    print(f"store: {result['store']}: {result['declarations']:,} declarations")
    print(f"queue: {result['note']}: {result['synthetic_run'] or result['latest_world_run']}")
    print(f"queue page over HTTP ({result['http']}), {result['loads']} loads after {result['warmup']} warm-up:")
    print(f"  page      p50 {p['p50']} ms  p95 {p['p95']} ms  p99 {p['p99']} ms")
    print(f"  baseline  p50 {b['p50']} ms  p95 {b['p95']} ms  p99 {b['p99']} ms  (same SQL, direct)")
    print(f"  ratio p95 page/baseline: {result['ratio_p95']}; target p95 <= 300 ms: "
          f"{'met' if result['meets_target'] else 'NOT met'}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
