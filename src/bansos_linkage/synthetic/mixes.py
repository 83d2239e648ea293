"""The ``mix01`` .. ``mix24`` scenarios: error and event rates drawn at random from wide ranges.

A linker tuned and reported on one scenario learns that scenario. Each mix
draws every rate from a wide range with a generator seeded by the mix's name
alone, so ``scenario("mix07", seed=s)`` has the same rates for every ``s`` (the
seed only changes the population), and each rate from its own stream, so a
field added later leaves the others' draws as they were. Tune on
:data:`~.config.TUNING_MIXES` (mix01-06), report on :data:`~.config.REPORT_MIXES`.

Ranges (per record unless said otherwise; ``w`` = 1 for DTKS, 0.75 for P3KE,
0.5 for Regsosek, as the registers are dirty in that order):

- every recording error of the first scenarios: its default rate times a
  log-uniform factor in 0.25 .. 3, at most 0.3 (a rate that is 0 by default stays 0);
- ``name_order_swap`` 0 .. 0.08 w, ``name_word_dropped`` 0 .. 0.15 w;
- ``nik_relative`` 0 .. 0.06 w, ``nik_shared`` 0 .. 0.02 w,
  ``nik_missing_date_damaged`` 0 .. 0.05 w, ``date_days_off`` 0 .. 0.05 w;
- DTKS ``duplicate`` 0 .. 0.04, every second record spelled otherwise
  (``name_varied_duplicate`` 1), ``nik_missing_duplicate`` 0 .. 0.5;
- life events: default rate times a log-uniform factor in 0.5 .. 2;
  ``kk_renumbered`` 0 .. 0.6 of families;
- ``one_word_names`` 0 .. 0.3 of people, ``village_recoded`` 0 .. 0.3 of villages.
"""

from __future__ import annotations

import zlib
from dataclasses import fields
from typing import Any

import numpy as np

from bansos_linkage.errors import SchemaError
from bansos_linkage.synthetic.config import (
    MIX_SCENARIOS,
    LifeEvents,
    RecordingErrors,
    SynthConfig,
)

_FAMILY = "bansos-linkage mixes v1"  # changing it redraws every mix
_WEIGHT = {"dtks": 1.0, "p3ke": 0.75, "regsosek": 0.5}
_CAP = 0.3
#: Errors drawn from an absolute range 0 .. upper * w instead of around their default.
_UNIFORM = {
    "name_order_swap": 0.08,
    "name_word_dropped": 0.15,
    "nik_relative": 0.06,
    "nik_shared": 0.02,
    "nik_missing_date_damaged": 0.05,
    "date_days_off": 0.05,
}


def _draw(mix: str, *labels: str) -> float:
    """One uniform 0..1 number for ``labels`` of ``mix``, independent of every other draw."""
    seed = [zlib.crc32(text.encode()) for text in (_FAMILY, mix, *labels)]
    return float(np.random.default_rng(seed).random())


def _log_factor(u: float, low: float, high: float) -> float:
    return float(np.exp(np.log(low) + u * (np.log(high) - np.log(low))))


def _errors(mix: str, register: str) -> RecordingErrors:
    default = SynthConfig().errors[register]  # the default scenario's rates
    w = _WEIGHT[register]
    rates: dict[str, float] = {}
    for f in fields(RecordingErrors):
        u = _draw(mix, register, f.name)
        if f.name in _UNIFORM:
            rates[f.name] = _UNIFORM[f.name] * w * u
        else:
            rates[f.name] = min(_CAP, getattr(default, f.name) * _log_factor(u, 0.25, 3.0))
    if register == "dtks":
        rates["duplicate"] = 0.04 * _draw(mix, register, "duplicate")
        rates["name_varied_duplicate"] = 1.0  # a second registration is never spelled alike
        rates["nik_missing_duplicate"] = 0.5 * _draw(mix, register, "nik_missing_duplicate")
    else:
        rates["duplicate"] = 0.0  # only DTKS registers people twice
    return RecordingErrors(**{k: round(v, 5) for k, v in rates.items()})


def _events(mix: str) -> LifeEvents:
    default = LifeEvents()
    rates = {
        f.name: min(
            1.0, getattr(default, f.name) * _log_factor(_draw(mix, "events", f.name), 0.5, 2)
        )
        for f in fields(LifeEvents)
        if f.name != "kk_renumbered"
    }
    rates["kk_renumbered"] = 0.6 * _draw(mix, "events", "kk_renumbered")
    return LifeEvents(**{k: round(v, 5) for k, v in rates.items()})


def mix_settings(name: str) -> dict[str, Any]:
    """The ``SynthConfig`` fields a mix sets (errors, events, one-word names, recoded villages)."""
    if name not in MIX_SCENARIOS:
        raise SchemaError("unknown mix; expected mix01 .. mix24", key="scenario")
    return {
        "errors": {reg: _errors(name, reg) for reg in ("regsosek", "dtks", "p3ke")},
        "events": _events(name),
        "one_word_names": round(0.3 * _draw(name, "one_word_names"), 5),
        "village_recoded": round(0.3 * _draw(name, "village_recoded"), 5),
    }


def flat_rates(config: SynthConfig) -> dict[str, float]:
    """Every rate of a config as one flat dict, keyed like SchemaError keys.

    Examples
    --------
    >>> rates = flat_rates(SynthConfig())  # the default scenario
    >>> rates["errors.dtks.nik_missing"], rates["events.kk_renumbered"]
    (0.08, 0.0)
    """
    out: dict[str, float] = {}
    for key in (
        "one_word_names",
        "village_recoded",
        "regsosek_coverage",
        "dtks_share",
        "p3ke_share",
        "survey_share",
    ):
        out[key] = getattr(config, key)
    for f in fields(config.events):
        out[f"events.{f.name}"] = getattr(config.events, f.name)
    for reg in sorted(config.errors):
        for f in fields(config.errors[reg]):
            out[f"errors.{reg}.{f.name}"] = getattr(config.errors[reg], f.name)
    return out


def mix_rates(name: str) -> dict[str, float]:
    """The rates a mix drew, as a flat dict (a row of a benchmark table).

    Examples
    --------
    >>> mix_rates("mix07") == mix_rates("mix07")
    True
    >>> 0 <= mix_rates("mix07")["errors.dtks.nik_relative"] <= 0.06
    True
    """
    return flat_rates(SynthConfig(**mix_settings(name)))


__all__ = [
    "flat_rates",
    "mix_rates",
    "mix_settings",
]
