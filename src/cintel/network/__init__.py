"""Entity networks: who is behind a company, how parties are tied, which groups act as one.

Build an ``EntityGraph`` from the store's node and edge frames, then ask it questions: the
``neighbourhood`` of a node, the ``shortest_paths`` between two, its ``components``; find Leiden
``communities`` and ``centrality``; spread the risk of seizures and watch-list hits with
``propagate_risk``; rank candidate fraud ``rings``; and ``export_cytoscape`` a subgraph for the browser.
Every function is pure: frames and dataclasses in, frames and dataclasses out.
"""

from cintel.network.communities import centrality, communities
from cintel.network.graph import SHARED_IDENTIFIER_KINDS, EdgeKind, EntityGraph, NetworkError, NodeKind
from cintel.network.propagation import propagate_risk
from cintel.network.queries import (
    HUB_DEGREE,
    Path,
    Subgraph,
    components,
    export_cytoscape,
    neighbourhood,
    shortest_paths,
)
from cintel.network.rings import Ring, rings

__all__ = [
    "HUB_DEGREE",
    "SHARED_IDENTIFIER_KINDS",
    "EdgeKind",
    "EntityGraph",
    "NetworkError",
    "NodeKind",
    "Path",
    "Ring",
    "Subgraph",
    "centrality",
    "communities",
    "components",
    "export_cytoscape",
    "neighbourhood",
    "propagate_risk",
    "rings",
    "shortest_paths",
]
