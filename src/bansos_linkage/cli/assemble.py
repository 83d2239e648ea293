"""``bansos-linkage assemble`` (DTSEN from several registers, or an update of one
already assembled) and ``verval import`` (filled worklists applied to it)."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, progress_bar
from bansos_linkage.cli.options import check_input, int_range, probability


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``assemble`` and ``verval`` commands to the sub-commands ``sub``."""
    _add_assemble(sub)
    _add_verval(sub)


def _add_assemble(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "assemble",
        help="assemble DTSEN from several registers (or deduplicate one) with verval worklists",
        description="Standardise every --source, link them at person level (duplicates within "
        "each source grouped, every two sources linked, persons clustered strongest link "
        "first), link their families as groups and write persons.csv, families.csv, "
        "sources.csv, family_links.csv, conflicts.csv, transitions.csv (DTKS families that "
        "stay, drop out, join), worklists/ (one verval workbook per village) and summary.json "
        "into --out. One source alone is deduplicated.",
    )
    p.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="NAME=FILE[:SCHEMA]",
        help="a register export and its schema (a preset or mapping YAML; default: the "
        "preset NAME); repeat for each source, e.g. --source dtks=dtks.csv "
        "--source regsosek=regsosek.parquet",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument(
        "--backbone",
        help="the source families are built on (default: regsosek if given, else the first)",
    )
    # an update keeps the run's own PMT and scores: one of the three at most
    scoring = p.add_mutually_exclusive_group()
    scoring.add_argument(
        "--update",
        type=Path,
        metavar="RUN_DIR",
        help="apply the --source exports (e.g. this month's DTKS) to the register assembled "
        "in RUN_DIR: DTSEN ids kept, only new or changed records linked (saved models, no "
        "EM), changes.csv says what changed; RUN_DIR itself is not modified",
    )
    scoring.add_argument(
        "--survey",
        type=Path,
        help="households with per_capita_expenditure: fit the PMT and rank the families",
    )
    scoring.add_argument("--pmt", type=Path, help="a saved PMT (from 'score --save-pmt')")
    p.add_argument(
        "--cutoff-desil",
        type=int_range(1, 10),
        default=4,
        help="desil at or below which a family stays eligible (default 4)",
    )
    p.add_argument(
        "--worklists-by",
        choices=("village", "district"),
        default="village",
        help="one workbook per village, or per district with a sheet per village",
    )
    p.add_argument(
        "--uncertain-below",
        type=probability,
        default=0.9,
        help="persons built on a link less probable than this go on the worklists (0.9)",
    )
    p.add_argument(
        "--reference-date",
        type=dt.date.fromisoformat,
        help="'today' for date checks and ages, YYYY-MM-DD (default: today)",
    )
    p.set_defaults(
        func=run_assemble,
        check=functools.partial(_check_assemble, p),
        inputs={
            "survey": ("--survey", "file"),
            "pmt": ("--pmt", "file"),
            "update": ("--update", "folder"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _check_assemble(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--backbone not with --update (--survey and --pmt: the mutually exclusive group)."""
    if args.update is not None and args.backbone is not None:
        parser.error(
            "argument --backbone: not allowed with argument --update (the run's own is kept)"
        )


def run_assemble(args: argparse.Namespace) -> int:
    """Assemble the ``--source`` exports (or update ``--update`` with them) into
    ``--out`` and print the summary."""
    # imported here, not when the parser is built: the assembly package loads the
    # linker and openpyxl, which every other command would wait for
    from bansos_linkage.assembly.files import assemble_files, parse_source
    from bansos_linkage.assembly.update import update_files
    from bansos_linkage.runs import command_record

    args.source = [parse_source(text) for text in args.source]
    for source in args.source:
        check_input(Path(source.data), f"--source {source.name}", "file")
    if args.update is not None:
        result = update_files(
            args.update,
            args.source,
            args.out,
            reference_date=args.reference_date,
            progress=progress_bar("update"),
            command=command_record("assemble", args),
        )
        print(assembly_lines(result.summary))
        print(f"outputs written to {args.out}/ (what changed: changes.csv)")
        return EXIT_OK
    result = assemble_files(
        args.source,
        args.out,
        backbone=args.backbone,
        survey=args.survey,
        pmt=args.pmt,
        cutoff_desil=args.cutoff_desil,
        worklists_by=args.worklists_by,
        uncertain_below=args.uncertain_below,
        reference_date=args.reference_date,
        progress=progress_bar("assemble"),
        command=command_record("assemble", args),
    )
    print(assembly_lines(result.summary))
    print(f"outputs written to {args.out}/")
    return EXIT_OK


def assembly_lines(summary: dict) -> str:
    """The console summary of an assembly."""
    lines = []
    for name, n in summary["sources"].items():
        counts = summary.get("input", {}).get(name, {})
        dup = summary["duplicates"].get(name, 0)
        lines.append(
            f"{name:<9} {counts.get('input', n):>9,} rows: {counts.get('rejected', 0):,} "
            f"rejected, {dup:,} duplicates within the source"
        )
    lines.append(
        f"{summary['persons']:,} persons in {summary['families']:,} families; conflicts: "
        + (", ".join(f"{v:,} {k}" for k, v in summary["conflicts"].items()) or "none")
    )
    if "transitions" in summary:
        lines.append(
            "DTKS families: " + ", ".join(f"{v:,} {k}" for k, v in summary["transitions"].items())
        )
    if "worklist_items" in summary:
        lines.append(
            "worklist items: "
            + (", ".join(f"{v:,} {k}" for k, v in summary["worklist_items"].items()) or "none")
        )
    return "\n".join(lines)


def _add_verval(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verval",
        help="import filled verval worklists into an assembled register",
        description="Read filled worklists (from 'assemble'), check every decision and apply "
        "the valid ones to RUN_DIR's register without re-linking: records taken apart, "
        "values corrected, families confirmed. Invalid rows are listed with their file, "
        "sheet, row and what was expected, and nothing of them is applied.",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    imp = actions.add_parser("import", help="apply filled worklists to the register")
    imp.add_argument("run_dir", type=Path, help="folder written by 'assemble'")
    imp.add_argument("worklists", type=Path, nargs="+", help="filled workbooks (.xlsx)")
    imp.set_defaults(
        func=run_verval_import,
        inputs={"run_dir": ("RUN_DIR", "folder"), "worklists": ("WORKLIST", "file")},
    )


def run_verval_import(args: argparse.Namespace) -> int:
    """Apply the filled worklists to RUN_DIR's register and print what was applied."""
    from bansos_linkage.assembly.files import import_worklists

    report = import_worklists(args.run_dir, args.worklists)
    print(
        f"{report['decisions']:,} decisions applied ({report['changes']:,} changes), "
        f"{report['rejected']:,} rows rejected, {report['not_visited']:,} rows not yet decided"
    )
    if report["rejected"]:
        print(f"rejected rows and why: {args.run_dir}/verval_rejected.csv")
    return EXIT_OK


__all__ = ["add_parser", "assembly_lines", "run_assemble", "run_verval_import"]
