"""On a simulated world, single features separate the planted schemes from honest declarations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from cintel.domain.records import INSPECTIONS, TARIFF
from cintel.risk.features import FEATURES, History, build_features, categorical_features, labels, model_features
from cintel.simulate import simulate_world
from cintel.store.frames import frame_schema, item_schema

END = date(2025, 6, 30)


def typed(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """A flat file's columns in the types ``cintel.store.frames`` returns (dates from ISO strings)."""
    return frame.select([
        pl.col(c).str.to_date() if t == pl.Date and frame.schema[c] == pl.String else pl.col(c).cast(t)
        for c, t in schema.items()])


@dataclass(frozen=True)
class World:
    items: pl.DataFrame
    inspections: pl.DataFrame
    tariff: pl.DataFrame
    truth: pl.DataFrame


def read_world(out: Path) -> World:
    return World(
        items=typed(pl.read_parquet(out / "declarations.parquet"), item_schema()),
        inspections=typed(pl.read_parquet(out / "inspections.parquet"), frame_schema(INSPECTIONS.fields)),
        tariff=typed(pl.read_parquet(out / "tariff.parquet"), frame_schema(TARIFF.fields)),
        truth=pl.read_parquet(out / "truth" / "declarations_truth.parquet"),
    )


def make_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A 20,000-declaration world over a year, without data defects (about two seconds)."""
    out = tmp_path_factory.mktemp("features-world")
    simulate_world(out, declarations=20_000, seed=5, defect_rate=0.0, end_date=END)
    return read_world(out)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return make_world(tmp_path_factory)


def auc(score: pl.Series, positive: pl.Series) -> float:
    """Area under the ROC curve of score for positive (ties count half)."""
    frame = pl.DataFrame({"s": score.cast(pl.Float64), "y": positive}).drop_nulls()
    ranks = frame["s"].rank()
    n_pos = int(frame["y"].sum())
    n_neg = frame.height - n_pos
    return float((ranks.filter(frame["y"]).sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@pytest.fixture(scope="module")
def scored(world: World) -> pl.DataFrame:
    """The last eight months of the world, scored in one call against the first four."""
    cut = world.items["declaration_date"].min() + timedelta(days=120)  # type: ignore[operator]
    history = History(world.items.filter(pl.col("declaration_date") < cut), world.inspections, world.tariff)
    _, decls = build_features(world.items.filter(pl.col("declaration_date") >= cut), history)
    return decls.join(world.truth.select("declaration_id", "scheme"), on="declaration_id", how="left")


@pytest.mark.parametrize(("scheme", "feature", "higher", "least"), [
    ("undervaluation", "min_unit_value_ratio", False, 0.85),
    ("front_company", "min_unit_value_robust_z", False, 0.85),
    ("misclassification", "max_duty_differential_neighbours", True, 0.75),
    ("origin_misdeclaration", "max_anti_dumping_elsewhere", True, 0.85),
    ("origin_misdeclaration", "min_origin_share_hs6", False, 0.85),
    ("split_shipment", "split_siblings", True, 0.8),
    ("split_shipment", "below_relief_threshold", True, 0.9),
])
def test_a_single_feature_separates_a_scheme_from_honest_declarations(
        scored: pl.DataFrame, scheme: str, feature: str, higher: bool, least: float) -> None:
    rows = scored.filter((pl.col("scheme") == scheme) | pl.col("scheme").is_null())
    score = rows[feature].cast(pl.Float64)
    area = auc(score if higher else -score, (rows["scheme"] == scheme).fill_null(False))
    assert area > least, f"{feature} AUC {area:.3f} for {scheme}"


def test_reasons_speak_for_the_flagged_declarations(scored: pl.DataFrame) -> None:
    said: dict[str, list[str]] = {}
    for row in scored.filter(pl.col("scheme").is_not_null()).iter_rows(named=True):
        for spec in FEATURES.values():
            text = spec.reason(row)
            if text is not None:
                said.setdefault(row["scheme"], []).append(text)
    assert any("below peers for HS" in t for t in said["undervaluation"])
    assert any("under anti-dumping duty from CN" in t for t in said["origin_misdeclaration"])
    assert any(t.startswith("declared under") and "pays" in t for t in said["misclassification"])
    assert any("low-value consignments" in t for t in said["split_shipment"])


def test_every_feature_column_has_a_spec_and_models_get_only_declaration_columns(world: World,
                                                                                 scored: pl.DataFrame) -> None:
    day = world.items["declaration_date"].max()
    history = History(world.items.filter(pl.col("declaration_date") < day), world.inspections, world.tariff)
    items, decls = build_features(world.items.filter(pl.col("declaration_date") == day), history)
    inputs = set(world.items.columns)
    assert set(items.columns) - inputs <= set(FEATURES)
    assert set(decls.columns) - inputs - {"scheme"} <= set(FEATURES)
    assert set(model_features()) <= set(decls.columns)
    assert set(categorical_features()) <= set(model_features())
    assert all(decls.schema[c] == pl.String for c in categorical_features())
    assert decls["declaration_id"].n_unique() == decls.height == items["declaration_id"].n_unique()


def test_labels_summarise_each_inspected_declaration(world: World) -> None:
    out = labels(world.inspections)
    assert out.height == world.inspections["declaration_id"].n_unique()
    fraud = world.inspections.filter(pl.col("outcome") != "no_finding")["declaration_id"].unique()
    assert set(out.filter("is_fraud")["declaration_id"]) == set(fraud)
    assert out["additional_duty"].sum() == pytest.approx(world.inspections["additional_duty"].fill_null(0).sum())
