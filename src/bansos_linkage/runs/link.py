"""Files in, files out: read -> standardise -> link -> write, as the ``link`` command runs it.

:func:`link_files` is the whole run on two exports; :func:`write_link_outputs`
writes a :class:`~bansos_linkage.linkage.linker.LinkResult` as the files the CLI
promises. Every input row ends in exactly one of ``links.csv`` (linked),
``unlinked_left.csv`` / ``unlinked_right.csv`` or ``rejected.csv``.

The linking itself runs in this process (the :class:`~bansos_linkage.linkage.linker.Linker`'s
own methods) or, given an ``engine`` (:class:`bansos_linkage.engines.Engine`, e.g. the
Dask engine), on that engine; everything else (reading, standardising, the outputs,
the manifest) is the same.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pandas as pd

from bansos_linkage.io import (
    ATTR_PARTS,
    NULL_PARTITION,
    dataset_files,
    locate_rows,
    read_table,
    restore_formulas,
    write_table,
)
from bansos_linkage.linkage.blocking import DEFAULT_RULES
from bansos_linkage.linkage.comparisons import DEFAULT_COMPARISONS, columns_read
from bansos_linkage.linkage.households import household_links, status_counts
from bansos_linkage.progress import Progress
from bansos_linkage.review import read_labels, training_pairs
from bansos_linkage.runs.folders import (
    MANIFEST,
    atomic_folder,
    check_replaceable,
    folder_lock,
    verify_run,
)
from bansos_linkage.schema import SourceSchema, load_schema
from bansos_linkage.standardisation import StandardisedRecords, standardise

if TYPE_CHECKING:
    from bansos_linkage.engines import Engine, HeldRegister
    from bansos_linkage.linkage.linker import Linker, LinkResult
    from bansos_linkage.linkage.outputs import LinkSummary

OUTPUT_FILES = (
    "links.csv",
    # the links with both records' standardised fields side by side (personal data)
    "links_review.csv",
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
    # written last: every file above with its size and SHA-256 (bansos_linkage.runs.folders)
    "manifest.json",
)
#: The columns of each record a run keeps in this process when the engine holds the
#: records (:class:`~bansos_linkage.engines.ReadsFiles`): the household links' and the
#: partitioned links' (the ids, families and province).
RUN_COLUMNS = ("record_id", "household_id", "kk_number", "province_code")
#: The folder of the links as a partitioned Parquet dataset (``partitioned_output``):
#: ``links/province=<left record's province_code>/part-0.parquet``.
PARTITIONED_LINKS = "links"
#: Candidate pairs kept in pairs.parquet: the links and every pair at least this
#: probable (nobody sets a threshold lower; the rest would only fill the disk).
PAIRS_FLOOR = 1e-4
#: Standardised fields shown side by side in ``links_review.csv`` (those present).
REVIEW_FIELDS = (
    "full_name",
    "nik",
    "kk_number",
    "birth_date",
    "sex",
    "village_name",
    "village_code",
    "rt",
    "rw",
    "relationship",
)


@dataclass
class LinkRun:
    """A finished file-to-file run: the linker, its result, the standardised records
    (the columns linkage reads), the rows rejected at standardisation and the
    household links read off the person links (:mod:`bansos_linkage.linkage.households`)."""

    linker: Linker
    result: LinkResult
    left_records: pd.DataFrame
    right_records: pd.DataFrame
    rejected: pd.DataFrame
    households: pd.DataFrame | None = None
    #: write the links also as a partitioned Parquet dataset (``links/``)
    partitioned_output: bool = False
    #: per side, the register the engine read and holds (the records above are then
    #: only its :data:`RUN_COLUMNS`); None: the records above are the whole register
    held: tuple[HeldRegister | None, HeldRegister | None] = (None, None)


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
    settings: str | Path | Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    partitioned_output: bool = False,
) -> LinkRun:
    """Standardise two exports, link them and (with ``out_dir``) write the outputs.

    ``left`` and ``right``: a CSV, Parquet or Excel file, a folder of Parquet files
    (a partitioned dataset, one file per province say: see
    :func:`~bansos_linkage.io.read_table`) or a table.

    ``model``: a model file from an earlier run; its parameters are used as they
    are (no EM), so a run can be repeated exactly or applied to new exports.
    ``settings``: a settings file (YAML or JSON, see :mod:`bansos_linkage.linkage.settings`) or
    dict to build the Linker from and fit; not with ``model``.
    ``threshold`` overrides the model's, the settings' or the default threshold.
    ``labels``: reviewed pairs (a labels file or a table with ``left_id``,
    ``right_id`` and ``decision`` or ``is_match``) to train the ML matcher on; its
    probabilities then decide the links.
    ``out_dir`` is locked from the start (a second run into it fails at once, not
    after the linking) and written atomically with its manifest, which records
    ``command`` (see :func:`write_link_outputs`).
    ``include_kk``: the household links (``household_links.csv``) also give each
    left family's KK number (:func:`~bansos_linkage.linkage.households.household_links`);
    by default they name families by a key that is not the KK.
    ``engine``: run the fitting and linking on this engine
    (:class:`~bansos_linkage.engines.Engine`, e.g.
    :class:`~bansos_linkage.engines.dask.DaskEngine`) instead of in this process; the
    links are the same. The summary records its ``name`` as ``engine`` (``"local"``
    without one). ``labels`` train the ML matcher on the engine if it can
    (``trains_ml_matcher``: the Dask engine does), else they are refused
    (:class:`~bansos_linkage.errors.UsageError`); a ``model`` that holds one it applies
    if it can (``runs_ml_matcher``).
    ``partitioned_output``: also write the links as a partitioned Parquet dataset,
    ``links/province=XX/part-0.parquet`` (by the left record's province code; the
    columns of ``links.csv``), listed in the manifest like every other file.
    """
    from bansos_linkage.errors import UsageError

    if engine is not None and labels is not None and not _trains_ml(engine):
        raise UsageError(
            f"the {_engine_name(engine)} engine does not train the ML matcher on reviewed "
            "pairs; train it with the local engine and apply that run's model.json here",
            option="labels",
        )
    job = partial(
        _link_run,
        left,
        right,
        left_schema,
        right_schema,
        threshold,
        model,
        reference_date,
        progress,
        labels,
        include_kk=include_kk,
        settings=settings,
        engine=engine,
        partitioned_output=partitioned_output,
    )
    if model is not None and settings is not None:
        raise UsageError("give a model or settings, not both", option="settings")
    return _run_into(out_dir, job, command)


def _trains_ml(engine: Engine) -> bool:
    """Whether the engine trains the ML matcher on reviewed pairs (``labels``)."""
    return bool(getattr(engine, "trains_ml_matcher", False))


def _engine_name(engine: Engine | None) -> str:
    """The name a run records for its engine (``local``: in this process)."""
    return "local" if engine is None else engine.name


def _check_engine_runs(engine: Engine | None, linker: Linker, model: str | Path | None) -> None:
    """Refuse a model holding an ML matcher on an engine that does not run one
    (``runs_ml_matcher``: the Dask engine does)."""
    runs_ml = getattr(engine, "runs_ml_matcher", False)
    if engine is not None and linker.ml_model_ is not None and not runs_ml:
        from bansos_linkage.errors import UsageError

        raise UsageError(
            f"the model holds an ML matcher, which the {_engine_name(engine)} engine does "
            "not run; link with the local engine",
            option="model",
            file=model,
        )


def _engine_stages(summary: LinkSummary, engine: Engine | None) -> None:
    """Record the engine's name and (if it keeps them) its stages' seconds."""
    summary["engine"] = _engine_name(engine)
    timings = getattr(engine, "timings_", None)
    if timings:
        summary["seconds"]["engine_stages"] = {k: round(v, 3) for k, v in timings.items()}


def _run_into(out_dir: str | Path | None, job: Callable[[], LinkRun], command) -> LinkRun:
    """Run ``job`` and, with ``out_dir``, write its run folder: the folder is locked
    before any work (a second run into it fails at once, not after linking)."""
    if out_dir is None:
        return job()
    with folder_lock(out_dir):
        check_replaceable(out_dir, OUTPUT_FILES)
        run = job()
        write_link_outputs(run, out_dir, command=command)
    return run


@contextmanager
def _naming_empty(files: Mapping[str, object]) -> Iterator[None]:
    """An empty register (the Linker's EmptyInputError, which knows only the side)
    names the file it was read from."""
    from bansos_linkage.errors import EmptyInputError

    try:
        yield
    except EmptyInputError as exc:
        given = files.get(exc.side or "")
        if exc.file is not None or not isinstance(given, str | Path):
            raise
        raise EmptyInputError(str(exc), side=exc.side, file=given) from None


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
    settings: str | Path | Mapping[str, Any] | None = None,
    engine: Engine | None = None,
    partitioned_output: bool = False,
) -> LinkRun:
    """The run of :func:`link_files`, in memory."""
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    reference_date = reference_date or dt.date.today()
    given = model is not None or settings is not None
    linker = _linker(model, threshold, settings) if given else None
    if linker is not None:
        _check_engine_runs(engine, linker, model)
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
    # meanwhile this one also imports the linker (scikit-learn takes most of a second).
    # Not beside an engine: its client's threads (Dask's event loop) must not be forked
    forked = engine is None and "fork" in mp.get_all_start_methods()
    if _reads_files(engine):  # files read and standardised on the engine's workers
        sides = [_engine_side(engine, *job) for job in jobs]
    elif forked and (os.cpu_count() or 1) > 1:
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
    with _naming_empty({"left": left, "right": right}):
        if engine is not None:
            run_on = engine.fit_link if model is None else engine.link
            # labels only to an engine that trains on them (refused above otherwise)
            reviewed = {} if training is None else {"labels": training}
            result = run_on(linker, records[0], records[1], keep_pairs=PAIRS_FLOOR, **reviewed)
        elif model is None:
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
    _engine_stages(result.summary, engine)
    held = (_held(records[0]), _held(records[1]))
    frames = [
        r if h is None else h.columns_of(RUN_COLUMNS) for r, h in zip(records, held, strict=True)
    ]
    families = household_links(result.links, frames[0], frames[1], include_kk=include_kk)
    result.summary["households"] = status_counts(families)
    rejected_rows = _joined_rejected(rejected)
    return LinkRun(
        linker,
        result,
        frames[0],
        frames[1],
        rejected_rows,
        families,
        partitioned_output=partitioned_output,
        held=held,
    )


def _reads_files(engine: Engine | None) -> bool:
    from bansos_linkage.engines import ReadsFiles

    return isinstance(engine, ReadsFiles)


def _held(records: Any) -> HeldRegister | None:
    return None if isinstance(records, pd.DataFrame) else records


def _engine_side(
    engine: Any,
    side: str,
    data: str | Path | pd.DataFrame,
    schema: str | Path | SourceSchema,
    reference_date: dt.date,
    columns: list[str],
) -> tuple[Any, pd.DataFrame, tuple[int, int]]:
    """One register read and standardised by the engine (a file or folder: a table at a
    time, by :func:`_standardise_side`, where the engine runs), else as without one."""
    if isinstance(data, pd.DataFrame):
        return _standardise_side(side, data, schema, reference_date, columns)
    # the mapping read here: a worker elsewhere need not see the file (nor this folder)
    schema = load_schema(schema)
    each = partial(
        _standardise_side, side, schema=schema, reference_date=reference_date, columns=columns
    )
    register = engine.standardise_files(side, data, each)
    return register, register.rejected, (register.n_input, register.n_rejected)


def _joined_rejected(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The rejected rows of both sides; with a ``file`` column (after ``side``) when a
    side was read from a folder of Parquet files."""
    rows = pd.concat(tables, ignore_index=True)
    if "file" in rows:
        rows = rows[["side", "file", *(c for c in rows if c not in ("side", "file"))]]
    return rows


def link_new_files(
    new: str | Path | pd.DataFrame,
    existing_run: str | Path,
    schema: str | Path | SourceSchema,
    out_dir: str | Path | None = None,
    *,
    threshold: float | None = None,
    reference_date: dt.date | None = None,
    progress: Progress | None = None,
    command: Sequence[str] | Mapping[str, Any] | None = None,
    include_kk: bool = False,
    engine: Engine | None = None,
) -> LinkRun:
    """Link a new export (this month's additions, say) against an earlier run's right
    register with that run's model, without refitting.

    ``new`` is standardised with ``schema`` and linked as the left register to
    ``EXISTING_RUN/records_right.parquet`` by ``Linker.load(EXISTING_RUN/model.json)
    .link(new, right)``: the same parameters, term frequencies of the same right
    register, so a new record gets the link it would get in a full run (up to the
    one-to-one competition with the earlier left records, which are not relinked).
    Every new record ends in exactly one of ``links.csv``, ``unlinked_left.csv`` or
    ``rejected.csv``.

    A link to a right record the earlier run had linked already (the person was
    in the earlier export too, or is a duplicate of someone in it) is reported:
    ``links.csv`` gets ``right_linked_before``, the earlier run's left id(s) of
    that right record (empty when it was unlinked), and the summary counts them
    as ``linked_to_already_linked``.

    ``reference_date`` defaults to the earlier run's (its records' ages and date
    checks were made at it); ``threshold`` overrides the model's. With
    ``out_dir`` the outputs are written as :func:`link_files` writes them (a run
    folder that ``review export`` and ``evaluate`` read); it must not be the
    earlier run's folder. ``engine``: link on it (e.g. a
    :class:`~bansos_linkage.engines.dask.DaskEngine`: a month's additions against the
    national register) instead of in this process; the links are the same.

    Raises
    ------
    InputError
        ``existing_run`` is not a whole link run folder (naming the file).
    UsageError
        ``out_dir`` is the earlier run's folder, or ``engine`` is given and the
        earlier run's model holds an ML matcher.
    """
    from bansos_linkage.errors import UsageError
    from bansos_linkage.linkage.linker import Linker

    folder = Path(existing_run)
    if out_dir is not None and Path(out_dir).resolve() == folder.resolve():
        raise UsageError("must not be the run folder linked against", option="--out", file=out_dir)
    with folder_lock(folder):  # a rerun of link must not replace it while it is read
        earlier = read_run(folder)
        linker = Linker.load(earlier.model_path)
    _check_engine_runs(engine, linker, earlier.model_path)
    if threshold is not None:
        linker.threshold = threshold
    if reference_date is None:
        saved = linker.settings.get("reference_date")
        reference_date = dt.date.fromisoformat(saved) if saved else dt.date.today()
    job = partial(
        _link_new_run,
        new,
        schema,
        linker,
        earlier,
        str(folder),
        reference_date,
        progress,
        include_kk=include_kk,
        engine=engine,
    )
    return _run_into(out_dir, job, command)


def _link_new_run(
    new: str | Path | pd.DataFrame,
    schema: str | Path | SourceSchema,
    linker: Linker,
    earlier: RunFolder,
    earlier_name: str,
    reference_date: dt.date,
    progress: Progress | None,
    *,
    include_kk: bool = False,
    engine: Engine | None = None,
) -> LinkRun:
    """The run of :func:`link_new_files`, in memory."""
    start = time.perf_counter()
    records, rejected, (n_input, n_rejected) = _standardise_side(
        "left", new, schema, reference_date, linker.columns_read()
    )
    right = earlier.right
    read_seconds = time.perf_counter() - start
    linker.settings["reference_date"] = reference_date.isoformat()
    schemas = list(linker.settings.get("schemas") or [None, None])
    linker.settings["schemas"] = [_schema_name(schema), schemas[-1]]
    start = time.perf_counter()
    with _naming_empty({"left": new}):
        if engine is not None:
            result = engine.link(linker, records, right, keep_pairs=PAIRS_FLOOR)
        else:
            result = linker.link(records, right, progress=progress, keep_pairs=PAIRS_FLOOR)
    seconds = {"read_and_standardise": read_seconds, "link": time.perf_counter() - start}
    before = earlier.links[["left_id", "right_id"]].astype("string")
    linked_before = before.groupby("right_id", sort=False)["left_id"].agg(";".join)
    result.links["right_linked_before"] = (
        result.links["right_id"].astype("string").map(linked_before).astype("string")
    )
    s = result.summary
    s["linked_to_already_linked"] = int(result.links["right_linked_before"].notna().sum())
    s["existing_run"] = earlier_name
    s["input_left"], s["rejected_left"] = n_input, n_rejected
    s["input_right"], s["rejected_right"] = len(right), 0
    s["seconds"] = {
        **{k: round(v, 3) for k, v in seconds.items()},
        "link_stages": s.get("seconds", {}),
    }
    _engine_stages(s, engine)
    families = household_links(result.links, records, right, include_kk=include_kk)
    s["households"] = status_counts(families)
    return LinkRun(linker, result, records, right, rejected, families)


def _training(labels: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    """Reviewed pairs as ``left_id``, ``right_id``, ``is_match`` (unsure ones left out)."""
    if labels is None:
        return None
    if isinstance(labels, pd.DataFrame) and "is_match" in labels:
        return labels
    table = labels if isinstance(labels, pd.DataFrame) else read_labels(labels)
    return training_pairs(table)


def _linker(
    model: str | Path | None,
    threshold: float | None,
    settings: str | Path | Mapping[str, Any] | None = None,
) -> Linker:
    """The model's Linker, or a new one from the settings or the defaults (its
    threshold overridden if asked)."""
    from bansos_linkage.linkage.linker import DEFAULT_THRESHOLD, Linker

    if settings is not None:
        from bansos_linkage.linkage.configure import linker_from_settings

        linker = linker_from_settings(settings)
        if threshold is not None:
            linker.threshold = threshold
        return linker
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
    rejected = _rejected(side, std)
    parts = table.attrs.get(ATTR_PARTS)
    if parts is not None:  # a folder of Parquet files: each row's file and its row there
        files, rows = locate_rows(parts, rejected["row"].to_numpy())
        rejected["row"] = rows
        rejected.insert(1, "file", pd.Series(files, index=rejected.index, dtype="string"))
    return records, rejected, (std.n_input, std.n_rejected)


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
    digests: dict[Path, str] = {}  # of files written where their digest is known
    folder = atomic_folder(
        out, outputs=OUTPUT_FILES, command=command, settings=settings, digests=digests
    )
    with folder as work:
        written = _write_outputs(run, work, digests)
        names = [path.relative_to(work).as_posix() for path in written]
        if not run.partitioned_output and (out / PARTITIONED_LINKS).is_dir():
            # an earlier run's partitioned links must not be carried over as this run's
            (work / PARTITIONED_LINKS).mkdir()
    return [out / name for name in [*names, "manifest.json"]]


def _write_outputs(run: LinkRun, out: Path, digests: dict[Path, str]) -> list[Path]:
    result = run.result
    paths = [
        write_table(result.links, out / "links.csv", for_people=True),
        write_table(
            links_for_review(result.links, *_linked_records(run)),
            out / "links_review.csv",
            for_people=True,
        ),
        write_table(result.unlinked_left, out / "unlinked_left.csv", for_people=True),
        write_table(result.unlinked_right, out / "unlinked_right.csv", for_people=True),
        write_table(run.rejected, out / "rejected.csv", for_people=True),
        run.linker.save(out / "model.json"),
    ]
    if run.households is not None:
        paths.append(write_table(run.households, out / "household_links.csv", for_people=True))
    if result.pairs is not None:
        paths.append(write_table(result.pairs, out / "pairs.parquet"))
        for side in ("left", "right"):
            paths.extend(_write_records(run, side, out / f"records_{side}.parquet", digests))
    if run.partitioned_output:
        paths.extend(write_partitioned_links(result.links, run.left_records, out))
    summary = out / "summary.json"
    summary.write_text(json.dumps(_jsonable(result.summary), indent=2) + "\n")
    paths.append(summary)
    return paths


def _linked_records(run: LinkRun) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each side's records, or (held by the engine) those of its linked records."""
    sides = zip(("left", "right"), (run.left_records, run.right_records), run.held, strict=True)
    out = [
        r if h is None else h.records_of(run.result.links[f"{s}_id"], REVIEW_FIELDS)
        for s, r, h in sides
    ]
    return out[0], out[1]


def _write_records(run: LinkRun, side: str, path: Path, digests: dict[Path, str]) -> list[Path]:
    """One side's standardised records (``records_<side>.parquet``: a file, or a folder
    of files when the engine holds the register; :func:`read_records`)."""
    held = run.held[0 if side == "left" else 1]
    if held is not None:  # written by the engine a part at a time, their digests known
        written = held.write_records(path)
        digests.update(written)
        return list(written)
    return [write_table(run.left_records if side == "left" else run.right_records, path)]


def read_records(path: str | Path) -> pd.DataFrame:
    """A run's standardised records (``records_left.parquet``, ``records_right.parquet``):
    one Parquet file, as an in-process run writes them, or a folder of Parquet files
    read in the order of their names, as the Dask engine writes them (one file per
    part of the register, encoded on its worker), which gives the same table."""
    path = Path(path)
    if not path.is_dir():
        return pd.read_parquet(path)
    parts = [pd.read_parquet(file) for file in dataset_files(path)]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def write_partitioned_links(
    links: pd.DataFrame, left: pd.DataFrame, out_dir: str | Path
) -> list[Path]:
    """Write ``links`` as a partitioned Parquet dataset in ``out_dir/links/``: one
    file per province of the left record, ``province=<code>/part-0.parquet`` (hive
    style; links whose left record has no province code in
    ``province=__HIVE_DEFAULT_PARTITION__``), in the order of ``links``, with its
    columns. Read back with ``pyarrow.dataset.dataset(folder, partitioning="hive")``
    or :func:`~bansos_linkage.io.read_table` (the province then a column of text).

    Returns
    -------
    list of pathlib.Path
        The files written, by province code.
    """
    folder = Path(out_dir) / PARTITIONED_LINKS
    ids = left["record_id"].astype("string")
    first = ~ids.duplicated().to_numpy()
    where = pd.Index(ids[first]).get_indexer(links["left_id"].astype("string"))  # type: ignore[arg-type]
    province = _looked_up(left[first], "province_code", where)
    codes = province.fillna(NULL_PARTITION).to_numpy(dtype=object)
    paths = []
    out = links.reset_index(drop=True)
    for code in sorted(set(codes)) or [NULL_PARTITION]:
        rows = out[codes == code] if len(out) else out
        name = f"province={quote(str(code), safe='')}"
        paths.append(write_table(rows, folder / name / "part-0.parquet"))
    return paths


def links_for_review(
    links: pd.DataFrame,
    left: pd.DataFrame,
    right: pd.DataFrame,
    fields: Sequence[str] = REVIEW_FIELDS,
) -> pd.DataFrame:
    """The links with both records' standardised fields side by side (``links_review.csv``).

    Every column of ``links`` (ids, probabilities, the level of each comparison),
    then for each of ``fields`` present in either register ``left_<field>`` and
    ``right_<field>``, looked up by record id (``left_id`` / ``right_id`` are the
    records' ``record_id``). Dates are written ``YYYY-MM-DD``; a field one register
    lacks is empty on its side. One lookup per side and field (no row loops), so it
    costs seconds at 400,000 households. The table holds personal data (names, NIKs).
    """
    out = links.reset_index(drop=True)
    shown = [f for f in fields if f in left or f in right]
    sides = {}
    for side, records in (("left", left), ("right", right)):
        ids = records["record_id"].astype("string")
        keep = ~ids.duplicated().to_numpy()
        rows = pd.Index(ids[keep])
        where = rows.get_indexer(out[f"{side}_id"].astype("string"))  # type: ignore[arg-type]
        sides[side] = (records[keep], where)
    columns = {}
    for field in shown:
        for side in ("left", "right"):
            records, where = sides[side]
            columns[f"{side}_{field}"] = _looked_up(records, field, where)
    return pd.concat([out, pd.DataFrame(columns, index=out.index)], axis=1)


def _looked_up(records: pd.DataFrame, field: str, where: Any) -> pd.Series:
    """``records[field]`` at positions ``where`` (-1: no such record) as text."""
    if field not in records:
        return pd.Series(pd.NA, index=range(len(where)), dtype="string")
    values = records[field]
    if pd.api.types.is_datetime64_any_dtype(values):
        values = values.dt.strftime("%Y-%m-%d")
    values = values.astype("string").reset_index(drop=True)
    found = values.reindex(where).reset_index(drop=True)  # -1 is not a label: missing
    return found


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
        left=read_records(folder / "records_left.parquet"),
        right=read_records(folder / "records_right.parquet"),
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


__all__ = [
    "LinkRun",
    "OUTPUT_FILES",
    "PAIRS_FLOOR",
    "PARTITIONED_LINKS",
    "REVIEW_FIELDS",
    "RunFolder",
    "link_files",
    "link_new_files",
    "links_for_review",
    "read_records",
    "read_run",
    "write_link_outputs",
    "write_partitioned_links",
]
