"""Comparisons: each an ordered list of agreement levels, evaluated on candidate pairs.

A comparison looks at one or a few fields of a pair and returns, per pair, the
index of the first level that holds (``-1`` when a value is missing: missing
at random, it drops out of the likelihood instead of counting as
disagreement) and a continuous similarity for the ML matcher. Level numbers
count up from ``0`` = "else" to the strongest agreement, as in Splink, and
``levels`` lists the labels from strongest to weakest.

All work is vectorised over the pairs of one chunk (``left_rows``,
``right_rows`` are positions), so a chunk can be compared anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bansos_linkage.similarity import jaro_winkler

NULL_LEVEL = -1


@dataclass(frozen=True)
class ComparisonResult:
    """Levels (``int8``, -1 = missing) and a similarity in 0..1 (NaN = missing) per pair."""

    levels: np.ndarray
    similarity: np.ndarray


def _values(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    if column not in frame:
        return np.full(len(rows), None, dtype=object)
    values = frame[column].to_numpy(dtype=object)[rows]
    return np.where(pd.isna(values), None, values)


def _assign(conditions: Sequence[np.ndarray], missing: np.ndarray) -> np.ndarray:
    """First true condition wins; conditions are listed strongest first."""
    n_levels = len(conditions) + 1
    out = np.zeros(len(missing), dtype=np.int8)
    decided = np.zeros(len(missing), dtype=bool)
    for k, cond in enumerate(conditions):
        hit = cond & ~decided
        out[hit] = n_levels - 1 - k
        decided |= hit
    out[missing] = NULL_LEVEL
    return out


@dataclass(frozen=True)
class ExactComparison:
    """``exact`` or ``else`` on one column (sex, KK number, relationship, RT ...)."""

    column: str
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or self.column

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        missing = pd.isna(a) | pd.isna(b)
        equal = ~missing & (a.astype(str) == b.astype(str))
        return ComparisonResult(_assign([equal], missing), np.where(missing, np.nan, equal * 1.0))


@dataclass(frozen=True)
class NameComparison:
    """Indonesian names, on standardised ``name`` columns (titles, patronyms and Balinese
    birth-order words are already in their own columns, so they cannot agree here).

    Levels: exact canonical name; same words in any order or joined/split
    (SITI AMINAH = AMINAH SITI = SITIAMINAH); Jaro-Winkler >= ``high``; same
    phonetic key; initials compatible with full words (M. YUSUF / MUHAMMAD YUSUF);
    Jaro-Winkler >= ``low``; else.
    """

    column: str = "full_name"
    phonetic: str | None = "name_phonetic"
    high: float = 0.94
    low: float = 0.85
    name: str = "name"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return (
            "exact",
            "token_set",
            f"jw>={self.high}",
            "phonetic",
            "initials",
            f"jw>={self.low}",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        missing = pd.isna(a) | pd.isna(b)
        sa, sb = np.where(missing, "", a).astype(str), np.where(missing, "", b).astype(str)
        jw = jaro_winkler(np.where(missing, None, sa), np.where(missing, None, sb))
        jw_ok = np.nan_to_num(jw)
        no_key = np.full(len(left_rows), None, dtype=object)
        pa = _values(left, self.phonetic, left_rows) if self.phonetic else no_key
        pb = _values(right, self.phonetic, right_rows) if self.phonetic else no_key
        conditions = [
            sa == sb,
            _same_tokens(sa, sb),
            jw_ok >= self.high,
            pd.notna(pa) & pd.notna(pb) & (pa == pb),
            _initials_compatible(sa, sb),
            jw_ok >= self.low,
        ]
        return ComparisonResult(_assign([c & ~missing for c in conditions], missing), jw)


def _same_tokens(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Same words regardless of order, or the same letters with spaces removed."""
    return np.array(
        [
            x != ""
            and (sorted(x.split()) == sorted(y.split()) or x.replace(" ", "") == y.replace(" ", ""))
            for x, y in zip(a, b, strict=True)
        ],
        dtype=bool,
    )


def _initials_compatible(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every word of the shorter name matches a word of the other, initials allowed,
    with at least one full word in common (M YUSUF ~ MUHAMMAD YUSUF)."""

    def ok(x: str, y: str) -> bool:
        wx, wy = x.split(), y.split()
        if not wx or not wy or len(wx) != len(wy):
            return False
        full = sum(p == q for p, q in zip(wx, wy, strict=True) if len(p) > 1 and len(q) > 1)
        return full >= 1 and all(
            p == q or (min(len(p), len(q)) == 1 and p[0] == q[0])
            for p, q in zip(wx, wy, strict=True)
        )

    return np.array([ok(x, y) for x, y in zip(a, b, strict=True)], dtype=bool)


@dataclass(frozen=True)
class NikComparison:
    """NIK: exact; one digit wrong; two adjacent digits swapped; the NIK of one record
    decodes to the other record's birth date and sex; else."""

    column: str = "nik"
    name: str = "nik"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", "one_digit", "transposed", "decoded_agrees", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        both = pd.notna(a) & pd.notna(b)
        decoded = _decoded_agrees(left, right, left_rows, right_rows)
        missing = ~both & ~decoded
        da = _digits(np.where(both, a, "0" * 16))
        db = _digits(np.where(both, b, "0" * 16))
        diff = da != db
        n_diff = diff.sum(axis=1)
        swapped = (n_diff == 2) & _adjacent_swap(da, db, diff)
        conditions = [both & (n_diff == 0), both & (n_diff == 1), both & swapped, decoded]
        similarity = np.where(both, 1 - n_diff / 16, np.nan)
        return ComparisonResult(_assign(conditions, missing), similarity)


def _digits(values: np.ndarray) -> np.ndarray:
    text = np.array([str(v).rjust(16, "0")[:16] for v in values], dtype="U16")
    return text.view("U1").reshape(len(values), 16) if len(values) else np.zeros((0, 16), "U1")


def _adjacent_swap(da: np.ndarray, db: np.ndarray, diff: np.ndarray) -> np.ndarray:
    first = np.argmax(diff, axis=1)
    rows = np.arange(len(da))
    nxt = np.minimum(first + 1, 15)
    return diff[rows, nxt] & (da[rows, first] == db[rows, nxt]) & (da[rows, nxt] == db[rows, first])


def _decoded_agrees(
    left: pd.DataFrame, right: pd.DataFrame, li: np.ndarray, ri: np.ndarray
) -> np.ndarray:
    """The NIK on either side decodes to the other side's recorded birth date and sex."""
    out = np.zeros(len(li), dtype=bool)
    for (x, xr), (y, yr) in (((left, li), (right, ri)), ((right, ri), (left, li))):
        nik_date = _values(x, "nik_birth_date", xr)
        nik_sex = _values(x, "nik_sex", xr)
        date = _values(y, "birth_date", yr)
        sex = _values(y, "sex", yr)
        ok = pd.notna(nik_date) & pd.notna(date) & pd.notna(nik_sex) & pd.notna(sex)
        out |= ok & (nik_date == date) & (nik_sex == sex)
    return out


@dataclass(frozen=True)
class DateComparison:
    """Birth dates: exact; day and month swapped; same year and month; within
    ``within_days``; same year; one year off; else. A date known only to the
    year (``precision`` column = "year") can at best agree on the year."""

    column: str = "birth_date"
    precision: str = "birth_date_precision"
    within_days: int = 45
    name: str = "birth_date"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return (
            "exact",
            "day_month_swapped",
            "same_month",
            f"within_{self.within_days}d",
            "same_year",
            "one_year_off",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a = pd.to_datetime(pd.Series(_values(left, self.column, left_rows)))
        b = pd.to_datetime(pd.Series(_values(right, self.column, right_rows)))
        missing = (a.isna() | b.isna()).to_numpy()
        pa = _values(left, self.precision, left_rows)
        pb = _values(right, self.precision, right_rows)
        exact_known = ~((pa == "year") | (pb == "year") | (pa == "month") | (pb == "month"))
        ya, yb = a.dt.year.to_numpy(), b.dt.year.to_numpy()
        ma, mb = a.dt.month.to_numpy(), b.dt.month.to_numpy()
        da, db = a.dt.day.to_numpy(), b.dt.day.to_numpy()
        days = np.abs((a - b).dt.days.to_numpy(dtype=float))
        same_year = ya == yb
        conditions = [
            exact_known & (days == 0),
            exact_known & same_year & (da == mb) & (ma == db),
            exact_known & same_year & (ma == mb),
            exact_known & (days <= self.within_days),
            same_year,
            np.abs(ya - yb) == 1,
        ]
        conditions = [np.asarray(c, dtype=bool) & ~missing for c in conditions]
        similarity = np.where(missing, np.nan, np.exp(-np.nan_to_num(days) / 365.0))
        return ComparisonResult(_assign(conditions, missing), similarity)


@dataclass(frozen=True)
class RegionComparison:
    """Same village, district, regency or province. Codes below the province are only
    compared when both records use the same coding scheme (BPS and Kemendagri differ)."""

    scheme: str = "region_scheme"
    name: str = "region"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return ("village", "district", "regency", "province", "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        sa, sb = _values(left, self.scheme, left_rows), _values(right, self.scheme, right_rows)
        same_scheme = pd.notna(sa) & pd.notna(sb) & (sa == sb)
        conditions = []
        for col in ("village_code", "district_code", "regency_code", "province_code"):
            a, b = _values(left, col, left_rows), _values(right, col, right_rows)
            equal = pd.notna(a) & pd.notna(b) & (a == b)
            conditions.append(equal if col == "province_code" else equal & same_scheme)
        pa = _values(left, "province_code", left_rows)
        pb = _values(right, "province_code", right_rows)
        missing = pd.isna(pa) | pd.isna(pb)
        levels = _assign([c & ~missing for c in conditions], missing)
        return ComparisonResult(levels, np.where(missing, np.nan, levels / 4.0))


Comparison = ExactComparison | NameComparison | NikComparison | DateComparison | RegionComparison

#: Comparisons for DTKS <-> Regsosek person linkage on standardised records.
DEFAULT_COMPARISONS: tuple[Comparison, ...] = (
    NameComparison(),
    NikComparison(),
    DateComparison(),
    ExactComparison("sex"),
    ExactComparison("kk_number"),
    RegionComparison(),
    NameComparison(column="mother_name", phonetic=None, name="mother_name"),
)


def compare(
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_rows: np.ndarray,
    right_rows: np.ndarray,
    comparisons: Sequence[Comparison] = DEFAULT_COMPARISONS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Agreement levels (int8, -1 missing) and similarities for one chunk of pairs.

    Returns two DataFrames with one column per comparison (its label).

    Examples
    --------
    >>> left = pd.DataFrame({"sex": ["M", "F", None]})
    >>> right = pd.DataFrame({"sex": ["M", "M"]})
    >>> levels, _ = compare(left, right, np.array([0, 1, 2]), np.array([0, 0, 1]),
    ...                     [ExactComparison("sex")])
    >>> levels["sex"].tolist()
    [1, 0, -1]
    """
    levels, sims = {}, {}
    for comp in comparisons:
        result = comp.compare(left, right, np.asarray(left_rows), np.asarray(right_rows))
        levels[comp.label] = result.levels
        sims[comp.label] = result.similarity
    return pd.DataFrame(levels), pd.DataFrame(sims)
