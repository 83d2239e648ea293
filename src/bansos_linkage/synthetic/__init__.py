"""A seeded synthetic Indonesian population and its DTKS / Regsosek / P3KE registers.

Real registers are confidential; this generator makes data with ground truth
that is hard and realistic enough to rehearse a linkage and measure accuracy
against error rates (see ``docs/synthetic.md``).
"""

from bansos_linkage.synthetic.config import (
    BASE_SCENARIOS,
    MIX_SCENARIOS,
    REPORT_MIXES,
    SCENARIOS,
    TUNING_MIXES,
    LifeEvents,
    RecordingErrors,
    SynthConfig,
    config_from_dict,
)
from bansos_linkage.synthetic.generate import SyntheticData, generate
from bansos_linkage.synthetic.mixes import flat_rates, mix_rates
from bansos_linkage.synthetic.scenarios import scenario

__all__ = [
    "BASE_SCENARIOS",
    "MIX_SCENARIOS",
    "REPORT_MIXES",
    "SCENARIOS",
    "TUNING_MIXES",
    "LifeEvents",
    "RecordingErrors",
    "SynthConfig",
    "SyntheticData",
    "config_from_dict",
    "flat_rates",
    "generate",
    "mix_rates",
    "scenario",
]
