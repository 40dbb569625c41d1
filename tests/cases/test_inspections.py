"""Recording inspections: only the assigned inspector (or a supervisor with a reason), one current record
per declaration, corrections that supersede visibly, and only what the rules accepted reaching training."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.exc import IntegrityError

from cintel.cases import inspections
from cintel.cases.inspections import (
    InspectionConflict,
    InspectionForbidden,
    InspectionInput,
    InspectionNotFound,
    InspectionRejected,
    RecordStatus,
)
from cintel.domain.records import RecordKind
from cintel.ingest.rows_in import ingest_rows
from cintel.risk.features_history import labels
from cintel.store.case_tables import inspection_assignments, inspection_records
from cintel.store.frames import load_inspections
from tests.cases.conftest import ANN, IVAN, SUE, ctx

INES = ctx("ines", "inspector")
FOUND = InspectionInput(outcome="undervaluation", channel="red", inspection_date=date(2025, 7, 1),
                        findings="invoice shows twice the declared value", additional_duty=1200.0)
CLEAR = InspectionInput(outcome="no_finding", channel="yellow", inspection_date=date(2025, 7, 1))


def assign(engine: Engine, declaration_id: str, inspector: str, run_id: int = 1) -> None:
    """The declaration assigned to ``inspector`` in run ``run_id`` (re-assigning replaces), as the queue does."""
    a = inspection_assignments
    with engine.begin() as conn:
        conn.execute(delete(a).where(a.c.run_id == run_id, a.c.declaration_id == declaration_id))
        conn.execute(insert(a).values(run_id=run_id, declaration_id=declaration_id, inspector=inspector,
                                      assigned_by="tom", assigned_at=datetime.now(UTC)))


def with_(given: InspectionInput, **changes: Any) -> InspectionInput:
    return given.model_copy(update=changes)


def records(engine: Engine, declaration_id: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return inspections.declaration_records(conn, declaration_id)


def counted(engine: Engine) -> list[str]:
    return sorted(load_inspections(engine)["inspection_id"].to_list())


# ---- who records ---------------------------------------------------------------------------------------------

def test_the_assigned_inspector_records_the_inspection(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    done = inspections.record(store, IVAN, "DEC-0001", FOUND)
    [row] = records(store, "DEC-0001")
    assert row["inspection_id"] == done.inspection_id
    assert (row["status"], row["recorded_by"], row["inspector_id"], row["outcome"]) == (
        "current", "ivan", "ivan", "undervaluation")
    assert counted(store) == [done.inspection_id]


@pytest.mark.parametrize("assigned_to", ["ines", None])
def test_an_inspector_may_not_record_a_declaration_assigned_to_someone_else_or_to_no_one(
        store: Engine, assigned_to: str | None) -> None:
    if assigned_to:
        assign(store, "DEC-0001", assigned_to)
    with pytest.raises(InspectionForbidden, match="assigned to ines" if assigned_to else "not assigned to any"):
        inspections.record(store, IVAN, "DEC-0001", FOUND)
    assert records(store, "DEC-0001") == []  # refused before anything is stored


def test_the_latest_assignment_decides_who_records(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan", run_id=1)
    assign(store, "DEC-0001", "ines", run_id=2)  # a later run gave it to ines
    with pytest.raises(InspectionForbidden, match="assigned to ines"):
        inspections.record(store, IVAN, "DEC-0001", FOUND)
    assert inspections.record(store, INES, "DEC-0001", FOUND).inspection_id


@pytest.mark.parametrize("who", [ANN, ctx("ada", "administrator")])
def test_only_inspectors_and_supervisors_record(store: Engine, who: Any) -> None:
    assign(store, "DEC-0001", who.user)
    with pytest.raises(InspectionForbidden, match="needs the role inspector or supervisor"):
        inspections.record(store, who, "DEC-0001", FOUND)


def test_a_supervisor_records_in_place_of_the_inspector_only_with_a_reason(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    with pytest.raises(InspectionRejected, match="reason: say why you record it in place of ivan"):
        inspections.record(store, SUE, "DEC-0001", FOUND)
    done = inspections.record(store, SUE, "DEC-0001", with_(FOUND, reason="ivan is on leave, I was there"))
    [row] = records(store, "DEC-0001")
    assert (row["inspection_id"], row["recorded_by"], row["reason"]) == (
        done.inspection_id, "sue", "ivan is on leave, I was there")
    with store.connect() as conn:
        assert conn.execute(select(inspection_records.c.assigned_to)).scalar_one() == "ivan"


def test_an_unknown_declaration_is_not_found(store: Engine) -> None:
    with pytest.raises(InspectionNotFound, match="no declaration 'DEC-9999'"):
        inspections.record(store, SUE, "DEC-9999", with_(FOUND, reason="no such thing"))


def test_a_bad_record_is_refused_field_by_field(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    with pytest.raises(InspectionRejected) as refused:
        inspections.record(store, IVAN, "DEC-0001", with_(FOUND, inspection_date=date(1900, 1, 1)))
    assert refused.value.problems[0]["field"] == "inspection_date"
    assert refused.value.field == "inspection_date"
    assert counted(store) == []


# ---- one current record; corrections supersede -------------------------------------------------------------

def test_a_second_record_is_refused_unless_it_corrects_the_first(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    first = inspections.record(store, IVAN, "DEC-0001", FOUND)
    with pytest.raises(InspectionConflict, match=f"already has its inspection recorded: {first.inspection_id}") \
            as refused:
        inspections.record(store, IVAN, "DEC-0001", CLEAR)
    assert refused.value.field == "corrects"
    with pytest.raises(InspectionRejected, match="reason: say why it is corrected"):
        inspections.record(store, IVAN, "DEC-0001", with_(CLEAR, corrects=first.inspection_id))
    with pytest.raises(InspectionConflict, match="'WEB-nope' is not a current inspection record"):
        inspections.record(store, IVAN, "DEC-0001", with_(CLEAR, corrects="WEB-nope", reason="typo"))
    assert [r["inspection_id"] for r in records(store, "DEC-0001")] == [first.inspection_id]


def test_a_correction_supersedes_the_earlier_record_which_stays_visible(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    first = inspections.record(store, IVAN, "DEC-0001", FOUND)
    second = inspections.record(store, IVAN, "DEC-0001",
                                with_(CLEAR, corrects=first.inspection_id, reason="the invoice was a pro forma"))
    assert second.supersedes == first.inspection_id
    by_id = {r["inspection_id"]: r for r in records(store, "DEC-0001")}
    old, new = by_id[first.inspection_id], by_id[second.inspection_id]
    assert old["status"] == RecordStatus.SUPERSEDED.value
    assert (old["superseded_by"], old["superseded_by_user"], old["superseded_because"]) == (
        second.inspection_id, "ivan", "the invoice was a pro forma")
    assert old["superseded_at"] == new["recorded_at"]
    assert (new["status"], new["supersedes"]) == ("current", first.inspection_id)
    with pytest.raises(InspectionConflict, match="is not a current inspection record"):  # corrected only once
        inspections.record(store, SUE, "DEC-0001", with_(FOUND, corrects=first.inspection_id, reason="again"))


def test_training_reads_only_the_current_record_of_each_declaration(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    first = inspections.record(store, IVAN, "DEC-0001", FOUND)
    second = inspections.record(store, IVAN, "DEC-0001",
                                with_(CLEAR, corrects=first.inspection_id, reason="the invoice was a pro forma"))
    assert counted(store) == [second.inspection_id]
    [label] = labels(load_inspections(store)).to_dicts()
    assert (label["declaration_id"], label["is_fraud"], label["additional_duty"]) == ("DEC-0001", False, 0.0)


def test_the_operations_figures_count_only_the_current_record(store: Engine) -> None:
    """The hit rates and the intake chart read outcomes as training does: a corrected record drops out."""
    from cintel.risk.operations import hits
    from cintel.store.stats import intake

    assign(store, "DEC-0001", "ivan")
    first = inspections.record(store, IVAN, "DEC-0001", FOUND)
    inspections.record(store, IVAN, "DEC-0001", with_(CLEAR, corrects=first.inspection_id, reason="pro forma"))
    week = hits(store, CLEAR.inspection_date)["windows"][0]
    assert (week["inspections"], week["hits"], week["additional_duty"]) == (1, 0, 0.0)
    [today] = [d for d in intake(store, CLEAR.inspection_date)["series"] if d["day"] == "2025-07-01"]
    assert (today["inspections"], today["hits"]) == (1, 0)


def test_ingested_files_still_count_and_workspace_rows_outside_the_rules_do_not(store: Engine) -> None:
    file_row = {"inspection_id": "FILE-1", "declaration_id": "DEC-0002", "inspection_date": "2025-07-01",
                "channel": "red", "outcome": "misclassification", "inspector_id": "i-17"}
    assert ingest_rows(store, RecordKind.INSPECTIONS, [file_row], source="inspections-2025.csv").rows_stored == 1
    # As the workspace stored them before the rules: any inspector, no record of who was allowed.
    legacy = {**file_row, "inspection_id": "WEB-legacy", "declaration_id": "DEC-0001", "outcome": "no_finding"}
    assert ingest_rows(store, RecordKind.INSPECTIONS, [legacy], source="web:ivan").rows_stored == 1
    assert counted(store) == ["FILE-1"]
    assert [r["status"] for r in records(store, "DEC-0001")] == ["not_accepted"]
    assert [(r["status"], r["recorded_by"]) for r in records(store, "DEC-0002")] == [("current", None)]
    # A file's record is corrected like any other: the correction supersedes it.
    done = inspections.record(store, SUE, "DEC-0002", with_(FOUND, corrects="FILE-1", reason="re-weighed"))
    assert counted(store) == [done.inspection_id]


def test_a_record_made_at_the_same_moment_as_another_is_kept_but_not_accepted(
        store: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    assign(store, "DEC-0001", "ivan")
    real_ingest = inspections.ingest_rows
    others: list[str] = []

    def ingest_while_the_supervisor_records(*args: Any, **kwargs: Any) -> Any:
        report = real_ingest(*args, **kwargs)
        if not others:  # between ivan's checks and his acceptance, sue records the same declaration
            monkeypatch.setattr(inspections, "ingest_rows", real_ingest)
            others.append(inspections.record(store, SUE, "DEC-0001", with_(CLEAR, reason="I was there")).inspection_id)
        return report

    monkeypatch.setattr(inspections, "ingest_rows", ingest_while_the_supervisor_records)
    with pytest.raises(InspectionConflict, match="already has its inspection recorded"):
        inspections.record(store, IVAN, "DEC-0001", FOUND)
    statuses = {r["recorded_by"] or r["inspector_id"]: r["status"] for r in records(store, "DEC-0001")}
    assert statuses == {"sue": "current", "ivan": "not_accepted"}
    assert counted(store) == others


def test_two_records_cannot_take_the_same_place(store: Engine) -> None:
    row = {"declaration_id": "DEC-0001", "sequence": 1, "recorded_by": "ivan", "recorded_at": datetime.now(UTC)}
    with store.begin() as conn:
        conn.execute(insert(inspection_records).values(inspection_id="WEB-a", **row))
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(insert(inspection_records).values(inspection_id="WEB-b", **row))


# ---- what the form may offer -----------------------------------------------------------------------------------

def test_rights_say_what_the_form_offers(store: Engine) -> None:
    assign(store, "DEC-0001", "ivan")
    mine = inspections.recording_rights(store, IVAN, "DEC-0001")
    assert (mine.allowed, mine.needs_reason, mine.correcting) == (True, False, False)
    assert inspections.recording_rights(store, SUE, "DEC-0001").needs_reason
    refused = inspections.recording_rights(store, INES, "DEC-0001")
    assert not refused.allowed
    assert "assigned to ivan" in (refused.refusal or "")
    inspections.record(store, IVAN, "DEC-0001", FOUND)
    again = inspections.recording_rights(store, IVAN, "DEC-0001")
    assert (again.correcting, again.needs_reason) == (True, True)
