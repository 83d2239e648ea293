"""Value counts on the workers: the exact agreement of u and the term frequencies.

Fitting needs, per exact column, the chance that two records drawn at random agree
(``sum_v p_left(v) * p_right(v)``), and scoring needs each record's value frequency
in its whole register (term-frequency comparisons). Both come from the registers'
value counts, which grow with the registers: nationally, a count per NIK and per
name, tens of GB. They are never gathered. Each partition counts its own values of a
counted column and sends each distinct value with its count to the bucket of the
value's hash; a bucket sums the counts on both sides and gives back numbers only: its
share of ``sum_v c_left(v) * c_right(v)``, the values counted, and (term-frequency
columns) the register's count of each distinct value of each partition, which goes
back to that partition and on to its records. The driver sums a few numbers per
bucket; a worker holds a bucket's values, not the register's.
"""

from __future__ import annotations

import operator
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dask.distributed import Client, Future

from bansos_linkage.engines.dask_resolve import POS, decoded, freq_column
from bansos_linkage.linkage.frequencies import REGION_COLUMN, leave_one_out

#: A term-frequency label's frequency within the region: the counted columns of its
#: records' (region, value) and of their region (where they have a value), by label.
Regional = dict[str, tuple[str, str]]


def regional_columns(column: str) -> tuple[str, str]:
    """The counted columns of ``column``'s values within :data:`REGION_COLUMN`: each
    record's region and value together, and its region where it has a value."""
    return f"{column}@{REGION_COLUMN}", f"{REGION_COLUMN}@{column}"


def with_regional_keys(prepared: pd.DataFrame, columns: Collection[str]) -> pd.DataFrame:
    """A partition's prepared records with the :func:`regional_columns` of ``columns``
    (those it has, when it has the region), to be counted as any column is."""
    if REGION_COLUMN not in prepared:
        return prepared
    region = decoded(prepared[REGION_COLUMN]).astype("string")
    added = {}
    for column in columns:
        if column in prepared:
            value = decoded(prepared[column]).astype("string")
            pair, total = regional_columns(column)
            added[pair] = region + "\x1f" + value
            added[total] = region.where(value.notna())
    return prepared.assign(**added)


@dataclass(frozen=True)
class PartValues:
    """A partition's values of one counted column: the distinct values and how many of
    its records hold each; for a term-frequency column also its records' positions and
    each record's value as a code into ``distinct`` (-1: none)."""

    distinct: np.ndarray
    counts: np.ndarray
    positions: np.ndarray | None = None
    codes: np.ndarray | None = None


#: A partition's :class:`PartValues`, by column.
Values = dict[str, PartValues]
#: A piece of a partition's distinct values sent to one bucket, by column: their places
#: among the partition's distinct values, the values and their counts.
Piece = dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]
#: What a bucket sends back to a partition, by column: places among the partition's
#: distinct values and the register's counts of those values.
Lookup = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ValueStats:
    """What the registers' value counts give the run: per exact column its chance of
    agreement between records drawn at random, per side the term-frequency labels
    whose records carry their frequency (``freq_column``), and the partitions' records
    with those frequencies."""

    agreement: dict[str, float]
    tf_labels: dict[str, tuple[str, ...]]
    frames: dict[str, list[Future]]


def record_values(
    prepared: pd.DataFrame,
    positions: np.ndarray,
    columns: Sequence[str],
    tf_columns: Collection[str] = (),
) -> Values:
    """A partition's values of the counted ``columns`` it has (as value counts read
    them: decoded, nulls left out), the records' codes kept for ``tf_columns``."""
    out = {}
    for column in columns:
        if column in prepared:
            codes, distinct = pd.factorize(decoded(prepared[column]), use_na_sentinel=True)
            counts = np.bincount(codes[codes >= 0], minlength=len(distinct))
            found = np.asarray(distinct, dtype=object)
            keep = column in tf_columns
            out[column] = PartValues(
                found, counts, positions if keep else None, codes if keep else None
            )
    return out


def _buckets(values: Values, buckets: int) -> list[Piece]:
    """One partition's distinct values cut by the hash of the value (the same bucket for
    a value on every partition and side)."""
    out: list[Piece] = [{} for _ in range(buckets)]
    for column, part in values.items():
        found = part.distinct
        bucket = pd.util.hash_array(found) % np.uint64(buckets) if len(found) else found
        for b in range(buckets):
            at = np.flatnonzero(bucket == b)
            out[b][column] = (at, found[at], part.counts[at])
    return out


def _counted(pieces: list[Piece], column: str) -> tuple[pd.Series, bool]:
    """A bucket's value counts on one side (summed over its partitions), and whether
    any partition of the side has the column."""
    found = [p[column] for p in pieces if column in p]
    values = np.concatenate([np.zeros(0, dtype=object), *(f[1] for f in found)])
    counts = np.concatenate([np.zeros(0, dtype=np.int64), *(f[2] for f in found)])
    summed = pd.Series(counts, index=pd.Index(values, dtype=object)).groupby(level=0).sum()
    return summed, bool(found)


#: A column's counts in one bucket or summed: ``sum_v c_left(v) * c_right(v)``, the
#: values counted on each side, and whether each side has the column at all.
Sums = tuple[float, int, int, bool, bool]


def _count_bucket(
    lefts: list[Piece], rights: list[Piece], tf_columns: list[str]
) -> tuple[dict[str, Sums], dict[str, list[Lookup]]]:
    """One bucket of values: per column its :data:`Sums`; per side and partition, the
    register's count of each of the partition's distinct values here (``tf_columns``)."""
    columns = sorted({c for p in (*lefts, *rights) for c in p})
    sums: dict[str, Sums] = {}
    counted = {}
    for column in columns:
        (cl, in_left), (cr, in_right) = _counted(lefts, column), _counted(rights, column)
        common = cl.index.intersection(cr.index)
        both = (cl[common].to_numpy(dtype=float) * cr[common].to_numpy(dtype=float)).sum()
        sums[column] = (float(both), int(cl.sum()), int(cr.sum()), in_left, in_right)
        counted[column] = {"left": cl, "right": cr}
    lookups: dict[str, list[Lookup]] = {}
    for side, pieces in (("left", lefts), ("right", rights)):
        lookups[side] = [{} for _ in pieces]
        for column in (c for c in tf_columns if c in counted):
            for p, piece in enumerate(pieces):
                if column in piece:
                    at, found, _ = piece[column]
                    n = counted[column][side].reindex(pd.Index(found, dtype=object))
                    lookups[side][p][column] = (at, n.to_numpy(dtype=np.int64))
    return sums, lookups


def _register_counts(
    frame: pd.DataFrame, values: Values, pieces: list[Lookup], column: str
) -> np.ndarray:
    """Per record of a partition, the whole register's count of its value of
    ``column`` (NaN without a value)."""
    out = np.full(len(frame), np.nan)
    part = values.get(column)
    if part is not None and part.codes is not None and part.positions is not None:
        totals = np.full(len(part.distinct) + 1, np.nan)  # the last: no value (-1)
        for piece in pieces:
            if column in piece:
                totals[piece[column][0]] = piece[column][1]
        out[pd.Index(frame[POS].to_numpy()).get_indexer(part.positions)] = totals[part.codes]
    return out


def _with_frequencies(
    frame: pd.DataFrame,
    values: Values,
    pieces: list[Lookup],
    labels: dict[str, str],
    present: dict[str, int],
    regional: Regional | None = None,
) -> pd.DataFrame:
    """A partition's records with the frequency of their value in the whole register,
    per term-frequency label (``labels``: label -> column), and within their region
    (``regional``, as :func:`~bansos_linkage.linkage.frequencies.regional_frequencies`
    gives it); NaN without a value."""
    if not labels and not regional:
        return frame
    columns = {}
    for label, column in labels.items():
        counts = _register_counts(frame, values, pieces, column)
        columns[freq_column(label)] = counts / max(present[column], 1)
    for label, (pair, total) in (regional or {}).items():
        columns[freq_column(label)] = leave_one_out(
            _register_counts(frame, values, pieces, pair),
            _register_counts(frame, values, pieces, total),
        )
    return frame.assign(**columns)


def count_values(
    client: Client,
    values: dict[str, list[Future]],
    frames: dict[str, list[Future]],
    tf_columns: dict[str, str],
    buckets: int,
    regional: Regional | None = None,
) -> ValueStats:
    """The exact agreement of every column counted on both sides and the records'
    term frequencies (``tf_columns``: label -> column; ``regional``: within the
    region, label -> :func:`regional_columns`), from each partition's
    :func:`record_values` (``values``, per side), bucket by bucket on the workers."""
    regional = regional or {}
    split = {
        s: [client.submit(_buckets, v, buckets, pure=False) for v in values[s]] for s in values
    }
    asked = sorted({*tf_columns.values(), *(c for cs in regional.values() for c in cs)})
    done = []
    for b in range(buckets):
        lefts = [client.submit(operator.getitem, f, b) for f in split["left"]]
        rights = [client.submit(operator.getitem, f, b) for f in split["right"]]
        done.append(client.submit(_count_bucket, lefts, rights, asked, pure=False))
    sums = client.gather([client.submit(operator.getitem, f, 0) for f in done])
    total = _summed(sums)
    lookups = [client.submit(operator.getitem, f, 1) for f in done]
    out_frames: dict[str, list[Future]] = {}
    tf_labels: dict[str, tuple[str, ...]] = {}
    for k, side in enumerate(("left", "right")):
        labels = {label: c for label, c in tf_columns.items() if c in total and total[c][3 + k]}
        totals = {c: total[c][1 + k] for c in labels.values()}
        local = {
            label: cs for label, cs in regional.items() if cs[0] in total and total[cs[0]][3 + k]
        }
        tf_labels[side] = (*labels, *local)
        out_frames[side] = [
            client.submit(
                _with_frequencies,
                frame,
                values[side][p],
                [client.submit(_pick, f, side, p) for f in lookups],
                labels,
                totals,
                local,
                pure=False,
            )
            for p, frame in enumerate(frames[side])
        ]
    # a column both sides have: its chance of agreement (0 where a side has no value)
    agreement = {
        c: (both / (nl * nr) if nl and nr else 0.0)
        for c, (both, nl, nr, in_left, in_right) in total.items()
        if in_left and in_right
    }
    return ValueStats(agreement, tf_labels, out_frames)


def _pick(lookups: dict[str, list[Lookup]], side: str, p: int) -> Lookup:
    return lookups[side][p]


def _summed(sums: list[dict[str, Sums]]) -> dict[str, Sums]:
    """The buckets' :data:`Sums` added up, per column."""
    total: dict[str, Sums] = {}
    for bucket in sums:
        for column, (both, nl, nr, in_left, in_right) in bucket.items():
            t = total.get(column, (0.0, 0, 0, False, False))
            total[column] = (t[0] + both, t[1] + nl, t[2] + nr, t[3] or in_left, t[4] or in_right)
    return total


__all__ = [
    "Lookup",
    "PartValues",
    "Piece",
    "Regional",
    "Sums",
    "ValueStats",
    "Values",
    "count_values",
    "record_values",
    "regional_columns",
    "with_regional_keys",
]
