"""The Fellegi-Sunter model fitted on scored pairs (u from random pairs, m by EM
sessions, the prior of a random pair: :mod:`bansos_linkage.linkage.training`)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.linkage import training
from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter
from bansos_linkage.linkage.frequencies import register_frequencies, tf_bits, typical_frequencies
from bansos_linkage.linkage.scoring import ScoredPairs


@dataclass
class FittedModel:
    """What fitting on scored pairs learns (the Linker's fitted attributes)."""

    model: FellegiSunter
    tf_typical: dict[str, float]  #: u(exact) of each term-frequency comparison
    max_level_seen: list[int]  #: per comparison, the strongest level a candidate had
    training: dict[str, Any]  #: random pairs for u, the EM sessions

    def attributes(self, within: bool) -> dict[str, Any]:
        """The Linker's fitted attributes (by name) that this fit sets; ``within``:
        fitted on the pairs of one register."""
        return {
            "model_": self.model,
            "tf_typical_": self.tf_typical,
            "max_level_seen_": self.max_level_seen,
            "training_": self.training,
            "within_": within,
        }


def exact_u(
    left: pd.DataFrame,
    right: pd.DataFrame,
    comparisons: Sequence[Comparison],
    within: bool = False,
) -> dict[int, float]:
    """Comparison k's chance of exact agreement among random pairs, from the value
    frequencies of its ``exact_column`` (random samples rarely see two records share a
    NIK); ``within`` one register, among pairs of two different records."""
    out = {}
    for k, comp in enumerate(comparisons):
        column = getattr(comp, "exact_column", None)
        if column is not None and column in left and column in right:
            out[k] = (
                training.exact_agreement_within(left[column])
                if within
                else training.exact_agreement(left[column], right[column])
            )
    return out


def fit_scored(
    scored: ScoredPairs,
    left: pd.DataFrame,
    right: pd.DataFrame,
    comparisons: Sequence[Comparison],
    term_frequency: Sequence[str],
    template: FellegiSunter | None,
    sessions: Sequence[training.Session],
    within: bool = False,
) -> FittedModel:
    """Fit on the candidate pairs and random pairs of ``scored`` (which gets its
    term-frequency bits and the EM time); ``template``: an unfitted matcher with the
    EM settings (None: the defaults)."""
    start = time.perf_counter()
    labels = [c.label for c in comparisons]
    level_names = [c.levels for c in comparisons]
    assert scored.random_levels is not None
    u = training.u_from_random(
        scored.random_levels,
        [len(n) for n in level_names],
        exact_u(left, right, comparisons, within),
    )
    typical = typical_frequencies(u, comparisons, term_frequency)
    freqs = register_frequencies(right, comparisons, term_frequency)
    scored.tf = tf_bits(scored.levels, scored.right, freqs, comparisons, typical)
    model, report = training.fit_model(
        scored.levels,
        u,
        labels,
        level_names,
        scored.tf,
        len(left),
        # within one register a random pair is one of n (n - 1) / 2
        # (a float: fit_model's n_right is annotated int but only divides by it)
        (len(right) - 1) / 2 if within else len(right),
        template if template is not None else FellegiSunter(),
        sessions,
    )
    scored.timings["em"] = time.perf_counter() - start
    return FittedModel(
        model=model,
        tf_typical=typical,
        max_level_seen=[int(x) for x in scored.levels.max(axis=0, initial=-1)],
        training={"u_random_pairs": int(len(scored.random_levels)), "sessions": report},
    )


def match_weights(model: FellegiSunter, levels: np.ndarray, tf: np.ndarray | None) -> np.ndarray:
    """Fellegi-Sunter match weights (log2 odds) of a levels matrix, plus the pairs'
    term-frequency bits."""
    frame = pd.DataFrame(levels, columns=list(model.feature_names_in_))
    weight = model.match_weight(frame)
    return weight + (0.0 if tf is None else np.asarray(tf, dtype=float))


@dataclass(frozen=True)
class PairWeights:
    """How a fitted model weighs pairs: its comparisons, the Fellegi-Sunter model and
    the term frequencies (what a worker needs to score a chunk)."""

    model: FellegiSunter
    comparisons: tuple[Comparison, ...]
    term_frequency: tuple[str, ...]
    tf_typical: dict[str, float]
    max_level_seen: list[int]

    def frequencies(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """The value frequencies of a register (the whole one, not a chunk of it)."""
        return register_frequencies(frame, self.comparisons, self.term_frequency)

    def bits(self, levels: np.ndarray, b: np.ndarray, freqs: dict[str, np.ndarray]) -> np.ndarray:
        """Term-frequency bits of pairs (levels, right positions ``b`` into ``freqs``)."""
        return tf_bits(levels, b, freqs, self.comparisons, self.tf_typical)

    def set_bits(self, scored: ScoredPairs, right: pd.DataFrame) -> ScoredPairs:
        """``scored`` with its term-frequency bits set (``right``: the register its right
        positions index)."""
        scored.tf = self.bits(scored.levels, scored.right, self.frequencies(right))
        return scored

    def weights(self, levels: np.ndarray, tf: np.ndarray | None) -> np.ndarray:
        """Match weights of pairs (levels and term-frequency bits)."""
        return match_weights(self.model, levels, tf)


__all__ = [
    "FittedModel",
    "PairWeights",
    "exact_u",
    "fit_scored",
    "match_weights",
]
