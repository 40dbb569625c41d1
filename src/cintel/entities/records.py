"""Party records: every distinct way a party appears in the sources, with where it was seen.

The sources name parties in many places (`cintel.domain.records.PARTY_MENTIONS`): a declaration's
importer, a bill of lading's shipper, a payment's payee, a report's subjects, a company's
directors. Identical mentions (same type, name, country, identifiers and contact details) are one
record, identified by a hash of those values, so resolution scores thousands of distinct records
instead of millions of mentions, and a record seen again next month is recognised, not re-linked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import polars as pl

from cintel.domain.codes import EntityType
from cintel.domain.records import FORMATS, PARTY_ATTRIBUTES, PARTY_MENTIONS, PartyMention, RecordKind
from cintel.entities.normalise import (
    LINE_WORDS,
    _phonetic_of_core,
    fold_core,
    name_core,
    name_marks,
    name_numbers,
    name_skeleton,
    normalise_parties,
)

RECORD_SCHEMA: dict[str, pl.DataType] = {
    "record_id": pl.String(), "entity_type": pl.String(), **{a: pl.String() for a in PARTY_ATTRIBUTES},
    "first_seen": pl.Date(),
}
SOURCE_SCHEMA: dict[str, pl.DataType] = {
    "source_kind": pl.String(), "source_key": pl.String(), "role": pl.String(), "record_id": pl.String(),
    "seen_on": pl.Date(),
}
_SEPARATOR = "\x1f"


def _digest(values: pl.Series) -> pl.Series:
    """md5 of each distinct signature, computed once per distinct value."""
    distinct = values.unique()
    digests = [hashlib.md5(v.encode("utf-8"), usedforsecurity=False).hexdigest() for v in distinct.to_list()]
    return values.replace_strict(distinct, pl.Series(digests, dtype=pl.String), return_dtype=pl.String)


def _key(kind: RecordKind) -> pl.Expr:
    fmt = FORMATS[kind]
    return pl.concat_str([pl.col(k).cast(pl.String) for k in fmt.group or fmt.key], separator="|")


def _identifiers(frame: pl.DataFrame, mention: PartyMention) -> pl.Expr:
    """Every identifier the mention gives (its tax_id column and its ``identifiers`` columns), each split at
    ';', trimmed, de-duplicated, sorted and joined with ';'; null when there is none."""
    named = dict.fromkeys((mention.columns.get("tax_id"), *mention.identifiers))
    columns = [c for c in named if c and c in frame.columns]
    if not columns:
        return pl.lit(None, dtype=pl.String)
    # An empty column gives an empty list, not a null that would void the whole concatenation.
    values = pl.concat_list([pl.col(c).cast(pl.String).fill_null("").str.split(";") for c in columns])
    cleaned = values.list.eval(pl.element().str.strip_chars().filter(pl.element().is_not_null() & (pl.element() != ""))
                               ).list.unique().list.sort().list.join(";")
    return cleaned.replace("", None)


def _mentions(frame: pl.DataFrame, mention: PartyMention) -> pl.DataFrame:
    """One row per party the mention finds in ``frame``: source key, role, date and attributes."""
    if frame.is_empty():
        return pl.DataFrame(schema={"source_key": pl.String, "role": pl.String, "seen_on": pl.Date,
                                    "entity_type": pl.String, **{a: pl.String for a in PARTY_ATTRIBUTES}})
    if mention.entity_type is not None:
        entity_type = pl.lit(mention.entity_type.value)
    elif "entity_type" in frame.columns:
        entity_type = pl.col("entity_type").fill_null(EntityType.UNKNOWN.value)
    else:
        entity_type = pl.lit(EntityType.UNKNOWN.value)
    attributes = [_identifiers(frame, mention).alias("identifiers")]
    for attribute in PARTY_ATTRIBUTES:
        if attribute == "identifiers":
            continue
        source = mention.columns.get(attribute)
        value = pl.col(source).cast(pl.String) if source else pl.lit(None, dtype=pl.String)
        if attribute == "tax_id":  # watch lists give several identifiers: the first one is compared
            value = value.str.split(";").list.first()
        attributes.append(value.str.strip_chars().replace("", None).alias(attribute))
    out = frame.select(_key(mention.kind).alias("source_key"), pl.col(mention.date).cast(pl.Date).alias("seen_on"),
                       entity_type.alias("entity_type"), *attributes,
                       *([pl.col(mention.listed).alias("_listed")] if mention.listed else []))
    role = pl.lit(mention.role.value)
    if mention.listed:
        # Several parties in one field: each becomes a mention of its own, numbered within the record.
        out = (out.with_columns(pl.col("_listed").str.split(";")).explode("_listed")
               .with_columns(pl.col("_listed").str.strip_chars().replace("", None))
               .drop_nulls("_listed")
               .with_columns(name=pl.col("_listed"),
                             role=role + ":" + (pl.int_range(pl.len()).over("source_key") + 1).cast(pl.String))
               .drop("_listed"))
    else:
        out = out.with_columns(role=role)
    present = pl.any_horizontal([pl.col(a).is_not_null() for a in PARTY_ATTRIBUTES if a != "country"])
    return out.filter(present)


def party_records(frames: Mapping[RecordKind, pl.DataFrame]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Distinct party records and their sources from the stored records of each kind.

    ``frames`` maps a record kind to its stored rows (declarations: one row per declaration with the
    header fields). Returns ``records`` (RECORD_SCHEMA) and ``sources`` (SOURCE_SCHEMA).
    """
    parts = [_mentions(frames[m.kind], m) for m in PARTY_MENTIONS if m.kind in frames]
    parts = [p.with_columns(source_kind=pl.lit(m.kind.value))
             for p, m in zip(parts, [m for m in PARTY_MENTIONS if m.kind in frames], strict=True)]
    if not parts:
        return pl.DataFrame(schema=RECORD_SCHEMA), pl.DataFrame(schema=SOURCE_SCHEMA)
    mentions = pl.concat(parts, how="diagonal_relaxed")
    # Identifiers that say no more than tax_id leave the signature as it was before parties gave several,
    # so records stored then keep their ids.
    more = pl.when(pl.col("identifiers") != pl.col("tax_id").fill_null("")).then(pl.col("identifiers"))
    base = pl.concat_str([pl.col(c).fill_null("\x00") for c in ("entity_type", *PARTY_ATTRIBUTES)
                          if c != "identifiers"], separator=_SEPARATOR)
    signature = pl.when(more.is_null()).then(base).otherwise(pl.concat_str([base, more], separator=_SEPARATOR))
    mentions = mentions.with_columns(record_id=_digest(mentions.select(signature).to_series()))
    records = (mentions.group_by("record_id")
               .agg(pl.col("entity_type", *PARTY_ATTRIBUTES).first(), pl.col("seen_on").min().alias("first_seen"))
               .select(list(RECORD_SCHEMA)).sort("record_id"))
    sources = mentions.select(list(SOURCE_SCHEMA)).unique(["source_kind", "source_key", "role"]).sort(
        ["source_kind", "source_key", "role"])
    return records, sources


COUNTERPART_COLUMNS = ("importers", "ports", "hs_chapters")
"""What travels with an exporter: the importers it ships to, its ports of loading, its goods' HS chapters."""
COUNTERPART_SCHEMA: dict[str, pl.DataType] = {"record_id": pl.String(),
                                              **{c: pl.List(pl.String()) for c in COUNTERPART_COLUMNS}}
# Roles whose record is the foreign side of a declaration: its counterparts are the importer side.
_FOREIGN_ROLES = ("exporter", "seller")


def counterparts(sources: pl.DataFrame, headers: pl.DataFrame, items: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per party record seen as a declaration's exporter (or seller), the facts that travel with it.

    ``sources`` (SOURCE_SCHEMA), ``headers`` (one row per declaration: ``declaration_id``, ``importer_id``,
    ``importer_name``, ``port_of_loading``), ``items`` (``declaration_id``, ``hs_code``; optional). Returns
    COUNTERPART_SCHEMA: ``importers`` (each importer by its identifier, else its name core), ``ports``
    (UN/LOCODEs of loading) and ``hs_chapters`` (two-digit chapters), each a sorted set; null where empty.
    A party known by name alone is still known by whom it ships to, from where and what.
    """
    if sources.is_empty() or headers.is_empty():
        return pl.DataFrame(schema=COUNTERPART_SCHEMA)
    own = sources.filter((pl.col("source_kind") == RecordKind.DECLARATIONS.value)
                         & pl.col("role").is_in(_FOREIGN_ROLES)).select("record_id", declaration_id="source_key")
    cols = set(headers.columns)
    importer_name = (pl.col("importer_name").cast(pl.String) if "importer_name" in cols
                     else pl.lit(None, dtype=pl.String))
    head = headers.select(
        pl.col("declaration_id").cast(pl.String),
        (pl.col("importer_id").cast(pl.String) if "importer_id" in cols else pl.lit(None, dtype=pl.String))
        .str.to_uppercase().str.replace_all(r"[^0-9A-Z]", "").replace("", None).alias("_importer_id"),
        importer_name.alias("_importer_name"),
        (pl.col("port_of_loading").cast(pl.String) if "port_of_loading" in cols else pl.lit(None, dtype=pl.String))
        .str.to_uppercase().alias("port"),
    )
    names = head.select("_importer_name").drop_nulls().unique()
    cores = pl.Series("_core", [name_core(n) for n in names["_importer_name"].to_list()], dtype=pl.String)
    head = (head.join(names.with_columns(cores), on="_importer_name", how="left")
            .with_columns(importer=pl.coalesce(pl.lit("id:") + pl.col("_importer_id"),
                                               pl.lit("name:") + pl.col("_core"))))
    joined = own.join(head, on="declaration_id")

    def sets(frame: pl.DataFrame, column: str) -> pl.DataFrame:
        return (frame.drop_nulls(column).group_by("record_id")
                .agg(pl.col(column).unique().sort().alias(column)))

    out = own.select("record_id").unique()
    for frame, column, name in ((joined, "importer", "importers"), (joined, "port", "ports")):
        out = out.join(sets(frame, column).rename({column: name}), on="record_id", how="left")
    if items is not None and not items.is_empty() and "hs_code" in items.columns:
        chapters = items.select(pl.col("declaration_id").cast(pl.String),
                                pl.col("hs_code").cast(pl.String).str.slice(0, 2).alias("chapter")).unique()
        out = out.join(sets(own.join(chapters, on="declaration_id"), "chapter").rename({"chapter": "hs_chapters"}),
                       on="record_id", how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("hs_chapters"))
    return out.select(list(COUNTERPART_SCHEMA)).cast(COUNTERPART_SCHEMA).sort("record_id")  # type: ignore[arg-type]


def comparison_frame(records: pl.DataFrame, facts: pl.DataFrame | None = None) -> pl.DataFrame:
    """The columns the resolution model compares (`cintel.entities.resolve.PARTY_COLUMNS`).

    The name is compared by its core with business words folded (`normalise.fold_core`): ``name_core``,
    its sorted tokens as text (``name_sorted``) and as a list (``name_tokens``), its numbers
    (``name_numbers``), line-of-business words (``name_marks``), branch words (``name_branch``), sound
    (``name_phonetic``) and consonant skeleton across romanisations (``name_skeleton``). ``facts``
    (COUNTERPART_SCHEMA, from `counterparts`) adds what travels with exporters; the columns are null for
    every other record.
    """
    present = [a for a in PARTY_ATTRIBUTES if a in records.columns]
    normal = normalise_parties(records.select("record_id", "entity_type", *present))
    cores = normal.select(pl.col("name_core").alias("_raw_core")).unique()
    folded = [fold_core(c) for c in cores["_raw_core"].to_list()]
    cores = cores.with_columns(
        pl.Series("_core", folded, dtype=pl.String),
        pl.Series("_phonetic", [_phonetic_of_core(c) for c in folded], dtype=pl.String),
        pl.Series("_numbers", [name_numbers(c) for c in folded], dtype=pl.String),
        pl.Series("_marks", [marks[0] for marks in (name_marks(c) for c in folded)], dtype=pl.List(pl.String)),
        pl.Series("_branch", [name_marks(c)[1] for c in folded], dtype=pl.String),
        pl.Series("_skeleton", [name_skeleton(c) for c in folded], dtype=pl.String),
    )
    normal = normal.with_columns(_raw_core=pl.col("name_core")).join(cores, on="_raw_core", how="left",
                                                                     nulls_equal=True)
    tokens = pl.col("_core").str.split(" ").list.unique().list.sort()
    stems = tokens.list.eval(pl.element().filter(~pl.element().is_in(sorted(LINE_WORDS))))
    distinctive = pl.when(stems.list.len() > 0).then(stems).otherwise(tokens)
    out = normal.select(
        "record_id", "entity_type", pl.col("_core").alias("name_core"),
        tokens.list.join(" ").replace("", None).alias("name_sorted"),
        tokens.alias("name_tokens"), pl.col("_numbers").alias("name_numbers"),
        pl.col("_marks").alias("name_marks"), pl.col("_branch").alias("name_branch"),
        pl.col("_skeleton").alias("name_skeleton"),
        # The two longest words of the name that are not line-of-business words (a stem, a city): a typo in
        # one still leaves the other to block on, and a common word such as "trading" makes no huge block.
        *[distinctive.list.eval(pl.element().sort_by(pl.element().str.len_chars(), descending=True,
                                                     maintain_order=True))
          .list.get(k, null_on_oob=True).alias(f"name_word{k + 1}") for k in (0, 1)],
        pl.col("_phonetic").alias("name_phonetic"), "country", "tax_id_key", "address_key", "postcode", "phone_key",
        "email_key", "iban_key", "imo_key",
    )
    if facts is None:
        facts = pl.DataFrame(schema=COUNTERPART_SCHEMA)
    empty_is_null = [pl.when(pl.col(c).list.len() > 0).then(pl.col(c)).alias(c) for c in COUNTERPART_COLUMNS]
    return out.join(facts.select(list(COUNTERPART_SCHEMA)), on="record_id", how="left").with_columns(empty_is_null)
