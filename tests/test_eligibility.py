"""Eligibility scoring: ages at a reference date, household make-up, desil, 14 criteria, PMT."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from bansos_linkage.eligibility import (
    ProxyMeansTest,
    bps_criteria,
    composition,
    desil,
    evaluate_pmt,
)
from bansos_linkage.eligibility.members import age_at, education_level

REF = dt.date(2025, 6, 30)


@pytest.mark.parametrize(
    "born, age",
    [
        ("2019-06-30", 6),  # the birthday itself: 6
        ("2019-07-01", 5),  # the day after the reference date: still 5
        ("1955-06-30", 70),
        ("1955-07-01", 69),
        ("2004-02-29", 21),  # leap-day birthday, 2025 has no 29 Feb
        ("2025-06-30", 0),
    ],
)
def test_age_at_the_reference_date_turns_on_the_birthday(born, age):
    assert age_at(pd.Series(pd.to_datetime([born])), REF).iloc[0] == age


def test_schooling_words_map_to_levels():
    words = pd.Series(["SD", "tidak/belum sekolah", "SMK", "Diploma/Sarjana", "x", None])
    assert education_level(words).tolist() == ["SD", "none", "SMA", "tertiary", pd.NA, pd.NA]


@pytest.mark.parametrize(
    "answer, level",
    [
        ("TIDAK / BELUM SEKOLAH", "none"),  # the Dukcapil KK categories
        ("BELUM TAMAT SD/SEDERAJAT", "SD"),
        ("TAMAT SD / SEDERAJAT", "SD"),
        ("SLTP/SEDERAJAT", "SMP"),
        ("SLTA / SEDERAJAT", "SMA"),
        ("AKADEMI/ DIPLOMA III/S. MUDA", "tertiary"),
        ("DIPLOMA IV/ STRATA I", "tertiary"),
        ("Madrasah Tsanawiyah", "SMP"),  # madrasah and Paket equivalents
        ("MA", "SMA"),
        ("Paket A", "SD"),
        ("smart", None),  # a word containing a level is not that level
    ],
)
def test_schooling_in_the_words_of_other_registers(answer, level):
    got = education_level(pd.Series([answer])).iloc[0]
    assert (pd.isna(got) and level is None) or got == level


def test_work_and_yes_no_answers_in_register_words():
    from bansos_linkage.eligibility.members import _flag, _working

    jobs = ["BELUM/TIDAK BEKERJA", "MENGURUS RUMAH TANGGA", "PELAJAR/MAHASISWA", "PENSIUNAN"]
    jobs += ["PETANI/PEKEBUN", "BURUH HARIAN LEPAS", "wiraswasta", None]
    working = _working(pd.DataFrame({"work": jobs})).tolist()
    assert working == [False] * 4 + [True] * 3 + [False]
    answers = ["1", "2", "Ya", "Tidak", "tuna netra", "tidak ada", "hamil", "tidak hamil", None]
    flags = _flag(pd.DataFrame({"x": answers}), "x").tolist()
    assert flags == [True, False, True, False, True, False, True, False, False]


def _family() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "household_id": ["H1"] * 6 + ["H2"],
            "relationship": [1, 2, 3, 3, 3, 6, 1],
            "birth_date": pd.to_datetime(
                [
                    "1980-01-01",
                    "1985-05-05",
                    "2020-01-01",
                    "2019-07-01",
                    "2010-03-03",
                    "1950-01-01",
                    "1990-01-01",
                ]
            ),
            "sex": ["M", "F", "F", "M", "M", "F", "F"],
            "education": ["SD", "SMP", None, None, "SD", "tidak/belum sekolah", "SMA"],
            "work": ["petani", "tidak bekerja", None, None, None, "tidak bekerja", "karyawan"],
            "disability": [0, 0, 0, 0, 1, 0, 0],
            "pregnant": [0, 1, 0, 0, 0, 0, 0],
        }
    )


def test_composition_counts_each_band_at_the_reference_date():
    out = composition(_family(), REF).set_index("household_id")
    h1 = out.loc["H1"]
    assert h1["size"] == 6
    # born 2020-01-01 (5) and 2019-07-01 (5 until tomorrow) are under 6
    assert h1["children_0_6"] == 2
    assert h1["school_age_6_21"] == 1  # born 2010: 15
    assert (h1["elderly_60"], h1["elderly_70"]) == (1, 1)
    assert (h1["disabled"], h1["pregnant"], h1["adults_working"]) == (1, 1, 1)
    assert h1["head_education"] == "SD" and h1["head_work"] == "petani"
    assert out.loc["H2", "size"] == 1 and out.loc["H2", "head_education"] == "SMA"


def test_desil_cuts_equal_numbers_of_people_not_households():
    rng = np.random.default_rng(0)
    size = pd.Series(rng.integers(1, 9, 2_000))
    welfare = pd.Series(rng.normal(0, 1, 2_000))
    d = desil(welfare, size)
    people = size.groupby(d).sum()
    assert list(people.index) == list(range(1, 11))
    # each desil holds a tenth of the people, give or take one household
    assert (people - size.sum() / 10).abs().max() <= size.max()
    # poorer desil, lower welfare
    assert welfare.groupby(d).max().is_monotonic_increasing
    households = d.value_counts()
    assert households.max() > households.min()  # not ten equal groups of households


def test_desil_ties_are_broken_deterministically_and_within_regions():
    welfare = pd.Series([1.0, 1.0, 1.0, 1.0])
    size = pd.Series([1, 1, 1, 1])
    ids = pd.Series(["D", "B", "C", "A"])
    assert desil(welfare, size, tie_break=ids, groups=4).tolist() == [4, 2, 3, 1]
    region = pd.Series(["x", "y", "x", "y"])
    by_region = desil(pd.Series([1.0, 5.0, 2.0, 6.0]), size, by=region, groups=2)
    assert by_region.tolist() == [1, 1, 2, 2]
    with pytest.raises(ValueError, match="size"):
        desil(welfare, pd.Series([1, 0, 1, 1]))


def test_fourteen_criteria_on_hand_made_households():
    households = pd.DataFrame(
        {
            "size": [5, 2],
            "floor_area_m2": [30, 60],
            "floor_material": ["tanah", "keramik"],
            "wall_material": ["bambu", "tembok"],
            "toilet": ["tidak ada", "sendiri"],
            "lighting": ["non-PLN", "PLN 900 VA"],
            "drinking_water": ["mata air tak terlindung", "leding"],
            "cooking_fuel": ["kayu bakar", "LPG 3 kg"],
            "land_area_m2": [300, 0],
            "emas_10g": [0, 1],
            "sepeda_motor": [0, 1],
            "meals_per_day": [2, 3],
        }
    )
    heads = pd.DataFrame({"head_work": ["petani", "karyawan"], "head_education": ["SD", "SMA"]})
    out = bps_criteria(households, heads)
    assert out.loc[0, "criteria_met"] == 11 and bool(out.loc[0, "poor"])
    assert out.loc[1, "criteria_met"] == 0 and not out.loc[1, "poor"]
    # meat, clothes and puskesmas are not in the data: not assessable, not met
    assert out.loc[0, "assessable"] == 11 and pd.isna(out.loc[0, "meat_rarely"])
    assert not bool(bps_criteria(households, heads, threshold=12).loc[0, "poor"])
    # without the heads the two head criteria are not assessable
    assert bps_criteria(households).loc[0, "assessable"] == 9


@pytest.fixture(scope="module")
def population():
    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=4_000, seed=5))
    ref = dt.date(2025, 1, 1)
    members = data.persons[data.persons["present_now"]]
    hh = data.households.merge(composition(members, ref), on="household_id", suffixes=("_true", ""))
    return data, hh


def _features(hh: pd.DataFrame) -> pd.DataFrame:
    drop = ["per_capita_expenditure", "kk_number", "moved", "split", "split_from", "size_true"]
    return hh.drop(columns=[c for c in drop if c in hh])


def test_pmt_predicts_welfare_and_ranks_the_poor(population):
    data, hh = population
    y = np.log(hh["per_capita_expenditure"])
    X = _features(hh).drop(columns=["bps_village_code", "village_code", "district_code"])
    scores = evaluate_pmt(ProxyMeansTest(), X, y, size=hh["size"], cv=4)
    mean = scores.set_index("fold").loc["mean"]
    assert mean["r2"] > 0.5 and mean["spearman"] > 0.7
    # a random ranking leaves out about 60% of the poorest 40%; the PMT far fewer
    assert mean["exclusion_error"] < 0.35
    assert len(scores) == 5


def test_pmt_handles_unseen_answers_missing_values_and_regional_models(population):
    _, hh = population
    X = _features(hh)[["floor_material", "toilet", "floor_area_m2", "size", "province_code"]].copy()
    y = np.log(hh["per_capita_expenditure"]).to_numpy()
    pmt = ProxyMeansTest(by="province_code", min_group=400).fit(X, y)
    assert 0 < len(pmt.regional_) < X["province_code"].nunique()
    odd = X.head(3).copy()
    odd.loc[odd.index[0], "floor_material"] = "marmer"  # never seen in training
    odd.loc[odd.index[1], "floor_area_m2"] = np.nan
    pred = pmt.predict(odd)
    assert np.isfinite(pred).all()
    # a regional household uses its region's model, others the national one
    region = next(iter(pmt.regional_))
    rows = X[X["province_code"].astype(str) == region].head(5)
    assert not np.allclose(
        pmt.predict(rows), pmt.national_.predict(rows[list(pmt.feature_names_in_)])
    )
    with pytest.raises(ValueError, match="lacks the feature columns"):
        pmt.predict(X.drop(columns="toilet"))


def test_targeting_errors_by_hand_in_people():
    from bansos_linkage.eligibility.analysis import targeting_errors

    welfare = pd.Series([1.0, 2.0, 3.0, 4.0])
    size = pd.Series([2, 2, 2, 2])  # poorest 40% of 8 people: the first household and a half
    selected = pd.Series([False, True, True, False])
    e = targeting_errors(selected, welfare, size, target_share=0.5)
    # truly poor (poorest half of people): households 0 and 1
    assert e["exclusion_error"] == 0.5 and e["inclusion_error"] == 0.5
    assert e["coverage_10"] == 0.0 and e["selected_people"] == 4


def test_what_if_benefit_incidence_and_transitions(population):
    from bansos_linkage.eligibility.analysis import benefit_incidence, transitions, what_if

    _, hh = population
    true = np.log(hh["per_capita_expenditure"])
    noisy = true + np.random.default_rng(1).normal(0, 0.3, len(hh))
    predicted = desil(noisy, hh["size"])
    table, fig = what_if(predicted, true, hh["size"], cutoffs=(1, 2, 4), amount_per_family=2.4e6)
    assert table["families"].is_monotonic_increasing
    assert table["exclusion_error"].is_monotonic_decreasing
    assert table["budget"].iloc[-1] == table["families"].iloc[-1] * 2.4e6
    assert fig.axes
    amount = pd.Series(np.where(predicted <= 4, 2.4e6, 0.0))
    incidence = benefit_incidence(amount, true, hh["size"])
    assert incidence["share_of_benefit"].sum() == pytest.approx(1.0)
    assert incidence["share_of_benefit"].iloc[:4].sum() > 0.6
    current = pd.Series([True, True, False, False])
    eligible = pd.Series([True, False, True, False])
    status, counts = transitions(current, eligible, pd.Series(["A", "A", "B", "B"]))
    assert status["status"].tolist() == ["stays", "drops", "new", "neither"]
    assert counts.set_index("village").loc["A", ["stays", "drops"]].tolist() == [1, 1]


def test_score_register_ranks_scores_and_sums_up(population):
    from bansos_linkage.eligibility.rules import load_programmes
    from bansos_linkage.eligibility.score import score_register

    data, _ = population
    members = data.persons[data.persons["present_now"]]
    households = data.households.drop(columns=["per_capita_expenditure", "size"])
    scored = score_register(
        households, members, load_programmes("all"), dt.date(2025, 1, 1), survey=data.survey
    )
    hh = scored.households
    assert len(hh) == len(households) and set(hh["desil"]) == set(range(1, 11))
    # each desil holds about a tenth of the people
    people = hh.groupby("desil")["size"].sum()
    assert (people - hh["size"].sum() / 10).abs().max() <= hh["size"].max()
    assert not hh.loc[hh["desil"] > 4, "eligible:PKH"].any()
    assert (hh.loc[hh["eligible:Sembako"], "amount:Sembako"] == 2_400_000).all()
    pkh = hh[hh["eligible:PKH"]]
    assert len(pkh) and pkh["reasons:PKH"].str.len().gt(0).all()
    assert hh.loc[~hh["eligible:PKH"], "reasons:PKH"].str.startswith("failed: desil").any()
    persons = scored.persons
    assert len(persons) == len(members)  # one row per member, every person programme
    assert {"eligible:PBI-JK", "amount:PIP", "reasons:PIP"} <= set(persons.columns)
    pip = persons[persons["eligible:PIP"]]
    # no in_school column: the reasons say attendance was assumed from age
    assert (
        len(pip)
        and pip["reasons:PIP"]
        .isin([f"{level} (in school assumed from age)" for level in ("sd", "smp", "sma")])
        .all()
    )
    total = scored.summary.query("programme == 'Sembako' and region == 'all'")
    assert total["families"].iloc[0] == hh["eligible:Sembako"].sum()
    assert total["budget"].iloc[0] == hh["amount:Sembako"].sum()
    # the same data give the same ranking
    again = score_register(
        households, members, load_programmes("all"), dt.date(2025, 1, 1), survey=data.survey
    )
    pd.testing.assert_series_equal(again.households["desil"], hh["desil"])


def test_a_saved_pmt_gives_the_same_predictions(population, tmp_path):
    from bansos_linkage.eligibility.pmt import load_pmt, save_pmt
    from bansos_linkage.errors import SchemaError

    _, hh = population
    X = _features(hh)[["floor_material", "toilet", "floor_area_m2", "size", "province_code"]]
    X = X.assign(floor_area_m2=X["floor_area_m2"].where(X.index % 7 != 0))  # some missing
    y = np.log(hh["per_capita_expenditure"]).to_numpy()
    pmt = ProxyMeansTest(by="province_code", min_group=400).fit(X, y)
    again = load_pmt(save_pmt(pmt, X, y, tmp_path / "pmt.json"))
    np.testing.assert_allclose(again.predict(X), pmt.predict(X), rtol=1e-12)
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(SchemaError, match="bad.json"):
        load_pmt(tmp_path / "bad.json")


def test_what_if_rules_prices_each_cut_off_per_programme(population):
    from bansos_linkage.eligibility.analysis import cutoff_variants, what_if_rules
    from bansos_linkage.eligibility.rules import load_programmes
    from bansos_linkage.eligibility.score import score_register

    data, _ = population
    members = data.persons[data.persons["present_now"]]
    households = data.households.drop(columns=["per_capita_expenditure", "size"])
    programmes = load_programmes("all")
    scored = score_register(households, members, programmes, REF, survey=data.survey)
    hh = scored.households
    truth = np.log(data.households["per_capita_expenditure"].astype(float))
    variants = cutoff_variants(programmes, [2, 4])
    table, fig = what_if_rules(hh, members, variants, REF, true_welfare=truth)
    # each cut-off for every programme, and PBI-JK also at its own max_desil of 5
    assert len(table) == 2 * len(programmes) + 1 and len(fig.axes) == 2
    assert table.loc[table["variant"] == "max_desil=5", "programme"].tolist() == ["PBI-JK"]
    row = table.set_index(["variant", "programme"])
    # the max_desil=4 variant is the built-in rule set: same recipients and budget
    assert row.loc[("max_desil=4", "PKH"), "budget"] == hh["amount:PKH"].sum()
    assert row.loc[("max_desil=4", "Sembako"), "families"] == hh["eligible:Sembako"].sum()
    assert row.loc[("max_desil=4", "PIP"), "people"] == scored.persons["eligible:PIP"].sum()
    # a wider cut-off reaches more families, costs more and leaves fewer poor out
    for name in ("PKH", "Sembako", "PBI-JK"):
        wide, narrow = row.loc[("max_desil=4", name)], row.loc[("max_desil=2", name)]
        assert wide["families"] > narrow["families"] and wide["budget"] > narrow["budget"]
        assert wide["exclusion_error"] < narrow["exclusion_error"]
    assert (
        row.xs("Sembako", level="programme")["budget"]
        == row.xs("Sembako", level="programme")["families"] * 2_400_000
    ).all()


def test_prepare_register_lists_every_problem_by_row_and_id():
    from bansos_linkage.eligibility.score import prepare_register

    households = pd.DataFrame(
        {
            "household_id": ["H1", "H2", "H2", None, "H4"],
            "floor_area_m2": ["36", "tiga puluh", "20", "10", "48"],
            "floor_material": ["tanah", "semen", "semen", "tanah", "keramik"],
        },
        dtype="string",
    )
    members = pd.DataFrame(
        {
            "person_id": ["P1", "P2", "P3", "P4"],
            "household_id": ["H1", "H1", "H9", "H2"],
            "birth_date": ["17-08-1975", "31-02-2010", "1980", "1990"],
            "sex": ["PEREMPUAN", "L", "2", "X"],
            "relationship": ["KEPALA KELUARGA", "anak kandung", "03", "12"],
        },
        dtype="string",
    )
    hh, m, problems = prepare_register(households, members, REF, members_file="m.csv")
    assert hh["household_id"].tolist() == ["H1", "H2", "H4"]
    assert hh["floor_area_m2"].tolist()[0] == 36 and pd.isna(hh["floor_area_m2"].iloc[1])
    assert hh["floor_material"].tolist() == ["tanah", "semen", "keramik"]  # words stay words
    assert m["person_id"].tolist() == ["P1", "P2", "P4"]
    assert m["birth_date"].iloc[0] == pd.Timestamp("1975-08-17")  # day first
    assert pd.isna(m["birth_date"].iloc[1])
    assert m["sex"].tolist()[:2] == ["F", "M"] and pd.isna(m["sex"].iloc[2])
    assert m["relationship"].tolist()[:2] == [1, 3]
    listed = {(p.file, p.row, p.id, p.column, p.problem, p.rejected) for p in problems.itertuples()}
    assert listed == {
        ("households", 3, "H2", "floor_area_m2", "expected a number", False),
        ("households", 4, "H2", "household_id", "repeats an earlier row", True),
        ("households", 5, pd.NA, "household_id", "missing", True),
        ("m.csv", 3, "P2", "birth_date", "date_invalid", False),
        ("m.csv", 4, "P3", "household_id", "household_id not in households", True),
        ("m.csv", 5, "P4", "sex", "sex_unknown_code", False),
        ("m.csv", 5, "P4", "relationship", "relationship_unknown_code", False),
        ("households", 6, "H4", "household_id", "no members", False),
    }
    # nothing personal in the table: ids, places and problem codes only
    assert not problems.astype(str).isin(["tiga puluh", "31-02-2010"]).any().any()


@pytest.mark.parametrize("name", ["members", "desil", "rules", "analysis", "score"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    module = importlib.import_module(f"bansos_linkage.eligibility.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_programme_transitions_per_programme_with_recipients_not_found():
    from bansos_linkage.eligibility.analysis import programme_transitions
    from bansos_linkage.eligibility.rules import load_programmes

    hh = pd.DataFrame(
        {
            "household_id": ["H1", "H2", "H3", "H4"],
            "village_code": ["A", "A", "B", "B"],
            "eligible:PKH": [True, False, True, False],
            "eligible:Sembako": [True, True, False, False],
        }
    )
    now = pd.DataFrame(
        {"household_id": ["H1", "H2", "H9"], "pkh": ["1", "ya", "1"], "SEMBAKO": ["0", "1", "0"]}
    )
    status, villages = programme_transitions(hh, now, load_programmes("all"))
    status = status.set_index("household_id")
    assert status["status:PKH"].to_dict() == {
        "H1": "stays",
        "H2": "drops",
        "H3": "new",
        "H4": "neither",
        "H9": "not_found",  # receives PKH today, but is not in the new register
    }
    assert status["status:Sembako"].tolist() == ["new", "stays", "neither", "neither", "neither"]
    pkh = villages[villages["programme"] == "PKH"].set_index("village")
    assert pkh.loc["(not in the register)", "not_found"] == 1 and pkh.loc["A", "drops"] == 1
    assert "(not in the register)" not in set(
        villages.loc[villages["programme"] == "Sembako", "village"]
    )
    with pytest.raises(ValueError, match="named after a programme"):
        programme_transitions(hh, now[["household_id"]], load_programmes("all"))
