"""The name and region lexicons behind the synthetic population."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from bansos_linkage.synthetic.lexicons import (
    load_family_names,
    load_given_names,
    load_nicknames,
    load_regions,
)

PROVINCES_CSV = Path(__file__).parents[1] / "src" / "bansos_linkage" / "data" / "provinces.csv"
REGIONAL = {"general", "muslim", "christian", "chinese"}  # country-wide name pools


@pytest.fixture(scope="module")
def names() -> pd.DataFrame:
    return load_given_names()


@pytest.fixture(scope="module")
def regions() -> pd.DataFrame:
    return load_regions()


def test_given_names_are_many_and_clean(names):
    assert list(names.columns) == ["name", "sex", "culture", "weight"]
    assert names["name"].nunique() >= 2000
    assert names["name"].str.fullmatch(r"[A-Z]+").all()
    assert set(names["sex"]) <= {"M", "F", "U"}
    assert not names.duplicated(["name", "culture"]).any()
    for common in ("SITI", "MUHAMMAD", "NUR", "AHMAD", "ABDUL", "SRI", "AGUS", "DEWI"):
        assert common in set(names["name"])
    # modern spelling only: old spellings are the corruption step's job
    assert not names["name"].str.contains("DJ|TJ").any()
    assert not {"SOEHARTO", "DJOKO", "TJAHJO", "ACHMAD", "POERNOMO"} & set(names["name"])


def test_every_culture_has_both_sexes(names):
    for culture, group in names.groupby("culture"):
        assert {"M", "F"} <= set(group["sex"]), culture


def test_weights_are_positive_and_skewed(names):
    assert pd.api.types.is_float_dtype(names["weight"])
    assert (names["weight"] > 0).all()
    totals = names.groupby("name")["weight"].sum().sort_values(ascending=False)
    top = totals.head(max(1, len(totals) // 100)).sum()
    assert top / totals.sum() >= 0.15
    for common in ("SITI", "MUHAMMAD", "NUR", "AHMAD", "ABDUL"):
        assert totals[common] >= 100
    assert (totals <= 5).mean() > 0.5  # a long tail


def test_family_names(names):
    fam = load_family_names()
    assert list(fam.columns) == ["name", "culture", "weight"]
    assert fam["name"].str.fullmatch(r"[A-Z]+").all()
    assert (fam["weight"] > 0).all()
    counts = fam["culture"].value_counts()
    assert counts["batak"] >= 60 and counts["minahasa"] >= 20 and counts["chinese"] >= 20
    assert {"SIREGAR", "NASUTION", "GINTING", "TAN", "LIEM", "SUTANTO", "WOWOR"} <= set(fam["name"])


def test_nicknames(names):
    nick = load_nicknames()
    assert len(nick) >= 150
    assert set(nick) <= set(names["name"])
    assert all(n.isalpha() and n.isupper() and n != nick[n] for n in nick)
    assert nick["HERMAWAN"] == "WAWAN"


def test_region_codes_are_structurally_valid(regions):
    r = regions
    assert all(pd.api.types.is_string_dtype(r[c]) for c in r.columns)
    assert len(r) >= 400 and r["province_code"].nunique() >= 8
    for col, n in [
        ("province_code", 2),
        ("regency_code", 4),
        ("district_code", 6),
        ("village_code", 10),
        ("bps_district_code", 7),
        ("bps_village_code", 10),
    ]:
        assert r[col].str.fullmatch(rf"\d{{{n}}}").all(), col
    assert (r["village_code"].str[:6] == r["district_code"]).all()
    assert (r["district_code"].str[:4] == r["regency_code"]).all()
    assert (r["regency_code"].str[:2] == r["province_code"]).all()
    assert (r["bps_village_code"].str[:7] == r["bps_district_code"]).all()
    assert (r["bps_district_code"].str[:2] == r["province_code"]).all()
    regency = r["regency_code"].str[2:].astype(int)
    assert (regency.between(1, 69) | regency.between(71, 99)).all()
    assert r["village_code"].str[6].isin(["1", "2"]).all()
    assert r["village_code"].is_unique and r["bps_village_code"].is_unique
    # one BPS district per Kemendagri district and back
    pairs = r[["district_code", "bps_district_code"]].drop_duplicates()
    assert pairs["district_code"].is_unique and pairs["bps_district_code"].is_unique
    # the two schemes really differ below the province
    assert (r["bps_village_code"] != r["village_code"]).all()


def test_provinces_are_known_and_cultures_covered(regions, names):
    known = pd.read_csv(PROVINCES_CSV, comment="#", dtype=str)["code"]
    assert set(regions["province_code"]) <= set(known)
    cultures = set(names["culture"]) - REGIONAL
    assert cultures <= set(regions["culture"])
    assert set(regions["culture"]) <= set(names["culture"])


def test_jakarta_follows_the_domain_notes(regions):
    pusat = regions[regions["regency_name"] == "JAKARTA PUSAT"]
    assert set(pusat["regency_code"]) == {"3171"}
    assert set(pusat["bps_district_code"].str[:4]) == {"3173"}


def test_loaders_are_cached():
    assert load_regions() is load_regions()
    assert load_nicknames() is load_nicknames()
