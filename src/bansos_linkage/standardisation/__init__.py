"""Standardisation of Indonesian person records: one module per field kind.

:func:`standardise` runs them all over a register export; each field
standardiser is also public and works on one pandas Series.
"""

from bansos_linkage.standardisation.addresses import parse_address, standardise_rt_rw
from bansos_linkage.standardisation.codes import standardise_relationship, standardise_sex
from bansos_linkage.standardisation.dates import age_at, standardise_date
from bansos_linkage.standardisation.names import standardise_name
from bansos_linkage.standardisation.nik import decode_nik, standardise_kk, standardise_nik
from bansos_linkage.standardisation.problems import ProblemType
from bansos_linkage.standardisation.records import (
    REPORT_COLUMNS,
    StandardisedRecords,
    clean_place_name,
    resolve_columns,
    standardise,
)
from bansos_linkage.standardisation.regions import (
    compose_region_code,
    read_crosswalk,
    standardise_region_code,
)

__all__ = [
    "REPORT_COLUMNS",
    "ProblemType",
    "StandardisedRecords",
    "age_at",
    "clean_place_name",
    "compose_region_code",
    "decode_nik",
    "parse_address",
    "read_crosswalk",
    "resolve_columns",
    "standardise",
    "standardise_date",
    "standardise_kk",
    "standardise_name",
    "standardise_nik",
    "standardise_region_code",
    "standardise_relationship",
    "standardise_rt_rw",
    "standardise_sex",
]
