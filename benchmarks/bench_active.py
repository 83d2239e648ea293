"""Active learning benchmark: the ML matcher trained on reviewed pairs vs the unsupervised model.

For each synthetic scenario (``default``, ``hard``) at 20,000 households, a simulated
reviewer (the generator's truth) labels batches of pairs:

- **active**: batches chosen by :func:`bansos_linkage.review.select_for_review`
  (uncertain pairs, Fellegi-Sunter / ML disagreements, 10% random links), the ML
  matcher retrained after each batch;
- **random**: the same numbers of labels drawn uniformly from the candidate pairs.

After each batch the run is relinked with the ML matcher and scored at person
level against the truth (every DTKS registration of a person is a true pair), as
in ``bench_link.py``. Finally the threshold for "precision >= 0.995" is chosen on
the scored pairs of half of the DTKS records (by record id) and checked on the
other half (held-out truth).

    python benchmarks/bench_active.py [--households 20000] [--batch 50] [--labels 500]
        [--grid all] [--grid-households 10000] [--grid-batch 100] [--grid-labels 100 500]

``--grid`` adds, for every scenario of the robustness grid (``bench_robust.py``), the
F1 after 100 and 500 actively chosen labels against the unsupervised F1: labels must
never make the links worse. The grid takes about two hours on 2 cores: each scenario's
row is kept in benchmarks/_data/active_grid.json with the git tree of ``src/`` it was
measured on, and a run on the same clean tree and settings reuses it (an interrupted
grid resumes; any change to the library measures again).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_robust import expand, kind_of
from results import update_section

from bansos_linkage import Linker, standardise
from bansos_linkage.evaluation import choose_threshold, link_metrics, threshold_curve, true_links
from bansos_linkage.review import oracle_decisions, select_for_review, training_pairs
from bansos_linkage.synthetic import generate, scenario

REFERENCE_DATE = dt.date(2025, 1, 1)


def problem(name: str, households: int, seed: int):
    data = generate(scenario(name, households=households, seed=seed))
    left, right = (
        standardise(data.registers[n], n, reference_date=REFERENCE_DATE).records
        for n in ("dtks", "regsosek")
    )
    truth = true_links(
        data.truth["dtks"].set_index("record_id")["person_id"],
        data.truth["regsosek"].set_index("record_id")["person_id"],
    )
    return left, right, truth


def relink(linker: Linker, left, right, truth, labels: pd.DataFrame | None):
    if labels is not None:
        linker.fit_ml(left, right, training_pairs(labels))
    result = linker.link(left, right, keep_pairs=True)
    return result, link_metrics(result.links, truth)


def active_curve(linker, left, right, truth, batch: int, total: int, seed: int):
    labels = None
    result = linker.link(left, right, keep_pairs=True)
    rows = []
    comparisons = [c.label for c in linker.comparisons]
    while labels is None or len(labels) < total:
        pairs = result.pairs
        ml = "ml_probability" in pairs
        chosen = select_for_review(
            pairs,
            batch,
            threshold=linker.ml_threshold if ml else linker.threshold,
            score="ml_probability" if ml else "match_probability",
            second_score="match_probability" if ml else None,
            labelled=labels,
            pattern=comparisons,
            seed=seed + len(rows),
        )
        decided = oracle_decisions(chosen, truth)
        labels = decided if labels is None else pd.concat([labels, decided], ignore_index=True)
        result, metrics = relink(linker, left, right, truth, labels)
        rows.append({"strategy": "active", "labels": len(labels), **metrics})
    return rows, result, labels


def random_curve(linker, left, right, truth, pairs, batch: int, total: int, seed: int):
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(pairs))
    rows = []
    for n in range(batch * 2, total + 1, batch * 2):
        chosen = pairs.iloc[np.sort(order[:n])]
        labels = oracle_decisions(chosen, truth)
        if labels["decision"].nunique() < 2:
            continue
        _, metrics = relink(linker, left, right, truth, labels)
        rows.append({"strategy": "random", "labels": n, **metrics})
    return rows


def held_out_threshold(pairs: pd.DataFrame, truth: pd.DataFrame, score: str, floor: float):
    """Choose the threshold on half of the left records, check it on the other half."""

    def half(ids: pd.Series) -> np.ndarray:
        return np.array([hashlib.sha1(i.encode()).digest()[0] % 2 for i in ids.astype(str)])

    tune_p, test_p = (pairs[half(pairs["left_id"]) == h] for h in (0, 1))
    tune_t, test_t = (truth[half(truth["left_id"]) == h] for h in (0, 1))
    curve = threshold_curve(tune_p, tune_t, score)
    chosen = choose_threshold(curve, min_precision=floor, confidence=0.95)
    test = test_p[test_p[score] >= chosen["threshold"]]
    held = link_metrics(test, test_t)
    return float(chosen["threshold"]), float(chosen["precision"]), held["precision"], held["recall"]


def bench(name: str, args: argparse.Namespace) -> tuple[list[dict], dict]:
    left, right, truth = problem(name, args.households, args.seed)
    start = time.perf_counter()
    linker = Linker()
    fs_result = linker.fit_link(left, right, keep_pairs=True)
    fs = link_metrics(fs_result.links, truth)
    rows = [{"strategy": "unsupervised", "labels": 0, **fs}]
    active, final, labels = active_curve(
        linker, left, right, truth, args.batch, args.labels, args.seed
    )
    rows += active
    linker_random = Linker()
    linker_random.fit(left, right)
    rows += random_curve(
        linker_random, left, right, truth, fs_result.pairs, args.batch, args.labels, args.seed
    )
    # the ML matcher's probability where it decides, else the Fellegi-Sunter one
    score = "ml_probability" if "ml_probability" in final.pairs else "match_probability"
    t, tuned_p, held_p, held_r = held_out_threshold(final.pairs, truth, score, args.min_precision)
    summary = {
        "scenario": name,
        "records": f"{len(left):,} x {len(right):,}",
        "fs_f1": fs["f1"],
        "active_f1": active[-1]["f1"],
        "random_f1": rows[-1]["f1"],
        "labels": len(labels),
        "matches_labelled": int((labels["decision"] == "match").sum()),
        "threshold": t,
        "tuned_precision": tuned_p,
        "held_out_precision": held_p,
        "held_out_recall": held_r,
        "seconds": time.perf_counter() - start,
    }
    print(summary, flush=True)
    return [{"scenario": name, **r} for r in rows], summary


def grid_row(name: str, args: argparse.Namespace) -> dict:
    """F1 without labels and after each number of actively chosen labels of the grid."""
    left, right, truth = problem(name, args.grid_households, args.seed)
    linker = Linker()
    fs = link_metrics(linker.fit_link(left, right).links, truth)
    rows, _, _ = active_curve(
        linker, left, right, truth, args.grid_batch, max(args.grid_labels), args.seed
    )
    f1 = {r["labels"]: r["f1"] for r in rows}
    row = {
        "scenario": name,
        "kind": kind_of(name),
        "fs_f1": fs["f1"],
        **{f"f1_{n}": f1[n] for n in args.grid_labels},
        "decides": linker.ml_training_.get("decides", "-"),
    }
    print(row, flush=True)
    return row


HERE = Path(__file__).resolve().parent
GRID_CACHE = HERE / "_data" / "active_grid.json"


def source_tree() -> str | None:
    """The git tree of ``src/`` the library runs from (None outside a clean checkout)."""
    git = ["git", "-C", str(HERE.parent)]
    try:
        tree = subprocess.run([*git, "rev-parse", "HEAD:src"], capture_output=True, check=True)
        dirty = subprocess.run([*git, "status", "--porcelain", "src"], capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return None if dirty.stdout.strip() else tree.stdout.decode().strip()


def grid_rows(names: list[str], args: argparse.Namespace) -> list[dict]:
    """The grid's rows, measured or kept from an earlier run of the same source tree and
    settings (each saved as soon as it is measured)."""
    key = {
        "src": source_tree(),
        "households": args.grid_households,
        "batch": args.grid_batch,
        "labels": args.grid_labels,
        "seed": args.seed,
    }
    kept: dict[str, dict] = {}
    if key["src"] and GRID_CACHE.exists():
        saved = json.loads(GRID_CACHE.read_text(encoding="utf-8"))
        kept = saved["rows"] if saved.get("key") == key else {}
    rows = []
    for name in names:
        if name not in kept:
            kept[name] = grid_row(name, args)
            if key["src"]:
                GRID_CACHE.write_text(json.dumps({"key": key, "rows": kept}), encoding="utf-8")
        rows.append(kept[name])
    return rows


def grid_table(rows: list[dict], labels: list[int]) -> str:
    lines = [
        "| scenario | kind | unsupervised F1 | "
        + " | ".join(f"F1 with {n} labels (change)" for n in labels)
        + " | model deciding at the end |",
        "|---|---|---|" + "---|" * len(labels) + "---|",
    ]
    for r in rows:
        cells = " | ".join(f"{r[f'f1_{n}']:.4f} ({r[f'f1_{n}'] - r['fs_f1']:+.4f})" for n in labels)
        lines.append(
            f"| {r['scenario']} | {r['kind']} | {r['fs_f1']:.4f} | {cells} | {r['decides']} |"
        )
    worst = {n: min(rows, key=lambda r: r[f"f1_{n}"] - r["fs_f1"]) for n in labels}
    head = [
        f"- **Smallest change of F1 with {n} labels**: "
        f"{w[f'f1_{n}'] - w['fs_f1']:+.4f} ({w['scenario']})"
        for n, w in worst.items()
    ]
    return "\n".join(head) + "\n\n" + "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=20_000)
    parser.add_argument("--scenarios", nargs="+", default=["default", "hard"])
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--labels", type=int, default=500)
    parser.add_argument("--min-precision", type=float, default=0.995)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--grid",
        nargs="*",
        default=["all"],
        help="scenarios of the labels grid (as bench_robust.py's --scenarios; none: skip)",
    )
    parser.add_argument("--grid-households", type=int, default=10_000)
    parser.add_argument("--grid-batch", type=int, default=100)
    parser.add_argument("--grid-labels", type=int, nargs="+", default=[100, 500])
    args = parser.parse_args()
    curves, summaries = [], []
    for name in args.scenarios:
        rows, summary = bench(name, args)
        curves += rows
        summaries.append(summary)
    grid = grid_rows(expand(args.grid), args) if args.grid else []
    if args.no_write:
        return
    curve = pd.DataFrame(curves)
    lines = [
        "| scenario | records | unsupervised F1 | active learning F1 | random labels F1 | labels "
        "(matches) | threshold for P>=0.995 | precision there (tuning half) | held-out "
        "precision | held-out recall |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['scenario']} | {s['records']} | {s['fs_f1']:.4f} | {s['active_f1']:.4f} | "
            f"{s['random_f1']:.4f} | {s['labels']} ({s['matches_labelled']}) | "
            f"{s['threshold']:.4f} | {s['tuned_precision']:.4f} | "
            f"{s['held_out_precision']:.4f} | {s['held_out_recall']:.4f} |"
        )
    learning = [
        "| scenario | strategy | labels | precision | recall | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for r in curve.itertuples():
        learning.append(
            f"| {r.scenario} | {r.strategy} | {r.labels} | {r.precision:.4f} | "
            f"{r.recall:.4f} | {r.f1:.4f} |"
        )
    grid_text = ""
    if grid:
        grid_text = (
            f"\n\n### Labels on every scenario\n\n`--grid {' '.join(args.grid)} "
            f"--grid-households {args.grid_households} --grid-batch {args.grid_batch}`: every "
            f"scenario of the robustness grid at {args.grid_households:,} households, "
            f"batches of {args.grid_batch} actively chosen labels, F1 after "
            f"{' and '.join(str(n) for n in args.grid_labels)} labels against the "
            "unsupervised run.\n\n" + grid_table(grid, args.grid_labels)
        )
    update_section(
        "Active learning",
        "## Active learning\n\n"
        f"`python benchmarks/bench_active.py --households {args.households} --batch "
        f"{args.batch} --labels {args.labels}`; {dt.date.today().isoformat()}. Synthetic "
        f"scenarios, seed {args.seed}; DTKS x Regsosek at person level. A simulated reviewer "
        "(the truth) labels batches chosen by active learning (uncertain pairs, "
        "Fellegi-Sunter / ML disagreements, 10% random links) or drawn at random from the "
        "candidate pairs; after each batch the run is relinked with the labels: reviewed "
        "decisions are final, and the ML matcher (default: calibrated gradient boosting on "
        "the comparison levels, similarities and Fellegi-Sunter weight) decides the other "
        "links only where, cross-validated on the labels, it makes fewer wrong decisions "
        "than the Fellegi-Sunter links (the last column says which model decided). The "
        "threshold for precision >= 0.995 is chosen on the scored pairs of half of the DTKS "
        "records and checked on the other half.\n\n"
        + "\n".join(lines)
        + "\n\nLearning curve (F1 against the number of labels):\n\n"
        + "\n".join(learning)
        + grid_text
        + "\n",
    )


if __name__ == "__main__":
    main()
