"""One call from standardised source registers to the assembled DTSEN register.

:func:`assemble` chains the stages of the package (persons -> families -> register
values -> scores -> transitions) on tables in memory; :mod:`.files` runs it on
files and writes the run folder.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from bansos_linkage.assembly import register, transitions
from bansos_linkage.assembly.families import link_families, source_lists
from bansos_linkage.assembly.persons import VETO_PROBABILITY, PersonLinks, link_persons
from bansos_linkage.errors import UsageError
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.progress import Progress

#: The register DTSEN is built on, when it is among the sources.
BACKBONE = "regsosek"
#: The register whose families the transition report follows, when present.
PREVIOUS = "dtks"


@dataclass
class Assembly:
    """The assembled register: the tables of :mod:`bansos_linkage.assembly` (``records``,
    ``persons``, ``families``, ``family_links``, ``conflicts``), the ``transitions`` of
    the previous register's families (None without it), the families' eligibility
    ``scores`` (None without household variables), every pair considered (``links``)
    and a ``summary``."""

    records: pd.DataFrame
    persons: pd.DataFrame
    families: pd.DataFrame
    family_links: pd.DataFrame
    conflicts: pd.DataFrame
    links: pd.DataFrame
    transitions: pd.DataFrame | None = None
    scores: pd.DataFrame | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    linkers: dict[tuple[str, str], Linker] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        return (
            f"Assembly({len(self.persons)} persons in {len(self.families)} families from "
            f"{len(self.records)} records of {list(self.summary.get('sources', {}))}, "
            f"{len(self.conflicts)} conflicts)"
        )


def source_order(names: Sequence[str], backbone: str | None = None) -> list[str]:
    """The sources in priority order: the backbone first (``regsosek`` when present,
    else the first given), the others as given.

    Examples
    --------
    >>> source_order(["dtks", "p3ke", "regsosek"])
    ['regsosek', 'dtks', 'p3ke']
    """
    names = list(names)
    if backbone is None:
        backbone = BACKBONE if BACKBONE in names else names[0] if names else None
    if backbone not in names:
        raise UsageError(f"the backbone {backbone!r} is not among the sources {names}")
    return [backbone, *(n for n in names if n != backbone)]


def assemble(
    sources: Mapping[str, pd.DataFrame],
    *,
    backbone: str | None = None,
    linker: Linker | None = None,
    dedupe: bool | Sequence[str] = True,
    veto_probability: float = VETO_PROBABILITY,
    pmt: Any = None,
    survey: pd.DataFrame | None = None,
    cutoff_desil: int = 4,
    reference_date: dt.date | None = None,
    progress: Progress | None = None,
) -> Assembly:
    """Assemble standardised source registers (name -> records) into one register.

    ``backbone``: the source DTSEN families are built on (default ``regsosek`` when
    given, else the first source). ``linker``: the unfitted Linker each source pair
    and each deduplication is fitted from. ``dedupe``: the sources that may hold a
    person twice (True: all). With ``pmt`` (a fitted
    :class:`~bansos_linkage.eligibility.ProxyMeansTest`) or a ``survey`` to fit one
    on, families whose backbone records carry household variables are scored and
    ranked; the transition report of the DTKS families then says who is ranked out.

    Examples
    --------
    >>> from bansos_linkage import standardise
    >>> from bansos_linkage.synthetic import generate, scenario
    >>> data = generate(scenario("default", households=120, seed=4))
    >>> day = dt.date(2026, 1, 1)
    >>> sources = {n: standardise(r, n, reference_date=day).records
    ...            for n, r in data.registers.items()}
    >>> dtsen = assemble(sources, linker=Linker(n_jobs=1), reference_date=day)
    >>> len(dtsen.records) == sum(len(r) for r in sources.values())
    True
    >>> dtsen.persons["person_id"].is_unique
    True
    """
    if not sources:
        raise UsageError("no source registers given: assembly needs at least one")
    order = source_order(list(sources), backbone)
    ordered = {name: sources[name] for name in order}
    reference_date = reference_date or dt.date.today()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    people = link_persons(
        ordered,
        linker=linker,
        dedupe=dedupe,
        veto_probability=veto_probability,
        progress=progress,
    )
    seconds["persons"] = time.perf_counter() - start
    start = time.perf_counter()
    records, families, family_links = link_families(people.records, ordered)
    persons = _persons(records, people, ordered, order)
    conflicts = _conflicts(people, records, ordered, order)
    seconds["families_and_values"] = time.perf_counter() - start
    start = time.perf_counter()
    scores = None
    if pmt is not None or survey is not None:
        scores = transitions.score_families(
            families,
            persons,
            records,
            ordered,
            pmt=pmt,
            survey=survey,
            reference_date=reference_date,
            backbone=order[0],
        )
    if scores is not None:  # the register itself carries each family's rank
        ranks = scores.set_index("family_id")[["rank", "desil"]]
        families = families.join(ranks, on="family_id")
    report = None
    if PREVIOUS in ordered and order[0] != PREVIOUS:
        report = transitions.transitions(
            family_links, families, scores, source=PREVIOUS, cutoff_desil=cutoff_desil
        )
    seconds["scores_and_transitions"] = time.perf_counter() - start
    summary = _summary(people, records, persons, families, family_links, conflicts, report)
    summary["seconds"] = {k: round(v, 3) for k, v in seconds.items()}
    summary["cutoff_desil"] = cutoff_desil
    return Assembly(
        records,
        persons,
        families,
        family_links,
        conflicts,
        people.links,
        report,
        scores,
        summary,
        people.linkers,
    )


def _persons(
    records: pd.DataFrame,
    people: PersonLinks,
    sources: Mapping[str, pd.DataFrame],
    order: list[str],
) -> pd.DataFrame:
    """One row per person: family, sources, records, weakest link, chosen values."""
    grouped = records.groupby("person_id", sort=True)
    names = source_lists(records, "person_id", order)
    table = pd.DataFrame(
        {
            "family_id": grouped["family_id"].first(),
            "sources": names,
            "n_records": grouped.size(),
            "weakest_link": _weakest_links(records, people.links),
        }
    )
    table["weakest_link"] = table["weakest_link"].fillna(1.0)
    values = register.person_values(records, sources, order).set_index("person_id")
    return table.join(values).rename_axis("person_id").reset_index()


def _weakest_links(records: pd.DataFrame, links: pd.DataFrame) -> pd.Series:
    """The lowest probability among the links that built each person."""
    joined = links[links["outcome"].eq("joined")]
    person = records.set_index(["source", "record_id"])["person_id"]
    at = pd.MultiIndex.from_arrays([joined["source_a"], joined["record_id_a"]])
    owner = person.reindex(at).to_numpy()
    return pd.Series(joined["match_probability"].to_numpy(), index=owner).groupby(level=0).min()


def _conflicts(
    people: PersonLinks,
    records: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
    order: list[str],
) -> pd.DataFrame:
    """Linking conflicts (collisions, transitive) and field conflicts, with families."""
    family = records.drop_duplicates("person_id").set_index("person_id")["family_id"]
    linking = people.conflicts.copy()
    linking.insert(2, "family_id", linking["person_id"].map(family))
    fields = register.field_conflicts(records, sources, order)
    columns = ["kind", "person_id", "family_id", "field", "detail", "record_ids"]
    parts = [frame[columns] for frame in (linking, fields) if len(frame)]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _summary(
    people: PersonLinks,
    records: pd.DataFrame,
    persons: pd.DataFrame,
    families: pd.DataFrame,
    family_links: pd.DataFrame,
    conflicts: pd.DataFrame,
    report: pd.DataFrame | None,
) -> dict[str, Any]:
    statuses = family_links.groupby(["source", "status"]).size()
    summary = {
        **people.summary,
        "records": len(records),
        "persons": len(persons),
        "families": len(families),
        "family_status": {
            str(s): {str(k): int(v) for k, v in statuses[s].items()}
            for s in statuses.index.get_level_values(0).unique()
        },
        "conflicts": {str(k): int(v) for k, v in conflicts["kind"].value_counts().items()},
        "persons_by_sources": {
            str(k): int(v) for k, v in persons["sources"].value_counts().sort_index().items()
        },
    }
    if report is not None:
        counts = report.groupby(["transition"]).size()
        summary["transitions"] = {str(k): int(v) for k, v in counts.items()}
    return summary


__all__ = [
    "Assembly",
    "BACKBONE",
    "PREVIOUS",
    "assemble",
    "source_order",
]
