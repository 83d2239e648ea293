"""Evaluation from what users really have: reviewed labels, the run's own links, honest charts.

One small synthetic run (300 households of the ``hard`` scenario, where the run makes
a few errors) is linked once; the tests read it back.
"""

from __future__ import annotations

import datetime as dt
import inspect
import io
import shutil

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from bansos_linkage.cli import EXIT_OK, EXIT_USAGE, main
from bansos_linkage.evaluation import (
    RunRelinker,
    choose_threshold,
    labels_metrics,
    link_metrics,
    plot_score_histogram,
    plot_threshold_curve,
    run_threshold_curve,
    true_links,
    wilson_interval,
)
from bansos_linkage.linkage.explain import level_names, plot_m_u
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.review import merge_labels, oracle_decisions, select_for_review, write_labels
from bansos_linkage.runs.evaluate import evaluate_labels
from bansos_linkage.runs.link import link_files, read_run
from bansos_linkage.synthetic import generate, scenario

REFERENCE = dt.date(2026, 1, 1)
KEY = ["left_id", "right_id"]


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    data = generate(scenario("hard", households=300, seed=1))
    folder = tmp_path_factory.mktemp("labels") / "run"
    link_files(
        data.registers["dtks"],
        data.registers["regsosek"],
        "dtks",
        "regsosek",
        folder,
        reference_date=REFERENCE,
    )
    truth = true_links(
        data.truth["dtks"].set_index("record_id")["person_id"],
        data.truth["regsosek"].set_index("record_id")["person_id"],
    )
    return data, folder, truth


@pytest.fixture(scope="module")
def curve(linked):
    _, folder, truth = linked
    return run_threshold_curve(read_run(folder), truth)


def _relink(data, folder, threshold: float) -> pd.DataFrame:
    """What ``link --model RUN/model.json --threshold T`` makes of the same registers."""
    run = link_files(
        data.registers["dtks"],
        data.registers["regsosek"],
        "dtks",
        "regsosek",
        None,
        reference_date=REFERENCE,
        model=folder / "model.json",
        threshold=threshold,
    )
    return run.result.links


def _labels(run, truth, n=120, random_share=0.5, seed=0) -> pd.DataFrame:
    """A reviewer who is always right reviews a batch (random links and uncertain pairs)."""
    batch = select_for_review(
        run.pairs,
        n,
        threshold=float(run.summary["threshold"]),
        random_share=random_share,
        seed=seed,
    )
    return oracle_decisions(batch, truth)


# -- threshold curves consistent with the run -------------------------------------------


def test_the_curve_at_the_runs_threshold_is_the_run(linked, curve):
    _, folder, truth = linked
    run = read_run(folder)
    row = curve.loc[curve["run"]]
    assert len(row) == 1 and row["threshold"].item() == run.summary["threshold"]
    expected = link_metrics(run.links, truth)
    for name, value in expected.items():
        assert row[name].item() == pytest.approx(value), name
    # not only the counts: the very links
    again = RunRelinker(run).links(float(run.summary["threshold"]))
    pd.testing.assert_frame_equal(
        again[KEY].astype(str).sort_values(KEY, ignore_index=True),
        run.links[KEY].astype(str).sort_values(KEY, ignore_index=True),
    )
    # on a match-weight axis, highest first; each row's links are resolved (one-to-one
    # with duplicates), so no threshold has more links than the candidate pairs above it
    assert curve["match_weight"].is_monotonic_decreasing
    assert curve["match_weight"].to_numpy() == pytest.approx(
        np.log2(curve["threshold"] / (1 - curve["threshold"]))
    )
    # the best F1 of the curve is never worse than the run's own
    assert choose_threshold(curve)["f1"] >= row["f1"].item()


def test_curve_suggestions_are_what_a_relink_makes(linked, curve):
    data, folder, truth = linked
    best = choose_threshold(curve)
    floor = choose_threshold(curve, min_precision=0.999)
    assert floor["threshold"] < best["threshold"] or floor["precision"] >= 0.999
    for row in (best, floor):
        got = link_metrics(_relink(data, folder, float(row["threshold"])), truth)
        for name in ("true_positives", "false_positives", "false_negatives"):
            assert got[name] == row[name], (row["threshold"], name)
        assert got["precision"] == pytest.approx(row["precision"])
        assert got["recall"] == pytest.approx(row["recall"])


def test_evaluate_with_truth_reports_the_curves_rows(linked, curve, tmp_path, capsys):
    _, folder, truth = linked
    truth_file = tmp_path / "truth.csv"
    truth.to_csv(truth_file, index=False)
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(folder), "--truth", str(truth_file), "--out", str(out)]) == 0
    capsys.readouterr()
    metrics = pd.read_csv(out / "metrics.csv").set_index("what")
    best = choose_threshold(curve)
    run_row = curve.loc[curve["run"]].iloc[0]
    if run_row["f1"] >= best["f1"]:
        best = run_row  # the run's own threshold is suggested when it is as good
    assert metrics.loc["best F1", "threshold"] == pytest.approx(best["threshold"])
    assert metrics.loc["best F1", "f1"] == pytest.approx(best["f1"])
    assert metrics.loc["links of the run", "f1"] == pytest.approx(run_row["f1"])
    written = pd.read_csv(out / "threshold_curve.csv")
    assert written["run"].sum() == 1 and "match_weight" in written


def test_plot_threshold_curve_marks_the_run_where_its_links_are(linked, curve):
    _, folder, _ = linked
    run_threshold = float(read_run(folder).summary["threshold"])
    fig, data = plot_threshold_curve(curve, run_threshold=run_threshold)
    assert data is curve
    pr, by_t = fig.axes[:2]
    run_row = curve.loc[curve["run"]].iloc[0]
    (point,) = [c for c in pr.collections if c.get_label().startswith("this run")]
    assert point.get_offsets()[0].tolist() == pytest.approx(
        [run_row["recall"], run_row["precision"]]
    )
    assert by_t.get_xlabel() == "threshold: match weight (log2 odds)"
    labels = [t.get_text() for t in by_t.get_legend().get_texts()]
    assert "this run: p=0.5 (weight 0.0)" in labels
    vline = next(line for line in by_t.get_lines() if line.get_label().startswith("this run"))
    assert vline.get_xdata()[0] == pytest.approx(0.0)  # weight of p = 0.5
    # the probability is a second axis above the weights
    assert any(type(child).__name__ == "SecondaryAxis" for child in by_t.child_axes)


def test_plot_score_histogram_legend_reads_as_probability_and_weight():
    truth = pd.DataFrame({"left_id": ["a"], "right_id": ["x"]})
    scored = pd.DataFrame(
        {"left_id": ["a", "b"], "right_id": ["x", "y"], "match_probability": [0.9, 0.1]}
    )
    fig, _ = plot_score_histogram(scored, truth, threshold=0.5, bins=4)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "threshold p=0.5 (weight 0.0)" in texts
    scored["match_weight"] = np.log2(
        scored["match_probability"] / (1 - scored["match_probability"])
    )
    fig, _ = plot_score_histogram(scored, truth, score="match_weight", threshold=0.0, bins=4)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "threshold p=0.5 (weight 0.0)" in texts


# -- evaluation from reviewed labels -----------------------------------------------------


def test_evaluate_precision_from_the_reviewed_random_links_with_a_wilson_interval(linked):
    _, folder, truth = linked
    run = read_run(folder)
    labels = _labels(run, truth)
    labels.loc[labels.index[-4:], "decision"] = "unsure"  # uncertain pairs left undecided
    stranger = pd.DataFrame(
        {"left_id": ["nobody"], "right_id": ["nowhere"], "decision": ["match"]}
    ).assign(selected_by="random")
    labels = pd.concat([labels, stranger], ignore_index=True)
    result = labels_metrics(run, labels)
    table = result["table"].set_index("what")
    row = table.loc["links of the run: precision (reviewed random sample of the links)"]
    random = labels[(labels["selected_by"] == "random") & (labels["left_id"] != "nobody")]
    hits = int((random["decision"] == "match").sum())
    assert row["sample_size"] == len(random) == 60
    assert row["precision"] == pytest.approx(hits / len(random))
    low, high = wilson_interval(hits, len(random))
    assert (row["precision_low"], row["precision_high"]) == pytest.approx((low, high))
    assert row["links"] == len(run.links)
    # the random links are the run's links, so against the truth the estimate is right
    true_precision = link_metrics(run.links, truth)["precision"]
    assert low <= true_precision <= high
    counts = result["counts"]
    assert counts["labels read"] == len(labels)
    assert counts["labels left out: unsure"] == 4
    assert counts["labels left out: pair not scored in this run"] == 1
    assert counts["labels used"] == len(labels) - 5
    assert counts["of which random links (precision)"] == 60
    # no sample of candidate pairs: recall is said not estimable, not made up
    assert "recall: not estimable (no random sample of candidate pairs)" in table.index
    assert any("recall cannot be estimated" in w for w in result["warnings"])
    # the other reviewed pairs count as known errors only
    chosen = table.loc["reviewed pairs chosen on purpose (known errors, not an estimate)"]
    assert chosen["sample_size"] == counts["of which chosen on purpose (known errors only)"]


def test_evaluate_recall_from_a_reviewed_random_sample_of_candidate_pairs(linked):
    _, folder, truth = linked
    run = read_run(folder)
    sample = run.pairs.sample(80, random_state=2)
    labels = oracle_decisions(sample.assign(selected_by="random_pairs"), truth)
    table = labels_metrics(run, labels)["table"].set_index("what")
    row = table.loc["candidate pairs: precision and recall (reviewed random sample of the pairs)"]
    linked_ = sample["link"].astype(bool).to_numpy()
    match = (labels["decision"] == "match").to_numpy()
    assert row["recall"] == pytest.approx((linked_ & match).sum() / match.sum())
    assert row["recall_low"] <= row["recall"] <= row["recall_high"]
    assert row["precision"] == pytest.approx((linked_ & match).sum() / linked_.sum())


def test_evaluate_labels_from_the_command_line_and_by_default(linked, tmp_path, capsys):
    _, folder, truth = linked
    run_dir = tmp_path / "run"
    shutil.copytree(folder, run_dir)
    labels = merge_labels(None, _labels(read_run(run_dir), truth), source="test")
    write_labels(labels, run_dir / "labels.csv")
    # RUN_DIR/labels.csv is read when neither --truth nor --labels is given
    assert main(["evaluate", str(run_dir)]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{len(labels)} labels read" in out and "precision" in out and "95% interval" in out
    metrics = pd.read_csv(run_dir / "evaluation_labels" / "metrics.csv").set_index("what")
    row = metrics.loc["links of the run: precision (reviewed random sample of the links)"]
    assert row["sample_size"] == 60 and 0 < row["precision_low"] <= row["precision"]
    assert metrics.loc["labels read", "labels"] == len(labels)
    # --labels names the file, and --out the folder
    other = tmp_path / "elsewhere"
    args = ["evaluate", str(run_dir), "--labels", str(run_dir / "labels.csv"), "--out", str(other)]
    assert main(args) == EXIT_OK
    capsys.readouterr()
    assert pd.read_csv(other / "metrics.csv").equals(
        pd.read_csv(run_dir / "evaluation_labels" / "metrics.csv")
    )
    # in Python: the same from the table
    result = evaluate_labels(run_dir, labels)
    assert result["counts"]["labels read"] == len(labels)


def test_evaluate_refuses_a_labels_file_given_as_truth(linked, tmp_path, capsys):
    _, folder, truth = linked
    labels = _labels(read_run(folder), truth)
    assert (labels["decision"] == "non_match").any()  # they would count as true links
    path = write_labels(merge_labels(None, labels, source="test"), tmp_path / "labels.csv")
    out = tmp_path / "evaluation"
    assert main(["evaluate", str(folder), "--truth", str(path), "--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "labels file" in err and "--labels" in err
    assert not out.exists()


def test_evaluate_without_truth_or_labels_is_a_usage_error(linked, tmp_path, capsys):
    _, folder, _ = linked
    run_dir = tmp_path / "run"
    shutil.copytree(folder, run_dir)
    assert main(["evaluate", str(run_dir)]) == EXIT_USAGE
    assert "--truth" in capsys.readouterr().err


# -- charts that do not mislead ----------------------------------------------------------


def test_parameters_name_their_levels():
    model = FellegiSunter.from_parameters(
        [[0.1, 0.2, 0.7], [0.05, 0.95]], [[0.9, 0.09, 0.01], [0.5, 0.5]], 0.01, ["name", "sex"]
    )
    plain = model.parameters()
    assert "level_name" not in plain  # the estimator's own table is unchanged
    named = model.parameters({"name": ("else", "close", "exact")})
    assert list(named.columns) == ["comparison", "level", "level_name", "m", "u", "match_weight"]
    assert named["level_name"].tolist() == ["else", "close", "exact", "0", "1"]
    pd.testing.assert_frame_equal(named.drop(columns="level_name"), plain)
    assert "level_names" in inspect.signature(model.parameters).parameters
    assert clone(model).get_params() == model.get_params()  # still a plain estimator


def test_linker_parameters_and_plot_m_u_mark_levels_without_data(linked):
    _, folder, _ = linked
    linker = Linker.load(folder / "model.json")
    table = linker.parameters()
    names = level_names(linker.comparisons_)
    assert table["level_name"].tolist() == [
        names[c][level] for c, level in zip(table["comparison"], table["level"], strict=True)
    ]
    # the synthetic registers have no mother's name on one side: every level is no data
    missing = [
        c.label
        for c, top in zip(linker.comparisons_, linker.max_level_seen_, strict=True)
        if top < 0
    ]
    assert missing == ["mother_name"]
    assert not table.loc[table["comparison"] == "mother_name", "observed"].any()
    # a level no candidate pair reached (above the highest seen) has no data either
    for k, comp in enumerate(linker.comparisons_):
        above = table[
            (table["comparison"] == comp.label) & (table["level"] > linker.max_level_seen_[k])
        ]
        assert not above["observed"].any()
    assert table.loc[table["comparison"] == "name", "observed"].all()
    fig, params = plot_m_u(linker)
    assert params["drawn_as"].tolist() == np.where(table["observed"], "bars", "no data").tolist()
    k = [c.label for c in linker.comparisons_].index("mother_name")
    ax_mu, ax_w = fig.axes[2 * k], fig.axes[2 * k + 1]
    n = len(linker.comparisons_[k].levels)
    # one hatched band per level instead of m and u bars, each saying "no data"
    assert len(ax_mu.patches) == n and all(p.get_hatch() for p in ax_mu.patches)
    assert len(ax_w.patches) == n and all(p.get_hatch() for p in ax_w.patches)
    assert [t.get_text() for t in ax_mu.texts] == ["no data"] * n
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "no data (no pair at this level)" in legend
    fig.savefig(io.BytesIO(), format="png")


def test_plot_m_u_draws_the_levels_it_is_told_have_no_data():
    model = FellegiSunter.from_parameters(
        [[0.1, 0.2, 0.7], [0.05, 0.95]], [[0.9, 0.09, 0.01], [0.5, 0.5]], 0.01, ["name", "sex"]
    )
    observed = {"name": (True, False, True), "sex": (True, True)}
    fig, params = plot_m_u(model, observed=observed)
    assert params["drawn_as"].tolist() == ["bars", "no data", "bars", "bars", "bars"]
    ax_mu, ax_w = fig.axes[0], fig.axes[1]
    assert len(ax_mu.patches) == 2 * 2 + 1  # m and u of two levels, one band
    assert sum(bool(p.get_hatch()) for p in ax_w.patches) == 1
    # without observed: all levels drawn, as before
    _, plain = plot_m_u(model)
    assert "drawn_as" not in plain
