"""A deterministic synthetic customs world with planted fraud schemes and its ground truth.

``simulate_world`` writes declarations, the trader register, manifests, container events,
inspections, intelligence reports, financial records and watch lists in the flat record formats
of ``cintel.domain.records``, and the truth (what really happened) under ``truth/``.
"""

from __future__ import annotations

from cintel.simulate.config import Scheme, SimulationConfig
from cintel.simulate.world import SimulationError, SimulationSummary, simulate_configured_world, simulate_world

__all__ = ["Scheme", "SimulationConfig", "SimulationError", "SimulationSummary", "simulate_configured_world",
           "simulate_world"]
