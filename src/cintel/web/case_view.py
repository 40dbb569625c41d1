"""What the case pages show, assembled from the case service: the list with its filters, one case with
the forms its reader may use, and the export files. Plain functions on an engine; the router calls them
in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from cintel.cases import service
from cintel.cases.export import case_csv, case_pdf, export_filename
from cintel.cases.figures import case_figures
from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseItemKind, CaseStatus
from cintel.domain.roles import Role

EVIDENCE_KINDS = [k for k in CaseItemKind if k is not CaseItemKind.NOTE]


def evidence_links(kind: str, ref: str) -> list[tuple[str, str]]:
    """(text, href) for each object an evidence item names, to the page that shows it."""
    if kind == CaseItemKind.DECLARATION.value:
        return [(ref, f"/declarations/{ref}")]
    if kind == CaseItemKind.ENTITY.value:
        return [(ref, f"/entities/{ref}")]
    if kind == CaseItemKind.RING.value:
        return [(member, f"/entities/{member}") for member in ref.split(",") if member]
    if kind == CaseItemKind.CONTAINER.value:
        return [(ref, f"/search?q={ref}")]
    return []


@dataclass(frozen=True)
class CaseView:
    """A case and what its reader may do with it."""

    detail: service.CaseDetail
    users: list[dict[str, str]]
    next_statuses: list[CaseStatus]
    can_work: bool
    can_close: bool

    def context(self) -> dict[str, Any]:
        return {"case": self.detail.case, "evidence": self.detail.evidence, "notes": self.detail.notes,
                "events": self.detail.events, "users": self.users, "next_statuses": self.next_statuses,
                "can_work": self.can_work, "can_close": self.can_close, "outcomes": service.CLOSING_OUTCOMES,
                "evidence_kinds": EVIDENCE_KINDS, "links": evidence_links}


def case_view(engine: Engine, ctx: AccessContext, case_id: int) -> CaseView:
    detail = service.get_case(engine, ctx, case_id)
    case = detail.case
    can_work = service.is_worker(ctx)
    can_close = can_work and (Role.SUPERVISOR.value in ctx.roles or case["assigned_to"] == ctx.user)
    allowed = service.TRANSITIONS[CaseStatus(case["status"])]
    next_statuses = [s for s in CaseStatus if s in allowed and (s is not CaseStatus.CLOSED or can_close)]
    return CaseView(detail=detail, users=service.assignable_users(engine) if can_work else [],
                    next_statuses=next_statuses if can_work else [], can_work=can_work, can_close=can_close)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes


def export_csv(engine: Engine, ctx: AccessContext, case_id: int) -> ExportFile:
    detail = service.get_case(engine, ctx, case_id)
    # UTF-8 with a byte-order mark: spreadsheets then read non-ASCII names correctly.
    return ExportFile(export_filename(detail, "csv"), "text/csv; charset=utf-8",
                      case_csv(detail).encode("utf-8-sig"))


def export_pdf(engine: Engine, ctx: AccessContext, case_id: int) -> ExportFile:
    detail = service.get_case(engine, ctx, case_id)
    figures = case_figures(engine, detail)
    pdf = case_pdf(detail, figures.graph_png, figures.map_png, exported_by=ctx.user, purpose=ctx.purpose)
    return ExportFile(export_filename(detail, "pdf"), "application/pdf", pdf)
