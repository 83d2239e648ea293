"""The end-to-end demo on built-in synthetic data (the README's main command).

It generates a small synthetic population with its Regsosek-, DTKS- and
P3KE-like exports, then reads each export back and standardises it with its
preset, printing the validation summaries. Later stages extend it to linkage
and eligibility scoring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from bansos_linkage.io import read_table, write_table
from bansos_linkage.standardisation import standardise
from bansos_linkage.synthetic import generate, scenario

# A fixed "today" keeps the demo's output identical from run to run.
DEMO_REFERENCE_DATE = dt.date(2026, 1, 1)


def run_demo(
    out_dir: str | Path,
    households: int = 500,
    seed: int = 0,
    progress: Callable[[int, int, str], None] | None = None,
) -> str:
    """Generate, write, read back and standardise; returns the printed summary text.

    Examples
    --------
    >>> import tempfile
    >>> "rows read" in run_demo(tempfile.mkdtemp(), households=30)
    True
    """
    out = Path(out_dir)
    data = generate(scenario("default", households=households, seed=seed), progress=progress)
    data.write(out / "synthetic")
    blocks = [
        f"synthetic population: {len(data.households):,} households, "
        f"{len(data.persons):,} persons (scenario default, seed {seed}) -> {out / 'synthetic'}"
    ]
    for name in data.registers:
        raw = read_table(out / "synthetic" / f"{name}.csv")
        result = standardise(raw, name, reference_date=DEMO_REFERENCE_DATE)
        write_table(result.records, out / f"{name}_standardised.parquet")
        write_table(result.report, out / f"{name}_report.csv")
        write_table(result.rejected, out / f"{name}_rejected.csv")
        blocks.append(result.summary_text())
    return "\n\n".join(blocks)
