"""Ingest benchmark: a simulated world's declarations from Parquet into each store back end.

Prints JSON with items/s per back end and the ratio of its time to a baseline measured in the
same run: DuckDB reading the same Parquet file and writing it to a DuckDB table. Each phase runs
in its own process so its peak memory (max RSS) is its own.

    python bench/bench_ingest.py                     # 1 M declarations, both back ends
    python bench/bench_ingest.py --declarations 200000 --backends sqlite
    python bench/bench_ingest.py --smoke             # tiny run, used by the test suite
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

POSTGRES_URL = os.environ.get("CINTEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def world(declarations: int, seed: int, root: Path) -> Path:
    from cintel.simulate import simulate_world

    out = root / f"world-{declarations}-{seed}"
    if not (out / "declarations.parquet").exists():
        simulate_world(out, declarations=declarations, seed=seed, formats=("parquet",), defect_rate=0.01)
    return out / "declarations.parquet"


def phase_duckdb(parquet: Path) -> dict[str, float]:
    import duckdb

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        con = duckdb.connect(str(Path(tmp) / "baseline.duckdb"))
        con.execute("SET enable_progress_bar = false")
        rows = con.execute(
            "CREATE TABLE declaration_items AS SELECT * FROM read_parquet(?)", [str(parquet)]
        ).fetchall()
        n = con.execute("SELECT count(*) FROM declaration_items").fetchone()
        con.close()
        seconds = time.perf_counter() - start
    del rows
    return {"seconds": seconds, "rows": float(n[0] if n else 0)}


def phase_store(parquet: Path, url: str) -> dict[str, float]:
    from sqlalchemy import create_engine, text

    from cintel.ingest.pipeline import ingest_file
    from cintel.ingest.readers import ReadOptions
    from cintel.settings import get_settings
    from cintel.store.engine import make_engine, upgrade

    schema = None
    if url.startswith("postgresql"):
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(url).begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{url}?options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        start = time.perf_counter()
        report = ingest_file(engine, parquet, options=ReadOptions(chunk_rows=get_settings().ingest_chunk_rows))
        seconds = time.perf_counter() - start
    finally:
        engine.dispose()
        if schema:
            with create_engine(POSTGRES_URL).begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    assert report.rows_read == report.rows_stored + report.rows_duplicate + report.rows_quarantined
    return {"seconds": seconds, "rows": float(report.rows_read), "stored": float(report.rows_stored),
            "quarantined": float(report.rows_quarantined)}


def run_phase(args: argparse.Namespace) -> None:
    parquet = Path(args.parquet)
    if args.phase == "duckdb":
        result = phase_duckdb(parquet)
    elif args.phase == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            result = phase_store(parquet, f"sqlite:///{tmp}/bench.db")
    else:
        result = phase_store(parquet, POSTGRES_URL)
    result["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


def spawn(phase: str, parquet: Path) -> dict[str, float]:
    done = subprocess.run([sys.executable, __file__, "--phase", phase, "--parquet", str(parquet)],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--smoke", action="store_true", help="2 000 declarations in a temporary folder")
    parser.add_argument("--cache", type=Path, default=Path("var/bench"))
    parser.add_argument("--phase", choices=["duckdb", "sqlite", "postgres"], help=argparse.SUPPRESS)
    parser.add_argument("--parquet", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        run_phase(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) if args.smoke else args.cache
        parquet = world(2_000 if args.smoke else args.declarations, args.seed, root)
        baseline = spawn("duckdb", parquet)
        result: dict[str, object] = {
            "declarations": 2_000 if args.smoke else args.declarations,
            "items": int(baseline["rows"]),
            "baseline": {"what": "DuckDB: read_parquet -> CREATE TABLE", "seconds": round(baseline["seconds"], 3),
                         "items_per_s": round(baseline["rows"] / baseline["seconds"]),
                         "peak_rss_mb": round(baseline["peak_rss_mb"])},
        }
        for backend in args.backends.split(","):
            measured = spawn(backend, parquet)
            result[backend] = {
                "seconds": round(measured["seconds"], 3),
                "items_per_s": round(measured["rows"] / measured["seconds"]),
                "ratio_to_baseline": round(measured["seconds"] / baseline["seconds"], 2),
                "stored": int(measured["stored"]), "quarantined": int(measured["quarantined"]),
                "peak_rss_mb": round(measured["peak_rss_mb"]),
            }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
