"""Cases on the store: opened from something that exists, worked through allowed steps, read by whom may."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from cintel.cases import service
from cintel.cases.policy import CaseClosed, CaseError, CaseForbidden, CaseNotFound, CaseRights, rights
from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseItemKind, CaseStatus
from tests.cases.conftest import ADA, ANN, ENTITIES, HOSTILE, IVAN, SUE, TOM


def test_a_case_opened_from_a_declaration_is_a_lead_with_it_as_first_evidence(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "Cheap phones", "unit value far too low")
    case = service.get_case(store, ANN, case_id)
    assert case.case["status"] == "lead"
    assert case.case["created_by"] == "ann"
    assert [(i["kind"], i["ref"]) for i in case.items] == [("declaration", "DEC-0001")]
    assert [e["kind"] for e in case.events] == ["created"]
    assert case.events[0]["text"] == "opened from declaration DEC-0001"


@pytest.mark.parametrize(("kind", "ref", "stored"), [
    ("entity", "ENT00000001", "ENT00000001"),
    ("entity", "entity:ENT00000002", "ENT00000002"),
    ("ring", " ENT00000001, entity:ENT00000003 ,ENT00000001", "ENT00000001,ENT00000003"),
    ("container", "mscu 1234566", "MSCU1234566"),
])
def test_origins_are_stored_in_their_canonical_form(store: Engine, kind: str, ref: str, stored: str) -> None:
    case_id = service.open_case(store, ANN, kind, ref, "A lead")
    assert service.get_case(store, ANN, case_id).case["origin_ref"] == stored


@pytest.mark.parametrize(("kind", "ref", "message"), [
    ("declaration", "DEC-9999", "no declaration 'DEC-9999'"),
    ("entity", "ENT99999999", "no entity 'ENT99999999'"),
    ("ring", "ENT00000001", "at least 2 entity ids"),
    ("ring", "ENT00000001,ENT99999999", "ENT99999999"),
    ("container", "NOTACONTAINER", "not a container number"),
    ("container", "ABCU1234567", "no declaration in the store names container ABCU1234567"),
    ("note", "x", "not a note"),
    ("vessel", "9074729", "unknown evidence kind 'vessel'"),
])
def test_an_unknown_origin_is_refused_with_what_is_missing(store: Engine, kind: str, ref: str, message: str) -> None:
    with pytest.raises(CaseError, match=message):
        service.open_case(store, ANN, kind, ref, "A lead")


@pytest.mark.parametrize("title", ["", "ab", "x" * 201])
def test_a_title_has_3_to_200_characters(store: Engine, title: str) -> None:
    with pytest.raises(CaseError, match="title"):
        service.open_case(store, ANN, "declaration", "DEC-0001", title)


@pytest.mark.parametrize("who", [IVAN, ADA])
def test_only_analysts_targeting_officers_and_supervisors_open_cases(store: Engine, who: AccessContext) -> None:
    with pytest.raises(CaseForbidden):
        service.open_case(store, who, "declaration", "DEC-0001", "A lead")


def test_evidence_and_notes_are_added_with_events(store: Engine) -> None:
    case_id = service.open_case(store, TOM, "declaration", "DEC-0001", "A lead")
    service.add_evidence(store, TOM, case_id, "entity", "ENT00000002", "the importer")
    service.add_note(store, TOM, case_id, "called the broker")
    case = service.get_case(store, TOM, case_id)
    assert [(i["kind"], i["ref"], i["note"]) for i in case.evidence][1:] == [("entity", "ENT00000002", "the importer")]
    assert [n["note"] for n in case.notes] == ["called the broker"]
    assert [e["kind"] for e in case.events] == ["created", "evidence", "note"]
    assert case.refs(CaseItemKind.ENTITY) == ["ENT00000002"]


def test_evidence_must_exist_and_say_why(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    with pytest.raises(CaseError, match="no entity"):
        service.add_evidence(store, ANN, case_id, "entity", "ENT404", "why")
    with pytest.raises(CaseError, match="why it is evidence"):
        service.add_evidence(store, ANN, case_id, "entity", "ENT00000001", "  ")


def test_unknown_cases_are_not_found(store: Engine) -> None:
    for call in (lambda: service.get_case(store, ANN, 999), lambda: service.add_note(store, ANN, 999, "x"),
                 lambda: service.assign(store, ANN, 999, "ann"), lambda: service.set_status(store, SUE, 999, "open")):
        with pytest.raises(CaseNotFound, match="no case 999"):
            call()


def test_a_case_is_assigned_to_an_enabled_user_who_may_hold_cases(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, ANN, case_id, "IVAN")
    case = service.get_case(store, ANN, case_id)
    assert case.case["assigned_to"] == "ivan"
    assert case.events[-1]["text"] == "assigned to ivan"
    for nobody in ("dora", "ada", "ghost"):  # disabled, administrator only, unknown
        with pytest.raises(CaseError, match="cannot hold a case"):
            service.assign(store, ANN, case_id, nobody)
    assert "dora" not in [u["username"] for u in service.assignable_users(store)]


def test_a_case_goes_from_lead_to_closed_with_an_outcome(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, SUE, case_id, "ann")
    for status in ("open", "inspection", "open", "inspection"):
        service.set_status(store, ANN, case_id, status)
    service.set_status(store, ANN, case_id, "closed", "undervaluation")
    case = service.get_case(store, ANN, case_id)
    assert (case.case["status"], case.case["outcome"]) == ("closed", "undervaluation")
    assert case.events[-1]["text"] == "inspection -> closed (outcome: undervaluation)"


@pytest.mark.parametrize(("path", "target", "message"), [
    ([], "inspection", "cannot go from lead to inspection; from lead it may go to closed, open"),
    (["open"], "lead", "cannot go from open to lead"),
    (["closed"], "open", "is closed: it is read-only until a supervisor reopens it"),
    ([], "archived", "unknown status 'archived'"),
])
def test_bad_transitions_are_refused_with_the_allowed_ones(store: Engine, path: list[str], target: str,
                                                           message: str) -> None:
    case_id = service.open_case(store, SUE, "declaration", "DEC-0001", "A lead")
    for status in path:
        service.set_status(store, SUE, case_id, status, "no_case" if status == "closed" else None)
    with pytest.raises(CaseError, match=message):
        service.set_status(store, SUE, case_id, target)


def test_closing_needs_a_known_outcome_and_only_closing_takes_one(store: Engine) -> None:
    case_id = service.open_case(store, SUE, "declaration", "DEC-0001", "A lead")
    with pytest.raises(CaseError, match=r"closing needs an outcome: one of no_finding, .*no_case, referred"):
        service.set_status(store, SUE, case_id, "closed")
    with pytest.raises(CaseError, match="closing needs an outcome"):
        service.set_status(store, SUE, case_id, "closed", "guilty")
    with pytest.raises(CaseError, match="only when closing"):
        service.set_status(store, SUE, case_id, "open", "referred")
    service.set_status(store, SUE, case_id, "closed", "referred")
    assert service.get_case(store, SUE, case_id).case["outcome"] == "referred"


def test_closing_needs_a_supervisor_or_the_assignee(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, ANN, case_id, "tom")
    with pytest.raises(CaseForbidden, match="only a supervisor or the assignee \\(tom\\)"):
        service.set_status(store, ANN, case_id, "closed", "no_case")
    service.set_status(store, TOM, case_id, "closed", "no_case")  # the assignee may


def test_inspectors_see_and_annotate_only_their_cases_and_change_nothing_else(store: Engine) -> None:
    mine = service.open_case(store, ANN, "declaration", "DEC-0001", "Mine")
    other = service.open_case(store, ANN, "declaration", "DEC-0002", "Other")
    service.assign(store, ANN, mine, "ivan")
    assert [c["case_id"] for c in service.list_cases(store, IVAN).rows] == [mine]
    service.add_note(store, IVAN, mine, "container sealed")
    with pytest.raises(CaseNotFound, match=f"^no case {other}$"):
        service.get_case(store, IVAN, other)
    with pytest.raises(CaseNotFound):
        service.add_note(store, IVAN, other, "x")
    with pytest.raises(CaseForbidden):
        service.set_status(store, IVAN, mine, "open")
    with pytest.raises(CaseForbidden):
        service.add_evidence(store, IVAN, mine, "entity", "ENT00000001", "x")
    with pytest.raises(CaseForbidden):
        service.assign(store, IVAN, mine, "ivan")


def test_cases_are_listed_by_status_and_assignee_one_page_at_a_time(store: Engine) -> None:
    ids = [service.open_case(store, ANN, "entity", ENTITIES[i % 3], f"Lead {i}") for i in range(5)]
    service.set_status(store, ANN, ids[0], "open")
    service.assign(store, ANN, ids[1], "tom")
    assert service.list_cases(store, ANN, status=CaseStatus.OPEN).to_dict()["items"][0]["case_id"] == ids[0]
    assert [c["case_id"] for c in service.list_cases(store, ANN, assignee="TOM").rows] == [ids[1]]
    first = service.list_cases(store, ANN, page=1, size=2)
    assert (first.total, first.pages, len(first.rows)) == (5, 3, 2)
    assert first.rows[0]["case_id"] == ids[1]  # the most recently changed first
    assert len(service.list_cases(store, ANN, page=3, size=2).rows) == 1
    with pytest.raises(CaseForbidden):
        service.list_cases(store, ADA)


def test_hostile_text_is_stored_as_written(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", HOSTILE[:200], HOSTILE)
    service.add_note(store, ANN, case_id, HOSTILE)
    case = service.get_case(store, ANN, case_id)
    assert case.case["summary"] == HOSTILE
    assert case.notes[0]["note"] == HOSTILE


def test_a_change_based_on_a_stale_read_is_refused(store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = service.open_case(store, SUE, "declaration", "DEC-0001", "A lead")
    stale = service.get_case(store, SUE, case_id).case
    service.set_status(store, SUE, case_id, "open")  # someone else got there first
    monkeypatch.setattr(service, "_case_row", lambda engine, cid: stale)
    with pytest.raises(CaseError, match="changed by someone else meanwhile"):
        service.set_status(store, SUE, case_id, "open")


# ---- closing: one rule, whatever the order of calls --------------------------------------------------------------

def test_assigning_a_case_to_oneself_does_not_let_one_close_it(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, ANN, case_id, "ann")
    with pytest.raises(CaseForbidden, match=r"you assigned case \d+ to yourself"):
        service.set_status(store, ANN, case_id, "closed", "no_case")
    service.assign(store, SUE, case_id, "ann")  # given to her by someone else: now hers to close
    service.set_status(store, ANN, case_id, "closed", "no_case")
    assert service.get_case(store, ANN, case_id).case["status"] == "closed"


def test_closing_is_checked_against_the_case_as_it_is_written(store: Engine,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, SUE, case_id, "ann")
    seen = service.get_case(store, ANN, case_id).case  # ann may close this case ...
    service.assign(store, SUE, case_id, "tom")  # ... until it is given to tom meanwhile
    monkeypatch.setattr(service, "_case_row", lambda engine, cid: seen)
    with pytest.raises(CaseError, match="changed by someone else meanwhile"):
        service.set_status(store, ANN, case_id, "closed", "no_case")
    monkeypatch.undo()
    assert service.get_case(store, ANN, case_id).case["status"] == "lead"


def test_the_page_offers_closing_by_the_same_rule(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, ANN, case_id, "ann")
    case = service.get_case(store, ANN, case_id).case
    mine = rights(ANN, case)
    assert CaseStatus.CLOSED not in mine.next_statuses
    assert "to yourself" in (mine.close_refusal or "")
    assert CaseStatus.CLOSED in rights(SUE, case).next_statuses


# ---- a closed case is read-only until a supervisor reopens it ---------------------------------------------------

def closed_case(store: Engine) -> int:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.set_status(store, SUE, case_id, "closed", "referred")
    return case_id


def test_a_closed_case_refuses_every_change(store: Engine) -> None:
    case_id = closed_case(store)
    for change in (lambda: service.add_note(store, ANN, case_id, "one more thing"),
                   lambda: service.add_evidence(store, ANN, case_id, "entity", "ENT00000001", "the importer"),
                   lambda: service.assign(store, SUE, case_id, "tom"),
                   lambda: service.set_status(store, SUE, case_id, "open")):
        with pytest.raises(CaseClosed, match="read-only until a supervisor reopens it"):
            change()
    case = service.get_case(store, ANN, case_id)
    assert [e["kind"] for e in case.events] == ["created", "status"]
    assert case.notes == []
    assert rights(ANN, case.case) == CaseRights(read_only=True, may_note=False, may_work=False, next_statuses=(),
                                                close_refusal=None, may_reopen=False, may_read_entities=True)
    assert rights(SUE, case.case).may_reopen


def test_an_inspector_cannot_note_their_case_once_closed(store: Engine) -> None:
    case_id = service.open_case(store, ANN, "declaration", "DEC-0001", "A lead")
    service.assign(store, ANN, case_id, "ivan")
    service.set_status(store, SUE, case_id, "closed", "no_finding")
    with pytest.raises(CaseClosed):
        service.add_note(store, IVAN, case_id, "late remark")


def test_a_supervisor_reopens_a_closed_case_with_a_reason_in_its_history(store: Engine) -> None:
    case_id = closed_case(store)
    with pytest.raises(CaseForbidden, match="needs a supervisor"):
        service.reopen(store, ANN, case_id, "new facts")
    with pytest.raises(CaseError, match="reason for reopening"):
        service.reopen(store, SUE, case_id, "  ")
    service.reopen(store, SUE, case_id, "the police found a second container")
    case = service.get_case(store, SUE, case_id)
    assert (case.case["status"], case.case["outcome"]) == ("open", None)
    last = case.events[-1]
    assert (last["kind"], last["username"]) == ("reopened", "sue")
    assert last["text"] == "closed -> open (outcome was referred): the police found a second container"
    service.add_note(store, ANN, case_id, "working it again")  # changeable again
    with pytest.raises(CaseError, match="not closed"):
        service.reopen(store, SUE, case_id, "again")


# ---- what one may not read does not exist --------------------------------------------------------------------

def test_a_case_one_may_not_read_is_answered_like_one_that_does_not_exist(store: Engine) -> None:
    other = service.open_case(store, ANN, "declaration", "DEC-0002", "Not ivan's")
    answers = []
    for case_id in (other, 999):
        with pytest.raises(CaseNotFound) as caught:
            service.get_case(store, IVAN, case_id)
        answers.append(str(caught.value).replace(str(case_id), "N"))
    assert answers == ["no case N", "no case N"]
    for case_id in (other, 999):  # someone who reads no case at all is refused before any lookup
        with pytest.raises(CaseForbidden, match="reading cases needs"):
            service.get_case(store, ADA, case_id)
