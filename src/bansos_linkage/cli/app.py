"""The parser of every command, and :func:`main`, which runs one and turns what it
raises into an exit code.

A command module adds its parser with ``add_parser(sub)``, which sets the parser's
defaults: ``func`` (the handler), ``inputs`` and ``outputs`` (the paths checked
before any work, :func:`bansos_linkage.cli.options.check_paths`) and, when options
conflict in a way argparse cannot say, ``check`` (run right after parsing; it calls
``parser.error``: argparse's usage, one ``error:`` line and exit code 2).
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from bansos_linkage import __version__
from bansos_linkage.cli import (
    assemble,
    demo,
    evaluate,
    link,
    review,
    schema,
    score,
    settings,
    standardise,
    synth,
)
from bansos_linkage.cli.console import (
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_USAGE,
    quiet_stdout,
    set_quiet,
)
from bansos_linkage.cli.options import check_paths
from bansos_linkage.errors import BansosLinkageError
from bansos_linkage.memory import keep_freed_memory


def run() -> int:
    """The ``bansos-linkage`` program: :func:`main` in a process of its own, whose
    allocator keeps freed memory for reuse (a run frees and allocates large arrays
    again and again; process-wide, so the program sets it, never the library nor
    :func:`main` called from other code)."""
    keep_freed_memory()
    return main()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    check = getattr(args, "check", None)
    if check is not None:  # options that conflict: parser.error exits 2 with the usage
        check(args)
    set_quiet(bool(getattr(args, "quiet", False)))
    logging.basicConfig(
        level=logging.WARNING - 10 * args.verbose, format="%(levelname)s %(message)s"
    )
    if not hasattr(args, "func"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        check_paths(args)
        with quiet_stdout(args):
            return int(args.func(args) or EXIT_OK)
    except BansosLinkageError as exc:
        print(f"error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a bug
            return _internal_error(exc, args.verbose)
        # e.g. "error: out/x.csv: Permission denied (PermissionError)"
        what = exc.strerror or "cannot be used"
        print(f"error: {exc.filename}: {what} ({type(exc).__name__})", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # KeyError, IndexError, ...: a bug, never the user's input
        return _internal_error(exc, args.verbose)


def _internal_error(exc: Exception, verbose: int) -> int:
    """Say what kind of error, never its message (it may quote the data); the
    traceback only with -v."""
    print(
        f"internal error ({type(exc).__name__}) — please report it with the command you ran"
        + ("" if verbose else "; rerun with -v for the traceback"),
        file=sys.stderr,
    )
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    return EXIT_INTERNAL


def _one_line(text: str) -> str:
    return "; ".join(line.strip() for line in text.splitlines() if line.strip())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command."""
    parser = argparse.ArgumentParser(
        prog="bansos-linkage",
        description="Link Indonesian social-protection registers and score eligibility.",
        epilog="exit codes: 0 ok; 2 bad input or usage (one line naming the file or option); "
        "1 internal error (please report; -v shows the traceback)",
    )
    parser.add_argument("--version", action="version", version=f"bansos-linkage {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    standardise.add_parser(sub)
    schema.add_parser(sub)
    settings.add_parser(sub)
    synth.add_parser(sub)
    link.add_parser(sub)  # link and link-new
    review.add_parser(sub)
    evaluate.add_parser(sub)
    score.add_parser(sub)
    assemble.add_parser(sub)  # assemble and verval
    demo.add_parser(sub)
    _add_quiet(parser)
    return parser


def _add_quiet(parser: argparse.ArgumentParser, top: bool = True) -> None:
    """``-q/--quiet`` on ``parser`` and on every command and action under it, so it may
    be given before or after the command (``bansos-linkage -q link ...`` or
    ``bansos-linkage link ... -q``)."""
    help_text = "no progress bars and no summaries; errors and warnings still print"
    if "--quiet" not in parser._option_string_actions:
        # under a command the default is left unset, so it cannot undo a -q given before it
        default = False if top else argparse.SUPPRESS
        parser.add_argument("-q", "--quiet", action="store_true", default=default, help=help_text)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _add_quiet(command, top=False)


__all__ = ["build_parser", "main"]
