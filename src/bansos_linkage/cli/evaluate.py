"""``bansos-linkage evaluate``: a link run measured against the truth (``--truth``)
or estimated from reviewed labels (``--labels``)."""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK
from bansos_linkage.cli.options import share
from bansos_linkage.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "evaluate",
        help="measure a link run against the truth or reviewed labels",
        description="With --truth: score RUN_DIR's links against true pairs: precision, "
        "recall and F1 of the run, the threshold curve of the links each threshold would "
        "make, the best-F1 threshold and the lowest threshold reaching --min-precision; "
        "writes metrics.csv, threshold_curve.csv, false_links.csv, missed_links.csv and "
        "three plots into --out (default RUN_DIR/evaluation). With --labels (default "
        "RUN_DIR/labels.csv when neither is given): estimate the precision of the links "
        "with a 95% interval from the reviewed random sample of the links, and recall "
        "from a reviewed random sample of candidate pairs if there is one; writes "
        "metrics.csv into --out (default RUN_DIR/evaluation_labels).",
    )
    p.add_argument("run_dir", type=Path, help="folder written by 'link'")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--truth",
        type=Path,
        nargs="+",
        metavar="FILE",
        help="true pairs (left_id,right_id), or two truth files of the left and right "
        "records (record_id,person_id) as 'synth' writes them",
    )
    source.add_argument(
        "--labels",
        type=Path,
        metavar="FILE",
        help="reviewed pairs (left_id,right_id,decision,selected_by), as 'review import' "
        "writes RUN_DIR/labels.csv",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="folder for the tables and plots (default RUN_DIR/evaluation, "
        "RUN_DIR/evaluation_labels with labels)",
    )
    p.add_argument(
        "--min-precision",
        type=share,
        default=0.995,
        help="precision floor, 0 to 1 (default 0.995)",
    )
    p.set_defaults(
        func=run_evaluate,
        check=functools.partial(_check_evaluate, p),
        inputs={
            "run_dir": ("RUN_DIR", "folder"),
            "truth": ("--truth", "file"),
            "labels": ("--labels", "file"),
        },
        outputs={"out": ("--out", "folder")},
    )


def _check_evaluate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--truth takes one or two files."""
    if args.truth is not None and len(args.truth) > 2:
        parser.error(
            f"argument --truth: takes one file of pairs or two truth files, not {len(args.truth)}"
        )


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate RUN_DIR against ``--truth``, else from reviewed labels; print the table."""
    from bansos_linkage.evaluation import read_truth
    from bansos_linkage.runs.evaluate import evaluate_run

    if args.truth is None:
        return _evaluate_labels(args)
    for path in args.truth:  # reviewed decisions are not true pairs
        if "decision" in _header(path):
            raise UsageError(
                "is a labels file (it has a decision column), not true pairs: its "
                "non-matches would count as true links. Evaluate from reviewed labels "
                f"with --labels {path}",
                option="--truth",
                file=path,
            )
    truth = read_truth(*args.truth)
    if truth.empty:  # precision and recall against nothing mean nothing
        from bansos_linkage.errors import InputError

        raise InputError(
            "no true pairs (no rows below the header, or no person in both truth files)",
            file=" and ".join(str(p) for p in args.truth),
        )
    out = args.out or args.run_dir / "evaluation"
    result = evaluate_run(args.run_dir, truth, out, args.min_precision)
    columns = ["what", "threshold", "match_weight", "precision", "recall", "f1"]
    counts = ["true_positives", "false_positives"]
    table = result["table"][[*columns, *counts]].astype({c: "Int64" for c in counts})
    with_fmt = table.to_string(index=False, float_format=lambda v: f"{v:.4f}")
    print(f"{len(truth):,} true pairs; scores: {result['score']}")
    print(with_fmt)
    print(f"tables and plots written to {out}/")
    return EXIT_OK


def _header(path: Path) -> list[str]:
    """The column names of a table file (lower case), or none if it cannot be read."""
    from bansos_linkage.io import read_table

    try:
        return [str(c).strip().lower() for c in read_table(path).columns]
    except Exception:  # read_truth reports what is wrong with the file
        return []


def _evaluate_labels(args: argparse.Namespace) -> int:
    """``evaluate --labels``: precision (and recall) estimates from reviewed pairs."""
    import pandas as pd

    from bansos_linkage.runs.evaluate import evaluate_labels

    labels = args.labels
    if labels is None:
        labels = args.run_dir / "labels.csv"
        if not labels.is_file():
            raise UsageError(
                "give --truth (true pairs) or --labels (reviewed pairs); the run folder "
                "has no labels.csv (review export / review import make one)",
                option="RUN_DIR",
                file=args.run_dir,
            )
    out = args.out or args.run_dir / "evaluation_labels"
    result = evaluate_labels(args.run_dir, labels, out)
    counts = result["counts"]
    print(
        f"{counts['labels read']:,} labels read from {labels}: {counts['labels used']:,} used, "
        f"{counts['labels left out: unsure']:,} unsure and "
        f"{counts['labels left out: pair not scored in this run']:,} not in this run left out"
    )
    table = result["table"]
    for _, row in table[table["labels"].isna()].iterrows():
        line = str(row["what"])
        if pd.notna(row.get("precision")):
            line += (
                f": precision {row['precision']:.4f} "
                f"(95% interval {row['precision_low']:.4f} to {row['precision_high']:.4f}, "
                f"{int(row['sample_size'])} reviewed)"
            )
        if pd.notna(row.get("recall")):
            line += (
                f", recall {row['recall']:.4f} "
                f"(95% interval {row['recall_low']:.4f} to {row['recall_high']:.4f})"
            )
        if pd.notna(row.get("false_positives")):
            line += (
                f": {int(row['sample_size'])} pairs, {int(row['false_positives'])} links "
                f"found wrong, {int(row['false_negatives'])} matches found unlinked"
            )
        print(line)
    for text in result["warnings"]:
        print(f"warning: {text}", file=sys.stderr)
    print(f"metrics written to {out}/")
    return EXIT_OK


__all__ = ["add_parser", "run_evaluate"]
