"""``bansos-linkage link`` (two register exports at person level) and ``link-new``
(a new export against an earlier link run, without refitting)."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bansos_linkage.cli.console import EXIT_OK, progress_bar
from bansos_linkage.cli.options import int_range, probability, same_file

#: Workers of the LocalCluster that ``--engine dask`` starts without ``--scheduler``.
DEFAULT_WORKERS = 2
#: The Dask engine's options: each needs ``--engine dask``.
DASK_OPTIONS = ("scheduler", "workers", "memory_limit", "spill_dir")


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
    _add_engine(p)
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


def _add_engine(p: argparse.ArgumentParser) -> None:
    """--engine and the Dask engine's options (docs/scale.md)."""
    g = p.add_argument_group(
        "engine", "where the linking runs; the links are the same (see docs/scale.md)"
    )
    g.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="local: in this process (default); dask: on a Dask cluster, a LocalCluster "
        'started for the run or --scheduler\'s (needs pip install "bansos-linkage[dask]")',
    )
    where = g.add_mutually_exclusive_group()
    where.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="the Dask scheduler to run on (e.g. tcp://10.0.0.5:8786); else a LocalCluster",
    )
    where.add_argument(
        "--workers",
        type=int_range(1, None),
        metavar="N",
        help=f"worker processes of the LocalCluster, one thread each (default {DEFAULT_WORKERS})",
    )
    g.add_argument(
        "--memory-limit",
        type=memory_limit,
        metavar="M",
        help="memory limit of each LocalCluster worker, e.g. 4GB (default: auto, the "
        "machine's memory shared among the workers)",
    )
    g.add_argument(
        "--spill-dir",
        type=Path,
        metavar="DIR",
        help="where workers write their scored pairs as Parquet for resolution, and the "
        "records as read once regrouped by region (default: kept in the workers' memory); "
        "with --scheduler on several machines, a folder all the workers can read",
    )


def memory_limit(text: str) -> str:
    """An argparse type: ``auto`` or a size with its unit (``4GB``, ``512MiB``)."""
    value = text.strip()
    if value.lower() == "auto":
        return "auto"
    if re.fullmatch(r"\d+(\.\d+)?\s*[kmgtp]i?b?", value, flags=re.IGNORECASE):
        return value
    raise argparse.ArgumentTypeError(f"expected auto or a size such as 4GB or 512MiB, not {text!r}")


def _check_link(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """LEFT and RIGHT are two files (or folders); the Dask options go with --engine dask."""
    if same_file(args.left, args.right):
        parser.error(
            f"LEFT and RIGHT are the same file ({args.left}); link two different registers"
        )
    _check_engine(parser, args)
    if args.engine == "dask" and args.labels is not None:
        parser.error(
            "argument --labels: not allowed with --engine dask (the Dask engine does not "
            "train the ML matcher)"
        )
    args.inputs = _folders_allowed(args, ("left", "right"))


def _check_engine(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The Dask engine's options go with --engine dask; a LocalCluster's memory limit
    not with another cluster's scheduler."""
    given = [name for name in DASK_OPTIONS if getattr(args, name) is not None]
    if args.engine != "dask" and given:
        parser.error(f"argument --{given[0].replace('_', '-')}: needs --engine dask")
    if args.scheduler is not None and args.memory_limit is not None:
        parser.error("argument --memory-limit: not allowed with argument --scheduler")


def _check_link_new(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """NEW may be a folder (a partitioned dataset); the engine's options as for 'link'."""
    _check_engine(parser, args)
    args.inputs = _folders_allowed(args, ("new",))


def _folders_allowed(args: argparse.Namespace, dests: tuple[str, ...]) -> dict[str, Any]:
    """The command's input checks with a folder (a partitioned Parquet dataset) allowed
    for ``dests``: checked as a folder when it is one (a new dict: the parser's default
    is shared)."""
    inputs = dict(args.inputs)
    for dest in dests:
        path = getattr(args, dest)
        if path is not None and Path(path).is_dir():
            inputs[dest] = (inputs[dest][0], "folder")
    return inputs


@contextmanager
def _engine(args: argparse.Namespace) -> Iterator[Any]:
    """The engine of ``--engine``: None (in this process), or a DaskEngine on
    ``--scheduler``'s cluster or on a LocalCluster started (and closed) for the run."""
    if args.engine != "dask":
        yield None
        return
    from bansos_linkage.errors import UsageError

    try:
        from distributed import Client, LocalCluster

        from bansos_linkage.engines.dask import DaskEngine
    except ImportError:
        raise UsageError(
            'the Dask engine needs Dask: pip install "bansos-linkage[dask]"', option="--engine"
        ) from None
    if logging.getLogger().getEffectiveLevel() > logging.INFO:  # Dask's INFO lines: with -v
        logging.getLogger("distributed").setLevel(logging.WARNING)
    if args.scheduler is not None:
        try:
            client = Client(args.scheduler)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(
                f"cannot connect to a Dask scheduler there ({type(exc).__name__})",
                option=f"--scheduler {args.scheduler}",
            ) from None
        with client:
            workers = len(client.scheduler_info().get("workers", {}))
            print(f"engine dask: scheduler {args.scheduler}, {workers} workers")
            yield DaskEngine(client, spill_dir=args.spill_dir)
        return
    n = args.workers or DEFAULT_WORKERS
    limit = args.memory_limit or "auto"
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, memory_limit=limit, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        print(f"engine dask: a LocalCluster of {n} workers (memory limit {limit} each)")
        yield DaskEngine(client, spill_dir=args.spill_dir)


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
    with _engine(args) as engine:
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
        f"duplicates; estimated false links {s['expected_false_links']:,.0f} "
        f"(FDR {s['estimated_fdr']:.2%}, label-free)"
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
    _add_engine(p)
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

    with _engine(args) as engine:
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


__all__ = ["add_parser", "memory_limit", "run_link", "run_link_new"]
