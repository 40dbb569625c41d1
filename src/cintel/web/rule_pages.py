"""Rules pages and API: the rulebook, the editor with live validation, backtest, four-eyes approval,
retirement; profiles and lookup lists.

Who may do what: analysts, targeting officers and supervisors read the rulebook (inspectors do not);
only targeting officers write drafts, lookup values and profiles; targeting officers and supervisors
backtest, approve and retire. Every backtest is recorded, and rulebook.approve_rule enforces both the
four-eyes rule (nobody approves their own draft) and that the draft version was backtested. Rules are
not personal data, so reading them is not logged; lookup values may name traders, so every view of them
is (object_kind "lookup").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from cintel.domain.roles import Role
from cintel.risk.review import default_window
from cintel.risk.rule_language import RuleError
from cintel.risk.rulebook import (
    LookupKind,
    Threat,
    add_lookup_values,
    add_profile_rule,
    approve_rule,
    create_lookup,
    create_profile,
    list_lookups,
    list_profiles,
    list_rules,
    remove_lookup_values,
    retire_rule,
)
from cintel.risk.rules import RuleStatus
from cintel.web.pages import PurposeQuery
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.rule_view import (
    LOOKUP_PAGE_SIZE,
    DraftError,
    DraftForm,
    UnknownRule,
    backtest_version,
    check_expression,
    draft_arguments,
    lookup_page,
    rule_detail,
    rule_dict,
    rulebook_rows,
    save_draft,
    split_values,
    suggested_window,
    versions_of,
)
from cintel.web.security import Principal, StoreDep, require_roles
from cintel.windows import parse_window

router = APIRouter()

READERS = (Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR)
EDITORS = (Role.TARGETING_OFFICER,)
APPROVERS = (Role.TARGETING_OFFICER, Role.SUPERVISOR)
Reader = Annotated[Principal, Depends(require_roles(*READERS))]
Editor = Annotated[Principal, Depends(require_roles(*EDITORS))]
Approver = Annotated[Principal, Depends(require_roles(*APPROVERS))]

ACTION_PURPOSE = "rule management"
LOOKUP_PURPOSE = "rulebook lookup list review"
# Form inputs are capped well above what the language accepts (4,000 characters), so an over-long rule
# reaches the checker and comes back as its message in the editor rather than as a bare 422.
MAX_INPUT_CHARS = 100_000
RULE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"
NAME_PATTERN = r"^[A-Za-z0-9_\-]{1,64}$"
StatusQuery = Annotated[str | None, Query(pattern="^(draft|approved|retired)?$",
                                          description="Only rules whose latest version has this status (empty: all)")]
VersionField = Annotated[int | None, Form(ge=1, le=1_000_000, description="Version (default: the latest)")]
T = TypeVar("T")


def _known(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Calls fn, answering 404 for an unknown rule, version or lookup list."""
    try:
        return fn(*args, **kwargs)
    except UnknownRule as exc:
        raise HTTPException(404, str(exc)) from None


def _has(principal: Principal, roles: tuple[Role, ...]) -> bool:
    return bool(principal.user.roles & frozenset(roles))


def _rule_url(rule_id: str) -> str:
    return f"/rules/{quote(rule_id, safe='')}"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _window(start: str, end: str, engine: StoreDep) -> tuple[date, date]:
    """The backtest window [start, end) from the form's first and last days (both included); a missing
    bound is taken from the last eight weeks of data."""
    first, stop = parse_window(start or None, end or None, ("from", "to"))
    if first is None or stop is None:
        default_first, default_last = default_window(engine)
        first = first or default_first
        stop = stop or default_last + timedelta(days=1)
    return first, stop


def _actions(principal: Principal) -> dict[str, bool]:
    return {"can_edit": _has(principal, EDITORS), "can_approve": _has(principal, APPROVERS)}


# ---------------------------------------------------------------- the rulebook


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, principal: Reader, engine: StoreDep, status: StatusQuery = None) -> HTMLResponse:
    """The rulebook: every rule's latest version with its status, effect, author, approver, reason, scope,
    validity and profiles, filtered by status."""
    rows = rulebook_rows(engine, RuleStatus(status) if status else None)
    return page(request, "rules.html", principal, rules=rows, status=status or "",
                statuses=[s.value for s in RuleStatus], **_actions(principal))


@router.get("/rules/new", response_class=HTMLResponse)
def new_rule_page(request: Request, principal: Editor, engine: StoreDep) -> HTMLResponse:
    """The editor for a new rule, with live validation of the expression as it is typed."""
    return _editor(request, principal, engine, DraftForm(), new=True)


def _editor(request: Request, principal: Principal, engine: StoreDep, form: DraftForm, *, new: bool,
            error: str | None = None, status_code: int = 200) -> HTMLResponse:
    check = check_expression(engine, form.expression) if form.expression else None
    return page(request, "rule_edit.html", principal, status_code=status_code, form=form, new=new, error=error,
                check=check, profiles=[p.name for p in list_profiles(engine)], regimes=["IM", "EX", "TR"],
                **_actions(principal))


@router.post("/rules", response_class=HTMLResponse)
def save_rule(
    request: Request, principal: Editor, engine: StoreDep,
    rule_id: Annotated[str, Form(min_length=1, max_length=64, pattern=RULE_ID_PATTERN)],
    # Empty text is the checker's to refuse ("the rule is empty"), in the editor, not a bare 422.
    expression: Annotated[str, Form(max_length=MAX_INPUT_CHARS)] = "",
    reason: Annotated[str, Form(max_length=2_000)] = "",
    mode: Annotated[Literal["new", "edit"], Form()] = "new",
    effect: Annotated[Literal["weight", "channel"], Form()] = "weight",
    weight: Annotated[str, Form(max_length=40)] = "",
    channel: Annotated[Literal["yellow", "red"], Form()] = "red",
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_to: Annotated[str, Form(max_length=40)] = "",
    offices: Annotated[str, Form(max_length=2_000)] = "",
    regimes: Annotated[list[Literal["IM", "EX", "TR"]] | None, Form()] = None,
    profile: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Saves a draft (a new rule, or the next version of one) after checking its expression; an invalid
    draft comes back in the editor with the error at its token (400)."""
    form = DraftForm(rule_id=rule_id, expression=expression, reason=reason, effect=effect, weight=weight,
                     channel=channel, valid_from=valid_from, valid_to=valid_to, offices=offices,
                     regimes=list(regimes or []), profile=profile)
    try:
        rule = _known(save_draft, engine, principal.context(ACTION_PURPOSE), rule_id, expression, reason,
                      new=mode == "new", profile=profile or None, **draft_arguments(form))
    except (RuleError, DraftError) as exc:
        return _editor(request, principal, engine, form, new=mode == "new", error=str(exc), status_code=400)
    return _redirect(_rule_url(rule.rule_id))


@router.get("/rules/lookups", response_class=HTMLResponse)
def lookups_page(request: Request, principal: Reader, engine: StoreDep) -> HTMLResponse:
    """The lookup lists rules can name (`importer_id IN LOOKUP('name')`), with their number of values."""
    return page(request, "lookups.html", principal, lookups=list_lookups(engine),
                kinds=[k.value for k in LookupKind], **_actions(principal))


@router.post("/rules/lookups")
def create_lookup_form(principal: Editor, engine: StoreDep,
                       name: Annotated[str, Form(pattern=NAME_PATTERN)],
                       kind: Annotated[LookupKind, Form()],
                       description: Annotated[str, Form(min_length=1, max_length=2_000)]) -> Response:
    """Creates an empty lookup list (targeting officers)."""
    create_lookup(engine, principal.context(ACTION_PURPOSE), name, kind, description)
    return _redirect(f"/rules/lookups/{quote(name, safe='')}")


@router.get("/rules/lookups/{name}", response_class=HTMLResponse)
def lookup_values_page(request: Request, principal: Reader, engine: StoreDep, name: str,
                       page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
                       purpose: PurposeQuery = LOOKUP_PURPOSE) -> HTMLResponse:
    """The values of one lookup list, a page at a time. They may name traders: every view is logged."""
    values = _known(lookup_page, engine, name, page_no)
    record_view(engine, principal.context(purpose), object_kind="lookup", object_id=name, route=request.url.path)

    def page_url(number: int) -> str:
        return f"/rules/lookups/{quote(name, safe='')}?" + urlencode({"page": number, "purpose": purpose})

    return page(request, "rule_lookup_values.html", principal, lookup=values, purpose=purpose, page_url=page_url,
                **_actions(principal))


@router.post("/rules/lookups/{name}/values")
def change_lookup_values(principal: Editor, engine: StoreDep, name: str,
                         values: Annotated[str, Form(min_length=1, max_length=200_000)],
                         action: Annotated[Literal["add", "remove"], Form()] = "add",
                         note: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Adds values to a lookup list, or removes them (targeting officers); one per line or comma-separated."""
    items = split_values(values)
    if action == "add":
        add_lookup_values(engine, principal.context(ACTION_PURPOSE), name, items, note or None)
    else:
        remove_lookup_values(engine, name, items)
    return _redirect(f"/rules/lookups/{quote(name, safe='')}")


@router.get("/rules/profiles", response_class=HTMLResponse)
def profiles_page(request: Request, principal: Reader, engine: StoreDep) -> HTMLResponse:
    """Risk profiles: rules grouped by threat, optionally for some offices."""
    return page(request, "profiles.html", principal, profiles=list_profiles(engine),
                threats=[t.value for t in Threat], rule_ids=[r.rule_id for r in list_rules(engine)],
                **_actions(principal))


@router.post("/rules/profiles")
def create_profile_form(principal: Editor, engine: StoreDep,
                        name: Annotated[str, Form(pattern=NAME_PATTERN)],
                        threat: Annotated[Threat, Form()],
                        description: Annotated[str, Form(max_length=2_000)] = "",
                        offices: Annotated[str, Form(max_length=2_000)] = "") -> Response:
    """Creates a risk profile (targeting officers)."""
    create_profile(engine, principal.context(ACTION_PURPOSE), name, threat, description,
                   [o.strip() for o in offices.split(",") if o.strip()] or None)
    return _redirect("/rules/profiles")


@router.post("/rules/profiles/rules")
def add_profile_rule_form(principal: Editor, engine: StoreDep,
                          profile: Annotated[str, Form(min_length=1, max_length=200)],
                          rule_id: Annotated[str, Form(pattern=RULE_ID_PATTERN)]) -> Response:
    """Puts a rule in a profile (targeting officers)."""
    add_profile_rule(engine, profile, rule_id)
    return _redirect("/rules/profiles")


# ---------------------------------------------------------------- one rule


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, principal: Reader, engine: StoreDep, rule_id: str) -> HTMLResponse:
    """One rule: every version with its expression, who wrote, approved and retired it and when; and the
    actions the user's role allows (new version, backtest then approve, retire)."""
    detail = _known(rule_detail, engine, rule_id)
    window = suggested_window(engine)
    return page(request, "rule.html", principal, rule=detail, window=window, backtest=None, **_actions(principal))


@router.get("/rules/{rule_id}/edit", response_class=HTMLResponse)
def edit_rule_page(request: Request, principal: Editor, engine: StoreDep, rule_id: str) -> HTMLResponse:
    """The editor, filled with the latest version: saving writes the next version as a draft."""
    versions = _known(versions_of, engine, rule_id)
    return _editor(request, principal, engine, DraftForm.of(versions[-1]), new=False)


@router.post("/rules/{rule_id}/backtest", response_class=HTMLResponse)
async def backtest_page(request: Request, principal: Approver, engine: StoreDep, rule_id: str,
                        version: VersionField = None,
                        start: Annotated[str, Form(alias="from", max_length=40)] = "",
                        end: Annotated[str, Form(alias="to", max_length=40)] = "") -> HTMLResponse:
    """Runs `cintel rules backtest` for a version over a window (default: the last eight weeks of data):
    hits, hit rate among inspected, revenue found, load per day, overlap with approved rules; the approve
    form follows the result."""
    await run_in_threadpool(_known, versions_of, engine, rule_id)
    first, stop = await run_in_threadpool(_window, start, end, engine)
    report = await run_in_threadpool(_known, backtest_version, engine, principal.context(ACTION_PURPOSE), rule_id,
                                     version, first, stop)
    # Read after the run: the rule's recorded backtests, which the approve form looks at, include this one.
    detail = await run_in_threadpool(_known, rule_detail, engine, rule_id)
    return page(request, "rule_backtest.html", principal, rule=detail, backtest=report,
                window=(first, date.fromisoformat(report["to"])), **_actions(principal))


@router.post("/rules/{rule_id}/approve")
def approve_form(principal: Approver, engine: StoreDep, rule_id: str, version: VersionField = None) -> Response:
    """Approves a draft so it scores declarations; refused (400) to its own author (four eyes) and to a
    version never backtested."""
    _known(versions_of, engine, rule_id)
    approve_rule(engine, principal.context(ACTION_PURPOSE), rule_id, version)
    return _redirect(_rule_url(rule_id))


@router.post("/rules/{rule_id}/retire")
def retire_form(principal: Approver, engine: StoreDep, rule_id: str) -> Response:
    """Retires a rule (every version): it stops scoring; its history stays."""
    _known(versions_of, engine, rule_id)
    retire_rule(engine, principal.context(ACTION_PURPOSE), rule_id)
    return _redirect(_rule_url(rule_id))


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
    expression with the offending token marked, or "valid" and the fields and lookups it reads."""
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


class VersionRequest(BaseModel):
    version: int | None = Field(None, ge=1, description="Draft version to approve (default: the latest draft)")


class LookupRequest(BaseModel):
    name: str = Field(pattern=NAME_PATTERN)
    kind: LookupKind
    description: str = Field(min_length=1, max_length=2_000)


class LookupChange(BaseModel):
    add: list[str] = Field(default_factory=list, max_length=100_000)
    remove: list[str] = Field(default_factory=list, max_length=100_000)
    note: str | None = Field(None, max_length=500)


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


@router.get("/api/v1/rules", tags=["api"])
def api_rules(principal: Reader, engine: StoreDep, status: StatusQuery = None) -> list[dict[str, Any]]:
    """The rulebook (same rows as /rules): each rule's latest version with its profiles."""
    return rulebook_rows(engine, RuleStatus(status) if status else None)


@router.post("/api/v1/rules", tags=["api"], status_code=201, response_model=None)
def api_create_rule(body: RuleDraft, principal: Editor, engine: StoreDep) -> dict[str, Any] | JSONResponse:
    """Saves a draft (a new rule or the next version of an existing one) after checking its expression;
    a refused expression is a 400 problem with the error's place."""
    exists = bool(_exists(engine, body.rule_id))
    try:
        rule = save_draft(engine, principal.context(ACTION_PURPOSE), body.rule_id, body.expression, body.reason,
                          new=not exists, profile=body.profile, weight=body.weight, channel=body.channel,
                          valid_from=body.valid_from, valid_to=body.valid_to, offices=body.offices or None,
                          regimes=list(body.regimes) if body.regimes else None)
    except RuleError as exc:
        return _rule_problem(exc)
    return rule_dict(rule)


def _exists(engine: StoreDep, rule_id: str) -> bool:
    try:
        versions_of(engine, rule_id)
    except UnknownRule:
        return False
    return True


@router.get("/api/v1/rules/lookups", tags=["api"])
def api_lookups(principal: Reader, engine: StoreDep) -> list[dict[str, Any]]:
    """The lookup lists with their kind, description and number of values."""
    return [{"name": lk.name, "kind": lk.kind.value, "description": lk.description, "created_by": lk.created_by,
             "values": lk.values} for lk in list_lookups(engine)]


@router.post("/api/v1/rules/lookups", tags=["api"], status_code=201)
def api_create_lookup(body: LookupRequest, principal: Editor, engine: StoreDep) -> dict[str, Any]:
    """Creates an empty lookup list (targeting officers)."""
    lk = create_lookup(engine, principal.context(ACTION_PURPOSE), body.name, body.kind, body.description)
    return {"name": lk.name, "kind": lk.kind.value, "description": lk.description, "values": 0}


@router.get("/api/v1/rules/lookups/{name}", tags=["api"])
def api_lookup_values(request: Request, principal: Reader, engine: StoreDep, name: str,
                      page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
                      size: Annotated[int, Query(ge=1, le=1_000)] = LOOKUP_PAGE_SIZE,
                      purpose: PurposeQuery = LOOKUP_PURPOSE) -> dict[str, Any]:
    """One page of a lookup list's values (as its page shows them); every view is logged."""
    values = _known(lookup_page, engine, name, page_no, size)
    record_view(engine, principal.context(purpose), object_kind="lookup", object_id=name, route=request.url.path)
    return values.to_dict()


@router.post("/api/v1/rules/lookups/{name}/values", tags=["api"])
def api_change_lookup(body: LookupChange, principal: Editor, engine: StoreDep, name: str) -> dict[str, Any]:
    """Adds and/or removes values of a lookup list (targeting officers); returns how many changed."""
    added = add_lookup_values(engine, principal.context(ACTION_PURPOSE), name, body.add, body.note) if body.add else 0
    removed = remove_lookup_values(engine, name, body.remove) if body.remove else 0
    return {"name": name, "added": added, "removed": removed}


@router.get("/api/v1/rules/profiles", tags=["api"])
def api_profiles(principal: Reader, engine: StoreDep) -> list[dict[str, Any]]:
    """The risk profiles with their threat, offices and rules."""
    return [{"name": p.name, "threat": p.threat.value, "description": p.description,
             "offices": list(p.offices) if p.offices else None, "created_by": p.created_by,
             "rules": list(p.rule_ids)} for p in list_profiles(engine)]


@router.post("/api/v1/rules/profiles", tags=["api"], status_code=201)
def api_create_profile(body: ProfileRequest, principal: Editor, engine: StoreDep) -> dict[str, Any]:
    """Creates a risk profile (targeting officers)."""
    p = create_profile(engine, principal.context(ACTION_PURPOSE), body.name, body.threat, body.description,
                       body.offices or None)
    return {"name": p.name, "threat": p.threat.value, "description": p.description,
            "offices": list(p.offices) if p.offices else None, "rules": []}


@router.post("/api/v1/rules/profiles/{name}/rules", tags=["api"])
def api_add_profile_rule(body: ProfileRuleRequest, principal: Editor, engine: StoreDep, name: str) -> dict[str, Any]:
    """Puts a rule in a profile (targeting officers)."""
    add_profile_rule(engine, name, body.rule_id)
    return {"name": name, "rule_id": body.rule_id}


@router.get("/api/v1/rules/{rule_id}", tags=["api"])
def api_rule(principal: Reader, engine: StoreDep, rule_id: str) -> dict[str, Any]:
    """One rule (as its page): every version newest first, the pending draft and its profiles."""
    return _known(rule_detail, engine, rule_id)


@router.post("/api/v1/rules/{rule_id}/approve", tags=["api"])
def api_approve(principal: Approver, engine: StoreDep, rule_id: str,
                body: VersionRequest | None = None) -> dict[str, Any]:
    """Approves a draft; refused (400) to its own author (four eyes) and to a version never backtested
    (POST /api/v1/rules/{rule_id}/backtest first)."""
    _known(versions_of, engine, rule_id)
    return rule_dict(approve_rule(engine, principal.context(ACTION_PURPOSE), rule_id,
                                  body.version if body else None))


@router.post("/api/v1/rules/{rule_id}/retire", tags=["api"])
def api_retire(principal: Approver, engine: StoreDep, rule_id: str) -> list[dict[str, Any]]:
    """Retires a rule (every live version); returns the versions retired."""
    _known(versions_of, engine, rule_id)
    return [rule_dict(r) for r in retire_rule(engine, principal.context(ACTION_PURPOSE), rule_id)]


@router.post("/api/v1/rules/{rule_id}/backtest", tags=["api"])
async def api_backtest(principal: Approver, engine: StoreDep, rule_id: str,
                       body: BacktestRequest | None = None) -> dict[str, Any]:
    """The backtest of a version over a window (as the backtest page): hits, load, hits per day, hit rate
    among inspected, revenue found, hits no approved rule catches and overlap with approved rules. The run
    is recorded (``backtest_id``): approving the version needs one."""
    wanted = body or BacktestRequest()
    await run_in_threadpool(_known, versions_of, engine, rule_id)
    first, stop = await run_in_threadpool(_window, wanted.start or "", wanted.end or "", engine)
    result: dict[str, Any] = await run_in_threadpool(_known, backtest_version, engine,
                                                     principal.context(ACTION_PURPOSE), rule_id, wanted.version,
                                                     first, stop)
    return result
