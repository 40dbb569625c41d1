"""The rulebook in the store: versioned rules with four-eyes approval after a recorded backtest (which keeps
the declarations it hit), lookup lists and risk profiles.

Every function takes a SQLAlchemy Engine (one transaction per call) or a Connection (the caller's
transaction) and the AccessContext of whoever acts, whose user is recorded as author or approver. Rule
expressions are checked before they are saved, against the rule schema and the lookup lists the store holds.
Changing a lookup list an officer keeps, dropping one and retiring a rule take a second officer:
``cintel.risk.rulebook_changes``; only automatic feeds (``add_lookup_values``) change a list at once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import Connection, RowMapping, func, insert, select, update

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel
from cintel.risk.lookups import (
    Lookup,
    LookupKind,
    add_lookup_values,
    create_lookup,
    list_lookups,
    load_lookups,
    lookup_names,
    lookup_values,
)
from cintel.risk.rule_language import ColumnType, RuleError, check_rule
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rulebook_policy import (
    RULE_APPROVERS,
    RULE_EDITORS,
    NotInRulebook,
    RulebookError,
    clean_text,
    require_role,
    utc_now,
    valid_name,
)
from cintel.risk.rules import Rule, RuleStatus, regimes_of
from cintel.store.bulk import copy_rows
from cintel.store.risk_tables import (
    risk_profile_rules,
    risk_profiles,
    risk_rule_backtest_hits,
    risk_rule_backtests,
    risk_rules,
)
from cintel.store.transaction import Bind, transaction

# The lookup lists and the rulebook's errors and roles are read from here too, as before they had modules.
__all__ = ["RULE_APPROVERS", "RULE_EDITORS", "Backtest", "BacktestHits", "Lookup", "LookupKind", "NotInRulebook",
           "Profile", "RulebookError", "Threat", "active_rules", "add_lookup_values", "add_profile_rule", "add_rule",
           "approve_rule", "backtest_hits", "create_lookup", "create_profile", "list_lookups", "list_profiles",
           "list_rules", "load_lookups", "lookup_names", "lookup_values", "pending_draft", "record_backtest",
           "rule_backtests", "rule_version", "rule_versions", "rules_using_lookup", "superseded_by"]


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
class Profile:
    name: str
    threat: Threat
    description: str
    offices: tuple[str, ...] | None
    created_by: str
    rule_ids: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "threat": self.threat.value, "description": self.description,
                "offices": list(self.offices) if self.offices else None, "created_by": self.created_by,
                "rules": list(self.rule_ids)}


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
    listed_hits: int = 0  # hits kept with the record (runs recorded before migration 0012 kept none)

    @property
    def hit_rate(self) -> float | None:
        return self.frauds / self.labelled if self.labelled else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(window_from=self.window_from.isoformat(), window_to=self.window_to.isoformat(),
                 run_at=self.run_at.isoformat(), hit_rate=self.hit_rate)
        return d


@dataclass(frozen=True)
class BacktestHits:
    """One page of the declarations a recorded backtest hit, newest first: id, date, what its inspection
    found (``is_fraud`` None if never inspected) and the revenue found."""

    backtest: Backtest
    rows: list[dict[str, Any]]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        rows = [{**r, "declaration_date": r["declaration_date"].isoformat()} for r in self.rows]
        return {"backtest_id": self.backtest.backtest_id, "rule_id": self.backtest.rule_id,
                "version": self.backtest.version, "hits": rows, "total": self.total, "page": self.page,
                "size": self.size, "pages": self.pages}


# The columns of a backtest's hit list (cintel.risk.backtest.hit_declarations gives them).
HIT_COLUMNS = ("declaration_id", "declaration_date", "is_fraud", "revenue")


# ---------------------------------------------------------------- rules


def _rule(row: RowMapping) -> Rule:
    offices = json.loads(row["offices"]) if row["offices"] else None
    regimes = json.loads(row["regimes"]) if row["regimes"] else None
    return Rule(rule_id=row["rule_id"], version=row["version"], expression=row["expression"], reason=row["reason"],
                author=row["author"], weight=row["weight"],
                channel=Channel(row["channel"]) if row["channel"] else None, valid_from=row["valid_from"],
                valid_to=row["valid_to"], offices=frozenset(offices) if offices is not None else None,
                regimes=regimes_of(regimes), status=RuleStatus(row["status"]), created_at=row["created_at"],
                approved_by=row["approved_by"], approved_at=row["approved_at"],
                approval_comment=row["approval_comment"], retired_by=row["retired_by"], retired_at=row["retired_at"])


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
        raise RuleError(f"unknown channel '{channel}'; a rule fixes yellow or red", field="channel") from None
    with transaction(bind) as conn:
        check_rule(expression, schema, lookup_names(conn))
        latest = conn.execute(select(func.max(risk_rules.c.version)).where(risk_rules.c.rule_id == rule_id)).scalar()
        rule = Rule(rule_id=rule_id, version=(latest or 0) + 1, expression=expression, reason=reason,
                    author=actor.user, weight=weight, channel=fixed, valid_from=valid_from, valid_to=valid_to,
                    offices=frozenset(offices) if offices else None, regimes=regimes_of(regimes or None),
                    status=RuleStatus.DRAFT, created_at=utc_now())
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
        raise NotInRulebook(f"no rule '{rule_id}'")
    return [_rule(r) for r in rows]


def rule_version(bind: Bind, rule_id: str, version: int | None = None) -> Rule:
    """One version of a rule (the latest by default); RulebookError if there is no such rule or version."""
    versions = rule_versions(bind, rule_id)
    chosen = versions[-1] if version is None else next((r for r in versions if r.version == version), None)
    if chosen is None:
        raise NotInRulebook(f"rule '{rule_id}' has no version {version}")
    return chosen


def pending_draft(versions: Sequence[Rule]) -> Rule | None:
    """The draft awaiting approval among a rule's versions: the latest draft newer than every approved
    version. An older draft is superseded: approving it would change nothing, the newer approval scores."""
    approved = max((r.version for r in versions if r.status is RuleStatus.APPROVED), default=0)
    drafts = [r for r in versions if r.status is RuleStatus.DRAFT and r.version > approved]
    return drafts[-1] if drafts else None


def superseded_by(rule: Rule, versions: Sequence[Rule]) -> int | None:
    """The approved version that supersedes a draft never approved (None if it is not superseded)."""
    if rule.status is not RuleStatus.DRAFT:
        return None
    newer = [r.version for r in versions if r.status is RuleStatus.APPROVED and r.version > rule.version]
    return min(newer) if newer else None


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
                 schema: Mapping[str, ColumnType] = RULE_SCHEMA, *, comment: str | None = None) -> Rule:
    """Approves a draft (the one awaiting approval by default), keeping the approver's comment. Four eyes:
    the approver holds an approver role and is not its author; the draft must have been backtested
    (record_backtest), so the approver can see what it would do; and no newer version is approved already
    (that draft is superseded)."""
    require_role(actor, RULE_APPROVERS, "approving a rule")
    note = clean_text(comment, "comment", "comment", required=False)
    with transaction(bind) as conn:
        versions = rule_versions(conn, rule_id)
        if version is None:
            awaiting = pending_draft(versions)
            if awaiting is None:
                raise RulebookError(f"rule '{rule_id}' has no draft awaiting approval; only drafts can be approved")
            draft = awaiting
        else:
            draft = rule_version(conn, rule_id, version)
            if draft.status is not RuleStatus.DRAFT:
                raise RulebookError(f"rule '{rule_id}': version {version} is {draft.status}; only drafts can be "
                                    "approved")
        newer = superseded_by(draft, versions)
        if newer is not None:
            raise RulebookError(f"rule '{rule_id}' v{draft.version} is superseded by approved v{newer}; write a "
                                "new version to change the rule")
        if draft.author == actor.user:
            raise RulebookError(f"rule '{rule_id}' v{draft.version} was written by {actor.user}; "
                                "another officer must approve it (four eyes)")
        if not rule_backtests(conn, rule_id, draft.version):
            raise RulebookError(f"rule '{rule_id}' v{draft.version} has not been backtested; run a backtest "
                                f"(`cintel rules backtest {rule_id}` or the rule's page) before approving it")
        # The lookups may have changed since the draft was written: check again before it can score.
        check_rule(draft.expression, schema, lookup_names(conn))
        now = utc_now()
        conn.execute(update(risk_rules)
                     .where(risk_rules.c.rule_id == rule_id, risk_rules.c.version == draft.version)
                     .values(status=RuleStatus.APPROVED.value, approved_by=actor.user, approved_at=now,
                             approval_comment=note))
    return replace(draft, status=RuleStatus.APPROVED, approved_by=actor.user, approved_at=now,
                   approval_comment=note)


def record_backtest(bind: Bind, actor: AccessContext, rule: Rule, window_from: date, window_to: date,
                    report: Mapping[str, Any], hits: pl.DataFrame | None = None) -> Backtest:
    """Records the backtest of a stored rule version (a report of cintel.risk.backtest.rule_backtest over
    [window_from, window_to], both days included) run by actor, with the declarations it hit when given
    (``HIT_COLUMNS``); returns it with its id."""
    counts = {key: int(report[key]) for key in ("declarations", "hits", "labelled", "frauds", "new_hits")}
    revenue = float(report["revenue"] or 0.0)
    overlap = [dict(o) for o in report["overlap"]]
    now = utc_now()
    with transaction(bind) as conn:
        if not conn.execute(select(risk_rules.c.version).where(risk_rules.c.rule_id == rule.rule_id,
                                                               risk_rules.c.version == rule.version)).first():
            raise NotInRulebook(f"no rule '{rule.rule_id}' v{rule.version} to record a backtest of")
        backtest_id = conn.execute(insert(risk_rule_backtests).values(
            rule_id=rule.rule_id, version=rule.version, window_from=window_from, window_to=window_to,
            revenue=revenue, overlap=json.dumps(overlap), run_by=actor.user, run_at=now, **counts)
            .returning(risk_rule_backtests.c.backtest_id)).scalar_one()
        listed = 0
        if hits is not None:
            listed = copy_rows(conn, risk_rule_backtest_hits,
                               hits.select(HIT_COLUMNS).unique("declaration_id", keep="first", maintain_order=True)
                               .with_columns(backtest_id=pl.lit(backtest_id, pl.Int64)))
    return Backtest(backtest_id=backtest_id, rule_id=rule.rule_id, version=rule.version, window_from=window_from,
                    window_to=window_to, revenue=revenue, overlap=overlap, run_by=actor.user, run_at=now,
                    listed_hits=listed, **counts)


def _listed_counts(conn: Connection, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    query = (select(risk_rule_backtest_hits.c.backtest_id, func.count().label("n"))
             .where(risk_rule_backtest_hits.c.backtest_id.in_(ids)).group_by(risk_rule_backtest_hits.c.backtest_id))
    return {int(i): int(n) for i, n in conn.execute(query)}


def _backtests(conn: Connection, rows: Sequence[RowMapping]) -> list[Backtest]:
    listed = _listed_counts(conn, [r["backtest_id"] for r in rows])
    return [Backtest(**{**row, "overlap": json.loads(row["overlap"])}, listed_hits=listed.get(row["backtest_id"], 0))
            for row in rows]


def rule_backtests(bind: Bind, rule_id: str, version: int | None = None) -> list[Backtest]:
    """The recorded backtests of a rule (or of one version), newest first."""
    query = select(risk_rule_backtests).where(risk_rule_backtests.c.rule_id == rule_id)
    if version is not None:
        query = query.where(risk_rule_backtests.c.version == version)
    with transaction(bind) as conn:
        rows = conn.execute(query.order_by(risk_rule_backtests.c.backtest_id.desc())).mappings().all()
        return _backtests(conn, rows)


def backtest_hits(bind: Bind, rule_id: str, backtest_id: int, page: int = 1, size: int = 100) -> BacktestHits:
    """One page of the declarations a recorded backtest of ``rule_id`` hit, newest first (NotInRulebook for a
    backtest that is not one of that rule's)."""
    if page < 1 or not 1 <= size <= 1_000:
        raise RulebookError("page is from 1, size from 1 to 1,000", field="page")
    hits = risk_rule_backtest_hits.c
    with transaction(bind) as conn:
        rows = conn.execute(select(risk_rule_backtests).where(risk_rule_backtests.c.backtest_id == backtest_id,
                                                              risk_rule_backtests.c.rule_id == rule_id)
                            ).mappings().all()
        if not rows:
            raise NotInRulebook(f"rule '{rule_id}' has no backtest {backtest_id}")
        (backtest,) = _backtests(conn, rows)
        listed = conn.execute(select(hits.declaration_id, hits.declaration_date, hits.is_fraud, hits.revenue)
                              .where(hits.backtest_id == backtest_id)
                              .order_by(hits.declaration_date.desc(), hits.declaration_id)
                              .limit(size).offset((page - 1) * size)).mappings().all()
    return BacktestHits(backtest, [dict(r) for r in listed], backtest.listed_hits, page, size)


def rules_using_lookup(bind: Bind, name: str) -> list[Rule]:
    """The versions not retired (drafts and approved) whose expression names the lookup list ``name``."""
    return [r for r in list_rules(bind, all_versions=True)
            if r.status is not RuleStatus.RETIRED and name in r.check(RULE_SCHEMA).lookups]


def active_rules(bind: Bind, on_date: date) -> list[Rule]:
    """The rules that score declarations of on_date: per rule_id the latest approved version, if valid then.

    An approved new version supersedes the previous one at once, even if its validity starts later.
    """
    latest: dict[str, Rule] = {}
    for r in list_rules(bind, status=RuleStatus.APPROVED, all_versions=True):
        latest[r.rule_id] = r
    return [r for r in latest.values() if (r.valid_from is None or r.valid_from <= on_date)
            and (r.valid_to is None or on_date <= r.valid_to)]


# ---------------------------------------------------------------- profiles


def create_profile(bind: Bind, actor: AccessContext, name: str, threat: Threat | str, description: str,
                   offices: Sequence[str] | None = None) -> Profile:
    """Creates a risk profile: a named group of rules for a threat, optionally for some offices."""
    try:
        kind = Threat(threat)
    except ValueError:
        raise RulebookError(f"unknown threat '{threat}'; use {', '.join(t.value for t in Threat)}",
                            field="threat") from None
    valid_name(name, "profile")
    told = clean_text(description, "description", "description", required=False) or ""
    with transaction(bind) as conn:
        if conn.execute(select(risk_profiles.c.name).where(risk_profiles.c.name == name)).first():
            raise RulebookError(f"profile '{name}' already exists", field="name")
        conn.execute(insert(risk_profiles).values(
            name=name, threat=kind.value, description=told,
            offices=json.dumps(sorted(offices)) if offices else None, created_by=actor.user, created_at=utc_now()))
    return Profile(name, kind, told, tuple(sorted(offices)) if offices else None, actor.user, ())


def add_profile_rule(bind: Bind, profile: str, rule_id: str) -> None:
    """Puts a rule (all its versions) in a profile; adding it twice changes nothing."""
    with transaction(bind) as conn:
        if not conn.execute(select(risk_profiles.c.name).where(risk_profiles.c.name == profile)).first():
            raise RulebookError(f"no profile '{profile}'", field="profile")
        try:
            rule_versions(conn, rule_id)
        except NotInRulebook as exc:  # the rule is an input here, not the page's subject
            raise RulebookError(str(exc), field="rule_id") from None
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
