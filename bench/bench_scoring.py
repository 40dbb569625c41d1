"""Scoring benchmark: batch throughput on 1 M simulated declarations and real-time latency of one.

Prints JSON with, for the batch, declarations/s and the ratio of the pipeline (features + rules +
model + top-3 reasons) to the bare ``Booster.predict`` on the same feature matrix, and for real time
p50/p95/p99 ms per declaration and the ratio to a bare single-row ``Booster.predict``; both baselines
are measured in the same process as what they are compared with. The protocol is in
``cintel.benchmarks.scoring``.

    python bench/bench_scoring.py                    # 1 M declarations, 1 000 real-time calls
    python bench/bench_scoring.py --only batch --declarations 200000
    python bench/bench_scoring.py --smoke            # tiny run, used by the test suite
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

from cintel.benchmarks.scoring import run_realtime, run_scoring


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--declarations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--calls", type=int, default=1000, help="real-time calls")
    parser.add_argument("--only", choices=["batch", "realtime"], help="run one of the two benchmarks")
    parser.add_argument("--smoke", action="store_true", help="a few thousand declarations in a temporary folder")
    parser.add_argument("--cache", type=Path, default=Path("var/bench"), help="where the simulated world is kept")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) if args.smoke else args.cache
        if args.only != "realtime":
            result["batch"] = run_scoring(args.declarations, args.seed, args.smoke, cache=cache)
        if args.only != "batch":
            result["realtime"] = run_realtime(args.calls, args.smoke, declarations=args.declarations,
                                              seed=args.seed, cache=cache)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
