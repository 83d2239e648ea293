"""Candidate pairs as the registers grow: at the generator's fixed 60 villages and at a
constant village size.

The generator puts every household in one of ``villages`` villages (60 unless told
otherwise), so at 400,000 households a village holds about 6,700 of them, and the
rules that work within a village pair up more people per record. Real villages hold
about a thousand households (83,000 villages for some 93 million families). This
benchmark counts our default blocking's candidate pairs and pair recall at each size
twice: with the 60 villages, and with one village per ``--per-village`` households
(capped at the lexicon's villages). Counts only, no timing: the same data give the
same figures on any machine.

    python benchmarks/bench_scaling.py --households 20000 100000 400000
"""

from __future__ import annotations

import argparse
import datetime as dt

from bench_link import blocking_recall_table, registers, standardised_registers, truth_of
from results import update_section

from bansos_linkage.synthetic.lexicons import load_regions


def measure(households: int, seed: int, villages: int | None) -> dict:
    folder = registers(households, seed, villages=villages)
    left, right = standardised_registers(folder)
    pairs, recall, n_true = blocking_recall_table(left, right, truth_of(folder))
    found = recall.set_index("rule").loc["all", "true_pairs_found"]
    return {
        "households": households,
        "villages": villages or 60,
        "left": len(left),
        "right": len(right),
        "pairs": len(pairs.left),
        "per_left": len(pairs.left) / len(left),
        "recall": found / n_true,
    }


def table(rows: list[dict]) -> str:
    lines = [
        "| households | villages | households per village | records (left x right) "
        "| candidate pairs | pairs per DTKS record | pair recall (rules only) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['households']:,} | {r['villages']:,} | {r['households'] / r['villages']:,.0f} "
            f"| {r['left']:,} x {r['right']:,} | {r['pairs']:,} | {r['per_left']:.1f} "
            f"| {r['recall']:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--per-village", type=int, default=333)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    lexicon = len(load_regions())
    rows = []
    for households in args.households:
        rows.append(measure(households, args.seed, None))
        villages = min(max(households // args.per_village, 1), lexicon)
        if villages != 60:
            rows.append(measure(households, args.seed, villages))
        print(rows[-1], flush=True)
    if args.no_write:
        return
    update_section(
        "Candidate pairs as the registers grow",
        "## Candidate pairs as the registers grow\n\n"
        f"`python benchmarks/bench_scaling.py --households "
        f"{' '.join(map(str, args.households))} --per-village {args.per_village}`; "
        f"{dt.date.today().isoformat()}. Synthetic `default` scenario, seed {args.seed}; our "
        "default blocking rules on the standardised DTKS (left) and Regsosek (right) records "
        "(family context not included). Each size twice: with the generator's 60 villages "
        "(villages grow denser with the size), and with one village per "
        f"{args.per_village} households (at most the lexicon's {lexicon} villages), as real "
        "villages of about a thousand households are. Counts, not times: the same on any "
        "machine.\n\n" + table(rows) + "\n",
    )


if __name__ == "__main__":
    main()
