"""Would an English phonetic code (jellyfish) help next to the Indonesian key?

Two measurements on the cached 20,000-household DTKS x Regsosek scenarios
(``benchmarks/_data/link_*``, made by ``bench_link.py`` / ``bench_robust.py``):

1. how often the first word of the two names gets the same code, among the true pairs
   (recall of a key) and among pairs of different people in one province (how much a
   key would let through), for the exact word, the library's Indonesian key and
   jellyfish's Soundex, Metaphone, NYSIIS and Match Rating codes;
2. the default linker against the default plus one Soundex blocking rule (first and
   last word's Soundex within the village, capped like the other village rules):
   F1 and pair recall on the tuning scenarios.

Usage: ``python benchmarks/bench_phonetic.py [--scenarios hard mix01 mix03 mix05]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time
from collections.abc import Callable
from pathlib import Path

import jellyfish
import numpy as np
import pandas as pd
import psutil
from bench_link import registers
from results import update_section

from bansos_linkage import Linker, read_table, standardise
from bansos_linkage.evaluation import link_metrics, true_links
from bansos_linkage.linkage.blocking import (
    DEFAULT_RULES,
    VILLAGE_NAME_BLOCK_PAIRS,
    ExactRule,
    blocking_keys,
)
from bansos_linkage.standardisation.phonetic import phonetic_key

HEADING = "Phonetic codes: jellyfish next to the Indonesian key"
DAY = dt.date(2026, 1, 1)
CODERS: dict[str, Callable[[str], str]] = {
    "exact word": lambda word: word,
    "Indonesian key (ours)": phonetic_key,
    "Soundex": jellyfish.soundex,
    "Metaphone": jellyfish.metaphone,
    "NYSIIS": jellyfish.nysiis,
    "Match Rating": jellyfish.match_rating_codex,
}
SOUNDEX_RULE = ExactRule(
    ("bk_sx_first", "bk_sx_last", "bk_village"), max_block_pairs=VILLAGE_NAME_BLOCK_PAIRS
)


def soundex_of_word(names: pd.Series, position: int) -> pd.Series:
    """Soundex of each name's first (0) or last (-1) word, once per distinct name."""
    codes, uniques = pd.factorize(names.astype("string"))
    words = [str(u).split() for u in uniques]
    keys = [jellyfish.soundex(w[position]) if w else None for w in words] + [None]
    return pd.Series(pd.array(keys, dtype="string").take(codes), index=names.index)


def load(folder: Path, register: str) -> pd.DataFrame:
    records = standardise(read_table(folder / f"{register}.csv"), register, reference_date=DAY)
    frame = blocking_keys(records.records)
    frame["bk_sx_first"] = soundex_of_word(frame["full_name"], 0)
    frame["bk_sx_last"] = soundex_of_word(frame["full_name"], -1)
    truth = pd.read_csv(folder / f"truth_{register}.csv", dtype=str)
    return frame.merge(truth[["record_id", "person_id"]], on="record_id", how="left")


def first_words(names: pd.Series) -> list[str]:
    return [str(n).split()[0] if str(n).split() else "" for n in names]


def code_agreement(left: pd.DataFrame, right: pd.DataFrame, seed: int = 0) -> list[dict]:
    """Share of pairs whose first words get one code: true pairs, and pairs of different
    people drawn within one province."""
    cols = ["full_name", "province_code", "person_id"]
    a, b = left[cols].dropna(), right[cols].dropna()
    true = a.merge(b, on="person_id", suffixes=("_a", "_b"))
    pairs = a.sample(3000, random_state=seed).merge(
        b.sample(3000, random_state=seed + 1), on="province_code", suffixes=("_a", "_b")
    )
    other = pairs[pairs["person_id_a"] != pairs["person_id_b"]]
    other = other.sample(min(len(other), 200_000), random_state=seed + 2)
    rows = []
    for name, code in CODERS.items():
        shares = []
        for frame in (true, other):
            x, y = first_words(frame["full_name_a"]), first_words(frame["full_name_b"])
            shares.append(float(np.mean([code(p) == code(q) for p, q in zip(x, y, strict=True)])))
        rows.append({"code": name, "true_pairs": shares[0], "other_pairs": shares[1]})
    return rows


def with_soundex_rule() -> tuple:
    exact = tuple(r for r in DEFAULT_RULES if isinstance(r, ExactRule))
    rest = tuple(r for r in DEFAULT_RULES if not isinstance(r, ExactRule))
    return (*exact, SOUNDEX_RULE, *rest)  # exact rules come before sorted neighbourhoods


def link_row(left: pd.DataFrame, right: pd.DataFrame, rules: tuple, truth: pd.DataFrame) -> dict:
    start = time.perf_counter()
    result = Linker(rules=rules).fit_link(left, right, keep_pairs=0.0001)
    metrics = link_metrics(result.links, truth)
    assert result.pairs is not None
    kept = truth.merge(result.pairs[["left_id", "right_id"]], on=["left_id", "right_id"])
    return {
        "f1": metrics["f1"],
        "precision": metrics["precision"],
        "recall": metrics["recall"],
        "pair_recall": len(kept) / len(truth),
        "candidates": int(result.summary["candidate_pairs"]),
        "seconds": time.perf_counter() - start,
    }


def render(agreement: list[dict], links: list[dict], scenarios: list[str]) -> str:
    lines = [
        f"## {HEADING}",
        "",
        f"`python benchmarks/bench_phonetic.py --scenarios {' '.join(scenarios)}` on "
        f"{platform.machine()}, {psutil.cpu_count()} cores, Python "
        f"{platform.python_version()}; {dt.date.today().isoformat()}. 20,000 households, "
        "DTKS x Regsosek, seed 1. First: the share of pairs whose first name words get one "
        f"code, among the true pairs and among pairs of different people in one province "
        f"(scenario {scenarios[0]}). Then the default linker against the default plus a "
        "Soundex blocking rule (Soundex of the first and last word within the village). "
        "Pair recall: true pairs scored at probability >= 0.0001.",
        "",
        "| code of the first word | true pairs agree | other pairs agree | ratio |",
        "|---|---|---|---|",
    ]
    for row in agreement:
        ratio = row["true_pairs"] / row["other_pairs"]
        lines.append(
            f"| {row['code']} | {row['true_pairs']:.4f} | {row['other_pairs']:.5f} | {ratio:.1f} |"
        )
    lines += [
        "",
        "| scenario | rules | precision | recall | F1 | pair recall | candidates | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in links:
        lines.append(
            f"| {row['scenario']} | {row['rules']} | {row['precision']:.4f} | "
            f"{row['recall']:.4f} | **{row['f1']:.4f}** | {row['pair_recall']:.4f} | "
            f"{row['candidates']:,} | {row['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", nargs="+", default=["hard", "mix01", "mix03", "mix05"])
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()
    agreement: list[dict] = []
    links: list[dict] = []
    for name in args.scenarios:
        folder = registers(20_000, 1, name)
        left, right = load(folder, "dtks"), load(folder, "regsosek")
        truth = true_links(
            left.set_index("record_id")["person_id"], right.set_index("record_id")["person_id"]
        )
        if not agreement:
            agreement = code_agreement(left, right)
        for label, rules in (("default", DEFAULT_RULES), ("+ Soundex", with_soundex_rule())):
            row = {"scenario": name, "rules": label, **link_row(left, right, rules, truth)}
            print(row, flush=True)
            links.append(row)
    section = render(agreement, links, args.scenarios)
    if args.no_write:
        print(section)
    else:
        update_section(HEADING, section)


if __name__ == "__main__":
    main()
