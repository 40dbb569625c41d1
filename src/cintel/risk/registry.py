"""The model registry: trained models saved as versioned rows of ``risk_models`` (booster as LightGBM
text, everything else JSON, no pickles), one active version per model name.

Functions take an Engine (they open their own transaction) or a Connection (they run inside the
caller's transaction), so a training job can save and activate atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from cintel.errors import CintelError
from cintel.risk.models import Model
from cintel.store.risk_tables import risk_models
from cintel.store.transaction import transaction

_JSON_COLUMNS = ("features", "categorical", "params", "metrics", "calibration")


class RegistryError(CintelError):
    """A model id that does not exist, or a model name without an active version."""


@dataclass(frozen=True)
class ModelInfo:
    """A registry row without the booster: what ``cintel model list`` shows."""

    model_id: str
    name: str
    version: int
    kind: str
    status: str
    created_at: datetime
    created_by: str
    train_from: date
    train_to: date
    valid_to: date
    test_to: date | None
    data_hash: str
    features: list[str]
    metrics: dict[str, Any]


def save_model(conn: Connection | Engine, model: Model, created_by: str, *, now: datetime | None = None) -> str:
    """Store the model as the next version of its name, status ``candidate``; return its id (name-vN)."""
    record = model.to_record()
    with transaction(conn) as c:
        latest = c.execute(select(func.max(risk_models.c.version)).where(risk_models.c.name == model.name)).scalar()
        version = (latest or 0) + 1
        model_id = f"{model.name}-v{version}"
        row = {**record, "model_id": model_id, "version": version, "status": "candidate",
               "created_at": now or datetime.now(UTC), "created_by": created_by}
        for col in _JSON_COLUMNS:
            row[col] = None if row[col] is None else json.dumps(row[col], sort_keys=True)
        c.execute(risk_models.insert().values(**row))
    return model_id


def activate(conn: Connection | Engine, model_id: str) -> None:
    """Make ``model_id`` the active version of its name and retire the one active before it."""
    with transaction(conn) as c:
        name = c.execute(select(risk_models.c.name).where(risk_models.c.model_id == model_id)).scalar()
        if name is None:
            raise RegistryError(f"no model {model_id!r} in the registry")
        c.execute(update(risk_models).where((risk_models.c.name == name) & (risk_models.c.status == "active")
                                            & (risk_models.c.model_id != model_id)).values(status="retired"))
        c.execute(update(risk_models).where(risk_models.c.model_id == model_id).values(status="active"))


def load(conn: Connection | Engine, model_id: str) -> Model:
    """The model stored as ``model_id``, ready to score."""
    with transaction(conn) as c:
        row = c.execute(select(risk_models).where(risk_models.c.model_id == model_id)).mappings().first()
    if row is None:
        raise RegistryError(f"no model {model_id!r} in the registry")
    return Model.from_record(_decode(row))


def load_active(conn: Connection | Engine, name: str) -> Model:
    """The active version of model ``name`` (e.g. 'fraud')."""
    with transaction(conn) as c:
        model_id = c.execute(select(risk_models.c.model_id).where(
            (risk_models.c.name == name) & (risk_models.c.status == "active"))).scalar()
    if model_id is None:
        raise RegistryError(f"no active version of model {name!r}; activate one first")
    return load(conn, model_id)


def list_models(conn: Connection | Engine, name: str | None = None) -> list[ModelInfo]:
    """Every stored model (or those of ``name``), newest version first, without the boosters."""
    cols = [c for c in risk_models.c if c.name not in ("booster", "categorical", "params", "calibration")]
    query = select(*cols).order_by(risk_models.c.name, risk_models.c.version.desc())
    if name is not None:
        query = query.where(risk_models.c.name == name)
    with transaction(conn) as c:
        rows = c.execute(query).mappings().all()
    return [ModelInfo(**{k: v for k, v in _decode(r).items()}) for r in rows]


def _decode(row: Any) -> dict[str, Any]:
    out = dict(row)
    for col in _JSON_COLUMNS:
        if out.get(col) is not None:
            out[col] = json.loads(out[col])
    return out
