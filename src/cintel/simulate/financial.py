"""Financial records: who paid whom, when and how much.

Importers pay their exporters monthly for what they bought. Undervaluing importers pay the
declared invoice by the book and the rest as a separate "commission" or "services" transfer,
so the money trail shows the true price. Members of a front-company ring move money around the
ring every month and settle each other's side payments from shared accounts.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from cintel.domain.records import FINANCIAL
from cintel.simulate.actors import Actors
from cintel.simulate.catalogue import IMPORTING_COUNTRY, PARTNERS
from cintel.simulate.config import Scheme, SimulationConfig
from cintel.simulate.declarations import Draft
from cintel.simulate.items import CURRENCIES
from cintel.simulate.sampling import date_strings, day_number, in_format, lookup
from cintel.simulate.valuation import Valuation

_CODES = np.array([p.code for p in PARTNERS])
_SIDE_REFERENCES = ("Commission", "Consulting services", "Marketing support", "Quality inspection fee",
                    "Logistics services")
_RING_REFERENCES = ("Loan", "Loan repayment", "Management fee", "Intercompany settlement", "Rent")


def financial_frame(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors,
                    valuation: Valuation) -> pl.DataFrame:
    """Payments between the world's parties, columns as FINANCIAL."""
    end = day_number(config.end_date)
    business = np.flatnonzero(~draft.person)
    decl = draft.items["decl"]
    declared = np.bincount(decl, weights=valuation.invoice_value, minlength=draft.n)
    true_eur = np.bincount(decl, weights=draft.items["value_eur"], minlength=draft.n)
    true = true_eur / draft.fx
    undervalued = np.isin(draft.scheme, [Scheme.UNDERVALUATION.code, Scheme.FRONT_COMPANY.code])
    payer = actors.importer_row[draft.trader]
    # Ring members settle side payments from the ring leader's account.
    ring = actors.importer_ring[draft.trader]
    leader_of_ring = np.full(max(actors.rings, 1), -1)
    members = actors.ring_importers
    if len(members):
        first = np.searchsorted(actors.importer_ring[members], np.arange(actors.rings))
        leader_of_ring[: actors.rings] = members[np.minimum(first, len(members) - 1)]
    side_payer = np.where((ring >= 0) & (draft.scheme == Scheme.FRONT_COMPANY.code),
                          actors.importer_row[leader_of_ring[np.maximum(ring, 0)]], payer)
    month = (draft.date - draft.date.min()) // 30

    invoices = pl.DataFrame({
        "payer": payer[business], "payee": actors.exporter_row[draft.exporter[business]],
        "currency": draft.currency[business], "month": month[business], "date": draft.date[business],
        "amount": declared[business],
    }).group_by("payer", "payee", "currency", "month").agg(pl.col("amount").sum(), pl.col("date").max())
    invoices = invoices.sort("payer", "payee", "currency", "month").with_columns(reference=pl.lit(0))
    side = np.flatnonzero(undervalued & ~draft.person)
    extras = pl.DataFrame({
        "payer": side_payer[side], "payee": actors.exporter_row[draft.exporter[side]],
        "currency": draft.currency[side], "month": month[side], "date": draft.date[side],
        "amount": true[side] - declared[side], "reference": rng.integers(1, len(_SIDE_REFERENCES) + 1, len(side)),
    })
    frames = [invoices.select(extras.columns), extras]
    if len(members):
        # Every month each member transfers money to the next member of its ring.
        ring_of = actors.importer_ring[members]
        nxt = np.where(np.roll(ring_of, -1) == ring_of, np.roll(members, -1),
                       members[np.searchsorted(ring_of, ring_of)])
        months = int(month.max()) + 1
        src = np.repeat(members, months)
        frames.append(pl.DataFrame({
            "payer": actors.importer_row[src], "payee": actors.importer_row[np.repeat(nxt, months)],
            "currency": np.full(len(src), CURRENCIES.index("EUR")), "month": np.tile(np.arange(months), len(members)),
            "date": draft.date.min() + np.tile(np.arange(months), len(members)) * 30 + rng.integers(0, 28, len(src)),
            "amount": np.round(rng.lognormal(9.5, 0.8, len(src)), -2),
            "reference": -rng.integers(1, len(_RING_REFERENCES) + 1, len(src)),
        }).filter(pl.col("payer") != pl.col("payee")))
    pay = pl.concat([f.cast({"reference": pl.Int64, "month": pl.Int64, "date": pl.Int64, "amount": pl.Float64,
                                     "payer": pl.Int64, "payee": pl.Int64, "currency": pl.Int64}) for f in frames])
    # Payment follows the invoice by up to seven weeks; nothing is paid after the end date.
    day = pay["date"].to_numpy() + rng.integers(5, 50, pay.height)
    pay = pay.with_columns(day=day).filter((pl.col("day") <= end) & (pl.col("amount") > 0.005))
    pay = pay.sort("day", "payer", "payee")
    register = actors.register
    payer_row, payee_row = pay["payer"].to_numpy(), pay["payee"].to_numpy()
    ref = pay["reference"].to_numpy()
    reference = pl.select(
        pl.when(pl.Series(ref == 0)).then(pl.lit("INV ") + pl.Series(rng.integers(10_000, 999_999, len(ref)))
                                           .cast(pl.String))
        .when(pl.Series(ref > 0)).then(lookup(_SIDE_REFERENCES, np.maximum(ref - 1, 0)))
        .otherwise(lookup(_RING_REFERENCES, np.maximum(-ref - 1, 0)))).to_series()
    frame = pl.DataFrame({
        "record_id": "FT" + pl.Series(np.arange(1, pay.height + 1)).cast(pl.String).str.zfill(10),
        "record_date": date_strings(pay["day"]),
        "payer_name": lookup(register["name"], payer_row),
        "payer_account": lookup(register["iban"], payer_row),
        "payee_name": lookup(register["name"], payee_row),
        "payee_account": lookup(register["iban"], payee_row),
        "amount": pay["amount"].round(2),
        "currency": lookup(CURRENCIES, pay["currency"].to_numpy()),
        "payer_country": IMPORTING_COUNTRY,
        "payee_country": lookup(register["country"], payee_row),
        "reference": reference,
    })
    return in_format(frame, FINANCIAL)
