"""Resolution on the workers: the Dask engine's last stage, per group of components.

Resolution (:func:`~bansos_linkage.linkage.decision.decide`: family pairs, one-to-one,
duplicates, sole candidates) reads only the pairs from the lowest weight a link may have
(:func:`~bansos_linkage.linkage.decision.lowest_link_weight`), and what it decides in
one connected component of them does not depend on the others. Family pairs join members
of two families that share a link, so a component is taken with the whole families of
its records (families of at most
:data:`~bansos_linkage.linkage.blocking.FAMILY_MAX_MEMBERS`: larger ones are never
paired member by member). The driver gathers only the positions of those pairs (the
edges), labels the components, and cuts them into groups; each group's records and
every pair between them go to one task, which runs the Linker's own ``decide`` on them.
Positions within a group keep the global order, so ties break as in-process.

What reads every pair is reduced where the pairs are (:func:`settle`): each record's
best candidate (the unlinked tables) and the rivals of the links' error estimate
(:func:`~bansos_linkage.linkage.resolve.explained_away`). A rival whose other record
holds no link counts in full in every round, so it is summed once per linked record;
the rivals between two linked records stay where they are and are summed there each
round (:func:`rival_sums`), while the driver runs the Linker's fixed point on arrays
of the linked records (:func:`link_error`).

The functions here are plain functions of the data they are given (NumPy and pandas);
:mod:`bansos_linkage.engines.dask` runs them on the cluster.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bansos_linkage.linkage.blocking import family_codes, pairable
from bansos_linkage.linkage.decision import (
    Decision,
    decide,
    decision_weights,
    model_weights,
    tested_duplicates,
)
from bansos_linkage.linkage.fellegi_sunter import probability
from bansos_linkage.linkage.fitting import PairWeights
from bansos_linkage.linkage.frequencies import regional_label
from bansos_linkage.linkage.linking import Prepare
from bansos_linkage.linkage.outputs import best_candidates, links_table, record_ids
from bansos_linkage.linkage.resolve import (
    RIVAL_MIN_ODDS,
    RecordGroups,
    duplicate_probability,
    link_odds,
    rival_fixed_point,
    unmatched_shares,
)
from bansos_linkage.linkage.scoring import FAMILY, ScoredPairs
from bansos_linkage.linkage.supervised import reviewed_at

#: The column of each record's global position (its row in its register).
POS = "_pos"
#: The column of each record's family (its code in the whole register; -1: none, or a
#: family too large to be paired member by member).
FAM = "_fam"
#: Pairs this many bits below the threshold join components too: resolution compares
#: weights rounded to a millionth, so no pair it may link is left out.
EDGE_MARGIN = 1e-3


def decoded(column: pd.Series) -> pd.Series:
    """A prepared column's values (encoded text decoded to strings)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        return column.astype("string")
    return column


def pairable_families(records: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Each record's family code (as :meth:`Linker.prepare` gives it), -1 for families
    too large to be paired member by member."""
    return pairable(family_codes(records, columns))


def freq_column(label: str) -> str:
    """The column of a record's value frequency in its whole register, per label."""
    return f"_freq_{label}"


@dataclass(frozen=True)
class _WholeRegisterWeights(PairWeights):
    """Pair weights whose value frequencies are the whole register's, read off the
    records (a group holds only part of each register)."""

    def frequencies(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        labels = [*self.term_frequency, *map(regional_label, self.term_frequency)]
        columns = {label: freq_column(label) for label in labels}
        return {k: frame[c].to_numpy(dtype=float) for k, c in columns.items() if c in frame}


@dataclass(frozen=True)
class Resolver:
    """What the resolution tasks need of a fitted Linker: its decision, how it prepares
    records, per side the term-frequency labels whose frequencies its records carry
    (:func:`freq_column`, from :mod:`~bansos_linkage.engines.dask_values`), reviewed
    pairs by position, the registers' sizes and the pairs to keep (``floor``: the links
    and the pairs at least that probable; None: none)."""

    decision: Decision
    prepare: Prepare
    tf_labels: dict[str, tuple[str, ...]]
    reviewed: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    sizes: tuple[int, int]
    floor: float | None

    def weights(
        self,
        levels: np.ndarray,
        tf: np.ndarray,
        pairs: np.ndarray,
        similarities: np.ndarray | None = None,
    ) -> np.ndarray:
        """The Fellegi-Sunter weights of pairs, and the weights that decide (the ML
        matcher's where it decides, from the pairs' ``similarities``; reviewed pairs
        final)."""
        fs = self.decision.weights.weights(levels, tf)
        scored = ScoredPairs(pairs[:, 0], pairs[:, 1], pairs[:, 2], levels, tf, similarities)
        weight = model_weights(self.decision, scored, fs)
        if self.reviewed is None:
            return np.stack([fs, weight])
        return np.stack([fs, reviewed_at(scored, weight, self.reviewed, self.sizes[1])])


# --- on the workers -----------------------------------------------------------------


def weighted(part: dict[str, Any], r: Resolver) -> pd.DataFrame:
    """A partition's scored pairs (``pairs``: left, right, rule; ``levels``; ``tf``)
    as a table with their Fellegi-Sunter and deciding weights."""
    pairs, levels, tf, sims = part["pairs"], part["levels"], part["tf"], part.get("similarities")
    fs, weight = r.weights(levels, tf, pairs, sims)
    return pair_table(pairs[:, 0], pairs[:, 1], pairs[:, 2], levels, tf, weight, fs, sims)


def pair_table(
    left: np.ndarray,
    right: np.ndarray,
    rule: np.ndarray,
    levels: np.ndarray,
    tf: np.ndarray,
    weight: np.ndarray,
    fs_weight: np.ndarray,
    similarities: np.ndarray | None = None,
) -> pd.DataFrame:
    """Scored pairs by global position: rule, term-frequency bits, deciding and
    Fellegi-Sunter weights, one column per comparison level (and per similarity, for
    the ML matcher)."""
    table = pd.DataFrame(
        {
            "left": left.astype(np.int64),
            "right": right.astype(np.int64),
            "rule": rule.astype(np.int16),
            "tf": tf.astype(np.float32),
            "weight": weight,
            "fs_weight": fs_weight,
        }
    )
    for k in range(levels.shape[1]):
        table[f"level_{k}"] = levels[:, k]
    if similarities is not None:
        for k in range(similarities.shape[1]):
            table[f"sim_{k}"] = similarities[:, k]
    return table


def _levels(table: pd.DataFrame) -> np.ndarray:
    columns = [c for c in table.columns if c.startswith("level_")]
    return table[columns].to_numpy(dtype=np.int8).reshape(len(table), len(columns))


def _similarities(table: pd.DataFrame) -> np.ndarray | None:
    """The pairs' similarities (None: the run has no ML matcher)."""
    columns = [c for c in table.columns if c.startswith("sim_")]
    if not columns:
        return None
    return table[columns].to_numpy(dtype=np.float32).reshape(len(table), len(columns))


def edges(table: pd.DataFrame, threshold: float, sizes: tuple[int, int]) -> np.ndarray:
    """The positions of the pairs resolution may link (from ``threshold``, the lowest
    weight a link may have, less a margin): the edges of the components, four bytes a
    position where they fit."""
    at = table["weight"].to_numpy() >= threshold - EDGE_MARGIN
    dtype = np.int32 if max(sizes) < 2**31 else np.int64
    return table.loc[at, ["left", "right"]].to_numpy(dtype=dtype)


def _cut(frame: pd.DataFrame, group: np.ndarray, n_groups: int) -> list[pd.DataFrame]:
    """The rows of each group (in their order; -1: none)."""
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(n_groups + 1))
    return [frame.iloc[order[bounds[g] : bounds[g + 1]]] for g in range(n_groups)]


def split_pairs(
    table: pd.DataFrame, groups: tuple[np.ndarray, np.ndarray], n_groups: int
) -> list[pd.DataFrame]:
    """A partition's pairs between two records of one group, by group."""
    gl = groups[0][table["left"].to_numpy()]
    gr = groups[1][table["right"].to_numpy()]
    return _cut(table, np.where(gl == gr, gl, -1), n_groups)


def split_records(
    frame: pd.DataFrame,
    groups: tuple[np.ndarray, np.ndarray],
    side: int,
    n_groups: int,
    columns: Sequence[str],
) -> list[pd.DataFrame]:
    """A partition's records (one side) by group, with only the ``columns`` resolution
    reads (a register carries many more)."""
    frame = frame[[c for c in frame.columns if c in set(columns)]]
    return _cut(frame, groups[side][frame[POS].to_numpy()], n_groups)


def _order_codes(family: np.ndarray) -> np.ndarray:
    """Family codes renumbered from 0 in the same order (-1 kept): a group's families
    pair in the order of the whole register's."""
    out = np.full(len(family), -1, dtype=np.int64)
    known = family >= 0
    out[known] = np.unique(family[known], return_inverse=True)[1]
    return out


def _group_records(raw: pd.DataFrame, prepared: pd.DataFrame, r: Resolver, side: str) -> None:
    """A group's prepared records given the whole register's family codes and value
    frequencies."""
    prepared[FAMILY] = _order_codes(raw[FAM].to_numpy())
    for label in r.tf_labels[side]:
        prepared[freq_column(label)] = raw[freq_column(label)].to_numpy(dtype=float)


def _in_order(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(pieces).sort_values(POS, kind="stable").reset_index(drop=True)


@dataclass
class _Group:
    """A group's records (raw, with global positions, and prepared), its scored pairs
    by position within the group, and the decision with whole-register frequencies."""

    left: pd.DataFrame
    right: pd.DataFrame
    prepared: tuple[pd.DataFrame, pd.DataFrame]
    scored: ScoredPairs
    decision: Decision


def _group(
    lefts: list[pd.DataFrame], rights: list[pd.DataFrame], pieces: list[pd.DataFrame], r: Resolver
) -> _Group:
    left, right = _in_order(lefts), _in_order(rights)
    lp, rp = r.prepare(left, right)
    _group_records(left, lp, r, "left")
    _group_records(right, rp, r, "right")
    lpos, rpos = left[POS].to_numpy(), right[POS].to_numpy()
    pairs = pd.concat(pieces).sort_values(["rule", "left", "right"], kind="stable")
    scored = ScoredPairs(
        left=np.searchsorted(lpos, pairs["left"].to_numpy()),
        right=np.searchsorted(rpos, pairs["right"].to_numpy()),
        rule=pairs["rule"].to_numpy(dtype=np.int16),
        levels=_levels(pairs),
        tf=pairs["tf"].to_numpy(dtype=np.float32),
        similarities=_similarities(pairs),
    )
    w = r.decision.weights
    whole = _WholeRegisterWeights(**{f.name: getattr(w, f.name) for f in fields(w)})
    return _Group(left, right, (lp, rp), scored, replace(r.decision, weights=whole))


def tested_group(
    lefts: list[pd.DataFrame], rights: list[pd.DataFrame], pieces: list[pd.DataFrame], r: Resolver
) -> tuple[np.ndarray, np.ndarray]:
    """A group's share of the pairs that estimate each register's own prior
    (:func:`~bansos_linkage.linkage.decision.tested_duplicates`): per side, the
    weights of the pairs its duplicate test saw with person evidence."""
    g = _group(lefts, rights, pieces, r)
    weight, _ = decision_weights(g.decision, *g.prepared, g.scored)
    return tested_duplicates(g.decision, *g.prepared, g.scored, weight)[1]


def resolve_group(
    lefts: list[pd.DataFrame],
    rights: list[pd.DataFrame],
    pieces: list[pd.DataFrame],
    r: Resolver,
) -> tuple[dict[str, Any], Rivals]:
    """One group of components resolved with the Linker's ``decide`` (the registers'
    own priors given): its links table, its links and duplicates by global position,
    its family pairs settled; and apart, to stay here, the family pairs' rivals
    between two linked records."""
    start = time.perf_counter()
    g = _group(lefts, rights, pieces, r)
    (lp, rp), scored = g.prepared, g.scored
    lpos, rpos = g.left[POS].to_numpy(), g.right[POS].to_numpy()
    n = len(scored.left)
    weight, fs_weight, links, timings = decide(g.decision, lp, rp, scored)
    keep = links.keep
    gl, gr = lpos[scored.left], rpos[scored.right]
    sims = None if scored.similarities is None else scored.similarities[n:]
    rows = (scored.rule[n:], scored.levels[n:], scored.tf[n:], weight[n:], fs_weight[n:], sims)
    family = pair_table(gl[n:], gr[n:], *rows)
    # the family pairs' records are the group's: its own links settle them
    settled, rivals = settle(family, LinkSet.of(gl[keep], gr[keep], r.sizes[1]), r.floor)
    timings["group"] = time.perf_counter() - start
    comparisons = r.decision.weights.comparisons
    resolved = {
        "links": links_table(
            record_ids(lp), record_ids(rp), scored, weight, links, comparisons, ml_fs(r, fs_weight)
        ),
        "link": (gl[keep], gr[keep], weight[keep]),
        "duplicates": [
            _found(lpos, links.left_duplicate_weight),
            _found(rpos, links.right_duplicate_weight),
        ],
        "family_pairs": int(scored.family_pairs),
        "family_members": links.family_members,
        "family": settled,
        "timings": timings,
        "size": (len(g.left) + len(g.right), n),
    }
    return resolved, rivals


def ml_fs(r: Resolver, fs_weight: np.ndarray) -> np.ndarray | None:
    """The Fellegi-Sunter weights to show beside the ML matcher's (None without one)."""
    return None if r.decision.ml_model is None else fs_weight


def _found(positions: np.ndarray, dup_weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The global positions of the records linked as duplicates, and their pairs' weights."""
    found = ~np.isnan(dup_weight)
    return positions[found], dup_weight[found]


@dataclass(frozen=True)
class LinkSet:
    """Links by global position: sorted pair codes (left * n_right + right) and the
    sorted linked records of each side."""

    codes: np.ndarray
    left: np.ndarray
    right: np.ndarray
    n_right: int

    @classmethod
    def of(cls, left: np.ndarray, right: np.ndarray, n_right: int) -> LinkSet:
        codes = np.sort(left.astype(np.int64) * n_right + right)
        return cls(codes, np.unique(left), np.unique(right), n_right)

    def holds(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return _member(self.codes, left.astype(np.int64) * self.n_right + right)


def _member(sorted_values: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Which of ``x`` occur in ``sorted_values``."""
    at = np.minimum(np.searchsorted(sorted_values, x), max(len(sorted_values) - 1, 0))
    return sorted_values[at] == x if len(sorted_values) else np.zeros(len(x), dtype=bool)


def _best(own: np.ndarray, other: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    """The best candidate of each record among these pairs: positions, weights, partners."""
    unique, at = np.unique(own, return_inverse=True)
    w, partner = best_candidates(at, other, weight, len(unique))
    return unique, w, partner.astype(np.int64)


def _sums(own: np.ndarray, odds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unique, at = np.unique(own, return_inverse=True)
    return unique, np.bincount(at, weights=odds, minlength=len(unique))


def settle(
    table: pd.DataFrame, links: LinkSet, floor: float | None
) -> tuple[dict[str, Any], Rivals]:
    """What the outputs read of every pair, reduced here: each record's best candidate
    (per side), the odds of rivals whose other record holds no link summed per linked
    record, and the pairs kept (``floor``); and apart, to stay here, the rivals between
    two linked records."""
    left, right = table["left"].to_numpy(), table["right"].to_numpy()
    weight = table["weight"].to_numpy()
    keep = links.holds(left, right)
    odds = link_odds(weight)
    rival = ~keep & (odds > RIVAL_MIN_ODDS)
    linked_left, linked_right = _member(links.left, left), _member(links.right, right)
    only_left = rival & linked_left & ~linked_right
    only_right = rival & linked_right & ~linked_left
    both = rival & linked_left & linked_right
    kept = None
    if floor is not None:
        kept = table.assign(link=keep)[keep | (probability(weight) >= floor)]
    reduced = {
        "best": (_best(left, right, weight), _best(right, left, weight)),
        "fixed": (
            _sums(left[only_left], odds[only_left]),
            _sums(right[only_right], odds[only_right]),
        ),
        "pairs": kept,
        "n": len(table),
        "rivals": int(both.sum()),
    }
    return reduced, (left[both], right[both], odds[both])


#: Rivals between two linked records: left, right (global positions or, once indexed,
#: the linked records' ranks) and odds.
Rivals = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class IndexedRivals:
    """Rivals between two linked records, indexed once for the error estimate's rounds:
    each side's records as ranks among the linked records of that side, the distinct
    ranks and each rival's place among them (sorting once, not every round)."""

    left: np.ndarray
    right: np.ndarray
    odds: np.ndarray
    distinct: tuple[np.ndarray, np.ndarray]
    at: tuple[np.ndarray, np.ndarray]


def index_rivals(rivals: Rivals, links: LinkSet) -> IndexedRivals:
    """The rivals' records as ranks among the linked records of their side."""
    left, right, odds = rivals
    ranks = np.searchsorted(links.left, left), np.searchsorted(links.right, right)
    (dl, al), (dr, ar) = (np.unique(r, return_inverse=True) for r in ranks)
    return IndexedRivals(ranks[0], ranks[1], odds, (dl, dr), (al, ar))


def rival_sums(rivals: IndexedRivals, held: tuple[np.ndarray, np.ndarray]) -> tuple[Any, Any]:
    """One round of the error estimate here: each rival's free odds (as far as its
    other record is not held by a link) summed per linked record (ranks, sums)."""
    held_left, held_right = held
    free_right = rivals.odds * (1.0 - held_right[rivals.right])
    free_left = rivals.odds * (1.0 - held_left[rivals.left])
    (dl, dr), (al, ar) = rivals.distinct, rivals.at
    left = dl, np.bincount(al, weights=free_right, minlength=len(dl))
    return left, (dr, np.bincount(ar, weights=free_left, minlength=len(dr)))


# --- in the driver, on compact arrays ------------------------------------------------


def component_groups(
    edge: np.ndarray, families: tuple[np.ndarray, np.ndarray], n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """The group of each record (-1: in no component with an edge): connected
    components of the edges, each record joined to its family, cut into ``n_groups``
    runs of about equal size (records and edges)."""
    fam_left, fam_right = families
    nl, nr = len(fam_left), len(fam_right)
    n_fl = int(fam_left.max(initial=-1)) + 1
    kl, kr = np.flatnonzero(fam_left >= 0), np.flatnonzero(fam_right >= 0)
    a = np.concatenate([edge[:, 0], kl, nl + kr]).astype(np.int64)
    b = np.concatenate([nl + edge[:, 1], nl + nr + fam_left[kl], nl + nr + n_fl + fam_right[kr]])
    n = nl + nr + n_fl + int(fam_right.max(initial=-1)) + 1
    graph = coo_matrix((np.ones(len(a), dtype=np.int32), (a, b)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    records, at_edges = label[: nl + nr], label[edge[:, 0]]
    size = np.bincount(records, minlength=n_comp) + np.bincount(at_edges, minlength=n_comp)
    active = np.unique(at_edges)
    group_of = np.full(n_comp, -1, dtype=np.int32)
    if len(active):
        end = np.cumsum(size[active])
        group_of[active] = (end - size[active]) * n_groups // end[-1]
    group = group_of[records]
    return group[:nl], group[nl:]


def combine_best(pieces: list[tuple[np.ndarray, ...]], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Every record's best candidate from the best of parts of its pairs."""
    if not pieces:
        return np.full(n, np.nan), np.full(n, np.nan)
    own, weight, other = (np.concatenate([p[k] for p in pieces]) for k in range(3))
    return best_candidates(own, other, weight, n)


#: One round of the error estimate on the cluster: given how surely each linked record
#: is held (by rank), the rivals' free odds summed where they are, per side.
RoundSums = Callable[[np.ndarray, np.ndarray], list[tuple[Any, Any]]]


def link_error(
    links: tuple[np.ndarray, np.ndarray, np.ndarray],
    fixed: list[tuple[Any, Any]],
    round_sums: RoundSums,
    duplicates: list[list[tuple[np.ndarray, np.ndarray]]],
    prior: float,
    sizes: tuple[int, int],
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The probability that each link is right (as
    :func:`~bansos_linkage.linkage.resolve.link_probabilities`): the Linker's fixed point
    on the linked records, the rivals whose other record holds no link summed once
    (``fixed``, per side positions and sums), the others each round (``round_sums``);
    ``groups``: every record's group, per side."""
    left, right, weight = links
    linked = np.unique(left), np.unique(right)
    n = len(linked[0]), len(linked[1])
    at = np.searchsorted(linked[0], left), np.searchsorted(linked[1], right)
    constant = [
        _ranked([(np.searchsorted(linked[side], f[side][0]), f[side][1]) for f in fixed], n[side])
        for side in (0, 1)
    ]

    def sums(held_left: np.ndarray, held_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        parts = round_sums(held_left, held_right)
        free = [_ranked([part[side] for part in parts], n[side]) for side in (0, 1)]
        return constant[0] + free[0], constant[1] + free[1]

    unmatched = unmatched_shares(prior, *sizes)
    by_group = None if groups is None else RecordGroups.counted(groups, sizes, linked)
    p = rival_fixed_point(link_odds(weight), at[0], at[1], unmatched, n, sums, by_group)
    for side in (0, 1):
        pos, dup = (np.concatenate([g[side][k] for g in duplicates]) for k in (0, 1))
        dup_weight = np.full(n[side], np.nan)
        dup_weight[np.searchsorted(linked[side], pos)] = dup
        p = p * duplicate_probability(dup_weight)[at[side]]
    return p


def _ranked(pieces: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    """Sums given by rank, added up over the pieces."""
    if not pieces:
        return np.zeros(n)
    rank, value = (np.concatenate([p[k] for p in pieces]) for k in (0, 1))
    return np.bincount(rank, weights=value, minlength=n)


__all__ = [
    "EDGE_MARGIN",
    "FAM",
    "POS",
    "LinkSet",
    "Resolver",
    "IndexedRivals",
    "Rivals",
    "RoundSums",
    "combine_best",
    "component_groups",
    "decoded",
    "edges",
    "index_rivals",
    "freq_column",
    "link_error",
    "pair_table",
    "pairable_families",
    "resolve_group",
    "rival_sums",
    "settle",
    "split_pairs",
    "split_records",
    "tested_group",
    "weighted",
]
