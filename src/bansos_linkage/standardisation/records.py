"""Standardise a whole register export into canonical person records.

:func:`standardise` maps the source columns through a schema, runs each field
standardiser once over the whole column, and collects every problem into one
validation report. Nothing is lost: every input row ends up either in
``records`` (kept, with nulls where a value was invalid) or in ``rejected``
(no id, or an id already used), and ``n_input == n_kept + n_rejected``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from bansos_linkage.errors import SchemaError
from bansos_linkage.io import ATTR_FIRST_ROW, ATTR_SOURCE, TEXT_DTYPE, read_table
from bansos_linkage.schema import (
    CANONICAL_FIELDS,
    REGION_LEVELS,
    SourceSchema,
    load_schema,
    normalise_header,
)
from bansos_linkage.standardisation import addresses, codes, dates, names, nik, regions
from bansos_linkage.standardisation.problems import ProblemType

log = logging.getLogger(__name__)

#: Columns of the validation report.
REPORT_COLUMNS: tuple[str, ...] = (
    "record_id",
    "row",
    "field",
    "column",
    "problem",
    "severity",
    "value",
)
#: Reasons a whole row is rejected.
REJECT_MISSING_ID = "missing_id"
REJECT_DUPLICATE_ID = "duplicate_id"
_PLACE_FIELDS = (
    "birth_place",
    "province_name",
    "regency_name",
    "district_name",
    "village_name",
    "dusun",
)
_RAW_KEPT = ("full_name", "mother_name", "nik", "kk_number", "birth_date")


@dataclass
class StandardisedRecords:
    """The result of :func:`standardise`.

    Attributes
    ----------
    records
        Canonical person records, one row per kept input row, in input order.
        Canonical fields first, then derived fields (``name_*``, ``nik_*``,
        ``*_raw`` originals), then the source's other columns untouched.
    rejected
        Input rows that were not kept: ``row``, ``record_id``, ``reason`` and the
        row's original values.
    report
        One row per (record, field, problem): see :data:`REPORT_COLUMNS`. The
        ``value`` column holds the original value; it belongs in output files,
        never in logs.
    """

    records: pd.DataFrame
    rejected: pd.DataFrame
    report: pd.DataFrame
    schema: SourceSchema
    source: str | None = None
    problem_types: dict[str, ProblemType] = field(default_factory=dict)

    @property
    def n_kept(self) -> int:
        """Rows kept as canonical records."""
        return len(self.records)

    @property
    def n_rejected(self) -> int:
        """Rows rejected (no id or duplicate id)."""
        return len(self.rejected)

    @property
    def n_input(self) -> int:
        """Rows read from the source; always ``n_kept + n_rejected``."""
        return self.n_kept + self.n_rejected

    def summary(self) -> pd.DataFrame:
        """Count of problems per field, problem and severity, with descriptions."""
        if self.report.empty:
            return pd.DataFrame(columns=["field", "problem", "severity", "count", "description"])
        counts = (
            self.report.groupby(["field", "problem", "severity"], observed=True)
            .size()
            .rename("count")
            .reset_index()
        )
        counts["description"] = counts["problem"].map(
            lambda code: self.problem_types[code].description if code in self.problem_types else ""
        )
        return counts.sort_values(["field", "count"], ascending=[True, False], ignore_index=True)

    def summary_text(self) -> str:
        """A short human-readable summary: the row counts, then problems per field."""
        lines = [
            f"source: {self.source or '<DataFrame>'} (schema {self.schema.name})",
            f"rows read: {self.n_input:,}  kept: {self.n_kept:,}  rejected: {self.n_rejected:,}",
        ]
        if self.n_rejected:
            for reason, n in self.rejected["reason"].value_counts().items():
                lines.append(f"  rejected {reason}: {n:,}")
        summary = self.summary()
        if summary.empty:
            lines.append("no problems found")
        else:
            lines.append("problems (field / problem / severity / count):")
            for r in summary.itertuples(index=False):
                lines.append(f"  {r.field:<14} {r.problem:<28} {r.severity:<8} {r.count:>9,}")
        return "\n".join(lines)


def standardise(
    data: pd.DataFrame | str | Path,
    schema: str | Path | SourceSchema | dict[str, Any],
    *,
    crosswalk: pd.DataFrame | str | Path | None = None,
    reference_date: dt.date | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    fields: Collection[str] | None = None,
) -> StandardisedRecords:
    """Standardise a register export into canonical person records.

    Parameters
    ----------
    data
        A table read with :func:`bansos_linkage.io.read_table` (or any DataFrame of
        text), or the path of a CSV, Parquet or Excel file.
    schema
        A preset name (``"dtks"``, ``"regsosek"``, ``"p3ke"``), a mapping YAML
        file, a dict, or a loaded :class:`~bansos_linkage.schema.SourceSchema`.
    crosswalk
        BPS -> Kemendagri region-code crosswalk (overrides the schema's).
    reference_date
        "Today" for date checks (future birth dates, two-digit years); defaults
        to the current date. Pass it for reproducible runs.
    progress
        Called as ``progress(done, total, stage)`` before each stage and once at the
        end (``done == total``), e.g. to draw a progress bar.
    fields
        The output columns the caller needs (linkage reads a dozen): steps that
        produce none of them (addresses, place names) are skipped. Rows are
        rejected and reported the same either way. Default: everything.

    Returns
    -------
    StandardisedRecords

    Raises
    ------
    SchemaError
        If the schema is unknown or malformed, or a required mapped column is absent.

    Examples
    --------
    >>> import pandas as pd
    >>> raw = pd.DataFrame({"ID DTKS": ["1", "2", "2"],
    ...                     "NAMA": ["Hj. Siti Aminah, S.Pd.", "Moh. Ridwan", "X"],
    ...                     "NIK": ["3302034708900003", "0", "1"]})
    >>> schema = {"id_column": "ID DTKS", "fields": {"full_name": "NAMA", "nik": "NIK"}}
    >>> out = standardise(raw, schema)
    >>> out.records["full_name"].tolist()
    ['SITI AMINAH', 'MUHAMMAD RIDWAN']
    >>> out.n_input, out.n_kept, out.n_rejected
    (3, 2, 1)
    """
    schema = load_schema(schema)
    if isinstance(data, (str, Path)):
        data = read_table(data)
    source = data.attrs.get(ATTR_SOURCE)
    first_row = int(data.attrs.get(ATTR_FIRST_ROW, 1))
    columns = resolve_columns(data, schema, source)
    rows = pd.Series(range(first_row, first_row + len(data)), index=data.index, dtype="int64")

    ids = _text(data[columns["record_id"]]).str.strip()
    keep_mask, reasons = _identity(ids)
    rejected = _rejected_table(data, ids, rows, reasons)
    kept = data.loc[keep_mask]
    ctx = _Context(
        frame=kept,
        columns=columns,
        schema=schema,
        ids=ids[keep_mask],
        rows=rows[keep_mask],
        crosswalk=_crosswalk(crosswalk, schema),
        reference_date=reference_date or dt.date.today(),
    )
    steps = [
        step
        for step in _STEPS
        if fields is None or step not in _OPTIONAL_STEPS or _OPTIONAL_STEPS[step] & set(fields)
    ]
    for i, step in enumerate(steps):
        if progress is not None:
            progress(i, len(steps), step.__name__.removeprefix("_step_"))
        step(ctx)
    if progress is not None:
        progress(len(steps), len(steps), "done")
    records = _assemble(ctx, data, columns)
    report = _report(ctx)
    log.info(
        "standardised %d rows: %d kept, %d rejected, %d problems",
        len(data),
        len(records),
        len(rejected),
        len(report),
    )
    return StandardisedRecords(records, rejected, report, schema, source, ctx.problem_types)


def resolve_columns(
    data: pd.DataFrame, schema: SourceSchema, source: str | None = None
) -> dict[str, str]:
    """Map each canonical field of ``schema`` to the actual column name in ``data``.

    Raises
    ------
    SchemaError
        Naming the schema file and key when a required column is absent or when
        two columns of ``data`` match one name.
    """
    by_key: dict[str, list[str]] = {}
    for col in data.columns:
        by_key.setdefault(normalise_header(col), []).append(str(col))
    where = f" in {source}" if source else ""

    def find(candidates: tuple[str, ...], key: str, optional: bool) -> str | None:
        for cand in candidates:
            hits = by_key.get(normalise_header(cand), [])
            if len(hits) > 1:
                raise SchemaError(
                    f"several columns{where} match {cand!r}: {hits}", file=schema.origin, key=key
                )
            if hits:
                return hits[0]
        if optional:
            return None
        raise SchemaError(
            f"none of the columns {list(candidates)} is present{where}", file=schema.origin, key=key
        )

    out = {"record_id": find(schema.id_column, "id_column", optional=False)}
    for name, fm in schema.fields.items():
        found = find(fm.columns, f"fields.{name}", fm.optional)
        if found is not None:
            out[name] = found
    return out  # type: ignore[return-value]


# --- internals -------------------------------------------------------------------------


@dataclass
class _Context:
    frame: pd.DataFrame
    columns: dict[str, str]
    schema: SourceSchema
    ids: pd.Series
    rows: pd.Series
    crosswalk: pd.DataFrame | None
    reference_date: dt.date
    out: dict[str, pd.Series] = field(default_factory=dict)
    problems: list[tuple[str, str, pd.Series, pd.Series]] = field(default_factory=list)
    problem_types: dict[str, ProblemType] = field(default_factory=dict)

    def raw(self, name: str) -> pd.Series | None:
        col = self.columns.get(name)
        return None if col is None else _text(self.frame[col])

    def add_problems(
        self,
        name: str,
        result: pd.DataFrame,
        raw: pd.Series,
        types: dict[str, ProblemType],
        column: str | None = None,
    ) -> None:
        self.problems.append((name, column or self.columns.get(name, ""), result["problem"], raw))
        self.problem_types.update(types)


def _text(series: pd.Series) -> pd.Series:
    return series if series.dtype == TEXT_DTYPE else series.astype(TEXT_DTYPE)


def _identity(ids: pd.Series) -> tuple[pd.Series, pd.Series]:
    missing = ids.isna() | (ids == "")
    duplicate = ids.duplicated(keep="first") & ~missing
    reasons = pd.Series(pd.NA, index=ids.index, dtype=TEXT_DTYPE)
    reasons[missing] = REJECT_MISSING_ID
    reasons[duplicate] = REJECT_DUPLICATE_ID
    return ~(missing | duplicate), reasons


def _rejected_table(
    data: pd.DataFrame, ids: pd.Series, rows: pd.Series, reasons: pd.Series
) -> pd.DataFrame:
    mask = reasons.notna()
    head = pd.DataFrame({"row": rows[mask], "record_id": ids[mask], "reason": reasons[mask]})
    originals = data.loc[mask].add_prefix("source:")
    return pd.concat([head, originals], axis=1).reset_index(drop=True)


def _crosswalk(
    crosswalk: pd.DataFrame | str | Path | None, schema: SourceSchema
) -> pd.DataFrame | None:
    chosen = crosswalk if crosswalk is not None else schema.region_crosswalk
    if chosen is None or isinstance(chosen, pd.DataFrame):
        return chosen
    return regions.read_crosswalk(chosen)


def _step_names(ctx: _Context) -> None:
    present = {f: raw for f in ("full_name", "mother_name") if (raw := ctx.raw(f)) is not None}
    if not present:
        return
    # one pass over both columns: a mother's name is often someone's own name too
    both = pd.concat(present.values(), ignore_index=True)
    res_all = names.standardise_name(both)
    offset = 0
    for name, raw in present.items():
        res = res_all.iloc[offset : offset + len(raw)].set_axis(raw.index)
        offset += len(raw)
        ctx.add_problems(name, res, raw, names.PROBLEMS)
        ctx.out[name] = res["name"]
        if name == "full_name":
            for col in res.columns:
                if col.startswith("name_"):
                    ctx.out[col] = res[col]


def _step_identifiers(ctx: _Context) -> None:

    kk_raw = ctx.raw("kk_number")
    if kk_raw is not None:
        res = nik.standardise_kk(kk_raw)
        ctx.add_problems("kk_number", res, kk_raw, nik.PROBLEMS)
        ctx.out["kk_number"] = res["kk_number"]
    nik_raw = ctx.raw("nik")
    if nik_raw is not None:
        res = nik.standardise_nik(nik_raw, kk=kk_raw, reference_year=ctx.reference_date.year)
        ctx.add_problems("nik", res, nik_raw, nik.PROBLEMS)
        for col in res.columns:
            if col.startswith("nik"):
                ctx.out[col] = res[col]


def _step_dates(ctx: _Context) -> None:

    raw = ctx.raw("birth_date")
    if raw is None:
        return
    res = dates.standardise_date(
        raw, ctx.schema.date_formats or None, reference_date=ctx.reference_date
    )
    ctx.add_problems("birth_date", res, raw, dates.PROBLEMS)
    ctx.out["birth_date"] = res["date"]
    ctx.out["birth_date_precision"] = res["date_precision"]


def _step_codes(ctx: _Context) -> None:

    raw = ctx.raw("sex")
    if raw is not None:
        res = codes.standardise_sex(raw, ctx.schema.sex_codes or None)
        ctx.add_problems("sex", res, raw, codes.PROBLEMS)
        ctx.out["sex"] = res["sex"]
    raw = ctx.raw("relationship")
    if raw is not None:
        res = codes.standardise_relationship(raw, ctx.schema.relationship_codes or None)
        ctx.add_problems("relationship", res, raw, codes.PROBLEMS)
        ctx.out["relationship"] = res["relationship"]


def _step_regions(ctx: _Context) -> None:

    mapped = [lvl for lvl in REGION_LEVELS if lvl in ctx.columns]
    if not mapped:
        return
    if len(mapped) == 1:
        raw = ctx.raw(mapped[0])
        column = ctx.columns[mapped[0]]
    else:
        parts = {lvl.removesuffix("_code"): ctx.raw(lvl) for lvl in mapped}
        raw = regions.compose_region_code(**parts, scheme=ctx.schema.region_scheme)  # type: ignore[arg-type]
        column = "+".join(ctx.columns[lvl] for lvl in mapped)
    assert raw is not None  # every mapped level has its column
    res = regions.standardise_region_code(
        raw, scheme=ctx.schema.region_scheme, crosswalk=ctx.crosswalk
    )
    ctx.add_problems("region", res, raw, regions.PROBLEMS, column=column)
    for col in (*REGION_LEVELS, "region_scheme"):
        ctx.out[col] = res[col]


def _step_address(ctx: _Context) -> None:

    raw = ctx.raw("address")
    rt_rw: dict[Literal["rt", "rw"], pd.Series | None] = {"rt": ctx.raw("rt"), "rw": ctx.raw("rw")}
    if raw is not None:
        # separate RT/RW columns win over the free text; disagreements are flagged
        res = addresses.parse_address(raw, **rt_rw)
        ctx.add_problems("address", res, raw, addresses.PROBLEMS)
        for col in ("address", "dusun", "street", "rt", "rw"):
            ctx.out[col] = res[col]
    for kind, column in rt_rw.items():
        if column is None:
            continue
        res = addresses.standardise_rt_rw(column, kind=kind)
        if raw is None:
            ctx.out[kind] = res[kind]
        else:  # an empty RT/RW column is no problem when the address line gave one
            res = res.assign(problem=res["problem"].where(ctx.out[kind].isna() | res[kind].notna()))
        ctx.add_problems(kind, res, column, addresses.PROBLEMS)


def _step_text_fields(ctx: _Context) -> None:
    for name in _PLACE_FIELDS:
        raw = ctx.raw(name)
        if raw is None:
            continue
        cleaned = clean_place_name(raw)
        if name == "dusun" and "dusun" in ctx.out:
            cleaned = cleaned.fillna(ctx.out["dusun"])
        ctx.out[name] = cleaned


def _step_household(ctx: _Context) -> None:
    raw = ctx.raw("household_id")
    if raw is not None:
        ctx.out["household_id"] = raw.str.strip().replace("", pd.NA)  # type: ignore[call-overload]


_STEPS: tuple[Callable[[_Context], None], ...] = (
    _step_names,
    _step_identifiers,
    _step_dates,
    _step_codes,
    _step_regions,
    _step_address,
    _step_text_fields,
    _step_household,
)

#: Steps nothing else depends on, with the columns they produce: skipped when a
#: caller asks for other ``fields`` only.
_OPTIONAL_STEPS: dict[Callable[[_Context], None], set[str]] = {
    _step_address: {"address", "dusun", "street", "rt", "rw"},
    _step_text_fields: set(_PLACE_FIELDS),
    _step_household: {"household_id"},
}


def clean_place_name(series: pd.Series) -> pd.Series:
    """Upper-case a place name and collapse spacing and punctuation noise.

    Examples
    --------
    >>> clean_place_name(pd.Series([" kab.  Lombok   Timur ", "", None])).tolist()
    ['KAB. LOMBOK TIMUR', <NA>, <NA>]
    """
    # place names repeat (every member of a village): clean each distinct value once
    codes, uniques = pd.factorize(_text(series), use_na_sentinel=True)
    text = pd.Series(uniques, dtype=TEXT_DTYPE).str.upper()
    text = text.str.replace(r"\s+", " ", regex=True).str.strip(" ,;-")
    text = text.where(text != "", pd.NA).astype(TEXT_DTYPE)  # type: ignore[call-overload]
    return pd.Series(text.array.take(codes, allow_fill=True), index=series.index)


def _assemble(ctx: _Context, data: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    out: dict[str, pd.Series] = {"record_id": ctx.ids}
    for name in CANONICAL_FIELDS[1:]:
        if name in ctx.out:
            out[name] = ctx.out[name]
    for name, series in ctx.out.items():
        out.setdefault(name, series)
    for name in _RAW_KEPT:
        if name in columns:
            out[f"{name}_raw"] = _text(ctx.frame[columns[name]])
    mapped = set(columns.values())
    extras = (
        [c for c in data.columns if c not in mapped]
        if ctx.schema.keep == "all"
        else (
            [] if ctx.schema.keep == "none" else [c for c in ctx.schema.keep if c in data.columns]
        )
    )
    for col in extras:
        out[col if col not in out else f"{col}_source"] = ctx.frame[col]
    return pd.DataFrame(out).reset_index(drop=True)


def _report(ctx: _Context) -> pd.DataFrame:
    parts = []
    for name, column, problem, raw in ctx.problems:
        mask = problem.notna()
        if not mask.any():
            continue
        codes = problem[mask].astype(str)
        parts.append(
            pd.DataFrame(
                {
                    "record_id": ctx.ids[mask],
                    "row": ctx.rows[mask],
                    "field": name,
                    "column": column,
                    "problem": codes,
                    "severity": codes.map(
                        lambda c: (
                            ctx.problem_types[c].severity if c in ctx.problem_types else "warning"
                        )
                    ),
                    "value": raw[mask],
                }
            )
        )
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=TEXT_DTYPE) for c in REPORT_COLUMNS})
    report = pd.concat(parts, ignore_index=True)
    for col in ("record_id", "field", "column", "problem", "severity", "value"):
        report[col] = report[col].astype(TEXT_DTYPE)
    return report[list(REPORT_COLUMNS)]


__all__ = [
    "REJECT_DUPLICATE_ID",
    "REJECT_MISSING_ID",
    "REPORT_COLUMNS",
    "StandardisedRecords",
    "clean_place_name",
    "resolve_columns",
    "standardise",
]
