"""The formula-injection guard every CSV export uses: a cell a spreadsheet would run, Unicode lookalikes and
leading invisible characters included, is quoted; anything else is left as written."""

from __future__ import annotations

import pytest

from cintel.spreadsheet import formula_like, safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+31", "-1", "@SUM(A1)", "\tx", "\rx",
                                  "\uff1d1+1", "\ufe66cmd", "\uff0b31", "\ufe62x", "\uff0d1", "\ufe63x", "\uff20SUM",
                                  "\u200b=1", "\ufeff@x", "\u200e\u200f+1"])
def test_formula_like_cells_are_quoted(text: str) -> None:
    assert formula_like(text)
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["", "plain", "a=b", " =1", "\uff41bc", "\u2212 1", "'=already quoted"])
def test_other_cells_are_left_as_written(text: str) -> None:
    assert not formula_like(text)
    assert safe_cell(text) == text


def test_values_that_are_not_text_become_text() -> None:
    assert (safe_cell(None), safe_cell(3), safe_cell(-2.5)) == ("", "3", "'-2.5")
