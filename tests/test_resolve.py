"""One-to-one resolution of scored pairs."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from bansos_linkage.resolve import one_to_one


def test_best_total_assignment_not_greedy():
    # greedy would take (0,0)=0.9 and leave 1 unmatched; the optimum links both
    left, right = np.array([0, 0, 1]), np.array([0, 1, 0])
    score = np.array([0.9, 0.8, 0.85])
    keep = one_to_one(left, right, score, 0.5)
    assert keep.tolist() == [False, True, True]


def test_threshold_and_singletons():
    keep = one_to_one(np.array([0, 1, 2]), np.array([0, 1, 2]), np.array([0.9, 0.4, 0.6]), 0.5)
    assert keep.tolist() == [True, False, True]
    assert not one_to_one(np.array([0]), np.array([0]), np.array([0.1]), 0.5).any()


def test_no_record_gets_two_counterparts_on_random_graphs():
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = 60
        left = rng.integers(0, 15, n)
        right = rng.integers(0, 15, n)
        pairs = np.unique(np.column_stack([left, right]), axis=0)
        score = rng.random(len(pairs))
        keep = one_to_one(pairs[:, 0], pairs[:, 1], score, 0.2)
        kept = pairs[keep]
        assert len(np.unique(kept[:, 0])) == len(kept) == len(np.unique(kept[:, 1]))
        # the total equals the optimum of the whole problem
        matrix = np.full((15, 15), -1e9)
        ok = score >= 0.2
        matrix[pairs[ok, 0], pairs[ok, 1]] = score[ok]
        r, c = linear_sum_assignment(matrix, maximize=True)
        best = matrix[r, c][matrix[r, c] > -1e9].sum()
        assert abs(score[keep].sum() - best) < 1e-9
