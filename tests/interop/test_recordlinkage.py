"""recordlinkage users can use our standardised fields as preprocessing.

Runs in the `.venv-interop` environment (``make interop``): recordlinkage caps
pandas below 3, so this also checks that bansos_linkage works on pandas 2.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

rl = pytest.importorskip("recordlinkage")
from recordlinkage.preprocessing import clean  # noqa: E402

from bansos_linkage import sample_path, standardise  # noqa: E402
from bansos_linkage.datasets import sample_crosswalk_path  # noqa: E402

pytestmark = pytest.mark.interop
REF = dt.date(2026, 1, 1)
# Same people in the two samples (DTKS id -> Regsosek id), written differently.
TRUE_PAIRS = {
    ("DTKS-0002", "R22-000102"),  # Hj. Siti Aminah, S.Pd. / SITI AMINAH
    ("DTKS-0005", "R22-000201"),  # Soeharto / SUHARTO
    ("DTKS-0008", "R22-000301"),  # I Wayan Sudarma / I WAYAN SUDARMA
    ("DTKS-0012", "R22-000402"),  # Siti Nurhaliza
    ("DTKS-0014", "R22-000403"),  # Abd. Rahman / ABDUL RAHMAN
}


@pytest.fixture(scope="module")
def frames():
    left = standardise(sample_path("dtks"), "dtks", reference_date=REF).records
    right = standardise(
        sample_path("regsosek"), "regsosek", crosswalk=sample_crosswalk_path(), reference_date=REF
    ).records
    return left.set_index("record_id"), right.set_index("record_id")


def test_runs_on_pandas_2():
    assert int(pd.__version__.split(".")[0]) == 2


def test_recordlinkage_indexes_and_compares_standardised_fields(frames):
    left, right = frames
    indexer = rl.Index()
    indexer.block(left_on="province_code", right_on="province_code")
    pairs = indexer.index(left, right)
    compare = rl.Compare()
    compare.exact("full_name", "full_name", label="name_exact")
    compare.string("name_phonetic", "name_phonetic", method="jarowinkler", label="phonetic")
    compare.exact("birth_date", "birth_date", label="dob")
    features = compare.compute(pairs, left, right)
    assert set(TRUE_PAIRS) <= set(features.index)
    true = features.loc[list(TRUE_PAIRS)]
    assert (true["name_exact"] == 1).all()
    assert (true["phonetic"] == 1.0).all()


def test_standardised_names_agree_where_recordlinkage_clean_does_not(frames):
    left, right = frames
    ids_l = [p[0] for p in TRUE_PAIRS]
    ids_r = [p[1] for p in TRUE_PAIRS]
    ours = left.loc[ids_l, "full_name"].to_numpy() == right.loc[ids_r, "full_name"].to_numpy()
    theirs = (
        clean(left.loc[ids_l, "full_name_raw"]).to_numpy()
        == clean(right.loc[ids_r, "full_name_raw"]).to_numpy()
    )
    assert ours.all()
    assert theirs.sum() < len(TRUE_PAIRS)  # titles, old spelling and Abd. defeat generic cleaning


def test_ecm_classifier_accepts_our_agreement_features(frames):
    left, right = frames
    pairs = rl.Index().full().index(left, right)
    compare = rl.Compare()
    compare.exact("full_name", "full_name", label="name")
    compare.exact("nik_birth_date", "birth_date", label="dob")
    compare.exact("sex", "sex", label="sex")
    features = compare.compute(pairs, left, right)
    matches = rl.ECMClassifier(binarize=None).fit_predict(features)
    # every DTKS person present in the Regsosek sample is found, and little else
    assert set(TRUE_PAIRS) <= set(matches)
    assert len(matches) <= len(left)
