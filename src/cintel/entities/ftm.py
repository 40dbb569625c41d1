"""FollowTheMoney / OpenSanctions exports read line by line: entities, delta operations, bad lines.

Each line of an export is one FtM entity ``{"id", "schema", "properties": {...}, "target", "datasets",
"referents", "first_seen", "last_change", ...}``; each line of an OpenSanctions *delta* file is one
operation ``{"op": "ADD" | "MOD" | "DEL", "entity": {...}}``. Reading (``read_export``) never raises on
content: a line that cannot be used (bad JSON, no id or schema, a schema FtM does not know, an unknown
operation, an id given twice) becomes an ``FtmProblem`` with its line number and raw text. Property
values are cut to ``MAX_VALUE_CHARS`` and control characters removed, so a hostile line costs little.
Which entities become entries is `cintel.entities.ftm_targets`.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from followthemoney import model

log = logging.getLogger(__name__)

DELTA_OPS = frozenset({"ADD", "MOD", "DEL"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
# Longest single property value kept; exports hold the odd megabyte of notes.
MAX_VALUE_CHARS = 4096
MAX_VALUES = 500  # values kept per property
MAX_RAW_CHARS = 20_000  # raw text of a bad line kept for the quarantine


@dataclass(frozen=True)
class FtmProblem:
    """A line of an FtM export that could not be used."""

    line: int  # 1-based line number in the file
    code: str  # bad_json, not_an_entity, missing_id, missing_schema, unknown_schema, missing_name, ...
    message: str
    raw: str = ""


@dataclass(frozen=True)
class Operation:
    """One line of a delta file: ADD or MOD carries the entity, DEL at least its id."""

    line: int
    op: str
    entity_id: str
    entity: dict[str, Any] | None


@dataclass
class FtmExport:
    """An export as read: its entities (full release) or operations (delta file), and its bad lines."""

    lines: int = 0
    blank: int = 0
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    line_of: dict[str, int] = field(default_factory=dict)
    operations: list[Operation] = field(default_factory=list)
    problems: list[FtmProblem] = field(default_factory=list)
    delta: bool = False

    @property
    def datasets(self) -> list[str]:
        """The publisher's dataset names the entities say they come from."""
        seen: Counter[str] = Counter()
        for entity in self.entities.values():
            seen.update(str(d) for d in entity.get("datasets") or () if isinstance(d, str))
        for op in self.operations:
            if op.entity:
                seen.update(str(d) for d in op.entity.get("datasets") or () if isinstance(d, str))
        return sorted(seen)



def printable_raw(text: str) -> str:
    return text[:MAX_RAW_CHARS]


def _clean_value(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = _CONTROL.sub(" ", str(value)).strip()[:MAX_VALUE_CHARS]
    return text or None


def clean_entity(raw: dict[str, Any]) -> dict[str, Any]:
    """The entity with its properties reduced to lists of short clean strings (huge values are cut)."""
    props = raw.get("properties")
    clean: dict[str, list[str]] = {}
    if isinstance(props, dict):
        for name, values in list(props.items())[:500]:
            items = values if isinstance(values, list) else [values]
            kept = [v for v in (_clean_value(x) for x in items[:MAX_VALUES]) if v]
            if kept and isinstance(name, str):
                clean[name[:64]] = kept
    out: dict[str, Any] = {"id": str(raw["id"])[:128], "schema": str(raw["schema"])[:64], "properties": clean}
    if isinstance(raw.get("target"), bool):
        out["target"] = raw["target"]
    for key in ("caption", "first_seen", "last_change"):
        value = _clean_value(raw.get(key))
        if value:
            out[key] = value[:256]
    referents = raw.get("referents")
    if isinstance(referents, list):
        out["referents"] = [r[:128] for r in referents[:1000] if isinstance(r, str) and r]
    datasets = raw.get("datasets")
    if isinstance(datasets, list):
        out["datasets"] = [d[:128] for d in datasets[:50] if isinstance(d, str)]
    return out


def _entity_problem(entity: object, number: int, raw: str) -> FtmProblem | None:
    if not isinstance(entity, dict):
        return FtmProblem(number, "not_an_entity", f"line {number} is JSON but not an entity object", raw)
    if not entity.get("id") or not isinstance(entity["id"], str | int) or isinstance(entity["id"], bool):
        return FtmProblem(number, "missing_id", f"line {number}: entity has no id", raw)
    if not entity.get("schema") or not isinstance(entity["schema"], str):
        return FtmProblem(number, "missing_schema", f"line {number}: entity {str(entity['id'])[:80]} has no schema",
                          raw)
    if model.get(entity["schema"]) is None:
        return FtmProblem(number, "unknown_schema", f"line {number}: schema {entity['schema'][:80]!r} is not a "
                          "FollowTheMoney schema", raw)
    return None


def parse_line(line: str | bytes, number: int) -> FtmProblem | Operation | dict[str, Any] | None:
    """One line: None if blank, else a clean entity, a delta operation or the problem that stops it."""
    text = line.strip() if isinstance(line, str) else line.strip().decode("utf-8", "replace")
    if not text:
        return None
    raw = printable_raw(text)
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        return FtmProblem(number, "bad_json", f"line {number} is not valid JSON: {err}"[:300], raw)
    if isinstance(data, dict) and "op" in data and "schema" not in data:
        op = str(data.get("op")).upper()[:16]
        if op not in DELTA_OPS:
            return FtmProblem(number, "unknown_op", f"line {number}: delta operation {op!r} is not ADD, MOD or DEL",
                              raw)
        entity = data.get("entity")
        if op == "DEL":
            ident = entity.get("id") if isinstance(entity, dict) else entity
            if not isinstance(ident, str | int) or isinstance(ident, bool) or not str(ident).strip():
                return FtmProblem(number, "missing_id", f"line {number}: DEL names no entity id", raw)
            return Operation(number, op, str(ident)[:128], None)
        problem = _entity_problem(entity, number, raw)
        if problem is not None or not isinstance(entity, dict):
            return problem
        clean = clean_entity(entity)
        return Operation(number, op, clean["id"], clean)
    problem = _entity_problem(data, number, raw)
    return problem if problem is not None else clean_entity(data)


def read_export(path: Path) -> FtmExport:
    """Read an FtM export or delta file line by line; a file mixes the two at its peril (see problems)."""
    export = FtmExport()
    kinds: Counter[str] = Counter()
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            export.lines = number
            parsed = parse_line(line, number)
            if parsed is None:
                export.blank += 1
            elif isinstance(parsed, FtmProblem):
                export.problems.append(parsed)
            elif isinstance(parsed, Operation):
                kinds["delta"] += 1
                export.operations.append(parsed)
            else:
                kinds["entity"] += 1
                if parsed["id"] in export.entities:
                    export.problems.append(FtmProblem(number, "duplicate_id", f"line {number}: entity {parsed['id']} "
                                                      f"already given on line {export.line_of[parsed['id']]}",
                                                      printable_raw(orjson.dumps(parsed).decode())))
                    continue
                export.entities[parsed["id"]] = parsed
                export.line_of[parsed["id"]] = number
    if kinds["delta"] and kinds["entity"]:
        # One file is a release or a delta; the minority kind's lines cannot be applied.
        export.delta = kinds["delta"] >= kinds["entity"]
        if export.delta:
            export.problems += [FtmProblem(export.line_of[i], "not_an_operation", f"line {export.line_of[i]}: a "
                                "delta file holds operations ({\"op\": ..., \"entity\": ...}), not entities",
                                printable_raw(orjson.dumps(e).decode())) for i, e in export.entities.items()]
            export.entities, export.line_of = {}, {}
        else:
            export.problems += [FtmProblem(o.line, "not_an_entity", f"line {o.line}: a {o.op} operation in a file of "
                                "entities", printable_raw(orjson.dumps({"op": o.op, "entity": o.entity or o.entity_id})
                                                         .decode())) for o in export.operations]
            export.operations = []
    else:
        export.delta = bool(kinds["delta"])
    export.problems.sort(key=lambda p: p.line)
    return export


def apply_operations(state: Mapping[str, dict[str, Any]], operations: Iterable[Operation]
                     ) -> tuple[dict[str, dict[str, Any]], list[Operation]]:
    """The entities after a delta: ADD and MOD set an entity, DEL removes it. Returns the DELs of ids the
    state does not hold (nothing to remove: counted, not an error)."""
    out = dict(state)
    unknown: list[Operation] = []
    for op in operations:
        if op.op == "DEL":
            if out.pop(op.entity_id, None) is None:
                unknown.append(op)
        elif op.entity is not None:
            out[op.entity_id] = op.entity
    return out, unknown
