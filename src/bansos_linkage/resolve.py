"""Links from scored pairs: one person, one counterpart.

:func:`one_to_one` keeps, among the pairs at or above the threshold, the
assignment that maximises the total score within each connected component of
the pair graph (``scipy.optimize.linear_sum_assignment``), so two different
records never share a counterpart. Components are small (a family, a common
name in a village), so the dense problems stay tiny; single pairs pass
straight through. Duplicate-aware resolution (two records of one register for
one person) builds on this in a later step.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def one_to_one(
    left: np.ndarray, right: np.ndarray, score: np.ndarray, threshold: float
) -> np.ndarray:
    """Boolean mask of the pairs kept as one-to-one links.

    Parameters
    ----------
    left, right
        Record positions of each candidate pair.
    score
        Higher is better (match probability or match weight).
    threshold
        Pairs below it are never linked.

    Examples
    --------
    >>> one_to_one(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([0.9, 0.8, 0.95]), 0.5)
    array([ True, False,  True])
    """
    left, right, score = np.asarray(left), np.asarray(right), np.asarray(score, dtype=float)
    keep = np.zeros(len(left), dtype=bool)
    cand = np.flatnonzero(score >= threshold)
    if not len(cand):
        return keep
    n_left = int(left[cand].max()) + 1
    n_right = int(right[cand].max()) + 1
    graph = coo_matrix(
        (np.ones(len(cand)), (left[cand], n_left + right[cand])),
        shape=(n_left + n_right, n_left + n_right),
    )
    _, label = connected_components(graph, directed=False)
    comp = label[left[cand]]
    order = np.argsort(comp, kind="stable")
    sizes = np.bincount(comp)
    singles = sizes[comp] == 1
    keep[cand[singles]] = True
    starts = np.r_[0, np.cumsum(sizes)]
    sorted_cand = cand[order]
    for c in np.flatnonzero(sizes > 1):
        members = sorted_cand[starts[c] : starts[c + 1]]
        keep[members[_assign(left[members], right[members], score[members])]] = True
    return keep


def _assign(left: np.ndarray, right: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices (into the component's pairs) of the best one-to-one assignment."""
    lu, li = np.unique(left, return_inverse=True)
    ru, ri = np.unique(right, return_inverse=True)
    matrix = np.full((len(lu), len(ru)), -1e9)
    matrix[li, ri] = score
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    chosen = matrix[rows, cols] > -1e9
    lookup = {(a, b): k for k, (a, b) in enumerate(zip(li, ri, strict=True))}
    return np.array(
        [lookup[(r, c)] for r, c in zip(rows[chosen], cols[chosen], strict=True)], dtype=int
    )
