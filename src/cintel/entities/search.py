"""Finding entities by what an analyst types: a name in any spelling or script, or an identifier.

Names are matched on the comparison keys of ``entities.normalise``: ASCII-transliterated (Cyrillic, Greek,
... to Latin), casefolded, legal forms unified. German umlauts are also tried spelled out ("Müller" is
both "muller" and "mueller"), and every token also by its metaphone code, so "Muller" meets "MUELLER".

Search never compares the query with every entity: ``NameIndex`` holds the postings of every name token and
metaphone code (token -> entities, built once per store state by ``entities.state``), a query gathers the
candidates sharing a token with it (the last token also by prefix, for search-as-you-type), and only those
candidates are scored with rapidfuzz. Identifiers (EORI/VAT, IBAN, phone, e-mail, IMO) are looked up by
their normalised key in a dictionary of the same index.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from rapidfuzz import fuzz, process
from sqlalchemy import Engine, select

from cintel.entities.normalise import (
    _metaphone,
    email_key,
    iban_key,
    imo_key,
    name_core,
    name_key,
    phone_e164,
    tax_id_key,
)
from cintel.entities.state import state_cache
from cintel.store.entity_tables import entities, entity_records

MAX_RESULTS = 20
MAX_CANDIDATES = 5_000  # candidates scored per query; the rarest tokens' postings are taken first
MIN_PREFIX = 3  # the last token of a query also matches longer tokens from this many characters
MIN_SCORE = 60.0
_GLIDES = str.maketrans("", "", "YWH")
UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"})


def query_keys(text: str) -> list[str]:
    """The name keys a query stands for: its key, and with umlauts spelled out when it has any."""
    keys = [name_key(text), name_key(text.translate(UMLAUTS))]
    return list(dict.fromkeys(k for k in keys if k))


def _tokens(key: str) -> set[str]:
    out = set()
    for token in key.split(" "):
        if not token:
            continue
        out.add(token)
        if token.isalpha() and len(token) > 2:
            # Metaphone without the glides: "myuller" (from Мюллер) and "mueller" both give MLR.
            code = _metaphone(token).translate(_GLIDES)
            if code:
                out.add("~" + code)  # metaphone codes kept apart from spelled tokens
    return out


@dataclass(frozen=True)
class NameIndex:
    """Names of resolved party records by token, and entities by identifier key."""

    entity_ids: np.ndarray  # entity id per name row
    keys: list[str]  # name key per name row
    names: list[str]  # the name as given, per name row
    postings: dict[str, np.ndarray]  # token or "~metaphone" -> name rows
    vocabulary: list[str]  # sorted tokens, for prefix matches
    identifiers: dict[str, list[str]]  # identifier key -> entity ids

    @classmethod
    def build(cls, engine: Engine) -> NameIndex:
        """The index of every resolved party record's name and identifiers."""
        r = entity_records
        with engine.connect() as conn:
            rows = conn.execute(select(r.c.entity_id, r.c.name, r.c.country, r.c.tax_id, r.c.phone, r.c.email,
                                       r.c.iban, r.c.imo).where(r.c.entity_id.is_not(None))).all()
        frame = pl.DataFrame([tuple(x) for x in rows], orient="row", schema={
            "entity_id": pl.String, "name": pl.String, "country": pl.String, "tax_id": pl.String,
            "phone": pl.String, "email": pl.String, "iban": pl.String, "imo": pl.String})
        names = frame.drop_nulls("name").select("entity_id", "name").unique(maintain_order=True)
        distinct = names["name"].unique()
        key_of = {n: name_key(n) for n in distinct.to_list()}
        names = names.with_columns(key=pl.col("name").replace_strict(key_of, return_dtype=pl.String)).drop_nulls(
            "key")
        token_of = {k: sorted(_tokens(k)) for k in set(names["key"].to_list())}
        exploded = (names.with_row_index("row").select("row", tokens=pl.col("key").replace_strict(
            token_of, return_dtype=pl.List(pl.String))).explode("tokens").drop_nulls("tokens"))
        grouped = exploded.group_by("tokens").agg(pl.col("row"))
        postings = {t: np.asarray(rs, dtype=np.int64) for t, rs in grouped.iter_rows()}
        identifiers: dict[str, set[str]] = {}
        for column, fn in (("tax_id", tax_id_key), ("iban", iban_key), ("email", email_key), ("imo", imo_key)):
            for entity_id, value in frame.drop_nulls(column).select("entity_id", column).unique().iter_rows():
                key = fn(value)
                if key:
                    identifiers.setdefault(f"{column}:{key}", set()).add(entity_id)
        for entity_id, value, country in frame.drop_nulls("phone").select("entity_id", "phone",
                                                                           "country").unique().iter_rows():
            key = phone_e164(value, country)
            if key:
                identifiers.setdefault(f"phone:{key}", set()).add(entity_id)
        return cls(entity_ids=names["entity_id"].to_numpy(), keys=names["key"].to_list(),
                   names=names["name"].to_list(), postings=postings,
                   vocabulary=sorted(t for t in postings if not t.startswith("~")),
                   identifiers={k: sorted(v) for k, v in identifiers.items()})

    def _prefixed(self, prefix: str, cap: int = 50) -> list[str]:
        start = bisect.bisect_left(self.vocabulary, prefix)
        out = []
        for token in self.vocabulary[start:start + cap]:
            if not token.startswith(prefix):
                break
            out.append(token)
        return out

    def candidates(self, keys: list[str]) -> np.ndarray:
        """Name rows sharing a token (or the last token's prefix, or a metaphone code) with a query key."""
        lists: list[np.ndarray] = []
        for key in keys:
            tokens = _tokens(key)
            last = key.split(" ")[-1]
            if len(last) >= MIN_PREFIX:
                tokens.update(self._prefixed(last))
            lists += [self.postings[t] for t in tokens if t in self.postings]
        if not lists:
            return np.zeros(0, dtype=np.int64)
        lists.sort(key=len)  # rare tokens first: they say the most and cost the least
        picked, total = [], 0
        for p in lists:
            if total >= MAX_CANDIDATES:
                break
            picked.append(p[:MAX_CANDIDATES - total])
            total += min(p.shape[0], MAX_CANDIDATES - total)
        return np.unique(np.concatenate(picked))

    def search_names(self, text: str, limit: int = MAX_RESULTS) -> list[tuple[str, str, float]]:
        """(entity id, the name matched, score 0-100) of the best-matching entities, best first."""
        keys = query_keys(text)
        rows = self.candidates(keys)
        if not rows.shape[0]:
            return []
        choices = [self.keys[i] for i in rows.tolist()]
        best: dict[str, tuple[str, float]] = {}
        for key in keys:
            scores = process.cdist([key], choices, scorer=fuzz.WRatio, workers=1)[0]
            core = name_core(key) or key
            if core != key:
                scores = np.maximum(scores, process.cdist([core], choices, scorer=fuzz.WRatio, workers=1)[0])
            for j in np.flatnonzero(scores >= MIN_SCORE).tolist():
                row = int(rows[j])
                entity_id, score = str(self.entity_ids[row]), float(scores[j])
                if entity_id not in best or score > best[entity_id][1]:
                    best[entity_id] = (self.names[row], score)
        ranked = sorted(best.items(), key=lambda kv: (-kv[1][1], kv[0]))[:limit]
        return [(e, name, round(score, 1)) for e, (name, score) in ranked]

    def search_identifier(self, text: str) -> list[tuple[str, str]]:
        """(entity id, which identifier) of the entities holding the identifier typed, in any spelling."""
        keys = {
            "tax_id": tax_id_key(text), "iban": iban_key(text), "email": email_key(text), "imo": imo_key(text),
            "phone": phone_e164(text),
        }
        out: dict[str, str] = {}
        for column, key in keys.items():
            for entity_id in self.identifiers.get(f"{column}:{key}", []) if key else []:
                out.setdefault(entity_id, column)
        return sorted(out.items())


def name_index(engine: Engine) -> NameIndex:
    """The store's name index, built once per store state (see ``entities.state``)."""
    return state_cache(engine).value("name-index", NameIndex.build)


def search_entities(engine: Engine, text: str, *, limit: int = MAX_RESULTS, entity_type: str | None = None
                    ) -> list[dict[str, Any]]:
    """Entities matching ``text`` by identifier (exact, normalised) or name (fuzzy, transliterated), best first:
    ``entity_id``, ``label``, ``entity_type``, ``country``, ``records``, ``matched`` (what matched) and
    ``score`` (100 for an identifier)."""
    index = name_index(engine)
    found: dict[str, tuple[str, float]] = {}
    for entity_id, column in index.search_identifier(text):
        found[entity_id] = (f"{column.replace('_', ' ')} {text.strip()}", 100.0)
    for entity_id, name, score in index.search_names(text, limit=limit * 3 if entity_type else limit):
        found.setdefault(entity_id, (name, score))
    if not found:
        return []
    with engine.connect() as conn:
        rows = {r.entity_id: r for r in conn.execute(
            select(entities.c.entity_id, entities.c.label, entities.c.entity_type, entities.c.country,
                   entities.c.records).where(entities.c.entity_id.in_(list(found))))}
    out = [{"entity_id": e, "label": rows[e].label, "entity_type": rows[e].entity_type, "country": rows[e].country,
            "records": rows[e].records, "matched": m, "score": s}
           for e, (m, s) in found.items() if e in rows and (entity_type is None or rows[e].entity_type == entity_type)]
    return sorted(out, key=lambda r: (-r["score"], r["label"], r["entity_id"]))[:limit]
