"""Risk spreads from seizures and watch-list hits: less with every tie, less as the seed ages, never from
what was not yet known."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from cintel.network import EntityGraph, NetworkError, propagate_risk
from tests.network import build

SEIZED = date(2024, 1, 1)
LATER = date(2024, 3, 1)
AS_OF = date(2024, 6, 1)


def chain() -> EntityGraph:
    """A seized company, its phone, a second company on that phone, that company's director; and an
    unrelated company."""
    return build([("entity:S", "phone:1", "has_phone", SEIZED), ("entity:B", "phone:1", "has_phone", SEIZED),
                  ("person:p", "entity:B", "director_of", None)], extra_nodes=["entity:X"])


def seeds(day: date = SEIZED, node: str = "entity:S", weight: float = 1.0) -> pl.DataFrame:
    return pl.DataFrame({"node_id": [node], "weight": [weight], "date": [day]})


def by_node(frame: pl.DataFrame, column: str) -> dict[str, float]:
    return dict(frame.select("node_id", column).iter_rows())


def test_risk_decreases_with_distance_from_the_seed() -> None:
    out = propagate_risk(chain(), seeds(), as_of=AS_OF)
    risk, hops = by_node(out, "risk"), by_node(out, "hops_to_seed")
    assert risk["entity:S"] > risk["phone:1"] > risk["entity:B"] > risk["person:p"] > 0
    assert hops == {"entity:S": 0, "phone:1": 1, "entity:B": 2, "person:p": 3, "entity:X": None}
    assert risk["entity:X"] == 0
    assert out["node_id"][0] == "entity:S"  # highest risk first


def test_risk_halves_with_every_half_life_of_the_seed() -> None:
    g = chain()
    fresh = by_node(propagate_risk(g, seeds(), as_of=SEIZED + timedelta(days=1), half_life_days=100), "risk")
    older = by_node(propagate_risk(g, seeds(), as_of=SEIZED + timedelta(days=101), half_life_days=100), "risk")
    for node in ("entity:S", "phone:1", "person:p"):
        assert older[node] == pytest.approx(fresh[node] / 2)


def test_an_isolated_fresh_seed_of_weight_one_has_risk_one() -> None:
    out = propagate_risk(chain(), seeds(node="entity:X", day=AS_OF - timedelta(days=1)), as_of=AS_OF,
                         half_life_days=1e9)
    assert by_node(out, "risk")["entity:X"] == pytest.approx(1.0)


def test_risk_of_a_node_does_not_depend_on_unrelated_seeds() -> None:
    g = chain()
    alone = by_node(propagate_risk(g, seeds(), as_of=AS_OF), "risk")
    both = pl.concat([seeds(), seeds(node="entity:X")])
    together = by_node(propagate_risk(g, both, as_of=AS_OF), "risk")
    assert together["entity:B"] == pytest.approx(alone["entity:B"])


def test_seeds_known_only_after_as_of_are_ignored() -> None:
    out = propagate_risk(chain(), seeds(day=AS_OF), as_of=AS_OF)
    assert out["risk"].max() == 0
    assert out["hops_to_seed"].null_count() == out.height


def test_ties_evidenced_after_as_of_carry_no_risk() -> None:
    g = build([("entity:S", "phone:1", "has_phone", SEIZED), ("entity:B", "phone:1", "has_phone", LATER)])
    before = by_node(propagate_risk(g, seeds(), as_of=LATER), "risk")
    after = by_node(propagate_risk(g, seeds(), as_of=AS_OF), "risk")
    assert before["entity:B"] == 0
    assert after["entity:B"] > 0


def test_edge_kinds_limit_what_carries_risk() -> None:
    out = propagate_risk(chain(), seeds(), as_of=AS_OF, edge_kinds={"has_phone"})
    assert by_node(out, "risk")["person:p"] == 0


def test_seeds_naming_unknown_nodes_are_an_error() -> None:
    with pytest.raises(NetworkError, match="entity:nobody"):
        propagate_risk(chain(), seeds(node="entity:nobody"), as_of=AS_OF)
