"""Peer deduplicator: Python Record Linkage Toolkit (recordlinkage) on one register.

Runs in ``.venv-interop``::

    .venv-interop/bin/python benchmarks/peers/recordlinkage_dedupe.py \\
        --input F.parquet --out pairs.csv --dataset febrl [--seed 0] [--threshold 0.5]

The setup of ``recordlinkage_link.py`` applied to one dataframe: the same union of
``Block`` keys and sorted neighbourhood (``Index.index(df)`` gives each pair within
the register once), the same binary comparisons, the unsupervised ``ECMClassifier``
(``init="jaro"``). Deduplication keeps every pair at or above ``--threshold`` (no
one-to-one step). Writes ``pairs.csv`` (``record_id_a,record_id_b,match_probability``,
``a < b``, sorted) and prints one JSON line of timings on stdout. No record values
are printed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import recordlinkage as rl
from recordlinkage_link import (
    _febrl_compare,
    _febrl_indexer,
    _has_values,
    _indonesia_compare,
    _indonesia_indexer,
    _indonesia_prepare,
    _load,
    _split_missing,
)


def _ordered_pairs(probs: pd.Series, threshold: float) -> pd.DataFrame:
    """Pairs at or above ``threshold`` with the smaller id first, sorted by the ids."""
    keep = probs.to_numpy() >= threshold
    first = probs.index.get_level_values(0).to_numpy(dtype=object)[keep]
    second = probs.index.get_level_values(1).to_numpy(dtype=object)[keep]
    swap = first > second
    out = pd.DataFrame(
        {
            "record_id_a": np.where(swap, second, first),
            "record_id_b": np.where(swap, first, second),
            "match_probability": probs.to_numpy()[keep].round(12),
        }
    )
    return out.sort_values(["record_id_a", "record_id_b"], kind="mergesort", ignore_index=True)


def run(args: argparse.Namespace) -> dict:
    np.random.seed(args.seed)  # ECM's 'jaro' start is deterministic; this guards the rest
    stages: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        stages[name] = round(now - clock[0], 3)
        clock[0] = now

    frame = _load(args.input)
    if args.dataset == "febrl":
        indexer, compare = _febrl_indexer(), _febrl_compare()
    else:
        frame = _indonesia_prepare(frame)
        indexer = _indonesia_indexer()
        compare = _indonesia_compare(_has_values(frame, column="mother_name"))
    lap("load")
    candidates = indexer.index(frame)
    lap("block")
    vectors = _split_missing(compare.compute(candidates, frame))
    lap("compare")
    classifier = rl.ECMClassifier(init="jaro", binarize=None, max_iter=args.max_iter)
    classifier.fit(vectors)
    lap("train")
    probs = pd.Series(classifier.prob(vectors), index=vectors.index)
    lap("predict")
    pairs = _ordered_pairs(probs, args.threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pairs.to_csv(args.out, index=False)
    lap("resolve")
    return dict(
        tool="recordlinkage",
        version=rl.__version__,
        dataset=args.dataset,
        mode="dedupe_only",
        n_records=len(frame),
        n_candidate_pairs=len(candidates),
        threshold=args.threshold,
        seed=args.seed,
        ecm_match_prior=float(np.exp(classifier.kernel.class_log_prior_[1])),
        stages=stages,
        n_pairs=len(pairs),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="pairs.csv")
    parser.add_argument("--dataset", required=True, choices=["febrl", "indonesia"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--max-iter", type=int, default=100, help="ECM iterations")
    parser.add_argument("--verbose", action="store_true", help="log on stderr")
    args = parser.parse_args(argv)
    if not 0.0 < args.threshold < 1.0:
        parser.error("--threshold must be a probability strictly between 0 and 1")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        warnings.simplefilter("ignore", FutureWarning)
    stdout, sys.stdout = sys.stdout, sys.stderr  # library output to stderr
    try:
        result = run(args)
    finally:
        sys.stdout = stdout
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
