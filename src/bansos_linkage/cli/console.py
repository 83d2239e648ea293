"""What a command returns and prints: the exit codes, ``--quiet`` and progress bars.

Examples
--------
>>> EXIT_OK, EXIT_INTERNAL, EXIT_USAGE
(0, 1, 2)
>>> set_quiet(True); is_quiet()
True
>>> progress_bar("link")(1, 2, "compare")  # nothing with --quiet
>>> set_quiet(False)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE = 0, 1, 2
#: Set from ``--quiet`` by :func:`bansos_linkage.cli.main`: no progress and no summaries.
_CONSOLE = {"quiet": False}


def set_quiet(quiet: bool) -> None:
    """Turn ``--quiet`` on or off for the command about to run."""
    _CONSOLE["quiet"] = quiet


def is_quiet() -> bool:
    """Whether ``--quiet`` was given."""
    return _CONSOLE["quiet"]


@contextlib.contextmanager
def quiet_stdout(args: argparse.Namespace) -> Iterator[None]:
    """With ``--quiet``, a command's informational output (counts, "written to")
    goes nowhere; errors and warnings (stderr) still print. A command whose standard
    output is its product (``schema`` prints a preset) sets ``stdout_is_output``."""
    if not _CONSOLE["quiet"] or getattr(args, "stdout_is_output", False):
        yield
        return
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield


def progress_bar(label: str = "standardise", width: int = 30) -> Callable[[int, int, str], None]:
    """A progress callback on stderr: on a terminal, a bar redrawn in place
    (``label [#####-----] 3/7 stage``); otherwise (a log file, a pipe) one plain line
    per stage (``label [3/7] stage``), never a carriage return; nothing with ``--quiet``."""
    if _CONSOLE["quiet"]:
        return _no_progress
    if not _is_terminal(sys.stderr):

        def line(done: int, total: int, stage: str) -> None:
            print(f"{label} [{done}/{total}] {stage}", file=sys.stderr, flush=True)

        return line

    def draw(done: int, total: int, stage: str) -> None:
        filled = width * done // max(total, 1)
        end = "\n" if done >= total else ""
        bar = "#" * filled + "-" * (width - filled)
        print(
            f"\r{label} [{bar}] {done}/{total} {stage:<44.44}", end=end, file=sys.stderr, flush=True
        )

    return draw


def _no_progress(done: int, total: int, stage: str) -> None:
    """The progress callback of ``--quiet``."""


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


__all__ = [
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "is_quiet",
    "progress_bar",
    "quiet_stdout",
    "set_quiet",
]
