"""Linkage accuracy on exports made outside this project: another generator's, or real
registers with a clerical truth.

The other benchmarks draw their registers from this project's generator, whose
defaults were chosen on some of its scenarios. This one takes folders of exports it
never made, as a new user has them, and runs the ``link`` command with its defaults
(from the raw CSV), Splink 5 (from our standardised records, as in ``bench_link.py``)
and exact NIK matching, scored against the folder's truth.

    python benchmarks/bench_external.py DIR [DIR ...] [--left-id "ID DTKS"]
        [--right-id id_art] [--peers splink] [--section NAME] [--note TEXT]

Each DIR holds ``dtks.csv`` and ``regsosek.csv`` (raw exports the ``dtks`` and
``regsosek`` presets read) and ``truth_dtks.csv`` / ``truth_regsosek.csv``: a record's
id (``--left-id`` / ``--right-id``) and its ``person_id``. Every pair of a DTKS and a
Regsosek record of one person is a true pair. With ``--section``, the table goes to
``benchmarks/RESULTS.md`` under that heading (``--note``: a paragraph before it, e.g.
where the data came from).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shlex
import sys
from pathlib import Path

import pandas as pd
from bench_link import (
    _line,
    blocking_recall,
    family_found,
    peer_inputs,
    run_ours,
    run_peer,
)
from results import update_section

from bansos_linkage.evaluation import exact_nik_links, link_metrics, true_links


def truth(folder: Path, left_id: str, right_id: str) -> pd.DataFrame:
    """The true pairs of a folder: DTKS and Regsosek records of one person."""
    left, right = (
        pd.read_csv(folder / f"truth_{name}.csv", dtype=str).set_index(column)["person_id"]
        for name, column in (("dtks", left_id), ("regsosek", right_id))
    )
    return true_links(left, right)


def bench_folder(folder: Path, args: argparse.Namespace) -> list[dict]:
    """Ours, the peers and exact NIK on one folder: accuracy, pair recall, time."""
    true = truth(folder, args.left_id, args.right_id)
    left_path, right_path, left, right = peer_inputs(folder)
    rows = []
    ours = run_ours(folder, folder / "run_ours", args.timeout)
    if ours["status"] == "ok":
        found = family_found(folder / "run_ours", true)
        ours["pair_recall"] = blocking_recall(left, right, true, found)
    rows.append({"tool": "bansos-linkage (link, defaults)", **ours})
    for peer in args.peers:
        out = folder / f"run_{peer}.csv"
        rows.append(
            {"tool": peer, **run_peer(peer, left_path, right_path, out, "indonesia", args.timeout)}
        )
    rows.append({"tool": "exact NIK", "status": "ok", "links": exact_nik_links(left, right)})
    for row in rows:
        row.update({"folder": folder.name, "records": f"{len(left):,} x {len(right):,}"})
        row["households"] = folder.name  # how bench_link's lines name the data
        row["true_pairs"] = len(true)
        if row["status"] == "ok":
            row.update(link_metrics(row.pop("links"), true))
        print(_line(row), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    out = [
        "| data | records (DTKS x Regsosek) | true pairs | tool | precision | recall | F1 "
        "| pair recall | estimated FDR (true) | wall s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["status"] != "ok":
            out.append(f"| {r['folder']} | {r['records']} | | {r['tool']} | {r['status']} |||||")
            continue
        recall = f"{r['pair_recall']:.4f}" if "pair_recall" in r else "-"
        fdr = "-"
        if "estimated_fdr" in r:
            fdr = f"{r['estimated_fdr']:.4f} ({1 - r['precision']:.4f})"
        wall = f"{r['wall_s']:.1f}" if "wall_s" in r else "-"
        out.append(
            f"| {r['folder']} | {r['records']} | {r['true_pairs']:,} | {r['tool']} "
            f"| {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {recall} | {fdr} "
            f"| {wall} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--left-id", default="record_id", help="the id column of truth_dtks.csv")
    parser.add_argument(
        "--right-id", default="record_id", help="the id column of truth_regsosek.csv"
    )
    parser.add_argument("--peers", nargs="*", default=["splink"])
    parser.add_argument("--timeout", type=float, default=2400)
    parser.add_argument("--section", help="write the table to RESULTS.md under this heading")
    parser.add_argument("--note", default="", help="a paragraph before the table")
    args = parser.parse_args()
    rows = [row for folder in args.folders for row in bench_folder(folder, args)]
    section = table(rows)
    print(section)
    if args.section:
        command = "python benchmarks/bench_external.py " + shlex.join(sys.argv[1:])
        head = f"## {args.section}\n\n`{command}`; {dt.date.today().isoformat()}.\n\n"
        update_section(
            args.section, head + (args.note + "\n\n" if args.note else "") + section + "\n"
        )


if __name__ == "__main__":
    main()
