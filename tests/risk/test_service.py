"""The risk engine on a real store (SQLite and PostgreSQL): train, score, select, explain, monitor,
backtest and fairness, with every run recording the rule and model versions behind it."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select

from cintel.risk import registry, service
from cintel.risk.review import backtest_window, candidate_backtest, fairness_window
from cintel.risk.rules import Rule
from cintel.risk.selection import SelectionPolicy
from cintel.store.frames import load_inspections, load_items
from cintel.store.risk_tables import risk_assessments, risk_drift, risk_runs
from tests.risk.conftest import AUTHOR, END

POLICY = SelectionPolicy(red_capacity=3, yellow_capacity=5, random_share=0.05, exploration_share=0.2, seed=1)


@pytest.fixture(scope="module")
def trained(risk_store: Engine) -> service.TrainReport:
    return service.train(risk_store, AUTHOR, end=END - timedelta(days=30))


def test_training_registers_active_models_with_window_metrics_and_hash(risk_store: Engine,
                                                                       trained: service.TrainReport) -> None:
    active = {m.name: m for m in registry.list_models(risk_store) if m.status == "active"}
    assert active["fraud"].model_id == trained.fraud_model_id
    assert trained.revenue_model_id is None or active["revenue"].model_id == trained.revenue_model_id
    w = trained.window
    assert w["train_from"] <= w["train_to"] < w["valid_to"]
    assert w["test_to"] < END - timedelta(days=30)  # nothing learnt from the held-back month
    model = registry.load_active(risk_store, "fraud")
    assert len(model.data_hash) == 64
    assert 0.5 < model.metrics["valid"]["auc"] <= 1.0
    assert trained.rows == service.training_frame(risk_store, None, END - timedelta(days=30)).height


def test_labels_come_only_from_inspections_recorded_before_the_end(risk_store: Engine) -> None:
    end = END - timedelta(days=60)
    frame = service.training_frame(risk_store, None, end)
    recorded = load_inspections(risk_store, end)
    assert set(frame["declaration_id"]) <= set(recorded["declaration_id"])
    assert frame["declaration_date"].max() < end


def test_a_selection_run_records_versions_capacity_and_reasons(risk_store: Engine,
                                                               trained: service.TrainReport) -> None:
    day = END - timedelta(days=3)
    result = service.run_day(risk_store, AUTHOR, day, POLICY)
    chosen = result["assessments"]
    n_day = load_items(risk_store, day, day + timedelta(days=1))["declaration_id"].n_unique()
    assert chosen.height == n_day
    counts = chosen.group_by("channel", "selection_reason").len()
    by = {(r["channel"], r["selection_reason"]): r["len"] for r in counts.iter_rows(named=True)}
    assert sum(v for (c, why), v in by.items() if c == "red" and why in ("score", "exploration")) <= 3
    assert sum(v for (c, why), v in by.items() if why == "random") == round(0.05 * n_day)
    with risk_store.connect() as conn:
        run = conn.execute(select(risk_runs).where(risk_runs.c.run_id == result["run_id"])).mappings().one()
        stored = conn.execute(select(risk_assessments).where(risk_assessments.c.run_id == result["run_id"])).all()
    assert run["model_id"] == trained.fraud_model_id
    assert {tuple(v) for v in json.loads(run["rule_versions"])} == {(f"R0{i}", 1) for i in range(1, 10)}
    assert json.loads(run["parameters"])["red_capacity"] == 3
    assert len(stored) == n_day
    picked = chosen.filter(pl.col("selection_reason") == "score")
    assert picked.height > 0
    assert all(len(r) > 0 for r in picked["reasons"])


def test_rules_only_scoring_uses_no_model(risk_store: Engine, trained: service.TrainReport) -> None:
    result = service.run_day(risk_store, AUTHOR, END - timedelta(days=2), use_model=False)
    frame = result["assessments"]
    assert result["model_id"] is None
    assert frame["probability"].null_count() == frame.height
    hit = frame.filter(pl.col("rule_ids").list.len() > 0)
    assert (hit["risk"] > 0).all()
    assert (frame.filter(pl.col("rule_ids").list.len() == 0)["risk"] == 0).all()


def test_explain_gives_rule_hits_probability_and_weighted_reasons(risk_store: Engine,
                                                                 trained: service.TrainReport) -> None:
    day = END - timedelta(days=3)
    run = service.run_day(risk_store, AUTHOR, day, POLICY)
    top = run["assessments"].sort("rank")["declaration_id"][0]
    explained = service.explain_declaration(risk_store, top)
    assert explained["declaration_date"] == day
    assert 0 <= explained["probability"] <= 1
    assert explained["reasons"]
    assert explained["latest_selection"]["run_id"] == run["run_id"]
    with pytest.raises(service.RiskError, match="not in the store"):
        service.explain_declaration(risk_store, "NO-SUCH-ID")


def test_every_assessment_stores_the_explanation_re_scoring_would_give(risk_store: Engine,
                                                                      trained: service.TrainReport) -> None:
    """The declaration page reads the run's explanation instead of re-scoring: it must be the same one, for
    every declaration of the run (green ones too), not only for the queue."""
    day = END - timedelta(days=3)
    run = service.run_day(risk_store, AUTHOR, day, POLICY)
    stored = {r["declaration_id"]: r for r in service.run_assessments(risk_store, run["run_id"])}
    assert len(stored) == run["assessments"].height
    assert all(r["explanation"] is not None for r in stored.values())
    green = run["assessments"].filter(pl.col("channel") == "green").sort("rank", descending=True)
    for declaration_id in [*run["assessments"].sort("rank")["declaration_id"][:2], green["declaration_id"][0]]:
        explained = service.explain_declaration(risk_store, declaration_id)
        assert stored[declaration_id]["explanation"] == explained["reasons"], declaration_id
        assert [r["text"] for r in explained["reasons"]][:len(stored[declaration_id]["reasons"])] == \
            stored[declaration_id]["reasons"]


def test_assessments_store_the_declarations_value_and_main_item(risk_store: Engine,
                                                                trained: service.TrainReport) -> None:
    day = END - timedelta(days=3)
    run = service.run_day(risk_store, AUTHOR, day, POLICY)
    items = load_items(risk_store, day, day + timedelta(days=1))
    for r in service.run_assessments(risk_store, run["run_id"])[:20]:
        own = items.filter(pl.col("declaration_id") == r["declaration_id"]).sort(
            "customs_value", "item_no", descending=[True, False])
        assert r["customs_value"] == pytest.approx(float(own["customs_value"].cast(pl.Float64).sum()))
        assert (r["main_hs_code"], r["main_origin"]) == (own["hs_code"][0], own["country_of_origin"][0])


def test_a_day_without_declarations_is_a_clear_error(risk_store: Engine) -> None:
    with pytest.raises(service.RiskError, match="no declarations"):
        service.run_day(risk_store, AUTHOR, date(1999, 1, 1), POLICY)


def test_monitor_records_psi_per_week_and_feature(risk_store: Engine, trained: service.TrainReport) -> None:
    report = service.monitor(risk_store, weeks=4, end=END)
    with risk_store.connect() as conn:
        rows = conn.execute(select(risk_drift).where(risk_drift.c.model_id == report["model_id"])).all()
    assert len(rows) == report["measurements"] > 0
    assert {r.name for r in rows} >= {"score"}
    assert all(a["psi"] > 0.2 for a in report["alerts"])


def test_backtest_replays_a_window_with_per_rule_figures(risk_store: Engine, trained: service.TrainReport) -> None:
    start = END - timedelta(days=60)
    report = backtest_window(risk_store, start, END, POLICY)
    assert report["labelled"] > 0
    assert {r["rule_id"] for r in report["rules"]} >= {"R06"}
    assert report["selection"]["by_channel"]["red"]["selected"] > 0
    assert 0 <= report["targeting"]["precision@5%"] <= 1


def test_a_candidate_rule_is_backtested_with_overlap(risk_store: Engine) -> None:
    rule = Rule("CAND", 1, "unit_value_ratio_hs6_origin < 0.3", "very cheap", "ann", weight=0.5)
    report = candidate_backtest(risk_store, rule, END - timedelta(days=90), END)
    assert report["hits"] > 0
    assert report["hits"] >= report["new_hits"]
    assert any(o["rule_id"] == "R06" for o in report["overlap"])  # R06 (< 0.5) contains every CAND hit


def test_fairness_covers_country_size_and_office(risk_store: Engine, trained: service.TrainReport) -> None:
    groups = fairness_window(risk_store, END - timedelta(days=120), END)
    assert set(groups["dimension"]) == {"importer_country", "trader_size", "office_code"}
    assert (groups["inspection_rate"] <= 1).all()


def test_seized_traders_go_red_through_a_fixed_channel_rule(risk_store: Engine, trained: service.TrainReport,
                                                            tmp_path: Path) -> None:
    """An inspector records a seizure; the importer lands on the lookup list and R07 sends its next
    declaration red whatever the capacity."""
    from cintel.demo_rules import refresh_seized_traders
    from cintel.ingest.pipeline import ingest_file
    from cintel.risk.rulebook import lookup_values

    day = END - timedelta(days=3)
    todays = load_items(risk_store, day, day + timedelta(days=1)).drop_nulls("importer_id")
    importer = todays["importer_id"][0]
    earlier = load_items(risk_store, day - timedelta(days=200), day - timedelta(days=20))
    seized_decl = earlier.filter(pl.col("importer_id") != importer)["declaration_id"][0]
    seized_importer = earlier.filter(pl.col("declaration_id") == seized_decl)["importer_id"][0]
    path = tmp_path / "seizure.csv"
    path.write_text("inspection_id,declaration_id,inspection_date,channel,outcome,seizure\n"
                    f"TEST-SEIZURE-1,{seized_decl},{day - timedelta(days=10)},red,prohibited_goods,true\n",
                    encoding="utf-8")
    assert ingest_file(risk_store, path).rows_stored == 1
    assert refresh_seized_traders(risk_store, AUTHOR, before=day) >= 1
    assert seized_importer in set(lookup_values(risk_store, "seized_traders"))
    assert refresh_seized_traders(risk_store, AUTHOR, before=day) == 0  # idempotent
    on_list = load_items(risk_store, day, day + timedelta(days=1)).filter(pl.col("importer_id") == seized_importer)
    result = service.run_day(risk_store, AUTHOR, day, SelectionPolicy(red_capacity=0, yellow_capacity=0))
    red = result["assessments"].filter(pl.col("declaration_id").is_in(on_list["declaration_id"].implode()))
    assert (red["channel"] == "red").all()
    assert (red["selection_reason"] == "rule").all()
