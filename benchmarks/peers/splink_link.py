"""Peer linker: Splink 5 (DuckDB backend), unsupervised Fellegi-Sunter trained with EM.

Runs in ``.venv-splink`` (``make peers``)::

    .venv-splink/bin/python benchmarks/peers/splink_link.py \\
        --left L.parquet --right R.parquet --out links.csv --dataset indonesia

Writes ``links.csv`` (``left_id,right_id,match_probability``), one-to-one links at
``--threshold`` chosen by Splink's own ``cluster_using_single_best_links`` with both
inputs declared duplicate-free, and prints one JSON line of timings on stdout.
Splink's log goes to stderr; no record values are printed.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import duckdb
import peer_cli
import pyarrow.parquet as pq
import splink
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.blocking_analysis import count_comparisons_from_blocking_rules

UID = "record_id"
LEFT, RIGHT = "left", "right"


# --------------------------------------------------------------------------- models
def _indonesia_model(
    has_mother_name: bool,
    has_relationship: bool = False,
) -> tuple[SettingsCreator, list, list, list]:
    """Settings, prior rules, EM training rules for the DTKS / Regsosek person records."""
    # Each true pair should satisfy at least one rule; together they keep >99.9 % of
    # true pairs on the synthetic registers while the pair count grows ~linearly.
    prediction_rules = [
        block_on("nik"),
        block_on("kk_number"),
        block_on("birth_date"),
        block_on("name_phonetic", "birth_year"),
        block_on("full_name", "province_code", "rt", "rw"),
        # word order swapped within the name
        "l.first_name = r.last_name and l.last_name = r.first_name "
        "and l.first_name <> l.last_name and l.birth_year = r.birth_year",
    ]
    full_name = cl.CustomComparison(
        output_column_name="full_name",
        comparison_levels=[
            cll.NullLevel("full_name"),
            cll.ExactMatchLevel("full_name", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_phonetic"),
            cll.JaroWinklerLevel("full_name", 0.92),
            cll.ColumnsReversedLevel("first_name", "last_name", symmetrical=True),
            cll.JaroWinklerLevel("full_name", 0.88),
            cll.JaroWinklerLevel("full_name", 0.7),
            cll.ElseLevel(),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="birth_date",
        comparison_levels=[
            cll.NullLevel("birth_date"),
            cll.ExactMatchLevel("birth_date"),
            cll.LevenshteinLevel("birth_date", 1),
            # day and month swapped (e.g. 1971-03-05 vs 1971-05-03)
            cll.CustomLevel(
                "substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4) "
                "and substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2) "
                "and substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)",
                label_for_charts="Day and month swapped",
            ),
            cll.ExactMatchLevel("birth_year"),
            cll.AbsoluteDateDifferenceLevel(
                "birth_date", input_is_string=True, threshold=1, metric="year"
            ),
            cll.AbsoluteDateDifferenceLevel(
                "birth_date", input_is_string=True, threshold=10, metric="year"
            ),
            cll.ElseLevel(),
        ],
    )
    # NIK errors are one mistyped digit or two swapped digits. DuckDB's
    # damerau_levenshtein costs ~4 us a pair, which dominates u-sampling over
    # millions of random pairs, so it is only evaluated behind a cheap Hamming gate
    # (same result for equal-length ids: DL <= 1 implies Hamming <= 2).
    same_length = "length(nik_l) = length(nik_r)"
    nik = cl.CustomComparison(
        output_column_name="nik",
        comparison_levels=[
            cll.NullLevel("nik"),
            cll.ExactMatchLevel("nik"),
            cll.CustomLevel(
                f"{same_length} and hamming(nik_l, nik_r) <= 2 "
                "and damerau_levenshtein(nik_l, nik_r) <= 1",
                label_for_charts="One digit wrong or two adjacent digits swapped",
            ),
            cll.CustomLevel(
                f"{same_length} and hamming(nik_l, nik_r) <= 2",
                label_for_charts="Two digits differ",
            ),
            cll.ElseLevel(),
        ],
    )
    comparisons = [
        full_name,
        cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]).configure(
            term_frequency_adjustments=True
        ),
        dob,
        nik,
        cl.ExactMatch("kk_number"),
        cl.ExactMatch("sex"),
        cl.ExactMatch("province_code"),
        cl.CustomComparison(
            output_column_name="rt_rw",
            comparison_levels=[
                cll.Or(cll.NullLevel("rt"), cll.NullLevel("rw")),
                cll.And(cll.ExactMatchLevel("rt"), cll.ExactMatchLevel("rw")),
                cll.ExactMatchLevel("rw"),
                cll.ElseLevel(),
            ],
        ),
    ]
    if has_mother_name:
        comparisons.append(cl.JaroWinklerAtThresholds("mother_name", [0.92, 0.8]))
    if has_relationship:
        # relationship to the head: tells apart a mother and a daughter of one name
        comparisons.append(cl.ExactMatch("relationship"))
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name=UID,
        blocking_rules_to_generate_predictions=prediction_rules,
        comparisons=comparisons,
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    deterministic_rules = [
        block_on("nik"),
        block_on("full_name", "birth_date"),
    ]
    em_rules = [
        block_on("kk_number"),
        block_on("birth_date"),
        block_on("name_phonetic", "birth_year"),
    ]
    return settings, prediction_rules, deterministic_rules, em_rules


def _febrl_model() -> tuple[SettingsCreator, list, list, list]:
    """The 'detailed model' of Splink's own FEBRL4 example notebook."""
    prediction_rules = [
        block_on("given_name", "surname"),
        "l.given_name = r.surname and l.surname = r.given_name",
        block_on("date_of_birth"),
        block_on("soc_sec_id"),
        block_on("state", "address_1"),
        block_on("street_number", "address_1"),
        block_on("postcode"),
    ]
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name=UID,
        blocking_rules_to_generate_predictions=prediction_rules,
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison(
                "date_of_birth",
                input_is_string=True,
                datetime_format="%Y%m%d",
                invalid_dates_as_null=True,
            ),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [1, 2]),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.DamerauLevenshteinAtThresholds("postcode", [1, 2]).configure(
                term_frequency_adjustments=True
            ),
        ],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
    )
    deterministic_rules = [
        block_on("soc_sec_id"),
        block_on("given_name", "surname", "date_of_birth"),
    ]
    em_rules = [block_on("date_of_birth"), block_on("postcode")]
    return settings, prediction_rules, deterministic_rules, em_rules


# ---------------------------------------------------------------------------- input
def _load(con: duckdb.DuckDBPyConnection, path: Path, name: str) -> int:
    """Read a parquet file into a DuckDB table, every column as a trimmed string.

    Empty strings become null (Splink treats null as 'no information')."""
    schema = pq.read_schema(path)
    cols = ", ".join(f'nullif(trim(cast("{c}" as varchar)), \'\') as "{c}"' for c in schema.names)
    con.sql(
        f"create or replace table {name} as select {cols} from read_parquet(?)", params=[str(path)]
    )
    n_null_ids = _scalar(con, f"select count(*) from {name} where {UID} is null")
    if n_null_ids:
        raise SystemExit(f"{path}: {n_null_ids} rows without {UID}")
    return _scalar(con, f"select count(*) from {name}")


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.sql(sql, params=params).fetchall()[0][0]


def _all_null(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    cols = {r[0] for r in con.sql(f"describe {table}").fetchall()}
    if column not in cols:
        return True
    return _scalar(con, f'select count("{column}") from {table}') == 0


# ----------------------------------------------------------------------------- main
def run(args: argparse.Namespace) -> dict:
    stages: dict[str, float] = {}
    t0 = time.perf_counter()
    db_api = DuckDBAPI()
    con = db_api.duckdb_con
    if args.threads:
        con.sql(f"set threads to {args.threads}")
    n_left = _load(con, args.left, "input_left")
    n_right = _load(con, args.right, "input_right")
    if args.dataset == "indonesia":
        has_mother, has_relationship = (
            not any(_all_null(con, f"input_{side}", column) for side in (LEFT, RIGHT))
            for column in ("mother_name", "relationship")
        )
        settings, rules, deterministic_rules, em_rules = _indonesia_model(
            has_mother, has_relationship
        )
    else:
        settings, rules, deterministic_rules, em_rules = _febrl_model()
    sdf_left = db_api.register("input_left", dataset_display_name=LEFT)
    sdf_right = db_api.register("input_right", dataset_display_name=RIGHT)
    log_level = logging.INFO if args.verbose else logging.WARNING
    linker = Linker([sdf_left, sdf_right], settings, log_level=log_level)
    stages["load"] = time.perf_counter() - t0

    # exact count of the blocked pairs that predict() will score
    t0 = time.perf_counter()
    counts = count_comparisons_from_blocking_rules(
        [sdf_left, sdf_right],
        blocking_rules=rules,
        link_type="link_only",
        unique_id_column_name=UID,
        record_sample_proportion=1.0,
    )
    n_candidate_pairs = int(counts[-1]["cumulative_comparison_count"])
    stages["block"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    linker.training.estimate_probability_two_random_records_match(
        deterministic_rules, recall=args.prior_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=args.u_max_pairs, seed=args.seed)
    for rule in em_rules:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    stages["train"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_probability=args.threshold)
    n_scored = _scalar(con, f"select count(*) from {predictions.physical_name}")
    stages["predict"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    clusters = linker.clustering.cluster_using_single_best_links(
        predictions,
        duplicate_free_datasets=[LEFT, RIGHT],
        threshold_match_probability=args.threshold,
    )
    # A cluster holds at most one record per side: keep those with one of each and
    # attach the pairwise probability of that link.
    con.sql(
        f"""
        create or replace table one_to_one_links as
        with c as (
            select cluster_id,
                   max(case when source_dataset = '{LEFT}' then {UID} end) as left_id,
                   max(case when source_dataset = '{RIGHT}' then {UID} end) as right_id
            from {clusters.physical_name}
            group by cluster_id
            having count(*) = 2 and left_id is not null and right_id is not null
        ),
        p as (
            select
                case when source_dataset_l = '{LEFT}' then {UID}_l else {UID}_r end
                    as left_id,
                case when source_dataset_l = '{LEFT}' then {UID}_r else {UID}_l end
                    as right_id,
                match_probability
            from {predictions.physical_name}
        )
        -- rounded: parallel sums differ in the last bits between runs
        select c.left_id, c.right_id, round(max(p.match_probability), 12) as match_probability
        from c join p using (left_id, right_id)
        group by c.left_id, c.right_id
        order by c.left_id
        """
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    con.sql("select * from one_to_one_links").write_csv(str(args.out))
    n_links = _scalar(con, "select count(*) from one_to_one_links")
    stages["resolve"] = time.perf_counter() - t0

    return {
        "tool": "splink",
        "version": splink.__version__,
        "backend": f"duckdb {duckdb.__version__}",
        "dataset": args.dataset,
        "n_left": n_left,
        "n_right": n_right,
        "n_candidate_pairs": n_candidate_pairs,
        "n_scored_above_threshold": int(n_scored),
        "threshold": args.threshold,
        "seed": args.seed,
        "stages": {k: round(v, 3) for k, v in stages.items()},
        "n_links": int(n_links),
    }


def main(argv: list[str] | None = None) -> None:
    parser = peer_cli.parser(__doc__.splitlines()[0])
    parser.add_argument("--u-max-pairs", type=float, default=5e6)
    parser.add_argument(
        "--prior-recall",
        type=float,
        default=0.8,
        help="assumed recall of the deterministic rules used to estimate the match prior",
    )
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0 = default)")
    parser.add_argument("--verbose", action="store_true", help="Splink INFO log on stderr")
    peer_cli.run_and_report(parser, argv, run)


if __name__ == "__main__":
    main()
