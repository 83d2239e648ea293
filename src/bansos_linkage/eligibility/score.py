"""Score a register: PMT welfare, desil, the 14 criteria and every programme, in one call.

:func:`score_register` is what the ``score`` command runs: household variables and
members in, per-household and per-person eligibility with amounts and reasons out,
plus a summary per programme and region.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.criteria import bps_criteria
from bansos_linkage.eligibility.desil import desil
from bansos_linkage.eligibility.inputs import clean_ids
from bansos_linkage.eligibility.members import composition, education_level
from bansos_linkage.eligibility.pmt import ProxyMeansTest
from bansos_linkage.eligibility.rules import (
    Programme,
    evaluate_fields,
    member_fields,
    member_rows,
)
from bansos_linkage.errors import InputError

#: Household columns that are not PMT features.
NOT_FEATURES = (
    "household_id",
    "per_capita_expenditure",
    "kk_number",
    "village_code",
    "district_code",
    "bps_village_code",
    "desil",
    "extremely_poor",
)


#: Decimal places of the predicted log welfare (a billionth: far below any real
#: difference in welfare, far above the last bits of floating point).
WELFARE_DECIMALS = 9


@dataclass
class ScoredRegister:
    """Per-household results (``households``: welfare, desil, criteria, each programme's
    ``eligible:<name>``, ``amount:<name>`` and ``reasons:<name>``), per-person results
    of person-level programmes (``persons``: one row per member, the same three columns
    per programme), and the ``summary`` per programme and region."""

    households: pd.DataFrame
    persons: pd.DataFrame
    summary: pd.DataFrame
    pmt: ProxyMeansTest | None


def with_composition(
    households: pd.DataFrame, members: pd.DataFrame, reference_date: dt.date
) -> pd.DataFrame:
    """Household rows with the make-up counted from their members (``size`` and the rest
    replace columns of the same name; a household without member rows keeps its own)."""
    made = composition(members, reference_date)
    made["household_id"] = clean_ids(made["household_id"]).astype(str)
    out = households.copy()
    out["household_id"] = clean_ids(out["household_id"]).astype(str)
    own = {c: out.pop(c) for c in made.columns if c != "household_id" and c in out}
    out = out.merge(made, on="household_id", how="left")
    for column, values in own.items():
        counted = out[column]
        out[column] = counted.where(counted.notna(), values.to_numpy())
    return out


def pmt_features(households: pd.DataFrame) -> pd.DataFrame:
    """The columns a PMT learns from: everything but ids, targets and finer region codes."""
    return households.drop(columns=[c for c in NOT_FEATURES if c in households])


def score_register(
    households: pd.DataFrame,
    members: pd.DataFrame,
    programmes: list[Programme],
    reference_date: dt.date,
    survey: pd.DataFrame | None = None,
    pmt: ProxyMeansTest | None = None,
    region: str = "province_code",
    progress: Callable[[int, int, str], None] | None = None,
    desil_by: str | None = None,
    criteria_threshold: int = 9,
) -> ScoredRegister:
    """Rank and score every household of a register.

    The PMT is ``pmt`` (fitted) or one fitted on ``survey`` (households with the same
    variables and ``per_capita_expenditure``; their make-up is counted from
    ``members`` when they are in it). Without either, a ``desil`` column already in
    ``households`` is used. Desil are national, or within each value of the column
    ``desil_by`` (e.g. ``regency_code``). The 14 criteria are scored alongside (poor
    from ``criteria_threshold`` criteria). ``region`` is the column the summary is
    broken down by. ``progress(done, total, stage)`` is called after each step.
    """
    total = 4 + len(programmes)

    def step(done: int, stage: str) -> None:
        if progress is not None:
            progress(done, total, stage)

    hh = with_composition(households, members, reference_date)
    step(1, "household make-up")
    if pmt is None and survey is not None:
        pmt = survey_pmt(survey, members, reference_date)
    if pmt is not None:
        hh["log_welfare"] = predicted_welfare(hh, pmt)
        within = desil_groups(hh, desil_by)
        hh["desil"] = desil(
            hh["log_welfare"], hh["size"].fillna(1), by=within, tie_break=hh["household_id"]
        )
    else:
        require_desil(hh.columns)
    step(2, "PMT and desil")
    hh, people, rows, fields = apply_programmes(
        hh, members, programmes, reference_date, criteria_threshold, step
    )
    summary = summarise(hh, people, programmes, region, rows)
    summary.attrs["notes"] = assumptions(fields, programmes)
    step(total, "summary")
    return ScoredRegister(hh, people, summary, pmt)


def predicted_welfare(hh: pd.DataFrame, pmt: ProxyMeansTest) -> np.ndarray:
    """Each household's log welfare from the PMT, to :data:`WELFARE_DECIMALS` places:
    the last bits of a prediction depend on how many rows are predicted together
    (BLAS), and a ranking must not, so households that score alike tie and are
    ordered by their id, however the register is cut."""
    predicted = pmt.predict(hh.reindex(columns=list(pmt.feature_names_in_)))
    return np.round(predicted, WELFARE_DECIMALS)


def survey_pmt(
    survey: pd.DataFrame, members: pd.DataFrame, reference_date: dt.date
) -> ProxyMeansTest:
    """The PMT fitted on survey households (their make-up counted from ``members``)."""
    return fitted_pmt(with_composition(survey, members, reference_date))


def fitted_pmt(train: pd.DataFrame) -> ProxyMeansTest:
    """The PMT fitted on survey households with their make-up counted."""
    features = pmt_features(train)
    return ProxyMeansTest().fit(features, np.log(train["per_capita_expenditure"].astype(float)))


def desil_groups(hh: pd.DataFrame, desil_by: str | None) -> pd.Series | None:
    """The region each household is ranked within (None: nationally)."""
    if desil_by is None:
        return None
    if desil_by not in hh:
        raise InputError(f"no column {desil_by!r} to rank within (desil_by)")
    return hh[desil_by].astype("string").fillna("")


def require_desil(columns: pd.Index) -> None:
    """Without a PMT the households (their ``columns``) must carry their desil."""
    if "desil" not in columns:
        raise InputError(
            "no desil column, and no PMT or survey to fit one on (pmt, survey) to rank by"
        )


def apply_programmes(
    hh: pd.DataFrame,
    members: pd.DataFrame,
    programmes: list[Programme],
    reference_date: dt.date,
    criteria_threshold: int = 9,
    step: Callable[[int, str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The 14 criteria and every programme on ranked households (with ``desil``) and
    their members: the households and persons with their results, each member's
    household row and the member fields. Works on any set of whole households (a
    partition), so the Dask engine runs it unchanged."""
    heads = hh[["head_work", "head_education"]] if "head_work" in hh else None
    criteria = bps_criteria(hh, heads, threshold=criteria_threshold)
    hh["criteria_met"] = criteria["criteria_met"].to_numpy()
    hh["poor_14_criteria"] = criteria["poor"].to_numpy()
    if step is not None:
        step(3, "14 criteria")
    fields = member_fields(members, reference_date)  # once for every programme
    rows = member_rows(hh, fields)
    people = fields[[c for c in ("person_id", "household_id") if c in fields]].copy()
    for done, programme in enumerate(programmes, start=4):
        result = evaluate_fields(programme, hh, fields, rows)
        target = hh if programme.level == "household" else people
        target[f"eligible:{programme.name}"] = result["eligible"].to_numpy()
        target[f"amount:{programme.name}"] = result["amount"].to_numpy()
        target[f"reasons:{programme.name}"] = _reasons(result)
        if programme.level == "person":  # the family's total of a person programme
            known = rows >= 0
            hh[f"amount:{programme.name}"] = np.bincount(
                rows[known], weights=result["amount"].to_numpy()[known], minlength=len(hh)
            )
        if step is not None:
            step(done, programme.name)
    if not any(p.level == "person" for p in programmes):
        people = people.iloc[0:0]
    return hh, people, rows, fields


def assumptions(fields: pd.DataFrame, programmes: list[Programme]) -> list[str]:
    """What scoring assumed because the register does not say (shown with the summary;
    the reasons of each household or person say it too)."""
    return assumption_notes(assumed_counts(fields), programmes)


def assumed_counts(fields: pd.DataFrame) -> dict[str, int]:
    """How many members' answers scoring assumed, by kind (summed over partitions)."""
    assumed = fields["school_assumed"] if "school_assumed" in fields else pd.Series([], dtype=str)
    estimated: Any = fields.get("pregnancy_estimated", [])  # a column, or none
    return {
        "attendance": int((assumed == "attendance").sum()),
        "level": int((assumed == "level").sum()),
        "pregnancy": int(np.sum(estimated)),
    }


def assumption_notes(counts: dict[str, int], programmes: list[Programme]) -> list[str]:
    """The notes of :func:`assumptions` from :func:`assumed_counts`."""
    from bansos_linkage.eligibility.rules import _uses_school

    notes = []
    school = any(
        _uses_school(p.eligible) or any(_uses_school(c.members) for c in p.components)
        for p in programmes
    )
    attendance, level = counts["attendance"], counts["level"]
    if school and attendance:
        notes.append(
            f"{_count(attendance, 'member')} assumed in school: no in_school answer, so children "
            "aged 7-18 are taken to attend at the level of their age (SD 7-12, SMP 13-15, "
            "SMA 16-18) or the one after the level they completed"
        )
    if school and level:
        notes.append(
            f"{_count(level, 'pupil')}: school level assumed from their age and the level they "
            "completed: no school_level answer"
        )
    if counts["pregnancy"] > 0 and any(
        leaf.field == "pregnancy_number"
        for p in programmes
        for c in p.components
        for leaf in c.members.leaves()
    ):
        notes.append(
            f"{_count(counts['pregnancy'], 'pregnancy number')} estimated from the children at "
            "home: no pregnancy_number answer"
        )
    return notes


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _reasons(result: pd.DataFrame) -> pd.Categorical:
    """What pays when eligible, what failed (``failed: ...``) when not, and in both
    cases the members not paid (``not paid: pregnant x1 (...)``)."""
    paid = result["components"].astype("category").array
    failed = result["failed"].astype("category").array
    labels = [*map(str, paid.categories), *(f"failed: {c}" for c in failed.categories)]
    offset = len(paid.categories) + failed.codes.astype(np.int64)  # int8 codes overflow
    codes = np.where(result["eligible"], paid.codes.astype(np.int64), offset)
    if "not_paid" in result:
        missed = result["not_paid"].astype("category").array
        if any(str(c) for c in missed.categories):
            pairs = codes * (len(missed.categories) + 1) + missed.codes.astype(np.int64)
            codes, first = pd.factorize(pairs)
            labels = [
                "; ".join(
                    t
                    for t in (
                        labels[p // (len(missed.categories) + 1)],
                        str(missed.categories[p % (len(missed.categories) + 1)])
                        if p % (len(missed.categories) + 1) < len(missed.categories)
                        else "",
                    )
                    if t
                )
                for p in first
            ]
    position, distinct = pd.factorize(np.asarray(labels, dtype=object))
    return pd.Categorical.from_codes(position[codes], distinct)  # type: ignore[call-overload]


def summarise(
    hh: pd.DataFrame,
    people: pd.DataFrame,
    programmes: list[Programme],
    region: str,
    household_of: np.ndarray,
) -> pd.DataFrame:
    """Families, people and budget per programme and region, and a total (``all``).

    Without a ``region`` column there is one row per programme, the total. For a
    person-level programme ``families`` counts the households with at least one
    member who receives it."""
    rows = []
    by_region = region in hh
    where = hh[region].astype(str) if by_region else pd.Series("all", index=hh.index)
    known = household_of >= 0
    for programme in programmes:
        if programme.level == "household":
            frame = pd.DataFrame(
                {
                    "region": where,
                    "families": hh[f"eligible:{programme.name}"].astype(int),
                    # a household of unknown size counts as 1, as in the ranking
                    "people": np.where(hh[f"eligible:{programme.name}"], hh["size"].fillna(1), 0),
                    "budget": hh[f"amount:{programme.name}"],
                }
            )
        else:
            receives = people[f"eligible:{programme.name}"].to_numpy(dtype=bool)
            per_household = np.bincount(household_of[known & receives], minlength=len(hh))
            frame = pd.DataFrame(
                {
                    "region": where.to_numpy(dtype=object),
                    "families": (per_household > 0).astype(int),
                    "people": per_household,
                    "budget": np.bincount(
                        household_of[known],
                        weights=people[f"amount:{programme.name}"].to_numpy(dtype=float)[known],
                        minlength=len(hh),
                    ),
                }
            )
            lost = ~known & receives  # members of no scored household: a region of their own
            if lost.any():
                amounts = people[f"amount:{programme.name}"].to_numpy(dtype=float)
                frame.loc[len(frame)] = {
                    "region": "unknown",
                    "families": 0,
                    "people": int(lost.sum()),
                    "budget": float(amounts[lost].sum()),
                }
        frame = frame.astype({"families": "int64", "people": "int64"})
        if by_region:
            table = frame.groupby("region").sum().reset_index()
            table.insert(0, "programme", programme.name)
            rows.append(table)
        total = {k: frame[k].sum() for k in ("families", "people", "budget")}  # keeps int
        rows.append(pd.DataFrame([{"programme": programme.name, "region": "all", **total}]))
    if not rows:
        return pd.DataFrame(columns=["programme", "region", "families", "people", "budget"])
    return pd.concat(rows, ignore_index=True)


def merge_summaries(parts: list[pd.DataFrame], programmes: list[Programme]) -> pd.DataFrame:
    """The summary of a register from those of its partitions (each of whole
    households): families, people and budget summed per programme and region, in the
    order one summary of the whole register has (regions sorted, then ``all``)."""
    table = pd.concat(parts, ignore_index=True)
    values = ("families", "people", "budget")
    rows = []
    for programme in programmes:
        mine = table[table["programme"] == programme.name]
        total = mine["region"] == "all"
        if (~total).any():
            regional = mine[~total].groupby("region")[list(values)].sum().reset_index()
            regional.insert(0, "programme", programme.name)
            rows.append(regional)
        sums = {k: mine.loc[total, k].sum() for k in values}  # per column: keeps int
        rows.append(pd.DataFrame([{"programme": programme.name, "region": "all", **sums}]))
    if not rows:
        return pd.DataFrame(columns=["programme", "region", *values])
    return pd.concat(rows, ignore_index=True).astype({"families": "int64", "people": "int64"})


def rupiah(amount: float) -> str:
    """An amount in the unit that reads best: ``Rp 3.9 million``, ``Rp 1.2 billion``,
    ``Rp 2.3 trillion`` (never ``Rp 0.0 billion`` for a small run).

    Examples
    --------
    >>> [rupiah(a) for a in (0, 450_000, 3_900_000, 6.9e8, 1.23e12)]
    ['Rp 0', 'Rp 450,000', 'Rp 3.9 million', 'Rp 0.69 billion', 'Rp 1.23 trillion']
    """
    amount = float(amount)
    for unit, size in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if abs(amount) >= size / 10 and (unit != "million" or abs(amount) >= size):
            value = amount / size
            digits = 1 if abs(value) >= 1 and value == round(value, 1) else 2
            digits = 1 if abs(value) >= 10 else digits
            return f"Rp {value:,.{digits}f} {unit}"
    return f"Rp {amount:,.0f}"


def summary_lines(summary: pd.DataFrame, problems: pd.DataFrame | None = None) -> list[str]:
    """The console summary of a scored register: per programme the families, people
    and yearly budget (:func:`rupiah`), what was assumed, and the problems found."""
    lines = []
    row: Any  # a named tuple of the summary's columns
    for row in summary[summary["region"] == "all"].itertuples(index=False):
        lines.append(
            f"{row.programme:<14} {int(row.families):>9,} families {int(row.people):>10,} people "
            f"{rupiah(row.budget):>20} a year"
        )
    notes = summary.attrs.get("notes", [])
    lines.extend(f"note: {n}" for n in notes)
    if problems is not None and len(problems):
        rejected = int(problems["rejected"].sum())
        lines.append(f"{len(problems):,} problems ({rejected:,} rows rejected): see problems.csv")
    return lines


#: Column names other exports use (Regsosek, DTKS, P3KE in Indonesian), read as the
#: names this library uses when the file does not have those already.
HOUSEHOLD_COLUMNS: dict[str, tuple[str, ...]] = {
    "household_id": ("id_keluarga", "idkeluarga", "id_ruta", "id_rumah_tangga", "id_rt"),
    "province_code": ("kode_prov", "kdprov", "kode_provinsi"),
    "regency_code": ("kode_kab", "kdkab", "kode_kabupaten"),
    "district_code": ("kode_kec", "kdkec", "kode_kecamatan"),
    "village_code": ("kode_desa", "kddesa", "kode_kelurahan"),
    "floor_area_m2": ("luas_lantai", "luas_lantai_m2"),
    "floor_material": ("jenis_lantai", "bahan_lantai", "lantai"),
    "wall_material": ("jenis_dinding", "bahan_dinding", "dinding"),
    "roof_material": ("jenis_atap", "bahan_atap", "atap"),
    "drinking_water": ("sumber_air_minum", "air_minum"),
    "lighting": ("sumber_penerangan", "penerangan"),
    "cooking_fuel": ("bahan_bakar_memasak", "bahan_bakar_masak", "bahan_bakar"),
    "toilet": ("fasilitas_bab", "fasilitas_buang_air_besar", "jamban", "kepemilikan_jamban"),
    "land_area_m2": ("luas_lahan", "luas_lahan_m2"),
    "per_capita_expenditure": ("pengeluaran_per_kapita", "pengeluaran_perkapita"),
}
MEMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "household_id": HOUSEHOLD_COLUMNS["household_id"],
    "person_id": ("id_art", "idart", "id_anggota", "id_dtks"),
    "birth_date": ("tgl_lahir", "tanggal_lahir"),
    "sex": ("jenis_kelamin", "jk"),
    "relationship": ("hubungan_kk", "hub_kk", "hubungan_kepala_keluarga", "shdk"),
    "education": ("pendidikan", "pendidikan_terakhir", "ijazah_tertinggi"),
    "work": ("pekerjaan", "status_pekerjaan", "status_bekerja"),
    "disability": ("disabilitas", "jenis_disabilitas", "penyandang_disabilitas", "cacat"),
    "pregnant": ("hamil", "sedang_hamil"),
    "pregnancy_number": ("kehamilan_ke",),
    "in_school": ("partisipasi_sekolah", "status_sekolah"),
    "school_level": ("jenjang_sekolah",),
}


def with_our_names(table: pd.DataFrame, names: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Columns renamed from another export's names (any case) to ours; a column we
    already have is never replaced.

    Examples
    --------
    >>> with_our_names(pd.DataFrame(columns=["ID_RUTA", "Jenis_Lantai"]), HOUSEHOLD_COLUMNS)
    Empty DataFrame
    Columns: [household_id, floor_material]
    Index: []
    """
    present = {str(c).strip().lower(): c for c in table.columns}
    rename = {}
    for ours, theirs in names.items():
        if ours in table.columns:
            continue
        found = next((present[t] for t in theirs if t in present), None)
        if found is not None and found not in rename:
            rename[found] = ours
    return table.rename(columns=rename)


#: Columns of the problems table :func:`prepare_register` returns.
PROBLEM_COLUMNS = ("file", "row", "id", "column", "problem", "rejected")


def prepare_register(
    households: pd.DataFrame,
    members: pd.DataFrame | None,
    reference_date: dt.date,
    *,
    households_file: str = "households",
    members_file: str = "members",
    dayfirst: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Tables read as text (:func:`~bansos_linkage.io.read_table`) made ready to score,
    with every problem found listed instead of dropped silently.

    - household columns that hold numbers become numbers (decimal commas too:
      ``12,5``); a cell that is not one is set missing and listed (``expected a
      number``), and so is a number that cannot be (a negative area or livestock
      count, a ``size`` below 1, a ``desil`` outside 1-10: ``impossible number``);
    - answers are compared ignoring case and spacing; a housing answer in none of
      the known words (:data:`~bansos_linkage.eligibility.inputs.ANSWER_WORDS`), a
      schooling answer naming no level and a yes/no answer that is neither
      (``disability``, ``pregnant``, ``in_school``) are set missing and listed
      (``unknown answer``);
    - ids are stripped of surrounding spaces in both files; a member repeating an
      earlier ``person_id`` is rejected (each person counted once);
    - a household without ``household_id`` or repeating an earlier one is rejected;
    - birth dates are read as Indonesian registers write them (day first, year-only,
      Excel serials: :func:`~bansos_linkage.standardisation.dates.standardise_date`);
      one that cannot be read is listed and the person kept without an age;
    - sex and relationship to the head are read from codes or words (``P``,
      ``PEREMPUAN``, ``ISTRI``, ``ANAK KANDUNG``); an unknown one is listed and kept
      as missing;
    - a member whose household is not in ``households`` is rejected;
    - a household without members is listed (it keeps its own ``size`` if it has one).

    Columns named as other exports name them (``id_ruta``, ``jenis_lantai``,
    ``tgl_lahir``, ``hubungan_kk``: :data:`HOUSEHOLD_COLUMNS`, :data:`MEMBER_COLUMNS`)
    are read under this library's names.

    Returns the households and members to score and the problems table (``file``,
    ``row`` counted as a spreadsheet does, ``id``, ``column``, ``problem``,
    ``rejected``). No value of a cell is copied into it: only ids.
    """
    from bansos_linkage.standardisation.codes import standardise_relationship, standardise_sex
    from bansos_linkage.standardisation.dates import standardise_date

    if len(households) == 0:
        raise InputError(
            "no rows below the header; expected one row per household", file=households_file
        )
    problems: list[pd.DataFrame] = []
    # row labels count data rows from 0 in file order, whatever index came in
    households = with_our_names(households.reset_index(drop=True), HOUSEHOLD_COLUMNS)
    if "household_id" in households:  # stripped as member ids are, before anything names it
        households["household_id"] = clean_ids(households["household_id"])
    hh = _number_columns(households, households_file, problems)
    hh = _household_answers(hh, households_file, problems)
    hh = _usable_ids(hh, households_file, problems)
    if members is None:
        members = pd.DataFrame({"household_id": pd.Series(dtype="string"), "birth_date": []})
    elif len(members) == 0:  # a members file given but empty is a mistake, not "no members"
        raise InputError(
            "no rows below the header; expected one row per household member",
            file=members_file,
        )
    m = with_our_names(members.reset_index(drop=True), MEMBER_COLUMNS)
    for column in ("household_id", "birth_date"):
        if column not in m:
            raise InputError(f"the members file needs a {column} column", file=members_file)
    m = _member_ids(m, members_file, problems)
    dates = standardise_date(m["birth_date"], dayfirst=dayfirst, reference_date=reference_date)
    bad = dates["problem"].notna() & dates["date"].isna() & m["birth_date"].notna()
    problems.append(_problems(m, bad, members_file, "birth_date", dates["problem"], False))
    m["birth_date"] = dates["date"]
    for column, standardise in (
        ("sex", standardise_sex),
        ("relationship", standardise_relationship),
    ):
        if column in m:  # words or codes as registers write them (LAKI-LAKI, ISTRI, 03)
            read = standardise(m[column])
            unknown = read["problem"].notna() & m[column].notna()
            problems.append(_problems(m, unknown, members_file, column, read["problem"], False))
            m[column] = read[column].astype(object if column == "sex" else float)
    m = _member_answers(m, members_file, problems)
    orphan = ~_within(m["household_id"], hh["household_id"])
    message = f"household_id not in {households_file}"
    problems.append(_problems(m, orphan, members_file, "household_id", message, True))
    m = m[~orphan]
    empty = ~_within(hh["household_id"], m["household_id"])
    if len(members):
        problems.append(_problems(hh, empty, households_file, "household_id", "no members", False))
    table = pd.concat([p for p in problems if len(p)] or [pd.DataFrame(columns=PROBLEM_COLUMNS)])
    return hh, m, table.reset_index(drop=True)


def _number_columns(table: pd.DataFrame, file: str, problems: list) -> pd.DataFrame:
    """Columns whose values are nearly all numbers (ids and codes stay text); decimal
    commas (``12,5``) are numbers, and a number that cannot be (a negative area or
    count) is set missing and listed."""
    from bansos_linkage.eligibility.inputs import impossible

    out = table.copy()
    for column in out.columns:
        if column.endswith(("_id", "_code", "_number")):
            continue
        given = out[column].notna() & out[column].astype("string").str.strip().ne("")
        converted = _numbers(out[column])
        numbers = converted.notna()
        if not numbers.any() or numbers.sum() < 0.8 * given.sum():
            continue  # a text column (answers as words), left as it is
        problems.append(_problems(out, given & ~numbers, file, column, "expected a number", False))
        found = impossible(column, converted)
        if found is not None and found[0].any():
            problems.append(_problems(out, found[0], file, column, found[1], False))
            converted = converted.mask(found[0])
        out[column] = converted
    return out


def _household_answers(table: pd.DataFrame, file: str, problems: list) -> pd.DataFrame:
    """Answers to the housing questions (:data:`~.inputs.ANSWER_WORDS`) and the head's
    schooling: an answer in none of the known words is set missing and listed."""
    from bansos_linkage.eligibility.inputs import ANSWER_WORDS, unknown_answers

    out = table
    for column, words in ANSWER_WORDS.items():
        if column in out and not pd.api.types.is_numeric_dtype(out[column]):
            unknown = unknown_answers(out[column], words) & _given(out[column])
            out = _set_missing(out, column, unknown, file, problems)
    if "head_education" in out:
        unknown = education_level(out["head_education"]).isna().to_numpy() & _given(
            out["head_education"]
        )
        out = _set_missing(out, "head_education", unknown, file, problems)
    return out


def _given(values: pd.Series) -> np.ndarray:
    text = values.astype("string").str.strip()
    return (text.notna() & text.ne("")).to_numpy(dtype=bool)


def _set_missing(table, column, mask, file, problems, problem="unknown answer") -> pd.DataFrame:
    if not mask.any():
        return table
    problems.append(_problems(table, mask, file, column, problem, False))
    out = table.copy()
    out[column] = out[column].mask(mask)
    return out


def _member_ids(m: pd.DataFrame, file: str, problems: list) -> pd.DataFrame:
    """Ids stripped as household ids are; a member row repeating an earlier member's
    ``person_id`` is listed and rejected (counted once)."""
    from bansos_linkage.eligibility.inputs import clean_ids

    m = m.assign(household_id=clean_ids(m["household_id"]))
    if "person_id" not in m:
        return m
    m["person_id"] = clean_ids(m["person_id"])
    repeated = (m["person_id"].duplicated() & m["person_id"].notna()).to_numpy()
    problems.append(_problems(m, repeated, file, "person_id", "repeats an earlier row", True))
    return m[~repeated]


def _member_answers(m: pd.DataFrame, file: str, problems: list) -> pd.DataFrame:
    """Schooling and yes/no answers that mean nothing known (``???``, ``maybe``) and
    pregnancy numbers that are not numbers or cannot be: set missing and listed."""
    from bansos_linkage.eligibility.inputs import numbers, unknown_flags

    for column in ("education", "school_level"):
        if column in m:
            unknown = education_level(m[column]).isna().to_numpy() & _given(m[column])
            m = _set_missing(m, column, unknown, file, problems)
    for column in ("disability", "pregnant", "in_school"):
        if column in m:
            answers = m[column]
            if column == "in_school":  # Regsosek's words for school participation
                answers = answers.astype("string").str.replace(
                    r"(?i).*(sekolah|pernah).*", "ya", regex=True
                )
            unknown = unknown_flags(answers) & _given(m[column])
            m = _set_missing(m, column, unknown, file, problems)
    if "pregnancy_number" in m:
        given = _given(m["pregnancy_number"])
        read = numbers(m["pregnancy_number"])
        m = _set_missing(
            m,
            "pregnancy_number",
            given & read.isna().to_numpy(),
            file,
            problems,
            "expected a number",
        )
        bad = (read < 1).to_numpy() | (read != read.round()).to_numpy() & read.notna().to_numpy()
        m = _set_missing(
            m,
            "pregnancy_number",
            bad & given & read.notna().to_numpy(),
            file,
            problems,
            "impossible number: a pregnancy is counted from 1",
        )
    return m


def _within(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """``values.isin(universe)`` by hashing (isin on arrow text loops in Python)."""
    return pd.Index(universe.dropna().unique()).get_indexer(values) >= 0


def _numbers(column: pd.Series) -> pd.Series:
    """Numbers as registers write them (decimal commas too:
    :func:`~bansos_linkage.eligibility.inputs.numbers`), each distinct text once."""
    from bansos_linkage.eligibility.inputs import numbers

    return numbers(column)


def _usable_ids(hh: pd.DataFrame, file: str, problems: list) -> pd.DataFrame:
    if "household_id" not in hh:
        raise InputError("the households file needs a household_id column", file=file)
    ids = hh["household_id"].astype("string").str.strip()
    missing = ids.isna() | (ids == "")
    repeated = ids.duplicated() & ~missing
    problems.append(_problems(hh, missing, file, "household_id", "missing", True))
    problems.append(_problems(hh, repeated, file, "household_id", "repeats an earlier row", True))
    return hh.assign(household_id=ids)[~(missing | repeated).to_numpy()]


def _problems(table, mask, file: str, column: str, problem, rejected: bool) -> pd.DataFrame:
    rows = np.flatnonzero(np.asarray(mask, dtype=bool))
    ids = table["person_id"] if "person_id" in table else table.get("household_id")
    return pd.DataFrame(
        {
            "file": file,
            "row": table.index.to_numpy()[rows] + 2,  # the header is row 1
            "id": ids.to_numpy()[rows] if ids is not None else pd.NA,
            "column": column,
            "problem": problem.to_numpy()[rows] if isinstance(problem, pd.Series) else problem,
            "rejected": rejected,
        },
        columns=list(PROBLEM_COLUMNS),
    )


__all__ = [
    "HOUSEHOLD_COLUMNS",
    "MEMBER_COLUMNS",
    "NOT_FEATURES",
    "PROBLEM_COLUMNS",
    "WELFARE_DECIMALS",
    "ScoredRegister",
    "apply_programmes",
    "assumed_counts",
    "assumption_notes",
    "assumptions",
    "desil_groups",
    "fitted_pmt",
    "merge_summaries",
    "pmt_features",
    "predicted_welfare",
    "prepare_register",
    "require_desil",
    "rupiah",
    "score_register",
    "summarise",
    "summary_lines",
    "survey_pmt",
    "with_composition",
    "with_our_names",
]
