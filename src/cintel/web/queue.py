"""The risk queue as the workspace shows it, from what cintel.risk.queue returns: the columns and their
headings, values in a clerk's units (probability in per cent, priority as expected revenue or as a chance,
local times to the minute), and the current view's export as CSV or XLSX.

The queue's queries and assignment live in cintel.risk.queue and the access log in
cintel.store.access_log; their names are re-exported here for the web modules that import them from here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cintel.risk.queue import (
    ASSIGNEE_PATTERN,
    CHAPTER_PATTERN,
    DEFAULT_PAGE_SIZE,
    MAX_ASSIGN,
    MAX_EXPORT,
    MAX_PAGE_SIZE,
    OFFICE_PATTERN,
    ORIGIN_PATTERN,
    RULE_PATTERN,
    SORT_COLUMNS,
    SORT_PATTERN,
    QueueError,
    QueueFilters,
    QueuePage,
    assign,
    count,
    export_rows,
    filter_clauses,
    filter_options,
    get_run,
    inspectors,
    latest_run,
    page_query,
    queue_page,
    recent_runs,
)
from cintel.risk.reasons import WHY_SELECTED, money, percent, priority_meaning
from cintel.spreadsheet import safe_cell
from cintel.store.access_log import record_view

__all__ = [
    "ASSIGNEE_PATTERN", "CHAPTER_PATTERN", "COLUMNS", "DEFAULT_PAGE_SIZE", "MAX_ASSIGN", "MAX_EXPORT",
    "MAX_PAGE_SIZE", "OFFICE_PATTERN", "ORIGIN_PATTERN", "RULE_PATTERN", "SORT_COLUMNS", "SORT_PATTERN",
    "WHY_SELECTED", "QueueError", "QueueFilters", "QueuePage", "assign", "count", "export_csv", "export_filename",
    "export_rows", "export_xlsx", "filter_clauses", "filter_options", "get_run", "inspectors", "latest_run",
    "local_time", "money", "page_query", "percent", "priority_text", "queue_page", "recent_runs", "record_view",
    "view_context",
]


@dataclass(frozen=True)
class Column:
    """A queue column: its key in a row, its heading, and the sort key its heading sorts by (None: not sortable)."""

    key: str
    heading: str
    sort: str | None


COLUMNS = (
    Column("rank", "Rank", "rank"),
    Column("declaration_id", "Declaration", "declaration_id"),
    Column("importer_name", "Importer", "importer"),
    Column("office_code", "Office", "office"),
    Column("main_hs_code", "HS", "hs"),
    Column("main_origin", "Origin", "origin"),
    Column("customs_value", "Value", "value"),
    Column("channel", "Channel", "channel"),
    Column("probability", "Fraud probability", "probability"),
    Column("priority", "Priority", "priority"),
    Column("why", WHY_SELECTED, "why"),
    Column("reasons", "Reasons", None),
    Column("assigned_to", "Assigned to", None),
)


def local_time(value: str | datetime | None) -> str:
    """A stored time (ISO text or datetime, UTC) as the office reads it: local time to the minute."""
    if value is None:
        return "–"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # stored times are UTC (SQLite gives them back naive)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def priority_text(value: float | None, by_value: bool) -> str:
    """A priority in its unit: expected revenue in national currency, or a chance in per cent."""
    if value is None:
        return "–"
    return money(value) if by_value else percent(value, 1)


def hs_text(code: str | None) -> str:
    """A commodity code as clerks write it: 6109100010 -> 6109.10.00.10."""
    if not code:
        return "–"
    return ".".join([code[:4], *[code[i:i + 2] for i in range(4, len(code), 2)]])


def view_context(run: dict[str, Any] | None) -> dict[str, Any]:
    """What every queue template needs to show values in their units."""
    by_value = bool(run and run["priority_by_value"])
    return {"columns": COLUMNS, "percent": percent, "money": money, "local_time": local_time, "hs_text": hs_text,
            "priority_text": lambda v: priority_text(v, by_value), "priority_meaning": priority_meaning(by_value)}


# --- exports ---------------------------------------------------------------------------------------------------------

EXPORT_HEADINGS = ("rank", "declaration", "lodged", "importer", "importer id", "office", "HS", "origin", "items",
                   "customs value", "channel", "fraud probability %", "priority", WHY_SELECTED.lower(), "reasons",
                   "rules hit", "assigned to")


def _export_values(row: dict[str, Any]) -> list[Any]:
    probability = row["probability"]
    return [row["rank"], row["declaration_id"], row["declaration_date"], row["importer_name"], row["importer_id"],
            row["office_code"], row["main_hs_code"], row["main_origin"], row["n_items"],
            None if row["customs_value"] is None else round(row["customs_value"], 2), row["channel"],
            None if probability is None else round(probability * 100, 1), round(row["priority"], 4), row["why"],
            "; ".join(row["reasons"]), ", ".join(row["rule_ids"]), row["assigned_to"]]


def _title(view: QueuePage) -> list[str]:
    assert view.run is not None
    run = view.run
    cut = f" (the first {len(view.rows):,} of {view.total:,})" if view.total > len(view.rows) else ""
    filters = ", ".join(f"{k} {v}" for k, v in view.filters.to_dict().items() if v) or "no filter"
    return [f"risk queue, run {run['run_id']} ({run['kind']}) for {run['run_date']}: {view.total:,} declarations"
            f"{cut}; {filters}; sorted by {view.sort}; priority: {priority_meaning(run['priority_by_value'])}"]


def export_csv(view: QueuePage) -> str:
    """The view as CSV: a title line, the headings, one row per declaration; text a spreadsheet would run as a
    formula is neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([safe_cell(t) for t in _title(view)])
    writer.writerow(EXPORT_HEADINGS)
    for row in view.rows:
        writer.writerow([v if isinstance(v, int | float) else safe_cell(v) for v in _export_values(row)])
    return out.getvalue()


def export_xlsx(view: QueuePage) -> bytes:
    """The view as an Excel workbook: one sheet, the title, the headings, numbers as numbers; text is always
    written as text (never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet("queue")
    sheet.append(_title(view))
    sheet.append(list(EXPORT_HEADINGS))
    for row in view.rows:
        cells = []
        for value in _export_values(row):
            if value is None or isinstance(value, int | float):
                cells.append(value)
                continue
            cell = WriteOnlyCell(sheet, value=safe_cell(value))
            cell.data_type = "s"  # openpyxl would otherwise store text starting with "=" as a formula
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def export_filename(view: QueuePage, extension: str) -> str:
    assert view.run is not None
    return f"risk-queue-run-{view.run['run_id']}-{view.run['run_date']}.{extension}"
