"""Household links: the families of one register found among the households of the other.

Benefits are paid to families, and DTSEN needs each DTKS family's Regsosek household
to rank it. People are linked one by one (:mod:`~bansos_linkage.linkage.resolve`); this stage
reads the family links off the person links. Each family of the left register gets
one row with the household most of its linked members are in, and a status:

- ``matched``: every linked member is in that one household, and at least half of
  the family was found;
- ``partial``: one household, but fewer than half of the members were found (the
  others moved, died, or were not registered);
- ``split``: members are in two or more households (a married child's new family,
  a family that split between the two registrations);
- ``not_found``: no member was linked.

Households of the right register that no family reached get a row with status
``new``, so both registers' households are accounted for once. ``shared_by`` counts
the left families found in the same right household (two KKs in one house, or a
duplicate family in the left register).

A family is identified by ``household_id`` where the register has one, else by its
KK, else the person is a family of one.

The KK number itself is personal data and is never the key: a family known by its
KK is keyed ``F:`` + its sequence number (:func:`family_key`), the KKs of the
register numbered from 1 in the order they first appear in it. The key is the same
within a run and on every rerun on the same data, and says nothing of the KK
without the register. A hash would not do: the KK has 16 digits, mostly a region
code and a date, so an unsalted hash is reversed by trying them all, and a keyed
hash (HMAC) needs a secret to keep somewhere that lasts from run to run (a secret
in the run folder sits beside ``records_left.parquet``, which holds the KKs anyway,
and a new folder would get new keys). The sequence needs neither. It changes when
the register's rows come in another order or families are added before others, so
it is not a key to compare runs of different exports by; where the KK is needed
(carrying today's recipients over, which are listed by KK), ``include_kk=True``
(``link --kk-column``) adds it as a column of its own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Status of a family's link, in the order the module notes explain them.
STATUSES = ("matched", "partial", "split", "not_found", "new")


def family_key(records: pd.DataFrame) -> pd.Series:
    """The family each record belongs to: ``household_id``, else ``F:`` + the sequence
    number of its KK (not the KK itself: see the module notes), else ``ID:`` + the
    record id (a family of one).

    The KKs of ``records`` are numbered from 1 in the order they first appear, eight
    digits wide (``F:00000001``), so the same records give the same keys.

    Examples
    --------
    >>> records = pd.DataFrame({"record_id": ["r1", "r2", "r3", "r4"],
    ...                         "household_id": ["H1", None, None, None],
    ...                         "kk_number": ["K7", "K9", "K7", None]})
    >>> family_key(records).tolist()
    ['H1', 'F:00000002', 'F:00000001', 'ID:r4']
    """
    key = pd.Series(pd.NA, index=records.index, dtype="string")
    if "household_id" in records:
        key = records["household_id"].astype("string")
    if "kk_number" in records:
        codes, kks = pd.factorize(records["kk_number"].astype("string"))  # first seen: 0
        names = np.array([f"F:{n:08d}" for n in range(1, len(kks) + 1)] + [pd.NA], dtype=object)
        numbered = pd.Series(names[codes], index=records.index, dtype="string")  # -1: NA
        key = key.fillna(numbered)
    return key.fillna("ID:" + records["record_id"].astype("string"))


def family_kk(records: pd.DataFrame) -> pd.Series:
    """The KK number of each family (:func:`family_key`), by family key: the first
    one given among its records (a household may hold several KKs); families without
    one are left out."""
    if "kk_number" not in records:
        return pd.Series(dtype="string")
    kk = records["kk_number"].astype("string").str.strip().replace("", pd.NA)  # type: ignore[call-overload]
    return kk.groupby(family_key(records).to_numpy(), sort=False).first().dropna()


def household_links(
    links: pd.DataFrame,
    left_records: pd.DataFrame,
    right_records: pd.DataFrame,
    *,
    include_kk: bool = False,
) -> pd.DataFrame:
    """One row per left family and per right household no family reached.

    Parameters
    ----------
    links
        Person links: ``left_id``, ``right_id`` and ``match_probability``.
    left_records, right_records
        Standardised records with ``record_id`` and ``household_id`` and/or
        ``kk_number`` (:func:`family_key`).
    include_kk
        Add the left family's KK number as ``kk_number``, after ``left_household``
        (:func:`family_kk`; missing for families without one and for ``new`` rows).
        Off by default: the KK is personal data, and the family key stands in for it.

    Returns
    -------
    pandas.DataFrame
        ``left_household``, ``members`` (records of the family), ``linked_members``,
        ``right_household`` (where most linked members are; ties go to the higher
        summed probability, then the smaller id), ``right_members`` (its records),
        ``members_there``, ``share``
        (``members_there / members``), ``other_households``, ``shared_by``,
        ``mean_probability`` (of the links into ``right_household``) and ``status``.

    Examples
    --------
    >>> left = pd.DataFrame({"record_id": ["a", "b", "c"], "kk_number": ["K1", "K1", "K2"]})
    >>> right = pd.DataFrame({"record_id": ["x", "y", "z"], "household_id": ["H1", "H1", "H2"]})
    >>> links = pd.DataFrame({"left_id": ["a", "b"], "right_id": ["x", "y"],
    ...                       "match_probability": [0.99, 0.98]})
    >>> household_links(links, left, right)[["left_household", "right_household", "status"]]
      left_household right_household     status
    0     F:00000001              H1    matched
    1     F:00000002            <NA>  not_found
    2           <NA>              H2        new
    >>> household_links(links, left, right, include_kk=True)[["left_household", "kk_number"]]
      left_household kk_number
    0     F:00000001        K1
    1     F:00000002        K2
    2           <NA>      <NA>
    """
    left = _Families(left_records, links["left_id"])
    right = _Families(right_records, links["right_id"])
    pairs = _family_pairs(left, right, links["match_probability"])
    families = _finish(_main_households(left, right, pairs))
    unreached = np.setdiff1d(np.arange(len(right.names)), pairs["right"])
    unreached = unreached[np.argsort(right.rank[unreached])]
    new = pd.DataFrame(
        {
            "right_household": right.names[unreached],
            "right_members": right.size[unreached],
            "status": "new",
        }
    )
    out = pd.concat([families, new], ignore_index=True)[list(COLUMNS)]
    out = out.astype({"left_household": "string", "right_household": "string"})
    if include_kk:
        kk = out["left_household"].map(family_kk(left_records)).astype("string")
        out.insert(out.columns.get_loc("left_household") + 1, "kk_number", kk)  # type: ignore[operator, arg-type]
    return out


def _family_pairs(left: _Families, right: _Families, probability: pd.Series) -> dict:
    """Each (left family, right household) joined by links: how many links join them
    (``there``) and their summed probability."""
    found = (left.of_link >= 0) & (right.of_link >= 0)
    prob = pd.to_numeric(probability, errors="coerce").fillna(0.0).to_numpy()[found]
    key = left.of_link[found] * len(right.names) + right.of_link[found]
    pair, position = np.unique(key, return_inverse=True)
    return {
        "left": pair // len(right.names),
        "right": pair % len(right.names),
        "there": np.bincount(position, minlength=len(pair)),
        "p_sum": np.bincount(position, weights=prob, minlength=len(pair)),
    }


def _main_households(left: _Families, right: _Families, pairs: dict) -> pd.DataFrame:
    """Each family's main household: most members, then surest links, then smallest id."""
    n = len(left.names)
    order = np.lexsort(
        (right.rank[pairs["right"]], -pairs["p_sum"], -pairs["there"], pairs["left"])
    )
    new_family = np.ones(len(order), dtype=bool)  # no pairs at all: no families linked
    new_family[1:] = pairs["left"][order][1:] != pairs["left"][order][:-1]
    first = order[new_family]
    family = pairs["left"][first]
    main = np.full(n, -1)
    main[family] = pairs["right"][first]
    there, mean_p = np.zeros(n, dtype=np.int64), np.full(n, np.nan)
    there[family] = pairs["there"][first]
    mean_p[family] = pairs["p_sum"][first] / pairs["there"][first]
    has, at = main >= 0, np.maximum(main, 0)
    shared = np.bincount(main[has], minlength=len(right.names))
    return pd.DataFrame(
        {
            "left_household": left.names,
            "members": left.size,
            "linked_members": np.bincount(
                pairs["left"], weights=pairs["there"], minlength=n
            ).astype(np.int64),
            "right_household": np.where(has, right.names[at], None),
            "right_members": np.where(has, right.size[at], 0),
            "members_there": there,
            "other_households": np.maximum(np.bincount(pairs["left"], minlength=n) - 1, 0),
            "shared_by": np.where(has, shared[at], 0),
            "mean_probability": mean_p,
        }
    ).sort_values("left_household", kind="stable")


COLUMNS = (
    "left_household",
    "members",
    "linked_members",
    "right_household",
    "right_members",
    "members_there",
    "share",
    "other_households",
    "shared_by",
    "mean_probability",
    "status",
)


class _Families:
    """A register's families as integer codes: their names, sizes, sort ranks, and the
    family of each linked record (-1: not in the records)."""

    def __init__(self, records: pd.DataFrame, linked_ids: pd.Series) -> None:
        codes, names = pd.factorize(family_key(records))
        self.names = np.asarray(names, dtype=object)
        self.size = np.bincount(codes, minlength=len(names))
        self.rank = np.argsort(np.argsort(self.names.astype(str), kind="stable"))
        ids = pd.Index(records["record_id"].astype("string"))
        row = ids.get_indexer(linked_ids.astype("string"))  # type: ignore[arg-type]
        self.of_link = np.where(row >= 0, codes[np.maximum(row, 0)], -1).astype(np.int64)


def _finish(table: pd.DataFrame) -> pd.DataFrame:
    counts = ["linked_members", "members_there", "other_households", "shared_by", "right_members"]
    table[counts] = table[counts].astype("int64")
    table["share"] = table["members_there"] / table["members"]
    found = table["linked_members"] > 0
    table["status"] = np.select(
        [~found, table["other_households"] > 0, table["share"] < 0.5],
        ["not_found", "split", "partial"],
        "matched",
    )
    return table


def status_counts(household_table: pd.DataFrame) -> dict[str, int]:
    """How many rows have each status (every status listed, zeros included)."""
    counts = household_table["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in STATUSES}


__all__ = [
    "COLUMNS",
    "STATUSES",
    "family_key",
    "family_kk",
    "household_links",
    "status_counts",
]
