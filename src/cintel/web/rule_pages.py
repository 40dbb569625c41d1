"""Rules pages (their JSON API is web/rule_api.py, included in this router): the rulebook, the editor with live
validation and the field catalogue, backtests and the declarations they hit, four-eyes approval with a comment,
lookup lists and profiles, and the changes that wait for a second officer (lookup changes, retirements).

Who may do what: analysts, targeting officers and supervisors read the rulebook (inspectors do not); only
targeting officers write drafts, lookup lists and profiles and ask for lookup changes; targeting officers and
supervisors backtest, approve, ask for retirements and confirm or refuse changes. The rulebook enforces the
four-eyes rules itself (nobody approves their own draft or confirms their own change; a draft is approved only
after a backtest of that version). Rules are not personal data, so reading them is not logged; lookup values
and the declarations a backtest hit may name traders, so every view of them is.

Each operation is one call of a service (cintel.risk, through cintel.web.rule_view) from each door: a page's
form answers with a redirect, or with its page again showing what was typed and the error beside the field
(400); the API answers JSON or a problem document. An unknown rule, list, backtest or change is 404 on both.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from cintel.domain.roles import Role
from cintel.errors import CintelError
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
    list_rules,
)
from cintel.risk.rulebook_changes import (
    ChangeKind,
    ChangeStatus,
    get_change,
    pending_changes,
    request_lookup_change,
    request_lookup_drop,
    request_retirement,
)
from cintel.risk.rules import RuleStatus
from cintel.web import rule_api
from cintel.web.form_state import NO_FORM, FormState
from cintel.web.pages import PurposeQuery
from cintel.web.params import PageQuery, RecordId
from cintel.web.queue import record_view
from cintel.web.render import page
from cintel.web.rule_api import (
    ACTION_PURPOSE,
    BACKTEST_PURPOSE,
    LOOKUP_PURPOSE,
    MAX_INPUT_CHARS,
    Approver,
    Decision,
    Editor,
    Reader,
    StatusQuery,
    decide,
    unknown_is_404,
)
from cintel.web.rule_view import (
    DraftForm,
    backtest_hit_page,
    backtest_version,
    changes_overview,
    check_expression,
    draft_arguments,
    field_catalogue,
    lookup_page,
    refused,
    rule_detail,
    rulebook_rows,
    save_draft,
    split_values,
    subject_url,
    suggested_window,
    versions_of,
)
from cintel.web.security import Principal, StoreDep

router = APIRouter(dependencies=[Depends(unknown_is_404)])

# Who may do what, as the command line asks too (cintel.cli.rules).
EDITORS = RULE_EDITORS
APPROVERS = RULE_APPROVERS
MAX_VALUES_CHARS = 200_000
Text = Annotated[str, Form(max_length=4_000)]


def _has(principal: Principal, roles: frozenset[Role]) -> bool:
    return bool(principal.user.roles & roles)


def _actions(principal: Principal) -> dict[str, bool]:
    return {"can_edit": _has(principal, RULE_EDITORS), "can_approve": _has(principal, RULE_APPROVERS)}


def _rule_url(rule_id: str) -> str:
    return f"/rules/{quote(rule_id, safe='')}"


def _lookup_url(name: str) -> str:
    return f"/rules/lookups/{quote(name, safe='')}"


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _status(form: FormState) -> int:
    return 400 if form.errors else 200


# ---------------------------------------------------------------- pages (forms answer with these again)


def _rule_page(request: Request, principal: Principal, engine: StoreDep, rule_id: str,
               form: FormState = NO_FORM) -> HTMLResponse:
    return page(request, "rule.html", principal, status_code=_status(form), rule=rule_detail(engine, rule_id),
                window=suggested_window(engine), backtest=None, form=form, **_actions(principal))


def _editor(request: Request, principal: Principal, engine: StoreDep, draft: DraftForm, *, new: bool,
            form: FormState = NO_FORM) -> HTMLResponse:
    check = check_expression(engine, draft.expression) if draft.expression else None
    return page(request, "rule_edit.html", principal, status_code=_status(form), draft=draft, new=new, form=form,
                check=check, fields=field_catalogue(), profiles=[p.name for p in list_profiles(engine)],
                regimes=["IM", "EX", "TR"], **_actions(principal))


def _lookups_page(request: Request, principal: Principal, engine: StoreDep,
                  form: FormState = NO_FORM) -> HTMLResponse:
    return page(request, "lookups.html", principal, status_code=_status(form), lookups=list_lookups(engine),
                pending=[c.to_dict() for c in pending_changes(engine) if c.lookup], form=form,
                kinds=[k.value for k in LookupKind], **_actions(principal))


def _lookup_values_page(request: Request, principal: Principal, engine: StoreDep, name: str, page_no: int = 1,
                        purpose: str = LOOKUP_PURPOSE, form: FormState = NO_FORM) -> HTMLResponse:
    values = lookup_page(engine, name, page_no)
    record_view(engine, principal.context(purpose), object_kind="lookup", object_id=name, route=request.url.path)

    def page_url(number: int) -> str:
        return f"{_lookup_url(name)}?" + urlencode({"page": number, "purpose": purpose})

    return page(request, "rule_lookup_values.html", principal, status_code=_status(form), lookup=values,
                purpose=purpose, page_url=page_url, form=form, **_actions(principal))


def _profiles_page(request: Request, principal: Principal, engine: StoreDep,
                   form: FormState = NO_FORM) -> HTMLResponse:
    return page(request, "profiles.html", principal, status_code=_status(form), profiles=list_profiles(engine),
                threats=[t.value for t in Threat], rule_ids=[r.rule_id for r in list_rules(engine)], form=form,
                **_actions(principal))


def _changes_page(request: Request, principal: Principal, engine: StoreDep,
                  form: FormState = NO_FORM) -> HTMLResponse:
    return page(request, "rule_changes.html", principal, status_code=_status(form), changes=changes_overview(engine),
                form=form, **_actions(principal))


# ---------------------------------------------------------------- the rulebook and the editor


@router.get("/rules", response_class=HTMLResponse)
def rules_page(request: Request, principal: Reader, engine: StoreDep, status: StatusQuery = None) -> HTMLResponse:
    """The rulebook: every rule's latest version with its status, effect, author, approver, reason, scope,
    validity and profiles, filtered by status; and how many changes wait for a second officer."""
    rows = rulebook_rows(engine, RuleStatus(status) if status else None)
    return page(request, "rules.html", principal, rules=rows, status=status or "",
                statuses=[s.value for s in RuleStatus], waiting=len(pending_changes(engine)), **_actions(principal))


@router.get("/rules/new", response_class=HTMLResponse)
def new_rule_page(request: Request, principal: Editor, engine: StoreDep) -> HTMLResponse:
    """The editor for a new rule, with live validation of the expression as it is typed and the fields a rule
    can read, with their meaning and unit."""
    return _editor(request, principal, engine, DraftForm(), new=True)


@router.post("/rules", response_class=HTMLResponse)
def save_rule(
    request: Request, principal: Editor, engine: StoreDep,
    rule_id: Annotated[str, Form(max_length=200)] = "",
    expression: Annotated[str, Form(max_length=MAX_INPUT_CHARS)] = "",
    reason: Annotated[str, Form(max_length=4_000)] = "",
    mode: Annotated[Literal["new", "edit"], Form()] = "new",
    effect: Annotated[str, Form(max_length=40)] = "weight",
    weight: Annotated[str, Form(max_length=40)] = "",
    channel: Annotated[str, Form(max_length=40)] = "red",
    valid_from: Annotated[str, Form(max_length=40)] = "",
    valid_to: Annotated[str, Form(max_length=40)] = "",
    offices: Annotated[str, Form(max_length=2_000)] = "",
    regimes: Annotated[list[Literal["IM", "EX", "TR"]] | None, Form()] = None,
    profile: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Saves a draft (a new rule, or the next version of one) after checking its expression; a refused draft
    comes back in the editor as typed, with the error beside its field (at its token for the expression, 400)."""
    draft = DraftForm(rule_id=rule_id, expression=expression, reason=reason, effect=effect, weight=weight,
                      channel=channel, valid_from=valid_from, valid_to=valid_to, offices=offices,
                      regimes=list(regimes or []), profile=profile)
    try:
        rule = save_draft(engine, principal.context(ACTION_PURPOSE), rule_id, expression, reason, new=mode == "new",
                          profile=profile or None, **draft_arguments(draft))
    except NotInRulebook:
        raise  # a new version of a rule that does not exist: 404
    except CintelError as exc:
        return _editor(request, principal, engine, draft, new=mode == "new",
                       form=refused("draft", vars(draft), exc, {*vars(draft), "expression"}))
    return _redirect(_rule_url(rule.rule_id))


@router.get("/rules/changes", response_class=HTMLResponse)
def changes_page(request: Request, principal: Reader, engine: StoreDep) -> HTMLResponse:
    """The rulebook changes waiting for a second officer (lookup changes, retirements), longest waiting first,
    with confirm, refuse and withdraw; and the latest decided ones."""
    return _changes_page(request, principal, engine)


@router.post("/rules/changes/{change_id}/{decision}", response_class=HTMLResponse)
def decide_change_form(request: Request, principal: Approver, engine: StoreDep, change_id: RecordId, decision: Decision,
                       comment: Text = "", back: Annotated[Literal["changes", "subject"], Form()] = "subject"
                       ) -> Response:
    """Confirms (it takes effect now), refuses (with a comment: why) or withdraws (the requester) a pending
    change; back to the page the form was on, or that page again with the error beside the comment (400)."""
    change = get_change(engine, change_id)
    try:
        decided = decide(engine, principal, change_id, decision, comment)
    except CintelError as exc:
        state = refused(f"change-{change_id}", {"comment": comment}, exc)
        if back == "changes":
            return _changes_page(request, principal, engine, state)
        if change.lookup:
            return _lookup_values_page(request, principal, engine, change.lookup, form=state)
        return _rule_page(request, principal, engine, str(change.rule_id), state)
    dropped = decided.kind is ChangeKind.LOOKUP_DROP and decided.status is ChangeStatus.CONFIRMED
    if back == "changes":
        return _redirect("/rules/changes")
    return _redirect("/rules/lookups" if dropped else subject_url(decided))


# ---------------------------------------------------------------- lookup lists


@router.get("/rules/lookups", response_class=HTMLResponse)
def lookups_page(request: Request, principal: Reader, engine: StoreDep) -> HTMLResponse:
    """The lookup lists rules can name (`importer_id IN LOOKUP('name')`), with their number of values and the
    changes to them waiting for a second officer."""
    return _lookups_page(request, principal, engine)


@router.post("/rules/lookups", response_class=HTMLResponse)
def create_lookup_form(request: Request, principal: Editor, engine: StoreDep,
                       name: Annotated[str, Form(max_length=200)] = "", kind: Annotated[str, Form(max_length=40)] = "",
                       description: Text = "") -> Response:
    """Creates an empty lookup list (targeting officers); a refused one comes back as typed, the error beside
    its field (400)."""
    typed = {"name": name, "kind": kind, "description": description}
    try:
        create_lookup(engine, principal.context(ACTION_PURPOSE), name, kind, description)
    except CintelError as exc:
        return _lookups_page(request, principal, engine, refused("create", typed, exc))
    return _redirect(_lookup_url(name))


@router.get("/rules/lookups/{name}", response_class=HTMLResponse)
def lookup_values_page(request: Request, principal: Reader, engine: StoreDep, name: str, page_no: PageQuery = 1,
                       purpose: PurposeQuery = LOOKUP_PURPOSE) -> HTMLResponse:
    """The values of one lookup list, a page at a time, the rules that name it, the changes waiting for a second
    officer and the list's history. The values may name traders: every view is logged."""
    return _lookup_values_page(request, principal, engine, name, page_no, purpose)


@router.post("/rules/lookups/{name}/values", response_class=HTMLResponse)
def change_lookup_values(request: Request, principal: Editor, engine: StoreDep, name: str,
                         values: Annotated[str, Form(max_length=MAX_VALUES_CHARS)] = "",
                         action: Annotated[Literal["add", "remove"], Form()] = "add",
                         reason: Text = "") -> Response:
    """Asks for values (one per line or comma-separated) to be added to or removed from a lookup list
    (targeting officers); they take effect once another officer confirms. Refused: back with the error beside
    its field (400)."""
    items = split_values(values)
    try:
        request_lookup_change(engine, principal.context(ACTION_PURPOSE), name,
                              add=items if action == "add" else (), remove=items if action == "remove" else (),
                              reason=reason)
    except NotInRulebook:
        raise
    except CintelError as exc:
        typed = {"values": values, "action": action, "reason": reason}
        return _lookup_values_page(request, principal, engine, name, form=refused("values", typed, exc))
    return _redirect(_lookup_url(name))


@router.post("/rules/lookups/{name}/drop", response_class=HTMLResponse)
def drop_lookup_form(request: Request, principal: Editor, engine: StoreDep, name: str, reason: Text = "") -> Response:
    """Asks for a lookup list to be dropped (refused while a rule not retired names it); it goes once another
    officer confirms."""
    try:
        request_lookup_drop(engine, principal.context(ACTION_PURPOSE), name, reason=reason)
    except NotInRulebook:
        raise
    except CintelError as exc:
        return _lookup_values_page(request, principal, engine, name, form=refused("drop", {"reason": reason}, exc))
    return _redirect(_lookup_url(name))


# ---------------------------------------------------------------- profiles


@router.get("/rules/profiles", response_class=HTMLResponse)
def profiles_page(request: Request, principal: Reader, engine: StoreDep) -> HTMLResponse:
    """Risk profiles: rules grouped by threat, optionally for some offices."""
    return _profiles_page(request, principal, engine)


@router.post("/rules/profiles", response_class=HTMLResponse)
def create_profile_form(request: Request, principal: Editor, engine: StoreDep,
                        name: Annotated[str, Form(max_length=200)] = "",
                        threat: Annotated[str, Form(max_length=40)] = "",
                        description: Text = "", offices: Annotated[str, Form(max_length=2_000)] = "") -> Response:
    """Creates a risk profile (targeting officers)."""
    typed = {"name": name, "threat": threat, "description": description, "offices": offices}
    try:
        create_profile(engine, principal.context(ACTION_PURPOSE), name, threat, description,
                       [o.strip() for o in offices.split(",") if o.strip()] or None)
    except CintelError as exc:
        return _profiles_page(request, principal, engine, refused("profile", typed, exc))
    return _redirect("/rules/profiles")


@router.post("/rules/profiles/rules", response_class=HTMLResponse)
def add_profile_rule_form(request: Request, principal: Editor, engine: StoreDep,
                          profile: Annotated[str, Form(max_length=200)] = "",
                          rule_id: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Puts a rule in a profile (targeting officers)."""
    try:
        add_profile_rule(engine, profile, rule_id)
    except CintelError as exc:
        return _profiles_page(request, principal, engine,
                              refused("profile-rule", {"profile": profile, "rule_id": rule_id}, exc))
    return _redirect("/rules/profiles")


# ---------------------------------------------------------------- one rule


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, principal: Reader, engine: StoreDep, rule_id: str) -> HTMLResponse:
    """One rule: every version with its expression, who wrote, approved (with their comment) and retired it and
    when, its backtests with the declarations each hit, its retirement requests; and the actions the user's role
    allows (new version, backtest then approve, ask for or decide on a retirement)."""
    return _rule_page(request, principal, engine, rule_id)


@router.get("/rules/{rule_id}/edit", response_class=HTMLResponse)
def edit_rule_page(request: Request, principal: Editor, engine: StoreDep, rule_id: str) -> HTMLResponse:
    """The editor, filled with the latest version: saving writes the next version as a draft."""
    versions = versions_of(engine, rule_id)
    return _editor(request, principal, engine, DraftForm.of(versions[-1]), new=False)


@router.post("/rules/{rule_id}/backtest", response_class=HTMLResponse)
async def backtest_page(request: Request, principal: Approver, engine: StoreDep, rule_id: str,
                        version: Annotated[str, Form(max_length=20)] = "",
                        start: Annotated[str, Form(alias="from", max_length=40)] = "",
                        end: Annotated[str, Form(alias="to", max_length=40)] = "") -> HTMLResponse:
    """Runs `cintel rules backtest` for a version over a window (default: the last eight weeks of data):
    hits, hit rate among inspected, revenue found, load per day, overlap with approved rules, and the list of
    the declarations it hit; the approve form follows the result. A bad window or version: the rule's page
    with the error beside the backtest form (400)."""
    try:
        report = await run_in_threadpool(backtest_version, engine, principal.context(ACTION_PURPOSE), rule_id,
                                         int(version) if version.isdigit() else None, start, end)
    except CintelError as exc:
        state = refused("backtest", {"from": start, "to": end, "version": version}, exc)
        return await run_in_threadpool(_rule_page, request, principal, engine, rule_id, state)
    # Read after the run: the rule's recorded backtests, which the approve form looks at, include this one.
    detail = await run_in_threadpool(rule_detail, engine, rule_id)
    return page(request, "rule_backtest.html", principal, rule=detail, backtest=report, form=NO_FORM,
                window=(date.fromisoformat(report["from"]), date.fromisoformat(report["to"])), **_actions(principal))


@router.get("/rules/{rule_id}/backtests/{backtest_id}", response_class=HTMLResponse)
def backtest_hits_page(request: Request, principal: Reader, engine: StoreDep, rule_id: str, backtest_id: RecordId,
                       page_no: PageQuery = 1, purpose: PurposeQuery = BACKTEST_PURPOSE) -> HTMLResponse:
    """The declarations a recorded backtest hit, newest first, a page at a time, each linking to its page, with
    what its inspection found. They name traders' declarations: every view is logged."""
    hits = backtest_hit_page(engine, rule_id, backtest_id, page_no)
    record_view(engine, principal.context(purpose), object_kind="backtest", object_id=str(backtest_id),
                route=request.url.path)

    def page_url(number: int) -> str:
        return f"{_rule_url(rule_id)}/backtests/{backtest_id}?" + urlencode({"page": number, "purpose": purpose})

    return page(request, "rule_backtest_hits.html", principal, rule_id=rule_id, hits=hits, purpose=purpose,
                page_url=page_url, **_actions(principal))


@router.post("/rules/{rule_id}/approve", response_class=HTMLResponse)
def approve_form(request: Request, principal: Approver, engine: StoreDep, rule_id: str,
                 version: Annotated[str, Form(max_length=20)] = "", comment: Text = "") -> Response:
    """Approves a draft so it scores declarations, with the approver's comment; refused (the rule's page with the
    error, 400) to its own author (four eyes), to a version never backtested and to a superseded draft."""
    try:
        approve_rule(engine, principal.context(ACTION_PURPOSE), rule_id,
                     int(version) if version.isdigit() else None, comment=comment)
    except CintelError as exc:
        return _rule_page(request, principal, engine, rule_id, refused("approve", {"comment": comment}, exc))
    return _redirect(_rule_url(rule_id))


@router.post("/rules/{rule_id}/retire", response_class=HTMLResponse)
def retire_form(request: Request, principal: Approver, engine: StoreDep, rule_id: str, reason: Text = "") -> Response:
    """Asks for a rule's retirement, with a reason: a rule with an approved version stops scoring once another
    officer confirms; a rule never approved is retired at once. Refused: the rule's page with the error (400)."""
    try:
        request_retirement(engine, principal.context(ACTION_PURPOSE), rule_id, reason)
    except CintelError as exc:
        return _rule_page(request, principal, engine, rule_id, refused("retire", {"reason": reason}, exc))
    return _redirect(_rule_url(rule_id))


# The API: the same service calls, answered as JSON, under the same 404 for what does not exist.
router.include_router(rule_api.router)
