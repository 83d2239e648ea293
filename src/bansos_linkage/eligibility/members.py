"""Household composition from member rows: what the PMT and the programme rules count.

Ages are computed at a reference date (the date the ranking or payment is for): a
person is ``n`` years old from their ``n``-th birthday, so a child born on
2019-06-30 is 6 on 2025-06-30 and 5 the day before. Members are rows with
``household_id``, ``birth_date``, ``relationship`` (codes 1-8, 1 = head, or the words
registers use: ``KEPALA KELUARGA``, ``ISTRI``, ``ANAK KANDUNG``), and optionally
``sex``, ``education`` (the highest level *completed*), ``in_school`` and
``school_level`` (school participation: whether and at which level the member
attends school now), ``work``, ``disability`` and ``pregnant``.

Relationship and sex are read here, in the library, the same way the ``score``
command reads them (:func:`relationship_codes`, :func:`sex_codes`): the same file
gives the same result in Python and on the command line.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.inputs import is_yes  # yes/no words: beside the other answers

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
#: Work answers of someone without work (Regsosek and the Dukcapil job list).
NOT_WORKING = re.compile(
    r"^(0|none|tidak|tidak ada|-)?$|tidak bekerja|belum bekerja|belum/tidak|tidak/belum"
    r"|mengurus rumah tangga|pelajar|mahasiswa|pensiun|not working|unemployed"
)


#: Schooling levels from lowest to highest.
LEVELS = ("none", "SD", "SMP", "SMA", "tertiary")
#: The level a pupil of each age attends (Indonesian school ages: SD 7-12, SMP 13-15,
#: SMA/SMK 16-18); used only when the register does not say (see
#: :func:`school_attendance`).
AGE_LEVELS = ((7, 12, "SD"), (13, 15, "SMP"), (16, 18, "SMA"))
#: ``belum tamat SD``, ``tidak tamat SMP``: the level was attended, not completed.
NOT_COMPLETED = re.compile(r"\b(?:belum|tidak) tamat\b")


def relationship_codes(values: pd.Series | None, index: pd.Index | None = None) -> pd.Series:
    """Relationship to the head as codes 1-8 (floats, NaN when unknown) from codes or
    words (``1``, ``01``, ``KEPALA KELUARGA``, ``ISTRI``, ``ANAK KANDUNG``;
    :func:`~bansos_linkage.standardisation.codes.standardise_relationship`).

    Examples
    --------
    >>> relationship_codes(pd.Series(["KEPALA KELUARGA", "istri", "3", None, "x"])).tolist()
    [1.0, 2.0, 3.0, nan, nan]
    """
    if values is None:
        return pd.Series(np.nan, index=index, dtype=float)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float)
    from bansos_linkage.standardisation.codes import standardise_relationship

    codes, uniques = pd.factorize(values.astype("string"))
    read = standardise_relationship(pd.Series(uniques, dtype="string"))["relationship"]
    numbers = np.append(read.astype("Float64").to_numpy(dtype=float, na_value=np.nan), np.nan)
    return pd.Series(numbers[codes], index=values.index, dtype=float)


def sex_codes(values: pd.Series) -> pd.Series:
    """Sex as ``M``/``F`` (missing when unknown) from codes or words (``1``, ``P``,
    ``LAKI-LAKI``, ``PEREMPUAN``)."""
    from bansos_linkage.standardisation.codes import standardise_sex

    codes, uniques = pd.factorize(values.astype("string"))
    read = standardise_sex(pd.Series(uniques, dtype="string"))["sex"].astype(object)
    labels = np.append(read.where(read.notna(), None).to_numpy(dtype=object), None)  # type: ignore[call-overload]
    return pd.Series(labels[codes], index=values.index, dtype="string")


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


def completed_level(values: pd.Series) -> pd.Series:
    """The highest level *completed*: :func:`education_level`, one level lower for an
    answer that says the level was not completed (``BELUM TAMAT SD`` is ``none``).

    Examples
    --------
    >>> completed_level(pd.Series(["TAMAT SD", "BELUM TAMAT SD/SEDERAJAT", "SLTP", None])).tolist()
    ['SD', 'none', 'SMP', <NA>]
    """
    level = education_level(values)
    text = values.astype("string").str.lower()
    not_done = text.str.contains(NOT_COMPLETED).fillna(False).to_numpy(dtype=bool)
    lower = {LEVELS[i]: LEVELS[max(i - 1, 0)] for i in range(len(LEVELS))}
    out = level.copy()
    out[not_done] = level[not_done].map(lower)
    return out


def school_attendance(members: pd.DataFrame, age: pd.Series) -> pd.DataFrame:
    """Whether each member attends school now (``in_school``), at which level
    (``school_level``) and what was assumed (``school_assumed``: ``""``, ``"level"``
    or ``"attendance"``).

    ``education`` is the highest level completed, not school participation: a
    19-year-old who finished SMA is not an SMA pupil, a 13-year-old who finished SD
    is not an SD pupil. The register's own answers come first:

    - ``in_school`` (yes/no, ``masih sekolah``/``tidak sekolah lagi``): whether the
      member attends school now (Regsosek's *partisipasi sekolah*);
    - ``school_level``: the level attended now (SD, SMP, SMA ...); with it and no
      ``in_school``, a member with a school level attends school and one without
      does not.

    Where the register does not say (no such column, or the cell is blank), it is
    assumed: a child aged 7-18 attends school at the level of their age (SD 7-12,
    SMP 13-15, SMA 16-18), or the level after the one they completed when that is
    higher; one who completed SMA or more is not a pupil; nobody under 7 or over 18
    is assumed to attend. ``school_assumed`` says which members were assumed, so
    the reasons can say so.
    """
    n = len(members)
    age = np.asarray(age, dtype=float)  # type: ignore[assignment]
    completed = (
        completed_level(members["education"])
        if "education" in members
        else pd.Series(pd.NA, index=members.index, dtype="string")
    )
    rank = {lv: i for i, lv in enumerate(LEVELS)}
    done = completed.map(rank).astype("Float64").to_numpy(dtype=float, na_value=-1.0)
    by_age = np.full(n, -1.0)
    for low, high, level in AGE_LEVELS:
        by_age[(age >= low) & (age <= high)] = rank[level]
    after_completed = np.where(done >= 0, done + 1, -1.0)
    guess = np.minimum(np.maximum(by_age, after_completed), rank["tertiary"])
    guess_in = (by_age >= 0) & (guess <= rank["SMA"])
    # the level of a member who attends (said or assumed): of their age, or after
    # the one they completed
    guess_level = np.array([*LEVELS, None], dtype=object)[
        np.where(guess >= 0, guess, len(LEVELS)).astype(int)
    ]
    given_level = education_level(members["school_level"]) if "school_level" in members else None
    if "in_school" in members:
        from bansos_linkage.eligibility.inputs import NO, normalise_answers

        answer = normalise_answers(members["in_school"])
        said = answer.notna().to_numpy(dtype=bool).copy()
        yes = _flag(members, "in_school").to_numpy() | answer.str.contains(
            r"masih sekolah|sedang sekolah|^sekolah$", regex=True
        ).fillna(False).to_numpy(dtype=bool)
        no = answer.str.contains(NO).fillna(False).to_numpy(dtype=bool) | answer.str.contains(
            "tidak sekolah|belum pernah|putus sekolah", regex=True
        ).fillna(False).to_numpy(dtype=bool)
        said &= yes | no
        in_school = np.where(said, yes & ~no, guess_in)
    elif given_level is not None:
        said = np.ones(n, dtype=bool)
        in_school = given_level.isin(["SD", "SMP", "SMA"]).to_numpy()
    else:
        said = np.zeros(n, dtype=bool)
        in_school = guess_in
    if given_level is not None:
        level_said = given_level.notna().to_numpy()
        level = np.where(level_said, given_level.to_numpy(dtype=object, na_value=None), None)  # type: ignore[assignment, call-overload]
    else:
        level_said = np.zeros(n, dtype=bool)
        level = np.full(n, None, dtype=object)  # type: ignore[assignment]
    level = np.where(level_said, level, np.where(in_school, guess_level, None))  # type: ignore[assignment]
    assumed = np.where(
        ~said & in_school, "attendance", np.where(in_school & ~level_said, "level", "")
    )
    return pd.DataFrame(
        {
            "in_school": in_school.astype(bool),
            "school_level": pd.Series(level, index=members.index, dtype="string"),
            "school_assumed": assumed,
        },
        index=members.index,
    )


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
    from bansos_linkage.eligibility.inputs import clean_ids

    # counted per household by integer code (a groupby on millions of text ids is slow)
    m["household_id"] = clean_ids(m["household_id"])
    household, ids = pd.factorize(m["household_id"], sort=True)
    known = household >= 0
    out = pd.DataFrame(
        {
            name: np.bincount(household[known], weights=np.asarray(flag)[known], minlength=len(ids))
            for name, flag in flags.items()
        },
        index=pd.Index(ids, name="household_id"),
    ).astype(int)
    relationship = relationship_codes(m.get("relationship"), m.index)
    head = m[(relationship == 1).to_numpy()]
    head = head.drop_duplicates("household_id").set_index("household_id")
    out["head_age"] = head["_age"].reindex(out.index)
    out["head_sex"] = sex_codes(head["sex"]).reindex(out.index) if "sex" in head else pd.NA
    out["head_work"] = head["work"].reindex(out.index).astype("string") if "work" in head else pd.NA
    out["head_education"] = (
        education_level(head["education"]).reindex(out.index) if "education" in head else pd.NA
    )
    return out.reset_index()


def _flag(members: pd.DataFrame, column: str) -> pd.Series:
    if column not in members:
        return pd.Series(False, index=members.index)
    codes, uniques = pd.factorize(members[column].astype("string").str.strip().str.lower())
    answers = np.array([is_yes(str(u)) for u in uniques] + [False])
    return pd.Series(answers[codes], index=members.index)


def _working(members: pd.DataFrame) -> pd.Series:
    if "work" not in members:
        return pd.Series(False, index=members.index)
    codes, uniques = pd.factorize(members["work"].astype("string").str.strip().str.lower())
    working = np.array([not NOT_WORKING.search(str(u)) for u in uniques] + [False])
    return pd.Series(working[codes], index=members.index)


__all__ = [
    "AGE_LEVELS",
    "EDUCATION_LEVELS",
    "LEVELS",
    "NOT_COMPLETED",
    "NOT_WORKING",
    "age_at",
    "completed_level",
    "composition",
    "education_level",
    "relationship_codes",
    "school_attendance",
    "sex_codes",
]
