"""Term frequencies: agreeing on a rare name counts for more than agreeing on SITI.

The exact level of a term-frequency comparison gets ``log2(u_exact / frequency of
this value)`` bits on top of its weight, clipped to +-``TF_CLIP``, with ``u_exact``
(the *typical* frequency) from random pairs, consistent with the model's u. A
value's frequency belongs to the whole register it comes from; the bits of a chunk
of pairs are then read off those frequencies at the chunk's right positions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import frequency_bits

#: Largest adjustment, in bits, either way.
TF_CLIP = 5.0


def value_frequencies(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Relative frequency of each record's value in ``frame`` (NaN where missing)."""
    values = frame[column]
    if isinstance(values.dtype, pd.CategoricalDtype):  # encoded: count the codes
        codes = values.array.codes
        present = codes >= 0
        counts = np.bincount(codes[present], minlength=len(values.dtype.categories))
        freq = np.full(len(codes), np.nan)
        freq[present] = counts[codes[present]] / max(int(present.sum()), 1)
        return freq
    values = values.astype("string")
    shares = values.value_counts(normalize=True, dropna=True)
    return values.map(shares).to_numpy(dtype=float, na_value=np.nan)


def register_frequencies(
    frame: pd.DataFrame, comparisons: Sequence[Comparison], term_frequency: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per term-frequency comparison (by label), each record's value frequency; none
    for a column the register lacks (its pairs are missing there: no exact level)."""
    return {
        c.label: value_frequencies(frame, c.column)  # type: ignore[union-attr]
        for c in comparisons
        if c.label in term_frequency and getattr(c, "column", None) in frame
    }


def typical_frequencies(
    u: Sequence[np.ndarray], comparisons: Sequence[Comparison], term_frequency: Sequence[str]
) -> dict[str, float]:
    """u(exact) of each term-frequency comparison: the frequency the bits are relative to
    (term frequencies replace u(exact) by the value's own frequency, as Splink does)."""
    return {
        c.label: float(u[k][-1]) for k, c in enumerate(comparisons) if c.label in term_frequency
    }


def tf_bits(
    levels: np.ndarray,
    b: np.ndarray,
    freqs: Mapping[str, np.ndarray],
    comparisons: Sequence[Comparison],
    typical: Mapping[str, float],
) -> np.ndarray:
    """Term-frequency bits of each pair (``levels`` rows, right positions ``b``): the
    exact levels' adjustments, from the right record's value."""
    tf = np.zeros(len(b), dtype=np.float32)
    for k, comp in enumerate(comparisons):
        u_exact = typical.get(comp.label)
        if comp.label not in freqs or u_exact is None:
            continue
        exact = levels[:, k] == len(comp.levels) - 1
        bits = frequency_bits(freqs[comp.label][b[exact]], u_exact, clip=TF_CLIP)
        tf[exact] += bits.astype(np.float32)
    return tf


__all__ = [
    "TF_CLIP",
    "register_frequencies",
    "tf_bits",
    "typical_frequencies",
    "value_frequencies",
]
