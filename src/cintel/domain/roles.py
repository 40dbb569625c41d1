"""Roles of the people who use cintel: what each may see and do is decided on these codes."""

from __future__ import annotations

from cintel.domain.codes import CodeList


class Role(CodeList):
    ANALYST = ("analyst", "Intelligence analyst: follows leads, builds cases, reads the risk queue")
    TARGETING_OFFICER = ("targeting_officer", "Risk / targeting officer: tunes rules and profiles, works the daily "
                         "risk queue and decides channels within capacity")
    INSPECTOR = ("inspector", "Inspector: reads the queue and records what inspections found")
    SUPERVISOR = ("supervisor", "Supervisor / auditor: approves disclosures and checks who looked at what and why")
    ADMINISTRATOR = ("administrator", "Administrator: manages user accounts and API tokens")


QUEUE_READERS: frozenset[Role] = frozenset(
    {Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR, Role.INSPECTOR}
)
"""Roles that may read the risk queue."""

ENTITY_READERS: frozenset[Role] = frozenset({Role.ANALYST, Role.TARGETING_OFFICER, Role.SUPERVISOR})
"""Roles that may read entities and the network (who is behind a company, its names, identifiers, phones,
accounts and ties): the entity and network pages, and every view or export that shows the same data."""


class UserKind(CodeList):
    PERSON = ("person", "A person: signs in with a password and issues API tokens for themself")
    SERVICE = ("service", "A service account: no password and no sign-in; used only through API tokens an "
               "administrator issues for it")
