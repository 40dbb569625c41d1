"""The screening benchmark runs small and shows fuzzy screening finding what exact matching misses."""

from __future__ import annotations

from cintel.benchmarks.screening import run_screening

KEYS = {"entries", "queries", "index_seconds", "screen_seconds", "screenings_per_second",
        "baseline_screenings_per_second", "ratio_to_exact", "recall_on_noisy_listed",
        "exact_recall_on_noisy_listed", "false_positive_rate"}


def test_small_run_reports_every_figure_and_beats_exact_recall() -> None:
    result = run_screening(entries=2_000, queries=300, seed=1)
    assert set(result) >= KEYS
    assert result["entries"] == 2_000
    assert result["queries"] == 300
    assert result["screenings_per_second"] > 0
    assert result["recall_on_noisy_listed"] > result["exact_recall_on_noisy_listed"]
    assert 0 <= result["false_positive_rate"] <= 1
