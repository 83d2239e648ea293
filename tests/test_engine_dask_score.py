"""Eligibility scoring on the Dask engine gives the in-process result: the same
welfare, desil, criteria, programmes, persons and summary, however the households
are cut."""

# ruff: noqa: F811  (the fixture `client` is imported, then named as a parameter)
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

# the in-process LocalCluster
from test_engine_dask import client  # noqa: F401

from bansos_linkage.eligibility.rules import load_programmes
from bansos_linkage.eligibility.score import (
    ScoredRegister,
    merge_summaries,
    score_register,
    summarise,
    survey_pmt,
)
from bansos_linkage.errors import InputError
from bansos_linkage.synthetic import generate, scenario

distributed = pytest.importorskip("dask.distributed")

REF = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def population():
    """Households (without their size: counted from the members), members with one
    of no household, the survey and a PMT fitted on it."""
    data = generate(scenario("hard", households=1500, seed=7))
    members = data.persons[data.persons["present_now"]].reset_index(drop=True)
    orphan = members.iloc[[1]].assign(household_id="NOWHERE", person_id="P-ORPHAN")
    members = pd.concat([members, orphan], ignore_index=True)
    households = data.households.drop(columns=["per_capita_expenditure", "size"])
    return households, members, data.survey, survey_pmt(data.survey, members, REF)


def _same(local: ScoredRegister, remote: ScoredRegister, check_dtype: bool = True) -> None:
    for name in ("households", "persons"):
        a, b = getattr(local, name), getattr(remote, name)
        assert list(a.columns) == list(b.columns)
        for column in a.columns:  # categories are per partition: compare the values
            x, y = a[column], b[column]
            if isinstance(x.dtype, pd.CategoricalDtype):
                x, y = x.astype(str), y.astype(str)
            pd.testing.assert_series_equal(x, y, check_exact=True, check_dtype=check_dtype)
    pd.testing.assert_frame_equal(local.summary, remote.summary, check_exact=True)
    assert local.summary.attrs["notes"] == remote.summary.attrs["notes"]


@pytest.mark.parametrize("parts", [1, 3, 16])
def test_scoring_on_the_cluster_gives_the_in_process_result(population, client, parts):
    from bansos_linkage.engines.dask_score import score_on_cluster

    households, members, survey, _ = population
    programmes = load_programmes("all")
    args = (households, members, programmes, REF)
    local = score_register(*args, survey=survey, desil_by="province_code")
    remote = score_on_cluster(client, *args, survey=survey, desil_by="province_code", parts=parts)
    _same(local, remote)
    assert set(remote.households["desil"]) == set(range(1, 11))
    # the member of no household is scored where its household would be, as in-process
    assert (remote.persons["person_id"] == "P-ORPHAN").sum() == 1


def test_the_engine_scores_dask_dataframes_and_ranks_nationally(population, client):
    import dask.dataframe as dd

    from bansos_linkage.engines import DaskEngine, ScoresRegisters

    households, members, _, pmt = population
    programmes = load_programmes("pkh") + load_programmes("pip")
    engine = DaskEngine(client)
    assert isinstance(engine, ScoresRegisters)
    local = score_register(households, members, programmes, REF, pmt=pmt)
    remote = engine.score_register(
        dd.from_pandas(households, npartitions=4),
        dd.from_pandas(members, npartitions=3),
        programmes,
        REF,
        pmt=pmt,
    )
    _same(local, remote, check_dtype=False)  # Dask reads text as its own string type


def test_households_that_score_alike_are_ranked_by_id_across_partitions(population, client):
    """A PMT fitted on a survey of one welfare predicts it for everyone: every key ties,
    the ranking is the household ids' order and the sizes, on one side of a cut or
    the other."""
    from bansos_linkage.engines.dask_score import score_on_cluster

    households, members, survey, _ = population
    flat = survey.assign(per_capita_expenditure=1_000_000)
    programmes = load_programmes("sembako")
    local = score_register(households, members, programmes, REF, survey=flat)
    assert local.households["log_welfare"].nunique() == 1
    remote = score_on_cluster(client, households, members, programmes, REF, survey=flat, parts=5)
    _same(local, remote)
    ranked = local.households.sort_values("household_id")["desil"]
    assert ranked.is_monotonic_increasing and ranked.iloc[0] == 1 and ranked.iloc[-1] == 10


def test_a_desil_given_and_the_errors_are_the_in_process_ones(population, client):
    from bansos_linkage.engines.dask_score import score_on_cluster

    households, members, _, pmt = population
    programmes = load_programmes("all")
    ranked = score_register(households, members, programmes, REF, pmt=pmt).households
    given = households.assign(desil=ranked["desil"].to_numpy())
    local = score_register(given, members, programmes, REF)
    _same(local, score_on_cluster(client, given, members, programmes, REF, parts=4))
    with pytest.raises(InputError, match="no desil column"):
        score_on_cluster(client, households, members, programmes, REF)
    with pytest.raises(InputError, match="no column 'x' to rank within"):
        score_on_cluster(client, households, members, programmes, REF, pmt=pmt, desil_by="x")


def test_summaries_of_partitions_add_up_to_the_whole(population):
    from bansos_linkage.eligibility.score import apply_programmes

    households, members, _, pmt = population
    programmes = load_programmes("all")
    whole = score_register(households, members, programmes, REF, pmt=pmt)
    hh = whole.households.drop(columns=[c for c in whole.households if ":" in c])
    halves = []
    for half in (hh.iloc[: len(hh) // 3], hh.iloc[len(hh) // 3 :]):
        ids = set(half["household_id"])
        mine = members[members["household_id"].astype(str).isin(ids)]
        if not halves:  # the member of no household, in the first part
            mine = pd.concat([mine, members[members["household_id"] == "NOWHERE"]])
        part = half.reset_index(drop=True)
        scored, people, rows, _ = apply_programmes(part, mine, programmes, REF)
        halves.append(summarise(scored, people, programmes, "province_code", rows))
    merged = merge_summaries(halves, programmes)
    pd.testing.assert_frame_equal(merged, whole.summary, check_exact=True)
    assert (merged["region"] == "all").sum() == len(programmes)
