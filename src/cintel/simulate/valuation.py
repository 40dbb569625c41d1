"""Declared and true values, duties and the revenue each declaration puts at risk.

Customs value is the invoice price converted to EUR and brought to a CIF basis by the incoterm.
Duty is the heading's rate plus any anti-dumping rate of the origin; consignments at or under the
relief threshold pay none. Revenue at risk is the duty the true facts owe minus the duty the
declared facts owe; for honest declarations the two are equal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cintel.simulate.catalogue import PARTNERS, anti_dumping_matrix, catalogue
from cintel.simulate.config import Scheme
from cintel.simulate.declarations import Draft
from cintel.simulate.items import INCOTERM_FACTOR

_CODES = np.array([p.code for p in PARTNERS])


@dataclass(frozen=True)
class Valuation:
    """Per-item values (EUR unless said) and per-declaration totals."""

    invoice_value: np.ndarray  # declared, in the invoice currency
    customs_value: np.ndarray  # declared
    true_customs_value: np.ndarray
    declared_duty: np.ndarray
    true_duty: np.ndarray
    revenue_at_risk: np.ndarray  # per item
    decl_customs_value: np.ndarray  # per declaration, declared
    decl_true_value: np.ndarray
    decl_revenue_at_risk: np.ndarray


def _duty(product: np.ndarray, origin: np.ndarray, value: np.ndarray, decl: np.ndarray, n: int,
          relief: np.ndarray) -> np.ndarray:
    cat = catalogue()
    rate = cat.duty[product] + anti_dumping_matrix(cat.hs_code, _CODES)[product, origin]
    return np.where(relief[decl], 0.0, np.round(rate * value, 2))


def value_declarations(draft: Draft, relief_threshold: float) -> Valuation:
    """Declared and true customs values and duties of all items."""
    items = draft.items
    decl = items["decl"]
    n = draft.n
    # Relabelled goods are declared as originating where they were relabelled.
    relabelled = draft.scheme[decl] == Scheme.ORIGIN_MISDECLARATION.code
    items["declared_origin"] = np.where(relabelled, draft.declared_partner[decl], items["origin"])

    to_cif = INCOTERM_FACTOR[draft.incoterm[decl]]
    factor = draft.factor[decl]
    true_value = np.round(items["value_eur"] * to_cif, 2)
    invoice = np.round(items["value_eur"] * factor / draft.fx[decl], 2)
    customs = np.round(items["value_eur"] * factor * to_cif, 2)
    decl_customs = np.bincount(decl, weights=customs, minlength=n)
    decl_true = np.bincount(decl, weights=true_value, minlength=n)
    # Split parts wrongly enjoy the relief: the consignment as a whole was over the threshold.
    split = draft.split_group >= 0
    declared_duty = _duty(items["declared_product"], items["declared_origin"], customs, decl, n,
                          decl_customs <= relief_threshold)
    true_duty = _duty(items["product"], items["origin"], true_value, decl, n,
                      (decl_true <= relief_threshold) & ~split)
    at_risk = np.maximum(true_duty - declared_duty, 0.0)
    return Valuation(
        invoice_value=invoice, customs_value=customs, true_customs_value=true_value,
        declared_duty=declared_duty, true_duty=true_duty, revenue_at_risk=at_risk,
        decl_customs_value=decl_customs, decl_true_value=decl_true,
        decl_revenue_at_risk=np.round(np.bincount(decl, weights=at_risk, minlength=n), 2),
    )
