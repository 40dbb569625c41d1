"""How the risk operation did on a day, as plain data: the day's intake against the four weeks before it
(cintel.store.stats), its channels against capacity, inspection hits and revenue found (with the hit rate
per reason of selection), the active models' measured performance and drift alerts. The dashboard page
and its API show what ``day_figures`` returns.

Everything here is an aggregate (counts, sums, rates, model metrics): no declaration, party or person is
returned, which is why the dashboard does not write the access log (see cintel.web.dashboard).
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from cintel.domain.codes import Channel, OutcomeType
from cintel.domain.records import RecordKind
from cintel.risk.reasons import why_selected
from cintel.risk.selection import REASON_SCORE
from cintel.store.case_tables import counted_inspection
from cintel.store.risk_tables import risk_assessments, risk_drift, risk_models, risk_runs
from cintel.store.stats import intake
from cintel.store.tables import declarations, record_tables

HIT_WINDOWS = (7, 28)
# Why a declaration was inspected, as the dashboard groups hit rates (selection_reason "score" is the model).
REASON_GROUPS = ("rule", "model", "random", "exploration", "other")
_ASSESSED_REASON = {"rule": "rule", "score": "model", "random": "random", "exploration": "exploration"}
_RULE_TEXT = re.compile(r"^(R\d+\b|rule\b)", re.IGNORECASE)
DRIFT_ALERTS_SHOWN = 20

inspections = record_tables[RecordKind.INSPECTIONS]


def reason_group(assessed: str | None, recorded: str | None) -> str:
    """The selection reason an inspection counts under: the risk run's own code when the declaration was
    selected by a run, otherwise read from the free text the inspection record carries ("R01 ...",
    "random selection", ...)."""
    if assessed in _ASSESSED_REASON:
        return _ASSESSED_REASON[assessed]
    text = (recorded or "").strip()
    lowered = text.lower()
    if lowered.startswith("random"):
        return "random"
    if "explor" in lowered:
        return "exploration"
    if _RULE_TEXT.match(text):
        return "rule"
    if "model" in lowered or "score" in lowered:
        return "model"
    return "other"


def reason_label(group: str) -> str:
    """A reason group in the words the queue and the declaration page use for why a declaration was selected."""
    return why_selected(REASON_SCORE if group == "model" else group) if group != "other" else "other"


def latest_run_day(engine: Engine) -> date | None:
    """The day of the most recent risk run, the dashboard's default day."""
    with engine.connect() as conn:
        day: date | None = conn.execute(select(risk_runs.c.run_date).order_by(risk_runs.c.run_id.desc())
                                        .limit(1)).scalar_one_or_none()
    return day


def channels(engine: Engine, day: date) -> dict[str, Any] | None:
    """The latest run of ``day``: declarations per channel against the red and yellow capacity it was
    selected with (None when no run scored that day)."""
    with engine.connect() as conn:
        run = conn.execute(select(risk_runs).where(risk_runs.c.run_date == day)
                           .order_by(risk_runs.c.run_id.desc()).limit(1)).mappings().first()
        if run is None:
            return None
        counted = dict(tuple(r) for r in conn.execute(select(risk_assessments.c.channel, func.count())
                                    .where(risk_assessments.c.run_id == run["run_id"])
                                    .group_by(risk_assessments.c.channel)).all())
    parameters = json.loads(run["parameters"])
    summary = json.loads(run["summary"])
    capacity = {Channel.RED.value: parameters.get("red_capacity"),
                Channel.YELLOW.value: parameters.get("yellow_capacity"), Channel.GREEN.value: None}
    by_reason = summary.get("counts", {})
    return {
        "run_id": run["run_id"], "kind": run["kind"], "run_date": run["run_date"].isoformat(),
        "total": sum(counted.values()),
        "rows": [{"channel": c.value, "count": int(counted.get(c.value, 0)), "capacity": capacity[c.value],
                  "overflow": summary.get("overflow", {}).get(c.value, 0), "by_reason": by_reason.get(c.value, {})}
                 for c in (Channel.RED, Channel.YELLOW, Channel.GREEN)],
    }


def hits(engine: Engine, day: date) -> dict[str, Any]:
    """Inspections recorded in the 7 and 28 days ending on ``day``: how many, how many found something,
    the additional duty assessed and seizures; and the hit rate per selection reason over 28 days."""
    # The reason the system selected the declaration, from the latest selection run that queued it.
    assessed = (select(risk_assessments.c.selection_reason)
                .select_from(risk_assessments.join(risk_runs, risk_runs.c.run_id == risk_assessments.c.run_id))
                .where(risk_assessments.c.declaration_id == inspections.c.declaration_id,
                       risk_runs.c.kind == "select")
                .order_by(risk_assessments.c.run_id.desc()).limit(1).scalar_subquery())
    start = day - timedelta(days=max(HIT_WINDOWS) - 1)
    with engine.connect() as conn:
        rows = conn.execute(select(inspections.c.inspection_date, inspections.c.outcome, inspections.c.additional_duty,
                                   inspections.c.seizure, inspections.c.selection_reason, assessed.label("assessed"))
                            .where(inspections.c.inspection_date >= start, inspections.c.inspection_date <= day,
                                   counted_inspection())).all()
    windows = []
    for days in HIT_WINDOWS:
        since = day - timedelta(days=days - 1)
        inside = [r for r in rows if r.inspection_date >= since]
        found = [r for r in inside if r.outcome != OutcomeType.NO_FINDING.value]
        windows.append({"days": days, "inspections": len(inside), "hits": len(found),
                        "hit_rate": round(len(found) / len(inside), 3) if inside else None,
                        "additional_duty": round(sum(float(r.additional_duty or 0) for r in inside), 2),
                        "seizures": sum(1 for r in inside if r.seizure)})
    groups: dict[str, list[int]] = {g: [0, 0] for g in REASON_GROUPS}
    for r in rows:
        g = groups[reason_group(r.assessed, r.selection_reason)]
        g[0] += 1
        g[1] += r.outcome != OutcomeType.NO_FINDING.value
    by_reason = [{"reason": g, "label": reason_label(g), "inspections": n, "hits": h,
                  "hit_rate": round(h / n, 3) if n else None} for g, (n, h) in groups.items()]
    return {"windows": windows, "by_reason": by_reason}


def models(engine: Engine) -> list[dict[str, Any]]:
    """The active models with the metrics measured when they were trained (validation and test windows)."""
    with engine.connect() as conn:
        rows = conn.execute(select(risk_models.c.model_id, risk_models.c.name, risk_models.c.version,
                                   risk_models.c.created_at, risk_models.c.train_from, risk_models.c.train_to,
                                   risk_models.c.metrics)
                            .where(risk_models.c.status == "active").order_by(risk_models.c.name)).all()
    out = []
    for r in rows:
        metrics = json.loads(r.metrics)
        out.append({"model_id": r.model_id, "name": r.name, "version": r.version,
                    "trained_at": r.created_at.isoformat(), "train_from": r.train_from.isoformat(),
                    "train_to": r.train_to.isoformat(),
                    "windows": [{"window": w, **{k: metrics[w].get(k) for k in ("auc", "brier", "precision@5%",
                                                                                "recall@5%", "r2", "mae", "n")
                                                 if k in metrics[w]}}
                                for w in ("valid", "test") if isinstance(metrics.get(w), dict)]})
    return out


def drift(engine: Engine) -> dict[str, Any]:
    """Drift alerts recorded for the active models (PSI above the threshold), newest week first. Read
    from risk_drift, which `cintel monitor` fills: measuring drift is too heavy for a page view."""
    with engine.connect() as conn:
        active = conn.execute(select(risk_models.c.model_id).where(risk_models.c.status == "active")).scalars().all()
        measured = conn.execute(select(func.count()).select_from(risk_drift)
                                .where(risk_drift.c.model_id.in_(active))).scalar_one()
        alerts = conn.execute(select(risk_drift.c.model_id, risk_drift.c.week_start, risk_drift.c.name,
                                     risk_drift.c.psi, risk_drift.c.measured_at)
                              .where(risk_drift.c.model_id.in_(active), risk_drift.c.alert.is_(True))
                              .order_by(risk_drift.c.week_start.desc(), risk_drift.c.psi.desc(), risk_drift.c.id)
                              .limit(DRIFT_ALERTS_SHOWN)).all()
    return {"measurements": int(measured),
            "alerts": [{"model_id": a.model_id, "week_start": a.week_start.isoformat(), "feature": a.name,
                        "psi": round(float(a.psi), 3)} for a in alerts]}


def day_figures(engine: Engine, day: date | None = None) -> dict[str, Any]:
    """Everything the dashboard shows for ``day`` (default: the latest run's day, else the latest
    declaration day; None when the store is empty)."""
    if day is None:
        day = latest_run_day(engine)
    if day is None:
        with engine.connect() as conn:
            day = conn.execute(select(func.max(declarations.c.declaration_date))).scalar_one_or_none()
    if day is None:
        return {"day": None}
    return {"day": day.isoformat(), "intake": intake(engine, day), "channels": channels(engine, day),
            "hits": hits(engine, day), "models": models(engine), "drift": drift(engine)}
