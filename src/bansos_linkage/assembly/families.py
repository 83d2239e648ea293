"""Families: the families of each source linked as groups through their members.

A source's family is its household id where it has one (Regsosek, P3KE), else its KK
(DTKS), else the record alone (:func:`bansos_linkage.linkage.households.family_key`). The
DTSEN family of a person is:

1. the backbone family (the first source's: Regsosek by default, the newest and
   most complete) of the person's backbone record;
2. for a person without a backbone record, the DTSEN family that most of the found
   members of its own family are in (a member who died or left stays with the family
   that is there now, for verval to confirm);
3. otherwise a family of its own source, the first of its sources in priority order.

Each source family gets one status against the DTSEN families its members are in
(the first that applies):

==============  ================================================================
``not_found``   no member has a backbone record
``split``       found members are in two or more DTSEN families (a married child's
                new household, a family that split between the registrations)
``merged``      another family of the same source was found whole in its DTSEN
                family too (two KKs now registered as one household)
``partial``     fewer than half of its members were found
``moved``       all found, in one family, but that family lives in another village
``same``        all found in one family in the same village
==============  ================================================================

DTSEN families that no family of a source reached get a row ``new`` for that source.
Villages are compared in the backbone's code scheme: the codes of other sources are
translated by a crosswalk learned from the linked persons themselves (the backbone
village most of a source village's linked people live in), since DTKS uses
Kemendagri codes and Regsosek BPS codes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from bansos_linkage.linkage.households import family_key

#: Statuses of a source family, in the order they are decided.
STATUSES = ("not_found", "split", "merged", "partial", "moved", "same", "new")
#: Region columns a DTSEN family carries.
REGION_COLUMNS = (
    "province_code",
    "regency_code",
    "district_code",
    "village_code",
    "village_name",
    "region_scheme",
)


def link_families(
    records: pd.DataFrame, sources: Mapping[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """DTSEN families from the person clusters.

    ``records`` has ``source``, ``record_id``, ``person_id`` and ``duplicate_of``;
    ``sources`` the standardised records in priority order (the first is the
    backbone). Returns ``(records, families, family_links)``: ``records`` with
    ``source_family`` and ``family_id`` added, and the two tables of the package
    notes (:mod:`bansos_linkage.assembly`).
    """
    names = list(sources)
    rec = _with_source_data(records, sources)
    rec["family_id"] = _anchor_families(rec, names)
    rec["village_key"] = _backbone_villages(rec, names[0])
    families = _families(rec, names)
    links = _family_links(rec, families, names)
    out = rec[[*records.columns, "source_family", "family_id"]]
    return out, families, links


def _with_source_data(records: pd.DataFrame, sources: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``records`` with each record's family key and region columns from its source."""
    parts = []
    for name, frame in sources.items():
        cols = [c for c in REGION_COLUMNS if c in frame]
        part = frame[["record_id", *cols]].copy()
        part["record_id"] = part["record_id"].astype("string")
        part["source_family"] = family_key(frame).to_numpy()
        part["source"] = name
        parts.append(part)
    data = pd.concat(parts, ignore_index=True)
    rec = records.copy()
    rec["record_id"] = rec["record_id"].astype("string")
    for col in REGION_COLUMNS:
        if col not in data:
            data[col] = pd.NA
    rec = rec.merge(data, on=["source", "record_id"], how="left", validate="one_to_one")
    rec["_fam"] = rec.groupby(["source", "source_family"], sort=False, dropna=False).ngroup()
    return rec


def _anchor_families(rec: pd.DataFrame, names: list[str]) -> np.ndarray:
    """DTSEN family id of each record's person (by the rule of the module notes), on
    integer codes: millions of records, so no string keys."""
    rank = rec["source"].map({n: k for k, n in enumerate(names)}).to_numpy(dtype=np.int64)
    person = pd.factorize(rec["person_id"])[0]
    fam = rec["_fam"].to_numpy()
    pos = np.arange(len(rec))
    dup = rec["duplicate_of"].notna().to_numpy()
    order = np.lexsort((pos, dup, rank, person))
    head = order[np.r_[True, person[order][1:] != person[order][:-1]]]
    key = np.empty(person.max() + 1 if len(person) else 0, dtype=np.int64)
    key[person[head]] = fam[head]  # each person's most trusted record's family
    on_backbone = np.zeros(len(key), dtype=bool)
    on_backbone[person[head]] = rank[head] == 0
    # rule 2: people without a backbone record follow their family's found members
    found = on_backbone[person]
    votes = pd.DataFrame({"fam": fam[found], "key": key[person[found]], "pos": pos[found]})
    votes = votes.groupby(["fam", "key"], sort=False).agg(n=("pos", "size"), first=("pos", "min"))
    votes = votes.reset_index().sort_values(["fam", "n", "first"], ascending=[True, False, True])
    winner = votes.drop_duplicates("fam").set_index("fam")["key"]
    lonely = np.flatnonzero(~on_backbone)
    target = winner.reindex(key[lonely]).to_numpy()
    has = ~pd.isna(target)
    key[lonely[has]] = target[has].astype(np.int64)
    # number the families in the order of their first record
    of_record = key[person]
    first = pd.Series(pos).groupby(of_record).min().sort_values(kind="stable")
    number = pd.Series(np.arange(1, len(first) + 1), index=first.index)
    digits = number.reindex(of_record).to_numpy().astype(str)
    return np.char.add("F", np.char.zfill(digits, 10)).astype(object)


def _backbone_villages(rec: pd.DataFrame, backbone: str) -> pd.Series:
    """Each record's village in the backbone's scheme: its own code on backbone records,
    else its code translated by the crosswalk the linked persons show."""
    own = rec["village_code"].astype("string")
    on_bb = rec["source"].eq(backbone)
    bb_village = rec.loc[on_bb].drop_duplicates("person_id").set_index("person_id")["village_code"]
    pair = pd.DataFrame(
        {"source": rec["source"], "code": own, "bb": rec["person_id"].map(bb_village)}
    )
    pair = pair[~on_bb & pair["code"].notna() & pair["bb"].notna()]
    counts = pair.groupby(["source", "code", "bb"]).size().rename("n").reset_index()
    counts = counts.sort_values(["source", "code", "n", "bb"], ascending=[True, True, False, True])
    crosswalk = counts.drop_duplicates(["source", "code"]).set_index(["source", "code"])["bb"]
    translated = pd.Series(
        crosswalk.reindex(pd.MultiIndex.from_arrays([rec["source"], own])).to_numpy(),
        index=rec.index,
        dtype="string",
    )
    # codes already in the backbone's scheme need no crosswalk
    schemes = rec["region_scheme"].astype("string")
    bb_scheme = schemes[on_bb].mode()
    same = schemes.eq(bb_scheme.iat[0]).fillna(False) if len(bb_scheme) else on_bb  # type: ignore[arg-type]
    return own.where(on_bb | same.to_numpy(), translated.fillna(own))


def _families(rec: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per DTSEN family: region of its most trusted records, size, sources."""
    rank = rec["source"].map({n: k for k, n in enumerate(names)})
    ordered = rec.assign(_rank=rank).sort_values(["family_id", "_rank"], kind="stable")
    first_source = ordered.groupby("family_id")["_rank"].transform("min")
    anchor = ordered[ordered["_rank"].eq(first_source)]
    # the region of the family's most common village, in the backbone's village code
    anchor = anchor.assign(_village=anchor["village_key"].fillna(anchor["village_code"]))
    region = _modes(anchor, "family_id", "_village", list(REGION_COLUMNS))
    region["village_code"] = region.pop("_village")
    # a family placed in a backbone village by the crosswalk takes that village's
    # region columns too, so one village is never counted under two schemes
    backbone = anchor[anchor["_rank"].eq(0)].drop_duplicates("village_code")
    region = _in_villages(region, backbone.set_index("village_code"))
    sizes = rec.groupby("family_id")["person_id"].nunique().rename("n_persons")
    present = source_lists(rec, "family_id", names).rename("sources")
    out = region.join(sizes).join(present).reset_index()
    return out[["family_id", *REGION_COLUMNS, "n_persons", "sources"]]


def _modes(frame: pd.DataFrame, key: str, column: str, carry: list[str]) -> pd.DataFrame:
    """Per ``key``, the most common value of ``column`` (ties: the first seen) with the
    ``carry`` columns of its first row; indexed by ``key``."""
    rows = frame.assign(_pos=np.arange(len(frame)))
    counts = rows.groupby([key, column], dropna=False, sort=False).agg(
        _n=("_pos", "size"), _first=("_pos", "min")
    )
    counts = counts.reset_index().sort_values([key, "_n", "_first"], ascending=[True, False, True])
    best = counts.drop_duplicates(key)
    taken = rows.iloc[best["_first"].to_numpy()][[key, *[c for c in carry if c != column], column]]
    return taken.set_index(key)


def source_lists(rec: pd.DataFrame, key: str, names: list[str]) -> pd.Series:
    """Per ``key``, the sources present, joined with "+" in priority order (by bit
    masks: a crosstab of millions of rows aggregates in Python).

    Examples
    --------
    >>> rec = pd.DataFrame({"person_id": ["P1", "P1", "P2"], "source": ["b", "a", "b"]})
    >>> source_lists(rec, "person_id", ["a", "b"]).to_dict()
    {'P1': 'a+b', 'P2': 'b'}
    """
    rank = rec["source"].map({n: k for k, n in enumerate(names)}).to_numpy(dtype=np.int64)
    bits = pd.DataFrame({key: rec[key].to_numpy(), "bit": np.left_shift(1, rank)})
    mask = bits.drop_duplicates().groupby(key, sort=True)["bit"].sum()
    labels = {
        m: "+".join(n for k, n in enumerate(names) if m >> k & 1) for m in mask.unique().tolist()
    }
    return mask.map(labels).astype(object)


def _family_links(rec: pd.DataFrame, families: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """One row per source family with its status, and ``new`` rows per source."""
    backbone = names[0]
    found_person = pd.Index(rec.loc[rec["source"].eq(backbone), "person_id"].unique())
    people = rec[rec["duplicate_of"].isna()].copy()
    # an Index lookup: Series.isin(set) walks the string column one value at a time
    people["found"] = found_person.get_indexer(people["person_id"]) >= 0
    grouped = people.groupby(["source", "source_family"], sort=False)
    table = grouped.agg(members=("person_id", "nunique"), first=("family_id", "first"))
    found = people[people["found"]]
    spread = found.groupby(["source", "source_family"])["family_id"]
    table["found"] = spread.size().reindex(table.index).fillna(0).astype(int)
    table["n_families"] = spread.nunique().reindex(table.index).fillna(0).astype(int)
    main = (
        found.groupby(["source", "source_family", "family_id"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(
            ["source", "source_family", "n", "family_id"], ascending=[True, True, False, True]
        )
        .drop_duplicates(["source", "source_family"])
        .set_index(["source", "source_family"])["family_id"]
    )
    table["family_id"] = main.reindex(table.index).fillna(table["first"])
    # merged: another family of this source, found whole in one family, lives there too
    # (a split family's part that joined this one does not make it merged)
    whole = table[(table["found"] > 0) & table["n_families"].eq(1)]
    sharing = whole.groupby([whole.index.get_level_values(0), whole["family_id"]]).size()
    at = pd.MultiIndex.from_arrays([table.index.get_level_values(0), table["family_id"]])
    shared = sharing.reindex(at).fillna(0).to_numpy() > 1
    origin = _modes(people, "_fam", "village_key", ["source", "source_family", *REGION_COLUMNS])
    origin = origin.set_index(["source", "source_family"])
    village = origin["village_key"]
    home = families.set_index("family_id")["village_code"]
    # moved only where both villages are known (a register without regions never moves)
    theirs = pd.Series(village.reindex(table.index).to_numpy(), dtype="string")
    now = pd.Series(table["family_id"].map(home).to_numpy(), dtype="string")
    moved = theirs.ne(now).fillna(False).to_numpy(dtype=bool)
    table["status"] = np.select(
        [
            table["found"].eq(0),
            table["n_families"].gt(1),
            shared,
            table["found"] * 2 < table["members"],
            moved,
        ],
        ["not_found", "split", "merged", "partial", "moved"],
        default="same",
    )
    table = table.join(_origin_regions(origin, families))
    table = table.reset_index()[
        ["source", "source_family", "family_id", "status", "members", "found", *_ORIGIN]
    ]
    table.loc[table["source"].eq(backbone), "status"] = "same"
    return pd.concat([table, _new_rows(rec, families, names)], ignore_index=True)


#: Where a source family lived by its own records, in the DTSEN families' code scheme.
_ORIGIN = ("province_code", "regency_code", "district_code", "village_code", "village_name")


def _origin_regions(origin: pd.DataFrame, families: pd.DataFrame) -> pd.DataFrame:
    """Region columns of each source family's own village: those of a DTSEN family in
    that (translated) village where there is one, else the source's own."""
    villages = families.drop_duplicates("village_code").set_index("village_code")
    placed = origin.assign(village_code=origin["village_key"].fillna(origin["village_code"]))
    return _in_villages(placed, villages)[list(_ORIGIN)]


def _in_villages(table: pd.DataFrame, villages: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the region columns of ``villages`` (indexed by village code) where
    its ``village_code`` is one of them, its own elsewhere."""
    code = table["village_code"].astype("string")
    out = table.copy()
    for col in REGION_COLUMNS:
        if col == "village_code" or col not in villages:
            continue
        theirs = villages[col].reindex(code).to_numpy()
        own = table[col].to_numpy() if col in table else np.full(len(table), pd.NA)
        out[col] = np.where(pd.isna(theirs), own, theirs)
    return out


def _new_rows(rec: pd.DataFrame, families: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """For each source but the backbone, the DTSEN families none of its records is in."""
    rows = []
    for name in names[1:]:
        reached = pd.Index(rec.loc[rec["source"].eq(name), "family_id"].unique())
        new = families.loc[reached.get_indexer(families["family_id"]) < 0, "family_id"]
        rows.append(
            pd.DataFrame(
                {
                    "source": name,
                    "source_family": pd.NA,
                    "family_id": new,
                    "status": "new",
                    "members": 0,
                    "found": 0,
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


__all__ = [
    "REGION_COLUMNS",
    "STATUSES",
    "link_families",
    "source_lists",
]
