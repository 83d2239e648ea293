"""Clerical review: batches worth reviewing, safe sheets, strict reading back, labels kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from bansos_linkage.errors import InputError
from bansos_linkage.io import read_table
from bansos_linkage.review import (
    merge_labels,
    oracle_decisions,
    read_labels,
    read_review_sheet,
    review_sheet,
    select_for_review,
    training_pairs,
    write_labels,
    write_review_sheet,
)


def _pairs(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.beta(0.3, 0.3, n)
    return pd.DataFrame(
        {
            "left_id": [f"L{i:04d}" for i in range(n)],
            "right_id": [f"R{i:04d}" for i in rng.permutation(n)],
            "match_probability": p,
            "ml_probability": np.clip(p + rng.normal(0, 0.3, n), 0, 1),
            "link": p >= 0.5,
            "name_level": rng.integers(0, 3, n),
            "nik_level": rng.integers(-1, 2, n),
        }
    )


def _records(ids, prefix: str) -> pd.DataFrame:
    dangerous = ['=HYPERLINK("http://x")', "+62 812", "-1+1", "@SUM(A1)"]
    return pd.DataFrame(
        {
            "record_id": ids,
            "full_name": [f"{dangerous[i % 4]} {prefix}{i}" for i in range(len(ids))],
            "nik": [f"{3302034708900000 + i:016d}" for i in range(len(ids))],
            "birth_date": pd.to_datetime([f"1990-01-0{1 + i % 9}" for i in range(len(ids))]),
        }
    )


def test_batches_mix_uncertain_disagreeing_and_random_links():
    pairs = _pairs()
    batch = select_for_review(pairs, 60, threshold=0.5, second_score="ml_probability", seed=1)
    assert len(batch) == 60 and not batch.duplicated(["left_id", "right_id"]).any()
    counts = batch["selected_by"].value_counts()
    assert counts["random"] == 6 and counts["disagreement"] == 18 and counts["uncertain"] == 36
    assert batch.loc[batch["selected_by"] == "random", "link"].all()
    uncertain = batch[batch["selected_by"] == "uncertain"]
    # nearer the threshold than the pool as a whole, and spread over patterns
    assert (uncertain["match_probability"] - 0.5).abs().median() < (
        pairs["match_probability"] - 0.5
    ).abs().median()
    assert uncertain.groupby(["name_level", "nik_level"]).size().max() <= 4
    disagree = batch[batch["selected_by"] == "disagreement"]
    opposite = (disagree["match_probability"] >= 0.5) != (disagree["ml_probability"] >= 0.5)
    assert opposite.all()


def test_selection_differs_from_random_and_is_seeded():
    pairs = _pairs()
    a = select_for_review(pairs, 50, threshold=0.5, seed=3)
    b = select_for_review(pairs, 50, threshold=0.5, seed=3)
    pd.testing.assert_frame_equal(a, b)
    rng = np.random.default_rng(3)
    random_batch = pairs.iloc[rng.choice(len(pairs), 50, replace=False)]
    assert len(set(a["left_id"]) & set(random_batch["left_id"])) < 25


def test_labelled_pairs_are_never_chosen_again():
    pairs = _pairs()
    first = select_for_review(pairs, 50, threshold=0.5)
    second = select_for_review(pairs, 50, threshold=0.5, labelled=first)
    key = ["left_id", "right_id"]
    assert first[key].merge(second[key]).empty


def _sheet(tmp_path, suffix=".xlsx", batch_id="B20260101-120000-0123abcd"):
    pairs = _pairs(20)
    batch = select_for_review(pairs, 10, threshold=0.5, random_share=0.0)
    left = _records(pairs["left_id"].tolist(), "L")
    right = _records(pairs["right_id"].tolist(), "R")
    sheet = review_sheet(batch, left, right, batch=batch_id)
    path = write_review_sheet(sheet, tmp_path / f"sheet{suffix}")
    return sheet, path


def test_excel_round_trip_keeps_niks_and_defuses_formulas(tmp_path):
    sheet, path = _sheet(tmp_path)
    book = load_workbook(path)
    ws = book.active
    cells = [c for row in ws.iter_rows() for c in row]
    assert all(c.data_type == "s" for c in cells if c.value is not None)
    assert not any(str(c.value).startswith(("=", "+", "-", "@")) for c in cells if c.value)
    header = [c.value for c in ws[1]]
    niks = [r[header.index("nik_left")].value for r in ws.iter_rows(min_row=2)]
    assert all(isinstance(v, str) and len(v) == 16 for v in niks)
    # the reviewer decides, the sheet comes back
    decision = header.index("decision") + 1
    for i, row in enumerate(ws.iter_rows(min_row=2, min_col=decision, max_col=decision)):
        row[0].value = ["match", "Tidak cocok", "", "ragu"][i % 4]
    book.save(path)
    back = read_review_sheet(path, exported=sheet)
    assert len(back) == len(sheet) - len(sheet) // 4 - (len(sheet) % 4 > 2)
    assert set(back["decision"]) == {"match", "non_match", "unsure"}
    assert back["left_id"].isin(sheet["left_id"]).all()


def test_csv_sheet_defuses_formulas_and_reads_back(tmp_path):
    import csv

    sheet, path = _sheet(tmp_path, ".csv")
    with path.open(newline="") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)
    names = sheet["full_name_left"].tolist() + sheet["full_name_right"].tolist()
    assert len({n[0] for n in names} & {"=", "+", "-", "@"}) >= 3  # most kinds are there
    assert all("'" + n in cells for n in names)
    filled = pd.read_csv(path, dtype=str, keep_default_na=False)
    filled["decision"] = "match"
    filled.to_csv(path, index=False)
    back = read_review_sheet(path, exported=sheet)
    assert len(back) == len(sheet)
    again = read_table(path)
    assert "'" in "".join(again["full_name_left"].dropna())  # what a spreadsheet shows


@pytest.mark.parametrize(
    "edit, message, row",
    [
        (lambda f: f.assign(decision=["match"] * 9 + ["perhaps"]), "expected one of", 11),
        (lambda f: pd.concat([f, f.iloc[[2]]], ignore_index=True), "same pair as row 4", 12),
        (
            lambda f: f.assign(left_id=f["left_id"].iloc[::-1].to_numpy()),
            "out of order",
            2,
        ),
        (lambda f: f.drop(columns="decision"), "missing columns", None),
    ],
    ids=["bad decision", "duplicated row", "sorted apart", "no decision column"],
)
def test_bad_sheets_are_refused_naming_the_row(tmp_path, edit, message, row):
    sheet, path = _sheet(tmp_path, ".csv")
    filled = pd.read_csv(path, dtype=str, keep_default_na=False).assign(decision="match")
    edit(filled).to_csv(path, index=False)
    with pytest.raises(InputError, match=message) as err:
        read_review_sheet(path, exported=sheet)
    assert err.value.row == row
    assert "NAMA" not in str(err.value) and "3302" not in str(err.value)


def test_pairs_not_in_the_export_are_refused(tmp_path):
    sheet, path = _sheet(tmp_path, ".csv")
    other = sheet.iloc[:5]
    filled = pd.read_csv(path, dtype=str, keep_default_na=False).assign(decision="match")
    filled.to_csv(path, index=False)
    with pytest.raises(InputError, match="pair 6 was not exported in batch B") as err:
        read_review_sheet(path, exported=other)
    assert err.value.row == 7 and err.value.column == "pair"


def test_checks_are_keyed_and_verify_without_the_export(tmp_path):
    pairs = _pairs(20)
    batch = select_for_review(pairs, 10, threshold=0.5, random_share=0.0)
    left = _records(pairs["left_id"].tolist(), "L")
    right = _records(pairs["right_id"].tolist(), "R")
    key = bytes(range(32))
    sheet = review_sheet(batch, left, right, batch="B20260101-120000-0123abcd", key=key)
    assert (sheet["batch"] == "B20260101-120000-0123abcd").all()
    again = review_sheet(batch, left, right, batch="B20260101-120000-0123abcd", key=key)
    assert again["check"].equals(sheet["check"])  # same key, batch and pairs: same codes
    other = review_sheet(batch, left, right, batch="B20260101-120000-0123abce", key=key)
    assert not (other["check"] == sheet["check"]).any()  # the batch id is in the code
    path = write_review_sheet(sheet.assign(decision="match"), tmp_path / "sheet.csv")
    assert len(read_review_sheet(path, key=key)) == len(sheet)
    with pytest.raises(InputError, match="does not verify") as err:
        read_review_sheet(path, key=bytes(32))
    assert err.value.row == 2 and err.value.column == "check"
    with pytest.raises(ValueError, match="exported sheet or the key"):
        read_review_sheet(path)
    with pytest.raises(ValueError, match="batch id looks like"):
        review_sheet(batch, left, right, batch="../x")


def test_a_sheet_is_checked_against_its_own_batch_only(tmp_path):
    sheet, path = _sheet(tmp_path, ".csv")
    filled = pd.read_csv(path, dtype=str, keep_default_na=False).assign(decision="match")
    filled.to_csv(path, index=False)
    another, _ = _sheet(tmp_path / "other", ".csv", batch_id="B20260101-120000-89abcdef")
    with pytest.raises(InputError, match="not batch B") as err:
        read_review_sheet(path, exported=another)
    assert err.value.row == 2 and err.value.column == "batch"


def test_labels_accumulate_and_a_refused_sheet_loses_nothing(tmp_path):
    sheet, path = _sheet(tmp_path, ".csv")
    labels_path = tmp_path / "labels.csv"
    filled = pd.read_csv(path, dtype=str, keep_default_na=False).assign(decision="non_match")
    filled.to_csv(path, index=False)
    labels = merge_labels(None, read_review_sheet(path, exported=sheet), "batch-1")
    write_labels(labels, labels_path)
    before = labels_path.read_bytes()
    filled.assign(decision="whatever").to_csv(path, index=False)
    with pytest.raises(InputError):
        merge_labels(read_labels(labels_path), read_review_sheet(path, exported=sheet), "batch-2")
    assert labels_path.read_bytes() == before
    # a second decision on the same pair replaces the first; others stay
    again = merge_labels(
        read_labels(labels_path),
        pd.DataFrame(
            {
                "left_id": [sheet.loc[0, "left_id"]],
                "right_id": [sheet.loc[0, "right_id"]],
                "decision": ["match"],
            }
        ),
        "field",
    )
    assert len(again) == len(sheet)
    first = again[again["left_id"] == sheet.loc[0, "left_id"]].iloc[0]
    assert first["decision"] == "match" and first["source"] == "field"
    assert training_pairs(again)["is_match"].sum() == 1


def test_labels_from_another_source_need_only_ids_and_a_decision(tmp_path):
    path = tmp_path / "field.csv"
    path.write_text("left_id,right_id,is_match\nA,X,true\nB,Y,0\n")
    labels = read_labels(path)
    assert labels["decision"].tolist() == ["match", "non_match"]
    path.write_text("left_id,right_id,decision\nA,X,maybe\n")
    with pytest.raises(InputError, match="expected one of") as err:
        read_labels(path)
    assert err.value.row == 2 and err.value.column == "decision"


def test_oracle_decides_from_the_truth():
    batch = pd.DataFrame(
        {"left_id": ["a", "b"], "right_id": ["x", "y"], "selected_by": ["random", "uncertain"]}
    )
    truth = pd.DataFrame({"left_id": ["a"], "right_id": ["x"]})
    assert oracle_decisions(batch, truth)["decision"].tolist() == ["match", "non_match"]
