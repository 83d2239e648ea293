# %% [markdown]
# # Linking DTKS to Regsosek
#
# This notebook links two synthetic registers at person level with the default,
# unsupervised pipeline: blocking -> Indonesian comparisons -> Fellegi-Sunter EM
# -> one person, one link (duplicates of one register sharing their person's
# counterpart). The synthetic generator knows the truth, so every step can be
# checked: how many true pairs blocking keeps, what the model learned, why a
# pair scored as it did, and how accurate the links are next to exact NIK
# matching. Everything is seeded: the same seed gives the same output.

# %%
# %matplotlib inline
import datetime as dt

import numpy as np
import pandas as pd

from bansos_linkage import Linker, standardise
from bansos_linkage.evaluation import exact_nik_links, link_metrics, true_links
from bansos_linkage.linkage.blocking import (
    DEFAULT_RULES,
    blocking_keys,
    candidate_pairs,
    pair_recall,
)
from bansos_linkage.linkage.explain import (
    level_names,
    match_weight_histogram,
    plot_m_u,
    plot_waterfall,
)
from bansos_linkage.synthetic import generate, scenario

data = generate(scenario("default", households=3_000, seed=7))
today = dt.date(2026, 1, 1)  # a fixed "today" keeps the run repeatable
dtks = standardise(data.registers["dtks"], "dtks", reference_date=today).records
regsosek = standardise(data.registers["regsosek"], "regsosek", reference_date=today).records
len(dtks), len(regsosek)

# %% [markdown]
# ## The truth
#
# A true link is a DTKS record and a Regsosek record of the same person. A
# person registered twice in DTKS has two true links; people who died or left
# since 2020 have none in Regsosek, and children born since are only in
# Regsosek.

# %%
truth = true_links(
    data.truth["dtks"].set_index("record_id")["person_id"],
    data.truth["regsosek"].set_index("record_id")["person_id"],
)
print(
    f"{len(truth):,} true pairs; DTKS records without a counterpart: "
    f"{len(dtks) - truth['left_id'].nunique():,}"
)

# %% [markdown]
# ## Blocking
#
# Which pairs are compared at all. Each rule's contribution and the share of
# true pairs it keeps (pair recall, cumulative in rule order):

# %%
left, right = blocking_keys(dtks), blocking_keys(regsosek)
pairs = candidate_pairs(left, right, DEFAULT_RULES)
lpos = pd.Series(np.arange(len(left)), index=left["record_id"])
rpos = pd.Series(np.arange(len(right)), index=right["record_id"])
recall = pair_recall(pairs, lpos[truth["left_id"]].to_numpy(), rpos[truth["right_id"]].to_numpy())
print(f"{len(pairs):,} candidate pairs, reduction ratio {pairs.reduction_ratio:.5f}")
pairs.diagnostics[["rule", "pairs", "largest_block"]].merge(recall, on="rule")

# %% [markdown]
# ## Fit and link
#
# `fit_link` estimates the parameters so that they do not depend on the blocking:
# u from 300,000 random pairs, m by EM sessions (each on the pairs that agree on one
# comparison, learning the others), the prior as the match probability of a random
# pair. It then resolves the links at a probability of 0.5. The summary counts every
# record and gives the label-free estimate of false links. `duplicate_prior` is each
# register's own prior that two of its records are one person, estimated from the
# pairs resolution tests: far below the model's `lambda` (DTKS holds a few duplicates
# among its millions of pairs, Regsosek almost none), and duplicates are decided on it.

# %%
linker = Linker()
result = linker.fit_link(dtks, regsosek, keep_pairs=True)
{k: v for k, v in result.summary.items() if k != "seconds"}

# %% [markdown]
# ### How the parameters were estimated
#
# Each EM session, the pairs it learned from, their match share and the comparisons
# it taught; and the comparisons or rules left out because neither register has their
# columns (none here: Regsosek has no mother's name, but DTKS does).

# %%
pd.DataFrame(result.summary["training"]["sessions"])

# %%
result.summary["left_out"]

# %% [markdown]
# ### Family context
#
# A member whose NIK is missing, whose KK was renumbered, whose birth date is missing
# and whose name was written another way escapes every rule, but not their family:
# once one member of a DTKS family links to a member of a Regsosek household, the
# members of both are compared with each other (rule `family`), scored by the same
# model.

# %%
family = result.pairs[result.pairs["rule"] == "family"]
found = truth.merge(family, on=["left_id", "right_id"])
print(
    f"{result.summary['family_pairs']:,} pairs from family context; "
    f"{len(found)} true pairs among them that no rule brought in"
)

# %% [markdown]
# ### Scores do not depend on the blocking
#
# Add a rule (the first name within the village): more candidate pairs, the same
# weight for every pair both runs score, and the same precision.

# %%
from bansos_linkage.linkage.blocking import ExactRule

exact = [r for r in DEFAULT_RULES if isinstance(r, ExactRule)]
near = [r for r in DEFAULT_RULES if not isinstance(r, ExactRule)]
rules = (*exact, ExactRule(("bk_name_first", "bk_village")), *near)
wide = Linker(rules=rules).fit_link(dtks, regsosek, keep_pairs=True)
both = result.pairs.merge(wide.pairs, on=["left_id", "right_id"], suffixes=("", "_wide"))
pd.DataFrame(
    {
        "candidate pairs": [len(result.pairs), len(wide.pairs)],
        "precision": [
            link_metrics(result.links, truth)["precision"],
            link_metrics(wide.links, truth)["precision"],
        ],
        "largest weight change (bits)": [
            0.0,
            float((both["match_weight"] - both["match_weight_wide"]).abs().max()),
        ],
    },
    index=["default rules", "plus first name in village"],
)

# %%
result.links.head()

# %% [markdown]
# ## What the model learned
#
# m: how often true matches are at a level; u: how often other candidate pairs
# are; the match weight log2(m/u) is the evidence a level gives. Levels are
# ordered by strength of agreement, and the model never lets a weaker level
# outweigh a stronger one.

# %%
fig, params = plot_m_u(linker.model_, level_names(linker.comparisons))
columns = ["comparison", "level_name", "m", "u", "match_weight"]
params.query("comparison in ['name', 'nik']")[columns].round(4)

# %%
fig

# %% [markdown]
# ## Scores of all candidate pairs
#
# With the truth, the histogram stacks true matches over non-matches. The
# dashed line is the link threshold (match probability 0.5, weight 0);
# one-to-one resolution removes most of the non-matches right of it (a record
# has one counterpart).

# %%
scored = result.pairs
pair_key = (
    left["record_id"].to_numpy()[scored["left"]]
    + "|"
    + right["record_id"].to_numpy()[scored["right"]]
)
is_true = pd.Series(pair_key).isin(truth["left_id"] + "|" + truth["right_id"]).to_numpy()
threshold = np.log2(linker.threshold / (1 - linker.threshold))
fig, bins = match_weight_histogram(scored["match_weight"], threshold=threshold, true_match=is_true)
fig

# %% [markdown]
# ## Why a pair scored as it did
#
# The waterfall: the prior, each comparison's level and weight, the
# term-frequency bits for the name, and the final probability. Here, a link
# whose NIK is missing on one side, so names, dates and household carry it.

# %%
example = result.links[result.links["nik"] == "missing"].iloc[0]
table = linker.explain(dtks, regsosek, example["left_id"], example["right_id"])
table[["term", "level_name", "weight", "cumulative", "probability"]].round(3)

# %%
plot_waterfall(table, title="one link without a NIK on one side")

# %% [markdown]
# ## Accuracy
#
# Precision, recall and F1 against the truth, next to exact NIK matching (each
# record used once). Duplicates of one DTKS person found by the linker are
# linked to the same Regsosek record and named in `duplicate_of`.

# %%
nik = exact_nik_links(dtks, regsosek)
pd.DataFrame(
    {"bansos-linkage": link_metrics(result.links, truth), "exact NIK": link_metrics(nik, truth)}
).T.round(4)

# %% [markdown]
# Without the truth, the run estimates its own false discovery rate: each link's
# probability weighed against the other candidates of both its records.

# %%
true_fdr = 1 - link_metrics(result.links, truth)["precision"]
print(f"estimated FDR {result.summary['estimated_fdr']:.4f}, true FDR {true_fdr:.4f}")

# %%
dups = result.links.dropna(subset=["duplicate_of"])
person = data.truth["dtks"].set_index("record_id")["person_id"]
dtks_dups = dups[dups["duplicate_of"].str.startswith("DTKS")]
same = person[dtks_dups["left_id"]].to_numpy() == person[dtks_dups["duplicate_of"]].to_numpy()
print(f"{len(dtks_dups)} DTKS records linked as duplicates, {same.mean():.1%} the same person")

# %% [markdown]
# ## Save the model, link again without EM
#
# The model file is plain JSON: rules, comparisons, fitted m/u/lambda and the
# settings. Loading it gives identical links (also from the CLI: `bansos-linkage
# link ... --model model.json`).

# %%
import tempfile
from pathlib import Path

path = linker.save(Path(tempfile.mkdtemp()) / "model.json")
again = Linker.load(path).link(dtks, regsosek)
again.links.equals(result.links)
