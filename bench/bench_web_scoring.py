"""Real-time scoring over HTTP: latency of POST /api/v1/score against the same scoring called in process.

Builds a store as the demo does (simulate, ingest, resolve, screen, train, select the last day) in a
temporary folder, serves the real app with uvicorn on a free port of 127.0.0.1 in a background thread,
and POSTs the last day's stored declarations one per request (sequential, one keep-alive connection,
with a targeting officer's bearer token) after a warm-up. The baseline is ``RealtimeScorer.score``
called in this process on the same declarations in the same run; the ratio is HTTP p99 / in-process p99.
Target: p99 <= 50 ms over HTTP.

    python bench/bench_web_scoring.py                        # 20,000 declarations, 2,000 requests
    python bench/bench_web_scoring.py --declarations 100000 --requests 5000 --json
    python bench/bench_web_scoring.py --smoke --json         # tiny world, 20 requests (run by the tests)
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import tempfile
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from web_world import percentiles

TARGET_P99_MS = 50.0
SMOKE = {"declarations": 3_000, "requests": 20, "warmup": 5}
log = logging.getLogger("bench_web_scoring")


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _declarations(engine: Any, day: date) -> list[list[dict[str, Any]]]:
    """The day's stored declarations, each as its item rows in the flat format (what a client sends)."""
    from cintel.store.frames import load_items

    items = load_items(engine, day, day + timedelta(days=1))
    return [[{k: _plain(v) for k, v in row.items()} for row in part.iter_rows(named=True)]
            for part in items.partition_by("declaration_id", maintain_order=True)]


def run(declarations: int, requests: int, warmup: int, seed: int, smoke: bool) -> dict[str, Any]:
    import httpx

    from cintel.demo import run_demo
    from cintel.risk.realtime import RealtimeScorer
    from cintel.risk.service import last_declaration_day
    from cintel.settings import Settings
    from cintel.store.engine import make_engine, upgrade
    from cintel.web.accounts import add_user, create_api_token
    from cintel.web.serve import background

    result: dict[str, Any] = {"declarations": declarations, "requests": requests, "warmup": warmup, "seed": seed,
                              "smoke": smoke, "target": {"p99_ms": TARGET_P99_MS}}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'store.db'}")
        upgrade(engine)
        t0 = time.perf_counter()
        run_demo(engine, declarations=declarations, seed=seed, world=Path(tmp) / "world", months=3,
                 progress=lambda *_: nullcontext(lambda _n: None))
        result["build_seconds"] = round(time.perf_counter() - t0, 1)
        day = last_declaration_day(engine)
        pool = _declarations(engine, day)
        if not pool:
            raise RuntimeError(f"no declarations stored for {day}")
        calls = [pool[i % len(pool)] for i in range(warmup + requests)]
        result["day"], result["distinct_declarations"] = day.isoformat(), min(len(pool), warmup + requests)

        add_user(engine, "bench-officer", secrets.token_urlsafe(16), ["targeting_officer"], "Bench officer")
        token = create_api_token(engine, "bench-officer", "bench_web_scoring").token
        http: list[float] = []
        auth = {"Authorization": f"Bearer {token}"}
        with (background(engine, Settings(web_secure_cookies=False)) as base_url,
              httpx.Client(base_url=base_url, headers=auth, timeout=60) as client):
            for n, items in enumerate(calls):
                started = time.perf_counter()
                answer = client.post("/api/v1/score", json={"items": items})
                elapsed = time.perf_counter() - started
                if answer.status_code != 200:
                    raise RuntimeError(f"request {n}: {answer.status_code} {answer.text[:300]}")
                if n >= warmup:
                    http.append(elapsed)

        # The baseline: the same declarations scored in this process by the same class, no HTTP.
        scorer = RealtimeScorer.from_store(engine, day)
        local: list[float] = []
        for n, items in enumerate(calls):
            started = time.perf_counter()
            scorer.score(items)
            if n >= warmup:
                local.append(time.perf_counter() - started)
        engine.dispose()
    result["http_ms"] = percentiles(http)
    result["in_process_ms"] = percentiles(local)
    result["ratio_p50"] = round(result["http_ms"]["p50"] / result["in_process_ms"]["p50"], 2)
    result["ratio_p99"] = round(result["http_ms"]["p99"] / result["in_process_ms"]["p99"], 2)
    result["meets_target"] = result["http_ms"]["p99"] <= TARGET_P99_MS
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=20_000, help="size of the simulated world")
    parser.add_argument("--requests", type=int, default=2_000, help="timed requests (after the warm-up)")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests first")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="a tiny world and 20 requests (used by the tests)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    sizes = SMOKE if args.smoke else {"declarations": args.declarations, "requests": args.requests,
                                      "warmup": args.warmup}
    result = run(sizes["declarations"], sizes["requests"], sizes["warmup"], args.seed, args.smoke)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    h, b = result["http_ms"], result["in_process_ms"]
    print(f"{result['requests']} requests on a {result['declarations']:,}-declaration world (day {result['day']}, "
          f"{result['distinct_declarations']} distinct declarations)")
    print(f"  over HTTP   p50 {h['p50']:.2f} ms  p95 {h['p95']:.2f} ms  p99 {h['p99']:.2f} ms")
    print(f"  in process  p50 {b['p50']:.2f} ms  p95 {b['p95']:.2f} ms  p99 {b['p99']:.2f} ms")
    print(f"  ratio p50 {result['ratio_p50']}  p99 {result['ratio_p99']}; target p99 <= {TARGET_P99_MS:.0f} ms: "
          f"{'met' if result['meets_target'] else 'NOT met'}")


if __name__ == "__main__":
    main()
