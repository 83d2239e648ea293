"""What every peer runner shares: the command-line contract and the single JSON line.

Each runner lives in its own virtual environment (Splink, recordlinkage), so it
cannot import bansos_linkage; this module sits beside them and needs only the
standard library.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path


def parser(description: str) -> argparse.ArgumentParser:
    """The arguments every runner takes; runners add their own."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--left", required=True, type=Path)
    p.add_argument("--right", required=True, type=Path)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--dataset", required=True, choices=["indonesia", "febrl"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threshold", type=float, default=0.5)
    return p


def run_and_report(p: argparse.ArgumentParser, argv, run: Callable[[argparse.Namespace], dict]):
    """Parse, check the threshold, run with library output sent to stderr, and print
    the result as the one JSON line on stdout."""
    args = p.parse_args(argv)
    if not 0.0 < args.threshold < 1.0:
        p.error("--threshold must be a probability strictly between 0 and 1")
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result), flush=True)
    return args
