"""The rulebook in the store: versioned rules with four-eyes approval after a recorded backtest, lookup
lists and risk profiles.

Every function takes a SQLAlchemy Engine (one transaction per call) or a Connection (the caller's
transaction) and the AccessContext of whoever acts, whose user is recorded as author, approver or
retirer. Rule expressions are checked before they are saved, against the rule schema and the lookup
lists the store holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, func, insert, select, update

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel
from cintel.errors import CintelError
from cintel.risk.rule_language import ColumnType, RuleError, check_rule
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rules import Rule, RuleStatus, regimes_of
from cintel.store.risk_tables import (
    risk_lookup_values,
    risk_lookups,
    risk_profile_rules,
    risk_profiles,
    risk_rule_backtests,
    risk_rules,
)
from cintel.store.transaction import Bind, transaction


class RulebookError(CintelError):
    """A rulebook operation the store's state does not allow (unknown rule, self-approval, ...)."""


class LookupKind(StrEnum):
    TRADER = "trader"
    DECLARANT = "declarant"
    COUNTRY = "country"
    HS_CODE = "hs_code"
    BL_NUMBER = "bl_number"
    OTHER = "other"


class Threat(StrEnum):
    NARCOTICS = "narcotics"
    UNDERVALUATION = "undervaluation"
    IPR = "ipr"
    ORIGIN = "origin"
    MISCLASSIFICATION = "misclassification"
    PROHIBITED = "prohibited"
    FRONT_COMPANY = "front_company"  # rings of front companies behind the declared importer
    OTHER = "other"


@dataclass(frozen=True)
class Lookup:
    name: str
    kind: LookupKind
    description: str
    created_by: str
    values: int


@dataclass(frozen=True)
class Profile:
    name: str
    threat: Threat
    description: str
    offices: tuple[str, ...] | None
    created_by: str
    rule_ids: tuple[str, ...]


@dataclass(frozen=True)
class Backtest:
    """A recorded replay of one rule version over past declarations: the evidence an approver saw."""

    backtest_id: int
    rule_id: str
    version: int
    window_from: date
    window_to: date  # included
    declarations: int
    hits: int
    labelled: int
    frauds: int
    revenue: float
    new_hits: int
    overlap: list[dict[str, Any]]
    run_by: str
    run_at: datetime

    @property
    def hit_rate(self) -> float | None:
        return self.frauds / self.labelled if self.labelled else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(window_from=self.window_from.isoformat(), window_to=self.window_to.isoformat(),
                 run_at=self.run_at.isoformat(), hit_rate=self.hit_rate)
        return d


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------- rules


def _rule(row: RowMapping) -> Rule:
    offices = json.loads(row["offices"]) if row["offices"] else None
    regimes = json.loads(row["regimes"]) if row["regimes"] else None
    return Rule(rule_id=row["rule_id"], version=row["version"], expression=row["expression"], reason=row["reason"],
                author=row["author"], weight=row["weight"],
                channel=Channel(row["channel"]) if row["channel"] else None, valid_from=row["valid_from"],
                valid_to=row["valid_to"], offices=frozenset(offices) if offices is not None else None,
                regimes=regimes_of(regimes), status=RuleStatus(row["status"]), created_at=row["created_at"],
                approved_by=row["approved_by"], approved_at=row["approved_at"], retired_by=row["retired_by"],
                retired_at=row["retired_at"])


def add_rule(bind: Bind, actor: AccessContext, rule_id: str, expression: str, reason: str, *,
             weight: float | None = None, channel: Channel | str | None = None, valid_from: date | None = None,
             valid_to: date | None = None, offices: Sequence[str] | None = None,
             regimes: Sequence[str] | None = None,
             schema: Mapping[str, ColumnType] = RULE_SCHEMA) -> Rule:
    """Saves a rule as a draft: version 1 of a new rule_id, or the next version of an existing one.

    The expression is checked against schema and the lookup lists in the store first (RuleError).
    """
    try:
        fixed = Channel(channel) if channel is not None else None
    except ValueError:
        raise RuleError(f"unknown channel '{channel}'; a rule fixes yellow or red") from None
    with transaction(bind) as conn:
        check_rule(expression, schema, lookup_names(conn))
        latest = conn.execute(select(func.max(risk_rules.c.version)).where(risk_rules.c.rule_id == rule_id)).scalar()
        rule = Rule(rule_id=rule_id, version=(latest or 0) + 1, expression=expression, reason=reason,
                    author=actor.user, weight=weight, channel=fixed, valid_from=valid_from, valid_to=valid_to,
                    offices=frozenset(offices) if offices else None, regimes=regimes_of(regimes or None),
                    status=RuleStatus.DRAFT, created_at=_now())
        d = rule.to_dict()
        conn.execute(insert(risk_rules).values(
            rule_id=rule.rule_id, version=rule.version, expression=rule.expression, reason=rule.reason,
            weight=rule.weight, channel=d["channel"], author=rule.author, created_at=rule.created_at,
            valid_from=rule.valid_from, valid_to=rule.valid_to,
            offices=json.dumps(d["offices"]) if d["offices"] is not None else None,
            regimes=json.dumps(d["regimes"]) if d["regimes"] is not None else None, status=rule.status.value))
    return rule


def rule_versions(bind: Bind, rule_id: str) -> list[Rule]:
    """Every version of a rule, oldest first; RulebookError if there is none."""
    with transaction(bind) as conn:
        rows = conn.execute(select(risk_rules).where(risk_rules.c.rule_id == rule_id)
                            .order_by(risk_rules.c.version)).mappings().all()
    if not rows:
        raise RulebookError(f"no rule '{rule_id}'")
    return [_rule(r) for r in rows]


def rule_version(bind: Bind, rule_id: str, version: int | None = None) -> Rule:
    """One version of a rule (the latest by default); RulebookError if there is no such rule or version."""
    versions = rule_versions(bind, rule_id)
    chosen = versions[-1] if version is None else next((r for r in versions if r.version == version), None)
    if chosen is None:
        raise RulebookError(f"rule '{rule_id}' has no version {version}")
    return chosen


def list_rules(bind: Bind, *, status: RuleStatus | None = None, all_versions: bool = False) -> list[Rule]:
    """The latest version of every rule (or every version), by rule_id, optionally of one status."""
    with transaction(bind) as conn:
        rows = conn.execute(select(risk_rules).order_by(risk_rules.c.rule_id, risk_rules.c.version)).mappings().all()
    rules = [_rule(r) for r in rows]
    if not all_versions:
        latest: dict[str, Rule] = {}
        for r in rules:
            latest[r.rule_id] = r
        rules = list(latest.values())
    return [r for r in rules if status is None or r.status is status]


def approve_rule(bind: Bind, actor: AccessContext, rule_id: str, version: int | None = None,
                 schema: Mapping[str, ColumnType] = RULE_SCHEMA) -> Rule:
    """Approves a draft (the latest one by default). Four eyes: the approver must not be its author; and
    the draft must have been backtested (record_backtest), so the approver can see what it would do."""
    with transaction(bind) as conn:
        versions = rule_versions(conn, rule_id)
        drafts = [r for r in versions if r.status is RuleStatus.DRAFT and (version is None or r.version == version)]
        if not drafts:
            which = f"version {version}" if version else "no version"
            raise RulebookError(f"rule '{rule_id}': {which} is a draft; only drafts can be approved")
        draft = drafts[-1]
        if draft.author == actor.user:
            raise RulebookError(f"rule '{rule_id}' v{draft.version} was written by {actor.user}; "
                                "another officer must approve it (four eyes)")
        if not rule_backtests(conn, rule_id, draft.version):
            raise RulebookError(f"rule '{rule_id}' v{draft.version} has not been backtested; run a backtest "
                                f"(`cintel rules backtest {rule_id}` or the rule's page) before approving it")
        # The lookups may have changed since the draft was written: check again before it can score.
        check_rule(draft.expression, schema, lookup_names(conn))
        now = _now()
        conn.execute(update(risk_rules)
                     .where(risk_rules.c.rule_id == rule_id, risk_rules.c.version == draft.version)
                     .values(status=RuleStatus.APPROVED.value, approved_by=actor.user, approved_at=now))
    return replace(draft, status=RuleStatus.APPROVED, approved_by=actor.user, approved_at=now)


def record_backtest(bind: Bind, actor: AccessContext, rule: Rule, window_from: date, window_to: date,
                    report: Mapping[str, Any]) -> Backtest:
    """Records the backtest of a stored rule version (a report of cintel.risk.backtest.rule_backtest over
    [window_from, window_to], both days included) run by actor; returns it with its id."""
    counts = {key: int(report[key]) for key in ("declarations", "hits", "labelled", "frauds", "new_hits")}
    revenue = float(report["revenue"] or 0.0)
    overlap = [dict(o) for o in report["overlap"]]
    now = _now()
    with transaction(bind) as conn:
        if not conn.execute(select(risk_rules.c.version).where(risk_rules.c.rule_id == rule.rule_id,
                                                               risk_rules.c.version == rule.version)).first():
            raise RulebookError(f"no rule '{rule.rule_id}' v{rule.version} to record a backtest of")
        backtest_id = conn.execute(insert(risk_rule_backtests).values(
            rule_id=rule.rule_id, version=rule.version, window_from=window_from, window_to=window_to,
            revenue=revenue, overlap=json.dumps(overlap), run_by=actor.user, run_at=now, **counts)
            .returning(risk_rule_backtests.c.backtest_id)).scalar_one()
    return Backtest(backtest_id=backtest_id, rule_id=rule.rule_id, version=rule.version, window_from=window_from,
                    window_to=window_to, revenue=revenue, overlap=overlap, run_by=actor.user, run_at=now,
                    **counts)


def rule_backtests(bind: Bind, rule_id: str, version: int | None = None) -> list[Backtest]:
    """The recorded backtests of a rule (or of one version), newest first."""
    query = select(risk_rule_backtests).where(risk_rule_backtests.c.rule_id == rule_id)
    if version is not None:
        query = query.where(risk_rule_backtests.c.version == version)
    with transaction(bind) as conn:
        rows = conn.execute(query.order_by(risk_rule_backtests.c.backtest_id.desc())).mappings().all()
    return [Backtest(**{**row, "overlap": json.loads(row["overlap"])}) for row in rows]


def retire_rule(bind: Bind, actor: AccessContext, rule_id: str) -> list[Rule]:
    """Retires every draft and approved version of a rule: it stops scoring, its history stays."""
    with transaction(bind) as conn:
        live = [r for r in rule_versions(conn, rule_id) if r.status is not RuleStatus.RETIRED]
        if not live:
            raise RulebookError(f"rule '{rule_id}' is already retired")
        now = _now()
        conn.execute(update(risk_rules)
                     .where(risk_rules.c.rule_id == rule_id, risk_rules.c.status != RuleStatus.RETIRED.value)
                     .values(status=RuleStatus.RETIRED.value, retired_by=actor.user, retired_at=now))
    return [replace(r, status=RuleStatus.RETIRED, retired_by=actor.user, retired_at=now) for r in live]


def active_rules(bind: Bind, on_date: date) -> list[Rule]:
    """The rules that score declarations of on_date: per rule_id the latest approved version, if valid then.

    An approved new version supersedes the previous one at once, even if its validity starts later.
    """
    latest: dict[str, Rule] = {}
    for r in list_rules(bind, status=RuleStatus.APPROVED, all_versions=True):
        latest[r.rule_id] = r
    return [r for r in latest.values() if (r.valid_from is None or r.valid_from <= on_date)
            and (r.valid_to is None or on_date <= r.valid_to)]


# ---------------------------------------------------------------- lookup lists


def create_lookup(bind: Bind, actor: AccessContext, name: str, kind: LookupKind | str, description: str) -> Lookup:
    """Creates an empty lookup list that rules can name: `importer_id IN LOOKUP('name')`."""
    try:
        lookup_kind = LookupKind(kind)
    except ValueError:
        raise RulebookError(f"unknown lookup kind '{kind}'; use {', '.join(k.value for k in LookupKind)}") from None
    if not name or len(name) > 64 or not name.replace("_", "").replace("-", "").isalnum():
        raise RulebookError(f"lookup name '{name}' must be 1-64 letters, digits, '_' or '-'")
    with transaction(bind) as conn:
        if conn.execute(select(risk_lookups.c.name).where(risk_lookups.c.name == name)).first():
            raise RulebookError(f"lookup list '{name}' already exists")
        conn.execute(insert(risk_lookups).values(name=name, kind=lookup_kind.value, description=description,
                                                 created_by=actor.user, created_at=_now()))
    return Lookup(name, lookup_kind, description, actor.user, 0)


def _require_lookup(conn: Connection, name: str) -> None:
    if not conn.execute(select(risk_lookups.c.name).where(risk_lookups.c.name == name)).first():
        raise RulebookError(f"no lookup list '{name}'")


def add_lookup_values(bind: Bind, actor: AccessContext, name: str, values: Iterable[str],
                      note: str | None = None) -> int:
    """Adds values to a lookup list (values already there are kept as they are); returns how many were new."""
    wanted = {v.strip() for v in values if v.strip()}
    too_long = [v for v in wanted if len(v) > 128]
    if too_long:
        raise RulebookError(f"lookup value '{too_long[0][:40]}...' is longer than 128 characters")
    with transaction(bind) as conn:
        _require_lookup(conn, name)
        have = set(conn.execute(select(risk_lookup_values.c.value).where(risk_lookup_values.c.name == name))
                   .scalars())
        new = sorted(wanted - have)
        if new:
            now = _now()
            conn.execute(insert(risk_lookup_values),
                         [{"name": name, "value": v, "note": note, "added_by": actor.user, "added_at": now}
                          for v in new])
    return len(new)


def remove_lookup_values(bind: Bind, name: str, values: Iterable[str]) -> int:
    """Removes values from a lookup list; returns how many were there."""
    gone = sorted({v.strip() for v in values})
    with transaction(bind) as conn:
        _require_lookup(conn, name)
        result = conn.execute(delete(risk_lookup_values).where(risk_lookup_values.c.name == name,
                                                               risk_lookup_values.c.value.in_(gone)))
    return int(result.rowcount or 0)


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
        _require_lookup(conn, name)
        return sorted(conn.execute(select(risk_lookup_values.c.value)
                                   .where(risk_lookup_values.c.name == name)).scalars())


def lookup_names(bind: Bind) -> set[str]:
    with transaction(bind) as conn:
        return set(conn.execute(select(risk_lookups.c.name)).scalars())


def load_lookups(bind: Bind) -> dict[str, frozenset[str]]:
    """Every lookup list as name -> values: what rules are compiled and evaluated with."""
    with transaction(bind) as conn:
        result: dict[str, set[str]] = {n: set() for n in conn.execute(select(risk_lookups.c.name)).scalars()}
        for name, value in conn.execute(select(risk_lookup_values.c.name, risk_lookup_values.c.value)):
            result[name].add(value)
    return {k: frozenset(v) for k, v in result.items()}


# ---------------------------------------------------------------- profiles


def create_profile(bind: Bind, actor: AccessContext, name: str, threat: Threat | str, description: str,
                   offices: Sequence[str] | None = None) -> Profile:
    """Creates a risk profile: a named group of rules for a threat, optionally for some offices."""
    try:
        kind = Threat(threat)
    except ValueError:
        raise RulebookError(f"unknown threat '{threat}'; use {', '.join(t.value for t in Threat)}") from None
    with transaction(bind) as conn:
        if conn.execute(select(risk_profiles.c.name).where(risk_profiles.c.name == name)).first():
            raise RulebookError(f"profile '{name}' already exists")
        conn.execute(insert(risk_profiles).values(
            name=name, threat=kind.value, description=description,
            offices=json.dumps(sorted(offices)) if offices else None, created_by=actor.user, created_at=_now()))
    return Profile(name, kind, description, tuple(sorted(offices)) if offices else None, actor.user, ())


def add_profile_rule(bind: Bind, profile: str, rule_id: str) -> None:
    """Puts a rule (all its versions) in a profile; adding it twice changes nothing."""
    with transaction(bind) as conn:
        if not conn.execute(select(risk_profiles.c.name).where(risk_profiles.c.name == profile)).first():
            raise RulebookError(f"no profile '{profile}'")
        rule_versions(conn, rule_id)
        if not conn.execute(select(risk_profile_rules.c.rule_id).where(risk_profile_rules.c.profile == profile,
                                                                       risk_profile_rules.c.rule_id == rule_id)
                            ).first():
            conn.execute(insert(risk_profile_rules).values(profile=profile, rule_id=rule_id))


def list_profiles(bind: Bind) -> list[Profile]:
    """Every profile with the ids of its rules."""
    with transaction(bind) as conn:
        members: dict[str, list[str]] = {}
        for p, r in conn.execute(select(risk_profile_rules.c.profile, risk_profile_rules.c.rule_id)
                                 .order_by(risk_profile_rules.c.rule_id)):
            members.setdefault(p, []).append(r)
        rows = conn.execute(select(risk_profiles).order_by(risk_profiles.c.name)).mappings().all()
    return [Profile(r["name"], Threat(r["threat"]), r["description"],
                    tuple(json.loads(r["offices"])) if r["offices"] else None, r["created_by"],
                    tuple(members.get(r["name"], []))) for r in rows]
