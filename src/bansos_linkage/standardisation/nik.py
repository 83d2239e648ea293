"""NIK and KK numbers: cleaning, structural validation and decoding.

A NIK is ``PPKKCC DDMMYY SSSS``: the Kemendagri province, regency and district
where it was first issued, the birth date with 40 added to the day for women,
and a serial from 0001. A KK (family card) number has the same layout with the
registration date (no +40) and a family serial. Neither has a check digit, so
validation is structural only.

Cleaning, before validation: surrounding whitespace and quotes (including
Excel's ``'`` text prefix) are dropped; inside the value spaces, dots, dashes,
apostrophes and quotes are removed; extra leading zeros in front of 16 digits
are dropped (NIKs never start with 0).

Values written as numbers are treated apart, because spreadsheets keep only 15
significant digits and pandas floats only 53 bits: scientific notation
("3.30203E+15", "3,30203E+15"), a decimal tail ("3302034708900003.0") or
thousands grouping ("3.302.034.708.900.003"). Such a value is accepted only if
it spells out exactly 16 integer digits, is below 2**53 (exact in a float) and
does not end in 0 (the digit Excel's 15-digit limit leaves behind). A float
carrying a real NIK ending in 0 cannot be told from a damaged one, so it is
rejected too: re-read the source column as text. A plain 16-digit string
ending in 0 is never flagged; serials can end in 0.

Problem codes (``nik_*``; ``standardise_kk`` uses the same with ``kk_*``), in
priority order, one per row, each marked with what happens to the value:

1. ``missing`` (missing, null): empty, "-", "0", "NULL", "TIDAK ADA", ...
2. ``excel_scientific`` (invalid, null): scientific notation that does not give
   all 16 digits.
3. ``excel_float`` (invalid, null): a decimal or thousands-grouped number
   failing the rule above.
4. ``not_digits`` (invalid, null): other characters remain after cleaning.
5. ``wrong_length`` (invalid, null): not 16 digits.
6. ``placeholder`` (invalid, null): one repeated digit, a repeating block of 2
   or 4 digits, a run of consecutive digits (1234567890123456,
   9876543210987654), or a region code followed by one repeated digit
   (3302030000000000, i.e. zero date and zero serial).
7. ``bad_serial`` (invalid, null): serial 0000. No number is issued with it;
   it is what a spreadsheet's 15 significant digits make of serials 0001-0009
   (the usual ones), so the last digit is not the person's: the same reason a
   float ending in 0 is rejected above.
8. ``bad_province`` (warning, kept): not a Kemendagri province code
   (data/provinces.csv).
9. ``bad_region`` (warning, kept): regency part 00 or 70 (kabupaten are 01-69,
   kota 71-99) or district part 00.
10. ``bad_date`` (warning, kept): NIK day not in 01-31 or 41-71 (KK: 01-31),
    month not 01-12, or a day the month lacks (31-02; 29-02 outside leap years).
11. ``nik_is_kk`` (NIK only, invalid, null): equals the same row's KK number
    (valid or flagged); it is someone else's number.
12. ``nik_duplicate`` (NIK only, warning, kept): the same valid NIK is on more
    than one row. KK numbers are shared by a family by design and never
    flagged. A flagged number on several rows keeps its structural code.

The numbers nulled are no identifiers at all, damaged beyond repair, or
(``nik_is_kk``) someone else's. A 16-digit number that fails a structural
check of codes 8-10 is still evidence: two registers carrying the same
malformed number agree on it, so it is kept in ``nik`` / ``kk_number``.
Nothing is decoded from it: its region, province, birth date and sex are null
and ``nik_decoded`` is False: it is evidence by exact agreement only.
``nik_decoded`` is True for a valid NIK and <NA> for no NIK.

The birth year has no century. The century is chosen so the year is not after
``reference_year`` (default: the current year), e.g. with 2025 "25" is 2025
and "26" is 1926. People aged 100 or more therefore decode a century late.
Pass ``reference_year`` to make results reproducible.

Everything is vectorised: pyarrow string kernels clean the values that are not
already 16 plain digits, and the checks are integer arithmetic on the numbers
as int64. 1,000,000 rows take about a second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray

from bansos_linkage.standardisation.problems import ProblemType, registry
from bansos_linkage.standardisation.regions import MISSING_MARKERS, PROVINCES, as_text

__all__ = ["PROBLEMS", "NikParts", "decode_nik", "standardise_kk", "standardise_nik"]


# Structural failures of a 16-digit number that keep the number (see the module docs).
_KEPT_FLAGS: tuple[str, ...] = ("bad_province", "bad_region", "bad_date")
_KEPT_NOTE = "the number is kept but not decoded"


def _structural_problems(field: str, number: str, date: str) -> list[ProblemType]:
    return [
        ProblemType(f"{field}_missing", "missing", f"no {number}: empty or an unknown marker"),
        ProblemType(
            f"{field}_excel_scientific",
            "invalid",
            "written in scientific notation without all 16 digits (spreadsheet damage)",
        ),
        ProblemType(
            f"{field}_excel_float",
            "invalid",
            "written as a number whose 16 digits cannot be trusted (spreadsheet or float damage)",
        ),
        ProblemType(f"{field}_not_digits", "invalid", "characters other than digits remain"),
        ProblemType(f"{field}_wrong_length", "invalid", "not 16 digits after cleaning"),
        ProblemType(
            f"{field}_placeholder",
            "invalid",
            "filler such as all zeros, a repeated block, a digit run or a region code + zeros",
        ),
        ProblemType(
            f"{field}_bad_serial",
            "invalid",
            "serial (last 4 digits) is 0000, most often a low serial whose last digit a"
            " spreadsheet turned to 0",
        ),
        # 16 digits failing a structural check: kept for exact agreement, never decoded
        ProblemType(
            f"{field}_bad_province",
            "warning",
            f"first 2 digits are not a province code; {_KEPT_NOTE}",
        ),
        ProblemType(
            f"{field}_bad_region",
            "warning",
            f"regency part 00 or 70, or district 00; {_KEPT_NOTE}",
        ),
        ProblemType(
            f"{field}_bad_date", "warning", f"digits 7-12 are not a valid {date}; {_KEPT_NOTE}"
        ),
    ]


PROBLEMS = registry(
    *_structural_problems("nik", "NIK", "birth date (day + 40 for women)"),
    ProblemType("nik_is_kk", "invalid", "equals the KK number of the same row"),
    ProblemType("nik_duplicate", "warning", "the same NIK is on more than one row"),
    *_structural_problems("kk", "KK number", "registration date"),
)

_CODES: tuple[str, ...] = tuple(PROBLEMS)  # problems travel as int8 indexes into this
_KEPT = np.array([_CODES.index(f"{f}_{k}") for f in ("nik", "kk") for k in _KEPT_FLAGS])
_STR = pd.StringDtype("pyarrow")  # fast regex kernels on pandas 2 and 3
_QUOTES = "'\"`\u2018\u2019\u201c\u201d"
_MISSING_PHRASE = r"(?:TIDAK|TDK|BELUM|BLM)\b.*"  # "TIDAK ADA NIK", "BELUM REKAM", ...
_SCIENTIFIC = r"[0-9]+(?:[.,][0-9]+)?E[+-]?[0-9]{1,3}"
_DECIMAL = r"[0-9]{15,}[.,][0-9]+"
_GROUPED = r"[0-9]{1,3}(?:\.[0-9]{3}){3,}(?:,[0-9]+)?|[0-9]{1,3}(?:,[0-9]{3}){3,}(?:\.[0-9]+)?"
_INSIDE = "[\\s.'`\"\u2018\u2019\u201c\u201d\\-\u2010-\u2015]"  # removed anywhere in the value
_FLOAT_EXACT_BELOW = str(2**53)  # 16 digits, so string order equals numeric order
_PROVINCE_OK = np.zeros(100, dtype=bool)
_PROVINCE_OK[[int(code) for code in PROVINCES]] = True
_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass(frozen=True)
class NikParts:
    """The parts of one valid NIK (codes are cumulative: regency "3302", district "330203")."""

    province_code: str
    regency_code: str
    district_code: str
    birth_date: dt.date
    sex: str
    serial: str


def _first(conditions: list[np.ndarray], field: str, names: tuple[str, ...]) -> np.ndarray:
    """Per row, the index in ``_CODES`` of the first condition that holds, else -1."""
    choices = [_CODES.index(f"{field}_{name}") for name in names]
    return np.select(conditions, choices, default=-1).astype(np.int8)


def _mask(result: pd.Series) -> np.ndarray:
    """Boolean string-op result -> numpy bool, NA counting as False."""
    return result.to_numpy(dtype=bool, na_value=False)


def _expand_scientific(text: str) -> str | None:
    """Integer digits of "3.302034708900003E+15", or None unless all 16 are written out."""
    mantissa, _, exponent = text.partition("E")
    whole, _, fraction = mantissa.replace(",", ".").partition(".")
    written = (whole + fraction).lstrip("0")
    point = len(whole) - (len(whole) + len(fraction) - len(written)) + int(exponent)
    if point != 16 or len(written) < 16 or written[16:].strip("0"):
        return None
    return written[:16]


def _clean_messy(text: pd.Series, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Clean values that are not plain 16-digit strings: (digits or None, problem index)."""
    upper = text.str.strip().str.strip(_QUOTES).str.strip().str.upper()
    compact = upper.str.replace(r"\s+", "", regex=True)
    sci = _mask(compact.str.fullmatch(_SCIENTIFIC))
    number = _mask(compact.str.fullmatch(_DECIMAL)) | _mask(compact.str.fullmatch(_GROUPED))
    # A number's integer digits: drop a decimal tail of zeros, then thousands separators.
    from_number = compact.str.replace(r"[.,]0+$", "", regex=True).str.replace(
        "[.,]", "", regex=True
    )
    plain = compact.str.replace(_INSIDE, "", regex=True)
    plain = plain.str.replace(r"^0+([0-9]{16})$", r"\1", regex=True)
    digits = np.where(number, from_number.to_numpy(object), plain.to_numpy(object))
    expanded = {v: _expand_scientific(v) for v in pd.unique(compact[sci])}
    digits[sci] = [expanded[v] for v in compact[sci]]
    cleaned = pd.Series(digits, dtype=_STR)
    float_ok = _mask(cleaned.str.fullmatch("[0-9]{15}[1-9]")) & _mask(cleaned < _FLOAT_EXACT_BELOW)
    missing = (
        text.isna().to_numpy()
        | _mask(upper.isin(MISSING_MARKERS))
        | _mask(upper.str.fullmatch(_MISSING_PHRASE))
        | (~(sci | number) & _mask(plain.str.fullmatch("0{0,15}")))
    )
    problem = _first(
        [
            missing,
            sci & ~float_ok,
            number & ~float_ok,
            ~_mask(cleaned.str.fullmatch("[0-9]+")),
            ~_mask(cleaned.str.len() == 16),
        ],
        field,
        ("missing", "excel_scientific", "excel_float", "not_digits", "wrong_length"),
    )
    # numpy's stubs take no None as a value
    return np.where(problem < 0, cleaned.to_numpy(object), None), problem  # type: ignore[call-overload]


def _clean(raw: pd.Series, field: str) -> tuple[np.ndarray, np.ndarray]:
    """Clean raw values: (16-digit strings or None, problem index or -1) per row."""
    text = as_text(raw)
    digits = text.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
    problem = np.full(len(text), -1, dtype=np.int8)
    messy = np.flatnonzero(~_mask(text.str.fullmatch("[0-9]{16}")))
    if len(messy):  # usually a small share of the rows
        digits[messy], problem[messy] = _clean_messy(text.iloc[messy], field)
    return digits, problem


def _to_int(numbers: np.ndarray) -> np.ndarray:
    """16-digit strings -> int64 values (Horner over the digit columns; all fit below 2**63)."""
    digits = np.frombuffer("".join(numbers).encode("ascii"), dtype=np.uint8).reshape(-1, 16)
    value = np.zeros(len(digits), dtype=np.int64)
    for column in range(16):
        value *= 10
        value += digits[:, column] - 48
    return value


def _part(value: np.ndarray, start: int, width: int = 2) -> np.ndarray:
    """Digits ``start`` to ``start + width`` (0-based, from the left) of 16-digit values."""
    return value // 10 ** (16 - start - width) % 10**width


def _ones(period: int, digits: int = 16) -> int:
    """Multiplier that repeats a ``period``-digit block over ``digits`` digits: 0101..01 for 2."""
    return sum(10 ** (period * k) for k in range(digits // period))


def _digit_run(first: int, step: int) -> int:
    return int("".join(str((first + step * i) % 10) for i in range(16)))


_RUNS = np.array([_digit_run(first, step) for first in range(10) for step in (1, -1)])


def _is_placeholder(value: np.ndarray) -> np.ndarray:
    """Filler values that pass a length check but are no one's number."""
    periodic = np.zeros(len(value), dtype=bool)
    for period in (1, 2, 4):  # one digit, or a block of 2 or 4, repeated
        periodic |= value // 10 ** (16 - period) * _ones(period) == value
    region_then_filler = value % 10**10 % _ones(1, 10) == 0  # region + 10 equal digits
    return periodic | np.isin(value, _RUNS) | region_then_filler


def _bad_region(value: np.ndarray) -> np.ndarray:
    regency = _part(value, 2)
    return (regency == 0) | (regency == 70) | (_part(value, 4) == 0)


def _day_exists(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    month_ok = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    last = _DAYS_IN_MONTH[np.where(month_ok, month, 0)] + (leap & (month == 2))
    return month_ok & (day >= 1) & (day <= last)


def _birth_year(yy: np.ndarray, reference_year: int) -> np.ndarray:
    """Latest year ending in ``yy`` that is not after ``reference_year``."""
    year = reference_year // 100 * 100 + yy
    return np.where(year > reference_year, year - 100, year)


def _to_datetime(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    months = ((year - 1970) * 12 + month - 1).astype("datetime64[M]")
    return (months.astype("datetime64[D]") + (day - 1)).astype("datetime64[ns]")


@dataclass
class _Checked:
    """Per row: the kept number, problem index and decoded NIK parts.

    ``number`` is the 16 digits of a valid or structurally flagged number (None
    otherwise); ``value`` is set only for a valid one, the only kind decoded.
    """

    number: np.ndarray
    problem: np.ndarray
    birth_date: np.ndarray
    female: np.ndarray
    value: np.ndarray  # the valid number as int64 (fast to hash), -1 when flagged or null

    @property
    def decoded(self) -> np.ndarray:
        return self.value >= 0


def _check(raw: pd.Series, field: str, reference_year: int | None = None) -> _Checked:
    """Clean and structurally validate a NIK column, or a KK column without a year."""
    number, problem = _clean(raw, field)
    birth = np.full(len(number), np.datetime64("NaT"), dtype="datetime64[ns]")
    female = np.zeros(len(number), dtype=bool)
    value = np.full(len(number), -1, dtype=np.int64)
    ok = np.flatnonzero(problem < 0)
    v = _to_int(number[ok])
    day, month, yy = _part(v, 6), _part(v, 8), _part(v, 10)
    if reference_year is None:  # KK registration date: only leap days need the century
        year = 2000 + yy
        is_female = np.zeros(len(v), dtype=bool)
    else:
        year = _birth_year(yy, reference_year)
        is_female = day > 40
        day = np.where(is_female, day - 40, day)
    problem[ok] = _first(
        [  # the codes that null the number come before those that keep it
            _is_placeholder(v),
            v % 10**4 == 0,
            ~_PROVINCE_OK[_part(v, 0)],
            _bad_region(v),
            ~_day_exists(year, month, day),
        ],
        field,
        ("placeholder", "bad_serial", *_KEPT_FLAGS),
    )
    valid = problem[ok] < 0
    number[ok[~valid & ~np.isin(problem[ok], _KEPT)]] = None  # placeholder, bad serial
    birth[ok[valid]] = _to_datetime(year[valid], month[valid], day[valid])
    female[ok[valid]] = is_female[valid]
    value[ok[valid]] = v[valid]
    return _Checked(number, problem, birth, female, value)


def _check_series(series: object, name: str) -> pd.Series:
    if not isinstance(series, pd.Series):
        raise TypeError(f"{name} must be a pandas Series, got {type(series).__name__}")
    return series


def _reference_year(reference_year: int | None) -> int:
    if reference_year is None:
        return dt.date.today().year
    if isinstance(reference_year, bool) or not isinstance(reference_year, int):
        raise TypeError(f"reference_year must be an int, got {type(reference_year).__name__}")
    if not 1900 <= reference_year <= 2199:  # birth dates are datetime64[ns]: years up to 2262
        raise ValueError(f"reference_year must be between 1900 and 2199, got {reference_year}")
    return reference_year


def _number_columns(checked: _Checked, field: str, name: str) -> dict[str, ExtensionArray]:
    """The kept number, and the 6-digit region and province code of a valid one, as "string"."""
    return {
        name: pd.array(checked.number, dtype="string"),
        f"{field}_region": _prefix(checked.value, 6),
        f"{field}_province_code": _prefix(checked.value, 2),
    }


def _prefix(value: np.ndarray, digits: int) -> ExtensionArray:
    """First ``digits`` digits of each valid number, built from the few distinct prefixes."""
    codes, prefixes = pd.factorize(np.where(value >= 0, value // 10 ** (16 - digits), -1))
    labels = [f"{p:0{digits}d}" if p >= 0 else None for p in prefixes]
    return pd.array(labels, dtype="string").take(codes)


def _decoded(valid: np.ndarray, number: np.ndarray) -> ExtensionArray:
    """True for a decoded number, False for a kept flagged one, <NA> for no number."""
    return pd.arrays.BooleanArray(valid, number == None)  # noqa: E711


def _labels(labels: tuple[str, ...], index: np.ndarray) -> ExtensionArray:
    """Small label set + per-row index (-1 = NA) -> "string" array."""
    return pd.array(labels, dtype="string").take(index.astype(np.intp), allow_fill=True)


def standardise_nik(
    nik: pd.Series,
    kk: pd.Series | None = None,
    reference_year: int | None = None,
) -> pd.DataFrame:
    """Clean, validate and decode NIKs.

    See the module documentation for the cleaning rules, the problem codes and
    their priority, and how the birth century is chosen.

    Parameters
    ----------
    nik : pandas.Series
        Raw NIKs as text (any index; None/NaN/pd.NA allowed).
    kk : pandas.Series, optional
        The KK numbers of the same rows (same index); a NIK equal to its row's
        KK number is flagged ``nik_is_kk``.
    reference_year : int, optional
        Birth years are placed in the latest century that does not put them
        after this year. Default: the current year.

    Returns
    -------
    pandas.DataFrame
        Same index as ``nik``. ``nik`` (16 digits), ``nik_sex`` ("M"/"F"),
        ``nik_region`` (6-digit PPKKCC), ``nik_province_code`` and ``problem``
        are dtype "string"; ``nik_birth_date`` is datetime64[ns];
        ``nik_decoded`` is "boolean": True for a valid NIK, False for one kept
        with a structural flag (its decoded columns are null), <NA> for none.

    Raises
    ------
    TypeError, ValueError
        Bad parameters: not a Series, ``kk`` with another index, or a bad
        ``reference_year``.

    Examples
    --------
    >>> s = pd.Series(["3302034708900003", "3302031708900003", "'3302 0317 0890 0004",
    ...                "3302033508900003", "3.30203E+15", "0000000000000000", "-"])
    >>> out = standardise_nik(s, reference_year=2025)
    >>> out[["nik", "nik_birth_date", "nik_sex", "nik_decoded", "problem"]]
                    nik nik_birth_date nik_sex  nik_decoded               problem
    0  3302034708900003     1990-08-07       F         True                  <NA>
    1  3302031708900003     1990-08-17       M         True                  <NA>
    2  3302031708900004     1990-08-17       M         True                  <NA>
    3  3302033508900003            NaT    <NA>        False          nik_bad_date
    4              <NA>            NaT    <NA>         <NA>  nik_excel_scientific
    5              <NA>            NaT    <NA>         <NA>       nik_placeholder
    6              <NA>            NaT    <NA>         <NA>           nik_missing
    """
    year = _reference_year(reference_year)
    _check_series(nik, "nik")
    if kk is not None and not _check_series(kk, "kk").index.equals(nik.index):
        raise ValueError("kk must have the same index as nik")
    checked = _check(nik, "nik", year)
    number, problem = checked.number, checked.problem
    if kk is not None:
        is_kk = (number == _clean(kk, "kk")[0]) & (number != None)  # noqa: E711
        problem[is_kk] = _CODES.index("nik_is_kk")
        number[is_kk] = None
        checked.value[is_kk] = -1
    valid = checked.decoded
    duplicate = valid & pd.Series(checked.value).duplicated(keep=False).to_numpy()
    problem[duplicate] = _CODES.index("nik_duplicate")
    columns = _number_columns(checked, "nik", "nik")
    return pd.DataFrame(
        {
            "nik": columns["nik"],
            "nik_birth_date": np.where(valid, checked.birth_date, np.datetime64("NaT")),
            "nik_sex": _labels(("M", "F"), np.where(valid, checked.female, -1)),
            "nik_region": columns["nik_region"],
            "nik_province_code": columns["nik_province_code"],
            "nik_decoded": _decoded(valid, number),
            "problem": _labels(_CODES, problem),
        }
    ).set_axis(nik.index)


def standardise_kk(kk: pd.Series) -> pd.DataFrame:
    """Clean and validate KK (family card) numbers.

    Same cleaning and structural checks as :func:`standardise_nik`, with the
    date part read as a registration date (day 01-31, no +40). A number failing
    a structural check is kept in ``kk_number`` with its flag, and its region
    and province are null. Duplicates are not flagged: the members of a family
    share one KK number.

    Parameters
    ----------
    kk : pandas.Series
        Raw KK numbers as text (any index; None/NaN/pd.NA allowed).

    Returns
    -------
    pandas.DataFrame
        Same index as ``kk``; "string" columns ``kk_number``, ``kk_region``
        (6-digit PPKKCC), ``kk_province_code`` and ``problem``.

    Examples
    --------
    >>> s = pd.Series(["3302030101150001", "3302030101150001", "3302034101150001",
    ...                "3302030000000000", None])
    >>> standardise_kk(s)
              kk_number kk_region kk_province_code         problem
    0  3302030101150001    330203               33            <NA>
    1  3302030101150001    330203               33            <NA>
    2  3302034101150001      <NA>             <NA>     kk_bad_date
    3              <NA>      <NA>             <NA>  kk_placeholder
    4              <NA>      <NA>             <NA>      kk_missing
    """
    checked = _check(_check_series(kk, "kk"), "kk")
    columns = _number_columns(checked, "kk", "kk_number")
    columns["problem"] = _labels(_CODES, checked.problem)
    return pd.DataFrame(columns).set_axis(kk.index)


def decode_nik(nik: str, reference_year: int | None = None) -> NikParts | None:
    """Decode one NIK into its parts, or None when it is not a valid NIK.

    The value is cleaned and checked as in :func:`standardise_nik`; a number
    kept with a structural flag (e.g. an impossible date) is not decoded.

    Parameters
    ----------
    nik : str
        One NIK.
    reference_year : int, optional
        See :func:`standardise_nik`.

    Returns
    -------
    NikParts or None

    Examples
    --------
    >>> decode_nik("3302034708900003", reference_year=2025)
    NikParts(province_code='33', regency_code='3302', district_code='330203', \
birth_date=datetime.date(1990, 8, 7), sex='F', serial='0003')
    >>> decode_nik("3302030000000000") is None
    True
    >>> decode_nik("3302033508900003") is None  # day 35: kept by standardise_nik, not decoded
    True
    """
    row = standardise_nik(pd.Series([nik], dtype=object), reference_year=reference_year).iloc[0]
    if pd.isna(row["nik_decoded"]) or not row["nik_decoded"]:
        return None
    number = str(row["nik"])
    return NikParts(
        province_code=number[:2],
        regency_code=number[:4],
        district_code=number[:6],
        birth_date=row["nik_birth_date"].date(),
        sex=str(row["nik_sex"]),
        serial=number[12:],
    )
