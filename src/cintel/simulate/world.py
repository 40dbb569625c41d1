"""``simulate_world``: build the synthetic trade world and write it, with its ground truth."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from cintel.domain.records import RecordKind
from cintel.simulate.actors import build_actors, build_consumers
from cintel.simulate.catalogue import tariff_frame
from cintel.simulate.config import Scheme, SimulationConfig, SplitShipmentConfig
from cintel.simulate.declarations import build_headers
from cintel.simulate.defects import DEFECT_COLUMNS, inject_defects
from cintel.simulate.financial import financial_frame
from cintel.simulate.inspections import inspections_frame
from cintel.simulate.intel import intel_frame, watchlist_frame
from cintel.simulate.items import build_items
from cintel.simulate.movements import events_frame, manifests_frame
from cintel.simulate.routes import build_lanes
from cintel.simulate.sampling import stage_rng
from cintel.simulate.schemes import plant_structural, plant_valuation
from cintel.simulate.tables import (
    SCHEME_NAMES,
    declaration_ids,
    declarations_frame,
    declarations_truth,
    items_truth,
    mention_names,
    parties_frame,
    parties_truth,
)
from cintel.simulate.transport import route_shipments
from cintel.simulate.valuation import value_declarations
from cintel.simulate.writer import FORMATS, write_record_files, write_truth

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
STAGES = ("parties", "declarations", "transport", "manifests and events", "financial and intelligence",
          "inspections", "defects", "writing")


class SimulationError(ValueError):
    """A simulation parameter the user has to change, with what was expected."""


@dataclass
class SimulationSummary:
    """What ``simulate_world`` wrote: rows per record kind, files, planted schemes and defects."""

    out_dir: str
    seed: int
    declarations: int
    start_date: str
    end_date: str
    records: dict[str, int] = field(default_factory=dict)  # record kind -> rows written
    files: list[str] = field(default_factory=list)  # paths relative to out_dir
    schemes: dict[str, int] = field(default_factory=dict)  # scheme -> declarations carrying it
    defects: int = 0
    defects_by_kind: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "out_dir": self.out_dir, "seed": self.seed, "declarations": self.declarations,
            "start_date": self.start_date, "end_date": self.end_date, "records": dict(self.records),
            "files": list(self.files), "schemes": dict(self.schemes), "defects": self.defects,
            "defects_by_kind": dict(self.defects_by_kind), "seconds": round(self.seconds, 3),
        }


def _check(declarations: int, formats: Sequence[str], defect_rate: float, end_date: date, months: int) -> None:
    if declarations < 1:
        raise SimulationError(f"declarations: expected a positive number, got {declarations}")
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown or not formats:
        raise SimulationError(f"formats: expected some of {', '.join(FORMATS)}, got {', '.join(formats) or 'none'}")
    if not 0.0 <= defect_rate <= 1.0:
        raise SimulationError(f"defect_rate: expected a share between 0 and 1, got {defect_rate}")
    if end_date > date.today():
        raise SimulationError(f"end_date: expected today or earlier, got {end_date.isoformat()}")
    if months < 1 or end_date - timedelta(days=31 * months) < date(1991, 1, 1):
        raise SimulationError(f"months: expected 1 or more, ending after 1991-01-01, got {months}")


def simulate_world(
    out_dir: Path,
    *,
    declarations: int = 20_000,
    seed: int = 42,
    formats: Sequence[str] = ("parquet",),
    defect_rate: float = 0.01,
    end_date: date | None = None,
    months: int = 12,
    progress: Callable[[str, int, int], None] | None = None,
) -> SimulationSummary:
    """Generate a seeded synthetic customs world and write it to ``out_dir``.

    Writes one file per record kind and format (``declarations.parquet``, ``parties.csv``, ...;
    ``declarations.edi`` for "cusdec") and the ground truth under ``out_dir/truth/``. The same
    seed and parameters give the same files. ``progress`` is called as (stage, done, total).
    """
    end = end_date or date.today() - timedelta(days=1)
    _check(declarations, formats, defect_rate, end, months)
    config = SimulationConfig(declarations=declarations, seed=seed, end_date=end, months=months,
                              defect_rate=defect_rate)
    return simulate_configured_world(config, out_dir, formats=formats, progress=progress)


def simulate_configured_world(config: SimulationConfig, out_dir: Path, *, formats: Sequence[str] = ("parquet",),
                              progress: Callable[[str, int, int], None] | None = None) -> SimulationSummary:
    """Like ``simulate_world``, with every parameter (scheme rates, noise, sizes) from ``config``."""
    started = time.perf_counter()
    _check(config.declarations, formats, config.defect_rate, config.end_date, config.months)
    seed, end, defect_rate, declarations = config.seed, config.end_date, config.defect_rate, config.declarations
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def step(stage: int) -> None:
        if progress is not None:
            progress(STAGES[stage], stage, len(STAGES))
        log.info("simulate: %s", STAGES[stage])

    def rng(stage: str) -> np.random.Generator:
        return stage_rng(seed, stage)

    step(0)
    actors = build_actors(rng("actors"), config)
    consumers = build_consumers(rng("consumers"), config)
    lanes = build_lanes(rng("lanes"))
    step(1)
    split = config.scheme(Scheme.SPLIT_SHIPMENT)
    assert isinstance(split, SplitShipmentConfig)
    draft = build_headers(rng("headers"), config, actors, len(consumers.names))
    plant_structural(rng("schemes-structural"), config, draft, actors, len(consumers.names))
    build_items(rng("items"), config, draft, actors, split.threshold_eur)
    plant_valuation(rng("schemes-valuation"), config, draft, actors)
    valuation = value_declarations(draft, split.threshold_eur)
    step(2)
    transport = route_shipments(rng("transport"), draft, lanes)
    ids = declaration_ids(rng("declaration-ids"), draft)
    mentions = mention_names(rng("mentions"), config, draft, actors, consumers, ids)
    frames: dict[RecordKind, pl.DataFrame] = {
        RecordKind.DECLARATIONS: declarations_frame(rng("declarations"), draft, actors, consumers, lanes,
                                                    transport, valuation, mentions),
        RecordKind.PARTIES: parties_frame(actors),
    }
    step(3)
    frames[RecordKind.MANIFESTS] = manifests_frame(rng("manifests"), config, draft, actors, lanes, transport)
    frames[RecordKind.EVENTS] = events_frame(rng("events"), config, draft, lanes, transport)
    step(4)
    frames[RecordKind.FINANCIAL] = financial_frame(rng("financial"), config, draft, actors, valuation)
    frames[RecordKind.INTEL_REPORTS] = intel_frame(rng("intel"), config, draft, actors)
    frames[RecordKind.WATCHLIST] = watchlist_frame(rng("watchlist"), config, actors, lanes)
    frames[RecordKind.TARIFF] = tariff_frame()
    step(5)
    frames[RecordKind.INSPECTIONS] = inspections_frame(rng("inspections"), config, draft, actors, valuation,
                                                       mentions)
    step(6)
    defect_lists = [pl.DataFrame(schema=DEFECT_COLUMNS)]
    for kind in RecordKind:
        frames[kind], listed = inject_defects(rng(f"defects-{kind.value}"), kind, frames[kind], defect_rate)
        defect_lists.append(listed)
    defects = pl.concat(defect_lists)
    step(7)
    summary = SimulationSummary(out_dir=str(out_dir), seed=seed, declarations=declarations,
                                start_date=config.start_date.isoformat(), end_date=end.isoformat())
    written: list[Path] = []
    for kind in RecordKind:
        written += write_record_files(out_dir, kind, frames[kind], formats)
        summary.records[kind.value] = frames[kind].height
    truth = {
        "declarations_truth": declarations_truth(draft, actors, valuation, mentions),
        "items_truth": items_truth(draft, valuation, mentions),
        "parties_truth": parties_truth(actors),
        "defects": defects,
    }
    counts = np.bincount(draft.scheme, minlength=len(SCHEME_NAMES))
    summary.schemes = {str(SCHEME_NAMES[i]): int(counts[i]) for i in range(1, len(SCHEME_NAMES))}
    parameters = {**config.to_dict(), "planted": summary.schemes}
    written += write_truth(out_dir / "truth", truth, parameters)
    summary.files = sorted(str(p.relative_to(out_dir)) for p in written)
    summary.defects = defects.height
    summary.defects_by_kind = {k: int(v) for k, v in defects.group_by("record_kind").len().sort("record_kind")
                               .iter_rows()}
    summary.seconds = time.perf_counter() - started
    if progress is not None:
        progress("done", len(STAGES), len(STAGES))
    return summary
