"""The one base class for errors a user can act on: the CLI prints the message and exits 2, the
API turns it into a problem document. Anything else is a bug."""

from __future__ import annotations


class CintelError(Exception):
    """An error whose message is all the user needs."""
