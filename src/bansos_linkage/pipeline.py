"""Files in, files out: read -> standardise -> link -> write, as the ``link`` command runs it.

:func:`link_files` is the whole run on two exports; :func:`write_link_outputs`
writes a :class:`~bansos_linkage.linker.LinkResult` as the files the CLI
promises. Every input row ends in exactly one of ``links.csv`` (linked),
``unlinked_left.csv`` / ``unlinked_right.csv`` or ``rejected.csv``.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from bansos_linkage.blocking import DEFAULT_RULES
from bansos_linkage.comparisons import DEFAULT_COMPARISONS, columns_read
from bansos_linkage.households import household_links, status_counts
from bansos_linkage.io import read_table, restore_formulas, write_table
from bansos_linkage.runs import (
    MANIFEST,
    atomic_folder,
    check_replaceable,
    folder_lock,
    verify_run,
)
from bansos_linkage.schema import SourceSchema
from bansos_linkage.standardisation import StandardisedRecords, standardise

if TYPE_CHECKING:
    from bansos_linkage.linker import Linker, LinkResult

Progress = Callable[[int, int, str], None]
OUTPUT_FILES = (
    "links.csv",
    "unlinked_left.csv",
    "unlinked_right.csv",
    "rejected.csv",
    "household_links.csv",
    "model.json",
    "summary.json",
    # for review and evaluation of the run (``review export``, ``evaluate``)
    "pairs.parquet",
    "records_left.parquet",
    "records_right.parquet",
    # written last: every file above with its size and SHA-256 (bansos_linkage.runs)
    "manifest.json",
)
#: Candidate pairs kept in pairs.parquet: the links and every pair at least this
#: probable (nobody sets a threshold lower; the rest would only fill the disk).
PAIRS_FLOOR = 1e-4


@dataclass
class LinkRun:
    """A finished file-to-file run: the linker, its result, the standardised records
    (the columns linkage reads), the rows rejected at standardisation and the
    household links read off the person links (:mod:`bansos_linkage.households`)."""

    linker: Linker
    result: LinkResult
    left_records: pd.DataFrame
    right_records: pd.DataFrame
    rejected: pd.DataFrame
    households: pd.DataFrame | None = None


def link_files(
    left: str | Path | pd.DataFrame,
    right: str | Path | pd.DataFrame,
    left_schema: str | Path | SourceSchema,
    right_schema: str | Path | SourceSchema,
    out_dir: str | Path | None = None,
    *,
    threshold: float | None = None,
    model: str | Path | None = None,
    reference_date: dt.date | None = None,
    progress: Progress | None = None,
    labels: str | Path | pd.DataFrame | None = None,
    command: Sequence[str] | Mapping[str, Any] | None = None,
    include_kk: bool = False,
) -> LinkRun:
    """Standardise two exports, link them and (with ``out_dir``) write the outputs.

    ``model``: a model file from an earlier run; its parameters are used as they
    are (no EM), so a run can be repeated exactly or applied to new exports.
    ``threshold`` overrides the model's or the default match-probability threshold.
    ``labels``: reviewed pairs (a labels file or a table with ``left_id``,
    ``right_id`` and ``decision`` or ``is_match``) to train the ML matcher on; its
    probabilities then decide the links.
    ``out_dir`` is locked from the start (a second run into it fails at once, not
    after the linking) and written atomically with its manifest, which records
    ``command`` (see :func:`write_link_outputs`).
    ``include_kk``: the household links (``household_links.csv``) also give each
    left family's KK number (:func:`~bansos_linkage.households.household_links`);
    by default they name families by a key that is not the KK.
    """
    job = partial(
        _link_run,
        *(left, right, left_schema, right_schema),
        *(threshold, model, reference_date, progress, labels),
        include_kk=include_kk,
    )
    if out_dir is None:
        return job()
    with folder_lock(out_dir):
        check_replaceable(out_dir, OUTPUT_FILES)
        run = job()
        write_link_outputs(run, out_dir, command=command)
    return run


def _link_run(
    left: str | Path | pd.DataFrame,
    right: str | Path | pd.DataFrame,
    left_schema: str | Path | SourceSchema,
    right_schema: str | Path | SourceSchema,
    threshold: float | None,
    model: str | Path | None,
    reference_date: dt.date | None,
    progress: Progress | None,
    labels: str | Path | pd.DataFrame | None,
    *,
    include_kk: bool = False,
) -> LinkRun:
    """The run of :func:`link_files`, in memory."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    reference_date = reference_date or dt.date.today()
    linker = _linker(model, threshold) if model is not None else None
    columns = (
        linker.columns_read()
        if linker is not None
        else columns_read(DEFAULT_RULES, DEFAULT_COMPARISONS)
    )
    jobs = [
        ("left", left, left_schema, reference_date, columns),
        ("right", right, right_schema, reference_date, columns),
    ]
    # the two registers are standardised at once, the right one in a forked process;
    # meanwhile this one also imports the linker (scikit-learn takes most of a second)
    if "fork" in mp.get_all_start_methods() and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(1, mp_context=mp.get_context("fork")) as pool:
            other = pool.submit(_standardise_side, *jobs[1])
            linker = linker or _linker(None, threshold)
            sides = [_standardise_side(*jobs[0]), other.result()]
    else:
        sides = [_standardise_side(*job) for job in jobs]
    linker = linker or _linker(None, threshold)
    records = [side[0] for side in sides]
    rejected = [side[1] for side in sides]
    counts = [side[2] for side in sides]
    seconds["read_and_standardise"] = time.perf_counter() - start
    linker.settings["reference_date"] = reference_date.isoformat()
    linker.settings["schemas"] = [_schema_name(left_schema), _schema_name(right_schema)]
    start = time.perf_counter()
    training = _training(labels)
    if model is None:
        result = linker.fit_link(
            records[0], records[1], progress=progress, keep_pairs=PAIRS_FLOOR, labels=training
        )
    else:
        if training is not None:
            linker.fit_ml(records[0], records[1], training)
        result = linker.link(records[0], records[1], progress=progress, keep_pairs=PAIRS_FLOOR)
    seconds["link"] = time.perf_counter() - start
    (input_left, rejected_left), (input_right, rejected_right) = counts
    result.summary["rejected_left"] = rejected_left
    result.summary["rejected_right"] = rejected_right
    result.summary["input_left"] = input_left
    result.summary["input_right"] = input_right
    result.summary["seconds"] = {
        **{k: round(v, 3) for k, v in seconds.items()},
        "link_stages": result.summary.get("seconds", {}),
    }
    families = household_links(result.links, records[0], records[1], include_kk=include_kk)
    result.summary["households"] = status_counts(families)
    rejected_rows = pd.concat(rejected, ignore_index=True)
    return LinkRun(linker, result, records[0], records[1], rejected_rows, families)


def _training(labels: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    """Reviewed pairs as ``left_id``, ``right_id``, ``is_match`` (unsure ones left out)."""
    from bansos_linkage.review import read_labels, training_pairs

    if labels is None:
        return None
    if isinstance(labels, pd.DataFrame) and "is_match" in labels:
        return labels
    table = labels if isinstance(labels, pd.DataFrame) else read_labels(labels)
    return training_pairs(table)


def _linker(model: str | Path | None, threshold: float | None) -> Linker:
    """The model's Linker (its threshold overridden if asked) or a new default one."""
    from bansos_linkage.linker import DEFAULT_THRESHOLD, Linker

    if model is None:
        return Linker(threshold=threshold if threshold is not None else DEFAULT_THRESHOLD)
    linker = Linker.load(model)
    if threshold is not None:
        linker.threshold = threshold
    return linker


def _standardise_side(
    side: str,
    data: str | Path | pd.DataFrame,
    schema: str | Path | SourceSchema,
    reference_date: dt.date,
    columns: list[str],
) -> tuple[pd.DataFrame, pd.DataFrame, tuple[int, int]]:
    """Read and standardise one register; keep only the columns linkage reads, and the
    household id and KK the household links are read by (the raw export and the
    source's household variables are not needed to link)."""
    table = data if isinstance(data, pd.DataFrame) else read_table(data)
    keep = [*columns, *(c for c in ("household_id", "kk_number") if c not in columns)]
    std = standardise(table, schema, reference_date=reference_date, fields=keep)
    records = std.records[[c for c in std.records if c in keep]]
    return records, _rejected(side, std), (std.n_input, std.n_rejected)


def write_link_outputs(
    run: LinkRun,
    out_dir: str | Path,
    *,
    command: Sequence[str] | Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write links, unlinked records, rejected rows, the model and the summary.

    The folder appears whole or not at all, ``manifest.json`` last
    (:func:`bansos_linkage.runs.atomic_folder`); an earlier run there is replaced,
    keeping what review added to it (``labels.csv``, ``review/``).

    Parameters
    ----------
    run
        A finished run (:func:`link_files`).
    out_dir
        The run folder.
    command
        The command line or parsed CLI options, kept in the manifest.

    Returns
    -------
    list of pathlib.Path
        The files written, manifest last.
    """
    out = Path(out_dir)
    settings = _jsonable({"threshold": run.linker.threshold, **run.linker.settings})
    with atomic_folder(out, outputs=OUTPUT_FILES, command=command, settings=settings) as work:
        names = [path.name for path in _write_outputs(run, work)]
    return [out / name for name in [*names, "manifest.json"]]


def _write_outputs(run: LinkRun, out: Path) -> list[Path]:
    result = run.result
    paths = [
        write_table(result.links, out / "links.csv", for_people=True),
        write_table(result.unlinked_left, out / "unlinked_left.csv", for_people=True),
        write_table(result.unlinked_right, out / "unlinked_right.csv", for_people=True),
        write_table(run.rejected, out / "rejected.csv", for_people=True),
        run.linker.save(out / "model.json"),
    ]
    if run.households is not None:
        paths.append(write_table(run.households, out / "household_links.csv", for_people=True))
    if result.pairs is not None:
        paths.append(write_table(result.pairs, out / "pairs.parquet"))
        paths.append(write_table(run.left_records, out / "records_left.parquet"))
        paths.append(write_table(run.right_records, out / "records_right.parquet"))
    summary = out / "summary.json"
    summary.write_text(json.dumps(_jsonable(result.summary), indent=2) + "\n")
    paths.append(summary)
    return paths


@dataclass
class RunFolder:
    """A ``link`` run folder read back: its scored pairs, records, links and summary."""

    pairs: pd.DataFrame
    left: pd.DataFrame
    right: pd.DataFrame
    links: pd.DataFrame
    summary: dict[str, Any]
    model_path: Path


def read_run(run_dir: str | Path) -> RunFolder:
    """Read the folder a ``link`` run wrote (for review and evaluation).

    The folder is checked against its manifest first
    (:func:`bansos_linkage.runs.verify_run`): a folder of an interrupted run, or
    with a run file missing, cut short or edited, raises
    :class:`~bansos_linkage.errors.InputError` naming the file.
    """
    from bansos_linkage.errors import InputError

    folder = Path(run_dir)
    expected = [
        *("pairs.parquet", "records_left.parquet", "records_right.parquet", "links.csv"),
        *("summary.json", "model.json"),
    ]
    if not any((folder / name).exists() for name in [*expected, MANIFEST]):
        raise InputError(f"not a link run folder: {expected} missing", file=folder)
    verify_run(folder)  # names the file missing, cut short or edited
    missing = [name for name in expected if not (folder / name).exists()]
    if missing:  # a finished folder of another kind (a score run, say)
        raise InputError(f"not a link run folder: {missing} missing", file=folder)
    pairs = pd.read_parquet(folder / "pairs.parquet")
    return RunFolder(
        pairs=pairs,
        left=pd.read_parquet(folder / "records_left.parquet"),
        right=pd.read_parquet(folder / "records_right.parquet"),
        links=restore_formulas(read_table(folder / "links.csv")),
        summary=json.loads((folder / "summary.json").read_text(encoding="utf-8")),
        model_path=folder / "model.json",
    )


def _rejected(side: str, std: StandardisedRecords) -> pd.DataFrame:
    rows = std.rejected[["row", "record_id", "reason"]].copy()
    rows.insert(0, "side", side)
    return rows


def _schema_name(schema: str | Path | SourceSchema) -> str:
    if isinstance(schema, SourceSchema):
        return schema.name
    return str(schema)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value
