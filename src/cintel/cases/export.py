"""A case as files to hand on: one CSV (the case, its items and its events, a ``section`` column saying
which) and a PDF report (title, status, summary, evidence, notes, history, the network and the route map,
page numbers and a handling marking on every page).

An export shows what its reader may read: the network picture (names, phones, accounts of the parties
around the case) only to a role that may read the network (``cintel.domain.permissions``, the rule of
the network pages).

Everything in them was typed by someone, so it is treated as hostile: CSV cells that a spreadsheet
would run as a formula are prefixed with a quote (``cintel.spreadsheet.safe_cell``), and PDF text is
XML-escaped before it reaches reportlab's Paragraph markup. Table rows split across pages, so a note of
any length fits.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import Engine

from cintel.cases.figures import case_figures, case_routes, map_png
from cintel.cases.policy import CLOSING_OUTCOMES, may_read_network
from cintel.cases.service import CaseDetail, get_case
from cintel.domain.access import AccessContext
from cintel.spreadsheet import safe_cell

HANDLING = "RESTRICTED - customs use only"
"""The handling marking printed on every page of an export (no setting holds one yet)."""
CSV_COLUMNS = ("section", "id", "kind", "ref", "title", "text", "status", "outcome", "assigned_to", "user", "at")
IMAGE_WIDTH = 170 * mm
NETWORK_WITHHELD = ("Not included: the network shows the parties around the case (names, identifiers, phones, "
                    "accounts), which your role may not read.")


def case_csv(case: CaseDetail) -> str:
    """The case as one CSV: a ``case`` row, then an ``item`` row per evidence item or note, then an ``event``
    row per history entry; quoted as needed, formulas neutralised."""
    c = case.case
    rows: list[dict[str, Any]] = [{
        "section": "case", "id": c["case_id"], "kind": c["origin_kind"], "ref": c["origin_ref"], "title": c["title"],
        "text": c["summary"], "status": c["status"], "outcome": c["outcome"], "assigned_to": c["assigned_to"],
        "user": c["created_by"], "at": c["created_at"]}]
    rows += [{"section": "item", "id": i["item_id"], "kind": i["kind"], "ref": i["ref"], "text": i["note"],
              "user": i["added_by"], "at": i["added_at"]} for i in case.items]
    rows += [{"section": "event", "id": e["event_id"], "kind": e["kind"], "text": e["text"], "user": e["username"],
              "at": e["at"]} for e in case.events]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([safe_cell(row.get(col)) for col in CSV_COLUMNS])
    return out.getvalue()


def export_filename(case: CaseDetail, extension: str) -> str:
    """``case-<id>-<title slug>.<ext>``: ASCII letters, digits and '-' only, safe in any header or file system."""
    slug = re.sub(r"[^a-z0-9]+", "-", case.case["title"].lower()).strip("-")[:40].strip("-")
    return f"case-{case.case['case_id']}{'-' + slug if slug else ''}.{extension}"


def _p(text: Any, style: ParagraphStyle) -> Paragraph:
    """A paragraph of plain text: escaped, so '<b>' or '&' in user input is shown, never parsed."""
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


def _table(header: list[str], rows: list[list[Any]], widths: list[float], style: ParagraphStyle) -> Table:
    cells = [[_p(h, style) for h in header], *[[_p(v, style) for v in r] for r in rows]]
    # splitInRow: a row taller than a page (a long note) goes on over the next page instead of failing.
    table = Table(cells, colWidths=widths, repeatRows=1, splitInRow=1)
    table.setStyle(TableStyle([
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#9e9e9e")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    return table


def _image(png: bytes) -> Image:
    image = Image(io.BytesIO(png))
    scale = IMAGE_WIDTH / image.imageWidth
    image.drawWidth, image.drawHeight = IMAGE_WIDTH, image.imageHeight * scale
    return image


def case_pdf(case: CaseDetail, graph_png: bytes | None, routes_png: bytes, *, handling: str = HANDLING,
             exported_by: str = "", purpose: str = "") -> bytes:
    """The case report as PDF bytes (A4); without ``graph_png`` the network section says it is withheld."""
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], ParagraphStyle("small", parent=styles["BodyText"], fontSize=8, leading=10)
    c = case.case
    outcome = c["outcome"]
    story: list[Any] = [
        _p(f"Case {c['case_id']}: {c['title']}", styles["Title"]),
        _p(f"Status: {c['status']}" + (f" - outcome: {outcome} ({CLOSING_OUTCOMES.get(outcome, '')})"
                                       if outcome else ""), body),
        _p(f"Opened from {c['origin_kind']} {c['origin_ref']} by {c['created_by']} on {c['created_at']}; "
           f"assigned to {c['assigned_to'] or 'nobody'}; last changed {c['updated_at']}.", body),
        _p(f"Exported by {exported_by} for: {purpose}" if exported_by else "", small),
        Spacer(1, 4 * mm), _p("Summary", styles["Heading2"]), _p(c["summary"] or "(none)", body),
        _p("Evidence", styles["Heading2"]),
        _table(["Kind", "Reference", "Why", "Added by", "Added at"],
               [[i["kind"], i["ref"], i["note"], i["added_by"], i["added_at"]] for i in case.evidence],
               [22 * mm, 40 * mm, 58 * mm, 22 * mm, 28 * mm], small),
        _p("Notes", styles["Heading2"]),
        (_table(["Note", "By", "At"], [[n["note"], n["added_by"], n["added_at"]] for n in case.notes],
                [120 * mm, 22 * mm, 28 * mm], small) if case.notes else _p("(none)", body)),
        _p("History", styles["Heading2"]),
        _table(["At", "Kind", "By", "What"], [[e["at"], e["kind"], e["username"], e["text"]] for e in case.events],
               [28 * mm, 18 * mm, 22 * mm, 102 * mm], small),
        _p("Network", styles["Heading2"]), _image(graph_png) if graph_png else _p(NETWORK_WITHHELD, body),
        _p("Routes", styles["Heading2"]), _image(routes_png),
    ]

    def decorate(canvas: Canvas, doc: Any) -> None:
        # Drawn straight on the canvas: plain strings, no markup parsed.
        canvas.saveState()
        canvas.setFont("Helvetica-Bold", 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, handling)
        canvas.drawCentredString(A4[0] / 2, A4[1] - 10 * mm, handling)
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(A4[0] - 20 * mm, 10 * mm, f"Page {doc.page}")
        canvas.drawString(20 * mm, 10 * mm, f"cintel case {c['case_id']}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=20 * mm, rightMargin=20 * mm, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=f"Case {c['case_id']}", author="cintel",
                            subject=handling)
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return buffer.getvalue()


@dataclass(frozen=True)
class ExportFile:
    filename: str
    media_type: str
    content: bytes


def export_csv(engine: Engine, ctx: AccessContext, case_id: int) -> ExportFile:
    """The case as a CSV file for ``ctx`` (who must be allowed to read it)."""
    detail = get_case(engine, ctx, case_id)
    # UTF-8 with a byte-order mark: spreadsheets then read non-ASCII names correctly.
    return ExportFile(export_filename(detail, "csv"), "text/csv; charset=utf-8",
                      case_csv(detail).encode("utf-8-sig"))


def export_pdf(engine: Engine, ctx: AccessContext, case_id: int) -> ExportFile:
    """The case report as a PDF file for ``ctx``: the network picture only if their role reads the network."""
    detail = get_case(engine, ctx, case_id)
    if may_read_network(ctx):
        figures = case_figures(engine, detail)
        graph, routes = figures.graph_png, figures.map_png
    else:
        graph, routes = None, map_png(case_routes(engine, detail),
                                      f"Routes of case {detail.case['case_id']}'s declarations")
    pdf = case_pdf(detail, graph, routes, exported_by=ctx.user, purpose=ctx.purpose)
    return ExportFile(export_filename(detail, "pdf"), "application/pdf", pdf)
