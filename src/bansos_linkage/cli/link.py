"""``bansos-linkage link`` (two register exports at person level) and ``link-new``
(a new export against an earlier link run, without refitting)."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, progress_bar
from bansos_linkage.cli.engine import add_engine_options, check_engine, engine_of
from bansos_linkage.cli.options import folders_allowed, probability, same_file


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``link`` and ``link-new`` commands to the sub-commands ``sub``."""
    _add_link(sub)
    _add_link_new(sub)


def _add_link(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "link",
        help="link two register exports at person level",
        description="Standardise LEFT and RIGHT with their schemas, link them (Fellegi-Sunter "
        "EM, one person one link, duplicates of one register sharing their counterpart) and "
        "write links.csv, unlinked_left.csv, unlinked_right.csv, rejected.csv, "
        "household_links.csv (each left family's household on the right), model.json and "
        "summary.json into --out.",
    )
    p.add_argument(
        "left",
        type=Path,
        help="left export (e.g. DTKS): CSV, Parquet or Excel, or a folder of Parquet files "
        "(a partitioned dataset, e.g. province=11/part-0.parquet)",
    )
    p.add_argument("right", type=Path, help="right export (e.g. Regsosek), as LEFT")
    p.add_argument("--left-schema", required=True, help="preset name or mapping YAML")
    p.add_argument("--right-schema", required=True, help="preset name or mapping YAML")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--threshold",
        type=probability,
        help="match probability needed for a link (default: the model's, or 0.5)",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", type=Path, help="model.json of an earlier run: reuse, no EM")
    source.add_argument(
        "--settings",
        type=Path,
        help="linkage settings (YAML or JSON from 'bansos-linkage settings'): fit with them",
    )
    p.add_argument(
        "--labels",
        type=Path,
        help="reviewed pairs (labels.csv from 'review import', or left_id,right_id,is_match): "
        "train the ML matcher on them and let it decide the links",
    )
    _add_run_dates_and_keys(p, "today; fix it for repeatable runs", "left")
    p.add_argument(
        "--partitioned-output",
        action="store_true",
        help="also write the links as a partitioned Parquet dataset, "
        "links/province=XX/part-0.parquet (by the left record's province)",
    )
    add_engine_options(p, "linking", spill=True)
    p.set_defaults(
        func=run_link,
        check=functools.partial(_check_link, p),
        inputs={
            "left": ("LEFT", "file"),
            "right": ("RIGHT", "file"),
            "model": ("--model", "file"),
            "settings": ("--settings", "file"),
            "labels": ("--labels", "file"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _check_link(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """LEFT and RIGHT are two files (or folders); the Dask options go with --engine dask."""
    if same_file(args.left, args.right):
        parser.error(
            f"LEFT and RIGHT are the same file ({args.left}); link two different registers"
        )
    check_engine(parser, args)
    args.inputs = folders_allowed(args, ("left", "right"))


def _check_link_new(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """NEW may be a folder (a partitioned dataset); the engine's options as for 'link'."""
    check_engine(parser, args)
    args.inputs = folders_allowed(args, ("new",))


def _add_run_dates_and_keys(p: argparse.ArgumentParser, date_default: str, side: str) -> None:
    """--reference-date and --kk-column, shared by 'link' and 'link-new'."""
    p.add_argument(
        "--reference-date",
        type=dt.date.fromisoformat,
        help=f"'today' for date checks, YYYY-MM-DD (default: {date_default})",
    )
    p.add_argument(
        "--kk-column",
        action="store_true",
        help=f"add each {side} family's KK number to household_links.csv as kk_number (it is "
        "personal data: by default families are keyed F:<sequence number>, not by their KK)",
    )


def run_link(args: argparse.Namespace) -> int:
    """Link LEFT and RIGHT into the run folder ``--out`` and print the counts."""
    from bansos_linkage.runs import command_record
    from bansos_linkage.runs.link import link_files

    if args.labels is not None:
        _check_labels(args.labels)
    with engine_of(args) as engine:
        run = link_files(
            args.left,
            args.right,
            args.left_schema,
            args.right_schema,
            args.out,
            threshold=args.threshold,
            model=args.model,
            settings=args.settings,
            reference_date=args.reference_date,
            progress=progress_bar("link"),
            labels=args.labels,
            command=command_record("link", args),
            include_kk=args.kk_column,
            engine=engine,
            partitioned_output=args.partitioned_output,
        )
    s = run.result.summary
    print(
        f"left  {s['input_left']:>9,} rows: {s['linked_left']:,} linked, "
        f"{s['unlinked_left']:,} unlinked, {s['rejected_left']:,} rejected"
    )
    print(
        f"right {s['input_right']:>9,} rows: {s['linked_right']:,} linked, "
        f"{s['unlinked_right']:,} unlinked, {s['rejected_right']:,} rejected"
    )
    print(
        f"{s['links']:,} links from {s['candidate_pairs']:,} candidate pairs; "
        f"{s['duplicates_left']:,} left and {s['duplicates_right']:,} right records linked as "
        f"duplicates, {s['sole_candidates']:,} as each other's only candidate; estimated false "
        f"links {s['expected_false_links']:,.0f} (FDR {s['estimated_fdr']:.2%}, label-free)"
    )
    left_out = s.get("left_out") or {}
    for what in ("comparisons", "blocking_rules"):
        if left_out.get(what):
            print(
                f"left out {what.replace('_', ' ')} {', '.join(left_out[what])}: "
                "neither register has their columns"
            )
    if s.get("ml_training"):
        t = s["ml_training"]
        decides = "the ML matcher" if s.get("matcher") == "ml" else "the Fellegi-Sunter model"
        print(
            f"{t['labelled_pairs']:,} reviewed pairs ({t['matches']:,} matches; "
            f"{t['unknown_ids']:,} with ids not in these registers); {decides} decides: "
            f"{t.get('why', '')}"
        )
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def _check_labels(path: Path) -> None:
    """A labels file the ML matcher can learn from: both match and non_match decisions."""
    from bansos_linkage.errors import InputError
    from bansos_linkage.review import read_labels, training_pairs

    decided = training_pairs(read_labels(path))["is_match"]
    if decided.nunique() < 2:
        only = (
            "no decided pairs"
            if decided.empty
            else f"only {'match' if decided.iloc[0] else 'non_match'} decisions"
        )
        raise InputError(
            f"{only}; the ML matcher needs both match and non_match decisions", file=path
        )


def _add_link_new(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "link-new",
        help="link a new export against an earlier link run, without refitting",
        description="Standardise NEW with --schema and link it to EXISTING_RUN's right "
        "register (records_right.parquet) with EXISTING_RUN's model.json (no EM): this "
        "month's additions against last month's run. Writes a run folder like 'link' into "
        "--out; links.csv says in right_linked_before which links are to a right record "
        "the earlier run had linked already (and to whom).",
    )
    p.add_argument(
        "new",
        type=Path,
        help="new export (e.g. DTKS additions): CSV, Parquet, Excel or a folder of Parquet files",
    )
    p.add_argument("existing_run", type=Path, help="folder written by 'link'")
    p.add_argument("--schema", required=True, help="NEW's preset name or mapping YAML")
    p.add_argument("--out", required=True, type=Path, help="output folder (not EXISTING_RUN)")
    p.add_argument(
        "--threshold",
        type=probability,
        help="match probability needed for a link (default: the model's)",
    )
    _add_run_dates_and_keys(p, "the earlier run's", "new")
    add_engine_options(p, "linking", spill=True)
    p.set_defaults(
        func=run_link_new,
        check=functools.partial(_check_link_new, p),
        inputs={"new": ("NEW", "file"), "existing_run": ("EXISTING_RUN", "folder")},
        outputs={"out": ("--out", "folder")},
    )


def run_link_new(args: argparse.Namespace) -> int:
    """Link NEW against EXISTING_RUN into the run folder ``--out``; print the counts."""
    from bansos_linkage.runs import command_record
    from bansos_linkage.runs.link import link_new_files

    with engine_of(args) as engine:
        run = link_new_files(
            args.new,
            args.existing_run,
            args.schema,
            args.out,
            threshold=args.threshold,
            reference_date=args.reference_date,
            progress=progress_bar("link-new"),
            command=command_record("link-new", args),
            include_kk=args.kk_column,
            engine=engine,
        )
    s = run.result.summary
    print(
        f"new   {s['input_left']:>9,} rows: {s['linked_left']:,} linked, "
        f"{s['unlinked_left']:,} unlinked, {s['rejected_left']:,} rejected"
    )
    print(
        f"{s['links']:,} links to {s['input_right']:,} right records of {args.existing_run}; "
        f"{s['linked_to_already_linked']:,} to a right record the earlier run had linked "
        "already (right_linked_before in links.csv)"
    )
    print(f"outputs written to {args.out}/")
    return EXIT_OK


__all__ = ["add_parser", "run_link", "run_link_new"]
