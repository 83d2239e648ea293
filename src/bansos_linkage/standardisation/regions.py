"""Indonesian region codes in the Kemendagri and BPS (Wilkerstat) schemes.

Two schemes code the same places, with different widths and often different
numbers (BPS 31.73 Jakarta Pusat is Kemendagri 31.71):

============  ========  ========  ========  ========  ================
scheme        province  regency   district  village   full code
============  ========  ========  ========  ========  ================
kemendagri    2         2         2         4         ``PP.KK.CC.DDDD``
bps           2         2         3         3         ``PP.KK.CCC.DDD``
============  ========  ========  ========  ========  ================

Output codes are cumulative and undotted: ``regency_code`` holds the province
and regency digits ("3302"), ``district_code`` the first 6 (Kemendagri) or 7
(BPS) digits, ``village_code`` all 10. ``region_scheme`` says which scheme the
row's codes are in. Nothing here assumes the schemes agree: BPS codes are only
turned into Kemendagri codes through a crosswalk the caller supplies. There is
no ``scheme="auto"``: a 10-digit code such as "3173010001" is well formed in
both schemes, so the source's schema mapping has to say which one it uses.

Problem codes, checked in this order (one per row):

- ``region_missing`` (missing): empty, an unknown marker, or all zeros.
- ``region_not_digits`` (invalid): characters other than digits and ``. - /``
  or spaces between levels.
- ``region_bad_length`` (invalid): an undotted code is not 2, 4, 6/7 or 10
  digits long, a dotted level is wider than the scheme allows, or there are
  more than 4 levels.
- ``region_bad_province`` (invalid): not a province code of the scheme.
- ``region_bad_regency`` (invalid): regency part outside 01-69 (kabupaten)
  and 71-99 (kota).
- ``region_bad_district`` (invalid): district part is zero but a village is
  given.
- ``region_unusual_village`` (warning, Kemendagri only): the village part does
  not start with 1 (kelurahan), 2 (desa) or 3 (desa adat, Permendagri 58/2021).
- ``region_translated_coarser`` (warning): only an enclosing region of the BPS
  code is in the crosswalk; the row holds the Kemendagri code of that region.
- ``region_not_in_crosswalk`` (warning): a crosswalk was given but has neither
  the BPS code nor any enclosing region; the row keeps its BPS code.

Invalid and missing rows have every code column and ``region_scheme`` null.
Zero-filled trailing levels mean "level not given", as in registers that pad
a regency code to 10 digits: "3302000000" is regency 33.02.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from importlib import resources
from itertools import accumulate
from os import PathLike
from types import MappingProxyType

import numpy as np
import pandas as pd

from bansos_linkage.standardisation.problems import ProblemType, registry

__all__ = [
    "BPS_PROVINCES",
    "MISSING_MARKERS",
    "PROBLEMS",
    "PROVINCES",
    "as_text",
    "compose_region_code",
    "province_name",
    "read_crosswalk",
    "standardise_region_code",
]

PROBLEMS = registry(
    ProblemType("region_missing", "missing", "empty, an unknown marker or all zeros"),
    ProblemType(
        "region_not_digits", "invalid", "characters other than digits and level separators"
    ),
    ProblemType("region_bad_length", "invalid", "levels do not have the widths of the scheme"),
    ProblemType("region_bad_province", "invalid", "not a province code of the scheme"),
    ProblemType(
        "region_bad_regency", "invalid", "regency part outside 01-69 (kabupaten) and 71-99 (kota)"
    ),
    ProblemType("region_bad_district", "invalid", "district part is zero but a village is given"),
    ProblemType(
        "region_unusual_village",
        "warning",
        "Kemendagri village part does not start with 1 (kelurahan), 2 (desa) or 3 (desa adat)",
    ),
    ProblemType(
        "region_translated_coarser",
        "warning",
        "only an enclosing region of the BPS code is in the crosswalk; translated at that level",
    ),
    ProblemType(
        "region_not_in_crosswalk", "warning", "BPS code not in the crosswalk; kept as a BPS code"
    ),
)

MISSING_MARKERS: frozenset[str] = frozenset(
    {
        "",
        "-",
        "--",
        "---",
        ".",
        "?",
        "0",
        "NULL",
        "NONE",
        "NAN",
        "NA",
        "N/A",
        "#N/A",
        "NIL",
        "KOSONG",
        "TIDAK ADA",
        "TDK ADA",
        "TIDAK PUNYA",
        "BELUM ADA",
        "BELUM PUNYA",
        "TIDAK TAHU",
        "TIDAK DIKETAHUI",
    }
)
"""Upper-cased, stripped values that mean "no value" in Indonesian registers."""

SCHEMES: Mapping[str, tuple[int, int, int, int]] = MappingProxyType(
    {"kemendagri": (2, 2, 2, 4), "bps": (2, 2, 3, 3)}
)
"""Digits per level (province, regency, district, village) for each scheme."""

_LEVELS = ("province_code", "regency_code", "district_code", "village_code")
_COLUMNS = (*_LEVELS, "region_scheme", "problem")
_QUOTES = "'\"`\u2018\u2019\u201c\u201d"
_SEPARATORS = re.compile(r"[.\-/\s]+")
_LEVELS_RE = re.compile(
    r"([0-9]+)(?:[.\-/\s]+([0-9]+))?(?:[.\-/\s]+([0-9]+))?(?:[.\-/\s]+([0-9]+))?"
)
_FLOAT_TAIL = re.compile(r"^([0-9]+)\.0+$")  # "3302032001.0": a code that went through a float
_STRIP = ".-/ \t"
_TEXT = pd.StringDtype("pyarrow")


def _load_provinces() -> tuple[Mapping[str, str], Mapping[str, str]]:
    """Read data/provinces.csv once: (Kemendagri code -> name, BPS code -> name)."""
    text = resources.files("bansos_linkage").joinpath("data", "provinces.csv").read_text("utf-8")
    rows = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    kemendagri = {r["code"]: r["name"] for r in rows}
    bps = {r["bps_code"]: r["name"] for r in rows}
    return MappingProxyType(kemendagri), MappingProxyType(bps)


PROVINCES, BPS_PROVINCES = _load_provinces()
_PROVINCE_SETS = {"kemendagri": frozenset(PROVINCES), "bps": frozenset(BPS_PROVINCES)}
_ENDS = {name: tuple(np.cumsum(widths).tolist()) for name, widths in SCHEMES.items()}


def province_name(code: str | int, scheme: str = "kemendagri") -> str | None:
    """Name of a province from its 2-digit code, or None when the code is unknown.

    Parameters
    ----------
    code : str or int
        Province code, e.g. "33" or 33; longer codes are cut to their first 2 digits.
    scheme : {"kemendagri", "bps"}
        Scheme of the code; the two differ in Papua.

    Returns
    -------
    str or None

    Examples
    --------
    >>> province_name("33")
    'Jawa Tengah'
    >>> province_name(91), province_name(91, scheme="bps")
    ('Papua', 'Papua Barat')
    >>> province_name("10") is None
    True
    """
    names = PROVINCES if _check_scheme(scheme) == "kemendagri" else BPS_PROVINCES
    return names.get(str(code).strip()[:2])


def as_text(series: pd.Series) -> pd.Series:
    """Raw values as pyarrow-backed text, NA kept, so regex work is fast on pandas 2 and 3.

    Non-text values become their ``str()``; text that is not valid Unicode (lone
    surrogates, from files decoded with ``surrogateescape``) gets U+FFFD instead.

    Parameters
    ----------
    series : pandas.Series
        Values of any dtype.

    Returns
    -------
    pandas.Series
        Dtype ``pd.StringDtype("pyarrow")``, same index.

    Raises
    ------
    TypeError
        ``series`` is not a pandas Series.

    Examples
    --------
    >>> as_text(pd.Series(["33", None, 3302], dtype=object)).tolist()
    ['33', <NA>, '3302']
    """
    if not isinstance(series, pd.Series):
        raise TypeError(f"expected a pandas Series, got {type(series).__name__}")
    try:
        return series.astype(_TEXT)
    except UnicodeError:
        repaired = series.map(_repair_text, na_action="ignore")
        return repaired.astype(_TEXT)


def _repair_text(value: object) -> str:
    return str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _check_scheme(scheme: str) -> str:
    if scheme not in SCHEMES:
        raise ValueError(
            f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}; there is no 'auto' "
            "because 10-digit codes are well formed in both schemes"
        )
    return scheme


def _split_levels(text: str, scheme: str) -> list[str] | str:
    """Split one code into zero-padded level parts, or return a problem code."""
    match = _LEVELS_RE.fullmatch(text)
    if match is None:
        parts = _SEPARATORS.split(text)
        digits_only = all(p.isascii() and p.isdigit() for p in parts)
        return "region_bad_length" if digits_only else "region_not_digits"
    parts = [p for p in match.groups() if p is not None]
    widths = SCHEMES[scheme]
    if len(parts) == 1:  # undotted: the length says which levels are there
        ends = _ENDS[scheme]
        if len(text) not in ends:
            return "region_bad_length"
        starts = (0, *ends)
        return [text[starts[i] : ends[i]] for i in range(ends.index(len(text)) + 1)]
    if any(len(p) > w for p, w in zip(parts, widths, strict=False)):
        return "region_bad_length"
    return [p.zfill(w) for p, w in zip(parts, widths, strict=False)]


def _parse_code(raw: object, scheme: str) -> tuple[tuple[str, ...], str | None]:
    """Parse one raw value into cumulative level codes and at most one problem code."""
    text = str(raw).strip().strip(_QUOTES).strip()
    if text.upper() in MISSING_MARKERS:
        return (), "region_missing"
    if "." in text:
        text = _FLOAT_TAIL.sub(r"\1", text)
    parts = _split_levels(text.strip(_STRIP), scheme)
    if isinstance(parts, str):
        return (), "region_missing" if not text.strip(_STRIP) else parts
    while parts and not parts[-1].strip("0"):  # zero-filled trailing levels are "not given"
        parts.pop()
    if not parts:
        return (), "region_missing"
    if parts[0] not in _PROVINCE_SETS[scheme]:
        return (), "region_bad_province"
    if len(parts) > 1 and not (1 <= int(parts[1]) <= 69 or 71 <= int(parts[1]) <= 99):
        return (), "region_bad_regency"
    if len(parts) > 3 and not parts[2].strip("0"):
        return (), "region_bad_district"
    codes = tuple(accumulate(parts))  # "33", "3302", "330203", ...
    if scheme == "kemendagri" and len(parts) == 4 and parts[3][0] not in "123":
        return codes, "region_unusual_village"
    return codes, None


def _crosswalk_map(frame: pd.DataFrame, source: str) -> dict[str, tuple[str, ...]]:
    """Validate a crosswalk table; map each canonical BPS code to Kemendagri level codes."""
    missing = {"bps_code", "kemendagri_code"} - set(frame.columns)
    if missing:
        raise ValueError(
            f"{source}: missing column(s) {sorted(missing)}; expected bps_code and kemendagri_code"
        )
    out: dict[str, tuple[str, ...]] = {}
    first_row: dict[str, str] = {}
    for i, (bps_raw, kem_raw) in enumerate(
        zip(frame["bps_code"], frame["kemendagri_code"], strict=True)
    ):
        where = f"{source} row {i + 1}"
        bps, bps_problem = _parse_code("" if pd.isna(bps_raw) else bps_raw, "bps")
        if bps_problem is not None:
            raise ValueError(f"{where}: bps_code {bps_raw!r} is not a BPS code ({bps_problem})")
        kem, kem_problem = _parse_code("" if pd.isna(kem_raw) else kem_raw, "kemendagri")
        if kem_problem not in (None, "region_unusual_village"):
            raise ValueError(
                f"{where}: kemendagri_code {kem_raw!r} is not a Kemendagri code ({kem_problem})"
            )
        if len(bps) != len(kem):
            raise ValueError(
                f"{where}: bps_code {bps_raw!r} and kemendagri_code {kem_raw!r} "
                "are at different levels"
            )
        key = bps[-1]
        if key in out and out[key] != kem:
            raise ValueError(
                f"{where}: bps_code {bps_raw!r} already maps to a different kemendagri_code "
                f"at {first_row[key]}"
            )
        out[key] = kem
        first_row.setdefault(key, where)
    return out


def read_crosswalk(path: str | PathLike[str]) -> pd.DataFrame:
    """Read and validate a BPS -> Kemendagri crosswalk CSV.

    The file needs the columns ``bps_code`` and ``kemendagri_code``; rows may be
    at any level (province, regency, district, village) but both codes of a row
    must be at the same level, and one BPS code may map to only one Kemendagri
    code. Codes may be dotted or not.

    Parameters
    ----------
    path : str or path-like
        CSV file.

    Returns
    -------
    pandas.DataFrame
        Columns ``bps_code`` and ``kemendagri_code`` as canonical undotted codes
        (dtype "string"), one row per distinct BPS code.

    Raises
    ------
    ValueError
        A column is missing or a row is invalid; the message names the file and
        the data row (1 = first row after the header).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "cw.csv"
    >>> _ = p.write_text("bps_code,kemendagri_code\\n31.73,31.71\\n")
    >>> read_crosswalk(p)
      bps_code kemendagri_code
    0     3173            3171
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError as err:
        raise ValueError(f"{path}: the crosswalk file is empty") from err
    mapping = _crosswalk_map(frame, str(path))
    return pd.DataFrame(
        {
            "bps_code": pd.array(list(mapping), dtype="string"),
            "kemendagri_code": pd.array([v[-1] for v in mapping.values()], dtype="string"),
        }
    )


def _translate(
    codes: tuple[str, ...], mapping: dict[str, tuple[str, ...]]
) -> tuple[tuple[str, ...], str, str | None]:
    """Translate BPS level codes with the deepest level the crosswalk knows."""
    for depth in range(len(codes), 0, -1):
        target = mapping.get(codes[depth - 1])
        if target is not None:
            return (
                target,
                "kemendagri",
                (None if depth == len(codes) else "region_translated_coarser"),
            )
    return codes, "bps", "region_not_in_crosswalk"


def _string_column(
    values: tuple[str | None, ...], codes: np.ndarray
) -> pd.api.extensions.ExtensionArray:
    """Per-unique values -> per-row "string" array."""
    return pd.array(values, dtype="string").take(codes)


def standardise_region_code(
    series: pd.Series,
    scheme: str = "kemendagri",
    crosswalk: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Parse region codes into province, regency, district and village codes.

    Accepts dotted or undotted codes, unpadded dotted levels ("33.2.3.2001") and
    codes that stop at a higher level (province, regency or district only).

    Parameters
    ----------
    series : pandas.Series
        Raw codes as text (any index; None/NaN/pd.NA allowed).
    scheme : {"kemendagri", "bps"}
        Scheme the source uses (from its schema mapping). BPS district and
        village parts have 3 digits each.
    crosswalk : pandas.DataFrame, optional
        Only with ``scheme="bps"``: columns ``bps_code`` and ``kemendagri_code``
        (see :func:`read_crosswalk`). Codes found in it, or an enclosing region
        of them, are translated to Kemendagri; the others stay BPS with a warning.

    Returns
    -------
    pandas.DataFrame
        Same index as ``series``; "string" columns ``province_code``,
        ``regency_code``, ``district_code``, ``village_code`` (cumulative,
        undotted, null for levels not given), ``region_scheme`` and ``problem``.

    Raises
    ------
    ValueError
        Unknown scheme, a crosswalk with scheme "kemendagri", or an invalid
        crosswalk.

    Examples
    --------
    >>> s = pd.Series(["33.02.03.2001", "33.2.3", "3302032001", "10.01"])
    >>> standardise_region_code(s)[["district_code", "village_code", "problem"]]
      district_code village_code              problem
    0        330203   3302032001                 <NA>
    1        330203         <NA>                 <NA>
    2        330203   3302032001                 <NA>
    3          <NA>         <NA>  region_bad_province
    >>> cw = pd.DataFrame({"bps_code": ["3173"], "kemendagri_code": ["3171"]})
    >>> out = standardise_region_code(pd.Series(["3173010001", "3171"]), "bps", cw)
    >>> out[["regency_code", "region_scheme", "problem"]]
      regency_code region_scheme                    problem
    0         3171    kemendagri  region_translated_coarser
    1         3171           bps    region_not_in_crosswalk
    """
    _check_scheme(scheme)
    if crosswalk is not None and scheme != "bps":
        raise ValueError("a crosswalk translates BPS codes; pass scheme='bps' with it")
    mapping = None if crosswalk is None else _crosswalk_map(crosswalk, "crosswalk")
    codes, uniques = pd.factorize(as_text(series))
    codes = np.where(codes < 0, len(uniques), codes)  # NA rows share one "missing" slot
    rows = []
    for raw in [*uniques.to_numpy(dtype=object), ""]:
        parsed, problem = _parse_code(raw, scheme)
        row_scheme = scheme if parsed else None
        if parsed and mapping is not None:
            parsed, row_scheme, problem = _translate(parsed, mapping)
        rows.append((*parsed, *[None] * (4 - len(parsed)), row_scheme, problem))
    data = {
        name: _string_column(values, codes)
        for name, values in zip(_COLUMNS, zip(*rows, strict=True), strict=True)
    }
    return pd.DataFrame(data, index=series.index)


def _clean_level(raw: str, width: int) -> str | None:
    """One level value -> zero-padded text, None when missing or zero."""
    text = raw.strip()
    if "." in text:
        text = _FLOAT_TAIL.sub(r"\1", text)
    digits = text.isascii() and text.isdigit()
    if text.upper() in MISSING_MARKERS or (digits and not text.strip("0")):
        return None
    return text.zfill(width) if digits else text


def _level_codes(level: pd.Series, width: int) -> tuple[np.ndarray, list[str | None]]:
    """Per row, an index into the cleaned distinct values of one level (last one: missing)."""
    codes, uniques = pd.factorize(as_text(level))
    labels = [_clean_level(value, width) for value in uniques]
    return np.where(codes < 0, len(labels), codes), [*labels, None]


def compose_region_code(
    province: pd.Series,
    regency: pd.Series | None = None,
    district: pd.Series | None = None,
    village: pd.Series | None = None,
    scheme: str = "kemendagri",
) -> pd.Series:
    """Join region levels stored in separate columns into one dotted code.

    Regsosek, for example, stores ``kode_prov``, ``kode_kab``, ``kode_kec`` and
    ``kode_desa`` as separate numbers ("33", "2", "30", "1"). Each digit-only
    level is zero-padded to the scheme's width; the code stops at the first
    missing (or zero) level, since a lower level means nothing without the one
    above it. Feed the result to :func:`standardise_region_code` with the same
    scheme, which validates it.

    Parameters
    ----------
    province, regency, district, village : pandas.Series
        Level columns sharing one index; leave out the levels a source lacks.
    scheme : {"kemendagri", "bps"}
        Gives the padding widths.

    Returns
    -------
    pandas.Series
        Dotted codes (dtype "string", null when the province is missing),
        same index as ``province``.

    Examples
    --------
    >>> prov, kab = pd.Series(["33", "31"]), pd.Series(["2", None])
    >>> kec, desa = pd.Series(["30", "1"]), pd.Series(["1", "1"])
    >>> code = compose_region_code(prov, kab, kec, desa, scheme="bps")
    >>> code.tolist()
    ['33.02.030.001', '31']
    >>> standardise_region_code(code, scheme="bps")["village_code"].tolist()
    ['3302030001', <NA>]
    """
    widths = SCHEMES[_check_scheme(scheme)]
    given = [province, regency, district, village]
    for level in given[1:]:
        if level is not None and not level.index.equals(province.index):
            raise ValueError("all level columns must share the province column's index")
    # Join per distinct combination of levels: (code so far, still growing) per key.
    key, labels = _level_codes(province, widths[0])
    codes_so_far = [(label, label is not None) for label in labels]
    for level, width in zip(given[1:], widths[1:], strict=True):
        if level is None:
            break
        level_key, level_labels = _level_codes(level, width)
        key, combos = pd.factorize(key * len(level_labels) + level_key)
        codes_so_far = [
            _extend(
                *codes_so_far[int(combo) // len(level_labels)],
                level_labels[int(combo) % len(level_labels)],
            )
            for combo in combos
        ]
    composed = pd.array([code for code, _ in codes_so_far], dtype="string")
    return pd.Series(composed.take(key), index=province.index, name="region_code")


def _extend(code: str | None, growing: bool, part: str | None) -> tuple[str | None, bool]:
    """Add the next level unless a level above it was missing."""
    if not growing or part is None:
        return code, False
    return f"{code}.{part}", True
