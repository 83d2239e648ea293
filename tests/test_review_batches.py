"""Review batches of a run folder: batch ids, keyed checks, one record per batch.

A sheet is checked against the batch it names, whatever its file is called; rows
that were not exported in that batch, or whose check code does not verify under
the run folder's secret, are refused; batches never overwrite each other.
"""

from __future__ import annotations

import hashlib
import shutil
import stat
import sys

import pandas as pd
import pytest
from openpyxl import load_workbook

from bansos_linkage.errors import InputError
from bansos_linkage.review import read_labels
from bansos_linkage.runs.review import export_review, import_review

N = 12


@pytest.fixture(scope="module")
def base_run(tmp_path_factory, make_link_run):
    """A small link run folder (no review yet)."""
    out = tmp_path_factory.mktemp("base") / "run"
    make_link_run(out, seed=5)
    return out


@pytest.fixture
def run(base_run, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(base_run, folder)
    return folder


def _export(run, path, **kwargs):
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet = export_review(run, path, N, **kwargs)
    return sheet


def _fill(path, decision="match") -> pd.DataFrame:
    """A reviewer's CSV sheet: every pair decided; returns it as text."""
    filled = pd.read_csv(path, dtype=str, keep_default_na=False).assign(decision=decision)
    filled.to_csv(path, index=False)
    return filled


def _refused(run, path, *, row, column, match):
    labels = run / "labels.csv"
    before = labels.read_bytes() if labels.exists() else None
    with pytest.raises(InputError, match=match) as err:
        import_review(run, path)
    assert err.value.file == str(path)
    assert (err.value.row, err.value.column) == (row, column)
    assert (labels.read_bytes() if labels.exists() else None) == before
    return err.value


def test_every_row_carries_the_batch_id_and_a_keyed_check(run, tmp_path):
    sheet = _export(run, tmp_path / "batch1.csv")
    batch = sheet["batch"].iloc[0]
    assert sheet["batch"].eq(batch).all() and batch.startswith("B")
    record = pd.read_csv(run / "review" / "batches" / f"{batch}.csv", dtype=str)
    assert record[["pair", "left_id", "right_id", "check"]].equals(
        sheet[["pair", "left_id", "right_id", "check"]].astype(str)
    )
    assert (record["sheet"] == "batch1.csv").all()
    # a check code is no bare hash of the row
    bare = [
        hashlib.sha1(f"{p}|{a}|{b}".encode()).hexdigest()[:8]
        for p, a, b in zip(sheet["pair"], sheet["left_id"], sheet["right_id"], strict=True)
    ]
    assert not any(str(c).startswith(b) for c, b in zip(sheet["check"], bare, strict=True))
    secret = run / "review" / "secret.key"
    assert len(secret.read_bytes()) == 32
    if sys.platform != "win32":
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # the same secret for the next batch, which gets its own id and record
    key = secret.read_bytes()
    second = _export(run, tmp_path / "batch2.csv")
    assert second["batch"].iloc[0] != batch and secret.read_bytes() == key
    assert len(list((run / "review" / "batches").glob("*.csv"))) == 2
    # review artefacts stay in RUN_DIR/review/ (and labels.csv)
    assert not (run / "review" / "batch1.exported.csv").exists()


def test_a_renamed_excel_sheet_is_still_checked_and_imported(run, tmp_path):
    path = tmp_path / "batch1.xlsx"
    sheet = _export(run, path)
    book = load_workbook(path)
    ws = book.active
    header = [c.value for c in ws[1]]
    assert [r[header.index("batch")].value for r in ws.iter_rows(min_row=2)] == list(sheet["batch"])
    for row in ws.iter_rows(min_row=2):
        row[header.index("decision")].value = "cocok"
    # the reviewer swaps two rows' right ids and saves under another name
    a = ws.cell(row=3, column=header.index("right_id") + 1)
    b = ws.cell(row=4, column=header.index("right_id") + 1)
    a.value, b.value = b.value, a.value
    renamed = tmp_path / "elsewhere" / "hasil_review_final.xlsx"
    renamed.parent.mkdir()
    book.save(renamed)
    _refused(run, renamed, row=3, column="right_id", match="not exported as pair 2")
    # put back, still under the new name: imported
    a.value, b.value = b.value, a.value
    book.save(renamed)
    decisions, labels = import_review(run, renamed)
    assert len(decisions) == N and len(labels) == N
    assert set(labels["source"]) == {sheet["batch"].iloc[0]}


def test_an_invented_pair_with_a_recomputed_sha1_check_is_refused(run, tmp_path):
    path = tmp_path / "batch1.csv"
    sheet = _export(run, path)
    filled = _fill(path)
    # a pair never exported: another left record with this right record, the old
    # bare hash recomputed, appended as the next pair number
    left, right = sheet["left_id"].iloc[1], sheet["right_id"].iloc[0]
    invented = filled.iloc[[0]].assign(
        pair=str(N + 1),
        left_id=left,
        right_id=right,
        check=hashlib.sha1(f"{N + 1}|{left}|{right}".encode()).hexdigest()[:8],
    )
    pd.concat([filled, invented], ignore_index=True).to_csv(path, index=False)
    err = _refused(run, path, row=N + 2, column="pair", match=f"pair {N + 1} was not exported")
    assert left not in str(err) and right not in str(err)
    # the same pair slipped in under an exported pair number
    changed = filled.copy()
    changed.loc[0, ["left_id", "check"]] = [
        left,
        hashlib.sha1(f"1|{left}|{right}".encode()).hexdigest()[:8],
    ]
    changed.to_csv(path, index=False)
    _refused(run, path, row=2, column="left_id", match="not exported as pair 1")


def test_a_tampered_check_is_refused(run, tmp_path):
    path = tmp_path / "batch1.csv"
    _export(run, path)
    filled = _fill(path)
    check = filled.loc[4, "check"]
    filled.loc[4, "check"] = ("0" if check[0] != "0" else "1") + check[1:]
    filled.to_csv(path, index=False)
    _refused(run, path, row=6, column="check", match="check code")


def test_a_forged_record_does_not_pass_without_the_secret(run, tmp_path):
    """Even with the batch record edited to hold an invented pair, its check code
    cannot verify without the run folder's secret."""
    path = tmp_path / "batch1.csv"
    sheet = _export(run, path)
    filled = _fill(path)
    record_path = run / "review" / "batches" / f"{sheet['batch'].iloc[0]}.csv"
    record = pd.read_csv(record_path, dtype=str, keep_default_na=False)
    record.loc[0, "left_id"] = filled.loc[0, "left_id"] = sheet["left_id"].iloc[1]
    record.to_csv(record_path, index=False)
    filled.to_csv(path, index=False)
    _refused(run, path, row=2, column="check", match="does not verify")


def test_batches_with_the_same_file_name_in_different_folders_are_both_importable(run, tmp_path):
    first, second = tmp_path / "a" / "batch.csv", tmp_path / "b" / "batch.csv"
    one = _export(run, first)
    two = _export(run, second, labels=tmp_path / "none.csv", seed=1)
    assert one["batch"].iloc[0] != two["batch"].iloc[0]
    _fill(first, "match")
    _fill(second, "non_match")
    d1, _ = import_review(run, first)
    d2, labels = import_review(run, second)
    assert len(d1) == len(d2) == N
    pairs = set(zip(one["left_id"], one["right_id"], strict=True)) | set(
        zip(two["left_id"], two["right_id"], strict=True)
    )
    assert len(labels) == len(pairs)
    assert set(labels["source"]) == {one["batch"].iloc[0], two["batch"].iloc[0]}


def test_an_unknown_batch_is_refused(run, tmp_path):
    path = tmp_path / "batch1.csv"
    _export(run, path)
    filled = _fill(path)
    filled.assign(batch="B20200101-000000-00000000").to_csv(path, index=False)
    _refused(run, path, row=2, column="batch", match="unknown batch: batch B2020")
    # not a batch id at all (nor a path out of the run folder)
    filled.assign(batch="../../labels").to_csv(path, index=False)
    err = _refused(run, path, row=2, column="batch", match="unknown batch")
    assert "labels" not in str(err).split(": ", 1)[1]
    # a row pasted from another batch
    mixed = filled.copy()
    mixed.loc[3, "batch"] = "B20200101-000000-00000000"
    mixed.to_csv(path, index=False)
    _refused(run, path, row=5, column="batch", match="not the batch of row 2")


def test_a_sheet_from_another_run_folder_is_refused(run, base_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(base_run, other)
    path = tmp_path / "batch1.csv"
    _export(other, path)
    _fill(path)
    _refused(run, path, row=2, column="batch", match="unknown batch")
    # the other folder's batch record copied over: the secret differs
    shutil.copytree(other / "review" / "batches", run / "review" / "batches")
    _export(run, tmp_path / "mine.csv")  # this run folder's own secret
    _refused(run, path, row=2, column="check", match="does not verify")


def test_a_sheet_from_an_older_version_is_refused(run, tmp_path):
    path = tmp_path / "batch1.csv"
    _export(run, path)
    _fill(path).drop(columns="batch").to_csv(path, index=False)
    with pytest.raises(InputError, match="older version.*export the batch again") as err:
        import_review(run, path)
    assert err.value.column == "batch" and err.value.file == str(path)
    assert not (run / "labels.csv").exists()


def test_importing_a_batch_again_replaces_its_decisions_and_adds_no_rows(run, tmp_path):
    path = tmp_path / "batch1.csv"
    sheet = _export(run, path)
    filled = _fill(path, "match")
    _, labels = import_review(run, path)
    assert len(labels) == N
    _, again = import_review(run, path)
    assert len(again) == N and len(read_labels(run / "labels.csv")) == N
    # a corrected copy under another name: the later decision replaces the earlier,
    # a pair left empty keeps its decision
    corrected = tmp_path / "batch1 (corrected).csv"
    filled.loc[0, "decision"] = "tidak cocok"
    filled.loc[1, "decision"] = ""
    filled.to_csv(corrected, index=False)
    decisions, labels = import_review(run, corrected)
    assert len(decisions) == N - 1 and len(labels) == N
    by_pair = labels.set_index(["left_id", "right_id"])["decision"]
    first = (sheet["left_id"].iloc[0], sheet["right_id"].iloc[0])
    second = (sheet["left_id"].iloc[1], sheet["right_id"].iloc[1])
    assert by_pair[first] == "non_match" and by_pair[second] == "match"


def test_a_bad_sheet_name_writes_no_batch(run, tmp_path):
    with pytest.raises(InputError, match=".xlsx or .csv"):
        export_review(run, tmp_path / "batch.ods", N)
    assert not (run / "review" / "batches").exists()
