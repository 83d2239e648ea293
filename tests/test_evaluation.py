"""Link metrics against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from bansos_linkage.evaluation import link_metrics, true_links


def test_true_links_include_every_registration_of_a_person():
    left = pd.Series({"d1": "p1", "d2": "p1", "d3": "p2", "d4": None})
    right = pd.Series({"r1": "p1", "r2": "p2", "r3": "p9"})
    got = true_links(left, right)
    assert got.values.tolist() == [["d1", "r1"], ["d2", "r1"], ["d3", "r2"]]


def test_metrics_by_hand():
    truth = pd.DataFrame({"left_id": ["a", "b", "c", "d"], "right_id": ["w", "x", "y", "z"]})
    pred = pd.DataFrame(
        {"left_id": ["a", "b", "c", "c", "e"], "right_id": ["w", "x", "z", "z", "v"]}
    )
    m = link_metrics(pred, truth)
    # predicted (deduplicated): aw, bx, cz, ev -> 2 right of 4; truth has 4, 2 found
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (2, 2, 2)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    assert link_metrics(truth, truth)["f1"] == 1.0
    empty = link_metrics(pred.iloc[:0], truth)
    assert empty["recall"] == 0.0 and empty["f1"] == 0.0
