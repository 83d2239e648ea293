"""Blocking rules, their union, oversized blocks, and pair recall on synthetic registers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bansos_linkage.linkage.blocking import (
    ExactRule,
    SortedNeighbourhoodRule,
    candidate_pairs,
    family_codes,
    family_pairs,
    pair_recall,
    stable_order,
)

LEFT = pd.DataFrame(
    {
        "nik": ["1", "2", None, "4"],
        "name": ["SITI", "BUDI", "SITI", "AGUS"],
        "year": ["1980", "1990", "1980", None],
    }
)
RIGHT = pd.DataFrame(
    {"nik": ["1", "9", "4"], "name": ["SITI", "BUDI", "AGUSS"], "year": ["1980", "1990", "1975"]}
)


def pairs_of(cp):
    return set(zip(cp.left.tolist(), cp.right.tolist(), strict=True))


def test_exact_rule_pairs_equal_non_null_keys():
    cp = candidate_pairs(LEFT, RIGHT, [ExactRule(("name", "year"))])
    assert pairs_of(cp) == {(0, 0), (2, 0), (1, 1)}


def test_union_keeps_each_pair_once_credited_to_the_first_rule():
    rules = [ExactRule(("nik",)), ExactRule(("name",))]
    cp = candidate_pairs(LEFT, RIGHT, rules)
    frame = cp.to_frame()
    assert not frame.duplicated(["left", "right"]).any()
    assert frame.set_index(["left", "right"]).loc[(0, 0), "rule"] == "nik"
    assert pairs_of(cp) == {(0, 0), (3, 2), (2, 0), (1, 1)}
    diag = cp.diagnostics.set_index("rule")
    assert diag.loc["name", "pairs_before_dedup"] == 3 and diag.loc["name", "pairs"] == 2


def test_oversized_blocks_are_skipped_and_reported():
    left = pd.DataFrame({"name": ["MUHAMMAD"] * 30 + ["LALU"]})
    right = pd.DataFrame({"name": ["MUHAMMAD"] * 20 + ["LALU"]})
    cp = candidate_pairs(left, right, [ExactRule(("name",), max_block_pairs=100)])
    assert pairs_of(cp) == {(30, 20)}
    diag = cp.diagnostics.iloc[0]
    assert diag["oversized_blocks"] == 1 and diag["skipped_pairs"] == 600
    assert diag["largest_block"] == 600


def test_a_later_rule_keeps_pairs_from_an_earlier_rules_skipped_block():
    left = pd.DataFrame({"name": ["SITI"] * 5, "nik": ["1", "2", "3", "4", "5"]})
    right = pd.DataFrame({"name": ["SITI"] * 5, "nik": ["1", "2", "3", "4", "5"]})
    rules = [ExactRule(("name",), max_block_pairs=10), ExactRule(("nik",))]
    assert len(candidate_pairs(left, right, rules)) == 5


def test_sorted_neighbourhood_finds_near_keys():
    cp = candidate_pairs(LEFT, RIGHT, [SortedNeighbourhoodRule("name", window=2)])
    assert (3, 2) in pairs_of(cp)  # AGUS / AGUSS sort next to each other
    with pytest.raises(ValueError, match="before sorted-neighbourhood"):
        candidate_pairs(LEFT, RIGHT, [SortedNeighbourhoodRule("name"), ExactRule(("nik",))])


def test_reduction_ratio_and_multiindex():
    cp = candidate_pairs(LEFT, RIGHT, [ExactRule(("nik",))])
    assert cp.reduction_ratio == pytest.approx(1 - 2 / 12)
    index = cp.to_multiindex(pd.Index(list("abcd"), name="dtks"), pd.Index(list("xyz")))
    assert list(index) == [("a", "x"), ("d", "z")]
    assert index.names == ["dtks", "right"]


def test_pair_recall_per_rule_and_overall():
    cp = candidate_pairs(LEFT, RIGHT, [ExactRule(("nik",)), ExactRule(("name",))])
    recall = pair_recall(cp, np.array([0, 1, 3]), np.array([0, 1, 0])).set_index("rule")
    assert recall.loc["nik", "cumulative_recall"] == pytest.approx(1 / 3)
    assert recall.loc["name", "cumulative_recall"] == pytest.approx(2 / 3)
    assert recall.loc["all", "true_pairs_found"] == 2


def test_default_rules_keep_nearly_all_true_pairs_on_synthetic_registers(dtks_regsosek):
    p = dtks_regsosek
    recall = pair_recall(p.pairs, p.true_left, p.true_right).set_index("rule")
    assert recall.loc["all", "cumulative_recall"] >= 0.995
    # the family-card rule pairs every DTKS member with every Regsosek member of the
    # household: still a tiny share of all pairs, and linear in the registers
    # (the rules within the village cost most on a register this small: 60 villages)
    assert p.pairs.reduction_ratio > 0.997
    assert len(p.pairs) < 15 * len(p.left)
    # the KK rule rescues members whose name, date and NIK are all damaged
    assert recall.loc["kk_number", "true_pairs_found"] > 0


def test_family_pairs_pair_every_member_of_linked_families():
    left = pd.DataFrame({"kk_number": ["A", "A", "B", None, "A"]})
    right = pd.DataFrame({"household_id": ["h1", "h2", "h1", "h1"], "kk_number": ["x"] * 4})
    lf = family_codes(left, ("household_id", "kk_number"))
    rf = family_codes(right, ("household_id", "kk_number"))
    assert lf[3] == -1 and len(set(rf)) == 2  # household id preferred over the KK
    # one link between family A and household h1 (twice: families count once)
    li, ri = family_pairs(lf, rf, np.array([0, 4]), np.array([0, 2]))
    got = set(zip(li.tolist(), ri.tolist(), strict=True))
    assert got == {(a, b) for a in (0, 1, 4) for b in (0, 2, 3)}
    # a record without a family has no family pairs; big families are not crossed
    assert len(family_pairs(lf, rf, np.array([3]), np.array([1]))[0]) == 0
    assert len(family_pairs(lf, rf, np.array([0]), np.array([0]), max_members=2)[0]) == 0


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 40), max_size=300), st.sampled_from([np.int32, np.int64]))
def test_stable_order_is_a_stable_argsort(codes, dtype):
    codes = np.array(codes, dtype=dtype)
    assert stable_order(codes).tolist() == np.argsort(codes, kind="stable").tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=6), unique=True, max_size=50))
def test_text_order_sorts_distinct_strings_as_python_does(values):
    from bansos_linkage.linkage.blocking import _text_order

    values = np.array(values, dtype=object)
    assert _text_order(values).tolist() == np.argsort(values, kind="stable").tolist()


def test_text_order_of_text_arrow_cannot_hold_falls_back_to_numpy():
    from bansos_linkage.linkage.blocking import _text_order

    values = np.array(["b", "a\udc80", "a", ""], dtype=object)  # a lone surrogate
    assert _text_order(values).tolist() == [3, 2, 1, 0]
