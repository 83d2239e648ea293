"""One call from a config to registers, truth and welfare tables; writing them to files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from bansos_linkage.errors import SchemaError
from bansos_linkage.io import write_table
from bansos_linkage.synthetic.config import SynthConfig
from bansos_linkage.synthetic.events import apply_events
from bansos_linkage.synthetic.population import generate_population
from bansos_linkage.synthetic.registers import HOUSEHOLD_VARIABLES, draw_registers

FORMATS = {"csv": ".csv", "parquet": ".parquet", "xlsx": ".xlsx"}
_PERSON_COLUMNS = (
    "person_id",
    "household_id",
    "relationship",
    "full_name",
    "sex",
    "birth_date",
    "nik",
    "education",
    "work",
    "disability",
    "alive_now",
    "present_now",
    "present_then",
    "household_then",
    "relationship_then",
)
_HOUSEHOLD_COLUMNS = (
    "household_id",
    "province_code",
    "regency_code",
    "district_code",
    "village_code",
    "bps_village_code",
    "kk_number",
    "size",
    "moved",
    "split",
    "split_from",
    *HOUSEHOLD_VARIABLES,
    "head_education",
    "per_capita_expenditure",
)


@dataclass
class SyntheticData:
    """Registers as exported (``registers``), their ``truth`` tables, and the true population.

    ``truth[name]`` has ``record_id, person_id, household_id`` for every record of
    ``registers[name]``; ``persons`` and ``households`` are the true population
    (with the per-capita expenditure a PMT learns); ``survey`` is a survey-like
    sample of households with observed expenditure; ``masks`` says which record
    got which recording error (for studying accuracy against error rates).
    """

    config: SynthConfig
    registers: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    persons: pd.DataFrame
    households: pd.DataFrame
    survey: pd.DataFrame
    masks: dict[str, dict[str, np.ndarray]] = field(default_factory=dict, repr=False)

    def write(self, out_dir: str | Path, fmt: str = "csv") -> list[Path]:
        """Write every table to ``out_dir`` (``csv``, ``parquet`` or ``xlsx``) and config.json."""
        if fmt not in FORMATS:
            raise SchemaError(f"unknown format; expected one of {sorted(FORMATS)}", key="format")
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        suffix = FORMATS[fmt]
        tables = {
            **self.registers,
            **{f"truth_{k}": v for k, v in self.truth.items()},
            "persons": self.persons,
            "households": self.households,
            "survey": self.survey,
        }
        paths = [write_table(df, out / f"{name}{suffix}") for name, df in tables.items()]
        config_path = out / "config.json"
        config_path.write_text(
            json.dumps(self.config.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
        return [*paths, config_path]


def generate(
    config: SynthConfig, progress: Callable[[int, int, str], None] | None = None
) -> SyntheticData:
    """Generate a population and its registers; the same config gives the same data.

    ``progress``, if given, is called as ``progress(done, total, stage)``.

    Examples
    --------
    >>> from bansos_linkage.synthetic import scenario
    >>> data = generate(scenario("default", households=50, seed=1))
    >>> sorted(data.registers)
    ['dtks', 'p3ke', 'regsosek']
    >>> len(data.truth["dtks"]) == len(data.registers["dtks"])
    True
    """
    report = progress or (lambda done, total, stage: None)
    rng = np.random.default_rng(config.seed)
    report(0, 3, "population")
    pop = generate_population(config, rng)
    report(1, 3, "events")
    apply_events(pop, config, rng)
    report(2, 3, "registers")
    registers, truth, masks = draw_registers(pop, config, rng)
    report(3, 3, "done")
    persons = pop.persons[list(_PERSON_COLUMNS)].copy()
    households = pop.households[list(_HOUSEHOLD_COLUMNS)].copy()
    survey_mask = rng.random(len(households)) < config.survey_share
    survey = households.loc[survey_mask].reset_index(drop=True)
    return SyntheticData(config, registers, truth, persons, households, survey, masks)


__all__ = [
    "FORMATS",
    "SyntheticData",
    "generate",
]
