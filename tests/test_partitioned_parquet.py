"""Partitioned Parquet datasets (a folder of files, one per province) as input and output."""

from __future__ import annotations

import datetime as dt
import shutil

import pandas as pd
import pyarrow.dataset as ds
import pytest

from bansos_linkage.cli import EXIT_OK, EXIT_USAGE, main
from bansos_linkage.errors import InputError
from bansos_linkage.io import ATTR_PARTS, ATTR_SOURCE, locate_rows, read_table
from bansos_linkage.runs.link import link_files, read_run
from bansos_linkage.synthetic import generate, scenario

REFERENCE_DATE = "2026-01-01"


def _by_province(table: pd.DataFrame, code_column: str) -> pd.DataFrame:
    """The export ordered by province (the first two digits of a region code), stably:
    the order in which a folder of one file per province is read back."""
    province = table[code_column].astype("string").str[:2]
    return table.assign(_p=province).sort_values("_p", kind="stable").drop(columns="_p")


def _write_dataset(table: pd.DataFrame, folder, code_column: str, hive: bool = True) -> None:
    """One Parquet file per province: ``province=XX/part-0.parquet`` or ``XX.parquet``."""
    province = table[code_column].astype("string").str[:2]
    for code in sorted(province.unique()):
        path = (
            folder / f"province={code}" / "part-0.parquet" if hive else folder / f"{code}.parquet"
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        table[(province == code).to_numpy()].to_parquet(path, index=False)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """DTKS and Regsosek exports, each as one Parquet file (ordered by province) and as
    a folder of one file per province holding the same rows in the same order."""
    root = tmp_path_factory.mktemp("exports")
    data = generate(scenario("default", households=300, seed=2))
    out = {}
    for name, code in (("dtks", "KODE DESA"), ("regsosek", "kode_desa")):
        raw = data.registers[name]
        table = _by_province(raw, code).reset_index(drop=True)
        table.to_parquet(root / f"{name}.parquet", index=False)
        _write_dataset(table, root / name, code)
        out[name] = (root / f"{name}.parquet", root / name, code)
    return out


def _link(left, right, out, *extra):
    return main(
        [
            "link",
            str(left),
            str(right),
            "--left-schema",
            "dtks",
            "--right-schema",
            "regsosek",
            "--out",
            str(out),
            "--reference-date",
            REFERENCE_DATE,
            "-q",
            *extra,
        ]
    )


def test_a_folder_reads_as_the_single_file_in_path_order(exports):
    single, folder, _ = exports["dtks"]
    table = read_table(folder)
    whole = read_table(single)
    assert table.attrs[ATTR_SOURCE] == str(folder)
    # the hive key is a column of text; the rest is the single file, row for row
    assert table["province"].str.len().eq(2).all()
    pd.testing.assert_frame_equal(table.drop(columns="province"), whole)
    files = [f for f, _ in table.attrs[ATTR_PARTS]]
    assert files == sorted(files) and all("province=" in f for f in files)
    assert sum(n for _, n in table.attrs[ATTR_PARTS]) == len(table)


def test_a_flat_folder_of_parquet_files_skips_hidden_and_underscore_files(exports, tmp_path):
    single, _, code = exports["dtks"]
    whole = read_table(single)
    _write_dataset(whole, tmp_path, code, hive=False)
    (tmp_path / "_SUCCESS").write_text("")
    (tmp_path / ".part.crc").write_text("x")
    table = read_table(tmp_path)
    pd.testing.assert_frame_equal(table, whole)


def test_locate_rows_names_each_rows_file():
    files, rows = locate_rows([["a", 2], ["b", 0], ["c", 3]], [1, 2, 3, 5])
    assert files.tolist() == ["a", "a", "c", "c"] and rows.tolist() == [1, 2, 1, 3]
    with pytest.raises(ValueError):
        locate_rows([["a", 2]], [3])


def test_the_link_command_takes_folders_and_gives_the_links_of_the_single_files(exports, tmp_path):
    dtks, regsosek = exports["dtks"], exports["regsosek"]
    assert _link(dtks[0], regsosek[0], tmp_path / "files") == EXIT_OK
    assert _link(dtks[1], regsosek[1], tmp_path / "folders", "--partitioned-output") == EXIT_OK
    links = (tmp_path / "files" / "links.csv").read_bytes()
    assert (tmp_path / "folders" / "links.csv").read_bytes() == links
    for name in ("unlinked_left.csv", "unlinked_right.csv", "household_links.csv"):
        assert (tmp_path / "folders" / name).read_bytes() == (
            tmp_path / "files" / name
        ).read_bytes()
    # the links also as a dataset, one file per province of the left record
    run = tmp_path / "folders"
    parts = sorted(p.relative_to(run).as_posix() for p in (run / "links").rglob("*.parquet"))
    assert parts and all(p.startswith("links/province=") for p in parts)
    back = ds.dataset(run / "links", format="parquet", partitioning="hive").to_table().to_pandas()
    expected = read_table(run / "links.csv")
    key = ["left_id", "right_id"]
    assert sorted(map(tuple, back[key].astype(str).to_numpy())) == sorted(
        map(tuple, expected[key].to_numpy())
    )
    records = pd.read_parquet(run / "records_left.parquet").set_index("record_id")
    province = back["left_id"].map(records["province_code"]).astype(str)
    assert province.equals(back["province"].astype(str))
    # the dataset is in the manifest: read_run verifies it, and a changed part is refused
    assert "links" not in {p.name for p in (tmp_path / "files").iterdir()}
    read_run(run)
    part = run / parts[0]
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(InputError, match="province="):
        read_run(run)


def test_a_rerun_without_partitioned_output_does_not_keep_the_old_dataset(exports, tmp_path):
    dtks, regsosek = exports["dtks"], exports["regsosek"]
    run = tmp_path / "run"
    assert _link(dtks[1], regsosek[1], run, "--partitioned-output") == EXIT_OK
    assert list((run / "links").rglob("*.parquet"))
    assert _link(dtks[1], regsosek[1], run) == EXIT_OK
    assert not list((run / "links").rglob("*.parquet"))
    read_run(run)


def test_a_bad_file_in_a_folder_is_named(exports, tmp_path, capsys):
    _, folder, _ = exports["dtks"]
    bad = tmp_path / "dtks"
    shutil.copytree(folder, bad)
    broken = sorted(bad.rglob("*.parquet"))[1]
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(InputError, match="not a readable Parquet file") as exc:
        read_table(bad)
    assert exc.value.file == str(broken)
    regsosek = exports["regsosek"][1]
    assert _link(bad, regsosek, tmp_path / "run") == EXIT_USAGE
    err = capsys.readouterr().err
    assert str(broken) in err and "not a readable Parquet file" in err
    assert not (tmp_path / "run").exists()


def test_a_file_with_other_columns_or_of_another_type_is_named(exports, tmp_path):
    _, folder, _ = exports["dtks"]
    bad = tmp_path / "dtks"
    shutil.copytree(folder, bad)
    odd = sorted(bad.rglob("*.parquet"))[2]
    pd.read_parquet(odd).drop(columns="NIK").to_parquet(odd, index=False)
    with pytest.raises(InputError, match=r"columns differ.*missing \['NIK'\]") as exc:
        read_table(bad)
    assert exc.value.file == str(odd) and exc.value.row == 1
    shutil.rmtree(bad)
    shutil.copytree(folder, bad)
    (bad / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="not a Parquet file") as exc:
        read_table(bad)
    assert exc.value.file == str(bad / "notes.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no Parquet files") as exc:
        read_table(empty)
    assert exc.value.file == str(empty)


def test_a_rejected_row_names_its_file_and_its_row_there(exports, tmp_path):
    dtks, regsosek = exports["dtks"], exports["regsosek"]
    bad = tmp_path / "dtks"
    shutil.copytree(dtks[1], bad)
    second = sorted(bad.rglob("*.parquet"))[1]
    table = pd.read_parquet(second)
    table.loc[2, "ID DTKS"] = None  # the file's third data row has no id
    table.to_parquet(second, index=False)
    run = link_files(
        bad, regsosek[1], "dtks", "regsosek", reference_date=dt.date.fromisoformat(REFERENCE_DATE)
    )
    rejected = run.rejected
    assert list(rejected.columns[:3]) == ["side", "file", "row"]
    row = rejected[rejected["side"] == "left"].iloc[0]
    assert row["file"] == str(second) and row["row"] == 3
