"""Updates: a later export of a source applied to an assembled register.

A monthly DTKS/verval export or a batch of new Regsosek records is applied against an
existing assembly (:func:`update_assembly`, on files :func:`update_files`) without
refitting anything and without renumbering anyone:

1. **Diff** (:func:`diff_records`): each updated source's records are compared by
   ``record_id`` with the previous export on the columns linkage reads (the
   ``columns_read`` of every saved model involving the source): ``unchanged``,
   ``changed``, ``new`` or ``removed``. Sources not given keep their records.
2. **Fixed records**: every unchanged record (and every record of a source not
   updated) keeps its person. A person's fixed records of one source stay one
   duplicate group.
3. **Linking what is new** with the saved models (no EM): new and changed records
   ("pending") are deduplicated against their own source with the source's model
   ``(s, s)`` when there is one (a pending record may join an existing duplicate
   group, never join two), and linked with the pair's model against every other
   source's current records. Candidate pairs are found by blocking on the pending
   records only and then scored on the whole registers (term frequencies of the
   whole right register, as a full run has them); pairs at or above the model's
   threshold are made one-to-one per source pair, strongest first.
4. **Assignment**, by the rule of :mod:`~bansos_linkage.assembly.persons`: links
   strongest first; a person holds at most one record (or duplicate group) per
   source; transitive vetoes (records joined through a third source that a direct
   comparison scores below ``veto_probability``). A pending record whose best link
   goes to an existing person lacking a record of its source **joins** that person;
   otherwise the pending records form new persons. **An update never merges two
   existing persons**: such a link is refused (outcome ``merge_refused``) and
   reported as a ``collision`` conflict for verval, so every unchanged record keeps
   its person id.
5. **Ids**: existing persons keep their ids. A new person made only of changed
   records takes back the id its records had when that person has no records left
   (a typo fixed in a one-record person does not renumber it); other new persons get
   the next free ids. Families are recomputed
   (:func:`~bansos_linkage.assembly.families.link_families`) and each mapped to the
   previous family id most of its persons had (ties: the smallest id; each previous
   id at most once); the others get the next free ids. "Next free" counts from the
   highest id ever issued (``summary["last_person_id"]``, ``summary["last_family_id"]``),
   so no id is ever reused, not even one removed in an earlier update.
6. **Values and conflicts** are recomputed for all persons (it is fast); linking
   conflicts of fixed records are carried over. Eligibility scores are carried over
   for the families still there (their ids are stable; a family new in the update is
   unscored until the next full run with the PMT), and the DTKS transition report is
   recomputed with them.

``changes`` has one row per record, person and family that changed: ``level``,
``source``, ``record_id``, ``person_id``, ``family_id``, ``change``, ``detail``
(column names, sources and ids only, never personal values):

==========  =====================================================================
record      ``new``, ``changed`` (``detail``: the columns), ``removed``
person      ``created`` (a new person), ``joined`` (gained records: their sources),
            ``left`` (lost records but keeps others), ``removed`` (no records left)
family      ``created``, ``changed`` (persons joined or left), ``removed``
==========  =====================================================================

Layer: the runs layer (``tests/test_layers.py``), beside the assembly core it
builds on: :func:`update_files` reads and rewrites an ``assemble`` run folder (the module is
one so that :func:`update_assembly` and its file side stay together).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.assembly import build, transitions
from bansos_linkage.assembly.build import PREVIOUS, Assembly, source_order
from bansos_linkage.assembly.families import link_families
from bansos_linkage.assembly.files import (
    KEY_FILE,
    Source,
    read_assembly,
    standardise_sources,
    write_assembly,
)
from bansos_linkage.assembly.persons import (
    MAX_GROUP,
    VETO_PROBABILITY,
    Nodes,
    PersonLinks,
    direct_scorer,
    pair_table,
    person_summary,
    root,
    roots,
    veto_conflicts,
)
from bansos_linkage.assembly.persons import (
    greedy_groups as persons_greedy,
)
from bansos_linkage.errors import InputError, UsageError
from bansos_linkage.io import read_table, restore_formulas
from bansos_linkage.linkage.fellegi_sunter import probability
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.progress import Progress

#: Columns of the ``changes`` table.
CHANGE_COLUMNS = ["level", "source", "record_id", "person_id", "family_id", "change", "detail"]
#: File of the changes in an updated run folder.
CHANGES_FILE = "changes.csv"
_LEVELS = {"record": 0, "person": 1, "family": 2}


def update_assembly(
    previous: Assembly,
    previous_records: Mapping[str, pd.DataFrame],
    new_sources: Mapping[str, pd.DataFrame],
    *,
    linkers: Mapping[tuple[str, str], Linker],
    reference_date: dt.date | None = None,
    veto_probability: float = VETO_PROBABILITY,
    max_group: int = MAX_GROUP,
    progress: Progress | None = None,
) -> tuple[Assembly, dict[str, pd.DataFrame], pd.DataFrame]:
    """Apply new exports of some sources to an assembled register (module notes).

    Parameters
    ----------
    previous
        The assembly to update (in memory or from :func:`~.files.read_assembly`).
    previous_records
        The standardised records it was built from, by source.
    new_sources
        The new standardised export of each updated source (the whole register,
        not only its changes: a record missing from it is removed).
    linkers
        The fitted model of each source pair ``(a, b)`` (``a`` before ``b`` in
        priority order) and of each deduplicated source ``(s, s)``.
    reference_date
        Recorded in the summary (records are standardised at it by the caller).
    veto_probability, max_group
        As for :func:`~bansos_linkage.assembly.persons.link_persons`.
    progress
        Called with ``(done, total, stage)``.

    Returns
    -------
    tuple
        The updated :class:`~.build.Assembly`, the updated standardised records by
        source, and the ``changes`` table of the module notes.

    Raises
    ------
    UsageError
        An updated source is not one of the assembly's, or a model is missing.
    """
    order = _order(previous, previous_records)
    unknown = sorted(set(new_sources) - set(order))
    if unknown:
        raise UsageError(
            f"sources {unknown} are not in the assembly {order}: a new source needs a full "
            "assemble run"
        )
    report = progress or (lambda done, total, stage: None)
    start = time.perf_counter()
    current = {n: _ids_as_text(new_sources.get(n, previous_records[n])) for n in order}
    diffs = {
        n: diff_records(previous_records[n], current[n], _linkage_columns(linkers, n))
        for n in order
        if n in new_sources
    }
    nodes = Nodes(current)
    prev_person, pending = _fixed_persons(nodes, previous.records, diffs)
    report(0, 3, "linking new and changed records")
    links = _pending_links(current, nodes, pending, linkers, order)
    report(1, 3, "persons")
    links = _carried_links(previous.links, nodes, pending, links)
    person, groups, links, checked = _cluster(
        nodes, prev_person, links, direct_scorer(current, linkers), veto_probability, max_group
    )
    ids, last_person = _person_ids(nodes, person, prev_person, previous)
    conflicts = _linking_conflicts(nodes, groups, person, ids, links, checked, veto_probability)
    links = links.drop(columns="new")
    records = _records_table(nodes, groups, ids, links)
    conflicts = pd.concat(
        [_kept_conflicts(previous.conflicts, diffs), conflicts], ignore_index=True
    )
    report(2, 3, "families and values")
    records, families, family_links = link_families(records, current)
    records, families, family_links, last_family = _stable_families(
        records, families, family_links, previous
    )
    result = _result(
        order, current, records, families, family_links, links, conflicts, linkers, previous
    )
    changes = _changes(previous, result, diffs)
    result.summary.update(
        {
            "last_person_id": last_person,
            "last_family_id": last_family,
            "reference_date": (reference_date or dt.date.today()).isoformat(),
            "update": _change_counts(changes),
            "seconds": {"update": round(time.perf_counter() - start, 3)},
        }
    )
    report(3, 3, "done")
    return result, current, changes


# --- diff ----------------------------------------------------------------------------


def diff_records(old: pd.DataFrame, new: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Each record of two exports of one source by ``record_id``: ``status``
    (``unchanged``, ``changed``, ``new``, ``removed``) and ``columns`` (the compared
    columns whose values differ, ``;``-joined; empty unless changed).

    Values are compared as they are (missing equals missing); a column absent from one
    export counts as missing there.

    Examples
    --------
    >>> old = pd.DataFrame({"record_id": ["1", "2", "3"], "full_name": ["a", "b", None]})
    >>> new = pd.DataFrame({"record_id": ["2", "3", "4"], "full_name": ["c", None, "d"]})
    >>> diff_records(old, new, ["full_name"]).to_dict("list")["status"]
    ['removed', 'changed', 'unchanged', 'new']
    """
    old_ids = old["record_id"].astype("string")
    new_ids = new["record_id"].astype("string")
    ids = pd.Index(old_ids).append(pd.Index(new_ids[~new_ids.isin(old_ids)]))
    at_old = pd.Index(old_ids).get_indexer(ids)
    at_new = pd.Index(new_ids).get_indexer(ids)
    both = (at_old >= 0) & (at_new >= 0)
    differ = pd.DataFrame(index=range(int(both.sum())))
    for col in columns:
        if col not in old and col not in new:
            continue
        a = _values(old, col)[at_old[both]]
        b = _values(new, col)[at_new[both]]
        differ[col] = ~np.asarray(a == b, dtype=bool)
    changed = differ.any(axis=1).to_numpy() if differ.shape[1] else np.zeros(len(differ), bool)
    which = np.full(len(ids), "", dtype=object)
    if differ.shape[1]:
        names = np.array(differ.columns, dtype=object)
        which[np.flatnonzero(both)] = [";".join(names[row]) for row in differ.to_numpy()]
    status = np.select([at_new < 0, at_old < 0], ["removed", "new"], default="unchanged").astype(
        object
    )
    status[np.flatnonzero(both)[changed]] = "changed"
    return pd.DataFrame({"record_id": ids.astype(object), "status": status, "columns": which})


def _values(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column as objects with every missing value None (None == None holds)."""
    if column not in frame:
        return np.full(len(frame), None, dtype=object)
    values = frame[column].astype(object)
    return values.where(values.notna(), None).to_numpy(dtype=object)


def _linkage_columns(linkers: Mapping[tuple[str, str], Linker], name: str) -> list[str]:
    """The columns any saved model involving ``name`` reads, in a stable order."""
    columns: dict[str, None] = {}
    for (a, b), model in sorted(linkers.items()):
        if name in (a, b):
            columns.update(dict.fromkeys(model.columns_read()))
    columns.pop("record_id", None)
    return list(columns)


# --- setup ---------------------------------------------------------------------------


def _order(previous: Assembly, previous_records: Mapping[str, pd.DataFrame]) -> list[str]:
    """The sources in the previous assembly's priority order."""
    saved = list(previous.summary.get("sources", {}))
    if saved and set(saved) == set(previous_records):
        return saved
    return source_order(list(previous_records))


def _ids_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.reset_index(drop=True)
    if "record_id" in out and out["record_id"].dtype != "string":
        out = out.assign(record_id=out["record_id"].astype("string"))
    return out


def _fixed_persons(
    nodes: Nodes, previous: pd.DataFrame, diffs: Mapping[str, pd.DataFrame]
) -> tuple[np.ndarray, np.ndarray]:
    """The previous person of every fixed record (None for pending) and the pending
    mask (new and changed records of the updated sources)."""
    key = previous["source"].astype(str) + "\x1f" + previous["record_id"].astype(str)
    person = pd.Series(previous["person_id"].astype(str).to_numpy(), index=key.to_numpy())
    names = np.array(nodes.names, dtype=object)[nodes.source]
    node_key = pd.Series(names, dtype=str) + "\x1f" + pd.Series(nodes.ids, dtype=str)
    prev = node_key.map(person).to_numpy(dtype=object)
    pending = pd.isna(prev)
    for name, diff in diffs.items():
        changed = diff.loc[diff["status"].eq("changed"), "record_id"]
        at = nodes.of(name, pd.Series(changed, dtype="string"))
        pending[at] = True
    prev = np.where(pending, None, prev)  # type: ignore[call-overload]  # None: stubs lack it
    return prev, pending


# --- links ---------------------------------------------------------------------------


def _model(linkers: Mapping[tuple[str, str], Linker], a: str, b: str) -> Linker:
    if (a, b) not in linkers:
        raise UsageError(f"no saved model for the sources {a!r} and {b!r}: assemble again")
    return linkers[(a, b)]


def _pending_links(
    current: Mapping[str, pd.DataFrame],
    nodes: Nodes,
    pending: np.ndarray,
    linkers: Mapping[tuple[str, str], Linker],
    order: list[str],
) -> pd.DataFrame:
    """Duplicate pairs and cross-source links of the pending records, in the link table
    format of :mod:`~.persons` (``kind``, ``source_a`` .. ``match_probability``)."""
    mine = {n: pending[nodes.offset[n] : nodes.offset[n] + len(current[n])] for n in order}
    tables = [pair_table(_no_pairs(), "", "", "duplicate")]
    for name in order:
        if mine[name].any() and (name, name) in linkers and len(current[name]) > 1:
            model = linkers[(name, name)]
            pairs = model.duplicate_pairs(current[name], threshold=model.threshold)
            ids = set(current[name]["record_id"][mine[name]])
            touch = pairs["record_id_a"].isin(ids) | pairs["record_id_b"].isin(ids)
            tables.append(pair_table(pairs[touch], name, name, "duplicate"))
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            if (mine[a].any() or mine[b].any()) and len(current[a]) and len(current[b]):
                pairs = _pair_links(_model(linkers, a, b), current[a], current[b], mine[a], mine[b])
                tables.append(pair_table(pairs, a, b, "link"))
    return pd.concat(tables, ignore_index=True)


def _no_pairs() -> pd.DataFrame:
    return pd.DataFrame(columns=["record_id_a", "record_id_b", "match_weight", "match_probability"])


def _pair_links(
    model: Linker, left: pd.DataFrame, right: pd.DataFrame, new_left, new_right
) -> pd.DataFrame:
    """One-to-one links (strongest first) among the candidate pairs of the pending
    records of either side, scored on the whole registers."""
    found = []
    if new_left.any():
        found.append(model.link(left[new_left], right, keep_pairs=True).pairs)
    if new_right.any():
        found.append(model.link(left, right[new_right], keep_pairs=True).pairs)
    pairs = pd.concat([p[["left_id", "right_id"]] for p in found if p is not None])
    pairs = pairs.astype("string").drop_duplicates().reset_index(drop=True)
    weight = model.score_pairs(left, right, pairs["left_id"], pairs["right_id"])
    pairs["match_weight"] = weight
    cut = float(np.log2(model.threshold / (1.0 - model.threshold)))
    pairs = pairs[np.nan_to_num(weight, nan=-np.inf) >= cut]
    pairs = pairs.sort_values(
        ["match_weight", "left_id", "right_id"], ascending=[False, True, True], kind="stable"
    )
    pairs = pairs[_one_to_one(pairs["left_id"].to_numpy(), pairs["right_id"].to_numpy())]
    w = pairs["match_weight"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "left_id": pairs["left_id"].to_numpy(dtype=object),
            "right_id": pairs["right_id"].to_numpy(dtype=object),
            "match_weight": w,
            "match_probability": probability(w),
        }
    )


def _one_to_one(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Keep, in the given (strongest first) order, pairs whose two records are free."""
    used_left: set[Any] = set()
    used_right: set[Any] = set()
    keep = np.zeros(len(left), dtype=bool)
    for k, (x, y) in enumerate(zip(left.tolist(), right.tolist(), strict=True)):
        if x not in used_left and y not in used_right:
            used_left.add(x)
            used_right.add(y)
            keep[k] = True
    return keep


def _carried_links(
    before: pd.DataFrame, nodes: Nodes, pending: np.ndarray, new: pd.DataFrame
) -> pd.DataFrame:
    """The previous links between fixed records (outcome kept), then the new links
    (outcome to decide); a ``new`` column tells them apart."""
    old = before.copy()
    a, b = _find(nodes, old, "a"), _find(nodes, old, "b")
    keep = (a >= 0) & (b >= 0)
    keep[keep] = ~pending[a[keep]] & ~pending[b[keep]]
    old = old[keep].assign(new=False)
    for side in ("a", "b"):
        old[f"record_id_{side}"] = old[f"record_id_{side}"].astype(str).astype(object)
    new = new.assign(outcome="", new=True)
    return pd.concat([old[new.columns], new], ignore_index=True)


# --- clustering ----------------------------------------------------------------------


def _cluster(
    nodes: Nodes,
    prev_person: np.ndarray,
    links: pd.DataFrame,
    score: Callable[[str, str, np.ndarray, np.ndarray], np.ndarray],
    veto_probability: float,
    max_group: int,
    rounds: int = 3,
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame, dict[tuple[int, int], float]]:
    """Person root of each record, duplicate groups, links with outcomes, and the
    direct comparisons made (by the rule of the module notes)."""
    is_new = links["new"].to_numpy(dtype=bool)
    is_dup = links["kind"].eq("duplicate").to_numpy() & is_new
    is_link = links["kind"].eq("link").to_numpy()
    a, b = _find(nodes, links, "a"), _find(nodes, links, "b")
    weight = links["match_weight"].to_numpy(dtype=float)
    groups, anchored, dup_outcome = _groups(nodes, prev_person, a, b, weight, is_dup, max_group)
    ga, gb = groups[a], groups[b]
    order = np.lexsort((gb, ga, -weight))
    order = order[(is_link & is_new)[order]]
    linked = set(zip(ga[is_link].tolist(), gb[is_link].tolist(), strict=True))
    vetoed: dict[int, set[int]] = {}
    checked: dict[tuple[int, int], float] = {}
    for _ in range(rounds):
        person, outcome = _greedy(nodes, groups, prev_person, ga, gb, order, vetoed)
        new = _checks(nodes, groups, anchored, person, linked, checked, score)
        fresh = [(x, y) for (x, y), p in new.items() if p < veto_probability]
        if not fresh:
            break
        for x, y in fresh:
            vetoed.setdefault(x, set()).add(y)
            vetoed.setdefault(y, set()).add(x)
    out = links.copy()
    decided = np.where(is_dup, dup_outcome, outcome)
    out["outcome"] = np.where(is_new, decided, out["outcome"].to_numpy(dtype=object))
    return person[groups], groups, out, checked


def _find(nodes: Nodes, links: pd.DataFrame, side: str) -> np.ndarray:
    """Node of each link's record on one side; -1 where it is not a current record."""
    out = np.full(len(links), -1, dtype=np.int64)
    for name, rows in links.groupby(f"source_{side}", sort=False).indices.items():
        if name in nodes.index:
            at = nodes.index[name].get_indexer(
                links[f"record_id_{side}"].iloc[rows].astype("string")  # type: ignore[arg-type]
            )
            out[rows] = np.where(at >= 0, at + int(nodes.offset[name]), -1)
    return out


def _groups(
    nodes: Nodes,
    prev_person: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    weight: np.ndarray,
    is_dup: np.ndarray,
    max_group: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Duplicate groups: a person's fixed records of one source are one group; pending
    duplicate pairs join groups strongest first, never two groups holding fixed records
    and never past ``max_group``. Returns the groups, which hold fixed records, and the
    outcome of every duplicate pair."""
    n = len(nodes)
    parent = np.arange(n)
    fixed = np.flatnonzero(pd.notna(prev_person))
    key = (
        pd.Series(prev_person[fixed].astype(str))
        + "\x1f"
        + pd.Series(nodes.source[fixed]).astype(str)
    )
    first = pd.Series(fixed).groupby(key.to_numpy()).transform("min").to_numpy()
    parent[fixed] = first
    size = np.bincount(parent, minlength=n)
    anchored = np.zeros(n, dtype=bool)
    anchored[first] = True
    outcome = np.full(len(a), "", dtype=object)
    for i in np.lexsort((b, a, -weight)):
        if not is_dup[i]:
            continue
        ra, rb = root(parent, int(a[i])), root(parent, int(b[i]))
        if ra == rb:
            continue
        if anchored[ra] and anchored[rb]:
            outcome[i] = "merge_refused"
        elif size[ra] + size[rb] > max_group:
            outcome[i] = "group_full"
        else:
            ra, rb = min(ra, rb), max(ra, rb)
            parent[rb] = ra
            size[ra] += size[rb]
            anchored[ra] |= anchored[rb]
    groups = roots(parent)
    outcome[is_dup & (groups[np.maximum(a, 0)] == groups[np.maximum(b, 0)])] = "joined"
    return groups, anchored[groups], outcome


def _greedy(
    nodes: Nodes,
    groups: np.ndarray,
    prev_person: np.ndarray,
    ga: np.ndarray,
    gb: np.ndarray,
    order: np.ndarray,
    vetoed: Mapping[int, set[int]],
) -> tuple[np.ndarray, np.ndarray]:
    """Existing persons as they were, then the new links strongest first under the
    constraints of :mod:`.persons` (one record per source, vetoes), never merging two
    existing persons."""
    parent = np.arange(len(nodes))
    fixed = np.flatnonzero(pd.notna(prev_person))
    heads = pd.Series(groups[fixed]).groupby(prev_person[fixed].astype(str)).transform("min")
    parent[groups[fixed]] = heads.to_numpy()
    existing = np.zeros(len(nodes), dtype=bool)
    existing[heads.to_numpy()] = True
    # duplicates were grouped before: no pair may share a source
    shared = np.zeros(len(ga), dtype=np.int64)
    return persons_greedy(nodes, groups, ga, gb, order, vetoed, shared, parent, existing)


def _checks(
    nodes: Nodes,
    groups: np.ndarray,
    anchored: np.ndarray,
    person: np.ndarray,
    linked: set[tuple[int, int]],
    checked: dict[tuple[int, int], float],
    score: Callable[[str, str, np.ndarray, np.ndarray], np.ndarray],
) -> dict[tuple[int, int], float]:
    """Directly score the pairs of groups (at least one of them new) that share a
    person without a link between them; returns the pairs newly scored."""
    rep = np.flatnonzero(np.bincount(groups, minlength=len(nodes)))  # np.unique is slow
    table = pd.DataFrame(
        {"person": person[rep], "group": rep, "source": nodes.source[rep], "old": anchored[rep]}
    )
    size = table.groupby("person")["group"].transform("size")
    fresh = (~table["old"]).groupby(table["person"]).transform("any")
    multi = table[(size >= 3) & fresh]
    if multi.empty:
        return {}
    pairs = multi.merge(multi, on="person", suffixes=("_a", "_b"))
    pairs = pairs[(pairs["source_a"] < pairs["source_b"]) & ~(pairs["old_a"] & pairs["old_b"])]
    todo = [
        (x, y)
        for x, y in zip(pairs["group_a"].tolist(), pairs["group_b"].tolist(), strict=True)
        if (x, y) not in linked and (y, x) not in linked and (x, y) not in checked
    ]
    frame = pd.DataFrame(todo, columns=["x", "y"])
    frame["sa"], frame["sb"] = nodes.source[frame["x"]], nodes.source[frame["y"]]
    new: dict[tuple[int, int], float] = {}
    for (sa, sb), rows in frame.groupby(["sa", "sb"]):
        # sa, sb: ints (source numbers); the stubs type a group key as Hashable
        p = score(nodes.names[sa], nodes.names[sb], nodes.ids[rows["x"]], nodes.ids[rows["y"]])  # type: ignore[call-overload]
        pairs_xy = zip(rows["x"].tolist(), rows["y"].tolist(), strict=True)
        new.update(zip(pairs_xy, p.tolist(), strict=True))
    checked.update(new)
    return new


# --- ids and tables ------------------------------------------------------------------


_ID_NUMBER = re.compile(r"^[PF](\d+)$")


def _number(ids: pd.Series | np.ndarray) -> int:
    """The highest number among ids like ``P0000000012`` (0 for none)."""
    found = pd.Series(ids, dtype="string").str.extract(_ID_NUMBER.pattern)[0].dropna()
    return int(found.astype(int).max()) if len(found) else 0


def _person_ids(
    nodes: Nodes, person: np.ndarray, prev_person: np.ndarray, previous: Assembly
) -> tuple[np.ndarray, int]:
    """The DTSEN person id of every record and the highest person number issued."""
    frame = pd.DataFrame({"root": person, "prev": prev_person})
    existing = frame.dropna(subset=["prev"]).groupby("root")["prev"].first()
    ids = pd.Series(person).map(existing).to_numpy(dtype=object)
    # a new person of changed records takes back their old id when it is free
    old = previous.records.assign(
        _key=previous.records["source"].astype(str)
        + "\x1f"
        + previous.records["record_id"].astype(str)
    ).set_index("_key")["person_id"]
    names = np.array(nodes.names, dtype=object)[nodes.source]
    node_old = (pd.Series(names, dtype=str) + "\x1f" + pd.Series(nodes.ids, dtype=str)).map(old)
    free = pd.isna(ids) & node_old.notna().to_numpy()
    votes = pd.DataFrame({"root": person[free], "old": node_old.to_numpy()[free]})
    votes = votes[~votes["old"].isin(set(existing))]
    votes = votes.groupby(["root", "old"]).size().rename("n").reset_index()
    votes = votes.sort_values(["n", "old", "root"], ascending=[False, True, True])
    taken = _greedy_match(votes["root"].tolist(), votes["old"].tolist())
    ids = np.where(pd.isna(ids), pd.Series(person).map(taken).to_numpy(dtype=object), ids)
    last = max(
        _number(previous.persons["person_id"]), int(previous.summary.get("last_person_id", 0))
    )
    roots = pd.unique(person[pd.isna(ids)])  # in record order
    fresh = {int(r): f"P{last + k:010d}" for k, r in enumerate(roots, start=1)}
    ids = np.where(pd.isna(ids), pd.Series(person).map(fresh).to_numpy(dtype=object), ids)
    return ids.astype(object), last + len(roots)


def _greedy_match(keys: list[Any], values: list[Any]) -> dict[Any, Any]:
    """Key -> value, in the given order, each key and each value used once."""
    out: dict[Any, Any] = {}
    used: set[Any] = set()
    for key, value in zip(keys, values, strict=True):
        if key not in out and value not in used:
            out[key] = value
            used.add(value)
    return out


def _records_table(
    nodes: Nodes, groups: np.ndarray, ids: np.ndarray, links: pd.DataFrame
) -> pd.DataFrame:
    """One row per record: its person, duplicate group and strongest joining link."""
    joined = links["outcome"].eq("joined").to_numpy()
    strongest = np.zeros(len(nodes))
    for side in ("a", "b"):
        at = _find(nodes, links, side)[joined]
        np.maximum.at(strongest, at, links["match_probability"].to_numpy(dtype=float)[joined])
    alone = pd.Series(ids).map(pd.Series(ids).value_counts()).to_numpy() == 1
    return pd.DataFrame(
        {
            "source": np.array(nodes.names, dtype=object)[nodes.source],
            "record_id": nodes.ids,
            "person_id": ids,
            "duplicate_of": np.where(groups != np.arange(len(nodes)), nodes.ids[groups], None),
            "link_probability": np.where(alone, np.nan, strongest),
        }
    )


def _linking_conflicts(
    nodes: Nodes,
    groups: np.ndarray,
    person: np.ndarray,
    ids: np.ndarray,
    links: pd.DataFrame,
    checked: Mapping[tuple[int, int], float],
    veto_probability: float,
) -> pd.DataFrame:
    """Collisions, transitive refusals and kept transitive persons of the new links
    (as :mod:`~.persons` reports them), and the links refused because they would merge
    two existing persons (``collision``)."""
    a, b = _find(nodes, links, "a"), _find(nodes, links, "b")
    ga, gb = groups[np.maximum(a, 0)], groups[np.maximum(b, 0)]
    outcome = links["outcome"].to_numpy(dtype=object)
    fresh = np.where(links["new"].to_numpy(dtype=bool), outcome, "")
    standard = veto_conflicts(
        nodes, groups, person, links, ga, gb, fresh, checked, veto_probability
    )
    merge = np.flatnonzero((fresh == "merge_refused") & links["kind"].eq("link").to_numpy())
    refused = pd.DataFrame(
        {
            "kind": "collision",
            "group": person[ga[merge]],
            "field": pd.NA,
            "detail": [
                f"link {links['source_a'].iat[i]} - {links['source_b'].iat[i]} refused in an "  # type: ignore[index]  # stubs: int only
                "update: both records belong to existing persons (an update does not merge "
                "persons)"
                for i in merge
            ],
            "record_ids": [";".join(sorted([nodes.ids[ga[i]], nodes.ids[gb[i]]])) for i in merge],
        },
        columns=["kind", "group", "field", "detail", "record_ids"],
    )
    both = pd.concat([p for p in (standard, refused) if len(p)] or [refused], ignore_index=True)
    both.insert(1, "person_id", ids[both.pop("group").to_numpy(dtype=np.int64)])
    return both[["kind", "person_id", "field", "detail", "record_ids"]]


def _kept_conflicts(conflicts: pd.DataFrame, diffs: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The previous linking conflicts none of whose records was removed or changed."""
    columns = ["kind", "person_id", "field", "detail", "record_ids"]
    gone: set[object] = set()
    for diff in diffs.values():
        gone.update(diff.loc[diff["status"].isin(["changed", "removed"]), "record_id"])
    linking = conflicts[conflicts["kind"].ne("field")]
    parts = linking["record_ids"].astype(str).str.split(";")
    keep = ~parts.map(lambda ids: bool(gone.intersection(ids))).astype(bool)
    return linking.loc[keep, columns].reset_index(drop=True)


def _stable_families(
    records: pd.DataFrame,
    families: pd.DataFrame,
    family_links: pd.DataFrame,
    previous: Assembly,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Recomputed families renamed to the previous family id most of their persons had
    (ties: smallest id; each id once), others numbered after the highest issued."""
    before = previous.records.drop_duplicates("person_id").set_index("person_id")["family_id"]
    persons = records.drop_duplicates("person_id")[["person_id", "family_id"]]
    votes = persons.assign(old=persons["person_id"].map(before)).dropna(subset=["old"])
    votes = votes.groupby(["family_id", "old"]).size().rename("n").reset_index()
    votes = votes.sort_values(["n", "old", "family_id"], ascending=[False, True, True])
    rename = _greedy_match(votes["family_id"].tolist(), votes["old"].tolist())
    last = max(
        _number(previous.families["family_id"]), int(previous.summary.get("last_family_id", 0))
    )
    unmatched = [f for f in sorted(families["family_id"].astype(str)) if f not in rename]
    rename.update({f: f"F{last + k:010d}" for k, f in enumerate(unmatched, start=1)})

    def renamed(column: pd.Series) -> pd.Series:
        return column.astype("string").map(rename).astype("string")

    records = records.assign(family_id=renamed(records["family_id"]))
    families = families.assign(family_id=renamed(families["family_id"]))
    families = families.sort_values("family_id", kind="stable").reset_index(drop=True)
    family_links = family_links.assign(family_id=renamed(family_links["family_id"]))
    return records, families, family_links, last + len(unmatched)


def _result(
    order: list[str],
    current: Mapping[str, pd.DataFrame],
    records: pd.DataFrame,
    families: pd.DataFrame,
    family_links: pd.DataFrame,
    links: pd.DataFrame,
    linking: pd.DataFrame,
    linkers: Mapping[tuple[str, str], Linker],
    previous: Assembly,
) -> Assembly:
    """The updated assembly, its persons, conflicts, transitions and summary built as
    :func:`~.build.assemble` builds them (private helpers of :mod:`.build`)."""
    summary = person_summary({n: current[n] for n in order}, records, links, linking)
    people = PersonLinks(records, links, linking, dict(linkers), summary)
    persons = build._persons(records, people, current, order)
    conflicts = build._conflicts(people, records, current, order)
    scores = _carried_scores(previous.scores, families)
    report = None
    if PREVIOUS in order and order[0] != PREVIOUS:
        cutoff = int(previous.summary.get("cutoff_desil", 4))
        report = transitions.transitions(
            family_links, families, scores, source=PREVIOUS, cutoff_desil=cutoff
        )
    out_summary = build._summary(
        people, records, persons, families, family_links, conflicts, report
    )
    if "input" in previous.summary:
        out_summary["input"] = previous.summary["input"]
    return Assembly(
        records,
        persons,
        families,
        family_links,
        conflicts,
        links,
        report,
        scores,
        out_summary,
        dict(linkers),
    )


def _carried_scores(scores: pd.DataFrame | None, families: pd.DataFrame) -> pd.DataFrame | None:
    """The previous run's family scores for the families that are still there (their ids
    are stable); families new in this update have none until the next full run."""
    if scores is None:
        return None
    return scores[scores["family_id"].isin(families["family_id"])].reset_index(drop=True)


# --- changes -------------------------------------------------------------------------


def _changes(
    previous: Assembly, result: Assembly, diffs: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    """The ``changes`` table of the module notes, sorted by level, source and id."""
    parts = [
        _record_changes(previous, result, diffs),
        _person_changes(previous.records, result.records),
        _family_changes(previous.records, result.records),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=CHANGE_COLUMNS).astype("string")
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(
        ["level", "source", "record_id", "person_id", "family_id", "change"],
        key=lambda c: c.map(_LEVELS) if c.name == "level" else c.fillna(""),
        kind="stable",
    )
    return out[CHANGE_COLUMNS].astype("string").reset_index(drop=True)


def _record_changes(
    previous: Assembly, result: Assembly, diffs: Mapping[str, pd.DataFrame]
) -> pd.DataFrame:
    rows = []
    where = {"previous": previous.records, "current": result.records}
    for name, diff in diffs.items():
        moved = diff[diff["status"].isin(["new", "changed", "removed"])].copy()
        for label, table in where.items():
            mine = table[table["source"].eq(name)]
            mine = mine.set_index(mine["record_id"].astype(str))
            moved[f"{label}_person"] = moved["record_id"].map(mine["person_id"])
            moved[f"{label}_family"] = moved["record_id"].map(mine["family_id"])
        gone = moved["status"].eq("removed")
        detail = np.select(
            [
                gone,
                moved["status"].eq("new"),
                moved["previous_person"].eq(moved["current_person"]).fillna(False).astype(bool),
            ],
            [
                "no longer in the export",
                "new in the export",
                "changed columns: " + moved["columns"] + "; same person",
            ],
            default="changed columns: "
            + moved["columns"]
            + "; moved from "
            + moved["previous_person"].astype(str),
        )
        rows.append(
            pd.DataFrame(
                {
                    "level": "record",
                    "source": name,
                    "record_id": moved["record_id"],
                    "person_id": moved["previous_person"].where(gone, moved["current_person"]),
                    "family_id": moved["previous_family"].where(gone, moved["current_family"]),
                    "change": moved["status"],
                    "detail": detail,
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=CHANGE_COLUMNS)


def _person_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """created / joined / left / removed, from who holds which record before and after."""
    cols = ["source", "record_id", "person_id"]
    old = before[cols].astype(str)
    new = after[cols].astype(str)
    both = old.merge(new, how="outer", on=cols, indicator=True)
    moved = both[both["_merge"].ne("both")]
    old_ids, new_ids = set(old["person_id"]), set(new["person_id"])
    family = pd.concat(
        [
            before.drop_duplicates("person_id").set_index("person_id")["family_id"],
            after.drop_duplicates("person_id").set_index("person_id")["family_id"],
        ]
    )
    family = family[~family.index.duplicated(keep="last")]
    rows = []
    for side, change in (("right_only", "joined"), ("left_only", "left")):
        part = moved[moved["_merge"].eq(side)]
        per = part.groupby("person_id")["source"].agg(lambda s: "+".join(sorted(set(s))))
        kind = pd.Series(change, index=per.index, dtype=object)
        if change == "joined":
            kind[~per.index.isin(list(old_ids))] = "created"
        else:
            kind[~per.index.isin(list(new_ids))] = "removed"
        verb = "gained" if change == "joined" else "lost"
        rows.append(
            pd.DataFrame(
                {
                    "level": "person",
                    "source": pd.NA,
                    "record_id": pd.NA,
                    "person_id": per.index,
                    "family_id": per.index.map(family),
                    "change": kind.to_numpy(),
                    "detail": f"{verb} records of " + per.to_numpy(dtype=object),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _family_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """created / changed / removed families, by the persons they hold."""
    old = before[["family_id", "person_id"]].astype(str).drop_duplicates()
    new = after[["family_id", "person_id"]].astype(str).drop_duplicates()
    both = old.merge(new, how="outer", on=["family_id", "person_id"], indicator=True)
    counts = pd.crosstab(both["family_id"], both["_merge"]).reindex(
        columns=["left_only", "right_only", "both"], fill_value=0
    )
    counts = counts[(counts["left_only"] > 0) | (counts["right_only"] > 0)]
    existed = counts.index.isin(list(set(old["family_id"])))
    remains = counts.index.isin(list(set(new["family_id"])))
    change = np.select([~existed, ~remains], ["created", "removed"], default="changed")
    detail = (
        "+"
        + counts["right_only"].astype(str)
        + " persons, -"
        + counts["left_only"].astype(str)
        + " persons"
    )
    return pd.DataFrame(
        {
            "level": "family",
            "source": pd.NA,
            "record_id": pd.NA,
            "person_id": pd.NA,
            "family_id": counts.index,
            "change": change,
            "detail": detail.to_numpy(),
        }
    )


def _change_counts(changes: pd.DataFrame) -> dict[str, dict[str, int]]:
    counts = changes.groupby(["level", "change"]).size()
    return {
        str(level): {str(k): int(v) for k, v in counts[level].items()}
        for level in counts.index.get_level_values(0).unique()
    }


# --- files ---------------------------------------------------------------------------


def load_models(run_dir: str | Path) -> dict[tuple[str, str], Linker]:
    """The fitted models of a run folder's ``models/<a>__<b>.json``, keyed ``(a, b)``."""
    out = {}
    for path in sorted((Path(run_dir) / "models").glob("*.json")):
        a, sep, b = path.stem.partition("__")
        if not sep:
            raise InputError("a model file is not named <a>__<b>.json", file=path)
        out[(a, b)] = Linker.load(path)
    return out


def update_files(
    run_dir: str | Path,
    sources: Sequence[Source],
    out_dir: str | Path,
    *,
    reference_date: dt.date | None = None,
    progress: Progress | None = None,
    command: Sequence[str] | Mapping[str, Any] | None = None,
) -> Assembly:
    """Apply new exports of some sources to the assembly in ``run_dir`` and write the
    updated run folder to ``out_dir`` (as :func:`~.files.write_assembly` writes it, plus
    ``changes.csv``); ``run_dir`` is not modified.

    ``reference_date`` defaults to the previous run's (its records were standardised at
    it). Rows refused by standardisation replace the updated sources' rows of
    ``rejected.csv``.

    Raises
    ------
    UsageError
        ``out_dir`` is ``run_dir``, a source is given twice or is not in the assembly.
    InputError
        ``run_dir`` is not a whole assemble run folder, or an export has no usable row.
    """
    folder = Path(run_dir)
    if Path(out_dir).resolve() == folder.resolve():
        raise UsageError("must not be the run folder updated", option="--out", file=out_dir)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise UsageError(f"each source needs its own name, got {names}", option="--source")
    previous, records = read_assembly(folder)
    linkers = load_models(folder)
    saved = previous.summary.get("reference_date")
    day = reference_date or (dt.date.fromisoformat(saved) if saved else dt.date.today())
    new, rejected, counts = standardise_sources(sources, day)
    result, current, changes = update_assembly(
        previous, records, new, linkers=linkers, reference_date=day, progress=progress
    )
    result.summary["input"] = {**previous.summary.get("input", {}), **counts}
    result.summary["updated_from"] = str(folder)
    before = folder / "rejected.csv"
    kept = restore_formulas(read_table(before)) if before.exists() else pd.DataFrame()
    if len(kept):
        kept = kept[~kept["source"].isin(names)]
    rejected_rows = pd.concat([kept, *rejected], ignore_index=True)
    # the ids are stable, so the worklists already sent stay valid: keep the key
    key = (folder / KEY_FILE).read_bytes() if (folder / KEY_FILE).is_file() else None
    write_assembly(
        result,
        out_dir,
        standardised=current,
        rejected=rejected_rows,
        command=command,
        key=key,
        extra_tables={CHANGES_FILE: changes},
    )
    return result


__all__ = [
    "CHANGES_FILE",
    "CHANGE_COLUMNS",
    "diff_records",
    "load_models",
    "update_assembly",
    "update_files",
]
