"""Fraud classifier and revenue regressor: LightGBM trained on inspection outcomes with a split in
date order (train -> validate -> test), categorical codes learned on the training window, optional
smoothed out-of-fold target encoding of high-cardinality identifiers, and isotonic calibration fitted
on the validation window.

Everything a trained model needs to score is plain data (booster text, vocabularies, encodings,
calibration points), so a model round-trips through the registry without pickles.

The regressor estimates the additional revenue *given fraud*: it is trained on the frauds of the
training window only (Tweedie loss, which copes with the zeros of frauds that carry no duty and the
long tail of the rest), so ``expected value = P(fraud) x E[revenue | fraud]`` keeps the two
questions apart and the regressor is not dominated by the mass of zeros of compliant declarations.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import lightgbm as lgb
import numpy as np
import polars as pl
from sklearn.isotonic import IsotonicRegression

from cintel.risk.encoding import SMALL_FRAME, Encoding, FloatArray, TrainingError, fit_encoding
from cintel.risk.metrics import targeting_report

# Keeps the booster's order inside calibration plateaus, so the top n % is never lost to ties.
_TIE_BREAK = 1e-6


@dataclass(frozen=True)
class ModelSpec:
    """LightGBM and encoding parameters; defaults suit tens of thousands to millions of declarations."""

    num_leaves: int = 63
    max_depth: int = -1  # no limit; explanations (TreeSHAP) cost grows with the square of the depth
    learning_rate: float = 0.03
    max_rounds: int = 3000
    early_stopping_rounds: int = 200
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    bagging_freq: int = 1
    lambda_l2: float = 1.0
    # High-cardinality IDs: shrink each category's statistics toward the prior and ignore rare ones,
    # otherwise a trader seen twice gets a split of its own.
    cat_smooth: float = 20.0
    cat_l2: float = 10.0
    min_data_per_group: int = 50
    max_cat_threshold: int = 64
    # Target encoding: prior weight (pseudo-count) and number of out-of-fold folds on the training window.
    te_smoothing: float = 20.0
    te_folds: int = 5
    num_threads: int = 2
    revenue_min_frauds: int = 50
    tweedie_variance_power: float = 1.5

    def lgb_params(self, objective: str, seed: int) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": objective, "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_data_in_leaf, "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction, "bagging_freq": self.bagging_freq,
            "lambda_l2": self.lambda_l2, "cat_smooth": self.cat_smooth, "cat_l2": self.cat_l2,
            "min_data_per_group": self.min_data_per_group, "max_cat_threshold": self.max_cat_threshold,
            "num_threads": self.num_threads, "seed": seed, "deterministic": True, "force_col_wise": True,
            "verbosity": -1,
        }
        if objective == "tweedie":
            params["tweedie_variance_power"] = self.tweedie_variance_power
        return params


@dataclass(frozen=True)
class Window:
    """The date windows a model was trained, validated and tested on (inclusive ends)."""

    train_from: date
    train_to: date
    valid_to: date
    test_to: date | None


@dataclass(frozen=True)
class Calibration:
    """Isotonic map from raw booster score to probability, as strictly increasing points for np.interp."""

    x: tuple[float, ...]
    y: tuple[float, ...]

    @classmethod
    def fit(cls, raw: FloatArray, labels: FloatArray) -> Calibration:
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, labels)
        xs, ys = np.asarray(iso.X_thresholds_, dtype=float), np.asarray(iso.y_thresholds_, dtype=float)
        # sklearn keeps both ends of each plateau; one point per plateau (its middle) interpolates
        # between levels instead of stepping, which is smoother and keeps the ranking of the booster.
        levels, inverse = np.unique(ys, return_inverse=True)
        mids = np.bincount(inverse, weights=xs) / np.bincount(inverse)
        return cls(x=tuple(float(v) for v in mids), y=tuple(float(v) for v in levels))

    def apply(self, raw: FloatArray) -> FloatArray:
        p = np.interp(raw, self.x, self.y) + _TIE_BREAK * (_sigmoid(raw) - 0.5)
        return np.clip(p, 0.0, 1.0)


@dataclass
class Model:
    """One trained booster with everything needed to score a frame of declaration features."""

    name: str
    kind: str  # classifier or regressor
    booster: lgb.Booster
    encoding: Encoding
    window: Window
    data_hash: str
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    calibration: Calibration | None = None

    @property
    def features(self) -> list[str]:
        return list(self.encoding.features)

    def matrix(self, frame: pl.DataFrame) -> FloatArray:
        if frame.height <= SMALL_FRAME:
            return self.encoding.rows_matrix(frame.select(self.features).rows(named=True))
        return self.encoding.frame_matrix(frame)

    def _predict(self, frame: pl.DataFrame, **kw: Any) -> Any:
        # Splitting a handful of rows over threads costs more than it saves, and on a busy machine
        # waiting for the pool dominates a real-time call.
        threads = 1 if frame.height <= SMALL_FRAME else self.params.get("num_threads", 0)
        return self.booster.predict(self.matrix(frame), num_threads=threads, **kw)

    def raw_score(self, frame: pl.DataFrame) -> FloatArray:
        """The booster's untransformed output (log-odds for the classifier, log-mean for Tweedie)."""
        return np.asarray(self._predict(frame, raw_score=True), dtype=np.float64)

    def predict_proba(self, frame: pl.DataFrame) -> FloatArray:
        """Calibrated probability of fraud per row (classifier only)."""
        if self.kind != "classifier":
            raise TypeError(f"{self.name} is a {self.kind}, not a classifier")
        return self.probability(self.raw_score(frame))

    def probability(self, raw: FloatArray) -> FloatArray:
        """Raw classifier scores to calibrated probabilities (sigmoid when there is no calibration)."""
        return self.calibration.apply(raw) if self.calibration else _sigmoid(raw)

    def predict_revenue(self, frame: pl.DataFrame) -> FloatArray:
        """Expected additional revenue if the declaration is a fraud (regressor only)."""
        if self.kind != "regressor":
            raise TypeError(f"{self.name} is a {self.kind}, not a regressor")
        return np.asarray(self._predict(frame), dtype=np.float64)

    def contributions(self, frame: pl.DataFrame) -> tuple[FloatArray, FloatArray]:
        """Per-feature contributions to the raw score (n x features, in ``features`` order) and the base
        value per row; derived columns (target encodings, counts) are added back to their feature."""
        contrib = np.asarray(self._predict(frame, pred_contrib=True), dtype=np.float64)
        return contrib[:, :-1] @ self.encoding.fold_matrix(), contrib[:, -1]

    def to_record(self) -> dict[str, Any]:
        """Columns of ``risk_models`` except identity and status, which the registry assigns."""
        return {
            "name": self.name, "kind": self.kind, "train_from": self.window.train_from,
            "train_to": self.window.train_to, "valid_to": self.window.valid_to, "test_to": self.window.test_to,
            "data_hash": self.data_hash, "features": self.features, "categorical": self.encoding.vocab_record(),
            "params": {"lightgbm": self.params, "encoding": self.encoding.to_record()}, "metrics": self.metrics,
            "calibration": asdict(self.calibration) if self.calibration else None,
            "booster": self.booster.model_to_string(),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Model:
        """The inverse of ``to_record``: JSON fields already decoded, dates as ``date``."""
        cal = record.get("calibration")
        return cls(
            name=record["name"], kind=record["kind"], booster=lgb.Booster(model_str=record["booster"]),
            encoding=Encoding.from_record(record["params"]["encoding"], record["categorical"]),
            window=Window(record["train_from"], record["train_to"], record["valid_to"], record.get("test_to")),
            data_hash=record["data_hash"], params=dict(record["params"]["lightgbm"]),
            metrics=dict(record.get("metrics") or {}),
            calibration=Calibration(tuple(cal["x"]), tuple(cal["y"])) if cal else None,
        )


@dataclass
class TrainedModels:
    """The fraud classifier and, when the data carries revenue, the revenue regressor."""

    fraud: Model
    revenue: Model | None

    def expected_value(self, frame: pl.DataFrame) -> FloatArray:
        """P(fraud) x E[revenue | fraud]: what inspecting each declaration is expected to recover."""
        p = self.fraud.predict_proba(frame)
        return p * self.revenue.predict_revenue(frame) if self.revenue else p


def data_hash(frame: pl.DataFrame) -> str:
    """SHA-256 of a frame independent of column and row order (columns sorted, rows sorted, CSV text)."""
    cols = sorted(frame.columns)
    text = frame.select(cols).sort(cols, nulls_last=True).write_csv(null_value="\\N")
    return hashlib.sha256(text.encode()).hexdigest()


def split_dates(dates: pl.Series, split: tuple[date, date] | tuple[float, float]) -> tuple[date, date]:
    """(train_to, valid_to): given as dates, or as row fractions cut at whole days in date order."""
    a, b = split
    if isinstance(a, date) and isinstance(b, date):
        return a, b
    if not (isinstance(a, float) and isinstance(b, float) and 0 < a < b < 1):
        raise TrainingError(f"split must be two dates or two fractions 0 < a < b < 1, got {split!r}")
    per_day = dates.value_counts().sort(dates.name)
    cum = per_day["count"].cum_sum().to_numpy() / len(dates)
    days = per_day[dates.name].to_list()
    return days[int(np.searchsorted(cum, a))], days[int(np.searchsorted(cum, b))]


def train_models(frame: pl.DataFrame, features: Sequence[str], categorical: Sequence[str] = (), *,
                 target_encoded: Sequence[str] = (), label_col: str = "is_fraud",
                 revenue_col: str | None = "additional_duty", date_col: str = "declaration_date",
                 split: tuple[date, date] | tuple[float, float] = (0.7, 0.85), seed: int = 0,
                 spec: ModelSpec | None = None, names: tuple[str, str] = ("fraud", "revenue")) -> TrainedModels:
    """Train the fraud classifier (and the revenue regressor if ``revenue_col`` is in the frame).

    Rows up to ``train_to`` train, rows up to ``valid_to`` stop the boosting early and fit the
    calibration, later rows are only reported in ``metrics['test']``. ``categorical`` features get
    LightGBM's native categorical splits; ``target_encoded`` ones a smoothed out-of-fold fraud rate
    and a count (they may also be in ``categorical``).
    """
    spec = spec or ModelSpec()
    missing = [c for c in [*features, label_col, date_col] if c not in frame.columns]
    if missing:
        raise TrainingError(f"training frame lacks columns {missing}")
    if frame.schema[date_col] == pl.String:
        frame = frame.with_columns(pl.col(date_col).str.to_date())
    train_to, valid_to = split_dates(frame[date_col], split)
    d = pl.col(date_col)
    train = frame.filter(d <= train_to).sort(date_col, maintain_order=True)
    valid = frame.filter((d > train_to) & (d <= valid_to))
    test = frame.filter(d > valid_to)
    if train.is_empty() or valid.is_empty():
        raise TrainingError(f"empty window: {train.height} training and {valid.height} validation rows")
    assert train[date_col].max() < valid[date_col].min()  # type: ignore[operator]
    assert test.is_empty() or valid[date_col].max() < test[date_col].min()  # type: ignore[operator]
    y_train = train[label_col].cast(pl.Float64).to_numpy()
    if not 0 < y_train.sum() < len(y_train):
        raise TrainingError("the training window needs both frauds and non-frauds")
    window = Window(train[date_col].min(), train_to, valid_to,  # type: ignore[arg-type]
                    test[date_col].max() if not test.is_empty() else None)  # type: ignore[arg-type]
    used = [c for c in dict.fromkeys([*features, label_col, date_col, *([revenue_col] if revenue_col else [])])
            if c in frame.columns]
    digest = data_hash(train.select(used))
    rng = np.random.default_rng(seed)
    enc, x_train = fit_encoding(train, features, categorical, target_encoded, y_train,
                                smoothing=spec.te_smoothing, folds=spec.te_folds, rng=rng)
    fraud = _fit(names[0], "classifier", enc, x_train, y_train, valid, test, label_col, spec, seed, window, digest)
    revenue = None
    if revenue_col and revenue_col in frame.columns:
        revenue = _fit_revenue(names[1], enc, train, x_train, valid, test, label_col, revenue_col, spec, seed,
                               window, digest)
    return TrainedModels(fraud, revenue)


def _fit(name: str, kind: str, enc: Encoding, x_train: FloatArray, y_train: FloatArray, valid: pl.DataFrame,
         test: pl.DataFrame, label_col: str, spec: ModelSpec, seed: int, window: Window, digest: str) -> Model:
    objective = "binary" if kind == "classifier" else "tweedie"
    params = spec.lgb_params(objective, seed)
    x_valid, y_valid = enc.frame_matrix(valid), valid[label_col].cast(pl.Float64).to_numpy()
    booster = _boost(params, enc, x_train, y_train, x_valid, y_valid, spec)
    model = Model(name, kind, booster, enc, window, digest, {**params, "num_iterations": booster.current_iteration()})
    raw_valid = model.raw_score(valid)
    if 0 < y_valid.sum() < len(y_valid):
        model.calibration = Calibration.fit(raw_valid, y_valid)
    model.metrics = {"n_train": len(y_train), "best_iteration": booster.current_iteration(),
                     "valid": _report(y_valid, model.probability(raw_valid))}
    if not test.is_empty():
        y_test = test[label_col].cast(pl.Float64).to_numpy()
        model.metrics["test"] = _report(y_test, model.predict_proba(test))
    return model


def _fit_revenue(name: str, enc: Encoding, train: pl.DataFrame, x_train: FloatArray, valid: pl.DataFrame,
                 test: pl.DataFrame, label_col: str, revenue_col: str, spec: ModelSpec, seed: int, window: Window,
                 digest: str) -> Model | None:
    def frauds(f: pl.DataFrame) -> pl.Series:
        return (pl.Series(f[label_col]).cast(pl.Boolean) & f[revenue_col].is_not_null()).fill_null(False)

    is_fraud = frauds(train).to_numpy()
    vf = valid.filter(frauds(valid))
    if is_fraud.sum() < spec.revenue_min_frauds or vf.is_empty():
        return None  # too few frauds with a known revenue to learn from: rank by probability alone
    y = train[revenue_col].cast(pl.Float64).to_numpy()[is_fraud].clip(min=0.0)
    params = spec.lgb_params("tweedie", seed)
    booster = _boost(params, enc, x_train[is_fraud], y, enc.frame_matrix(vf),
                     vf[revenue_col].cast(pl.Float64).to_numpy().clip(min=0.0), spec)
    model = Model(name, "regressor", booster, enc, window, digest,
                  {**params, "num_iterations": booster.current_iteration()})
    model.metrics = {"n_train": int(is_fraud.sum()), "best_iteration": booster.current_iteration(),
                     "valid": _revenue_report(model, vf, revenue_col)}
    tf = test.filter(frauds(test))
    if not tf.is_empty():
        model.metrics["test"] = _revenue_report(model, tf, revenue_col)
    return model


def _boost(params: dict[str, Any], enc: Encoding, x: FloatArray, y: FloatArray, xv: FloatArray, yv: FloatArray,
           spec: ModelSpec) -> lgb.Booster:
    cats = enc.categorical_columns()
    dtrain = lgb.Dataset(x, y, feature_name=enc.columns, categorical_feature=cats, free_raw_data=True)
    dvalid = lgb.Dataset(xv, yv, reference=dtrain, feature_name=enc.columns, categorical_feature=cats)
    booster = lgb.train(params, dtrain, num_boost_round=spec.max_rounds, valid_sets=[dvalid],
                        callbacks=[lgb.early_stopping(spec.early_stopping_rounds, verbose=False)])
    # Keep only the trees up to the best validation round, so a reloaded model scores the same.
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration or -1))


def _report(y: FloatArray, p: FloatArray) -> dict[str, float]:
    report = targeting_report(y, p)
    report["n"] = float(len(y))
    report["brier"] = float(np.mean((p - y) ** 2))
    return report


def _revenue_report(model: Model, frame: pl.DataFrame, revenue_col: str) -> dict[str, float]:
    y = frame[revenue_col].cast(pl.Float64).to_numpy()
    pred = model.predict_revenue(frame)
    return {"n": float(len(y)), "mae": float(np.mean(np.abs(pred - y))),
            "rmse": float(math.sqrt(np.mean((pred - y) ** 2))), "mean_actual": float(y.mean()),
            "mean_predicted": float(pred.mean())}


def _sigmoid(x: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float64)
