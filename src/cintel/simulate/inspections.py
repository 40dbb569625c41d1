"""Historical inspections as a real administration would have recorded them.

Selection is mostly by targeting rules that see only declared data (sensitive goods from
high-risk origins, trafficking routes, new traders, low-value parcels) plus a small random
share, so the recorded labels are biased towards what the rules already look at. Inspectors
do not catch every fraud: each scheme has a detection chance per channel, and a few honest
declarations get a documentary irregularity recorded. Only the recorded result is written.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cintel.domain.codes import Channel, OutcomeType
from cintel.domain.records import INSPECTIONS
from cintel.simulate.actors import Actors
from cintel.simulate.catalogue import (
    ANTI_DUMPING,
    CIRCUMVENTION_COUNTRIES,
    CONCEALMENT_COVERS,
    PARTNERS,
    catalogue,
)
from cintel.simulate.config import Scheme, SimulationConfig
from cintel.simulate.declarations import POST, Draft
from cintel.simulate.sampling import date_strings, day_number, in_format, lookup
from cintel.simulate.tables import Mentions
from cintel.simulate.valuation import Valuation

_CODES = np.array([p.code for p in PARTNERS])
RULES: tuple[str, ...] = (
    "R01 anti-dumping goods from a high-risk origin",
    "R02 excise and IPR-sensitive goods from a high-risk origin",
    "R03 cover goods on a drug trafficking route",
    "R04 new trader (registered less than 180 days ago)",
    "R05 low-value parcel from a high-risk origin",
    "R06 unit value far below the median of the heading",
)
# Inspection chance of a rule's hits relative to ``rule_inspection_rate``: broad rules select fewer.
RULE_WEIGHTS = np.array([1.0, 0.5, 0.3, 1.0, 0.1, 3.0])
RANDOM_REASON = "random selection"
_FINDINGS = {
    OutcomeType.NO_FINDING.value: "Goods and documents in order.",
    OutcomeType.UNDERVALUATION.value: "Invoice does not reflect the price paid; customs value adjusted.",
    OutcomeType.MISCLASSIFICATION.value: "Goods classified under the wrong heading; reclassified.",
    OutcomeType.ORIGIN_MISDECLARATION.value: "Certificate of origin not credible; goods of Chinese origin.",
    OutcomeType.PROHIBITED_GOODS.value: "Prohibited goods found concealed in the cargo; goods seized.",
    OutcomeType.DOCUMENTARY_IRREGULARITY.value: "Supporting documents incomplete or inconsistent.",
    OutcomeType.MISDECLARED_GOODS.value: "Goods differ from the declaration.",
}


def _cheap(draft: Draft, valuation: Valuation) -> np.ndarray:
    """Declarations with an item whose declared value per unit is under half the median of its
    heading and origin."""
    items = draft.items
    unit_value = valuation.customs_value / np.maximum(items["quantity"], 1e-9)
    frame = pl.DataFrame({"decl": items["decl"], "hs": items["declared_product"], "origin": items["declared_origin"],
                          "v": unit_value})
    frame = frame.with_columns(median=pl.col("v").median().over("hs", "origin"))
    flagged = frame.filter(pl.col("v") < 0.5 * pl.col("median"))["decl"].to_numpy()
    out = np.zeros(draft.n, dtype=bool)
    out[flagged] = True
    return out


def rule_hits(config: SimulationConfig, draft: Draft, actors: Actors, valuation: Valuation) -> np.ndarray:
    """(declarations x rules) boolean matrix of the administration's targeting rules (declared data only)."""
    cat = catalogue()
    cheap = _cheap(draft, valuation)
    product = draft.items["declared_product"][np.searchsorted(draft.items["decl"], np.arange(draft.n))]
    dispatch = _CODES[draft.declared_partner]
    ad_prefixes = tuple({prefix for prefix, _ in ANTI_DUMPING})
    ad_goods = np.array([code.startswith(ad_prefixes) for code in cat.hs_code])[product]
    # Anti-dumping goods from China pay the duty; from known circumvention countries they are suspect.
    high_risk = np.isin(dispatch, CIRCUMVENTION_COUNTRIES)
    sensitive = np.isin(np.array([code[:2] for code in cat.hs_code])[product], ["24", "42", "61", "62", "64", "91",
                                                                                  "95"])
    drug_route = np.isin(dispatch, ["EC", "CO", "CR", "PE", "BR", "CI", "GH", "NG"]) & np.isin(
        np.array([code[:4] for code in cat.hs_code])[product], ["0803", "0804", "1801"])
    registered = np.where(draft.person, -10**6, actors.importer_registered[draft.trader])
    new_trader = ~draft.person & (draft.date - registered < 180)
    parcel = (draft.mode == POST) & np.isin(dispatch, ["CN", "HK"])
    return np.stack([ad_goods & high_risk, sensitive & np.isin(dispatch, ["CN", "HK", "TR", "AE", "BD"]),
                     drug_route, new_trader, parcel, cheap], axis=1)


def inspections_frame(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors,
                      valuation: Valuation, mentions: Mentions) -> pl.DataFrame:
    """Recorded inspection results, columns as INSPECTIONS."""
    n = draft.n
    hits = rule_hits(config, draft, actors, valuation)
    rule_rate = np.minimum(config.rule_inspection_rate * (hits * RULE_WEIGHTS).max(axis=1), 1.0)
    by_rule = rng.random(n) < rule_rate
    by_chance = rng.random(n) < config.random_inspection_rate
    selected = np.flatnonzero(by_rule | by_chance)
    # The reason recorded is the rule with the strongest weight among those that fired.
    reason = np.where(by_rule[selected], np.argmax(hits[selected] * RULE_WEIGHTS, axis=1), len(RULES))
    red = rng.random(len(selected)) < np.where(by_rule[selected], 0.6, 0.5)

    scheme = draft.scheme[selected]
    configs = [config.scheme(s) for s in Scheme]
    detect_red = np.array([0.0] + [c.detect_red for c in configs])
    detect_yellow = np.array([0.0] + [c.detect_yellow for c in configs])
    outcome_of = np.array([OutcomeType.NO_FINDING.value] + [c.outcome.value for c in configs])
    caught = rng.random(len(selected)) < np.where(red, detect_red[scheme], detect_yellow[scheme])
    false_finding = (scheme == 0) & (rng.random(len(selected)) < config.false_finding_rate)
    outcomes = np.where(caught, outcome_of[scheme], np.where(false_finding,
                                                             OutcomeType.DOCUMENTARY_IRREGULARITY.value,
                                                             OutcomeType.NO_FINDING.value))
    duty = np.where(caught, np.round(valuation.decl_revenue_at_risk[selected] * rng.uniform(0.85, 1.0,
                                                                                         len(selected)), 2),
                    np.where(false_finding, np.round(rng.uniform(20, 300, len(selected)), 2), 0.0))
    seized = caught & (scheme == Scheme.CONCEALMENT.code)
    hidden = [goods for _, goods in CONCEALMENT_COVERS.values()]
    day = np.minimum(draft.date[selected] + rng.integers(0, 4, len(selected)), day_number(config.end_date))
    order = np.lexsort((selected, day))
    frame = pl.DataFrame({
        "declaration_id": mentions.declaration_id.gather(selected),
        "inspection_date": date_strings(day),
        "channel": np.where(red, Channel.RED.value, Channel.YELLOW.value),
        "outcome": outcomes,
        "findings": pl.Series(outcomes).replace_strict(_FINDINGS, return_dtype=pl.String),
        "additional_duty": duty,
        "seizure": seized,
        "seized_goods": lookup(hidden, np.where(seized, draft.hidden[selected], -1)),
        "inspector_id": "INSP" + pl.Series(rng.integers(100, 160, len(selected))).cast(pl.String),
        "selection_reason": lookup([*RULES, RANDOM_REASON], reason),
    })[order]
    frame = frame.with_columns(
        inspection_id="INS" + pl.Series(np.arange(1, len(selected) + 1)).cast(pl.String).str.zfill(8))
    return in_format(frame, INSPECTIONS)

