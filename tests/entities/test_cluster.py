"""Clustering scored pairs under analysts' decisions, and keeping entity ids stable."""

from __future__ import annotations

import polars as pl

from cintel.entities.cluster import assign_ids, cluster

IDS = pl.Series(["a", "b", "c", "d", "e"])
NO_DECISIONS = pl.DataFrame(schema={"record_a": pl.String, "record_b": pl.String, "decision": pl.String})


def _pairs(*rows: tuple[str, str, float]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"record_a": pl.String, "record_b": pl.String, "probability": pl.Float64},
                        orient="row")


def _decisions(*rows: tuple[str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"record_a": pl.String, "record_b": pl.String, "decision": pl.String},
                        orient="row")


def _groups(frame: pl.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g) for g in frame.group_by("cluster").agg("record_id")["record_id"].to_list()}


def test_pairs_at_or_above_the_threshold_join_records() -> None:
    pairs = _pairs(("a", "b", 0.95), ("b", "c", 0.90), ("d", "e", 0.89))
    assert _groups(cluster(IDS, pairs, NO_DECISIONS, 0.9)) == {frozenset("abc"), frozenset("d"), frozenset("e")}


def test_same_decision_joins_what_the_model_did_not() -> None:
    out = cluster(IDS, _pairs(), _decisions(("e", "d", "same")), 0.9)
    assert frozenset("de") in _groups(out)


def test_not_same_breaks_the_weakest_link_of_a_chain() -> None:
    pairs = _pairs(("a", "b", 0.99), ("b", "c", 0.92), ("a", "c", 0.91))
    out = cluster(IDS, pairs, _decisions(("a", "c", "not_same")), 0.9)
    assert _groups(out) == {frozenset("ab"), frozenset("c"), frozenset("d"), frozenset("e")}


def test_the_latest_decision_on_a_pair_wins() -> None:
    pairs = _pairs(("a", "b", 0.99))
    decisions = _decisions(("a", "b", "not_same"), ("b", "a", "same"))
    assert frozenset("ab") in _groups(cluster(IDS, pairs, decisions, 0.9))


def test_clusters_do_not_depend_on_pair_order() -> None:
    pairs = _pairs(("a", "b", 0.99), ("c", "b", 0.95), ("d", "e", 0.97))
    shuffled = pairs.sample(fraction=1.0, shuffle=True, seed=3)
    assert cluster(IDS, pairs, NO_DECISIONS, 0.9).equals(cluster(IDS, shuffled, NO_DECISIONS, 0.9))


def test_ids_are_kept_by_the_cluster_holding_most_of_their_records() -> None:
    clusters = pl.DataFrame({"record_id": ["a", "b", "c", "d"], "cluster": [0, 0, 0, 1]})
    previous = pl.DataFrame({"record_id": ["a", "b", "c", "d"], "entity_id": ["ENT1", "ENT1", "ENT2", "ENT2"]})
    assigned, next_number = assign_ids(clusters, previous, 3)
    owner = dict(assigned.iter_rows())
    assert owner["a"] == owner["b"] == owner["c"] == "ENT1"
    assert owner["d"] == "ENT2"
    assert next_number == 3


def test_new_clusters_get_fresh_ids() -> None:
    clusters = pl.DataFrame({"record_id": ["a", "b"], "cluster": [0, 1]})
    previous = pl.DataFrame({"record_id": ["a"], "entity_id": ["ENT00000007"]})
    assigned, next_number = assign_ids(clusters, previous, 8)
    assert dict(assigned.iter_rows()) == {"a": "ENT00000007", "b": "ENT00000008"}
    assert next_number == 9


def test_two_registration_numbers_never_share_an_entity_unless_an_analyst_says_so() -> None:
    pairs = _pairs(("a", "b", 0.99), ("b", "c", 0.98))
    labels = pl.DataFrame({"record_id": ["a", "c"], "label": ["NL1", "NL2"]})
    model = cluster(IDS, pairs, NO_DECISIONS, 0.9, labels)
    assert not any({"a", "c"} <= group for group in _groups(model))
    assert frozenset("ab") in _groups(model)
    analyst = cluster(IDS, pairs, _decisions(("a", "c", "same")), 0.9, labels)
    assert frozenset("abc") in _groups(analyst)


def test_a_name_only_record_does_not_chain_namesakes_at_different_addresses() -> None:
    pairs = _pairs(("a", "b", 0.97), ("b", "c", 0.95))
    labels = pl.DataFrame({"record_id": ["a", "b", "c"], "label": [None, None, None],
                           "address": ["kerkstraat 1", None, "dorpsweg 9"]}, schema_overrides={"label": pl.String})
    groups = _groups(cluster(IDS, pairs, NO_DECISIONS, 0.9, labels))
    assert frozenset("ab") in groups
    assert frozenset("c") in groups
