"""The Dask engine: a Linker's stages over partitions of the registers, on a Dask cluster.

The same stage functions as the in-process Linker, run on partitions; the same links.

- **Partitions.** Records are cut by region (``partition_by``, the standardised
  ``province_code``); every record keeps its global position (its row in the
  register), which is what the in-process engine calls it.
- **Blocking.** Each rule runs where its blocks are whole: an exact rule whose keys
  include the region runs inside each partition; the other exact rules (NIK, KK,
  name + birth date: the people who moved) run in buckets, the records of every
  partition sent to the bucket of their key's hash, so a block holds both sides'
  records of one key and its size cap is decided as in-process; a
  sorted-neighbourhood rule runs on ranges of its sorted key (boundaries from a
  sample of the keys), each range with the first ``window - 1`` records after it,
  so the windows across a boundary are not lost. Each bucket calls
  :func:`~bansos_linkage.linkage.blocking.candidate_pairs` with the one rule; the
  pairs are the union, each credited to the first rule that finds it, as
  :func:`~bansos_linkage.linkage.blocking.iter_candidate_pairs` does: the same
  candidate pairs as the in-process run.
- **Comparing.** Pairs go to the partition of their left record, which fetches the
  right records they need (those of other regions too), prepares the two sets
  together and compares them (:func:`~bansos_linkage.linkage.scoring.compare_in_chunks`),
  as :meth:`Linker.score_pairs` does for pairs of ids.
- **Fitting.** u from the same random pairs as in-process (drawn by global
  positions with the Linker's seed, compared in their left record's partition) and
  from value counts in hash buckets on the workers (exact agreement, and each
  record's term frequencies: :mod:`~bansos_linkage.engines.dask_values`); each
  partition reduces its pairs to :func:`~bansos_linkage.linkage.training.pattern_counts`,
  the driver sums them and runs :func:`~bansos_linkage.linkage.training.fit_model`
  once: the in-process model.
- **Resolution.** On the workers, per group of connected components of the pairs
  at the threshold (:mod:`~bansos_linkage.engines.dask_resolve`): the driver gathers
  those pairs' positions, labels the components (each record joined to its family)
  and sends each group's records and pairs to one task, which runs the Linker's own
  :func:`~bansos_linkage.linkage.decision.decide` (family pairs, one-to-one,
  duplicates). The best candidates and the rivals of the error estimate are reduced
  where the pairs are; the driver never holds the scored pairs nor prepared records.
"""

from __future__ import annotations

import datetime as dt
import operator
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from dask.distributed import Client, Future, wait

from bansos_linkage.eligibility.rules import Programme
from bansos_linkage.eligibility.score import ScoredRegister
from bansos_linkage.engines.dask_files import (
    Standardise,
    WorkerRegister,
    part_records,
    standardise_on_workers,
)
from bansos_linkage.engines.dask_resolve import (
    FAM,
    POS,
    LinkSet,
    Resolver,
    combine_best,
    component_groups,
    decoded,
    edges,
    freq_column,
    index_rivals,
    link_error,
    ml_fs,
    pairable_families,
    resolve_group,
    rival_sums,
    settle,
    split_pairs,
    split_records,
    tested_group,
    weighted,
)
from bansos_linkage.engines.dask_score import score_on_cluster
from bansos_linkage.engines.dask_values import (
    Regional,
    Values,
    ValueStats,
    count_values,
    record_values,
    regional_columns,
    with_regional_keys,
)
from bansos_linkage.linkage import preparation as prep
from bansos_linkage.linkage import training
from bansos_linkage.linkage.blocking import (
    ExactRule,
    Rule,
    SortedNeighbourhoodRule,
    candidate_pairs,
    rule_keys,
)
from bansos_linkage.linkage.comparisons import Comparison
from bansos_linkage.linkage.decision import Decision, duplicate_shifts, lowest_link_weight
from bansos_linkage.linkage.fellegi_sunter import FellegiSunter, logit2
from bansos_linkage.linkage.fitting import FittedModel
from bansos_linkage.linkage.frequencies import regional_label, tf_bits, typical_frequencies
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.linkage.linking import fitted_summary
from bansos_linkage.linkage.ml_matcher import MLMatcher, pair_features
from bansos_linkage.linkage.outputs import (
    BIRTH_COLUMNS,
    LinkResult,
    LinkSummary,
    birth_years,
    links_table,
    pairs_table,
    record_age_groups,
    record_ids,
    sole_links,
    summary_counts,
    unlinked_rows,
)
from bansos_linkage.linkage.resolve import (
    FamilyLinks,
    Links,
    age_bands,
    newest_year,
    sole_link_probabilities,
)
from bansos_linkage.linkage.scoring import (
    ScoredPairs,
    compare_chunk,
    compare_in_chunks,
    not_among,
)
from bansos_linkage.linkage.settings import check_params
from bansos_linkage.linkage.supervised import label_positions, train_on

__all__ = ["DaskEngine", "Register"]

#: A register as the engine takes it: standardised records, or records standardised on
#: the workers (:meth:`DaskEngine.standardise_files`).
Register = pd.DataFrame | WorkerRegister

#: Keys sampled per partition to place the range boundaries of sorted neighbourhoods.
SAMPLE_PER_PARTITION = 200
#: Records of both registers per resolution group at most, by default (a group's task
#: holds them prepared with their pairs: a few KB a record).
GROUP_RECORDS = 1_000_000


@dataclass(frozen=True)
class _Spec:
    """What the workers need of a Linker: its rules, comparisons, family columns."""

    rules: tuple[Rule, ...]
    comparisons: tuple[Comparison, ...]
    family_columns: tuple[str, ...]
    chunk_size: int
    term_frequency: tuple[str, ...]
    similarities: bool = False  #: compare the pairs' similarities too (the ML matcher's)

    def prepare(self, left: pd.DataFrame, right: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
        return prep.prepare(left, right, self.rules, self.comparisons, self.family_columns)

    def compare(
        self,
        left: pd.DataFrame,
        right: pd.DataFrame,
        a: np.ndarray,
        b: np.ndarray,
        similarities: bool = False,
    ) -> Any:
        return compare_chunk(left, right, a, b, self.comparisons, similarities)

    def tf_columns(self) -> dict[str, str]:
        """The column of each term-frequency comparison, by label."""
        return {
            c.label: getattr(c, "column")  # noqa: B009  (a term-frequency comparison has one)
            for c in self.comparisons
            if c.label in self.term_frequency and isinstance(getattr(c, "column", None), str)
        }

    def regional(self) -> Regional:
        """The counted columns of each term-frequency comparison's frequencies within
        the region, by their label (:func:`~bansos_linkage.linkage.frequencies.regional_label`)."""
        return {regional_label(k): regional_columns(c) for k, c in self.tf_columns().items()}

    def count_columns(self) -> dict[str, str]:
        """Columns whose values are counted: exact columns (u of exact agreement) and
        term-frequency columns, by column."""
        out: dict[str, str] = {}
        for comp in self.comparisons:
            for column in (
                getattr(comp, "exact_column", None),
                getattr(comp, "column", None) if comp.label in self.term_frequency else None,
            ):
                if isinstance(column, str):
                    out[column] = column
        return out


# --- worker tasks: plain functions of the data they are given -----------------------


def _side_keys(frame: pd.DataFrame, spec: _Spec) -> tuple[pd.DataFrame, Values]:
    """One side of one partition prepared alone: its blocking keys (with global
    positions) and its value counts of the counted columns
    (:func:`~bansos_linkage.engines.dask_values.record_values`)."""
    if not len(frame):  # a region of the other register only
        columns = [POS, *dict.fromkeys(rule_keys(spec.rules))]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns}), {}
    prepared, _ = spec.prepare(frame, frame.iloc[:0])
    prepared = with_regional_keys(prepared, spec.tf_columns().values())
    positions = frame[POS].to_numpy()
    keys = pd.DataFrame({POS: positions})
    for column in dict.fromkeys(rule_keys(spec.rules)):
        if column in prepared:
            keys[column] = decoded(prepared[column]).to_numpy()
    regional = [c for cs in spec.regional().values() for c in cs]
    tf = [*spec.tf_columns().values(), *regional]
    return keys, record_values(prepared, positions, [*spec.count_columns(), *regional], tf)


def _usable(keys: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Rows whose key columns are all present (not null, and not empty text)."""
    usable = np.ones(len(keys), dtype=bool)
    for c in columns:
        column = keys[c]
        usable &= column.notna().to_numpy()
        if column.dtype == object or isinstance(column.dtype, pd.StringDtype):
            usable &= (column != "").fillna(False).to_numpy(dtype=bool)
    return usable


def _split_hash(keys: pd.DataFrame, columns: Sequence[str], buckets: int) -> list[pd.DataFrame]:
    """The rows with usable keys, cut into ``buckets`` by the hash of the keys."""
    if not all(c in keys for c in columns):
        return [keys.iloc[:0]] * buckets
    kept = keys.loc[_usable(keys, columns), [POS, *columns]]
    bucket = pd.util.hash_pandas_object(kept[list(columns)], index=False).to_numpy() % buckets
    return [kept[bucket == b] for b in range(buckets)]


def _sample(keys: pd.DataFrame, column: str) -> np.ndarray:
    """Evenly spaced sorted values of a sorted-neighbourhood key (the range boundaries)."""
    if column not in keys:
        return np.array([], dtype=object)
    values = np.sort(keys[column][_usable(keys, [column])].astype(str).to_numpy(dtype=object))
    if len(values) <= SAMPLE_PER_PARTITION:
        return values
    return values[np.linspace(0, len(values) - 1, SAMPLE_PER_PARTITION).astype(int)]


def _split_range(keys: pd.DataFrame, column: str, bounds: np.ndarray) -> list[pd.DataFrame]:
    """The rows with a usable key, cut into ranges of the key (equal keys together)."""
    if column not in keys:
        return [keys.iloc[:0]] * (len(bounds) + 1)
    kept = keys.loc[_usable(keys, [column]), [POS, column]].copy()
    kept[column] = kept[column].astype(str).to_numpy(dtype=object)
    where = np.searchsorted(bounds, kept[column].to_numpy(dtype=object), side="right")
    return [kept[where == r] for r in range(len(bounds) + 1)]


def _sorted_range(lefts: list[pd.DataFrame], rights: list[pd.DataFrame], column: str) -> Any:
    """One range of a sorted-neighbourhood key: both sides, each in global order, and
    the whole range sorted as the in-process rule sorts (key, then left before right,
    then position)."""
    left = pd.concat(lefts).sort_values(POS, kind="stable")
    right = pd.concat(rights).sort_values(POS, kind="stable")
    both = pd.concat([left.assign(_side=0), right.assign(_side=1)], ignore_index=True)
    return both.sort_values([column, "_side", POS], kind="stable").reset_index(drop=True)


def _head(ordered: pd.DataFrame, after: pd.DataFrame | None, n: int) -> pd.DataFrame:
    """The first ``n`` records of a range and the ranges after it."""
    parts = [ordered] if after is None else [ordered, after]
    return pd.concat(parts, ignore_index=True).head(n)


def _by_part(pieces: list[list[np.ndarray]], n_parts: int) -> list[np.ndarray]:
    """Pair arrays of several rules, joined per left partition."""
    if not pieces:
        return [np.zeros((0, 3), dtype=np.int64)] * n_parts
    return [np.concatenate([piece[p] for piece in pieces]) for p in range(n_parts)]


def _block_local(
    rules: list[tuple[int, Rule]],
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_part: np.ndarray,
    n_parts: int,
) -> list[np.ndarray]:
    """The pairs of the rules keyed on the region, inside one partition."""
    pieces = [_pairs_by_part(rule, i, left, right, left_part, n_parts) for i, rule in rules]
    return _by_part(pieces, n_parts)


def _samples(keys: pd.DataFrame, rules: list[tuple[int, Rule]]) -> dict[int, np.ndarray]:
    """Samples of each sorted-neighbourhood key of one side of one partition."""
    return {
        i: _sample(keys, rule.key) for i, rule in rules if isinstance(rule, SortedNeighbourhoodRule)
    }


def _split(
    keys: pd.DataFrame,
    exact: list[tuple[int, Rule]],
    sorted_rules: list[tuple[int, Rule]],
    bounds: dict[int, np.ndarray],
    buckets: int,
) -> list[dict[int, pd.DataFrame]]:
    """One side of one partition cut into buckets, for every rule that crosses
    partitions: by the hash of an exact rule's keys, by ranges of a sorted key."""
    out: list[dict[int, pd.DataFrame]] = [{} for _ in range(buckets)]
    for i, rule in exact:
        assert isinstance(rule, ExactRule)
        for b, piece in enumerate(_split_hash(keys, rule.keys, buckets)):
            out[b][i] = piece
    for i, rule in sorted_rules:
        assert isinstance(rule, SortedNeighbourhoodRule)
        pieces = _split_range(keys, rule.key, bounds[i])
        for b in range(buckets):
            out[b][i] = pieces[b] if b < len(pieces) else pieces[0].iloc[:0]
    return out


def _gather(
    lefts: list[dict[int, pd.DataFrame]],
    rights: list[dict[int, pd.DataFrame]],
    exact: list[tuple[int, Rule]],
    sorted_rules: list[tuple[int, Rule]],
) -> dict[int, Any]:
    """One bucket's records of every partition: per exact rule both sides, per
    sorted-neighbourhood rule the range in sorted order."""
    out: dict[int, Any] = {}
    for i, _ in exact:
        out[i] = (pd.concat([x[i] for x in lefts]), pd.concat([x[i] for x in rights]))
    for i, rule in sorted_rules:
        assert isinstance(rule, SortedNeighbourhoodRule)
        out[i] = _sorted_range([x[i] for x in lefts], [x[i] for x in rights], rule.key)
    return out


def _heads(
    gathered: dict[int, Any],
    after: dict[int, pd.DataFrame] | None,
    sorted_rules: list[tuple[int, Rule]],
) -> dict[int, pd.DataFrame]:
    """Per sorted-neighbourhood rule, the first ``window - 1`` records of this range
    and the ranges after it."""
    return {
        i: _head(gathered[i], None if after is None else after[i], rule.window - 1)  # type: ignore[union-attr]
        for i, rule in sorted_rules
    }


def _block_bucket(
    gathered: dict[int, Any],
    after: dict[int, pd.DataFrame] | None,
    exact: list[tuple[int, Rule]],
    sorted_rules: list[tuple[int, Rule]],
    left_part: np.ndarray,
    n_parts: int,
) -> list[np.ndarray]:
    """One bucket's pairs of every rule that crosses partitions; a sorted range with
    the ``window - 1`` records after it (pairs of the next range alone come again
    there: the union drops them)."""
    pieces = []
    for i, rule in exact:
        left, right = gathered[i]
        pieces.append(_pairs_by_part(rule, i, left, right, left_part, n_parts))
    for i, rule in sorted_rules:
        ordered = gathered[i]
        both = ordered if after is None else pd.concat([ordered, after[i]], ignore_index=True)
        left, right = both[both["_side"] == 0], both[both["_side"] == 1]
        pieces.append(_pairs_by_part(rule, i, left, right, left_part, n_parts))
    return _by_part(pieces, n_parts)


def _pairs_by_part(
    rule: Rule,
    index: int,
    left: pd.DataFrame,
    right: pd.DataFrame,
    left_part: np.ndarray,
    n_parts: int,
) -> list[np.ndarray]:
    empty = [np.zeros((0, 3), dtype=np.int64)] * n_parts
    if not len(left) or not len(right):
        return empty
    # each side in global order: ties of a sorted neighbourhood break as in-process
    left = left.sort_values(POS, kind="stable").reset_index(drop=True)
    right = right.sort_values(POS, kind="stable").reset_index(drop=True)
    found = candidate_pairs(left, right, [rule])
    li = left[POS].to_numpy(dtype=np.int64)[found.left]
    ri = right[POS].to_numpy(dtype=np.int64)[found.right]
    pairs = np.column_stack([li, ri, np.full(len(li), index, dtype=np.int64)])
    part = left_part[li]
    return [pairs[part == p] for p in range(n_parts)]


def _union(pieces: list[np.ndarray], width: int) -> np.ndarray:
    """The distinct pairs of the pieces, each credited to the first rule that found it,
    in rule order then by position (left, right, rule rows)."""
    pairs = np.concatenate(pieces) if pieces else np.zeros((0, 3), dtype=np.int64)
    code = pairs[:, 0] * width + pairs[:, 1]
    order = np.lexsort((pairs[:, 2], code))
    pairs, code = pairs[order], code[order]
    pairs = pairs[np.r_[True, code[1:] != code[:-1]]] if len(pairs) else pairs
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0], pairs[:, 2]))]


def _take(frame: pd.DataFrame, pairs: np.ndarray, random: np.ndarray) -> pd.DataFrame:
    """The records of one right partition that a left partition's pairs refer to."""
    wanted = np.union1d(pairs[:, 1], random[:, 1])
    return frame[np.isin(frame[POS].to_numpy(), wanted)]


def _compare(
    left: pd.DataFrame,
    takes: list[pd.DataFrame],
    pairs: np.ndarray,
    random: np.ndarray,
    spec: _Spec,
    tf_labels: tuple[str, ...],
) -> dict[str, Any]:
    """One partition's pairs (and random pairs) compared: their levels, and the
    frequency of the right record's value (in the whole register, carried by the
    records) for each term-frequency comparison of ``tf_labels``."""
    n = len(spec.comparisons)
    out: dict[str, Any] = {
        "pairs": pairs,
        "levels": np.zeros((0, n), dtype=np.int8),
        "random_levels": np.zeros((0, n), dtype=np.int8),
        "freqs": {label: np.zeros(0) for label in tf_labels},
    }
    if spec.similarities:
        out["similarities"] = np.zeros((0, n), dtype=np.float32)
    if not len(pairs) and not len(random):
        return out
    right = pd.concat(takes).sort_values(POS, kind="stable").reset_index(drop=True)
    left = left.sort_values(POS, kind="stable").reset_index(drop=True)
    lp, rp = spec.prepare(left, right)
    lpos, rpos = left[POS].to_numpy(), right[POS].to_numpy()
    for name, rows in (("levels", pairs), ("random_levels", random)):
        if len(rows):
            a, b = np.searchsorted(lpos, rows[:, 0]), np.searchsorted(rpos, rows[:, 1])
            sims = spec.similarities and name == "levels"
            levels, similarities = compare_in_chunks(
                spec.compare, lp, rp, a, b, spec.chunk_size, sims
            )
            out[name] = levels
            if sims:
                out["similarities"] = similarities
    b = np.searchsorted(rpos, pairs[:, 1])
    for label in tf_labels:
        out["freqs"][label] = right[freq_column(label)].to_numpy(dtype=float)[b]
    return out


def _with_bits(part: dict[str, Any], spec: _Spec, typical: dict[str, float]) -> dict[str, Any]:
    """The partition's pairs with their term-frequency bits."""
    levels = part["levels"]
    tf = tf_bits(levels, np.arange(len(levels)), part["freqs"], spec.comparisons, typical)
    return {**part, "tf": tf}


def _labelled(
    left: pd.DataFrame,
    takes: list[pd.DataFrame],
    labelled: np.ndarray,
    candidates: np.ndarray,
    spec: _Spec,
    tf_labels: tuple[str, ...],
    typical: dict[str, float],
) -> dict[str, Any]:
    """One partition's reviewed pairs (rows: label row, left, right positions) compared
    directly as its candidate pairs are (levels, similarities, term-frequency bits), and
    which of them are candidate pairs (``candidates``: the partition's)."""
    n = len(labelled)
    pairs = np.column_stack([labelled[:, 1], labelled[:, 2], np.zeros(n, np.int64)])
    random = np.zeros((0, 2), dtype=np.int64)
    part = _with_bits(_compare(left, takes, pairs, random, spec, tf_labels), spec, typical)
    width = int(max(candidates[:, 1].max(initial=-1), pairs[:, 1].max(initial=-1))) + 1
    among = ~not_among(pairs[:, 0], pairs[:, 1], candidates[:, 0], candidates[:, 1], width)
    keys = ("levels", "similarities", "tf")
    return {"rows": labelled[:, 0], "candidate": among, **{k: part[k] for k in keys}}


def _patterns(part: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The partition's pattern counts and the strongest level of each comparison."""
    rows, bits, counts = training.pattern_counts(part["levels"], part["tf"])
    return rows, bits, counts, part["levels"].max(axis=0, initial=-1)


def _weighted(
    part: dict[str, Any],
    spec: _Spec,
    typical: dict[str, float],
    r: Resolver,
    path: str | None,
) -> pd.DataFrame | str:
    """The partition's scored pairs with their weights, kept here or (``path``) written
    to Parquet for the tasks that read them."""
    table = weighted(_with_bits(part, spec, typical), r)
    if path is None:
        return table
    table.to_parquet(path, index=False)
    return path


def _load(table: pd.DataFrame | str) -> pd.DataFrame:
    return pd.read_parquet(table) if isinstance(table, str) else table


def _edges(table: pd.DataFrame | str, threshold: float, sizes: tuple[int, int]) -> np.ndarray:
    return edges(_load(table), threshold, sizes)


def _split_pairs(
    table: pd.DataFrame | str, groups: tuple[np.ndarray, np.ndarray], n_groups: int
) -> list[pd.DataFrame]:
    return split_pairs(_load(table), groups, n_groups)


def _settle(table: pd.DataFrame | str, links: LinkSet, floor: float | None) -> tuple[Any, Any]:
    return settle(_load(table), links, floor)


# --- the driver ----------------------------------------------------------------------


def _age_groups(
    client: Client, left: Register, right: Register
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each record's age band for the error estimate (as
    :func:`~bansos_linkage.linkage.outputs.record_age_groups`), computed where the
    records are: one byte a record crosses to the driver."""
    if not isinstance(left, WorkerRegister) or not isinstance(right, WorkerRegister):
        frames = _columns_of(left, BIRTH_COLUMNS), _columns_of(right, BIRTH_COLUMNS)
        return record_age_groups(*frames)
    if not any(c in r.columns for r in (left, right) for c in BIRTH_COLUMNS):
        return None
    # the years stay where they are read, once; only the newest and the bands travel
    years = [client.submit(_part_years, p) for p in [*left.parts, *right.parts]]
    newest = max(client.gather([client.submit(newest_year, y) for y in years]), default=-np.inf)
    bands = client.gather([client.submit(age_bands, y, newest) for y in years])
    n_left = len(left.parts)
    return _bands_joined(bands[:n_left]), _bands_joined(bands[n_left:])


def _part_years(part: dict[str, Any]) -> np.ndarray:
    return birth_years(part_records(part, BIRTH_COLUMNS))


def _bands_joined(pieces: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int8)


def _columns_of(register: Register, columns: Sequence[str]) -> pd.DataFrame:
    """The records, or (held on the workers) those of their columns the driver needs."""
    if isinstance(register, WorkerRegister):
        return register.columns_of(["record_id", *columns])
    return register


def _shape(register: Register) -> pd.DataFrame:
    """The records, or a stand-in with their columns for the Linker's checks."""
    return register.shape() if isinstance(register, WorkerRegister) else register


def _placed(
    part: dict[str, Any], offset: int, regions: np.ndarray, families: np.ndarray, n_parts: int
) -> list[pd.DataFrame]:
    """One file's records with their global positions and families, cut by region."""
    records = part_records(part)
    frame = records.assign(**{POS: np.arange(offset, offset + len(records)), FAM: families})
    frame.index = pd.RangeIndex(offset, offset + len(records))
    return [frame[regions == p] for p in range(n_parts)]


def _joined(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(pieces) if len(pieces) > 1 else pieces[0]


def _region_frames(
    client: Client, register: WorkerRegister, part: np.ndarray, families: np.ndarray, n_parts: int
) -> list[Future]:
    """A register held on the workers, its files' records regrouped by region there."""
    split = []
    for piece, offset, size in zip(register.parts, register.offsets, register.sizes, strict=True):
        rows = slice(int(offset), int(offset + size))
        args = (piece, int(offset), part[rows], families[rows], n_parts)
        split.append(client.submit(_placed, *args, pure=False))
    return [
        client.submit(_joined, [client.submit(operator.getitem, f, p) for f in split], pure=False)
        for p in range(n_parts)
    ]


class DaskEngine:
    """Run a :class:`~bansos_linkage.linkage.linker.Linker`'s stages on a Dask cluster.

    Parameters
    ----------
    client
        A :class:`dask.distributed.Client` (default: the current one, see
        :func:`dask.distributed.default_client`).
    partition_by
        The standardised column that cuts the registers into partitions (a region).
    buckets
        Buckets of the blocking rules that cross partitions (default: one per
        partition).
    spill_dir
        Where partitions write their scored pairs as Parquet for the resolution tasks
        to read, and registers read on the workers (``standardise_files``) their
        records by file once they are cut by region (``records_left/``,
        ``records_right/``: read again only for the run's outputs), so that a worker
        holds each record once (default: all stay in the workers' memory, which Dask
        spills to their local disk under pressure); on a cluster, a folder every worker
        can read.
    resolve_groups
        Groups of connected components resolved apart (default: one per worker thread,
        more for registers of over :data:`GROUP_RECORDS` records).

    Notes
    -----
    The Linker's parameters (rules, comparisons, seed, thresholds) are used as they
    are; the result is the in-process result. ``timings_`` has the seconds of each
    stage of the last run; ``resolution_`` what the driver held to resolve it (pairs,
    edges gathered, groups, the largest group, rivals between two links).

    Examples
    --------
    >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))  # doctest: +SKIP
    >>> linker = Linker()  # doctest: +SKIP
    >>> result = DaskEngine(client).fit_link(linker, left, right)  # doctest: +SKIP
    """

    #: The engine's name in a run's ``summary.json``.
    name = "dask"
    #: ``link`` applies a Linker's ML matcher.
    runs_ml_matcher = True
    #: ``fit``, ``fit_link`` and ``link`` train the ML matcher on reviewed pairs
    #: (``labels``).
    trains_ml_matcher = True

    def __init__(
        self,
        client: Client | None = None,
        partition_by: str = "province_code",
        buckets: int | None = None,
        spill_dir: str | Path | None = None,
        resolve_groups: int | None = None,
    ) -> None:
        self.client = client
        self.partition_by = partition_by
        self.buckets = buckets
        self.spill_dir = spill_dir
        self.resolve_groups = resolve_groups
        self.timings_: dict[str, float] = {}
        self.resolution_: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"DaskEngine(partition_by={self.partition_by!r}, buckets={self.buckets})"

    # -- public API --

    def fit(
        self,
        linker: Linker,
        left: Register,
        right: Register,
        *,
        labels: pd.DataFrame | None = None,
    ) -> Linker:
        """Fit ``linker`` as :meth:`Linker.fit` does, the pairs compared on the cluster
        (with ``labels``, reviewed pairs, the ML matcher trained too, as
        :meth:`Linker.fit_ml`); returns the fitted Linker."""
        self._run(linker, left, right, fit=True, link=False, labels=labels)
        return linker

    def fit_link(
        self,
        linker: Linker,
        left: Register,
        right: Register,
        *,
        keep_pairs: bool | float = False,
        labels: pd.DataFrame | None = None,
    ) -> LinkResult:
        """:meth:`fit` then :meth:`link`, comparing the pairs once (as
        :meth:`Linker.fit_link`). ``keep_pairs`` as there: keep the scored pairs
        (``LinkResult.pairs``), all or (a number) the links and the pairs at least
        that probable. ``labels`` (reviewed pairs: ``left_id``, ``right_id``,
        ``is_match``): the ML matcher is trained on them, and decides where it beats
        the Fellegi-Sunter links on them."""
        result = self._run(linker, left, right, True, True, keep_pairs, labels)
        assert result is not None
        return result

    def link(
        self,
        linker: Linker,
        left: Register,
        right: Register,
        *,
        keep_pairs: bool | float = False,
        labels: pd.DataFrame | None = None,
    ) -> LinkResult:
        """The links of a fitted (or loaded) ``linker``, as :meth:`Linker.link`; with
        ``labels``, its ML matcher trained on them first (:meth:`Linker.fit_ml`)."""
        linker.fitted_model  # noqa: B018  NotFittedError before fit or load
        prep.check_columns(_shape(left), _shape(right), linker.comparisons_)
        result = self._run(linker, left, right, False, True, keep_pairs, labels)
        assert result is not None
        return result

    def candidate_pairs(self, linker: Linker, left: Register, right: Register) -> pd.DataFrame:
        """The candidate pairs as the cluster finds them: ``left``, ``right`` (positions)
        and ``rule`` (index of the first rule that finds the pair), sorted by rule then
        position (to check them against the in-process
        :func:`~bansos_linkage.linkage.blocking.candidate_pairs`)."""
        self._choose(linker, _shape(left), _shape(right))
        state = self._partitions(linker, left, right)
        futures = self._block(state)
        parts = self._get_client().gather(futures)
        pairs = np.concatenate(parts) if parts else np.zeros((0, 3), dtype=np.int64)
        pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0], pairs[:, 2]))]
        return pd.DataFrame(pairs, columns=["left", "right", "rule"])

    def score_register(
        self,
        households: Any,
        members: Any,
        programmes: list[Programme],
        reference_date: dt.date,
        **options: Any,
    ) -> ScoredRegister:
        """Eligibility scoring on the cluster: what
        :func:`~bansos_linkage.eligibility.score.score_register` gives (``options`` as
        there: ``survey``, ``pmt``, ``region``, ``progress``, ``desil_by``,
        ``criteria_threshold``), from pandas or dask DataFrames, over partitions of
        whole households (:func:`~bansos_linkage.engines.dask_score.score_on_cluster`)."""
        client = self._get_client()
        return score_on_cluster(client, households, members, programmes, reference_date, **options)

    # -- stages --

    def _get_client(self) -> Client:
        if self.client is None:
            from dask.distributed import default_client

            self.client = default_client()
        return self.client

    @staticmethod
    def _choose(linker: Linker, left: pd.DataFrame, right: pd.DataFrame) -> None:
        check_params(linker.get_params())
        prep.check_not_empty(left, right)
        prep.require_ids(left, right)
        if linker.model_ is None:
            chosen = prep.choose(left, right, linker.rules, linker.comparisons)
            linker.comparisons_, linker.rules_, linker.dropped_ = chosen

    def standardise_files(
        self, side: str, path: str | Path, standardise: Standardise
    ) -> WorkerRegister:
        """Read and standardise a register on the workers: each file of a folder of
        Parquet files (a partitioned dataset) in a task of its own, another file in one
        task; ``standardise`` (the run's own, on one table) gives a table's records,
        rejected rows and counts. The driver never holds the register
        (:mod:`~bansos_linkage.engines.dask_files`); ``fit_link`` and ``link`` take
        the result as a register."""
        return standardise_on_workers(self._get_client(), side, path, standardise)

    def _partitions(
        self, linker: Linker, left: Register, right: Register, labels: bool = False
    ) -> dict[str, Any]:
        """Cut both registers by region, scatter the partitions (or regroup those held
        on the workers), and get each side's blocking keys and value counts (stage 1);
        the pairs' similarities are compared too for an ML matcher (``labels``: one to
        train)."""
        client = self._get_client()
        start = time.perf_counter()
        spec = _Spec(
            linker.rules_,
            linker.comparisons_,
            linker.family_columns,
            linker.chunk_size,
            linker.term_frequency,
            linker.ml_model_ is not None or labels,
        )

        def region(frame: pd.DataFrame) -> pd.Series:
            if self.partition_by not in frame:
                return pd.Series("", index=frame.index, dtype="string")
            return frame[self.partition_by].astype("string").fillna("")

        needed = [self.partition_by, *linker.family_columns]
        narrow = {"left": _columns_of(left, needed), "right": _columns_of(right, needed)}
        lv, rv = region(narrow["left"]), region(narrow["right"])
        regions = pd.Index(sorted(set(lv.unique()) | set(rv.unique())))
        left_part = regions.get_indexer(lv).astype(np.int64)
        right_part = regions.get_indexer(rv).astype(np.int64)
        n_parts = len(regions)
        frames: dict[str, list[Future]] = {}
        families = []
        for side, frame, part in (("left", left, left_part), ("right", right, right_part)):
            # the family of each record in the whole register, for resolution
            families.append(pairable_families(narrow[side], linker.family_columns))
            if isinstance(frame, WorkerRegister):
                frames[side] = _region_frames(client, frame, part, families[-1], n_parts)
                if self.spill_dir is not None:  # not held twice: by file and by region
                    frame.spill(Path(self.spill_dir) / f"records_{side}")
                continue
            columns = {POS: np.arange(len(frame)), FAM: families[-1]}
            frame = frame.reset_index(drop=True).assign(**columns)
            frames[side] = [client.scatter(frame[part == p]) for p in range(n_parts)]
        keys = {
            side: [client.submit(_side_keys, f, spec, pure=False) for f in frames[side]]
            for side in ("left", "right")
        }
        state = {
            "spec": spec,
            "n_parts": n_parts,
            "n_left": len(left),
            "n_right": len(right),
            "left_part": left_part,
            "left_part_future": client.scatter(left_part, broadcast=True),
            "frames": frames,
            "families": tuple(families),
            "keys": {
                s: [client.submit(operator.getitem, k, 0) for k in ks] for s, ks in keys.items()
            },
            "values": {
                s: [client.submit(operator.getitem, k, 1) for k in ks] for s, ks in keys.items()
            },
            "seed": linker.random_state,
            "u_pairs": linker.u_pairs,
        }
        self.timings_["partition"] = time.perf_counter() - start
        return state

    def _block(self, state: dict[str, Any]) -> list[Future]:
        """Per left partition, its candidate pairs (left, right, rule rows)."""
        client = self._get_client()
        spec: _Spec = state["spec"]
        n_parts, keys = state["n_parts"], state["keys"]
        buckets = self.buckets or n_parts
        lp_future = state["left_part_future"]
        rules = list(enumerate(spec.rules))
        local = [
            (i, r) for i, r in rules if isinstance(r, ExactRule) and self.partition_by in r.keys
        ]
        exact = [(i, r) for i, r in rules if isinstance(r, ExactRule) and (i, r) not in local]
        sorted_rules = [(i, r) for i, r in rules if isinstance(r, SortedNeighbourhoodRule)]
        found: list[Future] = []
        if local:  # the region is one of the keys: every block lies in one partition
            for p in range(n_parts):
                args = (local, keys["left"][p], keys["right"][p], lp_future, n_parts)
                found.append(client.submit(_block_local, *args, pure=False))
        # range boundaries of the sorted keys, from samples of every partition
        samples = client.gather(
            [client.submit(_samples, k, sorted_rules) for k in keys["left"] + keys["right"]]
        )
        bounds = {}
        for i, _ in sorted_rules:
            drawn = [s[i] for s in samples if len(s[i])]
            sample = np.sort(np.concatenate(drawn)) if drawn else np.array([], dtype=object)
            cut = np.linspace(0, len(sample), buckets + 1).astype(int)[1:-1]
            bounds[i] = np.unique(sample[cut]) if len(sample) else np.array([], dtype=object)
        split = {
            s: [
                client.submit(_split, k, exact, sorted_rules, bounds, buckets, pure=False)
                for k in keys[s]
            ]
            for s in ("left", "right")
        }
        gathered = []
        for b in range(buckets):
            ls = [client.submit(operator.getitem, f, b) for f in split["left"]]
            rs = [client.submit(operator.getitem, f, b) for f in split["right"]]
            gathered.append(client.submit(_gather, ls, rs, exact, sorted_rules, pure=False))
        # the first window - 1 records after each range (across short ranges too)
        after: list[Future | None] = [None] * buckets
        following: Future | None = None
        for b in range(buckets - 1, -1, -1):
            after[b] = following
            following = client.submit(_heads, gathered[b], following, sorted_rules, pure=False)
        for b in range(buckets):
            bucket = (gathered[b], after[b], exact, sorted_rules, lp_future, n_parts)
            found.append(client.submit(_block_bucket, *bucket, pure=False))
        per_part = []
        for p in range(n_parts):
            pieces = [client.submit(operator.getitem, f, p) for f in found]
            per_part.append(client.submit(_union, pieces, max(state["n_right"], 1), pure=False))
        return per_part

    def _run(
        self,
        linker: Linker,
        left: Register,
        right: Register,
        fit: bool,
        link: bool,
        keep_pairs: bool | float = False,
        labels: pd.DataFrame | None = None,
    ) -> LinkResult | None:
        client = self._get_client()
        self.timings_ = {}
        total = time.perf_counter()
        if fit:  # fitted anew, without reviewed pairs: Fellegi-Sunter alone decides
            linker.model_, linker.ml_model_ = None, None
        self._choose(linker, _shape(left), _shape(right))
        state = self._partitions(linker, left, right, labels is not None)
        spec: _Spec = state["spec"]
        n_parts = state["n_parts"]
        start = time.perf_counter()
        pairs = self._block(state)
        # the value counts, on the workers: exact agreement (u), and each record's term
        # frequencies carried by its partition's records from here on
        values = count_values(
            client,
            state.pop("values"),
            state["frames"],
            spec.tf_columns(),
            self.buckets or n_parts,
            spec.regional(),
        )
        state["frames"] = values.frames
        # the random pairs of the in-process run (global positions, the Linker's seed)
        random = np.zeros((0, 2), dtype=np.int64)
        if fit:
            ra, rb = training.random_pairs(
                state["n_left"], state["n_right"], linker.u_pairs, linker.random_state
            )
            random = np.column_stack([ra, rb]).astype(np.int64)
        random_part = state["left_part"][random[:, 0]]
        compared = []
        for p in range(n_parts):
            mine = random[random_part == p]
            takes = [
                client.submit(_take, f, pairs[p], mine, pure=False)
                for f in state["frames"]["right"]
            ]
            tf = values.tf_labels["right"]
            args = (state["frames"]["left"][p], takes, pairs[p], mine, spec, tf)
            compared.append(client.submit(_compare, *args, pure=False))
        if fit:
            self._fit(linker, client, compared, values, spec, state)
        wait(compared)  # the stage's time is its own, fitted or not
        self.timings_["block_compare_fit"] = time.perf_counter() - start
        if labels is None and not link:
            self.timings_["total"] = time.perf_counter() - total
            return None
        registers = (_columns_of(left, []), _columns_of(right, []))  # the ids at least
        if labels is not None:
            start = time.perf_counter()
            self._train(linker, client, compared, pairs, state, values, registers, labels)
            self.timings_["train_ml"] = time.perf_counter() - start
        if not link:
            self.timings_["total"] = time.perf_counter() - total
            return None
        start = time.perf_counter()
        state["ages"] = _age_groups(client, left, right)
        decided = self._decide(linker, client, compared, state, values, registers, keep_pairs)
        result = self._resolve(linker, client, state, registers, decided)
        self.timings_["resolve"] = time.perf_counter() - start
        self.timings_["total"] = time.perf_counter() - total
        return result

    def _fit(
        self,
        linker: Linker,
        client: Client,
        compared: list[Future],
        values: ValueStats,
        spec: _Spec,
        state: dict[str, Any],
    ) -> None:
        """u from the random pairs and the value counts' exact agreement, then EM once on
        the summed pattern counts: the Linker's fitted attributes."""
        comparisons = spec.comparisons
        random_levels = [client.submit(operator.getitem, f, "random_levels") for f in compared]
        levels = np.concatenate(client.gather(random_levels))
        exact = {}
        for k, comp in enumerate(comparisons):
            column = getattr(comp, "exact_column", None)
            if column in values.agreement:
                exact[k] = values.agreement[column]
        level_names = [c.levels for c in comparisons]
        u = training.u_from_random(levels, [len(n) for n in level_names], exact)
        typical = typical_frequencies(u, comparisons, linker.term_frequency)
        patterns = client.gather(
            [
                client.submit(_patterns, client.submit(_with_bits, f, spec, typical))
                for f in compared
            ]
        )
        rows, bits, n = training.pattern_counts(
            np.concatenate([p[0] for p in patterns]),
            np.concatenate([p[1] for p in patterns]),
            np.concatenate([p[2] for p in patterns]),
        )
        template = linker.matcher if linker.matcher is not None else FellegiSunter()
        labels = [c.label for c in comparisons]
        model, report = training.fit_model(
            rows,
            u,
            labels,
            level_names,
            bits,
            state["n_left"],
            state["n_right"],
            template,
            linker.sessions,
            counts=n,
        )
        seen = np.max(np.stack([p[3] for p in patterns]), axis=0)
        fitted = FittedModel(
            model=model,
            tf_typical=typical,
            max_level_seen=[int(x) for x in seen],
            training={"u_random_pairs": len(levels), "sessions": report},
        )
        for name, value in fitted.attributes(False).items():
            setattr(linker, name, value)
        linker.ml_model_ = None

    def _train(
        self,
        linker: Linker,
        client: Client,
        compared: list[Future],
        pairs: list[Future],
        state: dict[str, Any],
        values: ValueStats,
        registers: tuple[pd.DataFrame, pd.DataFrame],
        labels: pd.DataFrame,
    ) -> None:
        """Train the ML matcher on reviewed pairs as :meth:`Linker.fit_ml` does: judged
        against the links the Fellegi-Sunter model alone makes (resolved on the
        workers), each reviewed pair compared directly in its left record's partition;
        only the pairs' features come back (a few hundred rows), and the matcher is
        fitted and chosen here (:func:`~bansos_linkage.linkage.supervised.train_on`)."""
        linker.ml_model_, linker.reviewed_ = None, None
        r, _, _, done = self._decide(linker, client, compared, state, values, registers)
        link = _links_of(done)
        fs_links = LinkSet.of(link[0], link[1], r.sizes[1])
        a, b, found = label_positions(registers[0], registers[1], labels)
        rows = np.column_stack([np.flatnonzero(found), a[found], b[found]]).astype(np.int64)
        part = state["left_part"][rows[:, 1]]
        frames, spec = state["frames"], state["spec"]
        tasks, none = [], np.zeros((0, 2), dtype=np.int64)
        for p in np.unique(part).tolist():
            mine = rows[part == p]
            takes = [client.submit(_take, f, mine[:, 1:], none) for f in frames["right"]]
            args = (frames["left"][p], takes, mine, pairs[p], spec, values.tf_labels["right"])
            tasks.append(client.submit(_labelled, *args, linker.tf_typical_, pure=False))
        got = client.gather(tasks)
        n = len(linker.comparisons_)
        empty = {  # each partition's rows joined (none: no labelled pair found)
            "rows": np.zeros(0, np.int64),
            "levels": np.zeros((0, n), np.int8),
            "similarities": np.zeros((0, n), np.float32),
            "tf": np.zeros(0, np.float32),
            "candidate": np.zeros(0, bool),
        }
        joined = {k: np.concatenate([e, *(g[k] for g in got)]) for k, e in empty.items()}
        order = np.argsort(joined["rows"])  # the labels' order, as in process
        levels, sims, tf, candidate = (joined[k][order] for k in list(empty)[1:])
        fs = r.decision.weights.weights(levels, tf)
        X = pair_features(levels, [c.label for c in linker.comparisons_], sims, fs)
        # as in process (flags of the scored candidates): a pair linked only as a family
        # pair, which no rule found, counts as not linked
        judged = candidate & fs_links.holds(rows[:, 1], rows[:, 2])
        template = linker.ml_matcher if linker.ml_matcher is not None else MLMatcher()
        thresholds = (r.decision.threshold, r.decision.ml_threshold)
        trained = train_on(template, X, judged, labels, found, thresholds)
        linker.ml_model_, linker.reviewed_, linker.ml_training_ = trained

    def _decide(
        self,
        linker: Linker,
        client: Client,
        compared: list[Future],
        state: dict[str, Any],
        values: ValueStats,
        registers: tuple[pd.DataFrame, pd.DataFrame],
        keep_pairs: bool | float = False,
    ) -> tuple[Resolver, list[Future], list[Future], list[dict[str, Any]]]:
        """Decide the links on the workers, per group of connected components
        (:mod:`~bansos_linkage.engines.dask_resolve`); the driver gathers the edges and
        each group's links, never the pairs. The resolver, the partitions' weighted
        pairs, the groups' tasks and what they gave."""
        lap = _Laps(self.timings_, "resolve_")
        r = _resolver(linker, state["spec"], values.tf_labels, registers, keep_pairs)
        resolver = client.scatter(r, broadcast=True)
        paths = self._spill_paths(len(compared))
        typical = linker.tf_typical_
        tables = [
            client.submit(_weighted, f, state["spec"], typical, resolver, path, pure=False)
            for f, path in zip(compared, paths, strict=True)
        ]
        # every pair resolution may link joins the components, sole candidates' too
        threshold = lowest_link_weight(r.decision, r.sizes)
        edge = client.gather([client.submit(_edges, t, threshold, r.sizes) for t in tables])
        edge = np.concatenate(edge)
        n_groups = self.resolve_groups or _default_groups(client, r.sizes)
        groups = component_groups(edge, state["families"], n_groups)
        lap("edges")
        frames, columns = state["frames"], linker.columns_read()
        tf = [*linker.term_frequency, *map(regional_label, linker.term_frequency)]
        columns = [*columns, *(freq_column(k) for k in tf)]
        inputs = self._group_inputs(client, tables, frames, columns, groups)
        if r.decision.duplicate_shift is None:
            # the registers' own priors, from every group's tested pairs, before any
            # group decides its duplicates
            tested = client.gather([client.submit(tested_group, *i, resolver) for i in inputs])
            pooled = [np.concatenate([np.zeros(0), *(t[s] for t in tested)]) for s in (0, 1)]
            shift = duplicate_shifts(r.decision, (pooled[0], pooled[1]), r.sizes)
            r = replace(r, decision=replace(r.decision, duplicate_shift=shift))
            resolver = client.scatter(r, broadcast=True)
            lap("own_priors")
        resolved = [client.submit(resolve_group, *i, resolver, pure=False) for i in inputs]
        done = client.gather([client.submit(operator.getitem, g, 0) for g in resolved])
        lap("groups")
        self.resolution_ = {"edges": len(edge)}
        return r, tables, resolved, done

    def _resolve(
        self,
        linker: Linker,
        client: Client,
        state: dict[str, Any],
        registers: tuple[pd.DataFrame, pd.DataFrame],
        decided: tuple[Resolver, list[Future], list[Future], list[dict[str, Any]]],
    ) -> LinkResult:
        """From the links decided on the workers (:meth:`_decide`), reduce what the
        outputs read of every pair where the pairs are, estimate the links' error and
        build the run's tables."""
        lap = _Laps(self.timings_, "resolve_")
        r, tables, resolved, done = decided
        link = _links_of(done)
        links = client.scatter(LinkSet.of(link[0], link[1], r.sizes[1]), broadcast=True)
        settling = [client.submit(_settle, t, links, r.floor) for t in tables]
        settled = client.gather([client.submit(operator.getitem, s, 0) for s in settling])
        settled += [g["family"] for g in done]
        lap("settle")
        link_p = np.zeros(0)
        families = state["families"]
        if done:
            holders = settling + resolved  # the rivals' tasks: partitions, then groups
            ages = state["ages"]
            link_p = _error_estimate(client, holders, links, link, settled, done, r, ages, families)
        lap("estimate")
        self.resolution_ = {
            "pairs": sum(s["n"] for s in settled),
            "edges": self.resolution_["edges"],
            "groups": len(done),
            "largest_group": max((g["size"][0] for g in done), default=0),
            "rivals_between_links": sum(s["rivals"] for s in settled),
        }
        result = _result(linker, r, done, settled, (link, link_p), registers, families)
        lap("tables")
        return result

    def _spill_paths(self, n: int) -> list[str | None]:
        """Where each partition writes its scored pairs (None: kept in memory)."""
        if self.spill_dir is None:
            return [None] * n
        folder = Path(self.spill_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return [str(folder / f"part-{p:05d}.parquet") for p in range(n)]

    def _group_inputs(
        self,
        client: Client,
        tables: list[Future],
        frames: dict[str, list[Future]],
        columns: list[str],
        groups: tuple[np.ndarray, np.ndarray],
    ) -> list[tuple[list[Future], list[Future], list[Future]]]:
        """Each group's records (left, right) and pairs, as pieces by partition."""
        n_groups = int(groups[0].max(initial=-1)) + 1
        at = client.scatter(groups, broadcast=True)
        pairs = [client.submit(_split_pairs, t, at, n_groups) for t in tables]
        read = [*columns, POS, FAM]
        records = [
            [client.submit(split_records, f, at, side, n_groups, read) for f in frames[name]]
            for side, name in enumerate(("left", "right"))
        ]

        def pick(futures: list[Future], g: int) -> list[Future]:
            return [client.submit(operator.getitem, f, g) for f in futures]

        return [
            (pick(records[0], g), pick(records[1], g), pick(pairs, g))
            for g in np.unique(groups[0][groups[0] >= 0]).tolist()
        ]


def _error_estimate(
    client: Client,
    holders: list[Future],
    links: Future,
    link: tuple[np.ndarray, np.ndarray, np.ndarray],
    settled: list[dict[str, Any]],
    done: list[dict[str, Any]],
    r: Resolver,
    groups: tuple[np.ndarray, np.ndarray] | None,
    families: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """The probability that each link is right, the rounds' rival sums computed where
    the rivals between two linked records are (the second result of each holder);
    ``groups``: every record's age band (None: one share per register); ``families``:
    every record's family (pairable codes), for the links below the threshold."""
    # the rivals stay where they are, indexed once by the linked records' ranks
    rivals = [
        client.submit(index_rivals, client.submit(operator.getitem, f, 1), links) for f in holders
    ]

    def round_sums(held_left: np.ndarray, held_right: np.ndarray) -> list[Any]:
        held = client.scatter((held_left, held_right), broadcast=True)
        return client.gather([client.submit(rival_sums, f, held) for f in rivals])

    fixed = [s["fixed"] for s in settled]
    duplicates = [g["duplicates"] for g in done]
    prior = r.decision.weights.model.lambda_
    link_p = link_error(link, fixed, round_sums, duplicates, prior, r.sizes, groups)
    threshold = logit2(r.decision.threshold)
    family = FamilyLinks(link[0], link[1], families)
    return sole_link_probabilities(link[2], link_p, threshold, prior, r.sizes, family)


class _Laps:
    """Seconds since the last lap, recorded under a prefix (the sub-stages of a stage)."""

    def __init__(self, timings: dict[str, float], prefix: str) -> None:
        self.timings, self.prefix, self.start = timings, prefix, time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[self.prefix + name] = now - self.start
        self.start = now


def _default_groups(client: Client, sizes: tuple[int, int]) -> int:
    """One resolution group per worker thread (each group prepares its records and
    derives its per-value data anew: fewer, larger groups are cheaper), more when the
    registers are large (:data:`GROUP_RECORDS`)."""
    threads = sum(client.nthreads().values())
    return max(threads, -(-sum(sizes) // GROUP_RECORDS), 1)


def _links_of(done: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The groups' links: left and right positions, weights."""
    if not done:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    left, right, weight = (np.concatenate([g["link"][k] for g in done]) for k in range(3))
    return left, right, weight


def _resolver(
    linker: Linker,
    spec: _Spec,
    tf_labels: dict[str, tuple[str, ...]],
    registers: tuple[pd.DataFrame, pd.DataFrame],
    keep_pairs: bool | float,
) -> Resolver:
    """What the resolution tasks need of the fitted Linker."""
    left, right = registers
    # the groups decide a part of the registers each: the shares without a counterpart
    # are the whole registers'
    decision = replace(linker._decision(), compare=spec.compare, sizes=(len(left), len(right)))
    reviewed = None
    if linker.reviewed_ is not None and len(linker.reviewed_):
        ids = linker.reviewed_
        a, b = prep.positions(left, ids["left_id"]), prep.positions(right, ids["right_id"])
        reviewed = (a, b, ids["is_match"].to_numpy(dtype=bool))
    floor = None if keep_pairs is False else 0.0 if keep_pairs is True else float(keep_pairs)
    sizes = (len(left), len(right))
    return Resolver(decision, spec.prepare, tf_labels, reviewed, sizes, floor)


def _result(
    linker: Linker,
    r: Resolver,
    done: list[dict[str, Any]],
    settled: list[dict[str, Any]],
    linked: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    registers: tuple[pd.DataFrame, pd.DataFrame],
    families: tuple[np.ndarray, np.ndarray],
) -> LinkResult:
    """The run's tables and summary from the groups' links (positions and weights, and
    the probability that each is right) and the reduced pairs (the partitions', then
    the groups' family pairs)."""
    d = r.decision
    link, link_p = linked
    ids = record_ids(registers[0]), record_ids(registers[1])
    unlinked = []
    for side in (0, 1):
        best = combine_best([s["best"][side] for s in settled], r.sizes[side])
        free = np.ones(r.sizes[side], dtype=bool)
        free[link[side]] = False
        unlinked.append(unlinked_rows(np.flatnonzero(free), *best, ids[side], ids[1 - side]))
    duplicates = [g["duplicates"] for g in done]
    pairs = (sum(s["n"] for s in settled), sum(g["family_pairs"] for g in done))
    dups = [sum(len(g[side][0]) for g in duplicates) for side in (0, 1)]
    members = sum(g["family_members"] for g in done)
    counts = (len(link[0]), dups[0], dups[1], sole_links(link[2], d.threshold), members)
    summary = summary_counts(
        r.sizes, pairs, counts, (unlinked[0], unlinked[1]), link_p, d.threshold, d.resolution
    )
    timings: dict[str, float] = {}
    for g in done:
        for k, v in g["timings"].items():
            timings[k] = timings.get(k, 0.0) + v
    fitted = (linker.dropped_, linker.training_, linker.ml_training_)
    summary.update(fitted_summary(d, fitted, timings, d.duplicate_shift or (0.0, 0.0)))
    tables = [g["links"] for g in done if len(g["links"])] or [_no_links(d, r)]
    links = pd.concat(tables, ignore_index=True)
    links = links.sort_values(["left_id", "right_id"], kind="stable").reset_index(drop=True)
    # as links_table gives it: None where no duplicate, the type inferred on all links
    duplicate_of = links["duplicate_of"].to_numpy(dtype=object, copy=True)
    duplicate_of[pd.isna(duplicate_of)] = None
    links["duplicate_of"] = duplicate_of
    kept = None
    if r.floor is not None:
        kept = _kept_pairs(linker, r, settled[: len(settled) - len(done)], done, ids, families)
    return LinkResult(links, unlinked[0], unlinked[1], cast(LinkSummary, summary), kept)


def _no_links(d: Decision, r: Resolver) -> pd.DataFrame:
    """The links table without a link (its columns and types)."""
    n = len(d.weights.comparisons)
    empty = np.zeros(0, dtype=np.int64)
    scored = ScoredPairs(empty, empty, empty, np.zeros((0, n), np.int8), np.zeros(0, np.float32))
    nothing = Links(np.zeros(0, bool), empty, empty, np.zeros(0), np.zeros(0))
    none = np.zeros(0, dtype=object)
    fs = ml_fs(r, np.zeros(0))
    return links_table(none, none, scored, np.zeros(0), nothing, d.weights.comparisons, fs)


def _kept_pairs(
    linker: Linker,
    r: Resolver,
    settled: list[dict[str, Any]],
    done: list[dict[str, Any]],
    ids: tuple[np.ndarray, np.ndarray],
    families: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """The pairs table (``keep_pairs``) in the in-process order: the blocked pairs by
    rule and position, then the family pairs by family (in register order) and position."""
    blocked = pd.concat([s["pairs"] for s in settled], ignore_index=True)
    blocked = blocked.sort_values(["rule", "left", "right"], kind="stable")
    family = pd.concat([blocked.iloc[:0]] + [g["family"]["pairs"] for g in done])
    left, right = family["left"].to_numpy(), family["right"].to_numpy()
    family = family.iloc[np.lexsort((right, left, families[1][right], families[0][left]))]
    table = pd.concat([blocked, family], ignore_index=True)
    levels = table[[c for c in table.columns if c.startswith("level_")]].to_numpy(np.int8)
    scored = ScoredPairs(
        left=table["left"].to_numpy(),
        right=table["right"].to_numpy(),
        rule=table["rule"].to_numpy(),
        levels=levels,
        tf=table["tf"].to_numpy(),
    )
    rows = np.arange(len(table))
    rule_names = [rule.name for rule in linker.rules_]
    return pairs_table(
        *ids,
        scored,
        rows,
        table["link"].to_numpy(dtype=bool),
        rule_names,
        linker.comparisons_,
        table["fs_weight"].to_numpy(),
        None if r.decision.ml_model is None else table["weight"].to_numpy(),
    )
