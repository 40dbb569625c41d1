"""Cells a spreadsheet shows as text: the one guard against formula injection for every CSV cintel writes.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return
before one) as a formula (OWASP, "CSV injection"). Spreadsheets also read the Unicode lookalikes of
those characters (fullwidth ``＝``, small ``﹦``, ...) as the characters they look like, and ignore
invisible format characters before them, so the check is made on the text as NFKC normalises it,
without its leading format characters (zero-width space, byte-order mark, direction marks).
"""

from __future__ import annotations

import unicodedata
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


def formula_like(text: str) -> bool:
    """Whether a spreadsheet could take ``text`` for a formula."""
    start = 0
    while start < len(text) and unicodedata.category(text[start]) == "Cf":
        start += 1
    # The first character decides; NFKC turns one lookalike into one or more plain characters.
    return unicodedata.normalize("NFKC", text[start:start + 1]).startswith(FORMULA_START)


def safe_cell(value: Any) -> str:
    """The value as CSV cell text; a formula-like value gets a leading quote, so it is shown, never run."""
    text = "" if value is None else str(value)
    return QUOTE + text if formula_like(text) else text
