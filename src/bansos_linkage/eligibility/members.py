"""Household composition from member rows: what the PMT and the programme rules count.

Ages are computed at a reference date (the date the ranking or payment is for): a
person is ``n`` years old from their ``n``-th birthday, so a child born on
2019-06-30 is 6 on 2025-06-30 and 5 the day before. Members are rows with
``household_id``, ``birth_date``, ``relationship`` (1 = head, as standardised), and
optionally ``sex``, ``education``, ``work``, ``disability`` and ``pregnant``.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

#: Schooling levels with the words that name them, tried in this order on the
#: lower-cased answer: Regsosek's words, the Dukcapil KK categories (``TAMAT SD /
#: SEDERAJAT``, ``SLTP/SEDERAJAT``, ``DIPLOMA IV/ STRATA I``), madrasah and Paket
#: equivalents. ``BELUM TAMAT SD`` is SD: a pupil attending it, or an adult who left
#: it (at most SD either way, which is what the 14 criteria ask).
EDUCATION_LEVELS: dict[str, tuple[str, ...]] = {
    "tertiary": (
        "diploma",
        "akademi",
        "sarjana",
        "strata",
        "universitas",
        "perguruan tinggi",
        "d1",
        "d2",
        "d3",
        "d4",
        "s1",
        "s2",
        "s3",
    ),
    "SMA": ("sma", "smk", "smu", "stm", "slta", "ma", "mak", "aliyah", "paket c"),
    "SMP": ("smp", "sltp", "mts", "tsanawiyah", "paket b"),
    "SD": ("sd", "mi", "ibtidaiyah", "sekolah dasar", "paket a"),
    "none": ("tidak", "belum", "none", "tidak/belum sekolah", "tidak sekolah", "tk", "paud"),
}
#: Answers that say yes to a flag question, in the words registers use: a plain yes,
#: a named disability (Regsosek records its kind), or a pregnancy.
YES = re.compile(r"^(1|1\.0|true|ya|yes|y|iya|ada)$|tuna|disabilitas|cacat|difabel|hamil|nifas")
NEGATION = re.compile(r"^(tidak|tdk|bukan|non|no|none|belum)\b")
#: Work answers of someone without work (Regsosek and the Dukcapil job list).
NOT_WORKING = re.compile(
    r"^(0|none|tidak|tidak ada|-)?$|tidak bekerja|belum bekerja|belum/tidak|tidak/belum"
    r"|mengurus rumah tangga|pelajar|mahasiswa|pensiun|not working|unemployed"
)


def age_at(birth_date: pd.Series, reference_date: dt.date) -> pd.Series:
    """Completed years at ``reference_date`` (NaN where the birth date is missing).

    Examples
    --------
    >>> age_at(pd.Series(pd.to_datetime(["2019-06-30", "2019-07-01", None])),
    ...        dt.date(2025, 6, 30)).tolist()
    [6.0, 5.0, nan]
    """
    born = pd.to_datetime(birth_date)
    ref = pd.Timestamp(reference_date)
    years = ref.year - born.dt.year
    before_birthday = (born.dt.month > ref.month) | (
        (born.dt.month == ref.month) & (born.dt.day > ref.day)
    )
    return (years - before_birthday.astype(float)).astype(float)


def education_level(values: pd.Series) -> pd.Series:
    """Schooling as ``none``, ``SD``, ``SMP``, ``SMA`` or ``tertiary`` (NA when unknown)."""
    # registers repeat a handful of answers: read each distinct one once
    codes, uniques = pd.factorize(values.astype("string").str.strip().str.lower())
    levels = np.array([_level(str(u)) for u in uniques] + [None], dtype=object)
    return pd.Series(levels[codes], index=values.index, dtype="string")


def _level(answer: str) -> str | None:
    words = re.findall(r"[a-z0-9]+", answer)
    joined = " ".join(words)
    for level, names in EDUCATION_LEVELS.items():
        for name in names:
            if name in words or (" " in name and name in joined):
                return level
    return next((lv for lv in EDUCATION_LEVELS if lv.lower() == joined), None)


def composition(members: pd.DataFrame, reference_date: dt.date) -> pd.DataFrame:
    """One row per household: ``size``, ``children_0_6``, ``school_age_6_21``,
    ``elderly_60``, ``elderly_70``, ``disabled``, ``pregnant``, ``adults_working``,
    ``head_age``, ``head_sex``, ``head_education`` and ``head_work``.

    Members without a birth date count in ``size`` but in no age band.
    """
    m = members.copy()
    m["_age"] = age_at(m["birth_date"], reference_date)
    age = m["_age"]
    flags = {
        "size": np.ones(len(m), dtype=bool),
        "children_0_6": (age >= 0) & (age < 6),
        "school_age_6_21": (age >= 6) & (age <= 21),
        "elderly_60": age >= 60,
        "elderly_70": age >= 70,
        "disabled": _flag(m, "disability"),
        "pregnant": _flag(m, "pregnant"),
        "adults_working": (age >= 15) & _working(m),
    }
    # counted per household by integer code (a groupby on millions of text ids is slow)
    household, ids = pd.factorize(m["household_id"], sort=True)
    known = household >= 0
    out = pd.DataFrame(
        {
            name: np.bincount(household[known], weights=np.asarray(flag)[known], minlength=len(ids))
            for name, flag in flags.items()
        },
        index=pd.Index(ids, name="household_id"),
    ).astype(int)
    relationship = m["relationship"] if "relationship" in m else pd.Series(np.nan, m.index)
    head = m[pd.to_numeric(relationship, errors="coerce") == 1]
    head = head.drop_duplicates("household_id").set_index("household_id")
    out["head_age"] = head["_age"].reindex(out.index)
    for col in ("sex", "work"):
        out[f"head_{col}"] = head[col].reindex(out.index).astype("string") if col in head else pd.NA
    out["head_education"] = (
        education_level(head["education"]).reindex(out.index) if "education" in head else pd.NA
    )
    return out.reset_index()


def _flag(members: pd.DataFrame, column: str) -> pd.Series:
    if column not in members:
        return pd.Series(False, index=members.index)
    codes, uniques = pd.factorize(members[column].astype("string").str.strip().str.lower())
    answers = np.array([_yes(str(u)) for u in uniques] + [False])
    return pd.Series(answers[codes], index=members.index)


def _yes(answer: str) -> bool:
    """A yes, or the name of what is asked about (``tuna netra`` for a disability,
    ``hamil`` for a pregnancy); a negation is never a yes."""
    if NEGATION.match(answer):
        return False
    return bool(YES.search(answer))


def _working(members: pd.DataFrame) -> pd.Series:
    if "work" not in members:
        return pd.Series(False, index=members.index)
    codes, uniques = pd.factorize(members["work"].astype("string").str.strip().str.lower())
    working = np.array([not NOT_WORKING.search(str(u)) for u in uniques] + [False])
    return pd.Series(working[codes], index=members.index)
