"""Persons: the records of several registers clustered into DTSEN persons.

Three steps, each a public stage of its own:

1. **Duplicates within a source** (:func:`duplicate_groups`): a model fitted on the
   register's own pairs (:meth:`~bansos_linkage.Linker.fit_duplicate_pairs`) finds the
   pairs it takes for one person; they are grouped strongest pair first, a group never
   growing past ``max_group`` records. Verval calls such records "ganda"; the group is
   one declared person of that source and its records are listed as duplicates of the
   first one.
2. **Pairwise links** between every two sources (:class:`~bansos_linkage.Linker`
   fitted on that pair, one-to-one with duplicates), lifted to duplicate groups.
3. **Clustering** (:func:`cluster`) by this rule:

   Links are taken strongest first (highest match weight; ties by record order). A
   link joins the two persons it connects unless

   - the two share a source (a person holds at most one record, or one duplicate
     group, per source): the link is refused and reported as a ``collision``; or
   - a record of the one and a record of the other, from two sources linked
     directly, score as a confident non-match (match probability below
     ``veto_probability``) when compared directly: the link is refused and
     reported as ``transitive`` (A~B and B~C, but A is not C).

   Where a person joins records of two sources that the direct linking of those
   sources did not link to each other (A~B, B~C, A-C not linked) but that are no
   confident non-match, the person is kept and the pair is reported as
   ``transitive`` with ``kept`` in its detail, for verval to confirm.

Strongest first means the best-supported links decide: a weak link can never pull
a record away from a person its strong links put it in. The direct comparisons of
step 3 only happen for persons built through a third source, so they are few.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from bansos_linkage.errors import SchemaError, UsageError
from bansos_linkage.linker import Linker

#: Match probability below which a direct comparison vetoes a transitive link.
VETO_PROBABILITY = 0.01
#: Records one duplicate group may hold (DTKS holds a person twice, seldom more).
MAX_GROUP = 10

Progress = Callable[[int, int, str], None]


@dataclass
class PersonLinks:
    """What the person stage produces.

    ``records``: ``source``, ``record_id``, ``person_id``, ``duplicate_of``,
    ``link_probability`` (every input record once). ``links``: every duplicate pair and
    pairwise link considered, with ``kind`` (``duplicate``/``link``) and ``outcome``
    (``joined``, ``already_joined``, ``collision``, ``transitive``). ``conflicts``:
    collisions and transitive conflicts (``kind``, ``person_id``, ``field``, ``detail``,
    ``record_ids``). ``linkers``: the fitted Linker of each source pair (and of each
    source's duplicates, keyed ``(source, source)``).
    """

    records: pd.DataFrame
    links: pd.DataFrame
    conflicts: pd.DataFrame
    linkers: dict[tuple[str, str], Linker] = field(repr=False, default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def link_persons(
    sources: Mapping[str, pd.DataFrame],
    *,
    linker: Linker | None = None,
    dedupe: bool | Sequence[str] = True,
    veto_probability: float = VETO_PROBABILITY,
    max_group: int = MAX_GROUP,
    progress: Progress | None = None,
) -> PersonLinks:
    """Cluster the standardised records of ``sources`` (in priority order: the first is
    the most trusted) into persons.

    ``linker`` is the unfitted template each source pair and each deduplication is
    fitted from (default: ``Linker()``); ``dedupe`` says which sources may hold a person
    twice (True: all).

    Examples
    --------
    >>> import datetime as dt
    >>> from bansos_linkage import standardise
    >>> from bansos_linkage.synthetic import generate, scenario
    >>> data = generate(scenario("default", households=150, seed=2))
    >>> sources = {n: standardise(data.registers[n], n, reference_date=dt.date(2026, 1, 1))
    ...            .records for n in ("regsosek", "dtks")}
    >>> persons = link_persons(sources, linker=Linker(n_jobs=1))
    >>> len(persons.records) == sum(len(r) for r in sources.values())
    True
    """
    if not sources:
        raise UsageError("no source registers given: assembly needs at least one")
    template = linker if linker is not None else Linker()
    names = list(sources)
    report = progress or (lambda done, total, stage: None)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    wanted = set(names if dedupe is True else (dedupe or ()))
    steps, step = len(wanted) + len(pairs) + 1, 0
    nodes = _Nodes(sources)
    linkers: dict[tuple[str, str], Linker] = {}
    tables = []
    for name in names:
        if name in wanted and len(sources[name]) > 1:
            report(step, steps, f"duplicates: {name}")
            step += 1
            model = clone(template)
            found = model.fit_duplicate_pairs(sources[name])
            linkers[(name, name)] = model
            tables.append(_pair_table(found, name, name, "duplicate"))
    groups = duplicate_groups(nodes, tables, max_group)
    for a, b in pairs:
        report(step, steps, f"links: {a} - {b}")
        step += 1
        model = clone(template)
        result = model.fit_link(sources[a], sources[b])
        linkers[(a, b)] = model
        tables.append(_pair_table(result.links, a, b, "link"))
    report(step, steps, "persons")
    links = pd.concat(tables, ignore_index=True) if tables else _empty_links()
    person, outcome, conflicts = cluster(
        nodes, groups, links, _direct_scorer(sources, linkers), veto_probability
    )
    links["outcome"] = outcome
    records = _records_table(nodes, groups, person, links)
    conflicts.insert(1, "person_id", records["person_id"].to_numpy()[conflicts.pop("group")])
    report(steps, steps, "done")
    summary = {
        "sources": {n: len(sources[n]) for n in names},
        "persons": int(records["person_id"].nunique()),
        "duplicates": {
            n: int((records["source"].eq(n) & records["duplicate_of"].notna()).sum()) for n in names
        },
        "links": {k: int(v) for k, v in links["outcome"].value_counts().sort_index().items()},
        "conflicts": {k: int(v) for k, v in conflicts["kind"].value_counts().sort_index().items()},
    }
    return PersonLinks(records, links, conflicts, linkers, summary)


class _Nodes:
    """Every record of every source numbered 0..n-1, sources in priority order."""

    def __init__(self, sources: Mapping[str, pd.DataFrame]) -> None:
        self.names = list(sources)
        ids, src = [], []
        for k, (name, frame) in enumerate(sources.items()):
            if "record_id" not in frame:
                raise SchemaError(f"source {name!r} has no 'record_id' column: standardise first")
            ids.append(frame["record_id"].astype("string").to_numpy(dtype=object))
            src.append(np.full(len(frame), k, dtype=np.int64))
        self.ids = np.concatenate(ids) if ids else np.zeros(0, dtype=object)
        self.source = np.concatenate(src) if src else np.zeros(0, dtype=np.int64)
        self.offset = dict(
            zip(self.names, np.r_[0, np.cumsum([len(f) for f in sources.values()])], strict=False)
        )
        self.index = {
            name: pd.Index(frame["record_id"].astype("string")) for name, frame in sources.items()
        }
        for name, index in self.index.items():
            if index.has_duplicates:
                raise SchemaError(f"source {name!r} repeats record ids: each must be unique")

    def __len__(self) -> int:
        return len(self.ids)

    def of(self, name: str, record_ids: pd.Series) -> np.ndarray:
        at = self.index[name].get_indexer(record_ids.astype("string"))
        return at + int(self.offset[name])


def _pair_table(pairs: pd.DataFrame, a: str, b: str, kind: str) -> pd.DataFrame:
    left, right = ("record_id_a", "record_id_b") if kind == "duplicate" else ("left_id", "right_id")
    return pd.DataFrame(
        {
            "kind": kind,
            "source_a": a,
            "record_id_a": pairs[left].astype("string").to_numpy(dtype=object),
            "source_b": b,
            "record_id_b": pairs[right].astype("string").to_numpy(dtype=object),
            "match_weight": pairs["match_weight"].to_numpy(dtype=float),
            "match_probability": pairs["match_probability"].to_numpy(dtype=float),
        }
    )


def _empty_links() -> pd.DataFrame:
    return _pair_table(
        pd.DataFrame(columns=["record_id_a", "record_id_b", "match_weight", "match_probability"]),
        "",
        "",
        "duplicate",
    )


def duplicate_groups(nodes: _Nodes, tables: Sequence[pd.DataFrame], max_group: int) -> np.ndarray:
    """Group of each record (a node number: the group's first record), duplicate pairs
    joined strongest first, no group past ``max_group`` records."""
    parent = np.arange(len(nodes))
    size = np.ones(len(nodes), dtype=np.int64)
    for table in tables:
        a = nodes.of(table["source_a"].iat[0], table["record_id_a"]) if len(table) else []
        b = nodes.of(table["source_b"].iat[0], table["record_id_b"]) if len(table) else []
        order = np.lexsort((b, a, -table["match_weight"].to_numpy())) if len(table) else []
        for i in order:
            ra, rb = _root(parent, int(a[i])), _root(parent, int(b[i]))
            if ra != rb and size[ra] + size[rb] <= max_group:
                ra, rb = min(ra, rb), max(ra, rb)  # the earlier record stays representative
                parent[rb] = ra
                size[ra] += size[rb]
    return roots(parent)


def roots(parent: np.ndarray) -> np.ndarray:
    """The root of every element of a union-find forest at once (pointer jumping:
    a few passes over the array instead of one Python call per element)."""
    out = parent.astype(np.int64, copy=True)
    while True:
        up = out[out]
        if np.array_equal(up, out):
            return out
        out = up


def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


Scorer = Callable[[str, str, np.ndarray, np.ndarray], np.ndarray]


def _direct_scorer(
    sources: Mapping[str, pd.DataFrame], linkers: Mapping[tuple[str, str], Linker]
) -> Scorer:
    """Match probabilities of given record pairs of sources a and b, by the model fitted
    on that source pair (compared directly, blocked or not)."""

    def score(a: str, b: str, ids_a: np.ndarray, ids_b: np.ndarray) -> np.ndarray:
        model = linkers[(a, b)]
        weight = model.score_pairs(sources[a], sources[b], ids_a, ids_b)
        return 1.0 / (1.0 + np.exp2(-np.clip(np.nan_to_num(weight, nan=-60.0), -1000, 1000)))

    return score


def cluster(
    nodes: _Nodes,
    groups: np.ndarray,
    links: pd.DataFrame,
    score: Scorer,
    veto_probability: float = VETO_PROBABILITY,
    rounds: int = 3,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Person (a group number) of each record, the outcome of each link, and the
    conflicts, by the rule of the module notes."""
    is_link = links["kind"].eq("link").to_numpy()
    a = _link_nodes(nodes, links, "a")
    b = _link_nodes(nodes, links, "b")
    ga, gb = groups[np.maximum(a, 0)], groups[np.maximum(b, 0)]
    weight = links["match_weight"].to_numpy(dtype=float)
    order = np.lexsort((gb, ga, -weight))
    order = order[is_link[order]]
    vetoed: dict[int, set[int]] = {}
    checked: dict[tuple[int, int], float] = {}
    for _ in range(rounds):
        person, outcome = _greedy(nodes, groups, ga, gb, order, vetoed)
        new = _transitive_checks(nodes, groups, person, ga, gb, is_link, outcome, checked, score)
        fresh = [(x, y) for (x, y), p in new.items() if p < veto_probability]
        if not fresh:
            break
        for x, y in fresh:
            vetoed.setdefault(x, set()).add(y)
            vetoed.setdefault(y, set()).add(x)
    # a duplicate pair is joined unless its group was full
    outcome = np.where(is_link, outcome, np.where(ga == gb, "joined", "group_full"))
    conflicts = _conflicts(nodes, groups, person, links, ga, gb, outcome, checked, veto_probability)
    return person[groups], outcome, conflicts


def _link_nodes(nodes: _Nodes, links: pd.DataFrame, side: str) -> np.ndarray:
    out = np.full(len(links), -1, dtype=np.int64)
    for name, rows in links.groupby(f"source_{side}", sort=False).indices.items():
        out[rows] = nodes.of(str(name), links[f"record_id_{side}"].iloc[rows])
    return out


def _greedy(
    nodes: _Nodes,
    groups: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
    order: np.ndarray,
    vetoed: Mapping[int, set[int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Union of groups, links strongest first, under the two constraints."""
    n = len(nodes)
    parent = np.arange(n)
    mask = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(mask, groups, np.left_shift(1, nodes.source))
    members: dict[int, list[int]] = {}  # only for persons holding a vetoed group
    for g in vetoed:
        members.setdefault(g, [g])
    outcome = np.full(len(ga), "", dtype=object)
    for i in order:
        ra, rb = _root(parent, int(ga[i])), _root(parent, int(gb[i]))
        if ra == rb:
            outcome[i] = "already_joined"
        elif mask[ra] & mask[rb]:
            outcome[i] = "collision"
        elif _vetoed(ra, rb, members, vetoed, parent):
            outcome[i] = "transitive"
        else:
            ra, rb = min(ra, rb), max(ra, rb)
            parent[rb] = ra
            mask[ra] |= mask[rb]
            if rb in members:
                members.setdefault(ra, []).extend(members.pop(rb))
            outcome[i] = "joined"
    person = roots(parent)
    return person, outcome


def _vetoed(ra: int, rb: int, members: dict[int, list[int]], vetoed, parent) -> bool:
    """Would joining persons ra and rb put a vetoed pair of groups in one person?"""
    if ra not in members or rb not in members:
        return False
    return any(_root(parent, other) == rb for g in members[ra] for other in vetoed.get(g, ()))


def _transitive_checks(
    nodes: _Nodes,
    groups: np.ndarray,
    person: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
    is_link: np.ndarray,
    outcome: np.ndarray,
    checked: dict[tuple[int, int], float],
    score: Scorer,
) -> dict[tuple[int, int], float]:
    """Directly score the pairs of groups that share a person through a third source but
    whose sources' own linking did not link them; returns the pairs newly scored."""
    rep = np.unique(groups)
    by_person = pd.DataFrame({"person": person[rep], "group": rep, "source": nodes.source[rep]})
    multi = by_person[by_person.groupby("person")["group"].transform("size") >= 3]
    if multi.empty:
        return {}
    pairs = multi.merge(multi, on="person", suffixes=("_a", "_b"))
    pairs = pairs[pairs["source_a"] < pairs["source_b"]]
    linked = set(zip(ga[is_link].tolist(), gb[is_link].tolist(), strict=True))
    todo = [
        (x, y)
        for x, y in zip(pairs["group_a"].tolist(), pairs["group_b"].tolist(), strict=True)
        if (x, y) not in linked and (y, x) not in linked and (x, y) not in checked
    ]
    new: dict[tuple[int, int], float] = {}
    frame = pd.DataFrame(todo, columns=["x", "y"])
    frame["sa"], frame["sb"] = nodes.source[frame["x"]], nodes.source[frame["y"]]
    for (sa, sb), rows in frame.groupby(["sa", "sb"]):
        p = score(nodes.names[sa], nodes.names[sb], nodes.ids[rows["x"]], nodes.ids[rows["y"]])
        new.update(
            zip(zip(rows["x"].tolist(), rows["y"].tolist(), strict=True), p.tolist(), strict=True)
        )
    checked.update(new)
    return new


def _conflicts(
    nodes: _Nodes,
    groups: np.ndarray,
    person: np.ndarray,
    links: pd.DataFrame,
    ga: np.ndarray,
    gb: np.ndarray,
    outcome: np.ndarray,
    checked: Mapping[tuple[int, int], float],
    veto_probability: float,
) -> pd.DataFrame:
    """Collisions and transitive refusals (per refused link), and transitive persons kept
    (per directly scored pair left in one person)."""
    refused = np.flatnonzero(np.isin(outcome, ["collision", "transitive"]))
    rows = [
        {
            "kind": str(outcome[i]),
            "group": int(person[ga[i]]),
            "field": pd.NA,
            "detail": (
                f"link {links['source_a'].iat[i]} - {links['source_b'].iat[i]} refused: "
                + (
                    "both persons hold a record of one source"
                    if outcome[i] == "collision"
                    else "a direct comparison scored their records as different people"
                )
            ),
            "record_ids": ";".join(sorted([nodes.ids[ga[i]], nodes.ids[gb[i]]])),
        }
        for i in refused
    ]
    for (x, y), p in sorted(checked.items()):
        if person[x] == person[y] and p >= veto_probability:
            rows.append(
                {
                    "kind": "transitive",
                    "group": int(person[x]),
                    "field": pd.NA,
                    "detail": f"kept: {nodes.names[nodes.source[x]]} and "
                    f"{nodes.names[nodes.source[y]]} joined through a third source "
                    f"(direct probability {p:.3f})",
                    "record_ids": ";".join(sorted([nodes.ids[x], nodes.ids[y]])),
                }
            )
    return pd.DataFrame(rows, columns=["kind", "group", "field", "detail", "record_ids"])


def _records_table(
    nodes: _Nodes, groups: np.ndarray, person: np.ndarray, links: pd.DataFrame
) -> pd.DataFrame:
    """One row per record with its person id (``P`` + 10 digits, numbered in the order
    of each person's first record) and the strongest link that joined it."""
    first = pd.Series(np.arange(len(nodes))).groupby(person).transform("min").to_numpy()
    number = pd.factorize(first, sort=True)[0] + 1
    joined = links["outcome"].eq("joined").to_numpy()
    strongest = np.zeros(len(nodes))
    for side in ("a", "b"):
        at = _link_nodes(nodes, links, side)[joined]
        np.maximum.at(strongest, at, links["match_probability"].to_numpy()[joined])
    alone = pd.Series(person).map(pd.Series(person).value_counts()).to_numpy() == 1
    return pd.DataFrame(
        {
            "source": np.array(nodes.names, dtype=object)[nodes.source],
            "record_id": nodes.ids,
            "person_id": np.char.add("P", np.char.zfill(number.astype(str), 10)).astype(object),
            "duplicate_of": np.where(groups != np.arange(len(nodes)), nodes.ids[groups], None),
            "link_probability": np.where(alone, np.nan, strongest),
        }
    )
