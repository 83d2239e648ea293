"""Scored pairs decided into links: the deciding weights (reviewed pairs final, the ML
matcher where it decides), the family pairs the links bring in, and one-to-one
resolution with duplicates (:mod:`~bansos_linkage.linkage.resolve`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.linkage.comparisons import RegionComparison
from bansos_linkage.linkage.duplicates import cap_levels, person_evidence, recorded_dates
from bansos_linkage.linkage.fellegi_sunter import logit2
from bansos_linkage.linkage.fitting import PairWeights
from bansos_linkage.linkage.ml_matcher import MLMatcher
from bansos_linkage.linkage.resolve import (
    Links,
    duplicate_evidence,
    duplicate_shift,
    family_prior_weight,
    member_links,
    member_pool,
    orphan_pairs,
    own_prior_weight,
    resolve_links,
    sole_candidates,
    sole_floor,
)
from bansos_linkage.linkage.scoring import (
    FAMILY,
    PairCompare,
    ScoredPairs,
    append_pairs,
    compare_in_chunks,
    new_family_pairs,
    pairable_families,
)
from bansos_linkage.linkage.supervised import in_band, ml_weights, reviewed_weights, train


@dataclass(frozen=True)
class Decision:
    """What decides the links of scored pairs (a fitted Linker's settings and state)."""

    weights: PairWeights
    compare: PairCompare  #: compares pairs the blocking did not score (family, duplicates)
    threshold: float  #: match probability a link needs
    resolution: str  #: a :data:`~bansos_linkage.linkage.resolve.MODES` mode
    duplicate_threshold: float
    chunk_size: int
    family_rule: int  #: the rule number of family pairs (one past the blocking rules)
    ml_model: MLMatcher | None = None
    ml_threshold: float = 0.5
    ml_band: Sequence[float] | None = None  #: Fellegi-Sunter weights where the ML decides
    reviewed: pd.DataFrame | None = None  #: reviewed pairs: left_id, right_id, is_match
    #: Bits from the prior of a pair across the registers to each register's own (left,
    #: right; :func:`~bansos_linkage.linkage.resolve.duplicate_shift`) for the duplicate
    #: test; None: :func:`decide` estimates them from the pairs it tests.
    duplicate_shift: tuple[float, float] | None = None
    #: Link two records that are each other's only candidate when their link, not the
    #: pair alone, reaches the threshold
    #: (:func:`~bansos_linkage.linkage.resolve.sole_candidates`; where the
    #: Fellegi-Sunter model decides, :func:`fs_decides`).
    sole_candidates: bool = True
    #: Link the unlinked members of two families that a link joins on their family's
    #: prior (:func:`link_members`).
    family_members: bool = True
    #: The registers' record counts (left, right) for the share of records without a
    #: counterpart; None: those of the frames decided (an engine deciding a part of the
    #: registers at a time gives the whole's).
    sizes: tuple[int, int] | None = None


def decision_weights(
    d: Decision, left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs
) -> tuple[np.ndarray, np.ndarray]:
    """The weights that decide (the ML matcher's where it decides, reviewed pairs
    final) and the Fellegi-Sunter weights."""
    fs_weight = d.weights.weights(scored.levels, scored.tf)
    weight = model_weights(d, scored, fs_weight)
    return reviewed_weights(left, right, scored, weight, d.reviewed), fs_weight


def model_weights(d: Decision, scored: ScoredPairs, fs_weight: np.ndarray) -> np.ndarray:
    """The weights the models give (before reviewed pairs): the ML matcher's where it
    decides (``scored`` then carries similarities), else the Fellegi-Sunter ones."""
    if d.ml_model is None:
        return fs_weight
    labels = [c.label for c in d.weights.comparisons]
    # shift the ML odds so that its threshold falls where the Fellegi-Sunter one does
    shift = logit2(d.threshold) - logit2(d.ml_threshold)
    return ml_weights(d.ml_model, scored, fs_weight, labels, d.ml_band, shift, d.chunk_size)


def duplicate_test(
    d: Decision, frame: pd.DataFrame, shift: float = 0.0, tested: list[np.ndarray] | None = None
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Two records of one register are the same person when the model scores them as a
    match (the same model, term frequencies of that register, ``shift`` bits added to
    move its prior to the register's own) on evidence about the person
    (:mod:`~bansos_linkage.linkage.duplicates`). Per pair its weight where it is a
    duplicate, NaN where not (:func:`~bansos_linkage.linkage.resolve.resolve_links`);
    ``tested`` collects the unshifted weights of the pairs with person evidence."""
    freqs = d.weights.frequencies(frame)
    person = person_evidence(d.weights.comparisons)
    weight_threshold = logit2(d.duplicate_threshold)

    def test(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        levels = cap_levels(d.compare(frame, frame, a, b), d.weights.max_level_seen)
        weight = d.weights.weights(levels, d.weights.bits(levels, b, freqs))
        evidence = person(levels, recorded_dates(d.weights.comparisons, frame, frame, a, b))
        if tested is not None:
            tested.append(weight[evidence])
        own = own_prior_weight(weight, shift)
        return np.where((own >= weight_threshold) & evidence, own, np.nan)

    return test


def resolve(
    d: Decision,
    left: pd.DataFrame,
    right: pd.DataFrame,
    scored: ScoredPairs,
    weight: np.ndarray,
    shift: tuple[float, float] = (0.0, 0.0),
    tested: tuple[list[np.ndarray], list[np.ndarray]] | None = None,
) -> Links:
    """The links among the scored pairs by ``weight``, and the duplicates (``shift``:
    bits added to within-register weights per side; ``tested``: collects per side the
    weights of the pairs the duplicate test saw with person evidence)."""
    sinks = tested if tested is not None else (None, None)
    links = resolve_links(
        scored.left,
        scored.right,
        weight,
        logit2(d.threshold),
        len(left),
        len(right),
        mode=d.resolution,
        left_is_duplicate=duplicate_test(d, left, shift[0], sinks[0]),
        right_is_duplicate=duplicate_test(d, right, shift[1], sinks[1]),
    )
    links.duplicate_shift = shift
    if d.ml_model is None:  # the links' weights are the model's, across the registers
        kept = np.flatnonzero(links.keep)
        links.left_duplicate_weight = duplicate_evidence(
            scored.left[kept], weight[kept], links.left_duplicate_weight, shift[0]
        )
        links.right_duplicate_weight = duplicate_evidence(
            scored.right[kept], weight[kept], links.right_duplicate_weight, shift[1]
        )
    return links


def tested_duplicates(
    d: Decision, left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs, weight: np.ndarray
) -> tuple[Links, tuple[np.ndarray, np.ndarray]]:
    """The links on the prior across the registers, and per side the weights of the
    pairs its duplicate test saw with person evidence (for :func:`duplicate_shifts`)."""
    tested: tuple[list[np.ndarray], list[np.ndarray]] = ([], [])
    links = resolve(d, left, right, scored, weight, tested=tested)
    empty = np.zeros(0)
    return links, (np.concatenate([empty, *tested[0]]), np.concatenate([empty, *tested[1]]))


def duplicate_shifts(
    d: Decision, tested: tuple[np.ndarray, np.ndarray], sizes: tuple[int, int]
) -> tuple[float, float]:
    """Per register, the bits from the prior across the registers to its own, from the
    pairs tested (:func:`tested_duplicates`) and the registers' ``sizes``."""
    prior = d.weights.model.lambda_
    return (
        duplicate_shift(tested[0], sizes[0], prior),
        duplicate_shift(tested[1], sizes[1], prior),
    )


def add_family_pairs(
    d: Decision, left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs, keep: np.ndarray
) -> int:
    """Compare the members of families that share a link (``keep``: the links among the
    scored pairs) and were not paired yet; their pairs join ``scored`` under the rule
    ``family``. The model's parameters do not change: a pair scores the same whichever
    rule brought it in."""
    if FAMILY not in left or FAMILY not in right or not len(keep):
        return 0
    start = time.perf_counter()
    li, ri = new_family_pairs(left, right, scored, keep)
    if len(li):
        sims = scored.similarities is not None
        levels, similarities = compare_in_chunks(d.compare, left, right, li, ri, d.chunk_size, sims)
        tf = d.weights.bits(levels, ri, d.weights.frequencies(right))
        append_pairs(scored, li, ri, d.family_rule, levels, similarities, tf)
    scored.family_pairs += len(li)
    scored.timings["family"] = scored.timings.get("family", 0.0) + time.perf_counter() - start
    return len(li)


def decide(
    d: Decision, left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs
) -> tuple[np.ndarray, np.ndarray, Links, dict[str, float]]:
    """The deciding and Fellegi-Sunter weights of the scored pairs (family pairs added),
    the links and duplicates, and the time each step took (with ``scored.timings``).

    The links on the prior across the registers bring in the family pairs and the
    pairs that estimate each register's own prior (unless ``d`` gives it); the links
    are then resolved again with the family pairs, duplicates on the register's prior.
    """
    start = time.perf_counter()
    weight, fs_weight = decision_weights(d, left, right, scored)
    provisional, tested = tested_duplicates(d, left, right, scored, weight)
    if add_family_pairs(d, left, right, scored, provisional.keep):
        weight, fs_weight = decision_weights(d, left, right, scored)
    shift = d.duplicate_shift
    if shift is None:
        shift = duplicate_shifts(d, tested, (len(left), len(right)))
    timings = {**scored.timings, "score": time.perf_counter() - start}
    start = time.perf_counter()
    resolved = resolve(d, left, right, scored, weight, shift)
    families = pairable_families(left, right)
    weight = link_members(d, families, scored, (weight, fs_weight), resolved)
    floor = sole_floor_of(d, (len(left), len(right)))
    if floor is not None:
        eligible = sole_eligible(d, families, scored, resolved.keep, fs_weight)
        args = (resolved.keep, floor, logit2(d.threshold), eligible)
        resolved.keep |= sole_candidates(scored.left, scored.right, weight, *args)
    timings["resolve"] = time.perf_counter() - start
    return weight, fs_weight, resolved, timings


def link_members(
    d: Decision,
    families: tuple[np.ndarray, np.ndarray] | None,
    scored: ScoredPairs,
    weights: tuple[np.ndarray, np.ndarray],
    links: Links,
) -> np.ndarray:
    """Link the unlinked members of two families that a link joins on their family's
    prior (:func:`~bansos_linkage.linkage.resolve.member_links`; ``links`` gets them) and
    return the deciding weights with those links' weights on that prior. Only pairs the
    Fellegi-Sunter weights decide (:func:`fs_decides`; not reviewed as no match) are
    weighed so: their weight less the registers' prior and the region comparisons'
    bits, plus the family's prior. ``families``: each record's, as
    :func:`~bansos_linkage.linkage.scoring.pairable_families` gives them; ``weights``:
    the deciding and the Fellegi-Sunter weights."""
    weight, fs_weight = weights
    if not d.family_members or d.resolution == "many_to_one" or families is None:
        return weight
    pool = member_pool(families, scored.left, scored.right, links.keep) & np.isfinite(weight)
    eligible = fs_decides(d, fs_weight)
    if eligible is not None:
        pool &= eligible
    if not pool.any():
        return weight
    rows = np.flatnonzero(pool)
    on_family = weight[rows] - family_evidence_shift(d, scored.levels[rows])
    on_family += family_prior_weight(families, scored.left[rows], scored.right[rows])
    member = np.zeros(len(weight), dtype=float)
    member[rows] = on_family
    linked = member_links(scored.left, scored.right, member, pool, logit2(d.threshold))
    if not linked.any():
        return weight
    links.keep |= linked
    links.family_members = int(linked.sum())
    weight = np.array(weight, dtype=float)
    weight[linked] = member[linked]
    return weight


def family_evidence_shift(d: Decision, levels: np.ndarray) -> np.ndarray:
    """Per pair, the bits of its weight that say "one household" rather than "one
    person": the registers' prior and the region comparisons' bits (the household, the
    KK), which a pair of two joined families' members owes to its family."""
    model = d.weights.model
    shift = np.full(len(levels), model.prior_weight())
    for k, comparison in enumerate(d.weights.comparisons):
        if isinstance(comparison, RegionComparison):
            shift += model.comparison_weight(levels, k)
    return shift


def sole_floor_of(d: Decision, sizes: tuple[int, int]) -> float | None:
    """The weight from which two records that are each other's only candidate link
    (:func:`~bansos_linkage.linkage.resolve.sole_floor`; ``sizes``: the frames decided,
    unless ``d`` gives the registers'); None when the decision links no such pairs."""
    if not d.sole_candidates or d.resolution == "many_to_one":
        return None
    floor = sole_floor(logit2(d.threshold), d.weights.model.lambda_, d.sizes or sizes)
    return min(floor, logit2(d.threshold))


def sole_eligible(
    d: Decision,
    families: tuple[np.ndarray, np.ndarray] | None,
    scored: ScoredPairs,
    keep: np.ndarray,
    fs_weight: np.ndarray,
) -> np.ndarray | None:
    """Which pairs may link as sole candidates (None: all): those the Fellegi-Sunter
    weights decide (:func:`fs_decides`), but no pair of two families that none of the
    links ``keep`` reaches (:func:`~bansos_linkage.linkage.resolve.orphan_pairs`;
    ``families`` as :func:`link_members` takes them)."""
    eligible = fs_decides(d, fs_weight)
    if families is None:
        return eligible
    fresh = ~orphan_pairs(families, scored.left, scored.right, keep)
    return fresh if eligible is None else eligible & fresh


def fs_decides(d: Decision, fs_weight: np.ndarray) -> np.ndarray | None:
    """Which pairs the Fellegi-Sunter weights decide (None: all): outside the band
    of weights where the ML matcher decides. Only those may be sole candidates: the
    ML matcher's probabilities are those of candidate pairs already, not of a pair of
    all the registers', so the odds of "neither has a counterpart" do not apply."""
    if d.ml_model is None:
        return None
    return ~in_band(fs_weight, d.ml_band)


def lowest_link_weight(d: Decision, sizes: tuple[int, int]) -> float:
    """The lowest weight a pair may be linked at (the threshold's, or the floor of
    pairs that are each other's only candidate): an engine keeps every pair from there
    together when it resolves a part of the registers at a time."""
    floor = sole_floor_of(d, sizes)
    return logit2(d.threshold) if floor is None else floor


def fs_links(
    d: Decision, left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs
) -> np.ndarray:
    """Which scored pairs the Fellegi-Sunter model alone links (family pairs added),
    to judge it against the ML matcher."""
    return decide(replace(d, ml_model=None, reviewed=None), left, right, scored)[2].keep


def train_ml(
    d: Decision,
    template: MLMatcher | None,
    left: pd.DataFrame,
    right: pd.DataFrame,
    labels: pd.DataFrame,
    scored: ScoredPairs,
) -> tuple[MLMatcher | None, pd.DataFrame, dict[str, Any]]:
    """Train the ML matcher (``template``, None: the defaults) on reviewed pairs, judged
    against the links the Fellegi-Sunter model alone makes of ``scored``
    (:func:`~bansos_linkage.linkage.supervised.train`): the matcher (None when it does
    not decide), the reviewed decisions to keep and what the training was."""
    # the unsupervised model is judged by the links it makes
    fs_keep = fs_links(d, left, right, scored)
    return train(
        template if template is not None else MLMatcher(),
        d.weights,
        d.compare,
        left,
        right,
        labels,
        (scored, fs_keep),
        (d.threshold, d.ml_threshold),
    )


__all__ = [
    "Decision",
    "add_family_pairs",
    "decide",
    "decision_weights",
    "duplicate_shifts",
    "duplicate_test",
    "fs_decides",
    "fs_links",
    "lowest_link_weight",
    "model_weights",
    "resolve",
    "sole_eligible",
    "sole_floor_of",
    "tested_duplicates",
    "train_ml",
]
