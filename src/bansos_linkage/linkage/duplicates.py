"""Two records of one register taken for one person.

A pair is a duplicate when the model scores it as a match *and* there is evidence
about the person itself (names that agree with birth dates that do not contradict,
or equal birth dates): registers put a relative's NIK on a member's row, so a
shared NIK or KK alone never makes a duplicate. With agreeing names, a shared NIK or
KK does let the dates differ by a typo (see :func:`person_evidence`). Which
comparisons give that evidence, each comparison says (``person_evidence``,
``strong_levels``, ``near_levels``, ``compatible_levels``, ``typo_levels``,
``year_apart_levels``; see :func:`~bansos_linkage.linkage.comparisons.register_comparison`).
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
    """Per pair (a levels matrix): is there evidence about the person itself?

    - names that agree with birth dates that do not differ (missing, equal, swapped,
      year-only), or equal birth dates;
    - with the same KK number (``"household"``) or NIK (``"identifier"``): names that
      agree or lost a word, with dates a typo apart (a registration typed twice);
    - with the same NIK: such names also with dates a year apart (siblings, who share a
      KK and similar names, are born a year apart; they do not share a NIK unless one
      holds the other's).

    A shared NIK or KK without agreeing names is never enough: registers type a
    relative's NIK on a member's row.
    """
    names = _roles(comparisons, "name", "strong_levels")
    near_names = _roles(comparisons, "name", "strong_levels", "near_levels")
    dates = _roles(comparisons, "birth_date", "strong_levels")
    compatible = _roles(comparisons, "birth_date", "compatible_levels")
    typo = _roles(comparisons, "birth_date", "compatible_levels", "typo_levels")
    year_apart = _roles(
        comparisons, "birth_date", "compatible_levels", "typo_levels", "year_apart_levels"
    )
    nik = _roles(comparisons, "identifier", "strong_levels")
    kk = _roles(comparisons, "household", "strong_levels")

    def test(levels: np.ndarray) -> np.ndarray:
        if not names:  # no full-name comparison (other data, FEBRL): no test to make
            return np.ones(len(levels), dtype=bool)
        same_nik, same_kk = _any_at(levels, nik), _any_at(levels, kk)
        near = _any_at(levels, near_names)
        return (
            (_any_at(levels, names) & _all_at(levels, compatible))
            | _any_at(levels, dates)
            | (near & (same_nik | same_kk) & _all_at(levels, typo))
            | (near & same_nik & _all_at(levels, year_apart))
        )

    return test


def _roles(
    comparisons: Sequence[Comparison], role: str, *attributes: str
) -> list[tuple[int, list[int]]]:
    """The comparisons that play ``role`` in the person test, with the numbers of their
    levels named by any of ``attributes``."""
    return [
        (k, _level_numbers(c, [n for a in attributes for n in getattr(c, a, ())]))
        for k, c in enumerate(comparisons)
        if getattr(c, "person_evidence", None) == role
    ]


def _any_at(levels: np.ndarray, at: list[tuple[int, list[int]]]) -> np.ndarray:
    """Per pair: does any of these comparisons stand at one of its listed levels?"""
    hit = np.zeros(len(levels), dtype=bool)
    for k, numbers in at:
        hit |= np.isin(levels[:, k], numbers)
    return hit


def _all_at(levels: np.ndarray, at: list[tuple[int, list[int]]]) -> np.ndarray:
    """Per pair: does each of these comparisons stand at a listed level or miss (-1)?"""
    hit = np.ones(len(levels), dtype=bool)
    for k, numbers in at:
        hit &= np.isin(levels[:, k], [-1, *numbers])
    return hit


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
