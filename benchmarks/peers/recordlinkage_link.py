"""Peer linker: Python Record Linkage Toolkit (recordlinkage), blocking + Compare + ECM.

Runs in ``.venv-interop`` (``make interop``; recordlinkage pins pandas < 3)::

    .venv-interop/bin/python benchmarks/peers/recordlinkage_link.py \\
        --left L.parquet --right R.parquet --out links.csv --dataset indonesia

Candidate pairs are the union of several ``Block`` keys (plus a sorted
neighbourhood on the name); each pair gets a binary comparison vector; the
unsupervised ``ECMClassifier`` (Fellegi-Sunter, EM) estimates match probabilities.
recordlinkage has no one-to-one step, so pairs at ``--threshold`` are resolved
greedily best-first. Writes ``links.csv`` (``left_id,right_id,match_probability``)
and prints one JSON line of timings on stdout. No record values are printed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import peer_cli
import recordlinkage as rl
from recordlinkage.index import Block, SortedNeighbourhood

UID = "record_id"


# ---------------------------------------------------------------------------- input
def _load(path: Path) -> pd.DataFrame:
    """All columns as stripped strings; empty strings become missing (NaN)."""
    df = pd.read_parquet(path)
    df = df.astype("string").apply(lambda s: s.str.strip()).replace("", pd.NA)
    if df[UID].isna().any():
        raise SystemExit(f"{path}: rows without {UID}")
    df = df.set_index(UID)
    # recordlinkage and jellyfish expect object columns with NaN for missing values
    return df.astype(object).where(df.notna(), np.nan)


def _has_values(*frames: pd.DataFrame, column: str) -> bool:
    return all(column in f and f[column].notna().any() for f in frames)


# ------------------------------------------------------------------------ indonesia
def _indonesia_prepare(df: pd.DataFrame) -> pd.DataFrame:
    df = df.copy()
    # province + RT/RW: where the person lives, as far as the two registers share codes
    df["place"] = df["province_code"].str.cat([df["rt"], df["rw"]], sep="/")
    # keys for a swapped word order ("SITI AMINAH" / "AMINAH SITI"); single-word
    # names are left out (their swap is the name itself, blocked elsewhere)
    two_words = df["first_name"].notna() & (df["first_name"] != df["last_name"])
    fl = df["first_name"].str.cat([df["last_name"], df["birth_year"]], sep="|")
    lf = df["last_name"].str.cat([df["first_name"], df["birth_year"]], sep="|")
    df["swap_key_fl"] = fl.where(two_words)
    df["swap_key_lf"] = lf.where(two_words)
    return df


def _indonesia_indexer() -> rl.Index:
    indexer = rl.Index()
    # union of blocks: each true pair needs to agree on one key only
    indexer.add(Block("nik"))
    indexer.add(Block("kk_number"))
    indexer.add(Block("birth_date"))
    indexer.add(Block(["name_phonetic", "birth_year"]))
    indexer.add(Block(["full_name", "place"]))
    indexer.add(Block(left_on="swap_key_fl", right_on="swap_key_lf"))
    indexer.add(SortedNeighbourhood("full_name", window=3, block_on=["birth_year", "sex"]))
    return indexer


def _indonesia_compare(use_mother: bool) -> rl.Compare:
    # ECM is a multivariate Bernoulli (naive Bayes) model: every feature is a 0/1
    # agreement, assumed independent given match status. Correlated features make
    # its second latent class "same household" or "same birth date" instead of
    # "same person" (seen at 20k-100k households), so each kind of evidence enters
    # once: one name feature (not also phonetic key / first name), the birth date
    # without a separate birth year, and province + RT/RW as one place feature.
    c = rl.Compare()
    c.string("full_name", "full_name", method="jarowinkler", threshold=0.88, label="full_name")
    # <= 2 edits of "YYYY-MM-DD": a mistyped digit, or day and month swapped
    c.string(
        "birth_date", "birth_date", method="damerau_levenshtein", threshold=0.8, label="birth_date"
    )
    # one mistyped digit or two adjacent digits swapped in a 16-digit NIK; NIK is
    # often missing, so missing is kept apart from disagreement (split below)
    c.string(
        "nik", "nik", method="damerau_levenshtein", threshold=0.93, missing_value=0.5, label="nik"
    )
    c.exact("kk_number", "kk_number", label="kk_number")
    c.exact("sex", "sex", label="sex")
    c.exact("place", "place", label="place")
    if use_mother:
        c.string(
            "mother_name",
            "mother_name",
            method="jarowinkler",
            threshold=0.85,
            missing_value=0.5,
            label="mother_name",
        )
    return c


def _split_missing(features: pd.DataFrame) -> pd.DataFrame:
    """Encode agree / disagree / missing (1 / 0 / 0.5) as two binary features.

    The toolkit's classifiers need binary vectors and by default score a missing
    value as a disagreement; for an often-missing identifier that makes every
    record without one look like a non-match. Two indicators, "agrees" and "does
    not disagree" (agrees or is missing), leave a missing comparison in between.
    Both point the same way, as ECM's 'jaro' start (agreement is likelier among
    matches) assumes."""
    out = features.copy()
    for col in features.columns:
        if ((features[col] > 0) & (features[col] < 1)).any():
            out[col] = (features[col] == 1).astype(np.int8)
            out[f"{col}_not_disagree"] = (features[col] > 0).astype(np.int8)
    return out.astype(np.int8)


# ---------------------------------------------------------------------------- febrl
def _febrl_indexer() -> rl.Index:
    # The toolkit's FEBRL4 guide blocks on given_name only; a union of blocks on the
    # identifying columns keeps the true pairs that have a typo in the given name.
    indexer = rl.Index()
    indexer.add(Block("given_name"))
    indexer.add(Block("surname"))
    indexer.add(Block("date_of_birth"))
    indexer.add(Block("soc_sec_id"))
    indexer.add(SortedNeighbourhood("surname", window=3, block_on="state"))
    return indexer


def _febrl_compare() -> rl.Compare:
    # the comparisons of the toolkit's "link two dataframes" FEBRL4 guide
    c = rl.Compare()
    c.exact("given_name", "given_name", label="given_name")
    c.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    c.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    c.exact("suburb", "suburb", label="suburb")
    c.exact("state", "state", label="state")
    c.string("address_1", "address_1", threshold=0.85, label="address_1")
    return c


# ------------------------------------------------------------------------- resolve
def _one_to_one(probs: pd.Series, tiebreak: pd.Series, threshold: float) -> pd.DataFrame:
    """Greedy best-first one-to-one assignment of pairs with probability >= threshold.

    ECM on binary vectors gives few distinct probabilities, so equal probabilities
    are ordered by a continuous name similarity, then by the ids (deterministic)."""
    keep = probs >= threshold
    cand = pd.DataFrame(
        {
            "left_id": probs.index.get_level_values(0)[keep],
            "right_id": probs.index.get_level_values(1)[keep],
            "match_probability": probs.to_numpy()[keep],
            "tiebreak": tiebreak.to_numpy()[keep],
        }
    )
    cand = cand.sort_values(
        ["match_probability", "tiebreak", "left_id", "right_id"],
        ascending=[False, False, True, True],
        kind="mergesort",
    )
    used_left: set = set()
    used_right: set = set()
    rows = []
    for left_id, right_id, p in zip(
        cand["left_id"], cand["right_id"], cand["match_probability"], strict=True
    ):
        if left_id in used_left or right_id in used_right:
            continue
        used_left.add(left_id)
        used_right.add(right_id)
        rows.append((left_id, right_id, p))
    links = pd.DataFrame(rows, columns=["left_id", "right_id", "match_probability"])
    return links.sort_values("left_id", kind="mergesort")


# ----------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict:
    np.random.seed(args.seed)  # ECM's 'jaro' start is deterministic; this guards the rest
    stages: dict[str, float] = {}

    t0 = time.perf_counter()
    left, right = _load(args.left), _load(args.right)
    if args.dataset == "indonesia":
        left, right = _indonesia_prepare(left), _indonesia_prepare(right)
        indexer = _indonesia_indexer()
        compare = _indonesia_compare(_has_values(left, right, column="mother_name"))
        tiebreak_column = "full_name"
    else:
        indexer = _febrl_indexer()
        compare = _febrl_compare()
        tiebreak_column = "surname"
    stages["load"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    pairs = indexer.index(left, right)
    stages["block"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    features = _split_missing(compare.compute(pairs, left, right))
    stages["compare"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    ecm = rl.ECMClassifier(init="jaro", binarize=None, max_iter=args.max_iter)
    ecm.fit(features)
    stages["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    probs = pd.Series(ecm.prob(features), index=features.index)
    stages["predict"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    above = probs[probs >= args.threshold]
    tie = rl.Compare()
    tie.string(tiebreak_column, tiebreak_column, method="jarowinkler", label="tiebreak")
    tiebreak = tie.compute(above.index, left, right)["tiebreak"]
    links = _one_to_one(above, tiebreak, args.threshold)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    links["match_probability"] = links["match_probability"].round(12)
    links.to_csv(args.out, index=False)
    stages["resolve"] = time.perf_counter() - t0

    return {
        "tool": "recordlinkage",
        "version": rl.__version__,
        "dataset": args.dataset,
        "n_left": len(left),
        "n_right": len(right),
        "n_candidate_pairs": len(pairs),
        "n_scored_above_threshold": len(above),
        "threshold": args.threshold,
        "seed": args.seed,
        "ecm_match_prior": float(np.exp(ecm.kernel.class_log_prior_[1])),
        "stages": {k: round(v, 3) for k, v in stages.items()},
        "n_links": len(links),
    }


def main(argv: list[str] | None = None) -> None:
    parser = peer_cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=100, help="ECM iterations")
    parser.add_argument("--verbose", action="store_true", help="log on stderr")
    peer_cli.run_and_report(parser, argv, _logged_run)


def _logged_run(args: argparse.Namespace) -> dict:
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)
    if not args.verbose:
        warnings.simplefilter("ignore", FutureWarning)
    return run(args)


if __name__ == "__main__":
    main()
