"""Sampling helpers shared by the generators: seeded streams, vectorised choices, date strings."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date

import numpy as np
import polars as pl

from cintel.domain.records import RecordFormat

_EPOCH = date(1970, 1, 1)


def stage_rng(seed: int, stage: str) -> np.random.Generator:
    """An independent random stream per generation stage, so changing one stage leaves the others intact."""
    return np.random.default_rng([seed, zlib.crc32(stage.encode())])


def day_number(day: date) -> int:
    """Days since 1970-01-01 (the integer form dates take inside the generator)."""
    return (day - _EPOCH).days


def date_strings(days: np.ndarray | pl.Series) -> pl.Series:
    """ISO ``YYYY-MM-DD`` strings for day numbers."""
    return pl.Series(days).cast(pl.Int32).cast(pl.Date).dt.strftime("%Y-%m-%d")


def datetime_strings(seconds: np.ndarray) -> pl.Series:
    """ISO 8601 UTC timestamps (``YYYY-MM-DDTHH:MM:SSZ``) for seconds since the epoch."""
    return (pl.Series(seconds.astype(np.int64) * 1_000_000).cast(pl.Datetime("us"))
            .dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def choose_rows(rng: np.random.Generator, probabilities: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each entry of ``rows``, a column drawn from that row of a row-stochastic matrix.

    Works on the flattened cumulative matrix, so memory stays O(matrix) however many draws.
    """
    n_rows, n_cols = probabilities.shape
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative /= np.where(cumulative[:, -1:] > 0, cumulative[:, -1:], 1.0)
    cumulative[:, -1] = 1.0 + 1e-9
    flat = (np.arange(n_rows)[:, None] + cumulative).ravel()
    draws = rows + rng.random(len(rows)) * (1 - 1e-9)
    columns: np.ndarray = np.searchsorted(flat, draws, side="right") - rows * n_cols
    return columns


def weighted(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """n indices drawn with probability proportional to ``weights``."""
    cumulative = np.cumsum(weights, dtype=float)
    index: np.ndarray = np.minimum(np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right"),
                                   len(weights) - 1)
    return index


def pick_in_groups(rng: np.random.Generator, group_of_member: np.ndarray, groups: np.ndarray,
                   fallback: np.ndarray | None = None) -> np.ndarray:
    """A uniformly chosen member (index into ``group_of_member``) of each requested group.

    Requests for an empty group get ``fallback`` (same length as ``groups``), or -1 without one.
    """
    order = np.argsort(group_of_member, kind="stable")
    sorted_groups = group_of_member[order]
    start = np.searchsorted(sorted_groups, groups, side="left")
    size = np.searchsorted(sorted_groups, groups, side="right") - start
    pick = start + (rng.random(len(groups)) * np.maximum(size, 1)).astype(np.int64)
    chosen = order[np.minimum(pick, len(order) - 1)]
    missing = fallback if fallback is not None else np.full(len(groups), -1)
    return np.where(size > 0, chosen, missing)


def zipf_weights(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Heavy-tailed sizes: the k-th largest of n is about k^-exponent, ranks shuffled, a little jitter.

    Ranks rather than random Pareto draws keep the concentration stable in small worlds too.
    """
    ranks = rng.permutation(n) + 1.0
    return ranks ** (-exponent) * rng.lognormal(0.0, 0.2, n)


def lookup(table: Sequence[str] | np.ndarray | pl.Series, index: np.ndarray) -> pl.Series:
    """Strings of a small table gathered by index (negative index = null), without numpy strings.

    Building large numpy string arrays and converting them is the slowest path there is; gathering
    from a small polars Series is fast whatever the number of rows.
    """
    values = table if isinstance(table, pl.Series) else pl.Series(np.asarray(table).tolist(), dtype=pl.String)
    index = np.asarray(index, dtype=np.int64)
    out = values.gather(np.maximum(index, 0))
    if (index < 0).any():
        out = pl.select(pl.when(pl.Series(index >= 0)).then(out)).to_series()
    return out


def in_format(frame: pl.DataFrame, fmt: RecordFormat) -> pl.DataFrame:
    """The frame's columns in the format's order; optional fields the simulation does not model are empty."""
    return frame.select(pl.col(f.name) if f.name in frame.columns else pl.lit(None, dtype=pl.String).alias(f.name)
                        for f in fmt.fields)
