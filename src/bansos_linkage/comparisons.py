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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bansos_linkage.similarity import distinct_pairs, distinct_scores, jaro_winkler

NULL_LEVEL = -1


@dataclass(frozen=True)
class ComparisonResult:
    """Levels (``int8``, -1 = missing) and a similarity in 0..1 (NaN = missing) per pair."""

    levels: np.ndarray
    similarity: np.ndarray


def _values(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    if column not in frame:
        return np.full(len(rows), None, dtype=object)
    col = frame[column]
    if col.dtype == object:  # already prepared (see prepare_columns): no conversion per chunk
        return col.to_numpy()[rows]
    values = col.to_numpy(dtype=object)[rows]
    return np.where(pd.isna(values), None, values)


def prepare_columns(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` with ``columns`` as plain object arrays (None for missing), dates left
    as datetime64, so that comparing many chunks does not convert them every time."""
    out = frame.copy()
    for column in columns:
        if column in out and not pd.api.types.is_datetime64_any_dtype(out[column]):
            values = out[column].to_numpy(dtype=object)
            out[column] = pd.Series(
                np.where(pd.isna(values), None, values), index=out.index, dtype=object
            )
    return out


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


def _assign_lazily(tests: Sequence, missing: np.ndarray) -> np.ndarray:
    """As :func:`_assign`, but each test (positions -> bool) sees only undecided pairs."""
    n_levels = len(tests) + 1
    out = np.zeros(len(missing), dtype=np.int8)
    todo = np.flatnonzero(~missing)
    for k, test in enumerate(tests):
        if not len(todo):
            break
        hit = np.asarray(test(todo), dtype=bool)
        out[todo[hit]] = n_levels - 1 - k
        todo = todo[~hit]
    out[missing] = NULL_LEVEL
    return out


@dataclass(frozen=True)
class ExactComparison:
    """``exact`` or ``else`` on one column (sex, KK number, relationship, RT ...).

    With ``alternative`` (e.g. ``nik_sex``: the sex the NIK encodes) a value
    missing or different on one side may also agree through the other side's
    alternative, never alternative against alternative.
    """

    column: str
    name: str = ""
    alternative: str | None = None

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
        missing, equal = _missing_or_equal(a, b)
        if self.alternative is not None:
            alt_a = _values(left, self.alternative, left_rows)
            alt_b = _values(right, self.alternative, right_rows)
            for x, y in ((alt_a, b), (a, alt_b)):
                m2, e2 = _missing_or_equal(x, y)
                equal |= e2
                missing &= m2
        return ComparisonResult(_assign([equal], missing), np.where(missing, np.nan, equal * 1.0))


def _missing_or_equal(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    missing = pd.isna(a) | pd.isna(b)
    return missing, ~missing & (a.astype(str) == b.astype(str))


@dataclass(frozen=True)
class NameComparison:
    """Indonesian names, on standardised ``name`` columns (titles, patronyms and Balinese
    birth-order words are already in their own columns, so they cannot agree here).

    Levels: exact canonical name; same words in any order or joined/split
    (SITI AMINAH = AMINAH SITI = SITIAMINAH); Jaro-Winkler >= ``high``; same
    phonetic key; initials compatible with full words (M. YUSUF / MUHAMMAD YUSUF);
    every word of the shorter name in the longer (OTONG / ASEP OTONG: one register
    has the short name); a one-word name that begins or ends a longer word of the
    other (WAWAN / HERMAWAN, AGUS / AGUSTINUS, MINAH / SITI AMINAH: nicknames
    replace legal names in village data); Jaro-Winkler >= ``low``; else.
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
            "subset",
            "nickname",
            f"jw>={self.low}",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        missing = pd.isna(a) | pd.isna(b)
        levels = np.full(len(a), NULL_LEVEL, dtype=np.int8)
        similarity = np.full(len(a), np.nan)
        present = np.flatnonzero(~missing)
        if not len(present):
            return ComparisonResult(levels, similarity)
        # every level is a function of the two names alone (the phonetic key is derived
        # from the name), so each distinct pair of names is compared once
        sa, sb = a[present].astype(str), b[present].astype(str)
        codes, first = distinct_pairs(sa, sb)
        ua, ub = sa[first], sb[first]
        jw = distinct_scores(ua, ub)
        if self.phonetic:
            pa = _values(left, self.phonetic, left_rows)[present][first]
            pb = _values(right, self.phonetic, right_rows)[present][first]
            same_key = pd.notna(pa) & pd.notna(pb) & (pa == pb)
        else:
            same_key = np.zeros(len(first), dtype=bool)
        # the word-level tests run in Python, so each runs only on the pairs that no
        # stronger level has claimed
        tests = [
            lambda i: ua[i] == ub[i],
            lambda i: _same_tokens(ua[i], ub[i]),
            lambda i: jw[i] >= self.high,
            lambda i: same_key[i],
            lambda i: _initials_compatible(ua[i], ub[i]),
            lambda i: _word_subset(ua[i], ub[i]),
            lambda i: _nickname(ua[i], ub[i]),
            lambda i: jw[i] >= self.low,
        ]
        levels[present] = _assign_lazily(tests, np.zeros(len(first), dtype=bool))[codes]
        similarity[present] = jw[codes]
        return ComparisonResult(levels, similarity)


def _only_where(mask: np.ndarray, test, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Run a per-pair Python ``test`` only where a cheap vectorised ``mask`` allows it."""
    out = np.zeros(len(a), dtype=bool)
    idx = np.flatnonzero(mask)
    out[idx] = [test(x, y) for x, y in zip(a[idx], b[idx], strict=True)]
    return out


def _words(a: np.ndarray) -> np.ndarray:
    return np.char.count(a.astype(str), " ") + (np.char.str_len(a.astype(str)) > 0)


def _same_tokens(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Same words regardless of order, or the same letters with spaces removed."""

    def ok(x: str, y: str) -> bool:
        return sorted(x.split()) == sorted(y.split()) or x.replace(" ", "") == y.replace(" ", "")

    # both need the same letters, so the same length once spaces are dropped
    letters_a = np.char.str_len(a) - np.char.count(a, " ")
    letters_b = np.char.str_len(b) - np.char.count(b, " ")
    return _only_where((letters_a == letters_b) & (letters_a > 0), ok, a, b)


def _initials_compatible(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Every word of the shorter name matches a word of the other, initials allowed,
    with at least one full word in common (M YUSUF ~ MUHAMMAD YUSUF)."""

    def ok(x: str, y: str) -> bool:
        wx, wy = x.split(), y.split()
        full = sum(p == q for p, q in zip(wx, wy, strict=True) if len(p) > 1 and len(q) > 1)
        return full >= 1 and all(
            p == q or (min(len(p), len(q)) == 1 and p[0] == q[0])
            for p, q in zip(wx, wy, strict=True)
        )

    # needs as many words on both sides and a one-letter word somewhere
    one_letter = _has_initial(a) | _has_initial(b)
    return _only_where((_words(a) == _words(b)) & (_words(a) > 1) & one_letter, ok, a, b)


def _has_initial(a: np.ndarray) -> np.ndarray:
    padded = np.char.add(np.char.add(" ", a), " ")
    return pd.Series(padded).str.contains(r" [A-Z] ", regex=True).to_numpy(dtype=bool)


def _word_subset(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """All words of the shorter name appear in the longer one (and the names differ)."""

    def ok(x: str, y: str) -> bool:
        wx, wy = set(x.split()), set(y.split())
        return wx < wy or wy < wx

    wa, wb = _words(a), _words(b)
    return _only_where((wa != wb) & (wa > 0) & (wb > 0), ok, a, b)


def _nickname(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One name is a single word of 3+ letters that begins or ends a longer word of the
    other; a doubled first syllable counts once (WAWAN -> WAN in HERMAWAN)."""

    def fits(nick: str, name: str) -> bool:
        if " " in nick or len(nick) < 3:
            return False
        cores = {nick}
        half = len(nick) // 2
        if len(nick) >= 5 and nick[:2] == nick[half : half + 2]:
            cores.add(nick[half:])  # WAWAN -> WAN, MAMAT -> MAT
        return any(
            len(word) > len(nick) and (word.startswith(core) or word.endswith(core))
            for word in name.split()
            for core in cores
            if len(core) >= 3
        )

    single = ((_words(a) == 1) & (np.char.str_len(a) >= 3)) | (
        (_words(b) == 1) & (np.char.str_len(b) >= 3)
    )
    return _only_where(single, lambda x, y: fits(x, y) or fits(y, x), a, b)


@dataclass(frozen=True)
class NikComparison:
    """NIK: exact; two adjacent digits swapped; one digit wrong in the date part;
    one digit wrong in the region part; two digits wrong; differing only in the
    4-digit serial; else.

    The region and serial parts get their own levels because different people
    born on the same day in one district have NIKs that differ only in the
    serial (0001 / 0002), and in neighbouring districts only in one region
    digit: such differences are much weaker evidence than a typo in the date.
    A NIK equal to either record's KK number (the KK typed in the NIK field)
    says nothing about the person: the pair counts as missing, not as a
    disagreement.
    """

    column: str = "nik"
    kk_column: str | None = "kk_number"
    name: str = "nik"

    @property
    def label(self) -> str:
        return self.name

    @property
    def levels(self) -> tuple[str, ...]:
        return (
            "exact",
            "transposed",
            "one_digit_date",
            "one_digit_region",
            "two_digits",
            "serial_only",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        missing = (
            pd.isna(a) | pd.isna(b) | self._kk_in_nik_field(left, right, left_rows, right_rows)
        )
        da = _digits(np.where(missing, "0" * 16, a))
        db = _digits(np.where(missing, "0" * 16, b))
        diff = da != db
        n_diff = diff.sum(axis=1)
        outside_serial = diff[:, :SERIAL_START].any(axis=1)
        swapped = (n_diff == 2) & _adjacent_swap(da, db, diff)
        in_date = diff[:, DATE_START:SERIAL_START].any(axis=1)
        conditions = [
            n_diff == 0,
            swapped,
            (n_diff == 1) & in_date,
            (n_diff == 1) & outside_serial,
            (n_diff == 2) & outside_serial,
            ~outside_serial,
        ]
        similarity = np.where(missing, np.nan, 1 - n_diff / 16)
        return ComparisonResult(_assign([c & ~missing for c in conditions], missing), similarity)

    def _kk_in_nik_field(
        self, left: pd.DataFrame, right: pd.DataFrame, li: np.ndarray, ri: np.ndarray
    ) -> np.ndarray:
        if self.kk_column is None:
            return np.zeros(len(li), dtype=bool)
        nik_a, nik_b = _values(left, self.column, li), _values(right, self.column, ri)
        out = np.zeros(len(li), dtype=bool)
        for kk in (_values(left, self.kk_column, li), _values(right, self.kk_column, ri)):
            ok = pd.notna(kk)
            out |= ok & pd.notna(nik_a) & (nik_a == kk)
            out |= ok & pd.notna(nik_b) & (nik_b == kk)
        return out


#: Positions of the birth date (DDMMYY) and the 4-digit serial in a NIK.
DATE_START, SERIAL_START = 6, 12


def _digits(values: np.ndarray) -> np.ndarray:
    text = np.array([str(v).rjust(16, "0")[:16] for v in values], dtype="U16")
    return text.view("U1").reshape(len(values), 16) if len(values) else np.zeros((0, 16), "U1")


def _adjacent_swap(da: np.ndarray, db: np.ndarray, diff: np.ndarray) -> np.ndarray:
    first = np.argmax(diff, axis=1)
    rows = np.arange(len(da))
    nxt = np.minimum(first + 1, 15)
    return diff[rows, nxt] & (da[rows, first] == db[rows, nxt]) & (da[rows, nxt] == db[rows, first])


@dataclass(frozen=True)
class DateComparison:
    """Birth dates: exact; day and month swapped; same year and month; within
    ``within_days``; a year-only date agreeing on the year; same year; one year
    off; same day and month in another year (a mistyped year); else. A date known only to the
    year (``precision`` column = "year") can at best agree on the year.

    With ``alternative`` (default: the birth date decoded from the NIK) a record's
    recorded date and its NIK date both count, and the best level of the pairings
    wins (never NIK date against NIK date: that is the NIK comparison's evidence),
    so a mistyped or year-only date field is rescued by a correct NIK.
    """

    column: str = "birth_date"
    precision: str = "birth_date_precision"
    alternative: str | None = "nik_birth_date"
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
            "year_only_agrees",
            "same_year",
            "one_year_off",
            "year_typo",
            "else",
        )

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a = _dates(left, self.column, left_rows)
        b = _dates(right, self.column, right_rows)
        pa = _values(left, self.precision, left_rows)
        pb = _values(right, self.precision, right_rows)
        exact = np.full(len(left_rows), None, dtype=object)
        levels, sims = self._levels(a, b, pa, pb)
        if self.alternative is not None:
            alt_a = _dates(left, self.alternative, left_rows)
            alt_b = _dates(right, self.alternative, right_rows)
            for x, y, px, py in ((alt_a, b, exact, pb), (a, alt_b, pa, exact)):
                lv, sv = self._levels(x, y, px, py)
                levels, sims = np.maximum(levels, lv), np.fmax(sims, sv)
        return ComparisonResult(levels, sims)

    def _levels(
        self, a: pd.Series, b: pd.Series, pa: np.ndarray, pb: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        missing = (a.isna() | b.isna()).to_numpy()
        exact_known = ~np.isin(pa, ("year", "month")) & ~np.isin(pb, ("year", "month"))
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
            # a date known only to the year agrees as far as it goes: its own level,
            # stronger than two full dates that differ within the year
            ~exact_known & same_year,
            same_year,
            np.abs(ya - yb) == 1,
            # same day and month, another year: a mistyped year digit
            exact_known & (da == db) & (ma == mb),
        ]
        conditions = [np.asarray(c, dtype=bool) & ~missing for c in conditions]
        similarity = np.where(missing, np.nan, np.exp(-np.nan_to_num(days) / 365.0))
        return _assign(conditions, missing), similarity


def _dates(frame: pd.DataFrame, column: str, rows: np.ndarray) -> pd.Series:
    if column in frame and pd.api.types.is_datetime64_any_dtype(frame[column]):
        return pd.Series(frame[column].to_numpy()[rows])  # no round trip through objects
    return pd.to_datetime(pd.Series(_values(frame, column, rows)))


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


@dataclass(frozen=True)
class StringComparison:
    """A generic string field (address, suburb, an ID of another country): exact;
    Jaro-Winkler at each of ``thresholds`` (highest first); else. No Indonesian
    name rules: for data that is not an Indonesian register (FEBRL, say)."""

    column: str
    thresholds: tuple[float, ...] = (0.92, 0.8)
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", tuple(sorted(self.thresholds, reverse=True)))

    @property
    def label(self) -> str:
        return self.name or self.column

    @property
    def levels(self) -> tuple[str, ...]:
        return ("exact", *(f"jw>={t}" for t in self.thresholds), "else")

    def compare(
        self, left: pd.DataFrame, right: pd.DataFrame, left_rows: np.ndarray, right_rows: np.ndarray
    ) -> ComparisonResult:
        a, b = _values(left, self.column, left_rows), _values(right, self.column, right_rows)
        missing = pd.isna(a) | pd.isna(b)
        jw = jaro_winkler(a, b)
        jw_ok = np.nan_to_num(jw)
        sa, sb = np.where(missing, "", a).astype(str), np.where(missing, "", b).astype(str)
        conditions = [sa == sb, *(jw_ok >= t for t in self.thresholds)]
        return ComparisonResult(_assign([c & ~missing for c in conditions], missing), jw)


Comparison = (
    ExactComparison
    | NameComparison
    | NikComparison
    | DateComparison
    | RegionComparison
    | StringComparison
)

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


def columns_used(comparison: Comparison) -> list[str]:
    """The record columns a comparison reads."""
    names = [
        value
        for f in dataclasses.fields(comparison)
        if f.name != "name" and isinstance(value := getattr(comparison, f.name), str) and value
    ]
    if isinstance(comparison, RegionComparison):
        names += ["village_code", "district_code", "regency_code", "province_code"]
    return names


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
