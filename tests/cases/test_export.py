"""Case exports: a CSV that round-trips and cannot run formulas, a PDF with the case, its pictures and
its marking, and pictures drawn from the workspace's network and routes."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib

import pytest

from cintel.cases import service
from cintel.cases.export import HANDLING, NETWORK_WITHHELD, case_csv, case_pdf, export_filename, export_pdf, safe_cell
from cintel.cases.figures import case_figures, graph_png, map_png
from cintel.domain.access import AccessContext
from tests.cases.conftest import HOSTILE
from tests.conftest import Workspace

ANALYST = AccessContext(user="demo-analyst", purpose="export tests", roles=frozenset({"analyst"}))
PNG = b"\x89PNG\r\n\x1a\n"


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type /Page\b(?!s)", pdf))


def pdf_text(pdf: bytes) -> str:
    """The strings drawn in the PDF's page content streams (reportlab writes them ASCII85 over Flate and
    splits a line into several Tj strings at markup-like characters), joined."""
    shown = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            content = zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>"))).decode("latin-1")
        except (ValueError, zlib.error):
            continue  # an image
        shown += re.findall(r"\(((?:[^()\\]|\\.)*)\) Tj", content)
    return re.sub(r"\\(.)", r"\1", "".join(shown))


def pictures(pdf: bytes) -> int:
    """Images drawn in the PDF: image objects, less the soft masks of transparent PNGs (one object, shared by
    the images whose masks are the same)."""
    return pdf.count(b"/Subtype /Image") - len(set(re.findall(rb"/SMask (\d+) 0 R", pdf)))


def ring_members(workspace: Workspace) -> list[str]:
    evidence = workspace.demo["entities"]["rings"][0]["evidence"]
    members = {row[side] for row in evidence for side in ("company_a", "company_b")}
    return sorted(m.removeprefix("entity:") for m in members)


def hostile_case(workspace: Workspace) -> service.CaseDetail:
    declaration = workspace.demo["targeting"]["red_list"][0]["declaration_id"]
    case_id = service.open_case(workspace.engine, ANALYST, "declaration", declaration, HOSTILE[:200], HOSTILE)
    service.add_evidence(workspace.engine, ANALYST, case_id, "ring", ",".join(ring_members(workspace)), HOSTILE)
    service.add_note(workspace.engine, ANALYST, case_id, "=1+1")
    service.add_note(workspace.engine, ANALYST, case_id, "@SUM(A1), +1, -1 and \"quoted\",\nline two")
    return service.get_case(workspace.engine, ANALYST, case_id)


@pytest.mark.parametrize(("value", "shown"), [("=1+1", "'=1+1"), ("+31 20", "'+31 20"), ("-1", "'-1"),
                                              ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("plain", "plain"),
                                              (None, ""), (3, "3"),
                                              # Unicode lookalikes a spreadsheet reads as the plain characters,
                                              # and invisible format characters before one
                                              ("\uff1d1+1", "'\uff1d1+1"), ("\ufe66cmd", "'\ufe66cmd"),
                                              ("\uff0b31", "'\uff0b31"), ("\uff0d1", "'\uff0d1"),
                                              ("\uff20SUM(A1)", "'\uff20SUM(A1)"), ("\u200b=1", "'\u200b=1"),
                                              ("\ufeff=1", "'\ufeff=1"), ("\uff41bc", "\uff41bc")])
def test_cells_a_spreadsheet_would_run_are_quoted(value: object, shown: str) -> None:
    assert safe_cell(value) == shown


def test_the_csv_round_trips_with_a_section_per_row(workspace: Workspace) -> None:
    case = hostile_case(workspace)
    rows = list(csv.reader(io.StringIO(case_csv(case))))
    header, body = rows[0], rows[1:]
    assert header[:4] == ["section", "id", "kind", "ref"]
    assert [r[0] for r in body] == ["case"] + ["item"] * len(case.items) + ["event"] * len(case.events)
    by = dict(zip(header, body[0], strict=True))
    assert by["title"] == HOSTILE  # '=' inside a cell is harmless: kept as written
    assert by["text"] == HOSTILE
    notes = [dict(zip(header, r, strict=True))["text"] for r in body if r[2] == "note" and r[0] == "item"]
    assert notes == ["'=1+1", "'@SUM(A1), +1, -1 and \"quoted\",\nline two"]
    cells = [cell for r in body for cell in r]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)


def test_the_pdf_holds_the_case_its_pictures_page_numbers_and_marking(workspace: Workspace) -> None:
    case = hostile_case(workspace)
    figures = case_figures(workspace.engine, case)
    assert figures.graph_nodes > len(ring_members(workspace))  # the ring and its neighbours
    assert figures.routes == 1
    pdf = case_pdf(case, figures.graph_png, figures.map_png, exported_by="demo-analyst", purpose="court file")
    assert pdf.startswith(b"%PDF")
    assert pdf_pages(pdf) >= 2
    assert pdf.count(b"/Subtype /Image") >= 2
    text = pdf_text(pdf)
    assert HANDLING in text
    assert "Page 1" in text
    assert "Page 2" in text
    # The hostile title is shown as its characters (escaped by us, drawn literally by reportlab), never as markup.
    assert "<b>bold</b>" in text
    assert "<script>alert(1)</script>" in text
    assert len(pdf) > 10_000


def test_a_case_without_entities_or_routes_gets_pictures_saying_so() -> None:
    import polars as pl

    empty = pl.DataFrame(schema={"node_id": pl.String, "kind": pl.String, "label": pl.String})
    edges = pl.DataFrame(schema={"src": pl.String, "dst": pl.String, "kind": pl.String})
    for png in (graph_png(empty, edges, set()), map_png([])):
        assert png.startswith(PNG)


def test_labels_with_dollar_signs_are_drawn_as_text() -> None:
    import polars as pl

    nodes = pl.DataFrame({"node_id": ["entity:A", "phone:1"], "kind": ["company", "phone"],
                          "label": ["$\\frac{x$ & <b>", None]})
    edges = pl.DataFrame({"src": ["entity:A"], "dst": ["phone:1"], "kind": ["has_phone"]})
    assert graph_png(nodes, edges, {"entity:A"}).startswith(PNG)  # unbalanced mathtext would raise
    route = {"declaration_id": "D", "from": ("$x", 31.2, 121.5), "to": ("NLRTM", 51.9, 4.1)}
    assert map_png([route]).startswith(PNG)


def test_export_file_names_are_safe(workspace: Workspace) -> None:
    case = hostile_case(workspace)
    name = export_filename(case, "pdf")
    assert re.fullmatch(r"case-\d+-[a-z0-9-]+\.pdf", name), name


def test_a_note_longer_than_a_page_goes_on_over_the_next_pages(workspace: Workspace) -> None:
    declaration = workspace.demo["targeting"]["red_list"][0]["declaration_id"]
    case_id = service.open_case(workspace.engine, ANALYST, "declaration", declaration, "Long notes")
    for note in ("word " * 2_000, "x" * service.TEXT_MAX):  # words, and one word wider than the page
        service.add_note(workspace.engine, ANALYST, case_id, note)
    case = service.get_case(workspace.engine, ANALYST, case_id)
    pdf = case_pdf(case, map_png([]), map_png([]))
    assert pdf_pages(pdf) >= 3
    assert "word word word" in pdf_text(pdf)


def test_the_network_is_left_out_for_a_role_that_may_not_read_it(workspace: Workspace) -> None:
    inspector, _ = workspace.user("inspector")
    case = hostile_case(workspace)
    case_id = case.case["case_id"]
    service.assign(workspace.engine, ANALYST, case_id, inspector)
    reader = AccessContext(user=inspector, purpose="export tests", roles=frozenset({"inspector"}))
    withheld = export_pdf(workspace.engine, reader, case_id).content
    assert pictures(withheld) == 1  # the route map only
    assert NETWORK_WITHHELD[:40] in pdf_text(withheld)
    assert pictures(export_pdf(workspace.engine, ANALYST, case_id).content) == 2
