"""What each risk feature means and how to tell an officer why it matters for one declaration.

``FEATURES`` holds a spec for every feature column of the item and declaration frames.
``AGGREGATES`` says how a declaration's items roll up: the worst item's value and, beside it as
``<name>__<column>``, the facts about that item the explanation needs (its HS6, origin, rates).
Reasons return None when the value is unremarkable; the thresholds below only decide wording,
never a score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from cintel.risk.feature_spec import FeatureKind, FeatureLevel, FeatureSpec
from cintel.risk.features_history import HIT_RATE_WEIGHT, RELIEF_THRESHOLD, SPLIT_DAYS, VOLUME_DAYS
from cintel.risk.features_peers import PEER_WEEKS, finite, percent_off

Row = Mapping[str, Any]
NETWORK_RISK_WORTH_TELLING = 0.05
N, C, F = FeatureKind.NUMBER, FeatureKind.CATEGORY, FeatureKind.FLAG
ITEM, DECL = FeatureLevel.ITEM, FeatureLevel.DECLARATION

HEADER_COLUMNS: tuple[str, ...] = (
    "declaration_id", "declaration_date", "declaration_type", "office_code", "importer_id", "importer_name",
    "importer_country", "exporter_id", "exporter_name", "exporter_country", "declarant_id", "country_of_dispatch",
    "port_of_loading", "port_of_discharge", "transport_mode", "vessel_imo", "invoice_currency", "incoterm",
    "transshipment_ports", "bl_number",
)


def _num(row: Row, key: str) -> float | None:
    value = row.get(key)
    return float(value) if isinstance(value, int | float) and finite(value) else None


def _pct(rate: float | None) -> str:
    return "?" if rate is None else f"{rate * 100:.3g} %"


def _hs(code: object) -> str:
    """HS code as officers write it: 6109.90 for 610990, 8528 for a heading."""
    text = str(code or "?")
    return f"{text[:4]}.{text[4:6]}" if len(text) >= 6 else text


def _none(_: Row) -> None:
    return None


def _first(*keys: str) -> Callable[[Row], Any]:
    def pick(row: Row) -> Any:
        return next((row[k] for k in keys if row.get(k) is not None), None)
    return pick


# --- reasons; each reads an item row or, through the ``__`` context columns, a declaration row -------------
def _value_reason(ratio_key: str, hs6: Callable[[Row], Any], origin: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        ratio = _num(row, ratio_key)
        if ratio is None or 0.5 <= ratio <= 3.0:
            return None
        return f"unit value {percent_off(ratio)} peers for HS {hs6(row)} from {origin(row)}"
    return reason


def _z_reason(key: str, hs6: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        z = _num(row, key)
        if z is None or abs(z) < 3:
            return None
        return f"unit value {abs(z):.1f} robust deviations {'below' if z < 0 else 'above'} peers for HS {hs6(row)}"
    return reason


def _mass_reason(key: str, hs6: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        ratio = _num(row, key)
        if ratio is None or 0.6 <= ratio <= 1.5:
            return None
        return f"mass per unit {percent_off(ratio)} the typical for HS {hs6(row)}"
    return reason


def _share_reason(key: str, hs6: Callable[[Row], Any], origin: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        share = _num(row, key)
        if share is None or share >= 0.02:
            return None
        return f"origin {origin(row)} is rare for HS {hs6(row)} ({share * 100:.1f} % of the past year's items)"
    return reason


def _gap_reason(key: str, code: Callable[[Row], Any], own: Callable[[Row], Any], other: Callable[[Row], Any],
                other_rate: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        gap = _num(row, key)
        if gap is None or gap < 0.03:
            return None
        declared, neighbour = f"{_hs(code(row))} ({_pct(own(row))})", _hs(other(row))
        return f"declared under {declared} while {neighbour} pays {_pct(other_rate(row))}"
    return reason


def _chapter_reason(key: str, code: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        gap = _num(row, key)
        if gap is None or gap < 0.1:
            return None
        return f"declared under {_hs(code(row))}, {gap * 100:.3g} points below the highest duty of its chapter"
    return reason


def _ad_reason(key: str, origin: Callable[[Row], Any], other: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        rate = _num(row, key)
        if rate is None or rate <= 0:
            return None
        return f"origin {origin(row)} for goods under anti-dumping duty from {other(row)} ({_pct(rate)})"
    return reason


def _pref_reason(key: str, origin: Callable[[Row], Any]) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        margin = _num(row, key)
        if margin is None or margin < 0.03:
            return None
        return f"preferential origin {origin(row)} saves {_pct(margin)} duty"
    return reason


def _flag_reason(key: str, text: Callable[[Row], str]) -> Callable[[Row], Any]:
    return lambda row: text(row) if row.get(key) is True else None


def _hit_reason(who: str) -> Callable[[Row], Any]:
    def reason(row: Row) -> str | None:
        rate, n, hits = _num(row, f"{who}_hit_rate"), row.get(f"{who}_inspections"), row.get(f"{who}_hits")
        if rate is None or not n or rate < 0.25:
            return None
        return f"{who}'s past inspections found irregularities in {hits} of {n} (smoothed rate {rate * 100:.0f} %)"
    return reason


def _age_reason(row: Row) -> str | None:
    age = row.get("importer_age_days")
    return f"importer first seen {age} days ago" if isinstance(age, int) and age < 90 else None


def _split_reason(row: Row) -> str | None:
    n = row.get("split_siblings")
    if not isinstance(n, int) or n < 1:
        return None
    hs6 = row.get("main_hs6") or row.get("hs6")
    total = _num(row, "split_total_value") or 0.0
    return (f"{n + 1} low-value consignments of HS {hs6} by the same importer within {SPLIT_DAYS + 1} days, "
            f"together {total:,.0f} EUR (relief threshold {RELIEF_THRESHOLD:.0f} EUR)")


def _network_reason(row: Row) -> str | None:
    risk, hops = _num(row, "network_risk"), row.get("network_hops_to_offender")
    if risk is None or risk < NETWORK_RISK_WORTH_TELLING or not hops:
        return None
    return f"importer is {hops} tie(s) from a caught or listed party (network risk {risk:.2f})"


def _spec(name: str, kind: FeatureKind, level: FeatureLevel, description: str,
          reason: Callable[[Row], Any] = _none, model_input: bool = True) -> FeatureSpec:
    return FeatureSpec(name, description, kind, level, reason, model_input)


_hs6_item, _origin_item = _first("hs6"), _first("country_of_origin")
_PEERS = f"HS6 x origin items of the {PEER_WEEKS} weeks before the declaration's week"

_ITEM_SPECS = [
    _spec("hs6", C, ITEM, "HS subheading (first 6 digits) of the declared code", model_input=False),
    _spec("unit_basis", C, ITEM, "Unit the unit value is per: the quantity unit, or KGM of net mass",
          model_input=False),
    _spec("unit_value", N, ITEM, "Customs value per unit of quantity (per kg without a quantity)", model_input=False),
    _spec("kg_per_unit", N, ITEM, "Net mass per unit of quantity (counted goods only)", model_input=False),
    _spec("unit_value_ratio_hs6_origin", N, ITEM, f"Unit value / median of {_PEERS} (HS6 alone if few)",
          _value_reason("unit_value_ratio_hs6_origin", _hs6_item, _origin_item)),
    _spec("unit_value_robust_z", N, ITEM, "(log unit value - peer median) / (1.4826 x peer MAD), log scale",
          _z_reason("unit_value_robust_z", _hs6_item)),
    _spec("unit_value_peers", N, ITEM, "Number of peer items behind the unit-value median"),
    _spec("mass_per_unit_ratio", N, ITEM, "Kg per unit / median kg per unit of the HS6 in the same unit",
          _mass_reason("mass_per_unit_ratio", _hs6_item)),
    _spec("origin_share_hs6", N, ITEM, "Share of the past year's items of this HS6 that came from this origin",
          _share_reason("origin_share_hs6", _hs6_item, _origin_item)),
    _spec("duty_rate", N, ITEM, "Duty rate of the declared code and origin (third-country or preference + AD)"),
    _spec("anti_dumping_rate", N, ITEM, "Anti-dumping duty rate the declared origin pays on the code"),
    _spec("preferential_margin", N, ITEM, "Third-country rate minus the preferential rate of the declared origin",
          _pref_reason("preferential_margin", _origin_item)),
    _spec("duty_differential_neighbours", N, ITEM,
          "Highest duty among tariff codes of the same heading (same origin) minus the declared code's duty",
          _gap_reason("duty_differential_neighbours", _first("hs_code"), _first("duty_rate"),
                      _first("duty_neighbour_code"), _first("duty_neighbour_rate"))),
    _spec("duty_neighbour_code", C, ITEM, "Tariff code of the same heading with the highest duty", model_input=False),
    _spec("duty_neighbour_rate", N, ITEM, "Duty of that neighbour code for the declared origin", model_input=False),
    _spec("duty_differential_chapter", N, ITEM, "Highest duty among tariff codes of the chapter minus own duty",
          _chapter_reason("duty_differential_chapter", _first("hs_code"))),
    _spec("anti_dumping_elsewhere", N, ITEM,
          "Highest anti-dumping rate on the code for another origin, when the declared origin pays none",
          _ad_reason("anti_dumping_elsewhere", _origin_item, _first("anti_dumping_elsewhere_origin"))),
    _spec("anti_dumping_elsewhere_origin", C, ITEM, "Origin that anti-dumping rate applies to", model_input=False),
    _spec("round_value", F, ITEM, "Invoice value is a whole multiple of 100",
          _flag_reason("round_value", lambda r: f"round invoice value {_num(r, 'invoice_value') or 0:,.0f}")),
    _spec("origin_differs_dispatch", F, ITEM, "Country of origin differs from the country of dispatch",
          _flag_reason("origin_differs_dispatch", lambda r: f"goods of origin {r.get('country_of_origin')} "
                       f"dispatched from {r.get('country_of_dispatch')}")),
    _spec("preference_claimed", F, ITEM, "The item claims a tariff preference (its preference code is not one of "
          "the settings' no_preference_codes)"),
    _spec("preference_without_proof", F, ITEM, "A tariff preference is claimed and no document that proves the "
          "preferential origin (certificate, EUR.1, statement on origin) is produced",
          _flag_reason("preference_without_proof", lambda r: f"preference {r.get('preference_code')} claimed for "
                       f"origin {r.get('country_of_origin')} without a proof of origin")),
    _spec("relief_procedure", F, ITEM, "The item is released under a procedure with a tax relief open to abuse "
          "(e.g. 42, VAT-exempt onward supply)",
          _flag_reason("relief_procedure", lambda r: f"released under procedure {r.get('procedure_code')} "
                       "(tax relief)")),
    _spec("new_hs6_for_importer", F, ITEM, "The importer has not declared this HS6 before",
          _flag_reason("new_hs6_for_importer", lambda r: f"first declaration of HS {r.get('hs6')} by this importer")),
]

_DECLARATION_SPECS = [
    _spec("importer_key", C, DECL, "Importer identifier, or normalised name when missing", model_input=False),
    _spec("main_hs6", C, DECL, "HS6 of the declaration's largest-value item", model_input=False),
    _spec("total_customs_value", N, DECL, "Sum of the items' customs values"),
    _spec("importer_declarations_before", N, DECL, "Declarations of the importer before the declaration's day"),
    _spec("importer_declarations_90d", N, DECL, f"Declarations of the importer in the {VOLUME_DAYS} days before"),
    _spec("importer_value_90d", N, DECL, f"Customs value declared by the importer in the {VOLUME_DAYS} days before"),
    _spec("importer_age_days", N, DECL, "Days since the importer's first declaration (null if none before)",
          _age_reason),
    _spec("first_time_importer", F, DECL, "No earlier declaration of this importer",
          _flag_reason("first_time_importer", lambda _: "first declaration of this importer")),
    _spec("importer_inspections", N, DECL, "Inspections of the importer's declarations recorded before the day"),
    _spec("importer_hits", N, DECL, "Of those, inspections with a finding", model_input=False),
    _spec("importer_hit_rate", N, DECL, f"Smoothed importer hit rate, m = {HIT_RATE_WEIGHT:g} at the prior rate",
          _hit_reason("importer")),
    _spec("network_risk", N, DECL, "Risk spread to the importer from caught and listed parties, as of the week",
          _network_reason),
    _spec("network_hops_to_offender", N, DECL, "Ties between the importer and the nearest caught or listed party"),
    _spec("network_offender_links", N, DECL,
          "Identifiers shared with caught or listed companies, each weighted by how few companies share it",
          lambda r: "importer shares a director, address, phone, e-mail or account with a caught or listed company"
          if (r.get("network_offender_links") or 0) >= 0.3 else None),
    _spec("network_tied_companies", N, DECL, "Companies tied to the importer by shared identifiers (ring-like)",
          lambda r: f"importer is tied to {r['network_tied_companies']} other companies by shared identifiers"
          if (r.get("network_tied_companies") or 0) >= 2 else None),
    _spec("declarant_inspections", N, DECL, "Inspections of the declarant's declarations recorded before the day"),
    _spec("declarant_hits", N, DECL, "Of those, inspections with a finding", model_input=False),
    _spec("declarant_hit_rate", N, DECL, f"Smoothed declarant hit rate, m = {HIT_RATE_WEIGHT:g}",
          _hit_reason("declarant")),
    _spec("transshipped", F, DECL, "Goods were transshipped on the way"),
    _spec("n_transshipment_ports", N, DECL, "Number of transshipment ports declared"),
    _spec("loading_country_differs_dispatch", F, DECL, "Port of loading lies outside the country of dispatch",
          _flag_reason("loading_country_differs_dispatch", lambda r: f"loaded at {r.get('port_of_loading')} but "
                       f"dispatched from {r.get('country_of_dispatch')}")),
    _spec("below_relief_threshold", F, DECL, f"Total customs value at or under {RELIEF_THRESHOLD:.0f} EUR"),
    _spec("split_siblings", N, DECL, "Other low-value declarations of the importer with the same main HS6 on the "
          f"same day or the {SPLIT_DAYS} before", _split_reason),
    _spec("split_total_value", N, DECL, "Customs value of those declarations and this one together"),
    _spec("office_code", C, DECL, "Customs office of lodgement"),
    _spec("transport_mode", C, DECL, "Mode of transport at the border"),
    _spec("country_of_dispatch", C, DECL, "Country of dispatch"),
    _spec("incoterm", C, DECL, "Delivery term"),
]


@dataclass(frozen=True)
class Aggregate:
    """A declaration column rolled up from an item column: the worst item's value and its context."""

    source: str
    how: str  # "min", "max", "any", "count", "first_by_value"
    context: tuple[str, ...] = ()

    def exprs(self, name: str) -> list[pl.Expr]:
        """The aggregate expressions: the value, then its context. Sorts are stable, so among tied items the
        first in declaration order is the worst, whatever the memory layout of the frame."""
        col = pl.col(self.source)
        if self.how == "count":
            return [pl.len().cast(pl.Int64).alias(name)]
        if self.how == "first_by_value":
            return [col.sort_by("customs_value", descending=True, nulls_last=True, maintain_order=True).first()
                    .alias(name)]
        if self.how == "any":
            value, order = col.fill_null(False).any(), col.fill_null(False).cast(pl.Int8)
            descending = True
        else:
            value = col.min() if self.how == "min" else col.max()
            order, descending = col, self.how == "max"
        ctx = [pl.col(c).sort_by(order, descending=descending, nulls_last=True,
                                  maintain_order=True).first().alias(f"{name}__{c}")
               for c in self.context]
        return [value.alias(name), *ctx]


AGGREGATES: dict[str, Aggregate] = {
    "n_items": Aggregate("item_no", "count"),
    "main_hs_chapter": Aggregate("hs_chapter", "first_by_value"),
    "main_origin": Aggregate("country_of_origin", "first_by_value"),
    "min_unit_value_ratio": Aggregate("unit_value_ratio_hs6_origin", "min", ("hs6", "country_of_origin")),
    "min_unit_value_robust_z": Aggregate("unit_value_robust_z", "min", ("hs6",)),
    "max_unit_value_ratio": Aggregate("unit_value_ratio_hs6_origin", "max", ("hs6", "country_of_origin")),
    "max_mass_per_unit_ratio": Aggregate("mass_per_unit_ratio", "max", ("hs6",)),
    "min_origin_share_hs6": Aggregate("origin_share_hs6", "min", ("hs6", "country_of_origin")),
    "max_duty_rate": Aggregate("duty_rate", "max"),
    "max_duty_differential_neighbours": Aggregate("duty_differential_neighbours", "max",
                                                  ("hs_code", "duty_rate", "duty_neighbour_code",
                                                   "duty_neighbour_rate")),
    "max_duty_differential_chapter": Aggregate("duty_differential_chapter", "max", ("hs_code",)),
    "max_anti_dumping_rate": Aggregate("anti_dumping_rate", "max"),
    "max_anti_dumping_elsewhere": Aggregate("anti_dumping_elsewhere", "max",
                                            ("country_of_origin", "anti_dumping_elsewhere_origin")),
    "max_preferential_margin": Aggregate("preferential_margin", "max", ("country_of_origin",)),
    "any_round_value": Aggregate("round_value", "any", ("invoice_value",)),
    "any_origin_differs_dispatch": Aggregate("origin_differs_dispatch", "any", ("country_of_origin",)),
    "any_new_hs6_for_importer": Aggregate("new_hs6_for_importer", "any", ("hs6",)),
    "any_preference_without_proof": Aggregate("preference_without_proof", "any",
                                              ("preference_code", "country_of_origin")),
    "any_relief_procedure": Aggregate("relief_procedure", "any", ("procedure_code",)),
}


def _ctx(name: str, column: str) -> Callable[[Row], Any]:
    return _first(f"{name}__{column}")


_AGGREGATE_SPECS = [
    _spec("n_items", N, DECL, "Number of items"),
    _spec("main_hs_chapter", C, DECL, "HS chapter of the largest-value item"),
    _spec("main_origin", C, DECL, "Origin of the largest-value item"),
    _spec("min_unit_value_ratio", N, DECL, "Lowest unit-value ratio to peers among the items",
          _value_reason("min_unit_value_ratio", _ctx("min_unit_value_ratio", "hs6"),
                        _ctx("min_unit_value_ratio", "country_of_origin"))),
    _spec("min_unit_value_robust_z", N, DECL, "Lowest robust z of unit value among the items",
          _z_reason("min_unit_value_robust_z", _ctx("min_unit_value_robust_z", "hs6"))),
    _spec("max_unit_value_ratio", N, DECL, "Highest unit-value ratio to peers (dear goods under a cheap code)",
          _value_reason("max_unit_value_ratio", _ctx("max_unit_value_ratio", "hs6"),
                        _ctx("max_unit_value_ratio", "country_of_origin"))),
    _spec("max_mass_per_unit_ratio", N, DECL, "Highest mass-per-unit ratio to the HS6's typical",
          _mass_reason("max_mass_per_unit_ratio", _ctx("max_mass_per_unit_ratio", "hs6"))),
    _spec("min_origin_share_hs6", N, DECL, "Rarest origin among the items, as its share of the HS6's past items",
          _share_reason("min_origin_share_hs6", _ctx("min_origin_share_hs6", "hs6"),
                        _ctx("min_origin_share_hs6", "country_of_origin"))),
    _spec("max_duty_rate", N, DECL, "Highest duty rate among the items"),
    _spec("max_duty_differential_neighbours", N, DECL, "Largest duty saving against a code of the same heading",
          _gap_reason("max_duty_differential_neighbours", *(
              _ctx("max_duty_differential_neighbours", c)
              for c in ("hs_code", "duty_rate", "duty_neighbour_code", "duty_neighbour_rate")))),
    _spec("max_duty_differential_chapter", N, DECL, "Largest duty saving against a code of the same chapter",
          _chapter_reason("max_duty_differential_chapter", _ctx("max_duty_differential_chapter", "hs_code"))),
    _spec("max_anti_dumping_rate", N, DECL, "Highest anti-dumping rate paid by an item"),
    _spec("max_anti_dumping_elsewhere", N, DECL, "Highest anti-dumping duty avoided by the declared origin",
          _ad_reason("max_anti_dumping_elsewhere", _ctx("max_anti_dumping_elsewhere", "country_of_origin"),
                     _ctx("max_anti_dumping_elsewhere", "anti_dumping_elsewhere_origin"))),
    _spec("max_preferential_margin", N, DECL, "Largest preferential saving claimed",
          _pref_reason("max_preferential_margin", _ctx("max_preferential_margin", "country_of_origin"))),
    _spec("any_round_value", F, DECL, "Some item has a round invoice value",
          _flag_reason("any_round_value",
                       lambda r: f"round invoice value {_num(r, 'any_round_value__invoice_value') or 0:,.0f}")),
    _spec("any_origin_differs_dispatch", F, DECL, "Some item's origin differs from the dispatch country",
          _flag_reason("any_origin_differs_dispatch", lambda r: f"goods of origin "
                       f"{r.get('any_origin_differs_dispatch__country_of_origin')} dispatched from "
                       f"{r.get('country_of_dispatch')}")),
    _spec("any_new_hs6_for_importer", F, DECL, "Some item is of an HS6 the importer never declared before",
          _flag_reason("any_new_hs6_for_importer", lambda r: f"first declaration of HS "
                       f"{r.get('any_new_hs6_for_importer__hs6')} by this importer")),
    _spec("any_preference_without_proof", F, DECL, "Some item claims a preference without a proof of origin",
          _flag_reason("any_preference_without_proof", lambda r: f"preference "
                       f"{r.get('any_preference_without_proof__preference_code')} claimed for origin "
                       f"{r.get('any_preference_without_proof__country_of_origin')} without a proof of origin")),
    _spec("any_relief_procedure", F, DECL, "Some item is released under a tax-relief procedure",
          _flag_reason("any_relief_procedure", lambda r: "released under procedure "
                       f"{r.get('any_relief_procedure__procedure_code')} (tax relief)")),
]
_CONTEXT_SPECS = [
    _spec(f"{name}__{c}", C if c in ("hs6", "hs_code", "country_of_origin", "duty_neighbour_code",
                                     "anti_dumping_elsewhere_origin", "preference_code", "procedure_code") else N,
          DECL, f"{c} of the item behind {name} (for the explanation)", model_input=False)
    for name, agg in AGGREGATES.items() for c in agg.context
]
_HS_CHAPTER = _spec("hs_chapter", C, ITEM, "HS chapter (first 2 digits) of the declared code", model_input=False)

FEATURES: dict[str, FeatureSpec] = {
    s.name: s for s in [*_ITEM_SPECS, _HS_CHAPTER, *_DECLARATION_SPECS, *_AGGREGATE_SPECS, *_CONTEXT_SPECS]}
