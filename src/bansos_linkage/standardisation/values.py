"""Raw cell values as the field standardisers see them: each distinct value once.

Registers repeat values (village codes, dates, common names) many times, so the
standardisers parse each distinct raw value once and spread the results back.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def factorize_values(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Row codes (-1 for null) and the distinct raw values, for values of any type.

    Examples
    --------
    >>> codes, uniques = factorize_values(pd.Series(["a", None, "a", 3]))
    >>> codes.tolist(), uniques.tolist()
    ([0, -1, 0, 1], ['a', 3])
    """
    try:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    except TypeError:  # unhashable objects: compare them by their text
        codes, uniques = pd.factorize(series.map(str, na_action="ignore"), use_na_sentinel=True)
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)


__all__ = [
    "factorize_values",
]
