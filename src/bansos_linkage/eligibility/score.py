"""Score a register: PMT welfare, desil, the 14 criteria and every programme, in one call.

:func:`score_register` is what the ``score`` command runs: household variables and
members in, per-household and per-person eligibility with amounts and reasons out,
plus a summary per programme and region.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.criteria import bps_criteria
from bansos_linkage.eligibility.desil import desil
from bansos_linkage.eligibility.members import composition
from bansos_linkage.eligibility.pmt import ProxyMeansTest
from bansos_linkage.eligibility.rules import Programme, evaluate

#: Household columns that are not PMT features.
NOT_FEATURES = (
    "household_id",
    "per_capita_expenditure",
    "kk_number",
    "village_code",
    "district_code",
    "bps_village_code",
    "desil",
    "extremely_poor",
)


@dataclass
class ScoredRegister:
    """Per-household results (``households``: welfare, desil, criteria, each programme's
    ``eligible:<name>`` and ``amount:<name>``), per-person results of person-level
    programmes (``persons``), and the ``summary`` per programme and region."""

    households: pd.DataFrame
    persons: pd.DataFrame
    summary: pd.DataFrame
    pmt: ProxyMeansTest | None


def with_composition(
    households: pd.DataFrame, members: pd.DataFrame, reference_date: dt.date
) -> pd.DataFrame:
    """Household rows with the make-up counted from their members (``size`` and the rest
    replace any columns of the same name)."""
    made = composition(members, reference_date)
    made["household_id"] = made["household_id"].astype(str)
    out = households.copy()
    out["household_id"] = out["household_id"].astype(str)
    out = out.drop(columns=[c for c in made.columns if c != "household_id" and c in out])
    return out.merge(made, on="household_id", how="left")


def pmt_features(households: pd.DataFrame) -> pd.DataFrame:
    """The columns a PMT learns from: everything but ids, targets and finer region codes."""
    return households.drop(columns=[c for c in NOT_FEATURES if c in households])


def score_register(
    households: pd.DataFrame,
    members: pd.DataFrame,
    programmes: list[Programme],
    reference_date: dt.date,
    survey: pd.DataFrame | None = None,
    pmt: ProxyMeansTest | None = None,
    region: str = "province_code",
) -> ScoredRegister:
    """Rank and score every household of a register.

    The PMT is ``pmt`` (fitted) or one fitted on ``survey`` (households with the same
    variables and ``per_capita_expenditure``; their make-up is counted from
    ``members`` when they are in it). Without either, a ``desil`` column already in
    ``households`` is used. The 14 criteria are scored alongside.
    """
    hh = with_composition(households, members, reference_date)
    if pmt is None and survey is not None:
        train = with_composition(survey, members, reference_date)
        features = pmt_features(train)
        pmt = ProxyMeansTest().fit(features, np.log(train["per_capita_expenditure"].astype(float)))
    if pmt is not None:
        hh["log_welfare"] = pmt.predict(hh.reindex(columns=list(pmt.feature_names_in_)))
        hh["desil"] = desil(hh["log_welfare"], hh["size"].fillna(1), tie_break=hh["household_id"])
    elif "desil" not in hh:
        raise ValueError("no PMT, no survey to fit one on, and no desil column to use")
    heads = hh[["head_work", "head_education"]] if "head_work" in hh else None
    criteria = bps_criteria(hh, heads)
    hh["criteria_met"] = criteria["criteria_met"].to_numpy()
    hh["poor_14_criteria"] = criteria["poor"].to_numpy()
    persons = []
    for programme in programmes:
        result = evaluate(programme, hh, members, reference_date)
        if programme.level == "household":
            hh[f"eligible:{programme.name}"] = result["eligible"].to_numpy()
            hh[f"amount:{programme.name}"] = result["amount"].to_numpy()
            hh[f"reasons:{programme.name}"] = np.where(
                result["eligible"], result["components"], result["failed"]
            )
        else:
            persons.append(result)
            by_household = result.groupby("household_id")["amount"].sum()
            hh[f"amount:{programme.name}"] = (
                hh["household_id"].map(by_household).fillna(0.0).to_numpy()
            )
    people = pd.concat(persons, ignore_index=True) if persons else pd.DataFrame()
    return ScoredRegister(hh, people, _summary(hh, people, programmes, region), pmt)


def _summary(
    hh: pd.DataFrame, people: pd.DataFrame, programmes: list[Programme], region: str
) -> pd.DataFrame:
    rows = []
    where = hh[region].astype(str) if region in hh else pd.Series("all", index=hh.index)
    for programme in programmes:
        if programme.level == "household":
            frame = pd.DataFrame(
                {
                    "region": where,
                    "families": hh[f"eligible:{programme.name}"].astype(int),
                    "people": np.where(hh[f"eligible:{programme.name}"], hh["size"], 0),
                    "budget": hh[f"amount:{programme.name}"],
                }
            )
        else:
            mine = people[people["programme"] == programme.name]
            region_of = dict(zip(hh["household_id"], where, strict=True))
            frame = pd.DataFrame(
                {
                    "region": mine["household_id"].map(region_of),
                    "families": 0,
                    "people": mine["eligible"].astype(int),
                    "budget": mine["amount"],
                }
            )
        table = frame.groupby("region").sum().reset_index()
        table.insert(0, "programme", programme.name)
        rows.append(table)
        total = frame[["families", "people", "budget"]].sum().to_dict()
        rows.append(pd.DataFrame([{"programme": programme.name, "region": "all", **total}]))
    return pd.concat(rows, ignore_index=True)
