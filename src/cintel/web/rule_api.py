"""The rules API (/api/v1/rules...): the rulebook, drafts, the live check of an expression, backtests and the
declarations they hit, approval with a comment, lookup lists, profiles, and the changes that wait for a second
officer. The same service calls as the pages (web/rule_pages.py, which includes this router), answered as JSON
or as a problem document; an unknown rule, list, backtest or change is 404.

Also what both doors share: who may call what (``Reader``, ``Editor``, ``Approver``: the rulebook's own
``RULE_EDITORS`` and ``RULE_APPROVERS``), the stated purposes, and the one call behind each decision on a change.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from cintel.domain.roles import Role
from cintel.risk.rule_language import RuleError
from cintel.risk.rulebook import (
    RULE_APPROVERS,
    RULE_EDITORS,
    LookupKind,
    NotInRulebook,
    Threat,
    add_profile_rule,
    approve_rule,
    create_lookup,
    create_profile,
    list_lookups,
    list_profiles,
)
from cintel.risk.rulebook_changes import (
    Change,
    ChangeStatus,
    confirm_change,
    list_changes,
    refuse_change,
    request_lookup_change,
    request_lookup_drop,
    request_retirement,
    withdraw_change,
)
from cintel.risk.rules import RuleStatus
from cintel.web.pages import PurposeQuery
from cintel.web.params import PageQuery, RecordId
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.rule_view import (
    LOOKUP_PAGE_SIZE,
    backtest_hit_page,
    backtest_version,
    check_expression,
    lookup_page,
    rule_detail,
    rule_dict,
    rulebook_rows,
    save_draft,
)
from cintel.web.security import Principal, StoreDep, require_roles


def unknown_is_404() -> Iterator[None]:
    """Answers 404 for an unknown rule, version, lookup list, backtest or change, on every rules route."""
    try:
        yield
    except NotInRulebook as exc:
        raise HTTPException(404, str(exc)) from None


router = APIRouter(dependencies=[Depends(unknown_is_404)])

READERS = (Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR)
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Editor = Annotated[Principal, Depends(require_roles(*RULE_EDITORS))]
Approver = Annotated[Principal, Depends(require_roles(*RULE_APPROVERS))]

ACTION_PURPOSE = "rule management"
LOOKUP_PURPOSE = "rulebook lookup list review"
BACKTEST_PURPOSE = "rule development and backtest"
# Inputs are capped well above what the services accept, so an over-long value reaches the service and comes
# back as its message rather than as a bare 422.
MAX_INPUT_CHARS = 100_000
RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
NAME_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
StatusQuery = Annotated[str | None, Query(pattern="^(draft|approved|retired)?$",
                                          description="Only rules whose latest version has this status (empty: all)")]
Decision = Literal["confirm", "refuse", "withdraw"]


def decide(engine: Engine, principal: Principal, change_id: int, decision: Decision, comment: str) -> Change:
    """The one service call behind the confirm, refuse and withdraw buttons and their API."""
    actor = principal.context(ACTION_PURPOSE)
    if decision == "confirm":
        return confirm_change(engine, actor, change_id, comment or None)
    if decision == "refuse":
        return refuse_change(engine, actor, change_id, comment)
    return withdraw_change(engine, actor, change_id)


# ---------------------------------------------------------------- the live check (editor and API)


async def _expression_in(request: Request) -> str:
    """The ``expression`` of a form (htmx) or JSON body."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(422, "the body is not JSON") from None
        value = body.get("expression") if isinstance(body, dict) else None
    else:
        value = (await request.form()).get("expression")
    if not isinstance(value, str):
        raise HTTPException(422, "expression: a text field 'expression' is required")
    if len(value) > MAX_INPUT_CHARS:
        raise HTTPException(422, f"expression: at most {MAX_INPUT_CHARS:,} characters")
    return value


@router.post("/api/v1/rules/check", tags=["api"], response_model=None)
async def check_rule_expression(request: Request, principal: Editor, engine: StoreDep) -> Response | dict[str, Any]:
    """Checks an expression without saving it, as saving would (form or JSON field ``expression``).

    Answers JSON ``{"valid", "error": {"message", "hint", "line", "column", "start", "end"}, "fields",
    "lookups"}`` when asked with ``Accept: application/json``; otherwise the editor's HTML fragment: the
    expression with the offending token marked, or "valid" and the fields (with meaning and unit) and lookups
    it reads."""
    expression = await _expression_in(request)
    result = await run_in_threadpool(check_expression, engine, expression)
    if "application/json" in request.headers.get("accept", ""):
        return result.to_dict()
    return page(request, "rule_check.html", principal, check=result)


# ---------------------------------------------------------------- the JSON API


class RuleDraft(BaseModel):
    rule_id: str = Field(pattern=RULE_ID_PATTERN, description="Rule id; an existing id gets a new draft version")
    expression: str = Field(max_length=MAX_INPUT_CHARS, description="The rule expression (docs/rules.md)")
    reason: str = Field(max_length=2_000, description="Why the rule exists, shown to officers")
    weight: float | None = Field(None, description="Share of hits expected to be fraudulent, in (0, 1]")
    channel: Literal["yellow", "red"] | None = Field(None, description="Fixed channel when it hits")
    valid_from: date | None = None
    valid_to: date | None = None
    offices: list[str] | None = Field(None, max_length=500)
    regimes: list[Literal["IM", "EX", "TR"]] | None = None
    profile: str | None = Field(None, max_length=200, description="Also put the rule in this profile")


class BacktestRequest(BaseModel):
    version: int | None = Field(None, ge=1, description="Version to replay (default: the latest)")
    start: str | None = Field(None, alias="from", max_length=40, description="First day, YYYY-MM-DD")
    end: str | None = Field(None, alias="to", max_length=40,
                            description="Last day, included (default: the last eight weeks of data)")


class ApprovalRequest(BaseModel):
    version: int | None = Field(None, ge=1, description="Draft version to approve (default: the draft awaiting "
                                                        "approval)")
    comment: str | None = Field(None, max_length=4_000, description="The approver's comment, kept with the approval")


class ReasonRequest(BaseModel):
    reason: str = Field(max_length=4_000, description="Why: kept with the request")


class CommentRequest(BaseModel):
    comment: str | None = Field(None, max_length=4_000,
                                description="The decision's comment (required to refuse: why)")


class LookupRequest(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    kind: LookupKind
    description: str = Field(min_length=1, max_length=2_000)


class LookupChange(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=100_000)
    remove: list[str] = Field(default_factory=list, max_length=100_000)
    reason: str = Field(max_length=4_000, description="Why the values change: kept with the request")


class ProfileRequest(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    threat: Threat
    description: str = Field("", max_length=2_000)
    offices: list[str] | None = Field(None, max_length=500)


class ProfileRuleRequest(BaseModel):
    rule_id: str = Field(pattern=RULE_ID_PATTERN)


def _rule_problem(exc: RuleError) -> JSONResponse:
    """A problem document for a refused expression, with where the error is (as /api/v1/rules/check)."""
    return JSONResponse({"type": "about:blank", "title": "Bad Request", "status": 400, "detail": str(exc),
                         "error": {"message": exc.message, "hint": exc.hint, "line": exc.line, "column": exc.col,
                                   "start": exc.start, "end": exc.end}},
                        status_code=400, media_type="application/problem+json")


def _accepted(change: Change) -> JSONResponse:
    """A change as JSON: 202 while it waits for a second officer, 200 once it took effect or was decided."""
    return JSONResponse(change.to_dict(), status_code=202 if change.pending else 200)


@router.get("/api/v1/rules", tags=["api"])
def api_rules(principal: Reader, engine: StoreDep, status: StatusQuery = None) -> list[dict[str, Any]]:
    """The rulebook (same rows as /rules): each rule's latest version with its profiles."""
    return rulebook_rows(engine, RuleStatus(status) if status else None)


@router.post("/api/v1/rules", tags=["api"], status_code=201, response_model=None)
def api_create_rule(body: RuleDraft, principal: Editor, engine: StoreDep) -> dict[str, Any] | JSONResponse:
    """Saves a draft (a new rule or the next version of an existing one) after checking its expression;
    a refused expression is a 400 problem with the error's place."""
    try:
        rule = save_draft(engine, principal.context(ACTION_PURPOSE), body.rule_id, body.expression, body.reason,
                          new=None, profile=body.profile, weight=body.weight, channel=body.channel,
                          valid_from=body.valid_from, valid_to=body.valid_to, offices=body.offices or None,
                          regimes=list(body.regimes) if body.regimes else None)
    except RuleError as exc:
        return _rule_problem(exc)
    return rule_dict(rule)


@router.get("/api/v1/rules/changes", tags=["api"])
def api_changes(principal: Reader, engine: StoreDep,
                status: Annotated[ChangeStatus | None, Query(description="Only changes of this status")] = None,
                lookup: Annotated[str | None, Query(max_length=64, description="Only this lookup list's")] = None,
                rule_id: Annotated[str | None, Query(max_length=64, description="Only this rule's")] = None,
                limit: Annotated[int, Query(ge=1, le=1_000)] = 200) -> list[dict[str, Any]]:
    """Rulebook changes (lookup changes, lookup drops, retirements) newest first: ``status=pending`` for those
    waiting for a second officer, or the history of a lookup list or a rule."""
    return [c.to_dict() for c in list_changes(engine, status=status, lookup=lookup, rule_id=rule_id, limit=limit)]


@router.post("/api/v1/rules/changes/{change_id}/{decision}", tags=["api"], response_model=None)
def api_decide_change(principal: Approver, engine: StoreDep, change_id: RecordId, decision: Decision,
                      body: CommentRequest | None = None) -> JSONResponse:
    """Confirms (it takes effect now), refuses (``comment`` required: why) or withdraws (only the requester) a
    pending change. Four eyes: refused (400) to the officer who asked for it."""
    return _accepted(decide(engine, principal, change_id, decision, (body.comment if body else None) or ""))


@router.get("/api/v1/rules/lookups", tags=["api"])
def api_lookups(principal: Reader, engine: StoreDep) -> list[dict[str, Any]]:
    """The lookup lists with their kind, description and number of values."""
    return [lk.to_dict() for lk in list_lookups(engine)]


@router.post("/api/v1/rules/lookups", tags=["api"], status_code=201)
def api_create_lookup(body: LookupRequest, principal: Editor, engine: StoreDep) -> dict[str, Any]:
    """Creates an empty lookup list (targeting officers)."""
    return create_lookup(engine, principal.context(ACTION_PURPOSE), body.name, body.kind, body.description).to_dict()


@router.get("/api/v1/rules/lookups/{name}", tags=["api"])
def api_lookup_values(request: Request, principal: Reader, engine: StoreDep, name: str, page_no: PageQuery = 1,
                      size: Annotated[int, Query(ge=1, le=1_000)] = LOOKUP_PAGE_SIZE,
                      purpose: PurposeQuery = LOOKUP_PURPOSE) -> dict[str, Any]:
    """One page of a lookup list's values (as its page shows them), the rules that name it, its pending changes
    and its history; every view is logged."""
    values = lookup_page(engine, name, page_no, size)
    record_view(engine, principal.context(purpose), object_kind="lookup", object_id=name, route=request.url.path)
    return values.to_dict()


@router.post("/api/v1/rules/lookups/{name}/values", tags=["api"], response_model=None)
def api_change_lookup(body: LookupChange, principal: Editor, engine: StoreDep, name: str) -> JSONResponse:
    """Asks for values to be added to and/or removed from a lookup list, with a reason (targeting officers);
    202 with the change, which takes effect once another officer confirms it
    (POST /api/v1/rules/changes/{change_id}/confirm)."""
    return _accepted(request_lookup_change(engine, principal.context(ACTION_PURPOSE), name, add=body.add,
                                           remove=body.remove, reason=body.reason))


@router.post("/api/v1/rules/lookups/{name}/drop", tags=["api"], response_model=None)
def api_drop_lookup(body: ReasonRequest, principal: Editor, engine: StoreDep, name: str) -> JSONResponse:
    """Asks for a lookup list to be dropped, with a reason; 202 with the change (another officer confirms)."""
    return _accepted(request_lookup_drop(engine, principal.context(ACTION_PURPOSE), name, reason=body.reason))


@router.get("/api/v1/rules/profiles", tags=["api"])
def api_profiles(principal: Reader, engine: StoreDep) -> list[dict[str, Any]]:
    """The risk profiles with their threat, offices and rules."""
    return [p.to_dict() for p in list_profiles(engine)]


@router.post("/api/v1/rules/profiles", tags=["api"], status_code=201)
def api_create_profile(body: ProfileRequest, principal: Editor, engine: StoreDep) -> dict[str, Any]:
    """Creates a risk profile (targeting officers)."""
    return create_profile(engine, principal.context(ACTION_PURPOSE), body.name, body.threat, body.description,
                          body.offices or None).to_dict()


@router.post("/api/v1/rules/profiles/{name}/rules", tags=["api"])
def api_add_profile_rule(body: ProfileRuleRequest, principal: Editor, engine: StoreDep, name: str) -> dict[str, Any]:
    """Puts a rule in a profile (targeting officers)."""
    add_profile_rule(engine, name, body.rule_id)
    return {"name": name, "rule_id": body.rule_id}


@router.get("/api/v1/rules/{rule_id}", tags=["api"])
def api_rule(principal: Reader, engine: StoreDep, rule_id: str) -> dict[str, Any]:
    """One rule (as its page): every version newest first, the draft awaiting approval, its profiles, backtests
    and retirement requests."""
    return rule_detail(engine, rule_id)


@router.post("/api/v1/rules/{rule_id}/approve", tags=["api"])
def api_approve(principal: Approver, engine: StoreDep, rule_id: str,
                body: ApprovalRequest | None = None) -> dict[str, Any]:
    """Approves a draft with an optional comment; refused (400) to its own author (four eyes), to a version
    never backtested (POST /api/v1/rules/{rule_id}/backtest first) and to a superseded draft."""
    wanted = body or ApprovalRequest()
    return rule_dict(approve_rule(engine, principal.context(ACTION_PURPOSE), rule_id, wanted.version,
                                  comment=wanted.comment))


@router.post("/api/v1/rules/{rule_id}/retire", tags=["api"], response_model=None)
def api_retire(body: ReasonRequest, principal: Approver, engine: StoreDep, rule_id: str) -> JSONResponse:
    """Asks for a rule's retirement, with a reason: 202 with the change while it waits for another officer (a
    rule with an approved version), 200 when it took effect at once (a rule never approved)."""
    return _accepted(request_retirement(engine, principal.context(ACTION_PURPOSE), rule_id, body.reason))


@router.post("/api/v1/rules/{rule_id}/backtest", tags=["api"])
async def api_backtest(principal: Approver, engine: StoreDep, rule_id: str,
                       body: BacktestRequest | None = None) -> dict[str, Any]:
    """The backtest of a version over a window (as the backtest page): hits, load, hits per day, hit rate
    among inspected, revenue found, hits no approved rule catches and overlap with approved rules. The run
    is recorded (``backtest_id``) with the declarations it hit (GET .../backtests/{backtest_id}/hits): approving
    the version needs one."""
    wanted = body or BacktestRequest()
    result: dict[str, Any] = await run_in_threadpool(backtest_version, engine, principal.context(ACTION_PURPOSE),
                                                     rule_id, wanted.version, wanted.start or "", wanted.end or "")
    return result


@router.get("/api/v1/rules/{rule_id}/backtests/{backtest_id}/hits", tags=["api"])
def api_backtest_hits(request: Request, principal: Reader, engine: StoreDep, rule_id: str, backtest_id: RecordId,
                      page_no: PageQuery = 1, size: Annotated[int, Query(ge=1, le=1_000)] = 100,
                      purpose: PurposeQuery = BACKTEST_PURPOSE) -> dict[str, Any]:
    """One page of the declarations a recorded backtest hit, newest first; every view is logged."""
    hits = backtest_hit_page(engine, rule_id, backtest_id, page_no, size)
    record_view(engine, principal.context(purpose), object_kind="backtest", object_id=str(backtest_id),
                route=request.url.path)
    return hits
