"""The demo administration's rulebook: the targeting rules a risk unit would write for the simulated
world, from declared data and features only (never from the simulator's ground truth).

They mirror the profiles the simulated history was selected by (anti-dumping circumvention,
sensitive goods, drug routes, new traders, parcels, undervaluation), so "rules only" in the world
benchmark is the administration's own practice, the baseline a model must beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine, select

from cintel.domain.access import AccessContext
from cintel.risk import review, rulebook


@dataclass(frozen=True)
class StarterRule:
    rule_id: str
    expression: str
    reason: str
    weight: float | None = None
    channel: str | None = None
    profile: str = ""


LOOKUPS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "circumvention_hubs": ("country", "Countries anti-dumping goods are routed through to change their origin",
                           ("MY", "VN", "TH", "ID", "TW", "LK", "IN", "TR")),
    "drug_route_origins": ("country", "Departure countries of cocaine trafficking routes",
                           ("EC", "CO", "CR", "PE", "BR", "CI", "GH", "NG")),
    "counterfeit_sources": ("country", "Dispatch countries of most counterfeit and excise seizures",
                            ("CN", "HK", "TR", "AE", "BD")),
    # Filled from the store's own inspection results by refresh_seized_traders.
    "seized_traders": ("trader", "Importers with goods seized at an inspection", ()),
    # Filled from watch-list screening by refresh_listed_parties.
    "listed_parties": ("trader", "Traders matching a watch list (confirmed or near-certain screening hits)", ()),
}


PROFILES: dict[str, tuple[str, str]] = {
    "origin": ("origin", "Origin fraud and anti-dumping circumvention"),
    "narcotics": ("narcotics", "Drugs concealed in legitimate cargo"),
    "ipr": ("ipr", "Counterfeit and excise goods"),
    "undervaluation": ("undervaluation", "Values far below what peers declare"),
    "networks": ("front_company", "Front companies and the rings behind them"),
}

RULES: tuple[StarterRule, ...] = (
    StarterRule("R01", "anti_dumping_elsewhere > 0 AND country_of_dispatch IN LOOKUP('circumvention_hubs')",
                "goods under anti-dumping duty dispatched from a known circumvention hub", weight=0.35,
                profile="origin"),
    StarterRule("R02", "hs_chapter IN ('24', '42', '61', '62', '64', '91', '95') "
                "AND country_of_dispatch IN LOOKUP('counterfeit_sources')",
                "excise or IPR-sensitive goods from a main source of counterfeits", weight=0.1, profile="ipr"),
    # Cover goods on a drug route are common honest trade (7 % of declarations in the simulated
    # world, 5 % fraudulent): a weight, not a fixed channel, or they would take all of red.
    StarterRule("R03", "(hs_code LIKE '0803%' OR hs_code LIKE '0804%' OR hs_code LIKE '1801%') "
                "AND country_of_dispatch IN LOOKUP('drug_route_origins')",
                "cover goods on a cocaine trafficking route", weight=0.05, profile="narcotics"),
    StarterRule("R04", "coalesce(importer_age_days, 0) < 180 AND customs_value > 5000",
                "new importer (first declaration under 180 days ago) with a sizeable consignment", weight=0.1),
    StarterRule("R05", "transport_mode = '5' AND country_of_dispatch IN ('CN', 'HK')",
                "low-value parcel from a high-risk origin", weight=0.05),
    # Fixed-channel rules are kept narrow, as in practice: importers with a past seizure go red.
    StarterRule("R07", "importer_id IN LOOKUP('seized_traders')",
                "importer had goods seized at an earlier inspection", channel="red", profile="narcotics"),
    StarterRule("R06", "unit_value_ratio_hs6_origin < 0.5 AND unit_value_peers >= 10",
                "unit value under half the median of peers for the same goods and origin", weight=0.3,
                profile="undervaluation"),
    # Sanctions and watch lists: a listed party's goods are always checked.
    StarterRule("R08", "importer_id IN LOOKUP('listed_parties') OR exporter_id IN LOOKUP('listed_parties')",
                "a party to the declaration matches a watch list", channel="red"),
    StarterRule("R09", "network_tied_companies >= 2 AND coalesce(importer_age_days, 0) < 365",
                "young importer tied to other companies by a shared director, address, phone or account "
                "(possible front-company ring)", weight=0.3, profile="networks"),
)


def install(engine: Engine, author: AccessContext, approver: AccessContext) -> list[str]:
    """Creates the lookups, profiles and rules (backtested on the stored declarations, then approved by a
    second officer); skips what exists."""
    existing = {r.rule_id for r in rulebook.list_rules(engine)}
    lists = rulebook.lookup_names(engine)
    for name, (kind, description, values) in LOOKUPS.items():
        if name not in lists:
            rulebook.create_lookup(engine, author, name, kind, description)
            rulebook.add_lookup_values(engine, author, name, values)
    profiles = {p.name for p in rulebook.list_profiles(engine)}
    for name, (threat, description) in PROFILES.items():
        if name not in profiles:
            rulebook.create_profile(engine, author, name, threat, description)
    drafts = [rulebook.add_rule(engine, author, rule.rule_id, rule.expression, rule.reason, weight=rule.weight,
                                channel=rule.channel) for rule in RULES if rule.rule_id not in existing]
    if drafts:
        # As any draft, each is backtested before its approval (over the last eight weeks of data).
        first, last = review.default_window(engine)
        review.backtest_stored_rules(engine, approver, drafts, first, last + timedelta(days=1))
    for draft in drafts:
        rulebook.approve_rule(engine, approver, draft.rule_id)
    for rule in RULES:
        if rule.profile and rule.rule_id not in existing:
            rulebook.add_profile_rule(engine, rule.profile, rule.rule_id)
    return [d.rule_id for d in drafts]


def refresh_seized_traders(engine: Engine, actor: AccessContext, before: date) -> int:
    """Adds to ``seized_traders`` every importer whose goods were seized at an inspection recorded
    before ``before``; returns how many are new on the list."""
    from cintel.domain.records import RecordKind
    from cintel.store.case_tables import counted_inspection
    from cintel.store.tables import declarations, record_tables

    inspections = record_tables[RecordKind.INSPECTIONS]
    query = (select(declarations.c.importer_id).distinct()
             .join(inspections, inspections.c.declaration_id == declarations.c.declaration_id)
             .where(inspections.c.seizure.is_(True), inspections.c.inspection_date < before, counted_inspection(),
                    declarations.c.importer_id.is_not(None)))
    with engine.connect() as conn:
        seized = {row[0] for row in conn.execute(query)}
    return rulebook.add_lookup_values(engine, actor, "seized_traders", seized, note=f"seizure before {before}")


def refresh_listed_parties(engine: Engine, actor: AccessContext, before: date) -> int:
    """Adds to ``listed_parties`` the identifiers of parties with a screening hit on a watch-list entry
    listed before ``before``: hits an analyst confirmed, and open hits of ``screening_auto_list_score`` or
    more (an identifier or the exact name matched; on the simulated world 96 % of the declarations they
    select are fraudulent, against 39 % for every hit of 0.70 or more); weaker open hits wait for an
    analyst's disposition. Returns how many are new on the list."""
    from cintel.domain.records import RecordKind
    from cintel.settings import get_settings
    from cintel.store.entity_tables import entity_records, screening_dispositions, screening_hits
    from cintel.store.tables import record_tables

    hits, records, verdicts = screening_hits, entity_records, screening_dispositions
    entries = record_tables[RecordKind.WATCHLIST]
    strong = get_settings().screening_auto_list_score
    query = (select(records.c.tax_id).distinct()
             .join(hits, hits.c.record_id == records.c.record_id)
             .join(entries, (entries.c.list_name == hits.c.list_name) & (entries.c.entry_id == hits.c.entry_id))
             .outerjoin(verdicts, (verdicts.c.record_id == hits.c.record_id)
                        & (verdicts.c.list_name == hits.c.list_name) & (verdicts.c.entry_id == hits.c.entry_id))
             .where(records.c.tax_id.is_not(None), entries.c.listed_on.is_(None) | (entries.c.listed_on < before),
                    (verdicts.c.disposition == "true_hit")
                    | (verdicts.c.disposition.is_(None) & (hits.c.score >= strong))))
    with engine.connect() as conn:
        listed = {row[0] for row in conn.execute(query)}
    return rulebook.add_lookup_values(engine, actor, "listed_parties", listed, note=f"listed before {before}")
