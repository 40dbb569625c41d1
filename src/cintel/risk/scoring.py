"""Scoring: features, rules and models combined into one assessment per declaration.

The pure core that the daily batch, real-time scoring and the backtests share. The caller loads the
declarations, their history, the rules and the models (``cintel.risk.service`` does it from the
store) and decides what to do with the result (select, write, show).

Weighted rules and the model are combined on the probability scale by a noisy-OR: a rule's weight
(0 to 1) is read as the chance that a declaration it hits is fraudulent, independently of the
model, so ``risk = 1 - (1 - p) * prod(1 - w)``. With no model the rules alone rank; with no rule
hit the model alone does. The priority the queue sorts by is, by default, risk times the expected
additional revenue when a revenue model exists (the expected value of an inspection: what finds the
most revenue), or the risk alone (``rank_by="risk"``: what finds the most frauds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from cintel.risk.explain import Reason, top_reasons_batch
from cintel.risk.feature_spec import FeatureSpec
from cintel.risk.features import FEATURES
from cintel.risk.models import Model
from cintel.risk.rule_schema import RULE_SCHEMA
from cintel.risk.rules import Rule, evaluate_rules

# Revenue is floored so that a likely but cheap fraud still ranks above an unlikely one.
MIN_REVENUE = 1.0
RANKINGS = ("value", "risk")
# Reasons an assessment's explanation keeps, with their contributions (the page's chart and table).
EXPLAINED_REASONS = 8
_HITS = pl.List(pl.Struct({"rule_id": pl.String, "version": pl.Int32}))
# One reason of an explanation: the feature (or "rule:<id>"), its contribution to the log-odds of fraud
# (null for a rule, which adds to the risk separately) and the sentence an officer reads.
EXPLANATION = pl.List(pl.Struct({"feature": pl.String, "contribution": pl.Float64, "text": pl.String}))


@dataclass(frozen=True)
class Scorer:
    """Everything needed to assess declarations: approved rules, lookups and the active models."""

    rules: Sequence[Rule] = ()
    lookups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    fraud_model: Model | None = None
    revenue_model: Model | None = None
    specs: Mapping[str, FeatureSpec] = field(default_factory=lambda: FEATURES)
    reasons: int = 3
    rank_by: str = "value"  # "value": risk x expected revenue; "risk": the fraud risk alone

    def __post_init__(self) -> None:
        if self.rank_by not in RANKINGS:
            raise ValueError(f"rank_by must be one of {RANKINGS}, not {self.rank_by!r}")

    def priority(self, risk: npt.NDArray[np.float64], revenue: npt.NDArray[np.float64] | None
                 ) -> npt.NDArray[np.float64]:
        """What the queue ranks by (see the module doc)."""
        if revenue is None or self.rank_by == "risk":
            return risk
        return risk * np.maximum(revenue, MIN_REVENUE)

    @property
    def rule_versions(self) -> list[tuple[str, int]]:
        return [(r.rule_id, r.version) for r in self.rules]

    @property
    def rule_reasons(self) -> dict[str, str]:
        return {r.rule_id: f"rule {r.rule_id}: {r.reason}" for r in self.rules}


def combine(probability: npt.NDArray[np.float64] | None, weights_complement: npt.NDArray[np.float64]
            ) -> npt.NDArray[np.float64]:
    """Noisy-OR of the model probability and the rule weights (see the module doc)."""
    p = np.zeros_like(weights_complement) if probability is None else np.nan_to_num(probability, nan=0.0)
    return 1.0 - (1.0 - p) * weights_complement


def _weight(rule: Rule) -> float:
    return min(max(rule.weight or 0.0, 0.0), 1.0)


def rule_complement(rules: Sequence[Rule], rule_ids: Sequence[str]) -> float:
    """prod(1 - w) over the weighted rules one declaration hit (1 when none): ``_weights_complement``
    for a single declaration, for real-time scoring."""
    hit = set(rule_ids)
    return float(np.prod([1.0 - _weight(r) for r in rules if r.rule_id in hit]))


def _weights_complement(rules: Sequence[Rule], hits: pl.Series) -> npt.NDArray[np.float64]:
    """prod(1 - w) over the weighted rules each declaration hit (1 when none)."""
    weight = {r.rule_id: _weight(r) for r in rules}
    if not weight or hits.is_empty():
        return np.ones(len(hits), dtype=np.float64)
    complement = pl.element().struct.field("rule_id").replace_strict(weight, default=0.0, return_dtype=pl.Float64)
    frame = pl.DataFrame({"hits": hits}).select(
        c=pl.col("hits").list.eval((1.0 - complement).product()).list.first().fill_null(1.0))
    return frame["c"].to_numpy().astype(np.float64)


def assess(item_frame: pl.DataFrame, decl: pl.DataFrame, scorer: Scorer, *,
           explain: bool | float = True) -> pl.DataFrame:
    """One assessment per declaration of the feature frames (from ``build_features``).

    Columns: declaration_id, probability, expected_revenue, risk, priority, rule_hits ([{rule_id,
    version}]), rule_ids, rule_score, rule_channel, reasons (top sentences: rules first, then the
    model's strongest positive contributions) and explanation (``with_reasons``).

    ``explain``: True gives reasons for every declaration; a share such as 0.05 only for the top 5 %
    by priority (what reaches the queue: TreeSHAP costs tens of predictions per row), the others get
    the rules they hit and can be explained on demand (``with_reasons``); False gives none.
    """
    hits = evaluate_rules(scorer.rules, item_frame, scorer.lookups, RULE_SCHEMA)
    decl = decl.join(hits, on="declaration_id", how="left")
    decl = decl.with_columns(pl.col("rule_hits").fill_null(pl.lit([], dtype=_HITS)),
                             pl.col("rule_ids").fill_null(pl.lit([], dtype=pl.List(pl.String))),
                             pl.col("rule_score").fill_null(0.0))
    probability = scorer.fraud_model.predict_proba(decl) if scorer.fraud_model is not None else None
    revenue = scorer.revenue_model.predict_revenue(decl) if scorer.revenue_model is not None else None
    risk = combine(probability, _weights_complement(scorer.rules, decl["rule_hits"]))
    priority = scorer.priority(risk, revenue)
    assessed = decl.select(
        "declaration_id",
        probability=pl.Series(probability, dtype=pl.Float64) if probability is not None else pl.lit(None, pl.Float64),
        expected_revenue=pl.Series(revenue, dtype=pl.Float64) if revenue is not None else pl.lit(None, pl.Float64),
        risk=pl.Series(risk, dtype=pl.Float64),
        priority=pl.Series(priority, dtype=pl.Float64),
        rule_hits=pl.col("rule_hits"),
        rule_ids=pl.col("rule_ids"),
        rule_score=pl.col("rule_score"),
        rule_channel=pl.col("rule_channel"),
    )
    if explain is False:
        return assessed.with_columns(reasons=pl.lit([], dtype=pl.List(pl.String)),
                                     explanation=pl.lit([], dtype=EXPLANATION))
    if explain is True:
        return with_reasons(assessed, decl, scorer)
    cut = assessed["priority"].quantile(1.0 - float(explain), "higher") if assessed.height else 0.0
    top = assessed.filter(pl.col("priority") >= cut)["declaration_id"]
    return with_reasons(assessed, decl, scorer, top)


def with_reasons(assessed: pl.DataFrame, decl: pl.DataFrame, scorer: Scorer,
                 declaration_ids: pl.Series | None = None) -> pl.DataFrame:
    """The assessments with their ``reasons`` (the top ``scorer.reasons`` sentences) and ``explanation``
    (up to ``EXPLAINED_REASONS`` reasons with their contributions, type ``EXPLANATION``): model and rule
    reasons for ``declaration_ids`` (all when None), rule reasons only for the others."""
    text = scorer.rule_reasons
    rules_only = [[Reason(f"rule:{r}", float("nan"), True, text[r]) for r in ids if r in text]
                  for ids in assessed["rule_ids"].to_list()]
    assessed = assessed.drop("reasons", "explanation", strict=False).with_columns(
        reasons=pl.Series([[r.text for r in rs] for rs in rules_only], dtype=pl.List(pl.String)),
        explanation=pl.Series([explanation(rs) for rs in rules_only], dtype=EXPLANATION))
    wanted = decl if declaration_ids is None else decl.filter(pl.col("declaration_id").is_in(declaration_ids.implode()))
    if wanted.is_empty():
        return assessed
    ids = wanted.select("declaration_id").join(assessed.select("declaration_id", "rule_ids"), on="declaration_id",
                                               how="left", maintain_order="left")
    # One pass of contributions gives both: the short list is the head of the long one.
    explained = explain_reasons(wanted, ids["rule_ids"], scorer, k=max(scorer.reasons, EXPLAINED_REASONS))
    short = [rs[: max(scorer.reasons, sum(r.feature.startswith("rule:") for r in rs))] for rs in explained]
    frame = pl.DataFrame({"declaration_id": ids["declaration_id"],
                          "_r": pl.Series([[r.text for r in rs] for rs in short], dtype=pl.List(pl.String)),
                          "_x": pl.Series([explanation(rs) for rs in explained], dtype=EXPLANATION)})
    return (assessed.join(frame, on="declaration_id", how="left", maintain_order="left")
            .with_columns(reasons=pl.coalesce("_r", "reasons"), explanation=pl.coalesce("_x", "explanation"))
            .drop("_r", "_x"))


def explanation(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    """Reasons as the explanation stores them: feature, contribution (None for a rule), text."""
    return [{"feature": r.feature, "contribution": None if r.contribution != r.contribution else r.contribution,
             "text": r.text} for r in reasons]


def explain_reasons(decl: pl.DataFrame, rule_ids: pl.Series, scorer: Scorer, k: int | None = None
                    ) -> list[list[Reason]]:
    """Top reasons per declaration: the rules it hit first (officers trust what they wrote), then the
    model's strongest positive contributions in words, up to ``k`` (default ``scorer.reasons``) in all."""
    k = k or scorer.reasons
    from_model: list[list[Reason]] = [[] for _ in range(decl.height)]
    if scorer.fraud_model is not None and decl.height:
        contrib, _ = scorer.fraud_model.contributions(decl)
        from_model = top_reasons_batch(contrib, scorer.fraud_model.features, decl, scorer.specs, k=k)
    text = scorer.rule_reasons
    out: list[list[Reason]] = []
    for ids, model_reasons in zip(rule_ids.to_list(), from_model, strict=True):
        rules = [Reason(feature=f"rule:{r}", contribution=float("nan"), value=True, text=text[r])
                 for r in ids or [] if r in text]
        out.append((rules + model_reasons)[: max(k, len(rules))])
    return out


def to_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """An assessment row as plain JSON-ready values."""
    return {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in row.items()}
