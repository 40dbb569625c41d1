"""`cintel bench`: the accuracy and speed benchmarks of the risk engine (figures in bench/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cintel.cli.common import JsonOpt, UserError, emit, out

bench_app = typer.Typer(help="Benchmarks: KCS customs data, a simulated world, scoring speed, closed loop.",
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
    smoke: SmokeOpt = False, as_json: JsonOpt = False,
) -> None:
    """Rules only, model only and rules + model + exploration on a simulated world with ground truth."""
    from cintel.benchmarks.world import run_world

    result = run_world(declarations=declarations, seed=seed, smoke=smoke)
    _show(as_json, result, ["ratio_precision@5%", "seconds"])


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
