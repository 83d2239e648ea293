"""The Dask engine gives the in-process links, model and candidate pairs."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from bansos_linkage import standardise
from bansos_linkage.linkage.blocking import candidate_pairs
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.synthetic import generate, scenario


def test_the_core_package_does_not_import_dask():
    code = (
        "import sys, bansos_linkage, bansos_linkage.linkage, bansos_linkage.engines\n"
        "from bansos_linkage.linkage.linker import Linker\n"
        "assert not [m for m in sys.modules if m == 'dask' or m.startswith('dask.')], 'dask'\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'distributed']\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


distributed = pytest.importorskip("dask.distributed")


@pytest.fixture(scope="module")
def registers() -> tuple[pd.DataFrame, pd.DataFrame]:
    data = generate(scenario("default", households=1500, seed=1))
    ref = dt.date(2026, 1, 1)
    return tuple(  # type: ignore[return-value]
        standardise(data.registers[n], n, reference_date=ref).records for n in ("dtks", "regsosek")
    )


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        memory_limit="1GB",
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


def test_a_fitted_linker_links_on_the_cluster_as_in_process(registers, runs):
    left, right = registers
    local, local_result, _, _, engine = runs
    again = engine.link(local, left, right)
    key = ["left_id", "right_id"]
    assert again.links[key].equals(local_result.links[key])
    np.testing.assert_allclose(
        again.links["match_probability"], local_result.links["match_probability"], atol=1e-9
    )
