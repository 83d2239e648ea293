"""Readers keep every row and every leading zero; bad files give clear errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from bansos_linkage.errors import InputError
from bansos_linkage.io import (
    ATTR_FIRST_ROW,
    ATTR_SOURCE,
    FORMULA_START,
    read_table,
    restore_formulas,
    write_table,
)


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_csv_any_delimiter_keeps_leading_zeros(tmp_path, sep):
    path = tmp_path / "x.csv"
    path.write_text(
        sep.join(["id", "nik", "rt"]) + "\n" + sep.join(["007", "0012345", "003"]) + "\n",
        encoding="utf-8",
    )
    df = read_table(path)
    assert df.columns.tolist() == ["id", "nik", "rt"]
    assert df.iloc[0].tolist() == ["007", "0012345", "003"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "latin-1"])
def test_csv_encodings(tmp_path, encoding):
    path = tmp_path / "x.csv"
    path.write_bytes("id,nama\n1,Jos\u00e9 \u00c1gus\n".encode(encoding))
    df = read_table(path)
    assert df.columns.tolist() == ["id", "nama"]  # no BOM left in the header
    assert df.loc[0, "nama"] == "Jos\u00e9 \u00c1gus"


def test_cp1252_specific_characters(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("id,alamat\n1,Jl. \u201cMawar\u201d\n".encode("cp1252"))
    assert read_table(path).loc[0, "alamat"] == "Jl. \u201cMawar\u201d"


def test_empty_cells_are_na_and_rows_are_all_kept(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("id,nama,nik\n1,,\n2,NA,NULL\n,,\n", encoding="utf-8")
    df = read_table(path)
    assert len(df) == 3
    assert pd.isna(df.loc[0, "nama"]) and pd.isna(df.loc[2, "id"])
    assert df.loc[1, "nama"] == "NA"  # a literal text stays text; standardisers judge it
    assert df.attrs[ATTR_FIRST_ROW] == 2 and df.attrs[ATTR_SOURCE] == str(path)


def test_malformed_csv_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,nama\n1,A\n2,B,EXTRA\n", encoding="utf-8")
    with pytest.raises(InputError, match="line 3") as err:
        read_table(path)
    assert err.value.file == str(path)


def test_duplicate_and_blank_headers_are_errors(tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("id,nik,nik\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="duplicate column"):
        read_table(dup)
    blank = tmp_path / "blank.csv"
    blank.write_text("id,,nik\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="column 2 has no header"):
        read_table(blank)


def test_missing_unknown_and_empty_files(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_table(tmp_path / "none.csv")
    other = tmp_path / "x.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="unknown file type"):
        read_table(other)
    empty = tmp_path / "e.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="empty"):
        read_table(empty)


def test_excel_numbers_dates_and_named_sheet(tmp_path):
    path = tmp_path / "x.xlsx"
    wb = Workbook()
    first = wb.active
    first.title = "Ringkasan"
    first.append(["note"])
    first.append(["summary sheet"])
    data = wb.create_sheet("Data")
    data.append(["id", "nik", "tgl", "rt", "luas"])
    data.append(["001", 3302034708900003, dt.datetime(1990, 8, 7), 3, 42.5])
    data.append(["002", None, "07-08-1990", "003", None])
    wb.save(path)
    df = read_table(path, sheet="Data")
    assert df["id"].tolist() == ["001", "002"]
    assert df.loc[0, "nik"] == "3302034708900003"  # integer cell, no ".0"
    assert df.loc[0, "tgl"] == "1990-08-07"
    assert df.loc[0, "rt"] == "3" and df.loc[1, "rt"] == "003"
    assert df.loc[0, "luas"] == "42.5"
    assert pd.isna(df.loc[1, "nik"])
    assert read_table(path).columns.tolist() == ["note"]  # the first sheet by default
    with pytest.raises(InputError, match="no sheet named"):
        read_table(path, sheet="Missing")


def test_parquet_numbers_become_text(tmp_path):
    path = tmp_path / "x.parquet"
    pd.DataFrame({"id": [1, 2], "score": [1.5, None], "kode": ["052", "071"]}).to_parquet(path)
    df = read_table(path)
    assert df["id"].tolist() == ["1", "2"]
    assert df.loc[0, "score"] == "1.5" and pd.isna(df.loc[1, "score"])
    assert df["kode"].tolist() == ["052", "071"]
    assert df.attrs[ATTR_FIRST_ROW] == 1


def test_corrupt_binary_files_are_input_errors(tmp_path):
    for name in ("x.parquet", "x.xlsx"):
        path = tmp_path / name
        path.write_bytes(b"not really")
        with pytest.raises(InputError, match="not a readable"):
            read_table(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_write_then_read_round_trip(tmp_path, suffix):
    df = pd.DataFrame(
        {
            "id": ["001", "002"],
            "nik": ["3302034708900003", None],
            "tokens": [["SITI", "AMINAH"], ["BUDI"]],
        }
    )
    path = write_table(df, tmp_path / f"out{suffix}")
    back = read_table(path)
    assert back["id"].tolist() == ["001", "002"]
    assert back.loc[0, "nik"] == "3302034708900003" and pd.isna(back.loc[1, "nik"])
    if suffix != ".parquet":
        assert back["tokens"].tolist() == ["SITI AMINAH", "BUDI"]


def test_write_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match="unknown output type"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "x.json")


TRICKY_CSV = (
    "id,nama,nik,catatan\n"
    '001,"Siti, Aminah",0302034708900003,"baris\nkedua"\n'
    '002,NA,,""\n'
    '003,  Budi  ,3302034708900003,"kata ""kutip"""\n'
    "004,Ñoman Ayu,,null\n"
)


def _pandas_reader(path):
    import bansos_linkage.io as bio

    original = bio._read_csv_arrow
    bio._read_csv_arrow = lambda text, sep: None  # force the pandas parser
    try:
        return read_table(path)
    finally:
        bio._read_csv_arrow = original


def test_fast_csv_reader_reads_exactly_what_the_pandas_parser_reads(tmp_path):
    path = tmp_path / "tricky.csv"
    path.write_text(TRICKY_CSV, encoding="utf-8")
    fast, slow = read_table(path), _pandas_reader(path)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast.loc[0, "nama"] == "Siti, Aminah" and fast.loc[0, "catatan"] == "baris\nkedua"
    assert fast.loc[1, "nama"] == "NA" and pd.isna(fast.loc[1, "catatan"])
    assert fast.loc[2, "nama"] == "  Budi  " and fast.loc[0, "nik"] == "0302034708900003"


def test_short_rows_are_padded_as_the_pandas_parser_pads_them(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("id,nama,nik\n001,SITI\n002,BUDI,3302034708900003\n", encoding="utf-8")
    fast = read_table(path)
    pd.testing.assert_frame_equal(fast, _pandas_reader(path))
    assert len(fast) == 2 and pd.isna(fast.loc[0, "nik"])


@pytest.mark.parametrize(
    "value", ["SITI, AMINAH", 'kata "kutip"', "baris\nkedua", "plain"], ids=repr
)
def test_csv_writer_quotes_only_what_needs_it_and_round_trips(tmp_path, value):
    df = pd.DataFrame(
        {
            "left_id": pd.array(["001", None], dtype="string"),
            "note": pd.array([value, "x"], dtype="string"),
            "match_probability": [0.25, 3.5e-07],
        }
    )
    path = write_table(df, tmp_path / "links.csv")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("left_id,note,match_probability\n")
    back = read_table(path)
    assert back["note"].tolist() == [value, "x"]
    assert back.loc[0, "left_id"] == "001" and pd.isna(back.loc[1, "left_id"])
    assert [float(v) for v in back["match_probability"]] == [0.25, 3.5e-07]
    if value == "plain":
        assert '"' not in text


@pytest.mark.parametrize("late", ["SITI, AMINAH", "baris\rkedua", "plain"], ids=repr)
def test_csv_written_a_slice_at_a_time_is_the_whole_table_written_at_once(
    tmp_path, monkeypatch, late
):
    """The arrow writer formats a few rows at a time (memory), choosing the quoting for
    the whole table: a value needing quotes in the last slice only quotes the first
    too, a slice whose text column is all empty writes as the whole does."""
    import bansos_linkage.io as bio

    n = 10
    df = pd.DataFrame(
        {
            "left_id": pd.array([f"{i:03d}" for i in range(n)], dtype="string"),
            "duplicate_of": [None, None, None, "007", None, None, None, None, None, None],
            "note": pd.array(["x"] * (n - 1) + [late], dtype="string"),
            "match_probability": [0.5 / (i + 1) for i in range(n)],
        }
    )
    whole = write_table(df, tmp_path / "whole.csv").read_bytes()
    monkeypatch.setattr(bio, "CSV_SLICE_ROWS", 3)
    sliced = write_table(df, tmp_path / "sliced.csv").read_bytes()
    assert sliced == whole
    back = read_table(tmp_path / "sliced.csv")
    assert back["note"].tolist() == ["x"] * (n - 1) + [late]
    assert (late == "plain") == (b'"x"' not in sliced)  # quoted throughout, or nowhere


# Cell text a register export may hold: separators, quotes, line breaks of every kind,
# unicode, leading zeros, the words spreadsheets read as missing, and nothing at all.
_TRICKY_TEXT = st.one_of(
    st.text(max_size=12),
    st.text(alphabet=",;|\t\"\r\n '0NA\u00d1\u00e9\u201c\u4e2d\U0001f600", max_size=8),
    st.sampled_from(["", "NA", "NULL", "00123", "0", "Siti, Aminah", '"', "\r", "\r\n", " "]),
)


@st.composite
def _text_tables(draw: st.DrawFn) -> pd.DataFrame:
    columns = draw(
        st.lists(st.sampled_from(["id", "nama", "nik", "catatan", "rt"]), min_size=1, unique=True)
    )
    n = draw(st.integers(min_value=0, max_value=6))
    cells = st.one_of(st.none(), _TRICKY_TEXT)
    data = {c: draw(st.lists(cells, min_size=n, max_size=n)) for c in columns}
    return pd.DataFrame({c: pd.array(v, dtype="string") for c, v in data.items()})


def _pandas_writer(df, path):
    import bansos_linkage.io as bio

    original = bio._write_csv_arrow
    bio._write_csv_arrow = lambda df, path, sep: False  # force the pandas writer
    try:
        return write_table(df, path)
    finally:
        bio._write_csv_arrow = original


@given(
    table=_text_tables(),
    suffix=st.sampled_from([".csv", ".tsv"]),
    writer=st.sampled_from([write_table, _pandas_writer]),
)
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_text_table_round_trips_through_csv(tmp_path, table, suffix, writer):
    path = writer(table, tmp_path / f"t{suffix}")
    back = read_table(path)
    # the reader's convention: an empty cell is missing, whatever wrote it
    expected = table.astype("string").replace("", pd.NA) if len(table) else table
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)
    assert back.dtypes.map(lambda t: pd.api.types.is_string_dtype(t)).all()
    if table.shape[1] > 1:  # (pandas' parser skips a one-column row of "" as blank)
        pd.testing.assert_frame_equal(_pandas_reader(path), back)  # both parsers agree


@pytest.mark.parametrize("value", ["DTKS-A\rB", "a\r\nb", "x,\r"], ids=repr)
def test_carriage_return_is_quoted_by_both_writers(tmp_path, value):
    ids = pd.array([value, "002", None], dtype="string")
    fast = pd.DataFrame({"left_id": ids, "p": [0.5, 1.0, None]})
    dated = fast.assign(born=pd.to_datetime(["1990-01-02", "1991-03-04", None]))  # pandas'
    for name, frame in (("fast.csv", fast), ("dated.csv", dated)):
        path = write_table(frame, tmp_path / name)
        back = read_table(path)
        assert back["left_id"].tolist()[:2] == [value, "002"] and pd.isna(back.loc[2, "left_id"])
        assert len(back) == 3


def test_files_for_people_never_carry_a_live_formula(tmp_path):
    table = pd.DataFrame(
        {
            "record_id": ['=HYPERLINK("x")', "+62812", "-", "@SUM(A1)", "DTKS-1"],
            "amount": [-5, 1, 2, 3, 4],
        }
    )
    path = write_table(table, tmp_path / "links.csv", for_people=True)
    raw = path.read_text(encoding="utf-8").splitlines()[1:]
    assert all(not line.lstrip('"').startswith(FORMULA_START) for line in raw)
    back = restore_formulas(read_table(path))
    assert back["record_id"].tolist() == table["record_id"].tolist()
    assert back["amount"].astype(int).tolist() == [-5, 1, 2, 3, 4]  # numbers untouched
    # files for programs keep the values as they are
    plain = read_table(write_table(table, tmp_path / "plain.csv"))
    assert plain["record_id"].tolist() == table["record_id"].tolist()
