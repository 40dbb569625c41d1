from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cintel.domain.codes import Channel
from cintel.risk.selection import SelectionPolicy, exploration_split, select, summarise


def make_day(priority: Sequence[float | None] | np.ndarray, *, rule_channel: Sequence[str | None] | None = None,
             probability: Sequence[float | None] | np.ndarray | None = None, rule_score: Sequence[float] | None = None,
             ids: Sequence[str] | None = None) -> pl.DataFrame:
    n = len(priority)
    rule_channel = rule_channel if rule_channel is not None else [None] * n
    return pl.DataFrame({
        "declaration_id": ids if ids is not None else [f"D{i:05d}" for i in range(n)],
        "priority": pl.Series(list(priority), dtype=pl.Float64),
        "rule_channel": pl.Series(rule_channel, dtype=pl.String),
        "rule_ids": pl.Series([[f"R-{c}"] if c else [] for c in rule_channel], dtype=pl.List(pl.String)),
        "rule_score": pl.Series(rule_score if rule_score is not None else [0.0] * n, dtype=pl.Float64),
        "probability": pl.Series(list(probability) if probability is not None else [None] * n, dtype=pl.Float64),
    })


def counts(out: pl.DataFrame) -> dict[tuple[str, str], int]:
    return {(r["channel"], r["selection_reason"]): r["len"]
            for r in out.group_by("channel", "selection_reason").len().iter_rows(named=True)}


# --- examples -------------------------------------------------------------------------------------------------


def test_score_fills_red_then_yellow_from_the_top_of_the_ranking() -> None:
    day = make_day([float(p) for p in range(10)])  # D00009 has the highest priority
    out = select(day, SelectionPolicy(red_capacity=2, yellow_capacity=3, random_share=0, exploration_share=0))
    red = out.filter(pl.col("channel") == "red")["declaration_id"].sort().to_list()
    yellow = out.filter(pl.col("channel") == "yellow")["declaration_id"].sort().to_list()
    assert red == ["D00008", "D00009"]
    assert yellow == ["D00005", "D00006", "D00007"]
    assert out.filter(pl.col("declaration_id") == "D00009").row(0, named=True)["selection_detail"] == "rank 1"
    assert set(out.filter(pl.col("channel") == "green")["selection_reason"]) == {"none"}
    assert out.filter(pl.col("channel") == "green")["selection_detail"].null_count() == 5


def test_mandatory_rule_hits_go_past_capacity_and_the_overflow_is_reported() -> None:
    day = make_day([1.0] * 10, rule_channel=["red"] * 5 + ["yellow"] + [None] * 4)
    policy = SelectionPolicy(red_capacity=3, yellow_capacity=2, random_share=0, exploration_share=0)
    out = select(day, policy)
    assert counts(out) == {("red", "rule"): 5, ("yellow", "rule"): 1, ("yellow", "score"): 1, ("green", "none"): 3}
    assert out.filter(pl.col("selection_reason") == "rule")["selection_detail"].to_list()[0] == "R-red"
    assert summarise(out, policy)["overflow"] == {"red": 2, "yellow": 0}
    unnamed = select(day.with_columns(rule_ids=pl.lit([], dtype=pl.List(pl.String))), policy)
    assert unnamed.filter(pl.col("selection_reason") == "rule")["selection_detail"].to_list()[-1] == "yellow rule"


def test_random_share_is_exact_reproducible_and_not_starved_by_a_full_channel() -> None:
    day = make_day(np.linspace(0, 1, 1000))
    policy = SelectionPolicy(red_capacity=0, yellow_capacity=0, random_share=0.013, seed=7)
    out = select(day, policy)
    randoms = out.filter(pl.col("selection_reason") == "random")
    assert randoms.height == 13
    assert set(randoms["channel"]) == {"red"}
    assert all(d.startswith("draw 0.") for d in randoms["selection_detail"])
    assert summarise(out, policy)["overflow"]["red"] == 13
    assert select(day, policy).equals(out)
    other = select(day, SelectionPolicy(red_capacity=0, yellow_capacity=0, random_share=0.013, seed=8))
    assert set(other.filter(pl.col("selection_reason") == "random")["declaration_id"]) != set(
        randoms["declaration_id"])


def test_random_picks_can_go_to_yellow_and_count_against_its_capacity() -> None:
    day = make_day(np.linspace(0, 1, 100))
    out = select(day, SelectionPolicy(red_capacity=0, yellow_capacity=5, random_share=0.03,
                                      exploration_share=0, random_channel=Channel.YELLOW))
    assert counts(out) == {("yellow", "random"): 3, ("yellow", "score"): 2, ("green", "none"): 95}


def test_exploration_takes_the_most_uncertain_not_the_highest_priority() -> None:
    # Priority falls with the id; probability is 0.5 only for the two lowest-priority declarations.
    prob = [0.99] * 18 + [0.5, 0.5]
    day = make_day(np.arange(20, 0, -1, dtype=float), probability=prob)
    out = select(day, SelectionPolicy(red_capacity=10, yellow_capacity=0, random_share=0, exploration_share=0.2))
    explored = out.filter(pl.col("selection_reason") == "exploration")
    assert sorted(explored["declaration_id"]) == ["D00018", "D00019"]
    assert set(explored["channel"]) == {"red"}
    assert set(explored["selection_detail"]) == {"value 0.25"}
    assert out.filter(pl.col("selection_reason") == "score").height == 8


def test_exploration_value_column_overrides_uncertainty_and_unknown_probability_counts_as_most_uncertain() -> None:
    day = make_day([5.0, 4.0, 3.0, 2.0, 1.0], probability=[0.5, 0.9, 0.9, 0.01, None])
    policy = SelectionPolicy(red_capacity=0, yellow_capacity=2, random_share=0, exploration_share=0.5)
    out = select(day, policy)
    assert out.filter(pl.col("selection_reason") == "exploration")["declaration_id"].to_list() == ["D00004"]
    valued = day.with_columns(exploration_value=pl.Series([0.0, 0.0, 0.0, 9.0, 0.0]))
    out = select(valued, policy)
    assert out.filter(pl.col("selection_reason") == "exploration")["declaration_id"].to_list() == ["D00003"]


def test_exploration_places_are_split_in_proportion_to_the_capacity_left() -> None:
    assert exploration_split(10, 30, 70) == (3, 7)
    assert exploration_split(3, 1, 1) == (1, 2)
    assert exploration_split(0, 0, 0) == (0, 0)
    day = make_day(np.linspace(0, 1, 1000))
    out = select(day, SelectionPolicy(red_capacity=30, yellow_capacity=70, random_share=0, exploration_share=0.1))
    assert counts(out)[("red", "exploration")] == 3
    assert counts(out)[("yellow", "exploration")] == 7
    assert counts(out)[("red", "score")] == 27
    assert counts(out)[("yellow", "score")] == 63


def test_rule_score_breaks_ties_in_priority_and_null_priority_ranks_last() -> None:
    day = make_day([1.0, 1.0, None, 0.5], rule_score=[0.0, 2.0, 9.0, 0.0])
    out = select(day, SelectionPolicy(red_capacity=1, yellow_capacity=0, random_share=0, exploration_share=0))
    assert out["rank"].to_list() == [2, 1, 4, 3]
    assert out.filter(pl.col("channel") == "red")["declaration_id"].to_list() == ["D00001"]


def test_the_result_does_not_depend_on_the_order_of_the_rows() -> None:
    rng = np.random.default_rng(3)
    day = make_day(rng.integers(0, 5, 500).astype(float), probability=rng.random(500))
    policy = SelectionPolicy(red_capacity=20, yellow_capacity=30, random_share=0.05, exploration_share=0.3, seed=11)
    a = select(day, policy).sort("declaration_id")
    b = select(day.sample(fraction=1.0, shuffle=True, seed=1), policy).sort("declaration_id")
    assert a.equals(b)


def test_empty_day_and_bad_inputs() -> None:
    out = select(make_day([]), SelectionPolicy(red_capacity=5, yellow_capacity=5))
    assert out.height == 0
    assert {"channel", "selection_reason", "selection_detail", "rank"} <= set(out.columns)
    with pytest.raises(ValueError, match="lacks columns"):
        select(make_day([1.0]).drop("rule_score"), SelectionPolicy(red_capacity=1, yellow_capacity=1))
    with pytest.raises(ValueError, match="unique"):
        select(make_day([1.0, 2.0], ids=["A", "A"]), SelectionPolicy(red_capacity=1, yellow_capacity=1))
    with pytest.raises(ValueError, match="rule_channel"):
        select(make_day([1.0], rule_channel=["green"]), SelectionPolicy(red_capacity=1, yellow_capacity=1))
    with pytest.raises(ValueError, match="random_channel"):
        SelectionPolicy(red_capacity=1, yellow_capacity=1, random_channel=Channel.GREEN)
    with pytest.raises(ValueError, match="exploration_share"):
        SelectionPolicy(red_capacity=1, yellow_capacity=1, exploration_share=1.5)
    with pytest.raises(ValueError, match="capacities"):
        SelectionPolicy(red_capacity=-1, yellow_capacity=1)


# --- properties -----------------------------------------------------------------------------------------------


@st.composite
def days(draw: st.DrawFn) -> tuple[pl.DataFrame, SelectionPolicy]:
    n = draw(st.integers(0, 2000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = draw(st.sampled_from(["continuous", "ties", "all_equal"]))
    priority = {"continuous": rng.random(n), "ties": rng.integers(0, 4, n).astype(float),
                "all_equal": np.ones(n)}[shape]
    priority[rng.random(n) < draw(st.sampled_from([0.0, 0.05]))] = np.nan
    rule_rate = draw(st.sampled_from([0.0, 0.01, 0.3]))
    u = rng.random(n)
    rule_channel = np.where(u < rule_rate / 2, "red", np.where(u < rule_rate, "yellow", "")).tolist()
    prob: list[float | None] = rng.random(n).tolist()
    null_rate = draw(st.sampled_from([0.0, 0.2, 1.0]))
    prob = [None if rng.random() < null_rate else p for p in prob]
    day = make_day(priority, rule_channel=[c or None for c in rule_channel], probability=prob,
                   rule_score=rng.integers(0, 3, n).astype(float).tolist())
    policy = SelectionPolicy(
        red_capacity=draw(st.integers(0, 2500)), yellow_capacity=draw(st.integers(0, 2500)),
        random_share=draw(st.floats(0, 1)), exploration_share=draw(st.floats(0, 1)),
        random_channel=draw(st.sampled_from([Channel.RED, Channel.YELLOW])), seed=draw(st.integers(0, 1000)))
    return day, policy


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(days())
def test_selection_respects_capacity_random_and_exploration_shares_exactly(
        case: tuple[pl.DataFrame, SelectionPolicy]) -> None:
    day, policy = case
    out = select(day, policy)
    n = day.height
    c = counts(out)
    # Every row keeps its place and gets exactly one channel and one reason.
    assert out["declaration_id"].equals(day["declaration_id"])
    assert out["channel"].null_count() == 0
    assert set(out["channel"]) <= {"green", "yellow", "red"}
    assert sorted(out["rank"].to_list()) == list(range(1, n + 1))
    # Rule hits go to their channel.
    assert (out.filter(pl.col("rule_channel").is_not_null())
            .select((pl.col("channel") == pl.col("rule_channel")).all() & (pl.col("selection_reason") == "rule").all())
            .item() in (True, None))
    rules = {ch: c.get((ch, "rule"), 0) for ch in ("red", "yellow")}
    free = n - sum(rules.values())
    # Exactly the random count, in the random channel.
    n_random = min(round(policy.random_share * n), free)
    assert sum(v for (_, r), v in c.items() if r == "random") == n_random
    assert c.get((policy.random_channel.value, "random"), 0) == n_random
    # Capacity is never exceeded except by mandatory rule hits and the random sample.
    used = {ch: rules[ch] + (n_random if policy.random_channel.value == ch else 0) for ch in ("red", "yellow")}
    left = {ch: max(0, policy.capacity(Channel(ch)) - used[ch]) for ch in used}
    for ch in ("red", "yellow"):
        assert sum(v for (k, _), v in c.items() if k == ch) <= max(policy.capacity(Channel(ch)), used[ch])
    eligible = free - n_random
    filled = sum(v for (_, r), v in c.items() if r in ("score", "exploration"))
    assert filled == min(eligible, left["red"] + left["yellow"])
    # Exactly the exploration count (and its split) when there are enough declarations.
    if eligible >= left["red"] + left["yellow"]:
        e_red, e_yellow = exploration_split(math.floor(policy.exploration_share * (left["red"] + left["yellow"])),
                                            left["red"], left["yellow"])
        assert c.get(("red", "exploration"), 0) == e_red
        assert c.get(("yellow", "exploration"), 0) == e_yellow
        for ch in ("red", "yellow"):
            assert c.get((ch, "score"), 0) + c.get((ch, "exploration"), 0) == left[ch]
    # A score pick ranks above every declaration left green.
    prio = out.with_columns(pl.col("priority").fill_nan(None).fill_null(-math.inf))
    scored = prio.filter(pl.col("selection_reason") == "score")
    green = prio.filter(pl.col("selection_reason") == "none")
    if scored.height and green.height:
        assert scored["priority"].min() >= green["priority"].max()  # type: ignore[operator]
        assert scored["rank"].max() < green["rank"].min()  # type: ignore[operator]
    # An exploration pick is at least as informative as every declaration left green.
    value = prio.with_columns(v=pl.col("probability").fill_null(0.5) * (1 - pl.col("probability").fill_null(0.5)))
    explored = value.filter(pl.col("selection_reason") == "exploration")
    if explored.height and green.height:
        assert explored["v"].min() >= value.filter(pl.col("selection_reason") == "none")["v"].max()  # type: ignore[operator]
    # Deterministic for a given seed.
    assert select(day, policy).equals(out)


def test_every_selection_is_told_in_a_clerks_words() -> None:
    """What the queue and the declaration page show under "Why selected" for each reason a selection gives:
    no draws, values or codes."""
    from cintel.risk.reasons import why_selected

    day = make_day(list(np.linspace(1, 0, 300)), rule_channel=["red", *([None] * 299)])
    chosen = select(day, SelectionPolicy(red_capacity=10, yellow_capacity=10, random_share=0.02,
                                         exploration_share=0.5, seed=3))
    told = {r["selection_reason"]: why_selected(r["selection_reason"], r["selection_detail"])
            for r in chosen.iter_rows(named=True)}
    assert set(told) == {"rule", "random", "score", "exploration", "none"}
    assert told["rule"] == "rule R-red"
    assert told["random"] == "random check"
    assert told["score"].startswith("high risk (rank ")
    assert told["exploration"] == "check to teach the model"
    assert told["none"] == "not selected"
    assert why_selected("rule", "R03,R06") == "rules R03, R06"
    assert why_selected("rule", "red rule") == "red rule"
    assert why_selected(None) == "not assessed"
