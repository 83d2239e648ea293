"""The end-to-end demo on built-in synthetic data (the README's main command).

It generates a small synthetic population with its Regsosek-, DTKS- and
P3KE-like exports, reads each export back and standardises it with its preset
(printing the validation summaries), links DTKS to Regsosek at person level and
scores the links against the generator's truth, next to exact NIK matching.
Eligibility scoring follows in a later stage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from bansos_linkage.evaluation import exact_nik_links, link_metrics, true_links
from bansos_linkage.io import read_table, write_table
from bansos_linkage.pipeline import link_files, write_link_outputs
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
    """Generate, write, read back, standardise and link; returns the printed summary text.

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
    blocks.append(_link_and_score(data, out))
    return "\n\n".join(blocks)


def _link_and_score(data, out: Path) -> str:
    """Link the DTKS export to the Regsosek export and score against the truth."""
    syn = out / "synthetic"
    run = link_files(
        syn / "dtks.csv",
        syn / "regsosek.csv",
        "dtks",
        "regsosek",
        reference_date=DEMO_REFERENCE_DATE,
    )
    write_link_outputs(run, out / "link")
    truth = true_links(
        data.truth["dtks"].set_index("record_id")["person_id"],
        data.truth["regsosek"].set_index("record_id")["person_id"],
    )
    ours = link_metrics(run.result.links, truth)
    nik = exact_nik_links(run.left_records, run.right_records)
    base = link_metrics(nik, truth)
    s = run.result.summary
    lines = [
        f"DTKS -> Regsosek person linkage ({s['candidate_pairs']:,} candidate pairs, "
        f"EM {s['em']['iterations']} iterations) -> {out / 'link'}",
        f"  {'method':<28} {'precision':>9} {'recall':>7} {'F1':>7} {'links':>7}",
    ]
    for name, m in (("bansos-linkage", ours), ("exact NIK (one-to-one)", base)):
        lines.append(
            f"  {name:<28} {m['precision']:>9.4f} {m['recall']:>7.4f} {m['f1']:>7.4f} "
            f"{m['true_positives'] + m['false_positives']:>7,}"
        )
    lines.append(
        f"  label-free estimate of false links: {s['expected_false_links']:,.0f}; "
        f"true false links: {ours['false_positives']:,}"
    )
    return "\n".join(lines)
