"""Chosen person values, their sources, and the conflicts between sources.

A DTSEN person is made of records from several source registers (and, within a
source, of declared duplicates). This module picks one value per field of the
person, says which source it came from, and lists the fields on which the records
disagree, so that verval can settle them.

Choice rules (the contract for users of :func:`person_values`)
---------------------------------------------------------------
Records are ranked by source priority (the ``priority`` sequence, most trusted
first; sources not named there come after it, in name order), then the
representative record of a declared duplicate group before its duplicates, then
record id. A field missing from a source's table counts as missing in every record
of that source; empty strings count as missing.

``nik``
    Candidates are the person's non-missing NIKs. A NIK equal to one of the person's
    own KK numbers (a KK typed in the NIK field) is chosen only when there is no other;
    then a structurally valid NIK (``nik_decoded`` true) beats an invalid one; then
    the value most records of the person carry; then the best-ranked record.
``birth_date``
    The most precise value (day > month > year; a date without a precision counts as
    day-precise); then the value most records agree with once precision is taken into
    account (a year-only 1980 agrees with 1980-05-02); then the best-ranked record.
    ``birth_date_precision`` is the precision of the chosen value.
every other field
    The value of the best-ranked record that has one.

Conflicts (:func:`field_conflicts`)
-----------------------------------
Two records of a person conflict on

- ``nik``: different non-missing NIKs; and, as its own kind, a NIK present in one
  source only while the person has records in other sources without one
  (``"only in dtks"``);
- ``birth_date``: dates that disagree at the coarser precision of the two (year-only
  vs day compares years; month vs day compares year and month). Details:
  ``"day and month swapped"`` (1980-05-02 vs 1980-02-05), ``"differs by N days"``
  (both day-precise), else ``"differs"``;
- ``sex``: different values;
- ``full_name``: no phonetic word (``name_phonetic``) in common.

One row per person and field: disagreements between sources read
``"<kind> between dtks and regsosek"`` (the sources with a conflicting record, in
priority order), disagreements between records of one source
``"<kind> within dtks"``; several parts are joined with ``"; "``. When the
conflicting pairs of one part differ in kind, the kind is ``"differs"``. ``detail``
never holds the values themselves, since conflicts tables get logged; use
:func:`conflict_values` to show verifiers what each record says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.errors import InputError, UsageError

__all__ = ["PERSON_FIELDS", "conflict_values", "field_conflicts", "person_values"]

#: Fields chosen per person (region and address fields are chosen per family).
PERSON_FIELDS: tuple[str, ...] = (
    "nik",
    "kk_number",
    "full_name",
    "sex",
    "birth_date",
    "birth_date_precision",
    "relationship",
    "mother_name",
)

#: Fields compared for conflicts, in the order conflict rows are listed.
_COMPARED: tuple[str, ...] = ("nik", "full_name", "sex", "birth_date")
_CONFLICT_COLUMNS = ("kind", "person_id", "family_id", "field", "detail", "record_ids")
_RECORD_COLUMNS = ("source", "record_id", "person_id", "family_id")
_PRECISION_RANK = {"day": 0, "month": 1, "year": 2}
_DAY, _MONTH, _YEAR = 0, 1, 2


# --------------------------------------------------------------------------- inputs


def _source_rank(priority: Sequence[str], names: Sequence[str]) -> dict[str, int]:
    """Rank of each source: its place in ``priority``, unknown sources after, by name."""
    if isinstance(priority, str):
        raise UsageError("expected a sequence of source names, not one string", option="priority")
    order = list(priority)
    if len(set(order)) != len(order):
        raise UsageError("source names repeat", option="priority")
    extra = sorted(set(names) - set(order))
    return {name: i for i, name in enumerate(order + extra)}


def _check_records(records: pd.DataFrame) -> None:
    missing = [c for c in _RECORD_COLUMNS if c not in records.columns]
    if missing:
        raise InputError("records table lacks a required column", column=missing[0])


def _na(n: int, field: str) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """An all-missing column of ``field``'s canonical dtype."""
    if field == "birth_date":
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    dtype = {"relationship": "Int64", "nik_decoded": "boolean"}.get(field, "string")
    return pd.array([pd.NA] * n, dtype=dtype)  # type: ignore[call-overload]


def _column(values: pd.Series, field: str) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """One source column in ``field``'s canonical dtype; blank strings become missing."""
    if field == "birth_date":
        return pd.to_datetime(values).to_numpy("datetime64[ns]")
    if field == "relationship":
        return values.astype("Int64").array
    if field == "nik_decoded":
        return values.astype("boolean").array
    text = values.astype("string").str.strip()
    return text.mask(text == "").array


def _phonetic(frame: pd.DataFrame) -> pd.Series | None:
    """``name_phonetic`` of a source, computed from ``full_name`` when absent."""
    if "name_phonetic" in frame.columns:
        return frame["name_phonetic"]
    if "full_name" not in frame.columns:
        return None
    from bansos_linkage.standardisation import standardise_name  # heavy: import lazily

    return standardise_name(frame["full_name"])["name_phonetic"]


def _source_table(name: str, frame: pd.DataFrame, fields: Sequence[str]) -> pd.DataFrame:
    """``record_id`` and ``fields`` of one source; absent columns all missing."""
    if "record_id" not in frame.columns:
        raise InputError(f"source {name!r} lacks record ids", column="record_id")
    out: dict[str, Any] = {"record_id": frame["record_id"].astype("string").array}
    for field in fields:
        values = _phonetic(frame) if field == "name_phonetic" else frame.get(field)
        out[field] = _na(len(frame), field) if values is None else _column(values, field)
    return pd.DataFrame(out)


def _present_fields(sources: Mapping[str, pd.DataFrame]) -> list[str]:
    """PERSON_FIELDS present in at least one source (precision follows birth_date)."""
    cols: set[str] = set().union(*(set(f.columns) for f in sources.values()))
    if "birth_date" in cols:
        cols.add("birth_date_precision")
    return [f for f in PERSON_FIELDS if f in cols]


@dataclass
class _Long:
    """Records sorted by person then record rank, with lazy access to their values.

    Row ``i`` of ``frame`` is the ``i``-th best record overall (by person, then source
    rank, representative before duplicates, then record id), so the first row of a
    person having a value is its best-ranked one. ``frame`` holds integer columns
    only: ``pid`` (index into ``person_ids``), ``rank``, ``dup``, ``pos`` (row in
    ``records``) and ``src`` (row in ``table``, whose last row is all missing).
    Strings are fetched only for the rows that need them, which keeps 2 million
    records fast.
    """

    frame: pd.DataFrame
    table: pd.DataFrame
    records: pd.DataFrame
    person_ids: pd.Series  # by pid, sorted
    source_names: list[str]  # by rank

    @property
    def pid(self) -> np.ndarray:
        return self.frame["pid"].to_numpy()

    @property
    def rank(self) -> np.ndarray:
        return self.frame["rank"].to_numpy()

    def has(self, field: str) -> bool:
        return field in self.table.columns

    def at(self, field: str, rows: np.ndarray) -> pd.Series:
        """Values of ``field`` for sorted ``rows``."""
        return self.table[field].take(self.frame["src"].to_numpy()[rows]).reset_index(drop=True)

    def notna(self, field: str) -> np.ndarray:
        return self.table[field].notna().to_numpy()[self.frame["src"].to_numpy()]

    def codes(self, field: str) -> np.ndarray:
        """Integer codes of ``field`` per sorted row (equal values, equal codes; -1 missing)."""
        return pd.factorize(self.table[field])[0][self.frame["src"].to_numpy()]

    def column(self, name: str, rows: np.ndarray) -> np.ndarray:
        """A ``records`` column (as objects) for sorted ``rows``."""
        values = self.records[name].astype("string")
        return values.take(self.frame["pos"].to_numpy()[rows]).to_numpy(object)

    def sources(self, rows: np.ndarray) -> pd.Series:
        names = np.asarray(self.source_names, dtype=object)
        return pd.Series(names[self.rank[rows]], dtype="string")


def _lookup(table_ids: pd.Series, wanted: pd.Series, name: str) -> np.ndarray:
    """Row of each ``wanted`` id in ``table_ids`` (-1 when absent); ids must not repeat."""
    codes, uniques = pd.factorize(pd.concat([table_ids, wanted], ignore_index=True))
    have, want = codes[: len(table_ids)], codes[len(table_ids) :]
    if np.bincount(have[have >= 0], minlength=len(uniques)).max(initial=0) > 1:
        raise InputError(f"record ids repeat in source {name!r}", column="record_id")
    if np.bincount(want[want >= 0], minlength=len(uniques)).max(initial=0) > 1:
        raise InputError(f"record ids of source {name!r} repeat in records", column="record_id")
    row_of = np.full(len(uniques) + 1, -1, dtype="int64")  # code -1 reads the last slot
    ok = have >= 0
    row_of[have[ok]] = np.flatnonzero(ok)
    return row_of[want]


def _field_table(
    records: pd.DataFrame,
    source_code: np.ndarray,
    source_names: Sequence[str],
    sources: Mapping[str, pd.DataFrame],
    fields: Sequence[str],
) -> tuple[pd.DataFrame, np.ndarray]:
    """Field values of all sources stacked (plus a missing row) and each record's row."""
    rec_ids = records["record_id"].astype("string").reset_index(drop=True)
    src = np.full(len(records), -1, dtype="int64")
    tables, offset = [], 0
    for name, frame in sources.items():
        table = _source_table(name, frame, fields)
        if name in source_names:
            at = np.flatnonzero(source_code == list(source_names).index(name))
            found = _lookup(table["record_id"], rec_ids.iloc[at], name)
            src[at] = np.where(found >= 0, found + offset, -1)
        tables.append(table.drop(columns="record_id"))
        offset += len(table)
    tables.append(pd.DataFrame({f: _na(1, f) for f in fields}))
    table = pd.concat(tables, ignore_index=True)
    if "birth_date_precision" in table and "birth_date" in table:
        # A date whose precision is unknown was read as a full date.
        unknown = table["birth_date"].notna() & table["birth_date_precision"].isna()
        table.loc[unknown, "birth_date_precision"] = "day"
    return table, np.where(src >= 0, src, len(table) - 1)


def _record_order(pid: np.ndarray, rank: np.ndarray, dup: np.ndarray, ids: pd.Series):
    """Order by person, rank, duplicate flag, then record id (only ties look at ids)."""
    order = np.lexsort((dup, rank, pid))
    p, r, d = pid[order], rank[order], dup[order]
    same = (p[1:] == p[:-1]) & (r[1:] == r[:-1]) & (d[1:] == d[:-1])
    tied = np.zeros(len(order), dtype=bool)
    tied[1:] |= same
    tied[:-1] |= same
    if tied.any():
        pos = np.flatnonzero(tied)
        tie_ids = ids.take(order[pos]).to_numpy(object)
        sub = pd.DataFrame({"p": p[pos], "r": r[pos], "d": d[pos], "id": tie_ids})
        order[pos] = order[pos][sub.sort_values(["p", "r", "d", "id"], kind="stable").index]
    return order


def _gather(
    records: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
    priority: Sequence[str],
    fields: Sequence[str],
) -> _Long:
    """Records joined to their field values, best record of each person first."""
    _check_records(records)
    source_code, present = pd.factorize(records["source"].astype("string"))
    if (source_code < 0).any():
        raise InputError("records has rows without a source", column="source")
    rank_of = _source_rank(priority, sorted(set(present) | set(sources)))
    pid, person_ids = pd.factorize(records["person_id"].astype("string"), sort=True)
    if (pid < 0).any():
        raise InputError("records has rows without a person id", column="person_id")
    rank = np.array([rank_of[n] for n in present], dtype="int64")[source_code]
    given = records["duplicate_of"] if "duplicate_of" in records.columns else None
    dup = np.zeros(len(records), bool) if given is None else _present(given)
    table, src = _field_table(records, source_code, list(present), sources, fields)
    ids = records["record_id"].astype("string").reset_index(drop=True)
    order = _record_order(pid, rank, dup, ids)
    frame = pd.DataFrame(
        {"pid": pid[order], "rank": rank[order], "dup": dup[order], "pos": order, "src": src[order]}
    )
    by_rank = sorted(rank_of, key=rank_of.__getitem__)
    ids_of_persons = pd.Series(person_ids, dtype="string")
    return _Long(frame, table, records.reset_index(drop=True), ids_of_persons, by_rank)


def _present(values: pd.Series) -> np.ndarray:
    text = values.astype("string")
    return (text.notna() & (text.str.strip() != "")).to_numpy(bool, na_value=False)


def _first_rows(rows: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """Of ``rows`` grouped by ``pid`` (contiguous), the first of each group."""
    p = pid[rows]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = p[1:] != p[:-1]
    return rows[keep]


# --------------------------------------------------------------------------- choices


def _choose_first(long: _Long, field: str) -> np.ndarray:
    return _first_rows(np.flatnonzero(long.notna(field)), long.pid)


def _choose_nik(long: _Long) -> np.ndarray:
    pid, src = long.pid, long.frame["src"].to_numpy()
    # NIK and KK numbers in one code space, to spot a KK typed as NIK.
    kk = long.table["kk_number"] if long.has("kk_number") else long.table["nik"].iloc[:0]
    codes = pd.factorize(pd.concat([long.table["nik"], kk], ignore_index=True))[0]
    nik = codes[: len(long.table)][src]
    kk = codes[len(long.table) :][src] if len(kk) else np.full(len(pid), -1)  # type: ignore[assignment]
    rows = np.flatnonzero(nik >= 0)
    width = int(codes.max(initial=0)) + 2
    own_kk = pid[kk >= 0] * width + kk[kk >= 0]
    key = pid[rows] * width + nik[rows]
    is_kk = pd.Series(key).isin(own_kk).to_numpy()  # hashed, no sort
    decoded = long.table["nik_decoded"].to_numpy(bool, na_value=False)
    valid = pd.Series(decoded[src[rows]]).groupby(key).transform("max").to_numpy()
    agree = pd.Series(key).groupby(key).transform("size").to_numpy()
    order = np.lexsort((rows, -agree, ~valid, is_kk, pid[rows]))
    return _first_rows(rows[order], pid)


def _date_keys(long: _Long) -> pd.DataFrame:
    """Dated rows: ``row``, ``pid``, ``prec`` (0 day, 1 month, 2 year), year, month, day."""
    rows = np.flatnonzero(long.notna("birth_date"))
    d = long.at("birth_date", rows).to_numpy("datetime64[D]")
    out = pd.DataFrame({"row": rows, "pid": long.pid[rows]})
    prec = long.at("birth_date_precision", rows) if long.has("birth_date_precision") else None
    out["prec"] = 0 if prec is None else prec.map(_PRECISION_RANK).fillna(0).to_numpy("int64")
    out["y"] = d.astype("datetime64[Y]").astype("int64")
    out["m"] = d.astype("datetime64[M]").astype("int64")
    out["d"] = d.astype("int64")
    return out


def _choose_birth_date(long: _Long) -> np.ndarray:
    dated = _date_keys(long)
    # Agreement of a value: records at its precision or coarser that it fits.
    agree = np.zeros(len(dated), dtype="int64")
    for level, key in ((_YEAR, "y"), (_MONTH, "m"), (_DAY, "d")):
        at_level = (dated["prec"] == level).astype("int64")
        count = at_level.groupby([dated["pid"], dated[key]]).transform("sum").to_numpy()
        agree += np.where(dated["prec"] <= level, count, 0)
    order = np.lexsort((dated["row"], -agree, dated["prec"], dated["pid"]))
    return _first_rows(dated["row"].to_numpy()[order], long.pid)


def _by_person(values: pd.Series, pids: np.ndarray, n: int) -> pd.Series:
    """``values`` of persons ``pids`` placed at their person's position (missing elsewhere)."""
    return pd.Series(values.array, index=pids).reindex(np.arange(n)).reset_index(drop=True)


def person_values(
    records: pd.DataFrame, sources: Mapping[str, pd.DataFrame], priority: Sequence[str]
) -> pd.DataFrame:
    """The value chosen for each person field and the source it came from.

    Parameters
    ----------
    records
        One row per input record: ``source``, ``record_id``, ``person_id``,
        ``family_id`` and optionally ``duplicate_of`` (null unless a declared
        duplicate). Records of a source missing from ``sources`` have no values.
    sources
        Standardised records of each source, by source name; any field may be absent.
    priority
        Source names, most trusted first.

    Returns
    -------
    pandas.DataFrame
        One row per person, sorted by ``person_id``; for each field of
        :data:`PERSON_FIELDS` present in any source, ``<field>`` and
        ``<field>_source`` (null when no record has the field). Rules: module docstring.

    Raises
    ------
    InputError
        A required records column is missing, a person id is missing, or record ids
        repeat within a source.
    UsageError
        ``priority`` repeats a source.

    Examples
    --------
    >>> recs = pd.DataFrame({"source": ["dtks", "regsosek"], "record_id": ["D1", "R1"],
    ...                      "person_id": ["P1", "P1"], "family_id": ["F1", "F1"],
    ...                      "duplicate_of": [None, None]})
    >>> srcs = {"dtks": pd.DataFrame({"record_id": ["D1"], "sex": ["F"]}),
    ...         "regsosek": pd.DataFrame({"record_id": ["R1"], "sex": ["M"]})}
    >>> person_values(recs, srcs, ["regsosek", "dtks"]).to_dict("records")
    [{'person_id': 'P1', 'sex': 'M', 'sex_source': 'regsosek'}]
    """
    fields = _present_fields(sources)
    helpers = ["nik_decoded"] if "nik" in fields else []
    long = _gather(records, sources, priority, fields + helpers)
    n = len(long.person_ids)
    out = {"person_id": long.person_ids}
    for field in fields:
        if field == "birth_date_precision":
            continue  # follows birth_date
        if field == "nik":
            rows = _choose_nik(long)
        elif field == "birth_date":
            rows = _choose_birth_date(long)
        else:
            rows = _choose_first(long, field)
        pids = long.pid[rows]
        source = _by_person(long.sources(rows), pids, n)
        out[field] = _by_person(long.at(field, rows), pids, n)
        out[f"{field}_source"] = source
        if field == "birth_date":
            precision = long.at("birth_date_precision", rows)
            out["birth_date_precision"] = _by_person(precision, pids, n)
            out["birth_date_precision_source"] = source
    order = ["person_id", *(c for f in fields for c in (f, f"{f}_source"))]
    return pd.DataFrame(out)[order]


# --------------------------------------------------------------------------- conflicts


def _pairs(cand: pd.DataFrame) -> pd.DataFrame:
    """Every pair of candidate rows of the same person, ``row_a < row_b``."""
    pairs = cand.merge(cand, on="pid", suffixes=("_a", "_b"))
    return pairs[pairs["row_a"] < pairs["row_b"]].reset_index(drop=True)


def _disagreeing(pid: np.ndarray, code: np.ndarray) -> pd.DataFrame:
    """Rows (``row``, ``pid``, ``code``) with a value (``code >= 0``) of persons with
    more than one distinct value; the index is the position in ``code``."""
    rows = np.flatnonzero(code >= 0)
    cand = pd.DataFrame({"row": rows, "pid": pid[rows], "code": code[rows]}, index=rows)
    distinct = cand[["pid", "code"]].drop_duplicates()["pid"].value_counts()
    return cand[cand["pid"].isin(distinct.index[distinct.to_numpy() > 1]).to_numpy()]


def _equality_conflicts(long: _Long, field: str) -> pd.DataFrame:
    pairs = _pairs(_disagreeing(long.pid, long.codes(field)))
    pairs = pairs[pairs["code_a"] != pairs["code_b"]]
    return pairs[["pid", "row_a", "row_b"]].assign(label="differs")


def _name_conflicts(long: _Long) -> pd.DataFrame:
    cand = _disagreeing(long.pid, long.codes("name_phonetic"))
    pairs = _pairs(cand)[["pid", "row_a", "row_b"]]
    phonetic = long.at("name_phonetic", cand["row"].to_numpy())
    words = pd.DataFrame({"row": cand["row"].to_numpy(), "word": phonetic.str.split().array})
    words = words.explode("word").dropna().drop_duplicates()
    shared = pairs.merge(words.rename(columns={"row": "row_a"}), on="row_a")
    shared = shared.merge(words.rename(columns={"row": "row_b"}), on=["row_b", "word"])
    shared = shared[["row_a", "row_b"]].drop_duplicates().assign(shared=True)
    pairs = pairs.merge(shared, on=["row_a", "row_b"], how="left")
    return pairs[pairs["shared"].isna()].drop(columns="shared").assign(label="differs")


def _day_of_month(days: np.ndarray) -> np.ndarray:
    d = days.astype("datetime64[D]")
    return (d - d.astype("datetime64[M]")).astype("int64") + 1


def _date_conflicts(long: _Long) -> pd.DataFrame:
    dated = _date_keys(long)
    value = pd.factorize(dated["d"] * 4 + dated["prec"])[0]
    cand = _disagreeing(dated["pid"].to_numpy(), value)
    p = _pairs(dated.iloc[cand.index][["row", "pid", "prec", "y", "m", "d"]])
    coarse = np.maximum(p["prec_a"], p["prec_b"])
    same = np.select(
        [coarse == _YEAR, coarse == _MONTH],
        [p["y_a"] == p["y_b"], p["m_a"] == p["m_b"]],
        p["d_a"] == p["d_b"],
    )
    p = p[~same].reset_index(drop=True)
    both_days = ((p["prec_a"] == _DAY) & (p["prec_b"] == _DAY)).to_numpy()
    month_a = (p["m_a"] - p["y_a"] * 12).to_numpy() + 1
    month_b = (p["m_b"] - p["y_b"] * 12).to_numpy() + 1
    day_a, day_b = _day_of_month(p["d_a"].to_numpy()), _day_of_month(p["d_b"].to_numpy())
    same_year = (p["y_a"] == p["y_b"]).to_numpy()
    swapped = both_days & same_year & (month_a == day_b) & (day_a == month_b)
    days = "differs by " + (p["d_a"] - p["d_b"]).abs().astype(str) + " days"
    label = np.where(swapped, "day and month swapped", np.where(both_days, days, "differs"))
    return p[["pid", "row_a", "row_b"]].assign(label=label)


def _join_groups(keys: np.ndarray, texts: np.ndarray, sep: str) -> tuple[np.ndarray, np.ndarray]:
    """Join ``texts`` of runs of equal ``keys`` (already grouped) with ``sep``."""
    if len(keys) == 0:
        return keys, np.array([], dtype=object)
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    joined = np.add.reduceat(np.asarray(texts, dtype=object) + sep, starts)
    cut = len(sep)
    return keys[starts], np.array([t[:-cut] for t in joined], dtype=object)


def _source_list(masks: np.ndarray, names: list[str]) -> np.ndarray:
    """``"a, b and c"`` for each bit mask of source ranks (few distinct masks)."""
    text = {}
    for mask in np.unique(masks):
        chosen = [n for i, n in enumerate(names) if mask >> i & 1]
        text[mask] = ", ".join(chosen[:-1]) + " and " + chosen[-1] if len(chosen) > 1 else chosen[0]
    return np.array([text[m] for m in masks], dtype=object)


def _pair_parts(pairs: pd.DataFrame, long: _Long) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Detail parts (``pid``, ``order``, ``text``) and rows involved in conflicting pairs."""
    names = long.source_names
    row_a, row_b = pairs["row_a"].to_numpy(), pairs["row_b"].to_numpy()
    ra, rb = long.rank[row_a], long.rank[row_b]
    part = np.where(ra == rb, ra + 1, 0)  # 0: between sources; k + 1: within rank k
    label_code, labels = pd.factorize(pairs["label"])
    pid = pairs["pid"].to_numpy()
    frame = pd.DataFrame({"pid": pid, "order": part, "label": label_code})
    summary = frame.groupby(["pid", "order"], sort=True)["label"].agg(["first", "nunique"])
    label = np.asarray(labels, dtype=object)[summary["first"].to_numpy()]
    label = np.where(summary["nunique"].to_numpy() == 1, label, "differs")
    ends = pd.DataFrame({"pid": np.r_[pid, pid], "order": np.r_[part, part], "rank": np.r_[ra, rb]})
    ends = ends.drop_duplicates()
    bits = pd.Series(np.left_shift(1, ends["rank"].to_numpy()), index=ends.index)
    masks = bits.groupby([ends["pid"], ends["order"]], sort=True).sum().to_numpy()
    order = summary.index.get_level_values("order").to_numpy()
    within = np.asarray(names, dtype=object)[np.maximum(order - 1, 0)]
    between = _source_list(masks, names) if len(masks) else masks.astype(object)
    text = np.where(order == 0, label + " between " + between, label + " within " + within)
    pids = summary.index.get_level_values("pid").to_numpy()
    parts = pd.DataFrame({"pid": pids, "order": order, "text": text})
    rows = pd.DataFrame({"pid": np.r_[pid, pid], "row": np.r_[row_a, row_b]})
    return parts, rows


def _nik_only_in(long: _Long) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Persons whose NIK comes from one source while their other sources' records lack it."""
    by_source = pd.DataFrame({"pid": long.pid, "rank": long.rank, "has": long.notna("nik")})
    per = by_source.groupby(["pid", "rank"], sort=True)["has"].any().reset_index()
    stats = per.groupby("pid").agg(n=("rank", "size"), with_nik=("has", "sum"))
    single = stats.index[(stats["with_nik"] == 1) & (stats["n"] > 1)]
    owner = per[per["pid"].isin(single) & per["has"]]
    text = "only in " + np.asarray(long.source_names, dtype=object)[owner["rank"].to_numpy()]
    parts = pd.DataFrame({"pid": owner["pid"].to_numpy(), "order": 0, "text": text})
    rows = np.flatnonzero(np.isin(long.pid, single))
    return parts, pd.DataFrame({"pid": long.pid[rows], "row": rows})


def _field_rows(field: str, parts: pd.DataFrame, rows: pd.DataFrame, long: _Long) -> pd.DataFrame:
    """One conflict row per person from its detail parts and involved rows."""
    parts = parts.sort_values(["pid", "order"], kind="stable")
    pids, detail = _join_groups(parts["pid"].to_numpy(), parts["text"].to_numpy(), "; ")
    rows = rows.drop_duplicates()
    rows = rows.assign(record_id=long.column("record_id", rows["row"].to_numpy()))
    rows = rows.sort_values(["pid", "record_id"], kind="stable")
    _, record_ids = _join_groups(rows["pid"].to_numpy(), rows["record_id"].to_numpy(), ";")
    first = _first_rows(np.arange(len(long.frame)), long.pid)  # one row per pid
    return pd.DataFrame(
        {
            "kind": "field",
            "pid": pids,
            "family_id": long.column("family_id", first[pids]),
            "field": field,
            "detail": detail,
            "record_ids": record_ids,
        }
    )


def field_conflicts(
    records: pd.DataFrame, sources: Mapping[str, pd.DataFrame], priority: Sequence[str]
) -> pd.DataFrame:
    """Persons whose records disagree on ``nik``, ``full_name``, ``sex`` or ``birth_date``.

    Parameters
    ----------
    records, sources, priority
        As for :func:`person_values`.

    Returns
    -------
    pandas.DataFrame
        Columns ``kind`` (``"field"``), ``person_id``, ``family_id``, ``field``,
        ``detail`` (sources and kind of difference, never values) and ``record_ids``
        (``";"``-joined, sorted); one row per person and field in conflict, sorted by
        person then field (nik, full_name, sex, birth_date). Rules: module docstring.

    Raises
    ------
    InputError, UsageError
        As for :func:`person_values`.

    Examples
    --------
    >>> recs = pd.DataFrame({"source": ["dtks", "regsosek"], "record_id": ["D1", "R1"],
    ...                      "person_id": ["P1", "P1"], "family_id": ["F1", "F1"],
    ...                      "duplicate_of": [None, None]})
    >>> srcs = {"dtks": pd.DataFrame({"record_id": ["D1"], "sex": ["F"]}),
    ...         "regsosek": pd.DataFrame({"record_id": ["R1"], "sex": ["M"]})}
    >>> conf = field_conflicts(recs, srcs, ["regsosek", "dtks"])
    >>> conf[["field", "detail", "record_ids"]].to_dict("records")
    [{'field': 'sex', 'detail': 'differs between regsosek and dtks', 'record_ids': 'D1;R1'}]
    """
    present = set(_present_fields(sources))
    fields = [f for f in _COMPARED if f in present]
    extra = ["birth_date_precision"] if "birth_date" in fields else []
    extra += ["name_phonetic"] if "full_name" in fields else []
    long = _gather(records, sources, priority, fields + extra)
    found = []
    for i, field in enumerate(fields):
        if field == "full_name":
            pairs = _name_conflicts(long)
        elif field == "birth_date":
            pairs = _date_conflicts(long)
        else:
            pairs = _equality_conflicts(long, field)
        parts, rows = _pair_parts(pairs, long)
        if field == "nik":
            only_parts, only_rows = _nik_only_in(long)
            parts = pd.concat([parts, only_parts], ignore_index=True)
            rows = pd.concat([rows, only_rows], ignore_index=True)
        found.append(_field_rows(field, parts, rows, long).assign(field_order=i))
    if not found:
        return pd.DataFrame({c: pd.array([], dtype="string") for c in _CONFLICT_COLUMNS})
    out = pd.concat(found, ignore_index=True).sort_values(["pid", "field_order"], kind="stable")
    out["person_id"] = long.person_ids.to_numpy(object)[out["pid"].to_numpy()]
    return out[list(_CONFLICT_COLUMNS)].reset_index(drop=True).astype("string")


# --------------------------------------------------------------------------- values


def _as_text(values: pd.DataFrame, field: str) -> pd.Series:
    """A field of source values as text; dates at their own precision."""
    if field != "birth_date":
        return values[field].astype("string")
    dates = pd.Series(values["birth_date"])
    prec = values["birth_date_precision"]
    text = dates.dt.strftime("%Y-%m-%d")
    text = text.where(prec != "month", dates.dt.strftime("%Y-%m"))
    text = text.where(prec != "year", dates.dt.strftime("%Y"))
    return text.astype("string").where(dates.notna())


def _wanted_values(
    sources: Mapping[str, pd.DataFrame], ids: pd.Series, fields: list[str]
) -> pd.DataFrame:
    """``source``, ``record_id`` and each of ``fields`` as text, for the records in ``ids``."""
    tables = []
    for name, frame in sources.items():
        if "record_id" not in frame.columns:
            raise InputError(f"source {name!r} lacks record ids", column="record_id")
        frame = frame[frame["record_id"].astype("string").isin(ids).to_numpy(bool)]
        wanted = fields + (["birth_date_precision"] if "birth_date" in fields else [])
        table = _source_table(name, frame, wanted)
        if "birth_date" in fields:
            known = table["birth_date"].notna() & table["birth_date_precision"].isna()
            table.loc[known, "birth_date_precision"] = "day"
        text = {f: _as_text(table, f) for f in fields}
        tables.append(pd.DataFrame({"source": name, "record_id": table["record_id"], **text}))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def conflict_values(
    conflicts: pd.DataFrame, records: pd.DataFrame, sources: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """What each record involved in a conflict says, for verifiers.

    Parameters
    ----------
    conflicts
        A conflicts table (``person_id``, ``field``, ``record_ids``); rows without a
        field or record ids are skipped.
    records, sources
        As for :func:`person_values`.

    Returns
    -------
    pandas.DataFrame
        Columns ``person_id``, ``field``, ``source``, ``record_id``, ``value`` (text;
        dates at their precision; null when the record lacks the field or the field
        is not a source column): one row per conflict row and record, in conflict
        order, then by source and record id.

    Raises
    ------
    InputError
        A record id in ``conflicts`` is not in ``records``, or is in several sources.

    Examples
    --------
    >>> recs = pd.DataFrame({"source": ["dtks", "regsosek"], "record_id": ["D1", "R1"],
    ...                      "person_id": ["P1", "P1"], "family_id": ["F1", "F1"]})
    >>> srcs = {"dtks": pd.DataFrame({"record_id": ["D1"], "sex": ["F"]}),
    ...         "regsosek": pd.DataFrame({"record_id": ["R1"], "sex": ["M"]})}
    >>> conf = field_conflicts(recs, srcs, ["regsosek", "dtks"])
    >>> conflict_values(conf, recs, srcs)[["source", "record_id", "value"]].values.tolist()
    [['dtks', 'D1', 'F'], ['regsosek', 'R1', 'M']]
    """
    _check_records(records)
    columns = ["person_id", "field", "source", "record_id", "value"]
    todo = conflicts.loc[conflicts["field"].notna() & conflicts["record_ids"].notna()]
    todo = todo[["person_id", "field", "record_ids"]].reset_index(drop=True)
    todo = todo.assign(conflict=np.arange(len(todo)), record_id=todo["record_ids"].str.split(";"))
    todo = todo.explode("record_id").drop(columns="record_ids")
    todo["record_id"] = todo["record_id"].astype("string")
    owners = records[["source", "record_id"]].astype("string")
    owners = owners[owners["record_id"].isin(todo["record_id"]).to_numpy(bool)]
    if owners["record_id"].duplicated().any():
        raise InputError("a conflict record id belongs to several sources", column="record_id")
    todo = todo.merge(owners, on="record_id", how="left")
    if todo["source"].isna().any():
        raise InputError("a conflict names a record id not in records", column="record_ids")
    known = set().union(*(set(f.columns) for f in sources.values()))
    fields = sorted(
        {f for f in todo["field"].unique() if f in known or f == "birth_date_precision"}
    )
    fields = [f for f in fields if f in known]
    values = _wanted_values(sources, todo["record_id"], fields)
    todo["value"] = pd.array([pd.NA] * len(todo), dtype="string")
    for field in fields:
        at = (todo["field"] == field).to_numpy(bool)
        lookup = values[["source", "record_id", field]].rename(columns={field: "value"})
        got = todo.loc[at, ["source", "record_id"]].merge(lookup, how="left")
        todo.loc[at, "value"] = got["value"].to_numpy()
    todo = todo.sort_values(["conflict", "source", "record_id"], kind="stable")
    return todo[columns].reset_index(drop=True)
