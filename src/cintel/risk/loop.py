"""The closed targeting loop on a simulated world: select → inspect (with the ground truth) → retrain, week
after week, once per selection policy, to show what exploration does to what the models learn.

The loop runs on frames in memory, not on the store: a policy's inspections are its own counterfactual
history, and two policies must not see each other's findings, so writing them into the shared store (and
rolling them back) would only add I/O and the risk of leaking one policy's labels into the other. It uses
the very pieces the store-backed service uses: ``build_features`` (point in time, with the policy's own
inspections as history), ``assess`` (rules + model), ``select`` per day, and ``train_models`` with
``service.model_inputs()`` — ``service.train`` minus the registry.

Week 0 starts ``weeks`` weeks before the last declaration. Before it, the history is what the world
recorded: inspections of declarations dated before week 0, selected by the administration's biased
rules plus its 2 % random share. From week 0 on, the world's recorded inspections are ignored; each
policy inspects what it selects, and finds a fraud with probability ``detect_red`` (physical) or
``detect_yellow`` (documentary); the additional duty of a caught fraud is its revenue at risk × U(0.85, 1).
A finding is recorded 0–3 days after the declaration and a retrain at day T learns only findings dated
before T. No false findings are recorded on honest declarations (the simulator's own history has 2 %).

Every measured rate uses the ground truth of ALL the week's declarations: precision (true frauds among
the selected), detected precision (recorded findings among the selected: what the administration sees),
recall, revenue found (duty recorded) over the week's total revenue at risk, and the AUC of the model's
probability on every declaration of the week (what the model knows, not just what it chose).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from cintel.risk.features import History, build_features, labels
from cintel.risk.metrics import targeting_report
from cintel.risk.models import ModelSpec, TrainedModels, split_dates, train_models
from cintel.risk.rules import Rule
from cintel.risk.scoring import Scorer, assess
from cintel.risk.selection import SelectionPolicy, select

log = logging.getLogger(__name__)

HISTORY_DAYS = 380  # as ``cintel.risk.service``: a year of peers with margin
VALID_SHARE = 0.2  # the most recent labelled rows validate and calibrate each retrain
INSPECTED = ("red", "yellow")


@dataclass(frozen=True)
class LoopWorld:
    """What the loop needs, as frames: every item (``load_items``), the tariff, the inspections the world
    recorded, the truth per declaration (``declaration_id``, ``is_fraud``, ``revenue``, ``outcome`` = what an
    inspector records on catching it) and the rulebook."""

    items: pl.DataFrame
    tariff: pl.DataFrame
    inspections: pl.DataFrame
    truth: pl.DataFrame
    rules: Sequence[Rule] = ()
    lookups: Mapping[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class LoopConfig:
    weeks: int = 8
    capacity_share: float = 0.05  # red capacity: share of each day's declarations
    exploration_shares: tuple[float, ...] = (0.0, 0.10)  # one policy per value
    random_share: float = 0.01
    retrain_every: int = 1  # weeks between retrains
    detect_red: float = 0.9
    detect_yellow: float = 0.6
    seed: int = 0
    spec: ModelSpec | None = None


def day_capacities(day_counts: np.ndarray, share: float) -> np.ndarray:
    """Capacity per day: ``share`` of its declarations, the window's round(share × N) places handed out by
    largest remainder so that the total is exact even when each day alone would round to nothing."""
    exact = day_counts.astype(np.float64) * share
    cap = np.floor(exact).astype(np.int64)
    left = round(share * int(day_counts.sum())) - int(cap.sum())
    if left > 0:
        cap[np.argsort(-(exact - cap), kind="stable")[:left]] += 1
    return cap


def select_days(assessed: pl.DataFrame, share: float, *, random_share: float, exploration_share: float,
                seed: int = 0) -> tuple[pl.DataFrame, int]:
    """``select`` day by day (``declaration_date``) with red capacity = ``share`` of the declarations and no
    yellow capacity. Returns (the rows with ``channel``, ``selection_reason``, ...; the total capacity)."""
    days = assessed.partition_by("declaration_date", maintain_order=True)
    caps = day_capacities(np.array([d.height for d in days]), share)
    parts = [select(day, SelectionPolicy(red_capacity=int(cap), yellow_capacity=0, random_share=random_share,
                                         exploration_share=exploration_share, seed=seed + i))
             for i, (day, cap) in enumerate(zip(days, caps, strict=True))]
    return pl.concat(parts), int(caps.sum())


def inspect(chosen: pl.DataFrame, truth: pl.DataFrame, rng: np.random.Generator, *, detect_red: float,
            detect_yellow: float, schema: Mapping[str, pl.DataType], prefix: str) -> pl.DataFrame:
    """Inspection records (columns of ``schema``, INSPECTIONS) of the selected declarations of ``chosen``."""
    sel = (chosen.filter(pl.col("channel").is_in(INSPECTED))
           .select("declaration_id", "declaration_date", "channel", "selection_reason")
           .join(truth, on="declaration_id", how="left").sort("declaration_id"))
    n = sel.height
    detect = np.where(sel["channel"].to_numpy() == "red", detect_red, detect_yellow)
    caught = sel["is_fraud"].fill_null(False).to_numpy() & (rng.random(n) < detect)
    duty = np.where(caught, np.round(sel["revenue"].fill_null(0.0).to_numpy() * rng.uniform(0.85, 1.0, n), 2), 0.0)
    lag = rng.integers(0, 4, n)
    out = sel.with_columns(_caught=pl.Series(caught, dtype=pl.Boolean), _duty=pl.Series(duty, dtype=pl.Float64),
                           _lag=pl.Series(lag, dtype=pl.Int64)).select(
        inspection_id=pl.format("{}{}", pl.lit(prefix), pl.int_range(n).cast(pl.String).str.zfill(7)),
        declaration_id="declaration_id",
        inspection_date=pl.col("declaration_date") + pl.duration(days=pl.col("_lag")),
        channel="channel",
        outcome=pl.when(pl.col("_caught")).then(pl.col("outcome")).otherwise(pl.lit("no_finding")),
        findings=pl.lit(None, pl.String),
        additional_duty="_duty",
        seizure=pl.col("_caught") & (pl.col("outcome") == "prohibited_goods").fill_null(False),
        seized_goods=pl.lit(None, pl.String),
        inspector_id=pl.lit("LOOP"),
        selection_reason="selection_reason",
    )
    return out.select([pl.col(c).cast(t) for c, t in schema.items()])


def train_at(bank: pl.DataFrame, inspections: pl.DataFrame, until: date, *, seed: int,
             spec: ModelSpec | None) -> tuple[TrainedModels, int]:
    """Models trained on the findings recorded before ``until`` (features from ``bank``, the point-in-time
    features of every inspected declaration). Returns (models, training rows)."""
    from cintel.risk.service import model_inputs

    frame = bank.join(labels(inspections.filter(pl.col("inspection_date") < until)), on="declaration_id",
                      how="inner")
    features, categorical, encoded = model_inputs()
    train_to = split_dates(frame["declaration_date"], (1 - VALID_SHARE, 1 - VALID_SHARE / 2))[0]
    valid_to: date = frame["declaration_date"].max()  # type: ignore[assignment]
    models = train_models(frame, features, categorical, target_encoded=encoded, split=(train_to, valid_to),
                          seed=seed, spec=spec)
    return models, frame.height


def week_metrics(chosen: pl.DataFrame, found: pl.DataFrame, truth: pl.DataFrame, capacity: int) -> dict[str, Any]:
    """What one week's selection found, against the truth of every declaration of the week."""
    f = chosen.join(truth.select("declaration_id", "is_fraud", "revenue"), on="declaration_id", how="left")
    sel = f["channel"].is_in(INSPECTED)
    fraud = f["is_fraud"].fill_null(False)
    selected, frauds, total_frauds = int(sel.sum()), int((sel & fraud).sum()), int(fraud.sum())
    detected = int(found["outcome"].ne("no_finding").sum())
    total_revenue = float(f["revenue"].fill_null(0.0).sum())
    probability = f["probability"].cast(pl.Float64).fill_null(0.0).to_numpy()
    auc = targeting_report(fraud.cast(pl.Float64).to_numpy(), probability, levels=())["auc"]
    reasons = f.filter(sel).group_by("selection_reason").len().sort("selection_reason")
    return {
        "declarations": f.height, "capacity": capacity, "selected": selected, "frauds": frauds,
        "detected": detected, "precision": frauds / selected if selected else None,
        "detected_precision": detected / selected if selected else None,
        "recall": frauds / total_frauds if total_frauds else None,
        "revenue_found": round(float(found["additional_duty"].sum()), 2),
        "revenue_at_risk": round(total_revenue, 2),
        "revenue_share": float(found["additional_duty"].sum()) / total_revenue if total_revenue else None,
        "model_auc": None if auc != auc else auc,
        "by_reason": dict(reasons.iter_rows()),
    }


def _items_between(items: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    return items.filter(pl.col("declaration_date").is_between(start, end, closed="left"))


def _summary(weeks: list[dict[str, Any]]) -> dict[str, Any]:
    def total(key: str) -> float:
        return float(sum(w[key] for w in weeks))

    aucs = [w["model_auc"] for w in weeks if w["model_auc"] is not None]
    return {"selected": int(total("selected")), "frauds": int(total("frauds")), "detected": int(total("detected")),
            "precision": total("frauds") / total("selected") if total("selected") else None,
            "detected_precision": total("detected") / total("selected") if total("selected") else None,
            "revenue_share": total("revenue_found") / total("revenue_at_risk") if total("revenue_at_risk") else None,
            "mean_model_auc": float(np.mean(aucs)) if aucs else None,
            "last_model_auc": aucs[-1] if aucs else None}


def run_loop(world: LoopWorld, config: LoopConfig) -> dict[str, Any]:
    """Runs the closed loop for each policy from the same start (same initial model) and reports per week.

    JSON-ready: ``weeks`` (dates), ``initial_model`` (training rows, validation AUC), ``policies`` keyed
    ``exploration=<share>`` with per-week rows (see ``week_metrics`` plus ``inspections`` = the policy's
    inspection log size after the week and ``train_rows`` of the model that scored it) and a ``summary``.
    """
    if config.weeks < 1 or config.retrain_every < 1:
        raise ValueError(f"weeks and retrain_every must be >= 1, got {config.weeks} and {config.retrain_every}")
    started = time.perf_counter()
    items = world.items
    last: date = items["declaration_date"].max()  # type: ignore[assignment]
    first: date = items["declaration_date"].min()  # type: ignore[assignment]
    start = last - timedelta(days=7 * config.weeks - 1)
    before = items.filter(pl.col("declaration_date") < start)
    known = before["declaration_id"].unique().implode()
    # The administration's record up to week 0: every inspection of a declaration lodged before it.
    history = world.inspections.filter(pl.col("declaration_id").is_in(known))
    schema = dict(world.inspections.schema)

    _, bank = build_features(before, History(items=_items_between(items, first, first), inspections=history,
                                             tariff=world.tariff))
    bank = bank.filter(pl.col("declaration_id").is_in(history["declaration_id"].unique().implode()))
    initial, initial_rows = train_at(bank, history, start, seed=config.seed, spec=config.spec)
    log.info("loop: initial model on %d inspected declarations (%.1f s)", initial_rows, time.perf_counter() - started)

    policies: dict[str, Any] = {}
    for p, share in enumerate(config.exploration_shares):
        models, rows, inspections, seen = initial, initial_rows, history, bank
        weeks: list[dict[str, Any]] = []
        for k in range(config.weeks):
            week_start = start + timedelta(days=7 * k)
            week_end = week_start + timedelta(days=7)
            week_items = _items_between(items, week_start, week_end)
            if week_items.is_empty():
                continue
            past = History(items=_items_between(items, week_start - timedelta(days=HISTORY_DAYS), week_start),
                           inspections=inspections, tariff=world.tariff)
            item_frame, decl = build_features(week_items, past)
            scorer = Scorer(rules=world.rules, lookups=world.lookups, fraud_model=models.fraud,
                            revenue_model=models.revenue)
            assessed = assess(item_frame, decl, scorer, explain=False).join(
                decl.select("declaration_id", "declaration_date"), on="declaration_id")
            chosen, capacity = select_days(assessed, config.capacity_share, random_share=config.random_share,
                                           exploration_share=share, seed=config.seed + 1000 * k)
            rng = np.random.default_rng([config.seed, p, k])
            found = inspect(chosen, world.truth, rng, detect_red=config.detect_red,
                            detect_yellow=config.detect_yellow, schema=schema, prefix=f"L{p}W{k:03d}-")
            inspections = pl.concat([inspections, found])
            seen = pl.concat([seen, decl.filter(pl.col("declaration_id").is_in(found["declaration_id"].implode()))],
                             how="diagonal_relaxed")
            row = {"week": k, "from": week_start.isoformat(), **week_metrics(chosen, found, world.truth, capacity),
                   "inspections": inspections.height, "train_rows": rows}
            weeks.append(row)
            log.info("loop: exploration %.2f week %d precision %s revenue %s", share, k, row["precision"],
                     row["revenue_share"])
            if (k + 1) % config.retrain_every == 0 and k + 1 < config.weeks:
                models, rows = train_at(seen, inspections, week_end, seed=config.seed, spec=config.spec)
        policies[f"exploration={share:g}"] = {"exploration_share": share, "weeks": weeks, "summary": _summary(weeks)}
    valid = initial.fraud.metrics.get("valid", {})
    return {
        "start": start.isoformat(), "end": last.isoformat(), "config": {
            "weeks": config.weeks, "capacity_share": config.capacity_share, "random_share": config.random_share,
            "exploration_shares": list(config.exploration_shares), "retrain_every": config.retrain_every,
            "detect_red": config.detect_red, "detect_yellow": config.detect_yellow, "seed": config.seed},
        "initial_model": {"train_rows": initial_rows, "valid_auc": valid.get("auc"),
                          "history_inspections": history.height},
        "policies": policies,
        "seconds": round(time.perf_counter() - started, 2),
    }
