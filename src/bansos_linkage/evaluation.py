"""Accuracy of links against the truth: plain functions of true and predicted pairs.

The truth comes as the entity (person) id of each record on both sides, as the
synthetic generator's ``truth`` tables give it; every pair of records with the
same entity is a true link (a person registered twice in DTKS has two).
"""

from __future__ import annotations

import pandas as pd


def true_links(left_entity: pd.Series, right_entity: pd.Series) -> pd.DataFrame:
    """All (left_id, right_id) pairs whose records share an entity id.

    Both Series are indexed by record id and hold the entity id (missing = unknown).

    Examples
    --------
    >>> left = pd.Series({"a": "p1", "b": "p2", "c": "p1"})
    >>> right = pd.Series({"x": "p1", "y": "p3"})
    >>> true_links(left, right).values.tolist()
    [['a', 'x'], ['c', 'x']]
    """
    lf = left_entity.dropna().rename("entity").rename_axis("left_id").reset_index()
    rf = right_entity.dropna().rename("entity").rename_axis("right_id").reset_index()
    pairs = lf.merge(rf, on="entity")[["left_id", "right_id"]]
    return pairs.sort_values(["left_id", "right_id"], ignore_index=True)


def link_metrics(predicted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """Precision, recall, F1 and confusion counts of predicted against true pairs.

    Both frames have ``left_id`` and ``right_id`` columns; duplicated rows count once.

    Examples
    --------
    >>> truth = pd.DataFrame({"left_id": ["a", "b"], "right_id": ["x", "y"]})
    >>> pred = pd.DataFrame({"left_id": ["a", "c"], "right_id": ["x", "z"]})
    >>> link_metrics(pred, truth)["f1"]
    0.5
    """
    key = ["left_id", "right_id"]
    pred = predicted[key].astype(str).drop_duplicates()
    true = truth[key].astype(str).drop_duplicates()
    tp = len(pred.merge(true, on=key))
    fp, fn = len(pred) - tp, len(true) - tp
    precision = tp / len(pred) if len(pred) else 1.0
    recall = tp / len(true) if len(true) else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
    }
