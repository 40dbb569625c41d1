"""The risk engine on the store: the thin shell the CLI (and later the web app) calls.

It reads declarations, history, rules and models from the store, hands frames to the pure modules
(features, scoring, selection, models, drift) and writes runs, assessments and models back. Every
run records the rule versions and model versions that produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, insert, select

from cintel.domain.access import AccessContext
from cintel.errors import CintelError
from cintel.risk import registry
from cintel.risk.drift import psi_report, write_drift
from cintel.risk.features import (
    History,
    build_features,
    categorical_features,
    labels,
    model_features,
)
from cintel.risk.models import ModelSpec, TrainedModels, train_models
from cintel.risk.network_context import network_context
from cintel.risk.rulebook import active_rules, load_lookups
from cintel.risk.scoring import EXPLAINED_REASONS, Scorer, assess, explain_reasons, with_reasons
from cintel.risk.selection import SelectionPolicy, summarise
from cintel.risk.selection import select as select_channels
from cintel.store.frames import load_inspections, load_items, load_tariff
from cintel.store.risk_tables import risk_assessments, risk_runs

# Peer statistics look back 52 weeks from the Monday of the scored week: a year and two weeks of
# history covers them with margin.
HISTORY_DAYS = 380
# Model settings tried by ``train`` when none is given; the best validation AUC wins. Inspected
# declarations number thousands, not millions, so smaller, more regularised trees are in the set; depth
# is capped because every queued declaration is explained with TreeSHAP, whose cost grows with depth².
CANDIDATE_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(max_depth=8),
    ModelSpec(num_leaves=15, max_depth=6, min_data_in_leaf=40, learning_rate=0.05, feature_fraction=0.7),
    ModelSpec(num_leaves=7, max_depth=4, min_data_in_leaf=60, learning_rate=0.05, feature_fraction=0.6,
              lambda_l2=5.0),
)
# High-cardinality codes worth a smoothed fraud rate learnt on the training window.
TARGET_ENCODED = ("main_hs6",)


class RiskError(CintelError):
    """The risk engine cannot do what was asked with what the store holds."""


def model_inputs() -> tuple[list[str], list[str], list[str]]:
    """(features, categorical, target-encoded) the models are trained on."""
    features = [*model_features(), *[c for c in TARGET_ENCODED if c not in model_features()]]
    return features, categorical_features(), list(TARGET_ENCODED)


def history_before(engine: Engine, day: date, inspections_until: date | None = None) -> History:
    """What was known before ``day``: a year of items, inspections dated before it, the tariff."""
    return History(items=load_items(engine, day - timedelta(days=HISTORY_DAYS), day),
                   inspections=load_inspections(engine, inspections_until or day), tariff=load_tariff(engine),
                   network=network_context(engine))


def feature_window(engine: Engine, start: date | None, end: date | None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Feature frames (items, declarations) of every declaration dated in [start, end), point in time:
    each declaration sees only what was known before its own date."""
    items = load_items(engine, start, end)
    if items.is_empty():
        raise RiskError(f"no declarations stored between {start or 'the start'} and {end or 'today'}")
    first: date = items["declaration_date"].min()  # type: ignore[assignment]
    history = History(items=load_items(engine, first - timedelta(days=HISTORY_DAYS), first),
                      inspections=load_inspections(engine, end), tariff=load_tariff(engine),
                      network=network_context(engine))
    return build_features(items, history)


def training_frame(engine: Engine, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Declaration features of the inspected declarations in [start, end) with their outcome labels,
    as recorded before ``end`` (a backtest trained up to a day must not learn later findings)."""
    _, decl = feature_window(engine, start, end)
    outcome = labels(load_inspections(engine, end))
    return decl.join(outcome, on="declaration_id", how="inner")


def fit_models(frame: pl.DataFrame, *, split: tuple[float, float] | tuple[date, date] = (0.7, 0.85), seed: int = 0,
               spec: ModelSpec | None = None) -> TrainedModels:
    """Fraud and revenue models on a labelled training frame: ``spec``, or the best of the candidate
    settings by validation AUC (the test window stays a report)."""
    features, categorical, encoded = model_inputs()
    candidates = [spec] if spec is not None else list(CANDIDATE_SPECS)
    fits = [train_models(frame, features, categorical, target_encoded=encoded, split=split, seed=seed, spec=s)
            for s in candidates]
    return max(fits, key=lambda t: t.fraud.metrics["valid"].get("auc") or 0.0)


@dataclass(frozen=True)
class TrainReport:
    fraud_model_id: str
    revenue_model_id: str | None
    rows: int
    frauds: int
    window: dict[str, Any]
    metrics: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def train(engine: Engine, actor: AccessContext, *, start: date | None = None, end: date | None = None,
          split: tuple[float, float] | tuple[date, date] = (0.7, 0.85), seed: int = 0,
          spec: ModelSpec | None = None, activate: bool = True) -> TrainReport:
    """Trains the fraud and revenue models on the recorded inspection outcomes, registers them and
    (by default) makes them the active ones."""
    frame = training_frame(engine, start, end)
    if frame.height < 100:
        raise RiskError(f"only {frame.height} inspected declarations to learn from; at least 100 are needed")
    trained = fit_models(frame, split=split, seed=seed, spec=spec)
    # One transaction: scoring never sees a new fraud model beside the previous revenue model.
    with engine.begin() as conn:
        fraud_id = registry.save_model(conn, trained.fraud, actor.user)
        revenue_id = registry.save_model(conn, trained.revenue, actor.user) if trained.revenue else None
        if activate:
            for model_id in (fraud_id, revenue_id):
                if model_id:
                    registry.activate(conn, model_id)
    w = trained.fraud.window
    return TrainReport(fraud_id, revenue_id, frame.height, int(frame["is_fraud"].sum()),
                       {"train_from": w.train_from, "train_to": w.train_to, "valid_to": w.valid_to,
                        "test_to": w.test_to},
                       {"fraud": trained.fraud.metrics,
                        "revenue": trained.revenue.metrics if trained.revenue else None})


def load_scorer(engine: Engine, on: date, *, use_model: bool = True, rank_by: str = "value") -> Scorer:
    """The approved rules valid on ``on``, the lookup lists and the active models (if any)."""
    fraud = revenue = None
    if use_model:
        names = {m.name for m in registry.list_models(engine) if m.status == "active"}
        fraud = registry.load_active(engine, "fraud") if "fraud" in names else None
        revenue = registry.load_active(engine, "revenue") if "revenue" in names else None
    return Scorer(rules=active_rules(engine, on), lookups=load_lookups(engine), fraud_model=fraud,
                  revenue_model=revenue, rank_by=rank_by)


def model_ids(engine: Engine) -> dict[str, str]:
    return {m.name: m.model_id for m in registry.list_models(engine) if m.status == "active"}


def features_day(engine: Engine, day: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Feature frames of the declarations lodged on ``day``."""
    items = load_items(engine, day, day + timedelta(days=1))
    if items.is_empty():
        raise RiskError(f"no declarations stored for {day}")
    return build_features(items, history_before(engine, day))


def run_day(engine: Engine, actor: AccessContext, day: date, policy: SelectionPolicy | None = None,
            *, use_model: bool = True, rank_by: str = "value") -> dict[str, Any]:
    """Scores (and, given a policy, selects) one day's declarations and records the run."""
    scorer = load_scorer(engine, day, use_model=use_model, rank_by=rank_by)
    item_frame, decl = features_day(engine, day)
    assessed = assess(item_frame, decl, scorer, explain=False)
    if policy is not None:
        chosen = select_channels(assessed, policy)
        summary = summarise(chosen, policy)
    else:
        chosen = assessed.with_columns(
            channel=pl.lit("green"), selection_reason=pl.lit("none"), selection_detail=pl.lit(None, pl.String),
            rank=pl.col("priority").rank("ordinal", descending=True).cast(pl.Int64))
        summary = {"n": chosen.height}
    # Every assessment keeps its explanation, so that any declaration of the run is shown with why it
    # scored so without re-scoring (a year of history: seconds). TreeSHAP costs about a millisecond per
    # declaration: a few seconds for a day of thousands.
    chosen = with_reasons(chosen, decl, scorer).join(main_items(item_frame), on="declaration_id", how="left",
                                                     maintain_order="left")
    ids = model_ids(engine) if use_model else {}
    run = {
        "kind": "select" if policy else "score", "run_date": day, "created_at": datetime.now(UTC),
        "created_by": actor.user, "model_id": ids.get("fraud"), "revenue_model_id": ids.get("revenue"),
        "rule_versions": json.dumps(scorer.rule_versions),
        "parameters": json.dumps({**(asdict(policy) if policy else {}), "rank_by": rank_by}, default=str),
        "summary": json.dumps(summary, default=str),
    }
    with engine.begin() as conn:
        run_id = conn.execute(insert(risk_runs).values(**run).returning(risk_runs.c.run_id)).scalar_one()
        rows = [_assessment_row(run_id, r) for r in chosen.iter_rows(named=True)]
        if rows:
            conn.execute(insert(risk_assessments), rows)
    return {"run_id": run_id, **{k: v for k, v in run.items() if k not in ("rule_versions", "parameters",
                                                                             "summary")},
            "rule_versions": scorer.rule_versions, "summary": summary, "assessments": chosen}


def main_items(item_frame: pl.DataFrame) -> pl.DataFrame:
    """Per declaration: its total customs value, the commodity code and origin of its largest-value item
    (ties: the first item) and its office, what the queue shows beside the score."""
    ordered = item_frame.sort("declaration_id", "customs_value", "item_no", descending=[False, True, False],
                              nulls_last=True)
    return ordered.group_by("declaration_id", maintain_order=True).agg(
        customs_value=pl.col("customs_value").cast(pl.Float64).sum(),
        main_hs_code=pl.col("hs_code").first(), main_origin=pl.col("country_of_origin").first(),
        office_code=pl.col("office_code").first())


def _assessment_row(run_id: int, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_id": run_id, "declaration_id": r["declaration_id"], "probability": r["probability"],
        "expected_revenue": r["expected_revenue"], "priority": r["priority"], "rank": r["rank"],
        "rule_score": r["rule_score"], "rule_hits": json.dumps([[h["rule_id"], h["version"]] for h in r["rule_hits"]]),
        "channel": r["channel"], "selection_reason": r["selection_reason"],
        "selection_detail": r["selection_detail"], "reasons": json.dumps(r["reasons"]),
        "explanation": json.dumps([[x["feature"], None if x["contribution"] is None else round(x["contribution"], 4),
                                    x["text"]] for x in r["explanation"]]),
        "customs_value": r.get("customs_value"), "main_hs_code": r.get("main_hs_code"),
        "main_origin": r.get("main_origin"), "office_code": r.get("office_code"),
    }


def stored_explanation(text: str | None) -> list[dict[str, Any]] | None:
    """An assessment's stored explanation as reasons ({text, feature, contribution}); None when its run was
    made before explanations were stored."""
    if text is None:
        return None
    return [{"text": t, "feature": f, "contribution": c} for f, c, t in json.loads(text)]


def latest_run(engine: Engine, day: date | None = None, kind: str | None = None) -> dict[str, Any] | None:
    """The most recent run (of a day and kind, when given)."""
    q = select(risk_runs).order_by(risk_runs.c.run_id.desc()).limit(1)
    if day is not None:
        q = q.where(risk_runs.c.run_date == day)
    if kind is not None:
        q = q.where(risk_runs.c.kind == kind)
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def run_assessments(engine: Engine, run_id: int, channel: str | None = None) -> list[dict[str, Any]]:
    q = select(risk_assessments).where(risk_assessments.c.run_id == run_id).order_by(risk_assessments.c.rank)
    if channel is not None:
        q = q.where(risk_assessments.c.channel == channel)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(q).mappings()]
    for r in rows:
        r["rule_hits"] = json.loads(r["rule_hits"])
        r["reasons"] = json.loads(r["reasons"])
        r["explanation"] = stored_explanation(r["explanation"])
    return rows


def explain_declaration(engine: Engine, declaration_id: str) -> dict[str, Any]:
    """Scores one stored declaration as of its own date with today's rules and models, and explains it:
    rule hits, probability, and every reason with the model's contribution. It loads a year of history
    (seconds on a large store): what a run assessed is explained from the run (``stored_explanation``)."""
    from cintel.store.tables import declarations

    with engine.connect() as conn:
        day = conn.execute(select(declarations.c.declaration_date)
                           .where(declarations.c.declaration_id == declaration_id)).scalar_one_or_none()
    if day is None:
        raise RiskError(f"declaration '{declaration_id}' is not in the store")
    items = load_items(engine, day, day + timedelta(days=1))
    item_frame, decl = build_features(items, history_before(engine, day))
    one = declaration_id
    item_frame = item_frame.filter(pl.col("declaration_id") == one)
    decl = decl.filter(pl.col("declaration_id") == one)
    scorer = load_scorer(engine, day)
    assessed = assess(item_frame, decl, scorer, explain=False)
    reasons = explain_reasons(decl, assessed["rule_ids"], scorer, k=EXPLAINED_REASONS)
    row = assessed.row(0, named=True)
    past = _latest_assessment(engine, declaration_id)
    return {
        "declaration_id": declaration_id, "declaration_date": day, "probability": row["probability"],
        "expected_revenue": row["expected_revenue"], "risk": row["risk"], "priority": row["priority"],
        "rule_hits": [[h["rule_id"], h["version"]] for h in row["rule_hits"]], "rule_channel": row["rule_channel"],
        "reasons": [{"text": r.text, "feature": r.feature, "contribution": None if r.contribution != r.contribution
                     else round(r.contribution, 4)} for r in reasons[0]],
        "latest_selection": past,
    }


def _latest_assessment(engine: Engine, declaration_id: str) -> dict[str, Any] | None:
    a, r = risk_assessments, risk_runs
    q = (select(a.c.run_id, r.c.run_date, a.c.channel, a.c.selection_reason, a.c.selection_detail, a.c.rank)
         .join(r, r.c.run_id == a.c.run_id).where(a.c.declaration_id == declaration_id)
         .order_by(a.c.run_id.desc()).limit(1))
    with engine.connect() as conn:
        row = conn.execute(q).mappings().first()
    return dict(row) if row else None


def monitor(engine: Engine, *, weeks: int = 8, end: date | None = None, threshold: float = 0.2) -> dict[str, Any]:
    """Population stability of the active model's features and score, per week of the last ``weeks``
    weeks against its training window; alerts are recorded in ``risk_drift``."""
    model = registry.load_active(engine, "fraud")
    model_id = model_ids(engine)["fraud"]
    end = end or last_declaration_day(engine) + timedelta(days=1)
    start = end - timedelta(weeks=weeks)
    _, reference = feature_window(engine, model.window.train_from, model.window.train_to + timedelta(days=1))
    _, monitored = feature_window(engine, start, end)
    reference = reference.with_columns(score=pl.Series(model.predict_proba(reference)))
    monitored = monitored.with_columns(score=pl.Series(model.predict_proba(monitored)))
    columns: Sequence[str] = [*model.features, "score"]
    categorical = [c for c in model.features if reference.schema[c] in (pl.String, pl.Categorical)]
    report = psi_report(reference, monitored, columns, categorical, threshold=threshold)
    written = write_drift(engine, model_id, report)
    alerts = report.filter(pl.col("alert"))
    return {"model_id": model_id, "weeks": weeks, "from": start, "to": end, "measurements": written,
            "alerts": alerts.select("week_start", "name", "psi").to_dicts(),
            "score_psi": report.filter(pl.col("name") == "score").select("week_start", "psi").to_dicts()}


def last_declaration_day(engine: Engine) -> date:
    """The latest declaration date in the store (the default day to score)."""
    from cintel.store.tables import declarations

    with engine.connect() as conn:
        day = conn.execute(select(func.max(declarations.c.declaration_date))).scalar_one_or_none()
    if day is None:
        raise RiskError("the store holds no declarations")
    return day  # type: ignore[no-any-return]
