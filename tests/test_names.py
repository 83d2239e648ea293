"""Indonesian name standardisation: the cases of the domain notes, and properties."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bansos_linkage.standardisation.names import (
    NAME_COLUMNS,
    _parse,
    _parse_uniques,
    modernise_spelling,
    standardise_name,
)


def one(raw: str) -> pd.Series:
    return standardise_name(pd.Series([raw])).iloc[0]


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Soeharto", "Suharto"),
        ("Djoko", "Joko"),
        ("Moh. Ridwan", "Muhammad Ridwan"),
        ("Mochammad Ridwan", "MUHAMAD RIDWAN"),
        ("M. Yusuf", "Muhammad Yusuf"),
        ("Mhd Yusuf", "Muhammad Yusuf"),
        ("Abd. Rahman", "Abdul Rahman"),
        ("St. Nurhaliza", "Siti Nurhaliza"),
        ("Achmad Tjahjono", "Ahmad Cahyono"),
        ("Joesoef", "Yusuf"),
        ("Sjahrir", "Syahrir"),
        ("Njoto", "Nyoto"),
        ("Hj. Siti Aminah, S.Pd.", "SITI AMINAH"),
        ("Drs. H. Achmad Tjahjono, M.Si", "Ahmad Cahyono"),
        ("siti   aminah", "SITI AMINAH"),
        ("Nur-Hayati", "Nur Hayati"),
    ],
)
def test_variants_get_one_canonical_name(a, b):
    assert one(a)["name"] == one(b)["name"]


@pytest.mark.parametrize(
    ("raw", "name", "column", "value"),
    [
        ("Hj. Siti Aminah, S.Pd.", "SITI AMINAH", "name_title", "HJ SPD"),
        ("Drs. H. Achmad Tjahjono, M.Si", "AHMAD CAHYONO", "name_title", "DRS H MSI"),
        ("I Wayan Sudarma", "SUDARMA", "name_birth_order", "WAYAN"),
        ("I Wayan Sudarma", "SUDARMA", "name_nobility", "I"),
        ("Ni Luh Putu Ayu Lestari", "AYU LESTARI", "name_birth_order", "LUH PUTU"),
        ("Ida Bagus Made Oka", "OKA", "name_nobility", "IDA BAGUS"),
        ("Anak Agung Ngurah Rai", "RAI", "name_nobility", "ANAK AGUNG NGURAH"),
        ("Made Arya", "ARYA", "name_birth_order", "MADE"),
        ("Hanum binti Ismail", "HANUM", "name_patronym", "ISMAIL"),
        ("Ahmad bin Abd. Karim", "AHMAD", "name_patronym", "ABDUL KARIM"),
        ("Lalu Muhammad Zaini", "MUHAMMAD ZAINI", "name_nobility", "LALU"),
        ("Baiq Nurul", "NURUL", "name_nobility", "BAIQ"),
        ("Andi Baso", "BASO", "name_nobility", "ANDI"),
        ("Andi Baso Daeng Mangawing", "BASO", "name_nobility", "ANDI DAENG MANGAWING"),
        ("Teuku Umar", "UMAR", "name_nobility", "TEUKU"),
        ("Cut Nyak Dhien", "NYAK DHIEN", "name_nobility", "CUT"),
        ("R.A. Kartini", "KARTINI", "name_nobility", "RA"),
        ("Rohani boru Siregar", "ROHANI SIREGAR", "name_title", "BORU"),
        ("Budi Santoso, SE", "BUDI SANTOSO", "name_title", "SE"),
    ],
)
def test_parts_are_moved_to_their_own_column_not_deleted(raw, name, column, value):
    row = one(raw)
    assert row["name"] == name
    assert row[column] == value


@pytest.mark.parametrize(
    "raw",
    ["SUPARMI", "Liem Swie King", "Tan Mei Hwa", "Parlindungan Siregar", "Budi Sutanto"],
)
def test_ordinary_names_are_only_upper_cased(raw):
    row = one(raw)
    assert row["name"] == raw.upper()
    assert all(pd.isna(row[c]) for c in ("name_title", "name_nobility", "name_patronym"))


def test_stripping_never_empties_a_name():
    assert one("I Wayan")["name"] == "WAYAN"
    assert one("Ibu")["name"] == "IBU"
    assert one("H. Ketut")["name"] == "KETUT"


def test_undotted_ambiguous_suffix_stays_but_dotted_goes():
    assert one("Budi Santoso SE")["name"] == "BUDI SANTOSO SE"
    assert one("Budi Santoso S.E.")["name"] == "BUDI SANTOSO"
    assert one("Budi Santoso SPd")["name"] == "BUDI SANTOSO"


def test_birth_order_word_alone_is_a_personal_name():
    # one-word "Ketut" is a name; not Balinese-shaped two-word name
    assert one("Ketut")["name"] == "KETUT"
    assert pd.isna(one("Ketut")["name_birth_order"])


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "name_missing"),
        ("", "name_missing"),
        ("  -  ", "name_missing"),
        ("TIDAK ADA", "name_missing"),
        ("A. B.", "name_initials_only"),
        ("Siti2 Aminah", "name_has_digits"),
        ("12345", "name_no_letters"),
    ],
)
def test_problems(raw, problem):
    assert one(raw)["problem"] == problem


def test_tokens_and_phonetic_keys():
    row = one("Mochammad Rizky")
    assert row["name_tokens"] == ["MUHAMMAD", "RIZKY"]
    assert row["name_phonetic"] == one("Muhamad Riski")["name_phonetic"]


def test_output_shape_and_dtypes():
    s = pd.Series(["Siti", None, "Siti"], index=[10, 5, 7])
    out = standardise_name(s)
    assert list(out.index) == [10, 5, 7]
    assert list(out.columns) == [*NAME_COLUMNS, "problem"]
    assert out["name"].dtype == "string"
    assert out.loc[10, "name"] == out.loc[7, "name"] == "SITI"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("SOEKARNO", "SUKARNO"),
        ("TJAHJO", "CAHYO"),
        ("DJOJO", "JOYO"),
        ("CHOIRUL", "KHOIRUL"),
        ("RACHMAT", "RAHMAT"),
        ("JAHJA", "YAHYA"),
        ("JOKO", "JOKO"),
        ("SENJA", "SENJA"),
    ],
)
def test_modernise_spelling(old, new):
    assert modernise_spelling(old) == new


names = st.text(
    alphabet=st.sampled_from(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdeijkmnou.,-'2")), max_size=40
)


@given(st.lists(st.one_of(st.none(), st.text(max_size=30), names), max_size=20))
@settings(max_examples=200, deadline=None)
def test_never_raises_and_keeps_the_index(values):
    s = pd.Series(values, index=range(100, 100 + len(values)), dtype=object)
    out = standardise_name(s)
    assert out.index.equals(s.index)
    assert (out["name"].isna() == out["problem"].isin(["name_missing", "name_no_letters"])).all()


@given(names)
@settings(max_examples=300, deadline=None)
def test_idempotent(raw):
    first = one(raw)["name"]
    if pd.notna(first):
        assert one(first)["name"] == first


@given(st.lists(names, min_size=1, max_size=30, unique=True))
@settings(max_examples=100, deadline=None)
def test_vectorised_fast_path_agrees_with_full_parse(values):
    uniques = pd.Series(values, dtype=object).to_numpy()
    assert _parse_uniques(uniques) == [_parse(v) for v in values]
