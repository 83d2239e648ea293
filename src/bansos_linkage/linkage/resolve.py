"""Links from scored pairs: one person, one counterpart.

:func:`one_to_one` keeps, among the pairs at or above the threshold, the
assignment that maximises the total score within each connected component of
the pair graph (``scipy.optimize.linear_sum_assignment``), so two different
records never share a counterpart. Components are small (a family, a common
name in a village), so the dense problems stay tiny; single pairs pass
straight through.

:func:`resolve_links` adds what registers need on top: DTKS holds about 1% of
its people twice, and strict one-to-one leaves the second record unlinked.
After the optimal assignment, a record whose best counterpart above the
threshold is taken by another record of its own register is linked to it too
when ``is_duplicate`` (the same model scoring the two records of one register)
says the two are the same person; the output names the duplicate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from bansos_linkage.linkage.fellegi_sunter import logit2, probability


def one_to_one(
    left: np.ndarray, right: np.ndarray, score: np.ndarray, threshold: float
) -> np.ndarray:
    """Boolean mask of the pairs kept as one-to-one links.

    Parameters
    ----------
    left, right
        Record positions of each candidate pair.
    score
        Higher is better (match probability or match weight).
    threshold
        Pairs below it are never linked.

    Examples
    --------
    >>> one_to_one(np.array([0, 0, 1]), np.array([0, 1, 1]), np.array([0.9, 0.8, 0.95]), 0.5)
    array([ True, False,  True])
    """
    left, right, score = np.asarray(left), np.asarray(right), np.asarray(score, dtype=float)
    keep = np.zeros(len(left), dtype=bool)
    cand = np.flatnonzero(score >= threshold)
    if not len(cand):
        return keep
    n_left = int(left[cand].max()) + 1
    n_right = int(right[cand].max()) + 1
    graph = coo_matrix(
        (np.ones(len(cand)), (left[cand], n_left + right[cand])),
        shape=(n_left + n_right, n_left + n_right),
    )
    _, label = connected_components(graph, directed=False)
    comp = label[left[cand]]
    order = np.argsort(comp, kind="stable")
    sizes = np.bincount(comp)
    singles = sizes[comp] == 1
    keep[cand[singles]] = True
    starts = np.r_[0, np.cumsum(sizes)]
    sorted_cand = cand[order]
    for c in np.flatnonzero(sizes > 1):
        members = sorted_cand[starts[c] : starts[c + 1]]
        solve = _assign if len(members) <= MAX_DENSE_PAIRS else _greedy
        keep[members[solve(left[members], right[members], score[members] - threshold)]] = True
    return keep


#: Components with more candidate pairs than this (a threshold set far too low)
#: are resolved greedily, best pair first: a dense assignment matrix would not fit.
MAX_DENSE_PAIRS = 20_000


def _greedy(left: np.ndarray, right: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices of a greedy one-to-one selection, highest score first (ties by position)."""
    taken_left: set[int] = set()
    taken_right: set[int] = set()
    chosen = []
    for k in np.lexsort((right, left, -score)).tolist():
        a, b = int(left[k]), int(right[k])
        if a not in taken_left and b not in taken_right:
            taken_left.add(a)
            taken_right.add(b)
            chosen.append(k)
    return np.array(sorted(chosen), dtype=int)


def _assign(left: np.ndarray, right: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Indices (into the component's pairs) of the one-to-one links of the largest total
    ``gain`` (each pair's score above the threshold, >= 0).

    Leaving a record unlinked gains 0, so a pair that is not a candidate counts 0 in
    the assignment matrix and is dropped if chosen: the assignment then maximises the
    total, not the number of links. With a large penalty instead, the solver took as
    many links as it could first (two links of 12 and 9 bits over one of 43: a relative
    holding the person's NIK linked in the person's place)."""
    lu, li = np.unique(left, return_inverse=True)
    ru, ri = np.unique(right, return_inverse=True)
    matrix = np.zeros((len(lu), len(ru)))
    edge = np.zeros((len(lu), len(ru)), dtype=bool)
    matrix[li, ri], edge[li, ri] = gain, True
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    chosen = edge[rows, cols]
    lookup = {(a, b): k for k, (a, b) in enumerate(zip(li, ri, strict=True))}
    return np.array(
        [lookup[(r, c)] for r, c in zip(rows[chosen], cols[chosen], strict=True)], dtype=int
    )


#: Scores are compared to this many decimals in resolution (see :func:`resolve_links`).
SCORE_DECIMALS = 6

#: Resolution modes: optimal one-to-one, one-to-one plus duplicates, best counterpart.
MODES = ("one_to_one", "duplicates", "many_to_one")

DuplicateTest = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class Links:
    """Which candidate pairs are links, and which records duplicate another.

    ``keep`` is a mask over the candidate pairs. ``left_duplicate_of[i]`` is the
    position of the left record that record ``i`` duplicates (-1 if none), and
    likewise on the right.
    """

    keep: np.ndarray
    left_duplicate_of: np.ndarray
    right_duplicate_of: np.ndarray
    #: The duplicate pair's weight (log2 odds on the register's own prior, NaN where the
    #: record duplicates no other; +inf when the test gave no weight), for the links'
    #: error estimate.
    left_duplicate_weight: np.ndarray
    right_duplicate_weight: np.ndarray
    #: The bits the duplicate test added to a pair's weight per register (left, right):
    #: from the prior across the registers to the register's own (:func:`duplicate_shift`).
    duplicate_shift: tuple[float, float] = (0.0, 0.0)
    #: How many links are of members of two joined families, decided on the family's
    #: prior (:func:`member_links`).
    family_members: int = 0


def resolve_links(
    left: np.ndarray,
    right: np.ndarray,
    score: np.ndarray,
    threshold: float,
    n_left: int,
    n_right: int,
    mode: str = "duplicates",
    left_is_duplicate: DuplicateTest | None = None,
    right_is_duplicate: DuplicateTest | None = None,
) -> Links:
    """Links from scored candidate pairs under one of :data:`MODES`.

    ``one_to_one``: :func:`one_to_one`. ``many_to_one``: each left record links
    to its best right record above the threshold (several may share one).
    ``duplicates``: one-to-one, then records left over whose best counterpart
    is taken link to it as well when the ``*_is_duplicate`` test (positions of
    two records of one register -> per pair a bool, or the pair's weight where it
    accepts and NaN where not) accepts them.

    Examples
    --------
    >>> same = lambda a, b: np.ones(len(a), dtype=bool)
    >>> links = resolve_links(np.array([0, 1]), np.array([0, 0]), np.array([5.0, 4.0]), 0.0,
    ...                       2, 1, left_is_duplicate=same)
    >>> links.keep.tolist(), links.left_duplicate_of.tolist()
    ([True, True], [-1, 0])
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    left, right = np.asarray(left), np.asarray(right)
    # to a millionth: ties stay ties (broken by position) whatever order the weights
    # were summed in, so an engine that sums the model's counts by partition links
    # the same records (two duplicates scoring alike against two records otherwise
    # swap on the last bits)
    score = np.round(np.asarray(score, dtype=float), SCORE_DECIMALS)
    left_dup = np.full(n_left, -1, dtype=np.int64)
    right_dup = np.full(n_right, -1, dtype=np.int64)
    left_w, right_w = np.full(n_left, np.nan), np.full(n_right, np.nan)
    if mode == "many_to_one":
        return Links(_best_per_left(left, score, threshold), left_dup, right_dup, left_w, right_w)
    keep = one_to_one(left, right, score, threshold)
    if mode == "duplicates":
        for own, other, test, dup, dup_weight in (
            (left, right, left_is_duplicate, left_dup, left_w),
            (right, left, right_is_duplicate, right_dup, right_w),
        ):
            if test is not None:
                _add_duplicates(own, other, score, threshold, keep, test, dup, dup_weight)
    return Links(keep, left_dup, right_dup, left_w, right_w)


def _best_per_left(left: np.ndarray, score: np.ndarray, threshold: float) -> np.ndarray:
    keep = np.zeros(len(left), dtype=bool)
    cand = np.flatnonzero(score >= threshold)
    order = cand[np.lexsort((-score[cand], left[cand]))]
    first = np.r_[True, left[order][1:] != left[order][:-1]] if len(order) else order
    keep[order[first]] = True
    return keep


def _add_duplicates(
    own: np.ndarray,
    other: np.ndarray,
    score: np.ndarray,
    threshold: float,
    keep: np.ndarray,
    is_duplicate: DuplicateTest,
    duplicate_of: np.ndarray,
    duplicate_weight: np.ndarray,
) -> None:
    """Link left-over ``own`` records to a taken counterpart when they duplicate its owner."""
    linked_own = np.zeros(len(duplicate_of), dtype=bool)
    linked_own[own[keep]] = True
    owner = dict(zip(other[keep].tolist(), own[keep].tolist(), strict=True))
    cand = np.flatnonzero((score >= threshold) & ~keep & ~linked_own[own])
    cand = cand[np.isin(other[cand], other[keep])]
    if not len(cand):
        return
    # each left-over record tries only its best taken counterpart
    cand = cand[np.lexsort((-score[cand], own[cand]))]
    cand = cand[np.r_[True, own[cand][1:] != own[cand][:-1]]]
    partner = np.array([owner[o] for o in other[cand].tolist()], dtype=np.int64)
    verdict = np.asarray(is_duplicate(own[cand], partner))
    if verdict.dtype == bool:
        accepted, weight = verdict, np.where(verdict, np.inf, np.nan)
    else:
        weight = verdict.astype(float)
        accepted = ~np.isnan(weight)
    keep[cand[accepted]] = True
    duplicate_of[own[cand[accepted]]] = partner[accepted]
    duplicate_weight[own[cand[accepted]]] = weight[accepted]


def link_probabilities(
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    keep: np.ndarray,
    prior: float,
    n_left: int,
    n_right: int,
    duplicate_weights: tuple[np.ndarray, np.ndarray] | None = None,
    groups: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Probability that each link (the pairs ``keep`` marks) is right, given the other
    candidates of both its records.

    A pair's match probability treats it alone, with the prior of a random pair. A
    link is not alone: most DTKS records have a counterpart somewhere (share
    ``pi_l`` = expected matches / ``n_left``) and a record has at most one. Taking each
    record's counterpart as one of its candidates or nobody, the link's odds
    ``o = 2 ** weight`` compete with "neither record matched" and with its records'
    rivals (links sharing a record, the duplicates of one register, do not compete)::

        P = o / (o + (1 - pi_l + rivals_l) * (1 - pi_r + rivals_r))

    A rival counts only as far as its other record is free: a pair (L, R') is a rival
    of the link (L, R) with the odds of the pair times ``1 - P`` of the link that holds
    R' (1 when R' is unlinked). A relative's NIK typed on L's row makes (L, R') agree on
    NIK and birth date, but R' is linked to its own record far more surely, and so
    explained away. ``P`` and the rivals' weights are iterated to a fixed point (at
    most :data:`RIVAL_ROUNDS` rounds). Summed over the links, ``1 - P`` estimates the
    false links; counting every rival at full odds overestimated them two to three
    times on the tuning mixes.

    A link that a duplicate shares (``duplicate_weights``: per left and per right
    record the weight of its duplicate pair, NaN for none; see :class:`Links`) is
    right only if the duplicate is: its ``P`` is multiplied by the duplicate pair's
    probability, its weight on the register's own prior (:func:`duplicate_shift`).
    Without it the estimate took duplicates as certain: on the 100,000-household
    benchmark they held 38 of the 52 false links, estimated at 0.3.

    ``groups`` (per side, each record's group; :func:`age_groups`) lets the share
    without a counterpart differ by group: each group's share is that of its records
    the links leave unheld, taken to the fixed point with ``P``. A newborn in Regsosek
    has no DTKS record far more often than an adult (0.9 against 0.5 on the tuning
    mixes), so one share for the register made its links look surer than they are.
    """
    odds = link_odds(weight)
    unmatched = unmatched_shares(prior, n_left, n_right)
    sizes = (n_left, n_right)
    by_group = None if groups is None else RecordGroups.counted(groups, sizes)
    p = explained_away(left, right, odds, keep, unmatched, sizes, by_group)
    if duplicate_weights is not None:
        for own, dup_weight in zip((left, right), duplicate_weights, strict=True):
            p = p * duplicate_probability(dup_weight)[own[keep]]
    return p


def link_odds(weight: np.ndarray) -> np.ndarray:
    """The odds of pairs (``2 ** weight``, the weight clipped to +-60 bits)."""
    return np.exp2(np.clip(np.asarray(weight, dtype=float), -60.0, 60.0))


#: The share of a register's records (or of a group's) without a counterpart, at least.
MIN_UNMATCHED = 0.001


def unmatched_shares(prior: float, n_left: int, n_right: int) -> tuple[float, float]:
    """The share of each register's records without a counterpart, from the prior."""
    matches = prior * n_left * n_right
    pi_l = min(matches / max(n_left, 1), 1 - MIN_UNMATCHED)
    pi_r = min(matches / max(n_right, 1), 1 - MIN_UNMATCHED)
    return 1 - pi_l, 1 - pi_r


#: Rounds of the rivals' reweighting at most: the largest change of a link's probability
#: fell below 1e-9 after 4 rounds at 100,000 households, 16 on the 20,000-household mix04.
RIVAL_ROUNDS = 20
#: Rivals less likely than this are left out: too unlikely to move a sum that starts at
#: 1 - pi >= 0.001 (2 ** -40: a part in a billion).
RIVAL_MIN_ODDS = 2.0**-40


def explained_away(
    left: np.ndarray,
    right: np.ndarray,
    odds: np.ndarray,
    keep: np.ndarray,
    unmatched: tuple[float, float],
    sizes: tuple[int, int],
    groups: RecordGroups | None = None,
) -> np.ndarray:
    """The links' probabilities, each rival weighed by how free its other record is."""
    # the rivals, taken out once (each round reads them all)
    rival = ~keep & (odds > RIVAL_MIN_ODDS)
    rival_left, rival_right, rival_odds = left[rival], right[rival], odds[rival]

    def rival_sums(held_left: np.ndarray, held_right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # a pair at a link's left record rivals it as far as the pair's right record is free
        free_right = rival_odds * (1.0 - held_right[rival_right])
        free_left = rival_odds * (1.0 - held_left[rival_left])
        return (
            np.bincount(rival_left, weights=free_right, minlength=sizes[0]),
            np.bincount(rival_right, weights=free_left, minlength=sizes[1]),
        )

    return rival_fixed_point(
        odds[keep], left[keep], right[keep], unmatched, sizes, rival_sums, groups
    )


#: Given how surely each record of either side is held by a link, the free odds of its
#: rivals summed per record of either side (:func:`rival_fixed_point`).
RivalSums = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def rival_fixed_point(
    odds: np.ndarray,
    link_left: np.ndarray,
    link_right: np.ndarray,
    unmatched: tuple[float, float],
    sizes: tuple[int, int],
    rival_sums: RivalSums,
    groups: RecordGroups | None = None,
) -> np.ndarray:
    """The probabilities of links (their ``odds`` and records, among ``sizes`` records
    of each side), iterated with their rivals (``rival_sums``) to a fixed point; an
    engine sums the rivals where the pairs are. With ``groups``, the shares without a
    counterpart (``unmatched`` in the first round) follow the held records' groups."""
    held_left, held_right = np.zeros(sizes[0]), np.zeros(sizes[1])
    share_l, share_r = np.full(sizes[0], unmatched[0]), np.full(sizes[1], unmatched[1])
    p = np.zeros(len(odds))
    for _ in range(RIVAL_ROUNDS):
        sums_left, sums_right = rival_sums(held_left, held_right)
        alone_l = share_l[link_left] + sums_left[link_left]
        alone_r = share_r[link_right] + sums_right[link_right]
        new = odds / (odds + alone_l * alone_r)
        change = float(np.abs(new - p).max(initial=0.0))
        p = new
        held_left, held_right = np.zeros(sizes[0]), np.zeros(sizes[1])
        np.maximum.at(held_left, link_left, p)
        np.maximum.at(held_right, link_right, p)
        if groups is not None:
            share_l, share_r = groups.unmatched(held_left, held_right)
        if change < 1e-9:
            break
    return p


def sole_floor(threshold: float, prior: float, sizes: tuple[int, int]) -> float:
    """The lowest weight at which two records that are each other's only candidate
    link (:func:`sole_candidates`): their link's odds ``o / (s_l * s_r)`` (each side's
    share of records without a counterpart, :func:`unmatched_shares`) reach the odds
    of the ``threshold`` weight."""
    s_l, s_r = unmatched_shares(prior, sizes[0], sizes[1])
    return round(threshold + float(np.log2(s_l * s_r)), SCORE_DECIMALS)


def sole_candidates(
    left: np.ndarray,
    right: np.ndarray,
    weight: np.ndarray,
    keep: np.ndarray,
    floor: float,
    threshold: float,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Pairs below the ``threshold`` weight to link too: both records left unlinked,
    the pair at least ``floor`` (:func:`sole_floor`), and neither record with another
    such pair to a record left unlinked; only pairs ``eligible`` link (those whose
    weight is the Fellegi-Sunter model's), though every pair counts as a rival.

    A pair's match probability takes it as one of all the registers' pairs. Most DTKS
    records have a counterpart in Regsosek (share ``1 - s_l``), and a record has one
    at most: when two records are each other's only candidate and nothing else claims
    them, the odds that they are one person are the pair's odds against "neither has a
    counterpart", ``o / (s_l * s_r)`` (:func:`link_probabilities` with no rivals), not
    ``o``. A candidate whose other record is linked is no rival (that record is
    held), as in the error estimate. On the tuning scenarios mix02, mix04 and ``hard``
    at 20,000 households, such pairs between -4 and 0 bits were one person 132 times
    in 146, as the odds say (about 0.1 / 0.027).

    Examples
    --------
    >>> left, right = np.array([0, 1, 1]), np.array([0, 1, 2])
    >>> weight, keep = np.array([9.0, -2.0, -3.0]), np.array([True, False, False])
    >>> sole_candidates(left, right, weight, keep, -5.0, 0.0).tolist()  # 1 has two
    [False, False, False]
    >>> sole_candidates(left[:2], right[:2], weight[:2], keep[:2], -5.0, 0.0).tolist()
    [False, True]
    """
    left, right = np.asarray(left), np.asarray(right)
    weight = np.round(np.asarray(weight, dtype=float), SCORE_DECIMALS)
    n_left = int(left.max(initial=-1)) + 1
    n_right = int(right.max(initial=-1)) + 1
    linked_left = np.bincount(left[keep], minlength=n_left) > 0
    linked_right = np.bincount(right[keep], minlength=n_right) > 0
    open_pair = ~linked_left[left] & ~linked_right[right] & (weight >= floor)
    per_left = np.bincount(left[open_pair], minlength=n_left)
    per_right = np.bincount(right[open_pair], minlength=n_right)
    sole = open_pair & (per_left[left] == 1) & (per_right[right] == 1) & (weight < threshold)
    return sole if eligible is None else sole & eligible


def below_threshold(link_weight: np.ndarray, threshold: float) -> np.ndarray:
    """Which links are below the ``threshold`` weight as pairs (weights compared as
    resolution compares them): the sole candidates, every other link (duplicates,
    reviewed pairs) being at or above it."""
    return np.round(np.asarray(link_weight, dtype=float), SCORE_DECIMALS) < threshold


def sole_link_probabilities(
    link_weight: np.ndarray,
    link_p: np.ndarray,
    threshold: float,
    prior: float,
    sizes: tuple[int, int],
    families: FamilyLinks | None = None,
) -> np.ndarray:
    """The links' probabilities (``link_p``, :func:`link_probabilities`) with those of
    the sole candidates (links below the ``threshold`` weight) as their decision took
    them: the odds against "neither record has a counterpart", each register's share
    without one from the ``prior`` (:func:`sole_floor`), rivals and age bands aside;
    with ``families`` (the links' records and every record's family), a sole link
    between two families that another link joins takes the shares of the records of
    families holding a link (:meth:`FamilyLinks.unmatched`).

    With the age bands' shares the estimate put 90 false links among the sole
    candidates of four tuning scenarios at 20,000 households (mix01, mix02, mix04,
    ``hard``) where there were 59; with the registers' shares, as decided, 70. Between
    two families joined by another link the registers' shares (about 0.05 and 0.55)
    made the estimate 4 to 8 times too high: such a record lacks a counterpart as
    seldom as its family's other members (about 0.02 and 0.07; the tuning scenarios:
    7 false among 407 such links at 20,000 households, estimated 79.5, now 6.6; 43
    among 1,936 at 100,000, estimated 363, now 30).
    """
    sole = below_threshold(link_weight, threshold)
    if not sole.any():
        return link_p
    s_l, s_r = unmatched_shares(prior, sizes[0], sizes[1])
    shares = np.full(int(sole.sum()), s_l * s_r)
    if families is not None:
        joined = families.joined(~sole)[sole]
        f_l, f_r = families.unmatched(~sole)
        shares[joined] = f_l * f_r
    odds = link_odds(np.asarray(link_weight, dtype=float)[sole])
    out = np.array(link_p, dtype=float)
    out[sole] = odds / (odds + shares)
    return out


@dataclass(frozen=True)
class FamilyLinks:
    """The links' records (``left``, ``right``: positions) and every record's family
    per side (``family``: codes, -1 for none or one too large to pair member by member),
    for the family context of pairs linked below the threshold."""

    left: np.ndarray
    right: np.ndarray
    family: tuple[np.ndarray, np.ndarray]

    def holding(self, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per side and record, whether its family holds one of the links ``which``."""
        return (
            family_holds(self.family[0], self.left[which]),
            family_holds(self.family[1], self.right[which]),
        )

    def joined(self, which: np.ndarray) -> np.ndarray:
        """Per link, whether its two records' families share one of the links ``which``."""
        return families_joined(
            self.family, (self.left, self.right), (self.left[which], self.right[which])
        )

    def unmatched(self, which: np.ndarray) -> tuple[float, float]:
        """Per side, the share of the records of families holding one of the links
        ``which`` that no link holds (at least :data:`MIN_UNMATCHED`)."""
        hold_l, hold_r = self.holding(which)
        return unheld_share(hold_l, self.left), unheld_share(hold_r, self.right)


def unheld_share(members: np.ndarray, own: np.ndarray) -> float:
    """The share of the records ``members`` (a mask) that are not among the linked
    positions ``own`` (at least :data:`MIN_UNMATCHED`; 1 for no members)."""
    linked = np.zeros(len(members), dtype=bool)
    linked[own] = True
    count = int(members.sum())
    share = 1.0 - int((linked & members).sum()) / count if count else 1.0
    return max(share, MIN_UNMATCHED)


def family_holds(family: np.ndarray, linked: np.ndarray) -> np.ndarray:
    """Per record, whether its family (codes, -1 for none) has a record among the
    positions ``linked``; False for a record of no family.

    >>> family_holds(np.array([0, 0, 1, -1]), np.array([1])).tolist()
    [True, True, False, False]
    >>> family_holds(np.array([-1, -1]), np.array([0])).tolist()
    [False, False]
    """
    family = np.asarray(family)
    known = family >= 0
    has = np.zeros(max(int(family.max(initial=-1)) + 1, 1), dtype=bool)  # no family: one
    at = family[np.asarray(linked, dtype=np.intp)]
    has[at[at >= 0]] = True
    return known & has[np.maximum(family, 0)]


def orphan_pairs(
    family: tuple[np.ndarray, np.ndarray], left: np.ndarray, right: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Pairs (positions ``left``, ``right``) whose two records belong to known families
    of which neither holds one of the links ``keep``: a family no link reaches is,
    nearly always, one the other register has not got, so two such records are each
    other's only candidate far more often by chance than as one person (on the tuning
    scenarios 48 of 63 such sole links were false at 20,000 households, 386 of 451 at
    100,000). They are no sole candidates (:func:`sole_candidates`).

    >>> fam = (np.array([0, 1]), np.array([0, 1]))
    >>> orphan_pairs(fam, np.array([0, 1]), np.array([0, 1]), np.array([True, False])).tolist()
    [False, True]
    """
    hold_l = family_holds(family[0], left[keep])
    hold_r = family_holds(family[1], right[keep])
    known = (family[0][left] >= 0) & (family[1][right] >= 0)
    return known & ~hold_l[left] & ~hold_r[right]


def member_pool(
    family: tuple[np.ndarray, np.ndarray], left: np.ndarray, right: np.ndarray, keep: np.ndarray
) -> np.ndarray:
    """Pairs (positions ``left``, ``right``) of two records that none of the links
    ``keep`` holds, members of two families (codes per side, -1 for none) that one of
    the links joins (:func:`member_links`).

    >>> fam = (np.array([0, 0, 1]), np.array([0, 0, 1]))
    >>> left, right = np.array([0, 1, 1, 2]), np.array([0, 1, 0, 1])
    >>> member_pool(fam, left, right, np.array([True, False, False, False])).tolist()
    [False, True, False, False]
    """
    held_l = np.bincount(left[keep], minlength=len(family[0])) > 0
    held_r = np.bincount(right[keep], minlength=len(family[1])) > 0
    # few pairs have both records unlinked: only those are looked up
    free = np.flatnonzero(~held_l[left] & ~held_r[right])
    out = np.zeros(len(left), dtype=bool)
    out[free] = families_joined(family, (left[free], right[free]), (left[keep], right[keep]))
    return out


def families_joined(
    family: tuple[np.ndarray, np.ndarray],
    pairs: tuple[np.ndarray, np.ndarray],
    anchors: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Per pair (positions left, right), whether its two records' families (codes per
    side, -1 for none) are those of one of the ``anchors`` (pairs of positions too).

    >>> fam = (np.array([0, 0, -1]), np.array([0, 0]))
    >>> pairs = (np.array([0, 1, 2]), np.array([0, 1, 1]))
    >>> families_joined(fam, pairs, (np.array([0]), np.array([0]))).tolist()
    [True, True, False]
    """
    width = int(family[1].max(initial=-1)) + 1

    def keys(at: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        fam_l, fam_r = family[0][at[0]], family[1][at[1]]
        return (fam_l >= 0) & (fam_r >= 0), fam_l.astype(np.int64) * width + fam_r

    both, key = keys(pairs)
    known, anchor = keys(anchors)
    return both & np.isin(key, anchor[known])


def family_prior_weight(
    family: tuple[np.ndarray, np.ndarray], left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Per pair, log2 of the prior odds that two members of two families that are one
    household in both registers are one person: 1 : (n - 1), ``n`` the larger family
    (each member's counterpart, if it has one, is one of the other family's members);
    at most even odds. NaN for a record of no family.

    >>> fam = (np.array([0, 0, 0, -1]), np.array([0, 0]))
    >>> family_prior_weight(fam, np.array([0, 3]), np.array([1, 1])).tolist()
    [-1.0, nan]
    """
    sizes = []
    for codes, at in zip(family, (left, right), strict=True):
        width = max(int(codes.max(initial=-1)) + 1, 1)  # no family: one empty
        counts = np.bincount(codes[codes >= 0], minlength=width)
        sizes.append(np.where(codes[at] >= 0, counts[np.maximum(codes[at], 0)], 0))
    n = np.maximum(np.maximum(sizes[0], sizes[1]), 2).astype(float)
    known = (family[0][left] >= 0) & (family[1][right] >= 0)
    return np.where(known, -np.log2(n - 1), np.nan)


def member_links(
    left: np.ndarray, right: np.ndarray, weight: np.ndarray, pool: np.ndarray, threshold: float
) -> np.ndarray:
    """Pairs of the ``pool`` (:func:`member_pool`) linked one-to-one by ``weight`` (their
    weights on the family prior, :func:`family_prior_weight`) from the ``threshold``.

    A member of a family that a link joins to a family of the other register is, more
    often than not, in that family there: a pair of its unlinked members is one person
    with prior odds about 1 : (n - 1), not the prior of two records of the registers
    (about 2 ** -18 at 100,000 households), and their household's agreement says nothing
    more about which member is which. A member whose sex was mistyped, whose NIK and
    birth date are missing, escapes the threshold on the registers' prior however its
    name agrees; on its family's, it links. On the tuning mixes (mix01, mix02, mix05,
    mix06) at 20,000 households such links were right 100 times of 101.
    """
    weight = np.round(np.asarray(weight, dtype=float), SCORE_DECIMALS)
    rows = np.flatnonzero(pool & (weight >= threshold))
    out = np.zeros(len(left), dtype=bool)
    if len(rows):
        out[rows[one_to_one(left[rows], right[rows], weight[rows], threshold)]] = True
    return out


#: Ages (in whole years before the registers' latest birth year) where a group of
#: :func:`age_groups` starts: under 3 (born after an older snapshot), school age,
#: working age, older, oldest (deaths between snapshots); records without a year are
#: a group of their own.
AGE_BANDS = (0, 3, 18, 60, 75)


def age_groups(birth_years: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each record's age band (:func:`age_bands`), per side, counting ages from the
    latest birth year of either register (the newest snapshot, whatever the calendar
    says)."""
    newest = max(newest_year(years) for years in birth_years)
    return age_bands(birth_years[0], newest), age_bands(birth_years[1], newest)


def newest_year(birth_years: np.ndarray) -> float:
    """The latest known birth year (-inf for none)."""
    known = birth_years[~np.isnan(birth_years)]
    return float(known.max()) if len(known) else -np.inf


def age_bands(birth_years: np.ndarray, newest: float) -> np.ndarray:
    """Each record's age band, ages counted from the ``newest`` year: codes 0 to
    ``len(AGE_BANDS) - 1`` by :data:`AGE_BANDS`, ``len(AGE_BANDS)`` for an unknown year."""
    unknown = np.isnan(birth_years)
    age = np.where(unknown, 0.0, newest - birth_years)
    band = np.searchsorted(np.array(AGE_BANDS), age, side="right") - 1
    return np.where(unknown, len(AGE_BANDS), band).astype(np.int8)


@dataclass(frozen=True)
class RecordGroups:
    """Records grouped per side for their share without a counterpart: ``of`` each
    record's group, indexed as the fixed point holds them (every record, or an engine's
    linked records; integer codes), ``size`` the records of every group."""

    of: tuple[np.ndarray, np.ndarray]
    size: tuple[np.ndarray, np.ndarray]

    @classmethod
    def counted(
        cls,
        groups: tuple[np.ndarray, np.ndarray],
        sizes: tuple[int, int],
        held: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> RecordGroups:
        """Groups of every record (``sizes`` of them per side), sized by counting; the
        fixed point holds every record, or only those at positions ``held``."""
        of, size = [], []
        for side in (0, 1):
            if len(groups[side]) != sizes[side]:
                raise ValueError(f"groups: {len(groups[side])} codes for {sizes[side]} records")
            codes = groups[side].astype(np.intp)
            size.append(np.bincount(codes))
            of.append(codes if held is None else codes[held[side]])
        return cls((of[0], of[1]), (size[0], size[1]))

    def unmatched(
        self, held_left: np.ndarray, held_right: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per side and record, its group's share that the links leave unheld."""
        return self._share(0, held_left), self._share(1, held_right)

    def _share(self, side: int, held: np.ndarray) -> np.ndarray:
        of, size = self.of[side], self.size[side]
        taken = np.bincount(of, weights=held, minlength=len(size))
        share = 1.0 - taken / np.maximum(size, 1)
        return np.clip(share, MIN_UNMATCHED, 1.0)[of]


def duplicate_probability(dup_weight: np.ndarray) -> np.ndarray:
    """Per record, the probability that it is the record it duplicates (1 if it
    duplicates none): ``dup_weight`` is its pair's weight on the register's own prior
    (:func:`duplicate_shift`), NaN for none."""
    dup_weight = np.asarray(dup_weight, dtype=float)
    found = ~np.isnan(dup_weight)
    return np.where(found, probability(np.where(found, dup_weight, 0.0)), 1.0)


#: Rounds of the register's own prior at most (:func:`duplicate_shift`): it moved by less
#: than a millionth of a bit after 3-7 rounds on four tuning scenarios at 20,000
#: households (200-650 tested pairs in DTKS, 8-29 in Regsosek).
SHIFT_ROUNDS = 100


def duplicate_evidence(
    own: np.ndarray, link_weight: np.ndarray, dup_weight: np.ndarray, shift: float
) -> np.ndarray:
    """Per record of one register, the weight that it is the record it duplicates:
    the larger of its duplicate pair's (``dup_weight``, on the register's own prior,
    NaN for none) and its link's (``link_weight``, the links' weights across the
    registers, ``own`` their records on this side) moved to that prior by ``shift``.

    A duplicate's link (L2, R) is right if L2 is the record L1 that holds R. Its pair
    with L1 and its link with R are two views of that: when L1 and R are near copies
    they say the same, otherwise one sees what the other misses (L1's mistyped date).
    Given that L1 is R, another person resembles both no more often than either, so
    the stronger is the evidence. With the pair with L1 alone, the error estimate put
    27.7 false duplicate links where the eight tuning scenarios at 20,000 households
    had 9, and 96.9 for 48 on the six at 100,000; with the stronger, 16.9 and 57.5.

    >>> duplicate_evidence(np.array([0, 1, 2]), np.array([30.0, 30.0, 2.0]),
    ...                    np.array([4.0, np.nan, 8.0]), -20.0).tolist()
    [10.0, nan, 8.0]
    """
    out = np.array(dup_weight, dtype=float)
    found = ~np.isnan(out[own])
    at = own[found]
    out[at] = np.maximum(out[at], own_prior_weight(np.asarray(link_weight)[found], shift))
    return out


def own_prior_weight(weight: np.ndarray, shift: float) -> np.ndarray:
    """Weights of pairs of one register moved by ``shift`` bits to its own prior
    (:func:`duplicate_shift`), rounded first as resolution compares them."""
    return np.round(np.asarray(weight, dtype=float), SCORE_DECIMALS) + shift


def duplicate_shift(tested: np.ndarray, n_records: int, prior: float) -> float:
    """The bits that move the weight of two records of one register from the prior of
    a pair across the registers (``prior``) to the register's own.

    Two records of one register are far less often one person than a DTKS and a
    Regsosek record: a register holds a few duplicates among its n (n - 1) / 2 pairs.
    That share is estimated as EM estimates a prior with m and u fixed: the expected
    duplicates among the pairs resolution tested (``tested``: their weights on
    ``prior``, where the person evidence holds; any other pair of the register is
    taken as two people), iterated to a fixed point from ``prior``; the register is
    taken to hold at least one duplicate. Pairs are summed in sorted order, and the
    result rounded, so that an engine that gathers the tested pairs group by group
    gets the same shift.

    >>> round(duplicate_shift(np.array([40.0, 40.0]), 1000, 1e-3), 2)  # 2 of 499,500
    -7.97
    """
    weights = np.sort(np.round(np.asarray(tested, dtype=float), SCORE_DECIMALS))
    pairs = n_records * (n_records - 1) / 2
    if pairs < 1:
        return 0.0
    shift = 0.0
    for _ in range(SHIFT_ROUNDS):
        expected = float(np.sum(probability(weights + shift)))
        # at least one duplicate: with none, the share falls to zero, and no pair,
        # however alike, could be one; at most even odds (a tiny register)
        within = min(max(expected, 1.0) / pairs, 0.5)
        new = logit2(within) - logit2(prior)
        done = abs(new - shift) < 1e-6
        shift = new
        if done:
            break
    return round(shift, SCORE_DECIMALS)


__all__ = [
    "AGE_BANDS",
    "DuplicateTest",
    "FamilyLinks",
    "Links",
    "MAX_DENSE_PAIRS",
    "MODES",
    "MIN_UNMATCHED",
    "RIVAL_MIN_ODDS",
    "RecordGroups",
    "RivalSums",
    "SCORE_DECIMALS",
    "SHIFT_ROUNDS",
    "age_bands",
    "age_groups",
    "below_threshold",
    "duplicate_evidence",
    "duplicate_probability",
    "duplicate_shift",
    "explained_away",
    "families_joined",
    "family_holds",
    "family_prior_weight",
    "link_odds",
    "link_probabilities",
    "member_links",
    "member_pool",
    "newest_year",
    "one_to_one",
    "orphan_pairs",
    "own_prior_weight",
    "resolve_links",
    "rival_fixed_point",
    "sole_candidates",
    "sole_floor",
    "sole_link_probabilities",
    "unheld_share",
    "unmatched_shares",
]
