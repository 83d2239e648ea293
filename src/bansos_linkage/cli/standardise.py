"""``bansos-linkage standardise``: one register export to canonical records, with its
report and rejected rows beside them."""

from __future__ import annotations

import argparse
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, progress_bar


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``standardise`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "standardise",
        help="standardise a register export into canonical records",
        description="Read a CSV/Parquet/Excel export, map it through a schema, and write the "
        "canonical records plus OUTPUT-stem.report and .rejected tables beside OUTPUT.",
    )
    p.add_argument("input", type=Path, help="CSV, Parquet or Excel export")
    p.add_argument(
        "--schema", required=True, help="preset name (dtks, regsosek, p3ke) or YAML file"
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output file (.parquet or .csv; without a suffix, .parquet); a folder is refused",
    )
    p.add_argument("--sheet", help="Excel sheet name (default: the first sheet)")
    p.add_argument("--encoding", help="CSV encoding (default: utf-8, then cp1252, then latin-1)")
    p.add_argument("--delimiter", help="CSV delimiter (default: sniffed)")
    p.add_argument("--crosswalk", type=Path, help="BPS -> Kemendagri region-code crosswalk CSV")
    p.set_defaults(
        func=run_standardise,
        inputs={"input": ("INPUT", "file"), "crosswalk": ("--crosswalk", "file")},
        outputs={"out": ("--out", "file")},
    )


def run_standardise(args: argparse.Namespace) -> int:
    """Read, standardise and write the records, report and rejected rows atomically."""
    from bansos_linkage.io import read_table, write_table
    from bansos_linkage.runs import atomic_files
    from bansos_linkage.standardisation import standardise

    data = read_table(
        args.input, sheet=args.sheet, encoding=args.encoding, delimiter=args.delimiter
    )
    if data.empty:  # as link and score say: the wrong export (or sheet), not an empty register
        from bansos_linkage.errors import InputError

        raise InputError("no rows below the header; expected one row per record", file=args.input)
    result = standardise(data, args.schema, crosswalk=args.crosswalk, progress=progress_bar())
    out: Path = args.out
    suffix = out.suffix.lower() if out.suffix.lower() in (".parquet", ".csv") else ".parquet"
    records = out if out.suffix else out.with_suffix(suffix)
    report = out.with_name(f"{out.stem}.report{suffix}")
    rejected = out.with_name(f"{out.stem}.rejected{suffix}")
    with atomic_files(records, report, rejected) as temp:  # no half-written file, ever
        write_table(result.records, temp[0])
        write_table(result.report, temp[1], for_people=True)
        write_table(result.rejected, temp[2], for_people=True)
    print(result.summary_text())
    return EXIT_OK


__all__ = ["add_parser", "run_standardise"]
