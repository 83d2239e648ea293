"""Benchmark: the Dask engine against the in-process engine on the synthetic ``default``
scenario.

``--input files`` (default): the whole ``link`` run (``link_files``: read,
standardise, link, write the run folder) on the DTKS and Regsosek exports generated
straight to partitioned Parquet datasets (one file per province); with the Dask engine
the workers read and standardise the files. ``--input records``: ``fit_link`` alone on
our standardised records (Parquet).

Each run is a fresh process measured from outside (wall time, peak memory of the whole
process tree as summed PSS), holding ``--lock`` (flock) while it runs so that timed
runs of several benchmarks never overlap: in-process, and on a LocalCluster of
``--workers`` worker processes (one thread each) with the Dask engine. Each worker's
and the driver's own peak resident memory is read inside them. The two runs' links are
compared (Jaccard of the link sets, largest probability gap). Rows are kept in
``_data/dask_results.json``, so sizes run apart share one table.

    python benchmarks/bench_dask.py [--households 20000 100000] [--engines local dask]
        [--input files] [--workers 2] [--memory-limit 6GB] [--spill]
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import platform
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import psutil
from bench_link import DATA, measured, peer_inputs, registers
from results import update_section

HERE = Path(__file__).resolve().parent
STORE = DATA / "dask_results.json"


@contextmanager
def locked(path: str | None):
    """Hold an exclusive flock on ``path`` (no lock: None)."""
    if path is None:
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def datasets(households: int, args: argparse.Namespace) -> tuple[Path, dict]:
    """The exports as partitioned Parquet datasets (cached), generated in a measured
    process of their own; what generating them cost."""
    folder = DATA / f"dask_{households}_{args.seed}"
    done = folder / "generated.json"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        cmd = [sys.executable, str(HERE / "dask_run.py"), "generate"]
        with locked(args.lock):
            result = measured([*cmd, str(households), str(args.seed), str(folder)], args.timeout)
        if result["status"] != "ok":
            raise SystemExit(f"generating {households:,} households: {result['status']}")
        info = json.loads(str(result["stdout"]).strip().splitlines()[-1])
        info.update(
            wall_s=round(float(result["wall_s"]), 1), pss_mb=round(float(result["peak_rss_mb"]))
        )
        done.write_text(json.dumps(info) + "\n")
    return folder, json.loads(done.read_text())


def inputs(households: int, args: argparse.Namespace) -> tuple[list[str], tuple[int, int]]:
    """The run's two inputs and the register sizes."""
    if args.input == "files":
        folder, info = datasets(households, args)
        return [str(folder / "dtks"), str(folder / "regsosek"), "--files"], (
            info["dtks"],
            info["regsosek"],
        )
    folder = registers(households, args.seed)
    _, _, left, right = peer_inputs(folder)  # writes standardised_{left,right}.parquet
    paths = [str(folder / f"standardised_{s}.parquet") for s in ("left", "right")]
    return paths, (len(left), len(right))


def run(engine: str, given: list[str], out: Path, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, str(HERE / "dask_run.py"), engine, *given[:2], str(out), *given[2:]]
    cmd += ["--workers", str(args.workers), "--memory-limit", args.memory_limit]
    if args.spill and engine == "dask":
        cmd += ["--spill-dir", str(out.parent / f"spill_{out.name}")]
    with locked(args.lock):
        result = measured(cmd, args.timeout)
    if result["status"] == "ok":
        result.update(json.loads(str(result["stdout"]).strip().splitlines()[-1]))
        links = pd.read_csv(result["links_csv"], dtype={"left_id": str, "right_id": str})
        result["links_table"] = links
    shutil.rmtree(out.parent / f"spill_{out.name}", ignore_errors=True)
    return result


def agreement(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float]:
    """Jaccard of two link sets and the largest probability gap on the shared links."""
    both = a.merge(b, on=["left_id", "right_id"], suffixes=("_a", "_b"))
    union = len(a) + len(b) - len(both)
    gap = (both["match_probability_a"] - both["match_probability_b"]).abs().max()
    return (len(both) / union if union else 1.0), float(gap if len(both) else 0.0)


def bench(households: int, args: argparse.Namespace) -> list[dict]:
    given, sizes = inputs(households, args)
    folder = Path(given[0]).parent
    rows = []
    for engine in args.engines:
        row = {"households": households, "engine": engine, "input": args.input, "n": sizes}
        out = folder / (f"run_{engine}_engine" + ("" if args.input == "files" else ".csv"))
        row.update(run(engine, given, out, args))
        rows.append(row)
        print(households, engine, row.get("status"), row.get("wall_s"), flush=True)
    ok = {r["engine"]: r for r in rows if r["status"] == "ok"}
    if {"local", "dask"} <= set(ok):
        jaccard, gap = agreement(ok["local"]["links_table"], ok["dask"]["links_table"])
        ok["dask"]["jaccard"], ok["dask"]["gap"] = jaccard, gap
    for r in rows:
        r.pop("links_table", None)
        r.pop("stdout", None)
    return rows


def stored(rows: list[dict]) -> list[dict]:
    """The rows run before (other sizes, engines or inputs) with these in their place."""
    old = json.loads(STORE.read_text()) if STORE.exists() else []
    key = lambda r: (r["input"], r["households"], r["engine"])  # noqa: E731
    fresh = {key(r) for r in rows}
    merged = [r for r in old if key(r) not in fresh] + rows
    merged.sort(key=lambda r: (r["input"], r["households"], r["engine"] != "local"))
    STORE.write_text(json.dumps(merged, indent=1, default=str) + "\n")
    return merged


def table(rows: list[dict]) -> str:
    head = (
        "| input | households | records (left x right) | engine | links | Jaccard with in-process "
        "| wall s | peak memory MB (all processes) | peak MB per worker | driver peak MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for r in rows:
        n_left, n_right = r["n"]
        where = f"| {r['input']} | {r['households']:,} | {n_left:,} x {n_right:,} | {r['engine']} "
        if r["status"] != "ok":
            lines.append(where + f"| {r['status']} | | | | | |")
            continue
        jac = f"{r['jaccard']:.6f} (gap {r['gap']:.1e})" if "jaccard" in r else "-"
        workers = ", ".join(f"{v:,}" for v in r["worker_peak_mb"]) or "-"
        lines.append(
            where + f"| {r['links']:,} | {jac} | {r['wall_s']:.1f} | {r['peak_rss_mb']:,.0f} "
            f"| {workers} | {r['driver_peak_mb']:,} |"
        )
    return head + "\n".join(lines)


def stages(rows: list[dict]) -> str:
    """Per run, the run's seconds (read and standardise, link, write) and the engine's."""
    out = []
    for r in rows:
        parts = [f"{k} {v}" for k, v in {**r.get("run_s", {}), **r.get("stages", {})}.items()]
        note = f" ({r['note']})" if "note" in r else ""
        if parts:
            out.append(
                f"- {r['input']}, {r['households']:,}, {r['engine']}{note}: " + ", ".join(parts)
            )
    return "\n".join(out)


def generated() -> str:
    """What generating each size's datasets cost (the generator holds the population)."""
    out = []
    for path in sorted(DATA.glob("dask_*_*/generated.json")):
        info = json.loads(path.read_text())
        out.append(
            f"- {path.parent.name}: {info['dtks']:,} DTKS and {info['regsosek']:,} Regsosek rows, "
            f"{info['wall_s']} s, peak {info['peak_mb']:,} MB"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--households",
        type=int,
        nargs="*",
        default=[20_000, 100_000],
        help="none: rewrite the section",
    )
    parser.add_argument(
        "--engines", nargs="+", choices=["local", "dask"], default=["local", "dask"]
    )
    parser.add_argument("--input", choices=["files", "records"], default="files")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--spill", action="store_true", help="scored pairs spilled to Parquet")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--lock", default="/tmp/bench.lock", help="flock held by each timed run")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    rows = stored([row for h in args.households for row in bench(h, args)])
    if args.no_write:
        return
    machine = (
        f"{platform.machine()}, {psutil.cpu_count()} cores, Python {platform.python_version()}"
    )
    update_section(
        "Dask engine",
        "## Dask engine\n\n"
        f"`python benchmarks/bench_dask.py --households ... --workers {args.workers} "
        f"--memory-limit {args.memory_limit}` on {machine}; last run "
        f"{dt.date.today().isoformat()}. Synthetic `default` scenario, seed {args.seed}. Input "
        "`files`: the whole `link` run (`link_files`: read, standardise, link, write the run "
        "folder) on the DTKS and Regsosek exports generated straight to partitioned Parquet "
        "(one file per province), the Dask engine's workers reading and standardising the "
        "files; `records`: `fit_link` alone on our standardised records. In-process, then "
        f"the Dask engine on a LocalCluster of {args.workers} worker processes (one thread "
        "each). Every run a fresh process tree measured from outside (wall time, peak summed "
        "PSS) under a lock no other timed run holds; each worker's peak resident memory read "
        "in the worker, the driver's likewise. Jaccard: shared links / all links of the two "
        "runs, with the largest difference of a shared link's probability.\n\n"
        + table(rows)
        + "\n\nSeconds per stage (the run's, then the Dask engine's):\n\n"
        + stages(rows)
        + "\n\nGenerating the datasets (one process, measured from outside):\n\n"
        + generated()
        + "\n",
    )


if __name__ == "__main__":
    main()
