"""Two records of one register taken for one person.

A pair is a duplicate when the model scores it as a match *and* there is evidence
about the person itself (names that agree with birth dates that do not contradict,
or equal birth dates): registers put a relative's NIK on a member's row, so a
shared NIK or KK alone never makes a duplicate, nor does a birth date decoded from
the NIK both records carry, unless they share a family card and a role on it. With
agreeing names, a shared NIK or KK does let the dates differ by a typo (see
:func:`person_evidence`). Which comparisons give that evidence, each comparison says
(``person_evidence``, ``strong_levels``, ``near_levels``, ``compatible_levels``,
``typo_levels``, ``year_apart_levels``, ``recorded_only``; see
:func:`~bansos_linkage.linkage.comparisons.register_comparison`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
import pandas as pd

from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import probability


def _level_numbers(comp: Comparison, names: Sequence[str]) -> list[int]:
    """The numbers of the named levels a comparison has (level 0 is its weakest)."""
    levels = comp.levels
    return [len(levels) - 1 - levels.index(n) for n in names if n in levels]


class PersonTest(Protocol):
    """Per pair (a levels matrix and, optionally, the levels of the dates compared as
    recorded, :func:`recorded_dates`): is there evidence about the person itself?"""

    def __call__(self, levels: np.ndarray, recorded: np.ndarray | None = None) -> np.ndarray: ...


def person_evidence(comparisons: Sequence[Comparison]) -> PersonTest:
    """Per pair (a levels matrix): is there evidence about the person itself?

    - names that agree with birth dates that do not differ (missing, equal, swapped,
      year-only), or equal birth dates; given the dates as recorded (``recorded``,
      from :func:`recorded_dates`), a date equal only through the NIK both records
      carry counts only where they share a family card and their role on it (as far
      as the registers tell): registers type the head's NIK on a son's row without
      his own date, and one NIK is issued to two people; the NIK's date then agrees
      with either, whoever they are;
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
    role = _roles(comparisons, "role", "strong_levels")

    def test(levels: np.ndarray, recorded: np.ndarray | None = None) -> np.ndarray:
        if not names:  # no full-name comparison (other data, FEBRL): no test to make
            return np.ones(len(levels), dtype=bool)
        same_nik, same_kk = _any_at(levels, nik), _any_at(levels, kk)
        near = _any_at(levels, near_names)
        same_day = _any_at(levels, dates)
        if recorded is not None:
            own_day = _any_at(recorded, dates)
            # one family card, one role on it (as far as the registers tell)
            one_role = _all_at(levels, role) & _all_at(levels, kk)
            same_day = own_day | (same_day & (~same_nik | one_role))
        return (
            (_any_at(levels, names) & _all_at(levels, compatible))
            | same_day
            | (near & (same_nik | same_kk) & _all_at(levels, typo))
            | (near & same_nik & _all_at(levels, year_apart))
        )

    return test


def recorded_dates(
    comparisons: Sequence[Comparison],
    left: pd.DataFrame,
    right: pd.DataFrame,
    a: np.ndarray,
    b: np.ndarray,
) -> np.ndarray:
    """The levels of pairs (``a``, ``b``) for the person test's ``recorded``: the birth-date
    comparisons that offer it (``recorded_only``) on the recorded dates alone, -1 in the
    other columns."""
    out = np.full((len(a), len(comparisons)), -1, dtype=np.int8)
    for k, comp in enumerate(comparisons):
        recorded_only = getattr(comp, "recorded_only", None)
        if getattr(comp, "person_evidence", None) == "birth_date" and recorded_only is not None:
            out[:, k] = recorded_only().compare(left, right, a, b).levels
    return out


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
    frames: tuple[pd.DataFrame, pd.DataFrame],
    a: np.ndarray,
    b: np.ndarray,
    weight: np.ndarray,
    levels: np.ndarray,
    weight_threshold: float,
    comparisons: Sequence[Comparison],
    evidence: np.ndarray | None = None,
) -> pd.DataFrame:
    """The pairs (a, b) of one register (record ``ids``; ``frames``: the register
    prepared as both sides of its pairs) that are duplicates: weight at or above
    ``weight_threshold`` (log2 odds) with evidence about the person (``evidence``:
    per pair, when the caller has it already)."""
    keep = np.flatnonzero(weight >= weight_threshold)
    if evidence is None:
        recorded = recorded_dates(comparisons, *frames, a[keep], b[keep])
        keep = keep[person_evidence(comparisons)(levels[keep], recorded)]
    else:
        keep = keep[evidence[keep]]
    return pd.DataFrame(
        {
            "record_id_a": ids[a[keep]],
            "record_id_b": ids[b[keep]],
            "match_weight": weight[keep],
            "match_probability": probability(weight[keep]),
        }
    )


__all__ = [
    "PersonTest",
    "cap_levels",
    "person_evidence",
    "recorded_dates",
    "within_pairs",
]
