"""Encoded registers compare exactly as the plain ones do, only faster."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bansos_linkage.linkage.blocking import DEFAULT_RULES, iter_candidate_pairs
from bansos_linkage.linkage.comparisons import DEFAULT_COMPARISONS, compare, vocabulary_groups
from bansos_linkage.linkage.encoding import encode_columns, same_vocabulary


def test_groups_share_one_vocabulary_and_missing_is_minus_one():
    left = pd.DataFrame({"nik": ["111", None, "222"], "kk_number": ["222", "333", None]})
    right = pd.DataFrame({"nik": ["333", "111"], "kk_number": [None, "444"]})
    left, right = encode_columns(left, right, [["nik"], ["kk_number", "nik"]])
    assert same_vocabulary(left["nik"], right["kk_number"])
    vocabulary = left["nik"].dtype.categories
    # the same text has the same code in every column of the group, on both sides
    assert left["nik"].array.codes[2] == left["kk_number"].array.codes[0]
    assert right["nik"].array.codes[0] == left["kk_number"].array.codes[1]
    assert left["nik"].array.codes[1] == -1 and right["kk_number"].array.codes[0] == -1
    assert sorted(vocabulary) == ["111", "222", "333", "444"]


def test_dates_and_absent_columns_are_left_alone():
    left = pd.DataFrame({"birth_date": pd.to_datetime(["2000-01-02"]), "sex": ["M"]})
    right = pd.DataFrame({"birth_date": pd.to_datetime(["2000-01-02"])})
    left, right = encode_columns(left, right, [["birth_date"], ["sex"]])
    assert pd.api.types.is_datetime64_any_dtype(left["birth_date"])
    assert isinstance(left["sex"].dtype, pd.CategoricalDtype) and "sex" not in right


def test_encoded_registers_give_the_same_pairs_and_levels(dtks_regsosek):
    left, right = dtks_regsosek.left, dtks_regsosek.right
    groups = [g for comp in DEFAULT_COMPARISONS for g in vocabulary_groups(comp)]
    groups += [[k] for rule in DEFAULT_RULES for k in getattr(rule, "keys", None) or [rule.key]]
    enc_left, enc_right = encode_columns(left, right, groups)
    assert isinstance(enc_left["full_name"].dtype, pd.CategoricalDtype)

    def pairs(lf, rf):  # the same pairs per rule (their order follows the codes)
        return [
            (i, sorted(zip(li.tolist(), ri.tolist(), strict=True)))
            for i, li, ri, _ in iter_candidate_pairs(lf, rf, DEFAULT_RULES)
        ]

    plain_pairs = pairs(left, right)
    assert plain_pairs == pairs(enc_left, enc_right)
    both = np.array([pair for _, rule_pairs in plain_pairs for pair in rule_pairs])[:20_000]
    li, ri = both[:, 0], both[:, 1]
    plain_levels, plain_sims = compare(left, right, li, ri)
    levels, sims = compare(enc_left, enc_right, li, ri)
    pd.testing.assert_frame_equal(levels, plain_levels)
    pd.testing.assert_frame_equal(sims, plain_sims)
    # the pairs cover the levels that matter, so the equality above is not vacuous
    assert {0, 1, 8}.issubset(set(levels["name"])) and (levels["nik"] == 4).any()
