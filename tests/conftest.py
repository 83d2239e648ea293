"""Shared fixtures: one synthetic DTKS <-> Regsosek linkage problem with its truth."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from bansos_linkage import standardise
from bansos_linkage.linkage.blocking import (
    DEFAULT_RULES,
    CandidatePairs,
    blocking_keys,
    candidate_pairs,
)
from bansos_linkage.synthetic import SyntheticData, generate, scenario

# Property tests draw the same examples on every run (CI must not pass or fail by
# chance); HYPOTHESIS_PROFILE=explore searches afresh each time.
# no deadline: a per-example time limit is a timed assertion, and it fails on a busy
# machine (speed is measured in benchmarks/, not in tests)
settings.register_profile("deterministic", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@dataclass
class LinkageProblem:
    data: SyntheticData
    left: pd.DataFrame  # standardised DTKS records with blocking keys
    right: pd.DataFrame  # standardised Regsosek records with blocking keys
    pairs: CandidatePairs
    true: np.ndarray  # per candidate pair: same person?
    true_left: np.ndarray  # positions of every true (DTKS, Regsosek) pair
    true_right: np.ndarray


@pytest.fixture(scope="session")
def dtks_regsosek() -> LinkageProblem:
    return linkage_problem("default")


@pytest.fixture(scope="session")
def mixed_registers() -> LinkageProblem:
    """A tuning mix: KK renumbered, NIKs missing or someone else's, names reordered."""
    return linkage_problem("mix01")


def linkage_problem(name: str, households: int = 1_500, seed: int = 3) -> LinkageProblem:
    data = generate(scenario(name, households=households, seed=seed))
    ref = dt.date(2026, 1, 1)
    left, right = (
        blocking_keys(
            standardise(data.registers[name].astype("string"), name, reference_date=ref).records
        )
        for name in ("dtks", "regsosek")
    )
    pairs = candidate_pairs(left, right, DEFAULT_RULES)
    lp, rp = (
        data.truth[name].set_index("record_id").loc[frame["record_id"], "person_id"].to_numpy()
        for name, frame in (("dtks", left), ("regsosek", right))
    )
    both = pd.Series(lp).isin(set(rp)).to_numpy()
    true_right = pd.Series(np.arange(len(rp)), index=rp).loc[lp[both]].to_numpy()
    return LinkageProblem(
        data,
        left,
        right,
        pairs,
        lp[pairs.left] == rp[pairs.right],
        np.flatnonzero(both),
        true_right,
    )


@pytest.fixture(scope="session")
def make_link_run():
    """:func:`small_link_run`, for tests that need a run folder."""
    return small_link_run


def small_link_run(out, seed: int = 1, **kwargs):
    """A link run of 200 synthetic households written to ``out`` (a few seconds);
    returns the run and the synthetic data."""
    from bansos_linkage.runs.link import link_files

    data = generate(scenario("default", households=200, seed=seed))
    run = link_files(
        data.registers["dtks"],
        data.registers["regsosek"],
        "dtks",
        "regsosek",
        out,
        reference_date=dt.date(2026, 1, 1),
        **kwargs,
    )
    return run, data
