"""Benchmark: read + standardise a 1,000,000-row messy DTKS-like CSV export.

Target (issue 2): at most 30 s and 3 GB peak on the project machine (2 cores).
Each repeat runs in a fresh process so peak RSS is that run's own. Medians of
the repeats are written to benchmarks/RESULTS.md (section "Standardisation").

    python benchmarks/bench_standardise.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from results import update_section

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"


def make_input(rows: int, seed: int) -> Path:
    path = DATA / f"messy_dtks_{rows}_{seed}.csv"
    if not path.exists():
        sys.path.insert(0, str(HERE))
        from messy_sample import messy_dtks

        DATA.mkdir(exist_ok=True)
        messy_dtks(rows, seed).to_csv(path, index=False, sep=";")
    return path


def run_once(path: Path) -> dict[str, float]:
    """One timed run (called in a child process)."""
    import datetime as dt

    from bansos_linkage import read_table, standardise

    t0 = time.perf_counter()
    raw = read_table(path)
    t1 = time.perf_counter()
    marks: list[tuple[str, float]] = []
    result = standardise(
        raw,
        "dtks",
        reference_date=dt.date(2026, 1, 1),
        progress=lambda _done, _total, stage: marks.append((stage, time.perf_counter())),
    )
    t2 = time.perf_counter()
    stages = {f"stage:{a[0]}": b[1] - a[1] for a, b in zip(marks, marks[1:], strict=False)}
    assert result.n_input == len(raw) == result.n_kept + result.n_rejected
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "read_s": t1 - t0,
        "standardise_s": t2 - t1,
        "total_s": t2 - t0,
        "peak_rss_mb": peak_kb / 1024,
        "rows": len(raw),
        "problems": len(result.report),
        **stages,
    }


PEER_SCRIPT = """
import json, resource, sys, time
import pandas as pd
from recordlinkage.preprocessing import clean
t0 = time.perf_counter()
raw = pd.read_csv(sys.argv[1], sep=";", dtype=str, keep_default_na=False)
t1 = time.perf_counter()
for col in ("NAMA", "NAMA IBU KANDUNG"):
    clean(raw[col])
t2 = time.perf_counter()
print(json.dumps({"read_s": t1 - t0, "clean_s": t2 - t1,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
PEER_PYTHON = HERE.parent / ".venv-interop" / "bin" / "python"


def run_peer(path: Path) -> dict[str, float] | None:
    """recordlinkage's generic name cleaning on the same two name columns, for scale."""
    if not PEER_PYTHON.exists():
        return None
    out = subprocess.run(
        [str(PEER_PYTHON), "-c", PEER_SCRIPT, str(path)], check=True, capture_output=True, text=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.child)))
        return
    path = make_input(args.rows, args.seed)
    runs = []
    for i in range(args.repeats):
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}: {runs[-1]}", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    peers = [p for p in (run_peer(path) for _ in range(args.repeats)) if p]
    peer = {k: statistics.median(r[k] for r in peers) for k in peers[0]} if peers else None
    print(f"peer: {peer}")
    write_results(med, peer, args)
    print(json.dumps(med, indent=2))


def write_results(
    med: dict[str, float], peer: dict[str, float] | None, args: argparse.Namespace
) -> None:
    peer_line = (
        "recordlinkage 0.16 `preprocessing.clean` (lower-case, strip punctuation; no titles, "
        "spelling or codes) on the same two name columns, same run: "
        f"{peer['clean_s']:.1f} s for the names alone, peak {peer['peak_rss_mb']:,.0f} MB."
        if peer
        else "Peer (recordlinkage clean) not run: create `.venv-interop` with `make interop`."
    )
    section = "\n".join(
        [
            "## Standardisation (issue 2)",
            "",
            f"`python benchmarks/bench_standardise.py --rows {args.rows} --repeats {args.repeats}`"
            f" on {platform.machine()}, Python {platform.python_version()}, "
            f"{_cores()} cores; medians of {args.repeats} fresh-process runs.",
            "Input: messy DTKS-like CSV (`benchmarks/messy_sample.py`, seed "
            f"{args.seed}): titles, old spelling, Balinese names, placeholder/Excel-damaged NIKs, "
            "KK typed as NIK, mixed date formats, RT/RW spellings.",
            "",
            "| rows | read CSV (s) | standardise (s) | total (s) | peak RSS (MB) "
            "| problems reported | target |",
            "|---:|---:|---:|---:|---:|---:|---|",
            f"| {int(med['rows']):,} | {med['read_s']:.1f} | {med['standardise_s']:.1f} | "
            f"{med['total_s']:.1f} | {med['peak_rss_mb']:,.0f} | {int(med['problems']):,} | "
            "<= 30 s, <= 3,000 MB |",
            "",
            "Time per stage (median s): "
            + ", ".join(f"{k[6:]} {v:.1f}" for k, v in med.items() if k.startswith("stage:"))
            + "; the rest is assembling the records and the report.",
            "",
            peer_line,
            "",
        ]
    )
    update_section("Standardisation", section)


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
