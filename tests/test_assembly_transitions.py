"""DTSEN family scoring and the DTKS transition report (assembly.transitions)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bansos_linkage.assembly.transitions import (
    family_households,
    score_families,
    source_villages,
    transition_summary,
    transitions,
)
from bansos_linkage.errors import UsageError

TODAY = dt.date(2026, 1, 1)
V1 = ("33", "3302", "3302030", "3302030001", "DESA A")
V2 = ("33", "3302", "3302030", "3302030002", "DESA B")
V3 = ("34", "3401", "3401010", "3401010001", "DESA C")
REGION = ["province_code", "regency_code", "district_code", "village_code", "village_name"]


def _families(places: dict[str, tuple]) -> pd.DataFrame:
    rows = [dict(zip(REGION, place, strict=True), family_id=f) for f, place in places.items()]
    table = pd.DataFrame(rows)
    return table.assign(region_scheme="kemendagri", n_persons=2, sources="dtks+regsosek")


@pytest.fixture
def case():
    """Every transition and reason once: see the comments per source family."""
    families = _families(
        {
            "F1": V1,  # K1 and K7 (merged), desil 2: stay twice, one family
            "F2": V1,  # K2: not found
            "F3": V1,  # K3: ranked out
            "F4": V2,  # K4: 1 of 4 members found, ranked out
            "F5": V3,  # K5: moved from V1, ranked in
            "F6": V3,  # K6: moved from V2, ranked out: dropped in V2
            "F7": V2,  # no DTKS member, desil 1: joins
            "F8": V3,  # no DTKS member, desil 6: nothing
            "F9": V2,  # K8: found but not scored
            "F10": V3,  # DTKS members split off another family, desil 2: joins
        }
    )
    links = pd.DataFrame(
        [
            ("K1", "F1", "same", 3, 3),
            ("K2", "F2", "not_found", 2, 0),
            ("K3", "F3", "same", 4, 4),
            ("K4", "F4", "partial", 4, 1),
            ("K5", "F5", "moved", 3, 3),
            ("K6", "F6", "moved", 2, 2),
            ("K7", "F1", "merged", 2, 2),
            ("K8", "F9", "same", 2, 2),
            ("K9", None, "not_found", 1, 0),
            (None, "F7", "new", 3, 0),
            (None, "F8", "new", 2, 0),
        ],
        columns=["source_family", "family_id", "status", "members", "found"],
    ).assign(source="dtks")
    other = pd.DataFrame(  # another source's links must not count
        {"source": "p3ke", "source_family": ["X1"], "family_id": ["F3"], "status": ["same"]}
    ).assign(members=1, found=1)
    links = pd.concat([links, other], ignore_index=True)
    scores = pd.DataFrame(
        {
            "family_id": [f"F{i}" for i in range(1, 11)],
            "desil": pd.array([2, 3, 7, 8, 3, 9, 1, 6, pd.NA, 2], dtype="Int64"),
            "eligible_pkh": [True, True, False, False, True, False, True, False, False, True],
            "eligible_sembako": [
                True,
                False,
                False,
                False,
                False,
                False,
                False,
                False,
                False,
                False,
            ],
        }
    )
    origin_of = {"K1": V1, "K2": V1, "K3": V1, "K4": V2, "K5": V1, "K6": V2, "K7": V1}
    origin_of |= {"K8": V2, "K9": V3}
    origins = pd.DataFrame(
        [dict(zip(REGION, v, strict=True), source_family=k) for k, v in origin_of.items()]
    )
    return links, families, scores, origins


def _by_family(t: pd.DataFrame) -> dict[tuple, tuple]:
    rows = t[t["source_family"].notna()]
    return {
        (r.source_family, r.transition): (r.reason if pd.notna(r.reason) else None, r.village_code)
        for r in rows.itertuples()
    }


def test_every_transition_and_reason(case):
    links, families, scores, origins = case
    t = transitions(links, families, scores, origins=origins)
    got = _by_family(t)
    assert got == {
        ("K1", "stay"): (None, V1[3]),
        ("K7", "stay"): (None, V1[3]),
        ("K2", "drop"): ("not_found", V1[3]),
        ("K3", "drop"): ("ranked_out", V1[3]),
        ("K4", "drop"): ("members_gone", V2[3]),
        ("K5", "move_out"): ("moved", V1[3]),
        ("K5", "move_in"): ("moved", V3[3]),
        ("K6", "drop"): ("ranked_out", V2[3]),  # counted where it received
        ("K8", "stay"): ("not_scored", V2[3]),
        ("K9", "drop"): ("not_found", V3[3]),  # no DTSEN family: its own village
    }
    joins = t[t["transition"] == "join"].set_index("family_id")
    assert joins["reason"].to_dict() == {"F7": "ranked_in_new", "F10": "ranked_in_split"}
    assert joins["village_code"].to_dict() == {"F7": V2[3], "F10": V3[3]}
    assert joins["source_family"].isna().all()
    assert "X1" not in set(t["source_family"].dropna())


def test_movers_name_the_other_village_and_carry_scores(case):
    links, families, scores, origins = case
    t = transitions(links, families, scores, origins=origins)
    moves = t[t["source_family"] == "K5"].set_index("transition")
    assert moves.loc["move_out", "other_village_code"] == V3[3]
    assert moves.loc["move_in", "other_village_code"] == V1[3]
    assert moves.loc["move_in", "village_name"] == V3[4]
    assert (moves["desil"] == 3).all() and moves["eligible_pkh"].all()
    assert t.loc[t["transition"] == "stay", "other_village_code"].isna().all()


def test_cutoff_moves_the_line(case):
    links, families, scores, origins = case
    t = transitions(links, families, scores, origins=origins, cutoff_desil=8)
    got = _by_family(t)
    assert got[("K3", "stay")] == (None, V1[3])  # desil 7 now stays
    assert got[("K4", "stay")] == (None, V2[3])
    assert ("K6", "drop") in got  # desil 9 still out
    joins = set(t.loc[t["transition"] == "join", "family_id"])
    assert joins == {"F7", "F8", "F10"}


def test_every_dtks_family_once_movers_out_and_in(case):
    links, families, scores, origins = case
    t = transitions(links, families, scores, origins=origins)
    dtks = t[t["source_family"].notna()]
    per_family = dtks.groupby("source_family")["transition"].agg(sorted)
    assert per_family["K5"] == ["move_in", "move_out"]
    assert (per_family.drop("K5").str.len() == 1).all()
    assert set(per_family.index) == {f"K{i}" for i in range(1, 10)}


def test_summary_adds_up_across_levels(case):
    links, families, scores, origins = case
    t = transitions(links, families, scores, origins=origins)
    village = transition_summary(t, "village")
    province = transition_summary(t, "province")
    national = transition_summary(t, "national")
    assert len(national) == 1 and len(province) == 2 and len(village) == 3
    numbers = [c for c in national.columns if national[c].dtype.kind == "i"]
    assert "eligible_pkh_staying" in numbers and "drop_members_gone" in numbers
    assert (village[numbers].sum() == national[numbers].iloc[0]).all()
    assert (province[numbers].sum() == national[numbers].iloc[0]).all()
    row = national.iloc[0]
    assert row["families"] == 9  # every DTKS family once
    assert row["move_out"] == row["move_in"] == 1
    assert row["drop"] == row[["drop_not_found", "drop_members_gone", "drop_ranked_out"]].sum()
    assert row["join"] == row["join_ranked_in_new"] + row["join_ranked_in_split"] == 2
    assert row["receiving"] == row["stay"] + row["move_in"] + row["join"]


def test_village_summary_counts(case):
    links, families, scores, origins = case
    t = transitions(links, families, scores, origins=origins)
    village = transition_summary(t, "village").set_index("village_code")
    a, b, c = village.loc[V1[3]], village.loc[V2[3]], village.loc[V3[3]]
    assert a["village_name"] == "DESA A"
    assert (a["families"], a["stay"], a["drop"], a["move_out"]) == (5, 2, 2, 1)
    # K1 and K7 merged into F1: one family eligible, not two
    assert a["eligible_pkh_staying"] == 1 and a["eligible_sembako_staying"] == 1
    assert (b["drop_members_gone"], b["drop_ranked_out"], b["join"]) == (1, 1, 1)
    assert b["eligible_pkh_joining"] == 1
    assert (c["move_in"], c["drop_not_found"], c["join_ranked_in_split"]) == (1, 1, 1)
    assert c["eligible_pkh_staying"] == 1 and c["eligible_pkh_joining"] == 1
    province = transition_summary(t, "province").set_index("province_code")
    assert province.loc["33", "families"] == 8 and province.loc["34", "families"] == 1


def test_unknown_village_is_a_row_of_its_own(case):
    links, families, scores, _ = case
    t = transitions(links, families, scores)  # no origins: movers' old village unknown
    out = t[t["transition"] == "move_out"]
    assert out["village_code"].isna().all() and len(out) == 1
    village = transition_summary(t, "village")
    national = transition_summary(t, "national").iloc[0]
    assert village["village_code"].isna().sum() == 1  # K5 out, K6 and K9 dropped
    assert village["families"].sum() == national["families"] == 9
    assert pd.isna(village["village_code"].iloc[-1])  # unknown place last


def test_region_columns_of_family_links_serve_as_origins(case):
    links, families, scores, origins = case
    with_place = links.merge(origins, on="source_family", how="left")
    assert transitions(with_place, families, scores).equals(
        transitions(links, families, scores, origins=origins)
    )


def test_without_scores_found_stays_and_nobody_joins(case):
    links, families, _, origins = case
    t = transitions(links, families, origins=origins)
    got = _by_family(t)
    assert got[("K3", "stay")] == ("not_scored", V1[3])
    assert got[("K4", "stay")] == ("not_scored", V2[3])
    assert got[("K2", "drop")] == ("not_found", V1[3])
    assert ("K5", "move_in") in got and ("K6", "move_out") in got
    assert not (t["transition"] == "join").any()
    assert not any(c.startswith("eligible_") for c in t.columns)
    assert transition_summary(t, "national").iloc[0]["families"] == 9


def test_bad_options_are_refused(case):
    links, families, scores, _ = case
    with pytest.raises(UsageError, match="cutoff_desil"):
        transitions(links, families, scores, cutoff_desil=11)
    with pytest.raises(UsageError, match="desil"):
        transitions(links, families, scores.drop(columns="desil"))
    with pytest.raises(UsageError, match="level"):
        transition_summary(transitions(links, families, scores), "regency")


def test_source_villages_takes_where_most_members_are():
    records = pd.DataFrame(
        {
            "source": ["dtks"] * 4 + ["regsosek"],
            "record_id": ["D1", "D2", "D3", "D4", "D1"],
            "source_family": ["K1", "K1", "K1", "K2", "R1"],
        }
    )
    dtks = pd.DataFrame(
        {
            "record_id": ["D1", "D2", "D3", "D4"],
            "village_code": [V2[3], V1[3], V2[3], V3[3]],
            "village_name": [V2[4], V1[4], V2[4], V3[4]],
        }
    )
    got = source_villages(records, {"dtks": dtks})
    assert got.set_index("source_family")["village_code"].to_dict() == {"K1": V2[3], "K2": V3[3]}


# --- scoring -----------------------------------------------------------------------


def _tables():
    families = _families({"F1": V1, "F2": V1, "F3": V2})
    persons = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4", "P5"],
            "family_id": ["F1", "F1", "F1", "F2", "F3"],
            "sex": ["M", "F", "M", "F", "M"],
            "birth_date": pd.to_datetime(
                ["1980-01-01", "1982-05-05", "2015-02-02"] * 1 + ["1950-01-01", "1990-01-01"]
            ),
            "relationship": [1, 2, 3, 1, 1],
            "sources": "dtks+regsosek",
            "sex_source": "regsosek",
        }
    )
    records = pd.DataFrame(
        {
            "source": ["regsosek"] * 4 + ["dtks"],
            "record_id": ["R1", "R2", "R3", "R4", "R1"],
            "person_id": ["P1", "P2", "P3", "P4", "P5"],
            "family_id": ["F1", "F1", "F1", "F2", "F3"],
            # F1's members come from two Regsosek households: K1 holds two of them
            "source_family": ["K9", "K1", "K1", "K2", "D1"],
        }
    )
    regsosek = pd.DataFrame(
        {
            "record_id": ["R1", "R2", "R3", "R4"],
            "nik": ["1"] * 4,
            "full_name_raw": ["x"] * 4,
            "name_tokens": [["x"]] * 4,
            "village_code": [V1[3]] * 4,
            "toilet": ["tidak ada", None, "sendiri", "umum"],
            "floor_area_m2": [10, 60, 60, 30],
        }
    )
    return families, persons, records, {"regsosek": regsosek}


def test_family_households_takes_the_main_backbone_household():
    families, persons, records, sources = _tables()
    hh, members = family_households(families, persons, records, sources)
    assert hh["household_id"].tolist() == ["F1", "F2"]  # F3 has no Regsosek record
    f1 = hh.set_index("household_id").loc["F1"]
    assert f1["floor_area_m2"] == 60 and f1["toilet"] == "sendiri"  # K1, first value given
    assert f1["village_code"] == V1[3]
    assert {"nik", "full_name_raw", "name_tokens"}.isdisjoint(hh.columns)
    assert sorted(members["person_id"]) == ["P1", "P2", "P3", "P4"]
    assert "household_id" in members and "sex_source" not in members
    assert "sources" not in members


def test_score_families_without_household_variables_is_none():
    families, persons, records, sources = _tables()
    bare = {"regsosek": sources["regsosek"][["record_id", "nik", "village_code"]]}
    assert score_families(families, persons, records, bare, reference_date=TODAY) is None
    assert score_families(families, persons, records, {}, reference_date=TODAY) is None


def test_score_families_needs_a_pmt_or_a_survey():
    families, persons, records, sources = _tables()
    with pytest.raises(UsageError, match="pmt.*survey"):
        score_families(families, persons, records, sources, reference_date=TODAY)


@pytest.fixture(scope="module")
def synthetic():
    """200 households; DTSEN families and persons are the true ones."""
    import bansos_linkage
    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=200, seed=1))
    regsosek = bansos_linkage.standardise(
        data.registers["regsosek"], "regsosek", reference_date=TODAY
    ).records
    h = data.households
    families = pd.DataFrame(
        {
            "family_id": h["household_id"],
            **{c: h[c] for c in REGION[:4]},
            "village_name": pd.NA,
            "region_scheme": "kemendagri",
            "n_persons": h["size"],
            "sources": "regsosek",
        }
    )
    persons = data.persons[["person_id", "household_id", "sex", "birth_date", "relationship"]]
    persons = persons.rename(columns={"household_id": "family_id"})
    truth = data.truth["regsosek"]
    records = pd.DataFrame(
        {
            "source": "regsosek",
            "record_id": truth["record_id"],
            "person_id": truth["person_id"],
            "family_id": truth["household_id"],
        }
    ).merge(
        regsosek[["record_id", "household_id"]].rename(columns={"household_id": "source_family"}),
        on="record_id",
    )
    scores = score_families(
        families,
        persons,
        records,
        {"regsosek": regsosek},
        survey=data.survey,
        reference_date=TODAY,
    )
    return data, families, scores


def test_synthetic_scores_rank_the_poor_first(synthetic):
    data, families, scores = synthetic
    assert scores["family_id"].tolist() == sorted(families["family_id"])
    scored = scores[scores["desil"].notna()]
    assert len(scored) > 180  # all but households Regsosek missed
    assert sorted(scored["desil"].unique()) == list(range(1, 11))
    assert sorted(scored["rank"]) == list(range(1, len(scored) + 1))
    truth = data.households.set_index("household_id")["per_capita_expenditure"]
    spent = truth.reindex(scored["family_id"]).to_numpy(dtype=float)
    rho = pd.Series(scored["rank"].to_numpy(dtype=float)).corr(pd.Series(spent), "spearman")
    assert rho > 0.5
    # the rank follows the PMT's welfare
    assert np.all(np.diff(scored.sort_values("rank")["welfare"].to_numpy()) >= 0)
    eligible = [c for c in scores.columns if c.startswith("eligible_")]
    assert {"eligible_pkh", "eligible_pbi_jk"} <= set(eligible)
    assert scored["eligible_pbi_jk"].any()  # a person programme, per family
    pkh = scored[scored["eligible_pkh"].astype(bool)]
    assert (pkh["desil"] <= 4).all()
    unscored = scores[scores["desil"].isna()]
    assert unscored["rank"].isna().all() and unscored["eligible_pkh"].isna().all()


def test_synthetic_new_families_join_by_desil(synthetic):
    _, families, scores = synthetic
    links = pd.DataFrame(
        {"source": "dtks", "source_family": pd.NA, "family_id": families["family_id"]}
    ).assign(status="new", members=0, found=0)
    t = transitions(links, families, scores, cutoff_desil=3)
    expected = set(scores.loc[(scores["desil"] <= 3).fillna(False), "family_id"])
    assert set(t["family_id"]) == expected and (t["reason"] == "ranked_in_new").all()
    summary = transition_summary(t, "province")
    assert summary["join"].sum() == len(expected)
    joined = scores[scores["family_id"].isin(expected)]
    assert summary["eligible_pkh_joining"].sum() == joined["eligible_pkh"].sum() > 0
    assert summary["eligible_pkh_staying"].sum() == 0
