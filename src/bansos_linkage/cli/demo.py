"""``bansos-linkage demo``: the end-to-end demo on built-in synthetic data
(:func:`bansos_linkage.demo.run_demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, progress_bar
from bansos_linkage.cli.options import int_range


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "demo",
        help="run the end-to-end demo on built-in synthetic data",
        description="Generate a small synthetic population with DTKS-, Regsosek- and "
        "P3KE-like exports, read each back, standardise it and print the validation summaries.",
    )
    p.add_argument(
        "--households", type=int_range(1, None), default=500, help="households (default 500)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--out",
        type=Path,
        default=Path("out/demo"),
        help="folder for the demo outputs (default: out/demo)",
    )
    p.set_defaults(func=run_demo, outputs={"out": ("--out", "folder")})


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo into ``--out`` and print its summaries."""
    from bansos_linkage import demo

    print(demo.run_demo(args.out, args.households, args.seed, progress=progress_bar("demo")))
    print(f"\noutputs written to {args.out}/")
    return EXIT_OK


__all__ = ["add_parser", "run_demo"]
