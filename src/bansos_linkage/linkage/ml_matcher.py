"""The ML matcher: a supervised classifier of candidate pairs, trained on reviewed pairs.

It learns from the same features the comparisons produce for every pair: the
agreement level of each comparison, its continuous similarity and the
Fellegi-Sunter match weight (so it starts from what the unsupervised model
knows and learns where that model is wrong). Any scikit-learn classifier can be
plugged in; the default is gradient boosting on trees, which handles missing
similarities natively, with probabilities calibrated by cross-validation
(``sigmoid``: sound with a few hundred labels, where isotonic overfits).

The estimator follows scikit-learn's conventions (parameters in ``__init__``,
learned attributes ending in ``_``; it works with ``clone``, ``Pipeline`` and
``GridSearchCV``). For the model file it saves its parameters and its training
set (a few hundred rows of features and labels) instead of a pickle: loading
refits the same classifier on the same rows with the same seed, which gives the
same predictions and cannot run code from a file.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(200, 3))
>>> y = (X[:, 0] + 0.3 * rng.normal(size=200) > 0).astype(int)
>>> from sklearn.linear_model import LogisticRegression
>>> ml = MLMatcher(classifier=LogisticRegression()).fit(X, y)  # the default takes seconds
>>> float((ml.predict(X) == y).mean()) > 0.85
True
"""

from __future__ import annotations

import importlib
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from bansos_linkage.linkage.fellegi_sunter import probability

#: Classifier modules a model file may name (a file must not import arbitrary code).
_ALLOWED_MODULES = ("sklearn.",)


def pair_features(
    levels: np.ndarray,
    labels: Sequence[str],
    similarities: np.ndarray | None = None,
    match_weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ML features of pairs: ``<label>_level`` (``-1`` missing), ``<label>_sim``
    (NaN missing) per comparison and ``fs_weight`` (the Fellegi-Sunter match weight).

    Examples
    --------
    >>> pair_features(np.array([[8, -1]]), ["name", "nik"], np.array([[1.0, np.nan]]),
    ...               np.array([3.5])).columns.tolist()
    ['name_level', 'nik_level', 'name_sim', 'nik_sim', 'fs_weight']
    """
    levels = np.asarray(levels)
    out: dict[str, np.ndarray] = {
        f"{label}_level": levels[:, k].astype(np.int8) for k, label in enumerate(labels)
    }
    if similarities is not None:
        sims = np.asarray(similarities, dtype=np.float32)
        out |= {f"{label}_sim": sims[:, k] for k, label in enumerate(labels)}
    if match_weight is not None:
        out["fs_weight"] = np.asarray(match_weight, dtype=np.float32)
    return pd.DataFrame(out)


#: Labels of each class every calibration fold needs (fewer folds, or none, otherwise).
CALIBRATION_MIN = 10
#: Below this many labels of the rarer class the default is a linear model: trees cannot
#: isolate a handful of matches, while a line through the Fellegi-Sunter weight can.
FEW_LABELS = 30


def default_classifier(random_state: int | None = 0, n_minority: int | None = None):
    """The classifier used when none is given, sized for the labels at hand.

    With at least ``FEW_LABELS`` labels of each class: gradient boosting with shallow
    trees and strong regularisation, no early stopping (its hold-out would waste scarce
    labels). With fewer (the first review round): a regularised logistic regression on
    (standardised) features, which leans on the Fellegi-Sunter weight.
    """
    if n_minority is not None and n_minority < FEW_LABELS:
        return LogisticRegression(C=1.0, max_iter=2000)
    return HistGradientBoostingClassifier(
        max_iter=150,
        learning_rate=0.08,
        max_leaf_nodes=8,
        min_samples_leaf=5,
        l2_regularization=1.0,
        early_stopping=False,
        random_state=random_state,
    )


class MLMatcher(ClassifierMixin, BaseEstimator):
    """A calibrated classifier of candidate pairs (match = 1, non-match = 0).

    Parameters
    ----------
    classifier
        An unfitted scikit-learn classifier; ``None`` uses :func:`default_classifier`
        (gradient boosting, or logistic regression while a class has fewer than
        ``FEW_LABELS`` labels).
        Missing values are imputed (-1, with indicator columns) and features
        standardised for it, since most classifiers refuse NaN.
    calibration
        ``"sigmoid"``, ``"isotonic"`` or ``None``: how the probabilities are
        calibrated by cross-validation.
    cv
        Folds of that cross-validation, or any splitter scikit-learn accepts. With
        an integer, fewer folds are used when a class has fewer than
        ``CALIBRATION_MIN`` labels per fold, and none (no calibration) below two.
    random_state
        Seed of the default classifier.

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_ (with a DataFrame)
        As scikit-learn sets them.
    preprocess_, model_
        The fitted imputation and scaling, and the (calibrated) classifier.
    training_X_, training_y_
        The training set, kept for the model file.
    """

    def __init__(
        self,
        classifier: Any = None,
        calibration: str | None = "sigmoid",
        cv: int = 3,
        random_state: int | None = 0,
    ) -> None:
        self.classifier = classifier
        self.calibration = calibration
        self.cv = cv
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> MLMatcher:
        """Fit on labelled pairs (features as :func:`pair_features` gives them)."""
        if self.calibration not in ("sigmoid", "isotonic", None):
            raise ValueError("calibration must be 'sigmoid', 'isotonic' or None")
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype=np.float64)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError("the labels hold one class only: a matcher needs both")
        n_minority = int(np.bincount(encoded).min())
        base = (
            default_classifier(self.random_state, n_minority)
            if self.classifier is None
            else clone(self.classifier)
        )
        # most classifiers refuse NaN: missing similarities become -1 plus indicators;
        # standard scales help linear models and change nothing for trees
        self.preprocess_ = make_pipeline(
            SimpleImputer(
                strategy="constant", fill_value=-1.0, add_indicator=True, keep_empty_features=True
            ),
            StandardScaler(),
        ).fit(X)
        model = base
        if self.calibration is not None:
            folds = self.cv
            if isinstance(folds, numbers.Integral):
                # a calibration fold with a handful of matches flattens the probabilities
                # instead of calibrating them: each needs CALIBRATION_MIN of each class
                folds = min(int(folds), n_minority // CALIBRATION_MIN)
            if not isinstance(folds, int) or folds >= 2:
                model = CalibratedClassifierCV(base, method=self.calibration, cv=folds)
            # else too few labels of one class: the classifier's own probabilities
        fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
        self.model_ = model.fit(self.preprocess_.transform(X), encoded, **fit_params)
        self.training_X_ = X
        self.training_y_ = np.asarray(y)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of each class (columns in ``classes_`` order)."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return self.model_.predict_proba(self.preprocess_.transform(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class of each pair."""
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[np.argmax(proba, axis=1)]

    def match_probability(self, X) -> np.ndarray:
        """Probability of the match class (the larger label, e.g. 1 or True)."""
        return self.predict_proba(X)[:, -1]

    def match_weight(self, X) -> np.ndarray:
        """``log2`` odds of a match, on the Fellegi-Sunter weight scale (clipped at
        +-30 bits where the probability is 0 or 1)."""
        p = np.clip(self.match_probability(X), 2.0**-30, 1 - 2.0**-30)
        return np.log2(p / (1 - p))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


def matcher_to_dict(matcher: MLMatcher) -> dict[str, Any]:
    """The fitted matcher as JSON-ready data: parameters, classifier and training set."""
    check_is_fitted(matcher, "model_")
    classifier = matcher.classifier
    spec = None
    if classifier is not None:
        cls = type(classifier)
        spec = {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": _plain(classifier.get_params(deep=False)),
        }
    names = getattr(matcher, "feature_names_in_", None)
    return {
        "calibration": matcher.calibration,
        "cv": matcher.cv,
        "random_state": matcher.random_state,
        "classifier": spec,
        "feature_names": None if names is None else [str(n) for n in names],
        "training_X": [
            [None if np.isnan(v) else float(v) for v in row] for row in matcher.training_X_
        ],
        "training_y": [_plain(v) for v in matcher.training_y_.tolist()],
    }


def matcher_from_dict(spec: dict[str, Any]) -> MLMatcher:
    """Rebuild and refit a matcher saved by :func:`matcher_to_dict` (same predictions).

    Raises ``ValueError`` (for the model file to report with its key) when a part
    is missing or names a classifier outside scikit-learn.
    """
    classifier = None
    if spec.get("classifier") is not None:
        path = str(spec["classifier"]["class"])
        if not path.startswith(_ALLOWED_MODULES):
            raise ValueError(f"classifier {path!r} is not a scikit-learn class")
        module, _, name = path.rpartition(".")
        classifier = getattr(importlib.import_module(module), name)(**spec["classifier"]["params"])
    matcher = MLMatcher(
        classifier=classifier,
        calibration=spec["calibration"],
        cv=int(spec["cv"]),
        random_state=spec["random_state"],
    )
    X = np.array(
        [[np.nan if v is None else v for v in row] for row in spec["training_X"]], dtype=float
    )
    names = spec.get("feature_names")
    data = pd.DataFrame(X, columns=names) if names is not None else X
    return matcher.fit(data, np.asarray(spec["training_y"]))


def _plain(value: Any) -> Any:
    """JSON-ready copies of numpy scalars inside parameters."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def choose_matcher(
    template: MLMatcher,
    X: pd.DataFrame,
    y: np.ndarray,
    fs_threshold: float,
    ml_threshold: float,
    folds: int = 5,
    random_state: int = 0,
    fs_decisions: np.ndarray | None = None,
) -> dict[str, Any]:
    """Which matcher should decide, judged on reviewed pairs.

    The ML matcher's decisions are cross-validated (each pair predicted by a model that
    did not see it) and compared with the Fellegi-Sunter decisions on the same pairs
    (``fs_weight`` at ``fs_threshold``). The ML matcher decides only when it makes
    strictly fewer wrong decisions; ties and too few labels (fewer than ``folds`` of
    either class) keep the unsupervised model. Reviewed pairs are the uncertain ones,
    so even then it decides only within ``fs_weight_band``, the Fellegi-Sunter weights
    between the labels' 10th and 90th percentiles; outside, the labels say nothing.
    ``fs_decisions`` (whether each labelled pair is one of the unsupervised run's links,
    after one-to-one resolution) replaces the thresholded ``fs_weight`` when given.

    Examples
    --------
    >>> X = pd.DataFrame({"fs_weight": [-9.0, -8, -7, -6, -5, 5, 6, 7, 8, 9] * 2})
    >>> y = (X["fs_weight"] > 0).to_numpy()
    >>> choose_matcher(MLMatcher(), X, y, 0.5, 0.5)["decides"]
    'fellegi_sunter'
    """
    y = np.asarray(y, dtype=bool)
    weights = X["fs_weight"].to_numpy(dtype=float)
    fs_says = probability(weights) >= fs_threshold
    if fs_decisions is not None:  # the links the Fellegi-Sunter model actually made
        fs_says = np.asarray(fs_decisions, dtype=bool)
    fs_errors = int((fs_says != y).sum())
    # reviewed pairs are chosen where the model is unsure: the ML matcher is judged, and
    # may decide, only within the band of Fellegi-Sunter weights the labels cover
    band = [float(np.quantile(weights, 0.1)), float(np.quantile(weights, 0.9))] if len(y) else []
    out: dict[str, Any] = {"fs_errors_on_labels": fs_errors, "fs_weight_band": band}
    rarer = int(min(y.sum(), (~y).sum()))
    if rarer < folds:
        why = f"too few labels to judge the ML matcher ({rarer} of the rarer class, {folds} needed)"
        return {**out, "decides": "fellegi_sunter", "why": why}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=random_state)
    proba = cross_val_predict(clone(template), X, y, cv=splitter, method="predict_proba")[:, 1]
    ml_errors = int(((proba >= ml_threshold) != y).sum())
    out["ml_cv_errors_on_labels"] = ml_errors
    if ml_errors < fs_errors:
        why = f"cross-validated, it makes {ml_errors} wrong decisions on the labels, the "
        why += f"Fellegi-Sunter model {fs_errors}"
        return {**out, "decides": "ml", "why": why}
    why = f"it does not beat the Fellegi-Sunter model on the labels ({ml_errors} wrong "
    why += f"decisions cross-validated vs {fs_errors})"
    return {**out, "decides": "fellegi_sunter", "why": why}


__all__ = [
    "CALIBRATION_MIN",
    "FEW_LABELS",
    "MLMatcher",
    "choose_matcher",
    "default_classifier",
    "matcher_from_dict",
    "matcher_to_dict",
    "pair_features",
]
