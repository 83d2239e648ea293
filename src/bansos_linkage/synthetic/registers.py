"""Draw the registers from the population, record them with errors, format them like exports.

- **Regsosek**: the newer snapshot, near complete (``regsosek_coverage``), cleanest.
- **DTKS**: the older snapshot, households chosen by a noisy welfare ranking (so
  it has inclusion and exclusion errors), dirtiest, some people registered twice.
- **P3KE**: the poorest ``p3ke_share`` by its own noisy ranking, with desil.

Each comes out with the columns, code lists and date formats of its built-in
preset (:mod:`bansos_linkage.presets`), plus a truth table linking every record
to its ``person_id`` and true ``household_id``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bansos_linkage.standardisation.dates import MONTH_NAMES
from bansos_linkage.synthetic import corruption, phenomena
from bansos_linkage.synthetic.config import RecordingErrors, SynthConfig
from bansos_linkage.synthetic.lexicons import load_regions
from bansos_linkage.synthetic.population import ASSETS, VILLAGE_COLUMNS, Population

_RELATIONSHIP_LABEL = {
    1: "KEPALA KELUARGA",
    2: "ISTRI/SUAMI",
    3: "ANAK",
    4: "MENANTU",
    5: "CUCU",
    6: "ORANG TUA/MERTUA",
    7: "PEMBANTU",
    8: "LAINNYA",
}
_P3KE_RELATIONSHIP = {
    1: "KEPALA KELUARGA",
    2: "ISTRI",
    3: "ANAK",
    4: "MENANTU",
    5: "CUCU",
    6: "ORANG TUA",
    7: "PEMBANTU",
    8: "FAMILI LAIN",
}
HOUSEHOLD_VARIABLES = (
    "floor_area_m2",
    "floor_material",
    "wall_material",
    "roof_material",
    "drinking_water",
    "lighting",
    "cooking_fuel",
    "toilet",
    *ASSETS,
    "land_area_m2",
    "livestock",
)


def select_households(
    score: np.ndarray, share: float, noise: float, rng: np.random.Generator
) -> np.ndarray:
    """The lowest ``share`` of households by ``score + noise * N(0, 1)`` (a noisy ranking)."""
    noisy = score + noise * rng.normal(0, 1, len(score))
    k = int(round(share * len(score)))
    chosen = np.zeros(len(score), dtype=bool)
    chosen[np.argsort(noisy, kind="stable")[:k]] = True
    return chosen


def _view(
    pop: Population,
    present: np.ndarray,
    household_col: str,
    rel_col: str,
    village_col: str,
    kk_col: str = "kk_number",
) -> pd.DataFrame:
    """True values of the persons present in one snapshot, joined to their household.

    ``kk_col`` is the family's KK number at that snapshot (``kk_then`` before a renumbering).
    """
    persons = pop.persons.loc[present].copy()
    hh = pop.households
    hh_of = persons[household_col].to_numpy()
    rows = pd.Index(hh["household_id"]).get_indexer(hh_of)  # one lookup for every column
    persons["snapshot_household"] = hh_of
    persons["snapshot_relationship"] = persons[rel_col].to_numpy()
    village_idx = hh[village_col].to_numpy()[rows]
    for col in VILLAGE_COLUMNS:
        persons[col] = pop.villages[col].to_numpy()[village_idx]
    persons["kk_number"] = hh[kk_col].to_numpy()[rows]
    persons["kk_renumbered"] = hh["kk_renumbered"].to_numpy()[rows] & (kk_col != "kk_number")
    for col in (
        "kk_previous",
        "rt",
        "rw",
        "house_no",
        "welfare_score",
        *HOUSEHOLD_VARIABLES,
    ):
        persons[col] = hh[col].to_numpy()[rows]
    persons = persons.sort_values(
        ["snapshot_household", "snapshot_relationship", "member_no"], kind="stable"
    )
    return persons.reset_index(drop=True)


def record(
    view: pd.DataFrame,
    rates: RecordingErrors,
    rng: np.random.Generator,
    seed: int = 0,
    register: str = "",
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Recorded (erroneous) values for the persons of ``view``; returns values and masks.

    The errors of the first scenarios draw from ``rng``; the later phenomena
    from their own streams of ``seed`` and ``register`` (see :mod:`.phenomena`).
    """
    n = len(view)
    mothers = view["mother_name"].to_numpy(dtype=object)
    fathers = view["father_name"].to_numpy(dtype=object)
    sex = view["sex"].to_numpy()
    age = view["age"].to_numpy()
    names, masks = corruption.corrupt_names(
        view["full_name"].to_numpy(dtype=object), rates, sex, age, fathers, rng
    )
    mother_names, _ = corruption.corrupt_names(
        mothers,
        rates,
        np.full(n, "F"),
        np.full(n, 50),
        np.full(n, None, dtype=object),
        rng,
    )
    kk = view["kk_number"].to_numpy(dtype=object).copy()
    stale = corruption.select(n, rates.kk_stale, rng)
    kk[stale] = view["kk_previous"].to_numpy(dtype=object)[stale]
    masks["kk_stale"] = stale
    # a borrowed NIK is what the operator typed; the usual NIK errors may still hit it
    typed_nik, borrowed = phenomena.borrowed_niks(
        view,
        rates,
        phenomena.stream(seed, register, "nik_relative"),
        phenomena.stream(seed, register, "nik_shared"),
    )
    nik, nik_masks = corruption.corrupt_nik(
        typed_nik, view["kk_number"].to_numpy(dtype=object), rates, rng
    )
    dates, year_only, date_masks = corruption.corrupt_dates(
        view["birth_date"].to_numpy(), rates, rng
    )
    rec_sex, sex_mask = corruption.corrupt_sex(sex, rates.sex_flip, rng)
    masks.update(borrowed)
    masks.update(nik_masks)
    masks.update(date_masks)
    masks["sex_flip"] = sex_mask
    values = {"name": names, "nik": nik, "birth_date": dates, "year_only": year_only.copy()}
    _later_phenomena(view, values, masks, rates, seed, register)
    recorded = pd.DataFrame(
        {
            "name": values["name"],
            "mother_name": mother_names,
            "nik": values["nik"],
            "kk": kk,
            "birth_date": values["birth_date"],
            "year_only": values["year_only"],
            "sex": rec_sex,
        }
    )
    return recorded, masks


def _later_phenomena(
    view: pd.DataFrame,
    recorded: dict[str, np.ndarray],
    masks: dict[str, np.ndarray],
    rates: RecordingErrors,
    seed: int,
    register: str,
) -> None:
    """Dates days off, NIK and date damaged together, duplicates spelled otherwise (in place)."""
    n = len(view)
    untouched = ~np.any([m for k, m in masks.items() if k.startswith("date_")], axis=0)
    recorded["birth_date"], masks["date_days_off"] = phenomena.days_off(
        recorded["birth_date"],
        untouched,
        rates.date_days_off,
        phenomena.stream(seed, register, "date_days_off"),
    )
    damaged, damaged_dates = phenomena.damaged_nik_and_date(
        view["birth_date"].to_numpy(),
        rates.nik_missing_date_damaged,
        phenomena.stream(seed, register, "nik_missing_date_damaged"),
    )
    _override(masks, damaged, ("nik_", "date_"))
    masks["nik_missing_date_damaged"] = damaged
    recorded["nik"][damaged] = ""
    recorded["birth_date"][damaged] = damaged_dates[damaged]
    recorded["year_only"][damaged] = False
    first = view["first_record"].to_numpy() if "first_record" in view else np.full(n, -1)
    gen = phenomena.stream(seed, register, "duplicate")
    recorded["name"], masks["name_varied_duplicate"] = phenomena.vary_duplicates(
        recorded["name"], first, rates.name_varied_duplicate, gen
    )
    no_nik = (first >= 0) & (gen.random(n) < rates.nik_missing_duplicate)
    _override(masks, no_nik, ("nik_",))
    masks["nik_missing_duplicate"] = no_nik
    recorded["nik"][no_nik] = ""


def _override(masks: dict[str, np.ndarray], rows: np.ndarray, prefixes: tuple[str, ...]) -> None:
    """Clear the masks of errors a later one overwrote, so masks say what a record shows."""
    if rows.any():
        for key, mask in masks.items():
            if key.startswith(prefixes):
                mask[rows] = False


def _duplicates(view: pd.DataFrame, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """Register some persons twice (a second record of the same person).

    ``first_record`` is the row of a second record's first one (-1 on first records).
    """
    dup = corruption.select(len(view), rate, rng)
    view = view.assign(first_record=-1)
    if not dup.any():
        return view
    second = view.loc[dup].assign(first_record=np.flatnonzero(dup))
    return pd.concat([view, second], ignore_index=True)


def _date_text(
    dates: np.ndarray, year_only: np.ndarray, style: str, rng: np.random.Generator
) -> np.ndarray:
    idx = pd.DatetimeIndex(dates)
    out = np.full(len(dates), "", dtype=object)
    ok = ~pd.isna(dates)
    if style == "iso":
        out[ok] = idx[ok].strftime("%Y-%m-%d")
        out[~ok] = "98"
    elif style == "dtks":
        out[ok] = idx[ok].strftime("%d-%m-%Y")
        slash = ok & (rng.random(len(dates)) < 0.2)
        out[slash] = idx[slash].strftime("%d/%m/%Y")
        bare_year = year_only & ok & (rng.random(len(dates)) < 0.5)
        out[bare_year] = idx[bare_year].strftime("%Y")
    else:  # p3ke: Indonesian month names, sometimes dd/mm/yyyy
        words = ok & (rng.random(len(dates)) < 0.6)
        out[words] = [f"{d.day} {MONTH_NAMES[d.month - 1]} {d.year}" for d in idx[words]]
        rest = ok & ~words
        out[rest] = idx[rest].strftime("%d/%m/%Y")
    return out


def regsosek_table(view: pd.DataFrame, rec: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The Regsosek export of the recorded members: BPS village codes, household numbers."""
    hh_no = pd.factorize(view["snapshot_household"])[0] + 1
    member = view.groupby("snapshot_household").cumcount().to_numpy() + 1
    bps = view["bps_village_code"].astype(str)
    table = pd.DataFrame(
        {
            "id_art": [f"R22-{h:06d}{m:02d}" for h, m in zip(hh_no, member, strict=True)],
            "id_keluarga": [f"K22-{h:06d}" for h in hh_no],
            "kode_prov": bps.str[:2],
            "kode_kab": bps.str[2:4],
            "kode_kec": bps.str[4:7],
            "kode_desa": bps.str[7:10],
            "nama_desa": view["village_name"].to_numpy(),
            "alamat": [
                f"{v} NO {n}" for v, n in zip(view["village_name"], view["house_no"], strict=True)
            ],
            "rt": view["rt"].to_numpy(),
            "rw": view["rw"].to_numpy(),
            "no_kk": rec["kk"].to_numpy(),
            "nik": rec["nik"].to_numpy(),
            "nama": rec["name"].to_numpy(),
            "jenis_kelamin": np.where(rec["sex"] == "M", "1", "2"),
            "tgl_lahir": _date_text(
                rec["birth_date"].to_numpy(), rec["year_only"].to_numpy(), "iso", rng
            ),
            "hubungan_kk": view["snapshot_relationship"].to_numpy(),
        }
    )
    for col in HOUSEHOLD_VARIABLES:
        table[col] = view[col].to_numpy()
    return table


def dtks_table(view: pd.DataFrame, rec: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """The DTKS export of the recorded members: its own ids (no household order) and its
    address style."""
    order = rng.permutation(len(view))  # DTKS ids carry no household order
    ids = np.empty(len(view), dtype=object)
    ids[order] = [f"DTKS-{i + 1:08d}" for i in range(len(view))]
    code = view["village_code"].astype(str)
    address = [
        f"RT {rt:03d} RW {rw:03d} DSN. {v}" if i % 3 == 0 else f"KP. {v} NO {n}"
        for i, (rt, rw, v, n) in enumerate(
            zip(view["rt"], view["rw"], view["village_name"], view["house_no"], strict=True)
        )
    ]
    return pd.DataFrame(
        {
            "ID DTKS": ids,
            "PROVINSI": view["province_name"].str.upper().to_numpy(),
            "KABUPATEN/KOTA": view["regency_name"].str.upper().to_numpy(),
            "KECAMATAN": view["district_name"].str.upper().to_numpy(),
            "DESA/KELURAHAN": view["village_name"].to_numpy(),
            "KODE DESA": (
                code.str[:2] + "." + code.str[2:4] + "." + code.str[4:6] + "." + code.str[6:]
            ).to_numpy(),
            "ALAMAT": address,
            "RT": [f"{r:03d}" for r in view["rt"]],
            "RW": [f"{r:03d}" for r in view["rw"]],
            "NOMOR KK": rec["kk"].to_numpy(),
            "NIK": rec["nik"].to_numpy(),
            "NAMA": rec["name"].to_numpy(),
            "TEMPAT LAHIR": view["regency_name"].str.upper().to_numpy(),
            "TANGGAL LAHIR": _date_text(
                rec["birth_date"].to_numpy(), rec["year_only"].to_numpy(), "dtks", rng
            ),
            "JENIS KELAMIN": np.where(rec["sex"] == "M", "L", "P"),
            "NAMA IBU KANDUNG": rec["mother_name"].to_numpy(),
            "HUBUNGAN KELUARGA": view["snapshot_relationship"].map(_RELATIONSHIP_LABEL).to_numpy(),
        }
    )


def p3ke_table(
    view: pd.DataFrame, rec: pd.DataFrame, desil: np.ndarray, rng: np.random.Generator
) -> pd.DataFrame:
    """The P3KE export of the recorded members, with each household's welfare desil."""
    hh_no = pd.factorize(view["snapshot_household"])[0] + 1
    member = view.groupby("snapshot_household").cumcount().to_numpy() + 1
    return pd.DataFrame(
        {
            "ID_INDIVIDU": [f"P3KE-{h:07d}-{m:02d}" for h, m in zip(hh_no, member, strict=True)],
            "ID_KELUARGA": [f"P3KE-{h:07d}" for h in hh_no],
            "KODE_KEMENDAGRI": view["village_code"].to_numpy(),
            "PROVINSI": view["province_name"].str.upper().to_numpy(),
            "KABUPATEN": view["regency_name"].str.upper().to_numpy(),
            "KECAMATAN": view["district_name"].str.upper().to_numpy(),
            "DESA": view["village_name"].to_numpy(),
            "ALAMAT": [f"RT {rt} RW {rw}" for rt, rw in zip(view["rt"], view["rw"], strict=True)],
            "NO_KK": rec["kk"].to_numpy(),
            "NIK": rec["nik"].to_numpy(),
            "NAMA": rec["name"].to_numpy(),
            "JENIS_KELAMIN": np.where(rec["sex"] == "M", "LAKI-LAKI", "PEREMPUAN"),
            "TANGGAL_LAHIR": _date_text(
                rec["birth_date"].to_numpy(), rec["year_only"].to_numpy(), "p3ke", rng
            ),
            "HUBUNGAN_DENGAN_KEPALA_KELUARGA": view["snapshot_relationship"]
            .map(_P3KE_RELATIONSHIP)
            .to_numpy(),
            "DESIL_KESEJAHTERAAN": desil,
            "PEKERJAAN": view["work"].str.upper().to_numpy(),
        }
    )


def _older_codes(view: pd.DataFrame, masks: dict, old_codes: dict[str, str]) -> None:
    """Put the older code of recoded villages on an older register's view (in place)."""
    recoded = view["village_code"].isin(list(old_codes)).to_numpy()
    if recoded.any():  # untouched otherwise, down to the column's dtype
        view.loc[recoded, "village_code"] = view.loc[recoded, "village_code"].map(old_codes)
    masks["kk_renumbered"] = view["kk_renumbered"].to_numpy()
    masks["village_recoded"] = recoded


def truth_table(table: pd.DataFrame, id_col: str, view: pd.DataFrame) -> pd.DataFrame:
    """Each exported record's true person and household."""
    return pd.DataFrame(
        {
            "record_id": table[id_col].to_numpy(),
            "person_id": view["person_id"].to_numpy(),
            "household_id": view["snapshot_household"].to_numpy(),
        }
    )


def draw_registers(
    pop: Population, config: SynthConfig, rng: np.random.Generator
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], dict]:
    """All three registers, their truth tables and the error masks applied to each."""
    persons, hh = pop.persons, pop.households
    errors = {
        reg: config.errors.get(reg, RecordingErrors()) for reg in ("regsosek", "dtks", "p3ke")
    }
    tables, truth, masks = {}, {}, {}
    # older Kemendagri codes of some villages, the same in both older registers
    old_codes = phenomena.old_village_codes(
        pop.villages,
        load_regions()["village_code"].to_numpy(),
        config.village_recoded,
        phenomena.stream(config.seed, "village_recoded"),
    )
    # Regsosek: households enumerated now, their present members
    enumerated = rng.random(len(hh)) < config.regsosek_coverage
    hh_ok = set(hh["household_id"].to_numpy()[enumerated])
    present = persons["present_now"].to_numpy() & persons["household_id"].isin(hh_ok).to_numpy()
    view = _view(pop, present, "household_id", "relationship", "village_index")
    rec, masks["regsosek"] = record(view, errors["regsosek"], rng, config.seed, "regsosek")
    masks["regsosek"]["kk_renumbered"] = view["kk_renumbered"].to_numpy()
    masks["regsosek"]["village_recoded"] = np.zeros(len(view), dtype=bool)
    tables["regsosek"] = regsosek_table(view, rec, rng)
    truth["regsosek"] = truth_table(tables["regsosek"], "id_art", view)
    # DTKS: households as they were then, chosen by a noisy welfare ranking
    then = ~hh["split"].to_numpy()
    chosen = then & select_households(
        hh["welfare_score"].to_numpy(), config.dtks_share, config.dtks_rank_noise, rng
    )
    in_dtks = set(hh["household_id"].to_numpy()[chosen])
    present = (
        persons["present_then"].to_numpy() & persons["household_then"].isin(in_dtks).to_numpy()
    )
    view = _view(
        pop, present, "household_then", "relationship_then", "village_index_then", "kk_then"
    )
    view = _duplicates(view, errors["dtks"].duplicate, rng)
    rec, masks["dtks"] = record(view, errors["dtks"], rng, config.seed, "dtks")
    _older_codes(view, masks["dtks"], old_codes)
    tables["dtks"] = dtks_table(view, rec, rng)
    truth["dtks"] = truth_table(tables["dtks"], "ID DTKS", view)
    # P3KE: the poorest by its own ranking, members present at its date
    chosen = select_households(
        hh["welfare_score"].to_numpy(), config.p3ke_share, config.p3ke_rank_noise, rng
    )
    in_p3ke = set(hh["household_id"].to_numpy()[chosen])
    born_before = persons["birth_date"].to_numpy() <= np.datetime64(config.p3ke_date)
    present = (
        persons["present_now"].to_numpy()
        & born_before
        & persons["household_id"].isin(in_p3ke).to_numpy()
    )
    view = _view(pop, present, "household_id", "relationship", "village_index", "kk_then")
    rec, masks["p3ke"] = record(view, errors["p3ke"], rng, config.seed, "p3ke")
    _older_codes(view, masks["p3ke"], old_codes)
    score = view["welfare_score"].to_numpy()
    desil = (
        np.clip(
            (pd.Series(score).rank(pct=True).to_numpy() * config.p3ke_share * 10).astype(int) + 1,
            1,
            10,
        )
        if len(view)
        else np.array([], dtype=int)
    )
    tables["p3ke"] = p3ke_table(view, rec, desil, rng)
    truth["p3ke"] = truth_table(tables["p3ke"], "ID_INDIVIDU", view)
    return tables, truth, masks


__all__ = [
    "HOUSEHOLD_VARIABLES",
    "draw_registers",
    "dtks_table",
    "p3ke_table",
    "record",
    "regsosek_table",
    "select_households",
    "truth_table",
]
