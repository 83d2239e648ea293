"""Tests for bansos_linkage.standardisation.nik (NIK and KK numbers)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bansos_linkage.standardisation.nik import (
    PROBLEMS,
    NikParts,
    decode_nik,
    standardise_kk,
    standardise_nik,
)
from bansos_linkage.standardisation.regions import PROVINCES

NIK_COLUMNS = [
    "nik",
    "nik_birth_date",
    "nik_sex",
    "nik_region",
    "nik_province_code",
    "nik_decoded",
    "problem",
]
DECODED = ["nik_birth_date", "nik_sex", "nik_region", "nik_province_code"]
WOMAN = "3302034708900003"  # Banyumas 33.02.03, born 07-08-1990 (47 = 7 + 40), serial 0003
MAN = "3302031708900003"  # same, born 17-08-1990


def nik_problem(value: object, reference_year: int = 2025) -> object:
    return standardise_nik(pd.Series([value], dtype=object), reference_year=reference_year)[
        "problem"
    ].iloc[0]


def kk_problem(value: object) -> object:
    return standardise_kk(pd.Series([value], dtype=object))["problem"].iloc[0]


# --- decoding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("nik", "birth", "sex"),
    [
        (WOMAN, "1990-08-07", "F"),
        (MAN, "1990-08-17", "M"),
        ("3302037112850001", "1985-12-31", "F"),  # day 71 = 31 + 40
        ("3302034101010001", "2001-01-01", "F"),  # day 41 = 1 + 40
        ("3302032902000001", "2000-02-29", "M"),  # 2000 is a leap year
        ("9101014708900003", "1990-08-07", "F"),  # Papua (Kemendagri 91)
        ("9601011708900003", "1990-08-17", "M"),  # Papua Barat Daya, created 2022
    ],
)
def test_decodes_birth_date_and_sex(nik: str, birth: str, sex: str) -> None:
    out = standardise_nik(pd.Series([nik]), reference_year=2025).iloc[0]
    assert out["nik"] == nik
    assert out["nik_birth_date"] == pd.Timestamp(birth)
    assert out["nik_sex"] == sex
    assert out["nik_region"] == nik[:6]
    assert out["nik_province_code"] == nik[:2]
    assert bool(out["nik_decoded"])
    assert pd.isna(out["problem"])


@pytest.mark.parametrize(
    ("yy", "reference_year", "year"),
    [("25", 2025, 2025), ("26", 2025, 1926), ("00", 2025, 2000), ("99", 2025, 1999)],
)
def test_century_is_latest_not_after_reference_year(
    yy: str, reference_year: int, year: int
) -> None:
    out = standardise_nik(pd.Series([f"3302031708{yy}0003"]), reference_year=reference_year)
    assert out["nik_birth_date"].iloc[0].year == year


def test_leap_day_depends_on_century() -> None:
    nik = "3302032902000001"  # 29-02-00: valid in 2000, not in 1900
    assert pd.isna(nik_problem(nik, reference_year=2025))
    assert nik_problem(nik, reference_year=1999) == "nik_bad_date"


def test_default_reference_year_is_this_year() -> None:
    yy = dt.date.today().year % 100
    out = standardise_nik(pd.Series([f"3302031708{yy:02d}0003"]))
    assert out["nik_birth_date"].iloc[0].year == dt.date.today().year


def test_decode_nik_returns_parts() -> None:
    assert decode_nik(WOMAN, reference_year=2025) == NikParts(
        province_code="33",
        regency_code="3302",
        district_code="330203",
        birth_date=dt.date(1990, 8, 7),
        sex="F",
        serial="0003",
    )
    assert decode_nik(" 3302.0317.0890.0003 ", reference_year=2025).sex == "M"


@pytest.mark.parametrize(
    "bad",
    [
        "0000000000000000",
        "3.30203E+15",
        "",
        "abc",
        "3302034708900000",
        "3302033508900003",  # kept by standardise_nik (bad date) but not decoded
        "9702034708900003",  # kept (bad province) but not decoded
    ],
)
def test_decode_nik_returns_none_for_invalid(bad: str) -> None:
    assert decode_nik(bad, reference_year=2025) is None


# --- cleaning ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        " 3302034708900003 ",
        "\t3302034708900003\n",
        "3302034708900003\u00a0",
        "'3302034708900003",  # Excel text prefix
        '"3302034708900003"',
        "\u20193302034708900003\u2019",
        "3302 0347 0890 0003",
        "3302.0347.0890.0003",
        "33.02.03.470890.0003",
        "3302-0347-0890-0003",
        "003302034708900003",  # fixed-width zero padding
        "3302034708900003.0",  # float text that is exact
        "3302034708900003.00",
        "3.302034708900003E+15",  # scientific notation with all 16 digits
        "3.302.034.708.900.003",  # thousands grouping, Indonesian locale
        "3,302,034,708,900,003",
        3302034708900003,
    ],
)
def test_cleaning_recovers_the_number(raw: object) -> None:
    out = standardise_nik(pd.Series([raw], dtype=object), reference_year=2025).iloc[0]
    assert out["nik"] == WOMAN
    assert pd.isna(out["problem"])


def test_plain_number_ending_in_zero_is_kept() -> None:
    assert pd.isna(nik_problem("3302034708900010"))  # serial 0010


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("3.30203E+15", "nik_excel_scientific"),
        ("3,30203E+15", "nik_excel_scientific"),
        ("3.30203e+15", "nik_excel_scientific"),
        ("3.30203470890000E+15", "nik_excel_scientific"),  # 15 significant digits
        ("3.302034708900003E+14", "nik_excel_scientific"),  # wrong magnitude
        ("3302034708900000.0", "nik_excel_float"),  # 16th digit lost to Excel's 15 digits
        ("3.302.034.708.900.000", "nik_excel_float"),
        ("3302034708900003.5", "nik_excel_float"),
        ("9101014708900003.0", "nik_excel_float"),  # above 2**53: a float cannot hold it
        (3302034708900000.0, "nik_excel_float"),
    ],
)
def test_spreadsheet_damage_is_invalid(raw: object, problem: str) -> None:
    out = standardise_nik(pd.Series([raw], dtype=object), reference_year=2025).iloc[0]
    assert out["problem"] == problem
    assert pd.isna(out["nik"])


# --- problems ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [None, np.nan, pd.NA, "", "  ", "-", "--", "0", "000", "NULL", "null", "N/A", "NaN"]
    + ["TIDAK ADA", "tidak ada nik", "Belum Rekam", "'", "..."],
)
def test_missing_markers(raw: object) -> None:
    assert nik_problem(raw) == "nik_missing"


@pytest.mark.parametrize(
    "raw",
    [
        "0000000000000000",
        "9999999999999999",
        "3333333333333333",
        "1212121212121212",  # passes every other check
        "1101110111011101",  # repeated block of 4, passes every other check
        "1234567890123456",
        "0123456789012345",
        "9876543210987654",
        "3302030000000000",  # region code + zeros (zero date, zero serial)
        "3302039999999999",
        "3300000000000000",
    ],
)
def test_placeholders(raw: str) -> None:
    assert nik_problem(raw) == "nik_placeholder"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("33020347089O0003", "nik_not_digits"),  # letter O
        ("NIK 3302034708900003", "nik_not_digits"),
        ("\u0663\u0663\u0660\u0662", "nik_not_digits"),  # Arabic-Indic digits
        ("330203470890003", "nik_wrong_length"),
        ("33020347089000031", "nik_wrong_length"),
        ("3302034708900000", "nik_bad_serial"),  # serial 0003 after Excel's 15 digits
        ("3302033508900000", "nik_bad_serial"),  # also a bad date: nulled all the same
    ],
)
def test_unusable_numbers_are_null(raw: str, problem: str) -> None:
    out = standardise_nik(pd.Series([raw]), reference_year=2025).iloc[0]
    assert out["problem"] == problem
    assert PROBLEMS[problem].severity == "invalid"
    assert out[["nik", *DECODED, "nik_decoded"]].isna().all()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("1002034708900003", "nik_bad_province"),
        ("9702034708900003", "nik_bad_province"),  # 97 is a BPS code, not Kemendagri
        ("3300034708900003", "nik_bad_region"),  # regency 00
        ("3370034708900003", "nik_bad_region"),  # regency 70 is neither kabupaten nor kota
        ("3302004708900003", "nik_bad_region"),  # district 00
        ("3302033508900003", "nik_bad_date"),  # day 35
        ("3302037208900003", "nik_bad_date"),  # day 72
        ("3302030008900003", "nik_bad_date"),  # day 00
        ("3302031713900003", "nik_bad_date"),  # month 13
        ("3302033102900003", "nik_bad_date"),  # 31 February
        ("3302037102900003", "nik_bad_date"),  # 31 February, woman
        ("3302032902010003", "nik_bad_date"),  # 29 February 2001
        ("3302030000000001", "nik_bad_date"),  # zero date with a serial
    ],
)
def test_structural_problems_keep_the_number_undecoded(raw: str, problem: str) -> None:
    out = standardise_nik(pd.Series([f" {raw[:6]}.{raw[6:12]}.{raw[12:]}"]), reference_year=2025)
    row = out.iloc[0]
    assert row["problem"] == problem
    assert PROBLEMS[problem].severity == "warning"
    assert row["nik"] == raw  # cleaned, kept for exact agreement
    assert row[DECODED].isna().all()  # but nothing is read from it
    assert out["nik_decoded"].tolist() == [False]


def test_priority_nulling_codes_before_kept_ones() -> None:
    # all zeros also has a bad province, date and serial; the most useful code wins
    assert nik_problem("0000000000000000") == "nik_placeholder"
    assert nik_problem("1002033508900000") == "nik_bad_serial"  # also bad province and date
    assert nik_problem("1002033508900003") == "nik_bad_province"  # also bad date


def test_same_malformed_number_agrees_across_registers() -> None:
    dtks = standardise_nik(pd.Series(["3302033508900003", "9702034708900003"]))
    p3ke = standardise_nik(pd.Series(["'3302 0335 0890 0003", "97.02.03.470890.0003"]))
    assert dtks["nik"].tolist() == p3ke["nik"].tolist() == ["3302033508900003", "9702034708900003"]
    kk_a = standardise_kk(pd.Series(["3302033201150001"]))  # day 32
    kk_b = standardise_kk(pd.Series(["3302-0332-0115-0001"]))
    assert kk_a["kk_number"].tolist() == kk_b["kk_number"].tolist() == ["3302033201150001"]


def test_flagged_number_on_several_rows_keeps_its_structural_code() -> None:
    out = standardise_nik(pd.Series(["3302033508900003"] * 2), reference_year=2025)
    assert out["problem"].tolist() == ["nik_bad_date"] * 2
    assert out["nik"].tolist() == ["3302033508900003"] * 2


def test_kk_typed_as_nik() -> None:
    nik = pd.Series([WOMAN, "3302030101150001", "3302030101150001", None], index=[5, 6, 7, 8])
    kk = pd.Series(["3302030101150001", "3302030101150001", "'3302 0301 0115 0002", None])
    kk.index = nik.index
    out = standardise_nik(nik, kk=kk, reference_year=2025)
    assert out["problem"].tolist() == [pd.NA, "nik_is_kk", pd.NA, "nik_missing"]
    assert pd.isna(out.loc[6, "nik"]) and pd.isna(out.loc[6, "nik_birth_date"])
    assert out.loc[7, "nik"] == "3302030101150001"  # differs from its own row's KK


def test_flagged_kk_typed_as_nik_is_null() -> None:
    # a KK number with an impossible date is kept as a KK, but as a NIK it is someone else's
    number = "3302033201150001"
    nik = pd.Series([number, number])
    kk = pd.Series([number, "3302030101150001"])
    out = standardise_nik(nik, kk=kk, reference_year=2025)
    assert out["problem"].tolist() == ["nik_is_kk", "nik_bad_date"]
    assert out["nik"].tolist() == [pd.NA, number]
    assert out["nik_decoded"].tolist() == [pd.NA, False]
    assert standardise_kk(kk)["kk_number"].tolist() == kk.tolist()


def test_kk_must_share_the_index() -> None:
    with pytest.raises(ValueError, match="same index"):
        standardise_nik(pd.Series([WOMAN]), kk=pd.Series([WOMAN], index=[1]))


def test_duplicates_flagged_but_kept() -> None:
    nik = pd.Series([WOMAN, " 3302-0347-0890-0003", MAN, "0000000000000000", "0000000000000000"])
    out = standardise_nik(nik, reference_year=2025)
    assert out["problem"].tolist() == [
        "nik_duplicate",
        "nik_duplicate",
        pd.NA,
        "nik_placeholder",
        "nik_placeholder",
    ]
    assert out["nik"].tolist()[:3] == [WOMAN, WOMAN, MAN]
    assert out["nik_sex"].tolist()[:2] == ["F", "F"]
    assert PROBLEMS["nik_duplicate"].severity == "warning"


def test_output_shape_dtypes_and_index() -> None:
    index = pd.Index(["b", "a", "b"], name="row")
    out = standardise_nik(pd.Series([WOMAN, None, "x"], index=index), reference_year=2025)
    assert list(out.columns) == NIK_COLUMNS
    assert out.index.equals(index)
    assert out["nik_birth_date"].dtype == "datetime64[ns]"
    assert out["nik_decoded"].dtype == "boolean"
    assert out["nik_decoded"].tolist() == [True, pd.NA, pd.NA]
    for column in NIK_COLUMNS:
        if column not in ("nik_birth_date", "nik_decoded"):
            assert out[column].dtype == pd.StringDtype(), column


@pytest.mark.parametrize("dtype", [object, "string", pd.StringDtype("pyarrow")])
def test_accepts_text_dtypes(dtype: object) -> None:
    out = standardise_nik(pd.Series([WOMAN, None, "-"], dtype=dtype), reference_year=2025)
    assert out["problem"].tolist() == [pd.NA, "nik_missing", "nik_missing"]


def test_empty_input() -> None:
    out = standardise_nik(pd.Series([], dtype=object))
    assert out.empty and list(out.columns) == NIK_COLUMNS
    assert standardise_kk(pd.Series([], dtype=object)).empty


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"reference_year": "2025"}, TypeError),
        ({"reference_year": 2025.0}, TypeError),
        ({"reference_year": True}, TypeError),
        ({"reference_year": 1800}, ValueError),
        ({"reference_year": 2300}, ValueError),
    ],
)
def test_bad_parameters_raise(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        standardise_nik(pd.Series([WOMAN]), **kwargs)


def test_not_a_series_raises() -> None:
    with pytest.raises(TypeError, match="pandas Series"):
        standardise_nik([WOMAN])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="pandas Series"):
        standardise_kk([WOMAN])  # type: ignore[arg-type]


def test_problem_registry() -> None:
    assert PROBLEMS["nik_missing"].severity == "missing"
    assert PROBLEMS["kk_missing"].severity == "missing"
    invalid = {code for code, p in PROBLEMS.items() if p.severity == "invalid"}
    assert {"nik_placeholder", "nik_is_kk", "kk_bad_serial", "kk_excel_float"} <= invalid
    kept = {code for code, p in PROBLEMS.items() if p.severity == "warning"}
    structural = {f"{f}_bad_{k}" for f in ("nik", "kk") for k in ("province", "region", "date")}
    assert kept == structural | {"nik_duplicate"}
    assert all("kept" in PROBLEMS[code].description for code in structural)
    assert "kk_duplicate" not in PROBLEMS
    assert all(code.startswith(("nik_", "kk_")) for code in PROBLEMS)


# --- KK ---------------------------------------------------------------------------------------


def test_kk_valid_and_shared_by_family() -> None:
    kk = pd.Series(["3302030101150001"] * 3 + [" 3302.0301.0115.0002"], index=list("wxyz"))
    out = standardise_kk(kk)
    assert list(out.columns) == ["kk_number", "kk_region", "kk_province_code", "problem"]
    assert out.index.equals(kk.index)
    assert out["problem"].isna().all()  # families share a KK: no duplicate flag
    assert out["kk_number"].tolist()[-1] == "3302030101150002"
    assert out["kk_region"].tolist() == ["330203"] * 4
    assert out["kk_province_code"].tolist() == ["33"] * 4


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "kk_missing"),
        ("TIDAK ADA", "kk_missing"),
        ("3.30203E+15", "kk_excel_scientific"),
        ("3302030101150000.0", "kk_excel_float"),
        ("33020301011500x1", "kk_not_digits"),
        ("33020301011501", "kk_wrong_length"),
        ("0000000000000000", "kk_placeholder"),
        ("3302030000000000", "kk_placeholder"),
        ("1002030101150001", "kk_bad_province"),
        ("3300030101150001", "kk_bad_region"),
        ("3302034101150001", "kk_bad_date"),  # no +40 for a registration date
        ("3302033201150001", "kk_bad_date"),
        ("3302030113150001", "kk_bad_date"),
        ("3302033002150001", "kk_bad_date"),
        ("3302030101150000", "kk_bad_serial"),
    ],
)
def test_kk_problems(raw: object, problem: str) -> None:
    out = standardise_kk(pd.Series([raw], dtype=object)).iloc[0]
    assert out["problem"] == problem
    assert out[["kk_region", "kk_province_code"]].isna().all()
    if PROBLEMS[problem].severity == "warning":  # a structural flag: kept, not decoded
        assert out["kk_number"] == raw
    else:
        assert pd.isna(out["kk_number"])


def test_kk_leap_day() -> None:
    assert pd.isna(kk_problem("3302032902160001"))
    assert kk_problem("3302032902150001") == "kk_bad_date"


# --- properties -------------------------------------------------------------------------------

messy_text = st.one_of(
    st.text(),
    st.from_regex(r"[0-9 .,\-eE+'\"]{0,24}", fullmatch=True),
    st.none(),
    st.just(float("nan")),
    st.integers(),
    st.floats(),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(messy_text, max_size=20), data=st.data())
def test_never_raises_and_keeps_index(values: list, data: st.DataObject) -> None:
    index = data.draw(
        st.lists(st.integers(), min_size=len(values), max_size=len(values)), label="index"
    )
    series = pd.Series(values, index=index, dtype=object)
    out = standardise_nik(series, kk=series.iloc[::-1].set_axis(series.index), reference_year=2025)
    assert out.index.equals(series.index)
    assert set(out["problem"].dropna()) <= set(PROBLEMS)
    severity = out["problem"].map(lambda code: PROBLEMS[code].severity, na_action="ignore")
    kept = (out["problem"].isna() | (severity == "warning")).to_numpy()
    decoded = (out["problem"].isna() | (out["problem"] == "nik_duplicate")).to_numpy()
    assert (out["nik"].notna().to_numpy() == kept).all()
    assert out.loc[kept, "nik"].str.fullmatch("[0-9]{16}").all()
    assert (out["nik_decoded"].isna().to_numpy() == ~kept).all()
    assert (out["nik_decoded"].fillna(False).to_numpy(dtype=bool) == decoded).all()
    for column in DECODED:
        assert (out[column].notna().to_numpy() == decoded).all(), column
    kk = standardise_kk(series)
    assert kk.index.equals(series.index)
    kk_severity = kk["problem"].map(lambda code: PROBLEMS[code].severity, na_action="ignore")
    kk_kept = (kk["problem"].isna() | (kk_severity == "warning")).to_numpy()
    assert (kk["kk_number"].notna().to_numpy() == kk_kept).all()
    assert (kk["kk_region"].notna() == kk["problem"].isna()).all()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.one_of(messy_text, st.from_regex(r"[0-9]{16}", fullmatch=True)), max_size=20)
)
def test_standardising_the_output_again_changes_nothing(values: list) -> None:
    series = pd.Series(values, dtype=object)
    kk = series.iloc[::-1].reset_index(drop=True)
    once = standardise_nik(series, kk=kk, reference_year=2025)
    kept = once["nik"].notna().to_numpy()
    twice = standardise_nik(once["nik"], reference_year=2025)
    pd.testing.assert_frame_equal(twice[kept], once[kept])
    assert (twice.loc[~kept, "problem"] == "nik_missing").all()
    kk_once = standardise_kk(series)
    kk_twice = standardise_kk(kk_once["kk_number"])
    kk_kept = kk_once["kk_number"].notna().to_numpy()
    pd.testing.assert_frame_equal(kk_twice[kk_kept], kk_once[kk_kept])


@st.composite
def valid_niks(draw: st.DrawFn) -> tuple[str, dt.date, str]:
    province = draw(st.sampled_from(sorted(PROVINCES)))
    regency = draw(st.one_of(st.integers(1, 69), st.integers(71, 99)))
    district = draw(st.integers(1, 99))
    birth = draw(st.dates(dt.date(1926, 1, 1), dt.date(2025, 12, 31)))
    sex = draw(st.sampled_from("MF"))
    serial = draw(st.integers(1, 9999))
    day = birth.day + (40 if sex == "F" else 0)
    nik = f"{province}{regency:02d}{district:02d}{day:02d}{birth:%m%y}{serial:04d}"
    assume(len(set(nik[6:])) > 1 and nik != nik[:2] * 8 and nik != nik[:4] * 4)
    return nik, birth, sex


@settings(max_examples=300)
@given(case=valid_niks(), separator=st.sampled_from(["", " ", ".", "-"]))
def test_valid_nik_round_trips(case: tuple[str, dt.date, str], separator: str) -> None:
    nik, birth, sex = case
    written = separator.join([nik[:6], nik[6:12], nik[12:]])
    out = standardise_nik(pd.Series([written, nik]), reference_year=2025)
    assert out["nik"].tolist() == [nik, nik]
    assert out["problem"].tolist() == ["nik_duplicate", "nik_duplicate"]
    parts = decode_nik(written, reference_year=2025)
    assert parts is not None
    assert parts.birth_date == birth
    assert parts.sex == sex
    assert parts.district_code == nik[:6] and parts.regency_code == nik[:4]
    assert parts.province_code == nik[:2] and parts.serial == nik[12:]
