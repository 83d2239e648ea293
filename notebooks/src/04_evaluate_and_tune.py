# %% [markdown]
# # Evaluate, tune and review
#
# A data team does not put an unsupervised model into production as it is. This
# notebook goes through the steps that follow a first run:
#
# 1. measure the run against a truth: precision, recall, F1, the threshold curve, the
#    score histogram and the calibration;
# 2. pick a threshold, either for the best F1 or for a precision floor ("the lowest
#    threshold with precision >= 0.995");
# 3. do two rounds of simulated clerical review. The review sheets go to Excel and
#    back, the ML matcher is trained on the decisions, and the second batch is chosen
#    by active learning;
# 4. estimate precision from the random share of the review. This is all a team has
#    when there is no truth.
#
# The synthetic generator knows the truth, and it plays the reviewer here. Everything
# is seeded.

# %%
# %matplotlib inline
import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from bansos_linkage import Linker, standardise
from bansos_linkage.evaluation import (
    choose_threshold,
    estimate_from_sample,
    label_free_curve,
    link_metrics,
    plot_calibration,
    plot_score_histogram,
    plot_threshold_curve,
    threshold_curve,
    true_links,
)
from bansos_linkage.linkage.explain import level_names
from bansos_linkage.review import (
    explanations,
    level_weights,
    merge_labels,
    oracle_decisions,
    read_review_sheet,
    review_sheet,
    select_for_review,
    training_pairs,
    write_review_sheet,
)
from bansos_linkage.synthetic import generate, scenario

data = generate(scenario("hard", households=3_000, seed=11))
today = dt.date(2026, 1, 1)
dtks = standardise(data.registers["dtks"], "dtks", reference_date=today).records
regsosek = standardise(data.registers["regsosek"], "regsosek", reference_date=today).records
truth = true_links(
    data.truth["dtks"].set_index("record_id")["person_id"],
    data.truth["regsosek"].set_index("record_id")["person_id"],
)
print(f"{len(dtks):,} DTKS and {len(regsosek):,} Regsosek records, {len(truth):,} true pairs")

# %% [markdown]
# ## The unsupervised run
#
# This is the `hard` scenario: more typos, more missing NIKs, more people who moved.
# `keep_pairs=True` keeps every scored candidate pair with its Fellegi-Sunter
# probability. The curves below are drawn from those pairs.

# %%
linker = Linker()
result = linker.fit_link(dtks, regsosek, keep_pairs=True)
pairs = result.pairs
pd.Series(link_metrics(result.links, truth)).round(4)

# %% [markdown]
# ## Threshold curve
#
# For every threshold, the curve gives the precision, recall and F1 of the scored
# pairs at or above it. Resolution has not happened yet: one-to-one resolution
# removes many of the false pairs, so the run's own links do better than the curve
# at the same threshold. Two thresholds are picked: the best F1, and the lowest
# threshold at which the precision is at least 0.995 with 95% confidence.

# %%
curve = threshold_curve(pairs, truth, score="match_probability")
best = choose_threshold(curve)
# "95% sure": the lower end of the precision's confidence interval must reach the floor,
# so the threshold holds on new records, not only on the pairs it was tuned on
safe = choose_threshold(curve, min_precision=0.995, confidence=0.95)
fig, _ = plot_threshold_curve(curve, chosen=safe["threshold"])
pd.DataFrame({"best F1": best, "precision >= 0.995 (95% sure)": safe}).T[
    ["threshold", "links", "precision", "recall", "f1"]
].round(4)

# %%
fig

# %% [markdown]
# ## Scores by true class, and calibration
#
# The histogram shows the scores on the log-odds scale. Most pairs are far from the
# threshold on either side, and the few in between are the ones worth a person's
# time. The calibration plot compares each probability bin with the share of true
# pairs observed in it, with 95% intervals. A label-free estimate of false links
# from these pair probabilities is only as good as this calibration, and it ignores
# that a link beat the other candidates of its records; the run's own
# `estimated_fdr` weighs those rivals. The last cell sets both next to the true FDR.

# %%
fig, _ = plot_score_histogram(pairs, truth, "match_probability", threshold=linker.threshold)
fig

# %%
fig, calibration = plot_calibration(pairs, truth, "match_probability")
fig

# %%
label_free = label_free_curve(pairs, "match_probability")
at = label_free[label_free["threshold"] >= safe["threshold"]].iloc[-1]
print(
    f"at threshold {safe['threshold']:.3g}: estimated FDR from the pairs "
    f"{at['estimated_fdr']:.4f}, true FDR {1 - safe['precision']:.4f}"
)
run_fdr = 1 - link_metrics(result.links, truth)["precision"]
print(
    f"the run's links: estimated FDR {result.summary['estimated_fdr']:.4f}, true FDR {run_fdr:.4f}"
)

# %% [markdown]
# ## Review round 1
#
# The first batch of 100 pairs comes from the Fellegi-Sunter scores. Most are the
# pairs nearest the threshold, at most two per agreement pattern. The other 10% are
# random links, which keep the precision estimate unbiased. The sheet goes to Excel.
# Every cell is text, no value can run as a formula, and NIKs keep their 16 digits.
# The 'reviewer' then fills in the decisions.

# %%
folder = Path(tempfile.mkdtemp())
comparisons = [c.label for c in linker.comparisons]
weights = level_weights(linker.model_.parameters())
names = level_names(linker.comparisons)


def review_round(pairs, labels, n, round_no, ml):
    batch = select_for_review(
        pairs,
        n,
        threshold=linker.ml_threshold if ml else linker.threshold,
        score="ml_probability" if ml else "match_probability",
        second_score="match_probability" if ml else None,
        labelled=labels,
        pattern=comparisons,
        seed=round_no,
    )
    batch["explanation"] = explanations(batch, weights, names)
    sheet = review_sheet(batch, dtks, regsosek)
    path = write_review_sheet(sheet, folder / f"batch{round_no}.xlsx")
    # the reviewer: open the sheet, write a decision in every row, save
    book = load_workbook(path)
    ws = book.active
    header = [c.value for c in ws[1]]
    answers = oracle_decisions(sheet, truth).set_index(["left_id", "right_id"])["decision"]
    for row in ws.iter_rows(min_row=2):
        key = (row[header.index("left_id")].value, row[header.index("right_id")].value)
        row[header.index("decision")].value = answers[key]
    book.save(path)
    decisions = read_review_sheet(path, exported=sheet)
    return sheet, decisions, merge_labels(labels, decisions, source=f"batch{round_no}")


sheet, decisions, labels = review_round(pairs, None, 100, 1, ml=False)
print(decisions["decision"].value_counts().to_dict())
sheet[["pair", "selected_by", "match_probability", "explanation"]].head(8)

# %% [markdown]
# ## The ML matcher
#
# The ML matcher learns from the same features as the Fellegi-Sunter model: the
# comparison levels, the similarities behind them and the Fellegi-Sunter weight
# itself. It is calibrated gradient boosting. Labels must never make the links worse,
# so the reviewed decisions are final, and the ML matcher decides (within the band of
# scores the labels cover) only if, cross-validated, it makes fewer wrong decisions on
# the labels than the links of the unsupervised model did. The run says which model
# decided and why.

# %%
linker.fit_ml(dtks, regsosek, training_pairs(labels))
ml_result = linker.link(dtks, regsosek, keep_pairs=True)
print(ml_result.summary["matcher"], "decides:", ml_result.summary["ml_training"]["why"])
rounds = [
    {"round": "unsupervised", "labels": 0, **link_metrics(result.links, truth)},
    {"round": "after review 1", "labels": len(labels), **link_metrics(ml_result.links, truth)},
]
pd.DataFrame(rounds)[["round", "labels", "precision", "recall", "f1"]].round(4)

# %% [markdown]
# ## Review round 2: active learning
#
# When the ML matcher decides, there are two matchers: a third of the batch goes to
# the pairs where they disagree, and the rest to the pairs the ML matcher is least
# sure about. Otherwise the batch again goes to the pairs the unsupervised model is
# least sure about. The pairs already reviewed are excluded.

# %%
ml = "ml_probability" in ml_result.pairs  # the ML matcher decided round 1
sheet2, decisions2, labels = review_round(ml_result.pairs, labels, 100, 2, ml=ml)
print(sheet2["selected_by"].value_counts().to_dict())
linker.fit_ml(dtks, regsosek, training_pairs(labels))
ml_result = linker.link(dtks, regsosek, keep_pairs=True)
print(ml_result.summary["matcher"], "decides:", ml_result.summary["ml_training"]["why"])
rounds.append(
    {"round": "after review 2", "labels": len(labels), **link_metrics(ml_result.links, truth)}
)
pd.DataFrame(rounds)[["round", "labels", "precision", "recall", "f1"]].round(4)

# %% [markdown]
# The calibration of the probabilities that decided (the ML matcher's when it
# won, else the Fellegi-Sunter ones). Active learning chooses pairs near the
# threshold, not a random sample, so the ML calibration can be off in the middle
# range, as the plot below may show. A threshold that
# matters should be checked on random pairs. That is the job of the random share of
# each batch, used in the next section.

# %%
score = "ml_probability" if "ml_probability" in ml_result.pairs else "match_probability"
fig, ml_calibration = plot_calibration(ml_result.pairs, truth, score)
fig

# %% [markdown]
# ## Precision without a truth
#
# In production there is no truth. The random share of the two batches is a random
# sample of the links as they stood when each batch was drawn. Here the sample is
# checked against the final links, and the estimate and its 95% Wilson interval are
# set next to the true precision.

# %%
random_links = labels[(labels["selected_by"] == "random")]
sample = random_links.assign(is_match=random_links["decision"] == "match")
sample = sample.merge(ml_result.links[["left_id", "right_id"]])
estimate = estimate_from_sample(sample, ml_result.links)
print(
    f"{estimate['sample_size']} reviewed links: precision {estimate['precision']:.3f} "
    f"(95% CI {estimate['precision_low']:.3f} to {estimate['precision_high']:.3f}); "
    f"true precision {link_metrics(ml_result.links, truth)['precision']:.4f}"
)

# %% [markdown]
# A couple of dozen random links give a wide interval. The interval shrinks
# with the square root of the sample, so a few hundred field-verified links are
# needed for an estimate to report. `benchmarks/bench_active.py` runs this loop up to
# 500 labels at 20,000 households. It compares active learning with labels drawn at
# random, and `benchmarks/RESULTS.md` has the learning curves.
