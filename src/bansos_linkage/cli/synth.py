"""``bansos-linkage synth``: a synthetic population, its registers and their truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from bansos_linkage.cli.console import EXIT_OK, progress_bar
from bansos_linkage.cli.options import int_range


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``synth`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "synth",
        help="generate a synthetic population and its registers with ground truth",
        description="Write Regsosek-, DTKS- and P3KE-like registers (matching the built-in "
        "presets), their truth files, the true persons and households, a survey sample and "
        "the config used. The same seed and settings give byte-identical files.",
    )
    p.add_argument(
        "--households", type=int_range(1, None), default=2_000, help="number of households"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--scenario",
        default="default",
        help="clean, default, hard, or mix01 .. mix24 (rates drawn at random from wide ranges; "
        "tune on mix01-mix06, report on mix07-mix24)",
    )
    source.add_argument(
        "--config",
        type=Path,
        help="a config.json from an earlier run (instead of --scenario; --households and "
        "--seed still apply when given)",
    )
    p.add_argument(
        "--format",
        default="csv",
        choices=["csv", "parquet", "xlsx"],
        help="file format of the tables (default csv)",
    )
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.set_defaults(
        func=run_synth,
        inputs={"config": ("--config", "file")},
        outputs={"out": ("--out", "folder")},
    )


def run_synth(args: argparse.Namespace) -> int:
    """Generate the population of a scenario (or a saved config) and write its files."""
    import json

    from bansos_linkage.errors import InputError
    from bansos_linkage.synthetic import config_from_dict, generate, scenario

    overrides = {"households": args.households, "seed": args.seed}
    if args.config:
        try:
            data = json.loads(args.config.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(
                "not a JSON config file as 'synth' writes it", file=args.config
            ) from None
        if not isinstance(data, dict):
            raise InputError("expected a JSON object as 'synth' writes it", file=args.config)
        config = config_from_dict({**data, **overrides})
    else:
        config = scenario(args.scenario, **overrides)
    data = generate(config, progress=progress_bar("synth"))
    paths = data.write(args.out, args.format)
    for name, table in data.registers.items():
        print(f"{name:<9} {len(table):>9,} records")
    print(f"{len(paths)} files written to {args.out}/")
    return EXIT_OK


__all__ = ["add_parser", "run_synth"]
