"""Review rounds of a ``link`` run folder: batches exported from it, decisions read back.

The sheets, their check codes and the labels file are :mod:`bansos_linkage.review`;
this module keeps the run folder's side of it:

- ``RUN_DIR/review/secret.key``: the secret of the folder's check codes
  (:func:`review_secret`);
- ``RUN_DIR/review/batches/<batch id>.csv``: the record of each exported batch,
  which :func:`import_review` checks a filled-in sheet against;
- ``RUN_DIR/labels.csv``: the decisions so far (the default labels file).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from bansos_linkage.errors import InputError
from bansos_linkage.review import (
    BATCH_COLUMNS,
    SECRET_BYTES,
    batch_explanations,
    check_review_sheet,
    describe_batch,
    is_batch_id,
    load_review_sheet,
    merge_labels,
    new_batch_id,
    read_labels,
    review_sheet,
    select_for_review,
    sheet_batch,
    valid_batch,
    write_labels,
    write_review_sheet,
)
from bansos_linkage.runs.folders import verify_run
from bansos_linkage.runs.link import read_run


def export_review(
    run_dir: str | Path,
    out: str | Path,
    n: int = 100,
    *,
    labels: str | Path | None = None,
    random_share: float = 0.1,
    seed: int = 0,
    blind: bool = False,
) -> pd.DataFrame:
    """Choose a batch from a ``link`` run folder and write its review sheet to ``out``.

    Pairs already in the labels file (default ``RUN_DIR/labels.csv``) are not chosen
    again. With an ML matcher in the run, a third of the batch goes to pairs where
    it and the Fellegi-Sunter model disagree.

    The batch gets a new batch id (the sheet's ``batch`` column) and check codes
    keyed with the run folder's secret (:func:`review_secret`). Its record, the
    exported pairs with their numbers and codes, is kept as
    ``RUN_DIR/review/batches/<batch id>.csv`` so that :func:`import_review` can
    check the sheet; batches never overwrite each other, whatever their file names.

    ``blind``: the sheet shows the records only, not why each pair was chosen, its
    scores or the explanation (:func:`review_sheet`); the batch record still keeps
    ``selected_by``, and :func:`import_review` takes it from there, so random
    links still give unbiased precision estimates. The pairs are shuffled (by
    ``seed``), since their order would tell why they were chosen. Returns the sheet
    as written.
    """
    from bansos_linkage.linkage.linker import Linker  # scikit-learn: loaded on use

    if Path(out).suffix.lower() not in (".xlsx", ".csv"):
        raise InputError("a review sheet is .xlsx or .csv", file=out)
    run = read_run(run_dir)
    labels_path = Path(labels) if labels else Path(run_dir) / "labels.csv"
    done = read_labels(labels_path) if labels_path.exists() else None
    linker = Linker.load(run.model_path)
    comparisons = [c.label for c in linker.comparisons]
    ml = "ml_probability" in run.pairs
    batch = select_for_review(
        run.pairs,
        n,
        threshold=float(run.summary["threshold"]),
        score="ml_probability" if ml else "match_probability",
        second_score="match_probability" if ml else None,
        random_share=random_share,
        labelled=done,
        pattern=comparisons,
        seed=seed,
    )
    if blind:  # the order would tell too (random links first, then nearest the threshold)
        batch = batch.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    else:
        batch["explanation"] = batch_explanations(batch, linker)
    batch_id = new_batch_id()
    sheet = review_sheet(
        batch, run.left, run.right, batch=batch_id, key=review_secret(run_dir), blind=blind
    )
    # the record first: a sheet on disk can always be imported
    why = batch["selected_by"].to_numpy()  # kept in the record even when the sheet is blind
    record = sheet.assign(selected_by=why, sheet=Path(out).name)[list(BATCH_COLUMNS)]
    _write_batch_record(record, _batch_path(run_dir, batch_id))
    write_review_sheet(sheet, out)
    return sheet


def import_review(
    run_dir: str | Path, sheet: str | Path, *, labels: str | Path | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a filled-in sheet exported by :func:`export_review`, check it against its
    batch and add its decisions to the labels file (default ``RUN_DIR/labels.csv``).

    The batch is the one named in the sheet's ``batch`` column, whatever the file is
    now called. Every row must be a pair of that batch's record
    (``RUN_DIR/review/batches/<batch id>.csv``) with the same pair number, ids and
    check code, and the code must verify under the run folder's secret.

    Importing a batch again (a corrected sheet, or the same one twice) adds no
    rows: a pair decided again takes the later decision, and a pair left empty
    the second time keeps the earlier one. The labels' ``source`` is the batch id.

    Returns ``(decisions, labels)``. A refused sheet raises
    :class:`~bansos_linkage.errors.InputError` (naming the sheet, the row and the
    column) before the labels file is touched; so does a sheet of an unknown batch
    (exported from another run folder, or by an older version: export it again).
    """
    verify_run(run_dir)  # labels join only a run folder that is whole
    path = Path(sheet)
    table = load_review_sheet(path)
    batch, batch_row = sheet_batch(table, path)
    record_path = _batch_path(run_dir, batch) if is_batch_id(batch) else None
    secret = Path(run_dir) / "review" / "secret.key"
    if record_path is None or not record_path.is_file() or not secret.is_file():
        raise InputError(
            f"unknown batch: {describe_batch(batch)} was not exported from run folder {run_dir} "
            "(another run folder, or an older version of bansos-linkage: export again)",
            file=path,
            row=batch_row,
            column="batch",
        )
    exported = pd.read_csv(record_path, dtype=str, keep_default_na=False)
    decisions = check_review_sheet(table, path, exported, review_secret(run_dir))
    if "selected_by" not in table:  # a blind sheet: why each pair was chosen is in the record
        key = ["left_id", "right_id"]
        why = exported.drop_duplicates(key).set_index(key)["selected_by"]
        pairs = pd.MultiIndex.from_frame(decisions[key])
        decisions["selected_by"] = why.reindex(pairs).fillna("").to_numpy()
    labels_path = Path(labels) if labels else Path(run_dir) / "labels.csv"
    before = read_labels(labels_path) if labels_path.exists() else None
    merged = merge_labels(before, decisions.drop(columns="batch"), source=batch)
    write_labels(merged, labels_path)
    return decisions, merged


def review_secret(run_dir: str | Path) -> bytes:
    """The secret of a run folder's check codes, ``RUN_DIR/review/secret.key``.

    Made on first use from :func:`os.urandom` (32 bytes), readable by its owner
    only; never printed. Whoever can read it can make check codes, so keep the run
    folder where reviewers cannot (they need only the sheets). Deleting it makes
    every exported batch of the folder unimportable.
    """
    path = Path(run_dir) / "review" / "secret.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another export
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(os.urandom(SECRET_BYTES))
    key = path.read_bytes()
    if len(key) != SECRET_BYTES:
        raise InputError(
            f"damaged review secret ({len(key)} bytes, expected {SECRET_BYTES})", file=path
        )
    return key


def _batch_path(run_dir: str | Path, batch: str) -> Path:
    return Path(run_dir) / "review" / "batches" / f"{valid_batch(batch)}.csv"


def _write_batch_record(record: pd.DataFrame, path: Path) -> None:
    """Write a batch record atomically, never over another batch's."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        raise InputError("a batch with this id exists already; export again", file=path)
    fd, tmp = tempfile.mkstemp(prefix=".batch-", suffix=".csv", dir=path.parent)
    os.close(fd)
    try:
        record.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


__all__ = [
    "export_review",
    "import_review",
    "review_secret",
]
