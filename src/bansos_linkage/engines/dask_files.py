"""Registers read and standardised on the Dask workers, one task per input file.

A partitioned Parquet dataset (a folder, one file per province say) is read one file
per task, as :func:`~bansos_linkage.io.read_parquet_folder` reads each of its files,
and each file is standardised where it was read by the run's own function (the
``standardise`` given, which runs on one table); a single CSV, Parquet or Excel file
is one task. The driver never holds the register: it gets each file's counts and
rejected rows, checks that the files have the same columns, and finds the record
ids repeated across files (a register's later duplicate of an id is rejected, as
when the folder is standardised whole), by hash buckets on the workers.

:class:`WorkerRegister` is what the run and the engine use instead of a table of
records: its size and columns, the few columns they need per record (ids, families,
regions) gathered on demand, the records of given ids (the links' review table), and
the whole register written as a folder of Parquet files, one per input file, each
encoded on a worker (the driver writes the bytes it gets, a few parts at a time).
"""

from __future__ import annotations

import hashlib
import operator
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from dask.distributed import Client, Future, wait

from bansos_linkage.errors import InputError
from bansos_linkage.io import (
    ATTR_FIRST_ROW,
    ATTR_PARTS,
    ATTR_SOURCE,
    TEXT_DTYPE,
    check_dataset_columns,
    dataset_files,
    hive_keys,
    read_table,
)
from bansos_linkage.standardisation.records import REJECT_DUPLICATE_ID

#: What the run's standardise function returns for one table: the kept records, the
#: rejected rows (``side``, [``file``], ``row``, ``record_id``, ``reason``), and the
#: counts (rows read, rows rejected).
Standardised = tuple[pd.DataFrame, pd.DataFrame, tuple[int, int]]
Standardise = Callable[[pd.DataFrame], Standardised]


# --- on the workers -----------------------------------------------------------------


def _read(folder: str | None, file: str) -> tuple[pd.DataFrame, list[str]]:
    """One input file as text, and its columns. A file of a dataset gets its hive
    keys as columns and the attributes that name its rows (file, first row 1)."""
    path = Path(file)
    table = read_table(path)
    if folder is not None:
        for key, value in hive_keys(path.relative_to(folder).parts[:-1]):
            if key not in table:
                table[key] = pd.Series(value, index=table.index, dtype=TEXT_DTYPE)
        table.attrs = {ATTR_SOURCE: file, ATTR_FIRST_ROW: 1, ATTR_PARTS: [[file, len(table)]]}
    return table, list(table.columns)


def _standardised(
    read: tuple[pd.DataFrame, list[str]], columns: list[str], standardise: Standardise
) -> dict[str, Any]:
    """One file standardised: its records, rejected rows and counts, and the row (as
    the rejected rows count them) of each kept record."""
    table = read[0]
    attrs = table.attrs
    table = table[columns]
    table.attrs = attrs
    records, rejected, counts = standardise(table)
    first = int(attrs.get(ATTR_FIRST_ROW, 1))
    rows = np.setdiff1d(np.arange(first, first + len(table)), rejected["row"].to_numpy())
    return {"records": records, "rejected": rejected, "counts": counts, "rows": rows}


def _id_buckets(part: dict[str, Any], file: int, buckets: int) -> list[pd.DataFrame]:
    """A file's kept record ids cut into buckets by their hash."""
    ids = part["records"]["record_id"].astype("string").reset_index(drop=True)
    frame = pd.DataFrame({"id": ids, "file": file, "record": np.arange(len(ids))})
    bucket = pd.util.hash_pandas_object(ids, index=False).to_numpy() % buckets
    return [frame[bucket == b] for b in range(buckets)]


def _repeated(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """The records whose id an earlier file holds (pieces in file order)."""
    ids = pd.concat(pieces, ignore_index=True)
    return ids.loc[ids["id"].duplicated(keep="first"), ["file", "record"]]


def _without(part: dict[str, Any], records: np.ndarray, side: str, file: str) -> dict[str, Any]:
    """A file's records less those whose id an earlier file holds, rejected as
    duplicates (their rows in order among the file's other rejected rows)."""
    kept, rejected = part["records"], part["rejected"]
    drop = np.zeros(len(kept), dtype=bool)
    drop[records] = True
    dropped = pd.DataFrame(
        {
            "side": side,
            "file": file,
            "row": part["rows"][drop],
            "record_id": kept["record_id"].to_numpy()[drop],
            "reason": REJECT_DUPLICATE_ID,
        }
    )
    dropped = dropped[list(rejected.columns)].astype(rejected.dtypes.to_dict())
    both = pd.concat([rejected, dropped], ignore_index=True).sort_values("row", kind="stable")
    n_input, n_rejected = part["counts"]
    return {
        "records": kept[~drop].reset_index(drop=True),
        "rejected": both.reset_index(drop=True),
        "counts": (n_input, n_rejected + int(drop.sum())),
        "rows": part["rows"][~drop],
    }


def part_records(part: dict[str, Any], columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A part's records (those of ``columns`` they have; None: all), held in memory or
    spilled to a Parquet file (:meth:`WorkerRegister.spill`)."""
    held = part.get("records")
    names = list(held.columns) if held is not None else part["columns"]
    wanted = names if columns is None else [c for c in dict.fromkeys(columns) if c in names]
    if held is not None:
        return held if columns is None else held[wanted]
    return pd.read_parquet(part["path"], columns=wanted)


def _spilled(part: dict[str, Any], path: str) -> dict[str, Any]:
    """The part with its records written to ``path`` instead of held (as it is when
    they are written already)."""
    if "records" not in part:
        return part
    records = part["records"]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    records.to_parquet(path, index=False)
    rest = {k: v for k, v in part.items() if k != "records"}
    return {**rest, "path": path, "columns": list(records.columns)}


def _schema(part: dict[str, Any], columns: list[str]) -> pa.Schema:
    return pa.Schema.from_pandas(part_records(part, columns), preserve_index=False)


def _encoded(part: dict[str, Any], columns: list[str], schema: pa.Schema) -> tuple[bytes, str]:
    """A part's records as the bytes of a Parquet file of ``schema`` (as ``to_parquet``
    writes them), with their SHA-256."""
    records = part_records(part, columns)
    table = pa.Table.from_pandas(records, preserve_index=False).cast(schema)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    data = sink.getvalue().to_pybytes()
    return data, hashlib.sha256(data).hexdigest()


def _of_ids(part: dict[str, Any], ids: pd.Index, columns: list[str] | None) -> pd.DataFrame:
    records = part_records(part, columns)
    # a hashed lookup: isin on Arrow text iterates the wanted ids in Python, every part
    return records[ids.get_indexer(pd.Index(records["record_id"].astype("string"))) >= 0]


def _summary(part: dict[str, Any]) -> tuple[int, list[str], pd.DataFrame, tuple[int, int]]:
    records = part["records"]
    return len(records), list(records.columns), part["rejected"], part["counts"]


# --- the driver ----------------------------------------------------------------------


@dataclass
class WorkerRegister:
    """A register standardised on the workers, one part per input file in their order
    (the records of a part follow those of the parts before it: a record's global
    position is its row in the concatenated records, as in-process)."""

    client: Client
    side: str
    parts: list[Future]
    sizes: np.ndarray
    columns: list[str]
    rejected: pd.DataFrame
    n_input: int
    n_rejected: int
    _held: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)

    def __len__(self) -> int:
        return int(self.sizes.sum())

    def __contains__(self, column: object) -> bool:
        return column in self.columns

    @property
    def offsets(self) -> np.ndarray:
        """The global position of each part's first record."""
        return np.concatenate([[0], np.cumsum(self.sizes)[:-1]]).astype(np.int64)

    def shape(self) -> pd.DataFrame:
        """A stand-in for the records where only their columns and whether there are
        any matter (the Linker's checks): no row, or one row of missing values."""
        return pd.DataFrame(index=range(min(len(self), 1)), columns=self.columns)

    def columns_of(self, columns: Sequence[str]) -> pd.DataFrame:
        """The given columns (those the records have) of every record, in order; the
        columns gathered once are kept."""
        wanted = [c for c in dict.fromkeys(columns) if c in self.columns]
        missing = [c for c in wanted if c not in self._held]
        if missing:
            pieces = self.client.gather(
                [self.client.submit(part_records, p, missing) for p in self.parts]
            )
            fetched = pd.concat(pieces, ignore_index=True)
            self._held = fetched if self._held.empty else pd.concat([self._held, fetched], axis=1)
        return self._held[wanted]

    def spill(self, folder: str | Path) -> None:
        """Write each part's records to a Parquet file in ``folder`` (one every worker
        can read) and hold them there instead of in the workers' memory: once the
        partitions by region are cut, the records by file are needed again only for the
        run's outputs."""
        spilled = [
            self.client.submit(_spilled, p, str(Path(folder) / f"part-{k:05d}.parquet"))
            for k, p in enumerate(self.parts)
        ]
        wait(spilled)
        self.parts = spilled

    def records_of(self, ids: pd.Series, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The records of these record ids (the links' review table), in register order:
        ``record_id`` and ``columns`` (None: every column; only those asked cross to
        the driver, which holds a national run's linked records no other way)."""
        unique = pd.Index(pd.unique(ids.astype("string").dropna()))
        wanted = self.client.scatter(unique, broadcast=True)
        read = None if columns is None else ["record_id", *columns]
        pieces = self.client.gather(
            [self.client.submit(_of_ids, p, wanted, read) for p in self.parts]
        )
        return pd.concat(pieces, ignore_index=True)

    def write_records(self, path: str | Path) -> dict[Path, str]:
        """Every record to the folder ``path``, one Parquet file per part in their order
        (``part-00000.parquet``, ...; :func:`~bansos_linkage.runs.link.read_records`
        reads them back as one table), each of the parts' common schema. The workers
        encode the parts; the driver writes the bytes unread, a few parts at a time
        (on a cluster the workers need no share of the run folder's disk). Returns
        each file with its SHA-256, computed where it was encoded."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        columns = self.columns
        schemas = self.client.gather([self.client.submit(_schema, p, columns) for p in self.parts])
        schema = _common_schema(schemas)
        window = 2 * max(1, len(self.client.nthreads()))
        pending: deque[tuple[Path, Future]] = deque()
        written: dict[Path, str] = {}
        for k, part in enumerate(self.parts):
            encoded = self.client.submit(_encoded, part, columns, schema, pure=False)
            pending.append((folder / f"part-{k:05d}.parquet", encoded))
            while len(pending) > window or (pending and k == len(self.parts) - 1):
                file, future = pending.popleft()
                data, digest = future.result()
                file.write_bytes(data)
                written[file] = digest
        return written


def _common_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """The parts' schemas as one: a column missing throughout one part takes the type
    the others give it, and pandas' dtypes (the metadata) are those of the first part
    where every column has a type."""
    common = pa.unify_schemas(schemas, promote_options="permissive")
    typed = [s for s in schemas if not any(pa.types.is_null(f.type) for f in s)]
    return common.with_metadata((typed or schemas)[0].metadata)


def standardise_on_workers(
    client: Client, side: str, path: str | Path, standardise: Standardise
) -> WorkerRegister:
    """Read and standardise a register on the workers: a folder of Parquet files one
    file per task, another file in one task (see the module notes)."""
    source = Path(path)
    folder = source if source.is_dir() else None
    if folder is None and not source.is_file():
        raise InputError("file not found", file=source)
    files = [str(f) for f in dataset_files(source)] if folder is not None else [str(source)]
    where = None if folder is None else str(folder)
    read = [client.submit(_read, where, f, pure=False) for f in files]
    columns = client.gather([client.submit(operator.getitem, r, 1) for r in read])
    for file, these in zip(files, columns, strict=True):  # as the folder reader checks
        if folder is not None:
            check_dataset_columns(folder, Path(files[0]), columns[0], Path(file), these)
    parts = [client.submit(_standardised, r, columns[0], standardise, pure=False) for r in read]
    del read  # the raw tables are released as their parts are standardised
    if len(parts) > 1:
        parts = _reject_repeated_ids(client, parts, side, files)
    summaries = client.gather([client.submit(_summary, p) for p in parts])
    rejected = pd.concat([s[2] for s in summaries], ignore_index=True)
    return WorkerRegister(
        client,
        side,
        parts,
        np.array([s[0] for s in summaries], dtype=np.int64),
        summaries[0][1],
        rejected,
        sum(s[3][0] for s in summaries),
        sum(s[3][1] for s in summaries),
    )


def _reject_repeated_ids(
    client: Client, parts: list[Future], side: str, files: list[str]
) -> list[Future]:
    """Records whose id an earlier file holds are rejected as duplicates (the first
    of an id is kept, as standardising the files as one table does)."""
    buckets = len(parts)
    split = [client.submit(_id_buckets, p, f, buckets) for f, p in enumerate(parts)]
    found = [
        client.submit(_repeated, [client.submit(operator.getitem, s, b) for s in split])
        for b in range(buckets)
    ]
    repeated = pd.concat(client.gather(found), ignore_index=True)
    out = list(parts)
    for file, rows in repeated.groupby("file", sort=True)["record"]:
        k = int(file)
        out[k] = client.submit(_without, parts[k], rows.to_numpy(), side, files[k], pure=False)
    return out


__all__ = ["Standardise", "WorkerRegister", "part_records", "standardise_on_workers"]
