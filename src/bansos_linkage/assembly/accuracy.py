"""Accuracy of an assembly against known truth (the synthetic generator's).

- **Persons**: pairwise precision, recall and F1 over every pair of records put in
  one person (across and within sources) against the pairs of records of one true
  person, counted without listing the pairs (``n (n - 1) / 2`` per cluster, per
  true person and per intersection), so it scales to millions of records.
- **Families**: each source family's link to the backbone household(s) its found
  members live in, against the true households of its members' backbone records:
  precision, recall and F1 over (source family, backbone household) links.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def cluster_pair_metrics(
    assigned: pd.DataFrame,
    truth: pd.DataFrame,
    cluster: str = "person_id",
    entity: str = "person_id",
) -> dict[str, float]:
    """Pairwise precision / recall / F1 of clusters against true entities.

    ``assigned`` has ``source``, ``record_id`` and the ``cluster`` column; ``truth``
    ``source``, ``record_id`` and the ``entity`` column. Records missing from either
    side are left out (and counted).

    Examples
    --------
    >>> assigned = pd.DataFrame({"source": ["a", "a", "b"], "record_id": ["1", "2", "3"],
    ...                          "person_id": ["P1", "P1", "P2"]})
    >>> truth = pd.DataFrame({"source": ["a", "a", "b"], "record_id": ["1", "2", "3"],
    ...                       "person_id": ["X", "Y", "Y"]})
    >>> cluster_pair_metrics(assigned, truth)["precision"]
    0.0
    """
    both = assigned[["source", "record_id", cluster]].merge(
        truth[["source", "record_id", entity]].rename(columns={entity: "_truth"}),
        on=["source", "record_id"],
        how="inner",
    )
    predicted = _pairs(both.groupby(cluster).size())
    true = _pairs(both.groupby("_truth").size())
    correct = _pairs(both.groupby([cluster, "_truth"]).size())
    return _prf(correct, predicted, true) | {
        "records_scored": len(both),
        "records_unscored": int(len(assigned) - len(both)),
    }


def _pairs(sizes: pd.Series) -> int:
    n = sizes.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def _prf(correct: int, predicted: int, true: int) -> dict[str, float]:
    precision = correct / predicted if predicted else 1.0
    recall = correct / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "true_pairs": true,
        "predicted_pairs": predicted,
        "correct_pairs": correct,
    }


def truth_table(truth: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The generator's truth tables (name -> ``record_id, person_id, household_id``) as
    one table with a ``source`` column."""
    return pd.concat(
        [t[["record_id", "person_id", "household_id"]].assign(source=n) for n, t in truth.items()],
        ignore_index=True,
    ).astype({"record_id": "string"})


def family_link_metrics(records: pd.DataFrame, truth: pd.DataFrame, backbone: str) -> dict:
    """Precision / recall / F1 of the source families' links to backbone households.

    ``records``: the assembly's records table (``source``, ``record_id``,
    ``person_id``, ``source_family``, ``family_id``). ``truth``: :func:`truth_table`.
    A predicted link is (source family, true backbone household of the DTSEN family a
    member was put in: the household most of that family's backbone records truly
    belong to); a true link is (source family, the backbone household a member truly
    lives in, through the member's own backbone record).
    """
    rec = records.astype({"record_id": "string"}).merge(
        truth.rename(columns={"person_id": "true_person", "household_id": "true_household"}),
        on=["source", "record_id"],
        how="inner",
    )
    on_bb = rec["source"].eq(backbone)
    bb = rec[on_bb]
    household_of_person = bb.drop_duplicates("true_person").set_index("true_person")[
        "true_household"
    ]
    household_of_family = bb.groupby("family_id")["true_household"].agg(
        lambda s: s.value_counts().index[0]
    )
    others = rec[~on_bb]
    true = set(
        zip(
            others["source"],
            others["source_family"],
            others["true_person"].map(household_of_person),
            strict=True,
        )
    )
    predicted_bb = others["person_id"].isin(set(bb["person_id"]))
    found = others[predicted_bb.to_numpy()]
    predicted = set(
        zip(
            found["source"],
            found["source_family"],
            found["family_id"].map(household_of_family),
            strict=True,
        )
    )
    true = {t for t in true if isinstance(t[2], str)}
    predicted = {p for p in predicted if isinstance(p[2], str)}
    return _prf(len(true & predicted), len(predicted), len(true))


def assembly_accuracy(
    records: pd.DataFrame, truth: Mapping[str, pd.DataFrame], backbone: str
) -> dict[str, dict]:
    """Person and family accuracy of an assembly's ``records`` against the truth tables.

    Returns ``{"persons": ..., "families": ...}`` (see :func:`cluster_pair_metrics` and
    :func:`family_link_metrics`)."""
    table = truth_table(truth)
    return {
        "persons": cluster_pair_metrics(records.astype({"record_id": "string"}), table),
        "families": family_link_metrics(records, table, backbone),
    }


__all__ = [
    "assembly_accuracy",
    "cluster_pair_metrics",
    "family_link_metrics",
    "truth_table",
]
