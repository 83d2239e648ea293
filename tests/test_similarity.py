"""The Indonesian phonetic key."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bansos_linkage.linkage.similarity import phonetic_key, phonetic_keys


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("MUHAMMAD", "MUHAMAD"),
        ("MUHAMMAD", "MOHAMMAD"),
        ("YUSUF", "YUSUP"),
        ("FATIMAH", "FATIMA"),
        ("KHADIJAH", "HADIJAH"),
        ("RIZKY", "RISKI"),
        ("RIZKI", "RISKY"),
        ("ZULKIFLI", "DZULKIFLI"),
        ("NURHAYATI", "NURHAYATY"),
        ("SYAHRIR", "SAHRIR"),
        ("AINI", "AINY"),
        ("TAUFIK", "TAUFIQ"),
    ],
)
def test_spelling_variants_share_a_key(a, b):
    assert phonetic_key(a) == phonetic_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("SITI", "SETIAWAN"),
        ("AGUS", "AGUNG"),
        ("BUDI", "BAYU"),
        ("DEWI", "DWI"),
        ("MUHAMMAD", "MAHMUD"),
        ("JOKO", "YOKO"),
    ],
)
def test_different_names_keep_different_keys(a, b):
    assert phonetic_key(a) != phonetic_key(b)


def test_series_keys_per_token():
    out = phonetic_keys(pd.Series(["SITI AMINAH", None, "MOHAMMAD"], index=[3, 1, 2]))
    assert out.tolist()[0] == "SATA AMANA"
    assert pd.isna(out.loc[1]) and out.loc[2] == phonetic_key("MUHAMMAD")


@given(st.text(max_size=30))
def test_never_raises(text):
    key = phonetic_key(text.upper())
    assert isinstance(key, str)
    assert key == "" or key[0].isalpha()
