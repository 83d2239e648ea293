"""Updates of an assembled register: stable ids, only the new linked, changes reported."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bansos_linkage import Linker, standardise
from bansos_linkage.assembly import Source, assemble, assemble_files, read_assembly
from bansos_linkage.assembly.update import (
    CHANGE_COLUMNS,
    diff_records,
    update_assembly,
    update_files,
)
from bansos_linkage.errors import UsageError
from bansos_linkage.io import read_table
from bansos_linkage.runs import verify_run
from bansos_linkage.synthetic import generate, scenario

DAY = dt.date(2026, 1, 1)
SOURCES = ("dtks", "p3ke", "regsosek")


@pytest.fixture(scope="module")
def monthly():
    """An assembly without 10 DTKS records of people in Regsosek, and a DTKS update that
    drops 5 records, puts a typo in 3 names and adds the 10 back."""
    data = generate(scenario("default", households=300, seed=11))
    src = {n: standardise(data.registers[n], n, reference_date=DAY).records for n in SOURCES}
    truth = data.truth["dtks"].set_index("record_id")["person_id"]
    in_regsosek = src["dtks"]["record_id"].map(truth).isin(set(data.truth["regsosek"]["person_id"]))
    held = src["dtks"][in_regsosek.to_numpy()].iloc[::17].head(10)
    first = {**src, "dtks": src["dtks"][~src["dtks"]["record_id"].isin(held["record_id"])]}
    first["dtks"] = first["dtks"].reset_index(drop=True)
    previous = assemble(first, linker=Linker(n_jobs=1), reference_date=DAY)
    export = first["dtks"].drop(index=range(5, 10))
    typo = export.index[20:23]
    export.loc[typo, "full_name"] = export.loc[typo, "full_name"] + "H"
    export = pd.concat([export, held], ignore_index=True)
    edits = {
        "removed": set(first["dtks"]["record_id"].iloc[5:10]),
        "changed": set(first["dtks"]["record_id"].loc[typo]),
        "new": set(held["record_id"]),
    }
    return data, first, previous, export, edits


@pytest.fixture(scope="module")
def updated(monthly):
    _, first, previous, export, _ = monthly
    return update_assembly(
        previous, first, {"dtks": export}, linkers=previous.linkers, reference_date=DAY
    )


def _person_of(records: pd.DataFrame) -> pd.Series:
    key = records["source"].astype(str) + ":" + records["record_id"].astype(str)
    return pd.Series(records["person_id"].astype(str).to_numpy(), index=key.to_numpy())


def test_diff_records_statuses_and_columns():
    old = pd.DataFrame({"record_id": ["1", "2", "3"], "a": ["x", "y", None], "b": [1, 2, 3]})
    new = pd.DataFrame({"record_id": ["3", "2", "4"], "a": [None, "z", "w"], "b": [3.0, 2, 5]})
    diff = diff_records(old, new, ["a", "b", "not_there"]).set_index("record_id")
    assert diff["status"].to_dict() == {
        "1": "removed",
        "2": "changed",
        "3": "unchanged",
        "4": "new",
    }
    assert diff.loc["2", "columns"] == "a"


def test_update_reports_every_edit_and_nothing_else(updated, monthly):
    *_, edits = monthly
    _, _, changes = updated
    assert list(changes.columns) == CHANGE_COLUMNS
    records = changes[changes["level"].eq("record")]
    for change, ids in edits.items():
        assert set(records.loc[records["change"].eq(change), "record_id"]) == ids
    assert records["source"].eq("dtks").all()
    removed = records[records["change"].eq("removed")]
    assert removed["person_id"].notna().all()


def test_unchanged_records_keep_their_person(updated, monthly):
    _, _, previous, _, edits = monthly
    result, current, _ = updated
    before, after = _person_of(previous.records), _person_of(result.records)
    moved = {f"dtks:{i}" for i in edits["changed"] | edits["removed"] | edits["new"]}
    kept = before.index.difference(list(moved))
    assert (after.reindex(kept) == before.reindex(kept)).all()
    assert len(result.records) == sum(len(r) for r in current.values())
    assert result.persons["person_id"].is_unique
    assert set(result.persons["person_id"]) == set(result.records["person_id"])


def test_added_records_join_their_regsosek_counterparts(updated, monthly):
    data, _, previous, _, edits = monthly
    result, _, changes = updated
    dtks_truth = data.truth["dtks"].set_index("record_id")["person_id"]
    regsosek_truth = data.truth["regsosek"].drop_duplicates("person_id")
    rg = previous.records[previous.records["source"].eq("regsosek")]
    dtsen_of_rg = rg.set_index("record_id")["person_id"]
    expected = (
        regsosek_truth.set_index("person_id")["record_id"].map(dtsen_of_rg).dropna().astype(str)
    )
    added = result.records[result.records["source"].eq("dtks")]
    added = added[added["record_id"].isin(edits["new"])].set_index("record_id")["person_id"]
    wanted = added.index.map(dtks_truth).map(expected)
    assert (added.to_numpy() == wanted.to_numpy()).sum() >= 9
    joined = changes[changes["level"].eq("person") & changes["change"].eq("joined")]
    assert set(added[added.to_numpy() == wanted.to_numpy()]) <= set(joined["person_id"])


def test_no_id_is_reused_and_unaffected_ids_stay(updated, monthly):
    _, _, previous, _, _ = monthly
    result, _, changes = updated
    for table, column in (("persons", "person_id"), ("families", "family_id")):
        old = set(getattr(previous, table)[column])
        fresh = set(getattr(result, table)[column]) - old
        top = max(int(i[1:]) for i in old)
        assert all(int(i[1:]) > top for i in fresh)
    assert result.summary["last_person_id"] >= int(result.persons["person_id"].max()[1:])
    affected = set(changes["person_id"].dropna())
    before = previous.persons.set_index("person_id")["family_id"]
    after = result.persons.set_index("person_id")["family_id"]
    same = before.index.intersection(after.index).difference(list(affected))
    assert len(same) > 0.9 * len(before)
    assert (before[same] == after[same]).mean() > 0.99


def test_update_is_deterministic(updated, monthly):
    _, first, previous, export, _ = monthly
    again = update_assembly(
        previous, first, {"dtks": export}, linkers=previous.linkers, reference_date=DAY
    )
    pd.testing.assert_frame_equal(again[2], updated[2])
    for table in ("records", "persons", "families", "family_links", "conflicts"):
        pd.testing.assert_frame_equal(getattr(again[0], table), getattr(updated[0], table))


def test_the_same_export_again_changes_nothing(monthly):
    _, first, previous, _, _ = monthly
    result, current, changes = update_assembly(
        previous, first, {"dtks": first["dtks"]}, linkers=previous.linkers, reference_date=DAY
    )
    assert changes.empty
    assert (_person_of(result.records) == _person_of(previous.records)).all()
    pd.testing.assert_series_equal(
        result.records["family_id"].astype(str), previous.records["family_id"].astype(str)
    )
    assert set(result.families["family_id"]) == set(previous.families["family_id"])


def test_a_typo_in_a_person_of_one_record_keeps_its_id(monthly):
    _, first, previous, _, _ = monthly
    counts = previous.records["person_id"].value_counts()
    alone = previous.records[
        previous.records["source"].eq("dtks") & previous.records["person_id"].map(counts).eq(1)
    ]
    target = alone["record_id"].iat[0]
    export = first["dtks"].copy()
    row = export["record_id"].eq(target)
    export.loc[row, "full_name"] = export.loc[row, "full_name"] + "H"
    result, _, changes = update_assembly(
        previous, first, {"dtks": export}, linkers=previous.linkers, reference_date=DAY
    )
    assert changes[["record_id", "change"]].values.tolist() == [[target, "changed"]]
    assert (_person_of(result.records) == _person_of(previous.records)).all()


def test_an_unknown_source_needs_a_full_run(monthly):
    _, first, previous, _, _ = monthly
    with pytest.raises(UsageError, match="full assemble"):
        update_assembly(
            previous, first, {"bdt": first["dtks"]}, linkers=previous.linkers, reference_date=DAY
        )


def test_update_files_writes_a_new_run_folder(tmp_path):
    data = generate(scenario("default", households=120, seed=3))
    raw = data.registers
    run = tmp_path / "run"
    assemble_files(
        [Source(n, raw[n]) for n in ("regsosek", "dtks")],
        run,
        reference_date=DAY,
        linker=Linker(n_jobs=1),
    )
    manifest = verify_run(run)
    export = raw["dtks"].iloc[4:].reset_index(drop=True)
    with pytest.raises(UsageError):
        update_files(run, [Source("dtks", export)], run)
    out = tmp_path / "update"
    result = update_files(run, [Source("dtks", export)], out, command=["assemble", "--update"])
    assert verify_run(run) == manifest  # the previous folder is untouched
    again, records = read_assembly(out)
    assert set(records) == {"regsosek", "dtks"}
    assert len(records["dtks"]) == len(result.records.query("source == 'dtks'"))
    assert set(again.persons["person_id"]) == set(result.persons["person_id"])
    changes = read_table(out / "changes.csv")
    removed = changes[changes["level"].eq("record") & changes["change"].eq("removed")]
    assert len(removed) == 4
    assert again.summary["update"]["record"] == {"removed": 4}
    assert (out / "verval.key").read_bytes() == (run / "verval.key").read_bytes()
