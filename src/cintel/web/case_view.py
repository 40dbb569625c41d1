"""What the case pages show, from the case service: one case with what its reader may do (the service's
``rights``) and where each piece of evidence links to. Plain functions on an engine; the router calls
them in a worker thread."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from cintel.cases import service
from cintel.cases.policy import CLOSING_OUTCOMES, CaseRights, rights
from cintel.domain.access import AccessContext
from cintel.domain.codes import CaseItemKind

EVIDENCE_KINDS = [k for k in CaseItemKind if k is not CaseItemKind.NOTE]


def evidence_links(kind: str, ref: str, *, entities: bool = True) -> list[tuple[str, str | None]]:
    """(text, href) for each object an evidence item names, to the page that shows it; entities without
    a link (href None) for a reader whose role may not open them."""
    if kind == CaseItemKind.DECLARATION.value:
        return [(ref, f"/declarations/{ref}")]
    if kind == CaseItemKind.ENTITY.value:
        return [(ref, f"/entities/{ref}" if entities else None)]
    if kind == CaseItemKind.RING.value:
        return [(member, f"/entities/{member}" if entities else None) for member in ref.split(",") if member]
    if kind == CaseItemKind.CONTAINER.value:
        return [(ref, f"/search?q={ref}")]
    return []


@dataclass(frozen=True)
class CaseView:
    """A case and what its reader may do with it."""

    detail: service.CaseDetail
    rights: CaseRights
    users: list[dict[str, str]]

    def links(self, kind: str, ref: str) -> list[tuple[str, str | None]]:
        return evidence_links(kind, ref, entities=self.rights.may_read_entities)

    def context(self) -> dict[str, Any]:
        return {"case": self.detail.case, "evidence": self.detail.evidence, "notes": self.detail.notes,
                "events": self.detail.events, "users": self.users, "rights": self.rights,
                "next_statuses": list(self.rights.next_statuses), "outcomes": CLOSING_OUTCOMES,
                "evidence_kinds": EVIDENCE_KINDS, "links": self.links}


def case_view(engine: Engine, ctx: AccessContext, case_id: int) -> CaseView:
    detail = service.get_case(engine, ctx, case_id)
    allowed = rights(ctx, detail.case)
    return CaseView(detail=detail, rights=allowed,
                    users=service.assignable_users(engine) if allowed.may_work else [])
