"""Manifests and container events follow the shipments' routes."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from cintel.domain.records import RecordKind
from tests.simulate.conftest import read


def test_each_sea_bill_of_lading_has_one_manifest_line_with_the_containers_of_all_its_items(world: Path) -> None:
    sea = (read(world, RecordKind.DECLARATIONS).filter(pl.col("transport_mode") == "1")
           .group_by("bl_number").agg(pl.col("container_numbers").str.split(";").explode().unique().sort()))
    manifests = read(world, RecordKind.MANIFESTS).with_columns(pl.col("container_numbers").str.split(";").list.sort())
    joined = sea.join(manifests, on="bl_number", suffix="_m")
    assert joined.height == sea.height == manifests.height
    assert (joined["container_numbers"] == joined["container_numbers_m"]).all()


def test_items_of_one_declaration_may_travel_in_different_containers(world: Path) -> None:
    items = read(world, RecordKind.DECLARATIONS).filter(pl.col("container_numbers").is_not_null())
    differing = items.group_by("declaration_id").agg(pl.col("container_numbers").n_unique().alias("n"))
    assert differing.filter(pl.col("n") > 1).height > 0


def test_container_events_run_gate_in_load_discharge_gate_out_in_time_order(world: Path) -> None:
    events = read(world, RecordKind.EVENTS)
    last = events.sort("event_time").group_by("container_number", "bl_number", maintain_order=True).agg(
        pl.col("event_type"))
    direct = last.filter(pl.col("event_type").list.len() == 4)
    assert direct.height > 0
    assert direct["event_type"].to_list()[0] == ["GTIN", "LOAD", "DISC", "GTOT"]


def test_transshipped_containers_are_discharged_and_reloaded_at_the_hub(world: Path) -> None:
    sea = read(world, RecordKind.DECLARATIONS).filter(pl.col("transshipment_ports").is_not_null()
                                                      & (pl.col("item_no") == 1))
    assert sea.height > 0
    row = sea.row(0, named=True)
    box = row["container_numbers"].split(";")[0]  # item 1's first container
    events = read(world, RecordKind.EVENTS).filter((pl.col("container_number") == box)
                                                   & (pl.col("bl_number") == row["bl_number"])
                                                   & (pl.col("locode") == row["transshipment_ports"]))
    assert events.sort("event_time")["event_type"].to_list() == ["DISC", "LOAD"]


def test_events_carry_port_coordinates(world: Path) -> None:
    events = read(world, RecordKind.EVENTS)
    assert events["latitude"].null_count() == 0
    rotterdam = events.filter(pl.col("locode") == "NLRTM")
    assert rotterdam["latitude"].round(0).unique().to_list() == [52.0]
