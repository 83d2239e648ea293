"""Linking new records against an earlier run: ``bansos-linkage link-new``.

A month's verval additions are linked against last month's run without refitting.
Here the earlier run is ``bench_link.py``'s run on the synthetic ``default`` scenario
(run first when missing); the new export is a seeded sample of that scenario's DTKS
rows under new record ids (people re-registered, so each has a true counterpart in
Regsosek whenever the original row had one). Wall time and peak memory of the whole
command are measured from outside; precision and recall against the generator's truth.

    python benchmarks/bench_link_new.py [--households 400000] [--new 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform

import numpy as np
import pandas as pd
from bench_link import ROOT, measured, registers, run_ours, truth_of
from results import update_section

from bansos_linkage.evaluation import link_metrics


def new_export(folder, n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``n`` DTKS rows under new ids, and their true pairs (new id -> Regsosek id)."""
    dtks = pd.read_csv(folder / "dtks.csv", dtype=str, keep_default_na=False)
    rows = np.sort(np.random.default_rng(seed).choice(len(dtks), size=n, replace=False))
    new = dtks.iloc[rows].copy()
    id_column = "ID DTKS"  # the dtks preset's record id
    old_ids = new[id_column].to_numpy()
    new[id_column] = [f"NEW-{i:07d}" for i in range(n)]
    truth = truth_of(folder)
    renamed = dict(zip(old_ids, new[id_column], strict=True))
    truth = truth[truth["left_id"].isin(renamed)]
    truth = truth.assign(left_id=truth["left_id"].map(renamed))
    return new, truth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=400_000)
    parser.add_argument("--new", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=2400)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    folder = registers(args.households, args.seed)
    run = folder / "run_ours"
    if not (run / "manifest.json").exists():
        run_ours(folder, run, args.timeout)
    new, truth = new_export(folder, args.new, args.seed)
    new_path = folder / "new_dtks.csv"
    new.to_csv(new_path, index=False)
    out = folder / "run_link_new"
    cmd = [str(ROOT / ".venv/bin/bansos-linkage"), "link-new", str(new_path), str(run)]
    cmd += ["--schema", "dtks", "--out", str(out), "--quiet"]
    result = measured(cmd, args.timeout)
    if result["status"] != "ok":
        raise SystemExit(f"link-new failed: {result['status']}")
    links = pd.read_csv(out / "links.csv", dtype=str)
    metrics = link_metrics(links, truth)
    n_right = len(pd.read_parquet(run / "records_right.parquet", columns=["record_id"]))
    line = (
        f"| {args.households:,} hh | {len(new):,} x {n_right:,} | {result['wall_s']:.1f} | "
        f"{result['peak_rss_mb']:,.0f} | {len(links):,} | {metrics['precision']:.4f} | "
        f"{metrics['recall']:.4f} | {metrics['f1']:.4f} |"
    )
    print(line)
    if args.no_write:
        return
    update_section(
        "Linking new records",
        "## Linking new records\n\n"
        f"`python benchmarks/bench_link_new.py --households {args.households} --new "
        f"{args.new}` on {platform.machine()}, 2 cores, Python {platform.python_version()}; "
        f"{dt.date.today().isoformat()}. `bansos-linkage link-new` (standardise the new "
        "export, block and compare it against the earlier run's right register with its "
        "model, no EM, resolve, write a run folder) against `bench_link.py`'s run on the "
        f"synthetic `default` scenario; the new export is {args.new:,} DTKS rows sampled "
        f"with seed {args.seed} under new ids. Wall time and peak memory (summed PSS) of "
        "the whole command, measured from outside, starting Python included; accuracy "
        "against the generator's truth.\n\n"
        "| earlier run | records (new x right) | wall s | peak memory MB | links | "
        "precision | recall | F1 |\n|---|---|---|---|---|---|---|---|\n" + line + "\n",
    )


if __name__ == "__main__":
    main()
