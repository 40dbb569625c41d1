"""The store the workspace benchmarks run on: the demo pipeline on a large simulated world (1 M
declarations by default), kept on disk and reused by every later run with the same size and seed.

Ingest, entity resolution and screening run on the whole world. Training reads the last
``TRAIN_DAYS`` days of inspections (the risk engine's feature pipeline does not yet fit 1 M
declarations in one batch; see bench/README.md, scoring); the last day is scored and selected with
the demo's capacity, as `make demo` does.

    python bench/web_world.py --declarations 1000000     # build (or check) the cached world
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import statistics
import time
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from cintel.store.engine import make_engine, upgrade

CACHE = Path("var/bench")
TRAIN_DAYS = 120
log = logging.getLogger("web_world")


def _build(engine: Engine, world: Path, declarations: int, seed: int) -> dict[str, Any]:
    from cintel.demo import INGEST_ORDER, run_entities
    from cintel.demo_rules import install, refresh_listed_parties, refresh_seized_traders
    from cintel.domain.access import AccessContext
    from cintel.ingest.pipeline import ingest_file
    from cintel.ingest.readers import ReadOptions
    from cintel.risk import service
    from cintel.simulate import simulate_world

    timings: dict[str, float] = {}
    started = time.perf_counter()
    simulate_world(world, declarations=declarations, seed=seed, formats=("parquet",))
    timings["simulate"] = time.perf_counter() - started
    for kind in INGEST_ORDER:
        path = world / f"{kind.value}.parquet"
        if path.exists():
            t = time.perf_counter()
            ingest_file(engine, path, options=ReadOptions())
            timings[f"ingest {kind.value}"] = time.perf_counter() - t
    t = time.perf_counter()
    run_entities(engine)
    timings["resolve and screen"] = time.perf_counter() - t
    author = AccessContext(user="bench-targeting", purpose="workspace benchmark", roles=frozenset({"targeting"}))
    approver = AccessContext(user="bench-supervisor", purpose="workspace benchmark", roles=frozenset({"supervisor"}))
    install(engine, author, approver)
    day = service.last_declaration_day(engine)
    t = time.perf_counter()
    service.train(engine, author, start=day - timedelta(days=TRAIN_DAYS), end=day)
    timings["train"] = time.perf_counter() - t
    refresh_seized_traders(engine, author, before=day)
    refresh_listed_parties(engine, author, before=day)
    from cintel.demo import DEMO_POLICY

    t = time.perf_counter()
    run = service.run_day(engine, author, day, DEMO_POLICY)
    timings["score and select the last day"] = time.perf_counter() - t
    return {"declarations": declarations, "seed": seed, "day": day.isoformat(), "run_id": run["run_id"],
            "assessed": run["assessments"].height, "seconds": {k: round(v, 1) for k, v in timings.items()}}


def web_world(declarations: int = 1_000_000, seed: int = 11, cache: Path = CACHE) -> Engine:
    """The migrated SQLite store of the world, built on first use (an interrupted build starts again)."""
    folder = cache / f"web-world-{declarations}-{seed}"
    done = folder / "complete.json"
    store = folder / "store.db"
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        store.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{store}")
        upgrade(engine)
        report = _build(engine, folder / "world", declarations, seed)
        done.write_text(json.dumps(report, indent=2))
        log.info("built %s: %s", folder, report)
        return engine
    engine = make_engine(f"sqlite:///{store}")
    upgrade(engine)
    return engine


def percentiles(seconds: list[float]) -> dict[str, float]:
    """Nearest-rank p50/p95/p99, mean and max of timings given in seconds, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)

    def at(q: float) -> float:
        return round(ms[min(len(ms) - 1, max(0, math.ceil(q * len(ms)) - 1))], 3)

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": round(statistics.fmean(ms), 3),
            "max": round(ms[-1], 3)}


def world_report(declarations: int = 1_000_000, seed: int = 11, cache: Path = CACHE) -> dict[str, Any]:
    """What the build of a cached world measured (empty if it is not built)."""
    done = cache / f"web-world-{declarations}-{seed}" / "complete.json"
    return json.loads(done.read_text()) if done.exists() else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    with nullcontext():
        web_world(args.declarations, args.seed)
    print(json.dumps(world_report(args.declarations, args.seed), indent=2))


if __name__ == "__main__":
    main()
