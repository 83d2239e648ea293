"""Exceptions raised for bad input, bad configuration and bad models.

Messages name the file, row, column or key and what was expected, never the
personal data found there: callers refer to records by id.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING


class BansosLinkageError(Exception):
    """Base class of every error this library raises on purpose."""


class InputError(BansosLinkageError, ValueError):
    """A data file cannot be read as the caller asked.

    Parameters
    ----------
    message
        What was expected, without the offending personal data.
    file, row, column
        Where the problem is; ``row`` counts as a spreadsheet does (header = 1).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        where = ", ".join(
            part
            for part in (
                f"file {self.file}" if self.file else "",
                f"row {row}" if row is not None else "",
                f"column {column!r}" if column else "",
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)


class SchemaError(BansosLinkageError, ValueError):
    """A source-schema mapping is unknown, malformed or does not fit the data.

    Parameters
    ----------
    message
        What was expected.
    file
        The mapping file or preset name.
    key
        The offending key in the mapping (e.g. ``fields.nik``).
    """

    def __init__(self, message: str, *, file: str | Path | None = None, key: str | None = None):
        self.file = None if file is None else str(file)
        self.key = key
        where = ", ".join(
            p
            for p in (f"schema {self.file}" if self.file else "", f"key {key!r}" if key else "")
            if p
        )
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(BansosLinkageError, ValueError):
    """An option or argument is out of range, conflicts with another, or names a path
    that cannot be used as asked (an output folder that is a file, say).

    Parameters
    ----------
    message
        What was expected.
    option
        The option or argument, as the user wrote it (``--out``, ``LEFT``) or the
        parameter name for an API call.
    file
        The path concerned, when there is one.
    """

    def __init__(
        self, message: str, *, option: str | None = None, file: str | Path | None = None
    ) -> None:
        self.option = option
        self.file = None if file is None else str(file)
        where = " ".join(p for p in (option or "", self.file or "") if p)
        super().__init__(f"{where}: {message}" if where else message)


class EmptyInputError(InputError):
    """A table has no rows to work on: only a header, or every row was rejected.

    ``side`` is ``"left"`` or ``"right"`` when the table is one of two registers
    being linked, so that a caller holding the file names can name the file.
    """

    def __init__(
        self, message: str, *, side: str | None = None, file: str | Path | None = None
    ) -> None:
        self.side = side
        super().__init__(message, file=file)


_NOT_FITTED_DOC = """A model (a Linker, a matcher, a proxy-means test) is used before it was
    fitted or loaded. Also scikit-learn's ``NotFittedError`` (a ``ValueError`` and an
    ``AttributeError``), so code written for scikit-learn estimators catches it."""

if TYPE_CHECKING:
    from sklearn.exceptions import NotFittedError as _SklearnNotFitted

    class NotFittedError(BansosLinkageError, _SklearnNotFitted):
        """See ``_NOT_FITTED_DOC``."""


def __getattr__(name: str) -> type:
    # NotFittedError subclasses scikit-learn's, which takes a second to import: it is
    # made on first use, so that reading files (the CLI's start) does not wait for it
    if name == "NotFittedError":
        from sklearn.exceptions import NotFittedError as sklearn_not_fitted

        made = type(
            "NotFittedError",
            (BansosLinkageError, sklearn_not_fitted),
            {"__doc__": _NOT_FITTED_DOC, "__module__": __name__},
        )
        globals()[name] = made
        return made
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class UnknownRecordError(BansosLinkageError, KeyError):
    """A record id that is not in the register it was looked up in (also a
    ``KeyError``). ``side`` names the register (``left``/``right`` or a source)."""

    def __init__(self, record_id: object, *, side: str | None = None) -> None:
        self.record_id, self.side = record_id, side
        where = f"{side} " if side else ""
        super().__init__(f"no {where}record with id {record_id!r}")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


__all__ = [
    "BansosLinkageError",
    "EmptyInputError",
    "InputError",
    "NotFittedError",
    "SchemaError",
    "UnknownRecordError",
    "UsageError",
]
