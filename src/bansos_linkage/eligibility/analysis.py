"""Targeting analysis: how well a ranking and a rule reach the poor, and what a change costs.

- :func:`targeting_errors`: inclusion error (recipients who are not among the truly
  poorest), exclusion error (the truly poorest who get nothing) and coverage of the
  poorest 10, 20 and 40% of people, all counted in people;
- :func:`benefit_incidence`: the share of the benefit reaching each true decile;
- :func:`what_if`: for a list of desil cut-offs, recipient families and people, the
  yearly budget and both errors, as a table and a plot;
- :func:`what_if_rules`: the same for whole programmes and their rule variants
  (:func:`cutoff_variants`, per programme or for all, each programme also at its own
  cut-off; or any parameter changed with
  :func:`~bansos_linkage.eligibility.rules.with_parameters`), components and caps
  included;
- :func:`transitions`: given who receives a programme today (DTKS flags linked to the
  new ranking), who stays, who drops out and who is newly eligible, per village.

"True" welfare is the synthetic truth or a survey's observed expenditure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from bansos_linkage.eligibility.desil import desil
from bansos_linkage.eligibility.rules import (
    Programme,
    evaluate_fields,
    member_fields,
    member_rows,
    with_parameters,
)


def true_poorest(true_welfare: pd.Series, size: pd.Series, share: float) -> pd.Series:
    """Households among the truly poorest ``share`` of people (by their middle member)."""
    return desil(true_welfare, size, groups=1000) <= round(share * 1000)


def targeting_errors(
    selected: pd.Series, true_welfare: pd.Series, size: pd.Series, target_share: float = 0.4
) -> dict[str, float]:
    """Errors of a selection (bool per household) against the truly poorest
    ``target_share`` of people, all shares counted in people.

    ``inclusion_error``: share of the selected people who are not truly poor;
    ``exclusion_error``: share of the truly poor people not selected;
    ``coverage_10/20/40``: share of the poorest 10/20/40% of people selected.

    Examples
    --------
    >>> w = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> sel = pd.Series([True, False, True, False, False])
    >>> e = targeting_errors(sel, w, pd.Series([1, 1, 1, 1, 1]), target_share=0.4)
    >>> e["inclusion_error"], e["exclusion_error"]
    (0.5, 0.5)
    """
    people = size.to_numpy(dtype=float)
    chosen = selected.to_numpy(dtype=bool)
    poor = true_poorest(true_welfare, size, target_share).to_numpy()
    out = {
        "selected_households": int(chosen.sum()),
        "selected_people": float(people[chosen].sum()),
        "inclusion_error": _share(people, chosen & ~poor, chosen),
        "exclusion_error": _share(people, poor & ~chosen, poor),
    }
    for pct in (10, 20, 40):
        bottom = true_poorest(true_welfare, size, pct / 100).to_numpy()
        out[f"coverage_{pct}"] = _share(people, bottom & chosen, bottom)
    return out


def _share(people: np.ndarray, part: np.ndarray, whole: np.ndarray) -> float:
    total = people[whole].sum()
    return float(people[part].sum() / total) if total else 0.0


def benefit_incidence(amount: pd.Series, true_welfare: pd.Series, size: pd.Series) -> pd.DataFrame:
    """Share of the total benefit going to each true decile (1 = poorest), with the
    people in it; a well-targeted programme puts most in the first deciles."""
    decile = desil(true_welfare, size)
    table = pd.DataFrame({"decile": decile, "amount": amount.to_numpy(dtype=float), "people": size})
    out = table.groupby("decile").agg(amount=("amount", "sum"), people=("people", "sum"))
    total = out["amount"].sum()
    out["share_of_benefit"] = out["amount"] / total if total else 0.0
    return out.reset_index()


def what_if(
    predicted_desil: pd.Series,
    true_welfare: pd.Series,
    size: pd.Series,
    cutoffs=(1, 2, 3, 4, 5),
    amount_per_family: float = 0.0,
    target_share: float = 0.4,
) -> tuple[pd.DataFrame, Figure]:
    """For each cut-off (families in desil 1..k receive), the recipients, the yearly
    budget at ``amount_per_family`` and the errors against the truly poorest
    ``target_share``. Returns the table and a plot of the errors and the budget."""
    rows = []
    for k in cutoffs:
        chosen = predicted_desil <= k
        errors = targeting_errors(chosen, true_welfare, size, target_share)
        rows.append(
            {
                "cutoff_desil": k,
                "families": errors["selected_households"],
                "people": errors["selected_people"],
                "budget": errors["selected_households"] * amount_per_family,
                **{
                    k2: v
                    for k2, v in errors.items()
                    if k2 not in ("selected_households", "selected_people")
                },
            }
        )
    table = pd.DataFrame(rows)
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["cutoff_desil"], table["inclusion_error"], marker="o", label="inclusion error")
    ax.plot(table["cutoff_desil"], table["exclusion_error"], marker="o", label="exclusion error")
    ax.set(xlabel="families in desil 1..k receive", ylabel="share of people", ylim=(0, 1))
    if amount_per_family:
        budget = ax.twinx()
        budget.bar(table["cutoff_desil"], table["budget"] / 1e9, alpha=0.2, color="grey")
        budget.set(ylabel="yearly budget (Rp billion)")
    ax.legend(loc="upper center")
    ax.set_title("what a cut-off buys")
    return table, fig


def parse_cutoffs(text: str) -> dict[str | None, list[int]]:
    """Desil cut-offs as the ``--what-if`` option writes them: ``3,4,5`` for every
    programme, ``PKH=3,4;PBI-JK=5,6`` per programme, or both (``3,4;PBI-JK=5,6``:
    PBI-JK at 5 and 6, the others at 3 and 4). A cut-off is a desil, 1 to 10.

    Examples
    --------
    >>> parse_cutoffs("3,4;PBI-JK=5,6")
    {None: [3, 4], 'PBI-JK': [5, 6]}
    """
    out: dict[str | None, list[int]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, values = part.rpartition("=")
        try:
            cutoffs = [int(v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise ValueError("expected desil numbers such as 3,4,5 or PKH=3,4;PBI-JK=5,6") from None
        if not cutoffs or not all(1 <= v <= 10 for v in cutoffs):
            raise ValueError("expected desil numbers from 1 to 10")
        out[name.strip() or None] = cutoffs
    if not out:
        raise ValueError("expected desil numbers such as 3,4,5")
    return out


def cutoff_variants(
    programmes: Sequence[Programme],
    cutoffs: Sequence[int] | Mapping[str | None, Sequence[int]],
    parameter: str = "max_desil",
) -> dict[str, list[Programme]]:
    """One rule variant per value of ``parameter`` (by default the desil cut-off).

    ``cutoffs`` is a list of values, set in every programme that has the parameter
    (the others stay as they are in every variant), or a mapping from programme name
    (any case) to its own values, ``None`` standing for the programmes not named:
    each programme is then varied on its own and a programme given no values is left
    out. Every varied programme is also scored at its own value (PBI-JK's
    ``max_desil`` is 5, PKH's 4), so the table always holds the rules as written; a
    variant made only for that holds only the programmes whose own value it is.

    Examples
    --------
    >>> from bansos_linkage.eligibility.rules import load_programmes
    >>> list(cutoff_variants(load_programmes("all"), [3, 4]))
    ['max_desil=3', 'max_desil=4', 'max_desil=5']
    >>> variants = cutoff_variants(load_programmes("all"), {"PBI-JK": [6]})
    >>> {k: [p.name for p in v] for k, v in variants.items()}
    {'max_desil=5': ['PBI-JK'], 'max_desil=6': ['PBI-JK']}
    """
    if isinstance(cutoffs, Mapping):
        by_name = {(str(k).lower() if k is not None else None): v for k, v in cutoffs.items()}
        names = {p.name.lower() for p in programmes}
        unknown = sorted(str(k) for k in by_name if k is not None and k not in names)
        if unknown:
            raise ValueError(
                f"no programme named {', '.join(unknown)} among "
                f"{', '.join(p.name for p in programmes)}"
            )
        per_programme = {p.name: by_name.get(p.name.lower(), by_name.get(None)) for p in programmes}
        fixed: list[Programme] = []
    else:
        per_programme = {p.name: list(cutoffs) for p in programmes}
        fixed = [p for p in programmes if parameter not in p.parameters]
    for p in programmes:
        named = isinstance(cutoffs, Mapping) and p.name.lower() in by_name
        if named and parameter not in p.parameters:
            raise ValueError(f"programme {p.name!r} has no parameter {parameter!r} to vary")
    values: dict[str, list] = {}
    for p in programmes:
        wanted = per_programme[p.name]
        if parameter in p.parameters and wanted:
            values[p.name] = sorted({*wanted, p.parameters[parameter]})
    every = sorted({v for vs in values.values() for v in vs})
    asked = set() if isinstance(cutoffs, Mapping) else set(cutoffs)  # fixed ones: these only
    variants: dict[str, list[Programme]] = {}
    for value in every:
        chosen = [
            with_parameters(p, **{parameter: value}) if p.parameters[parameter] != value else p
            for p in programmes
            if value in values.get(p.name, [])
        ]
        variants[f"{parameter}={value}"] = [
            next((c for c in chosen if c.name == p.name), p)
            for p in programmes
            if (p in fixed and value in asked) or value in values.get(p.name, [])
        ]
    return variants


def what_if_rules(
    households: pd.DataFrame,
    members: pd.DataFrame,
    variants: Mapping[str, Sequence[Programme]],
    reference_date: dt.date,
    true_welfare: pd.Series | None = None,
    target_share: float = 0.4,
    baseline: Sequence[Programme] | None = None,
    parameter: str = "max_desil",
) -> tuple[pd.DataFrame, Figure]:
    """Recipients and yearly budget of every programme under each rule variant, and
    the targeting errors when ``true_welfare`` (one value per household row) is known.
    Each row says the value of ``parameter`` it was scored at and, with ``baseline``
    (the programmes as written), the programme's own value (``rules_<parameter>``)
    and whether the row is the rules as written (``as_written``).

    ``households`` are scored households (``household_id``, ``size``, ``desil`` and
    the fields the rules test, as :func:`~bansos_linkage.eligibility.score.score_register`
    returns them); a person-level programme counts a family as a recipient when any
    of its members is. Returns one row per variant and programme (``families``,
    ``people``, ``budget`` and, with the truth, ``inclusion_error``,
    ``exclusion_error``, ``coverage_10/20/40``) and a plot of budget and errors.
    """
    fields = member_fields(members, reference_date)  # once for every variant
    hh = households.reset_index(drop=True)
    household_of = member_rows(hh, fields)
    ids = hh["household_id"].astype(str)
    size = hh["size"].fillna(1)
    rows = []
    for label, programmes in variants.items():
        for programme in programmes:
            result = evaluate_fields(programme, hh, fields, household_of)
            if programme.level == "household":
                chosen = result["eligible"].to_numpy(dtype=bool)
                people = float(size[chosen].sum())
            else:
                winners = result.loc[result["eligible"], "household_id"]
                chosen = ids.isin(winners).to_numpy()
                people = float(result["eligible"].sum())
            row = {
                "variant": label,
                "programme": programme.name,
                parameter: programme.parameters.get(parameter),
            }
            if baseline is not None:
                own = next((b for b in baseline if b.name == programme.name), None)
                written = None if own is None else own.parameters.get(parameter)
                row[f"rules_{parameter}"] = written
                row["as_written"] = own is not None and own == programme
            row |= {
                "families": int(chosen.sum()),
                "people": people,
                "budget": float(result["amount"].sum()),
            }
            if true_welfare is not None:
                errors = targeting_errors(
                    pd.Series(chosen), true_welfare.reset_index(drop=True), size, target_share
                )
                row |= {k: v for k, v in errors.items() if not k.startswith("selected_")}
            rows.append(row)
    table = pd.DataFrame(rows)
    return table, _what_if_rules_plot(table)


def _what_if_rules_plot(table: pd.DataFrame) -> Figure:
    with_errors = "exclusion_error" in table
    fig = Figure(figsize=(12 if with_errors else 7, 4), layout="constrained")
    axes = fig.subplots(1, 2 if with_errors else 1, squeeze=False)[0]
    order = {"index": table["variant"].unique(), "columns": table["programme"].unique()}
    budget = table.pivot(index="variant", columns="programme", values="budget")
    budget = budget.reindex(index=order["index"], columns=order["columns"])
    (budget / 1e9).plot.bar(ax=axes[0], rot=0, legend=False)
    axes[0].set(xlabel="rule variant", ylabel="yearly budget (Rp billion)", title="budget")
    if with_errors:
        errors = table.pivot(index="variant", columns="programme", values="exclusion_error")
        errors = errors.reindex(index=order["index"], columns=order["columns"])
        errors.plot.bar(ax=axes[1], rot=0, legend=False)
        axes[1].set(
            xlabel="rule variant",
            ylabel="share of the truly poor left out",
            ylim=(0, 1),
            title="exclusion error",
        )
    axes[-1].legend(title="programme", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def transitions(
    current: pd.Series, eligible: pd.Series, village: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Who stays, who drops out and who is newly eligible.

    ``current``: receives the programme today (e.g. the DTKS flag linked to the
    household); ``eligible``: eligible under the new ranking; ``village``: where the
    household lives. Returns the status of every household (``stays``, ``drops``,
    ``new``, ``neither``) and the counts per village, for verification lists.
    """
    now = current.fillna(False).to_numpy(dtype=bool)
    new = eligible.fillna(False).to_numpy(dtype=bool)
    status = np.select([now & new, now & ~new, ~now & new], ["stays", "drops", "new"], "neither")
    per_household = pd.DataFrame(
        {"village": village.to_numpy(), "status": status}, index=current.index
    )
    counts = (
        per_household.groupby(["village", "status"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=["stays", "drops", "new", "neither"], fill_value=0)
        .rename_axis(columns=None)
        .reset_index()
    )
    return per_household, counts


def programme_transitions(
    households: pd.DataFrame,
    current: pd.DataFrame,
    programmes: Sequence[Programme],
    village: str = "village_code",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`transitions` for every household programme with a column in ``current``,
    per ``village`` (or the finest region code the households have).

    ``households``: scored households (``household_id``, ``eligible:<programme>``,
    ``village``); ``current``: ``household_id`` and one column per programme saying
    who receives it today (``1``/``0``, ``ya``/``tidak``; e.g. DTKS flags carried to
    the new register's households through ``household_links.csv``). A recipient
    whose household is not among ``households`` is ``not_found``: the first names on
    a verification list. Returns one row per household (``status:<programme>``) and
    the counts per programme and village.
    """
    from bansos_linkage.eligibility.members import _flag

    ids = households["household_id"].astype("string")
    place = next(
        (c for c in (village, "district_code", "regency_code", "province_code") if c in households),
        None,
    )
    where = households[place] if place else pd.Series("all", index=households.index)
    today = current.assign(household_id=current["household_id"].astype("string"))
    columns = {str(c).strip().lower(): c for c in today.columns}
    per_household = pd.DataFrame({"household_id": ids, "village": where})
    lost = today[~today["household_id"].isin(ids)]
    missing = pd.DataFrame({"household_id": lost["household_id"], "village": pd.NA})
    counts = []
    for programme in programmes:
        column = columns.get(programme.name.lower())
        if column is None or programme.level != "household":
            continue
        receives = _flag(today, column).groupby(today["household_id"]).any()
        now = ids.map(receives).fillna(False).astype(bool)
        status, village_counts = transitions(now, households[f"eligible:{programme.name}"], where)
        per_household[f"status:{programme.name}"] = status["status"].to_numpy()
        missing[f"status:{programme.name}"] = np.where(
            lost["household_id"].map(receives).fillna(False), "not_found", "neither"
        )
        gone = int((missing[f"status:{programme.name}"] == "not_found").sum())
        village_counts["not_found"] = 0
        if gone:  # recipients with no household in the register: a row of their own
            village_counts.loc[len(village_counts)] = (
                {"village": "(not in the register)"}
                | {k: 0 for k in ("stays", "drops", "new", "neither")}
                | {"not_found": gone}
            )
        village_counts.insert(0, "programme", programme.name)
        counts.append(village_counts)
    if not counts:
        raise ValueError("no column of the current recipients is named after a programme")
    table = pd.concat([per_household, missing], ignore_index=True)
    return table, pd.concat(counts, ignore_index=True)


__all__ = [
    "benefit_incidence",
    "cutoff_variants",
    "parse_cutoffs",
    "programme_transitions",
    "targeting_errors",
    "transitions",
    "true_poorest",
    "what_if",
    "what_if_rules",
]
