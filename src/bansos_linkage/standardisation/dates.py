"""Standardise dates (tanggal lahir) from Indonesian registers.

Dates arrive as text in whatever layout the source used: ``12-01-1980``,
``1980-01-12 00:00:00`` (Excel/pandas exports), ``29232`` (an Excel serial day
number), ``12 Januari 1980``, ``12-JAN-80``, ``19800112``, ``1975`` or an
unknown marker (Regsosek writes 98 for an unknown day or month and 9998 for an
unknown year). :func:`standardise_date` turns them into one ``date`` column, a
``date_precision`` column and at most one problem code per value.

Conventions (all documented decisions):

* **Day first.** ``03/04/1980`` is 3 April 1980 (Indonesian convention,
  ``dayfirst=True``). With ``dayfirst=False`` it is 4 March. A value is never
  silently re-read the other way round: ``04/13/1980`` with ``dayfirst=True``
  has month 13 and is ``date_invalid``. A source that is month-first throughout
  passes ``dayfirst=False`` or pins a format.
* **Two-digit years.** ``yy`` becomes the latest year ending in ``yy`` that is
  not after the reference year: with reference year 2025, ``80`` is 1980,
  ``25`` is 2025 and ``26`` is 1926 (births cannot be in the future).
* **Eight digits** are read as ``YYYYMMDD`` or ``DDMMYYYY``, whichever gives a
  real date between ``min_year`` and the reference date (the two cannot both
  do so when ``min_year`` >= 1300). Seven digits are ``DDMMYYYY`` whose leading
  zero was lost in a numeric Excel column.
* **Excel serials.** A five-digit number (optionally ``.0`` or with a time
  fraction) is an Excel day number in the 1900 date system (day 1 = 1900-01-01,
  so ``29232`` is 1980-01-12), accepted only when it lands between ``min_year``
  and the reference date; otherwise it is ``date_unparseable``.
* **Precision.** ``"day"`` for a full date; ``"year"`` when only the year is
  known (``1975``, ``98-98-1975``) or the day and month are a probable
  placeholder (01-01, 01-07, 31-12: the values civil registries put in for an
  unknown birthday); ``"month"`` when the month is known but not the day
  (``Januari 1980``, ``98-01-1980``, ``00-01-1980``). A year-only value is set
  to 1 July of the year and a month-only value to the 15th of the month, the
  mid-points, so the error of a derived age is smallest; both are clamped to
  the reference date. Comparisons should use only the known part.
* **Range.** Dates after ``reference_date`` (default today) are
  ``date_future`` and dates before 1 January of ``min_year`` are
  ``date_too_old``; both are set null.
* Times of day and time-zone suffixes are dropped: the date is as written.
* The ``date`` column is ``datetime64[ns]`` on pandas 2 and 3 alike.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from bansos_linkage.standardisation.problems import ProblemType, registry
from bansos_linkage.standardisation.values import factorize_values

__all__ = ["PRECISIONS", "PROBLEMS", "age_at", "standardise_date"]

PROBLEMS = registry(
    ProblemType(
        "date_missing",
        "missing",
        "empty or an explicit unknown marker (98, 9998, 00-00-0000, TIDAK TAHU, ...)",
    ),
    ProblemType("date_unparseable", "invalid", "text not recognised as a date in any layout"),
    ProblemType("date_invalid", "invalid", "a day or month that does not exist (31-02, month 13)"),
    ProblemType("date_future", "invalid", "after the reference date"),
    ProblemType("date_too_old", "invalid", "before 1 January of min_year"),
    ProblemType("date_year_only", "warning", "only the year is known; the date is set to 1 July"),
    ProblemType(
        "date_imprecise",
        "warning",
        "probable placeholder day and month (01-01, 01-07, 31-12) or an unknown day; "
        "the date is kept with reduced precision",
    ),
)

#: Values of the ``date_precision`` column.
PRECISIONS = ("day", "month", "year")

# Internal codes: index 0 of each table means "none".
_PROBLEM_CODES = (None, *PROBLEMS)
_P = {code: i for i, code in enumerate(_PROBLEM_CODES)}
_PRECISION_CODES = (None, *PRECISIONS)
_DAY, _MONTH, _YEAR = 1, 2, 3

# What the text parser recognised.
_F_NONE, _F_DATE, _F_MONTH, _F_YEAR, _F_MISSING = 0, 1, 2, 3, 4

_MISSING_TEXT = frozenset(
    {
        "98",
        "9998",
        "TIDAK TAHU",
        "TIDAK DIKETAHUI",
        "TDK TAHU",
        "TIDAK TAU",
        "TT",
        "NULL",
        "NONE",
        "NAN",
        "NAT",
        "<NA>",
        "NA",
        "N/A",
        "#N/A",
    }
)
# Only zeros and separators ("", "-", "00-00-0000", "0000-00-00 00:00:00").
_ZERO_ONLY = re.compile(r"[0\s\-/.:]*")
_UNKNOWN_PART = (0, 98)  # a day or month written as 00 or 98 is unknown (Regsosek: 98)
_UNKNOWN_YEARS = (0, 9998)

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    (
        "JANUARI JANUARY JAN",
        "FEBRUARI FEBRUARY FEB FEBR PEBRUARI PEB PEBR",
        "MARET MARCH MAR MRT",
        "APRIL APR",
        "MEI MAY",
        "JUNI JUNE JUN",
        "JULI JULY JUL",
        "AGUSTUS AUGUST AGT AGU AGS AGST AGUST AUG",
        "SEPTEMBER SEP SEPT",
        "OKTOBER OCTOBER OKT OCT",
        "NOVEMBER NOPEMBER NOV NOP",
        "DESEMBER DECEMBER DES DEC",
    ),
    start=1,
):
    _MONTHS.update(dict.fromkeys(_names.split(), _number))

#: Indonesian month names, January first (as written in full on documents).
MONTH_NAMES: tuple[str, ...] = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)

_WEEKDAY = re.compile(
    r"(?:SENIN|SELASA|RABU|KAMIS|JUMAT|JUM'AT|SABTU|MINGGU|AHAD|MONDAY|TUESDAY|WEDNESDAY"
    r"|THURSDAY|FRIDAY|SATURDAY|SUNDAY|MON|TUE|WED|THU|FRI|SAT|SUN)[,.\s]+"
)
# an optional time of day (dropped): " 00:00:00", "T13:45", " 08.30 WIB", "T00:00:00+07:00"
_TIME = (
    r"(?:[ T]+\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:[.,]\d+)?)?"
    r"\s*(?:AM|PM|Z|[+-]\d{2}:?\d{2}|WIB|WITA|WIT)?)?"
)
_SEP = r"\s*[-/.\s]\s*"
_NAME_SEP = r"[\s\-/.,]*"
_ORD = r"(?:ST|ND|RD|TH)?"
_RX_NUMBER = re.compile(r"(\d+)(?:[.,](\d+))?", re.ASCII)
_RX_NUMERIC = re.compile(rf"(\d{{1,4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,4}}){_TIME}", re.ASCII)
_RX_NUM_YM = re.compile(r"(\d{4})\s*[-/.]\s*(\d{1,2})", re.ASCII)
_RX_NUM_MY = re.compile(r"(\d{1,2})\s*[-/.]\s*(\d{4})", re.ASCII)
_RX_NAME_DMY = re.compile(
    rf"(\d{{1,2}}){_ORD}{_NAME_SEP}([A-Z]+)\.?{_NAME_SEP}(\d{{4}}|\d{{2}}){_TIME}", re.ASCII
)
_RX_NAME_MDY = re.compile(
    rf"([A-Z]+)\.?{_NAME_SEP}(\d{{1,2}}){_ORD}[\s\-/.,]+(\d{{4}}){_TIME}", re.ASCII
)
_RX_NAME_YMD = re.compile(
    rf"(\d{{4}}){_NAME_SEP}([A-Z]+)\.?{_NAME_SEP}(\d{{1,2}}){_TIME}", re.ASCII
)
_RX_NAME_MY = re.compile(rf"([A-Z]+)\.?{_NAME_SEP}(\d{{4}}|\d{{2}})", re.ASCII)

_EXCEL_EPOCH = datetime.date(1899, 12, 30)  # serial 61 = 1900-03-01 (Excel's 1900 leap bug)
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_PLACEHOLDERS = ((1, 1), (1, 7), (31, 12))
_NS_MIN_YEAR, _NS_MAX_YEAR = 1678, 2261  # datetime64[ns] covers 1677-09-21 .. 2262-04-11

_Parsed = tuple[int, int, int, int]  # (form, year, month, day)


class _Context:
    """Parameters the per-value rules need, resolved once per call."""

    def __init__(self, dayfirst: bool, reference: datetime.date, min_year: int) -> None:
        self.dayfirst = dayfirst
        self.reference = reference
        self.min_year = min_year
        self.serial_min = (datetime.date(min_year, 1, 1) - _EXCEL_EPOCH).days
        self.serial_max = (reference - _EXCEL_EPOCH).days

    def full_year(self, text: str) -> int:
        """Expand a two-digit year to the latest such year not after the reference year."""
        year = int(text)
        if len(text) != 2:
            return year
        ref = self.reference.year
        return ref - (ref - year) % 100

    def score(self, year: int, month: int, day: int) -> int:
        """Score an 8-digit reading: 3 in range, 2 partly unknown, 1 real date, 0 none."""
        if not 1 <= month <= 12:
            in_years = self.min_year <= year <= self.reference.year
            return 2 if month in _UNKNOWN_PART and in_years else 0
        if day in _UNKNOWN_PART:
            return 2 if self.min_year <= year <= self.reference.year else 0
        try:
            value = datetime.date(year, month, day)
        except ValueError:
            return 0
        return 3 if datetime.date(self.min_year, 1, 1) <= value <= self.reference else 1


def _parse_number(text: str, ctx: _Context) -> _Parsed | None:
    """Read a bare number: year, Excel serial, YYYYMMDD/DDMMYYYY; None if not a number."""
    match = _RX_NUMBER.fullmatch(text)
    if match is None:
        return None
    digits, fraction = match.group(1), match.group(2)
    if len(digits) == 5 and ctx.serial_min <= int(digits) <= ctx.serial_max:
        # a fraction is the time of day: the date is the whole part
        value = _EXCEL_EPOCH + datetime.timedelta(days=int(digits))
        return _F_DATE, value.year, value.month, value.day
    if fraction is not None and fraction.strip("0"):
        return None  # "12.1980", "1980.01": month and year, read by the next rules
    if len(digits) == 4:
        return _F_YEAR, int(digits), 0, 0
    if len(digits) in (7, 8):
        return _parse_eight(digits.zfill(8), ctx)
    return (_F_NONE, 0, 0, 0)


def _parse_eight(digits: str, ctx: _Context) -> _Parsed:
    """Choose between YYYYMMDD and DDMMYYYY by which gives a plausible date."""
    ymd = (int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    dmy = (int(digits[4:]), int(digits[2:4]), int(digits[:2]))
    best = max((ymd, dmy), key=lambda c: ctx.score(*c))  # ties keep YYYYMMDD
    if ctx.score(*best) == 0:
        if not any(1 <= c[1] <= 12 for c in (ymd, dmy)):
            return (_F_NONE, 0, 0, 0)
        best = ymd if 1 <= ymd[1] <= 12 else dmy  # a real month: report the bad day/range
    return (_F_DATE, *best)


def _parse_numeric(match: re.Match[str], ctx: _Context) -> _Parsed:
    """Read three numbers separated by - / . or spaces."""
    first, second, third = match.group(1), match.group(2), match.group(3)
    if len(first) == 4 and len(third) <= 2:
        return _F_DATE, int(first), int(second), int(third)
    if len(first) <= 2 and len(third) in (2, 4):
        day, month = (first, second) if ctx.dayfirst else (second, first)
        return _F_DATE, ctx.full_year(third), int(month), int(day)
    return (_F_NONE, 0, 0, 0)


def _parse_named(text: str, ctx: _Context) -> _Parsed:
    """Read a date with a month name (Indonesian or English, full or abbreviated)."""
    if match := _RX_NAME_DMY.fullmatch(text):
        day, name, year = match.group(1), match.group(2), match.group(3)
    elif match := _RX_NAME_MDY.fullmatch(text):
        name, day, year = match.group(1), match.group(2), match.group(3)
    elif match := _RX_NAME_YMD.fullmatch(text):
        year, name, day = match.group(1), match.group(2), match.group(3)
    elif match := _RX_NAME_MY.fullmatch(text):
        name, year = match.group(1), match.group(2)
        month = _MONTHS.get(name)
        return (_F_MONTH, ctx.full_year(year), month, 0) if month else (_F_NONE, 0, 0, 0)
    else:
        return (_F_NONE, 0, 0, 0)
    month = _MONTHS.get(name)
    if month is None:
        return (_F_NONE, 0, 0, 0)
    return _F_DATE, ctx.full_year(year), month, int(day)


def _parse_text(text: str, ctx: _Context) -> _Parsed:
    """Parse one cleaned (upper-cased, trimmed) value by the slow rules."""
    if text in _MISSING_TEXT or _ZERO_ONLY.fullmatch(text):
        return (_F_MISSING, 0, 0, 0)
    if (number := _parse_number(text, ctx)) is not None:
        return number
    if match := _RX_NUMERIC.fullmatch(text):
        return _parse_numeric(match, ctx)
    if match := _RX_NUM_YM.fullmatch(text):
        return _F_MONTH, int(match.group(1)), int(match.group(2)), 0
    if match := _RX_NUM_MY.fullmatch(text):
        return _F_MONTH, int(match.group(2)), int(match.group(1)), 0
    if weekday := _WEEKDAY.match(text):
        text = text[weekday.end() :]
    return _parse_named(text, ctx)


_WHITESPACE = re.compile(r"\s+")


def _clean(value: object) -> str:
    """Trim, upper-case and collapse whitespace; drop an Excel text-prefix apostrophe."""
    text = value if isinstance(value, str) else str(value)
    return _WHITESPACE.sub(" ", text).strip().strip("'\"`").strip().upper()


def _factorize(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for null) and cleaned unique texts; works on str, object and numbers."""
    codes, uniques = factorize_values(series)
    return codes, np.array([_clean(u) for u in uniques], dtype=object)


def _fast_formats(formats: Sequence[str], dayfirst: bool) -> list[tuple[str, str | None]]:
    """Pinned formats first (tried on every value), then the dominant numeric layouts.

    Each default comes with the separators a value must have, so strptime is not
    called on values that cannot match (a failed strptime costs ~1 us).
    """
    defaults = ["%d-%m-%Y", "%d/%m/%Y"] if dayfirst else ["%m-%d-%Y", "%m/%d/%Y"]
    defaults += ["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"]
    pinned: list[tuple[str, str | None]] = [(f, None) for f in formats]
    return pinned + [(f, _separators(f)) for f in defaults if f not in formats]


_NOT_SEPARATOR = re.compile(r"%[A-Za-z]|[A-Za-z0-9]")


def _separators(text: str) -> str:
    """The punctuation and spaces of a value or format, in order ("12-01-1980" -> "--")."""
    return _NOT_SEPARATOR.sub("", text)


def _parse_fast(
    texts: np.ndarray, formats: list[tuple[str, str | None]], ctx: _Context
) -> tuple[np.ndarray, np.ndarray]:
    """Parse with ``pd.to_datetime(format=...)``; return a hit mask and (y, m, d) rows."""
    done = np.zeros(len(texts), dtype=bool)
    ymd = np.zeros((len(texts), 3), dtype=np.int64)
    shapes: np.ndarray | None = None
    for fmt, shape in formats:
        candidate = ~done
        if shape is not None:
            if shapes is None:
                shapes = np.array([_separators(t) for t in texts], dtype=object)
            candidate &= shapes == shape
        todo = np.flatnonzero(candidate)
        if len(todo) == 0:
            continue
        parsed = pd.to_datetime(pd.Series(texts[todo], dtype=object), format=fmt, errors="coerce")
        hit = parsed.notna().to_numpy()
        if not hit.any():
            continue
        got = parsed[hit]
        years = got.dt.year.to_numpy(dtype=np.int64)
        if "%y" in fmt:  # re-pivot: strptime's own pivot (1969-2068) ignores the reference date
            years = np.array([ctx.full_year(f"{y % 100:02d}") for y in years], dtype=np.int64)
        rows = todo[hit]
        ymd[rows, 0] = years
        ymd[rows, 1] = got.dt.month.to_numpy(dtype=np.int64)
        ymd[rows, 2] = got.dt.day.to_numpy(dtype=np.int64)
        done[rows] = True
    return done, ymd


def _days_in_month(year: np.ndarray, month: np.ndarray) -> np.ndarray:
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    return _DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)


def _to_days(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Build datetime64[D] from valid components."""
    months = ((year - 1970) * 12 + (month - 1)).astype("datetime64[M]")
    return months.astype("datetime64[D]") + (day - 1).astype("timedelta64[D]")


def _validate(
    form: np.ndarray, year: np.ndarray, month: np.ndarray, day: np.ndarray, ctx: _Context
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Turn parsed components into (datetime64[D], precision code, problem code) arrays."""
    precision, problem = _check_parts(form, year, month, day)
    days = _check_range(year, month, day, precision, problem, ctx)
    ok = problem == 0
    unknown_month = precision == _YEAR  # before placeholders are moved to year precision
    placeholder = np.zeros(len(form), dtype=bool)
    for placeholder_day, placeholder_month in _PLACEHOLDERS:
        placeholder |= (day == placeholder_day) & (month == placeholder_month)
    placeholder &= precision == _DAY
    problem[ok & unknown_month] = _P["date_year_only"]
    problem[ok & ((precision == _MONTH) | placeholder)] = _P["date_imprecise"]
    precision[placeholder] = _YEAR
    precision[~ok] = 0
    days = np.where(ok, np.minimum(days, np.datetime64(ctx.reference, "D")), np.datetime64("NaT"))
    return days, precision, problem


def _check_parts(
    form: np.ndarray, year: np.ndarray, month: np.ndarray, day: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Precision codes, and problems of the parts: missing, unparseable or impossible."""
    problem = np.zeros(len(form), dtype=np.int8)
    problem[form == _F_MISSING] = _P["date_missing"]
    problem[form == _F_NONE] = _P["date_unparseable"]
    is_date = np.isin(form, (_F_DATE, _F_MONTH, _F_YEAR))
    problem[is_date & np.isin(year, _UNKNOWN_YEARS)] = _P["date_missing"]

    unknown_month = (form == _F_YEAR) | np.isin(month, _UNKNOWN_PART)
    unknown_day = (form == _F_MONTH) | np.isin(day, _UNKNOWN_PART)
    precision = np.full(len(form), _DAY, dtype=np.int8)
    precision[unknown_month] = _YEAR
    precision[~unknown_month & unknown_day] = _MONTH
    bad_month = ~unknown_month & ((month < 1) | (month > 12))
    bad_day = (precision == _DAY) & ((day < 1) | (day > _days_in_month(year, month)))
    problem[(problem == 0) & (bad_month | bad_day)] = _P["date_invalid"]
    return precision, problem


def _check_range(
    year: np.ndarray,
    month: np.ndarray,
    day: np.ndarray,
    precision: np.ndarray,
    problem: np.ndarray,
    ctx: _Context,
) -> np.ndarray:
    """Flag dates after the reference date or before min_year (in place); return the days.

    A year-only date is compared by its year and a month-only one by its month,
    so "2025" is not in the future on 1 March 2025. Year-only dates are put on
    1 July and month-only dates on the 15th.
    """
    ok = problem == 0
    safe = ok & (year >= 1) & (year <= 9999)
    y = np.where(safe, year, 1970)
    m = np.where(safe & (precision != _YEAR), month, 7)
    d = np.where(safe & (precision == _DAY), day, np.where(precision == _MONTH, 15, 1))
    days = _to_days(y, m, d)
    ref = ctx.reference
    future = np.select(
        [precision == _YEAR, precision == _MONTH],
        [year > ref.year, year * 12 + month > ref.year * 12 + ref.month],
        days > np.datetime64(ref, "D"),
    )
    problem[ok & ((year > 9999) | future)] = _P["date_future"]
    problem[ok & (year < ctx.min_year)] = _P["date_too_old"]
    return days


def _check_params(
    series: object,
    formats: Sequence[str] | None,
    dayfirst: object,
    reference_date: object,
    min_year: object,
) -> tuple[list[str], datetime.date]:
    if not isinstance(series, pd.Series):
        raise TypeError("series must be a pandas Series")
    if formats is None:
        formats = []
    if isinstance(formats, str) or not isinstance(formats, Sequence):
        raise TypeError("formats must be a sequence of strptime format strings, not a string")
    if not all(isinstance(f, str) and "%" in f for f in formats):
        raise ValueError("every entry of formats must be a strptime format such as '%d-%m-%Y'")
    if any("%z" in f or "%Z" in f for f in formats):
        raise ValueError("formats must not parse time zones: dates are taken as written")
    if not isinstance(dayfirst, bool):
        raise TypeError("dayfirst must be True or False")
    reference = _reference(reference_date, "reference_date")
    if isinstance(min_year, bool) or not isinstance(min_year, int | np.integer):
        raise TypeError("min_year must be an integer")
    if not _NS_MIN_YEAR <= min_year <= reference.year:
        raise ValueError(f"min_year must be between {_NS_MIN_YEAR} and the reference year")
    if reference.year > _NS_MAX_YEAR:
        raise ValueError(f"reference_date must be before {_NS_MAX_YEAR + 1}")
    return list(formats), reference


def _reference(value: object, name: str) -> datetime.date:
    """A scalar date parameter as ``datetime.date`` (``None`` means today)."""
    if value is None:
        return datetime.date.today()
    if not isinstance(value, datetime.date | np.datetime64) or pd.isna(value):
        raise TypeError(f"{name} must be a datetime.date, datetime, pandas Timestamp or None")
    return pd.Timestamp(value).date()


def standardise_date(
    series: pd.Series,
    formats: Sequence[str] | None = None,
    *,
    dayfirst: bool = True,
    reference_date: datetime.date | None = None,
    min_year: int = 1900,
) -> pd.DataFrame:
    """Parse raw date text into a date, its precision and a problem code.

    Parameters
    ----------
    series : pd.Series
        Raw values (text; numbers and timestamps are read through their text).
    formats : sequence of str, optional
        strptime formats a source schema pins, tried before every other rule
        (e.g. ``["%d-%m-%Y"]``). A value they parse takes their reading.
    dayfirst : bool, default True
        Read ``03/04/1980`` as 3 April (Indonesian convention); False reads
        4 March. Never applied per value: see the module notes.
    reference_date : datetime.date, optional
        Dates after it are ``date_future``; it also pivots two-digit years and
        bounds Excel serials. Defaults to today.
    min_year : int, default 1900
        Dates before 1 January of this year are ``date_too_old``; at least 1678.

    Returns
    -------
    pd.DataFrame
        Same index as ``series``. ``date`` (datetime64[ns], normalised to the
        day, NaT when missing or invalid), ``date_precision`` (string:
        ``"day"``, ``"month"``, ``"year"``; <NA> when ``date`` is null) and
        ``problem`` (string code from :data:`PROBLEMS` or <NA>).

    Examples
    --------
    >>> import datetime
    >>> import pandas as pd
    >>> raw = pd.Series(["12-01-1980", "12 Agustus 1945", "29232", "1975", "01-07-1960",
    ...                  "98", "31-02-1980", "12-JAN-80"])
    >>> standardise_date(raw, reference_date=datetime.date(2025, 1, 1))
            date date_precision         problem
    0 1980-01-12            day            <NA>
    1 1945-08-12            day            <NA>
    2 1980-01-12            day            <NA>
    3 1975-07-01           year  date_year_only
    4 1960-07-01           year  date_imprecise
    5        NaT           <NA>    date_missing
    6        NaT           <NA>    date_invalid
    7 1980-01-12            day            <NA>
    """
    fmts, reference = _check_params(series, formats, dayfirst, reference_date, min_year)
    ctx = _Context(dayfirst, reference, int(min_year))
    codes, texts = _factorize(series)

    form = np.zeros(len(texts), dtype=np.int8)
    parts = np.zeros((len(texts), 3), dtype=np.int64)
    marker = np.array(
        [t in _MISSING_TEXT or bool(_ZERO_ONLY.fullmatch(t)) for t in texts], dtype=bool
    )
    form[marker] = _F_MISSING
    todo = np.flatnonzero(~marker)
    hit, ymd = _parse_fast(texts[todo], _fast_formats(fmts, dayfirst), ctx)
    form[todo[hit]] = _F_DATE
    parts[todo[hit]] = ymd[hit]
    for i in todo[~hit]:  # unique leftovers only
        f, y, m, d = _parse_text(texts[i], ctx)
        form[i] = f
        parts[i] = (y, m, d)

    days, precision, problem = _validate(form, parts[:, 0], parts[:, 1], parts[:, 2], ctx)
    # one extra slot for nulls (code -1)
    take = np.where(codes < 0, len(texts), codes)
    days = np.append(days, np.datetime64("NaT", "D"))[take]
    precision = np.append(precision, 0)[take]
    problem = np.append(problem, _P["date_missing"])[take]
    return pd.DataFrame(
        {
            "date": days.astype("datetime64[ns]"),
            "date_precision": _label(_PRECISION_CODES, precision),
            "problem": _label(_PROBLEM_CODES, problem),
        },
        index=series.index,
    )


def _label(table: tuple[str | None, ...], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Map small integer codes to a "string" array without a per-row Python loop."""
    return pd.array(list(table), dtype="string").take(codes.astype(np.intp))


def _day_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day of a datetime64[D] array (garbage where NaT: mask separately)."""
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _as_days(values: pd.Series, name: str) -> np.ndarray:
    """A datetime-like Series as datetime64[D] (wall-clock date for tz-aware values)."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_dtype(values.dtype):
        if values.isna().all():
            return np.full(len(values), np.datetime64("NaT", "D"))
        raise TypeError(f"{name} must have a datetime64 dtype; parse text with standardise_date")
    return values.to_numpy().astype("datetime64[D]")


def age_at(birth_date: pd.Series, reference_date: datetime.date | pd.Series) -> pd.Series:
    """Age in completed years at a reference date.

    A person is one year older on each birthday: the age increases on the day
    whose month and day equal those of the birth date. Someone born on
    29 February turns a year older on 1 March in common years.

    Parameters
    ----------
    birth_date : pd.Series
        datetime64 values (e.g. the ``date`` column of :func:`standardise_date`).
    reference_date : datetime.date or pd.Series
        One date for all rows, or a datetime64 Series with the same index (for
        instance each record's survey date).

    Returns
    -------
    pd.Series
        Nullable ``Int64`` named ``age``, same index; <NA> where either date is
        missing or the birth date is after the reference date.

    Examples
    --------
    >>> import datetime
    >>> import pandas as pd
    >>> born = pd.Series(pd.to_datetime(["1980-01-12", "1980-01-13", "2000-02-29", None]))
    >>> age_at(born, datetime.date(2025, 1, 12)).tolist()
    [45, 44, 24, <NA>]
    """
    if not isinstance(birth_date, pd.Series):
        raise TypeError("birth_date must be a pandas Series")
    born = _as_days(birth_date, "birth_date")
    if isinstance(reference_date, pd.Series):
        if not reference_date.index.equals(birth_date.index):
            raise ValueError("reference_date must have the same index as birth_date")
        ref = _as_days(reference_date, "reference_date")
    else:
        ref = np.full(len(born), np.datetime64(_required_date(reference_date), "D"))
    by, bm, bd = _day_parts(born)
    ry, rm, rd = _day_parts(ref)
    age = ry - by - ((rm * 100 + rd) < (bm * 100 + bd))
    valid = ~np.isnat(born) & ~np.isnat(ref) & (age >= 0)
    out = pd.arrays.IntegerArray(np.where(valid, age, 0).astype(np.int64), ~valid)
    return pd.Series(out, index=birth_date.index, name="age")


def _required_date(value: object) -> datetime.date:
    if value is None:
        raise TypeError("reference_date is required")
    return _reference(value, "reference_date")
