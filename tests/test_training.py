"""Parameters that do not depend on the blocking, and the person behind the identifiers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bansos_linkage.evaluation import true_links
from bansos_linkage.linkage.blocking import DEFAULT_RULES, ExactRule
from bansos_linkage.linkage.comparisons import DEFAULT_COMPARISONS
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.linkage.training import (
    exact_agreement,
    fit_model,
    global_prior,
    pattern_counts,
    random_pairs,
    u_from_random,
)


def _metrics(p, links: pd.DataFrame) -> tuple[float, float]:
    truth = true_links(
        p.data.truth["dtks"].set_index("record_id")["person_id"],
        p.data.truth["regsosek"].set_index("record_id")["person_id"],
    )
    good = set(zip(truth["left_id"], truth["right_id"], strict=True))
    right = np.array(
        [pair in good for pair in zip(links["left_id"], links["right_id"], strict=True)]
    )
    return float(right.mean()), float(right.sum() / len(truth))


@pytest.fixture(scope="module")
def fitted(dtks_regsosek):
    p = dtks_regsosek
    linker = Linker()
    return linker, linker.fit_link(p.left, p.right, keep_pairs=True)


def test_widening_the_blocking_keeps_scores_and_precision(dtks_regsosek, fitted):
    p = dtks_regsosek
    _, narrow = fitted
    # a sensible extra rule: the first name within the village
    exact = [r for r in DEFAULT_RULES if isinstance(r, ExactRule)]
    near = [r for r in DEFAULT_RULES if not isinstance(r, ExactRule)]
    rules = (*exact, ExactRule(("bk_name_first", "bk_village")), *near)
    wide = Linker(rules=rules).fit_link(p.left, p.right, keep_pairs=True)
    assert wide.summary["candidate_pairs"] > narrow.summary["candidate_pairs"] + 1000
    key = ["left_id", "right_id"]
    both = narrow.pairs.merge(wide.pairs, on=key, suffixes=("_n", "_w"))
    assert len(both) == len(narrow.pairs)
    # a pair's weight does not depend on which rules brought the others in
    assert np.abs(both["match_weight_n"] - both["match_weight_w"]).max() < 0.05
    assert abs(_metrics(p, wide.links)[0] - _metrics(p, narrow.links)[0]) <= 0.002


def test_members_of_linked_families_are_compared_whatever_their_keys(mixed_registers):
    p = mixed_registers
    with_family = Linker().fit_link(p.left, p.right, keep_pairs=True)
    alone = Linker(family_columns=()).fit_link(p.left, p.right, keep_pairs=True)
    assert alone.summary["family_pairs"] == 0 and with_family.summary["family_pairs"] > 0
    truth = true_links(
        p.data.truth["dtks"].set_index("record_id")["person_id"],
        p.data.truth["regsosek"].set_index("record_id")["person_id"],
    )

    def found(pairs: pd.DataFrame) -> int:
        return len(truth.merge(pairs, on=["left_id", "right_id"]))

    # pairs that escaped every blocking rule are found through their families ...
    family = with_family.pairs[with_family.pairs["rule"] == "family"]
    assert found(family) > 0
    assert found(with_family.pairs) == found(alone.pairs) + found(family)
    # ... and scored as any other pair: the rest of the pairs keep their weights
    key = ["left_id", "right_id"]
    both = alone.pairs.merge(with_family.pairs, on=key, suffixes=("_a", "_f"))
    assert np.allclose(both["match_weight_a"], both["match_weight_f"])
    assert _metrics(p, with_family.links)[1] > _metrics(p, alone.links)[1]


def test_probabilities_are_calibrated_enough_to_estimate_the_fdr(dtks_regsosek, fitted):
    p = dtks_regsosek
    _, result = fitted
    precision, recall = _metrics(p, result.links)
    assert precision > 0.995 and recall > 0.99
    true_fdr = 1 - precision
    assert abs(result.summary["estimated_fdr"] - true_fdr) < 0.004
    # the threshold is a probability of 0.5; a link below it as a pair is a sole
    # candidate (the records each other's only candidate, the link at 0.5)
    assert result.summary["threshold"] == 0.5
    below = result.links["match_probability"] < 0.5
    assert below.sum() == result.summary["sole_candidates"] < len(result.links) / 100


def _level_errors(p, monotone) -> list[float]:
    """Per level that at least 20 true pairs show: |model weight - the true pairs' weight|
    (log2 of the true pairs' share at the level over the model's u), in bits."""
    linker = Linker(matcher=FellegiSunter(monotone=monotone))
    pairs = linker.fit_link(p.left, p.right, keep_pairs=True).pairs
    ids = (p.left["record_id"].to_numpy(), p.right["record_id"].to_numpy())
    truth = set(zip(ids[0][p.true_left], ids[1][p.true_right], strict=True))
    true = np.array([pair in truth for pair in zip(pairs.left_id, pairs.right_id, strict=True)])
    params = linker.model_.parameters().set_index(["comparison", "level"])
    errors = []
    for comp in linker.comparisons_:
        shown = pairs.loc[true & (pairs[comp.label] >= 0), comp.label].value_counts()
        for level, count in shown[shown >= 20].items():
            row = params.loc[(comp.label, level)]
            errors.append(abs(row["match_weight"] - np.log2(count / shown.sum() / row["u"])))
    return errors


def test_level_weights_are_what_true_pairs_show(mixed_registers):
    # EM's m, with u from random pairs, against the level shares of the true pairs: the
    # default order ("ends") leaves the levels between agreement and disagreement free;
    # pooling them into one scale moved a year-only date that agrees 2 bits off
    ends = _level_errors(mixed_registers, "ends")
    assert len(ends) >= 15 and max(ends) < 1.25 and np.mean(ends) < 0.3
    assert max(_level_errors(mixed_registers, True)) > 1.5


def test_u_comes_from_random_pairs_and_the_prior_from_the_registers(dtks_regsosek, fitted):
    p = dtks_regsosek
    linker, result = fitted
    assert result.summary["training"]["u_random_pairs"] == min(
        linker.u_pairs, len(p.left) * len(p.right)
    )
    params = linker.model_.parameters().set_index(["comparison", "level"])
    # two random records rarely share a name: u(exact name) is about sum p_l * p_r
    exact = params.loc[("name", len(linker.comparisons_[0].levels) - 1), "u"]
    assert exact == pytest.approx(exact_agreement(p.left["full_name"], p.right["full_name"]), 0.5)
    # the prior is the chance that a random pair of records is a match
    n_true = len(p.true_left)
    assert linker.model_.lambda_ == pytest.approx(n_true / (len(p.left) * len(p.right)), rel=0.3)
    sessions = result.summary["training"]["sessions"]
    assert all(s["pairs"] > 0 for s in sessions)
    assert "nik" not in sessions[0]["learned"] and "birth_date" not in sessions[0]["learned"]


def test_helpers_behave():
    a, b = random_pairs(10, 20, 50, seed=1)
    assert len(a) == 50 and a.max() < 10 and b.max() < 20
    assert (random_pairs(10, 20, 50, seed=1)[1] == b).all()
    levels = np.array([[0], [0], [1], [-1]])
    u = u_from_random(levels, [2], exact={0: 1e-6})
    assert u[0][1] == pytest.approx(1e-6) and u[0].sum() == pytest.approx(1.0)
    assert global_prior(np.array([40.0, 40.0, -40.0]), 100, 100) == pytest.approx(2e-4, rel=1e-3)


def test_a_relatives_nik_and_kk_do_not_make_a_person(dtks_regsosek, fitted):
    p = dtks_regsosek
    _, result = fitted
    # a DTKS row for someone else (another name, sex and birth date) carrying a linked
    # person's NIK and KK, as registers keep a relative on the head's NIK
    linked = result.links[result.links["nik"] == "exact"].iloc[0]
    source = p.left[p.left["record_id"] == linked["left_id"]].iloc[0]
    other = p.left[(p.left["sex"] != source["sex"]) & p.left["birth_date"].notna()].iloc[0]
    ghost = other.copy()
    for col in ("nik", "kk_number", "nik_birth_date", "nik_sex", "nik_region"):
        if col in source:
            ghost[col] = source[col]
    # a person the other register does not have
    ghost["record_id"], ghost["full_name"], ghost["name_phonetic"] = "GHOST-1", "QOZ", "QOZ"
    ghost["birth_date"] = pd.Timestamp("1931-02-03")
    left = pd.concat([p.left, ghost.to_frame().T], ignore_index=True)
    left = left.astype({c: p.left[c].dtype for c in p.left.columns})
    again = Linker().fit_link(left, p.right)
    ghost_links = again.links[again.links["left_id"] == "GHOST-1"]
    assert ghost_links.empty, ghost_links.to_dict("records")
    # the person the NIK belongs to keeps their link
    kept = again.links[again.links["left_id"] == linked["left_id"]]
    assert kept["right_id"].tolist() == [linked["right_id"]]


def test_a_comparison_no_register_can_feed_is_left_out(dtks_regsosek):
    p = dtks_regsosek
    # exports with only a name, a NIK, a birth date, sex and a village code
    keep = [
        "record_id",
        "full_name",
        "name_phonetic",
        "nik",
        "nik_birth_date",
        "nik_sex",
        "birth_date",
        "birth_date_precision",
        "sex",
        "province_code",
        "regency_code",
        "district_code",
        "village_code",
        "region_scheme",
    ]
    left, right = (frame[[c for c in keep if c in frame]] for frame in (p.left, p.right))
    linker = Linker()
    result = linker.fit_link(left, right)
    assert "mother_name" in result.summary["left_out"]["comparisons"]
    assert "kk_number" in result.summary["left_out"]["blocking_rules"]
    assert "mother_name" not in [c.label for c in linker.comparisons_]
    precision, recall = _metrics(p, result.links)
    assert precision > 0.97 and recall > 0.9


def test_em_on_pattern_counts_summed_over_partitions_gives_the_in_process_model():
    # what a distributed run does: each partition reduces its pairs to pattern counts,
    # the counts are summed, and the model is fitted once on the sums
    comparisons = DEFAULT_COMPARISONS
    labels = [c.label for c in comparisons]
    names = [c.levels for c in comparisons]
    rng = np.random.default_rng(3)
    n = 60_000
    match = rng.random(n) < 0.3
    levels = np.column_stack(
        [
            np.where(
                match,
                rng.choice(len(k), n, p=np.r_[np.full(len(k) - 1, 0.1 / (len(k) - 1)), 0.9]),
                rng.integers(0, len(k), n),
            )
            for k in names
        ]
    ).astype(np.int8)
    levels[rng.random(levels.shape) < 0.05] = -1
    exact_name = levels[:, labels.index("name")] == len(names[labels.index("name")]) - 1
    bits = np.where(exact_name, rng.choice([-2.0, 0.0, 1.5, 3.0], n), 0.0).astype(np.float32)
    u = [np.full(len(k), 1.0 / len(k)) for k in names]
    args = (u, labels, names)
    whole, whole_report = fit_model(levels, *args, bits, 40_000, 90_000, FellegiSunter())
    parts = [pattern_counts(levels[i::3], bits[i::3]) for i in range(3)]
    rows, row_bits, counts = pattern_counts(
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )
    assert len(rows) < n and counts.sum() == n
    summed, summed_report = fit_model(
        rows, *args, row_bits, 40_000, 90_000, FellegiSunter(), counts=counts
    )
    assert summed.lambda_ == pytest.approx(whole.lambda_, rel=1e-9)
    for k in range(len(labels)):
        np.testing.assert_allclose(summed.m_[k], whole.m_[k], rtol=1e-9)
    assert [r["pairs"] for r in summed_report] == [r["pairs"] for r in whole_report]


def test_relationship_to_the_head_is_learnt_as_evidence(fitted):
    linker, _ = fitted
    table = linker.parameters()
    rel = table[table["comparison"] == "relationship"].set_index("level_name")
    weight = rel["match_weight"]
    # the same role is evidence for, another role (mother vs daughter) against; a role
    # changed with the head (a married child now heads its own family) in between
    assert weight["exact"] > 0 > weight["else"]
    assert weight["else"] < weight["role_changed"] < weight["exact"]


def test_probability_in_place_equals_probability_bit_for_bit():
    from bansos_linkage.linkage.fellegi_sunter import probability
    from bansos_linkage.linkage.training import _probability_into

    weights = np.r_[np.random.default_rng(0).normal(0, 30, 10_000), -5000, 5000, np.nan]
    out = _probability_into(weights, -13.7, np.empty_like(weights))
    assert np.array_equal(out, probability(weights - 13.7), equal_nan=True)


def test_random_pairs_are_sorted_by_left_then_right_as_a_lexsort():
    from bansos_linkage.linkage.training import random_pairs

    a, b = random_pairs(50, 60, 2_000, seed=3)
    rng = np.random.default_rng(3)
    a0, b0 = rng.integers(0, 50, 2_000), rng.integers(0, 60, 2_000)
    order = np.lexsort((b0, a0))
    assert a.tolist() == a0[order].tolist() and b.tolist() == b0[order].tolist()
