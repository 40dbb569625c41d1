"""Scoring benchmarks (issue 3, sections 4 and 6): batch throughput and real-time latency of the risk engine.

Batch (``run_scoring``): a simulated world of ``HISTORY_MONTHS`` months of history followed by a
``WINDOW_MONTHS``-month scoring window holding about ``declarations`` declarations. The models are
trained once, untimed, on the window's inspected declarations (see ``train``). Then one call
scores the whole window as the daily batch does - features point in time (``build_features``), the
demo rulebook, fraud probability and revenue, top-3 reasons (``assess``) - and is compared with the
bare ``Booster.predict`` of the fraud model on the same feature matrix, in the same process. Each
step of ``assess`` is then timed on its own, and two variants are timed for the lead to choose from:
reasons for every declaration (the product today) and reasons only for the top ``queue_share`` by
priority (the declarations an officer sees in the queue).

Real time (``run_realtime``): the models loaded and the feature state of one day built, each call
scores ONE declaration of that day (``state_features`` + ``assess``) and the percentiles of the
per-call latency are compared with a bare single-row ``Booster.predict``.

Memory: the simulation, the training and each timed body run in their own spawned processes, so the
peak RSS reported (``ru_maxrss`` of the scoring process) is the scoring's own: it includes reading
the world's Parquet files, which the scoring needs, but not the simulation or the training.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import polars as pl

from cintel.demo_rules import LOOKUPS, RULES
from cintel.domain.codes import Channel
from cintel.domain.records import INSPECTIONS, TARIFF
from cintel.risk.explain import top_reasons_batch
from cintel.risk.features import History, build_features, feature_state, labels, state_features
from cintel.risk.models import Model, ModelSpec, TrainedModels, train_models
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rules import Rule, RuleStatus, evaluate_rules, score_declaration
from cintel.risk.scoring import Scorer, assess, explain_reasons
from cintel.risk.service import fit_models, model_inputs
from cintel.simulate import simulate_world
from cintel.store.frames import frame_schema, item_schema

log = logging.getLogger(__name__)

END = date(2025, 12, 31)  # a fixed last day, so a seed always gives the same world
HISTORY_MONTHS = 3  # simulated before the window: the first peer statistics and trader histories
WINDOW_MONTHS = 12
QUEUE_SHARE = 0.05  # variant: reasons only for the top 5 % by priority (what reaches the queue)
TARGETS = {"batch_ratio": 4.0, "batch_peak_rss_mb": 3072.0, "realtime_p99_ms": 10.0}
SMOKE_DECLARATIONS = 4_000
SMOKE_CALLS = 30
WARM_UP_CALLS = 20

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    items: pl.DataFrame
    inspections: pl.DataFrame
    tariff: pl.DataFrame

    @property
    def start(self) -> date:
        return self.items["declaration_date"].min()  # type: ignore[return-value]

    def cut(self, months: int) -> date:
        """The first day of the month ``months`` months after the world's first month."""
        first = self.start
        month = first.month - 1 + months
        return date(first.year + month // 12, month % 12 + 1, 1)

    def history_before(self, day: date) -> History:
        """Items dated before ``day``, inspections recorded before it, the tariff."""
        return History(self.items.filter(pl.col("declaration_date") < day),
                       self.inspections.filter(pl.col("inspection_date") < day), self.tariff)


# ---------------------------------------------------------------- world, models, rules


def world_dir(root: Path, declarations: int, seed: int) -> Path:
    """A simulated world whose last WINDOW_MONTHS months hold about ``declarations`` declarations
    (simulated once and reused from ``root``)."""
    months = HISTORY_MONTHS + WINDOW_MONTHS
    total = declarations * months // WINDOW_MONTHS
    out = root / f"scoring-world-{total}-{seed}"
    if not (out / "declarations.parquet").exists():
        log.info("simulating %d declarations over %d months into %s", total, months, out)
        simulate_world(out, declarations=total, seed=seed, formats=("parquet",), defect_rate=0.0, end_date=END,
                       months=months)
    return out


def _typed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return frame.select([
        pl.col(c).str.to_date() if t == pl.Date and frame.schema[c] == pl.String else pl.col(c).cast(t)
        for c, t in schema.items()])


def read_world(out: Path) -> World:
    """The world's items, inspections and tariff in the types ``cintel.store.frames`` loads."""
    return World(items=_typed(pl.read_parquet(out / "declarations.parquet"), item_schema()),
                 inspections=_typed(pl.read_parquet(out / "inspections.parquet"), frame_schema(INSPECTIONS.fields)),
                 tariff=_typed(pl.read_parquet(out / "tariff.parquet"), frame_schema(TARIFF.fields)))


def demo_scorer(models: TrainedModels | None = None) -> Scorer:
    """The demo rulebook (approved, version 1) and the given models."""
    rules = [Rule(r.rule_id, 1, r.expression, r.reason, "bench", weight=r.weight,
                  channel=Channel(r.channel) if r.channel else None, status=RuleStatus.APPROVED) for r in RULES]
    lookups = {name: frozenset(values) for name, (_, _, values) in LOOKUPS.items()}
    return Scorer(rules=rules, lookups=lookups, fraud_model=models.fraud if models else None,
                  revenue_model=models.revenue if models else None)


def train(world: World, smoke: bool = False) -> TrainedModels:
    """Models of production size: trained on the outcomes of the window's inspected declarations (a
    year of them), each with its features point in time against everything dated before it; smoke: a
    few small trees. Training on the window it then scores is in-sample, which would flatter accuracy
    but does not matter here: only the cost of scoring is measured, and that depends on the model's size."""
    outcome = labels(world.inspections)
    cut = world.cut(HISTORY_MONTHS)
    inspected = world.items.filter(pl.col("declaration_date") >= cut,
                                   pl.col("declaration_id").is_in(outcome["declaration_id"].implode()))
    _, decl = build_features(inspected, History(world.items, world.inspections, world.tariff))
    frame = decl.join(outcome, on="declaration_id", how="inner")
    features, categorical, encoded = model_inputs()
    spec = ModelSpec(num_leaves=15, learning_rate=0.1, max_rounds=40, early_stopping_rounds=10) if smoke else None
    if spec is not None:
        return train_models(frame, features, categorical, target_encoded=encoded, split=(0.7, 0.85), spec=spec)
    return fit_models(frame)  # what `cintel train` does


_DATES = ("train_from", "train_to", "valid_to", "test_to")


def _records(models: TrainedModels) -> tuple[dict[str, Any], dict[str, Any] | None]:
    return models.fraud.to_record(), models.revenue.to_record() if models.revenue else None


def _models(records: tuple[dict[str, Any], dict[str, Any] | None]) -> TrainedModels:
    fraud, revenue = records
    return TrainedModels(Model.from_record(fraud), Model.from_record(revenue) if revenue else None)


def _train_phase(out: Path, smoke: bool) -> dict[str, Any]:
    """Trains (or reuses the models cached next to the world: the batch and real-time runs share them)."""
    cached = out / f"bench-models{'-smoke' if smoke else ''}.json"
    if cached.exists():
        trained: dict[str, Any] = json.loads(cached.read_text())
        for record in trained["records"]:
            for key in _DATES:
                if record and record.get(key):
                    record[key] = date.fromisoformat(record[key])
        return trained
    started = time.perf_counter()
    models = train(read_world(out), smoke)
    trained = {"records": _records(models), "seconds": time.perf_counter() - started,
               "trees": {"fraud": models.fraud.booster.num_trees(),
                         "revenue": models.revenue.booster.num_trees() if models.revenue else 0},
               "rows": models.fraud.metrics["n_train"]}
    cached.write_text(json.dumps(trained, default=str))
    return trained


# ---------------------------------------------------------------- measuring


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    return min(_timed(fn)[1] for _ in range(repeats))


def _call(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    return fn(*args)


def _in_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """``fn(*args)`` in a fresh spawned process, so its peak RSS is its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _ms(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values) * 1e3
    return {"p50": round(float(np.percentile(a, 50)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "p99": round(float(np.percentile(a, 99)), 3), "mean": round(float(a.mean()), 3)}


# ---------------------------------------------------------------- batch


def _batch_phase(out: Path, records: tuple[dict[str, Any], dict[str, Any] | None], queue_share: float,
                 repeats: int) -> dict[str, Any]:
    world = read_world(out)
    cut = world.cut(HISTORY_MONTHS)
    history = world.history_before(cut)
    window = world.items.filter(pl.col("declaration_date") >= cut)
    del world
    models = _models(records)
    scorer = demo_scorer(models)
    fraud = models.fraud
    rss_inputs = peak_rss_mb()

    # The product's batch path, as the daily run calls it.
    (item_frame, decl), t_features = _timed(lambda: build_features(window, history))
    assessed, t_assess = _timed(lambda: assess(item_frame, decl, scorer, explain=True))
    rss_pipeline = peak_rss_mb()
    n = decl.height

    # Baseline: the bare booster on the same feature matrix.
    x, t_matrix = _timed(lambda: fraud.matrix(decl))
    t_baseline = _best_of(lambda: fraud.booster.predict(x), repeats)

    # Each step of assess on its own (same inputs).
    _, t_rules = _timed(lambda: evaluate_rules(scorer.rules, item_frame, scorer.lookups, RULE_SCHEMA))
    _, t_proba = _timed(lambda: fraud.predict_proba(decl))
    revenue = models.revenue
    t_revenue = _timed(lambda: revenue.predict_revenue(decl))[1] if revenue is not None else 0.0
    contrib, t_contrib = _timed(lambda: fraud.contributions(decl)[0])
    _, t_text = _timed(lambda: top_reasons_batch(contrib, fraud.features, decl, scorer.specs, k=scorer.reasons))
    no_reasons, t_no_reasons = _timed(lambda: assess(item_frame, decl, scorer, explain=False))

    # Variant: reasons only for the declarations that reach the queue (top queue_share by priority).
    queue = max(1, round(n * queue_share))

    def queue_reasons() -> pl.DataFrame:
        top = no_reasons.with_row_index("_i").top_k(queue, by="priority")
        rows = decl.select(pl.col("declaration_id")).with_row_index("_i").join(top.select("_i"), on="_i")
        chosen = decl[rows["_i"].to_list()]
        reasons = explain_reasons(chosen, top.sort("_i")["rule_ids"], scorer)
        return chosen.select("declaration_id").with_columns(
            reasons=pl.Series([[r.text for r in rs] for rs in reasons], dtype=pl.List(pl.String)))

    _, t_queue_reasons = _timed(queue_reasons)
    assert assessed.height == n

    pipeline = t_features + t_assess
    queue_pipeline = t_features + t_no_reasons + t_queue_reasons
    phases = {"features": t_features, "assess": t_assess, "rules": t_rules, "matrix": t_matrix,
              "probability": t_proba, "revenue": t_revenue, "contributions": t_contrib, "reason_text": t_text,
              "assess_without_reasons": t_no_reasons, "queue_reasons": t_queue_reasons}
    return {
        "declarations": n, "items": item_frame.height, "history_items": history.items.height,
        "window": {"from": cut.isoformat(), "to": window["declaration_date"].max().isoformat()},  # type: ignore[union-attr]
        "seconds": {k: round(v, 3) for k, v in phases.items()},
        "baseline": {"what": f"fraud Booster.predict on model.matrix(decl), best of {repeats}",
                     "seconds": round(t_baseline, 4), "declarations_per_s": round(n / t_baseline)},
        "pipeline": {"what": "build_features + assess(explain=True): reasons for every declaration",
                     "seconds": round(pipeline, 3), "declarations_per_s": round(n / pipeline),
                     "ratio_to_baseline": round(pipeline / t_baseline, 2)},
        "pipeline_queue_reasons": {
            "what": f"build_features + assess(explain=False) + reasons for the top {queue_share:.0%} by priority",
            "queue": queue, "seconds": round(queue_pipeline, 3), "declarations_per_s": round(n / queue_pipeline),
            "ratio_to_baseline": round(queue_pipeline / t_baseline, 2)},
        "pipeline_without_features": {
            "what": "assess(explain=True) on ready feature frames (rules + models + reasons)",
            "seconds": round(t_assess, 3), "ratio_to_baseline": round(t_assess / t_baseline, 2)},
        "peak_rss_mb": {"inputs_loaded": round(rss_inputs), "after_pipeline": round(rss_pipeline),
                        "after_variants": round(peak_rss_mb())},
    }


def run_scoring(declarations: int = 1_000_000, seed: int = 3, smoke: bool = False, *, cache: Path | None = None,
                queue_share: float = QUEUE_SHARE) -> dict[str, Any]:
    """Batch scoring throughput (features + rules + model + top-3 reasons) and its ratio to the bare
    ``Booster.predict`` on the same feature matrix; see the module doc for the protocol.

    ``cache`` keeps the simulated world between runs (a temporary folder when None); ``smoke`` scores
    a few thousand declarations with a small model, to check the benchmark end to end.
    """
    if smoke:
        declarations = SMOKE_DECLARATIONS
    with tempfile.TemporaryDirectory() as tmp:
        root = cache or Path(tmp)
        # Simulating and training a large world take gigabytes: in their own processes, unless smoke.
        prepare = _call if smoke else _in_process
        out, t_simulate = _timed(lambda: prepare(_simulate_phase, root, declarations, seed)["dir"])
        trained = prepare(_train_phase, Path(out), smoke)
        result = _in_process(_batch_phase, Path(out), trained["records"], queue_share, 1 if smoke else 3)
    result["model"] = {"trees": trained["trees"], "training_rows": trained["rows"],
                       "training_seconds": round(trained["seconds"], 2)}
    result["simulation_seconds"] = round(t_simulate, 1)
    result["seed"], result["smoke"] = seed, smoke
    result["target"] = {"ratio_to_baseline": TARGETS["batch_ratio"], "peak_rss_mb": TARGETS["batch_peak_rss_mb"]}
    return result


def _simulate_phase(root: Path, declarations: int, seed: int) -> dict[str, Any]:
    return {"dir": str(world_dir(root, declarations, seed))}


# ---------------------------------------------------------------- real time


def _realtime_days(items: pl.DataFrame, wanted: int) -> list[date]:
    """The last days of the world, latest first, enough of them to hold ``wanted`` declarations."""
    counts = (items.group_by("declaration_date").agg(pl.col("declaration_id").n_unique().alias("n"))
              .sort("declaration_date", descending=True))
    days: list[date] = []
    total = 0
    for day, n in counts.iter_rows():
        days.append(day)
        total += n
        if total >= wanted:
            break
    return days


def _realtime_phase(out: Path, records: tuple[dict[str, Any], dict[str, Any] | None], n_calls: int
                    ) -> dict[str, Any]:
    world = read_world(out)
    # Calls go to distinct declarations: the last day's, then the day before's (each with its own state)...
    days = _realtime_days(world.items, n_calls + WARM_UP_CALLS)
    t_states: list[float] = []
    calls: list[tuple[Any, pl.DataFrame]] = []
    history_items = 0
    for day in days:
        history = world.history_before(day)
        history_items = max(history_items, history.items.height)
        state, t_state = _timed(lambda: feature_state(history, day))  # noqa: B023 - called at once
        t_states.append(t_state)
        lodged = world.items.filter(pl.col("declaration_date") == day)
        calls += [(state, d) for d in lodged.partition_by("declaration_id", maintain_order=True)]
    distinct = len(calls)
    calls = [calls[i % distinct] for i in range(n_calls + WARM_UP_CALLS)]
    del world
    models = _models(records)
    scorer = demo_scorer(models)
    fraud, revenue = models.fraud, models.revenue

    def product(state: Any, items: pl.DataFrame) -> pl.DataFrame:
        item_frame, decl = state_features(items, state)
        return assess(item_frame, decl, scorer, explain=True)

    # The lean path: rules on Python rows (score_declaration), models and reasons called directly.
    steps: dict[str, list[float]] = {"features": [], "rules": [], "model": [], "reasons": []}

    def lean(state: Any, items: pl.DataFrame) -> None:
        t0 = time.perf_counter()
        item_frame, decl = state_features(items, state)
        t1 = time.perf_counter()
        score_declaration(scorer.rules, item_frame.rows(named=True), scorer.lookups, RULE_SCHEMA)
        t2 = time.perf_counter()
        fraud.predict_proba(decl)
        if revenue is not None:
            revenue.predict_revenue(decl)
        t3 = time.perf_counter()
        contrib, _ = fraud.contributions(decl)
        top_reasons_batch(contrib, fraud.features, decl, scorer.specs, k=scorer.reasons)
        t4 = time.perf_counter()
        for name, t in zip(steps, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            steps[name].append(t)

    matrices = [fraud.matrix(state_features(items, state)[1]) for state, items in calls]
    timings: dict[str, list[float]] = {"product": [], "lean": [], "baseline": []}
    for i, (state, items) in enumerate(calls):
        t_product = _timed(lambda: product(state, items))[1]  # noqa: B023 - called at once
        t_lean = _timed(lambda: lean(state, items))[1]  # noqa: B023
        t_base = _timed(lambda: fraud.booster.predict(matrices[i]))[1]  # noqa: B023
        if i >= WARM_UP_CALLS:
            timings["product"].append(t_product)
            timings["lean"].append(t_lean)
            timings["baseline"].append(t_base)
    for values in steps.values():
        del values[:WARM_UP_CALLS]
    base = _ms(timings["baseline"])
    product_ms, lean_ms = _ms(timings["product"]), _ms(timings["lean"])
    return {
        "days": [d.isoformat() for d in days], "distinct_declarations": min(n_calls, distinct), "calls": n_calls,
        "feature_state_seconds": round(max(t_states), 2), "history_items": history_items,
        "baseline_ms": {"what": "fraud Booster.predict on one row (matrix ready)", **base},
        "product_ms": {"what": "state_features + assess(explain=True) on one declaration", **product_ms,
                       "ratio_p50": round(product_ms["p50"] / base["p50"], 2),
                       "ratio_p99": round(product_ms["p99"] / base["p99"], 2)},
        "lean_ms": {"what": "state_features + score_declaration + predict_proba + predict_revenue + "
                            "contributions + top_reasons_batch", **lean_ms,
                    "ratio_p50": round(lean_ms["p50"] / base["p50"], 2),
                    "ratio_p99": round(lean_ms["p99"] / base["p99"], 2)},
        "lean_steps_p50_ms": {k: round(statistics.median(v) * 1e3, 3) for k, v in steps.items()},
        "peak_rss_mb": round(peak_rss_mb()),
    }


def run_realtime(n_calls: int = 1000, smoke: bool = False, *, declarations: int = 1_000_000, seed: int = 3,
                 cache: Path | None = None) -> dict[str, Any]:
    """Latency of scoring ONE declaration (features from the day's feature state, rules, probability and
    revenue, top-3 reasons): p50/p95/p99 in ms over ``n_calls`` declarations of one day, and the ratio
    to a bare single-row ``Booster.predict``; see the module doc.

    The world and models are those of ``run_scoring`` with the same arguments (reused from ``cache``).
    """
    if smoke:
        declarations, n_calls = SMOKE_DECLARATIONS, SMOKE_CALLS
    with tempfile.TemporaryDirectory() as tmp:
        root = cache or Path(tmp)
        prepare = _call if smoke else _in_process
        out = Path(prepare(_simulate_phase, root, declarations, seed)["dir"])
        trained = prepare(_train_phase, out, smoke)
        result = _in_process(_realtime_phase, out, trained["records"], n_calls)
    result["model"] = {"trees": trained["trees"], "training_rows": trained["rows"]}
    result["seed"], result["smoke"] = seed, smoke
    result["target"] = {"p99_ms": TARGETS["realtime_p99_ms"]}
    return result
