"""The end-to-end demo on built-in synthetic data (the README's main command).

It generates a small synthetic population with its Regsosek-, DTKS- and
P3KE-like exports, reads each export back and standardises it with its preset
(printing the validation summaries), links DTKS to Regsosek at person level and
scores the links against the generator's truth, next to exact NIK matching. It
ends with eligibility: a proxy means test fitted on the survey sample ranks the
households into desil, the built-in programmes are applied, and the DTKS
households found in Regsosek through the links are sorted into those who keep
their place, drop out or join. Last, the three exports are assembled into one DTSEN
register of persons and families with a verval workbook per village
(:mod:`bansos_linkage.assembly`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from bansos_linkage.assembly import Source, assemble_files, assembly_accuracy
from bansos_linkage.eligibility.analysis import targeting_errors, transitions
from bansos_linkage.eligibility.rules import load_programmes
from bansos_linkage.eligibility.score import score_register
from bansos_linkage.evaluation import exact_nik_links, link_metrics, true_links
from bansos_linkage.io import read_table, write_table
from bansos_linkage.runs.link import LinkRun, link_files, write_link_outputs
from bansos_linkage.standardisation import standardise
from bansos_linkage.synthetic import generate, scenario

# A fixed "today" keeps the demo's output identical from run to run.
DEMO_REFERENCE_DATE = dt.date(2026, 1, 1)
#: Survey households a PMT needs at the least (tiny demos skip eligibility).
MIN_SURVEY = 20


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
    run, link_block = _link_and_score(data, out)
    blocks.append(link_block)
    blocks.append(_eligibility(data, run, out))
    blocks.append(_assemble(data, out))
    return "\n\n".join(blocks)


def _link_and_score(data, out: Path) -> tuple[LinkRun, str]:
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
    h = s["households"]
    lines.append(
        f"  DTKS families (household_links.csv): {h['matched']:,} matched, {h['split']:,} split, "
        f"{h['partial']:,} partly found, {h['not_found']:,} not found; "
        f"{h['new']:,} Regsosek households reached by no DTKS family"
    )
    return run, "\n".join(lines)


def _eligibility(data, run: LinkRun, out: Path) -> str:
    """Rank the Regsosek households, apply the programmes, and follow the DTKS households
    through the links: who keeps Sembako under the new ranking, who drops, who joins."""
    members = data.persons[data.persons["present_now"]]
    households = data.households.drop(columns=["per_capita_expenditure", "size"])
    if len(data.survey) < MIN_SURVEY:
        return (
            f"eligibility: the survey sample ({len(data.survey)} households) is too small for a PMT"
        )
    scored = score_register(
        households, members, load_programmes("all"), DEMO_REFERENCE_DATE, survey=data.survey
    )
    hh = scored.households
    folder = out / "eligibility"
    write_table(hh, folder / "households.csv")
    write_table(scored.summary, folder / "summary.csv")
    # DTKS households as Regsosek households, through the person links
    household_of = data.truth["regsosek"].set_index("record_id")["household_id"]
    linked = set(household_of.reindex(run.result.links["right_id"]).dropna())
    current = hh["household_id"].isin(linked)
    status, per_village = transitions(current, hh["eligible:Sembako"], hh["village_code"])
    write_table(per_village, folder / "transitions_per_village.csv")
    counts = status["status"].value_counts()
    true = pd.Series(
        np.log(data.households["per_capita_expenditure"].astype(float)).to_numpy(), index=hh.index
    )
    errors = targeting_errors(hh["desil"] <= 4, true, hh["size"], 0.4)
    lines = [
        f"Eligibility ({len(hh):,} households ranked; PMT fitted on "
        f"{len(data.survey):,} survey households) -> {folder}"
    ]
    # a row's fields have their column's type (the stubs say any scalar)
    summary_rows = scored.summary[scored.summary["region"] == "all"].itertuples(index=False)
    for row in cast("Iterable[Any]", summary_rows):
        unit = "families" if row.families else "people"
        n = int(row.families or row.people)
        lines.append(
            f"  {row.programme:<14} {n:>7,} {unit:<8} Rp{row.budget / 1e6:>10,.1f} million a year"
        )
    lines.append(
        f"  DTKS households found in Regsosek: {int(current.sum()):,}; under the new ranking "
        f"(Sembako, desil 1-4) {counts.get('stays', 0):,} keep it, "
        f"{counts.get('drops', 0):,} drop out, {counts.get('new', 0):,} households join"
    )
    lines.append(
        "  desil 1-4 against the truly poorest 40%: "
        f"exclusion error {errors['exclusion_error']:.3f}, "
        f"inclusion error {errors['inclusion_error']:.3f}"
    )
    return "\n".join(lines)


def _assemble(data, out: Path) -> str:
    """DTKS, P3KE and Regsosek assembled into one register, scored against the truth,
    with the verval worklists; shows the first village's worklist."""
    syn, folder = out / "synthetic", out / "dtsen"
    survey = data.survey if len(data.survey) >= MIN_SURVEY else None
    result = assemble_files(
        [Source(name, syn / f"{name}.csv") for name in ("dtks", "p3ke", "regsosek")],
        folder,
        survey=survey,
        reference_date=DEMO_REFERENCE_DATE,
    )
    accuracy = assembly_accuracy(result.records, data.truth, "regsosek")
    s = result.summary
    lines = [
        f"DTSEN assembly of DTKS, P3KE and Regsosek -> {folder}",
        f"  {s['persons']:,} persons in {s['families']:,} families from {s['records']:,} "
        f"records; {sum(s['duplicates'].values()):,} duplicates within a source",
        f"  against the truth: persons F1 {accuracy['persons']['f1']:.4f} "
        f"(P {accuracy['persons']['precision']:.4f}, R {accuracy['persons']['recall']:.4f}); "
        f"family links F1 {accuracy['families']['f1']:.4f}",
    ]
    if "transitions" in s:
        lines.append(
            "  DTKS families: " + ", ".join(f"{v:,} {k}" for k, v in s["transitions"].items())
        )
    books = sorted((folder / "worklists").glob("*.xlsx"))
    lines.append(
        f"  verval worklists: {len(books):,} villages, "
        + ", ".join(f"{v:,} {k}" for k, v in s.get("worklist_items", {}).items())
    )
    if books:
        sheet = pd.read_excel(books[0], sheet_name=1, dtype=str)
        shown = sheet[["item_id", "reason", "detail", "decision"]].head(5).fillna("")
        lines.append(f"  {books[0].relative_to(out)} (first rows; the verifier fills 'decision'):")
        lines += ["    " + line for line in shown.to_string(index=False).splitlines()]
    return "\n".join(lines)


__all__ = [
    "DEMO_REFERENCE_DATE",
    "MIN_SURVEY",
    "run_demo",
]
