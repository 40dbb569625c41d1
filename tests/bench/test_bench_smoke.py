"""Each benchmark runs end to end on a tiny input, so the full runs cannot rot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def run(script: str, *args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True, text=True,
                          check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


@pytest.mark.postgres
def test_ingest_benchmark_reports_ratios_for_both_back_ends() -> None:
    result = run("bench_ingest.py", "--smoke")
    assert result["items"] > 0
    for backend in ("sqlite", "postgres"):
        figures = result[backend]
        assert isinstance(figures, dict)
        assert figures["ratio_to_baseline"] > 0
        assert figures["stored"] + figures["quarantined"] == result["items"]


def test_simulation_benchmark_reports_a_ratio() -> None:
    result = run("bench_simulate.py", "--smoke")
    assert any("ratio" in key for key in result)
