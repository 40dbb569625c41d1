"""Who is asking, and why: passed to every read or export of sensitive data.

Access policy and the tamper-evident audit log are enforced later in one place, on this
context, without changing the callers.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

# The purposes an officer usually states for a consultation, offered as a list beside free text: the same
# words for the same reason make the access log searchable.
STANDARD_PURPOSES = (
    "risk queue triage",
    "pre-arrival targeting",
    "inspection preparation",
    "inspection outcome recording",
    "case investigation",
    "network analysis",
    "watch-list hit review",
    "rule development and backtest",
    "partner agency request",
    "quality and audit review",
)


@dataclass(frozen=True)
class AccessContext:
    user: str
    purpose: str
    roles: frozenset[str] = field(default_factory=frozenset)


def local_operator(purpose: str) -> AccessContext:
    """The context of a person running the command line on this machine."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return AccessContext(user=user, purpose=purpose, roles=frozenset({"operator"}))
