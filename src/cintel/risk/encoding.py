"""How declaration features become a booster's input columns: category vocabularies and smoothed
out-of-fold target encodings learned on the training window, as plain data for the registry."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from cintel.errors import CintelError

FloatArray = npt.NDArray[np.float64]

# A row-by-row Python path beats building Polars expressions for tiny frames (single declarations).
SMALL_FRAME = 32


class TrainingError(CintelError):
    """The training frame cannot give a model (empty window, one class only, missing column)."""


def _key(value: Any) -> str | None:
    """A category as the string Polars gives when casting the column (booleans lower-case)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class TargetMap:
    """Smoothed fraud rate and count per category seen in training; unseen or null gets the prior."""

    prior: float
    values: dict[str, tuple[float, float]]


class Encoding:
    """How declaration features become the booster's input columns, learned on the training window.

    Numeric features pass through; native categorical ones become integer codes (unseen -> missing);
    target-encoded ones become ``<feature>__te`` (smoothed fraud rate) and ``<feature>__n`` (count).
    Lookup tables are built once here, not per scoring call.
    """

    def __init__(self, features: Sequence[str], vocab: Mapping[str, Sequence[str]],
                 target: Mapping[str, TargetMap]) -> None:
        self.features = tuple(features)
        self.vocab = {f: list(v) for f, v in vocab.items()}
        self.target = dict(target)
        self.sources: list[tuple[str, str]] = []  # (feature, how) per input column
        self.columns: list[str] = []
        for f in self.features:
            if f in self.vocab:
                self.sources.append((f, "cat"))
                self.columns.append(f)
            if f in self.target:
                self.sources += [(f, "te"), (f, "n")]
                self.columns += [f"{f}__te", f"{f}__n"]
            if f not in self.vocab and f not in self.target:
                self.sources.append((f, "num"))
                self.columns.append(f)
        self._codes = {f: {c: float(i) for i, c in enumerate(v)} for f, v in self.vocab.items()}
        self._lookup: dict[tuple[str, str], tuple[dict[str, float], float | None]] = {}
        for f, how in self.sources:
            if how == "cat":
                self._lookup[(f, how)] = (self._codes[f], None)
            elif how in ("te", "n"):
                i = 0 if how == "te" else 1
                tm = self.target[f]
                self._lookup[(f, how)] = ({k: v[i] for k, v in tm.values.items()}, tm.prior if i == 0 else 0.0)
        self._series = {key: (pl.Series(list(m), dtype=pl.String), pl.Series(list(m.values()), dtype=pl.Float64))
                        for key, (m, _) in self._lookup.items()}
        fold = np.zeros((len(self.columns), len(self.features)))
        for j, (f, _) in enumerate(self.sources):
            fold[j, self.features.index(f)] = 1.0
        self._fold = fold

    def categorical_columns(self) -> list[str]:
        return [c for c, (_, how) in zip(self.columns, self.sources, strict=True) if how == "cat"]

    def fold_matrix(self) -> FloatArray:
        """Input columns x features: sums the contributions of derived columns back into their feature."""
        return self._fold

    def frame_matrix(self, frame: pl.DataFrame) -> FloatArray:
        exprs = []
        for col, (f, how) in zip(self.columns, self.sources, strict=True):
            if how == "num":
                exprs.append(pl.col(f).cast(pl.Float64).alias(col))
                continue
            keys, vals = self._series[(f, how)]
            exprs.append(pl.col(f).cast(pl.String).replace_strict(keys, vals, default=self._lookup[(f, how)][1],
                                                                  return_dtype=pl.Float64).alias(col))
        return np.asarray(frame.select(exprs).to_numpy(), dtype=np.float64).reshape(frame.height, len(exprs))

    def rows_matrix(self, rows: Sequence[Mapping[str, Any]]) -> FloatArray:
        out = np.full((len(rows), len(self.columns)), np.nan)
        for i, row in enumerate(rows):
            for j, (f, how) in enumerate(self.sources):
                v = row.get(f)
                if how == "num":
                    out[i, j] = np.nan if v is None else float(v)
                else:
                    table, default = self._lookup[(f, how)]
                    k = _key(v)
                    hit = table.get(k) if k is not None else None
                    out[i, j] = hit if hit is not None else (np.nan if default is None else default)
        return out

    def vocab_record(self) -> dict[str, list[str]]:
        return self.vocab

    def to_record(self) -> dict[str, Any]:
        return {"features": list(self.features),
                "target": {f: {"prior": t.prior, "values": {k: list(v) for k, v in t.values.items()}}
                           for f, t in self.target.items()}}

    @classmethod
    def from_record(cls, record: Mapping[str, Any], vocab: Mapping[str, Sequence[str]]) -> Encoding:
        target = {f: TargetMap(t["prior"], {k: (v[0], v[1]) for k, v in t["values"].items()})
                  for f, t in record["target"].items()}
        return cls(record["features"], vocab, target)


def fit_encoding(train: pl.DataFrame, features: Sequence[str], categorical: Sequence[str],
                 target_encoded: Sequence[str], y: FloatArray, *, smoothing: float, folds: int,
                 rng: np.random.Generator) -> tuple[Encoding, FloatArray]:
    """Learn vocabularies and target encodings on the training window; return them and its matrix.

    The training rows get *out-of-fold* encodings (each row's rate comes from the other folds), so the
    booster cannot learn the label through a category's own rows; later rows get the full-window rates.
    """
    unknown = set(categorical) | set(target_encoded)
    if not unknown <= set(features):
        raise TrainingError(f"categorical/target-encoded names not among features: {sorted(unknown - set(features))}")
    textual = [f for f in features
               if f not in unknown and not (train.schema[f].is_numeric() or train.schema[f] == pl.Boolean)]
    if textual:
        raise TrainingError(f"features {textual} are not numbers: list them as categorical or target-encoded")
    vocab = {f: sorted(train[f].cast(pl.String).drop_nulls().unique().to_list()) for f in categorical}
    prior = float(y.mean())
    fold = rng.integers(0, folds, size=train.height)
    target, oof = {}, {}
    for f in target_encoded:
        df = pl.DataFrame({"k": train[f].cast(pl.String), "y": y, "fold": fold}).with_row_index("i")
        total = df.group_by("k").agg(s=pl.col("y").sum(), c=pl.len())
        part = df.group_by("k", "fold").agg(sf=pl.col("y").sum(), cf=pl.len())
        j = df.join(total, on="k", how="left").join(part, on=["k", "fold"], how="left").sort("i")
        rate = ((j["s"] - j["sf"]) + prior * smoothing) / ((j["c"] - j["cf"]) + smoothing)
        oof[f] = rate.fill_null(prior).to_numpy()
        full = total.drop_nulls("k").with_columns(te=(pl.col("s") + prior * smoothing) / (pl.col("c") + smoothing))
        target[f] = TargetMap(prior, {k: (float(t), float(c)) for k, t, c in full.select("k", "te", "c").iter_rows()})
    enc = Encoding(features, vocab, target)
    x = enc.frame_matrix(train)
    for f, values in oof.items():
        x[:, enc.columns.index(f"{f}__te")] = values
    return enc, x


