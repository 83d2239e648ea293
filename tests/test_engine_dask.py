"""The Dask engine gives the in-process links, model and candidate pairs."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bansos_linkage import standardise
from bansos_linkage.linkage.blocking import candidate_pairs
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.synthetic import generate, scenario


class _InProcess:
    """An engine that runs the Linker's own methods (the Engine protocol, no Dask)."""

    name = "in-process-test"

    def __init__(self) -> None:
        self.calls: list[str] = []

    def fit_link(self, linker, left, right, *, keep_pairs=False):
        self.calls.append("fit_link")
        return linker.fit_link(left, right, keep_pairs=keep_pairs)

    def link(self, linker, left, right, *, keep_pairs=False):
        self.calls.append("link")
        return linker.link(left, right, keep_pairs=keep_pairs)


def test_link_files_runs_on_any_engine_and_records_its_name(tmp_path):
    from bansos_linkage.engines import Engine
    from bansos_linkage.runs.link import link_files, read_run

    data = generate(scenario("default", households=200, seed=3))
    engine = _InProcess()
    assert isinstance(engine, Engine)
    args = (data.registers["dtks"], data.registers["regsosek"], "dtks", "regsosek")
    ref = dt.date(2026, 1, 1)
    run = link_files(*args, tmp_path / "run", reference_date=ref, engine=engine)
    local = link_files(*args, reference_date=ref)
    assert engine.calls == ["fit_link"]
    assert run.result.summary["engine"] == "in-process-test"
    assert local.result.summary["engine"] == "local"
    assert run.result.links.equals(local.result.links)
    back = read_run(tmp_path / "run")  # pairs.parquet kept: the folder is a whole run
    assert back.summary["engine"] == "in-process-test" and len(back.pairs) > 0
    again = link_files(
        *args, reference_date=ref, engine=engine, model=tmp_path / "run" / "model.json"
    )
    assert engine.calls == ["fit_link", "link"]
    assert again.result.links.equals(local.result.links)


def test_link_new_runs_on_any_engine(tmp_path):
    from bansos_linkage.runs.link import link_files, link_new_files

    data = generate(scenario("default", households=200, seed=3))
    dtks, regsosek = data.registers["dtks"], data.registers["regsosek"]
    ref = dt.date(2026, 1, 1)
    link_files(dtks.iloc[:200], regsosek, "dtks", "regsosek", tmp_path / "run", reference_date=ref)
    engine = _InProcess()
    new = dtks.iloc[200:]
    on_engine = link_new_files(new, tmp_path / "run", "dtks", engine=engine)
    local = link_new_files(new, tmp_path / "run", "dtks")
    assert engine.calls == ["link"]  # the earlier run's model: no fitting
    assert on_engine.result.summary["engine"] == "in-process-test"
    assert local.result.summary["engine"] == "local"
    assert on_engine.result.links.equals(local.result.links)


def test_an_engine_refuses_reviewed_labels():
    from bansos_linkage.errors import UsageError
    from bansos_linkage.runs.link import link_files

    labels = pd.DataFrame({"left_id": ["a"], "right_id": ["b"], "is_match": [True]})
    with pytest.raises(UsageError, match="does not train the ML matcher"):
        link_files("l.csv", "r.csv", "dtks", "regsosek", engine=_InProcess(), labels=labels)


def test_the_core_package_does_not_import_dask():
    code = (
        "import sys, bansos_linkage, bansos_linkage.linkage, bansos_linkage.engines\n"
        "from bansos_linkage.linkage.linker import Linker\n"
        "assert not [m for m in sys.modules if m == 'dask' or m.startswith('dask.')], 'dask'\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'distributed']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_components_take_whole_families_and_leave_out_records_without_edges():
    from bansos_linkage.engines.dask_resolve import component_groups

    # left 0-1 one family, right 0 and 2 one family; pairs (0, 0) and (2, 1) may link
    edges = np.array([[0, 0], [2, 1]], dtype=np.int32)
    families = np.array([0, 0, -1, -1]), np.array([0, -1, 0])
    left, right = component_groups(edges, families, 2)
    assert left[0] == left[1] == right[0] == right[2] >= 0  # the families of (0, 0)
    assert left[2] == right[1] >= 0 and left[2] != left[0]  # a component of its own
    assert left[3] == -1  # no pair to resolve


distributed = pytest.importorskip("dask.distributed")


REFERENCE_DATE = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def exports() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw exports (DTKS, Regsosek) of a small synthetic scenario."""
    data = generate(scenario("default", households=1500, seed=1))
    return data.registers["dtks"], data.registers["regsosek"]


@pytest.fixture(scope="module")
def registers(exports) -> tuple[pd.DataFrame, pd.DataFrame]:
    return tuple(  # type: ignore[return-value]
        standardise(raw, n, reference_date=REFERENCE_DATE).records
        for raw, n in zip(exports, ("dtks", "regsosek"), strict=True)
    )


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        # threads in this test process: a limit would weigh the whole process (every
        # fixture of the suite so far) and pause the workers at 80% of it, for good
        memory_limit=0,
        dashboard_address=None,
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def runs(registers, client):
    from bansos_linkage.engines import DaskEngine

    left, right = registers
    local = Linker(n_jobs=1)
    local_result = local.fit_link(left, right)
    engine = DaskEngine(client)
    remote = Linker(n_jobs=1)
    remote_result = engine.fit_link(remote, left, right)
    return local, local_result, remote, remote_result, engine


def test_the_candidate_pairs_are_the_in_process_ones(registers, runs):
    left, right = registers
    local, _, remote, _, engine = runs
    lp, rp = local.prepare(left, right)
    pairs = candidate_pairs(lp, rp, local.rules_)
    expected = pd.DataFrame({"left": pairs.left, "right": pairs.right, "rule": pairs.rule})
    expected = expected.astype("int64").sort_values(["rule", "left", "right"], ignore_index=True)
    found = engine.candidate_pairs(remote, left, right)
    assert len(found) == len(expected) > 0
    pd.testing.assert_frame_equal(found, expected)


def test_the_model_is_the_in_process_model(runs):
    local, _, remote, _, _ = runs
    a, b = local.fitted_model, remote.fitted_model
    assert a.lambda_ == pytest.approx(b.lambda_, rel=1e-9)
    for ma, mb in zip(a.m_, b.m_, strict=True):
        np.testing.assert_allclose(ma, mb, rtol=1e-9, atol=1e-12)
    for ua, ub in zip(a.u_, b.u_, strict=True):
        np.testing.assert_allclose(ua, ub, rtol=1e-9, atol=1e-12)
    assert local.tf_typical_ == pytest.approx(remote.tf_typical_, rel=1e-9)
    assert local.max_level_seen_ == remote.max_level_seen_
    assert local.training_["u_random_pairs"] == remote.training_["u_random_pairs"]


def test_the_links_are_the_in_process_links(runs):
    _, local, _, remote, _ = runs
    key = ["left_id", "right_id"]
    a, b = local.links, remote.links
    assert len(a) > 1000
    assert a[key].equals(b[key])
    np.testing.assert_allclose(b["match_probability"], a["match_probability"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(b["match_weight"], a["match_weight"], rtol=1e-9, atol=1e-9)
    assert a["duplicate_of"].fillna("").equals(b["duplicate_of"].fillna(""))
    assert set(local.unlinked_left["record_id"]) == set(remote.unlinked_left["record_id"])
    assert local.summary["candidate_pairs"] == remote.summary["candidate_pairs"]
    # each register's own prior, from the pairs every group tested, is the in-process one
    assert a["duplicate_of"].notna().any()
    assert remote.summary["duplicate_prior"] == local.summary["duplicate_prior"]
    assert local.summary["duplicate_prior"]["left"] < local.summary["em"]["lambda"]
    # sole candidates (below the threshold as pairs) found where their pairs are, from
    # the whole registers' shares without a counterpart
    assert local.summary["sole_candidates"] == remote.summary["sole_candidates"] > 0


def test_a_fitted_linker_links_on_the_cluster_as_in_process(registers, runs):
    left, right = registers
    local, local_result, _, _, engine = runs
    again = engine.link(local, left, right)
    key = ["left_id", "right_id"]
    assert again.links[key].equals(local_result.links[key])
    np.testing.assert_allclose(
        again.links["match_probability"], local_result.links["match_probability"], atol=1e-9
    )


def test_members_of_joined_families_link_on_the_cluster_as_in_process(client):
    from bansos_linkage.engines import DaskEngine

    data = generate(scenario("mix01", households=1500, seed=3))
    left, right = (
        standardise(data.registers[n], n, reference_date=REFERENCE_DATE).records
        for n in ("dtks", "regsosek")
    )
    linker = Linker(n_jobs=1).fit(left, right)
    local = linker.link(left, right)
    remote = DaskEngine(client).link(linker, left, right)
    key = ["left_id", "right_id"]
    assert remote.links[key].equals(local.links[key])
    np.testing.assert_allclose(
        remote.links["match_probability"], local.links["match_probability"], atol=1e-9
    )
    np.testing.assert_allclose(remote.links["match_weight"], local.links["match_weight"], atol=1e-9)
    # some of them are members' links, which a group of whole families finds too
    linker.family_members = False
    plain = linker.link(left, right).links
    added = set(map(tuple, local.links[key].to_numpy())) - set(map(tuple, plain[key].to_numpy()))
    assert len(added) > 0
    assert remote.summary["family_members"] == local.summary["family_members"] >= len(added)


def test_resolution_runs_on_the_workers(registers, runs, monkeypatch):
    """The driver gathers the pairs resolution may link (their positions), never the
    scored pairs, and never prepares the registers; the outputs are the in-process ones."""
    left, right = registers
    local, _, _, _, engine = runs
    expected = local.link(left, right, keep_pairs=1e-4)

    def refuse(*args, **kwargs):
        raise AssertionError("the driver prepared the registers")

    monkeypatch.setattr(Linker, "prepare", refuse)
    found = engine.link(local, left, right, keep_pairs=1e-4)
    held = engine.resolution_
    assert held["pairs"] == expected.summary["candidate_pairs"] > 10_000
    assert 0 < held["edges"] < held["pairs"] / 5  # about one per link
    assert held["groups"] == 2  # one per worker thread
    assert held["largest_group"] < 0.75 * (len(left) + len(right))
    _close(found.links, expected.links)
    for side in ("unlinked_left", "unlinked_right"):
        _close(getattr(found, side), getattr(expected, side))
    # the same pairs: blocked ones by rule then position (in-process: by block), then family
    _close(_by_position(found.pairs), _by_position(expected.pairs))
    for key in ("candidate_pairs", "family_pairs", "links", "duplicates_left", "unlinked_right"):
        assert found.summary[key] == expected.summary[key], key
    for key in ("expected_false_links", "estimated_fdr", "estimated_fnr"):
        assert found.summary[key] == pytest.approx(expected.summary[key], abs=1e-6), key


def _close(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same rows and values; floats equal to 1e-9."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for column in a.columns:
        if a[column].dtype.kind == "f":
            np.testing.assert_allclose(a[column], b[column], rtol=1e-9, atol=1e-9)
        else:
            assert a[column].equals(b[column]), column


def _by_position(pairs: pd.DataFrame) -> pd.DataFrame:
    family = pairs["rule"] == "family"
    blocked = pairs[~family].sort_values(["left", "right"], kind="stable")
    blocked = blocked.sort_values("rule", key=lambda r: r.map(_RULE_ORDER), kind="stable")
    return pd.concat([blocked, pairs[family]], ignore_index=True)


_RULE_ORDER = {rule.name: i for i, rule in enumerate(Linker().rules)}


def test_reviewed_pairs_decide_on_the_cluster_as_in_process(registers, runs, client, tmp_path):
    import copy

    from bansos_linkage.engines import DaskEngine

    left, right = registers
    local, local_result, _, _, _ = runs
    # the scored pairs spilled to Parquet, resolved in three groups
    engine = DaskEngine(client, spill_dir=tmp_path, resolve_groups=3)
    linker = copy.deepcopy(local)
    links = local_result.links
    unlinked = local_result.unlinked_left.dropna(subset=["best_candidate_id"])
    linker.reviewed_ = pd.DataFrame(
        {
            "left_id": [links["left_id"].iloc[0], unlinked["record_id"].iloc[0]],
            "right_id": [links["right_id"].iloc[0], unlinked["best_candidate_id"].iloc[0]],
            "is_match": [False, True],
        }
    )
    expected = linker.link(left, right)
    found = engine.link(linker, left, right)
    pairs = set(zip(found.links["left_id"], found.links["right_id"], strict=True))
    assert (links["left_id"].iloc[0], links["right_id"].iloc[0]) not in pairs  # rejected
    assert (unlinked["record_id"].iloc[0], unlinked["best_candidate_id"].iloc[0]) in pairs
    _close(found.links, expected.links)
    assert engine.resolution_["groups"] == 3 and len(list(tmp_path.glob("*.parquet"))) > 1


@pytest.fixture(scope="module")
def reviewed():
    """Raw and standardised registers of 1,000 households, and 300 reviewed pairs
    (decided by the truth) around the unsupervised run's threshold."""
    from bansos_linkage.evaluation import true_links
    from bansos_linkage.review import oracle_decisions, select_for_review, training_pairs

    data = generate(scenario("default", households=1000, seed=2))
    raw = data.registers["dtks"], data.registers["regsosek"]
    left, right = (
        standardise(r, n, reference_date=REFERENCE_DATE).records
        for r, n in zip(raw, ("dtks", "regsosek"), strict=True)
    )
    unsupervised = Linker(n_jobs=1).fit_link(left, right, keep_pairs=True)
    person = [data.truth[n].set_index("record_id")["person_id"] for n in ("dtks", "regsosek")]
    fields = ["name", "nik", "birth_date"]
    batch = select_for_review(unsupervised.pairs, 300, threshold=0.5, pattern=fields, seed=0)
    labels = training_pairs(oracle_decisions(batch, true_links(*person)))
    return raw, left, right, labels


def test_an_ml_matcher_trained_in_process_decides_on_the_cluster(client, tmp_path, reviewed):
    """Reviewed pairs train the ML matcher in process (a deliberately poor
    Fellegi-Sunter cut-off, so that it decides); the cluster applies it: the links,
    unlinked records and kept pairs (with the ML weights) are the in-process ones, and
    a run folder's model holding it links there too."""
    from bansos_linkage.engines import DaskEngine
    from bansos_linkage.runs.link import link_files

    raw, left, right, labels = reviewed
    linker = Linker(n_jobs=1, threshold=1 - 1e-12)
    assert linker.fit_link(left, right, labels=labels).summary["matcher"] == "ml"
    expected = linker.link(left, right, keep_pairs=0.01)
    found = DaskEngine(client, resolve_groups=2).link(linker, left, right, keep_pairs=0.01)
    assert found.summary["matcher"] == "ml" and "fs_match_weight" in found.links
    for name in ("links", "unlinked_left", "unlinked_right"):
        _same_table(getattr(found, name), getattr(expected, name))
    key = ["left", "right"]
    pairs = [t.sort_values(key).reset_index(drop=True) for t in (found.pairs, expected.pairs)]
    assert "ml_probability" in pairs[0]
    _same_table(*pairs)
    assert found.summary["estimated_fdr"] == pytest.approx(
        expected.summary["estimated_fdr"], rel=1e-9
    )
    # the saved model (its ML matcher and reviewed pairs) applied on the cluster
    model = tmp_path / "model.json"
    linker.save(model)
    run = link_files(
        *raw,
        "dtks",
        "regsosek",
        reference_date=REFERENCE_DATE,
        model=model,
        engine=DaskEngine(client),
    )
    local = link_files(*raw, "dtks", "regsosek", reference_date=REFERENCE_DATE, model=model)
    assert run.result.summary["matcher"] == "ml"
    _same_table(run.result.links, local.result.links)


def test_link_files_on_the_dask_engine_writes_the_local_run(exports, client, tmp_path):
    from bansos_linkage import read_table
    from bansos_linkage.engines import DaskEngine
    from bansos_linkage.runs.link import link_files, read_run

    args = (*exports, "dtks", "regsosek")
    local = tmp_path / "local"
    link_files(*args, local, reference_date=REFERENCE_DATE)
    engine = DaskEngine(client)
    remote = tmp_path / "dask"
    run = link_files(*args, remote, reference_date=REFERENCE_DATE, engine=engine)
    assert run.result.summary["engine"] == "dask"
    assert "engine_stages" in run.result.summary["seconds"]
    for name in ("links.csv", "unlinked_left.csv", "unlinked_right.csv", "household_links.csv"):
        _same_table(read_table(local / name), read_table(remote / name))
    assert (remote / "rejected.csv").read_bytes() == (local / "rejected.csv").read_bytes()
    a, b = read_run(local), read_run(remote)  # verified against their manifests
    assert len(a.pairs) == len(b.pairs) > len(a.links)
    # the saved model, applied on the cluster: the same links again
    again = link_files(
        *args, reference_date=REFERENCE_DATE, engine=engine, model=remote / "model.json"
    )
    links = read_table(local / "links.csv")
    key = ["left_id", "right_id"]
    assert again.result.links[key].astype("string").equals(links[key])


def test_the_ml_matcher_trained_on_the_cluster_is_the_in_process_one(client, reviewed):
    """Reviewed pairs given to the Dask engine: the ML matcher is trained there against
    the Fellegi-Sunter links resolved on the workers, the reviewed pairs compared in
    their partitions: the same choice (why and on what errors), the same matcher, the
    same links as in process; with ``link`` on a fitted Linker too."""
    from bansos_linkage.engines import DaskEngine

    _, left, right, labels = reviewed
    local = Linker(n_jobs=1, threshold=1 - 1e-12)
    expected = local.fit_link(left, right, labels=labels, keep_pairs=0.01)
    remote = Linker(n_jobs=1, threshold=1 - 1e-12)
    engine = DaskEngine(client, resolve_groups=2)
    found = engine.fit_link(remote, left, right, labels=labels, keep_pairs=0.01)
    assert "train_ml" in engine.timings_
    assert expected.summary["matcher"] == found.summary["matcher"] == "ml"
    a, b = local.ml_training_, remote.ml_training_
    assert a.keys() == b.keys() and a["labelled_pairs"] == b["labelled_pairs"] > 250
    for key, value in a.items():
        same = pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
        assert b[key] == same, key
    pd.testing.assert_frame_equal(remote.reviewed_, local.reviewed_)
    for name in ("links", "unlinked_left", "unlinked_right"):
        _same_table(getattr(found, name), getattr(expected, name))
    # a fitted Linker's matcher trained anew on the cluster before it links
    again = Linker(n_jobs=1, threshold=1 - 1e-12)
    engine.fit(again, left, right)
    linked = engine.link(again, left, right, labels=labels)
    assert again.ml_training_["decides"] == "ml"
    _same_table(linked.links, expected.links)


def test_reviewed_pairs_are_compared_in_their_partition_and_flagged_if_candidates(registers, runs):
    """A partition's reviewed pairs are compared as in process (levels, similarities),
    and only a candidate pair may count as a Fellegi-Sunter link (as ``pair_flags``
    does in process: a pair linked only as a family pair counts as not linked)."""
    from bansos_linkage.engines.dask import _labelled, _Spec
    from bansos_linkage.engines.dask_resolve import FAM, POS

    left, right = registers
    local = runs[0]
    spec = _Spec(
        local.rules_,
        local.comparisons_,
        local.family_columns,
        local.chunk_size,
        local.term_frequency,
        similarities=True,
    )
    frames = [
        r.reset_index(drop=True).assign(**{POS: np.arange(len(r)), FAM: -1}) for r in registers
    ]
    lp, rp = local.prepare(left, right)
    found = candidate_pairs(lp, rp, local.rules_)
    pairs = np.column_stack([found.left, found.right, found.rule]).astype(np.int64)
    candidate = pairs[0, :2]
    theirs = set(pairs[pairs[:, 0] == candidate[0], 1].tolist())
    outside = np.array([candidate[0], min(set(range(len(right))) - theirs)])
    labelled = np.array([[7, *candidate], [3, *outside]], dtype=np.int64)
    got = _labelled(frames[0], [frames[1]], labelled, pairs, spec, (), local.tf_typical_)
    assert got["rows"].tolist() == [7, 3] and got["candidate"].tolist() == [True, False]
    levels, sims = local.compare_pairs(lp, rp, labelled[:, 1], labelled[:, 2], similarities=True)
    np.testing.assert_array_equal(got["levels"], levels)
    np.testing.assert_allclose(got["similarities"], sims, rtol=1e-6)


def test_link_files_with_labels_on_the_dask_engine_writes_the_local_run(client, reviewed, tmp_path):
    """``link --labels --engine dask``: the run trains the ML matcher on the cluster and
    writes the links, summary and model that the local run does."""
    from bansos_linkage import read_table
    from bansos_linkage.engines import DaskEngine
    from bansos_linkage.runs.link import link_files

    raw, _, _, labels = reviewed
    args = (*raw, "dtks", "regsosek")
    options = {"reference_date": REFERENCE_DATE, "labels": labels, "threshold": 1 - 1e-12}
    link_files(*args, tmp_path / "local", **options)
    run = link_files(*args, tmp_path / "dask", engine=DaskEngine(client), **options)
    assert run.result.summary["engine"] == "dask"
    a, b = (json.loads((tmp_path / s / "summary.json").read_text()) for s in ("local", "dask"))
    assert a["matcher"] == b["matcher"] == "ml" and a["ml_training"] == b["ml_training"]
    _same_table(read_table(tmp_path / "local/links.csv"), read_table(tmp_path / "dask/links.csv"))
    saved = [Linker.load(tmp_path / s / "model.json") for s in ("local", "dask")]
    pd.testing.assert_frame_equal(saved[0].reviewed_, saved[1].reviewed_)


def _same_table(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """The same rows, ids and levels; weights and probabilities equal to 1e-12 (the
    model is summed in another order: the last digits of a float may differ)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for column in a.columns:
        if "weight" in column or "probability" in column:
            x, y = a[column].astype("Float64"), b[column].astype("Float64")
            assert x.isna().equals(y.isna()), column
            np.testing.assert_allclose(x.dropna(), y.dropna(), rtol=1e-12, atol=1e-12)
        else:
            assert a[column].equals(b[column]), column


def test_link_new_on_the_dask_engine_gives_the_local_links(exports, client, tmp_path):
    from bansos_linkage import read_table
    from bansos_linkage.engines import DaskEngine
    from bansos_linkage.runs.link import link_files, link_new_files

    dtks, regsosek = exports
    half = len(dtks) // 2
    run = tmp_path / "run"
    link_files(dtks.iloc[:half], regsosek, "dtks", "regsosek", run, reference_date=REFERENCE_DATE)
    new = dtks.iloc[half:]
    link_new_files(new, run, "dtks", tmp_path / "local")
    remote = link_new_files(new, run, "dtks", tmp_path / "dask", engine=DaskEngine(client))
    assert remote.result.summary["engine"] == "dask"
    assert remote.result.summary["linked_left"] > 0
    for name in ("links.csv", "unlinked_left.csv", "household_links.csv"):
        _same_table(read_table(tmp_path / "local" / name), read_table(tmp_path / "dask" / name))


def test_value_counts_stay_on_the_workers_and_give_the_whole_registers(client, monkeypatch):
    """Exact agreement and term frequencies from values counted in hash buckets: those
    of the whole registers, while the driver receives numbers only, never a value."""
    from bansos_linkage.engines.dask_resolve import POS, freq_column
    from bansos_linkage.engines.dask_values import count_values, record_values
    from bansos_linkage.linkage.training import exact_agreement

    rng = np.random.default_rng(3)
    names = np.array(["ANI", "BUDI", "CICI", "DEDI", "EKA", None], dtype=object)
    sides = {}
    for side, n in (("left", 400), ("right", 700)):
        frame = pd.DataFrame(
            {
                POS: np.arange(n),
                "name": pd.array(rng.choice(names, n, p=[0.4, 0.2, 0.2, 0.1, 0.05, 0.05])),
                "nik": pd.array([f"{v:04d}" for v in rng.integers(0, 300, n)], dtype="string"),
            }
        )
        if side == "right":
            frame["empty"] = pd.array([None] * n, dtype="string")  # present, never a value
        sides[side] = frame
    parts = {s: np.array_split(np.arange(len(f)), 3) for s, f in sides.items()}
    frames = {s: [client.scatter(sides[s].iloc[rows]) for rows in parts[s]] for s in sides}
    columns = (["name", "nik", "empty"], ["name", "empty"])  # counted, term frequencies
    values = {
        s: [
            client.submit(record_values, f.iloc[rows], f.iloc[rows][POS].to_numpy(), *columns)
            for rows in parts[s]
        ]
        for s, f in sides.items()
    }
    gathered: list[object] = []
    gather = type(client).gather

    def watched(self, futures, *args, **kwargs):
        out = gather(self, futures, *args, **kwargs)
        gathered.append(out)
        return out

    monkeypatch.setattr(type(client), "gather", watched)
    stats = count_values(client, values, frames, {"name": "name", "empty": "empty"}, buckets=4)
    monkeypatch.undo()
    # numbers only came back: no value, no value counts
    numbers = [v for g in gathered for bucket in g for s in bucket.values() for v in s]
    assert numbers and all(isinstance(v, float | int | bool) for v in numbers)
    left, right = sides["left"], sides["right"]
    for column in ("name", "nik"):
        expected = exact_agreement(left[column], right[column])
        assert stats.agreement[column] == pytest.approx(expected, rel=1e-12)
    assert "empty" not in stats.agreement  # the left register has no such column
    assert stats.tf_labels == {"left": ("name",), "right": ("name", "empty")}
    for side, frame in sides.items():
        got = pd.concat(client.gather(stats.frames[side])).sort_values(POS)
        share = frame["name"].value_counts(normalize=True)
        expected = frame["name"].map(share).to_numpy(dtype=float)
        np.testing.assert_allclose(got[freq_column("name")].to_numpy(), expected, rtol=1e-12)
        assert np.isnan(got[freq_column("name")].to_numpy()[frame["name"].isna().to_numpy()]).all()
    assert np.isnan(pd.concat(client.gather(stats.frames["right"]))[freq_column("empty")]).all()
