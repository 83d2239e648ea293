# %% [markdown]
# # Assemble DTSEN from DTKS, P3KE and Regsosek
#
# DTSEN is one register of persons and families. It is built by matching DTKS and
# P3KE against Regsosek and then verifying the result village by village (verval).
# This notebook does one whole round on a small synthetic population:
#
# 1. write the three exports and assemble them into one run folder;
# 2. check persons and families against the generator's truth;
# 3. look at what verval has to settle: conflicts, family statuses, DTKS families
#    that stay, drop out or join;
# 4. open one village worklist, fill it in as a verifier would, and import it;
# 5. deduplicate DTKS on its own.
#
# The generator knows who is who, so every count can be checked. Seeds are fixed.

# %%
# %matplotlib inline
import datetime as dt
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from openpyxl import load_workbook

from bansos_linkage.assembly import (
    Source,
    assemble_files,
    assembly_accuracy,
    import_worklists,
    read_assembly,
)
from bansos_linkage.assembly.register import conflict_values
from bansos_linkage.io import write_table
from bansos_linkage.synthetic import generate, scenario

data = generate(scenario("default", households=1_500, seed=6))
today = dt.date(2026, 1, 1)
folder = Path(tempfile.mkdtemp())
exports = {
    name: write_table(data.registers[name], folder / f"{name}.csv")
    for name in ("dtks", "p3ke", "regsosek")
}
{name: len(data.registers[name]) for name in exports}

# %% [markdown]
# ## One call: exports in, run folder out
#
# `assemble_files` standardises each export with the preset of its name, links
# the records into persons and the persons' families into DTSEN families, and writes
# the run folder. Regsosek is the backbone: DTSEN families are its households. With
# the `survey`, the proxy means test is fitted and every family gets a desil, which
# the DTKS transition report then uses. The command line does the same:
#
# ```bash
# bansos-linkage assemble --source dtks=dtks.csv --source p3ke=p3ke.csv \
#     --source regsosek=regsosek.csv --survey survey.csv \
#     --reference-date 2026-01-01 --out run/
# ```

# %%
run = folder / "run"
result = assemble_files(
    [Source(name, path) for name, path in exports.items()],
    run,
    survey=data.survey,
    reference_date=today,
)
print(result)
print(sorted(p.name for p in run.iterdir()))

# %% [markdown]
# `summary.json` holds the counts: records per source, duplicates found within
# each source, link outcomes, conflicts, family statuses, transitions and worklist
# items.

# %%
summary = json.loads((run / "summary.json").read_text())
print(
    json.dumps(
        {
            k: summary[k]
            for k in ("duplicates", "links", "conflicts", "transitions", "worklist_items")
        },
        indent=1,
    )
)

# %% [markdown]
# ## Accuracy against the truth
#
# Persons: pairwise precision and recall over every pair of records put into one
# person, across sources and within one. Families: each source family's link to
# the Regsosek household(s) its members were found in, against the households they
# truly live in.

# %%
accuracy = assembly_accuracy(result.records, data.truth, "regsosek")
pd.DataFrame(accuracy).T[["precision", "recall", "f1", "true_pairs", "predicted_pairs"]].round(4)

# %% [markdown]
# ## Persons by sources
#
# Each DTSEN person holds at most one record per source, or one group of declared
# duplicates. `sources` lists them in priority order, the backbone first. Persons
# found only in DTKS or P3KE have no Regsosek record: they died, moved away, or were
# missed by the registration.

# %%
by_sources = result.persons["sources"].value_counts().sort_values()
ax = by_sources.plot.barh(figsize=(7, 3), color="tab:blue")
ax.set_xlabel("persons")
ax.bar_label(ax.containers[0], padding=2)
plt.tight_layout()

# %% [markdown]
# ## Conflicts
#
# `conflicts.csv` has one row per problem. `collision` and `transitive` come from
# clustering: a link refused because both persons already hold a record of the same
# source, or records joined through a third source that their own direct comparison
# did not link. `field` rows are fields on which the records of one person disagree.
# `detail` names the sources, never the values, because conflict tables end up in
# logs.

# %%
conflicts = result.conflicts
pd.crosstab(conflicts["kind"], conflicts["field"].fillna("(link)"), margins=True)

# %%
conflicts[conflicts["kind"].ne("field")]

# %% [markdown]
# For a verifier, `conflict_values` shows what each record says. These values
# are synthetic. Here is the person with the most conflicting fields.

# %%
_, standardised = read_assembly(run)
fields = conflicts[conflicts["kind"].eq("field")]
person = fields["person_id"].value_counts().index[0]
print(fields.loc[fields["person_id"].eq(person), ["field", "detail"]].to_string(index=False))
conflict_values(fields[fields["person_id"].eq(person)], result.records, standardised)

# %%
chosen = ["full_name", "nik", "birth_date", "sex"]
columns = [c for f in chosen for c in (f, f"{f}_source")]
result.persons.loc[result.persons["person_id"].eq(person), ["person_id", "sources", *columns]]

# %% [markdown]
# The chosen value of each field comes from the most trusted source that has one.
# A NIK that is structurally valid and not a KK number beats the others, and the most
# precise birth date wins. `<field>_source` says where the value came from.
#
# ## Family statuses per source
#
# Each source family (a DTKS KK, a P3KE or Regsosek household) gets one status
# against the DTSEN families its members ended up in. `new` rows are DTSEN families
# that no family of that source reached.

# %%
status_order = ["same", "moved", "partial", "merged", "split", "not_found", "new"]
statuses = pd.crosstab(result.family_links["source"], result.family_links["status"])
statuses.reindex(columns=[s for s in status_order if s in statuses.columns])

# %% [markdown]
# ## DTKS transitions per village
#
# Every DTKS family is counted once in its own village as `stay`, `drop` (with a
# reason) or `move_out`. A village's receiving families are its stays, its `move_in`
# rows and the families that `join` (ranked in, with no DTKS member or split off a
# DTKS family). `transitions_by_village.csv` has the counts, and per programme the
# eligible families staying and joining.

# %%
by_village = pd.read_csv(run / "transitions_by_village.csv", dtype={"village_code": str})
shown = [
    "village_code",
    "village_name",
    "families",
    "stay",
    "drop",
    "drop_not_found",
    "drop_members_gone",
    "drop_ranked_out",
    "move_out",
    "move_in",
    "join",
    "receiving",
]
top = by_village.sort_values(["families", "village_code"], ascending=[False, True]).head(12)
top[shown]

# %%
parts = top.set_index("village_name")[["stay", "drop", "move_out", "move_in", "join"]]
ax = parts.iloc[::-1].plot.barh(
    stacked=True,
    figsize=(8, 4.5),
    color=["tab:green", "tab:red", "tab:orange", "tab:cyan", "tab:blue"],
)
ax.set_xlabel("DTKS families (stay, drop, move_out) and families received (move_in, join)")
ax.set_ylabel("")
ax.legend(loc="upper left", bbox_to_anchor=(1, 1))
plt.tight_layout()

# %%
result.transitions.groupby(["transition", result.transitions["reason"].fillna("")]).size()

# %% [markdown]
# ## A village worklist
#
# `worklists/` holds one workbook per village (`--worklists-by district` gives one
# per district, with a sheet per village). Each workbook opens with a `PETUNJUK`
# sheet of instructions in Indonesian and English. The village sheet has one row per
# item to verify:
#
# - `uncertain_link`: a person joined on a weak link;
# - `conflict`: a field the sources disagree on, or a transitive join;
# - `drop_out`: a DTKS family leaving, with the reason in `detail`;
# - `member_not_found`: a DTKS member with no Regsosek record in a family that has
#   some.
#
# The verifier fills in the yellow columns. `decision` has a dropdown of the row's
# `allowed` decisions. `check` is a keyed code over the row's ids, so an edited or
# made-up row is refused on import.

# %%
books = sorted((run / "worklists").glob("*.xlsx"))
sizes = pd.Series({b: len(pd.read_excel(b, sheet_name=1, dtype=str)) for b in books})
book_path = sizes.sort_values(ascending=False, kind="stable").index[0]
village = book_path.stem.removeprefix("verval_desa_")
print(f"{len(books)} workbooks; {book_path.name}: {sizes[book_path]} items")
sheet = pd.read_excel(book_path, sheet_name=village, dtype=str)
print(sheet.columns.tolist())
sheet["reason"].value_counts()

# %%
sheet[
    [
        "item_id",
        "family_id",
        "person_id",
        "reason",
        "field",
        "chosen_value",
        "detail",
        "allowed",
        "name_dtks",
        "name_regsosek",
        "decision",
        "verified_value",
        "verifier",
        "visit_date",
    ]
].head(8)

# %% [markdown]
# ## A simulated verval round
#
# The verifier's decisions are written with openpyxl, as a person would in Excel:
#
# - confirm every drop-out;
# - keep the chosen value of the field conflicts, except one NIK, which is corrected
#   to a valid 16-digit NIK read from the KTP;
# - `same` for uncertain links and transitive joins;
# - `still_member` for members not found.
#
# One row is filled in wrongly on purpose: a `correct` with a NIK of 5 digits.

# %%
book = load_workbook(book_path)
ws = book[village]
col = {cell.value: cell.column for cell in ws[1]}
fixed = {"drop_out": "confirm", "uncertain_link": "same", "member_not_found": "still_member"}
corrected = wrong = None
for r in range(2, ws.max_row + 1):
    reason, field = ws.cell(r, col["reason"]).value, ws.cell(r, col["field"]).value
    decision = fixed.get(reason) or ("keep" if field else "same")
    if field == "nik" and corrected is None:
        decision, corrected = "correct", r
        nik = ws.cell(r, col["chosen_value"]).value
        ws.cell(r, col["verified_value"]).value = nik[:12] + "0002"
    elif field == "nik" and wrong is None:
        decision, wrong = "correct", r
        ws.cell(r, col["verified_value"]).value = "12345"
    ws.cell(r, col["decision"]).value = decision
    ws.cell(r, col["verifier"]).value = "petugas 01"
    ws.cell(r, col["visit_date"]).value = "2026-02-10"
filled = folder / f"filled_{village}.xlsx"
book.save(filled)

counts = import_worklists(run, [filled])
counts

# %% [markdown]
# `verval import` (or `import_worklists`) checks every filled row and applies the
# valid ones without linking again. It rewrites `sources.csv`, `persons.csv` and
# `family_links.csv`, appends the applied decisions to `verval_decisions.csv`, and
# lists the rows it refused in `verval_rejected.csv` (file, sheet, Excel row, column,
# what was expected). From the shell:
#
# ```bash
# bansos-linkage verval import run/ filled/verval_desa_*.xlsx
# ```

# %%
decisions = pd.read_csv(run / "verval_decisions.csv", dtype=str)
print(decisions.groupby(["reason", "decision"]).size().to_string())
decisions[
    [
        "item_id",
        "reason",
        "person_id",
        "field",
        "decision",
        "verified_value",
        "verifier",
        "visit_date",
        "row",
    ]
].head()

# %%
pd.read_csv(run / "verval_rejected.csv", dtype=str)

# %%
after, _ = read_assembly(run)
persons = after.persons
print("verified persons:", int(persons["verified"].sum()))
print(after.family_links["verval_status"].value_counts().to_dict())
corrected_person = sheet.loc[corrected - 2, "person_id"]
persons.loc[persons["person_id"].eq(corrected_person), ["person_id", "nik", "nik_source"]]

# %% [markdown]
# Importing the same workbook again changes nothing, so a workbook sent twice
# does no harm. The refused row stays refused until the verifier fixes it.

# %%
import_worklists(run, [filled])

# %% [markdown]
# ## Deduplicating DTKS alone
#
# With one source, assembly deduplicates it. DTKS holds some people twice: the same
# person under two record ids, often with a typo or a missing NIK. Each group of
# duplicates becomes one person, and its records are listed with `duplicate_of`
# (the group's first record).

# %%
alone = assemble_files(
    [Source("dtks", exports["dtks"])], folder / "dtks_only", reference_date=today
)
truth = data.truth["dtks"].set_index("record_id")["person_id"]
listed = alone.records[alone.records["duplicate_of"].notna()]
right = listed["record_id"].map(truth).eq(listed["duplicate_of"].map(truth).to_numpy())
groups = alone.records.groupby("person_id").size()
true_groups = truth.value_counts()
print(f"duplicate groups found: {int((groups > 1).sum())}, true: {int((true_groups > 1).sum())}")
print(
    f"duplicate records listed: {len(listed)}, of them right: {int(right.sum())}, "
    f"true duplicate records: {int(truth.duplicated().sum())}"
)
accuracy = assembly_accuracy(alone.records, {"dtks": data.truth["dtks"]}, "dtks")
pd.Series(accuracy["persons"]).round(4)

# %%
pairs = listed[["record_id", "duplicate_of"]].head(5)
dtks = standardised["dtks"].set_index("record_id")
shown = ["full_name", "nik", "birth_date", "sex", "village_code"]
pd.concat(
    {
        "record": dtks.loc[pairs["record_id"], shown].reset_index(drop=True),
        "duplicate_of": dtks.loc[pairs["duplicate_of"], shown].reset_index(drop=True),
    },
    axis=1,
)

# %% [markdown]
# The same from the shell: `bansos-linkage assemble --source dtks=dtks.csv --out
# dtks_only/`. The guide `docs/verval.md` describes the run folder, the statuses
# and the worklists in full.
