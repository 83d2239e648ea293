"""Command-line interface: ``bansos-linkage COMMAND``.

Thin by design: each command parses its arguments and calls the public API.
Exit codes: 0 ok, 2 bad input or usage, 1 internal error.

One module per command, each with ``add_parser(sub)`` and its handler
(``run_<command>``): ``standardise``, ``schema``, ``settings``, ``synth``, ``link``
(``link`` and ``link-new``), ``review`` (``export``, ``import``), ``evaluate``,
``score``, ``assemble`` (``assemble`` and ``verval import``) and ``demo``. ``app``
builds the parser and runs a command (:func:`main`); ``options`` holds the option
types shared by the commands and the checks of the paths they are given;
``console`` the exit codes, ``--quiet`` and the progress bars. The handlers import
the library inside their bodies, so that ``bansos-linkage --help`` starts fast.

Examples
--------
>>> from bansos_linkage.cli import build_parser
>>> args = build_parser().parse_args(["schema", "dtks"])
>>> args.name
'dtks'
"""

from bansos_linkage.cli.app import build_parser, main, run
from bansos_linkage.cli.assemble import assembly_lines
from bansos_linkage.cli.console import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, progress_bar
from bansos_linkage.cli.score import N_CRITERIA

__all__ = [
    "run",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "N_CRITERIA",
    "assembly_lines",
    "build_parser",
    "main",
    "progress_bar",
]
