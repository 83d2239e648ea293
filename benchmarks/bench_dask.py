"""Benchmark: the Dask engine against the in-process engine, on the same standardised
records of the synthetic ``default`` scenario.

Each size runs the default Linker twice, each in a fresh process measured from
outside (wall time, peak memory of the whole process tree as summed PSS): in-process,
and on a LocalCluster of ``--workers`` worker processes (one thread each) with the
Dask engine. Each worker's own peak resident memory is read inside the worker. The
two runs' links are compared (Jaccard of the link sets, largest probability gap).

    python benchmarks/bench_dask.py [--households 20000 100000] [--workers 2]
        [--memory-limit 6GB]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from pathlib import Path

import pandas as pd
import psutil
from bench_link import measured, peer_inputs, registers
from results import update_section

HERE = Path(__file__).resolve().parent


def run(engine: str, folder: Path, args: argparse.Namespace) -> dict:
    out = folder / f"run_{engine}_engine.csv"
    cmd = [sys.executable, str(HERE / "dask_run.py"), engine]
    cmd += [str(folder / f"standardised_{s}.parquet") for s in ("left", "right")] + [str(out)]
    cmd += ["--workers", str(args.workers), "--memory-limit", args.memory_limit]
    result = measured(cmd, args.timeout)
    if result["status"] == "ok":
        result.update(json.loads(str(result["stdout"]).strip().splitlines()[-1]))
        result["links_table"] = pd.read_csv(out, dtype={"left_id": str, "right_id": str})
    return result


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
    """Jaccard of two link sets and the largest probability gap on the shared links."""
    both = a.merge(b, on=["left_id", "right_id"], suffixes=("_a", "_b"))
    union = len(a) + len(b) - len(both)
    gap = (both["match_probability_a"] - both["match_probability_b"]).abs().max()
    return (len(both) / union if union else 1.0), float(gap if len(both) else 0.0)


def bench(households: int, args: argparse.Namespace) -> list[dict]:
    folder = registers(households, args.seed)
    _, _, left, right = peer_inputs(folder)  # writes standardised_{left,right}.parquet
    rows = []
    for engine in ("local", "dask"):
        row = {"households": households, "engine": engine, "n": (len(left), len(right))}
        row.update(run(engine, folder, args))
        rows.append(row)
        print(households, engine, row.get("status"), row.get("wall_s"), flush=True)
    if all(r["status"] == "ok" for r in rows):
        jaccard, gap = agreement(rows[0]["links_table"], rows[1]["links_table"])
        rows[1]["jaccard"], rows[1]["gap"] = jaccard, gap
    return rows


def table(rows: list[dict]) -> str:
    head = (
        "| households | records (left x right) | engine | links | Jaccard with in-process "
        "| wall s | peak memory MB (all processes) | peak MB per worker | driver peak MB |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        n_left, n_right = r["n"]
        if r["status"] != "ok":
            lines.append(
                f"| {r['households']:,} | {n_left:,} x {n_right:,} | {r['engine']} "
                f"| {r['status']} | | | | | |"
            )
            continue
        jac = f"{r['jaccard']:.6f} (gap {r['gap']:.1e})" if "jaccard" in r else "-"
        workers = ", ".join(f"{v:,}" for v in r["worker_peak_mb"]) or "-"
        lines.append(
            f"| {r['households']:,} | {n_left:,} x {n_right:,} | {r['engine']} | {r['links']:,} "
            f"| {jac} | {r['wall_s']:.1f} | {r['peak_rss_mb']:,.0f} | {workers} "
            f"| {r['driver_peak_mb']:,} |"
        )
    return head + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = [row for h in args.households for row in bench(h, args)]
    if args.no_write:
        return
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, Python {platform.python_version()}"
    )
    stages = "\n".join(
        f"- {r['households']:,}: " + ", ".join(f"{k} {v}" for k, v in r["stages"].items())
        for r in rows
        if r.get("stages")
    )
    update_section(
        "Dask engine",
        "## Dask engine\n\n"
        f"`python benchmarks/bench_dask.py --households {' '.join(map(str, args.households))} "
        f"--workers {args.workers} --memory-limit {args.memory_limit}` on {machine}; "
        f"{dt.date.today().isoformat()}. Synthetic `default` scenario, seed {args.seed}, our "
        "standardised records (Parquet); the default Linker fitted and run in-process, then "
        f"with the Dask engine on a LocalCluster of {args.workers} worker processes (one "
        "thread each). Every run a fresh process tree measured from outside (wall time, peak "
        "summed PSS); each worker's peak resident memory read in the worker; the driver's "
        "likewise. Jaccard: shared links / all links of the two runs, with the largest "
        "difference of a shared link's probability.\n\n"
        + table(rows)
        + "\n\nDask engine seconds per stage:\n\n"
        + stages
        + "\n",
    )


if __name__ == "__main__":
    main()
