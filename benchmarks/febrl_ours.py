"""bansos-linkage on FEBRL4 with generic comparators only (run by bench_link.py --febrl).

FEBRL4 is Australian synthetic data, so none of the Indonesian rules apply:
blocking on each field and a sorted neighbourhood on the surname, Jaro-Winkler
levels on the strings, the generic date comparison, exact postcode, state and
street number; strict one-to-one links.

    python benchmarks/febrl_ours.py LEFT.parquet RIGHT.parquet OUT.csv
"""

from __future__ import annotations

import json
import sys
import time

import pandas as pd

from bansos_linkage.linkage.blocking import ExactRule, SortedNeighbourhoodRule
from bansos_linkage.linkage.comparisons import DateComparison, ExactComparison, StringComparison
from bansos_linkage.linkage.linker import Linker

RULES = (
    ExactRule(("given_name",)),
    ExactRule(("surname",)),
    ExactRule(("date_of_birth",)),
    ExactRule(("soc_sec_id",)),
    ExactRule(("postcode", "street_number")),
    SortedNeighbourhoodRule("surname", window=5),
)
COMPARISONS = (
    StringComparison("given_name"),
    StringComparison("surname"),
    DateComparison("birth_date", precision="", alternative=None),
    StringComparison("soc_sec_id", thresholds=(0.9,)),
    StringComparison("address_1"),
    StringComparison("suburb"),
    ExactComparison("postcode"),
    ExactComparison("state"),
    ExactComparison("street_number"),
)


def load(path: str) -> pd.DataFrame:
    frame = pd.read_parquet(path).astype("string")
    frame["birth_date"] = pd.to_datetime(frame["date_of_birth"], format="%Y%m%d", errors="coerce")
    return frame


def main() -> None:
    start = time.perf_counter()
    left, right = load(sys.argv[1]), load(sys.argv[2])
    linker = Linker(
        rules=RULES,
        comparisons=COMPARISONS,
        threshold=0.5,
        resolution="one_to_one",
        term_frequency=(),
    )
    result = linker.fit_link(left, right)
    links = result.links
    links[["left_id", "right_id", "match_probability"]].to_csv(sys.argv[3], index=False)
    print(
        json.dumps(
            {
                "candidate_pairs": result.summary["candidate_pairs"],
                "links": len(links),
                "seconds": time.perf_counter() - start,
            }
        )
    )


if __name__ == "__main__":
    main()
