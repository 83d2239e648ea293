"""Configuration of the synthetic population and its registers: sizes, rates, scenarios.

Every rate is a probability in 0..1 and every size a non-negative number; a
bad value is a :class:`~bansos_linkage.errors.SchemaError` naming the key
(e.g. ``errors.dtks.nik_missing``). Named scenarios give sensible sets:
``clean`` (no recording errors, little life between snapshots), ``default``
and ``hard`` (about twice the default error rates), and ``mix01`` .. ``mix24``
whose rates are drawn at random from wide ranges (see :mod:`.mixes`).

Every phenomenon added after the first three scenarios (``nik_relative``,
``one_word_names``, ``kk_renumbered`` ...) defaults to 0 and draws its random
numbers from its own generator, so those scenarios stay byte-identical.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

from bansos_linkage.errors import SchemaError

REGISTERS = ("regsosek", "dtks", "p3ke")


@dataclass(frozen=True)
class RecordingErrors:
    """Per-record probabilities of each recording error in one register."""

    name_typo: float = 0.0  # keyboard substitution, dropped/doubled letter, transposition
    name_old_spelling: float = 0.0  # Suharto -> Soeharto (older people mostly)
    name_title: float = 0.0  # H., Hj., Drs., S.Pd. added
    name_abbreviation: float = 0.0  # Muhammad -> Moh., Abdul -> Abd., Siti -> St.
    name_word_dropped: float = 0.0  # a word dropped or reduced to its initial
    name_join_split: float = 0.0  # two words joined, or one split
    name_order_swap: float = 0.0  # word order swapped
    name_nickname: float = 0.0  # Hermawan -> Wawan
    name_patronym: float = 0.0  # bin/binti + father's name added
    nik_missing: float = 0.0
    nik_placeholder: float = 0.0  # zeros, nines, region code + zeros
    nik_digit_wrong: float = 0.0
    nik_transposed: float = 0.0
    nik_is_kk: float = 0.0  # the KK number typed in the NIK field
    nik_excel: float = 0.0  # written through Excel: 3.30203E+15
    date_missing: float = 0.0
    date_year_only: float = 0.0  # 01-01 / 01-07 / 31-12 or the year alone
    date_day_month_swap: float = 0.0
    date_wrong_year: float = 0.0
    sex_flip: float = 0.0
    kk_stale: float = 0.0  # an older KK number of the family
    duplicate: float = 0.0  # the person registered twice
    # rates of the phenomena the first scenarios left out; 0 keeps those byte-identical
    nik_relative: float = 0.0  # the NIK of another member of the household (mostly the head's)
    nik_shared: float = 0.0  # the NIK of an unrelated person of the same village
    nik_missing_date_damaged: float = 0.0  # NIK missing and birth date missing or day/month swapped
    date_days_off: float = 0.0  # birth date 1-10 days off
    name_varied_duplicate: float = 0.0  # share of second records of a duplicate spelled otherwise
    nik_missing_duplicate: float = 0.0  # share of second records of a duplicate without NIK


@dataclass(frozen=True)
class LifeEvents:
    """Probabilities of what happens between the older (DTKS) and newer (Regsosek) snapshot.

    Births need no rate: children born after the older snapshot's date are simply
    absent from it.
    """

    death: float = 0.02  # per person, higher for the elderly
    move: float = 0.03  # per household: moved to another village
    split: float = 0.04  # per household: a grown child left with a new KK
    member_left: float = 0.02  # per person: left the household (migration, marriage)
    kk_renumbered: float = 0.0  # per household: a new KK number between the snapshots


@dataclass(frozen=True)
class SynthConfig:
    """Everything the generator needs; the same config and seed give byte-identical files."""

    households: int = 2_000
    seed: int = 0
    villages: int = 60  # villages drawn from the region lexicon
    regsosek_date: str = "2022-10-15"
    dtks_date: str = "2020-06-30"
    p3ke_date: str = "2021-09-30"
    regsosek_coverage: float = 0.97  # share of households enumerated
    dtks_share: float = 0.45  # share of households in DTKS (a noisy welfare ranking)
    dtks_rank_noise: float = 0.6  # sd of the ranking noise, in sd of the welfare score
    p3ke_share: float = 0.40
    p3ke_rank_noise: float = 0.4
    survey_share: float = 0.05  # households in the survey-like sample with expenditure
    one_word_names: float = 0.0  # extra share of people whose true name is one word (0: lexicon's)
    village_recoded: float = 0.0  # share of villages with an older Kemendagri code in DTKS/P3KE
    events: LifeEvents = field(default_factory=LifeEvents)
    errors: dict[str, RecordingErrors] = field(default_factory=lambda: dict(DEFAULT_ERRORS))

    def __post_init__(self) -> None:
        validate(self)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for the ``config.json`` written next to the files)."""
        return dataclasses.asdict(self)


DEFAULT_ERRORS: dict[str, RecordingErrors] = {
    "regsosek": RecordingErrors(
        name_typo=0.02,
        name_old_spelling=0.01,
        name_title=0.01,
        name_abbreviation=0.02,
        name_word_dropped=0.02,
        name_join_split=0.01,
        name_order_swap=0.005,
        name_nickname=0.01,
        name_patronym=0.0,
        nik_missing=0.03,
        nik_placeholder=0.005,
        nik_digit_wrong=0.01,
        nik_transposed=0.005,
        nik_is_kk=0.005,
        nik_excel=0.0,
        date_missing=0.02,
        date_year_only=0.03,
        date_day_month_swap=0.005,
        date_wrong_year=0.01,
        sex_flip=0.003,
        kk_stale=0.0,
        duplicate=0.0,
    ),
    "dtks": RecordingErrors(
        name_typo=0.05,
        name_old_spelling=0.04,
        name_title=0.05,
        name_abbreviation=0.06,
        name_word_dropped=0.04,
        name_join_split=0.02,
        name_order_swap=0.01,
        name_nickname=0.03,
        name_patronym=0.02,
        nik_missing=0.08,
        nik_placeholder=0.02,
        nik_digit_wrong=0.03,
        nik_transposed=0.01,
        nik_is_kk=0.02,
        nik_excel=0.01,
        date_missing=0.03,
        date_year_only=0.06,
        date_day_month_swap=0.02,
        date_wrong_year=0.02,
        sex_flip=0.01,
        kk_stale=0.05,
        duplicate=0.01,
    ),
    "p3ke": RecordingErrors(
        name_typo=0.04,
        name_old_spelling=0.02,
        name_title=0.02,
        name_abbreviation=0.04,
        name_word_dropped=0.03,
        name_join_split=0.02,
        name_order_swap=0.01,
        name_nickname=0.02,
        name_patronym=0.01,
        nik_missing=0.05,
        nik_placeholder=0.01,
        nik_digit_wrong=0.02,
        nik_transposed=0.01,
        nik_is_kk=0.01,
        nik_excel=0.01,
        date_missing=0.02,
        date_year_only=0.04,
        date_day_month_swap=0.01,
        date_wrong_year=0.02,
        sex_flip=0.005,
        kk_stale=0.03,
        duplicate=0.0,
    ),
}

BASE_SCENARIOS = ("clean", "default", "hard")
#: Scenarios with randomly mixed rates: tune on TUNING_MIXES, report on REPORT_MIXES.
MIX_SCENARIOS = tuple(f"mix{i:02d}" for i in range(1, 25))
TUNING_MIXES = MIX_SCENARIOS[:6]
REPORT_MIXES = MIX_SCENARIOS[6:]
SCENARIOS = (*BASE_SCENARIOS, *MIX_SCENARIOS)


def validate(config: SynthConfig) -> None:
    """Check every size and rate; raise SchemaError naming the first bad key."""
    for key in ("households", "villages"):
        value = getattr(config, key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < (0 if key == "households" else 1)
        ):
            raise SchemaError("expected a non-negative whole number", key=key)
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise SchemaError("expected a non-negative whole number", key="seed")
    for key in (
        "regsosek_coverage",
        "dtks_share",
        "p3ke_share",
        "survey_share",
        "one_word_names",
        "village_recoded",
    ):
        _check_rate(getattr(config, key), key)
    for key in ("dtks_rank_noise", "p3ke_rank_noise"):
        if not isinstance(getattr(config, key), (int, float)) or getattr(config, key) < 0:
            raise SchemaError("expected a non-negative number", key=key)
    for f in fields(config.events):
        _check_rate(getattr(config.events, f.name), f"events.{f.name}")
    unknown = set(config.errors) - set(REGISTERS)
    if unknown:
        raise SchemaError(
            f"unknown register; expected {list(REGISTERS)}", key=f"errors.{sorted(unknown)[0]}"
        )
    for reg, rates in config.errors.items():
        for f in fields(rates):
            _check_rate(getattr(rates, f.name), f"errors.{reg}.{f.name}")
    for key in ("regsosek_date", "dtks_date", "p3ke_date"):
        _check_date(getattr(config, key), key)


def _check_rate(value: Any, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise SchemaError("expected a rate between 0 and 1", key=key)


def _check_date(value: Any, key: str) -> None:
    import datetime as dt

    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise SchemaError("expected an ISO date YYYY-MM-DD", key=key) from None


def config_from_dict(data: dict[str, Any]) -> SynthConfig:
    """Rebuild a config from :meth:`SynthConfig.to_dict` output (e.g. a saved config.json)."""
    data = dict(data)
    known = {f.name for f in fields(SynthConfig)}
    unknown = set(data) - known
    if unknown:
        raise SchemaError(f"unknown key; expected one of {sorted(known)}", key=sorted(unknown)[0])
    if "events" in data:
        data["events"] = _sub(LifeEvents, data["events"], "events")
    if "errors" in data:
        data["errors"] = {
            reg: _sub(RecordingErrors, rates, f"errors.{reg}")
            for reg, rates in data["errors"].items()
        }
    return SynthConfig(**data)


def _sub(cls: type, values: Any, key: str) -> Any:
    if not isinstance(values, dict):
        raise SchemaError("expected a mapping", key=key)
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise SchemaError(
            f"unknown key; expected one of {sorted(known)}", key=f"{key}.{sorted(unknown)[0]}"
        )
    return cls(**values)


__all__ = [
    "BASE_SCENARIOS",
    "DEFAULT_ERRORS",
    "LifeEvents",
    "MIX_SCENARIOS",
    "REGISTERS",
    "REPORT_MIXES",
    "RecordingErrors",
    "SCENARIOS",
    "SynthConfig",
    "TUNING_MIXES",
    "config_from_dict",
    "validate",
]
