"""The end-to-end demo on built-in data (the README's main command).

For now it standardises the bundled DTKS, Regsosek and P3KE sample exports and
prints each validation summary; later stages extend it to linkage and
eligibility scoring.
"""

from __future__ import annotations

from pathlib import Path

from bansos_linkage.datasets import SAMPLES, sample_crosswalk_path, sample_path
from bansos_linkage.io import write_table
from bansos_linkage.standardisation import standardise


def run_demo(out_dir: str | Path | None = None) -> str:
    """Standardise every bundled sample; optionally write the outputs to ``out_dir``.

    Returns the printed summary text.

    Examples
    --------
    >>> "rows read" in run_demo()
    True
    """
    blocks = []
    for name, (_, preset) in SAMPLES.items():
        crosswalk = sample_crosswalk_path() if preset == "regsosek" else None
        result = standardise(sample_path(name), preset, crosswalk=crosswalk)
        blocks.append(result.summary_text())
        if out_dir is not None:
            out = Path(out_dir)
            write_table(result.records, out / f"{name}_standardised.csv")
            write_table(result.report, out / f"{name}_report.csv")
            write_table(result.rejected, out / f"{name}_rejected.csv")
    return "\n\n".join(blocks)
