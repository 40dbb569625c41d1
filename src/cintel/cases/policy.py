"""Who may do what with a case: the roles, the closing rule, a closed case being read-only, and what
one reader may do with one case (``rights``, which the pages show from the same rules the writing
functions in ``cintel.cases.service`` apply)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseStatus, CodeList, OutcomeType
from cintel.domain.permissions import Area, may_read
from cintel.domain.roles import Role
from cintel.errors import CintelError

REASON_MIN = 3  # a reason for reopening says something

CASE_WORKERS = frozenset({Role.ANALYST.value, Role.TARGETING_OFFICER.value, Role.SUPERVISOR.value})
"""Roles that open, read, assign and move any case."""
CASE_ROLES = CASE_WORKERS | {Role.INSPECTOR.value}
"""Roles that may hold a case (be its assignee)."""


class CaseClosure(CodeList):
    """Ways a case ends other than an inspection outcome (those are ``OutcomeType`` codes)."""

    NO_CASE = ("no_case", "Nothing to pursue: the lead did not hold up")
    REFERRED = ("referred", "Handed to another authority (police, tax, a partner agency)")


CLOSING_OUTCOMES: dict[str, str] = {
    **{o.value: o.description for o in OutcomeType}, **{c.value: c.description for c in CaseClosure}}
"""Outcome a case may be closed with: an inspection ``OutcomeType`` or a ``CaseClosure``, code -> meaning."""

TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    CaseStatus.LEAD: frozenset({CaseStatus.OPEN, CaseStatus.CLOSED}),
    CaseStatus.OPEN: frozenset({CaseStatus.INSPECTION, CaseStatus.CLOSED}),
    CaseStatus.INSPECTION: frozenset({CaseStatus.OPEN, CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}
"""Where a case may go from each status; from closed nowhere: only a supervisor's ``reopen``."""


class CaseError(CintelError):
    """A case request that cannot be honoured: unknown origin, bad transition, missing outcome, ...;
    ``field`` names the input at fault, when one is (the page shows the message beside it)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CaseNotFound(CaseError):
    """No case with this id (the web answers 404)."""


class CaseForbidden(CaseError):
    """The person acting may not do this to this case (the web answers 403)."""


class CaseClosed(CaseError):
    """The case is closed, hence read-only until a supervisor reopens it (the web answers 409)."""


# ---- roles and rules --------------------------------------------------------------------------------------------

def is_worker(ctx: AccessContext) -> bool:
    return bool(ctx.roles & CASE_WORKERS)


def may_read_entities(ctx: AccessContext) -> bool:
    """Whether the case's entities may be shown or linked: the rule of the entity pages."""
    return may_read(ctx.roles, Area.ENTITIES)


def may_read_network(ctx: AccessContext) -> bool:
    """Whether the network around the case (names, phones, accounts of the parties) may be shown: the rule
    of the network pages."""
    return may_read(ctx.roles, Area.NETWORK)


def require_worker(ctx: AccessContext, action: str) -> None:
    if not is_worker(ctx):
        raise CaseForbidden(f"{action} needs one of the roles {', '.join(sorted(CASE_WORKERS))}")


def require_reader(ctx: AccessContext) -> None:
    """Refuses, before any case is looked up, someone who reads no case at all (the answer then says
    nothing about which cases exist)."""
    if not is_worker(ctx) and Role.INSPECTOR.value not in ctx.roles:
        raise CaseForbidden(f"reading cases needs one of the roles {', '.join(sorted(CASE_ROLES))}")


def require_view(ctx: AccessContext, case: dict[str, Any]) -> None:
    if is_worker(ctx):
        return
    if Role.INSPECTOR.value in ctx.roles and case["assigned_to"] == ctx.user:
        return
    raise CaseNotFound(f"no case {case['case_id']}")  # the same answer as for a case that does not exist


def require_changeable(case: dict[str, Any]) -> None:
    if case["status"] == CaseStatus.CLOSED.value:
        raise CaseClosed(f"case {case['case_id']} is closed: it is read-only until a supervisor reopens it")


def closing_refusal(ctx: AccessContext, case: dict[str, Any]) -> str | None:
    """Why ``ctx`` may not close the case, or None when they may: the one closing rule of every path."""
    if Role.SUPERVISOR.value in ctx.roles:
        return None
    if not is_worker(ctx):
        return f"closing a case needs one of the roles {', '.join(sorted(CASE_WORKERS))}"
    if case["assigned_to"] != ctx.user:
        return (f"only a supervisor or the assignee ({case['assigned_to'] or 'nobody yet'}) may close case "
                f"{case['case_id']}")
    if case.get("assigned_by") in (None, ctx.user):
        return (f"you assigned case {case['case_id']} to yourself: closing it needs a supervisor, or the case "
                "given to you by someone else")
    return None


@dataclass(frozen=True)
class CaseRights:
    """What one reader may do with one case, from the same rules the writing functions apply."""

    read_only: bool  # closed: nothing changes until a supervisor reopens it
    may_note: bool
    may_work: bool  # add evidence, assign
    next_statuses: tuple[CaseStatus, ...]
    close_refusal: str | None  # why closing is not offered (None: it is, or the case is closed)
    may_reopen: bool
    may_read_entities: bool


def rights(ctx: AccessContext, case: dict[str, Any]) -> CaseRights:
    """What ``ctx``, who may read the case, may do with it."""
    closed = case["status"] == CaseStatus.CLOSED.value
    worker = is_worker(ctx) and not closed
    refusal = None if closed else closing_refusal(ctx, case)
    allowed = TRANSITIONS[CaseStatus(case["status"])]
    statuses = tuple(s for s in CaseStatus if s in allowed and (s is not CaseStatus.CLOSED or refusal is None))
    return CaseRights(read_only=closed, may_note=not closed, may_work=worker,
                      next_statuses=statuses if worker else (), close_refusal=refusal if worker else None,
                      may_reopen=closed and Role.SUPERVISOR.value in ctx.roles,
                      may_read_entities=may_read_entities(ctx))
