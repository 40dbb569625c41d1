"""Lookup lists in the store: named sets of values (traders, declarants, countries, HS codes, B/L numbers)
that rules name, `importer_id IN LOOKUP('name')`.

Scoring reads only the values in effect (``load_lookups``). Values change in one place,
``apply_lookup_values``: when a second officer confirms an officer's change (``rulebook_changes``), or at
once for an automatic feed (``add_lookup_values``). Creating a list is one officer's act: an empty list
selects nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, delete, func, insert, select, update

from cintel.domain.access import AccessContext
from cintel.risk.rule_language import not_text_at
from cintel.risk.rulebook_policy import (
    ChangeKind,
    ChangeStatus,
    NotInRulebook,
    RulebookError,
    clean_text,
    utc_now,
    valid_name,
)
from cintel.store.risk_tables import risk_lookup_values, risk_lookups, risk_rule_changes
from cintel.store.transaction import Bind, transaction

MAX_VALUE_CHARS = 128


class LookupKind(StrEnum):
    TRADER = "trader"
    DECLARANT = "declarant"
    COUNTRY = "country"
    HS_CODE = "hs_code"
    BL_NUMBER = "bl_number"
    OTHER = "other"


@dataclass(frozen=True)
class Lookup:
    name: str
    kind: LookupKind
    description: str
    created_by: str
    values: int

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "kind": self.kind.value, "description": self.description,
                "created_by": self.created_by, "values": self.values}


def create_lookup(bind: Bind, actor: AccessContext, name: str, kind: LookupKind | str, description: str) -> Lookup:
    """Creates an empty lookup list that rules can name: `importer_id IN LOOKUP('name')`. An empty list selects
    nothing, so one officer creates it; filling it is a change a second officer confirms."""
    try:
        lookup_kind = LookupKind(kind)
    except ValueError:
        raise RulebookError(f"unknown lookup kind '{kind}'; use {', '.join(k.value for k in LookupKind)}",
                            field="kind") from None
    valid_name(name, "lookup")
    told = clean_text(description, "description", "description of what the list holds", required=True)
    with transaction(bind) as conn:
        if conn.execute(select(risk_lookups.c.name).where(risk_lookups.c.name == name)).first():
            raise RulebookError(f"lookup list '{name}' already exists", field="name")
        conn.execute(insert(risk_lookups).values(name=name, kind=lookup_kind.value, description=told,
                                                 created_by=actor.user, created_at=utc_now()))
    return Lookup(name, lookup_kind, told or "", actor.user, 0)


def require_lookup(conn: Connection, name: str) -> None:
    """NotInRulebook unless the lookup list ``name`` exists."""
    if not conn.execute(select(risk_lookups.c.name).where(risk_lookups.c.name == name)).first():
        raise NotInRulebook(f"no lookup list '{name}'")


def clean_values(values: Iterable[str], field: str = "values") -> list[str]:
    """Lookup values stripped, without blanks and repeats, sorted; RulebookError for one over 128 characters."""
    wanted = sorted({v.strip() for v in values if v.strip()})
    if any(not_text_at(v) is not None for v in wanted):
        raise RulebookError("a lookup value holds a code point that is not a character (a lone surrogate)",
                            field=field)
    too_long = [v for v in wanted if len(v) > MAX_VALUE_CHARS]
    if too_long:
        raise RulebookError(f"lookup value '{too_long[0][:40]}...' is longer than {MAX_VALUE_CHARS} characters",
                            field=field)
    return wanted


def apply_lookup_values(conn: Connection, name: str, add: Sequence[str], remove: Sequence[str], *, by: str,
                        note: str | None, change_id: int | None) -> dict[str, int]:
    """Adds and removes values of a lookup list in the caller's transaction (values already there are kept as
    they are, values not there are not removed); returns how many were added and removed. The one place lookup
    values change: a confirmed change (rulebook_changes) or an automatic feed (add_lookup_values)."""
    have = set(conn.execute(select(risk_lookup_values.c.value).where(risk_lookup_values.c.name == name)).scalars())
    new = sorted(set(add) - have)
    gone = sorted(set(remove) & have)
    if new:
        now = utc_now()
        conn.execute(insert(risk_lookup_values), [{"name": name, "value": v, "note": note, "added_by": by,
                                                   "added_at": now, "change_id": change_id} for v in new])
    for start in range(0, len(gone), 500):  # bounded IN lists
        conn.execute(delete(risk_lookup_values).where(risk_lookup_values.c.name == name,
                                                      risk_lookup_values.c.value.in_(gone[start:start + 500])))
    return {"added": len(new), "removed": len(gone)}


def automatic_change(conn: Connection, actor: AccessContext, name: str, *, add: Sequence[str] = (),
                     remove: Sequence[str] = (), reason: str) -> dict[str, int]:
    """An automatic feed's change to a lookup list, in the caller's transaction: applied at once, without a
    second officer, because it carries recorded data under documented settings (a seizure at inspection, a
    watch-list screening hit, an entry the publisher delisted) rather than an officer's judgement; recorded in
    the list's history as applied by ``actor`` (who ran the feed) with ``reason``. Returns how many values were
    added and removed. Officers change lists with rulebook_changes.request_lookup_change."""
    require_lookup(conn, name)
    additions, removals = clean_values(add), clean_values(remove)
    change_id = conn.execute(insert(risk_rule_changes).values(
        kind=ChangeKind.LOOKUP_VALUES.value, lookup=name, additions=json.dumps(additions),
        removals=json.dumps(removals), reason=reason, requested_by=actor.user, requested_at=utc_now(),
        status=ChangeStatus.APPLIED.value).returning(risk_rule_changes.c.change_id)).scalar_one()
    effect = apply_lookup_values(conn, name, additions, removals, by=actor.user, note=reason, change_id=change_id)
    conn.execute(update(risk_rule_changes).where(risk_rule_changes.c.change_id == change_id)
                 .values(effect=json.dumps(effect)))
    return effect


def add_lookup_values(bind: Bind, actor: AccessContext, name: str, values: Iterable[str],
                      note: str | None = None) -> int:
    """An automatic feed's addition to a lookup list (``automatic_change``; ``note`` is its reason). Returns how
    many values were new."""
    with transaction(bind) as conn:
        effect = automatic_change(conn, actor, name, add=list(values),
                                  reason=note or f"automatic feed run by {actor.user}")
    return effect["added"]


def list_lookups(bind: Bind) -> list[Lookup]:
    """Every lookup list with its number of values."""
    counts = (select(risk_lookup_values.c.name, func.count().label("n"))
              .group_by(risk_lookup_values.c.name).subquery())
    with transaction(bind) as conn:
        rows = conn.execute(select(risk_lookups, counts.c.n).outerjoin(counts, counts.c.name == risk_lookups.c.name)
                            .order_by(risk_lookups.c.name)).mappings().all()
    return [Lookup(r["name"], LookupKind(r["kind"]), r["description"], r["created_by"], int(r["n"] or 0))
            for r in rows]


def lookup_values(bind: Bind, name: str) -> list[str]:
    """The values of one lookup list, sorted."""
    with transaction(bind) as conn:
        require_lookup(conn, name)
        return sorted(conn.execute(select(risk_lookup_values.c.value)
                                   .where(risk_lookup_values.c.name == name)).scalars())


def lookup_names(bind: Bind) -> set[str]:
    """The names of the lookup lists, which rules are checked against."""
    with transaction(bind) as conn:
        return set(conn.execute(select(risk_lookups.c.name)).scalars())


def load_lookups(bind: Bind) -> dict[str, frozenset[str]]:
    """Every lookup list as name -> values: what rules are compiled and evaluated with."""
    with transaction(bind) as conn:
        result: dict[str, set[str]] = {n: set() for n in conn.execute(select(risk_lookups.c.name)).scalars()}
        for name, value in conn.execute(select(risk_lookup_values.c.name, risk_lookup_values.c.value)):
            result[name].add(value)
    return {k: frozenset(v) for k, v in result.items()}

