"""DTSEN assembly: persons across sources, duplicates, families, the run folder, the CLI."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from bansos_linkage import Linker, standardise
from bansos_linkage.assembly import (
    Source,
    assemble,
    assemble_files,
    assembly_accuracy,
    link_families,
    parse_source,
    read_assembly,
    source_order,
)
from bansos_linkage.assembly.persons import Nodes, cluster
from bansos_linkage.cli import main
from bansos_linkage.errors import InputError, UsageError
from bansos_linkage.synthetic import generate, scenario

DAY = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def three_sources():
    data = generate(scenario("default", households=300, seed=5))
    sources = {
        name: standardise(data.registers[name], name, reference_date=DAY).records
        for name in ("dtks", "p3ke", "regsosek")
    }
    return data, sources


@pytest.fixture(scope="module")
def assembled(three_sources):
    data, sources = three_sources
    return assemble(sources, linker=Linker(n_jobs=1), survey=data.survey, reference_date=DAY)


# --- persons ---------------------------------------------------------------


def test_every_record_in_exactly_one_person(three_sources, assembled):
    _, sources = three_sources
    records = assembled.records
    assert len(records) == sum(len(s) for s in sources.values())
    assert not records.duplicated(["source", "record_id"]).any()
    assert records["person_id"].notna().all()
    assert set(assembled.persons["person_id"]) == set(records["person_id"])


def test_at_most_one_record_per_source_per_person_but_duplicates(assembled):
    own = assembled.records[assembled.records["duplicate_of"].isna()]
    assert not own.duplicated(["person_id", "source"]).any()


def test_person_and_family_accuracy_against_truth(three_sources, assembled):
    data, _ = three_sources
    accuracy = assembly_accuracy(assembled.records, data.truth, "regsosek")
    assert accuracy["persons"]["f1"] >= 0.995
    assert accuracy["families"]["f1"] >= 0.99


def test_within_source_duplicates_are_found_and_listed(three_sources, assembled):
    data, _ = three_sources
    truth = data.truth["dtks"].set_index("record_id")["person_id"]
    dtks = assembled.records[assembled.records["source"].eq("dtks")]
    listed = dtks[dtks["duplicate_of"].notna()]
    true_dups = int(truth.duplicated().sum())
    assert true_dups > 0
    same = listed["record_id"].map(truth).to_numpy() == listed["duplicate_of"].map(truth).to_numpy()
    assert same.all()  # every listed duplicate is one (precision)
    assert len(listed) >= 0.8 * true_dups


def test_same_input_same_register(three_sources, assembled):
    data, sources = three_sources
    again = assemble(sources, linker=Linker(n_jobs=2), survey=data.survey, reference_date=DAY)
    pd.testing.assert_frame_equal(again.records, assembled.records)
    pd.testing.assert_frame_equal(again.persons, assembled.persons)


def test_one_source_alone_is_deduplicated(three_sources):
    data, sources = three_sources
    alone = assemble({"dtks": sources["dtks"]}, linker=Linker(n_jobs=1), reference_date=DAY)
    accuracy = assembly_accuracy(alone.records, {"dtks": data.truth["dtks"]}, "dtks")
    assert len(alone.persons) < len(sources["dtks"])
    assert accuracy["persons"]["precision"] >= 0.99
    assert accuracy["persons"]["recall"] >= 0.8
    assert alone.transitions is None


def test_backbone_comes_first():
    assert source_order(["dtks", "regsosek"]) == ["regsosek", "dtks"]
    assert source_order(["dtks", "p3ke"], backbone="p3ke") == ["p3ke", "dtks"]
    with pytest.raises(UsageError):
        source_order(["dtks"], backbone="regsosek")


# --- the clustering rule ------------------------------------------------------


def _links(rows):
    return pd.DataFrame(
        rows,
        columns=["kind", "source_a", "record_id_a", "source_b", "record_id_b", "match_weight"],
    ).assign(match_probability=lambda t: 1 / (1 + np.exp2(-t["match_weight"])))


def _nodes():
    frame = {
        "a": pd.DataFrame({"record_id": ["a1", "a2"]}),
        "b": pd.DataFrame({"record_id": ["b1"]}),
        "c": pd.DataFrame({"record_id": ["c1"]}),
    }
    return Nodes(frame)


def _never_scored(a, b, x, y):
    raise AssertionError("no direct comparison expected")


def test_a_person_holds_one_record_per_source_strongest_link_wins():
    nodes = _nodes()
    groups = np.arange(len(nodes))
    links = _links([("link", "a", "a1", "b", "b1", 20.0), ("link", "a", "a2", "b", "b1", 10.0)])
    person, outcome, conflicts = cluster(nodes, groups, links, _never_scored)
    assert person[0] == person[2] != person[1]
    assert outcome.tolist() == ["joined", "collision"]
    assert conflicts["kind"].tolist() == ["collision"]
    assert conflicts["record_ids"].iat[0] == "a2;b1"


def test_with_a_veto_a_transitive_link_is_refused_when_the_direct_pair_scores_below_it():
    nodes = _nodes()
    links = _links([("link", "a", "a1", "b", "b1", 20.0), ("link", "b", "b1", "c", "c1", 8.0)])
    asked = []

    def score(a, b, ids_a, ids_b):
        asked.append((a, b, list(ids_a), list(ids_b)))
        return np.full(len(ids_a), 0.001)

    person, outcome, conflicts = cluster(nodes, np.arange(4), links, score, veto_probability=0.01)
    assert asked == [("a", "c", ["a1"], ["c1"])]
    assert person[0] == person[2] and person[3] != person[2]
    assert outcome.tolist() == ["joined", "transitive"]
    assert "refused" in conflicts["detail"].iat[0]


def test_transitive_person_kept_and_reported_when_the_direct_pair_is_only_doubtful():
    nodes = _nodes()
    links = _links([("link", "a", "a1", "b", "b1", 20.0), ("link", "b", "b1", "c", "c1", 8.0)])
    person, outcome, conflicts = cluster(
        nodes, np.arange(4), links, lambda a, b, x, y: np.full(len(x), 0.3)
    )
    assert person[0] == person[2] == person[3]
    assert outcome.tolist() == ["joined", "joined"]
    assert conflicts["detail"].str.startswith("kept").all() and len(conflicts) == 1


def test_a_duplicate_pair_never_joins_two_people_of_another_source():
    nodes = Nodes({"a": pd.DataFrame({"record_id": ["1", "2", "3"]}),
                    "b": pd.DataFrame({"record_id": ["x", "y"]})})  # fmt: skip
    links = _links(
        [
            ("link", "a", "1", "b", "x", 30.0),
            ("link", "a", "2", "b", "y", 25.0),
            ("duplicate", "a", "1", "a", "2", 12.0),  # alike, but x and y are two people
            ("duplicate", "a", "1", "a", "3", 10.0),  # 3 has no one else: a duplicate of 1
        ]
    )
    person, outcome, _ = cluster(nodes, np.arange(5), links, _never_scored)
    assert outcome.tolist() == ["joined", "joined", "collision", "joined"]
    assert person[0] == person[2] == person[3] != person[1]


# --- the Linker within one register ----------------------------------------


def test_linker_clones_and_scores_given_pairs(three_sources):
    _, sources = three_sources
    template = Linker(threshold=0.7, n_jobs=1)
    copy = clone(template)
    assert copy.get_params()["threshold"] == 0.7 and copy.model_ is None
    assert "not fitted" in repr(copy)
    model = copy.fit(sources["dtks"], sources["regsosek"])
    weights = model.score_pairs(
        sources["dtks"], sources["regsosek"], ["no-such-id"], [sources["regsosek"]["record_id"][0]]
    )
    assert np.isnan(weights).all()
    with pytest.raises(ValueError):
        template.set_params(no_such_parameter=1)


def test_duplicate_pairs_need_evidence_about_the_person(three_sources):
    data, sources = three_sources
    dtks = sources["dtks"]
    pairs = Linker(n_jobs=1).fit_duplicate_pairs(dtks)
    truth = data.truth["dtks"].set_index("record_id")["person_id"]
    same = pairs["record_id_a"].map(truth).to_numpy() == pairs["record_id_b"].map(truth).to_numpy()
    assert len(pairs) and same.all()
    assert (pairs["record_id_a"] != pairs["record_id_b"]).all()


# --- families -------------------------------------------------------------------


def _family_case():
    """Backbone households H1 (4 people, village V1) and H2 (V2); the other source's
    families: K1 same, K2 split over H1/H2, K3 not found, K4 + K5 merged into H2, K6
    moved (its village W1 is H1's, by the crosswalk the linked people show), K7 partial."""
    bb = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(1, 12)],
            "household_id": ["H1"] * 4 + ["H2"] * 3 + ["H3"] * 2 + ["H4"] * 2,
            "village_code": ["V1"] * 4 + ["V2"] * 3 + ["V3"] * 2 + ["V4"] * 2,
            "district_code": ["D1"] * 4 + ["D2"] * 3 + ["D3"] * 2 + ["D4"] * 2,
            "region_scheme": "bps",
        }
    )
    other = pd.DataFrame(
        {
            "record_id": [f"d{i}" for i in range(1, 14)],
            "kk_number": [
                "K1",
                "K1",
                "K2",
                "K2",
                "K3",
                "K4",
                "K5",
                "K6",
                "K6",
                "K7",
                "K7",
                "K7",
                "K7",
            ],
            "village_code": ["W1"] * 4 + ["W1", "W2", "W2", "W1", "W1"] + ["W4"] * 4,
            "district_code": "E",
            "region_scheme": "kemendagri",
        }
    )
    person = {
        "r1": "P1", "r2": "P2", "r3": "P3", "r4": "P4", "r5": "P5", "r6": "P6", "r7": "P7",
        "r8": "P8", "r9": "P9", "r10": "P10", "r11": "P11",
        "d1": "P1", "d2": "P2", "d3": "P3", "d4": "P5", "d5": "P20", "d6": "P6", "d7": "P7",
        "d8": "P8", "d9": "P9", "d10": "P10", "d11": "P21", "d12": "P22", "d13": "P23",
    }  # fmt: skip
    records = pd.DataFrame(
        {
            "source": ["bb"] * len(bb) + ["other"] * len(other),
            "record_id": [*bb["record_id"], *other["record_id"]],
        }
    )
    records["person_id"] = records["record_id"].map(person)
    records["duplicate_of"] = None
    return records, {"bb": bb, "other": other}


def test_family_statuses():
    records, sources = _family_case()
    out, families, links = link_families(records, sources)
    status = links[links["source"].eq("other")].set_index("source_family")["status"]
    keys = out[out["source"].eq("other")].set_index("record_id")["source_family"]
    by_kk = {
        kk: status[keys[rid]]
        for rid, kk in zip(
            sources["other"]["record_id"], sources["other"]["kk_number"], strict=True
        )
    }
    assert by_kk["K1"] == "same"
    assert by_kk["K2"] == "split"
    assert by_kk["K3"] == "not_found"
    assert by_kk["K4"] == by_kk["K5"] == "merged"
    assert by_kk["K6"] == "moved"
    assert by_kk["K7"] == "partial"
    new = links[links["status"].eq("new") & links["source"].eq("other")]
    assert new["family_id"].tolist() == []  # every household was reached by some family
    assert len(families) == 5  # H1..H4 and the family of the one not found
    assert families["n_persons"].sum() == records["person_id"].nunique()


def test_a_family_of_another_scheme_is_placed_in_the_backbone_village():
    records, sources = _family_case()
    out, families, links = link_families(records, sources)
    own = out.set_index("record_id")["family_id"]["d5"]  # K3: nobody found
    row = families.set_index("family_id").loc[own]
    assert (row["village_code"], row["district_code"]) == ("V1", "D1")  # W1 is V1
    k3 = links[links["family_id"].eq(own) & links["source"].eq("other")]
    assert k3[["village_code", "district_code"]].values.tolist() == [["V1", "D1"]]


def test_people_without_a_backbone_record_follow_their_family():
    records, sources = _family_case()
    out, _, _ = link_families(records, sources)
    family = out.set_index("record_id")["family_id"]
    assert family["d11"] == family["r10"]  # K7's unfound members join H4's family
    assert family["d5"] not in set(family[[f"r{i}" for i in range(1, 12)]])


# --- files, run folder, CLI ----------------------------------------------------


def test_parse_source():
    assert parse_source("dtks=a.csv") == Source("dtks", __import__("pathlib").Path("a.csv"))
    assert parse_source("x=C:/data/b.csv").schema is None
    assert parse_source("x=b.xlsx:regsosek").schema == "regsosek"
    with pytest.raises(UsageError):
        parse_source("dtks")


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, three_sources):
    data, _ = three_sources
    folder = tmp_path_factory.mktemp("assemble") / "run"
    raw = {name: data.registers[name].copy() for name in ("dtks", "regsosek")}
    raw["dtks"].loc[3, "NIK"] = "x" * 3  # a row standardisation refuses? keep counts honest
    raw["dtks"].loc[5, "ID DTKS"] = None  # no id: rejected with a reason
    sources = [Source(name, table) for name, table in raw.items()]
    result = assemble_files(
        sources, folder, reference_date=DAY, linker=Linker(n_jobs=1), survey=data.survey
    )
    return folder, raw, result


def test_every_input_row_in_exactly_one_output(run_folder):
    folder, raw, _ = run_folder
    placed = pd.read_csv(folder / "sources.csv", dtype=str)
    rejected = pd.read_csv(folder / "rejected.csv", dtype=str)
    for name, table in raw.items():
        assert (placed["source"].eq(name)).sum() + (rejected["source"].eq(name)).sum() == len(table)
    assert rejected["reason"].notna().all() and len(rejected) >= 1


def test_run_folder_reads_back_identically(run_folder):
    folder, _, result = run_folder
    back, records = read_assembly(folder)
    assert set(records) == {"dtks", "regsosek"}
    assert back.records["person_id"].tolist() == result.records["person_id"].tolist()
    assert back.persons["person_id"].tolist() == result.persons["person_id"].tolist()
    assert back.summary["persons"] == result.summary["persons"]
    assert sorted(p.suffix for p in (folder / "worklists").iterdir()) == [".xlsx"] * len(
        list((folder / "worklists").iterdir())
    )


def test_reader_refuses_an_edited_folder(run_folder, tmp_path):
    import shutil

    folder, _, _ = run_folder
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    with open(copy / "persons.csv", "a") as f:
        f.write("P9999999999\n")
    with pytest.raises(InputError, match="persons.csv"):
        read_assembly(copy)
    with pytest.raises(InputError):
        read_assembly(tmp_path)


def test_cli_assemble_and_single_source(tmp_path, three_sources):
    data, _ = three_sources
    data.registers["dtks"].to_csv(tmp_path / "dtks.csv", index=False)
    data.registers["p3ke"].to_csv(tmp_path / "p3ke.csv", index=False)
    code = main(
        ["-q", "assemble", "--source", f"dtks={tmp_path / 'dtks.csv'}", "--source",
         f"p3ke={tmp_path / 'p3ke.csv'}", "--out", str(tmp_path / "run"),
         "--reference-date", "2026-01-01", "--worklists-by", "district"]
    )  # fmt: skip
    assert code == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert list(summary["sources"]) == ["dtks", "p3ke"]  # no Regsosek: the first leads
    code = main(
        ["-q", "assemble", "--source", f"dtks={tmp_path / 'dtks.csv'}", "--out",
         str(tmp_path / "alone"), "--reference-date", "2026-01-01"]
    )  # fmt: skip
    assert code == 0
    persons = pd.read_csv(tmp_path / "alone" / "persons.csv")
    assert len(persons) < len(data.registers["dtks"])


def test_cli_assemble_refuses_bad_sources(tmp_path, capsys):
    assert main(["assemble", "--source", "dtks", "--out", str(tmp_path / "o")]) == 2
    assert "NAME=FILE" in capsys.readouterr().err  # refused before any work
    assert main(["assemble", "--source", f"x={tmp_path / 'missing.csv'}", "--out",
                 str(tmp_path / "o")]) == 2  # fmt: skip
    (tmp_path / "a.csv").write_text("A,B\n1,2\n")
    code = main(
        ["assemble", "--source", f"mine={tmp_path / 'a.csv'}", "--out", str(tmp_path / "o")]
    )
    assert code == 2
    assert "schema" in capsys.readouterr().err


def test_scored_families_carry_their_rank_and_transitions_add_up(run_folder, assembled):
    folder, _, _ = run_folder
    families = assembled.families
    scored = families["desil"].notna()
    assert scored.mean() > 0.9  # every family with a Regsosek household is ranked
    assert families.loc[scored, "desil"].between(1, 10).all()
    assert families.loc[scored, "rank"].is_unique
    national = pd.read_csv(folder / "transitions_national.csv")
    provinces = pd.read_csv(folder / "transitions_by_province.csv")
    villages = pd.read_csv(folder / "transitions_by_village.csv")
    for column in ("stay", "drop", "join"):
        assert national[column].sum() == provinces[column].sum() == villages[column].sum()
    assert national["stay"].sum() + national["drop"].sum() > 0


def test_a_saved_within_register_model_loads_as_one(three_sources, tmp_path):
    _, sources = three_sources
    model = Linker(n_jobs=1).fit_within(sources["dtks"])
    loaded = Linker.load(model.save(tmp_path / "dtks__dtks.json"))
    assert loaded.within_ is True
    pd.testing.assert_frame_equal(
        loaded.duplicate_pairs(sources["dtks"]), model.duplicate_pairs(sources["dtks"])
    )


def test_cli_update_and_verval_import(tmp_path, three_sources, capsys):
    data, _ = three_sources
    for name in ("dtks", "regsosek"):
        data.registers[name].to_csv(tmp_path / f"{name}.csv", index=False)
    given = [
        f"--source=dtks={tmp_path / 'dtks.csv'}",
        f"--source=regsosek={tmp_path / 'regsosek.csv'}",
    ]
    day = ["--reference-date", "2026-01-01", "-q"]
    assert main(["assemble", *given, "--out", str(tmp_path / "run"), *day]) == 0
    # this month's DTKS: the same export less its first 20 rows
    data.registers["dtks"].iloc[20:].to_csv(tmp_path / "dtks_02.csv", index=False)
    update = [
        "assemble",
        "--update",
        str(tmp_path / "run"),
        f"--source=dtks={tmp_path / 'dtks_02.csv'}",
    ]
    assert main([*update, "--out", str(tmp_path / "run_02"), *day]) == 0
    changes = pd.read_csv(tmp_path / "run_02" / "changes.csv")
    removed = changes[changes["level"].eq("record") & changes["change"].eq("removed")]
    assert len(removed) == 20
    before = pd.read_csv(tmp_path / "run" / "sources.csv", dtype=str)
    after = pd.read_csv(tmp_path / "run_02" / "sources.csv", dtype=str)
    kept = before.merge(after, on=["source", "record_id"], suffixes=("", "_02"))
    assert (kept["person_id"] == kept["person_id_02"]).all()  # ids are stable
    with pytest.raises(SystemExit) as refused:  # argparse: --survey not allowed with --update
        main([*update, "--out", str(tmp_path / "x"), "--survey", str(tmp_path / "dtks.csv")])
    assert refused.value.code == 2
    # an unfilled worklist imports as nothing decided yet
    book = sorted((tmp_path / "run_02" / "worklists").glob("*.xlsx"))[0]
    capsys.readouterr()
    assert main(["verval", "import", str(tmp_path / "run_02"), str(book)]) == 0
    assert "0 decisions applied" in capsys.readouterr().out
