"""Watch-list screening: which parties look like which listed entries, how much, and why.

In the spirit of OpenSanctions' logic-v2 matcher: names are compared part by part after
normalisation, identifiers are strong evidence on their own, and disagreeing country or date of
birth lowers a score rather than vetoing it.

Scoring of a (party, entry) pair:

* **name score** = the best over the entry's name and aliases (each cut to ``MAX_NAME_CHARS``) of
  ``token alignment * (0.6 + 0.4 * max(Indel ratio, token-sort ratio))`` on the name cores (legal
  forms removed, see ``normalise.name_core``). Token alignment matches every name part to its most
  similar counterpart on the other side (equal, initial "j"/"john" 0.8, abbreviation "intl" 0.8,
  same metaphone 0.85, else OSA edit similarity when >= 0.5), weighted by the part's rarity in the
  list (log inverse frequency; stopwords and initials weigh little), in both directions. Reordered
  names therefore score 1.0. Equal cores score 1.0 (legal-form noise only).
* **short-name guard**: when either core has 3 characters or fewer, or is a single token common
  in the list, only an exact core match counts (1.0, else 0).
* **entity type**: a known type that differs (company vs person, person vs vessel) gives name score 0.
* **score** = ``max(name score, 0.95 if an identifier matches, 0.98 if the IMO number matches)``,
  then country disagrees ``-0.10``, date of birth disagrees ``-0.15`` (compared at the precision
  both sides have: a year-only date that agrees on the year is no disagreement), clamped to [0, 1].

Every hit carries an ``explanation``: a JSON object of the features above and their values.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cintel.entities.normalise import imo_key, name_core, name_phonetic
from cintel.entities.screen_index import MAX_NAME_CHARS, ScreeningIndex, build_index, identifier_keys
from cintel.entities.screen_score import blend, part_weights, string_features, token_alignment
from cintel.errors import CintelError

__all__ = ["ScreeningError", "ScreeningIndex", "apply_dispositions", "build_index", "exact_screen", "screen"]

IDENTIFIER_SCORE = 0.95
IMO_SCORE = 0.98
COUNTRY_PENALTY = 0.10
BIRTH_DATE_PENALTY = 0.15
SHORT_CORE_CHARS = 3
# Pairs whose whole-string similarity is below this are not worth the token alignment.
ALIGN_FLOOR = 0.45
HIT_COLUMNS = ("party_key", "list_name", "entry_id", "list_version", "score", "matched_name", "name_score",
               "identifier_match", "imo_match", "country_agrees", "birth_date_agrees", "explanation")
_QUERY_COLUMNS = ("name", "entity_type", "country", "birth_date", "identifiers", "imo")
_TYPED = frozenset({"company", "person", "vessel"})
DISPOSITIONS = frozenset({"true_hit", "false_positive"})


class ScreeningError(CintelError):
    """Screening input the user has to fix (a missing column, an unknown disposition)."""


def _hit_schema() -> dict[str, pl.DataType]:
    s, b, f = pl.String(), pl.Boolean(), pl.Float64()
    return {"party_key": s, "list_name": s, "entry_id": s, "list_version": s, "score": f, "matched_name": s,
            "name_score": f, "identifier_match": b, "imo_match": b, "country_agrees": b, "birth_date_agrees": b,
            "explanation": s}


def _empty_hits() -> pl.DataFrame:
    return pl.DataFrame(schema=_hit_schema())


def _distinct_queries(parties: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Distinct query attributes (``qid`` + attributes) and the party_key -> qid map."""
    missing = [c for c in ("party_key", "name") if c not in parties.columns]
    if missing:
        raise ScreeningError(f"parties to screen lack column(s) {', '.join(missing)}; expected party_key and name")
    frame = parties.select(
        pl.col("party_key").cast(pl.String),
        *[(pl.col(c).cast(pl.String) if c in parties.columns else pl.lit(None, dtype=pl.String)).alias(c)
          for c in _QUERY_COLUMNS],
    ).filter(pl.col("party_key").is_not_null())
    queries = frame.select(_QUERY_COLUMNS).unique(maintain_order=True).with_row_index("qid")
    keys = frame.join(queries, on=list(_QUERY_COLUMNS), how="left", nulls_equal=True).select("party_key", "qid")
    return queries, keys.unique()


def _candidates(index: ScreeningIndex, queries: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """(qid, name_row) pairs to score, (qid, entry_row, identifier, imo) exact matches, query cores."""
    q_rows: list[np.ndarray] = []
    n_rows: list[np.ndarray] = []
    exact: list[tuple[int, int, bool, bool]] = []
    cores: list[str] = []
    for qid, name, country, idents, imo in queries.select("qid", "name", "country", "identifiers", "imo").iter_rows():
        cut = name[:MAX_NAME_CHARS] if isinstance(name, str) else None
        core = name_core(cut)
        cores.append(core or "")
        rows = index.name_candidates(core, name_phonetic(cut))
        entry_hits: dict[int, list[bool]] = {}
        for ident in identifier_keys(idents, country):
            for e in index.identifiers.get(ident, ()):
                entry_hits.setdefault(int(e), [False, False])[0] = True
        imo_norm = imo_key(imo)
        if imo_norm:
            for e in index.imos.get(imo_norm, ()):
                entry_hits.setdefault(int(e), [False, False])[1] = True
        if entry_hits:
            rows = np.unique(np.concatenate([rows, *[index.entry_names(e) for e in entry_hits]]))
            exact.extend((qid, e, flags[0], flags[1]) for e, flags in entry_hits.items())
        if len(rows):
            q_rows.append(np.full(len(rows), qid, dtype=np.int64))
            n_rows.append(rows)
    pairs = pl.DataFrame({
        "qid": np.concatenate(q_rows) if q_rows else np.empty(0, dtype=np.int64),
        "name_row": np.concatenate(n_rows) if n_rows else np.empty(0, dtype=np.int64),
    }, schema={"qid": pl.UInt32, "name_row": pl.Int64})
    exact_frame = pl.DataFrame(exact, schema={"qid": pl.UInt32, "entry_row": pl.Int64, "identifier_match": pl.Boolean,
                                              "imo_match": pl.Boolean}, orient="row")
    return pairs, exact_frame, cores


def _name_scores(index: ScreeningIndex, pairs: pl.DataFrame, cores: list[str],
                 queries: pl.DataFrame) -> pl.DataFrame:
    """Every candidate pair with its name features and name score; best name per (qid, entry_row) kept."""
    qids = pairs["qid"].to_numpy()
    rows = pairs["name_row"].to_numpy()
    q_cores = [cores[q] for q in qids]
    c_cores = [index.cores[r] for r in rows]
    feats = string_features(q_cores, c_cores)
    quick = np.maximum(feats["ratio"], feats["token_sort"])
    core_eq = np.fromiter((a == b for a, b in zip(q_cores, c_cores, strict=True)), dtype=bool, count=len(rows))
    aligned = np.zeros(len(rows))
    q_parts = {q: part_weights(cores[q], index.weight) for q in np.unique(qids).tolist() if cores[q]}
    for i in np.flatnonzero((quick >= ALIGN_FLOOR) & ~core_eq).tolist():
        aligned[i] = token_alignment(q_parts[int(qids[i])], index.parts(int(rows[i])))
    aligned[core_eq] = 1.0
    score = np.where(core_eq, 1.0, [blend(t, r, s) for t, r, s in zip(aligned, feats["ratio"], feats["token_sort"],
                                                                      strict=True)] if len(rows) else 0.0)
    # Short-name guard: short or single-common-word names must match exactly.
    guard = np.fromiter((_guarded(index, a) or _guarded(index, b) for a, b in zip(q_cores, c_cores, strict=True)),
                        dtype=bool, count=len(rows))
    score = np.where(guard & ~core_eq, 0.0, score)
    entry_rows = index.name_entry[rows] if len(rows) else np.empty(0, dtype=np.int64)
    q_types = queries["entity_type"].str.to_lowercase().to_numpy()[qids] if len(rows) else np.empty(0, dtype=object)
    e_types = index.entries["entity_type"].str.to_lowercase().to_numpy()[entry_rows] if len(rows) else q_types
    type_clash = np.fromiter((a in _TYPED and b in _TYPED and a != b for a, b in zip(q_types, e_types, strict=True)),
                             dtype=bool, count=len(rows))
    score = np.where(type_clash, 0.0, score)
    frame = pl.DataFrame({
        "qid": qids, "entry_row": entry_rows,
        "matched_name": [index.names[r] for r in rows],
        "name_score": np.clip(score, 0.0, 1.0),
        "name_jaro_winkler": feats["jaro_winkler"], "name_ratio": feats["ratio"],
        "name_token_sort": feats["token_sort"], "name_token_set": feats["token_set"], "name_tokens_weighted": aligned,
        "short_name_guard": guard & ~core_eq, "entity_type_mismatch": type_clash,
    }, schema_overrides={"qid": pl.UInt32, "entry_row": pl.Int64, "matched_name": pl.String})
    return frame.sort("name_score", descending=True).group_by("qid", "entry_row", maintain_order=True).first()


def _guarded(index: ScreeningIndex, core: str) -> bool:
    return len(core) <= SHORT_CORE_CHARS or (" " not in core and core in index.common_tokens)


def _date_agrees(left: pl.Expr, right: pl.Expr) -> pl.Expr:
    """Dates compared at the precision both have (YYYY, YYYY-MM or YYYY-MM-DD); null if either is missing."""
    width = pl.min_horizontal(left.str.len_chars(), right.str.len_chars())
    return pl.when(left.is_null() | right.is_null() | (width < 4)).then(None).otherwise(
        left.str.slice(0, width) == right.str.slice(0, width))


def screen(index: ScreeningIndex, parties: pl.DataFrame, *, threshold: float = 0.70, limit: int = 5) -> pl.DataFrame:
    """Screen parties against a watch list; one row per (party_key, list_name, entry_id) at or above ``threshold``.

    ``parties`` has ``party_key`` and ``name``, optionally ``entity_type, country, birth_date,
    identifiers`` (';'-separated) and ``imo``. Hits come best first per party, at most ``limit`` per
    party, with the columns of ``HIT_COLUMNS``; see the module docstring for the scoring.
    """
    queries, keys = _distinct_queries(parties)
    if queries.height == 0 or index.size == 0:
        return _empty_hits()
    pairs, exact, cores = _candidates(index, queries)
    named = _name_scores(index, pairs, cores, queries)
    merged = named.join(exact, on=["qid", "entry_row"], how="full", coalesce=True).with_columns(
        pl.col("identifier_match").fill_null(False), pl.col("imo_match").fill_null(False),
        pl.col("name_score").fill_null(0.0))
    entries = index.entries.select(pl.col("row").cast(pl.Int64).alias("entry_row"), "list_name", "entry_id",
                                   "list_version", pl.col("name").alias("entry_name"),
                                   pl.col("country").alias("entry_country"), pl.col("birth_date").alias("entry_birth"))
    merged = merged.join(entries, on="entry_row", how="left").join(
        queries.select("qid", pl.col("country").alias("q_country"), pl.col("birth_date").alias("q_birth")),
        on="qid", how="left")
    q_country = pl.col("q_country").str.strip_chars().str.to_uppercase()
    e_country = pl.col("entry_country").str.strip_chars().str.to_uppercase()
    merged = merged.with_columns(
        pl.col("matched_name").fill_null(pl.col("entry_name")),
        pl.when(q_country.is_null() | e_country.is_null() | (q_country == "") | (e_country == ""))
        .then(None).otherwise(q_country == e_country).alias("country_agrees"),
        _date_agrees(pl.col("q_birth").str.strip_chars(), pl.col("entry_birth").str.strip_chars())
        .alias("birth_date_agrees"),
    ).with_columns(
        pl.when(pl.col("country_agrees").not_()).then(-COUNTRY_PENALTY).otherwise(0.0).alias("country_mismatch"),
        pl.when(pl.col("birth_date_agrees").not_()).then(-BIRTH_DATE_PENALTY).otherwise(0.0)
        .alias("birth_date_mismatch"),
    ).with_columns(
        pl.max_horizontal(
            "name_score",
            pl.when("identifier_match").then(IDENTIFIER_SCORE).otherwise(0.0),
            pl.when("imo_match").then(IMO_SCORE).otherwise(0.0),
        ).alias("base_score"),
    ).with_columns(
        (pl.col("base_score") + pl.col("country_mismatch") + pl.col("birth_date_mismatch")).clip(0.0, 1.0)
        .alias("score"),
    ).filter(pl.col("score") >= threshold)
    features = ["name_jaro_winkler", "name_ratio", "name_token_sort", "name_token_set", "name_tokens_weighted",
                "name_score"]
    explanation = pl.struct(
        *[pl.col(c).fill_null(0.0).round(3) for c in features],
        pl.col("short_name_guard").fill_null(False), pl.col("entity_type_mismatch").fill_null(False),
        pl.col("identifier_match").alias("identifier"), pl.col("imo_match").alias("imo"),
        pl.col("country_mismatch"), pl.col("birth_date_mismatch"),
    ).struct.json_encode()
    hits = merged.with_columns(explanation.alias("explanation"), pl.col("score").round(4),
                               pl.col("name_score").round(4))
    hits = keys.join(hits, on="qid", how="inner").sort(
        ["party_key", "score", "list_name", "entry_id"], descending=[False, True, False, False])
    hits = hits.group_by("party_key", maintain_order=True).head(max(limit, 0))
    return hits.select(HIT_COLUMNS).cast(_hit_schema())  # type: ignore[arg-type]


def apply_dispositions(hits: pl.DataFrame, dispositions: pl.DataFrame) -> pl.DataFrame:
    """Add the analyst's ``disposition`` to each hit and drop pairs remembered as false positives.

    ``dispositions`` has ``party_key, list_name, entry_id, disposition`` ('true_hit' or
    'false_positive'); where a pair has several, a 'false_positive' wins. Hits without one get null.
    """
    need = ("party_key", "list_name", "entry_id", "disposition")
    missing = [c for c in need if c not in dispositions.columns]
    if missing:
        raise ScreeningError(f"dispositions lack column(s) {', '.join(missing)}; expected {', '.join(need)}")
    disp = dispositions.select([pl.col(c).cast(pl.String) for c in need]).with_columns(
        pl.col("disposition").str.strip_chars().str.to_lowercase())
    unknown = disp.filter(~pl.col("disposition").is_in(sorted(DISPOSITIONS)) | pl.col("disposition").is_null())
    if unknown.height:
        row = unknown.row(0, named=True)
        raise ScreeningError(f"unknown disposition {row['disposition']!r} for party {row['party_key']!r}, entry "
                             f"{row['entry_id']!r}; expected one of {', '.join(sorted(DISPOSITIONS))}")
    # One disposition per pair; a remembered false positive beats an older true hit.
    disp = disp.sort("disposition").group_by(["party_key", "list_name", "entry_id"]).agg(pl.col("disposition").first())
    out = hits.join(disp, on=["party_key", "list_name", "entry_id"], how="left")
    return out.filter(pl.col("disposition").is_null() | (pl.col("disposition") != "false_positive"))


def exact_screen(entries: pl.DataFrame, parties: pl.DataFrame) -> pl.DataFrame:
    """Baseline: hits where a party's name equals a listed name or alias after trimming and casefolding."""
    if "party_key" not in parties.columns or "name" not in parties.columns:
        raise ScreeningError("parties to screen need columns party_key and name")
    listed = entries.select(
        pl.col("list_name").cast(pl.String), pl.col("entry_id").cast(pl.String),
        (pl.col("list_version") if "list_version" in entries.columns else pl.lit(None)).cast(pl.String)
        .alias("list_version"),
        pl.concat_list(pl.col("name").cast(pl.String),
                       (pl.col("aliases") if "aliases" in entries.columns else pl.lit(None)).cast(pl.String)
                       .fill_null("").str.split(";")).alias("matched_name"),
    ).explode("matched_name").with_columns(pl.col("matched_name").str.strip_chars()).filter(
        pl.col("matched_name").is_not_null() & (pl.col("matched_name") != ""))
    listed = listed.with_columns(pl.col("matched_name").str.to_lowercase().alias("__key"))
    queries = parties.select(pl.col("party_key").cast(pl.String),
                             pl.col("name").cast(pl.String).str.strip_chars().str.to_lowercase().alias("__key"))
    hits = queries.join(listed, on="__key", how="inner").unique(["party_key", "list_name", "entry_id"])
    return hits.select(
        "party_key", "list_name", "entry_id", "list_version", pl.lit(1.0).alias("score"), "matched_name",
        pl.lit(1.0).alias("name_score"), pl.lit(False).alias("identifier_match"), pl.lit(False).alias("imo_match"),
        pl.lit(None, dtype=pl.Boolean).alias("country_agrees"),
        pl.lit(None, dtype=pl.Boolean).alias("birth_date_agrees"),
        pl.lit('{"exact_name":true}').alias("explanation"),
    ).sort("party_key", "list_name", "entry_id")
