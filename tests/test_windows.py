"""Day windows from people's text: both days included in, half-open out; a clear error for anything else."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cintel.windows import WindowError, parse_day, parse_window


def test_a_window_includes_its_last_day_and_open_sides_stay_open() -> None:
    assert parse_window("2025-01-01", "2025-01-31") == (date(2025, 1, 1), date(2025, 2, 1))
    assert parse_window(None, "2025-01-31") == (None, date(2025, 2, 1))
    assert parse_window("2025-01-01", None) == (date(2025, 1, 1), None)
    assert parse_window("2025-01-01", "2025-01-01") == (date(2025, 1, 1), date(2025, 1, 2))
    assert parse_window("2025-01-01", "9999-12-31") == (date(2025, 1, 1), None)  # no day after it to end on


@pytest.mark.parametrize(("start", "end", "message"), [
    ("2025-13-45", None, "from '2025-13-45' is not a YYYY-MM-DD date"),
    (None, "yesterday", "to 'yesterday' is not a YYYY-MM-DD date"),
    ("2025-03-01", "2025-02-01", "to 2025-02-01 is before from 2025-03-01"),
])
def test_bad_windows_name_the_field_as_the_caller_calls_it(start: str | None, end: str | None,
                                                          message: str) -> None:
    with pytest.raises(WindowError, match=message):
        parse_window(start, end, ("from", "to"))
    with pytest.raises(WindowError, match="--"):
        parse_window(start, end)


@given(st.one_of(st.text(max_size=40), st.dates().map(date.isoformat)))
def test_any_text_is_a_day_or_a_window_error(text: str) -> None:
    try:
        expected = date.fromisoformat(text)
    except ValueError:
        with pytest.raises(WindowError, match="is not a YYYY-MM-DD date"):
            parse_day(text, "day")
    else:
        assert parse_day(text, "day") == expected


@given(st.dates(), st.dates())
def test_a_parsed_window_holds_exactly_the_days_between(first: date, last: date) -> None:
    if last < first:
        with pytest.raises(WindowError):
            parse_window(first.isoformat(), last.isoformat())
    else:
        start, end = parse_window(first.isoformat(), last.isoformat())
        assert start == first
        if last == date.max:
            assert end is None
        else:
            assert end is not None
            assert end - timedelta(days=1) == last
