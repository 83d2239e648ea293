"""Tests for bansos_linkage.standardisation.addresses (address lines, RT and RW)."""

from __future__ import annotations

import doctest
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bansos_linkage.standardisation import addresses as addresses_module
from bansos_linkage.standardisation.addresses import PROBLEMS, parse_address, standardise_rt_rw

COLUMNS = ["address", "rt", "rw", "dusun", "street", "problem"]
PADDED = re.compile(r"\d{3}")


def parsed(value: object) -> dict[str, object]:
    row = parse_address(pd.Series([value], dtype=object)).iloc[0]
    return {k: (None if pd.isna(v) else v) for k, v in row.items()}


# --- RT/RW spellings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "RT 003 RW 005",
        "RT.03/RW.05",
        "RT 3/ RW 5",
        "RT003/RW005",
        "RT:3 RW:5",
        "RT/RW 003/005",
        "RT/RW: 3/5",
        "RT/RW. 03/05",
        "3/5",
        "3 / 5",
        "Rt. 03 Rw. 05",
        "rt 3 rw 5",
        "RT 03 / 05",
        "RT-3 RW-5",
        "RT 3, RW 5",
        "RT03RW05",
        "RW 05 RT 03",
        "RW. 5 / RT. 3",
    ],
)
def test_rt_rw_spellings(line: str) -> None:
    out = parsed(line)
    assert (out["rt"], out["rw"]) == ("003", "005")
    assert out["address"] is None  # nothing else in the line
    assert out["problem"] is None


@pytest.mark.parametrize(
    ("line", "rt", "rw", "address"),
    [
        ("Dusun Krajan 3/5", "003", "005", None),  # bare at the end
        ("3/5 Dusun Krajan", "003", "005", None),  # bare at the start
        ("JL. MAWAR, 3/5, KEL. SUKAMAJU", "003", "005", "JL MAWAR, KEL SUKAMAJU"),  # own part
        ("Jl. Mawar No. 3/5", None, None, "JL MAWAR NO 3/5"),  # a house number
        ("Perum Asri Blok C 3/4", None, None, "PERUM ASRI BLOK C 3/4"),  # a plot number
        ("Jl. Mawar KM 3/5", None, None, "JL MAWAR KM 3/5"),
        ("Jl. Mawar 3/5 Sukamaju", None, None, "JL MAWAR 3/5 SUKAMAJU"),  # mid-line: unclear
        ("RT 3 Desa Sukamaju", "003", None, "DESA SUKAMAJU"),
        ("RW 7", None, "007", None),
        ("RT 000 RW 000", None, None, None),  # zero means none
        ("RT - RW -", None, None, None),
        ("RT 1000 RW 2", None, "002", None),  # out of range
        ("Pertama RT 3", "003", None, "PERTAMA"),  # RT inside a word is not a keyword
        ("SRT 3", None, None, "SRT 3"),
    ],
)
def test_rt_rw_edge_cases(line: str, rt: object, rw: object, address: object) -> None:
    out = parsed(line)
    assert (out["rt"], out["rw"], out["address"]) == (rt, rw, address)


# --- dusun, street and the remaining address --------------------------------------------------


@pytest.mark.parametrize(
    ("line", "address", "dusun", "street"),
    [
        (
            "Jl. Mawar No. 5 RT.03/RW.05 Dusun Krajan",
            "JL MAWAR NO 5",
            "KRAJAN",
            "MAWAR",
        ),
        ("DSN. KRAJAN RT 001 RW 002", None, "KRAJAN", None),
        ("Dukuh Ngasem, Desa Sidomulyo", "DESA SIDOMULYO", "NGASEM", None),
        ("DKH NGASEM", None, "NGASEM", None),
        ("Lingkungan III Kel. Tegal", "KEL TEGAL", "III", None),
        ("Link. Baru", None, "BARU", None),
        ("LK. IV Kel. Sei Kera", "KEL SEI KERA", "IV", None),
        ("Banjar Dinas Kaja, Desa Sibang", "DESA SIBANG", "KAJA", None),
        ("Br. Tengah", None, "TENGAH", None),
        ("Kampung Melayu RT 5 RW 6", None, "MELAYU", None),
        ("Kp. Cibeureum RT 02/05 Desa Sukaresmi", "DESA SUKARESMI", "CIBEUREUM", None),
        ("Jorong Koto Baru", None, "KOTO BARU", None),
        ("Jalan Raya Sukamaju KM 5, RT 001/RW 002", "JL RAYA SUKAMAJU KM 5", None, "RAYA SUKAMAJU"),
        ("JLN. Merdeka No. 10", "JL MERDEKA NO 10", None, "MERDEKA"),
        ("Jl.Mawar No.12", "JL MAWAR NO 12", None, "MAWAR"),
        ("Gg. Melati II RT 04 RW 01", "GG MELATI II", None, "MELATI II"),
        ("Gang Buntu", "GG BUNTU", None, "BUNTU"),
        (
            "Jl. KH. Ahmad Dahlan Gg. Mawar No. 7",
            "JL KH AHMAD DAHLAN GG MAWAR NO 7",
            None,
            "KH AHMAD DAHLAN",
        ),
        ("Jl. Mawar, Dusun Krajan, Desa X", "JL MAWAR, DESA X", "KRAJAN", "MAWAR"),
        ("  perumahan   griya  asri ,, blok a-5 ", "PERUMAHAN GRIYA ASRI, BLOK A-5", None, None),
        ("DUSUNAN", "DUSUNAN", None, None),  # a keyword glued to letters is a word
        ("Nomor 5", "NO 5", None, None),
    ],
)
def test_dusun_street_and_address(
    line: str, address: object, dusun: object, street: object
) -> None:
    out = parsed(line)
    assert (out["address"], out["dusun"], out["street"]) == (address, dusun, street)


@pytest.mark.parametrize(
    "raw",
    [
        None,
        np.nan,
        pd.NA,
        "",
        "   ",
        "-",
        "--",
        ".",
        "NULL",
        "nan",
        "<NA>",
        "N/A",
        "TIDAK  ADA",
        "tt",
    ],
)
def test_missing_lines(raw: object) -> None:
    assert parsed(raw) == {
        "address": None,
        "rt": None,
        "rw": None,
        "dusun": None,
        "street": None,
        "problem": "address_missing",
    }


# --- separate RT/RW columns -------------------------------------------------------------------


def test_separate_columns_win_and_conflicts_are_flagged() -> None:
    index = pd.Index([11, 12, 13, 14, 15], name="id")
    lines = pd.Series(
        ["Dusun A RT 1 RW 2", "Dusun A RT 1 RW 2", "Dusun B", "Dusun C RT 3 RW 4", None],
        index=index,
    )
    rt = pd.Series(["1", "5", "07", None, "2"], index=index)
    rw = pd.Series(["2", "2", "RW 8", "0", "3"], index=index)
    out = parse_address(lines, rt=rt, rw=rw)
    assert out.index.equals(index)
    assert out["rt"].tolist() == ["001", "005", "007", "003", "002"]
    assert out["rw"].tolist() == ["002", "002", "008", "004", "003"]
    assert out["problem"].tolist() == [
        pd.NA,
        "address_rt_rw_conflict",  # RT 1 in the line, 5 in the column
        pd.NA,  # nothing in the line to disagree with
        pd.NA,  # the columns are empty: the line fills them
        "address_missing",  # missing wins over everything else
    ]


def test_only_one_separate_column() -> None:
    out = parse_address(pd.Series(["RT 1 RW 2"]), rw=pd.Series(["9"]))
    assert (out["rt"].iloc[0], out["rw"].iloc[0], out["problem"].iloc[0]) == (
        "001",
        "009",
        "address_rt_rw_conflict",
    )


@pytest.mark.parametrize("kwargs", [{"rt": pd.Series(["1"], index=[5])}, {"rw": ["1"]}])
def test_separate_columns_must_align(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        parse_address(pd.Series(["RT 1"]), **kwargs)  # type: ignore[arg-type]


# --- standardise_rt_rw ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("3", ("003", None)),
        ("003", ("003", None)),
        ("03 ", ("003", None)),
        ("0003", ("003", None)),
        ("3.0", ("003", None)),
        ("3,0", ("003", None)),
        (3, ("003", None)),
        (3.0, ("003", None)),
        ("RT 3", ("003", None)),
        ("RT.03", ("003", None)),
        ("rt:3", ("003", None)),
        ("RT 3/RW 5", ("003", None)),
        ("999", ("999", None)),
        ("0", (None, "rt_missing")),
        ("000", (None, "rt_missing")),
        ("RT 0", (None, "rt_missing")),
        ("", (None, "rt_missing")),
        ("-", (None, "rt_missing")),
        (None, (None, "rt_missing")),
        (np.nan, (None, "rt_missing")),
        ("NULL", (None, "rt_missing")),
        ("1000", (None, "rt_invalid")),
        ("3.5", (None, "rt_invalid")),
        ("-3", (None, "rt_invalid")),
        ("RW 5", (None, "rt_invalid")),  # an RW number in the RT column
        ("abc", (None, "rt_invalid")),
        ("3A", (None, "rt_invalid")),
    ],
)
def test_standardise_rt(raw: object, expected: tuple[object, object]) -> None:
    row = standardise_rt_rw(pd.Series([raw], dtype=object), "rt").iloc[0]
    got = tuple(None if pd.isna(v) else v for v in row)
    assert got == expected


def test_standardise_rw_names_its_column_and_codes() -> None:
    out = standardise_rt_rw(pd.Series(["RW 5", "RT 3/RW 5", "RT 5", "", "x"]), "rw")
    assert list(out.columns) == ["rw", "problem"]
    assert out["rw"].tolist() == ["005", "005", pd.NA, pd.NA, pd.NA]
    assert out["problem"].tolist() == [pd.NA, pd.NA, "rw_invalid", "rw_missing", "rw_invalid"]


@pytest.mark.parametrize("kind", ["RT", "dusun", None])
def test_standardise_rt_rw_bad_kind(kind: object) -> None:
    with pytest.raises(ValueError):
        standardise_rt_rw(pd.Series(["1"]), kind)  # type: ignore[arg-type]


def test_series_is_required() -> None:
    with pytest.raises(TypeError):
        parse_address(["RT 1"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        standardise_rt_rw(["1"], "rt")  # type: ignore[arg-type]


# --- output shape -----------------------------------------------------------------------------


def test_output_columns_dtypes_and_index() -> None:
    index = pd.Index(["x", "y", "z"])
    out = parse_address(pd.Series(["Dusun Krajan RT 1 RW 2", None, "Jl. Mawar"], index=index))
    assert list(out.columns) == COLUMNS
    assert out.index.equals(index)
    assert all(out[c].dtype == "string" for c in COLUMNS)


def test_empty_and_typed_inputs() -> None:
    assert list(parse_address(pd.Series([], dtype=object)).columns) == COLUMNS
    assert len(standardise_rt_rw(pd.Series([], dtype=object), "rt")) == 0
    for raw in (
        pd.Series(["RT 1 RW 2"], dtype="string"),
        pd.Series(["RT 1 RW 2"], dtype="category"),
        pd.Series([["RT 1 RW 2"]], dtype=object),  # unhashable: read as text
    ):
        assert parse_address(raw)["rt"].iloc[0] == "001"


def test_problem_codes_registered() -> None:
    assert PROBLEMS["address_missing"].severity == "missing"
    assert PROBLEMS["address_rt_rw_conflict"].severity == "warning"
    for kind in ("rt", "rw"):
        assert PROBLEMS[f"{kind}_missing"].severity == "missing"
        assert PROBLEMS[f"{kind}_invalid"].severity == "invalid"


# --- property tests ---------------------------------------------------------------------------

address_text = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet="RTWJLNOGDSUK0123456789 ./-:,;()", max_size=40),
    st.lists(
        st.sampled_from(
            ["RT", "RW", "RT/RW", "JL.", "GG", "DUSUN", "DSN.", "KP.", "NO.", "BLOK", ",", "/"]
            + ["3", "05", "003/005", "MAWAR", "KRAJAN", "LK.", "BR.", "-", ":", "BANJAR DINAS"]
        ),
        max_size=10,
    ).map(" ".join),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(address_text, max_size=15), rt=st.lists(address_text, max_size=15))
def test_never_raises_and_keeps_the_index(values: list[object], rt: list[object]) -> None:
    index = pd.RangeIndex(50, 50 - len(values), -1)
    lines = pd.Series(values, index=index, dtype=object)
    column = pd.Series((rt + [None] * len(values))[: len(values)], index=index, dtype=object)
    out = parse_address(lines, rt=column, rw=column)
    assert out.index.equals(index)
    assert list(out.columns) == COLUMNS
    assert out["problem"].dropna().isin(list(PROBLEMS)).all()
    for kind in ("rt", "rw"):
        assert all(PADDED.fullmatch(v) and v != "000" for v in out[kind].dropna())
        alone = standardise_rt_rw(column, kind)
        assert alone.index.equals(index)
        assert (alone[kind].isna() == alone["problem"].notna()).all()
    for name in ("address", "dusun", "street"):  # never empty strings, never padding
        assert all(v != "" and v == v.strip() for v in out[name].dropna())
    missing = out["problem"] == "address_missing"
    assert out.loc[missing.fillna(False), ["address", "dusun", "street"]].isna().all().all()


rt_rw_layouts = st.sampled_from(
    [
        "RT {rt:03d} RW {rw:03d}",
        "RT.{rt:02d}/RW.{rw:02d}",
        "RT {rt}/ RW {rw}",
        "RT{rt:03d}/RW{rw:03d}",
        "RT:{rt} RW:{rw}",
        "RT/RW {rt:03d}/{rw:03d}",
        "RT/RW: {rt}/{rw}",
        "{rt}/{rw}",
        "Rt. {rt:02d} Rw. {rw:02d}",
        "RT {rt:02d} / {rw:02d}",
    ]
)


@settings(max_examples=300)
@given(
    rt=st.integers(1, 999),
    rw=st.integers(1, 999),
    layout=rt_rw_layouts,
    before=st.sampled_from(["", "Dusun Krajan ", "Jl. Mawar No. 5, ", "KP. CIJAYA "]),
    after=st.sampled_from(["", " Desa Sukamaju", ", Kel. Tegal"]),
)
def test_rt_rw_round_trip(rt: int, rw: int, layout: str, before: str, after: str) -> None:
    if layout == "{rt}/{rw}" and before and after:
        return  # a bare a/b is only read at the start, the end or as its own part
    out = parsed(before + layout.format(rt=rt, rw=rw) + after)
    assert (out["rt"], out["rw"]) == (f"{rt:03d}", f"{rw:03d}")


@settings(max_examples=200)
@given(
    n=st.integers(1, 999),
    style=st.sampled_from(["{}", "{:03d}", "RT {}", "RT.{:02d}", "{}.0", " {} "]),
)
def test_standardise_rt_round_trip(n: int, style: str) -> None:
    padded = standardise_rt_rw(pd.Series([style.format(n)]), "rt")["rt"].iloc[0]
    assert padded == f"{n:03d}"
    # padded values are a fixed point
    assert standardise_rt_rw(pd.Series([padded]), "rt")["rt"].iloc[0] == padded


def test_docstring_examples_run() -> None:
    result = doctest.testmod(addresses_module)
    assert result.attempted > 0
    assert result.failed == 0
