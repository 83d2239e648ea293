"""The true population: households, persons, names, NIK/KK numbers and welfare.

Everything is drawn with one ``numpy.random.Generator`` in a fixed order, so
the same config and seed give the same population. Per-person work is numpy
over arrays; only name strings are assembled in Python (cheap list work).
The state described is the newer (Regsosek) snapshot; :mod:`.events` adds what
was different at the older (DTKS) snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.synthetic.config import SynthConfig
from bansos_linkage.synthetic.lexicons import load_family_names, load_given_names, load_regions
from bansos_linkage.synthetic.phenomena import stream

# Cultures whose people often carry an Arabic first name (Muhammad, Siti, Nur ...).
_MUSLIM_CULTURES = frozenset({"javanese", "sundanese", "sasak", "bugis", "minang", "acehnese"})
_BIRTH_ORDER = (
    ("WAYAN", "PUTU", "GEDE"),
    ("MADE", "KADEK", "NENGAH"),
    ("NYOMAN", "KOMANG"),
    ("KETUT",),
)
_NOBLE = {
    "sasak": ("LALU", "BAIQ", 0.12),
    "bugis": ("ANDI", "ANDI", 0.15),
    "acehnese": ("TEUKU", "CUT", 0.05),
}
_FAMILY_NAME_CULTURES = ("batak", "chinese", "minahasa")  # a tuple: draws happen in this order

FLOOR = np.array(["keramik", "semen", "kayu", "bambu", "tanah"])
WALL = np.array(["tembok", "plesteran anyaman bambu", "kayu", "bambu", "lainnya"])
ROOF = np.array(["genteng", "seng", "asbes", "beton", "ijuk/rumbia"])
WATER = np.array(
    [
        "air kemasan",
        "leding",
        "sumur bor",
        "sumur terlindung",
        "mata air tak terlindung",
        "air hujan/sungai",
    ]
)
LIGHT = np.array(["PLN 1300+ VA", "PLN 900 VA", "PLN 450 VA", "PLN tanpa meteran", "non-PLN"])
FUEL = np.array(["listrik/gas kota", "LPG 12 kg", "LPG 3 kg", "minyak tanah", "kayu bakar"])
TOILET = np.array(["sendiri", "bersama", "umum", "tidak ada"])
EDUCATION = np.array(["tidak/belum sekolah", "SD", "SMP", "SMA", "diploma/sarjana"])
WORK = np.array(["tidak bekerja", "petani", "buruh", "pedagang", "karyawan", "wiraswasta"])
#: Where a household lives, as carried into every register record.
VILLAGE_COLUMNS = (
    "province_code",
    "regency_code",
    "district_code",
    "village_code",
    "village_name",
    "province_name",
    "regency_name",
    "district_name",
    "bps_village_code",
)
ASSETS = (
    "lpg_5_5kg",
    "kulkas",
    "ac",
    "tv_30_inci",
    "emas_10g",
    "sepeda_motor",
    "mobil",
    "perahu",
    "smartphone",
    "internet",
    "rekening_bank",
)


@dataclass
class Population:
    """The true population at the newer snapshot.

    ``persons`` has one row per person (``person_id``) with true attributes and
    ``household_id``; ``households`` one row per household with its village,
    KK number, welfare variables and true per-capita expenditure.
    """

    persons: pd.DataFrame
    households: pd.DataFrame
    villages: pd.DataFrame


def generate_population(config: SynthConfig, rng: np.random.Generator) -> Population:
    """Draw the population for ``config`` (see the module documentation)."""
    villages = _villages(config, rng)
    hh = _households(config, villages, rng)
    persons = _members(hh, config, rng)
    _names(persons, hh, rng, config.one_word_names, stream(config.seed, "one_word_names"))
    persons["nik"] = _nik(persons, hh, villages, rng)
    hh["kk_number"] = _kk(hh, config, rng)
    _welfare(hh, persons, rng)
    return Population(persons=persons, households=hh, villages=villages)


def _villages(config: SynthConfig, rng: np.random.Generator) -> pd.DataFrame:
    regions = load_regions()
    n = min(config.villages, len(regions))
    pick = np.sort(rng.choice(len(regions), size=n, replace=False))
    return regions.iloc[pick].reset_index(drop=True)


def _households(
    config: SynthConfig, villages: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    n = config.households
    v = rng.integers(0, len(villages), n)
    province_effect = {
        p: e
        for p, e in zip(
            sorted(villages["province_code"].unique()), rng.normal(0, 0.35, 64), strict=False
        )
    }
    prov = villages["province_code"].to_numpy()[v]
    z = np.array([province_effect[p] for p in prov]) + rng.normal(0, 1, n)
    size = np.clip(1 + rng.poisson(np.clip(2.6 - 0.35 * z, 0.5, None)), 1, 10)
    hh = pd.DataFrame(
        {
            "household_id": [f"H{i + 1:07d}" for i in range(n)],
            "village_index": v,
            "welfare_score": z,
            "size": size,
        }
    )
    for col in (*VILLAGE_COLUMNS, "culture"):
        hh[col] = villages[col].to_numpy()[v]
    hh["rt"] = rng.integers(1, 16, n)
    hh["rw"] = rng.integers(1, 8, n)
    hh["house_no"] = rng.integers(1, 200, n)
    return hh


def _members(hh: pd.DataFrame, config: SynthConfig, rng: np.random.Generator) -> pd.DataFrame:
    size = hh["size"].to_numpy()
    n_hh = len(hh)
    idx = np.repeat(np.arange(n_hh), size)
    pos = np.arange(len(idx)) - np.repeat(np.cumsum(size) - size, size)
    has_spouse = (rng.random(n_hh) < 0.82) & (size >= 2)
    has_parent = (rng.random(n_hh) < 0.12) & (size >= 3)
    rel = np.full(len(idx), 3, dtype=np.int8)
    rel[pos == 0] = 1
    rel[(pos == 1) & has_spouse[idx]] = 2
    last = pos == size[idx] - 1
    rel[last & has_parent[idx]] = 6
    other = (rel == 3) & (rng.random(len(idx)) < 0.12)
    rel[other] = rng.choice(
        np.array([4, 5, 7, 8], dtype=np.int8), other.sum(), p=[0.25, 0.4, 0.05, 0.3]
    )
    head_age = np.clip(rng.normal(46, 13, n_hh), 20, 88).astype(int)
    ha = head_age[idx]
    age = ha.copy()
    k = len(idx)
    age[rel == 2] = np.clip(ha[rel == 2] + rng.normal(-3, 4, (rel == 2).sum()), 17, 95)
    kids = rel == 3
    age[kids] = (rng.random(kids.sum()) * np.clip(ha[kids] - 17, 1, 35)).astype(int)
    age[rel == 6] = np.clip(ha[rel == 6] + rng.integers(20, 34, (rel == 6).sum()), 0, 102)
    age[rel == 5] = rng.integers(0, 12, (rel == 5).sum())
    age[rel == 4] = np.clip(ha[rel == 4] - rng.integers(18, 30, (rel == 4).sum()), 17, None)
    age[rel == 7] = rng.integers(17, 55, (rel == 7).sum())
    age[rel == 8] = rng.integers(5, 70, (rel == 8).sum())
    head_male = rng.random(n_hh) < 0.86
    male = rng.random(k) < 0.5
    male[rel == 1] = head_male[idx][rel == 1]
    male[rel == 2] = ~head_male[idx][rel == 2]
    male[rel == 6] = rng.random((rel == 6).sum()) < 0.4
    ref = np.datetime64(config.regsosek_date)
    birth = ref - (age * 365.25 + rng.integers(0, 365, k)).astype("timedelta64[D]")
    persons = pd.DataFrame(
        {
            "person_id": [f"P{i + 1:08d}" for i in range(k)],
            "household_id": hh["household_id"].to_numpy()[idx],
            "hh_index": idx,
            "member_no": pos + 1,
            "relationship": rel,
            "sex": np.where(male, "M", "F"),
            "birth_date": birth.astype("datetime64[ns]"),
            "age": age,
        }
    )
    return persons


def _pool(culture: str, sex: str) -> tuple[np.ndarray, np.ndarray]:
    names = load_given_names()
    sel = names[(names["culture"] == culture) & names["sex"].isin([sex, "U"])]
    if sel.empty:
        sel = names[(names["culture"] == "general") & names["sex"].isin([sex, "U"])]
    w = sel["weight"].to_numpy(dtype=float)
    return sel["name"].to_numpy(), w / w.sum()


def _draw(culture: str, sex: str, n: int, rng: np.random.Generator) -> np.ndarray:
    names, p = _pool(culture, sex)
    return rng.choice(names, size=n, p=p)


def _names(
    persons: pd.DataFrame,
    hh: pd.DataFrame,
    rng: np.random.Generator,
    one_word: float = 0.0,
    one_word_gen: np.random.Generator | None = None,
) -> None:
    """Given names by culture and sex, family names where the culture has them.

    ``one_word`` is an extra share of people known by their given name alone,
    drawn from ``one_word_gen`` so the other names stay as they were.
    """
    idx = persons["hh_index"].to_numpy()
    culture = hh["culture"].to_numpy()[idx]
    # a share of every village is of other origins (migration, mixed names)
    mixed = rng.random(len(persons)) < 0.15
    culture = np.where(mixed, rng.choice(["general", "muslim", "javanese"], len(persons)), culture)
    sex = persons["sex"].to_numpy()
    first = np.empty(len(persons), dtype=object)
    second = np.empty(len(persons), dtype=object)
    for c in np.unique(culture):
        for s in ("M", "F"):
            m = (culture == c) & (sex == s)
            if m.any():
                first[m] = _draw(c, s, m.sum(), rng)
                second[m] = _draw(c, s, m.sum(), rng)
    muslim = np.isin(culture, sorted(_MUSLIM_CULTURES)) & (rng.random(len(persons)) < 0.22)
    for s in ("M", "F"):
        m = muslim & (sex == s)
        first[m] = _draw("muslim", s, m.sum(), rng)
    words = rng.choice([1, 2, 3], len(persons), p=[0.35, 0.55, 0.10])
    words = np.where(np.isin(culture, ["javanese", "sundanese"]), words, np.maximum(words, 2))
    third = np.empty(len(persons), dtype=object)
    for s in ("M", "F"):
        m = sex == s
        third[m] = _draw("general", s, m.sum(), rng)
    family = _family_names(persons, hh, culture, rng)
    noble = _noble_titles(persons, hh, culture, rng)
    rel = persons["relationship"].to_numpy()
    # Balinese birth order follows the children's ages: eldest Wayan, then Made, ...
    order = (
        persons["birth_date"]
        .where(rel == 3)
        .groupby(persons["household_id"])
        .rank(method="first")
        .fillna(1)
        .to_numpy(dtype=int)
        - 1
    )
    alone = (
        one_word_gen.random(len(persons)) < one_word
        if one_word > 0 and one_word_gen is not None
        else np.zeros(len(persons), dtype=bool)
    )
    full = []
    for i in range(len(persons)):
        parts = [first[i]] if words[i] == 1 else [first[i], second[i]]
        if words[i] == 3:
            parts.append(third[i])
        if parts[0] == parts[-1] and len(parts) > 1:
            parts = parts[:1]
        c = culture[i]
        if c == "balinese":
            bo = _BIRTH_ORDER[min(order[i], 3) if rel[i] == 3 else int(rng.integers(0, 4))]
            parts = ["I" if sex[i] == "M" else "NI", bo[int(rng.integers(0, len(bo)))], *parts[:2]]
        if family[i]:
            parts = [*parts[:2], family[i]]
        if noble[i]:
            parts = [noble[i], *parts]
        if alone[i]:
            # the personal name: not the Arabic first name a Muslim name may open with
            parts = [second[i] if muslim[i] else first[i]]
        full.append(" ".join(parts))
    persons["full_name"] = full
    persons["culture"] = culture
    _parents(persons, culture, rng)


def _parents(persons: pd.DataFrame, culture: np.ndarray, rng: np.random.Generator) -> None:
    """True mother's and father's names of each person (fixed across registers).

    A child's mother is the woman heading or married into the household and the
    father its male head; for everyone else they are drawn from the culture.
    """
    rel = persons["relationship"].to_numpy()
    sex = persons["sex"].to_numpy()
    hh = persons["household_id"]
    woman = persons["full_name"].where((rel <= 2) & (sex == "F"))
    man = persons["full_name"].where((rel == 1) & (sex == "M"))
    mother = hh.map(woman.groupby(hh).first()).to_numpy(dtype=object)
    father = hh.map(man.groupby(hh).first()).to_numpy(dtype=object)
    child = rel == 3
    drawn_mother = np.empty(len(persons), dtype=object)
    drawn_father = np.empty(len(persons), dtype=object)
    for c in np.unique(culture):
        m = culture == c
        drawn_mother[m] = _draw(c, "F", m.sum(), rng)
        drawn_father[m] = _draw(c, "M", m.sum(), rng)
    persons["mother_name"] = np.where(child & pd.notna(mother), mother, drawn_mother)
    persons["father_name"] = np.where(child & pd.notna(father), father, drawn_father)


def _family_names(
    persons: pd.DataFrame, hh: pd.DataFrame, culture: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    fam = load_family_names()
    out = np.full(len(persons), "", dtype=object)
    hh_culture = hh["culture"].to_numpy()
    idx = persons["hh_index"].to_numpy()
    for c in _FAMILY_NAME_CULTURES:
        pool = fam[fam["culture"] == c]
        if pool.empty:
            continue
        w = pool["weight"].to_numpy(float)
        household_name = rng.choice(pool["name"].to_numpy(), len(hh), p=w / w.sum())
        own_name = rng.choice(pool["name"].to_numpy(), len(persons), p=w / w.sum())
        m = (hh_culture[idx] == c) & (culture == c)
        # the family name comes from the father; a wife keeps her own
        rel = persons["relationship"].to_numpy()
        out[m] = np.where(rel[m] == 2, own_name[m], household_name[idx][m])
    return out


def _noble_titles(
    persons: pd.DataFrame, hh: pd.DataFrame, culture: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    out = np.full(len(persons), "", dtype=object)
    idx = persons["hh_index"].to_numpy()
    noble_hh = rng.random(len(hh))
    sex = persons["sex"].to_numpy()
    rel = persons["relationship"].to_numpy()
    for c, (male, female, share) in _NOBLE.items():
        m = (culture == c) & (noble_hh[idx] < share) & (rel != 2)
        out[m] = np.where(sex[m] == "M", male, female)
    return out


def _nik(
    persons: pd.DataFrame, hh: pd.DataFrame, villages: pd.DataFrame, rng: np.random.Generator
) -> np.ndarray:
    """NIK = district of first issue + DDMMYY (day + 40 for women) + serial, unique."""
    own = hh["district_code"].to_numpy()[persons["hh_index"].to_numpy()]
    # most were first registered where they live now; some elsewhere (a NIK never changes)
    elsewhere = rng.random(len(persons)) < 0.1
    region = np.where(
        elsewhere, rng.choice(villages["district_code"].to_numpy(), len(persons)), own
    )
    birth = pd.DatetimeIndex(persons["birth_date"])
    day = birth.day.to_numpy() + np.where(persons["sex"].to_numpy() == "F", 40, 0)
    # pandas-stubs allow only strings in the list; pandas takes Series
    dmy: list[Any] = [
        pd.Series(day).astype(str).str.zfill(2),
        pd.Series(birth.month).astype(str).str.zfill(2),
        pd.Series(birth.year % 100).astype(str).str.zfill(2),
    ]
    stem = pd.Series(region, dtype=object).str.cat(dmy)
    return with_serial(stem, rng)


def with_serial(stem: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Append a 4-digit serial unique within each stem (random start, then counting)."""
    order = rng.permutation(len(stem))
    shuffled = stem.iloc[order].reset_index(drop=True)
    serial = shuffled.groupby(shuffled).cumcount().to_numpy() + 1
    out = np.empty(len(stem), dtype=object)
    out[order] = (shuffled + pd.Series(serial).astype(str).str.zfill(4)).to_numpy()
    return out


def registration_stems(district: pd.Series, dates: np.ndarray) -> pd.Series:
    """The first 12 digits of a KK: district + registration date DDMMYY."""
    reg = pd.DatetimeIndex(dates)
    dmy: list[Any] = [  # pandas-stubs allow only strings in the list; pandas takes Series
        pd.Series(reg.day).astype(str).str.zfill(2),
        pd.Series(reg.month).astype(str).str.zfill(2),
        pd.Series(reg.year % 100).astype(str).str.zfill(2),
    ]
    return district.reset_index(drop=True).astype(str).str.cat(dmy)


def _kk(hh: pd.DataFrame, config: SynthConfig, rng: np.random.Generator) -> np.ndarray:
    """KK = district + registration date DDMMYY + serial, unique."""
    start = np.datetime64("2005-01-01")
    end = np.datetime64(config.dtks_date)
    days = rng.integers(0, int((end - start).astype(int)), len(hh))
    stem = registration_stems(hh["district_code"], start + days.astype("timedelta64[D]"))
    return with_serial(stem, rng)


def _welfare(hh: pd.DataFrame, persons: pd.DataFrame, rng: np.random.Generator) -> None:
    """Regsosek housing/asset variables and a latent per-capita expenditure driven by them."""
    n = len(hh)
    z = hh["welfare_score"].to_numpy()

    def ordinal(options: np.ndarray, strength: float = 1.0) -> np.ndarray:
        # richer households (high z) get the first, better options
        score = -strength * z + rng.normal(0, 1, n)
        cuts = np.quantile(score, np.linspace(0, 1, len(options) + 1)[1:-1])
        return options[np.searchsorted(cuts, score)]

    size = hh["size"].to_numpy()
    hh["floor_area_m2"] = np.round(
        np.clip(np.exp(3.6 + 0.35 * z + rng.normal(0, 0.3, n)), 6, 400)
    ).astype(int)
    for col, options in (
        ("floor_material", FLOOR),
        ("wall_material", WALL),
        ("roof_material", ROOF),
        ("drinking_water", WATER),
        ("lighting", LIGHT),
        ("cooking_fuel", FUEL),
        ("toilet", TOILET),
    ):
        hh[col] = ordinal(options)
    for i, asset in enumerate(ASSETS):
        base = -1.2 + 0.25 * (i % 3) if asset not in ("mobil", "ac", "perahu") else -2.2
        hh[asset] = (base + 1.1 * z + rng.normal(0, 1, n) > 0).astype(int)
    hh["land_area_m2"] = np.where(
        rng.random(n) < 0.45, np.round(np.exp(rng.normal(6.5, 1.2, n))).astype(int), 0
    )
    hh["livestock"] = rng.poisson(np.clip(1.0 - 0.3 * z, 0.1, None))
    rel = persons["relationship"].to_numpy()
    pz = z[persons["hh_index"].to_numpy()]
    age = persons["age"].to_numpy()
    edu = np.clip(np.round(1.6 + 0.8 * pz + rng.normal(0, 0.9, len(persons))), 0, 4).astype(int)
    edu = np.where(age < 7, 0, np.minimum(edu, np.clip((age - 6) // 3, 0, 4)))
    persons["education"] = EDUCATION[edu]
    working = (age >= 15) & (age < 70) & (rng.random(len(persons)) < 0.7)
    job = np.clip(np.round(2 + 1.1 * pz + rng.normal(0, 1.2, len(persons))), 1, 5).astype(int)
    persons["work"] = np.where(working, WORK[job], WORK[0])
    persons["disability"] = (
        rng.random(len(persons)) < 0.02 + 0.002 * np.clip(age - 50, 0, None)
    ).astype(int)
    head_edu = pd.Series(edu[rel == 1], index=persons["hh_index"].to_numpy()[rel == 1])
    hh["head_education"] = EDUCATION[head_edu.reindex(range(n)).fillna(0).astype(int)]
    province_effect = pd.Series(rng.normal(0, 0.15, 100)).to_numpy()
    prov = hh["province_code"].astype(int).to_numpy() % 100
    log_pc = 13.2 + 0.42 * z - 0.07 * (size - 4) + province_effect[prov] + rng.normal(0, 0.25, n)
    hh["per_capita_expenditure"] = np.round(np.exp(log_pc), -2).astype(int)


__all__ = [
    "ASSETS",
    "EDUCATION",
    "FLOOR",
    "FUEL",
    "LIGHT",
    "Population",
    "ROOF",
    "TOILET",
    "VILLAGE_COLUMNS",
    "WALL",
    "WATER",
    "WORK",
    "generate_population",
    "registration_stems",
    "with_serial",
]
