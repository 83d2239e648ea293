"""Benchmark: generate a synthetic population of about 1,000,000 persons with its registers.

Target (issue 3): at most 60 s and 4 GB on the project machine. Each repeat runs
in a fresh process; medians go to benchmarks/RESULTS.md ("Synthetic data").

    python benchmarks/bench_synthetic.py [--households 285000] [--repeats 3]
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


def run_once(households: int, seed: int) -> dict[str, float]:
    from bansos_linkage.synthetic import generate, scenario

    marks: list[tuple[str, float]] = []
    t0 = time.perf_counter()
    data = generate(
        scenario("default", households=households, seed=seed),
        progress=lambda _d, _t, stage: marks.append((stage, time.perf_counter())),
    )
    total = time.perf_counter() - t0
    stages = {f"stage:{a[0]}": b[1] - a[1] for a, b in zip(marks, marks[1:], strict=False)}
    return {
        "total_s": total,
        "persons": len(data.persons),
        "records": sum(len(t) for t in data.registers.values()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **stages,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--households", type=int, default=285_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.households, args.seed)))
        return
    runs = []
    for i in range(args.repeats):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--households",
            str(args.households),
            "--seed",
            str(args.seed),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"run {i + 1}: {runs[-1]}", flush=True)
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    write_results(med, args)
    print(json.dumps(med, indent=2))


def write_results(med: dict[str, float], args: argparse.Namespace) -> None:
    stages = ", ".join(f"{k[6:]} {v:.1f}" for k, v in med.items() if k.startswith("stage:"))
    section = "\n".join(
        [
            "## Synthetic data (issue 3)",
            "",
            f"`python benchmarks/bench_synthetic.py --households {args.households} --repeats "
            f"{args.repeats}` on {platform.machine()}, Python {platform.python_version()}; medians "
            f"of {args.repeats} fresh-process runs, scenario `default`, in memory "
            "(no file writing).",
            "",
            "| households | persons | register records | time (s) | peak RSS (MB) | target |",
            "|---:|---:|---:|---:|---:|---|",
            f"| {args.households:,} | {int(med['persons']):,} | {int(med['records']):,} | "
            f"{med['total_s']:.1f} | {med['peak_rss_mb']:,.0f} | 1,000,000 persons <= 60 s, "
            "<= 4,000 MB |",
            "",
            f"Time per stage (median s): {stages}.",
            "",
        ]
    )
    update_section("Synthetic data", section)


if __name__ == "__main__":
    main()
