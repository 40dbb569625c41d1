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

import numpy as np
import polars as pl
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from cintel.errors import CintelError
from cintel.settings import get_settings

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
    label_output: str | None = None  # the output name of the comparison on the label column
    fixed_m: dict[str, tuple[float, ...]] = field(default_factory=dict)
    unique_id: str = "record_id"
    link_type: str = "dedupe_only"
    columns: tuple[str, ...] = field(default=())


def _compatible(rule: str) -> str:
    # A person never matches a company or a vessel; 'unknown' (type not given by the source) matches either.
    return (f"({rule}) AND (l.entity_type = r.entity_type OR l.entity_type = 'unknown' "
            "OR r.entity_type = 'unknown')")


def _name_comparison() -> ComparisonCreator:
    # Levels top first; the first that holds wins. Two names that carry different numbers ("No. 2
    # Garment Factory", "No. 3 Garment Factory") are two companies however alike the rest is, and a
    # name near-identical because one word differs ("Haitian Trading" / "Haitian Textile") sits below
    # every level that typos, reordering, abbreviations and a dropped city reach.
    return cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name_core"),
            cll.CustomLevel("coalesce(name_numbers_l, '-') <> coalesce(name_numbers_r, '-')").configure(
                label_for_charts="names carry different numbers"),
            cll.CustomLevel("coalesce(name_branch_l, '-') <> coalesce(name_branch_r, '-')").configure(
                label_for_charts="names carry different branch words"),
            cll.And(cll.CustomLevel("least(array_length(name_marks_l), array_length(name_marks_r)) > 0"),
                    cll.Not(cll.ArraySubsetLevel("name_marks"))).configure(
                label_for_charts="names carry different line-of-business words"),
            cll.ExactMatchLevel("name_core").configure(label_for_charts="name (legal form removed) equal"),
            cll.ExactMatchLevel("name_sorted").configure(label_for_charts="same words, other order"),
            cll.And(cll.Or(cll.DamerauLevenshteinLevel("name_core", 1), cll.DamerauLevenshteinLevel("name_sorted", 1)),
                    cll.CustomLevel("length(name_core_l) >= 8")).configure(
                label_for_charts="name one letter apart (a typo)"),
            cll.CustomLevel(_all_words_matched("l", "r") + " AND " + _all_words_matched("r", "l")).configure(
                label_for_charts="every word matched, allowing a typo"),
            cll.And(cll.ArraySubsetLevel("name_tokens"),
                    cll.CustomLevel("least(array_length(name_tokens_l), array_length(name_tokens_r)) >= 2"))
            .configure(label_for_charts="one name's words all in the other (a word such as the city dropped)"),
            cll.CustomLevel(f"({_all_words_matched('l', 'r')} OR {_all_words_matched('r', 'l')}) AND "
                            "least(array_length(name_tokens_l), array_length(name_tokens_r)) >= 2").configure(
                label_for_charts="one name's words all in the other, allowing a typo"),
            cll.ExactMatchLevel("name_skeleton").configure(label_for_charts="same name in another romanisation"),
            cll.JaroWinklerLevel("name_sorted", 0.92).configure(
                label_for_charts="near-identical names, a word differs"),
            cll.ExactMatchLevel("name_phonetic").configure(label_for_charts="names sound the same"),
            cll.JaroWinklerLevel("name_core", 0.8).configure(label_for_charts="names similar"),
            cll.ElseLevel().configure(label_for_charts="names different"),
        ],
    )


# Two words of two names count as one word with a typo at this Jaro–Winkler similarity and within this many
# edits: a keying error is one edit; a short word sharing a prefix ("baoan" / "baochang", "zhongxing" /
# "zhongqiang") is another word, and romanisations are compared by their skeleton instead.
WORD_MATCH = 0.88
WORD_EDITS = 1


def _all_words_matched(a: str, b: str) -> str:
    """SQL: every word of side ``a``'s name has a word of side ``b``'s within WORD_MATCH and WORD_EDITS (word
    alignment)."""
    return (f"array_length(list_filter(name_tokens_{a}, lambda x: array_length(list_filter(name_tokens_{b}, "
            f"lambda y: x = y OR (jaro_winkler_similarity(x, y) >= {WORD_MATCH} AND damerau_levenshtein(x, y) <= "
            f"{WORD_EDITS}))) = 0)) = 0")


def _address_comparison() -> ComparisonCreator:
    # One comparison, not two: the postcode is part of the address, and counting both would double
    # the evidence of a shared building.
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[cll.NullLevel("address_key"),
                           cll.ExactMatchLevel("address_key").configure(label_for_charts="address equal"),
                           # "No. 12 Harbour Road" and "No. 45 Harbour Road" are two buildings, however alike.
                           cll.CustomLevel("regexp_extract_all(address_key_l, '[0-9]+') <> "
                                           "regexp_extract_all(address_key_r, '[0-9]+')").configure(
                               label_for_charts="addresses carry different numbers"),
                           cll.JaroWinklerLevel("address_key", 0.92).configure(label_for_charts="address similar"),
                           cll.ExactMatchLevel("postcode").configure(label_for_charts="same postcode"),
                           cll.ElseLevel().configure(label_for_charts="addresses different")],
    )


def _exact(column: str, output: str, what: str) -> ComparisonCreator:
    return cl.CustomComparison(output_column_name=output, comparison_levels=[
        cll.NullLevel(column), cll.ExactMatchLevel(column).configure(label_for_charts=f"{what} equal"),
        cll.ElseLevel().configure(label_for_charts=f"{what} different")])


def _shared(column: str, what: str, sizes: tuple[int, ...]) -> ComparisonCreator:
    """Overlap of two sets of counterparts (importers, ports, HS chapters), at the given sizes."""
    levels: list[Any] = [cll.NullLevel(column)]
    levels += [cll.ArrayIntersectLevel(column, k).configure(label_for_charts=f"{k}{'+' if k == sizes[0] else ''} "
                                                            f"{what} in common") for k in sizes]
    levels.append(cll.ElseLevel().configure(label_for_charts=f"no {what} in common"))
    return cl.CustomComparison(output_column_name=column, comparison_levels=levels)


PARTY_COLUMNS = ("record_id", "entity_type", "name_core", "name_sorted", "name_tokens", "name_numbers",
                 "name_marks", "name_branch", "name_skeleton",
                 "name_phonetic", "name_word1", "name_word2", "country", "tax_id_key", "address_key", "postcode",
                 "phone_key", "email_key",
                 "iban_key", "imo_key", "importers", "ports", "hs_chapters")
# Documented priors for m, per comparison and level (top level first, null level excluded): used
# where training observed nothing for a level (no tax-number pairs, no EM block reaching it), so a
# store with few identifiers still resolves. Name levels reflect how one exporter's declarations
# spell it: mostly the same core, often reordered, abbreviated or misspelt, rarely with another number.
PRIOR_M: dict[str, tuple[float, ...]] = {
    "name": (0.002, 0.002, 0.004, 0.45, 0.1, 0.2, 0.06, 0.1, 0.04, 0.03, 0.015, 0.01, 0.01, 0.008),
    "tax_id": (0.99, 0.01), "address": (0.6, 0.02, 0.2, 0.1, 0.08), "phone": (0.9, 0.1), "email": (0.9, 0.1),
    "iban": (0.9, 0.1), "imo": (0.99, 0.01), "country": (0.98, 0.02),
    "importers": (0.3, 0.15, 0.3, 0.25), "ports": (0.4, 0.45, 0.15), "hs_chapters": (0.4, 0.4, 0.2),
}
# u for a level no random pair reached: a share of one pair among those sampled (set when training).
MIN_LABEL_PAIRS = 10


def party_spec() -> ResolutionSpec:
    """The model for parties: companies, persons and vessels from every source."""
    comparisons = [
        _name_comparison(),
        _exact("tax_id_key", "tax_id", "tax number"),
        _address_comparison(),
        _exact("phone_key", "phone", "phone"),
        _exact("email_key", "email", "e-mail"),
        _exact("iban_key", "iban", "bank account"),
        _exact("imo_key", "imo", "IMO number"),
        _exact("country", "country", "country"),
        _shared("importers", "importers", (3, 2, 1)),
        _shared("ports", "ports of loading", (2, 1)),
        _shared("hs_chapters", "HS chapters", (2, 1)),
    ]
    keys = ("tax_id_key", "phone_key", "email_key", "iban_key", "imo_key", "address_key")
    blocking: list[BlockingRuleCreator | str] = [_compatible(f"l.{k} = r.{k}") for k in keys]
    blocking += [_compatible("l.name_core = r.name_core"),
                 _compatible("l.name_phonetic = r.name_phonetic AND l.country = r.country"),
                 _compatible("l.name_sorted = r.name_sorted"),
                 _compatible("l.name_word1 = r.name_word1 AND l.country = r.country"),
                 _compatible("l.name_word2 = r.name_word2 AND l.country = r.country"),
                 # A city dropped or added shifts which word is the longest: cross the two.
                 _compatible("l.name_word1 = r.name_word2 AND l.country = r.country"),
                 _compatible("l.name_word2 = r.name_word1 AND l.country = r.country"),
                 _compatible("l.name_skeleton = r.name_skeleton AND l.country = r.country")]
    return ResolutionSpec(
        comparisons=comparisons,
        blocking=blocking,
        # On any store with names: the pairs sharing a name core train every comparison but the name's.
        em_blocks=[_compatible("l.name_core = r.name_core")],
        label_column="tax_id_key",
        label_output="tax_id",
        # Two records with one tax number are one party, bar the rare re-registration under a new one.
        fixed_m={"tax_id": (0.99, 0.01), "phone": (0.9, 0.1), "email": (0.9, 0.1),
                 "iban": (0.9, 0.1), "imo": (0.99, 0.01)},
        deterministic=["l.tax_id_key = r.tax_id_key", "l.email_key = r.email_key",
                       "l.name_core = r.name_core AND l.address_key = r.address_key",
                       "l.name_core = r.name_core AND l.country = r.country"],
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


def _label_pairs(records: pl.DataFrame, column: str | None) -> int:
    if column is None or column not in records.columns:
        return 0
    sizes = records.select(column).drop_nulls().group_by(column).len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def _snapshot(linker: Linker) -> dict[str, Any]:
    return dict(json.loads(json.dumps(linker.misc.save_model_to_json())))


def _comparisons(model: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {str(c["output_column_name"]): [lv for lv in c["comparison_levels"] if not lv.get("is_null_level")]
            for c in model["comparisons"]}


def train_model(records: pl.DataFrame, spec: ResolutionSpec, *, seed: int = 0,
                max_pairs: float | None = None) -> dict[str, Any]:
    """Train the model on ``records``; returns the Splink settings with trained parameters (JSON-ready).

    Works on any store, however few identifiers it holds:

    1. u probabilities from seeded random pairs; a level no random pair reached gets half a pair's share.
    2. m probabilities counted on the pairs sharing the label column (a tax number) when there are at
       least MIN_LABEL_PAIRS of them (`_complete_labelled_model`);
    3. then expectation maximisation, u fixed, on each of ``em_blocks`` (blocks that exist on any store
       with names, such as a shared name core) for every comparison the labels did not observe;
    4. and for a level neither reached, the documented prior (``PRIOR_M``); never a missing value.

    The prior probability of a match comes from the label pairs when they exist, else from Splink's
    estimate on the deterministic rules, else 1e-4.
    """
    if records.height < 2:
        raise ResolutionError(f"resolution needs at least 2 records to train on, got {records.height}")
    if max_pairs is None:
        max_pairs = get_settings().resolution_u_sample_pairs
    db = DuckDBAPI()
    table = _register(db, records, "records")
    linker = Linker(table, _settings(spec), log_level=logging.WARNING)
    try:
        linker.training.estimate_probability_two_random_records_match(list(spec.deterministic), recall=spec.recall)
    except Exception as exc:  # no rule matched a pair: keep Splink's default, fixed below
        log.warning("resolution: no deterministic rule matched a pair (%s)", exc)
    linker.training.estimate_u_using_random_sampling(max_pairs=max_pairs, seed=seed)
    sampled = min(max_pairs, records.height * (records.height - 1) / 2)
    labelled = _label_pairs(records, spec.label_column) >= MIN_LABEL_PAIRS
    if labelled:
        assert spec.label_column is not None
        linker.training.estimate_m_from_label_column(spec.label_column)
    model = _snapshot(linker)
    observed = {name for name, levels in _comparisons(model).items()
                if labelled and any(lv.get("m_probability") is not None for lv in levels)}
    u_floor = 0.5 / max(sampled, 1.0)
    _fill_missing(model, u_floor=u_floor, final=False)
    if labelled:
        _complete_labelled_model(model, spec)
    if spec.em_blocks:
        model = _em(model, records, spec, keep=observed)
    _fill_missing(model, u_floor=u_floor, final=True)
    for column in WITHIN_COUNTRY_U:
        _u_within_country(model, records, column, seed=seed, max_pairs=int(max_pairs))
    prior = model.get("probability_two_random_records_match")
    if not isinstance(prior, float | int) or not 0 < float(prior) < 1:
        model["probability_two_random_records_match"] = 1e-4
    return model


# Sets of counterparts whose u is measured among pairs of one country: a port of loading names its country
# (UN/LOCODE), so two exporters of one city share it whoever they are; counted against all random pairs, its
# agreement would repeat the evidence of the country comparison.
WITHIN_COUNTRY_U = ("ports",)


def _u_within_country(model: dict[str, Any], records: pl.DataFrame, column: str, *, seed: int,
                      max_pairs: int) -> None:
    """u of the overlap levels of ``column`` (a `_shared` comparison) from seeded random pairs of records of
    one country, both sides with values; left as trained when there are fewer than 100 such pairs."""
    if column not in records.columns or "country" not in records.columns:
        return
    levels = _comparisons(model).get(column)
    if not levels:
        return
    frame = records.select("country", column).drop_nulls().filter(pl.col(column).list.len() > 0)
    rng = np.random.default_rng(seed)
    shared: list[np.ndarray] = []
    for (_,), group in frame.group_by(["country"]):
        n = group.height
        if n < 2:
            continue
        k = min(max_pairs * n // max(frame.height, 1) + 1, n * (n - 1) // 2)
        a, b = rng.integers(0, n, k), rng.integers(0, n, k)
        keep = a != b
        values = group[column]
        left = values.gather(pl.Series(a[keep]))
        right = values.gather(pl.Series(b[keep]))
        shared.append(left.list.set_intersection(right).list.len().to_numpy())
    counts = np.concatenate(shared) if shared else np.array([], dtype=np.int64)
    if counts.size < 100:
        return
    sizes = [int(str(lv["label_for_charts"]).split(" ")[0].rstrip("+")) for lv in levels[:-1]]
    floor = 0.5 / counts.size
    upper = None
    for level, size in zip(levels, sizes, strict=False):
        hit = (counts >= size) if upper is None else ((counts >= size) & (counts < upper))
        level["u_probability"] = max(float(hit.mean()), floor)
        upper = size
    levels[-1]["u_probability"] = max(float((counts == 0).mean()), floor)


def _fill_missing(model: dict[str, Any], *, u_floor: float, final: bool) -> None:
    """Give every level without u or m a documented value.

    A level without u (no random pair reached it) gets ``u_floor``, half a sampled pair's share. A
    level without m gets 0.002 when its comparison was observed (rare for a match, never a free pass),
    else the comparison's ``PRIOR_M``; a comparison with no prior keeps no value until ``final`` (EM
    then starts it from Splink's defaults) and gets 0.002 after.
    """
    for name, levels in _comparisons(model).items():
        prior = PRIOR_M.get(name, ())
        seen = any(lv.get("m_probability") is not None for lv in levels)
        for k, level in enumerate(levels):
            if level.get("m_probability") is None and (seen or prior or final):
                level["m_probability"] = prior[k] if (not seen and k < len(prior)) else 0.002
            if level.get("u_probability") is None:
                level["u_probability"] = u_floor
            if level.get("m_probability") is not None:
                level["m_probability"] = min(max(float(level["m_probability"]), 1e-4), 1.0)
            level["u_probability"] = min(max(float(level["u_probability"]), 1e-7), 1.0)


def _em(model: dict[str, Any], records: pl.DataFrame, spec: ResolutionSpec, keep: set[str]) -> dict[str, Any]:
    """m by expectation maximisation (u fixed) on each EM block, for the comparisons not in ``keep``;
    a block with no pairs, or one EM cannot fit, trains nothing and leaves the values it had."""
    db = DuckDBAPI()
    linker = Linker(_register(db, records, "records"), model, log_level=logging.WARNING)
    trained: dict[str, list[dict[str, Any]]] = {}
    for block in spec.em_blocks:
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(block, fix_u_probabilities=True)
        except Exception as exc:  # a block with no pairs in a small store trains nothing: the others still do
            log.warning("resolution: EM on %s trained nothing (%s)", block, exc)
            continue
        for name, levels in _comparisons(_snapshot(linker)).items():
            if name not in keep and all(lv.get("m_probability") is not None for lv in levels):
                trained[name] = levels
    for name, levels in _comparisons(model).items():
        for level, learnt in zip(levels, trained.get(name, []), strict=False):
            # EM on few pairs can push a level to 0 or 1: keep it off both, so no single field is proof.
            level["m_probability"] = min(max(float(learnt["m_probability"]), 1e-3), 0.999)
    return model


def _levels_of(model: dict[str, Any], name: str) -> list[dict[str, Any]]:
    levels = _comparisons(model).get(name)
    if levels is None:
        raise ResolutionError(f"the model has no comparison '{name}'")
    return levels


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
    4. A level never seen among label pairs (a totally different name, say) of a comparison those
       pairs did observe gets m = 0.002: rare for a match, and never a free pass (`_fill_missing`).
    """
    for name, fixed in spec.fixed_m.items():
        for level, m in zip(_levels_of(model, name), fixed, strict=True):
            level["m_probability"] = m
    label_output = _label_output(spec)
    label = _levels_of(model, label_output)[0]
    prior = min(0.5, float(label["u_probability"]) / float(label["m_probability"]))
    model["probability_two_random_records_match"] = prior
    for name, levels in _comparisons(model).items():
        if name == label_output:
            continue
        for level in levels:
            observed = float(level["u_probability"])
            corrected = (observed - prior * float(level["m_probability"])) / (1 - prior)
            level["u_probability"] = max(1e-5, 0.1 * observed, corrected)


def _label_output(spec: ResolutionSpec) -> str:
    """The output name of the comparison on the label column."""
    return spec.label_output or str(spec.label_column)


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


_SETS = {"importers": "importers", "ports": "ports of loading", "hs_chapters": "HS chapters"}


def _explained(pairs: pl.DataFrame, model: dict[str, Any], unique_id: str) -> pl.DataFrame:
    """Pairs with, per comparison, the level reached and its match weight as one JSON object; for the
    sets of counterparts, how many they share (``shared``)."""
    parts = []
    for name, labels in _levels(model):
        gamma, weight = f"gamma_{name}", f"mw_{name}"
        if gamma not in pairs.columns:
            continue
        fields = [pl.col(gamma).replace_strict(labels, default="", return_dtype=pl.String).alias("level"),
                  (pl.col(weight) if weight in pairs.columns else pl.lit(0.0)).round(3).alias("weight")]
        if name in _SETS and f"{name}_l" in pairs.columns and f"{name}_r" in pairs.columns:
            fields.append(pl.col(f"{name}_l").list.set_intersection(pl.col(f"{name}_r")).list.len()
                          .fill_null(0).alias("shared"))
        parts.append(pl.struct(fields).alias(name))
    left, right = pl.col(f"{unique_id}_l"), pl.col(f"{unique_id}_r")
    return pairs.select(
        pl.min_horizontal(left, right).alias("record_a"),
        pl.max_horizontal(left, right).alias("record_b"),
        pl.col("match_probability").cast(pl.Float64).alias("probability"),
        pl.col("match_weight").cast(pl.Float64),
        pl.struct(parts).struct.json_encode().alias("explanation") if parts else pl.lit("{}").alias("explanation"),
    )


def evidence_in_words(explanation: str | dict[str, Any]) -> str:
    """What a link rests on, in words: the fields that agreed or disagreed, strongest first
    ("name (legal form removed) equal, country equal, 3 importers in common; against: names carry
    different numbers"). Fields missing on one side are left out."""
    parts = json.loads(explanation) if isinstance(explanation, str) else explanation
    pro: list[tuple[float, str]] = []
    con: list[tuple[float, str]] = []
    for name, part in parts.items():
        if not isinstance(part, dict) or part.get("level") in (None, "", "one side missing"):
            continue
        weight = float(part.get("weight") or 0.0)
        words = str(part["level"])
        if name in _SETS and part.get("shared"):
            shared = int(part["shared"])
            what = _SETS[name] if shared > 1 else _SETS[name].replace("importers", "importer").replace(
                "ports", "port").replace("chapters", "chapter")
            words = f"{shared} {what} in common"
        (pro if weight >= 0 else con).append((weight, words))
    text = ", ".join(w for _, w in sorted(pro, key=lambda p: -p[0])) or "nothing in favour"
    if con:
        text += "; against: " + ", ".join(w for _, w in sorted(con, key=lambda p: p[0]))
    return text


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
