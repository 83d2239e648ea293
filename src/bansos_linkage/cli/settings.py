"""``bansos-linkage settings``: print or write linkage settings to edit and use with
``link --settings``."""

from __future__ import annotations

import argparse
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, is_quiet


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``settings`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "settings",
        help="print or write linkage settings (YAML) to edit and use with 'link --settings'",
        description="Print the default linkage settings (blocking rules, comparisons and "
        "their levels, thresholds, EM options) as YAML, or those of a model file with "
        "--model; --out writes them to a file instead (JSON if it ends in .json, else YAML).",
    )
    p.add_argument("--model", type=Path, help="model.json of an earlier run: its settings")
    p.add_argument("--out", type=Path, help="write to this file (.yaml, .yml or .json)")
    p.set_defaults(
        func=run_settings,
        stdout_is_output=True,
        inputs={"model": ("--model", "file")},
        outputs={"out": ("--out", "file")},
    )


def run_settings(args: argparse.Namespace) -> int:
    """Print the default settings (or a model's), or write them to ``--out``."""
    from bansos_linkage.linkage.configure import default_settings, model_settings
    from bansos_linkage.linkage.settings import settings_text, write_settings

    settings = default_settings() if args.model is None else model_settings(args.model)
    if args.out is None:
        print(settings_text(settings), end="")
        return EXIT_OK
    write_settings(settings, args.out)
    if not is_quiet():
        print(f"settings written to {args.out}")
    return EXIT_OK


__all__ = ["add_parser", "run_settings"]
