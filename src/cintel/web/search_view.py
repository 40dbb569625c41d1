"""One search box over declarations (id, exact or prefix), entities (fuzzy, transliterated names and
normalised identifiers), containers (ISO 6346 number) and vessels (IMO or name): results grouped by kind,
best first, at most ``MAX_PER_KIND`` each.

Every result shows only what the searcher's roles may read (``domain.permissions``): entities and vessels are
searched only for those who may read entities - a role refused the entity pages is not told which company an
IBAN belongs to - and a container links to the network only for those who may read it."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Engine, func, select

from cintel.domain.permissions import Area, may_read
from cintel.domain.roles import Role
from cintel.entities.normalise import imo_key
from cintel.entities.search import MAX_RESULTS, search_entities
from cintel.store.entity_tables import entities, entity_records
from cintel.store.tables import declaration_containers, declarations

MAX_PER_KIND = MAX_RESULTS
MAX_QUERY = 200
KINDS = ("declaration", "entity", "container", "vessel")
# What a role must be allowed to read to see results of each kind.
KIND_AREAS = {"declaration": Area.QUEUE, "entity": Area.ENTITIES, "container": Area.QUEUE, "vessel": Area.ENTITIES}
_ID_CHARS = re.compile(r"^[A-Za-z0-9_./-]+$")


def _prefix_range(column: Any, prefix: str) -> Any:
    # A range rather than LIKE: it uses the primary-key index on every back end and needs no escaping.
    return (column >= prefix) & (column < prefix + "\U0010ffff")


def search_declarations(engine: Engine, q: str) -> list[dict[str, Any]]:
    """Declarations whose id is ``q`` or starts with it (case-insensitive for the letters of an MRN)."""
    text = q.strip().upper()
    if not _ID_CHARS.match(text):
        return []
    d = declarations.c
    query = (select(d.declaration_id, d.declaration_date, d.importer_name, d.office_code)
             .where(_prefix_range(d.declaration_id, text)).order_by(d.declaration_id).limit(MAX_PER_KIND))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{"id": r["declaration_id"], "label": r["declaration_id"], "href": f"/declarations/{r['declaration_id']}",
             "detail": f"{r['declaration_date']} · {r['importer_name'] or '–'} · office {r['office_code']}",
             "exact": r["declaration_id"] == text} for r in sorted(rows, key=lambda r: r["declaration_id"] != text)]


def search_containers(engine: Engine, q: str, *, network: bool = True) -> list[dict[str, Any]]:
    """Containers whose ISO 6346 number starts with ``q`` (spaces and dashes ignored), with their declarations;
    each links to its graph on the network page (``network``), else to its first declaration."""
    text = re.sub(r"[\s-]", "", q).upper()
    if not re.fullmatch(r"[A-Z]{3,4}[0-9]{0,7}", text):
        return []
    c = declaration_containers.c
    query = (select(c.container_number, func.count().label("declarations"), func.min(c.declaration_id).label("first"))
             .where(_prefix_range(c.container_number, text)).group_by(c.container_number)
             .order_by(c.container_number).limit(MAX_PER_KIND))
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [{"id": r["container_number"], "label": r["container_number"],
             "href": f"/network?node=container:{r['container_number']}" if network else f"/declarations/{r['first']}",
             "detail": f"{r['declarations']} declaration{'s' if r['declarations'] != 1 else ''}"} for r in rows]


def search_vessels(engine: Engine, q: str) -> list[dict[str, Any]]:
    """Vessel entities by IMO number (with or without 'IMO') or by name."""
    imo = imo_key(q) or (re.sub(r"\D", "", q) if re.fullmatch(r"\s*(IMO)?\s*\d{7}\s*", q, re.I) else None)
    found: list[dict[str, Any]] = []
    if imo:
        query = (select(entities.c.entity_id, entities.c.label, entity_records.c.imo).distinct()
                 .join(entity_records, entity_records.c.entity_id == entities.c.entity_id)
                 .where(entity_records.c.imo == imo).limit(MAX_PER_KIND))
        with engine.connect() as conn:
            found = [{"entity_id": r.entity_id, "label": r.label, "matched": f"IMO {r.imo}", "score": 100.0}
                     for r in conn.execute(query)]
    seen = {f["entity_id"] for f in found}
    found += [r for r in search_entities(engine, q, entity_type="vessel") if r["entity_id"] not in seen]
    return [{"id": r["entity_id"], "label": r["label"], "href": f"/entities/{r['entity_id']}",
             "detail": f"matched {r['matched']} ({r['score']:.0f})", "entity_id": r["entity_id"]}
            for r in found[:MAX_PER_KIND]]


def searchable(roles: frozenset[Role]) -> tuple[str, ...]:
    """The kinds of result ``roles`` may see."""
    return tuple(k for k in KINDS if may_read(roles, KIND_AREAS[k]))


def search_all(engine: Engine, q: str, kind: str | None = None, *, roles: frozenset[Role]
               ) -> dict[str, list[dict[str, Any]]]:
    """Results per kind the ``roles`` may see (only ``kind`` when given) for the query ``q``."""
    q = q.strip()[:MAX_QUERY]
    out: dict[str, list[dict[str, Any]]] = {k: [] for k in searchable(roles) if kind in (None, k)}
    if not q:
        return out
    if "declaration" in out:
        out["declaration"] = search_declarations(engine, q)
    if "entity" in out:
        out["entity"] = [{"id": r["entity_id"], "label": r["label"], "href": f"/entities/{r['entity_id']}",
                          "detail": f"{r['entity_type']}{', ' + r['country'] if r['country'] else ''} · matched "
                                    f"{r['matched']} ({r['score']:.0f})", "entity_id": r["entity_id"]}
                         for r in search_entities(engine, q) if r["entity_type"] != "vessel"]
    if "container" in out:
        out["container"] = search_containers(engine, q, network=may_read(roles, Area.NETWORK))
    if "vessel" in out:
        out["vessel"] = search_vessels(engine, q)
    return out
