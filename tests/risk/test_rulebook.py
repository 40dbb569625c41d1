"""The rulebook in the store, on every back end: versions, recorded backtests and the declarations they hit,
four-eyes approval with its comment, superseded drafts, lookups, profiles. Four-eyes lookup changes and
retirements: test_rules_four_eyes.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl
import pytest
from sqlalchemy import Engine, select

from cintel.domain.access import AccessContext
from cintel.domain.codes import Channel, DeclarationType
from cintel.domain.roles import Role
from cintel.risk.rule_language import DECLARATION_COLUMNS, ColumnType, RuleError
from cintel.risk.rulebook import (
    LookupKind,
    NotInRulebook,
    RulebookError,
    Threat,
    active_rules,
    add_lookup_values,
    add_profile_rule,
    add_rule,
    approve_rule,
    backtest_hits,
    create_lookup,
    create_profile,
    list_lookups,
    list_profiles,
    list_rules,
    load_lookups,
    lookup_values,
    pending_draft,
    record_backtest,
    rule_backtests,
    rule_version,
    rule_versions,
    rules_using_lookup,
    superseded_by,
)
from cintel.risk.rules import RuleStatus
from cintel.store.risk_tables import risk_rules
from tests.risk.conftest import REPORT, backtested

ANN = AccessContext(user="ann", purpose="targeting", roles=frozenset({Role.TARGETING_OFFICER}))
BOB = AccessContext(user="bob", purpose="targeting", roles=frozenset({Role.SUPERVISOR}))
PHONES = "hs_code LIKE '8517%' AND country_of_origin = 'CN'"


def test_a_new_rule_is_version_1_draft_by_its_author(engine: Engine) -> None:
    rule = add_rule(engine, ANN, "PHONES", PHONES, "cheap phones", weight=0.2, offices=["OF1"], regimes=["IM"],
                    valid_from=date(2024, 1, 1))
    [stored] = rule_versions(engine, "PHONES")
    assert stored.key == ("PHONES", 1)
    assert stored.status is RuleStatus.DRAFT
    assert stored.author == "ann"
    assert stored.offices == {"OF1"}
    assert stored.regimes == {DeclarationType.IMPORT}
    assert stored.valid_from == date(2024, 1, 1)
    assert (stored.expression, stored.weight, stored.channel) == (rule.expression, 0.2, None)


def test_editing_a_rule_adds_a_draft_version(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "cheap phones", weight=0.2)
    add_rule(engine, BOB, "PHONES", PHONES + " AND customs_value < 100", "cheaper phones", channel="red")
    versions = rule_versions(engine, "PHONES")
    assert [(r.version, r.author, r.channel) for r in versions] == [(1, "ann", None), (2, "bob", Channel.RED)]
    assert [r.version for r in list_rules(engine)] == [2]
    assert len(list_rules(engine, all_versions=True)) == 2


def test_one_version_is_the_latest_unless_named(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    add_rule(engine, ANN, "PHONES", PHONES, "v2", weight=0.3)
    assert rule_version(engine, "PHONES").version == 2
    assert rule_version(engine, "PHONES", 1).reason == "v1"
    with pytest.raises(RulebookError, match="rule 'PHONES' has no version 3"):
        rule_version(engine, "PHONES", 3)
    with pytest.raises(RulebookError, match="no rule 'NOPE'"):
        rule_version(engine, "NOPE")


def test_a_bad_expression_is_refused_before_anything_is_saved(engine: Engine) -> None:
    with pytest.raises(RuleError, match="unknown column 'hs_cod'"):
        add_rule(engine, ANN, "BAD", "hs_cod = '1'", "typo", weight=1.0)
    with pytest.raises(RuleError, match="unknown lookup list 'traders'"):
        add_rule(engine, ANN, "BAD", "importer_id IN LOOKUP('traders')", "no list yet", weight=1.0)
    with engine.connect() as conn:
        assert conn.execute(select(risk_rules)).first() is None


def test_a_rule_over_feature_columns_is_checked_against_the_wider_schema(engine: Engine) -> None:
    schema = DECLARATION_COLUMNS | {"unit_value_ratio_hs6_origin": ColumnType.NUMBER}
    add_rule(engine, ANN, "CHEAP", "unit_value_ratio_hs6_origin < 0.5", "undervalued", weight=1.0, schema=schema)
    backtested(engine, "CHEAP")
    assert approve_rule(engine, BOB, "CHEAP", schema=schema).status is RuleStatus.APPROVED


def test_the_author_cannot_approve_their_own_rule(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "cheap phones", weight=0.2)
    with pytest.raises(RulebookError, match="another officer must approve"):
        approve_rule(engine, ANN, "PHONES")
    backtested(engine, "PHONES")
    approved = approve_rule(engine, BOB, "PHONES")
    assert (approved.status, approved.approved_by) == (RuleStatus.APPROVED, "bob")
    [stored] = rule_versions(engine, "PHONES")
    assert stored.approved_by == "bob"
    assert stored.approved_at is not None


def test_only_drafts_can_be_approved(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "cheap phones", weight=0.2)
    backtested(engine, "PHONES")
    approve_rule(engine, BOB, "PHONES")
    with pytest.raises(RulebookError, match="only drafts"):
        approve_rule(engine, BOB, "PHONES")
    with pytest.raises(RulebookError, match="no rule 'NOPE'"):
        approve_rule(engine, BOB, "NOPE")


def test_a_draft_is_approved_only_after_a_backtest_of_that_very_version(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    with pytest.raises(RulebookError, match="'PHONES' v1 has not been backtested"):
        approve_rule(engine, BOB, "PHONES")
    assert [r.status for r in rule_versions(engine, "PHONES")] == [RuleStatus.DRAFT]
    backtested(engine, "PHONES")
    add_rule(engine, ANN, "PHONES", PHONES + " AND customs_value < 100", "v2", weight=0.2)
    with pytest.raises(RulebookError, match="v2 has not been backtested"):
        approve_rule(engine, BOB, "PHONES")  # v1's backtest says nothing of v2
    approve_rule(engine, BOB, "PHONES", version=1)
    backtested(engine, "PHONES", version=2)
    assert approve_rule(engine, BOB, "PHONES").version == 2


def test_an_approval_keeps_the_approvers_comment(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    backtested(engine, "PHONES")
    approved = approve_rule(engine, BOB, "PHONES", comment="  hit rate 40 % on 5 inspected; watch the load  ")
    assert approved.approval_comment == "hit rate 40 % on 5 inspected; watch the load"
    assert rule_versions(engine, "PHONES")[0].approval_comment == approved.approval_comment
    assert rule_versions(engine, "PHONES")[0].to_dict()["approval_comment"] == approved.approval_comment
    add_rule(engine, ANN, "QUIET", PHONES, "v1", weight=0.2)
    backtested(engine, "QUIET")
    assert approve_rule(engine, BOB, "QUIET").approval_comment is None  # a comment is optional
    add_rule(engine, ANN, "LONG", PHONES, "v1", weight=0.2)
    backtested(engine, "LONG")
    with pytest.raises(RulebookError, match="at most 2,000") as long:
        approve_rule(engine, BOB, "LONG", comment="x" * 2_001)
    assert long.value.field == "comment"


def test_only_approvers_approve(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    backtested(engine, "PHONES")
    analyst = AccessContext(user="carl", purpose="targeting", roles=frozenset({Role.ANALYST}))
    with pytest.raises(RulebookError, match="approving a rule needs the role supervisor or targeting_officer"):
        approve_rule(engine, analyst, "PHONES")
    assert [r.status for r in rule_versions(engine, "PHONES")] == [RuleStatus.DRAFT]


def test_once_v2_is_approved_the_v1_draft_is_superseded_and_cannot_be_approved(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    add_rule(engine, ANN, "PHONES", PHONES + " AND customs_value < 100", "v2", weight=0.3)
    backtested(engine, "PHONES", version=1)
    backtested(engine, "PHONES", version=2)
    versions = rule_versions(engine, "PHONES")
    assert pending_draft(versions) == versions[1]
    approve_rule(engine, BOB, "PHONES", version=2)
    versions = rule_versions(engine, "PHONES")
    assert pending_draft(versions) is None
    assert superseded_by(versions[0], versions) == 2
    assert superseded_by(versions[1], versions) is None
    with pytest.raises(RulebookError, match="v1 is superseded by approved v2"):
        approve_rule(engine, BOB, "PHONES", version=1)
    with pytest.raises(RulebookError, match="no draft awaiting approval"):
        approve_rule(engine, BOB, "PHONES")
    assert [r.key for r in active_rules(engine, date(2024, 1, 1))] == [("PHONES", 2)]


def test_a_recorded_backtest_keeps_the_declarations_it_hit_a_page_at_a_time(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    (rule,) = rule_versions(engine, "PHONES")
    hits = pl.DataFrame({"declaration_id": [f"D{i:03d}" for i in range(150)],
                         "declaration_date": [date(2024, 1, 1 + i % 28) for i in range(150)],
                         "is_fraud": [None if i % 3 else i % 2 == 0 for i in range(150)],
                         "revenue": [float(i) for i in range(150)]})
    recorded = record_backtest(engine, BOB, rule, date(2024, 1, 1), date(2024, 1, 28), REPORT, hits)
    assert recorded.listed_hits == 150
    assert rule_backtests(engine, "PHONES")[0].listed_hits == 150
    first = backtest_hits(engine, "PHONES", recorded.backtest_id, page=1, size=100)
    second = backtest_hits(engine, "PHONES", recorded.backtest_id, page=2, size=100)
    assert (first.total, first.pages, len(first.rows), len(second.rows)) == (150, 2, 100, 50)
    listed = first.rows + second.rows
    assert {r["declaration_id"] for r in listed} == set(hits["declaration_id"])
    dates = [r["declaration_date"] for r in listed]
    assert dates == sorted(dates, reverse=True)  # newest first
    d000 = next(r for r in listed if r["declaration_id"] == "D000")
    assert (d000["is_fraud"], d000["revenue"]) == (True, 0.0)
    assert next(r for r in listed if r["declaration_id"] == "D001")["is_fraud"] is None
    assert first.to_dict()["hits"][0]["declaration_date"] == dates[0].isoformat()
    with pytest.raises(NotInRulebook, match="has no backtest"):
        backtest_hits(engine, "OTHER", recorded.backtest_id)
    without = record_backtest(engine, BOB, rule, date(2024, 1, 1), date(2024, 1, 28), REPORT)
    assert backtest_hits(engine, "PHONES", without.backtest_id).total == 0


def test_backtests_are_kept_with_their_figures_newest_first(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    first = record_backtest(engine, BOB, rule_versions(engine, "PHONES")[0], date(2024, 1, 1), date(2024, 2, 25),
                            REPORT)
    add_rule(engine, ANN, "PHONES", PHONES, "v2", weight=0.3)
    second = record_backtest(engine, ANN, rule_versions(engine, "PHONES")[1], date(2024, 3, 1), date(2024, 3, 31),
                             {**REPORT, "hits": 0, "labelled": 0, "frauds": 0, "revenue": None, "overlap": []})
    stored = rule_backtests(engine, "PHONES")
    assert [b.backtest_id for b in stored] == [second.backtest_id, first.backtest_id]
    old = stored[1]
    assert (old.version, old.window_from, old.window_to, old.run_by) == (1, date(2024, 1, 1), date(2024, 2, 25), "bob")
    assert (old.declarations, old.hits, old.labelled, old.frauds, old.revenue, old.new_hits) == (
        1_000, 12, 5, 2, 1_500.0, 3)
    assert old.overlap == REPORT["overlap"]
    assert old.hit_rate == pytest.approx(0.4)
    assert (stored[0].hit_rate, stored[0].revenue, stored[0].overlap) == (None, 0.0, [])
    assert [b.version for b in rule_backtests(engine, "PHONES", 1)] == [1]
    assert rule_backtests(engine, "NOPE") == []
    assert old.to_dict()["window_to"] == "2024-02-25"


def test_a_backtest_of_a_version_that_does_not_exist_is_refused(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=0.2)
    ghost = replace(rule_versions(engine, "PHONES")[0], version=7)
    with pytest.raises(RulebookError, match="no rule 'PHONES' v7"):
        record_backtest(engine, BOB, ghost, date(2024, 1, 1), date(2024, 1, 2), REPORT)
    assert rule_backtests(engine, "PHONES") == []


def test_active_rules_are_the_latest_approved_versions_valid_that_day(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "v1", weight=1.0)
    backtested(engine, "PHONES")
    approve_rule(engine, BOB, "PHONES")
    add_rule(engine, ANN, "PHONES", PHONES, "v2 draft", weight=0.5)  # a draft does not score yet
    add_rule(engine, ANN, "SUMMER", "TRUE", "campaign", channel="yellow", valid_from=date(2024, 6, 1),
             valid_to=date(2024, 8, 31))
    backtested(engine, "SUMMER")
    approve_rule(engine, BOB, "SUMMER")
    add_rule(engine, ANN, "DRAFT", "TRUE", "never approved", weight=1.0)
    assert sorted(r.key for r in active_rules(engine, date(2024, 7, 1))) == [("PHONES", 1), ("SUMMER", 1)]
    assert [r.key for r in active_rules(engine, date(2024, 9, 1))] == [("PHONES", 1)]
    backtested(engine, "PHONES")
    approve_rule(engine, BOB, "PHONES")
    assert [r.key for r in active_rules(engine, date(2024, 9, 1))] == [("PHONES", 2)]


def test_lookup_lists_hold_values_rules_can_use(engine: Engine) -> None:
    create_lookup(engine, ANN, "high_risk_traders", "trader", "traders with past seizures")
    assert add_lookup_values(engine, ANN, "high_risk_traders", ["T1", "T2", " T2 "], note="case 12") == 2
    assert add_lookup_values(engine, BOB, "high_risk_traders", ["T2", "T3"]) == 1
    assert lookup_values(engine, "high_risk_traders") == ["T1", "T2", "T3"]
    create_lookup(engine, ANN, "empty", LookupKind.COUNTRY, "nothing yet")
    assert load_lookups(engine) == {"high_risk_traders": frozenset({"T1", "T2", "T3"}), "empty": frozenset()}
    assert [(lk.name, lk.kind, lk.values) for lk in list_lookups(engine)] == [
        ("empty", LookupKind.COUNTRY, 0), ("high_risk_traders", LookupKind.TRADER, 3)]
    rule = add_rule(engine, ANN, "TRADERS", "importer_id IN LOOKUP('high_risk_traders')", "known", weight=1.0)
    assert rule.version == 1
    assert [r.key for r in rules_using_lookup(engine, "high_risk_traders")] == [("TRADERS", 1)]
    assert rules_using_lookup(engine, "empty") == []


def test_lookup_errors_name_the_list(engine: Engine) -> None:
    create_lookup(engine, ANN, "traders", "trader", "x")
    with pytest.raises(RulebookError, match="already exists"):
        create_lookup(engine, ANN, "traders", "trader", "x")
    with pytest.raises(RulebookError, match="unknown lookup kind 'ship'"):
        create_lookup(engine, ANN, "ships", "ship", "x")
    with pytest.raises(NotInRulebook, match="no lookup list 'nope'"):
        add_lookup_values(engine, ANN, "nope", ["x"])
    with pytest.raises(RulebookError, match="must be 1-64 letters") as bad:
        create_lookup(engine, ANN, "bad name!", "trader", "x")
    assert bad.value.field == "name"
    with pytest.raises(RulebookError, match="give the description") as empty:
        create_lookup(engine, ANN, "nothing", "trader", "  ")
    assert empty.value.field == "description"


def test_profiles_group_rules_for_a_threat(engine: Engine) -> None:
    add_rule(engine, ANN, "PHONES", PHONES, "phones", weight=1.0)
    add_rule(engine, ANN, "CHEAP", "customs_value < 10", "cheap", weight=1.0)
    create_profile(engine, ANN, "undervaluation-east", Threat.UNDERVALUATION, "east ports", offices=["OF2", "OF1"])
    add_profile_rule(engine, "undervaluation-east", "PHONES")
    add_profile_rule(engine, "undervaluation-east", "CHEAP")
    add_profile_rule(engine, "undervaluation-east", "CHEAP")
    [profile] = list_profiles(engine)
    assert (profile.name, profile.threat, profile.offices, profile.rule_ids) == (
        "undervaluation-east", Threat.UNDERVALUATION, ("OF1", "OF2"), ("CHEAP", "PHONES"))
    with pytest.raises(RulebookError, match="no rule 'NOPE'") as unknown:
        add_profile_rule(engine, "undervaluation-east", "NOPE")
    assert unknown.value.field == "rule_id"
    with pytest.raises(RulebookError, match="unknown threat") as threat:
        create_profile(engine, ANN, "x", "piracy", "x")
    assert threat.value.field == "threat"
    with pytest.raises(RulebookError, match="must be 1-64 letters") as name:
        create_profile(engine, ANN, "bad name!", "ipr", "x")
    assert name.value.field == "name"


def test_a_connection_argument_joins_the_callers_transaction(engine: Engine) -> None:
    with engine.connect() as conn:
        add_rule(conn, ANN, "PHONES", PHONES, "phones", weight=1.0)
        assert [r.key for r in list_rules(conn)] == [("PHONES", 1)]
        conn.rollback()
    assert list_rules(engine) == []
