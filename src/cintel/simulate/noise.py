"""Name noise: the spellings under which one party appears across declarations and manifests.

Every party gets a small set of name variants (variant 0 is the registered name). A declaration
picks a variant: the registered one most of the time, another at the configured noise rate, and
nearly always another for parties that try to stay off the watch list. Variants are made with
the defects real data shows: typing errors, case changes, legal-form spellings (B.V./BV,
Co., Ltd./Company Limited), abbreviations, transliterations and reordered person names.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cintel.simulate.names import LEGAL_FORM_VARIANTS, TRANSLITERATIONS

N_VARIANTS = 5  # registered name + 4 variants per party

_ABBREVIATIONS: dict[str, str] = {
    "International": "Intl.", "Trading": "Trdg", "Import Export": "Imp. & Exp.", "Electronics": "Elec.",
    "Logistics": "Log.", "Industries": "Inds.", "Company": "Co.", "Limited": "Ltd", "Global": "Glob.",
    "Textiles": "Tex.", "Machinery": "Mach.", "Fresh Produce": "Produce", "Furniture": "Furn.",
}
# Operations a variant is made with; the integer is the operation's id in the frame below.
_OPS = ("legal_form", "upper", "typo_drop", "typo_swap", "typo_double", "abbreviate", "transliterate",
        "reorder", "strip_punctuation", "drop_legal_form", "lower")


def _legal_form_variant(rng: np.random.Generator, legal: pl.Series) -> pl.Series:
    """A different spelling of each legal form (the same one where none is known)."""
    values = legal.to_numpy().astype(object)
    out = values.copy()
    for form, variants in LEGAL_FORM_VARIANTS.items():
        rows = np.flatnonzero(values == form)
        out[rows] = np.asarray(variants)[rng.integers(0, len(variants), len(rows))]
    return pl.Series(out.astype(str), dtype=pl.String)


def name_variants(rng: np.random.Generator, names: pl.Series, legal_forms: pl.Series,
                  is_person: np.ndarray) -> pl.DataFrame:
    """``N_VARIANTS`` spellings for every party: columns ``party`` (row number), ``variant``, ``name``.

    Variant 0 is the name unchanged; the others each apply one or two noise operations.
    """
    n = len(names)
    k = N_VARIANTS - 1
    party = np.repeat(np.arange(n), k)
    person = np.repeat(is_person, k)
    op = rng.integers(0, len(_OPS), n * k)
    # People have no legal form; give them reordering or transliteration instead.
    op = np.where(person & np.isin(op, [0, 9]), np.where(rng.random(n * k) < 0.5, 6, 7), op)
    op = np.where(~person & (op == 7), 0, op)
    second = np.where(rng.random(n * k) < 0.3, rng.integers(1, 5, n * k), -1)  # some variants get a 2nd defect

    base = names.gather(party)
    legal = legal_forms.gather(party)
    frame = pl.DataFrame({
        "party": party, "name": base, "legal": legal,
        "legal_variant": _legal_form_variant(rng, legal), "op": op, "op2": second,
        "pos": rng.random(n * k),
    })
    body = pl.col("name").str.strip_suffix(pl.col("legal")).str.strip_chars()
    length = pl.col("name").str.len_chars()
    # Typos land anywhere but the first character, where a reader would notice them.
    at = (pl.col("pos") * (length - 2)).cast(pl.Int64) + 1
    ops: dict[int, pl.Expr] = {
        0: pl.when(pl.col("legal") != "").then(pl.concat_str([body, pl.col("legal_variant")], separator=" "))
        .otherwise(pl.col("name")),
        1: pl.col("name").str.to_uppercase(),
        2: pl.col("name").str.slice(0, at) + pl.col("name").str.slice(at + 1),
        3: pl.col("name").str.slice(0, at) + pl.col("name").str.slice(at + 1, 1) + pl.col("name").str.slice(at, 1)
        + pl.col("name").str.slice(at + 2),
        4: pl.col("name").str.slice(0, at + 1) + pl.col("name").str.slice(at),
        5: pl.col("name").str.replace_many(_ABBREVIATIONS),
        6: pl.col("name").str.replace_many(TRANSLITERATIONS),
        7: pl.col("name").str.split(" ").list.reverse().list.join(" "),
        8: pl.col("name").str.replace_all(r"[.,]", ""),
        9: pl.when(pl.col("legal") != "").then(body).otherwise(pl.col("name").str.to_uppercase()),
        10: pl.col("name").str.to_lowercase(),
    }

    def apply(op_col: str) -> pl.Expr:
        expr: pl.Expr = pl.col("name")
        for i in reversed(range(len(_OPS))):
            expr = pl.when(pl.col(op_col) == i).then(ops[i]).otherwise(expr)
        return expr

    varied = frame.with_columns(apply("op").alias("name")).with_columns(apply("op2").alias("name"))
    # A variant that came out unchanged (nothing to transliterate, say) gets a typing error instead.
    varied = varied.with_columns(pl.when(pl.col("name") == base).then(ops[2]).otherwise(pl.col("name")).alias("name"))
    varied = varied.select("party", pl.Series("variant", np.tile(np.arange(1, N_VARIANTS), n)),
                           pl.col("name").str.replace_all(r"\s+", " ").str.strip_chars())
    registered = pl.DataFrame({"party": np.arange(n), "variant": np.zeros(n, dtype=np.int64), "name": names})
    return pl.concat([registered, varied.cast(registered.schema)]).sort("party", "variant")


def choose_variants(rng: np.random.Generator, parties: np.ndarray, noise_rate: np.ndarray | float) -> np.ndarray:
    """Which spelling each mention of a party uses: 0 unless noise strikes (per-mention rate)."""
    noisy = rng.random(len(parties)) < noise_rate
    return np.where(noisy, rng.integers(1, N_VARIANTS, len(parties)), 0)


def variant_names(variants: pl.DataFrame, parties: np.ndarray, variant: np.ndarray) -> pl.Series:
    """The names for (party, variant) pairs, looked up by position in the sorted variants frame."""
    return variants["name"].gather(parties.astype(np.int64) * N_VARIANTS + variant)
