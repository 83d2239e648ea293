"""Run folders are whole or absent, describe themselves, and refuse to be read broken."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from bansos_linkage.errors import InputError, UsageError
from bansos_linkage.io import write_table
from bansos_linkage.runs import (
    MANIFEST,
    atomic_files,
    atomic_folder,
    folder_lock,
    lock_path,
    verify_run,
)
from bansos_linkage.runs.evaluate import evaluate_run
from bansos_linkage.runs.link import (
    OUTPUT_FILES,
    LinkRun,
    link_files,
    read_run,
    write_link_outputs,
)
from bansos_linkage.runs.review import export_review
from bansos_linkage.synthetic import SyntheticData


@pytest.fixture(scope="module")
def linked(tmp_path_factory, make_link_run) -> tuple[LinkRun, Path, SyntheticData]:
    """One small link run written to a folder (a few seconds), and its registers."""
    out = tmp_path_factory.mktemp("base") / "run"
    command = ["bansos-linkage", "link", "dtks.csv", "regsosek.csv", "--out", str(out)]
    run, data = make_link_run(out, seed=1, command=command)
    return run, out, data


@pytest.fixture
def folder(linked, tmp_path):
    """A fresh copy of the finished run folder, to damage."""
    copy = tmp_path / "run"
    shutil.copytree(linked[1], copy)
    return copy


def _siblings(path):
    return sorted(p.name for p in path.parent.iterdir())


def test_a_run_folder_round_trips_with_its_manifest(linked):
    run, out, _ = linked
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    manifest = verify_run(out)
    assert set(manifest["files"]) == set(OUTPUT_FILES) - {MANIFEST}
    assert manifest["command"][:2] == ["bansos-linkage", "link"]
    assert manifest["settings"]["reference_date"] == "2026-01-01"
    assert manifest["settings"]["threshold"] == run.linker.threshold
    assert manifest["library_version"] and manifest["created"].startswith("20")
    for name, entry in manifest["files"].items():
        assert (out / name).stat().st_size == entry["bytes"] and len(entry["sha256"]) == 64
    back = read_run(out)
    pd.testing.assert_frame_equal(
        back.pairs, run.result.pairs.reset_index(drop=True), check_dtype=False
    )
    assert back.links["left_id"].tolist() == run.result.links["left_id"].astype(str).tolist()
    assert back.summary["links"] == run.result.summary["links"]
    assert _siblings(out) == ["run"]  # no lock, no temporary folder left beside it


def _truncate(folder):
    path = folder / "links.csv"
    path.write_bytes(path.read_bytes()[:-40])
    return "links.csv"


def _delete(folder):
    (folder / "records_left.parquet").unlink()
    return "records_left.parquet"


def _unmanifest(folder):
    (folder / MANIFEST).unlink()
    return MANIFEST


def _edit_same_size(folder):
    path = folder / "links.csv"
    text = path.read_bytes()
    cut = text.index(b"\n") + 1  # a digit of the first link, same length
    digit = next(i for i in range(cut, len(text)) if text[i : i + 1].isdigit())
    edited = text[:digit] + (b"1" if text[digit : digit + 1] != b"1" else b"2") + text[digit + 1 :]
    path.write_bytes(edited)
    return "links.csv"


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (_truncate, "truncated or changed"),
        (_delete, "missing"),
        (_unmanifest, "not a finished run folder"),
        (_edit_same_size, "SHA-256 differs"),
    ],
    ids=["truncated", "missing", "no-manifest", "edited"],
)
def test_a_broken_run_folder_is_refused_naming_the_file(folder, damage, said, tmp_path):
    name = damage(folder)
    with pytest.raises(InputError, match=said) as err:
        read_run(folder)
    assert err.value.file == str(folder / name) and name in str(err.value)
    # so review export and evaluation refuse it too, before writing anything
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        export_review(folder, tmp_path / "sheet.csv", 5)
    truth = pd.DataFrame({"left_id": ["x"], "right_id": ["y"]})
    with pytest.raises(InputError, match=name.replace(".", r"\.")):
        evaluate_run(folder, truth, tmp_path / "evaluation")
    assert not (tmp_path / "sheet.csv").exists() and not (tmp_path / "evaluation").exists()


def test_files_added_by_review_do_not_break_verification_and_survive_a_rerun(linked, folder):
    run = linked[0]
    (folder / "labels.csv").write_text("left_id,right_id,decision\nA,B,match\n")
    (folder / "review").mkdir()
    (folder / "review" / "secret.key").write_bytes(b"k" * 32)
    verify_run(folder)
    assert len(read_run(folder).links) == len(run.result.links)
    # a manifest-listed file changed is still refused
    (folder / "summary.json").write_text("{}")
    with pytest.raises(InputError, match="summary.json"):
        verify_run(folder)
    # linking again into the folder replaces the run, keeps the reviewers' files
    write_link_outputs(run, folder)
    manifest = verify_run(folder)
    assert "labels.csv" not in manifest["files"]
    assert (folder / "labels.csv").read_text().endswith("A,B,match\n")
    assert (folder / "review" / "secret.key").read_bytes() == b"k" * 32
    assert _siblings(folder) == ["run"]


def test_a_link_killed_midway_leaves_no_folder_and_no_partial_files(linked, tmp_path, monkeypatch):
    import bansos_linkage.runs.link as pipeline

    run = linked[0]
    written = []

    def dies_on_pairs(df, path, **kwargs):
        if path.name == "pairs.parquet":
            raise KeyboardInterrupt  # Ctrl-C (or a crash) with half the files written
        written.append(path.name)
        return write_table(df, path, **kwargs)

    monkeypatch.setattr(pipeline, "write_table", dies_on_pairs)
    target = tmp_path / "new" / "run"
    with pytest.raises(KeyboardInterrupt):
        write_link_outputs(run, target)
    assert "links.csv" in written and not target.exists()
    assert list(target.parent.iterdir()) == []  # no partial folder, no lock


def test_an_interrupted_rerun_leaves_the_finished_run_intact(folder):
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(RuntimeError), atomic_folder(folder, outputs=OUTPUT_FILES) as work:
        (work / "links.csv").write_text("left_id,right_id\n")
        raise RuntimeError("killed")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    verify_run(folder)
    assert _siblings(folder) == ["run"]


def test_leftovers_of_a_killed_process_are_cleaned_up(folder):
    partial = folder.parent / f".{folder.name}.0badc0de.partial"
    partial.mkdir()
    (partial / "links.csv").write_text("half")
    other = folder.parent / f".{folder.name}.v2.0badc0de.partial"  # another folder's
    other.mkdir()
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    lock_path(folder).write_text(f"{int(dead.stdout)} {socket.gethostname()}\n")
    with atomic_folder(folder, outputs=OUTPUT_FILES) as work:
        (work / "links.csv").write_text("left_id,right_id\n")
    assert _siblings(folder) == [other.name, "run"]
    assert (folder / "links.csv").read_text() == "left_id,right_id\n"
    assert verify_run(folder)["files"].keys() == {"links.csv"}


def test_a_second_concurrent_run_into_the_same_folder_fails_clearly(linked, tmp_path):
    run, _, data = linked
    target = tmp_path / "run"
    inside, release = threading.Event(), threading.Event()

    def first_run():
        with atomic_folder(target, outputs=OUTPUT_FILES) as work:
            (work / "links.csv").write_text("left_id,right_id\n")
            inside.set()
            release.wait(10)

    first = threading.Thread(target=first_run)
    first.start()
    try:
        assert inside.wait(10)
        with pytest.raises(UsageError, match="another run .* is writing into this folder"):
            write_link_outputs(run, target)
        # link_files refuses at once, before reading or linking anything
        with pytest.raises(UsageError, match="another run"):
            link_files(data.registers["dtks"], None, "dtks", "regsosek", target)
    finally:
        release.set()
        first.join()
    assert verify_run(target)["files"].keys() == {"links.csv"}  # the first run's, unmixed
    assert not lock_path(target).exists()


def test_a_lock_held_by_another_process_names_it(tmp_path):
    target = tmp_path / "run"
    with folder_lock(target) as lock:
        holder = lock.read_text().split()[0]
        code = (
            "import sys\nfrom bansos_linkage.runs import folder_lock\n"
            "try:\n    with folder_lock(sys.argv[1]): pass\n"
            "except Exception as exc:\n    print(exc)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, str(target)], text=True, capture_output=True, check=True
        ).stdout
    assert f"process {holder}" in out and "delete the lock file" in out


def test_a_folder_of_other_files_is_not_replaced(linked, tmp_path):
    notes = tmp_path / "documents"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not a run's outputs"):
        write_link_outputs(linked[0], notes)
    assert [p.name for p in notes.iterdir()] == ["notes.txt"]


def test_atomic_files_replace_all_or_none(tmp_path):
    a, b = tmp_path / "x.csv", tmp_path / "x.report.csv"
    a.write_text("old a")
    with pytest.raises(RuntimeError), atomic_files(a, b) as (ta, tb):
        ta.write_text("new a")
        raise RuntimeError("killed")
    assert a.read_text() == "old a" and not b.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]
    with atomic_files(a, b) as (ta, tb):
        assert ta.suffix == ".csv"  # write_table picks the format by the suffix
        ta.write_text("new a")
        tb.write_text("new b")
    assert a.read_text() == "new a" and b.read_text() == "new b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "x.report.csv"]


def test_manifest_json_is_plain_json_and_lists_subfolders(tmp_path):
    with atomic_folder(tmp_path / "out", settings={"day": dt.date(2026, 1, 2)}) as work:
        (work / "plots").mkdir()
        (work / "plots" / "a.png").write_bytes(b"png")
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["settings"] == {"day": "2026-01-02"} and "plots/a.png" in manifest["files"]
    (tmp_path / "out" / "plots" / "a.png").write_bytes(b"PNG")
    with pytest.raises(InputError, match="a.png"):
        verify_run(tmp_path / "out")


def test_the_manifest_takes_digests_known_where_files_were_written(tmp_path):
    """A digest given for a file (computed by the worker that encoded it) is listed as
    given, not computed again: a wrong one is listed, and the folder then refused."""
    import hashlib

    digests: dict[Path, str] = {}
    with atomic_folder(tmp_path / "out", digests=digests) as work:
        for name in ("a.bin", "b.bin"):
            (work / name).write_bytes(name.encode())
        digests[work / "a.bin"] = hashlib.sha256(b"a.bin").hexdigest()
        digests[work / "b.bin"] = "0" * 64  # not b.bin's
    files = json.loads((tmp_path / "out" / MANIFEST).read_text())["files"]
    assert files["a.bin"]["sha256"] == hashlib.sha256(b"a.bin").hexdigest()
    assert files["b.bin"] == {"bytes": 5, "sha256": "0" * 64}
    with pytest.raises(InputError, match="b.bin"):
        verify_run(tmp_path / "out")


def test_cli_score_and_standardise_write_whole_outputs(tmp_path, capsys):
    from bansos_linkage import sample_path
    from bansos_linkage.cli import main

    ranked = tmp_path / "ranked.csv"
    ranked.write_text("household_id,desil,size\nR1,1,4\nR2,7,2\nR3,3,\n")
    out = tmp_path / "scored"
    for _ in range(2):  # the second run replaces the first
        assert main(["score", str(ranked), "--out", str(out), "--rules", "sembako"]) == 0
        manifest = verify_run(out)
        assert {"households.csv", "summary.csv", "problems.csv"} <= set(manifest["files"])
        assert manifest["command"]["name"] == "score"
        assert manifest["command"]["options"]["out"] == str(out)
    assert _siblings(out) == ["ranked.csv", "scored"]
    records = tmp_path / "std" / "dtks.csv"
    code = main(
        ["standardise", str(sample_path("dtks")), "--schema", "dtks", "--out", str(records)]
    )
    assert code == 0
    assert sorted(p.name for p in records.parent.iterdir()) == [
        "dtks.csv",
        "dtks.rejected.csv",
        "dtks.report.csv",
    ]
    capsys.readouterr()


def _truth(data: SyntheticData) -> pd.DataFrame:
    from bansos_linkage.evaluation import true_links

    left, right = (data.truth[k].set_index("record_id")["person_id"] for k in ("dtks", "regsosek"))
    return true_links(left, right)


def test_an_evaluation_killed_midway_leaves_the_previous_one_or_none(linked, folder, monkeypatch):
    import bansos_linkage.runs.evaluate as io  # the module that writes the tables

    truth = _truth(linked[2])
    out = folder / "evaluation"

    def dies_on_false_links(df, path, **kwargs):
        if Path(path).name == "false_links.csv":
            raise KeyboardInterrupt  # killed with half the tables written
        return write_table(df, path, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(io, "write_table", dies_on_false_links)
        with pytest.raises(KeyboardInterrupt):
            evaluate_run(folder, truth, out)
    assert not out.exists()  # no half folder: none at all
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    evaluate_run(folder, truth, out)
    assert verify_run(out)["files"].keys() >= {"metrics.csv", "false_links.csv", "calibration.png"}
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with monkeypatch.context() as patch:
        patch.setattr(io, "write_table", dies_on_false_links)
        with pytest.raises(KeyboardInterrupt):
            evaluate_run(folder, truth, out, min_precision=0.9)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the previous, whole
    assert sorted(p.name for p in folder.iterdir() if p.name.startswith(".")) == []
    assert not lock_path(folder).exists() and not lock_path(out).exists()
    verify_run(folder)  # the run folder itself is untouched


def test_evaluate_holds_the_run_folders_lock(linked, folder, tmp_path):
    truth = _truth(linked[2])
    # another live process writing into the run folder (say a link rerun)
    lock_path(folder).write_text(f"{os.getpid()} {socket.gethostname()}-elsewhere\n")
    with pytest.raises(UsageError, match="another run"):
        evaluate_run(folder, truth, folder / "evaluation")
    assert not (folder / "evaluation").exists()
    # an evaluation written elsewhere does not write into the run folder: no lock needed
    evaluate_run(folder, truth, tmp_path / "elsewhere")
    assert (tmp_path / "elsewhere" / "metrics.csv").exists()
    # and never the run folder itself: its manifest would be replaced
    lock_path(folder).unlink()
    with pytest.raises(UsageError, match="folder of its own"):
        evaluate_run(folder, truth, folder)
    verify_run(folder)
