"""The hostile-input corpus and the fault injections of the reliability suite (issue 13).

Shared by ``tests/test_reliability.py`` (one test per case and command) and
``benchmarks/bench_reliability.py`` (the counts in RESULTS.md), so that both run
exactly the same corpus.

Every case writes one file (or leaves a path that is not a file) in place of one
input of one command, derived from small valid synthetic inputs, and runs the
command line in-process. A *bad* input must exit 2 with one ``error:`` line naming
the file; a *dirty* one (readable, but in an odd encoding, with odd line endings,
odd ids or an enormous cell) must exit 0 and lose no row. Whatever happens, no
NIK-like number and no name from the inputs may be printed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

REFERENCE_DATE = "2026-01-01"
NIK_LIKE = re.compile(r"(?<!\d)\d{16}(?!\d)")
BIG_CELL = 10 * 1024 * 1024  # characters in the "10 MB cell"
SPECIAL_IDS = ("007", "NA", "1E5", "0012", "1e5")  # must come out as the same text


# -- inputs ---------------------------------------------------------------------------


@dataclass
class Base:
    """One input of one command: the valid table it is derived from."""

    table: pd.DataFrame  # text, "" for empty
    id_column: str  # whose values the ids case replaces
    text_column: str  # a free-text column: line breaks, the big cell, accents
    role: str = ""


@dataclass
class Inputs:
    folder: Path
    bases: dict[str, Base]
    files: dict[str, Path]  # the valid inputs as files
    run: Path  # a finished link run folder (review import, evaluate, fault injection)
    link_run: object  # its LinkRun, to write it again
    names: list[re.Pattern] = field(default_factory=list)  # personal names in the inputs


def _text(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype("string").fillna("").astype(object)


def build_inputs(folder: Path) -> Inputs:
    """Small valid inputs (60 synthetic households), a link run and a review sheet."""
    from bansos_linkage.evaluation import read_truth
    from bansos_linkage.runs.link import link_files
    from bansos_linkage.runs.review import export_review
    from bansos_linkage.synthetic import generate, scenario

    folder.mkdir(parents=True, exist_ok=True)
    data = generate(scenario("default", households=60, seed=1))
    files = {}
    dtks, regsosek = _text(data.registers["dtks"]), _text(data.registers["regsosek"])
    households = data.households.drop(columns=["per_capita_expenditure"])
    households = _text(households.assign(desil=[i % 10 + 1 for i in range(len(households))]))
    members = _text(data.persons[data.persons["present_now"]])
    for name, table in (("dtks", dtks), ("regsosek", regsosek)):
        files[name] = folder / f"{name}.csv"
        table.to_csv(files[name], index=False)
        data.truth[name].to_csv(folder / f"truth_{name}.csv", index=False)
    for name, table in (("households", households), ("members", members)):
        files[name] = folder / f"{name}.csv"
        table.to_csv(files[name], index=False)
    truth = read_truth(folder / "truth_dtks.csv", folder / "truth_regsosek.csv")
    truth = _text(truth.reset_index(drop=True).assign(note="checked"))
    files["truth"] = folder / "truth.csv"
    truth.to_csv(files["truth"], index=False)
    run = folder / "run"
    link_run = link_files(
        files["dtks"],
        files["regsosek"],
        "dtks",
        "regsosek",
        run,
        reference_date=pd.Timestamp(REFERENCE_DATE).date(),
    )
    files["sheet"] = folder / "sheet.csv"
    export_review(run, files["sheet"], 12, random_share=0.0)
    sheet = pd.read_csv(files["sheet"], dtype=str, keep_default_na=False)
    sheet["decision"] = ["match", "non_match", "unsure"] * (len(sheet) // 3) + ["match"] * (
        len(sheet) % 3
    )
    sheet.to_csv(files["sheet"], index=False)
    free = "note" if "note" in sheet else "decision"
    bases = {
        "standardise": Base(dtks, "ID DTKS", "ALAMAT"),
        "link-left": Base(dtks, "ID DTKS", "ALAMAT"),
        "link-right": Base(regsosek, "id_art", "alamat"),
        "score-households": Base(households, "household_id", "floor_material"),
        "score-members": Base(members, "person_id", "full_name"),
        "review-import": Base(sheet, "pair", free),
        "evaluate": Base(truth, "left_id", "note"),
    }
    for role, base in bases.items():
        base.role = role
    names = set()
    for table, column in ((dtks, "NAMA"), (regsosek, "nama"), (members, "full_name")):
        names |= {v for v in table[column] if len(v) >= 5}
    patterns = [re.compile(rf"(?<![A-Z]){re.escape(v)}(?![A-Z])") for v in sorted(names)]
    return Inputs(folder, bases, files, run, link_run, patterns)


# -- the hostile files ----------------------------------------------------------------


def _rows(table: pd.DataFrame, header: list[str] | None = None) -> list[str]:
    """The header and each row as one CSV record (quoted where needed), no line end."""
    out = []
    for row in [header or list(table.columns), *table.to_numpy().tolist()]:
        buf = io.StringIO()  # CR and LF in the terminator: cells holding them are quoted
        csv.writer(buf, lineterminator="\r\n").writerow(row)
        out.append(buf.getvalue().removesuffix("\r\n"))
    return out


def _csv_bytes(table: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    return ("\n".join(_rows(table)) + "\n").encode(encoding)


# the file to give, extra options, and the table written when it is readable
Made = tuple[Path, list[str], pd.DataFrame | None]


def empty(base: Base, path: Path) -> Made:
    path.write_bytes(b"")
    return path, [], None


def header_only(base: Base, path: Path) -> Made:
    path.write_bytes(_csv_bytes(base.table.head(0)))
    return path, [], base.table.head(0)


def binary_garbage(base: Base, path: Path) -> Made:
    path.write_bytes(random.Random(13).randbytes(8192))
    return path, [], None


def truncated_parquet(base: Base, path: Path) -> Made:
    path = path.with_suffix(".parquet")
    base.table.to_parquet(path, index=False)
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 6 // 10])
    return path, [], None


def _workbook(base: Base, path: Path, *, notes_first: bool) -> Path:
    from openpyxl import Workbook

    path = path.with_suffix(".xlsx")
    book = Workbook()
    sheet = book.active
    if notes_first:
        sheet.title = "Catatan"
        sheet.append(["Diekspor dari aplikasi, jangan diubah"])
        sheet = book.create_sheet("Data")
    else:
        sheet.title = "Data"
    sheet.append(list(base.table.columns))
    for row in base.table.to_numpy().tolist():
        sheet.append(row)
    book.save(path)
    return path


def excel_wrong_sheet(base: Base, path: Path) -> Made:
    """--sheet names a sheet the workbook lacks (standardise); elsewhere the data sit on
    the second sheet while the first (read by default) is a note."""
    if base.role == "standardise":
        return _workbook(base, path, notes_first=False), ["--sheet", "Sheet9"], None
    return _workbook(base, path, notes_first=True), [], None


def duplicate_headers(base: Base, path: Path) -> Made:
    header = list(base.table.columns)
    header[-1] = header[0]
    path.write_bytes(("\n".join(_rows(base.table, header)) + "\n").encode())
    return path, [], None


def unknown_columns(base: Base, path: Path) -> Made:
    header = [f"kolom_{i}" for i in range(len(base.table.columns))]
    path.write_bytes(("\n".join(_rows(base.table, header)) + "\n").encode())
    return path, [], None


def ragged_row(base: Base, path: Path) -> Made:
    """Row 5 (spreadsheet numbering) has two cells too many: an unquoted comma."""
    lines = _rows(base.table)
    lines[4] += ",EXTRA,CELLS"
    path.write_bytes(("\n".join(lines) + "\n").encode())
    return path, [], None


def a_directory(base: Base, path: Path) -> Made:
    path.mkdir()
    return path, [], None


def missing(base: Base, path: Path) -> Made:
    return path, [], None


def utf8_bom(base: Base, path: Path) -> Made:
    path.write_bytes(b"\xef\xbb\xbf" + _csv_bytes(base.table))
    return path, [], base.table


def utf16(base: Base, path: Path) -> Made:
    path.write_bytes(_csv_bytes(base.table, "utf-16"))  # with its byte-order mark
    return path, [], base.table


def _with_text(base: Base, values: dict[int, str]) -> pd.DataFrame:
    table = base.table.copy()
    col = table.columns.get_loc(base.text_column)
    for row, value in values.items():
        table.iat[row, col] = value
    return table


def cp1252(base: Base, path: Path) -> Made:
    accents = {
        1: "Jl. \u201cMawar\u201d No. 5",
        2: "Gg. Jos\u00e9 \u2013 RT 03",
        4: "D\u00e9sa \u00c1gus",
    }
    table = _with_text(base, accents)
    path.write_bytes(_csv_bytes(table, "cp1252"))
    return path, [], table


def mixed_line_endings(base: Base, path: Path) -> Made:
    """Rows ending in CRLF and LF by turns; cells holding a bare CR, CRLF and LF."""
    breaks = {1: "JL. MAWAR\rNO 5", 2: "BLOK A\r\nNO 7", 3: "DUSUN\nKRAJAN", 5: "\rRT 1\r"}
    table = _with_text(base, breaks)
    lines = _rows(table)
    text = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(lines))
    path.write_bytes(text.encode())
    return path, [], table


def big_cell(base: Base, path: Path) -> Made:
    words = "JALAN MAWAR GANG BUNTU "
    cell = (words * (BIG_CELL // len(words) + 1))[:BIG_CELL]
    table = _with_text(base, {3: cell})
    path.write_bytes(_csv_bytes(table))
    return path, [], table


def text_ids(base: Base, path: Path) -> Made:
    table = base.table.copy()
    col = table.columns.get_loc(base.id_column)
    for row, value in enumerate(SPECIAL_IDS):
        table.iat[row, col] = value
    path.write_bytes(_csv_bytes(table))
    return path, [], table


def missing_ids(base: Base, path: Path) -> Made:
    """Two rows with an empty id cell: rejected with a reason, not dropped (and one
    register with rejected rows, the other without: their rejected.csv is one table)."""
    table = base.table.copy()
    col = table.columns.get_loc(base.id_column)
    for row in (2, 5):
        table.iat[row, col] = ""
    path.write_bytes(_csv_bytes(table))
    return path, [], table


def strangers(base: Base, path: Path) -> Made:
    """A register of other people (another seed): nobody to link, everyone unlinked."""
    from bansos_linkage.synthetic import generate, scenario

    name = "dtks" if base.role == "link-left" else "regsosek"
    table = _text(generate(scenario("default", households=20, seed=99)).registers[name])
    path.write_bytes(_csv_bytes(table))
    return path, [], table


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[Base, Path], Made]
    dirty: bool  # readable: must succeed losing no row; else must exit 2 naming the file
    roles: tuple[str, ...]
    said: tuple[str, ...] = ()  # words the error line must hold besides the file name
    readable_in: tuple[str, ...] = ()  # roles where it counts as dirty, not bad
    why: str = ""  # why it is readable there

    def dirty_in(self, role: str) -> bool:
        return self.dirty or role in self.readable_in


ALL = (
    "standardise",
    "link-left",
    "link-right",
    "score-households",
    "score-members",
    "review-import",
    "evaluate",
)
NO_SHEET = tuple(r for r in ALL if r != "review-import")  # a sheet's ids are checked

CASES = [
    Case("empty file", empty, False, ALL, ("empty",)),
    Case("header only", header_only, False, ALL),
    Case("binary garbage .csv", binary_garbage, False, ALL),
    Case("truncated parquet", truncated_parquet, False, ALL, ("Parquet",)),
    Case("excel wrong sheet", excel_wrong_sheet, False, ALL),
    Case("duplicate headers", duplicate_headers, False, ALL, ("row 1", "duplicate")),
    Case("only unknown columns", unknown_columns, False, ALL),
    Case("a row with extra cells", ragged_row, False, ALL, ("line 5",)),
    Case("a directory", a_directory, False, ALL, ("folder",)),
    Case("missing file", missing, False, ALL, ("not found",)),
    Case("utf-8 BOM", utf8_bom, True, ALL),
    Case("utf-16", utf16, True, ALL),
    Case("cp1252 bytes", cp1252, True, NO_SHEET),
    Case("mixed line endings", mixed_line_endings, True, NO_SHEET),
    Case("10 MB cell", big_cell, True, NO_SHEET),
    Case("ids 007 / NA / 1E5", text_ids, True, NO_SHEET),
    Case("rows without an id", missing_ids, True, NO_SHEET),
    Case("no one in common", strangers, True, ("link-left", "link-right")),
]

#: (case, role) that show a bug not fixed here (outside this suite's files): why
# cases a known bug still fails (marked xfail(strict=True) by the tests): none now
KNOWN_BUGS: dict[tuple[str, str], str] = {}


# -- running a case -------------------------------------------------------------------


def argv(role: str, file: Path, work: Path, inputs: Inputs) -> list[str]:
    f, ref = inputs.files, ["--reference-date", REFERENCE_DATE]
    link = ["--left-schema", "dtks", "--right-schema", "regsosek", "--out", str(work / "run")]
    return {
        "standardise": ["standardise", str(file), "--schema", "dtks", "--out", str(work / "o.csv")],
        "link-left": ["link", str(file), str(f["regsosek"]), *link, *ref],
        "link-right": ["link", str(f["dtks"]), str(file), *link, *ref],
        "score-households": ["score", str(file), str(f["members"]), "--out", str(work / "s"), *ref],
        "score-members": ["score", str(f["households"]), str(file), "--out", str(work / "s"), *ref],
        "review-import": [
            *("review", "import", str(inputs.run), str(file)),
            *("--labels", str(work / "labels.csv")),
        ],
        "evaluate": ["evaluate", str(inputs.run), "--truth", str(file), "--out", str(work / "e")],
    }[role]


@dataclass
class Outcome:
    case: str
    role: str
    dirty: bool
    code: int
    out: str
    err: str
    problems: list[str]

    @property
    def handled(self) -> bool:
        return not self.problems


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """main(args) in this process: exit code, stdout, stderr (and the library's log)."""
    from bansos_linkage.cli import main

    out, err = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(err)
    logger = logging.getLogger("bansos_linkage")
    logger.addHandler(handler)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(args)
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        logger.removeHandler(handler)
    return code, out.getvalue(), err.getvalue()


def run_case(case: Case, role: str, work: Path, inputs: Inputs) -> Outcome:
    """Write the case's file for ``role`` in ``work``, run the command, check it."""
    work.mkdir(parents=True, exist_ok=True)
    base = inputs.bases[role]
    path, extra, written = case.make(base, work / f"{role}-input.csv")
    code, out, err = run_cli([*argv(role, path, work, inputs), *extra])
    problems = _private_data(out + err, inputs)
    dirty = case.dirty_in(role)
    if dirty:
        if code != 0:
            problems.append(f"exit {code}, expected 0: {_errors(err)}")
        else:
            try:
                problems += _rows_accounted(role, base, written, work, out)
            except Exception as exc:  # an output the library cannot read back
                problems.append(f"outputs not readable: {type(exc).__name__}: {exc}"[:300])
    else:
        problems += _refusal(code, err, path, case.said)
    return Outcome(case.name, role, dirty, code, out, err, problems)


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line]


def _private_data(text: str, inputs: Inputs) -> list[str]:
    problems = [f"a NIK-like number printed: {m[:4]}..." for m in NIK_LIKE.findall(text)[:1]]
    for pattern in inputs.names:
        if pattern.search(text):
            problems.append("a name from the input printed")
            break
    return problems


def _refusal(code: int, err: str, path: Path, said: tuple[str, ...]) -> list[str]:
    problems = []
    if code != 2:
        problems.append(f"exit {code}, expected 2: {_errors(err)}")
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    if len(errors) != 1:
        return [*problems, f"{len(errors)} error lines, expected one: {err[-300:]!r}"]
    line = errors[0]
    if path.name not in line:
        problems.append(f"the file is not named: {line}")
    problems += [f"{word!r} not said: {line}" for word in said if word not in line]
    if len(line) > 600:
        problems.append(f"an error line of {len(line)} characters")
    return problems


def _rows_accounted(role: str, base: Base, table: pd.DataFrame, work: Path, out: str) -> list[str]:
    """Every row of ``table`` (as written) in exactly one output, odd ids kept as text."""
    from bansos_linkage.io import read_table

    n = len(table)
    problems = []
    if role == "standardise":
        records = read_table(work / "o.csv")
        rejected = read_table(work / "o.rejected.csv")
        if len(records) + len(rejected) != n:
            problems.append(f"{n} rows in, {len(records)} records + {len(rejected)} rejected")
        ids = set(records["record_id"].dropna()) | set(rejected["record_id"].dropna())
    elif role.startswith("link"):
        side = role.split("-")[1]
        summary = json.loads((work / "run" / "summary.json").read_text())
        parts = [summary[f"{what}_{side}"] for what in ("linked", "unlinked", "rejected")]
        if sum(parts) != n or summary[f"input_{side}"] != n:
            problems.append(f"{n} rows in, linked/unlinked/rejected {parts}")
        links = read_table(work / "run" / "links.csv")
        unlinked = read_table(work / "run" / f"unlinked_{side}.csv")
        rejected = read_table(work / "run" / "rejected.csv")
        for other in ("left", "right"):
            listed = int((rejected["side"] == other).sum())
            if listed != summary[f"rejected_{other}"]:
                problems.append(
                    f"rejected.csv lists {listed} {other} rows, summary.json "
                    f"{summary[f'rejected_{other}']}"
                )
        ids = (
            set(links[f"{side}_id"].dropna())
            | set(unlinked["record_id"].dropna())
            | set(rejected.loc[rejected["side"] == side, "record_id"].dropna())
        )
    elif role.startswith("score"):
        scored = read_table(work / "s" / "households.csv")
        problems_table = read_table(work / "s" / "problems.csv")
        rejected = problems_table[problems_table["rejected"].str.lower() == "true"]
        name = base.id_column
        if role == "score-households":
            dropped = rejected[rejected["file"].str.endswith("households-input.csv")]
            kept = len(scored)
        else:
            dropped = rejected[rejected["file"].str.endswith("members-input.csv")]
            persons = work / "s" / "persons.csv"
            kept = len(read_table(persons)) if persons.exists() else 0
        dropped_rows = dropped["row"].nunique()
        if kept + dropped_rows != n:
            problems.append(f"{n} rows in, {kept} scored + {dropped_rows} rejected")
        ids = set(scored.get(name, pd.Series(dtype=str)).dropna()) | set(dropped["id"].dropna())
        if role == "score-members" and (work / "s" / "persons.csv").exists():
            persons = read_table(work / "s" / "persons.csv")
            ids |= set(persons.get(name, pd.Series(dtype=str)).dropna())
    elif role == "review-import":
        said = re.search(r"^(\d+) decisions read", out, re.M)
        if not said or int(said.group(1)) != n:
            problems.append(f"{n} rows in, output says {said and said.group(0)!r}")
        return problems
    else:  # evaluate
        said = re.search(r"^([\d,]+) true pairs", out, re.M)
        both = table[(table["left_id"] != "") & (table["right_id"] != "")]
        pairs = len(both[["left_id", "right_id"]].drop_duplicates())
        if not said or int(said.group(1).replace(",", "")) != pairs:
            problems.append(f"{pairs} pairs in, output says {said and said.group(0)!r}")
        return problems
    if n and table[base.id_column].iloc[0] == SPECIAL_IDS[0]:  # the ids case
        lost = [v for v in SPECIAL_IDS if v not in ids]
        if lost:
            problems.append(f"ids not kept as written: {lost}")
    return problems


# -- fault injection --------------------------------------------------------------------


@dataclass
class FaultOutcome:
    name: str
    problems: list[str]

    @property
    def survived(self) -> bool:
        return not self.problems


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def readers_refuse(folder: Path, work: Path) -> list[str]:
    """Problems when any reader accepts ``folder`` (absent is fine: nothing to read)."""
    from bansos_linkage.errors import InputError
    from bansos_linkage.runs.evaluate import evaluate_run
    from bansos_linkage.runs.link import read_run
    from bansos_linkage.runs.review import export_review

    if not folder.exists():
        return []
    truth = pd.DataFrame({"left_id": ["x"], "right_id": ["y"]})
    readers = {
        "read_run": lambda: read_run(folder),
        "evaluate_run": lambda: evaluate_run(folder, truth, work / "eval"),
        "export_review": lambda: export_review(folder, work / "sheet.csv", 5),
    }
    problems = []
    for name, read in readers.items():
        try:
            read()
        except InputError:
            continue
        problems.append(f"{name} accepted a broken folder")
    return problems


def check_intact(folder: Path, before: dict[str, bytes], *, lock: bool = True) -> list[str]:
    """The finished run is still there, byte for byte, verifies and reads back (and,
    with ``lock``, no lock is left: a killed process leaves one for the next to clear)."""
    from bansos_linkage.runs import lock_path, verify_run
    from bansos_linkage.runs.link import read_run

    if not folder.is_dir():
        return ["the finished run folder is gone"]
    problems = []
    if snapshot(folder) != before:
        problems.append("the finished run's files changed")
    try:
        verify_run(folder)
        read_run(folder)
    except Exception as exc:  # reported, not raised: the caller counts
        problems.append(f"the finished run no longer reads: {exc}")
    if lock and lock_path(folder).exists():
        problems.append("a lock was left behind")
    return problems


FAULT_FILES = (1, 4, 8)  # write_table calls of a link run: links.csv ... records_right


def fault_in_writer(inputs: Inputs, work: Path, k: int, *, existing: bool) -> FaultOutcome:
    """The k-th table a link run writes raises (a full disk, a crash): into a new
    folder nothing appears; into a finished run's folder the run stays as it was."""
    import bansos_linkage.runs.link as pipeline

    name = f"writer fails at file {k} ({'over a finished run' if existing else 'new folder'})"
    target = work / "run"
    if existing:
        shutil.copytree(inputs.run, target)
    before = snapshot(target) if existing else {}
    real, calls = pipeline.write_table, []

    def failing(df, path, **kwargs):
        calls.append(path)
        if len(calls) == k:
            raise OSError(28, "No space left on device", str(path))
        return real(df, path, **kwargs)

    pipeline.write_table = failing
    try:
        pipeline.write_link_outputs(inputs.link_run, target)
    except OSError:
        pass
    else:
        return FaultOutcome(name, [f"the run finished: only {len(calls)} tables written"])
    finally:
        pipeline.write_table = real
    problems = check_intact(target, before) if existing else readers_refuse(target, work)
    if not existing and target.exists():
        problems.append("a folder appeared")
    leftovers = [p.name for p in target.parent.iterdir() if p.name.startswith(".")]
    if leftovers:
        problems.append(f"left beside the folder: {leftovers}")
    return FaultOutcome(name, problems)


def fault_in_manifest(inputs: Inputs, work: Path) -> FaultOutcome:
    """The run dies while writing the manifest (every table written)."""
    import bansos_linkage.runs.folders as runs

    target = work / "run"
    shutil.copytree(inputs.run, target)
    before = snapshot(target)
    real = runs.write_manifest

    def failing(*args, **kwargs):
        raise KeyboardInterrupt

    runs.write_manifest = failing
    try:
        from bansos_linkage.runs.link import write_link_outputs

        write_link_outputs(inputs.link_run, target)
    except KeyboardInterrupt:
        pass
    finally:
        runs.write_manifest = real
    return FaultOutcome("killed writing the manifest", check_intact(target, before))


def _restored(target: Path, before: dict[str, bytes]) -> list[str]:
    """The finished run intact at ``target``, or (killed between moving it aside and
    renaming the new one into place) put back whole by the next run into the folder."""
    from bansos_linkage.runs import atomic_folder
    from bansos_linkage.runs.link import OUTPUT_FILES

    if not target.exists():
        aside = [p for p in target.parent.iterdir() if p.name.endswith(".old")]
        if len(aside) != 1 or snapshot(aside[0]) != before:
            return ["the finished run is gone and not kept aside whole"]
        with contextlib.suppress(RuntimeError), atomic_folder(target, outputs=OUTPUT_FILES):
            raise RuntimeError("the next run, interrupted at once")
    return check_intact(target, before, lock=False)


def fault_between_renames(inputs: Inputs, work: Path) -> FaultOutcome:
    """A process killed (os._exit) just after moving the finished run aside, before
    renaming its new folder into place: readers find no folder (exit 2, not the half
    one), and the next run into the folder puts the finished run back whole."""
    target = work / "run"
    shutil.copytree(inputs.run, target)
    before = snapshot(target)
    code = (
        "import os, sys\n"
        "from bansos_linkage.runs import atomic_folder\n"
        "rename = os.rename\n"
        "def dies(src, dst, *a, **k):\n"
        "    rename(src, dst, *a, **k)\n"
        "    if str(dst).endswith('.old'):\n"
        "        os._exit(9)\n"
        "os.rename = dies\n"
        "with atomic_folder(sys.argv[1], outputs=['links.csv']) as work:\n"
        "    (work / 'links.csv').write_text('left_id,right_id\\n')\n"
    )
    with _started([sys.executable, "-c", code, str(target)]) as proc:
        proc.wait(60)
    problems = [] if proc.returncode == 9 else [f"the writer was not killed: {proc.returncode}"]
    if target.exists():
        problems.append("the folder is in place: the kill came at another point")
    command = ["review", "export", str(target), "--out", str(work / "x.csv")]
    status, _, err = run_cli(command)
    if status != 2:
        problems.append(f"review export of the missing folder: exit {status}: {_errors(err)}")
    problems += _restored(target, before)
    return FaultOutcome("killed between moving the finished run aside and the swap", problems)


def _link_command(inputs: Inputs, out: Path) -> list[str]:
    f = inputs.files
    return [
        *(sys.executable, "-m", "bansos_linkage", "link", str(f["dtks"]), str(f["regsosek"])),
        *("--left-schema", "dtks", "--right-schema", "regsosek", "--out", str(out)),
        *("--reference-date", REFERENCE_DATE),
    ]


@contextlib.contextmanager
def _started(args: list[str]) -> Iterator[subprocess.Popen]:
    """A process in its own group, killed (with the workers it forked) if still alive."""
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def killed_link(inputs: Inputs, work: Path, when: float | str, *, existing: bool) -> FaultOutcome:
    """``link`` killed with SIGKILL after ``when`` seconds (or as soon as its temporary
    folder appears). Into a finished run's folder: that run is intact (or, had the
    rerun finished first, the new one verifies). Into a new folder: no folder, or a
    whole one. Either way no reader accepts what the dead run left half-written, and
    the next run is not blocked by its lock."""
    from bansos_linkage.runs import folder_lock, verify_run

    label = f"after {when} s" if isinstance(when, float) else "while writing its folder"
    target = work / "run"
    if existing:
        shutil.copytree(inputs.run, target)
    before = snapshot(target) if existing else {}
    finished, problems = False, []
    with _started(_link_command(inputs, target)) as proc:
        start = time.monotonic()
        while time.monotonic() - start < 60:
            if proc.poll() is not None:
                finished = proc.returncode == 0
                if not finished:
                    problems.append(f"link failed by itself: exit {proc.returncode}")
                break
            if isinstance(when, float) and time.monotonic() - start >= when:
                break
            if when == "partial" and any(p.suffix == ".partial" for p in work.iterdir()):
                break
            time.sleep(0.01)
    halves = [p for p in work.iterdir() if p.is_dir() and p.suffix == ".partial"]
    for half in halves:  # someone may point a reader at the dead run's temporary folder
        problems += [f"{half.name}: {p}" for p in readers_refuse(half, work / "readers")]
    replaced = False
    if finished:
        try:
            verify_run(target)
        except Exception as exc:
            problems.append(f"the finished rerun does not verify: {exc}")
    elif existing and target.is_dir() and snapshot(target) != before:
        # killed after the new folder was renamed into place: it must be whole
        replaced = True
        try:
            verify_run(target)
        except Exception as exc:
            problems.append(f"the folder is neither the finished run nor a whole new one: {exc}")
    elif existing:
        problems += _restored(target, before)
    elif target.exists():
        problems.append("a folder appeared although the run was killed")
    if existing:  # the next command on the folder is not blocked by the dead run's lock
        code, _, err = run_cli(["review", "export", str(target), "--out", str(work / "x.csv")])
        if code != 0:
            problems.append(f"review export after the kill: exit {code}: {_errors(err)}")
    else:
        try:
            with folder_lock(target):
                pass
        except Exception as exc:
            problems.append(f"the folder stays locked after the kill: {exc}")
    into = "a finished run's folder" if existing else "a new folder"
    name = f"link into {into} killed {label}" + (" (had finished)" if finished else "")
    if replaced:
        name += " (the new run was already in place)"
    if halves:
        name += "; its half-written folder refused by every reader"
    return FaultOutcome(name, problems)


def concurrent_links(inputs: Inputs, work: Path) -> FaultOutcome:
    """Two ``link`` processes into one folder at once: one succeeds, the other exits 2
    saying another run is writing; the folder verifies."""
    from bansos_linkage.runs import lock_path, verify_run

    target, go = work / "run", work / "go"
    # both import everything first and say so, then start together when "go" appears,
    # so that they overlap however slow the machine (python -m bansos_linkage link,
    # otherwise)
    code = (
        "import sys, time, pathlib\n"
        "from bansos_linkage import cli  # noqa: F401\n"
        "from bansos_linkage.runs import link  # noqa: F401\n"
        "from bansos_linkage.linkage import linker  # noqa: F401\n"
        "cli.build_parser()\n"
        "pathlib.Path(sys.argv[2]).touch()\n"
        "go = pathlib.Path(sys.argv[1])\n"
        "while not go.exists():\n"
        "    time.sleep(0.005)\n"
        "sys.exit(cli.main(sys.argv[3:]))\n"
    )
    ready = [work / "ready_a", work / "ready_b"]
    rest = _link_command(inputs, target)[3:]
    first = [sys.executable, "-c", code, str(go), str(ready[0]), *rest]
    second = [sys.executable, "-c", code, str(go), str(ready[1]), *rest]
    with _started(first) as a, _started(second) as b:
        deadline = time.monotonic() + 120
        while not all(r.exists() for r in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        results = [p.communicate(timeout=120) for p in (a, b)]
        codes = sorted(p.returncode for p in (a, b))
    problems = []
    if codes != [0, 2]:
        problems.append(f"exit codes {codes}, expected one 0 and one 2")
    elif not any("another run" in err for _, err in results):
        problems.append("the refused run does not say another run is writing")
    try:
        verify_run(target)
    except Exception as exc:
        problems.append(f"the folder does not verify: {exc}")
    if lock_path(target).exists():
        problems.append("a lock was left behind")
    return FaultOutcome("two concurrent link runs into one folder", problems)


KILL_POINTS: tuple[float | str, ...] = (0.5, 1.0, 2.0, "partial")


def fault_scenarios() -> list[tuple[str, Callable[[Inputs, Path], FaultOutcome]]]:
    """(id, run) of every fault injected, each to be run in a fresh folder."""
    out: list[tuple[str, Callable[[Inputs, Path], FaultOutcome]]] = []
    for k in FAULT_FILES:
        for existing in (False, True):
            out.append(
                (
                    f"writer-{k}-{'existing' if existing else 'new'}",
                    lambda i, w, k=k, e=existing: fault_in_writer(i, w, k, existing=e),
                )
            )
    out.append(("manifest", fault_in_manifest))
    out.append(("between-renames", fault_between_renames))
    for when in KILL_POINTS:
        for existing in (True, False) if when in (1.0, "partial") else (True,):
            out.append(
                (
                    f"sigkill-{when}-{'existing' if existing else 'new'}",
                    lambda i, w, when=when, e=existing: killed_link(i, w, when, existing=e),
                )
            )
    out.append(("concurrent", concurrent_links))
    return out
