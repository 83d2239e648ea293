"""``--engine`` and the Dask engine's options, shared by ``link``, ``link-new`` and
``score`` (docs/scale.md)."""

from __future__ import annotations

import argparse
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bansos_linkage.cli.options import int_range

#: Workers of the LocalCluster that ``--engine dask`` starts without ``--scheduler``.
DEFAULT_WORKERS = 2
#: The Dask engine's options: each needs ``--engine dask``.
DASK_OPTIONS = ("scheduler", "workers", "memory_limit", "spill_dir")


def add_engine_options(p: argparse.ArgumentParser, work: str, *, spill: bool) -> None:
    """--engine and the Dask engine's options; ``work`` names what runs there
    (``linking``, ``scoring``); ``spill``: the command has --spill-dir."""
    g = p.add_argument_group(
        "engine", f"where the {work} runs; the results are the same (see docs/scale.md)"
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
    if spill:
        g.add_argument(
            "--spill-dir",
            type=Path,
            metavar="DIR",
            help="where workers write their scored pairs as Parquet for resolution, and the "
            "records as read once regrouped by region (default: kept in the workers' "
            "memory); with --scheduler on several machines, a folder all the workers can read",
        )


def memory_limit(text: str) -> str:
    """An argparse type: ``auto`` or a size with its unit (``4GB``, ``512MiB``)."""
    value = text.strip()
    if value.lower() == "auto":
        return "auto"
    if re.fullmatch(r"\d+(\.\d+)?\s*[kmgtp]i?b?", value, flags=re.IGNORECASE):
        return value
    raise argparse.ArgumentTypeError(f"expected auto or a size such as 4GB or 512MiB, not {text!r}")


def check_engine(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The Dask engine's options go with --engine dask; a LocalCluster's memory limit
    not with another cluster's scheduler."""
    given = [name for name in DASK_OPTIONS if getattr(args, name, None) is not None]
    if args.engine != "dask" and given:
        parser.error(f"argument --{given[0].replace('_', '-')}: needs --engine dask")
    if args.scheduler is not None and args.memory_limit is not None:
        parser.error("argument --memory-limit: not allowed with argument --scheduler")


@contextmanager
def engine_of(args: argparse.Namespace) -> Iterator[Any]:
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
    spill = getattr(args, "spill_dir", None)
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
            yield DaskEngine(client, spill_dir=spill)
        return
    n = args.workers or DEFAULT_WORKERS
    limit = args.memory_limit or "auto"
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, memory_limit=limit, dashboard_address=None
    )
    with cluster, Client(cluster) as client:
        print(f"engine dask: a LocalCluster of {n} workers (memory limit {limit} each)")
        yield DaskEngine(client, spill_dir=spill)


__all__ = ["add_engine_options", "check_engine", "engine_of", "memory_limit"]
