"""``bansos-linkage score``: households ranked into desil (a PMT), BPS's criteria
scored and the programme rules applied."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, progress_bar
from bansos_linkage.cli.engine import add_engine_options, check_engine, engine_of
from bansos_linkage.cli.options import folders_allowed, int_range

N_CRITERIA = 14  # BPS's criteria of a poor household (eligibility.criteria)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``score`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "score",
        help="rank households (PMT, desil) and apply programme rules",
        description="Rank HOUSEHOLDS into desil by equal numbers of people (a PMT fitted on "
        "--train or loaded from --pmt-model; without either, a desil column of HOUSEHOLDS), "
        "score BPS's 14 criteria and apply the programmes of --rules. Writes "
        "households.csv (desil, criteria, eligible/amount/reasons per programme), persons.csv "
        "(person-level programmes), summary.csv (per programme and province), problems.csv "
        "(cells that could not be read and rows rejected, by row and id), pmt.json and "
        "pmt_accuracy.csv (5-fold cross-validation) with --train, what_if.csv/.png with "
        "--what-if, and transitions.csv and transitions_per_village.csv with --current.",
    )
    p.add_argument("households", type=Path, help="one row per household (household_id, ...)")
    p.add_argument(
        "members",
        type=Path,
        nargs="?",
        help="one row per person (household_id, birth_date, relationship, ...); without it "
        "rules on members find nobody",
    )
    p.add_argument("--rules", default="all", help="built-in (all, pkh, sembako, ...) or YAML file")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--train", type=Path, help="survey households with per_capita_expenditure (fits the PMT)"
    )
    source.add_argument("--pmt-model", type=Path, help="pmt.json written by an earlier score run")
    p.add_argument(
        "--pmt-by",
        metavar="COLUMN",
        help="with --train: one PMT per value of COLUMN (e.g. province_code, regency_code) "
        "with enough survey households, the national one for the rest",
    )
    p.add_argument(
        "--desil-by",
        metavar="COLUMN",
        help="rank into desil within each value of COLUMN instead of nationally",
    )
    p.add_argument(
        "--criteria-threshold",
        type=int_range(1, N_CRITERIA),
        default=9,
        help=f"criteria of the {N_CRITERIA} a poor household meets, 1 to {N_CRITERIA} (default 9)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--reference-date",
        type=dt.date.fromisoformat,
        help="date ages are computed at, YYYY-MM-DD (default: today)",
    )
    p.add_argument(
        "--current",
        type=Path,
        metavar="FILE",
        help="who receives each programme today: household_id and a column per programme "
        "(PKH, Sembako, ...: 1/0, ya/tidak); writes transitions.csv and "
        "transitions_per_village.csv (stays, drops, new, not found) for verification",
    )
    p.add_argument(
        "--what-if",
        type=_cutoff_list,
        metavar="K,K,...",
        help="desil cut-offs to compare (e.g. 3,4,5 for every programme, or per programme: "
        "'PKH=3,4;PBI-JK=5,6'; each programme is also scored at its own cut-off): "
        "recipients, budget and, when HOUSEHOLDS has per_capita_expenditure, the "
        "targeting errors",
    )
    add_engine_options(p, "scoring", spill=False)
    p.set_defaults(
        func=run_score,
        check=functools.partial(_check_score, p),
        inputs={
            "households": ("HOUSEHOLDS", "file"),
            "members": ("MEMBERS", "file"),
            "train": ("--train", "file"),
            "pmt_model": ("--pmt-model", "file"),
            "current": ("--current", "file"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _check_score(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--pmt-by only with --train; the Dask options go with --engine dask; HOUSEHOLDS,
    MEMBERS and --train may be folders (partitioned Parquet datasets)."""
    if args.pmt_by and not args.train:
        parser.error("argument --pmt-by: needs --train (a saved PMT keeps its own regions)")
    check_engine(parser, args)
    args.inputs = folders_allowed(args, ("households", "members", "train"))


def _cutoff_list(text: str) -> dict:
    from bansos_linkage.eligibility.analysis import parse_cutoffs

    try:
        return parse_cutoffs(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run_score(args: argparse.Namespace) -> int:
    """Score HOUSEHOLDS into the run folder ``--out`` and print the summary."""
    from bansos_linkage.runs import command_record
    from bansos_linkage.runs.score import score_files

    with engine_of(args) as engine:
        run = score_files(
            args.households,
            args.members,
            args.out,
            rules=args.rules,
            train=args.train,
            pmt_model=args.pmt_model,
            pmt_by=args.pmt_by,
            desil_by=args.desil_by,
            criteria_threshold=args.criteria_threshold,
            reference_date=args.reference_date,
            current=args.current,
            what_if=args.what_if,
            progress=progress_bar("score"),
            command=command_record("score", args),
            engine=engine,
        )
    if run.pmt_accuracy is not None:
        mean = run.pmt_accuracy.iloc[-1]
        print(
            f"PMT on {run.pmt_households:,} survey households, 5-fold cross-validated: "
            f"R2 {mean['r2']:.2f}, rank correlation {mean['spearman']:.2f}, exclusion error "
            f"(poorest 40%) {mean['exclusion_error']:.2f}"
        )
    if run.transitions is not None:
        _print_transitions(run.transitions)
    print(f"ages at {run.reference_date.isoformat()} (--reference-date); yearly amounts:")
    _print_score_summary(run.scored.summary, run.problems)
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def _print_transitions(per_village) -> None:
    totals = per_village.groupby("programme", sort=False)[
        ["stays", "drops", "new", "not_found"]
    ].sum()
    for name, row in totals.iterrows():
        print(
            f"{name:<14} today's recipients: {row['stays']:,} stay, {row['drops']:,} drop out, "
            f"{row['not_found']:,} not found in the register; {row['new']:,} newly eligible"
        )


def _print_score_summary(summary, problems) -> None:
    from bansos_linkage.eligibility.score import summary_lines

    print("\n".join(summary_lines(summary, problems)))


__all__ = ["N_CRITERIA", "add_parser", "run_score"]
