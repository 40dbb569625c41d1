"""Import FollowTheMoney / OpenSanctions JSON-lines exports as WATCHLIST rows.

Each line of an export is one FtM entity ``{"id", "schema", "properties": {...}, "datasets",
"first_seen", "last_change", ...}``. Schemas are resolved with the ``followthemoney`` model:
anything that ``is_a("LegalEntity")`` (Person, Company, Organization, PublicBody, ...) and Vessel
become watch-list entries; other schemas (Sanction, Address, Ownership, ...) carry no name to screen
and are skipped and counted. A line that cannot be used (bad JSON, no id or schema, an unknown
schema, no name) becomes an ``FtmProblem`` with its line number; reading never raises on content.

Mapping (first value wins where one value is kept):

* name = first ``name``; aliases = other names + ``alias`` + ``weakAlias`` + ``previousName``
* entity_type = person / vessel / company (every other legal entity)
* country = first of ``country``, ``jurisdiction``, ``nationality``, ``flag`` (ISO alpha-2, upper case)
* birth_date = ``birthDate`` when it is a full ``YYYY-MM-DD`` date (partial dates are left empty)
* imo = ``imoNumber``; identifiers = registration, tax, id, INN, OGRN, LEI, VAT, RIC ... numbers
* program = ``program``, else ``topics``, else ``notes`` (cut to 1,024 characters)
* listed_on = date part of the first ``createdAt``, else ``first_seen``; entry_id = ``id``
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from followthemoney import model

from cintel.domain.records import WATCHLIST

log = logging.getLogger(__name__)

WATCHLIST_COLUMNS = [f.name for f in WATCHLIST.fields]
_NAME_PROPS = ("name", "alias", "weakAlias", "previousName")
_COUNTRY_PROPS = ("country", "jurisdiction", "nationality", "flag")
IDENTIFIER_PROPS = ("registrationNumber", "taxNumber", "idNumber", "innCode", "ogrnCode", "leiCode", "vatCode",
                    "ricCode", "okpoCode", "uscCode", "kppCode", "swiftBic", "dunsCode", "passportNumber")
_FULL_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")
# Longest value kept from a property; list exports hold the odd megabyte of notes.
_MAX_VALUE_CHARS = {"name": 1024, "aliases": 8192, "identifiers": 2048, "program": 1024}


@dataclass(frozen=True)
class FtmProblem:
    """A line of an FtM export that could not become a watch-list entry."""

    line: int  # 1-based line number in the file
    code: str  # bad_json, not_an_entity, missing_id, missing_schema, unknown_schema, missing_name
    message: str


def _values(props: dict[str, Any], name: str) -> list[str]:
    raw = props.get(name)
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [str(v).strip() for v in items if isinstance(v, str | int | float) and str(v).strip()]


def _first(props: dict[str, Any], names: Iterable[str]) -> str | None:
    for name in names:
        values = _values(props, name)
        if values:
            return values[0]
    return None


def _country(props: dict[str, Any]) -> str | None:
    for name in _COUNTRY_PROPS:
        for value in _values(props, name):
            # FtM uses lower-case ISO codes and a few longer territory codes ("gb-sct"); keep alpha-2.
            if len(value) == 2 and value.isascii() and value.isalpha():
                return value.upper()
    return None


def _full_date(value: str | None) -> str | None:
    match = _FULL_DATE.match(value) if value else None
    return match.group(0) if match else None


def _joined(values: list[str], limit: int) -> str | None:
    out: list[str] = []
    for v in values:
        v = v.replace(";", ",")  # ';' separates list items in WATCHLIST columns
        if v not in out:
            out.append(v)
    text = ";".join(out)[:limit]
    return text or None


def entity_row(entity: dict[str, Any], *, list_name: str, list_version: str | None) -> dict[str, str | None] | None:
    """One WATCHLIST row from a decoded FtM entity of a matchable schema; None if it has no name."""
    props = entity.get("properties")
    props = props if isinstance(props, dict) else {}
    schema = model.get(str(entity.get("schema")))
    names = [n for p in _NAME_PROPS for n in _values(props, p)]
    if not names:
        return None
    kind = "person" if schema is not None and schema.is_a("Person") else (
        "vessel" if schema is not None and schema.is_a("Vessel") else "company")
    program = _first(props, ("program", "topics", "notes"))
    listed = _first(props, ("createdAt",)) or (str(entity["first_seen"]) if entity.get("first_seen") else None)
    return {
        "list_name": list_name, "entry_id": str(entity["id"])[:128], "name": names[0][:_MAX_VALUE_CHARS["name"]],
        "entity_type": kind,
        "aliases": _joined([n for n in names[1:] if n != names[0]], _MAX_VALUE_CHARS["aliases"]),
        "country": _country(props), "birth_date": _full_date(_first(props, ("birthDate",))),
        "imo": _first(props, ("imoNumber",)),
        "identifiers": _joined([v for p in IDENTIFIER_PROPS for v in _values(props, p)],
                               _MAX_VALUE_CHARS["identifiers"]),
        "program": program[:_MAX_VALUE_CHARS["program"]] if program else None,
        "listed_on": _full_date(listed), "list_version": list_version,
    }


def _matchable(schema_name: str) -> bool | None:
    """True for legal entities and vessels, False for other schemas, None for a schema FtM does not know."""
    schema = model.get(schema_name)
    if schema is None:
        return None
    return schema.is_a("LegalEntity") or schema.is_a("Vessel")


def parse_line(line: str | bytes, number: int, *, list_name: str,
               list_version: str | None) -> tuple[dict[str, str | None] | None, FtmProblem | None, bool]:
    """(row, problem, skipped) for one line; exactly one of them is set unless the line is blank."""
    text = line.strip() if isinstance(line, str) else line.strip().decode("utf-8", "replace")
    if not text:
        return None, None, False
    try:
        entity = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        return None, FtmProblem(number, "bad_json", f"not valid JSON: {err}"[:300]), False
    if not isinstance(entity, dict):
        return None, FtmProblem(number, "not_an_entity", "line is JSON but not an object"), False
    if not entity.get("id") or not isinstance(entity["id"], str | int):
        return None, FtmProblem(number, "missing_id", "entity has no id"), False
    if not entity.get("schema") or not isinstance(entity["schema"], str):
        return None, FtmProblem(number, "missing_schema", f"entity {str(entity['id'])[:80]} has no schema"), False
    matchable = _matchable(entity["schema"])
    if matchable is None:
        return None, FtmProblem(number, "unknown_schema",
                                f"schema {entity['schema'][:80]!r} is not a FollowTheMoney schema"), False
    if not matchable:
        return None, None, True
    row = entity_row(entity, list_name=list_name, list_version=list_version)
    if row is None:
        return None, FtmProblem(number, "missing_name", f"entity {str(entity['id'])[:80]} has no name"), False
    return row, None, False


def read_ftm(path: Path, *, list_name: str, list_version: str | None) -> tuple[pl.DataFrame, list[FtmProblem]]:
    """Read an FtM / OpenSanctions JSON-lines export into WATCHLIST rows, streaming line by line.

    Returns the entries (columns exactly WATCHLIST's fields, all strings) and the problems found.
    Entities of non-matchable schemas (sanctions, addresses, ownerships, ...) are skipped; how many
    is logged.
    """
    rows: list[dict[str, str | None]] = []
    problems: list[FtmProblem] = []
    skipped = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            row, problem, skip = parse_line(line, number, list_name=list_name, list_version=list_version)
            if row is not None:
                rows.append(row)
            if problem is not None:
                problems.append(problem)
            skipped += skip
    log.info("read %d entries from %s; %d entities of other schemas skipped; %d problems",
             len(rows), path, skipped, len(problems))
    schema = dict.fromkeys(WATCHLIST_COLUMNS, pl.String)
    frame = pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
    return frame, problems
