"""The proxy means test: log per-capita expenditure predicted from what a register records.

BPS ranks DTSEN by a PMT: a regression of (log) per-capita expenditure, observed in
a survey (Susenas), on the variables the register collects for everyone (housing,
water, energy, sanitation, assets, land, livestock, household size and make-up,
the head's schooling and work, the region). The fitted model then scores every
household of the register. P3KE fitted one model per regency.

:class:`ProxyMeansTest` is that regression as a scikit-learn estimator. Text
columns are one-hot encoded, case and spacing ignored (``BETON`` is ``beton``; a
missing answer is its own category, an answer never seen in training counts as
none), numbers are imputed with the median plus a missing-indicator and
standardised, and the default model is a ridge regression with its penalty chosen
by cross-validation: linear, like the published PMTs, so its weights can be read
and defended. With ``by`` (say ``"regency_code"``) a
separate model is fitted for every region with at least ``min_group`` households
and the national model serves the others.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame({"floor": rng.choice(["tanah", "keramik"], 300),
...                   "rooms": rng.integers(1, 6, 300)})
>>> y = 13 + 0.5 * (X["floor"] == "keramik") + 0.1 * X["rooms"] + rng.normal(0, 0.1, 300)
>>> pmt = ProxyMeansTest().fit(X, y)
>>> round(float(pmt.score(X, y)), 2) > 0.8
True
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

#: Ridge penalties tried by the default model's own cross-validation.
ALPHAS = (0.01, 0.1, 1.0, 10.0, 100.0)


class ProxyMeansTest(RegressorMixin, BaseEstimator):
    """Predict log per-capita expenditure from household variables.

    Parameters
    ----------
    model
        An unfitted scikit-learn regressor (default: ``RidgeCV`` over ``ALPHAS``).
    by
        Column of ``X`` naming each household's region: one model per region with at
        least ``min_group`` households, the national model for the rest. The column
        is not itself a feature of the regional models.
    min_group
        Households a region needs for a model of its own.
    exclude
        Columns of ``X`` that are not features (ids, the target, weights).

    Attributes
    ----------
    numeric_, categorical_
        The feature columns by kind.
    answers_
        Each categorical column's answers seen in training, sorted.
    skipped_
        Columns left out: never observed, or text that is nearly unique per household
        (ids, names), which cannot carry over to other households.
    national_
        The model fitted on every household.
    regional_
        Region -> its own model.
    """

    def __init__(
        self,
        model=None,
        by: str | None = None,
        min_group: int = 300,
        exclude: tuple[str, ...] = ("household_id", "per_capita_expenditure"),
    ) -> None:
        self.model = model
        self.by = by
        self.min_group = min_group
        self.exclude = exclude

    def fit(self, X: pd.DataFrame, y) -> ProxyMeansTest:
        """Fit on households with observed (log) per-capita expenditure ``y``.

        ``X`` is a DataFrame of named household variables; a 2-D array is taken as one
        whose columns are named ``x0``, ``x1``, ... (``exclude`` and ``by`` then name
        none of them)."""
        X = _frame(X)
        y = column_or_1d(y, dtype=float, warn=True)
        if len(X) != len(y):
            raise ValueError("X and y have different numbers of households")
        if not np.isfinite(y).all():
            raise ValueError("y has missing or infinite values: log expenditure expected")
        candidates = [c for c in X.columns if c not in set(self.exclude) and c != self.by]
        self.skipped_ = [c for c in candidates if _uninformative(X[c])]
        features = [c for c in candidates if c not in self.skipped_]
        if not features:
            raise ValueError("X has no feature columns")
        self.numeric_ = [c for c in features if _is_numeric(X[c])]
        self.categorical_ = [c for c in features if c not in self.numeric_]
        self.answers_ = {c: sorted(_answers(X[c]).dropna().unique()) for c in self.categorical_}
        X = self._prepared(X, features)
        self.national_ = self._pipeline().fit(X[features], y)
        self.regional_ = {}
        if self.by is not None:
            if self.by not in X:
                raise ValueError(f"X has no column {self.by!r} to fit regional models by")
            groups = X[self.by].astype("string")
            for region, rows in groups.groupby(groups, sort=True).groups.items():
                if len(rows) >= self.min_group:
                    idx = X.index.get_indexer(rows)
                    self.regional_[str(region)] = self._pipeline().fit(
                        X.iloc[idx][features], y[idx]
                    )
        self.n_features_in_ = len(features)
        self.feature_names_in_ = np.asarray(features, dtype=object)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predicted log per-capita expenditure of each household."""
        check_is_fitted(self, "national_")
        named = isinstance(X, pd.DataFrame)
        X = _frame(X)
        if not named and X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but ProxyMeansTest is expecting "
                f"{self.n_features_in_} features as input"
            )
        missing = [c for c in self.feature_names_in_ if c not in X]
        if missing:
            raise ValueError(f"X lacks the feature columns {missing}")
        features = list(self.feature_names_in_)
        X = self._prepared(X, features)
        out = _in_chunks(self.national_, X[features])
        if self.regional_:
            if self.by not in X:
                raise ValueError(f"X has no column {self.by!r} for the regional models")
            region = X[self.by].astype("string").to_numpy(dtype=object)
            for name, model in self.regional_.items():
                rows = np.flatnonzero(region == name)
                if len(rows):
                    out[rows] = _in_chunks(model, X.iloc[rows][features])
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a missing number is imputed, a missing answer is its own category
        tags.input_tags.allow_nan = True
        # text answers are one-hot encoded
        tags.input_tags.string = True
        return tags

    def _prepared(self, X: pd.DataFrame, features: list[str]) -> pd.DataFrame:
        """Answers as their number among the training answers (missing: one past the
        last, never seen: -1, which the encoder ignores), numbers as floats. One-hot
        encoding integers is many times faster than encoding text."""
        out = X.copy()
        for c in features:
            if c in self.categorical_:
                text = _answers(out[c])
                known = self.answers_[c]
                codes = pd.Index(known, dtype=object).get_indexer(text.astype(object))
                out[c] = np.where(text.isna().to_numpy(), len(known), codes)
            else:
                out[c] = pd.to_numeric(out[c], errors="coerce").astype(float)
        return out

    def _pipeline(self):
        encode = ColumnTransformer(
            [
                (
                    "numbers",
                    make_pipeline(
                        SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
                    ),
                    self.numeric_,
                ),
                (
                    "answers",
                    OneHotEncoder(handle_unknown="ignore", min_frequency=5),
                    self.categorical_,
                ),
            ]
        )
        model = RidgeCV(alphas=ALPHAS) if self.model is None else clone(self.model)
        return make_pipeline(encode, model)


def _in_chunks(model, X: pd.DataFrame, size: int = 100_000) -> np.ndarray:
    """Predict a block of rows at a time: the one-hot design matrix of a whole register
    would take gigabytes."""
    if len(X) <= size:
        return model.predict(X)
    return np.concatenate([model.predict(X.iloc[i : i + size]) for i in range(0, len(X), size)])


def evaluate_pmt(
    pmt: ProxyMeansTest,
    X: pd.DataFrame,
    y,
    size=None,
    cv: int = 5,
    seed: int = 0,
    poorest: float = 0.4,
) -> pd.DataFrame:
    """Cross-validated accuracy of a PMT, one row per fold and a ``mean`` row.

    ``r2`` and ``rmse`` on log expenditure; ``spearman``: rank correlation of predicted
    and observed welfare; ``exclusion_error``: share of the truly poorest ``poorest``
    (by people, with ``size``) whom the prediction does not place among the poorest
    ``poorest``, the error that leaves poor families out.
    """
    X = _frame(X).reset_index(drop=True)
    y = np.asarray(y, dtype=float)
    people = np.ones(len(X)) if size is None else np.asarray(size, dtype=float)
    rows = []
    folds = KFold(n_splits=cv, shuffle=True, random_state=seed)
    for k, (train, test) in enumerate(folds.split(X)):
        model = clone(pmt).fit(X.iloc[train], y[train])
        pred = model.predict(X.iloc[test])
        obs = y[test]
        residual = obs - pred
        rows.append(
            {
                "fold": k + 1,
                "r2": float(1 - np.mean(residual**2) / obs.var()),
                "rmse": float(np.sqrt(np.mean(residual**2))),
                "spearman": float(pd.Series(pred).corr(pd.Series(obs), method="spearman")),
                "exclusion_error": _exclusion_error(obs, pred, people[test], poorest),
            }
        )
    table = pd.DataFrame(rows)
    mean = table.drop(columns="fold").mean().to_dict()
    return pd.concat([table, pd.DataFrame([{"fold": "mean", **mean}])], ignore_index=True)


def _exclusion_error(observed, predicted, people, share: float) -> float:
    """Share of the people truly in the poorest ``share`` whom ``predicted`` leaves out."""
    truly = _poorest(observed, people, share)
    chosen = _poorest(predicted, people, share)
    poor_people = people[truly].sum()
    return float(people[truly & ~chosen].sum() / poor_people) if poor_people else 0.0


def _poorest(welfare, people, share: float) -> np.ndarray:
    order = np.argsort(welfare, kind="stable")
    cum = np.cumsum(people[order]) - people[order] / 2  # each household's midpoint
    out = np.zeros(len(welfare), dtype=bool)
    out[order[cum < share * people.sum()]] = True
    return out


def _answers(column: pd.Series) -> pd.Series:
    """Answers as they are compared: case and spacing ignored (``BETON``, `` beton ``
    and ``beton`` are one answer; :func:`~bansos_linkage.eligibility.inputs.normalise_answer`)."""
    from bansos_linkage.eligibility.inputs import normalise_answers

    return normalise_answers(column)


def _frame(X) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    # an array of unnamed variables (as scikit-learn's tools pass one): columns x0, x1, ...;
    # NaN is a missing answer, sparse, complex or 1-D input raises ValueError
    values = check_array(X, dtype=None, ensure_all_finite=False)
    return pd.DataFrame(values, columns=[f"x{k}" for k in range(values.shape[1])])


def _uninformative(column: pd.Series) -> bool:
    observed = column.dropna()
    if observed.empty:
        return True
    return not _is_numeric(column) and observed.nunique() > 0.5 * len(observed) > 50


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def save_pmt(pmt: ProxyMeansTest, X: pd.DataFrame, y, path) -> Path:
    """Write a PMT as JSON: its settings and the survey rows it was fitted on (no pickle).

    :func:`load_pmt` refits the same model on the same rows, which gives the same
    predictions; a PMT is fitted on a survey of a few thousand to a few tens of
    thousands of households, so the file stays small enough to read and diff.
    """
    check_is_fitted(pmt, "national_")
    if pmt.model is not None:
        raise ValueError("only the default model can be saved; keep custom models in code")
    columns = [*pmt.feature_names_in_, *([pmt.by] if pmt.by else [])]
    rows = _frame(X)[columns]
    content = {
        "format": "bansos-linkage-pmt",
        "version": 1,
        "by": pmt.by,
        "min_group": pmt.min_group,
        "numeric": list(pmt.numeric_),
        "columns": columns,
        "rows": [[_plain(v) for v in row] for row in rows.itertuples(index=False)],
        "y": [float(v) for v in np.asarray(y, dtype=float)],
    }
    path = Path(path)
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def load_pmt(path) -> ProxyMeansTest:
    """A PMT saved by :func:`save_pmt`, refitted; a bad file is a SchemaError naming it."""
    from bansos_linkage.errors import SchemaError

    path = Path(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        if content.get("format") != "bansos-linkage-pmt":
            raise ValueError("format is not 'bansos-linkage-pmt'")
        X = pd.DataFrame(content["rows"], columns=content["columns"])
        for col in content["numeric"]:
            X[col] = pd.to_numeric(X[col], errors="coerce")
        pmt = ProxyMeansTest(by=content["by"], min_group=int(content["min_group"]))
        return pmt.fit(X, np.asarray(content["y"], dtype=float))
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"not a readable PMT model file ({exc})", file=path) from None


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


__all__ = [
    "ALPHAS",
    "ProxyMeansTest",
    "evaluate_pmt",
    "load_pmt",
    "save_pmt",
]
