"""Benchmark: how long simulate_world takes, against the pure cost of writing the same volume.

The baseline writes random frames of exactly the shape of every file the world wrote (rows,
columns, types) to Parquet, so the ratio says how much the simulation costs on top of I/O.

    uv run python bench/bench_simulate.py                      # 1,000,000 declarations
    uv run python bench/bench_simulate.py --smoke              # 20,000, a few seconds
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from cintel.domain.records import RecordKind
from cintel.simulate import simulate_world


def _random_like(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """A frame of the same shape and types, filled with random values of similar width."""
    columns = {}
    for name, dtype in frame.schema.items():
        n = frame.height
        if dtype == pl.String:
            width = round(float(frame[name].str.len_bytes().mean() or 1))  # type: ignore[arg-type]
            digits = pl.Series(rng.integers(0, 10**15, n)).cast(pl.String)
            columns[name] = (digits + digits).str.slice(0, max(width, 1))
        elif dtype == pl.Boolean:
            columns[name] = pl.Series(rng.random(n) < 0.5)
        elif dtype.is_integer():
            columns[name] = pl.Series(rng.integers(0, 1000, n))
        else:
            columns[name] = pl.Series(rng.lognormal(5, 2, n))
    return pl.DataFrame(columns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--smoke", action="store_true", help="a 20,000-declaration run for CI")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    declarations = 20_000 if args.smoke else args.declarations

    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        out = Path(tmp) / "world"
        started = time.perf_counter()
        summary = simulate_world(out, declarations=declarations, seed=args.seed, formats=("parquet",),
                                 end_date=date(2025, 12, 31))
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        rng = np.random.default_rng(0)
        baseline = 0.0
        for kind in RecordKind:
            shaped = _random_like(pl.read_parquet(out / f"{kind.value}.parquet"), rng)
            path = Path(tmp) / f"baseline-{kind.value}.parquet"
            tick = time.perf_counter()
            shaped.write_parquet(path, compression="zstd")
            baseline += time.perf_counter() - tick

    result = {
        "benchmark": "simulate_world",
        "declarations": declarations,
        "items_written": summary.records[RecordKind.DECLARATIONS.value],
        "rows_written": sum(summary.records.values()),
        "seconds": round(seconds, 2),
        "declarations_per_second": round(declarations / seconds),
        "baseline_write_seconds": round(baseline, 2),
        "ratio_to_baseline": round(seconds / baseline, 2),
        "peak_rss_mb": round(peak_mb),
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
