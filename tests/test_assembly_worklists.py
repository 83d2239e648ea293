"""Verval worklists: items, safe workbooks, reading decisions back, applying them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from bansos_linkage.assembly.worklists import (
    CHANGE_COLUMNS,
    DECISION_COLUMNS,
    REJECTED_COLUMNS,
    apply_decisions,
    read_worklists,
    worklist_items,
    write_worklists,
)
from bansos_linkage.errors import InputError, UsageError

KEY = b"k" * 32
V1, V2, V3 = "3201010001", "3201010002", "3201020001"
FORMULA_NAME = '=HYPERLINK("http://x.example","klik")'
NIK2_DTKS, NIK2_REG, NIK2_RIGHT = "3201014107900002", "3201014107900009", "3201014107900003"


def _p(n: int) -> str:
    return f"P{n:010d}"


def _f(n: int) -> str:
    return f"F{n:010d}"


# records: (source, record_id, person, family, source_family)
_RECORDS = [
    ("dtks", "D1", 1, 1, "F:00000001"),
    ("dtks", "D2", 2, 1, "F:00000001"),
    ("dtks", "D3", 3, 1, "F:00000001"),
    ("dtks", "D4", 4, 2, "F:00000002"),
    ("dtks", "D6", 6, 3, "F:00000003"),
    ("regsosek", "R1", 1, 1, "H1"),
    ("regsosek", "R2", 2, 1, "H1"),
    ("regsosek", "R4", 4, 2, "H2"),
    ("regsosek", "R5", 5, 3, "H3"),
    ("p3ke", "Q4", 4, 2, "K4"),
    ("p3ke", "Q6", 6, 3, "K6"),
]


@pytest.fixture()
def tables() -> dict[str, object]:
    records = pd.DataFrame(
        {
            "source": [r[0] for r in _RECORDS],
            "record_id": [r[1] for r in _RECORDS],
            "person_id": [_p(r[2]) for r in _RECORDS],
            "family_id": [_f(r[3]) for r in _RECORDS],
            "source_family": [r[4] for r in _RECORDS],
            "duplicate_of": pd.NA,
            "link_probability": [0.7, 0.95, None, 0.97, 0.5, 0.7, 0.95, 0.97, None, 0.97, 0.5],
        }
    )
    persons = pd.DataFrame(
        {
            "person_id": [_p(i) for i in range(1, 7)],
            "family_id": [_f(1), _f(1), _f(1), _f(2), _f(3), _f(3)],
            "sources": [
                "dtks+regsosek",
                "dtks+regsosek",
                "dtks",
                "dtks+p3ke+regsosek",
                "regsosek",
                "dtks+p3ke",
            ],
            "n_records": [2, 2, 1, 3, 1, 2],
            "weakest_link": [0.7, 0.95, 1.0, 0.97, 1.0, 0.5],
            "full_name": [FORMULA_NAME, "SITI", "BUDI", "ANI", "EKO", "WATI"],
            "full_name_source": ["dtks", "regsosek", "dtks", "regsosek", "regsosek", "dtks"],
            "nik": ["3201010101800001", NIK2_REG, None, None, None, "3201020101800006"],
            "nik_source": ["regsosek", "regsosek", None, None, None, "p3ke"],
            "birth_date": pd.to_datetime(["1980-01-01", "1990-07-01", None, None, None, None]),
            "birth_date_source": ["regsosek", "regsosek", None, None, None, None],
        }
    )
    families = pd.DataFrame(
        {
            "family_id": [_f(1), _f(2), _f(3)],
            "village_code": [V1, V2, V3],
            "village_name": ["DESA SATU", "DESA DUA", "DESA TIGA"],
            "district_code": ["320101", "320101", "320102"],
        }
    )
    conflicts = pd.DataFrame(
        {
            "kind": ["field", "transitive", "collision"],
            "person_id": [_p(2), _p(4), _p(5)],
            "family_id": [_f(1), _f(2), _f(3)],
            "field": ["nik", None, None],
            "detail": ["differs between regsosek and dtks", "kept: dtks and p3ke", "refused"],
            "record_ids": ["D2;R2", "D4;Q4", "R5;D6"],
        }
    )
    transitions = pd.DataFrame(
        {
            "source_family": ["F:00000001", "F:00000009"],
            "family_id": [_f(1), _f(2)],
            "transition": ["stay", "drop"],
            "reason": [None, "not_found"],
        }
    )
    family_links = pd.DataFrame(
        {
            "source": ["dtks", "dtks", "dtks", "dtks", "regsosek", "regsosek", "regsosek"]
            + ["p3ke", "p3ke"],
            "source_family": ["F:00000001", "F:00000002", "F:00000003", "F:00000009"]
            + ["H1", "H2", "H3", "K4", "K6"],
            "family_id": [_f(1), _f(2), _f(3), _f(2), _f(1), _f(2), _f(3), _f(2), _f(3)],
            "status": "matched",
        }
    )

    def source(ids: list[str], names: list[str], niks: list[str | None]) -> pd.DataFrame:
        return pd.DataFrame(
            {"record_id": ids, "full_name": names, "nik": niks, "birth_date": "1980-01-01"}
        )

    sources = {
        "dtks": source(
            ["D1", "D2", "D3", "D4", "D6"],
            [FORMULA_NAME, "SITI A", "BUDI", "ANI", "WATI"],
            ["3201010101800001", NIK2_DTKS, None, None, "3201020101800006"],
        ),
        "regsosek": source(
            ["R1", "R2", "R4", "R5"], ["ADI", "SITI", "ANI", "EKO"], [None, NIK2_REG, None, None]
        ),
        "p3ke": source(["Q4", "Q6"], ["ANI", "WATI"], [None, None]),
    }
    return {
        "records": records,
        "persons": persons,
        "families": families,
        "conflicts": conflicts,
        "transitions": transitions,
        "family_links": family_links,
        "sources": sources,
    }


def _items(t: dict[str, object]) -> pd.DataFrame:
    return worklist_items(
        t["persons"], t["families"], t["conflicts"], t["transitions"], t["records"], t["sources"]
    )


def _item(items: pd.DataFrame, reason: str, person: str = "", family: str = "") -> pd.Series:
    hit = items[(items["reason"] == reason) & (items["person_id"] == person)]
    if family:
        hit = hit[hit["family_id"] == family]
    assert len(hit) == 1
    return hit.iloc[0]


# --------------------------------------------------------------------------- items


def test_items_cover_every_reason_with_allowed_decisions(tables):
    items = _items(tables)
    got = sorted(zip(items["reason"], items["person_id"], items["allowed"], strict=True))
    assert got == [
        ("conflict", _p(2), "keep / correct"),
        ("conflict", _p(4), "same / different"),  # the collision of P5 is left out
        ("drop_out", "", "confirm / keep / moved / deceased"),
        ("member_not_found", _p(3), "deceased / moved / still_member"),
        ("member_not_found", _p(6), "deceased / moved / still_member"),
        ("uncertain_link", _p(1), "same / different"),
        ("uncertain_link", _p(6), "same / different"),
    ]
    assert items["item_id"].is_unique
    assert items["item_id"].str.fullmatch(r"W[0-9A-F]{12}").all()
    drop = _item(items, "drop_out")
    assert (drop["family_id"], drop["source_family"], drop["village_code"]) == (
        _f(2),
        "F:00000009",
        V2,
    )
    assert "not_found" in drop["detail"]
    # sorted by village; the same tables give the same ids in the same order
    assert items["village_code"].tolist() == sorted(items["village_code"])
    pd.testing.assert_frame_equal(items, _items(tables))


def test_items_show_each_sources_values_and_the_chosen_value(tables):
    items = _items(tables)
    nik = _item(items, "conflict", _p(2))
    assert (nik["field"], nik["chosen_value"]) == ("nik", NIK2_REG)
    assert (nik["nik_dtks"], nik["nik_regsosek"], nik["nik_p3ke"]) == (NIK2_DTKS, NIK2_REG, "")
    assert (nik["name_dtks"], nik["name_regsosek"]) == ("SITI A", "SITI")
    assert nik["birth_date_dtks"] == "1980-01-01"
    assert _item(items, "uncertain_link", _p(1))["detail"].startswith("weakest link 0.700")
    for col in ("decision", "verified_value", "note", "verifier", "visit_date", "check"):
        assert (items[col] == "").all()


def test_items_threshold_and_missing_tables(tables):
    items = worklist_items(
        tables["persons"],
        tables["families"],
        None,
        pd.DataFrame(),
        tables["records"],
        tables["sources"],
        uncertain_below=0.6,
    )
    assert sorted(items["reason"]) == ["member_not_found", "member_not_found", "uncertain_link"]
    with pytest.raises(InputError, match="weakest_link"):
        worklist_items(
            tables["persons"].drop(columns="weakest_link"),
            tables["families"],
            None,
            None,
            tables["records"],
            tables["sources"],
        )


# --------------------------------------------------------------------------- writing


def _cells(ws) -> list:
    return [cell for row in ws.iter_rows() for cell in row]


def _header(ws) -> dict[str, int]:
    return {cell.value: cell.column for cell in ws[1]}


def test_write_by_village_one_safe_workbook_per_village(tables, tmp_path):
    items = _items(tables)
    paths = write_worklists(items, tmp_path, by="village", secret_key=KEY)
    assert [p.name for p in paths] == [f"verval_desa_{v}.xlsx" for v in (V1, V2, V3)]
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in paths]  # no temp left
    book = load_workbook(paths[0])
    assert book.sheetnames == ["PETUNJUK", V1]
    assert "member_not_found" in str([c.value for c in _cells(book["PETUNJUK"])])
    ws = book[V1]
    col = _header(ws)
    assert ws.max_row == 1 + 3  # P1, P2 and P3 of village 1
    for sheet in book.worksheets:
        assert all(c.data_type != "f" for c in _cells(sheet))
    names = [ws.cell(r, col["name_dtks"]).value for r in range(2, ws.max_row + 1)]
    assert "'" + FORMULA_NAME in names  # kept as text, with the apostrophe of a defused cell
    nik_cell = next(
        ws.cell(r, col["nik_dtks"])
        for r in range(2, ws.max_row + 1)
        if ws.cell(r, col["nik_dtks"]).value == NIK2_DTKS
    )
    assert nik_cell.data_type == "s" and nik_cell.number_format == "@"
    assert ws.cell(2, col["person_id"]).number_format == "@"
    rules = ws.data_validations.dataValidation
    assert {r.formula1 for r in rules} == {
        '"keep,correct"',
        '"deceased,moved,still_member"',
        '"same,different"',
    }
    letter = ws.cell(1, col["decision"]).column_letter
    covered = {str(c) for r in rules for c in r.sqref.ranges}
    assert covered == {f"{letter}{r}" for r in range(2, 5)}
    assert ws.freeze_panes == "B2"
    assert ws.column_dimensions["A"].width > 8
    assert all(ws.cell(r, col["check"]).value for r in range(2, 5))


def test_write_by_district_one_sheet_per_village(tables, tmp_path):
    paths = write_worklists(_items(tables), tmp_path, by="district", secret_key=KEY)
    assert [p.name for p in paths] == [
        "verval_kecamatan_320101.xlsx",
        "verval_kecamatan_320102.xlsx",
    ]
    assert load_workbook(paths[0]).sheetnames == ["PETUNJUK", V1, V2]
    assert load_workbook(paths[1]).sheetnames == ["PETUNJUK", V3]


def test_write_refuses_bad_options(tables, tmp_path):
    with pytest.raises(UsageError, match="secret"):
        write_worklists(_items(tables), tmp_path, secret_key=b"short")
    with pytest.raises(UsageError, match="village"):
        write_worklists(_items(tables), tmp_path, by="regency", secret_key=KEY)


# --------------------------------------------------------------------------- reading


def _fill(path: Path, sheet: str, item_id: str, **values: str) -> int:
    """Write values into the row of ``item_id``; returns its Excel row."""
    book = load_workbook(path)
    ws = book[sheet]
    col = _header(ws)
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == item_id)
    for name, value in values.items():
        ws.cell(row, col[name]).value = value
    book.save(path)
    return row


def test_read_back_decisions_and_rejected_rows(tables, tmp_path):
    items = _items(tables)
    ids = {(r.reason, r.person_id): r.item_id for r in items.itertuples(index=False)}
    by_village = write_worklists(items, tmp_path / "desa", secret_key=KEY)
    by_district = write_worklists(items, tmp_path / "kec", by="district", secret_key=KEY)
    v1, v2, v3 = by_village
    r_diff = _fill(
        v1,
        V1,
        ids["uncertain_link", _p(1)],
        decision="different",
        verifier="Ani",
        visit_date="2024-05-02",
    )
    r_nik = _fill(v1, V1, ids["conflict", _p(2)], decision="correct", verified_value="12345")
    r_moved = _fill(v1, V1, ids["member_not_found", _p(3)], decision="moved")
    r_edit = _fill(v2, V2, ids["conflict", _p(4)], decision="different", person_id=_p(5))
    r_keep = _fill(v2, V2, ids["drop_out", ""], decision="keep")
    r_same = _fill(v3, V3, ids["uncertain_link", _p(6)], decision=" Same ")
    r_bogus = _fill(v3, V3, ids["member_not_found", _p(6)], decision="bogus")
    # the district workbook: the same P3 decision again, a contradicting drop-out one
    k1 = by_district[0]
    _fill(k1, V1, ids["member_not_found", _p(3)], decision="moved")
    r_confirm = _fill(k1, V2, ids["drop_out", ""], decision="confirm")
    r_note = _fill(k1, V1, ids["conflict", _p(2)], note="tidak di rumah")

    decisions, rejected = read_worklists([*by_village, k1], secret_key=KEY)

    assert list(decisions.columns) == list(DECISION_COLUMNS)
    got = {(d.item_id, d.decision, d.file, d.row) for d in decisions.itertuples(index=False)}
    assert got == {
        (ids["uncertain_link", _p(1)], "different", str(v1), r_diff),
        (ids["member_not_found", _p(3)], "moved", str(v1), r_moved),
        (ids["uncertain_link", _p(6)], "same", str(v3), r_same),
    }
    first = decisions.set_index("item_id").loc[ids["uncertain_link", _p(1)]]
    assert (first["verifier"], first["visit_date"], first["sheet"]) == ("Ani", "2024-05-02", V1)
    assert decisions.attrs["repeated"] == 1
    # 7 rows by village and 5 in the first district's workbook, 10 of them filled in
    assert decisions.attrs["skipped"] == 7 + 5 - 10

    assert list(rejected.columns) == list(REJECTED_COLUMNS)
    got = {(Path(r.file).name, r.sheet, r.row, r.column) for r in rejected.itertuples()}
    assert got == {
        (v1.name, V1, r_nik, "verified_value"),
        (v2.name, V2, r_edit, "check"),
        (v2.name, V2, r_keep, "decision"),
        (v3.name, V3, r_bogus, "decision"),
        (k1.name, V1, r_note, "decision"),
        (k1.name, V2, r_confirm, "decision"),
    }
    at = rejected.assign(name=rejected["file"].map(lambda f: Path(f).name))
    problems = at.set_index(["name", "row"])["problem"]
    assert problems[v1.name, r_nik] == "not a valid nik"
    assert problems[v3.name, r_bogus] == "decision not allowed for this item"
    assert problems[k1.name, r_note] == "filled row without a decision"
    assert (
        problems[v2.name, r_keep] == f"item decided differently in {k1} sheet {V2} row {r_confirm}"
    )
    assert problems[k1.name, r_confirm].endswith(f"{v2} sheet {V2} row {r_keep}")
    expected = at.set_index(["name", "row"])["expected"]
    assert expected[v1.name, r_nik] == "16 digits"
    assert expected[v3.name, r_bogus] == "one of deceased, moved, still_member"
    # no personal data in the report (file names hold village codes only)
    shown = " ".join(rejected.drop(columns="file").astype(str).to_numpy().ravel())
    assert "12345" not in shown and "SITI" not in shown


def test_read_validates_values_and_dates(tables, tmp_path):
    items = _items(tables)
    path = write_worklists(items, tmp_path, secret_key=KEY)[0]
    nik_item = _item(items, "conflict", _p(2))["item_id"]
    link_item = _item(items, "uncertain_link", _p(1))["item_id"]
    gone_item = _item(items, "member_not_found", _p(3))["item_id"]
    _fill(path, V1, nik_item, decision="correct", verified_value=f"'{NIK2_RIGHT}")
    r_value = _fill(path, V1, link_item, decision="same", verified_value="x")
    r_future = _fill(path, V1, gone_item, decision="deceased", visit_date="2999-01-01")
    decisions, rejected = read_worklists([path], secret_key=KEY)
    assert decisions[["item_id", "decision", "verified_value"]].values.tolist() == [
        [nik_item, "correct", NIK2_RIGHT]  # Excel's text apostrophe cleaned off
    ]
    assert rejected[["row", "column"]].values.tolist() == [
        [r_value, "verified_value"],
        [r_future, "visit_date"],
    ]
    # another key: every filled row refused, none silently dropped
    decisions, rejected = read_worklists([path], secret_key=b"x" * 32)
    assert decisions.empty and rejected["column"].tolist() == ["check"] * 3


def test_read_missing_file_and_columns(tables, tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_worklists([tmp_path / "nope.xlsx"], secret_key=KEY)
    path = write_worklists(_items(tables), tmp_path, secret_key=KEY)[0]
    book = load_workbook(path)
    book[V1].delete_cols(_header(book[V1])["check"])
    book.save(path)
    decisions, rejected = read_worklists([path], secret_key=KEY)
    assert decisions.empty
    assert rejected[["row", "column", "problem"]].values.tolist() == [
        [1, "check", "missing column"]
    ]


# --------------------------------------------------------------------------- applying


def _decisions(items: pd.DataFrame, chosen: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    rows = []
    for reason, person, decision, value in chosen:
        item = _item(items, reason, person)
        rows.append(
            {
                **{
                    c: item[c]
                    for c in (
                        "item_id",
                        "reason",
                        "family_id",
                        "person_id",
                        "field",
                        "source_family",
                    )
                },
                "decision": decision,
                "verified_value": value,
                "note": "",
                "verifier": "",
                "visit_date": "",
                "file": "x.xlsx",
                "sheet": "s",
                "row": 2,
            }
        )
    return pd.DataFrame(rows, columns=list(DECISION_COLUMNS))


def test_apply_updates_the_register_and_is_idempotent(tables):
    items = _items(tables)
    decisions = _decisions(
        items,
        [
            ("uncertain_link", _p(1), "different", ""),
            ("uncertain_link", _p(6), "different", ""),
            ("conflict", _p(2), "correct", NIK2_RIGHT),
            ("conflict", _p(4), "same", ""),
            ("drop_out", "", "keep", ""),
            ("member_not_found", _p(3), "moved", ""),
        ],
    )
    records, persons, links, changes = apply_decisions(
        tables["records"], tables["persons"], tables["family_links"], decisions
    )
    assert list(changes.columns) == list(CHANGE_COLUMNS)
    assert len(changes) == 6
    assert set(changes["new_person_id"]) == {"", _p(7), _p(8)}
    assert tables["records"]["person_id"].tolist() == [_p(r[2]) for r in _RECORDS]  # a copy
    owner = records.set_index("record_id")["person_id"]
    new_ids = {owner["D1"], owner["Q6"]}
    assert new_ids == {_p(7), _p(8)}  # numbered after the highest id
    # P1 keeps its backbone record; P6 (no backbone record) its first source, dtks
    assert (owner["R1"], owner["D6"]) == (_p(1), _p(6))
    fam = records.set_index("record_id")["family_id"]
    assert (fam["D1"], fam["Q6"]) == (_f(1), _f(3))  # their source family's DTSEN family
    by_id = persons.set_index("person_id")
    assert len(persons) == 8
    assert by_id.loc[_p(1), ["sources", "n_records", "weakest_link"]].tolist() == [
        "regsosek",
        1,
        1.0,
    ]
    split_off = by_id.loc[owner["D1"]]
    assert (split_off["sources"], split_off["family_id"]) == ("dtks", _f(1))
    # the dtks name moved with its record; P1 must choose a name again
    assert split_off["full_name"] == FORMULA_NAME and pd.isna(by_id.loc[_p(1), "full_name"])
    assert by_id.loc[_p(1), "nik"] == "3201010101800001"  # from regsosek: stays
    assert pd.isna(split_off["nik"])
    assert by_id.loc[owner["Q6"], "nik"] == "3201020101800006"  # p3ke's NIK went along
    assert records.set_index("record_id")["link_probability"][["R1", "D1", "Q6", "D6"]].isna().all()
    assert records.set_index("record_id").loc["R4", "link_probability"] == 0.97
    assert (by_id.loc[_p(2), "nik"], by_id.loc[_p(2), "nik_source"]) == (NIK2_RIGHT, "verval")
    assert bool(by_id.loc[_p(4), "verified"]) and by_id.loc[_p(4), "weakest_link"] == 1.0
    assert not by_id["verified"].drop(_p(4)).any()
    assert by_id.loc[_p(3), "verval_status"] == "moved"
    status = links.set_index("source_family")["verval_status"]
    assert status["F:00000009"] == "keep" and status.drop("F:00000009").isna().all()
    # no personal values in the changes
    text = " ".join(changes.astype(str).to_numpy().ravel())
    assert NIK2_RIGHT not in text and "HYPERLINK" not in text

    again = apply_decisions(records, persons, links, decisions)
    pd.testing.assert_frame_equal(again[0], records)
    pd.testing.assert_frame_equal(again[1], persons)
    pd.testing.assert_frame_equal(again[2], links)
    assert again[3].empty


def test_apply_correct_birth_date_and_unknown_person(tables):
    conflicts = pd.DataFrame(
        {
            "kind": ["field"],
            "person_id": [_p(2)],
            "family_id": [_f(1)],
            "field": ["birth_date"],
            "detail": ["differs"],
            "record_ids": ["D2;R2"],
        }
    )
    items = worklist_items(
        tables["persons"], tables["families"], conflicts, None, tables["records"], tables["sources"]
    )
    decisions = _decisions(items, [("conflict", _p(2), "correct", "1990-07-02")])
    _, persons, _, changes = apply_decisions(
        tables["records"], tables["persons"], tables["family_links"], decisions
    )
    row = persons.set_index("person_id").loc[_p(2)]
    assert row["birth_date"] == pd.Timestamp("1990-07-02")
    assert row["birth_date_source"] == "verval"
    assert changes["change"].tolist() == ["birth_date corrected"]
    stranger = decisions.assign(person_id=_p(99))
    with pytest.raises(InputError, match="not in the register") as err:
        apply_decisions(tables["records"], tables["persons"], tables["family_links"], stranger)
    assert decisions["item_id"].iloc[0] in str(err.value)
    drop = _decisions(_items(tables), [("drop_out", "", "confirm", "")])
    with pytest.raises(InputError, match="not in family_links"):
        apply_decisions(tables["records"], tables["persons"], tables["family_links"].iloc[:3], drop)
