"""Option types shared by the commands, and the checks of the paths they are given.

The types raise :class:`argparse.ArgumentTypeError`, so argparse names the option in
its one-line error. The path checks run before any work: every input exists and can
be read, every output can be written (a :class:`~bansos_linkage.errors.UsageError`
or :class:`~bansos_linkage.errors.InputError` naming the option and the file).

Examples
--------
>>> probability("0.9")
0.9
>>> share("1")
1.0
>>> int_range(1, 10)("4")
4
>>> int_range(1, None)("0")
Traceback (most recent call last):
argparse.ArgumentTypeError: expected a whole number of at least 1, not 0
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bansos_linkage.errors import InputError, UsageError


def probability(text: str) -> float:
    """An argparse type: a match probability strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number strictly between 0 and 1") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError("a match probability strictly between 0 and 1")
    return value


def share(text: str) -> float:
    """A share or probability from 0 to 1 (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number from 0 to 1") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, not {value:g}")
    return value


def int_range(low: int, high: int | None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high`` (no bound if None)."""
    allowed = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number {allowed}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected a whole number {allowed}, not {value}")
        return value

    return parse


def folders_allowed(args: argparse.Namespace, dests: tuple[str, ...]) -> dict[str, Any]:
    """The command's input checks with a folder (a partitioned Parquet dataset) allowed
    for ``dests``: checked as a folder when it is one (a new dict: the parser's default
    is shared)."""
    inputs = dict(args.inputs)
    for dest in dests:
        path = getattr(args, dest)
        if path is not None and Path(path).is_dir():
            inputs[dest] = (inputs[dest][0], "folder")
    return inputs


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (also through links); False when unsure."""
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_paths(args: argparse.Namespace) -> None:
    """Before any work: every input file exists, is a file and can be read; --out can
    be written (an output file is not a folder, an output folder is not a file, and
    neither sits under a file or in a folder that cannot be written).

    A command lists its paths in its parser's defaults: ``inputs`` and ``outputs``,
    each ``{dest: (label, "file" or "folder")}``."""
    for dest, (label, kind) in getattr(args, "inputs", {}).items():
        value = getattr(args, dest, None)
        for path in value if isinstance(value, list) else [value]:
            if path is not None:
                check_input(Path(path), label, kind)
    for dest, (label, kind) in getattr(args, "outputs", {}).items():
        if getattr(args, dest, None) is not None:
            check_output(Path(getattr(args, dest)), label, kind)


def check_input(path: Path, label: str, kind: str) -> None:
    """An input ``path`` (given as ``label``) exists, is a ``kind`` (``"file"`` or
    ``"folder"``) and can be read; else an :class:`InputError` naming it."""
    if not path.exists():
        raise InputError(f"not found (given as {label})", file=path)
    if kind == "file" and path.is_dir():
        raise InputError(f"is a folder; {label} must be a file", file=path)
    if kind == "folder" and not path.is_dir():
        raise InputError(f"is not a folder; {label} must be a folder written by 'link'", file=path)
    if not os.access(path, os.R_OK | (os.X_OK if kind == "folder" else 0)):
        raise InputError(f"cannot be read (permission denied; given as {label})", file=path)


def check_output(path: Path, label: str, kind: str) -> None:
    """An output ``path`` (given as ``label``) can be written as a ``kind``
    (``"file"`` or ``"folder"``); else a :class:`UsageError` naming it."""
    if kind == "file" and path.is_dir():
        raise UsageError("is a folder; expected an output file", option=label, file=path)
    if kind == "folder" and path.exists() and not path.is_dir():
        raise UsageError("is a file; expected an output folder", option=label, file=path)
    if path.exists() and not os.access(path, os.W_OK):
        raise UsageError("cannot be written (permission denied)", option=label, file=path)
    if path.exists() and kind == "file":
        return
    parent = path.parent if kind == "file" else path
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"cannot be created: {parent} is a file", option=label, file=path)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot be written: folder {parent} is read-only", option=label, file=path
        )


__all__ = [
    "check_input",
    "check_output",
    "check_paths",
    "folders_allowed",
    "int_range",
    "probability",
    "same_file",
    "share",
]
