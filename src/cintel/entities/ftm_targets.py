"""Which entities of an FtM export become watch-list entries, with their sanctions and their context.

Each line of an export is one FtM entity ``{"id", "schema", "properties": {...}, "target", "datasets",
"first_seen", "last_change", ...}``; each line of an OpenSanctions *delta* file is one operation
``{"op": "ADD" | "MOD" | "DEL", "entity": {...}}``. Reading (``read_export``) never raises on content:
a line that cannot be used becomes an ``FtmProblem`` with its line number and raw text.

Which entities become watch-list entries (``derive``) -- only **targets**:

* an entity of a legal-entity schema (Person, Company, Organization, LegalEntity, PublicBody) or a
  Vessel, and
* ``target: true`` when the export says (OpenSanctions always does); ``target: false`` is never an entry.
  When ``target`` is absent, a party is a target when its ``topics`` hold one of ``TARGET_TOPICS``
  (``sanction``, ``debarment``, ``wanted``: a sanctioned, debarred or wanted party) or when a
  Sanction entity of the export names it. Topics that only describe a party (``sanction.linked``,
  ``sanction.control``, ``sanction.counter``, ``role.pep``, ``role.rca``, ``crime.*``, ``poi``,
  ``export.control``, ...) do not make a target: such parties are associates, owners or persons
  of interest, kept as context.

Everything else is accounted for, never silently dropped:

* **context**: a non-target entity linked to a target -- directly (an Address in its
  ``addressEntity``, a Sanction or an Identification naming it) or through one link entity (the
  owner behind an Ownership, the relative behind a Family link) -- is kept as context of the entries
  it belongs to (``ContextRow``);
* **skipped**: an entity linked to no target, counted per schema.

Mapping of a target to a WATCHLIST row (first value wins where one value is kept; values are cut
to the field's length and values the field cannot hold are left empty rather than losing the entry):

* name = first ``name``; aliases = other names + ``alias`` + ``weakAlias`` + ``previousName``
* entity_type = person / vessel / company (every other legal entity)
* country = first valid ISO code of ``country``, ``jurisdiction``, ``nationality``, ``flag``
* birth_date = ``birthDate`` when it is a full ``YYYY-MM-DD`` date (partial dates are left empty)
* imo = ``imoNumber`` when its check digit holds; identifiers = ``IDENTIFIER_PROPS`` of the entity and
  the numbers of its Identification / Passport entities
* from its Sanction entities: program = ``program`` (else the entity's ``program``), authority,
  reason, source_url (``sourceUrl``), listed_on = the earliest ``listingDate`` or ``startDate`` (else
  the entity's ``createdAt``, else ``first_seen``), listed_until = the latest ``endDate`` when every
  sanction has one; topics = the entity's ``topics``; entry_id = ``id``
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from followthemoney import model
from followthemoney.schema import Schema
from followthemoney.types import registry

from cintel.domain.codes import country_codes
from cintel.domain.records import WATCHLIST
from cintel.entities.ftm import FtmProblem, printable_raw, read_export
from cintel.entities.normalise import imo_key

log = logging.getLogger(__name__)

WATCHLIST_COLUMNS = [f.name for f in WATCHLIST.fields]
# Topics that make a party a target when the export does not say ``target`` (see the module docstring).
TARGET_TOPICS = frozenset({"sanction", "debarment", "wanted"})
_NAME_PROPS = ("name", "alias", "weakAlias", "previousName")
_COUNTRY_PROPS = ("country", "jurisdiction", "nationality", "flag")
IDENTIFIER_PROPS = ("registrationNumber", "taxNumber", "idNumber", "innCode", "ogrnCode", "leiCode", "vatCode",
                    "ricCode", "okpoCode", "uscCode", "kppCode", "swiftBic", "dunsCode", "passportNumber",
                    "bikCode", "npiCode", "uniqueEntityId", "imoNumber")
_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class ContextRow:
    """A non-target entity kept as context of an entry: an address, a sanction, an owner, an associate."""

    entry_id: str
    entity_id: str
    schema: str
    relation: str  # how it is tied: "addressEntity", "Sanction.entity", "Ownership.owner", ...
    caption: str


@dataclass
class Derived:
    """What a list's entities give: entries, their context, and what became of every entity."""

    rows: list[dict[str, str | None]]
    row_lines: list[int]  # line of each row's entity in the file (0 when it came from the stored state)
    context: list[ContextRow]
    problems: list[FtmProblem]  # targets that cannot be entries (no name)
    unnamed: list[str] = field(default_factory=list)  # ids of those targets
    targets: int = 0
    non_targets_context: int = 0  # non-target parties kept as context
    non_targets_skipped: int = 0  # non-target parties tied to no target
    schemata: dict[str, dict[str, int]] = field(default_factory=dict)  # other schema -> {context, skipped}

    @property
    def target_ids(self) -> set[str]:
        """Every target of the release, entry or not (an unusable target is not delisted for that)."""
        return {str(r["entry_id"]) for r in self.rows} | set(self.unnamed)



def _values(entity: Mapping[str, Any], name: str) -> list[str]:
    props = entity.get("properties") or {}
    values = props.get(name) or []
    return [v for v in values if isinstance(v, str)]


def _schema(entity: Mapping[str, Any]) -> Schema | None:
    return model.get(str(entity.get("schema")))


def is_party(schema: Schema | None) -> bool:
    """Whether a schema names someone who can be listed: a legal entity or a vessel."""
    return schema is not None and (schema.is_a("LegalEntity") or schema.is_a("Vessel"))


def is_target(entity: Mapping[str, Any], sanctioned: set[str]) -> bool:
    """``target`` when the export says; else a target topic, or a Sanction of the export naming it."""
    if not is_party(_schema(entity)):
        return False
    flag = entity.get("target")
    if isinstance(flag, bool):
        return flag
    return bool(TARGET_TOPICS & set(_values(entity, "topics"))) or str(entity.get("id")) in sanctioned


def _links(entity: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(property, entity id) of every entity-typed property value."""
    schema = _schema(entity)
    if schema is None:
        return []
    out = []
    for name, values in (entity.get("properties") or {}).items():
        prop = schema.get(name)
        if prop is not None and prop.type == registry.entity:
            out += [(name, v) for v in values if isinstance(v, str)]
    return out


def _field_cut(name: str, value: str | None) -> str | None:
    if value is None:
        return None
    text = value[:WATCHLIST.field(name).max_length].strip()
    return text or None


def _joined(name: str, values: Iterable[str]) -> str | None:
    """';'-joined distinct values, whole values only, within the field's length."""
    limit = WATCHLIST.field(name).max_length
    out: list[str] = []
    size = 0
    for v in values:
        v = v.replace(";", ",").strip()
        if not v or v in out:
            continue
        if size + len(v) + (1 if out else 0) > limit:
            if not out:
                out.append(v[:limit])
            break
        out.append(v)
        size += len(v) + (1 if len(out) > 1 else 0)
    return ";".join(out) or None


def _date(value: str | None, *, earliest: date | None, latest: date | None) -> str | None:
    match = _FULL_DATE.match(value) if value else None
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    if (earliest and day < earliest) or (latest and day > latest):
        return None
    return day.isoformat()


def _country(entity: Mapping[str, Any]) -> str | None:
    valid = country_codes()
    for name in _COUNTRY_PROPS:
        for value in _values(entity, name):
            # FtM uses lower-case ISO codes and a few longer territory codes ("gb-sct"); keep valid alpha-2.
            if value.upper() in valid:
                return value.upper()
    return None


def entity_row(entity: Mapping[str, Any], sanctions: list[Mapping[str, Any]], identifications: list[str], *,
               list_name: str, list_version: str | None, today: date | None = None) -> dict[str, str | None] | None:
    """One WATCHLIST row of a target with its sanctions; None if it has no name."""
    today = today or date.today()
    names = [n for p in _NAME_PROPS for n in _values(entity, p)]
    if not names:
        return None
    schema = _schema(entity)
    kind = "person" if schema is not None and schema.is_a("Person") else (
        "vessel" if schema is not None and schema.is_a("Vessel") else "company")

    def of_sanctions(prop: str) -> list[str]:
        return [v for s in sanctions for v in _values(s, prop)]

    starts = [d for d in (_date(v, earliest=date(1900, 1, 1), latest=today)
                          for v in of_sanctions("listingDate") + of_sanctions("startDate")) if d]
    fallback = _values(entity, "createdAt") + ([str(entity["first_seen"])] if entity.get("first_seen") else [])
    starts = starts or [d for d in (_date(v, earliest=date(1900, 1, 1), latest=today) for v in fallback) if d]
    ends = [next((d for d in (_date(v, earliest=None, latest=None) for v in _values(s, "endDate")) if d), None)
            for s in sanctions]
    imo = next((k for k in (imo_key(v) for v in _values(entity, "imoNumber")) if k), None)
    birth = next((d for d in (_date(v, earliest=WATCHLIST.field("birth_date").earliest, latest=today)
                              for v in _values(entity, "birthDate")) if d), None)
    topics = _values(entity, "topics")
    return {
        "list_name": list_name, "entry_id": str(entity["id"])[:128],
        "name": _field_cut("name", names[0]), "entity_type": kind,
        "aliases": _joined("aliases", (n for n in names[1:] if n != names[0])),
        "country": _country(entity), "birth_date": birth, "imo": imo,
        "identifiers": _joined("identifiers", [v for p in IDENTIFIER_PROPS for v in _values(entity, p)
                                               if len(v) <= 64] + identifications),
        "program": _joined("program", of_sanctions("program") or _values(entity, "program")
                           or [t for t in topics if t in TARGET_TOPICS]),
        "listed_on": min(starts) if starts else None, "list_version": list_version,
        "authority": _joined("authority", of_sanctions("authority")),
        "listed_until": max(e for e in ends if e) if ends and all(ends) else None,
        "reason": _field_cut("reason", "; ".join(dict.fromkeys(of_sanctions("reason")))),
        "topics": _joined("topics", topics),
        "source_url": _field_cut("source_url", next(iter(of_sanctions("sourceUrl") + _values(entity, "sourceUrl")),
                                                     None)),
    }


def derive(entities: Mapping[str, dict[str, Any]], line_of: Mapping[str, int], *, list_name: str,
           list_version: str | None, today: date | None = None) -> Derived:
    """The entries (targets only) of a list's entities, their context, and what became of the rest."""
    sanctioned = {v for e in entities.values() if e.get("schema") == "Sanction" for v in _values(e, "entity")}
    # A merged entity keeps the ids it was merged from (``referents``); links may use any of them.
    canonical = {r: i for i, e in entities.items() for r in e.get("referents") or () if r not in entities}
    sanctioned = {canonical.get(v, v) for v in sanctioned}
    targets = {i for i, e in entities.items() if is_target(e, sanctioned)}
    # Undirected ties between entities, by the property that makes them.
    ties: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for ident, entity in entities.items():
        schema_name = str(entity.get("schema"))
        for prop, linked in _links(entity):
            other = canonical.get(linked, linked)
            if other == ident:
                continue
            ties[ident].append((other, prop))
            ties[other].append((ident, f"{schema_name}.{prop}"))
    sanctions: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    identifications: dict[str, list[str]] = defaultdict(list)
    context: list[ContextRow] = []
    belongs: dict[str, set[str]] = defaultdict(set)
    for ident, entity in entities.items():
        if ident in targets:
            continue
        schema = _schema(entity)
        caption = str(entity.get("caption") or next(iter(_values(entity, "name")), "") or "")[:256]
        direct = [(t, rel) for t, rel in ties.get(ident, []) if t in targets]
        via: list[tuple[str, str]] = []
        if is_party(schema):
            # An owner, relative or associate reached through one link entity (Ownership, Family, ...).
            for link, rel in ties.get(ident, []):
                link_schema = _schema(entities.get(link, {}))
                if link in entities and link not in targets and not is_party(link_schema):
                    via += [(t, rel) for t, _ in ties.get(link, []) if t in targets]
        for target, rel in [*direct, *via]:
            if target in belongs[ident]:
                continue
            belongs[ident].add(target)
            context.append(ContextRow(target, ident, str(entity.get("schema")), rel, caption))
            if entity.get("schema") == "Sanction":
                sanctions[target].append(entity)
            elif schema is not None and schema.is_a("Identification"):
                identifications[target] += [v for v in _values(entity, "number") if len(v) <= 64]
    derived = Derived(rows=[], row_lines=[], context=context, problems=[])
    for ident in sorted(targets, key=lambda i: (line_of.get(i, 0), i)):
        row = entity_row(entities[ident], sanctions.get(ident, []), identifications.get(ident, []),
                         list_name=list_name, list_version=list_version, today=today)
        derived.targets += 1
        if row is None:
            line = line_of.get(ident, 0)
            derived.problems.append(FtmProblem(line, "missing_name", f"target {ident[:80]} has no name",
                                               printable_raw(orjson.dumps(entities[ident]).decode())))
            derived.unnamed.append(ident[:128])
            continue
        derived.rows.append(row)
        derived.row_lines.append(line_of.get(ident, 0))
    for ident, entity in entities.items():
        if ident in targets:
            continue
        kept = bool(belongs.get(ident))
        if is_party(_schema(entity)):
            if kept:
                derived.non_targets_context += 1
            else:
                derived.non_targets_skipped += 1
        else:
            counts = derived.schemata.setdefault(str(entity.get("schema")), {"context": 0, "skipped": 0})
            counts["context" if kept else "skipped"] += 1
    return derived


def rows_frame(rows: list[dict[str, str | None]]) -> pl.DataFrame:
    """WATCHLIST rows as a frame of strings, columns in the format's order."""
    schema = dict.fromkeys(WATCHLIST_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def read_ftm(path: Path, *, list_name: str, list_version: str | None) -> tuple[pl.DataFrame, list[FtmProblem]]:
    """Read a full FtM export into WATCHLIST rows (targets only) and the problems found."""
    export = read_export(path)
    if export.delta:
        return rows_frame([]), [*export.problems, FtmProblem(0, "delta_file", "a delta file applies to a stored "
                                                             "list: use `cintel watchlist import`")]
    derived = derive(export.entities, export.line_of, list_name=list_name, list_version=list_version)
    log.info("read %d entries from %s; %d non-target parties (%d kept as context); %d problems", len(derived.rows),
             path, derived.non_targets_context + derived.non_targets_skipped, derived.non_targets_context,
             len(export.problems) + len(derived.problems))
    return rows_frame(derived.rows), sorted([*export.problems, *derived.problems], key=lambda p: p.line)
