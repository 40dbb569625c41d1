"""Parameters of the synthetic world: its size, its noise and the fraud schemes planted in it.

Every rate and threshold is a named, documented field so that a benchmark can state exactly
which world it ran on (``SimulationConfig.to_dict`` is written to ``truth/schemes.json``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from cintel.domain.codes import OutcomeType


class Scheme(StrEnum):
    """The fraud schemes planted in the world; the value is the label in the ground truth."""

    UNDERVALUATION = "undervaluation"
    MISCLASSIFICATION = "misclassification"
    ORIGIN_MISDECLARATION = "origin_misdeclaration"
    FRONT_COMPANY = "front_company"
    SPLIT_SHIPMENT = "split_shipment"
    CONCEALMENT = "concealment"
    WATCHLISTED_PARTY = "watchlisted_party"

    @property
    def code(self) -> int:
        """Small integer used in the generator's arrays (0 means no scheme)."""
        return list(Scheme).index(self) + 1


@dataclass(frozen=True)
class SchemeConfig:
    """One planted scheme: how often, how hard, and how likely inspectors are to see it."""

    rate: float  # share of all declarations carrying the scheme
    outcome: OutcomeType  # what an inspector records on detection
    detect_red: float  # chance a physical inspection detects it
    detect_yellow: float  # chance a documentary check detects it


@dataclass(frozen=True)
class UndervaluationConfig(SchemeConfig):
    min_factor: float = 0.25  # declared value = true value x U(min_factor, max_factor)
    max_factor: float = 0.65
    trader_share: float = 0.06  # share of importers prone to undervaluing; they carry most of it
    trader_concentration: float = 0.8  # share of undervalued declarations lodged by prone importers


@dataclass(frozen=True)
class FrontCompanyConfig(SchemeConfig):
    rings: int = 0  # number of rings; 0 = derived from world size (one per 2,500 declarations, at least 3)
    min_members: int = 3
    max_members: int = 6
    undervalue_share: float = 0.7  # share of a ring's declarations that are undervalued (rate / this = ring's
    # share of all declarations)
    min_factor: float = 0.2
    max_factor: float = 0.5


@dataclass(frozen=True)
class SplitShipmentConfig(SchemeConfig):
    threshold_eur: float = 150.0  # duty relief for consignments of negligible value
    min_parts: int = 2
    max_parts: int = 6


@dataclass(frozen=True)
class WatchlistConfig(SchemeConfig):
    importer_share: float = 0.003  # share of importers that are on a watch list
    exporter_share: float = 0.004
    noise_rate: float = 0.85  # how often a listed party's name is misspelt on purpose
    decoy_entries: int = 0  # listed names not active in the world; 0 = derived from world size
    vessels: int = 3  # world vessels on the list (sanctioned ships, known by IMO)


def _default_schemes() -> dict[str, SchemeConfig]:
    o = OutcomeType
    return {
        "undervaluation": UndervaluationConfig(0.03, o.UNDERVALUATION, 0.65, 0.35),
        "misclassification": SchemeConfig(0.01, o.MISCLASSIFICATION, 0.75, 0.3),
        "origin_misdeclaration": SchemeConfig(0.006, o.ORIGIN_MISDECLARATION, 0.45, 0.35),
        "front_company": FrontCompanyConfig(0.003, o.UNDERVALUATION, 0.6, 0.4),
        "split_shipment": SplitShipmentConfig(0.004, o.UNDERVALUATION, 0.5, 0.3),
        "concealment": SchemeConfig(0.0015, o.PROHIBITED_GOODS, 0.8, 0.05),
        "watchlisted_party": WatchlistConfig(0.002, o.DOCUMENTARY_IRREGULARITY, 0.5, 0.5),
    }


@dataclass(frozen=True)
class SimulationConfig:
    """The whole world's parameters. ``simulate_world`` builds one from its arguments."""

    declarations: int = 20_000
    seed: int = 42
    end_date: date = field(default_factory=lambda: date.today() - timedelta(days=1))
    months: int = 12
    defect_rate: float = 0.01
    name_noise_rate: float = 0.12  # chance that a mention of a party uses a misspelt name
    mean_items: float = 2.5  # items per declaration
    importers_per_declaration: float = 1 / 40
    exporters_per_declaration: float = 1 / 50
    brokers_per_declaration: float = 1 / 2_500
    importer_size_exponent: float = 1.0  # Zipf exponent of importer sizes: higher = more concentrated
    new_trader_share: float = 0.08  # importers registered during the simulated period
    duplicate_registration_share: float = 0.03  # importers registered twice under two identifiers
    random_inspection_rate: float = 0.02  # random share of the administration's selection
    rule_inspection_rate: float = 0.15  # inspection chance of a declaration hit by a targeting rule
    false_finding_rate: float = 0.02  # honest declarations recorded with a documentary irregularity
    schemes: dict[str, SchemeConfig] = field(default_factory=_default_schemes)

    @property
    def start_date(self) -> date:
        """First day of the simulated period: ``months`` whole months back from ``end_date``."""
        month = self.end_date.month - self.months
        year = self.end_date.year + (month - 1) // 12
        month = (month - 1) % 12 + 1
        day = min(self.end_date.day, 28)
        return max(date(year, month, day) + timedelta(days=1), date(1991, 1, 1))

    def scheme(self, scheme: Scheme) -> SchemeConfig:
        return self.schemes[scheme.value]

    def to_dict(self) -> dict[str, object]:
        """The parameters as JSON-ready data."""
        out = asdict(self)
        out["end_date"] = self.end_date.isoformat()
        out["start_date"] = self.start_date.isoformat()
        for name, cfg in self.schemes.items():
            out["schemes"][name] = {**asdict(cfg), "outcome": cfg.outcome.value}
        return out
