"""Encoding: text columns as integer codes over vocabularies shared by both registers.

Blocking and comparing both ask "are these two values equal?" millions of times.
Encoded once per run as pandas Categoricals whose categories (the vocabulary) are
shared by both registers and by the columns compared with each other (NIK and KK
number: a KK typed in the NIK field), equality is a comparison of integers, and
anything derived from a value (the digits of a NIK, the words of a name) is
derived once per distinct value instead of once per pair. Dates and numbers are
compared as they are and left alone.

Examples
--------
>>> left = pd.DataFrame({"sex": ["M", None]})
>>> right = pd.DataFrame({"sex": ["F", "M"]})
>>> left, right = encode_columns(left, right, [["sex"]])
>>> left["sex"].array.codes.tolist(), right["sex"].array.codes.tolist()
([0, -1], [1, 0])
>>> same_vocabulary(left["sex"], right["sex"])
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def encode_columns(
    left: pd.DataFrame, right: pd.DataFrame, groups: Sequence[Sequence[str]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both registers with the columns of each group as pandas Categoricals over one
    vocabulary shared by the group's text columns on both sides.

    Comparing chunk after chunk then compares integer codes, and whatever a
    comparison derives from a value (its NIK digits, a name's words) is derived
    once per distinct value. Groups that share a column are merged.
    """
    left, right = left.copy(deep=False), right.copy(deep=False)  # columns are replaced
    for group in _merged(groups):
        cols = [
            (frame, c)
            for frame in (left, right)
            for c in group
            if c in frame and _is_text(frame[c])
        ]
        if not cols:
            continue
        values = pd.concat([_plain(frame[c]) for frame, c in cols], ignore_index=True)
        codes, vocabulary = pd.factorize(values, use_na_sentinel=True)
        dtype = pd.CategoricalDtype(pd.Index(vocabulary, dtype=object))
        start = 0
        for frame, c in cols:
            part = codes[start : start + len(frame)].astype(np.int32)
            frame[c] = pd.Categorical.from_codes(part, dtype=dtype)
            start += len(frame)
    return left, right


def _is_text(column: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype)


def _plain(column: pd.Series) -> pd.Series:
    return column.astype(object) if isinstance(column.dtype, pd.CategoricalDtype) else column


def _merged(groups: Sequence[Sequence[str]]) -> list[list[str]]:
    """Groups of columns, merged where they share a column (a column has one vocabulary)."""
    merged: list[list[str]] = []
    for group in groups:
        group = list(dict.fromkeys(group))
        overlapping = [g for g in merged if set(g) & set(group)]
        for g in overlapping:
            merged.remove(g)
            group = list(dict.fromkeys([*g, *group]))
        merged.append(group)
    return merged


def same_vocabulary(a: pd.Series, b: pd.Series) -> bool:
    """Both columns are pandas Categoricals over the same vocabulary (codes comparable)."""
    if not (isinstance(a.dtype, pd.CategoricalDtype) and isinstance(b.dtype, pd.CategoricalDtype)):
        return False
    return a.dtype.categories is b.dtype.categories or a.dtype == b.dtype


__all__ = [
    "encode_columns",
    "same_vocabulary",
]
