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
from cintel.entities.normalise import normalise_parties

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
    attributes = []
    for attribute in PARTY_ATTRIBUTES:
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
    signature = pl.concat_str([pl.col(c).fill_null("\x00") for c in ("entity_type", *PARTY_ATTRIBUTES)],
                              separator=_SEPARATOR)
    mentions = mentions.with_columns(record_id=_digest(mentions.select(signature).to_series()))
    records = (mentions.group_by("record_id")
               .agg(pl.col("entity_type", *PARTY_ATTRIBUTES).first(), pl.col("seen_on").min().alias("first_seen"))
               .select(list(RECORD_SCHEMA)).sort("record_id"))
    sources = mentions.select(list(SOURCE_SCHEMA)).unique(["source_kind", "source_key", "role"]).sort(
        ["source_kind", "source_key", "role"])
    return records, sources


def comparison_frame(records: pl.DataFrame) -> pl.DataFrame:
    """The columns the resolution model compares (`cintel.entities.resolve.PARTY_COLUMNS`)."""
    normal = normalise_parties(records.select("record_id", "entity_type", *PARTY_ATTRIBUTES))
    return normal.select(
        "record_id", "entity_type", "name_core",
        pl.col("name_tokens").list.join(" ").replace("", None).alias("name_sorted"),
        "name_phonetic", "country", "tax_id_key", "address_key", "postcode", "phone_key", "email_key", "iban_key",
        "imo_key",
    )
