"""Eligibility scoring on the Dask engine: ``score_register``'s stages over partitions
of whole households, with the same result.

- **Partitions.** Households and members are cut by the hash of their household id,
  so each partition holds whole households with their members (a member of no
  household lands where its household would be, and is "lost" there as in-process).
  Every row keeps its global position (its row in the input) to restore the order.
- **Welfare.** Each partition counts its households' make-up and predicts their
  welfare with the PMT (fitted once in the driver: on ``survey``, whose make-up is
  counted in the partitions that hold its members).
- **Desil.** Ranking by equal numbers of people is a global sort: each partition's
  (region, welfare) keys are sampled, the driver picks range boundaries, each range
  sorts its households as :func:`~bansos_linkage.eligibility.desil.desil` does (region,
  welfare, household id, position) and counts its people per region; the driver adds
  the people of earlier ranges, and each range cuts its households into desil from
  there. Sizes are whole numbers, so the sums are exact and the desil the in-process ones.
- **Programmes.** Each partition scores the 14 criteria and every programme
  (:func:`~bansos_linkage.eligibility.score.apply_programmes`) and summarises itself;
  the summaries are summed (:func:`~bansos_linkage.eligibility.score.merge_summaries`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from dask.distributed import Client, Future

from bansos_linkage.eligibility.desil import comparable, cut_desil
from bansos_linkage.eligibility.inputs import clean_ids
from bansos_linkage.eligibility.pmt import ProxyMeansTest
from bansos_linkage.eligibility.rules import Programme
from bansos_linkage.eligibility.score import (
    ScoredRegister,
    apply_programmes,
    assumed_counts,
    assumption_notes,
    desil_groups,
    fitted_pmt,
    merge_summaries,
    predicted_welfare,
    require_desil,
    summarise,
    with_composition,
)
from bansos_linkage.errors import InputError

#: A row's position in its input table (households, members or survey).
POS = "_pos"
#: Households a partition holds at most (more partitions than worker threads beyond).
PART_HOUSEHOLDS = 250_000
#: Keys each partition samples for the desil ranges' boundaries.
SAMPLE_KEYS = 64

Table = Any  # a pandas DataFrame, or a dask DataFrame whose partitions the workers compute


def score_on_cluster(
    client: Client,
    households: Table,
    members: Table,
    programmes: list[Programme],
    reference_date: dt.date,
    survey: pd.DataFrame | None = None,
    pmt: ProxyMeansTest | None = None,
    region: str = "province_code",
    progress: Callable[[int, int, str], None] | None = None,
    desil_by: str | None = None,
    criteria_threshold: int = 9,
    parts: int | None = None,
) -> ScoredRegister:
    """:func:`~bansos_linkage.eligibility.score.score_register` on ``client``'s
    cluster: the same households, persons and summary. ``households`` and
    ``members`` are pandas or dask DataFrames; ``parts`` the partitions (default:
    one per worker thread, more beyond :data:`PART_HOUSEHOLDS` households each)."""
    total = 4 + len(programmes)

    def step(done: int, stage: str) -> None:
        if progress is not None:
            progress(done, total, stage)

    if desil_by is not None and desil_by not in households.columns:
        raise InputError(f"no column {desil_by!r} to rank within (desil_by)")
    if pmt is None and survey is None:  # refused before any work
        require_desil(households.columns)
    hh_pieces, n_households = _pieces(client, households)
    m_pieces, _ = _pieces(client, members)
    threads = sum(client.nthreads().values())
    n = parts or max(threads, -(-n_households // PART_HOUSEHOLDS), 1)
    hh_parts = _co_partition(client, hh_pieces, n)
    m_parts = _co_partition(client, m_pieces, n)
    if pmt is None and survey is not None:
        pmt = _survey_pmt(client, survey, m_parts, reference_date)
    shared = client.scatter(pmt, broadcast=True) if pmt is not None else None
    pairs = list(zip(hh_parts, m_parts, strict=True))
    hh_parts = [client.submit(_welfare, h, m, reference_date, shared) for h, m in pairs]
    step(1, "household make-up")
    if pmt is not None:
        hh_parts = _ranked(client, hh_parts, desil_by)
    step(2, "PMT and desil")
    rules = client.scatter(programmes, broadcast=True)
    done = client.gather(
        [
            client.submit(_programmes, h, m, rules, reference_date, criteria_threshold, region)
            for h, (_, m) in zip(hh_parts, pairs, strict=True)
        ]
    )
    step(3 + len(programmes), "programmes")
    counts = {k: sum(d["counts"][k] for d in done) for k in done[0]["counts"]}
    summary = merge_summaries([d["summary"] for d in done], programmes)
    summary.attrs["notes"] = assumption_notes(counts, programmes)
    hh = _in_order([d["households"] for d in done])
    people = _in_order([d["persons"] for d in done])
    step(total, "summary")
    return ScoredRegister(hh, people, summary, pmt)


# -- partitions --


def _pieces(client: Client, table: Table) -> tuple[list[Future], int]:
    """The table as futures of pieces that carry each row's position (:data:`POS`),
    and its rows."""
    if isinstance(table, pd.DataFrame):
        bounds = np.linspace(0, len(table), max(1, -(-len(table) // PART_HOUSEHOLDS)) + 1)
        cuts = bounds.astype(np.int64)
        frames = [
            table.iloc[a:b].assign(**{POS: np.arange(a, b)})
            for a, b in zip(cuts[:-1], cuts[1:], strict=True)
        ]
        return client.scatter(frames), len(table)
    computed = client.compute(table.to_delayed())
    lengths = client.gather([client.submit(len, f) for f in computed])
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    starts = offsets[:-1].tolist()
    pieces = [client.submit(_positioned, f, o) for f, o in zip(computed, starts, strict=True)]
    return pieces, int(offsets[-1])


def _positioned(frame: pd.DataFrame, offset: int) -> pd.DataFrame:
    return frame.assign(**{POS: np.arange(offset, offset + len(frame))})


def _bucket_of(ids: pd.Series, n: int) -> np.ndarray:
    """The partition of each household id (as ``with_composition`` reads ids)."""
    keys = clean_ids(ids).astype(str)
    return pd.util.hash_pandas_object(keys, index=False).to_numpy() % n


def _split(frame: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    bucket = _bucket_of(frame["household_id"], n)
    return [frame[bucket == b] for b in range(n)]


def _joined(b: int, *splits: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat([s[b] for s in splits], ignore_index=True)


def _co_partition(client: Client, pieces: list[Future], n: int) -> list[Future]:
    """Pieces regrouped into ``n`` partitions by household id, rows in input order."""
    splits = [client.submit(_split, p, n) for p in pieces]
    return [client.submit(_joined, b, *splits) for b in range(n)]


def _in_order(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The partitions' rows in input order, without :data:`POS`; text columns kept as
    categories where the partitions had them (each its own categories)."""
    table = pd.concat(frames, ignore_index=True)
    for column in table.columns:
        if table[column].dtype == object and any(
            isinstance(f[column].dtype, pd.CategoricalDtype) for f in frames
        ):
            table[column] = table[column].astype("category")
    table = table.sort_values(POS, kind="stable").drop(columns=POS)
    return table.reset_index(drop=True)


# -- stages on one partition --


def _survey_pmt(
    client: Client, survey: pd.DataFrame, m_parts: list[Future], reference_date: dt.date
) -> ProxyMeansTest:
    """The PMT fitted on the survey households, their make-up counted where their
    members are."""
    positioned = survey.assign(**{POS: np.arange(len(survey))})
    pieces = _split(positioned, len(m_parts))
    made = client.gather(
        [
            client.submit(_made_up, p, m, reference_date)
            for p, m in zip(client.scatter(pieces), m_parts, strict=True)
        ]
    )
    return fitted_pmt(_in_order(made))


def _made_up(hh: pd.DataFrame, members: pd.DataFrame, reference_date: dt.date) -> pd.DataFrame:
    return with_composition(hh, members.drop(columns=POS), reference_date)


def _welfare(
    hh: pd.DataFrame,
    members: pd.DataFrame,
    reference_date: dt.date,
    pmt: ProxyMeansTest | None,
) -> pd.DataFrame:
    """Households with their make-up and (with a PMT) predicted welfare."""
    out = _made_up(hh, members, reference_date)
    if pmt is not None:
        out["log_welfare"] = predicted_welfare(out, pmt)
    return out


def _programmes(
    hh: pd.DataFrame,
    members: pd.DataFrame,
    programmes: list[Programme],
    reference_date: dt.date,
    criteria_threshold: int,
    region: str,
) -> dict[str, Any]:
    """The criteria, programmes and summary of one partition's whole households."""
    hh = hh.copy()
    positions = hh.pop(POS).to_numpy()
    hh, people, rows, fields = apply_programmes(
        hh, members.drop(columns=POS), programmes, reference_date, criteria_threshold
    )
    summary = summarise(hh, people, programmes, region, rows)
    if len(people):  # a row per member (none without a person-level programme)
        people = people.assign(**{POS: members[POS].to_numpy()})
    else:
        people = people.assign(**{POS: np.zeros(0, dtype=np.int64)})
    return {
        "households": hh.assign(**{POS: positions}),
        "persons": people,
        "summary": summary,
        "counts": assumed_counts(fields),
    }


# -- desil: a global sort by ranges --


def _ranked(client: Client, hh_parts: list[Future], desil_by: str | None) -> list[Future]:
    """Each partition's households with their desil, ranked over all partitions."""
    n = len(hh_parts)
    keys = [client.submit(_rank_keys, h, desil_by, b) for b, h in enumerate(hh_parts)]
    samples = client.gather([client.submit(_key_sample, k) for k in keys])
    bounds = _bounds(pd.concat(samples, ignore_index=True), n)
    splits = [client.submit(_split_ranges, k, bounds, n) for k in keys]
    ranges = [client.submit(_range_sorted, r, *splits) for r in range(n)]
    people = client.gather([client.submit(_range_people, r) for r in ranges])
    offsets, totals = _offsets(people)
    desils = [client.submit(_range_desil, r, offsets[i], totals, n) for i, r in enumerate(ranges)]
    return [client.submit(_with_desil, h, b, *desils) for b, h in enumerate(hh_parts)]


def _rank_keys(hh: pd.DataFrame, desil_by: str | None, part: int) -> pd.DataFrame:
    """What ranking reads of each household: region, welfare, size, household id
    (the tie-break), position; and where the household is (partition, row)."""
    within = desil_groups(hh, desil_by)
    keys = pd.DataFrame(
        {
            "region": "" if within is None else within.to_numpy(dtype=object),
            "w": hh["log_welfare"].to_numpy(dtype=float),
            "size": hh["size"].fillna(1).to_numpy(dtype=float),
            "tie": comparable(hh["household_id"]),
            POS: hh[POS].to_numpy(),
            "part": part,
            "row": np.arange(len(hh)),
        }
    )
    if keys["w"].isna().any():
        raise ValueError("welfare is missing for some households: rank only scored ones")
    if (keys["size"] <= 0).any():
        raise ValueError("every household needs a size of at least one person")
    return keys


def _key_sample(keys: pd.DataFrame) -> pd.DataFrame:
    ordered = keys.sort_values(["region", "w"], kind="stable")[["region", "w"]]
    if len(ordered) <= SAMPLE_KEYS:
        return ordered
    return ordered.iloc[np.linspace(0, len(ordered) - 1, SAMPLE_KEYS).astype(int)]


def _bounds(sample: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n - 1`` boundaries between ``n`` ranges of (region, welfare)."""
    ordered = sample.sort_values(["region", "w"], kind="stable").reset_index(drop=True)
    if n <= 1 or ordered.empty:
        return ordered.iloc[:0]
    return ordered.iloc[np.linspace(0, len(ordered) - 1, n + 1).astype(int)[1:-1]]


def _split_ranges(keys: pd.DataFrame, bounds: pd.DataFrame, n: int) -> list[pd.DataFrame]:
    """Households cut into ranges of (region, welfare): a household at a boundary
    goes after it, so equal keys stay in one range."""
    both = pd.concat(
        [bounds.assign(_row=-1), keys[["region", "w"]].assign(_row=np.arange(len(keys)))],
        ignore_index=True,
    )
    both = both.sort_values(["region", "w", "_row"], kind="stable")  # boundaries first
    where = np.cumsum(both["_row"].to_numpy() < 0)
    rows = both["_row"].to_numpy()
    mine = rows >= 0
    which = np.empty(len(keys), dtype=np.int64)
    which[rows[mine]] = where[mine]
    return [keys[which == r] for r in range(n)]


def _range_sorted(r: int, *splits: list[pd.DataFrame]) -> pd.DataFrame:
    """One range's households in ranking order (as ``desil`` sorts them)."""
    table = pd.concat([s[r] for s in splits], ignore_index=True)
    return table.sort_values(["region", "w", "tie", POS], kind="stable").reset_index(drop=True)


def _range_people(table: pd.DataFrame) -> pd.Series:
    return table.groupby("region", sort=False)["size"].sum()


def _offsets(people: list[pd.Series]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Per range, the people of each region in the ranges before it; per region, all."""
    offsets: list[dict[str, float]] = []
    running: dict[str, float] = {}
    for counts in people:
        offsets.append({str(region): running.get(str(region), 0.0) for region in counts.index})
        for region, value in counts.items():
            running[str(region)] = running.get(str(region), 0.0) + float(value)
    return offsets, running


def _range_desil(
    table: pd.DataFrame, offsets: dict[str, float], totals: dict[str, float], n: int
) -> list[pd.DataFrame]:
    """The desil of one range's households, cut by the partition that holds them."""
    size = table["size"].to_numpy()
    before = table.groupby("region", sort=False)["size"].cumsum().to_numpy()
    start = table["region"].map(offsets).to_numpy(dtype=float)
    total = table["region"].map(totals).to_numpy(dtype=float)
    out = table[["part", "row"]].assign(desil=cut_desil(start + before - size / 2, total))
    return [out[out["part"] == b] for b in range(n)]


def _with_desil(hh: pd.DataFrame, b: int, *desils: list[pd.DataFrame]) -> pd.DataFrame:
    mine = pd.concat([d[b] for d in desils], ignore_index=True)
    out = hh.copy()
    values = np.zeros(len(out), dtype=np.int64)
    values[mine["row"].to_numpy()] = mine["desil"].to_numpy()
    out["desil"] = values
    return out


__all__ = ["PART_HOUSEHOLDS", "score_on_cluster"]
