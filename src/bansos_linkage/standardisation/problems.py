"""Problem types that standardisers attach to values.

Every standardiser returns, next to its canonical columns, a ``problem`` column
holding at most one problem code per value (``<NA>`` when the value is fine).
The code's severity says what happened to the value:

``invalid``
    the value could not be used; the canonical field is null.
``warning``
    the value was kept but is suspicious (duplicate NIK, year-only date, ...).
``missing``
    the source value was empty or an explicit "unknown" marker.

Problem descriptions never contain the value itself: personal data stays in the
output tables, never in messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["invalid", "warning", "missing"]


@dataclass(frozen=True)
class ProblemType:
    """A kind of problem a standardiser can report for one value."""

    code: str
    severity: Severity
    description: str


def registry(*problems: ProblemType) -> dict[str, ProblemType]:
    """Index problem types by code, refusing duplicate codes."""
    out: dict[str, ProblemType] = {}
    for p in problems:
        if p.code in out:
            raise ValueError(f"duplicate problem code {p.code!r}")
        out[p.code] = p
    return out


__all__ = [
    "ProblemType",
    "Severity",
    "registry",
]
