# %% [markdown]
# # Eligibility: PMT, desil and programme rules
#
# Once the registers are linked, every household is ranked and scored. This notebook
# trains the proxy means test (PMT) on a survey-like sample, ranks the register into
# desil by equal numbers of people, and sets it next to BPS's 14 criteria. It then
# applies the built-in programmes and asks what a different desil cut-off would do to
# coverage, budget and exclusion error. The synthetic population knows every
# household's true expenditure, so each step can be checked.

# %%
# %matplotlib inline
import datetime as dt

import numpy as np
import pandas as pd

from bansos_linkage.eligibility import ProxyMeansTest, desil, evaluate_pmt
from bansos_linkage.eligibility.analysis import (
    benefit_incidence,
    cutoff_variants,
    targeting_errors,
    what_if,
    what_if_rules,
)
from bansos_linkage.eligibility.rules import load_programmes, with_parameters
from bansos_linkage.eligibility.score import pmt_features, score_register, with_composition
from bansos_linkage.synthetic import generate, scenario

data = generate(scenario("default", households=6_000, seed=21))
today = dt.date(2025, 1, 1)
members = data.persons[data.persons["present_now"]]
households = data.households.drop(columns=["per_capita_expenditure", "size"])
true_welfare = np.log(data.households["per_capita_expenditure"].astype(float))
print(f"{len(households):,} households, {len(members):,} people; survey: {len(data.survey)}")

# %% [markdown]
# ## The PMT and its cross-validated accuracy
#
# The PMT is a ridge regression of log per-capita expenditure on the register's
# household variables (housing, water, energy, sanitation, assets, land, livestock),
# the household's make-up, and the head's schooling and work. It is fitted on the
# survey sample, the only households whose expenditure is observed. Cross-validation
# on the survey says how far it can be trusted. The exclusion error is the share of
# the truly poorest 40% whom it would leave out.

# %%
survey = with_composition(data.survey, members, today)
X, y = pmt_features(survey), np.log(survey["per_capita_expenditure"].astype(float))
evaluate_pmt(ProxyMeansTest(), X, y, size=survey["size"], cv=5).round(3)

# %% [markdown]
# ## Rank, score, apply the programmes
#
# `score_register` does the whole job in one call:
#
# - it fits the PMT on the survey and ranks every household into desil;
# - it scores the 14 criteria;
# - it applies PKH, Sembako, PBI-JK, PIP and BLT Dana Desa.
#
# Desil are cut by people, not households: each desil holds a tenth of the
# population.

# %%
programmes = load_programmes("all")
scored = score_register(households, members, programmes, today, survey=data.survey)
hh = scored.households
hh.groupby("desil").agg(households=("household_id", "size"), people=("size", "sum"))

# %% [markdown]
# The PMT's prediction against the truth: each point is a household, the
# line marks the desil 4 cut. Points left of the line are poor by the truth; the ones
# above it are the poor the PMT misses (exclusion), and those below it on the right are
# the better-off it takes in (inclusion).

# %%
import matplotlib.pyplot as plt

cut = hh.loc[hh["desil"] <= 4, "log_welfare"].max()
fig, ax = plt.subplots(figsize=(6, 5))
ax.hexbin(true_welfare, hh["log_welfare"], gridsize=45, mincnt=1, cmap="viridis")
ax.axhline(cut, color="red", lw=1, label="desil 4 cut (predicted)")
ax.set(xlabel="true log per-capita expenditure", ylabel="PMT prediction", title="PMT vs truth")
_ = ax.legend(loc="upper left")

# %%
scored.summary[scored.summary["region"] == "all"].assign(
    budget_billion=lambda t: (t["budget"] / 1e9).round(2)
)[["programme", "families", "people", "budget_billion"]]

# %% [markdown]
# Each household carries its amounts and the reasons behind them: the PKH
# components that pay, or the conditions that failed.

# %%
hh[["household_id", "desil", "size", "eligible:PKH", "amount:PKH", "reasons:PKH"]].head(8)

# %% [markdown]
# ## What the PMT buys
#
# This compares three rankings on the exclusion error for the truly poorest 40% of
# people. Each selects the same number of people, desil 1-4:
#
# - the PMT;
# - the 14 criteria, with the households meeting the most criteria first;
# - a random ranking.

# %%
rng = np.random.default_rng(0)
rankings = {
    "PMT": hh["desil"],
    "14 criteria": desil(-hh["criteria_met"] + rng.random(len(hh)) * 0.5, hh["size"]),
    "random": desil(pd.Series(rng.random(len(hh))), hh["size"]),
}
pd.DataFrame(
    {name: targeting_errors(d <= 4, true_welfare, hh["size"], 0.4) for name, d in rankings.items()}
).T[["exclusion_error", "inclusion_error", "coverage_10", "coverage_40"]].round(3)

# %% [markdown]
# ## Comparing cut-offs
#
# Which desil should Sembako reach? For each cut-off the table below gives the
# families, the yearly budget at Rp2.4 million per family, and both errors against
# the truly poorest 40%. A wider cut-off covers more of the poor and costs more.
# Beyond desil 4 it adds mostly families who are not poor.

# %%
table, fig = what_if(
    hh["desil"], true_welfare, hh["size"], cutoffs=range(1, 8), amount_per_family=2_400_000
)
table.assign(budget_billion=(table["budget"] / 1e9).round(2)).drop(columns="budget").round(3)

# %%
fig

# %% [markdown]
# ## Benefit incidence
#
# This is the share of the PKH budget reaching each true decile. Most should go to
# the first four.

# %%
incidence = benefit_incidence(hh["amount:PKH"], true_welfare, hh["size"])
incidence.assign(share_of_benefit=incidence["share_of_benefit"].round(3))

# %% [markdown]
# ## Rule variants across every programme
#
# A cut-off rarely changes alone. `cutoff_variants` sets `max_desil` in every
# programme that has it, and `with_parameters` changes any other parameter. Here PKH's
# elderly component starts at 60, the age some sources give, instead of 70.
# `what_if_rules` re-applies the whole rule set, components and caps included, for
# each variant. It counts families, people and the yearly budget per programme, and
# the errors against the truth.

# %%
variants = cutoff_variants(programmes, [3, 4, 5])
variants["PKH elderly 60"] = [
    with_parameters(p, elderly_age=60) if p.name == "PKH" else p for p in programmes
]
table, fig = what_if_rules(hh, members, variants, today, true_welfare=true_welfare)
table.assign(budget_billion=(table["budget"] / 1e9).round(1)).pivot(
    index="programme", columns="variant", values="budget_billion"
)

# %%
fig

# %% [markdown]
# Programme rules are data. The same variants can be kept in YAML files
# (`dump_programmes`) and run from the command line:
#
# ```bash
# bansos-linkage score households.csv members.csv --train survey.csv --rules all \
#     --what-if 3,4,5 --out scored/
# ```
