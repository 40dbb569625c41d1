"""Smoke runs of the entity benchmarks, so they cannot rot; FEBRL runs whole (it takes seconds)."""

from __future__ import annotations

from pathlib import Path

from cintel.benchmarks.entities import run_entities
from cintel.benchmarks.febrl import run_febrl
from tests.test_cli import Cli


def test_febrl_links_with_the_resolution_pipeline() -> None:
    result = run_febrl()
    assert result["f1"] >= 0.98
    assert result["febrl3_f1"] >= 0.95
    assert result["febrl3_bcubed_f1"] >= 0.95
    assert result["true_links"] == 5000


def test_entities_benchmark_smoke(tmp_path: Path) -> None:
    result = run_entities(smoke=True, workdir=tmp_path)
    assert result["f1"] >= 0.9
    assert result["planted_rings"] > 0
    assert 0 <= result["ring_recall"] <= 1
    assert result["scale"]["records"] == 5_000
    assert result["scale"]["scale_f1"] > result["scale"]["exact_dedupe_f1"]


def test_bench_commands_run_from_the_cli(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    graph = cli.json("bench", "graph", "--smoke")
    assert graph["khop_p95_ms"] > 0
    screening = cli.json("bench", "screening", "--smoke")
    assert screening["recall_on_noisy_listed"] >= screening["exact_recall_on_noisy_listed"]


def test_exporter_names_benchmark_smoke() -> None:
    from cintel.benchmarks.entities import run_exporters

    result = run_exporters(companies=120, seed=1, max_pairs=2e4)
    assert result["records"]["test"] > 0
    assert 0 <= result["precision"] <= 1
    assert result["f1"] > result["naive_f1"]
    assert result["time_ratio_vs_naive"] is not None


def test_exporter_names_are_seeded_and_split_by_family() -> None:
    from cintel.benchmarks.exporter_names import exporter_set

    a, b = exporter_set(80, seed=4), exporter_set(80, seed=4)
    assert a.equals(b)
    assert a.group_by("family").agg(splits=__import__("polars").col("split").n_unique())["splits"].max() == 1


def test_exporter_names_hold_hard_negatives_and_the_benchmark_counts_them() -> None:
    import polars as pl

    from cintel.benchmarks.entities import _hard_negatives
    from cintel.benchmarks.exporter_names import exporter_set

    names = exporter_set(400, seed=2)
    siblings = names.group_by("family").agg(pl.col("truth").n_unique().alias("companies"))
    assert siblings.filter(pl.col("companies") > 1).height > 0
    apart = names.select("record_id", cluster=pl.col("truth").cast(pl.String))
    assert _hard_negatives(names) > 0
    assert _hard_negatives(names, apart) == 0
