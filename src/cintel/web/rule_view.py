"""What the rules pages and their API show, assembled from the rulebook: the rule list with profiles, one rule's
history (superseded drafts, approval comments, backtests, retirement requests), the live check of an expression
(with the offending token located for the editor), the field catalogue, a backtest over a window and the
declarations it hit, lookup values a page at a time with the changes waiting for a second officer, and the
the form refused. Plain functions on an Engine returning JSON-ready data; the analysis lives in
cintel.risk (rulebook, lookups, rulebook_changes, rule_language, rule_schema, review)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine

from cintel.domain.access import AccessContext
from cintel.errors import CintelError
from cintel.risk.review import backtest_stored_rule, default_window
from cintel.risk.rule_language import MAX_EXPRESSION_CHARS, RuleError, check_rule, not_text_at
from cintel.risk.rule_schema import RULE_SCHEMA, RuleField, rule_field, rule_fields
from cintel.risk.rulebook import (
    NotInRulebook,
    add_profile_rule,
    add_rule,
    backtest_hits,
    list_profiles,
    list_rules,
    lookup_names,
    lookup_values,
    pending_draft,
    rule_backtests,
    rule_versions,
    rules_using_lookup,
    superseded_by,
)
from cintel.risk.rulebook_changes import Change, list_changes, pending_changes
from cintel.risk.rules import Rule, RuleStatus
from cintel.risk.service import RiskError
from cintel.web.form_state import FormState
from cintel.windows import parse_window

LOOKUP_PAGE_SIZE = 100
HIT_PAGE_SIZE = 100
HISTORY_SHOWN = 50  # changes of a list or rule shown on its page, newest first
# Paths under /rules/ that are pages, so no rule may take their name.
RESERVED_RULE_IDS = frozenset({"new", "lookups", "profiles", "changes"})


def rule_dict(rule: Rule) -> dict[str, Any]:
    """A rule version as JSON-ready data (dates as ISO text), the same for the pages and the API."""
    d = rule.to_dict()
    for key in ("valid_from", "valid_to", "created_at", "approved_at", "retired_at"):
        if d[key] is not None:
            d[key] = d[key].isoformat()
    return d


# ---------------------------------------------------------------- a refused form

WHOLE_FORM = "form"  # the key of an error about the form as a whole, shown at its top


def refused(form: str, values: Mapping[str, Any], exc: CintelError, fields: Collection[str] | None = None
            ) -> FormState:
    """The form shown back after the service refused it: what was typed, and the error beside the field it is
    about (``exc.field`` when the form has it, per ``fields`` or else ``values``; the whole form otherwise)."""
    wrong = str(getattr(exc, "field", "") or "")
    known = fields if fields is not None else values
    return FormState(name=form, values=dict(values), errors={wrong if wrong in known else WHOLE_FORM: str(exc)})


# ---------------------------------------------------------------- the rulebook and one rule


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
    """Every version of a rule, oldest first; NotInRulebook when there is none."""
    return rule_versions(engine, rule_id)


def rule_detail(engine: Engine, rule_id: str) -> dict[str, Any]:
    """Every version of a rule (newest first, a draft older than an approved version marked with the version
    that supersedes it), its profiles, the draft awaiting approval (None once a newer version is approved), the
    backtests recorded (newest first) and its retirement requests (pending, then the history)."""
    versions = versions_of(engine, rule_id)
    awaiting = pending_draft(versions)
    changes = list_changes(engine, rule_id=rule_id, limit=HISTORY_SHOWN)
    return {"rule_id": rule_id,
            "versions": [{**rule_dict(r), "superseded_by": superseded_by(r, versions)} for r in reversed(versions)],
            "latest": rule_dict(versions[-1]),
            "draft": rule_dict(awaiting) if awaiting else None,
            "live": any(r.status is not RuleStatus.RETIRED for r in versions),
            "profiles": _profiles_by_rule(engine).get(rule_id, []),
            "backtests": [b.to_dict() for b in rule_backtests(engine, rule_id)],
            "pending_changes": [c.to_dict() for c in changes if c.pending],
            "changes": [c.to_dict() for c in changes if not c.pending]}


def changes_overview(engine: Engine) -> dict[str, Any]:
    """The changes waiting for a second officer (oldest first: the longest waiting at the top) and the latest
    decided ones."""
    waiting = pending_changes(engine)
    decided = [c for c in list_changes(engine, limit=HISTORY_SHOWN + len(waiting)) if not c.pending][:HISTORY_SHOWN]
    return {"pending": [c.to_dict() for c in reversed(waiting)], "decided": [c.to_dict() for c in decided]}


def subject_url(change: Change | Mapping[str, Any]) -> str:
    """The page of what a change is about: its lookup list or its rule."""
    data = change.to_dict() if isinstance(change, Change) else change
    if data["lookup"]:
        return f"/rules/lookups/{quote(data['lookup'], safe='')}"
    return f"/rules/{quote(data['rule_id'], safe='')}"


# ---------------------------------------------------------------- the live check and the field catalogue


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

    @property
    def described(self) -> list[RuleField]:
        """The fields the expression reads, with their meaning and unit."""
        return [f for f in (rule_field(name) for name in self.fields) if f is not None]

    def to_dict(self) -> dict[str, Any]:
        error = None if self.valid else {"message": self.message, "hint": self.hint, "line": self.line,
                                         "column": self.column, "start": self.start, "end": self.end}
        return {"valid": self.valid, "error": error, "fields": self.fields, "lookups": self.lookups}


def check_expression(engine: Engine, expression: str) -> CheckResult:
    """Checks an expression exactly as saving a draft would: the rule schema and the store's lookup lists."""
    try:
        checked = check_rule(expression, RULE_SCHEMA, lookup_names(engine))
    except RuleError as exc:
        # Past the language's limit nothing is parsed, and text that is not all characters cannot be sent back:
        # there is nothing to echo but a message.
        shown = expression if len(expression) <= MAX_EXPRESSION_CHARS and not_text_at(expression) is None else ""
        return CheckResult(shown, False, exc.message, exc.hint, exc.line, exc.col,
                           exc.start if shown else None, exc.end if shown else None)
    return CheckResult(expression, True, fields=sorted(checked.columns), lookups=sorted(checked.lookups))


def field_catalogue() -> list[dict[str, Any]]:
    """The fields a rule can read with their type, meaning and unit, as the editor lists them."""
    return [f.to_dict() for f in rule_fields()]


# ---------------------------------------------------------------- backtest


def suggested_window(engine: Engine) -> tuple[date, date] | None:
    """The default window to offer in a backtest form; None while the store holds no declarations."""
    try:
        return default_window(engine)
    except RiskError:
        return None


def backtest_window(engine: Engine, first_day: str, last_day: str) -> tuple[date, date]:
    """The window [start, end) from a form's first and last days (both included; WindowError names a bad
    one); a missing bound is taken from the last eight weeks of data."""
    start, stop = parse_window(first_day or None, last_day or None, ("from", "to"))
    if start is None or stop is None:
        default_first, default_last = default_window(engine)
        start = start or default_first
        stop = stop or default_last + timedelta(days=1)
    return start, stop


def backtest_version(engine: Engine, actor: AccessContext, rule_id: str, version: int | None, first_day: str,
                     last_day: str) -> dict[str, Any]:
    """`cintel rules backtest` for one version of a stored rule (default: the latest) over the days given
    (default: the last eight weeks of data), recorded in the rulebook with the declarations it hit (approval
    needs it), with the hits per day added."""
    versions_of(engine, rule_id)
    start, end = backtest_window(engine, first_day, last_day)
    report = backtest_stored_rule(engine, actor, rule_id, version, start, end)
    days = max((end - start).days, 1)
    return {**report, "days": days, "hits_per_day": report["hits"] / days}


def backtest_hit_page(engine: Engine, rule_id: str, backtest_id: int, page: int,
                      size: int = HIT_PAGE_SIZE) -> dict[str, Any]:
    """One page of the declarations a recorded backtest hit (newest first), with the backtest's figures."""
    hits = backtest_hits(engine, rule_id, backtest_id, page, size)
    return {**hits.to_dict(), "backtest": hits.backtest.to_dict()}


# ---------------------------------------------------------------- lookups


@dataclass(frozen=True)
class LookupPage:
    name: str
    values: list[str]
    total: int
    page: int
    size: int
    used_by: list[dict[str, Any]] = field(default_factory=list)
    pending_changes: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "values": self.values, "total": self.total, "page": self.page,
                "size": self.size, "pages": self.pages, "used_by": self.used_by,
                "pending_changes": self.pending_changes, "changes": self.changes}


def lookup_page(engine: Engine, name: str, page: int = 1, size: int = LOOKUP_PAGE_SIZE) -> LookupPage:
    """One page of a lookup list's values, sorted, with the rules that name it, the changes waiting for a second
    officer and the latest decided ones; NotInRulebook for a list that does not exist."""
    values = lookup_values(engine, name)
    changes = list_changes(engine, lookup=name, limit=HISTORY_SHOWN)
    used = [{"rule_id": r.rule_id, "version": r.version, "status": r.status.value}
            for r in rules_using_lookup(engine, name)]
    return LookupPage(name, values[(page - 1) * size: page * size], len(values), page, size, used,
                      [c.to_dict() for c in changes if c.pending], [c.to_dict() for c in changes if not c.pending])


def split_values(text: str) -> list[str]:
    """Values typed one per line or separated by commas."""
    return [v.strip() for line in text.splitlines() for v in line.split(",") if v.strip()]


# ---------------------------------------------------------------- drafts


class DraftError(CintelError):
    """A draft the editor cannot save as given (a field, not the expression)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


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


def _day(value: str, label: str, name: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DraftError(f"{label} '{value[:40]}' is not a YYYY-MM-DD date", field=name) from None


def draft_arguments(form: DraftForm) -> dict[str, Any]:
    """The keyword arguments of rulebook.add_rule from the editor's fields (DraftError names a bad one)."""
    weight: float | None = None
    channel: str | None = None
    if form.effect == "weight":
        try:
            weight = float(form.weight)
        except ValueError:
            raise DraftError(f"weight '{form.weight[:40]}' is not a number; give the share of hits expected "
                             "to be fraudulent, e.g. 0.2", field="weight") from None
    elif form.effect == "channel":
        channel = form.channel
    else:
        raise DraftError("choose the rule's effect: a weight or a fixed channel", field="effect")
    offices = [o.strip() for o in form.offices.split(",") if o.strip()]
    return {"weight": weight, "channel": channel, "valid_from": _day(form.valid_from, "valid from", "valid_from"),
            "valid_to": _day(form.valid_to, "valid to", "valid_to"), "offices": offices or None,
            "regimes": form.regimes or None}


def save_draft(engine: Engine, actor: AccessContext, rule_id: str, expression: str, reason: str, *,
               new: bool | None, profile: str | None = None, **arguments: Any) -> Rule:
    """Saves a draft with rulebook.add_rule: a new rule (``new``: refused if the id is taken or names a page),
    the next version of an existing one (``new=False``: NotInRulebook if there is none) or either (None, the
    API); then puts the rule in ``profile`` when given."""
    if rule_id.lower() in RESERVED_RULE_IDS:
        raise DraftError(f"'{rule_id}' names a page of the rulebook; choose another rule id", field="rule_id")
    exists = True
    try:
        rule_versions(engine, rule_id)
    except NotInRulebook:
        exists = False
    if new is True and exists:
        raise DraftError(f"rule '{rule_id}' already exists: open it and write a new version instead",
                         field="rule_id")
    if new is False and not exists:
        raise NotInRulebook(f"no rule '{rule_id}'")
    if profile and profile not in {p.name for p in list_profiles(engine)}:
        raise DraftError(f"no profile '{profile}'", field="profile")
    rule = add_rule(engine, actor, rule_id, expression, reason, **arguments)
    if profile:
        add_profile_rule(engine, profile, rule_id)
    return rule
