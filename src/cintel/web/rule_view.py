"""What the rules pages show, assembled from the rulebook: the rule list with profiles, one rule's history,
the live check of an expression (with the offending token located for the editor), the backtest of a
draft over a window, and lookup values a page at a time. Plain functions on an Engine; the analysis
itself lives in cintel.risk (rulebook, rule_language, review)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine

from cintel.domain.access import AccessContext
from cintel.errors import CintelError
from cintel.risk.review import backtest_stored_rule, default_window
from cintel.risk.rule_language import MAX_EXPRESSION_CHARS, RuleError, check_rule
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rulebook import (
    RulebookError,
    add_profile_rule,
    add_rule,
    list_profiles,
    list_rules,
    lookup_names,
    lookup_values,
    rule_backtests,
    rule_versions,
)
from cintel.risk.rules import Rule, RuleStatus
from cintel.risk.service import RiskError

LOOKUP_PAGE_SIZE = 100
# Paths under /rules/ that are pages, so no rule may take their name.
RESERVED_RULE_IDS = frozenset({"new", "lookups", "profiles"})


class UnknownRule(CintelError):
    """No rule (or no such version of it) in the rulebook: the pages answer 404."""


def rule_dict(rule: Rule) -> dict[str, Any]:
    """A rule version as JSON-ready data (dates as ISO text), the same for the pages and the API."""
    d = rule.to_dict()
    for key in ("valid_from", "valid_to", "created_at", "approved_at", "retired_at"):
        if d[key] is not None:
            d[key] = d[key].isoformat()
    return d


def _profiles_by_rule(engine: Engine) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for p in list_profiles(engine):
        for rule_id in p.rule_ids:
            found.setdefault(rule_id, []).append({"name": p.name, "threat": p.threat.value})
    return found


def rulebook_rows(engine: Engine, status: RuleStatus | None = None) -> list[dict[str, Any]]:
    """The latest version of every rule (optionally of one status) with the profiles it belongs to."""
    profiles = _profiles_by_rule(engine)
    return [{**rule_dict(r), "profiles": profiles.get(r.rule_id, [])} for r in list_rules(engine, status=status)]


def versions_of(engine: Engine, rule_id: str) -> list[Rule]:
    """Every version of a rule, oldest first; UnknownRule when there is none."""
    try:
        return rule_versions(engine, rule_id)
    except RulebookError as exc:
        raise UnknownRule(str(exc)) from None


def rule_detail(engine: Engine, rule_id: str) -> dict[str, Any]:
    """Every version of a rule (newest first), its profiles, the draft awaiting approval, if any, and the
    backtests recorded (newest first)."""
    versions = versions_of(engine, rule_id)
    drafts = [r for r in versions if r.status is RuleStatus.DRAFT]
    return {"rule_id": rule_id, "versions": [rule_dict(r) for r in reversed(versions)],
            "latest": rule_dict(versions[-1]),
            "draft": rule_dict(drafts[-1]) if drafts else None,
            "live": any(r.status is not RuleStatus.RETIRED for r in versions),
            "profiles": _profiles_by_rule(engine).get(rule_id, []),
            "backtests": [b.to_dict() for b in rule_backtests(engine, rule_id)]}


# ---------------------------------------------------------------- the live check


@dataclass(frozen=True)
class CheckResult:
    """The check of an expression. For an error with a place, the expression is split around the
    offending token (before, token, after) so a template can mark it while escaping all three."""

    expression: str
    valid: bool
    message: str = ""
    hint: str = ""
    line: int = 0
    column: int = 0
    start: int | None = None
    end: int | None = None
    fields: list[str] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    @property
    def parts(self) -> tuple[str, str, str] | None:
        if self.valid or self.start is None or self.end is None:
            return None
        return self.expression[:self.start], self.expression[self.start:self.end], self.expression[self.end:]

    def to_dict(self) -> dict[str, Any]:
        error = None if self.valid else {"message": self.message, "hint": self.hint, "line": self.line,
                                         "column": self.column, "start": self.start, "end": self.end}
        return {"valid": self.valid, "error": error, "fields": self.fields, "lookups": self.lookups}


def check_expression(engine: Engine, expression: str) -> CheckResult:
    """Checks an expression exactly as saving a draft would: the rule schema and the store's lookup lists."""
    try:
        checked = check_rule(expression, RULE_SCHEMA, lookup_names(engine))
    except RuleError as exc:
        # Past the language's limit nothing is parsed, so there is nothing to echo but a message.
        shown = expression if len(expression) <= MAX_EXPRESSION_CHARS else ""
        return CheckResult(shown, False, exc.message, exc.hint, exc.line, exc.col,
                           exc.start if shown else None, exc.end if shown else None)
    return CheckResult(expression, True, fields=sorted(checked.columns), lookups=sorted(checked.lookups))


# ---------------------------------------------------------------- backtest


def suggested_window(engine: Engine) -> tuple[date, date] | None:
    """The default window to offer in a backtest form; None while the store holds no declarations."""
    try:
        return default_window(engine)
    except RiskError:
        return None


def backtest_version(engine: Engine, actor: AccessContext, rule_id: str, version: int | None, start: date,
                     end: date) -> dict[str, Any]:
    """`cintel rules backtest` for one version of a stored rule (default: the latest) over [start, end)
    (end excluded), recorded in the rulebook (approval needs it), with the hits per day added."""
    try:
        report = backtest_stored_rule(engine, actor, rule_id, version, start, end)
    except RulebookError as exc:
        raise UnknownRule(str(exc)) from None
    days = max((end - start).days, 1)
    return {**report, "days": days, "hits_per_day": report["hits"] / days}


# ---------------------------------------------------------------- lookups


@dataclass(frozen=True)
class LookupPage:
    name: str
    values: list[str]
    total: int
    page: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values": self.values, "total": self.total, "page": self.page,
                "size": self.size, "pages": self.pages}


def lookup_page(engine: Engine, name: str, page: int = 1, size: int = LOOKUP_PAGE_SIZE) -> LookupPage:
    """One page of a lookup list's values, sorted; UnknownRule-style 404 for a list that does not exist."""
    try:
        values = lookup_values(engine, name)
    except RulebookError as exc:
        raise UnknownRule(str(exc)) from None
    return LookupPage(name, values[(page - 1) * size: page * size], len(values), page, size)


def split_values(text: str) -> list[str]:
    """Values typed one per line or separated by commas."""
    return [v.strip() for line in text.splitlines() for v in line.split(",") if v.strip()]


# ---------------------------------------------------------------- drafts


class DraftError(CintelError):
    """A draft the editor cannot save as given (a field, not the expression)."""


@dataclass
class DraftForm:
    """The editor's fields as typed, so a refused draft is shown back exactly as it was."""

    rule_id: str = ""
    expression: str = ""
    reason: str = ""
    effect: str = "weight"  # weight or channel
    weight: str = ""
    channel: str = "red"
    valid_from: str = ""
    valid_to: str = ""
    offices: str = ""
    regimes: list[str] = field(default_factory=list)
    profile: str = ""

    @classmethod
    def of(cls, rule: Rule) -> DraftForm:
        """The fields of a stored version, to start its next version from."""
        return cls(rule_id=rule.rule_id, expression=rule.expression, reason=rule.reason,
                   effect="weight" if rule.weight is not None else "channel",
                   weight=f"{rule.weight:g}" if rule.weight is not None else "",
                   channel=str(rule.channel) if rule.channel else "red",
                   valid_from=rule.valid_from.isoformat() if rule.valid_from else "",
                   valid_to=rule.valid_to.isoformat() if rule.valid_to else "",
                   offices=", ".join(sorted(rule.offices)) if rule.offices else "",
                   regimes=sorted(str(r) for r in rule.regimes) if rule.regimes else [])


def _day(value: str, label: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DraftError(f"{label} '{value[:40]}' is not a YYYY-MM-DD date") from None


def draft_arguments(form: DraftForm) -> dict[str, Any]:
    """The keyword arguments of rulebook.add_rule from the editor's fields (DraftError names a bad one)."""
    weight: float | None = None
    channel: str | None = None
    if form.effect == "weight":
        try:
            weight = float(form.weight)
        except ValueError:
            raise DraftError(f"weight '{form.weight[:40]}' is not a number; give the share of hits expected "
                             "to be fraudulent, e.g. 0.2") from None
    elif form.effect == "channel":
        channel = form.channel
    else:
        raise DraftError("choose the rule's effect: a weight or a fixed channel")
    offices = [o.strip() for o in form.offices.split(",") if o.strip()]
    return {"weight": weight, "channel": channel, "valid_from": _day(form.valid_from, "valid from"),
            "valid_to": _day(form.valid_to, "valid to"), "offices": offices or None,
            "regimes": form.regimes or None}


def save_draft(engine: Engine, actor: AccessContext, rule_id: str, expression: str, reason: str, *,
               new: bool, profile: str | None = None, **arguments: Any) -> Rule:
    """Saves a draft with rulebook.add_rule: a new rule (refused if the id is taken or names a page) or the
    next version of an existing one; then puts the rule in ``profile`` when given."""
    if rule_id.lower() in RESERVED_RULE_IDS:
        raise DraftError(f"'{rule_id}' names a page of the rulebook; choose another rule id")
    exists = True
    try:
        rule_versions(engine, rule_id)
    except RulebookError:
        exists = False
    if new and exists:
        raise DraftError(f"rule '{rule_id}' already exists: open it and write a new version instead")
    if not new and not exists:
        raise UnknownRule(f"no rule '{rule_id}'")
    if profile and profile not in {p.name for p in list_profiles(engine)}:
        raise DraftError(f"no profile '{profile}'")
    rule = add_rule(engine, actor, rule_id, expression, reason, **arguments)
    if profile:
        add_profile_rule(engine, profile, rule_id)
    return rule
