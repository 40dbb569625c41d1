"""Who may do what in the rulebook, and the errors its operations answer: shared by the rules, the lookup
lists and the four-eyes changes (``rulebook``, ``lookups``, ``rulebook_changes``), and by the pages and the
command line, which ask for the same roles."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from cintel.domain.access import AccessContext
from cintel.domain.roles import Role
from cintel.errors import CintelError
from cintel.risk.rule_language import not_text_at

RULE_EDITORS: frozenset[Role] = frozenset({Role.TARGETING_OFFICER})
"""Who writes rules, lookup lists and profiles, and asks for a lookup change."""
RULE_APPROVERS: frozenset[Role] = frozenset({Role.TARGETING_OFFICER, Role.SUPERVISOR})
"""Who backtests and approves a draft, asks for a retirement and confirms or refuses a change (four eyes)."""
NAME_RULE = "1-64 letters, digits, '_' or '-'"
MAX_COMMENT_CHARS = 2_000  # reasons and comments: a paragraph, not a report


class ChangeKind(StrEnum):
    """What a rulebook change does (table risk_rule_changes)."""

    LOOKUP_VALUES = "lookup_values"  # values added to and/or removed from a lookup list
    LOOKUP_DROP = "lookup_drop"  # a lookup list dropped
    RETIREMENT = "retirement"  # a rule retired: every version not yet retired stops scoring


class ChangeStatus(StrEnum):
    PENDING = "pending"  # asked for; waits for a second officer
    CONFIRMED = "confirmed"  # a second officer confirmed it: it took effect then
    REFUSED = "refused"  # a second officer refused it
    WITHDRAWN = "withdrawn"  # the requester took it back, or what it changes is gone
    APPLIED = "applied"  # took effect at once: an automatic feed, or retiring a rule that never scored


class RulebookError(CintelError):
    """A rulebook operation the store's state does not allow (self-approval, a list that exists, ...).

    ``field`` names the input that is wrong, when one is (a form shows the error beside it)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotInRulebook(RulebookError):
    """No such rule, version, lookup list, backtest or change: the pages answer 404."""


def require_role(actor: AccessContext, roles: frozenset[Role], what: str) -> None:
    """Refuses (RulebookError) an actor holding none of ``roles``: the four-eyes acts check it themselves,
    whichever door (page, API, command line) they come through."""
    if not actor.roles & roles:
        held = ", ".join(sorted(actor.roles)) or "no role"
        raise RulebookError(f"{what} needs the role {' or '.join(sorted(roles))}; {actor.user} has {held}")


def clean_text(value: str | None, field: str, what: str, *, required: bool) -> str | None:
    """A reason or comment stripped (None when empty), at most MAX_COMMENT_CHARS; RulebookError naming
    ``field`` when it is required and empty, or too long."""
    cleaned = (value or "").strip()
    if not_text_at(cleaned) is not None:
        raise RulebookError(f"the {what} holds a code point that is not a character (a lone surrogate)", field=field)
    if len(cleaned) > MAX_COMMENT_CHARS:
        raise RulebookError(f"the {what} is {len(cleaned):,} characters; at most {MAX_COMMENT_CHARS:,}", field=field)
    if required and not cleaned:
        raise RulebookError(f"give the {what}", field=field)
    return cleaned or None


def valid_name(name: str, what: str) -> str:
    """A lookup list's or profile's name, checked (RulebookError on field 'name')."""
    if not name or len(name) > 64 or not name.replace("_", "").replace("-", "").isalnum():
        raise RulebookError(f"{what} name '{name[:64]}' must be {NAME_RULE}", field="name")
    return name


def utc_now() -> datetime:
    return datetime.now(UTC)
