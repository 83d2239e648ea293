"""Files in, files out: households -> PMT -> desil -> programme rules, as ``score`` runs it.

:func:`score_files` reads a household export (and its members), ranks the
households (a PMT fitted on a survey or loaded, or the export's own ``desil``),
applies the programme rules and writes the ``score`` run folder atomically,
``manifest.json`` last:

==================================  =====================================================
``households.csv``                  desil, criteria, eligibility and amount per programme
``persons.csv``                     person-level programmes (when any)
``summary.csv``                     per programme and province
``problems.csv``                    cells that could not be read, rows rejected
``pmt.json``, ``pmt_accuracy.csv``  the PMT fitted on ``train``, cross-validated
``what_if.csv``, ``what_if.png``    other desil cut-offs compared (``what_if``)
``transitions.csv``,                today's recipients (``current``) who stay, drop
``transitions_per_village.csv``     out or are newly eligible
==================================  =====================================================

The stages are :mod:`bansos_linkage.eligibility` (tables in, tables out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.eligibility.analysis import (
    cutoff_variants,
    programme_transitions,
    what_if_rules,
)
from bansos_linkage.eligibility.pmt import ProxyMeansTest, evaluate_pmt, load_pmt, save_pmt
from bansos_linkage.eligibility.rules import Programme, load_programmes
from bansos_linkage.eligibility.score import (
    HOUSEHOLD_COLUMNS,
    PROBLEM_COLUMNS,
    ScoredRegister,
    pmt_features,
    prepare_register,
    score_register,
    with_composition,
    with_our_names,
)
from bansos_linkage.engines import ScoresRegisters
from bansos_linkage.errors import InputError, UsageError
from bansos_linkage.io import ATTR_PARTS, locate_rows, read_table, restore_formulas, write_table
from bansos_linkage.progress import Progress
from bansos_linkage.runs.folders import atomic_folder

#: What a score run may write (an older folder holding them is replaced).
OUTPUT_FILES = (
    *("households.csv", "persons.csv", "summary.csv", "problems.csv", "pmt.json"),
    *("pmt_accuracy.csv", "what_if.csv", "what_if.png", "transitions.csv"),
    "transitions_per_village.csv",
)


@dataclass
class ScoreRun:
    """A finished score run: the scored register, the problems found in the inputs,
    the date ages were computed at, the PMT's cross-validated accuracy (one row per
    fold and their mean, last; with ``train``) and the transitions per village
    (with ``current``)."""

    scored: ScoredRegister
    problems: pd.DataFrame
    reference_date: dt.date
    pmt_households: int | None = None
    pmt_accuracy: pd.DataFrame | None = None
    transitions: pd.DataFrame | None = None


def score_files(
    households: str | Path,
    members: str | Path | None,
    out: str | Path,
    *,
    rules: str | Path = "all",
    train: str | Path | None = None,
    pmt_model: str | Path | None = None,
    pmt_by: str | None = None,
    desil_by: str | None = None,
    criteria_threshold: int = 9,
    reference_date: dt.date | None = None,
    current: str | Path | None = None,
    what_if: Mapping[str | None, Sequence[int]] | Sequence[int] | None = None,
    progress: Progress | None = None,
    command: Sequence[str] | Mapping[str, Any] | None = None,
    engine: ScoresRegisters | None = None,
) -> ScoreRun:
    """Score a household export (and its members) and write the run folder ``out``.

    ``rules``: built-in programmes (``all``, ``pkh``, ...) or a YAML file. The PMT is
    fitted on ``train`` (survey households with ``per_capita_expenditure``; one per
    value of ``pmt_by`` where there are enough) or loaded from ``pmt_model``; with
    neither, the export needs a ``desil`` column. ``desil_by``: rank within each
    value of that column. ``what_if``: desil cut-offs to compare
    (:func:`~bansos_linkage.eligibility.analysis.parse_cutoffs`). ``current``: who
    receives each programme today. ``out`` appears whole, with its manifest
    recording ``command``, or not at all. ``engine``: rank and score on this engine
    (:class:`~bansos_linkage.engines.ScoresRegisters`, e.g. the Dask engine) instead
    of in this process; the results are the same (the files are read here).
    """
    if train is not None and pmt_model is not None:
        raise UsageError("give a survey to fit the PMT on or a saved PMT, not both", option="train")
    if pmt_by is not None and train is None:
        raise UsageError("needs train (a saved PMT keeps its own regions)", option="pmt_by")
    today = reference_date or dt.date.today()
    programmes = load_programmes(rules)  # a bad rule file stops before any work
    tables = read_table(households), read_table(members) if members else None
    register, people, problems = prepare_register(
        *tables, today, households_file=str(households), members_file=str(members)
    )
    problems = located(problems, {str(households): tables[0], str(members): tables[1]})
    if not train and not pmt_model and "desil" not in register:
        raise InputError(
            "no desil column; add one, or give --train (a survey to fit a PMT on) or --pmt-model",
            file=households,
        )
    pmt_households = accuracy = transitions = None
    with atomic_folder(out, outputs=OUTPUT_FILES, command=command) as folder:
        pmt = load_pmt(pmt_model) if pmt_model else None
        if train:  # the survey's problems are listed with the register's
            pmt, problems, pmt_households, accuracy = _train_pmt(
                Path(train), people, today, folder / "pmt.json", pmt_by, problems
            )
        truth = (
            register.pop("per_capita_expenditure") if "per_capita_expenditure" in register else None
        )
        scorer = score_register if engine is None else engine.score_register
        scored = scorer(
            register,
            people,
            programmes,
            today,
            pmt=pmt,
            progress=progress,
            desil_by=desil_by,
            criteria_threshold=criteria_threshold,
        )
        _write_scores(scored, problems, folder)
        if what_if:
            _write_what_if(scored.households, people, programmes, what_if, today, truth, folder)
        if current:
            transitions = _write_transitions(scored.households, programmes, Path(current), folder)
    return ScoreRun(scored, problems, today, pmt_households, accuracy, transitions)


def located(problems: pd.DataFrame, read: Mapping[str, pd.DataFrame | None]) -> pd.DataFrame:
    """Problems of a table read from a folder (a partitioned dataset) named by the file
    of the folder they are in and their row there (the header row 1, as in one file)."""
    out = problems.copy()
    for name, table in read.items():
        parts = None if table is None else table.attrs.get(ATTR_PARTS)
        mine = (out["file"] == name).to_numpy()
        if parts is None or not mine.any():
            continue
        files, rows = locate_rows(parts, out.loc[mine, "row"].to_numpy(dtype=np.int64) - 1)
        out["file"] = out["file"].astype(object)
        out.loc[mine, "file"] = files
        out.loc[mine, "row"] = rows + 1
    return out


def _write_scores(scored: ScoredRegister, problems: pd.DataFrame, folder: Path) -> None:
    write_table(scored.households, folder / "households.csv", for_people=True)
    if not scored.persons.empty:
        write_table(scored.persons, folder / "persons.csv", for_people=True)
    write_table(scored.summary, folder / "summary.csv", for_people=True)
    write_table(problems, folder / "problems.csv", for_people=True)


def _train_pmt(
    survey_file: Path,
    members: pd.DataFrame,
    today: dt.date,
    path: Path,
    by: str | None,
    problems: pd.DataFrame | None = None,
) -> tuple[ProxyMeansTest, pd.DataFrame, int, pd.DataFrame]:
    """Fit the PMT on the survey and save it with its accuracy beside ``path``; returns
    it, ``problems`` with the survey's own (cells that could not be read, rows
    rejected or left out of the fit) added, the households fitted on and the accuracy."""
    table = read_table(survey_file)
    survey, _, found = prepare_register(table, None, today, households_file=str(survey_file))
    found = located(found, {str(survey_file): table})
    if "per_capita_expenditure" not in survey:
        raise InputError("the survey needs a per_capita_expenditure column", file=survey_file)
    # log needs a positive amount: a row without one is left out of the fit (rejected);
    # one not a number or not above 0 is listed already, a blank one is listed here
    usable = survey["per_capita_expenditure"].gt(0).fillna(False).astype(bool).to_numpy()
    spending = found["column"].eq("per_capita_expenditure")
    found.loc[spending, "rejected"] = True
    blank = ~usable & ~np.isin(survey.index + 2, found.loc[spending, "row"])
    left_out = pd.DataFrame(
        {
            "file": str(survey_file),
            "row": survey.index[blank] + 2,  # as prepare_register counts rows
            "id": survey["household_id"].to_numpy()[blank],
            "column": "per_capita_expenditure",
            "problem": "missing: left out of the PMT",
            "rejected": True,
        },
        columns=list(PROBLEM_COLUMNS),
    )
    listed = [t for t in (problems, found, left_out) if t is not None and len(t)]
    if listed:
        problems = pd.concat(listed, ignore_index=True)
    elif problems is None:
        problems = pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    survey = survey[usable]
    survey = with_composition(survey, members, today)
    X, y = pmt_features(survey), np.log(survey["per_capita_expenditure"].astype(float))
    if by is not None and by not in X:
        raise InputError(f"the survey has no column {by!r} for --pmt-by", file=survey_file)
    pmt = ProxyMeansTest(by=by).fit(X, y)
    save_pmt(pmt, X, y, path)
    accuracy = evaluate_pmt(pmt, X, y, size=survey["size"])
    write_table(accuracy, path.with_name("pmt_accuracy.csv"), for_people=True)
    return pmt, problems, len(X), accuracy


def _write_what_if(
    households: pd.DataFrame,
    members: pd.DataFrame,
    programmes: list[Programme],
    cutoffs: Mapping[str | None, Sequence[int]] | Sequence[int],
    today: dt.date,
    truth: pd.Series | None,
    folder: Path,
) -> None:
    welfare = None if truth is None else truth.astype(float).reset_index(drop=True)
    try:
        variants = cutoff_variants(programmes, cutoffs)
    except ValueError as exc:
        raise InputError(f"--what-if: {exc}") from None
    table, fig = what_if_rules(
        households, members, variants, today, true_welfare=welfare, baseline=programmes
    )
    write_table(table, folder / "what_if.csv", for_people=True)
    fig.savefig(folder / "what_if.png", dpi=120)


def _write_transitions(
    households: pd.DataFrame, programmes: list[Programme], current_file: Path, folder: Path
) -> pd.DataFrame:
    """Write who stays, drops out or is newly eligible; returns the counts per village."""
    current = with_our_names(restore_formulas(read_table(current_file)), HOUSEHOLD_COLUMNS)
    if "household_id" not in current:
        raise InputError("expected a household_id column", file=current_file)
    try:
        status, per_village = programme_transitions(households, current, programmes)
    except ValueError as exc:
        raise InputError(str(exc), file=current_file) from None
    write_table(status, folder / "transitions.csv", for_people=True)
    write_table(per_village, folder / "transitions_per_village.csv", for_people=True)
    return per_village


__all__ = [
    "OUTPUT_FILES",
    "ScoreRun",
    "score_files",
]
