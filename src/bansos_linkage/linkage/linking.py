"""A Linker's stages on prepared registers: candidate pairs scored, scored pairs decided
into links and the run's tables, the duplicates among the pairs of one register, given
pairs scored.

Each takes what it needs of a Linker (how it scores candidates, how it weighs pairs,
what decides its links, how it compares a chunk of pairs) and registers from
:meth:`~bansos_linkage.linkage.linker.Linker.prepare`; the Linker chains them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from bansos_linkage.linkage import preparation as prep
from bansos_linkage.linkage.blocking import Rule
from bansos_linkage.linkage.decision import Decision, decide
from bansos_linkage.linkage.duplicates import (
    cap_levels,
    person_evidence,
    recorded_dates,
    within_pairs,
)
from bansos_linkage.linkage.fellegi_sunter import logit2
from bansos_linkage.linkage.fitting import PairWeights
from bansos_linkage.linkage.outputs import (
    LinkResult,
    LinkSummary,
    link_result,
    record_ids,
    run_summary,
)
from bansos_linkage.linkage.resolve import duplicate_shift, own_prior_weight
from bansos_linkage.linkage.scoring import PairCompare, ScoredPairs, score_candidates
from bansos_linkage.progress import Progress

#: Prepares two registers for the stages (:meth:`Linker.prepare`).
Prepare = Callable[[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]


@dataclass(frozen=True)
class Scoring:
    """How a Linker scores candidate pairs: the blocking rules it uses, its comparison
    of a chunk of pairs, the chunk size and the worker processes, and the random pairs
    (count, seed) that estimate u when it fits."""

    rules: Sequence[Rule]
    compare: PairCompare
    n_comparisons: int
    chunk_size: int
    n_jobs: int | None
    random_pairs: tuple[int, int]

    def score(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        progress: Progress | None = None,
        similarities: bool = False,
        fitting: bool = False,
        within: bool = False,
    ) -> ScoredPairs:
        """The candidate pairs compared (:func:`~bansos_linkage.linkage.scoring.score_candidates`),
        with the random pairs when ``fitting``; ``within``: ``left`` and ``right`` are one
        register."""
        return score_candidates(
            left,
            right,
            self.rules,
            self.compare,
            self.n_comparisons,
            chunk_size=self.chunk_size,
            n_jobs=self.n_jobs,
            progress=progress,
            similarities=similarities,
            random_pairs=self.random_pairs if fitting else None,
            within=within,
        )


def link_scored(
    d: Decision,
    left: pd.DataFrame,
    right: pd.DataFrame,
    scored: ScoredPairs,
    keep_pairs: bool | float,
    rule_names: Sequence[str],
    fitted: tuple[dict[str, list[str]], dict[str, Any], dict[str, Any]],
) -> LinkResult:
    """The links and tables of scored pairs as ``d`` decides them (family pairs are
    appended to ``scored``). ``rule_names``: the blocking rules used; ``fitted``: what
    fitting left out, its training and the ML matcher's training (empty: none), for
    the summary."""
    model = d.weights.model
    weight, fs_weight, links, timings = decide(d, left, right, scored)
    ml = d.ml_model is not None
    run: dict[str, Any] = {"prior": model.lambda_, "threshold": d.threshold}
    run |= {"resolution": d.resolution, "ml": ml}
    decided = (weight, fs_weight, links)
    comparisons = d.weights.comparisons
    result = link_result(left, right, scored, decided, keep_pairs, comparisons, rule_names, run)
    result.summary.update(fitted_summary(d, fitted, timings, links.duplicate_shift))
    return result


def fitted_summary(
    d: Decision,
    fitted: tuple[dict[str, list[str]], dict[str, Any], dict[str, Any]],
    timings: dict[str, float],
    duplicate_shift: tuple[float, float],
) -> LinkSummary:
    """The last keys of a run's summary (:func:`~bansos_linkage.linkage.outputs.run_summary`):
    the matcher, what fitting left out and learned (``fitted`` as in :func:`link_scored`),
    the registers' own priors (``duplicate_shift`` from the model's), the seconds per
    stage."""
    left_out, training, ml_training = fitted
    fitting: dict[str, Any] = {"left_out": left_out, "training": training}
    if ml_training:
        fitting["ml_training"] = ml_training
    ml = d.ml_model is not None
    model = d.weights.model
    summary = run_summary(model, ml, d.threshold, fitting, timings, duplicate_shift)
    return cast(LinkSummary, summary)


def scored_duplicates(
    w: PairWeights,
    frame: pd.DataFrame,
    same: pd.DataFrame,
    scored: ScoredPairs,
    threshold: float,
    cap: bool,
) -> pd.DataFrame:
    """The pairs of one register (``frame`` and ``same``, prepared together) taken for
    one person at ``threshold`` (:func:`~bansos_linkage.linkage.duplicates.within_pairs`);
    ``cap``: a model fitted across registers, whose levels are capped at those it saw
    and whose prior is moved to the register's own, estimated on these pairs
    (:func:`~bansos_linkage.linkage.resolve.duplicate_shift`)."""
    levels = scored.levels
    if cap:
        levels = cap_levels(levels, w.max_level_seen)
    weight = w.weights(levels, w.bits(levels, scored.right, w.frequencies(same)))
    evidence = None
    if cap:
        recorded = recorded_dates(w.comparisons, frame, same, scored.left, scored.right)
        evidence = person_evidence(w.comparisons)(levels, recorded)
        shift = duplicate_shift(weight[evidence], len(frame), w.model.lambda_)
        weight = own_prior_weight(weight, shift)
    args = (weight, levels, logit2(threshold), w.comparisons, evidence)
    return within_pairs(record_ids(frame), (frame, same), scored.left, scored.right, *args)


def score_ids(
    w: PairWeights,
    prepare: Prepare,
    compare: PairCompare,
    registers: tuple[pd.DataFrame, pd.DataFrame],
    left_ids: Any,
    right_ids: Any,
) -> np.ndarray:
    """Match weights (term frequencies included) of the pairs of record ids of two
    registers as given (not prepared), compared directly; NaN where an id is not in
    its register."""
    left, right = registers
    prep.require_ids(left, right)
    a = prep.positions(left, pd.Series(left_ids, dtype="string"))
    b = prep.positions(right, pd.Series(right_ids, dtype="string"))
    found = (a >= 0) & (b >= 0)
    out = np.full(len(a), np.nan)
    if not found.any():
        return out
    # a name's frequency belongs to the whole register; all else is read off the
    # compared rows alone, so only those are prepared
    freqs = w.frequencies(right)
    rows_a, at_a = np.unique(a[found], return_inverse=True)
    rows_b, at_b = np.unique(b[found], return_inverse=True)
    sub_a, sub_b = prepare(left.iloc[rows_a], right.iloc[rows_b])
    levels = compare(sub_a, sub_b, at_a, at_b)
    out[found] = w.weights(levels, w.bits(levels, b[found], freqs))
    return out


__all__ = [
    "Prepare",
    "Scoring",
    "fitted_summary",
    "link_scored",
    "score_ids",
    "scored_duplicates",
]
