"""Two records of one register taken for one person.

A pair is a duplicate when the model scores it as a match *and* there is evidence
about the person itself (names that agree with birth dates that do not contradict,
or equal birth dates): registers put a relative's NIK on a member's row, so a
shared NIK or KK alone never makes a duplicate. Which comparisons give that
evidence, each comparison says (``person_evidence``, ``strong_levels``,
``compatible_levels``; see :func:`~bansos_linkage.linkage.comparisons.register_comparison`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import probability


def _level_numbers(comp: Comparison, names: Sequence[str]) -> list[int]:
    """The numbers of the named levels a comparison has (level 0 is its weakest)."""
    levels = comp.levels
    return [len(levels) - 1 - levels.index(n) for n in names if n in levels]


def person_evidence(comparisons: Sequence[Comparison]) -> Callable[[np.ndarray], np.ndarray]:
    """Per pair (a levels matrix): is there evidence about the person itself? Names that
    agree with birth dates that do not differ (missing, equal, swapped, year-only), or
    equal birth dates."""
    names = [
        (k, _level_numbers(c, getattr(c, "strong_levels", ())))
        for k, c in enumerate(comparisons)
        if getattr(c, "person_evidence", None) == "name"
    ]
    dates = [
        (
            k,
            _level_numbers(c, getattr(c, "strong_levels", ())),
            _level_numbers(c, getattr(c, "compatible_levels", ())),
        )
        for k, c in enumerate(comparisons)
        if getattr(c, "person_evidence", None) == "birth_date"
    ]

    def test(levels: np.ndarray) -> np.ndarray:
        if not names:  # no full-name comparison (other data, FEBRL): no test to make
            return np.ones(len(levels), dtype=bool)
        name_ok = np.zeros(len(levels), dtype=bool)
        for k, strong in names:
            name_ok |= np.isin(levels[:, k], strong)
        date_ok = np.zeros(len(levels), dtype=bool)
        date_compatible = np.ones(len(levels), dtype=bool)
        for k, strong, compatible in dates:
            date_ok |= np.isin(levels[:, k], strong)
            date_compatible &= np.isin(levels[:, k], [-1, *compatible])
        return (name_ok & date_compatible) | date_ok

    return test


def cap_levels(levels: np.ndarray, max_level_seen: Sequence[int]) -> np.ndarray:
    """Within one register some levels occur that linking never saw (both sides use one
    region scheme, so "same village" appears): count them as the strongest level the
    model was trained on, not with untrained weights."""
    if not max_level_seen:
        return levels
    return np.minimum(levels, np.asarray(max_level_seen, dtype=np.int8))


def within_pairs(
    ids: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    weight: np.ndarray,
    levels: np.ndarray,
    weight_threshold: float,
    comparisons: Sequence[Comparison],
) -> pd.DataFrame:
    """The pairs (a, b) of one register (record ``ids``) that are duplicates: weight at
    or above ``weight_threshold`` (log2 odds) with evidence about the person."""
    keep = (weight >= weight_threshold) & person_evidence(comparisons)(levels)
    return pd.DataFrame(
        {
            "record_id_a": ids[a[keep]],
            "record_id_b": ids[b[keep]],
            "match_weight": weight[keep],
            "match_probability": probability(weight[keep]),
        }
    )


__all__ = [
    "cap_levels",
    "person_evidence",
    "within_pairs",
]
