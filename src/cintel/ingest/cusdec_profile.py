"""CUSDEC mapping profiles: which segment, qualifier and component feeds which flat field, as data.

Each message implementation guide (the UN directory itself, an administration's guide) is one
TOML file: ``cusdec_profiles/*.toml`` in the package, plus any in the directory named by the
setting ``CINTEL_CUSDEC_PROFILES`` (a file there with the same name replaces the packaged one).
Adding a guide is adding a file. The format is documented in ``docs/cusdec.md``; in short, a
profile is a list of rules, each saying: in this section and group path of the message tree
(``cusdec_tree``), for segments whose qualifiers are these, this position (``"element.component"``,
1-based, as guides number them) converted so, gives this field. Several rules for one field are
tried in file order; the first that finds a value wins.

``apply`` is a pure function from a message tree to flat rows; loading and choosing profiles is
the only I/O here.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from cintel.domain.records import DECLARATIONS
from cintel.ingest.cusdec_tree import MessageTree, Node, Parsed
from cintel.ingest.edifact import EdifactError

log = logging.getLogger(__name__)

FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in DECLARATIONS.fields)
MASS_FACTORS: dict[str, Decimal] = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001")}
CONVERTERS = ("date", "number", "mass", "address")
COMBINE = ("first", "last", "join", "sum")
IMPLIED = ("administration", "office_prefix", "destination_if_import")
_POS = re.compile(r"^(\d{1,2})(?:\.(\d{1,2})(?:-(?:\1\.)?(\d{1,2}))?)?$")  # 4, 4.1, 4.1-5, 4.1-4.5
_PROFILE_KEYS = {"title", "description", "extends", "default", "association", "versions", "item_triggers",
                 "country", "importer_country_implied_by", "drop", "rule"}
_RULE_KEYS = {"field", "path", "where", "at", "sep", "convert", "format", "unit", "map", "unmapped", "combine",
              "join", "parts", "single_item", "when_type", "fallback", "note"}
_OFFICE_PREFIX = re.compile(r"^([A-Z]{2})[0-9A-Z]*[0-9]")


class ProfileError(EdifactError):
    """A profile file cannot be used, or a profile name is unknown; the message is one line."""


class MappingError(Exception):
    """A value in a message cannot be mapped (e.g. a mass in an unknown unit)."""

    def __init__(self, line: int, where: str, code: str, text: str) -> None:
        super().__init__(text)
        self.line, self.where, self.code, self.text = line, where, code, text


@dataclass(frozen=True)
class Pos:
    """A position in a segment: element (0-based after the tag), components first..last (0-based)."""

    element: int
    first: int = 0
    last: int = 0

    def read(self, seg: Parsed, sep: str = "") -> str | None:
        parts = seg.components(self.element)[self.first : self.last + 1]
        return sep.join(p for p in parts if p) or None


Where = tuple[tuple[Pos, frozenset[str]], ...]


@dataclass(frozen=True)
class Source:
    """Where one part of an entry is read: the group's trigger, or a segment of the group (``child``)."""

    at: tuple[Pos, ...]
    child: str | None = None
    where: Where = ()


Part = tuple[Source, ...]  # alternatives: the first that gives a value


@dataclass(frozen=True)
class Rule:
    field: str
    section: str  # header, item or summary
    path: tuple[str, ...]
    where: Where = ()
    at: tuple[Pos, ...] = ()  # alternatives: the first that is not empty
    sep: str = ""
    convert: str | None = None
    format: Pos | None = None
    unit: Pos | None = None
    map: dict[str, str] = dataclasses.field(default_factory=dict)
    unmapped: str = "keep"
    combine: str = "first"
    join: str = ";"
    parts: tuple[Part, ...] = ()
    single_item: bool = False
    when_type: frozenset[str] = frozenset()
    fallback: bool = False


@dataclass(frozen=True)
class Profile:
    name: str
    title: str
    source: str
    rules: tuple[Rule, ...]
    association: frozenset[str] = frozenset()
    versions: frozenset[str] = frozenset()
    default: bool = False
    item_triggers: tuple[str, ...] = ("LIN", "CST")
    country: str | None = None
    importer_country_implied_by: tuple[str, ...] = ()


# ---------------------------------------------------------------- loading


def packaged_dir() -> Path:
    return Path(str(resources.files("cintel.ingest") / "cusdec_profiles"))


def load_profiles(extra_dir: Path | None = None) -> dict[str, Profile]:
    """Every profile: the packaged ones, then those in ``extra_dir`` (same name: replaces)."""
    raw: dict[str, tuple[dict[str, Any], str]] = {}
    for directory in (packaged_dir(), extra_dir):
        if directory is None:
            continue
        if not directory.is_dir():
            raise ProfileError(f"CUSDEC profile directory {directory} does not exist")
        for path in sorted(directory.glob("*.toml")):
            try:
                raw[path.stem] = (tomllib.loads(path.read_text(encoding="utf-8")), str(path))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ProfileError(f"CUSDEC profile {path}: not valid TOML ({' '.join(str(exc).split())})") from None
    profiles: dict[str, Profile] = {}
    for name in raw:
        profiles[name] = _build(name, raw, [])
    return profiles


def _build(name: str, raw: dict[str, tuple[dict[str, Any], str]], seen: list[str]) -> Profile:
    data, source = raw[name]
    where = f"CUSDEC profile {name} ({source})"
    if name in seen:
        raise ProfileError(f"{where}: 'extends' makes a cycle ({' -> '.join([*seen, name])})")
    unknown = set(data) - _PROFILE_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    tables = data.get("rule", [])
    if not isinstance(tables, list):
        raise ProfileError(f"{where}: 'rule' must be an array of tables ([[rule]])")
    rules = tuple(_rule(r, f"{where}, rule {n}") for n, r in enumerate(tables, 1))
    parent: Profile | None = None
    if parent_name := data.get("extends"):
        if parent_name not in raw:
            raise ProfileError(f"{where}: extends unknown profile {parent_name!r}")
        parent = _build(parent_name, raw, [*seen, name])
        own = {r.field for r in rules} | set(_list(data.get("drop", []), where))
        rules = tuple(r for r in parent.rules if r.field not in own) + rules
    base = parent or Profile(name, "", source, ())
    implied = tuple(_list(data.get("importer_country_implied_by", list(base.importer_country_implied_by)), where))
    if bad := [i for i in implied if i not in IMPLIED]:
        raise ProfileError(f"{where}: importer_country_implied_by {bad[0]!r} is not one of {', '.join(IMPLIED)}")
    return replace(
        base, name=name, source=source, rules=rules, title=str(data.get("title", base.title)),
        association=frozenset(_list(data.get("association", []), where)),
        versions=frozenset(_list(data.get("versions", list(base.versions)), where)),
        default=bool(data.get("default", False)),
        item_triggers=tuple(_list(data.get("item_triggers", list(base.item_triggers)), where)),
        country=data.get("country", base.country) or None, importer_country_implied_by=implied)


def _list(value: object, where: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise ProfileError(f"{where}: expected a list, got {value!r}")
    return value


def _pos(text: object, where: str) -> Pos:
    m = _POS.match(str(text))
    if not m or int(m.group(1)) < 1 or int(m.group(2) or 1) < 1:
        raise ProfileError(f"{where}: position {text!r} is not 'element', 'element.component' or "
                           "'element.first-last' (1-based)")
    first = int(m.group(2) or 1) - 1
    last = int(m.group(3)) - 1 if m.group(3) else first
    if last < first:
        raise ProfileError(f"{where}: position {text!r} ends before it starts")
    return Pos(int(m.group(1)) - 1, first, last)


def _positions(value: object, where: str) -> tuple[Pos, ...]:
    return tuple(_pos(v, where) for v in (_list(value, where) if value is not None else []))


def _where(value: object, where: str) -> Where:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: 'where' must be a table of position = value(s)")
    return tuple((_pos(k, where), frozenset(_list(v, where))) for k, v in value.items())


def _rule(data: dict[str, Any], where: str) -> Rule:
    if not isinstance(data, dict):
        raise ProfileError(f"{where}: a rule must be a table")
    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise ProfileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = data.get("field")
    if name not in FIELD_NAMES:
        raise ProfileError(f"{where}: field {name!r} is not a declaration field")
    steps = str(data.get("path", "")).split("/")
    section = steps[0] if steps[0] in ("item", "summary") else "header"
    path = tuple(s for s in (steps[1:] if section != "header" else steps) if s)
    if not path and section != "item":
        raise ProfileError(f"{where}: path {data.get('path')!r} names no segment")
    for key, allowed in (("convert", (None, *CONVERTERS)), ("combine", COMBINE), ("unmapped", ("keep", "drop"))):
        if data.get(key, allowed[0] if key != "combine" else "first") not in allowed:
            raise ProfileError(f"{where}: {key} {data.get(key)!r} is not one of "
                               f"{', '.join(a for a in allowed if a)}")
    parts: list[Part] = []
    for p in _list(data.get("parts", []), where):
        sources: list[Source] = []
        for alt in p if isinstance(p, list) else [p]:
            if not isinstance(alt, dict) or "at" not in alt or set(alt) - {"at", "child", "where"}:
                raise ProfileError(f"{where}: each part is a table with 'at' (and 'child', 'where'), or a list "
                                   "of such tables")
            sources.append(Source(_positions(alt["at"], where), alt.get("child"), _where(alt.get("where"), where)))
        parts.append(tuple(sources))
    at = _positions(data.get("at"), where)
    if not at and not parts and data.get("convert") != "address":
        raise ProfileError(f"{where}: the rule needs 'at' or 'parts'")
    return Rule(
        field=name, section=section, path=path, where=_where(data.get("where"), where), at=at,
        sep=str(data.get("sep", "")), convert=data.get("convert"),
        format=_pos(data["format"], where) if "format" in data else None,
        unit=_pos(data["unit"], where) if "unit" in data else None,
        map={str(k): str(v) for k, v in dict(data.get("map", {})).items()}, unmapped=data.get("unmapped", "keep"),
        combine=data.get("combine", "join" if parts else "first"), join=str(data.get("join", ";")),
        parts=tuple(parts), single_item=bool(data.get("single_item", False)),
        when_type=frozenset(_list(data.get("when_type", []), where)), fallback=bool(data.get("fallback", False)))


def choose(profiles: dict[str, Profile], unh: Parsed, forced: str | None = None) -> Profile:
    """The profile for a message: the one forced, else by UNH association code, else the default one."""
    if forced is not None:
        if forced not in profiles:
            raise ProfileError(f"unknown CUSDEC profile {forced!r}; known: {', '.join(sorted(profiles))}")
        return profiles[forced]
    association = unh.get(1, 4)
    version = f"{unh.get(1, 1) or ''}:{unh.get(1, 2) or ''}"
    candidates = [p for p in profiles.values() if association and association in p.association]
    candidates = [p for p in candidates if not p.versions or version in p.versions] or candidates
    if candidates:
        return candidates[0]
    defaults = sorted((p for p in profiles.values() if p.default), key=lambda p: (version not in p.versions, p.name))
    if not defaults:
        raise ProfileError("no CUSDEC profile is marked default = true")
    return defaults[0]


# ---------------------------------------------------------------- mapping


def apply(profile: Profile, tree: MessageTree) -> list[tuple[int, dict[str, str | None]]]:
    """Flat rows, one per item, as (segment number of the item, values); raises ``MappingError``."""
    by_field: dict[str, list[Rule]] = {}
    for rule in profile.rules:
        by_field.setdefault(rule.field, []).append(rule)
    single = len(tree.items) == 1
    roots = {"header": tree.header, "summary": tree.summary}
    header: dict[str, str | None] = dict.fromkeys(FIELD_NAMES)
    kinds = [r for r in by_field.get("declaration_type", []) if r.section != "item"]
    header["declaration_type"] = next(
        (v for r in kinds if (v := _evaluate(r, roots[r.section], False)) is not None), None)
    for name, rules in by_field.items():
        if name == "declaration_type":
            continue
        for rule in rules:
            if rule.section == "item" or (rule.single_item and not single) or not _applies(rule, header):
                continue
            if (value := _evaluate(rule, roots[rule.section], False)) is not None:
                header[name] = value
                break
    rows = []
    for item in tree.items:
        values = dict(header)
        for name, rules in by_field.items():
            for rule in rules:
                if rule.section != "item" or (rule.fallback and header[name] is not None):
                    continue
                if not _applies(rule, header):
                    continue
                if (value := _evaluate(rule, item, True)) is not None:
                    values[name] = value
                    break
        _imply(profile, values)
        assert item.seg is not None
        rows.append((item.seg.ordinal, values))
    return rows


def _applies(rule: Rule, header: dict[str, str | None]) -> bool:
    return not rule.when_type or header.get("declaration_type") in rule.when_type


def _imply(profile: Profile, values: dict[str, str | None]) -> None:
    """The importer's country, when the message omits it, from the chain the profile names."""
    if values.get("importer_country"):
        return
    for source in profile.importer_country_implied_by:
        country: str | None = None
        if source == "administration":
            country = profile.country
        elif source == "office_prefix" and (m := _OFFICE_PREFIX.match(values.get("office_code") or "")):
            country = m.group(1)
        elif source == "destination_if_import" and values.get("declaration_type") == "IM":
            country = values.get("country_of_destination")
        if country:
            values["importer_country"] = country
            return


def _select(root: Node, path: tuple[str, ...], include_self: bool) -> list[Node]:
    nodes = ([root] if include_self and root.seg is not None else []) + root.children
    found = [n for n in nodes if n.tag == path[0]] if path else [root]
    for step in path[1:]:
        found = [c for n in found for c in n.children if c.tag == step]
    return found


def _matches(seg: Parsed | None, where: Where) -> bool:
    if seg is None:
        return not where
    return all((pos.read(seg) or "") in allowed for pos, allowed in where)


def _evaluate(rule: Rule, root: Node, include_self: bool) -> str | None:
    nodes = [n for n in _select(root, rule.path, include_self) if _matches(n.seg, rule.where)]
    values = [v for n in nodes if (v := _node_value(rule, n)) is not None]
    if not values:
        return None
    if rule.combine == "last":
        return values[-1]
    if rule.combine == "join":
        return rule.join.join(values)
    if rule.combine == "sum":
        try:
            return format(sum((Decimal(v) for v in values), Decimal(0)), "f")
        except InvalidOperation:
            return rule.join.join(values)  # not all numbers: passed on for the validator to explain
    return values[0]


def _node_value(rule: Rule, node: Node) -> str | None:
    seg = node.seg
    if seg is None:
        return None
    if rule.parts:
        parts = [_part(p, node) or "" for p in rule.parts]
        return ":".join(parts) if any(parts) else None
    if rule.convert == "address":
        return _address(seg, rule.sep)
    raw = next((v for pos in rule.at if (v := pos.read(seg, rule.sep)) is not None), None)
    if raw is None:
        return None
    if rule.map:
        if raw in rule.map:
            return rule.map[raw] or None
        if rule.unmapped == "drop":
            return None
    if rule.convert == "date":
        return _date(raw, rule.format.read(seg) if rule.format else None)
    if rule.convert == "number":
        return _number(raw)
    if rule.convert == "mass":
        return _kilograms(seg, _number(raw), rule.unit.read(seg) if rule.unit else None)
    return raw


def _part(part: Part, node: Node) -> str | None:
    for source in part:
        targets = [node] if source.child is None else [c for c in node.children if c.tag == source.child]
        for target in targets:
            if target.seg is not None and _matches(target.seg, source.where):
                value = next((v for pos in source.at if (v := pos.read(target.seg)) is not None), None)
                if value is not None:
                    return value
    return None


def _address(seg: Parsed, sep: str) -> str | None:
    """NAD street (C059, 4 lines) then ', ' and postcode city: the address as one line."""
    street = Pos(4, 0, 3).read(seg, sep)
    town = " ".join(filter(None, (seg.get(7), seg.get(5))))
    return ", ".join(filter(None, (street, town))) or None


def _kilograms(seg: Parsed, value: str | None, unit: str | None) -> str | None:
    """A mass in kg: KGM (or no unit) as found, TNE and GRM converted exactly."""
    unit = unit or "KGM"
    if unit not in MASS_FACTORS:
        raise MappingError(seg.ordinal, seg.tag, "EDIFACT_UNSUPPORTED_UNIT",
                           f"segment {seg.ordinal} gives a mass in {unit!r}; use KGM, TNE or GRM")
    if unit == "KGM" or value is None:
        return value
    try:
        return format(Decimal(value) * MASS_FACTORS[unit], "f")
    except InvalidOperation:
        return value  # not a number: the validator reports it


def _number(value: str | None) -> str | None:
    """EDIFACT numbers have no thousands separator, so a comma can only be the decimal mark."""
    return value.replace(",", ".") if value else value


def _date(value: str, fmt: str | None) -> str:
    """CCYYMMDD (102) and its longer forms (203, 204) as YYYY-MM-DD; anything else as found."""
    lengths = {"102": 8, "203": 12, "204": 14}
    if fmt in lengths and len(value) == lengths[fmt] and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:8]}"
    return value
