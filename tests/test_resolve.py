"""One-to-one resolution of scored pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linear_sum_assignment

from bansos_linkage.linkage.resolve import (
    MIN_UNMATCHED,
    duplicate_evidence,
    duplicate_probability,
    link_probabilities,
    one_to_one,
)


def test_best_total_assignment_not_greedy():
    # greedy would take (0,0)=0.9 and leave 1 unmatched; the optimum links both
    left, right = np.array([0, 0, 1]), np.array([0, 1, 0])
    score = np.array([0.9, 0.8, 0.85])
    keep = one_to_one(left, right, score, 0.5)
    assert keep.tolist() == [False, True, True]


def test_threshold_and_singletons():
    keep = one_to_one(np.array([0, 1, 2]), np.array([0, 1, 2]), np.array([0.9, 0.4, 0.6]), 0.5)
    assert keep.tolist() == [True, False, True]
    assert not one_to_one(np.array([0]), np.array([0]), np.array([0.1]), 0.5).any()


def _best_total(pairs: np.ndarray, gain: np.ndarray, n: int) -> float:
    """The largest total gain of a one-to-one matching, each record free to stay
    unlinked: the assignment over the records plus one "unlinked" column per left
    record and one "unlinked" row per right record (gain 0, only its own)."""
    forbidden = -1e12
    matrix = np.full((2 * n, 2 * n), forbidden)
    matrix[pairs[:, 0], pairs[:, 1]] = gain
    matrix[np.arange(n), n + np.arange(n)] = 0.0  # left record unlinked
    matrix[n + np.arange(n), np.arange(n)] = 0.0  # right record unlinked
    matrix[n:, n:] = 0.0
    r, c = linear_sum_assignment(matrix, maximize=True)
    return float(matrix[r, c].sum())


def test_no_record_gets_two_counterparts_on_random_graphs():
    rng = np.random.default_rng(4)
    for _ in range(20):
        n = 60
        left = rng.integers(0, 15, n)
        right = rng.integers(0, 15, n)
        pairs = np.unique(np.column_stack([left, right]), axis=0)
        score = rng.random(len(pairs))
        keep = one_to_one(pairs[:, 0], pairs[:, 1], score, 0.2)
        kept = pairs[keep]
        assert len(np.unique(kept[:, 0])) == len(kept) == len(np.unique(kept[:, 1]))
        assert (score[keep] >= 0.2).all()
        # the total above the threshold is the best any matching of candidates gets
        ok = score >= 0.2
        best = _best_total(pairs[ok], score[ok] - 0.2, 15)
        assert abs((score[keep] - 0.2).sum() - best) < 1e-9


def test_one_strong_link_beats_two_weaker_ones():
    # left 0 holds the person's NIK and name (43 bits with right 0); right 1 is a
    # relative whose row carries the same NIK (12 bits with left 0), left 1 a weaker
    # registration of the person (9 bits with right 0). As many links as possible
    # would be 12 + 9 = 21 bits; the best total is the single 43-bit link
    left, right = np.array([0, 0, 1]), np.array([0, 1, 0])
    keep = one_to_one(left, right, np.array([42.7, 12.5, 9.4]), 0.0)
    assert keep.tolist() == [True, False, False]
    # the same shape with the two links worth more together still links both
    keep = one_to_one(left, right, np.array([20.0, 12.5, 9.4]), 0.0)
    assert keep.tolist() == [False, True, True]


def test_huge_component_is_resolved_greedily_within_memory(monkeypatch):
    from bansos_linkage.linkage import resolve

    monkeypatch.setattr(resolve, "MAX_DENSE_PAIRS", 3)
    left, right = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    keep = one_to_one(left, right, np.array([0.9, 0.8, 0.85, 0.1]), 0.0)
    # greedy takes the best pair (0,0) first, then the best left over (1,1)
    assert keep.tolist() == [True, False, False, True]


def test_duplicates_of_one_register_share_their_person_counterpart():
    from bansos_linkage.linkage.resolve import resolve_links

    # left 0 and 1 are one person registered twice, left 2 another person
    left, right = np.array([0, 1, 2, 2]), np.array([0, 0, 0, 1])
    score = np.array([6.0, 5.0, 1.0, 4.0])
    same_person = {(1, 0), (0, 1)}

    def is_dup(a, b):
        return np.array([(int(x), int(y)) in same_person for x, y in zip(a, b, strict=True)])

    strict = resolve_links(left, right, score, 0.0, 3, 2, mode="one_to_one")
    assert strict.keep.tolist() == [True, False, False, True]
    links = resolve_links(left, right, score, 0.0, 3, 2, left_is_duplicate=is_dup)
    assert links.keep.tolist() == [True, True, False, True]
    assert links.left_duplicate_of.tolist() == [-1, 0, -1]
    # without the evidence that they are one person, record 1 stays unlinked
    never = resolve_links(left, right, score, 0.0, 3, 2, left_is_duplicate=lambda a, b: a < 0)
    assert never.keep.tolist() == strict.keep.tolist()
    many = resolve_links(left, right, score, 0.0, 3, 2, mode="many_to_one")
    assert many.keep.tolist() == [True, True, False, True]


def test_unknown_mode_is_refused():
    from bansos_linkage.linkage.resolve import resolve_links

    with pytest.raises(ValueError, match="mode"):
        resolve_links(np.array([0]), np.array([0]), np.array([1.0]), 0.0, 1, 1, mode="greedy")


def test_link_probabilities_weigh_the_rivals_of_both_records():
    # pairs: (0,0) alone; (1,1) and its rival (1,2); a link of odds 1 (weight 0) each
    left, right = np.array([0, 1, 1]), np.array([0, 1, 2])
    weight = np.array([0.0, 0.0, 0.0])
    keep = np.array([True, True, False])
    # nearly every left record has a counterpart: a lone even-odds link is likely right
    p = link_probabilities(left, right, weight, keep, 0.9 / 3, 2, 3)
    assert p[0] > 0.5 and p[1] < p[0]
    assert p[1] == pytest.approx(1 / (1 + (1 - 0.9 + 1) * (1 - 0.6)))
    # few records have one: the same lone link stays near its pairwise probability
    assert 0.5 < link_probabilities(left, right, weight, keep, 0.1 / 3, 2, 3)[0] < 0.6 < p[0]


def test_a_rival_whose_other_record_is_surely_linked_is_explained_away():
    # link (0,0) of weight 3; rival (0,1) of weight 15: a relative's NIK on left 0's row
    # makes it agree with right 1, a person of its own
    left, right = np.array([0, 0]), np.array([0, 1])
    weight = np.array([3.0, 15.0])
    keep = np.array([True, False])
    free = link_probabilities(left, right, weight, keep, 0.5 / 3, 3, 3)[0]
    assert free < 0.01  # right 1 has nobody else: the rival may well be the truth
    # right 1 is linked to left 1 at 40 bits: it is taken, the link (0,0) stands
    left2, right2 = np.append(left, 1), np.append(right, 1)
    p = link_probabilities(
        left2, right2, np.append(weight, 40.0), np.append(keep, True), 0.5 / 3, 3, 3
    )
    assert p[0] > 0.6 > free and p[1] > 0.999
    # a weakly held right 1 explains the rival away only in part
    weak = link_probabilities(
        left2, right2, np.append(weight, 16.0), np.append(keep, True), 0.5 / 3, 3, 3
    )
    assert free < weak[0] < p[0]


def test_a_link_shared_by_a_duplicate_is_as_sure_as_the_duplicate():
    from bansos_linkage.linkage.resolve import resolve_links

    # left records 0 and 1 both link right record 0: 1 as a duplicate of 0
    left, right = np.array([0, 1]), np.array([0, 0])
    weight = np.array([20.0, 20.0])
    pairs_weight = {"strong": 12.0, "weak": -2.0}  # on the register's own prior
    p = {}
    for name, w in pairs_weight.items():
        links = resolve_links(
            left,
            right,
            weight,
            0.0,
            1000,
            1,
            left_is_duplicate=lambda a, b, w=w: np.full(len(a), w),
        )
        assert links.keep.tolist() == [True, True]
        assert links.left_duplicate_of[1] == 0 and links.left_duplicate_weight[1] == w
        dup = (links.left_duplicate_weight, links.right_duplicate_weight)
        p[name] = link_probabilities(left, right, weight, links.keep, 1e-3, 1000, 1, dup)
        # the owner's link is untouched; the duplicate's is no surer than the duplicate
        no_dup = link_probabilities(left, right, weight, links.keep, 1e-3, 1000, 1)
        assert p[name][0] == no_dup[0] and p[name][1] <= no_dup[1]
    assert p["strong"][1] > 0.99 > 0.5 > p["weak"][1]


def test_the_register_prior_is_estimated_from_the_tested_pairs():
    from bansos_linkage.linkage.fellegi_sunter import logit2, probability
    from bansos_linkage.linkage.resolve import duplicate_shift

    n, prior = 1000, 1e-3
    pairs = n * (n - 1) / 2
    # two sure duplicates among the register's 499,500 pairs: its prior is theirs
    sure = duplicate_shift(np.array([40.0, 40.0]), n, prior)
    assert sure == pytest.approx(logit2(2 / pairs) - logit2(prior), abs=1e-4)
    # a pair of 6 bits would be a likely match across the registers, not here
    assert probability(6.0) > 0.98 and probability(6.0 + sure) < 0.5
    # weak pairs add their probabilities (a fixed point: EM with m and u fixed)
    mixed = duplicate_shift(np.array([40.0, 40.0, 0.0, 0.0]), n, prior)
    expected = 2 + 2 * float(probability(0.0 + mixed))
    assert mixed == pytest.approx(logit2(expected / pairs) - logit2(prior), abs=1e-4)
    assert sure < mixed
    # nothing like a duplicate: still one duplicate's worth, never a zero prior
    none = duplicate_shift(np.array([-30.0]), n, prior)
    assert none == pytest.approx(logit2(1 / pairs) - logit2(prior), abs=1e-4)
    assert duplicate_shift(np.zeros(0), n, prior) == none
    assert duplicate_shift(np.zeros(0), 1, prior) == 0.0  # one record: no pair
    # the order the pairs come in (group by group on an engine) changes nothing
    weights = np.random.default_rng(0).normal(0, 15, 500)
    assert duplicate_shift(weights, n, prior) == duplicate_shift(weights[::-1], n, prior)


def test_a_boolean_duplicate_test_counts_as_certain():
    from bansos_linkage.linkage.resolve import resolve_links

    left, right = np.array([0, 1]), np.array([0, 0])
    same = lambda a, b: np.ones(len(a), dtype=bool)  # noqa: E731
    links = resolve_links(left, right, np.array([5.0, 4.0]), 0.0, 2, 1, left_is_duplicate=same)
    assert links.left_duplicate_weight[1] == np.inf and np.isnan(links.left_duplicate_weight[0])
    dup = (links.left_duplicate_weight, links.right_duplicate_weight)
    with_dup = link_probabilities(left, right, np.array([5.0, 4.0]), links.keep, 0.5, 2, 1, dup)
    assert with_dup == pytest.approx(
        link_probabilities(left, right, np.array([5.0, 4.0]), links.keep, 0.5, 2, 1)
    )


def test_ties_are_broken_by_position_not_by_the_last_bits():
    from bansos_linkage.linkage.resolve import resolve_links

    # two DTKS registrations scoring alike against a complete and a weak Regsosek
    # record: two equally good assignments; noise in the last bits (a model summed in
    # another order) must not pick a different one
    left, right = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    base = np.array([20.0, 3.0, 20.0, 3.0])
    kept = []
    for noisy in range(4):
        score = base.copy()
        score[noisy] += 1e-12
        links = resolve_links(left, right, score, 0.0, 2, 2, mode="one_to_one")
        kept.append(links.keep.tolist())
    assert all(k == kept[0] for k in kept)
    assert sum(kept[0]) == 2


def test_best_candidates_tie_as_resolution_compares_weights():
    from bansos_linkage.linkage.outputs import best_candidates

    # record 0: two candidates a float's last bits apart (levels sharing one m/u ratio,
    # summed in another order by another engine) tie, and the lower position wins
    # whichever weighs a hair more; record 1: a real difference still decides
    own = np.array([0, 0, 1, 1])
    other = np.array([7, 3, 5, 2])
    for eps in (1e-12, -1e-12):
        weight = np.array([4.0, 4.0 + eps, 2.0, 1.5])
        w, partner = best_candidates(own, other, weight, 3)
        assert partner[:2].tolist() == [3.0, 5.0] and np.isnan(partner[2])
        assert w[0] == 4.0 + eps and w[1] == 2.0 and np.isnan(w[2])


def test_age_groups_count_ages_from_the_newest_birth_year_of_either_register():
    from bansos_linkage.linkage.resolve import AGE_BANDS, age_groups

    left = np.array([2021.0, 2019.0, 2000.0, 1960.0, 1950.0, 1930.0, np.nan])
    right = np.array([2022.0, 2020.0])  # the newest year is the right register's
    coded_left, coded_right = age_groups((left, right))
    # ages 1, 3, 22, 62, 72, 92 and unknown; 0 and 2
    assert coded_left.tolist() == [0, 1, 2, 3, 3, 4, len(AGE_BANDS)]
    assert coded_right.tolist() == [0, 0]
    # no year anywhere: every record unknown
    assert age_groups((np.full(2, np.nan), np.full(1, np.nan)))[0].tolist() == [5, 5]


def test_a_group_mostly_without_counterparts_makes_its_links_less_sure():
    # right records 0-9 (adults) each linked surely to left 0-9; right 10-19 (newborns)
    # hold one weak link (left 10, right 10); left 11-21 unlinked; one group on the left
    left, right = np.arange(11), np.arange(11)
    weight = np.append(np.full(10, 30.0), 3.0)
    keep = np.ones(11, dtype=bool)
    prior = 11 / (22 * 20)
    alone = link_probabilities(left, right, weight, keep, prior, 22, 20)
    groups = (np.zeros(22, dtype=np.int8), np.repeat(np.array([0, 1], dtype=np.int8), 10))
    grouped = link_probabilities(left, right, weight, keep, prior, 22, 20, None, groups)
    # one share for the register: 1 - 11/20 = 0.45; the newborns' own: 1 - 1/10 or so
    assert alone[10] == pytest.approx(8 / (8 + 0.5 * 0.45), abs=1e-9)
    assert grouped[10] < alone[10] - 0.02
    expected = 8 / (8 + (1 - grouped.sum() / 22) * (1 - grouped[10] / 10))
    assert grouped[10] == pytest.approx(expected, abs=1e-6)  # the fixed point's own shares
    np.testing.assert_allclose(grouped[:10], alone[:10], atol=1e-6)
    with pytest.raises(ValueError, match="codes for 20 records"):
        link_probabilities(left, right, weight, keep, prior, 22, 20, None, (groups[0], groups[0]))


def test_record_age_groups_read_the_birth_date_else_the_nik_date():
    from bansos_linkage.linkage.outputs import birth_years, record_age_groups

    frame = pd.DataFrame(
        {
            "birth_date": pd.to_datetime(["2020-05-01", None, None]),
            "nik_birth_date": pd.to_datetime(["1990-01-01", "1950-02-03", None]),
        }
    )
    np.testing.assert_array_equal(birth_years(frame), [2020.0, 1950.0, np.nan])
    only_names = pd.DataFrame({"full_name": ["A", "B"]})
    assert record_age_groups(only_names, only_names) is None
    groups = record_age_groups(frame, only_names)
    assert groups is not None
    assert groups[0].tolist() == [0, 3, 5] and groups[1].tolist() == [5, 5]


def test_sole_candidates_link_where_nothing_else_claims_either_record():
    from bansos_linkage.linkage.resolve import sole_candidates

    # pairs: 0 a link; 1 alone below the threshold; 2 and 3 share left 2 (rivals);
    # 4 below the floor; 5 shares right 0 with the link (held: no rival), so left 5
    # is alone with right 5 (pair 6)
    left = np.array([0, 1, 2, 2, 3, 5, 5])
    right = np.array([0, 1, 2, 3, 4, 0, 5])
    weight = np.array([30.0, -2.0, -1.0, -3.0, -9.0, -1.0, -4.0])
    keep = np.array([True, False, False, False, False, False, False])
    sole = sole_candidates(left, right, weight, keep, -5.0, 0.0)
    assert sole.tolist() == [False, True, False, False, False, False, True]
    # a threshold of 0 bits with (1 - pi) shares 0.05 and 0.5: the link's odds o / 0.025
    # reach even odds at o = 0.025, -5.32 bits
    from bansos_linkage.linkage.fellegi_sunter import logit2
    from bansos_linkage.linkage.resolve import sole_floor

    n_left, n_right = 1000, 1900  # 950 matches: 5% and 50% without a counterpart
    prior = 950 / (n_left * n_right)
    floor = sole_floor(0.0, prior, (n_left, n_right))
    assert floor == pytest.approx(np.log2(0.05 * 0.5), abs=1e-6)
    assert sole_floor(logit2(0.9), prior, (n_left, n_right)) == pytest.approx(floor + logit2(0.9))


def test_sole_candidates_are_estimated_as_they_were_decided():
    from bansos_linkage.linkage.resolve import sole_link_probabilities, unmatched_shares

    prior, sizes = 950 / (1000 * 1900), (1000, 1900)
    link_p = np.array([0.999, 0.4])
    out = sole_link_probabilities(np.array([12.0, -3.0]), link_p, 0.0, prior, sizes)
    s_l, s_r = unmatched_shares(prior, *sizes)
    assert out[0] == 0.999  # at the threshold as a pair: its estimate stays
    assert out[1] == pytest.approx(2.0**-3 / (2.0**-3 + s_l * s_r))
    assert link_p.tolist() == [0.999, 0.4]  # not changed in place


def test_sole_candidates_of_two_families_no_link_reaches_are_not_linked():
    from bansos_linkage.linkage.resolve import orphan_pairs, sole_candidates

    # families: left 0, 1 one family (0), left 2 family 1, left 3 none; right 0, 1
    # family 0, right 2 family 1, right 3 family 2
    family = (np.array([0, 0, 1, -1]), np.array([0, 0, 1, 2]))
    left, right = np.array([0, 1, 2, 3]), np.array([0, 1, 2, 3])
    weight = np.array([30.0, -3.0, -3.0, -3.0])
    keep = np.array([True, False, False, False])
    orphans = orphan_pairs(family, left, right, keep)
    # 1: its family holds the link; 2: neither family holds one; 3: left 3 has no family
    assert orphans.tolist() == [False, False, True, False]
    sole = sole_candidates(left, right, weight, keep, -5.0, 0.0, ~orphans)
    assert sole.tolist() == [False, True, False, True]
    # an orphan pair still rivals: right 2's other pair is no sole candidate
    left2, right2 = np.append(left, 3), np.append(right, 2)
    keep2, weight2 = np.append(keep, False), np.append(weight, -4.0)
    orphans2 = orphan_pairs(family, left2, right2, keep2)
    sole2 = sole_candidates(left2, right2, weight2, keep2, -5.0, 0.0, ~orphans2)
    assert sole2.tolist() == [False, True, False, False, False]


def test_a_sole_link_between_joined_families_takes_their_members_shares():
    from bansos_linkage.linkage.resolve import (
        FamilyLinks,
        sole_link_probabilities,
        unmatched_shares,
    )

    # four left and six right records; links: (0, 0) and (1, 1) at the threshold or
    # above; (2, 2) below it, between the families (0, 0) the first link joins; (3, 4)
    # below it, between families no other link joins
    family = (np.array([0, 0, 0, 1]), np.array([0, 0, 0, 0, 1, 1]))
    links = FamilyLinks(np.array([0, 1, 2, 3]), np.array([0, 1, 2, 4]), family)
    sole = np.array([False, False, True, True])
    assert links.joined(~sole).tolist() == [True, True, True, False]
    # left family 0: all three linked; right family 0: three of four
    assert links.unmatched(~sole) == pytest.approx((MIN_UNMATCHED, 0.25))
    prior, sizes = 3 / (4 * 6), (4, 6)
    weight = np.array([10.0, 10.0, -3.0, -3.0])
    link_p = np.array([0.99, 0.99, 0.5, 0.5])
    out = sole_link_probabilities(weight, link_p, 0.0, prior, sizes, links)
    s_l, s_r = unmatched_shares(prior, *sizes)
    odds = 2.0**-3
    assert out[:2].tolist() == [0.99, 0.99]
    assert out[2] == pytest.approx(odds / (odds + MIN_UNMATCHED * 0.25))
    assert out[3] == pytest.approx(odds / (odds + s_l * s_r))
    plain = sole_link_probabilities(weight, link_p, 0.0, prior, sizes)
    assert out[2] > plain[2] and out[3] == plain[3]


def test_a_duplicate_is_as_sure_as_the_stronger_of_its_pair_and_its_link() -> None:
    # left records 0 and 1 both hold right record 0; 1 was taken for 0's duplicate on
    # a weak pair (its date mistyped on 0) but links right record 0 strongly
    left, right = np.array([0, 1, 2]), np.array([0, 0, 1])
    weight = np.array([40.0, 35.0, 10.0])
    dup_weight = np.array([np.nan, 1.0, np.nan])
    shift = -20.0
    evidence = duplicate_evidence(left, weight, dup_weight, shift)
    assert evidence[1] == 15.0  # the link, moved to the register's own prior
    assert np.isnan(evidence[0]) and np.isnan(evidence[2])  # no duplicate: none
    # a link weaker than the pair leaves the pair's weight
    assert duplicate_evidence(left, weight, np.array([np.nan, 30.0, np.nan]), shift)[1] == 30.0
    p_pair = link_probabilities(
        left, right, weight, np.ones(3, bool), 1e-4, 3, 2, (dup_weight, np.full(2, np.nan))
    )
    p_link = link_probabilities(
        left, right, weight, np.ones(3, bool), 1e-4, 3, 2, (evidence, np.full(2, np.nan))
    )
    assert p_link[1] > p_pair[1]
    assert p_link[1] == pytest.approx(
        p_pair[1] / duplicate_probability(dup_weight)[1] * duplicate_probability(evidence)[1]
    )


def test_members_of_joined_families_link_one_to_one_on_their_family_prior():
    from bansos_linkage.linkage.resolve import family_prior_weight, member_links, member_pool

    # families: left 0 = {0, 1, 2}, left 1 = {3}; right 0 = {0, 1, 2}, right 1 = {3}
    family = (np.array([0, 0, 0, 1]), np.array([0, 0, 0, 1]))
    left = np.array([0, 1, 1, 2, 2, 3, 1])
    right = np.array([0, 1, 2, 1, 2, 2, 3])
    keep = np.array([True, False, False, False, False, False, False])
    pool = member_pool(family, left, right, keep)
    # the link joins family 0 to family 0; left 3 and right 3 are of other families
    assert pool.tolist() == [False, True, True, True, True, False, False]
    prior = family_prior_weight(family, left, right)
    assert prior[1] == pytest.approx(-1.0)  # three members: 1 : 2
    assert prior[6] == pytest.approx(-1.0)  # the larger family's
    one = (np.array([0]), np.array([0]))
    assert family_prior_weight(one, np.array([0]), np.array([0])).tolist() == [0.0]  # at most even
    # left 1 prefers right 2, but the assignment that both members gain from is 1-1, 2-2
    weight = np.array([40.0, 3.0, 3.5, 2.0, 4.0, 9.0, 9.0])
    linked = member_links(left, right, weight, pool, 0.0)
    assert linked.tolist() == [False, True, False, False, True, False, False]
    # below the threshold, or outside the pool, nothing links
    assert not member_links(left, right, weight - 10.0, pool, 0.0).any()
    assert not member_links(left, right, weight, np.zeros(len(left), bool), 0.0).any()
    # a record of no family has no family prior
    none = (np.array([-1]), np.array([0]))
    assert np.isnan(family_prior_weight(none, np.array([0]), np.array([0]))).all()
