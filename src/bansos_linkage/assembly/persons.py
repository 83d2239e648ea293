"""Persons: the records of several registers clustered into DTSEN persons.

Two steps:

1. **Pairs.** Within each source, a model fitted on the register's own pairs
   (:meth:`~bansos_linkage.Linker.fit_duplicate_pairs`) finds the pairs of records it
   takes for one person (verval calls such records "ganda"); between every two
   sources, a :class:`~bansos_linkage.Linker` fitted on that pair links them
   (one-to-one, duplicates of one register sharing their counterpart).
2. **Clustering** (:func:`cluster`) by this rule:

   Pairs are taken strongest first (highest match weight; ties by record order),
   duplicate pairs and links alike. A pair joins the two persons it connects unless

   - the two share a source (a person holds at most one record per source), except
     that a duplicate pair of source S may join two persons that share S and
     nothing else: the records of S in one person are its declared duplicates,
     listed as duplicates of the first; otherwise the pair is refused and reported
     as a ``collision``; or
   - (only with ``veto_probability`` > 0) a record of the one and a record of the
     other, from two sources linked directly, score below ``veto_probability`` when
     compared directly: the pair is refused and reported as ``transitive``.

   Transitivity is otherwise kept: where a person joins records of two sources that
   the direct linking of those sources did not link to each other (A~B, B~C, A-C
   not linked), the two are compared directly and reported as ``transitive`` with
   ``kept`` and their direct probability in the detail, for verval to confirm. The
   veto is off by default (``VETO_PROBABILITY = 0``): on the tuning scenarios
   (``mix01``, ``mix03``, ``hard``, 20,000 households) a veto at 0.01 refused 21-64
   links and none of them was wrong (F1 lower by 0.0002-0.0008; at 0.0001 lower by
   up to 0.0001): a record that two other registers agree on is the same person
   even when the two disagree with each other.

Strongest first means the best-supported pairs decide: a weak link can never pull
a record away from a person its strong links put it in, and two records of one
register that link strongly to two different people of another are never taken for
duplicates of each other, however alike they look. The direct comparisons only
happen for persons built through a third source, so they are few.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from bansos_linkage.errors import SchemaError, UsageError
from bansos_linkage.linkage.blocking import blocking_keys
from bansos_linkage.linkage.comparisons import columns_read
from bansos_linkage.linkage.fellegi_sunter import probability
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.progress import Progress

#: Match probability below which a direct comparison vetoes a transitive link: off
#: (see the module notes for the measurements behind it).
VETO_PROBABILITY = 0.0
#: Records of one source an update may put in one duplicate group
#: (:mod:`~bansos_linkage.assembly.update`; DTKS holds a person twice, seldom more).
MAX_GROUP = 10


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
    sources = {name: _linkable(frame, template) for name, frame in sources.items()}
    names = list(sources)
    report = progress or (lambda done, total, stage: None)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    wanted = set(names if dedupe is True else (dedupe or ()))
    steps, step = len(wanted) + len(pairs) + 1, 0
    nodes = Nodes(sources)
    linkers: dict[tuple[str, str], Linker] = {}
    tables = []
    for name in names:
        if name in wanted and len(sources[name]) > 1:
            report(step, steps, f"duplicates: {name}")
            step += 1
            model = clone(template)
            found = model.fit_duplicate_pairs(sources[name])
            linkers[(name, name)] = model
            tables.append(pair_table(found, name, name, "duplicate"))
    for a, b in pairs:
        report(step, steps, f"links: {a} - {b}")
        step += 1
        model = clone(template)
        result = model.fit_link(sources[a], sources[b])
        linkers[(a, b)] = model
        tables.append(pair_table(result.links, a, b, "link"))
    report(step, steps, "persons")
    links = pd.concat(tables, ignore_index=True) if tables else _empty_links()
    groups = np.arange(len(nodes))  # every record its own; duplicate pairs join below
    person, outcome, conflicts = cluster(
        nodes, groups, links, direct_scorer(sources, linkers), veto_probability
    )
    links["outcome"] = outcome
    records = _records_table(nodes, groups, person, links)
    conflicts.insert(1, "person_id", records["person_id"].to_numpy()[conflicts.pop("group")])
    report(steps, steps, "done")
    summary = person_summary(sources, records, links, conflicts)
    return PersonLinks(records, links, conflicts, linkers, summary)


def person_summary(
    sources: Mapping[str, pd.DataFrame],
    records: pd.DataFrame,
    links: pd.DataFrame,
    conflicts: pd.DataFrame,
) -> dict[str, Any]:
    """Counts of the person stage: records per source, persons, duplicates per source,
    pairs by outcome, conflicts by kind."""
    duplicate = records["duplicate_of"].notna()
    return {
        "sources": {n: len(frame) for n, frame in sources.items()},
        "persons": int(records["person_id"].nunique()),
        "duplicates": {n: int((records["source"].eq(n) & duplicate).sum()) for n in sources},
        "links": {k: int(v) for k, v in links["outcome"].value_counts().sort_index().items()},
        "conflicts": {k: int(v) for k, v in conflicts["kind"].value_counts().sort_index().items()},
    }


def _linkable(records: pd.DataFrame, template: Linker) -> pd.DataFrame:
    """The columns linking reads, blocking keys included: derived once per source
    instead of once for each of the models the source takes part in."""
    wanted = [*columns_read(template.rules, template.comparisons), *template.family_columns]
    return blocking_keys(records[[c for c in dict.fromkeys(wanted) if c in records]])


class Nodes:
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
        at = self.index[name].get_indexer(record_ids.astype("string"))  # type: ignore[arg-type]
        return at + int(self.offset[name])


def pair_table(pairs: pd.DataFrame, a: str, b: str, kind: str) -> pd.DataFrame:
    """The scored pairs of sources ``a`` and ``b`` (a ``"link"`` across two sources or a
    ``"duplicate"`` within one) as rows of the person linking's pair table."""
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
    return pair_table(
        pd.DataFrame(columns=["record_id_a", "record_id_b", "match_weight", "match_probability"]),
        "",
        "",
        "duplicate",
    )


def roots(parent: np.ndarray) -> np.ndarray:
    """The root of every element of a union-find forest at once (pointer jumping:
    a few passes over the array instead of one Python call per element)."""
    out = parent.astype(np.int64, copy=True)
    while True:
        up = out[out]
        if np.array_equal(up, out):
            return out
        out = up


def root(parent: np.ndarray, i: int) -> int:
    """The root of element ``i`` of a union-find forest, halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = int(parent[i])
    return i


Scorer = Callable[[str, str, np.ndarray, np.ndarray], np.ndarray]


def direct_scorer(
    sources: Mapping[str, pd.DataFrame], linkers: Mapping[tuple[str, str], Linker]
) -> Scorer:
    """Match probabilities of given record pairs of sources a and b, by the model fitted
    on that source pair (compared directly, blocked or not)."""

    def score(a: str, b: str, ids_a: np.ndarray, ids_b: np.ndarray) -> np.ndarray:
        model = linkers[(a, b)]
        weight = model.score_pairs(sources[a], sources[b], ids_a, ids_b)
        return probability(np.nan_to_num(weight, nan=-60.0))

    return score


def cluster(
    nodes: Nodes,
    groups: np.ndarray,
    links: pd.DataFrame,
    score: Scorer,
    veto_probability: float = VETO_PROBABILITY,
    rounds: int = 3,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Person (a group number) of each record, the outcome of each pair of ``links``
    and the conflicts, by the rule of the module notes."""
    is_link = links["kind"].eq("link").to_numpy()
    a = _link_nodes(nodes, links, "a")
    b = _link_nodes(nodes, links, "b")
    ga, gb = groups[np.maximum(a, 0)], groups[np.maximum(b, 0)]
    weight = links["match_weight"].to_numpy(dtype=float)
    # a duplicate pair may join two persons that share its own source, and only that
    own = np.where(is_link, 0, np.left_shift(1, nodes.source[np.maximum(a, 0)]))
    vetoed: dict[int, set[int]] = {}
    checked: dict[tuple[int, int], float] = {}
    order = np.lexsort((gb, ga, -weight))
    for _ in range(rounds):
        person, outcome = greedy_groups(nodes, groups, ga, gb, order, vetoed, own)
        new = _transitive_checks(nodes, groups, person, ga, gb, is_link, outcome, checked, score)
        fresh = [(x, y) for (x, y), p in new.items() if p < veto_probability]
        if not fresh:
            break
        for x, y in fresh:
            vetoed.setdefault(x, set()).add(y)
            vetoed.setdefault(y, set()).add(x)
    # a refused pair whose records ended in one person anyway (through other pairs)
    # was no conflict
    refused = np.isin(outcome, ["collision", "transitive"]) & (person[ga] == person[gb])
    outcome = np.where(refused, "already_joined", outcome)
    conflicts = veto_conflicts(
        nodes, groups, person, links, ga, gb, outcome, checked, veto_probability
    )
    return person[groups], outcome, conflicts


def _link_nodes(nodes: Nodes, links: pd.DataFrame, side: str) -> np.ndarray:
    out = np.full(len(links), -1, dtype=np.int64)
    for name, rows in links.groupby(f"source_{side}", sort=False).indices.items():
        out[rows] = nodes.of(str(name), links[f"record_id_{side}"].iloc[rows])
    return out


def greedy_groups(
    nodes: Nodes,
    groups: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
    order: np.ndarray,
    vetoed: Mapping[int, set[int]],
    own: np.ndarray,
    parent: np.ndarray | None = None,
    existing: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Union of groups, links strongest first, under the constraints; ``own`` is the
    source bit a duplicate pair may share (0 for a link between sources). An update
    starts from the persons there were (``parent``, flat: each group points at its
    person's root) and never merges two of them (``existing``: roots that were
    persons; such a pair is ``merge_refused``)."""
    n = len(nodes)
    parent = np.arange(n) if parent is None else parent.copy()
    existing = None if existing is None else existing.copy()
    mask = np.zeros(n, dtype=np.int64)
    np.bitwise_or.at(mask, groups, np.left_shift(1, nodes.source))
    np.bitwise_or.at(mask, parent, mask.copy())  # each root holds its person's sources
    members: dict[int, list[int]] = {}  # only for persons holding a vetoed group
    for g in vetoed:
        members.setdefault(root(parent, g), []).append(g)
    outcome = np.full(len(ga), "", dtype=object)
    for i in order:
        ra, rb = root(parent, int(ga[i])), root(parent, int(gb[i]))
        if ra == rb:
            outcome[i] = "already_joined"
        elif (mask[ra] & mask[rb]) & ~own[i]:
            outcome[i] = "collision"
        elif existing is not None and existing[ra] and existing[rb]:
            outcome[i] = "merge_refused"
        elif _vetoed(ra, rb, members, vetoed, parent):
            outcome[i] = "transitive"
        else:
            ra, rb = min(ra, rb), max(ra, rb)
            parent[rb] = ra
            mask[ra] |= mask[rb]
            if existing is not None:
                existing[ra] |= existing[rb]
            if rb in members:
                members.setdefault(ra, []).extend(members.pop(rb))
            outcome[i] = "joined"
    person = roots(parent)
    return person, outcome


def _vetoed(ra: int, rb: int, members: dict[int, list[int]], vetoed, parent) -> bool:
    """Would joining persons ra and rb put a vetoed pair of groups in one person?"""
    if ra not in members or rb not in members:
        return False
    return any(root(parent, other) == rb for g in members[ra] for other in vetoed.get(g, ()))


def _transitive_checks(
    nodes: Nodes,
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
    whose sources' own linking did not link them; returns the pairs newly scored. The
    records of one source in a person (duplicates) stand together, represented by the
    first: a link from any of them counts."""
    rep = np.flatnonzero(np.bincount(groups, minlength=len(nodes)))  # np.unique is slow
    by_person = pd.DataFrame({"person": person[rep], "group": rep, "source": nodes.source[rep]})
    first = by_person.groupby(["person", "source"])["group"].transform("min").to_numpy()
    stand_for = np.arange(len(nodes))
    stand_for[rep] = first
    by_person = by_person[by_person["group"].to_numpy() == first]
    multi = by_person[by_person.groupby("person")["group"].transform("size") >= 3]
    if multi.empty:
        return {}
    pairs = multi.merge(multi, on="person", suffixes=("_a", "_b"))
    pairs = pairs[pairs["source_a"] < pairs["source_b"]]
    la, lb = stand_for[ga[is_link]], stand_for[gb[is_link]]
    linked = set(zip(la.tolist(), lb.tolist(), strict=True))
    todo = [
        (x, y)
        for x, y in zip(pairs["group_a"].tolist(), pairs["group_b"].tolist(), strict=True)
        if (x, y) not in linked and (y, x) not in linked and (x, y) not in checked
    ]
    new: dict[tuple[int, int], float] = {}
    frame = pd.DataFrame(todo, columns=["x", "y"])
    frame["sa"], frame["sb"] = nodes.source[frame["x"]], nodes.source[frame["y"]]
    for (sa, sb), rows in frame.groupby(["sa", "sb"]):
        p = score(nodes.names[sa], nodes.names[sb], nodes.ids[rows["x"]], nodes.ids[rows["y"]])  # type: ignore[call-overload]
        new.update(
            zip(zip(rows["x"].tolist(), rows["y"].tolist(), strict=True), p.tolist(), strict=True)
        )
    checked.update(new)
    return new


def veto_conflicts(
    nodes: Nodes,
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
                f"link {links['source_a'].iat[int(i)]} - {links['source_b'].iat[int(i)]} refused: "
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
    nodes: Nodes, groups: np.ndarray, person: np.ndarray, links: pd.DataFrame
) -> pd.DataFrame:
    """One row per record with its person id (``P`` + 10 digits, numbered in the order
    of each person's first record) and the strongest link that joined it."""
    position = pd.Series(np.arange(len(nodes)))
    number = pd.factorize(position.groupby(person).transform("min").to_numpy(), sort=True)[0] + 1
    # the records of one source in a person: duplicates of its first
    first = position.groupby([person, nodes.source]).transform("min").to_numpy()
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
            "duplicate_of": np.where(first != np.arange(len(nodes)), nodes.ids[first], None),
            "link_probability": np.where(alone, np.nan, strongest),
        }
    )


__all__ = [
    "MAX_GROUP",
    "Nodes",
    "PersonLinks",
    "Scorer",
    "VETO_PROBABILITY",
    "cluster",
    "direct_scorer",
    "greedy_groups",
    "link_persons",
    "pair_table",
    "person_summary",
    "root",
    "roots",
    "veto_conflicts",
]
