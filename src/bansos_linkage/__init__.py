"""bansos-linkage: link Indonesian social-protection registers and score eligibility.

The public API. Each stage also has its own module (``bansos_linkage.schema``,
``bansos_linkage.io``, ``bansos_linkage.standardisation``, ...).
"""

from bansos_linkage.datasets import sample_path
from bansos_linkage.errors import BansosLinkageError, InputError, SchemaError
from bansos_linkage.io import read_table, write_table
from bansos_linkage.linker import Linker, LinkResult
from bansos_linkage.schema import (
    CANONICAL_FIELDS,
    SourceSchema,
    list_presets,
    load_schema,
    preset_path,
)
from bansos_linkage.standardisation import StandardisedRecords, standardise

__version__ = "0.1.0"

__all__ = [
    "CANONICAL_FIELDS",
    "BansosLinkageError",
    "InputError",
    "LinkResult",
    "Linker",
    "SchemaError",
    "SourceSchema",
    "StandardisedRecords",
    "__version__",
    "list_presets",
    "load_schema",
    "preset_path",
    "read_table",
    "sample_path",
    "standardise",
    "write_table",
]
