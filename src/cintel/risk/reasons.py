"""The words a customs clerk reads for why a declaration was selected and what stood out in it: one
catalogue, used by the queue, the declaration page, their exports and the API.

* ``why_selected`` turns a run's selection code and detail ("random", "draw 0.0027") into a phrase
  ("random check"). ``WHY_SELECTED`` is the one heading every view gives it.
* ``feature_phrase`` tells a feature's value in a clerk's words and units ("broker's past hit rate
  19 %"), for when the feature's own reason (cintel.risk.features_registry) has nothing to say but the
  model still leaned on it.
* ``priority_meaning`` says what a run's priority is counted in.

Only wording lives here: no threshold, score or selection is decided by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from cintel.risk.selection import REASON_EXPLORATION, REASON_NONE, REASON_RANDOM, REASON_RULE, REASON_SCORE

WHY_SELECTED = "Why selected"

_SELECTION = {
    REASON_RULE: "rule",
    REASON_SCORE: "high risk",
    REASON_RANDOM: "random check",
    REASON_EXPLORATION: "check to teach the model",
    REASON_NONE: "not selected",
}


def why_selected(reason: str | None, detail: str | None = None) -> str:
    """The phrase for a selection reason code and its detail: "rule R03", "rules R03, R06", "high risk
    (rank 12)", "random check", "check to teach the model", "not selected". A reason that is not a code (an
    inspection record's free text) is returned as it is."""
    if not reason:
        return "not assessed"
    phrase = _SELECTION.get(reason)
    if phrase is None:
        return reason
    if reason == REASON_RULE and detail:
        rules = [r.strip() for r in detail.split(",") if r.strip()]
        if len(rules) == 1 and rules[0].endswith(" rule"):  # a fixed channel without a rule id
            return rules[0]
        return ("rules " if len(rules) > 1 else "rule ") + ", ".join(rules)
    if reason == REASON_SCORE and detail and detail.startswith("rank "):
        return f"{phrase} ({detail})"
    return phrase


# --- values -------------------------------------------------------------------------------------------------------

def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def percent(value: Any, digits: int = 0) -> str:
    """A share as a clerk writes it: 0.194 -> "19 %" (unknown: "–")."""
    v = _finite(value)
    return "–" if v is None else f"{v * 100:.{digits}f} %"


def money(value: Any) -> str:
    """An amount in national currency, whole units with thousands separators: 12345.6 -> "12,346"."""
    v = _finite(value)
    return "–" if v is None else f"{v:,.0f}"


def _count(value: Any) -> str:
    v = _finite(value)
    return "unknown" if v is None else f"{v:,.0f}"


def _ratio(value: Any) -> str:
    v = _finite(value)
    return "unknown" if v is None else f"{v * 100:.0f} % of"


def _points(value: Any) -> str:
    v = _finite(value)
    return "unknown" if v is None else f"{v * 100:.1f} points"


def _yes(value: Any) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def _hs(value: Any) -> str:
    text = str(value or "?")
    return f"{text[:4]}.{text[4:6]}" if len(text) >= 6 else text


def _days(value: Any) -> str:
    v = _finite(value)
    return "never before" if v is None else f"{v:,.0f} days ago"


Phrase = Callable[[Any], str]
# feature -> how its value reads. A phrase is the words, then the value in its unit.
_FEATURES: dict[str, Phrase] = {
    "importer_hit_rate": lambda v: f"importer's past hit rate {percent(v)}",
    "declarant_hit_rate": lambda v: f"broker's past hit rate {percent(v)}",
    "importer_inspections": lambda v: f"importer's past inspections: {_count(v)}",
    "declarant_inspections": lambda v: f"broker's past inspections: {_count(v)}",
    "importer_declarations_before": lambda v: f"importer's earlier declarations: {_count(v)}",
    "importer_declarations_90d": lambda v: f"importer's declarations in the last 90 days: {_count(v)}",
    "importer_value_90d": lambda v: f"value the importer declared in the last 90 days: {money(v)}",
    "importer_age_days": lambda v: f"importer first seen {_days(v)}",
    "first_time_importer": lambda v: "first declaration of this importer" if v else "importer has declared before",
    "total_customs_value": lambda v: f"declared customs value {money(v)}",
    "n_items": lambda v: f"{_count(v)} item(s)",
    "main_hs_chapter": lambda v: f"goods of HS chapter {v}",
    "main_hs6": lambda v: f"goods of HS {_hs(v)}",
    "main_origin": lambda v: f"goods of origin {v}",
    "min_unit_value_ratio": lambda v: f"cheapest item's unit value at {_ratio(v)} its peers'",
    "max_unit_value_ratio": lambda v: f"dearest item's unit value at {_ratio(v)} its peers'",
    "min_unit_value_robust_z": lambda v: f"cheapest item's unit value {_finite(v) or 0:+.1f} deviations from peers",
    "max_mass_per_unit_ratio": lambda v: f"heaviest item's mass per unit at {_ratio(v)} the typical",
    "min_origin_share_hs6": lambda v: f"rarest origin brings {percent(v, 1)} of its goods' imports",
    "max_duty_rate": lambda v: f"highest duty rate {percent(v, 1)}",
    "max_anti_dumping_rate": lambda v: f"anti-dumping duty {percent(v, 1)}",
    "max_duty_differential_neighbours": lambda v: f"duty {_points(v)} below a neighbouring code",
    "max_duty_differential_chapter": lambda v: f"duty {_points(v)} below the highest of its chapter",
    "max_anti_dumping_elsewhere": lambda v: f"anti-dumping duty avoided: {percent(v, 1)}",
    "max_preferential_margin": lambda v: f"preference saves {percent(v, 1)} duty",
    "any_round_value": lambda v: f"round invoice value: {_yes(v)}",
    "any_origin_differs_dispatch": lambda v: f"origin differs from dispatch country: {_yes(v)}",
    "any_new_hs6_for_importer": lambda v: f"goods new for this importer: {_yes(v)}",
    "any_preference_without_proof": lambda v: f"preference claimed without proof of origin: {_yes(v)}",
    "any_relief_procedure": lambda v: f"released under a tax-relief procedure: {_yes(v)}",
    "network_risk": lambda v: f"risk from the importer's network {percent(v)}",
    "network_hops_to_offender": lambda v: f"ties to the nearest caught or listed party: {_count(v)}",
    "network_offender_links": lambda v: f"links to caught or listed companies (weighted): {_finite(v) or 0:.2f}",
    "network_tied_companies": lambda v: f"companies tied to the importer: {_count(v)}",
    "transshipped": lambda v: f"transshipped: {_yes(v)}",
    "n_transshipment_ports": lambda v: f"transshipment ports: {_count(v)}",
    "loading_country_differs_dispatch": lambda v: f"loaded outside the dispatch country: {_yes(v)}",
    "below_relief_threshold": lambda v: f"value under the relief threshold: {_yes(v)}",
    "split_siblings": lambda v: f"recent low-value consignments of the same goods by the importer: {_count(v)}",
    "split_total_value": lambda v: f"value of those consignments together: {money(v)}",
    "office_code": lambda v: f"lodged at office {v}",
    "transport_mode": lambda v: f"transport mode {v}",
    "country_of_dispatch": lambda v: f"dispatched from {v}",
    "incoterm": lambda v: f"delivery term {v}",
}


def feature_phrase(name: str, value: Any) -> str | None:
    """The feature's value in a clerk's words, or None when the catalogue has no phrase for the feature."""
    phrase = _FEATURES.get(name)
    return phrase(value) if phrase is not None else None


def phrased_features() -> Mapping[str, Phrase]:
    """Every feature the catalogue has words for (the tests check each model feature is covered)."""
    return dict(_FEATURES)


def priority_meaning(ranked_by_value: bool) -> str:
    """What a run's priority counts: the expected additional revenue of an inspection, or the risk alone."""
    if ranked_by_value:
        return "expected additional revenue if inspected (risk × expected revenue, national currency)"
    return "chance of fraud from the rules and the model"
