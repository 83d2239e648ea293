"""A fitted Linker inspected: one pair's waterfall and the parameter table with what
linking observed (:mod:`~bansos_linkage.linkage.explain` builds and draws them).

The explain module is imported when a function here runs: it loads matplotlib.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bansos_linkage.linkage import preparation as prep
from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter
from bansos_linkage.linkage.fitting import PairWeights
from bansos_linkage.linkage.scoring import PairCompare


def explain_pair(
    w: PairWeights,
    compare: PairCompare,
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_id: str,
    right_id: str,
) -> pd.DataFrame:
    """The waterfall table of one pair of two prepared registers, by record id
    (:func:`~bansos_linkage.linkage.explain.waterfall`, with the term-frequency bits)."""
    from bansos_linkage.linkage.explain import level_names, waterfall

    a = prep.position(left, left_id, "left")
    b = prep.position(right, right_id, "right")
    levels = compare(left, right, a, b)
    tf = w.bits(levels, b, w.frequencies(right))
    row = pd.DataFrame(levels, columns=list(w.model.feature_names_in_))
    extra = {f"term_frequency:{label}": float(tf[0]) for label in w.term_frequency}
    return waterfall(w.model, row, level_names(w.comparisons), extra_weights=extra)


def parameter_table(
    model: FellegiSunter,
    comparisons: Sequence[Comparison],
    max_level_seen: list[int],
    u_pairs: int,
) -> pd.DataFrame:
    """m, u and match weight of every comparison level with its ``level_name`` and
    ``observed`` (:func:`~bansos_linkage.linkage.explain.observed_levels`)."""
    from bansos_linkage.linkage.explain import level_names, observed_levels

    table = model.parameters(level_names(comparisons))
    seen = observed_levels(model, max_level_seen, u_pairs)
    table["observed"] = [
        seen[str(c)][int(level)]
        for c, level in zip(table["comparison"], table["level"], strict=True)
    ]
    return table


__all__ = [
    "explain_pair",
    "parameter_table",
]
