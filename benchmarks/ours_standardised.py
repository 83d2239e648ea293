"""bansos-linkage from standardised records, the start the peers get (run by bench_link.py).

The ``link`` command reads and standardises the raw CSV exports; Splink and
recordlinkage start from our standardised records. This runs the default
``Linker`` on those same standardised records (Parquet written by bench_link.py),
so that the two sides do the same work: load, block, compare, fit, score, resolve,
write the links.

    python benchmarks/ours_standardised.py --left LEFT.parquet --right RIGHT.parquet
        --out OUT.csv  (the peers' command line; --dataset and --seed are accepted)
"""

from __future__ import annotations

import argparse
import json
import time

import pandas as pd
import pyarrow.parquet as pq

from bansos_linkage.linkage.blocking import DEFAULT_RULES
from bansos_linkage.linkage.comparisons import DEFAULT_COMPARISONS, columns_read
from bansos_linkage.linkage.linker import Linker
from bansos_linkage.memory import keep_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--left", "--right", "--out"):
        parser.add_argument(option, required=True)
    parser.add_argument("--dataset")
    parser.add_argument("--seed")
    args = parser.parse_args()
    keep_freed_memory()  # a batch job, as the command line sets it
    start = time.perf_counter()
    linker = Linker()
    # only the columns linking reads, as the peers' inputs hold only theirs
    wanted = columns_read(DEFAULT_RULES, DEFAULT_COMPARISONS)
    left, right = (
        pd.read_parquet(path, columns=[c for c in wanted if c in pq.read_schema(path).names])
        for path in (args.left, args.right)
    )
    loaded = time.perf_counter()
    result = linker.fit_link(left, right)
    linked = time.perf_counter()
    result.links[["left_id", "right_id", "match_probability"]].to_csv(args.out, index=False)
    stages = {"load": loaded - start, **result.summary["seconds"]}
    stages["write"] = time.perf_counter() - linked
    print(
        json.dumps(
            {
                "n_candidate_pairs": result.summary["candidate_pairs"],
                "links": len(result.links),
                "stages": {k: round(v, 3) for k, v in stages.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
