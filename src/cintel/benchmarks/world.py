"""The simulated-world benchmark: rules only, model only and rules + model + exploration, measured against
the ground truth of a synthetic world (issue 3 §5).

Protocol (``run_world``):

1. Simulate a world (``simulate_world``, no data defects) and ingest every file into a fresh SQLite store
   through the normal pipeline, in ``cintel.demo.INGEST_ORDER``.
2. Install the demo administration's rulebook (``cintel.demo_rules``: rules R01–R07, lookups, profiles),
   written by one officer and approved by another.
3. The test window is the last ``TEST_DAYS`` days of the world. The models are trained by
   ``cintel.risk.service.train`` on the inspections recorded before the test window; inside that earlier
   part the trainer splits by date: the last ``VALID_SHARE`` of the days stop the boosting and calibrate,
   the days before train. The test window never influences training, stopping or calibration, and no
   hyperparameter was chosen by looking at it.
4. One ``feature_window`` call computes point-in-time features for every declaration of the test window
   (each sees only what was known before its own date, including the inspections recorded so far).
5. Every test declaration is labelled with the GROUND TRUTH (``truth/declarations_truth.parquet``:
   ``is_fraud`` and ``revenue_at_risk``), not only the inspected ones, so the rates are not biased by what
   past targeting chose to look at.
6. Systems:
   - ``rules_only``: the rule risk (noisy-OR of the weighted rules hit); declarations sent to a fixed channel
     by a rule are ranked first (red before yellow).
   - ``model_only``: the model priority (P(fraud) × expected revenue); ``model_only_probability``: P(fraud).
   - ``combined_ranking``: the combined priority of rules and model (``cintel.risk.scoring``).
   - ``combined``: the operating system. Each day ``cintel.risk.selection.select`` runs with a red capacity
     of n % of the day's declarations (the window's round(n % × N) places are spread over the days by
     largest remainder, so small days do not round to zero), no yellow capacity, a 1 % random share and
     10 % of the model-filled capacity reserved for exploration. Mandatory rule hits may overflow the
     capacity; the overflow is reported. Precision, recall and revenue are those of the selected set.

   Ranking metrics follow ``cintel.risk.metrics`` (DATE: top n % by score). Ties are broken by a seeded
   random draw first, so every ranking selects exactly its share: a coarse rule score would otherwise
   select fewer than n % (DATE's strict threshold drops the tie at the cut) and look more precise than a
   full inspection budget would make it. The AUC is computed on the raw scores (ties count half).
   - ``combined_ranked_by_risk``: the same operating selection with the queue ranked by the combined risk
     alone (``Scorer(rank_by="risk")``): the configuration that maximises frauds found rather than revenue.
7. ``ratio_precision@5%`` = combined (ranked by risk) precision@5 % / rules-only precision@5 % (issue
   target: ≥ 3); ``ratio_precision@5%_ranked_by_value`` is the same for the revenue-first queue.
"""

from __future__ import annotations

import logging
import math
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy import Engine

from cintel.domain.access import AccessContext, local_operator
from cintel.domain.roles import Role
from cintel.risk.loop import select_days
from cintel.risk.metrics import LEVELS, targeting_report
from cintel.risk.models import ModelSpec
from cintel.risk.scoring import Scorer, assess

log = logging.getLogger(__name__)

TEST_DAYS = 61  # about the last two months
SMOKE = {"declarations": 3_000, "months": 6, "test_days": 45}
VALID_SHARE = 0.2  # share of the pre-test days the trainer validates and calibrates on
RANDOM_SHARE = 0.01
EXPLORATION_SHARE = 0.10
TARGET_RATIO = 3.0
SYSTEM_KEYS = tuple(f"{m}@{n:g}%" for m in ("precision", "recall", "revenue") for n in LEVELS)


# ------------------------------------------------------------------ the world in a store


def author_and_approver(purpose: str) -> tuple[AccessContext, AccessContext]:
    """The officer who writes the demo rules (the local user running the benchmark) and a second one who
    approves them (four eyes), in a throw-away store that holds no accounts."""
    user = local_operator(purpose).user
    author = AccessContext(user=user, purpose=purpose, roles=frozenset({Role.TARGETING_OFFICER}))
    approver = AccessContext(user=f"{user}-approver", purpose=purpose, roles=frozenset({Role.SUPERVISOR}))
    return author, approver


def build_world_store(workdir: Path, *, declarations: int, seed: int, months: int) -> tuple[Engine, Path, Any]:
    """Simulates a world under ``workdir/world``, ingests it into ``workdir/store.db`` and installs the demo
    rulebook. Returns (engine, world directory, simulation summary)."""
    from cintel import demo_rules
    from cintel.demo import INGEST_ORDER
    from cintel.ingest.pipeline import ingest_file
    from cintel.simulate import simulate_world
    from cintel.store.engine import open_store

    world = workdir / "world"
    summary = simulate_world(world, declarations=declarations, seed=seed, formats=("parquet",), defect_rate=0.0,
                             months=months)
    engine = open_store(f"sqlite:///{workdir / 'store.db'}")
    for kind in INGEST_ORDER:
        path = world / f"{kind.value}.parquet"
        if path.exists():
            ingest_file(engine, path)
    demo_rules.install(engine, *author_and_approver("benchmark: demo rulebook"))
    return engine, world, summary


def read_truth(world: Path) -> pl.DataFrame:
    """Ground truth per declaration: ``is_fraud`` and ``revenue`` (revenue at risk, 0 for honest ones)."""
    truth = pl.read_parquet(world / "truth" / "declarations_truth.parquet")
    return truth.select("declaration_id", "is_fraud", "scheme",
                        revenue=pl.when(pl.col("is_fraud")).then(pl.col("revenue_at_risk").fill_null(0.0))
                        .otherwise(0.0))


def with_truth(assessed: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Assessments joined to the truth; a declaration the simulator did not label would be a bug."""
    out = assessed.join(truth, on="declaration_id", how="left", maintain_order="left")
    if out["is_fraud"].null_count():
        raise ValueError(f"{out['is_fraud'].null_count()} assessed declarations have no ground truth")
    return out


# ------------------------------------------------------------------ pure metrics


def tie_broken(scores: np.ndarray, seed: int) -> np.ndarray:
    """Scores replaced by their rank (0 = lowest), ties broken by a seeded uniform draw."""
    draw = np.random.default_rng(seed).random(scores.size)
    order = np.lexsort((draw, np.nan_to_num(scores, nan=-np.inf)))
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[order] = np.arange(scores.size, dtype=np.float64)
    return ranks


def ranking_metrics(frame: pl.DataFrame, score: str, seed: int) -> dict[str, float | None]:
    """Precision/recall/revenue @n % of the ranking by ``score`` against the truth, and the AUC."""
    y = frame["is_fraud"].cast(pl.Float64).to_numpy()
    raw = frame[score].cast(pl.Float64).to_numpy()
    report = targeting_report(y, tie_broken(raw, seed), frame["revenue"].to_numpy())
    report["auc"] = targeting_report(y, np.nan_to_num(raw, nan=-np.inf), levels=())["auc"]
    return {k: _clean(v) for k, v in report.items()}


def rules_score(assessed: pl.DataFrame) -> pl.Series:
    """Rules-only ranking: fixed red hits first, then fixed yellow, then the rule risk."""
    bonus = pl.when(pl.col("rule_channel") == "red").then(2.0).when(pl.col("rule_channel") == "yellow").then(1.0)
    return assessed.select((pl.col("risk") + bonus.otherwise(0.0)).alias("rules_score"))["rules_score"]


def selection_metrics(chosen: pl.DataFrame, capacity: int) -> dict[str, Any]:
    """Precision, recall and revenue share of the selected (red or yellow) declarations, against the truth."""
    sel = chosen["channel"].is_in(["red", "yellow"])
    fraud = chosen["is_fraud"]
    selected, frauds = int(sel.sum()), int((sel & fraud).sum())
    total_frauds, total_revenue = int(fraud.sum()), float(chosen["revenue"].sum())
    found = float(chosen["revenue"].filter(sel).sum())
    reasons = chosen.filter(sel).group_by("selection_reason").len().sort("selection_reason")
    return {"capacity": capacity, "selected": selected, "overflow": max(0, selected - capacity),
            "frauds": frauds, "precision": frauds / selected if selected else None,
            "recall": frauds / total_frauds if total_frauds else None,
            "revenue": found / total_revenue if total_revenue else None,
            "by_reason": dict(reasons.iter_rows())}


def combined_metrics(assessed: pl.DataFrame, seed: int) -> dict[str, Any]:
    """The operating selection at each level: the metric keys of the ranking systems plus per-level details."""
    out: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for n in LEVELS:
        chosen, capacity = select_days(assessed, n / 100.0, random_share=RANDOM_SHARE,
                                       exploration_share=EXPLORATION_SHARE, seed=seed)
        m = selection_metrics(chosen, capacity)
        tag = f"{n:g}%"
        out[f"precision@{tag}"], out[f"recall@{tag}"], out[f"revenue@{tag}"] = m["precision"], m["recall"], m[
            "revenue"]
        detail[tag] = m
    out["selection"] = detail
    return out


def _clean(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# ------------------------------------------------------------------ the benchmark


def benchmark_spec(smoke: bool) -> ModelSpec | None:
    """What ``cintel train`` does for the full run (its candidate settings, chosen on validation, never
    on the test window); a few small trees for the smoke."""
    if smoke:
        return ModelSpec(num_leaves=15, learning_rate=0.1, max_rounds=60, early_stopping_rounds=15,
                         min_data_in_leaf=10, revenue_min_frauds=20)
    return None


def split_for(world_start: date, test_start: date) -> tuple[date, date]:
    """(train_to, valid_to) inside the pre-test days: the last ``VALID_SHARE`` of them validate."""
    days = (test_start - world_start).days
    valid_to = test_start - timedelta(days=1)
    return valid_to - timedelta(days=max(1, round(VALID_SHARE * days))), valid_to


def evaluate(assessed: dict[str, pl.DataFrame], truth: pl.DataFrame, seed: int) -> dict[str, Any]:
    """Every system's metrics from the three assessments (rules, model, combined) of the test window."""
    rules = with_truth(assessed["rules"], truth)
    model = with_truth(assessed["model"], truth)
    both = with_truth(assessed["combined"], truth)
    by_risk = with_truth(assessed["combined_risk"], truth)
    # Diagnostic, not the operating system: the same selection with every rule weighted only, to show how
    # much of the combined result the fixed-channel rules decide.
    unforced = both.with_columns(pl.lit(None, pl.String).alias("rule_channel"))
    return {
        "rules_only": ranking_metrics(rules.with_columns(rules_score(rules)), "rules_score", seed),
        "model_only": ranking_metrics(model, "priority", seed),
        "model_only_probability": ranking_metrics(model, "probability", seed),
        "combined_ranking": ranking_metrics(both, "priority", seed),
        "combined": combined_metrics(both, seed),
        "combined_ranked_by_risk_ranking": ranking_metrics(by_risk, "priority", seed),
        "combined_ranked_by_risk": combined_metrics(by_risk, seed),
        "combined_without_fixed_channels": combined_metrics(unforced, seed),
        "fixed_channel_hits": fixed_channel_hits(both),
        "recall@5%_by_scheme": scheme_recall(model, "probability", seed),
    }


def scheme_recall(frame: pl.DataFrame, score: str, seed: int, level: float = 5.0) -> dict[str, float]:
    """Per fraud scheme, the share of its declarations in the top ``level`` % of the ranking by ``score``."""
    ranks = tie_broken(frame[score].cast(pl.Float64).to_numpy(), seed)
    top = ranks >= frame.height * (1 - level / 100.0)
    ranked = frame.with_columns(pl.Series("top", top)).filter(pl.col("is_fraud"))
    by_scheme = ranked.group_by("scheme").agg(pl.col("top").mean()).sort("scheme")
    return {str(k): round(float(v), 4) for k, v in by_scheme.iter_rows()}


def fixed_channel_hits(frame: pl.DataFrame) -> dict[str, Any]:
    """Declarations a rule sends to a fixed channel (selected whatever the capacity) and their true fraud rate."""
    forced = frame.filter(pl.col("rule_channel").is_not_null())
    by_rule = (forced.explode("rule_ids").group_by("rule_ids").agg(pl.len(), pl.col("is_fraud").mean())
               .sort("rule_ids"))
    return {"declarations": forced.height, "share": forced.height / frame.height if frame.height else None,
            "precision": float(forced["is_fraud"].mean()) if forced.height else None,  # type: ignore[arg-type]
            "by_rule": {r: {"hits": int(n), "precision": float(p)} for r, n, p in by_rule.iter_rows()}}


def resolve_world(engine: Engine) -> dict[str, Any]:
    """Resolve the world's parties and screen them against its watch lists (what the network features read)."""
    from cintel.entities.screening_service import screen_store
    from cintel.entities.service import resolve_store

    actor = local_operator("benchmark: entities")
    resolved = resolve_store(engine, actor)
    screened = screen_store(engine, actor)
    return {"entities": resolved.entities, "party_records": resolved.records, "screening_hits": screened.hits}


def score_world(engine: Engine, world: Path, summary: Any, *, seed: int, test_days: int, smoke: bool,
                lap: Any) -> dict[str, Any]:
    """Train before the test window, score it with every system and measure them against the truth."""
    from cintel.demo_rules import refresh_listed_parties
    from cintel.risk import service

    world_start, world_end = date.fromisoformat(summary.start_date), date.fromisoformat(summary.end_date)
    test_start, test_end = world_end - timedelta(days=test_days - 1), world_end + timedelta(days=1)
    actor, _ = author_and_approver("benchmark: world")
    refresh_listed_parties(engine, actor, before=test_start)  # nothing to add before entities are screened
    t = time.perf_counter()
    trained = service.train(engine, actor, end=test_start, split=split_for(world_start, test_start), seed=seed,
                            spec=benchmark_spec(smoke))
    t = lap("train", t)
    item_frame, decl = service.feature_window(engine, test_start, test_end)
    t = lap("features", t)
    full = service.load_scorer(engine, test_start)
    scorers = {"rules": Scorer(rules=full.rules, lookups=full.lookups),
               "model": Scorer(rules=(), lookups=full.lookups, fraud_model=full.fraud_model,
                               revenue_model=full.revenue_model),
               "combined": full,
               "combined_risk": Scorer(rules=full.rules, lookups=full.lookups, fraud_model=full.fraud_model,
                                       revenue_model=full.revenue_model, rank_by="risk")}
    dates = decl.select("declaration_id", "declaration_date")
    assessed = {name: assess(item_frame, decl, s, explain=False).join(dates, on="declaration_id")
                for name, s in scorers.items()}
    t = lap("score", t)
    truth = read_truth(world)
    systems = evaluate(assessed, truth, seed)
    lap("evaluate", t)
    test_truth = truth.join(dates, on="declaration_id")
    return {"systems": systems, "trained": trained, "rules": len(full.rules), "test_declarations": decl.height,
            "test_truth": test_truth, "world_start": world_start, "world_end": world_end, "test_start": test_start}


def run_world(declarations: int = 100_000, seed: int = 1, months: int = 12, smoke: bool = False,
              workdir: Path | None = None, network: bool = True, compare_network: bool = True) -> dict[str, Any]:
    """Simulate, ingest, resolve entities (unless ``network`` is False), train before the test window and
    compare rules only, model only and the combined system on the test window against the ground truth
    (see the module docstring). With ``compare_network``, the same world is first scored without the
    entity network, and ``network_gain`` compares the two. JSON-ready."""
    test_days = TEST_DAYS
    if smoke:
        declarations, months, test_days = SMOKE["declarations"], SMOKE["months"], SMOKE["test_days"]
    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def lap(name: str, since: float) -> float:
        now = time.perf_counter()
        seconds[name] = round(now - since, 2)
        log.info("world bench: %s %.1f s", name, now - since)
        return now

    with tempfile.TemporaryDirectory(prefix="cintel-world-", dir=workdir) as tmp:
        t = time.perf_counter()
        engine, world, summary = build_world_store(Path(tmp), declarations=declarations, seed=seed, months=months)
        t = lap("simulate_ingest_rules", t)
        baseline = None
        if network and compare_network:
            baseline = score_world(engine, world, summary, seed=seed, test_days=test_days, smoke=smoke,
                                   lap=lambda name, since: lap(f"without_network_{name}", since))
            t = time.perf_counter()
        entities = resolve_world(engine) if network else None
        t = lap("entities", t)
        scored = score_world(engine, world, summary, seed=seed, test_days=test_days, smoke=smoke, lap=lap)
        engine.dispose()
    systems, trained, test_truth = scored["systems"], scored["trained"], scored["test_truth"]
    sizes = {"declarations": declarations, "items": summary.records.get("declarations", 0),
             "inspections": summary.records.get("inspections", 0), "rules": scored["rules"],
             "train_rows": trained.rows, "train_frauds": trained.frauds,
             "test_declarations": scored["test_declarations"],
             "test_frauds": int(test_truth["is_fraud"].sum()),
             "test_fraud_rate": float(test_truth["is_fraud"].mean() or 0.0),
             "test_revenue_at_risk": round(float(test_truth["revenue"].sum()), 2),
             "revenue_model": trained.revenue_model_id is not None}
    # Headline: the operating system configured for finding frauds (queue ranked by risk); the
    # revenue-first configuration (risk x expected revenue) is reported beside it.
    ratio = _ratio(systems["combined_ranked_by_risk"]["precision@5%"], systems["rules_only"]["precision@5%"])
    ratio_value = _ratio(systems["combined"]["precision@5%"], systems["rules_only"]["precision@5%"])
    seconds["total"] = round(time.perf_counter() - started, 2)
    return {
        "smoke": smoke, "seed": seed, "months": months, "network": entities,
        "window": {"world_from": scored["world_start"].isoformat(), "test_from": scored["test_start"].isoformat(),
                   "test_to": scored["world_end"].isoformat(),
                   **{f"model_{k}": str(v) for k, v in trained.window.items() if v is not None}},
        "sizes": sizes,
        "policy": {"random_share": RANDOM_SHARE, "exploration_share": EXPLORATION_SHARE, "yellow_capacity": 0},
        "systems": systems,
        "ratio_precision@5%": ratio,
        "ratio_precision@5%_ranked_by_value": ratio_value,
        "target": {"ratio_precision@5%": TARGET_RATIO},
        "meets_target": ratio is not None and ratio >= TARGET_RATIO,
        "model_validation": {k: _clean(v) for k, v in trained.metrics["fraud"]["valid"].items()},
        "network_gain": network_gain(systems, baseline["systems"]) if baseline else None,
        "seconds": seconds,
    }


GAIN_KEYS = (("model_only_probability", "precision@5%"), ("model_only_probability", "auc"),
             ("model_only", "precision@5%"), ("model_only", "auc"), ("combined_ranked_by_risk", "precision@5%"),
             ("combined", "precision@5%"), ("combined", "revenue@5%"))


def network_gain(with_network: dict[str, Any], without: dict[str, Any]) -> dict[str, Any]:
    """The same systems with and without the entity network's features, and the difference."""
    out: dict[str, Any] = {"recall@5%_by_scheme": {}}
    for scheme, a in with_network["recall@5%_by_scheme"].items():
        b = without["recall@5%_by_scheme"].get(scheme)
        out["recall@5%_by_scheme"][scheme] = {"with": a, "without": b,
                                              "gain": None if b is None else round(a - b, 4)}
    for system, key in GAIN_KEYS:
        a, b = with_network[system].get(key), without[system].get(key)
        out[f"{system}_{key}"] = {"with": a, "without": b,
                                  "gain": None if a is None or b is None else round(a - b, 4)}
    return out
