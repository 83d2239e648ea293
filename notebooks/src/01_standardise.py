# %% [markdown]
# # 01 - Standardise a messy register export
#
# Real DTKS, Regsosek and P3KE exports are confidential, so this tutorial uses the small hand-made samples bundled with the library. They contain the phenomena of the field: titles (`Hj.`, `S.Pd.`), old spelling (`Soeharto`, `Djoko Tjahjono`), abbreviated `Moh.`/`Abd.`/`St.`, Balinese birth-order names, placeholder and Excel-damaged NIKs, the KK number typed in the NIK field, year-only and impossible dates, missing and duplicate ids.
#
# We will:
# 1. read an export as text (leading zeros survive),
# 2. standardise it with a built-in schema preset,
# 3. look at the validation report,
# 4. check that no row was lost,
# 5. write our own schema mapping.

# %%
import datetime as dt

import pandas as pd

import bansos_linkage as bl

pd.set_option("display.width", 160)
pd.set_option("display.max_columns", 30)
REFERENCE_DATE = dt.date(2026, 1, 1)  # fixed 'today' so the notebook is reproducible

# %% [markdown]
# ## 1. Read the export
#
# `read_table` reads CSV (any delimiter, UTF-8 or cp1252), Parquet and Excel with every value as text.

# %%
raw = bl.read_table(bl.sample_path("dtks"))
raw[["ID DTKS", "NIK", "NAMA", "TANGGAL LAHIR", "JENIS KELAMIN", "HUBUNGAN KELUARGA"]]

# %% [markdown]
# ## 2. Standardise with the `dtks` preset
#
# The preset says which column feeds which canonical field, how dates are written and which code lists the export uses.

# %%
print(bl.load_schema("dtks").to_yaml()[:900])

# %%
result = bl.standardise(raw, "dtks", reference_date=REFERENCE_DATE)
result.records[
    [
        "record_id",
        "full_name",
        "name_title",
        "name_nobility",
        "name_birth_order",
        "name_patronym",
        "name_phonetic",
        "nik",
        "birth_date",
        "birth_date_precision",
        "sex",
        "relationship",
    ]
]

# %% [markdown]
# The original values are always kept next to the canonical ones:

# %%
result.records[
    ["record_id", "full_name_raw", "full_name", "nik_raw", "nik", "birth_date_raw", "birth_date"]
].head(8)

# %% [markdown]
# ## 3. The validation report
#
# One row per (record, field, problem). Severity `invalid` means the canonical value was set to null (it is never guessed); `warning` means the value was kept but is suspicious (a NIK shared by two records, a date that is probably only a year); `missing` means the source had no value.

# %%
result.report

# %%
result.summary()

# %% [markdown]
# A picture of the same summary: which fields need the most attention?

# %%
import matplotlib.pyplot as plt

counts = result.report.pivot_table(
    index="field", columns="severity", values="record_id", aggfunc="count", fill_value=0
)
ax = counts.plot.barh(stacked=True, figsize=(7, 3.5), title="Problems per field")
ax.set_xlabel("records")
plt.tight_layout()

# %% [markdown]
# ## 4. Nothing lost
#
# Every input row is either kept or rejected with a reason (no id, or an id that was already used).

# %%
print(result.summary_text().splitlines()[1])
assert result.n_input == len(raw) == result.n_kept + result.n_rejected
result.rejected[["row", "record_id", "reason"]]

# %% [markdown]
# ## 5. Your own export: copy a preset and edit it
#
# Column names match ignoring case, spaces and punctuation. A missing required column is a clear error naming the schema key.

# %%
my_schema = {
    "name": "kabupaten_export",
    "id_column": "ID DTKS",
    "fields": {
        "nik": "NIK",
        "kk_number": "NOMOR KK",
        "full_name": "NAMA",
        "birth_date": "TANGGAL LAHIR",
        "sex": "JENIS KELAMIN",
    },
    "codes": {"sex": {"L": "M", "P": "F"}},
    "keep": "none",
}
mine = bl.standardise(raw, my_schema, reference_date=REFERENCE_DATE)
mine.records.head(3)

# %%
try:
    bl.standardise(raw.drop(columns=["NIK"]), my_schema)
except bl.SchemaError as err:
    print(err)

# %% [markdown]
# ## The other presets
#
# Regsosek uses BPS region codes, which differ from Kemendagri codes for the same place; a crosswalk translates them, and codes it does not cover stay marked as `bps`, never silently mixed. P3KE comes as Excel with Indonesian month names.

# %%
from bansos_linkage.datasets import sample_crosswalk_path

regsosek = bl.standardise(
    bl.sample_path("regsosek"),
    "regsosek",
    crosswalk=sample_crosswalk_path(),
    reference_date=REFERENCE_DATE,
)
regsosek.records[["record_id", "full_name", "village_code", "region_scheme", "luas_lantai"]].tail(5)

# %%
p3ke = bl.standardise(bl.sample_path("p3ke"), "p3ke", reference_date=REFERENCE_DATE)
print(p3ke.summary_text())
