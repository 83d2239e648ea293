"""What a run produces: the links, the unlinked records of each side, the scored pairs
and a summary, with every input record in exactly one of links / unlinked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import numpy as np
import pandas as pd

from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.fellegi_sunter import (
    FellegiSunter,
    expected_errors,
    logit2,
    probability,
)
from bansos_linkage.linkage.resolve import (
    SCORE_DECIMALS,
    FamilyLinks,
    Links,
    age_groups,
    below_threshold,
    link_probabilities,
    sole_link_probabilities,
)
from bansos_linkage.linkage.scoring import FAMILY_RULE, ScoredPairs, pairable_families


class LinkSummary(TypedDict):
    """The keys of :attr:`LinkResult.summary` (a plain dict, written to JSON as is)."""

    n_left: int
    n_right: int
    candidate_pairs: int
    family_pairs: int  #: pairs added by family context (rule ``family``)
    links: int
    linked_left: int
    linked_right: int
    unlinked_left: int
    unlinked_right: int
    duplicates_left: int  #: records linked as a duplicate of another of their register
    duplicates_right: int
    #: links below the threshold as pairs: two records each other's only candidate,
    #: their link at the threshold (:func:`~bansos_linkage.linkage.resolve.sole_candidates`)
    sole_candidates: int
    #: links of members of two families another link joins, on the family's prior
    #: (:func:`~bansos_linkage.linkage.resolve.member_links`)
    family_members: int
    threshold: float
    resolution: str
    expected_false_links: float
    estimated_fdr: float
    estimated_fnr: float
    matcher: str  #: ``fellegi_sunter`` or ``ml``: which model decided the links
    left_out: dict[str, list[str]]  #: comparisons and blocking rules left out at fit
    training: dict[str, Any]  #: random pairs for u, the EM sessions
    ml_training: NotRequired[dict[str, Any]]  #: only when the ML matcher was trained
    em: dict[str, Any]  #: iterations, converged, log_likelihood, lambda
    #: Per register (``left``, ``right``): the prior that two of its records are one
    #: person, which its duplicates are decided and estimated on
    duplicate_prior: dict[str, float]
    seconds: dict[str, Any]  #: time per stage (a run adds the linker's as ``link_stages``)
    # added by the runs of :mod:`bansos_linkage.runs.link`
    input_left: NotRequired[int]
    input_right: NotRequired[int]
    rejected_left: NotRequired[int]
    rejected_right: NotRequired[int]
    households: NotRequired[dict[str, int]]
    linked_to_already_linked: NotRequired[int]
    existing_run: NotRequired[str]
    engine: NotRequired[str]  #: ``local``, or the engine that fitted and linked (``dask``)


@dataclass
class LinkResult:
    """Everything a run produces; every input record is in exactly one output.

    ``links``: ``left_id, right_id, match_probability, match_weight``, the level
    name of each comparison, ``duplicate_of`` (for a record linked as a duplicate
    of another record of its register). ``unlinked_left`` / ``unlinked_right``:
    the record id and its best candidate with its score, if any. ``summary``: the
    counts and estimates of the run (:class:`LinkSummary`).
    """

    links: pd.DataFrame
    unlinked_left: pd.DataFrame
    unlinked_right: pd.DataFrame
    summary: LinkSummary
    pairs: pd.DataFrame | None = None


def record_ids(frame: pd.DataFrame) -> np.ndarray:
    """The record ids of a register as an object array of strings."""
    return frame["record_id"].astype("string").to_numpy(dtype=object)


def level_names(levels: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Level numbers as names (``names`` strongest first; -1 is ``missing``)."""
    by_number = np.array(list(reversed(names)) + ["missing"], dtype=object)
    return by_number[np.where(levels < 0, len(names), levels)]


def links_table(
    left_ids: np.ndarray,
    right_ids: np.ndarray,
    scored: ScoredPairs,
    weight: np.ndarray,
    resolved: Links,
    comparisons: Sequence[Comparison],
    fs_weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """The links ``resolved.keep`` marks, sorted by ids; ``fs_weight`` (when the ML
    matcher decides) is the Fellegi-Sunter weight, reported next to ``weight``."""
    keep = resolved.keep
    links = pd.DataFrame(
        {
            "left_id": left_ids[scored.left[keep]],
            "right_id": right_ids[scored.right[keep]],
            "match_probability": probability(weight)[keep],
            "match_weight": weight[keep],
        }
    )
    if fs_weight is not None:
        links["fs_match_weight"] = fs_weight[keep]
    for k, comp in enumerate(comparisons):
        links[comp.label] = level_names(scored.levels[keep, k], comp.levels)
    dup_left = resolved.left_duplicate_of[scored.left[keep]]
    dup_right = resolved.right_duplicate_of[scored.right[keep]]
    links["duplicate_of"] = np.where(
        dup_left >= 0,
        left_ids[np.maximum(dup_left, 0)],
        np.where(dup_right >= 0, right_ids[np.maximum(dup_right, 0)], None),
    )
    return links.sort_values(["left_id", "right_id"], kind="stable").reset_index(drop=True)


def unlinked_table(
    own: np.ndarray,
    other: np.ndarray,
    weight: np.ndarray,
    keep: np.ndarray,
    own_ids: np.ndarray,
    other_ids: np.ndarray,
) -> pd.DataFrame:
    """Records without a link, with their best candidate (if any) and its score."""
    linked = np.zeros(len(own_ids), dtype=bool)
    linked[own[keep]] = True
    best = best_candidates(own, other, weight, len(own_ids))
    return unlinked_rows(np.flatnonzero(~linked), *best, own_ids, other_ids)


def best_candidates(
    own: np.ndarray, other: np.ndarray, weight: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each of ``n`` records' best candidate among the pairs (``own``, ``other``): its
    weight and position (floats, NaN without a pair), the highest weight, ties to the
    lowest position. Best candidates of parts of the pairs combine by this again.

    Weights tie as resolution compares them (to :data:`SCORE_DECIMALS`): levels that
    share one m/u ratio give equal weights up to the last bits of a float, which an
    engine summing in another order would break otherwise."""
    weight = np.asarray(weight, dtype=float)
    key = np.round(weight, SCORE_DECIMALS)
    # ufunc.at in one pass: a lexsort of millions of pairs takes seconds
    best = np.full(n, -np.inf)
    np.fmax.at(best, own, key)
    top = np.flatnonzero(key == best[own])
    lowest = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(lowest, own[top], other[top].astype(np.int64))
    chosen = top[other[top] == lowest[own[top]]]
    out = np.full(n, np.nan)
    out[own[chosen]] = weight[chosen]
    has_pair = lowest < np.iinfo(np.int64).max
    return out, np.where(has_pair, lowest, np.nan)


def unlinked_rows(
    ids: np.ndarray,
    w_of: np.ndarray,
    partner_of: np.ndarray,
    own_ids: np.ndarray,
    other_ids: np.ndarray,
) -> pd.DataFrame:
    """The unlinked table of the records at positions ``ids``, from every record's best
    candidate (:func:`best_candidates`)."""
    w, partner = w_of[ids], partner_of[ids]
    has = ~np.isnan(partner)
    return pd.DataFrame(
        {
            "record_id": own_ids[ids],
            "best_candidate_id": np.where(  # type: ignore[call-overload]  # None: stubs lack it
                has, other_ids[np.where(has, partner, 0).astype(np.int64)], None
            ),
            "best_match_probability": probability(w),
            "best_match_weight": w,
        }
    )


def estimated_fnr(linked_probability: np.ndarray, unlinked: pd.DataFrame) -> float:
    """Expected missed links (best candidate of each unlinked record) over expected matches."""
    missed = float(np.nansum(unlinked["best_match_probability"].to_numpy(dtype=float)))
    total = missed + float(linked_probability.sum())
    return missed / total if total else 0.0


def count_summary(
    n_left: int,
    n_right: int,
    scored: ScoredPairs,
    resolved: Links,
    unlinked: tuple[pd.DataFrame, pd.DataFrame],
    link_p: np.ndarray,
    threshold: float,
    resolution: str,
    link_weight: np.ndarray,
) -> dict[str, Any]:
    """The counts and error estimates of a run (the first keys of :class:`LinkSummary`);
    ``link_p``: the probability that each link is right; ``link_weight``: the links'
    deciding weights."""
    pairs = (int(len(scored.left)), int(scored.family_pairs))
    duplicates = (resolved.left_duplicate_of >= 0).sum(), (resolved.right_duplicate_of >= 0).sum()
    sole = sole_links(link_weight, threshold)
    links = (
        int(resolved.keep.sum()),
        int(duplicates[0]),
        int(duplicates[1]),
        sole,
        resolved.family_members,
    )
    return summary_counts((n_left, n_right), pairs, links, unlinked, link_p, threshold, resolution)


def sole_links(link_weight: np.ndarray, threshold: float) -> int:
    """How many links are below the threshold as pairs: the sole candidates (every
    other link, duplicates and reviewed pairs too, is at or above it)."""
    return int(below_threshold(link_weight, logit2(threshold)).sum())


def summary_counts(
    sizes: tuple[int, int],
    pairs: tuple[int, int],
    links: tuple[int, int, int, int, int],
    unlinked: tuple[pd.DataFrame, pd.DataFrame],
    link_p: np.ndarray,
    threshold: float,
    resolution: str,
) -> dict[str, Any]:
    """:func:`count_summary` from counts: ``sizes`` of the registers, ``pairs`` (candidate
    pairs, family pairs among them), ``links`` (links, duplicates left and right, sole
    candidates, members of joined families)."""
    n_left, n_right = sizes
    errors = expected_errors(link_p, 0.0)
    return {
        "n_left": n_left,
        "n_right": n_right,
        "candidate_pairs": pairs[0],
        "family_pairs": pairs[1],
        "links": links[0],
        "linked_left": int(n_left - len(unlinked[0])),
        "linked_right": int(n_right - len(unlinked[1])),
        "unlinked_left": len(unlinked[0]),
        "unlinked_right": len(unlinked[1]),
        "duplicates_left": links[1],
        "duplicates_right": links[2],
        "sole_candidates": links[3],
        "family_members": links[4],
        "threshold": threshold,
        "resolution": resolution,
        "expected_false_links": round(errors["expected_false_links"], 2),
        "estimated_fdr": round(errors["fdr"], 6),
        "estimated_fnr": round(estimated_fnr(link_p, unlinked[0]), 6),
    }


def pairs_table(
    left_ids: np.ndarray,
    right_ids: np.ndarray,
    scored: ScoredPairs,
    rows: np.ndarray,
    keep: np.ndarray,
    rule_names: Sequence[str],
    comparisons: Sequence[Comparison],
    fs_weight: np.ndarray,
    ml_weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """The scored pairs at ``rows``: positions, ids, the rule that found each, the
    Fellegi-Sunter weight and probability (and the ML matcher's), the term-frequency
    bits, whether it is a link and its level numbers."""
    fs = fs_weight[rows]
    pairs = pd.DataFrame(
        {
            "left": scored.left[rows],
            "right": scored.right[rows],
            "left_id": left_ids[scored.left[rows]],
            "right_id": right_ids[scored.right[rows]],
            "rule": np.array([*rule_names, FAMILY_RULE], dtype=object)[scored.rule[rows]],
            "match_weight": fs,
            "match_probability": probability(fs),
            "tf_adjustment": scored.tf[rows],
            "link": keep[rows],
        }
    )
    if ml_weight is not None:
        pairs["ml_weight"] = ml_weight[rows]
        pairs["ml_probability"] = probability(ml_weight)[rows]
    for k, comp in enumerate(comparisons):
        pairs[comp.label] = scored.levels[rows, k]
    return pairs


#: The columns a record's birth year is read from, the first known of them.
BIRTH_COLUMNS = ("birth_date", "nik_birth_date")


def birth_years(frame: pd.DataFrame) -> np.ndarray:
    """Each record's birth year (NaN unknown): its birth date's, else its NIK's."""
    years = np.full(len(frame), np.nan)
    for column in reversed(BIRTH_COLUMNS):
        if column in frame.columns:
            year = pd.to_datetime(frame[column], errors="coerce").dt.year.to_numpy(
                dtype=float, na_value=np.nan
            )
            years = np.where(np.isnan(year), years, year)
    return years


def record_age_groups(
    left: pd.DataFrame, right: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each record's age band for the error estimate (:func:`age_groups`); None when
    neither register has a birth date."""
    if not any(c in f.columns for f in (left, right) for c in BIRTH_COLUMNS):
        return None
    return age_groups((birth_years(left), birth_years(right)))


def link_families(
    left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs, keep: np.ndarray
) -> FamilyLinks | None:
    """The links' records and every record's family, for the error estimate of links
    below the threshold; None when the registers carry no families."""
    families = pairable_families(left, right)
    if families is None:
        return None
    return FamilyLinks(scored.left[keep], scored.right[keep], families)


def link_result(
    left: pd.DataFrame,
    right: pd.DataFrame,
    scored: ScoredPairs,
    decided: tuple[np.ndarray, np.ndarray, Links],
    keep_pairs: bool | float,
    comparisons: Sequence[Comparison],
    rule_names: Sequence[str],
    run: dict[str, Any],
) -> LinkResult:
    """The tables of a run. ``decided``: the deciding weights (the ML matcher's when it
    decides), the Fellegi-Sunter weights and the resolved links; ``run``: ``prior``
    (the model's lambda), ``threshold``, ``resolution`` and ``ml`` (whether the ML
    matcher decides). ``keep_pairs``: keep all scored pairs, or (a number) the links
    and the pairs at least that probable."""
    weight, fs_weight, resolved = decided
    left_ids, right_ids = record_ids(left), record_ids(right)
    keep = resolved.keep
    links = links_table(
        left_ids, right_ids, scored, weight, resolved, comparisons, fs_weight if run["ml"] else None
    )
    unlinked = (
        unlinked_table(scored.left, scored.right, weight, keep, left_ids, right_ids),
        unlinked_table(scored.right, scored.left, weight, keep, right_ids, left_ids),
    )
    link_p = link_probabilities(
        scored.left,
        scored.right,
        weight,
        keep,
        run["prior"],
        len(left),
        len(right),
        (resolved.left_duplicate_weight, resolved.right_duplicate_weight),
        record_age_groups(left, right),
    )
    sizes, threshold = (len(left), len(right)), logit2(run["threshold"])
    families = link_families(left, right, scored, keep)
    link_p = sole_link_probabilities(weight[keep], link_p, threshold, run["prior"], sizes, families)
    summary = count_summary(
        len(left),
        len(right),
        scored,
        resolved,
        unlinked,
        link_p,
        run["threshold"],
        run["resolution"],
        weight[keep],
    )
    pairs = None
    if keep_pairs is not False:
        floor = 0.0 if keep_pairs is True else float(keep_pairs)
        rows = np.flatnonzero(keep | (probability(weight) >= floor))
        ml_weight = weight if run["ml"] else None
        pairs = pairs_table(
            left_ids, right_ids, scored, rows, keep, rule_names, comparisons, fs_weight, ml_weight
        )
    return LinkResult(links, *unlinked, summary, pairs)  # type: ignore[arg-type]


def run_summary(
    model: FellegiSunter,
    ml: bool,
    threshold: float,
    fitting: dict[str, Any],
    timings: dict[str, float],
    duplicate_shift: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    """The last keys of :class:`LinkSummary`: which matcher decided, at which
    threshold, what fitting left out and learned (``fitting``: ``left_out``,
    ``training`` and maybe ``ml_training``), the EM run, each register's own prior
    (from ``duplicate_shift``, bits from the model's), the seconds per stage."""
    prior = logit2(float(model.lambda_))
    sides = zip(("left", "right"), duplicate_shift, strict=True)
    own = {side: float(probability(prior + bits)) for side, bits in sides}
    return {
        "matcher": "ml" if ml else "fellegi_sunter",
        "threshold": threshold,
        **fitting,
        "em": {
            "iterations": int(model.n_iter_),
            "converged": bool(model.converged_),
            "log_likelihood": float(model.log_likelihood_),
            "lambda": float(model.lambda_),
        },
        "duplicate_prior": own,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
    }


__all__ = [
    "BIRTH_COLUMNS",
    "LinkResult",
    "LinkSummary",
    "best_candidates",
    "birth_years",
    "count_summary",
    "estimated_fnr",
    "level_names",
    "link_families",
    "link_result",
    "links_table",
    "pairs_table",
    "record_age_groups",
    "record_ids",
    "run_summary",
    "sole_links",
    "summary_counts",
    "unlinked_rows",
    "unlinked_table",
]
