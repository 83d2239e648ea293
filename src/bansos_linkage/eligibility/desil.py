"""Desil ranking: households sorted by welfare and cut into ten groups of equal numbers
of *people*, as BPS cuts DTSEN (desil 1 = the poorest tenth of the population).

A household is never split: it falls in the desil that holds its middle member
(the cumulative number of people before it plus half its size). Ties in welfare
are broken by ``tie_break`` (e.g. the household id), so the same data always give
the same desil.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def desil(
    welfare: pd.Series,
    size: pd.Series,
    by: pd.Series | None = None,
    tie_break: pd.Series | None = None,
    groups: int = 10,
) -> pd.Series:
    """The desil (1 = poorest) of each household.

    Parameters
    ----------
    welfare
        Predicted per-capita welfare (e.g. the PMT's log expenditure); lower is poorer.
    size
        People in each household (same index).
    by
        Region of each household: ranked within its region instead of nationally.
    tie_break
        Order among equal welfare (default: the index).
    groups
        Ten for desil; five for quintiles and so on.

    Examples
    --------
    >>> desil(pd.Series([3.0, 1.0, 2.0, 4.0]), pd.Series([1, 1, 1, 1]), groups=4).tolist()
    [3, 1, 2, 4]
    """
    if not welfare.index.equals(size.index):
        raise ValueError("welfare and size must have the same index")
    people = size.to_numpy(dtype=float)
    if np.isnan(people).any() or (people <= 0).any():
        raise ValueError("every household needs a size of at least one person")
    w = welfare.to_numpy(dtype=float)
    if np.isnan(w).any():
        raise ValueError("welfare is missing for some households: rank only scored ones")
    ties = np.arange(len(w)) if tie_break is None else _order_key(tie_break)
    region = np.zeros(len(w), dtype=np.int64) if by is None else pd.factorize(by)[0]
    order = np.lexsort((ties, w, region))
    out = np.empty(len(w), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, region[order][1:] != region[order][:-1]])
    ends = np.r_[starts[1:], len(order)]
    for a, b in zip(starts, ends, strict=True):
        rows = order[a:b]
        p = people[rows]
        out[rows] = cut_desil(np.cumsum(p) - p / 2, p.sum(), groups)
    return pd.Series(out, index=welfare.index, name="desil")


def cut_desil(middle: np.ndarray, total: np.ndarray | float, groups: int = 10) -> np.ndarray:
    """The group of each household from the people ranked before its middle member
    (``middle``) and the people of its region (``total``)."""
    return np.minimum((middle / total * groups).astype(np.int64) + 1, groups)


def comparable(values: pd.Series) -> np.ndarray:
    """Tie-break values as ranking compares them: numbers numerically, else as text."""
    array = pd.Series(values).to_numpy()
    if not pd.api.types.is_numeric_dtype(array.dtype):
        array = array.astype(str)
    return array


def _order_key(values: pd.Series) -> np.ndarray:
    """Each value's position in sorted order (numbers numerically, else as text)."""
    return np.unique(comparable(values), return_inverse=True)[1].astype(np.int64)


__all__ = [
    "comparable",
    "cut_desil",
    "desil",
]
