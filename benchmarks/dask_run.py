"""One run for bench_dask.py; prints a JSON line.

    python benchmarks/dask_run.py generate HOUSEHOLDS SEED FOLDER
    python benchmarks/dask_run.py {local,dask} LEFT RIGHT OUT [--files]
        [--workers 2] [--memory-limit 6GB] [--spill-dir DIR]

``generate``: the synthetic ``default`` scenario straight to partitioned Parquet
datasets, ``FOLDER/{dtks,regsosek}/province=XX/part-0.parquet`` (one file per
province, each register's rows in their order), no CSV in between.

``local`` / ``dask``: the default Linker in-process or with the Dask engine on a
LocalCluster. Without ``--files``, LEFT and RIGHT are standardised records (Parquet)
and OUT a CSV of the links (``fit_link`` alone); with ``--files``, LEFT and RIGHT are
the raw exports (files or partitioned datasets) and OUT a run folder: the whole
``link`` run (``link_files``: read, standardise, link, write), the Dask engine's
workers reading and standardising the files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import sys
import time
from pathlib import Path

import pandas as pd

from bansos_linkage.linkage.linker import Linker

#: The reference date of the ``--files`` runs (their standardisation checks dates).
REFERENCE_DATE = dt.date(2026, 1, 1)
#: Each export's province (DTKS: the first two digits of its village code).
CODE_COLUMNS = {"dtks": "KODE DESA", "regsosek": "kode_prov"}


def _peak_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate_datasets(households: int, seed: int, folder: Path) -> dict:
    """The scenario's DTKS and Regsosek exports as datasets of one file per province."""
    from bansos_linkage.synthetic import generate, scenario

    start = time.perf_counter()
    data = generate(scenario("default", households=households, seed=seed))
    info: dict = {"generate_s": round(time.perf_counter() - start, 1)}
    for name, column in CODE_COLUMNS.items():
        table = data.registers.pop(name)
        province = table[column].astype("string").str[:2].fillna("__HIVE_DEFAULT_PARTITION__")
        for code in sorted(province.unique()):
            path = folder / name / f"province={code}" / "part-0.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            table[(province == code).to_numpy()].to_parquet(path, index=False)
        info[name] = len(table)
        del table
    info["write_s"] = round(time.perf_counter() - start - info["generate_s"], 1)
    info["peak_mb"] = round(_peak_mb())
    return info


def _link(engine, args: argparse.Namespace) -> tuple[pd.DataFrame, dict]:
    """The links and what to report of them."""
    linker = Linker()
    if not args.files:
        left, right = pd.read_parquet(args.left), pd.read_parquet(args.right)
        result = (
            linker.fit_link(left, right) if engine is None else engine.fit_link(linker, left, right)
        )
        return result.links, {"candidate_pairs": result.summary["candidate_pairs"]}
    from bansos_linkage.runs.link import link_files

    start = time.perf_counter()
    run = link_files(
        args.left,
        args.right,
        "dtks",
        "regsosek",
        args.out,
        reference_date=REFERENCE_DATE,
        engine=engine,
    )
    seconds = run.result.summary["seconds"]
    info = {
        "candidate_pairs": run.result.summary["candidate_pairs"],
        "run_s": {
            "read_and_standardise": seconds["read_and_standardise"],
            "link": seconds["link"],
            "write": round(
                time.perf_counter() - start - seconds["read_and_standardise"] - seconds["link"], 2
            ),
        },
    }
    return run.result.links, info


def main() -> None:
    if sys.argv[1:2] == ["generate"]:
        households, seed, folder = int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
        print(json.dumps(generate_datasets(households, seed, folder)))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["local", "dask"])
    parser.add_argument("left")
    parser.add_argument("right")
    parser.add_argument("out")
    parser.add_argument("--files", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    parser.add_argument("--spill-dir")
    args = parser.parse_args()
    info: dict = {}
    if args.engine == "local":
        links, more = _link(None, args)
        info["worker_peak_mb"] = []
    else:
        from dask.distributed import Client, LocalCluster

        from bansos_linkage.engines import DaskEngine

        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=None,
        )
        with Client(cluster) as client:
            engine = DaskEngine(client, spill_dir=args.spill_dir)
            links, more = _link(engine, args)
            info["stages"] = {k: round(v, 2) for k, v in engine.timings_.items()}
            peaks = client.run(_peak_mb)
            info["worker_peak_mb"] = [round(v) for v in peaks.values()]
        cluster.close()
    info.update(more)
    info["driver_peak_mb"] = round(_peak_mb())
    links_csv = Path(f"{args.out}.links.csv") if args.files else Path(args.out)
    links[["left_id", "right_id", "match_probability"]].to_csv(links_csv, index=False)
    info["links"] = len(links)
    info["links_csv"] = str(links_csv)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
