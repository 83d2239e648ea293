"""Tests for bansos_linkage.standardisation.regions (Kemendagri and BPS region codes)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansos_linkage.standardisation.regions import (
    BPS_PROVINCES,
    PROBLEMS,
    PROVINCES,
    as_text,
    compose_region_code,
    province_name,
    read_crosswalk,
    standardise_region_code,
)

COLUMNS = [
    "province_code",
    "regency_code",
    "district_code",
    "village_code",
    "region_scheme",
    "problem",
]
LEVELS = COLUMNS[:4]


def parse(value: object, scheme: str = "kemendagri", **kwargs: object) -> pd.Series:
    return standardise_region_code(pd.Series([value], dtype=object), scheme, **kwargs).iloc[0]


def levels(row: pd.Series) -> list[object]:
    return [None if pd.isna(v) else v for v in row[LEVELS]]


# --- provinces --------------------------------------------------------------------------------


def test_province_table() -> None:
    assert len(PROVINCES) == 38 and len(BPS_PROVINCES) == 38
    assert PROVINCES["11"] == "Aceh" and PROVINCES["33"] == "Jawa Tengah"
    papua = {"91": "Papua", "92": "Papua Barat", "93": "Papua Selatan", "94": "Papua Tengah"}
    papua |= {"95": "Papua Pegunungan", "96": "Papua Barat Daya"}
    assert {code: PROVINCES[code] for code in papua} == papua
    # BPS numbers Papua differently; the names are the same 38 provinces
    assert BPS_PROVINCES["91"] == "Papua Barat" and BPS_PROVINCES["94"] == "Papua"
    assert BPS_PROVINCES["97"] == "Papua Pegunungan" and "93" not in BPS_PROVINCES
    assert sorted(PROVINCES.values()) == sorted(BPS_PROVINCES.values())


@pytest.mark.parametrize(
    ("code", "scheme", "name"),
    [
        ("31", "kemendagri", "DKI Jakarta"),
        (33, "kemendagri", "Jawa Tengah"),
        ("33.02", "kemendagri", "Jawa Tengah"),
        ("92", "kemendagri", "Papua Barat"),
        ("92", "bps", "Papua Barat Daya"),
        ("97", "kemendagri", None),
        ("10", "bps", None),
    ],
)
def test_province_name(code: object, scheme: str, name: str | None) -> None:
    assert province_name(code, scheme=scheme) == name


def test_mappings_are_read_only() -> None:
    with pytest.raises(TypeError):
        PROVINCES["99"] = "X"  # type: ignore[index]


# --- Kemendagri -------------------------------------------------------------------------------

VILLAGE = ["33", "3302", "330203", "3302032001"]


@pytest.mark.parametrize(
    "raw",
    [
        "33.02.03.2001",
        "3302032001",
        "33.2.3.2001",
        " 33.02.03.2001 ",
        "'3302032001",
        "33-02-03-2001",
        "33 02 03 2001",
        "33/02/03/2001",
        "33.02.03.2001.",
        "3302032001.0",  # went through a float
        3302032001,
    ],
)
def test_kemendagri_village_forms(raw: object) -> None:
    row = parse(raw)
    assert levels(row) == VILLAGE
    assert row["region_scheme"] == "kemendagri"
    assert pd.isna(row["problem"])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("33", ["33", None, None, None]),
        ("3302", ["33", "3302", None, None]),
        ("33.2", ["33", "3302", None, None]),
        ("330203", ["33", "3302", "330203", None]),
        ("33.02.03", ["33", "3302", "330203", None]),
        ("3371", ["33", "3371", None, None]),  # kota
        ("3302000000", ["33", "3302", None, None]),  # zero-filled to 10 digits
        ("33.02.03.0000", ["33", "3302", "330203", None]),
        ("3300000000", ["33", None, None, None]),
    ],
)
def test_partial_levels(raw: str, expected: list[str | None]) -> None:
    row = parse(raw)
    assert levels(row) == expected
    assert pd.isna(row["problem"])


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "region_missing"),
        ("", "region_missing"),
        ("-", "region_missing"),
        ("0", "region_missing"),
        ("0000000000", "region_missing"),
        ("TIDAK ADA", "region_missing"),
        ("33.O2", "region_not_digits"),
        ("Kab. Banyumas", "region_not_digits"),
        ("\u0663\u0663", "region_not_digits"),  # Arabic-Indic digits
        ("331", "region_bad_length"),
        ("33020", "region_bad_length"),
        ("33020320011", "region_bad_length"),
        ("33.02.03.20011", "region_bad_length"),
        ("33.002", "region_bad_length"),
        ("33.02.03.2001.1", "region_bad_length"),
        ("10", "region_bad_province"),
        ("97.01", "region_bad_province"),  # BPS Papua Pegunungan, not a Kemendagri code
        ("3370", "region_bad_regency"),
        ("33.00.03", "region_bad_regency"),
        ("33.02.00.2001", "region_bad_district"),
    ],
)
def test_kemendagri_problems(raw: object, problem: str) -> None:
    row = parse(raw)
    assert row["problem"] == problem
    assert row[LEVELS].isna().all() and pd.isna(row["region_scheme"])


@pytest.mark.parametrize("village", ["1001", "2001", "3001"])  # kelurahan, desa, desa adat
def test_village_kinds(village: str) -> None:
    row = parse(f"33.02.03.{village}")
    assert row["village_code"] == f"330203{village}"
    assert pd.isna(row["problem"])


def test_unusual_village_is_a_warning_and_kept() -> None:
    row = parse("33.02.03.5001")
    assert row["problem"] == "region_unusual_village"
    assert row["village_code"] == "3302035001"
    assert PROBLEMS["region_unusual_village"].severity == "warning"


# --- BPS and crosswalks -----------------------------------------------------------------------


def test_bps_without_crosswalk_stays_bps() -> None:
    row = parse("3173010001", "bps")
    assert levels(row) == ["31", "3173", "3173010", "3173010001"]
    assert row["region_scheme"] == "bps"
    assert pd.isna(row["problem"])


@pytest.mark.parametrize("raw", ["31.73.010.001", "31.73.10.1", "3173010001"])
def test_bps_forms(raw: str) -> None:
    assert parse(raw, "bps")["village_code"] == "3173010001"


def test_same_digits_differ_between_schemes() -> None:
    # 10 digits parse in both schemes but split differently: no scheme is assumed
    assert parse("3173010001", "kemendagri")["district_code"] == "317301"
    assert parse("3173010001", "bps")["district_code"] == "3173010"
    assert parse("97.01", "bps")["regency_code"] == "9701"
    assert parse("93.01", "bps")["problem"] == "region_bad_province"


def test_bps_village_part_is_not_checked_for_desa_kind() -> None:
    assert pd.isna(parse("3173010501", "bps")["problem"])


CROSSWALK = pd.DataFrame(
    {
        "bps_code": ["3173", "31.73.010.001", "94"],
        "kemendagri_code": ["31.71", "31.71.01.1001", "91"],
    }
)


@pytest.mark.parametrize(
    ("raw", "expected", "scheme", "problem"),
    [
        # BPS 3173 Jakarta Pusat is Kemendagri 31.71
        ("3173", ["31", "3171", None, None], "kemendagri", None),
        ("3173010001", ["31", "3171", "317101", "3171011001"], "kemendagri", None),
        ("3173010002", ["31", "3171", None, None], "kemendagri", "region_translated_coarser"),
        ("94", ["91", None, None, None], "kemendagri", None),  # Papua
        ("9401", ["91", None, None, None], "kemendagri", "region_translated_coarser"),
        ("3171", ["31", "3171", None, None], "bps", "region_not_in_crosswalk"),
        ("3201010001", ["32", "3201", "3201010", "3201010001"], "bps", "region_not_in_crosswalk"),
    ],
)
def test_crosswalk_translation(
    raw: str, expected: list[str | None], scheme: str, problem: str | None
) -> None:
    row = parse(raw, "bps", crosswalk=CROSSWALK)
    assert levels(row) == expected
    assert row["region_scheme"] == scheme
    assert (pd.isna(row["problem"]) and problem is None) or row["problem"] == problem


def test_crosswalk_keeps_invalid_rows_invalid() -> None:
    assert parse("93.01", "bps", crosswalk=CROSSWALK)["problem"] == "region_bad_province"
    assert parse(None, "bps", crosswalk=CROSSWALK)["problem"] == "region_missing"


def test_crosswalk_needs_bps_scheme() -> None:
    with pytest.raises(ValueError, match="scheme='bps'"):
        standardise_region_code(pd.Series(["3173"]), "kemendagri", CROSSWALK)


@pytest.mark.parametrize("scheme", ["auto", "BPS", ""])
def test_unknown_scheme_raises(scheme: str) -> None:
    with pytest.raises(ValueError, match="no 'auto'"):
        standardise_region_code(pd.Series(["33"]), scheme)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "crosswalk.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_crosswalk(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bps_code,kemendagri_code,nama\n31.73,31.71,Jakarta Pusat\n94,91,Papua\n"
    )
    frame = read_crosswalk(path)
    assert frame.to_dict("list") == {"bps_code": ["3173", "94"], "kemendagri_code": ["3171", "91"]}
    assert frame["bps_code"].dtype == pd.StringDtype()
    row = parse("3173", "bps", crosswalk=frame)
    assert row["regency_code"] == "3171" and row["region_scheme"] == "kemendagri"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bps,kemendagri_code\n3173,3171\n", r"missing column\(s\) \['bps_code'\]"),
        ("bps_code,kemendagri_code\n3173,3171\n3174,x\n", "row 2: kemendagri_code 'x'"),
        ("bps_code,kemendagri_code\n3173,3171\n93,93\n", "row 2: bps_code '93'"),
        ("bps_code,kemendagri_code\n3173,\n", "row 1: kemendagri_code ''"),
        ("bps_code,kemendagri_code\n3173,317101\n", "row 1: .* different levels"),
        ("bps_code,kemendagri_code\n3173,3171\n31.73,3172\n", "row 2: .* at .*row 1"),
        ("", "empty"),
    ],
)
def test_read_crosswalk_errors_name_file_and_row(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=message) as info:
        read_crosswalk(path)
    assert str(path) in str(info.value)


def test_repeated_identical_crosswalk_rows_are_fine(tmp_path: Path) -> None:
    path = write(tmp_path, "bps_code,kemendagri_code\n3173,3171\n31.73,31.71\n")
    assert len(read_crosswalk(path)) == 1


def test_crosswalk_frame_is_validated() -> None:
    bad = pd.DataFrame({"bps_code": ["3173"], "kemendagri_code": ["3170"]})
    with pytest.raises(ValueError, match="crosswalk row 1"):
        standardise_region_code(pd.Series(["3173"]), "bps", bad)


# --- compose ----------------------------------------------------------------------------------


def test_compose_regsosek_levels() -> None:
    index = pd.Index([10, 11, 12, 13, 14])
    prov = pd.Series(["33", "33", "31", None, "33.0"], index=index)
    kab = pd.Series(["2", "2", "73", "1", 2.0], index=index, dtype=object)
    kec = pd.Series(["30", None, "10", "1", "30"], index=index)
    desa = pd.Series(["1", "1", "1", "1", "-"], index=index)
    code = compose_region_code(prov, kab, kec, desa, scheme="bps")
    assert code.index.equals(index) and code.dtype == pd.StringDtype()
    assert code.tolist() == ["33.02.030.001", "33.02", "31.73.010.001", pd.NA, "33.02.030"]
    out = standardise_region_code(code, scheme="bps")
    assert out["village_code"].tolist()[:3] == ["3302030001", pd.NA, "3173010001"]
    assert out["district_code"].iloc[4] == "3302030"


def test_compose_kemendagri_widths_and_fewer_levels() -> None:
    code = compose_region_code(pd.Series([33]), pd.Series([2]), pd.Series([3]), pd.Series([2001]))
    assert code.tolist() == ["33.02.03.2001"]
    assert compose_region_code(pd.Series(["33"]), pd.Series(["71"])).tolist() == ["33.71"]


def test_compose_keeps_bad_parts_for_the_parser_to_report() -> None:
    code = compose_region_code(pd.Series(["33"]), pd.Series(["x"]), pd.Series(["123"]))
    assert code.tolist() == ["33.x.123"]
    assert standardise_region_code(code)["problem"].iloc[0] == "region_not_digits"


def test_compose_needs_one_index() -> None:
    with pytest.raises(ValueError, match="index"):
        compose_region_code(pd.Series(["33"]), pd.Series(["2"], index=[5]))


# --- output contract --------------------------------------------------------------------------


def test_output_columns_dtypes_and_index() -> None:
    index = pd.Index(["x", "x", "y"])
    out = standardise_region_code(pd.Series(["33.02", None, "bad"], index=index))
    assert list(out.columns) == COLUMNS
    assert out.index.equals(index)
    assert all(out[c].dtype == pd.StringDtype() for c in COLUMNS)
    assert out["problem"].tolist() == [pd.NA, "region_missing", "region_not_digits"]


@pytest.mark.parametrize("dtype", [object, "string", pd.StringDtype("pyarrow")])
def test_accepts_text_dtypes(dtype: object) -> None:
    out = standardise_region_code(pd.Series(["3302032001", None], dtype=dtype))
    assert out["village_code"].tolist() == ["3302032001", pd.NA]


def test_as_text_repairs_invalid_unicode() -> None:
    out = as_text(pd.Series(["\udc8033", None], dtype=object))
    assert out.iloc[0].endswith("33") and pd.isna(out.iloc[1])
    with pytest.raises(TypeError):
        as_text(["33"])  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------------------

raw_values = st.one_of(
    st.text(),
    st.from_regex(r"[0-9 .\-/']{0,16}", fullmatch=True),
    st.none(),
    st.integers(),
    st.floats(),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(raw_values, max_size=15), scheme=st.sampled_from(["kemendagri", "bps"]))
def test_never_raises_and_keeps_index(values: list, scheme: str) -> None:
    series = pd.Series(values, index=[f"r{i}" for i in range(len(values))][::-1], dtype=object)
    crosswalk = CROSSWALK if scheme == "bps" else None
    out = standardise_region_code(series, scheme, crosswalk)
    assert out.index.equals(series.index)
    assert set(out["problem"].dropna()) <= set(PROBLEMS)
    assert (out["province_code"].notna() == out["region_scheme"].notna()).all()
    parts = [series] * 4
    assert compose_region_code(*parts, scheme=scheme).index.equals(series.index)


@st.composite
def kemendagri_codes(draw: st.DrawFn) -> tuple[list[str], str, str]:
    province = draw(st.sampled_from(sorted(PROVINCES)))
    regency = draw(st.one_of(st.integers(1, 69), st.integers(71, 99)))
    district = draw(st.integers(1, 99))
    village = draw(st.integers(1000, 3999))
    parts = [province, f"{regency:02d}", f"{district:02d}", str(village)]
    depth = draw(st.integers(1, 4))
    unpadded = ".".join(str(int(p)) if i < 3 else p for i, p in enumerate(parts[:depth]))
    return parts[:depth], "".join(parts[:depth]), unpadded


@settings(max_examples=200)
@given(case=kemendagri_codes())
def test_valid_codes_round_trip(case: tuple[list[str], str, str]) -> None:
    parts, undotted, unpadded = case
    out = standardise_region_code(pd.Series([undotted, ".".join(parts), unpadded]))
    assert out["problem"].isna().all()
    expected = ["".join(parts[: i + 1]) for i in range(len(parts))] + [None] * (4 - len(parts))
    for _, row in out.iterrows():
        assert levels(row) == expected
