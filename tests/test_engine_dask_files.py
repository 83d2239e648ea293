"""The Dask engine reads and standardises each input file on a worker: the run's
outputs are those of the in-process run, and the driver never standardises (nor reads)
a whole register."""

# ruff: noqa: F811  (the fixture `client` is imported, then named as a parameter)
from __future__ import annotations

import datetime as dt
import hashlib
import threading

import numpy as np
import pandas as pd
import pytest

# the in-process LocalCluster, and the tables of two runs alike (floats to 1e-12)
from test_engine_dask import _same_table, client  # noqa: F401

from bansos_linkage.errors import InputError
from bansos_linkage.io import read_table
from bansos_linkage.runs.link import link_files, read_run
from bansos_linkage.synthetic import generate, scenario

distributed = pytest.importorskip("dask.distributed")

REFERENCE_DATE = dt.date(2026, 1, 1)
CODES = {"dtks": ("ID DTKS", "KODE DESA"), "regsosek": ("id_art", "kode_desa")}


def _dataset(table: pd.DataFrame, folder, code_column: str) -> list:
    """One Parquet file per province (``province=XX/part-0.parquet``), in path order."""
    province = table[code_column].astype("string").str[:2].fillna("00")
    paths = []
    for code in sorted(province.unique()):
        path = folder / f"province={code}" / "part-0.parquet"
        path.parent.mkdir(parents=True)
        table[(province == code).to_numpy()].to_parquet(path, index=False)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """DTKS and Regsosek as partitioned datasets, one file per province; the DTKS
    with an id repeated in a later file and a row without an id; the Regsosek also
    as one CSV."""
    root = tmp_path_factory.mktemp("files")
    data = generate(scenario("default", households=800, seed=5))
    out = {}
    for name, (id_column, code) in CODES.items():
        raw = data.registers[name].reset_index(drop=True)
        if name == "dtks":
            repeated = raw.iloc[[3]].copy()  # the id of a record of the first province
            repeated[code] = raw[code].dropna().max()  # ... again in the last one
            assert repeated[code].iloc[0][:2] != raw[code].iloc[3][:2]
            missing = raw.iloc[[10]].copy()
            missing[id_column] = None
            raw = pd.concat([raw, repeated, missing], ignore_index=True)
        out[name] = _dataset(raw, root / name, code)
    regsosek = read_table(root / "regsosek")
    regsosek.drop(columns="province").to_csv(root / "regsosek.csv", index=False)
    out["regsosek.csv"] = root / "regsosek.csv"
    out["root"] = root
    return out


@pytest.fixture(scope="module")
def local(exports):
    """The in-process runs (each register read and standardised whole): of the two
    datasets, and of the DTKS dataset with the Regsosek CSV."""
    root = exports["root"]
    _run(root / "dtks", root / "regsosek", root / "local", partitioned_output=True)
    _run(root / "dtks", exports["regsosek.csv"], root / "local_csv")
    return root / "local", root / "local_csv"


@pytest.fixture
def refuse_whole_register(monkeypatch):
    """The driver must neither read a folder whole nor standardise: the worker threads
    (an in-process cluster) may, the test's own (main) thread may not."""
    import bansos_linkage.io
    import bansos_linkage.runs.link as run_module

    standardise = run_module.standardise
    calls: list[int] = []

    def on_workers_only(table, *args, **kwargs):
        if threading.current_thread() is threading.main_thread():
            raise AssertionError("the driver standardised a register")
        calls.append(len(table))
        return standardise(table, *args, **kwargs)

    def whole_folder(*args, **kwargs):
        raise AssertionError("the driver read a whole folder")

    monkeypatch.setattr(run_module, "standardise", on_workers_only)
    monkeypatch.setattr(bansos_linkage.io, "read_parquet_folder", whole_folder)
    return calls


def _run(left, right, out, **kwargs):
    return link_files(left, right, "dtks", "regsosek", out, reference_date=REFERENCE_DATE, **kwargs)


def test_workers_read_and_standardise_each_file_and_give_the_local_run(
    exports, local, client, tmp_path, refuse_whole_register
):
    from bansos_linkage.engines import DaskEngine

    left, right = exports["root"] / "dtks", exports["root"] / "regsosek"
    engine = DaskEngine(client)
    run = _run(left, right, tmp_path / "dask", engine=engine, partitioned_output=True)
    # one call per file, none of them the whole register
    assert len(refuse_whole_register) == len(exports["dtks"]) + len(exports["regsosek"])
    assert run.held[0] is not None and run.held[1] is not None
    # the driver keeps the ids, families and provinces of the records, no more
    assert list(run.left_records.columns) == ["record_id", "kk_number", "province_code"]
    _same_run(local[0], tmp_path / "dask")
    # the review table's records cross to the driver with its fields only
    ids = run.result.links["left_id"].head(5)
    found = run.held[0].records_of(ids, ["full_name", "no_such_column"])
    assert list(found.columns) == ["record_id", "full_name"]
    assert sorted(found["record_id"]) == sorted(ids)
    # the records written a part (an input file) at a time, the digests the workers'
    parts = sorted((tmp_path / "dask" / "records_left.parquet").iterdir())
    assert [p.name for p in parts] == [f"part-{k:05d}.parquet" for k in range(len(parts))]
    assert len(parts) == len(exports["dtks"])
    rejected = read_table(tmp_path / "dask" / "rejected.csv")
    assert sorted(rejected["reason"]) == ["duplicate_id", "missing_id"]
    repeated = rejected[rejected["reason"] == "duplicate_id"]
    assert repeated["file"].iloc[0] == str(exports["dtks"][-1])  # named in its file
    summary = run.result.summary
    counted = summary["linked_left"] + summary["unlinked_left"] + summary["rejected_left"]
    assert counted == summary["input_left"] == sum(len(pd.read_parquet(p)) for p in exports["dtks"])


def test_records_spilled_by_file_give_the_local_run(exports, local, client, tmp_path):
    """With a spill folder the workers hold each record once (by region); the records
    by file are read back from Parquet for the outputs, which are the local run's."""
    from bansos_linkage.engines import DaskEngine

    left, right = exports["root"] / "dtks", exports["root"] / "regsosek"
    engine = DaskEngine(client, spill_dir=tmp_path / "spill")
    run = _run(left, right, tmp_path / "dask", engine=engine, partitioned_output=True)
    for side, files in (("left", exports["dtks"]), ("right", exports["regsosek"])):
        spilled = sorted((tmp_path / "spill" / f"records_{side}").glob("part-*.parquet"))
        assert len(spilled) == len(files)
    assert all("records" not in p.result() for p in run.held[0].parts)
    _same_run(local[0], tmp_path / "dask")
    # a second run on the spilled registers reads them where they are
    again = engine.link(run.linker, run.held[0], run.held[1])
    pd.testing.assert_frame_equal(again.links, run.result.links)


def test_a_csv_is_read_and_standardised_on_a_worker(
    exports, local, client, tmp_path, refuse_whole_register
):
    from bansos_linkage.engines import DaskEngine

    left, right = exports["root"] / "dtks", exports["regsosek.csv"]
    _run(left, right, tmp_path / "dask", engine=DaskEngine(client))
    assert len(refuse_whole_register) == len(exports["dtks"]) + 1  # the CSV in one task
    _same_run(local[1], tmp_path / "dask")


def test_a_file_with_other_columns_is_named_before_any_standardising(exports, client, tmp_path):
    import shutil

    from bansos_linkage.engines import DaskEngine

    folder = tmp_path / "dtks"
    shutil.copytree(exports["root"] / "dtks", folder)
    last = sorted(folder.rglob("*.parquet"))[-1]
    pd.read_parquet(last).drop(columns="NIK").to_parquet(last, index=False)
    with pytest.raises(InputError, match="columns differ") as caught:
        _run(folder, exports["root"] / "regsosek", None, engine=DaskEngine(client))
    assert caught.value.file == str(last)


def _same_run(local, remote) -> None:
    """The two run folders hold the same tables (floats to 1e-12: the engine sums the
    pattern counts in another order) and the same records; both verify."""
    for name in (
        "links.csv",
        "links_review.csv",
        "unlinked_left.csv",
        "unlinked_right.csv",
        "household_links.csv",
    ):
        _same_table(read_table(local / name), read_table(remote / name))
    assert (remote / "rejected.csv").read_bytes() == (local / "rejected.csv").read_bytes()
    a, b = read_run(local), read_run(remote)  # each checked against its manifest
    pd.testing.assert_frame_equal(a.left, b.left)
    pd.testing.assert_frame_equal(a.right, b.right)
    # the records as one file in process, one file per part on the cluster
    assert (local / "records_left.parquet").is_file()
    assert (remote / "records_left.parquet").is_dir()
    assert len(a.pairs) == len(b.pairs) > len(a.links)
    # the error estimate, its age bands read where the records are
    for key in ("expected_false_links", "estimated_fdr", "estimated_fnr"):
        assert b.summary[key] == pytest.approx(a.summary[key], abs=1e-9), key
    files = sorted(p.relative_to(local) for p in (local / "links").rglob("*.parquet"))
    assert files == sorted(p.relative_to(remote) for p in (remote / "links").rglob("*.parquet"))
    for file in files:  # the partitioned links, file by file
        _same_table(pd.read_parquet(local / file), pd.read_parquet(remote / file))


def test_a_cut_records_part_is_refused_naming_it(exports, client, tmp_path):
    from bansos_linkage.engines import DaskEngine

    left, right = exports["root"] / "dtks", exports["root"] / "regsosek"
    _run(left, right, tmp_path / "dask", engine=DaskEngine(client))
    part = sorted((tmp_path / "dask" / "records_left.parquet").iterdir())[-1]
    part.write_bytes(part.read_bytes()[:-10])
    with pytest.raises(InputError, match="truncated") as caught:
        read_run(tmp_path / "dask")
    assert caught.value.file == str(part)


def test_records_parts_are_written_in_one_schema(client, tmp_path):
    """A column missing throughout one part (no type of its own) is written, and read
    back, in the type the other parts give it; the parts in their order."""
    from bansos_linkage.engines.dask_files import WorkerRegister
    from bansos_linkage.runs.link import read_records

    text = pd.StringDtype("pyarrow")
    first = pd.DataFrame({"record_id": ["a", "b"], "nik": [None, None]})
    second = pd.DataFrame({"record_id": ["c"], "nik": pd.array(["3201"], dtype=text)})
    third = pd.DataFrame({"record_id": ["d"], "nik": pd.array([None], dtype=text)})
    frames = [first, second, third]
    parts = client.scatter([{"records": f} for f in frames])
    sizes = np.array([len(f) for f in frames])
    register = WorkerRegister(
        client, "left", parts, sizes, ["record_id", "nik"], pd.DataFrame(), 4, 0
    )
    written = register.write_records(tmp_path / "records_left.parquet")
    assert [p.name for p in written] == [f"part-{k:05d}.parquet" for k in range(3)]
    for path, digest in written.items():
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
    back = read_records(tmp_path / "records_left.parquet")
    assert back["nik"].dtype == text
    assert back["record_id"].tolist() == ["a", "b", "c", "d"]
    assert back["nik"].isna().tolist() == [True, True, False, True]
