"""The scoring benchmark runs end to end on a tiny world and reports finite, positive ratios."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(BENCH / "bench_scoring.py"), "--smoke"], capture_output=True,
                          text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def positive(value: object) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and value > 0


def test_batch_reports_throughput_and_ratios_to_the_bare_booster(result: dict[str, Any]) -> None:
    batch = result["batch"]
    assert batch["declarations"] > 0
    for variant in ("pipeline", "pipeline_queue_reasons", "pipeline_without_features"):
        assert positive(batch[variant]["ratio_to_baseline"]), variant
    assert positive(batch["pipeline"]["declarations_per_s"])
    assert set(batch["seconds"]) >= {"features", "assess", "rules", "probability", "contributions", "reason_text"}
    assert positive(batch["peak_rss_mb"]["after_pipeline"])


def test_realtime_reports_latency_percentiles_and_ratios(result: dict[str, Any]) -> None:
    realtime = result["realtime"]
    assert realtime["calls"] > 0
    for path in ("product_ms", "lean_ms"):
        figures = realtime[path]
        assert 0 < figures["p50"] <= figures["p95"] <= figures["p99"]
        assert positive(figures["ratio_p50"]), path
        assert positive(figures["ratio_p99"]), path
    assert positive(realtime["baseline_ms"]["p50"])
