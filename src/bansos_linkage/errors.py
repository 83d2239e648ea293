"""Exceptions raised for bad input, bad configuration and bad models.

Messages name the file, row, column or key and what was expected, never the
personal data found there: callers refer to records by id.
"""

from __future__ import annotations

from pathlib import Path


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
