"""One declaration as the workspace shows it: every field and item, provenance, parties with the entities
they resolved to, the route with positions for the map, the latest risk assessment with its rule hits
and their reasons, the importer's history with inspection outcomes, the inspection assignment and the
declaration's inspection records (recording one is `cintel.cases.inspections`).

Plain functions on an Engine returning JSON-ready dicts (dates as ISO text): the page renders them and
the API returns them unchanged, so both show the same data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, select

from cintel.cases.inspections import declaration_records, latest_assignment
from cintel.domain.codes import OutcomeType, PartyRole
from cintel.domain.records import DECLARATIONS, RecordKind
from cintel.movement.geography import country_centre, port
from cintel.risk.reasons import why_selected
from cintel.risk.rulebook import list_rules
from cintel.risk.service import explain_declaration, stored_explanation
from cintel.store import tables
from cintel.store.case_tables import counted_inspection
from cintel.store.entity_tables import entities, entity_record_sources, entity_records
from cintel.store.risk_tables import risk_assessments, risk_runs

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
    """The latest run's assessment, with why it was selected in words and its stored explanation (None for a
    run made before explanations were stored: the page then offers to re-score)."""
    a, run = risk_assessments, risk_runs
    row = conn.execute(
        select(a.c.run_id, run.c.run_date, run.c.kind.label("run_kind"), run.c.created_at.label("run_created_at"),
               run.c.model_id, a.c.probability, a.c.expected_revenue, a.c.priority, a.c.rank, a.c.rule_score,
               a.c.rule_hits, a.c.channel, a.c.selection_reason, a.c.selection_detail, a.c.reasons, a.c.explanation)
        .join(run, run.c.run_id == a.c.run_id).where(a.c.declaration_id == declaration_id)
        .order_by(a.c.run_id.desc()).limit(1)).mappings().first()
    if row is None:
        return None
    out = _row(row, drop=("rule_hits", "reasons", "explanation"))
    out["reasons"] = json.loads(row["reasons"])
    out["why"] = why_selected(row["selection_reason"], row["selection_detail"])
    out["explanation"] = stored_explanation(row["explanation"])
    rules = _rule_reasons(conn)
    out["rule_hits"] = [{"rule_id": rule_id, "version": version,
                         **rules.get((rule_id, version), {"reason": None, "weight": None, "channel": None})}
                        for rule_id, version in json.loads(row["rule_hits"])]
    return out


def _history(conn: Connection, header: Mapping[Any, Any]) -> dict[str, Any]:
    """The importer's other declarations (latest first) with their latest channel, and the inspections
    of all the importer's declarations (this one included) that count as outcomes, with counts."""
    d, i, ins, a = tables.declarations, tables.declaration_items, tables.record_tables[RecordKind.INSPECTIONS], \
        risk_assessments
    if header.get("importer_id"):
        trader, by = d.c.importer_id == header["importer_id"], "importer_id"
    else:  # no identifier declared: the same declared name and country is the best match there is
        trader = and_(d.c.importer_id.is_(None), d.c.importer_name == header["importer_name"],
                      d.c.importer_country == header["importer_country"])
        by = "importer_name"
    # The page's 20 declarations first, then their values and latest channels: grouping the whole item and
    # assessment tables to join them (the obvious query) costs seconds on a large store.
    others = [dict(r) for r in conn.execute(
        select(d.c.declaration_id, d.c.declaration_date, d.c.n_items)
        .where(trader, d.c.declaration_id != header["declaration_id"])
        .order_by(d.c.declaration_date.desc(), d.c.declaration_id.desc()).limit(HISTORY_LIMIT)).mappings()]
    shown = [r["declaration_id"] for r in others]
    values = dict(tuple(r) for r in conn.execute(
        select(i.c.declaration_id, func.sum(i.c.customs_value)).where(i.c.declaration_id.in_(shown))
        .group_by(i.c.declaration_id)).all())
    channels: dict[str, tuple[int, str]] = {}
    for declaration_id, run_id, assessed in conn.execute(
            select(a.c.declaration_id, a.c.run_id, a.c.channel).where(a.c.declaration_id.in_(shown))):
        if declaration_id not in channels or run_id > channels[declaration_id][0]:
            channels[declaration_id] = (run_id, assessed)
    for r in others:
        r["customs_value"] = values.get(r["declaration_id"])
        r["channel"] = channels.get(r["declaration_id"], (0, None))[1]
    inspected = (select(ins.c.inspection_id, ins.c.declaration_id, ins.c.inspection_date, ins.c.channel,
                        ins.c.outcome, ins.c.findings, ins.c.additional_duty, ins.c.seizure, ins.c.seized_goods,
                        ins.c.inspector_id, ins.c.selection_reason)
                 .join(d, d.c.declaration_id == ins.c.declaration_id).where(trader, counted_inspection()))
    inspections = conn.execute(inspected.order_by(ins.c.inspection_date.desc(), ins.c.inspection_id.desc())
                               .limit(HISTORY_LIMIT)).mappings().all()
    counts = conn.execute(select(func.count(), func.count().filter(ins.c.outcome != OutcomeType.NO_FINDING.value),
                                 func.count(func.distinct(d.c.declaration_id)))
                          .select_from(ins.join(d, d.c.declaration_id == ins.c.declaration_id))
                          .where(trader, counted_inspection())).one()
    declared = conn.execute(select(func.count()).select_from(d).where(trader)).scalar_one()
    return {"matched_by": by, "declarations": [_row(r) for r in others], "inspections": [_row(r) for r in inspections],
            "counts": {"declarations": int(declared), "inspections": int(counts[0]), "findings": int(counts[1]),
                       "inspected_declarations": int(counts[2])}}


def declaration_page(engine: Engine, declaration_id: str) -> dict[str, Any] | None:
    """Everything the declaration page shows, the latest assessment's explanation included (stored when its
    run scored); None when the declaration is not stored. Re-scoring with today's rules and model is
    `declaration_explanation`, on request."""
    d, i, b = tables.declarations, tables.declaration_items, tables.batches
    with engine.connect() as conn:
        header = conn.execute(select(d).where(d.c.declaration_id == declaration_id)).mappings().first()
        if header is None:
            return None
        items = conn.execute(select(i).where(i.c.declaration_id == declaration_id).order_by(i.c.item_no)
                             ).mappings().all()
        # The declaration's containers are the union of its items' (as ingest stores them): read from the items,
        # since declaration_containers is keyed container first and a lookup by declaration would scan it.
        containers = sorted({n.strip() for r in items for n in (r["container_numbers"] or "").split(";") if n.strip()})
        batch = conn.execute(select(b.c.id, b.c.source_path, b.c.source_format, b.c.started_at)
                             .where(b.c.id == header["batch_id"])).mappings().first()
        parties = _parties(conn, header)
        assessment = _assessment(conn, declaration_id)
        history = _history(conn, header)
        assigned = latest_assignment(conn, declaration_id)
        own = declaration_records(conn, declaration_id)  # each with its status: current, superseded, ...
    explained = assessment_explanation(declaration_id, header["declaration_date"], assessment)
    if assessment is not None:
        del assessment["explanation"]  # shown once, as the page's explanation
    header_fields = [f.name for f in DECLARATIONS.header_fields]
    item_fields = [f.name for f in DECLARATIONS.item_fields]
    origins = sorted({r["country_of_origin"] for r in items if r["country_of_origin"]})
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
        "explanation": explained,
        "history": history,
        "inspections": own,
        "assignment": _row(assigned) if assigned else None,
    }


def assessment_explanation(declaration_id: str, declared: date, assessment: dict[str, Any] | None
                           ) -> dict[str, Any] | None:
    """The latest assessment's stored explanation, shaped like a re-scored one (``source`` "assessment");
    None when the declaration was never assessed or its run predates stored explanations."""
    if assessment is None or assessment["explanation"] is None:
        return None
    a = assessment
    return {"declaration_id": declaration_id, "declaration_date": _plain(declared), "source": "assessment",
            "run_id": a["run_id"], "run_date": a["run_date"], "model_id": a["model_id"],
            "probability": a["probability"], "expected_revenue": a["expected_revenue"], "priority": a["priority"],
            "rule_hits": [[h["rule_id"], h["version"]] for h in a["rule_hits"]], "reasons": a["explanation"],
            "latest_selection": {k: a[k] for k in ("run_id", "run_date", "channel", "selection_reason",
                                                   "selection_detail", "rank", "why")}}


def latest_explanation(engine: Engine, declaration_id: str) -> dict[str, Any] | None:
    """The stored explanation of the declaration's latest assessment (`assessment_explanation`); None when
    there is none to show."""
    d = tables.declarations
    with engine.connect() as conn:
        day = conn.execute(select(d.c.declaration_date).where(d.c.declaration_id == declaration_id)
                           ).scalar_one_or_none()
        assessment = _assessment(conn, declaration_id) if day is not None else None
    return assessment_explanation(declaration_id, day, assessment) if day is not None else None


def declaration_explanation(engine: Engine, declaration_id: str) -> dict[str, Any]:
    """The declaration re-scored as of its own date with today's rules and model, each reason with its
    contribution to the log-odds (`cintel.risk.service.explain_declaration`), JSON-ready. It reads a year of
    history (seconds on a large store): the page shows the stored explanation and calls this on request."""
    explained = explain_declaration(engine, declaration_id)
    latest = explained.get("latest_selection")
    return {**{k: _plain(v) for k, v in explained.items() if k != "latest_selection"}, "source": "re-scored",
            "latest_selection": {**_row(latest), "why": why_selected(latest["selection_reason"],
                                                                     latest["selection_detail"])}
            if latest else None}
