"""Hostile invocations of the command line: every user error exits 2 with one line
naming the file or option; a bug exits 1 saying so, with the traceback only behind -v."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from bansos_linkage import cli
from bansos_linkage.cli import EXIT_INTERNAL, EXIT_USAGE, main
from bansos_linkage.errors import EmptyInputError, InputError, SchemaError, UsageError


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Path:
    """Small inputs, good and bad, in one folder."""
    from bansos_linkage.synthetic import generate, scenario

    folder = tmp_path_factory.mktemp("hostile")
    data = generate(scenario("default", households=100, seed=1))
    for name in ("dtks", "regsosek"):
        data.registers[name].to_csv(folder / f"{name}.csv", index=False)
    data.registers["dtks"].head(0).to_csv(folder / "dtks_header.csv", index=False)
    households = data.households.drop(columns=["per_capita_expenditure"])
    households.to_csv(folder / "hh_nodesil.csv", index=False)
    ranked = households.assign(desil=[i % 10 + 1 for i in range(len(households))])
    ranked.to_csv(folder / "hh.csv", index=False)
    ranked.head(0).to_csv(folder / "hh_header.csv", index=False)
    (folder / "afile").write_text("not a folder\n")
    (folder / "adir").mkdir()
    (folder / "run").mkdir()
    (folder / "model.bin").write_bytes(bytes(range(128, 256)) * 4)
    left = data.truth["dtks"]["record_id"].head(5).to_numpy()
    right = data.truth["regsosek"]["record_id"].head(5).to_numpy()
    pd.DataFrame({"left_id": left, "right_id": right, "decision": "match"}).to_csv(
        folder / "labels_match.csv", index=False
    )
    return folder


LINK = ["link", "{d}/dtks.csv", "{d}/regsosek.csv", "--left-schema", "dtks"]
LINK += ["--right-schema", "regsosek", "--reference-date", "2026-01-01"]
STANDARDISE = ["standardise", "{d}/dtks.csv", "--schema", "dtks"]
EXPORT = ["review", "export", "{d}/run", "--out", "{d}/sheet.csv"]
EVALUATE = ["evaluate", "{d}/run", "--truth", "{d}/labels_match.csv"]

# (argv with {d} for the folder of inputs, what the message must name)
CASES = {
    "standardise --out under a file": (
        [*STANDARDISE, "--out", "{d}/afile/x.csv"],
        ["--out", "afile"],
    ),
    "standardise --out a folder": ([*STANDARDISE, "--out", "{d}/adir"], ["--out", "adir"]),
    "standardise input a folder": (
        ["standardise", "{d}/adir", "--schema", "dtks", "--out", "{d}/x.csv"],
        ["adir", "folder"],
    ),
    "standardise input missing": (
        ["standardise", "{d}/missing.csv", "--schema", "dtks", "--out", "{d}/x.csv"],
        ["missing.csv", "not found"],
    ),
    "link --out a file": ([*LINK, "--out", "{d}/afile"], ["--out", "afile", "folder"]),
    "link --out under a file": ([*LINK, "--out", "{d}/afile/run"], ["--out", "afile"]),
    "link same file twice": (
        ["link", "{d}/dtks.csv", "{d}/../" + "{n}/dtks.csv", *LINK[3:], "--out", "{d}/o"],
        ["LEFT and RIGHT", "dtks.csv"],
    ),
    "link header-only left": (
        ["link", "{d}/dtks_header.csv", *LINK[2:], "--out", "{d}/o"],
        ["dtks_header.csv", "no left records"],
    ),
    "link --model binary": ([*LINK, "--out", "{d}/o", "--model", "{d}/model.bin"], ["model.bin"]),
    "link --model a folder": ([*LINK, "--out", "{d}/o", "--model", "{d}/adir"], ["--model"]),
    "link --labels one class": (
        [*LINK, "--out", "{d}/o", "--labels", "{d}/labels_match.csv"],
        ["labels_match.csv", "non_match"],
    ),
    "link --threshold not a number": (
        [*LINK, "--out", "{d}/o", "--threshold", "x"],
        ["--threshold"],
    ),
    "score without desil or --train": (
        ["score", "{d}/hh_nodesil.csv", "--out", "{d}/s"],
        ["hh_nodesil.csv", "--train"],
    ),
    "score header-only": (["score", "{d}/hh_header.csv", "--out", "{d}/s"], ["hh_header.csv"]),
    "score --criteria-threshold 99": (
        ["score", "{d}/hh.csv", "--out", "{d}/s", "--criteria-threshold", "99"],
        ["--criteria-threshold", "1 to 14"],
    ),
    "score --criteria-threshold 0": (
        ["score", "{d}/hh.csv", "--out", "{d}/s", "--criteria-threshold", "0"],
        ["--criteria-threshold"],
    ),
    "score --out a file": (["score", "{d}/hh.csv", "--out", "{d}/afile"], ["--out", "afile"]),
    "score --pmt-by without --train": (
        ["score", "{d}/hh.csv", "--out", "{d}/s", "--pmt-by", "province_code"],
        ["--pmt-by", "--train"],
    ),
    "score --train with --pmt-model": (
        ["score", "{d}/hh.csv", "--out", "{d}/s", "--train", "{d}/hh.csv", "--pmt-model", "x"],
        ["--pmt-model", "--train"],
    ),
    "score --current a folder": (
        ["score", "{d}/hh.csv", "--out", "{d}/s", "--current", "{d}/adir"],
        ["--current", "adir"],
    ),
    "review export --n 0": ([*EXPORT, "--n", "0"], ["--n", "at least 1"]),
    "review export --n -5": ([*EXPORT, "--n", "-5"], ["--n", "at least 1"]),
    "review export --random-share 2": (
        [*EXPORT, "--random-share", "2"],
        ["--random-share", "0 to 1"],
    ),
    "review export --out a folder": (
        ["review", "export", "{d}/run", "--out", "{d}/adir"],
        ["--out", "adir"],
    ),
    "review export RUN_DIR a file": (
        ["review", "export", "{d}/afile", "--out", "{d}/x.csv"],
        ["afile", "RUN_DIR"],
    ),
    "evaluate --out a file": ([*EVALUATE, "--out", "{d}/afile"], ["--out", "afile"]),
    "evaluate --truth a folder": (["evaluate", "{d}/run", "--truth", "{d}/adir"], ["--truth"]),
    "evaluate --min-precision 1.5": ([*EVALUATE, "--min-precision", "1.5"], ["--min-precision"]),
    "synth --out a file": (["synth", "--households", "5", "--out", "{d}/afile"], ["--out"]),
    "synth --out under a file": (["synth", "--out", "{d}/afile/sub"], ["--out", "afile"]),
    "synth --households 0": (["synth", "--households", "0", "--out", "{d}/y"], ["--households"]),
    "synth --scenario with --config": (
        ["synth", "--scenario", "hard", "--config", "{d}/model.bin", "--out", "{d}/y"],
        ["--config", "--scenario"],
    ),
    "synth --config binary": (
        ["synth", "--config", "{d}/model.bin", "--out", "{d}/y"],
        ["model.bin"],
    ),
}


# Options that conflict, refused by the parser before any file is looked at (the
# paths need not exist): argparse's usage, one error line naming both, exit code 2.
# (argv, the command in the usage line, what the error line must name)
CONFLICTS = {
    "score --pmt-by without --train": (
        ["score", "{d}/missing.csv", "--out", "{d}/conflict", "--pmt-by", "province_code"],
        "score",
        ["--pmt-by", "--train"],
    ),
    "score --pmt-by with --pmt-model": (
        ["score", "{d}/missing.csv", "--out", "{d}/conflict", "--pmt-by", "c", "--pmt-model", "x"],
        "score",
        ["--pmt-by", "--train"],
    ),
    "score --train with --pmt-model": (
        ["score", "{d}/missing.csv", "--out", "{d}/conflict", "--train", "t", "--pmt-model", "x"],
        "score",
        ["--pmt-model", "--train"],
    ),
    "link --model with --settings": (
        [*LINK, "--out", "{d}/conflict", "--model", "m.json", "--settings", "s.yaml"],
        "link",
        ["--model", "--settings"],
    ),
    "link LEFT and RIGHT the same missing file": (
        ["link", "{d}/missing.csv", "{d}/missing.csv", *LINK[3:], "--out", "{d}/conflict"],
        "link",
        ["LEFT and RIGHT", "missing.csv"],
    ),
    "evaluate --truth with --labels": (
        ["evaluate", "{d}/missing", "--truth", "t.csv", "--labels", "l.csv"],
        "evaluate",
        ["--truth", "--labels"],
    ),
    "evaluate --truth three files": (
        ["evaluate", "{d}/missing", "--truth", "a.csv", "b.csv", "c.csv"],
        "evaluate",
        ["--truth", "one file of pairs or two truth files, not 3"],
    ),
    "synth --scenario with --config": (
        ["synth", "--scenario", "hard", "--config", "{d}/missing.json", "--out", "{d}/conflict"],
        "synth",
        ["--config", "--scenario"],
    ),
    "assemble --backbone with --update": (
        ["assemble", "--source", "dtks=x.csv", "--out", "{d}/conflict", "--update", "{d}/missing"]
        + ["--backbone", "dtks"],
        "assemble",
        ["--backbone", "--update"],
    ),
    "assemble --update with --survey": (
        [
            "assemble",
            "--source",
            "dtks=x.csv",
            "--out",
            "{d}/conflict",
            "--update",
            "r",
            "--survey",
            "s",
        ],
        "assemble",
        ["--update", "--survey"],
    ),
    "assemble --survey with --pmt": (
        [
            "assemble",
            "--source",
            "dtks=x.csv",
            "--out",
            "{d}/conflict",
            "--survey",
            "s",
            "--pmt",
            "p",
        ],
        "assemble",
        ["--survey", "--pmt"],
    ),
}


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_conflicting_options_are_refused_by_the_parser(d, case, capsys):
    argv, command, named = CONFLICTS[case]
    with pytest.raises(SystemExit) as exc:
        main([a.format(d=d) for a in argv])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith(f"usage: bansos-linkage {command} "), err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"bansos-linkage {command}: error: ")
    assert all(word in errors[0] for word in named), errors[0]
    assert "not found" not in err  # refused before any path is checked
    assert not (d / "conflict").exists()


def test_options_that_do_not_conflict_pass_the_parser(d, capsys):
    """--backbone without --update, --pmt-by with --train, two truth files: no
    parser error (what follows fails on the missing files, exit 2 without the usage)."""
    for argv in (
        [
            "assemble",
            "--source",
            "dtks={d}/missing.csv",
            "--out",
            "{d}/conflict",
            "--backbone",
            "dtks",
        ],
        ["score", "{d}/missing.csv", "--out", "{d}/conflict", "--train", "t.csv", "--pmt-by", "c"],
        ["evaluate", "{d}/missing", "--truth", "a.csv", "b.csv"],
    ):
        assert main([a.format(d=d) for a in argv]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert "usage:" not in err and "missing" in err and "not found" in err, err


def _run(argv: list[str]) -> int:
    """main()'s exit code, whether it returns it or argparse exits."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code)


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_invocation_exits_2_naming_the_file_or_option(d, case, capsys):
    argv, named = CASES[case]
    code = _run([a.format(d=d, n=d.name) for a in argv])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1, err  # one line (argparse adds its usage above it)
    assert all(word in errors[0] for word in named), errors[0]
    assert "internal error" not in err and "Traceback" not in err


def test_nothing_is_written_beside_a_refused_output_folder(d, capsys):
    """'standardise --out FOLDER' used to write FOLDER.parquet beside it."""
    assert _run([a.format(d=d) for a in [*STANDARDISE, "--out", "{d}/adir"]]) == EXIT_USAGE
    assert not list(d.glob("adir.*"))


def _deny(monkeypatch, path: Path, mode: int) -> None:
    """os.access as a non-root user would answer for a path without ``mode``
    (the tests may run as root, who may read and write anything)."""
    real = os.access

    def access(p, m, *args, **kwargs):
        if Path(p).resolve() == path.resolve() and m & mode:
            return False
        return real(p, m, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


def test_unreadable_input_and_read_only_output_folder(d, tmp_path, monkeypatch, capsys):
    _deny(monkeypatch, d / "hh.csv", os.R_OK)
    assert _run(["score", str(d / "hh.csv"), "--out", str(tmp_path / "s")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "hh.csv" in err and "permission" in err
    _deny(monkeypatch, tmp_path, os.W_OK)
    out = tmp_path / "new" / "x.csv"
    assert _run([a.format(d=d) for a in STANDARDISE] + ["--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--out" in err and str(tmp_path) in err and "read-only" in err


def _failing(monkeypatch, exc: BaseException) -> None:
    def fail(args):
        raise exc

    monkeypatch.setattr("bansos_linkage.cli.schema.run_schema", fail)


def test_os_error_on_a_path_is_a_usage_error_naming_it(monkeypatch, capsys):
    _failing(monkeypatch, PermissionError(13, "Permission denied", "/data/out/links.csv"))
    assert main(["schema"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/data/out/links.csv" in err and "Permission denied" in err


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("NIK 3201012345678901 of SITI AMINAH"),
        KeyError("3201012345678901"),  # no longer taken for a usage error
        OSError("no file named in it: 3201012345678901"),
    ],
    ids=["RuntimeError", "KeyError", "OSError without a file"],
)
def test_internal_error_exits_1_without_data_and_traceback_only_with_v(monkeypatch, capsys, exc):
    _failing(monkeypatch, exc)
    assert main(["schema"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert f"internal error ({type(exc).__name__})" in err and "please report" in err
    assert "3201012345678901" not in err and "Traceback" not in err and "-v" in err
    assert main(["-v", "schema"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and f"internal error ({type(exc).__name__})" in err


def test_library_raises_the_same_clear_errors(d):
    """API users get the errors the command line reports."""
    from bansos_linkage.eligibility.criteria import N_CRITERIA, bps_criteria
    from bansos_linkage.eligibility.score import prepare_register, score_register
    from bansos_linkage.linkage.linker import Linker
    from bansos_linkage.linkage.model_file import load

    assert cli.N_CRITERIA == N_CRITERIA
    with pytest.raises(UsageError, match="1 to 14"):
        bps_criteria(pd.DataFrame({"size": [1]}), threshold=99)
    with pytest.raises(SchemaError, match="model.bin"):
        load(d / "model.bin")
    with pytest.raises(InputError, match="hh_header.csv"):
        prepare_register(
            pd.read_csv(d / "hh_header.csv"),
            None,
            pd.Timestamp("2026-01-01"),
            households_file=str(d / "hh_header.csv"),
        )
    households, members, _ = prepare_register(
        pd.read_csv(d / "hh_nodesil.csv", dtype=str), None, pd.Timestamp("2026-01-01").date()
    )
    with pytest.raises(InputError, match="desil"):
        score_register(households, members, [], pd.Timestamp("2026-01-01").date())
    some = pd.DataFrame({"record_id": ["a"]})
    with pytest.raises(EmptyInputError, match="no right records") as caught:
        Linker().fit_link(some, some.head(0))
    assert caught.value.side == "right"


def test_score_files_is_the_score_command_in_python(d, tmp_path):
    """``score`` is a thin call of score_files: the same folder, manifest last, and the
    same clear errors for API users."""
    from bansos_linkage.runs import verify_run
    from bansos_linkage.runs.score import score_files

    day = pd.Timestamp("2026-01-01").date()
    run = score_files(d / "hh.csv", None, tmp_path / "s", rules="sembako", reference_date=day)
    files = verify_run(tmp_path / "s")["files"]
    assert {"households.csv", "summary.csv", "problems.csv"} <= files.keys()
    assert run.reference_date == day and run.pmt_accuracy is None and run.transitions is None
    assert len(run.scored.households) == len(pd.read_csv(d / "hh.csv"))
    with pytest.raises(UsageError, match="pmt_by"):
        score_files(d / "hh.csv", None, tmp_path / "t", pmt_by="province_code")
    with pytest.raises(InputError, match="hh_nodesil.csv"):
        score_files(d / "hh_nodesil.csv", None, tmp_path / "u")
    assert not (tmp_path / "t").exists() and not (tmp_path / "u").exists()
