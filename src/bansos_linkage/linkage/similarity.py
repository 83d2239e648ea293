"""String similarity for Indonesian names: Jaro-Winkler (rapidfuzz) per distinct pair of
values, and the phonetic key of
:mod:`bansos_linkage.standardisation.phonetic` (standardisation derives it once per
record; comparisons read it).

Examples
--------
>>> phonetic_key("RIZKY") == phonetic_key("RISKI")
True
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from bansos_linkage.standardisation.phonetic import phonetic_key, phonetic_keys

__all__ = [
    "distinct_pairs",
    "distinct_scores",
    "jaro_winkler",
    "phonetic_key",
    "phonetic_keys",
]


def _pair_scores(a: np.ndarray, b: np.ndarray, scorer) -> np.ndarray:
    """Score element-wise pairs once per distinct (a, b) pair; NaN where either is missing."""
    out = np.full(len(a), np.nan)
    ok = pd.notna(a) & pd.notna(b)
    if not ok.any():
        return out
    sa, sb = a[ok].astype(str), b[ok].astype(str)
    codes, first = distinct_pairs(sa, sb)
    out[ok] = distinct_scores(sa[first], sb[first], scorer)[codes]
    return out


def distinct_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Code of each element-wise (a, b) pair and the first row of each distinct pair,
    so that work on pairs of values is done once per distinct pair.

    Examples
    --------
    >>> codes, first = distinct_pairs(np.array(["A", "B", "A"]), np.array(["X", "Y", "X"]))
    >>> codes.tolist(), first.tolist()
    ([0, 1, 0], [0, 1])
    """
    codes, _ = pd.factorize(pd.Series(a, dtype=object) + "\x1f" + pd.Series(b, dtype=object))
    first = np.unique(codes, return_index=True)[1]  # one row per distinct pair, in code order
    return codes, first


def distinct_scores(a: np.ndarray, b: np.ndarray, scorer=None) -> np.ndarray:
    """Scores of already distinct element-wise string pairs (default Jaro-Winkler)."""
    scorer = scorer or JaroWinkler.normalized_similarity
    return np.asarray(process.cpdist(list(a), list(b), scorer=scorer, workers=-1), dtype=float)


def jaro_winkler(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaro-Winkler similarity (0..1) of element-wise string pairs; NaN where missing.

    Examples
    --------
    >>> jaro_winkler(np.array(["SITI", None]), np.array(["SITI", "X"])).tolist()
    [1.0, nan]
    """
    return _pair_scores(a, b, JaroWinkler.normalized_similarity)
