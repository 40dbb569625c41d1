"""Which roles may read which area of the workspace: one rule, used by the routes that guard an area and by
every other view or export that shows the same data (search results, the case page and its PDF).

A page that refuses a role must not leak the same data through another door: the entity page refuses an
inspector, so search must not name the company an IBAN belongs to, and a case PDF must not draw the network.
Both doors ask ``may_read`` with the same ``Area``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType

from cintel.domain.access import as_roles
from cintel.domain.codes import CodeList
from cintel.domain.roles import ENTITY_READERS, QUEUE_READERS, Role


class Area(CodeList):
    """A body of data read together: who may read one part of it may read all of it."""

    QUEUE = ("queue", "The risk queue and the declarations, scores and explanations it lists")
    ENTITIES = ("entities", "Resolved parties: their names, identifiers, phones, e-mails, accounts and records")
    NETWORK = ("network", "The ties between parties: the graph, paths between parties and suspected rings")


READERS: MappingProxyType[Area, frozenset[Role]] = MappingProxyType({
    Area.QUEUE: QUEUE_READERS,
    Area.ENTITIES: ENTITY_READERS,
    # The network shows the parties it ties (names, phones, accounts): whoever reads it reads entities.
    Area.NETWORK: ENTITY_READERS,
})


def readers(area: Area | str) -> frozenset[Role]:
    """The roles that may read ``area``; ValueError on an unknown area."""
    return READERS[Area(area)]


def may_read(roles: Iterable[Role | str], area: Area | str) -> bool:
    """True when one of ``roles`` (members or codes) may read ``area``."""
    return bool(as_roles(roles) & readers(area))
