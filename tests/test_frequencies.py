"""Term frequencies within the region: a name common in a province is weak evidence
there, wherever else it is rare."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bansos_linkage.linkage.comparisons import NameComparison, RegionComparison
from bansos_linkage.linkage.fellegi_sunter import frequency_bits
from bansos_linkage.linkage.frequencies import (
    TF_CLIP,
    regional_frequencies,
    regional_label,
    register_frequencies,
    tf_bits,
    value_frequencies,
)

COMPARISONS = (NameComparison(), RegionComparison())
NAME_EXACT = len(NameComparison().levels) - 1
U_EXACT = 0.3


def _register() -> pd.DataFrame:
    # ADE: 8 of the 10 records of province 32, 1 of the 10 of province 51
    names = ["ADE"] * 8 + ["SRI", None] + ["ADE"] + [f"N{i}" for i in range(9)]
    provinces = ["32"] * 10 + ["51"] * 10
    return pd.DataFrame({"full_name": names, "province_code": provinces})


def test_the_regional_frequency_leaves_the_record_itself_out() -> None:
    frame = _register()
    frame.loc[19, "province_code"] = None
    freq = regional_frequencies(frame, "full_name", "province_code")
    # 7 of the other 8 named records of province 32 are ADE
    assert freq[0] == pytest.approx(7 / 8)
    assert freq[8] == 0.0  # SRI: no other SRI in 32
    assert freq[10] == 0.0  # ADE: the only one in 51
    assert np.isnan(freq[9]) and np.isnan(freq[19])  # no name; no province


def test_encoded_and_plain_columns_give_the_same_regional_frequencies() -> None:
    frame = _register()
    encoded = frame.astype({"full_name": "category", "province_code": "category"})
    np.testing.assert_array_equal(
        regional_frequencies(frame, "full_name", "province_code"),
        regional_frequencies(encoded, "full_name", "province_code"),
    )


def test_regional_frequencies_need_the_region_column() -> None:
    frame = _register()
    with_region = register_frequencies(frame, COMPARISONS, ("name",))
    assert set(with_region) == {"name", regional_label("name")}
    without = register_frequencies(frame.drop(columns="province_code"), COMPARISONS, ("name",))
    assert set(without) == {"name"}


def _bits(frame: pd.DataFrame, right: int, region_level: int, name_level: int = NAME_EXACT):
    freqs = register_frequencies(frame, COMPARISONS, ("name",))
    levels = np.array([[name_level, region_level]], dtype=np.int8)
    return float(tf_bits(levels, np.array([right]), freqs, COMPARISONS, {"name": U_EXACT})[0])


def test_pairs_in_one_province_read_the_province_frequency() -> None:
    frame = _register()
    national = value_frequencies(frame, "full_name")
    province, village, elsewhere = 1, 4, 0  # RegionComparison levels, from "else" = 0
    # ADE in 32, where it is common: the province's frequency, far below the register's
    in_32 = _bits(frame, 0, village)
    expected = frequency_bits(np.array([7 / 8]), U_EXACT, clip=TF_CLIP)
    assert in_32 == pytest.approx(float(expected[0]))
    assert in_32 == _bits(frame, 0, province) < _bits(frame, 0, elsewhere)
    assert _bits(frame, 0, elsewhere) == pytest.approx(
        float(frequency_bits(national[[0]], U_EXACT, clip=TF_CLIP)[0])
    )
    # ADE in 51, where no other record has it: the most a value can get
    assert _bits(frame, 10, province) == TF_CLIP > _bits(frame, 10, elsewhere)
    # a region not compared (missing) and a name that only nearly agrees
    assert _bits(frame, 0, -1) == _bits(frame, 0, elsewhere)
    assert _bits(frame, 0, province, name_level=NAME_EXACT - 1) == 0.0
