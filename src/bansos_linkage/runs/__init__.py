"""Run folders: files in -> the stages -> files out, whole or not at all, with a manifest.

The top of the library below the CLI: each module here reads input files, calls the
stages (which take and return DataFrames and know no file layout) and writes one
run folder atomically, ``manifest.json`` last.

=================  ================================================================
module             run folder
=================  ================================================================
``folders``        atomic folders, the manifest, the folder lock (no stage at all)
``link``           ``link`` and ``link-new``: :func:`~.link.link_files`,
                   :func:`~.link.read_run`
``review``         ``review export`` / ``review import``: batches, check-code secret
``evaluate``       ``evaluate``: a link run folder against true pairs or labels
``score``          ``score``: households -> PMT -> desil -> programme rules
=================  ================================================================

The ``assemble`` run folder lives beside the assembly core
(:mod:`bansos_linkage.assembly.files`, ``update`` and ``worklists``) but is of this
layer too. Only the folder names are imported here, so that ``from
bansos_linkage.runs import atomic_folder`` loads no stage (pandas, scikit-learn).
"""

from bansos_linkage.runs.folders import (
    MANIFEST,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    atomic_files,
    atomic_folder,
    carry_over,
    check_replaceable,
    command_record,
    file_digest,
    folder_lock,
    json_default,
    lock_path,
    read_manifest,
    verify_run,
    write_manifest,
)

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
