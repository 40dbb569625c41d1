"""Name similarity for screening: string features over many pairs at once and a weighted token alignment.

``string_features`` runs rapidfuzz's pairwise ``cpdist`` over whole arrays of (query, listed name)
pairs in C. ``token_alignment`` then aligns the name parts of the pairs that look close enough,
weighting each part by its rarity in the list, so that two companies sharing only "Blue ...
Electronics" do not look alike while "Blue Trier Electronics" and "Blue Triero Electronics" do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, JaroWinkler
from rigour.text import is_stopword

from cintel.entities.normalise import name_phonetic

# Credit for an initial standing for a whole name part ("j" for "john").
INITIAL_CREDIT = 0.8
# Credit for an abbreviation: a part of 3+ letters whose letters appear in order in the other ("intl").
ABBREVIATION_CREDIT = 0.8
# Credit for two parts that sound alike (same metaphone code) but are spelt apart ("Mohammed"/"Muhammad").
PHONETIC_CREDIT = 0.85
# Weight of a stopword part ("the", "of", "and"): nearly nothing.
STOPWORD_WEIGHT = 0.1
# Weight of a single-letter part: an initial says little about who is meant.
INITIAL_WEIGHT = 1.0
# Name score = token alignment x (TOKEN_FLOOR + (1 - TOKEN_FLOOR) x whole-string similarity).
TOKEN_FLOOR = 0.6


def string_features(q_cores: list[str], c_cores: list[str]) -> dict[str, np.ndarray]:
    """Whole-string similarities in [0, 1] of aligned lists of name cores (one pair per position)."""
    if not q_cores:
        empty = np.empty(0, dtype=np.float64)
        return {"ratio": empty, "token_sort": empty, "token_set": empty, "jaro_winkler": empty}
    q_sorted = [" ".join(sorted(c.split(" "))) for c in q_cores]
    c_sorted = [" ".join(sorted(c.split(" "))) for c in c_cores]

    def pairwise(a: list[str], b: list[str], scorer: Callable[..., float], scale: float) -> np.ndarray:
        # workers=1: screening throughput is reported per core.
        out = process.cpdist(a, b, scorer=scorer, workers=1, dtype=np.float64)
        return np.asarray(out, dtype=np.float64) / scale

    return {
        "ratio": pairwise(q_cores, c_cores, fuzz.ratio, 100.0),
        "token_sort": pairwise(q_sorted, c_sorted, fuzz.ratio, 100.0),
        "token_set": pairwise(q_cores, c_cores, fuzz.token_set_ratio, 100.0),
        "jaro_winkler": pairwise(q_sorted, c_sorted, JaroWinkler.normalized_similarity, 1.0),
    }


def _is_abbreviation(short: str, long: str) -> bool:
    if len(short) < 3 or len(short) >= len(long) or short[0] != long[0]:
        return False
    it = iter(long)
    return all(ch in it for ch in short)


@lru_cache(maxsize=500_000)
def token_similarity(a: str, b: str) -> float:
    """Similarity of two name parts in [0, 1]: equal, initial, abbreviation, same sound or edit distance."""
    if a == b:
        return 1.0
    if len(a) == 1 or len(b) == 1:
        return INITIAL_CREDIT if a[0] == b[0] else 0.0
    best = float(OSA.normalized_similarity(a, b))
    if _is_abbreviation(a, b) or _is_abbreviation(b, a):
        best = max(best, ABBREVIATION_CREDIT)
    if best < PHONETIC_CREDIT and a.isalpha() and b.isalpha() and name_phonetic(a) == name_phonetic(b):
        best = PHONETIC_CREDIT
    # Below one half the parts are different words; partial credit would only add noise.
    return best if best >= 0.5 else 0.0


def part_weights(core: str, weight: Callable[[str], float]) -> tuple[list[str], list[float]]:
    """The name parts of a core and the weight each carries in ``token_alignment``."""
    parts = core.split(" ")
    return parts, [INITIAL_WEIGHT if len(t) == 1 else STOPWORD_WEIGHT if is_stopword(t) else weight(t) for t in parts]


def token_alignment(q_parts: tuple[list[str], list[float]], c_parts: tuple[list[str], list[float]]) -> float:
    """Rarity-weighted share of name parts that find a counterpart on the other side (both directions).

    Takes the output of ``part_weights`` for each side.
    """
    q_tokens, q_weights = q_parts
    c_tokens, c_weights = c_parts
    total = sum(q_weights) + sum(c_weights)
    if total <= 0:
        return 0.0
    sims = [[token_similarity(a, b) for b in c_tokens] for a in q_tokens]
    matched = sum(w * max(row) for w, row in zip(q_weights, sims, strict=True))
    matched += sum(w * max(col) for w, col in zip(c_weights, zip(*sims, strict=True), strict=True))
    return float(matched / total)


def blend(token: float, ratio: float, token_sort: float) -> float:
    """The name score from its parts: the token alignment, discounted where the strings differ overall.

    A product rather than a sum: two names whose distinctive part disagrees (low alignment) must
    not be rescued by long shared generic words that make the whole strings look alike.
    """
    return token * (TOKEN_FLOOR + (1.0 - TOKEN_FLOOR) * max(ratio, token_sort))
