"""Clerical review: choose the pairs worth a person's time, export sheets, read decisions back.

A review round is:

1. :func:`select_for_review` picks a batch of candidate pairs: the most uncertain
   ones (probability nearest the threshold, a few per agreement pattern so a batch
   is not fifty copies of one case), pairs where the Fellegi-Sunter and ML matchers
   disagree, and a random share of the links, which keeps precision estimates
   unbiased (:func:`~bansos_linkage.evaluation.estimate_from_sample`).
2. :func:`review_sheet` lays each pair out with both records side by side, the
   scores and a one-line explanation, its batch id and a keyed ``check`` code, and
   an empty ``decision`` column; :func:`write_review_sheet` writes it as Excel or
   CSV so that no cell can run as a formula and NIKs keep their 16 digits.
3. :func:`read_review_sheet` reads the decisions back and refuses a sheet with
   unknown pairs, bad decisions, duplicated rows, rows of another batch or rows
   whose ids or check code no longer match what was exported, naming the row;
   :func:`merge_labels` adds the decisions to a labels file (nothing is written
   when the sheet is refused).

:func:`~bansos_linkage.runs.review.export_review` and
:func:`~bansos_linkage.runs.review.import_review` do this for a ``link`` run folder.
Each exported batch gets a batch id (the ``batch`` column of every row) and its
record, ``RUN_DIR/review/batches/<batch id>.csv``; the check codes are HMAC-SHA256
codes under a secret made once per run folder, ``RUN_DIR/review/secret.key``.
Import finds the record by the sheet's batch id, whatever the file is now called,
and refuses any row that was not exported in that batch as it stands.

Decisions are ``match``, ``non_match`` or ``unsure`` (Indonesian ``cocok``,
``tidak cocok`` and ``ragu`` are accepted too); ``unsure`` pairs are kept in the
labels file but not used for training.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np
import pandas as pd

from bansos_linkage.errors import InputError
from bansos_linkage.io import FORMULA_START, read_table

if TYPE_CHECKING:
    from bansos_linkage.linkage.linker import Linker

DECISIONS = ("match", "non_match", "unsure")
_SYNONYMS = {
    "match": "match",
    "m": "match",
    "yes": "match",
    "y": "match",
    "1": "match",
    "cocok": "match",
    "sama": "match",
    "non_match": "non_match",
    "non-match": "non_match",
    "nonmatch": "non_match",
    "no match": "non_match",
    "no": "non_match",
    "n": "non_match",
    "0": "non_match",
    "tidak cocok": "non_match",
    "beda": "non_match",
    "unsure": "unsure",
    "?": "unsure",
    "ragu": "unsure",
    "ragu-ragu": "unsure",
}
#: Columns of a labels file, in order.
LABEL_COLUMNS = ("left_id", "right_id", "decision", "source", "selected_by")
#: Fields shown side by side on a review sheet (those present).
DEFAULT_FIELDS = (
    "full_name",
    "nik",
    "kk_number",
    "birth_date",
    "sex",
    "mother_name",
    "birth_place",
    "village_code",
    "address",
)
_REQUIRED = ("pair", "left_id", "right_id", "check", "batch", "decision")
#: What a blind sheet leaves out, so the reviewer is not anchored by the model: why
#: a pair was chosen, its scores and the explanation (weights and levels).
BLIND_HIDDEN = ("selected_by", "match_probability", "ml_probability", "explanation")
#: Columns of a batch record (``RUN_DIR/review/batches/<batch id>.csv``).
BATCH_COLUMNS = ("batch", "pair", "left_id", "right_id", "check", "selected_by", "sheet")
#: A batch id: ``B<UTC date>-<UTC time>-<8 random hex digits>``.
_BATCH_ID = re.compile(r"B\d{8}-\d{6}-[0-9a-f]{8}")
#: Hex digits of the HMAC-SHA256 kept as a row's check code (64 bits).
_CHECK_LENGTH = 16
#: Bytes of a check-code secret.
SECRET_BYTES = 32


def select_for_review(
    pairs: pd.DataFrame,
    n: int,
    *,
    threshold: float,
    score: str = "match_probability",
    second_score: str | None = None,
    random_share: float = 0.1,
    labelled: pd.DataFrame | None = None,
    pattern: Sequence[str] | None = None,
    per_pattern: int = 2,
    seed: int = 0,
) -> pd.DataFrame:
    """A batch of ``n`` pairs for review, each with the reason it was chosen.

    Parameters
    ----------
    pairs
        Scored candidate pairs: ``left_id``, ``right_id``, ``score`` (a match
        probability), optionally ``second_score`` (another matcher's probability),
        ``link`` (bool: made a link) and the comparison levels.
    n
        Batch size.
    threshold
        The link threshold on ``score``: uncertainty is closeness to it in log-odds.
    second_score
        With it, up to a third of the batch goes to the pairs where the two scores
        disagree most (one above the threshold, the other below, first).
    random_share
        Share of the batch drawn at random from the links (from all pairs when
        there is no ``link`` column), so that precision can be estimated from it.
    labelled
        Pairs already decided (``left_id``, ``right_id``): never chosen again.
    pattern
        The columns whose values make a pair's agreement pattern (its comparison
        levels; default: the columns named ``*_level``).
    per_pattern
        At most this many uncertain pairs per agreement pattern in the first pass,
        so a batch covers many kinds of case.
    seed
        Seed of the random share (same seed, same batch).

    Returns
    -------
    pandas.DataFrame
        The chosen rows of ``pairs`` with ``selected_by`` ("random", "disagreement"
        or "uncertain"), in that order.
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= random_share <= 1:
        raise ValueError("random_share must be between 0 and 1")
    pool = _unlabelled(pairs, labelled)
    rng = np.random.default_rng(seed)
    chosen: list[pd.DataFrame] = []
    n_random = min(int(round(n * random_share)), len(pool))
    if n_random:
        frame = pool[pool["link"].astype(bool)] if "link" in pool else pool
        take = rng.choice(len(frame), size=min(n_random, len(frame)), replace=False)
        chosen.append(frame.iloc[np.sort(take)].assign(selected_by="random"))
        pool = pool.drop(index=frame.index[take])
    remaining = n - sum(len(c) for c in chosen)
    if second_score is not None and remaining > 0:
        gap = _disagreement(pool, score, second_score, threshold)
        top = gap[gap > 0].sort_values(ascending=False, kind="stable").index[: remaining // 3]
        chosen.append(pool.loc[top].assign(selected_by="disagreement"))
        pool = pool.drop(index=top)
        remaining -= len(top)
    if remaining > 0:
        columns = [c for c in pool.columns if c.endswith("_level")] if pattern is None else pattern
        order = _uncertainty_order(pool, score, threshold, list(columns), per_pattern)
        chosen.append(pool.loc[order[:remaining]].assign(selected_by="uncertain"))
    return pd.concat(chosen).reset_index(drop=True) if chosen else pool.iloc[:0]


def _unlabelled(pairs: pd.DataFrame, labelled: pd.DataFrame | None) -> pd.DataFrame:
    if labelled is None or labelled.empty:
        return pairs
    key = ["left_id", "right_id"]
    done = pd.MultiIndex.from_frame(labelled[key].astype(str))
    mine = pd.MultiIndex.from_frame(pairs[key].astype(str))
    return pairs[~mine.isin(done)]


def _logit(p: pd.Series | np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log2(q / (1 - q))


def _disagreement(pool: pd.DataFrame, score: str, other: str, threshold: float) -> pd.Series:
    """How much two matchers disagree; pairs on opposite sides of the threshold first."""
    a, b = pool[score].to_numpy(dtype=float), pool[other].to_numpy(dtype=float)
    opposite = (a >= threshold) != (b >= threshold)
    gap = np.abs(_logit(a) - _logit(b)) + np.where(opposite, 1000.0, 0.0)
    return pd.Series(np.where(np.isnan(gap), 0.0, gap), index=pool.index)


def _uncertainty_order(
    pool: pd.DataFrame, score: str, threshold: float, pattern_cols: list[str], per_pattern: int
) -> pd.Index:
    """Pairs nearest the threshold first, at most ``per_pattern`` per agreement pattern
    in the first pass (later passes take the rest in the same order)."""
    distance = np.abs(_logit(pool[score]) - _logit(np.array([threshold]))[0])
    ordered = pool.assign(_d=distance).sort_values("_d", kind="stable")
    if not pattern_cols:
        return ordered.index
    rank = ordered.groupby(pattern_cols, sort=False, dropna=False).cumcount()
    pass_no = rank // max(per_pattern, 1)
    return ordered.assign(_pass=pass_no).sort_values(["_pass", "_d"], kind="stable").index


def review_sheet(
    selected: pd.DataFrame,
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    fields: Sequence[str] = DEFAULT_FIELDS,
    scores: Sequence[str] = ("match_probability", "ml_probability"),
    explanation: str | None = "explanation",
    batch: str | None = None,
    key: bytes | None = None,
    blind: bool = False,
) -> pd.DataFrame:
    """The review sheet of a batch: one row per pair, both records side by side.

    Columns: ``pair`` (number), ``left_id``, ``right_id``, ``check`` (a keyed code
    of the batch id, pair number and ids, to catch rows sorted apart, edited or
    made up), ``batch`` (the batch id), ``selected_by``, the ``scores`` present,
    ``explanation`` (if that column is in ``selected``), ``<field>_left`` /
    ``<field>_right`` for each field present in the records, and empty
    ``decision`` and ``note`` columns for the reviewer.

    ``batch`` defaults to a new batch id (:func:`new_batch_id`). ``key`` is the
    secret of the check codes (for a run folder,
    :func:`~bansos_linkage.runs.review.review_secret`); without it a random one is
    used, and the codes can then only be checked against this sheet
    (``read_review_sheet(path, exported=sheet)``).

    ``blind``: leave out ``selected_by``, the scores and the explanation
    (:data:`BLIND_HIDDEN`), so the reviewer judges the records alone, not anchored
    by the model's verdict.
    """
    batch = new_batch_id() if batch is None else valid_batch(batch)
    key = os.urandom(SECRET_BYTES) if key is None else key
    sheet = pd.DataFrame(
        {
            "pair": np.arange(1, len(selected) + 1),
            "left_id": selected["left_id"].astype(str).to_numpy(),
            "right_id": selected["right_id"].astype(str).to_numpy(),
        }
    )
    sheet["check"] = [
        check_code(key, batch, p, a, b)
        for p, a, b in zip(sheet["pair"], sheet["left_id"], sheet["right_id"], strict=True)
    ]
    sheet["batch"] = batch
    if "selected_by" in selected:
        sheet["selected_by"] = selected["selected_by"].to_numpy()
    for col in scores:
        if col in selected:
            sheet[col] = selected[col].to_numpy(dtype=float).round(6)
    if explanation and explanation in selected:
        sheet["explanation"] = selected[explanation].to_numpy()
    if blind:
        sheet = sheet.drop(columns=[c for c in sheet if c in (*BLIND_HIDDEN, *scores)])
    for field in fields:
        for frame, side in ((left, "left"), (right, "right")):
            if field not in frame:
                continue
            values = frame.set_index(frame["record_id"].astype(str))[field]
            shown = values.reindex(sheet[f"{side}_id"]).to_numpy(dtype=object)
            sheet[f"{field}_{side}"] = [_as_text(v) for v in shown]
    sheet["decision"] = ""
    sheet["note"] = ""
    return sheet


def check_code(key: bytes, batch: str, pair: int, left_id: str, right_id: str) -> str:
    """HMAC-SHA256 of the batch id, pair number and ids under ``key``, truncated: a row's
    check code (verval worklists sign their rows with it too)."""
    message = json.dumps([batch, int(pair), left_id, right_id]).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_CHECK_LENGTH]


def new_batch_id() -> str:
    """A new batch id: the UTC time of export and 8 random hex digits,
    e.g. ``B20260115-093000-1f2e3d4c``."""
    return f"B{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


def is_batch_id(text: str) -> bool:
    """Whether ``text`` looks like a batch id (:func:`new_batch_id`)."""
    return _BATCH_ID.fullmatch(text) is not None


def valid_batch(batch: str) -> str:
    """``batch``, if it is a batch id; else :class:`ValueError`."""
    if not is_batch_id(batch):
        raise ValueError("a batch id looks like B20260115-093000-1f2e3d4c (see new_batch_id)")
    return batch


def _as_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def explanations(
    pairs: pd.DataFrame, weights: dict[str, np.ndarray], names: Mapping[str, Sequence[str]]
) -> pd.Series:
    """One line per pair: each comparison's level and its weight in bits, strongest
    evidence first, e.g. ``nik exact +14.2; name exact +9.0; region else -2.1``.

    ``weights`` maps a comparison label to its weight per level number and ``names``
    to its level names (both from the fitted model, see :func:`level_weights`);
    ``pairs`` has each comparison's level number in the column of its label.
    """
    parts = []
    for label, table in weights.items():
        if label not in pairs:
            continue
        level = pairs[label].to_numpy(dtype=int)
        weight = np.where(level >= 0, np.asarray(table)[np.maximum(level, 0)], 0.0)
        name = np.asarray([*names[label], "missing"], dtype=object)[np.where(level >= 0, level, -1)]
        parts.append((label, name, weight))
    rows = []
    for i in range(len(pairs)):
        terms = sorted(((abs(w[i]), lbl, nm[i], w[i]) for lbl, nm, w in parts), reverse=True)
        rows.append(
            "; ".join(
                f"{lbl} {nm}" if nm == "missing" else f"{lbl} {nm} {w:+.1f}"
                for _, lbl, nm, w in terms
            )
        )
    return pd.Series(rows, index=pairs.index, dtype=object)


def level_weights(parameters: pd.DataFrame) -> dict[str, np.ndarray]:
    """Comparison label -> match weight of each level number, from
    :meth:`~bansos_linkage.linkage.fellegi_sunter.FellegiSunter.parameters`."""
    return {
        str(label): group.sort_values("level")["match_weight"].to_numpy(dtype=float)
        for label, group in parameters.groupby("comparison", sort=False)
    }


def write_review_sheet(sheet: pd.DataFrame, path: str | Path) -> Path:
    """Write a review sheet as ``.xlsx`` or ``.csv`` that is safe to open.

    Every cell is written as text: a value beginning with ``=``, ``+``, ``-``, ``@``
    (or a tab or carriage return) gets a leading apostrophe, so no spreadsheet runs
    it as a formula (CSV or formula injection); in Excel the cells are also typed
    as text, so a NIK keeps all 16 digits. :func:`read_review_sheet` removes the
    apostrophes again.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    safe = sheet.copy()
    for col in safe.columns:
        safe[col] = [_defuse(_as_text(v)) for v in safe[col].tolist()]
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        _write_xlsx(safe, path)
    elif suffix == ".csv":
        safe.to_csv(path, index=False)
    else:
        raise InputError("a review sheet is .xlsx or .csv", file=path)
    return path


def _defuse(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def _write_xlsx(sheet: pd.DataFrame, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    ws = book.active
    ws.title = "review"
    ws.append(list(sheet.columns))
    for row in sheet.itertuples(index=False):
        ws.append(list(row))
    for column in ws.iter_cols(min_row=1):
        for cell in column:
            cell.data_type = "s"  # text, never a formula or a number
            cell.number_format = "@"
    for cell in ws[1]:
        cell.font = Font(bold=True)
    decision = list(sheet.columns).index("decision") + 1
    for (cell,) in ws.iter_rows(min_row=2, min_col=decision, max_col=decision):
        cell.fill = PatternFill("solid", fgColor="FFF2CC")
    ws.freeze_panes = "E2"
    book.save(path)


def read_review_sheet(
    path: str | Path, exported: pd.DataFrame | None = None, *, key: bytes | None = None
) -> pd.DataFrame:
    """The decisions of a filled-in review sheet, validated.

    ``exported`` is the batch as written (``pair``, ``left_id``, ``right_id``,
    ``check`` and ``batch``: the sheet from :func:`review_sheet`, or a batch record);
    every row must then be one of its pairs, with the same pair number and check
    code. ``key`` is the secret the check codes were made with; every row's code
    must then verify. At least one of the two is needed. Rows with an empty
    decision were not reviewed and are left out.

    Returns ``left_id``, ``right_id``, ``decision`` (normalised), ``note``,
    ``selected_by``, ``batch`` and ``row`` (the spreadsheet row).

    Raises
    ------
    InputError
        Naming the file, the row and the column: a required column is missing (a
        sheet without ``batch`` was exported by an older version); a decision is
        not one of the accepted words; a pair appears twice; a row is of another
        batch; a pair number was not exported; a row's ids are not those exported
        under its pair number (rows sorted apart, ids edited, a pair made up); a
        check code does not match the export or does not verify. All problems are
        found before raising and the first few are listed.
    """
    if exported is None and key is None:
        raise ValueError("read_review_sheet needs the exported sheet or the key of its checks")
    path = Path(path)
    return check_review_sheet(load_review_sheet(path), path, exported, key)


def describe_batch(batch: str) -> str:
    """A batch id for a message (a cell that is no batch id may hold anything)."""
    return f"batch {batch}" if is_batch_id(batch) else "this batch"


def load_review_sheet(path: Path) -> pd.DataFrame:
    """A review sheet's cells as text, apostrophes of defused cells removed; not yet
    checked (:func:`check_review_sheet`)."""
    table = read_table(path)
    if "batch" not in table and all(c in table for c in _REQUIRED if c != "batch"):
        raise InputError(
            "no 'batch' column: the sheet was exported by an older version of "
            "bansos-linkage (or the column was deleted); export the batch again",
            file=path,
            column="batch",
        )
    missing = [c for c in _REQUIRED if c not in table]
    if missing:
        raise InputError(f"missing columns {missing}; expected a review sheet", file=path)
    return table.apply(lambda col: col.map(undefuse, na_action="ignore"))


def sheet_batch(table: pd.DataFrame, path: Path) -> tuple[str, int]:
    """The sheet's batch id (that of its first row with one) and that row."""
    values = _texts(table, "batch")
    for i, value in enumerate(values):
        if value.strip():
            return value.strip(), i + 2
    raise InputError(
        "no batch id in the 'batch' column; export the batch again",
        file=path,
        row=2,
        column="batch",
    )


def check_review_sheet(
    table: pd.DataFrame, path: Path, exported: pd.DataFrame | None, key: bytes | None
) -> pd.DataFrame:
    """The decisions of a loaded sheet (:func:`load_review_sheet`), checked as
    :func:`read_review_sheet` says."""
    first_row = 2
    problems: list[tuple[int, str, str]] = []
    decisions = []
    for i, raw in enumerate(table["decision"].tolist()):
        text = "" if pd.isna(raw) else " ".join(str(raw).strip().lower().replace("_", " ").split())
        value = _SYNONYMS.get(text) or _SYNONYMS.get(text.replace(" ", "_"))
        if text and value is None:
            problems.append((first_row + i, "decision", f"expected one of {', '.join(DECISIONS)}"))
        decisions.append(value or "")
    table["decision"] = decisions
    ids = table["left_id"].astype(str) + "\x1f" + table["right_id"].astype(str)
    for dup in np.flatnonzero(ids.duplicated(keep="first").to_numpy()):
        first = int(np.flatnonzero((ids == ids.iloc[dup]).to_numpy())[0])
        row = first_row + int(dup)  # a plain int: numpy 2 prints np.int64(7) in messages
        problems.append((row, "left_id", f"the same pair as row {first_row + first}"))
    batch, batch_row = sheet_batch(table, path)
    by_pair: dict[int, tuple[str, str, str]] = {}
    if exported is not None:
        if "batch" in exported and len(exported):
            expected = str(exported["batch"].iloc[0])
            if batch != expected:
                raise InputError(
                    f"not batch {expected} (the batch this sheet is checked against)",
                    file=path,
                    row=batch_row,
                    column="batch",
                )
        for pair, a, b, check in zip(
            exported["pair"],
            exported["left_id"],
            exported["right_id"],
            exported["check"],
            strict=True,
        ):
            by_pair[_int(pair)] = (str(a), str(b), str(check))
    batches = _texts(table, "batch")
    rows = zip(table["pair"], table["left_id"], table["right_id"], table["check"], strict=True)
    for i, (pair, a, b, check) in enumerate(rows):
        row, number, a, b = first_row + i, _int(pair), str(a), str(b)
        check = "" if pd.isna(check) else str(check).strip().lower()
        if batches[i].strip() != batch:
            problems.append((row, "batch", f"not the batch of row {batch_row}"))
            continue
        if exported is not None:
            known = by_pair.get(number)
            if known is None:
                what = f"pair {number}" if number >= 0 else "this pair number"
                problems.append(
                    (row, "pair", f"{what} was not exported in {describe_batch(batch)}")
                )
                continue
            if (a, b) != known[:2]:
                column = "left_id" if a != known[0] else "right_id"
                problems.append(
                    (
                        row,
                        column,
                        f"these ids were not exported as pair {number} of {describe_batch(batch)} "
                        "(rows sorted out of order, ids edited or a pair added?)",
                    )
                )
                continue
            if check != known[2]:
                problems.append((row, "check", "the check code is not the one exported (edited?)"))
                continue
        if key is not None and not hmac.compare_digest(check_code(key, batch, number, a, b), check):
            problems.append(
                (
                    row,
                    "check",
                    "the check code does not verify (row edited or sorted out of order, "
                    "or not exported from this run folder)",
                )
            )
    if problems:
        problems.sort()
        row, column, message = problems[0]
        others = sorted({p[0] for p in problems[1:]})[:10]
        more = f" ({len(problems) - 1} more problems, rows {others})" if others else ""
        raise InputError(message + more, file=path, row=row, column=column)
    out = table.assign(row=np.arange(first_row, first_row + len(table)))
    out = out[out["decision"] != ""]
    return pd.DataFrame(
        {
            "left_id": out["left_id"].astype(str).to_numpy(),
            "right_id": out["right_id"].astype(str).to_numpy(),
            "decision": out["decision"].to_numpy(),
            "note": _texts(out, "note"),
            "selected_by": _texts(out, "selected_by"),
            "batch": batch,
            "row": out["row"].to_numpy(),
        }
    )


def _texts(table: pd.DataFrame, column: str) -> list[str]:
    """A column as plain strings ("" for empty or absent)."""
    if column not in table:
        return [""] * len(table)
    return ["" if pd.isna(v) else str(v) for v in table[column].tolist()]


@overload
def undefuse(value: str) -> str: ...
@overload
def undefuse(value: object) -> object: ...
def undefuse(value: object) -> object:
    """A cell as typed: the apostrophe that kept it from running as a formula removed."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value


def _int(value: object) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return -1


def read_labels(path: str | Path) -> pd.DataFrame:
    """A labels file (``left_id``, ``right_id``, ``decision`` and optionally ``source``,
    ``selected_by``); decisions are normalised and checked, naming the row.

    A file from another source (field verification, an earlier run) needs only the
    three first columns; ``is_match`` (true/false, 1/0) is accepted for ``decision``.
    """
    path = Path(path)
    table = read_table(path)
    if "decision" not in table and "is_match" in table:
        table["decision"] = table["is_match"].map(
            lambda v: "match" if str(v).strip().lower() in ("1", "true", "yes") else "non_match",
            na_action="ignore",
        )
    missing = [c for c in ("left_id", "right_id", "decision") if c not in table]
    if missing:
        raise InputError(f"missing columns {missing}; expected a labels file", file=path)
    values = []
    for i, raw in enumerate(table["decision"].tolist()):
        text = "" if pd.isna(raw) else " ".join(str(raw).strip().lower().replace("_", " ").split())
        value = _SYNONYMS.get(text) or _SYNONYMS.get(text.replace(" ", "_"))
        if value is None:
            raise InputError(
                f"expected one of {', '.join(DECISIONS)}", file=path, row=i + 2, column="decision"
            )
        values.append(value)
    for col in ("left_id", "right_id"):
        empty = table[col].isna()
        if empty.any():
            raise InputError(
                "a labelled pair needs both ids",
                file=path,
                row=int(np.flatnonzero(empty)[0]) + 2,
                column=col,
            )
    out = pd.DataFrame(
        {
            "left_id": table["left_id"].astype(str).to_numpy(),
            "right_id": table["right_id"].astype(str).to_numpy(),
            "decision": values,
        }
    )
    for col in ("source", "selected_by"):
        out[col] = _texts(table, col)
    return out.drop_duplicates(["left_id", "right_id"], keep="last").reset_index(drop=True)


def merge_labels(labels: pd.DataFrame | None, decisions: pd.DataFrame, source: str) -> pd.DataFrame:
    """``labels`` with ``decisions`` added; a pair decided again takes the new decision."""
    new = decisions.assign(source=source)
    for col in LABEL_COLUMNS:
        if col not in new:
            new[col] = ""
    new = new[list(LABEL_COLUMNS)]
    frames = [new] if labels is None or labels.empty else [labels[list(LABEL_COLUMNS)], new]
    merged = pd.concat(frames, ignore_index=True)
    return merged.drop_duplicates(["left_id", "right_id"], keep="last").reset_index(drop=True)


def write_labels(labels: pd.DataFrame, path: str | Path) -> Path:
    """Write a labels file atomically: a crash midway leaves the old file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".labels-", suffix=".csv", dir=path.parent)
    os.close(fd)
    try:
        labels[list(LABEL_COLUMNS)].to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def training_pairs(labels: pd.DataFrame) -> pd.DataFrame:
    """The decided pairs a matcher can learn from: ``left_id``, ``right_id`` and
    ``is_match``; ``unsure`` pairs are left out."""
    sure = labels[labels["decision"].isin(["match", "non_match"])]
    return pd.DataFrame(
        {
            "left_id": sure["left_id"].to_numpy(),
            "right_id": sure["right_id"].to_numpy(),
            "is_match": (sure["decision"] == "match").to_numpy(),
        }
    )


def oracle_decisions(selected: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Decisions a perfect reviewer would make, from true pairs (``left_id``,
    ``right_id``): to simulate review rounds on synthetic data."""
    key = ["left_id", "right_id"]
    true = pd.MultiIndex.from_frame(truth[key].astype(str))
    mine = pd.MultiIndex.from_frame(selected[key].astype(str))
    out = selected[key].astype(str).reset_index(drop=True)
    out["decision"] = np.where(mine.isin(true), "match", "non_match")
    if "selected_by" in selected:
        out["selected_by"] = selected["selected_by"].to_numpy()
    return out


def batch_explanations(batch: pd.DataFrame, linker: Linker) -> pd.Series:
    """:func:`explanations` of a batch under a fitted Linker's model."""
    from bansos_linkage.linkage.explain import level_names  # loads the matchers: on use

    return explanations(
        batch, level_weights(linker.fitted_model.parameters()), level_names(linker.comparisons)
    )


__all__ = [
    "BATCH_COLUMNS",
    "BLIND_HIDDEN",
    "DECISIONS",
    "DEFAULT_FIELDS",
    "LABEL_COLUMNS",
    "SECRET_BYTES",
    "batch_explanations",
    "check_code",
    "check_review_sheet",
    "describe_batch",
    "explanations",
    "is_batch_id",
    "level_weights",
    "load_review_sheet",
    "merge_labels",
    "new_batch_id",
    "oracle_decisions",
    "read_labels",
    "read_review_sheet",
    "review_sheet",
    "select_for_review",
    "sheet_batch",
    "training_pairs",
    "undefuse",
    "valid_batch",
    "write_labels",
    "write_review_sheet",
]
