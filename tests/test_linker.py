"""The Linker end to end: accuracy, nothing lost, model file round trip and errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bansos_linkage.errors import (
    EmptyInputError,
    NotFittedError,
    SchemaError,
    UnknownRecordError,
)
from bansos_linkage.evaluation import exact_nik_links
from bansos_linkage.linkage.blocking import family_codes, pairable
from bansos_linkage.linkage.fellegi_sunter import logit2
from bansos_linkage.linkage.linker import FAMILY_COLUMNS, Linker


@pytest.fixture(scope="module")
def linked(dtks_regsosek):
    p = dtks_regsosek
    calls = []
    linker = Linker().fit(p.left, p.right, progress=lambda *a: calls.append(a))
    return linker, linker.link(p.left, p.right, keep_pairs=True), calls


def _f1(p, links):
    lp = p.data.truth["dtks"].set_index("record_id")["person_id"]
    rp = p.data.truth["regsosek"].set_index("record_id")["person_id"]
    correct = (lp.loc[links["left_id"]].to_numpy() == rp.loc[links["right_id"]].to_numpy()).sum()
    precision, recall = correct / len(links), correct / len(p.true_left)
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_links_are_accurate_and_beat_exact_nik(linked, dtks_regsosek):
    p = dtks_regsosek
    _, result, _ = linked
    precision, recall, f1 = _f1(p, result.links)
    assert precision > 0.99 and recall > 0.99 and f1 > 0.993
    exact = exact_nik_links(p.left, p.right)
    assert f1 > _f1(p, exact)[2] + 0.05


def test_every_record_ends_in_exactly_one_output(linked, dtks_regsosek):
    p = dtks_regsosek
    _, result, _ = linked
    left_out = pd.concat([result.links["left_id"], result.unlinked_left["record_id"]])
    assert sorted(left_out.unique()) == sorted(p.left["record_id"])
    assert not result.unlinked_left["record_id"].isin(result.links["left_id"]).any()
    right_out = pd.concat([result.links["right_id"], result.unlinked_right["record_id"]])
    assert sorted(right_out.unique()) == sorted(p.right["record_id"])
    # a record has more than one link only through a duplicate on the other side
    for side in ("left_id", "right_id"):
        shared = result.links[result.links[side].duplicated(keep=False)]
        assert shared.groupby(side)["duplicate_of"].apply(lambda s: s.notna().sum() >= 1).all()
    s = result.summary
    assert s["linked_left"] + s["unlinked_left"] == s["n_left"] == len(p.left)


def test_duplicates_found_in_dtks_are_mostly_real(linked, dtks_regsosek):
    p = dtks_regsosek
    _, result, _ = linked
    dups = result.links.dropna(subset=["duplicate_of"])
    dups = dups[dups["duplicate_of"].isin(p.left["record_id"])]
    assert len(dups) > 0
    person = p.data.truth["dtks"].set_index("record_id")["person_id"]
    same = person.loc[dups["left_id"]].to_numpy() == person.loc[dups["duplicate_of"]].to_numpy()
    assert same.mean() > 0.9


def test_duplicates_are_decided_on_the_registers_own_prior(linked, dtks_regsosek):
    """Two records of one register are far less often one person than a DTKS and a
    Regsosek record: the run estimates each register's own prior and every duplicate
    it links is likely on that prior, not only on the prior across the registers."""
    from bansos_linkage.linkage.fellegi_sunter import logit2

    linker, result, _ = linked
    p, s = dtks_regsosek, result.summary
    own, across = s["duplicate_prior"], s["em"]["lambda"]
    assert 0 < own["left"] < across / 4 and 0 < own["right"] < across / 4
    for side, register, frame in (("left", "left_id", p.left), ("right", "right_id", p.right)):
        dups = result.links.dropna(subset=["duplicate_of"])
        dups = dups[dups["duplicate_of"].isin(frame["record_id"])]
        if not len(dups):
            continue
        weights = linker.score_pairs(frame, frame, dups["duplicate_of"], dups[register])
        shift = logit2(own[side]) - logit2(across)
        assert (weights + shift >= logit2(linker.duplicate_threshold) - 1e-6).all()


def test_a_son_carrying_his_fathers_nik_is_no_duplicate_of_him(linked, dtks_regsosek):
    """The head's NIK typed on his son's row, the son's own date left empty: the NIK's
    date agrees with the head's whoever the son is. Only their roles tell them apart."""
    linker, left = linked[0], dtks_regsosek.left
    tests = (
        left["relationship"].eq(1),
        left["sex"].eq("M"),
        left["nik"].notna(),
        left["birth_date_precision"].eq("day"),
        left["nik_birth_date"].eq(left["birth_date"]),
    )
    heads = left[np.logical_and.reduce([t.fillna(False).to_numpy(dtype=bool) for t in tests])]
    head = heads.iloc[0]
    family = left[
        (left["kk_number"] == head["kk_number"]) & (left["record_id"] != head["record_id"])
    ]
    son = family.iloc[[0]].copy()  # another member's name
    nik_columns = [c for c in left.columns if c.startswith("nik") or c == "bk_nik_birth_date"]
    for column in nik_columns:
        son[column] = head[column]
    son["sex"], son["relationship"] = head["sex"], 3
    son["birth_date"], son["birth_date_precision"] = pd.NaT, pd.NA
    son["bk_birth_date"], son["bk_birth_year"] = pd.NA, pd.NA
    son["record_id"] = "SON"
    twin = son.assign(record_id="AGAIN", relationship=1)  # the same row in the head's role
    register = pd.concat([left[left["record_id"] == head["record_id"]], son, twin])
    weights = linker.score_pairs(register, register, [head["record_id"]] * 2, ["SON", "AGAIN"])
    assert (weights > logit2(linker.duplicate_threshold)).all()
    found = linker.duplicate_pairs(register)
    pairs = set(zip(found["record_id_a"], found["record_id_b"], strict=True))
    assert (head["record_id"], "SON") not in pairs
    assert (head["record_id"], "AGAIN") in pairs


def test_links_table_columns_and_level_names(linked):
    linker, result, calls = linked
    labels = [c.label for c in linker.comparisons]
    assert list(result.links.columns) == [
        "left_id",
        "right_id",
        "match_probability",
        "match_weight",
        *labels,
        "duplicate_of",
    ]
    below = result.links["match_probability"] < linker.threshold  # sole candidates only
    assert below.sum() == result.summary["sole_candidates"] < len(result.links) / 100
    assert set(result.links["name"]) <= set(linker.comparisons[0].levels) | {"missing"}
    assert len(calls) == len(linker.rules)  # one progress call per blocking rule
    assert (result.pairs["link"].sum()) == len(result.links)


def test_summary_reports_the_time_of_every_step(linked, dtks_regsosek):
    # link() scores without fitting (no EM); fit_link does both
    seconds = linked[1].summary["seconds"]
    assert {"block", "compare", "score", "resolve"} <= set(seconds)
    p = dtks_regsosek
    seconds = Linker().fit_link(p.left, p.right).summary["seconds"]
    assert {"block", "compare", "em", "score", "resolve"} <= set(seconds)
    assert all(value >= 0 for value in seconds.values())


def test_pairs_scored_directly_weigh_what_they_weighed_in_the_run(linked, dtks_regsosek):
    # score_pairs prepares only the rows it compares; name frequencies still come from
    # the whole register, so a linked pair weighs exactly what the run gave it
    linker, result, _ = linked
    links = result.links.head(500)
    p = dtks_regsosek
    weights = linker.score_pairs(p.left, p.right, links["left_id"], links["right_id"])
    np.testing.assert_allclose(weights, links["match_weight"].to_numpy(), rtol=0, atol=1e-9)


def test_unlinked_records_carry_their_best_candidate(linked):
    _, result, _ = linked
    u = result.unlinked_left
    with_candidate = u["best_candidate_id"].notna()
    assert with_candidate.any()
    assert (u.loc[with_candidate, "best_match_probability"] < 1).all()
    assert u.loc[~with_candidate, "best_match_weight"].isna().all()


def test_model_file_round_trip_gives_identical_links(linked, dtks_regsosek, tmp_path):
    p = dtks_regsosek
    linker, result, _ = linked
    path = linker.save(tmp_path / "model.json")
    content = json.loads(path.read_text())
    assert content["format"] == "bansos-linkage-model"
    assert [c["type"] for c in content["comparisons"]][:3] == ["name", "nik", "date"]
    again = Linker.load(path).link(p.left, p.right)
    pd.testing.assert_frame_equal(again.links, result.links)


def test_same_data_same_links(linked, dtks_regsosek):
    p = dtks_regsosek
    _, result, _ = linked
    again = Linker().fit(p.left, p.right).link(p.left, p.right)
    pd.testing.assert_frame_equal(again.links, result.links)


def _broken(tmp_path, linker, edit):
    path = linker.save(tmp_path / "model.json")
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))
    return path


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c.update(format="other"), "format"),
        (lambda c: c.update(version=99), "version"),
        (lambda c: c.pop("matcher"), "matcher"),
        (lambda c: c["comparisons"][0].update(type="soundex"), "comparisons[0].type"),
        (lambda c: c["blocking_rules"][1].update(colour="red"), "blocking_rules[1].colour"),
        (lambda c: c["matcher"]["fitted"]["m"][1].pop(), "m[1]"),
        (lambda c: c["matcher"]["fitted"].update(comparisons=["a"]), "comparisons"),
        (lambda c: c["matcher"]["fitted"].update({"lambda": 2}), "lambda"),
        (lambda c: c["settings"].pop("threshold"), "settings"),
    ],
)
def test_bad_model_files_name_the_file_and_key(linked, tmp_path, edit, key):
    linker, _, _ = linked
    path = _broken(tmp_path, linker, edit)
    with pytest.raises(SchemaError) as err:
        Linker.load(path)
    assert str(path) in str(err.value) and key in str(err.value)


def test_a_model_saved_before_a_level_was_added_still_loads(dtks_regsosek, tmp_path):
    # saved by the version whose name comparison had no phonetic_words level
    path = Path(__file__).parent / "data" / "model_before_phonetic_words.json"
    saved = json.loads(path.read_text())
    old_levels = saved["comparisons"][0]["levels"]
    assert "phonetic_words" not in old_levels
    linker = Linker.load(path)
    name = linker.comparisons_[0]
    assert "phonetic_words" in name.levels and len(name.levels) == len(old_levels) + 1
    params = linker.parameters().set_index(["comparison", "level_name"])
    old_m = saved["matcher"]["fitted"]["m"][0]
    for number, level in enumerate(reversed(old_levels)):  # level numbers: weakest first
        assert params.loc[("name", level), "m"] == pytest.approx(old_m[number])
    # the level it never saw weighs nothing either way
    assert params.loc[("name", "phonetic_words"), "match_weight"] == 0
    p = dtks_regsosek
    assert len(linker.link(p.left, p.right).links) > 0
    # saved again, it is a current file
    again = Linker.load(linker.save(tmp_path / "model.json"))
    pd.testing.assert_frame_equal(again.parameters(), linker.parameters())


def test_not_json_is_a_clear_error(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("{not json")
    with pytest.raises(SchemaError, match="not a JSON model file"):
        Linker.load(path)


def test_mismatched_schema_is_refused(linked, dtks_regsosek):
    linker, _, _ = linked
    p = dtks_regsosek
    wrong = p.left.drop(columns=["full_name", "nik"])
    with pytest.raises(SchemaError, match="full_name"):
        linker.link(wrong, p.right.drop(columns=["full_name", "nik"]))
    with pytest.raises(SchemaError, match="record_id"):
        linker.link(p.left.drop(columns=["record_id"]), p.right)


def test_settings_are_checked_at_fit(dtks_regsosek):
    p = dtks_regsosek
    # as in scikit-learn, the constructor only stores its parameters
    bad = [{"resolution": "best"}, {"threshold": 3}, {"term_frequency": ("surname",)}]
    messages = ["resolution", "probability", "unknown comparisons"]
    for params, message in zip(bad, messages, strict=True):
        linker = Linker(**params)
        assert linker.get_params()[next(iter(params))] == next(iter(params.values()))
        with pytest.raises(ValueError, match=message):
            linker.fit(p.left, p.right)
    with pytest.raises(NotFittedError, match="not fitted"):
        Linker().link(pd.DataFrame(), pd.DataFrame())
    with pytest.raises(NotFittedError):
        Linker().fitted_model  # noqa: B018


def test_errors_name_columns_and_ids_not_values(linked, dtks_regsosek):
    p = dtks_regsosek
    linker, result, _ = linked
    with pytest.raises(EmptyInputError) as err:
        linker.link(p.left.iloc[:0], p.right)
    assert err.value.side == "left"
    with pytest.raises(EmptyInputError):
        Linker().fit(p.left, p.right.iloc[:0])
    # a blocking column on one side only: the column is named, not a bare KeyError
    with pytest.raises(SchemaError, match="right register has no column 'nik'"):
        linker.link(p.left, p.right.drop(columns=["nik"]))
    name = p.left["full_name"].iloc[0]
    with pytest.raises(UnknownRecordError) as err:
        linker.explain(p.left, p.right, p.left["record_id"].iloc[0], "nobody")
    assert err.value.record_id == "nobody" and err.value.side == "right"
    assert name not in str(err.value)
    with pytest.raises(SchemaError, match="is_match"):
        linker.fit_ml(p.left, p.right, result.links[["left_id", "right_id"]])


def test_strict_one_to_one_never_shares_a_counterpart(linked, dtks_regsosek):
    p = dtks_regsosek
    linker, _, _ = linked
    strict = Linker.__new__(Linker)
    strict.__dict__.update(linker.__dict__)
    strict.resolution = "one_to_one"
    links = strict.link(p.left, p.right).links
    assert links["right_id"].is_unique and links["duplicate_of"].isna().all()
    assert np.isfinite(links["match_weight"]).all()


def test_explain_adds_up_to_the_links_match_weight(linked, dtks_regsosek):
    p = dtks_regsosek
    linker, result, _ = linked
    link = result.links.iloc[5]
    table = linker.explain(p.left, p.right, link["left_id"], link["right_id"])
    assert table["term"].iloc[0] == "prior" and table["term"].iloc[-1] == "final"
    assert table["cumulative"].iloc[-1] == pytest.approx(link["match_weight"], abs=1e-4)
    named = table.set_index("term").loc["name", "level_name"]
    assert named == link["name"]
    with pytest.raises(UnknownRecordError, match="no left record"):
        linker.explain(p.left, p.right, "nobody", link["right_id"])


def _truth(p):
    from bansos_linkage.evaluation import true_links

    return true_links(
        p.data.truth["dtks"].set_index("record_id")["person_id"],
        p.data.truth["regsosek"].set_index("record_id")["person_id"],
    )


def _labels(p, result, n: int = 300) -> pd.DataFrame:
    from bansos_linkage.review import oracle_decisions, select_for_review, training_pairs

    batch = select_for_review(
        result.pairs, n, threshold=0.5, pattern=["name", "nik", "birth_date"], seed=0
    )
    labels = training_pairs(oracle_decisions(batch, _truth(p)))
    # a pair blocking never proposed (field verification) and one with unknown ids
    extra = pd.DataFrame(
        {
            "left_id": [p.left["record_id"].iloc[0], "NOT-A-RECORD"],
            "right_id": [p.right["record_id"].iloc[-1], p.right["record_id"].iloc[0]],
            "is_match": [False, True],
        }
    )
    return pd.concat([labels, extra], ignore_index=True)


@pytest.fixture(scope="module")
def ml_linked(linked, dtks_regsosek):
    """An ML matcher that beats a deliberately poor Fellegi-Sunter cut-off on the labels."""
    p = dtks_regsosek
    labels = _labels(p, linked[1])
    # the unsupervised model misses most matches (nor links each other's only candidates)
    linker = Linker(threshold=1 - 1e-12, sole_candidates=False)
    ml_result = linker.fit_link(p.left, p.right, keep_pairs=True, labels=labels)
    return linker, ml_result, labels


def test_labels_never_make_the_links_worse(linked, dtks_regsosek):
    p = dtks_regsosek
    _, unsupervised, _ = linked
    labels = _labels(p, unsupervised, n=100)
    linker = Linker()
    result = linker.fit_link(p.left, p.right, labels=labels)
    t = result.summary["ml_training"]
    # the run says which model decided and why
    assert result.summary["matcher"] in {"ml", "fellegi_sunter"} and t["why"]
    assert t["fs_errors_on_labels"] >= 0
    assert _f1(p, result.links)[2] >= _f1(p, unsupervised.links)[2]
    # a reviewer's decision is final: no reviewed non-match is linked
    linked_pairs = set(zip(result.links["left_id"], result.links["right_id"], strict=True))
    reviewed = labels.iloc[:-2]
    said_no = reviewed[~reviewed["is_match"]]
    assert not set(zip(said_no["left_id"], said_no["right_id"], strict=True)) & linked_pairs
    said_yes = reviewed[reviewed["is_match"]]
    found = [
        pair in linked_pairs for pair in zip(said_yes["left_id"], said_yes["right_id"], strict=True)
    ]
    assert np.mean(found) > 0.95


def test_the_ml_matcher_decides_where_it_beats_the_unsupervised_model(ml_linked, dtks_regsosek):
    p = dtks_regsosek
    linker, result, labels = ml_linked
    s = result.summary
    assert s["matcher"] == "ml", s["ml_training"]
    t = s["ml_training"]
    assert t["labelled_pairs"] == len(labels) - 1 and t["unknown_ids"] == 1
    assert t["matches"] == int(labels["is_match"].iloc[:-1].sum())
    assert t["ml_cv_errors_on_labels"] < t["fs_errors_on_labels"]
    assert "fs_match_weight" in result.links and "ml_probability" in result.pairs
    # within the labels' band the ML matcher rescues what the poor cut-off misses
    alone = Linker(threshold=linker.threshold, sole_candidates=False).fit_link(p.left, p.right)
    assert len(result.links) > len(alone.links) + 100
    assert _f1(p, result.links)[0] > 0.99
    # every record still ends in exactly one output
    left_out = pd.concat([result.links["left_id"], result.unlinked_left["record_id"]])
    assert sorted(left_out.unique()) == sorted(p.left["record_id"])


def test_a_model_file_with_an_ml_matcher_gives_identical_links(ml_linked, dtks_regsosek, tmp_path):
    p = dtks_regsosek
    linker, result, _ = ml_linked
    path = linker.save(tmp_path / "model.json")
    content = json.loads(path.read_text())
    assert content["ml_matcher"]["classifier"] is None and len(content["ml_matcher"]["training_y"])
    again = Linker.load(path).link(p.left, p.right)
    pd.testing.assert_frame_equal(again.links, result.links)
    content["ml_matcher"]["training_X"] = "nonsense"
    path.write_text(json.dumps(content))
    with pytest.raises(SchemaError, match="ml_matcher"):
        Linker.load(path)


def test_fit_ml_after_an_unsupervised_fit(linked, dtks_regsosek):
    p = dtks_regsosek
    linker, result, _ = linked
    fresh = Linker().fit(p.left, p.right)
    with pytest.raises(ValueError, match="is_match"):
        fresh.fit_ml(p.left, p.right, pd.DataFrame({"left_id": ["a"], "right_id": ["b"]}))
    assert fresh.ml_model_ is None


def test_a_linker_shows_its_parameters_and_refuses_unknown_ones(linked):
    linker = linked[0]
    fresh = Linker(threshold=0.7, resolution="one_to_one")
    assert repr(fresh) == (
        f"Linker(threshold=0.7, resolution='one_to_one', {len(fresh.rules)} rules, "
        f"{len(fresh.comparisons)} comparisons, not fitted)"
    )
    assert repr(linker).endswith(", fitted)")
    assert Linker(**linker.get_params()).get_params() == linker.get_params()
    with pytest.raises(ValueError, match="no_such"):
        fresh.set_params(no_such=1)
    assert fresh.set_params(threshold=0.6) is fresh and fresh.threshold == 0.6


def test_forked_workers_and_this_process_link_alike(dtks_regsosek):
    # chunks go to forked workers as int32 positions: the links and probabilities
    # must be those compared in this process
    p = dtks_regsosek
    here = Linker(n_jobs=1).fit_link(p.left, p.right).links
    forked = Linker(n_jobs=2).fit_link(p.left, p.right).links
    pd.testing.assert_frame_equal(here, forked)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 7)), max_size=40),
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 7)), max_size=40),
)
def test_not_among_is_set_difference(scored, asked):
    from bansos_linkage.linkage.scoring import not_among

    def arrays(pairs):
        return (np.array([p[k] for p in pairs], dtype=np.int64) for k in (0, 1))

    new = not_among(*arrays(asked), *arrays(scored), 8)
    assert new.tolist() == [pair not in set(scored) for pair in asked]


def test_the_error_estimate_groups_records_by_age(linked, dtks_regsosek, monkeypatch):
    """The run's link probabilities take each record's age band's share without a
    counterpart (resolve.link_probabilities' groups), not one share per register."""
    from bansos_linkage.linkage import outputs
    from bansos_linkage.linkage.resolve import AGE_BANDS

    p = dtks_regsosek
    linker, _, _ = linked
    seen = []
    original = outputs.link_probabilities

    def spy(*args, **kwargs):
        seen.append(args[-1])
        return original(*args, **kwargs)

    monkeypatch.setattr(outputs, "link_probabilities", spy)
    linker.link(p.left, p.right)
    (groups,) = seen
    assert groups is not None and len(groups[0]) == len(p.left) and len(groups[1]) == len(p.right)
    # Regsosek holds children born after the DTKS snapshot: every band is present
    assert set(np.unique(groups[1]).tolist()) >= set(range(len(AGE_BANDS)))
    np.testing.assert_array_equal(groups[0], outputs.record_age_groups(p.left, p.right)[0])


def test_sole_candidates_add_links_that_nothing_else_claims(mixed_registers, tmp_path):
    p = mixed_registers
    sole = Linker(n_jobs=1).fit(p.left, p.right)
    result = sole.link(p.left, p.right)
    pairs_only = Linker(n_jobs=1, sole_candidates=False).fit(p.left, p.right)
    plain = pairs_only.link(p.left, p.right).links
    keys = ["left_id", "right_id"]
    both = result.links.merge(plain[keys], on=keys, how="left", indicator=True)
    added = both[both["_merge"] == "left_only"]
    # the pairs' links all stay; the sole candidates come on top, each below the
    # threshold as a pair, and their records are linked nowhere else
    assert len(both) - len(added) == len(plain) and len(added) > 0
    assert (added["match_probability"] < sole.threshold).all()
    assert not added["left_id"].isin(plain["left_id"]).any()
    assert not added["right_id"].isin(plain["right_id"]).any()
    assert result.links["left_id"].value_counts()[added["left_id"]].eq(1).all()
    # none joins two families that no other link reaches (an orphan pair)
    fam_l = pd.Series(pairable(family_codes(p.left, FAMILY_COLUMNS)), index=p.left["record_id"])
    fam_r = pd.Series(pairable(family_codes(p.right, FAMILY_COLUMNS)), index=p.right["record_id"])
    holds_l = set(fam_l.loc[plain["left_id"]]) - {-1}
    holds_r = set(fam_r.loc[plain["right_id"]]) - {-1}
    al, ar = fam_l.loc[added["left_id"]].to_numpy(), fam_r.loc[added["right_id"]].to_numpy()
    orphan = (al >= 0) & (ar >= 0) & ~np.isin(al, list(holds_l)) & ~np.isin(ar, list(holds_r))
    assert not orphan.any()
    # most of them are one person, and F1 rises
    assert _one_person_share(p, added) >= 0.75
    assert _f1(p, result.links)[2] > _f1(p, plain)[2]
    # the setting is saved; a model file from before it links by the pairs alone
    _saved_and_off_in_older_files("sole_candidates", sole, pairs_only, tmp_path)
    assert not Linker.load(
        Path(__file__).parent / "data" / "model_before_phonetic_words.json"
    ).sole_candidates


def test_members_of_joined_families_link_on_their_family_prior(mixed_registers, tmp_path):
    p = mixed_registers
    linker = Linker(n_jobs=1).fit(p.left, p.right)
    result = linker.link(p.left, p.right, keep_pairs=True)
    without = Linker(n_jobs=1, family_members=False).fit(p.left, p.right)
    plain = without.link(p.left, p.right).links
    keys = ["left_id", "right_id"]
    both = result.links.merge(plain[keys], on=keys, how="outer", indicator=True)
    added = both[both["_merge"] == "left_only"]
    # every other link stays; the members' links come on top, counted in the summary
    # (with those that would otherwise have linked as sole candidates)
    assert (both["_merge"] != "right_only").all() and len(added) > 0
    assert result.summary["family_members"] >= len(added)
    # each reaches the threshold on its family's prior, not as a pair of the registers
    at = list(zip(added["left_id"], added["right_id"], strict=True))
    pairs = result.pairs.set_index(keys).loc[at]
    assert (added["match_weight"] >= logit2(linker.threshold)).all()
    assert (pairs["match_weight"].to_numpy() < logit2(linker.threshold)).all()
    # between two families that another link joins
    fam_l = pd.Series(pairable(family_codes(p.left, FAMILY_COLUMNS)), index=p.left["record_id"])
    fam_r = pd.Series(pairable(family_codes(p.right, FAMILY_COLUMNS)), index=p.right["record_id"])
    joined = set(zip(fam_l.loc[plain["left_id"]], fam_r.loc[plain["right_id"]], strict=True))
    assert all((fam_l[a], fam_r[b]) in joined for a, b in at)
    # they are one person, and F1 rises
    assert _one_person_share(p, added) >= 0.9
    assert _f1(p, result.links)[2] > _f1(p, plain)[2]
    # the setting is saved; a model file from before it does not link members so
    _saved_and_off_in_older_files("family_members", linker, without, tmp_path)


def _one_person_share(p, links: pd.DataFrame) -> float:
    """The share of the links whose two records are one person."""
    truth_left = p.data.truth["dtks"].set_index("record_id")["person_id"]
    truth_right = p.data.truth["regsosek"].set_index("record_id")["person_id"]
    same = truth_left.loc[links["left_id"]].to_numpy() == truth_right.loc[links["right_id"]]
    return float(np.mean(same))


def _saved_and_off_in_older_files(key: str, on: Linker, off: Linker, tmp_path: Path) -> None:
    """A setting ``key`` is saved with the model, and off in model files without it."""
    assert getattr(Linker.load(on.save(tmp_path / "model.json")), key)
    content = json.loads(off.save(tmp_path / "old.json").read_text())
    del content["settings"][key]
    (tmp_path / "old.json").write_text(json.dumps(content))
    assert not getattr(Linker.load(tmp_path / "old.json"), key)
