"""Eligibility of DTSEN families and the DTKS transition report per village.

Two steps, after the families are assembled:

- :func:`score_families`: every DTSEN family whose members have backbone (Regsosek)
  records is ranked by the proxy means test on the household variables of those
  records (:func:`family_households` builds the household and member tables the
  eligibility scoring expects), giving ``welfare``, a national ``rank`` and
  ``desil``, and one ``eligible_<programme>`` column per programme;
- :func:`transitions` and :func:`transition_summary`: which DTKS families stay,
  drop out (and why), move and which families join, per village, with the counts
  per village, province and nationally.

Transitions
-----------
One row per DTKS family (a ``family_links`` row of the source that is not
``"new"``) and one per joining DTSEN family:

==========  ====================  ===================================================
transition  reason                when
==========  ====================  ===================================================
stay        (null)                found in the backbone, desil <= ``cutoff_desil``
stay        ``not_scored``        found, but its DTSEN family has no desil (no
                                  scores given, or no backbone household variables):
                                  nothing ranks it out, verval decides
drop        ``not_found``         no member found in the backbone (``found == 0``)
drop        ``members_gone``      found, fewer than half its members found
                                  (``2 * found < members``, status ``partial``), and
                                  desil > ``cutoff_desil``
drop        ``ranked_out``        found, desil > ``cutoff_desil`` (and at least half
                                  its members found)
move_out    ``moved``             status ``moved`` to another village and not ranked
                                  out: counted in its old village ...
move_in     ``moved``             ... and again in the village it moved to
join        ``ranked_in_new``     a DTSEN family with no member in DTKS (a ``"new"``
                                  row of ``family_links``), desil <= ``cutoff_desil``
join        ``ranked_in_split``   a DTSEN family with DTKS members that is not the
                                  main family of any DTKS family (split off one),
                                  desil <= ``cutoff_desil``
==========  ====================  ===================================================

Without ``scores`` stay and drop are decided by found / not found only (every found
family stays, with reason ``not_scored``) and nobody joins.

A family is counted in its *own* village: the village of its DTSEN family, except a
family that moved (counted out of its old village, from ``origins`` or the region
columns of ``family_links``, unknown when neither has it) and a family with no DTSEN
family (its old village). Each DTKS family is therefore counted exactly once as
stay, drop or move_out, and the receiving families of a village are its stay,
move_in and join rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.pmt import ProxyMeansTest
from bansos_linkage.eligibility.rules import Programme, load_programmes
from bansos_linkage.errors import InputError, UsageError

log = logging.getLogger(__name__)

#: Region columns of a transition row (where it is counted).
REGION = ("province_code", "regency_code", "district_code", "village_code", "village_name")
#: The codes that identify a village (its name is carried along, not grouped on).
VILLAGE_KEYS = REGION[:4]
TRANSITIONS = ("stay", "drop", "move_out", "move_in", "join")
DROP_REASONS = ("not_found", "members_gone", "ranked_out")
JOIN_REASONS = ("ranked_in_new", "ranked_in_split")
#: Transitions of the families that receive in a village after the change.
RECEIVING = ("stay", "move_in", "join")

#: Columns of standardised records that are person fields or derived from them, not
#: household variables (everything else the backbone's records carry is one).
_PERSON_COLUMNS = frozenset(
    {
        "street",
        "region_scheme",
        "birth_date_precision",
        "source",
        "person_id",
        "family_id",
        "source_family",
        "duplicate_of",
        "link_probability",
        # member fields: they belong to the member table, not the household
        "education",
        "work",
        "disability",
        "pregnant",
        "pregnancy_number",
        "in_school",
        "school_level",
    }
)
_PERSON_PREFIXES = ("name_", "nik_")
_PERSON_SUFFIXES = ("_raw", "_source")
#: Columns of ``persons`` that are not member fields.
_NOT_MEMBER = ("sources", "n_records", "weakest_link")


def eligible_column(programme: str) -> str:
    """The column of a programme's eligibility in score and transition tables.

    Examples
    --------
    >>> [eligible_column(p) for p in ("PKH", "PBI-JK", "BLT Dana Desa")]
    ['eligible_pkh', 'eligible_pbi_jk', 'eligible_blt_dana_desa']
    """
    return "eligible_" + re.sub(r"[^0-9a-z]+", "_", programme.lower()).strip("_")


def household_variables(records: pd.DataFrame) -> list[str]:
    """The columns of standardised records that are household variables: those the
    source carried beyond the person fields (``keep: all`` in its schema).

    Examples
    --------
    >>> cols = ["record_id", "nik", "name_tokens", "nik_raw", "village_code", "toilet"]
    >>> household_variables(pd.DataFrame(columns=cols + ["floor_area_m2"]))
    ['toilet', 'floor_area_m2']
    """
    from bansos_linkage.schema import CANONICAL_FIELDS

    return [
        c
        for c in records.columns
        if c not in CANONICAL_FIELDS
        and c not in _PERSON_COLUMNS
        and not str(c).startswith(_PERSON_PREFIXES)
        and not str(c).endswith(_PERSON_SUFFIXES)
    ]


def family_households(
    families: pd.DataFrame,
    persons: pd.DataFrame,
    records: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
    backbone: str = "regsosek",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Household and member tables of the DTSEN families, as
    :func:`~bansos_linkage.eligibility.score.score_register` takes them.

    A family's household variables are those of the backbone records of its members:
    from the backbone household most of them come from (ties: the smallest household
    key), per column the first value given in record-id order. Families without
    backbone records are left out. Region codes come from ``families``.

    Returns
    -------
    households
        One row per family with backbone records, sorted by id: ``household_id`` (the
        ``family_id``), the region codes, then the household variables.
    members
        The persons of those families: ``household_id``, ``person_id`` and their member
        fields (``sex``, ``birth_date``, ``relationship``, ...).

    Examples
    --------
    >>> fam = pd.DataFrame({"family_id": ["F1", "F2"], "province_code": "33",
    ...     "regency_code": "3302", "district_code": "3302030", "village_code": "3302030002"})
    >>> per = pd.DataFrame({"person_id": ["P1", "P2"], "family_id": ["F1", "F2"],
    ...     "relationship": [1, 1], "birth_date": pd.to_datetime(["1980-01-01"] * 2)})
    >>> rec = pd.DataFrame({"source": "regsosek", "record_id": ["R1", "R2"],
    ...     "person_id": ["P1", "P2"], "family_id": ["F1", "F2"], "source_family": ["K1", "K2"]})
    >>> src = {"regsosek": pd.DataFrame({"record_id": ["R1", "R2"], "toilet": ["umum", "sendiri"]})}
    >>> hh, m = family_households(fam, per, rec, src)
    >>> hh[["household_id", "toilet"]].values.tolist(), len(m)
    ([['F1', 'umum'], ['F2', 'sendiri']], 2)
    """
    raw = sources.get(backbone)
    variables = [] if raw is None else household_variables(raw)
    mine = records.loc[
        (records["source"] == backbone).to_numpy() & records["family_id"].notna().to_numpy(),
        ["record_id", "family_id", "source_family"],
    ]
    family, ids = pd.factorize(mine["family_id"], sort=True)
    keep = _main_household(family, mine["source_family"])
    if variables:
        values = _variables(raw, mine["record_id"][keep], variables)  # type: ignore[arg-type]
        values = values.groupby(family[keep]).first()  # first value given, records' order
    else:
        values = pd.DataFrame(index=np.arange(len(ids)))
    hh = _rows_of(families, ids).reindex(columns=[c for c in VILLAGE_KEYS if c in families])
    hh.insert(0, "household_id", np.asarray(ids, dtype=object))
    hh = pd.concat([hh, values.reindex(np.arange(len(ids))).reset_index(drop=True)], axis=1)
    hh["household_id"] = hh["household_id"].astype("string")
    members = persons.drop(
        columns=[c for c in persons.columns if c in _NOT_MEMBER or str(c).endswith("_source")]
    ).rename(columns={"family_id": "household_id"})
    scored = pd.Index(ids).get_indexer(members["household_id"]) >= 0
    members = members[scored].reset_index(drop=True)
    members["household_id"] = members["household_id"].astype("string")
    return hh, members


def _main_household(family: np.ndarray, source_family: pd.Series) -> np.ndarray:
    """True for the records of each family's main backbone household: the one most of
    its members come from (ties: the smallest household key)."""
    household, _ = pd.factorize(source_family, sort=True)  # missing key: -1, a group too
    pair = family.astype(np.int64) * (household.max(initial=-1) + 2) + household + 1
    pair_code, _ = pd.factorize(pair)
    size = np.bincount(pair_code)[pair_code]
    order = np.lexsort((household, -size, family))
    first = order[np.r_[True, family[order][1:] != family[order][:-1]]] if len(order) else order
    main = np.full(family.max(initial=-1) + 1, -2, dtype=np.int64)
    main[family[first]] = household[first]
    return household == main[family]


def _variables(raw: pd.DataFrame, record_ids: pd.Series, variables: list[str]) -> pd.DataFrame:
    """The household variables of the backbone records, in the order of ``record_ids``
    (missing for a record id not in ``raw``)."""
    index = pd.Index(raw["record_id"])
    if not index.is_unique:  # the hash table get_indexer needs anyway
        raw = raw.drop_duplicates("record_id")
        index = pd.Index(raw["record_id"])
    where = index.get_indexer(record_ids)
    table = raw[variables].reset_index(drop=True)
    return table.reindex(where).reset_index(drop=True)  # -1 is no row: missing


def _rows_of(families: pd.DataFrame, ids) -> pd.DataFrame:
    """The ``families`` rows of the given family ids (missing where unknown)."""
    table = families.drop_duplicates("family_id").reset_index(drop=True)
    return table.reindex(pd.Index(table["family_id"]).get_indexer(ids)).reset_index(drop=True)


def score_families(
    families: pd.DataFrame,
    persons: pd.DataFrame,
    records: pd.DataFrame,
    sources: Mapping[str, pd.DataFrame],
    *,
    pmt: ProxyMeansTest | None = None,
    survey: pd.DataFrame | None = None,
    programmes: Sequence[Programme] | None = None,
    reference_date: dt.date,
    backbone: str = "regsosek",
) -> pd.DataFrame | None:
    """Welfare, national rank, desil and programme eligibility of every DTSEN family.

    Parameters
    ----------
    families, persons, records
        The assembly tables (see :mod:`bansos_linkage.assembly`).
    sources
        Standardised records per source; the backbone's carry the household variables.
    pmt
        A fitted :class:`~bansos_linkage.eligibility.pmt.ProxyMeansTest`; or
    survey
        Households with the same variables and ``per_capita_expenditure`` to fit one
        on (only on the variables the families have).
    programmes
        Rules to apply (default: every built-in programme).
    reference_date
        The date ages are counted at.
    backbone
        The source whose records carry the household variables.

    Returns
    -------
    pandas.DataFrame or None
        None when the backbone has no household variables. Otherwise one row per
        DTSEN family, sorted by id: ``family_id``, ``welfare`` (predicted monthly
        per-capita expenditure, the exponential of the PMT's log prediction),
        ``rank`` (1 = poorest nationally, ties by family id), ``desil`` (national,
        by people) and ``eligible_<programme>`` (:func:`eligible_column`; a person
        programme when any member is eligible). Families without backbone records
        have nulls. Household cells that cannot be read (a floor area that is not a
        number) are set missing, as the ``score`` command does, and only counted in
        the log.
    """
    from bansos_linkage.eligibility.score import prepare_register, score_register

    raw = sources.get(backbone)
    if raw is None or not household_variables(raw):
        log.info("no household variables in %s records: families not scored", backbone)
        return None
    if pmt is None and survey is None:
        raise UsageError(
            "pass pmt (a fitted ProxyMeansTest) or survey (households with "
            "per_capita_expenditure to fit one on)",
            option="pmt",
        )
    programmes = list(load_programmes("all") if programmes is None else programmes)
    hh, members = family_households(families, persons, records, sources, backbone)
    ids = families["family_id"].astype("string").drop_duplicates().sort_values()
    out = _empty_scores(ids, programmes)
    if hh.empty:
        return out
    hh, _, problems = prepare_register(hh, None, reference_date, households_file=backbone)
    if pmt is None:
        pmt = _fit_pmt(survey, hh, members, reference_date)  # type: ignore[arg-type]
    scored = score_register(hh, members, programmes, reference_date, pmt=pmt)
    found = _family_scores(scored, programmes)
    out = out.set_index("family_id")
    out.update(found.set_index("family_id").reindex(columns=out.columns))
    out = out.reset_index().astype(
        {"rank": "Int64", "desil": "Int64"}
        | {eligible_column(p.name): "boolean" for p in programmes}
    )
    log.info(
        "%d of %d families scored; %d household cells unreadable (set missing)",
        len(found),
        len(out),
        len(problems),
    )
    return out


def _empty_scores(ids: pd.Series, programmes: Sequence[Programme]) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "family_id": ids.to_numpy(),
            "welfare": np.nan,
            "rank": pd.array([pd.NA] * len(ids), dtype="Int64"),
            "desil": pd.array([pd.NA] * len(ids), dtype="Int64"),
        }
    )
    for p in programmes:
        out[eligible_column(p.name)] = pd.array([pd.NA] * len(ids), dtype="boolean")
    return out


def _fit_pmt(
    survey: pd.DataFrame, hh: pd.DataFrame, members: pd.DataFrame, reference_date: dt.date
) -> ProxyMeansTest:
    """A PMT fitted on the survey, learning only from variables the families have
    (a variable the register never records cannot tell its households apart)."""
    from bansos_linkage.eligibility.score import pmt_features, prepare_register, with_composition

    train, _, _ = prepare_register(survey, None, reference_date, households_file="survey")
    if "per_capita_expenditure" not in train:
        raise InputError("the survey needs a per_capita_expenditure column", file="survey")
    spent = pd.to_numeric(train["per_capita_expenditure"], errors="coerce")
    train = with_composition(train[(spent > 0).to_numpy()], members, reference_date)
    composed = with_composition(hh, members, reference_date)
    recorded = [c for c in pmt_features(composed).columns if composed[c].notna().any()]
    features = [c for c in pmt_features(train).columns if c in recorded]
    if not features or train.empty:
        raise InputError(
            "the survey shares no household variable with the families, or has no "
            "positive per_capita_expenditure: no PMT to fit",
            file="survey",
        )
    y = np.log(train["per_capita_expenditure"].astype(float))
    return ProxyMeansTest().fit(train[features], y)


def _family_scores(scored, programmes: Sequence[Programme]) -> pd.DataFrame:
    """Welfare, rank, desil and eligibility per family from a scored register."""
    hh = scored.households
    log_welfare = hh["log_welfare"].to_numpy(dtype=float)
    ids = hh["household_id"].astype(str).to_numpy()
    order = np.lexsort((ids, log_welfare))  # poorest first, ties by id
    rank = np.empty(len(hh), dtype=np.int64)
    rank[order] = np.arange(1, len(hh) + 1)
    out = pd.DataFrame(
        {
            "family_id": ids,
            "welfare": np.exp(log_welfare),
            "rank": rank,
            "desil": hh["desil"].to_numpy(dtype=np.int64),
        }
    )
    people = scored.persons
    for p in programmes:
        column = f"eligible:{p.name}"
        if p.level == "household":
            out[eligible_column(p.name)] = hh[column].to_numpy(dtype=bool)
        else:  # a family is eligible when any of its members is
            any_member = people[column].astype(bool).groupby(people["household_id"]).any()
            out[eligible_column(p.name)] = (
                pd.Series(ids).map(any_member).fillna(False).to_numpy(dtype=bool)
            )
    return out


def source_villages(
    records: pd.DataFrame, sources: Mapping[str, pd.DataFrame], source: str = "dtks"
) -> pd.DataFrame:
    """Each source family's own village (where its records place most of its members;
    ties by the smallest code): ``source_family`` and the :data:`REGION` columns, to
    pass as ``origins`` to :func:`transitions`. Codes are in the source's own region
    scheme (``region_scheme``); crosswalk them to the families' scheme first.

    Examples
    --------
    >>> rec = pd.DataFrame({"source": "dtks", "record_id": ["D1", "D2", "D3"],
    ...     "source_family": ["K1", "K1", "K1"]})
    >>> src = {"dtks": pd.DataFrame({"record_id": ["D1", "D2", "D3"],
    ...     "village_code": ["3302030002", "3302030001", "3302030002"]})}
    >>> source_villages(rec, src)[["source_family", "village_code"]].values.tolist()
    [['K1', '3302030002']]
    """
    raw = sources[source]
    columns = [c for c in (*REGION, "region_scheme") if c in raw]
    mine = records.loc[records["source"] == source, ["record_id", "source_family"]]
    mine = mine[mine["source_family"].notna()].astype("string")
    placed = mine.merge(
        raw[["record_id", *columns]].astype({"record_id": "string"}), on="record_id"
    )
    placed = placed[placed["village_code"].notna()] if "village_code" in placed else placed
    keys = ["source_family", *[c for c in VILLAGE_KEYS if c in placed]]
    counts = placed.groupby(keys, dropna=False).size().rename("_n").reset_index()
    placed = placed.merge(counts, on=keys)
    placed = placed.sort_values(
        ["source_family", "_n", *keys[1:], "record_id"],
        ascending=[True, False, *[True] * (len(keys) - 1), True],
        kind="stable",
    )
    first = placed.drop_duplicates("source_family")
    return first[["source_family", *columns]].reset_index(drop=True)


def transitions(
    family_links: pd.DataFrame,
    families: pd.DataFrame,
    scores: pd.DataFrame | None = None,
    *,
    source: str = "dtks",
    cutoff_desil: int = 4,
    origins: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Which families of ``source`` stay, drop out and move, and which families join.

    Parameters
    ----------
    family_links
        The assembly's family links (``source``, ``source_family``, ``family_id``,
        ``status``, ``members``, ``found``).
    families
        The DTSEN families (``family_id`` and the :data:`REGION` columns).
    scores
        :func:`score_families` output (``family_id``, ``desil``,
        ``eligible_<programme>``); without it nobody is ranked in or out.
    source
        The register whose recipients are followed.
    cutoff_desil
        The highest desil that stays or joins (1-10).
    origins
        Each source family's own village (``source_family`` and region columns,
        :func:`source_villages`), where a family that moved is counted out. When not
        given, region columns of ``family_links`` serve, if it has them.

    Returns
    -------
    pandas.DataFrame
        One row per source family (two for a family that moved) and per joining
        family: the :data:`REGION` columns where it counts, ``source_family`` (null
        for a joiner), ``family_id``, ``transition``, ``reason`` (see the module
        table), ``status``, ``desil``, ``other_village_code`` (for a move: the village
        at the other end) and the ``eligible_<programme>`` columns of ``scores``.

    Examples
    --------
    >>> fam = pd.DataFrame({"family_id": ["F1", "F2", "F3"], "province_code": "33",
    ...     "regency_code": "3302", "district_code": "3302030",
    ...     "village_code": "3302030002", "village_name": "GUNUNGWETAN"})
    >>> links = pd.DataFrame({"source": "dtks", "source_family": ["K1", "K2", None],
    ...     "family_id": ["F1", "F2", "F3"], "status": ["same", "not_found", "new"],
    ...     "members": [3, 2, 4], "found": [3, 0, 0]})
    >>> scores = pd.DataFrame({"family_id": ["F1", "F2", "F3"], "desil": [2, 1, 3]})
    >>> t = transitions(links, fam, scores)
    >>> t[["family_id", "transition", "reason"]].values.tolist()
    [['F1', 'stay', <NA>], ['F2', 'drop', 'not_found'], ['F3', 'join', 'ranked_in_new']]
    """
    if not 1 <= int(cutoff_desil) <= 10:
        raise UsageError("expected a desil from 1 to 10", option="cutoff_desil")
    if scores is not None and "desil" not in scores:
        raise UsageError("scores need a desil column (score_families)", option="scores")
    links = family_links[(family_links["source"] == source).to_numpy()]
    is_new = (links["status"] == "new").to_numpy()
    place = _places(families)
    ranked = _ranked(scores)
    followed = _followed(links[~is_new], place, ranked, origins, cutoff_desil)
    joining = _joining(links, families, place, ranked, cutoff_desil)
    out = pd.concat([followed, joining], ignore_index=True)
    out = _ordered(out, ranked)
    counts = out["transition"].value_counts()
    log.info(
        "%s families: %s",
        source,
        ", ".join(f"{counts.get(t, 0)} {t}" for t in TRANSITIONS),
    )
    return out


def _places(families: pd.DataFrame) -> pd.DataFrame:
    """The region columns of each DTSEN family, indexed by family id."""
    table = families.drop_duplicates("family_id")
    table = table.set_index(table["family_id"].astype("string"))
    return table.reindex(columns=list(REGION))


def _ranked(scores: pd.DataFrame | None) -> pd.DataFrame:
    """``desil`` and the eligibility columns per family id (empty without scores)."""
    if scores is None:
        return pd.DataFrame(
            {"desil": pd.array([], dtype="Int64")}, index=pd.Index([], dtype="string")
        )
    columns = ["desil", *[c for c in scores.columns if str(c).startswith("eligible_")]]
    table = scores.drop_duplicates("family_id")
    table = table.set_index(table["family_id"].astype("string"))[columns]
    return table.astype({"desil": "Int64"})


def _followed(
    links: pd.DataFrame,
    place: pd.DataFrame,
    ranked: pd.DataFrame,
    origins: pd.DataFrame | None,
    cutoff: int,
) -> pd.DataFrame:
    """Stay, drop or move of every family of the followed source."""
    family = links["family_id"].astype("string").reset_index(drop=True)
    new_place = place.reindex(family).reset_index(drop=True)
    old_place = _origins(links, origins).reset_index(drop=True)
    members = pd.to_numeric(links["members"], errors="coerce").fillna(0).to_numpy()
    found_n = pd.to_numeric(links["found"], errors="coerce").fillna(0).to_numpy()
    status = links["status"].astype("string").reset_index(drop=True)
    desil = ranked["desil"].reindex(family).reset_index(drop=True)
    found = found_n > 0
    out_of_rank = (desil > cutoff).fillna(False).to_numpy(dtype=bool)
    moved = status.eq("moved").fillna(False).to_numpy(dtype=bool)
    same_village = (
        (old_place["village_code"].astype("string") == new_place["village_code"].astype("string"))
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    moved &= ~same_village & found & ~out_of_rank
    # counted where it was a recipient: its old village when it moved or has no family
    at_home = (status.eq("moved").fillna(False) | family.isna()).to_numpy(dtype=bool)
    home = new_place.astype(object)
    home.loc[at_home] = old_place.loc[at_home].astype(object).to_numpy()
    transition = np.select([~found, out_of_rank, moved], ["drop", "drop", "move_out"], "stay")
    reason = np.select(  # type: ignore[call-overload]
        [
            ~found,
            out_of_rank & (2 * found_n < members),
            out_of_rank,
            moved,
            desil.isna().to_numpy(),
        ],
        ["not_found", "members_gone", "ranked_out", "moved", "not_scored"],
        None,
    )
    rows = home.assign(
        source_family=links["source_family"].astype("string").to_numpy(),
        family_id=family.to_numpy(),
        transition=transition,
        reason=reason,
        status=status.to_numpy(),
        other_village_code=np.where(moved, new_place["village_code"].astype(object), None),  # type: ignore[call-overload]
    )
    arrived = new_place[moved].assign(
        source_family=rows.loc[moved, "source_family"].to_numpy(),
        family_id=rows.loc[moved, "family_id"].to_numpy(),
        transition="move_in",
        reason="moved",
        status=rows.loc[moved, "status"].to_numpy(),
        other_village_code=home.loc[moved, "village_code"].astype(object).to_numpy(),
    )
    return pd.concat([rows, arrived], ignore_index=True)


def _origins(links: pd.DataFrame, origins: pd.DataFrame | None) -> pd.DataFrame:
    """Each followed family's own village, from ``origins`` or the links' own columns."""
    if origins is not None:
        table = origins.drop_duplicates("source_family")
        table = table.set_index(table["source_family"].astype("string"))
        return table.reindex(columns=list(REGION)).reindex(links["source_family"].astype("string"))
    return links.reindex(columns=list(REGION))


def _joining(
    links: pd.DataFrame,
    families: pd.DataFrame,
    place: pd.DataFrame,
    ranked: pd.DataFrame,
    cutoff: int,
) -> pd.DataFrame:
    """DTSEN families that are no followed family's main family and are ranked in."""
    ids = pd.Index(families["family_id"].astype("string").drop_duplicates())
    is_new = (links["status"] == "new").to_numpy()
    followed = links.loc[~is_new, "family_id"].astype("string").dropna()
    candidates = ids[~_within(ids, followed)]
    desil = ranked["desil"].reindex(candidates)
    chosen = candidates[(desil <= cutoff).fillna(False).to_numpy(dtype=bool)]
    new = _within(chosen, links.loc[is_new, "family_id"].astype("string").dropna())
    rows = place.reindex(chosen).reset_index(drop=True)
    return rows.assign(
        source_family=pd.Series(pd.NA, index=rows.index, dtype="string"),
        family_id=chosen.to_numpy(),
        transition="join",
        reason=np.where(new, "ranked_in_new", "ranked_in_split"),
        status=np.where(new, "new", None),  # type: ignore[call-overload]
        other_village_code=None,
    )


def _within(values: pd.Index, universe: pd.Series) -> np.ndarray:
    """``values.isin(universe)`` by hashing (``isin`` on text can loop in Python)."""
    return pd.Index(universe.unique()).get_indexer(values) >= 0


def _ordered(out: pd.DataFrame, ranked: pd.DataFrame) -> pd.DataFrame:
    """Scores attached, columns in order, rows by village, transition and ids."""
    extra = ranked.reindex(out["family_id"].astype("string")).reset_index(drop=True)
    out = pd.concat([out.reset_index(drop=True), extra], axis=1)
    for column in ("village_code", "other_village_code", "source_family", "family_id"):
        out[column] = out[column].astype("string")
    for column in ("reason", "status"):
        out[column] = out[column].astype("string")
    for column in [c for c in extra.columns if c != "desil"]:
        out[column] = out[column].astype("boolean")
    columns = [
        *REGION,
        "source_family",
        "family_id",
        "transition",
        "reason",
        "status",
        "desil",
        "other_village_code",
        *[c for c in extra.columns if c != "desil"],
    ]
    step = out["transition"].map({t: i for i, t in enumerate(TRANSITIONS)})
    out = out.assign(_step=step).sort_values(
        [*VILLAGE_KEYS, "_step", "source_family", "family_id"], kind="stable", na_position="last"
    )
    return out[columns].reset_index(drop=True)


LEVELS = {"village": list(VILLAGE_KEYS), "province": ["province_code"], "national": []}


def transition_summary(transitions: pd.DataFrame, level: str = "village") -> pd.DataFrame:
    """Counts of a :func:`transitions` table per village, per province or nationally.

    Columns: the level's region codes (and ``village_name`` per village), then
    ``families`` (the source's families counted there: stay + drop + move_out),
    ``stay``, ``drop``, ``drop_<reason>`` for every drop reason, ``move_out``,
    ``move_in``, ``join``, ``join_<reason>``, ``receiving`` (stay + move_in + join)
    and per programme ``<eligible column>_staying`` (distinct families eligible among
    stays and move-ins) and ``<eligible column>_joining``. Rows whose village is
    unknown are a row of their own (last), so every level adds up to the national one.

    Examples
    --------
    >>> t = pd.DataFrame({"province_code": ["33", "33", "34"], "regency_code": None,
    ...     "district_code": None, "village_code": ["A", "A", "B"], "village_name": None,
    ...     "family_id": ["F1", "F2", "F3"], "transition": ["stay", "drop", "join"],
    ...     "reason": [None, "not_found", "ranked_in_new"]})
    >>> s = transition_summary(t, "province")
    >>> s[["province_code", "families", "stay", "drop_not_found", "join"]].values.tolist()
    [['33', 2, 1, 1, 0], ['34', 0, 0, 0, 1]]
    """
    if level not in LEVELS:
        raise UsageError(f"expected one of {', '.join(LEVELS)}", option="level")
    keys = LEVELS[level]
    t = transitions.reset_index(drop=True)
    group, n, firsts = _groups(t, keys)
    label = t["transition"].astype(str).to_numpy()
    reason = t["reason"].astype("string").fillna("").to_numpy(dtype=object)
    table = t.loc[firsts, keys].reset_index(drop=True) if keys else pd.DataFrame(index=[0])
    if level == "village":  # the first name given for the village
        table["village_name"] = (
            t["village_name"].groupby(group).first().reindex(range(n)).to_numpy()
        )

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(group[mask], minlength=n).astype(np.int64)

    table["families"] = count(np.isin(label, ["stay", "drop", "move_out"]))
    table["stay"] = count(label == "stay")
    table["drop"] = count(label == "drop")
    for r in DROP_REASONS:
        table[f"drop_{r}"] = count((label == "drop") & (reason == r))
    table["move_out"] = count(label == "move_out")
    table["move_in"] = count(label == "move_in")
    table["join"] = count(label == "join")
    for r in JOIN_REASONS:
        table[f"join_{r}"] = count((label == "join") & (reason == r))
    table["receiving"] = count(np.isin(label, RECEIVING))
    # distinct families: two source families merged into one DTSEN family count once
    receiving = np.isin(label, RECEIVING)
    once = receiving.copy()
    once[receiving] = (
        ~pd.DataFrame({"g": group[receiving], "f": t["family_id"].to_numpy()[receiving]})
        .duplicated()
        .to_numpy()
    )
    joining = label == "join"
    for column in [c for c in t.columns if str(c).startswith("eligible_")]:
        yes = t[column].astype("boolean").fillna(False).to_numpy(dtype=bool) & once
        table[f"{column}_staying"] = count(yes & ~joining)
        table[f"{column}_joining"] = count(yes & joining)
    return table


def _groups(t: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, int, np.ndarray]:
    """Group number of each row (sorted by the keys, an unknown place last and kept),
    the number of groups (one for no keys), and each group's first row."""
    if not keys:
        return np.zeros(len(t), dtype=np.int64), 1, np.zeros(0, dtype=np.int64)
    group = t.groupby(keys, dropna=False, sort=True).ngroup().to_numpy(dtype=np.int64)
    n = int(group.max()) + 1 if len(group) else 0
    firsts = np.unique(group, return_index=True)[1]
    return group, n, firsts


__all__ = [
    "DROP_REASONS",
    "JOIN_REASONS",
    "LEVELS",
    "RECEIVING",
    "REGION",
    "TRANSITIONS",
    "VILLAGE_KEYS",
    "eligible_column",
    "family_households",
    "household_variables",
    "score_families",
    "source_villages",
    "transition_summary",
    "transitions",
]
