"""The in-memory index a watch list is screened against: names, tokens, phonetic codes and identifiers.

Built once per list release from WATCHLIST rows. Candidate generation looks a query's name tokens
and phonetic codes up in inverted indexes (plain dicts of numpy arrays), ranks the names that share
the most of them and keeps the best few; identifiers and IMO numbers are exact dictionary look-ups.
Tokens found in more than ``COMMON_TOKEN_SHARE`` of all names ("trading", "international", a
common family name) are not used for look-up, unless a query has nothing else, in which case the
names must share *all* of its tokens.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from cintel.domain.codes import country_codes
from cintel.entities.normalise import imo_key, name_core, name_key, name_phonetic, tax_id_key
from cintel.entities.screen_score import part_weights

# A token in more than this share of all names does not select candidates on its own.
COMMON_TOKEN_SHARE = 0.02
# Below this many names the share rule would call every token common; only larger lists use it.
COMMON_TOKEN_MIN_COUNT = 20
# Names scored per query at most, after ranking by shared tokens.
MAX_CANDIDATES = 64
# Longest name looked at in screening; longer text is cut here before matching.
MAX_NAME_CHARS = 256
# A country prefix (VAT numbers: "NL804945136B01", "ATU12345678", "EL094014201") before a body with 6+ digits.
_PREFIXED = re.compile(r"^([A-Z]{2})([A-Z]?[0-9][0-9A-Z]{5,})$")
_VAT_PREFIXES = frozenset({"EL", "XI", "EU"})


def identifier_keys(raw: str | None, country: str | None) -> list[str]:
    """Comparison keys of a ';'-separated identifier list: upper-case alphanumerics (canonical where stdnum
    knows the number), each also without its country prefix ("NL804945136B01" = "804945136B01") and, for
    a number without one, with the party's country prefix ("804945136B01" in NL = "NL804945136B01")."""
    if not isinstance(raw, str) or not raw.strip():
        return []
    keys: set[str] = set()
    cc = country.strip().upper() if isinstance(country, str) and len(country.strip()) == 2 else None
    for part in raw[:4096].split(";"):
        key = tax_id_key(part, country)
        if key is None:
            continue
        keys.add(key)
        plain = re.sub(r"[^0-9A-Z]", "", part.upper())
        if 4 <= len(plain) <= 20:
            keys.add(plain)
        for value in (key, plain):
            prefixed = _PREFIXED.match(value)
            if prefixed and (prefixed.group(1) in country_codes() or prefixed.group(1) in _VAT_PREFIXES):
                keys.add(prefixed.group(2))
            elif cc and value[:1].isdigit():
                keys.add(cc + value)
    return sorted(keys)


def split_names(name: str | None, aliases: str | None) -> list[str]:
    """The primary name then each distinct alias, trimmed, empty ones dropped."""
    out: list[str] = []
    for value in [name, *(aliases.split(";") if isinstance(aliases, str) else [])]:
        if isinstance(value, str) and value.strip() and value.strip() not in out:
            out.append(value.strip())
    return out


@dataclass
class ScreeningIndex:
    """A watch list prepared for screening (see ``build_index``)."""

    entries: pl.DataFrame  # one row per entry: row, list_name, entry_id, list_version, entity_type, country, ...
    name_entry: np.ndarray  # entry row of each indexed name
    names: list[str]  # the name or alias as listed
    keys: list[str]  # name_key of each name
    cores: list[str]  # name_core of each name
    tokens: dict[str, np.ndarray]  # core token -> name rows
    phonetics: dict[str, np.ndarray]  # metaphone code -> name rows
    identifiers: dict[str, np.ndarray]  # identifier key -> entry rows
    imos: dict[str, np.ndarray]  # IMO number -> entry rows
    name_start: np.ndarray  # names of entry r are rows name_start[r]:name_start[r + 1]
    token_weight: dict[str, float] = field(default_factory=dict)  # rarity weight of every indexed token
    common_tokens: frozenset[str] = frozenset()
    default_weight: float = 1.0  # weight of a token the list has never seen
    _parts: dict[int, tuple[list[str], list[float]]] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        return self.entries.height

    def weight(self, token: str) -> float:
        return self.token_weight.get(token, self.default_weight)

    def parts(self, name_row: int) -> tuple[list[str], list[float]]:
        """Name parts and their weights of one indexed name (computed once, then kept)."""
        got = self._parts.get(name_row)
        if got is None:
            got = self._parts[name_row] = part_weights(self.cores[name_row], self.weight)
        return got

    def entry_names(self, row: int) -> np.ndarray:
        """Name rows of one entry."""
        return np.arange(self.name_start[row], self.name_start[row + 1], dtype=np.int64)

    def name_candidates(self, core: str | None, phonetic: str | None) -> np.ndarray:
        """Rows of the names most worth scoring against a query name, best-sharing first."""
        if not core:
            return np.empty(0, dtype=np.int64)
        toks = sorted(set(core.split(" ")))
        rare = [t for t in toks if t not in self.common_tokens]
        codes = sorted(set(phonetic.split(" "))) if phonetic else []
        if not rare:
            # Only common words ("Global Trading"): a candidate must share every one of them.
            if any(t not in self.tokens for t in toks):
                return np.empty(0, dtype=np.int64)
            lists = [self.tokens[t] for t in toks]
            found = lists[0]
            for arr in lists[1:]:
                found = np.intersect1d(found, arr, assume_unique=True)
            return found[:MAX_CANDIDATES * 4]
        postings = [self.tokens[t] for t in rare if t in self.tokens]
        postings += [self.phonetics[c] for c in codes if c in self.phonetics]
        if not postings:
            return np.empty(0, dtype=np.int64)
        rows, counts = np.unique(np.concatenate(postings), return_counts=True)
        if len(rows) > MAX_CANDIDATES:
            # Many names share the rare parts (a dense list): common words the query also has break the tie.
            rank = counts.astype(np.float64)
            for tok in toks:
                if tok in self.common_tokens:
                    posting = self.tokens[tok]
                    at = np.minimum(np.searchsorted(posting, rows), len(posting) - 1)
                    rank += 0.5 * (posting[at] == rows)
            keep = np.argpartition(-rank, MAX_CANDIDATES)[:MAX_CANDIDATES]
            rows = rows[keep]
        return rows


def _postings(pairs: dict[str, list[int]]) -> dict[str, np.ndarray]:
    return {k: np.unique(np.asarray(v, dtype=np.int64)) for k, v in pairs.items()}


def build_index(entries: pl.DataFrame) -> ScreeningIndex:
    """Index a watch list (WATCHLIST columns; ``aliases`` and ``identifiers`` ';'-separated) for ``screen``.

    Every name and alias is normalised (``name_key``, ``name_core``, metaphone codes); identifiers
    are compacted like tax ids; IMO numbers are check-digit validated. Missing optional columns
    are treated as empty.
    """
    cols = ("list_name", "entry_id", "name", "entity_type", "aliases", "country", "birth_date", "imo",
            "identifiers", "list_version")
    frame = entries.select(
        [(pl.col(c).cast(pl.String) if c in entries.columns else pl.lit(None, dtype=pl.String)).alias(c)
         for c in cols]
    ).with_row_index("row")
    name_entry: list[int] = []
    names: list[str] = []
    keys: list[str] = []
    cores: list[str] = []
    by_token: dict[str, list[int]] = defaultdict(list)
    by_code: dict[str, list[int]] = defaultdict(list)
    by_id: dict[str, list[int]] = defaultdict(list)
    by_imo: dict[str, list[int]] = defaultdict(list)
    imo_out: list[str | None] = []
    name_start: list[int] = []
    for row, name, aliases, country, imo, idents in frame.select(
        "row", "name", "aliases", "country", "imo", "identifiers"
    ).iter_rows():
        name_start.append(len(names))
        for listed in split_names(name, aliases):
            cut = listed[:MAX_NAME_CHARS]
            key, core = name_key(cut), name_core(cut)
            if key is None or core is None:
                continue
            n = len(names)
            name_entry.append(row)
            names.append(listed)
            keys.append(key)
            cores.append(core)
            for tok in set(core.split(" ")):
                by_token[tok].append(n)
            for code in set((name_phonetic(cut) or "").split()):
                by_code[code].append(n)
        for ident in identifier_keys(idents, country):
            by_id[ident].append(row)
        imo_norm = imo_key(imo)
        imo_out.append(imo_norm)
        if imo_norm:
            by_imo[imo_norm].append(row)
    name_start.append(len(names))
    total = max(len(names), 1)
    limit = max(COMMON_TOKEN_SHARE * total, COMMON_TOKEN_MIN_COUNT)
    common = frozenset(t for t, rows in by_token.items() if len(set(rows)) > limit)
    common_codes = {c for c, rows in by_code.items() if len(set(rows)) > limit}
    # Inverse document frequency: a shared rare token says more than a shared common one.
    weight = {t: math.log1p(total / len(set(rows))) for t, rows in by_token.items()}
    frame = frame.with_columns(pl.Series("imo_key", imo_out, dtype=pl.String))
    return ScreeningIndex(
        entries=frame, name_entry=np.asarray(name_entry, dtype=np.int64), names=names, keys=keys, cores=cores,
        tokens=_postings(by_token), phonetics=_postings({c: r for c, r in by_code.items() if c not in common_codes}),
        identifiers=_postings(by_id), imos=_postings(by_imo),
        name_start=np.asarray(name_start, dtype=np.int64), token_weight=weight, common_tokens=common,
        default_weight=math.log1p(total),
    )
