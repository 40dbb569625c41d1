"""Declaration items: goods, quantities, masses and true values.

Each declaration carries 1 + Poisson items (mean ``config.mean_items``); the first item is the
shipment's main product line, the others the importer's related lines. Unit prices are
log-normal around the catalogue price, shifted by the origin's price level and a persistent
price level of the exporter; masses depend on the mode (a container, an air pallet, a parcel).
"""

from __future__ import annotations

import numpy as np

from cintel.domain.codes import Incoterm, QuantityUnit
from cintel.simulate.actors import Actors
from cintel.simulate.catalogue import FX_TO_EUR, PARTNERS, catalogue
from cintel.simulate.config import SimulationConfig
from cintel.simulate.declarations import AIR, POST, RAIL, ROAD, SEA, Draft
from cintel.simulate.sampling import pick_in_groups

_PRICE_LEVEL = np.array([p.price for p in PARTNERS])
_TRADING_HUBS = np.isin([p.code for p in PARTNERS], ["HK", "SG", "AE"])
_CN = [p.code for p in PARTNERS].index("CN")
# Share of a container-load line that a shipment of each mode carries.
_MODE_MASS = {SEA: 1.0, RAIL: 0.7, ROAD: 0.45, AIR: 0.03, POST: 0.0}
# Incoterm -> (probability by mode, factor from invoice price to customs (CIF) value).
_INCOTERMS: dict[Incoterm, tuple[dict[int, float], float]] = {
    Incoterm.FOB: ({SEA: 0.45, RAIL: 0.1}, 1.06),
    Incoterm.CIF: ({SEA: 0.25, RAIL: 0.1}, 1.0),
    Incoterm.CFR: ({SEA: 0.1}, 1.005),
    Incoterm.EXW: ({SEA: 0.1, RAIL: 0.3, ROAD: 0.2, AIR: 0.2}, 1.09),
    Incoterm.FCA: ({SEA: 0.05, RAIL: 0.3, ROAD: 0.3, AIR: 0.4}, 1.07),
    Incoterm.CPT: ({RAIL: 0.2, AIR: 0.2}, 1.005),
    Incoterm.DAP: ({SEA: 0.05, ROAD: 0.4, AIR: 0.2, POST: 0.4}, 0.98),
    Incoterm.DDP: ({ROAD: 0.1, POST: 0.6}, 0.97),
}
INCOTERM_CODES = np.array([t.value for t in _INCOTERMS])
INCOTERM_FACTOR = np.array([f for _, f in _INCOTERMS.values()])


def _by_mode(rng: np.random.Generator, mode: np.ndarray) -> np.ndarray:
    """Incoterm index per declaration, drawn from the mode's usual terms."""
    probs = np.array([[p.get(m, 0.0) for p, _ in _INCOTERMS.values()] for m in (SEA, RAIL, ROAD, AIR, POST)])
    probs /= probs.sum(axis=1, keepdims=True)
    row = np.searchsorted([SEA, RAIL, ROAD, AIR, POST], mode)
    cumulative = probs.cumsum(axis=1)[row]
    index: np.ndarray = (rng.random(len(mode))[:, None] > cumulative).sum(axis=1).clip(0, len(_INCOTERMS) - 1)
    return index


CURRENCIES: tuple[str, ...] = tuple(FX_TO_EUR)
_EUR, _USD = CURRENCIES.index("EUR"), CURRENCIES.index("USD")


def invoice_currencies(rng: np.random.Generator, partner: np.ndarray) -> np.ndarray:
    """Invoice currency (index into CURRENCIES) per declaration: mostly the partner's main one."""
    out = np.zeros(len(partner), dtype=np.int64)
    u = rng.random(len(partner))
    for i, p in enumerate(PARTNERS):
        rows = np.flatnonzero(partner == i)
        options = np.array([CURRENCIES.index(c) for c in p.currencies])
        pick = np.where(u[rows] < 0.7, 0, 1 + (u[rows] * 997).astype(np.int64) % max(len(options) - 1, 1))
        out[rows] = options[np.minimum(pick, len(options) - 1)]
    return out


def build_items(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors,
                split_threshold: float) -> None:
    """Add the item arrays and the header's currency and incoterm to the draft (true values only).

    Split-shipment parts are sized to stay under ``split_threshold`` (customs value in EUR).
    """
    cat = catalogue()
    n = draft.n
    single = draft.person | (draft.split_group >= 0)
    count = np.where(single, 1, 1 + rng.poisson(config.mean_items - 1, n)).clip(1, 30)
    decl = np.repeat(np.arange(n), count)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    item_no = np.arange(len(decl)) - np.repeat(starts, count) + 1
    m = len(decl)

    # First item: the shipment's product; others: the same product (another model) or a product
    # of the same chapter, which the same exporter plausibly sells.
    chapter = np.array([int(code[:2]) for code in cat.hs_code])
    related = pick_in_groups(rng, chapter, chapter[draft.product[decl]])
    product = np.where((item_no == 1) | draft.person[decl] | (rng.random(m) < 0.45), draft.product[decl], related)
    partner = draft.partner[decl]
    # Trading hubs re-export Chinese goods.
    origin = np.where(_TRADING_HUBS[partner] & (rng.random(m) < 0.5), _CN, partner)

    mode = draft.mode[decl]
    scale = np.select([mode == m_ for m_ in _MODE_MASS], list(_MODE_MASS.values()), 1.0)
    net = cat.sea_kg[product] * scale * rng.lognormal(0.0, 0.6, m) / np.sqrt(count[decl])
    net = np.where(mode == POST, rng.lognormal(0.0, 0.8, m), net)
    unit = cat.unit[product]
    per_unit = cat.unit_kg[product]
    counted = unit != QuantityUnit.KGM.value
    quantity = np.where(counted, np.maximum(1.0, np.round(net / per_unit)), np.round(net, 1).clip(0.1))
    net = np.where(counted, quantity * per_unit * rng.uniform(0.97, 1.03, m), quantity)
    net = np.round(np.maximum(net, 0.01), 2)
    quantity = np.where(counted, quantity, net)
    quantity = np.where(unit == QuantityUnit.LTR.value, np.round(net / per_unit, 1).clip(0.1), quantity)

    # Prices drift up ~3 % a year; each exporter keeps its own price level.
    years = (draft.date[decl] - draft.date.min()) / 365.25
    unit_price = (cat.price_eur[product] * _PRICE_LEVEL[origin] * actors.exporter_price[draft.exporter[decl]]
                  * rng.lognormal(0.0, cat.sigma[product]) * (1 + 0.03 * years))
    value_eur = quantity * unit_price

    incoterm = _by_mode(rng, draft.mode)
    currency = invoice_currencies(rng, draft.partner)
    currency = np.where(draft.mode == POST, np.where(rng.random(n) < 0.6, _EUR, _USD), currency)

    # Split-shipment parts are sized to stay just under the relief threshold.
    split = draft.split_group[decl] >= 0
    if split.any():
        target = rng.uniform(0.55, 0.95, m) * split_threshold
        shrink = np.where(split, target / np.maximum(value_eur * INCOTERM_FACTOR[incoterm[decl]], 1e-9), 1.0)
        quantity = np.where(split & counted, np.maximum(1.0, np.floor(quantity * shrink)), quantity)
        net = np.where(split & counted, np.round(np.maximum(quantity * per_unit, 0.01), 2),
                       np.where(split, np.round(np.maximum(net * shrink, 0.01), 2), net))
        quantity = np.where(split & ~counted, net, quantity)
        value_eur = np.where(split, target / INCOTERM_FACTOR[incoterm[decl]], value_eur)

    gross = np.ceil(net * rng.uniform(1.02, 1.25, m) * 100) / 100
    draft.items.update(
        decl=decl, item_no=item_no, product=product, declared_product=product.copy(), origin=origin,
        declared_origin=origin.copy(), quantity=quantity, unit=unit, net=net, gross=gross,
        value_eur=value_eur,
    )
    draft.incoterm = incoterm
    draft.currency = currency
    draft.fx = np.array(list(FX_TO_EUR.values()))[currency]
