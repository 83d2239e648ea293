"""Programme rules: built-in PKH caps and components, person programmes, bad files, YAML."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bansos_linkage.eligibility.rules import (
    dump_programmes,
    evaluate,
    load_programmes,
    programme_to_dict,
)
from bansos_linkage.errors import SchemaError

REF = dt.date(2025, 6, 30)


def _pkh():
    return next(p for p in load_programmes("all") if p.name == "PKH")


def _members(rows):
    # the third field is the level attended now (Regsosek's school participation);
    # ``education`` is the level completed, which says nothing about attending
    frame = pd.DataFrame(
        rows, columns=["household_id", "birth_date", "school_level", "disability", "pregnant"]
    )
    frame["birth_date"] = pd.to_datetime(frame["birth_date"])
    frame["relationship"] = 3
    frame["sex"] = "F"
    frame["person_id"] = [f"P{i}" for i in range(len(frame))]
    return frame


def test_pkh_components_and_caps_on_a_hand_made_family():
    members = _members(
        [
            ("H1", "1985-01-01", "SD", 0, 1),  # pregnant mother
            ("H1", "1983-01-01", "SD", 0, 0),
            ("H1", "2021-01-01", None, 0, 0),  # three children under 6: at most 2 count
            ("H1", "2022-01-01", None, 0, 0),
            ("H1", "2023-01-01", None, 0, 0),
            ("H1", "2015-01-01", "SD", 0, 0),  # SD pupil, 10
            ("H1", "2011-01-01", "SMP", 1, 0),  # SMP pupil, 14, disabled
            ("H1", "2008-01-01", "SMA", 1, 0),  # SMA pupil, 17, disabled: one disabled counts
            ("H1", "1950-01-01", None, 0, 0),  # two elderly (75, 72): one counts
            ("H1", "1953-01-01", None, 0, 0),
            ("H2", "1990-01-01", "SMA", 0, 0),  # no component at all
            ("H3", "2020-01-01", None, 0, 0),  # a child, but desil 6
        ]
    )
    households = pd.DataFrame({"household_id": ["H1", "H2", "H3"], "desil": [2, 1, 6]})
    out = evaluate(_pkh(), households, members, REF).set_index("household_id")
    expected = 3_000_000 + 2 * 3_000_000 + 900_000 + 1_500_000 + 2_000_000 + 2_400_000 + 2_400_000
    assert out.loc["H1", "eligible"] and out.loc["H1", "amount"] == expected
    assert "child_0_6 x2" in out.loc["H1", "components"]
    assert "elderly x1" in out.loc["H1", "components"]
    assert not out.loc["H2", "eligible"] and out.loc["H2", "failed"] == "no benefit component"
    assert not out.loc["H3", "eligible"] and "desil between 1-4" in out.loc["H3", "failed"]
    assert out.loc["H3", "amount"] == 0


@pytest.mark.parametrize(
    "born, counts", [("1955-06-30", True), ("1955-07-01", False)], ids=["70 today", "70 tomorrow"]
)
def test_pkh_elderly_age_is_reached_on_the_birthday(born, counts):
    members = _members([("H1", born, None, 0, 0)])
    out = evaluate(_pkh(), pd.DataFrame({"household_id": ["H1"], "desil": [1]}), members, REF)
    assert bool(out["eligible"].iloc[0]) is counts


def test_the_elderly_age_is_a_parameter(tmp_path):
    text = programme_to_dict(_pkh())
    text["parameters"]["elderly_age"] = 60
    for comp in text["components"]:
        if comp["name"] == "elderly":
            comp["members"] = {"field": "age", "at_least": "elderly_age"}
    path = tmp_path / "pkh60.yaml"
    import yaml

    path.write_text(yaml.safe_dump(text))
    members = _members([("H1", "1962-01-01", None, 0, 0)])  # 63
    households = pd.DataFrame({"household_id": ["H1"], "desil": [1]})
    assert evaluate(load_programmes(path)[0], households, members, REF)["eligible"].iloc[0]
    assert not evaluate(_pkh(), households, members, REF)["eligible"].iloc[0]


def test_person_programmes_pay_each_member():
    programmes = {p.name: p for p in load_programmes("all")}
    members = _members(
        [
            ("H1", "2015-01-01", "SD", 0, 0),
            ("H1", "2008-01-01", "SMA", 0, 0),
            ("H1", "1980-01-01", "SD", 0, 0),
            ("H2", "2015-01-01", "SD", 0, 0),
        ]
    )
    households = pd.DataFrame({"household_id": ["H1", "H2"], "desil": [3, 7]})
    pip = evaluate(programmes["PIP"], households, members, REF).set_index("person_id")
    assert pip["amount"].tolist() == [450_000, 1_800_000, 0, 0]
    assert "age between 6-21" in pip.loc["P2", "failed"]
    pbi = evaluate(programmes["PBI-JK"], households, members, REF)
    assert pbi["eligible"].tolist() == [True, True, True, False]


def test_yaml_round_trip_gives_the_same_programmes(tmp_path):
    programmes = load_programmes("all")
    again = load_programmes(dump_programmes(programmes, tmp_path / "all.yaml"))
    assert again == programmes


def test_a_bad_rule_file_lists_every_problem_with_programme_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        """
programmes:
  - name: Broken
    eligible:
      all:
        - {field: desill, between: [1, 4]}
        - {field: desil, betwen: [1, 4]}
        - {field: desil, between: [5, 2]}
        - {field: province_code, at_least: 3}
    components:
      - {name: kids, members: {field: age, at_most: ten}, amount: -5}
    colour: red
"""
    )
    with pytest.raises(SchemaError) as err:
        load_programmes(path)
    message = str(err.value)
    assert str(path) in message and "7 problems" in message
    for part in (
        "eligible.all[0]: field 'desill' is not one of",
        "eligible.all[1]: key 'betwen' is not an operator",
        "impossible range: 5 is above 2",
        "province_code at_least: a text field cannot be compared by size",
        "age at_most: expected a number",
        "key 'colour' is not a programme key",
        "components[0]: amount must be a non-negative",
    ):
        assert part in message, part
    assert message.count("programme 'Broken'") == 7


def test_a_variant_changes_a_parameter_and_refuses_unknown_ones():
    from bansos_linkage.eligibility.rules import with_parameters

    members = _members([("H1", "1962-01-01", None, 0, 0)])  # 63: elderly only from 60
    households = pd.DataFrame({"household_id": ["H1"], "desil": [5]})
    pkh60 = with_parameters(_pkh(), elderly_age=60, max_desil=5)
    assert evaluate(pkh60, households, members, REF)["eligible"].iloc[0]
    assert not evaluate(_pkh(), households, members, REF)["eligible"].iloc[0]
    assert _pkh().parameters["elderly_age"] == 70  # the original is untouched
    with pytest.raises(SchemaError, match="no parameter 'max_age'.*elderly_age, max_desil"):
        with_parameters(_pkh(), max_age=3)
    with pytest.raises(SchemaError, match="desil between: expected"):
        with_parameters(_pkh(), max_desil="four")


def test_pkh_pays_up_to_the_second_pregnancy():
    def family(children: int, **extra):
        rows = [("H1", "1990-01-01", "SD", 0, 1)] + [("H1", "2018-01-01", "SD", 0, 0)] * children
        members = _members(rows).assign(relationship=[2] + [3] * children, **extra)
        households = pd.DataFrame({"household_id": ["H1"], "desil": [1]})
        return evaluate(_pkh(), households, members, REF).iloc[0]

    assert "pregnant x1" in family(0)["components"]  # first pregnancy
    assert "pregnant x1" in family(1)["components"]  # second: one child already
    third = family(2)  # two children at home: the third pregnancy does not pay
    assert "pregnant" not in third["components"]
    assert third["amount"] == 2 * 900_000  # the two pupils still do
    # a register that records the pregnancy number is believed over the estimate
    assert "pregnant x1" in family(2, pregnancy_number=[2, None, None])["components"]


def test_all_is_every_built_in_programme_once():
    from bansos_linkage.eligibility.rules import BUILTIN

    names = [p.name for p in load_programmes("all")]
    assert names == ["PKH", "Sembako", "PBI-JK", "PIP", "BLT Dana Desa"]
    assert len(BUILTIN) == len(names)
