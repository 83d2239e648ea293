"""bansos-linkage: link Indonesian social-protection registers and score eligibility.

The public API (``__all__``): read and standardise exports (:func:`read_table`,
:func:`standardise`, :class:`SourceSchema`), link two registers (:class:`Linker`,
:class:`LinkResult`), assemble several into DTSEN (:func:`assemble`), and the error
family (:class:`BansosLinkageError` and its subclasses, :class:`NotFittedError`
among them). Each stage also has its own module: ``bansos_linkage.standardisation``,
``bansos_linkage.linkage`` (blocking, comparisons, training, ..., linker),
``bansos_linkage.assembly``, ``bansos_linkage.eligibility``, ``bansos_linkage.review``,
``bansos_linkage.evaluation``, ``bansos_linkage.runs``.

Examples
--------
>>> import bansos_linkage
>>> "Linker" in dir(bansos_linkage)
True
>>> bansos_linkage.Linker().threshold > 0
True
"""

from typing import TYPE_CHECKING

from bansos_linkage._version import __version__
from bansos_linkage.datasets import sample_path
from bansos_linkage.errors import (
    BansosLinkageError,
    EmptyInputError,
    InputError,
    SchemaError,
    UnknownRecordError,
    UsageError,
)
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
    from bansos_linkage.errors import NotFittedError
    from bansos_linkage.linkage.linker import Linker, LinkResult


def __getattr__(name: str) -> object:
    # the linker needs scikit-learn, which takes most of a second to import: loaded on
    # first use, so that the CLI can start reading files meanwhile
    if name in ("Linker", "LinkResult"):
        from bansos_linkage.linkage import linker

        return getattr(linker, name)
    if name in ("Assembly", "assemble"):
        from bansos_linkage import assembly

        return getattr(assembly, name)
    if name == "NotFittedError":  # subclasses scikit-learn's: made on first use too
        from bansos_linkage import errors

        return errors.NotFittedError
    raise AttributeError(f"module 'bansos_linkage' has no attribute {name!r}")


def __dir__() -> list[str]:
    # the lazily loaded names too, so that dir() and help() show the whole API
    return sorted({*globals(), *__all__})


__all__ = [
    "CANONICAL_FIELDS",
    "Assembly",
    "BansosLinkageError",
    "EmptyInputError",
    "InputError",
    "LinkResult",
    "Linker",
    "NotFittedError",
    "SchemaError",
    "SourceSchema",
    "StandardisedRecords",
    "UnknownRecordError",
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
