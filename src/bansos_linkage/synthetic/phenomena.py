"""Phenomena the first scenarios underplay: borrowed NIKs, dates a few days off, correlated
NIK/date damage, duplicates spelled otherwise, older village codes.

Each draws from its own generator (:func:`stream`), seeded by the config's seed
and the phenomenon's name, never from the main one: with every rate at 0 the
main generator sees exactly the draws it saw before these existed, so the
``clean``/``default``/``hard`` files stay byte-identical, and turning one
phenomenon up leaves the records another one hits unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from bansos_linkage.synthetic import corruption

# how much likelier a member who died or left since is to carry a relative's NIK:
# village operators keep them on the list and type the head's NIK on their row
_GONE_WEIGHT = 4.0
_HEAD_DONOR = 0.8  # a non-head borrowing a relative's NIK takes the head's this often
_VARIATIONS = (
    corruption.typo,
    corruption.abbreviate,
    corruption.old_spelling,
    corruption.drop_word,
    corruption.swap_order,
)


def stream(seed: int, *labels: str) -> np.random.Generator:
    """An independent generator for one phenomenon (labels hashed stably, not with ``hash``)."""
    return np.random.default_rng([seed, *(zlib.crc32(label.encode()) for label in labels)])


def other_in_group(keys: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """Position of a random other row with the same key; -1 where a row is alone in its group."""
    n = len(keys)
    if not n:
        return np.zeros(0, dtype=int)
    codes = pd.factorize(keys)[0]
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    start = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    size = np.diff(np.r_[start, n])
    group = np.repeat(np.arange(len(size)), size)
    first, g = start[group], size[group]
    # an offset of 1..g-1 around the group never lands on the row itself
    offset = gen.integers(1, np.maximum(g, 2))
    other = first + (np.arange(n) - first + offset) % g
    out = np.full(n, -1)
    out[order] = np.where(g > 1, order[other], -1)
    return out


def _group_head(households: np.ndarray, relationship: np.ndarray) -> np.ndarray:
    """Position of the first head row of each row's household (-1 where none)."""
    n = len(households)
    pos = pd.Series(np.where(relationship == 1, np.arange(n), n))
    head = pos.groupby(pd.factorize(households)[0]).transform("min").to_numpy()
    return np.where(head < n, head, -1)


def borrowed_niks(
    view: pd.DataFrame, rates, rel_gen: np.random.Generator, shared_gen: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """True NIKs, with some rows carrying a relative's NIK and some an unrelated villager's."""
    nik = view["nik"].to_numpy(dtype=object).copy()
    person = view["person_id"].to_numpy()
    household = view["snapshot_household"].to_numpy()
    n = len(view)
    relative = np.zeros(n, dtype=bool)
    shared = np.zeros(n, dtype=bool)
    if rates.nik_relative > 0 and n:
        relationship = view["snapshot_relationship"].to_numpy()
        head = _group_head(household, relationship)
        other = other_in_group(household, rel_gen)
        use_head = (relationship != 1) & (head >= 0) & (rel_gen.random(n) < _HEAD_DONOR)
        donor = np.where(use_head, head, other)
        gone = ~view["present_now"].to_numpy(dtype=bool)
        weight = np.where(gone, _GONE_WEIGHT, 1.0)
        chance = rates.nik_relative * weight / weight.mean()  # the mean chance stays the rate
        ok = donor >= 0
        ok[ok] = person[donor[ok]] != person[ok]  # a duplicate of oneself is no relative
        relative = (rel_gen.random(n) < chance) & ok
        nik[relative] = view["nik"].to_numpy(dtype=object)[donor[relative]]
    if rates.nik_shared > 0 and n:
        donor = other_in_group(view["village_code"].to_numpy(), shared_gen)
        ok = donor >= 0
        ok[ok] = household[donor[ok]] != household[ok]  # unrelated: another household
        shared = (shared_gen.random(n) < rates.nik_shared) & ok & ~relative
        nik[shared] = view["nik"].to_numpy(dtype=object)[donor[shared]]
    return nik, {"nik_relative": relative, "nik_shared": shared}


def days_off(
    dates: np.ndarray, untouched: np.ndarray, rate: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Shift some exact dates by 1-10 days either way (a digit misread, the wrong form copied)."""
    n = len(dates)
    if rate <= 0 or not n:
        return dates, np.zeros(n, dtype=bool)
    hit = (gen.random(n) < rate) & untouched & ~pd.isna(dates)
    shift = gen.integers(1, 11, n) * gen.choice(np.array([-1, 1]), n)
    out = dates.copy()
    out[hit] = dates[hit] + shift[hit].astype("timedelta64[D]")
    return out, hit


def damaged_nik_and_date(
    true_dates: np.ndarray, rate: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose NIK is missing *and* whose date is missing or day/month swapped.

    The two go together in practice: a record typed without the KTP at hand has
    neither the NIK nor a reliable date. Returns (mask, damaged dates).
    """
    n = len(true_dates)
    if rate <= 0 or not n:
        return np.zeros(n, dtype=bool), true_dates
    hit = gen.random(n) < rate
    day_d = true_dates.astype("datetime64[D]")
    month = day_d.astype("datetime64[M]")
    days = (day_d - month).astype(int) + 1
    months = month.astype(int) % 12 + 1
    years = day_d.astype("datetime64[Y]").astype(int) + 1970
    swappable = (days <= 12) & (days != months) & (gen.random(n) < 0.5)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    for i in np.flatnonzero(hit & swappable):
        out[i] = np.datetime64(f"{years[i]:04d}-{days[i]:02d}-{months[i]:02d}")
    return hit, out


def vary_duplicates(
    names: np.ndarray, first_record: np.ndarray, rate: float, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Give second records of duplicated persons at least one name variation.

    A person registered twice was registered by two people or at two times, so
    the second spelling differs from the first: tries typo, abbreviation, old
    spelling, dropped word and swapped order in a random order until the name
    differs from both its own and the first record's spelling.
    """
    out = names.copy()
    mask = np.zeros(len(names), dtype=bool)
    if rate <= 0:
        return out, mask
    second = np.flatnonzero((first_record >= 0) & (gen.random(len(names)) < rate))
    for i in second:
        if isinstance(out[i], str) and out[i]:
            out[i], mask[i] = _vary(out[i], names[first_record[i]], gen)
    return out, mask


def _vary(name: str, first: str, gen: np.random.Generator) -> tuple[str, bool]:
    # a short name may only vary into the first spelling on one try: try thrice
    for k in np.concatenate([gen.permutation(len(_VARIATIONS)) for _ in range(3)]):
        varied = _VARIATIONS[k](name, gen)
        if varied not in (name, first):
            return varied, True
    return name, False


def old_village_codes(
    villages: pd.DataFrame, all_codes: np.ndarray, rate: float, gen: np.random.Generator
) -> dict[str, str]:
    """Older Kemendagri codes of a share of villages: {current code: old code}.

    A village renumbered (a split, a desa becoming a kelurahan, a list
    correction) keeps its name and district, while older registers keep its
    old last four digits; codes of real villages are never reused.
    """
    if rate <= 0 or villages.empty:
        return {}
    taken = set(all_codes)
    old: dict[str, str] = {}
    codes = villages["village_code"].to_numpy()
    for code in codes[gen.random(len(codes)) < rate]:
        while True:
            # the first digit (1 kelurahan, 2 desa) is kept, the serial is another
            candidate = f"{code[:7]}{int(gen.integers(100, 1000)):03d}"
            if candidate not in taken:
                break
        taken.add(candidate)
        old[code] = candidate
    return old


__all__ = [
    "borrowed_niks",
    "damaged_nik_and_date",
    "days_off",
    "old_village_codes",
    "other_in_group",
    "stream",
    "vary_duplicates",
]
