"""bansos-linkage: link Indonesian social-protection registers and score eligibility.

The public API. Each stage also has its own module (``bansos_linkage.schema``,
``bansos_linkage.io``, ``bansos_linkage.standardisation``, ...).
"""

from typing import TYPE_CHECKING

from bansos_linkage.datasets import sample_path
from bansos_linkage.errors import BansosLinkageError, InputError, SchemaError, UsageError
from bansos_linkage.io import read_table, write_table
from bansos_linkage.schema import (
    CANONICAL_FIELDS,
    SourceSchema,
    list_presets,
    load_schema,
    preset_path,
)
from bansos_linkage.standardisation import StandardisedRecords, standardise

if TYPE_CHECKING:
    from bansos_linkage.assembly import Assembly, assemble
    from bansos_linkage.linkage.linker import Linker, LinkResult

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    # the linker needs scikit-learn, which takes most of a second to import: loaded on
    # first use, so that the CLI can start reading files meanwhile
    if name in ("Linker", "LinkResult"):
        from bansos_linkage.linkage import linker

        return getattr(linker, name)
    if name in ("Assembly", "assemble"):
        from bansos_linkage import assembly

        return getattr(assembly, name)
    raise AttributeError(f"module 'bansos_linkage' has no attribute {name!r}")


__all__ = [
    "CANONICAL_FIELDS",
    "Assembly",
    "BansosLinkageError",
    "InputError",
    "LinkResult",
    "Linker",
    "SchemaError",
    "SourceSchema",
    "StandardisedRecords",
    "UsageError",
    "__version__",
    "assemble",
    "list_presets",
    "load_schema",
    "preset_path",
    "read_table",
    "sample_path",
    "standardise",
    "write_table",
]
