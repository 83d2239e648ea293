"""One linkage run for bench_dask.py: the default Linker on standardised records,
in-process or on a LocalCluster (the Dask engine); prints a JSON line.

    python benchmarks/dask_run.py {local,dask} LEFT.parquet RIGHT.parquet OUT.csv
        [--workers 2] [--memory-limit 6GB]
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import pandas as pd

from bansos_linkage.linkage.linker import Linker


def _peak_mb() -> float:
    """This process's peak resident memory (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["local", "dask"])
    parser.add_argument("left")
    parser.add_argument("right")
    parser.add_argument("out")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="6GB")
    args = parser.parse_args()
    start = time.perf_counter()
    left, right = pd.read_parquet(args.left), pd.read_parquet(args.right)
    info: dict = {"load_s": round(time.perf_counter() - start, 2)}
    if args.engine == "local":
        result = Linker().fit_link(left, right)
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
            engine = DaskEngine(client)
            result = engine.fit_link(Linker(), left, right)
            info["stages"] = {k: round(v, 2) for k, v in engine.timings_.items()}
            peaks = client.run(_peak_mb)
            info["worker_peak_mb"] = [round(v) for v in peaks.values()]
        cluster.close()
    info["driver_peak_mb"] = round(_peak_mb())
    result.links[["left_id", "right_id", "match_probability"]].to_csv(args.out, index=False)
    info["links"] = len(result.links)
    info["candidate_pairs"] = result.summary["candidate_pairs"]
    print(json.dumps(info))


if __name__ == "__main__":
    main()
