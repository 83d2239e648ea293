"""A standing reliability suite (issue 13): a corpus of hostile inputs generated here,
run through every command that reads files, and faults injected into link runs.

Each hostile input either exits 2 with one line naming the file (never 1, never a
traceback) or, when it is readable but dirty, succeeds with every input row in
exactly one output. Nothing printed holds a NIK-like number or a name from the
input. A run killed at any point leaves no folder a reader accepts, and leaves a
finished run in that folder as it was; two runs into one folder: one wins.

The corpus and the checks live in ``reliability_cases.py``, shared with
``benchmarks/bench_reliability.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from reliability_cases import (
    ALL,
    CASES,
    KNOWN_BUGS,
    Inputs,
    build_inputs,
    fault_scenarios,
    run_case,
)

from bansos_linkage.errors import InputError
from bansos_linkage.io import read_table, write_table
from bansos_linkage.runs.link import read_run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Inputs:
    return build_inputs(tmp_path_factory.mktemp("reliability"))


def _params():
    for case in CASES:
        for role in case.roles:
            marks = []
            if (case.name, role) in KNOWN_BUGS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case.name, role]))
            yield pytest.param(case, role, id=f"{case.name}-{role}", marks=marks)


@pytest.mark.parametrize(("case", "role"), list(_params()))
def test_hostile_input(inputs, case, role, tmp_path):
    outcome = run_case(case, role, tmp_path, inputs)
    assert outcome.handled, "\n".join(outcome.problems) + f"\nstderr: {outcome.err[-800:]}"
    assert "internal error" not in outcome.err and "Traceback" not in outcome.err


@pytest.mark.parametrize("fault", [pytest.param(f, id=name) for name, f in fault_scenarios()])
def test_injected_fault(inputs, fault, tmp_path):
    outcome = fault(inputs, tmp_path)
    assert outcome.survived, f"{outcome.name}: " + "; ".join(outcome.problems)


def test_the_corpus_covers_every_command_that_reads_files():
    """A new reading command (or role) must join the corpus."""
    roles = {role for case in CASES for role in case.roles}
    assert roles == set(ALL) and len(ALL) == 7  # every reading role has its cases
    assert len(CASES) >= 15 and any(c.dirty for c in CASES)


def test_a_table_concatenated_from_an_empty_one_is_written_whole(tmp_path):
    """link's rejected.csv is the left rows then the right ones; with none on the left
    pyarrow's CSV writer wrote memory garbage (NUL bytes, pieces of other tables) in
    place of the right's rows (found by the "rows without an id" case)."""
    text = pd.StringDtype()
    empty = pd.DataFrame(
        {
            "side": pd.Series([], dtype=text),
            "row": pd.Series([], dtype=int),
            "record_id": pd.Series([], dtype=text),
        }
    )
    some = pd.DataFrame(
        {
            "side": pd.Series(["right"] * 3, dtype=text),
            "row": [2, 5, 9],
            "record_id": pd.Series([None, "R1", "R2"], dtype=text),
        }
    )
    table = pd.concat([empty, some], ignore_index=True)
    path = write_table(table, tmp_path / "rejected.csv")
    assert b"\x00" not in path.read_bytes()
    back = read_table(path)
    assert back["side"].tolist() == ["right"] * 3 and back["row"].tolist() == ["2", "5", "9"]
    assert back["record_id"].tolist()[1:] == ["R1", "R2"] and pd.isna(back["record_id"][0])


def test_utf16_and_binary_csv_are_told_apart(tmp_path):
    """A spreadsheet's "Unicode text" (UTF-16 with a byte-order mark) is read; bytes with
    NULs under a .csv name are refused as binary, not read as cp1252 garbage."""
    unicode_text = tmp_path / "u.csv"
    unicode_text.write_bytes("id\tnama\n007\tJos\u00e9\n".encode("utf-16"))
    assert read_table(unicode_text).to_dict("list") == {"id": ["007"], "nama": ["Jos\u00e9"]}
    garbage = tmp_path / "g.csv"
    garbage.write_bytes(b"id,nama\n1,\x00\x9f\xff\x02\n")
    with pytest.raises(InputError, match="binary data") as err:
        read_table(garbage)
    assert err.value.file == str(garbage)
    garbage.write_bytes(b"\x00\x01id,nama\n")  # a NUL in the header line
    with pytest.raises(InputError, match="binary data"):
        read_table(garbage)
    cell = tmp_path / "cell.csv"  # but a NUL in a UTF-8 cell is data (test_io round trip)
    cell.write_bytes(b"id,nama\n1,a\x00b\n")
    assert read_table(cell)["nama"].tolist() == ["a\x00b"]


def test_the_shared_run_folder_is_untouched_by_the_corpus(inputs):
    """The cases read the finished run (review import, evaluate) without changing it."""
    run = read_run(inputs.run)
    assert len(run.links) == inputs.link_run.result.summary["links"]
    assert not (Path(inputs.run) / "labels.csv").exists()
    with pytest.raises(InputError):
        read_run(inputs.folder)  # and a folder that is no run is refused
