"""Planting the fraud schemes, each at its configured rate, with its label in the ground truth.

A declaration carries at most one scheme. Structural schemes (who trades, which goods, which
route) are planted on the headers before items exist; valuation schemes (declared value and
heading) after. Where too few declarations naturally fit a scheme (a small world has few
Chinese bicycles by sea), suitable ones are made to fit, so the rates hold at every size.
"""

from __future__ import annotations

import numpy as np

from cintel.domain.codes import QuantityUnit
from cintel.simulate.actors import Actors
from cintel.simulate.catalogue import (
    CIRCUMVENTION_COUNTRIES,
    CONCEALMENT_COVERS,
    PARTNERS,
    anti_dumping_matrix,
    catalogue,
)
from cintel.simulate.config import (
    FrontCompanyConfig,
    Scheme,
    SimulationConfig,
    SplitShipmentConfig,
    UndervaluationConfig,
)
from cintel.simulate.declarations import AIR, POST, SEA, Draft
from cintel.simulate.sampling import pick_in_groups

_CODES = np.array([p.code for p in PARTNERS])
_CN = int(np.flatnonzero(_CODES == "CN")[0])
COVER_CODES: tuple[str, ...] = tuple(CONCEALMENT_COVERS)


def _take(rng: np.random.Generator, preferred: np.ndarray, fallback: np.ndarray, k: int) -> np.ndarray:
    """k indices, from ``preferred`` first and topped up from ``fallback`` (both boolean masks)."""
    first = np.flatnonzero(preferred)
    chosen = rng.choice(first, size=min(k, len(first)), replace=False)
    if len(chosen) < k:
        rest = np.flatnonzero(fallback & ~preferred)
        chosen = np.concatenate([chosen, rng.choice(rest, size=min(k - len(chosen), len(rest)), replace=False)])
    return np.sort(chosen).astype(np.int64)


def _weighted_sample(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability proportional to weight (exponential-race trick)."""
    k = min(k, int((weights > 0).sum()))
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    keys = np.where(weights > 0, rng.exponential(1.0, len(weights)) / np.maximum(weights, 1e-300), np.inf)
    return np.sort(np.argpartition(keys, k - 1)[:k])


def plant_structural(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors,
                     consumers: int) -> None:
    """Label listed parties' declarations; plant split shipments, concealment, origin fraud, misclassification."""
    cat = catalogue()
    n = draft.n
    business = ~draft.person
    listed = business & (actors.importer_watch[draft.trader] | actors.exporter_watch[draft.exporter])
    draft.scheme[listed] = Scheme.WATCHLISTED_PARTY.code
    ordinary = business & (draft.scheme == 0) & (actors.importer_ring[draft.trader] < 0)

    # Split shipments: one consignment lodged as several parcels under the relief threshold.
    split_cfg = config.scheme(Scheme.SPLIT_SHIPMENT)
    assert isinstance(split_cfg, SplitShipmentConfig)
    parts = round(split_cfg.rate * n)
    if parts >= split_cfg.min_parts:
        sizes = rng.integers(split_cfg.min_parts, split_cfg.max_parts + 1, parts)
        sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), parts)) + 1]
        sizes[-1] -= max(int(sizes.sum()) - parts, 0)
        sizes = sizes[sizes >= split_cfg.min_parts] if (sizes >= split_cfg.min_parts).sum() else sizes[:0]
        members = _take(rng, ordinary | draft.person, ordinary | draft.person, int(sizes.sum()))
        members = rng.permutation(members)
        group = np.repeat(np.arange(len(sizes)), sizes)[: len(members)]
        leader = members[np.searchsorted(group, group, side="left")]
        cheap = np.flatnonzero(cat.post & (cat.price_eur < 60))
        lead_product = cheap[rng.integers(0, len(cheap), len(sizes))][group]
        as_person = (rng.random(len(sizes)) < 0.5)[group]
        draft.split_group[members] = group
        draft.scheme[members] = Scheme.SPLIT_SHIPMENT.code
        draft.person[members] = np.where(as_person, True, draft.person[leader])
        draft.importer[members] = np.where(as_person, rng.integers(0, consumers, len(sizes))[group],
                                           draft.importer[leader])
        draft.importer_row[members] = np.where(draft.person[members], -1, draft.importer_row[leader])
        for arr in (draft.exporter, draft.declared_exporter, draft.partner, draft.declared_partner):
            arr[members] = arr[leader]
        draft.product[members] = lead_product
        draft.date[members] = np.minimum(draft.date[leader] + rng.integers(0, 3, len(members)),
                                         draft.date.max())
        draft.mode[members] = np.where(rng.random(len(sizes)) < 0.5, POST, AIR)[group]
        ordinary &= draft.scheme == 0

    # Concealment: prohibited goods hidden in cover cargo on known trafficking routes.
    k = round(config.scheme(Scheme.CONCEALMENT).rate * n)
    route = np.zeros((len(COVER_CODES), len(PARTNERS)), dtype=bool)
    for i, code in enumerate(COVER_CODES):
        route[i] = np.isin(_CODES, CONCEALMENT_COVERS[code][0])
    on_route = np.asarray(route.any(axis=0), dtype=bool)
    sea = draft.mode == SEA
    cover_product = np.array([int(np.flatnonzero(cat.hs_code == code)[0]) for code in COVER_CODES])
    natural = ordinary & sea & np.isin(draft.product, cover_product) & on_route[draft.partner]
    chosen = _take(rng, natural, ordinary & sea & on_route[draft.partner], k)
    # Each chosen shipment gets a cover that travels its route.
    options = route[:, draft.partner[chosen]].T * rng.random((len(chosen), len(COVER_CODES)))
    cover = np.argmax(options, axis=1)
    keep = np.isin(draft.product[chosen], cover_product) & route[
        np.searchsorted(cover_product, draft.product[chosen]).clip(0, len(COVER_CODES) - 1), draft.partner[chosen]]
    cover = np.where(keep, np.searchsorted(cover_product, draft.product[chosen]).clip(0, len(COVER_CODES) - 1),
                     cover)
    draft.hidden[chosen] = cover
    draft.product[chosen] = cover_product[cover]
    draft.scheme[chosen] = Scheme.CONCEALMENT.code
    ordinary &= draft.scheme == 0

    # Origin misdeclaration: anti-dumping goods from China relabelled in a third country.
    k = round(config.scheme(Scheme.ORIGIN_MISDECLARATION).rate * n)
    ad = anti_dumping_matrix(cat.hs_code, _CODES)[:, _CN] > 0
    ad_products = np.flatnonzero(ad)
    chinese = ordinary & sea & (draft.partner == _CN)
    chosen = _take(rng, chinese & ad[draft.product], chinese, k)
    relabel = ~ad[draft.product[chosen]]
    draft.product[chosen] = np.where(relabel, ad_products[rng.integers(0, len(ad_products), len(chosen))],
                                     draft.product[chosen])
    hubs = np.flatnonzero(np.isin(_CODES, CIRCUMVENTION_COUNTRIES) & np.array([bool(p.ports) for p in PARTNERS]))
    via = hubs[rng.integers(0, len(hubs), len(chosen))]
    draft.declared_partner[chosen] = via
    draft.declared_exporter[chosen] = pick_in_groups(rng, actors.exporter_partner, via)
    draft.scheme[chosen] = Scheme.ORIGIN_MISDECLARATION.code
    ordinary &= draft.scheme == 0

    # Misclassification is planted on the main product line; declarations made to fit get a
    # product that has a lower-duty look-alike. Items are relabelled in ``plant_valuation``.
    k = round(config.scheme(Scheme.MISCLASSIFICATION).rate * n)
    decoyable = np.flatnonzero(cat.decoy >= 0)
    chosen = _take(rng, ordinary & (cat.decoy[draft.product] >= 0), ordinary, k)
    forced = chosen[cat.decoy[draft.product[chosen]] < 0]
    draft.product[forced] = decoyable[rng.integers(0, len(decoyable), len(forced))]
    draft.scheme[chosen] = Scheme.MISCLASSIFICATION.code


def plant_valuation(rng: np.random.Generator, config: SimulationConfig, draft: Draft, actors: Actors) -> None:
    """Plant front-company undervaluation, relabel misclassified items and plant undervaluation."""
    cat = catalogue()
    n = draft.n
    items = draft.items
    business = ~draft.person & (draft.split_group < 0)
    free = business & (draft.scheme == 0)

    front = config.scheme(Scheme.FRONT_COMPANY)
    assert isinstance(front, FrontCompanyConfig)
    ring = free & (actors.importer_ring[draft.trader] >= 0)
    chosen = np.flatnonzero(ring & (rng.random(n) < front.undervalue_share))
    draft.scheme[chosen] = Scheme.FRONT_COMPANY.code
    draft.factor[chosen] = rng.uniform(front.min_factor, front.max_factor, len(chosen))
    free &= (draft.scheme == 0) & ~ring

    # Misclassification: goods declared under the lower-duty look-alike heading (chosen before items).
    hit = (draft.scheme[items["decl"]] == Scheme.MISCLASSIFICATION.code) & (cat.decoy[items["product"]] >= 0)
    items["declared_product"] = np.where(hit, cat.decoy[items["product"]], items["product"])
    # A look-alike counted in kilograms declares the net mass as its quantity.
    by_mass = hit & (cat.unit[items["declared_product"]] == QuantityUnit.KGM.value) & (
        cat.unit[items["product"]] != QuantityUnit.KGM.value)
    items["quantity"] = np.where(by_mass, items["net"], items["quantity"])

    # Undervaluation, concentrated on habitual undervaluers.
    uv = config.scheme(Scheme.UNDERVALUATION)
    assert isinstance(uv, UndervaluationConfig)
    prone = free & actors.importer_prone[draft.trader]
    n_prone, n_other = max(int(prone.sum()), 1), max(int((free & ~prone).sum()), 1)
    boost = uv.trader_concentration * n_other / ((1 - uv.trader_concentration) * n_prone)
    chosen = _weighted_sample(rng, np.where(free, np.where(prone, boost, 1.0), 0.0), round(uv.rate * n))
    draft.scheme[chosen] = Scheme.UNDERVALUATION.code
    draft.factor[chosen] = rng.uniform(uv.min_factor, uv.max_factor, len(chosen))
