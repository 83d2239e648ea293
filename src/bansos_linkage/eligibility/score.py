"""Score a register: PMT welfare, desil, the 14 criteria and every programme, in one call.

:func:`score_register` is what the ``score`` command runs: household variables and
members in, per-household and per-person eligibility with amounts and reasons out,
plus a summary per programme and region.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.criteria import bps_criteria
from bansos_linkage.eligibility.desil import desil
from bansos_linkage.eligibility.members import composition
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
    made["household_id"] = made["household_id"].astype(str)
    out = households.copy()
    out["household_id"] = out["household_id"].astype(str)
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
        train = with_composition(survey, members, reference_date)
        features = pmt_features(train)
        pmt = ProxyMeansTest().fit(features, np.log(train["per_capita_expenditure"].astype(float)))
    if pmt is not None:
        hh["log_welfare"] = pmt.predict(hh.reindex(columns=list(pmt.feature_names_in_)))
        if desil_by is not None and desil_by not in hh:
            raise ValueError(f"no column {desil_by!r} to rank within")
        within = hh[desil_by].astype("string").fillna("") if desil_by else None
        hh["desil"] = desil(
            hh["log_welfare"], hh["size"].fillna(1), by=within, tie_break=hh["household_id"]
        )
    elif "desil" not in hh:
        raise ValueError("no PMT, no survey to fit one on, and no desil column to use")
    step(2, "PMT and desil")
    heads = hh[["head_work", "head_education"]] if "head_work" in hh else None
    criteria = bps_criteria(hh, heads, threshold=criteria_threshold)
    hh["criteria_met"] = criteria["criteria_met"].to_numpy()
    hh["poor_14_criteria"] = criteria["poor"].to_numpy()
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
        step(done, programme.name)
    if not any(p.level == "person" for p in programmes):
        people = people.iloc[0:0]
    summary = _summary(hh, people, programmes, region, rows)
    step(total, "summary")
    return ScoredRegister(hh, people, summary, pmt)


def _reasons(result: pd.DataFrame) -> pd.Categorical:
    """What pays when eligible, what failed (``failed: ...``) when not."""
    paid = result["components"].astype("category").array
    failed = result["failed"].astype("category").array
    labels = [*map(str, paid.categories), *(f"failed: {c}" for c in failed.categories)]
    offset = len(paid.categories) + failed.codes.astype(np.int64)  # int8 codes overflow
    codes = np.where(result["eligible"], paid.codes, offset)
    position, distinct = pd.factorize(np.asarray(labels, dtype=object))
    return pd.Categorical.from_codes(position[codes], distinct)


def _summary(
    hh: pd.DataFrame,
    people: pd.DataFrame,
    programmes: list[Programme],
    region: str,
    household_of: np.ndarray,
) -> pd.DataFrame:
    rows = []
    where = hh[region].astype(str) if region in hh else pd.Series("all", index=hh.index)
    for programme in programmes:
        if programme.level == "household":
            frame = pd.DataFrame(
                {
                    "region": where,
                    "families": hh[f"eligible:{programme.name}"].astype(int),
                    "people": np.where(hh[f"eligible:{programme.name}"], hh["size"], 0),
                    "budget": hh[f"amount:{programme.name}"],
                }
            )
        else:
            region_of = np.append(where.to_numpy(dtype=object), "unknown")[household_of]
            frame = pd.DataFrame(
                {
                    "region": region_of,
                    "families": 0,
                    "people": people[f"eligible:{programme.name}"].astype(int),
                    "budget": people[f"amount:{programme.name}"],
                }
            )
        frame = frame.astype({"families": "int64", "people": "int64"})
        table = frame.groupby("region").sum().reset_index()
        table.insert(0, "programme", programme.name)
        rows.append(table)
        total = {k: frame[k].sum() for k in ("families", "people", "budget")}  # keeps int
        rows.append(pd.DataFrame([{"programme": programme.name, "region": "all", **total}]))
    return pd.concat(rows, ignore_index=True)


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

    - household columns that hold numbers become numbers; a cell that is not one is
      set missing and listed (``expected a number``);
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

    problems: list[pd.DataFrame] = []
    # row labels count data rows from 0 in file order, whatever index came in
    households = with_our_names(households.reset_index(drop=True), HOUSEHOLD_COLUMNS)
    hh = _number_columns(households, households_file, problems)
    hh = _usable_ids(hh, households_file, problems)
    if members is None:
        members = pd.DataFrame({"household_id": pd.Series(dtype="string"), "birth_date": []})
    m = with_our_names(members.reset_index(drop=True), MEMBER_COLUMNS)
    for column in ("household_id", "birth_date"):
        if column not in m:
            raise InputError(f"the members file needs a {column} column", file=members_file)
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
    m["household_id"] = m["household_id"].astype("string")
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
    """Columns whose values are nearly all numbers (ids and codes stay text)."""
    out = table.copy()
    for column in out.columns:
        if column.endswith(("_id", "_code", "_number")):
            continue
        given = out[column].notna()
        converted = _numbers(out[column])
        numbers = converted.notna()
        if not numbers.any() or numbers.sum() < 0.8 * given.sum():
            continue  # a text column (answers as words), left as it is
        problems.append(_problems(out, given & ~numbers, file, column, "expected a number", False))
        out[column] = converted
    return out


def _within(values: pd.Series, universe: pd.Series) -> np.ndarray:
    """``values.isin(universe)`` by hashing (isin on arrow text loops in Python)."""
    return pd.Index(universe.dropna().unique()).get_indexer(values) >= 0


def _numbers(column: pd.Series) -> pd.Series:
    """``pd.to_numeric(errors="coerce")``, each distinct text converted once."""
    codes, uniques = pd.factorize(column)
    numbers = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(float)
    return pd.Series(np.append(numbers, np.nan)[codes], index=column.index)


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
