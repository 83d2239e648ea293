"""Linking new records against an earlier run (``link-new``, ``runs.link.link_new_files``)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from bansos_linkage import read_table
from bansos_linkage.cli import EXIT_OK, EXIT_USAGE, main
from bansos_linkage.errors import UsageError
from bansos_linkage.io import restore_formulas
from bansos_linkage.runs import verify_run
from bansos_linkage.runs.link import OUTPUT_FILES, link_files, link_new_files, read_run
from bansos_linkage.synthetic import generate, scenario

REF = dt.date(2026, 1, 1)
REPEATS = 6  # part-one people exported again under new ids


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """A DTKS export split by family in two; the first part linked to Regsosek; the second
    part (plus a few first-part people again, with new ids) as this month's additions."""
    data = generate(scenario("default", households=200, seed=1))
    dtks, regsosek = data.registers["dtks"], data.registers["regsosek"]
    kk = dtks["NOMOR KK"].astype(str)
    families = pd.unique(kk)
    first = kk.isin(set(families[: len(families) // 2])).to_numpy()
    part1, part2 = dtks[first], dtks[~first]
    again = part1[part1["NIK"].notna()].head(REPEATS).copy()
    again["ID DTKS"] = [f"NEW-{i}" for i in range(len(again))]
    new = pd.concat([part2, again], ignore_index=True)
    folder = tmp_path_factory.mktemp("link_new")
    run1 = link_files(part1, regsosek, "dtks", "regsosek", folder / "run1", reference_date=REF)
    return {
        "data": data,
        "dtks": dtks,
        "part1": part1,
        "part2": part2,
        "again": again,
        "new": new,
        "run1": run1,
        "folder": folder,
    }


@pytest.fixture(scope="module")
def new_run(split):
    out = split["folder"] / "new"
    return link_new_files(split["new"], split["folder"] / "run1", "dtks", out), out


def test_every_new_record_ends_linked_unlinked_or_rejected(split, new_run):
    run, out = new_run
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    verify_run(out)
    folder = read_run(out)  # review export and evaluate read it like a link run
    links = restore_formulas(read_table(out / "links.csv"))
    unlinked = read_table(out / "unlinked_left.csv")
    rejected = read_table(out / "rejected.csv")
    ids = split["new"]["ID DTKS"].dropna().astype(str)
    linked = set(links["left_id"])
    assert linked.isdisjoint(set(unlinked["record_id"]))
    assert linked | set(unlinked["record_id"]) | set(rejected["record_id"].dropna()) >= set(ids)
    s = run.result.summary
    assert s["linked_left"] + s["unlinked_left"] + s["rejected_left"] == len(split["new"])
    assert s["input_left"] == len(split["new"]) and s["existing_run"]
    # linked against the earlier run's right register, with its model (no refit)
    right = pd.read_parquet(split["folder"] / "run1" / "records_right.parquet")
    assert len(folder.right) == len(right) and set(links["right_id"]) <= set(right["record_id"])
    assert (out / "model.json").read_text() != ""
    assert run.linker.fitted_model.parameters().equals(
        split["run1"].linker.fitted_model.parameters()
    )
    assert (out / "links_review.csv").exists()


def test_links_are_those_of_a_full_link(split, new_run, tmp_path):
    run, _ = new_run
    new_ids = set(split["part2"]["ID DTKS"].astype(str))
    mine = run.result.links[run.result.links["left_id"].isin(new_ids)]
    # a full link of the whole export with the same model: the same links for these records
    same_model = link_files(
        split["dtks"],
        split["data"].registers["regsosek"],
        "dtks",
        "regsosek",
        reference_date=REF,
        model=split["folder"] / "run1" / "model.json",
    ).result.links
    theirs = same_model[same_model["left_id"].isin(new_ids)]
    a = set(zip(mine["left_id"], mine["right_id"], strict=True))
    b = set(zip(theirs["left_id"], theirs["right_id"], strict=True))
    assert len(a ^ b) <= max(1, 0.01 * len(b))
    both = mine.merge(theirs, on=["left_id", "right_id"])
    assert (both["match_probability_x"] - both["match_probability_y"]).abs().max() < 1e-6
    # and a full link fitted afresh (another EM): nearly the same links
    refit = link_files(
        split["dtks"], split["data"].registers["regsosek"], "dtks", "regsosek", reference_date=REF
    ).result.links
    refit = refit[refit["left_id"].isin(new_ids)]
    c = set(zip(refit["left_id"], refit["right_id"], strict=True))
    assert len(a & c) >= 0.97 * max(len(a), len(c))


def test_new_records_of_already_linked_people_are_reported(split, new_run):
    run, _ = new_run
    links = run.result.links
    earlier = split["run1"].result.links
    before = earlier.groupby("right_id")["left_id"].agg(";".join)
    assert "right_linked_before" in links
    expected = links["right_id"].map(before)
    got = links["right_linked_before"].astype(object)
    assert (got.isna() == expected.isna()).all()
    assert (got[got.notna()] == expected[expected.notna()]).all()
    # the people exported again link to the right record their first export linked to
    again = dict(zip(split["again"]["ID DTKS"], split["again"]["ID DTKS"].index, strict=True))
    first_ids = split["part1"].loc[list(again.values()), "ID DTKS"].astype(str).tolist()
    reported = links[links["left_id"].isin(list(again))]
    assert len(reported) >= REPEATS - 1
    assert reported["right_linked_before"].notna().all()
    for old in reported["right_linked_before"]:
        assert set(old.split(";")) & set(first_ids)
    assert run.result.summary["linked_to_already_linked"] == int(
        links["right_linked_before"].notna().sum()
    )
    # the part-two people were in no earlier export: none of their links is flagged
    fresh = links[links["left_id"].isin(set(split["part2"]["ID DTKS"].astype(str)))]
    assert fresh["right_linked_before"].notna().mean() < 0.05


def test_link_new_refuses_to_write_into_the_run_it_reads(split):
    with pytest.raises(UsageError):
        link_new_files(split["new"], split["folder"] / "run1", "dtks", split["folder"] / "run1")


def test_link_new_from_the_command_line(split, tmp_path, capsys):
    new_csv = tmp_path / "new.csv"
    split["new"].to_csv(new_csv, index=False)
    out = tmp_path / "out"
    argv = ["link-new", str(new_csv), str(split["folder"] / "run1"), "--schema", "dtks"]
    assert main([*argv, "--out", str(out)]) == EXIT_OK
    printed = capsys.readouterr().out
    assert "links to" in printed and "right_linked_before" in printed
    assert len(read_table(out / "links.csv")) > 0.8 * len(split["new"])
    # quiet, and a folder that is no run
    assert main(["-q", *argv, "--out", str(tmp_path / "quiet")]) == EXIT_OK
    assert capsys.readouterr().out == ""
    argv[2] = str(tmp_path)
    assert main([*argv, "--out", str(tmp_path / "x")]) == EXIT_USAGE
    assert "not a link run folder" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--workers", "2"], "argument --workers: needs --engine dask"),
        (
            ["--engine", "dask", "--scheduler", "tcp://h:8786", "--memory-limit", "4GB"],
            "argument --memory-limit: not allowed with argument --scheduler",
        ),
    ],
)
def test_link_new_engine_options_are_checked_as_for_link(split, tmp_path, capsys, extra, said):
    argv = ["link-new", "new.csv", str(split["folder"] / "run1"), "--schema", "dtks"]
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--out", str(tmp_path / "out"), *extra])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage: bansos-linkage link-new" in err and said in err
    assert not (tmp_path / "out").exists()
