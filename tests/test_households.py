"""Household links read off person links: statuses, tie-breaks, shared households."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest

from bansos_linkage.linkage import households as households_module
from bansos_linkage.linkage.households import STATUSES, family_key, household_links, status_counts


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
    # families known by their KK are numbered in the order the KKs first appear
    a, b, c, d, e = (f"F:{n:08d}" for n in range(1, 6))
    assert status[status.index.notna()].to_dict() == {
        a: "matched",
        b: "split",
        c: "partial",
        d: "not_found",
        e: "matched",
    }
    assert table.loc[(c, "W"), "share"] == pytest.approx(1 / 3)
    assert table.loc[(b, "Y"), "other_households"] == 1
    assert table.loc[(e, "Y"), "shared_by"] == 2  # B and E both found in Y
    assert table.loc[(a, "X"), "right_members"] == 3
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
    assert family_key(records).tolist() == ["H1", "F:00000002", "ID:r3"]  # K1 is first


# --- no personal number as a key ----------------------------------------------------------


def test_the_family_key_is_a_sequence_not_the_kk_and_include_kk_adds_it():
    kks = ["3201010101990007", "3201010101990003", "3201010101990007", None]
    left = pd.DataFrame({"record_id": ["a", "b", "c", "d"], "kk_number": kks})
    right = _records(["x", "y"], ["H1", "H2"])
    links = _links([("a", "x", 0.9), ("b", "y", 0.9), ("c", "x", 0.8)])
    table = household_links(links, left, right)
    assert "kk_number" not in table
    assert table["left_household"].dropna().tolist() == ["F:00000001", "F:00000002", "ID:d"]
    keys = table[["left_household", "right_household"]].stack()
    assert not keys.str.contains(r"\d{16}").any()
    # the same records give the same keys; in another order, other numbers
    assert household_links(links, left, right).equals(table)
    reversed_keys = family_key(left.iloc[::-1]).tolist()
    assert reversed_keys == ["ID:d", "F:00000001", "F:00000002", "F:00000001"]
    with_kk = household_links(links, left, right, include_kk=True)
    assert list(with_kk.columns[:2]) == ["left_household", "kk_number"]
    assert with_kk.drop(columns="kk_number").equals(table)
    assert with_kk["kk_number"].iloc[:2].tolist() == kks[:2]
    assert with_kk["kk_number"].iloc[2:].isna().all()  # d has no KK


def test_a_household_keyed_family_gets_the_first_kk_of_its_records():
    left = pd.DataFrame(
        {
            "record_id": ["a", "b", "c"],
            "household_id": ["H9", "H9", None],
            "kk_number": [None, "K2", "K3"],
        }
    )
    right = _records(["x"], ["R1"])
    table = household_links(_links([("a", "x", 0.9)]), left, right, include_kk=True)
    assert table.set_index("left_household").loc[["H9", "F:00000002"], "kk_number"].tolist() == [
        "K2",
        "K3",
    ]


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Two ``link`` runs of the same small synthetic registers (one with --kk-column)."""
    from bansos_linkage.cli import EXIT_OK, main

    base = tmp_path_factory.mktemp("families")
    assert main(["synth", "--households", "150", "--seed", "4", "--out", str(base)]) == EXIT_OK
    runs = []
    for name, extra in (("plain", []), ("with_kk", ["--kk-column"])):
        args = [
            *("link", str(base / "dtks.csv"), str(base / "regsosek.csv")),
            *("--left-schema", "dtks", "--right-schema", "regsosek"),
            *("--out", str(base / name), "--reference-date", "2026-01-01", *extra),
        ]
        assert main(args) == EXIT_OK
        runs.append(base / name)
    return runs


def test_household_links_csv_holds_no_16_digit_number(cli_runs):
    import re

    text = (cli_runs[0] / "household_links.csv").read_text(encoding="utf-8")
    # no KK of the export, nor any 16-digit number but the probabilities' decimals
    kks = pd.read_csv(cli_runs[0].parent / "dtks.csv", dtype=str).filter(regex="(?i)kk")
    assert kks.size > 0 and not any(kk in text for kk in kks.stack().unique())
    assert re.search(r"(?<![\d.])\d{16}(?!\d)", text) is None
    keys = pd.read_csv(cli_runs[0] / "household_links.csv", dtype=str)["left_household"]
    assert keys.dropna().str.fullmatch(r"F:\d{8}|ID:.+").all()
    assert keys.dropna().str.startswith("F:").sum() > 50  # DTKS families are known by KK


def test_family_keys_are_the_same_on_a_rerun_and_kk_column_adds_the_kk(cli_runs):
    plain, with_kk = (pd.read_csv(run / "household_links.csv", dtype=str) for run in cli_runs)
    assert "kk_number" not in plain
    assert list(with_kk.columns[:2]) == ["left_household", "kk_number"]
    # the second run (same data) gives every family the same key and household
    pd.testing.assert_frame_equal(with_kk.drop(columns="kk_number"), plain)
    # and kk_number is the KK of the family's records
    records = pd.read_parquet(cli_runs[1] / "records_left.parquet")
    truth = pd.Series(records["kk_number"].to_numpy(), index=family_key(records).to_numpy())
    truth = truth.dropna().groupby(level=0).first()
    families = with_kk.dropna(subset=["left_household"]).set_index("left_household")
    known = families["kk_number"].dropna()
    assert len(known) == len(truth) and (known == truth.reindex(known.index)).all()
    assert known.str.fullmatch(r"\d{16}").all()


def test_docstring_examples_run():
    result = doctest.testmod(households_module)
    assert result.attempted > 0 and result.failed == 0
