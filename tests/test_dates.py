"""Tests for bansos_linkage.standardisation.dates (dates of birth and ages)."""

from __future__ import annotations

import datetime as dt
import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansos_linkage.standardisation import dates as dates_module
from bansos_linkage.standardisation.dates import PRECISIONS, PROBLEMS, age_at, standardise_date

REF = dt.date(2025, 3, 1)
COLUMNS = ["date", "date_precision", "problem"]
MONTHS_ID = [
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
]


def one(value: object, **kwargs: object) -> tuple[object, object, object]:
    """(date as ISO string or None, precision, problem) for one raw value."""
    kwargs.setdefault("reference_date", REF)
    row = standardise_date(pd.Series([value], dtype=object), **kwargs).iloc[0]
    date = None if pd.isna(row["date"]) else row["date"].strftime("%Y-%m-%d")
    precision = None if pd.isna(row["date_precision"]) else row["date_precision"]
    problem = None if pd.isna(row["problem"]) else row["problem"]
    return date, precision, problem


# --- accepted layouts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12-01-1980", "1980-01-12"),
        ("12/01/1980", "1980-01-12"),
        ("12.01.1980", "1980-01-12"),
        ("12 01 1980", "1980-01-12"),
        ("1-2-1980", "1980-02-01"),
        ("1980-01-12", "1980-01-12"),
        ("1980/01/12", "1980-01-12"),
        ("19800112", "1980-01-12"),  # YYYYMMDD
        ("12011980", "1980-01-12"),  # DDMMYYYY
        ("1121980", "1980-12-01"),  # DDMMYYYY that lost its leading zero in Excel
        ("19800112.0", "1980-01-12"),
        ("1980-01-12 00:00:00", "1980-01-12"),  # pandas / Excel export
        ("1980-01-12T00:00:00", "1980-01-12"),
        ("1980-01-12 13:45:10.123", "1980-01-12"),
        ("1980-01-12T00:00:00+07:00", "1980-01-12"),
        ("12-01-1980 13:45", "1980-01-12"),
        ("12/01/1980 08.30 WIB", "1980-01-12"),
        ("29232", "1980-01-12"),  # Excel serial, 1900 date system
        ("29232.0", "1980-01-12"),
        ("29232.75", "1980-01-12"),  # 18:00 on that day
        ("12 Januari 1980", "1980-01-12"),
        ("12 januari 1980", "1980-01-12"),
        ("12 JANUARY 1980", "1980-01-12"),
        ("12 Jan 1980", "1980-01-12"),
        ("12 Jan. 1980", "1980-01-12"),
        ("12-JAN-80", "1980-01-12"),
        ("12JAN1980", "1980-01-12"),
        ("January 12, 1980", "1980-01-12"),
        ("Jan 12th, 1980", "1980-01-12"),
        ("1980 Jan 12", "1980-01-12"),
        ("Senin, 12 Januari 1980", "1980-01-12"),
        ("12 Agustus 1945", "1945-08-12"),
        ("12 Agt 1945", "1945-08-12"),
        ("12 agu 1945", "1945-08-12"),
        ("12 AGS 1945", "1945-08-12"),
        ("12 August 1945", "1945-08-12"),
        ("3 Peb 1950", "1950-02-03"),
        ("3 Pebruari 1950", "1950-02-03"),
        ("3 Feb 1950", "1950-02-03"),
        ("5 Nop 1960", "1960-11-05"),
        ("5 Nopember 1960", "1960-11-05"),
        ("2 Mei 1970", "1970-05-02"),
        ("2 May 1970", "1970-05-02"),
        ("2 Okt 1970", "1970-10-02"),
        ("2 Oct 1970", "1970-10-02"),
        ("2 Des 1970", "1970-12-02"),
        ("2 Mrt 1970", "1970-03-02"),
        ("  '12-01-1980 ", "1980-01-12"),  # Excel text prefix and padding
        ("29-02-1980", "1980-02-29"),  # leap year
    ],
)
def test_accepted_layouts(raw: str, expected: str) -> None:
    assert one(raw) == (expected, "day", None)


def test_dayfirst_resolves_ambiguity() -> None:
    assert one("03/04/1980")[0] == "1980-04-03"
    assert one("03/04/1980", dayfirst=False)[0] == "1980-03-04"
    # never silently re-read the other way round
    assert one("04/13/1980") == (None, None, "date_invalid")
    assert one("04/13/1980", dayfirst=False)[0] == "1980-04-13"
    assert one("13-04-1980", dayfirst=False) == (None, None, "date_invalid")
    # ISO is never ambiguous
    assert one("1980-04-03", dayfirst=False)[0] == "1980-04-03"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12-01-80", "1980-01-12"),
        ("12-01-25", "2025-01-12"),  # the reference year itself
        ("12-01-26", "1926-01-12"),  # never a future year
        ("12-01-00", "2000-01-12"),
        ("12-JAN-99", "1999-01-12"),
        ("Januari 45", "1945-01-15"),
    ],
)
def test_two_digit_year_pivot(raw: str, expected: str) -> None:
    assert one(raw)[0] == expected


def test_two_digit_pivot_follows_reference_date() -> None:
    assert one("12-01-30", reference_date=dt.date(2040, 1, 1))[0] == "2030-01-12"
    assert one("12-01-30", reference_date=dt.date(2025, 1, 1))[0] == "1930-01-12"


def test_eight_digits_choose_the_plausible_reading() -> None:
    assert one("19450230") == (None, None, "date_invalid")  # 30 February, not a DDMMYYYY
    assert one("19451708") == (None, None, "date_unparseable")  # no month in either reading
    assert one("17081945")[0] == "1945-08-17"  # only DDMMYYYY works
    assert one("19450817")[0] == "1945-08-17"  # only YYYYMMDD works
    assert one("20301231") == (None, None, "date_future")
    assert one("12345678") == (None, None, "date_unparseable")
    assert one("00001980") == ("1980-07-01", "year", "date_year_only")  # 00-00-1980


def test_excel_serial_only_within_plausible_range() -> None:
    assert one("10000")[0] == "1927-05-18"
    assert one("99999") == (None, None, "date_unparseable")  # year 2173
    assert one("29232", min_year=1990) == (None, None, "date_unparseable")
    assert one("12345", reference_date=dt.date(1930, 1, 1)) == (None, None, "date_unparseable")


# --- pinned formats ---------------------------------------------------------------------------


def test_pinned_format_wins_over_dayfirst() -> None:
    assert one("04/05/1980", formats=["%m/%d/%Y"])[0] == "1980-04-05"
    assert one("04/05/1980")[0] == "1980-05-04"


def test_pinned_format_with_two_digit_year_uses_our_pivot() -> None:
    # strptime alone would read 60 as 2060 (pivot 1969); births cannot be in the future
    assert one("13-04-60", formats=["%d-%m-%y"])[0] == "1960-04-13"
    assert one("13-04-20", formats=["%d-%m-%y"])[0] == "2020-04-13"


def test_values_a_pinned_format_misses_fall_back_to_the_rules() -> None:
    out = standardise_date(
        pd.Series(["1980|01|12", "12 Jan 1980", "31-02-1980"]),
        formats=["%Y|%m|%d"],
        reference_date=REF,
    )
    assert out["date"].dt.strftime("%Y-%m-%d").tolist()[:2] == ["1980-01-12", "1980-01-12"]
    assert out["problem"].tolist() == [pd.NA, pd.NA, "date_invalid"]


# --- missing, imprecise and impossible values -------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        np.nan,
        pd.NA,
        pd.NaT,
        "",
        "   ",
        "-",
        "--",
        "98",
        "9998",
        "00-00-0000",
        "0000-00-00",
        "00/00/0000",
        "0000-00-00 00:00:00",
        "0",
        "TIDAK TAHU",
        "tidak tahu",
        "TT",
        "NULL",
        "nan",
        "None",
        "98-98-9998",  # Regsosek: day, month and year unknown
        "12-05-9998",  # year unknown
        "12-05-0000",
    ],
)
def test_unknown_markers_are_missing(raw: object) -> None:
    assert one(raw) == (None, None, "date_missing")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1975", ("1975-07-01", "year", "date_year_only")),
        ("1975.0", ("1975-07-01", "year", "date_year_only")),
        ("98-98-1975", ("1975-07-01", "year", "date_year_only")),
        ("00-00-1975", ("1975-07-01", "year", "date_year_only")),
        ("01-01-1975", ("1975-01-01", "year", "date_imprecise")),
        ("01-07-1975", ("1975-07-01", "year", "date_imprecise")),
        ("31-12-1975", ("1975-12-31", "year", "date_imprecise")),
        ("1 Juli 1975", ("1975-07-01", "year", "date_imprecise")),
        ("98-05-1975", ("1975-05-15", "month", "date_imprecise")),
        ("00-05-1975", ("1975-05-15", "month", "date_imprecise")),
        ("Mei 1975", ("1975-05-15", "month", "date_imprecise")),
        ("05-1975", ("1975-05-15", "month", "date_imprecise")),
        ("1975-05", ("1975-05-15", "month", "date_imprecise")),
        ("02-01-1975", ("1975-01-02", "day", None)),  # next to a placeholder: a real date
    ],
)
def test_year_only_and_placeholder_dates(raw: str, expected: tuple[object, ...]) -> None:
    assert one(raw) == expected


def test_imprecise_dates_are_clamped_to_the_reference_date() -> None:
    assert one("2025") == ("2025-03-01", "year", "date_year_only")
    assert one("Maret 2025") == ("2025-03-01", "month", "date_imprecise")
    assert one("2026") == (None, None, "date_future")
    assert one("April 2025") == (None, None, "date_future")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("31-02-1980", "date_invalid"),
        ("29-02-1981", "date_invalid"),
        ("12-13-1980", "date_invalid"),
        ("32-01-1980", "date_invalid"),
        ("00-13-1980", "date_invalid"),
        ("1980-02-30", "date_invalid"),
        ("12-01-2030", "date_future"),
        ("02-03-2025", "date_future"),  # one day after the reference date
        ("12-01-1850", "date_too_old"),
        ("1850", "date_too_old"),
        ("garbage", "date_unparseable"),
        ("12 Foo 1980", "date_unparseable"),
        ("12-01-198", "date_unparseable"),
        ("1/2/3", "date_unparseable"),
        ("123456", "date_unparseable"),
        ("-29232", "date_unparseable"),
    ],
)
def test_impossible_values_are_rejected_with_a_reason(raw: str, problem: str) -> None:
    assert one(raw) == (None, None, problem)
    assert PROBLEMS[problem].severity == "invalid"


def test_reference_date_itself_and_min_year_boundary_are_accepted() -> None:
    assert one("01-03-2025") == ("2025-03-01", "day", None)
    assert one("02-01-1900") == ("1900-01-02", "day", None)
    assert one("31-12-1949", min_year=1950) == (None, None, "date_too_old")


# --- output shape -----------------------------------------------------------------------------


def test_output_columns_dtypes_and_index() -> None:
    index = pd.Index(["a", "b", "c", "d"], name="id")
    raw = pd.Series(["12-01-1980", None, "1975", "x"], index=index)
    out = standardise_date(raw, reference_date=REF)
    assert list(out.columns) == COLUMNS
    assert out.index.equals(index)
    assert out["date"].dtype == "datetime64[ns]"
    assert out["date_precision"].dtype == "string"
    assert out["problem"].dtype == "string"
    assert out["problem"].tolist() == [pd.NA, "date_missing", "date_year_only", "date_unparseable"]


def test_empty_series() -> None:
    out = standardise_date(pd.Series([], dtype=object), reference_date=REF)
    assert list(out.columns) == COLUMNS
    assert len(out) == 0


@pytest.mark.parametrize(
    "raw",
    [
        pd.Series(["12-01-1980", "29232"], dtype=object),
        pd.Series(["12-01-1980", "29232"], dtype="string"),
        pd.Series([pd.Timestamp("1980-01-12"), pd.Timestamp("1980-01-12 13:00")]),
        pd.Series([29232.0, 29232]),
        pd.Series(["12-01-1980", "29232"], dtype="category"),
    ],
)
def test_input_dtypes(raw: pd.Series) -> None:
    out = standardise_date(raw, reference_date=REF)
    assert (out["date"] == pd.Timestamp("1980-01-12")).all()


def test_unhashable_values_do_not_raise() -> None:
    raw = pd.Series([["12-01-1980"], {"a": 1}, "12-01-1980"], dtype=object)
    out = standardise_date(raw, reference_date=REF)
    assert out["problem"].tolist()[:2] == ["date_unparseable", "date_unparseable"]
    assert out["date"].iloc[2] == pd.Timestamp("1980-01-12")


def test_every_code_is_registered_and_prefixed() -> None:
    assert all(code.startswith("date_") for code in PROBLEMS)
    assert PROBLEMS["date_missing"].severity == "missing"
    assert PROBLEMS["date_year_only"].severity == "warning"
    assert PROBLEMS["date_imprecise"].severity == "warning"


def test_default_reference_date_is_today() -> None:
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    out = standardise_date(pd.Series([tomorrow.strftime("%d-%m-%Y"), "12-01-1980"]))
    assert out["problem"].tolist() == ["date_future", pd.NA]


# --- parameters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"formats": "%d-%m-%Y"}, TypeError),
        ({"formats": ["dd-mm-yyyy"]}, ValueError),
        ({"formats": [1]}, ValueError),
        ({"formats": ["%d-%m-%Y %z"]}, ValueError),
        ({"dayfirst": "yes"}, TypeError),
        ({"reference_date": "2025-01-01"}, TypeError),
        ({"reference_date": pd.NaT}, TypeError),
        ({"min_year": 1500}, ValueError),
        ({"min_year": 2030}, ValueError),
        ({"min_year": 1900.0}, TypeError),
        ({"min_year": True}, TypeError),
        ({"reference_date": dt.date(2300, 1, 1)}, ValueError),
    ],
)
def test_bad_parameters_raise(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        standardise_date(pd.Series(["12-01-1980"]), **kwargs)


def test_series_is_required() -> None:
    with pytest.raises(TypeError):
        standardise_date(["12-01-1980"])  # type: ignore[arg-type]


def test_reference_date_accepts_datetime_like_scalars() -> None:
    for ref in (
        dt.datetime(2025, 3, 1, 12),
        pd.Timestamp("2025-03-01"),
        np.datetime64("2025-03-01"),
    ):
        assert one("02-03-2025", reference_date=ref) == (None, None, "date_future")


# --- vectorised path agrees with the per-value rules ------------------------------------------


def test_fast_and_slow_paths_agree() -> None:
    # the same dates in layouts the fast path takes and layouts only the rules take
    days = pd.date_range("1940-01-01", "2024-12-31", freq="37D")
    fast = pd.Series(days.strftime("%d-%m-%Y"))
    slow = pd.Series(
        [f"{d.day} {MONTHS_ID[d.month - 1]} {d.year}" for d in days]  # month names
    )
    a = standardise_date(fast, reference_date=REF)
    b = standardise_date(slow, reference_date=REF)
    pd.testing.assert_frame_equal(a, b)
    assert (a["date"].to_numpy() == days.to_numpy()).all()


# --- property tests ---------------------------------------------------------------------------

messy_text = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet="0123456789-/. :TJANPEBMRSDZ", max_size=25),
    st.from_regex(r"\d{1,8}(\.\d{1,3})?", fullmatch=True),
    st.sampled_from(["98", "29232.0", "12-JAN-80", "31-02-1980", "1975", "00-00-0000"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(messy_text, max_size=20), dayfirst=st.booleans())
def test_never_raises_and_keeps_the_index(values: list[object], dayfirst: bool) -> None:
    index = pd.RangeIndex(100, 100 + 3 * len(values), 3)
    out = standardise_date(
        pd.Series(values, index=index, dtype=object), dayfirst=dayfirst, reference_date=REF
    )
    assert out.index.equals(index)
    assert list(out.columns) == COLUMNS
    assert out["problem"].dropna().isin(list(PROBLEMS)).all()
    assert out["date_precision"].dropna().isin(list(PRECISIONS)).all()
    # a date exists exactly when it has a precision, and only without an invalid/missing code
    has_date = out["date"].notna()
    assert (has_date == out["date_precision"].notna()).all()
    severities = out["problem"].map(lambda c: PROBLEMS[c].severity if pd.notna(c) else "ok")
    assert (has_date == severities.isin(["ok", "warning"])).all()
    assert (out["date"].dropna() <= pd.Timestamp(REF)).all()
    assert (out["date"].dropna() >= pd.Timestamp("1900-01-01")).all()


@settings(max_examples=300)
@given(
    day=st.dates(min_value=dt.date(1900, 1, 1), max_value=REF),
    layout=st.sampled_from(
        [
            "%d-%m-%Y",
            "%d/%m/%Y",
            "%d.%m.%Y",
            "%Y-%m-%d",
            "%Y/%m/%d",
            "%Y%m%d",
            "%d%m%Y",
            "%Y-%m-%d %H:%M:%S",
            "%d %b %Y",
            "%d %B %Y",
            "indonesian",
            "excel",
        ]
    ),
)
def test_valid_dates_round_trip(day: dt.date, layout: str) -> None:
    if layout == "indonesian":
        text = f"{day.day} {MONTHS_ID[day.month - 1]} {day.year}"
    elif layout == "excel":
        text = f"{(day - dt.date(1899, 12, 30)).days}.0"
        if day < dt.date(1927, 5, 18):  # five-digit serials only
            return
    else:
        text = day.strftime(layout)
    date, precision, problem = one(text)
    assert date == day.isoformat()
    placeholder = (day.day, day.month) in {(1, 1), (1, 7), (31, 12)}
    assert precision == ("year" if placeholder else "day")
    assert problem == ("date_imprecise" if placeholder else None)


@settings(max_examples=100)
@given(values=st.lists(st.dates(dt.date(1900, 1, 1), REF).map(str), min_size=1, max_size=30))
def test_batch_equals_value_by_value(values: list[str]) -> None:
    batch = standardise_date(pd.Series(values), reference_date=REF)
    single = pd.concat([standardise_date(pd.Series([v]), reference_date=REF) for v in values])
    pd.testing.assert_frame_equal(batch, single.set_axis(batch.index))


# --- age_at -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("1980-01-12", "2025-01-12", 45),  # birthday
        ("1980-01-12", "2025-01-11", 44),  # the day before
        ("1980-01-12", "2025-12-31", 45),
        ("2000-02-29", "2025-02-28", 24),  # no 29 February: a year older on 1 March
        ("2000-02-29", "2025-03-01", 25),
        ("2000-02-29", "2024-02-29", 24),
        ("2025-01-12", "2025-01-12", 0),  # born that day
        ("1925-03-01", "2025-03-01", 100),
    ],
)
def test_age_at_birthday_boundaries(born: str, on: str, age: int) -> None:
    out = age_at(pd.Series([pd.Timestamp(born)]), dt.date.fromisoformat(on))
    assert out.iloc[0] == age


def test_age_at_missing_and_future_births_are_na() -> None:
    born = pd.Series(pd.to_datetime(["1980-01-12", None, "2026-01-01"]), index=[7, 8, 9])
    out = age_at(born, REF)
    assert out.dtype == "Int64"
    assert out.name == "age"
    assert out.index.tolist() == [7, 8, 9]
    assert out.tolist() == [45, pd.NA, pd.NA]


def test_age_at_per_row_reference_and_other_units() -> None:
    born = pd.Series(pd.to_datetime(["1980-01-12", "1990-06-30"]).as_unit("s"))
    survey = pd.Series(pd.to_datetime(["2022-10-15", "2022-06-29"]))
    assert age_at(born, survey).tolist() == [42, 31]
    tz = born.dt.tz_localize("Asia/Jakarta")
    assert age_at(tz, dt.date(2022, 10, 15)).tolist() == [42, 32]


def test_age_at_takes_standardise_date_output() -> None:
    out = standardise_date(pd.Series(["12-01-1980", "98", "1975"]), reference_date=REF)
    assert age_at(out["date"], REF).tolist() == [45, pd.NA, 49]


def test_age_at_bad_parameters() -> None:
    with pytest.raises(TypeError):
        age_at(pd.Series(["1980-01-12"]), REF)  # text: parse it first
    with pytest.raises(TypeError):
        age_at(pd.Series([pd.Timestamp("1980-01-12")]), "2025-01-01")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        age_at(pd.Series([pd.Timestamp("1980-01-12")]), None)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        age_at(pd.Series([pd.Timestamp("1980-01-12")]), pd.Series([pd.Timestamp(REF)], index=[5]))
    assert age_at(pd.Series([None, None], dtype=object), REF).isna().all()


@settings(max_examples=300)
@given(born=st.dates(dt.date(1900, 1, 1), dt.date(2030, 12, 31)), on=st.dates())
def test_age_at_matches_calendar_arithmetic(born: dt.date, on: dt.date) -> None:
    if on.year > 2200:
        return
    expected = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    out = age_at(pd.Series([pd.Timestamp(born)]), on).iloc[0]
    if expected < 0:
        assert out is pd.NA
    else:
        assert out == expected


def test_docstring_examples_run() -> None:
    result = doctest.testmod(dates_module)
    assert result.attempted > 0
    assert result.failed == 0
