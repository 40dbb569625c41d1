"""Planted fraud schemes: rates, and the traces each leaves in the data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from cintel.domain.records import RecordKind
from cintel.simulate import Scheme, SimulationConfig, SimulationSummary
from tests.simulate.conftest import SMALL, read


def _truth(world: Path, name: str = "declarations_truth") -> pl.DataFrame:
    return pl.read_parquet(world / "truth" / f"{name}.parquet")


@pytest.mark.parametrize("scheme", list(Scheme))
def test_each_scheme_is_planted_at_roughly_its_configured_rate(world: Path, scheme: Scheme) -> None:
    expected = SimulationConfig().scheme(scheme).rate * SMALL
    planted = _truth(world).filter(pl.col("scheme") == scheme.value).height
    assert abs(planted - expected) <= max(3, 0.35 * expected), (planted, expected)


def test_summary_and_truth_agree_on_planted_counts(clean_world: tuple[Path, SimulationSummary]) -> None:
    out, summary = clean_world
    counts = dict(_truth(out).group_by("scheme").len().drop_nulls().iter_rows())
    assert counts == {k: v for k, v in summary.schemes.items() if v}


def test_only_fraudulent_declarations_put_revenue_at_risk(world: Path) -> None:
    truth = _truth(world)
    assert truth.filter(~pl.col("is_fraud"))["revenue_at_risk"].sum() == 0
    for scheme in ("undervaluation", "misclassification", "origin_misdeclaration", "front_company"):
        assert truth.filter(pl.col("scheme") == scheme)["revenue_at_risk"].mean() > 0, scheme


def test_undervalued_items_are_priced_well_below_their_peers(world: Path) -> None:
    items = read(world, RecordKind.DECLARATIONS).join(_truth(world).select("declaration_id", "scheme"),
                                                      on="declaration_id")
    items = items.filter(pl.col("transport_mode") == "1").with_columns(
        unit_value=pl.col("customs_value") / pl.col("quantity"))
    peers = items.filter(pl.col("scheme").is_null()).group_by("hs_code", "country_of_origin").agg(
        peer=pl.col("unit_value").median(), peers=pl.len())
    under = items.filter(pl.col("scheme").is_in(["undervaluation", "front_company"])).join(
        peers.filter(pl.col("peers") >= 5), on=["hs_code", "country_of_origin"])
    ratio = (under["unit_value"] / under["peer"]).median()
    assert under.height >= 20
    assert ratio < 0.6


def test_misclassified_goods_are_declared_under_a_lower_duty_heading(world: Path) -> None:
    items = _truth(world, "items_truth").join(_truth(world).select("declaration_id", "scheme"), on="declaration_id")
    relabelled = items.filter(pl.col("true_hs_code") != pl.col("declared_hs_code"))
    assert relabelled.height > 0
    assert set(relabelled["scheme"]) == {"misclassification"}
    assert (relabelled["declared_duty"] < relabelled["true_duty"]).all()


def test_origin_fraud_declares_a_third_country_for_chinese_goods(world: Path) -> None:
    items = _truth(world, "items_truth").join(_truth(world).select("declaration_id", "scheme"), on="declaration_id")
    fraud = items.filter(pl.col("scheme") == "origin_misdeclaration")
    assert (fraud["true_origin"] == "CN").all()
    assert (fraud["declared_origin"] != "CN").all()


def test_origin_fraud_containers_were_loaded_in_china_under_another_bill(world: Path) -> None:
    truth = _truth(world).filter(pl.col("scheme") == "origin_misdeclaration")
    declarations = read(world, RecordKind.DECLARATIONS).filter(
        pl.col("declaration_id").is_in(truth["declaration_id"].implode()) & (pl.col("item_no") == 1))
    events = read(world, RecordKind.EVENTS)
    loaded_in_china = events.filter((pl.col("event_type") == "LOAD") & pl.col("locode").str.starts_with("CN"))
    boxes = declarations["container_numbers"].str.split(";").explode()
    traced = loaded_in_china.filter(pl.col("container_number").is_in(boxes.implode())
                                    & ~pl.col("bl_number").is_in(declarations["bl_number"].implode()))
    # Most relabelled goods stay in their box (about 30 % are moved to a new one at the hub).
    assert traced["container_number"].n_unique() >= 0.4 * boxes.n_unique()


def test_split_shipments_are_parcels_of_one_consignment_each_under_the_threshold(world: Path) -> None:
    truth = _truth(world).filter(pl.col("scheme") == "split_shipment")
    assert (truth["declared_customs_value"] <= 150).all()
    groups = truth.group_by("split_group").agg(pl.len(), pl.col("importer_entity_id").n_unique(),
                                               pl.col("true_customs_value").sum())
    assert (groups["len"] >= 2).all()
    assert (groups["importer_entity_id"] == 1).all()


def test_concealment_hides_prohibited_goods_in_cover_cargo(world: Path) -> None:
    truth = _truth(world).filter(pl.col("scheme") == "concealment")
    assert truth.height > 0
    assert truth["hidden_goods"].null_count() == 0
    assert _truth(world).filter(pl.col("scheme") != "concealment")["hidden_goods"].null_count() == \
        _truth(world).filter(pl.col("scheme") != "concealment").height


def test_front_company_fraud_is_lodged_by_ring_members(world: Path) -> None:
    truth = _truth(world).filter(pl.col("scheme") == "front_company")
    assert truth.height > 0
    assert truth["ring_id"].null_count() == 0


def test_watchlisted_parties_mostly_hide_behind_name_variants(world: Path) -> None:
    parties = _truth(world, "parties_truth").filter(pl.col("watchlisted"))
    register = read(world, RecordKind.PARTIES).join(parties, on="party_id")
    watch = read(world, RecordKind.WATCHLIST)
    assert set(register["name"]) <= set(watch["name"])
    declarations = read(world, RecordKind.DECLARATIONS).filter(pl.col("item_no") == 1)
    by_listed = declarations.filter(pl.col("importer_id").is_in(register["party_id"].implode()))
    assert by_listed.height > 0
    exact = by_listed["importer_name"].is_in(register["name"].implode()).mean()
    assert exact is not None
    assert exact < 0.5
