"""Outputs for people (issue 15): the links review file, progress only on a terminal and
``--quiet``, blind review sheets, preset comments pointing at files that ship."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

import bansos_linkage
from bansos_linkage import read_table, sample_path
from bansos_linkage.cli import EXIT_OK, EXIT_USAGE, main
from bansos_linkage.io import restore_formulas
from bansos_linkage.review import BLIND_HIDDEN
from bansos_linkage.runs.link import OUTPUT_FILES, REVIEW_FIELDS, links_for_review
from bansos_linkage.runs.review import export_review, import_review
from bansos_linkage.schema import list_presets, preset_path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_link_run):
    out = tmp_path_factory.mktemp("people") / "run"
    make_link_run(out)
    return out


# --- 1. links_review.csv -------------------------------------------------------------


def test_links_review_shows_both_records_side_by_side(run_dir):
    assert "links_review.csv" in OUTPUT_FILES
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert "links_review.csv" in manifest["files"]
    links = restore_formulas(read_table(run_dir / "links.csv"))
    review = restore_formulas(read_table(run_dir / "links_review.csv"))
    # every link once, in the same order, with its probability and levels
    assert len(review) == len(links) > 0
    for column in links.columns:
        assert column in review
    pd.testing.assert_frame_equal(review[list(links.columns)], links, check_dtype=False)
    left = pd.read_parquet(run_dir / "records_left.parquet").set_index("record_id")
    right = pd.read_parquet(run_dir / "records_right.parquet").set_index("record_id")
    for field in ("full_name", "nik", "kk_number", "birth_date", "sex", "rt", "rw"):
        assert f"left_{field}" in review and f"right_{field}" in review
    assert "left_village_name" in review or "left_village_code" in review
    # the values are the standardised records', looked up by record id
    for side, records in (("left", left), ("right", right)):
        ids = review[f"{side}_id"]
        for field in ("full_name", "nik", "sex"):
            expected = records[field].reindex(ids).astype("string").to_numpy()
            shown = review[f"{side}_{field}"].astype("string").to_numpy()
            assert (pd.isna(expected) == pd.isna(shown)).all()
            assert (expected[~pd.isna(expected)] == shown[~pd.isna(shown)]).all()
        dates = records["birth_date"].reindex(ids).dt.strftime("%Y-%m-%d")
        assert review[f"{side}_birth_date"].astype("string").fillna("").tolist() == (
            dates.fillna("").tolist()
        )
    # side by side: each field's left column right before its right column
    columns = list(review.columns)
    for field in REVIEW_FIELDS:
        if f"left_{field}" in columns:
            assert columns.index(f"right_{field}") == columns.index(f"left_{field}") + 1


def test_links_for_review_handles_unknown_ids_one_sided_fields_and_duplicates():
    links = pd.DataFrame(
        {
            "left_id": ["a", "b", "zz"],
            "right_id": ["x", "x", "y"],
            "match_probability": [0.9, 0.8, 0.7],
            "name": ["exact", "fuzzy", "else"],
        }
    )
    left = pd.DataFrame(
        {
            "record_id": pd.array(["a", "b", "b"], dtype="string"),  # b twice: first wins
            "full_name": pd.array(["ANI", "BUDI", "OTHER"], dtype="string"),
            "birth_date": pd.to_datetime(["2001-02-03", None, "1999-01-01"]),
            "relationship": pd.array(["1", "3", "3"], dtype="string"),
        }
    )
    right = pd.DataFrame(
        {
            "record_id": pd.array(["x", "y"], dtype="string"),
            "full_name": pd.array(["ANI", "CICI"], dtype="string"),
            "village_code": pd.array(["3171041001", pd.NA], dtype="string"),
        }
    )
    review = links_for_review(links, left, right)
    assert len(review) == 3
    assert review["left_full_name"].tolist()[:2] == ["ANI", "BUDI"]
    assert pd.isna(review["left_full_name"].iloc[2])  # zz: no such record
    assert review["right_full_name"].tolist() == ["ANI", "ANI", "CICI"]
    assert review["left_birth_date"].iloc[0] == "2001-02-03"
    assert pd.isna(review["left_birth_date"].iloc[1])
    assert review["left_relationship"].tolist()[:2] == ["1", "3"]
    assert review["right_relationship"].isna().all()  # the right register has none
    assert review["left_village_code"].isna().all() and review["right_village_code"].iloc[0]
    assert "left_nik" not in review  # in neither register
    assert review["name"].tolist() == ["exact", "fuzzy", "else"]


def test_links_review_lines_up_every_link_with_its_records():
    # speed is measured in the benchmarks, not asserted here
    n = 50_000
    ids = pd.array([f"R{i:08d}" for i in range(n)], dtype="string")
    records = pd.DataFrame(
        {
            "record_id": ids,
            "full_name": ids,
            "nik": ids,
            "birth_date": pd.Timestamp("2000-01-01") + pd.to_timedelta(range(n), unit="h"),
        }
    )
    links = pd.DataFrame({"left_id": ids[::-1], "right_id": ids, "match_probability": 0.9})
    review = links_for_review(links, records, records)
    assert (review["left_nik"].to_numpy() == links["left_id"].to_numpy()).all()
    assert (review["right_nik"].to_numpy() == links["right_id"].to_numpy()).all()


# --- 2. progress only on a terminal; --quiet -------------------------------------------


def _standardise(tmp_path, *extra):
    out = tmp_path / "d.csv"
    return main(
        ["standardise", str(sample_path("dtks")), "--schema", "dtks", "--out", str(out), *extra]
    )


def test_no_carriage_returns_when_stderr_is_not_a_terminal(tmp_path, capsys):
    assert _standardise(tmp_path) == EXIT_OK
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("standardise [")]
    assert lines and len(lines) == len(set(lines))  # one plain line per stage
    assert lines[-1].endswith("done")


def test_the_bar_is_drawn_on_a_terminal(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert _standardise(tmp_path) == EXIT_OK
    err = capsys.readouterr().err
    assert "\rstandardise [" in err and "#" in err and "done" in err


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_progress_and_summaries(tmp_path, capsys, monkeypatch, where):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    argv = ["standardise", str(sample_path("dtks")), "--schema", "dtks"]
    argv += ["--out", str(tmp_path / "d.csv")]
    argv = ["-q", *argv] if where == "before" else [*argv, "--quiet"]
    assert main(argv) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "d.csv").exists()


def test_quiet_still_prints_errors_and_a_command_s_product(tmp_path, capsys):
    missing = tmp_path / "nope.csv"
    code = main(["-q", "standardise", str(missing), "--schema", "dtks", "--out", str(tmp_path)])
    assert code == EXIT_USAGE
    assert "error:" in capsys.readouterr().err
    assert main(["schema", "dtks", "-q"]) == EXIT_OK  # the preset is the output, not chatter
    assert "name: dtks" in capsys.readouterr().out


def test_quiet_is_accepted_by_every_command():
    from bansos_linkage.cli import build_parser

    parser = build_parser()

    def commands(p, path=()):
        for action in p._actions:
            if action.choices and isinstance(action.choices, dict):
                for name, sub in action.choices.items():
                    yield (*path, name), sub
                    yield from commands(sub, (*path, name))

    found = list(commands(parser))
    assert len(found) >= 8
    for path, sub in found:
        assert "--quiet" in sub._option_string_actions, path
        assert "-q" in sub._option_string_actions, path


def test_quiet_link_prints_nothing(tmp_path, capsys):
    from bansos_linkage.synthetic import generate, scenario

    data = generate(scenario("default", households=60, seed=4))
    for name in ("dtks", "regsosek"):
        data.registers[name].to_csv(tmp_path / f"{name}.csv", index=False)
    argv = [
        *("link", str(tmp_path / "dtks.csv"), str(tmp_path / "regsosek.csv")),
        *("--left-schema", "dtks", "--right-schema", "regsosek", "--out", str(tmp_path / "r")),
        *("--reference-date", "2026-01-01", "-q"),
    ]
    assert main(argv) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out == "" and "\r" not in captured.err and "link [" not in captured.err
    assert (tmp_path / "r" / "links_review.csv").exists()


# --- 3. blind review sheets ------------------------------------------------------------


def test_blind_sheet_hides_scores_and_explanations(run_dir, tmp_path):
    sheet_path = tmp_path / "blind.csv"
    sheet = export_review(run_dir, sheet_path, 20, blind=True, seed=3)
    written = read_table(sheet_path)
    for frame in (sheet, written):
        for column in (*BLIND_HIDDEN, "match_weight"):
            assert column not in frame
        assert not [c for c in frame if c.endswith("_level") or "weight" in c]
        assert {"pair", "left_id", "right_id", "check", "batch", "decision"} <= set(frame)
        assert "full_name_left" in frame and "full_name_right" in frame
    text = sheet_path.read_text()
    assert "exact" not in text and "random" not in text and "uncertain" not in text
    # the batch record still knows why each pair was chosen ...
    batch = written["batch"].iloc[0]
    record = pd.read_csv(run_dir / "review" / "batches" / f"{batch}.csv", dtype=str)
    assert set(record["selected_by"]) <= {"random", "uncertain", "disagreement"}
    assert (record["selected_by"] == "random").sum() == 2
    # ... and the decisions imported from the blind sheet carry it into the labels
    written["decision"] = ["match"] * len(written)
    written.to_csv(sheet_path, index=False)
    labels_path = tmp_path / "labels.csv"
    decisions, labels = import_review(run_dir, sheet_path, labels=labels_path)
    assert len(decisions) == len(written)
    chosen = dict(
        zip(record["left_id"] + "|" + record["right_id"], record["selected_by"], strict=True)
    )
    got = dict(
        zip(labels["left_id"] + "|" + labels["right_id"], labels["selected_by"], strict=True)
    )
    assert got == chosen


def test_the_default_sheet_still_shows_scores(run_dir, tmp_path):
    sheet = export_review(run_dir, tmp_path / "open.csv", 10)
    assert {"selected_by", "match_probability", "explanation"} <= set(sheet)


def test_review_export_blind_from_the_command_line(run_dir, tmp_path, capsys):
    out = tmp_path / "blind.xlsx"
    argv = ["review", "export", str(run_dir), "--n", "8", "--out", str(out), "--blind"]
    assert main(argv) == EXIT_OK
    assert "blind" in capsys.readouterr().out
    sheet = read_table(out)
    assert not set(BLIND_HIDDEN) & set(sheet.columns)
    assert len(sheet) == 8


# --- 4. presets point at files that ship -------------------------------------------------


@pytest.mark.parametrize("name", list_presets())
def test_preset_comments_point_at_files_that_ship(name):
    text = preset_path(name).read_text(encoding="utf-8")
    comments = "\n".join(line for line in text.splitlines() if line.lstrip().startswith("#"))
    assert "shared/" not in comments
    package = Path(bansos_linkage.__file__).parent
    for ref in re.findall(r"bansos_linkage/([\w/]+\.\w+)", comments):
        assert (package / ref).is_file(), ref
    repo_docs = Path(__file__).parents[1] / "docs"
    for ref in re.findall(r"docs/([\w]+\.md)", comments):
        assert (repo_docs / ref).is_file(), ref


def test_blind_sheet_order_does_not_tell_why_a_pair_was_chosen(run_dir, tmp_path):
    export_review(run_dir, tmp_path / "b.csv", 30, blind=True, seed=1)
    batch = read_table(tmp_path / "b.csv")["batch"].iloc[0]
    record = pd.read_csv(run_dir / "review" / "batches" / f"{batch}.csv", dtype=str)
    why = record["selected_by"].tolist()
    assert why.count("random") == 3
    assert why[:3] != ["random"] * 3  # not the random links first, as in an open sheet
