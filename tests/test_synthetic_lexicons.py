"""The name and region lexicons behind the synthetic population."""

from __future__ import annotations

import pandas as pd

from bansos_linkage.standardisation.regions import PROVINCES
from bansos_linkage.synthetic.lexicons import (
    load_family_names,
    load_given_names,
    load_nicknames,
    load_regions,
)


def test_given_names_are_many_skewed_and_clean():
    names = load_given_names()
    assert names["name"].nunique() >= 2000
    assert names["name"].str.fullmatch(r"[A-Z]+").all()
    assert (names["weight"] > 0).all()
    assert set(names["sex"]) <= {"M", "F", "U"}
    for _, group in names.groupby("culture"):
        assert {"M", "F"} <= set(group["sex"])
    totals = names.groupby("name")["weight"].sum().sort_values(ascending=False)
    top = totals.head(max(1, len(totals) // 100)).sum()
    assert top / totals.sum() >= 0.15  # a few names carry much of the weight
    for common in ("SITI", "MUHAMMAD", "NUR", "AHMAD"):
        assert common in set(names["name"])


def test_family_names_and_nicknames():
    fam = load_family_names()
    assert {"batak", "chinese"} <= set(fam["culture"])
    assert "SIREGAR" in set(fam["name"])
    nick = load_nicknames()
    assert len(nick) >= 150
    assert set(nick) <= set(load_given_names()["name"])
    assert nick["HERMAWAN"] == "WAWAN"


def test_region_codes_are_structurally_valid():
    r = load_regions()
    assert len(r) >= 400 and r["province_code"].nunique() >= 8
    assert r["village_code"].is_unique and r["bps_village_code"].is_unique
    assert (r["village_code"].str.len() == 10).all()
    assert (r["village_code"].str[:6] == r["district_code"]).all()
    assert (r["district_code"].str[:4] == r["regency_code"]).all()
    assert (r["regency_code"].str[:2] == r["province_code"]).all()
    regency = r["regency_code"].str[2:].astype(int)
    assert (((regency >= 1) & (regency <= 69)) | (regency >= 71)).all()
    assert r["village_code"].str[6].isin(["1", "2"]).all()
    assert set(r["province_code"]) <= set(PROVINCES)
    # the two schemes really differ below the province
    assert (r["bps_village_code"] != r["village_code"]).all()
    cultures = set(load_given_names()["culture"]) - {"general", "muslim", "christian", "chinese"}
    assert cultures <= set(r["culture"])
    assert pd.api.types.is_string_dtype(r["village_code"])
