"""Link metrics against hand-computed values."""

from __future__ import annotations

import pandas as pd
import pytest

from bansos_linkage.evaluation import link_metrics, true_links


def test_true_links_include_every_registration_of_a_person():
    left = pd.Series({"d1": "p1", "d2": "p1", "d3": "p2", "d4": None})
    right = pd.Series({"r1": "p1", "r2": "p2", "r3": "p9"})
    got = true_links(left, right)
    assert got.values.tolist() == [["d1", "r1"], ["d2", "r1"], ["d3", "r2"]]


def test_metrics_by_hand():
    truth = pd.DataFrame({"left_id": ["a", "b", "c", "d"], "right_id": ["w", "x", "y", "z"]})
    pred = pd.DataFrame(
        {"left_id": ["a", "b", "c", "c", "e"], "right_id": ["w", "x", "z", "z", "v"]}
    )
    m = link_metrics(pred, truth)
    # predicted (deduplicated): aw, bx, cz, ev -> 2 right of 4; truth has 4, 2 found
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (2, 2, 2)
    assert m["precision"] == pytest.approx(0.5) and m["recall"] == pytest.approx(0.5)
    assert m["f1"] == pytest.approx(0.5)
    assert link_metrics(truth, truth)["f1"] == 1.0
    empty = link_metrics(pred.iloc[:0], truth)
    assert empty["recall"] == 0.0 and empty["f1"] == 0.0


def _scored():
    truth = pd.DataFrame({"left_id": list("abcd"), "right_id": list("wxyz")})
    scored = pd.DataFrame(
        {
            "left_id": ["a", "b", "c", "e", "d"],
            "right_id": ["w", "x", "y", "v", "z"],
            "match_probability": [0.99, 0.95, 0.7, 0.6, 0.2],
        }
    )
    return scored, truth


def test_threshold_curve_by_hand():
    from bansos_linkage.evaluation import threshold_curve

    scored, truth = _scored()
    curve = threshold_curve(scored, truth)
    assert curve["threshold"].tolist() == [0.99, 0.95, 0.7, 0.6, 0.2]
    assert curve["true_positives"].tolist() == [1, 2, 3, 3, 4]
    assert curve["precision"].tolist() == pytest.approx([1, 1, 1, 0.75, 0.8])
    assert curve["recall"].tolist() == pytest.approx([0.25, 0.5, 0.75, 0.75, 1.0])
    assert curve["f1"].iloc[2] == pytest.approx(2 * 0.75 / 1.75)


def test_choose_threshold_for_f1_or_a_precision_floor():
    from bansos_linkage.evaluation import choose_threshold, threshold_curve

    curve = threshold_curve(*_scored())
    assert choose_threshold(curve)["threshold"] == 0.2  # F1 0.889 beats 0.857
    assert choose_threshold(curve, min_precision=0.99)["threshold"] == 0.7
    with pytest.raises(ValueError, match="precision"):
        choose_threshold(curve.iloc[3:], min_precision=0.99)


def test_link_errors_side_by_side():
    from bansos_linkage.evaluation import link_errors

    scored, truth = _scored()
    left = pd.DataFrame({"record_id": list("abcde"), "full_name": ["A", "B", "C", "D", "E"]})
    right = pd.DataFrame({"record_id": list("vwxyz"), "full_name": ["V", "W", "X", "Y", "Z"]})
    fp, fn = link_errors(scored[scored["match_probability"] >= 0.5], truth, left, right)
    assert fp[["left_id", "right_id", "full_name_left", "full_name_right"]].values.tolist() == [
        ["e", "v", "E", "V"]
    ]
    assert fn[["left_id", "right_id"]].values.tolist() == [["d", "z"]]


def test_plot_threshold_curve_returns_figure_and_data():
    from bansos_linkage.evaluation import plot_threshold_curve, threshold_curve

    curve = threshold_curve(*_scored())
    fig, data = plot_threshold_curve(curve, chosen=0.7)
    assert len(fig.axes) == 2 and data is curve
    assert len(fig.axes[1].get_lines()) == 4  # precision, recall, F1 and the marker


def test_wilson_interval_by_hand_and_at_the_edges():
    from bansos_linkage.evaluation import wilson_interval

    low, high = wilson_interval(8, 10)
    # z = 1.96: centre (0.8 + 0.19208) / 1.38416, half-width 0.2554 -> (0.4902, 0.9433)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 50)[0] == pytest.approx(0.0, abs=1e-12)
    assert wilson_interval(50, 50)[1] == pytest.approx(1.0)
    assert wilson_interval(50, 50)[0] > 0.9
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_estimate_from_a_reviewed_sample_of_the_links():
    from bansos_linkage.evaluation import estimate_from_sample

    links = pd.DataFrame({"left_id": [f"l{i}" for i in range(1000)], "right_id": "r"})
    links["right_id"] = [f"r{i}" for i in range(1000)]
    sample = links.iloc[:200].assign(is_match=[True] * 196 + [False] * 4)
    est = estimate_from_sample(sample, links)
    assert est["sample_size"] == 200 and est["precision"] == pytest.approx(0.98)
    assert est["precision_low"] < 0.98 < est["precision_high"]
    assert est["false_links"] == pytest.approx(20)
    assert est["false_links_low"] < 20 < est["false_links_high"]
    outsider = pd.DataFrame({"left_id": ["x"], "right_id": ["y"], "is_match": [True]})
    with pytest.raises(ValueError, match="not among the links"):
        estimate_from_sample(pd.concat([sample, outsider]), links)


def test_household_metrics_by_hand():
    from bansos_linkage.evaluation import household_metrics

    truth = pd.DataFrame({"left_id": ["a", "b", "c"], "right_id": ["x", "y", "z"]})
    # a and b live together on both sides; c elsewhere
    left_hh = pd.Series({"a": "H1", "b": "H1", "c": "H2"})
    right_hh = pd.Series({"x": "K1", "y": "K1", "z": "K2"})
    # a<->y is a wrong person but the right household; c<->x sends H2's benefit to K1
    pred = pd.DataFrame({"left_id": ["a", "c"], "right_id": ["y", "x"]})
    m = household_metrics(pred, truth, left_hh, right_hh)
    assert (m["true_positives"], m["false_positives"], m["false_negatives"]) == (1, 1, 1)
    assert link_metrics(pred, truth)["true_positives"] == 0


def test_label_free_curve_by_hand():
    from bansos_linkage.evaluation import label_free_curve

    scored = pd.DataFrame({"match_probability": [0.9, 0.9, 0.5, 0.1]})
    curve = label_free_curve(scored)
    assert curve["threshold"].tolist() == [0.9, 0.5, 0.1]
    assert curve["links"].tolist() == [2, 3, 4]
    assert curve["expected_false_links"].tolist() == pytest.approx([0.2, 0.7, 1.6])
    # expected matches 2.4; missed below 0.9: 0.6, below 0.5: 0.1, below 0.1: 0
    assert curve["expected_missed_links"].tolist() == pytest.approx([0.6, 0.1, 0.0])
    assert curve["estimated_fdr"].iloc[0] == pytest.approx(0.1)
    assert curve["estimated_fnr"].iloc[0] == pytest.approx(0.25)


def test_estimates_from_a_random_sample_of_candidate_pairs():
    from bansos_linkage.evaluation import estimate_from_random_pairs

    links = pd.DataFrame({"left_id": ["a", "b", "c"], "right_id": ["x", "y", "z"]})
    sample = pd.DataFrame(
        {
            "left_id": ["a", "b", "c", "d", "e"],
            "right_id": ["x", "y", "z", "w", "v"],
            "is_match": [True, True, False, True, False],
        }
    )
    est = estimate_from_random_pairs(sample, links)
    assert est["precision"] == pytest.approx(2 / 3) and est["recall"] == pytest.approx(2 / 3)
    assert est["precision_low"] < 2 / 3 < est["precision_high"]
    assert (est["sampled_links"], est["sampled_matches"]) == (3, 3)


def test_histogram_and_calibration_plots_return_their_data():
    from matplotlib.figure import Figure

    from bansos_linkage.evaluation import plot_calibration, plot_score_histogram

    scored, truth = _scored()
    fig, data = plot_score_histogram(scored, truth, threshold=0.5, bins=4)
    assert isinstance(fig, Figure)
    assert data["true_pairs"].sum() == 4 and data["false_pairs"].sum() == 1
    fig, table = plot_calibration(scored, truth, bins=2, strategy="quantile")
    assert isinstance(fig, Figure) and table["pairs"].sum() == 5
    # the three lowest-scored pairs (0.2 true, 0.6 false, 0.7 true): observed 2 of 3
    assert table["observed"].iloc[0] == pytest.approx(2 / 3)
    assert table["predicted"].iloc[0] == pytest.approx(0.5)
    # equal widths: [0, 0.5) holds 0.2 (true); [0.5, 1] holds 0.6 (false) and three true
    _, table = plot_calibration(scored, truth, bins=2)
    assert table["pairs"].tolist() == [1, 4]
    assert table["observed"].tolist() == pytest.approx([1.0, 0.75])
    assert table["predicted"].tolist() == pytest.approx([0.2, (0.99 + 0.95 + 0.7 + 0.6) / 4])


def test_read_truth_from_pairs_or_two_entity_tables(tmp_path):
    from bansos_linkage.errors import InputError
    from bansos_linkage.evaluation import read_truth

    (tmp_path / "pairs.csv").write_text("left_id,right_id\na,x\nb,y\n")
    assert read_truth(tmp_path / "pairs.csv").values.tolist() == [["a", "x"], ["b", "y"]]
    (tmp_path / "l.csv").write_text("record_id,person_id\na,P1\nb,P2\n")
    (tmp_path / "r.csv").write_text("record_id,person_id\nx,P2\n")
    assert read_truth(tmp_path / "l.csv", tmp_path / "r.csv").values.tolist() == [["b", "x"]]
    with pytest.raises(InputError, match="left_id and right_id"):
        read_truth(tmp_path / "l.csv")


def test_a_precision_floor_with_confidence_is_stricter():
    from bansos_linkage.evaluation import choose_threshold, wilson_interval

    # 10,000 pairs above each threshold step; precision 0.9995, 0.9955, 0.990 cumulated
    curve = pd.DataFrame(
        {
            "threshold": [0.9, 0.5, 0.1],
            "links": [10_000, 20_000, 30_000],
            "true_positives": [9_995, 19_910, 29_700],
        }
    )
    curve["precision"] = curve["true_positives"] / curve["links"]
    assert choose_threshold(curve, min_precision=0.995)["threshold"] == 0.5
    # 19,910 of 20,000 has a 95% lower bound under 0.995; 9,995 of 10,000 is above it
    assert wilson_interval(19_910, 20_000)[0] < 0.995 < wilson_interval(9_995, 10_000)[0]
    assert choose_threshold(curve, min_precision=0.995, confidence=0.95)["threshold"] == 0.9
