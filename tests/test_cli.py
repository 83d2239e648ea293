"""The bansos-linkage command line: help, version, exit codes, outputs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bansos_linkage import __version__, read_table, sample_path
from bansos_linkage.cli import EXIT_OK, EXIT_USAGE, build_parser, main


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["standardise"],
        ["schema"],
        ["synth"],
        ["link"],
        ["link-new"],
        ["settings"],
        ["review"],
        ["review", "export"],
        ["review", "import"],
        ["evaluate"],
        ["score"],
        ["assemble"],
        ["verval"],
        ["verval", "import"],
        ["demo"],
    ],
)
def test_help_on_every_command(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: bansos-linkage" in capsys.readouterr().out


def test_every_subcommand_is_covered_by_the_help_test():
    sub = next(a for a in build_parser()._actions if a.dest == "==SUPPRESS==" or a.choices)
    assert set(sub.choices) == {
        "standardise",
        "schema",
        "synth",
        "link",
        "link-new",
        "settings",
        "review",
        "evaluate",
        "score",
        "assemble",
        "verval",
        "demo",
    }


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == EXIT_USAGE


def test_unknown_option_is_a_usage_error():
    with pytest.raises(SystemExit) as exc:
        main(["standardise", "--bogus"])
    assert exc.value.code == 2


def test_standardise_writes_records_report_and_rejected(tmp_path, capsys):
    out = tmp_path / "dtks.csv"
    code = main(["standardise", str(sample_path("dtks")), "--schema", "dtks", "--out", str(out)])
    assert code == EXIT_OK
    records = read_table(out)
    report = read_table(tmp_path / "dtks.report.csv")
    rejected = read_table(tmp_path / "dtks.rejected.csv")
    raw = read_table(sample_path("dtks"))
    assert len(records) + len(rejected) == len(raw)
    assert not report.empty
    printed = capsys.readouterr().out
    assert f"rows read: {len(raw)}" in printed and f"rejected: {len(rejected)}" in printed


def test_standardise_parquet_and_excel_input(tmp_path):
    out = tmp_path / "p3ke.parquet"
    assert (
        main(["standardise", str(sample_path("p3ke")), "--schema", "p3ke", "--out", str(out)])
        == EXIT_OK
    )
    assert (tmp_path / "p3ke.report.parquet").exists()


def test_bad_schema_and_missing_file_exit_2(tmp_path, capsys):
    assert (
        main(
            [
                "standardise",
                str(sample_path("dtks")),
                "--schema",
                "nope",
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == EXIT_USAGE
    )
    assert "unknown preset" in capsys.readouterr().err
    assert (
        main(
            [
                "standardise",
                str(tmp_path / "missing.csv"),
                "--schema",
                "dtks",
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == EXIT_USAGE
    )
    assert "not found" in capsys.readouterr().err


def test_wrong_schema_for_file_exit_2_naming_key(tmp_path, capsys):
    code = main(
        [
            "standardise",
            str(sample_path("regsosek")),
            "--schema",
            "dtks",
            "--out",
            str(tmp_path / "x.csv"),
        ]
    )
    assert code == EXIT_USAGE
    assert "id_column" in capsys.readouterr().err


def test_schema_list_and_show(capsys):
    assert main(["schema"]) == EXIT_OK
    assert capsys.readouterr().out.split() == ["dtks", "p3ke", "regsosek"]
    assert main(["schema", "regsosek"]) == EXIT_OK
    assert "scheme: bps" in capsys.readouterr().out


def test_demo_runs(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--households", "60"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "rows read" in printed and "exact NIK (one-to-one)" in printed
    assert (tmp_path / "dtks_standardised.parquet").exists()
    assert (tmp_path / "link" / "links.csv").exists()
    assert (tmp_path / "synthetic" / "truth_dtks.csv").exists()
    assert "Eligibility" in printed or "too small for a PMT" in printed


def test_console_script_entry_point(tmp_path):
    exe = [sys.executable, "-m", "bansos_linkage", "--version"]
    done = subprocess.run(exe, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and __version__ in done.stdout


def test_standardise_draws_a_progress_bar_on_stderr(tmp_path, capsys):
    main(
        [
            "standardise",
            str(sample_path("dtks")),
            "--schema",
            "dtks",
            "--out",
            str(tmp_path / "d.csv"),
        ]
    )
    captured = capsys.readouterr()
    assert "standardise [" in captured.err and "done" in captured.err
    assert "standardise [" not in captured.out


@pytest.fixture(scope="module")
def registers(tmp_path_factory):
    out = tmp_path_factory.mktemp("registers")
    assert main(["synth", "--households", "300", "--seed", "2", "--out", str(out)]) == EXIT_OK
    return out


def _link(registers, out, *extra):
    return main(
        [
            "link",
            str(registers / "dtks.csv"),
            str(registers / "regsosek.csv"),
            "--left-schema",
            "dtks",
            "--right-schema",
            "regsosek",
            "--out",
            str(out),
            "--reference-date",
            "2026-01-01",
            *extra,
        ]
    )


def test_link_writes_every_output_and_loses_no_record(registers, tmp_path, capsys):
    import json

    from bansos_linkage.runs.link import OUTPUT_FILES

    assert _link(registers, tmp_path / "run") == EXIT_OK
    captured = capsys.readouterr()
    assert "link [" in captured.err and "links from" in captured.out
    run = tmp_path / "run"
    assert sorted(p.name for p in run.iterdir()) == sorted(OUTPUT_FILES)
    links = read_table(run / "links.csv")
    assert list(links.columns[:4]) == ["left_id", "right_id", "match_probability", "match_weight"]
    left_in = read_table(registers / "dtks.csv")
    accounted = (
        set(links["left_id"])
        | set(read_table(run / "unlinked_left.csv")["record_id"])
        | set(read_table(run / "rejected.csv").query("side == 'left'")["record_id"].dropna())
    )
    assert len(accounted) >= len(left_in["ID DTKS"].dropna().unique())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["linked_left"] + summary["unlinked_left"] + summary["rejected_left"] == len(
        left_in
    )
    # every DTKS family once, found in the Regsosek household the truth puts it in
    families = read_table(run / "household_links.csv")
    assert families["left_household"].dropna().is_unique
    assert sum(summary["households"].values()) == len(families)
    import pandas as pd

    from bansos_linkage.linkage.households import family_key

    records = pd.read_parquet(run / "records_left.parquet")
    family = pd.Series(family_key(records).to_numpy(), index=records["record_id"])
    home = read_table(registers / "truth_dtks.csv").set_index("record_id")["household_id"]
    family_home = home.groupby(family.reindex(home.index)).agg(lambda s: s.mode().iloc[0])
    records = pd.read_parquet(run / "records_right.parquet")
    r22 = records.set_index("record_id")["household_id"]
    home = read_table(registers / "truth_regsosek.csv").set_index("record_id")["household_id"]
    household_home = home.groupby(r22.reindex(home.index)).agg(lambda s: s.mode().iloc[0])
    found = families[families["status"].isin(["matched", "partial", "split"])]
    same = found["left_household"].map(family_home) == found["right_household"].map(household_home)
    assert len(found) > 0.9 * families["left_household"].notna().sum() and same.mean() > 0.97
    # the saved model reproduces the links without EM, and a threshold overrides it
    assert _link(registers, tmp_path / "again", "--model", str(run / "model.json")) == EXIT_OK
    again = read_table(tmp_path / "again" / "links.csv")
    assert again.equals(links)
    strict = tmp_path / "strict"
    assert _link(registers, strict, "--model", str(run / "model.json"), "--threshold", "0.99") == 0
    surer = read_table(strict / "links.csv")
    above = surer["match_probability"].astype(float) >= 0.99
    assert above.sum() < len(links)
    # below it as pairs only the records that are each other's only candidate
    sole = json.loads((strict / "summary.json").read_text())["sole_candidates"]
    assert (~above).sum() == sole
    assert surer.loc[~above, "left_id"].isin(surer.loc[above, "left_id"]).sum() == 0


def test_link_rejects_a_bad_threshold_and_a_bad_model(registers, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _link(registers, tmp_path / "x", "--threshold", "1.5")
    assert exc.value.code == EXIT_USAGE
    bad = tmp_path / "model.json"
    bad.write_text('{"format": "something else"}')
    assert _link(registers, tmp_path / "y", "--model", str(bad)) == EXIT_USAGE
    assert "format" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--scheduler", "tcp://127.0.0.1:8786"], "argument --scheduler: needs --engine dask"),
        (["--engine", "local", "--workers", "2"], "argument --workers: needs --engine dask"),
        (["--memory-limit", "4GB"], "argument --memory-limit: needs --engine dask"),
        (["--spill-dir", "spill"], "argument --spill-dir: needs --engine dask"),
        (
            ["--engine", "dask", "--scheduler", "tcp://h:8786", "--workers", "2"],
            "argument --workers: not allowed with argument --scheduler",
        ),
        (
            ["--engine", "dask", "--scheduler", "tcp://h:8786", "--memory-limit", "4GB"],
            "argument --memory-limit: not allowed with argument --scheduler",
        ),
        (["--engine", "dask", "--memory-limit", "lots"], "expected auto or a size"),
        (["--engine", "dask", "--workers", "0"], "at least 1"),
        (["--engine", "spark"], "invalid choice"),
    ],
)
def test_link_engine_options_that_conflict_are_refused_by_the_parser(
    registers, tmp_path, capsys, extra, said
):
    with pytest.raises(SystemExit) as exc:
        _link(registers, tmp_path / "run", *extra)
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage: bansos-linkage link" in err and said in err
    assert not (tmp_path / "run").exists()


def test_link_engine_dask_without_dask_says_what_to_install(registers, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed: ImportError
    result = subprocess.run(  # start-up of the CLI must not import Dask either
        [sys.executable, "-c", "import sys, bansos_linkage.cli; print('dask' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"
    import io
    from contextlib import redirect_stderr

    err = io.StringIO()
    with redirect_stderr(err):
        code = _link(registers, tmp_path / "run", "--engine", "dask")
    assert code == EXIT_USAGE
    assert err.getvalue().strip().splitlines() == [
        'error: --engine: the Dask engine needs Dask: pip install "bansos-linkage[dask]"'
    ]
    assert not (tmp_path / "run").exists()


def test_link_on_a_scheduler_that_does_not_answer_names_it(registers, tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = _link(
            registers, tmp_path / "run", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"
        )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--scheduler tcp://127.0.0.1:1: cannot connect to a Dask scheduler" in err
    assert not (tmp_path / "run").exists()


def test_link_on_a_local_dask_cluster_gives_the_local_links(registers, tmp_path, capsys):
    import json

    import numpy as np

    pytest.importorskip("distributed")
    assert _link(registers, tmp_path / "local") == EXIT_OK
    code = _link(registers, tmp_path / "dask", "--engine", "dask", "--workers", "2")
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "engine dask: a LocalCluster of 2 workers" in out and "links from" in out
    summary = json.loads((tmp_path / "dask" / "summary.json").read_text())
    assert summary["engine"] == "dask"
    assert json.loads((tmp_path / "local" / "summary.json").read_text())["engine"] == "local"
    a = read_table(tmp_path / "local" / "links.csv")
    b = read_table(tmp_path / "dask" / "links.csv")
    weights = ["match_probability", "match_weight"]
    assert a.drop(columns=weights).equals(b.drop(columns=weights))
    np.testing.assert_allclose(
        a[weights].astype(float), b[weights].astype(float), rtol=1e-12, atol=1e-12
    )
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["command"]["options"]["engine"] == "dask"


def test_review_loop_and_evaluate_from_the_command_line(registers, tmp_path, capsys):
    """link -> review export -> (a reviewer) -> review import -> link --labels -> evaluate."""
    import json

    import pandas as pd
    from openpyxl import load_workbook

    from bansos_linkage.evaluation import read_truth

    run = tmp_path / "run"
    assert _link(registers, run) == EXIT_OK
    sheet = tmp_path / "batch1.xlsx"
    assert main(["review", "export", str(run), "--n", "40", "--out", str(sheet)]) == EXIT_OK
    assert "40 pairs" in capsys.readouterr().out
    truth = read_truth(registers / "truth_dtks.csv", registers / "truth_regsosek.csv")
    true_keys = set(zip(truth["left_id"], truth["right_id"], strict=True))
    book = load_workbook(sheet)
    ws = book.active
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        key = (row[header.index("left_id")].value, row[header.index("right_id")].value)
        row[header.index("decision")].value = "match" if key in true_keys else "tidak cocok"
    book.save(sheet)
    assert main(["review", "import", str(run), str(sheet)]) == EXIT_OK
    labels = pd.read_csv(run / "labels.csv")
    assert len(labels) == 40 and set(labels["decision"]) <= {"match", "non_match"}
    # importing a sheet with a bad decision is refused and keeps the labels file whole
    before = (run / "labels.csv").read_bytes()
    ws.cell(row=2, column=header.index("decision") + 1).value = "perhaps"
    book.save(sheet)
    assert main(["review", "import", str(run), str(sheet)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "row 2" in err and "decision" in err
    assert (run / "labels.csv").read_bytes() == before
    # the ML matcher trained on the labels decides the next run
    run2 = tmp_path / "run2"
    assert _link(registers, run2, "--labels", str(run / "labels.csv")) == EXIT_OK
    out = capsys.readouterr().out
    assert "40 reviewed pairs" in out and "decides" in out
    summary = json.loads((run2 / "summary.json").read_text())
    assert summary["ml_training"]["labelled_pairs"] == 40 and summary["ml_training"]["why"]
    if summary["matcher"] == "ml":
        assert "ml_probability" in pd.read_parquet(run2 / "pairs.parquet")
    # the saved model (with its reviewed pairs, and its ML matcher if it decides) gives
    # the same links again
    again = tmp_path / "again"
    assert _link(registers, again, "--model", str(run2 / "model.json")) == EXIT_OK
    assert read_table(again / "links.csv").equals(read_table(run2 / "links.csv"))
    truth_files = [str(registers / "truth_dtks.csv"), str(registers / "truth_regsosek.csv")]
    assert main(["evaluate", str(run2), "--truth", *truth_files]) == EXIT_OK
    out = capsys.readouterr().out
    assert "precision >= 0.995" in out and "best F1" in out
    metrics = pd.read_csv(run2 / "evaluation" / "metrics.csv").set_index("what")
    families = metrics.loc["family pairs of the run"]
    assert (
        families["f1"] > 0.95
        and families["true_positives"] < metrics.loc["links of the run", "true_positives"]
    )  # fewer families than people, each scored once
    written = {p.name for p in (run2 / "evaluation").iterdir()}
    assert {"metrics.csv", "threshold_curve.png", "calibration.png", "false_links.csv"} <= written


def test_evaluate_refuses_three_truth_files_and_a_folder_that_is_no_run(tmp_path, capsys):
    args = ["evaluate", str(tmp_path), "--truth", "a.csv", "b.csv", "c.csv"]
    with pytest.raises(SystemExit) as exc:  # the parser refuses it, with the usage
        main(args)
    assert exc.value.code == EXIT_USAGE
    assert "one file of pairs or two" in capsys.readouterr().err
    (tmp_path / "pairs.csv").write_text("left_id,right_id\na,x\n")
    assert main(["evaluate", str(tmp_path), "--truth", str(tmp_path / "pairs.csv")]) == EXIT_USAGE
    assert "not a link run folder" in capsys.readouterr().err


def test_score_ranks_households_and_writes_eligibility(tmp_path, capsys):
    import pandas as pd

    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=600, seed=4))
    members = data.persons[data.persons["present_now"]]
    members.to_csv(tmp_path / "members.csv", index=False)
    data.households.drop(columns=["per_capita_expenditure"]).to_csv(
        tmp_path / "households.csv", index=False
    )
    data.survey.to_csv(tmp_path / "survey.csv", index=False)
    out = tmp_path / "scored"
    args = ["score", str(tmp_path / "households.csv"), str(tmp_path / "members.csv")]
    args += ["--train", str(tmp_path / "survey.csv"), "--out", str(out)]
    assert main([*args, "--reference-date", "2025-01-01"]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "PKH" in printed and "Sembako" in printed and "billion a year" in printed
    assert "5-fold cross-validated: R2 " in printed
    accuracy = pd.read_csv(out / "pmt_accuracy.csv")
    assert accuracy["fold"].tolist()[-1] == "mean" and accuracy["r2"].iloc[-1] > 0.2
    households = pd.read_csv(out / "households.csv", dtype={"household_id": str})
    assert len(households) == len(data.households)
    assert set(households["desil"]) == set(range(1, 11))
    assert {"eligible:PKH", "amount:PKH", "reasons:PKH"} <= set(households.columns)
    assert (out / "persons.csv").exists() and (out / "summary.csv").exists()
    # the PMT saved by this run ranks the same households the same way again
    again = tmp_path / "again"
    reuse = [*args[:3], "--pmt-model", str(out / "pmt.json"), "--out", str(again)]
    assert main([*reuse, "--reference-date", "2025-01-01"]) == EXIT_OK
    desil_again = pd.read_csv(again / "households.csv", dtype={"household_id": str})["desil"]
    assert desil_again.equals(households["desil"])
    # a rule file with a typo is a usage error naming the file and the key
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: X\neligible: {field: desil, betwen: [1, 4]}\n")
    assert main([*args, "--rules", str(bad)]) == EXIT_USAGE
    assert "betwen" in capsys.readouterr().err


def test_score_what_if_problems_and_households_alone(tmp_path, capsys):
    import pandas as pd

    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=500, seed=6))
    members = data.persons[data.persons["present_now"]].copy()
    members["birth_date"] = members["birth_date"].dt.strftime("%d-%m-%Y")  # as registers write
    members.loc[members.index[0], "birth_date"] = "31-02-1980"  # no such day
    orphan = members.iloc[[1]].assign(household_id="NOWHERE", person_id="P-ORPHAN")
    pd.concat([members, orphan]).to_csv(tmp_path / "members.csv", index=False)
    data.households.to_csv(tmp_path / "households.csv", index=False)  # with true expenditure
    data.survey.to_csv(tmp_path / "survey.csv", index=False)
    out = tmp_path / "scored"
    args = ["score", str(tmp_path / "households.csv"), str(tmp_path / "members.csv")]
    args += ["--train", str(tmp_path / "survey.csv"), "--out", str(out), "--what-if", "3,4,5"]
    assert main([*args, "--reference-date", "2025-01-01"]) == EXIT_OK
    assert "2 problems (1 rows rejected)" in capsys.readouterr().out
    problems = pd.read_csv(out / "problems.csv")
    assert set(zip(problems["id"], problems["problem"], strict=True)) == {
        (members["person_id"].iloc[0], "date_invalid"),
        ("P-ORPHAN", f"household_id not in {tmp_path / 'households.csv'}"),
    }
    what_if = pd.read_csv(out / "what_if.csv")
    assert what_if["variant"].unique().tolist() == ["max_desil=3", "max_desil=4", "max_desil=5"]
    sembako = what_if[what_if["programme"] == "Sembako"]
    assert sembako["families"].is_monotonic_increasing
    assert sembako["exclusion_error"].is_monotonic_decreasing  # the truth was in the file
    assert (out / "what_if.png").stat().st_size > 10_000
    # households alone, ranked already: household rules work, member rules find nobody
    scored = pd.read_csv(out / "households.csv", dtype={"household_id": str})
    scored[["household_id", "desil", "size"]].to_csv(tmp_path / "ranked.csv", index=False)
    alone = tmp_path / "alone"
    assert main(["score", str(tmp_path / "ranked.csv"), "--out", str(alone)]) == EXIT_OK
    again = pd.read_csv(alone / "households.csv")
    assert again["eligible:Sembako"].sum() == (scored["desil"] <= 4).sum()
    assert not again["eligible:PKH"].any()
    with pytest.raises(SystemExit) as exc:
        main([*args[:3], "--out", str(alone), "--what-if", "0,11"])
    assert exc.value.code == EXIT_USAGE


def test_score_on_a_local_dask_cluster_writes_the_local_files(tmp_path, capsys):
    pytest.importorskip("distributed")
    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=400, seed=8))
    data.persons[data.persons["present_now"]].to_csv(tmp_path / "members.csv", index=False)
    data.households.to_csv(tmp_path / "households.csv", index=False)
    data.survey.to_csv(tmp_path / "survey.csv", index=False)
    args = ["score", str(tmp_path / "households.csv"), str(tmp_path / "members.csv")]
    args += ["--train", str(tmp_path / "survey.csv"), "--reference-date", "2025-01-01"]
    args += ["--desil-by", "province_code", "--what-if", "3,5"]
    assert main([*args, "--out", str(tmp_path / "local")]) == EXIT_OK
    dask_run = [*args, "--out", str(tmp_path / "dask"), "--engine", "dask", "--workers", "2"]
    assert main(dask_run) == EXIT_OK
    assert "engine dask: a LocalCluster of 2 workers" in capsys.readouterr().out
    for name in ("households.csv", "persons.csv", "summary.csv", "what_if.csv", "pmt.json"):
        assert (tmp_path / "dask" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    # the Dask options need --engine dask; score has no scored pairs to spill
    for extra, said in (
        (["--workers", "2"], "argument --workers: needs --engine dask"),
        (["--engine", "dask", "--spill-dir", "x"], "unrecognized arguments: --spill-dir"),
    ):
        with pytest.raises(SystemExit) as exc:
            main([*args, "--out", str(tmp_path / "no"), *extra])
        assert exc.value.code == EXIT_USAGE and said in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_score_reads_partitioned_datasets_and_names_the_file_of_a_problem(tmp_path):
    import pandas as pd

    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=300, seed=9))
    members = data.persons[data.persons["present_now"]].astype("string").reset_index(drop=True)
    members.loc[len(members) - 2, "birth_date"] = "31-02-1980"  # in the second file
    households = data.households.astype("string")
    survey = data.survey.astype("string")
    for name, table in (("households", households), ("members", members), ("survey", survey)):
        table.to_parquet(tmp_path / f"{name}.parquet", index=False)
        (tmp_path / name).mkdir()
        half = len(table) // 2
        table.iloc[:half].to_parquet(tmp_path / name / "part-0.parquet", index=False)
        table.iloc[half:].to_parquet(tmp_path / name / "part-1.parquet", index=False)
    ref = ["--reference-date", "2025-01-01"]
    for kind, suffix in (("files", ".parquet"), ("folders", "")):
        args = ["score", *(str(tmp_path / f"{n}{suffix}") for n in ("households", "members"))]
        args += ["--train", str(tmp_path / f"survey{suffix}"), "--out", str(tmp_path / kind)]
        assert main([*args, *ref]) == EXIT_OK
    for name in ("households.csv", "persons.csv", "summary.csv"):
        assert (tmp_path / "folders" / name).read_bytes() == (
            tmp_path / "files" / name
        ).read_bytes()
    problems = {
        kind: pd.read_csv(tmp_path / kind / "problems.csv").set_index("problem")
        for kind in ("files", "folders")
    }
    one, parts = problems["files"].loc["date_invalid"], problems["folders"].loc["date_invalid"]
    assert one["file"] == str(tmp_path / "members.parquet") and one["row"] == len(members)
    assert parts["file"] == str(tmp_path / "members" / "part-1.parquet")
    assert parts["row"] == len(members) - len(members) // 2  # the header is row 1 in each


def test_score_regional_pmt_desil_within_regions_and_criteria_threshold(tmp_path):
    import pandas as pd

    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=1_500, seed=8))
    data.persons[data.persons["present_now"]].to_csv(tmp_path / "members.csv", index=False)
    data.households.to_csv(tmp_path / "households.csv", index=False)
    data.survey.to_csv(tmp_path / "survey.csv", index=False)
    args = ["score", str(tmp_path / "households.csv"), str(tmp_path / "members.csv")]
    args += ["--train", str(tmp_path / "survey.csv"), "--reference-date", "2025-01-01"]
    regional = tmp_path / "regional"
    extra = ["--pmt-by", "province_code", "--desil-by", "province_code", "--rules", "sembako"]
    assert main([*args, "--out", str(regional), *extra, "--criteria-threshold", "3"]) == EXIT_OK
    hh = pd.read_csv(regional / "households.csv", dtype={"province_code": str})
    assert hh["province_code"].nunique() > 1
    for _, province in hh.groupby("province_code"):
        people = province.groupby("desil")["size"].sum()
        assert set(people.index) == set(range(1, 11))  # every province has its ten desil
        assert (people - province["size"].sum() / 10).abs().max() <= province["size"].max()
    assert '"by": "province_code"' in (regional / "pmt.json").read_text()
    national = tmp_path / "national"
    assert main([*args, "--out", str(national), "--rules", "sembako"]) == EXIT_OK
    default = pd.read_csv(national / "households.csv")
    assert hh["poor_14_criteria"].sum() > default["poor_14_criteria"].sum()
    assert main([*args, "--out", str(national), "--pmt-by", "no_such_column"]) == EXIT_USAGE
    no_train = ["score", str(tmp_path / "households.csv"), "--out", str(national)]
    with pytest.raises(SystemExit) as exc:  # the parser refuses it, with the usage
        main([*no_train, "--pmt-by", "province_code"])
    assert exc.value.code == EXIT_USAGE


def test_score_reads_an_export_in_its_own_names_and_words(tmp_path):
    import pandas as pd

    # a DTKS-style export: Indonesian column names, Dukcapil words, day-first dates
    (tmp_path / "ruta.csv").write_text(
        "ID_RUTA,kode_prov,desil,luas_lantai,jenis_lantai,jenis_dinding,fasilitas_bab\n"
        "R1,33,2,20,Tanah,Bambu,Tidak Ada\n"
        "R2,33,7,90,Keramik,Tembok,Sendiri\n"
    )
    (tmp_path / "art.csv").write_text(
        "ID_ART,ID_RUTA,TGL_LAHIR,JENIS_KELAMIN,HUBUNGAN_KK,PENDIDIKAN,PEKERJAAN,HAMIL\n"
        "A1,R1,17-08-1980,LAKI-LAKI,KEPALA KELUARGA,TAMAT SD / SEDERAJAT,BURUH HARIAN LEPAS,\n"
        "A2,R1,01-02-1990,PEREMPUAN,ISTRI,SLTP/SEDERAJAT,MENGURUS RUMAH TANGGA,Ya\n"
        "A3,R1,05-05-2021,P,ANAK KANDUNG,TIDAK / BELUM SEKOLAH,BELUM/TIDAK BEKERJA,\n"
        "A4,R1,10-10-2013,L,ANAK KANDUNG,BELUM TAMAT SD/SEDERAJAT,PELAJAR/MAHASISWA,\n"
        "A5,R2,03-03-1970,L,KEPALA KELUARGA,DIPLOMA IV/ STRATA I,KARYAWAN SWASTA,\n"
    )
    out = tmp_path / "out"
    args = ["score", str(tmp_path / "ruta.csv"), str(tmp_path / "art.csv"), "--out", str(out)]
    assert main([*args, "--reference-date", "2025-06-30", "--rules", "pkh"]) == EXIT_OK
    hh = pd.read_csv(out / "households.csv").set_index("household_id")
    # the mother's pregnancy is her third (two children at home): PKH stops at the 2nd
    # ... and the reasons say so, and that the pupil's attendance was assumed from age
    assert hh.loc["R1", "reasons:PKH"] == (
        "child_0_6 x1; sd_pupil x1 (in school assumed from age); not paid: pregnant x1 "
        "(pregnancy_number at most 2 not met, estimated from the children at home)"
    )
    assert hh.loc["R1", "amount:PKH"] == 3_000_000 + 900_000
    assert hh.loc["R1", "size"] == 4 and hh.loc["R1", "adults_working"] == 1
    assert hh.loc["R1", "head_education"] == "SD"
    # 5 m2 a person, earth floor, bamboo wall, no toilet, a labourer head with SD
    assert hh.loc["R1", "criteria_met"] == 6
    assert hh.loc["R2", "criteria_met"] == 0 and not hh.loc["R2", "eligible:PKH"]
    assert pd.read_csv(out / "problems.csv").empty
    # today's recipients (DTKS flags carried over by household_links.csv) -> transitions
    (tmp_path / "now.csv").write_text("id_ruta,PKH\nR1,0\nR2,ya\nR9,1\n")
    moved = tmp_path / "moved"
    now = ["--current", str(tmp_path / "now.csv"), "--rules", "pkh"]
    assert main([*args[:3], "--out", str(moved), *now, "--reference-date", "2025-06-30"]) == 0
    status = pd.read_csv(moved / "transitions.csv").set_index("household_id")["status:PKH"]
    assert status.to_dict() == {"R1": "new", "R2": "drops", "R9": "not_found"}
    villages = pd.read_csv(moved / "transitions_per_village.csv")
    assert villages[["stays", "drops", "new", "not_found"]].sum().tolist() == [0, 1, 1, 1]
    (tmp_path / "bad.csv").write_text("id_ruta,BANSOS_X\nR1,1\n")
    bad = ["--current", str(tmp_path / "bad.csv")]
    assert main([*args[:3], "--out", str(moved), *bad]) == EXIT_USAGE
