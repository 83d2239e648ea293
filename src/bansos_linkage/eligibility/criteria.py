"""BPS's 14 criteria of a poor household: a transparent second scorer next to the PMT.

A household is poor when at least ``threshold`` (9) of the criteria hold
(``../shared/domain/INDONESIA.md``, after BPS). Each criterion is read from the
Regsosek variables where the register has them; four of the fourteen (meat or milk
each week, new clothes each year, meals a day, paying for a puskesmas visit) are
not in Regsosek and are counted only when the caller supplies those columns.
A criterion that cannot be assessed for a household is NA: it is not counted as
met, and ``assessable`` says how many were.

The answer words are matched case-insensitively on the register's own vocabulary
(Indonesian, as Regsosek records it); :data:`CRITERIA` lists them and can be
changed for another questionnaire.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.members import education_level
from bansos_linkage.errors import UsageError


@dataclass(frozen=True)
class Criterion:
    """One criterion: a column whose value (lower-cased) contains one of ``words``,
    or for numbers, is at most ``at_most``."""

    name: str
    description: str
    column: str
    words: tuple[str, ...] = ()
    at_most: float | None = None


#: The criteria read from single columns. Floor area per person, the head's work and
#: land, the head's schooling and saleable assets are computed in :func:`bps_criteria`.
CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "cheap_floor",
        "floor of earth, bamboo or cheap wood",
        "floor_material",
        ("tanah", "bambu", "kayu"),
    ),
    Criterion(
        "cheap_wall",
        "wall of bamboo, rumbia, cheap wood or unplastered brick",
        "wall_material",
        ("bambu", "rumbia", "kayu", "tanpa plester"),
    ),
    Criterion(
        "no_own_toilet",
        "no toilet or one shared with other households",
        "toilet",
        ("bersama", "umum", "tidak ada"),
    ),
    Criterion(
        "no_electricity", "no electricity from PLN", "lighting", ("non-pln", "bukan listrik")
    ),
    Criterion(
        "unprotected_water",
        "drinking water from an unprotected well or spring, river or rain",
        "drinking_water",
        ("tak terlindung", "tidak terlindung", "sungai", "hujan"),
    ),
    Criterion(
        "dirty_fuel",
        "cooks with firewood, charcoal or kerosene",
        "cooking_fuel",
        ("kayu bakar", "arang", "minyak tanah"),
    ),
    Criterion(
        "meat_rarely", "meat, milk or chicken once a week at most", "meat_per_week", at_most=1
    ),
    Criterion(
        "new_clothes_rarely",
        "one set of new clothes a year at most",
        "new_clothes_per_year",
        at_most=1,
    ),
    Criterion("few_meals", "one or two meals a day", "meals_per_day", at_most=2),
    Criterion(
        "no_puskesmas",
        "cannot pay for a puskesmas visit",
        "can_pay_puskesmas",
        ("0", "tidak", "no", "false"),
    ),
)
#: All the criteria: those of :data:`CRITERIA` and the four :func:`bps_criteria` computes.
N_CRITERIA = len(CRITERIA) + 4
#: Assets worth Rp500,000 or more that can be sold (Regsosek's asset questions).
SALEABLE_ASSETS = (
    "emas_10g",
    "sepeda_motor",
    "mobil",
    "perahu",
    "kulkas",
    "tv_30_inci",
    "ac",
    "smartphone",
)


def bps_criteria(
    households: pd.DataFrame,
    heads: pd.DataFrame | None = None,
    threshold: int = 9,
    floor_area_per_person: float = 8.0,
    farm_land_m2: float = 500.0,
) -> pd.DataFrame:
    """Which of the 14 criteria each household meets, the count, and whether it is poor.

    Parameters
    ----------
    households
        One row per household with the Regsosek variables and ``size``.
    heads
        Optional, same index: the head's ``head_work`` and ``head_education`` (as
        :func:`~bansos_linkage.eligibility.members.composition` gives them).
    threshold
        Criteria needed to count as poor (BPS: 9), from 1 to :data:`N_CRITERIA`;
        another number raises :class:`~bansos_linkage.errors.UsageError`.
    floor_area_per_person, farm_land_m2
        The cut-offs (sources differ on the land: 500 m2 or 0.5 ha).

    Returns
    -------
    pandas.DataFrame
        One boolean column per criterion (NA: not assessable), ``criteria_met``,
        ``assessable`` and ``poor``.
    """
    n_criteria = len(CRITERIA) + 4  # and the four computed below
    if not 1 <= threshold <= n_criteria:
        raise UsageError(
            f"expected a number of criteria from 1 to {n_criteria}, not {threshold}",
            option="threshold",
        )
    out = pd.DataFrame(index=households.index)
    for c in CRITERIA:
        out[c.name] = _criterion(households, c)
    if {"floor_area_m2", "size"} <= set(households.columns):
        per_person = pd.to_numeric(households["floor_area_m2"], errors="coerce") / pd.to_numeric(
            households["size"], errors="coerce"
        )
        out["small_floor"] = _known(per_person < floor_area_per_person, per_person.notna())
    else:
        out["small_floor"] = pd.array([pd.NA] * len(out), dtype="boolean")
    out["poor_work"] = _poor_work(households, heads, farm_land_m2)
    out["head_schooling_sd"] = _head_schooling(heads, out.index)
    out["no_saleable_asset"] = _no_assets(households)
    flags = out.astype("boolean")
    out["criteria_met"] = flags.fillna(False).sum(axis=1).astype(int)
    out["assessable"] = flags.notna().sum(axis=1).astype(int)
    out["poor"] = out["criteria_met"] >= threshold
    return out


def _criterion(households: pd.DataFrame, c: Criterion) -> pd.arrays.BooleanArray:
    if c.column not in households:
        return pd.array([pd.NA] * len(households), dtype="boolean")
    values = households[c.column]
    if c.at_most is not None:
        number = pd.to_numeric(values, errors="coerce")
        return _known(number <= c.at_most, number.notna())
    text = values.astype("string").str.strip().str.lower()
    hit = np.zeros(len(text), dtype=bool)
    for word in c.words:
        hit |= text.str.contains(word, regex=False).fillna(False).to_numpy(dtype=bool)
    return _known(pd.Series(hit, index=values.index), text.notna())


def _known(condition: pd.Series, known: pd.Series) -> pd.arrays.BooleanArray:
    result = pd.array(condition.fillna(False).to_numpy(dtype=bool), dtype="boolean")
    result[~known.to_numpy(dtype=bool)] = pd.NA
    return result


def _poor_work(households, heads, farm_land_m2: float) -> pd.arrays.BooleanArray:
    """The head farms at most ``farm_land_m2`` of land or is a labourer."""
    if heads is None or "head_work" not in heads:
        return pd.array([pd.NA] * len(households), dtype="boolean")
    work = heads["head_work"].reindex(households.index).astype("string").str.lower()
    farmer = work.str.contains("petani", regex=False).fillna(False)
    small = True  # without land areas, any farming head counts
    if "land_area_m2" in households:
        land = pd.to_numeric(households["land_area_m2"], errors="coerce")
        small = land.fillna(0) <= farm_land_m2
    labourer = work.str.contains("buruh", regex=False).fillna(False)
    return _known((farmer & small) | labourer, work.notna())


def _head_schooling(heads, index: pd.Index) -> pd.arrays.BooleanArray:
    if heads is None or "head_education" not in heads:
        return pd.array([pd.NA] * len(index), dtype="boolean")
    level = education_level(heads["head_education"].reindex(index).astype("string"))
    return _known(level.isin(["none", "SD"]), level.notna())


def _no_assets(households: pd.DataFrame) -> pd.arrays.BooleanArray:
    present = [c for c in SALEABLE_ASSETS if c in households]
    if not present:
        return pd.array([pd.NA] * len(households), dtype="boolean")
    owned = households[present].apply(pd.to_numeric, errors="coerce")
    return _known(owned.fillna(0).sum(axis=1) == 0, owned.notna().any(axis=1))


__all__ = [
    "CRITERIA",
    "Criterion",
    "N_CRITERIA",
    "SALEABLE_ASSETS",
    "bps_criteria",
]
