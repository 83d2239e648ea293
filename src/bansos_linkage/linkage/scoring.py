"""Candidate pairs compared chunk by chunk: the compact per-pair results of a run.

Blocking rules are run one by one and their pairs compared in chunks of
``chunk_size``, in this process or in forked workers (:class:`ChunkPool`); only
positions, int8 levels and (for the ML matcher) float32 similarities are kept for
the whole run, as a :class:`ScoredPairs`. Every function works on the chunk or
arrays it is given, so another engine can call it partition by partition.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from bansos_linkage.linkage import training
from bansos_linkage.linkage.blocking import Rule, family_pairs, iter_candidate_pairs, pairable
from bansos_linkage.linkage.comparisons import Comparison, compare
from bansos_linkage.progress import Progress

#: ``progress(step, steps, what)``, called once per blocking rule.
#: The rule name of the pairs added by family context (after the blocking rules).
FAMILY_RULE = "family"
#: The prepared registers' column of family codes.
FAMILY = "_family"

Levels = np.ndarray
LevelsAndSimilarities = tuple[np.ndarray, np.ndarray]


class PairCompare(Protocol):
    """Compares one chunk of pairs: levels (int8), and with ``similarities`` also the
    similarities (float32) as a tuple (:meth:`Linker.compare_pairs`)."""

    def __call__(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        a: np.ndarray,
        b: np.ndarray,
        similarities: bool = False,
    ) -> Any: ...


@dataclass
class ScoredPairs:
    """The pairs of a run and their comparison levels, one row per pair.

    ``left``, ``right``: positions in the prepared registers; ``rule``: index of the
    blocking rule that found the pair (one past the rules for family pairs);
    ``levels``: int8 (pairs x comparisons, -1 missing); ``tf``: term-frequency bits.
    """

    left: np.ndarray
    right: np.ndarray
    rule: np.ndarray
    levels: np.ndarray
    tf: np.ndarray
    similarities: np.ndarray | None = None  # float32 (pairs x comparisons), for the ML matcher
    timings: dict[str, float] = field(default_factory=dict)
    random_levels: np.ndarray | None = None  # levels of random pairs (u), when fitting
    family_pairs: int = 0  # pairs added by family context (the last rows)


def compare_chunk(
    left: pd.DataFrame,
    right: pd.DataFrame,
    a: np.ndarray,
    b: np.ndarray,
    comparisons: Sequence[Comparison],
    similarities: bool = False,
) -> Levels | LevelsAndSimilarities:
    """Levels (int8) of one chunk of pairs; with ``similarities`` also the continuous
    similarities (float32), as a tuple."""
    levels, sims = compare(left, right, a, b, comparisons)
    if similarities:
        return levels.to_numpy(dtype=np.int8), sims.to_numpy(dtype=np.float32)
    return levels.to_numpy(dtype=np.int8)


# What forked workers compare: set just before the pool forks, so the children share the
# registers copy-on-write instead of receiving a pickled copy.
_SHARED: dict[str, Any] = {}


def _compare_shared(ab: tuple[np.ndarray, np.ndarray]) -> Levels | LevelsAndSimilarities:
    w = _SHARED
    return w["compare"](w["left"], w["right"], ab[0], ab[1], w["similarities"])


class ChunkPool:
    """Compare chunks of pairs in ``n_jobs`` forked processes (in order), or in this
    process when one job is asked for or the platform cannot fork."""

    def __init__(
        self,
        compare_pairs: PairCompare,
        left: pd.DataFrame,
        right: pd.DataFrame,
        n_jobs: int | None,
        similarities: bool,
    ) -> None:
        self.compare_pairs, self.left, self.right = compare_pairs, left, right
        self.similarities = similarities
        jobs = n_jobs if n_jobs is not None else min(os.cpu_count() or 1, 4)
        self.parallel = jobs > 1 and "fork" in mp.get_all_start_methods()
        self.jobs = jobs
        self.pending: list[Any] = []

    def __enter__(self) -> ChunkPool:
        if self.parallel:
            if len(self.left) and len(self.right):
                # one pair compared here derives the per-value data (name words, NIK
                # digits) once, for the forked workers to inherit instead of each redoing it
                one = np.zeros(1, dtype=np.int64)
                self.compare_pairs(self.left, self.right, one, one)
            _SHARED.update(
                compare=self.compare_pairs,
                left=self.left,
                right=self.right,
                similarities=self.similarities,
            )
            self.pool = mp.get_context("fork").Pool(self.jobs)
        return self

    def submit(self, a: np.ndarray, b: np.ndarray) -> None:
        if self.parallel:
            if max(len(self.left), len(self.right)) < 2**31:  # positions fit in int32:
                a, b = a.astype(np.int32), b.astype(np.int32)  # half the bytes to send
            self.pending.append(self.pool.apply_async(_compare_shared, ((a, b),)))
        else:
            self.pending.append(self.compare_pairs(self.left, self.right, a, b, self.similarities))

    def results(self) -> Iterator[Any]:
        for item in self.pending:
            yield item.get() if self.parallel else item

    def __exit__(self, *exc: object) -> None:
        if self.parallel:
            self.pool.terminate()
            _SHARED.clear()


def score_candidates(
    left: pd.DataFrame,
    right: pd.DataFrame,
    rules: Sequence[Rule],
    compare_pairs: PairCompare,
    n_comparisons: int,
    *,
    chunk_size: int,
    n_jobs: int | None,
    progress: Progress | None = None,
    similarities: bool = False,
    random_pairs: tuple[int, int] | None = None,
    within: bool = False,
) -> ScoredPairs:
    """Compare the candidate pairs of ``rules`` (and, with ``random_pairs`` = (count,
    seed), random pairs for u). ``within``: ``left`` and ``right`` are one register;
    each pair of two different records is kept once (left position below right)."""
    lefts: list[np.ndarray] = []
    rights: list[np.ndarray] = []
    rules_of: list[np.ndarray] = []
    levels: list[Any] = []
    timings = {"block": 0.0, "compare": 0.0}
    start = time.perf_counter()
    with ChunkPool(compare_pairs, left, right, n_jobs, similarities) as pool:
        for i, li, ri, _ in iter_candidate_pairs(left, right, rules):
            if within:  # blocking a register with itself finds each pair both ways
                li, ri = li[li < ri], ri[li < ri]
            timings["block"] += time.perf_counter() - start
            start = time.perf_counter()
            for lo in range(0, len(li), chunk_size):
                a, b = li[lo : lo + chunk_size], ri[lo : lo + chunk_size]
                pool.submit(a, b)
                lefts.append(a.astype(np.int64))
                rights.append(b.astype(np.int64))
                rules_of.append(np.full(len(a), i, dtype=np.int16))
            if progress is not None:
                progress(i + 1, len(rules), f"pairs: {rules[i].name}")
            timings["compare"] += time.perf_counter() - start
            start = time.perf_counter()
        if random_pairs is not None:
            ra, rb = training.random_pairs(len(left), len(right), *random_pairs)
            if within:  # a record compared with itself is no random pair
                ra, rb = ra[ra != rb], rb[ra != rb]
            for lo in range(0, len(ra), chunk_size):
                pool.submit(ra[lo : lo + chunk_size], rb[lo : lo + chunk_size])
        levels.extend(pool.results())
        timings["compare"] += time.perf_counter() - start
    scored = _assemble(lefts, rights, rules_of, levels, n_comparisons, similarities, random_pairs)
    scored.timings.update(timings)
    return scored


def _assemble(
    lefts: list[np.ndarray],
    rights: list[np.ndarray],
    rules_of: list[np.ndarray],
    results: list[Any],
    n: int,
    similarities: bool,
    random_pairs: tuple[int, int] | None,
) -> ScoredPairs:
    """The chunks' results as one :class:`ScoredPairs` (random pairs' levels apart)."""
    sims = None
    if similarities:
        sims = np.concatenate([s for _, s in results]) if results else np.zeros((0, n), "f4")
        results = [lv for lv, _ in results]
    n_pairs = sum(len(a) for a in lefts)
    everything = np.concatenate(results) if results else np.zeros((0, n), np.int8)
    return ScoredPairs(
        left=np.concatenate(lefts) if lefts else np.zeros(0, np.int64),
        right=np.concatenate(rights) if rights else np.zeros(0, np.int64),
        rule=np.concatenate(rules_of) if rules_of else np.zeros(0, np.int16),
        levels=everything[:n_pairs],
        tf=np.zeros(n_pairs, dtype=np.float32),  # set once fitted
        similarities=None if sims is None else sims[:n_pairs],
        random_levels=everything[n_pairs:] if random_pairs is not None else None,
    )


def compare_in_chunks(
    compare_pairs: PairCompare,
    left: pd.DataFrame,
    right: pd.DataFrame,
    li: np.ndarray,
    ri: np.ndarray,
    chunk_size: int,
    similarities: bool,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Levels (and similarities, if asked) of the pairs (li, ri), ``chunk_size`` at a time."""
    parts = [
        compare_pairs(left, right, li[lo : lo + chunk_size], ri[lo : lo + chunk_size], similarities)
        for lo in range(0, len(li), chunk_size)
    ]
    if similarities:
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return np.concatenate(parts), None


def new_family_pairs(
    left: pd.DataFrame, right: pd.DataFrame, scored: ScoredPairs, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of members of families that share a link (``keep``) not scored yet."""
    li, ri = family_pairs(
        left[FAMILY].to_numpy(), right[FAMILY].to_numpy(), scored.left[keep], scored.right[keep]
    )
    new = not_among(li, ri, scored.left, scored.right, len(right))
    return li[new], ri[new]


def pairable_families(
    left: pd.DataFrame, right: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each prepared record's family per side, as family pairs take them (-1: none, or
    too large; :func:`~bansos_linkage.linkage.blocking.pairable`); None when the
    registers carry no families."""
    if FAMILY not in left or FAMILY not in right:
        return None
    return pairable(left[FAMILY].to_numpy()), pairable(right[FAMILY].to_numpy())


def append_pairs(
    scored: ScoredPairs,
    li: np.ndarray,
    ri: np.ndarray,
    rule: int,
    levels: np.ndarray,
    similarities: np.ndarray | None,
    tf: np.ndarray,
) -> None:
    """Add pairs found by ``rule`` (their levels, similarities, bits) at the end of ``scored``."""
    if similarities is not None:
        scored.similarities = np.concatenate([scored.similarities, similarities])
    scored.left = np.concatenate([scored.left, li])
    scored.right = np.concatenate([scored.right, ri])
    scored.rule = np.concatenate([scored.rule, np.full(len(li), rule, np.int16)])
    scored.levels = np.concatenate([scored.levels, levels])
    scored.tf = np.concatenate([scored.tf, tf])


def pair_index(scored: ScoredPairs, a: np.ndarray, b: np.ndarray, n_right: int) -> np.ndarray:
    """Row of each pair (a, b) among the scored pairs; -1 where not scored (or a position
    is -1: an id not in the registers)."""
    width = max(n_right, 1)
    where = pd.Index(scored.left * width + scored.right).get_indexer(a * width + b)
    return np.where((a >= 0) & (b >= 0), where, -1)


def pair_flags(
    scored: ScoredPairs, flags: np.ndarray, a: np.ndarray, b: np.ndarray, n_right: int
) -> np.ndarray:
    """``flags`` (one per scored pair) at the pairs (a, b); False for pairs not scored."""
    where = pair_index(scored, a, b, n_right)
    return np.where(where >= 0, flags[np.maximum(where, 0)], False)


def not_among(
    li: np.ndarray, ri: np.ndarray, left: np.ndarray, right: np.ndarray, n_right: int
) -> np.ndarray:
    """Which pairs (li, ri) are not among the pairs (left, right) (by binary search:
    np.isin hashes millions of keys several times slower)."""
    # only pairs both of whose positions occur in (li, ri) can be among them: sort those
    maybe = _occurs(left, li) & _occurs(right, ri)
    known = np.sort(left[maybe].astype(np.int64) * n_right + right[maybe])
    keys = li.astype(np.int64) * n_right + ri
    at = np.minimum(np.searchsorted(known, keys), max(len(known) - 1, 0))
    return known[at] != keys if len(known) else np.ones(len(keys), dtype=bool)


def _occurs(positions: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Per position: does it occur in ``among`` (positions are small non-negative ints)."""
    seen = np.zeros(max(int(positions.max(initial=-1)), int(among.max(initial=-1))) + 1, bool)
    seen[among] = True
    return seen[positions]


__all__ = [
    "ChunkPool",
    "FAMILY",
    "FAMILY_RULE",
    "Levels",
    "LevelsAndSimilarities",
    "PairCompare",
    "ScoredPairs",
    "append_pairs",
    "compare_chunk",
    "compare_in_chunks",
    "new_family_pairs",
    "not_among",
    "pair_flags",
    "pair_index",
    "pairable_families",
    "score_candidates",
]
