"""Explanations: waterfall terms add up to the model's score; charts draw the data they return."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.exceptions import NotFittedError

from bansos_linkage.linkage.comparisons import (
    DEFAULT_COMPARISONS,
    ExactComparison,
    NameComparison,
    NikComparison,
    compare,
)
from bansos_linkage.linkage.explain import (
    level_names,
    match_weight_histogram,
    plot_m_u,
    plot_waterfall,
    waterfall,
)
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter

COMPARISONS = (NameComparison(), NikComparison(), ExactComparison("sex"))
# level counts from the comparisons themselves, so the tests follow changes to their levels
N = {c.label: len(c.levels) for c in COMPARISONS}
TOP = {label: n - 1 for label, n in N.items()}


def _known(n: int) -> tuple[np.ndarray, np.ndarray]:
    """m rising and u falling with the level: strong agreement is evidence for a match."""
    m = 2.0 ** np.arange(n)
    m[-1] *= 4
    u = 2.0 ** -np.arange(n, dtype=float)
    return m / m.sum(), u / u.sum()


M = {label: _known(n)[0] for label, n in N.items()}
U = {label: _known(n)[1] for label, n in N.items()}


def simulate(n=40_000, lam=0.1, missing=0.2, seed=0):
    rng = np.random.default_rng(seed)
    match = rng.random(n) < lam
    cols = {}
    for name in M:
        m, u = M[name], U[name]
        col = np.where(match, rng.choice(len(m), n, p=m), rng.choice(len(u), n, p=u))
        col[rng.random(n) < missing] = -1
        cols[name] = col
    return pd.DataFrame(cols), match


@pytest.fixture(scope="module")
def fitted():
    levels, match = simulate()
    return FellegiSunter().fit(levels), levels, match


def test_level_names_come_from_comparisons_weakest_first():
    names = level_names(COMPARISONS)
    assert list(names) == ["name", "nik", "sex"]
    assert names["name"][TOP["name"]] == "exact" and names["name"][0] == "else"
    assert names["name"][TOP["name"] - 1] == "token_set"
    for comp in COMPARISONS:
        n = len(comp.levels)
        assert names[comp.label] == tuple(comp.levels[n - 1 - k] for k in range(n))
    assert names["sex"] == ("else", "exact")
    with pytest.raises(ValueError, match="'sex'"):
        level_names([ExactComparison("sex"), ExactComparison("sex")])


ROWS = [
    [TOP["name"], TOP["nik"], 1],
    [0, 0, 0],
    [-1, TOP["nik"], 0],
    [-1, -1, -1],
    [3, -1, 1],
    [1, 2, -1],
]


@pytest.mark.parametrize("row", ROWS)
def test_waterfall_adds_up_to_the_match_weight(fitted, row):
    model, _, _ = fitted
    x = pd.DataFrame([row], columns=["name", "nik", "sex"])
    table = waterfall(model, x)
    assert list(table["term"]) == ["prior", "name", "nik", "sex", "final"]
    expected = model.match_weight(x)[0]
    assert table["cumulative"].iloc[-1] == pytest.approx(expected, abs=1e-9)
    assert table["weight"].iloc[-1] == pytest.approx(expected, abs=1e-9)
    assert table["probability"].iloc[-1] == pytest.approx(model.predict_proba(x)[0, 1])
    # each step adds its own weight, starting from the prior log odds
    lam = model.lambda_
    assert table["weight"].iloc[0] == pytest.approx(np.log2(lam / (1 - lam)))
    steps = table["cumulative"].iloc[:-1].diff().iloc[1:].to_numpy()
    np.testing.assert_allclose(steps, table["weight"].iloc[1:-1].to_numpy())
    assert table["level"].iloc[1:4].tolist() == row


def test_waterfall_terms_are_the_fitted_log_bayes_factors(fitted):
    model, _, _ = fitted
    table = waterfall(model, pd.Series({"name": TOP["name"], "nik": 0, "sex": 1}))
    params = model.parameters().set_index(["comparison", "level"])
    for term, level in (("name", TOP["name"]), ("nik", 0), ("sex", 1)):
        got = table.set_index("term").loc[term]
        assert got["m"] == pytest.approx(model.m_[list(M).index(term)][level])
        assert got["weight"] == pytest.approx(params.loc[(term, level), "match_weight"])
    weights = table.set_index("term")["weight"]
    assert weights["name"] > 3 and weights["nik"] < -3  # exact name for, NIK disagreement against


def test_missing_level_contributes_nothing(fitted):
    model, _, _ = fitted
    table = waterfall(model, pd.DataFrame({"name": [TOP["name"]], "nik": [-1], "sex": [1]}))
    nik = table.set_index("term").loc["nik"]
    assert nik["weight"] == 0 and nik["level_name"] == "missing" and nik["level"] == -1
    assert np.isnan(nik["m"]) and np.isnan(nik["u"])
    without = waterfall(model, pd.DataFrame({"name": [TOP["name"]], "nik": [-1], "sex": [-1]}))
    sex_weight = table.set_index("term").loc["sex", "weight"]
    assert table["cumulative"].iloc[-1] - without["cumulative"].iloc[-1] == pytest.approx(
        sex_weight
    )


def test_extra_weights_are_added_after_the_comparisons(fitted):
    model, _, _ = fitted
    x = pd.DataFrame({"name": [TOP["name"]], "nik": [TOP["nik"]], "sex": [1]})
    extra = {"tf_adjustment:name": 2.5, "manual": -1.0}
    table = waterfall(model, x, extra_weights=extra)
    assert list(table["term"]) == ["prior", "name", "nik", "sex", *extra, "final"]
    assert list(table["kind"]) == ["prior", *["comparison"] * 3, "extra", "extra", "final"]
    assert table["cumulative"].iloc[-1] == pytest.approx(model.match_weight(x)[0] + 1.5)
    assert table["cumulative"].iloc[-4] == pytest.approx(model.match_weight(x)[0])
    series = waterfall(model, x, extra_weights=pd.Series(extra))
    pd.testing.assert_frame_equal(series, table)
    with pytest.raises(ValueError, match="manual"):
        waterfall(model, x, extra_weights={"manual": float("nan")})


def test_level_names_are_mapped_by_level_number(fitted):
    model, _, _ = fitted
    x = pd.DataFrame({"name": [TOP["name"]], "nik": [0], "sex": [1]})
    table = waterfall(model, x, names=level_names(COMPARISONS)).set_index("term")
    assert table.loc["name", "level_name"] == "exact"
    assert table.loc["nik", "level_name"] == "else"
    assert table.loc["sex", "level_name"] == "exact"
    numbered = waterfall(model, x).set_index("term")
    assert numbered.loc["name", "level_name"] == str(TOP["name"])
    # names for another comparison setup (too few levels) are refused, not misapplied
    with pytest.raises(ValueError, match="'name'"):
        waterfall(model, x, names={"name": ("exact", "else")})


def test_rows_that_do_not_fit_the_model_are_refused(fitted):
    model, _, _ = fitted
    with pytest.raises(ValueError, match=r"missing \['nik'\].*unexpected \['nikk'\]"):
        waterfall(model, pd.DataFrame({"name": [TOP["name"]], "nikk": [1], "sex": [1]}))
    with pytest.raises(ValueError, match="one pair"):
        waterfall(model, pd.DataFrame({"name": [1, 1], "nik": [1, 0], "sex": [1, 0]}))
    with pytest.raises(ValueError, match="'sex'"):
        waterfall(model, pd.DataFrame({"name": [TOP["name"]], "nik": [TOP["nik"]], "sex": [2]}))
    # column order does not matter, names do
    shuffled = pd.DataFrame({"sex": [1], "nik": [TOP["nik"]], "name": [TOP["name"]]})
    ordered = pd.DataFrame({"name": [TOP["name"]], "nik": [TOP["nik"]], "sex": [1]})
    assert waterfall(model, shuffled).equals(waterfall(model, ordered))


def test_unfitted_model_raises_not_fitted():
    x = pd.DataFrame({"name": [TOP["name"]]})
    with pytest.raises(NotFittedError):
        waterfall(FellegiSunter(), x)
    with pytest.raises(NotFittedError):
        plot_m_u(FellegiSunter())


def test_plot_waterfall_draws_one_bar_per_term(fitted):
    model, _, _ = fitted
    x = pd.DataFrame({"name": [TOP["name"]], "nik": [0], "sex": [-1]})
    table = waterfall(model, x, level_names(COMPARISONS), {"tf_adjustment:name": 1.0})
    fig = plot_waterfall(table, title="pair 0")
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    assert len(ax.patches) == len(table) == 6
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [
        "prior: " + table["level_name"].iloc[0],
        "name: exact",
        "nik: else",
        "sex: missing",
        "tf_adjustment:name",
        "final",
    ]
    colours = [p.get_facecolor()[:3] for p in ax.patches]
    assert colours[1] != colours[2]  # for (green) and against (red)
    assert ax.get_title().startswith("pair 0") and "probability" in ax.get_title()
    # the bars start where the running total was and the final bar spans the total
    assert ax.patches[2].get_y() == pytest.approx(table["cumulative"].iloc[1])
    assert ax.patches[-1].get_height() == pytest.approx(table["cumulative"].iloc[-1])
    fig.savefig(io.BytesIO(), format="png")  # renders without a display


def test_plot_waterfall_uses_the_given_axes(fitted):
    model, _, _ = fitted
    fig = Figure()
    ax = fig.add_subplot(1, 2, 2)
    out = plot_waterfall(
        waterfall(model, pd.Series({"name": 1, "nik": TOP["nik"], "sex": 0})), ax=ax
    )
    assert out is fig and len(ax.patches) == 5
    with pytest.raises(ValueError, match="cumulative"):
        plot_waterfall(pd.DataFrame({"term": ["a"], "weight": [1.0]}))


def test_histogram_counts_split_by_class(fitted):
    model, levels, match = fitted
    weights = model.match_weight(levels)
    fig, data = match_weight_histogram(weights, threshold=0.0, true_match=match, bins=30)
    assert len(data) == 30 and data["count"].sum() == len(weights)
    assert data["count_match"].sum() == match.sum()
    assert (data["count_match"] + data["count_nonmatch"] == data["count"]).all()
    np.testing.assert_array_equal(data["count"], np.histogram(weights, bins=30)[0])
    # non-matches sit at low weights, matches at high ones
    centre = (data["bin_left"] + data["bin_right"]) / 2
    mean_match = (centre * data["count_match"]).sum() / data["count_match"].sum()
    mean_non = (centre * data["count_nonmatch"]).sum() / data["count_nonmatch"].sum()
    assert mean_match > 0 > mean_non
    ax = fig.axes[0]
    assert len(ax.patches) == 60  # two stacked series
    assert [line.get_xdata()[0] for line in ax.get_lines()] == [0.0]  # the threshold line
    fig.savefig(io.BytesIO(), format="png")


def test_histogram_without_labels():
    fig, data = match_weight_histogram([-3.0, -2.5, 0.1, 7.0], bins=[-5, 0, 5, 10])
    assert data["count"].tolist() == [2, 1, 1]
    assert list(data.columns) == ["bin_left", "bin_right", "count"]
    assert len(fig.axes[0].patches) == 3 and not fig.axes[0].get_lines()
    with pytest.raises(ValueError, match="true_match"):
        match_weight_histogram([1.0, 2.0], true_match=[True])
    with pytest.raises(ValueError, match="not finite"):
        match_weight_histogram([1.0, np.nan])


def test_plot_m_u_panels_per_comparison(fitted):
    model, _, _ = fitted
    fig, params = plot_m_u(model, level_names(COMPARISONS))
    assert isinstance(fig, Figure) and len(fig.axes) == 2 * 3
    n_levels = list(N.values())
    assert list(model.n_levels_) == n_levels
    for k, n in enumerate(n_levels):
        assert len(fig.axes[2 * k].patches) == 2 * n  # m and u per level
        assert len(fig.axes[2 * k + 1].patches) == n  # one weight per level
    name_ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert name_ticks == list(level_names(COMPARISONS)["name"])
    assert list(params.columns[:3]) == ["comparison", "level", "level_name"]
    exact = params[(params["comparison"] == "name") & (params["level"] == TOP["name"])]
    assert exact["level_name"].item() == "exact" and exact["match_weight"].item() > 0
    pd.testing.assert_frame_equal(params.drop(columns="level_name"), model.parameters())
    # the weight bars are coloured by sign
    weight_bars = fig.axes[1].patches
    signs = np.sign(params.loc[params["comparison"] == "name", "match_weight"].to_numpy())
    assert len({weight_bars[i].get_facecolor() for i in np.flatnonzero(signs > 0)}) == 1
    assert weight_bars[0].get_facecolor() != weight_bars[-1].get_facecolor()
    fig.savefig(io.BytesIO(), format="png")


def test_explains_real_comparisons_without_record_values(dtks_regsosek):
    p = dtks_regsosek
    levels, _ = compare(p.left, p.right, p.pairs.left, p.pairs.right)
    model = FellegiSunter().fit(levels)
    names = level_names(DEFAULT_COMPARISONS)
    i = int(np.flatnonzero(p.true)[0])
    table = waterfall(model, levels.iloc[[i]], names)
    assert table["cumulative"].iloc[-1] == pytest.approx(model.match_weight(levels.iloc[[i]])[0])
    allowed = {c.label for c in DEFAULT_COMPARISONS} | {"prior", "final"}
    level_labels = {lv for c in DEFAULT_COMPARISONS for lv in c.levels} | {"missing"}
    for label in [t.get_text() for t in plot_waterfall(table).axes[0].get_xticklabels()]:
        term, _, level = label.partition(": ")
        assert term in allowed and (level in level_labels or term == "prior" or not level)
