"""Reviewed pairs in a run: reviewers' decisions are final, and the ML matcher
(:mod:`bansos_linkage.linkage.ml_matcher`) decides where it beats the Fellegi-Sunter
model on them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from bansos_linkage.errors import SchemaError
from bansos_linkage.linkage.fitting import PairWeights
from bansos_linkage.linkage.ml_matcher import MLMatcher, choose_matcher, pair_features
from bansos_linkage.linkage.preparation import positions
from bansos_linkage.linkage.scoring import PairCompare, ScoredPairs, pair_flags, pair_index

#: The match weight given to reviewed pairs (+ for a match, - for a non-match).
REVIEWED_BITS = 60.0
LABEL_COLUMNS = ("left_id", "right_id", "is_match")


def check_labels(labels: pd.DataFrame) -> None:
    """Reviewed pairs need ``left_id``, ``right_id`` and ``is_match``."""
    missing = [c for c in LABEL_COLUMNS if c not in labels]
    if missing:
        raise SchemaError(f"labels need the columns {missing}")


def label_positions(
    left: pd.DataFrame, right: pd.DataFrame, labels: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of the labelled pairs' records and which pairs have both (ids not in
    the registers are -1)."""
    check_labels(labels)
    a = positions(left, labels["left_id"])
    b = positions(right, labels["right_id"])
    return a, b, (a >= 0) & (b >= 0)


def fit_matcher(
    template: MLMatcher,
    X: pd.DataFrame,
    y: np.ndarray,
    fs_threshold: float,
    ml_threshold: float,
    fs_decisions: np.ndarray | None,
) -> tuple[MLMatcher | None, dict[str, Any]]:
    """The ML matcher trained on the labelled pairs' features when it should decide
    (:func:`~bansos_linkage.linkage.ml_matcher.choose_matcher`), and why."""
    choice = choose_matcher(template, X, y, fs_threshold, ml_threshold, fs_decisions=fs_decisions)
    model = clone(template).fit(X, y) if len(np.unique(y)) == 2 else None
    return (model if choice["decides"] == "ml" else None), choice


def train(
    template: MLMatcher,
    weights: PairWeights,
    compare: PairCompare,
    left: pd.DataFrame,
    right: pd.DataFrame,
    labels: pd.DataFrame,
    fs_decisions: tuple[ScoredPairs, np.ndarray],
    thresholds: tuple[float, float],
) -> tuple[MLMatcher | None, pd.DataFrame, dict[str, Any]]:
    """Train the ML matcher on reviewed pairs, each compared directly (the
    Fellegi-Sunter weight is one of its features), and let it decide only where it makes
    fewer wrong decisions on them than the Fellegi-Sunter links (``fs_decisions``: the
    scored pairs and which are links), judged by cross-validation: labels must never
    make the links worse. ``thresholds``: the link and the ML thresholds.

    Returns the matcher (None when it does not decide), the reviewed decisions to keep
    and what the training was (``ml_training_``)."""
    a, b, found = label_positions(left, right, labels)
    levels, sims = compare(left, right, a[found], b[found], similarities=True)
    fs = weights.weights(levels, weights.bits(levels, b[found], weights.frequencies(right)))
    X = pair_features(levels, [c.label for c in weights.comparisons], sims, fs)
    scored, fs_keep = fs_decisions
    judged = pair_flags(scored, fs_keep, a[found], b[found], len(right))
    return train_on(template, X, judged, labels, found, thresholds)


def train_on(
    template: MLMatcher,
    X: pd.DataFrame,
    fs_linked: np.ndarray,
    labels: pd.DataFrame,
    found: np.ndarray,
    thresholds: tuple[float, float],
) -> tuple[MLMatcher | None, pd.DataFrame, dict[str, Any]]:
    """:func:`train` given the features ``X`` of the labelled pairs whose records were
    found (``found``, in the labels' order) and whether the Fellegi-Sunter run links
    each (``fs_linked``): what an engine that compares the pairs elsewhere calls."""
    y = labels["is_match"].astype(bool).to_numpy()[found]
    model, choice = fit_matcher(template, X, y, *thresholds, fs_linked)
    training = {
        "labelled_pairs": int(found.sum()),
        "matches": int(y.sum()),
        "unknown_ids": int((~found).sum()),
        **choice,
    }
    return model, reviewed_table(labels, found), training


def reviewed_table(labels: pd.DataFrame, found: np.ndarray) -> pd.DataFrame:
    """The reviewed decisions kept with a model: the labels whose records were found."""
    return labels.loc[found, list(LABEL_COLUMNS)].astype(
        {"left_id": str, "right_id": str, "is_match": bool}
    )


def reviewed_weights(
    left: pd.DataFrame,
    right: pd.DataFrame,
    scored: ScoredPairs,
    weight: np.ndarray,
    reviewed: pd.DataFrame | None,
) -> np.ndarray:
    """A reviewer's decision is final: reviewed matches score as certain, reviewed
    non-matches as impossible, whatever the model says."""
    if reviewed is None or not len(reviewed) or not len(weight):
        return weight
    a = positions(left, reviewed["left_id"])
    b = positions(right, reviewed["right_id"])
    is_match = reviewed["is_match"].to_numpy(dtype=bool)
    return reviewed_at(scored, weight, (a, b, is_match), len(right))


def reviewed_at(
    scored: ScoredPairs,
    weight: np.ndarray,
    reviewed: tuple[np.ndarray, np.ndarray, np.ndarray],
    n_right: int,
) -> np.ndarray:
    """:func:`reviewed_weights` with the reviewed pairs given by position: left, right
    (-1: not in the register) and the decision."""
    a, b, is_match = reviewed
    where = pair_index(scored, a, b, n_right)
    hit = where >= 0
    out = weight.copy()
    out[where[hit]] = np.where(is_match[hit], REVIEWED_BITS, -REVIEWED_BITS)
    return out


def in_band(fs_weight: np.ndarray, band: Sequence[float] | None) -> np.ndarray:
    """Which pairs the ML matcher decides: those whose Fellegi-Sunter weight lies in
    its ``band`` (ends included; None: every pair)."""
    lo, hi = band or (-np.inf, np.inf)
    weight = np.asarray(fs_weight, dtype=float)
    return (weight >= lo) & (weight <= hi)


def ml_weights(
    model: MLMatcher,
    scored: ScoredPairs,
    fs_weight: np.ndarray,
    labels: Sequence[str],
    band: Sequence[float] | None,
    shift: float,
    chunk_size: int,
) -> np.ndarray:
    """Log2 odds of a match on the link threshold's scale: the ML matcher's, ``shift``ed
    so that its threshold falls where the Fellegi-Sunter one does, within the ``band``
    of Fellegi-Sunter weights its labels cover; the Fellegi-Sunter weight outside it."""
    assert scored.similarities is not None
    out = np.asarray(fs_weight, dtype=float).copy()
    inside = np.flatnonzero(in_band(fs_weight, band))
    for lo in range(0, len(inside), chunk_size):
        part = inside[lo : lo + chunk_size]
        X = pair_features(scored.levels[part], labels, scored.similarities[part], fs_weight[part])
        out[part] = model.match_weight(X) + shift
    return out


__all__ = [
    "LABEL_COLUMNS",
    "REVIEWED_BITS",
    "check_labels",
    "fit_matcher",
    "in_band",
    "label_positions",
    "ml_weights",
    "reviewed_table",
    "reviewed_at",
    "reviewed_weights",
    "train",
    "train_on",
]
