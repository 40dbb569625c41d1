"""Who is asking, and why: passed to every read or export of sensitive data.

Access policy and the tamper-evident audit log are enforced later in one place, on this
context, without changing the callers.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass, field

from cintel.domain.roles import Role

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


def as_roles(codes: Iterable[str]) -> frozenset[Role]:
    """Role members for role codes (members pass through); an unknown code is a ValueError naming the codes."""
    if isinstance(codes, str):  # a bare string would iterate as its letters
        codes = (codes,)
    roles = set()
    for code in codes:
        try:
            roles.add(Role(code))
        except ValueError:
            raise ValueError(f"unknown role '{str(code)[:80]}'; use one of {', '.join(Role.codes())}") from None
    return frozenset(roles)


@dataclass(frozen=True)
class AccessContext:
    """The user, why they act, and their roles: always members of the `Role` code list (codes given as strings
    are converted; an unknown code is refused)."""

    user: str
    purpose: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    token_id: str | None = None  # the API token the user acts through (the access log records it)

    def __post_init__(self) -> None:
        # Frozen: the conversion has to go around the dataclass's own __setattr__.
        object.__setattr__(self, "roles", as_roles(self.roles))


def local_operator(purpose: str) -> AccessContext:
    """The context of a person running the command line on this machine without signing in: the OS user,
    which is not an account, so it holds no role (commands that need one authenticate an account)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return AccessContext(user=user, purpose=purpose)
