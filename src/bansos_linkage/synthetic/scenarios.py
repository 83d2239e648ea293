"""Named scenarios: ``clean``, ``default``, ``hard`` and the mixes ``mix01`` .. ``mix24``.

Apart from :mod:`.config` (the settings and their defaults) and :mod:`.mixes` (the
mixes' rates, drawn around the defaults), so that neither needs the other's
caller.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from bansos_linkage.errors import SchemaError
from bansos_linkage.synthetic.config import (
    DEFAULT_ERRORS,
    MIX_SCENARIOS,
    REGISTERS,
    SCENARIOS,
    LifeEvents,
    RecordingErrors,
    SynthConfig,
)
from bansos_linkage.synthetic.mixes import mix_settings


def scenario(name: str, **overrides: Any) -> SynthConfig:
    """A named scenario's config, with any field overridden (e.g. ``households=20_000``).

    Examples
    --------
    >>> scenario("hard", households=100).errors["dtks"].nik_missing
    0.16
    >>> scenario("clean").errors["dtks"].name_typo
    0.0
    """
    if name not in SCENARIOS:
        raise SchemaError(
            "unknown scenario; expected clean, default, hard or mix01 .. mix24", key="scenario"
        )
    if name in MIX_SCENARIOS:
        return SynthConfig(**{**mix_settings(name), **overrides})
    if name == "clean":
        errors = {reg: RecordingErrors() for reg in REGISTERS}
        events = LifeEvents(death=0.0, move=0.0, split=0.0, member_left=0.0)
    else:
        factor = 2.0 if name == "hard" else 1.0
        errors = {reg: scaled_rates(rates, factor) for reg, rates in DEFAULT_ERRORS.items()}
        events = LifeEvents() if name == "default" else scaled_rates(LifeEvents(), 1.5)
    return SynthConfig(**{"events": events, "errors": errors, **overrides})


def scaled_rates(rates: Any, factor: float) -> Any:
    """``rates`` (a dataclass of rates) times ``factor``, capped at 1."""
    return replace(
        rates, **{f.name: min(1.0, getattr(rates, f.name) * factor) for f in fields(rates)}
    )


__all__ = [
    "scaled_rates",
    "scenario",
]
