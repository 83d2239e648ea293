"""scikit-learn's estimator checks for the estimators not covered elsewhere (the ML
matcher's run in test_ml_matcher.py)."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from bansos_linkage.eligibility.pmt import ProxyMeansTest
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter

_UNSUPERVISED = "unsupervised: EM learns from the levels alone and ignores y"


def _expected_failures(estimator) -> dict[str, str]:
    if isinstance(estimator, FellegiSunter):
        return {
            "check_positive_only_tag_during_fit": (
                "levels are >= -1 (-1 = missing), which no tag can say: lower values raise"
            ),
            "check_classifiers_one_label": _UNSUPERVISED,
            "check_classifiers_classes": _UNSUPERVISED + " (classes_ is always 0, 1)",
            "check_classifiers_train": _UNSUPERVISED,
            "check_classifiers_train(readonly_memmap=True)": _UNSUPERVISED,
            "check_classifiers_train(readonly_memmap=True,X_dtype=float32)": _UNSUPERVISED,
            "check_classifiers_regression_target": _UNSUPERVISED,
            "check_supervised_y_2d": _UNSUPERVISED,
        }
    return {}


@parametrize_with_checks(
    [FellegiSunter(), ProxyMeansTest()], expected_failed_checks=_expected_failures
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
