# %% [markdown]
# # 02 - Synthetic Indonesian population and registers
#
# Real registers are confidential, so the library ships a seeded generator with ground truth. Here we generate a scenario, look at the recording errors it put into each register and at the name distribution, and check that the DTKS-like export standardises with its preset.

# %%
import datetime as dt

import matplotlib.pyplot as plt
import pandas as pd

from bansos_linkage import standardise
from bansos_linkage.synthetic import generate, scenario

data = generate(scenario("default", households=3_000, seed=42))
{name: len(table) for name, table in data.registers.items()}

# %% [markdown]
# ## The registers look like exports
#
# Each has the columns, code lists and date formats of its built-in preset.

# %%
data.registers["dtks"].head()

# %%
data.registers["regsosek"].iloc[:5, :16]

# %% [markdown]
# The truth links every record to a person and a household:

# %%
data.truth["dtks"].head()

# %% [markdown]
# ## Recording errors: configured vs observed
#
# `data.masks` says which record got which error; the observed shares match the configured rates.

# %%
rows = []
for register, masks in data.masks.items():
    rates = data.config.errors[register]
    for error, mask in masks.items():
        if not hasattr(rates, error):  # life events (kk_renumbered ...) are not rates
            continue
        rows.append(
            {
                "register": register,
                "error": error,
                "configured": getattr(rates, error),
                "observed": mask.mean(),
            }
        )
errors = pd.DataFrame(rows)
errors.pivot(index="error", columns="register", values="observed").round(3)

# %%
fig, ax = plt.subplots(figsize=(5, 5))
for register, group in errors.groupby("register"):
    ax.scatter(group["configured"], group["observed"], label=register)
lim = errors[["configured", "observed"]].to_numpy().max() * 1.1
ax.plot([0, lim], [0, lim], color="grey", lw=1)
ax.set(xlabel="configured rate", ylabel="observed rate", title="Recording errors per register")
_ = ax.legend()

# %% [markdown]
# ## Names: a few very common, a long tail

# %%
words = data.persons["full_name"].str.split().explode()
counts = words.value_counts()
print(f"{counts.size:,} distinct name words; top 10:")
counts.head(10)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.loglog(range(1, counts.size + 1), counts.to_numpy())
_ = ax.set(xlabel="rank", ylabel="persons", title="Name-word frequency by rank")

# %% [markdown]
# ## Life between the snapshots and the DTKS selection

# %%
p, hh = data.persons, data.households
pd.Series(
    {
        "died since DTKS": (~p["alive_now"]).sum(),
        "left the household": (p["alive_now"] & ~p["present_now"]).sum(),
        "born since DTKS": (~p["present_then"]).sum(),
        "households moved": hh["moved"].sum(),
        "households split off": hh["split"].sum(),
    }
)

# %%
in_dtks = hh["household_id"].isin(data.truth["dtks"]["household_id"])
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(
    [hh.loc[~in_dtks, "per_capita_expenditure"], hh.loc[in_dtks, "per_capita_expenditure"]],
    bins=40,
    stacked=True,
    label=["not in DTKS", "in DTKS"],
)
ax.set(
    xlabel="true per-capita expenditure (Rp/month)",
    ylabel="households",
    title="DTKS is poorer, with inclusion and exclusion errors",
)
_ = ax.legend()

# %% [markdown]
# ## It standardises with its preset

# %%
result = standardise(
    data.registers["dtks"].astype("string"), "dtks", reference_date=dt.date(2026, 1, 1)
)
print(result.summary_text())
