"""``bansos-linkage review export`` (a sheet of the pairs worth reviewing) and
``review import`` (its decisions added to the run's labels)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK
from bansos_linkage.cli.options import int_range, share


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``review`` command and its actions to the sub-commands ``sub``."""
    p = sub.add_parser(
        "review",
        help="clerical review of a link run: export a sheet, import the decisions",
        description="'export' picks the pairs worth reviewing (uncertain ones, ML and "
        "Fellegi-Sunter disagreements, a random share of the links) and writes a sheet with "
        "both records side by side; 'import' checks a filled-in sheet and adds its decisions "
        "to RUN_DIR/labels.csv (use it with 'link --labels').",
    )
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    export = actions.add_parser("export", help="write a review sheet (.xlsx or .csv)")
    export.add_argument("run_dir", type=Path, help="folder written by 'link'")
    export.add_argument(
        "--n",
        type=int_range(1, None),
        default=100,
        help="pairs in the sheet, at least 1 (default 100)",
    )
    export.add_argument("--out", required=True, type=Path, help="sheet.xlsx or sheet.csv")
    export.add_argument(
        "--random-share",
        type=share,
        default=0.1,
        help="share of random links, 0 to 1, for unbiased precision estimates (default 0.1)",
    )
    export.add_argument("--seed", type=int, default=0, help="seed of the random share")
    export.add_argument("--labels", type=Path, help="labels file (default RUN_DIR/labels.csv)")
    export.add_argument(
        "--blind",
        action="store_true",
        help="hide the scores, explanations and why each pair was chosen, so reviewers judge "
        "the records alone (the run folder keeps them for 'review import')",
    )
    export.set_defaults(
        func=run_review_export,
        inputs={"run_dir": ("RUN_DIR", "folder")},
        outputs={"out": ("--out", "file")},
    )
    imp = actions.add_parser("import", help="add a filled-in sheet's decisions to the labels")
    imp.add_argument("run_dir", type=Path, help="folder written by 'link'")
    imp.add_argument("sheet", type=Path, help="the filled-in sheet")
    imp.add_argument("--labels", type=Path, help="labels file (default RUN_DIR/labels.csv)")
    imp.set_defaults(
        func=run_review_import,
        inputs={"run_dir": ("RUN_DIR", "folder"), "sheet": ("SHEET", "file")},
        outputs={"labels": ("--labels", "file")},
    )


def run_review_export(args: argparse.Namespace) -> int:
    """Write the review sheet of RUN_DIR to ``--out`` and say what it holds."""
    from bansos_linkage.runs import folder_lock
    from bansos_linkage.runs.review import export_review

    with folder_lock(args.run_dir):  # a rerun of link must not replace the folder meanwhile
        sheet = export_review(
            args.run_dir,
            args.out,
            args.n,
            labels=args.labels,
            random_share=args.random_share,
            seed=args.seed,
            blind=args.blind,
        )
    if "selected_by" in sheet:
        counts = sheet["selected_by"].value_counts().to_dict()
        chosen = ", ".join(f"{v} {k}" for k, v in counts.items())
    else:
        chosen = "blind: no scores or explanations shown"
    print(f"{len(sheet)} pairs ({chosen}) written to {args.out}")
    print("fill in the 'decision' column (match / non_match / unsure), then 'review import'")
    return EXIT_OK


def run_review_import(args: argparse.Namespace) -> int:
    """Check a filled-in sheet and add its decisions to the labels file."""
    from bansos_linkage.runs import folder_lock, verify_run
    from bansos_linkage.runs.review import import_review

    with folder_lock(args.run_dir):  # a rerun of link must not replace the folder meanwhile
        verify_run(args.run_dir)  # a broken or interrupted run folder takes no labels
        decisions, labels = import_review(args.run_dir, args.sheet, labels=args.labels)
    counts = decisions["decision"].value_counts().to_dict()
    print(
        f"{len(decisions)} decisions read ({', '.join(f'{v} {k}' for k, v in counts.items())}); "
        f"the labels file now holds {len(labels):,} pairs"
    )
    return EXIT_OK


__all__ = ["add_parser", "run_review_export", "run_review_import"]
