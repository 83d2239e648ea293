"""Value counts on the workers: the exact agreement of u and the term frequencies.

Fitting needs, per exact column, the chance that two records drawn at random agree
(``sum_v p_left(v) * p_right(v)``), and scoring needs each record's value frequency
in its whole register (term-frequency comparisons). Both come from the registers'
value counts, which grow with the registers: nationally, a count per NIK and per
name, tens of GB. They are never gathered. Each partition sends every record's
value of a counted column to the bucket of the value's hash; a bucket counts its
values on both sides and gives back numbers only: its share of
``sum_v c_left(v) * c_right(v)``, the values counted, and each of its records' count
on its own side, which goes back to the record's partition. The driver sums a few
numbers per bucket; a worker holds a bucket's values, not the register's.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from dask.distributed import Client, Future

from bansos_linkage.engines.dask_resolve import POS, decoded, freq_column

#: A partition's values of each counted column: the records' positions and values
#: (records without a value left out).
Values = dict[str, tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class ValueStats:
    """What the registers' value counts give the run: per exact column its chance of
    agreement between records drawn at random, per side the term-frequency labels
    whose records carry their frequency (``freq_column``), and the partitions' records
    with those frequencies."""

    agreement: dict[str, float]
    tf_labels: dict[str, tuple[str, ...]]
    frames: dict[str, list[Future]]


def record_values(prepared: pd.DataFrame, positions: np.ndarray, columns: Sequence[str]) -> Values:
    """A partition's values of the counted ``columns`` it has (as value counts read
    them: decoded, nulls left out)."""
    out = {}
    for column in columns:
        if column in prepared:
            values = decoded(prepared[column])
            present = values.notna().to_numpy()
            out[column] = (positions[present], values[present].to_numpy(dtype=object))
    return out


def _buckets(values: Values, buckets: int) -> list[Values]:
    """One partition's values cut by the hash of the value (the same bucket for a value
    on every partition and side)."""
    out: list[Values] = [{} for _ in range(buckets)]
    for column, (positions, found) in values.items():
        bucket = pd.util.hash_array(found) % np.uint64(buckets) if len(found) else found
        for b in range(buckets):
            at = bucket == b
            out[b][column] = (positions[at], found[at])
    return out


def _counted(pieces: list[Values], column: str) -> tuple[pd.Series, list[np.ndarray | None]]:
    """A bucket's value counts on one side, and each piece's values (None: no column)."""
    found = [p[column][1] if column in p else None for p in pieces]
    present = [f for f in found if f is not None]
    values = np.concatenate(present) if present else np.zeros(0, dtype=object)
    return pd.Series(values, dtype=object).value_counts(), found


#: A column's counts in one bucket or summed: ``sum_v c_left(v) * c_right(v)``, the
#: values counted on each side, and whether each side has the column at all.
Sums = tuple[float, int, int, bool, bool]


def _count_bucket(
    lefts: list[Values], rights: list[Values], tf_columns: list[str]
) -> tuple[dict[str, Sums], dict[str, list[Values]]]:
    """One bucket of values: per column its :data:`Sums`; per side and partition, the
    count of each record's value on its own side (for ``tf_columns``)."""
    columns = sorted({c for p in (*lefts, *rights) for c in p})
    sums: dict[str, Sums] = {}
    counted = {}
    for column in columns:
        cl, found_left = _counted(lefts, column)
        cr, found_right = _counted(rights, column)
        common = cl.index.intersection(cr.index)
        both = (cl[common].to_numpy(dtype=float) * cr[common].to_numpy(dtype=float)).sum()
        has = any(f is not None for f in found_left), any(f is not None for f in found_right)
        sums[column] = (float(both), int(cl.sum()), int(cr.sum()), *has)
        counted[column] = {"left": (cl, found_left), "right": (cr, found_right)}
    lookups: dict[str, list[Values]] = {}
    for side, pieces in (("left", lefts), ("right", rights)):
        lookups[side] = [{} for _ in pieces]
        for column in tf_columns:
            if column not in counted:
                continue
            counts, found = counted[column][side]
            for p, values in enumerate(found):
                if values is not None:
                    at = pieces[p][column][0]
                    n = counts.reindex(pd.Index(values, dtype=object)).to_numpy(dtype=float)
                    lookups[side][p][column] = (at, n)
    return sums, lookups


def _with_frequencies(
    frame: pd.DataFrame, pieces: list[Values], labels: dict[str, str], present: dict[str, int]
) -> pd.DataFrame:
    """A partition's records with the frequency of their value in the whole register,
    per term-frequency label (``labels``: label -> column); NaN without a value."""
    if not labels:
        return frame
    rows = pd.Index(frame[POS].to_numpy())
    columns = {}
    for label, column in labels.items():
        out = np.full(len(frame), np.nan)
        for piece in pieces:
            if column in piece:
                at, n = piece[column]
                out[rows.get_indexer(at)] = n
        columns[freq_column(label)] = out / max(present[column], 1)
    return frame.assign(**columns)


def count_values(
    client: Client,
    values: dict[str, list[Future]],
    frames: dict[str, list[Future]],
    tf_columns: dict[str, str],
    buckets: int,
) -> ValueStats:
    """The exact agreement of every column counted on both sides and the records'
    term frequencies (``tf_columns``: label -> column), from each partition's
    :func:`record_values` (``values``, per side), bucket by bucket on the workers."""
    split = {
        s: [client.submit(_buckets, v, buckets, pure=False) for v in values[s]] for s in values
    }
    asked = sorted(set(tf_columns.values()))
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
        tf_labels[side] = tuple(labels)
        out_frames[side] = [
            client.submit(
                _with_frequencies,
                frame,
                [client.submit(_pick, f, side, p) for f in lookups],
                labels,
                totals,
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


def _pick(lookups: dict[str, list[Values]], side: str, p: int) -> Values:
    return lookups[side][p]


def _summed(sums: list[dict[str, Sums]]) -> dict[str, Sums]:
    """The buckets' :data:`Sums` added up, per column."""
    total: dict[str, Sums] = {}
    for bucket in sums:
        for column, (both, nl, nr, in_left, in_right) in bucket.items():
            t = total.get(column, (0.0, 0, 0, False, False))
            total[column] = (t[0] + both, t[1] + nl, t[2] + nr, t[3] or in_left, t[4] or in_right)
    return total
