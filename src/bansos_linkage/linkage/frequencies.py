"""Term frequencies: agreeing on a rare name counts for more than agreeing on SITI.

The exact level of a term-frequency comparison gets ``log2(u_exact / frequency of
this value)`` bits on top of its weight, clipped to +-``TF_CLIP``, with ``u_exact``
(the *typical* frequency) from random pairs, consistent with the model's u. A
value's frequency belongs to the whole register it comes from; the bits of a chunk
of pairs are then read off those frequencies at the chunk's right positions. For
two records of one province, the value's frequency among the province's other
records replaces the register's (:func:`regional_frequencies`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bansos_linkage.linkage.comparisons import Comparison, RegionComparison
from bansos_linkage.linkage.fellegi_sunter import frequency_bits

#: Largest adjustment, in bits, either way.
TF_CLIP = 5.0
#: The region within which a value's own frequency is its u for pairs of that region.
REGION_COLUMN = "province_code"


def regional_label(label: str) -> str:
    """The key of a comparison's frequencies within the region (see
    :func:`register_frequencies`)."""
    return f"{label}@region"


def value_frequencies(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Relative frequency of each record's value in ``frame`` (NaN where missing).

    >>> value_frequencies(pd.DataFrame({"name": ["ADE", "SRI", "ADE", None]}), "name").tolist()
    [0.6666666666666666, 0.3333333333333333, 0.6666666666666666, nan]
    """
    codes = _codes(frame[column])
    present = codes >= 0
    counts = np.bincount(codes[present])
    freq = np.full(len(codes), np.nan)
    freq[present] = counts[codes[present]] / max(int(present.sum()), 1)
    return freq


def _codes(values: pd.Series) -> np.ndarray:
    """Each record's value as a code (-1: missing); encoded columns keep their codes."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return np.asarray(values.array.codes, dtype=np.int64)
    return pd.factorize(values.astype("string"), use_na_sentinel=True)[0].astype(np.int64)


def same_region_from(comparison: RegionComparison) -> int:
    """The lowest level (codes count up from the weakest) at which the region
    ``comparison`` finds two records in one :data:`REGION_COLUMN` (its ``province``
    level, or any level above it)."""
    return tuple(reversed(comparison.levels)).index("province")


def leave_one_out(count: np.ndarray, total: np.ndarray) -> np.ndarray:
    """The share of the *other* records of a region holding a record's value, from the
    record's value's ``count`` in its region and the region's ``total`` of records with
    a value (itself included in both); NaN where either is unknown.

    >>> leave_one_out(np.array([3.0, 1.0, np.nan]), np.array([11.0, 11.0, 5.0])).tolist()
    [0.2, 0.0, nan]
    """
    return (np.asarray(count, dtype=float) - 1) / np.maximum(np.asarray(total, dtype=float) - 1, 1)


def regional_frequencies(frame: pd.DataFrame, column: str, region: str) -> np.ndarray:
    """Per record, the share of the other records of its region (``region``) that hold
    its value (:func:`leave_one_out`); NaN without a value or a region.

    Names are regional (Minang, Batak, Sundanese, Balinese, Bugis traditions): two
    people of one province agree on a name by chance more often than the register's
    frequency says (a median 8 times as often in the names of the false links of the
    tuning mixes at 100,000 households). A record's own value is left out: it says
    nothing of how often *another* record holds it, and with it a name unique in its
    province would count as 1 in the province's records.

    >>> frame = pd.DataFrame({"name": ["ADE", "ADE", "ADE", "SRI", "ADE"],
    ...                       "province_code": ["32", "32", "32", "32", "51"]})
    >>> regional_frequencies(frame, "name", "province_code").round(3).tolist()
    [0.667, 0.667, 0.667, 0.0, 0.0]
    """
    values, regions = _codes(frame[column]), _codes(frame[region])
    present = (values >= 0) & (regions >= 0)
    key = regions[present] * (int(values.max(initial=0)) + 1) + values[present]
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    totals = np.bincount(regions[present])
    freq = np.full(len(frame), np.nan)
    freq[present] = leave_one_out(counts[inverse], totals[regions[present]])
    return freq


def register_frequencies(
    frame: pd.DataFrame, comparisons: Sequence[Comparison], term_frequency: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per term-frequency comparison (by label), each record's value frequency; none
    for a column the register lacks (its pairs are missing there: no exact level); and
    (by :func:`regional_label`) its frequency within the record's region
    (:func:`regional_frequencies`) when the register has :data:`REGION_COLUMN`."""
    out = {}
    for c in comparisons:
        column = getattr(c, "column", None)
        if c.label not in term_frequency or not isinstance(column, str) or column not in frame:
            continue
        out[c.label] = value_frequencies(frame, column)
        if REGION_COLUMN in frame:
            out[regional_label(c.label)] = regional_frequencies(frame, column, REGION_COLUMN)
    return out


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
    regions = [
        (k, same_region_from(c))
        for k, c in enumerate(comparisons)
        if isinstance(c, RegionComparison)
    ]
    for k, comp in enumerate(comparisons):
        u_exact = typical.get(comp.label)
        if comp.label not in freqs or u_exact is None:
            continue
        exact = levels[:, k] == len(comp.levels) - 1
        freq = freqs[comp.label][b[exact]]
        local = freqs.get(regional_label(comp.label))
        if local is not None and regions:
            region, same_region = regions[0]
            same = levels[exact, region] >= same_region
            freq = np.where(same & np.isfinite(local[b[exact]]), local[b[exact]], freq)
        bits = frequency_bits(freq, u_exact, clip=TF_CLIP)
        tf[exact] += bits.astype(np.float32)
    return tf


__all__ = [
    "REGION_COLUMN",
    "TF_CLIP",
    "leave_one_out",
    "register_frequencies",
    "regional_frequencies",
    "regional_label",
    "same_region_from",
    "tf_bits",
    "typical_frequencies",
    "value_frequencies",
]
