"""Entity resolution with Splink: train a Fellegi–Sunter model, score candidate pairs, explain them.

Splink runs on an embedded DuckDB here; the model is a plain settings dictionary (comparisons,
blocking rules, trained m and u probabilities) that the store keeps as JSON and that Splink runs
unchanged on Spark. Names alone are a weak signal (Splink's own guidance), so the party model
compares identifiers, phone, e-mail, bank account, address and country beside the name, and
blocks on each of them so that a respelt name still meets its identifier.

No term-frequency adjustments: they depend on the data a run sees, and the incremental path
(`score_pairs` with ``new``) must give exactly the pairs a full run gives on the same records.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from cintel.errors import CintelError

log = logging.getLogger(__name__)

PAIR_COLUMNS = {"record_a": pl.String, "record_b": pl.String, "probability": pl.Float64,
                "match_weight": pl.Float64, "explanation": pl.String}


class ResolutionError(CintelError):
    """Resolution cannot run on what it was given (no records, an unusable model)."""


@dataclass(frozen=True)
class ResolutionSpec:
    """What a resolution model compares and how candidate pairs are found.

    ``blocking`` generates the pairs to score; ``em_blocks`` are the blocks expectation
    maximisation trains on (each leaves the compared fields of the block untrained, so they
    complement each other); ``deterministic`` rules with their expected ``recall`` estimate the
    prior probability that two records match.
    """

    comparisons: Sequence[ComparisonCreator]
    blocking: Sequence[BlockingRuleCreator | str]
    em_blocks: Sequence[BlockingRuleCreator | str]
    deterministic: Sequence[BlockingRuleCreator | str]
    recall: float = 0.7
    # A column whose equal values mark certain matches (a tax identifier): m probabilities are then
    # counted on those pairs instead of estimated by EM, which is faster, deterministic and does not
    # drift towards whatever structure dominates the blocks. ``fixed_m`` then sets the m values of
    # the comparisons that such pairs cannot measure (the label column's own), per level, top first.
    label_column: str | None = None
    fixed_m: dict[str, tuple[float, ...]] = field(default_factory=dict)
    unique_id: str = "record_id"
    link_type: str = "dedupe_only"
    columns: tuple[str, ...] = field(default=())


def _compatible(rule: str) -> str:
    # A person never matches a company or a vessel; 'unknown' (type not given by the source) matches either.
    return (f"({rule}) AND (l.entity_type = r.entity_type OR l.entity_type = 'unknown' "
            "OR r.entity_type = 'unknown')")


def _name_comparison() -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_core"),
            cll.ExactMatchLevel("name_core"),
            cll.ExactMatchLevel("name_sorted").configure(label_for_charts="same words, other order"),
            cll.JaroWinklerLevel("name_core", 0.95),
            cll.JaroWinklerLevel("name_core", 0.88),
            cll.ExactMatchLevel("name_phonetic").configure(label_for_charts="sounds the same"),
            cll.JaroWinklerLevel("name_core", 0.75),
            cll.ElseLevel(),
        ],
    )


def _address_comparison() -> ComparisonCreator:
    # One comparison, not two: the postcode is part of the address, and counting both would double
    # the evidence of a shared building.
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[cll.NullLevel("address_key"), cll.ExactMatchLevel("address_key"),
                           cll.JaroWinklerLevel("address_key", 0.92), cll.ExactMatchLevel("postcode"),
                           cll.ElseLevel()],
    )


PARTY_COLUMNS = ("record_id", "entity_type", "name_core", "name_sorted", "name_phonetic", "country",
                 "tax_id_key", "address_key", "postcode", "phone_key", "email_key", "iban_key", "imo_key")


def party_spec() -> ResolutionSpec:
    """The model for parties: companies, persons and vessels from every source."""
    comparisons = [
        _name_comparison(),
        cl.ExactMatch("tax_id_key").configure(term_frequency_adjustments=False),
        _address_comparison(),
        cl.ExactMatch("phone_key"),
        cl.ExactMatch("email_key"),
        cl.ExactMatch("iban_key"),
        cl.ExactMatch("imo_key"),
        cl.ExactMatch("country"),
    ]
    keys = ("tax_id_key", "phone_key", "email_key", "iban_key", "imo_key", "address_key")
    blocking: list[BlockingRuleCreator | str] = [_compatible(f"l.{k} = r.{k}") for k in keys]
    blocking += [_compatible("l.name_core = r.name_core"),
                 _compatible("l.name_phonetic = r.name_phonetic AND l.country = r.country"),
                 _compatible("l.name_sorted = r.name_sorted")]
    return ResolutionSpec(
        comparisons=comparisons,
        blocking=blocking,
        em_blocks=[],
        label_column="tax_id_key",
        # Two records with one tax number are one party, bar the rare re-registration under a new one.
        fixed_m={"tax_id_key": (0.99, 0.01), "phone_key": (0.9, 0.1), "email_key": (0.9, 0.1),
                 "iban_key": (0.9, 0.1), "imo_key": (0.99, 0.01)},
        deterministic=["l.tax_id_key = r.tax_id_key", "l.email_key = r.email_key",
                       "l.name_core = r.name_core AND l.address_key = r.address_key"],
        recall=0.8,
        columns=PARTY_COLUMNS,
    )


def _settings(spec: ResolutionSpec) -> SettingsCreator:
    return SettingsCreator(
        link_type=spec.link_type,  # type: ignore[arg-type]
        unique_id_column_name=spec.unique_id,
        comparisons=list(spec.comparisons),
        blocking_rules_to_generate_predictions=list(spec.blocking),  # type: ignore[arg-type]
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,  # the comparison levels reached (gamma_*) explain each pair
    )


def _register(db: DuckDBAPI, frame: pl.DataFrame, name: str) -> Any:
    return db.register(frame.to_arrow(), table_name=name)


def train_model(records: pl.DataFrame, spec: ResolutionSpec, *, seed: int = 0,
                max_pairs: float = 2e6) -> dict[str, Any]:
    """Train the model on ``records``; returns the Splink settings with trained parameters (JSON-ready).

    u probabilities come from seeded random pairs, m probabilities from expectation maximisation
    on each of the spec's training blocks, the prior from its deterministic rules.
    """
    if records.height < 2:
        raise ResolutionError(f"resolution needs at least 2 records to train on, got {records.height}")
    db = DuckDBAPI()
    linker = Linker(_register(db, records, "records"), _settings(spec), log_level=logging.WARNING)
    linker.training.estimate_probability_two_random_records_match(list(spec.deterministic), recall=spec.recall)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    if spec.label_column is not None:
        linker.training.estimate_m_from_label_column(spec.label_column)
    for block in spec.em_blocks:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block, fix_u_probabilities=True)
        except Exception as exc:  # a block with no pairs in a small store trains nothing: the others still do
            log.warning("resolution: EM on %s trained nothing (%s)", block, exc)
    model: dict[str, Any] = json.loads(json.dumps(linker.misc.save_model_to_json()))
    if spec.label_column is not None:
        _complete_labelled_model(model, spec)
    return model


def _levels_of(model: dict[str, Any], name: str) -> list[dict[str, Any]]:
    for comparison in model["comparisons"]:
        if comparison["output_column_name"] == name:
            return [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
    raise ResolutionError(f"the model has no comparison '{name}'")


def _complete_labelled_model(model: dict[str, Any], spec: ResolutionSpec) -> None:
    """Finish a model whose m values were counted on label pairs.

    1. The label comparison's own m values, which those pairs cannot measure, come from ``fixed_m``;
       so do any other comparison's listed there.
    2. The prior: a random pair that shares the label value is a match, so the share of random
       pairs agreeing on the label, divided by m of that agreement, is the share of matches.
    3. u values: random pairs include matches, and in party data a few large traders contribute
       many records, so raw u values overstate how often non-matches agree. Each is corrected,
       u = (observed − prior·m) / (1 − prior), and kept above a tenth of the observed value (and
       1e-5): some agreement between distinct parties (a shared building, a shared bank account) is
       real, and the correction must not make it proof.
    4. A level never seen among label pairs (a totally different name, say) gets m = 0.002: rare
       for a match, and never a free pass.
    """
    for name, fixed in spec.fixed_m.items():
        for level, m in zip(_levels_of(model, name), fixed, strict=True):
            level["m_probability"] = m
    assert spec.label_column is not None
    label = _levels_of(model, spec.label_column)[0]
    prior = min(0.5, float(label["u_probability"]) / float(label["m_probability"]))
    model["probability_two_random_records_match"] = prior
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            if level.get("m_probability") is None:
                level["m_probability"] = 0.002
            observed = level.get("u_probability")
            if observed is not None and comparison["output_column_name"] != spec.label_column:
                corrected = (float(observed) - prior * float(level["m_probability"])) / (1 - prior)
                level["u_probability"] = max(1e-5, 0.1 * float(observed), corrected)


def _levels(model: dict[str, Any]) -> list[tuple[str, dict[int, str]]]:
    """Per comparison, the label of each gamma value: -1 for the null level, then Splink numbers
    the other levels from the top, n-1 for the first down to 0 for the last ("all other")."""
    out = []
    for comparison in model["comparisons"]:
        levels = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        labels = {-1: "one side missing"} | {len(levels) - 1 - k: str(lv.get("label_for_charts", ""))
                                             for k, lv in enumerate(levels)}
        out.append((str(comparison["output_column_name"]), labels))
    return out


def _explained(pairs: pl.DataFrame, model: dict[str, Any], unique_id: str) -> pl.DataFrame:
    """Pairs with, per comparison, the level reached and its match weight as one JSON object."""
    parts = []
    for name, labels in _levels(model):
        gamma, weight = f"gamma_{name}", f"mw_{name}"
        if gamma not in pairs.columns:
            continue
        parts.append(pl.struct(
            pl.col(gamma).replace_strict(labels, default="", return_dtype=pl.String).alias("level"),
            (pl.col(weight) if weight in pairs.columns else pl.lit(0.0)).round(3).alias("weight"),
        ).alias(name))
    left, right = pl.col(f"{unique_id}_l"), pl.col(f"{unique_id}_r")
    return pairs.select(
        pl.min_horizontal(left, right).alias("record_a"),
        pl.max_horizontal(left, right).alias("record_b"),
        pl.col("match_probability").cast(pl.Float64).alias("probability"),
        pl.col("match_weight").cast(pl.Float64),
        pl.struct(parts).struct.json_encode().alias("explanation") if parts else pl.lit("{}").alias("explanation"),
    )


def _frame(result: Any) -> pl.DataFrame:
    frame = pl.from_arrow(result.as_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def score_pairs(model: dict[str, Any], records: pl.DataFrame, *, new: pl.DataFrame | None = None,
                floor: float = 0.5) -> pl.DataFrame:
    """Scored candidate pairs with match probability ≥ ``floor`` (columns PAIR_COLUMNS).

    Without ``new``: every pair within ``records`` (a full run). With ``new``: the pairs between
    ``new`` and ``records`` and within ``new`` — the incremental path, which adds exactly the
    pairs a full run over both would add.
    """
    unique_id = str(model.get("unique_id_column_name", "unique_id"))
    if records.height + (new.height if new is not None else 0) < 2:
        return pl.DataFrame(schema=PAIR_COLUMNS)
    db = DuckDBAPI()
    base = records if records.height else new
    assert base is not None
    linker = Linker(_register(db, base, "records"), model, log_level=logging.WARNING)
    frames: list[pl.DataFrame] = []
    if new is None:
        within = linker.inference.predict_within(_register(db, records, "score_all"),
                                                 threshold_match_probability=floor, warning_mode="never")
        frames.append(_frame(within))
    else:
        if new.height >= 2:
            within = linker.inference.predict_within(_register(db, new, "score_new"),
                                                     threshold_match_probability=floor, warning_mode="never")
            frames.append(_frame(within))
        if records.height and new.height:
            between = linker.inference.predict_between(
                _register(db, new, "score_left"), _register(db, records, "score_right"),
                threshold_match_probability=floor, warning_mode="never")
            frames.append(_frame(between))
    frames = [f for f in frames if f.height]
    if not frames:
        return pl.DataFrame(schema=PAIR_COLUMNS)
    pairs = pl.concat([_explained(f, model, unique_id) for f in frames], how="vertical_relaxed")
    return pairs.unique(["record_a", "record_b"], keep="first").sort(["record_a", "record_b"])
