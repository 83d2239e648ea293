"""Files in, files out: the ``assemble`` command's run folder.

:func:`assemble_files` reads and standardises every source export, assembles them
(:func:`~bansos_linkage.assembly.build.assemble`) and writes the folder atomically
(:func:`bansos_linkage.runs.folders.atomic_folder`), manifest last:

=============================  ======================================================
``persons.csv``                one row per DTSEN person, chosen values and sources
``families.csv``               one row per DTSEN family, its village, size, and its
                               ``rank`` and ``desil`` when the families were scored
``sources.csv``                one row per input record: its person and family
``family_links.csv``           one row per source family, with its verval status
``conflicts.csv``              links refused or doubted, fields that differ
``transitions.csv``            DTKS families that stay, drop out (why), join;
                               ``transitions_by_village.csv``,
                               ``transitions_by_province.csv`` and
                               ``transitions_national.csv`` count them
``scores.csv``                 the families' PMT welfare, rank, desil, eligibility
                               (when a PMT or survey was given)
``links.parquet``              every duplicate pair and pairwise link considered
``rejected.csv``               input rows standardisation refused, with the reason
``records/<source>.parquet``   each source's standardised records (for updates)
``models/<a>__<b>.json``       the model fitted for each source pair
``worklists/``                 one verval workbook per village (or per district)
``summary.json``               counts, statuses, seconds
=============================  ======================================================

Every input row is in exactly one of ``sources.csv`` and ``rejected.csv``.
``verval.key`` holds the secret that signs the worklist rows: keep it with the run
folder and send only ``worklists/`` to the villages.

Layer: the runs layer (``tests/test_layers.py``), like
:mod:`bansos_linkage.runs.link`: files in, the assembly core's stages, atomic files
out with a manifest. It lives beside the core it runs, which never imports it.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from bansos_linkage.assembly import transitions as transition_report
from bansos_linkage.assembly import worklists
from bansos_linkage.assembly.build import Assembly, assemble
from bansos_linkage.errors import InputError, UsageError
from bansos_linkage.io import read_table, restore_formulas, write_table
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.progress import Progress
from bansos_linkage.runs import MANIFEST, atomic_folder, carry_over, json_default, verify_run
from bansos_linkage.schema import list_presets
from bansos_linkage.standardisation import standardise

KEY_FILE = "verval.key"
OUTPUT_FILES = (
    "persons.csv",
    "families.csv",
    "sources.csv",
    "family_links.csv",
    "conflicts.csv",
    "transitions.csv",
    "transitions_by_village.csv",
    "transitions_by_province.csv",
    "transitions_national.csv",
    "scores.csv",
    "links.parquet",
    "rejected.csv",
    "records",
    "models",
    "worklists",
    "summary.json",
    "changes.csv",
    KEY_FILE,
    MANIFEST,
)
#: Tables read back by :func:`read_assembly`, with their file names.
_TABLES = {
    "records": "sources.csv",
    "persons": "persons.csv",
    "families": "families.csv",
    "family_links": "family_links.csv",
    "conflicts": "conflicts.csv",
}


@dataclass(frozen=True)
class Source:
    """One source export: its name (``dtks``), file or table, and schema (a preset name
    or a mapping file; default: the preset of that name)."""

    name: str
    data: str | Path | pd.DataFrame
    schema: str | Path | None = None

    @property
    def schema_or_preset(self) -> str | Path:
        if self.schema is not None:
            return self.schema
        if self.name not in list_presets():
            raise UsageError(
                f"source {self.name!r} has no schema: give NAME=FILE:SCHEMA (a preset "
                f"{list_presets()} or a mapping YAML)",
                option="--source",
            )
        return self.name


def parse_source(text: str) -> Source:
    """``NAME=FILE[:SCHEMA]`` as the ``--source`` option takes it.

    Examples
    --------
    >>> parse_source("dtks=exports/dtks.csv")
    Source(name='dtks', data=PosixPath('exports/dtks.csv'), schema=None)
    >>> parse_source("bdt=old.xlsx:mapping.yaml").schema
    'mapping.yaml'
    """
    name, sep, rest = text.partition("=")
    if not sep or not name or not rest:
        raise UsageError(f"expected NAME=FILE[:SCHEMA], got {text!r}", option="--source")
    path, schema = rest, None
    head, colon, tail = rest.rpartition(":")
    # a schema is a preset name or a mapping file; anything else is part of the path
    if colon and head and (tail in list_presets() or tail.endswith((".yaml", ".yml", ".json"))):
        path, schema = head, tail
    return Source(name.strip(), Path(path), schema)


def assemble_files(
    sources: Sequence[Source],
    out_dir: str | Path | None = None,
    *,
    backbone: str | None = None,
    survey: str | Path | pd.DataFrame | None = None,
    pmt: str | Path | None = None,
    cutoff_desil: int = 4,
    worklists_by: Literal["village", "district"] = "village",
    uncertain_below: float = 0.9,
    reference_date: dt.date | None = None,
    linker: Linker | None = None,
    progress: Progress | None = None,
    command: Sequence[str] | Mapping[str, Any] | None = None,
) -> Assembly:
    """Standardise each source export, assemble them and (with ``out_dir``) write the
    run folder of the module notes. ``survey``: households with their
    ``per_capita_expenditure`` to fit the PMT on; ``pmt``: a saved PMT instead."""
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise UsageError(f"each source needs its own name, got {names}", option="--source")
    if worklists_by not in ("village", "district"):
        raise UsageError("worklists go by 'village' or 'district'", option="--worklists-by")
    reference_date = reference_date or dt.date.today()
    records, rejected, counts = standardise_sources(sources, reference_date)
    fitted_pmt = _load_pmt(pmt) if pmt is not None else None
    survey_table = (
        survey if survey is None or isinstance(survey, pd.DataFrame) else read_table(survey)
    )
    result = assemble(
        records,
        backbone=backbone,
        linker=linker,
        pmt=fitted_pmt,
        survey=survey_table,
        cutoff_desil=cutoff_desil,
        reference_date=reference_date,
        progress=progress,
    )
    result.summary["input"] = counts
    result.summary["reference_date"] = reference_date.isoformat()
    rejected_rows = pd.concat(rejected, ignore_index=True)
    if out_dir is not None:
        write_assembly(
            result,
            out_dir,
            standardised=records,
            rejected=rejected_rows,
            worklists_by=worklists_by,
            uncertain_below=uncertain_below,
            command=command,
        )
    return result


def standardise_sources(
    sources: Sequence[Source], reference_date: dt.date
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame], dict[str, dict[str, int]]]:
    """Each export read and standardised with its schema: the records by source, the
    rejected rows (with ``source``, ``row``, ``record_id``, ``reason``) and the counts.
    An export with no usable row raises InputError naming its file."""
    records, rejected, counts = {}, [], {}
    for source in sources:
        table = source.data if isinstance(source.data, pd.DataFrame) else read_table(source.data)
        std = standardise(table, source.schema_or_preset, reference_date=reference_date)
        if std.records.empty:
            raise InputError(
                "no usable rows: every row was rejected or the file is empty",
                file=None if isinstance(source.data, pd.DataFrame) else source.data,
            )
        records[source.name] = std.records
        rows = std.rejected[["row", "record_id", "reason"]].copy()
        rows.insert(0, "source", source.name)
        rejected.append(rows)
        counts[source.name] = {"input": std.n_input, "rejected": std.n_rejected}
    return records, rejected, counts


def _load_pmt(path: str | Path) -> Any:
    from bansos_linkage.eligibility.pmt import load_pmt

    return load_pmt(path)


def write_assembly(
    result: Assembly,
    out_dir: str | Path,
    *,
    standardised: Mapping[str, pd.DataFrame],
    rejected: pd.DataFrame,
    worklists_by: Literal["village", "district"] = "village",
    uncertain_below: float = 0.9,
    command: Sequence[str] | Mapping[str, Any] | None = None,
    key: bytes | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Write an assembly's run folder (see the module notes); returns the files.

    ``key`` signs the worklist rows (default: the folder's existing key, else a new
    one); ``extra_tables`` (file name -> table) are written into the folder too, and
    listed in its manifest (``changes.csv`` of an update)."""
    out = Path(out_dir)
    key = key or _existing_key(out) or secrets.token_bytes(32)
    with atomic_folder(out, outputs=OUTPUT_FILES, command=command) as work:
        paths = _write_tables(result, work, standardised, rejected)
        for name, table in (extra_tables or {}).items():
            paths.append(write_table(table, work / name, for_people=True))
        items = worklists.worklist_items(
            result.persons,
            result.families,
            result.conflicts,
            result.transitions,
            result.records,
            standardised,
            backbone=next(iter(result.summary.get("sources", {"": 0}))),
            uncertain_below=uncertain_below,
        )
        result.summary["worklist_items"] = {
            str(k): int(v) for k, v in items["reason"].value_counts().sort_index().items()
        }
        paths += worklists.write_worklists(
            items, work / "worklists", by=worklists_by, secret_key=key
        )
        (work / KEY_FILE).write_bytes(key)
        summary = work / "summary.json"
        summary.write_text(
            json.dumps(result.summary, indent=2, default=json_default) + "\n", encoding="utf-8"
        )
        paths += [work / KEY_FILE, summary]
    return [out / p.relative_to(work) for p in paths] + [out / MANIFEST]


def _existing_key(out: Path) -> bytes | None:
    """A rerun into the same folder keeps its key, so worklists already sent stay valid."""
    path = out / KEY_FILE
    return path.read_bytes() if path.is_file() else None


def _write_tables(
    result: Assembly,
    work: Path,
    standardised: Mapping[str, pd.DataFrame],
    rejected: pd.DataFrame,
) -> list[Path]:
    paths = [
        write_table(getattr(result, attr), work / name, for_people=True)
        for attr, name in _TABLES.items()
    ]
    paths.append(write_table(result.links, work / "links.parquet"))
    paths.append(write_table(rejected, work / "rejected.csv", for_people=True))
    if result.transitions is not None:
        paths.append(write_table(result.transitions, work / "transitions.csv", for_people=True))
        for level in ("village", "province", "national"):
            table = transition_report.transition_summary(result.transitions, level)
            name = (
                "transitions_national.csv" if level == "national" else f"transitions_by_{level}.csv"
            )
            paths.append(write_table(table, work / name))
    if result.scores is not None:
        paths.append(write_table(result.scores, work / "scores.csv"))
    (work / "records").mkdir()
    for name, frame in standardised.items():
        paths.append(write_table(frame, work / "records" / f"{name}.parquet"))
    (work / "models").mkdir()
    for (a, b), model in result.linkers.items():
        paths.append(model.save(work / "models" / f"{a}__{b}.json"))
    return paths


#: Columns of the run's tables that are not text, by kind (CSV keeps only text).
_NUMBERS = (
    "weakest_link",
    "link_probability",
    "n_records",
    "n_persons",
    "members",
    "found",
    "desil",
    "rank",
    "welfare",
)
_FLAGS = ("verified",)
_DATES = ("birth_date",)


def _typed(table: pd.DataFrame) -> pd.DataFrame:
    """A table read back from CSV with its numbers, flags and dates typed again."""
    out = table.copy()
    for col in out.columns:
        if col in _NUMBERS:
            out[col] = pd.to_numeric(out[col])
        elif col in _FLAGS or col.startswith("eligible_"):
            out[col] = out[col].map({"True": True, "False": False}).astype("boolean")
        elif col in _DATES:
            out[col] = pd.to_datetime(out[col])
    return out


def read_assembly(run_dir: str | Path) -> tuple[Assembly, dict[str, pd.DataFrame]]:
    """Read an ``assemble`` run folder back: the assembly and each source's standardised
    records. The folder is verified against its manifest first; a folder that is not
    an assembly, or was cut short or edited, raises InputError naming the file."""
    folder = Path(run_dir)
    expected = [*_TABLES.values(), "links.parquet", "summary.json"]
    if not (folder / MANIFEST).exists() and not any((folder / n).exists() for n in expected):
        raise InputError(f"not an assemble run folder: {expected} missing", file=folder)
    verify_run(folder)
    missing = [name for name in expected if not (folder / name).exists()]
    if missing:
        raise InputError(f"not an assemble run folder: {missing} missing", file=folder)
    # Any: spread into Assembly's DataFrame fields (mypy would match every keyword)
    tables: dict[str, Any] = {
        attr: _typed(restore_formulas(read_table(folder / name))) for attr, name in _TABLES.items()
    }
    optional = {
        name: _typed(restore_formulas(read_table(folder / f"{name}.csv")))
        for name in ("transitions", "scores")
        if (folder / f"{name}.csv").exists()
    }
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    records = {p.stem: pd.read_parquet(p) for p in sorted((folder / "records").glob("*.parquet"))}
    result = Assembly(
        **tables,
        links=pd.read_parquet(folder / "links.parquet"),
        transitions=optional.get("transitions"),
        scores=optional.get("scores"),
        summary=summary,
    )
    return result, records


#: The verval log of a run folder: every decision applied, and the rows refused.
DECISIONS_FILE = "verval_decisions.csv"
REJECTED_FILE = "verval_rejected.csv"


def import_worklists(run_dir: str | Path, paths: Sequence[str | Path]) -> dict[str, int]:
    """Check the decisions of filled worklists and apply the valid ones to the register
    in ``run_dir`` (no re-linking); the folder is rewritten atomically with the updated
    ``sources.csv``, ``persons.csv`` and ``family_links.csv``, every applied decision
    appended to ``verval_decisions.csv`` and the rows refused in ``verval_rejected.csv``.
    Returns the counts printed by ``verval import``."""
    folder = Path(run_dir)
    result, _ = read_assembly(folder)
    key = _existing_key(folder)
    if key is None:
        raise InputError(f"no {KEY_FILE}: worklists cannot be checked without it", file=folder)
    decisions, rejected = worklists.read_worklists(paths, secret_key=key)
    backbone = next(iter(result.summary.get("sources", {"regsosek": 0})))
    records, persons, family_links, changes = worklists.apply_decisions(
        result.records, result.persons, result.family_links, decisions, backbone=backbone
    )
    log = decisions.assign(imported=dt.datetime.now().isoformat(timespec="seconds"))
    if (folder / DECISIONS_FILE).exists():
        earlier = restore_formulas(read_table(folder / DECISIONS_FILE))
        log = pd.concat([earlier, log.astype("string")], ignore_index=True)
    with atomic_folder(folder, outputs=[*OUTPUT_FILES, DECISIONS_FILE, REJECTED_FILE]) as work:
        write_table(records, work / "sources.csv", for_people=True)
        write_table(persons, work / "persons.csv", for_people=True)
        write_table(family_links, work / "family_links.csv", for_people=True)
        write_table(log, work / DECISIONS_FILE, for_people=True)
        write_table(rejected, work / REJECTED_FILE, for_people=True)
        carry_over(folder, work)  # records, models, worklists: listed in the new manifest
    return {
        "decisions": len(decisions),
        "changes": len(changes),
        "rejected": len(rejected),
        "not_visited": int(decisions.attrs.get("skipped", 0)),
    }


__all__ = [
    "DECISIONS_FILE",
    "KEY_FILE",
    "OUTPUT_FILES",
    "REJECTED_FILE",
    "Source",
    "assemble_files",
    "import_worklists",
    "parse_source",
    "read_assembly",
    "standardise_sources",
    "write_assembly",
]
