"""Changes to the rulebook that take a second officer (four eyes), as approving a rule does: values added to or
removed from a lookup list, a lookup list dropped, a rule retired.

One officer asks for the change, with a reason; it takes effect only when another officer confirms it (an
approver, ``RULE_APPROVERS``, never the one who asked), with an optional comment. Another officer may refuse
it (with a comment: why), and the officer who asked may withdraw it while it is pending. Every request, its
reason, who asked, confirmed or refused it, when and with what comment, is kept (``risk_rule_changes``): it is
the history of each lookup list and each retirement. Until it is confirmed nothing changes: scoring and the
risk queue read the values in effect only (``lookups.load_lookups``), never a pending change.

Every officer's change to a lookup list goes through a second officer, whether or not an approved rule names
the list today: a list no approved rule uses now can be used tomorrow by approving a draft, whose approver
reads the rule, not the history of the list's values; whether a rule names a list can change between the
check and the change; and the values name traders, so who put a trader on a list is always two people. Only
two acts are one officer's: creating an empty list (it selects nothing) and retiring a rule that was never
approved (it never scored); both are recorded. Automatic feeds (``lookups.add_lookup_values``: seizures at
inspection, watch-list screening) apply recorded data under documented settings and take effect at once,
recorded as applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, update

from cintel.domain.access import AccessContext
from cintel.risk.lookups import apply_lookup_values, clean_values, require_lookup
from cintel.risk.rulebook import rule_versions, rules_using_lookup
from cintel.risk.rulebook_policy import (
    RULE_APPROVERS,
    RULE_EDITORS,
    ChangeKind,
    ChangeStatus,
    NotInRulebook,
    RulebookError,
    clean_text,
    require_role,
    utc_now,
)
from cintel.risk.rules import RuleStatus
from cintel.store.risk_tables import risk_lookup_values, risk_lookups, risk_rule_changes, risk_rules
from cintel.store.transaction import Bind, transaction

__all__ = ["Change", "ChangeKind", "ChangeStatus", "confirm_change", "confirm_lookup_change", "confirm_retirement",
           "get_change", "list_changes", "pending_changes", "refuse_change", "request_lookup_change",
           "request_lookup_drop", "request_retirement", "withdraw_change"]

LOOKUP_KINDS = frozenset({ChangeKind.LOOKUP_VALUES, ChangeKind.LOOKUP_DROP})
_SHOWN_VALUES = 5  # values named in an error message before "..."


@dataclass(frozen=True)
class Change:
    """One change to the rulebook: what it does, why, who asked and when, and how it was decided."""

    change_id: int
    kind: ChangeKind
    lookup: str | None
    rule_id: str | None
    additions: list[str]
    removals: list[str]
    reason: str
    requested_by: str
    requested_at: datetime
    status: ChangeStatus
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_comment: str | None = None
    effect: dict[str, Any] | None = None

    @property
    def pending(self) -> bool:
        return self.status is ChangeStatus.PENDING

    @property
    def summary(self) -> str:
        """What the change does, in a line: 'add 3 values and remove 1 value (watched)', 'retire rule R07'."""
        if self.kind is ChangeKind.RETIREMENT:
            return f"retire rule {self.rule_id}"
        if self.kind is ChangeKind.LOOKUP_DROP:
            return f"drop lookup list {self.lookup}"
        parts = [f"{verb} {len(values):,} value{'' if len(values) == 1 else 's'}"
                 for verb, values in (("add", self.additions), ("remove", self.removals)) if values]
        return f"{' and '.join(parts)} ({self.lookup})"

    def to_dict(self) -> dict[str, Any]:
        return {"change_id": self.change_id, "kind": self.kind.value, "lookup": self.lookup, "rule_id": self.rule_id,
                "additions": self.additions, "removals": self.removals, "reason": self.reason,
                "requested_by": self.requested_by, "requested_at": self.requested_at.isoformat(),
                "status": self.status.value, "decided_by": self.decided_by,
                "decided_at": self.decided_at.isoformat() if self.decided_at else None,
                "decision_comment": self.decision_comment, "effect": self.effect, "summary": self.summary}


def _change(row: RowMapping) -> Change:
    return Change(change_id=row["change_id"], kind=ChangeKind(row["kind"]), lookup=row["lookup"],
                  rule_id=row["rule_id"], additions=json.loads(row["additions"]), removals=json.loads(row["removals"]),
                  reason=row["reason"], requested_by=row["requested_by"], requested_at=row["requested_at"],
                  status=ChangeStatus(row["status"]), decided_by=row["decided_by"], decided_at=row["decided_at"],
                  decision_comment=row["decision_comment"],
                  effect=json.loads(row["effect"]) if row["effect"] else None)


def _named(values: Iterable[str]) -> str:
    listed = sorted(values)
    return ", ".join(f"'{v[:40]}'" for v in listed[:_SHOWN_VALUES]) + (" ..." if len(listed) > _SHOWN_VALUES else "")


def _insert(conn: Connection, actor: AccessContext, kind: ChangeKind, reason: str, *, lookup: str | None = None,
            rule_id: str | None = None, additions: list[str] | None = None, removals: list[str] | None = None,
            status: ChangeStatus = ChangeStatus.PENDING) -> Change:
    now = utc_now()
    change = Change(change_id=0, kind=kind, lookup=lookup, rule_id=rule_id, additions=additions or [],
                    removals=removals or [], reason=reason, requested_by=actor.user, requested_at=now, status=status)
    change_id = conn.execute(insert(risk_rule_changes).values(
        kind=kind.value, lookup=lookup, rule_id=rule_id, additions=json.dumps(change.additions),
        removals=json.dumps(change.removals), reason=reason, requested_by=actor.user, requested_at=now,
        status=status.value).returning(risk_rule_changes.c.change_id)).scalar_one()
    return replace(change, change_id=int(change_id))


# ---------------------------------------------------------------- asking


def request_lookup_change(bind: Bind, actor: AccessContext, name: str, *, add: Iterable[str] = (),
                          remove: Iterable[str] = (), reason: str) -> Change:
    """Asks for values to be added to and/or removed from a lookup list; they take effect once another officer
    confirms (confirm_lookup_change). Refuses a change without a reason, one that names a value both to add and
    to remove, one that removes a value the list does not hold, and one that would change nothing."""
    require_role(actor, RULE_EDITORS, "asking for a lookup change")
    why = clean_text(reason, "reason", "reason for the change", required=True)
    additions, removals = clean_values(add), clean_values(remove)
    if not additions and not removals:
        raise RulebookError("give at least one value to add or remove", field="values")
    both = set(additions) & set(removals)
    if both:
        raise RulebookError(f"{_named(both)} cannot be both added and removed", field="values")
    with transaction(bind) as conn:
        require_lookup(conn, name)
        have = set(conn.execute(select(risk_lookup_values.c.value).where(risk_lookup_values.c.name == name))
                   .scalars())
        absent = set(removals) - have
        if absent:
            raise RulebookError(f"{_named(absent)} {'is' if len(absent) == 1 else 'are'} not on lookup list "
                                f"'{name}'", field="values")
        if not removals and not set(additions) - have:
            raise RulebookError(f"every value is already on lookup list '{name}'", field="values")
        return _insert(conn, actor, ChangeKind.LOOKUP_VALUES, str(why), lookup=name, additions=additions,
                       removals=removals)


def request_lookup_drop(bind: Bind, actor: AccessContext, name: str, *, reason: str) -> Change:
    """Asks for a lookup list to be dropped with its values (its history stays); refused while a rule not
    retired names it, at the request and again at the confirmation."""
    require_role(actor, RULE_EDITORS, "asking to drop a lookup list")
    why = clean_text(reason, "reason", "reason for dropping the list", required=True)
    with transaction(bind) as conn:
        require_lookup(conn, name)
        _refuse_if_used(conn, name)
        return _insert(conn, actor, ChangeKind.LOOKUP_DROP, str(why), lookup=name)


def request_retirement(bind: Bind, actor: AccessContext, rule_id: str, reason: str) -> Change:
    """Asks for a rule to be retired (every version not yet retired stops scoring; its history stays). A rule
    with an approved version is retired once another officer confirms (confirm_retirement); one that was never
    approved never scored, and is retired at once (the change is recorded as applied)."""
    require_role(actor, RULE_APPROVERS, "asking for a rule's retirement")
    why = clean_text(reason, "reason", "reason for retiring the rule", required=True)
    with transaction(bind) as conn:
        live = [r for r in rule_versions(conn, rule_id) if r.status is not RuleStatus.RETIRED]
        if not live:
            raise RulebookError(f"rule '{rule_id}' is already retired")
        waiting = conn.execute(select(risk_rule_changes.c.change_id).where(
            risk_rule_changes.c.kind == ChangeKind.RETIREMENT.value, risk_rule_changes.c.rule_id == rule_id,
            risk_rule_changes.c.status == ChangeStatus.PENDING.value)).scalar()
        if waiting is not None:
            raise RulebookError(f"retiring rule '{rule_id}' is already asked for (change #{waiting}): another "
                                "officer confirms or refuses it")
        if any(r.status is RuleStatus.APPROVED for r in live):
            return _insert(conn, actor, ChangeKind.RETIREMENT, str(why), rule_id=rule_id)
        change = _insert(conn, actor, ChangeKind.RETIREMENT, str(why), rule_id=rule_id, status=ChangeStatus.APPLIED)
        effect = _apply(conn, change, actor)
        return replace(change, effect=effect)


# ---------------------------------------------------------------- deciding


def confirm_change(bind: Bind, actor: AccessContext, change_id: int, comment: str | None = None) -> Change:
    """Confirms a pending change, which takes effect now, in the same transaction. Four eyes: the confirmer holds
    an approver role and did not ask for it."""
    return _decide(bind, actor, change_id, ChangeStatus.CONFIRMED, comment, frozenset(ChangeKind))


def confirm_lookup_change(bind: Bind, actor: AccessContext, change_id: int, comment: str | None = None) -> Change:
    """confirm_change for a change to a lookup list (values or drop); refuses any other kind."""
    return _decide(bind, actor, change_id, ChangeStatus.CONFIRMED, comment, LOOKUP_KINDS)


def confirm_retirement(bind: Bind, actor: AccessContext, change_id: int, comment: str | None = None) -> Change:
    """confirm_change for a retirement; refuses any other kind."""
    return _decide(bind, actor, change_id, ChangeStatus.CONFIRMED, comment, frozenset({ChangeKind.RETIREMENT}))


def refuse_change(bind: Bind, actor: AccessContext, change_id: int, comment: str) -> Change:
    """Refuses a pending change, saying why; nothing changes. Another officer than the one who asked (who may
    withdraw it instead)."""
    return _decide(bind, actor, change_id, ChangeStatus.REFUSED, comment, frozenset(ChangeKind))


def withdraw_change(bind: Bind, actor: AccessContext, change_id: int) -> Change:
    """Takes back a pending change one asked for; nothing changes."""
    with transaction(bind) as conn:
        change = _load(conn, change_id)
        if change.requested_by != actor.user:
            raise RulebookError(f"change #{change_id} was asked for by {change.requested_by}: only they can "
                                "withdraw it")
        return _close(conn, change, actor, ChangeStatus.WITHDRAWN, None)


def _decide(bind: Bind, actor: AccessContext, change_id: int, status: ChangeStatus, comment: str | None,
            kinds: frozenset[ChangeKind]) -> Change:
    verb = "confirming" if status is ChangeStatus.CONFIRMED else "refusing"
    require_role(actor, RULE_APPROVERS, f"{verb} a rulebook change")
    note = clean_text(comment, "comment", "comment" if status is ChangeStatus.CONFIRMED else "reason for refusing",
                      required=status is ChangeStatus.REFUSED)
    with transaction(bind) as conn:
        change = _load(conn, change_id)
        if change.kind not in kinds:
            raise RulebookError(f"change #{change_id} is a {change.kind.value.replace('_', ' ')} change")
        if change.requested_by == actor.user:
            raise RulebookError(f"change #{change_id} was asked for by {actor.user}; another officer must "
                                f"{'confirm' if status is ChangeStatus.CONFIRMED else 'refuse'} it (four eyes)")
        decided = _close(conn, change, actor, status, note)
        if status is not ChangeStatus.CONFIRMED:
            return decided
        effect = _apply(conn, decided, actor)
        return replace(decided, effect=effect)


def _load(conn: Connection, change_id: int) -> Change:
    row = conn.execute(select(risk_rule_changes).where(risk_rule_changes.c.change_id == change_id)).mappings().first()
    if row is None:
        raise NotInRulebook(f"no rulebook change #{change_id}")
    return _change(row)


def _close(conn: Connection, change: Change, actor: AccessContext, status: ChangeStatus,
           comment: str | None) -> Change:
    """Moves a pending change to ``status``; the update only matches while it is pending, so of two officers
    deciding at once one wins and the other is told."""
    now = utc_now()
    done = conn.execute(update(risk_rule_changes).where(risk_rule_changes.c.change_id == change.change_id,
                                                        risk_rule_changes.c.status == ChangeStatus.PENDING.value)
                        .values(status=status.value, decided_by=actor.user, decided_at=now,
                                decision_comment=comment))
    if done.rowcount != 1:
        current = _load(conn, change.change_id)
        raise RulebookError(f"change #{change.change_id} is {current.status.value}, not pending")
    return replace(change, status=status, decided_by=actor.user, decided_at=now, decision_comment=comment)


def _refuse_if_used(conn: Connection, name: str) -> None:
    users = rules_using_lookup(conn, name)
    if users:
        named = ", ".join(sorted({f"{r.rule_id} ({r.status.value})" for r in users}))
        raise RulebookError(f"lookup list '{name}' is named by {named}: retire those rules first")


def _apply(conn: Connection, change: Change, actor: AccessContext) -> dict[str, Any]:
    """Does what the change says, in the caller's transaction; returns (and records) what it did."""
    if change.kind is ChangeKind.RETIREMENT:
        assert change.rule_id is not None
        live = [r.version for r in rule_versions(conn, change.rule_id) if r.status is not RuleStatus.RETIRED]
        if not live:
            raise RulebookError(f"rule '{change.rule_id}' is already retired")
        conn.execute(update(risk_rules).where(risk_rules.c.rule_id == change.rule_id,
                                              risk_rules.c.status != RuleStatus.RETIRED.value)
                     .values(status=RuleStatus.RETIRED.value, retired_by=actor.user, retired_at=utc_now()))
        effect: dict[str, Any] = {"retired_versions": live}
    else:
        assert change.lookup is not None
        try:
            require_lookup(conn, change.lookup)
        except NotInRulebook:
            raise RulebookError(f"lookup list '{change.lookup}' no longer exists") from None
        if change.kind is ChangeKind.LOOKUP_VALUES:
            effect = apply_lookup_values(conn, change.lookup, change.additions, change.removals,
                                         by=change.requested_by, note=change.reason, change_id=change.change_id)
        else:
            effect = _drop(conn, change, actor)
    conn.execute(update(risk_rule_changes).where(risk_rule_changes.c.change_id == change.change_id)
                 .values(effect=json.dumps(effect)))
    return effect


def _drop(conn: Connection, change: Change, actor: AccessContext) -> dict[str, Any]:
    assert change.lookup is not None
    _refuse_if_used(conn, change.lookup)
    removed = conn.execute(delete(risk_lookup_values).where(risk_lookup_values.c.name == change.lookup)).rowcount
    conn.execute(delete(risk_lookups).where(risk_lookups.c.name == change.lookup))
    # Changes still waiting for the list can never take effect now.
    conn.execute(update(risk_rule_changes).where(risk_rule_changes.c.lookup == change.lookup,
                                                 risk_rule_changes.c.status == ChangeStatus.PENDING.value)
                 .values(status=ChangeStatus.WITHDRAWN.value, decided_by=actor.user, decided_at=utc_now(),
                         decision_comment=f"the list was dropped (change #{change.change_id})"))
    return {"removed": int(removed or 0)}


# ---------------------------------------------------------------- reading


def get_change(bind: Bind, change_id: int) -> Change:
    """One change; NotInRulebook if there is none."""
    with transaction(bind) as conn:
        return _load(conn, change_id)


def list_changes(bind: Bind, *, status: ChangeStatus | None = None, lookup: str | None = None,
                 rule_id: str | None = None, limit: int = 200) -> list[Change]:
    """Changes newest first, optionally of one status, one lookup list or one rule: the pending ones to decide,
    or the history of a list or a rule."""
    query = select(risk_rule_changes)
    if status is not None:
        query = query.where(risk_rule_changes.c.status == status.value)
    if lookup is not None:
        query = query.where(risk_rule_changes.c.lookup == lookup)
    if rule_id is not None:
        query = query.where(risk_rule_changes.c.rule_id == rule_id)
    with transaction(bind) as conn:
        rows = conn.execute(query.order_by(risk_rule_changes.c.change_id.desc()).limit(limit)).mappings().all()
    return [_change(r) for r in rows]


def pending_changes(bind: Bind, *, lookup: str | None = None, rule_id: str | None = None) -> list[Change]:
    """The changes waiting for a second officer, newest first."""
    return list_changes(bind, status=ChangeStatus.PENDING, lookup=lookup, rule_id=rule_id, limit=10_000)
