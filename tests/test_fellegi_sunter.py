"""The Fellegi-Sunter EM matcher: recovers known parameters, handles missing values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from bansos_linkage.linkage.comparisons import compare
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter, estimate_u, expected_errors

M = [
    np.array([0.03, 0.07, 0.90]),
    np.array([0.05, 0.95]),
    np.array([0.1, 0.9]),
    np.array([0.15, 0.85]),
    np.array([0.1, 0.2, 0.7]),
]
U = [
    np.array([0.90, 0.07, 0.03]),
    np.array([0.95, 0.05]),
    np.array([0.7, 0.3]),
    np.array([0.8, 0.2]),
    np.array([0.6, 0.3, 0.1]),
]


def simulate(n=60_000, lam=0.08, missing=0.0, seed=0):
    rng = np.random.default_rng(seed)
    match = rng.random(n) < lam
    cols = []
    for m, u in zip(M, U, strict=True):
        col = np.where(match, rng.choice(len(m), n, p=m), rng.choice(len(u), n, p=u))
        col[rng.random(n) < missing] = -1
        cols.append(col)
    return np.column_stack(cols), match


@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_em_recovers_known_m_u_and_lambda(missing):
    X, match = simulate(missing=missing)
    model = FellegiSunter().fit(X)
    assert model.converged_ and model.n_iter_ > 1
    assert model.lambda_ == pytest.approx(match.mean(), abs=0.01)
    for k in range(len(M)):
        np.testing.assert_allclose(model.m_[k], M[k], atol=0.03)
        np.testing.assert_allclose(model.u_[k], U[k], atol=0.02)


def test_pattern_counts_as_sample_weight_give_the_model_of_the_repeated_rows():
    # what a distributed run does: count the patterns per partition, sum, fit once
    X, _ = simulate(n=20_000, missing=0.2)
    patterns, counts = np.unique(X, axis=0, return_counts=True)
    whole = FellegiSunter().fit(X)
    counted = FellegiSunter().fit(patterns, sample_weight=counts)
    assert counted.n_iter_ == whole.n_iter_
    assert counted.lambda_ == pytest.approx(whole.lambda_, rel=1e-9)
    for k in range(len(M)):
        np.testing.assert_allclose(counted.m_[k], whole.m_[k], rtol=1e-9)
        np.testing.assert_allclose(counted.u_[k], whole.u_[k], rtol=1e-9)
    with pytest.raises(ValueError, match="one non-negative count per row"):
        FellegiSunter().fit(patterns, sample_weight=counts[:-1])


def test_fixed_u_from_random_pairs_is_kept():
    X, _ = simulate()
    rng = np.random.default_rng(1)
    random_pairs = np.column_stack([rng.choice(len(u), 20_000, p=u) for u in U])
    u = estimate_u(random_pairs)
    model = FellegiSunter(u_probabilities=u).fit(X)
    for k in range(len(M)):
        np.testing.assert_allclose(model.u_[k], u[k])
        np.testing.assert_allclose(model.m_[k], M[k], atol=0.03)


def test_missing_levels_drop_out_instead_of_disagreeing():
    X, _ = simulate()
    model = FellegiSunter().fit(X)
    full = np.array([[2, 1, 1, 1, 2]])
    with_missing = np.array([[2, 1, 1, 1, -1]])
    disagree = np.array([[2, 1, 1, 1, 0]])
    w = [model.match_weight(x)[0] for x in (full, with_missing, disagree)]
    assert w[0] > w[1] > w[2]


def test_sklearn_contract():
    X, match = simulate(n=5_000)
    model = FellegiSunter(threshold=0.7)
    assert clone(model).get_params()["threshold"] == 0.7
    fitted = model.fit(pd.DataFrame(X, columns=["name", "nik", "dob", "sex", "region"]))
    assert fitted is model
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 2) and np.allclose(proba.sum(axis=1), 1)
    assert set(np.unique(model.predict(X))) <= {0, 1}
    table = model.parameters()
    assert list(table["comparison"].unique()) == ["name", "nik", "dob", "sex", "region"]
    assert (table.groupby("comparison")["m"].sum().round(6) == 1).all()
    with pytest.raises(ValueError, match=">= -1"):
        FellegiSunter().fit(np.array([[0, -2]]))


def test_expected_errors_match_the_truth_when_the_model_is_right():
    X, match = simulate(n=60_000)
    p = FellegiSunter().fit(X).predict_proba(X)[:, 1]
    est = expected_errors(p, 0.5)
    linked = p >= 0.5
    true_false = int((linked & ~match).sum())
    assert est["links"] == int(linked.sum())
    assert est["expected_false_links"] == pytest.approx(true_false, rel=0.25, abs=20)


def test_unsupervised_links_on_synthetic_registers(dtks_regsosek):
    p = dtks_regsosek
    levels, _ = compare(p.left, p.right, p.pairs.left, p.pairs.right)
    linked = FellegiSunter().fit(levels).predict_proba(levels)[:, 1] >= 0.5
    precision = (linked & p.true).sum() / linked.sum()
    recall = (linked & p.true).sum() / len(p.true_left)
    assert precision > 0.9 and recall > 0.97  # before one-to-one resolution


def test_term_frequency_adjustment_rewards_rare_names():
    from bansos_linkage.linkage.fellegi_sunter import term_frequency_adjustment

    reference = np.array(["SITI"] * 50 + ["MUHAMMAD"] * 30 + [f"NAME{i}" for i in range(20)])
    values = np.array(["SITI", "NAME3", "UNSEEN", "NAME3"])
    adj = term_frequency_adjustment(
        values, np.array([True, True, True, False]), reference, u_exact=0.1
    )
    assert adj[0] < 0 < adj[1]  # common SITI counts for less than the average, NAME3 for more
    assert adj[2] == adj[1]  # unseen values count as seen once
    assert adj[3] == 0  # no agreement, no adjustment
    assert adj[1] == np.log2(0.1 / 0.01)


def test_monotone_pools_levels_whose_weights_would_fall_as_agreement_rises():
    from bansos_linkage.linkage.fellegi_sunter import _monotone_ratio

    m = np.array([0.1, 0.05, 0.05, 0.8])
    u = np.array([0.5, 0.1, 0.3, 0.1])  # level 2 would weigh less than level 1
    adjusted = _monotone_ratio(m, u)
    ratio = adjusted / u
    assert np.all(np.diff(ratio) >= -1e-12)
    assert adjusted.sum() == pytest.approx(1.0)
    assert ratio[1] == pytest.approx(ratio[2])  # pooled
    np.testing.assert_allclose(_monotone_ratio(np.array(M[0]), U[0]), M[0])  # already ordered


def test_ends_pools_only_levels_above_the_strongest_or_below_the_weakest():
    from bansos_linkage.linkage.fellegi_sunter import _monotone_ratio

    u = np.array([0.6, 0.1, 0.1, 0.1, 0.1])
    # level 1 weighs more than level 2 (kinds of near agreement, not a scale): kept;
    # level 3 weighs more than exact agreement: pooled with it
    m = np.array([0.06, 0.2, 0.05, 0.45, 0.24])
    ratio = _monotone_ratio(m, u, "ends") / u
    assert ratio[1] > ratio[2]  # free between the ends
    assert ratio[3] == pytest.approx(ratio[4])  # pooled with the strongest
    assert ratio[0] <= ratio[1:].min() and ratio[4] >= ratio[:4].max()
    # a level below disagreement is pooled with it; a full order pools level 1 too
    low = _monotone_ratio(np.array([0.2, 0.01, 0.09, 0.3, 0.4]), u, "ends") / u
    assert low[1] == pytest.approx(low[0]) and low[2] > low[0]
    assert np.all(np.diff(_monotone_ratio(m, u, True) / u) >= -1e-12)
    np.testing.assert_allclose(_monotone_ratio(m, u, False), m)
    with pytest.raises(ValueError, match="'ends'"):
        FellegiSunter(monotone="sorted").fit(simulate()[0])


def test_a_level_no_match_shows_weighs_at_most_log2_smoothing_however_rare():
    # comparison 1 gets a middle level that no pair shows, one in a million among
    # random pairs: spread evenly, the smoothing gave it m/u far above 1 (+9 bits)
    X, _ = simulate()
    X[:, 1] *= 2
    u = [*U]
    u[1] = np.array([0.95 - 1e-6, 1e-6, 0.05])
    free = FellegiSunter(m_smoothing=0.002, u_probabilities=u, monotone=False).fit(X)
    assert np.log2(free.m_[1][1] / u[1][1]) == pytest.approx(np.log2(0.002), abs=0.2)
    # levels that matches do show keep the even share of the smoothing
    assert free.m_[0][0] >= 0.002 / 3
    # by default it is pooled with disagreement, which weighs more than log2(0.002)
    ends = FellegiSunter(m_smoothing=0.002, u_probabilities=u).fit(X)
    ratio = ends.m_[1] / u[1]
    assert ratio[1] == pytest.approx(ratio[0]) and ratio[0] > 0.002


def test_smoothing_keeps_every_level_possible_for_matches():
    X, match = simulate()
    X[match, 1] = 1  # no match disagrees on comparison 1 in this sample
    rough = FellegiSunter(m_smoothing=0.0).fit(X)
    smooth = FellegiSunter(m_smoothing=0.01).fit(X)
    assert rough.m_[1][0] < 1e-4
    assert smooth.m_[1][0] >= 0.01 / 2 - 1e-9
    assert smooth.parameters()["match_weight"].min() > rough.parameters()["match_weight"].min()


def test_declared_levels_get_parameters_even_when_unseen():
    X, _ = simulate()
    model = FellegiSunter(n_levels=[3, 2, 2, 2, 5]).fit(X)
    assert len(model.m_[4]) == 5 and np.isfinite(model.match_weight(np.array([[2, 1, 1, 1, 4]])))
    with pytest.raises(ValueError, match="declared"):
        FellegiSunter(n_levels=[2, 2, 2, 2, 2]).fit(X)
    with pytest.raises(ValueError, match="flags"):
        FellegiSunter(monotone=[True, False]).fit(X)


def test_fixed_m_is_kept_and_u_lambda_learned():
    X, match = simulate()
    model = FellegiSunter(m_probabilities=M).fit(X)
    for k in range(len(M)):
        np.testing.assert_allclose(model.m_[k], M[k])
        np.testing.assert_allclose(model.u_[k], U[k], atol=0.03)
    assert model.lambda_ == pytest.approx(match.mean(), abs=0.01)


def test_a_weight_is_the_prior_plus_each_comparisons_bits():
    X, _ = simulate(n=5_000, missing=0.2)
    model = FellegiSunter().fit(X)
    parts = model.prior_weight() + sum(model.comparison_weight(X, k) for k in range(len(M)))
    np.testing.assert_allclose(parts, model.match_weight(X), atol=1e-9)
    # a comparison's bits are log2(m / u) of its level, none where it is missing
    k, level = 0, 2
    bits = model.comparison_weight(np.array([[level, 0, 0, 0, 0], [-1, 0, 0, 0, 0]]), k)
    assert bits[0] == pytest.approx(np.log2(model.m_[k][level] / model.u_[k][level]))
    assert bits[1] == 0.0
    assert model.prior_weight() == pytest.approx(np.log2(model.lambda_ / (1 - model.lambda_)))
