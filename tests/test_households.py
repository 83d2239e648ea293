"""Household links read off person links: statuses, tie-breaks, shared households."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

from bansos_linkage import households as households_module
from bansos_linkage.households import STATUSES, family_key, household_links, status_counts


def _records(ids, families, column="household_id"):
    return pd.DataFrame({"record_id": ids, column: families})


def _links(pairs):
    return pd.DataFrame(pairs, columns=["left_id", "right_id", "match_probability"])


def test_each_family_gets_its_status():
    left = _records(
        ["a1", "a2", "a3", "b1", "b2", "c1", "c2", "c3", "d1", "e1"],
        ["A", "A", "A", "B", "B", "C", "C", "C", "D", "E"],
        column="kk_number",
    )
    right = _records(
        ["x1", "x2", "x3", "y1", "y2", "z1", "w1", "v1"],
        ["X", "X", "X", "Y", "Y", "Z", "W", "V"],
    )
    links = _links(
        [
            ("a1", "x1", 0.99),  # A: whole family in X
            ("a2", "x2", 0.98),
            ("a3", "x3", 0.97),
            ("b1", "y1", 0.99),  # B: one member in Y, the other in Z (a new family)
            ("b2", "z1", 0.95),
            ("c1", "w1", 0.90),  # C: one of three found
            ("e1", "y2", 0.90),  # E: joins Y, which B's main member is in too
        ]
    )
    table = household_links(links, left, right).set_index(["left_household", "right_household"])
    status = table["status"].droplevel("right_household")
    assert status[status.index.notna()].to_dict() == {
        "KK:A": "matched",
        "KK:B": "split",
        "KK:C": "partial",
        "KK:D": "not_found",
        "KK:E": "matched",
    }
    assert table.loc[("KK:C", "W"), "share"] == pytest.approx(1 / 3)
    assert table.loc[("KK:B", "Y"), "other_households"] == 1
    assert table.loc[("KK:E", "Y"), "shared_by"] == 2  # B and E both found in Y
    assert table.loc[("KK:A", "X"), "right_members"] == 3
    # Z is reached (by B's second member), V by no one: it is new
    new = table[table["status"] == "new"].index.get_level_values("right_household").tolist()
    assert new == ["V"]
    assert status_counts(household_links(links, left, right)) == {
        "matched": 2,
        "partial": 1,
        "split": 1,
        "not_found": 1,
        "new": 1,
    }


def test_every_family_once_and_every_household_at_most_once_as_new():
    left = _records(["a", "b", "c"], ["F1", "F1", "F2"])
    right = _records(["x", "y", "z"], ["H1", "H2", "H3"])
    table = household_links(_links([("a", "x", 0.9), ("b", "y", 0.8)]), left, right)
    families = table["left_household"].dropna()
    assert sorted(families) == ["F1", "F2"] and families.is_unique
    assert table.loc[table["status"] == "new", "right_household"].tolist() == ["H3"]
    assert set(table["status"]) <= set(STATUSES)


def test_ties_go_to_the_surer_links_then_the_smaller_id():
    left = _records(["a", "b", "c", "d"], ["F", "F", "G", "G"])
    right = _records(["x", "y", "u", "v"], ["H2", "H1", "K1", "K2"])
    links = _links([("a", "x", 0.99), ("b", "y", 0.60), ("c", "u", 0.9), ("d", "v", 0.9)])
    main = household_links(links, left, right).set_index("left_household")["right_household"]
    assert main["F"] == "H2"  # one member each: the surer link wins
    assert main["G"] == "K1"  # equally sure: the smaller id


def test_family_key_falls_back_from_household_to_kk_to_the_person():
    records = pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "household_id": ["H1", None, None],
            "kk_number": ["K1", "K2", None],
        }
    )
    assert family_key(records).tolist() == ["H1", "KK:K2", "ID:r3"]


def test_docstring_examples_run():
    result = doctest.testmod(households_module)
    assert result.attempted > 0 and result.failed == 0
