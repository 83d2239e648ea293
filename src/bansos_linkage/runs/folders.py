"""Output folders that are whole or absent: atomic writing, a manifest, a lock.

A run folder (``link``'s ``--out``, ``score``'s ``--out``) is written into a hidden
temporary folder beside it and renamed into place only once every file is there,
so an interrupted run leaves the previous folder (or none) rather than half of
one. The last file written is ``manifest.json``: every file of the run with its
size and SHA-256, the library version, the command, the settings and the time.
:func:`verify_run` checks a folder against it before the folder is read back.
A ``.NAME.lock`` file beside the folder keeps a second run from writing into the
same folder meanwhile.

This module knows nothing of linking or review (they import it, not the reverse);
:mod:`bansos_linkage.runs` re-exports its public names.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import threading
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeGuard

from bansos_linkage._version import __version__
from bansos_linkage.errors import InputError, UsageError

#: The manifest file of a run folder, written last.
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "bansos-linkage run folder"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20
# locks this process holds, by folder: (pid, thread) and depth, so that a run that
# holds its folder's lock from the start can still write through atomic_folder
_HELD: dict[Path, tuple[tuple[int, int], int]] = {}
_HELD_GUARD = threading.Lock()


# -- manifest -----------------------------------------------------------------------


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file, hex, read in chunks (run files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(
    folder: str | Path,
    *,
    command: Sequence[str] | Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    digests: Mapping[Path, str] | None = None,
) -> Path:
    """Write ``folder/manifest.json`` listing every file now in ``folder``.

    Parameters
    ----------
    folder
        A folder whose files are all written.
    command
        The command line (argv) or the command's parsed options, if any.
    settings
        Settings of the run worth keeping with it (threshold, reference date, ...).
    digests
        SHA-256 of files in ``folder`` known already (computed where they were
        encoded, e.g. on a Dask worker), by path: not read again.

    Returns
    -------
    pathlib.Path
        The manifest's path.
    """
    folder = Path(folder)
    known = {Path(path).absolute(): digest for path, digest in (digests or {}).items()}
    files = {
        path.relative_to(folder).as_posix(): {
            "bytes": path.stat().st_size,
            "sha256": known.get(path.absolute()) or file_digest(path),
        }
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.relative_to(folder).as_posix() != MANIFEST
    }
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "library_version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": command,
        "settings": settings,
        "files": files,
    }
    path = folder / MANIFEST
    text = json.dumps(manifest, indent=2, default=json_default, ensure_ascii=False) + "\n"
    _replace_with_text(path, text)
    return path


def command_record(name: str, args: argparse.Namespace | Mapping[str, Any]) -> dict[str, Any]:
    """A CLI command and its parsed options as the manifest keeps them (callables and
    the CLI's own bookkeeping left out; paths and dates as text)."""
    options = vars(args) if isinstance(args, argparse.Namespace) else dict(args)
    kept = {
        key: value
        for key, value in options.items()
        if not callable(value) and key not in ("inputs", "outputs") and not key.startswith("_")
    }
    return {"name": name, "options": json.loads(json.dumps(kept, default=json_default))}


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The manifest of a run folder; :class:`InputError` when missing or unreadable."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise InputError(
            "no manifest.json: not a finished run folder (the run was interrupted, or "
            "written by an older version): run it again",
            file=path,
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InputError("manifest.json is not readable JSON", file=path) from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise InputError("not a bansos-linkage run manifest", file=path)
    if not isinstance(manifest.get("version"), int) or manifest["version"] > MANIFEST_VERSION:
        raise InputError("manifest written by a newer bansos-linkage: upgrade", file=path)
    if not isinstance(manifest.get("files"), dict):
        raise InputError("the manifest lists no files", file=path)
    return manifest


def verify_run(folder: str | Path) -> dict[str, Any]:
    """Check that a run folder holds exactly the files its manifest lists.

    Files added later (``labels.csv``, ``review/``, ``evaluation/``) are not in the
    manifest and are not checked; a listed file that is missing, of another size
    or another SHA-256 is refused.

    Parameters
    ----------
    folder
        A folder written through :func:`atomic_folder`.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    InputError
        Naming the folder's file that is missing, truncated or changed (or the
        manifest, when that is missing or unreadable).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("not a folder; expected a run folder", file=folder)
    manifest = read_manifest(folder)
    listed = manifest["files"]
    paths = {name: _listed_path(folder, name) for name in listed}
    for name, entry in listed.items():  # sizes first: a cut file is found without hashing
        _check_size(paths[name], entry)
    for name, entry in listed.items():
        if file_digest(paths[name]) != entry.get("sha256"):
            raise InputError(
                "changed after the run (its SHA-256 differs from manifest.json); "
                "run it again rather than editing run files",
                file=paths[name],
            )
    return manifest


def _listed_path(folder: Path, name: object) -> Path:
    # a manifest names files inside its folder only
    if (
        not isinstance(name, str)
        or not name
        or Path(name).is_absolute()
        or ".." in Path(name).parts
    ):
        raise InputError("the manifest lists a path outside the folder", file=folder / MANIFEST)
    return folder / name


def _check_size(path: Path, entry: object) -> None:
    if not path.is_file():
        raise InputError("missing: listed in manifest.json but not in the folder", file=path)
    expected = entry.get("bytes") if isinstance(entry, dict) else None
    size = path.stat().st_size
    if size != expected:
        said = f"{expected:,}" if isinstance(expected, int) else "nothing"
        raise InputError(
            f"has {size:,} bytes, manifest.json says {said}: truncated or changed after the run",
            file=path,
        )


# -- lock ---------------------------------------------------------------------------


def lock_path(target: str | Path) -> Path:
    """The lock file of an output folder: ``.NAME.lock`` beside it."""
    target = _absolute(target)
    return target.parent / f".{target.name}.lock"


@contextmanager
def folder_lock(target: str | Path) -> Iterator[Path]:
    """Hold the lock of an output folder for the duration of the block.

    The lock is a file created exclusively beside the folder, holding this
    process's id and host. A lock left by a process that no longer runs on this
    host is taken over. The same thread may enter it again (nested).

    Raises
    ------
    UsageError
        When another run holds the lock.
    """
    target = _absolute(target)
    me = (os.getpid(), threading.get_ident())
    with _HELD_GUARD:
        owner, depth = _HELD.get(target, (None, 0))
        if owner == me:
            _HELD[target] = (me, depth + 1)
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield lock_path(target)
        finally:
            with _HELD_GUARD:
                _HELD[target] = (me, _HELD[target][1] - 1)
        return
    path = _acquire(target)
    with _HELD_GUARD:
        _HELD[target] = (me, 1)
    try:
        yield path
    finally:
        with _HELD_GUARD:
            _HELD.pop(target, None)
        path.unlink(missing_ok=True)


def _acquire(target: Path) -> Path:
    path = lock_path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _read_holder(path)
            if attempt == 0 and _is_stale(holder) and _take_over(path, holder):
                continue
            who = f"process {holder[0]} on {holder[1]}" if holder else "another process"
            raise UsageError(
                f"another run ({who}) is writing into this folder; wait for it to finish "
                f"(or, if no run is going on, delete the lock file {path})",
                file=target,
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {socket.gethostname()}\n")
        return path
    raise AssertionError("unreachable")  # pragma: no cover


def _read_holder(path: Path) -> tuple[int, str] | None:
    try:
        pid, host = path.read_text(encoding="utf-8").split()
        return int(pid), host
    except (OSError, ValueError):
        return None  # being written, or not ours: treated as held


def _is_stale(holder: tuple[int, str] | None) -> TypeGuard[tuple[int, str]]:
    """True when the lock's process is known to be gone (same host, POSIX only:
    elsewhere os.kill would not merely probe)."""
    if holder is None or holder[1] != socket.gethostname() or os.name != "posix":
        return False
    try:
        os.kill(holder[0], 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, under another user
    return False


def _take_over(path: Path, holder: tuple[int, str]) -> bool:
    """Remove a stale lock unless another process replaced it meanwhile."""
    moved = path.with_name(f"{path.name}.{secrets.token_hex(4)}.stale")
    try:
        os.rename(path, moved)
    except FileNotFoundError:
        return True  # someone else removed it: try again
    if _read_holder(moved) != holder:  # a fresh lock taken by another run: give it back
        with suppress(OSError):  # unless yet another run took the lock meanwhile
            os.link(moved, path)
        moved.unlink(missing_ok=True)
        return False
    moved.unlink(missing_ok=True)
    return True


# -- atomic folders and files -------------------------------------------------------


def check_replaceable(target: str | Path, outputs: Collection[str] = ()) -> None:
    """Refuse an output folder that exists and is not a run folder of this kind.

    A folder is replaced when it is empty, has a manifest, or holds one of
    ``outputs`` (a folder of this kind written by an older version); any other
    folder (someone's documents, say) is not taken over.

    Raises
    ------
    UsageError
        When ``target`` is a file or a folder of other files.
    """
    target = Path(target)
    if not target.exists():
        return
    if not target.is_dir():
        raise UsageError("is a file; expected an output folder", file=target)
    names = {entry.name for entry in target.iterdir()}
    if not names or MANIFEST in names or names & set(outputs):
        return
    raise UsageError(
        "holds files that are not a run's outputs; not replaced: give a new or empty folder",
        file=target,
    )


@contextmanager
def atomic_folder(
    target: str | Path,
    *,
    outputs: Collection[str] = (),
    command: Sequence[str] | Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    digests: Mapping[Path, str] | None = None,
) -> Iterator[Path]:
    """Write a run folder that appears whole, with its manifest, or not at all.

    Yields a temporary folder beside ``target`` to write into. When the block ends
    without an exception the manifest is written, files of an existing folder at
    ``target`` that the new run did not write (``labels.csv``, ``review/``, ...)
    are copied over, and the new folder is renamed into place (the old one moved
    aside first, then deleted). When the block raises, the temporary folder is
    removed and ``target`` is left as it was. The folder's lock is held throughout.

    Parameters
    ----------
    target
        The output folder.
    outputs
        File names this kind of run writes (see :func:`check_replaceable`).
    command, settings
        Recorded in the manifest (see :func:`write_manifest`).
    digests
        Filled by the block, if it likes, with the SHA-256 of files it wrote
        (:func:`write_manifest` then reads them no more).

    Raises
    ------
    UsageError
        When another run holds the lock, or ``target`` is not replaceable.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "run"
    >>> with atomic_folder(out) as tmp:
    ...     _ = (tmp / "a.txt").write_text("x")
    >>> sorted(p.name for p in out.iterdir())
    ['a.txt', 'manifest.json']
    """
    final = _absolute(target)
    with folder_lock(final):
        check_replaceable(final, outputs)
        _clean_leftovers(final)
        work = _new_sibling(final, "partial")
        try:
            yield work
            write_manifest(work, command=command, settings=settings, digests=digests)
            if final.is_dir():
                carry_over(final, work)
            _swap_into_place(work, final)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise


@contextmanager
def atomic_files(*paths: str | Path) -> Iterator[list[Path]]:
    """Write files under temporary names beside them, then replace all at once.

    Yields one temporary path per path, with the same suffix (so that
    :func:`~bansos_linkage.io.write_table` picks the same format). After the block
    each is renamed over its target with :func:`os.replace`; when the block raises,
    the temporary files are removed and the targets left as they were.
    """
    finals = [_absolute(p) for p in paths]
    temps = [p.with_name(f".{p.stem}.{secrets.token_hex(4)}.partial{p.suffix}") for p in finals]
    try:
        yield temps
        for temp, final in zip(temps, finals, strict=True):
            os.replace(temp, final)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)


def _absolute(path: str | Path) -> Path:
    # resolved, so that "out", "./out" and a link to it share one lock
    return Path(path).resolve()


def _new_sibling(final: Path, kind: str) -> Path:
    final.parent.mkdir(parents=True, exist_ok=True)
    while True:
        candidate = final.parent / f".{final.name}.{secrets.token_hex(4)}.{kind}"
        try:
            candidate.mkdir()  # honours the umask, unlike tempfile.mkdtemp's 0700
        except FileExistsError:
            continue
        return candidate


def _clean_leftovers(final: Path) -> None:
    """Remove what a killed run left beside the folder (the lock is held): partial
    folders always; a folder moved aside is put back when the run was killed
    between the two renames, else removed."""
    # exactly this folder's names: ".run.v2.<token>.partial" belongs to "run.v2"
    mine = re.compile(rf"\.{re.escape(final.name)}\.[0-9a-f]{{8}}\.(partial|old)")
    for entry in sorted(final.parent.iterdir()):
        found = mine.fullmatch(entry.name)
        if found is None or not entry.is_dir() or entry.is_symlink():
            continue
        if found.group(1) == "old" and not final.exists():
            os.rename(entry, final)
        else:
            shutil.rmtree(entry, ignore_errors=True)


def carry_over(old: Path, new: Path) -> None:
    """Copy into the new folder what the old one holds and the new run did not write:
    reviewers' labels and batches must survive a rerun into the same folder."""
    for entry in old.iterdir():
        there = new / entry.name
        if entry.name == MANIFEST or there.exists() or there.is_symlink():
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, there, symlinks=True)
        else:
            shutil.copy2(entry, there, follow_symlinks=False)


def _swap_into_place(work: Path, final: Path) -> None:
    if not final.exists():
        os.rename(work, final)
        return
    aside = final.parent / f".{final.name}.{secrets.token_hex(4)}.old"
    os.rename(final, aside)
    try:
        os.rename(work, final)
    except BaseException:
        os.rename(aside, final)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _replace_with_text(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    try:
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def json_default(value: Any) -> Any:
    """JSON for what json.dumps cannot write: paths, dates, sets, numpy values."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


__all__ = [
    "MANIFEST",
    "MANIFEST_FORMAT",
    "MANIFEST_VERSION",
    "atomic_files",
    "atomic_folder",
    "carry_over",
    "check_replaceable",
    "command_record",
    "file_digest",
    "folder_lock",
    "json_default",
    "lock_path",
    "read_manifest",
    "verify_run",
    "write_manifest",
]
