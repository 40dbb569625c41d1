"""Day windows as people give them (a first and a last day, both included, as YYYY-MM-DD text) and as
the services take them (half-open [start, end)). Shared by the command line and the web forms, which
name the two bounds their own way (``--from``/``--to``, ``from``/``to``)."""

from __future__ import annotations

from datetime import date, timedelta

from cintel.errors import CintelError


class WindowError(CintelError):
    """A day or a window that is not one: not YYYY-MM-DD, or ending before it starts."""


def parse_day(value: str | None, label: str) -> date | None:
    """A YYYY-MM-DD value as a date (None stays None); label names the field in the error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise WindowError(f"{label} '{value}' is not a YYYY-MM-DD date") from None


def parse_window(start: str | None, end: str | None, labels: tuple[str, str] = ("--from", "--to")
                 ) -> tuple[date | None, date | None]:
    """The first and last days (both included; None leaves that side open) as the half-open [start, end)."""
    first, last = parse_day(start, labels[0]), parse_day(end, labels[1])
    if first and last and last < first:
        raise WindowError(f"{labels[1]} {last} is before {labels[0]} {first}")
    if last is None or last == date.max:  # the last day there is: nothing lies after it, the window is open
        return first, None
    return first, last + timedelta(days=1)
