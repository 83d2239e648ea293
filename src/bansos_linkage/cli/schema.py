"""``bansos-linkage schema``: list the source-schema presets, or print one as YAML."""

from __future__ import annotations

import argparse

from bansos_linkage.cli.console import EXIT_OK


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``schema`` command to the sub-commands ``sub``."""
    p = sub.add_parser(
        "schema",
        help="list or show source-schema presets",
        description="List the built-in presets, or print one as YAML to copy and edit.",
    )
    p.add_argument("name", nargs="?", help="preset name or YAML file to show")
    p.set_defaults(func=run_schema, stdout_is_output=True)


def run_schema(args: argparse.Namespace) -> int:
    """Print the preset names, a preset's file, or a mapping file as loaded."""
    from bansos_linkage.schema import list_presets, load_schema, preset_path

    if args.name is None:
        print("\n".join(list_presets()))
    elif args.name in list_presets():
        print(preset_path(args.name).read_text(encoding="utf-8"), end="")
    else:
        print(load_schema(args.name).to_yaml(), end="")
    return EXIT_OK


__all__ = ["add_parser", "run_schema"]
