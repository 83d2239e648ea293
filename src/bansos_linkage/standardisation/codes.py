"""Standardise coded fields: sex (jenis kelamin) and relationship to the head.

Registers write the same code many ways: ``1``, ``"1.0"`` (a number column
saved by Excel), ``"01"``, ``"L"``, ``"Laki-laki"``, ``"LAKI LAKI"``. Every
value and every mapping key is reduced to a *key* before lookup:

* a whole number (``"1"``, ``"01"``, ``"1.0"``, ``"1,00"``) becomes its digits
  without leading zeros (``"1"``); a negative number or one with a real
  fraction (``"-1"``, ``"1.5"``) keeps its text so it never matches a code;
* any other text is upper-cased with every space and punctuation mark removed
  (``"Laki-laki"``, ``"LAKI LAKI"`` and ``"lakilaki"`` all become
  ``"LAKILAKI"``; ``"Kepala Rumah Tangga"`` becomes ``"KEPALARUMAHTANGGA"``).

Empty values, values made only of punctuation (``"-"``) and the markers in
:data:`MISSING_KEYS` are ``<field>_missing``; anything else not in the mapping
is ``<field>_unknown_code`` (severity invalid, value set null).

Canonical codes
---------------
Sex: ``"M"`` (male, laki-laki) and ``"F"`` (female, perempuan), see
:data:`SEX_LABELS`. Letters rather than 1/2 because 1/2 is only one of several
source conventions and M/F cannot be confused with a count.

Relationship to the head of the family or household (Regsosek and DTKS share
codes 1-8), see :data:`RELATIONSHIP_LABELS`: 1 head (kepala keluarga / kepala
rumah tangga), 2 spouse, 3 child (own, step or adopted), 4 child-in-law,
5 grandchild, 6 parent or parent-in-law, 7 household helper, 8 other relative
or other. Digits are read in that numbering. The civil registry's KK form
(Dukcapil SHDK) numbers differently (1 kepala keluarga, 2 suami, 3 istri,
4 anak, 5 menantu, 6 cucu, 7 orang tua, 8 mertua, 9 famili lain, 10 pembantu,
11 lainnya): a schema reading such a source passes its own ``codes`` mapping.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bansos_linkage.standardisation.problems import ProblemType, registry
from bansos_linkage.standardisation.values import factorize_values

__all__ = [
    "MISSING_KEYS",
    "PROBLEMS",
    "RELATIONSHIP_CODES",
    "RELATIONSHIP_LABELS",
    "SEX_CODES",
    "SEX_LABELS",
    "normalise_key",
    "standardise_code",
    "standardise_relationship",
    "standardise_sex",
]

PROBLEMS = registry(
    ProblemType("sex_missing", "missing", "empty or an explicit unknown marker"),
    ProblemType("sex_unknown_code", "invalid", "a value that is not a known sex code"),
    ProblemType("relationship_missing", "missing", "empty or an explicit unknown marker"),
    ProblemType(
        "relationship_unknown_code", "invalid", "a value that is not a known relationship code"
    ),
)

#: Canonical sex codes and their meaning.
SEX_LABELS: dict[str, str] = {"M": "male (laki-laki)", "F": "female (perempuan)"}

#: Relationship-to-head codes (Regsosek/DTKS numbering) and English labels.
RELATIONSHIP_LABELS: dict[int, str] = {
    1: "head",
    2: "spouse",
    3: "child",
    4: "child_in_law",
    5: "grandchild",
    6: "parent",
    7: "helper",
    8: "other",
}

#: Keys (after :func:`normalise_key`) that mean "not known".
MISSING_KEYS = frozenset(
    {"", "NA", "NAN", "NONE", "NULL", "NAT", "TT", "TIDAKTAHU", "TDKTAHU", "TIDAKDIKETAHUI"}
)

#: Default source values for sex, before normalisation.
SEX_CODES: dict[str, str] = {
    **dict.fromkeys(
        ["1", "L", "LK", "LAKI-LAKI", "LAKI", "LAKI2", "LELAKI", "PRIA", "M", "MALE"], "M"
    ),
    **dict.fromkeys(["2", "P", "PR", "PEREMPUAN", "WANITA", "F", "FEMALE"], "F"),
}

#: Default source values for relationship to the head, before normalisation.
RELATIONSHIP_CODES: dict[str, int] = {
    **{str(code): code for code in RELATIONSHIP_LABELS},
    **dict.fromkeys(
        ["KEPALA KELUARGA", "KEPALA RUMAH TANGGA", "KRT", "KK", "KEPALA", "KEPALA KK"], 1
    ),
    **dict.fromkeys(["ISTRI", "ISTERI", "SUAMI", "PASANGAN", "ISTRI/SUAMI", "SUAMI/ISTRI"], 2),
    **dict.fromkeys(["ANAK", "ANAK KANDUNG", "ANAK TIRI", "ANAK ANGKAT", "ANAK TIRI/ANGKAT"], 3),
    "MENANTU": 4,
    "CUCU": 5,
    **dict.fromkeys(
        ["ORANG TUA", "ORANGTUA", "ORTU", "MERTUA", "ORANG TUA/MERTUA", "AYAH", "IBU"], 6
    ),
    **dict.fromkeys(["PEMBANTU", "PEMBANTU RUMAH TANGGA", "PRT"], 7),
    **dict.fromkeys(
        [
            "LAINNYA",
            "LAIN-LAIN",
            "LAIN LAIN",
            "FAMILI LAIN",
            "FAMILI",
            "SAUDARA",
            "SAUDARA KANDUNG",
            "KEPONAKAN",
        ],
        8,
    ),
}

_NUMBER = re.compile(r"([+-]?)(\d+)(?:[.,](\d+))?", re.ASCII)
_NOT_ALNUM = re.compile(r"[\W_]+")


def normalise_key(value: object) -> str:
    """Reduce a raw code or mapping key to its lookup key.

    Parameters
    ----------
    value : object
        A raw value; non-strings are read through ``str``.

    Returns
    -------
    str
        Whole numbers without leading zeros or a ``.0`` fraction; other text
        upper-cased without spaces or punctuation.

    Examples
    --------
    >>> [normalise_key(v) for v in ["01", "1.0", " Laki-laki ", "laki laki", "1.5", "-"]]
    ['1', '1', 'LAKILAKI', 'LAKILAKI', '1.5', '']
    """
    text = (value if isinstance(value, str) else str(value)).strip()
    if match := _NUMBER.fullmatch(text):
        sign, whole, fraction = match.groups()
        if sign != "-" and (fraction is None or not fraction.strip("0")):
            return whole.lstrip("0") or "0"
        return text  # a negative or fractional number never equals a code
    key = _NOT_ALNUM.sub("", text.upper())
    return (key.lstrip("0") or "0") if key.isdigit() else key  # "(01)" -> "1"


def _normalise_mapping(mapping: Mapping[Any, object], name: str) -> dict[str, object]:
    """Normalise keys, refusing two keys that collide with different values."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name} must be a mapping of source values to codes")
    out: dict[str, object] = {}
    for raw, value in mapping.items():
        key = normalise_key(raw)
        if key in MISSING_KEYS:
            raise ValueError(f"{name} maps a missing marker ({key or 'empty'!r}) to a code")
        if key in out and out[key] != value:
            raise ValueError(f"{name} has two keys that both normalise to {key!r}")
        out[key] = value
    return out


def standardise_code(
    series: pd.Series,
    mapping: Mapping[Any, object],
    field: str,
    *,
    dtype: str = "string",
) -> pd.DataFrame:
    """Map raw values of a coded field to canonical codes.

    Parameters
    ----------
    series : pd.Series
        Raw values.
    mapping : Mapping
        Source value -> canonical code. Keys are normalised with
        :func:`normalise_key`, so ``"Laki-laki"`` also matches ``"LAKI LAKI"``.
    field : str
        Name of the output column and prefix of the problem codes
        ``<field>_missing`` and ``<field>_unknown_code``.
    dtype : str, default "string"
        pandas dtype of the output column (e.g. ``"Int8"`` for numeric codes).

    Returns
    -------
    pd.DataFrame
        Same index as ``series``; columns ``field`` and ``problem`` (string).

    Examples
    --------
    >>> import pandas as pd
    >>> standardise_code(pd.Series(["ya", "Tidak", "", "X"]), {"YA": "Y", "TIDAK": "N"}, "owns")
       owns            problem
    0     Y               <NA>
    1     N               <NA>
    2  <NA>       owns_missing
    3  <NA>  owns_unknown_code
    """
    if not isinstance(series, pd.Series):
        raise TypeError("series must be a pandas Series")
    if not isinstance(field, str) or not field.isidentifier() or field == "problem":
        raise ValueError("field must be an identifier other than 'problem'")
    lookup = _normalise_mapping(mapping, "mapping")
    codes, uniques = factorize_values(series)
    keys = [normalise_key(u) for u in uniques]
    values = [lookup.get(k) for k in keys]
    problems = [
        None
        if v is not None
        else f"{field}_missing"
        if k in MISSING_KEYS
        else f"{field}_unknown_code"
        for k, v in zip(keys, values, strict=True)
    ]
    take = np.where(codes < 0, len(uniques), codes)  # the extra last slot is for nulls
    canonical = pd.array([*values, None], dtype=dtype).take(take)  # type: ignore[call-overload]
    problem = pd.array([*problems, f"{field}_missing"], dtype="string").take(take)
    return pd.DataFrame({field: canonical, "problem": problem}, index=series.index)


def standardise_sex(series: pd.Series, codes: Mapping[Any, str] | None = None) -> pd.DataFrame:
    """Standardise sex (jenis kelamin) to ``"M"`` / ``"F"``.

    Parameters
    ----------
    series : pd.Series
        Raw values: ``1``/``2``, ``L``/``P``, ``LAKI-LAKI``/``PEREMPUAN``,
        ``PRIA``/``WANITA``, ``M``/``F``, ``MALE``/``FEMALE`` ... in any case,
        spacing or punctuation (:data:`SEX_CODES`).
    codes : Mapping, optional
        Extra source values -> ``"M"``/``"F"`` from a schema; they extend and
        override the defaults (e.g. ``{"1": "F", "2": "M"}`` for a source that
        codes women as 1).

    Returns
    -------
    pd.DataFrame
        Same index; ``sex`` (string ``"M"``/``"F"``) and ``problem``
        (``sex_missing``, ``sex_unknown_code`` or <NA>).

    Examples
    --------
    >>> import pandas as pd
    >>> standardise_sex(pd.Series(["1", "P", "Laki Laki", "perempuan", "2.0", None, "X"]))
        sex           problem
    0     M              <NA>
    1     F              <NA>
    2     M              <NA>
    3     F              <NA>
    4     F              <NA>
    5  <NA>       sex_missing
    6  <NA>  sex_unknown_code
    """
    mapping = _merge(SEX_CODES, codes, "codes")
    if not set(mapping.values()) <= set(SEX_LABELS):
        raise ValueError("codes must map to 'M' or 'F'")
    return standardise_code(series, mapping, "sex")


def standardise_relationship(
    series: pd.Series, codes: Mapping[Any, int] | None = None
) -> pd.DataFrame:
    """Standardise relationship to the head (hubungan keluarga) to codes 1-8.

    Parameters
    ----------
    series : pd.Series
        Raw values: digits ``1``-``8`` (also ``01``, ``1.0``) in the
        Regsosek/DTKS numbering, or words such as ``KEPALA KELUARGA``, ``KRT``,
        ``ISTRI``, ``ANAK KANDUNG``, ``MERTUA``, ``FAMILI LAIN``
        (:data:`RELATIONSHIP_CODES`).
    codes : Mapping, optional
        Extra source values -> codes 1-8 from a schema; they extend and
        override the defaults (e.g. the Dukcapil SHDK numbering).

    Returns
    -------
    pd.DataFrame
        Same index; ``relationship`` (nullable ``Int8``, labels in
        :data:`RELATIONSHIP_LABELS`) and ``problem``
        (``relationship_missing``, ``relationship_unknown_code`` or <NA>).

    Examples
    --------
    >>> import pandas as pd
    >>> standardise_relationship(pd.Series(["01", "Istri", "anak kandung", "Famili Lain", "9"]))
       relationship                    problem
    0             1                       <NA>
    1             2                       <NA>
    2             3                       <NA>
    3             8                       <NA>
    4          <NA>  relationship_unknown_code
    """
    mapping = _merge(RELATIONSHIP_CODES, codes, "codes")
    valid = set(RELATIONSHIP_LABELS)
    if not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) and v in valid
        for v in mapping.values()
    ):
        raise ValueError("codes must map to relationship codes 1-8")
    return standardise_code(series, mapping, "relationship", dtype="Int8")


def _merge(
    defaults: Mapping[str, object], extra: Mapping[Any, object] | None, name: str
) -> dict[str, object]:
    """Defaults overridden by a schema's own mapping (both normalised)."""
    merged = _normalise_mapping(defaults, "defaults")
    if extra is not None:
        merged.update(_normalise_mapping(extra, name))
    return merged
