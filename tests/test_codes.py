"""Tests for bansos_linkage.standardisation.codes (sex and relationship to the head)."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansos_linkage.standardisation import codes as codes_module
from bansos_linkage.standardisation.codes import (
    PROBLEMS,
    RELATIONSHIP_CODES,
    RELATIONSHIP_LABELS,
    SEX_CODES,
    SEX_LABELS,
    normalise_key,
    standardise_code,
    standardise_relationship,
    standardise_sex,
)


def sex(value: object, codes: dict[object, str] | None = None) -> tuple[object, object]:
    row = standardise_sex(pd.Series([value], dtype=object), codes).iloc[0]
    return (None if pd.isna(row["sex"]) else row["sex"]), (
        None if pd.isna(row["problem"]) else row["problem"]
    )


def relationship(value: object, codes: dict[object, int] | None = None) -> tuple[object, object]:
    row = standardise_relationship(pd.Series([value], dtype=object), codes).iloc[0]
    return (None if pd.isna(row["relationship"]) else int(row["relationship"])), (
        None if pd.isna(row["problem"]) else row["problem"]
    )


# --- key normalisation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("1", "1"),
        ("01", "1"),
        ("001", "1"),
        ("1.0", "1"),
        ("1,00", "1"),
        ("+1", "1"),
        (1, "1"),
        (1.0, "1"),
        ("0", "0"),
        ("00", "0"),
        ("1.5", "1.5"),  # never equal to a whole-number code
        ("-1", "-1"),
        ("10", "10"),
        (" Laki-laki ", "LAKILAKI"),
        ("LAKI LAKI", "LAKILAKI"),
        ("laki_laki", "LAKILAKI"),
        ("L.", "L"),
        ("Kepala Rumah Tangga", "KEPALARUMAHTANGGA"),
        ("Orang Tua/Mertua", "ORANGTUAMERTUA"),
        ("-", ""),
        ("", ""),
    ],
)
def test_normalise_key(raw: object, key: str) -> None:
    assert normalise_key(raw) == key


@given(st.text(max_size=20))
def test_normalise_key_is_idempotent(text: str) -> None:
    key = normalise_key(text)
    assert normalise_key(key) == key


# --- sex --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "M"),
        ("2", "F"),
        ("1.0", "M"),
        ("2.0", "F"),
        ("01", "M"),
        (1, "M"),
        (2.0, "F"),
        ("L", "M"),
        ("P", "F"),
        ("l", "M"),
        (" p ", "F"),
        ("LK", "M"),
        ("PR", "F"),
        ("LAKI-LAKI", "M"),
        ("Laki-laki", "M"),
        ("LAKI LAKI", "M"),
        ("LAKILAKI", "M"),
        ("laki2", "M"),
        ("PEREMPUAN", "F"),
        ("perempuan", "F"),
        ("PRIA", "M"),
        ("Wanita", "F"),
        ("M", "M"),
        ("F", "F"),
        ("MALE", "M"),
        ("Female", "F"),
    ],
)
def test_sex_default_codes(raw: object, expected: str) -> None:
    assert sex(raw) == (expected, None)


@pytest.mark.parametrize(
    "raw", [None, np.nan, pd.NA, "", "   ", "-", "--", ".", "NULL", "nan", "TIDAK TAHU", "TT"]
)
def test_sex_missing(raw: object) -> None:
    assert sex(raw) == (None, "sex_missing")


@pytest.mark.parametrize("raw", ["3", "0", "X", "1.5", "-1", "LAKI-PEREMPUAN", "12", "W"])
def test_sex_unknown_code(raw: object) -> None:
    assert sex(raw) == (None, "sex_unknown_code")


def test_sex_schema_mapping_extends_and_overrides() -> None:
    flipped = {"1": "F", "2": "M", "W": "F"}
    assert sex("1", flipped) == ("F", None)
    assert sex("2.0", flipped) == ("M", None)
    assert sex("w", flipped) == ("F", None)
    assert sex("L", flipped) == ("M", None)  # defaults not overridden stay
    assert sex("1") == ("M", None)  # the defaults themselves are untouched


@pytest.mark.parametrize(
    ("codes", "error"),
    [
        ({"1": "L"}, ValueError),  # must map to M/F
        ({"X": "M", "x": "F"}, ValueError),  # keys collide after normalisation
        ({"-": "M"}, ValueError),  # a missing marker
        (["1", "M"], TypeError),
    ],
)
def test_sex_bad_mapping(codes: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        standardise_sex(pd.Series(["1"]), codes)  # type: ignore[arg-type]


def test_sex_output_shape() -> None:
    index = pd.Index([10, 20, 30], name="row")
    out = standardise_sex(pd.Series(["L", None, "?x"], index=index))
    assert list(out.columns) == ["sex", "problem"]
    assert out.index.equals(index)
    assert out["sex"].dtype == "string"
    assert out["problem"].dtype == "string"
    assert out["sex"].tolist() == ["M", pd.NA, pd.NA]
    assert out["problem"].tolist() == [pd.NA, "sex_missing", "sex_unknown_code"]


def test_sex_labels_cover_the_canonical_codes() -> None:
    assert set(SEX_LABELS) == {"M", "F"}
    assert set(SEX_CODES.values()) == {"M", "F"}


# --- relationship -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        *[(str(code), code) for code in range(1, 9)],
        ("01", 1),
        ("08", 8),
        ("1.0", 1),
        (3, 3),
        (5.0, 5),
        ("Kepala Keluarga", 1),
        ("KEPALA RUMAH TANGGA", 1),
        ("KRT", 1),
        ("KK", 1),
        ("Istri", 2),
        ("ISTERI", 2),
        ("Suami", 2),
        ("pasangan", 2),
        ("Suami/Istri", 2),
        ("Anak", 3),
        ("Anak Kandung", 3),
        ("ANAK TIRI", 3),
        ("anak angkat", 3),
        ("Menantu", 4),
        ("Cucu", 5),
        ("Orang Tua", 6),
        ("Mertua", 6),
        ("Orang Tua/Mertua", 6),
        ("Ayah", 6),
        ("Ibu", 6),
        ("Pembantu", 7),
        ("Pembantu Rumah Tangga", 7),
        ("PRT", 7),
        ("Lainnya", 8),
        ("Famili Lain", 8),
        ("Saudara", 8),
        ("Keponakan", 8),
        ("Lain-lain", 8),
    ],
)
def test_relationship_default_codes(raw: object, expected: int) -> None:
    assert relationship(raw) == (expected, None)


@pytest.mark.parametrize("raw", [None, "", "-", "NULL", "tidak tahu"])
def test_relationship_missing(raw: object) -> None:
    assert relationship(raw) == (None, "relationship_missing")


@pytest.mark.parametrize("raw", ["0", "9", "10", "11", "1.5", "Tetangga"])
def test_relationship_unknown_code(raw: object) -> None:
    assert relationship(raw) == (None, "relationship_unknown_code")


def test_relationship_dukcapil_numbering_through_a_schema_mapping() -> None:
    # Dukcapil SHDK: 1 kepala keluarga, 2 suami, 3 istri, 4 anak, 5 menantu, 6 cucu,
    # 7 orang tua, 8 mertua, 9 famili lain, 10 pembantu, 11 lainnya
    shdk = {"2": 2, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6, "8": 6, "9": 8, "10": 7, "11": 8}
    raw = pd.Series(["1", "3", "4", "8", "10", "11", "Anak"])
    out = standardise_relationship(raw, shdk)
    assert out["relationship"].tolist() == [1, 2, 3, 6, 7, 8, 3]
    assert out["problem"].isna().all()


@pytest.mark.parametrize("codes", [{"9": 9}, {"x": 0}, {"x": True}, {"x": "1"}, {"x": 1.5}])
def test_relationship_bad_mapping(codes: dict[object, object]) -> None:
    with pytest.raises(ValueError):
        standardise_relationship(pd.Series(["1"]), codes)  # type: ignore[arg-type]


def test_relationship_output_shape() -> None:
    index = pd.Index(["a", "b", "c"])
    out = standardise_relationship(pd.Series(["1", None, "x"], index=index))
    assert list(out.columns) == ["relationship", "problem"]
    assert out.index.equals(index)
    assert out["relationship"].dtype == "Int8"
    assert out["problem"].dtype == "string"
    assert out["relationship"].tolist() == [1, pd.NA, pd.NA]


def test_relationship_labels() -> None:
    assert RELATIONSHIP_LABELS == {
        1: "head",
        2: "spouse",
        3: "child",
        4: "child_in_law",
        5: "grandchild",
        6: "parent",
        7: "helper",
        8: "other",
    }
    assert set(RELATIONSHIP_CODES.values()) == set(RELATIONSHIP_LABELS)


# --- the generic helper -----------------------------------------------------------------------


def test_standardise_code_generic_field() -> None:
    raw = pd.Series(["ya", "Tidak", "", "x", None], index=[5, 4, 3, 2, 1])
    out = standardise_code(raw, {"YA": True, "TIDAK": False}, "owns_tv", dtype="boolean")
    assert list(out.columns) == ["owns_tv", "problem"]
    assert out.index.tolist() == [5, 4, 3, 2, 1]
    assert out["owns_tv"].dtype == "boolean"
    assert out["owns_tv"].tolist() == [True, False, pd.NA, pd.NA, pd.NA]
    assert out["problem"].tolist() == [
        pd.NA,
        pd.NA,
        "owns_tv_missing",
        "owns_tv_unknown_code",
        "owns_tv_missing",
    ]


@pytest.mark.parametrize("field", ["", "problem", "has space", 3])
def test_standardise_code_bad_field(field: object) -> None:
    with pytest.raises(ValueError):
        standardise_code(pd.Series(["1"]), {"1": "a"}, field)  # type: ignore[arg-type]


def test_standardise_code_requires_a_series() -> None:
    with pytest.raises(TypeError):
        standardise_code(["1"], {"1": "a"}, "x")  # type: ignore[arg-type]


def test_input_dtypes_and_unhashable_values() -> None:
    for raw in (
        pd.Series(["L", "P"], dtype="string"),
        pd.Series(["L", "P"], dtype="category"),
        pd.Series([1, 2]),
        pd.Series([1.0, 2.0]),
    ):
        assert standardise_sex(raw)["sex"].tolist() == ["M", "F"]
    out = standardise_sex(pd.Series([["x"], {"a": 1}, "P"], dtype=object))  # read as text
    assert out["problem"].tolist()[:2] == ["sex_unknown_code", "sex_unknown_code"]
    assert out["sex"].iloc[2] == "F"


def test_problem_codes_registered() -> None:
    assert set(PROBLEMS) == {
        "sex_missing",
        "sex_unknown_code",
        "relationship_missing",
        "relationship_unknown_code",
    }
    assert PROBLEMS["sex_missing"].severity == "missing"
    assert PROBLEMS["relationship_unknown_code"].severity == "invalid"


# --- property tests ---------------------------------------------------------------------------

raw_values = st.one_of(
    st.none(),
    st.text(max_size=15),
    st.sampled_from(list(SEX_CODES) + list(RELATIONSHIP_CODES) + ["1.0", "-", "98"]),
    st.integers(-5, 20),
    st.floats(allow_nan=True),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(raw_values, max_size=20))
def test_never_raises_keeps_index_and_one_problem(values: list[object]) -> None:
    index = pd.RangeIndex(7, 7 + len(values))
    raw = pd.Series(values, index=index, dtype=object)
    for out, field, allowed in (
        (standardise_sex(raw), "sex", set(SEX_LABELS)),
        (standardise_relationship(raw), "relationship", set(RELATIONSHIP_LABELS)),
    ):
        assert out.index.equals(index)
        assert set(out[field].dropna()) <= allowed
        # a value or a problem, never both, never neither
        assert (out[field].isna() == out["problem"].notna()).all()
        assert out["problem"].dropna().isin(list(PROBLEMS)).all()


@given(
    key=st.sampled_from(list(SEX_CODES)),
    case=st.sampled_from([str.upper, str.lower, str.title]),
    pad=st.sampled_from(["", " ", "  "]),
)
def test_sex_codes_round_trip_in_any_case_and_spacing(key: str, case: object, pad: str) -> None:
    assert sex(pad + case(key) + pad) == (SEX_CODES[key], None)  # type: ignore[operator]


@given(code=st.integers(1, 8), style=st.sampled_from(["{}", "0{}", "{}.0", "00{}", " {} "]))
def test_relationship_digits_round_trip(code: int, style: str) -> None:
    assert relationship(style.format(code)) == (code, None)


def test_docstring_examples_run() -> None:
    result = doctest.testmod(codes_module)
    assert result.attempted > 0
    assert result.failed == 0
