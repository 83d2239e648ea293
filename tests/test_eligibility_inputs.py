"""Scoring inputs: every cell that cannot be read is listed by file, row and id, and
meanings that change the money (case, decimal commas, ids, schooling, relationship
words, pregnancy numbers, summaries, what-if) are read one way in Python and on the
command line."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bansos_linkage.eligibility.rules import evaluate, load_programmes, member_fields
from bansos_linkage.eligibility.score import prepare_register, score_register

REF = dt.date(2025, 6, 30)


def _listed(problems: pd.DataFrame) -> set[tuple]:
    return {(p.file, p.row, p.id, p.column, p.problem, p.rejected) for p in problems.itertuples()}


def _households(**columns) -> pd.DataFrame:
    base = {
        "household_id": ["H1", "H2", "H3"],
        "desil": ["1", "2", "7"],
        "floor_area_m2": ["36", "20", "90"],
        "floor_material": ["tanah", "semen", "keramik"],
        "livestock": ["2", "0", "1"],
    }
    return pd.DataFrame(base | columns, dtype="string")


def _members(**columns) -> pd.DataFrame:
    base = {
        "person_id": ["P1", "P2", "P3", "P4"],
        "household_id": ["H1", "H1", "H2", "H3"],
        "birth_date": ["1980-01-01", "2012-01-01", "1975-05-05", "1970-01-01"],
        "relationship": ["1", "3", "1", "1"],
        "education": ["SD", "SD", "SMP", "SMA"],
        "disability": ["0", "0", "tidak", "0"],
    }
    return pd.DataFrame(base | columns, dtype="string")


def _prepare(households, members):
    return prepare_register(households, members, REF, members_file="members.csv")


# --- impossible numbers -----------------------------------------------------------------


def test_negative_floor_area_and_livestock_are_listed_and_set_missing():
    hh, _, problems = _prepare(
        _households(
            floor_area_m2=["-36", "20", "90"], livestock=["2", "-1", "1"], size=["0", "2", "1"]
        ),
        _members(),
    )
    assert _listed(problems) == {
        ("households", 2, "H1", "floor_area_m2", "impossible number: negative", False),
        ("households", 3, "H2", "livestock", "impossible number: negative", False),
        (
            "households",
            2,
            "H1",
            "size",
            "impossible number: a household has at least 1 member",
            False,
        ),
    }
    assert pd.isna(hh["floor_area_m2"].iloc[0]) and hh["floor_area_m2"].iloc[1] == 20
    assert pd.isna(hh["livestock"].iloc[1]) and hh["livestock"].iloc[0] == 2
    # a negative area never makes a small floor per person: the criterion is not assessable
    from bansos_linkage.eligibility.criteria import bps_criteria

    small_floor = bps_criteria(hh.assign(size=[3, 2, 1]))["small_floor"]
    assert pd.isna(small_floor.iloc[0]) and not small_floor.iloc[1]


def test_a_desil_outside_1_to_10_is_impossible():
    hh, _, problems = _prepare(_households(desil=["0", "2", "7,5"]), _members())
    reason = "impossible number: desil is a whole number from 1 to 10"
    assert {(p.row, p.id, p.problem) for p in problems.itertuples()} == {
        (2, "H1", reason),
        (4, "H3", reason),
    }
    assert hh["desil"].isna().tolist() == [True, False, True]


# --- unknown answers --------------------------------------------------------------------


def test_unknown_answers_are_listed_and_read_as_missing():
    hh, m, problems = _prepare(
        _households(floor_material=["xyz", "semen", "KERAMIK"]),
        _members(education=["SD", "???", "SMP", "SMA"], disability=["0", "0", "maybe", "Ya"]),
    )
    assert _listed(problems) == {
        ("households", 2, "H1", "floor_material", "unknown answer", False),
        ("members.csv", 3, "P2", "education", "unknown answer", False),
        ("members.csv", 4, "P3", "disability", "unknown answer", False),
    }
    assert pd.isna(hh["floor_material"].iloc[0]) and hh["floor_material"].iloc[2] == "KERAMIK"
    assert pd.isna(m["education"].iloc[1]) and pd.isna(m["disability"].iloc[2])
    # nothing personal: no cell value copied into the problems table
    assert not problems.astype(str).isin(["xyz", "???", "maybe"]).any().any()
    # an unknown floor is not assessable (not "not cheap"); a known one is
    from bansos_linkage.eligibility.criteria import bps_criteria

    cheap_floor = bps_criteria(hh)["cheap_floor"]
    assert pd.isna(cheap_floor.iloc[0]) and not cheap_floor.iloc[2]


def test_answers_in_the_words_of_other_registers_are_known():
    from bansos_linkage.eligibility.inputs import ANSWER_WORDS, unknown_answers

    words = {
        "floor_material": ["Tanah", "Keramik", "semen/bata merah", "Kayu/Papan kualitas rendah"],
        "wall_material": ["Tembok", "Plesteran anyaman bambu", "Bambu"],
        "drinking_water": ["Air kemasan bermerk", "Sumur bor/pompa", "Mata air tak terlindung"],
        "lighting": ["PLN 900 VA", "Listrik non-PLN", "Bukan listrik"],
        "cooking_fuel": ["LPG 3 kg", "Kayu bakar", "Tidak memasak di rumah"],
        "toilet": ["Sendiri", "Bersama", "Tidak ada"],
    }
    for column, answers in words.items():
        assert not unknown_answers(pd.Series(answers), ANSWER_WORDS[column]).any(), column
    assert unknown_answers(pd.Series(["xyz", "???"]), ANSWER_WORDS["floor_material"]).all()


# --- case and spacing -------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_register():
    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=600, seed=3))
    members = data.persons[data.persons["present_now"]].drop(columns=["full_name", "nik"])
    households = data.households.drop(columns=["per_capita_expenditure"])
    as_text = {
        "households": households.astype("string"),
        "members": members.assign(birth_date=members["birth_date"].dt.strftime("%Y-%m-%d")).astype(
            "string"
        ),
        "survey": data.survey.astype("string"),
    }
    return as_text


def _score_text(households, members, survey, programmes=None):
    hh, m, problems = prepare_register(households, members, REF)
    train, _, _ = prepare_register(survey, None, REF)
    scored = score_register(hh, m, programmes or load_programmes("all"), REF, survey=train)
    return scored, problems


def test_upper_cased_and_spaced_answers_give_the_same_desil(small_register):
    answers = ["floor_material", "wall_material", "roof_material", "toilet", "lighting"]
    base, _ = _score_text(**small_register)
    shouted = small_register["households"].copy()
    for column in answers:
        shouted[column] = shouted[column].str.upper()
    shouted["floor_material"] = " " + shouted["floor_material"] + "  "  # ` BETON  `
    again, problems = _score_text(shouted, small_register["members"], small_register["survey"])
    assert problems.empty
    changed = (again.households["desil"] != base.households["desil"]).sum()
    assert changed == 0  # was 1,096 of the register with upper-cased answers
    pd.testing.assert_series_equal(
        again.households["amount:PKH"], base.households["amount:PKH"], check_names=False
    )


def test_pmt_answers_match_ignoring_case_and_spacing():
    from bansos_linkage.eligibility.pmt import ProxyMeansTest

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"floor": rng.choice(["beton", "tanah"], 200), "rooms": rng.integers(1, 5, 200)}
    )
    y = 13 + 0.5 * (X["floor"] == "beton") + rng.normal(0, 0.05, 200)
    pmt = ProxyMeansTest().fit(X, y)
    odd = pd.DataFrame({"floor": ["BETON", " beton ", "beton"], "rooms": [2, 2, 2]})
    pred = pmt.predict(odd)
    assert pred[0] == pytest.approx(pred[2]) and pred[1] == pytest.approx(pred[2])


# --- decimal commas ---------------------------------------------------------------------


def test_decimal_commas_are_numbers():
    from bansos_linkage.eligibility.inputs import number

    hh, _, problems = _prepare(_households(floor_area_m2=["12,5", "20.5", "1.234,5"]), _members())
    assert problems.empty
    assert hh["floor_area_m2"].tolist() == [12.5, 20.5, 1234.5]
    assert np.isnan(number("12,5 m2"))


def test_a_quarter_of_a_column_with_decimal_commas_changes_no_desil(small_register):
    base, _ = _score_text(**small_register)
    comma = small_register["households"].copy()
    area = comma["floor_area_m2"].astype(float) + 0.5
    comma["floor_area_m2"] = area.map(lambda a: f"{a:.1f}")
    dots, _ = _score_text(comma, small_register["members"], small_register["survey"])
    quarter = np.arange(len(comma)) % 4 == 0
    comma.loc[quarter, "floor_area_m2"] = comma.loc[quarter, "floor_area_m2"].str.replace(".", ",")
    commas, problems = _score_text(comma, small_register["members"], small_register["survey"])
    assert problems.empty
    assert pd.api.types.is_float_dtype(commas.households["floor_area_m2"])
    assert (commas.households["desil"] != dots.households["desil"]).sum() == 0  # was 293
    assert dots.households["desil"].equals(commas.households["desil"])
    assert len(base.households) == len(commas.households)


# --- duplicated members and ids -----------------------------------------------------------


def test_a_duplicated_member_row_is_listed_and_counted_once():
    members = _members()
    doubled = pd.concat([members, members.iloc[[1]]], ignore_index=True)
    hh, m, problems = _prepare(_households(), doubled)
    assert _listed(problems) == {
        ("members.csv", 6, "P2", "person_id", "repeats an earlier row", True)
    }
    assert m["person_id"].tolist() == ["P1", "P2", "P3", "P4"]
    scored = score_register(hh, m, load_programmes("pkh"), REF)
    assert scored.households.set_index("household_id").loc["H1", "size"] == 2


def test_ids_are_stripped_the_same_way_in_both_files():
    members = _members(household_id=["H1 ", " H1", "H2", "H3"], person_id=["P1 ", "P2", "P3", "P4"])
    hh, m, problems = _prepare(_households(household_id=[" H1", "H2", "H3 "]), members)
    assert problems.empty  # no member dropped as an orphan
    assert m["household_id"].tolist() == ["H1", "H1", "H2", "H3"]
    assert m["person_id"].tolist() == ["P1", "P2", "P3", "P4"]
    assert hh["household_id"].tolist() == ["H1", "H2", "H3"]
    # the API strips them too: raw tables give the same make-up
    scored = score_register(
        _households(household_id=[" H1", "H2", "H3 "]).assign(desil=[1, 2, 7]),
        members.assign(birth_date=pd.to_datetime(members["birth_date"])),
        load_programmes("pkh"),
        REF,
    )
    assert scored.households["size"].tolist() == [2, 1, 1]


# --- schooling: completed level versus school participation ------------------------------


def _pupils(**extra) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["A", "B", "C", "D"],
            "household_id": ["H1"] * 4,
            "birth_date": pd.to_datetime(["1980-01-01", "2006-01-01", "2012-01-01", "2020-01-01"]),
            "relationship": [1, 3, 3, 3],
            # B, 19, finished SMA; C, 13, finished SD; D is 5
            "education": ["SD", "SMA", "SD", "TIDAK/BELUM SEKOLAH"],
            **extra,
        }
    )


def test_education_is_the_level_completed_not_the_level_attended():
    fields = member_fields(_pupils(), REF).set_index("person_id")
    assert not fields.loc["B", "in_school"]  # 19, finished SMA: not an SMA pupil
    assert fields.loc["C", "school_level"] == "SMP"  # 13, finished SD: at SMP, not SD
    assert fields.loc["C", "school_assumed"] == "attendance"
    assert not fields.loc["D", "in_school"]
    hh = pd.DataFrame({"household_id": ["H1"], "desil": [1]})
    pkh = evaluate(load_programmes("pkh")[0], hh, _pupils(), REF)
    assert pkh["components"].iloc[0] == "child_0_6 x1; smp_pupil x1 (in school assumed from age)"
    assert pkh["amount"].iloc[0] == 3_000_000 + 1_500_000
    pip = evaluate(load_programmes("pip")[0], hh, _pupils(), REF).set_index("person_id")
    assert not pip.loc["B", "eligible"]  # the SMA graduate gets no PIP
    assert pip.loc["C", "amount"] == 750_000


def test_a_school_participation_column_is_used_when_present():
    hh = pd.DataFrame({"household_id": ["H1"], "desil": [1]})
    said = _pupils(
        in_school=["tidak", "masih sekolah", "tidak sekolah lagi", None],
        school_level=[None, "SMA", None, None],
    )
    fields = member_fields(said, REF).set_index("person_id")
    assert fields.loc["B", "in_school"] and fields.loc["B", "school_level"] == "SMA"
    assert fields.loc["B", "school_assumed"] == ""
    assert not fields.loc["C", "in_school"]  # the register says C left school
    pkh = evaluate(load_programmes("pkh")[0], hh, said, REF)
    assert pkh["components"].iloc[0] == "child_0_6 x1; sma_pupil x1"  # nothing assumed
    # the summary says what was assumed when the register does not say
    scored = score_register(hh, _pupils(), load_programmes("pkh"), REF)
    assert any("assumed in school" in n for n in scored.summary.attrs["notes"])
    scored = score_register(hh, said, load_programmes("pkh"), REF)
    assert not any("assumed in school" in n for n in scored.summary.attrs["notes"])


def test_unknown_school_participation_is_listed():
    _, m, problems = _prepare(
        _households(), _members(in_school=["ya", "???", "masih sekolah", "tidak sekolah lagi"])
    )
    assert _listed(problems) == {("members.csv", 3, "P2", "in_school", "unknown answer", False)}


# --- relationship words: one standardisation for Python and the command line ---------------


def _family_in_words() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ["A", "B", "C", "D"],
            "household_id": ["H1"] * 4,
            "birth_date": pd.to_datetime(["1980-01-01", "1990-01-01", "2020-01-01", "2021-06-01"]),
            "sex": ["LAKI-LAKI", "PEREMPUAN", "P", "L"],
            "relationship": ["KEPALA KELUARGA", "ISTRI", "ANAK KANDUNG", "ANAK KANDUNG"],
            "education": ["TAMAT SD / SEDERAJAT", "SLTP", None, None],
            "pregnant": [None, "Ya", None, None],
        }
    )


def test_relationship_words_give_the_same_money_in_python_and_the_cli():
    hh = pd.DataFrame({"household_id": ["H1"], "desil": [2]})
    programmes = load_programmes("pkh")
    api = score_register(hh, _family_in_words(), programmes, REF).households
    text = _family_in_words().astype("string")
    text["birth_date"] = _family_in_words()["birth_date"].dt.strftime("%d-%m-%Y")
    prepared_hh, prepared_m, problems = prepare_register(hh.astype("string"), text, REF)
    cli = score_register(prepared_hh, prepared_m, programmes, REF).households
    assert problems.empty
    assert api["amount:PKH"].tolist() == cli["amount:PKH"].tolist() == [6_000_000]
    assert api["reasons:PKH"].tolist() == cli["reasons:PKH"].tolist()
    assert api["head_sex"].tolist() == ["M"] and api["head_education"].tolist() == ["SD"]
    # the pregnancy is the 3rd (two children at home): excluded, and the reasons say so
    assert "not paid: pregnant x1" in api["reasons:PKH"].iloc[0]
    assert "estimated" in api["reasons:PKH"].iloc[0]


# --- pregnancy numbers and excluded components -------------------------------------------


def test_a_blank_pregnancy_number_falls_back_to_the_estimate():
    family = pd.concat([_family_in_words(), _family_in_words().assign(household_id="H2")])
    family["person_id"] = family["person_id"] + family["household_id"]
    family["pregnancy_number"] = [None, "1", None, None, None, None, None, None]
    fields = member_fields(family, REF).set_index("person_id")
    assert fields.loc["BH1", "pregnancy_number"] == 1  # given
    assert not fields.loc["BH1", "pregnancy_estimated"]
    assert fields.loc["BH2", "pregnancy_number"] == 3  # blank: estimated from 2 children
    assert fields.loc["BH2", "pregnancy_estimated"]
    hh = pd.DataFrame({"household_id": ["H1", "H2"], "desil": [1, 1]})
    result = evaluate(load_programmes("pkh")[0], hh, family, REF).set_index("household_id")
    assert result.loc["H1", "components"] == "pregnant x1; child_0_6 x2"
    assert result.loc["H1", "not_paid"] == ""
    assert result.loc["H2", "components"] == "child_0_6 x2"
    assert result.loc["H2", "not_paid"] == (
        "not paid: pregnant x1 (pregnancy_number at most 2 not met, "
        "estimated from the children at home)"
    )


def test_a_given_pregnancy_number_above_the_limit_is_named_without_estimated():
    family = _family_in_words().assign(pregnancy_number=[None, "3", None, None])
    hh = pd.DataFrame({"household_id": ["H1"], "desil": [1]})
    result = evaluate(load_programmes("pkh")[0], hh, family, REF)
    assert (
        result["not_paid"].iloc[0] == "not paid: pregnant x1 (pregnancy_number at most 2 not met)"
    )


def test_members_over_a_cap_are_named_in_the_reasons():
    family = pd.DataFrame(
        {
            "person_id": ["A", "B", "C", "D", "E", "F"],
            "household_id": ["H1"] * 6,
            "birth_date": pd.to_datetime(
                ["1980-01-01", "2020-01-01", "2021-01-01", "2022-01-01", "1940-01-01", "1945-01-01"]
            ),
            "relationship": [1, 3, 3, 3, 6, 6],
        }
    )
    hh = pd.DataFrame({"household_id": ["H1", "H2"], "desil": [1, 6]})
    scored = score_register(hh, family, load_programmes("pkh"), REF).households
    assert scored["reasons:PKH"].iloc[0] == (
        "child_0_6 x2; elderly x1; not paid: child_0_6 x1 over the cap of 2, "
        "elderly x1 over the cap of 1"
    )
    assert scored["amount:PKH"].iloc[0] == 2 * 3_000_000 + 2_400_000


def test_an_impossible_pregnancy_number_is_listed():
    _, m, problems = _prepare(
        _households(),
        _members(pregnancy_number=["", "0", "dua", "1,0"], pregnant=["", "ya", "ya", "ya"]),
    )
    assert _listed(problems) == {
        (
            "members.csv",
            3,
            "P2",
            "pregnancy_number",
            "impossible number: a pregnancy is counted from 1",
            False,
        ),
        ("members.csv", 4, "P3", "pregnancy_number", "expected a number", False),
    }


# --- summaries that add up ----------------------------------------------------------------


def test_summary_without_regions_lists_each_programme_once_and_counts_families():
    from bansos_linkage.eligibility.score import rupiah, summary_lines

    hh = pd.DataFrame({"household_id": ["H1", "H2"], "desil": [1, 2]})
    scored = score_register(hh, _family_in_words(), load_programmes("all"), REF)
    summary = scored.summary
    assert summary["programme"].tolist() == ["PKH", "Sembako", "PBI-JK", "PIP", "BLT Dana Desa"]
    assert (summary["region"] == "all").all()
    pbi = summary.set_index("programme").loc["PBI-JK"]
    assert (pbi["families"], pbi["people"], pbi["budget"]) == (1, 4, 4 * 504_000)
    lines = summary_lines(summary)
    assert not any("0.0 billion" in line for line in lines)
    assert "Rp 6.0 million a year" in lines[0]
    assert rupiah(0) == "Rp 0" and rupiah(2.5e9) == "Rp 2.5 billion"
    # with regions: one row per region and programme, and the total
    regional = score_register(
        hh.assign(province_code=["33", "34"]), _family_in_words(), load_programmes("all"), REF
    ).summary
    assert len(regional[regional["programme"] == "PKH"]) == 3
    totals = regional[regional["region"] == "all"].set_index("programme")["budget"]
    assert (totals == summary.set_index("programme")["budget"]).all()
    per_region = regional[regional["region"] != "all"].groupby("programme")["budget"].sum()
    assert (per_region.reindex(totals.index) == totals).all()


# --- what-if per programme ----------------------------------------------------------------


def test_what_if_is_per_programme_and_keeps_each_programmes_own_cut_off():
    from bansos_linkage.eligibility.analysis import cutoff_variants, parse_cutoffs, what_if_rules

    programmes = load_programmes("all")
    assert parse_cutoffs("3,4") == {None: [3, 4]}
    assert parse_cutoffs("PKH=3;PBI-JK=5,6") == {"PKH": [3], "PBI-JK": [5, 6]}
    with pytest.raises(ValueError, match="1 to 10"):
        parse_cutoffs("PKH=0")
    with pytest.raises(ValueError, match="no programme named"):
        cutoff_variants(programmes, {"PKJ": [3]})
    hh = pd.DataFrame({"household_id": [f"H{i}" for i in range(10)], "desil": range(1, 11)})
    hh["size"] = 1
    members = pd.DataFrame(
        {
            "person_id": [f"P{i}" for i in range(10)],
            "household_id": hh["household_id"],
            "birth_date": pd.to_datetime(["1980-01-01"] * 10),
            "relationship": [1] * 10,
        }
    )
    variants = cutoff_variants(programmes, {"PBI-JK": [6], "Sembako": [3]})
    table, _ = what_if_rules(hh, members, variants, REF, baseline=programmes)
    rows = table.set_index(["programme", "max_desil"])
    assert set(table["programme"]) == {"PBI-JK", "Sembako"}
    # PBI-JK at its own 5 (the rules as written) and at 6; Sembako at its own 4 and at 3
    assert rows.loc[("PBI-JK", 5), "as_written"] and not rows.loc[("PBI-JK", 6), "as_written"]
    assert rows.loc[("PBI-JK", 5), "people"] == 5 and rows.loc[("PBI-JK", 6), "people"] == 6
    assert rows.loc[("Sembako", 4), "as_written"] and rows.loc[("Sembako", 3), "families"] == 3
    assert (table["rules_max_desil"] == table["programme"].map({"PBI-JK": 5, "Sembako": 4})).all()
    # one cut-off for all: every programme also at its own, so PBI-JK's 5 is always there
    together = cutoff_variants(programmes, [3, 4])
    assert list(together) == ["max_desil=3", "max_desil=4", "max_desil=5"]
    assert [p.name for p in together["max_desil=5"]] == ["PBI-JK"]
    assert [p.name for p in together["max_desil=3"]][-1] == "BLT Dana Desa"  # not varied


# --- the command line ---------------------------------------------------------------------


def test_the_score_command_lists_every_case_in_problems_csv(tmp_path, capsys):
    from bansos_linkage.cli import EXIT_OK, main

    (tmp_path / "hh.csv").write_text(
        "household_id,desil,floor_area_m2,floor_material,livestock\n"
        "H1,1,-36,tanah,2\n"
        'H2 ,2,"12,5",xyz,-1\n'
        "H3,7,90,BETON,1\n"
    )
    (tmp_path / "m.csv").write_text(
        "person_id,household_id,birth_date,relationship,education,disability\n"
        "P1,H1,01-01-1980,KEPALA KELUARGA,SD,0\n"
        "P2,H1 ,01-01-2012,ANAK KANDUNG,???,0\n"
        "P2,H1 ,01-01-2012,ANAK KANDUNG,???,0\n"
        "P3,H2,05-05-1975,KEPALA KELUARGA,SMP,maybe\n"
        "P4,H3,01-01-1970,1,SMA,0\n"
    )
    out = tmp_path / "out"
    args = ["score", str(tmp_path / "hh.csv"), str(tmp_path / "m.csv"), "--out", str(out)]
    assert main([*args, "--reference-date", "2025-06-30", "--what-if", "PBI-JK=6"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "6 problems (1 rows rejected): see problems.csv" in printed
    assert "0.0 billion" not in printed and "note: 1 member assumed in school" in printed
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    hh_file, m_file = str(tmp_path / "hh.csv"), str(tmp_path / "m.csv")
    assert set(problems[["file", "row", "id", "column", "problem"]].itertuples(index=False)) == {
        (hh_file, "2", "H1", "floor_area_m2", "impossible number: negative"),
        (hh_file, "3", "H2", "floor_material", "unknown answer"),
        (hh_file, "3", "H2", "livestock", "impossible number: negative"),
        (m_file, "3", "P2", "education", "unknown answer"),
        (m_file, "4", "P2", "person_id", "repeats an earlier row"),
        (m_file, "5", "P3", "disability", "unknown answer"),
    }
    scored = pd.read_csv(out / "households.csv", dtype={"household_id": str})
    assert scored["size"].tolist() == [2, 1, 1]  # the duplicate counted once, no orphans
    assert scored["floor_area_m2"].tolist()[1] == 12.5
    summary = pd.read_csv(out / "summary.csv")
    assert summary["programme"].is_unique  # no province_code: one row per programme
    what_if = pd.read_csv(out / "what_if.csv")
    assert what_if[["programme", "max_desil"]].values.tolist() == [["PBI-JK", 5], ["PBI-JK", 6]]


def test_input_docstring_examples_run():
    import doctest

    from bansos_linkage.eligibility import inputs

    result = doctest.testmod(inputs)
    assert result.attempted > 0 and result.failed == 0


def test_score_train_lists_the_surveys_problems_too(small_register, tmp_path, capsys):
    from bansos_linkage.cli import EXIT_OK, main

    survey = small_register["survey"].copy()
    ids = survey["household_id"].tolist()
    survey.loc[2, "floor_area_m2"] = "-5"  # spreadsheet row 4
    survey.loc[4, "household_id"] = ids[3]  # row 6 repeats row 5: rejected
    survey.loc[6, "per_capita_expenditure"] = "0"  # row 8: no log of 0, left out of the fit
    survey.loc[7, "floor_material"] = "xyz"  # row 9
    survey.loc[8, "per_capita_expenditure"] = pd.NA  # row 10: left out of the fit
    survey.to_csv(tmp_path / "survey.csv", index=False)
    small_register["households"].to_csv(tmp_path / "hh.csv", index=False)
    out = tmp_path / "out"
    args = ["score", str(tmp_path / "hh.csv"), "--train", str(tmp_path / "survey.csv")]
    assert main([*args, "--out", str(out), "--reference-date", "2025-06-30"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "5 problems (3 rows rejected): see problems.csv" in printed
    problems = pd.read_csv(out / "problems.csv", dtype=str)
    spending, no_log = "per_capita_expenditure", "impossible number: expected above 0"
    assert set(problems.itertuples(index=False, name=None)) == {
        (str(tmp_path / "survey.csv"), *row)
        for row in [
            ("4", ids[2], "floor_area_m2", "impossible number: negative", "False"),
            ("6", ids[3], "household_id", "repeats an earlier row", "True"),
            ("8", ids[6], spending, no_log, "True"),
            ("9", ids[7], "floor_material", "unknown answer", "False"),
            ("10", ids[8], spending, "missing: left out of the PMT", "True"),
        ]
    }
    # no cell's value is copied into the problems, and the PMT was fitted without them
    assert "xyz" not in (out / "problems.csv").read_text()
    assert (out / "pmt.json").exists()
