"""Canonical person-record fields and source-schema mappings.

A source schema says which column of a register export feeds which canonical
field, which column is the record id, how its dates are written and which code
lists it uses. Schemas are YAML files; built-in presets describe the usual
DTKS, Regsosek and P3KE exports and can be used by name or copied and edited
(:func:`preset_path`, ``bansos-linkage schema show dtks``).

A mapping file looks like this::

    name: my_dtks_export
    id_column: ID DTKS
    fields:
      nik: NIK                              # one source column
      full_name: [NAMA, NAMA LENGKAP]       # first one present wins
      mother_name: {columns: NAMA IBU KANDUNG, optional: true}
    dates:
      formats: ["%d-%m-%Y"]                 # tried first; other formats still parse
    codes:
      sex: {L: M, P: F}                     # extends the built-in code list
      relationship: {KEPALA KELUARGA: 1}
    regions:
      scheme: kemendagri                    # or bps
    keep: all                               # unmapped columns ride along untouched

Column names match ignoring case, spaces and punctuation (``NOMOR KK`` matches
``nomor_kk`` and ``Nomor K.K.``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bansos_linkage.errors import SchemaError

#: The canonical person-record fields, in output order.
CANONICAL_FIELDS: tuple[str, ...] = (
    "record_id",
    "nik",
    "kk_number",
    "full_name",
    "sex",
    "birth_date",
    "birth_place",
    "mother_name",
    "relationship",
    "household_id",
    "province_code",
    "regency_code",
    "district_code",
    "village_code",
    "province_name",
    "regency_name",
    "district_name",
    "village_name",
    "address",
    "dusun",
    "rt",
    "rw",
)

#: Fields a source may map (everything but the id, which has its own key).
MAPPABLE_FIELDS: frozenset[str] = frozenset(CANONICAL_FIELDS) - {"record_id"}

REGION_LEVELS: tuple[str, ...] = ("province_code", "regency_code", "district_code", "village_code")
REGION_SCHEMES: frozenset[str] = frozenset({"kemendagri", "bps"})
_TOP_KEYS = frozenset(
    {"name", "description", "id_column", "fields", "dates", "codes", "regions", "keep"}
)
_FIELD_KEYS = frozenset({"columns", "optional"})
_CODE_LISTS = frozenset({"sex", "relationship"})
_SEX_VALUES = frozenset({"M", "F"})


def normalise_header(name: str) -> str:
    """Header key used for matching: upper case, alphanumerics only.

    Examples
    --------
    >>> normalise_header(" Nomor K.K. ")
    'NOMORKK'
    """
    return re.sub(r"[^0-9A-Z]", "", str(name).upper())


@dataclass(frozen=True)
class FieldMapping:
    """Source columns that may feed one canonical field (the first present wins)."""

    field: str
    columns: tuple[str, ...]
    optional: bool = False


@dataclass(frozen=True)
class SourceSchema:
    """A validated source-schema mapping.

    Build one with :func:`load_schema` from a preset name, a YAML file or a dict.
    """

    name: str
    id_column: tuple[str, ...]
    fields: Mapping[str, FieldMapping]
    date_formats: tuple[str, ...] = ()
    sex_codes: Mapping[str, str] = field(default_factory=dict)
    relationship_codes: Mapping[str, int] = field(default_factory=dict)
    region_scheme: str = "kemendagri"
    region_crosswalk: str | None = None
    keep: str | tuple[str, ...] = "all"
    description: str = ""
    origin: str = "<dict>"

    def to_dict(self) -> dict[str, Any]:
        """The mapping as plain data, ready for YAML or JSON (round-trips through load_schema)."""
        fields_out: dict[str, Any] = {}
        for name, fm in self.fields.items():
            cols: Any = fm.columns[0] if len(fm.columns) == 1 else list(fm.columns)
            fields_out[name] = {"columns": cols, "optional": True} if fm.optional else cols
        regions: dict[str, Any] = {"scheme": self.region_scheme}
        if self.region_crosswalk:
            regions["crosswalk"] = self.region_crosswalk
        return {
            "name": self.name,
            "description": self.description,
            "id_column": self.id_column[0] if len(self.id_column) == 1 else list(self.id_column),
            "fields": fields_out,
            "dates": {"formats": list(self.date_formats)},
            "codes": {"sex": dict(self.sex_codes), "relationship": dict(self.relationship_codes)},
            "regions": regions,
            "keep": self.keep if isinstance(self.keep, str) else list(self.keep),
        }

    def to_yaml(self) -> str:
        """The mapping as YAML text."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def list_presets() -> list[str]:
    """Names of the built-in source-schema presets.

    Examples
    --------
    >>> list_presets()
    ['dtks', 'p3ke', 'regsosek']
    """
    folder = resources.files("bansos_linkage") / "presets"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def preset_path(name: str) -> Path:
    """Path of a built-in preset's YAML file, to read or copy and edit."""
    if name not in list_presets():
        raise SchemaError(f"unknown preset; expected one of {list_presets()}", file=name)
    return Path(str(resources.files("bansos_linkage") / "presets" / f"{name}.yaml"))


def load_schema(spec: str | Path | Mapping[str, Any] | SourceSchema) -> SourceSchema:
    """Load a source schema from a preset name, a YAML file path or a dict.

    YAML is parsed with the safe loader: no Python objects are ever constructed
    from a mapping file.

    Examples
    --------
    >>> s = load_schema("dtks")
    >>> s.name, s.region_scheme
    ('dtks', 'kemendagri')
    >>> mine = load_schema({"id_column": "ID", "fields": {"full_name": "NAMA"}})
    >>> mine.fields["full_name"].columns
    ('NAMA',)
    """
    if isinstance(spec, SourceSchema):
        return spec
    if isinstance(spec, Mapping):
        return _parse(dict(spec), origin="<dict>")
    text_spec = str(spec)
    path = Path(text_spec)
    # a bare name is a preset unless it names a file (a folder called dtks is no schema)
    if not path.suffix and not path.is_file():
        path = preset_path(text_spec)
        origin = f"preset:{text_spec}"
    else:
        origin = str(path)
    if not path.is_file():
        raise SchemaError("mapping file not found", file=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SchemaError(f"malformed YAML{where}", file=origin) from None
    if not isinstance(raw, dict):
        raise SchemaError("expected a mapping at the top level", file=origin)
    return _parse(raw, origin=origin)


def _parse(raw: dict[str, Any], origin: str) -> SourceSchema:
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise SchemaError(
            f"unknown key; expected one of {sorted(_TOP_KEYS)}", file=origin, key=sorted(unknown)[0]
        )
    if "id_column" not in raw:
        raise SchemaError("missing the source's id column", file=origin, key="id_column")
    fields_raw = raw.get("fields")
    if not isinstance(fields_raw, dict) or not fields_raw:
        raise SchemaError(
            "expected a mapping of canonical field -> source column(s)", file=origin, key="fields"
        )
    fields = {name: _parse_field(name, spec, origin) for name, spec in fields_raw.items()}
    dates = raw.get("dates") or {}
    codes = raw.get("codes") or {}
    regions = raw.get("regions") or {}
    return SourceSchema(
        name=str(raw.get("name") or Path(origin).stem),
        description=str(raw.get("description") or ""),
        id_column=_columns(raw["id_column"], origin, "id_column"),
        fields=fields,
        date_formats=_date_formats(dates, origin),
        sex_codes=_sex_codes(codes, origin),
        relationship_codes=_relationship_codes(codes, origin),
        region_scheme=_region_scheme(regions, origin),
        region_crosswalk=regions.get("crosswalk"),
        keep=_keep(raw.get("keep", "all"), origin),
        origin=origin,
    )


def _columns(value: Any, origin: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str) and value.strip():
        return (value,)
    if isinstance(value, Sequence) and value and all(isinstance(v, str) and v for v in value):
        return tuple(value)
    raise SchemaError(
        "expected a column name or a non-empty list of column names", file=origin, key=key
    )


def _parse_field(name: str, spec: Any, origin: str) -> FieldMapping:
    key = f"fields.{name}"
    if name not in MAPPABLE_FIELDS:
        hint = " (the id has its own key, id_column)" if name == "record_id" else ""
        raise SchemaError(
            f"not a canonical field{hint}; expected one of {sorted(MAPPABLE_FIELDS)}",
            file=origin,
            key=key,
        )
    if isinstance(spec, dict):
        unknown = set(spec) - _FIELD_KEYS
        if unknown or "columns" not in spec:
            raise SchemaError(
                "expected keys 'columns' and optionally 'optional'", file=origin, key=key
            )
        optional = spec.get("optional", False)
        if not isinstance(optional, bool):
            raise SchemaError(
                "'optional' must be true or false", file=origin, key=f"{key}.optional"
            )
        return FieldMapping(name, _columns(spec["columns"], origin, key), optional)
    return FieldMapping(name, _columns(spec, origin, key))


def _date_formats(dates: Any, origin: str) -> tuple[str, ...]:
    if not isinstance(dates, dict) or set(dates) - {"formats"}:
        raise SchemaError("expected 'formats: [...]'", file=origin, key="dates")
    formats = dates.get("formats") or []
    if not isinstance(formats, list) or not all(isinstance(f, str) and "%" in f for f in formats):
        raise SchemaError(
            "expected a list of strptime formats such as '%d-%m-%Y'",
            file=origin,
            key="dates.formats",
        )
    return tuple(formats)


def _code_list(codes: Any, origin: str, which: str) -> dict[str, Any]:
    if not isinstance(codes, dict):
        raise SchemaError("expected a mapping of code lists", file=origin, key="codes")
    unknown = set(codes) - _CODE_LISTS
    if unknown:
        raise SchemaError(
            f"unknown code list; expected one of {sorted(_CODE_LISTS)}",
            file=origin,
            key=f"codes.{sorted(unknown)[0]}",
        )
    out = codes.get(which) or {}
    if not isinstance(out, dict):
        raise SchemaError(
            "expected a mapping of source value -> code", file=origin, key=f"codes.{which}"
        )
    return {str(k): v for k, v in out.items()}


def _sex_codes(codes: Any, origin: str) -> dict[str, str]:
    out = _code_list(codes, origin, "sex")
    for k, v in out.items():
        if v not in _SEX_VALUES:
            raise SchemaError("sex codes map to 'M' or 'F'", file=origin, key=f"codes.sex.{k}")
    return out


def _relationship_codes(codes: Any, origin: str) -> dict[str, int]:
    out = _code_list(codes, origin, "relationship")
    for k, v in out.items():
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 8:
            raise SchemaError(
                "relationship codes map to an integer 1-8",
                file=origin,
                key=f"codes.relationship.{k}",
            )
    return out


def _region_scheme(regions: Any, origin: str) -> str:
    if not isinstance(regions, dict) or set(regions) - {"scheme", "crosswalk"}:
        raise SchemaError(
            "expected 'scheme' and optionally 'crosswalk'", file=origin, key="regions"
        )
    scheme = regions.get("scheme", "kemendagri")
    if scheme not in REGION_SCHEMES:
        raise SchemaError(
            f"expected one of {sorted(REGION_SCHEMES)}", file=origin, key="regions.scheme"
        )
    return scheme


def _keep(keep: Any, origin: str) -> str | tuple[str, ...]:
    if keep in ("all", "none"):
        return keep
    if isinstance(keep, list) and all(isinstance(k, str) for k in keep):
        return tuple(keep)
    raise SchemaError("expected 'all', 'none' or a list of column names", file=origin, key="keep")


__all__ = [
    "CANONICAL_FIELDS",
    "FieldMapping",
    "MAPPABLE_FIELDS",
    "REGION_LEVELS",
    "REGION_SCHEMES",
    "SourceSchema",
    "list_presets",
    "load_schema",
    "normalise_header",
    "preset_path",
]
