"""The ML matcher: a scikit-learn classifier of pairs that saves without pickles."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from bansos_linkage.linkage.ml_matcher import (
    MLMatcher,
    matcher_from_dict,
    matcher_to_dict,
    pair_features,
)


def _expected_failures(estimator) -> dict[str, str]:
    why = (
        "the scaling and the cross-validated calibration are fitted on rows, not weights: "
        "a row of weight 2 and the same row repeated are not the same to them"
    )
    return {"check_sample_weight_equivalence_on_dense_data": why}


@parametrize_with_checks(
    [MLMatcher(), MLMatcher(classifier=LogisticRegression(), cv=2)],
    expected_failed_checks=_expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def _pairs(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Pairs whose name and NIK levels decide the truth, with the NIK often missing and
    a Fellegi-Sunter weight that is wrong exactly where the NIK is missing."""
    rng = np.random.default_rng(seed)
    match = rng.random(n) < 0.2
    name = np.where(match, rng.choice([8, 7, 5], n), rng.choice([0, 1, 5], n))
    nik = np.where(rng.random(n) < 0.4, -1, np.where(match, 6, rng.choice([0, 1], n)))
    sims = np.column_stack(
        [np.where(match, 0.95, 0.6) + rng.normal(0, 0.05, n), np.full(n, np.nan)]
    )
    weight = np.where(nik == -1, 0.0, np.where(match, 10.0, -10.0)) + rng.normal(0, 1, n)
    X = pair_features(np.column_stack([name, nik]), ["name", "nik"], sims, weight)
    return X, match.astype(int)


def test_learns_where_the_unsupervised_weight_is_blind():
    X, y = _pairs(600, 0)
    X_test, y_test = _pairs(3000, 1)
    ml = MLMatcher().fit(X, y)
    accuracy = (ml.predict(X_test) == y_test).mean()
    weight_only = ((X_test["fs_weight"] > 0).astype(int) == y_test).mean()
    assert accuracy > 0.97 and accuracy > weight_only + 0.1
    p = ml.match_probability(X_test)
    assert ((p >= 0) & (p <= 1)).all()
    # calibrated: among pairs given about 0.9, about 90% are matches
    high = p > 0.8
    assert abs(y_test[high].mean() - p[high].mean()) < 0.1
    w = ml.match_weight(X_test)
    assert np.array_equal(w > 0, p > 0.5)


def test_works_in_pipelines_grid_search_and_clone():
    X, y = _pairs(300, 2)
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), MLMatcher(cv=2)),
        {"mlmatcher__calibration": ["sigmoid", None]},
        cv=3,
        scoring="f1",
    ).fit(X.fillna(-1), y)
    assert grid.best_score_ > 0.9
    assert clone(MLMatcher(cv=5)).get_params()["cv"] == 5


def test_few_labels_of_one_class_fall_back_to_no_calibration():
    X, y = _pairs(40, 3)
    y = np.zeros(40, dtype=int)
    y[:1] = 1
    ml = MLMatcher(cv=3).fit(X, y)
    assert ml.predict_proba(X).shape == (40, 2)
    with pytest.raises(ValueError, match="one class"):
        MLMatcher().fit(X, np.zeros(40, dtype=int))


@pytest.mark.parametrize("classifier", [None, LogisticRegression(C=0.5, max_iter=500)])
def test_saved_as_json_and_refitted_to_the_same_predictions(classifier):
    X, y = _pairs(300, 4)
    ml = MLMatcher(classifier=classifier).fit(X, y)
    spec = json.loads(json.dumps(matcher_to_dict(ml)))
    again = matcher_from_dict(spec)
    X_test, _ = _pairs(500, 5)
    np.testing.assert_array_equal(again.predict_proba(X_test), ml.predict_proba(X_test))
    assert list(again.feature_names_in_) == list(X.columns)


def test_a_model_file_cannot_name_code_outside_scikit_learn():
    X, y = _pairs(100, 6)
    spec = matcher_to_dict(MLMatcher(classifier=LogisticRegression()).fit(X, y))
    spec["classifier"]["class"] = "os.system"
    with pytest.raises(ValueError, match="not a scikit-learn class"):
        matcher_from_dict(spec)
