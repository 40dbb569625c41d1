"""One declaration as the workspace shows it: every field and item, provenance, parties with the entities
they resolved to, the route with positions for the map, the latest risk assessment with its rule hits
and their reasons, the importer's history with inspection outcomes, the inspection assignment; and the
recording of an inspection outcome (through the ingest path, so it feeds training like any file).

Plain functions on an Engine returning JSON-ready dicts (dates as ISO text): the page renders them and
the API returns them unchanged, so both show the same data.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from cintel.domain.codes import OutcomeType, PartyRole
from cintel.domain.records import DECLARATIONS, RecordKind
from cintel.errors import CintelError
from cintel.ingest.rows_in import RowsReport, ingest_rows
from cintel.movement.geography import country_centre, port
from cintel.risk.realtime import MAX_ITEMS, DeclarationRejected, RealtimeScorer, lodged_on
from cintel.risk.rulebook import list_rules
from cintel.risk.service import explain_declaration, model_ids
from cintel.store import tables
from cintel.store.case_tables import inspection_assignments
from cintel.store.entity_tables import entities, entity_record_sources, entity_records
from cintel.store.risk_tables import risk_assessments, risk_rules, risk_runs

HISTORY_LIMIT = 20
PARTY_ROLES = (PartyRole.IMPORTER, PartyRole.EXPORTER, PartyRole.DECLARANT, PartyRole.REPRESENTATIVE,
               PartyRole.CONSIGNEE, PartyRole.SELLER, PartyRole.BUYER)
ALWAYS_SHOWN = PARTY_ROLES[:3]
# What the declaration itself says about each party (the columns of its party mention).
DECLARED_PARTY = {
    PartyRole.IMPORTER: {"id": "importer_id", "name": "importer_name", "country": "importer_country",
                         "address": "importer_address"},
    PartyRole.EXPORTER: {"id": "exporter_id", "name": "exporter_name", "country": "exporter_country"},
    PartyRole.DECLARANT: {"id": "declarant_id"},
    PartyRole.REPRESENTATIVE: {"id": "representative_id", "name": "representative_name"},
    **{role: {"id": f"{role.value}_id", "name": f"{role.value}_name", "country": f"{role.value}_country"}
       for role in (PartyRole.CONSIGNEE, PartyRole.SELLER, PartyRole.BUYER)},
}
_PROVENANCE = ("batch_id", "source_row", "record_hash")


class InspectionRejected(CintelError):
    """The inspection record did not pass validation; ``problems`` says which field and why."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        first = problems[0] if problems else {"field": "(row)", "message": "rejected"}
        super().__init__(f"the inspection was not recorded: {first['field']}: {first['message']}")


def _plain(value: Any) -> Any:
    """A stored value as JSON-ready data: dates as ISO text, decimals as floats."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _row(row: Mapping[Any, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row.items() if k not in drop}


def declaration_exists(engine: Engine, declaration_id: str) -> bool:
    d = tables.declarations
    with engine.connect() as conn:
        return conn.execute(select(d.c.declaration_id).where(d.c.declaration_id == declaration_id)).first() is not None


def _parties(conn: Connection, header: Mapping[Any, Any]) -> list[dict[str, Any]]:
    """Importer, exporter and declarant as declared, with the entity each mention resolved to (if any)."""
    s, r, e = entity_record_sources, entity_records, entities
    # A declaration's mentions are keyed by its group key, the declaration id (cintel.entities.records).
    resolved = {row.role: row for row in conn.execute(
        select(s.c.role, r.c.record_id, r.c.entity_id, e.c.label)
        .join(r, r.c.record_id == s.c.record_id).outerjoin(e, e.c.entity_id == r.c.entity_id)
        .where(s.c.source_kind == RecordKind.DECLARATIONS.value, s.c.source_key == header["declaration_id"],
               s.c.role.in_([p.value for p in PARTY_ROLES])))}
    out = []
    for role in PARTY_ROLES:
        columns = DECLARED_PARTY[role]
        declared = {name: header.get(columns[name]) if name in columns else None
                    for name in ("id", "name", "country", "address")}
        found = resolved.get(role.value)
        if role not in ALWAYS_SHOWN and found is None and not any(declared.values()):
            continue  # a representative, consignee, seller or buyer the declaration does not name
        out.append({"role": role.value, "role_description": role.description, **declared,
                    "record_id": found.record_id if found else None,
                    "entity_id": found.entity_id if found else None,
                    "entity_label": found.label if found else None})
    return out


def _route(header: Mapping[Any, Any], origins: list[str]) -> dict[str, Any]:
    """Where the goods came from and went: countries of origin and dispatch, then the ports in order.
    Positions are None when a code is not a known seaport (the text list still names it)."""
    def country_point(kind: str, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        centre = country_centre(code)
        return {"kind": kind, "code": code, "name": code, "lat": centre[0] if centre else None,
                "lon": centre[1] if centre else None}

    def port_point(kind: str, code: str | None) -> dict[str, Any] | None:
        if not code:
            return None
        found = port(code)
        return {"kind": kind, "code": code, "name": found.name if found else code,
                "lat": found.latitude if found else None, "lon": found.longitude if found else None}

    countries = [country_point("origin", c) for c in origins]
    if header.get("country_of_dispatch") not in origins:
        countries.append(country_point("dispatch", header.get("country_of_dispatch")))
    transshipment = [c.strip() for c in (header.get("transshipment_ports") or "").split(";") if c.strip()]
    ports = [port_point("loading", header.get("port_of_loading")),
             *[port_point("transshipment", c) for c in transshipment],
             port_point("discharge", header.get("port_of_discharge"))]
    return {"countries": [c for c in countries if c], "ports": [p for p in ports if p]}


def _rule_reasons(conn: Connection) -> dict[tuple[str, int], dict[str, Any]]:
    return {(r.rule_id, r.version): {"reason": r.reason, "weight": r.weight,
                                     "channel": r.channel.value if r.channel else None}
            for r in list_rules(conn, all_versions=True)}


def _assessment(conn: Connection, declaration_id: str) -> dict[str, Any] | None:
    a, run = risk_assessments, risk_runs
    row = conn.execute(
        select(a.c.run_id, run.c.run_date, run.c.kind.label("run_kind"), run.c.model_id, a.c.probability,
               a.c.expected_revenue, a.c.priority, a.c.rank, a.c.rule_score, a.c.rule_hits, a.c.channel,
               a.c.selection_reason, a.c.selection_detail, a.c.reasons)
        .join(run, run.c.run_id == a.c.run_id).where(a.c.declaration_id == declaration_id)
        .order_by(a.c.run_id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    out = _row(row, drop=("rule_hits", "reasons"))
    out["reasons"] = json.loads(row["reasons"])
    rules = _rule_reasons(conn)
    out["rule_hits"] = [{"rule_id": rule_id, "version": version,
                         **rules.get((rule_id, version), {"reason": None, "weight": None, "channel": None})}
                        for rule_id, version in json.loads(row["rule_hits"])]
    return out


def _history(conn: Connection, header: Mapping[Any, Any]) -> dict[str, Any]:
    """The importer's other declarations (latest first) with their latest channel, and the inspections
    of all the importer's declarations (this one included), with counts."""
    d, i, ins, a = tables.declarations, tables.declaration_items, tables.record_tables[RecordKind.INSPECTIONS], \
        risk_assessments
    if header.get("importer_id"):
        trader, by = d.c.importer_id == header["importer_id"], "importer_id"
    else:  # no identifier declared: the same declared name and country is the best match there is
        trader = and_(d.c.importer_id.is_(None), d.c.importer_name == header["importer_name"],
                      d.c.importer_country == header["importer_country"])
        by = "importer_name"
    value = (select(i.c.declaration_id, func.sum(i.c.customs_value).label("customs_value"))
             .group_by(i.c.declaration_id).subquery())
    latest = (select(a.c.declaration_id, func.max(a.c.run_id).label("run_id")).group_by(a.c.declaration_id)
              .subquery())
    channel = (select(a.c.declaration_id, a.c.channel)
               .join(latest, and_(latest.c.declaration_id == a.c.declaration_id, latest.c.run_id == a.c.run_id))
               .subquery())
    others = conn.execute(
        select(d.c.declaration_id, d.c.declaration_date, d.c.n_items, value.c.customs_value, channel.c.channel)
        .outerjoin(value, value.c.declaration_id == d.c.declaration_id)
        .outerjoin(channel, channel.c.declaration_id == d.c.declaration_id)
        .where(trader, d.c.declaration_id != header["declaration_id"])
        .order_by(d.c.declaration_date.desc(), d.c.declaration_id.desc()).limit(HISTORY_LIMIT)).mappings().all()
    inspected = (select(ins.c.inspection_id, ins.c.declaration_id, ins.c.inspection_date, ins.c.channel,
                        ins.c.outcome, ins.c.findings, ins.c.additional_duty, ins.c.seizure, ins.c.seized_goods,
                        ins.c.inspector_id, ins.c.selection_reason)
                 .join(d, d.c.declaration_id == ins.c.declaration_id).where(trader))
    inspections = conn.execute(inspected.order_by(ins.c.inspection_date.desc(), ins.c.inspection_id.desc())
                               .limit(HISTORY_LIMIT)).mappings().all()
    counts = conn.execute(select(func.count(), func.count().filter(ins.c.outcome != OutcomeType.NO_FINDING.value),
                                 func.count(func.distinct(d.c.declaration_id)))
                          .select_from(ins.join(d, d.c.declaration_id == ins.c.declaration_id))
                          .where(trader)).one()
    declared = conn.execute(select(func.count()).select_from(d).where(trader)).scalar_one()
    return {"matched_by": by, "declarations": [_row(r) for r in others], "inspections": [_row(r) for r in inspections],
            "counts": {"declarations": int(declared), "inspections": int(counts[0]), "findings": int(counts[1]),
                       "inspected_declarations": int(counts[2])}}


def declaration_page(engine: Engine, declaration_id: str) -> dict[str, Any] | None:
    """Everything the declaration page shows except the model explanation (`declaration_explanation`,
    which re-scores and is loaded separately); None when the declaration is not stored."""
    d, i, c, b = tables.declarations, tables.declaration_items, tables.declaration_containers, tables.batches
    with engine.connect() as conn:
        header = conn.execute(select(d).where(d.c.declaration_id == declaration_id)).mappings().first()
        if header is None:
            return None
        items = conn.execute(select(i).where(i.c.declaration_id == declaration_id).order_by(i.c.item_no)
                             ).mappings().all()
        containers = conn.execute(select(c.c.container_number).where(c.c.declaration_id == declaration_id)
                                  .order_by(c.c.container_number)).scalars().all()
        batch = conn.execute(select(b.c.id, b.c.source_path, b.c.source_format, b.c.started_at)
                             .where(b.c.id == header["batch_id"])).mappings().first()
        parties = _parties(conn, header)
        assessment = _assessment(conn, declaration_id)
        history = _history(conn, header)
        assigned = conn.execute(select(inspection_assignments).where(
            inspection_assignments.c.declaration_id == declaration_id)
            .order_by(inspection_assignments.c.run_id.desc()).limit(1)).mappings().first()
    header_fields = [f.name for f in DECLARATIONS.header_fields]
    item_fields = [f.name for f in DECLARATIONS.item_fields]
    origins = sorted({r["country_of_origin"] for r in items if r["country_of_origin"]})
    own = [r for r in history["inspections"] if r["declaration_id"] == declaration_id]
    return {
        "declaration_id": declaration_id,
        "header": {name: _plain(header.get(name)) for name in header_fields},
        "field_descriptions": {f.name: f.description for f in DECLARATIONS.fields},
        "n_items": header["n_items"],
        "items": [{name: _plain(r.get(name)) for name in ("item_no", *[f for f in item_fields if f != "item_no"],
                                                             "source_row")} for r in items],
        "item_fields": ["item_no", *[f for f in item_fields if f != "item_no"]],
        "containers": list(containers),
        "provenance": {"batch_id": header["batch_id"], "source_row": header["source_row"],
                       "record_hash": header["record_hash"], "batch": _row(batch) if batch else None},
        "parties": parties,
        "route": _route(header, origins),
        "assessment": assessment,
        "history": history,
        "inspections": own,
        "assignment": _row(assigned) if assigned else None,
    }


def declaration_explanation(engine: Engine, declaration_id: str) -> dict[str, Any]:
    """The declaration re-scored as of its own date with today's rules and model, each reason with its
    contribution to the log-odds (`cintel.risk.service.explain_declaration`), JSON-ready."""
    explained = explain_declaration(engine, declaration_id)
    latest = explained.get("latest_selection")
    return {**{k: _plain(v) for k, v in explained.items() if k != "latest_selection"},
            "latest_selection": _row(latest) if latest else None}


def record_inspection(engine: Engine, declaration_id: str, inspector: str, outcome: Mapping[str, Any]
                      ) -> tuple[str, RowsReport]:
    """Writes one inspection record for the declaration through the ingest path (validated,
    standardised; a bad record is quarantined and raised as InspectionRejected), with the inspector and
    the reason the latest assessment gave for selecting it; returns the inspection id and the batch
    report. `cintel train` learns from it."""
    a = risk_assessments
    with engine.connect() as conn:
        latest = conn.execute(select(a.c.selection_reason, a.c.selection_detail)
                              .where(a.c.declaration_id == declaration_id)
                              .order_by(a.c.run_id.desc()).limit(1)).first()
    reason = None
    if latest is not None and latest.selection_reason:
        reason = latest.selection_reason + (f" ({latest.selection_detail})" if latest.selection_detail else "")
    inspection_id = f"WEB-{uuid.uuid4().hex}"
    row = {"inspection_id": inspection_id, "declaration_id": declaration_id,
           "inspector_id": inspector, "selection_reason": reason[:256] if reason else None, **outcome}
    report = ingest_rows(engine, RecordKind.INSPECTIONS, [row], source=f"web:{inspector}")
    if report.rows_stored != 1:
        raise InspectionRejected(report.problems)
    return inspection_id, report


# --- real-time scoring ---------------------------------------------------------------------------------------------

class NoModel(CintelError):
    """No fraud model is active: real-time scoring needs one."""


class RealtimeScorers:
    """The app's real-time scorers: one `RealtimeScorer` per declaration day (the feature state is a
    day's), the most recent ``max_days`` kept, loaded lazily on first use under a lock and dropped when
    the active models or the approved rules change (checked at most every ``check_seconds``)."""

    def __init__(self, engine: Engine, *, max_days: int = 2, check_seconds: float = 5.0) -> None:
        self.engine = engine
        self.max_days = max_days
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._scorers: OrderedDict[date, tuple[RealtimeScorer, threading.Lock]] = OrderedDict()
        self._fingerprint: tuple[Any, ...] | None = None
        self._checked = -math.inf

    def _current(self) -> tuple[Any, ...]:
        """What the scorers depend on beyond the day: the active models and the rulebook's last change."""
        r = risk_rules
        with self.engine.connect() as conn:
            rules = tuple(conn.execute(select(func.count(), func.max(r.c.approved_at), func.max(r.c.retired_at))
                                       ).one())
        return tuple(sorted(model_ids(self.engine).items())), rules

    def _scorer(self, day: date) -> tuple[RealtimeScorer, threading.Lock]:
        with self._lock:
            now = time.monotonic()
            if now - self._checked >= self.check_seconds:
                fingerprint = self._current()
                self._checked = now
                if fingerprint != self._fingerprint:
                    self._scorers.clear()
                    self._fingerprint = fingerprint
            assert self._fingerprint is not None
            if not any(name == "fraud" for name, _ in self._fingerprint[0]):
                raise NoModel("no model is trained yet: run cintel train")
            if day in self._scorers:
                self._scorers.move_to_end(day)
            else:
                self._scorers[day] = (RealtimeScorer.from_store(self.engine, day), threading.Lock())
                while len(self._scorers) > self.max_days:
                    self._scorers.popitem(last=False)
            return self._scorers[day]

    def score(self, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Scores one declaration (its item rows) with the scorer of its declaration date (today when the
        date cannot be read: validation then says why); raises DeclarationRejected or NoModel."""
        if not items or len(items) > MAX_ITEMS:
            raise DeclarationRejected([{"field": "items", "message": f"a declaration has 1 to {MAX_ITEMS} items"}])
        scorer, lock = self._scorer(lodged_on(items) or date.today())
        # A scorer's feature state grows when it meets a new (HS code, origin) pair: one call at a time.
        with lock:
            return scorer.score(items)
